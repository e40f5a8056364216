"""Codecs: round trips of the realistic payload, and every bad input is a CodecError."""

from __future__ import annotations

import contextlib
import itertools
from typing import Any

import msgpack
import orjson
import pytest
from bus_payload import PAGE_TYPE, PING_TYPE, page_envelope
from hypothesis import given, settings
from hypothesis import strategies as st

from omicsoracle.bus import (
    CodecError,
    Envelope,
    MsgpackCodec,
    OrjsonCodec,
    Priority,
    UnknownMessageType,
    codec_by_name,
)
from omicsoracle.bus.codec import PREVIEW_BYTES, Codec

CODECS: list[Codec] = [MsgpackCodec(), OrjsonCodec()]
codecs = pytest.mark.parametrize("codec", CODECS, ids=lambda c: c.name)

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**63 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=20,
)


def _wire(codec: Codec, fields: list[Any]) -> bytes:
    return msgpack.packb(fields) if codec.name == "msgpack" else orjson.dumps(fields)


def _fields(**change: Any) -> list[Any]:
    base = {
        "v": 1,
        "id": "abc",
        "type": PING_TYPE,
        "priority": 2,
        "cid": None,
        "created_at": 1.5,
        "attempt": 1,
        "payload": {"k": [1, "x"]},
    }
    base.update(change)
    return list(base.values())


def test_codec_by_name_offers_msgpack_and_orjson_only() -> None:
    assert codec_by_name("msgpack").name == "msgpack"
    assert codec_by_name("orjson").name == "orjson"
    with pytest.raises(ValueError, match="unknown codec 'pickle'"):
        codec_by_name("pickle")


@codecs
def test_realistic_page_round_trips(codec: Codec) -> None:
    envelope = page_envelope(Priority.HIGH)
    data = codec.encode(envelope)
    assert 7_000 <= len(data) <= 12_000  # "a page of 20 search results, about 7 KB"
    back = codec.decode(data)
    assert back == envelope
    assert back.priority is Priority.HIGH
    assert type(back.created_at) is float
    assert len(back.payload["results"]) == 20
    assert back.type == PAGE_TYPE


@codecs
@settings(max_examples=200)
@given(
    payload=st.dictionaries(st.text(max_size=8), json_values, max_size=5),
    priority=st.sampled_from(Priority),
    attempt=st.integers(1, 10),
    correlation_id=st.none() | st.text(max_size=20),
)
def test_any_json_like_envelope_round_trips(
    codec: Codec, payload: dict[str, Any], priority: Priority, attempt: int, correlation_id: Any
) -> None:
    envelope = Envelope(
        PING_TYPE, payload, priority=priority, attempt=attempt, correlation_id=correlation_id
    )
    assert codec.decode(codec.encode(envelope)) == envelope


@codecs
@settings(max_examples=500)
@given(data=st.binary(max_size=200))
def test_random_bytes_raise_nothing_but_codec_error(codec: Codec, data: bytes) -> None:
    # A few byte strings are valid envelopes by chance; those must decode fine.
    with contextlib.suppress(CodecError):
        codec.decode(data)


@codecs
@settings(max_examples=300)
@given(data=st.data())
def test_corrupted_real_envelopes_raise_nothing_but_codec_error(
    codec: Codec, data: st.DataObject
) -> None:
    fixed = Envelope(PING_TYPE, {"n": 1, "s": "text", "l": [1.5, None]}, id="a1", created_at=2.5)
    raw = bytearray(codec.encode(fixed))  # fixed id and time: the same bytes every example
    for _ in range(data.draw(st.integers(1, 4))):
        raw[data.draw(st.integers(0, len(raw) - 1))] = data.draw(st.integers(0, 255))
    cut = data.draw(st.integers(0, len(raw)))
    with contextlib.suppress(CodecError):
        codec.decode(bytes(raw[:cut]))


@codecs
def test_error_message_quotes_only_a_short_prefix(codec: Codec) -> None:
    data = b"\xff" + b"secret-" * 1_000
    with pytest.raises(CodecError) as info:
        codec.decode(data)
    message = str(info.value)
    assert f"{len(data)} bytes" in message
    assert "secret-" * 6 not in message
    assert len(message) < 200
    assert PREVIEW_BYTES < 100


@codecs
@pytest.mark.parametrize(
    ("fields", "match"),
    [
        ({"v": 2}, "not an envelope"),
        ({"id": ""}, "id"),
        ({"id": 5}, "id"),
        ({"type": 7}, "type must be"),
        ({"priority": 4}, "priority"),
        ({"priority": True}, "priority"),
        ({"priority": "HIGH"}, "priority"),
        ({"cid": 3}, "correlation_id"),
        ({"created_at": "now"}, "created_at"),
        ({"attempt": 0}, "attempt"),
        ({"payload": [1, 2]}, "payload"),
        ({"type": "never.registered"}, "not registered"),
    ],
)
def test_wrong_shapes_and_unknown_types_are_codec_errors(
    codec: Codec, fields: dict[str, Any], match: str
) -> None:
    with pytest.raises(CodecError, match=match):
        codec.decode(_wire(codec, _fields(**fields)))


@codecs
@pytest.mark.parametrize("wire", [{}, [], [1, 2, 3], "envelope", 42, None])
def test_other_documents_are_codec_errors(codec: Codec, wire: Any) -> None:
    data = msgpack.packb(wire) if codec.name == "msgpack" else orjson.dumps(wire)
    with pytest.raises(CodecError, match="not an envelope"):
        codec.decode(data)


@codecs
def test_integer_created_at_is_read_as_float(codec: Codec) -> None:
    envelope = codec.decode(_wire(codec, _fields(created_at=2)))
    assert envelope.created_at == 2.0
    assert type(envelope.created_at) is float


def test_unknown_type_is_rejected_when_the_envelope_is_built() -> None:
    with pytest.raises(UnknownMessageType, match=r"never\.registered"):
        Envelope("never.registered", {})


@pytest.mark.parametrize(
    "value",
    [
        b"raw bytes",
        b"",
        msgpack.ExtType(5, b"x"),
        msgpack.Timestamp(1, 0),
    ],
    ids=["bin", "empty-bin", "ext", "timestamp"],
)
def test_msgpack_types_beyond_json_are_refused_when_decoding(value: Any) -> None:
    data = msgpack.packb(_fields(payload={"nested": [1, {"x": value}]}), use_bin_type=True)
    with pytest.raises(CodecError):
        MsgpackCodec().decode(data)


def test_msgpack_non_string_map_keys_are_refused() -> None:
    data = msgpack.packb(_fields(payload={1: "x"}))
    with pytest.raises(CodecError):
        MsgpackCodec().decode(data)


@codecs
def test_non_json_payload_cannot_be_encoded(codec: Codec) -> None:
    with pytest.raises(CodecError, match="cannot encode"):
        codec.encode(Envelope(PING_TYPE, {"x": {1, 2}}))


def test_tuples_and_enums_encode_as_their_json_counterparts() -> None:
    envelope = Envelope(PING_TYPE, {"t": (1, (2, "a")), "p": Priority.HIGH})
    for codec in CODECS:
        back = codec.decode(codec.encode(envelope))
        assert back.payload == {"t": [1, [2, "a"]], "p": 2}
        assert type(back.payload["p"]) is int


def test_both_codecs_agree_on_every_field() -> None:
    envelope = page_envelope(Priority.CRITICAL).retried()
    decoded = [codec.decode(codec.encode(envelope)) for codec in CODECS]
    for left, right in itertools.pairwise(decoded):
        assert left == right == envelope
