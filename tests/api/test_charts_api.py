"""/api/v1/charts/results against the facets, and plotly.js served from the package."""

from __future__ import annotations

import gzip
import re
from typing import Any

import pytest
from fastapi.testclient import TestClient

from demo import REPO
from omicsoracle.api.charts import IMMUTABLE, PlotlyAsset, guarded_styles, plotly_css
from omicsoracle.charts import result_charts
from omicsoracle.search.fields import SAMPLE_BUCKETS

CHARTS_JS = REPO / "src" / "omicsoracle" / "web" / "static" / "js" / "tabs" / "charts.js"
SEARCHES: list[dict[str, Any]] = [
    {"q": "cancer"},
    {"q": "breast cancer", "organism": "Homo sapiens"},
    {"q": "", "type": "Expression profiling by array", "year_from": 2008},
    {"q": "liver", "min_samples": 10},
]


def _facets(client: TestClient, params: dict[str, Any]) -> dict[str, Any]:
    resp = client.get("/api/v1/facets", params=params)
    assert resp.status_code == 200
    body: dict[str, Any] = resp.json()
    return body


@pytest.mark.parametrize("params", SEARCHES)
def test_bars_equal_the_facets(client: TestClient, params: dict[str, Any]) -> None:
    facets = _facets(client, params)
    resp = client.get("/api/v1/charts/results", params=params)
    assert resp.status_code == 200
    body = resp.json()
    assert body["total"] == facets["total"] > 0
    for name in ("organism", "type", "platform"):
        chart = body["charts"][name]
        assert chart["kind"] == "bar"
        expected = facets["facets"][name]
        assert chart["categories"] == [b["value"] for b in expected]
        assert chart["counts"] == [b["count"] for b in expected]
        assert chart["title"]
        assert chart["x_label"] == "Series"
        assert chart["y_label"]


@pytest.mark.parametrize("params", SEARCHES)
def test_timeline_and_histogram_equal_the_facets(
    client: TestClient, params: dict[str, Any]
) -> None:
    facets = _facets(client, params)["facets"]
    charts = client.get("/api/v1/charts/results", params=params).json()["charts"]

    year = charts["year"]
    assert year["kind"] == "timeline"
    drawn = dict(zip(year["categories"], year["counts"], strict=True))
    known = {b["value"]: b["count"] for b in facets["year"] if b["value"].isdigit()}
    assert {y: n for y, n in drawn.items() if n} == {y: n for y, n in known.items() if n}
    # Every year from the first to the last, in order, the missing ones as zero.
    years = [int(y) for y in year["categories"]]
    assert years == list(range(min(map(int, known)), max(map(int, known)) + 1))
    unknown = sum(b["count"] for b in facets["year"] if not b["value"].isdigit())
    assert year["unknown"] == unknown
    assert sum(year["counts"]) + unknown == sum(b["count"] for b in facets["year"])

    samples = charts["samples"]
    assert samples["kind"] == "histogram"
    assert samples["categories"] == [label for _, label in SAMPLE_BUCKETS]
    by_bucket = {b["value"]: b["count"] for b in facets["samples"]}
    assert samples["counts"] == [by_bucket.get(label, 0) for label in samples["categories"]]
    assert samples["unknown"] == by_bucket.get("unknown", 0)


def test_cancer_numbers_on_the_demo_corpus(client: TestClient) -> None:
    """Spot values a reader can check on the page (the demo corpus as shipped)."""
    body = client.get("/api/v1/charts/results", params={"q": "cancer"}).json()
    organism = body["charts"]["organism"]
    assert organism["categories"][:2] == ["Homo sapiens", "Mus musculus"]
    assert organism["counts"][0] > organism["counts"][1] > 0
    assert (
        sum(body["charts"]["samples"]["counts"]) + body["charts"]["samples"]["unknown"]
        == (body["total"])
    )


def test_filters_are_validated_like_search(client: TestClient) -> None:
    resp = client.get("/api/v1/charts/results", params={"year_from": 1200})
    assert resp.status_code == 422
    assert resp.headers["content-type"].startswith("application/problem+json")


