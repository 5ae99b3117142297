"""Issue 16, case 10: ambiguity and smaller inconsistencies in what tradesim reads and reports.

Each test names the numbered item of the brief it covers; each failed before its fix.
"""

import math
import os
import re
import shutil
import threading
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

import sim
from sim.cli import main
from sim.dataset import BUILTIN_DIR

ROOT = Path(__file__).resolve().parents[1]
TINY = Path(__file__).resolve().parent / "bad_inputs" / "valid_tiny"
FLOWS_HEADER = "sector,exporter,importer,value,basis,source,note\n"


def tiny_copy(folder: Path, flows: str | None = None) -> Path:
    target = folder / "tiny"
    shutil.copytree(TINY, target)
    if flows is not None:
        (target / "flows.csv").write_text(FLOWS_HEADER + flows, encoding="utf-8")
    return target


def cli(*args):
    result = CliRunner().invoke(main, [str(a) for a in args])
    assert "Traceback" not in result.output and (result.exception is None or isinstance(result.exception, SystemExit))
    return result


# 1. a bare name that is both a built-in dataset and a local folder --------------------------------------------

def test_a_name_that_is_both_a_builtin_dataset_and_a_local_folder_is_refused_naming_both(tmp_path):
    shutil.copytree(TINY, tmp_path / "illustrative")
    scenario = tmp_path / "s.toml"
    scenario.write_text('name = "s"\ndataset = "illustrative"\n')
    with pytest.raises(sim.InputError) as err:
        sim.load_scenario(scenario)
    message = str(err.value)
    assert f"{scenario}: dataset: 'illustrative' is both the built-in dataset {BUILTIN_DIR / 'illustrative'}" in message
    assert str(tmp_path / "illustrative") in message and '"./illustrative" for the folder' in message
    result = cli("run", scenario, "--out", tmp_path / "out", "--no-plots")
    assert result.exit_code == 2 and "is both the built-in dataset" in result.output
    assert not (tmp_path / "out").exists()


def test_a_value_with_a_path_separator_is_a_folder_and_a_builtin_path_the_builtin(tmp_path):
    shutil.copytree(TINY, tmp_path / "illustrative")
    (tmp_path / "local.toml").write_text('name = "s"\ndataset = "./illustrative"\n')
    (tmp_path / "builtin.toml").write_text(f'name = "s"\ndataset = {str(BUILTIN_DIR / "illustrative")!r}\n')
    assert sim.load_scenario(tmp_path / "local.toml").dataset.name == "tiny"
    assert sim.load_scenario(tmp_path / "builtin.toml").dataset.name == "illustrative"


def test_a_builtin_name_without_a_local_folder_still_loads(tmp_path):
    (tmp_path / "s.toml").write_text('name = "s"\ndataset = "illustrative"\n')
    assert sim.load_scenario(tmp_path / "s.toml").dataset.name == "illustrative"


# 2. coefficients of variation ----------------------------------------------------------------------------------

@pytest.mark.parametrize("table, key, shown", [
    ("sigma = { cv = 1e200 }", "uncertainty.sigma.cv", "must be from 0 to 10 (0.3 = 30%), got 1e+200"),
    ("eta = { steel = { cv = 11.0 } }", "uncertainty.eta.steel.cv", "must be from 0 to 10 (0.3 = 30%), got 11.0"),
    ("eps = { cv = inf }", "uncertainty.eps.cv", "must be a finite number, got inf"),
    ("eps = { cv = -0.1 }", "uncertainty.eps.cv", "must be from 0 to 10 (0.3 = 30%), got -0.1"),
])
def test_a_coefficient_of_variation_outside_0_to_10_is_refused_naming_file_key_and_value(tmp_path, table, key, shown):
    path = tmp_path / "cv.toml"
    path.write_text('name = "cv"\ndataset = "illustrative"\n[uncertainty]\ndraws = 5\nseed = 1\n' + table + "\n")
    result = cli("run", path, "--out", tmp_path / "out", "--no-plots")
    assert result.exit_code == 2, result.output
    assert f"error: {path}: {key}: {shown}" in result.output
    assert not (tmp_path / "out").exists()


