"""Golden tests of the series-matrix parser on GEO's GSE99709 matrix, plus broken variants."""

from __future__ import annotations

from pathlib import Path
from typing import TypeVar

import pytest

from omicsoracle import model
from omicsoracle.formats import series_matrix, soft
from omicsoracle.formats.source import FormatError, Source

DATA = Path(__file__).parents[1] / "data"
MATRIX = DATA / "series_matrix" / "GSE99709_series_matrix.txt.gz"
T = TypeVar("T")

SAMPLES = [f"GSM{n}" for n in range(2650749, 2650761)]
TITLES = ["EV2_6", "EV2_11", "EV2_12", "EC2_6", "EC2_11", "EC2_12"]
TITLES += ["CV2_6", "CV2_11", "CV2_12", "CC2_5", "CC2_11", "CC2_12"]


def parse(path: Path) -> list[model.Record]:
    return list(series_matrix.parse(Source(path)))


def of_type(records: list[model.Record], kind: type[T]) -> list[T]:
    return [r for r in records if isinstance(r, kind)]


def matrix_lines() -> list[str]:
    with Source(MATRIX).open_binary() as fh:
        return [raw.decode("utf-8") for raw in fh]


def write(tmp_path: Path, lines: list[str]) -> Path:
    path = tmp_path / "GSE99709_series_matrix.txt"
    path.write_text("".join(lines), encoding="utf-8")
    return path


def index_of(lines: list[str], prefix: str) -> int:
    return next(i for i, line in enumerate(lines) if line.startswith(prefix))


@pytest.fixture(scope="module")
def records() -> list[model.Record]:
    return parse(MATRIX)


def test_series(records: list[model.Record]) -> None:
    series = records[0]
    assert isinstance(series, model.Series)
    assert series.accession == "GSE99709"
    assert series.source == "geo_series_matrix"
    assert series.title == "RNA-Sequencing of Stat3 silenced oligodendrocyte progenitor cells."
    assert series.summary is not None
    assert series.summary.startswith("We examine the role of Stat3")
    assert series.types == ["Expression profiling by high throughput sequencing"]
    assert series.platforms == ["GPL17021"]
    assert series.samples == SAMPLES  # one space-separated cell in the file
    assert series.n_samples == 12
    assert series.organisms == ["Mus musculus"]  # from the sample columns
    assert series.release_date == "2017-06-07"
    assert series.last_update_date == "2018-10-31"
    assert series.contact == "John Mariani"
    assert series.sra == ["SRP108660"]
    assert series.supplementary_types == ["CSV", "XLSX"]
    assert series.extra["contributor"] == ["John,N,Mariani", "Gareth,R,John"]
    assert "SubSeries of: GSE99797" in series.extra["relation"]


def test_samples_one_per_column(records: list[model.Record]) -> None:
    samples = of_type(records, model.Sample)
    assert [s.accession for s in samples] == SAMPLES
    assert [s.title for s in samples] == TITLES
    assert records[1:] == samples  # no pubmed id, no table rows, nothing rejected
    first, fourth = samples[0], samples[3]
    assert first.source == "geo_series_matrix"
    assert first.series == ["GSE99709"]
    assert first.platform == "GPL17021"
    assert first.organisms == ["Mus musculus"]
    assert first.source_name == "OLP_Ad5CMV-eGFP_Vehicle"
    assert first.molecule == "polyA RNA"
    assert first.sample_type == "SRA"
    assert first.release_date == "2017-06-07"
    assert first.last_update_date == "2017-06-08"
    assert first.n_rows == 0
    assert first.characteristics == [
        ("strain background", "backcrossed onto C57BL/6"),
        ("genotype/variation", "Stat3 flox/flox"),
        ("cell type", "Primary Cortical Oligodendrocyte Progenitor (OLP) cells"),
        ("viral treatment", "Ad5CMV-eGFP"),
        ("treated with", "Vehicle"),
    ]
    assert fourth.characteristics[-1] == ("treated with", "100ng/ul CNTF")
    assert fourth.extra["relation"][-1] == "SRA: https://www.ncbi.nlm.nih.gov/sra?term=SRX2885387"
    assert first.extra["library_strategy"] == ["RNA-Seq"]


def test_empty_matrix_table_yields_no_chunks(records: list[model.Record]) -> None:
    assert not of_type(records, model.DataTable)
    assert not of_type(records, model.Rejected)


