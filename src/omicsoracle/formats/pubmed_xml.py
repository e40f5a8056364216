"""PubMed XML: ``PubmedArticleSet`` (baseline/update files, efetch) and ``MedlineCitationSet``.

One streaming pass with ``lxml.etree.iterparse``: each article is turned into a
``Publication`` (plus a ``Relationship`` per GEO series in its DataBankList) and
then cleared, together with its already-processed siblings, so memory stays flat
on a 1 GB baseline file.

Security: PubMed files carry a DOCTYPE pointing at a public DTD on the web. The
parser never loads it (``load_dtd=False``, ``no_network=True``, and a resolver
that answers every external lookup with an empty document). PubMed XML never
declares entities of its own, so a document that does (billion laughs, an
external ``SYSTEM`` entity reading ``/etc/passwd``) is refused with a
``FormatError`` before the parser sees the declaration; ``resolve_entities=False``
keeps any entity reference that still gets through unexpanded (``&x;`` stays
literal text).
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Iterable, Iterator
from typing import Any, BinaryIO, Protocol

from lxml import etree  # type: ignore[import-untyped]  # lxml ships no type stubs

from omicsoracle.formats import Format
from omicsoracle.formats.source import FormatError, Source
from omicsoracle.model import (
    ACCESSION_RE,
    PMID_RE,
    Author,
    MeshHeading,
    Publication,
    PublicationDeletion,
    Record,
    Rejected,
    Relationship,
)

SOURCE = "pubmed_xml"
RELATION_SOURCE = "pubmed_databank"
DATABANK_CONFIDENCE = 0.9  # curated by NLM, but "mentions" is weaker than GEO's own citation
NO_PMID = "article without PMID"

# Elements whose *end* we act on. Everything else is built by lxml inside them.
_EVENT_TAGS = ("PubmedArticle", "PubmedBookArticle", "MedlineCitation", "DeleteCitation")
_ROOT_TAGS = frozenset(
    {"PubmedArticleSet", "MedlineCitationSet", "PubmedArticle", "PubmedBookArticle"}
)
_ENTITY_MARK = b"<!ENTITY"
_SNIPPET = 80  # characters of title kept in a Rejected record

# Optional BOM, then any mix of whitespace, XML declaration / PIs, comments and a
# DOCTYPE (with or without an internal subset), then a PubMed root element. Single
# ``\s`` rather than ``\s+`` inside the repetition: nested quantifiers backtrack
# exponentially on long whitespace runs.
_SNIFF_RE = re.compile(
    rb"\A(?:\xef\xbb\xbf)?(?:\s|<\?.*?\?>|<!--.*?-->|<!DOCTYPE\b(?:[^\[>]|\[.*?\])*>)*"
    rb"<(?:PubmedArticleSet|MedlineCitationSet|PubmedArticle|PubmedBookArticle)[\s>/]",
    re.S,
)
# Free-text dates: MedlineDate ("1998 Dec-1999 Jan", "2000 Dec 23-30") and the
# MEDLINE DP field ("2006 Mar 1"). Only the leading date is read: a range starts
# in the year the article is filed under.
_FREE_DATE_RE = re.compile(
    r"(?P<year>\d{4})(?:[ ]+(?P<month>[A-Za-z]{3,}|\d{1,2})\b(?:[ ]+(?P<day>\d{1,2})\b)?)?"
)
_YEAR_RE = re.compile(r"[1-9][0-9]{3}")  # ASCII only: str.isdigit() also accepts "²"
_DAY_RE = re.compile(r"[0-9]{1,2}")
_ANY_YEAR_RE = re.compile(r"(?<!\d)(1[6-9]\d\d|2\d\d\d)(?!\d)")
_MONTHS = {
    name: number
    for number, name in enumerate(
        ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"),
        start=1,
    )
}


class _Node(Protocol):
    """The slice of the lxml element API this module uses (lxml has no stubs)."""

    tag: Any  # str for elements; a function for comments/PIs
    text: str | None
    sourceline: int | None

    def get(self, key: str, default: str | None = None) -> str | None: ...
    def find(self, path: str) -> _Node | None: ...
    def findtext(self, path: str) -> str | None: ...
    def iterfind(self, path: str) -> Iterator[_Node]: ...
    def itertext(self) -> Iterator[str]: ...
    def getparent(self) -> _Node | None: ...
    def getprevious(self) -> _Node | None: ...
    def getroottree(self) -> Any: ...
    def clear(self, keep_tail: bool = False) -> None: ...
    def __delitem__(self, index: int) -> None: ...
    def __iter__(self) -> Iterator[_Node]: ...
    def __len__(self) -> int: ...


# --------------------------------------------------------------------------- API


def sniff(head: bytes, filename: str) -> bool:
    """True when the head is XML whose first element is a PubMed article set/article."""
    del filename  # content decides; see omicsoracle.formats
    return _SNIFF_RE.match(head) is not None


def parse(source: Source) -> Iterator[Record]:
    """Stream records out of a PubMed XML file.

    Yields, in document order: ``Publication`` for each article (followed by one
    ``Relationship`` per GSE in its GEO DataBank list), ``PublicationDeletion``
    for each ``DeleteCitation``, and ``Rejected`` for an article without a valid
    PMID. Raises ``FormatError`` (with a line number when known) for malformed or
    truncated XML, entity declarations, or a root element that is not PubMed's;
    records before the damage have been yielded by then.
    """
    with source.open_binary() as raw:
        context = etree.iterparse(
            _EntityGuard(raw, source.name),
            events=("end",),
            tag=_EVENT_TAGS,
            resolve_entities=False,
            no_network=True,
            load_dtd=False,
            huge_tree=False,
        )
        context.resolvers.add(_NoFetchResolver())
        ordinal = 0
        checked_root = False
        try:
            for _event, elem in context:
                if not checked_root:
                    _check_document(elem, source.name)
                    checked_root = True
                tag = elem.tag
                if tag == "MedlineCitation":
                    parent = elem.getparent()
                    if parent is not None and parent.tag == "PubmedArticle":
                        continue  # part of a PubmedArticle, handled at its end
                if tag == "DeleteCitation":
                    yield from _deletion(elem)
                else:
                    ordinal += 1
                    if tag == "PubmedArticle":
                        yield from _pubmed_article(elem, ordinal)
                    elif tag == "PubmedBookArticle":
                        yield from _book_article(elem, ordinal)
                    else:  # top-level MedlineCitation (MedlineCitationSet, 2014 and older)
                        yield from _citation(elem, None, elem.sourceline, ordinal)
                _release(elem)
        except etree.XMLSyntaxError as exc:
            line = exc.lineno if exc.lineno else None
            raise FormatError(source.name, line, f"malformed XML: {exc.msg}") from exc
        root = context.root
        if root is None:
            raise FormatError(source.name, None, "no XML element found")
        if not checked_root:
            _check_document(root, source.name)


def parse_pub_date(text: str | None) -> tuple[int | None, str | None]:
    """(year, ISO-ish date) from a free-text PubMed date.

    Handles MedlineDate and MEDLINE ``DP`` values: ``"2002 Sep"`` → (2002,
    "2002-09"), ``"2006 Mar 1"`` → (2006, "2006-03-01"), ``"1998 Dec-1999 Jan"``
    → (1998, "1998-12"), ``"1947-1948"`` → (1947, "1947"), ``"2000 Spring"`` →
    (2000, "2000"). The date is only as precise as the text allows.
    """
    if not text:
        return None, None
    text = text.strip()
    match = _FREE_DATE_RE.match(text)
    if match is None:
        # e.g. "Spring 2000": no leading year, but a year somewhere is still useful.
        found = _ANY_YEAR_RE.search(text)
        return (int(found.group(1)), found.group(1)) if found else (None, None)
    return pub_date_from_parts(match.group("year"), match.group("month"), match.group("day"))


def pub_date_from_parts(
    year: str | None, month: str | None, day: str | None
) -> tuple[int | None, str | None]:
    """(year, "YYYY" / "YYYY-MM" / "YYYY-MM-DD") from PubDate's Year/Month/Day.

    Month may be a name ("Jan", "June") or a number; an invalid month or day
    just lowers the precision instead of discarding the year.
    """
    if year is None or not _YEAR_RE.fullmatch(year.strip()):
        return None, None
    y = int(year)
    month_number = _month(month)
    if month_number is None:
        return y, f"{y:04d}"
    if day is not None and _DAY_RE.fullmatch(day.strip()):
        try:
            return y, datetime.date(y, month_number, int(day)).isoformat()
        except ValueError:
            pass  # "Feb 30": keep the month
    return y, f"{y:04d}-{month_number:02d}"


def geo_relationships(pub: Publication, source: str = RELATION_SOURCE) -> list[Relationship]:
    """One "mentions" link per GEO series the publication's DataBank list names."""
    return [
        Relationship(
            series=accession,
            pmid=pub.pmid,
            relation="mentions",
            source=source,
            confidence=DATABANK_CONFIDENCE,
        )
        for accession in pub.geo_accessions
        if accession.startswith("GSE")
    ]


