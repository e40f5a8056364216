"""Export writers on real data: demo-corpus search hits and stored PubMed records.

Every format is parsed back (csv module, orjson, a small BibTeX/RIS reader below), and
the writers are checked to be generators that read one page per chunk.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

import orjson
import pytest

from omicsoracle import export
from omicsoracle.config import Settings
from omicsoracle.ingest import ingest_file
from omicsoracle.runtime import Runtime
from omicsoracle.search.base import SearchRequest
from omicsoracle.store import Store

DATA = Path(__file__).parent / "data"
PUBMED_FILES = ("pubmed26n1334.xml.gz", "pubmed26n1335.xml.gz", "pubmedsample_2019.xml.gz")
Hit = dict[str, Any]


# --- fixtures ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def hit_pages(demo_settings: Settings) -> list[list[Hit]]:
    """Three real result pages of 50 (cursor paging, as the export endpoint walks them)."""
    pages: list[list[Hit]] = []
    cursor = None
    with Runtime.open(demo_settings, catch_up_index=False) as rt:
        while len(pages) < 3:
            resp = rt.search(SearchRequest("breast cancer", limit=50, cursor=cursor))
            pages.append([hit.to_dict() for hit in resp.results])
            cursor = resp.next_cursor
            assert cursor is not None
    return pages


@pytest.fixture
def publications(store: Store) -> list[dict[str, Any]]:
    """Every stored publication of the PubMed fixtures, as ``Store.get`` returns it."""
    import gzip

    pmids: dict[str, None] = {}
    for name in PUBMED_FILES:
        result = ingest_file(store, DATA / "pubmed" / name)
        assert result.ok, result.problems
        text = gzip.decompress((DATA / "pubmed" / name).read_bytes()).decode("utf-8")
        pmids.update(dict.fromkeys(re.findall(r"<PMID[^>]*>(\d+)</PMID>", text)))
    docs = [doc for doc in (store.get(pmid) for pmid in pmids) if doc is not None]
    assert len(docs) > 200
    return docs


class Counting:
    """An iterable of pages that records how many pages were taken."""

    def __init__(self, pages: Sequence[Sequence[dict[str, Any]]]) -> None:
        self.pages = pages
        self.taken = 0

    def __iter__(self) -> Iterator[Sequence[dict[str, Any]]]:
        for page in self.pages:
            self.taken += 1
            yield page


def _joined(chunks: Iterable[bytes]) -> str:
    return b"".join(chunks).decode("utf-8")


def _expected_cells(hit: Hit) -> list[str]:
    def cell(value: Any) -> str:
        if isinstance(value, list):
            value = "; ".join(value)
        text = "" if value is None else str(value)
        return (
            "'" + text
            if text.lstrip()[:1] in {"=", "+", "-", "@"} or text[:1] in {"\t", "\r"}
            else text
        )

    row = [hit[c] for c in export.COLUMNS[:-1]]
    return [
        *map(cell, row),
        f"https://www.ncbi.nlm.nih.gov/geo/query/acc.cgi?acc={hit['accession']}",
    ]


# --- series rows ------------------------------------------------------------------------


def test_csv_parses_back_to_the_same_values(hit_pages: list[list[Hit]]) -> None:
    text = _joined(export.series_rows("csv", hit_pages))
    rows = list(csv.reader(io.StringIO(text, newline="")))
    assert rows[0] == list(export.COLUMNS)
    hits = [hit for page in hit_pages for hit in page]
    assert rows[1:] == [_expected_cells(hit) for hit in hits]
    assert any(";" in row[2] or row[7] for row in rows[1:])  # lists really were joined


def test_tsv_has_constant_columns_even_with_tabs_and_newlines(hit_pages: list[list[Hit]]) -> None:
    hits = [dict(hit) for hit in hit_pages[0]]
    hits[0]["title"] = "tab\there\nnewline\r\nand\u2028separator"
    hits[1]["organisms"] = ["Homo\tsapiens", "Mus musculus"]
    text = _joined(export.series_rows("tsv", [hits]))
    lines = text.splitlines()
    assert len(lines) == len(hits) + 1
    assert {len(line.split("\t")) for line in lines} == {len(export.COLUMNS)}
    assert lines[1].split("\t")[1] == "tab here newline  and separator"
    assert lines[2].split("\t")[2] == "Homo sapiens; Mus musculus"


def test_json_is_one_valid_array(hit_pages: list[list[Hit]]) -> None:
    rows = orjson.loads(_joined(export.series_rows("json", [hit_pages[0], [], hit_pages[1]])))
    expected = hit_pages[0] + hit_pages[1]
    assert [r["accession"] for r in rows] == [h["accession"] for h in expected]
    assert rows[0]["organisms"] == expected[0]["organisms"]  # lists stay lists
    assert set(rows[0]) == set(export.COLUMNS)
    assert orjson.loads(_joined(export.series_rows("json", []))) == []
    assert orjson.loads(_joined(export.series_rows("json", [[], []]))) == []


def test_empty_export_is_the_header_alone() -> None:
    for fmt, sep in (("csv", ","), ("tsv", "\t")):
        assert _joined(export.series_rows(fmt, [])).rstrip("\r\n") == sep.join(export.COLUMNS)


@pytest.mark.parametrize("fmt", ["csv", "tsv"])
def test_formula_injection_is_neutralised(fmt: str, hit_pages: list[list[Hit]]) -> None:
    payloads = ['=HYPERLINK("http://evil","x")', "+1+1", "-2+3", "@SUM(A1)", "\t=1", "\r=1", " =1"]
    hits = []
    for payload, hit in zip(payloads, hit_pages[0], strict=False):
        hits.append({**hit, "title": payload, "platforms": [payload]})
    text = _joined(export.series_rows(fmt, [hits]))
    if fmt == "csv":
        rows = list(csv.reader(io.StringIO(text, newline="")))[1:]
    else:
        rows = [line.split("\t") for line in text.splitlines()[1:]]
    for row in rows:
        for cell in (row[1], row[4]):
            assert cell.startswith("'"), cell
        assert row[0].startswith("GSE")  # ordinary cells are left alone


# --- publications -----------------------------------------------------------------------

ENTRY_RE = re.compile(r"@article\{([^,\s{}]+),\n(.*?)\n\}\n", re.DOTALL)
FIELD_RE = re.compile(r"^  ([a-z]+) = (\{.*\}|[a-z]+)$")
ESCAPES_RE = re.compile(r"\\(?:[&%$#_]|text[a-z]+\{\})")


def _balanced(value: str) -> bool:
    depth = 0
    for ch in value:  # BibTeX counts every brace, backslash or not
        depth += {"{": 1, "}": -1}.get(ch, 0)
        if depth < 0:
            return False
    return depth == 0


def parse_bibtex(text: str) -> dict[str, dict[str, str]]:
    """Entries by key, fields by name; fails on anything malformed."""
    entries: dict[str, dict[str, str]] = {}
    assert ENTRY_RE.sub("", text).strip() == "", "text outside entries"
    for key, body in ENTRY_RE.findall(text):
        assert key not in entries, f"duplicate key {key}"
        fields: dict[str, str] = {}
        for line in body.split(",\n"):
            m = FIELD_RE.match(line)
            assert m, line
            name, value = m.groups()
            assert _balanced(value), value
            fields[name] = value[1:-1] if value.startswith("{") else value
        entries[key] = fields
    return entries


def parse_ris(text: str) -> list[list[tuple[str, str]]]:
    """Records as (tag, value) lists; fails on anything malformed."""
    assert text.endswith("ER  - \r\n")
    assert "\n" not in text.replace("\r\n", "")  # CRLF only
    records: list[list[tuple[str, str]]] = [[]]
    for line in text[:-2].split("\r\n"):
        m = re.match(r"^([A-Z][A-Z0-9])  - (.*)$", line)
        assert m, repr(line)
        records[-1].append((m.group(1), m.group(2)))
        if m.group(1) == "ER":
            records.append([])
    assert records.pop() == []
    return records


def test_bibtex_of_real_publications(publications: list[dict[str, Any]]) -> None:
    pages = [publications[i : i + 40] for i in range(0, len(publications), 40)]
    text = _joined(export.publication_entries("bibtex", pages))
    entries = parse_bibtex(text)
    assert list(entries) == [f"pmid{doc['pmid']}" for doc in publications]
    for key, fields in entries.items():
        assert fields["pmid"] == key[4:]
        assert fields["url"] == f"https://pubmed.ncbi.nlm.nih.gov/{key[4:]}/"
        for name, value in fields.items():
            if name not in ("doi", "url"):  # verbatim fields
                assert not re.search(r"[&%$#_~^\\]", ESCAPES_RE.sub("", value)), (name, value)
    linked = entries["pmid41603352"]
    assert linked["note"] == "GEO: GSE149758, GSE200151"
    assert "Ramírez-Martínez, Gustavo" in linked["author"]  # UTF-8 kept as is
    assert linked["month"] == "jan"
    assert linked["doi"] == "10.7554/eLife.102634"


def test_bibtex_escapes_special_characters(publications: list[dict[str, Any]]) -> None:
    doc = {
        **publications[0],
        "title": r"50% of C&D_x cost $5 #1 {braces} ~tilde^hat \back NSCLC",
        "authors": ["Smith J", {"collective": "Smith and Jones Consortium"}],
        "journal": "J {Bad",
    }
    entry = parse_bibtex(_joined(export.publication_entries("bibtex", [[doc]])))[
        f"pmid{doc['pmid']}"
    ]
    assert entry["title"] == (
        r"50\% of C\&D\_x cost \$5 \#1 \textbraceleft{}braces\textbraceright{} "
        r"\textasciitilde{}tilde\textasciicircum{}hat \textbackslash{}back {NSCLC}"
    )
    assert entry["author"] == "Smith J and {Smith and Jones Consortium}"
    assert entry["journal"] == r"J \textbraceleft{}Bad"


def test_ris_of_real_publications(publications: list[dict[str, Any]]) -> None:
    pages = [publications[i : i + 40] for i in range(0, len(publications), 40)]
    records = parse_ris(_joined(export.publication_entries("ris", pages)))
    assert len(records) == len(publications)
    for record, doc in zip(records, publications, strict=True):
        assert record[0] == ("TY", "JOUR")
        assert record[-1] == ("ER", "")
        tags = dict(record)
        assert tags["AN"] == doc["pmid"]
        assert tags["UR"] == f"https://pubmed.ncbi.nlm.nih.gov/{doc['pmid']}/"
        names = [
            a["collective"]
            or ", ".join(filter(None, [a["last_name"], a["fore_name"] or a["initials"]]))
            for a in doc["authors"]
        ]
        assert [v for t, v in record if t == "AU"] == [n for n in names if n]
        if doc.get("title"):
            assert tags["TI"] == " ".join(doc["title"].split())
    linked = dict(records[[d["pmid"] for d in publications].index("41603352")])
    assert linked["N1"] == "GEO: GSE149758, GSE200151"
    assert linked["DA"] == "2026/01/28"


def test_a_link_row_with_only_a_pmid_still_exports(store: Store) -> None:
    assert ingest_file(store, DATA / "miniml" / "GSE100007_family.xml").ok
    series = store.get("GSE100007")
    assert series is not None
    rows = series["publications"]  # the paper is linked but not stored: pmid only
    assert rows
    assert rows[0]["title"] is None
    entry = parse_bibtex(_joined(export.publication_entries("bibtex", [rows])))["pmid29141229"]
    assert entry == {
        "pmid": "29141229",
        "url": "https://pubmed.ncbi.nlm.nih.gov/29141229/",
        "note": "GEO: GSE100007",
    }
    (record,) = parse_ris(_joined(export.publication_entries("ris", [[{"pmid": "29141229"}]])))
    assert [t for t, _ in record] == ["TY", "AN", "UR", "ER"]


def test_rows_of_one_pmid_merge_across_pages(publications: list[dict[str, Any]]) -> None:
    a, b, c = publications[:3]
    pages = [
        [{**a, "series": "GSE1"}, {**b, "series": ["GSE2"]}, {**a, "series": "GSE9"}],
        [{"pmid": b["pmid"], "series": "GSE3"}, {**c, "series_links": [{"series": "GSE4"}]}],
        [{"title": "A paper without PMID"}],
    ]
    entries = parse_bibtex(_joined(export.publication_entries("bibtex", pages)))
    assert list(entries) == [
        f"pmid{a['pmid']}",
        f"pmid{b['pmid']}",
        f"pmid{c['pmid']}",
        "omicsoracle4",
    ]
    assert entries[f"pmid{a['pmid']}"]["note"] == "GEO: GSE1, GSE9"
    assert entries[f"pmid{b['pmid']}"]["note"] == "GEO: GSE2, GSE3"
    assert entries[f"pmid{b['pmid']}"]["title"]  # the full row's fields survive the merge


# --- streaming --------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", export.SERIES_FORMATS)
def test_series_writers_read_one_page_per_chunk(fmt: str, hit_pages: list[list[Hit]]) -> None:
    pages = Counting(hit_pages)
    chunks = export.series_rows(fmt, pages)
    assert pages.taken == 0  # nothing read before the first chunk is asked for
    first = next(chunks)
    assert pages.taken == 1
    assert first.count(b"acc.cgi?acc=GSE") == len(hit_pages[0])
    rest = list(chunks)
    assert pages.taken == 3
    assert len(rest) == 3 - 1 + (fmt == "json")  # JSON closes the array in a last chunk


@pytest.mark.parametrize("fmt", export.PUBLICATION_FORMATS)
def test_publication_writers_read_one_page_per_chunk(
    fmt: str, publications: list[dict[str, Any]]
) -> None:
    pages = Counting([publications[i : i + 10] for i in range(0, 50, 10)])
    chunks = export.publication_entries(fmt, pages)
    first = next(chunks)
    assert pages.taken == 1
    assert publications[0]["pmid"].encode() in first
    assert len(list(chunks)) == 5  # the held-back last entry comes with the final chunk


def test_unknown_format_fails_before_reading() -> None:
    pages = Counting([[{"accession": "GSE1"}]])
    with pytest.raises(ValueError, match="not a series export format"):
        export.series_rows("bibtex", pages)
    with pytest.raises(ValueError, match="not a publication export format"):
        export.publication_entries("csv", pages)
    assert pages.taken == 0


def test_format_tables_cover_every_format() -> None:
    assert set(export.FORMATS) == set(export.SERIES_FORMATS) | set(export.PUBLICATION_FORMATS)
    assert set(export.MEDIA_TYPES) == set(export.FILE_EXTENSIONS) == set(export.FORMATS)
