"""The command line, run in-process on real data directories."""

from __future__ import annotations

import shutil
import sqlite3
from contextlib import closing
from pathlib import Path

import orjson
import pytest
from typer.testing import CliRunner

from omicsoracle.cli import app
from omicsoracle.config import Settings
from omicsoracle.search.base import FACET_NAMES

DATA = Path(__file__).parent / "data"
runner = CliRunner()


def _env(settings: Settings) -> dict[str, str]:
    return {"OMICSORACLE_DATA_DIR": str(settings.data_dir)}


def test_search_json_shape(demo_settings: Settings) -> None:
    result = runner.invoke(app, ["search", "neuroblastoma", "--json"], env=_env(demo_settings))
    assert result.exit_code == 0, result.output
    body = orjson.loads(result.stdout)
    assert set(body) >= {"query", "total", "results", "facets", "next_cursor"}
    assert body["query"] == "neuroblastoma"
    assert body["total"] > 20
    assert len(body["results"]) == 20
    first = body["results"][0]
    assert set(first) == {
        "accession", "title", "snippet", "organisms", "types", "platforms",
        "n_samples", "release_date", "pubmed_ids", "score",
    }  # fmt: skip
    assert "neuroblastoma" in (first["title"] + first["snippet"]["text"]).lower()
    for start, end in first["snippet"]["highlights"]:
        assert 0 <= start < end <= len(first["snippet"]["text"])
    assert set(body["facets"]) == set(FACET_NAMES)
    assert sum(f["count"] for f in body["facets"]["samples"]) == body["total"]
    scores = [r["score"] for r in body["results"]]
    assert scores == sorted(scores, reverse=True)


def test_search_filters_and_paging(demo_settings: Settings) -> None:
    args = [
        "search",
        "breast cancer",
        "--organism",
        "human",
        "--min-samples",
        "20",
        "--json",
        "--limit",
        "5",
    ]
    page1 = orjson.loads(runner.invoke(app, args, env=_env(demo_settings)).stdout)
    assert page1["total"] > 5
    for hit in page1["results"]:
        assert "Homo sapiens" in hit["organisms"]
        assert hit["n_samples"] >= 20
    page2 = orjson.loads(
        runner.invoke(
            app, [*args, "--cursor", page1["next_cursor"]], env=_env(demo_settings)
        ).stdout
    )
    first = {h["accession"] for h in page1["results"]}
    assert first.isdisjoint(h["accession"] for h in page2["results"])


def test_search_human_output(demo_settings: Settings) -> None:
    result = runner.invoke(app, ["search", "parkinson's disease"], env=_env(demo_settings))
    assert result.exit_code == 0
    assert "series match" in result.stdout
    assert "GSE" in result.stdout


def test_search_understood_and_literal(demo_settings: Settings) -> None:
    args = ["search", "NSCLC human at least 20 samples"]
    shown = runner.invoke(app, args, env=_env(demo_settings))
    assert shown.exit_code == 0, shown.output
    assert "searching for: NSCLC (non-small cell lung cancer) · Homo sapiens · samples ≥ 20" in (
        " ".join(shown.stdout.split())
    )
    understood = orjson.loads(runner.invoke(app, [*args, "--json"], env=_env(demo_settings)).stdout)
    literal = orjson.loads(
        runner.invoke(app, [*args, "--json", "--literal"], env=_env(demo_settings)).stdout
    )
    assert understood["understood"]["filters"] == {"organism": ["Homo sapiens"], "min_samples": 20}
    assert literal["understood"]["literal"] is True
    assert literal["understood"]["filters"] == {}
    assert literal["total"] != understood["total"]


def test_markup_in_user_text_is_printed_not_interpreted(demo_settings: Settings) -> None:
    # Rich markup in a query ("[/x]" is a closing tag with no opening one) must not crash.
    result = runner.invoke(app, ["search", "liver [/x] [bold]"], env=_env(demo_settings))
    assert result.exit_code == 0, result.output
    assert "[/x]" in result.stdout


def test_bad_cursor_is_a_clear_error(demo_settings: Settings) -> None:
    result = runner.invoke(
        app, ["search", "liver", "--cursor", "garbage!"], env=_env(demo_settings)
    )
    assert result.exit_code == 2
    assert "cursor" in result.stderr.lower()


