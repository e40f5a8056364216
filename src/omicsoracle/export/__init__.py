"""Streaming export of search results (CSV, TSV, JSON) and their papers (BibTeX, RIS).

Writers turn an iterable of *pages* into an iterator of ``bytes`` chunks, one chunk per
page, so an export of every match runs in memory bounded by one page: the API pulls
the next result page only when the client has taken the previous chunk.

* :func:`series_rows` writes search hits (``SearchHit.to_dict()`` shapes) as CSV, TSV
  or a JSON array (:mod:`omicsoracle.export.series`);
* :func:`publication_entries` writes publications (stored PubMed docs, or the
  ``series``/``pmid``/``title`` link rows of ``Store.get``) as BibTeX or RIS
  (:mod:`omicsoracle.export.citations`).

Both raise ``ValueError`` for an unknown format when called, before the first page is
read, so the API can answer 400 instead of breaking a started stream.
"""

from __future__ import annotations

from omicsoracle.export.citations import bibtex_escape, publication_entries
from omicsoracle.export.series import COLUMNS, series_rows

__all__ = [
    "COLUMNS",
    "FILE_EXTENSIONS",
    "FORMATS",
    "MEDIA_TYPES",
    "PUBLICATION_FORMATS",
    "SERIES_FORMATS",
    "bibtex_escape",
    "publication_entries",
    "series_rows",
]

FORMATS = ("csv", "tsv", "json", "bibtex", "ris")
SERIES_FORMATS = ("csv", "tsv", "json")
PUBLICATION_FORMATS = ("bibtex", "ris")
MEDIA_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "tsv": "text/tab-separated-values; charset=utf-8",
    "json": "application/json",
    "bibtex": "application/x-bibtex; charset=utf-8",
    "ris": "application/x-research-info-systems; charset=utf-8",
}
FILE_EXTENSIONS = {"csv": "csv", "tsv": "tsv", "json": "json", "bibtex": "bib", "ris": "ris"}
