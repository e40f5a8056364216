"""The E-utilities client against the local stand-in (real HTTP, NCBI's formats, faults).

The stand-in (tests/sync/standin.py) answers with real records in the recorded
response shapes and logs every request's arrival time, so the waits the client
promises (Retry-After, the rate) are measured on the server side.
"""

from __future__ import annotations

import gzip
import logging
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path

import pytest
from standin import EutilsStandin, soft_path

from omicsoracle.sync.eutils import EutilsClient, EutilsError, SearchResult, retry_after_seconds
from omicsoracle.sync.ratelimit import TokenBucket

DATA = Path(__file__).resolve().parents[1] / "data"
TERM = "GSE[ETYP] OR GDS[ETYP]"
KEY = "0123456789abcdef0123456789abcdef0123"


@pytest.fixture(scope="module")
def standin() -> Iterator[EutilsStandin]:
    with EutilsStandin(records=30) as s:
        yield s


@pytest.fixture(autouse=True)
def _no_faults(standin: EutilsStandin) -> Iterator[None]:
    standin.clear_faults()
    yield
    standin.clear_faults()


class CountingBucket(TokenBucket):
    """An unlimited bucket counting the tokens drawn."""

    def __init__(self) -> None:
        super().__init__(None)
        self.drawn = 0

    def acquire(self) -> float:
        self.drawn += 1
        return super().acquire()


def client(standin: EutilsStandin, **kwargs: object) -> EutilsClient:
    options: dict[str, object] = {
        "email": "someone@example.org",
        "bucket": TokenBucket(None),
        "backoff_base": 0.01,
        "backoff_max": 0.05,
        "max_attempts": 4,
        "timeout": 10.0,
    }
    options.update(kwargs)
    return EutilsClient(standin.url, **options)  # type: ignore[arg-type]


def test_esearch_with_history_and_every_ncbi_parameter(standin: EutilsStandin) -> None:
    mark = standin.count()
    with client(standin, api_key=KEY) as c:
        found = c.esearch(
            "gds", TERM, mindate="2024/01/01", maxdate="2024/12/31", datetype="pdat", retmax=5
        )
    assert isinstance(found, SearchResult)
    assert found.count == len(standin.records)
    assert found.webenv
    assert found.query_key == "1"
    assert len(found.ids) == 5
    assert all(i.isdigit() for i in found.ids)
    [logged] = standin.requests[mark:]
    assert logged.endpoint == "esearch"
    params = logged.params
    assert params["tool"] == "omicsoracle"
    assert params["email"] == "someone@example.org"
    assert params["api_key"] == KEY
    assert params["retmode"] == "json"
    assert params["usehistory"] == "y"
    assert (params["mindate"], params["maxdate"], params["datetype"]) == (
        "2024/01/01",
        "2024/12/31",
        "pdat",
    )


def test_base_url_joins_without_double_slash(standin: EutilsStandin) -> None:
    mark = standin.count()
    with EutilsClient(standin.url.rstrip("/"), bucket=TokenBucket(None)) as c:
        c.esearch("gds", TERM)
    with EutilsClient(standin.url + "/", bucket=TokenBucket(None)) as c:
        c.esearch("gds", TERM)
    assert [r.endpoint for r in standin.requests[mark:]] == ["esearch", "esearch"]
    assert "email" not in standin.requests[-1].params  # only when set
    assert "api_key" not in standin.requests[-1].params


def test_esummary_pages_in_order_and_refuses_more_than_500(standin: EutilsStandin) -> None:
    with client(standin) as c:
        found = c.esearch("gds", TERM, retmax=30)
        first = c.esummary("gds", webenv=found.webenv, query_key=found.query_key, retmax=10)
        second = c.esummary(
            "gds", webenv=found.webenv, query_key=found.query_key, retstart=10, retmax=10
        )
        by_id = c.esummary("gds", ids=found.ids[:3])
        with pytest.raises(ValueError, match="retmax must be 1 to 500"):
            c.esummary("gds", webenv=found.webenv, query_key=found.query_key, retmax=501)
        with pytest.raises(ValueError, match="ids or both webenv and query_key"):
            c.esummary("gds", webenv=found.webenv)
    assert [d["uid"] for d in first + second] == found.ids[:20]
    assert [d["uid"] for d in by_id] == found.ids[:3]
    assert all(d["accession"].startswith(("GSE", "GDS")) for d in first)


