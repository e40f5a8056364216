"""MEDLINE text parser: golden values from real PubMed exports, and bad records."""

from __future__ import annotations

from pathlib import Path

import pytest

from omicsoracle.formats import pubmed_xml
from omicsoracle.formats.medline import FORMAT, parse, parse_mesh, sniff
from omicsoracle.formats.source import Source
from omicsoracle.model import Author, MeshHeading, Publication, Record, Rejected, Relationship

DATA = Path(__file__).parents[1] / "data"
PUBMED = DATA / "pubmed"


def records(path: Path) -> list[Record]:
    return list(parse(Source(path)))


def publications(items: list[Record]) -> dict[str, Publication]:
    return {r.pmid: r for r in items if isinstance(r, Publication)}


def write(tmp_path: Path, text: str, name: str = "records.txt") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


# ------------------------------------------------------------------ detection


@pytest.mark.parametrize(
    "name",
    ["medline_pubmed_result1.txt", "medline_pubmed_result2.txt", "medline_pubmed_result3.txt"],
)
def test_sniff_claims_medline(name: str) -> None:
    path = PUBMED / name
    assert sniff(Source(path).head(), path.name)


@pytest.mark.parametrize(
    "path",
    [
        DATA / "eutils" / "efetch.pubmed.xml",
        DATA / "soft" / "GSE99709_brief.soft",
        DATA / "geo_search_export_parkinson.txt",
    ],
)
def test_sniff_rejects_other_formats(path: Path) -> None:
    assert not sniff(Source(path).head(), path.name)


def test_format_object() -> None:
    assert FORMAT.name == "medline"
    assert FORMAT.parse is parse


# ------------------------------------------------------------- real exports


def test_result1_old_style_record() -> None:
    (pub,) = records(PUBMED / "medline_pubmed_result1.txt")
    assert isinstance(pub, Publication)
    assert pub.pmid == "12230038"
    assert pub.source == "pubmed_medline"
    assert pub.title == "The Bio* toolkits--a brief overview."
    assert pub.journal == "Briefings in bioinformatics"
    assert (pub.year, pub.pub_date) == (2002, "2002-09")
    assert pub.language == "eng"
    assert pub.publication_types == ["Journal Article"]
    assert pub.doi is None
    # Continuation lines are joined with single spaces.
    assert pub.abstract is not None
    assert pub.abstract.startswith(
        "Bioinformatics research is often difficult to do with commercial software. The Open "
        "Source BioPerl"
    )
    assert pub.abstract.endswith("the beginning biologist programmer.")
    # AD precedes the author list in pre-2014 records: it is the first author's.
    assert pub.authors == [
        Author(
            last_name="Mangalam",
            fore_name="Harry",
            initials="H",
            affiliations=["tacg Informatics, Irvine, CA 92612, USA. hjm@tacgi.com"],
        )
    ]
    assert pub.mesh == [
        MeshHeading("Computational Biology", major=True),
        MeshHeading("Computer Systems"),
        MeshHeading("Humans"),
        MeshHeading("Internet"),
        MeshHeading("Programming Languages", major=True),
        MeshHeading("Software", major=True),
        MeshHeading("User-Computer Interface"),
    ]


