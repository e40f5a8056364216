"""NCBI sync position, database leases, the full-text queue and cheap skip-seen (issue 13).

Revision ID: 0006
Revises: 0005

- ``sync_state``: where ``omicsoracle sync geo`` stands (last complete date window and
  batch). Written in the same transaction as the records of that batch, so a sync killed
  at any point resumes exactly after what was committed.
- ``sync_pending``: series whose family SOFT (``sync geo --full``) is still to fetch;
  filled with their batch, emptied when the file is ingested.
- ``leases``: a lease every node of a deployment sees (one scheduled sync at a time):
  a row per name with its holder and expiry, taken with a conditional write.
- ``file_stats``: (path, size, mtime) of files ingested cleanly and their sha256, so a
  ``--skip-seen`` pass over a 250k-file mirror reads no unchanged file.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "sync_state",
        sa.Column("name", sa.Text, primary_key=True),  # "geo"
        sa.Column("position", sa.Text, nullable=False),  # JSON
        sa.Column("updated_at", sa.Text, nullable=False),
    )
    op.create_table(
        "sync_pending",
        sa.Column("name", sa.Text, primary_key=True),  # "geo_full"
        sa.Column("accession", sa.Text, primary_key=True),
        sa.Column("queued_at", sa.Text, nullable=False),
    )
    op.create_table(
        "leases",
        sa.Column("name", sa.Text, primary_key=True),
        sa.Column("holder", sa.Text, nullable=False),
        sa.Column("expires_at", sa.Float, nullable=False),  # unix seconds
    )
    op.create_table(
        "file_stats",
        sa.Column("path", sa.Text, primary_key=True),
        sa.Column("size", sa.BigInteger, nullable=False),
        sa.Column("mtime_ns", sa.BigInteger, nullable=False),
        sa.Column("file_hash", sa.Text, nullable=False),
    )


def downgrade() -> None:
    for name in ("file_stats", "leases", "sync_pending", "sync_state"):
        op.drop_table(name)
