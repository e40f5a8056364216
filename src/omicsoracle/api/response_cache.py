"""Repeated searches and record pages answered from the cache before FastAPI routes them.

Most traffic is the same popular queries again (the load test draws them Zipf-like,
as users do). For those, routing, parsing a dozen query parameters and encoding a
30 KB JSON body cost several times what the cached answer does, so this middleware
keys the encoded body on the path, the corpus token and the normalised query string,
and on a hit sends the bytes at once. A miss runs the app as usual and keeps its answer
if it was a 200; concurrent misses of one key run the app once (the cache's
single-flight) and every waiter gets that answer, whatever its status.

The key carries the corpus token (index generation + identity of its change row),
read per request with one ``stat``: new data from any process gives new keys at once.
Record pages (``/api/v1/series/{accession}`` ...) show the store, which commits before
the index folds a change in, so their keys also carry the store's newest change id.
Only GETs of these paths come here; an invalid request never gets a 200, so it is
never stored.
"""

from __future__ import annotations

import struct
import time
import zlib
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlencode

from anyio import to_thread
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from omicsoracle.api.errors import DATABASE_DOWN

if TYPE_CHECKING:
    from fastapi import FastAPI

    from omicsoracle.cache import Cache
    from omicsoracle.runtime import Runtime

# Read-only answers that depend on nothing but the query and the search index ...
SUGGEST_PATH = "/api/v1/suggest"
INDEX_PATHS = frozenset({"/api/v1/search", "/api/v1/facets", SUGGEST_PATH})
SIMILAR_SUFFIX = "/similar"  # /api/v1/series/{accession}/similar: the index too
# ... or on the store: record pages, keyed also by the store's newest change id (one
# indexed query), since they show data before the index has folded it in.
STORE_PREFIXES = tuple(
    f"/api/v1/{kind}/"
    for kind in ("series", "samples", "platforms", "datasets", "publications", "records")
)
# The search body ends with this field (the endpoint writes it last); a hit rewrites it
# to its own time. An unescaped quote cannot occur inside a JSON string, so the last
# occurrence is always the field.
TOOK_MS = b',"took_ms":'
JSON_HEADERS = [(b"content-type", b"application/json")]
GZIP_JSON_HEADERS = [
    *JSON_HEADERS,
    (b"content-encoding", b"gzip"),
    (b"vary", b"Accept-Encoding"),
]
# Bodies smaller than this are sent as they are: compressing them costs more than it saves.
GZIP_MIN_BYTES = 1024
# zlib's default level: nearly level 9's size on JSON at a fraction of its time.
GZIP_LEVEL = 6
# RFC 1952 member header: magic, deflate, no flags, no mtime, no extra flags, OS unknown.
GZIP_HEADER = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff"


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
        if scope["type"] != "http" or scope["method"] != "GET":
            await self.app(scope, receive, send)
            return
        kind = _kind(scope["path"])
        if kind is None:
            await self.app(scope, receive, send)
            return
        state = self.root.state
        cache: Cache | None = getattr(state, "cache", None)
        rt: Runtime | None = getattr(state, "runtime", None)
        if cache is None or rt is None or not cache.enabled:
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        # A hit costs one stat; anything that may wait for the database (the index
        # moved, an engine without a cheap stamp, a record's store generation) runs in
        # a thread, never on the event loop.
        token = rt.current_token()
        try:
            if token is None:
                token = await to_thread.run_sync(rt.refresh_token)
            if kind == "store":
                token = f"{token}/{await to_thread.run_sync(rt.store.max_change_id)}"
        except DATABASE_DOWN:
            # Uncached: the route meets the same error and answers 503 + Retry-After.
            await self.app(scope, receive, send)
            return
        if scope["path"] == SUGGEST_PATH:
            # Suggestions come from a suggester rebuilt after the index moved: an answer
            # of the old one must not be kept under the new generation.
            token = f"{token}/s{getattr(state.suggestions, 'built_for', -1)}"
        cache.set_generation(rt.generation)
        key = cache.key("http", scope["path"], token, _normalised(scope["query_string"]))
        try:
            body: bytes = await cache.get_or_compute(key, lambda: self._render(scope, receive))
        except Uncacheable as answer:
            await _send(send, answer.status, answer.headers, answer.body)
            return
        # The metrics label requests by route template; a hit never reached the router,
        # so it gets the route the router matched for the miss that filled the entry.
        route_key = _route_key(scope["path"], kind)
        if "route" not in scope and route_key in self._routes:
            scope["route"] = self._routes[route_key]
        prefix, tail = body, b""
        if scope["path"] == "/api/v1/search":
            prefix, tail = _split_took_ms(body, started)
        if len(body) < GZIP_MIN_BYTES or not _accepts_gzip(scope):
            await _send(send, 200, JSON_HEADERS, prefix + tail)
            return
        # Compressing 30 KB costs more than the rest of a hit: the constant prefix is
        # compressed once and kept; only the few bytes of took_ms go in fresh.
        packed = await cache.get_or_compute(f"{key}:gz", lambda: _deflate_prefix(prefix))
        await _send(send, 200, GZIP_JSON_HEADERS, _gzip(packed, tail))

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
            self._routes[_route_key(scope["path"], _kind(scope["path"]))] = scope["route"]
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


