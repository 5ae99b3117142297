"""The us_japan_2024 dataset: it rebuilds exactly from the facts, and its published cells keep their values."""

import csv
import importlib.util
import sys
from pathlib import Path

import numpy as np
import pytest

from sim import load_dataset
from sim.dataset import write_dataset
from sim.engine.accounting import base_split

ROOT = Path(__file__).resolve().parents[1]
SHIPPED = ROOT / "sim" / "datasets" / "us_japan_2024"


def load_build():
    spec = importlib.util.spec_from_file_location("build_us_japan", ROOT / "data" / "us_japan_2024" / "build.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def test_rebuild_from_the_facts_is_identical(tmp_path):
    load_build().write(tmp_path)
    for name in ("dataset.toml", "flows.csv", "tariffs.csv", "quotas.csv", "ownership.csv", "README.md"):
        assert (tmp_path / name).read_text() == (SHIPPED / name).read_text(), f"{name} differs: rebuild the dataset"
    assert not (tmp_path / "inputs.csv").exists()


def test_the_linked_dataset_is_the_same_data_with_inputs(tmp_path):
    """us_japan_2024_linked: the same flows, tariffs and quotas, and inputs.csv (docs/model.md, "Vertical linkages")."""
    load_build().write(tmp_path, linked=True)
    linked = SHIPPED.parent / "us_japan_2024_linked"
    for name in ("dataset.toml", "flows.csv", "tariffs.csv", "quotas.csv", "inputs.csv", "README.md"):
        assert (tmp_path / name).read_text() == (linked / name).read_text(), f"{name} differs: rebuild the dataset"
    for name in ("flows.csv", "tariffs.csv", "quotas.csv", "ownership.csv", "adjustment.csv"):
        assert (linked / name).read_text() == (SHIPPED / name).read_text(), name
    ds = load_dataset("us_japan_2024_linked")
    k, u, us = ds.sector_index("steel"), ds.sector_index("autos"), ds.region_index("USA")
    share = ds.cost_shares[k, u, us]
    output = ds.flows[u, us].sum()
    absorption = ((1 + ds.tariffs[k]) * ds.flows[k])[:, us].sum()
    assert share == pytest.approx(30925 / 176872 * absorption / output, abs=5e-5)  # BEA's 17.5% of US steel use
    derived = np.einsum("nuj,uj->nj", ds.cost_shares, ds.flows.sum(axis=-1))
    assert derived[k, us] / absorption == pytest.approx(0.89, abs=0.01)



def test_dataset_toml_escapes_source_text(tmp_path):
    """Source titles and notes with quotes, backslashes and newlines read back unchanged (issue 16, case 8)."""
    import tomllib

    build = load_build()
    awkward = 'a "quoted" title, C:\\data\\facts.csv\nand a second line\ttab'
    sigma = {code: build.Fact(2.5, "", "X1", "") for code in build.SECTOR_PARAMETERS}
    write_dataset(tmp_path, build._metadata([{"id": "X1", "title": awkward, "url": awkward, "note": awkward}], sigma),
                  [])
    text = (tmp_path / "dataset.toml").read_text(encoding="utf-8")
    source = tomllib.loads(text)["source"][-1]
    assert source == {"id": "X1", "title": awkward, "url": awkward, "note": awkward}

def test_shape_and_every_cell_documented():
    ds = load_dataset("us_japan_2024")
    assert ds.regions == ("USA", "JPN", "CHN", "KOR", "EU", "CAN", "MEX", "ROW")
    assert ds.sectors == ("steel", "autos", "aerospace_defense", "other_goods")
    assert (ds.flows > 0).all()  # every flow exists; the diagonal is domestic shipments
    with open(SHIPPED / "flows.csv", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == 4 * 8 * 8
    for row in rows:
        assert row["basis"] in ("published", "derived", "assumed") and row["source"] and row["note"]


def test_published_cells_keep_their_published_values():
    ds = load_dataset("us_japan_2024")
    steel, autos = ds.sector_index("steel"), ds.sector_index("autos")
    r = ds.region_index
    assert ds.flows[steel, r("CAN"), r("USA")] == 7140.0  # ITA steel-mill imports from Canada, USD 7.14 bn
    assert ds.flows[steel, r("KOR"), r("USA")] == 2900.0
    assert ds.flows[autos, r("EU"), r("USA")] == 45400.0  # US vehicle imports from the EU
    # Japan's vehicles + parts to the US within 1% of MOF's JPY 7.2 trn at 150.97 JPY/USD
    np.testing.assert_allclose(ds.flows[autos, r("JPN"), r("USA")], 7.2e12 / 150.97 / 1e6, rtol=0.01)


def test_us_steel_import_share_matches_the_published_market_share():
    ds = load_dataset("us_japan_2024")
    k, us = ds.sector_index("steel"), ds.region_index("USA")
    imports = ds.flows[k, :, us].sum() - ds.flows[k, us, us]
    share = imports / ds.flows[k, :, us].sum()
    assert 0.20 < share < 0.28  # AISI/SIMA: import market share 23% in 2024 (facts.csv, S4)


def test_base_steel_tariffs_collect_what_the_dataset_readme_states():
    """USD 2.31 bn a year (ROW 2.02, EU 0.19, China 0.10), 1.8 times CBP's 1.3 bn of Section 232 steel duties in
    FY2020, the latest steel-only figure; the dataset README explains the difference (issue 18, item 3)."""
    ds = load_dataset("us_japan_2024")
    k, us = ds.sector_index("steel"), ds.region_index("USA")
    revenue_cells, rent = base_split(ds.flows, ds.tariffs, ds.quotas)  # the EU's in-quota tonnes pay nothing
    revenue = float(revenue_cells[k, :, us].sum())
    # 3.3 Mt x 1,530 USD/t (EU->USA value / EUROFER's 3.8 Mt) at 25%
    assert float(rent[k].sum()) == pytest.approx(0.25 * 3.3 * 5813.46 / 3.8, rel=1e-6)
    assert round(revenue / 1000, 2) == 2.31
    by_exporter = {r: round(float(revenue_cells[k, ds.region_index(r), us]) / 1000, 2) for r in ("ROW", "EU", "CHN")}
    assert by_exporter == {"ROW": 2.02, "EU": 0.19, "CHN": 0.10}
    readme = (SHIPPED / "README.md").read_text(encoding="utf-8")
    assert "collect USD 2.31 bn a year" in readme and "the base collects 1.8 times FY2020's" in readme
    assert round(revenue / 1000 / 1.3, 1) == 1.8


def test_published_home_shares_of_canadian_and_mexican_autos():
    """Domestic shipments = the published share of output sold at home (CVMA 7.7%, INEGI/AMIA 12.8%)."""
    with open(SHIPPED / "flows.csv", encoding="utf-8") as fh:
        rows = {(r["sector"], r["exporter"], r["importer"]): r for r in csv.DictReader(fh)}
    for region, share in (("CAN", "7.7%"), ("MEX", "12.8%")):
        assert f"published share of output sold at home, {share}" in rows[("autos", region, region)]["note"]
