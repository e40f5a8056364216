"""The search view in a real browser: typing, facets, paging, notices and failures."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from playwright.sync_api import Page, Route, expect
from web_helpers import CARDS, query_of, wait_for_results

pytestmark = pytest.mark.slow


def test_typing_shows_results_and_suggestions(page: Page, artifacts: Path) -> None:
    page.goto("/")
    page.locator("#q").press_sequentially("neuroblastoma", delay=20)
    expect(page.locator(CARDS).first).to_be_visible()
    expect(page.get_by_role("listbox").get_by_role("option").first).to_be_visible()
    expect(page.locator("#q")).to_have_attribute("aria-expanded", "true")
    expect(page.locator(".summary")).to_contain_text(re.compile(r"\d+ series for “neuroblastoma”"))
    expect(page).to_have_url(re.compile(r"[?&]q=neuroblastoma"))
    # Highlights are <mark> elements, built from the server's offsets.
    expect(page.locator(f"{CARDS} .snippet mark").first).to_have_text(
        re.compile("neuroblastoma", re.I)
    )
    page.screenshot(path=artifacts / "search-typing.png")


def test_facet_adds_chip_param_and_filters(page: Page, artifacts: Path) -> None:
    page.goto("/?q=neuroblastoma")
    expect(page.locator(CARDS).first).to_be_visible()
    page.locator("[data-facet=organism] button[data-value='Mus musculus']").click()
    expect(page.locator(".chip")).to_have_text(re.compile("Organism: Mus musculus"))
    expect(page).to_have_url(re.compile(r"organism=Mus\+musculus"))
    expect(page.locator(".summary")).to_contain_text("36 series")
    expect(page.locator(CARDS)).to_have_count(36)
    metas = page.locator(f"{CARDS} .card-meta").all_text_contents()
    assert all("Mus musculus" in m for m in metas), metas
    pressed = page.locator("[data-facet=organism] button[data-value='Mus musculus']")
    expect(pressed).to_have_attribute("aria-pressed", "true")
    exports = page.locator(".exports a[download]")
    expect(exports).to_have_count(5)
    href = exports.first.get_attribute("href") or ""
    assert parse_qs(urlsplit(href).query)["organism"] == ["Mus musculus"], href
    page.screenshot(path=artifacts / "search-facet.png")

    page.get_by_role("button", name="Remove filter Organism: Mus musculus").click()
    expect(page.locator(".chip")).to_have_count(0)
    assert "organism" not in query_of(page)
    expect(page.locator(".summary")).not_to_contain_text("36 series")


def test_year_and_samples_facets_map_to_ranges(page: Page) -> None:
    page.goto("/?q=neuroblastoma")
    # "unknown" is shown with its count but cannot be picked.
    expect(page.locator("[data-facet=samples] .facet-value.disabled")).to_have_text(
        re.compile("unknown")
    )
    page.locator("[data-facet=samples] button[data-value='6-10']").click()
    expect(page.locator(".chip")).to_have_text(re.compile("Samples: 6–10"))
    params = query_of(page)
    assert (params["min_samples"], params["max_samples"]) == (["6"], ["10"])
    page.locator("[data-facet=year] button").first.click()
    expect(page.locator(".chip")).to_have_count(2)
    expect(page.get_by_role("button", name="Clear all")).to_be_visible()
    params = query_of(page)
    assert params["year_from"] == params["year_to"], params


def test_scrolling_loads_the_next_page_by_cursor(page: Page) -> None:
    cursors: list[str] = []
    page.on(
        "request",
        lambda r: (
            cursors.append(r.url) if "/api/v1/search" in r.url and "cursor=" in r.url else None
        ),
    )
    page.goto("/?q=neuroblastoma")
    expect(page.locator(CARDS)).to_have_count(50)
    page.locator(".sentinel").scroll_into_view_if_needed()
    expect(page.locator(CARDS)).to_have_count(100)
    assert cursors, "no request carried a cursor"
    assert parse_qs(urlsplit(cursors[0]).query)["limit"] == ["50"]


def test_searching_for_line_and_literal_toggle(page: Page, artifacts: Path) -> None:
    page.goto("/?q=NSCLC+human+at+least+20+samples")
    expect(page.locator(CARDS).first).to_be_visible()
    line = page.locator(".searching-for")
    expect(line).to_contain_text(
        "Searching for: NSCLC (non-small cell lung cancer) · Homo sapiens · samples ≥ 20"
    )
    # "60 series for “...”" without the time, which differs between two searches.
    understood = (page.locator(".summary").text_content() or "").split(" · ")[0]
    page.screenshot(path=artifacts / "search-understood.png")
    line.get_by_role("link", name="search the words as typed").click()
    expect(page).to_have_url(re.compile(r"[?&]literal=true"))
    expect(page.locator(".searching-for")).to_contain_text("Searching the words as typed")
    expect(page.locator(".summary")).not_to_contain_text(understood)
    page.locator(".searching-for").get_by_role("link", name="understand the query").click()
    expect(page).not_to_have_url(re.compile(r"literal="))
    expect(page.locator(".summary")).to_contain_text(understood)


def test_did_you_mean_and_relaxed_notices(page: Page) -> None:
    page.goto("/?q=neurblastoma")
    link = page.locator("a.did-you-mean")
    expect(link).to_have_text("neuroblastoma")
    link.click()
    expect(page).to_have_url(re.compile(r"q=neuroblastoma$"))
    page.goto("/?q=the+zzqx+liver")
    expect(page.locator(".relaxed")).to_contain_text(
        "no series matched every word", ignore_case=True
    )


def test_expired_cursor_offers_a_new_search(page: Page) -> None:
    def expired(route: Route) -> None:
        route.fulfill(
            status=410,
            content_type="application/problem+json",
            body='{"type":"about:blank","title":"Cursor Expired","status":410,"detail":"gone"}',
        )

    page.route(re.compile(r"/api/v1/search\?.*cursor="), expired)
    page.goto("/?q=neuroblastoma")
    expect(page.locator(CARDS)).to_have_count(50)
    page.locator(".sentinel").scroll_into_view_if_needed()
    notice = page.get_by_role("alert")
    expect(notice).to_contain_text("results changed")
    page.unroute(re.compile(r"/api/v1/search\?.*cursor="))
    notice.get_by_role("button", name="Search again").click()
    expect(page.locator(CARDS)).to_have_count(50)


def test_network_error_shows_retry(page: Page) -> None:
    search = re.compile(r"/api/v1/search\?")
    page.route(search, lambda route: route.abort())
    page.goto("/?q=neuroblastoma")
    alert = page.get_by_role("alert")
    expect(alert).to_contain_text("Could not reach the server")
    page.unroute(search)
    alert.get_by_role("button", name="Try again").click()
    expect(page.locator(CARDS).first).to_be_visible()


def test_sort_is_in_the_url(page: Page) -> None:
    page.goto("/?q=neuroblastoma")
    expect(page.locator(CARDS).first).to_be_visible()
    page.get_by_label("Sort").select_option("date")
    expect(page).to_have_url(re.compile(r"sort=date"))
    wait_for_results(page)
    dates = page.locator(f"{CARDS} .card-meta").all_text_contents()
    years = [int(m[-1]) for m in (re.findall(r"\b(?:19|20)\d\d\b", d) for d in dates[:10]) if m]
    assert years == sorted(years, reverse=True), years


def test_clicking_an_accession_suggestion_opens_the_record(page: Page) -> None:
    page.goto("/")
    page.locator("#q").press_sequentially("GSE100007", delay=20)
    option = page.locator("[role=option][data-accession=GSE100007]")
    expect(option).to_contain_text("Widespread translational remodeling")
    option.click()
    expect(page).to_have_url(re.compile(r"\?id=GSE100007$"))
    expect(page.locator("#record-view h1")).to_contain_text("Widespread translational")


def test_a_pmid_in_the_box_opens_its_publication(page: Page) -> None:
    # No demo series cites this article: the search box is the way to it.
    page.goto("/")
    page.locator("#q").press_sequentially("41603352", delay=20)
    option = page.locator("[role=option][data-accession='41603352']")
    expect(option).to_contain_text("Mast cells promote pathology")
    option.click()
    expect(page).to_have_url(re.compile(r"\?id=41603352$"))
    expect(page.locator("#record-view h1")).to_contain_text("Mast cells promote pathology")
    expect(page.locator("#record-view")).to_contain_text("GSE149758")


def test_entity_and_characteristic_facets_filter(page: Page, artifacts: Path) -> None:
    """The enrichment step's facets (issue 6): a tissue and a sample characteristic."""
    page.goto("/?q=cohesin")
    expect(page.locator(CARDS).first).to_be_visible()
    tissue = page.locator("[data-facet=tissue] button[data-value='liver']")
    expect(tissue).to_be_visible()
    count = tissue.locator(".count").inner_text().replace(",", "")
    tissue.click()
    expect(page.locator(".chip")).to_have_text(re.compile("Tissue: liver"))
    expect(page).to_have_url(re.compile(r"tissue=liver"))
    expect(page.locator(".summary")).to_contain_text(f"{count} series")
    expect(page.locator(CARDS)).to_have_count(int(count))
    page.screenshot(path=artifacts / "search-tissue-facet.png")

    page.get_by_role("button", name="Remove filter Tissue: liver").click()
    expect(page.locator(".chip")).to_have_count(0)
    characteristic = page.locator("[data-facet=characteristic] button").first
    expect(characteristic).to_be_visible()
    value = characteristic.get_attribute("data-value") or ""
    assert ": " in value, value  # "key: value"
    characteristic.click()
    expect(page.locator(".chip")).to_have_text(re.compile(f"Characteristic: {re.escape(value)}"))
    assert query_of(page)["characteristic"] == [value]
    expect(page.locator(CARDS).first).to_be_visible()