def _kind(path: str) -> str | None:
    """Which generation an answer of ``path`` depends on: "index", "store" or none."""
    if path in INDEX_PATHS:
        return "index"
    if path.startswith(STORE_PREFIXES):
        return "index" if path.endswith(SIMILAR_SUFFIX) else "store"
    return None


def _route_key(path: str, kind: str | None) -> str:
    """One key per route template (not per record), for the metrics label of a hit."""
    if path in INDEX_PATHS:
        return path
    if kind == "index":
        return SIMILAR_SUFFIX
    return path[: path.index("/", len("/api/v1/")) + 1]


def _normalised(query_string: bytes) -> str:
    """One form for equivalent query strings (parameter order, encoding of spaces)."""
    pairs = parse_qsl(query_string.decode("latin-1"), keep_blank_values=True)
    # By name only (a stable sort): the values of a repeated name keep their order,
    # which decides the answer (a single-valued parameter takes its last value).
    return urlencode(sorted(pairs, key=lambda pair: pair[0]))


def _split_took_ms(body: bytes, started: float) -> tuple[bytes, bytes]:
    """The body up to took_ms, and took_ms with this request's time."""
    cut = body.rfind(TOOK_MS)
    if cut < 0:
        return body, b""
    took = round((time.perf_counter() - started) * 1000, 3)
    return body[:cut], b"%s%s}" % (TOOK_MS, repr(took).encode())


def _accepts_gzip(scope: Scope) -> bool:
    for name, value in scope["headers"]:
        if name == b"accept-encoding":
            return b"gzip" in value
    return False


async def _deflate_prefix(prefix: bytes) -> list[Any]:
    """``[raw deflate blocks, crc32, length]`` of ``prefix``, ending on a byte boundary.

    A full flush ends the blocks (none final) and resets the dictionary, so blocks
    compressed separately can follow; the gzip trailer's CRC continues from ``crc32``.
    """
    deflater = zlib.compressobj(GZIP_LEVEL, zlib.DEFLATED, -zlib.MAX_WBITS)
    blocks = deflater.compress(prefix) + deflater.flush(zlib.Z_FULL_FLUSH)
    return [blocks, zlib.crc32(prefix), len(prefix)]


def _gzip(packed: list[Any], tail: bytes) -> bytes:
    """A gzip member of prefix + ``tail``: the kept blocks, then ``tail`` as a final
    stored block (RFC 1951 3.2.4: BFINAL=1, BTYPE=00, LEN, NLEN, the bytes)."""
    blocks, crc, size = packed
    n = len(tail)
    stored = b"\x01" + struct.pack("<HH", n, n ^ 0xFFFF) + tail
    trailer = struct.pack("<II", zlib.crc32(tail, crc) & 0xFFFFFFFF, (size + n) & 0xFFFFFFFF)
    return b"%s%s%s%s" % (GZIP_HEADER, blocks, stored, trailer)


async def _send(send: Send, status: int, headers: list[tuple[bytes, bytes]], body: bytes) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [*headers, (b"content-length", str(len(body)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": body})
