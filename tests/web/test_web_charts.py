"""Charts in the browser: plotly.js loaded only when a chart opens, drawn from the search
already on screen, hover values, SVG/PNG downloads, and the volcano plot and heatmap."""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from de_fixture import gds507_de_result, volcano_classes
from playwright.sync_api import Page, Route, expect
from web_helpers import PageLog, Server, wait_for_results

pytestmark = pytest.mark.slow

PLOTLY = "/static/vendor/plotly-"
VIZ_MODULE = "/static/js/tabs/visualization.js"
SEARCH_API = "/api/v1/search"
CHARTS = "#search-charts"


def _get(server: Server, path: str) -> tuple[int, Any]:
    try:
        with urllib.request.urlopen(server.url + path) as resp:
            return resp.status, json.load(resp)
    except urllib.error.HTTPError as err:
        return err.code, json.load(err)


def _count(log: PageLog, fragment: str) -> int:
    return sum(fragment in url for url in log.requests)


def _open_search_charts(page: Page, page_log: PageLog) -> None:
    page.goto("/?q=cancer")
    wait_for_results(page)
    page.wait_for_load_state("networkidle")
    assert not page_log.requested(PLOTLY), page_log.requests
    assert not page_log.requested(VIZ_MODULE), page_log.requests
    with page.expect_request(lambda r: PLOTLY in r.url):
        page.get_by_role("button", name="Charts").click()
    expect(page.locator(f"{CHARTS} figure[data-drawn]")).to_have_count(5)


def test_search_charts_reuse_the_search_on_screen(
    page: Page, page_log: PageLog, server: Server, artifacts: Path
) -> None:
    _open_search_charts(page, page_log)
    searches = _count(page_log, SEARCH_API)
    assert searches == 1, page_log.requests
    assert _count(page_log, VIZ_MODULE) == 1
    assert _count(page_log, f"{PLOTLY}") == 2  # the script and its stylesheet, once each
    assert not page_log.requested("/api/v1/charts/")  # the facets on screen are enough
    status, api = _get(server, "/api/v1/charts/results?q=cancer")
    assert status == 200
    for name in ("organism", "type", "platform", "year", "samples"):
        slug = {"year": "timeline", "samples": "sample-sizes"}.get(name, name)
        figure = page.locator(f"{CHARTS} figure[data-chart=search-{slug}]")
        expect(figure.locator("svg.main-svg").first).to_be_visible()
        # Title and both axis titles drawn in the SVG.
        assert figure.locator(".gtitle").text_content() == api["charts"][name]["title"]
        assert figure.locator(".xtitle").text_content() == api["charts"][name]["x_label"]
        assert figure.locator(".ytitle").text_content() == api["charts"][name]["y_label"]
        trace = figure.locator(".plot").evaluate("el => el.data[0]")
        chart = api["charts"][name]
        if name in ("organism", "type", "platform"):
            assert trace["y"] == chart["categories"]
            assert trace["x"] == chart["counts"]
        else:
            assert trace["x"] == chart["categories"]
            assert trace["y"] == chart["counts"]
    page.locator(f"{CHARTS} figure").first.screenshot(path=artifacts / "charts-organism.png")
    # Closing and opening the panel, or a new search, draws again without another library load.
    page.get_by_role("button", name="Charts").click()
    page.get_by_role("button", name="Charts").click()
    expect(page.locator(f"{CHARTS} figure[data-drawn]")).to_have_count(5)
    assert _count(page_log, SEARCH_API) == searches
    assert _count(page_log, f"{PLOTLY}") == 2


def test_hover_shows_the_value(page: Page, page_log: PageLog, server: Server) -> None:
    _open_search_charts(page, page_log)
    _, api = _get(server, "/api/v1/charts/results?q=cancer")
    organism = api["charts"]["organism"]
    figure = page.locator(f"{CHARTS} figure[data-chart=search-organism]")
    bar = figure.locator(".barlayer .point path").first
    box = bar.bounding_box()
    assert box is not None
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    hover = figure.locator(".hoverlayer .hovertext")
    expect(hover).to_have_count(1)
    count = f"{organism['counts'][0]:,}"
    expect(hover).to_contain_text(f"{organism['categories'][0]}: {count} series")


