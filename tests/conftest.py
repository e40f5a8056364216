"""Shared fixtures: real SQLite stores in a temporary directory, the real fixtures."""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Any

import pytest

from omicsoracle.config import Settings
from omicsoracle.store import Store, open_store
from private_servers import unavailable

TESTS = Path(__file__).parent
DATA = TESTS / "data"
REPO = TESTS.parent
CORPUS = REPO / "data" / "corpus"


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """Settings pointing at an empty data directory of this test's own."""
    return Settings(data_dir=tmp_path / "var")


# The PostgreSQL server CI provides (trust auth); each test gets a schema of its own.
PG_URL = os.environ.get(
    "OMICSORACLE_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)


@contextmanager
def _postgres_schema() -> Iterator[str]:
    """A fresh schema on the test server; its URL points ``search_path`` at it."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.exc import OperationalError

    admin = create_engine(PG_URL)
    schema = f"t_{uuid.uuid4().hex[:12]}"
    try:
        with admin.begin() as conn:
            conn.execute(text(f"CREATE SCHEMA {schema}"))
    except OperationalError as exc:
        admin.dispose()
        unavailable(f"PostgreSQL not reachable at {PG_URL}: {exc.orig}")
    try:
        yield f"{PG_URL}?options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as conn:
            conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()


@contextmanager
def _sqlite_file(tmp: Path) -> Iterator[str]:
    yield f"sqlite:///{tmp / 'store.sqlite'}"


# One entry per store backend: a context manager giving a URL of an empty database.
STORE_URLS: dict[str, Callable[[Path], AbstractContextManager[str]]] = {
    "sqlite": _sqlite_file,
    "postgresql": lambda _tmp: _postgres_schema(),
}


@pytest.fixture(params=sorted(STORE_URLS))
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """The URL of an empty database on every backend."""
    with STORE_URLS[request.param](tmp_path) as url:
        yield url


@pytest.fixture
def store(store_url: str) -> Iterator[Store]:
    """A migrated, empty store on every backend."""
    s = open_store(store_url)
    try:
        yield s
    finally:
        s.close()


@pytest.fixture
def other_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    """A second empty store on the same backend as ``store`` (compare two histories)."""
    backend = request.node.callspec.params["store_url"]
    (tmp_path / "other").mkdir()
    with STORE_URLS[backend](tmp_path / "other") as url:
        s = open_store(url)
        try:
            yield s
        finally:
            s.close()


@pytest.fixture(scope="session")
def demo_settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """Settings of a data directory holding the whole demo corpus (do not write to it)."""
    from demo import load_demo

    return load_demo(tmp_path_factory.mktemp("demo") / "var")


# The Redis server CI provides; tests that need it take the ``redis_url`` fixture.
SHARED_REDIS_URL = os.environ.get("OMICSORACLE_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


@pytest.fixture
def redis_url() -> str:
    """The shared Redis server's URL (skips, or fails in CI, when it does not answer)."""
    import redis

    client = redis.Redis.from_url(SHARED_REDIS_URL, socket_connect_timeout=2)
    try:
        client.ping()
    except redis.RedisError as exc:
        unavailable(f"Redis not reachable at {SHARED_REDIS_URL}: {exc}")
    finally:
        client.close()
    return SHARED_REDIS_URL


@pytest.fixture
def redis_client(redis_url: str) -> Iterator[Any]:
    """A plain synchronous client, to look at (or vandalise) keys and streams directly."""
    import redis

    c = redis.Redis.from_url(redis_url)
    try:
        yield c
    finally:
        c.close()
