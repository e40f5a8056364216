"""Search-box completions: terms, organisms, series titles and accessions, in-process.

``GET /api/v1/suggest`` answers on every keystroke, so a lookup is a few bisections
over sorted arrays built once from the corpus, never a scan of the titles:

* every folded title word, sorted, with the ids of the titles holding it (title ids
  are ranks: 0 is the heaviest series, so each posting list is best-first);
* for a prefix that spans many words (a one- or two-letter prefix), its best title
  ids are precomputed, so "c" costs what "cancer" costs;
* a second such index over vocabulary terms and organism names, ranked by how many
  series they describe;
* the series accession numbers, sorted, for "GSE12..." prefixes.

Text is folded with the engines' analyzer (:func:`omicsoracle.search.analysis.words`):
case, accents, possessives, hyphens and Greek letters fold exactly as in search, so a
completion always finds what it suggests. A ``Suggester`` is immutable once built and
safe to share between threads; rebuild it when the corpus changes.
"""

from __future__ import annotations

import heapq
import re
from array import array
from bisect import bisect_left
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from itertools import islice
from typing import Any

import msgpack  # type: ignore[import-untyped]  # msgpack ships no type information

from omicsoracle.memory import release_free_memory
from omicsoracle.search.analysis import words
from omicsoracle.search.prefix_index import WIDE as WIDE
from omicsoracle.search.prefix_index import PrefixIndex
from omicsoracle.search.vocabulary import Term, collect_terms
from omicsoracle.store import Store

MAX_LIMIT = 20
# Best title ids kept per wide prefix: twice the largest page leaves room for the
# candidates a multi-word filter or de-duplication drops.
TOP_K = 2 * MAX_LIMIT
# Multi-word input with sparse matches intersects posting lists as sets, in C at ~25 ns
# a posting, or checks candidates against each title's own words, in Python at ~0.3 us
# a check. A word is intersected when that is cheaper (fewer than CHECK_COST times the
# candidates left), within a budget of INTERSECT_BUDGET postings per keystroke ...
CHECK_COST = 12
INTERSECT_BUDGET = 20_000
# ... and when even the rarest typed word has more postings than this, all titles are
# walked best-first instead (only very short, common prefixes: matches are dense).
DRIVER_MAX = 10_000
# At most this many candidates are checked. Past a budget or this cap a keystroke
# may list fewer titles than exist (never wrong ones, never out of order): the price
# of bounding every keystroke to about a millisecond.
SCAN_CAP = 1000
_SERIES_RE = re.compile(r"^GSE([1-9][0-9]{0,8})$")
_ACCESSION_PREFIX_RE = re.compile(r"^GSE([0-9]{1,9})$", re.IGNORECASE)
_MAX_DIGITS = 9


