"""Write GSE781_from_GDS507_series_matrix.txt.gz: a series matrix with values, from real data.

No series matrix with a value table is bundled (GSE99709's table is empty: RNA-seq), so
this derives one from GDS507, the curated DataSet of GSE781's HG-U133B (GPL97) samples:
the same 17 sample columns and 22,645 probe rows as GDS507's value table, each sample's
GDS "disease state" subset as its ``!Sample_characteristics_ch1``, in GEO's series
matrix layout. Run from the repository root:

    .venv/bin/python tests/data/series_matrix/derive_gse781.py
"""

from __future__ import annotations

import gzip
from pathlib import Path

HERE = Path(__file__).resolve().parent
GDS = HERE.parent / "soft" / "GDS507.soft.gz"
OUT = HERE / "GSE781_from_GDS507_series_matrix.txt.gz"


def main() -> None:
    with gzip.open(GDS, "rt", encoding="utf-8") as fh:
        lines = fh.read().splitlines()
    # A subset's lines come in any order after its "^SUBSET" line: collect, then use.
    subsets: list[dict[str, str]] = []
    for line in lines:
        if line.startswith("^SUBSET"):
            subsets.append({})
        elif line.startswith("!subset_") and subsets:
            name, _, value = line[len("!subset_") :].partition("=")
            subsets[-1][name.strip()] = value.strip()
    state = {
        sample.strip(): f"{s['type']}: {s['description']}"
        for s in subsets
        if s.get("type") == "disease state"
        for sample in s["sample_id"].split(",")
    }
    start, end = lines.index("!dataset_table_begin"), lines.index("!dataset_table_end")
    header = lines[start + 1].split("\t")
    samples = [h for h in header if h.startswith("GSM")]
    columns = [header.index(s) for s in samples]
    out = [
        '!Series_title\t"Renal clear cell carcinoma (HG-U133B)"',
        '!Series_geo_accession\t"GSE781"',
        '!Series_platform_id\t"GPL97"',
        "!Sample_geo_accession\t" + "\t".join(f'"{s}"' for s in samples),
        "!Sample_characteristics_ch1\t" + "\t".join(f'"{state.get(s, "")}"' for s in samples),
        "!series_matrix_table_begin",
        "\t".join(['"ID_REF"'] + [f'"{s}"' for s in samples]),
    ]
    for row in lines[start + 2 : end]:
        cells = row.split("\t")
        out.append("\t".join([f'"{cells[0]}"'] + [cells[i] for i in columns]))
    out.append("!series_matrix_table_end")
    with gzip.open(OUT, "wt", encoding="utf-8", compresslevel=9) as fh:
        fh.write("\n".join(out) + "\n")


if __name__ == "__main__":
    main()
