"""Golden tests of the MINiML parser on real GEO XML, plus broken and hostile variants."""

from __future__ import annotations

import gzip
import inspect
import subprocess
import sys
from pathlib import Path
from typing import TypeVar

import pytest

from omicsoracle import formats, model
from omicsoracle.formats import miniml
from omicsoracle.formats.source import FormatError, Source

DATA = Path(__file__).parents[1] / "data"
MINIML = DATA / "miniml"
FAMILY = MINIML / "GSE100007_family.xml"
SINGLE = MINIML / "GSM69846.xml"
T = TypeVar("T")


def parse(path: Path) -> list[model.Record]:
    return list(miniml.parse(Source(path)))


def of_type(records: list[model.Record], kind: type[T]) -> list[T]:
    return [r for r in records if isinstance(r, kind)]


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def parse_until_error(path: Path) -> tuple[list[model.Record], FormatError]:
    """Records yielded before the FormatError, and the error."""
    records: list[model.Record] = []
    with pytest.raises(FormatError) as info:
        records.extend(miniml.parse(Source(path)))
    return records, info.value


# --- GSE100007 family file --------------------------------------------------------------


@pytest.fixture(scope="module")
def family() -> list[model.Record]:
    return parse(FAMILY)


def test_family_counts(family: list[model.Record]) -> None:
    assert len(of_type(family, model.Sample)) == 52
    assert len(of_type(family, model.Platform)) == 1
    assert len(of_type(family, model.Series)) == 1
    assert of_type(family, model.Rejected) == []
    assert of_type(family, model.DataTable) == []  # family files ship tables separately


def test_family_series(family: list[model.Record]) -> None:
    (series,) = of_type(family, model.Series)
    assert series.accession == "GSE100007"
    assert series.source == "geo_miniml"
    assert (
        series.title == "Widespread translational remodeling during human neuronal differentiation"
    )
    assert series.summary is not None
    assert series.summary.startswith("Faithful cellular differentiation requires precise")
    assert "transcript 3′ UTRs" in series.summary
    assert series.overall_design is not None
    assert series.overall_design.startswith("Forebrain neural cultures differentiated")
    assert series.types == ["Expression profiling by high throughput sequencing", "Other"]
    assert series.pubmed_ids == ["29141229"]
    assert series.release_date == "2017-06-26"
    assert series.last_update_date == "2019-05-15"
    assert series.extra["submission_date"] == ["2017-06-13"]
    assert len(series.samples) == 52
    assert series.samples[0] == "GSM2667747"
    assert series.samples[-1] == "GSM2667798"
    assert series.n_samples == 52
    assert series.platforms == ["GPL20301"]
    assert series.organisms == ["Homo sapiens"]
    assert series.contact == "Stephen N. Floor"
    assert series.extra["contributor"] == [
        "John D Blair",
        "Dirk Hockemeyer",
        "Jennifer A Doudna",
        "Helen S Bateup",
        "Stephen N Floor",
    ]
    assert series.supplementary_types == ["TSV"]
    assert len(series.extra["supplementary_file"]) == 4
    assert series.sra == ["SRP109126"]
    bioproject = "BioProject: https://www.ncbi.nlm.nih.gov/bioproject/PRJNA390315"
    assert bioproject in series.extra["relation"]


def test_family_pubmed_relationship(family: list[model.Record]) -> None:
    assert of_type(family, model.Relationship) == [
        model.Relationship("GSE100007", "29141229", "primary", "geo_miniml", 1.0)
    ]
    # The link comes right after its series.
    assert isinstance(family[-2], model.Series)


def test_family_platform(family: list[model.Record]) -> None:
    (platform,) = of_type(family, model.Platform)
    assert platform.accession == "GPL20301"
    assert platform.title == "Illumina HiSeq 4000 (Homo sapiens)"
    assert platform.technology == "high-throughput sequencing"
    assert platform.distribution == "virtual"
    assert platform.organisms == ["Homo sapiens"]
    assert platform.manufacturer is None  # <Manufacturer></Manufacturer>
    assert platform.release_date == "2015-06-09"
    assert platform.last_update_date == "2019-03-21"
    assert platform.extra["contact_name"] == ["GEO"]


