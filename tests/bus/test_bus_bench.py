"""`omicsoracle bench bus --json` prints the issue's shape (figures are not asserted)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_bench_bus_json_shape() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "bench.bus_bench", "--json", "--messages", "3000"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
        timeout=300,
    )
    results = json.loads(out.stdout)
    assert set(results) == {"codecs", "memory"}  # no Redis URL given: no "redis"
    assert set(results["memory"]) == {"msgs_per_s", "p95_ms"}
    assert results["memory"]["msgs_per_s"] > 0
    assert results["memory"]["p95_ms"] >= 0
    codecs = results["codecs"]
    assert codecs["faster"] in ("msgpack", "orjson")
    for name in ("msgpack", "orjson"):
        assert set(codecs[name]) == {"bytes", "encode_us", "decode_us", "round_trip_us"}
        assert codecs[name]["bytes"] > 7_000
