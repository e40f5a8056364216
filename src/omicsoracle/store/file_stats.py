"""``file_stats``: what ``ingest --skip-seen`` knows about files it ingested cleanly.

One row per path: (size, mtime_ns) when it was read, and its sha256. A row is written
in the same transaction as the file's records, so a killed ingest never marks a file
seen whose records are not committed.
"""

from __future__ import annotations

from collections.abc import Iterator

from sqlalchemy import Connection, text

FileStat = tuple[int, int, str]  # (size, mtime_ns, sha256)


def put(conn: Connection, path: str, size: int, mtime_ns: int, file_hash: str) -> None:
    """Insert or replace the row of ``path``."""
    conn.execute(
        text(
            "INSERT INTO file_stats (path, size, mtime_ns, file_hash) VALUES (:p, :s, :m, :h) "
            "ON CONFLICT (path) DO UPDATE SET size = excluded.size, "
            "mtime_ns = excluded.mtime_ns, file_hash = excluded.file_hash"
        ),
        {"p": path, "s": size, "m": mtime_ns, "h": file_hash},
    )


def iter_rows(conn: Connection, chunk: int) -> Iterator[tuple[str, FileStat]]:
    """Every row, ``chunk`` at a time in path order (keyset pages: no long cursor)."""
    after = ""
    while True:
        rows = conn.execute(
            text(
                "SELECT path, size, mtime_ns, file_hash FROM file_stats WHERE path > :a "
                "ORDER BY path LIMIT :n"
            ),
            {"a": after, "n": chunk},
        ).all()
        for path, size, mtime_ns, file_hash in rows:
            yield path, (int(size), int(mtime_ns), str(file_hash))
        if len(rows) < chunk:
            return
        after = rows[-1][0]
