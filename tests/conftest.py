"""Shared fixtures: real SQLite stores in a temporary directory, the real fixtures."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from omicsoracle.config import Settings
from omicsoracle.store import Store, open_store

TESTS = Path(__file__).parent
DATA = TESTS / "data"
REPO = TESTS.parent
CORPUS = REPO / "data" / "corpus"


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """Settings pointing at an empty data directory of this test's own."""
    return Settings(data_dir=tmp_path / "var")


# One entry per store backend; the PostgreSQL store joins this list.
STORE_URLS = {
    "sqlite": lambda tmp: f"sqlite:///{tmp / 'store.sqlite'}",
}


@pytest.fixture(params=sorted(STORE_URLS))
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    """A migrated, empty store on every backend."""
    s = open_store(STORE_URLS[request.param](tmp_path))
    try:
        yield s
    finally:
        s.close()


@pytest.fixture(scope="session")
def demo_settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """Settings of a data directory holding the whole demo corpus (do not write to it)."""
    from demo import load_demo

    return load_demo(tmp_path_factory.mktemp("demo") / "var")
