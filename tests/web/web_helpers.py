"""Types shared by the browser tests and their fixtures."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from playwright.sync_api import Page, expect

# The result cards of the search view (not the "similar datasets" list of a record).
CARDS = "#search-view .results .card"


def wait_for_results(page: Page) -> None:
    """Wait until the search on screen has answered and its first page is drawn."""
    results = page.locator("#search-view .results")
    expect(results).to_have_attribute("aria-busy", "false")
    expect(results).not_to_have_class(re.compile(r"\bstale\b"))


def query_of(page: Page) -> dict[str, list[str]]:
    """The query parameters of the page's current URL."""
    return parse_qs(urlsplit(page.url).query)


@dataclass
class Server:
    url: str
    data_dir: Path


@dataclass
class PageLog:
    """What a page did besides rendering: requests, dialogs, script errors."""

    requests: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def requested(self, fragment: str) -> bool:
        return any(fragment in url for url in self.requests)
