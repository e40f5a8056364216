"""GEO "Browse series" CSV export (``geo_browse_series_*.csv``).

Header::

    Accession,Title,Series Type,Taxonomy,Sample Count,Datasets,Supplementary Types,
    Supplementary Links,PubMed ID,SRA Accession,Contact,Release Date

Multi-valued cells are joined with ``;`` (``GDS5;GDS135``, ``CEL;CHP``,
``11779835;17890238``); Release Date reads ``Jan 22, 2001``.

Records are cut out of the line stream by quote parity, and each record is handed
to the csv module on its own. A single csv.reader over the whole file would be
simpler, but one unterminated quote would then swallow every following row up
to csv's 128 KiB field limit; here it costs only its own line (the lines after
it are re-read), and every Rejected carries the line its record starts on.
"""

from __future__ import annotations

import csv
from collections import deque
from collections.abc import Iterator

from omicsoracle.formats import Format
from omicsoracle.formats.source import FormatError, Source
from omicsoracle.formats.text import (
    parse_count,
    parse_geo_date,
    repair_text,
    split_clean,
    strip_bom,
)
from omicsoracle.model import ACCESSION_RE, PMID_RE, Record, Rejected, Relationship, Series

SOURCE = "geo_browse_csv"
HEADER_PREFIX = "Accession,Title,Series Type"
# A quoted field may span lines, but no real cell spans this many; past it the
# opening quote is taken to be unterminated.
MAX_RECORD_LINES = 50

# Column name -> Series attribute (multi-valued ones are split on ";").
_SCALAR_COLUMNS = {"Title": "title", "Contact": "contact"}
_LIST_COLUMNS = {
    "Series Type": "types",
    "Taxonomy": "organisms",
    "Supplementary Types": "supplementary_types",
    "SRA Accession": "sra",
}


def parse(source: Source) -> Iterator[Record]:
    """Stream ``Series`` and primary ``Relationship`` records from a browse CSV.

    A row with the wrong number of columns or without a valid GSE accession is
    yielded as ``Rejected`` with the line it starts on. A file whose header has
    no Accession column raises ``FormatError``.
    """
    header: list[str] | None = None
    acc_index = 0
    columns: list[tuple[int, str]] = []  # (cell index, column name) except Accession
    for item in _csv_records(source):
        if isinstance(item, Rejected):
            yield item
            continue
        lineno, row = item
        if header is None:
            # Columns are looked up by name, so a reordered export still parses.
            header = [name.strip() for name in row]
            if "Accession" not in header:
                raise FormatError(source.name, lineno, "CSV header has no Accession column")
            acc_index = header.index("Accession")
            columns = [(i, name) for i, name in enumerate(header) if i != acc_index]
            continue
        if len(row) != len(header):
            yield Rejected(
                lineno,
                _leading_accession(row[0]),
                f"expected {len(header)} columns, got {len(row)}",
            )
            continue
        accession = row[acc_index].strip()
        if not accession:
            yield Rejected(lineno, None, "missing accession")
        elif not accession.startswith("GSE") or not ACCESSION_RE.match(accession):
            yield Rejected(lineno, accession, f"not a GEO series accession: {accession!r}")
        else:
            series = _series(accession, row, columns)
            yield series
            for pmid in series.pubmed_ids:
                yield Relationship(accession, pmid, "primary", SOURCE, 1.0)


def _series(accession: str, row: list[str], columns: list[tuple[int, str]]) -> Series:
    series = Series(accession=accession, source=SOURCE)
    for i, column in columns:
        cell = row[i]
        if not cell:
            continue
        if column in _SCALAR_COLUMNS:
            setattr(series, _SCALAR_COLUMNS[column], repair_text(cell))
        elif column in _LIST_COLUMNS:
            setattr(series, _LIST_COLUMNS[column], split_clean(cell, ";"))
        elif column == "Sample Count":
            count = cell.strip()
            series.n_samples = parse_count(count)
        elif column == "Datasets":
            series.datasets = [
                gds
                for gds in split_clean(cell, ";")
                if gds.startswith("GDS") and ACCESSION_RE.match(gds)
            ]
        elif column == "PubMed ID":
            series.pubmed_ids = [p for p in split_clean(cell, ";") if PMID_RE.match(p)]
        elif column == "Release Date":
            series.release_date = parse_geo_date(cell)
        else:
            # Supplementary Links, and any column a newer export adds.
            values = split_clean(cell, ";")
            if values:
                series.extra[column.lower().replace(" ", "_")] = values
    return series


def _csv_records(source: Source) -> Iterator[tuple[int, list[str]] | Rejected]:
    """(start line, cells) per CSV record, or a Rejected for an unparseable one."""
    lines = _logical_lines(source)
    replay: deque[tuple[int, str]] = deque()  # lines to re-read after a runaway quote
    buffer: list[tuple[int, str]] = []
    quotes = 0
    while True:
        item = replay.popleft() if replay else next(lines, None)
        if item is not None:
            if not buffer and not item[1].strip():
                continue  # blank line between records
            buffer.append(item)
            quotes += item[1].count('"')
            # An odd number of quotes so far: a quoted field is still open.
            if quotes % 2 and len(buffer) < MAX_RECORD_LINES:
                continue
        if not buffer:
            return
        if quotes % 2:
            # Runaway quote (or EOF inside one): drop only the line that opened it.
            yield Rejected(
                buffer[0][0], _leading_accession(buffer[0][1]), "unterminated quoted field"
            )
            replay.extendleft(reversed(buffer[1:]))
        else:
            yield from _parse_chunk(buffer)
        buffer = []
        quotes = 0


def _parse_chunk(buffer: list[tuple[int, str]]) -> Iterator[tuple[int, list[str]] | Rejected]:
    # The newline matters: csv keeps it inside a multi-line quoted cell.
    reader = csv.reader(line + "\n" for _, line in buffer)
    consumed = 0
    try:
        for row in reader:
            row_start = buffer[min(consumed, len(buffer) - 1)][0]
            consumed = reader.line_num
            if row:
                yield row_start, row
    except csv.Error as exc:
        lineno, text = buffer[consumed] if consumed < len(buffer) else buffer[0]
        yield Rejected(lineno, _leading_accession(text), f"CSV error: {exc}")


def _leading_accession(line: str) -> str | None:
    """The first cell of a raw line when it reads as an accession (for reports)."""
    first = line.split(",", 1)[0].strip()
    return first if ACCESSION_RE.match(first) else None


def _logical_lines(source: Source) -> Iterator[tuple[int, str]]:
    for lineno, line in source.lines():
        if lineno == 1:
            line = strip_bom(line)
        if "\r" in line:
            # A bare CR is a line break (old Mac exports); csv rejects it inside a field.
            for part in line.split("\r"):
                yield lineno, part
        else:
            yield lineno, line


def sniff(head: bytes, filename: str) -> bool:
    """True when the first line is the browse-export header."""
    first = head.removeprefix(b"\xef\xbb\xbf").split(b"\n", 1)[0].replace(b'"', b"")
    return first.startswith(HEADER_PREFIX.encode())


FORMAT = Format(name="geo_browse_csv", sniff=sniff, parse=parse)
