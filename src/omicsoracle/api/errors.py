"""RFC 9457 problem+json responses: the only error shape the API returns."""

from __future__ import annotations

import logging
from typing import Any

import orjson
import psycopg
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ConfigDict
from sqlalchemy.exc import OperationalError as DBAPIOperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from omicsoracle.api.ratelimit import RateLimited
from omicsoracle.api.security import HEADERS, WriteAccessDenied

log = logging.getLogger(__name__)
# The database restarting, unreachable, or every pooled connection busy.
DATABASE_DOWN = (DBAPIOperationalError, PoolTimeout, psycopg.OperationalError)
# Seconds a client is asked to wait when the database is down (a restart takes a few).
DATABASE_RETRY_AFTER_S = 2

PROBLEM = "application/problem+json"


class Problem(BaseModel):
    """RFC 9457 problem details (the body of every error response)."""

    model_config = ConfigDict(extra="allow")

    type: str = "about:blank"
    title: str
    status: int
    detail: str | None = None


def _described(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {PROBLEM: {"schema": Problem.model_json_schema()}},
    }


# Declared on every route, so the OpenAPI document says what errors really look like
# (FastAPI's default 422 schema is not the body this API sends).
PROBLEM_RESPONSES: dict[int | str, dict[str, Any]] = {
    400: _described("Bad request"),
    404: _described("Not found"),
    422: _described("Malformed parameter or body"),
    429: _described("Rate limited; see Retry-After"),
    500: _described("Unexpected server error (never a stack trace)"),
}
WRITE_RESPONSES: dict[int | str, dict[str, Any]] = {
    401: _described("Missing or wrong bearer token"),
    403: _described("The write API is off (no token configured)"),
    413: _described("Upload larger than OMICSORACLE_MAX_UPLOAD_MB"),
}
CURSOR_RESPONSES: dict[int | str, dict[str, Any]] = {
    410: _described("The cursor's index snapshot is gone: search again"),
}


def problem(status: int, title: str, detail: str | None = None, **extra: Any) -> Response:
    body: dict[str, Any] = {"type": "about:blank", "title": title, "status": status}
    if detail:
        body["detail"] = detail
    body.update(extra)
    return Response(orjson.dumps(body), status_code=status, media_type=PROBLEM)


def install(app: FastAPI) -> None:
    """Route every error through problem+json, never a stack trace."""

    @app.exception_handler(StarletteHTTPException)
    async def _http(_request: Request, exc: StarletteHTTPException) -> Response:
        response = problem(exc.status_code, _title(exc.status_code), str(exc.detail))
        response.headers.update(exc.headers or {})  # Allow on 405, as RFC 9110 requires
        return response

    @app.exception_handler(RequestValidationError)
    async def _validation(_request: Request, exc: RequestValidationError) -> Response:
        errors = [
            {"loc": [str(p) for p in e.get("loc", ())], "msg": e.get("msg", "")}
            for e in exc.errors()
        ]
        return problem(422, "Unprocessable Content", "invalid request parameters", errors=errors)

    @app.exception_handler(WriteAccessDenied)
    async def _denied(_request: Request, exc: WriteAccessDenied) -> Response:
        headers = {"www-authenticate": 'Bearer realm="omicsoracle"'} if exc.status == 401 else {}
        response = problem(exc.status, _title(exc.status), exc.detail)
        response.headers.update(headers)
        return response

    @app.exception_handler(RateLimited)
    async def _limited(_request: Request, exc: RateLimited) -> Response:
        response = problem(429, "Too Many Requests", str(exc), retry_after=exc.retry_after)
        response.headers["retry-after"] = str(exc.retry_after)
        return response

    @app.exception_handler(DBAPIOperationalError)
    @app.exception_handler(PoolTimeout)
    @app.exception_handler(psycopg.OperationalError)
    async def _database_down(_request: Request, exc: Exception) -> Response:
        # The database restarting, unreachable, or every pooled connection busy: a
        # temporary state the client may retry, not a failure of this server (pooled
        # connections are replaced on their next checkout, see store/postgres.py).
        log.warning("database unavailable: %s", type(getattr(exc, "orig", exc)).__name__)
        response = problem(503, "Service Unavailable", "the database is not reachable; retry")
        response.headers["retry-after"] = str(DATABASE_RETRY_AFTER_S)
        return response

    @app.exception_handler(Exception)
    async def _unexpected(_request: Request, _exc: Exception) -> Response:
        # Answered outside the middleware stack (Starlette's outermost error handler),
        # so the security headers are added here.
        response = problem(500, "Internal Server Error", "the server failed to answer this request")
        response.headers.update(HEADERS)
        return response


def _title(status: int) -> str:
    from http import HTTPStatus

    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"
