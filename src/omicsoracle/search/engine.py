"""The search pipeline shared by both engines.

parse -> plan (against the snapshot's vocabulary) -> engine executes the plan on one
snapshot (page + total + facets in as few native calls as it can) -> if nothing
matched every clause, the relaxed plan instead (any clause; the cursor remembers it)
-> snippets for the shown rows only -> response with a cursor bound to that snapshot.
Engines implement only :class:`Snapshot` and how to find the current / a pinned one.
"""

from __future__ import annotations

import dataclasses
import math
from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import orjson

from omicsoracle.search.analysis import tokens
from omicsoracle.search.base import (
    ANNOTATION_FACETS,
    FACET_NAMES,
    MAX_LIMIT,
    FacetCount,
    SearchHit,
    SearchRequest,
    SearchResponse,
    SortOrder,
)
from omicsoracle.search.cursor import CursorCodec, CursorState, load_secret
from omicsoracle.search.document import SearchDoc
from omicsoracle.search.fields import SAMPLE_BUCKETS, UNKNOWN
from omicsoracle.search.plan import Alt, Clause, Plan, Planner
from omicsoracle.search.snippets import make_snippet
from omicsoracle.search.spelling import VocabularySource
from omicsoracle.search.stopwords import STOPWORDS
from omicsoracle.understanding import understand

FACET_SIZES = {
    "organism": 20, "type": 25, "platform": 20, "year": 100, "samples": 8,
    **dict.fromkeys(ANNOTATION_FACETS, 20),
}  # fmt: skip
# The strict plan is relaxed when it matches fewer series than this (only on a first
# page: later pages follow what the cursor recorded). Not only at zero: a plain-language
# query with one or two literal matches ("T2D islets": 2) hides the datasets that say
# it differently; relaxed ranking still puts every strict match first (a bonus per
# matched concept), and the response says "relaxed".
RELAX_BELOW = 10
# More-like-this: the series' most distinctive stems become the clauses of a relaxed
# plan, so neighbours sharing more of them rank first (the same coordination ranking as
# relaxed searches). Stems in more than this share of series say nothing specific.
SIMILAR_TERMS = 12
SIMILAR_MAX_DF_SHARE = 0.15
_SAMPLE_ORDER = {label: i for i, (_, label) in enumerate(SAMPLE_BUCKETS)}


@dataclass(frozen=True)
class Row:
    """One hit as an engine returns it: display payload, score, sort key."""

    show: bytes
    score: float
    key: int | float


@dataclass(frozen=True)
class Page:
    """What executing a plan yields: the rows, the match count and raw facet counts."""

    rows: Sequence[Row]
    total: int
    facets: dict[str, dict[str, int]]


class Snapshot(Protocol):
    """A consistent, immutable view of one index generation."""

    generation: int

    def vocabulary(self) -> VocabularySource:
        """Document frequencies for the planner's spelling checks."""
        ...

    def execute(self, plan: Plan, sort: SortOrder, after: CursorState | None, limit: int) -> Page:
        """Rows after ``after`` (None: first page), total and facets over all matches."""
        ...

    def matches_fewer(self, plan: Plan, n: int) -> bool:
        """True when the plan is known to match fewer than ``n`` series without executing
        it (False: unknown, or at least ``n``). Lets a search go straight to the relaxed
        plan instead of ranking and counting a strict one it would throw away."""
        ...


def order_facets(
    raw: dict[str, dict[str, int]], size: int | None = None
) -> dict[str, tuple[FacetCount, ...]]:
    """Sort and trim raw facet counts for display (``size`` values of each list facet
    instead of FACET_SIZES, as far as the engine counted them); zero counts dropped."""
    out: dict[str, tuple[FacetCount, ...]] = {}
    for name in FACET_NAMES:
        counts = {k: v for k, v in raw.get(name, {}).items() if v > 0}
        if name == "samples":
            keys = sorted(counts, key=lambda k: _SAMPLE_ORDER.get(k, len(_SAMPLE_ORDER)))
        elif name == "year":
            keys = sorted(counts, key=lambda k: (k == UNKNOWN, -int(k) if k.isdigit() else 0))
        else:
            keys = sorted(counts, key=lambda k: (-counts[k], k))
        shown = FACET_SIZES[name] if size is None or name in ("year", "samples") else size
        out[name] = tuple(FacetCount(k, counts[k]) for k in keys[:shown])
    return out


def _hit(row: Row, plan: Plan) -> SearchHit:
    show: dict[str, Any] = orjson.loads(row.show)
    return SearchHit(
        accession=show["a"],
        title=show["t"],
        snippet=make_snippet(show["s"], show["t"], plan.highlight),
        organisms=tuple(show["o"]),
        types=tuple(show["y"]),
        platforms=tuple(show["p"]),
        n_samples=show["n"],
        release_date=show["d"],
        pubmed_ids=tuple(show["m"]),
        score=round(float(row.score), 6),
    )


