"""Issue 21 (8, 12): the API takes what sim.run takes, short reprs, and the small things users notice."""

import json
import re
import warnings
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

import sim
from sim.cli import main

ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = ROOT / "scenarios"
STEEL_25, STEEL_50 = SCENARIOS / "steel_232_2025.toml", SCENARIOS / "steel_50pct_2025.toml"


def invoke(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


@pytest.fixture(scope="module")
def steel_25():
    return sim.run(STEEL_25)


# --------------------------------------------------------------------------- 8. what compare takes

def test_compare_takes_paths_scenarios_cases_and_results_like_run(steel_25):
    case = sim.load_scenario(STEEL_50)
    for items in ([str(STEEL_25), STEEL_50], [steel_25, case], [case.scenario, STEEL_25]):
        both = sim.compare(items)
        assert sorted(both.names) == ["steel_232_2025", "steel_50pct_2025"]
    labelled = sim.compare({"a": str(STEEL_25), "b": case})
    assert labelled.names == ["a", "b"]
    assert labelled.headline().loc["a", "World"] == pytest.approx(steel_25.headline().loc["steel_232_2025", "World"])
    with pytest.raises(sim.InputError, match=r"results\[1\]: expected sim.Results, a scenario file's path"):
        sim.compare([steel_25, 42])
    with pytest.raises(sim.InputError, match="expected a list of results or scenario files"):
        sim.compare(str(STEEL_25))


def test_baseline_takes_a_results_among_them_or_not(steel_25):
    fifty = sim.run(STEEL_50)
    by_name = sim.compare([steel_25, fifty], baseline="steel_232_2025")
    by_results = sim.compare([steel_25, fifty], baseline=steel_25)
    outside = sim.compare([fifty, SCENARIOS / "japan_steel_trq_restored.toml"], baseline=steel_25)
    assert by_results.baseline == "steel_232_2025" and outside.baseline == "steel_232_2025"
    pd.testing.assert_frame_equal(by_results.table, by_name.table)
    assert outside.headline().loc["steel_50pct_2025", "World"] == pytest.approx(
        by_name.headline().loc["steel_50pct_2025", "World"])
    with pytest.raises(sim.InputError, match="named 'steel_232_2025' like another scenario"):
        sim.compare([steel_25, fifty], baseline=sim.run(STEEL_25))
    with pytest.raises(sim.InputError, match="baseline: expected the label of a scenario compared or a sim.Results"):
        sim.compare([steel_25, fifty], baseline=3)


def test_cli_baseline_takes_a_scenario_file_among_them_or_not(tmp_path):
    among = invoke("compare", STEEL_25, STEEL_50, "--baseline", STEEL_25, "--out", tmp_path / "a", "--no-plots")
    assert among.exit_code == 0, among.output
    assert "relative to 'steel_232_2025'" in among.output
    assert set(pd.read_csv(tmp_path / "a" / "comparison.csv").scenario) == {"steel_50pct_2025"}
    outside = invoke("compare", STEEL_50, SCENARIOS / "japan_steel_trq_restored.toml", "--baseline", STEEL_25,
                     "--out", tmp_path / "b", "--no-plots")
    assert outside.exit_code == 0, outside.output
    assert set(pd.read_csv(tmp_path / "b" / "comparison.csv").scenario) == {"steel_50pct_2025",
                                                                           "japan_steel_trq_restored"}
    missing = invoke("compare", STEEL_25, STEEL_50, "--baseline", "nowhere/x.toml", "--out", tmp_path / "c")
    assert missing.exit_code == 2 and "nowhere/x.toml: --baseline: no such scenario file" in missing.output
    assert "Traceback" not in missing.output and not (tmp_path / "c").exists()


def test_tab_completion_lists_the_lazily_loaded_names():
    shown = dir(sim)
    for name in ("run", "compare", "sweep", "Results", "Comparison", "SweepResults", "load_scenario"):
        assert name in shown, name


# --------------------------------------------------------------------------- 8. short reprs

def test_sweep_sensitivity_and_uncertainty_print_a_headline_not_a_dataclass_dump():
    sweep = sim.sweep(STEEL_25, tariff=1, rates="0:0.6:13")
    res = sim.run(SCENARIOS / "steel_tariff_with_investment.toml", draws=40, seed=3)
    tornado = res.sensitivity()
    for obj, words in ((sweep, ["optimal 5%", "13 rates from 0% to 60%"]),
                       (tornado, ["largest swings: steel", "9 with no effect"]),
                       (res.uncertainty, ["40 draws (seed 3)", "World net welfare, all sectors, 2030: 90% interval"])):
        text = repr(obj)
        assert len(text) < 400 and "DataFrame" not in text and "table=" not in text, text
        for word in words:
            assert word in text, (word, text)
        html = obj._repr_html_()
        assert html.startswith("<b>") and "<table" in html and len(html) < 6000
    band = res.uncertainty.intervals.xs((2030, "World"))
    assert f"{band['p05']:,.0f} to {band['p95']:,.0f}" in repr(res.uncertainty)


def test_reprs_escape_text_from_the_scenario(tmp_path):
    path = tmp_path / "x.toml"
    path.write_text(STEEL_25.read_text(encoding="utf-8").replace('title = "', 'title = "<script>', 1),
                    encoding="utf-8")
    html = sim.sweep(path, tariff=1, rates=[0, 0.1])._repr_html_()
    assert "<script>" not in html and "&lt;script&gt;" in html


# --------------------------------------------------------------------------- 12. small things

NEGATIVE_ZERO = re.compile(r"(?<![\d.,])[-\u2212]0(?![\d.,])")


def test_no_negative_zero_in_the_printed_tables(tmp_path):
    """ROW's net welfare in steel_tariffs_2025_2030 is -0.37: it printed as "-0"."""
    result = invoke("compare", SCENARIOS / "steel_tariffs_2025_2030.toml", STEEL_25, "--out", tmp_path / "c",
                    "--no-plots")
    assert result.exit_code == 0, result.output
    table = result.output.split("Net welfare change, all sectors", 1)[1]
    assert not NEGATIVE_ZERO.search(table), table
    run = invoke("run", SCENARIOS / "japan_steel_trq_restored.toml", "--out", tmp_path / "r", "--no-plots")
    assert not NEGATIVE_ZERO.search(run.output.split("Welfare change by region", 1)[1].split("\n\n")[0])


def test_the_sensitivity_table_leaves_out_parameters_without_effect_and_the_csv_keeps_them(tmp_path):
    out = tmp_path / "s"
    result = invoke("run", SCENARIOS / "steel_tariff_with_investment.toml", "--sensitivity", "--out", out,
                    "--no-plots")
    assert result.exit_code == 0, result.output
    printed = result.output.split("largest swing first:", 1)[1]
    assert "autos" not in printed.split("No effect", 1)[0]
    assert "No effect (left out here and on the plot; sensitivity.csv has them): autos sigma, autos eta" in printed
    csv = pd.read_csv(out / "sensitivity.csv")
    assert len(csv) == 12 and (csv["swing"] == 0).sum() == 9


def test_a_missing_relative_dataset_says_it_was_looked_for_beside_the_scenario(tmp_path):
    (tmp_path / "scen").mkdir()
    path = tmp_path / "scen" / "x.toml"
    path.write_text('name = "x"\ndataset = "output/baci_demo"\n')
    with pytest.raises(sim.InputError) as err:
        sim.load_scenario(path)
    assert ("a relative path is resolved from the scenario file's folder: looked in "
            f"{tmp_path / 'scen' / 'output' / 'baci_demo'}") in str(err.value)


def test_an_unknown_sector_lists_the_valid_ones(tmp_path):
    path = tmp_path / "x.toml"
    path.write_text('name = "x"\ndataset = "us_japan_2024"\n[[tariff]]\nsector = "aluminum"\nimporter = "USA"\n'
                    'exporter = "*"\nrate = 0.1\n')
    with pytest.raises(sim.InputError) as err:
        sim.load_scenario(path)
    assert ("tariff[1].sector: unknown sector 'aluminum'; the dataset's sectors: steel, autos, aerospace_defense, "
            "other_goods") in str(err.value)


def test_welfare_by_region_takes_a_year_as_text(steel_25):
    res = sim.run(SCENARIOS / "steel_tariffs_2025_2030.toml")
    pd.testing.assert_frame_equal(res.welfare_by_region("2030"), res.welfare_by_region(2030))


def test_a_block_never_in_force_is_described_without_none(tmp_path):
    path = tmp_path / "x.toml"
    path.write_text('name = "x"\ndataset = "illustrative"\nyears = [2025, 2026]\n[[tariff]]\nsector = "steel"\n'
                    'importer = "USA"\nexporter = "*"\nrate = 0.1\nstart = 2030\n')
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        sim.load_scenario(path)
    text = " ".join(str(w.message) for w in caught)
    assert "never in force within years 2025-2026 (in force from 2030 on, no end)" in text and "None" not in text


def test_a_forgotten_run_gets_a_hint():
    result = invoke(STEEL_25)
    assert result.exit_code == 2
    assert f"a scenario file comes after a command, as in 'main run {STEEL_25}'" in result.output


def test_notebook_05_prints_the_optimum_cleanly_and_attributes_the_linear_gap_to_the_quotas_too():
    book = json.loads((ROOT / "notebooks" / "05_ranges_quotas_curves.ipynb").read_text(encoding="utf-8"))
    text = "\n".join("".join(c["source"]) for c in book["cells"])
    assert "{sweep.optimal_rate:.0%}" in text
    case = sim.load_scenario(STEEL_25)
    exact, linear = sim.run(case), sim.run(case.replace(method="gsim-linear"))
    rent = exact.welfare_by_region().loc["USA", "quota_rent"]
    assert linear.welfare_by_region().loc["USA", "quota_rent"] == 0
    assert f"`quota_rent` {rent:,.0f}".replace("-", "\u2212") in text
    assert "it keeps the 2024 quotas at their base rates" in text
