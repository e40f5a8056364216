"""``omicsoracle sync geo``: GEO series and DataSets from NCBI E-utilities, kept current.

Per date window of modification dates (``datetype=mdat``, so changed records come
back too): ``esearch`` db=gds ``(GSE[ETYP] OR GDS[ETYP])`` with the history server,
then ``esummary`` pages of up to 500 docsums through the WebEnv, each page turned into
records (``sync.docsum``), the PubMed articles it names fetched (``efetch`` db=pubmed,
200 ids a call, parsed by the PubMed XML parser), and the lot written in ONE store
transaction together with the new sync position. A kill at any point leaves the
store at the end of a batch, and the position says which: the next run re-runs the
window's esearch and goes on from that offset when the count is unchanged, or from
the window's start when it moved (upserts are idempotent: nothing is lost or doubled).
"""

from __future__ import annotations

import io
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, BinaryIO

import httpx

from omicsoracle.config import Settings
from omicsoracle.formats import pubmed_xml
from omicsoracle.formats.source import FormatError, Source
from omicsoracle.model import Dataset, Publication, Record, Rejected, Sample, Series
from omicsoracle.store import Store
from omicsoracle.sync.docsum import DocsumError, records_from_docsum
from omicsoracle.sync.eutils import EutilsClient, EutilsError, SearchResult
from omicsoracle.sync.position import Plan, Position, Window, plan
from omicsoracle.sync.ratelimit import TokenBucket

SYNC_NAME = "geo"
PENDING_NAME = "geo_full"
TERM = "(GSE[ETYP] OR GDS[ETYP])"
DB = "gds"
MAX_BATCH = 500  # esummary's largest page
EFETCH_CHUNK = 200  # PubMed ids per efetch call

Progress = Callable[[dict[str, Any]], None]


class SyncError(Exception):
    """A sync stopped: bad input or a request that failed every attempt. The message
    names the request (and record); the store holds exactly the committed batches."""

    report: SyncReport | None = None


class SyncInterrupted(SyncError):
    """Asked to stop (server shutdown, lease lost) between two batches."""


@dataclass(slots=True)
class SyncOptions:
    since: date | None = None
    until: date | None = None
    limit: int | None = None
    dry_run: bool = False
    full: bool = False
    batch_size: int = MAX_BATCH


@dataclass(slots=True)
class SyncReport:
    """What a run did (the ``--json`` summary)."""

    windows: int = 0
    records: int = 0  # series + datasets committed
    series: int = 0
    datasets: int = 0
    samples: int = 0
    publications: int = 0
    vanished: int = 0
    vanished_uids: list[str] = field(default_factory=list)
    requests: int = 0
    retries: int = 0
    seconds: float = 0.0
    position: dict[str, Any] | None = None
    dry_run: bool = False
    counts: list[dict[str, Any]] = field(default_factory=list)  # --dry-run: per window
    total: int = 0  # --dry-run: sum of the windows' counts
    full: dict[str, Any] | None = None
    limited: bool = False

    def as_dict(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "windows": self.windows,
            "records": self.records,
            "series": self.series,
            "datasets": self.datasets,
            "samples": self.samples,
            "publications": self.publications,
            "vanished": self.vanished,
            "vanished_uids": self.vanished_uids[:100],
            "requests": self.requests,
            "retries": self.retries,
            "seconds": round(self.seconds, 3),
            "position": self.position,
        }
        if self.dry_run:
            body["dry_run"] = True
            body["counts"] = self.counts
            body["total"] = self.total
        if self.full is not None:
            body["full"] = self.full
        if self.limited:
            body["limited"] = True
        return body


# One bucket per rate for the whole process: a CLI run, an API job and the scheduler
# in one server never add up to more than NCBI allows.
_BUCKETS: dict[float | None, TokenBucket] = {}
_BUCKETS_LOCK = threading.Lock()


def shared_bucket(rate: float | None) -> TokenBucket:
    with _BUCKETS_LOCK:
        bucket = _BUCKETS.get(rate)
        if bucket is None:
            bucket = _BUCKETS[rate] = TokenBucket(rate)
        return bucket


def client_from_settings(settings: Settings, **kwargs: Any) -> EutilsClient:
    """An E-utilities client as the settings say (rate, key, tool, email, attempts)."""
    key = settings.ncbi_api_key.get_secret_value() if settings.ncbi_api_key else None
    return EutilsClient(
        settings.eutils_url,
        tool=settings.ncbi_tool,
        email=settings.ncbi_email,
        api_key=key,
        bucket=shared_bucket(settings.ncbi_rate),
        max_attempts=settings.sync_max_attempts,
        **kwargs,
    )


def today_utc() -> date:
    return datetime.now(UTC).date()


@dataclass(frozen=True, slots=True)
class _BytesSource(Source):
    """An in-memory response body seen as a file by the format parsers."""

    data: bytes = b""
    label: str = ""

    @property
    def name(self) -> str:
        return self.label

    def open_binary(self) -> BinaryIO:
        return io.BytesIO(self.data)


