"""Expression values as one compressed array per dataset, on every store backend."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
from de_data import GDS507, GPL97

from omicsoracle.analysis.expression import dataset_groups, find_group, gene_symbols, load_matrix
from omicsoracle.ingest import ingest_paths
from omicsoracle.store import Store


def test_matrix_blob_written_once_and_rebuilt_when_stale(store: Store) -> None:
    ingest_paths(store, [GDS507, GPL97])
    assert store.expression_matrix("GDS507") is None
    first = load_matrix(store, "GDS507")
    assert first is not None
    assert first.values.shape == (22645, 17)
    assert first.probes[0] == "200000_s_at"
    assert first.values[0, 0] == 4254.0

    stored = store.expression_matrix("GDS507")
    assert stored is not None
    source, blob = stored
    assert source == store.data_table_hash("GDS507")
    # Compact: well under the 3 MB of raw float64 values, and plain arrays only.
    assert len(blob) < 2_500_000
    with np.load(io.BytesIO(blob), allow_pickle=False) as z:
        assert sorted(z.files) == ["identifiers", "probes", "samples", "values"]

    again = load_matrix(store, "GDS507")
    assert again is not None
    np.testing.assert_array_equal(again.values, first.values)
    assert store.expression_matrix("GDS507") == stored  # read, not rewritten

    store.put_expression_matrix("GDS507", "stale", (1, 1), b"not an npz")
    rebuilt = load_matrix(store, "GDS507")
    assert rebuilt is not None
    np.testing.assert_array_equal(rebuilt.values, first.values)
    assert store.expression_matrix("GDS507") == stored


def test_no_table_no_matrix(store: Store, tmp_path: Path) -> None:
    ingest_paths(store, [GPL97])
    assert load_matrix(store, "GDS507") is None
    assert store.data_table_hash("GDS507") is None


def test_groups_and_gene_symbols(store: Store) -> None:
    ingest_paths(store, [GDS507, GPL97])
    record = store.get("GDS507")
    assert record is not None
    groups = dataset_groups(record)
    rcc = find_group(groups, "Disease State:rcc")
    assert rcc is not None
    assert len(rcc.samples) == 9
    assert find_group(groups, "disease state:nope") is None
    symbols = gene_symbols(store, "GPL97", np.array(["200000_s_at", "222847_s_at", "nope"]))
    assert symbols == ["PRPF8", "EGLN3", None]
