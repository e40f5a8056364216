"""Locust scenario: researchers using the search page (the realism run).

    .venv/bin/locust -f bench/loadtest/locustfile.py --headless -u 1000 -r 100 -t 90s \
        --host http://127.0.0.1:8000 --csv bench/out/loadtest/x --only-summary

Started by ``bench.loadtest.run`` as a subprocess, never imported by the test suite
(Locust monkey-patches the standard library through gevent on import). Self-contained
on purpose: Locust puts only this file's directory on ``sys.path``.

One session of a researcher: search a query from the list (drawn Zipf(s) like the
capacity run), think, open one of the first results, think, sometimes page on with
``next_cursor``, sometimes narrow the search by a value of the organism or type facet,
sometimes type into the search box (suggestions); think 1-3 s between every step.
Env: ``LOADTEST_QUERIES`` (query list), ``LOADTEST_ZIPF_S`` (1.1), ``LOADTEST_GZIP``
("1": Accept-Encoding gzip, as browsers send it).
"""

from __future__ import annotations

import itertools
import os
import random
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

import orjson
from locust import FastHttpUser, between, task

QUERIES = Path(os.environ.get("LOADTEST_QUERIES", Path(__file__).with_name("queries.txt")))
ZIPF_S = float(os.environ.get("LOADTEST_ZIPF_S", "1.1"))
HEADERS = {"Accept-Encoding": "gzip"} if os.environ.get("LOADTEST_GZIP", "1") == "1" else {}


def _load(path: Path) -> list[str]:
    lines = path.read_text(encoding="utf-8").splitlines()
    return [line for line in lines if line and not line.startswith("#")]


PATHS = _load(QUERIES)
# Cumulative Zipf weights for random.choices: rank 1 (the first line) is the most asked.
CUM_WEIGHTS = list(itertools.accumulate(k**-ZIPF_S for k in range(1, len(PATHS) + 1)))
FACETS = ("organism", "type")


def _query_text(path: str) -> str:
    # The plain words of a search, as typed into the box (first two words are enough
    # for a suggestion request, the box asks on every keystroke).
    return " ".join(parse_qs(urlsplit(path).query).get("q", [""])[0].split()[:2])


class Researcher(FastHttpUser):
    """A researcher on the search page."""

    wait_time = between(1, 3)

    def _get(self, path: str, name: str) -> dict[str, Any] | None:
        with self.client.get(path, name=name, headers=HEADERS, catch_response=True) as resp:
            if resp.status_code != 200:
                resp.failure(f"HTTP {resp.status_code}")
                return None
            try:
                body: dict[str, Any] = orjson.loads(resp.content or b"")
            except orjson.JSONDecodeError:
                resp.failure("body is not JSON")
                return None
            resp.success()
            return body

    @task
    def session(self) -> None:
        """Search, open a result, page, narrow by a facet, ask for suggestions."""
        path = random.choices(PATHS, cum_weights=CUM_WEIGHTS)[0]
        if random.random() < 0.2:
            text = _query_text(path)
            self._get(f"/api/v1/suggest?q={quote(text[:5])}&limit=8", "/api/v1/suggest")
            self.wait()
        body = self._get(path, "/api/v1/search")
        if body is None:
            return
        results = body.get("results") or []
        if results:
            self.wait()
            accession = random.choice(results[:5])["accession"]
            self._get(f"/api/v1/series/{accession}", "/api/v1/series/[accession]")
        cursor = body.get("next_cursor")
        if cursor and random.random() < 0.5:
            self.wait()
            self._get(f"{path}&cursor={quote(cursor)}", "/api/v1/search [next page]")
        facets = body.get("facets") or {}
        if random.random() < 0.5:
            facet = random.choice(FACETS)
            values = [v["value"] for v in facets.get(facet, [])[:3] if v["value"] != "unknown"]
            if values and f"{facet}=" not in path:
                self.wait()
                narrowed = f"{path}&{facet}={quote(random.choice(values))}"
                self._get(narrowed, "/api/v1/search [facet]")
