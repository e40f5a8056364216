"""PubMed XML parser: golden values from real NLM files, and hostile/damaged input."""

from __future__ import annotations

import gzip
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import pytest

from omicsoracle.formats import pubmed_xml
from omicsoracle.formats.pubmed_xml import FORMAT, parse, parse_pub_date, sniff
from omicsoracle.formats.source import FormatError, Source
from omicsoracle.model import (
    Author,
    MeshHeading,
    Publication,
    PublicationDeletion,
    Record,
    Rejected,
    Relationship,
)

DATA = Path(__file__).parents[1] / "data"
PUBMED = DATA / "pubmed"
EUTILS = DATA / "eutils"
SAMPLE_2019 = PUBMED / "pubmedsample_2019.xml.gz"

HEADER = (
    '<?xml version="1.0" encoding="utf-8"?>\n'
    '<!DOCTYPE PubmedArticleSet PUBLIC "-//NLM//DTD PubMedArticle, 1st January 2019//EN" '
    '"https://dtd.nlm.nih.gov/ncbi/pubmed/out/pubmed_190101.dtd">\n'
)


def records(path: Path) -> list[Record]:
    return list(parse(Source(path)))


def publications(items: Iterable[Record]) -> dict[str, Publication]:
    return {r.pmid: r for r in items if isinstance(r, Publication)}


def article(pmid: str | None, title: str, extra: str = "") -> str:
    pmid_xml = "" if pmid is None else f'<PMID Version="1">{pmid}</PMID>'
    return (
        f"<PubmedArticle><MedlineCitation>{pmid_xml}<Article>"
        f"<ArticleTitle>{title}</ArticleTitle>{extra}</Article></MedlineCitation></PubmedArticle>\n"
    )


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def sample_2019() -> list[Record]:
    return records(SAMPLE_2019)


# ------------------------------------------------------------------ detection


@pytest.mark.parametrize(
    "path",
    [
        SAMPLE_2019,
        PUBMED / "pubmed26n1334.xml.gz",
        PUBMED / "medsamp2014.xml.gz",
        EUTILS / "efetch.pubmed.xml",
        EUTILS / "biopython_pubmed4.xml",
    ],
)
def test_sniff_claims_pubmed_xml(path: Path) -> None:
    assert sniff(Source(path).head(), path.name)


@pytest.mark.parametrize(
    "path",
    [
        PUBMED / "medline_pubmed_result2.txt",
        EUTILS / "esearch.pubmed.xml",
        EUTILS / "esummary.gds.xml",
        DATA / "miniml" / "GSM69846.xml",
        DATA / "soft" / "GSE99709_brief.soft",
    ],
)
def test_sniff_rejects_other_formats(path: Path) -> None:
    assert not sniff(Source(path).head(), path.name)


def test_sniff_ignores_the_name_in_the_doctype_and_comments() -> None:
    assert sniff(b'\xef\xbb\xbf<?xml version="1.0"?>\n<!-- c -->\n<PubmedArticle>', "x")
    assert not sniff(b"<!DOCTYPE PubmedArticleSet>\n<eSearchResult>", "x")
    assert not sniff(b'{"text": "<PubmedArticleSet>"}', "x.jsonl")


def test_format_object() -> None:
    assert FORMAT.name == "pubmed_xml"
    assert FORMAT.parse is parse


# --------------------------------------------------------- 2019 NLM sample file


def test_2019_sample_counts(sample_2019: list[Record]) -> None:
    pubs = publications(sample_2019)
    assert len(pubs) == 176
    assert sum(1 for p in pubs.values() if p.abstract) == 115
    assert sum(1 for p in pubs.values() if p.mesh) == 156
    assert not [r for r in sample_2019 if isinstance(r, Rejected)]
    assert all(p.source == "pubmed_xml" for p in pubs.values())
    assert all(p.year is not None for p in pubs.values())


