"""Pattern extractors: statistics quoted in abstracts, time points, sample counts, treatments.

These are numbers with a shape, not dictionary words, so they are compiled regular
expressions run once over a field (``finditer``), each match normalised:
``P < 0.05`` -> ``p<0.05``, ``24 hours`` -> ``24 h``, ``twelve patients`` -> ``12``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

NUMBER_WORDS = {
    "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9,
    "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14, "fifteen": 15,
    "sixteen": 16, "eighteen": 18, "twenty": 20, "thirty": 30, "forty": 40, "fifty": 50,
    "hundred": 100,
}  # fmt: skip
_NUMWORD = "|".join(NUMBER_WORDS)
_NUM = r"\d+(?:[.,]\d+)?"
# 1.2 x 10-5, 1.2e-5, 10^-5, .001
_SCI = r"(?:\d*\.?\d+(?:\s?[x×\*]\s?10\s?\^?\s?[-−–]?\s?\d+|[eE][-−–]?\d+)?|10\s?\^?\s?[-−–]\s?\d+)"
_CMP = r"\s*(?:[<>=≤≥]|<=|>=|=<|=>)\s*"
_COUNT_NOUNS = (
    r"patients?|samples?|subjects?|individuals?|donors?|mice|rats?|animals?|tumou?rs?|"
    r"biopsies|biopsy|replicates?|specimens?|cases?|controls?|participants?|volunteers?|"
    r"women|men|children|infants|embryos?|cell lines|families|twins|pairs|probands|"
    r"persons|people|healthy controls|tissues|datasets|cohorts?"
)
_COUNT_ADJ = (
    r"(?:(?:biological|technical|independent|healthy|normal|primary|human|adult|unrelated|"
    r"matched|paired|male|female|control|affected|additional|diseased|newly diagnosed)\s+){0,2}"
)
_TIME_UNITS = {
    "h": "h", "hr": "h", "hrs": "h", "hour": "h", "hours": "h",
    "min": "min", "mins": "min", "minute": "min", "minutes": "min",
    "d": "d", "day": "d", "days": "d",
    "wk": "wk", "wks": "wk", "week": "wk", "weeks": "wk",
    "mo": "mo", "month": "mo", "months": "mo",
    "yr": "yr", "yrs": "yr", "year": "yr", "years": "yr",
    "s": "s", "sec": "s", "second": "s", "seconds": "s",
}  # fmt: skip
_UNIT_ALT = "|".join(sorted(_TIME_UNITS, key=len, reverse=True))

STATISTIC_RE = re.compile(
    r"(?<![\w.])(?:"
    rf"(?P<p>(?:[Pp]|FDR|[Qq]|adj(?:usted)?\.?\s?[Pp])(?:[\s-]?values?)?{_CMP}{_SCI})"
    rf"|(?P<fc>(?:fold[\s-]change|FC|log2\s?FC|log2\s?fold[\s-]change)(?:{_CMP}|\s+(?:of\s+)?)[-−]?{_SCI}"
    rf"|{_NUM}[\s-]?fold)"
    rf"|(?P<auc>(?:AUC|AUROC|area under the (?:ROC )?curve)(?:{_CMP}|\s+(?:of\s+)?){_SCI})"
    rf"|(?P<hr>(?:HR|hazard ratio|OR|odds ratio|RR|relative risk)(?:{_CMP}|\s+(?:of\s+)?|,\s*){_SCI}"
    rf"(?:\s*[(\[;,]\s*95\s?%\s?(?:CI|confidence interval)[:,]?\s*{_SCI}\s?(?:[-–−]|to)\s?{_SCI}\s*[)\]]?)?)"
    rf"|(?P<n>[nN]{_CMP}\d+)"
    r")(?![\w])"
)
TIME_RE = re.compile(
    rf"(?<![\w.])(?:(?P<num>{_NUM})(?:\s?[-–]\s?{_NUM})?\s?(?P<unit>{_UNIT_ALT})\b(?![-/]\w)"
    rf"|(?P<label>[Dd]ay|[Ww]eek|[Mm]onth|[Hh]our)\s(?P<labnum>\d+(?:\.\d+)?)\b"
    r"|(?P<stage>[EP]\d{1,2}(?:\.5)?)\b)"
)
COUNT_RE = re.compile(
    rf"(?<![\w.,])(?P<num>\d{{1,3}}(?:,\d{{3}})+|\d+|{_NUMWORD})\s+{_COUNT_ADJ}(?:{_COUNT_NOUNS})\b",
    re.IGNORECASE,
)
TREATMENT_RE = re.compile(
    r"\b(?:treated with|treatment with|exposed to|exposure to|stimulated with|incubated with|"
    r"administration of|administered|injected with|infected with|transfected with|dosed with)"
    r"\s+(?:(?:either|the|a|an|\d+(?:\.\d+)?\s?(?:[µμu]M|nM|mM|mg/kg|[µμun]g/ml|ng/mL|µg/mL|%|Gy))\s+)*"
    r"(?P<agent>[A-Za-z0-9][\w+\-/.()]*(?:\s(?!for\b|at\b|and\b|or\b|in\b|to\b|with\b|from\b|"
    r"during\b|after\b|before\b|on\b|were\b|was\b)[A-Za-z0-9][\w+\-/]*){0,2})",
    re.IGNORECASE,
)


@dataclass(frozen=True, slots=True)
class Found:
    """A pattern match: type, span, normalised value, and the sentence around it."""

    type: str
    start: int
    end: int
    normalized: str
    context: str | None = None


def _sentence(text: str, start: int, end: int) -> str:
    """The sentence holding ``text[start:end]`` (split at ". " / newline; decimals kept)."""
    left = max(text.rfind(". ", 0, start), text.rfind("\n", 0, start))
    right_candidates = [i for i in (text.find(". ", end), text.find("\n", end)) if i >= 0]
    right = min(right_candidates) + 1 if right_candidates else len(text)
    return text[left + 1 if left >= 0 else 0 : right].strip()


def _squash(value: str) -> str:
    return re.sub(r"\s+", "", value.replace("−", "-").replace("–", "-").replace("×", "x"))


def statistics(text: str) -> Iterator[Found]:
    for m in STATISTIC_RE.finditer(text):
        kind = next(k for k in ("p", "fc", "auc", "hr", "n") if m.group(k))
        value = _squash(m.group(0))
        if kind == "n":
            # "n = 12" is a sample count, with the sentence saying of what.
            digits = value.split("=")[-1].lstrip("<>≤≥")
            yield Found("sample_count", *m.span(), digits, _sentence(text, *m.span()))
            continue
        label = {"p": "p-value", "fc": "fold change", "auc": "AUC", "hr": "ratio", "n": "n"}[kind]
        yield Found(
            "statistic", m.start(), m.end(), f"{label}: {value}", _sentence(text, *m.span())
        )


def time_points(text: str) -> Iterator[Found]:
    for m in TIME_RE.finditer(text):
        if m.group("num"):
            if m.group("unit") in ("s", "d") and not text[m.end("num") : m.start("unit")]:
                continue  # "1980s", "3d": a decade, a dimension; "30 s" needs its space
            unit = _TIME_UNITS[m.group("unit").lower()]
            norm = f"{m.group('num')} {unit}"
        elif m.group("label"):
            unit = _TIME_UNITS[m.group("label").lower()]
            norm = f"{unit} {m.group('labnum')}"
        else:
            norm = m.group("stage")
        yield Found("time_point", m.start(), m.end(), norm)


def sample_counts(text: str) -> Iterator[Found]:
    for m in COUNT_RE.finditer(text):
        raw = m.group("num").lower()
        n = NUMBER_WORDS.get(raw)
        value = n if n is not None else int(raw.replace(",", ""))
        if value < 1 or (n is None and 1900 <= value <= 2100 and "," not in raw):
            continue  # "2012 patients" is usually a year
        yield Found("sample_count", m.start(), m.end(), str(value))


def treatments(text: str) -> Iterator[Found]:
    for m in TREATMENT_RE.finditer(text):
        agent = m.group("agent").rstrip(".,;)(")
        if len(agent) < 2:
            continue
        start = m.start("agent")
        yield Found("treatment", start, start + len(agent), agent.casefold())


PATTERNS = (statistics, time_points, sample_counts, treatments)
