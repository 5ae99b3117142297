"""write_dataset: the one writer of dataset folders; whatever it writes, load_dataset reads back unchanged."""

import csv
import math
import shutil
import tomllib
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

import sim
from sim.cli import main
from sim.dataset import write_dataset
from sim.escape import unspreadsheet_text

#: Text that breaks naive writers: quotes, commas, backslashes, Unicode, line breaks, tabs, formulas.
AWKWARD = [
    'say "hello", world',
    "C:\\data\\new\\table.csv",
    "Côte d’Ivoire, 日本, Ελλάδα ✓ \U0001f30d",
    "two\nlines\r\nand a carriage return\rhere",
    "\ttab first, then\ttab",
    "=HYPERLINK(\"http://x\", \"click\")",
    "+1-2@3 ; semicolon; a lone carriage return\rthat csv's writer leaves unquoted",
    "trailing backslash \\",
    "'quoted' with apostrophes and \"\"\"triple\"\"\"",
    "control \x00\x07\x1b\x7f and a form feed\x0c and a line separator\u2028",
    "[[region]]\ncode = \"XXX\"",
    "# not a comment",
]


def awkward_meta(texts=AWKWARD):
    """A two-region, two-sector dataset.toml with every text awkward."""
    return {
        "#": "generated\nby a test, with a second line",
        "name": texts[0], "title": texts[1], "base_year": 2024, "unit": texts[2], "description": texts[3],
        "region": [{"code": "USA", "name": texts[4]}, {"code": "JPN", "name": texts[5]}],
        "sector": [{"#": texts[6], "code": "steel", "name": texts[7], "sigma": 2.95, "eta": -1.0, "eps": math.inf},
                   {"code": "autos", "name": texts[8], "sigma": 3, "eta": -0.5, "eps": 0.1 + 0.2}],
        "source": [{"id": "S1", "title": texts[9], "url": texts[10], "note": texts[11]},
                   {"id": texts[0], "title": texts[3], "url": ""}],
    }


def flow_rows(notes):
    return [("steel", "USA", "USA", 100.0, "published", "S1", notes[0]),
            ("steel", "JPN", "USA", 12.3456789, "derived", "S1", notes[1]),
            ("steel", "USA", "JPN", 0.0, "assumed", "", notes[2]),
            ("steel", "JPN", "JPN", 80.0, "derived", "S1;S1", notes[3]),
            ("autos", "USA", "USA", 500.0, "published", "S1", notes[4]),
            ("autos", "JPN", "USA", 45.0, "derived", "S1", notes[5]),
            ("autos", "USA", "JPN", 1.0 / 3.0, "derived", "S1", notes[6]),
            ("autos", "JPN", "JPN", 400.0, "derived", "S1", notes[7])]


def without_comments(meta):
    return {key: [{k: v for k, v in t.items() if k != "#"} for t in value] if isinstance(value, list) else value
            for key, value in meta.items() if key != "#"}


def test_awkward_text_reads_back_unchanged(tmp_path):
    meta = awkward_meta()
    tariffs = [("steel", "JPN", "USA", 0.0, "published", "S1", AWKWARD[5])]  # below its quota: the in-quota rate
    supply = [("steel", "USA", 0.8, "derived", "S1", AWKWARD[3]), ("autos", "JPN", math.inf, "assumed", "", "")]
    quotas = [("steel", "JPN", "USA", 20.0, 0.0, math.inf, "exporter", "derived", "S1", AWKWARD[6])]
    written = write_dataset(tmp_path, meta, flow_rows(AWKWARD), tariffs, supply_elasticities=supply, quotas=quotas)
    assert [p.name for p in written] == ["flows.csv", "tariffs.csv", "supply_elasticities.csv", "quotas.csv",
                                         "dataset.toml"]

    ds = sim.load_dataset(tmp_path)
    assert (ds.name, ds.title, ds.unit, ds.base_year) == (meta["name"], meta["title"], meta["unit"], 2024)
    assert ds.region_names == {"USA": AWKWARD[4], "JPN": AWKWARD[5]}
    assert ds.sector_names == {"steel": AWKWARD[7], "autos": AWKWARD[8]}
    assert list(ds.sources) == meta["source"]
    assert ds.sigma.tolist() == [2.95, 3.0] and ds.eta.tolist() == [-1.0, -0.5]
    assert ds.eps.tolist() == [[0.8, math.inf], [0.1 + 0.2, math.inf]]
    assert ds.flows[1, 0, 1] == 1.0 / 3.0 and ds.flows[0, 1, 0] == 12.3456789  # shortest exact text by default
    assert ds.quotas.volume[0, 1, 0] == 20.0 and ds.quotas.out_rate[0, 1, 0] == math.inf

    assert tomllib.loads((tmp_path / "dataset.toml").read_text(encoding="utf-8")) == without_comments(meta)
    with open(tmp_path / "flows.csv", encoding="utf-8", newline="") as fh:
        notes = [row["note"] for row in csv.DictReader(fh)]
    assert [unspreadsheet_text(note) for note in notes] == AWKWARD[:8]
    assert notes[4] == "'" + AWKWARD[4] and notes[5] == "'" + AWKWARD[5]  # a spreadsheet shows them as text


