"""Text clean-up shared by all parsers: mojibake repair, whitespace, GEO dates.

Mojibake: some GEO texts were UTF-8, decoded once as cp1252/Latin-1 and stored
re-encoded, so ``α`` (bytes CE B1) reads ``Î±``. ftfy undoes that reliably but
costs tens of microseconds per string, too much to run over every field of
42k+ series at ingest. A compiled regex for the characteristic lead/continuation
pairs gates it: clean text (ASCII, ``Müller``, ``naïve``, Greek letters) never
matches, so it never reaches ftfy. One case ftfy cannot see is handled here: a
damaged no-break space (``Â`` + U+00A0) whose second half was later trimmed or
turned into a plain space leaves a lone ``Â`` before whitespace.

Two more artefacts of Word/PDF copy-paste seen in the corpus are mapped to plain
Unicode, because search tokenisers cannot match them otherwise: private-use
Symbol-font code points (``HIF1\\uf061`` is ``HIF1α``) and typographic ligatures
(``signiﬁcant``). A stray BOM and non-whitespace control characters are dropped.
"""

from __future__ import annotations

import datetime as _dt
import re
from collections.abc import Iterable

import ftfy

# Characters a UTF-8 continuation byte (0x80-0xBF) becomes when misdecoded: every
# Latin-1 char U+0080-U+00BF, plus cp1252's printable replacements for 0x80-0x9F.
_CONTINUATION_CHARS = sorted(
    {chr(b) for b in range(0x80, 0xC0)}
    | {bytes((b,)).decode("cp1252", errors="ignore") for b in range(0x80, 0xC0)} - {""}
)
# Lead bytes of 2-4 byte UTF-8 sequences (0xC2-0xF4) read as Latin-1 are U+00C2-U+00F4.
# "Â " / "Ã " are the same damage after the NBSP (0xA0) continuation byte was
# later normalised to a plain space (``mesenchymalÂ transition`` in GSE139074).
_MOJIBAKE_RE = re.compile(
    "[\u00c2-\u00f4][" + "".join(re.escape(c) for c in _CONTINUATION_CHARS) + "]|[\u00c2\u00c3] "
)

# Adobe Symbol font positions Word stores as private-use U+F0xx (Greek and the
# math signs that occur in GEO summaries: ≥, ±, °, →, ...).
_SYMBOL_FONT = {
    0x20: " ", 0x2D: "\u2212",
    0x41: "Α", 0x42: "Β", 0x43: "Χ", 0x44: "Δ", 0x45: "Ε", 0x46: "Φ", 0x47: "Γ",
    0x48: "Η", 0x49: "Ι", 0x4A: "ϑ", 0x4B: "Κ", 0x4C: "Λ", 0x4D: "Μ", 0x4E: "Ν",
    0x4F: "Ο", 0x50: "Π", 0x51: "Θ", 0x52: "Ρ", 0x53: "Σ", 0x54: "Τ", 0x55: "Υ",
    0x56: "ς", 0x57: "Ω", 0x58: "Ξ", 0x59: "Ψ", 0x5A: "Ζ",
    0x61: "α", 0x62: "β", 0x63: "χ", 0x64: "δ", 0x65: "ε", 0x66: "φ", 0x67: "γ",
    0x68: "η", 0x69: "ι", 0x6A: "ϕ", 0x6B: "κ", 0x6C: "λ", 0x6D: "μ", 0x6E: "ν",
    0x6F: "ο", 0x70: "π", 0x71: "θ", 0x72: "ρ", 0x73: "σ", 0x74: "τ", 0x75: "υ",
    0x76: "ϖ", 0x77: "ω", 0x78: "ξ", 0x79: "ψ", 0x7A: "ζ", 0x7E: "∼",
    0xA2: "′", 0xA3: "≤", 0xA5: "∞", 0xAC: "←", 0xAD: "↑", 0xAE: "→", 0xAF: "↓",
    0xB0: "°", 0xB1: "±", 0xB2: "″", 0xB3: "≥", 0xB4: "×", 0xB5: "∝", 0xB7: "•",
    0xB8: "÷", 0xB9: "≠", 0xBB: "≈", 0xD6: "√", 0xD7: "⋅",
}  # fmt: skip
_LIGATURES = {
    "\ufb00": "ff", "\ufb01": "fi", "\ufb02": "fl", "\ufb03": "ffi", "\ufb04": "ffl",
    "\ufb05": "st", "\ufb06": "st",
}  # fmt: skip
_TRANSLATE: dict[int, str | None] = {0xF000 + k: v for k, v in _SYMBOL_FONT.items()}
_TRANSLATE.update({ord(k): v for k, v in _LIGATURES.items()})
_TRANSLATE[0xFEFF] = None  # BOM / zero-width no-break space: an encoding artefact
# C0 controls that str.split() does not treat as whitespace, and DEL.
_TRANSLATE.update(dict.fromkeys((*range(0x00, 0x09), *range(0x0E, 0x1C), 0x7F)))
_ODD_RE = re.compile("[" + "".join(re.escape(chr(c)) for c in sorted(_TRANSLATE)) + "]")

_LONE_A_CIRCUMFLEX_RE = re.compile(r"\u00c2+(?=\s|$)")
_NEWLINE_RE = re.compile(r"\r\n?|\n")


