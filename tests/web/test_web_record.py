"""Record pages in a real browser: fields, links between records, lazy analysis tabs."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect
from web_helpers import CARDS, PageLog

pytestmark = pytest.mark.slow

TAB_MODULES = ("extraction", "visualization", "statistics")
TITLE = "#record-view h1"


def test_record_page_and_back_button(page: Page, artifacts: Path) -> None:
    page.goto("/?q=translational+remodeling+neuronal")
    first = page.locator(f"{CARDS} .card-title a").first
    expect(first).to_have_attribute("href", "/?id=GSE100007")
    first.click()
    expect(page).to_have_url(re.compile(r"\?id=GSE100007$"))
    expect(page.locator(TITLE)).to_have_text(
        "Widespread translational remodeling during human neuronal differentiation"
    )
    expect(page.locator(".samples tbody tr")).to_have_count(50)
    expect(page.locator(".samples")).to_contain_text("Showing 50 of 52 samples")
    page.get_by_role("button", name="Show more samples").click()
    expect(page.locator(".samples tbody tr")).to_have_count(52)
    expect(page.locator(".publications")).to_contain_text("PMID 29141229")
    expect(page.locator(".record a[href='/?id=GPL20301']")).to_be_visible()
    page.screenshot(path=artifacts / "record-series.png", full_page=True)

    page.go_back()
    expect(page).to_have_url(re.compile(r"\?q=translational"))
    expect(page.locator("#search-view")).to_be_visible()
    expect(page.locator(CARDS).first).to_be_visible()
    expect(page.locator("#q")).to_have_value("translational remodeling neuronal")
    page.go_forward()
    expect(page.locator(TITLE)).to_contain_text("Widespread translational remodeling")


def test_links_between_records(page: Page) -> None:
    page.goto("/?id=GSM11805")
    expect(page.locator(".record-kind")).to_contain_text("Sample")
    page.locator(".fields a[href='/?id=GSE781']").click()
    expect(page.locator(".record-kind")).to_contain_text("GSE781")
    page.locator(".record a[href='/?id=GDS507']").first.click()
    expect(page.locator(TITLE)).to_have_text("Renal clear cell carcinoma (HG-U133B)")
    expect(page.get_by_role("cell", name="disease state").first).to_be_visible()
    page.goto("/?id=GPL20301")
    expect(page.locator(".record-kind")).to_contain_text("Platform")
    expect(page.locator(".fields").first).to_contain_text("high-throughput sequencing")
    page.goto("/?id=39366958")
    expect(page.locator(".record-kind")).to_contain_text("Publication")
    expect(page.locator(".record a[href='/?id=GSE132730']").first).to_be_visible()
    pubmed = page.locator("a[href='https://pubmed.ncbi.nlm.nih.gov/39366958/']").first
    expect(pubmed).to_have_attribute("rel", "noopener noreferrer")


@pytest.mark.parametrize("tab", TAB_MODULES)
def test_tab_module_loads_only_when_opened(
    page: Page, page_log: PageLog, tab: str, artifacts: Path
) -> None:
    module = f"/static/js/tabs/{tab}.js"
    page.goto("/?q=translational+remodeling+neuronal")
    page.locator(f"{CARDS} .card-title a").first.click()
    expect(page.locator(".samples")).to_be_visible()
    page.wait_for_load_state("networkidle")
    assert not any("/static/js/tabs/" in url for url in page_log.requests), page_log.requests
    with page.expect_request(lambda r: r.url.endswith(module)):
        page.locator(f"[role=tab][data-tab={tab}]").click()
    panel = page.locator(f"#panel-{tab}")
    expect(panel.locator(".tab-content")).to_be_visible()
    expect(page.locator(f"[data-tab={tab}]")).to_have_attribute("aria-selected", "true")
    others = [m for m in TAB_MODULES if m != tab]
    assert not any(page_log.requested(f"/static/js/tabs/{m}.js") for m in others), page_log.requests
    page.screenshot(path=artifacts / f"tab-{tab}.png", full_page=True)


def test_tabs_do_real_work(page: Page) -> None:
    page.goto("/?q=translational+remodeling+neuronal")
    page.locator(f"{CARDS} .card-title a").first.click()
    page.locator("[data-tab=extraction]").click()
    extraction = page.locator("#panel-extraction")
    expect(extraction.locator("mark.ent-organism").first).to_have_text(re.compile("human", re.I))
    expect(extraction.locator("table.tally")).to_contain_text("cell type")
    page.locator("[data-tab=visualization]").click()
    viz = page.locator("#panel-visualization")
    # plotly.js charts (tests/web/test_web_charts.py covers them in detail).
    expect(viz.locator("figure[data-drawn] svg.main-svg").first).to_be_visible()
    # The record's chart, then the charts of the search still on screen.
    expect(viz).to_contain_text("The search on screen")
    assert viz.locator("figure.chart").count() >= 4
    with page.expect_download() as download:
        viz.get_by_role("button", name="Download SVG").first.click()
    path = download.value.path()
    assert "<svg" in path.read_text()
    page.locator("[data-tab=statistics]").click()
    stats = page.locator("#panel-statistics")
    expect(stats).to_contain_text("Group sizes by sample characteristic")
    expect(stats).to_contain_text("Median samples")
    expect(page).to_have_url(re.compile(r"tab=statistics"))


@pytest.mark.parametrize(
    ("record_id", "heading", "detail"),
    [
        ("GSE999999999", "Not found", "not in this corpus"),
        ("GSX12", "Not a valid request", "GSX12"),
    ],
)
def test_unknown_or_malformed_id_shows_a_clear_state(
    page: Page, record_id: str, heading: str, detail: str
) -> None:
    page.goto(f"/?id={record_id}")
    alert = page.get_by_role("alert")
    expect(alert.locator(".state-title")).to_have_text(heading)
    expect(alert).to_contain_text(detail)
    expect(page.get_by_role("link", name="Back to search")).to_be_visible()