def test_2019_sample_golden_article(sample_2019: list[Record]) -> None:
    pub = publications(sample_2019)["973217"]
    assert pub.title == "Hospital debt management and cost reimbursement."
    assert pub.journal == "Topics in health care financing"
    assert (pub.year, pub.pub_date) == (1976, "1976")  # PubDate is "1976 Fall"
    assert pub.language == "eng"
    assert pub.abstract is None
    assert pub.doi is None
    assert pub.authors == [Author(last_name="Blume", fore_name="F R", initials="FR")]
    assert pub.publication_types == ["Journal Article"]
    assert pub.mesh == [
        MeshHeading("Accounting", major=False, ui="D000066"),
        MeshHeading("Economics, Hospital", major=True, ui="D004469"),
        MeshHeading("Hospital Administration", major=True, ui="D006739"),
        MeshHeading("United States", major=False, ui="D014481"),
    ]


def test_2019_sample_first_pmids_in_document_order(sample_2019: list[Record]) -> None:
    assert list(publications(sample_2019))[:4] == ["973217", "1669026", "1875346", "3549656"]


def test_medline_date_range_files_under_its_first_year(sample_2019: list[Record]) -> None:
    pub = publications(sample_2019)["9929727"]  # MedlineDate "1998 Dec-1999 Jan"
    assert pub.title is not None
    assert pub.title.startswith("[Tobacco control in children")
    assert (pub.year, pub.pub_date) == (1998, "1998-12")


def test_structured_abstract_is_labelled_one_part_per_line(sample_2019: list[Record]) -> None:
    abstract = publications(sample_2019)["8219565"].abstract
    assert abstract is not None
    lines = abstract.split("\n")
    assert lines[0].startswith("PURPOSE: The problem of asymmetric opening")
    assert lines[1].startswith("PATIENTS")


def test_collective_author(sample_2019: list[Record]) -> None:
    authors = publications(sample_2019)["11237011"].authors
    assert Author(collective="International Human Genome Sequencing Consortium") in authors


def test_mathml_and_inline_markup_are_flattened(sample_2019: list[Record]) -> None:
    abstract = publications(sample_2019)["29869631"].abstract
    assert abstract is not None
    assert "with R pre 2 = 0.9513, RMSEP = 0.1029 mg·g-1, and RPD = 4.78." in abstract
    assert "Radix Scrophulariae exhibited" in abstract  # was <i>Radix Scrophulariae</i>
    assert "<" not in abstract
    assert "  " not in abstract


def test_qualifier_lists_and_keywords(sample_2019: list[Record]) -> None:
    pubs = publications(sample_2019)
    assert (
        MeshHeading(
            "Membrane Proteins",
            major=True,
            qualifiers=["chemistry", "genetics", "metabolism"],
            ui="D008565",
        )
        in pubs["10540283"].mesh
    )
    assert pubs["10097079"].keywords == ["NASA Discipline Exobiology", "Non-NASA Center"]


def test_non_geo_databanks_are_not_geo_links(sample_2019: list[Record]) -> None:
    # 9394824 lists 30 GENBANK accessions, 15968009 a ClinicalTrials.gov id.
    pubs = publications(sample_2019)
    assert pubs["9394824"].geo_accessions == []
    assert pubs["15968009"].geo_accessions == []
    assert not [r for r in sample_2019 if isinstance(r, Relationship)]


def test_delete_citation_in_2019_sample(sample_2019: list[Record]) -> None:
    deletions = [r for r in sample_2019 if isinstance(r, PublicationDeletion)]
    assert deletions == [
        PublicationDeletion(
            ["23203860", "23203861", "23203892", "23203893", "23203894", "23203895", "23203896"]
        )
    ]


# ------------------------------------------------------- current update files


def test_update_1334_geo_databank_relationships() -> None:
    recs = records(PUBMED / "pubmed26n1334.xml.gz")
    pubs = publications(recs)
    assert len(pubs) == 30
    pub = pubs["41603352"]
    assert pub.title == "Mast cells promote pathology and susceptibility in tuberculosis."
    assert pub.journal == "eLife"
    assert (pub.year, pub.pub_date) == (2026, "2026-01-28")
    assert pub.doi == "10.7554/eLife.102634"
    assert pub.geo_accessions == ["GSE149758", "GSE200151"]
    assert (
        MeshHeading("Mast Cells", major=True, qualifiers=["immunology", "pathology"], ui="D008407")
        in pub.mesh
    )
    # An author with a last name only, and two affiliations for the first author.
    assert pub.authors[4] == Author(
        last_name="Abhimanyu",
        affiliations=[
            "Department of Microbiology, The University of Chicago, Chicago, United States."
        ],
    )
    assert len(pub.authors[0].affiliations) == 2
    rels = [r for r in recs if isinstance(r, Relationship)]
    assert rels == [
        Relationship("GSE149758", "41603352", "mentions", "pubmed_databank", 0.9),
        Relationship("GSE200151", "41603352", "mentions", "pubmed_databank", 0.9),
    ]
    # Relationships follow their publication, so a store can resolve the PMID.
    index = recs.index(pub)
    assert recs[index + 1 : index + 3] == rels


