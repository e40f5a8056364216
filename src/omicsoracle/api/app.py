"""The FastAPI application, built by ``create_app(settings)``.

Everything stateful (store, index, jobs, event hub) is built in the lifespan and
reached through ``request.app.state``; importing this module creates nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from anyio import to_thread
from fastapi import FastAPI, Request
from starlette.middleware.cors import CORSMiddleware
from starlette.middleware.gzip import GZipMiddleware
from starlette.responses import Response

from omicsoracle import __version__
from omicsoracle.agents.pipeline import Pipeline
from omicsoracle.api import analysis as analysis_api
from omicsoracle.api import ask, charts, export, jobs, records, search, web
from omicsoracle.api import entities as entities_api
from omicsoracle.api import sync as sync_api
from omicsoracle.api.deps import json_response, runtime
from omicsoracle.api.errors import PROBLEM_RESPONSES, problem
from omicsoracle.api.errors import install as install_errors
from omicsoracle.api.events import EventHub
from omicsoracle.api.ratelimit import RateLimiter
from omicsoracle.api.response_cache import GZIP_LEVEL, GZIP_MIN_BYTES, ResponseCache
from omicsoracle.api.security import SecurityHeaders
from omicsoracle.api.suggestions import Suggestions
from omicsoracle.cache import Cache, cached
from omicsoracle.cache import configure as configure_cache
from omicsoracle.config import Settings
from omicsoracle.jobs import JobStore
from omicsoracle.memory import freeze_long_lived, limit_arenas, release_free_memory
from omicsoracle.observability import (
    agent_timer,
    instrument_engines,
    mark_process_dead,
    record_cache_lookup,
)
from omicsoracle.observability.asgi import install as install_metrics
from omicsoracle.observability.asgi import sample_gauges
from omicsoracle.runtime import Runtime

log = logging.getLogger(__name__)

# How often a server notices changes another process (a CLI ingest) committed: the
# index writer folds them in, the other server processes reload their readers.
CATCH_UP_SECONDS = 1.0
# malloc arenas of a server process, and how often (in ticks) it trims its heap.
SERVER_MALLOC_ARENAS = 2
TRIM_EVERY_TICKS = 30
PRUNE_EVERY_TICKS = 3600  # hourly: finished jobs past their retention


def create_app(settings: Settings) -> FastAPI:
    """Build the app; the store, index and job store open when it starts."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # Before the worker threads exist: glibc gives each thread an arena of its own,
        # and 40 request threads each keeping freed memory took a 10x worker's RSS
        # past 400 MB. Two arenas: the threads that really run in parallel (tantivy's,
        # outside the GIL) rarely contend.
        limit_arenas(SERVER_MALLOC_ARENAS)
        rt = await to_thread.run_sync(lambda: Runtime.open(settings, shared_index=True))
        job_store = await to_thread.run_sync(JobStore.open, settings)
        instrument_engines(job_store, settings.slow_query_ms)
        await to_thread.run_sync(job_store.fail_orphans)
        await to_thread.run_sync(job_store.prune, settings.job_retention_days)
        hub = EventHub(job_store, settings.ws_send_queue, settings.ws_send_timeout_seconds)
        app.state.runtime = rt
        app.state.jobs = job_store
        app.state.hub = hub
        app.state.suggestions = Suggestions(settings.resolved_database_url)
        app.state.ingest_runner = jobs.IngestRunner(rt, job_store, hub)
        # bus memory: the agents run here; redis: they run in `omicsoracle worker`s.
        pipeline = await Pipeline.open(settings, rt)
        app.state.ask_runner = ask.AskRunner(pipeline, job_store, hub)
        app.state.de_runner = analysis_api.DeRunner(rt, job_store, hub)
        app.state.sync_runner = sync_api.SyncRunner(rt, job_store, hub)
        cache = Cache.from_settings(settings, on_lookup=record_cache_lookup)
        cache.set_generation(rt.generation)
        app.state.cache = cache
        configure_cache(cache)  # what @cached functions of this process use
        # Built before the worker takes connections (uvicorn accepts once startup is
        # done): at 10x the build takes seconds, and a request must not wait for it.
        # A failed build does not keep the worker from serving: the catch-up loop
        # tries again, and the search box offers nothing until then.
        try:
            await app.state.suggestions.refresh(rt.generation)
        except Exception:
            log.exception("search suggestions not built at startup; retrying in the background")
        freeze_long_lived()
        poller = asyncio.create_task(_keep_up(app))
        scheduler = None
        if settings.sync_interval is not None:
            scheduler = asyncio.create_task(
                sync_api.schedule(app.state.sync_runner, settings.sync_interval)
            )
        try:
            yield
        finally:
            for task in (poller, scheduler):
                if task is not None:
                    task.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await task
            await app.state.sync_runner.close()
            await app.state.ingest_runner.close()
            await app.state.ask_runner.close()
            await app.state.de_runner.close()
            await pipeline.close()
            await hub.close()
            configure_cache(None)
            await cache.close()
            await to_thread.run_sync(job_store.close)
            await to_thread.run_sync(rt.close)
            # Its live gauges leave the sums of the other workers (a no-op alone; a
            # worker that crashes skips this, and its gauges stay until the restart).
            mark_process_dead(os.getpid())

    app = FastAPI(
        title="OmicsOracle",
        version=__version__,
        summary="Search and analysis of NCBI GEO series and their PubMed articles",
        lifespan=lifespan,
        # /docs is our own page over the packaged Swagger UI (FastAPI's loads it from a CDN).
        docs_url=None,
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.rate_limiter = RateLimiter(settings.rate_limit_per_minute, settings.rate_limit_burst)
    install_errors(app)
    # Innermost: a cached answer still gets compressed, headers and a metrics sample.
    app.add_middleware(ResponseCache, root=app)
    # Outermost first: headers on every answer (errors included), then compression.
    app.add_middleware(GZipMiddleware, minimum_size=GZIP_MIN_BYTES, compresslevel=GZIP_LEVEL)
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["GET", "POST"],
            allow_headers=["Authorization", "Content-Type"],
        )
    app.add_middleware(SecurityHeaders)
    install_metrics(app)  # last added, outermost: its time covers the middleware too

    @app.get("/healthz", tags=["operations"], summary="The process is up")
    async def healthz() -> Response:
        return json_response({"status": "ok"})

    @app.get("/readyz", tags=["operations"], summary="Store and index are reachable")
    async def readyz(request: Request) -> Response:
        rt = runtime(request)
        try:
            stats = await to_thread.run_sync(rt.store.stats)
            docs = await to_thread.run_sync(rt.index.doc_count)
        except Exception:
            return problem(503, "Service Unavailable", "store or index not reachable")
        return json_response(
            {
                "status": "ready",
                "series": stats["counts"]["series"],
                "indexed": docs,
                # Which of several server processes answered, and whether it is the
                # one writing the search index (operators and tests look).
                "pid": os.getpid(),
                "index_writer": rt.writer_lease is None or rt.writer_lease.held,
                "generation": rt.generation,
            }
        )

    @app.get("/api/v1/stats", tags=["operations"], summary="Counts per record type, data as of")
    async def stats(request: Request) -> Response:
        rt = runtime(request)
        data = await _store_stats(rt, await to_thread.run_sync(rt.store.max_change_id))
        indexed = await to_thread.run_sync(rt.index.doc_count)
        return json_response({**data, "data_as_of": data.get("last_ingest"), "indexed": indexed})

    for module in (search, records, export, jobs, ask, charts, entities_api, analysis_api):
        app.include_router(module.router, responses=PROBLEM_RESPONSES)
    app.include_router(sync_api.router, responses=PROBLEM_RESPONSES)
    web.mount(app)
    return app


