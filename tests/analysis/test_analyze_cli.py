"""``omicsoracle analyze de``: the JSON of issue 6, and clear errors."""

from __future__ import annotations

import orjson
from typer.testing import CliRunner

from omicsoracle.cli import app
from omicsoracle.config import Settings

runner = CliRunner()
ARGS = ["analyze", "de", "GDS507", "--group", "disease state:RCC", "--vs", "disease state:normal"]


def _env(settings: Settings) -> dict[str, str]:
    return {"OMICSORACLE_DATA_DIR": str(settings.data_dir)}


def test_json(gds_settings: Settings) -> None:
    result = runner.invoke(app, [*ARGS, "--json"], env=_env(gds_settings))
    assert result.exit_code == 0, result.output
    body = orjson.loads(result.stdout)
    assert list(body) == ["accession", "groups", "log_transformed", "results"]
    assert body["accession"] == "GDS507"
    assert body["log_transformed"] is True
    rows = body["results"]
    assert len(rows) == 22645
    assert list(rows[0]) == [
        "probe",
        "gene",
        "log2fc",
        "t",
        "p",
        "p_adj",
        "mod_t",
        "mod_p",
        "mod_p_adj",
    ]
    adj = [r["mod_p_adj"] for r in rows]
    assert adj == sorted(adj)
    egln3 = next(r for r in rows if r["probe"] == "222847_s_at")
    assert egln3["gene"] == "EGLN3"
    assert egln3["log2fc"] > 2


def test_table(gds_settings: Settings) -> None:
    result = runner.invoke(app, [*ARGS, "--top", "3"], env=_env(gds_settings))
    assert result.exit_code == 0, result.output
    assert "disease state:RCC (n=9) vs disease state:normal (n=8)" in result.stdout
    assert len(result.stdout.strip().splitlines()) == 4


def test_errors(gds_settings: Settings) -> None:
    unknown = runner.invoke(app, [*ARGS[:2], "GDS1", *ARGS[3:]], env=_env(gds_settings))
    assert unknown.exit_code == 1
    assert "no dataset" in unknown.stderr
    small = runner.invoke(app, [*ARGS[:5], "--vs", "individual:011"], env=_env(gds_settings))
    assert small.exit_code == 2
    assert "2 are needed" in small.stderr


def test_series_values_from_its_dataset(gds_settings: Settings) -> None:
    # GSE781 is not stored; GDS507 (stored) names it as its reference series.
    args = [
        "analyze",
        "de",
        "GSE781",
        "--group",
        "disease state:RCC",
        "--vs",
        "disease state:normal",
    ]
    result = runner.invoke(app, [*args, "--top", "1"], env=_env(gds_settings))
    assert result.exit_code == 0, result.output
    assert "values from GDS507" in result.stdout
    assert "log2 applied (quantiles)" in result.stdout
    missing = runner.invoke(app, ["analyze", "de", "GSE999999", *args[3:]], env=_env(gds_settings))
    assert missing.exit_code == 1
