"""The Python API a notebook user meets: labelled frames, short reprs, welfare by region, code-built scenarios."""

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose

import sim
import sim.dataset
from sim.tables import FLOW_COLUMNS, PRICE_COLUMNS, WELFARE_COLUMNS

ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = ROOT / "scenarios"


@pytest.fixture(scope="module")
def flagship():
    return sim.run(SCENARIOS / "steel_tariff_with_investment.toml")


def test_frames_have_named_levels_and_tidy_tables_are_them_reset(flagship):
    f = flagship.frames
    assert f.flows.index.names == ["year", "sector", "exporter", "importer"]
    assert f.prices.index.names == f.welfare.index.names == ["year", "sector", "region"]
    assert list(flagship.flows.columns) == FLOW_COLUMNS
    assert list(flagship.prices.columns) == PRICE_COLUMNS
    assert list(flagship.welfare.columns) == WELFARE_COLUMNS
    value = f.flows.loc[(2030, "steel", "JPN", "USA"), "value"]
    tidy = flagship.flows.set_index(["year", "sector", "exporter", "importer"]).loc[(2030, "steel", "JPN", "USA")]
    assert tidy["value"] == value and tidy["scenario"] == flagship.name
    assert_allclose(value, flagship.solution.flows[-1, 0, 1, 0], rtol=0)  # labelled once, straight from the array


def test_static_results_are_labelled_long_run_everywhere(tmp_path):
    res = sim.run(SCENARIOS / "steel_232_2025.toml")
    assert res.years == ("long run",) and res.static
    assert set(res.welfare["year"]) == set(res.flows["year"]) == {"long run"}
    assert "long run" in repr(res)
    res.write(tmp_path, plots=False)
    assert set(pd.read_csv(tmp_path / "welfare.csv")["year"]) == {"long run"}
    record = json.loads((tmp_path / "run.json").read_text())
    assert record["scenarios"][0]["years"] == ["long run"]


def test_repr_is_short_and_html_is_a_small_headline_table(flagship):
    text = repr(flagship)
    assert len(text) < 500 and text.count("\n") <= 3
    assert "steel_tariff_with_investment" in text and "converged" in text and "USA -1,371" in text
    html = flagship._repr_html_()
    assert len(html) < 3000 and "<table" in html and "-1,371" in html and "World" in html


def test_welfare_by_region_checks_the_year_and_adds_the_world(flagship):
    with pytest.raises(ValueError, match=r"year 2040 is not in the results of 'steel_tariff_with_investment' "
                                         r"\(years: 2025, 2026, 2027, 2028, 2029, 2030\)"):
        flagship.welfare_by_region(2040)
    table = flagship.welfare_by_region(2026, world=True)
    assert list(table.index)[-1] == "World"
    assert_allclose(table.loc["World"], table.drop("World").sum())
    assert_allclose(table.loc["USA", "net_welfare"], -2493.5, atol=0.5)


def test_write_is_what_the_cli_writes(flagship, tmp_path):
    flagship.write(tmp_path / "out")
    names = sorted(p.name for p in (tmp_path / "out").iterdir())
    assert names == [".tradesim-manifest.json", "flows.csv", "investment_returns.csv", "investments.csv", "plots",
                     "prices.csv", "run.json", "welfare.csv", "welfare_by_owner.csv"]
    assert sorted(p.name for p in (tmp_path / "out" / "plots").iterdir()) == [
        "imports_USA.png", "prices.png", "welfare.png", "welfare_by_owner.png", "welfare_path.png"]


