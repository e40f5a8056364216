"""Curated vocabulary: species common names, assay words and biomedical abbreviations.

Kept small and hand-checked on purpose: every entry changes what thousands of queries
match. Three kinds of entry:

* ``SPECIES``: common names a researcher types ("mouse") for GEO's scientific names.
  As a plain query word, a species name matches either the word in the text or a
  series of that organism (so "mouse liver" finds Mus musculus series that never say
  "mouse"); as ``organism:mouse`` it is a hard filter.
* ``ASSAYS``: assay words for GEO series types. ``types_match`` says whether the type
  alone satisfies the plain word (RNA-seq: yes; scRNA-seq: no, GEO has no
  single-cell type, so the type only boosts).
* ``CONCEPTS``: disease and cell-type names with their abbreviations. An
  ``ambiguous`` abbreviation (PD, AD, MS, DS, ...) only expands when typed in capitals,
  and is never added to a query that spelled the name out (PD is also "progressive
  disease" and PD-1).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Species:
    """A GEO organism and the words people use for it."""

    scientific: str
    names: tuple[str, ...]


@dataclass(frozen=True)
class Assay:
    """An assay as typed ("RNA-seq") and the GEO series types it corresponds to."""

    name: str
    words: tuple[str, ...]  # surface forms; the first is the display name
    types: tuple[str, ...]
    types_match: bool = True


@dataclass(frozen=True)
class Concept:
    """A named entity with equivalent spellings and abbreviations."""

    name: str
    phrases: tuple[str, ...]
    abbreviations: tuple[str, ...] = ()
    ambiguous: bool = False


SPECIES: tuple[Species, ...] = (
    Species("Homo sapiens", ("human", "humans")),
    Species("Mus musculus", ("mouse", "mice", "murine")),
    Species("Rattus norvegicus", ("rat", "rats")),
    Species("Danio rerio", ("zebrafish",)),
    Species("Drosophila melanogaster", ("fly", "flies", "fruit fly", "drosophila")),
    Species("Caenorhabditis elegans", ("worm", "worms", "c elegans", "nematode")),
    Species("Saccharomyces cerevisiae", ("yeast", "budding yeast")),
    Species("Schizosaccharomyces pombe", ("fission yeast",)),
    Species("Arabidopsis thaliana", ("arabidopsis", "thale cress")),
    Species("Oryza sativa", ("rice",)),
    Species("Zea mays", ("maize", "corn")),
    Species("Sus scrofa", ("pig", "pigs", "swine", "porcine")),
    Species("Bos taurus", ("cow", "cattle", "bovine")),
    Species("Gallus gallus", ("chicken", "chick")),
    Species("Canis lupus familiaris", ("dog", "dogs", "canine")),
    Species("Macaca mulatta", ("rhesus", "rhesus macaque", "macaque")),
    Species("Pan troglodytes", ("chimpanzee", "chimp")),
    Species("Xenopus laevis", ("xenopus", "frog")),
    Species("Escherichia coli", ("e coli", "ecoli")),
    Species("Ovis aries", ("sheep",)),
    Species("Equus caballus", ("horse",)),
    Species("Oryctolagus cuniculus", ("rabbit",)),
    Species("Glycine max", ("soybean",)),
    Species("Solanum lycopersicum", ("tomato",)),
    Species("Triticum aestivum", ("wheat",)),
)

_HTS_EXPR = "Expression profiling by high throughput sequencing"
_ARRAY_EXPR = "Expression profiling by array"
_HTS_BINDING = "Genome binding/occupancy profiling by high throughput sequencing"
_METHYLATION = (
    "Methylation profiling by array",
    "Methylation profiling by high throughput sequencing",
    "Methylation profiling by genome tiling array",
    "Methylation profiling by SNP array",
)

ASSAYS: tuple[Assay, ...] = (
    Assay("RNA-seq", ("RNA-seq", "RNAseq", "RNA sequencing", "transcriptome sequencing"),
          (_HTS_EXPR,)),
    Assay("microarray", ("microarray", "microarrays", "expression array", "gene chip"),
          (_ARRAY_EXPR,)),
    Assay("ChIP-seq", ("ChIP-seq", "ChIPseq", "ChIP sequencing"), (_HTS_BINDING,)),
    Assay("ChIP-chip", ("ChIP-chip",),
          ("Genome binding/occupancy profiling by genome tiling array",
           "Genome binding/occupancy profiling by array")),
    Assay("methylation", ("methylation", "DNA methylation", "methylome"), _METHYLATION),
    Assay("bisulfite sequencing", ("bisulfite sequencing", "bisulfite-seq", "WGBS", "RRBS"),
          ("Methylation profiling by high throughput sequencing",)),
    Assay("scRNA-seq", ("scRNA-seq", "scRNAseq", "single-cell RNA-seq",
                        "single-cell RNA sequencing", "snRNA-seq", "single-nucleus RNA-seq",
                        "single-cell transcriptomics"),
          (_HTS_EXPR,), types_match=False),
    Assay("ATAC-seq", ("ATAC-seq", "ATACseq", "scATAC-seq"), (_HTS_BINDING,), types_match=False),
    Assay("CUT&RUN", ("CUT&RUN", "CUT&Tag"), (_HTS_BINDING,), types_match=False),
    Assay("miRNA", ("miRNA", "miRNAs", "microRNA", "microRNAs", "small RNA"),
          ("Non-coding RNA profiling by array",
           "Non-coding RNA profiling by high throughput sequencing"), types_match=False),
    Assay("SNP array", ("SNP array", "SNP genotyping", "genotyping array"),
          ("SNP genotyping by SNP array", "Genome variation profiling by SNP array")),
    Assay("copy number", ("copy number", "CNV", "array CGH", "aCGH"),
          ("Genome variation profiling by array", "Genome variation profiling by genome tiling array",
           "Genome variation profiling by SNP array"), types_match=False),
    Assay("protein array", ("protein array", "antibody array"),
          ("Protein profiling by protein array",)),
    Assay("RT-PCR", ("RT-PCR", "qPCR", "RT-qPCR"), ("Expression profiling by RT-PCR",),
          types_match=False),
)  # fmt: skip

CONCEPTS: tuple[Concept, ...] = (
    Concept("non-small cell lung cancer", ("non-small cell lung cancer",
            "non-small cell lung carcinoma"), ("NSCLC",)),
    Concept("small cell lung cancer", ("small cell lung cancer", "small cell lung carcinoma"),
            ("SCLC",)),
    Concept("lung adenocarcinoma", ("lung adenocarcinoma",), ("LUAD",)),
    Concept("lung squamous cell carcinoma", ("lung squamous cell carcinoma",), ("LUSC",)),
    Concept("hepatocellular carcinoma", ("hepatocellular carcinoma",), ("HCC",)),
    Concept("type 2 diabetes", ("type 2 diabetes", "type II diabetes", "non-insulin-dependent diabetes"),
            ("T2D", "T2DM", "NIDDM")),
    Concept("type 1 diabetes", ("type 1 diabetes", "type I diabetes", "insulin-dependent diabetes"),
            ("T1D", "T1DM", "IDDM")),
    Concept("Alzheimer's disease", ("Alzheimer's disease", "Alzheimer's"), ("AD",), ambiguous=True),
    Concept("Parkinson's disease", ("Parkinson's disease", "Parkinson's"), ("PD",), ambiguous=True),
    Concept("Huntington's disease", ("Huntington's disease", "Huntington's"), ("HD",),
            ambiguous=True),
    Concept("Down syndrome", ("Down syndrome", "trisomy 21", "trisomy21"), ("DS",),
            ambiguous=True),
    Concept("acute myeloid leukemia", ("acute myeloid leukemia", "acute myelogenous leukemia"),
            ("AML",)),
    Concept("acute lymphoblastic leukemia", ("acute lymphoblastic leukemia",
            "acute lymphocytic leukemia"), ("ALL",), ambiguous=True),
    Concept("chronic lymphocytic leukemia", ("chronic lymphocytic leukemia",), ("CLL",)),
    Concept("chronic myeloid leukemia", ("chronic myeloid leukemia", "chronic myelogenous leukemia"),
            ("CML",)),
    Concept("glioblastoma", ("glioblastoma", "glioblastoma multiforme"), ("GBM",)),
    Concept("renal cell carcinoma", ("renal cell carcinoma", "renal cell cancer"), ("RCC",)),
    Concept("clear cell renal cell carcinoma", ("clear cell renal cell carcinoma",), ("ccRCC",)),
    Concept("triple-negative breast cancer", ("triple-negative breast cancer",), ("TNBC",)),
    Concept("chronic obstructive pulmonary disease", ("chronic obstructive pulmonary disease",),
            ("COPD",)),
    Concept("inflammatory bowel disease", ("inflammatory bowel disease",), ("IBD",)),
    Concept("ulcerative colitis", ("ulcerative colitis",), ("UC",), ambiguous=True),
    Concept("Crohn's disease", ("Crohn's disease", "Crohn's")),
    Concept("systemic lupus erythematosus", ("systemic lupus erythematosus", "lupus"), ("SLE",)),
    Concept("multiple sclerosis", ("multiple sclerosis",), ("MS",), ambiguous=True),
    Concept("amyotrophic lateral sclerosis", ("amyotrophic lateral sclerosis",
            "Lou Gehrig's disease"), ("ALS",)),
    Concept("rheumatoid arthritis", ("rheumatoid arthritis",), ("RA",), ambiguous=True),
    Concept("osteoarthritis", ("osteoarthritis",), ("OA",), ambiguous=True),
    Concept("colorectal cancer", ("colorectal cancer", "colorectal carcinoma",
            "colorectal adenocarcinoma"), ("CRC",)),
    Concept("head and neck squamous cell carcinoma", ("head and neck squamous cell carcinoma",),
            ("HNSCC",)),
    Concept("esophageal squamous cell carcinoma", ("esophageal squamous cell carcinoma",),
            ("ESCC",)),
    Concept("oral squamous cell carcinoma", ("oral squamous cell carcinoma",), ("OSCC",)),
    Concept("pancreatic ductal adenocarcinoma", ("pancreatic ductal adenocarcinoma",), ("PDAC",)),
    Concept("diffuse large B-cell lymphoma", ("diffuse large B-cell lymphoma",), ("DLBCL",)),
    Concept("multiple myeloma", ("multiple myeloma",), ("MM",), ambiguous=True),
    Concept("myelodysplastic syndrome", ("myelodysplastic syndrome",), ("MDS",)),
    Concept("non-alcoholic fatty liver disease", ("non-alcoholic fatty liver disease",),
            ("NAFLD",)),
    Concept("non-alcoholic steatohepatitis", ("non-alcoholic steatohepatitis",), ("NASH",)),
    Concept("chronic kidney disease", ("chronic kidney disease",), ("CKD",)),
    Concept("acute kidney injury", ("acute kidney injury",), ("AKI",)),
    Concept("idiopathic pulmonary fibrosis", ("idiopathic pulmonary fibrosis",), ("IPF",)),
    Concept("polycystic ovary syndrome", ("polycystic ovary syndrome",
            "polycystic ovarian syndrome"), ("PCOS",)),
    Concept("autism spectrum disorder", ("autism spectrum disorder", "autism"), ("ASD",),
            ambiguous=True),
    Concept("major depressive disorder", ("major depressive disorder",), ("MDD",)),
    Concept("coronary artery disease", ("coronary artery disease",), ("CAD",), ambiguous=True),
    Concept("age-related macular degeneration", ("age-related macular degeneration",), ("AMD",)),
    Concept("Duchenne muscular dystrophy", ("Duchenne muscular dystrophy",), ("DMD",)),
    Concept("frontotemporal dementia", ("frontotemporal dementia",), ("FTD",)),
    Concept("benign prostatic hyperplasia", ("benign prostatic hyperplasia",), ("BPH",)),
    Concept("COVID-19", ("COVID-19", "SARS-CoV-2", "coronavirus disease 2019")),
    Concept("HIV", ("human immunodeficiency virus",), ("HIV",)),
    Concept("hepatitis B virus", ("hepatitis B virus",), ("HBV",)),
    Concept("hepatitis C virus", ("hepatitis C virus",), ("HCV",)),
    Concept("tuberculosis", ("tuberculosis",), ("TB",), ambiguous=True),
    Concept("hematopoietic stem cell", ("hematopoietic stem cell", "hematopoietic stem cells"),
            ("HSC", "HSCs")),
    Concept("embryonic stem cell", ("embryonic stem cell", "embryonic stem cells"),
            ("ESC", "ESCs")),
    Concept("induced pluripotent stem cell", ("induced pluripotent stem cell",
            "induced pluripotent stem cells"), ("iPSC", "iPSCs", "hiPSC", "hiPSCs")),
    Concept("mesenchymal stem cell", ("mesenchymal stem cell", "mesenchymal stromal cell"),
            ("MSC", "MSCs")),
    Concept("epithelial-mesenchymal transition", ("epithelial-mesenchymal transition",), ("EMT",)),
    Concept("natural killer cell", ("natural killer cell", "natural killer cells"),
            ("NK cell", "NK cells")),
    Concept("regulatory T cell", ("regulatory T cell", "regulatory T cells"), ("Treg", "Tregs")),
)  # fmt: skip

# British/American spellings of single words: each group is one concept.
SPELLING_VARIANTS: tuple[tuple[str, ...], ...] = (
    ("tumor", "tumour"), ("tumors", "tumours"), ("leukemia", "leukaemia"),
    ("anemia", "anaemia"), ("hematopoietic", "haematopoietic"), ("hematopoiesis", "haematopoiesis"),
    ("esophageal", "oesophageal"), ("estrogen", "oestrogen"), ("edema", "oedema"),
    ("hemoglobin", "haemoglobin"), ("fetal", "foetal"), ("pediatric", "paediatric"),
    ("behavior", "behaviour"), ("ischemia", "ischaemia"), ("tumorigenesis", "tumourigenesis"),
    ("signaling", "signalling"), ("leukocyte", "leucocyte"), ("anesthesia", "anaesthesia"),
)  # fmt: skip


# --- compiled lookups ---------------------------------------------------------------


@dataclass(frozen=True)
class Entry:
    """One lexicon entry, compiled to analyzed stem sequences."""

    kind: str  # "species" | "assay" | "concept" | "variant"
    name: str
    alternatives: tuple[tuple[str, ...], ...]  # text forms matched as phrases
    abbreviations: tuple[tuple[str, ...], ...] = ()  # only added when safe (see ambiguous)
    ambiguous: bool = False
    organism: str | None = None
    types: tuple[str, ...] = ()
    types_match: bool = False


@dataclass(frozen=True)
class Key:
    """How a stem sequence leads to an entry; ``exact`` demands the typed capitals."""

    entry: Entry
    exact: str | None = None  # surface text that must match case-sensitively


def _stems(text: str) -> tuple[str, ...]:
    # Imported here so that loading the tables never needs the stemmer.
    from omicsoracle.search.analysis import tokens

    return tuple(tokens(text))


def _unique(items: list[tuple[str, ...]]) -> tuple[tuple[str, ...], ...]:
    return tuple(dict.fromkeys(item for item in items if item))


def _compile() -> dict[tuple[str, ...], list[Key]]:
    table: dict[tuple[str, ...], list[Key]] = {}

    def add(key: tuple[str, ...], item: Key) -> None:
        if key:
            table.setdefault(key, []).append(item)

    for sp in SPECIES:
        forms = [_stems(n) for n in (*sp.names, sp.scientific)]
        entry = Entry("species", sp.scientific, _unique(forms), organism=sp.scientific)
        for form in forms:
            add(form, Key(entry))
    for assay in ASSAYS:
        forms = [_stems(w) for w in assay.words]
        entry = Entry("assay", assay.name, _unique(forms), types=assay.types,
                      types_match=assay.types_match)  # fmt: skip
        for form in forms:
            add(form, Key(entry))
    for concept in CONCEPTS:
        forms = [_stems(p) for p in concept.phrases]
        abbrevs = [_stems(a) for a in concept.abbreviations]
        entry = Entry("concept", concept.name, _unique(forms), _unique(abbrevs),
                      ambiguous=concept.ambiguous)  # fmt: skip
        for form in forms:
            add(form, Key(entry))
        for abbrev, surface in zip(abbrevs, concept.abbreviations, strict=True):
            add(abbrev, Key(entry, exact=surface if concept.ambiguous else None))
    for group in SPELLING_VARIANTS:
        forms = [_stems(w) for w in group]
        entry = Entry("variant", group[0], _unique(forms))
        for form in forms:
            add(form, Key(entry))
    return table


_TABLE: dict[tuple[str, ...], list[Key]] | None = None
MAX_KEY_LEN = 8


def lexicon() -> dict[tuple[str, ...], list[Key]]:
    """Stem sequence -> entries (compiled once, on first use)."""
    global _TABLE
    if _TABLE is None:
        _TABLE = _compile()
    return _TABLE


def _fold(value: str) -> str:
    return " ".join(value.replace("-", " ").replace(".", " ").casefold().split())


_ORGANISMS = {
    **{_fold(sp.scientific): sp.scientific for sp in SPECIES},
    **{_fold(name): sp.scientific for sp in SPECIES for name in sp.names},
}
_ASSAY_TYPES = {_fold(word): a.types for a in ASSAYS for word in (a.name, *a.words)}


def canonical_organism(value: str) -> str:
    """Scientific name for a common or scientific name; other values come back trimmed."""
    cleaned = " ".join(value.split())
    return _ORGANISMS.get(_fold(cleaned), cleaned)


def types_for(value: str) -> tuple[str, ...]:
    """GEO series types for an assay word ("rna-seq") or a type name; else the value."""
    cleaned = " ".join(value.split())
    return _ASSAY_TYPES.get(_fold(cleaned), (cleaned,))
