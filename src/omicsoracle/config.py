"""One typed settings object, read from ``OMICSORACLE_*`` environment variables.

Built once by the entry point (CLI command or ``create_app``) and passed down;
nothing reads the environment at import time, so tests can build their own.
Every field is documented in the README (a test enforces it).
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

# Seconds the ask pipeline waits for each agent unless agent_timeouts_seconds says.
DEFAULT_AGENT_TIMEOUTS: dict[str, float] = {
    "query": 5.0,
    "search": 15.0,
    "enrichment": 10.0,
    "summary": 10.0,
}


NCBI_EUTILS_URL = "https://eutils.ncbi.nlm.nih.gov/entrez/eutils/"
NCBI_GEO_FTP_URL = "https://ftp.ncbi.nlm.nih.gov/geo/"


def _is_ncbi(url: str) -> bool:
    host = urlsplit(url).hostname or ""
    return host == "nih.gov" or host.endswith(".nih.gov")


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
    search_engine: Literal["tantivy", "sql", "pg"] = Field(
        default="tantivy",
        description="Search engine: tantivy (BM25, default), sql (SQLite FTS5) or pg (PostgreSQL full text in the store's database).",
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

    db_pool_size: int = Field(
        default=5,
        ge=1,
        le=200,
        description="PostgreSQL: connections kept open for queries per process.",
    )
    db_max_overflow: int = Field(
        default=10,
        ge=0,
        le=200,
        description="PostgreSQL: extra connections opened under load beyond the pool size.",
    )
    db_pool_timeout: float = Field(
        default=10.0,
        gt=0,
        le=300,
        description="PostgreSQL: seconds a request waits for a free connection before failing.",
    )
    db_pool_recycle: int = Field(
        default=1800,
        ge=-1,
        description="PostgreSQL: seconds after which a connection is replaced (-1: never).",
    )
    redis_url: str | None = Field(
        default=None,
        description="Redis URL of the shared (L2) cache and cross-process events; unset: in-process cache only.",
    )
    redis_timeout_seconds: float = Field(
        # A local Redis answers in well under a millisecond, but a saturated server's
        # event loop reads the reply late: below ~0.2 s a busy worker mistook its own
        # lateness for a Redis outage (seen in the load test).
        default=0.25,
        gt=0,
        le=10,
        description="Redis calls slower than this count as a failure: the request goes on without L2.",
    )
    cache_max_entries: int = Field(
        default=10_000,
        ge=0,
        description="In-process (L1) cache: most entries kept; 0 turns caching off.",
    )
    cache_max_mb: int = Field(
        # Per process. The capacity run's 1,000 queries fill ~20 MB; researchers paging
        # with cursors fill any bound, and at 128 MB a 10x worker passed 400 MB of RSS.
        default=32,
        ge=1,
        le=64_000,
        description="In-process (L1) cache: most MiB of values kept (sizes are measured, not guessed).",
    )
    cache_dir: Path | None = Field(
        # Read from the environment by search.lexicon_cache itself (the same variable):
        # the lexicon is loaded deep inside the query module, where no Settings is at hand.
        default=None,
        description="Where the compiled query vocabulary is cached; unset: $XDG_CACHE_HOME/omicsoracle (~/.cache/omicsoracle).",
    )
    cache_ttl_seconds: float = Field(
        default=300.0,
        gt=0,
        description="Seconds a cached result lives in L1 and L2 (new data invalidates it at once anyway).",
    )
    bus: Literal["memory", "redis"] = Field(
        default="memory",
        description="Message bus of the agent pipeline: memory (in-process) or redis (Streams at redis_url, for separate worker processes).",
    )
    codec: Literal["orjson", "msgpack"] = Field(
        # orjson: 24 us per round trip of a 20-result page against msgpack's 48 us
        # (omicsoracle bench bus, docs/benchmarks.md).
        default="orjson",
        description="Wire format of bus messages between processes: orjson (default, faster on the benchmark page) or msgpack.",
    )
    agent_stream_prefix: str = Field(
        default="omicsoracle:agents",
        min_length=1,
        description="Prefix of the Redis keys of the ask pipeline (agent inboxes, reply streams); deployments sharing one Redis need different prefixes.",
    )
    agent_timeouts_seconds: dict[str, float] = Field(
        default_factory=lambda: dict(DEFAULT_AGENT_TIMEOUTS),
        description='Seconds the ask pipeline waits for each agent (JSON, e.g. {"search": 20}; unnamed agents keep their defaults: query 5, search 15, enrichment 10, summary 10); past it the answer is partial.',
    )
    agent_concurrency: int = Field(
        default=4,
        ge=1,
        le=256,
        description="Requests each agent handles at once, in the API process (bus memory) or per worker (default of omicsoracle worker --concurrency).",
    )
    agent_visibility_timeout_seconds: float = Field(
        default=15.0,
        gt=0,
        le=3600,
        description="Redis bus: a request a worker took and did not acknowledge within this many seconds (the worker died) goes to another worker.",
    )
    agent_stop_grace_seconds: float = Field(
        default=10.0,
        gt=0,
        le=3600,
        description="omicsoracle worker: seconds after SIGTERM/SIGINT to finish the requests in flight; past it, or on a second signal, the worker exits at once (unfinished requests go to other workers after the visibility timeout).",
    )
    slow_query_ms: float = Field(
        default=200.0,
        ge=0,
        description="Database statements slower than this are logged (duration and first 200 characters, no parameters); 0 logs none.",
    )
    api_token: SecretStr | None = Field(
        default=None,
        description="Bearer token for the write API (uploads); unset: the write API is off (403).",
    )
    max_upload_mb: int = Field(
        default=200,
        ge=1,
        le=100_000,
        description="Largest file POST /api/v1/ingest accepts, in MiB (413 beyond).",
    )
    rate_limit_per_minute: int = Field(
        default=60,
        ge=0,
        description="Requests per minute per client to expensive endpoints (export, ingest); 0 turns the limit off.",
    )
    rate_limit_burst: int = Field(
        default=10,
        ge=1,
        description="Requests a client may send at once to expensive endpoints before the rate applies.",
    )
    cors_origins: list[str] = Field(
        default_factory=list,
        description="Origins allowed to call the API from a browser (JSON list); empty: CORS closed.",
    )
    job_retention_days: float = Field(
        default=7.0,
        gt=0,
        description="Finished jobs and their events are deleted this many days after they end.",
    )
    ws_heartbeat_seconds: float = Field(
        default=5.0,
        gt=0,
        le=300,
        description="Seconds between WebSocket heartbeats.",
    )
    ws_send_queue: int = Field(
        default=256,
        ge=1,
        description="Events queued for one WebSocket client (beyond that they are read back from the store when it catches up).",
    )
    ws_send_timeout_seconds: float = Field(
        default=10.0,
        gt=0,
        le=300,
        description="A WebSocket client that takes no event for this long is dropped, so it cannot slow the others.",
    )

    # -- NCBI sync (issue 13: omicsoracle sync geo) ---------------------------------
    eutils_url: str = Field(
        default=NCBI_EUTILS_URL,
        description="Base URL of NCBI E-utilities (esearch, esummary, efetch) that omicsoracle sync geo reads.",
    )
    geo_ftp_url: str = Field(
        default=NCBI_GEO_FTP_URL,
        description="Base URL of GEO's bulk files (series/GSEnnn/GSExxx/soft/...) that sync geo --full downloads.",
    )
    ncbi_api_key: SecretStr | None = Field(
        default=None,
        description="NCBI API key (from an NCBI account): 10 requests/s instead of 3; blank = unset.",
    )
    ncbi_tool: str = Field(
        default="omicsoracle",
        min_length=1,
        description="The tool= name sent with every E-utilities request, as NCBI asks.",
    )
    ncbi_email: str | None = Field(
        default=None,
        description="The email= contact sent with every E-utilities request, as NCBI asks.",
    )
    sync_interval: float | None = Field(
        default=None,
        gt=0,
        description="Seconds between scheduled syncs run by serve (one node at a time, a lease in the database); unset: no schedule.",
    )
    sync_window_days: int = Field(
        default=30,
        ge=1,
        le=3660,
        description="Days of modification dates per esearch window of sync geo.",
    )
    sync_requests_per_second: float | None = Field(
        default=None,
        ge=0,
        description="E-utilities requests per second; unset: NCBI's limit (3, 10 with an API key). Above it is refused against NCBI; 0 = unlimited (only for a local stand-in).",
    )
    sync_max_attempts: int = Field(
        default=6,
        ge=1,
        le=50,
        description="Attempts per E-utilities request (429, 5xx, timeouts retried with backoff) before the sync fails.",
    )

    @field_validator("ncbi_api_key", mode="after")
    @classmethod
    def _blank_key_is_unset(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None or not value.get_secret_value().strip():
            return None
        return value

    @field_validator("ncbi_email", mode="after")
    @classmethod
    def _blank_email_is_unset(cls, value: str | None) -> str | None:
        return value.strip() or None if value is not None else None

    @model_validator(mode="after")
    def _ncbi_rate_limit(self) -> Settings:
        # NCBI blocks clients that go past its limit; a faster rate exists only for
        # benchmarks against a local stand-in, so it is refused while the URL is NCBI's.
        rate = self.sync_requests_per_second
        if rate is None or not _is_ncbi(self.eutils_url):
            return self
        limit = 10.0 if self.ncbi_api_key is not None else 3.0
        if rate == 0 or rate > limit:
            raise ValueError(
                f"sync_requests_per_second={rate:g} exceeds NCBI's limit of {limit:g} requests/s"
                + (" (10 with an API key)" if self.ncbi_api_key is None else "")
                + "; higher rates (0 = unlimited) are only for a local E-utilities stand-in"
            )
        return self

    @property
    def ncbi_rate(self) -> float | None:
        """Requests per second the sync may send (None: unlimited)."""
        rate = self.sync_requests_per_second
        if rate is None:
            return 10.0 if self.ncbi_api_key is not None else 3.0
        return None if rate == 0 else rate

    @field_validator("api_token", mode="after")
    @classmethod
    def _blank_token_is_unset(cls, value: SecretStr | None) -> SecretStr | None:
        # OMICSORACLE_API_TOKEN= (a template variable left empty) must mean "write API
        # off", never "the empty string is the password".
        if value is None or not value.get_secret_value().strip():
            return None
        return value

    @field_validator("agent_timeouts_seconds", mode="after")
    @classmethod
    def _agent_timeouts(cls, value: dict[str, float]) -> dict[str, float]:
        unknown = sorted(set(value) - set(DEFAULT_AGENT_TIMEOUTS))
        if unknown:
            raise ValueError(
                f"unknown agents {unknown}; known: {', '.join(DEFAULT_AGENT_TIMEOUTS)}"
            )
        if any(not 0 < seconds <= 3600 for seconds in value.values()):
            raise ValueError("agent timeouts must be between 0 and 3600 seconds")
        return {**DEFAULT_AGENT_TIMEOUTS, **value}

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'omicsoracle.sqlite').resolve()}"

    @property
    def index_dir(self) -> Path:
        return self.data_dir / "index" / self.search_engine
