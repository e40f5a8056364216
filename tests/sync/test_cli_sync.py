"""``omicsoracle sync geo`` on the command line: summary, errors, dry run, NCBI's rate.

The rate tests run with the default settings (no rate override), so the token bucket
paces requests as against NCBI; the stand-in measures the request arrivals.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from standin import EutilsStandin
from sync_helpers import SINCE, UNTIL, served
from typer.testing import CliRunner

from omicsoracle.cli import app

runner = CliRunner()


@pytest.fixture
def standin() -> Iterator[EutilsStandin]:
    with EutilsStandin(records=12, start=SINCE, end=UNTIL) as s:
        yield s


def _env(standin: EutilsStandin, tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {
        "OMICSORACLE_DATA_DIR": str(tmp_path / "var"),
        "OMICSORACLE_EUTILS_URL": standin.url,
        "OMICSORACLE_GEO_FTP_URL": standin.ftp_url,
        "OMICSORACLE_SYNC_REQUESTS_PER_SECOND": "0",
        "OMICSORACLE_SYNC_MAX_ATTEMPTS": "2",
        "OMICSORACLE_NCBI_API_KEY": "",
    }
    env.update(extra)
    return env


def _sync(env: dict[str, str], *args: str) -> Any:
    argv = ["sync", "geo", "--since", SINCE.isoformat(), "--until", UNTIL.isoformat(), *args]
    return runner.invoke(app, argv, env=env)


def test_json_summary_and_search(standin: EutilsStandin, tmp_path: Path) -> None:
    env = _env(standin, tmp_path)
    result = _sync(env, "--json", "--batch-size", "5")
    assert result.exit_code == 0, result.output
    body = json.loads(result.stdout)
    keys = {"windows", "records", "series", "datasets", "samples", "publications", "vanished",
            "requests", "retries", "seconds", "position"}  # fmt: skip
    assert keys <= set(body)
    assert body["records"] == len(served(standin))
    assert body["requests"] == standin.count()
    assert body["retries"] == 0
    assert body["indexed"] > 0
    shown = runner.invoke(app, ["show", "GSE94489", "--json"], env=env)
    assert shown.exit_code == 0
    assert json.loads(shown.stdout)["accession"] == "GSE94489"


def test_dry_run_prints_counts_and_writes_nothing(standin: EutilsStandin, tmp_path: Path) -> None:
    env = _env(standin, tmp_path)
    result = _sync(env, "--dry-run")
    assert result.exit_code == 0, result.output
    assert "nothing written" in result.stderr
    assert f"{len(served(standin))} series and DataSets" in result.stderr
    stats = json.loads(runner.invoke(app, ["stats", "--json"], env=env).stdout)
    assert sum(stats["counts"].values()) == 0


def test_error_exits_1_naming_the_request(standin: EutilsStandin, tmp_path: Path) -> None:
    standin.fault("eutils_error", times=None, match="esearch", message="Search Backend failed")
    result = _sync(_env(standin, tmp_path), "--json")
    assert result.exit_code == 1
    body = json.loads(result.stdout)
    assert "esearch" in body["error"]
    assert "Search Backend failed" in body["error"]
    assert "esearch" in result.stderr
    assert "resume" in result.stderr


def test_limit(standin: EutilsStandin, tmp_path: Path) -> None:
    env = _env(standin, tmp_path)
    result = _sync(env, "--json", "--limit", "3", "--batch-size", "2")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["records"] == 3
    assert "stopped at --limit" not in result.stderr  # --json: the summary only


def test_rate_above_ncbi_limit_is_refused_for_ncbi(tmp_path: Path) -> None:
    env = {
        "OMICSORACLE_DATA_DIR": str(tmp_path / "var"),
        "OMICSORACLE_SYNC_REQUESTS_PER_SECOND": "5",
        "OMICSORACLE_EUTILS_URL": "https://eutils.ncbi.nlm.nih.gov/entrez/eutils/",
    }
    result = runner.invoke(app, ["sync", "geo", "--dry-run"], env=env)
    assert result.exit_code == 2
    assert "exceeds NCBI's limit of 3" in result.stderr
    result = runner.invoke(
        app, ["sync", "geo", "--dry-run"], env={**env, "OMICSORACLE_SYNC_REQUESTS_PER_SECOND": "0"}
    )
    assert result.exit_code == 2


@pytest.mark.parametrize(("key", "limit"), [("", 3), ("test-key-1234", 10)])
def test_ncbi_rate_without_and_with_key(
    standin: EutilsStandin, tmp_path: Path, key: str, limit: int
) -> None:
    env = _env(
        standin, tmp_path, OMICSORACLE_NCBI_API_KEY=key, OMICSORACLE_NCBI_EMAIL="me@example.org"
    )
    del env["OMICSORACLE_SYNC_REQUESTS_PER_SECOND"]  # the default: NCBI's rate
    # Small pages: more requests than the limit, so a second too many would show.
    batch = "2" if not key else "1"
    result = _sync(env, "--json", "--batch-size", batch)
    assert result.exit_code == 0, result.output
    assert standin.count() > limit
    assert standin.max_in_window(1.0) <= limit
    for logged in standin.requests:
        assert logged.params.get("tool") == "omicsoracle"
        assert logged.params.get("email") == "me@example.org"
        assert logged.params.get("api_key") == (key or None)


def test_rate_settings() -> None:
    from pydantic import ValidationError

    from omicsoracle.config import Settings

    assert Settings().ncbi_rate == 3.0
    assert Settings(ncbi_api_key="k").ncbi_rate == 10.0
    assert Settings(ncbi_api_key="  ").ncbi_api_key is None  # blank = unset
    assert Settings(ncbi_api_key="k", sync_requests_per_second=10).ncbi_rate == 10.0
    assert Settings(sync_requests_per_second=1).ncbi_rate == 1.0  # slower is fine
    local = "http://127.0.0.1:9/entrez/eutils/"
    assert Settings(eutils_url=local, sync_requests_per_second=0).ncbi_rate is None
    assert Settings(eutils_url=local, sync_requests_per_second=50).ncbi_rate == 50.0
    with pytest.raises(ValidationError, match="limit of 10"):
        Settings(ncbi_api_key="k", sync_requests_per_second=11)
