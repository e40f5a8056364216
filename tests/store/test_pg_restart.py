"""A PostgreSQL restart: reads fail only while the server is down, then recover by themselves.

Each test runs its own private server (the ``server`` fixture), never the shared one.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import psycopg
import pytest
from sqlalchemy.exc import OperationalError

from omicsoracle.model import Series
from omicsoracle.search import SearchRequest, open_index
from omicsoracle.search.document import SearchDoc
from omicsoracle.store import PoolOptions, open_store
from private_servers import PrivatePostgres as PrivateServer


def _series(accession: str) -> Series:
    return Series(accession=accession, source="geo_jsonl", title="Liver regeneration")


def test_store_pool_recovers_after_a_server_restart(server: PrivateServer) -> None:
    store = open_store(server.url, pool=PoolOptions(size=3, overflow=0, timeout=10))
    try:
        with store.transaction(None) as tx:
            tx.write([_series("GSE1")])
        # Several pooled connections, all of which the restart will break.
        with ThreadPoolExecutor(3) as pool:
            assert all(pool.map(lambda _: store.get("GSE1") is not None, range(12)))

        server.stop()
        with pytest.raises(OperationalError):
            store.get("GSE1")  # down: reads fail, with the driver's error
        server.start()

        # Back: the very first read succeeds (stale connections are replaced on
        # checkout), as do concurrent ones and writes; nobody reset the pool.
        assert store.get("GSE1") is not None
        with ThreadPoolExecutor(3) as pool:
            assert all(pool.map(lambda _: store.get("GSE1") is not None, range(12)))
        with store.transaction(None) as tx:
            tx.write([_series("GSE2")])
        assert store.get("GSE2") is not None
    finally:
        store.close()


def test_pg_engine_recovers_after_a_server_restart(server: PrivateServer, tmp_path: Path) -> None:
    index = open_index("pg", tmp_path / "index", server.url)
    try:
        index.apply([SearchDoc(accession="GSE1", title="liver regeneration")], [], 1)
        assert index.search(SearchRequest("liver")).total == 1

        server.stop()
        with pytest.raises(psycopg.OperationalError):
            index.search(SearchRequest("liver"))
        server.start()

        assert index.search(SearchRequest("liver")).total == 1
        index.apply([SearchDoc(accession="GSE2", title="liver fibrosis")], [], 2)
        assert index.search(SearchRequest("liver")).total == 2
    finally:
        index.close()
