"""Result-set enrichment on the demo corpus: counts equal the facets, p-values equal
scipy's hypergeometric test, adjusted ones statsmodels' BH."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest
from fastapi.testclient import TestClient
from scipy.stats import hypergeom
from statsmodels.stats.multitest import multipletests

from omicsoracle.api.app import create_app
from omicsoracle.config import Settings


@pytest.fixture(scope="module")
def demo_client(demo_settings: Settings) -> Iterator[TestClient]:
    settings = demo_settings.model_copy(update={"rate_limit_per_minute": 0})
    with TestClient(create_app(settings)) as c:
        yield c


def test_mouse_liver_is_enriched_in_mouse(demo_client: TestClient) -> None:
    params = {"q": "liver", "organism": "Mus musculus"}
    body = demo_client.get("/api/v1/analysis/enrichment", params=params).json()
    facets = demo_client.get("/api/v1/facets", params=params).json()
    corpus = demo_client.get("/api/v1/facets").json()
    assert body["total"] == facets["total"] > 0
    assert body["corpus"] == corpus["total"]
    terms = {(t["field"], t["value"]): t for t in body["terms"]}
    mouse = terms[("organism", "Mus musculus")]
    assert mouse["in_results"] == body["total"]
    corpus_mouse = next(
        b["count"] for b in corpus["facets"]["organism"] if b["value"] == "Mus musculus"
    )
    assert mouse["in_corpus"] == corpus_mouse
    assert mouse["fold"] > 1
    assert mouse["p_adj"] < 1e-6
    for name in ("type", "platform"):
        for b in facets["facets"][name]:
            assert terms[(name, b["value"])]["in_results"] == b["count"]

    k = np.array([t["in_results"] for t in body["terms"]])
    big = np.array([t["in_corpus"] for t in body["terms"]])
    p = hypergeom.sf(k - 1, body["corpus"], big, body["total"])
    np.testing.assert_allclose([t["p"] for t in body["terms"]], p, rtol=1e-12, atol=0)
    ref = multipletests(p, method="fdr_bh")[1]
    np.testing.assert_allclose([t["p_adj"] for t in body["terms"]], ref, atol=1e-9)
    adj = [t["p_adj"] for t in body["terms"]]
    assert adj == sorted(adj)


def test_no_results(demo_client: TestClient) -> None:
    body = demo_client.get(
        "/api/v1/analysis/enrichment", params={"q": "zzqqxx", "organism": "Nothing at all"}
    ).json()
    assert body["total"] == 0
    assert body["terms"] == []