def test_result_charts_of_empty_facets() -> None:
    body = result_charts(0, {})
    assert body["total"] == 0
    assert body["charts"]["year"]["categories"] == []
    assert body["charts"]["samples"]["counts"] == [0] * len(SAMPLE_BUCKETS)
    assert body["charts"]["organism"]["categories"] == []


def test_plotly_served_from_the_package_with_long_caching(client: TestClient) -> None:
    asset = PlotlyAsset.installed()
    assert asset.path.name == "plotly.min.js"
    assert "site-packages" in str(asset.path) or "plotly" in str(asset.path.parent.parent)
    library = client.get("/api/v1/charts/results", params={"q": "cancer"}).json()["library"]
    assert library["url"] == f"/static/vendor/plotly-{asset.version}.min.js"

    plain = client.get(library["url"], headers={"accept-encoding": "identity"})
    assert plain.status_code == 200
    assert plain.headers["content-type"] == "text/javascript; charset=utf-8"
    assert plain.headers["cache-control"] == IMMUTABLE
    assert "content-encoding" not in plain.headers
    assert plain.content == asset.path.read_bytes()
    assert b"window.Plotly = Plotly" in plain.content

    zipped = client.get(library["url"], headers={"accept-encoding": "gzip"})
    assert zipped.headers["content-encoding"] == "gzip"
    assert zipped.headers["cache-control"] == IMMUTABLE
    # httpx decodes the body; the bytes on the wire are a third of the file.
    assert zipped.content == plain.content
    assert int(zipped.headers["content-length"]) < len(plain.content) / 2

    again = client.get(library["url"], headers={"if-none-match": plain.headers["etag"]})
    assert again.status_code == 304
    assert client.head(library["url"]).status_code == 200


def test_other_versions_are_not_found(client: TestClient) -> None:
    resp = client.get("/static/vendor/plotly-0.0.1.min.js")
    assert resp.status_code == 404
    assert client.get("/static/vendor/plotly-0.0.1.css").status_code == 404


def test_plotly_stylesheet_replaces_its_inline_styles(client: TestClient) -> None:
    asset = PlotlyAsset.installed()
    resp = client.get(f"/static/vendor/plotly-{asset.version}.css")
    assert resp.status_code == 200
    assert resp.headers["content-type"] == "text/css; charset=utf-8"
    assert resp.headers["cache-control"] == IMMUTABLE
    css = resp.text
    assert ".js-plotly-plot .plotly .modebar{" in css
    assert ".plotly-notifier{" in css
    assert ".maplibregl-map{" in css
    assert css.count("{") == css.count("}") > 60


def test_page_pins_the_installed_version_and_style_ids() -> None:
    """tabs/charts.js names the version and the guarded style id of the installed bundle:
    a new pin of plotly fails here until the page names the new file."""
    asset = PlotlyAsset.installed()
    js = CHARTS_JS.read_text()
    pinned = re.search(r'PLOTLY_VERSION = "([^"]+)"', js)
    assert pinned is not None
    assert pinned.group(1) == asset.version
    for style_id in guarded_styles(asset.body):
        assert f'"{style_id}"' in js
    # Both switches the page relies on are in the bundle.
    assert b'"plotly.js-style-"' in asset.body
    assert b".no-inline-styles" in asset.body


def test_css_parser_on_a_small_table() -> None:
    bundle = b'x={"X,X div":\'font-family:"Open Sans";\',"X .a:hover":"color:#444;",Y:"top:0;"};'
    assert plotly_css(bundle) == (
        '.js-plotly-plot .plotly,.js-plotly-plot .plotly div{font-family:"Open Sans";}\n'
        ".js-plotly-plot .plotly .a:hover{color:#444;}\n"
        ".plotly-notifier{top:0;}\n"
    )
    with pytest.raises(RuntimeError):
        plotly_css(b"no rules here")


def test_gzipped_body_is_the_file() -> None:
    asset = PlotlyAsset.installed()
    assert gzip.decompress(asset.gzipped) == asset.body
