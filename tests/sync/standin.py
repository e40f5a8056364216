"""A local stand-in for NCBI E-utilities and GEO's download site, for the sync tests.

A real HTTP server (``ThreadingHTTPServer`` on 127.0.0.1, free port, daemon thread)
answering in NCBI's exact formats (recorded real responses: tests/data/eutils/) from
real records (tests/sync/standin_corpus.py). Code under test never reaches NCBI.

Public API::

    with EutilsStandin(records=300, start=date(2024, 1, 1), end=date(2024, 12, 31),
                       rate_limit=False) as s:
        s.url          # "http://127.0.0.1:PORT/entrez/eutils/"  (OMICSORACLE_EUTILS_URL)
        s.ftp_url      # "http://127.0.0.1:PORT/geo/"            (OMICSORACLE_GEO_FTP_URL)
        s.records      # {accession: GeoRecord} currently served
        s.articles     # {pmid: serialized <PubmedArticle>}
        s.add_series(acc, title=..., on=date, ...) / s.add_dataset(...) -> GeoRecord
        s.publish([GeoRecord, ...], on=date)   # new records appear (incremental sync)
        s.modify("GSE53", title="...", on=date)  # changed record, new mdat
        s.remove("GSE53")  # gone from new searches; a WebEnv made before still holds its
                           # uid, so esummary then gives NCBI's missing-uid error entry
        s.fault(kind, times=1, match=None, where=None, **opts)  (see below)
        s.clear_faults()
        s.requests         # [Logged(t=monotonic, endpoint, params, status), ...] by arrival
        s.count(endpoint=None), s.max_in_window(seconds=1.0, endpoint=None)
        s.on_request(callback)  # callback(n, endpoint) before answering request n (1-based)

Endpoints (GET or POST form):
- ``esearch.fcgi`` db=gds; term with ``GSE[ETYP]`` and/or ``GDS[ETYP]`` (a term with
  neither matches every entry type); datetype=pdat|mdat with mindate/maxdate
  (YYYY, YYYY/MM or YYYY/MM/DD, inclusive); usehistory=y -> WebEnv/QueryKey (a WebEnv
  passed in gets the next query key); retstart/retmax (default 20); retmode=json|xml.
  Order: newest first by the window's date (pdat when none), ties by uid descending,
  like GEO DataSets' default order (most recent first).
  Uids: 200000000 + GSE number for series, the GDS number for DataSets.
- ``esummary.fcgi`` db=gds with query_key+WebEnv (+retstart/retmax, retmax capped at
  500 as NCBI caps JSON) or id=comma list; retmode=json (shape of
  tests/data/eutils/esummary.gds.json). A uid no longer served gives
  ``{"uid": uid, "error": "cannot get document summary"}`` and stays in ``uids``; an
  unknown WebEnv/query_key gives ``{"header": ..., "esummaryresult": ["Unable to
  obtain query #N"]}``; db other than gds: ``{"header":..., "error": "..."}``.
- ``efetch.fcgi`` db=pubmed id=... -> PubmedArticleSet (prolog of efetch.pubmed.xml)
  with the real articles it has; unknown PMIDs are left out, as NCBI does.
- ``elink.fcgi`` dbfrom=gds db=pubmed id=... -> eLinkResult XML (one LinkSet for a
  comma list, one per repeated ``id=`` parameter, as NCBI does); retmode=json too.
- ``{ftp_url}series/GSE{n//1000}nnn/GSE{n}/soft/GSE{n}_family.soft.gz`` (GSE1..999 in
  ``GSEnnn``): the real fixture SOFT for GSE87585/GSE93431/GSE94489, a generated family
  SOFT for other served series, 404 otherwise. Endpoint name in the log: "download".
- ``/_standin/requests``: the request log as JSON (for a stand-in run as a process).

Faults, consumed in the order added, thread-safe. ``times`` = how many matching
requests get it (None = every one); ``match`` = an endpoint name or a collection of
them ("esearch", "esummary", "efetch", "elink", "download"); ``where`` = a predicate
on the params dict:
- "429": HTTP 429 with NCBI's JSON body; ``retry_after`` seconds (default 1), a
  ``datetime`` (sent as an HTTP-date) or a string (sent as is); None omits the header.
- "500", "503": that status with an HTML body (``retry_after`` optional on 503).
- "slow": ``delay`` seconds before answering; ``trickle=S`` sends the body in
  ``chunks`` pieces over S seconds instead (a slow body).
- "truncate": Content-Length of the full body, half of it sent, connection closed.
- "malformed": HTTP 200 with the body cut in half (not valid JSON/XML/gzip), correct
  Content-Length for what is sent; ``body=b"..."`` to send something else.
- "vanish": ``uid=`` (or ``accession=``): esummary answers the missing-uid error entry
  for it while esearch still lists it (default match "esummary").
- "eutils_error": HTTP 200 with the real error body: esearch JSON
  ``{"header":..,"esearchresult":{"ERROR": msg}}``, XML ``<eSearchResult><ERROR>``;
  esummary ``{"header":..,"error": msg}``; efetch/elink ``<eFetchResult><ERROR>``
  (``message=`` default "Search Backend failed: ...").

``rate_limit=True`` answers 429 like NCBI when more than 3 E-utilities requests
(10 with api_key) arrive in any 1-s window, so a misbehaving client is visible.

As a process (benchmarks, SIGKILL tests)::

    python -m tests.sync.standin --port 0 --records 300   # from the repo root
    python tests/sync/standin.py --port 0 --records 300

prints the E-utilities URL on the first stdout line and the download URL on the second,
then serves until killed.
"""