def test_result2_four_records() -> None:
    recs = records(PUBMED / "medline_pubmed_result2.txt")
    pubs = publications(recs)
    assert list(pubs) == ["16403221", "16377612", "14871861", "14630660"]
    assert len(recs) == 4  # nothing rejected, no GEO links
    assert [p.title for p in pubs.values()] == [
        "A high level interface to SCOP and ASTRAL implemented in python.",
        "GenomeDiagram: a python package for the visualization of large-scale genomic data.",
        "Open source clustering software.",
        "PDB file parser and structure class implemented in Python.",
    ]
    scop = pubs["16403221"]
    assert scop.journal == "BMC bioinformatics"
    assert (scop.year, scop.pub_date) == (2006, "2006")
    assert scop.doi == "10.1186/1471-2105-7-10"  # from "AID - ... [doi]", not the [pii]
    assert scop.publication_types == ["Evaluation Studies", "Journal Article"]
    assert [(a.last_name, a.fore_name, a.initials) for a in scop.authors] == [
        ("Casbon", "James A", "JA"),
        ("Crooks", "Gavin E", "GE"),
        ("Saqi", "Mansoor A S", "MA"),
    ]
    assert scop.authors[0].affiliations == [
        "Bioinformatics, Institute of Cell and Molecular Science, School of Medicine and "
        "Dentistry, Queen Mary, University of London, London EC1 6BQ, UK. j.a.casbon@qmul.ac.uk"
    ]
    assert scop.abstract is not None
    assert scop.abstract.startswith("BACKGROUND: Benchmarking algorithms")
    diagram = pubs["16377612"]
    assert (diagram.year, diagram.pub_date) == (2006, "2006-03-01")
    assert diagram.doi == "10.1093/bioinformatics/btk021"
    # A starred qualifier makes the heading major; an unstarred one does not.
    assert diagram.mesh[0] == MeshHeading("Chromosome Mapping", major=True, qualifiers=["methods"])
    assert diagram.mesh[4] == MeshHeading(
        "Information Storage and Retrieval", major=False, qualifiers=["methods"]
    )
    cluster = pubs["14871861"]
    assert cluster.pub_date == "2004-06-12"
    assert cluster.doi == "10.1093/bioinformatics/bth078"
    assert cluster.authors[0].last_name == "de Hoon"  # multi-word last name from FAU
    assert cluster.authors[0].initials == "MJ"
    pdb = pubs["14630660"]
    assert pdb.doi is None
    assert pdb.mesh[3] == MeshHeading(
        "Information Storage and Retrieval", major=True, qualifiers=["methods", "standards"]
    )


def test_result3_lid_doi_and_wrapped_mesh() -> None:
    (pub,) = records(PUBMED / "medline_pubmed_result3.txt")
    assert isinstance(pub, Publication)
    assert pub.pmid == "23039619"
    assert pub.title == (
        "Effects of different parameters in the fast scanning method for HIFU treatment."
    )
    assert pub.journal == "Medical physics"
    assert (pub.year, pub.pub_date) == (2012, "2012-10")
    assert pub.doi == "10.1118/1.4748329"
    # AD after AU: it belongs to that author only.
    assert pub.authors[0].affiliations == [
        "School of Biomedical Engineering, Shanghai Jiao Tong University, Shanghai, "
        "People's Republic of China."
    ]
    assert [a.affiliations for a in pub.authors[1:]] == [[], [], []]
    # "adverse" + continuation "effects/instrumentation/*methods"
    assert pub.mesh[1] == MeshHeading(
        "High-Intensity Focused Ultrasound Ablation",
        major=True,
        qualifiers=["adverse effects", "instrumentation", "methods"],
    )


# ---------------------------------------------------------- synthetic cases

GEO_RECORD = """\
PMID- 41603352
TI  - Mast cells promote pathology and susceptibility in tuberculosis.
DP  - 2026 Jan 28
JT  - eLife
TA  - Elife
LA  - eng
SI  - GEO/GSE149758
SI  - GEO/GSE200151
SI  - ClinicalTrials.gov/NCT00717236
CN  - Tuberculosis Study Group
OT  - Mycobacterium tuberculosis
OT  - chymase
AU  - Gupta A
"""


def test_geo_secondary_ids_become_relationships(tmp_path: Path) -> None:
    recs = records(write(tmp_path, GEO_RECORD))
    pub = recs[0]
    assert isinstance(pub, Publication)
    assert pub.geo_accessions == ["GSE149758", "GSE200151"]
    assert recs[1:] == [
        Relationship("GSE149758", "41603352", "mentions", "pubmed_databank", 0.9),
        Relationship("GSE200151", "41603352", "mentions", "pubmed_databank", 0.9),
    ]
    assert pub.keywords == ["Mycobacterium tuberculosis", "chymase"]
    assert pub.authors == [
        Author(collective="Tuberculosis Study Group"),
        Author(last_name="Gupta", initials="A"),  # AU without FAU (pre-2002 style)
    ]
    assert pub.journal == "eLife"
    assert pub.pub_date == "2026-01-28"


