"""Two-level cache: in-process LRU (L1) over a Redis shared by processes (L2).

Build one ``Cache`` per process at startup (``Cache.from_settings``), hand it to
``configure`` for ``@cached`` functions, keep the generation current with
``set_generation`` after every ingest, and ``await cache.close()`` on shutdown.
Values are JSON-like and shared between callers: never mutate what the cache returns.
"""

from omicsoracle.cache.codec import CodecError, decode, encode
from omicsoracle.cache.decorator import cached, configure, configured
from omicsoracle.cache.flight import SingleFlight
from omicsoracle.cache.layered import Cache, LookupHook
from omicsoracle.cache.lru import LRU, MISSING, Missing

__all__ = [
    "LRU",
    "MISSING",
    "Cache",
    "CodecError",
    "LookupHook",
    "Missing",
    "SingleFlight",
    "cached",
    "configure",
    "configured",
    "decode",
    "encode",
]
