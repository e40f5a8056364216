"""The E-utilities stand-in answers in NCBI's recorded formats and injects its faults."""

from __future__ import annotations

import datetime as dt
import gzip
import json
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from lxml import etree
from standin import MISSING_UID, EutilsStandin, soft_path
from standin_corpus import REAL_SOFT

from omicsoracle import model
from omicsoracle.formats import pubmed_xml, soft
from omicsoracle.formats.source import Source

REPO = Path(__file__).resolve().parents[2]
EUTILS = REPO / "tests" / "data" / "eutils"
XML_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
START, END = dt.date(2024, 1, 1), dt.date(2024, 12, 31)


@pytest.fixture(scope="module")
def shared() -> Iterator[EutilsStandin]:
    """One stand-in for the read-only tests (faults are cleared after each test)."""
    with EutilsStandin(start=START, end=END) as s:
        yield s


@pytest.fixture
def standin(shared: EutilsStandin) -> Iterator[EutilsStandin]:
    yield shared
    shared.clear_faults()


@pytest.fixture
def fresh() -> Iterator[EutilsStandin]:
    """A small private stand-in, for tests that change records."""
    with EutilsStandin(records=20, start=START, end=END) as s:
        yield s


@pytest.fixture
def client() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=10.0) as c:
        yield c


def _get(c: httpx.Client, s: EutilsStandin, endpoint: str, **params: Any) -> httpx.Response:
    return c.get(f"{s.url}{endpoint}.fcgi", params=params)


def _esearch(c: httpx.Client, s: EutilsStandin, **params: Any) -> dict[str, Any]:
    params = {"db": "gds", "term": "GSE[ETYP]", "retmode": "json", **params}
    r = _get(c, s, "esearch", **params)
    assert r.status_code == 200
    result: dict[str, Any] = r.json()["esearchresult"]
    return result


def _summary(c: httpx.Client, s: EutilsStandin, **params: Any) -> dict[str, Any]:
    r = _get(c, s, "esummary", db="gds", retmode="json", **params)
    assert r.status_code == 200
    out: dict[str, Any] = r.json()
    return out


def _tags(elem: Any) -> list[str]:
    return [child.tag for child in elem]


# ------------------------------------------------------------------ esearch


def test_esearch_json_has_the_ncbi_keys_and_history(
    standin: EutilsStandin, client: httpx.Client
) -> None:
    body = _get(
        client,
        standin,
        "esearch",
        db="gds",
        term="GSE[ETYP]",
        usehistory="y",
        retmode="json",
        retmax=5,
    ).json()
    assert body["header"] == {"type": "esearch", "version": "0.3"}
    res = body["esearchresult"]
    assert {
        "count",
        "retmax",
        "retstart",
        "querykey",
        "webenv",
        "idlist",
        "translationset",
        "querytranslation",
    } <= set(res)
    assert res["retmax"] == "5"
    assert res["retstart"] == "0"
    assert res["querykey"] == "1"
    assert len(res["idlist"]) == 5
    assert all(isinstance(u, str) for u in res["idlist"])
    assert int(res["count"]) == sum(1 for r in standin.records.values() if r.entrytype == "GSE")


def test_esearch_xml_has_the_elements_of_the_recorded_response(
    standin: EutilsStandin, client: httpx.Client
) -> None:
    real = etree.parse(str(EUTILS / "esearch.pubmed.xml"), XML_PARSER).getroot()
    r = _get(client, standin, "esearch", db="gds", term="GSE[ETYP]", usehistory="y", retmax=3)
    assert r.text.splitlines()[1] == (EUTILS / "esearch.pubmed.xml").read_text().splitlines()[1]
    ours = etree.fromstring(r.content, XML_PARSER)
    assert _tags(ours) == [t for t in _tags(real) if t != "TranslationStack"] or _tags(
        ours
    ) == _tags(real)
    assert [e.text for e in ours.iterfind("IdList/Id")] == _esearch(client, standin, retmax=3)[
        "idlist"
    ]
    # Without usehistory there is no QueryKey/WebEnv, as NCBI answers.
    plain = etree.fromstring(
        _get(client, standin, "esearch", db="gds", term="GSE[ETYP]").content, XML_PARSER
    )
    assert plain.find("WebEnv") is None
    assert plain.findtext("RetMax") == "20"


