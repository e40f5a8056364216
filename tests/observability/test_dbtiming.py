"""Statement timing and the slow-query log, on real SQLite and PostgreSQL stores."""

from __future__ import annotations

import logging

import pytest
import sqlalchemy as sa
from metrics_helpers import parse, value

from omicsoracle.observability import instrument_engine, instrument_engines
from omicsoracle.observability.dbtiming import STATEMENT_CHARS, statement_kind
from omicsoracle.observability.metrics import render
from omicsoracle.store import Store

SECRET = "s3cr3t-user-input-4242"
# Longer than what is logged: the log keeps the start only.
PADDING = "/* " + "padding " * 40 + "*/"
SLOW = {
    "sqlite": "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 2000000) "
    "SELECT count(*), :secret IS NOT NULL FROM c " + PADDING,
    "postgresql": "SELECT pg_sleep(0.3), CAST(:secret AS text) " + PADDING,
}


def _count(kind: str) -> float:
    return value(parse(render().decode()), "db_query_duration_seconds_count", kind=kind)


@pytest.mark.parametrize(
    ("statement", "kind"),
    [
        ("SELECT 1", "select"),
        ("  select * FROM t", "select"),
        ("INSERT INTO t VALUES (1)", "insert"),
        ("UPDATE t SET a = 1", "update"),
        ("DELETE FROM t", "delete"),
        ("WITH x AS (SELECT 1) SELECT * FROM x", "select"),
        ("WITH x AS (SELECT 1) DELETE FROM t WHERE a IN (SELECT * FROM x)", "delete"),
        ("BEGIN IMMEDIATE", "other"),
        ("PRAGMA foreign_keys = ON", "other"),
        ("", "other"),
    ],
)
def test_statement_kind(statement: str, kind: str) -> None:
    assert statement_kind(statement) == kind


def test_slow_statements_are_logged_without_parameters(
    store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    engine = store.read_engine
    assert instrument_engines(store, slow_query_ms=20) >= 2  # writer and readers
    before = _count("select")
    with (
        caplog.at_level(logging.WARNING, logger="omicsoracle.slowquery"),
        engine.connect() as conn,
    ):
        conn.execute(sa.text(SLOW[engine.dialect.name]), {"secret": SECRET}).all()
        conn.execute(sa.text("SELECT CAST(:secret AS text)"), {"secret": SECRET}).all()
    assert _count("select") >= before + 2

    [record] = [r for r in caplog.records if r.name == "omicsoracle.slowquery"]
    assert record.levelno == logging.WARNING
    statement: str = record.statement  # type: ignore[attr-defined]
    assert record.duration_ms >= 20  # type: ignore[attr-defined]
    assert f"{record.duration_ms:.1f} ms" in record.getMessage()  # type: ignore[attr-defined]
    assert len(statement) == STATEMENT_CHARS  # the statement is longer: cut
    # The driver's text: placeholders (?, %(secret)s) where the values go.
    assert statement.startswith(SLOW[engine.dialect.name][:14])
    assert statement in record.getMessage()
    assert SECRET not in caplog.text
    assert not any(SECRET in str(v) for v in vars(record).values())


def test_threshold_zero_logs_nothing_but_still_times(
    store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    engine = store.read_engine
    instrument_engine(engine, 0)
    before = _count("select")
    with (
        caplog.at_level(logging.WARNING, logger="omicsoracle.slowquery"),
        engine.connect() as conn,
    ):
        conn.execute(sa.text(SLOW[engine.dialect.name]), {"secret": SECRET}).all()
    assert _count("select") == before + 1
    assert not [r for r in caplog.records if r.name == "omicsoracle.slowquery"]


def test_instrumenting_twice_attaches_once() -> None:
    engine = sa.create_engine("sqlite://")
    instrument_engine(engine, 200)
    instrument_engine(engine, 200)
    before = _count("select")
    with engine.connect() as conn:
        conn.execute(sa.text("SELECT 1")).all()
    assert _count("select") == before + 1
    engine.dispose()


def test_a_failed_statement_does_not_upset_the_next(caplog: pytest.LogCaptureFixture) -> None:
    engine = sa.create_engine("sqlite://")
    instrument_engine(engine, 1)
    before = _count("select")
    with engine.connect() as conn:
        with pytest.raises(sa.exc.OperationalError):
            conn.execute(sa.text("SELECT * FROM missing_table")).all()
        conn.execute(sa.text("SELECT 1")).all()
    assert _count("select") == before + 1
    engine.dispose()