def test_update_1334_current_format_fields() -> None:
    pubs = publications(records(PUBMED / "pubmed26n1334.xml.gz"))
    pub = pubs["41576520"]
    assert pub.journal == "Pediatric neurology"
    assert (pub.year, pub.pub_date) == (2026, "2026-01-07")
    assert pub.doi == "10.1016/j.pediatrneurol.2025.12.024"
    assert pub.abstract is not None
    assert [line.split(":")[0] for line in pub.abstract.split("\n")] == [
        "BACKGROUND",
        "METHODS",
        "RESULTS",
        "CONCLUSIONS",
    ]
    assert "Copyright" not in pub.abstract
    assert pub.keywords == ["CKiD", "Cognition in CKD", "Mild to moderate CKD", "Pediatric CKD"]
    assert pub.authors[0].last_name == "Hooper"
    assert pub.authors[0].fore_name == "Stephen R"
    assert pub.authors[0].initials == "SR"
    assert pub.authors[-1] == Author(
        collective="Chronic Kidney Disease in Children (CKiD) Study Investigators"
    )
    # Empty ArticleTitle: the vernacular title stands in.
    rofo = pubs["41605226"]
    assert rofo.title is not None
    assert rofo.title.startswith("Kommentar zu „ABDOMEN BECKEN")
    assert rofo.language == "ger"


def test_update_1335_deletions_and_geo_link() -> None:
    recs = records(PUBMED / "pubmed26n1335.xml.gz")
    pubs = publications(recs)
    assert len(pubs) == 30
    deletions = [r for r in recs if isinstance(r, PublicationDeletion)]
    assert deletions == [
        PublicationDeletion(
            ["41456105", "41557076", "41616784", "41618748", "41618749", "41618779"]
        )
    ]
    assert recs[-1] == deletions[0]  # DeleteCitation ends the file
    pub = pubs["39366958"]
    assert pub.title == (
        "Concerted transcriptional regulation of the morphogenesis of hypothalamic "
        "neurons by ONECUT3."
    )
    assert pub.journal == "Nature communications"
    assert pub.year == 2024
    assert pub.geo_accessions == ["GSE132730"]  # figshare entry of the same list ignored
    assert [r for r in recs if isinstance(r, Relationship)] == [
        Relationship("GSE132730", "39366958", "mentions", "pubmed_databank", 0.9)
    ]


def test_reference_list_dois_are_not_the_articles_doi(tmp_path: Path) -> None:
    refs = (
        "<PubmedData><ReferenceList><Reference><ArticleIdList>"
        '<ArticleId IdType="doi">10.9999/someone-else</ArticleId>'
        "</ArticleIdList></Reference></ReferenceList>"
        '<ArticleIdList><ArticleId IdType="pubmed">5</ArticleId></ArticleIdList></PubmedData>'
    )
    doc = (
        HEADER
        + "<PubmedArticleSet>"
        + article("5", "T").replace("</PubmedArticle>", refs + "</PubmedArticle>")
        + "</PubmedArticleSet>"
    )
    (pub,) = records(write(tmp_path, "refs.xml", doc))
    assert isinstance(pub, Publication)
    assert pub.doi is None


# -------------------------------------------------- 2014 MedlineCitationSet


