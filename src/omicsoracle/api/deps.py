"""What route handlers reach through the request: the runtime and settings."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import orjson
from fastapi import Request
from starlette.responses import Response

from omicsoracle.cache import Cache
from omicsoracle.config import Settings
from omicsoracle.runtime import Runtime


def runtime(request: Request) -> Runtime:
    rt: Runtime = request.app.state.runtime
    return rt


async def cached(
    request: Request,
    namespace: str,
    parts: tuple[object, ...],
    compute: Callable[[], Awaitable[dict[str, Any]]],
) -> dict[str, Any]:
    """``compute()``'s answer for ``parts``, from the cache when the corpus has not moved.

    The generation is read before the key is built: new data committed by any process
    (and indexed) gives new keys at once, so no reader gets an answer from before it.
    The returned dict may be shared with other requests: copy before changing it.
    """
    cache: Cache = request.app.state.cache
    rt = runtime(request)
    cache.set_generation(rt.refresh_generation())
    return await cache.get_or_compute(cache.key(namespace, rt.corpus_token, *parts), compute)


def settings(request: Request) -> Settings:
    s: Settings = request.app.state.settings
    return s


def json_response(value: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    """orjson-encoded JSON (fast, and it refuses NaN rather than emitting invalid JSON)."""
    return Response(
        orjson.dumps(value), status_code=status, media_type="application/json", headers=headers
    )