def add_geo_accessions(target: list[str], values: Iterable[str]) -> None:
    """Append valid, not yet listed GEO accessions (upper-cased) to ``target``.

    Free-text databank entries are not trusted: anything that is not a GEO
    accession (``ACCESSION_RE``) is skipped rather than stored as a fake link.
    """
    for value in values:
        accession = value.strip().upper()
        if ACCESSION_RE.match(accession) and accession not in target:
            target.append(accession)


# ------------------------------------------------------------------ safety layer


class _EntityGuard:
    """File-like wrapper that refuses any ``<!ENTITY`` before lxml can read it.

    PubMed XML never declares entities, so a declaration means a hostile or
    foreign document. Checking raw bytes as they stream keeps the check O(n)
    and independent of what libxml2 would do with the declaration. The last
    few bytes of each chunk are kept so a marker split across chunks is found.
    """

    def __init__(self, raw: BinaryIO, name: str) -> None:
        self._raw = raw
        self._name = name
        self._tail = b""
        self._line = 1  # line number at the end of what has been handed out

    def read(self, size: int = -1) -> bytes:
        chunk = self._raw.read(size)
        window = self._tail + chunk
        hit = window.find(_ENTITY_MARK)
        if hit >= 0:
            line = self._line - self._tail.count(b"\n") + window.count(b"\n", 0, hit)
            raise FormatError(
                self._name,
                line,
                "document declares XML entities (<!ENTITY ...>); entity declarations are "
                "refused so nothing can be expanded or fetched",
            )
        self._line += chunk.count(b"\n")
        self._tail = window[-(len(_ENTITY_MARK) - 1) :]
        return chunk


