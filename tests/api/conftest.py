"""API fixtures: an in-process ASGI client over the demo corpus, and writable apps."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from api_helpers import AppFactory
from fastapi.testclient import TestClient

from omicsoracle.api.app import create_app
from omicsoracle.config import Settings


@pytest.fixture(scope="module")
def client(demo_settings: Settings) -> Iterator[TestClient]:
    """Read-only client on the whole demo corpus (shared by a module's tests).

    No rate limit: a module sends more exports than a burst allows; the limit has
    tests of its own on apps built by ``make_client``.
    """
    settings = demo_settings.model_copy(update={"rate_limit_per_minute": 0})
    with TestClient(create_app(settings)) as c:
        yield c


@pytest.fixture
def make_client(tmp_path: Path) -> Iterator[AppFactory]:
    """Build a client on an empty data directory of this test, with settings overrides."""
    opened: list[TestClient] = []

    def build(**overrides: Any) -> TestClient:
        settings = Settings(data_dir=tmp_path / "var", **overrides)
        c = TestClient(create_app(settings))
        c.__enter__()
        opened.append(c)
        return c

    yield build
    for c in reversed(opened):
        c.__exit__(None, None, None)