def test_medsamp2014_citation_set() -> None:
    recs = records(PUBMED / "medsamp2014.xml.gz")
    pubs = publications(recs)
    assert len(pubs) == 161
    assert sum(1 for r in recs if isinstance(r, PublicationDeletion)) == 1
    pub = pubs["10540283"]
    assert pub.title is not None
    assert pub.title.startswith("Transcription regulation of the nir")
    assert pub.journal == "Molecular microbiology"
    assert (pub.year, pub.pub_date) == (1999, "1999-10")
    # 2014 DTD: Affiliation sits directly under Author.
    assert pub.authors[0].affiliations == [
        "Department of Molecular Cell Physiology, Faculty of Biology, BioCentrum Amsterdam, "
        "Vrije Universiteit, De Boelelaan 1087, NL-1081 HV Amsterdam, The Netherlands."
    ]
    assert pub.mesh[6] == MeshHeading(
        "Membrane Proteins", major=True, qualifiers=["chemistry", "genetics", "metabolism"]
    )


def test_medsamp2014_agrees_with_2019_sample(sample_2019: list[Record]) -> None:
    old = publications(records(PUBMED / "medsamp2014.xml.gz"))
    new = publications(sample_2019)
    shared = sorted(set(old) & set(new))
    assert len(shared) == 160
    # Same parser on two DTD generations: only NLM's own later edits may differ
    # (journal names lost their diacritics, a title was re-cased, MeSH re-indexed).
    for pmid in shared:
        assert old[pmid].year == new[pmid].year, pmid
        assert (old[pmid].title or "").casefold() == (new[pmid].title or "").casefold(), pmid


# ------------------------------------------------------ efetch responses


def test_efetch_response() -> None:
    pubs = publications(records(EUTILS / "efetch.pubmed.xml"))
    assert list(pubs) == ["17284678", "9997"]
    pub = pubs["17284678"]
    assert pub.title == (
        "Sequencing and analysis of chromosome 1 of Eimeria tenella reveals a unique "
        "segmental organization."
    )
    assert pub.journal == "Genome research"
    assert pub.pub_date == "2007-03"
    assert pub.doi == "10.1101/gr.5823007"  # from PubmedData/ArticleIdList
    # 2013 DTD: one Article-level Affiliation, credited to the first author.
    assert pub.authors[0].last_name == "Ling"
    assert pub.authors[0].affiliations == [
        "Malaysia Genome Institute, UKM-MTDC Smart Technology Centre, Universiti Kebangsaan "
        "Malaysia, 43600 UKM Bangi, Selangor DE, Malaysia."
    ]
    assert pubs["9997"].pub_date == "1976-09-28"


def test_biopython_efetch_responses() -> None:
    first = publications(records(EUTILS / "biopython_pubmed1.xml"))
    assert first["12091962"].journal == "Social justice (San Francisco, Calif.)"
    assert first["12091962"].pub_date == "1990"  # Season "Spring" carries no month
    assert first["9997"].doi == "10.1016/0005-2795(76)90109-4"
    second = publications(records(EUTILS / "biopython_pubmed2.xml"))
    assert list(second) == ["11748933", "11700088"]
    assert second["11748933"].doi == "10.1006/cryo.2001.2328"
    (pub,) = publications(records(EUTILS / "biopython_pubmed4.xml")).values()
    assert pub.pmid == "27797938"
    # ArticleTitle contains <i>TERT</i>
    assert pub.title == (
        "Leucocyte telomere length, genetic variants at the TERT gene region and risk of "
        "pancreatic cancer."
    )
    assert pub.doi == "10.1136/gutjnl-2016-312510"
    assert len(pub.authors) == 22
    assert pub.abstract is not None
    assert pub.abstract.startswith("OBJECTIVE: Telomere shortening")


# ------------------------------------------------------------ book articles


