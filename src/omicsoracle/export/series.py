"""Search hits as CSV, TSV or a JSON array, one chunk per page (:mod:`omicsoracle.export`)."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any

import orjson

COLUMNS = (
    "accession", "title", "organisms", "types", "platforms", "n_samples", "release_date",
    "pubmed_ids", "url",
)  # fmt: skip
LIST_COLUMNS = frozenset(("organisms", "types", "platforms", "pubmed_ids"))
GEO_URL = "https://www.ncbi.nlm.nih.gov/geo/query/acc.cgi?acc={}"

# A page of hits shaped like ``SearchHit.to_dict()``.
Page = Sequence[Mapping[str, Any]]


def series_rows(fmt: str, pages: Iterable[Page]) -> Iterator[bytes]:
    """Search hits as CSV, TSV or JSON, one chunk per non-empty page.

    Parameters
    ----------
    fmt
        ``"csv"``, ``"tsv"`` or ``"json"``.
    pages
        Pages of hits shaped like ``SearchHit.to_dict()``; read lazily, one at a time.

    Returns
    -------
    Iterator[bytes]
        UTF-8 chunks. The header row (CSV/TSV) or ``[`` (JSON) comes with the first
        rows; with no rows at all the output is the header alone, or ``[]``.
    """
    try:
        writer = _ROW_WRITERS[fmt]
    except KeyError:
        raise ValueError(
            f"not a series export format: {fmt!r} (use {', '.join(_ROW_WRITERS)})"
        ) from None
    return writer(pages)


def _row(hit: Mapping[str, Any]) -> dict[str, Any]:
    row = {col: hit.get(col) for col in COLUMNS[:-1]}
    for col in LIST_COLUMNS:
        row[col] = [str(v) for v in row[col] or ()]
    row["url"] = GEO_URL.format(hit["accession"])
    return row


def _cells(hit: Mapping[str, Any]) -> list[str]:
    row = _row(hit)
    return [
        "; ".join(value) if isinstance(value, list) else "" if value is None else str(value)
        for value in row.values()
    ]


# Spreadsheets evaluate a cell that starts with one of these as a formula, even in a
# file opened as data: a submitter-written GEO title such as '=HYPERLINK("http://x")'
# would run in the user's Excel/LibreOffice (OWASP "CSV injection"). A leading
# apostrophe makes it text; spreadsheets hide it, other tools see one extra character.
_FORMULA_START = frozenset("=+-@\t\r")


def _defuse(cell: str) -> str:
    # Leading blanks are skipped too: some spreadsheets trim them before parsing.
    if cell and (cell[0] in _FORMULA_START or cell.lstrip()[:1] in _FORMULA_START):
        return "'" + cell
    return cell


RowWriter = Callable[[list[str]], object]


def _delimited(
    pages: Iterable[Page], writer_for: Callable[[io.StringIO], RowWriter]
) -> Iterator[bytes]:
    buf = io.StringIO()  # emptied after every page: memory stays one page
    write_row = writer_for(buf)
    write_row(list(COLUMNS))
    for page in pages:
        for hit in page:
            write_row([_defuse(cell) for cell in _cells(hit)])
        if page:
            yield buf.getvalue().encode("utf-8")
            buf.seek(0)
            buf.truncate()
    if buf.tell():  # no rows at all: the header alone
        yield buf.getvalue().encode("utf-8")


def _csv_writer(buf: io.StringIO) -> RowWriter:
    # The csv module quotes commas, quotes and newlines; "\r\n" rows per RFC 4180.
    return csv.writer(buf).writerow


_TSV_BREAKS = re.compile(r"[\t\r\n\v\f\x1c-\x1e\x85\u2028\u2029]")


def _tsv_writer(buf: io.StringIO) -> RowWriter:
    # IANA TSV has no quoting: a tab or line break inside a value would shift or split
    # the row, so they become spaces (a row is exactly len(COLUMNS) fields, always).
    def write_row(cells: list[str]) -> None:
        buf.write("\t".join(_TSV_BREAKS.sub(" ", cell) for cell in cells))
        buf.write("\n")

    return write_row


def _csv(pages: Iterable[Page]) -> Iterator[bytes]:
    return _delimited(pages, _csv_writer)


def _tsv(pages: Iterable[Page]) -> Iterator[bytes]:
    return _delimited(pages, _tsv_writer)


def _json(pages: Iterable[Page]) -> Iterator[bytes]:
    # One object per line inside the array: still one valid JSON document, and
    # line-oriented tools can work on it.
    opened = False
    for page in pages:
        if not page:
            continue
        body = b",\n".join(orjson.dumps(_row(hit)) for hit in page)
        yield (b",\n" if opened else b"[\n") + body
        opened = True
    yield b"\n]\n" if opened else b"[]\n"


_ROW_WRITERS: dict[str, Callable[[Iterable[Page]], Iterator[bytes]]] = {
    "csv": _csv,
    "tsv": _tsv,
    "json": _json,
}