def test_numbers_are_written_to_the_decimals_asked_for(tmp_path):
    meta = awkward_meta()
    rows = flow_rows(["n"] * 8)
    write_dataset(tmp_path, meta, rows, [("steel", "JPN", "USA", 0.123456789, "derived", "S1", "")],
                  decimals={"value": 3, "rate": 4})
    lines = (tmp_path / "flows.csv").read_text(encoding="utf-8").splitlines()
    assert lines[0] == "sector,exporter,importer,value,basis,source,note"
    assert lines[2] == "steel,JPN,USA,12.346,derived,S1,n" and lines[7] == "autos,USA,JPN,0.333,derived,S1,n"
    assert (tmp_path / "tariffs.csv").read_text(encoding="utf-8").splitlines()[1] == "steel,JPN,USA,0.1235,derived,S1,"
    toml = (tmp_path / "dataset.toml").read_text(encoding="utf-8")
    assert "sigma = 2.95\neta = -1.0\neps = inf\n" in toml and "sigma = 3\n" in toml
    assert toml.startswith("# generated\\nby a test, with a second line\nname = ")
    assert not (tmp_path / "quotas.csv").exists() and not (tmp_path / "supply_elasticities.csv").exists()


def test_values_the_format_cannot_hold_are_refused_and_nothing_is_written(tmp_path):
    meta = awkward_meta()
    meta["region"][0]["name"] = "half a surrogate \ud800"
    meta["sector"][1]["sigma"] = math.nan
    rows = flow_rows(["n"] * 8)
    rows[1] = ("steel", "JPN", "USA", math.nan, "derived", "S1", "")
    rows[2] = ("steel", "USA", "JPN", 1.0, "derived", "S1 S9", "")
    rows[3] = ("steel", "JPN", "JPN", 1.0, "derived", "=S1", "")
    rows[4] = ("autos", "USA", "USA", 1.0, "derived")
    tariffs = [("steel", "JPN", "USA", math.inf, "derived", "S1", "")]
    supply = [("steel", "USA", -math.inf, "derived", "S1", "")]
    with pytest.raises(sim.InputError) as caught:
        write_dataset(tmp_path / "out", meta, rows, tariffs, supply_elasticities=supply)
    assert [str(p) for p in caught.value.problems] == [
        "flows.csv: row 2.value: must be a finite number, got nan",
        "flows.csv: row 3.source: source 'S9' is not among dataset.toml's sources",
        "flows.csv: row 4.source: source ids must not start with a formula character (= + - @ tab), got '=S1'",
        "flows.csv: row 5: 5 values, expected 7 (sector,exporter,importer,value,basis,source,note)",
        "tariffs.csv: row 1.rate: must be a finite number, got inf",
        "supply_elasticities.csv: row 1.eps: must be a number (inf allowed), got -inf",
        "dataset.toml: sector[2].sigma: must be text or a number, got nan",
        "dataset.toml: text that cannot be written as UTF-8: '\\ud800'",
    ]
    assert not (tmp_path / "out").exists()


#: name, title and unit must hold some text; every other text may be anything, empty included.
required = st.lists(st.text(min_size=1, max_size=30).filter(str.strip), min_size=3, max_size=3)
anything = st.lists(st.text(max_size=30), min_size=9, max_size=9)


