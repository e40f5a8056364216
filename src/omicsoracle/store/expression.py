"""SQL of the expression matrices (issue 6): a dataset's values as one blob.

The blob is derived from the dataset's ``data_tables`` chunks (the system of
record); ``source_hash`` tells a blob built from an older table apart.
"""

from __future__ import annotations

import hashlib
import zlib
from collections.abc import Iterator
from typing import Any

import orjson
from sqlalchemy import Connection, text

from omicsoracle.store.writer import now_iso


def table_hash(conn: Connection, owner: str) -> str | None:
    """Digest of the owner's table chunk hashes; None when it has no table."""
    hashes = [
        h
        for (h,) in conn.execute(
            text("SELECT content_hash FROM data_tables WHERE owner = :o ORDER BY seq"), {"o": owner}
        )
    ]
    if not hashes:
        return None
    return hashlib.sha256("\n".join(hashes).encode()).hexdigest()


def table_chunks(conn: Connection, owner: str) -> Iterator[tuple[list[str], list[list[str]]]]:
    """The owner's table, chunk by chunk: (columns, rows), in order."""
    result = conn.execute(
        text("SELECT rows FROM data_tables WHERE owner = :o ORDER BY seq"), {"o": owner}
    )
    for (blob,) in result:
        columns, rows = orjson.loads(zlib.decompress(blob))
        yield columns, rows


def get_matrix(conn: Connection, accession: str) -> tuple[str, bytes] | None:
    row = conn.execute(
        text("SELECT source_hash, matrix FROM expression_matrices WHERE accession = :a"),
        {"a": accession},
    ).first()
    return None if row is None else (row[0], bytes(row[1]))


def put_matrix(conn: Connection, accession: str, source_hash: str, shape: Any, blob: bytes) -> None:
    conn.execute(
        text(
            "INSERT INTO expression_matrices (accession, source_hash, n_probes, n_samples, matrix, "
            "updated_at) VALUES (:a, :h, :p, :s, :m, :t) ON CONFLICT (accession) DO UPDATE SET "
            "source_hash = excluded.source_hash, n_probes = excluded.n_probes, "
            "n_samples = excluded.n_samples, matrix = excluded.matrix, updated_at = excluded.updated_at"
        ),
        {"a": accession, "h": source_hash, "p": shape[0], "s": shape[1], "m": blob, "t": now_iso()},
    )


def datasets_of_series(conn: Connection, series: str) -> list[str]:
    """GDS accessions whose reference series is ``series`` (GDS numbers in order)."""
    rows = conn.execute(
        text("SELECT accession FROM datasets WHERE reference_series = :s"), {"s": series}
    )
    return sorted((a for (a,) in rows), key=lambda a: (len(a), a))