def test_charts_download_as_svg_and_png(page: Page, page_log: PageLog) -> None:
    _open_search_charts(page, page_log)
    figure = page.locator(f"{CHARTS} figure[data-chart=search-timeline]")
    # The modebar's camera button, and the library's own export as an SVG data URL.
    expect(figure.locator(".modebar-btn[data-title^='Download plot']")).to_have_count(1)
    url = figure.locator(".plot").evaluate("el => Plotly.toImage(el, {format: 'svg'})")
    assert url.startswith("data:image/svg+xml,")
    with page.expect_download() as svg:
        figure.get_by_role("button", name="Download SVG").click()
    assert svg.value.suggested_filename == "search-timeline.svg"
    text = Path(svg.value.path()).read_text()
    assert "<svg" in text
    assert "Release timeline" in text
    with page.expect_download() as png:
        figure.get_by_role("button", name="Download PNG").click()
    assert png.value.suggested_filename == "search-timeline.png"
    assert Path(png.value.path()).read_bytes().startswith(b"\x89PNG\r\n\x1a\n")


def test_volcano_and_heatmap_from_a_de_result(page: Page, artifacts: Path) -> None:
    """The drawing code on a real GDS507 comparison (scipy Welch; see de_fixture.py)."""
    result = gds507_de_result()
    expected = volcano_classes(result)
    page.goto("/?q=cancer")
    wait_for_results(page)
    drawn = page.evaluate(
        """async (result) => {
          const charts = await import("/static/js/tabs/charts.js");
          const out = {};
          for (const [name, build] of [["volcano", charts.volcanoFigure], ["heatmap", charts.heatmapFigure]]) {
            const el = document.createElement("div");
            el.id = `fixture-${name}`;
            el.style.width = "900px";
            document.body.prepend(el);
            const figure = build(result);
            await charts.draw(el, figure, name);
            out[name] = {
              names: figure.data.map((t) => t.name),
              sizes: figure.data.map((t) => (t.x ?? []).length),
              title: figure.layout.title.text,
              x: figure.layout.xaxis.title.text,
              y: figure.layout.yaxis.title.text,
            };
          }
          const points = charts.volcanoPoints(result);
          out.classes = { up: points.up.length, down: points.down.length, ns: points.ns.length };
          return out;
        }""",
        result,
    )
    assert drawn["classes"] == expected
    volcano = drawn["volcano"]
    assert volcano["title"] == "GDS507: disease state: RCC vs disease state: normal"
    assert volcano["x"] == "log2 fold change (disease state: RCC / disease state: normal)"
    assert volcano["y"] == "−log10 adjusted p (moderated t)"
    ns, down, up = volcano["sizes"]
    assert (up, down) == (expected["up"], expected["down"])
    # Unchanged probes are thinned to one per grid cell; all significant ones are drawn.
    assert 0 < ns < expected["ns"]
    assert volcano["names"][2] == f"Up in disease state: RCC ({expected['up']})"
    el = page.locator("#fixture-volcano")
    assert el.locator(".scatterlayer .point").count() == ns + up + down
    legend = el.locator(".legend").text_content() or ""
    assert "Up in disease state: RCC" in legend
    assert "Down in disease state: RCC" in legend
    el.screenshot(path=artifacts / "volcano-gds507.png")

    heatmap = drawn["heatmap"]
    assert heatmap["title"] == "GDS507: top 50 probes by adjusted p"
    assert heatmap["sizes"][:2] == [17, 17]  # samples of the heatmap and of the group strip
    hm = page.locator("#fixture-heatmap")
    expect(hm.locator(".hm image").first).to_be_attached()
    legend = hm.locator(".legend").text_content() or ""
    assert "disease state: RCC" in legend
    assert "disease state: normal" in legend
    hm.screenshot(path=artifacts / "heatmap-gds507.png")

    # Hover over the most significant probe names its gene and values.
    top = next(r for r in result["results"] if r["log2fc"] <= -1 or r["log2fc"] >= 1)
    el.scroll_into_view_if_needed()
    point = el.evaluate(
        """(el, probe) => {
          const trace = el._fullData.findIndex((t) => (t.customdata ?? []).some((c) => c[1] === probe));
          const i = el._fullData[trace].customdata.findIndex((c) => c[1] === probe);
          const xa = el._fullLayout.xaxis;
          const ya = el._fullLayout.yaxis;
          const box = el.querySelector(".nsewdrag").getBoundingClientRect();
          return { x: box.left + xa.d2p(el.data[trace].x[i]), y: box.top + ya.d2p(el.data[trace].y[i]) };
        }""",
        top["probe"],
    )
    page.mouse.move(point["x"], point["y"])
    hover = el.locator(".hoverlayer .hovertext")
    expect(hover.first).to_contain_text(top["gene"])
    expect(hover.first).to_contain_text(re.compile(r"log2 FC -?\d+\.\d\d"))


