"""Response headers every answer carries, and the bearer token of the write API."""

from __future__ import annotations

import hmac

from fastapi import Request
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from omicsoracle.config import Settings

# Scripts and styles only from our own origin: a string that slipped into the page as
# markup still could not run (no inline script, no eval). connect-src 'self' covers the
# same-origin WebSocket in current browsers.
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
    "frame-ancestors 'none'"
)
HEADERS = {
    "content-security-policy": CSP,
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "x-frame-options": "DENY",
    "cross-origin-opener-policy": "same-origin",
}


class SecurityHeaders:
    """Pure ASGI middleware (streams pass through untouched, unlike BaseHTTPMiddleware)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in HEADERS.items():
                    headers.setdefault(name, value)
            await send(message)

        await self.app(scope, receive, send_with_headers)


class WriteAccessDenied(Exception):
    """The write API refused a request; ``status`` is 401 or 403."""

    def __init__(self, status: int, detail: str):
        super().__init__(detail)
        self.status = status
        self.detail = detail


def require_token(request: Request) -> None:
    """Dependency of every write route: a configured token, presented as Bearer.

    No token configured means the write API is off (403) rather than open: a server
    started without thinking about it must not accept uploads from anyone.
    """
    settings: Settings = request.app.state.settings
    if settings.api_token is None:
        raise WriteAccessDenied(403, "the write API is off: set OMICSORACLE_API_TOKEN to enable it")
    scheme, _, presented = request.headers.get("authorization", "").partition(" ")
    expected = settings.api_token.get_secret_value().encode()
    token = presented.strip().encode()
    if scheme.lower() != "bearer" or not token or not hmac.compare_digest(token, expected):
        raise WriteAccessDenied(401, "a valid 'Authorization: Bearer <token>' header is required")
