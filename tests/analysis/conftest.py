"""Statistics fixtures: a data directory holding only GDS507 and its platform GPL97."""

from __future__ import annotations

import pytest
from de_data import GDS507, GPL97

from omicsoracle.config import Settings
from omicsoracle.ingest import ingest_paths
from omicsoracle.runtime import Runtime


@pytest.fixture(scope="session")
def gds_settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """Settings of a data directory with GDS507 and the GPL97 annotation ingested."""
    settings = Settings(data_dir=tmp_path_factory.mktemp("gds507") / "var")
    with Runtime.open(settings, catch_up_index=False) as rt:
        results = ingest_paths(rt.store, [GDS507, GPL97])
        assert not [p for r in results for p in r.problems]
        rt.catch_up()
    return settings
