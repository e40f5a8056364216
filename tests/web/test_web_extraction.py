"""The extraction tab: server entities grouped by type and highlighted by their spans."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect
from web_helpers import PageLog

pytestmark = pytest.mark.slow


def test_extraction_tab_groups_and_highlights(page: Page, page_log: PageLog) -> None:
    page.goto("/?id=GDS507")
    tab = page.locator("[data-tab=extraction]")
    expect(tab).to_be_visible()
    assert not page_log.requested("/static/js/tabs/extraction.js")
    tab.click()
    panel = page.locator("#panel-extraction")
    mark = panel.locator("mark.ent-disease").first
    # The first request builds the vocabulary (seconds, once per process).
    expect(mark).to_have_text("Renal clear cell carcinoma", timeout=30_000)
    expect(mark).to_have_attribute("title", re.compile("clear cell renal carcinoma"))
    expect(panel.locator("section.entity-group[data-type=disease]")).to_contain_text(
        "renal cell carcinoma"
    )
    expect(panel.locator("table.tally")).to_contain_text("disease state")
    assert page_log.requested("/api/v1/entities/GDS507")
    assert panel.locator("script, img").count() == 0
