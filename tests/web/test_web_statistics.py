"""The statistics tab on GDS507 in a real browser: pick groups, run, sort, download."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect
from web_helpers import PageLog

pytestmark = pytest.mark.slow

MODULE = "/static/js/tabs/statistics.js"


def test_differential_expression_on_gds507(page: Page, page_log: PageLog, artifacts: Path) -> None:
    page.goto("/?id=GDS507")
    expect(page.locator("#record-view h1")).to_have_text("Renal clear cell carcinoma (HG-U133B)")
    page.wait_for_load_state("networkidle")
    assert not page_log.requested(MODULE), page_log.requests
    with page.expect_request(lambda r: r.url.endswith(MODULE)):
        page.locator("[role=tab][data-tab=statistics]").click()
    panel = page.locator("#panel-statistics")
    expect(panel).to_contain_text("Differential expression")
    # Defaults: the first subset type with two values.
    expect(panel.locator("#de-group option:checked")).to_have_text("disease state: RCC (n=9)")
    expect(panel.locator("#de-vs option:checked")).to_have_text("disease state: normal (n=8)")
    panel.get_by_role("button", name="Compare").click()
    table = panel.locator("table.de-table")
    expect(table.locator("tbody tr")).to_have_count(100, timeout=30_000)
    expect(panel).to_contain_text("values log2-transformed")
    first = table.locator("tbody tr").first
    expect(first.locator("td").nth(1)).to_have_text("KCNJ10")
    expect(table.locator("th[aria-sort=ascending]")).to_contain_text("Adj. p (limma)")

    # Sort by fold change: the largest change first (whichever direction).
    panel.get_by_role("button", name="log2 FC").click()
    expect(table.locator("th[aria-sort=descending]")).to_contain_text("log2 FC")
    fc = [float(t) for t in table.locator("tbody tr td:nth-child(3)").all_inner_texts()[:5]]
    assert [abs(x) for x in fc] == sorted((abs(x) for x in fc), reverse=True)
    panel.get_by_role("button", name="Gene").click()
    expect(table.locator("th[aria-sort=ascending]")).to_contain_text("Gene")

    with page.expect_download() as download:
        panel.get_by_role("link", name="Download TSV").click()
    lines = download.value.path().read_text().splitlines()
    assert lines[0].startswith("probe\tgene\tlog2fc")
    assert len(lines) == 22646
    page.screenshot(path=artifacts / "tab-statistics-gds507.png", full_page=True)


def test_bad_pair_shows_the_servers_reason(page: Page) -> None:
    page.goto("/?id=GDS507&tab=statistics")
    panel = page.locator("#panel-statistics")
    expect(panel.locator("#de-group")).to_be_visible()
    panel.locator("#de-vs").select_option(label="disease state: RCC (n=9)")
    panel.get_by_role("button", name="Compare").click()
    expect(panel.get_by_role("alert")).to_contain_text(re.compile("must differ"))