from __future__ import annotations

import argparse
import datetime as dt
import email.utils
import json
import re
import sys
import threading
import time
import urllib.parse
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, NamedTuple

if __package__:
    from .standin_corpus import GeoRecord, Sample, family_soft, load, series_uid
else:  # imported as a top-level module (pytest puts tests/sync on sys.path) or run by path
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from standin_corpus import GeoRecord, Sample, family_soft, load, series_uid

EUTILS_PATH = "/entrez/eutils/"
FTP_PATH = "/geo/"
FAULT_KINDS = frozenset(
    {"429", "500", "503", "slow", "truncate", "malformed", "vanish", "eutils_error"}
)
ENDPOINTS = ("esearch", "esummary", "efetch", "elink")
ESUMMARY_MAX = 500
ESEARCH_MAX = 10000
MISSING_UID = "cannot get document summary"
# Prologs copied from the recorded responses in tests/data/eutils/.
ESEARCH_DOCTYPE = (
    '<?xml version="1.0" ?>\n<!DOCTYPE eSearchResult PUBLIC "-//NLM//DTD eSearchResult, 11 May '
    '2002//EN" "http://www.ncbi.nlm.nih.gov/entrez/query/DTD/eSearch_020511.dtd">\n'
)
EFETCH_PROLOG = (
    '<?xml version="1.0"?>\n<!DOCTYPE PubmedArticleSet PUBLIC "-//NLM//DTD PubMedArticle, '
    '1st January 2013//EN" "http://www.ncbi.nlm.nih.gov/corehtml/query/DTD/pubmed_130101.dtd">\n'
)
ELINK_DOCTYPE = (
    '<?xml version="1.0" encoding="UTF-8" ?>\n<!DOCTYPE eLinkResult PUBLIC "-//NLM//DTD elink '
    '20101123//EN" "https://eutils.ncbi.nlm.nih.gov/eutils/dtd/20101123/elink.dtd">\n'
)
DEFAULT_START = dt.date(2024, 1, 1)
DEFAULT_END = dt.date(2024, 12, 31)


class Logged(NamedTuple):
    """One request as the stand-in saw it (t = time.monotonic() at arrival)."""

    t: float
    endpoint: str
    params: dict[str, str]
    status: int


@dataclass(slots=True)
class Fault:
    """A scripted fault; ``times`` None = unlimited."""

    kind: str
    times: int | None
    endpoints: frozenset[str] | None
    where: Callable[[Mapping[str, str]], bool] | None
    opts: dict[str, Any]

    def matches(self, endpoint: str, params: Mapping[str, str]) -> bool:
        if self.times is not None and self.times <= 0:
            return False
        if self.endpoints is not None and endpoint not in self.endpoints:
            return False
        return self.where is None or bool(self.where(params))


@dataclass(slots=True)
class _History:
    """Query keys of one WebEnv: the uid list each esearch produced (a snapshot)."""

    queries: list[list[str]]


