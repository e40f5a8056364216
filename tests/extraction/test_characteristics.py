"""Sample characteristics normalised into facet-able key/value pairs."""

from __future__ import annotations

import pytest

from omicsoracle.extraction.characteristics import normalize, normalize_key, normalize_value


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Tissue", ("tissue", None)),
        ("organism part", ("tissue", None)),
        ("originating tissue", ("tissue", None)),
        ("gender of donor", ("sex", None)),
        ("Age (wk)", ("age", "wk")),
        ("cell_type", ("cell type", None)),
        ("treated with", ("treatment", None)),
    ],
)
def test_keys(raw: str, expected: tuple[str, str | None]) -> None:
    assert normalize_key(raw) == expected


@pytest.mark.parametrize(
    ("key", "value", "unit", "expected"),
    [
        ("tissue", "Liver", None, "liver"),
        ("tissue", "  peripheral   blood ", None, "peripheral blood"),
        ("age", "12 weeks", None, "12 wk"),
        ("age", "12", "wk", "12 wk"),
        ("age", "53", None, "53"),
        ("sex", "M", None, "male"),
        ("cell line", "RPMI-8226", None, "RPMI-8226"),
        ("strain", "C57BL/6J", None, "C57BL/6J"),
        ("tissue", "tumour", None, "tumor"),
    ],
)
def test_values(key: str, value: str, unit: str | None, expected: str) -> None:
    assert normalize_value(key, value, unit) == expected


def test_real_sample_lines() -> None:
    # GSM lines of the MINiML fixture GSE100007 and the SOFT fixtures.
    pairs = [("age", "12 weeks"), ("Tissue", "Liver"), ("gender of donor", "male"), ("", "x")]
    got = [(c.key, c.value, c.raw) for c in normalize("GSM1", pairs)]
    assert got == [
        ("age", "12 wk", "age: 12 weeks"),
        ("tissue", "liver", "Tissue: Liver"),
        ("sex", "male", "gender of donor: male"),
        ("characteristic", "x", "x"),
    ]
