"""GEO SOFT: family files, single GSE/GSM/GPL records, GDS files, GPL annotation files.

SOFT is line oriented: ``^TYPE = accession`` opens a record block, ``!key =
value`` lines describe it, ``#COLUMN = description`` lines describe its data
table, and ``!sample_table_begin`` .. ``!sample_table_end`` (``platform_``,
``dataset_``) enclose the tab-separated table. 2001-era files write
``^SAMPLE=GSM645`` and put the table straight after the ``#`` lines with no
begin/end markers; both forms are read.

Streaming: a record is yielded when its block ends (next ``^`` line, table
start or end of file), its data table follows as :class:`model.DataTable`
chunks of at most :data:`CHUNK_ROWS` rows, so memory is bounded by one record
header plus one chunk whatever the file size.

Problems inside the file become :class:`model.Rejected` records and parsing goes
on: a block whose accession is missing or malformed is reported and skipped, a
table whose length differs from its declared row count or that has no end
marker is reported after its chunks. File-level problems (empty file, damaged
gzip) raise :class:`FormatError` from :class:`Source`.
"""

from __future__ import annotations

from collections.abc import Generator, Iterable, Iterator
from dataclasses import dataclass, field

from omicsoracle import model
from omicsoracle.formats import Format
from omicsoracle.formats import soft_records as rec
from omicsoracle.formats.source import Source

SOURCE = "geo_soft"
CHUNK_ROWS = 5000

# Record type (upper-cased ``^`` word) -> the accession family it must carry.
_ACCESSION_PREFIX = {"SERIES": "GSE", "SAMPLE": "GSM", "PLATFORM": "GPL", "DATASET": "GDS"}
_BLOCK_WORDS = (b"DATABASE", b"SERIES", b"SAMPLE", b"PLATFORM", b"DATASET", b"ANNOTATION")
_KEY_WORDS = (b"SERIES_", b"SAMPLE_", b"PLATFORM_", b"DATASET_", b"ANNOTATION_", b"DATABASE_")

Line = tuple[int, str]


@dataclass(slots=True)
class _Block:
    """A record whose header is being read (not yet yielded)."""

    kind: str  # key of _ACCESSION_PREFIX
    accession: str | None  # None for a GPL annotation file until !Annotation_platform
    line: int
    annotation: bool = False
    fields: rec.Fields = field(default_factory=dict)
    columns: list[tuple[str, str]] = field(default_factory=list)
    subsets: list[model.DatasetSubset] = field(default_factory=list)


@dataclass(slots=True)
class TableOwner:
    """Where a data table belongs and how long its record's header says it is."""

    owner: str | None  # None: the table of a rejected block, read and dropped
    declared: int | None = None


def sniff(head: bytes, filename: str) -> bool:
    """SOFT when the first non-blank line opens a record block or is a ``!Key = value`` line."""
    del filename  # content decides; see omicsoracle.formats
    text = head.removeprefix(b"\xef\xbb\xbf")
    for raw in text.splitlines():
        line = raw.strip()
        if not line:
            continue
        if line[:1] == b"^":
            return line[1:].lstrip().upper().startswith(_BLOCK_WORDS)
        if line[:1] == b"!":
            key, sep, _ = line[1:].partition(b"=")
            # Series matrix writes "!Series_title<TAB>..." -- no "=" before a tab.
            return bool(sep) and b"\t" not in key and key.upper().startswith(_KEY_WORDS)
        return False
    return False


def parse(source: Source) -> Iterator[model.Record]:
    """Stream the records of a SOFT file (FormatError for an empty or damaged file)."""
    source.head()  # an empty file must fail loudly, not parse as "no records"
    yield from parse_lines(source.lines())


def parse_lines(lines: Iterable[Line]) -> Iterator[model.Record]:
    """Stream the records of SOFT text given as (1-based line number, line) pairs."""
    return _Parser().run(iter(lines))