def test_matrix_rows_stream_in_chunks(tmp_path: Path) -> None:
    lines = matrix_lines()
    end = index_of(lines, "!series_matrix_table_end")
    rows = [
        "\t".join([f'"probe{i}"', *(f"{i % 97}.{j}" for j in range(12))]) + "\n"
        for i in range(12_000)
    ]
    lines[end:end] = rows
    records = parse(write(tmp_path, lines))
    chunks = of_type(records, model.DataTable)
    assert [(c.seq, len(c.rows)) for c in chunks] == [(0, 5000), (1, 5000), (2, 2000)]
    assert {c.owner for c in chunks} == {"GSE99709"}
    assert chunks[0].columns == ["ID_REF", *SAMPLES]  # quotes stripped
    assert chunks[0].rows[1][:3] == ["probe1", "1.0", "1.1"]
    assert records.index(chunks[0]) == 13  # after the series and its 12 samples
    assert not of_type(records, model.Rejected)


def test_pubmed_relationship(tmp_path: Path) -> None:
    lines = matrix_lines()
    lines.insert(index_of(lines, "!Series_summary"), '!Series_pubmed_id\t"28846083"\n')
    records = parse(write(tmp_path, lines))
    assert records[1] == model.Relationship(
        "GSE99709", "28846083", "primary", "geo_series_matrix", 1.0
    )
    series = records[0]
    assert isinstance(series, model.Series)
    assert series.pubmed_ids == ["28846083"]


def test_sample_line_with_missing_cell(tmp_path: Path) -> None:
    lines = matrix_lines()
    i = index_of(lines, "!Sample_source_name_ch1")
    lines[i] = lines[i].rstrip("\n").rsplit("\t", 1)[0] + "\n"
    records = parse(write(tmp_path, lines))
    (rejected,) = of_type(records, model.Rejected)
    assert rejected == model.Rejected(
        i + 1, None, "!Sample_source_name_ch1 has 11 values for 12 samples"
    )
    samples = of_type(records, model.Sample)
    assert len(samples) == 12
    assert samples[-1].source_name is None


def test_missing_series_accession(tmp_path: Path) -> None:
    lines = matrix_lines()
    i = index_of(lines, "!Series_geo_accession")
    lines[i] = '!Series_geo_accession\t""\n'
    records = parse(write(tmp_path, lines))
    assert records[0] == model.Rejected(
        i + 1, None, "record without accession (no valid !Series_geo_accession)"
    )
    # The samples carry their own accessions and survive.
    assert [s.accession for s in of_type(records, model.Sample)] == SAMPLES


def test_malformed_sample_accession(tmp_path: Path) -> None:
    lines = matrix_lines()
    i = index_of(lines, "!Sample_geo_accession")
    lines[i] = lines[i].replace('"GSM2650750"', '"GSM 2650750"')
    records = parse(write(tmp_path, lines))
    (rejected,) = of_type(records, model.Rejected)
    assert rejected == model.Rejected(
        i + 1, "GSM 2650750", "record without accession (sample column without a valid GSM)"
    )
    assert len(of_type(records, model.Sample)) == 11


def test_unterminated_matrix_table(tmp_path: Path) -> None:
    lines = matrix_lines()
    end = index_of(lines, "!series_matrix_table_end")
    lines[end:] = ['"probe1"\t' + "\t".join(["1"] * 12) + "\n"]
    records = parse(write(tmp_path, lines))
    (chunk,) = of_type(records, model.DataTable)
    assert chunk.rows == [["probe1", *["1"] * 12]]
    assert records[-1] == model.Rejected(
        len(lines),
        "GSE99709",
        "table not terminated: end of file before !series_matrix_table_end (1 rows read)",
    )


def test_sniff() -> None:
    head = Source(MATRIX).head()
    assert series_matrix.sniff(head, "renamed.bin")
    assert not soft.sniff(head, MATRIX.name)
    # A long header can push the samples out of the 64 KiB head: the tab form decides.
    assert series_matrix.sniff(b'!Series_title\t"x"\n!Series_summary\t"' + b"y" * 70_000, "")
    assert series_matrix.sniff(b'\xef\xbb\xbf!Series_title\t"x"\r\n', "")
    # SOFT spells the same key with " = ": not a matrix.
    assert not series_matrix.sniff(b"^SERIES = GSE1\n!Series_title = x\n", "")
    assert not series_matrix.sniff(b'!Sample_title\t"x"\n', "")


def test_format_and_empty_file(tmp_path: Path) -> None:
    assert series_matrix.FORMAT.name == "geo_series_matrix"
    empty = tmp_path / "GSE1_series_matrix.txt.gz"
    empty.write_bytes(b"")
    with pytest.raises(FormatError, match="empty file"):
        list(series_matrix.parse(Source(empty)))