def test_esearch_ids_are_geo_uids_newest_first(
    standin: EutilsStandin, client: httpx.Client
) -> None:
    res = _esearch(client, standin, retmax=10000)
    recs = {r.uid: r for r in standin.records.values()}
    ids = res["idlist"]
    assert all(recs[u].uid == str(200_000_000 + recs[u].number) for u in ids)
    keys = [(recs[u].pdat, int(u)) for u in ids]
    assert keys == sorted(keys, reverse=True)
    gds = _esearch(client, standin, term="GDS[ETYP]")
    assert gds["idlist"] == ["507"]
    both = _esearch(client, standin, term="(GSE[ETYP] OR GDS[ETYP])", retmax=10000)
    assert set(both["idlist"]) == set(ids) | {"507"}


def test_esearch_paging_through_the_webenv_covers_every_id_once(
    standin: EutilsStandin, client: httpx.Client
) -> None:
    first = _esearch(client, standin, usehistory="y", retmax=0)
    count = int(first["count"])
    seen: list[str] = []
    for start in range(0, count, 100):
        doc = _summary(
            client,
            standin,
            WebEnv=first["webenv"],
            query_key=first["querykey"],
            retstart=start,
            retmax=100,
        )
        seen += doc["result"]["uids"]
    assert len(seen) == count == len(set(seen))
    assert seen == _esearch(client, standin, retmax=10000)["idlist"]
    # A second esearch on the same WebEnv gets the next query key.
    again = _esearch(client, standin, usehistory="y", WebEnv=first["webenv"])
    assert again["webenv"] == first["webenv"]
    assert again["querykey"] == "2"