def test_record_without_pmid_is_rejected_and_parsing_goes_on(tmp_path: Path) -> None:
    text = (
        "\n"
        "PMID- 1\nTI  - First.\n\n"
        "TI  - A record that lost its PMID line\n      and wraps.\nAU  - Doe J\n\n"
        "PMID- 12x\nTI  - Bad id.\n\n"
        "PMID- 3\nTI  - Third.\n"
    )
    recs = records(write(tmp_path, text))
    assert [r.pmid for r in recs if isinstance(r, Publication)] == ["1", "3"]
    rejected = [r for r in recs if isinstance(r, Rejected)]
    assert rejected[0] == Rejected(
        line=5, record="A record that lost its PMID line and wraps.", reason="article without PMID"
    )
    assert rejected[1].line == 9
    assert rejected[1].record == "Bad id."
    assert rejected[1].reason.startswith("article without PMID")
    assert "'12x'" in rejected[1].reason


def test_untitled_record_without_pmid_is_named_by_position(tmp_path: Path) -> None:
    recs = records(write(tmp_path, "PMID- 1\n\nAU  - Doe J\n"))
    assert recs[1] == Rejected(line=3, record="record #2", reason="article without PMID")


def test_records_without_blank_separator_and_crlf_bom(tmp_path: Path) -> None:
    path = tmp_path / "crlf.txt"
    path.write_bytes(
        "\ufeffPMID- 10\r\nTI  - One\r\nPMID- 11\r\nTI  - Two\r\n      continued\r\n".encode()
    )
    pubs = publications(records(path))
    assert [(p.pmid, p.title) for p in pubs.values()] == [("10", "One"), ("11", "Two continued")]
    assert sniff(path.read_bytes(), path.name)


def test_unrecognised_line_is_reported_not_swallowed(tmp_path: Path) -> None:
    recs = records(write(tmp_path, "PMID- 5\nTI  - Kept\nthis is not a tag line\nLA  - eng\n"))
    bad = recs[0]
    assert isinstance(bad, Rejected)
    assert (bad.line, bad.record) == (3, None)
    assert bad.reason == "unrecognised MEDLINE line: 'this is not a tag line'"
    pub = recs[1]
    assert isinstance(pub, Publication)
    assert (pub.title, pub.language) == ("Kept", "eng")


def test_medline_and_xml_agree_on_the_same_article(tmp_path: Path) -> None:
    xml_pub = {
        r.pmid: r
        for r in pubmed_xml.parse(Source(PUBMED / "pubmed26n1334.xml.gz"))
        if isinstance(r, Publication)
    }["41603352"]
    (text_pub, *_rels) = records(write(tmp_path, GEO_RECORD))
    assert isinstance(text_pub, Publication)
    for field in ("pmid", "title", "journal", "year", "pub_date", "language", "geo_accessions"):
        assert getattr(text_pub, field) == getattr(xml_pub, field), field


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("*Software", MeshHeading("Software", major=True)),
        ("Humans", MeshHeading("Humans")),
        ("Sequence Alignment/*methods", MeshHeading("Sequence Alignment", True, ["methods"])),
        (
            "Information Storage and Retrieval/methods/standards",
            MeshHeading("Information Storage and Retrieval", False, ["methods", "standards"]),
        ),
        ("*Genes, p53/genetics", MeshHeading("Genes, p53", True, ["genetics"])),
    ],
)
def test_parse_mesh(value: str, expected: MeshHeading) -> None:
    assert parse_mesh(value) == expected
