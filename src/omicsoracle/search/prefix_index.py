"""A prefix index: sorted keys, each with the best-first ids of the items holding it.

The suggester (:mod:`omicsoracle.search.suggest`) keeps one over folded title words
and one over vocabulary terms; a lookup is a few bisections over sorted arrays. For a
prefix that spans many keys (a one- or two-letter prefix), its best ids are
precomputed, so "c" costs what "cancer" costs.
"""

from __future__ import annotations

import heapq
from array import array
from bisect import bisect_left
from collections import Counter
from collections.abc import Iterable, Iterator
from itertools import chain

# A prefix spanning more index keys than this reads its precomputed best ids instead of
# merging the posting lists of all its words.
WIDE = 32
_AFTER_ALL = "\U0010ffff"  # sorts after every folded key: the end of a prefix range


class PrefixIndex:
    """Sorted keys, each with the ascending (= best-first) ids of the items holding it."""

    __slots__ = ("keys", "offsets", "postings", "top_k", "tops")

    def __init__(
        self, keys: list[str], offsets: array[int], postings: array[int], top_k: int
    ) -> None:
        self.keys = keys
        self.offsets = offsets  # postings of keys[i]: postings[offsets[i]:offsets[i + 1]]
        self.postings = postings
        self.top_k = top_k  # best ids kept per wide prefix
        self.tops: dict[str, array[int]] = {}
        if keys:
            self._visit(0, len(keys), 0)

    @classmethod
    def build(
        cls, keysets: Iterable[Iterable[str]], top_k: int
    ) -> tuple[PrefixIndex, array[int], array[int]]:
        """Index items (ids 0, 1, ... in iteration order) by their keys.

        ``top_k`` best ids are precomputed for every prefix spanning more than WIDE keys.

        Also returns the forward index: the sorted-key numbers of item ``i`` are
        ``forward[starts[i]:starts[i + 1]]``, sorted. Everything lives in 4-byte
        arrays, never one Python object per posting (5.7M postings at 400k titles).
        """
        first_seen: dict[str, int] = {}
        forward = array("I")
        starts = array("I", [0])
        for keys in keysets:
            for key in dict.fromkeys(keys):
                forward.append(first_seen.setdefault(key, len(first_seen)))
            starts.append(len(forward))
        ordered = sorted(first_seen)
        rank = array("I", bytes(4 * len(ordered)))
        for position, key in enumerate(ordered):
            rank[first_seen[key]] = position
        del first_seen
        forward = array("I", map(rank.__getitem__, forward))
        counts = Counter(forward)
        offsets = array("I", [0])
        for number in range(len(ordered)):
            offsets.append(offsets[-1] + counts[number])
        for item in range(len(starts) - 1):  # sorted per item: membership by bisect
            start, end = starts[item], starts[item + 1]
            forward[start:end] = array("I", sorted(forward[start:end]))
        postings = array("I", bytes(4 * len(forward)))
        fill = list(offsets[:-1])
        # Items in ascending id order, so every posting list comes out sorted.
        for item in range(len(starts) - 1):
            for number in forward[starts[item] : starts[item + 1]]:
                postings[fill[number]] = item
                fill[number] += 1
        return cls(ordered, offsets, postings, top_k), forward, starts

    def _visit(self, lo: int, hi: int, depth: int) -> list[int]:
        """Best ``top_k`` ids of keys[lo:hi] (all sharing ``depth`` leading characters).

        Records them for every wide prefix on the way down, bottom-up, so each
        posting list is read once and only up to ``top_k`` entries.
        """
        keys, top_k = self.keys, self.top_k
        if hi - lo <= WIDE:
            heads = (self._slice(i, top_k) for i in range(lo, hi))
            return sorted(set(chain.from_iterable(heads)))[:top_k]
        children: list[int] = []
        i = lo
        while i < hi:
            key = keys[i]
            if len(key) <= depth:  # the prefix itself is a key
                j = i + 1
            else:
                j = bisect_left(keys, key[:depth] + chr(ord(key[depth]) + 1), i, hi)
            children.extend(self._visit(i, j, depth + 1))
            i = j
        best = sorted(set(children))[:top_k]
        self.tops[keys[lo][:depth]] = array("I", best)
        return best

    def _slice(self, i: int, limit: int | None = None) -> memoryview:
        start, end = self.offsets[i], self.offsets[i + 1]
        if limit is not None:
            end = min(end, start + limit)
        return memoryview(self.postings)[start:end]

    def span(self, prefix: str) -> tuple[int, int]:
        """Range of keys starting with ``prefix``."""
        lo = bisect_left(self.keys, prefix)
        return lo, bisect_left(self.keys, prefix + _AFTER_ALL, lo)

    def exact(self, key: str) -> memoryview | None:
        """Ids holding exactly ``key``, best first; None when no item has it."""
        i = bisect_left(self.keys, key)
        return self._slice(i) if i < len(self.keys) and self.keys[i] == key else None

    def postings_in(self, lo: int, hi: int) -> int:
        """Postings of keys[lo:hi] (an item holding two of them counts twice)."""
        return self.offsets[hi] - self.offsets[lo]

    def postings_of(self, lo: int, hi: int) -> memoryview:
        """Ids holding any of keys[lo:hi], unordered, with repeats.

        The posting lists of consecutive keys are consecutive: one slice, no copy.
        """
        return memoryview(self.postings)[self.offsets[lo] : self.offsets[hi]]

    def merged(self, lo: int, hi: int) -> Iterator[int]:
        """Distinct ids of keys[lo:hi], best first, lazily (for narrow ranges)."""
        last = -1
        for item in heapq.merge(*(self._slice(i) for i in range(lo, hi))):
            if item != last:
                yield item
                last = item

    def best(self, prefix: str) -> Iterator[int]:
        """Distinct ids of keys starting with ``prefix``, best first.

        For a wide prefix only the precomputed ``top_k`` best come back.
        """
        lo, hi = self.span(prefix)
        tops = self.tops.get(prefix) if hi - lo > WIDE else None
        return iter(tops) if tops is not None else self.merged(lo, hi)