# 3. compare --baseline with draws: uncertainty relative to the baseline draw by draw ---------------------------

def test_a_comparisons_draws_are_relative_to_the_baseline_draw_by_draw(tmp_path):
    a = sim.run(ROOT / "scenarios" / "steel_232_2025.toml", draws=12, seed=5)
    b = sim.run(ROOT / "scenarios" / "steel_50pct_2025.toml", draws=12, seed=5)
    both = sim.compare([a, b], baseline=a.name)
    mc = both.uncertainty[b.name]
    assert list(both.uncertainty) == [b.name]
    paired = (b.uncertainty.net_welfare - a.uncertainty.net_welfare)["net_welfare"]
    pd.testing.assert_series_equal(mc.net_welfare["net_welfare"], paired)
    summary = mc.summary
    totals = summary[(summary["table"] == "welfare") & (summary["sector"] == "all")
                     & (summary["quantity"] == "net_welfare")].set_index("region")
    by_draw = paired.groupby(level="region").quantile(0.95)
    by_draw["World"] = paired.groupby(level="draw").sum().quantile(0.95)  # the world total's, draw by draw
    np.testing.assert_allclose(totals["p95"], by_draw.reindex(totals.index), rtol=1e-12)
    table = both.welfare_by_region(world=True)
    np.testing.assert_allclose(totals["central"], table.loc[b.name, "net_welfare"].reindex(totals.index),
                               rtol=1e-12)
    both.write(tmp_path / "out", plots=False)
    written = pd.read_csv(tmp_path / "out" / "uncertainty.csv")
    assert set(written["scenario"]) == {b.name}  # the baseline is left out, as in the other tables


def test_compare_draws_without_a_shared_seed_cannot_be_taken_relative_and_say_so():
    a = sim.run(ROOT / "scenarios" / "steel_232_2025.toml", draws=5, seed=1)
    b = sim.run(ROOT / "scenarios" / "steel_50pct_2025.toml", draws=5, seed=2)
    with pytest.raises(sim.InputError, match="cannot be taken relative to the baseline's draw by draw: "
                                             "'steel_50pct_2025' has 5 draws with seed 2"):
        sim.compare([a, b], baseline=a.name)


def test_cli_compare_with_a_baseline_and_draws_writes_only_relative_rows(tmp_path):
    result = cli("compare", ROOT / "scenarios" / "steel_232_2025.toml", ROOT / "scenarios" / "steel_50pct_2025.toml",
                 "--baseline", "steel_232_2025", "--draws", "8", "--out", tmp_path / "o", "--no-plots", "--quiet")
    assert result.exit_code == 0, result.output
    written = pd.read_csv(tmp_path / "o" / "uncertainty.csv")
    comparison = pd.read_csv(tmp_path / "o" / "comparison.csv")
    assert set(written["scenario"]) == {"steel_50pct_2025"}
    row = written[(written["table"] == "welfare") & (written["sector"] == "steel") & (written["region"] == "USA")
                  & (written["quantity"] == "net_welfare")]
    assert row["central"].iloc[0] == pytest.approx(
        comparison[(comparison["region"] == "USA") & (comparison["sector"] == "steel")]["net_welfare"].iloc[0])


# 4. a quota whose two rates are equal is labelled by its fill ---------------------------------------------------

def test_a_quota_with_equal_rates_is_labelled_by_its_fill():
    from sim.tables import quota_regime

    regime = quota_regime(rate=[0.1, 0.1, 0.1, 0.0, 0.25], low=[0.1, 0.1, 0.1, 0.0, 0.0],
                          high=[0.1, 0.1, 0.1, 0.25, 0.25], fill=[1e-5, 1.0, 1.5, 0.5, 1.2])
    assert list(regime) == ["slack", "binding", "over quota", "slack", "over quota"]


