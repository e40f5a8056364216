"""Query words that are not required terms: English function words and search filler.

They stay indexed (quoted phrases and multi-word names such as "head and neck
squamous cell carcinoma" need them) but a bag-of-words query does not require them:
AND-ing "in" or "samples" only excludes series that happen not to say it. The planner
keeps them when the query text has nothing else (a query of only "the" still means
something), and the lexicon is matched before they are dropped.

Kept small and checked against the lexicon on purpose: a word here can never be a
required term of a plain query. Words that double as biomedical abbreviations in
capitals ("ALL", "NO", "IT") are either matched by the case-sensitive lexicon first
("ALL") or deliberately left out ("no": nitric oxide; "down": Down syndrome).
"""

from __future__ import annotations

FUNCTION_WORDS = frozenset((
    "a", "about", "across", "after", "all", "also", "among", "an", "and", "any", "are",
    "as", "at", "be", "been", "before", "being", "between", "both", "but", "by", "can",
    "could", "do", "does", "during", "each", "for", "from", "had", "has", "have", "how",
    "i", "if", "in", "into", "is", "it", "its", "me", "more", "most", "my", "not", "of",
    "on", "or", "other", "our", "over", "per", "since", "some", "such", "than", "that",
    "the", "their", "them", "then", "there", "these", "they", "this", "those", "through",
    "to", "under", "until", "using", "via", "versus", "vs", "was", "we", "were", "what",
    "when", "where", "which", "while", "who", "whose", "why", "will", "with", "within",
    "without", "would", "you", "your",
))  # fmt: skip

# Words people wrap around the topic of a dataset search ("datasets of ...", "studies
# on ...", "effect of X on Y", "show me ..."). Every GEO series is a dataset/study with
# samples, so requiring these words only loses series that do not use them.
FILLER_WORDS = frozenset((
    "available", "data", "dataset", "datasets", "effect", "effects", "experiment",
    "experiments", "find", "geo", "impact", "looking", "public", "published", "role",
    "sample", "samples", "show", "studies", "study",
))  # fmt: skip

STOPWORDS = FUNCTION_WORDS | FILLER_WORDS


def is_stopword_text(text: str) -> bool:
    """True when ``text`` (one typed term, any case, edge punctuation allowed) is a stop word."""
    return text.strip(".,;:!?'\"").lower() in STOPWORDS