class _NoFetchResolver(etree.Resolver):  # type: ignore[misc]  # untyped base class
    """Answers every external lookup (DTD, entity, XInclude) with an empty document."""

    def resolve(self, system_url: str, public_id: str, context: object) -> object:
        del system_url, public_id
        return self.resolve_string("", context)


def _check_document(elem: _Node, path: str) -> None:
    """Refuse a foreign root element or entity declarations the byte guard missed.

    The guard only sees ASCII-compatible bytes; a UTF-16 document could hide its
    declarations from it, but not from the parsed DTD.
    """
    tree = elem.getroottree()
    root = tree.getroot()
    if root.tag not in _ROOT_TAGS and root.tag != "MedlineCitation":
        raise FormatError(path, root.sourceline, f"not PubMed XML: root element <{root.tag}>")
    dtd = tree.docinfo.internalDTD
    if dtd is not None and any(True for _ in dtd.iterentities()):
        raise FormatError(path, None, "document declares XML entities; refused")


def _release(elem: _Node) -> None:
    """Free a processed element and everything before it (constant memory)."""
    elem.clear(keep_tail=False)
    parent = elem.getparent()
    if parent is not None:
        while elem.getprevious() is not None:
            del parent[0]


# ------------------------------------------------------------------- extraction


def _flat(elem: _Node | None) -> str | None:
    """Element text with inline markup (<i>, <sup>, MathML) flattened, whitespace collapsed."""
    if elem is None:
        return None
    # Most elements are plain text: skip the subtree walk for them (hot path).
    text = elem.text if len(elem) == 0 else "".join(elem.itertext())
    if not text:
        return None
    return " ".join(text.split()) or None


def _texts(elems: Iterable[_Node]) -> list[str]:
    return [text for text in map(_flat, elems) if text]


def _snippet(title: str | None, fallback: str) -> str:
    if not title:
        return fallback
    return title if len(title) <= _SNIPPET else title[: _SNIPPET - 1] + "…"


def _month(value: str | None) -> int | None:
    if value is None:
        return None
    value = value.strip()
    if _DAY_RE.fullmatch(value):  # numeric month: same 1-2 ASCII digits as a day
        number = int(value)
        return number if 1 <= number <= 12 else None
    return _MONTHS.get(value[:3].lower())