@pytest.mark.parametrize("datetype", ["pdat", "mdat"])
def test_date_windows_are_inclusive(
    standin: EutilsStandin, client: httpx.Client, datetype: str
) -> None:
    recs = sorted(standin.records.values(), key=lambda r: getattr(r, datetype))
    day = getattr(recs[len(recs) // 2], datetype)
    lo, hi = day, day + dt.timedelta(days=3)
    res = _esearch(
        client,
        standin,
        term="(GSE[ETYP] OR GDS[ETYP])",
        datetype=datetype,
        mindate=lo.strftime("%Y/%m/%d"),
        maxdate=hi.strftime("%Y/%m/%d"),
        retmax=10000,
    )
    expected = {r.uid for r in recs if lo <= getattr(r, datetype) <= hi}
    assert expected
    assert set(res["idlist"]) == expected
    assert any(
        getattr(standin.records[a], datetype) in (lo, hi)
        for a in [r.accession for r in recs if r.uid in expected]
    )


def test_windows_by_pdat_and_mdat_select_differently(
    standin: EutilsStandin, client: httpx.Client
) -> None:
    window = {"mindate": "2024/03/01", "maxdate": "2024/03/31", "retmax": 10000}
    by_p = set(_esearch(client, standin, datetype="pdat", **window)["idlist"])
    by_m = set(_esearch(client, standin, datetype="mdat", **window)["idlist"])
    assert by_p
    assert by_m
    assert by_p != by_m


# ------------------------------------------------------------------ esummary


def test_esummary_has_exactly_the_recorded_keys(
    standin: EutilsStandin, client: httpx.Client
) -> None:
    real = json.loads((EUTILS / "esummary.gds.json").read_text())
    real_doc = real["result"][real["result"]["uids"][0]]
    ids = _esearch(client, standin, term="(GSE[ETYP] OR GDS[ETYP])", retmax=10000)["idlist"]
    doc = _summary(client, standin, id=",".join([*ids[:50], "507"]))
    assert set(doc) == set(real)
    assert doc["header"] == real["header"]
    assert doc["result"]["uids"] == [*ids[:50], "507"]
    for uid in doc["result"]["uids"]:
        ours = doc["result"][uid]
        assert list(ours) == list(real_doc)
        assert {k: type(v) for k, v in ours.items()} == {k: type(v) for k, v in real_doc.items()}
        assert all(isinstance(p, int) for p in ours["pubmedids"])
    gds = doc["result"]["507"]
    assert gds["entrytype"] == "GDS"
    assert gds["gds"] == "507"
    assert gds["gse"] == "781"
    assert gds["pubmedids"] == [14641932]
    assert gds["n_samples"] == 17


def test_esummary_of_a_real_soft_series_carries_its_real_samples(
    standin: EutilsStandin, client: httpx.Client
) -> None:
    doc = _summary(client, standin, id="200087585")["result"]["200087585"]
    assert doc["accession"] == "GSE87585"
    assert doc["pubmedids"] == [29203764]
    assert doc["n_samples"] == 12
    assert doc["samples"][0] == {
        "accession": "GSM2334824",
        "title": "WGS RPMI-8226",
    }
    assert doc["ftplink"] == "ftp://ftp.ncbi.nlm.nih.gov/geo/series/GSE87nnn/GSE87585/"


def test_esummary_caps_history_batches_at_500(standin: EutilsStandin, client: httpx.Client) -> None:
    first = _esearch(client, standin, term="(GSE[ETYP] OR GDS[ETYP])", usehistory="y")
    doc = _summary(
        client, standin, WebEnv=first["webenv"], query_key=first["querykey"], retmax=5000
    )
    assert len(doc["result"]["uids"]) == min(500, int(first["count"]))


def test_unknown_webenv_gives_the_ncbi_error_body(
    standin: EutilsStandin, client: httpx.Client
) -> None:
    doc = _summary(client, standin, WebEnv="MCID_nope", query_key="1")
    assert doc == {
        "header": {"type": "esummary", "version": "0.3"},
        "esummaryresult": ["Unable to obtain query #1"],
    }
    assert "esummaryresult" in _summary(client, standin, id="")


def test_removed_record_leaves_esearch_and_errors_in_an_older_webenv(
    fresh: EutilsStandin, client: httpx.Client
) -> None:
    first = _esearch(client, fresh, usehistory="y", retmax=3)
    victim = first["idlist"][1]
    fresh.remove(next(r.accession for r in fresh.records.values() if r.uid == victim))
    assert victim not in _esearch(client, fresh, retmax=10000)["idlist"]
    doc = _summary(client, fresh, WebEnv=first["webenv"], query_key=first["querykey"], retmax=3)
    assert doc["result"]["uids"] == first["idlist"]
    assert doc["result"][victim] == {"uid": victim, "error": MISSING_UID}
    assert doc["result"][first["idlist"][0]]["accession"].startswith("GSE")


# ------------------------------------------------------------------ new and changed records


def test_published_and_modified_records_appear_in_later_windows(
    fresh: EutilsStandin, client: httpx.Client
) -> None:
    later = dt.date(2025, 2, 1)
    window = {
        "datetype": "mdat",
        "mindate": "2025/01/01",
        "maxdate": "2025/12/31",
        "retmax": 100,
        "term": "(GSE[ETYP] OR GDS[ETYP])",
    }
    assert _esearch(client, fresh, **window)["idlist"] == []
    new = fresh.add_series("GSE990001", title="A new series", on=later, n_samples=3)
    gds = fresh.add_dataset(
        "GDS9001", title="A new DataSet", on=later, reference_series="GSE990001"
    )
    changed = next(iter(fresh.records))
    fresh.modify(changed, title="Changed title", on=dt.date(2025, 3, 1))
    ids = _esearch(client, fresh, **window)["idlist"]
    assert ids == [fresh.records[changed].uid, "200990001", "9001"]
    doc = _summary(client, fresh, id=",".join(ids))["result"]
    assert doc[fresh.records[changed].uid]["title"] == "Changed title"
    assert doc["200990001"]["n_samples"] == 3
    assert doc[gds.uid]["entrytype"] == "GDS"
    assert new.uid == "200990001"
    # The publication date of a modified record does not move.
    by_pdat = _esearch(client, fresh, **{**window, "datetype": "pdat"})["idlist"]
    assert fresh.records[changed].uid not in by_pdat


# ------------------------------------------------------------------ efetch, elink


def test_efetch_returns_real_articles_the_project_parser_reads(
    standin: EutilsStandin, client: httpx.Client, tmp_path: Path
) -> None:
    linked = sorted(
        {p for r in standin.records.values() for p in r.pubmedids if p in standin.articles}
    )
    assert len(linked) >= 20
    wanted = [*linked[:10], 1]  # PMID 1 is not in the fixtures: left out, as NCBI does
    r = _get(client, standin, "efetch", db="pubmed", id=",".join(map(str, wanted)), retmode="xml")
    assert r.status_code == 200
    real_prolog = (EUTILS / "efetch.pubmed.xml").read_text().splitlines()[:2]
    assert r.text.splitlines()[:2] == real_prolog
    path = tmp_path / "efetch.xml"
    path.write_bytes(r.content)
    pubs = [x for x in pubmed_xml.parse(Source(path)) if isinstance(x, model.Publication)]
    assert sorted(int(p.pmid) for p in pubs) == linked[:10]
    assert all(p.title for p in pubs)


def test_efetch_via_post_and_none_found(standin: EutilsStandin, client: httpx.Client) -> None:
    r = client.post(
        f"{standin.url}efetch.fcgi", data={"db": "pubmed", "id": "29203764", "retmode": "xml"}
    )
    root = etree.fromstring(r.content, XML_PARSER)
    assert [e.text for e in root.iterfind("PubmedArticle/MedlineCitation/PMID")] == [
        "29203764"
    ] or (29203764 not in standin.articles and len(root) == 0)
    empty = etree.fromstring(
        _get(client, standin, "efetch", db="pubmed", id="1").content, XML_PARSER
    )
    assert empty.tag == "PubmedArticleSet"
    assert len(empty) == 0
    assert standin.requests[-2].params["id"] == "29203764"  # POST form params are logged


def test_elink_xml_and_json(standin: EutilsStandin, client: httpx.Client) -> None:
    real = etree.parse(str(EUTILS / "biopython_elink1.xml"), XML_PARSER).getroot()
    linked = next(r for r in standin.records.values() if r.pubmedids)
    unlinked = next(r for r in standin.records.values() if not r.pubmedids)
    r = client.get(
        f"{standin.url}elink.fcgi",
        params=[("dbfrom", "gds"), ("db", "pubmed"), ("id", linked.uid), ("id", unlinked.uid)],
    )
    root = etree.fromstring(r.content, XML_PARSER)
    sets = root.findall("LinkSet")
    assert len(sets) == 2  # one per repeated id=, as NCBI
    assert list(dict.fromkeys(_tags(sets[0]))) == list(dict.fromkeys(_tags(real.find("LinkSet"))))
    assert sets[0].findtext("LinkSetDb/LinkName") == "gds_pubmed"
    assert [int(e.text or 0) for e in sets[0].iterfind("LinkSetDb/Link/Id")] == list(
        linked.pubmedids
    )
    assert sets[1].find("LinkSetDb") is None
    js = _get(
        client, standin, "elink", dbfrom="gds", db="pubmed", id=linked.uid, retmode="json"
    ).json()
    assert js["linksets"][0]["linksetdbs"][0]["links"] == [str(p) for p in linked.pubmedids]


# ------------------------------------------------------------------ family SOFT downloads


def _soft_records(data: bytes, tmp_path: Path, name: str) -> list[model.Record]:
    path = tmp_path / name
    path.write_bytes(data)
    return list(soft.parse(Source(path)))


@pytest.mark.parametrize("accession", REAL_SOFT)
def test_real_family_soft_is_served_byte_for_byte(
    standin: EutilsStandin, client: httpx.Client, accession: str
) -> None:
    r = client.get(standin.ftp_url + soft_path(accession))
    assert r.status_code == 200
    assert (
        r.content == (REPO / "tests" / "data" / "soft" / f"{accession}_family.soft.gz").read_bytes()
    )


def test_generated_family_soft_parses_with_the_project_parser(
    standin: EutilsStandin, client: httpx.Client, tmp_path: Path
) -> None:
    rec = next(
        r
        for r in standin.records.values()
        if r.soft_file is None and r.entrytype == "GSE" and r.overall_design
    )
    r = client.get(standin.ftp_url + soft_path(rec.accession))
    assert r.status_code == 200
    assert r.content[:2] == b"\x1f\x8b"
    parsed = _soft_records(r.content, tmp_path, f"{rec.accession}_family.soft.gz")
    assert not [x for x in parsed if isinstance(x, model.Rejected)]
    series = [x for x in parsed if isinstance(x, model.Series)]
    samples = [x for x in parsed if isinstance(x, model.Sample)]
    assert [s.accession for s in series] == [rec.accession]
    assert series[0].title == rec.title
    assert series[0].overall_design == rec.overall_design
    assert series[0].samples == [s.accession for s in rec.samples] == [s.accession for s in samples]
    assert samples[0].characteristics
    assert samples[0].title == rec.samples[0].title


def test_downloads_follow_geo_layout_and_404_otherwise(
    standin: EutilsStandin, client: httpx.Client
) -> None:
    small = next(r for r in standin.records.values() if r.number < 1000)
    assert soft_path(small.accession).startswith("series/GSEnnn/")
    assert client.get(standin.ftp_url + soft_path(small.accession)).status_code == 200
    assert soft_path("GSE87585") == "series/GSE87nnn/GSE87585/soft/GSE87585_family.soft.gz"
    wrong_dir = f"series/GSE1nnn/{small.accession}/soft/{small.accession}_family.soft.gz"
    for path in (
        soft_path("GSE999999"),
        wrong_dir,
        "series/GDSnnn/GDS507/soft/GDS507_family.soft.gz",
    ):
        assert client.get(standin.ftp_url + path).status_code == 404
    assert standin.requests[-1].endpoint == "download"
    assert standin.requests[-1].status == 404


# ------------------------------------------------------------------ faults


def test_fault_429_with_retry_after_seconds_and_http_date(
    standin: EutilsStandin, client: httpx.Client
) -> None:
    when = dt.datetime(2026, 10, 21, 7, 28, tzinfo=dt.UTC)
    standin.fault("429", retry_after=2, match="esearch")
    standin.fault("429", retry_after=when, match="esearch")
    standin.fault("429", retry_after=None, match="esearch")
    codes, retry = [], []
    for _ in range(4):
        r = _get(client, standin, "esearch", db="gds", term="GSE[ETYP]")
        codes.append(r.status_code)
        retry.append(r.headers.get("Retry-After"))
        if r.status_code == 429:
            assert r.json() == {
                "error": "API rate limit exceeded",
                "api-key": "127.0.0.1",
                "count": "4",
                "limit": "3",
            }
    assert codes == [429, 429, 429, 200]
    assert retry == ["2", "Wed, 21 Oct 2026 07:28:00 GMT", None, None]
    assert [r.status for r in standin.requests[-4:]] == [429, 429, 429, 200]


def test_fault_503_with_retry_after(standin: EutilsStandin, client: httpx.Client) -> None:
    standin.fault("503", retry_after=3, match="download")
    r = client.get(standin.ftp_url + soft_path("GSE87585"))
    assert r.status_code == 503
    assert r.headers["Retry-After"] == "3"
    assert client.get(standin.ftp_url + soft_path("GSE87585")).status_code == 200


@pytest.mark.parametrize("kind", ["500", "503"])
def test_fault_server_errors_count_down(
    standin: EutilsStandin, client: httpx.Client, kind: str
) -> None:
    standin.fault(kind, times=2, match="esummary")
    assert (
        _get(client, standin, "esearch", db="gds", term="GSE[ETYP]").status_code == 200
    )  # not matched
    codes = [
        _get(client, standin, "esummary", db="gds", id="507", retmode="json").status_code
        for _ in range(3)
    ]
    assert codes == [int(kind), int(kind), 200]


def test_fault_where_predicate_selects_by_params(
    standin: EutilsStandin, client: httpx.Client
) -> None:
    standin.fault("500", times=None, where=lambda p: p.get("retstart") == "100")
    assert (
        _get(client, standin, "esearch", db="gds", term="GSE[ETYP]", retstart=0).status_code == 200
    )
    for _ in range(2):
        assert (
            _get(client, standin, "esearch", db="gds", term="GSE[ETYP]", retstart=100).status_code
            == 500
        )


def test_fault_slow_delays_the_answer(standin: EutilsStandin, client: httpx.Client) -> None:
    standin.fault("slow", delay=0.3, match="esearch")
    with httpx.Client(timeout=0.1) as impatient, pytest.raises(httpx.ReadTimeout):
        _get(impatient, standin, "esearch", db="gds", term="GSE[ETYP]")
    standin.fault("slow", delay=0.2, match="esearch")
    assert _get(client, standin, "esearch", db="gds", term="GSE[ETYP]", retmode="json").json()


def test_fault_slow_body_trickles_then_completes(
    standin: EutilsStandin, client: httpx.Client
) -> None:
    standin.fault("slow_body", trickle=0.4, chunks=4, match="esummary")
    chunks: list[bytes] = []
    with client.stream(
        "GET", f"{standin.url}esummary.fcgi", params={"db": "gds", "id": "507", "retmode": "json"}
    ) as r:
        assert r.status_code == 200
        chunks.extend(r.iter_raw())
    assert len(chunks) > 1
    assert json.loads(b"".join(chunks))["result"]["uids"] == ["507"]
    standin.fault("slow", trickle=1.0, chunks=10, match="esummary")
    with (
        httpx.Client(timeout=httpx.Timeout(5.0, read=0.05)) as impatient,
        pytest.raises(httpx.ReadTimeout),
    ):
        impatient.get(
            f"{standin.url}esummary.fcgi", params={"db": "gds", "id": "507", "retmode": "json"}
        )


def test_fault_truncate_closes_before_content_length(
    standin: EutilsStandin, client: httpx.Client
) -> None:
    standin.fault("truncate", match="efetch")
    with pytest.raises(httpx.RemoteProtocolError):
        _get(client, standin, "efetch", db="pubmed", id="29203764,9997")
    assert _get(client, standin, "efetch", db="pubmed", id="9997").status_code == 200


def test_fault_truncate_download(standin: EutilsStandin, client: httpx.Client) -> None:
    standin.fault("truncate", match="download")
    with pytest.raises(httpx.RemoteProtocolError):
        client.get(standin.ftp_url + soft_path("GSE94489"))


def test_fault_malformed_json_xml_and_gzip(standin: EutilsStandin, client: httpx.Client) -> None:
    standin.fault("malformed", match="esummary")
    r = _get(client, standin, "esummary", db="gds", id="507", retmode="json")
    assert r.status_code == 200
    with pytest.raises(json.JSONDecodeError):
        json.loads(r.content)
    standin.fault("malformed", match="esearch")
    r = _get(client, standin, "esearch", db="gds", term="GSE[ETYP]")
    with pytest.raises(etree.XMLSyntaxError):
        etree.fromstring(r.content, XML_PARSER)
    standin.fault("malformed", match="download")
    r = client.get(standin.ftp_url + soft_path("GSE94489"))
    with pytest.raises(EOFError):
        gzip.decompress(r.content)
    standin.fault("malformed", match="efetch", body=b"<PubmedArticleSet><PubmedArticle>")
    assert (
        _get(client, standin, "efetch", db="pubmed", id="9997").content
        == b"<PubmedArticleSet><PubmedArticle>"
    )


def test_fault_vanish_keeps_the_id_in_esearch(standin: EutilsStandin, client: httpx.Client) -> None:
    first = _esearch(client, standin, usehistory="y", retmax=2)
    victim = first["idlist"][0]
    standin.fault("vanish", uid=victim)
    assert victim in _esearch(client, standin, retmax=2)["idlist"]
    doc = _summary(client, standin, WebEnv=first["webenv"], query_key=first["querykey"], retmax=2)
    assert doc["result"]["uids"] == first["idlist"]
    assert doc["result"][victim] == {"uid": victim, "error": MISSING_UID}
    assert _summary(client, standin, id=victim)["result"][victim]["uid"] == victim  # times=1: back
    standin.fault("vanish", accession="GDS507", times=None)
    for _ in range(2):
        assert _summary(client, standin, id="507")["result"]["507"].get("error") == MISSING_UID


def test_fault_eutils_error_bodies(standin: EutilsStandin, client: httpx.Client) -> None:
    standin.fault("eutils_error", times=3, match="esearch")
    js = _get(client, standin, "esearch", db="gds", term="GSE[ETYP]", retmode="json")
    assert js.status_code == 200
    assert js.json()["esearchresult"]["ERROR"].startswith("Search Backend failed")
    xml = etree.fromstring(_get(client, standin, "esearch", db="gds", term="x").content, XML_PARSER)
    assert xml.tag == "eSearchResult"
    assert (xml.findtext("ERROR") or "").startswith("Search Backend failed")
    standin.clear_faults()
    standin.fault("eutils_error", match="esummary", message="Invalid uid")
    assert _summary(client, standin, id="507") == {
        "header": {"type": "esummary", "version": "0.3"},
        "error": "Invalid uid",
    }
    standin.fault("eutils_error", match="efetch")
    root = etree.fromstring(
        _get(client, standin, "efetch", db="pubmed", id="9997").content, XML_PARSER
    )
    assert root.tag == "eFetchResult"
    assert root.findtext("ERROR")


def test_unknown_fault_and_vanish_without_uid_are_refused(standin: EutilsStandin) -> None:
    with pytest.raises(ValueError, match="unknown fault kind"):
        standin.fault("teapot")
    with pytest.raises(ValueError, match="vanish needs"):
        standin.fault("vanish")


def test_wrong_db_and_unknown_endpoint(standin: EutilsStandin, client: httpx.Client) -> None:
    js = _get(client, standin, "esearch", db="nope", term="x", retmode="json").json()
    assert js["esearchresult"]["ERROR"] == "Invalid db name specified: nope"
    assert _get(client, standin, "einfo").status_code == 404
    assert standin.requests[-1].endpoint == "unknown"


# ------------------------------------------------------------------ log, window, hooks, rate limit


def test_request_log_records_params_and_window_helper(
    fresh: EutilsStandin, client: httpx.Client
) -> None:
    for _ in range(4):
        _get(
            client,
            fresh,
            "esearch",
            db="gds",
            term="GSE[ETYP]",
            tool="omicsoracle",
            email="a@b.org",
            api_key="k",
        )
    time.sleep(1.05)
    _get(client, fresh, "esummary", db="gds", id="507", retmode="json")
    log = fresh.requests
    assert [r.endpoint for r in log] == ["esearch"] * 4 + ["esummary"]
    assert all(r.params["tool"] == "omicsoracle" and r.params["api_key"] == "k" for r in log[:4])
    assert fresh.count("esearch") == 4
    assert fresh.count() == 5
    assert fresh.max_in_window(1.0) == 4
    assert fresh.max_in_window(1.0, endpoint="esummary") == 1
    assert fresh.max_in_window(10.0) == 5
    served = client.get(f"{fresh.base}/_standin/requests").json()
    assert [row[1] for row in served] == [r.endpoint for r in log]


def test_on_request_hook_sees_count_and_endpoint_before_the_answer(
    fresh: EutilsStandin, client: httpx.Client
) -> None:
    seen: list[tuple[int, str, int]] = []
    fresh.on_request(lambda n, ep: seen.append((n, ep, len(fresh.requests))))
    _get(client, fresh, "esearch", db="gds", term="GSE[ETYP]")
    client.get(fresh.ftp_url + soft_path("GSE87585"))
    assert seen == [(1, "esearch", 0), (2, "download", 1)]


def test_rate_limit_answers_429_above_3_per_second_without_key(client: httpx.Client) -> None:
    with EutilsStandin(records=5, rate_limit=True) as s:
        codes = [
            _get(client, s, "esearch", db="gds", term="GSE[ETYP]").status_code for _ in range(5)
        ]
        assert codes[:3] == [200, 200, 200]
        assert 429 in codes[3:]
        time.sleep(1.05)
        keyed = [
            _get(client, s, "esearch", db="gds", term="GSE[ETYP]", api_key="k").status_code
            for _ in range(5)
        ]
        assert keyed == [200] * 5


def test_concurrent_clients_are_all_logged(fresh: EutilsStandin) -> None:
    def hit() -> None:
        with httpx.Client(timeout=10.0) as c:
            for _ in range(5):
                assert (
                    _get(c, fresh, "esummary", db="gds", id="507", retmode="json").status_code
                    == 200
                )

    threads = [threading.Thread(target=hit) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert fresh.count("esummary") == 20


# ------------------------------------------------------------------ as a process


@pytest.mark.parametrize("how", ["module", "path"])
def test_runs_as_a_process_and_dies_on_sigkill(how: str) -> None:
    cmd = (
        [sys.executable, "-m", "tests.sync.standin"]
        if how == "module"
        else [sys.executable, str(REPO / "tests" / "sync" / "standin.py")]
    )
    proc = subprocess.Popen(
        [*cmd, "--port", "0", "--records", "10"], cwd=REPO, stdout=subprocess.PIPE, text=True
    )
    try:
        assert proc.stdout is not None
        url = proc.stdout.readline().strip()
        ftp = proc.stdout.readline().strip()
        assert url.endswith("/entrez/eutils/")
        assert ftp.endswith("/geo/")
        with httpx.Client(timeout=10.0) as c:
            r = c.get(
                url + "esearch.fcgi", params={"db": "gds", "term": "GSE[ETYP]", "retmode": "json"}
            )
            assert int(r.json()["esearchresult"]["count"]) == 13
            assert c.get(ftp + soft_path("GSE87585")).status_code == 200
    finally:
        proc.kill()
        proc.wait(10)
        if proc.stdout is not None:
            proc.stdout.close()
    host, port = url.removeprefix("http://").split("/")[0].split(":")
    with socket.socket() as sock:
        assert sock.connect_ex((host, int(port))) != 0


def test_every_generated_family_soft_parses_cleanly(standin: EutilsStandin, tmp_path: Path) -> None:
    from standin_corpus import family_soft

    for rec in standin.records.values():
        if rec.entrytype != "GSE" or rec.soft_file is not None:
            continue
        parsed = _soft_records(family_soft(rec), tmp_path, f"{rec.accession}_family.soft.gz")
        assert not [x for x in parsed if isinstance(x, model.Rejected)], rec.accession
        series = [x for x in parsed if isinstance(x, model.Series)]
        assert len(series) == 1
        assert series[0].title == " ".join(rec.title.split())
        assert sum(isinstance(x, model.Sample) for x in parsed) == len(rec.samples)
