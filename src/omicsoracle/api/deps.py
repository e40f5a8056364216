"""What route handlers reach through the request: the runtime and settings."""

from __future__ import annotations

from typing import Any

import orjson
from fastapi import Request
from starlette.responses import Response

from omicsoracle.config import Settings
from omicsoracle.runtime import Runtime


def runtime(request: Request) -> Runtime:
    rt: Runtime = request.app.state.runtime
    return rt


def settings(request: Request) -> Settings:
    s: Settings = request.app.state.settings
    return s


def json_response(value: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    """orjson-encoded JSON (fast, and it refuses NaN rather than emitting invalid JSON)."""
    return Response(
        orjson.dumps(value), status_code=status, media_type="application/json", headers=headers
    )
