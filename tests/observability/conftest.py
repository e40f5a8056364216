"""Fixtures of the metrics tests: an app on an empty data directory."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from metrics_helpers import TOKEN

from omicsoracle.api.app import create_app
from omicsoracle.config import Settings


@pytest.fixture
def app_client(tmp_path: Path) -> Iterator[TestClient]:
    """A client on an empty data directory, write API on, no rate limit."""
    settings = Settings(data_dir=tmp_path / "var", api_token=TOKEN, rate_limit_per_minute=0)
    with TestClient(create_app(settings)) as client:
        yield client