def test_pubmed_book_article(tmp_path: Path) -> None:
    book = (
        '<PubmedBookArticle><BookDocument><PMID Version="1">20301295</PMID>'
        '<ArticleIdList><ArticleId IdType="bookaccession">NBK1116</ArticleId></ArticleIdList>'
        "<Book><Publisher><PublisherName>University of Washington, Seattle</PublisherName>"
        '</Publisher><BookTitle book="gene">GeneReviews<sup>®</sup></BookTitle>'
        "<PubDate><Year>1993</Year></PubDate>"
        '<AuthorList Type="editors"><Author><LastName>Adam</LastName>'
        "<ForeName>Margaret P</ForeName><Initials>MP</Initials></Author></AuthorList></Book>"
        "<ArticleTitle>Alpha-Thalassemia</ArticleTitle><Language>eng</Language>"
        '<AuthorList Type="authors"><Author><LastName>Tamary</LastName>'
        "<ForeName>Hannah</ForeName><Initials>H</Initials></Author></AuthorList>"
        '<PublicationType UI="D016454">Review</PublicationType>'
        '<Abstract><AbstractText Label="CLINICAL CHARACTERISTICS">Two types.</AbstractText>'
        "</Abstract></BookDocument><PubmedBookData><ArticleIdList>"
        '<ArticleId IdType="doi">10.5555/nbk1116</ArticleId></ArticleIdList></PubmedBookData>'
        "</PubmedBookArticle>\n"
    )
    doc = HEADER + "<PubmedArticleSet>" + book + article("7", "Next") + "</PubmedArticleSet>"
    recs = records(write(tmp_path, "book.xml", doc))
    assert [type(r) for r in recs] == [Publication, Publication]
    pub = recs[0]
    assert isinstance(pub, Publication)
    assert pub.pmid == "20301295"
    assert pub.title == "Alpha-Thalassemia"
    assert pub.journal == "GeneReviews®"
    assert (pub.year, pub.pub_date) == (1993, "1993")
    assert pub.authors == [Author(last_name="Tamary", fore_name="Hannah", initials="H")]
    assert pub.abstract == "CLINICAL CHARACTERISTICS: Two types."
    assert pub.publication_types == ["Review"]
    assert pub.doi == "10.5555/nbk1116"


# ---------------------------------------------------------------- bad input


def test_real_file_without_pmid_is_rejected() -> None:
    assert records(PUBMED / "pubmedsample_no_pmid_2019.xml.gz") == [
        Rejected(
            line=5,
            record="Hospital debt management and cost reimbursement.",
            reason="article without PMID",
        )
    ]


def test_article_without_pmid_does_not_stop_the_file(tmp_path: Path) -> None:
    no_pmid = gzip.decompress((PUBMED / "pubmedsample_no_pmid_2019.xml.gz").read_bytes())
    text = no_pmid.decode("utf-8").replace(
        "</PubmedArticleSet>",
        article("11", "Kept one")
        + article("", "")
        + article("12a", "Bad id")
        + article("12", "Kept two")
        + "</PubmedArticleSet>",
    )
    path = write(tmp_path, "mixed.xml", text)
    recs = records(path)
    rejected = [r for r in recs if isinstance(r, Rejected)]
    assert [(r.line, r.record) for r in rejected] == [
        (5, "Hospital debt management and cost reimbursement."),
        (98, "article #3"),
        (99, "Bad id"),
    ]
    assert all(r.reason.startswith("article without PMID") for r in rejected)
    assert "'12a'" in rejected[2].reason
    assert list(publications(recs)) == ["11", "12"]
    # The reported line really is where the article starts.
    lines = path.read_text(encoding="utf-8").splitlines()
    assert lines[4].strip() == "<PubmedArticle>"
    assert lines[97].startswith("<PubmedArticle><MedlineCitation><PMID")


