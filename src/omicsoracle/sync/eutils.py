"""The NCBI E-utilities client: esearch with history, esummary, efetch, elink, downloads.

NCBI's usage rules (https://www.ncbi.nlm.nih.gov/books/NBK25497/): every request
names the ``tool`` and, when known, the ``email`` of its user, plus the ``api_key``
when there is one; at most 3 requests per second without a key and 10 with one
(``TokenBucket``, shared by every request of the process, retries included); long
id lists go in a POST body.

Every call retries with exponential backoff and full jitter on 429, 5xx, timeouts,
connection errors, truncated bodies and malformed JSON/XML; a ``Retry-After``
header is obeyed instead of the backoff. 4xx other than 429 are not retried. An
E-utilities error reported inside a 200 body is retried only when it reads as
transient ("Search Backend failed", "temporarily unavailable"). When it gives up the
client raises ``EutilsError`` naming the request, the attempts and the last reason.
The API key never appears in a log line or an error message.
"""

from __future__ import annotations

import email.utils
import json
import logging
import random
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Any, NoReturn, TypeVar

import httpx
from lxml import etree  # type: ignore[import-untyped]  # lxml ships no type stubs

from omicsoracle.sync.ratelimit import TokenBucket, ncbi_rate

log = logging.getLogger(__name__)

T = TypeVar("T")

ESUMMARY_MAX = 500  # NCBI's cap for esummary in JSON mode
EFETCH_MAX = 200  # NCBI recommends at most 200 ids per efetch GET; the caller batches
# Above this many ids the list goes in a POST body (NCBI: "more than about 200 UIDs").
POST_ABOVE = 50

# E-utilities errors in a 200 body that go away when asked again.
_TRANSIENT = re.compile(
    r"backend failed|temporar|try (again )?later|not available|unavailable|timed? ?out"
    r"|server is busy|too many requests|rate limit",
    re.IGNORECASE,
)


class EutilsError(Exception):
    """An E-utilities request that failed for good.

    ``request`` says what was asked (human readable, no API key), ``attempts`` how
    many times it was sent, ``reason`` the last failure; ``status`` is the last HTTP
    status when there was one.
    """

    def __init__(
        self, request: str, attempts: int, reason: str, *, status: int | None = None
    ) -> None:
        self.request = request
        self.attempts = attempts
        self.reason = reason
        self.status = status
        plural = "attempt" if attempts == 1 else "attempts"
        super().__init__(f"{request}: failed after {attempts} {plural}: {reason}")


@dataclass(frozen=True)
class SearchResult:
    """What esearch found: the total count, the history handles, the ids of the page."""

    count: int
    webenv: str | None
    query_key: str | None
    ids: list[str]


class _Retry(Exception):
    """A failed attempt worth repeating; ``wait`` is a Retry-After in seconds, if any."""

    def __init__(self, reason: str, *, status: int | None = None, wait: float | None = None):
        super().__init__(reason)
        self.reason = reason
        self.status = status
        self.wait = wait


class _Fatal(Exception):
    """A failed attempt that asking again will not fix."""

    def __init__(self, reason: str, *, status: int | None = None):
        super().__init__(reason)
        self.reason = reason
        self.status = status


def retry_after_seconds(value: str | None, *, now: datetime | None = None) -> float | None:
    """A ``Retry-After`` header in seconds (delay-seconds or an HTTP date); None if absent/bad."""
    if value is None or not value.strip():
        return None
    text = value.strip()
    if text.isdigit():
        return float(text)
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


def _body_error(message: str) -> NoReturn:
    """An E-utilities error inside a 200 body: retried only when it reads as transient."""
    reason = f"E-utilities error: {message}"
    if _TRANSIENT.search(message):
        raise _Retry(reason)
    raise _Fatal(reason)


def _json_object(body: bytes) -> dict[str, Any]:
    try:
        value = json.loads(body)
    except ValueError as exc:  # also UnicodeDecodeError
        raise _Retry(f"malformed JSON ({exc})") from exc
    if not isinstance(value, dict):
        raise _Retry(f"malformed JSON: expected an object, got {type(value).__name__}")
    return value


# Entity expansion off, no DTD loading, no network: a response is data, never a fetch.
def _xml_parser() -> Any:
    return etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)


def _xml_root(body: bytes) -> Any:
    # Entity declarations live in the DTD's internal subset, before the root element.
    if b"<!ENTITY" in body[:8192]:
        raise _Fatal("XML with entity declarations refused")
    try:
        root = etree.fromstring(body, _xml_parser())
    except etree.XMLSyntaxError as exc:
        raise _Retry(f"malformed XML ({exc})") from exc
    if root is None:
        raise _Retry("malformed XML: empty document")
    return root


