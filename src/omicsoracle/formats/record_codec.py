"""Model records to msgpack bytes and back, for the parser processes of ``ingest --jobs``.

Records cross a process boundary, so they travel as data, never pickle: each record
is an array ``[tag, field, field, ...]`` in the dataclass' field order (names stay off
the wire), nested records (GDS subsets, authors, MeSH headings) as arrays too.
Tuples come back as tuples where the model declares them (characteristics, columns),
so a decoded record compares equal to the parsed one.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import fields
from typing import Any, Final

import msgpack  # type: ignore[import-untyped]  # msgpack ships no type information

from omicsoracle.model import (
    Author,
    Dataset,
    DatasetSubset,
    DataTable,
    MeshHeading,
    Platform,
    Publication,
    PublicationDeletion,
    Record,
    Rejected,
    Relationship,
    Sample,
    Series,
)

_TYPES: Final[tuple[type, ...]] = (
    Series,
    Sample,
    Platform,
    Dataset,
    DataTable,
    Publication,
    PublicationDeletion,
    Relationship,
    Rejected,
)
_TAGS: Final = {cls: tag for tag, cls in enumerate(_TYPES)}
_FIELDS: Final = {cls: tuple(f.name for f in fields(cls)) for cls in (*_TYPES, Author, MeshHeading)}


class RecordCodecError(ValueError):
    """Bytes that are not a batch of encoded records."""


def _plain(obj: object) -> list[Any]:
    return [getattr(obj, name) for name in _FIELDS[type(obj)]]


def to_wire(record: Record) -> list[Any]:
    """``record`` as a msgpack-able array."""
    values = _plain(record)
    if isinstance(record, Dataset):
        index = _FIELDS[Dataset].index("subsets")
        values[index] = [[s.id, s.type, s.description, s.samples] for s in record.subsets]
    elif isinstance(record, Publication):
        names = _FIELDS[Publication]
        values[names.index("authors")] = [_plain(a) for a in record.authors]
        values[names.index("mesh")] = [_plain(m) for m in record.mesh]
    return [_TAGS[type(record)], *values]


def from_wire(item: Sequence[Any]) -> Record:
    """The record ``to_wire`` made ``item`` of."""
    try:
        cls = _TYPES[item[0]]
        names = _FIELDS[cls]
        if len(item) != len(names) + 1:
            raise RecordCodecError(f"{cls.__name__}: {len(item) - 1} fields, expected {len(names)}")
        values = dict(zip(names, item[1:], strict=True))
        if cls is Sample:
            values["characteristics"] = [(k, v) for k, v in values["characteristics"]]
        elif cls is Platform:
            values["columns"] = [(k, v) for k, v in values["columns"]]
        elif cls is Dataset:
            values["subsets"] = [DatasetSubset(*s) for s in values["subsets"]]
        elif cls is Publication:
            values["authors"] = [Author(*a) for a in values["authors"]]
            values["mesh"] = [MeshHeading(*m) for m in values["mesh"]]
        record: Record = cls(**values)
    except RecordCodecError:
        raise
    except (IndexError, TypeError, ValueError) as exc:
        raise RecordCodecError(f"not an encoded record: {exc}") from exc
    return record


def encode_batch(records: Sequence[Record]) -> bytes:
    """A batch of records as msgpack bytes."""
    data: bytes = msgpack.packb([to_wire(r) for r in records], use_bin_type=True)
    return data


def decode_batch(data: bytes) -> list[Record]:
    """The records ``encode_batch`` wrote; :class:`RecordCodecError` for anything else."""
    try:
        items = msgpack.unpackb(data, raw=False, use_list=True, strict_map_key=True)
    except (ValueError, TypeError, msgpack.UnpackException) as exc:
        raise RecordCodecError(f"not a record batch: {exc}") from exc
    if not isinstance(items, list):
        raise RecordCodecError("not a record batch: expected an array")
    return [from_wire(item) for item in items]
