"""Publications as BibTeX entries or RIS records, one chunk per page.

Rows of the same PMID are merged into one entry (``_Publication``) before writing;
see :func:`publication_entries` and :mod:`omicsoracle.export`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

PUBMED_URL = "https://pubmed.ncbi.nlm.nih.gov/{}/"

# A page of publication dicts (stored PubMed docs or ``Store.get`` link rows).
Page = Sequence[Mapping[str, Any]]


def publication_entries(fmt: str, pages: Iterable[Page]) -> Iterator[bytes]:
    """Publications as BibTeX entries or RIS records, one chunk per page.

    Parameters
    ----------
    fmt
        ``"bibtex"`` or ``"ris"``.
    pages
        Pages of publication dicts holding whatever is known: ``pmid``, ``title``,
        ``authors`` (names, or stored author dicts), ``journal``, ``year``,
        ``pub_date``, ``volume``, ``issue``, ``pages``, ``doi``, ``abstract``,
        ``mesh``, ``keywords``, ``language`` and the linked GEO series as ``series``
        (one accession or a list), ``series_links`` (``Store.get`` link rows) or
        ``geo_accessions``. Missing keys and ``None`` values are left out.

    Returns
    -------
    Iterator[bytes]
        UTF-8 chunks.

    Notes
    -----
    Contract for one entry per PMID in memory bounded by a page: the rows of one PMID
    must be *adjacent* in the stream (e.g. a publication/series join ordered by PMID),
    though they may straddle a page boundary. Adjacent rows, and any repeats within
    one page, are merged into one entry whose linked series are the union. The last
    entry of each page is held back until the next page shows whether it continues,
    so the writer keeps one page plus one entry; a PMID that comes back after other
    PMIDs on a later page is written again.
    """
    try:
        encode = _ENTRY_WRITERS[fmt]
    except KeyError:
        raise ValueError(
            f"not a publication export format: {fmt!r} (use {', '.join(_ENTRY_WRITERS)})"
        ) from None
    return _write_entries(pages, encode)


@dataclass(slots=True)
class _Publication:
    """The fields an exporter can use, cleaned; every text is one line or None."""

    pmid: str | None
    title: str | None = None
    authors: list[tuple[str, bool]] = field(default_factory=list)  # (name, is a group)
    journal: str | None = None
    year: str | None = None
    month: int | None = None
    day: int | None = None
    volume: str | None = None
    issue: str | None = None
    first_page: str | None = None
    last_page: str | None = None
    doi: str | None = None
    abstract: str | None = None
    language: str | None = None
    keywords: list[str] = field(default_factory=list)
    series: list[str] = field(default_factory=list)

    def absorb(self, other: _Publication) -> None:
        """Fill what this row lacks from another row of the same PMID."""
        for name in _SCALARS:
            if getattr(self, name) is None:
                setattr(self, name, getattr(other, name))
        for name in ("authors", "keywords"):
            if not getattr(self, name):
                setattr(self, name, getattr(other, name))
        self.series = list(dict.fromkeys((*self.series, *other.series)))


_SCALARS = (
    "title", "journal", "year", "month", "day", "volume", "issue", "first_page",
    "last_page", "doi", "abstract", "language",
)  # fmt: skip


def _line(value: Any) -> str | None:
    """One line of text, or None when empty: exporters never see raw newlines."""
    if value is None or isinstance(value, (dict, list)):
        return None
    text = " ".join(str(value).split())
    return text or None


def _author(value: Any) -> tuple[str, bool] | None:
    if isinstance(value, Mapping):
        if group := _line(value.get("collective")):
            return group, True
        last = _line(value.get("last_name"))
        first = _line(value.get("fore_name")) or _line(value.get("initials"))
        name = f"{last}, {first}" if last and first else last or first
        return (name, False) if name else None
    name = _line(value)
    return (name, False) if name else None


def _series(doc: Mapping[str, Any]) -> list[str]:
    found: list[str] = []
    for key in ("series", "series_links", "geo_accessions"):
        value = doc.get(key)
        for item in [value] if isinstance(value, str) else value or ():
            accession = item.get("series") if isinstance(item, Mapping) else item
            if text := _line(accession):
                found.append(text)
    return list(dict.fromkeys(found))


_DATE_RE = re.compile(r"^(\d{4})(?:-(\d{1,2}))?(?:-(\d{1,2}))?")
_PAGES_RE = re.compile(r"^\s*([^\s-]+)\s*[-–]+\s*([^\s-]+)\s*$")


def _pages(value: Any) -> tuple[str | None, str | None]:
    text = _line(value)
    if text is None:
        return None, None
    m = _PAGES_RE.match(text)
    if not m:
        return text, None
    first, last = m.groups()
    # MEDLINE abbreviates end pages ("1234-45" is 1234 to 1245): spell them out.
    if first.isdigit() and last.isdigit() and len(last) < len(first):
        last = first[: len(first) - len(last)] + last
    return first, last


def _publication(doc: Mapping[str, Any]) -> _Publication:
    date = _DATE_RE.match(_line(doc.get("pub_date")) or "")
    year = _line(doc.get("year")) or (date.group(1) if date else None)
    same_year = date is not None and date.group(1) == year
    month = int(date.group(2)) if same_year and date and date.group(2) else None
    day = int(date.group(3)) if same_year and date and date.group(3) else None
    first_page, last_page = _pages(doc.get("pages"))
    mesh = [m.get("descriptor") if isinstance(m, Mapping) else m for m in doc.get("mesh") or ()]
    keywords = [k for k in (_line(v) for v in (*mesh, *(doc.get("keywords") or ()))) if k]
    authors = [a for a in (_author(v) for v in doc.get("authors") or ()) if a]
    return _Publication(
        pmid=_line(doc.get("pmid")),
        title=_line(doc.get("title")),
        authors=authors,
        journal=_line(doc.get("journal")),
        year=year,
        month=month if month and 1 <= month <= 12 else None,
        day=day if day and month and 1 <= day <= 31 else None,
        volume=_line(doc.get("volume")),
        issue=_line(doc.get("issue")),
        first_page=first_page,
        last_page=last_page,
        doi=_line(doc.get("doi")),
        abstract=_line(doc.get("abstract")),
        language=_line(doc.get("language")),
        keywords=list(dict.fromkeys(keywords)),
        series=_series(doc),
    )


def _merged_pages(pages: Iterable[Page]) -> Iterator[list[_Publication]]:
    """Pages of publications with rows of one PMID merged (see publication_entries)."""
    held: _Publication | None = None
    for page in pages:
        groups: dict[object, _Publication] = {}
        for doc in page:
            pub = _publication(doc)
            key: object = pub.pmid if pub.pmid is not None else object()  # no PMID: never merged
            if key in groups:
                groups[key].absorb(pub)
            else:
                groups[key] = pub
        if not groups:
            continue
        if held is not None and held.pmid is not None and held.pmid in groups:
            held.absorb(groups.pop(held.pmid))
            groups = {held.pmid: held, **groups}
        elif held is not None:
            groups = {object(): held, **groups}
        *ready, held = groups.values()
        if ready:
            yield ready
    if held is not None:
        yield [held]


def _write_entries(
    pages: Iterable[Page], encode: Callable[[_Publication, int], str]
) -> Iterator[bytes]:
    seq = 0
    for batch in _merged_pages(pages):
        parts = []
        for pub in batch:
            seq += 1
            parts.append(encode(pub, seq))
        yield "".join(parts).encode("utf-8")


# BibTeX counts braces without looking at backslashes, so "\{" would unbalance the
# entry; \textbraceleft{} and friends are balanced and print the same character.
_BIBTEX_ESCAPES = str.maketrans({
    "\\": r"\textbackslash{}", "{": r"\textbraceleft{}", "}": r"\textbraceright{}",
    "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_",
    "~": r"\textasciitilde{}", "^": r"\textasciicircum{}",
})  # fmt: skip
_BIBTEX_MONTHS = (
    "jan",
    "feb",
    "mar",
    "apr",
    "may",
    "jun",
    "jul",
    "aug",
    "sep",
    "oct",
    "nov",
    "dec",
)
_WORD_RE = re.compile(r"([^\W_]+)")
_KEY_UNSAFE = re.compile(r"[^A-Za-z0-9_.:-]")


def bibtex_escape(text: str) -> str:
    """``text`` with BibTeX/LaTeX special characters escaped; non-ASCII stays as is."""
    return text.translate(_BIBTEX_ESCAPES)


def _bibtex_title(title: str) -> str:
    # Styles lowercase titles; braces keep words with inner capitals (NSCLC, mRNA,
    # BRCA1) as written. Word runs hold no special characters, so they need no escape.
    parts = _WORD_RE.split(title)
    for i, part in enumerate(parts):
        if i % 2 and any(ch.isupper() for ch in part[1:]):
            parts[i] = "{" + part + "}"
        elif not i % 2:
            parts[i] = bibtex_escape(part)
    return "".join(parts)


def _bibtex_name(name: str, group: bool) -> str:
    # A group author ("The Cancer Genome Atlas Network") and a name with " and " in
    # it must be one brace group, or BibTeX splits and reorders it.
    escaped = bibtex_escape(name)
    return "{" + escaped + "}" if group or " and " in f" {name} " else escaped


def _verbatim(value: str) -> str:
    # DOIs and URLs are verbatim fields (biblatex): escaping "_" would corrupt them,
    # so only the characters that cannot appear verbatim in a braced value go.
    return value.translate({ord("{"): None, ord("}"): None, ord("\\"): None})


def _bibtex(pub: _Publication, seq: int) -> str:
    key = f"pmid{_KEY_UNSAFE.sub('', pub.pmid)}" if pub.pmid else f"omicsoracle{seq}"
    pages = f"{pub.first_page}--{pub.last_page}" if pub.last_page else pub.first_page
    raw: list[tuple[str, str | None]] = [
        ("author", " and ".join(_bibtex_name(n, g) for n, g in pub.authors) or None),
        ("title", _bibtex_title(pub.title) if pub.title else None),
        ("journal", pub.journal and bibtex_escape(pub.journal)),
        ("year", pub.year and bibtex_escape(pub.year)),
        # The predefined macro, unbraced, so styles can abbreviate or translate it.
        ("month", _BIBTEX_MONTHS[pub.month - 1] if pub.month else None),
        ("volume", pub.volume and bibtex_escape(pub.volume)),
        ("number", pub.issue and bibtex_escape(pub.issue)),
        ("pages", pages and bibtex_escape(pages)),
        ("doi", pub.doi and _verbatim(pub.doi)),
        ("pmid", pub.pmid and bibtex_escape(pub.pmid)),
        ("url", _verbatim(PUBMED_URL.format(pub.pmid)) if pub.pmid else None),
        ("abstract", pub.abstract and bibtex_escape(pub.abstract)),
        ("keywords", bibtex_escape(", ".join(pub.keywords)) if pub.keywords else None),
        ("language", pub.language and bibtex_escape(pub.language)),
        ("note", bibtex_escape("GEO: " + ", ".join(pub.series)) if pub.series else None),
    ]
    lines = [
        f"  {name} = {value if name == 'month' else '{' + value + '}'}"
        for name, value in raw
        if value
    ]
    return f"@article{{{key},\n" + ",\n".join(lines) + "\n}\n\n"


def _ris(pub: _Publication, seq: int) -> str:
    # CRLF line ends: the RIS specification demands them and Reference Manager/EndNote
    # importers are the strictest readers; every other reader also takes CRLF.
    tags: list[tuple[str, str | None]] = [("TY", "JOUR")]
    tags += [("AU", name) for name, _ in pub.authors]
    date = None  # PY has the year; DA only adds something with a month
    if pub.year and pub.month:
        date = "/".join([pub.year, *(f"{v:02d}" for v in (pub.month, pub.day) if v)])
    tags += [
        ("TI", pub.title),
        ("T2", pub.journal),  # 2011 spec: journal of a JOUR record
        ("JO", pub.journal),  # 2001 spec readers: periodical name, full format
        ("PY", pub.year),
        ("DA", date),
        ("VL", pub.volume),
        ("IS", pub.issue),
        ("SP", pub.first_page),
        ("EP", pub.last_page),
        ("DO", pub.doi),
        ("AN", pub.pmid),
        ("UR", PUBMED_URL.format(pub.pmid) if pub.pmid else None),
        ("LA", pub.language),
        ("AB", pub.abstract),
    ]
    tags += [("KW", kw) for kw in pub.keywords]
    tags.append(("N1", "GEO: " + ", ".join(pub.series) if pub.series else None))
    # The spec allows no blank line between records: "ER  - " ends one, "TY" opens the next.
    return "".join(f"{tag}  - {value}\r\n" for tag, value in tags if value) + "ER  - \r\n"


_ENTRY_WRITERS: dict[str, Callable[[_Publication, int], str]] = {"bibtex": _bibtex, "ris": _ris}