@dataclass(frozen=True)
class Suggestion:
    """One completion.

    ``kind`` is ``"term"`` (assay or disease/cell-type vocabulary), ``"organism"``,
    ``"title"`` (a series title; ``accession`` names the series) or ``"accession"``.
    ``detail`` says what an abbreviation or common name stands for ("NSCLC":
    "non-small cell lung cancer", "mouse": "Mus musculus") or, for an accession,
    the series title.
    """

    text: str
    kind: str  # "term" | "organism" | "title" | "accession"
    accession: str | None = None
    detail: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON shape: every key present, ``null`` when unknown."""
        return {
            "text": self.text,
            "kind": self.kind,
            "accession": self.accession,
            "detail": self.detail,
        }


class Suggester:
    """Completions for search-box text; build with :meth:`build` or :func:`from_store`."""

    def __init__(
        self,
        *,
        title_text: bytes,
        title_starts: array[int],
        title_accessions: array[int],
        words_index: PrefixIndex,
        title_words: array[int],
        title_word_starts: array[int],
        terms: list[Term],
        terms_index: PrefixIndex,
        accessions: array[int],
        accession_titles: array[int],
    ) -> None:
        self._title_text = title_text  # UTF-8 titles back to back: no per-title objects
        self._title_starts = title_starts
        self._title_accessions = title_accessions  # GSE number of each title id
        self._words = words_index
        self._title_words = title_words
        self._title_word_starts = title_word_starts
        self._n_titles = len(title_starts) - 1
        self._terms = terms
        self._terms_index = terms_index
        self._accessions = accessions  # sorted GSE numbers
        self._accession_titles = accession_titles  # title id of each, -1 for none

    @classmethod
    def build(
        cls, titles: Iterable[tuple[str, str, int | None]], organisms: Mapping[str, int]
    ) -> Suggester:
        """Build from ``(accession, title, n_samples)`` rows and organism series counts.

        Parameters
        ----------
        titles
            One row per series; ``n_samples`` ranks titles (heaviest first, then the
            lower accession number). Rows whose accession is not a GSE accession are
            skipped; an empty title still makes the accession suggestible.
        organisms
            Scientific name -> number of series, as seen in the corpus.
        """
        rows = []
        for accession, title, n_samples in titles:
            m = _SERIES_RE.match(accession.strip().upper())
            if m:
                rows.append((-(n_samples or 0), int(m.group(1)), title or ""))
        rows.sort()
        blob = bytearray()  # titles back to back: no per-title objects kept
        starts = array("I", [0])
        numbers = array("I")  # GSE number of each title id
        acc_numbers = array("I")
        acc_titles = array("i")

        def new_titles() -> Iterator[list[str]]:
            # Streams each distinct title's words into the index build, so the words
            # of all titles never sit in memory at once (5M str objects at 400k).
            # Series sharing a title (SuperSeries and their parts, "Expression data
            # from ...") become one suggestion: the heaviest series speaks for them.
            title_of: dict[str, int] = {}
            for _, number, title in rows:
                folded = words(title)
                key = " ".join(folded)
                title_id = title_of.setdefault(key, len(numbers)) if key else -1
                if title_id == len(numbers):
                    blob.extend(" ".join(title.split()).encode("utf-8"))
                    starts.append(len(blob))
                    numbers.append(number)
                    yield folded
                acc_numbers.append(number)
                acc_titles.append(title_id)

        words_index, title_words, title_word_starts = PrefixIndex.build(new_titles(), TOP_K)
        rows.clear()
        order = sorted(range(len(acc_numbers)), key=acc_numbers.__getitem__)
        terms = collect_terms(organisms, words_index)
        terms_index, _, _ = PrefixIndex.build(([term.key] for term in terms), TOP_K)
        return cls(
            title_text=bytes(blob),
            title_starts=starts,
            title_accessions=numbers,
            words_index=words_index,
            title_words=title_words,
            title_word_starts=title_word_starts,
            terms=terms,
            terms_index=terms_index,
            accessions=array("I", map(acc_numbers.__getitem__, order)),
            accession_titles=array("i", map(acc_titles.__getitem__, order)),
        )

    # -- wire form: a server process builds in a child process and loads the result --

    def to_bytes(self) -> bytes:
        """msgpack of the built arrays (never pickle: the bytes cross a process boundary)."""
        return bytes(
            msgpack.packb(
                {
                    "v": WIRE_VERSION,
                    "title_text": self._title_text,
                    "title_starts": _pack_array(self._title_starts),
                    "title_accessions": _pack_array(self._title_accessions),
                    "words": _pack_index(self._words),
                    "title_words": _pack_array(self._title_words),
                    "title_word_starts": _pack_array(self._title_word_starts),
                    "terms": [list(term) for term in self._terms],
                    "terms_index": _pack_index(self._terms_index),
                    "accessions": _pack_array(self._accessions),
                    "accession_titles": _pack_array(self._accession_titles),
                },
                use_bin_type=True,
            )
        )

    @classmethod
    def from_bytes(cls, data: bytes) -> Suggester:
        """The suggester ``to_bytes`` wrote; ValueError for anything else."""
        try:
            d = msgpack.unpackb(data, raw=False, strict_map_key=True)
            if not isinstance(d, dict) or d.get("v") != WIRE_VERSION:
                raise ValueError("not a suggester of this version")
            return cls(
                title_text=bytes(d["title_text"]),
                title_starts=_unpack_array(d["title_starts"]),
                title_accessions=_unpack_array(d["title_accessions"]),
                words_index=_unpack_index(d["words"]),
                title_words=_unpack_array(d["title_words"]),
                title_word_starts=_unpack_array(d["title_word_starts"]),
                terms=[Term(*fields) for fields in d["terms"]],
                terms_index=_unpack_index(d["terms_index"]),
                accessions=_unpack_array(d["accessions"]),
                accession_titles=_unpack_array(d["accession_titles"]),
            )
        except (ValueError, KeyError, TypeError, msgpack.UnpackException) as exc:
            raise ValueError(f"not a suggester: {exc}") from exc

    def stats(self) -> dict[str, int]:
        """Sizes, for logs and benchmarks."""
        return {
            "titles": self._n_titles,
            "accessions": len(self._accessions),
            "words": len(self._words.keys),
            "postings": len(self._words.postings),
            "terms": len(self._terms),
        }

    def suggest(self, text: str, limit: int = 8) -> list[Suggestion]:
        """Completions for ``text``, best first, at most ``limit`` (1 to 20).

        Exact term/organism/abbreviation matches come first, then other terms and
        organisms by popularity (at most half the remaining room when titles match
        too, so a common prefix still shows series), then titles by sample count.
        The last typed word is a prefix; earlier words must start words of the title.
        "GSE123" completes accessions, in numeric order.

        Titles are always real matches in rank order; only when every typed word is
        common and the matches are sparse can the work bounds (``SCAN_CAP``,
        ``INTERSECT_BUDGET``) cut the list short.
        """
        if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_LIMIT:
            raise ValueError(f"limit must be an integer between 1 and {MAX_LIMIT}")
        raw = " ".join(text.split())
        if not raw:
            return []
        if m := _ACCESSION_PREFIX_RE.match(raw):
            return self._accession_suggestions(m.group(1), limit)
        typed = words(raw)
        if not typed:
            return []
        exact, others = self._term_matches(" ".join(typed), raw, limit)
        titles = [
            Suggestion(self._title(i), "title", f"GSE{self._title_accessions[i]}")
            for i in self._title_ids(typed, limit)
        ]
        return _blend(exact, others, titles, limit)

    # -- lookups ------------------------------------------------------------------------

    def _title(self, title_id: int) -> str:
        start, end = self._title_starts[title_id], self._title_starts[title_id + 1]
        return self._title_text[start:end].decode("utf-8")

    def _term_matches(
        self, key: str, raw: str, limit: int
    ) -> tuple[list[Suggestion], list[Suggestion]]:
        def allowed(term: Term) -> bool:
            return not term.case_sensitive or term.text.startswith(raw)

        exact_ids = self._terms_index.exact(key) or ()
        exact = [t for t in (self._terms[i] for i in exact_ids) if allowed(t)]
        others: list[Term] = []
        for i in self._terms_index.best(key):
            term = self._terms[i]
            if term.key != key and allowed(term):
                others.append(term)
                if len(others) >= limit:
                    break
        return [_suggestion(t) for t in exact], [_suggestion(t) for t in others]

    def _title_ids(self, typed: list[str], limit: int) -> list[int]:
        index = self._words
        by_span = {index.span(word): word for word in typed}
        if len(by_span) == 1:
            return list(islice(index.best(typed[-1]), limit))
        spans = sorted(by_span, key=lambda s: index.postings_in(*s))
        if spans[0][0] == spans[0][1]:
            return []
        # 1. The rarest word's best titles, checked for the others: when the other
        # words are common (most keystrokes) this settles it, exactly, since every
        # match is one of the rarest word's titles.
        head = list(islice(index.best(by_span[spans[0]]), TOP_K))
        out = self._having(head, spans[1:], limit)
        if len(out) >= limit or len(head) < TOP_K:
            return out
        # 2. Sparse matches: intersect the rarer words as sets while that is cheaper
        # than checking, then check the rest on the survivors, best first.
        candidates: Iterable[int]
        rarest = index.postings_in(*spans[0])
        if rarest > DRIVER_MAX:
            return self._having(range(self._n_titles), spans, limit)
        found = set(index.postings_of(*spans[0]))
        spent = rarest
        checks: list[tuple[int, int]] = []
        for lo, hi in spans[1:]:
            size = index.postings_in(lo, hi)
            if not checks and size < CHECK_COST * len(found) and spent + size <= INTERSECT_BUDGET:
                found.intersection_update(index.postings_of(lo, hi))
                spent += size
            else:
                checks.append((lo, hi))
        candidates = sorted(found) if checks else heapq.nsmallest(limit, found)
        return self._having(candidates, checks, limit)

    def _having(
        self, candidates: Iterable[int], checks: list[tuple[int, int]], limit: int
    ) -> list[int]:
        """The first ``limit`` candidates holding a word in each [lo, hi) range.

        A title's word numbers are sorted, so each check is one bisection over its
        slice of the forward array (inlined: this is the hot loop).
        """
        numbers, starts = self._title_words, self._title_word_starts
        out: list[int] = []
        last = -1
        for title_id in islice(candidates, SCAN_CAP):
            if title_id == last:  # sorted postings of several words repeat a title
                continue
            last = title_id
            start, end = starts[title_id], starts[title_id + 1]
            for lo, hi in checks:
                i = bisect_left(numbers, lo, start, end)
                if i == end or numbers[i] >= hi:
                    break
            else:
                out.append(title_id)
                if len(out) >= limit:
                    break
        return out

    def _accession_suggestions(self, digits: str, limit: int) -> list[Suggestion]:
        if digits.startswith("0"):
            return []
        # Numeric order: GSE20, then GSE200..GSE209, then GSE2000..GSE2099, ...
        prefix = int(digits)
        found: list[Suggestion] = []
        for width in range(len(digits), _MAX_DIGITS + 1):
            scale = 10 ** (width - len(digits))
            lo = bisect_left(self._accessions, prefix * scale)
            hi = bisect_left(self._accessions, (prefix + 1) * scale, lo)
            for i in range(lo, min(hi, lo + limit - len(found))):
                title_id = self._accession_titles[i]
                accession = f"GSE{self._accessions[i]}"
                detail = self._title(title_id) if title_id >= 0 else None
                found.append(Suggestion(accession, "accession", accession, detail))
            if len(found) >= limit:
                break
        return found


def _suggestion(term: Term) -> Suggestion:
    return Suggestion(term.text, term.kind, None, term.detail)


def _blend(
    exact: list[Suggestion], others: list[Suggestion], titles: list[Suggestion], limit: int
) -> list[Suggestion]:
    out: list[Suggestion] = []
    seen: set[str] = set()

    def add(items: Sequence[Suggestion], cap: int) -> None:
        for item in items:
            if len(out) >= cap:
                return
            key = item.text.casefold()
            if key not in seen:
                seen.add(key)
                out.append(item)

    add(exact, limit)
    room = limit - len(out)
    add(others, len(out) + max(room - len(titles), -(-room // 2)))
    add(titles, limit)
    return out


WIRE_VERSION = 1


def _pack_array(values: array[int]) -> list[Any]:
    return [values.typecode, values.tobytes()]


def _unpack_array(packed: list[Any]) -> array[int]:
    typecode, raw = packed
    if typecode not in ("i", "I"):
        raise ValueError(f"unexpected array type {typecode!r}")
    values = array(typecode)
    values.frombytes(raw)
    return values


def _pack_index(index: PrefixIndex) -> dict[str, Any]:
    return {
        "keys": index.keys,
        "offsets": _pack_array(index.offsets),
        "postings": _pack_array(index.postings),
        "top_k": index.top_k,
    }


def _unpack_index(d: dict[str, Any]) -> PrefixIndex:
    return PrefixIndex(
        list(d["keys"]), _unpack_array(d["offsets"]), _unpack_array(d["postings"]), d["top_k"]
    )


def from_store(store: Store, *, batch: int = 2000) -> Suggester:
    """Build from every series of ``store`` (titles, sample counts, organisms).

    Reads through ``iter_series_accessions`` and ``search_docs``, a batch at a time;
    the rows are collected before building because ranking needs them all. About
    2 s of reading plus 1.5 s of building for the 42k demo series; run it off the
    event loop.
    """
    organisms: Counter[str] = Counter()
    rows: list[tuple[str, str, int | None]] = []
    # One str per distinct title: corpora repeat titles (series of one study, a
    # replicated corpus), and every copy would stay allocated until the build ends.
    titles: dict[str, str] = {}
    for accessions in store.iter_series_accessions(batch):
        for doc in store.search_docs(accessions):
            organisms.update(set(doc.organisms))
            title = titles.setdefault(doc.title, doc.title)
            rows.append((doc.accession, title, doc.n_samples))
    del titles
    try:
        return Suggester.build(rows, organisms)
    finally:
        # The rows are garbage now: hand their pages back to the OS, or a server
        # process keeps the build's peak for good (~130 MB at 10x the demo corpus).
        del rows
        release_free_memory()
