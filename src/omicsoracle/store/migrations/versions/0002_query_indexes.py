"""Indexes for the store's own read paths: a series' sample page, seen files.

Revision ID: 0002
Revises: 0001

Every other lookup the store makes already has its index (primary keys, and
0001's secondary indexes on sample, pmid and reference series); nothing filters
or sorts the store's tables by organism, type, platform, sample count or release
date (the search engines do, on their own tables), so no index is built for those:
it would only slow every write.

On PostgreSQL a table holding rows is indexed with CREATE INDEX CONCURRENTLY in an
autocommit block, so a live deployment keeps writing while it builds. That form
waits for every older transaction in the database to end, so an empty table (a new
database, whose tables 0001 has just created) gets a plain CREATE INDEX inside the
migration's transaction instead: nothing to lock out, nothing to wait for.
"""

from __future__ import annotations

from alembic import op
from sqlalchemy import text

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

# (name, table, definition): plain SQL that SQLite and PostgreSQL both accept.
INDEXES = (
    # get(GSE...) pages a series' samples in display order (GSM9 before GSM10): read
    # in index order, a page costs its offset plus its length, not a sort of the series.
    (
        "ix_series_samples_order",
        "series_samples",
        "(series, length(sample), sample)",
    ),
    # seen_file(hash): only successful runs answer it.
    ("ix_ingest_runs_seen", "ingest_runs", "(file_hash) WHERE status = 'ok'"),
)


def _is_empty(table: str) -> bool:
    return op.get_bind().execute(text(f"SELECT 1 FROM {table} LIMIT 1")).first() is None


def _invalid(name: str) -> bool:
    # A CONCURRENTLY build that failed half-way leaves an invalid index behind, which
    # IF NOT EXISTS would then keep for good.
    row = (
        op.get_bind()
        .execute(
            text("SELECT indisvalid FROM pg_index WHERE indexrelid = to_regclass(:n)"),
            {"n": name},
        )
        .first()
    )
    return row is not None and not row[0]


def upgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    for name, table, definition in INDEXES:
        create = f"INDEX IF NOT EXISTS {name} ON {table} {definition}"
        if not postgres or _is_empty(table):
            op.execute(f"CREATE {create}")
            continue
        with op.get_context().autocommit_block():
            if _invalid(name):
                op.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {name}")
            op.execute(f"CREATE {create.replace('INDEX', 'INDEX CONCURRENTLY', 1)}")


def downgrade() -> None:
    for name, _table, _definition in INDEXES:
        op.execute(f"DROP INDEX IF EXISTS {name}")