def _xml_error(root: Any) -> None:
    """Raise for an ``<ERROR>`` E-utilities put in a 200 XML body."""
    error = root.find("ERROR") if root.tag != "ERROR" else root
    if error is not None:
        _body_error((error.text or "").strip() or "unspecified error")


def _ids_label(ids: Sequence[str]) -> str:
    shown = ",".join(ids[:3]) + (",..." if len(ids) > 3 else "")
    return f"id={shown} ({len(ids)} ids)" if len(ids) > 3 else f"id={shown}"


class EutilsClient:
    """An E-utilities client; thread-safe (one ``httpx.Client``, one shared bucket)."""

    def __init__(
        self,
        base_url: str,
        *,
        tool: str = "omicsoracle",
        email: str | None = None,
        api_key: str | None = None,
        bucket: TokenBucket | None = None,
        max_attempts: int = 6,
        timeout: float = 60.0,
        backoff_base: float = 0.5,
        backoff_max: float = 60.0,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
        rng: random.Random | None = None,
    ) -> None:
        if max_attempts < 1:
            raise ValueError(f"max_attempts must be at least 1, not {max_attempts}")
        self.base_url = base_url.rstrip("/") + "/"
        self.tool = tool
        self.email = email
        self._api_key = api_key or None
        self.bucket = bucket if bucket is not None else TokenBucket(ncbi_rate(api_key))
        self.max_attempts = max_attempts
        self.backoff_base = backoff_base
        self.backoff_max = backoff_max
        self._sleep = sleep
        self._rng = rng or random.Random()
        self._http = httpx.Client(
            timeout=httpx.Timeout(timeout),
            transport=transport,
            follow_redirects=True,
            headers={"User-Agent": f"{tool} (OmicsOracle E-utilities client)"},
        )

    # -- lifecycle ------------------------------------------------------------------------

    def close(self) -> None:
        """Close the HTTP connections."""
        self._http.close()

    def __enter__(self) -> EutilsClient:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # -- E-utilities ----------------------------------------------------------------------

    def esearch(
        self,
        db: str,
        term: str,
        *,
        mindate: str | None = None,
        maxdate: str | None = None,
        datetype: str | None = None,
        usehistory: bool = True,
        retmax: int = 0,
        retstart: int = 0,
    ) -> SearchResult:
        """esearch in JSON; with ``usehistory`` the result carries WebEnv and query_key."""
        if (mindate is None) != (maxdate is None):
            raise ValueError("esearch needs both mindate and maxdate, or neither")
        params: dict[str, Any] = {"db": db, "term": term, "retmode": "json"}
        params.update(retstart=retstart, retmax=retmax)
        if usehistory:
            params["usehistory"] = "y"
        if mindate is not None:
            params.update(mindate=mindate, maxdate=maxdate, datetype=datetype or "pdat")
        window = f" {params['datetype']} {mindate}..{maxdate}" if mindate is not None else ""
        request = f"esearch db={db} term={term}{window} retstart={retstart} retmax={retmax}"

        def parse(response: httpx.Response) -> SearchResult:
            doc = _json_object(response.content)
            result = doc.get("esearchresult")
            if not isinstance(result, dict):
                if isinstance(doc.get("error"), str):
                    _body_error(doc["error"])
                raise _Retry("malformed JSON: no esearchresult")
            if result.get("ERROR"):
                _body_error(str(result["ERROR"]))
            errors = result.get("errorlist")
            if isinstance(errors, dict) and errors.get("fieldsnotfound"):
                # An unknown [FIELD] is ignored by NCBI, which then searches everything.
                raise _Fatal(f"E-utilities error: fields not found {errors['fieldsnotfound']}")
            count, ids = result.get("count"), result.get("idlist", [])
            if not (isinstance(count, str) and count.isdigit()) or not isinstance(ids, list):
                raise _Retry("malformed esearch result (count/idlist)")
            webenv, key = result.get("webenv"), result.get("querykey")
            if usehistory and not (isinstance(webenv, str) and webenv and key):
                raise _Retry("malformed esearch result: no webenv/querykey")
            return SearchResult(
                count=int(count),
                webenv=webenv if isinstance(webenv, str) else None,
                query_key=str(key) if key is not None else None,
                ids=[str(i) for i in ids],
            )

        return self._call("esearch", params, request, parse)

    def esummary(
        self,
        db: str,
        *,
        webenv: str | None = None,
        query_key: str | None = None,
        ids: Sequence[str] | None = None,
        retstart: int = 0,
        retmax: int = ESUMMARY_MAX,
    ) -> list[dict[str, Any]]:
        """Docsums (JSON) in NCBI's order, by history (WebEnv + query_key) or by ids.

        A uid NCBI could not return comes back as ``{"uid": uid, "error": message}``.
        """
        if retmax > ESUMMARY_MAX or retmax < 1:
            raise ValueError(f"esummary retmax must be 1 to {ESUMMARY_MAX}, not {retmax}")
        params: dict[str, Any] = {"db": db, "retmode": "json"}
        id_list = [str(i) for i in ids] if ids is not None else None
        if id_list is not None:
            if webenv is not None or query_key is not None:
                raise ValueError("esummary takes ids or webenv+query_key, not both")
            if not id_list or len(id_list) > ESUMMARY_MAX:
                raise ValueError(f"esummary takes 1 to {ESUMMARY_MAX} ids, not {len(id_list)}")
            params["id"] = ",".join(id_list)
            request = f"esummary db={db} {_ids_label(id_list)}"
        else:
            if not webenv or not query_key:
                raise ValueError("esummary needs ids or both webenv and query_key")
            params.update(WebEnv=webenv, query_key=query_key, retstart=retstart, retmax=retmax)
            request = f"esummary db={db} query_key={query_key} retstart={retstart} retmax={retmax}"

        def parse(response: httpx.Response) -> list[dict[str, Any]]:
            doc = _json_object(response.content)
            if "result" not in doc:
                if isinstance(doc.get("error"), str):
                    _body_error(doc["error"])
                messages = doc.get("esummaryresult")
                if isinstance(messages, list) and messages:
                    text = "; ".join(str(m) for m in messages)
                    if text.startswith("Empty id list"):
                        return []  # past the end of the history: nothing to give
                    _body_error(text)
                raise _Retry("malformed JSON: no result")
            result = doc["result"]
            uids = result.get("uids") if isinstance(result, dict) else None
            if not isinstance(uids, list):
                raise _Retry("malformed esummary result: no uids")
            out: list[dict[str, Any]] = []
            for uid in uids:
                entry = result.get(str(uid))
                if not isinstance(entry, dict):
                    raise _Retry(f"malformed esummary result: no document for uid {uid}")
                if "error" in entry and "accession" not in entry:
                    out.append({"uid": str(uid), "error": str(entry["error"])})
                else:
                    out.append(entry)
            return out

        return self._call("esummary", params, request, parse, post=len(params.get("id", "")) > 2000)

    def efetch_pubmed(self, pmids: Sequence[str]) -> bytes:
        """A PubmedArticleSet XML for up to 200 PMIDs, checked well-formed."""
        ids = [str(p) for p in pmids]
        if not ids or len(ids) > EFETCH_MAX:
            raise ValueError(f"efetch takes 1 to {EFETCH_MAX} PMIDs, not {len(ids)}")
        params = {"db": "pubmed", "retmode": "xml", "id": ",".join(ids)}
        request = f"efetch db=pubmed {_ids_label(ids)}"

        def parse(response: httpx.Response) -> bytes:
            body = response.content
            root = _xml_root(body)
            _xml_error(root)
            if root.tag != "PubmedArticleSet":
                raise _Retry(f"unexpected XML root <{root.tag}>, not <PubmedArticleSet>")
            return body

        return self._call("efetch", params, request, parse, post=len(ids) > POST_ABOVE)

    def elink(
        self, dbfrom: str, db: str, ids: Sequence[str], *, linkname: str | None = None
    ) -> dict[str, list[str]]:
        """Linked ids per id (every id present, [] when it has none), one LinkSet per id."""
        id_list = [str(i) for i in ids]
        if not id_list:
            raise ValueError("elink needs at least one id")
        # One `id=` per id (not a comma list) so NCBI answers a LinkSet per id.
        params: dict[str, Any] = {"dbfrom": dbfrom, "db": db, "id": id_list}
        if linkname is not None:
            params["linkname"] = linkname
        request = f"elink dbfrom={dbfrom} db={db} {_ids_label(id_list)}"

        def parse(response: httpx.Response) -> dict[str, list[str]]:
            root = _xml_root(response.content)
            _xml_error(root)
            if root.tag != "eLinkResult":
                raise _Retry(f"unexpected XML root <{root.tag}>, not <eLinkResult>")
            out: dict[str, list[str]] = {i: [] for i in id_list}
            for linkset in root.iterfind("LinkSet"):
                _xml_error(linkset)
                sources = [(e.text or "").strip() for e in linkset.iterfind("IdList/Id")]
                linked: list[str] = []
                for setdb in linkset.iterfind("LinkSetDb"):
                    if (setdb.findtext("DbTo") or "").strip() != db:
                        continue
                    if linkname and (setdb.findtext("LinkName") or "").strip() != linkname:
                        continue
                    linked.extend((e.text or "").strip() for e in setdb.iterfind("Link/Id"))
                for source in sources:
                    merged = out.setdefault(source, [])
                    merged.extend(x for x in linked if x and x not in merged)
            return out

        return self._call("elink", params, request, parse, post=len(id_list) > POST_ABOVE)

    def download(self, url: str, dest: Path) -> int:
        """Stream ``url`` to ``dest`` (rate limited, retried); returns the bytes written.

        The body is written as sent (no transfer decoding), a body shorter than its
        Content-Length is retried; whether a gzip is complete is the caller's check.
        A 404 (and any 4xx but 429) raises at once with ``.status`` set. No E-utilities
        parameters are sent: the API key is NCBI's E-utilities', not the file server's.
        """
        request = f"download {url}"

        def attempt() -> int:
            with self._http.stream("GET", url) as response:
                self._check_status(response)
                expected = response.headers.get("Content-Length")
                written = 0
                with dest.open("wb") as out:
                    for chunk in response.iter_raw():
                        out.write(chunk)
                        written += len(chunk)
                if expected is not None and expected.isdigit() and int(expected) != written:
                    raise _Retry(f"truncated body: {written} of {expected} bytes")
                return written

        try:
            return self._attempts(request, attempt)
        except EutilsError:
            dest.unlink(missing_ok=True)  # never leave half a file behind
            raise

    # -- machinery ------------------------------------------------------------------------

    def _params(self, params: dict[str, Any]) -> dict[str, Any]:
        out = dict(params)
        out["tool"] = self.tool
        if self.email:
            out["email"] = self.email
        if self._api_key:
            out["api_key"] = self._api_key
        return out

    def _call(
        self,
        endpoint: str,
        params: dict[str, Any],
        request: str,
        parse: Callable[[httpx.Response], T],
        *,
        post: bool = False,
    ) -> T:
        url = f"{self.base_url}{endpoint}.fcgi"
        full = self._params(params)

        def attempt() -> T:
            # A long id list goes in a POST body, as NCBI asks (URLs have a length limit).
            response = self._http.post(url, data=full) if post else self._http.get(url, params=full)
            self._check_status(response)
            return parse(response)

        return self._attempts(request, attempt)

    def _check_status(self, response: httpx.Response) -> None:
        status = response.status_code
        if status == 200:
            return
        reason = f"HTTP {status} {response.reason_phrase}".rstrip()
        if status == 429 or status >= 500:
            wait = retry_after_seconds(response.headers.get("Retry-After"))
            raise _Retry(reason, status=status, wait=wait)
        raise _Fatal(reason, status=status)

    def _attempts(self, request: str, attempt: Callable[[], T]) -> T:
        reason = "not attempted"
        status: int | None = None
        for number in range(1, self.max_attempts + 1):
            self.bucket.acquire()  # retries draw a token too
            try:
                return attempt()
            except _Fatal as exc:
                raise EutilsError(
                    request, number, self._redact(exc.reason), status=exc.status
                ) from None
            except _Retry as exc:
                reason, status, wait = exc.reason, exc.status, exc.wait
            except httpx.TimeoutException as exc:
                reason, status, wait = f"timeout ({type(exc).__name__})", None, None
            except httpx.TransportError as exc:
                # Connection refused/reset, a body cut short (RemoteProtocolError), ...
                reason, status, wait = f"{type(exc).__name__}: {exc}", None, None
            reason = self._redact(reason)
            if number == self.max_attempts:
                break
            delay = wait if wait is not None else self._backoff(number)
            log.warning(
                "%s: attempt %d of %d failed (%s); retrying in %.2f s",
                request,
                number,
                self.max_attempts,
                reason,
                delay,
            )
            if delay > 0:
                self._sleep(delay)
        raise EutilsError(request, self.max_attempts, reason, status=status)

    def _backoff(self, attempt: int) -> float:
        """Full jitter: uniform in [0, min(max, base * 2^(attempt-1))]."""
        ceiling = min(self.backoff_max, self.backoff_base * 2 ** (attempt - 1))
        return self._rng.uniform(0.0, ceiling)

    def _redact(self, text: str) -> str:
        if self._api_key:
            text = text.replace(self._api_key, "<api_key>")
        return text
