"""Golden tests of the SOFT parser on real GEO files, plus broken variants of them."""

from __future__ import annotations

import gzip
from collections.abc import Iterator
from pathlib import Path
from typing import TypeVar

import pytest

from omicsoracle import formats, model
from omicsoracle.formats import series_matrix, soft
from omicsoracle.formats import soft_records as rec
from omicsoracle.formats.source import FormatError, Source

DATA = Path(__file__).parents[1] / "data"
SOFT = DATA / "soft"
T = TypeVar("T")


def parse(path: Path) -> list[model.Record]:
    return list(soft.parse(Source(path)))


def of_type(records: list[model.Record], kind: type[T]) -> list[T]:
    return [r for r in records if isinstance(r, kind)]


def text_lines(path: Path) -> list[str]:
    """The fixture's decompressed lines (bytes kept, so odd encodings survive)."""
    with Source(path).open_binary() as fh:
        return [raw.decode("latin-1") for raw in fh]


def write(tmp_path: Path, name: str, lines: list[str]) -> Path:
    path = tmp_path / name
    path.write_bytes("".join(lines).encode("latin-1"))
    return path


def line_no(lines: list[str], prefix: str) -> int:
    """1-based number of the first line starting with ``prefix``."""
    return next(i for i, line in enumerate(lines, start=1) if line.startswith(prefix))


# --- GDS -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def gds507() -> list[model.Record]:
    return parse(SOFT / "GDS507.soft.gz")


def test_gds507_dataset_fields(gds507: list[model.Record]) -> None:
    (dataset,) = of_type(gds507, model.Dataset)
    assert dataset.accession == "GDS507"
    assert dataset.source == "geo_soft"
    assert dataset.title == "Renal clear cell carcinoma (HG-U133B)"
    assert dataset.description is not None
    assert dataset.description.startswith("Investigation into mechanisms of renal clear cell")
    assert dataset.dataset_type == "gene expression array-based"
    assert dataset.platform == "GPL97"
    assert dataset.organisms == ["Homo sapiens"]
    assert dataset.reference_series == "GSE781"
    assert dataset.pubmed_ids == ["14641932"]
    assert dataset.value_type == "count"
    assert dataset.n_samples == 17
    assert dataset.n_features == 22645  # declared count: known before the table streams
    assert dataset.update_date == "2004-03-04"
    assert dataset.extra["platform_technology_type"] == ["in situ oligonucleotide"]
    assert dataset.extra["columns"][0] == "ID_REF = Platform reference identifier"


def test_gds507_subsets(gds507: list[model.Record]) -> None:
    (dataset,) = of_type(gds507, model.Dataset)
    assert [s.id for s in dataset.subsets] == [f"GDS507_{i}" for i in range(1, 13)]
    disease = {s.description: s for s in dataset.subsets if s.type == "disease state"}
    assert set(disease) == {"RCC", "normal"}
    assert len(disease["RCC"].samples) == 9
    assert len(disease["normal"].samples) == 8
    assert disease["RCC"].samples[0] == "GSM11815"
    assert disease["normal"].samples[-1] == "GSM12448"
    assert not set(disease["RCC"].samples) & set(disease["normal"].samples)
    individuals = [s for s in dataset.subsets if s.type == "individual"]
    assert len(individuals) == 10
    assert individuals[0].description == "035"
    assert individuals[0].samples == ["GSM11810", "GSM11815"]
    assert {g for s in individuals for g in s.samples} == set(
        disease["RCC"].samples + disease["normal"].samples
    )


