"""The API as deployed: real `omicsoracle serve` processes, real HTTP and WebSocket.

Two servers share one data directory, as two processes of one deployment would: a
job started through one is answered, and its events streamed, by the other.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from api_helpers import TOKEN
from websockets.sync.client import connect

from servers import ServerFailed, serve

FAMILY = Path(__file__).parents[1] / "data" / "soft" / "GSE93431_family.soft.gz"
ENV = {"OMICSORACLE_API_TOKEN": TOKEN, "OMICSORACLE_WS_HEARTBEAT_SECONDS": "0.5"}


@pytest.fixture(scope="module")
def servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    data = tmp_path_factory.mktemp("deploy") / "var"
    logs = tmp_path_factory.mktemp("logs")
    try:
        with serve(data, logs / "a.log", ENV) as a, serve(data, logs / "b.log", ENV) as b:
            yield a, b
    except ServerFailed as exc:
        pytest.fail(str(exc))


def _events(url: str, job_id: str) -> list[dict[str, Any]]:
    ws_url = url.replace("http://", "ws://") + "/api/v1/ws"
    got: list[dict[str, Any]] = []
    with connect(ws_url, open_timeout=10) as ws:
        ws.send(orjson.dumps({"subscribe": job_id}).decode())
        while True:
            message = orjson.loads(ws.recv(timeout=60))
            got.append(message)
            if message["event"] == "done":
                return got


def test_job_started_on_one_process_is_followed_on_another(servers: tuple[str, str]) -> None:
    a, b = servers
    with FAMILY.open("rb") as fh:
        response = httpx.post(
            f"{a}/api/v1/ingest",
            files={"file": (FAMILY.name, fh)},
            headers={"authorization": f"Bearer {TOKEN}"},
            timeout=30,
        )
    assert response.status_code == 202, response.text
    job_id = response.json()["job"]
    events = _events(b, job_id)  # streamed by the process that is not running it
    kinds = [e["event"] for e in events]
    assert kinds[0] == "subscribed"
    assert "heartbeat" in kinds or "progress" in kinds
    assert events[-1]["state"] == "done"
    assert events[-1]["result"]["parsed"]["sample"] == 32
    job = httpx.get(f"{b}/api/v1/jobs/{job_id}", timeout=10).json()
    assert job["state"] == "done"
    hit = httpx.get(f"{a}/api/v1/search", params={"q": "GSE93431"}, timeout=10).json()
    assert hit["results"][0]["accession"] == "GSE93431"


def test_heartbeat_over_a_real_socket(servers: tuple[str, str]) -> None:
    ws_url = servers[0].replace("http://", "ws://") + "/api/v1/ws"
    with connect(ws_url, open_timeout=10) as ws:
        assert orjson.loads(ws.recv(timeout=10))["event"] == "heartbeat"


def test_gzip_and_headers_over_http(servers: tuple[str, str]) -> None:
    response = httpx.get(
        f"{servers[0]}/openapi.json", headers={"accept-encoding": "gzip"}, timeout=10
    )
    assert response.headers["content-encoding"] == "gzip"
    assert "unsafe-inline" not in response.headers["content-security-policy"]
