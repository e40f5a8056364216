"""The statistics tab on GDS507 in a real browser: pick groups, run, sort, download."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path

import pytest
from playwright.sync_api import Page, Route, expect
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
    # Only the page it draws: never the job's whole multi-MB result.
    assert page_log.requested("/api/v1/analysis/de/"), page_log.requests
    assert not page_log.requested("/api/v1/jobs/"), page_log.requests
    expect(table.locator("th[aria-sort=ascending]")).to_contain_text("Adj. p (limma)")

    # Sort by fold change: the largest change first (whichever direction).
    panel.get_by_role("button", name="log2 FC").click()
    expect(table.locator("th[aria-sort=descending]")).to_contain_text("log2 FC")
    fc = [float(t) for t in table.locator("tbody tr td:nth-child(3)").all_inner_texts()]
    assert [abs(x) for x in fc] == sorted((abs(x) for x in fc), reverse=True)
    # Sorted by the server over all 22,645 probes, not only the 100 rows first shown.
    assert page_log.requested("sort=log2fc"), page_log.requests
    assert abs(fc[0]) > 5
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


TABLE = re.compile(r"/api/v1/analysis/de/[0-9a-f]{32}\?")


def _answer(state: dict[str, object]) -> Callable[[Route], None]:
    # The job's table route as the server answers a job that failed or is still running
    # (the comparison itself runs for real; only its later state is held).
    def fulfill(route: Route) -> None:
        job_id = route.request.url.split("/de/")[1].split("?")[0]
        route.fulfill(
            status=200, content_type="application/json", body=json.dumps({"id": job_id, **state})
        )

    return fulfill


def test_failed_comparison_shows_the_reason(page: Page) -> None:
    page.route(TABLE, _answer({"state": "failed", "error": "the server shut down", "progress": {}}))
    page.goto("/?id=GDS507&tab=statistics")
    panel = page.locator("#panel-statistics")
    panel.get_by_role("button", name="Compare").click()
    expect(panel.get_by_role("alert")).to_have_text("The comparison failed: the server shut down")


def test_polling_gives_up_after_its_time_limit(page: Page, page_log: PageLog) -> None:
    running = {"state": "running", "progress": {"stage": "testing", "fraction": 0.4}}
    page.route(TABLE, _answer(running))
    page.clock.install()
    page.goto("/?id=GDS507&tab=statistics")
    panel = page.locator("#panel-statistics")
    panel.get_by_role("button", name="Compare").click()
    expect(panel.get_by_role("status").first).to_contain_text("Running: testing")
    page.clock.run_for("02:01")
    expect(panel.get_by_role("alert")).to_contain_text("The comparison is taking too long")
    polls = sum(bool(TABLE.search(u)) for u in page_log.requests)
    page.clock.run_for("00:10")
    assert sum(bool(TABLE.search(u)) for u in page_log.requests) == polls  # stopped


def test_polling_stops_when_the_tab_closes(page: Page, page_log: PageLog) -> None:
    page.route(TABLE, _answer({"state": "running", "progress": {"stage": "testing"}}))
    page.clock.install()
    page.goto("/?id=GDS507&tab=statistics")
    panel = page.locator("#panel-statistics")
    panel.get_by_role("button", name="Compare").click()
    expect(panel.get_by_role("status").first).to_contain_text("Running: testing")
    page.locator("[role=tab][data-tab=overview]").click()
    page.clock.run_for("00:02")
    polls = sum(bool(TABLE.search(u)) for u in page_log.requests)
    page.clock.run_for("00:10")
    assert sum(bool(TABLE.search(u)) for u in page_log.requests) == polls
    page.locator("[role=tab][data-tab=statistics]").click()
    expect(panel).to_contain_text("Stopped following the comparison when the tab closed")


def test_a_newer_comparison_takes_over_from_an_older_one(page: Page, page_log: PageLog) -> None:
    held: list[str] = []  # the first comparison's job: held "running"

    def route(route: Route) -> None:
        job_id = route.request.url.split("/de/")[1].split("?")[0]
        if not held:
            held.append(job_id)
        if job_id == held[0]:
            _answer({"state": "running", "progress": {"stage": "testing"}})(route)
        else:
            route.continue_()

    page.route(TABLE, route)
    page.goto("/?id=GDS507&tab=statistics")
    panel = page.locator("#panel-statistics")
    panel.get_by_role("button", name="Compare").click()
    expect(panel.get_by_role("status").first).to_contain_text("Running: testing")
    panel.locator("#de-group").select_option(label="disease state: normal (n=8)")
    panel.locator("#de-vs").select_option(label="disease state: RCC (n=9)")
    panel.get_by_role("button", name="Compare").click()
    expect(panel.locator("table.de-table tbody tr")).to_have_count(100, timeout=30_000)
    expect(panel.locator(".de-result")).to_contain_text(
        "disease state:normal (8 samples) vs disease state:RCC (9 samples)"
    )
    first = sum(held[0] in u for u in page_log.requests)
    # The older comparison was stopped, not left polling behind the newer result.
    page.wait_for_timeout(1_000)  # more than three of its poll intervals
    assert sum(held[0] in u for u in page_log.requests) == first
    expect(panel.get_by_role("status").first).to_have_text("")
