"""Compile the vocabulary's sources into one lexicon: curated tables, HPO, corpus abbreviations.

Order and precedence (a stem sequence can lead to several entries; the first that
matches the typed text wins, see :func:`omicsoracle.understanding.match_lexicon`):

1. curated tables (``vocab/*.tsv``), exactly as before the ontology was added;
2. Human Phenotype Ontology terms: name + EXACT synonyms. A term that shares a form
   (stems of its name or a synonym) with a curated concept is merged into it, so
   "NSCLC" expands to the curated and the HPO forms and reports both sources. Terms
   under Neoplasm (HP:0002664) or with a disease-like name are kind "disease", the rest
   "phenotype". An HPO form whose stems are already a curated key of another entry
   ("Tumor", a curated spelling variant) is not a key, nor are the forms listed in
   ``vocab/excluded_forms.tsv`` (common corpus words, see docs/vocabulary.md);
3. corpus abbreviations (``vocab/corpus_abbreviations.tsv``): see :func:`_corpus_ok`.

Abbreviations. Curated ones keep their ``ambiguous`` flag. An HPO or corpus short form
is *unambiguous* when it has at least 3 letters/digits, contains a capital, no other
entry of any source claims its stems, and its lower-case form is not an ordinary word
of the vocabulary ("cat" in "cat cry") nor a stop word. HPO abbreviations that are
unambiguous match in any case; all others, and every corpus short form, only as typed.
A name typed out gains its abbreviations only when all of them are unambiguous
(``Entry.ambiguous``); a curated unambiguous concept therefore takes no ambiguous short
form from the other sources.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from omicsoracle.search.stopwords import STOPWORDS
from omicsoracle.search.synonyms import (
    ASSAYS,
    CONCEPTS,
    MAX_KEY_LEN,
    SPECIES,
    SPELLING_VARIANTS,
    Entry,
    Key,
)  # fmt: skip
from omicsoracle.search.thesaurus import (
    NEOPLASM,
    PHENOTYPIC_ABNORMALITY,
    VOCAB_DIR,
    HpoTerm,
    corpus_abbreviations,
    descendants,
    gene_symbols,
    hpo,
    read_table,
)  # fmt: skip

Stems = tuple[str, ...]
# The planner keeps at most MAX_ALTERNATIVES (16) alternatives per clause, abbreviations
# last; an entry never holds more, so the typed abbreviation is never the one cut.
MAX_FORMS = 16
MAX_ABBREVIATIONS = 6
MIN_CORPUS_SERIES = 2
_DISEASE_RE = re.compile(
    r"\b(disease|disorder|syndrome|cancer|carcinoma|leuka?emia|lymphoma|sarcoma|melanoma|"
    r"myeloma|neoplasm|tumou?r|diabetes|dystrophy|dementia|sclerosis|infection|\w+itis|\w+oma)\b",
    re.IGNORECASE,
)
# HPO's organ-system grouping classes ("Neoplasm of the liver", "Abnormality of the
# liver"): their synonyms are an organ word plus a generic one ("liver tumor", "liver
# cancer"), which as keys would turn the typed words into one phrase and lose the series
# that say them apart. The specific terms below them (Hepatoblastoma) are kept.
_GROUPING_RE = re.compile(
    r"^(Abnormality|Abnormal|Neoplasm|Morphological abnormality|Functional abnormality|"
    r"Aplasia/Hypoplasia) (of|involving|affecting|by)\b"
)
# Sources, by precedence (the sort key of a stem sequence's entries).
_CURATED, _HPO_NAME, _HPO_SYNONYM, _CORPUS = 0, 1, 2, 3
_VARIANT_SOURCE = "curated: US/UK spelling"


def _stems(text: str) -> Stems:
    # Imported here so that loading the tables never needs the stemmer.
    from omicsoracle.search.analysis import tokens

    return tuple(tokens(text))


@dataclass
class _Draft:
    """A concept being assembled from several sources."""

    name: str
    kind: str
    rank: int
    forms: dict[Stems, str] = field(default_factory=dict)  # stems -> surface, in order
    abbrevs: dict[Stems, tuple[str, bool]] = field(default_factory=dict)  # -> (surface, exact)
    ambiguous: bool = False
    curated: bool = False
    sources: list[str] = field(default_factory=list)

    def add_form(self, stems: Stems, surface: str) -> None:
        if stems and len(stems) <= MAX_KEY_LEN:
            self.forms.setdefault(stems, surface)


class _Builder:
    def __init__(self) -> None:
        self.table: dict[Stems, list[tuple[int, Key]]] = {}
        self.curated_keys: dict[Stems, object] = {}  # stems -> the curated entry/draft

    def add(self, stems: Stems, key: Key, rank: int) -> None:
        if stems:
            self.table.setdefault(stems, []).append((rank, key))

    def result(self) -> dict[Stems, list[Key]]:
        # Stable: curated keys keep the order they always had.
        return {
            s: [k for _, k in sorted(keys, key=lambda rk: rk[0])] for s, keys in self.table.items()
        }


def compile_lexicon() -> dict[Stems, list[Key]]:
    """Stem sequence -> entries, from every source (see the module docstring)."""
    b = _Builder()
    _curated_fixed(b)
    drafts = _curated_concepts(b)
    hpo_drafts = _hpo_drafts(b, drafts)
    corpus_drafts = _corpus_drafts(b, [*drafts, *hpo_drafts])
    everything = [*drafts, *hpo_drafts, *corpus_drafts]
    _resolve_abbreviations(b, everything)
    for draft in drafts:
        _emit(b, draft)
    # Spelling variants come after the curated concepts, as they always did.
    for group in SPELLING_VARIANTS:
        forms = [_stems(w) for w in group]
        entry = Entry("variant", group[0], _unique(forms), sources=(_VARIANT_SOURCE,),
                      forms=tuple(group))  # fmt: skip
        for form in forms:
            b.add(form, Key(entry), _CURATED)
    for draft in (*hpo_drafts, *corpus_drafts):
        _emit(b, draft)
    return b.result()


def _curated_fixed(b: _Builder) -> None:
    for sp in SPECIES:
        forms = [_stems(n) for n in (*sp.names, sp.scientific)]
        entry = Entry("species", sp.scientific, _unique(forms), organism=sp.scientific,
                      sources=(sp.source,), forms=(*sp.names, sp.scientific))  # fmt: skip
        for form in forms:
            b.add(form, Key(entry), _CURATED)
            b.curated_keys.setdefault(form, entry)
    for assay in ASSAYS:
        forms = [_stems(w) for w in assay.words]
        entry = Entry("assay", assay.name, _unique(forms), types=assay.types,
                      types_match=assay.types_match, sources=(assay.source,),
                      forms=tuple(assay.words))  # fmt: skip
        for form in forms:
            b.add(form, Key(entry), _CURATED)
            b.curated_keys.setdefault(form, entry)


def _curated_concepts(b: _Builder) -> list[_Draft]:
    drafts = []
    for c in CONCEPTS:
        d = _Draft(
            c.name, c.kind, _CURATED, ambiguous=c.ambiguous, curated=True, sources=[c.source]
        )
        for phrase in c.phrases:
            d.forms.setdefault(_stems(phrase), phrase)
        for abbrev in c.abbreviations:
            d.abbrevs.setdefault(_stems(abbrev), (abbrev, c.ambiguous))
        for stems in (*d.forms, *d.abbrevs):
            b.curated_keys.setdefault(stems, d)
        drafts.append(d)
    for group in SPELLING_VARIANTS:
        for form in (_stems(w) for w in group):
            b.curated_keys.setdefault(form, group)
    return drafts


def _excluded_forms() -> frozenset[Stems]:
    rows = read_table(VOCAB_DIR / "excluded_forms.tsv", ("form", "reason"))
    return frozenset(_stems(r["form"]) for r in rows)


def _usable_form(text: str, stems: Stems) -> bool:
    """False for stop words and for one-word forms the stemmer folds into other words.

    Snowball cuts "prostatitis" to "prostat" (= "prostate"), "hepatitis" to "hepat"
    (= "hepatic") and "intoeing" to "into": as keys they would capture those words. A
    word whose stem drops more than 3 letters is only used inside longer forms.
    """
    if all(s in STOPWORDS for s in stems):
        return False
    if len(stems) > 1:
        return True
    folded = "".join(ch for ch in text.lower() if ch.isalnum())
    return folded.startswith(stems[0]) and len(folded) - len(stems[0]) <= 3


def _is_short(abbrev: str) -> bool:
    """An HPO "abbreviation" synonym that is a short form ("AML"), not a phrase ("Abnormal BMI")."""
    return " " not in abbrev and len(abbrev) <= 10


def _hpo_drafts(b: _Builder, curated: list[_Draft]) -> list[_Draft]:
    _release, terms = hpo()
    if not terms:
        return []
    neoplasms = descendants(terms, NEOPLASM)
    # Only phenotypic abnormalities: the other HPO branches are modifiers ("Progressive",
    # "Healthy", "Position") and modes of inheritance, not what a dataset is about.
    abnormalities = descendants(terms, PHENOTYPIC_ABNORMALITY)
    excluded = _excluded_forms()
    by_form = {stems: d for d in curated for stems in d.forms}
    out = []
    for term in terms:
        if term.id not in abnormalities or _GROUPING_RE.match(term.name):
            continue
        forms = [(t, _stems(t)) for t in (term.name, *term.synonyms)]
        forms += [(a, _stems(a)) for a in term.abbreviations if not _is_short(a)]
        target = next((by_form[s] for _, s in forms if s in by_form), None)
        if target is None:
            kind = (
                "disease" if term.id in neoplasms or _DISEASE_RE.search(term.name) else "phenotype"
            )
            rank = _HPO_NAME
            target = _Draft(term.name, kind, rank)
            out.append(target)
        target.sources.append(f"HPO {term.id}")
        for text, stems in forms:
            owner = b.curated_keys.get(stems)
            if stems in excluded or (owner is not None and owner is not target):
                continue
            if _usable_form(text, stems):
                target.add_form(stems, text)
        _add_hpo_abbreviations(b, term, target)
    return [d for d in out if d.forms]


def _add_hpo_abbreviations(b: _Builder, term: HpoTerm, target: _Draft) -> None:
    for abbrev in term.abbreviations:
        stems = _stems(abbrev)
        owner = b.curated_keys.get(stems)
        if _is_short(abbrev) and stems and (owner is None or owner is target):
            # Case-insensitive if it turns out unambiguous (_resolve_abbreviations).
            target.abbrevs.setdefault(stems, (abbrev, False))


def _corpus_ok(short: str, long_form: str, series: int, genes: frozenset[str]) -> bool:
    """Which mined pairs become vocabulary.

    Kept: defined in >= 2 series, a short form of >= 2 letters/digits, a long form of at
    most (letters/digits of the short form + 2) words that does not start with a stop
    word ("a cohort of TNBC not only expresses full-length AR"). Skipped: short forms
    that are HGNC gene symbols (AR, EGFR, TNF, HR, MB): the query understanding reports
    a typed symbol as a gene, and expanding it into a protein name ("androgen receptor")
    or an unrelated sense (MB: medulloblastoma, also myoglobin) would mislead.
    """
    letters = sum(ch.isalnum() for ch in short)
    long_words = long_form.split()
    return (
        series >= MIN_CORPUS_SERIES
        and letters >= 2
        and 0 < len(long_words) <= letters + 2
        and long_words[0].lower() not in STOPWORDS
        and "(" not in long_form
        and short not in genes
    )


def _corpus_drafts(b: _Builder, drafts: list[_Draft]) -> list[_Draft]:
    genes = gene_symbols()
    excluded = _excluded_forms()
    by_form = {stems: d for d in drafts for stems in d.forms}
    by_abbrev = {stems: d for d in drafts for stems in d.abbrevs}
    new: dict[Stems, _Draft] = {}
    new_abbrev: dict[Stems, _Draft] = {}  # most used first: "ER" is estrogen receptor, not ER+
    for row in corpus_abbreviations():
        if not _corpus_ok(row.short, row.long, row.series, genes):
            continue
        short, long_stems = _stems(row.short), _stems(row.long)
        if not short or not long_stems or len(long_stems) > MAX_KEY_LEN:
            continue
        target = by_form.get(long_stems) or new.get(long_stems)
        owner = (
            b.curated_keys.get(short) or by_abbrev.get(short) or by_form.get(short)
            or new_abbrev.get(short)
        )  # fmt: skip
        if owner is not None and owner is not target:
            continue  # the short form already means something else (MM: multiple myeloma)
        if long_stems in excluded or not _usable_form(row.long, long_stems):
            continue
        if target is None:
            if long_stems in b.curated_keys:
                continue  # an assay or species word ("single-cell RNA sequencing")
            kind = "disease" if _DISEASE_RE.search(row.long) else "concept"
            target = new[long_stems] = _Draft(row.long, kind, _CORPUS)
            target.add_form(long_stems, row.long)
        target.sources.append(f"corpus definition of {row.short} ({row.series} series)")
        target.abbrevs.setdefault(short, (row.short, True))  # always as typed
        new_abbrev.setdefault(short, target)
    return list(new.values())


def _resolve_abbreviations(b: _Builder, drafts: list[_Draft]) -> None:
    """Decide which non-curated short forms are unambiguous (module docstring)."""
    claims: dict[Stems, set[int]] = {}
    for stems in b.curated_keys:
        claims.setdefault(stems, set()).add(id(b.curated_keys[stems]))
    ordinary: set[str] = set()
    for d in drafts:
        for stems, surface in d.forms.items():
            claims.setdefault(stems, set()).add(id(d))
            ordinary.update(surface.lower().split())
        for stems in d.abbrevs:
            claims.setdefault(stems, set()).add(id(d))
    for d in drafts:
        resolved: dict[Stems, tuple[str, bool]] = {}
        for stems, (surface, exact) in d.abbrevs.items():
            curated = d.curated and b.curated_keys.get(stems) is d
            if curated:
                resolved[stems] = (surface, exact)
                continue
            safe = (
                sum(ch.isalnum() for ch in surface) >= 3
                and any(ch.isupper() for ch in surface)
                and len(claims.get(stems, ())) <= 1
                and surface.lower() not in ordinary
                and surface.lower() not in STOPWORDS
            )
            if d.curated and not d.ambiguous and not safe:
                continue  # would make the spelled-out name add an ambiguous short form
            # Corpus short forms match only as typed; HPO ones in any case when safe.
            resolved[stems] = (surface, exact or not safe or (d.curated and d.ambiguous))
            if not safe and not d.curated:
                d.ambiguous = True
        d.abbrevs = dict(list(resolved.items())[:MAX_ABBREVIATIONS])


def _emit(b: _Builder, d: _Draft) -> None:
    """The Entry of a draft and its keys, capped at MAX_FORMS forms in all."""
    abbrevs = list(d.abbrevs.items())
    forms = list(d.forms.items())[: MAX_FORMS - len(abbrevs)]
    entry = Entry(
        d.kind, d.name, tuple(s for s, _ in forms), tuple(s for s, _ in abbrevs),
        ambiguous=d.ambiguous, sources=tuple(dict.fromkeys(d.sources)),
        forms=tuple(dict.fromkeys([*(f for _, f in forms), *(a for _, (a, _) in abbrevs)])),
    )  # fmt: skip
    for i, (stems, _surface) in enumerate(forms):
        owner = b.curated_keys.get(stems)
        if owner is not None and owner is not d:
            continue
        rank = _CURATED if d.curated and owner is d else _HPO_NAME if i == 0 else _HPO_SYNONYM
        b.add(stems, Key(entry), rank if d.rank != _CORPUS else _CORPUS)
    for stems, (surface, exact) in abbrevs:
        rank = (
            _CURATED if d.curated and b.curated_keys.get(stems) is d else max(d.rank, _HPO_SYNONYM)
        )
        b.add(stems, Key(entry, exact=surface if exact else None), rank)


def _unique(items: list[Stems]) -> tuple[Stems, ...]:
    return tuple(dict.fromkeys(item for item in items if item))