def test_show_series_with_samples_and_publications(demo_settings: Settings) -> None:
    result = runner.invoke(app, ["show", "GSE100007", "--json"], env=_env(demo_settings))
    assert result.exit_code == 0, result.output
    record = orjson.loads(result.stdout)
    assert record["record_type"] == "series"
    assert record["samples_page"]["total"] == 52
    assert "29141229" in [p["pmid"] for p in record["publications"]]
    human = runner.invoke(app, ["show", "GSE100007"], env=_env(demo_settings))
    assert "GSE100007" in human.stdout
    assert "samples (52)" in human.stdout


def test_show_dataset_and_publication(demo_settings: Settings) -> None:
    gds = orjson.loads(
        runner.invoke(app, ["show", "GDS507", "--json"], env=_env(demo_settings)).stdout
    )
    assert {s["description"] for s in gds["subsets_detail"]} >= {"RCC", "normal"}
    assert gds["table"]["rows"] == 22645
    pub = orjson.loads(
        runner.invoke(app, ["show", "41603352", "--json"], env=_env(demo_settings)).stdout
    )
    assert pub["record_type"] == "publication"
    assert {"GSE149758", "GSE200151"} <= {s["series"] for s in pub["series_links"]}


def test_show_unknown_and_malformed(demo_settings: Settings) -> None:
    unknown = runner.invoke(app, ["show", "GSE999999999"], env=_env(demo_settings))
    assert unknown.exit_code == 1
    assert "not in the store" in unknown.stderr
    malformed = runner.invoke(app, ["show", "GSE12x"], env=_env(demo_settings))
    assert malformed.exit_code == 2


def test_stats_json(demo_settings: Settings) -> None:
    result = runner.invoke(app, ["stats", "--json"], env=_env(demo_settings))
    body = orjson.loads(result.stdout)
    assert body["counts"]["series"] >= 42129
    assert body["counts"]["publication"] > 200
    assert body["last_ingest"]
    assert body["index"]["applied_change_id"] == body["index"]["store_change_id"]
    assert body["index"]["documents"] == body["counts"]["series"]


def test_ingest_exit_status_and_report(settings: Settings, tmp_path: Path) -> None:
    env = _env(settings)
    ok = runner.invoke(app, ["ingest", str(DATA / "soft" / "GSE87585_family.soft.gz")], env=env)
    assert ok.exit_code == 0, ok.output
    assert "ok" in ok.stderr
    broken = runner.invoke(app, ["ingest", str(DATA / "soft" / "GPLbroken.soft.gz")], env=env)
    assert broken.exit_code == 1
    assert "GPLbroken.soft.gz" in broken.stderr
    assert "empty" in broken.stderr
    again = runner.invoke(
        app, ["ingest", "--json", str(DATA / "soft" / "GSE87585_family.soft.gz")], env=env
    )
    report = orjson.loads(again.stdout)
    assert sum(report["files"][0]["written"]["inserted"].values()) == 0
    skipped = runner.invoke(
        app, ["ingest", "--skip-seen", str(DATA / "soft" / "GSE87585_family.soft.gz")], env=env
    )
    assert "skipped" in skipped.stderr


