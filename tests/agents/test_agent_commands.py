"""`omicsoracle ask` answers in-process; `omicsoracle worker` refuses to run without Redis."""

from __future__ import annotations

import orjson
from typer.testing import CliRunner

from omicsoracle.cli import app
from omicsoracle.config import Settings

runner = CliRunner()
QUESTION = "NSCLC RNA-seq human at least 20 samples"


def _env(settings: Settings, **extra: str) -> dict[str, str]:
    return {"OMICSORACLE_DATA_DIR": str(settings.data_dir), **extra}


def test_ask_json_holds_the_whole_answer(demo_settings: Settings) -> None:
    # In-process even when the environment names the Redis bus.
    result = runner.invoke(
        app,
        ["ask", QUESTION, "--json", "--limit", "3"],
        env=_env(demo_settings, OMICSORACLE_BUS="redis"),
    )
    assert result.exit_code == 0, result.output
    answer = orjson.loads(result.stdout)
    assert answer["partial"] is False
    assert answer["understood"]["filters"]["min_samples"] == 20
    assert 1 <= len(answer["results"]["results"]) <= 3
    assert answer["summary"]["text"]


def test_ask_prints_what_it_understood_and_a_summary(demo_settings: Settings) -> None:
    result = runner.invoke(app, ["ask", QUESTION], env=_env(demo_settings))
    assert result.exit_code == 0, result.output
    assert "searching for: NSCLC (non-small cell lung cancer)" in result.stdout
    assert "series match" in result.stdout


def test_worker_needs_the_redis_bus(demo_settings: Settings) -> None:
    result = runner.invoke(app, ["worker"], env=_env(demo_settings, OMICSORACLE_BUS="memory"))
    assert result.exit_code == 2
    assert "OMICSORACLE_BUS=redis" in result.output


def test_worker_refuses_unknown_agents(demo_settings: Settings) -> None:
    result = runner.invoke(
        app,
        ["worker", "--agents", "query,astrology", "--redis-url", "redis://127.0.0.1:1/0"],
        env=_env(demo_settings),
    )
    assert result.exit_code == 2
    assert "astrology" in result.output