class SnapshotIndex(ABC):
    """Base for engines: the SearchIndex.search pipeline over engine snapshots."""

    # A stat of a file (tantivy) is; a database probe (the SQL engines) is not.
    cheap_commit_stamp: bool = False

    name: str = ""

    def __init__(self, directory: Path):
        self.directory = directory
        self._codec = CursorCodec(self.name, load_secret(directory))

    @abstractmethod
    def current_snapshot(self) -> Snapshot:
        """The newest committed snapshot (remembered for later cursors)."""

    @abstractmethod
    def pinned_snapshot(self, generation: int) -> Snapshot:
        """The snapshot a cursor started on; CursorExpired when it is gone."""

    @abstractmethod
    def private_snapshot(self) -> AbstractContextManager[Snapshot]:
        """The newest snapshot, held for the caller alone until the block ends.

        Not in the cursor cache, so no eviction can take it away mid-scan.
        """

    @abstractmethod
    def doc_count(self) -> int:
        """See SearchIndex.doc_count."""

    @abstractmethod
    def apply(self, docs: Sequence[SearchDoc], deleted: Sequence[str], upto_change_id: int) -> None:
        """See SearchIndex.apply."""

    def search(self, request: SearchRequest) -> SearchResponse:
        """Run one search (see SearchIndex.search)."""
        state = None if request.cursor is None else self._codec.decode(request, request.cursor)
        understood = understand(request.query, literal=request.literal)
        parsed = understood.parsed
        snapshot = (
            self.pinned_snapshot(state.generation) if state is not None else self.current_snapshot()
        )
        plan = Planner(snapshot.vocabulary()).plan(request, parsed)
        if state is not None and state.relaxed and plan.can_relax():
            plan = dataclasses.replace(plan, relaxed=True)  # keep paging the relaxed set
        if plan.impossible:
            page = Page(rows=(), total=0, facets={})
        else:
            if state is None and plan.can_relax() and snapshot.matches_fewer(plan, RELAX_BELOW):
                plan = dataclasses.replace(plan, relaxed=True)
            page = snapshot.execute(plan, request.sort, state, request.limit)
            if page.total < RELAX_BELOW and state is None and plan.can_relax():
                plan = dataclasses.replace(plan, relaxed=True)
                page = snapshot.execute(plan, request.sort, None, request.limit)
        done = (state.offset if state else 0) + len(page.rows)
        next_cursor = None
        if page.rows and done < page.total:
            last = page.rows[-1]
            next_cursor = self._codec.encode(
                request, CursorState(snapshot.generation, done, last.key, plan.relaxed)
            )
        return SearchResponse(
            query=request.query,
            total=page.total,
            results=tuple(_hit(row, plan) for row in page.rows),
            facets=order_facets(page.facets, request.facet_size),
            next_cursor=next_cursor,
            did_you_mean=plan.did_you_mean,
            interpreted=plan.interpreted,
            relaxed=plan.relaxed,
            understood=understood.to_dict(),
        )

    def scan(self, request: SearchRequest, page_size: int = MAX_LIMIT) -> Iterator[list[SearchHit]]:
        """Every match of ``request``, page by page, on one private snapshot.

        For exports: a cursor walk would go through the snapshot cache, whose oldest
        generations are evicted while new data lands, and an export cut short after its
        first pages were sent cannot be told apart from a complete one.
        """
        parsed = understand(request.query, literal=request.literal).parsed
        with self.private_snapshot() as snapshot:
            plan = Planner(snapshot.vocabulary()).plan(request, parsed)
            if plan.impossible:
                return
            page = snapshot.execute(plan, request.sort, None, page_size)
            if page.total < RELAX_BELOW and plan.can_relax():
                plan = dataclasses.replace(plan, relaxed=True)
                page = snapshot.execute(plan, request.sort, None, page_size)
            done = 0
            while page.rows:
                yield [_hit(row, plan) for row in page.rows]
                done += len(page.rows)
                if done >= page.total:
                    return
                after = CursorState(snapshot.generation, done, page.rows[-1].key, plan.relaxed)
                page = snapshot.execute(plan, request.sort, after, page_size)

    def similar(self, title: str, text: str, exclude: str, limit: int) -> list[SearchHit]:
        """Series most like one described by ``title`` and ``text`` (``exclude`` left out).

        Title words count double: they name what a study is about, the summary also
        describes methods every study shares.
        """
        snapshot = self.current_snapshot()
        vocabulary = snapshot.vocabulary()
        n_docs = max(self.doc_count(), 1)
        counts: dict[str, float] = {}
        for weight, field_text in ((2.0, title), (1.0, text)):
            for token in tokens(field_text):
                if len(token) > 1 and not token.isdigit() and token not in STOPWORDS:
                    counts[token] = counts.get(token, 0.0) + weight
        scored = []
        for token, tf in counts.items():
            df = vocabulary.stem_doc_freq(token)
            # df 1 is the series itself: a word no neighbour shares cannot find one.
            if 2 <= df <= max(2, n_docs * SIMILAR_MAX_DF_SHARE):
                scored.append((tf * math.log(n_docs / df), token))
        top = sorted(scored, reverse=True)[:SIMILAR_TERMS]
        if not top:
            return []
        # One clause of alternatives: a neighbour needs any of the terms, and BM25 sums
        # what it shares (rarer terms weigh more), each term weighted by how much the
        # source uses it. Not the relaxed plan's per-clause coordination: sharing the
        # topic word should outweigh sharing three generic ones.
        alts = tuple(Alt((t,), weight=1.0 + math.log(counts[t])) for _, t in top)
        plan = Plan(
            required=(Clause(label="similar", alts=alts),),
            highlight=frozenset(t for _, t in top),
        )
        page = snapshot.execute(plan, "relevance", None, limit + 1)
        hits = [_hit(row, plan) for row in page.rows]
        return [hit for hit in hits if hit.accession != exclude][:limit]
