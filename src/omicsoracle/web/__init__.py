"""The researcher's web page: static ES modules served by the API app (no build step)."""

from pathlib import Path

STATIC_DIR = Path(__file__).parent / "static"