def test_family_sample(family: list[model.Record]) -> None:
    samples = {s.accession: s for s in of_type(family, model.Sample)}
    sample = samples["GSM2667747"]
    assert sample.title == "hesc_cyto_rep1"
    assert sample.sample_type == "SRA"
    assert sample.platform == "GPL20301"
    assert sample.organisms == ["Homo sapiens"]
    assert sample.source_name == "Human embryonic stem cells (hESC)"
    assert sample.molecule == "total RNA"
    assert sample.characteristics == [
        ("cell type", "Human embryonic stem cells (hESC)"),
        ("fraction", "Cytoplasm"),
        ("molecule", "Cytoplasmic RNA"),
    ]
    assert sample.description is not None
    assert sample.description.startswith("rRNA-depleted\nprocessed data file:")
    assert sample.release_date == "2017-06-26"
    assert sample.extra["library_strategy"] == ["RNA-Seq"]
    assert sample.extra["instrument_model"] == ["Illumina HiSeq 4000"]
    assert sample.extra["contact_name"] == ["Stephen N. Floor"]
    assert sample.extra["growth_protocol_ch1"][0].startswith("Cells were grown according")
    assert "supplementary_file" not in sample.extra  # "NONE" is no file
    assert "SRA: https://www.ncbi.nlm.nih.gov/sra?term=SRX2916198" in sample.extra["relation"]
    last = samples["GSM2667798"]
    assert last.title == "neu14_rna_rep2"
    assert ("cell type", "Neural cultures (14 days)") in last.characteristics


def test_gzipped_family_is_the_same(tmp_path: Path, family: list[model.Record]) -> None:
    path = tmp_path / "GSE100007_family.xml.gz"
    path.write_bytes(gzip.compress(FAMILY.read_bytes()))
    assert parse(path) == family


# --- GSM69846 single record with an inline table ------------------------------------------


def test_single_sample_with_internal_table() -> None:
    records = parse(SINGLE)
    assert [type(r).__name__ for r in records] == ["Platform", "Sample", "DataTable"]
    platform, sample, table = records
    assert isinstance(platform, model.Platform)
    assert platform.accession == "GPL2757"  # a reference: accession only
    assert isinstance(sample, model.Sample)
    assert sample.accession == "GSM69846"
    assert sample.title == "SON-C-D_16r"
    assert sample.organisms == ["Rattus norvegicus"]
    assert sample.source_name == "Supraoptic nucleus_control"
    assert sample.characteristics == [
        ("Strain", "Sprague Dawley"),
        ("Gender", "Male"),
        ("Age", "10-12 weeks"),
        ("Tissue", "Supraoptic nucleus"),
    ]
    assert sample.platform == "GPL2757"
    assert sample.release_date == "2005-12-02"
    assert sample.last_update_date == "2006-04-14"
    assert sample.description == "SON-C-D Clone array - control"
    assert sample.extra["contact_name"] == ["DAVID MURPHY"]
    assert sample.extra["label_protocol_ch1"][0].startswith("Radiolabelled target")
    assert sample.n_rows == 20
    assert isinstance(table, model.DataTable)
    assert table.owner == "GSM69846"
    assert table.seq == 0
    assert table.columns == ["ID_REF", "VALUE"]
    assert len(table.rows) == 20
    assert table.rows[0] == ["c413", "16992.925"]
    assert table.rows[-1] == ["c339", "1597.535"]


def test_external_data_records_row_count(tmp_path: Path) -> None:
    text = SINGLE.read_text(encoding="utf-8")
    start = text.index("<Internal-Data")
    end = text.index("</Internal-Data>") + len("</Internal-Data>")
    path = write(
        tmp_path,
        "external.xml",
        text[:start]
        + '<External-Data rows="22283">GSM69846-tbl-1.txt</External-Data>'
        + text[end:],
    )
    records = parse(path)
    (sample,) = of_type(records, model.Sample)
    assert sample.n_rows == 22283
    assert sample.extra["data_table_file"] == ["GSM69846-tbl-1.txt"]
    assert of_type(records, model.DataTable) == []


def test_table_shorter_than_declared_is_rejected_after_it(tmp_path: Path) -> None:
    text = SINGLE.read_text(encoding="utf-8").replace('rows="20"', 'rows="21"')
    records = parse(write(tmp_path, "short.xml", text))
    assert [type(r).__name__ for r in records] == ["Platform", "Sample", "DataTable", "Rejected"]
    rejected = records[-1]
    assert isinstance(rejected, model.Rejected)
    assert rejected.record == "GSM69846"
    assert rejected.line == text[: text.index("<Internal-Data")].count("\n") + 1
    assert "20 rows" in rejected.reason


