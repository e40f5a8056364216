"""Look up sample characteristics by key and case-folded value (issue 6, facets).

Revision ID: 0005
Revises: 0004

The enrichment step writes a characteristic value in the spelling the store already
holds for it ("HeLa" when "HELA" arrives): one facet value per characteristic, whatever
the submitters' case. Finding the stored spelling is a lookup on (key, lower(value)).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        "ix_sample_characteristics_key_lower",
        "sample_characteristics",
        ["key", sa.text("lower(value)")],
    )


def downgrade() -> None:
    op.drop_index("ix_sample_characteristics_key_lower", "sample_characteristics")
