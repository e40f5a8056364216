"""Plans compiled to PostgreSQL full text: tsquery literals and the WHERE / score SQL.

Queries are tsquery literals built from analyzed stems only, each quoted, and bound as
parameters: a run of stems becomes ``'a':W <-> 'b':W`` per field weight W, OR-ed, so a
phrase matches inside one field as in the other engines. Every condition is on the
docs table aliased ``d``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from omicsoracle.search.db_snapshot import range_conditions
from omicsoracle.search.fields import TEXT_FIELDS
from omicsoracle.search.plan import COORDINATION_BOOST, Clause, Plan

# ts_rank weights in PostgreSQL's order {D, C, B, A}: extra, design, summary, title
# (the same order of preference as the other engines' field weights).
RANK_WEIGHTS = "{0.15, 0.25, 0.5, 1.0}"  # at most 1 (PostgreSQL)
RANK_SCALE = 20.0  # ts_rank is small; keeps tag boosts a mild signal on top
FIELD_WEIGHTS = dict(zip(TEXT_FIELDS, "ABCD", strict=True))


def lexeme(term: str) -> str:
    """A quoted tsvector/tsquery lexeme (quotes and backslashes escaped)."""
    return "'" + term.replace("\\", "\\\\").replace("'", "''") + "'"


def _alt_query(stems: Sequence[str]) -> str:
    if len(stems) == 1:
        return lexeme(stems[0])
    per_field = (" <-> ".join(f"{lexeme(s)}:{w}" for s in stems) for w in "ABCD")
    return " | ".join(f"({q})" for q in per_field)


def text_query(clauses: Sequence[Clause]) -> str | None:
    """The tsquery literal OR-ing every text alternative of ``clauses`` (None: none)."""
    parts = [f"({_alt_query(a.stems)})" for c in clauses for a in c.alts]
    return " | ".join(parts) if parts else None


def _clause_sql(clause: Clause) -> tuple[str, list[Any]]:
    parts: list[str] = []
    args: list[Any] = []
    query = text_query([clause])
    if query is not None:
        parts.append("d.body @@ %s::tsquery")
        args.append(query)
    if clause.tags:
        parts.append("d.tags && %s::text[]")
        args.append([t for t, _ in clause.tags])
    if clause.ids:
        parts.append("d.ids && %s::text[]")
        args.append(list(clause.ids))
    return ("(" + " OR ".join(parts) + ")" if parts else "FALSE"), args


def match_sql(plan: Plan) -> tuple[str, list[Any]]:
    """The WHERE condition (on ``search_docs d``) selecting exactly the plan's match set."""
    conds: list[str] = []
    args: list[Any] = []
    required = [_clause_sql(c) for c in plan.required]
    if plan.relaxed and required:
        conds.append("(" + " OR ".join(s for s, _ in required) + ")")
        args += [a for _, xs in required for a in xs]
    else:
        for s, xs in required:
            conds.append(s)
            args += xs
    for tags in plan.tag_filters:
        conds.append("d.tags && %s::text[]")
        args.append(list(tags))
    ranges, range_args = range_conditions(plan, "%s")
    conds += ranges
    args += range_args
    if plan.excluded:
        excluded = [_clause_sql(c) for c in plan.excluded]
        conds.append("NOT (" + " OR ".join(s for s, _ in excluded) + ")")
        args += [a for _, xs in excluded for a in xs]
    return (" AND ".join(conds) if conds else "TRUE"), args


def score_sql(plan: Plan) -> tuple[str, list[Any]]:
    """The relevance expression: weighted ts_rank, tag boosts, coordination if relaxed."""
    terms: list[str] = []
    args: list[Any] = []
    query = text_query(plan.required)
    if query is not None:
        terms.append(f"{RANK_SCALE!r} * ts_rank('{RANK_WEIGHTS}'::float4[], d.body, %s::tsquery)")
        args.append(query)
    boosts = [*(tag for clause in plan.required for tag in clause.tags), *plan.boost_tags]
    for t, w in boosts:
        terms.append(f"{float(w)!r} * (d.tags @> %s::text[])::int")
        args.append([t])
    if plan.relaxed:
        for clause in plan.required:
            s, xs = _clause_sql(clause)
            terms.append(f"{COORDINATION_BOOST!r} * ({s})::int")
            args += xs
    return (" + ".join(terms) if terms else "0.0"), args