def test_vanished_uid_comes_back_as_an_error_entry(standin: EutilsStandin) -> None:
    with client(standin) as c:
        found = c.esearch("gds", TERM, retmax=5)
        standin.fault("vanish", uid=found.ids[2])
        docs = c.esummary("gds", webenv=found.webenv, query_key=found.query_key, retmax=5)
    assert [d["uid"] for d in docs] == found.ids[:5]
    assert docs[2] == {"uid": found.ids[2], "error": "cannot get document summary"}
    assert "accession" in docs[1]


def test_unknown_history_is_a_clear_error_not_retried(standin: EutilsStandin) -> None:
    mark = standin.count()
    with client(standin) as c, pytest.raises(EutilsError) as caught:
        c.esummary("gds", webenv="MCID_nope", query_key="7", retstart=500, retmax=500)
    assert str(caught.value).startswith("esummary db=gds query_key=7 retstart=500 retmax=500: ")
    assert "Unable to obtain query #7" in caught.value.reason
    assert caught.value.attempts == 1
    assert standin.count() - mark == 1


@pytest.mark.parametrize(
    ("kind", "opts", "endpoint"),
    [
        ("500", {}, "esearch"),
        ("503", {}, "esummary"),
        ("truncate", {}, "esearch"),
        ("malformed", {}, "esummary"),
        ("malformed", {"body": b"<html>not json</html>"}, "esearch"),
        ("malformed", {}, "efetch"),
        ("malformed", {}, "elink"),
        ("truncate", {}, "efetch"),
        ("eutils_error", {}, "esummary"),
        ("eutils_error", {"message": "Search Backend failed: try later"}, "esearch"),
        ("eutils_error", {}, "efetch"),
        ("429", {"retry_after": None}, "esearch"),
    ],
)
def test_transient_faults_are_retried_then_succeed(
    standin: EutilsStandin, kind: str, opts: dict[str, object], endpoint: str
) -> None:
    bucket = CountingBucket()
    with client(standin, bucket=bucket) as c:
        found = c.esearch("gds", TERM, retmax=30)
        pmids = [str(p) for p in sorted(standin.articles)[:3]]
        uids = [r.uid for r in standin.records.values() if r.pubmedids][:2]
        standin.fault(kind, times=1, match=endpoint, **opts)
        mark, drawn = standin.count(endpoint), bucket.drawn
        if endpoint == "esearch":
            again = c.esearch("gds", TERM, retmax=30)
            assert again.ids == found.ids
        elif endpoint == "esummary":
            docs = c.esummary("gds", webenv=found.webenv, query_key=found.query_key, retmax=5)
            assert [d["uid"] for d in docs] == found.ids[:5]
        elif endpoint == "efetch":
            body = c.efetch_pubmed(pmids)
            assert body.count(b"<PubmedArticle>") == 3
        else:
            links = c.elink("gds", "pubmed", uids)
            assert set(links) == set(uids)
            assert all(links.values())
    assert standin.count(endpoint) - mark == 2  # the fault, then the good answer
    assert bucket.drawn - drawn == 2  # the retry drew a token too


def test_timeout_then_success(standin: EutilsStandin) -> None:
    standin.fault("slow", times=1, match="esearch", delay=3.0)
    mark = standin.count("esearch")
    with client(standin, timeout=0.5) as c:
        found = c.esearch("gds", TERM)
    assert found.count == len(standin.records)
    assert standin.count("esearch") - mark >= 1


def test_429_retry_after_is_obeyed(standin: EutilsStandin) -> None:
    standin.fault("429", times=1, match="esearch", retry_after=1)
    mark = len(standin.requests)
    with client(standin, backoff_base=0.0, backoff_max=0.0) as c:
        c.esearch("gds", TERM)
    limited, ok = standin.requests[mark:]
    assert (limited.status, ok.status) == (429, 200)
    assert ok.t - limited.t >= 1.0


