"""The command line (docs/model.md "Outputs", "Command line"): outputs, summaries, exit codes, bad input."""

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

import sim.engine
import sim.runner
from sim.cli import main
from sim.tables import FLOW_COLUMNS, PRICE_COLUMNS, WELFARE_COLUMNS

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "scenarios" / "example_steel_tariff.toml"


def invoke(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


def test_run_writes_tables_record_and_plots(tmp_path):
    out = tmp_path / "out"
    result = invoke("run", EXAMPLE, "--out", out)
    assert result.exit_code == 0, result.output
    assert "Welfare change by region, all sectors, 2028 (USD million)" in result.output
    assert "Largest changes in traded flows, 2028" in result.output
    assert sorted(p.name for p in out.iterdir()) == [".tradesim-manifest.json", "flows.csv", "plots", "prices.csv",
                                                  "run.json", "welfare.csv", "welfare_by_owner.csv"]  # a JPN-owned mill
    flows = pd.read_csv(out / "flows.csv")
    assert list(flows.columns) == FLOW_COLUMNS
    assert list(pd.read_csv(out / "prices.csv").columns) == PRICE_COLUMNS
    welfare = pd.read_csv(out / "welfare.csv")
    assert list(welfare.columns) == WELFARE_COLUMNS
    assert sorted(welfare["year"].unique()) == [2025, 2026, 2027, 2028]
    parts = welfare[["consumer_surplus", "producer_surplus", "tariff_revenue", "quota_rent"]].sum(axis=1)
    assert (parts - welfare["net_welfare"]).abs().max() < 1e-6
    steel_jpn_usa = flows[(flows.sector == "steel") & (flows.exporter == "JPN") & (flows.importer == "USA")]
    assert (steel_jpn_usa["value_pct"] < -50).all()  # a 25% tariff with sigma 5.9 cuts Japan's steel sales
    record = json.loads((out / "run.json").read_text())
    scenario = record["scenarios"][0]
    assert record["version"] == sim.__version__
    assert scenario["sha256"] and scenario["method"] == "exact"
    assert [y["year"] for y in scenario["solver"]] == [2025, 2026, 2027, 2028]
    assert all(y["converged"] and y["max_residual"] <= 1e-10 for y in scenario["solver"])
    plots = sorted(p.name for p in (out / "plots").iterdir())
    assert plots == ["imports_USA.png", "prices.png", "welfare.png", "welfare_by_owner.png", "welfare_path.png"]


def test_rerun_replaces_results_and_no_plots_removes_old_ones(tmp_path):
    out = tmp_path / "out"
    assert invoke("run", EXAMPLE, "--out", out, "--quiet").exit_code == 0
    result = invoke("run", EXAMPLE, "--out", out, "--quiet", "--no-plots")
    assert result.exit_code == 0 and result.output == ""
    assert not (out / "plots").exists()  # the folder held only the earlier run's plots
    assert not [p for p in out.iterdir() if p.name.startswith(".tradesim-staging")]


def test_no_plots_removes_the_earlier_plots_but_not_the_analysts_own(tmp_path):
    out = tmp_path / "out"
    assert invoke("run", EXAMPLE, "--out", out, "--quiet").exit_code == 0
    (out / "plots" / "my_figure.png").write_bytes(b"the analyst's own")
    assert invoke("run", EXAMPLE, "--out", out, "--quiet", "--no-plots").exit_code == 0
    assert [p.name for p in (out / "plots").iterdir()] == ["my_figure.png"]
    assert (out / "plots" / "my_figure.png").read_bytes() == b"the analyst's own"


def test_bad_input_exits_2_with_every_problem_and_writes_nothing(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text('name = "bad"\ndataset = "illustrative"\n[[tariff]]\nsector = "steal"\nimporter = "USA"\n'
                   'exporter = "*"\nrate = -1\n')
    out = tmp_path / "out"
    result = invoke("run", bad, "--out", out)
    assert result.exit_code == 2
    assert "tariff[1].rate: must be >= 0" in result.output
    assert "2 problems found; nothing was written." in result.output
    assert not out.exists()


def test_validate_reports_all_files_at_once(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text('name = "bad"\ndataset = "ilustrative"\n')
    missing = tmp_path / "missing.toml"
    result = invoke("validate", EXAMPLE, bad, missing)
    assert result.exit_code == 2
    assert "did you mean 'illustrative'" in result.output
    assert f"{missing}: file not found" in result.output
    assert invoke("validate", EXAMPLE).output.startswith("ok: ")


def test_non_convergence_exits_1_and_names_the_market(tmp_path, monkeypatch):
    real = sim.engine.solve_equilibrium
    monkeypatch.setattr(sim.engine, "solve_equilibrium", lambda *a, **k: real(*a, **k, max_iterations=1))
    out = tmp_path / "out"
    result = invoke("run", EXAMPLE, "--out", out)
    assert result.exit_code == 1
    assert "did not converge" in result.output and "year 2025, sector steel" in result.output
    assert not out.exists()


def test_unwritable_out_is_an_input_error(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    result = invoke("run", EXAMPLE, "--out", blocker / "sub", "--quiet")
    assert result.exit_code == 2 and "cannot write results" in result.output


def test_duplicate_scenario_names_in_one_run(tmp_path):
    result = invoke("run", EXAMPLE, EXAMPLE, "--out", tmp_path / "o")
    assert result.exit_code == 2 and "used by more than one scenario" in result.output


def test_listings():
    datasets = invoke("datasets")
    assert datasets.exit_code == 0 and "illustrative" in datasets.output
    listed = invoke("scenarios", "--dir", ROOT / "scenarios")
    assert listed.exit_code == 0 and "example_steel_tariff.toml" in listed.output


@pytest.mark.parametrize("args, code", [
    (["run", "nope.toml", "--quiet"], 2),
    (["run", str(EXAMPLE), "--no-such-option"], 2),
    (["frobnicate"], 2),
])
def test_run_sim_py_exit_codes_without_traceback(tmp_path, args, code):
    proc = subprocess.run([sys.executable, str(ROOT / "run_sim.py"), *args], cwd=tmp_path, capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == code
    assert "Traceback" not in proc.stderr
    assert not (tmp_path / "output").exists()


def test_a_scenario_warning_is_printed_once(tmp_path):
    path = tmp_path / "late.toml"
    path.write_text('name = "late"\ndataset = "illustrative"\nyears = [2025]\n[[tariff]]\nsector = "steel"\n'
                    'importer = "USA"\nexporter = "JPN"\nrate = 0.1\nstart = 2030\n')
    result = invoke("run", path, "--out", tmp_path / "out", "--quiet", "--no-plots")
    assert result.exit_code == 0
    assert result.output.count("tariff[1]: never in force within years 2025-2025") == 1


def test_run_summary_has_a_per_year_headline_and_traded_flows_only(tmp_path):
    result = invoke("run", ROOT / "scenarios" / "steel_tariff_with_investment.toml", "--out", tmp_path / "o",
                    "--no-plots", "--year", "2026")
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert "Importers whose tariffs change, by year (USD million; % change from base):" in lines
    row = next(li for li in lines if li.startswith("2026 USA"))
    assert row.split()[2:] == ["steel", "-33.7", "-10,932.1", "9.4", "1.1", "-2,493.5"]
    assert sum(li[:4] in {"2025", "2026", "2027", "2028", "2029", "2030"} for li in lines) == 6
    assert "Welfare change by region, all sectors, 2026 (USD million):" in result.output
    flows = lines[lines.index(next(li for li in lines if li.startswith("Largest changes in traded flows"))) + 2:]
    assert all(li.split()[1] != li.split()[2] for li in flows if li.split() and li.split()[0] == "steel")


def test_run_include_domestic_lists_home_shipments(tmp_path):
    result = invoke("run", EXAMPLE, "--out", tmp_path / "o", "--no-plots", "--include-domestic")
    assert result.exit_code == 0
    assert "Largest changes in flows (domestic shipments included)" in result.output
    assert " steel      USA      USA " in result.output


def test_run_unknown_year_is_bad_input_and_writes_nothing(tmp_path):
    result = invoke("run", EXAMPLE, "--out", tmp_path / "o", "--year", "2040")
    assert result.exit_code == 2
    assert "--year: year 2040 is not in the results of 'example_steel_tariff'" in result.output
    assert not (tmp_path / "o").exists()


def test_run_records_the_command_line(tmp_path):
    out = tmp_path / "o"
    assert invoke("run", EXAMPLE, "--out", out, "--no-plots", "--quiet").exit_code == 0
    record = json.loads((out / "run.json").read_text())
    assert record["command_line"] == ["main", "run", str(EXAMPLE), "--out", str(out), "--no-plots", "--quiet"]
