"""Cached values travel as msgpack: exact round trips of real responses, and never pickle."""

from __future__ import annotations

import ast
import datetime
import math
from pathlib import Path

import pytest

from omicsoracle.cache import CodecError, decode, encode

PACKAGE = Path(__file__).resolve().parents[2] / "src" / "omicsoracle" / "cache"

# The shape of a /api/v1/search response (README), with the awkward parts real data has.
SEARCH_RESPONSE = {
    "query": "Parkinson's disease α-synuclein — 東京",
    "total": 1234,
    "results": [
        {
            "accession": "GSE7621",
            "title": "Parkinson's disease: substantia nigra (Affymetrix) – ü, ß, 🧬",
            "snippet": {"text": "…loss of dopaminergic neurons…", "highlights": [[1, 8], [12, 19]]},
            "organisms": ["Homo sapiens"],
            "types": ["Expression profiling by array"],
            "platforms": ["GPL570"],
            "n_samples": 25,
            "release_date": "2007-03-01",
            "pubmed_ids": ["17640817"],
            "score": 12.345678901234567,
        },
        {
            "accession": "GSE0",
            "title": "",
            "snippet": {"text": "", "highlights": []},
            "organisms": [],
            "types": [],
            "platforms": [],
            "n_samples": None,
            "release_date": None,
            "pubmed_ids": [],
            "score": 0.1 + 0.2,
        },
    ],
    "facets": {"organism": {"Homo sapiens": 900, "unknown": 3}, "year": {"2007": 1}},
    "next_cursor": None,
    "did_you_mean": None,
    "relaxed": False,
    "interpreted": {
        "terms": ["parkinson"],
        "filters": {"samples": {"min": 20, "max": None}},
        "negative": -(2**62),
        "tiny": 5e-324,
        "big": 1.7976931348623157e308,
    },
    "took_ms": 1.25,
}


def test_search_response_round_trips_exactly() -> None:
    data = encode(SEARCH_RESPONSE)
    assert decode(data) == SEARCH_RESPONSE
    back = decode(data)
    assert isinstance(back, dict)
    assert back["results"][1]["score"] == 0.1 + 0.2  # doubles, not decimal text
    assert data[0] == 0x80 | len(SEARCH_RESPONSE)  # msgpack "fixmap" of that many entries


def test_special_floats_round_trip() -> None:
    back = decode(encode([math.inf, -math.inf, -0.0]))
    assert back == [math.inf, -math.inf, -0.0]
    assert math.isnan(decode(encode(math.nan)))  # type: ignore[arg-type]


def test_tuples_come_back_as_lists() -> None:
    assert decode(encode({"pair": (1, 2)})) == {"pair": [1, 2]}


@pytest.mark.parametrize("value", [{1, 2}, object(), {"when": datetime.date(2024, 1, 2)}])
def test_non_json_values_are_refused(value: object) -> None:
    with pytest.raises(TypeError, match="JSON-like"):
        encode(value)


def test_integers_beyond_64_bits_are_refused() -> None:
    with pytest.raises(TypeError, match="JSON-like"):
        encode(2**64)


@pytest.mark.parametrize("data", [b"\x92\x01", b"\x01\x02", b"\x81\x01\x02", b""])
def test_foreign_bytes_are_a_codec_error(data: bytes) -> None:
    with pytest.raises(CodecError):
        decode(data)


FORBIDDEN = {"pickle", "cPickle", "_pickle", "marshal", "shelve", "dill", "eval", "exec"}


def test_no_pickle_in_the_cache_package() -> None:
    for source in PACKAGE.glob("*.py"):
        for node in ast.walk(ast.parse(source.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names = {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom):
                names = {(node.module or "").split(".")[0], *(a.name for a in node.names)}
            elif isinstance(node, ast.Name):
                names = {node.id}
            else:
                continue
            assert not names & FORBIDDEN, f"{source.name}:{node.lineno}: {names & FORBIDDEN}"
