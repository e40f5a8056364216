"""Golden tests of the GEO browse-CSV parser on the real 2014 export."""

from __future__ import annotations

import gzip
import inspect
from pathlib import Path
from typing import TypeVar

import pytest

from omicsoracle import formats, model
from omicsoracle.formats import browse_csv
from omicsoracle.formats.source import FormatError, Source

DATA = Path(__file__).parents[1] / "data"
CORPUS = Path(__file__).parents[2] / "data" / "corpus"
CSV = CORPUS / "geo_browse_series_2014.csv.gz"
T = TypeVar("T")


def parse(path: Path) -> list[model.Record]:
    return list(browse_csv.parse(Source(path)))


def of_type(records: list[model.Record], kind: type[T]) -> list[T]:
    return [r for r in records if isinstance(r, kind)]


def real_lines(n: int) -> list[str]:
    """Header plus the first ``n - 1`` rows of the real export, newlines kept."""
    with gzip.open(CSV, "rt", encoding="utf-8", newline="") as fh:
        return [next(fh) for _ in range(n)]


def write(tmp_path: Path, lines: list[str], name: str = "browse.csv") -> Path:
    path = tmp_path / name
    path.write_text("".join(lines), encoding="utf-8", newline="")
    return path


@pytest.fixture(scope="module")
def export() -> list[model.Record]:
    return parse(CSV)


@pytest.fixture(scope="module")
def by_accession(export: list[model.Record]) -> dict[str, model.Series]:
    return {s.accession: s for s in of_type(export, model.Series)}


def test_whole_export(export: list[model.Record], by_accession: dict[str, model.Series]) -> None:
    assert len(of_type(export, model.Series)) == 36381
    assert len(by_accession) == 36381
    assert of_type(export, model.Rejected) == []
    links = of_type(export, model.Relationship)
    assert len(links) == sum(len(s.pubmed_ids) for s in by_accession.values()) == 29604
    assert all(s.release_date for s in by_accession.values())


def test_first_series(export: list[model.Record], by_accession: dict[str, model.Series]) -> None:
    gse1 = by_accession["GSE1"]
    assert gse1 == model.Series(
        accession="GSE1",
        source="geo_browse_csv",
        title="NHGRI_Melanoma_class",
        types=["Expression profiling by array"],
        organisms=["Homo sapiens"],
        n_samples=38,
        pubmed_ids=["10952317"],
        contact="Michael Bittner",
        release_date="2001-01-22",
    )
    # The series' primary publication link follows it.
    assert export[1] == model.Relationship("GSE1", "10952317", "primary", "geo_browse_csv", 1.0)


def test_multi_valued_cells(by_accession: dict[str, model.Series]) -> None:
    gse4 = by_accession["GSE4"]
    assert gse4.datasets == ["GDS5", "GDS135"]
    assert gse4.organisms == ["Arabidopsis thaliana"]
    assert gse4.contact == "Stanford Microarray Database (SMD)"
    assert gse4.release_date == "2001-07-20"
    assert by_accession["GSE13"].pubmed_ids == ["11779835", "17890238"]

    gse28148 = by_accession["GSE28148"]
    assert gse28148.types == [
        "Expression profiling by array",
        "Expression profiling by high throughput sequencing",
    ]
    assert gse28148.supplementary_types == ["TXT", "SRA Study"]
    assert gse28148.sra == ["DRP000372"]
    assert gse28148.extra["supplementary_links"] == [
        "ftp://ftp.ncbi.nlm.nih.gov/geo/series/GSE28nnn/GSE28148/suppl",
        "ftp://ftp-trace.ncbi.nlm.nih.gov/sra/sra-instant/reads/ByStudy/sra/DRP/DRP000/DRP000372",
    ]

    gse51996 = by_accession["GSE51996"]
    assert gse51996.sra == ["SRP032960", "SRP032961"]
    assert gse51996.organisms == ["Arabidopsis thaliana", "Boechera gunnisoniana"]
    assert gse51996.release_date == "2014-06-01"


def test_text_cells_are_cleaned(by_accession: dict[str, model.Series]) -> None:
    # Ligatures from PDF copy-paste and a double space / trailing space in the title.
    assert by_accession["GSE25328"].title == (
        "Anti-inflammatory effects of tetradecylthioacetic acid (TTA) in macrophage-like "
        "cells from Atlantic salmon (Salmo salar L.)"
    )
    assert by_accession["GSE22651"].title == (
        "Friedreich’s Ataxia Induced Pluripotent Stem Cells Recapitulate GAA•TTC "
        "Triplet-Repeat Instability"
    )
    # Titles keep their ";" (only list columns are split).
    assert by_accession["GSE1050"].title == (
        "Difference in skeletal muscle function in Males vs Females; Role of Estrogen Receptor Beta"
    )


