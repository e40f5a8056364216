"""The statistics API on GDS507: groups, a comparison job, its TSV, the 4xx answers."""

from __future__ import annotations

import math
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from job_helpers import job_events, wait_for_job
from omicsoracle.api.app import create_app
from omicsoracle.config import Settings

RCC = {"accession": "GDS507", "group": "disease state:RCC", "vs": "disease state:normal"}


@pytest.fixture(scope="module")
def gds_client(gds_settings: Settings) -> Iterator[TestClient]:
    settings = gds_settings.model_copy(update={"rate_limit_per_minute": 0})
    with TestClient(create_app(settings)) as c:
        yield c


def test_groups(gds_client: TestClient) -> None:
    r = gds_client.get("/api/v1/analysis/groups/GDS507")
    assert r.status_code == 200
    body = r.json()
    assert body["accession"] == "GDS507"
    assert body["has_values"] is True
    assert body["n_samples"] == 17
    first = body["groups"][0]
    assert (first["key"], first["value"], first["n"]) == ("disease state", "RCC", 9)
    assert first["samples"][0] == "GSM11815"


def test_groups_of_unknown_record(gds_client: TestClient) -> None:
    r = gds_client.get("/api/v1/analysis/groups/GDS999999")
    assert r.status_code == 404
    assert r.headers["content-type"].startswith("application/problem+json")


def test_comparison_job_result_events_tsv_and_cache(gds_client: TestClient) -> None:
    r = gds_client.post("/api/v1/analysis/de", json=RCC)
    assert r.status_code == 202
    started = r.json()
    assert started["url"] == f"/api/v1/jobs/{started['job_id']}"
    job = wait_for_job(gds_client, started["job_id"])
    assert job["state"] == "done", job
    result = job["result"]
    assert result["accession"] == "GDS507"
    assert result["log_transformed"] is True
    assert result["n_probes"] == len(result["results"]) == 22645
    assert set(result["results"][0]) == {
        "probe", "gene", "log2fc", "t", "p", "p_adj", "mod_t", "mod_p", "mod_p_adj",
    }  # fmt: skip
    assert result["groups"]["group"]["label"] == "disease state:RCC"
    assert len(result["heatmap"]["probes"]) == 50

    events = job_events(gds_client, started["job_id"])
    stages = [e.get("stage") for e in events if e.get("event") == "progress"]
    assert "testing" in stages
    assert events[-1]["event"] == "done"

    tsv = gds_client.get(f"/api/v1/analysis/de/{started['job_id']}.tsv")
    assert tsv.status_code == 200
    assert tsv.headers["content-type"].startswith("text/tab-separated-values")
    lines = tsv.text.splitlines()
    assert lines[0] == "probe\tgene\tlog2fc\tt\tp\tp_adj\tmod_t\tmod_p\tmod_p_adj"
    assert len(lines) == 22646
    assert lines[1].startswith(result["results"][0]["probe"] + "\t")

    # Same inputs (spelt differently): the finished job answers again.
    again = gds_client.post(
        "/api/v1/analysis/de",
        json={"accession": "GDS507", "group": "Disease State:rcc", "vs": "disease state:normal"},
    )
    assert again.status_code == 202
    assert again.json()["job_id"] == started["job_id"]
    assert again.json()["cached"] is True


@pytest.mark.parametrize(
    ("body", "status", "words"),
    [
        ({**RCC, "accession": "GDS999999"}, 404, "no dataset"),
        ({**RCC, "vs": "disease state:healthy"}, 422, "no group"),
        ({**RCC, "vs": "individual:011"}, 422, "2 are needed"),
        ({**RCC, "vs": "disease state:RCC"}, 422, "must differ"),
        ({**RCC, "group": "RCC"}, 422, ""),
        ({"accession": "GDS507"}, 422, ""),
        ({**RCC, "accession": "DROP TABLE"}, 422, ""),
    ],
)
def test_bad_requests(
    gds_client: TestClient, body: dict[str, str], status: int, words: str
) -> None:
    r = gds_client.post("/api/v1/analysis/de", json=body)
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    assert words in r.json().get("detail", "")


def test_dataset_without_values(
    gds_client: TestClient, tmp_path_factory: pytest.TempPathFactory
) -> None:
    # GDS507's record with its table gone: the request is refused, not failed later.
    settings = Settings(data_dir=tmp_path_factory.mktemp("novalues") / "var")
    from de_data import GDS507

    from omicsoracle.ingest import ingest_paths
    from omicsoracle.store import open_store

    store = open_store(settings.resolved_database_url)
    try:
        ingest_paths(store, [GDS507])
        with store.transaction(None) as session:  # type: ignore[attr-defined]
            session.truncate_table("GDS507", -1)
    finally:
        store.close()
    with TestClient(create_app(settings)) as c:
        for body in (RCC, {**RCC, "vs": "disease state:healthy"}):
            # The missing values are the answer even when a group is unknown too.
            r = c.post("/api/v1/analysis/de", json=body)
            assert r.status_code == 422
            assert r.json()["detail"] == "GDS507 has no expression values to compare"
        assert c.get("/api/v1/analysis/groups/GDS507").json()["has_values"] is False


def test_tsv_of_unknown_job(gds_client: TestClient) -> None:
    r = gds_client.get(f"/api/v1/analysis/de/{'0' * 32}.tsv")
    assert r.status_code == 404


