"""HTTP request timing, the ``/metrics`` route and the gauges sampled for it.

The middleware is pure ASGI (``BaseHTTPMiddleware`` costs a task and a stream per
request). After the request it reads what routing left in the scope: the matched
route in ``scope["route"]`` (its template, ``/api/v1/records/{identifier}``), or for
a mount (static files), which FastAPI's router does not record there, the mount's
path that ``Mount`` appended to ``scope["root_path"]`` (``/static``). Anything else
is ``<unmatched>``: the label sets stay as few as the routes.
"""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING, Any

from anyio import to_thread
from fastapi import FastAPI, Request
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from omicsoracle.observability.metrics import (
    CONTENT_TYPE,
    instruments,
    render,
    set_index_lag,
    set_queue_depth,
)

if TYPE_CHECKING:
    from prometheus_client import Histogram

    from omicsoracle.runtime import Runtime

log = logging.getLogger(__name__)

UNMATCHED = "<unmatched>"
# Any other method token a client sends is one label value, not one each.
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


class RequestMetrics:
    """Observe ``request_duration_seconds{method,route}`` for every HTTP request
    (WebSocket connections are counted by ``active_connections`` instead)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self._histogram = instruments().request_duration
        self._children: dict[tuple[str, str], Histogram] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        root_path = scope.get("root_path", "")
        started = time.perf_counter()
        try:
            await self.app(scope, receive, send)
        finally:
            self._observe(scope, root_path, time.perf_counter() - started)

    def _observe(self, scope: Scope, root_path: str, seconds: float) -> None:
        method = scope["method"]
        if method not in METHODS:
            method = "OTHER"
        # Routing updates the scope it is given, which is this one.
        matched = scope.get("route")
        if matched is not None:
            route = getattr(matched, "path", UNMATCHED)
        else:
            mount = scope.get("root_path", "")
            route = mount[len(root_path) :] if len(mount) > len(root_path) else UNMATCHED
        key = (method, route)
        child = self._children.get(key)
        if child is None:
            child = self._children[key] = self._histogram.labels(method, route)
        child.observe(seconds)


def install(app: FastAPI) -> None:
    """Time every request (call it after the other ``add_middleware`` calls: the last
    added is outermost, so the time covers them) and serve ``GET /metrics``."""
    app.add_middleware(RequestMetrics)
    app.add_api_route("/metrics", metrics, methods=["GET"], include_in_schema=False)


async def metrics(request: Request) -> Response:
    """The Prometheus text exposition (of every server process when several run)."""
    await sample_gauges(request.app)
    body = await to_thread.run_sync(render)
    return Response(body, media_type=CONTENT_TYPE)


async def sample_gauges(app: FastAPI) -> None:
    """Set the gauges read from the app's state: index lag and queue depths.

    Called on every catch-up tick and on every scrape; never raises (a store that
    cannot be reached leaves the last lag in place).
    """
    state = app.state
    rt: Runtime | None = getattr(state, "runtime", None)
    if rt is not None:
        try:
            lag = await to_thread.run_sync(_index_lag, rt)
        except Exception:
            log.debug("index lag not measured", exc_info=True)
        else:
            set_index_lag(lag)
    hub: Any = getattr(state, "hub", None)
    if hub is not None:
        set_queue_depth("websocket", hub.queued())
    runner: Any = getattr(state, "ingest_runner", None)
    if runner is not None:
        set_queue_depth("ingest", runner.waiting)


def _index_lag(rt: Runtime) -> int:
    return max(0, rt.store.max_change_id() - rt.index.applied_change_id())
