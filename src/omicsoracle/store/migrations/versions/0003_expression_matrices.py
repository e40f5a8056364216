"""Expression matrices: one compressed numeric array per dataset (issue 6).

Revision ID: 0003
Revises: 0002

The statistics read a dataset's values as one blob (an ``.npz`` of float64 values,
probe ids and sample ids, loaded with ``allow_pickle=False``) instead of parsing its
text table chunks on every comparison. The blob lives in its own table, away from the
record tables that searches and pages read, and is rebuilt when the dataset's table
changes (``source_hash`` is a digest of its ``data_tables`` chunk hashes).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "expression_matrices",
        sa.Column("accession", sa.Text, primary_key=True),
        sa.Column("source_hash", sa.Text, nullable=False),
        sa.Column("n_probes", sa.Integer, nullable=False),
        sa.Column("n_samples", sa.Integer, nullable=False),
        sa.Column("matrix", sa.LargeBinary, nullable=False),
        sa.Column("updated_at", sa.Text, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("expression_matrices")
