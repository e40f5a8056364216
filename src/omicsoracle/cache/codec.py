"""The wire format of cached values: msgpack, never pickle.

Cached values are JSON-like (dict with str keys, list, tuple, str, int, float, bool,
None). msgpack keeps floats exact (doubles, unlike a decimal text form), is compact and
fast in both directions, and decoding it cannot run code, so bytes read back from a
Redis shared with other processes are data and nothing more. Tuples come back as lists.
"""

from __future__ import annotations

import msgpack  # type: ignore[import-untyped]  # msgpack ships no type information

__all__ = ["CodecError", "decode", "encode"]


class CodecError(ValueError):
    """Bytes that are not a cached value (foreign or truncated data)."""


def encode(value: object) -> bytes:
    """The msgpack bytes of a JSON-like value.

    Raises ``TypeError`` for anything else (a datetime, a set, an object): the caller
    has to turn it into plain data first, which keeps every process able to read it.
    """
    try:
        data: bytes = msgpack.packb(value, use_bin_type=True, datetime=False)
    except (TypeError, ValueError, OverflowError) as exc:
        raise TypeError(f"cache values must be JSON-like data: {exc}") from exc
    return data


def decode(data: bytes) -> object:
    """The value ``encode`` turned into ``data``."""
    try:
        return msgpack.unpackb(data, raw=False, use_list=True, strict_map_key=True)
    except (ValueError, TypeError, msgpack.UnpackException) as exc:
        raise CodecError(f"not a cached value: {exc}") from exc
