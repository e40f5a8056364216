"""Agents on the demo corpus: one runtime per module (read only)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from omicsoracle.config import Settings
from omicsoracle.runtime import Runtime

QUESTION = "NSCLC RNA-seq human at least 20 samples"


@pytest.fixture(scope="module")
def demo_rt(demo_settings: Settings) -> Iterator[Runtime]:
    with Runtime.open(demo_settings) as rt:
        yield rt