def test_record_tab_loads_charts_only_when_opened(
    page: Page, page_log: PageLog, server: Server, artifacts: Path
) -> None:
    page.goto("/?id=GDS507")
    expect(page.locator(".record-title")).to_be_visible()
    page.wait_for_load_state("networkidle")
    assert not page_log.requested(VIZ_MODULE), page_log.requests
    assert not page_log.requested(PLOTLY), page_log.requests
    with page.expect_request(lambda r: r.url.endswith(VIZ_MODULE)):
        page.locator("[role=tab][data-tab=visualization]").click()
    panel = page.locator("#panel-visualization")
    # The record's own chart (samples per subset) is always there.
    expect(panel.locator("figure[data-drawn]").first).to_be_visible()
    assert _count(page_log, PLOTLY) == 2
    status, _ = _get(server, "/api/v1/analysis/groups/GDS507")
    if status == 200:
        # The statistics API answers: the DE job runs and both charts are drawn.
        expect(panel.locator("figure[data-chart=gds507-volcano][data-drawn]")).to_be_visible(
            timeout=60_000
        )
        expect(panel.locator("figure[data-chart=gds507-heatmap][data-drawn]")).to_be_visible()
        assert panel.locator("[data-chart=gds507-volcano] .scatterlayer .point").count() > 100
        # The volcano's columns and one row of the table, never the job's whole result.
        assert page_log.requested("/volcano"), page_log.requests
        assert not page_log.requested("/api/v1/jobs/"), page_log.requests
    else:
        expect(panel.locator(".stats-unavailable")).to_contain_text("Statistics not available")
    page.screenshot(path=artifacts / "tab-visualization-gds507.png", full_page=True)


DE_TABLE = re.compile(r"/api/v1/analysis/de/[0-9a-f]{32}\?")


def _still_running(route: Route) -> None:
    # The job's table route as the server answers a job still running (the comparison
    # itself runs for real; only its state is held).
    job_id = route.request.url.split("/de/")[1].split("?")[0]
    body = {"id": job_id, "state": "running", "progress": {"stage": "testing", "fraction": 0.4}}
    route.fulfill(status=200, content_type="application/json", body=json.dumps(body))


def test_de_polling_stops_when_the_tab_closes(page: Page, page_log: PageLog) -> None:
    page.route(DE_TABLE, _still_running)
    page.clock.install()
    page.goto("/?id=GDS507&tab=visualization")
    panel = page.locator("#panel-visualization")
    expect(panel.locator(".de-charts")).to_contain_text("Comparing the groups… 40%")
    page.locator("[role=tab][data-tab=overview]").click()
    page.clock.run_for("00:02")
    polls = sum(bool(DE_TABLE.search(u)) for u in page_log.requests)
    page.clock.run_for("00:10")
    assert sum(bool(DE_TABLE.search(u)) for u in page_log.requests) == polls  # stopped
    page.locator("[role=tab][data-tab=visualization]").click()
    expect(panel.locator(".de-charts")).to_contain_text(
        "Stopped following the comparison when the tab closed"
    )


def test_over_representation_of_the_results(page: Page, page_log: PageLog, server: Server) -> None:
    """The charts panel tests the results' facet values, extracted entities included,
    against the corpus with the search's own parameters, and only when asked."""
    page.goto("/?q=breast+cancer+cell+line&organism=Homo+sapiens")
    wait_for_results(page)
    page.get_by_role("button", name="Charts").click()
    expect(page.locator(f"{CHARTS} figure[data-drawn]")).to_have_count(5)
    assert not page_log.requested("/api/v1/analysis/enrichment")
    with page.expect_request(lambda r: "/api/v1/analysis/enrichment" in r.url) as asked:
        page.get_by_role("button", name="Test over-representation").click()
    assert "organism=Homo+sapiens" in asked.value.url, asked.value.url
    row = page.locator(f"{CHARTS} .enrichment-table tr[data-field=cell_line][data-value='MCF-7']")
    expect(row).to_be_visible()
    status, body = _get(
        server, "/api/v1/analysis/enrichment?q=breast+cancer+cell+line&organism=Homo+sapiens"
    )
    assert status == 200
    term = next(t for t in body["terms"] if (t["field"], t["value"]) == ("cell_line", "MCF-7"))
    expect(row.locator("td").nth(2)).to_have_text(f"{term['in_results']:,} of {body['total']:,}")
    expect(row).to_have_class(re.compile("significant"))