def test_characteristics_without_tag(tmp_path: Path) -> None:
    text = SINGLE.read_text(encoding="utf-8")
    text = text.replace(
        '<Characteristics tag="Strain">\nSprague Dawley',
        "<Characteristics>\nstrain: Sprague Dawley\nno colon here",
    )
    (sample,) = of_type(parse(write(tmp_path, "tagless.xml", text)), model.Sample)
    assert sample.characteristics[:3] == [
        ("strain", "Sprague Dawley"),
        ("", "no colon here"),
        ("Gender", "Male"),
    ]


def test_record_without_accession_is_rejected(tmp_path: Path) -> None:
    text = FAMILY.read_text(encoding="utf-8")
    text = text.replace('<Sample iid="GSM2667748">', '<Sample iid="">', 1).replace(
        '<Accession database="GEO">GSM2667748</Accession>', "", 1
    )
    records = parse(write(tmp_path, "noacc.xml", text))
    (rejected,) = of_type(records, model.Rejected)
    assert rejected.record is None
    assert rejected.line == text[: text.index('<Sample iid="">')].count("\n") + 1
    assert len(of_type(records, model.Sample)) == 51
    assert len(of_type(records, model.Series)) == 1


# --- broken files -----------------------------------------------------------------------


def test_truncated_xml_is_a_format_error_with_line(tmp_path: Path) -> None:
    text = FAMILY.read_text(encoding="utf-8")
    cut = text[: text.index('<Sample iid="GSM2667760">') + 300]
    path = write(tmp_path, "cut.xml", cut)
    records, error = parse_until_error(path)
    assert "malformed XML" in error.reason
    assert error.line is not None
    assert cut.count("\n") <= error.line <= cut.count("\n") + 1
    # Every complete record before the cut was yielded first.
    assert len(of_type(records, model.Sample)) == cut.count("</Sample>") == 13
    assert len(of_type(records, model.Platform)) == 1


def test_truncated_gzip_is_a_format_error_with_line(tmp_path: Path) -> None:
    path = tmp_path / "cut.xml.gz"
    path.write_bytes(gzip.compress(FAMILY.read_bytes())[:6000])
    records, error = parse_until_error(path)
    assert "truncated gzip" in error.reason
    assert error.line is not None
    assert error.line > 1
    assert len(of_type(records, model.Sample)) > 0


