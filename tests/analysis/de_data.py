"""The statistics fixtures' files (a module of its own: `from conftest import` would
pick whichever conftest.py is first on sys.path)."""

from __future__ import annotations

from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
GDS507 = REPO / "data" / "demo" / "GDS507.soft.gz"
GPL97 = REPO / "data" / "demo" / "GPL97.annot.gz"