class GeoSync:
    """One run of the GEO sync over a store, with an E-utilities client."""

    def __init__(
        self,
        store: Store,
        client: EutilsClient,
        *,
        window_days: int = 30,
        ftp_url: str = "",
        work_dir: Path | None = None,
        progress: Progress | None = None,
        stop: Callable[[], bool] | None = None,
        counter: RequestCounter | None = None,
    ) -> None:
        self.store = store
        self.client = client
        self.window_days = window_days
        self.ftp_url = ftp_url
        self.work_dir = work_dir
        self.progress = progress or (lambda _event: None)
        self.stop = stop or (lambda: False)
        self.counter = counter
        self.report = SyncReport()
        self._calls = 0
        self._started = 0.0

    # -- the run ------------------------------------------------------------------------

    def run(self, options: SyncOptions) -> SyncReport:
        """Sync; raises ``SyncError`` (``report`` then holds what was committed)."""
        self._started = time.monotonic()
        self.report = SyncReport(dry_run=options.dry_run)
        try:
            self._run(options)
        finally:
            self._finish()
        return self.report

    def _run(self, options: SyncOptions) -> None:
        if not 1 <= options.batch_size <= MAX_BATCH:
            raise ValueError(f"batch size must be 1 to {MAX_BATCH}")
        until = options.until or today_utc()
        since = options.since
        if since is not None and since > until:
            raise SyncError(f"--since {since} is after --until {until}")
        stored_raw = self.store.sync_position(SYNC_NAME)
        stored = None
        if stored_raw is not None:
            try:
                stored = Position.from_dict(stored_raw)
            except ValueError as exc:
                raise SyncError(str(exc)) from exc
        run_plan = plan(stored, since, until, self.window_days)
        self.report.position = stored_raw
        if options.dry_run:
            self._dry_run(run_plan)
            return
        complete = stored.complete if stored is not None else None
        for index, window in enumerate(run_plan.windows):
            offset = run_plan.resume_retstart if index == 0 else 0
            known = run_plan.resume_count if index == 0 else None
            done = self._window(run_plan, window, offset, known, complete, options, index)
            if not done:
                return  # --limit reached inside this window
            complete = window.end
            self.report.windows += 1
        self._commit_position(
            Position(run_plan.since, until, None, 0, None, complete), records=[], full=False
        )
        if options.full:
            from omicsoracle.sync.full import drain

            self.report.full = drain(self, options)

    def _dry_run(self, run_plan: Plan) -> None:
        for window in run_plan.windows:
            self._check_stop()
            found = self._search(window)
            self.report.counts.append({"window": window.as_list(), "count": found.count})
            self.report.total += found.count
            self.report.windows += 1
            self.progress({"stage": "counting", "window": window.as_list(), "count": found.count})
        if self.report.dry_run:
            self.report.full = {"pending": len(self.store.pending(PENDING_NAME, 1_000_000))}

    def _window(
        self,
        run_plan: Plan,
        window: Window,
        offset: int,
        known_count: int | None,
        complete: date | None,
        options: SyncOptions,
        index: int,
    ) -> bool:
        """Sync one window from ``offset``; False when ``--limit`` stopped it."""
        found = self._search(window)
        if known_count is not None and found.count != known_count:
            offset = 0  # the window changed since the offset was stored: from its start
        offset = min(offset, found.count)
        researched = False
        self.progress(
            {
                "stage": "window",
                "window": window.as_list(),
                "index": index,
                "windows": len(run_plan.windows),
                "count": found.count,
                "offset": offset,
                "records": self.report.records,
            }
        )
        while offset < found.count:
            self._check_stop()
            size = options.batch_size
            if options.limit is not None:
                left = options.limit - self.report.records
                if left <= 0:
                    self.report.limited = True
                    return False
                size = min(size, left)
            try:
                docs = self._summaries(found, offset, size)
            except EutilsError as exc:
                if researched:
                    raise SyncError(f"{exc}") from exc
                # The history server forgets a WebEnv after a while (an hours-long
                # window at 3 requests/s): search the window again, once.
                researched = True
                again = self._search(window)
                if again.count != found.count:
                    offset = 0
                found = again
                continue
            if not docs:
                break  # the server says there is more, yet gives nothing: stop here
            records = self._records(docs, found, offset)
            records += self._articles(records, found, offset)
            offset += len(docs)
            position = Position(
                run_plan.since, run_plan.until, window, offset, found.count, complete
            )
            self._commit_position(position, records=records, full=options.full)
            self.progress(
                {
                    "stage": "batch",
                    "window": window.as_list(),
                    "count": found.count,
                    "offset": offset,
                    "records": self.report.records,
                }
            )
        return True

    # -- requests -----------------------------------------------------------------------

    def _search(self, window: Window) -> SearchResult:
        self._calls += 1
        try:
            return self.client.esearch(
                DB,
                TERM,
                mindate=window.start.strftime("%Y/%m/%d"),
                maxdate=window.end.strftime("%Y/%m/%d"),
                datetype="mdat",
                usehistory=True,
            )
        except EutilsError as exc:
            raise SyncError(str(exc)) from exc

    def _summaries(self, found: SearchResult, offset: int, size: int) -> list[dict[str, Any]]:
        self._calls += 1
        return self.client.esummary(
            DB, webenv=found.webenv, query_key=found.query_key, retstart=offset, retmax=size
        )

    def _request_name(self, found: SearchResult, offset: int, size: int) -> str:
        return (
            f"esummary db={DB} WebEnv query_key={found.query_key} retstart={offset} retmax={size}"
        )

    def _records(
        self, docs: list[dict[str, Any]], found: SearchResult, offset: int
    ) -> list[Record]:
        request = self._request_name(found, offset, len(docs))
        out: list[Record] = []
        for doc in docs:
            if "error" in doc and len(doc) <= 2:
                # Gone between esearch and esummary (withdrawn or made private).
                self.report.vanished += 1
                self.report.vanished_uids.append(str(doc.get("uid")))
                continue
            try:
                out.extend(records_from_docsum(doc, request=request))
            except DocsumError as exc:
                raise SyncError(str(exc)) from exc
        return out

    def _articles(
        self, records: Sequence[Record], found: SearchResult, offset: int
    ) -> list[Record]:
        """The PubMed articles the batch names and the store does not hold yet."""
        pmids = list(
            dict.fromkeys(
                p for r in records if isinstance(r, (Series, Dataset)) for p in r.pubmed_ids
            )
        )
        if not pmids:
            return []
        # An article already stored is not fetched again: PubMed's own updates come
        # in through `omicsoracle ingest` of its files, and a sync re-visiting a
        # window (overlap, resume) then costs no efetch at all.
        stored = self.store.existing("publication", pmids)
        missing = [p for p in pmids if p not in stored]
        out: list[Record] = []
        for start in range(0, len(missing), EFETCH_CHUNK):
            chunk = missing[start : start + EFETCH_CHUNK]
            request = f"efetch db=pubmed id={','.join(chunk[:3])}{',...' if len(chunk) > 3 else ''} ({len(chunk)} ids)"
            self._check_stop()
            self._calls += 1
            try:
                body = self.client.efetch_pubmed(chunk)
            except EutilsError as exc:
                raise SyncError(str(exc)) from exc
            out.extend(_parse_pubmed(body, request))
        return out

    # -- writes -------------------------------------------------------------------------

    def _commit_position(self, position: Position, *, records: list[Record], full: bool) -> None:
        """One transaction: the batch's records, its --full queue rows and the position."""
        with self.store.transaction(None) as tx:
            if records:
                tx.write(records)
            if full:
                tx.queue_pending(PENDING_NAME, sorted(tx.changed_keys("series")))
            tx.put_sync_position(SYNC_NAME, position.as_dict())
        self.report.position = position.as_dict()
        for r in records:
            if isinstance(r, Series):
                self.report.series += 1
            elif isinstance(r, Dataset):
                self.report.datasets += 1
            elif isinstance(r, Sample):
                self.report.samples += 1
            elif isinstance(r, Publication):
                self.report.publications += 1
        self.report.records = self.report.series + self.report.datasets

    def _check_stop(self) -> None:
        if self.stop():
            raise SyncInterrupted("the sync was asked to stop; it resumes from the last batch")

    def _finish(self) -> None:
        self.report.seconds = time.monotonic() - self._started
        if self.counter is not None:
            self.report.requests = self.counter.requests
            self.report.retries = max(0, self.counter.requests - self._calls)


