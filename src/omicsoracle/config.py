"""One typed settings object, read from ``OMICSORACLE_*`` environment variables.

Built once by the entry point (CLI command or ``create_app``) and passed down;
nothing reads the environment at import time, so tests can build their own.
Every field is documented in the README (a test enforces it).
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Runtime configuration. Field names map to ``OMICSORACLE_<NAME>``."""

    model_config = SettingsConfigDict(env_prefix="OMICSORACLE_", extra="ignore", frozen=True)

    data_dir: Path = Field(
        default=Path("var"),
        description="Directory for the embedded store and the search index.",
    )
    database_url: str | None = Field(
        default=None,
        description="SQLAlchemy URL of the store; default sqlite:///<data_dir>/omicsoracle.sqlite.",
    )
    search_engine: Literal["tantivy", "sql"] = Field(
        default="tantivy",
        description="Search engine: tantivy (BM25, default) or sql (the database's own FTS).",
    )
    ingest_batch_size: int = Field(
        default=1000,
        ge=1,
        le=100_000,
        description="Records per write batch during ingest.",
    )
    reader_pool_size: int = Field(
        default=4,
        ge=1,
        le=64,
        description="Read-only SQLite connections kept for queries.",
    )

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'omicsoracle.sqlite').resolve()}"

    @property
    def index_dir(self) -> Path:
        return self.data_dir / "index" / self.search_engine
