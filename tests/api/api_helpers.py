"""Names the API tests share (conftest fixtures build on them)."""

from __future__ import annotations

from collections.abc import Callable

from fastapi.testclient import TestClient

TOKEN = "test-token-5f1c"
PROBLEM = "application/problem+json"

AppFactory = Callable[..., TestClient]
