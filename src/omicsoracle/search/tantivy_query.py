"""Compiling a match plan into one tantivy Query (scored, or unscored for counting).

Split from ``tantivy_index`` (storage, snapshots, execution) so each stays readable.
Every plan element maps one to one onto a Boolean sub-query; the SQL engine compiles
the same elements into an FTS5 MATCH string, which is what keeps match sets equal.
"""

from __future__ import annotations

from collections.abc import Sequence

import tantivy

from omicsoracle.search.fields import ALL_TAG
from omicsoracle.search.plan import COORDINATION_BOOST, Alt, Clause, Plan

# Field weights, tuned with bench/relevance.py on the dev topics and their realistic
# phrasings (grid and numbers in that module's docstring: a flat optimum for any
# title >= summary > design; 4:1 title-heavy and equal weights both scored lower).
# Title matches are the strongest evidence a series is *about* the topic; summaries
# mention topics in passing; design/extra text mostly describe samples.
FIELD_WEIGHTS = {"title": 2.0, "summary": 1.0, "design": 0.5, "extra": 0.3}
EXACT_ID_BOOST = 1000.0  # an accession typed as the query ranks its own series first
ID_MATCH_SCORE = 1.0


class QueryCompiler:
    """Builds tantivy queries for one schema."""

    def __init__(self, schema: tantivy.Schema):
        self.schema = schema

    def _text(self, alt: Alt, weight: float, scored: bool) -> tantivy.Query:
        if not scored:
            if len(alt.stems) == 1:
                return tantivy.Query.term_query(self.schema, "body", alt.stems[0])
            return tantivy.Query.phrase_query(self.schema, "body", list(alt.stems))
        subs = []
        for field, boost in FIELD_WEIGHTS.items():
            if len(alt.stems) == 1:
                q = tantivy.Query.term_query(self.schema, field, alt.stems[0])
            else:
                q = tantivy.Query.phrase_query(self.schema, field, list(alt.stems))
            subs.append((tantivy.Occur.Should, tantivy.Query.boost_query(q, boost * weight)))
        return tantivy.Query.boolean_query(subs)

    def _const(self, field: str, value: str, score: float) -> tantivy.Query:
        return tantivy.Query.const_score_query(
            tantivy.Query.term_query(self.schema, field, value), score
        )

    def _clause(self, clause: Clause, scored: bool) -> tantivy.Query:
        subs = [(tantivy.Occur.Should, self._text(a, a.weight, scored)) for a in clause.alts]
        subs += [(tantivy.Occur.Should, self._const("tags", t, w)) for t, w in clause.tags]
        subs += [(tantivy.Occur.Should, self._const("ids", i, ID_MATCH_SCORE)) for i in clause.ids]
        return tantivy.Query.boolean_query(subs)

    def _any_clause(self, clauses: Sequence[Clause], scored: bool) -> tantivy.Query:
        """At least one clause (a Should-only query); scored: + COORDINATION_BOOST each.

        The boost is a constant-score copy of each clause (its unscored body form, same
        match set), as sql_fts adds it per matched clause.
        """
        should = tantivy.Occur.Should
        subs = [(should, self._clause(c, scored)) for c in clauses]
        if scored:
            subs += [
                (
                    should,
                    tantivy.Query.const_score_query(self._clause(c, False), COORDINATION_BOOST),
                )
                for c in clauses
            ]
        return tantivy.Query.boolean_query(subs)

    def _tag_filter(self, values: Sequence[str]) -> tantivy.Query:
        # One value as a term query: a term set (an automaton over the dictionary, then a
        # bitset) took twice as long for the one tag "microarray" compiles to.
        if len(values) == 1:
            q = tantivy.Query.term_query(self.schema, "tags", values[0])
        else:
            q = tantivy.Query.term_set_query(self.schema, "tags", list(values))
        return tantivy.Query.const_score_query(q, 0.0)

    def _range(self, field: str, lo: int | None, hi: int | None) -> tantivy.Query:
        q = tantivy.Query.range_query(self.schema, field, tantivy.FieldType.Integer, lo, hi)
        return tantivy.Query.const_score_query(q, 0.0)

    def compile(self, plan: Plan, scored: bool = True) -> tantivy.Query:
        """The plan as one tantivy Query (filters score 0, so they never reorder).

        ``scored=False`` gives the same match set over the single body field, for
        counting and facets where scores are not needed.
        """
        must, should, must_not = tantivy.Occur.Must, tantivy.Occur.Should, tantivy.Occur.MustNot
        if plan.relaxed and plan.required:
            subs = [(must, self._any_clause(plan.required, scored))]
        else:
            subs = [(must, self._clause(c, scored)) for c in plan.required]
        for values in plan.tag_filters:
            subs.append((must, self._tag_filter(values)))
        subs += [(must, self._range("n_samples", lo, hi)) for lo, hi in plan.sample_ranges]
        subs += [(must, self._range("year", lo, hi)) for lo, hi in plan.year_ranges]
        if not subs:
            # Nothing positive: every series (the meta document has no tags). Only then:
            # intersected with a filter it would walk all 250k postings for nothing.
            subs.append((must, self._const("tags", ALL_TAG, 0.0)))
        # An excluded clause never scores: its body form (one posting list, one phrase)
        # matches the same series as the four scored fields. Scored, a "-\"cell line\""
        # cost 24 ms at GEO's size: four phrase scorers sought for every candidate.
        subs += [(must_not, self._clause(c, False)) for c in plan.excluded]
        if scored:
            subs += [(should, self._const("tags", t, w)) for t, w in plan.boost_tags]
            subs += [
                (should, self._const("acc", i.upper(), EXACT_ID_BOOST)) for i in plan.exact_ids
            ]
        return tantivy.Query.boolean_query(subs)
