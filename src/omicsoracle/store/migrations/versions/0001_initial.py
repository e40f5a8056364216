"""Initial schema: GEO records, publications, links, ingest runs, change log.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

# Records keep their full parsed form in ``doc`` (JSON text) plus the columns that
# queries filter, join or sort on; the doc is what "show" and the API return.


def _record_table(name: str, key: str, *extra: sa.Column[object]) -> None:
    op.create_table(
        name,
        sa.Column(key, sa.Text, primary_key=True),
        sa.Column("doc", sa.Text, nullable=False),
        sa.Column("content_hash", sa.Text, nullable=False),
        sa.Column("updated_at", sa.Text, nullable=False),
        *extra,
    )


def upgrade() -> None:
    _record_table(
        "series",
        "accession",
        sa.Column("title", sa.Text),
        sa.Column("n_samples", sa.Integer),
        sa.Column("release_date", sa.Text),
        sa.Column("field_sources", sa.Text, nullable=False),
    )
    _record_table("samples", "accession", sa.Column("platform", sa.Text))
    _record_table("platforms", "accession")
    _record_table(
        "datasets",
        "accession",
        sa.Column("reference_series", sa.Text),
        sa.Column("platform", sa.Text),
    )
    op.create_index("ix_datasets_reference_series", "datasets", ["reference_series"])
    op.create_table(
        "dataset_subsets",
        sa.Column("dataset", sa.Text, primary_key=True),
        sa.Column("subset_id", sa.Text, primary_key=True),
        sa.Column("type", sa.Text, nullable=False),
        sa.Column("description", sa.Text, nullable=False),
        sa.Column("samples", sa.Text, nullable=False),
    )
    op.create_table(
        "series_samples",
        sa.Column("series", sa.Text, primary_key=True),
        sa.Column("sample", sa.Text, primary_key=True),
    )
    op.create_index("ix_series_samples_sample", "series_samples", ["sample"])
    op.create_table(
        "data_tables",
        sa.Column("owner", sa.Text, primary_key=True),
        sa.Column("seq", sa.Integer, primary_key=True),
        sa.Column("columns", sa.Text, nullable=False),
        sa.Column("n_rows", sa.Integer, nullable=False),
        sa.Column("rows", sa.LargeBinary, nullable=False),  # zlib(orjson(rows))
        sa.Column("content_hash", sa.Text, nullable=False),
    )
    _record_table(
        "publications",
        "pmid",
        sa.Column("title", sa.Text),
        sa.Column("journal", sa.Text),
        sa.Column("year", sa.Integer),
    )
    op.create_table(
        "authors",
        sa.Column("pmid", sa.Text, primary_key=True),
        sa.Column("position", sa.Integer, primary_key=True),
        sa.Column("last_name", sa.Text),
        sa.Column("fore_name", sa.Text),
        sa.Column("initials", sa.Text),
        sa.Column("collective", sa.Text),
        sa.Column("affiliation", sa.Text),
    )
    op.create_index("ix_authors_last_name", "authors", ["last_name"])
    op.create_table(
        "publication_terms",
        sa.Column("pmid", sa.Text, primary_key=True),
        sa.Column("kind", sa.Text, primary_key=True),  # mesh | keyword | publication_type
        sa.Column("term", sa.Text, primary_key=True),
        sa.Column("major", sa.Boolean, nullable=False),
    )
    op.create_index("ix_publication_terms_term", "publication_terms", ["kind", "term"])
    op.create_table(
        "relationships",
        sa.Column("series", sa.Text, primary_key=True),
        sa.Column("pmid", sa.Text, primary_key=True),
        sa.Column("source", sa.Text, primary_key=True),
        sa.Column("relation", sa.Text, nullable=False),
        sa.Column("confidence", sa.Float, nullable=False),
    )
    op.create_index("ix_relationships_pmid", "relationships", ["pmid"])
    op.create_table(
        "ingest_runs",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("path", sa.Text, nullable=False),
        sa.Column("file_hash", sa.Text),  # sha256 of the file: lets a demo load skip seen files
        sa.Column("format", sa.Text),
        sa.Column("on_error", sa.Text, nullable=False),
        sa.Column("status", sa.Text, nullable=False),  # running | ok | partial | failed
        sa.Column("started_at", sa.Text, nullable=False),
        sa.Column("finished_at", sa.Text),
        sa.Column("counts", sa.Text, nullable=False, server_default="{}"),
        sa.Column("errors", sa.Text, nullable=False, server_default="[]"),
    )
    op.create_table(
        "changes",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("record_type", sa.Text, nullable=False),
        sa.Column("accession", sa.Text, nullable=False),
        sa.Column("op", sa.Text, nullable=False),  # upsert | delete
        sa.Column("run_id", sa.Integer),
        sa.Column("at", sa.Text, nullable=False),
    )


def downgrade() -> None:
    for name in (
        "changes",
        "ingest_runs",
        "relationships",
        "publication_terms",
        "authors",
        "publications",
        "data_tables",
        "series_samples",
        "dataset_subsets",
        "datasets",
        "platforms",
        "samples",
        "series",
    ):
        op.drop_table(name)
