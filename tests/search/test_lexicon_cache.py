"""The on-disk lexicon cache: old files are cleaned up, files of another shape rebuilt."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import msgpack  # type: ignore[import-untyped]  # msgpack ships no type information
import pytest

from omicsoracle.search.lexicon_cache import decode, encode, fingerprint, load_or_build
from omicsoracle.search.synonyms import Entry, Key

ENTRY = Entry(
    "disease",
    "hepatocellular carcinoma",
    (("hepatocellular", "carcinoma"),),
    (("hcc",),),
    ambiguous=False,
    organism=None,
    types=("series",),
    types_match=True,
    sources=("curated",),
    forms=("hepatocellular carcinoma", "HCC"),
)
TABLE: dict[tuple[str, ...], list[Key]] = {
    ("hcc",): [Key(ENTRY, "HCC")],
    ("hepatocellular", "carcinoma"): [Key(ENTRY)],
}


def _stored() -> Any:
    """What the file holds, read back as _load reads it (arrays as tuples)."""
    return msgpack.unpackb(msgpack.packb(encode(TABLE)), strict_map_key=False, use_list=False)


def test_a_table_survives_the_round_trip() -> None:
    assert decode(_stored()) == TABLE


def test_writing_a_new_cache_deletes_the_older_ones(tmp_path: Path) -> None:
    old = [tmp_path / "lexicon-0123456789abcdef0123.msgpack", tmp_path / "lexicon-old.msgpack"]
    for path in old:
        path.write_bytes(b"an older vocabulary")
    unrelated = tmp_path / "notes.txt"
    unrelated.write_text("kept")

    assert load_or_build(lambda: TABLE, tmp_path) == TABLE

    assert sorted(p.name for p in tmp_path.glob("lexicon-*.msgpack")) == [
        f"lexicon-{fingerprint()}.msgpack"
    ]
    assert unrelated.read_text() == "kept"


def _entry_field(index: int, value: Any) -> Any:
    data = dict(_stored())
    row = list(data["entries"][0])
    row[index] = value
    data["entries"] = (tuple(row),)
    return data


def _first_ref(ref: Any) -> Any:
    data = dict(_stored())
    stems, _refs = data["keys"][0]
    data["keys"] = ((stems, (ref,)), *data["keys"][1:])
    return data


@pytest.mark.parametrize(
    "data",
    [
        pytest.param({"format": 2, "entries": "x", "keys": ()}, id="entries-not-array"),
        pytest.param({**_stored(), "keys": ((("hcc",),),)}, id="key-without-refs"),
        pytest.param(_entry_field(1, 7), id="name-not-text"),
        pytest.param(_entry_field(2, ("hepatocellular",)), id="alternative-not-array"),
        pytest.param(_entry_field(2, ((1, 2),)), id="alternative-of-numbers"),
        pytest.param(_entry_field(4, "no"), id="ambiguous-not-bool"),
        pytest.param(_entry_field(5, 9606), id="organism-not-text"),
        pytest.param(_entry_field(9, "HCC"), id="forms-a-string"),
        pytest.param({**_entry_field(0, "disease"), "entries": (("disease",),)}, id="short-entry"),
        pytest.param(_first_ref((5, None)), id="index-out-of-range"),
        pytest.param(_first_ref((-1, None)), id="negative-index"),
        pytest.param(_first_ref(("0", None)), id="index-not-int"),
        pytest.param(_first_ref((0, 3)), id="exact-not-text"),
        pytest.param(_first_ref((0,)), id="ref-one-field"),
        pytest.param({**_stored(), "keys": (((1, 2), ((0, None),)),)}, id="stems-not-text"),
    ],
)
def test_a_wrong_inner_shape_is_a_value_error(data: Any) -> None:
    with pytest.raises(ValueError, match=r"^[\w ]+: "):  # names what is wrong
        decode(data)


def test_a_cache_file_of_another_shape_is_rebuilt(tmp_path: Path) -> None:
    path = tmp_path / f"lexicon-{fingerprint()}.msgpack"
    path.write_bytes(msgpack.packb(_entry_field(4, "no")))  # right format number, bad field
    built: list[int] = []

    def build() -> dict[tuple[str, ...], list[Key]]:
        built.append(1)
        return TABLE

    assert load_or_build(build, tmp_path) == TABLE
    assert built == [1]
    assert decode(msgpack.unpackb(path.read_bytes(), strict_map_key=False, use_list=False)) == (
        TABLE
    )  # the bad file was replaced by a good one