def _parse_pubmed(body: bytes, request: str) -> Iterator[Record]:
    try:
        for record in pubmed_xml.parse(_BytesSource(Path("efetch.xml"), body, request)):
            if isinstance(record, Rejected):
                raise SyncError(f"{request}: record {record.record}: {record.reason}")
            yield record
    except FormatError as exc:
        raise SyncError(f"{request}: {exc.reason}") from exc


class RequestCounter:
    """Counts HTTP requests (attempts included) through an httpx transport."""

    def __init__(self) -> None:
        self.requests = 0
        self._lock = threading.Lock()

    def bump(self) -> None:
        with self._lock:
            self.requests += 1


class CountingTransport(httpx.HTTPTransport):
    """The default HTTP transport, counting every request it sends (retries included)."""

    def __init__(self, counter: RequestCounter, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.counter = counter

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.counter.bump()
        return super().handle_request(request)


def run_sync(
    settings: Settings,
    store: Store,
    options: SyncOptions,
    *,
    progress: Progress | None = None,
    stop: Callable[[], bool] | None = None,
) -> SyncReport:
    """One sync run as the settings say; ``SyncError`` carries ``.report`` when it fails."""
    counter = RequestCounter()
    client = client_from_settings(settings, transport=CountingTransport(counter))
    sync = GeoSync(
        store,
        client,
        window_days=settings.sync_window_days,
        ftp_url=settings.geo_ftp_url,
        work_dir=settings.data_dir / "sync",
        progress=progress,
        stop=stop,
        counter=counter,
    )
    try:
        return sync.run(options)
    except SyncError as exc:
        exc.report = sync.report
        raise
    finally:
        client.close()