def test_gds507_table_streams_in_chunks_after_the_record(gds507: list[model.Record]) -> None:
    assert isinstance(gds507[0], model.Dataset)
    assert gds507[1] == model.Relationship("GSE781", "14641932", "primary", "geo_gds", 1.0)
    chunks = of_type(gds507, model.DataTable)
    assert gds507[2:] == chunks  # record, relationship, then only table chunks
    assert [c.seq for c in chunks] == [0, 1, 2, 3, 4]
    assert [len(c.rows) for c in chunks] == [5000, 5000, 5000, 5000, 2645]
    assert sum(len(c.rows) for c in chunks) == 22645
    assert {c.owner for c in chunks} == {"GDS507"}
    columns = chunks[0].columns
    assert columns[:3] == ["ID_REF", "IDENTIFIER", "GSM11815"]
    assert len(columns) == 19
    assert chunks[0].rows[0][:4] == ["200000_s_at", "PRPF8", "4254.000", "5298.200"]
    assert chunks[-1].rows[-1][:3] == ["AFFX-TrpnX-M_at", "--Control", "25.600"]
    assert not of_type(gds507, model.Rejected)


# --- GPL annotation ----------------------------------------------------------------------


def test_gpl97_annotation_file() -> None:
    records = parse(SOFT / "GPL97.annot.gz")
    (platform,) = of_type(records, model.Platform)
    assert platform.accession == "GPL97"
    assert platform.title == "Affymetrix GeneChip Human Genome U133 Array Set HG-U133B"
    assert platform.organisms == ["Homo sapiens"]
    assert len(platform.columns) == 21
    assert platform.columns[0] == ("ID", "ID from Platform data table")
    assert platform.columns[2] == ("Gene symbol", "Entrez Gene symbol")
    assert platform.extra["date"] == ["06/20/2008 15:39:40"]
    chunks = of_type(records, model.DataTable)
    assert records[0] is platform
    assert records[1:] == chunks
    assert sum(len(c.rows) for c in chunks) == 22645
    assert chunks[0].columns[:3] == ["ID", "Gene title", "Gene symbol"]
    first = chunks[0].rows[0]
    assert (first[0], first[2], first[3]) == ("200000_s_at", "PRPF8", "10594")
    assert not of_type(records, model.Rejected)


# --- single records -----------------------------------------------------------------------


def test_gsm11805_sample_with_its_table() -> None:
    records = parse(SOFT / "GSM11805.txt.gz")
    sample = records[0]
    assert isinstance(sample, model.Sample)
    assert sample.accession == "GSM11805"
    assert sample.title == "N035 Normal Human Kidney U133A"
    assert sample.series == ["GSE781"]
    assert sample.platform == "GPL96"
    assert sample.organisms == ["Homo sapiens"]
    assert sample.source_name == (
        "Trizol isolation of total RNA from normal tissue adjacent to Renal Cell Carcinoma"
    )
    assert sample.molecule == "total RNA"
    assert sample.sample_type == "RNA"
    assert sample.release_date == "2003-11-25"
    assert sample.last_update_date == "2005-05-28"
    assert sample.n_rows == 22283
    assert sample.description is not None
    assert sample.description.split("\n")[1] == "Keywords = kidney"
    assert (
        sample.extra["columns"][1] == "VALUE = MAS 5.0 Statistical Algorithm (mean scaled to 500)"
    )
    assert sample.extra["submission_date"] == ["Oct 20 2003"]
    chunks = of_type(records, model.DataTable)
    assert records[1:] == chunks
    assert [len(c.rows) for c in chunks] == [5000, 5000, 5000, 5000, 2283]
    assert chunks[0].columns == ["ID_REF", "VALUE", "ABS_CALL"]
    assert chunks[0].rows[0] == ["AFFX-BioB-5_at", "953.9", "P"]
    assert chunks[-1].rows[-1] == ["222384_at", "26.4", "A"]


def test_gsm2198225_two_series_and_characteristics() -> None:
    (sample,) = parse(SOFT / "GSM2198225.txt")
    assert isinstance(sample, model.Sample)
    assert sample.accession == "GSM2198225"
    assert sample.series == ["GSE83290", "GSE83293"]
    assert sample.platform == "GPL19057"
    assert sample.characteristics[:2] == [("cell line", "G1E ER4"), ("treatment", "no estradiol")]
    assert len(sample.characteristics) == 6
    assert sample.description == "Kit promoter anchor\n827_982_976_Kit"
    assert sample.release_date == "2016-06-15"
    assert sample.n_rows == 0
    assert sample.extra["relation"][-1] == "SRA: https://www.ncbi.nlm.nih.gov/sra?term=SRX1839065"


