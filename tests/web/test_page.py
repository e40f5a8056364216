"""The page as a whole in a real browser: safety, speed, size, phone, keyboard."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Page, Response, expect
from web_helpers import CARDS, PageLog, Server, query_of

pytestmark = pytest.mark.slow

XSS_TITLE = "<img src=x onerror=alert(1)>"
LONG_TASK_MS = 50
TITLE = "#record-view h1"


def test_markup_in_data_shows_as_text(page: Page, page_log: PageLog, artifacts: Path) -> None:
    page.goto("/")
    page.locator("#q").fill("zqxssprobe")
    page.locator("#q").press("Enter")
    title = page.locator(f"{CARDS} .card-title a")
    expect(title).to_have_count(1)
    assert title.text_content() == XSS_TITLE
    expect(page.locator(f"{CARDS} .snippet")).to_contain_text("<script>alert(2)</script>")
    assert page.locator("#main img, #main script, #main b[onmouseover]").count() == 0
    page.screenshot(path=artifacts / "xss-search.png")
    title.click()
    expect(page.locator(TITLE)).to_have_text(XSS_TITLE)
    page.locator("[data-tab=extraction]").click()
    expect(page.locator("#panel-extraction .passage").first).to_contain_text(XSS_TITLE)
    assert page.locator("#main img, #main script").count() == 0
    assert page_log.dialogs == []


def test_highlights_survive_astral_characters(page: Page) -> None:
    page.goto("/?q=zqastralprobe")
    marks = page.locator(f"{CARDS} .snippet mark")
    expect(marks).to_have_count(2)
    assert [m.lower() for m in marks.all_text_contents()] == ["zqastralprobe"] * 2


# Waits in the page, natively: Playwright's own selector engine walks the whole DOM
# (it pierces shadow roots), which over 1,000 cards would itself be a long task.
WAIT_FOR_MORE_CARDS = """([selector, n]) => new Promise((resolve, reject) => {
  const timer = setTimeout(() => reject(new Error(`still ${n} cards after 20 s`)), 20000);
  const check = () => {
    const count = document.querySelectorAll(selector).length;
    if (count > n) { clearTimeout(timer); resolve(count); } else requestAnimationFrame(check);
  };
  check();
})"""


LONG_TASKS = """
window.__longTasks = [];
new PerformanceObserver((list) => {
  for (const e of list.getEntries()) window.__longTasks.push([e.startTime, e.duration]);
}).observe({ type: "longtask", buffered: true });
"""


# The machine may be shared (CI, other test runs): a task is wall-clock time, so another
# process taking the CPU can stretch one. A clean attempt shows that the page's own work
# is chunked; every attempt is reported.
LONG_TASK_ATTEMPTS = 3


def append_1000_cards(page: Page) -> tuple[int, list[float], list[float]]:
    """Load /?q=expression and scroll until 1,000 cards are on the page.

    Returns the card count and the long tasks (ms) while appending and during page start.
    """
    page.goto("/?q=expression")
    # The page's start (HTML parse, module evaluation) is reported, not judged.
    loaded = page.evaluate("performance.getEntriesByType('navigation')[0].domContentLoadedEventEnd")
    count = 0
    while count < 1000:
        page.evaluate("window.scrollTo(0, document.documentElement.scrollHeight)")
        count = page.evaluate(WAIT_FOR_MORE_CARDS, [CARDS, count])
    # Long-task entries arrive asynchronously: let two frames pass before reading them.
    page.evaluate("new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)))")
    tasks = page.evaluate("window.__longTasks")
    during = [d for start, d in tasks if start >= loaded]
    at_start = [d for start, d in tasks if start < loaded]
    return count, during, at_start


def test_no_long_tasks_while_1000_results_append(page: Page) -> None:
    page.context.add_init_script(LONG_TASKS)
    attempts: list[list[float]] = []
    for _ in range(LONG_TASK_ATTEMPTS):
        tab = page.context.new_page()
        count, during, at_start = append_1000_cards(tab)
        expect(tab.locator(".summary")).to_contain_text(re.compile(r"\d{1,3}(,\d{3})+ series"))
        tab.close()
        attempts.append(during)
        print(
            f"\n{count} cards appended; long tasks while appending: {during or 'none'}"
            f" (ms); during page start: {at_start or 'none'}"
        )
        if not during:
            break
    worst = max(attempts[-1], default=0.0)
    assert not attempts[-1], (
        f"long tasks while appending 1,000 cards in each of {len(attempts)} attempts: "
        f"{attempts} ms; the longest of the last {worst:.0f} ms (limit {LONG_TASK_MS} ms)"
    )


@pytest.mark.parametrize("where", ["/?q=neuroblastoma", "/?id=GSE100007", "/?id=39366958"])
def test_phone_width_has_no_horizontal_scroll(phone: Page, where: str, artifacts: Path) -> None:
    phone.goto(where)
    expect(phone.locator(f"{CARDS}, .record").first).to_be_visible()
    width = phone.evaluate("document.documentElement.scrollWidth")
    assert width <= 376, f"{where}: page is {width}px wide at a 375px viewport"
    # The sidebar folds above the results: its groups start closed.
    if "q=" in where:
        assert phone.locator("[data-facet=organism]").get_attribute("open") is None
    name = re.sub(r"\W+", "-", where).strip("-")
    phone.screenshot(path=artifacts / f"phone-{name}.png")


def test_keyboard_picks_a_suggestion(page: Page) -> None:
    page.goto("/")
    search = page.locator("#q")
    for _ in range(6):
        page.keyboard.press("Tab")
        if search.evaluate("el => el === document.activeElement"):
            break
    expect(search).to_be_focused()
    page.keyboard.type("neuro", delay=30)
    options = page.get_by_role("option")
    expect(options.first).to_be_visible()
    page.keyboard.press("ArrowDown")
    expect(options.first).to_have_attribute("aria-selected", "true")
    expect(search).to_have_attribute("aria-activedescendant", "suggestion-0")
    accession = options.first.get_attribute("data-accession")
    text = options.first.locator(".option-text").text_content() or ""
    page.keyboard.press("Enter")
    expect(page.get_by_role("listbox")).to_be_hidden()
    if accession:
        expect(page).to_have_url(re.compile(rf"\?id={accession}$"))
    else:
        expect(page).to_have_url(re.compile(r"\?q="))
        assert query_of(page)["q"] == [text]
    # Escape closes an open list and leaves the text alone.
    search.focus()
    search.fill("")
    page.keyboard.type("neuro", delay=30)
    expect(options.first).to_be_visible()
    page.keyboard.press("Escape")
    expect(page.get_by_role("listbox")).to_be_hidden()
    expect(search).to_have_value("neuro")


def test_footer_shows_corpus_stats(page: Page) -> None:
    page.goto("/")
    expect(page.locator("#stats")).to_contain_text(
        re.compile(r"\d{2},\d{3} series · .* · data as of")
    )


def test_first_load_bytes(page: Page, server: Server) -> None:
    """The modules a first visit loads (decoded and as sent); the analysis tabs are not."""
    responses: list[Response] = []
    page.on("response", lambda r: responses.append(r))
    page.goto("/")
    expect(page.locator("#stats")).to_contain_text("series")
    page.wait_for_load_state("networkidle")
    scripts = {
        urlsplit(r.url).path: (len(r.body()), r.request.sizes()["responseBodySize"])
        for r in responses
        if r.url.startswith(server.url) and urlsplit(r.url).path.endswith(".js")
    }
    assert "/static/js/app.js" in scripts, scripts
    assert not [p for p in scripts if "/tabs/" in p], scripts
    decoded = sum(n for n, _ in scripts.values())
    sent = sum(n for _, n in scripts.values())
    listing = ", ".join(f"{Path(p).name} {n:,}" for p, (n, _) in sorted(scripts.items()))
    print(
        f"\nfirst-load JS: {decoded:,} bytes ({sent:,} as sent) in {len(scripts)} modules: {listing}"
    )
    assert decoded < 50_000, f"first-load JS is {decoded:,} bytes"