@pytest.mark.parametrize("content", [b"", b"   \n", b"<?xml version='1.0'?>\n<MINiML"])
def test_empty_or_unfinished_document(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "empty.xml"
    path.write_bytes(content)
    _, error = parse_until_error(path)
    assert "malformed XML" in error.reason


def test_other_xml_is_a_format_error(tmp_path: Path) -> None:
    path = write(tmp_path, "other.xml", "<PubmedArticleSet><PubmedArticle/></PubmedArticleSet>")
    _, error = parse_until_error(path)
    assert "no <MINiML> root" in error.reason


# --- hostile files: entities are never expanded -------------------------------------------

PROLOG = '<?xml version="1.0" encoding="UTF-8"?>\n'
BODY = (
    '<MINiML xmlns="http://www.ncbi.nlm.nih.gov/geo/info/MINiML" version="0.5.0">\n'
    '<Series iid="GSE1"><Title>{title}</Title>'
    '<Accession database="GEO">GSE1</Accession></Series>\n'
    "</MINiML>\n"
)


def passwd_marker() -> str:
    """Text that is in /etc/passwd on any Unix (the root account's line)."""
    return "root:"


def test_billion_laughs_is_refused(tmp_path: Path) -> None:
    levels = ['<!ENTITY lol0 "lol">'] + [
        f'<!ENTITY lol{i} "{f"&lol{i - 1};" * 10}">' for i in range(1, 10)
    ]
    doctype = "<!DOCTYPE MINiML [\n" + "\n".join(levels) + "\n]>\n"
    path = write(tmp_path, "laughs.xml", PROLOG + doctype + BODY.format(title="&lol9;"))
    records, error = parse_until_error(path)
    assert records == []
    assert "entities" in error.reason
    assert "lol0" in error.reason


def test_external_file_entity_is_refused(tmp_path: Path) -> None:
    doctype = '<!DOCTYPE MINiML [\n<!ENTITY x SYSTEM "file:///etc/passwd">\n]>\n'
    path = write(tmp_path, "xxe.xml", PROLOG + doctype + BODY.format(title="T &x; end"))
    records, error = parse_until_error(path)
    assert records == []
    assert "entities" in error.reason
    assert passwd_marker() not in str(error)


def test_parameter_entity_is_refused(tmp_path: Path) -> None:
    doctype = '<!DOCTYPE MINiML [\n<!ENTITY % p SYSTEM "file:///etc/passwd">\n%p;\n]>\n'
    path = write(tmp_path, "pe.xml", PROLOG + doctype + BODY.format(title="T"))
    records, error = parse_until_error(path)
    assert records == []
    assert "entities" in error.reason


def test_external_dtd_is_not_loaded(tmp_path: Path) -> None:
    """An entity only an external DTD could define stays an unexpanded reference."""
    doctype = '<!DOCTYPE MINiML SYSTEM "file:///etc/passwd">\n'
    path = write(tmp_path, "ext.xml", PROLOG + doctype + BODY.format(title="T &x; end"))
    records = parse(path)
    (series,) = of_type(records, model.Series)
    assert series.title == "T &x; end"
    assert passwd_marker() not in repr(records)


def test_entities_are_refused_whatever_the_root(tmp_path: Path) -> None:
    doctype = '<!DOCTYPE foo [\n<!ENTITY x SYSTEM "file:///etc/passwd">\n]>\n'
    body = '<foo><Series iid="GSE1"><Title>&x;</Title></Series></foo>\n'
    records, error = parse_until_error(write(tmp_path, "foo.xml", PROLOG + doctype + body))
    assert records == []
    assert "entities" in error.reason


def test_minimal_document_without_namespace(tmp_path: Path) -> None:
    body = BODY.replace(' xmlns="http://www.ncbi.nlm.nih.gov/geo/info/MINiML"', "")
    (series,) = parse(write(tmp_path, "plain.xml", PROLOG + body.format(title="Plain")))
    assert isinstance(series, model.Series)
    assert series.accession == "GSE1"
    assert series.title == "Plain"


# --- streaming ----------------------------------------------------------------------------


def test_streams() -> None:
    records = miniml.parse(Source(FAMILY))
    assert inspect.isgenerator(records)
    first = next(records)
    assert isinstance(first, model.Platform)
    records.close()


MEMORY_SCRIPT = """
import resource, sys
from pathlib import Path
from omicsoracle.formats import miniml
from omicsoracle.formats.source import Source
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
n = sum(1 for _ in miniml.parse(Source(Path(sys.argv[1]))))
after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(n, (after - before) // 1024)
"""


@pytest.mark.slow
def test_memory_stays_bounded_on_a_large_family(tmp_path: Path) -> None:
    """10,000 copies of a real sample (~40 MB of XML) parse in a few MB of memory."""
    text = FAMILY.read_text(encoding="utf-8")
    start = text.index('  <Sample iid="GSM2667747">')
    end = text.index("</Sample>", start) + len("</Sample>\n")
    sample = text[start:end]
    path = tmp_path / "big.xml"
    with path.open("w", encoding="utf-8") as fh:
        fh.write(text[:start])
        for i in range(10_000):
            fh.write(sample.replace("GSM2667747", f"GSM{3_000_000 + i}"))
        fh.write(text[text.index("  <Series iid=") :])
    assert path.stat().st_size > 30_000_000
    out = subprocess.run(
        [sys.executable, "-c", MEMORY_SCRIPT, str(path)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    n_records, grown_mb = int(out[0]), int(out[1])
    assert n_records == 1 + 10_000 + 1 + 1  # platform, samples, series, relationship
    # Keeping the parsed tree would cost well over 100 MB here.
    assert grown_mb < 40


def test_sniff() -> None:
    assert miniml.sniff(Source(FAMILY).head(), FAMILY.name)
    assert miniml.sniff(Source(SINGLE).head(), SINGLE.name)
    soft = DATA / "soft" / "GSM2586973.txt"
    assert not miniml.sniff(Source(soft).head(), soft.name)


def test_detected_among_all_formats() -> None:
    assert formats.detect(Source(FAMILY)).name == "geo_miniml"
    assert formats.detect(Source(SINGLE)).name == "geo_miniml"