def test_a_scenario_quota_with_equal_rates_and_a_small_fill_is_slack(tmp_path):
    target = tiny_copy(tmp_path)
    (target / "q.toml").write_text('name = "q"\ndataset = "."\n[[quota]]\nsector = "steel"\nimporter = "AAA"\n'
                                   'exporter = "BBB"\nvolume = 2e6\nin_rate = 0.1\nout_rate = 0.1\n')
    quotas = sim.run(target / "q.toml").frames.quotas
    assert quotas["fill"].iloc[0] == pytest.approx(1e-5, rel=0.2)
    assert list(quotas["regime"]) == ["slack"]


# 5. no percent change from a zero: NaN (an empty cell), never inf ----------------------------------------------

def test_percent_change_from_zero_is_nan():
    from sim.tables import percent_change

    out = percent_change(np.array([1.0, 3.0, 0.0]), np.array([0.0, 2.0, 0.0]))
    assert math.isnan(out[0]) and out[1] == pytest.approx(50.0) and math.isnan(out[2])


def test_a_baseline_flow_of_zero_writes_an_empty_value_pct_not_inf(tmp_path):
    target = tiny_copy(tmp_path, "steel,AAA,AAA,100,assumed,T,t\nsteel,AAA,BBB,0,assumed,T,zero flow\n"
                                 "steel,BBB,AAA,20,assumed,T,t\nsteel,BBB,BBB,80,assumed,T,t\n")
    (target / "shut.toml").write_text('name = "shut"\ndataset = "."\n[[tariff]]\nsector = "steel"\n'
                                      'importer = "AAA"\nexporter = "BBB"\nrate = 1e300\n')
    result = cli("compare", target / "scenario.toml", target / "shut.toml", "--baseline", "shut",
                 "--out", tmp_path / "o", "--no-plots", "--quiet")
    assert result.exit_code == 0, result.output
    text = (tmp_path / "o" / "flows.csv").read_text()
    assert "inf" not in text
    flows = pd.read_csv(tmp_path / "o" / "flows.csv")
    shut = flows[(flows["exporter"] == "BBB") & (flows["importer"] == "AAA")].iloc[0]
    assert shut["baseline_value"] == 0 and math.isnan(shut["value_pct"]) and math.isnan(shut["volume_pct"])


# 6. the API checks what the CLI checks, with the same code -----------------------------------------------------

@pytest.mark.parametrize("kwargs, message", [
    ({"draws": 0}, "draws: must be a whole number from 1 to 1,000,000, got 0"),
    ({"draws": 2.5}, "draws: must be a whole number from 1 to 1,000,000, got 2.5"),
    ({"seed": -1}, "seed: must be a whole number >= 0, got -1"),
    ({"draws": 3, "allow_failed_draws": float("nan")}, "allow_failed_draws: must be a share from 0 to 1"),
    ({"draws": 3, "allow_failed_draws": 1.5}, "allow_failed_draws: must be a share from 0 to 1"),
])
def test_run_refuses_bad_monte_carlo_arguments_naming_them(kwargs, message):
    with pytest.raises(sim.InputError) as err:
        sim.run(ROOT / "scenarios" / "example_steel_tariff.toml", **kwargs)
    assert message in str(err.value)


@pytest.mark.parametrize("kwargs, message", [
    ({"rates": [-0.5, 0.1]}, "rates: must be finite numbers >= 0 (0.25 = 25%), got -0.5"),
    ({"rates": [0.1, float("nan")]}, "rates: must be finite numbers >= 0"),
    ({"rates": [0.1]}, "rates: a sweep needs from 2 to 1,000,000 rates, got 1"),
    ({"rates": "0:1_0:3"}, "rates: expected START:STOP:COUNT"),
    ({"rates": [[0.1, 0.2]]}, "rates: must be a list of rates"),
    ({"rates": [0, 0.1], "tariff": 0}, "tariff: must be a whole number >= 1"),
    ({"rates": [0, 0.1], "tariff": "1"}, "tariff: must be a whole number >= 1"),
    ({"rates": [0, 0.1], "year": "2025"}, "year: must be a year (a whole number), got '2025'"),
])
def test_sweep_refuses_bad_arguments_naming_them(kwargs, message):
    kwargs = {"tariff": 1, **kwargs}
    with pytest.raises(sim.InputError) as err:
        sim.sweep(ROOT / "scenarios" / "steel_232_2025.toml", **kwargs)
    assert message in str(err.value)


