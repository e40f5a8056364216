"""Sync position, the ``--full`` queue and database leases (issue 13), in portable SQL.

The position and the queue are written through a ``SqlWriteSession``, inside the
transaction that writes a batch's records: a sync killed at any point resumes after
exactly what was committed. Leases are short transactions of their own: one row per
name, taken with a conditional write whose row count says who won, so every node of
a deployment (SQLite on one machine, PostgreSQL on many) agrees on one holder.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import orjson
from sqlalchemy import Connection, text

from omicsoracle.store.writer import dumps, now_iso


def get_position(conn: Connection, name: str) -> dict[str, Any] | None:
    row = conn.execute(text("SELECT position FROM sync_state WHERE name = :n"), {"n": name}).first()
    if row is None:
        return None
    value = orjson.loads(row[0])
    return value if isinstance(value, dict) else None


def put_position(conn: Connection, name: str, position: dict[str, Any]) -> None:
    conn.execute(
        text(
            "INSERT INTO sync_state (name, position, updated_at) VALUES (:n, :p, :t) "
            "ON CONFLICT (name) DO UPDATE SET position = excluded.position, "
            "updated_at = excluded.updated_at"
        ),
        {"n": name, "p": dumps(position), "t": now_iso()},
    )


def queue_pending(conn: Connection, name: str, accessions: Sequence[str]) -> None:
    keys = list(dict.fromkeys(accessions))
    if not keys:
        return
    stamp = now_iso()
    conn.execute(
        text(
            "INSERT INTO sync_pending (name, accession, queued_at) VALUES (:n, :a, :t) "
            "ON CONFLICT (name, accession) DO NOTHING"
        ),
        [{"n": name, "a": a, "t": stamp} for a in keys],
    )


def list_pending(conn: Connection, name: str, limit: int) -> list[str]:
    return [
        a
        for (a,) in conn.execute(
            text(
                "SELECT accession FROM sync_pending WHERE name = :n "
                "ORDER BY queued_at, accession LIMIT :l"
            ),
            {"n": name, "l": limit},
        )
    ]


def drop_pending(conn: Connection, name: str, accession: str) -> None:
    conn.execute(
        text("DELETE FROM sync_pending WHERE name = :n AND accession = :a"),
        {"n": name, "a": accession},
    )


def take_lease(conn: Connection, name: str, holder: str, now: float, ttl: float) -> bool:
    """Take (or renew) ``name`` for ``holder`` until ``now + ttl``; False if another holds it."""
    expires = now + ttl
    got = conn.execute(
        text(
            "INSERT INTO leases (name, holder, expires_at) VALUES (:n, :h, :e) "
            "ON CONFLICT (name) DO NOTHING"
        ),
        {"n": name, "h": holder, "e": expires},
    ).rowcount
    if got == 1:
        return True
    # Free only when expired (its holder died or stalled past the TTL) or already ours.
    got = conn.execute(
        text(
            "UPDATE leases SET holder = :h, expires_at = :e "
            "WHERE name = :n AND (expires_at < :now OR holder = :h)"
        ),
        {"n": name, "h": holder, "e": expires, "now": now},
    ).rowcount
    return bool(got == 1)


def release_lease(conn: Connection, name: str, holder: str) -> None:
    conn.execute(
        text("DELETE FROM leases WHERE name = :n AND holder = :h"), {"n": name, "h": holder}
    )


def lease_holder(conn: Connection, name: str, now: float) -> str | None:
    row = conn.execute(
        text("SELECT holder FROM leases WHERE name = :n AND expires_at >= :now"),
        {"n": name, "now": now},
    ).first()
    return None if row is None else str(row[0])