def test_truncated_xml_yields_what_came_before_then_fails_with_line(tmp_path: Path) -> None:
    data = gzip.decompress(SAMPLE_2019.read_bytes())
    cut = data[: len(data) // 2]
    path = tmp_path / "cut.xml"
    path.write_bytes(cut)
    seen: list[Record] = []
    with pytest.raises(FormatError, match="malformed XML") as excinfo:
        seen.extend(parse(Source(path)))
    assert len(publications(seen)) == cut.count(b"</PubmedArticle>") == 101
    assert excinfo.value.line == cut.count(b"\n") + 1


def test_truncated_gzip_yields_what_came_before_then_fails(tmp_path: Path) -> None:
    raw = SAMPLE_2019.read_bytes()
    path = tmp_path / "cut.xml.gz"
    path.write_bytes(raw[: len(raw) // 2])
    seen: list[Record] = []
    with pytest.raises(FormatError, match="truncated gzip"):
        seen.extend(parse(Source(path)))
    pubs = publications(seen)
    assert len(pubs) > 50
    assert list(pubs)[:2] == ["973217", "1669026"]


def test_foreign_root_element_is_refused() -> None:
    with pytest.raises(FormatError, match="not PubMed XML: root element <eSearchResult>"):
        records(EUTILS / "esearch.pubmed.xml")


def test_empty_document_is_refused(tmp_path: Path) -> None:
    with pytest.raises(FormatError):
        records(write(tmp_path, "empty.xml", HEADER))


# -------------------------------------------------------- entity attacks

BILLION_LAUGHS = (
    '<?xml version="1.0"?>\n<!DOCTYPE PubmedArticleSet [\n<!ENTITY lol "lol">\n'
    + "".join(
        f'<!ENTITY lol{i} "{("&lol" + (str(i - 1) if i > 1 else "") + ";") * 10}">\n'
        for i in range(1, 10)
    )
    + "]>\n<PubmedArticleSet>"
    + article("1", "&lol9;")
    + "</PubmedArticleSet>\n"
)

PASSWD = (
    '<?xml version="1.0"?>\n<!DOCTYPE PubmedArticleSet [\n'
    '<!ENTITY xxe SYSTEM "file:///etc/passwd">\n]>\n<PubmedArticleSet>'
    + article("1", "leak: &xxe;")
    + "</PubmedArticleSet>\n"
)


@pytest.mark.parametrize(("name", "doc"), [("laughs.xml", BILLION_LAUGHS), ("xxe.xml", PASSWD)])
def test_entity_declarations_are_refused(tmp_path: Path, name: str, doc: str) -> None:
    path = write(tmp_path, name, doc)
    seen: list[Record] = []
    with pytest.raises(FormatError, match="declares XML entities") as excinfo:
        seen.extend(parse(Source(path)))
    assert seen == []  # refused before any article, so nothing expanded reached a record
    assert excinfo.value.line == 3  # the first <!ENTITY line


def test_entity_declaration_split_across_read_chunks(tmp_path: Path) -> None:
    # Padding puts "<!ENTITY" across lxml's read boundary; the guard keeps a tail.
    padding = "<!-- " + "x" * 32_763 + " -->\n"
    doc = PASSWD.replace("<!DOCTYPE", padding + "<!DOCTYPE", 1)
    with pytest.raises(FormatError, match="declares XML entities"):
        records(write(tmp_path, "split.xml", doc))


def test_entity_declarations_in_utf16_are_refused_too(tmp_path: Path) -> None:
    # The byte guard cannot see "<!ENTITY" in UTF-16; the parsed DTD check must.
    path = tmp_path / "utf16.xml"
    path.write_bytes(
        PASSWD.replace('version="1.0"', 'version="1.0" encoding="UTF-16"').encode("utf-16")
    )
    seen: list[Record] = []
    with pytest.raises(FormatError, match="entities"):
        seen.extend(parse(Source(path)))
    assert seen == []


def test_parser_alone_never_expands_entities(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Defence in depth: with both declaration checks switched off, the lxml settings
    # (resolve_entities=False, no DTD, no network) still keep every reference literal.
    monkeypatch.setattr(pubmed_xml, "_EntityGuard", lambda raw, name: raw)
    monkeypatch.setattr(pubmed_xml, "_check_document", lambda elem, path: None)
    (pub,) = records(write(tmp_path, "xxe.xml", PASSWD))
    assert isinstance(pub, Publication)
    assert pub.title == "leak: &xxe;"
    passwd = Path("/etc/passwd")
    if passwd.exists():
        assert passwd.read_text(encoding="utf-8", errors="replace")[:20] not in (pub.title or "")
    try:
        recs = records(write(tmp_path, "laughs.xml", BILLION_LAUGHS))
    except FormatError:
        return  # libxml2's amplification limit fired first: also no expansion
    (pub,) = recs
    assert isinstance(pub, Publication)
    assert pub.title == "&lol9;"


def test_external_dtd_is_never_loaded(tmp_path: Path) -> None:
    # If the parser fetched the DOCTYPE's DTD, &leak; would become SECRET.
    dtd = tmp_path / "evil.dtd"
    dtd.write_text('<!ENTITY leak "SECRET">\n', encoding="utf-8")
    doc = (
        f'<?xml version="1.0"?>\n<!DOCTYPE PubmedArticleSet SYSTEM "{dtd.as_uri()}">\n'
        "<PubmedArticleSet>" + article("1", "a &leak; b &nbsp; c") + "</PubmedArticleSet>\n"
    )
    (pub,) = records(write(tmp_path, "ext.xml", doc))
    assert isinstance(pub, Publication)
    assert pub.title == "a &leak; b &nbsp; c"  # kept as literal, unexpanded references


def test_public_pubmed_doctype_does_not_touch_the_network(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The resolver is the only way lxml would ask Python for a URL; it must not be asked.
    asked: list[str] = []

    def spy(self: object, system_url: str, public_id: str, context: object) -> object:
        asked.append(system_url)
        raise AssertionError(f"tried to resolve {system_url}")

    monkeypatch.setattr(pubmed_xml._NoFetchResolver, "resolve", spy)
    path = write(
        tmp_path,
        "doctype.xml",
        HEADER + "<PubmedArticleSet>" + article("3", "T") + "</PubmedArticleSet>",
    )
    assert [r.pmid for r in records(path) if isinstance(r, Publication)] == ["3"]
    assert asked == []


# ------------------------------------------------------------------- dates


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2002 Sep", (2002, "2002-09")),
        ("2006 Mar 1", (2006, "2006-03-01")),
        ("1998 Dec-1999 Jan", (1998, "1998-12")),
        ("2001 Sep-Oct", (2001, "2001-09")),
        ("2000 Dec 23-30", (2000, "2000-12-23")),
        ("1947-1948", (1947, "1947")),
        ("2000 Spring", (2000, "2000")),
        ("Spring 2000", (2000, "2000")),
        ("2006", (2006, "2006")),
        ("2003 Feb 30", (2003, "2003-02")),
        ("", (None, None)),
        (None, (None, None)),
        ("n.d.", (None, None)),
    ],
)
def test_parse_pub_date(text: str | None, expected: tuple[int | None, str | None]) -> None:
    assert parse_pub_date(text) == expected


def test_pub_date_from_parts() -> None:
    assert pubmed_xml.pub_date_from_parts("2026", "Jan", "07") == (2026, "2026-01-07")
    assert pubmed_xml.pub_date_from_parts("2017", "06", None) == (2017, "2017-06")
    assert pubmed_xml.pub_date_from_parts("1990", None, None) == (1990, "1990")
    assert pubmed_xml.pub_date_from_parts("2001", "13", "1") == (2001, "2001")
    assert pubmed_xml.pub_date_from_parts("19x0", "Jan", None) == (None, None)


# --------------------------------------------------------------- streaming


def test_processed_articles_are_released(monkeypatch: pytest.MonkeyPatch) -> None:
    # Constant memory: when an article is handed over, everything before it but the
    # (already cleared) previous article is gone. Elements *after* it may exist: lxml
    # parses a read chunk ahead of the events it reports.
    siblings: list[int] = []
    original = pubmed_xml._pubmed_article

    def spy(elem: Any, ordinal: int) -> Iterator[Record]:
        before = list(elem.itersiblings(preceding=True))
        assert all(len(node) == 0 for node in before)  # cleared
        siblings.append(len(before))
        return original(elem, ordinal)

    monkeypatch.setattr(pubmed_xml, "_pubmed_article", spy)
    assert len(publications(records(SAMPLE_2019))) == 176
    assert len(siblings) == 176
    assert max(siblings) == 1


def test_big_generated_file_streams(tmp_path: Path) -> None:
    # 20 000 articles through gzip: a smoke test for speed and for a flat footprint.
    path = tmp_path / "big.xml.gz"
    with gzip.open(path, "wt", encoding="utf-8") as fh:
        fh.write(HEADER + "<PubmedArticleSet>\n")
        for i in range(1, 20_001):
            fh.write(article(str(i), f"Title {i} with <i>markup</i>"))
        fh.write("</PubmedArticleSet>\n")
    count = 0
    last = None
    for rec in parse(Source(path)):
        assert isinstance(rec, Publication)
        count += 1
        last = rec
    assert count == 20_000
    assert last is not None
    assert last.title == "Title 20000 with markup"