def _valid_pmid(value: str | None) -> str | None:
    if value is None:
        return None
    value = value.strip()
    return value if PMID_RE.fullmatch(value) else None


def _deletion(elem: _Node) -> Iterator[Record]:
    pmids: list[str] = []
    for node in elem.iterfind("PMID"):
        pmid = _valid_pmid(_flat(node))
        if pmid is None:
            yield Rejected(node.sourceline, _flat(node), "DeleteCitation with an invalid PMID")
        else:
            pmids.append(pmid)
    if pmids:
        yield PublicationDeletion(pmids=pmids)


def _pubmed_article(elem: _Node, ordinal: int) -> Iterator[Record]:
    citation = elem.find("MedlineCitation")
    if citation is None:
        yield Rejected(elem.sourceline, f"article #{ordinal}", NO_PMID)
        return
    yield from _citation(citation, elem.find("PubmedData"), elem.sourceline, ordinal)


def _citation(
    citation: _Node, pubmed_data: _Node | None, line: int | None, ordinal: int
) -> Iterator[Record]:
    """A MedlineCitation (inside PubmedArticle, or top level in MedlineCitationSet)."""
    article = citation.find("Article")
    title = None
    if article is not None:
        # An untranslated non-English title leaves ArticleTitle empty.
        title = _flat(article.find("ArticleTitle")) or _flat(article.find("VernacularTitle"))
    raw_pmid = citation.findtext("PMID")
    pmid = _valid_pmid(raw_pmid)
    if pmid is None:
        reason = NO_PMID if not (raw_pmid or "").strip() else f"{NO_PMID} (invalid: {raw_pmid!r})"
        yield Rejected(line, _snippet(title, f"article #{ordinal}"), reason)
        return
    pub = Publication(pmid=pmid, source=SOURCE, title=title)
    if article is not None:
        journal = article.find("Journal")
        if journal is not None:
            pub.journal = _flat(journal.find("Title")) or _flat(journal.find("ISOAbbreviation"))
            pub.year, pub.pub_date = _pub_date(journal.find("JournalIssue/PubDate"))
        abstract = article.find("Abstract")
        if abstract is not None:
            pub.abstract = _abstract(abstract)
        pub.language = _flat(article.find("Language"))
        pub.authors = _authors(article.find("AuthorList"))
        # Pre-2014 DTDs: one Article-level Affiliation, which NLM assigned to the first author.
        _attach_affiliation(pub.authors, _flat(article.find("Affiliation")))
        pub.publication_types = _texts(article.iterfind("PublicationTypeList/PublicationType"))
        pub.doi = _doi(article.iterfind("ELocationID"), "EIdType")
        for bank in article.iterfind("DataBankList/DataBank"):
            if (bank.findtext("DataBankName") or "").strip().upper() == "GEO":
                add_geo_accessions(
                    pub.geo_accessions, _texts(bank.iterfind("AccessionNumberList/AccessionNumber"))
                )
    if pub.journal is None:
        pub.journal = _flat(citation.find("MedlineJournalInfo/MedlineTA"))
    if pub.doi is None and pubmed_data is not None:
        # Only PubmedData's own list: ReferenceList holds other papers' DOIs.
        pub.doi = _doi(pubmed_data.iterfind("ArticleIdList/ArticleId"), "IdType")
    pub.mesh = _mesh(citation.iterfind("MeshHeadingList/MeshHeading"))
    pub.keywords = _texts(citation.iterfind("KeywordList/Keyword"))
    yield pub
    yield from geo_relationships(pub)