def test_bad_rows_are_rejected_with_line_numbers(tmp_path: Path) -> None:
    header, gse1, gse2, gse3, gse4, gse5 = real_lines(6)
    lines = [
        header,  # 1
        gse1,  # 2
        gse2.replace(",Mus musculus,", ","),  # 3: one column short
        "," + gse3.split(",", 1)[1],  # 4: empty accession
        gse4.replace("GSE4,", "GPL4,", 1),  # 5: not a series
        "\n",  # 6: blank, skipped
        # 7-8: a quoted title spanning two lines is one record
        'GSE9,"Two-line\ntitle",Expression profiling by array,Homo sapiens,3,,,,,,A,"May 01, 2002"\n',
        'GSE10,"never closed,Expression profiling by array,Homo sapiens,3,,,,,,A,May 1 2002\n',
        gse5,  # 10
    ]
    records = parse(write(tmp_path, lines))
    rejected = of_type(records, model.Rejected)
    assert [(r.line, r.record) for r in rejected] == [
        (3, "GSE2"),
        (4, None),
        (5, "GPL4"),
        (9, "GSE10"),
    ]
    assert rejected[0].reason == "expected 12 columns, got 11"
    assert rejected[1].reason == "missing accession"
    assert "not a GEO series accession" in rejected[2].reason
    assert rejected[3].reason == "unterminated quoted field"
    series = of_type(records, model.Series)
    assert [s.accession for s in series] == ["GSE1", "GSE9", "GSE5"]
    assert series[1].title == "Two-line\ntitle"
    assert series[1].release_date == "2002-05-01"


def test_runaway_quote_costs_only_its_line(tmp_path: Path) -> None:
    rows = real_lines(200)
    broken = rows[:]
    broken[10] = broken[10].replace(",", ',"', 1)  # opens a quote that never closes
    records = parse(write(tmp_path, broken))
    rejected = of_type(records, model.Rejected)
    assert [(r.line, r.reason) for r in rejected] == [(11, "unterminated quoted field")]
    assert len(of_type(records, model.Series)) == 198


def test_oversized_cell_is_rejected(tmp_path: Path) -> None:
    header, gse1, gse2, gse3 = real_lines(4)
    huge = gse2.replace("Cerebellar development", "x" * 200_000)
    records = parse(write(tmp_path, [header, gse1, huge, gse3]))
    (rejected,) = of_type(records, model.Rejected)
    assert (rejected.line, rejected.record) == (3, "GSE2")
    assert rejected.reason.startswith("CSV error: field larger than field limit")
    assert [s.accession for s in of_type(records, model.Series)] == ["GSE1", "GSE3"]


def test_crlf_and_bare_cr_line_endings(tmp_path: Path) -> None:
    header, gse1, gse2 = real_lines(3)
    crlf = write(tmp_path, [line.replace("\n", "\r\n") for line in (header, gse1, gse2)])
    assert [s.accession for s in of_type(parse(crlf), model.Series)] == ["GSE1", "GSE2"]
    old_mac = write(
        tmp_path, [line.replace("\n", "\r") for line in (header, gse1, gse2)], "mac.csv"
    )
    assert [s.accession for s in of_type(parse(old_mac), model.Series)] == ["GSE1", "GSE2"]


def test_header_without_accession_is_a_format_error(tmp_path: Path) -> None:
    path = write(tmp_path, ["Title,Series Type\n", "x,y\n"])
    with pytest.raises(FormatError) as info:
        parse(path)
    assert info.value.line == 1


def test_truncated_gzip_raises_format_error(tmp_path: Path) -> None:
    path = tmp_path / "cut.csv.gz"
    path.write_bytes(CSV.read_bytes()[:100_000])
    records: list[model.Record] = []
    with pytest.raises(FormatError, match="truncated gzip"):
        records.extend(browse_csv.parse(Source(path)))
    assert len(of_type(records, model.Series)) > 100


def test_streams() -> None:
    records = browse_csv.parse(Source(CSV))
    assert inspect.isgenerator(records)
    first = next(records)
    assert isinstance(first, model.Series)
    assert first.accession == "GSE1"
    records.close()


def test_sniff() -> None:
    assert browse_csv.sniff(Source(CSV).head(), CSV.name)
    assert browse_csv.sniff(b"\xef\xbb\xbfAccession,Title,Series Type,Taxonomy\n", "x.csv")
    assert not browse_csv.sniff(b"ID,Title\n", "x.csv")
    jsonl = CORPUS / "geo_series.jsonl.gz"
    assert not browse_csv.sniff(Source(jsonl).head(), jsonl.name)


def test_detected_among_all_formats() -> None:
    assert formats.detect(Source(CSV)).name == "geo_browse_csv"
