"""The response cache of search, facets and suggest: hits, freshness, L2, Redis down."""

from __future__ import annotations

import asyncio
import logging
import socket
import time
import zlib
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from api_helpers import AppFactory
from fastapi.testclient import TestClient

from omicsoracle.cache import Cache
from omicsoracle.config import Settings
from omicsoracle.ingest import ingest_file
from omicsoracle.model import Series
from omicsoracle.runtime import Runtime

DATA = Path(__file__).parents[1] / "data"
FAMILY = DATA / "soft" / "GSE93431_family.soft.gz"


def _cache(client: TestClient) -> Cache:
    cache: Cache = client.app.state.cache  # type: ignore[attr-defined]
    return cache


def _ingest_elsewhere(data_dir: Path) -> None:
    """What a CLI ingest in another process does: commit to the store, then index."""
    with Runtime.open(Settings(data_dir=data_dir), catch_up_index=False) as rt:
        ingest_file(rt.store, FAMILY)
        rt.catch_up()


# Without compression one request is one cache lookup (a gzip answer adds one for the
# compressed prefix), which keeps the counting below simple.
PLAIN = {"accept-encoding": "identity"}


def _search(client: TestClient, q: str) -> dict[str, Any]:
    response = client.get("/api/v1/search", params={"q": q}, headers=PLAIN)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def test_a_repeated_search_is_a_hit_with_the_same_answer(client: TestClient) -> None:
    cache = _cache(client)
    first = _search(client, "hippocampus neurons mouse")
    hits = cache.stats()["l1_hits"]
    second = _search(client, "hippocampus neurons mouse")
    assert cache.stats()["l1_hits"] == hits + 1
    first.pop("took_ms")
    second.pop("took_ms")
    assert first == second
    # Different filters, sort or page size are other answers, not hits.
    q = "hippocampus neurons mouse"
    client.get("/api/v1/search", params={"q": q, "sort": "date"}, headers=PLAIN)
    client.get("/api/v1/search", params={"q": q, "organism": "x"}, headers=PLAIN)
    assert cache.stats()["l1_hits"] == hits + 1


def test_facets_suggest_and_stats_are_cached(client: TestClient) -> None:
    cache = _cache(client)
    for path, params in (
        ("/api/v1/facets", {"q": "breast cancer"}),
        ("/api/v1/suggest", {"q": "neurobl"}),
        ("/api/v1/stats", {}),
    ):
        first = client.get(path, params=params, headers=PLAIN).json()
        hits = cache.stats()["l1_hits"]
        assert client.get(path, params=params, headers=PLAIN).json() == first
        assert cache.stats()["l1_hits"] == hits + 1, path


def test_new_data_is_never_answered_from_the_cache(make_client: AppFactory, tmp_path: Path) -> None:
    client = make_client()
    assert _search(client, "GSE93431")["total"] == 0
    assert _search(client, "GSE93431")["total"] == 0  # now cached, empty
    _ingest_elsewhere(tmp_path / "var")
    # At once, no catch-up tick in between: the generation moved, so the key did.
    found = _search(client, "GSE93431")
    assert [r["accession"] for r in found["results"]][:1] == ["GSE93431"]


