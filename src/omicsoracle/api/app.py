"""The FastAPI application, built by ``create_app(settings)``.

Everything stateful (store, index) is built in the lifespan and reached through
``request.app.state``; importing this module creates nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated, Any, Literal

import orjson
from anyio import to_thread
from fastapi import FastAPI, Query, Request
from starlette.responses import Response

from omicsoracle import __version__
from omicsoracle.api.errors import install as install_errors
from omicsoracle.api.errors import problem
from omicsoracle.config import Settings
from omicsoracle.runtime import Runtime
from omicsoracle.search.base import CursorExpired, InvalidCursor, SearchFilters, SearchRequest

log = logging.getLogger(__name__)

# How often a server notices changes another process (a CLI ingest) committed.
CATCH_UP_SECONDS = 2.0


def _json(value: Any, status: int = 200) -> Response:
    return Response(orjson.dumps(value), status_code=status, media_type="application/json")


def create_app(settings: Settings) -> FastAPI:
    """Build the app; the store and index open when it starts."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        runtime = await to_thread.run_sync(Runtime.open, settings)
        app.state.runtime = runtime
        poller = asyncio.create_task(_keep_up(runtime))
        try:
            yield
        finally:
            poller.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await poller
            await to_thread.run_sync(runtime.close)

    app = FastAPI(title="OmicsOracle", version=__version__, lifespan=lifespan)
    install_errors(app)

    @app.get("/healthz")
    async def healthz() -> Response:
        return _json({"status": "ok"})

    @app.get("/readyz")
    async def readyz(request: Request) -> Response:
        runtime: Runtime = request.app.state.runtime
        try:
            stats = await to_thread.run_sync(runtime.store.stats)
            docs = await to_thread.run_sync(runtime.index.doc_count)
        except Exception:
            return problem(503, "Service Unavailable", "store or index not reachable")
        return _json({"status": "ready", "series": stats["counts"]["series"], "indexed": docs})

    @app.get("/api/v1/search")
    async def search(
        request: Request,
        q: Annotated[str, Query(max_length=1000)] = "",
        limit: Annotated[int, Query(ge=1, le=100)] = 20,
        cursor: Annotated[str | None, Query(max_length=4096)] = None,
        sort: Literal["relevance", "date", "samples"] = "relevance",
        organism: Annotated[list[str] | None, Query()] = None,
        type: Annotated[list[str] | None, Query()] = None,
        platform: Annotated[list[str] | None, Query()] = None,
        min_samples: Annotated[int | None, Query(ge=0)] = None,
        max_samples: Annotated[int | None, Query(ge=0)] = None,
        year_from: Annotated[int | None, Query(ge=1900, le=2100)] = None,
        year_to: Annotated[int | None, Query(ge=1900, le=2100)] = None,
        raw_data: Annotated[list[str] | None, Query()] = None,
    ) -> Response:
        runtime: Runtime = request.app.state.runtime
        search_request = SearchRequest(
            query=q,
            limit=limit,
            cursor=cursor,
            sort=sort,
            filters=SearchFilters.build(
                organism=organism,
                type=type,
                platform=platform,
                min_samples=min_samples,
                max_samples=max_samples,
                year_from=year_from,
                year_to=year_to,
                raw_data=raw_data,
            ),
        )
        loop = asyncio.get_running_loop()
        started = loop.time()
        try:
            response = await to_thread.run_sync(runtime.search, search_request)
        except CursorExpired as exc:
            return problem(410, "Cursor Expired", str(exc))
        except InvalidCursor as exc:
            return problem(400, "Invalid Cursor", str(exc))
        body = response.to_dict()
        body["took_ms"] = round((loop.time() - started) * 1000, 3)
        return _json(body)

    @app.get("/api/v1/stats")
    async def stats(request: Request) -> Response:
        runtime: Runtime = request.app.state.runtime
        data = await to_thread.run_sync(runtime.store.stats)
        return _json(data)

    @app.get("/api/v1/records/{identifier}")
    async def record(request: Request, identifier: str) -> Response:
        runtime: Runtime = request.app.state.runtime
        try:
            found = await to_thread.run_sync(runtime.store.get, identifier)
        except ValueError as exc:
            return problem(422, "Unprocessable Content", str(exc))
        if found is None:
            return problem(404, "Not Found", f"{identifier} is not in the store")
        return _json(found)

    return app


async def _keep_up(runtime: Runtime) -> None:
    while True:
        await asyncio.sleep(CATCH_UP_SECONDS)
        try:
            await to_thread.run_sync(runtime.catch_up)
        except Exception:
            # Retried on the next tick: the change log keeps what is not indexed yet.
            log.exception("search index catch-up failed; retrying in %.0f s", CATCH_UP_SECONDS)