def test_gsm2254215_two_organisms() -> None:
    (sample,) = parse(SOFT / "GSM2254215.txt")
    assert isinstance(sample, model.Sample)
    assert sample.organisms == ["Homo sapiens", "Mus musculus"]
    assert sample.series == ["GSE84920"]
    assert sample.release_date == "2017-01-28"
    assert sample.last_update_date == "2017-01-29"
    assert len([k for k in sample.extra if k.startswith("supplementary_file_")]) == 5


def test_gsm2586973_crlf_file() -> None:
    (sample,) = parse(SOFT / "GSM2586973.txt")
    assert isinstance(sample, model.Sample)
    assert sample.title == "Dam ESC 1M 1"
    assert ("cell number", "1,000,000") in sample.characteristics
    assert sample.series == ["GSE98092"]
    assert sample.release_date == "2018-03-13"


def test_gse99709_brief_series() -> None:
    (series,) = parse(SOFT / "GSE99709_brief.soft")
    assert isinstance(series, model.Series)
    assert series.accession == "GSE99709"
    assert series.source == "geo_soft"
    assert series.title == "RNA-Sequencing of Stat3 silenced oligodendrocyte progenitor cells."
    assert series.overall_design == (
        "Examination of gene expression in Stat3 silenced OLP in the presence or absence of CNTF"
    )
    assert series.types == ["Expression profiling by high throughput sequencing"]
    assert series.organisms == ["Mus musculus"]
    assert series.platforms == ["GPL17021"]
    assert series.samples[0] == "GSM2650749"
    assert series.samples[-1] == "GSM2650760"
    assert series.n_samples == 12
    assert series.release_date == "2017-06-07"
    assert series.last_update_date == "2019-05-15"
    assert series.contact == "John Mariani"
    assert series.sra == ["SRP108660"]
    assert series.supplementary_types == ["CSV", "XLSX"]
    assert series.pubmed_ids == []
    assert "SubSeries of: GSE99797" in series.extra["relation"]
    assert series.extra["contributor"] == ["John,N,Mariani", "Gareth,R,John"]
    assert "title" not in series.extra
    assert "sample_id" not in series.extra


# --- family files ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "gse", "n_samples", "platforms", "pmid"),
    [
        ("GSE87585_family.soft.gz", "GSE87585", 12, ["GPL16791"], "29203764"),
        ("GSE93431_family.soft.gz", "GSE93431", 32, ["GPL13112", "GPL19057"], "29094699"),
        (
            "GSE94489_family.soft.gz",
            "GSE94489",
            49,
            ["GPL15103", "GPL16417", "GPL17021", "GPL19057"],
            "28682332",
        ),
    ],
)
def test_family_files(name: str, gse: str, n_samples: int, platforms: list[str], pmid: str) -> None:
    records = parse(SOFT / name)
    (series,) = of_type(records, model.Series)
    samples = of_type(records, model.Sample)
    assert series.accession == gse
    assert series.n_samples == n_samples
    assert len(samples) == n_samples
    assert series.samples == [s.accession for s in samples]
    assert all(gse in s.series for s in samples)
    assert [p.accession for p in of_type(records, model.Platform)] == platforms
    assert series.platforms == platforms
    assert of_type(records, model.Relationship) == [
        model.Relationship(gse, pmid, "primary", "geo_soft", 1.0)
    ]
    # Record order follows the file: series, its relationship, platforms, samples.
    assert records[0] is series
    assert isinstance(records[1], model.Relationship)
    assert not of_type(records, model.Rejected)
    assert not of_type(records, model.DataTable)