@cached(key=lambda _rt, change: (change,))
def _store_stats(rt: Runtime, change: int) -> dict[str, Any]:
    """Counts over whole tables (slow at scale), recomputed only when the store changed."""
    return rt.store.stats()


def app_from_env() -> FastAPI:
    """The app of one ``serve --workers N`` process: settings come from the environment."""
    return create_app(Settings())


async def _keep_up(app: FastAPI) -> None:
    rt: Runtime = app.state.runtime
    suggestions: Suggestions = app.state.suggestions
    rebuild: asyncio.Task[None] | None = None
    ticks = 0
    try:
        while True:
            await asyncio.sleep(CATCH_UP_SECONDS)
            rebuild = await _tick(app, rt, suggestions, rebuild, ticks)
            ticks += 1
    finally:
        if rebuild is not None:
            rebuild.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await rebuild


async def _tick(
    app: FastAPI,
    rt: Runtime,
    suggestions: Suggestions,
    rebuild: asyncio.Task[None] | None,
    ticks: int,
) -> asyncio.Task[None] | None:
    """One catch-up tick; starts a suggester rebuild (in the background, so indexing
    never waits for it) when the index moved past the current suggester."""
    try:
        caught = await to_thread.run_sync(rt.keep_up)
        moved = caught.applied_change_id != suggestions.built_for
        if moved and (rebuild is None or rebuild.done()):
            rebuild = asyncio.create_task(_rebuild(suggestions, caught.applied_change_id))
        if ticks % PRUNE_EVERY_TICKS == PRUNE_EVERY_TICKS - 1:
            jobs: JobStore = app.state.jobs
            await to_thread.run_sync(jobs.prune, rt.settings.job_retention_days)
        if ticks % TRIM_EVERY_TICKS == TRIM_EVERY_TICKS - 1:
            # Freed request memory back to the OS (cheap: a walk of free chunks).
            release_free_memory()
    except Exception:
        # Retried on the next tick: the change log keeps what is not indexed yet.
        log.exception("search index catch-up failed; retrying in %.0f s", CATCH_UP_SECONDS)
    await sample_gauges(app)
    return rebuild


async def _rebuild(suggestions: Suggestions, change_id: int) -> None:
    try:
        with agent_timer("suggester"):
            await suggestions.refresh(change_id)
    except Exception:
        log.exception("search suggestions not rebuilt; retrying on the next tick")
        return
    # The new suggester is long-lived: out of the full collections' way.
    freeze_long_lived()
