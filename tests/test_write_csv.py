"""write_csv (issue 22) writes the bytes pandas' to_csv wrote before, for every kind of cell a table holds."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sim.output import FLOAT_FORMAT, _text_escaped, write_csv

EDGE_FLOATS = [0.0, -0.0, np.nan, np.inf, -np.inf, 1e-300, 5e-324, 1.7976931348623157e308, 1e22, 1e23, 1e-5,
               1e-4, 9.9999999995, 0.5, 2.5, 123456789012.0, 1234567890.5, 0.00009999999999, 999999999.95, 1e10,
               -3.25, 1e16, 0.1 + 0.2]
EDGE_TEXTS = ["plain", "a, comma", 'a "quote"', "two\nlines", "carriage\rreturn", "=SUM(A1)", "+1", "-1", "@x",
              "\ttab", "", "café ünïcode", "'=already", " spaced ", "long run"]


def before(table, path):
    _text_escaped(table).to_csv(path, index=False, float_format=FLOAT_FORMAT)


def assert_same_bytes(table, tmp_path):
    before(table, tmp_path / "before.csv")
    write_csv(table, tmp_path / "now.csv")
    assert (tmp_path / "now.csv").read_bytes() == (tmp_path / "before.csv").read_bytes()


def test_floats_and_texts_of_every_kind(tmp_path):
    rng = np.random.default_rng(7)
    n = 5000
    floats = np.concatenate([EDGE_FLOATS, rng.normal(0, 1, n) * 10.0 ** rng.integers(-30, 30, n)])
    texts = np.array(EDGE_TEXTS, dtype=object)[np.arange(len(floats)) % len(EDGE_TEXTS)]
    table = pd.DataFrame({"scenario": "s", "region": texts, "text_with_gaps": np.where(floats > 0, texts, None),
                          "value": floats, "small": floats * 1e-12, "count": np.arange(len(floats)),
                          "flag": floats > 0})
    table["str_column"] = table["region"].astype("str")
    assert_same_bytes(table, tmp_path)


@pytest.mark.parametrize("table", [
    pd.DataFrame({"year": [2025, "long run"], "value": [1.0, 2.0]}),  # years beside "long run": pandas writes it
    pd.DataFrame({"value": [1.0, np.nan, ""]}),  # one column: csv quotes an empty row
    pd.DataFrame({"a": pd.array([1, None], dtype="Int64"), "b": [0.5, 1.5]}),  # an extension dtype
    pd.DataFrame({"a": pd.Series([], dtype=str), "b": pd.Series([], dtype=float)}),  # no rows
    pd.DataFrame({"a": ["x"] * 70000, "b": np.linspace(0, 1, 70000)}),  # more rows than one chunk
    pd.DataFrame({"a": pd.Series([["l"], "x"], dtype=object), "b": [1.0, 2.0]}),  # a cell no set can hold
], ids=["mixed_year", "one_column", "extension_dtype", "empty", "chunks", "unhashable_cell"])
def test_tables_pandas_still_writes_or_edge_shapes(table, tmp_path):
    assert_same_bytes(table, tmp_path)


def test_a_runs_tables_are_written_as_before(tmp_path):
    from sim import run
    from sim.output import output_tables

    res = run(Path(__file__).resolve().parents[1] / "scenarios" / "steel_tariff_with_investment.toml")
    for table in output_tables([res.by_scenario], [res]).values():
        assert_same_bytes(table, tmp_path)