def test_family_gse87585_fields() -> None:
    records = parse(SOFT / "GSE87585_family.soft.gz")
    series = records[0]
    assert isinstance(series, model.Series)
    assert series.title == (
        "3D genome of multiple myeloma reveals spatial genome disorganization associated with "
        "copy number variations"
    )
    assert len(series.types) == 3
    assert series.release_date == "2017-11-17"
    assert series.last_update_date == "2018-10-08"
    assert series.contact == "Cheng Li"
    assert series.sra == ["SRP090786"]
    assert series.supplementary_types == ["TAR"]
    (platform,) = of_type(records, model.Platform)
    assert platform.title == "Illumina HiSeq 2500 (Homo sapiens)"
    assert platform.technology == "high-throughput sequencing"
    assert platform.distribution == "virtual"
    assert platform.organisms == ["Homo sapiens"]
    assert platform.release_date == "2013-03-14"
    assert platform.n_rows == 0
    first = of_type(records, model.Sample)[0]
    assert first.accession == "GSM2334824"
    assert first.title == "WGS RPMI-8226"
    assert first.characteristics[0] == ("cell line", "RPMI-8226")
    assert first.platform == "GPL16791"


def test_family_multiline_fields() -> None:
    series = parse(SOFT / "GSE94489_family.soft.gz")[0]
    assert isinstance(series, model.Series)
    assert series.overall_design == (
        "Hi-C: 45 samples analysed\nStrand-specific nuclear RNA-seq: 4 samples analysed"
    )
    assert series.contact == "Steven William Wingett"
    series = parse(SOFT / "GSE93431_family.soft.gz")[0]
    assert isinstance(series, model.Series)
    assert series.supplementary_types == ["HDF5", "BW", "TAR", "CSV", "TSV", "TXT"]


# --- 2001-era syntax ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "gsm", "title", "organism", "source_name", "released", "columns"),
    [
        (
            "biopython_GSM645.txt",
            "GSM645",
            "Large Pre-BII cells 8b",
            "Mus musculus",
            "Large Pre-BII cells",
            "2001-12-17",
            14,
        ),
        (
            "biopython_GSM691.txt",
            "GSM691",
            "SAGE_Duke_40N",
            "Homo sapiens",
            "Breast, isolated normal epithelial organoids",
            "2001-11-28",
            3,
        ),
        (
            "biopython_GSE16.txt",
            "GSM804",
            "CGH_Albertson_GM05296-001218",
            "Homo sapiens",
            "Cell line GM05296",
            "2002-02-12",
            5,
        ),
    ],
)
def test_old_syntax_samples(
    name: str,
    gsm: str,
    title: str,
    organism: str,
    source_name: str,
    released: str,
    columns: int,
) -> None:
    records = parse(SOFT / name)
    sample, table = records  # "^SAMPLE=GSMn", then a table with no begin/end markers
    assert isinstance(sample, model.Sample)
    assert isinstance(table, model.DataTable)
    assert sample.accession == gsm
    assert sample.title == title
    assert sample.organisms == [organism]
    assert sample.source_name == source_name
    assert sample.release_date == released
    assert table.owner == gsm
    assert table.seq == 0
    assert len(table.columns) == columns
    assert len(table.rows) == 20


def test_old_syntax_details() -> None:
    sample, table = parse(SOFT / "biopython_GSE16.txt")
    assert isinstance(sample, model.Sample)
    assert isinstance(table, model.DataTable)
    assert sample.series == ["GSE16"]
    assert sample.platform == "GPL28"
    assert sample.sample_type == "dual channel genomic"
    assert sample.extra["target_source2"] == ["normal male reference genomic DNA"]
    assert sample.extra["pubmed_id"] == ["11687795"]
    assert table.columns == ["ID_REF", "VALUE", "LINEAR_RATIO", "LOG2STDDEV", "NO_REPLICATES"]
    assert table.rows[1] == ["2", "", "", "", "0"]  # empty cells survive
    sample, table = parse(SOFT / "biopython_GSM691.txt")
    assert isinstance(table, model.DataTable)
    assert table.rows[0] == ["TTGGGGTTTC", "202", "28192.6"]