@pytest.mark.parametrize("args, message", [
    (["run", "--draws", "0"], "error: --draws: must be a whole number from 1 to 1,000,000, got 0"),
    (["run", "--draws", "3", "--allow-failed-draws", "nan"], "error: --allow-failed-draws: must be a share"),
    (["sweep", "--tariff-index", "1", "--rates", "-0.5,0.1"], "error: --rates: must be finite numbers >= 0"),
])
def test_the_cli_uses_the_same_checks_under_the_options_names(tmp_path, args, message):
    command, *options = args
    scenario = ROOT / "scenarios" / ("steel_232_2025.toml" if command == "sweep" else "example_steel_tariff.toml")
    result = cli(command, scenario, *options, "--out", tmp_path / "o", "--no-plots")
    assert result.exit_code == 2 and message in result.output and "nothing was written" in result.output
    assert not (tmp_path / "o").exists()


# 7. CSV rows end only at a line break; numbers are plain ASCII -------------------------------------------------

def test_a_form_feed_or_line_separator_inside_a_note_stays_in_its_field(tmp_path):
    target = tiny_copy(tmp_path, "steel,AAA,AAA,100,assumed,T,page\fbreak\nsteel,AAA,BBB,10,assumed,T,a\u2028b\n"
                                 "steel,BBB,AAA,20,assumed,T,c\u2029d\x1ce\nsteel,BBB,BBB,80,assumed,T,t\r\n")
    ds = sim.load_dataset(target)
    np.testing.assert_array_equal(ds.flows[0], [[100.0, 10.0], [20.0, 80.0]])


@pytest.mark.parametrize("value", ["1_0", "\uff11\uff10", "1e400", "nan", "0x10", "١٠"])
def test_a_number_that_float_would_read_but_is_not_plain_ascii_is_refused(tmp_path, value):
    target = tiny_copy(tmp_path, f"steel,AAA,AAA,100,assumed,T,t\nsteel,AAA,BBB,{value},assumed,T,t\n"
                                 "steel,BBB,AAA,20,assumed,T,t\nsteel,BBB,BBB,80,assumed,T,t\n")
    with pytest.raises(sim.InputError) as err:
        sim.load_dataset(target)
    assert str(err.value) == (f"{target / 'flows.csv'}: line 3: value must be a finite number >= 0, got {value!r}")


def test_the_strict_number_parser():
    from sim.dataset import parse_number

    assert [parse_number(t) for t in ("10", " -2.5 ", ".5", "5.", "1e3", "+3E-2")] == [10, -2.5, 0.5, 5, 1000, 0.03]
    assert [parse_number(t) for t in ("1_0", "\uff11\uff10", "inf", "1e400", "", "1e", "--1")] == [None] * 7
    assert parse_number("inf", allow_inf=True) == math.inf and parse_number("1e400", allow_inf=True) is None


# 8. anything but a regular file as the scenario is refused before it is opened ---------------------------------

def test_a_device_given_as_the_scenario_is_refused_naming_it():
    with pytest.raises(sim.InputError, match=r"^/dev/null: is a device, not a regular file"):
        sim.load_scenario("/dev/null")


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no named pipes on this system")
def test_a_fifo_given_as_the_scenario_is_refused_without_opening_it(tmp_path):
    fifo = tmp_path / "scenario.toml"
    os.mkfifo(fifo)
    # were the FIFO opened for reading, this writer would connect and close it: an empty file, not a hang
    writer = threading.Thread(target=lambda: os.close(os.open(fifo, os.O_WRONLY)), daemon=True)
    writer.start()
    try:
        result = cli("run", fifo, "--out", tmp_path / "o", "--no-plots")
        assert result.exit_code == 2
        assert f"error: {fifo}: is a FIFO (named pipe), not a regular file" in result.output
    finally:
        # release the writer whether or not it has reached its open yet: with a reader held open it cannot block
        reader = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)
        writer.join()
        os.close(reader)