def test_retry_after_as_http_date_is_obeyed(standin: EutilsStandin) -> None:
    # At least two seconds ahead whatever the sub-second part of now.
    when = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=3)
    standin.fault("503", times=1, match="esearch", retry_after=format_datetime(when, usegmt=True))
    # By arrival time, not by position in the log: the previous test's last answer
    # may still be being logged.
    since = time.monotonic()
    with client(standin, backoff_base=0.0, backoff_max=0.0) as c:
        c.esearch("gds", TERM)
    failed, ok = [r for r in standin.requests if r.t >= since]
    assert failed.status == 503
    assert ok.t - failed.t >= 1.0
    # Not before `when` (the log's monotonic time mapped to the wall clock).
    wall_of_ok = datetime.now(UTC) - timedelta(seconds=time.monotonic() - ok.t)
    assert wall_of_ok >= when - timedelta(milliseconds=50)


def test_retry_after_parsing() -> None:
    now = datetime(2026, 1, 1, 12, 0, 0, tzinfo=UTC)
    assert retry_after_seconds("7") == 7.0
    assert retry_after_seconds("Thu, 01 Jan 2026 12:00:30 GMT", now=now) == 30.0
    assert retry_after_seconds("Thu, 01 Jan 2026 11:00:00 GMT", now=now) == 0.0
    assert retry_after_seconds(None) is None
    assert retry_after_seconds("soon") is None


def test_persistent_failure_names_request_and_attempts(
    standin: EutilsStandin, caplog: pytest.LogCaptureFixture
) -> None:
    standin.fault("500", times=None, match="esummary")
    sleeps: list[float] = []
    mark = standin.count("esummary")
    with client(standin, max_attempts=3, sleep=sleeps.append, api_key=KEY) as c:
        found = c.esearch("gds", TERM)
        with (
            caplog.at_level(logging.WARNING, "omicsoracle.sync.eutils"),
            pytest.raises(EutilsError) as caught,
        ):
            c.esummary("gds", webenv=found.webenv, query_key=found.query_key, retstart=5, retmax=7)
    error = caught.value
    assert error.attempts == 3
    assert standin.count("esummary") - mark == 3
    assert error.request == "esummary db=gds query_key=1 retstart=5 retmax=7"
    assert error.status == 500
    assert str(error) == (
        "esummary db=gds query_key=1 retstart=5 retmax=7: failed after 3 attempts: "
        "HTTP 500 Internal Server Error"
    )
    # Full jitter: each backoff within [0, base * 2^(n-1)].
    assert len(sleeps) == 2
    assert 0 <= sleeps[0] <= 0.01
    assert 0 <= sleeps[1] <= 0.02
    retries = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(retries) == 2
    assert all(error.request in r.getMessage() and "HTTP 500" in r.getMessage() for r in retries)
    assert all(KEY not in r.getMessage() for r in caplog.records)


def test_api_key_is_redacted_from_errors_and_logs(
    standin: EutilsStandin, caplog: pytest.LogCaptureFixture
) -> None:
    # An error body echoing the key (as NCBI's "API key invalid" pages may).
    standin.fault(
        "eutils_error", times=None, match="esearch", message=f"temporarily unavailable {KEY}"
    )
    with (
        client(standin, api_key=KEY, max_attempts=2) as c,
        caplog.at_level(logging.WARNING, "omicsoracle.sync.eutils"),
        pytest.raises(EutilsError) as caught,
    ):
        c.esearch("gds", TERM)
    assert KEY not in str(caught.value)
    assert KEY not in caught.value.reason
    assert "<api_key>" in str(caught.value)
    assert caplog.records
    assert all(KEY not in r.getMessage() for r in caplog.records)


def test_non_transient_body_error_is_not_retried(standin: EutilsStandin) -> None:
    mark = standin.count("esearch")
    with client(standin) as c, pytest.raises(EutilsError) as caught:
        c.esearch("pubmed", TERM)  # the stand-in serves db=gds only
    assert "Invalid db name specified: pubmed" in str(caught.value)
    assert str(caught.value).startswith("esearch db=pubmed term=")
    assert caught.value.attempts == 1
    assert standin.count("esearch") - mark == 1