@settings(max_examples=60, derandomize=True, deadline=None)
@given(required, anything)
def test_any_text_reads_back_unchanged(tmp_path_factory, first, rest):
    """Fixed examples (derandomized): any Unicode text, as name, title, region, sector, source or note."""
    texts = first + rest
    folder = tmp_path_factory.mktemp("any")
    meta = awkward_meta(texts)
    write_dataset(folder, meta, flow_rows(texts))
    ds = sim.load_dataset(folder)
    assert (ds.name, ds.title, ds.unit) == (texts[0], texts[1], texts[2])
    assert ds.region_names == {"USA": texts[4], "JPN": texts[5]}
    assert ds.sector_names == {"steel": texts[7], "autos": texts[8]} and list(ds.sources) == meta["source"]
    with open(folder / "flows.csv", encoding="utf-8", newline="") as fh:
        assert [unspreadsheet_text(row["note"]) for row in csv.DictReader(fh)] == texts[:8]
    assert np.isclose(ds.flows.sum(), sum(row[3] for row in flow_rows(texts)))


def test_the_baci_builder_writes_through_it(tmp_path):
    """A production source with a lone carriage return: the note's row stays whole and the dataset loads."""
    data = Path(__file__).resolve().parent / "data" / "baci"
    inputs = shutil.copytree(data, tmp_path / "in")
    text = (data / "production.csv").read_text(encoding="utf-8")
    (inputs / "production.csv").write_bytes(text.replace("illustrative", '"illus\rtrative"', 1).encode())
    args = ["dataset", "build", "--year", "2022", "--name", "baci_demo", "--out", str(tmp_path / "out")]
    for option in ("trade=baci_2022", "countries=country_codes", "products", "sectors", "regions", "production",
                   "tariffs"):
        key, _, name = option.partition("=")
        args += [f"--{key}", str(inputs / f"{name or key}.csv")]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    ds = sim.load_dataset(tmp_path / "out")
    assert ds.flows[ds.sector_index("steel"), ds.region_index("USA"), ds.region_index("USA")] == 100.0
    with open(tmp_path / "out" / "flows.csv", encoding="utf-8", newline="") as fh:
        assert csv.DictReader(fh).__next__()["note"] == 'output 100.0 (illus\rtrative) less exports 0.0'


@pytest.mark.parametrize("places", [None, 6])
def test_rows_written_column_by_column_are_the_rows_written_one_by_one(monkeypatch, places):
    """The column-wise writing of usual rows (issue 22) gives the bytes of the row-by-row writer, whatever the cells."""
    import sim.dataset_writer as writer

    values = [0.1, 1 / 3, 1e300, -0.0, 5e-324, np.float64(2.5), 123456789.123456789, 0.0]
    texts = ["steel", "=SUM(A1)", 'a "b", c', "two\nlines", 7, None, "é", "steel"]
    rows = [(text, "JPN", "USA", value, "derived", "S1 S2" if n % 2 else "S1", texts[-1 - n])
            for n, (text, value) in enumerate(zip(texts, values))]
    for variant in (rows, rows + [("steel", "JPN", "USA", 3, "derived", "S1", "")],  # an int: written row by row
                    rows + [("steel", "JPN", "USA", np.float32(0.1), "derived", "S1", "")]):
        fast = writer._csv_text("flows.csv", iter(variant), {"value": places} if places else {}, {"S1", "S2"}, [])
        monkeypatch.setattr(writer, "_csv_rows_by_column", lambda *args: None)
        slow = writer._csv_text("flows.csv", iter(variant), {"value": places} if places else {}, {"S1", "S2"}, [])
        monkeypatch.undo()
        assert fast == slow


def test_a_text_equal_to_another_cells_text_but_of_another_type_is_written_as_itself(monkeypatch):
    """A str Enum equals (and hashes as) its value; column-wise, one set of the cells kept the plain text first
    seen and wrote the member as that text, where the row-by-row writer writes str(member)."""
    import enum

    import sim.dataset_writer as writer

    class Basis(str, enum.Enum):  # noqa: UP042 - a StrEnum writes as its value; this mixin does not
        DERIVED = "derived"

    rows = [("steel", "USA", "JPN", 1.0, "derived", "S1", ""), ("steel", "USA", "CHN", 2.0, Basis.DERIVED, "S1", "")]
    fast = writer._csv_text("flows.csv", iter(rows), {}, {"S1"}, [])
    monkeypatch.setattr(writer, "_csv_rows_by_column", lambda *args: None)
    slow = writer._csv_text("flows.csv", iter(rows), {}, {"S1"}, [])
    assert fast == slow and str(Basis.DERIVED) in slow
