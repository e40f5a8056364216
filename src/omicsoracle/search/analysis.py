"""The one text analyzer shared by both engines, query terms and snippet highlighting.

Both engines index the *output* of this module (tantivy with a whitespace tokenizer,
FTS5 with its ``ascii`` tokenizer), so they see exactly the same token stream and
their match sets agree. A token is a Snowball English stem of a word where

* a word is a maximal run of Unicode letters/digits (hyphens, slashes, apostrophes
  split words: ``triple-negative`` == ``triple negative``);
* a possessive ``'s``/``’s`` is dropped (``Parkinson's`` == ``Parkinsons`` == ``parkinson``);
* accents are folded (NFKD, combining marks removed), text is case-folded, and
  Greek letters are spelled out (``TNF-α`` == ``TNF-alpha``).

Tokens only contain characters for which ``str.isalnum()`` holds, never ASCII
punctuation or whitespace; that invariant is what keeps FTS5's ``ascii`` tokenizer
from splitting them differently than tantivy's whitespace tokenizer.
"""

from __future__ import annotations

import re
import threading
import unicodedata
from functools import lru_cache

import Stemmer

# Query stop words live in their own module; re-exported for existing imports.
from omicsoracle.search.stopwords import STOPWORDS as STOPWORDS

MAX_TOKEN_CHARS = 64  # longer "words" are sequences/hashes: useless and bloat the index

_GREEK = {
    "α": "alpha", "β": "beta", "γ": "gamma", "δ": "delta", "ε": "epsilon", "ζ": "zeta",
    "η": "eta", "θ": "theta", "ι": "iota", "κ": "kappa", "λ": "lambda", "μ": "mu",
    "ν": "nu", "ξ": "xi", "ο": "omicron", "π": "pi", "ρ": "rho", "σ": "sigma", "ς": "sigma",
    "τ": "tau", "υ": "upsilon", "φ": "phi", "χ": "chi", "ψ": "psi", "ω": "omega",
}  # fmt: skip
_GREEK_TABLE = str.maketrans(_GREEK)
_APOSTROPHES = "'’"

# Unicode path: words with their offsets (combining marks kept inside a word so a
# decomposed "é" does not split it).
_WORD_RE = re.compile(r"(?:[^\W_]|[\u0300-\u036f])+")
# ASCII fast path (most GEO text): same result as the Unicode path on ASCII input.
_ASCII_WORD_RE = re.compile(r"[a-z0-9]+")
_ASCII_POSSESSIVE_RE = re.compile(r"(?<=[a-z0-9])'s(?![a-z0-9])")

# Stemmer objects are not thread-safe; one per thread (the server searches in threads).
_local = threading.local()


def _stemmer() -> Stemmer.Stemmer:
    stemmer: Stemmer.Stemmer | None = getattr(_local, "stemmer", None)
    if stemmer is None:
        stemmer = Stemmer.Stemmer("english", 100_000)
        _local.stemmer = stemmer
    return stemmer


def normalize_word(word: str) -> str:
    """Fold one raw word (no separators inside) to the unstemmed surface form."""
    if word.isascii():
        return word.lower()
    # NFKD before and after case folding: compatibility characters such as "ℍ" only
    # reveal a foldable letter once decomposed, and folding can expose new ligatures.
    folded = unicodedata.normalize("NFKD", unicodedata.normalize("NFKD", word).casefold())
    return "".join(ch for ch in folded.translate(_GREEK_TABLE) if ch.isalnum())


def _is_possessive_s(text: str, start: int) -> bool:
    """True for the ``s`` of ``word's``: skipped so possessives fold into the word."""
    return start >= 2 and text[start - 1] in _APOSTROPHES and text[start - 2].isalnum()


def words(text: str) -> list[str]:
    """Surface words (folded, unstemmed) of ``text`` in order."""
    if text.isascii():
        lowered = _ASCII_POSSESSIVE_RE.sub("", text.lower())
        return [w for w in _ASCII_WORD_RE.findall(lowered) if len(w) <= MAX_TOKEN_CHARS]
    return [word for word, _, _ in word_spans(text)]


def word_spans(text: str) -> list[tuple[str, int, int]]:
    """``(surface word, start, end)`` with offsets into ``text``; same words as ``words``."""
    out = []
    for match in _WORD_RE.finditer(text):
        raw = match.group()
        if raw in ("s", "S") and _is_possessive_s(text, match.start()):
            continue
        word = normalize_word(raw)
        if word and len(word) <= MAX_TOKEN_CHARS:
            out.append((word, match.start(), match.end()))
    return out


def stem_words(surface: list[str]) -> list[str]:
    """Snowball English stems of already-normalized words."""
    return list(_stemmer().stemWords(surface)) if surface else []


@lru_cache(maxsize=65536)
def stem(word: str) -> str:
    """Stem of one normalized word (cached: query words repeat)."""
    return str(_stemmer().stemWord(word))


def tokens(text: str) -> list[str]:
    """The indexed token stream of ``text``: stems of its words."""
    return stem_words(words(text))


def analyzed_text(text: str) -> str:
    """``tokens(text)`` joined by single spaces: what both engines index."""
    return " ".join(stem_words(words(text)))


def query_tokens(text: str) -> list[str]:
    """Tokens of a bit of query text, same analysis as the indexed text."""
    return tokens(text)
