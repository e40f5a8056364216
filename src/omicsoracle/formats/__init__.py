"""File formats: one module per format, each exposing ``FORMAT``.

Detection looks at content (the first 64 KiB after decompression), with the file
name only as a tie-breaker, so a renamed or extension-less file still ingests.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from omicsoracle.formats.source import FormatError, Source
from omicsoracle.model import Record

# Order matters: more specific sniffers first (a GPL annotation file is also SOFT;
# a series matrix is also "!Series_" lines).
FORMAT_MODULES = (
    "omicsoracle.formats.pubmed_xml",
    "omicsoracle.formats.miniml",
    "omicsoracle.formats.series_matrix",
    "omicsoracle.formats.soft",
    "omicsoracle.formats.medline",
    "omicsoracle.formats.geo_text_export",
    "omicsoracle.formats.corpus_jsonl",
    "omicsoracle.formats.browse_csv",
)


@dataclass(frozen=True, slots=True)
class Format:
    """A file format: how to recognise it and how to stream records out of it."""

    name: str
    sniff: Callable[[bytes, str], bool]  # (decompressed head, file name) -> is it mine
    parse: Callable[[Source], Iterator[Record]]


def registry() -> list[Format]:
    """All known formats, in detection order."""
    return [importlib.import_module(name).FORMAT for name in FORMAT_MODULES]


def detect(source: Source) -> Format:
    """The format of ``source``; FormatError when empty or unrecognised."""
    head = source.head()
    for fmt in registry():
        if fmt.sniff(head, source.name):
            return fmt
    raise FormatError(source.name, None, "unrecognised format (no parser claims this content)")


def by_name(name: str) -> Format:
    for fmt in registry():
        if fmt.name == name:
            return fmt
    raise KeyError(name)
