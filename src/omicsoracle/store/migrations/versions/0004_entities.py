"""Extracted entities and normalised sample characteristics (issue 6, text extraction).

Revision ID: 0004
Revises: 0003

Both tables are derived data, rebuilt by ``omicsoracle enrich``: ``entities`` holds one
row per mention with its span in the record's field, ``sample_characteristics`` one
row per normalised key/value of a sample. ``enrichment_state`` remembers the last
change-log id enriched, so an enrichment after an ingest only reads what changed.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "entities",
        sa.Column("record_id", sa.Text, nullable=False),
        sa.Column("seq", sa.Integer, nullable=False),
        sa.Column("record_type", sa.Text, nullable=False),
        sa.Column("type", sa.Text, nullable=False),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("normalized", sa.Text, nullable=False),
        sa.Column("field", sa.Text, nullable=False),
        sa.Column("span_start", sa.Integer, nullable=False),
        sa.Column("span_end", sa.Integer, nullable=False),
        sa.Column("source", sa.Text, nullable=False),
        sa.Column("context", sa.Text),
        sa.PrimaryKeyConstraint("record_id", "seq"),
    )
    # Filters ("series mentioning TP53", enrichment terms) go from a value to records.
    op.create_index("ix_entities_type_normalized", "entities", ["type", "normalized"])
    op.create_table(
        "sample_characteristics",
        sa.Column("sample", sa.Text, nullable=False),
        sa.Column("seq", sa.Integer, nullable=False),
        sa.Column("key", sa.Text, nullable=False),
        sa.Column("value", sa.Text, nullable=False),
        sa.Column("raw", sa.Text, nullable=False),
        sa.PrimaryKeyConstraint("sample", "seq"),
    )
    op.create_index("ix_sample_characteristics_kv", "sample_characteristics", ["key", "value"])
    op.create_table(
        "enrichment_state",
        sa.Column("name", sa.Text, primary_key=True),
        sa.Column("change_id", sa.Integer, nullable=False),
        sa.Column("vocabulary", sa.Text, nullable=False),
        sa.Column("at", sa.Text, nullable=False),
    )


def downgrade() -> None:
    for name in ("enrichment_state", "sample_characteristics", "entities"):
        op.drop_table(name)
