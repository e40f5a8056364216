"""HTTP API overhead: /api/v1/search over loopback next to the raw engine, same queries.

    .venv/bin/python -m bench.api_bench [--rounds 6]

Serves the demo corpus with ``omicsoracle serve`` (a separate process, access log
off) and, in this process, opens the same store and index read-only. Every round runs
the queries of bench/queries.txt in a new seeded order; each query is timed twice, side
by side: the engine call the handler makes (``Runtime.search`` + ``to_dict()``) and the
full HTTP request on a keep-alive connection (until the last body byte). The first
round is a warm-up. The client and the server share this machine's 2 cores.

Then every prefix of those queries (up to 24 characters) goes to /api/v1/suggest, as
the search box sends them while someone types. HTTP requests accept gzip, as browsers do.

Also prints the first-load JavaScript of the web page: the modules ``index.html``
loads and their static imports, without the lazily imported tabs.
"""

from __future__ import annotations

import argparse
import random
import re
import statistics
import time
from pathlib import Path

import httpx
from tests.servers import serve

from bench.search_bench import load_queries
from omicsoracle.config import Settings
from omicsoracle.ingest import ingest_paths
from omicsoracle.runtime import Runtime
from omicsoracle.search.base import SearchRequest
from omicsoracle.web import STATIC_DIR

ROOT = Path(__file__).resolve().parent
REPO = ROOT.parent
OUT = ROOT / "out" / "api"
DEMO = [REPO / "data" / "corpus", REPO / "data" / "demo"]
_IMPORT = re.compile(
    r"""^\s*(?:import|export)\s[^'"]*?from\s*['"]([^'"]+)['"]|^\s*import\s*['"]([^'"]+)['"]""", re.M
)
_SCRIPT = re.compile(r"""<script[^>]*\bsrc=["']([^"']+)["']""")


def first_load_js() -> dict[str, int]:
    """Bytes of each module the page loads before any interaction (static imports only)."""
    html = (STATIC_DIR / "index.html").read_text(encoding="utf-8")
    todo = [src for src in _SCRIPT.findall(html) if src.startswith("/static/")]
    seen: dict[str, int] = {}
    while todo:
        url = todo.pop()
        if url in seen:
            continue
        path = STATIC_DIR / url.removeprefix("/static/")
        text = path.read_text(encoding="utf-8")
        seen[url] = len(text.encode())
        base = url.rsplit("/", 1)[0]
        for a, b in _IMPORT.findall(text):
            spec = a or b
            if spec.startswith("./") or spec.startswith("../"):
                parts = (base + "/" + spec).split("/")
                resolved: list[str] = []
                for part in parts:
                    if part == "..":
                        resolved.pop()
                    elif part not in ("", "."):
                        resolved.append(part)
                todo.append("/" + "/".join(resolved))
            elif spec.startswith("/"):
                todo.append(spec)
    return seen


def _data_dir() -> Path:
    data = OUT / "var"
    settings = Settings(data_dir=data)
    with Runtime.open(settings, catch_up_index=False) as rt:
        if rt.store.stats()["counts"]["series"] == 0:
            print("loading the demo corpus into", data, flush=True)
            ingest_paths(rt.store, DEMO)
        rt.catch_up()
    return data


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--rounds", type=int, default=6)
    args = parser.parse_args(argv)

    js = first_load_js()
    print(
        f"first-load JS: {sum(js.values()):,} bytes in {len(js)} modules (no minification, before gzip)"
    )
    for url, size in sorted(js.items()):
        print(f"  {url:40s} {size:>7,}")

    data = _data_dir()
    with (
        serve(data, OUT / "server.log", None, "--no-access-log") as base,
        httpx.Client(base_url=base, timeout=30) as client,
    ):
        # The server builds its search-box suggester on first use (CPU for a few
        # seconds): build it now so it does not compete with the timed requests.
        client.get("/api/v1/suggest", params={"q": "a"}).raise_for_status()
        queries = load_queries()
        raw: list[float] = []
        http: list[float] = []
        took: list[float] = []
        with Runtime.open(Settings(data_dir=data), catch_up_index=False) as rt:
            for round_no in range(args.rounds):
                order = queries[:]
                random.Random(round_no).shuffle(order)
                for q in order:
                    t0 = time.perf_counter()
                    rt.search(SearchRequest(query=q, limit=20)).to_dict()
                    t1 = time.perf_counter()
                    response = client.get("/api/v1/search", params={"q": q, "limit": 20})
                    response.read()
                    t2 = time.perf_counter()
                    assert response.status_code == 200, (q, response.text[:200])
                    if round_no:
                        raw.append((t1 - t0) * 1000)
                        http.append((t2 - t1) * 1000)
                        took.append(float(response.json()["took_ms"]))
        # The search box asks for suggestions on every keystroke: time each prefix of
        # every query, over HTTP like the page does.
        keystrokes = [q[:i] for q in queries for i in range(1, min(len(q), 24) + 1)]
        suggest: list[float] = []
        for text in keystrokes * 2:
            t0 = time.perf_counter()
            client.get("/api/v1/suggest", params={"q": text, "limit": 8}).read()
            suggest.append((time.perf_counter() - t0) * 1000)
        suggest = suggest[len(keystrokes) :]  # the first pass is the warm-up
    n = len(raw)
    print(
        f"\n/api/v1/search vs the engine, {len(queries)} queries x {args.rounds - 1} rounds = {n} requests each"
    )
    print("(one client, sequential, keep-alive; client and server share the 2 cores)")
    print(f"{'':22s} {'median ms':>10s} {'p95 ms':>8s}")
    for label, values in (
        ("engine (in-process)", raw),
        ("server took_ms", took),
        ("HTTP round trip", http),
    ):
        print(f"{label:22s} {statistics.median(values):10.2f} {_pct(values, 0.95):8.2f}")
    print(
        f"GET /api/v1/suggest, {len(suggest)} keystrokes: median {statistics.median(suggest):.2f} ms, "
        f"p95 {_pct(suggest, 0.95):.2f} ms, p99 {_pct(suggest, 0.99):.2f} ms (HTTP round trip)"
    )
    print(
        f"HTTP / engine: median {statistics.median(http) / statistics.median(raw):.2f}x, "
        f"p95 {_pct(http, 0.95) / _pct(raw, 0.95):.2f}x; "
        f"overhead median {statistics.median(http) - statistics.median(raw):.2f} ms"
    )


if __name__ == "__main__":
    main()
