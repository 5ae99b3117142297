"""``tradesim show FOLDER|XLSX`` prints the summary that ``run`` printed, read back from its files (issue 21)."""

from pathlib import Path

import pytest
from click.testing import CliRunner

from sim.cli import main

ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = ROOT / "scenarios"


def invoke(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


def printed_by_run(result) -> str:
    """What ``run`` printed, without its last line (where it wrote the results)."""
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[-1].startswith("Results written to")
    return "\n".join(lines[:-1]) + "\n"


@pytest.mark.parametrize("name, options", [
    ("steel_tariff_with_investment", ["--draws", "20", "--seed", "3"]),  # short run, Monte Carlo, owners, returns
    ("steel_tariff_with_investment", ["--year", "2027", "--include-domestic"]),
    ("japan_defense_3pct", []),  # a demand shift
    ("japan_steel_trq_restored", []),  # tariff-rate quotas
], ids=["draws", "year", "demand_shift", "quotas"])
def test_show_prints_what_run_printed(name, options, tmp_path):
    out = tmp_path / "out"
    ran = invoke("run", SCENARIOS / f"{name}.toml", "--out", out, "--no-plots", "--excel", *options)
    expected = printed_by_run(ran)
    shown_options = [o for o in options if o not in ("--draws", "20", "--seed", "3")]
    for target in (out, out / "results.xlsx"):
        shown = invoke("show", target, *shown_options)
        assert shown.exit_code == 0, shown.output
        assert shown.stdout == expected


def test_show_refuses_what_is_not_one_scenarios_results_with_one_message(tmp_path):
    (tmp_path / "empty").mkdir()
    both = tmp_path / "both"
    assert invoke("compare", SCENARIOS / "steel_232_2025.toml", SCENARIOS / "steel_50pct_2025.toml", "--out", both,
                  "--no-plots", "--quiet").exit_code == 0
    for target, words in ((tmp_path / "nosuch", "no such folder"), (tmp_path / "empty", "no run.json"),
                          (both, "several scenarios")):
        result = invoke("show", target)
        assert result.exit_code == 2 and result.stdout == ""
        (line,) = result.stderr.splitlines()
        assert line.startswith(f"error: {target}") and words in line, line
    ran = tmp_path / "ran"
    assert invoke("run", SCENARIOS / "steel_232_2025.toml", "--out", ran, "--no-plots", "--quiet").exit_code == 0
    result = invoke("show", ran, "--year", "2030")
    assert result.exit_code == 2 and result.stderr.startswith("error: --year: ")
    assert len(result.stderr.splitlines()) == 1