# 9. numbers in messages are compact ------------------------------------------------------------------------------

def test_a_huge_rate_is_warned_about_in_a_compact_number(tmp_path):
    path = tmp_path / "huge.toml"
    path.write_text('name = "huge"\ndataset = "illustrative"\n[[tariff]]\nsector = "steel"\nimporter = "USA"\n'
                    'exporter = "JPN"\nrate = 1e300\n')
    result = cli("validate", path)
    assert f"warning: {path}: tariff[1].rate: 1e+300 means 1e+302%; did you mean 1e+298?" in result.output
    assert not re.search(r"\d{20}", result.output)


def test_the_same_seed_draws_the_same_factors_whatever_the_central_elasticities():
    from sim.scenario import Uncertainty
    from sim.uncertainty import draw_elasticities

    spec = Uncertainty(draws=6, seed=11, sigma={"*": 0.3}, eta={"*": 0.2}, eps={"*": 0.5})
    eps_a, eps_b = np.full((2, 3), 2.0), np.array([[1.0, np.inf, 0.5], [4.0, 3.0, 0.0]])
    a = draw_elasticities(spec, ("x", "y"), np.array([2.0, 4.0]), np.array([-0.5, -1.0]), eps_a)
    b = draw_elasticities(spec, ("x", "y"), np.array([3.0, 1.5]), np.array([-2.0, -0.3]), eps_b)
    np.testing.assert_allclose(a[0] / [2.0, 4.0], b[0] / [3.0, 1.5], rtol=1e-15)
    np.testing.assert_allclose(a[1] / [-0.5, -1.0], b[1] / [-2.0, -0.3], rtol=1e-15)
    finite = np.isfinite(eps_b) & (eps_b > 0)
    np.testing.assert_allclose((a[2] / eps_a)[:, finite], (b[2][:, finite] / eps_b[finite]), rtol=1e-15)


def test_many_duplicate_rows_in_a_dataset_file_are_listed_once_and_counted(tmp_path):
    folder = tmp_path / "dup"
    shutil.copytree(Path(sim.__file__).parent / "datasets" / "illustrative", folder)
    lines = (folder / "flows.csv").read_text().splitlines()
    (folder / "flows.csv").write_text("\n".join(lines + [lines[1]] * 5000) + "\n")
    with pytest.raises(sim.InputError) as caught:
        sim.load_dataset(folder)
    messages = [str(p) for p in caught.value.problems]
    assert len(messages) == 21, messages[-3:]
    assert sum("duplicate row" in m for m in messages) == 20
    assert messages[-1].endswith("... and 4,980 more rows with the same problem")


def test_a_fifo_given_to_dataset_build_is_refused_not_waited_on(tmp_path):
    import subprocess
    import sys

    root = Path(__file__).resolve().parents[1]
    data = root / "tests" / "data" / "baci"
    fifo = tmp_path / "trade.csv"
    os.mkfifo(fifo)
    args = ["dataset", "build", "--trade", fifo, "--countries", data / "country_codes.csv", "--products",
            data / "products.csv", "--sectors", data / "sectors.csv", "--regions", data / "regions.csv",
            "--production", data / "production.csv", "--name", "x", "--out", tmp_path / "out"]
    proc = subprocess.run([sys.executable, "run_sim.py", *map(str, args)], cwd=root, capture_output=True, text=True,
                          timeout=60)
    assert proc.returncode == 2 and "is a FIFO (named pipe), not a regular file" in proc.stderr, proc.stderr
    assert not (tmp_path / "out").exists()
