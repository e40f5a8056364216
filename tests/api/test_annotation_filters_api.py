"""Entity and characteristic facets through the API and the CLI, on the enriched demo
corpus (tests/demo.py enriches it, as `make run` does)."""

from __future__ import annotations

import orjson
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from omicsoracle.cli import app
from omicsoracle.config import Settings
from omicsoracle.search.base import ANNOTATION_FACETS


def _counts(body: dict, name: str) -> dict[str, int]:
    return {b["value"]: b["count"] for b in body["facets"][name]}


def test_search_facets_and_filters(client: TestClient) -> None:
    body = client.get("/api/v1/search", params={"q": "breast cancer", "limit": 1}).json()
    assert set(ANNOTATION_FACETS) <= set(body["facets"])
    cell_lines = _counts(body, "cell_line")
    assert "MCF-7" in cell_lines
    assert "MDA-MB-231" in cell_lines
    # A facet value as a filter selects exactly the series it counts.
    filtered = client.get(
        "/api/v1/search", params={"q": "breast cancer", "cell_line": "MCF-7", "limit": 1}
    ).json()
    assert filtered["total"] == cell_lines["MCF-7"]
    assert filtered["interpreted"]["request_filters"] == {"cell_line": ["MCF-7"]}
    # Case does not matter (entities are matched case-insensitively), and /facets agrees.
    facets = client.get("/api/v1/facets", params={"q": "breast cancer", "cell_line": "mcf-7"})
    assert facets.json()["total"] == cell_lines["MCF-7"]
    # Two filters AND; two values of one filter OR.
    both = client.get(
        "/api/v1/search",
        params=[("q", "breast cancer"), ("cell_line", "MCF-7"), ("cell_line", "MDA-MB-231")],
    ).json()
    assert max(cell_lines["MCF-7"], cell_lines["MDA-MB-231"]) <= both["total"]
    assert both["total"] <= cell_lines["MCF-7"] + cell_lines["MDA-MB-231"]


def test_characteristic_filter_and_export(client: TestClient) -> None:
    everything = client.get("/api/v1/search", params={"limit": 1}).json()
    value, count = next(iter(_counts(everything, "characteristic").items()))
    key = value.split(": ", 1)[0]
    typed = key.upper() + ":" + value.split(": ", 1)[1]  # as a user might type it
    found = client.get("/api/v1/search", params={"characteristic": typed}).json()
    assert found["total"] == count
    by_key = client.get("/api/v1/search", params={"characteristic": key, "limit": 1}).json()
    assert by_key["total"] >= count
    export = client.get("/api/v1/export", params={"characteristic": value, "format": "json"})
    assert export.status_code == 200
    assert len(orjson.loads(export.content)) == count
    too_many = client.get(
        "/api/v1/search", params=[("characteristic", f"k: {i}") for i in range(51)]
    )
    assert too_many.status_code == 422


def test_enrichment_tests_extracted_entities(client: TestClient) -> None:
    body = client.get("/api/v1/analysis/enrichment", params={"q": "breast cancer cell line"}).json()
    terms = {(t["field"], t["value"]): t for t in body["terms"]}
    mcf7 = terms[("cell_line", "MCF-7")]
    assert mcf7["fold"] > 1
    assert mcf7["p_adj"] < 0.05
    corpus = client.get("/api/v1/facets").json()
    assert mcf7["in_corpus"] == _counts(corpus, "cell_line")["MCF-7"]


def test_cli_filters(demo_settings: Settings) -> None:
    env = {"OMICSORACLE_DATA_DIR": str(demo_settings.data_dir)}
    runner = CliRunner()
    out = runner.invoke(app, ["search", "breast cancer", "--json", "--limit", "1"], env=env)
    expected = _counts(orjson.loads(out.stdout), "cell_line")["MCF-7"]
    filtered = runner.invoke(
        app, ["search", "breast cancer", "--cell-line", "MCF-7", "--json"], env=env
    )
    assert filtered.exit_code == 0, filtered.output
    assert orjson.loads(filtered.stdout)["total"] == expected
    typed = runner.invoke(app, ["search", "breast cancer cell_line:MCF-7", "--json"], env=env)
    assert orjson.loads(typed.stdout)["total"] == expected


def test_enrichment_tests_the_literal_result_set_when_asked(client: TestClient) -> None:
    """The page sends literal=true when the search on screen was literal: the test must
    run on that result set, not on the one the understood query would give."""
    q = "mouse liver at least 20 samples"
    for literal in ("false", "true"):
        shown = client.get("/api/v1/search", params={"q": q, "literal": literal, "limit": 1})
        tested = client.get("/api/v1/analysis/enrichment", params={"q": q, "literal": literal})
        assert tested.json()["total"] == shown.json()["total"], literal
    understood = client.get("/api/v1/search", params={"q": q, "limit": 1}).json()["total"]
    literal_total = client.get(
        "/api/v1/search", params={"q": q, "literal": "true", "limit": 1}
    ).json()["total"]
    assert understood != literal_total
