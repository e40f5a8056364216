"""Sample characteristics normalised into key/value pairs that can be grouped and filtered.

GEO submitters write the same characteristic many ways: ``Tissue: Liver``,
``tissue type: liver``, ``organism part: liver``; ``age: 12 weeks``, ``Age (wk): 12``,
``gender: M``. Normalising makes them one facet:

* keys: case-folded, spaces squeezed, ``_`` as space, a trailing ``(unit)`` moved into
  the value, and synonymous keys mapped to one name (:data:`KEY_SYNONYMS`: the
  cellxgene/GEO field names a submitter picks between);
* values: whitespace squeezed, case-folded unless the value has inner capitals or
  digits (cell line and strain names: HeLa, C57BL/6J, keep their spelling), US/UK
  spelling variants of the issue-5 vocabulary unified, sex codes spelled out, and
  durations and ages as ``<number> <unit>`` with the unit abbreviations of
  :mod:`omicsoracle.extraction.statistics_text`.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable
from dataclasses import dataclass

from omicsoracle.search.synonyms import SPELLING_VARIANTS

KEY_SYNONYMS = {
    "tissue type": "tissue", "organism part": "tissue", "tissue source": "tissue",
    "sample tissue": "tissue", "originating tissue": "tissue", "tissue/cell type": "tissue",
    "cell": "cell type", "celltype": "cell type", "cell types": "cell type",
    "originating cell type": "cell type",
    "cell line name": "cell line", "cellline": "cell line", "cell-line": "cell line",
    "sex": "sex", "gender": "sex", "gender of donor": "sex", "donor sex": "sex",
    "age of donor": "age", "donor age": "age", "age at diagnosis": "age",
    "disease": "disease state", "disease status": "disease state", "diagnosis": "disease state",
    "condition": "disease state", "status": "disease state",
    "treated with": "treatment", "treatment group": "treatment", "agent": "treatment",
    "time point": "time", "timepoint": "time", "time post treatment": "time",
    "strain background": "strain", "mouse strain": "strain",
    "genotype/variation": "genotype", "genetic background": "strain",
}  # fmt: skip
SEX_VALUES = {"m": "male", "f": "female", "man": "male", "woman": "female", "males": "male",
              "females": "female"}  # fmt: skip
_UNIT_WORDS = {
    "h": "h", "hr": "h", "hrs": "h", "hour": "h", "hours": "h", "hpf": "hpf",
    "min": "min", "mins": "min", "minute": "min", "minutes": "min",
    "d": "d", "day": "d", "days": "d", "wk": "wk", "wks": "wk", "week": "wk", "weeks": "wk",
    "mo": "mo", "month": "mo", "months": "mo", "y": "yr", "yr": "yr", "yrs": "yr",
    "year": "yr", "years": "yr",
}  # fmt: skip
_KEY_UNIT = re.compile(r"^(?P<key>.*?)\s*[(\[](?P<unit>[^)\]]+)[)\]]\s*$")
_QUANTITY = re.compile(r"^(?P<num>\d+(?:\.\d+)?)\s*(?P<unit>[a-zA-Z]+)?(?:\s+old)?$")
_VARIANT = {form.casefold(): group[0].casefold() for group in SPELLING_VARIANTS for form in group}


@dataclass(frozen=True, slots=True)
class Characteristic:
    """One normalised characteristic of one sample, with the line as GEO had it."""

    sample: str
    key: str
    value: str
    raw: str

    def as_dict(self) -> dict[str, str]:
        return {"sample": self.sample, "key": self.key, "value": self.value, "raw": self.raw}


# Keys and values repeat across the samples of a series and across GEO (7.5M samples,
# ~30M pairs): each spelling is normalised once. Both functions are pure.
@functools.lru_cache(maxsize=16_384)
def normalize_key(key: str) -> tuple[str, str | None]:
    """``(key, unit)``: the canonical key, and a unit the key carried (``age (wk)``)."""
    cleaned = " ".join(key.replace("_", " ").split()).casefold().rstrip(":")
    unit = None
    m = _KEY_UNIT.match(cleaned)
    if m and m.group("unit").strip() in _UNIT_WORDS:
        cleaned, unit = m.group("key"), _UNIT_WORDS[m.group("unit").strip()]
    return KEY_SYNONYMS.get(cleaned, cleaned), unit


def _keeps_case(value: str) -> bool:
    return any(c.isupper() for c in value[1:]) or any(c.isdigit() for c in value)


@functools.lru_cache(maxsize=131_072)
def normalize_value(key: str, value: str, unit: str | None = None) -> str:
    """The canonical spelling of one value of the (already normalised) key."""
    cleaned = " ".join(value.split()).strip(" ;,")
    if not cleaned:
        return ""
    m = _QUANTITY.match(cleaned)
    if m and (unit or (m.group("unit") and m.group("unit").lower() in _UNIT_WORDS)):
        word = (m.group("unit") or "").lower()
        return f"{m.group('num')} {_UNIT_WORDS.get(word, unit or word)}".strip()
    if m and not m.group("unit"):
        return cleaned  # a bare number
    if key == "sex":
        low = cleaned.casefold()
        return SEX_VALUES.get(low, low)
    if _keeps_case(cleaned):
        return cleaned
    words = [_VARIANT.get(w, w) for w in cleaned.casefold().split(" ")]
    return " ".join(words)


def normalize(sample: str, pairs: Iterable[tuple[str, str] | list[str]]) -> list[Characteristic]:
    """The characteristics of one sample, normalised (empty values dropped)."""
    out = []
    for pair in pairs:
        if len(pair) != 2:
            continue
        raw_key, raw_value = str(pair[0]), str(pair[1])
        key, unit = normalize_key(raw_key) if raw_key.strip() else ("characteristic", None)
        value = normalize_value(key, raw_value, unit)
        if value:
            raw = f"{raw_key}: {raw_value}" if raw_key else raw_value
            out.append(Characteristic(sample, key, value, raw))
    return out


# Keys whose values name tissues, cell types and cell lines: they feed the vocabulary.
VOCABULARY_KEYS = {"tissue": "tissue", "cell type": "cell_type", "cell line": "cell_line"}


def facet_value(key: str, value: str) -> str:
    """How a normalised characteristic is shown as a facet value and filtered on."""
    return f"{key}: {value}"


def parse_filter(text: str) -> tuple[str, str | None]:
    """A typed characteristic filter, normalised like stored ones: ``(key, value)``.

    ``Tissue:Liver`` -> ``("tissue", "liver")``; a bare key (``genotype``) -> its key
    and None (any value). The key is everything before the first colon: values may
    contain colons ("time: 12:00"), GEO keys do not.
    """
    raw_key, sep, raw_value = text.partition(":")
    key, unit = normalize_key(raw_key)
    if not sep or not raw_value.strip():
        return key, None
    return key, normalize_value(key, raw_value, unit) or None