def test_concurrent_identical_misses_search_once(make_client: AppFactory) -> None:
    client = make_client()
    rt: Runtime = client.app.state.runtime  # type: ignore[attr-defined]
    calls = 0
    search = rt.search

    def counting(request: Any) -> Any:
        nonlocal calls
        calls += 1
        return search(request)

    rt.search = counting  # type: ignore[method-assign]

    async def burst() -> list[int]:
        transport = httpx.ASGITransport(app=client.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
            responses = await asyncio.gather(
                *(http.get("/api/v1/search", params={"q": "single flight"}) for _ in range(100))
            )
        return [r.status_code for r in responses]

    assert client.portal is not None
    statuses = client.portal.call(burst)
    assert statuses == [200] * 100
    assert calls == 1


def test_a_second_process_gets_l2_hits_from_redis(
    make_client: AppFactory, tmp_path: Path, redis_url: str
) -> None:
    _ingest_elsewhere(tmp_path / "var")
    a = make_client(redis_url=redis_url)
    b = make_client(redis_url=redis_url)  # a second server on the same data
    body = _search(a, "GSE93431 neuronal")
    assert a.portal is not None
    a.portal.call(_cache(a).drain)  # L2 writes are behind the response
    before = _cache(b).stats()["l2_hits"]
    again = _search(b, "GSE93431 neuronal")
    assert _cache(b).stats()["l2_hits"] == before + 1
    body.pop("took_ms")
    again.pop("took_ms")
    assert body == again


def test_redis_down_means_l1_and_database_with_a_warning(
    make_client: AppFactory, caplog: pytest.LogCaptureFixture
) -> None:
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    client = make_client(redis_url=f"redis://127.0.0.1:{port}/0", redis_timeout_seconds=0.2)
    with caplog.at_level(logging.WARNING, logger="omicsoracle.cache"):
        for q in ("alpha", "beta", "gamma"):
            assert client.get("/api/v1/search", params={"q": q}).status_code == 200
    warnings = [r for r in caplog.records if r.name.startswith("omicsoracle.cache")]
    assert len(warnings) == 1  # one per outage, not one per request
    assert _cache(client).stats()["l2_errors"] >= 1


def test_a_gzip_hit_is_one_valid_member_with_a_fresh_took_ms(client: TestClient) -> None:
    params = {"q": "Down syndrome"}
    plain = client.get("/api/v1/search", params=params, headers={"accept-encoding": "identity"})
    assert "content-encoding" not in plain.headers
    with client.stream(
        "GET", "/api/v1/search", params=params, headers={"accept-encoding": "gzip"}
    ) as response:
        raw = b"".join(response.iter_raw())
    assert response.headers["content-encoding"] == "gzip"
    assert response.headers["vary"] == "Accept-Encoding"
    # One gzip member, as strict decoders (zlib's own, browsers') expect.
    decoder = zlib.decompressobj(wbits=31)
    body = orjson.loads(decoder.decompress(raw) + decoder.flush())
    assert decoder.eof
    assert decoder.unused_data == b""
    expected = plain.json()
    assert body.pop("took_ms") >= 0
    expected.pop("took_ms")
    assert body == expected


def test_a_record_page_is_cached_until_the_store_changes(
    make_client: AppFactory, tmp_path: Path
) -> None:
    _ingest_elsewhere(tmp_path / "var")
    client = make_client()
    cache = _cache(client)
    first = client.get("/api/v1/series/GSE93431", headers=PLAIN).json()
    hits = cache.stats()["l1_hits"]
    assert client.get("/api/v1/series/GSE93431", headers=PLAIN).json() == first
    assert cache.stats()["l1_hits"] == hits + 1
    # Another process changes the record in the store only (the index is not told):
    # the very next read shows it.
    settings = Settings(data_dir=tmp_path / "var")
    with Runtime.open(settings, catch_up_index=False) as rt, rt.store.transaction(None) as tx:
        tx.write([Series(accession="GSE93431", source="geo_soft", title="Retitled")])
    assert client.get("/api/v1/series/GSE93431", headers=PLAIN).json()["title"] == "Retitled"


def test_unknown_records_are_never_cached(client: TestClient) -> None:
    cache = _cache(client)
    entries = cache.stats()["entries"]
    for n in range(5):
        assert client.get(f"/api/v1/series/GSE9999999{n}").status_code == 404
    assert cache.stats()["entries"] == entries


def test_repeated_parameters_keep_their_order_in_the_key(client: TestClient) -> None:
    # A single-valued parameter takes its last value: these two are different requests.
    a = client.get("/api/v1/search?q=zzzzqx&q=neuroblastoma", headers=PLAIN).json()
    b = client.get("/api/v1/search?q=neuroblastoma&q=zzzzqx", headers=PLAIN).json()
    assert a["query"] == "neuroblastoma"
    assert b["query"] == "zzzzqx"


def test_suggestions_follow_new_data_without_a_stale_cached_answer(
    make_client: AppFactory, tmp_path: Path
) -> None:
    client = make_client()
    assert client.get("/api/v1/suggest", params={"q": "cohesin"}).json()["suggestions"] == []
    _ingest_elsewhere(tmp_path / "var")
    # Asked again while the suggester is rebuilt in the background: the old (empty)
    # answer must not be kept under the new generation.
    deadline = time.monotonic() + 60
    while True:
        found = client.get("/api/v1/suggest", params={"q": "cohesin"}).json()["suggestions"]
        if found:
            break
        assert time.monotonic() < deadline, "suggestions never showed the new series"
        time.sleep(0.2)
    assert any("cohesin" in s["text"].lower() for s in found)
