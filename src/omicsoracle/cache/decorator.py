"""``@cached``: memoise an expensive pure computation (facets, suggestions, statistics).

The cache is the one the application hands over with ``configure(cache)`` at startup;
until then (and after ``configure(None)``) decorated functions compute every time, so
importing a module never creates a cache nobody configured.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from typing import Any, ParamSpec, TypeVar, cast, overload

import anyio.to_thread

from omicsoracle.cache.layered import Cache

__all__ = ["cached", "configure", "configured"]

P = ParamSpec("P")
R = TypeVar("R")

_cache: Cache | None = None


def configure(cache: Cache | None) -> None:
    """Make ``cache`` the one ``@cached`` functions use; ``None``: no caching."""
    global _cache
    _cache = cache


def configured() -> Cache | None:
    """The cache ``@cached`` functions use now, if any."""
    return _cache


KeyParts = Callable[..., Sequence[object]]


class _Decorator:
    def __init__(self, ttl: float | None, key: KeyParts | None) -> None:
        self.ttl = ttl
        self.key = key

    @overload
    def __call__(self, fn: Callable[P, Awaitable[R]]) -> Callable[P, Coroutine[Any, Any, R]]: ...

    @overload
    def __call__(self, fn: Callable[P, R]) -> Callable[P, Coroutine[Any, Any, R]]: ...

    def __call__(self, fn: Callable[P, Any]) -> Callable[P, Coroutine[Any, Any, Any]]:
        name = f"{fn.__module__}.{fn.__qualname__}"
        is_async = inspect.iscoroutinefunction(fn)
        ttl, key_parts = self.ttl, self.key

        @functools.wraps(fn)
        async def wrapper(*args: P.args, **kwargs: P.kwargs) -> Any:
            def compute() -> Awaitable[Any]:
                if is_async:
                    return cast(Awaitable[Any], fn(*args, **kwargs))
                # Sync work goes to a worker thread: the event loop keeps serving.
                return anyio.to_thread.run_sync(functools.partial(fn, *args, **kwargs))

            cache = _cache
            if cache is None:
                return await compute()
            parts = key_parts(*args, **kwargs) if key_parts is not None else (args, kwargs)
            return await cache.get_or_compute(cache.key(name, *parts), compute, ttl)

        return wrapper


def cached(*, ttl: float | None = None, key: KeyParts | None = None) -> _Decorator:
    """Cache the results of a pure function in the configured ``Cache``.

    Works on async and sync functions alike and makes both async: a sync function runs
    in a worker thread on a miss, so the event loop is not blocked.

    Parameters
    ----------
    ttl
        Seconds a result lives; default the cache's ``ttl``.
    key
        Called with the function's arguments, returns the JSON-encodable parts the
        key is built from (for arguments that are not JSON, such as ``self`` or a
        store). Default: the positional and keyword arguments themselves, so
        ``f(1, b=2)`` and ``f(1, 2)`` are cached apart.

    The key also holds the function's module and qualified name and the corpus
    generation. Results must be JSON-like and are shared: do not mutate them.
    """
    return _Decorator(ttl, key)
