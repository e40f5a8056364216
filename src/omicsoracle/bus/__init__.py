"""Message bus: typed envelopes, codecs and backends behind one interface (issue 5)."""

from omicsoracle.bus.base import Bus, BusFull
from omicsoracle.bus.codec import Codec, CodecError, MsgpackCodec, OrjsonCodec, codec_by_name
from omicsoracle.bus.memory import BusClosed, DeadLetter, FullPolicy, MemoryBus
from omicsoracle.bus.message import (
    Envelope,
    Priority,
    UnknownMessageType,
    register,
    registered,
    require_registered,
)

__all__ = [
    "Bus",
    "BusClosed",
    "BusFull",
    "Codec",
    "CodecError",
    "DeadLetter",
    "Envelope",
    "FullPolicy",
    "MemoryBus",
    "MsgpackCodec",
    "OrjsonCodec",
    "Priority",
    "UnknownMessageType",
    "codec_by_name",
    "register",
    "registered",
    "require_registered",
]
