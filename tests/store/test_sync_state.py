"""Sync position, the --full queue and database leases on every backend (issue 13)."""

from __future__ import annotations

import threading
import time

import pytest

from omicsoracle.model import Series
from omicsoracle.store import Store


def _series(accession: str, title: str) -> Series:
    return Series(accession=accession, source="geo_eutils", title=title)


def test_position_commits_with_the_records(store: Store) -> None:
    assert store.sync_position("geo") is None
    with store.transaction(None) as tx:
        tx.write([_series("GSE1", "one")])
        tx.put_sync_position("geo", {"retstart": 500, "window": ["2020-01-01", "2020-01-30"]})
    assert store.sync_position("geo") == {"retstart": 500, "window": ["2020-01-01", "2020-01-30"]}
    with store.transaction(None) as tx:
        tx.put_sync_position("geo", {"retstart": 1000})
    assert store.sync_position("geo") == {"retstart": 1000}
    assert store.sync_position("other") is None


def _failing_batch(store: Store) -> None:
    with store.transaction(None) as tx:
        tx.write([_series("GSE2", "two")])
        tx.put_sync_position("geo", {"retstart": 2})
        tx.queue_pending("geo_full", ["GSE2"])
        raise RuntimeError("bad docsum")


def test_a_failed_batch_moves_neither_records_nor_position(store: Store) -> None:
    with store.transaction(None) as tx:
        tx.write([_series("GSE1", "one")])
        tx.put_sync_position("geo", {"retstart": 1})
    with pytest.raises(RuntimeError):
        _failing_batch(store)
    assert store.sync_position("geo") == {"retstart": 1}
    assert store.get("GSE2") is None
    assert store.pending("geo_full") == []


def test_changed_keys_name_only_new_and_changed_series(store: Store) -> None:
    with store.transaction(None) as tx:
        tx.write([_series("GSE1", "one"), _series("GSE2", "two")])
        assert tx.changed_keys("series") == {"GSE1", "GSE2"}
    with store.transaction(None) as tx:
        tx.write([_series("GSE1", "one"), _series("GSE2", "two, revised"), _series("GSE3", "3")])
        assert tx.changed_keys("series") == {"GSE2", "GSE3"}
        sp = tx.savepoint()
        tx.write([_series("GSE4", "four")])
        sp.rollback()
        assert tx.changed_keys("series") == {"GSE2", "GSE3"}


def test_pending_queue(store: Store) -> None:
    with store.transaction(None) as tx:
        tx.queue_pending("geo_full", ["GSE2", "GSE1", "GSE2"])
    with store.transaction(None) as tx:
        tx.queue_pending("geo_full", ["GSE1"])  # queued twice: one row
    assert sorted(store.pending("geo_full")) == ["GSE1", "GSE2"]
    assert len(store.pending("geo_full", limit=1)) == 1
    store.drop_pending("geo_full", "GSE1")
    store.drop_pending("geo_full", "GSE404")  # not queued: a no-op
    assert store.pending("geo_full") == ["GSE2"]
    assert store.pending("other") == []


def test_lease_two_holders_renew_release(store: Store) -> None:
    assert store.lease_holder("sync") is None
    assert store.take_lease("sync", "a", 30.0)
    assert not store.take_lease("sync", "b", 30.0)
    assert store.lease_holder("sync") == "a"
    assert store.take_lease("sync", "a", 30.0)  # renewal by its holder
    store.release_lease("sync", "b")  # not b's: nothing happens
    assert store.lease_holder("sync") == "a"
    store.release_lease("sync", "a")
    assert store.lease_holder("sync") is None
    assert store.take_lease("sync", "b", 30.0)
    assert store.lease_holder("sync") == "b"


def test_expired_lease_is_taken_over(store: Store) -> None:
    assert store.take_lease("sync", "dead", 0.2)
    assert not store.take_lease("sync", "b", 30.0)
    time.sleep(0.3)
    assert store.lease_holder("sync") is None  # expired: nobody holds it
    assert store.take_lease("sync", "b", 30.0)
    assert not store.take_lease("sync", "dead", 30.0)  # its renewal comes too late
    assert store.lease_holder("sync") == "b"


def test_lease_race_has_one_winner(store: Store) -> None:
    winners: list[str] = []
    barrier = threading.Barrier(8)

    def contend(name: str) -> None:
        barrier.wait()
        if store.take_lease("race", name, 30.0):
            winners.append(name)

    threads = [threading.Thread(target=contend, args=(f"h{i}",)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(winners) == 1
    assert store.lease_holder("race") == winners[0]


def test_lease_between_two_store_objects(store: Store, other_store: Store) -> None:
    """Two processes' stores on one database (here: two store objects on one URL)."""
    from omicsoracle.store import open_store

    second = open_store(store.url)
    try:
        assert store.take_lease("sync", "node1", 30.0)
        assert not second.take_lease("sync", "node2", 30.0)
        assert second.lease_holder("sync") == "node1"
        store.release_lease("sync", "node1")
        assert second.take_lease("sync", "node2", 30.0)
        assert other_store.take_lease("sync", "node3", 30.0)  # another database: its own
    finally:
        second.close()
