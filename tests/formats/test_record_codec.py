"""The record codec of ``ingest --jobs``: every model record survives the trip as data."""

from __future__ import annotations

from pathlib import Path

import msgpack  # type: ignore[import-untyped]
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from omicsoracle.formats import detect
from omicsoracle.formats.record_codec import RecordCodecError, decode_batch, encode_batch
from omicsoracle.formats.source import Source
from omicsoracle.model import (
    Dataset,
    DataTable,
    Platform,
    Publication,
    PublicationDeletion,
    Record,
    Rejected,
    Relationship,
    Sample,
    Series,
)

DATA = Path(__file__).parent.parent / "data"

_finite = st.floats(allow_nan=False)
# Counts and line numbers as files carry them: msgpack's integers are 64-bit.
_int = st.integers(-(2**63), 2**63 - 1)
_opt_int = st.none() | _int
_records: st.SearchStrategy[Record] = st.one_of(
    st.builds(Series, n_samples=_opt_int),
    st.builds(Sample, n_rows=_opt_int),
    st.builds(Platform, n_rows=_opt_int),
    st.builds(Dataset, n_samples=_opt_int, n_features=_opt_int),
    st.builds(DataTable, seq=_int),
    st.builds(Publication, year=_opt_int),
    st.from_type(PublicationDeletion),
    st.builds(Relationship, confidence=_finite),
    st.builds(Rejected, line=_opt_int),
)


@settings(max_examples=150, deadline=None)
@given(st.lists(_records, max_size=5))
def test_round_trip(records: list[Record]) -> None:
    assert decode_batch(encode_batch(records)) == records


@pytest.mark.parametrize(
    "name",
    [
        "soft/GSE94489_family.soft.gz",
        "soft/GDS507.soft.gz",
        "miniml/GSE100007_family.xml",
        "series_matrix/GSE99709_series_matrix.txt.gz",
    ],
)
def test_real_records_round_trip(name: str) -> None:
    source = Source(DATA / name)
    records = list(detect(source).parse(source))
    assert records
    assert decode_batch(encode_batch(records)) == records


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"\xc1", "not a record batch"),
        (msgpack.packb({"a": 1}), "expected an array"),
        (msgpack.packb([[99, "x"]]), "not an encoded record"),
        (msgpack.packb([[0, "GSE1"]]), "fields, expected"),
        (msgpack.packb([["x"]]), "not an encoded record"),
    ],
)
def test_bad_bytes_are_a_codec_error(data: bytes, reason: str) -> None:
    with pytest.raises(RecordCodecError, match=reason):
        decode_batch(data)