def test_run_json_records_what_reproduces_the_run(flagship, tmp_path):
    flagship.write(tmp_path, plots=False)
    record = json.loads((tmp_path / "run.json").read_text())
    assert set(record["packages"]) >= {"numpy", "scipy", "pandas", "python"}
    assert record["timestamp"].endswith("+00:00")
    entry = record["scenarios"][0]
    path = SCENARIOS / "steel_tariff_with_investment.toml"
    import hashlib

    assert entry["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
    assert not Path(entry["file"]).is_absolute()
    assert entry["elasticities"]["steel"]["sigma"] == pytest.approx(2.95)
    assert set(entry["elasticities"]["steel"]["eps"]) == set(flagship.info.regions)
    assert set(entry["dataset"]["files_sha256"]) == {"dataset.toml", "flows.csv", "tariffs.csv",
                                                     "supply_elasticities.csv", "quotas.csv", "adjustment.csv",
                                                     "ownership.csv"}
    assert entry["elasticities"]["steel"]["eps"]["USA"] == pytest.approx(0.8)  # the calibrated US supply
    by_year = {y["year"]: y for y in entry["shocks_in_force"]}
    assert {t["rate"] for t in by_year[2025]["tariffs"]} == {0.347, 0.395, 0.375}  # time-weighted by partner
    assert {t["rate"] for t in by_year[2030]["tariffs"]} == {0.5, 0.491}  # ROW: its UK part at 25%
    assert by_year[2028]["supply_shifts"] == []  # the mill operates from 2029; no displacement of Japan's supply
    assert [(s["region"], round(s["shift"], 6)) for s in by_year[2030]["supply_shifts"]] == [("USA", 0.029072)]
    assert entry["scenario"]["tariff"][0]["exporter"] == ["JPN", "KOR", "CAN", "MEX"]


def test_the_sha256_is_taken_when_the_file_is_read(tmp_path):
    path = tmp_path / "s.toml"
    path.write_text((SCENARIOS / "example_steel_tariff.toml").read_text())
    case = sim.load_scenario(path)
    path.write_text("changed after reading")
    res = sim.run(case)
    import hashlib

    assert res.scenario.sha256 == hashlib.sha256((SCENARIOS / "example_steel_tariff.toml").read_bytes()).hexdigest()


def test_each_dataset_is_parsed_once_per_call(monkeypatch):
    calls = []
    real = sim.case.load_dataset

    def counting(*args, **kwargs):
        calls.append(args[0])
        return real(*args, **kwargs)

    monkeypatch.setattr(sim.case, "load_dataset", counting)
    cases = sim.validate([SCENARIOS / "steel_232_2025.toml", SCENARIOS / "steel_50pct_2025.toml",
                          SCENARIOS / "autos_232_2025.toml"])
    assert calls == ["us_japan_2024"]
    assert cases[0].dataset is cases[2].dataset


def test_codes_are_checked_once(monkeypatch):
    calls = []
    real = sim.case.check_codes
    monkeypatch.setattr(sim.case, "check_codes", lambda *a: calls.append(1) or real(*a))
    sim.run(SCENARIOS / "example_steel_tariff.toml")
    assert calls == [1]


class TestScenariosInCode:
    def test_plain_string_codes_are_one_code_not_letters(self):
        tariff = sim.Tariff(sector="autos", importer="JPN", exporter="USA", rate=0.10)
        assert tariff.sector == ("autos",) and tariff.importer == ("JPN",)
        assert sim.Tariff(sector="*", importer=["USA", "JPN"], exporter="CHN", rate=0.1).importer == ("USA", "JPN")
        assert sim.DemandShift(sector="steel", region="JPN", change=0.1).region == ("JPN",)

    def test_code_built_scenario_runs_like_the_same_file(self, tmp_path):
        path = tmp_path / "s.toml"
        path.write_text('name = "t"\ndataset = "illustrative"\n[[tariff]]\nsector = "steel"\nimporter = "USA"\n'
                        'exporter = "JPN"\nrate = 0.4\n[[investment]]\nsector = "steel"\nhost = "USA"\n'
                        'amount = 100\noutput_per_amount = 0.5\n')
        from_file = sim.run(path)
        in_code = sim.run(sim.Scenario(name="t", dataset="illustrative",
                                       tariffs=(sim.Tariff(sector="steel", importer="USA", exporter="JPN", rate=0.4),),
                                       investments=(sim.Investment(sector="steel", host="USA", amount=100,
                                                                   output_per_amount=0.5),)))
        assert_allclose(in_code.solution.flows, from_file.solution.flows, rtol=0, atol=0)
        assert in_code.scenario.investments[0].full_capacity == 50

    def test_code_built_scenarios_get_the_file_messages(self):
        bad = sim.Scenario(name="t", dataset="illustrative", tariffs=(
            sim.Tariff(sector="steal", importer="USA", exporter="JPNN", rate=-0.1),
            sim.Tariff(sector="steel", importer="USA", exporter="JPN", rate="25%")),
            investments=(sim.Investment(sector="steel", host="USA", capacity=10, output_per_amount=5),))
        with pytest.raises(sim.InputError) as info:
            sim.run(bad)
        msg = str(info.value)
        assert "scenario 't': tariff[1].rate: must be >= 0 (0.25 = 25%), got -0.1" in msg
        assert "scenario 't': tariff[2].rate: must be a number, got '25%'" in msg
        assert "investment[1]: give either 'capacity' or 'amount' with 'output_per_amount', not both" in msg
        assert "tariff[1].sector: unknown sector 'steal' (did you mean 'steel'?)" in msg
        assert "tariff[1].exporter: unknown region 'JPNN' (did you mean 'JPN'?)" in msg

    def test_a_case_can_be_varied_without_reading_the_dataset_again(self, monkeypatch):
        case = sim.load_scenario(SCENARIOS / "example_steel_tariff.toml")
        monkeypatch.setattr(sim.case, "load_dataset", lambda *a, **k: pytest.fail("dataset read again"))
        higher = case.replace(tariffs=(sim.Tariff(sector="steel", importer="USA", exporter="*", rate=0.5),))
        assert higher.dataset is case.dataset
        assert np.all(higher.shocks.new_tariffs[:, 0, 1:, 0] == 0.5)
        assert "example_steel_tariff" in repr(higher) and len(repr(higher)) < 300


def test_dataset_file_hashes_are_recorded():
    ds = sim.load_dataset("illustrative")
    present = {name for name in sim.dataset.DATASET_FILES if (ds.path / name).is_file()}
    assert set(ds.file_hashes) == present and {"dataset.toml", "flows.csv", "tariffs.csv"} <= present


def test_the_solution_and_the_welfare_tables_tell_one_revenue():
    """With no shock on a dataset with base-year quotas, revenue and rent change by 0 in the solution too.

    (The kernel alone counts the base year's quota flows at the full base rate; the engine's accounting
    splits them as the welfare tables do, so res.solution and res.welfare cannot disagree.)
    """
    quiet = sim.Scenario(name="quiet", dataset="us_japan_2024")
    res = sim.run(quiet)
    assert np.abs(res.solution.tariff_revenue).max() < 1e-9
    assert np.abs(res.solution.quota_rent_change).max() < 1e-9
    flagship = sim.run(ROOT / "scenarios" / "steel_tariff_with_investment.toml")
    welfare = flagship.welfare.set_index(["year", "sector", "region"])
    for column, array in (("tariff_revenue", flagship.solution.tariff_revenue),
                          ("quota_rent", flagship.solution.quota_rent_change)):
        np.testing.assert_allclose(welfare[column].to_numpy(), array.ravel(), rtol=0, atol=1e-9)


def test_statistics_sum_one_way(flagship):
    """res.statistics is the one place sums are made; it agrees with the tables summed by hand."""
    stats = flagship.statistics
    by_region = stats.net_welfare(groupby="region", world=True)
    last = flagship.years[-1]
    rows = flagship.welfare[flagship.welfare["year"] == last]
    hand = rows.groupby("region", sort=False)["net_welfare"].sum()
    np.testing.assert_allclose(by_region.droplevel("scenario").reindex(hand.index), hand, rtol=1e-12)
    assert by_region.xs("World", level="region").iloc[0] == pytest.approx(hand.sum(), rel=1e-12)
    by_sector = stats.net_welfare(groupby="sector")
    np.testing.assert_allclose(by_sector.sum(), hand.sum(), rtol=1e-12)
    path = stats.welfare(groupby="year", world=True)
    assert len(path) == len(flagship.years) * (len(flagship.info.regions) + 1)
    world_last = path.xs(("World",), level=("region",)).xs(last, level="year")["net_welfare"].iloc[0]
    assert world_last == pytest.approx(hand.sum(), rel=1e-12)
    assert stats.shocked_importers() == flagship.shocked_importers == ["USA"]
    with pytest.raises(ValueError, match="groupby must be"):
        stats.welfare(groupby="exporter")


def test_a_variant_axis_is_labelled_once_and_matches_the_central_tables(flagship):
    """label_welfare on a batch of variants: a variant equal to the central case gives the central welfare."""
    from sim.engine import Vary, solve
    from sim.tables import label_welfare

    case, shocks = flagship.case, flagship.case.shocks
    twice = Vary(sigma=np.stack([shocks.sigma, 2 * shocks.sigma]), eta=np.stack([shocks.eta, shocks.eta]),
                 eps=np.stack([shocks.eps, shocks.eps]))
    welfare = label_welfare(case, solve(case, vary=twice), "variant", ["central", "sigma x 2"])
    assert welfare.index.names == ["variant", "year", "sector", "region"]
    central = flagship.frames.welfare
    np.testing.assert_allclose(welfare.xs("central", level="variant")[central.columns].to_numpy(),
                               central.to_numpy(), rtol=1e-12, atol=1e-9)
    assert not np.allclose(welfare.xs("sigma x 2", level="variant")["net_welfare"], central["net_welfare"])
    with pytest.raises(ValueError, match="accounted"):
        label_welfare(case, sim.solve_equilibrium(case.dataset.flows, case.dataset.tariffs, shocks.new_tariffs,
                                                  shocks.sigma, shocks.eta, shocks.eps), "variant", [0])


def test_statistics_refuse_a_world_row_by_sector(flagship):
    with pytest.raises(ValueError, match="World row by region"):
        flagship.statistics.welfare(groupby="sector", world=True)
