"""Many-row statements handed to the database driver as they are.

``conn.execute(text(sql), rows)`` compiles the statement and then builds each row's
parameters through SQLAlchemy's bind machinery: at full GEO scale (~10M records, ~60M
characteristic and entity rows) that per-row Python work cost more than SQLite's own
inserts. The statements here are fixed SQL of ours with ``:name`` placeholders and
plain values (str, int, float, None), so only the placeholder syntax needs the
driver's form: sqlite3 takes ``:name`` itself, psycopg takes ``%(name)s``. The values
stay bound parameters; nothing is ever formatted into the SQL.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Connection

# ``:name`` not preceded by another colon or a word character (so ``::text`` casts and
# times such as ``12:30`` inside our own SQL are left alone).
_PLACEHOLDER = re.compile(r"(?<![:\w]):([A-Za-z_]\w*)")


@functools.lru_cache(maxsize=256)
def driver_sql(sql: str, dialect: str, paramstyle: str) -> str:
    """``sql`` with its ``:name`` placeholders in the driver's parameter style."""
    if dialect == "sqlite":
        return sql  # sqlite3 binds :name from a mapping, whatever SQLAlchemy's paramstyle
    if paramstyle == "pyformat":
        return _PLACEHOLDER.sub(r"%(\1)s", sql.replace("%", "%%"))
    if paramstyle == "named":
        return sql
    raise ValueError(f"no bulk statements for the {dialect} driver's {paramstyle} style")


def execute_many(conn: Connection, sql: str, rows: Sequence[Mapping[str, Any]]) -> None:
    """Run ``sql`` once per row (the driver's executemany), in ``conn``'s transaction."""
    if not rows:
        return
    dialect = conn.dialect
    conn.exec_driver_sql(driver_sql(sql, dialect.name, dialect.paramstyle), list(rows))
