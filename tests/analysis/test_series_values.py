"""A series with values of its own (a series matrix with a value table), not via a GDS.

The fixture is GSE781's GPL97 samples as a series matrix, derived from GDS507's real
values (tests/data/series_matrix/derive_gse781.py): the same numbers, so the series'
comparison of its characteristics must equal GDS507's comparison of its subsets.
"""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest
from de_data import GPL97, REPO
from typer.testing import CliRunner

from omicsoracle.analysis.comparison import groups_summary, run
from omicsoracle.cli import app
from omicsoracle.config import Settings
from omicsoracle.ingest import ingest_paths
from omicsoracle.runtime import Runtime

MATRIX = REPO / "tests" / "data" / "series_matrix" / "GSE781_from_GDS507_series_matrix.txt.gz"


@pytest.fixture(scope="module")
def series_settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    settings = Settings(data_dir=tmp_path_factory.mktemp("gse781") / "var")
    with Runtime.open(settings, catch_up_index=False) as rt:
        results = ingest_paths(rt.store, [MATRIX, GPL97])
        assert not [p for r in results for p in r.problems]
    return settings


def test_groups_and_values_of_the_series_itself(series_settings: Settings) -> None:
    with Runtime.open(series_settings, catch_up_index=False) as rt:
        body = groups_summary(rt.store, "GSE781")
    assert body["has_values"] is True
    assert body["values_from"] == "GSE781"
    sizes = {g["label"]: g["n"] for g in body["groups"]}
    assert sizes == {"disease state: RCC": 9, "disease state: normal": 8}


def test_the_series_comparison_equals_its_datasets(
    series_settings: Settings, gds_settings: Settings, tmp_path: Path
) -> None:
    with Runtime.open(series_settings, catch_up_index=False) as rt:
        series = run(rt.store, "GSE781", "disease state:RCC", "disease state:normal")
    with Runtime.open(gds_settings, catch_up_index=False) as rt:
        gds = run(rt.store, "GDS507", "disease state:RCC", "disease state:normal")
    assert series["values_from"] == "GSE781"
    assert series["log_transformed"] is gds["log_transformed"] is True
    by_probe = {r["probe"]: r for r in gds["results"]}
    assert len(series["results"]) == len(by_probe) == 22645
    named = 0
    for row in series["results"]:
        ref = by_probe[row["probe"]]
        # Symbols from GPL97 through the series' platform; a probe without one has no
        # name here, where GDS507 falls back to its IDENTIFIER column (a GenBank id).
        if row["gene"] is not None:
            named += 1
            assert row["gene"] == ref["gene"]
        for key in ("log2fc", "t", "p_adj", "mod_t", "mod_p_adj"):
            if ref[key] is None:
                assert row[key] is None
            else:
                assert row[key] == pytest.approx(ref[key], rel=1e-9, abs=1e-12), (row, key)
    assert named > 0.5 * len(by_probe)


def test_cli(series_settings: Settings) -> None:
    env = {"OMICSORACLE_DATA_DIR": str(series_settings.data_dir)}
    args = ["analyze", "de", "GSE781", "--group", "disease state:RCC", "--vs",
            "disease state:normal", "--json"]  # fmt: skip
    result = CliRunner().invoke(app, args, env=env)
    assert result.exit_code == 0, result.output
    body = orjson.loads(result.stdout)
    assert list(body) == ["accession", "groups", "log_transformed", "results"]
    top = {r["gene"] for r in body["results"][:10]}
    assert {"KCNJ10", "AQP2"} <= top  # kidney channels lost in clear cell carcinoma