def test_ncbi_example_family_file_has_no_geo_accessions() -> None:
    """NCBI's submission example names records by free text: each block is rejected."""
    records = parse(SOFT / "biopython_soft_ex_family.txt")
    rejected = of_type(records, model.Rejected)
    assert records == rejected
    assert [(r.line, r.record) for r in rejected] == [
        (1, "Murine 15K long oligo array version 2.0"),
        (56, "Control Embyronic Stem Cell Replicate 1"),
        (114, "Control Embyronic Stem Cell Replicate 2"),
        (172, "Triple-Fusion Transfected Embryonic Stem Cells Replicate 1"),
        (231, "Murine ES Cells"),
    ]
    assert all(r.reason.startswith("record without accession") for r in rejected)


# --- detection --------------------------------------------------------------------------

SOFT_FILES = sorted(p for p in SOFT.iterdir() if p.stat().st_size > 0)


@pytest.mark.parametrize("path", SOFT_FILES, ids=lambda p: p.name)
def test_sniff_claims_every_soft_fixture(path: Path) -> None:
    head = Source(path).head()
    assert soft.sniff(head, "renamed.bin")
    assert not series_matrix.sniff(head, path.name)


@pytest.mark.parametrize(
    ("head", "expected"),
    [
        (b"\xef\xbb\xbf\n\n^SAMPLE = GSM1\n", True),
        (b"^SAMPLE=GSM645\r\n!Sample_title = x\r\n", True),
        (b"^Annotation\n!Annotation_platform = GPL97\n", True),
        (b"!Sample_title = a title\n", True),
        (b'!Series_title\t"a title"\n!Series_geo_accession\t"GSE1"\n', False),
        (b"^FOO = bar\n", False),
        (b"<?xml version='1.0'?>\n<MINiML>\n", False),
        (b"Accession,Title\n", False),
        (b"\n\n", False),
    ],
)
def test_sniff_content(head: bytes, expected: bool) -> None:
    assert soft.sniff(head, "x.txt") is expected


def test_format_registration() -> None:
    assert soft.FORMAT.name == "geo_soft"
    assert soft.FORMAT.parse is soft.parse
    order = formats.FORMAT_MODULES
    assert order.index("omicsoracle.formats.series_matrix") < order.index(
        "omicsoracle.formats.soft"
    )


def test_empty_file_raises_format_error() -> None:
    broken = Source(SOFT / "GPLbroken.soft.gz")
    with pytest.raises(FormatError, match="empty file"):
        formats.detect(broken)
    with pytest.raises(FormatError, match="empty file"):
        list(soft.parse(broken))


# --- streaming --------------------------------------------------------------------------


def test_record_is_yielded_before_the_table_is_read() -> None:
    consumed = 0

    def counting() -> Iterator[tuple[int, str]]:
        nonlocal consumed
        for item in Source(SOFT / "GSM11805.txt.gz").lines():
            consumed += 1
            yield item

    stream = soft.parse_lines(counting())
    first = next(stream)
    assert isinstance(first, model.Sample)
    assert consumed <= 40  # the header plus "!sample_table_begin", not 22k rows
    chunk = next(stream)
    assert isinstance(chunk, model.DataTable)
    assert consumed <= 40 + 1 + soft.CHUNK_ROWS + 1


# --- errors built from the real fixtures -----------------------------------------------


def test_short_table_is_rejected(tmp_path: Path) -> None:
    lines = text_lines(SOFT / "GSM11805.txt.gz")
    begin = line_no(lines, "!sample_table_begin")
    del lines[begin + 1 : begin + 11]  # ten data rows gone; header count still 22283
    path = write(tmp_path, "GSM11805_short.txt", lines)
    records = parse(path)
    assert isinstance(records[0], model.Sample)
    assert records[0].n_rows == 22283
    assert sum(len(c.rows) for c in of_type(records, model.DataTable)) == 22273
    assert records[-1] == model.Rejected(
        line_no(lines, "!sample_table_end"),
        "GSM11805",
        "table has 22273 rows, header declares 22283",
    )