def test_groups_of_a_series_from_characteristics(demo_settings: Settings) -> None:
    # A series has no subsets: its groups come from its samples' characteristics
    # (the record's "samples_page"); this used to answer 500.
    settings = demo_settings.model_copy(update={"rate_limit_per_minute": 0})
    with TestClient(create_app(settings)) as c:
        r = c.get("/api/v1/analysis/groups/GSE100007")
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["has_values"] is False
        assert ("cell type", "Human embryonic stem cells (hESC)", 14) in {
            (g["key"], g["value"], g["n"]) for g in body["groups"]
        }
        bad = c.post(
            "/api/v1/analysis/de", json={"accession": "GSE100007", "group": "a:b", "vs": "c:d"}
        )
        assert bad.status_code == 422, bad.text


def _finished_job(client: TestClient) -> str:
    started = client.post("/api/v1/analysis/de", json=RCC).json()
    assert wait_for_job(client, started["job_id"])["state"] == "done"
    return str(started["job_id"])


def test_top_table_page_and_volcano_columns(gds_client: TestClient) -> None:
    job_id = _finished_job(gds_client)
    full = gds_client.get(f"/api/v1/jobs/{job_id}").json()["result"]["results"]

    r = gds_client.get(f"/api/v1/analysis/de/{job_id}", params={"limit": 25, "offset": 50})
    assert r.status_code == 200
    page = r.json()
    assert page["state"] == "done"
    assert (page["total"], page["offset"], page["limit"]) == (22645, 50, 25)
    assert page["results"] == full[50:75]  # sorted by mod_p_adj, as stored
    assert page["results"][0]["mod_p_adj"] <= page["results"][-1]["mod_p_adj"]
    assert page["groups"]["group"]["label"] == "disease state:RCC"
    assert len(page["heatmap"]["probes"]) == 50
    assert page["log_scale"] == {
        "transformed": True,
        "decided_by": "quantiles",
        "value_type": "count",
    }
    sig = [x for x in full if x["mod_p_adj"] is not None and x["mod_p_adj"] < 0.05]
    assert page["significant"]["n"] == len(sig)
    assert page["significant"]["up"] == sum(1 for x in sig if x["log2fc"] > 0)
    assert len(r.content) < 100_000  # the whole result is several MB

    default = gds_client.get(f"/api/v1/analysis/de/{job_id}").json()
    assert len(default["results"]) == 100
    assert default["results"][0]["gene"] == "KCNJ10"
    past_end = gds_client.get(f"/api/v1/analysis/de/{job_id}", params={"offset": 22640}).json()
    assert len(past_end["results"]) == 5

    by_fc = gds_client.get(
        f"/api/v1/analysis/de/{job_id}",
        params={"sort": "log2fc", "descending": "true", "limit": 10},
    ).json()["results"]
    biggest = sorted((abs(x["log2fc"]) for x in full if x["log2fc"] is not None), reverse=True)
    assert [abs(x["log2fc"]) for x in by_fc] == biggest[:10]

    v = gds_client.get(f"/api/v1/analysis/de/{job_id}/volcano")
    assert v.status_code == 200
    cols = v.json()
    drawn = [x for x in full if x["log2fc"] is not None and x["mod_p_adj"] is not None]
    assert len(cols["probe"]) == len(cols["gene"]) == len(cols["log2fc"]) == len(drawn)
    assert len(cols["neg_log10_p_adj"]) == len(drawn)
    assert cols["probe"][0] == drawn[0]["probe"]
    assert cols["log2fc"][0] == pytest.approx(drawn[0]["log2fc"], abs=1e-4)
    assert cols["neg_log10_p_adj"][0] == pytest.approx(-math.log10(drawn[0]["mod_p_adj"]), abs=1e-3)
    whole = gds_client.get(f"/api/v1/jobs/{job_id}")
    assert len(v.content) * 3 < len(whole.content)


@pytest.mark.parametrize(
    "params",
    [
        {"limit": 0},
        {"limit": 1001},
        {"limit": "ten"},
        {"offset": -1},
        {"offset": 10_000_001},
        {"sort": "title"},
    ],
)
def test_bad_page_parameters(gds_client: TestClient, params: dict[str, object]) -> None:
    job_id = _finished_job(gds_client)
    r = gds_client.get(f"/api/v1/analysis/de/{job_id}", params=params)
    assert r.status_code == 422, r.text
    assert r.headers["content-type"].startswith("application/problem+json")


def test_page_of_unknown_and_unfinished_jobs(gds_client: TestClient) -> None:
    assert gds_client.get(f"/api/v1/analysis/de/{'0' * 32}").status_code == 404
    assert gds_client.get(f"/api/v1/analysis/de/{'0' * 32}/volcano").status_code == 404
    assert gds_client.get("/api/v1/analysis/de/not-a-job").status_code == 422


def test_series_answered_from_its_dataset(gds_client: TestClient) -> None:
    # GSE781 is not stored; GDS507, stored, names it as its reference series.
    r = gds_client.get("/api/v1/analysis/groups/GSE781")
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["accession"], body["values_from"], body["record_stored"]) == (
        "GSE781",
        "GDS507",
        False,
    )
    started = gds_client.post("/api/v1/analysis/de", json={**RCC, "accession": "GSE781"})
    assert started.status_code == 202, started.text
    job = wait_for_job(gds_client, started.json()["job_id"])
    assert job["state"] == "done", job
    assert job["params"]["values_from"] == "GDS507"
    page = gds_client.get(started.json()["table"], params={"limit": 1}).json()
    assert (page["accession"], page["values_from"]) == ("GSE781", "GDS507")
    missing = gds_client.get("/api/v1/analysis/groups/GSE999999")
    assert missing.status_code == 404
    assert "no dataset or series GSE999999" in missing.json()["detail"]
