"""The GEO sync against the E-utilities stand-in: full, incremental, limit, dry run, faults.

Real HTTP (the stand-in in a thread), real stores (the ``store`` fixture: SQLite and
PostgreSQL). Every fault ends in a successful retry or in a ``SyncError`` naming the
request, with the store holding exactly the batches committed before it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest
from standin import EutilsStandin
from sync_helpers import SINCE, UNTIL, changed_since, served, snapshot, sync, sync_settings

from omicsoracle.config import Settings
from omicsoracle.model import Series
from omicsoracle.runtime import Runtime
from omicsoracle.search.base import SearchRequest
from omicsoracle.store import Store
from omicsoracle.sync.geo import SyncError

RECORDS = 24


@pytest.fixture
def standin() -> Iterator[EutilsStandin]:
    with EutilsStandin(records=RECORDS, start=SINCE, end=UNTIL) as s:
        yield s


@pytest.fixture
def settings_(standin: EutilsStandin, tmp_path: Path) -> Settings:
    return sync_settings(standin, tmp_path / "var")


def _accessions(store: Store, table: str) -> set[str]:
    return {row[0] for row in snapshot(store)[table]}


def test_full_sync_stores_everything_served(
    standin: EutilsStandin, settings_: Settings, store: Store
) -> None:
    report = sync(settings_, store, batch_size=7)
    gse, gds = served(standin, "GSE"), served(standin, "GDS")
    assert _accessions(store, "series") == gse
    assert _accessions(store, "datasets") == gds
    assert report.series == len(gse)
    assert report.datasets == len(gds)
    assert report.records == len(gse) + len(gds)
    assert report.vanished == 0
    assert report.windows == 1
    # Samples of the docsums, and the articles the stand-in has for the linked PMIDs.
    samples = {
        s.accession for r in standin.records.values() if r.entrytype == "GSE" for s in r.samples
    }
    assert samples
    assert samples <= _accessions(store, "samples")
    linked = {str(p) for r in standin.records.values() for p in r.pubmedids}
    have = {str(p) for p in standin.articles}
    assert linked & have
    assert _accessions(store, "publications") == linked & have
    assert report.publications == len(linked & have)
    position = store.sync_position("geo")
    assert position is not None
    assert position["window"] is None
    assert position["complete"] == UNTIL.isoformat()
    # The same sync again writes nothing new, and asks no article again.
    before = store.max_change_id()
    seen = standin.count()
    again = sync(settings_, store, batch_size=7)
    assert store.max_change_id() == before
    # Only PMIDs the stand-in has no article for (never stored) are asked again.
    asked = {
        pmid
        for logged in standin.requests[seen:]
        if logged.endpoint == "efetch"
        for pmid in logged.params["id"].split(",")
    }
    assert not asked & have
    assert again.records == report.records


def test_synced_records_are_searchable(standin: EutilsStandin, tmp_path: Path) -> None:
    settings = sync_settings(standin, tmp_path / "var")
    rec = next(r for r in standin.records.values() if r.entrytype == "GSE")
    word = max(rec.title.split(), key=len).strip(".,:;()")
    with Runtime.open(settings, catch_up_index=False) as rt:
        sync(settings, rt.store)
        rt.catch_up()
        found = rt.search(SearchRequest(query=f'"{word}"', literal=True, limit=100))
    assert rec.accession in {hit.accession for hit in found.results}


def test_incremental_sync_writes_only_new_and_changed(
    standin: EutilsStandin, settings_: Settings, store: Store
) -> None:
    sync(settings_, store, batch_size=10)
    before = store.max_change_id()
    later = dt.date(2025, 2, 10)
    new = standin.add_series("GSE990001", title="Single-cell atlas of the zebrafish fin", on=later)
    changed = next(
        a for a, r in standin.records.items() if r.entrytype == "GSE" and a != new.accession
    )
    standin.modify(changed, title="A corrected title for this series", on=later)
    report = sync(settings_, store, since=None, until=dt.date(2025, 3, 1))
    written = {a for t, a in changed_since(store, before) if t in ("series", "dataset")}
    assert written == {new.accession, changed}
    assert store.get(changed)["title"] == "A corrected title for this series"  # type: ignore[index]
    assert store.get("GSE990001") is not None
    # It resumed after the last complete window (one day of overlap), not from 2001.
    first_window = report.position["window"] if report.position else None
    assert first_window is None
    assert all(
        dt.date.fromisoformat(w.params["mindate"].replace("/", "-")) >= UNTIL - dt.timedelta(days=1)
        for w in standin.requests[-report.requests :]
        if w.endpoint == "esearch"
    )


def test_dry_run_writes_nothing(standin: EutilsStandin, settings_: Settings, store: Store) -> None:
    report = sync(settings_.model_copy(update={"sync_window_days": 120}), store, dry_run=True)
    assert report.total == len(standin.records)
    assert report.windows == len(report.counts) == 4  # 366 days in windows of 120
    assert store.max_change_id() == 0
    assert store.sync_position("geo") is None
    assert standin.count("esummary") == 0
    assert standin.count("efetch") == 0


def test_limit_stops_exactly_and_the_next_run_goes_on(
    standin: EutilsStandin, settings_: Settings, store: Store, other_store: Store
) -> None:
    report = sync(settings_, store, limit=9, batch_size=4)
    assert report.records == 9
    assert report.as_dict()["limited"]
    assert len(_accessions(store, "series") | _accessions(store, "datasets")) == 9
    position = store.sync_position("geo")
    assert position is not None
    assert position["retstart"] == 9
    sync(settings_, store, batch_size=4)
    sync(settings_, other_store, batch_size=4)
    assert snapshot(store) == snapshot(other_store)


def test_several_windows(standin: EutilsStandin, settings_: Settings, store: Store) -> None:
    report = sync(settings_.model_copy(update={"sync_window_days": 45}), store)
    assert report.windows == 9  # 366 days of 2024 in windows of 45
    assert _accessions(store, "series") | _accessions(store, "datasets") == served(standin)


def test_vanished_uid_is_counted_not_fatal(
    standin: EutilsStandin, settings_: Settings, store: Store
) -> None:
    gone = next(a for a, r in standin.records.items() if r.entrytype == "GSE")
    standin.fault("vanish", accession=gone)
    report = sync(settings_, store)
    assert report.vanished == 1
    assert report.vanished_uids == [standin.records[gone].uid]
    assert gone not in _accessions(store, "series")
    assert _accessions(store, "series") == served(standin, "GSE") - {gone}


@pytest.mark.parametrize(
    ("kind", "opts", "match"),
    [
        ("429", {"retry_after": 1}, "esearch"),
        ("429", {"retry_after": None}, "esummary"),
        ("500", {}, "esummary"),
        ("503", {}, "efetch"),
        ("slow", {"delay": 0.5}, "esummary"),
        ("truncate", {}, "esummary"),
        ("truncate", {}, "efetch"),
        ("malformed", {}, "esummary"),
        ("malformed", {}, "efetch"),
        ("malformed", {}, "esearch"),
    ],
)
def test_transient_faults_are_retried(
    standin: EutilsStandin,
    settings_: Settings,
    store: Store,
    other_store: Store,
    kind: str,
    opts: dict[str, object],
    match: str,
) -> None:
    sync(settings_, other_store, batch_size=8)  # the reference, before any fault
    standin.fault(kind, times=1, match=match, **opts)
    report = sync(settings_, store, batch_size=8)
    if kind != "slow":  # a slow answer inside the timeout is no failure
        assert report.retries >= 1
    assert snapshot(store) == snapshot(other_store)


def _second_page(params: dict[str, str]) -> bool:
    return params.get("retstart") == "8"


@pytest.mark.parametrize(
    ("kind", "opts", "match", "says"),
    [
        ("500", {}, "esummary", "esummary"),
        ("malformed", {}, "esummary", "esummary"),
        ("eutils_error", {}, "esummary", "esummary"),
        ("eutils_error", {"message": "Search Backend failed"}, "esearch", "esearch"),
        ("malformed", {}, "efetch", "efetch"),
        ("eutils_error", {}, "efetch", "efetch"),
    ],
)
def test_persistent_faults_fail_clearly_with_nothing_partial(
    standin: EutilsStandin,
    settings_: Settings,
    store: Store,
    kind: str,
    opts: dict[str, object],
    match: str,
    says: str,
) -> None:
    where = _second_page if match == "esummary" else None
    if match == "efetch":
        # The articles of the second page: every efetch after the first page's.
        sync(settings_, store, batch_size=8, limit=8)
    before = snapshot(store)
    position = store.sync_position("geo")
    standin.fault(kind, times=None, match=match, where=where, **opts)
    with pytest.raises(SyncError) as caught:
        sync(settings_, store, batch_size=8)
    assert says in str(caught.value)
    report = caught.value.report
    assert report is not None
    if match == "esummary":
        # The first page is committed, the second not at all.
        stored = store.sync_position("geo")
        assert stored is not None
        assert stored["retstart"] == 8
        assert len(_accessions(store, "series") | _accessions(store, "datasets")) == 8
    elif match == "efetch" and store.sync_position("geo") != position:
        # Pages without articles may have gone through; none with an article did.
        pass
    else:
        assert snapshot(store) == before
        assert store.sync_position("geo") == position
    standin.clear_faults()
    sync(settings_, store, batch_size=8)
    assert _accessions(store, "series") | _accessions(store, "datasets") == served(standin)


def test_bad_docsum_names_the_record_and_writes_nothing_of_its_page(
    standin: EutilsStandin, settings_: Settings, store: Store
) -> None:
    body = b'{"header": {"type": "esummary", "version": "0.3"}, "result": {"uids": ["200000001"], "200000001": {"uid": "200000001", "entrytype": "GSE"}}}'
    standin.fault("malformed", times=None, match="esummary", where=_second_page, body=body)
    with pytest.raises(SyncError) as caught:
        sync(settings_, store, batch_size=8)
    message = str(caught.value)
    assert "200000001" in message
    assert "esummary" in message
    assert len(_accessions(store, "series") | _accessions(store, "datasets")) == 8
    assert store.get("GSE1") is None


def test_retries_run_out_with_a_clear_error(
    standin: EutilsStandin, settings_: Settings, store: Store
) -> None:
    standin.fault("429", times=None, match="esearch", retry_after=None)
    with pytest.raises(SyncError) as caught:
        sync(settings_.model_copy(update={"sync_max_attempts": 2}), store)
    assert "esearch" in str(caught.value)
    assert store.max_change_id() == 0
    assert store.sync_position("geo") is None


def test_full_fetches_family_soft_and_resumes(
    standin: EutilsStandin, settings_: Settings, store: Store
) -> None:
    with store.transaction(None) as tx:  # a series GEO has no file for: 404
        tx.write([Series(accession="GSE999999", source="geo_eutils", title="gone")])
        tx.queue_pending("geo_full", ["GSE999999"])
    standin.fault("500", times=None, match="download")
    with pytest.raises(SyncError) as caught:
        sync(settings_.model_copy(update={"sync_max_attempts": 1}), store, full=True)
    assert "download" in str(caught.value) or "soft.gz" in str(caught.value)
    queued = set(store.pending("geo_full", 10_000))
    assert served(standin, "GSE") <= queued  # every synced series is still queued
    standin.clear_faults()
    report = sync(settings_, store, full=True)
    assert store.pending("geo_full") == []
    assert report.full is not None
    assert report.full["missing"] == ["GSE999999"]
    assert report.full["ingested"] == len(served(standin, "GSE"))
    series = store.get("GSE94489")
    assert series is not None
    assert series.get("overall_design")
    sample = store.get(series["samples"][0])
    assert sample is not None
    assert sample["characteristics"]
    # Nothing changed since: the next --full run queues and fetches nothing.
    downloads = standin.count("download")
    sync(settings_, store, full=True)
    assert standin.count("download") == downloads


def test_family_soft_url() -> None:
    from omicsoracle.sync.full import family_soft_url

    base = "http://host/geo/"
    assert family_soft_url(base, "GSE94489") == (
        "http://host/geo/series/GSE94nnn/GSE94489/soft/GSE94489_family.soft.gz"
    )
    assert family_soft_url("http://host/geo", "GSE53").startswith("http://host/geo/series/GSEnnn/")
    assert "/GSE1nnn/GSE1000/" in family_soft_url(base, "GSE1000")
    with pytest.raises(ValueError, match="not a series accession"):
        family_soft_url(base, "GDS507")