def test_long_table_is_rejected(tmp_path: Path) -> None:
    lines = text_lines(SOFT / "GSM11805.txt.gz")
    end = line_no(lines, "!sample_table_end")
    lines.insert(end - 1, lines[end - 2])  # a duplicated last row
    records = parse(write(tmp_path, "GSM11805_long.txt", lines))
    (rejected,) = of_type(records, model.Rejected)
    assert rejected.line == end + 1
    assert rejected.record == "GSM11805"
    assert rejected.reason == "table has 22284 rows, header declares 22283"


def test_gds_table_shorter_than_feature_count(tmp_path: Path) -> None:
    lines = text_lines(SOFT / "GDS507.soft.gz")
    end = line_no(lines, "!dataset_table_end")
    del lines[end - 2]
    records = parse(write(tmp_path, "GDS507_short.soft", lines))
    assert records[-1] == model.Rejected(
        end - 1, "GDS507", "table has 22644 rows, header declares 22645"
    )


def test_block_without_accession_is_skipped(tmp_path: Path) -> None:
    lines = text_lines(SOFT / "GSE87585_family.soft.gz")
    blank = line_no(lines, "^SAMPLE = GSM2334825")
    lines[blank - 1] = "^SAMPLE = \n"
    bad = line_no(lines, "^SAMPLE = GSM2334830")
    lines[bad - 1] = "^SAMPLE = GSM-2334830\n"
    records = parse(write(tmp_path, "GSE87585_broken.soft", lines))
    rejected = of_type(records, model.Rejected)
    assert rejected == [
        model.Rejected(blank, None, "record without accession (^SAMPLE)"),
        model.Rejected(
            bad,
            "GSM-2334830",
            "record without accession: ^SAMPLE = 'GSM-2334830' is not a GSM",
        ),
    ]
    samples = {s.accession: s for s in of_type(records, model.Sample)}
    assert len(samples) == 10
    assert "GSM2334825" not in samples
    # The skipped blocks' lines leak into neither neighbour.
    assert samples["GSM2334824"].title == "WGS RPMI-8226"
    assert len(samples["GSM2334824"].characteristics) == 6
    assert samples["GSM2334826"].title == "RNA-seq RPMI-8226 Rep1"
    (series,) = of_type(records, model.Series)
    assert series.n_samples == 12  # the series still lists all its samples


def test_unterminated_table_at_eof(tmp_path: Path) -> None:
    lines = text_lines(SOFT / "GSM11805.txt.gz")
    assert lines[-1].startswith("!sample_table_end")
    del lines[-1]
    records = parse(write(tmp_path, "GSM11805_cut.txt", lines))
    assert sum(len(c.rows) for c in of_type(records, model.DataTable)) == 22283
    rejected = records[-1]
    assert isinstance(rejected, model.Rejected)
    assert rejected.line == len(lines)
    assert rejected.record == "GSM11805"
    assert rejected.reason == (
        "table not terminated: end of file before !sample_table_end (22283 rows read)"
    )


def test_unterminated_table_before_next_record(tmp_path: Path) -> None:
    first = text_lines(SOFT / "GSM11805.txt.gz")[:-1]
    second = text_lines(SOFT / "GSM2586973.txt")
    records = parse(write(tmp_path, "two.txt", first + second))
    rejected = of_type(records, model.Rejected)
    assert len(rejected) == 1
    assert rejected[0].line == len(first) + 1  # where "^SAMPLE = GSM2586973" cut the table
    assert rejected[0].record == "GSM11805"
    assert rejected[0].reason.startswith("table not terminated: '^SAMPLE = GSM2586973'")
    samples = of_type(records, model.Sample)
    assert [s.accession for s in samples] == ["GSM11805", "GSM2586973"]
    assert samples[1].title == "Dam ESC 1M 1"