def test_ingest_lists_the_first_clean_files_then_their_sums(
    settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """At mirror size the text report names the first clean files, every file with
    problems, and one line for the rest; --json still reports every file."""
    from omicsoracle import cli

    monkeypatch.setattr(cli, "CLEAN_LISTED", 1)
    names = ["GSE87585_family.soft.gz", "GPLbroken.soft.gz", "GSE93431_family.soft.gz",
             "GSE94489_family.soft.gz"]  # fmt: skip
    paths = [str(DATA / "soft" / n) for n in names]
    result = runner.invoke(app, ["ingest", "--jobs", "1", *paths], env=_env(settings))
    assert result.exit_code == 1  # the broken file
    assert "GSE87585_family.soft.gz" in result.stderr
    assert "GPLbroken.soft.gz" in result.stderr
    assert "GSE93431_family.soft.gz" not in result.stderr
    assert "... and 2 more files with" in result.stderr
    again = runner.invoke(app, ["ingest", "--json", *paths], env=_env(settings))
    listed = [Path(f["path"]).name for f in orjson.loads(again.stdout)["files"]]
    assert listed == names


def test_reindex_backup_and_upgrade(settings: Settings, tmp_path: Path) -> None:
    env = _env(settings)
    assert runner.invoke(app, ["db", "upgrade"], env=env).exit_code == 0
    runner.invoke(app, ["ingest", str(DATA / "miniml" / "GSE100007_family.xml")], env=env)
    result = runner.invoke(app, ["reindex"], env=env)
    assert result.exit_code == 0, result.output
    assert "reindexed 1 series" in result.stderr
    found = orjson.loads(runner.invoke(app, ["search", "GSE100007", "--json"], env=env).stdout)
    assert found["results"][0]["accession"] == "GSE100007"
    target = tmp_path / "backup.sqlite"
    assert runner.invoke(app, ["backup", str(target)], env=env).exit_code == 0
    with closing(sqlite3.connect(target)) as conn:
        assert conn.execute("SELECT count(*) FROM samples").fetchone() == (52,)


def test_index_catches_up_after_a_crash(settings: Settings) -> None:
    """Store committed, index never told (a crash in between): the next start replays."""
    env = _env(settings)
    runner.invoke(app, ["ingest", str(DATA / "soft" / "GSE93431_family.soft.gz")], env=env)
    shutil.rmtree(settings.index_dir)  # lose the index entirely
    found = orjson.loads(runner.invoke(app, ["search", "GSE93431", "--json"], env=env).stdout)
    assert [r["accession"] for r in found["results"]][:1] == ["GSE93431"]


@pytest.mark.parametrize("engine", ["tantivy", "sql"])
def test_both_engines_answer(settings: Settings, engine: str) -> None:
    env = {**_env(settings), "OMICSORACLE_SEARCH_ENGINE": engine}
    runner.invoke(app, ["ingest", str(DATA / "soft" / "GSE94489_family.soft.gz")], env=env)
    body = orjson.loads(runner.invoke(app, ["search", "GSE94489", "--json"], env=env).stdout)
    assert body["results"][0]["accession"] == "GSE94489"


def test_restored_backup_rebuilds_the_index(settings: Settings, tmp_path: Path) -> None:
    """A restored backup rewinds the change log; the index must not trust its old position."""
    env = _env(settings)
    runner.invoke(app, ["ingest", str(DATA / "soft" / "GSE87585_family.soft.gz")], env=env)
    saved = tmp_path / "saved.sqlite"
    runner.invoke(app, ["backup", str(saved)], env=env)
    runner.invoke(app, ["ingest", str(DATA / "soft" / "GSE93431_family.soft.gz")], env=env)
    store_file = settings.data_dir / "omicsoracle.sqlite"
    for suffix in ("-wal", "-shm"):
        Path(str(store_file) + suffix).unlink(missing_ok=True)
    shutil.copy(saved, store_file)
    # A new ingest after the restore reuses the change ids the index already applied.
    runner.invoke(app, ["ingest", str(DATA / "soft" / "GSE94489_family.soft.gz")], env=env)
    searched = runner.invoke(app, ["search", "GSE94489 GSE93431", "--json"], env=env)
    assert searched.exit_code == 0, (searched.output, searched.exception)
    found = orjson.loads(searched.stdout)
    accessions = {r["accession"] for r in found["results"]}
    assert "GSE94489" in accessions
    assert "GSE93431" not in accessions  # gone with the restore


def test_no_index_defers_to_the_next_open(settings: Settings) -> None:
    env = _env(settings)
    loaded = runner.invoke(
        app, ["ingest", "--no-index", str(DATA / "soft" / "GSE93431_family.soft.gz")], env=env
    )
    assert loaded.exit_code == 0
    assert "--no-index" in loaded.stderr
    stats = orjson.loads(runner.invoke(app, ["stats", "--json"], env=env).stdout)
    assert stats["index"]["applied_change_id"] < stats["index"]["store_change_id"]
    found = orjson.loads(runner.invoke(app, ["search", "GSE93431", "--json"], env=env).stdout)
    assert found["results"][0]["accession"] == "GSE93431"


def test_few_literal_matches_are_relaxed_with_strict_ones_first(demo_settings: Settings) -> None:
    env = _env(demo_settings)
    short = orjson.loads(runner.invoke(app, ["search", "T2D islets", "--json"], env=env).stdout)
    assert short["relaxed"] is True
    assert short["total"] > 10
    literal = {
        "GSE25724",
        "GSE37852",
    }  # the two series that say both "type 2 diabetes" and "islets"
    assert {r["accession"] for r in short["results"][:2]} == literal