def stream_table(
    lines: Iterator[Line],
    begin_line: int,
    table: TableOwner,
    end_marker: str | None,
    header: str | None = None,
    quoted: bool = False,
) -> Generator[model.Record, None, Line | None]:
    """Yield a data table's chunks, then any Rejected about its length or end.

    ``end_marker`` is the lower-cased key closing the table (``"sample_table_end"``);
    None for an old-syntax table, which ends at the next ``^``/``!`` line or EOF.
    ``header`` is the column line when the caller has already read it.
    ``quoted`` strips the double quotes series-matrix files put around cells.
    The generator's return value is the line that ended the table when it belongs
    to the caller (a ``^`` line, or any ``!`` line of an old-syntax table).
    """
    owner = table.owner
    keep = owner is not None
    columns = _cells(header, quoted) if header is not None else None
    rows: list[list[str]] = []
    n_rows = 0
    seq = 0
    lineno = begin_line
    pushback: Line | None = None
    terminated = False
    for lineno, line in lines:
        if not line:
            continue
        first = line[0]
        if first == "!" or first == "^":
            if first == "^" or end_marker is None:
                pushback = (lineno, line)  # the next record (or old-syntax header line)
                break
            if line[1:].strip().lower() == end_marker:
                terminated = True
                break
            # Any other "!" line inside a marked table is kept as data: a missing end
            # marker then shows up as a wrong row count or an unterminated table.
        if columns is None:
            columns = _cells(line, quoted)
            continue
        n_rows += 1
        if keep:
            rows.append(_cells(line, quoted) if quoted else line.split("\t"))
            if len(rows) >= CHUNK_ROWS:
                yield model.DataTable(owner or "", seq, columns, rows)
                seq += 1
                rows = []
    if keep and rows and columns is not None:
        yield model.DataTable(owner or "", seq, columns, rows)
    if not keep:
        return pushback
    if end_marker is not None and not terminated:
        where = (
            f"{pushback[1].strip()!r} at line {pushback[0]}"
            if pushback is not None
            else "end of file"
        )
        yield model.Rejected(
            lineno,
            owner,
            f"table not terminated: {where} before !{end_marker} ({n_rows} rows read)",
        )
    elif table.declared is not None and n_rows != table.declared:
        yield model.Rejected(
            lineno, owner, f"table has {n_rows} rows, header declares {table.declared}"
        )
    return pushback


def _cells(line: str, quoted: bool) -> list[str]:
    cells = line.split("\t")
    if quoted and '"' in line:
        return [c[1:-1] if len(c) >= 2 and c[0] == '"' and c[-1] == '"' else c for c in cells]
    if not quoted:
        # Header lines of hand-written files carry stray trailing tabs and spaces.
        while len(cells) > 1 and not cells[-1].strip():
            cells.pop()
        return [c.strip() for c in cells]
    return cells


