"""Dataset folders (docs/model.md "Datasets"): the built-in example, and every kind of bad file reported together."""

import shutil
from pathlib import Path

import numpy as np
import pytest

from sim import InputError, builtin_datasets, load_dataset
from sim.dataset import BUILTIN_DIR


def test_builtin_illustrative_dataset():
    assert "illustrative" in builtin_datasets()
    ds = load_dataset("illustrative")
    assert ds.regions == ("USA", "JPN", "CHN", "ROW")
    assert ds.sectors == ("steel", "autos")
    assert ds.flows.shape == (2, 4, 4) and ds.tariffs.shape == (2, 4, 4)
    steel, usa, chn, row = 0, 0, 2, 3
    assert ds.flows[steel, usa, usa] == 100000  # domestic shipments on the diagonal
    assert ds.flows[steel, chn, usa] == 1500
    assert ds.tariffs[steel, chn, usa] == 0.25
    assert ds.tariffs[1, row, row] == 0.02  # an aggregate region's internal border
    assert ds.eps[steel, chn] == 1.0 and ds.eps[steel, usa] == 2.0  # per-region override
    assert ds.sigma.tolist() == [5.9, 5.6] and ds.eta.tolist() == [-0.7, -1.0]


def test_every_builtin_flow_row_documents_its_basis():
    for name in builtin_datasets():
        text = (BUILTIN_DIR / name / "flows.csv").read_text().splitlines()
        header = text[0].split(",")
        assert {"basis", "source", "note"} <= set(header)
        for line in text[1:]:
            row = dict(zip(header, line.split(",", len(header) - 1)))
            assert row["basis"] in ("published", "derived", "assumed") and row["source"] and row["note"]


@pytest.fixture
def copy(tmp_path):
    target = tmp_path / "ds"
    shutil.copytree(BUILTIN_DIR / "illustrative", target)
    return target


def messages(path: Path) -> str:
    with pytest.raises(InputError) as info:
        load_dataset(str(path))
    return str(info.value)


def test_dataset_found_by_relative_path(copy):
    ds = load_dataset("ds", relative_to=copy.parent)
    assert ds.path == copy
    np.testing.assert_array_equal(ds.flows, load_dataset("illustrative").flows)


def test_unknown_dataset_suggests_the_closest_name():
    with pytest.raises(InputError, match="did you mean 'illustrative'"):
        load_dataset("ilustrative")


def test_all_problems_at_once_with_file_line_and_value(copy):
    flows = copy / "flows.csv"
    text = flows.read_text()
    text = text.replace("steel,USA,JPN,200,", "steel,USA,JNP,200,")
    text = text.replace("steel,USA,CHN,300,", "steel,USA,CHN,-300,")
    text = text.replace("autos,USA,JPN,2000,assumed", "autos,USA,JPN,2000,guessed")
    text += "steel,JPN,USA,7,assumed,ILL,duplicate\n"
    flows.write_text(text)
    (copy / "tariffs.csv").write_text("sector,exporter,importer,rate\nsteal,CHN,USA,0.25\n")
    msg = messages(copy)
    assert "flows.csv: line 3: unknown importer 'JNP' (did you mean 'JPN'?)" in msg
    assert "flows.csv: line 4: value must be a finite number >= 0, got '-300'" in msg
    assert "basis must be one of published, derived, assumed, got 'guessed'" in msg
    assert "duplicate row for steel JPN->USA (first on line 6)" in msg
    assert "tariffs.csv: line 2: unknown sector 'steal' (did you mean 'steel'?)" in msg


def test_bad_header_and_elasticities(copy):
    toml = copy / "dataset.toml"
    toml.write_text(toml.read_text().replace("sigma = 5.9", "sigma = -1").replace("eta = -1.0", "eta = 0.5")
                    .replace('unit = "USD million"', 'unit = "USD million"\nbase_yaer = 2024'))
    msg = messages(copy)
    assert "sector[1].sigma: must be > 0, got -1.0" in msg
    assert "sector[2].eta: must be < 0, got 0.5" in msg
    assert "base_yaer: unknown key (did you mean 'base_year'?)" in msg


def test_missing_and_broken_files(copy):
    (copy / "flows.csv").unlink()
    assert "flows.csv: file is missing" in messages(copy)
    (copy / "dataset.toml").write_text("name = 'x\n")
    assert "not valid TOML" in messages(copy)


def test_unknown_csv_column(copy):
    (copy / "supply_elasticities.csv").write_text("sector,region,epsilon\nsteel,USA,2\n")
    msg = messages(copy)
    assert "missing column 'eps'" in msg and "unknown column 'epsilon'" in msg


def test_infinite_supply_elasticity_in_csv(copy):
    (copy / "supply_elasticities.csv").write_text("sector,region,eps\nsteel,ROW,inf\n")
    assert np.isinf(load_dataset(str(copy)).eps[0, 3])
