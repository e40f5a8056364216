"""Repeated searches answered from the cache before FastAPI routes them.

Most traffic is the same popular queries again (the load test draws them Zipf-like,
as users do). For those, routing, parsing a dozen query parameters and encoding a
30 KB JSON body cost several times what the cached answer does, so this middleware
keys the encoded body on the path, the corpus token and the normalised query string,
and on a hit sends the bytes at once. A miss runs the app as usual and keeps its answer
if it was a 200; concurrent misses of one key run the app once (the cache's
single-flight) and every waiter gets that answer, whatever its status.

The key carries the corpus token (index generation + identity of its change row),
read per request with one ``stat``: new data from any process gives new keys at once.
Only GETs of the cacheable paths come here; an invalid query never gets a 200, so it
is never stored.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlencode

from starlette.types import ASGIApp, Message, Receive, Scope, Send

if TYPE_CHECKING:
    from fastapi import FastAPI

    from omicsoracle.cache import Cache
    from omicsoracle.runtime import Runtime

# Read-only answers that depend on nothing but the query and the corpus.
CACHED_PATHS = frozenset({"/api/v1/search", "/api/v1/facets", "/api/v1/suggest"})
# The search body ends with this field (the endpoint writes it last); a hit rewrites it
# to its own time. An unescaped quote cannot occur inside a JSON string, so the last
# occurrence is always the field.
TOOK_MS = b',"took_ms":'
JSON_HEADERS = [(b"content-type", b"application/json")]


class Uncacheable(Exception):
    """A non-200 answer: sent as it is to every request that waited for it, not kept."""

    def __init__(self, status: int, headers: list[tuple[bytes, bytes]], body: bytes) -> None:
        super().__init__(status)
        self.status = status
        self.headers = headers
        self.body = body


class ResponseCache:
    """Pure ASGI middleware in front of the router (see the module docstring)."""

    def __init__(self, app: ASGIApp, root: FastAPI) -> None:
        self.app = app
        self.root = root
        self._routes: dict[str, Any] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "GET" or scope["path"] not in CACHED_PATHS:
            await self.app(scope, receive, send)
            return
        state = self.root.state
        cache: Cache | None = getattr(state, "cache", None)
        rt: Runtime | None = getattr(state, "runtime", None)
        if cache is None or rt is None or not cache.enabled:
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        cache.set_generation(rt.refresh_generation())
        key = cache.key("http", scope["path"], rt.corpus_token, _normalised(scope["query_string"]))
        try:
            body: bytes = await cache.get_or_compute(key, lambda: self._render(scope, receive))
        except Uncacheable as answer:
            await _send(send, answer.status, answer.headers, answer.body)
            return
        # The metrics label requests by route template; a hit never reached the router,
        # so it gets the route the router matched for the miss that filled the entry.
        if "route" not in scope and scope["path"] in self._routes:
            scope["route"] = self._routes[scope["path"]]
        if scope["path"] == "/api/v1/search":
            body = _with_took_ms(body, started)
        await _send(send, 200, JSON_HEADERS, body)

    async def _render(self, scope: Scope, receive: Receive) -> bytes:
        """Run the app for this request and capture its whole answer."""
        start: Message = {}
        chunks: list[bytes] = []

        async def capture(message: Message) -> None:
            nonlocal start
            if message["type"] == "http.response.start":
                start = message
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))

        await self.app(scope, receive, capture)
        if "route" in scope:
            self._routes[scope["path"]] = scope["route"]
        body = b"".join(chunks)
        status = int(start.get("status", 500))
        headers = [
            (name, value)
            for name, value in start.get("headers", [])
            if name.lower() != b"content-length"  # recomputed when sent
        ]
        if status != 200:
            raise Uncacheable(status, headers, body)
        return body


def _normalised(query_string: bytes) -> str:
    """One form for equivalent query strings (parameter order, encoding of spaces)."""
    pairs = parse_qsl(query_string.decode("latin-1"), keep_blank_values=True)
    return urlencode(sorted(pairs))


def _with_took_ms(body: bytes, started: float) -> bytes:
    cut = body.rfind(TOOK_MS)
    if cut < 0:
        return body
    took = round((time.perf_counter() - started) * 1000, 3)
    return b"%s%s%s}" % (body[:cut], TOOK_MS, repr(took).encode())


async def _send(send: Send, status: int, headers: list[tuple[bytes, bytes]], body: bytes) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [*headers, (b"content-length", str(len(body)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": body})