def _book_article(elem: _Node, ordinal: int) -> Iterator[Record]:
    """A PubmedBookArticle (book or chapter, e.g. GeneReviews)."""
    doc = elem.find("BookDocument")
    if doc is None:
        yield Rejected(elem.sourceline, f"article #{ordinal}", NO_PMID)
        return
    book = doc.find("Book")
    book_title = _flat(book.find("BookTitle")) if book is not None else None
    chapter_title = _flat(doc.find("ArticleTitle")) or _flat(doc.find("VernacularTitle"))
    title = chapter_title or book_title
    pmid = _valid_pmid(doc.findtext("PMID"))
    if pmid is None:
        yield Rejected(elem.sourceline, _snippet(title, f"article #{ordinal}"), NO_PMID)
        return
    pub = Publication(pmid=pmid, source=SOURCE, title=title)
    # A chapter's container is the book, the way an article's is its journal.
    pub.journal = book_title if chapter_title else None
    abstract = doc.find("Abstract")
    if abstract is not None:
        pub.abstract = _abstract(abstract)
    pub.language = _flat(doc.find("Language"))
    pub.publication_types = _texts(doc.iterfind("PublicationType"))
    pub.keywords = _texts(doc.iterfind("KeywordList/Keyword"))
    pub.authors = _book_authors(doc.iterfind("AuthorList"))
    if book is not None:
        pub.year, pub.pub_date = _pub_date(book.find("PubDate"))
        if not pub.authors:
            pub.authors = _book_authors(book.iterfind("AuthorList"))
        pub.doi = _doi(book.iterfind("ELocationID"), "EIdType")
    if pub.doi is None:
        pub.doi = _doi(doc.iterfind("ArticleIdList/ArticleId"), "IdType")
    if pub.doi is None:
        pub.doi = _doi(elem.iterfind("PubmedBookData/ArticleIdList/ArticleId"), "IdType")
    yield pub


def _book_authors(lists: Iterator[_Node]) -> list[Author]:
    for author_list in lists:
        if author_list.get("Type") != "editors":  # editors are not authors
            return _authors(author_list)
    return []


def _pub_date(pub_date: _Node | None) -> tuple[int | None, str | None]:
    if pub_date is None:
        return None, None
    year = pub_date.findtext("Year")
    if year:
        return pub_date_from_parts(year, pub_date.findtext("Month"), pub_date.findtext("Day"))
    return parse_pub_date(pub_date.findtext("MedlineDate"))


def _abstract(abstract: _Node) -> str | None:
    """AbstractText parts as "LABEL: text", one per line; CopyrightInformation left out."""
    parts = []
    for node in abstract.iterfind("AbstractText"):
        text = _flat(node)
        if text is None:
            continue
        label = (node.get("Label") or "").strip()
        # NLM marks the unlabelled part of a structured abstract with this stand-in label.
        parts.append(f"{label}: {text}" if label and label != "UNLABELLED" else text)
    return "\n".join(parts) or None


def _authors(author_list: _Node | None) -> list[Author]:
    if author_list is None:
        return []
    authors = []
    for node in author_list.iterfind("Author"):
        if node.get("ValidYN") == "N":
            continue  # a name NLM flags as erroneous (kept only for the record)
        author = Author()
        # One pass over the children instead of a find() per field: authors are
        # the most numerous elements in PubMed XML.
        for child in node:
            tag = child.tag
            if tag == "LastName":
                author.last_name = _flat(child)
            elif tag == "ForeName" or (tag == "FirstName" and author.fore_name is None):
                author.fore_name = _flat(child)
            elif tag == "Initials":
                author.initials = _flat(child)
            elif tag == "CollectiveName":
                author.collective = _flat(child)
            elif tag == "AffiliationInfo":
                author.affiliations += _texts(child.iterfind("Affiliation"))
            elif tag == "Affiliation":  # 2014 DTD: no AffiliationInfo wrapper
                text = _flat(child)
                if text:
                    author.affiliations.append(text)
        authors.append(author)
    return authors


def _attach_affiliation(authors: list[Author], affiliation: str | None) -> None:
    """Give a record-level affiliation to the first author, if they have none."""
    if affiliation and authors and not authors[0].affiliations:
        authors[0].affiliations.append(affiliation)


def _mesh(headings: Iterator[_Node]) -> list[MeshHeading]:
    """MeSH headings; ``major`` follows PubMed's [majr]: descriptor or any qualifier starred."""
    result = []
    for heading in headings:
        descriptor = heading.find("DescriptorName")
        name = _flat(descriptor)
        if descriptor is None or name is None:
            continue
        qualifiers = list(heading.iterfind("QualifierName"))
        major = descriptor.get("MajorTopicYN") == "Y" or any(
            q.get("MajorTopicYN") == "Y" for q in qualifiers
        )
        result.append(
            MeshHeading(
                descriptor=name, major=major, qualifiers=_texts(qualifiers), ui=descriptor.get("UI")
            )
        )
    return result


def _doi(ids: Iterator[_Node], type_attr: str) -> str | None:
    for node in ids:
        if node.get(type_attr) == "doi" and node.get("ValidYN") != "N":
            value = _flat(node)
            if value:
                return value
    return None


FORMAT = Format(name="pubmed_xml", sniff=sniff, parse=parse)