class _Parser:
    """The SOFT state machine: one pending block, at most one open subset."""

    def __init__(self) -> None:
        self.block: _Block | None = None
        self.subset: model.DatasetSubset | None = None
        self.subset_ok = True  # False: "!subset_" lines belong to a rejected subset
        self.skipping = False  # inside an ignored (^DATABASE) or rejected block

    def run(self, lines: Iterator[Line]) -> Iterator[model.Record]:
        """Read all lines; the outer loop sees header lines only (tables have their own)."""
        pushback: Line | None = None
        while True:
            if pushback is not None:
                lineno, line = pushback
                pushback = None
            else:
                nxt = next(lines, None)
                if nxt is None:
                    break
                lineno, line = nxt
            first = line[:1]
            if first == "\ufeff":
                line = line[1:]
                first = line[:1]
            if first == "^":
                yield from self._open(lineno, line)
            elif first == "!":
                key, _, value = line[1:].partition("=")
                lkey = key.strip().lower()
                if lkey.endswith("_table_begin"):
                    table = yield from self._table_start(lineno)
                    end = lkey[: -len("begin")] + "end"
                    pushback = yield from stream_table(lines, lineno, table, end)
                elif self.block is not None:
                    self._field(lkey, value.strip())
                elif not self.skipping:
                    yield from self._stray(lineno, line)
            elif first == "#":
                if self.block is not None:
                    name, _, desc = line[1:].partition("=")
                    self.block.columns.append((name.strip(), desc.strip()))
                elif not self.skipping:
                    yield from self._stray(lineno, line)
            elif line.strip():
                # Old syntax: the table header follows the "#" lines with no marker.
                if self.block is not None:
                    table = yield from self._table_start(lineno)
                    pushback = yield from stream_table(lines, lineno, table, None, header=line)
                elif not self.skipping:
                    yield from self._stray(lineno, line)
        yield from self._flush()

    def _stray(self, lineno: int, line: str) -> Iterator[model.Record]:
        """Text outside any record: report once, then ignore up to the next ``^`` line."""
        self.skipping = True
        yield model.Rejected(lineno, None, f"line outside any record: {line[:60]!r}")

    def _open(self, lineno: int, line: str) -> Iterator[model.Record]:
        """A ``^TYPE = value`` line: continue, close or start a block."""
        word, _, value = line[1:].partition("=")
        kind = word.strip().upper()
        value = value.strip()
        if kind == "SUBSET":
            yield from self._open_subset(lineno, value)
            return
        block = self.block
        # GDS files repeat "^DATASET = GDSn" after the subsets, before the table;
        # annotation files may follow "^Annotation" with "^PLATFORM = GPLn".
        if (
            block is not None
            and kind in ("DATASET", "PLATFORM")
            and block.kind == kind
            and (block.accession == value or (block.annotation and self._check_annotation(value)))
        ):
            self.subset = None
            return
        yield from self._flush()
        self.skipping = True
        if kind == "DATABASE":
            return  # the GEO database description: nothing to keep
        if kind == "ANNOTATION":
            self.block = _Block("PLATFORM", None, lineno, annotation=True)
            self.skipping = False
            return
        prefix = _ACCESSION_PREFIX.get(kind)
        if prefix is None:
            yield model.Rejected(lineno, value or None, f"unknown record type ^{word.strip()}")
        elif not value:
            yield model.Rejected(lineno, None, f"record without accession (^{kind})")
        elif not (value.startswith(prefix) and model.ACCESSION_RE.match(value)):
            yield model.Rejected(
                lineno, value, f"record without accession: ^{kind} = {value!r} is not a {prefix}"
            )
        else:
            self.block = _Block(kind, value, lineno)
            self.skipping = False

    def _check_annotation(self, value: str) -> bool:
        """``^PLATFORM = GPLn`` after ``^Annotation``: same platform (or none named yet)?"""
        assert self.block is not None
        named = rec.accession_tokens(self.block.fields.get("platform", ()), "GPL")[0]
        if named and value not in named:
            return False
        if not value.startswith("GPL") or not model.ACCESSION_RE.match(value):
            return False
        self.block.accession = value
        return True

    def _open_subset(self, lineno: int, subset_id: str) -> Iterator[model.Record]:
        block = self.block
        self.subset = None
        if block is None or block.kind != "DATASET":
            yield from self._flush()
            self.skipping = True
            yield model.Rejected(lineno, subset_id or None, "^SUBSET outside a ^DATASET")
            return
        self.subset_ok = bool(subset_id)
        if not subset_id:
            yield model.Rejected(lineno, block.accession, "subset without id (^SUBSET)")
            return
        self.subset = model.DatasetSubset(subset_id, "", "")
        block.subsets.append(self.subset)

    def _field(self, lkey: str, value: str) -> None:
        assert self.block is not None
        key = rec.normalize_key(lkey)
        if lkey.startswith("subset_"):
            if self.subset is not None:
                self._subset_field(self.subset, key, value)
                return
            if not self.subset_ok:
                return  # the rejected subset's own lines
            key = lkey  # "!subset_x" with no ^SUBSET: keep it visible in extra
        self.block.fields.setdefault(key, []).append(value)

    def _subset_field(self, subset: model.DatasetSubset, key: str, value: str) -> None:
        if key == "sample_id":
            ids, _ = rec.accession_tokens([value], "GSM")
            subset.samples.extend(i for i in ids if i not in subset.samples)
        elif key == "description":
            subset.description = value
        elif key == "type":
            subset.type = value

    def _table_start(self, lineno: int) -> Generator[model.Record, None, TableOwner]:
        """Yield the pending record; return where its table goes."""
        had_block = self.block is not None
        declared = rec.declared_rows(self.block.fields) if self.block is not None else None
        owner = yield from self._flush()
        if owner is None and had_block is False and not self.skipping:
            yield model.Rejected(lineno, None, "data table outside any record")
        return TableOwner(owner, declared)

    def _flush(self) -> Generator[model.Record, None, str | None]:
        """Yield the pending record (and its relationships); return its accession."""
        block = self.block
        self.block = None
        self.subset = None
        self.subset_ok = True
        if block is None:
            return None
        accession = block.accession
        if block.annotation and accession is None:
            named = block.fields.get("platform", [])
            ids = rec.accession_tokens(named, "GPL")[0]
            if not ids:
                raw = named[0] if named else None
                yield model.Rejected(
                    block.line,
                    raw,
                    "record without accession (^Annotation, no !Annotation_platform)",
                )
                return None
            accession = ids[0]
        assert accession is not None
        if block.kind == "SERIES":
            series = rec.build_series(accession, block.fields, SOURCE)
            if block.columns:
                series.extra.setdefault("columns", []).extend(
                    f"{n} = {d}".rstrip() for n, d in block.columns
                )
            yield series
            yield from rec.series_relationships(series)
        elif block.kind == "SAMPLE":
            yield rec.build_sample(accession, block.fields, SOURCE, block.columns)
        elif block.kind == "PLATFORM":
            yield rec.build_platform(accession, block.fields, SOURCE, block.columns)
        else:
            dataset = rec.build_dataset(
                accession, block.fields, SOURCE, block.subsets, block.columns
            )
            yield dataset
            yield from rec.dataset_relationships(dataset)
        return accession


FORMAT = Format(name="geo_soft", sniff=sniff, parse=parse)