def repair_text(s: str | None) -> str | None:
    """Clean one free-text value; None for None, empty or all-whitespace input.

    Repairs double-encoded UTF-8 (``SIRPÎ±`` -> ``SIRPα``) with ftfy only when the
    cheap mojibake regex fires, maps Symbol-font and ligature code points, then
    collapses whitespace: runs of spaces/tabs become one space, lines are
    stripped, and runs of blank lines become one paragraph break. The result is
    stable: repairing it again changes nothing.
    """
    if s is None:
        return None
    if s.isascii() and s.isprintable():
        # Most values ("Homo sapiens", "CEL", titles): no mojibake, controls or newlines.
        return " ".join(s.split()) or None
    text = _repair_once(s)
    # ftfy judges a pair by its context, and trimming whitespace or dropping
    # controls changes the context: repeat while the output still looks damaged
    # (clean text pays two regex searches, no second pass).
    for _ in range(3):
        if text is None or text.isascii() or not _looks_damaged(text):
            break
        again = _repair_once(text)
        if again == text:
            break
        text = again
    return text


def _looks_damaged(s: str) -> bool:
    return bool(
        _MOJIBAKE_RE.search(s)
        or _ODD_RE.search(s)
        or ("\u00c2" in s and _LONE_A_CIRCUMFLEX_RE.search(s))
    )


def _repair_once(s: str) -> str | None:
    """One repair pass: character fixes, then whitespace."""
    if _ODD_RE.search(s):
        s = s.translate(_TRANSLATE)
    if _MOJIBAKE_RE.search(s):
        s = ftfy.fix_encoding(s)
        if _ODD_RE.search(s):
            s = s.translate(_TRANSLATE)  # ftfy can restore Symbol-font or BOM characters
    if "\u00c2" in s:
        # What ftfy cannot know: an "Â" whose NBSP was stripped at a line end or
        # squeezed into a space. A real "Â" starts or sits inside a capitalised word.
        s = _LONE_A_CIRCUMFLEX_RE.sub(" ", s)
    if "\n" not in s and "\r" not in s:
        return " ".join(s.split()) or None
    out: list[str] = []
    for line in _NEWLINE_RE.split(s):
        norm = " ".join(line.split())
        if norm or (out and out[-1]):
            out.append(norm)
    while out and not out[-1]:
        out.pop()
    return "\n".join(out) or None


def strip_bom(line: str) -> str:
    """A first line without its byte-order mark, however the line was decoded.

    On a line that is not valid UTF-8 as a whole, Source decodes the BOM bytes as
    cp1252 (``ï»¿``) rather than as U+FEFF.
    """
    return line.removeprefix("\ufeff").removeprefix("\u00ef\u00bb\u00bf")


def clean_list(values: Iterable[str | None]) -> list[str]:
    """Repaired, non-empty, de-duplicated values in their original order."""
    seen: dict[str, None] = {}
    for value in values:
        text = repair_text(value)
        if text is not None:
            seen.setdefault(text, None)
    return list(seen)


def split_clean(s: str | None, sep: str) -> list[str]:
    """Split a multi-valued field on ``sep`` and clean each part (see clean_list)."""
    if not s:
        return []
    return clean_list(s.split(sep))


_MONTHS = {
    name: number
    for number, name in enumerate(
        (
            "january", "february", "march", "april", "may", "june",
            "july", "august", "september", "october", "november", "december",
        ),
        start=1,
    )
}  # fmt: skip
_MONTH_ABBR = {name[:3]: number for name, number in _MONTHS.items()}
# "Jan 22, 2001" (browse CSV), "Jan 15 2017" / "Public on Jan 15 2017" (SOFT status),
# "January 5, 2017"; the day may carry a leading zero.
_MDY_RE = re.compile(r"(?:public on\s+)?([a-z]{3,9})\.?\s+(\d{1,2}),?\s+(\d{4})", re.IGNORECASE)
# "2017-01-15", "2017/01/15" (E-utilities), optionally followed by a time.
_YMD_RE = re.compile(r"(\d{4})[-/](\d{1,2})[-/](\d{1,2})(?:[T ].*)?")


def parse_geo_date(s: str | None) -> str | None:
    """A GEO date as ISO ``YYYY-MM-DD``; None when absent or not a real date.

    Accepts ``Jan 22, 2001``, ``Jan 15 2017``, ``Public on Jan 15 2017``,
    ``January 15, 2017``, ``2017-01-15`` and ``2017/01/15``.
    """
    if not s:
        return None
    text = s.strip()
    m = _YMD_RE.fullmatch(text)
    if m:
        year, month, day = int(m[1]), int(m[2]), int(m[3])
    else:
        m = _MDY_RE.fullmatch(text)
        if not m:
            return None
        name = m[1].lower()
        month_or_none = _MONTH_ABBR.get(name[:3])
        # Reject words that merely start like a month ("Marker 3 2001").
        if month_or_none is None or not (
            len(name) == 3 or name == "sept" or _MONTHS.get(name) == month_or_none
        ):
            return None
        year, month, day = int(m[3]), month_or_none, int(m[2])
    try:
        return _dt.date(year, month, day).isoformat()
    except ValueError:
        return None


# Counts (samples, rows, features) in GEO files. Bounded so a corrupt cell can never
# become an integer too large for JSON or a database column (orjson stops at 64 bits).
MAX_COUNT = 10**12
_COUNT_RE = re.compile(r"[0-9]{1,13}")


def parse_count(value: object) -> int | None:
    """A non-negative count from an int or ASCII-digit string; None when absent or absurd."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        number = value
    elif isinstance(value, str) and _COUNT_RE.fullmatch(value.strip()):
        number = int(value.strip())
    else:
        return None
    return number if 0 <= number <= MAX_COUNT else None
