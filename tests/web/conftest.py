"""Browser fixtures: a real server on the demo corpus (plus hostile fixtures), real Chromium.

The server runs as ``omicsoracle serve`` in a subprocess, exactly as users start it; the
page is driven by Playwright through Debian's Chromium, so no browser is downloaded.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Dialog, Page, Playwright, sync_playwright
from web_helpers import PageLog, Server

from demo import DEMO_PATHS, REPO
from omicsoracle.config import Settings
from omicsoracle.extraction.store import enrich
from omicsoracle.ingest import ingest_paths
from omicsoracle.runtime import Runtime
from private_servers import unavailable
from servers import ServerFailed, serve

XSS_DATA = REPO / "tests" / "data" / "xss" / "xss_series.jsonl"
CHROMIUM = os.environ.get("OMICSORACLE_CHROMIUM", "/usr/bin/chromium")


@pytest.fixture(scope="session")
def web_data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data directory of the web tests' own: the demo corpus plus tests/data/xss."""
    data_dir = tmp_path_factory.mktemp("web") / "var"
    with Runtime.open(Settings(data_dir=data_dir), catch_up_index=False) as rt:
        results = ingest_paths(rt.store, [*DEMO_PATHS, XSS_DATA])
        bad = [str(p) for r in results for p in r.problems]
        assert not bad, bad
        enrich(rt.store)  # as `make run` does: entity and characteristic facets
        rt.catch_up()
    return data_dir


@pytest.fixture(scope="session")
def server(web_data_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    log = tmp_path_factory.mktemp("server") / "server.log"
    try:
        with serve(web_data_dir, log) as url:
            yield Server(url=url, data_dir=web_data_dir)
    except ServerFailed as exc:
        pytest.fail(str(exc))


@pytest.fixture(scope="session")
def playwright() -> Iterator[Playwright]:
    with sync_playwright() as p:
        yield p


@pytest.fixture(scope="session")
def browser(playwright: Playwright) -> Iterator[Browser]:
    if not Path(CHROMIUM).exists():
        # CI must run the browser tests (make test installs Chromium); only a
        # developer machine without it may skip them, saying why.
        reason = (
            f"no Chromium at {CHROMIUM} (make browser installs it; or set OMICSORACLE_CHROMIUM)"
        )
        unavailable(reason)
    b = playwright.chromium.launch(
        executable_path=CHROMIUM,
        headless=True,
        args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
    )
    yield b
    b.close()


@pytest.fixture(scope="session")
def artifacts() -> Path:
    """Where screenshots go: $OMICSORACLE_TEST_ARTIFACTS or <repo>/test-artifacts."""
    path = Path(os.environ.get("OMICSORACLE_TEST_ARTIFACTS") or REPO / "test-artifacts")
    path.mkdir(parents=True, exist_ok=True)
    print(f"\nbrowser screenshots: {path}")
    return path


@pytest.fixture
def page_log() -> PageLog:
    return PageLog()


def _open_page(browser: Browser, server: Server, log: PageLog, width: int, height: int) -> Page:
    context = browser.new_context(
        base_url=server.url, viewport={"width": width, "height": height}, accept_downloads=True
    )
    page = context.new_page()
    page.set_default_timeout(15_000)
    page.on("request", lambda r: log.requests.append(r.url))
    page.on("pageerror", lambda e: log.errors.append(str(e)))
    # A CSP violation is only logged, so it counts as an error here.
    page.on(
        "console",
        lambda m: log.errors.append(m.text) if "Content Security Policy" in m.text else None,
    )

    def on_dialog(dialog: Dialog) -> None:
        log.dialogs.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", on_dialog)
    return page


@pytest.fixture
def page(browser: Browser, server: Server, page_log: PageLog) -> Iterator[Page]:
    """A fresh browser context at desktop size; script errors and CSP violations fail the test."""
    p = _open_page(browser, server, page_log, 1280, 900)
    yield p
    p.context.close()
    assert not page_log.errors, page_log.errors


@pytest.fixture
def phone(browser: Browser, server: Server, page_log: PageLog) -> Iterator[Page]:
    """A fresh browser context at phone width (375 x 800)."""
    p = _open_page(browser, server, page_log, 375, 800)
    yield p
    p.context.close()
    assert not page_log.errors, page_log.errors