def test_annotation_without_platform_is_rejected(tmp_path: Path) -> None:
    lines = text_lines(SOFT / "GPL97.annot.gz")[:40]
    lines = [line for line in lines if not line.startswith("!Annotation_platform =")]
    lines.append("!platform_table_end\n")
    records = parse(write(tmp_path, "GPLx.annot", lines))
    assert records == [
        model.Rejected(1, None, "record without accession (^Annotation, no !Annotation_platform)")
    ]


def test_stray_lines_outside_records_are_reported(tmp_path: Path) -> None:
    lines = ["!Sample_title = orphan\n", "!Sample_type = RNA\n"]
    lines += text_lines(SOFT / "GSM2254215.txt")
    records = parse(write(tmp_path, "stray.txt", lines))
    assert isinstance(records[0], model.Rejected)
    assert records[0].line == 1
    assert records[0].reason.startswith("line outside any record")
    assert [type(r) for r in records] == [model.Rejected, model.Sample]


def test_cp1252_title(tmp_path: Path) -> None:
    path = tmp_path / "GSM1.soft"
    path.write_bytes(
        b"^SAMPLE = GSM1\n!Sample_title = Caf\xe9 \x96 50 \xb5g dose\n!Sample_type = RNA\n"
    )
    (sample,) = parse(path)
    assert isinstance(sample, model.Sample)
    assert sample.title == "Café – 50 µg dose"


def test_gzip_and_plain_give_the_same_records(tmp_path: Path) -> None:
    plain = SOFT / "GSE99709_brief.soft"
    zipped = tmp_path / "brief.soft.gz"
    zipped.write_bytes(gzip.compress(plain.read_bytes()))
    assert parse(zipped) == parse(plain)


# --- field helpers ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "iso"),
    [
        ("Public on Jan 15 2017", "2017-01-15"),
        ("Jan 15 2017", "2017-01-15"),
        ("Mar 04 2004", "2004-03-04"),
        ("Jan 22, 2001", "2001-01-22"),
        ("15 Jan 2017", "2017-01-15"),
        ("06/20/2008 15:39:40", "2008-06-20"),
        ("2017-01-15", "2017-01-15"),
        ("Feb 30 2017", None),
        ("Private", None),
        ("", None),
        (None, None),
    ],
)
def test_iso_date(text: str | None, iso: str | None) -> None:
    assert rec.iso_date(text) == iso


@pytest.mark.parametrize(
    ("url", "kind"),
    [
        ("ftp://x/GSE1_RAW.tar", "TAR"),
        ("ftp://x/GSE1_counts.csv.gz", "CSV"),
        ("ftp://x/GSM1.CEL.gz", "CEL"),
        ("ftp://x/a.cool.HDF5.gz", "HDF5"),
        ("ftp://x/peaks.bed", "BED"),
        ("ftp://x/all.tgz", "TAR"),
        ("NONE", None),
        ("ftp://x/README", None),
    ],
)
def test_supplementary_type(url: str, kind: str | None) -> None:
    assert rec.supplementary_type(url) == kind


def test_small_field_helpers() -> None:
    assert rec.sra_accession("SRA: https://www.ncbi.nlm.nih.gov/sra?term=SRP108660") == "SRP108660"
    assert rec.sra_accession("SRA: https://trace.ncbi.nlm.nih.gov/?acc=SRP1&x=1") == "SRP1"
    assert rec.sra_accession("BioProject: https://x/PRJNA1") is None
    assert rec.person_name("Marc,E.,Lenburg") == "Marc E. Lenburg"
    assert rec.person_name(",,GEO") == "GEO"
    assert rec.characteristic("tissue: liver: left lobe") == ("tissue", "liver: left lobe")
    assert rec.characteristic("ES-D3 cell line") == ("", "ES-D3 cell line")
    assert rec.normalize_key("Series_sample_id") == "sample_id"
    assert rec.normalize_key("dataset_title") == "title"
    assert rec.normalize_key("geo_accession") == "geo_accession"
    assert rec.accession_tokens(["GSM1,GSM2", "GSM2 junk"], "GSM") == (
        ["GSM1", "GSM2"],
        ["GSM2 junk"],
    )
