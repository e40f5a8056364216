"""Stores: the system of record, picked by URL scheme from a registry."""

from __future__ import annotations

from collections.abc import Callable

from omicsoracle.store.base import Change, PoolOptions, Store, WriteCounts, WriteSession

__all__ = ["Change", "PoolOptions", "Store", "WriteCounts", "WriteSession", "open_store"]


def _open_sqlite(url: str, readers: int, _pool: PoolOptions) -> Store:
    from omicsoracle.store.sqlite import SQLiteStore

    return SQLiteStore(url, readers=readers)


def _open_postgres(url: str, _readers: int, pool: PoolOptions) -> Store:
    from omicsoracle.store.postgres import PostgresStore

    return PostgresStore(url, pool=pool)


# Keyed by the SQLAlchemy URL's backend name.
STORES: dict[str, Callable[[str, int, PoolOptions], Store]] = {
    "sqlite": _open_sqlite,
    "postgresql": _open_postgres,
}


def open_store(
    url: str, *, readers: int = 4, upgrade: bool = True, pool: PoolOptions | None = None
) -> Store:
    """Open (and by default migrate) the store named by ``url``."""
    backend = url.split(":", 1)[0].split("+", 1)[0]
    try:
        factory = STORES[backend]
    except KeyError:
        known = ", ".join(sorted(STORES))
        raise ValueError(f"no store for URL scheme {backend!r} (known: {known})") from None
    store = factory(url, readers, pool or PoolOptions())
    if upgrade:
        store.upgrade()
    return store
