"""Golden tests of the GEO DataSets "Summary (text)" export parser."""

from __future__ import annotations

import inspect
from pathlib import Path
from typing import TypeVar

import pytest

from omicsoracle import formats, model
from omicsoracle.formats import geo_text_export
from omicsoracle.formats.source import Source

DATA = Path(__file__).parents[1] / "data"
EXPORT = DATA / "geo_search_export_parkinson.txt"
T = TypeVar("T")


def parse(path: Path) -> list[model.Record]:
    return list(geo_text_export.parse(Source(path)))


def of_type(records: list[model.Record], kind: type[T]) -> list[T]:
    return [r for r in records if isinstance(r, kind)]


def entry_lines(accession: str) -> list[str]:
    """The real export's lines for one entry (title line to accession line), newlines kept."""
    lines = EXPORT.read_text(encoding="utf-8").splitlines(keepends=True)
    end = next(i for i, line in enumerate(lines) if f"Accession: {accession}\t" in line)
    start = max(i for i in range(end) if not lines[i].strip()) + 1
    return lines[start : end + 1]


def write(tmp_path: Path, lines: list[str]) -> Path:
    path = tmp_path / "export.txt"
    path.write_text("".join(lines), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def export() -> list[model.Record]:
    return parse(EXPORT)


@pytest.fixture(scope="module")
def by_accession(export: list[model.Record]) -> dict[str, model.Series]:
    return {s.accession: s for s in of_type(export, model.Series)}


def test_every_entry_is_a_series(
    export: list[model.Record], by_accession: dict[str, model.Series]
) -> None:
    # The export holds 281 numbered entries, all GEO series (GSE), all distinct.
    assert len(export) == 281
    assert len(by_accession) == 281
    assert of_type(export, model.Rejected) == []
    for acc, series in by_accession.items():
        assert series.source == "geo_text_export"
        assert series.title
        assert series.summary
        assert series.organisms
        assert series.types
        assert series.n_samples is not None
        assert series.geo_uid == f"2{int(acc[3:]):08d}"  # Entrez UID of a GSE


def test_first_entry(export: list[model.Record]) -> None:
    first = export[0]
    assert isinstance(first, model.Series)
    assert first.accession == "GSE264648"
    assert first.title == (
        "Characterization of premature cell senescence in Alzheimer’s disease "
        "using single nuclear transcriptomics"
    )
    assert first.summary is not None
    assert first.summary.startswith("Aging is associated with cell senescence")
    assert first.summary.endswith("with AD relative to NDC.")  # "more..." dropped
    assert first.extra["summary_truncated"] == ["true"]
    assert first.organisms == ["Homo sapiens"]
    assert first.types == ["Expression profiling by high throughput sequencing"]
    assert first.platforms == ["GPL20301"]
    assert first.n_samples == 49
    assert first.supplementary_types == ["RDS"]
    assert first.geo_uid == "200264648"
    assert first.extra["ftp"] == ["ftp://ftp.ncbi.nlm.nih.gov/geo/series/GSE264nnn/GSE264648/"]


def test_superseries_with_two_platforms(by_accession: dict[str, model.Series]) -> None:
    superseries = by_accession["GSE245524"]
    assert superseries.title == "Parkinson's Disease Risk Enhancers in Microglia"
    assert superseries.summary == "This SuperSeries is composed of the SubSeries listed below."
    assert "summary_truncated" not in superseries.extra
    assert superseries.types == [
        "Genome binding/occupancy profiling by high throughput sequencing",
        "Expression profiling by high throughput sequencing",
    ]
    assert superseries.platforms == ["GPL24676", "GPL18573"]
    assert superseries.n_samples == 28
    assert superseries.supplementary_types == ["BW", "NARROWPEAK"]


def test_counts_line_variants(by_accession: dict[str, model.Series]) -> None:
    census = by_accession["GSE178265"]  # "4 related Platforms 101 Samples"
    assert (
        census.title == "A molecular census of midbrain dopaminergic neurons in Parkinsons disease"
    )
    assert census.organisms == [
        "Macaca mulatta",
        "Homo sapiens",
        "Tupaia belangeri",
        "Rattus norvegicus",
    ]
    assert census.platforms == []
    assert census.n_samples == 101
    assert census.extra["n_related_platforms"] == ["4"]
    assert census.extra["bioproject"] == ["PRJNA738165"]

    brain = by_accession["GSE8397"]  # "Datasets: GDS3128 GDS3129 Platforms: GPL97 GPL96 94 Samples"
    assert brain.title == "Expression profiling of the Parkinsonian Brain"
    assert brain.datasets == ["GDS3128", "GDS3129"]
    assert brain.platforms == ["GPL97", "GPL96"]
    assert brain.n_samples == 94

    nigra = by_accession["GSE7621"]  # "Dataset: GDS2821 Platform: GPL570 25 Samples"
    assert nigra.datasets == ["GDS2821"]
    assert nigra.platforms == ["GPL570"]
    assert nigra.n_samples == 25
    assert nigra.supplementary_types == ["CEL", "EXP"]

    encode = by_accession["GSE15805"]
    assert encode.extra["project"] == ["ENCODE"]
    assert encode.platforms == ["GPL15997"]
    assert encode.n_samples == 155


def test_other_entry_types(tmp_path: Path) -> None:
    """DataSet, Platform and Sample entries, shaped as GEO writes them."""
    gds = [
        "1. Parkinson's disease: substantia nigra\n",
        "Analysis of substantia nigra from patients with Parkinson's disease. Results: "
        "provide insight into the molecular basis of PD.\n",
        "Organism:\tHomo sapiens\n",
        "Type:\t\tExpression profiling by array, count, disease state set\n",
        "Platform: GPL570 Series: GSE7621 25 Samples\n",
        "FTP download: GEO (SOFT) ftp://ftp.ncbi.nlm.nih.gov/geo/datasets/GDS2nnn/GDS2821/\n",
        "DataSet\t\tAccession: GDS2821\tID: 2821\n",
        "\n",
    ]
    gpl = [
        "2. [HG-U133_Plus_2] Affymetrix Human Genome U133 Plus 2.0 Array\n",
        "(Submitter supplied) Complete coverage of the Human Genome U133 Set more...\n",
        "Organism:\tHomo sapiens\n",
        "Platform\t\tAccession: GPL570\tID: 100000570\n",
        "\n",
    ]
    gsm = [
        "3. hesc_cyto_rep1\n",
        "Organism:\tHomo sapiens\n",
        "Source name:\tHuman embryonic stem cells (hESC)\n",
        "Platform: GPL20301 Series: GSE100005 GSE100007\n",
        "Sample\t\tAccession: GSM2667747\tID: 302667747\n",
    ]
    dataset, platform, sample = parse(write(tmp_path, gds + gpl + gsm))

    assert isinstance(dataset, model.Dataset)
    assert dataset.accession == "GDS2821"
    assert dataset.title == "Parkinson's disease: substantia nigra"
    assert dataset.description is not None
    assert dataset.description.startswith("Analysis of substantia nigra")
    assert dataset.reference_series == "GSE7621"
    assert dataset.platform == "GPL570"
    assert dataset.n_samples == 25
    assert dataset.dataset_type == "Expression profiling by array"
    assert dataset.value_type == "count"
    assert dataset.extra["geo_uid"] == ["2821"]

    assert isinstance(platform, model.Platform)
    assert platform.accession == "GPL570"
    assert platform.title == "[HG-U133_Plus_2] Affymetrix Human Genome U133 Plus 2.0 Array"
    assert platform.organisms == ["Homo sapiens"]
    assert platform.extra["description"] == ["Complete coverage of the Human Genome U133 Set"]

    assert isinstance(sample, model.Sample)
    assert sample.accession == "GSM2667747"
    assert sample.platform == "GPL20301"
    assert sample.series == ["GSE100005", "GSE100007"]
    assert sample.source_name == "Human embryonic stem cells (hESC)"


def test_broken_entries_are_rejected_with_start_line(tmp_path: Path) -> None:
    first = entry_lines("GSE264648")  # 7 lines
    second = entry_lines("GSE216364")
    third = entry_lines("GSE229460")
    lines = [
        *first,  # 1-7
        "\n",  # 8
        *second[:-1],  # 9-14: the accession line is missing
        "\n",  # 15
        "stray text without a number\n",  # 16
        "\n",  # 17
        *second[:-1],  # 18-23
        "DataSet\t\tAccession: GSE216364\tID: 200216364\n",  # 24: type does not fit
        # 25...: no blank line before the next entry; it still starts a new one
        *third,
    ]
    records = parse(write(tmp_path, lines))
    rejected = of_type(records, model.Rejected)
    assert [(r.line, r.record) for r in rejected] == [
        (9, "record 2"),
        (16, None),
        (18, "GSE216364"),
    ]
    assert rejected[0].reason == "record without an accession line"
    assert rejected[1].reason == "text without a numbered title line"
    assert "DataSet entry" in rejected[2].reason
    assert [s.accession for s in of_type(records, model.Series)] == ["GSE264648", "GSE229460"]


def test_overlong_entry_is_rejected_without_buffering(tmp_path: Path) -> None:
    lines = [
        "1. Not an export\n",
        *(f"line {i}\n" for i in range(5000)),
        "\n",
        *entry_lines("GSE264648"),
    ]
    records = parse(write(tmp_path, lines))
    assert [(r.line, r.record) for r in of_type(records, model.Rejected)] == [(1, "record 1")]
    assert [s.accession for s in of_type(records, model.Series)] == ["GSE264648"]


def test_streams() -> None:
    records = geo_text_export.parse(Source(EXPORT))
    assert inspect.isgenerator(records)
    first = next(records)
    assert isinstance(first, model.Series)
    assert first.accession == "GSE264648"
    records.close()


def test_sniff() -> None:
    assert geo_text_export.sniff(Source(EXPORT).head(), EXPORT.name)
    soft = DATA / "soft" / "biopython_GSE16.txt"
    assert not geo_text_export.sniff(Source(soft).head(), soft.name)
    medline = DATA / "pubmed" / "medline_pubmed_result1.txt"
    assert not geo_text_export.sniff(Source(medline).head(), medline.name)


def test_detected_among_all_formats() -> None:
    assert formats.detect(Source(EXPORT)).name == "geo_text_export"