def test_malformed_every_time_gives_up_with_the_reason(standin: EutilsStandin) -> None:
    standin.fault("malformed", times=None, match="efetch")
    pmids = [str(p) for p in sorted(standin.articles)[:2]]
    with client(standin, max_attempts=2) as c, pytest.raises(EutilsError) as caught:
        c.efetch_pubmed(pmids)
    assert caught.value.attempts == 2
    assert "malformed XML" in caught.value.reason
    assert str(caught.value).startswith(f"efetch db=pubmed id={','.join(pmids)}: ")


def test_efetch_long_list_is_posted_and_checked(standin: EutilsStandin) -> None:
    pmids = [str(p) for p in sorted(standin.articles)][:120]
    assert len(pmids) > 50
    with client(standin) as c:
        body = c.efetch_pubmed(pmids)
        with pytest.raises(ValueError, match="1 to 200 PMIDs"):
            c.efetch_pubmed([str(n) for n in range(1, 202)])
    assert body.count(b"<PubmedArticle>") == len(pmids)
    assert standin.requests[-1].params["tool"] == "omicsoracle"  # in the POST form too


def test_elink_maps_every_id(standin: EutilsStandin) -> None:
    with_links = [r for r in standin.records.values() if r.pubmedids]
    without = [r for r in standin.records.values() if not r.pubmedids]
    ids = [with_links[0].uid, without[0].uid]
    with client(standin) as c:
        links = c.elink("gds", "pubmed", ids, linkname="gds_pubmed")
        other = c.elink("gds", "pubmed", ids, linkname="gds_pubmed_refseq")
    assert links[ids[0]] == sorted((str(p) for p in with_links[0].pubmedids), key=int, reverse=True)
    assert links[ids[1]] == []
    assert other == {ids[0]: [], ids[1]: []}


def test_download_streams_the_family_soft(standin: EutilsStandin, tmp_path: Path) -> None:
    dest = tmp_path / "GSE94489_family.soft.gz"
    url = standin.ftp_url + soft_path("GSE94489")
    standin.fault("truncate", times=1, match="download")
    mark = standin.count("download")
    with client(standin) as c:
        size = c.download(url, dest)
    real = (DATA / "soft" / "GSE94489_family.soft.gz").read_bytes()
    assert size == len(real)
    assert dest.read_bytes() == real
    assert gzip.decompress(dest.read_bytes()).startswith(b"^DATABASE")
    assert standin.count("download") - mark == 2
    assert "api_key" not in standin.requests[-1].params  # the key is E-utilities' only


def test_download_404_is_not_retried(standin: EutilsStandin, tmp_path: Path) -> None:
    dest = tmp_path / "missing.soft.gz"
    mark = standin.count("download")
    with client(standin) as c, pytest.raises(EutilsError) as caught:
        c.download(standin.ftp_url + soft_path("GSE1"), dest)
    assert caught.value.status == 404
    assert caught.value.attempts == 1
    assert "HTTP 404" in str(caught.value)
    assert "GSE1_family.soft.gz" in str(caught.value)
    assert standin.count("download") - mark == 1
    assert not dest.exists()


def test_connection_refused_is_retried_then_named(tmp_path: Path) -> None:
    with EutilsStandin(records=1) as gone:
        url = gone.url
    with (
        EutilsClient(url, bucket=TokenBucket(None), max_attempts=2, backoff_base=0.0) as c,
        pytest.raises(EutilsError) as caught,
    ):
        c.esearch("gds", TERM)
    assert caught.value.attempts == 2
    assert "ConnectError" in caught.value.reason


def test_rate_is_honoured_on_the_server_side() -> None:
    with EutilsStandin(records=5, rate_limit=True) as s:
        with EutilsClient(s.url) as c:  # the default bucket: 3 requests/s without a key
            for _ in range(7):
                c.esearch("gds", TERM)
        assert s.max_in_window(1.0) <= 3
        assert all(r.status == 200 for r in s.requests)  # the stand-in never had to say 429


def test_bad_arguments() -> None:
    with EutilsClient("http://127.0.0.1:9/", bucket=TokenBucket(None)) as c:
        with pytest.raises(ValueError, match="both mindate and maxdate"):
            c.esearch("gds", TERM, mindate="2024/01/01")
        with pytest.raises(ValueError, match="at least one id"):
            c.elink("gds", "pubmed", [])
    with pytest.raises(ValueError, match="max_attempts"):
        EutilsClient("http://127.0.0.1:9/", max_attempts=0)
