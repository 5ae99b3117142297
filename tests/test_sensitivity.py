"""One-at-a-time sensitivity (res.sensitivity, run --sensitivity): one batch, flat at cv 0, checked against runs."""

from pathlib import Path

import pytest
from click.testing import CliRunner

import sim
from sim.cli import main

ROOT = Path(__file__).resolve().parents[1]
FLAGSHIP = ROOT / "scenarios" / "steel_tariff_with_investment.toml"


@pytest.fixture(scope="module")
def flagship():
    return sim.run(FLAGSHIP)


def test_at_cv_zero_the_sensitivity_is_flat(flagship):
    table = flagship.sensitivity(cv=0.0).table
    central = flagship.welfare_by_region(2030).loc["USA", "net_welfare"]
    assert (table["swing"] == 0).all()
    assert (table["net_welfare_low"] == central).all() and (table["net_welfare_high"] == central).all()


def test_each_variant_equals_a_run_with_that_elasticity_moved(flagship):
    result = flagship.sensitivity(cv=0.3)
    table = result.table
    assert result.region == "USA" and result.year == 2030 and len(table) == 3 * 4
    assert list(table["swing"]) == sorted(table["swing"], reverse=True)
    top = table.iloc[0]
    assert (top["sector"], top["parameter"]) == ("steel", "sigma")
    case = flagship.case
    moved = sim.run(case.replace(elasticities=(sim.ElasticityOverride(sector="steel", sigma=2.95 * 1.3),)))
    assert top["net_welfare_high"] == pytest.approx(moved.welfare_by_region(2030).loc["USA", "net_welfare"],
                                                    rel=1e-9)
    # sectors the scenario does not shock do not move
    assert (table.loc[table["sector"] != "steel", "swing"] == 0).all()


def test_cli_sensitivity_writes_csv_and_tornado(tmp_path):
    out = tmp_path / "s"
    result = CliRunner().invoke(main, ["run", str(FLAGSHIP), "--sensitivity", "--cv", "0.2", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "Sensitivity of USA's net welfare, all sectors, 2030" in result.output
    assert (out / "sensitivity.csv").read_text().splitlines()[0] == ",".join(sim.sensitivity.SENSITIVITY_COLUMNS)
    assert (out / "plots" / "sensitivity.png").is_file()
    bad = CliRunner().invoke(main, ["run", str(FLAGSHIP), "--sensitivity", "--cv", "1.5", "--out", str(tmp_path / "b")])
    assert bad.exit_code == 2 and "Traceback" not in bad.output


def test_readme_sensitivity_sentence_matches(flagship):
    table = flagship.sensitivity(cv=0.3).table
    steel = table[table["sector"] == "steel"]["swing"] / 1000
    assert round(steel.min(), 1) == 0.6 and round(steel.max(), 1) == 0.7
    assert "move the US result by USD 0.6–0.7 bn" in (ROOT / "README.md").read_text(encoding="utf-8")