def _xml_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def parse_date(text: str, *, end: bool) -> dt.date:
    """NCBI's mindate/maxdate: YYYY, YYYY/MM or YYYY/MM/DD (an end date rounds up)."""
    parts = [int(p) for p in re.split(r"[/-]", text.strip())]
    if len(parts) == 1:
        return dt.date(parts[0], 12, 31) if end else dt.date(parts[0], 1, 1)
    if len(parts) == 2:
        first = dt.date(parts[0], parts[1], 1)
        if not end:
            return first
        nxt = dt.date(parts[0] + parts[1] // 12, parts[1] % 12 + 1, 1)
        return nxt - dt.timedelta(days=1)
    return dt.date(parts[0], parts[1], parts[2])


def summary_doc(rec: GeoRecord) -> dict[str, Any]:
    """The esummary JSON document of a record, in the recorded esummary.gds.json shape."""
    is_gds = rec.entrytype == "GDS"
    folder = "datasets" if is_gds else "series"
    stem = (
        f"{rec.accession[:3]}{rec.number // 1000 or ''}nnn"
        if rec.number >= 1000
        else (f"{rec.accession[:3]}nnn")
    )
    array = any("by array" in t for t in rec.types)
    return {
        "uid": rec.uid,
        "accession": rec.accession,
        "gds": str(rec.number) if is_gds else "",
        "title": rec.title,
        "summary": rec.summary,
        "gpl": ";".join(p.removeprefix("GPL") for p in rec.platforms),
        "gse": rec.gse if is_gds else str(rec.number),
        "taxon": "; ".join(rec.taxa),
        "entrytype": rec.entrytype,
        "gdstype": "; ".join(rec.types),
        "ptechtype": rec.ptechtype,
        "valtype": rec.valtype,
        "ssinfo": rec.ssinfo,
        "subsetinfo": rec.subsetinfo,
        "pdat": rec.pdat.strftime("%Y/%m/%d"),
        "suppfile": rec.suppfile,
        "samples": [{"accession": s.accession, "title": s.title} for s in rec.samples],
        "relations": [],
        "extrelations": [],
        "n_samples": len(rec.samples),
        "seriestitle": "",
        "platformtitle": "",
        "platformtaxa": "",
        "samplestaxa": "",
        "pubmedids": list(rec.pubmedids),
        "projects": [],
        "ftplink": f"ftp://ftp.ncbi.nlm.nih.gov/geo/{folder}/{stem}/{rec.accession}/",
        "geo2r": "yes" if array and not is_gds else "no",
    }


def soft_path(accession: str) -> str:
    """GEO's path of a family SOFT below the download root (GSE1..999 live in GSEnnn)."""
    n = int(accession[3:])
    stem = f"GSE{n // 1000}nnn" if n >= 1000 else "GSEnnn"
    return f"series/{stem}/{accession}/soft/{accession}_family.soft.gz"


class EutilsStandin:
    """The stand-in server; see the module docstring. Use as a context manager."""

    def __init__(
        self,
        records: int = 300,
        *,
        start: dt.date = DEFAULT_START,
        end: dt.date = DEFAULT_END,
        rate_limit: bool = False,
        port: int = 0,
    ) -> None:
        corpus = load(records, start, end)
        self._lock = threading.RLock()
        self._records: dict[str, GeoRecord] = {r.accession: r for r in corpus.records}
        self._by_uid: dict[str, GeoRecord] = {r.uid: r for r in corpus.records}
        self.articles: dict[int, bytes] = corpus.articles
        self._histories: dict[str, _History] = {}
        self._faults: list[Fault] = []
        self._vanished: set[str] = set()
        self._log: list[Logged] = []
        self._arrivals = 0
        self._callbacks: list[Callable[[int, str], None]] = []
        self._webenv_seq = 0
        # Arrival times of requests being answered: the rate limit counts them too.
        self._pending: list[float] = []
        self.rate_limit = rate_limit
        self._closing = threading.Event()
        self._server = ThreadingHTTPServer(("127.0.0.1", port), _handler_for(self))
        self._server.daemon_threads = True
        self._thread: threading.Thread | None = None
        host, bound = self._server.server_address[:2]
        self.base = f"http://{host!s}:{bound}"
        self.url = self.base + EUTILS_PATH
        self.ftp_url = self.base + FTP_PATH

    # ------------------------------------------------------------ lifecycle
    def start(self) -> EutilsStandin:
        """Serve from a daemon thread (idempotent)."""
        if self._thread is None:
            self._thread = threading.Thread(
                target=self._server.serve_forever,
                kwargs={"poll_interval": 0.05},
                name="eutils-standin",
                daemon=True,
            )
            self._thread.start()
        return self

    def close(self) -> None:
        """Stop serving, wake sleeping slow faults, release the socket."""
        self._closing.set()
        if self._thread is not None:
            self._server.shutdown()
            self._thread.join(5)
            self._thread = None
        self._server.server_close()

    def __enter__(self) -> EutilsStandin:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------ records
    @property
    def records(self) -> dict[str, GeoRecord]:
        """Accession -> record currently served (a copy)."""
        with self._lock:
            return dict(self._records)

    def publish(self, records: Iterable[GeoRecord], on: dt.date | None = None) -> None:
        """Make records appear; ``on`` sets both their pdat and mdat."""
        with self._lock:
            for rec in records:
                if on is not None:
                    rec = rec.with_changes(pdat=on, mdat=on)
                self._records[rec.accession] = rec
                self._by_uid[rec.uid] = rec
                self._vanished.discard(rec.uid)

    def add_series(
        self,
        accession: str,
        *,
        title: str,
        on: dt.date,
        summary: str = "",
        overall_design: str = "",
        taxa: tuple[str, ...] = ("Homo sapiens",),
        types: tuple[str, ...] = ("Expression profiling by high throughput sequencing",),
        platforms: tuple[str, ...] = ("GPL16791",),
        n_samples: int = 2,
        pubmedids: tuple[int, ...] = (),
    ) -> GeoRecord:
        """Publish a new series dated ``on`` (samples GSM<number*100+k> named "<title> sample k")."""
        number = int(accession[3:])
        samples = tuple(
            Sample(
                f"GSM{number * 100 + k}",
                f"{title} sample {k + 1}",
                (f"replicate: {k + 1}",),
                taxa[0] if taxa else "",
            )
            for k in range(n_samples)
        )
        rec = GeoRecord(
            uid=series_uid(accession),
            accession=accession,
            entrytype="GSE",
            title=title,
            summary=summary,
            overall_design=overall_design,
            pdat=on,
            mdat=on,
            taxa=taxa,
            types=types,
            platforms=platforms,
            samples=samples,
            pubmedids=pubmedids,
        )
        self.publish([rec])
        return rec

    def add_dataset(
        self,
        accession: str,
        *,
        title: str,
        on: dt.date,
        reference_series: str = "",
        summary: str = "",
        taxa: tuple[str, ...] = ("Homo sapiens",),
        platforms: tuple[str, ...] = ("GPL570",),
        samples: tuple[str, ...] = (),
    ) -> GeoRecord:
        """Publish a new DataSet (entrytype GDS, uid = its number) dated ``on``."""
        rec = GeoRecord(
            uid=accession[3:],
            accession=accession,
            entrytype="GDS",
            title=title,
            summary=summary,
            pdat=on,
            mdat=on,
            taxa=taxa,
            types=("Expression profiling by array",),
            platforms=platforms,
            samples=tuple(Sample(s, s) for s in samples),
            gse=reference_series.removeprefix("GSE"),
            valtype="count",
        )
        self.publish([rec])
        return rec

    def modify(self, accession: str, *, on: dt.date, **changes: Any) -> GeoRecord:
        """Change fields of a served record (title=, summary=, ...); its mdat becomes ``on``."""
        with self._lock:
            rec = self._records[accession].with_changes(mdat=on, **changes)
            self._records[accession] = rec
            self._by_uid[rec.uid] = rec
            return rec

    def remove(self, accession: str) -> None:
        """Stop serving a record: absent from new esearches, esummary gives the error entry."""
        with self._lock:
            rec = self._records.pop(accession)
            self._vanished.add(rec.uid)

    # ------------------------------------------------------------ faults, log
    def fault(
        self,
        kind: str,
        *,
        times: int | None = 1,
        match: str | Collection[str] | None = None,
        where: Callable[[Mapping[str, str]], bool] | None = None,
        **opts: Any,
    ) -> Fault:
        """Script a fault (see the module docstring); returns it (``.times`` counts down)."""
        if kind == "slow_body":
            kind, opts = "slow", {"trickle": 1.0, **opts}
        if kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {kind!r}; one of {sorted(FAULT_KINDS)}")
        if kind == "vanish":
            if "accession" in opts and "uid" not in opts:
                opts["uid"] = self._records[opts["accession"]].uid
            if "uid" not in opts:
                raise ValueError("vanish needs uid= or accession=")
            match = "esummary" if match is None else match
        endpoints = (
            None if match is None else frozenset([match] if isinstance(match, str) else match)
        )
        item = Fault(kind, times, endpoints, where, dict(opts))
        with self._lock:
            self._faults.append(item)
        return item

    def clear_faults(self) -> None:
        """Drop every scripted fault not yet consumed."""
        with self._lock:
            self._faults.clear()

    def on_request(self, callback: Callable[[int, str], None]) -> None:
        """Call ``callback(n, endpoint)`` before answering the n-th request (1-based)."""
        with self._lock:
            self._callbacks.append(callback)

    @property
    def requests(self) -> list[Logged]:
        """Every answered request, by arrival time."""
        with self._lock:
            return sorted(self._log, key=lambda r: r.t)

    def count(self, endpoint: str | None = None) -> int:
        """How many requests (to ``endpoint``) were answered."""
        return sum(1 for r in self.requests if endpoint is None or r.endpoint == endpoint)

    def max_in_window(
        self, seconds: float = 1.0, endpoint: str | Collection[str] | None = None
    ) -> int:
        """Most request arrivals inside any half-open window [t, t + seconds)."""
        wanted = (
            None
            if endpoint is None
            else ({endpoint} if isinstance(endpoint, str) else set(endpoint))
        )
        times = [r.t for r in self.requests if wanted is None or r.endpoint in wanted]
        best, lo = 0, 0
        for hi, t in enumerate(times):
            while t - times[lo] >= seconds:
                lo += 1
            best = max(best, hi - lo + 1)
        return best

    # ------------------------------------------------------------ internals used by the handler
    def _arrive(self, endpoint: str, params: Mapping[str, str]) -> tuple[float, Fault | None, bool]:
        """Register an arrival: run hooks, pick the fault, apply the rate limit."""
        t = time.monotonic()
        with self._lock:
            self._arrivals += 1
            n = self._arrivals
            callbacks = list(self._callbacks)
        for cb in callbacks:
            cb(n, endpoint)
        with self._lock:
            limited = False
            if self.rate_limit and endpoint in ENDPOINTS:
                cap = 10 if params.get("api_key") else 3
                recent = sum(1 for r in self._log if r.endpoint in ENDPOINTS and t - r.t < 1.0)
                pending = sum(1 for x in self._pending if t - x < 1.0)
                limited = recent + pending >= cap
            chosen = None
            if not limited:
                for f in self._faults:
                    if f.kind != "vanish" and f.matches(endpoint, params):
                        chosen = f
                        if f.times is not None:
                            f.times -= 1
                        break
            self._pending.append(t)
        return t, chosen, limited

    def _done(self, t: float, endpoint: str, params: dict[str, str], status: int) -> None:
        with self._lock:
            if t in self._pending:
                self._pending.remove(t)
            self._log.append(Logged(t, endpoint, params, status))

    def _vanish_now(self, uids: list[str], params: Mapping[str, str]) -> set[str]:
        """Uids that get the error entry in this esummary (removed or a vanish fault)."""
        with self._lock:
            gone = {u for u in uids if u in self._vanished or u not in self._by_uid}
            for f in self._faults:
                if f.kind == "vanish" and f.opts["uid"] in uids and f.matches("esummary", params):
                    gone.add(str(f.opts["uid"]))
                    if f.times is not None:
                        f.times -= 1
            return gone

    def _search(self, params: Mapping[str, str]) -> list[str]:
        term = params.get("term", "")
        kinds = {k for k in ("GSE", "GDS") if f"{k}[ETYP]" in term.upper()} or {"GSE", "GDS"}
        datetype = params.get("datetype", "").lower()
        field = "mdat" if datetype == "mdat" else "pdat"
        lo = parse_date(params["mindate"], end=False) if params.get("mindate") else None
        hi = parse_date(params["maxdate"], end=True) if params.get("maxdate") else None
        with self._lock:
            hits = [
                r
                for r in self._records.values()
                if r.entrytype in kinds
                and (lo is None or getattr(r, field) >= lo)
                and (hi is None or getattr(r, field) <= hi)
            ]
        hits.sort(key=lambda r: (getattr(r, field), int(r.uid)), reverse=True)
        return [r.uid for r in hits]

    def _new_query(self, webenv: str | None, uids: list[str]) -> tuple[str, int]:
        with self._lock:
            if webenv is None or webenv not in self._histories:
                self._webenv_seq += 1
                webenv = f"MCID_{self._webenv_seq:04d}{id(self) & 0xFFFFFF:06x}standin"
                self._histories[webenv] = _History(queries=[])
            hist = self._histories[webenv]
            hist.queries.append(uids)
            return webenv, len(hist.queries)

    def _history(self, webenv: str, query_key: str) -> list[str] | None:
        with self._lock:
            hist = self._histories.get(webenv)
            if hist is None or not query_key.isdigit():
                return None
            k = int(query_key)
            return list(hist.queries[k - 1]) if 1 <= k <= len(hist.queries) else None

    def _record_for_uid(self, uid: str) -> GeoRecord | None:
        with self._lock:
            return self._by_uid.get(uid)

    def _download(self, path: str) -> bytes | None:
        m = re.fullmatch(r"series/(GSE(?:\d+)?nnn)/(GSE\d+)/soft/(GSE\d+)_family\.soft\.gz", path)
        if m is None or m.group(2) != m.group(3):
            return None
        acc = m.group(2)
        with self._lock:
            rec = self._records.get(acc)
        if rec is None or rec.entrytype != "GSE" or soft_path(acc) != path:
            return None
        return family_soft(rec)


# --------------------------------------------------------------------------- responses

Response = tuple[int, str, bytes, dict[str, str]]  # status, content type, body, extra headers
JSON_TYPE = "application/json; charset=UTF-8"
XML_TYPE = "text/xml; charset=UTF-8"
HTML_TYPE = "text/html; charset=UTF-8"


def _json(value: object, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return status, JSON_TYPE, json.dumps(value, indent=4).encode("utf-8"), headers or {}


def _xml(text: str) -> Response:
    return 200, XML_TYPE, text.encode("utf-8"), {}


def _int(params: Mapping[str, str], key: str, default: int) -> int:
    value = params.get(key, "").strip()
    return int(value) if value.isdigit() else default


def _header(kind: str) -> dict[str, str]:
    return {"type": kind, "version": "0.3"}


def _html_error(status: int, reason: str) -> bytes:
    return (
        f"<!DOCTYPE html><html><head><title>{status} {reason}</title></head>"
        f"<body><h1>{reason}</h1></body></html>\n"
    ).encode()


def esearch(standin: EutilsStandin, params: Mapping[str, str]) -> Response:
    """esearch.fcgi on db=gds (JSON or XML, optional history)."""
    as_json = params.get("retmode", "xml").lower() == "json"
    db = params.get("db", "")
    if db != "gds":
        return _eutils_error("esearch", params, f"Invalid db name specified: {db}")
    uids = standin._search(params)
    retstart = _int(params, "retstart", 0)
    retmax = min(_int(params, "retmax", 20), ESEARCH_MAX)
    page = uids[retstart : retstart + retmax]
    history: tuple[str, int] | None = None
    if params.get("usehistory", "").lower() == "y":
        history = standin._new_query(params.get("WebEnv") or None, uids)
    term = params.get("term", "")
    if as_json:
        result: dict[str, Any] = {
            "count": str(len(uids)),
            "retmax": str(len(page)),
            "retstart": str(retstart),
        }
        if history is not None:
            result["querykey"] = str(history[1])
            result["webenv"] = history[0]
        result.update(
            {
                "idlist": page,
                "translationset": [],
                "translationstack": [
                    {"term": term, "field": "ETYP", "count": str(len(uids)), "explode": "N"},
                    "GROUP",
                ],
                "querytranslation": term,
            }
        )
        return _json({"header": _header("esearch"), "esearchresult": result})
    parts = [
        f"<eSearchResult><Count>{len(uids)}</Count><RetMax>{len(page)}</RetMax>"
        f"<RetStart>{retstart}</RetStart>"
    ]
    if history is not None:
        parts.append(f"<QueryKey>{history[1]}</QueryKey><WebEnv>{history[0]}</WebEnv>")
    parts.append("<IdList>\n" + "".join(f"\t\t<Id>{u}</Id>\n" for u in page) + "\t</IdList>")
    parts.append(
        f"<TranslationSet/><TranslationStack>   <TermSet>    <Term>{_xml_escape(term)}</Term>"
        f"    <Field>ETYP</Field>    <Count>{len(uids)}</Count>    <Explode>N</Explode>"
        f"   </TermSet>   <OP>GROUP</OP>  </TranslationStack>"
        f"<QueryTranslation>{_xml_escape(term)}</QueryTranslation></eSearchResult>\n"
    )
    return _xml(ESEARCH_DOCTYPE + "".join(parts))


def esummary(standin: EutilsStandin, params: Mapping[str, str]) -> Response:
    """esummary.fcgi on db=gds, JSON (by id list or by WebEnv + query_key)."""
    db = params.get("db", "")
    if db != "gds":
        return _eutils_error("esummary", params, f"Invalid db name specified: {db}")
    if params.get("WebEnv") or params.get("query_key"):
        key = params.get("query_key", "")
        found = standin._history(params.get("WebEnv", ""), key)
        if found is None:
            return _json(
                {
                    "header": _header("esummary"),
                    "esummaryresult": [f"Unable to obtain query #{key or 1}"],
                }
            )
        retstart = _int(params, "retstart", 0)
        retmax = min(_int(params, "retmax", 20), ESUMMARY_MAX)
        uids = found[retstart : retstart + retmax]
    else:
        uids = [u.strip() for u in params.get("id", "").split(",") if u.strip()]
        if not uids:
            return _json(
                {"header": _header("esummary"), "esummaryresult": ["Empty id list - nothing todo"]}
            )
    gone = standin._vanish_now(uids, params)
    result: dict[str, Any] = {"uids": uids}
    for uid in uids:
        rec = None if uid in gone else standin._record_for_uid(uid)
        result[uid] = {"uid": uid, "error": MISSING_UID} if rec is None else summary_doc(rec)
    return _json({"header": _header("esummary"), "result": result})


def efetch(standin: EutilsStandin, params: Mapping[str, str]) -> Response:
    """efetch.fcgi db=pubmed retmode=xml: the real articles it has, unknown PMIDs left out."""
    db = params.get("db", "")
    if db != "pubmed":
        return _eutils_error("efetch", params, f"Invalid db name specified: {db}")
    wanted = [p.strip() for p in params.get("id", "").split(",") if p.strip()]
    found = [standin.articles[int(p)] for p in wanted if p.isdigit() and int(p) in standin.articles]
    body = EFETCH_PROLOG.encode() + b"<PubmedArticleSet>\n"
    body += b"".join(a + b"\n" for a in found) + b"</PubmedArticleSet>\n"
    return 200, XML_TYPE, body, {}


def elink(standin: EutilsStandin, params: Mapping[str, str], id_groups: list[str]) -> Response:
    """elink.fcgi dbfrom=gds db=pubmed: eLinkResult XML (or JSON) with gds_pubmed links."""
    if params.get("dbfrom") != "gds" or params.get("db") != "pubmed":
        return _eutils_error("elink", params, "only dbfrom=gds db=pubmed is served")
    sets: list[tuple[list[str], list[int]]] = []
    for group in id_groups:
        ids = [u.strip() for u in group.split(",") if u.strip()]
        links: dict[int, None] = {}
        for uid in ids:
            rec = standin._record_for_uid(uid)
            if rec is not None and uid not in standin._vanished:
                links.update(dict.fromkeys(rec.pubmedids))
        sets.append((ids, sorted(links, reverse=True)))
    if params.get("retmode", "xml").lower() == "json":
        return _json(
            {
                "header": _header("elink"),
                "linksets": [
                    {
                        "dbfrom": "gds",
                        "ids": ids,
                        **(
                            {
                                "linksetdbs": [
                                    {
                                        "dbto": "pubmed",
                                        "linkname": "gds_pubmed",
                                        "links": [str(p) for p in links],
                                    }
                                ]
                            }
                            if links
                            else {}
                        ),
                    }
                    for ids, links in sets
                ],
            }
        )
    out = [ELINK_DOCTYPE, "<eLinkResult>\n"]
    for ids, pmids in sets:
        out.append("\n  <LinkSet>\n    <DbFrom>gds</DbFrom>\n    <IdList>\n")
        out.extend(f"      <Id>{u}</Id>\n" for u in ids)
        out.append("    </IdList>\n")
        if pmids:
            out.append(
                "    <LinkSetDb>\n      <DbTo>pubmed</DbTo>\n"
                "      <LinkName>gds_pubmed</LinkName>\n"
            )
            out.extend(f"        <Link>\n\t\t\t\t<Id>{p}</Id>\n\t\t\t</Link>\n" for p in pmids)
            out.append("    </LinkSetDb>\n")
        out.append("  </LinkSet>\n")
    out.append("</eLinkResult>\n")
    return _xml("".join(out))


def _eutils_error(endpoint: str, params: Mapping[str, str], message: str) -> Response:
    """The 200-with-error bodies E-utilities send."""
    as_json = params.get("retmode", "xml").lower() == "json"
    if endpoint == "esearch":
        if as_json:
            return _json({"header": _header("esearch"), "esearchresult": {"ERROR": message}})
        return _xml(
            ESEARCH_DOCTYPE + f"<eSearchResult><ERROR>{_xml_escape(message)}</ERROR>"
            "</eSearchResult>\n"
        )
    if endpoint == "esummary":
        return _json({"header": _header("esummary"), "error": message})
    if endpoint == "elink" and as_json:
        return _json({"header": _header("elink"), "ERROR": message})
    return _xml(
        f'<?xml version="1.0" encoding="UTF-8" ?>\n<eFetchResult>\n\t<ERROR>'
        f"{_xml_escape(message)}</ERROR>\n</eFetchResult>\n"
    )


def _retry_after(value: object) -> str:
    """Retry-After as seconds, or as an HTTP-date when given a datetime (RFC 9110 allows both)."""
    if isinstance(value, dt.datetime):
        return email.utils.format_datetime(value.astimezone(dt.UTC), usegmt=True)
    return str(value)


def _fault_response(
    standin: EutilsStandin, fault: Fault, endpoint: str, params: Mapping[str, str]
) -> Response | None:
    """The response a status/error fault replaces the answer with (None: answer normally)."""
    if fault.kind == "429":
        retry = fault.opts.get("retry_after", 1)
        headers = {} if retry is None else {"Retry-After": _retry_after(retry)}
        cap = "10" if params.get("api_key") else "3"
        body = {
            "error": "API rate limit exceeded",
            "api-key": "127.0.0.1",
            "count": str(int(cap) + 1),
            "limit": cap,
        }
        return 429, JSON_TYPE, json.dumps(body).encode(), headers
    if fault.kind in ("500", "503"):
        status = int(fault.kind)
        reason = "Internal Server Error" if status == 500 else "Service Unavailable"
        retry = fault.opts.get("retry_after")
        extra = {} if retry is None else {"Retry-After": _retry_after(retry)}
        return (
            status,
            HTML_TYPE,
            _html_error(status, reason),
            extra,
        )
    if fault.kind == "eutils_error":
        message = str(
            fault.opts.get(
                "message", "Search Backend failed: Database is not available, please try later"
            )
        )
        return _eutils_error(endpoint, params, message)
    return None


# --------------------------------------------------------------------------- HTTP


def _handler_for(standin: EutilsStandin) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as NCBI; every answer has Content-Length
        # Headers and body are separate writes: without this, Nagle + delayed ACK add 40 ms.
        disable_nagle_algorithm = True
        server_version = "standin"
        _pending_log: tuple[float, str, dict[str, str]] | None = None

        def log_message(self, format: str, *args: Any) -> None:
            pass  # the request log is standin.requests, not stderr

        def do_GET(self) -> None:
            self._serve(b"")

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            self._serve(self.rfile.read(length) if length else b"")

        def _serve(self, form: bytes) -> None:
            split = urllib.parse.urlsplit(self.path)
            pairs = urllib.parse.parse_qsl(split.query, keep_blank_values=True)
            pairs += urllib.parse.parse_qsl(form.decode("utf-8", "replace"), keep_blank_values=True)
            params: dict[str, str] = {}
            for k, v in pairs:
                params[k] = f"{params[k]},{v}" if k in params else v
            path = split.path
            self._pending_log = None
            if path == "/_standin/requests":
                log = [list(r) for r in standin.requests]
                self._send((200, JSON_TYPE, json.dumps(log).encode(), {}), None)
                return
            if path.startswith(EUTILS_PATH):
                endpoint = path[len(EUTILS_PATH) :].removesuffix(".fcgi")
                endpoint = endpoint if endpoint in ENDPOINTS else "unknown"
            elif path.startswith(FTP_PATH):
                endpoint = "download"
            else:
                endpoint = "unknown"
            t, fault, limited = standin._arrive(endpoint, params)
            # Logged just before the answer is written (see _send), so a client that
            # has its response always finds its request in standin.requests.
            self._pending_log = (t, endpoint, params)
            try:
                self._answer(endpoint, params, pairs, path, fault, limited)
            finally:
                self._log_status(0)  # only when _send never ran (an error in the stand-in)

        def _log_status(self, status: int) -> None:
            if self._pending_log is not None:
                t, endpoint, params = self._pending_log
                self._pending_log = None
                standin._done(t, endpoint, params, status)

        def _answer(
            self,
            endpoint: str,
            params: dict[str, str],
            pairs: list[tuple[str, str]],
            path: str,
            fault: Fault | None,
            limited: bool,
        ) -> int:
            if limited:
                resp = _fault_response(standin, Fault("429", 1, None, None, {}), endpoint, params)
                assert resp is not None
                return self._send(resp, None)
            if fault is not None:
                replaced = _fault_response(standin, fault, endpoint, params)
                if replaced is not None:
                    return self._send(replaced, None)
                if fault.kind == "slow" and "trickle" not in fault.opts:
                    standin._closing.wait(float(fault.opts.get("delay", 1.0)))
            return self._send(self._normal(endpoint, params, pairs, path), fault)

        def _normal(
            self, endpoint: str, params: dict[str, str], pairs: list[tuple[str, str]], path: str
        ) -> Response:
            if endpoint == "esearch":
                return esearch(standin, params)
            if endpoint == "esummary":
                return esummary(standin, params)
            if endpoint == "efetch":
                return efetch(standin, params)
            if endpoint == "elink":
                return elink(standin, params, [v for k, v in pairs if k == "id"])
            if endpoint == "download":
                body = standin._download(path[len(FTP_PATH) :])
                if body is not None:
                    return 200, "application/x-gzip", body, {}
            return 404, HTML_TYPE, _html_error(404, "Not Found"), {}

        def _send(self, resp: Response, fault: Fault | None) -> int:
            status, ctype, body, headers = resp
            self._log_status(status)
            sent = body
            if fault is not None and fault.kind == "truncate":
                sent = body[: len(body) // 2]
            elif fault is not None and fault.kind == "malformed":
                body = sent = fault.opts.get("body", body[: len(body) // 2])
            try:
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                for k, v in headers.items():
                    self.send_header(k, v)
                if fault is not None and fault.kind == "truncate":
                    self.send_header("Connection", "close")
                    self.close_connection = True
                self.end_headers()
                if fault is not None and fault.kind == "slow" and "trickle" in fault.opts:
                    chunks = max(int(fault.opts.get("chunks", 10)), 1)
                    step = max(len(sent) // chunks, 1)
                    pause = float(fault.opts["trickle"]) / chunks
                    for i in range(0, len(sent), step):
                        self.wfile.write(sent[i : i + step])
                        self.wfile.flush()
                        if standin._closing.wait(pause):
                            break
                else:
                    self.wfile.write(sent)
                self.wfile.flush()
            except (BrokenPipeError, ConnectionResetError):
                self.close_connection = True  # the client gave up (e.g. its timeout)
            return status

    return Handler


# --------------------------------------------------------------------------- process


def main(argv: list[str] | None = None) -> int:
    """Serve as a process: print the E-utilities URL, then the download URL, then serve."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--records", type=int, default=300)
    ap.add_argument("--start", type=dt.date.fromisoformat, default=DEFAULT_START)
    ap.add_argument("--end", type=dt.date.fromisoformat, default=DEFAULT_END)
    ap.add_argument(
        "--rate-limit", action="store_true", help="answer 429 above 3/s (10/s with key)"
    )
    args = ap.parse_args(argv)
    standin = EutilsStandin(
        args.records, start=args.start, end=args.end, rate_limit=args.rate_limit, port=args.port
    )
    print(standin.url, flush=True)
    print(standin.ftp_url, flush=True)
    try:
        standin._server.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        pass
    finally:
        standin._server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
