"""GEO series matrix files (``GSExxx_series_matrix.txt.gz``).

Layout: ``!Series_key<TAB>"value"`` lines describe the series; ``!Sample_key``
lines hold one quoted cell per sample (column *i* of every ``!Sample_`` line is
sample *i*); ``!series_matrix_table_begin`` .. ``!series_matrix_table_end``
encloses the expression matrix (ID_REF column plus one column per sample).

Yield order: the Series and its relationships, the Samples, then the matrix as
:class:`model.DataTable` chunks owned by the series accession. The header is
small (it is held until the table starts); the matrix streams in bounded chunks.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from omicsoracle import model
from omicsoracle.formats import Format
from omicsoracle.formats import soft_records as rec
from omicsoracle.formats.soft import Line, TableOwner, stream_table
from omicsoracle.formats.source import Source

SOURCE = "geo_series_matrix"
_TABLE_BEGIN = "series_matrix_table_begin"
_TABLE_END = "series_matrix_table_end"


def sniff(head: bytes, filename: str) -> bool:
    """A ``!Series_title`` header plus matrix evidence.

    Evidence is the table marker, a tab-separated ``!Sample_geo_accession`` line,
    or a tab-separated ``!Series_title`` line (SOFT writes ``key = value``, so a
    tab there is matrix syntax even when a huge header pushes the rest past the head).
    """
    del filename  # content decides; see omicsoracle.formats
    text = b"\n" + head.removeprefix(b"\xef\xbb\xbf").replace(b"\r\n", b"\n")
    if b"\n!Series_title" not in text:
        return False
    return (
        b"\n!series_matrix_table_begin" in text
        or b"\n!Sample_geo_accession\t" in text
        or b"\n!Series_title\t" in text
    )


def parse(source: Source) -> Iterator[model.Record]:
    """Stream the records of a series matrix file (FormatError for an empty file)."""
    source.head()  # an empty file must fail loudly, not parse as "no records"
    yield from parse_lines(source.lines())


def parse_lines(lines: Iterable[Line]) -> Iterator[model.Record]:
    """Stream the records of series-matrix text given as (line number, line) pairs."""
    return _MatrixParser().run(iter(lines))


def _unquote(cell: str) -> str:
    cell = cell.strip()
    if len(cell) >= 2 and cell[0] == '"' and cell[-1] == '"':
        return cell[1:-1].strip()
    return cell


class _MatrixParser:
    def __init__(self) -> None:
        self.series: rec.Fields = {}
        self.series_line: int | None = None  # line of !Series_geo_accession
        self.samples: list[rec.Fields] | None = None
        self.samples_line: int | None = None  # line of !Sample_geo_accession
        self.emitted = False
        self.owner: str | None = None

    def run(self, lines: Iterator[Line]) -> Iterator[model.Record]:
        stray = False  # report the first of a run of unexpected lines only
        for lineno, raw in lines:
            line = raw.lstrip("\ufeff")
            if not line.strip():
                continue
            if line[0] != "!":
                if not stray:
                    yield model.Rejected(
                        lineno, None, f"line outside the matrix table: {line[:60]!r}"
                    )
                stray = True
                continue
            stray = False
            key, _, rest = line[1:].partition("\t")
            lkey = key.strip().lower()
            if lkey == _TABLE_BEGIN:
                yield from self._emit_header()
                table = TableOwner(self.owner)
                pushback = yield from stream_table(lines, lineno, table, _TABLE_END, quoted=True)
                if pushback is not None:  # a "^" line: not matrix syntax
                    yield model.Rejected(
                        pushback[0], None, f"line outside the matrix table: {pushback[1][:60]!r}"
                    )
            elif self.emitted:
                yield model.Rejected(lineno, self.owner, f"header line after the table: !{key}")
            elif lkey.startswith("series_"):
                name = lkey[len("series_") :]
                if name == "geo_accession":
                    self.series_line = lineno
                values = [v for v in map(_unquote, rest.split("\t")) if v]
                self.series.setdefault(name, []).extend(values)
            elif lkey.startswith("sample_"):
                yield from self._sample_line(lineno, key, lkey[len("sample_") :], rest)
            else:
                yield model.Rejected(lineno, None, f"unknown header line !{key}")
        yield from self._emit_header()

    def _sample_line(self, lineno: int, key: str, name: str, rest: str) -> Iterator[model.Record]:
        """One ``!Sample_`` line: cell *i* goes to sample *i*."""
        cells = [_unquote(c) for c in rest.split("\t")]
        if self.samples is None:
            self.samples = [{} for _ in cells]
        if len(cells) != len(self.samples):
            yield model.Rejected(
                lineno, None, f"!{key} has {len(cells)} values for {len(self.samples)} samples"
            )
        if name == "geo_accession":
            self.samples_line = lineno
        for fields, cell in zip(self.samples, cells, strict=False):
            if cell:  # samples with fewer characteristics leave the cell empty
                fields.setdefault(name, []).append(cell)

    def _emit_header(self) -> Iterator[model.Record]:
        """Yield the Series, its relationships and the Samples (once)."""
        if self.emitted:
            return
        self.emitted = True
        accession = rec.accession_tokens(self.series.get("geo_accession", ()), "GSE")[0]
        self.owner = accession[0] if len(accession) == 1 else None
        samples: list[model.Sample] = []
        in_order: list[model.Sample | model.Rejected] = []  # column order
        for fields in self.samples or ():
            raw_acc = (fields.get("geo_accession") or [""])[0]
            if raw_acc.startswith("GSM") and model.ACCESSION_RE.match(raw_acc):
                sample = rec.build_sample(raw_acc, fields, SOURCE)
                # Matrix files omit !Sample_series_id: the file itself names the series.
                if self.owner is not None and self.owner not in sample.series:
                    sample.series.append(self.owner)
                samples.append(sample)
                in_order.append(sample)
            else:
                in_order.append(
                    model.Rejected(
                        self.samples_line or 1,
                        raw_acc or None,
                        "record without accession (sample column without a valid GSM)",
                    )
                )
        if self.owner is not None:
            series = rec.build_series(self.owner, self.series, SOURCE)
            if not series.organisms:
                # No !Series_sample_organism line in matrix files: use the samples'.
                series.organisms = list(dict.fromkeys(o for s in samples for o in s.organisms))
            yield series
            yield from rec.series_relationships(series)
        elif self.series:
            raw = self.series.get("geo_accession")
            yield model.Rejected(
                self.series_line or 1,
                raw[0] if raw else None,
                "record without accession (no valid !Series_geo_accession)",
            )
        yield from in_order


FORMAT = Format(name="geo_series_matrix", sniff=sniff, parse=parse)
