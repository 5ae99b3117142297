"""Issue 21, item 10: a results folder is read back (sim.read_results) and compared with a later run."""

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest

import sim
from sim.output import write_outputs

ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = ROOT / "scenarios"


@pytest.fixture(scope="module")
def runs():
    return {"tariffs": sim.run(SCENARIOS / "steel_tariffs_2025_2030.toml"),
            "mill": sim.run(SCENARIOS / "steel_tariff_with_investment.toml")}


@pytest.fixture(scope="module")
def folders(runs, tmp_path_factory):
    base = tmp_path_factory.mktemp("read_back")
    csv = runs["tariffs"].write(base / "csv", plots=False)
    parquet = write_outputs([runs["tariffs"]], base / "parquet", plots=False, fmt="parquet")
    return {"csv": csv, "parquet": parquet}


def test_csv_folder_reads_back_as_its_files_and_as_the_run_to_ten_digits(runs, folders):
    res, back = runs["tariffs"], sim.read_results(folders["csv"])
    for name in ("flows", "prices", "welfare"):
        on_file = pd.read_csv(folders["csv"] / f"{name}.csv")
        pd.testing.assert_frame_equal(getattr(back, name), on_file, check_dtype=False, check_exact=True)
        # the CSVs hold 10 significant digits (float_format "%.10g"): the run to that precision
        pd.testing.assert_frame_equal(getattr(back, name), getattr(res, name), rtol=1e-9, atol=0)
    assert back.info == res.info  # names, periods, regions and sectors in order, events, label
    pd.testing.assert_frame_equal(back.welfare_by_region(2026, world=True), res.welfare_by_region(2026, world=True),
                                  rtol=1e-9, atol=1e-6)
    assert back.welfare_by_region(2030).loc["USA", "net_welfare"] == pytest.approx(-3029, abs=1)


def test_parquet_folder_reads_back_exactly(runs, folders):
    res, back = runs["tariffs"], sim.read_results(folders["parquet"])
    for name in ("flows", "prices", "welfare"):
        pd.testing.assert_frame_equal(getattr(back, name), getattr(res, name), check_exact=True)
    pd.testing.assert_frame_equal(back.welfare_by_region(2030), res.welfare_by_region(2030), check_exact=True)
    pd.testing.assert_frame_equal(back.frames.tariffs, res.frames.tariffs, check_exact=True)


def test_comparison_with_a_read_back_run_equals_the_comparison_of_fresh_runs(runs, folders):
    fresh = sim.compare([runs["tariffs"], runs["mill"]], baseline="steel_tariffs_2025_2030")
    back = sim.compare([sim.read_results(folders["parquet"]), runs["mill"]], baseline="steel_tariffs_2025_2030")
    pd.testing.assert_frame_equal(back.table, fresh.table, check_exact=True)
    pd.testing.assert_frame_equal(back.by_scenario.flows, fresh.by_scenario.flows, check_exact=True)
    from_csv = sim.compare([sim.read_results(folders["csv"]), runs["mill"]])
    side_by_side = sim.compare([runs["tariffs"], runs["mill"]])
    pd.testing.assert_frame_equal(from_csv.table, side_by_side.table, rtol=1e-9, atol=0)
    assert from_csv.headline(2030).loc["steel_tariff_with_investment", "World"] == pytest.approx(
        side_by_side.headline(2030).loc["steel_tariff_with_investment", "World"], rel=1e-12)


def test_a_long_run_folder_reads_back(tmp_path):
    res = sim.run(SCENARIOS / "steel_232_2025.toml")
    back = sim.read_results(write_outputs([res], tmp_path / "out", plots=False, fmt="parquet"))
    assert back.years == ("long run",) and back.static
    pd.testing.assert_frame_equal(back.welfare, res.welfare, check_exact=True)
    pd.testing.assert_frame_equal(back.welfare_by_region(world=True), res.welfare_by_region(world=True),
                                  check_exact=True)


def test_what_the_files_do_not_hold_is_refused_saying_so(folders):
    back = sim.read_results(folders["csv"])
    assert back.uncertainty is None and back.uncertainty_summary is None
    calls = {"solution": lambda: back.solution.flows, "case": lambda: back.scenario,
             "sensitivity": lambda: back.sensitivity(), "write": lambda: back.write(folders["csv"] / "again")}
    for what, call in calls.items():
        with pytest.raises(sim.InputError) as caught:
            call()
        assert what in str(caught.value) and "read back" in str(caught.value)
        assert "sim.run('" in str(caught.value) and len(caught.value.problems) == 1
    assert list(back.diagnostics.columns) == ["year", "iterations", "function_evaluations", "max_residual",
                                              "converged"]
    assert "read back from" in repr(back)


def _spoilt(folder: Path, tmp_path: Path, spoil) -> Path:
    copy = tmp_path / "spoilt"
    shutil.copytree(folder, copy)
    spoil(copy)
    return copy


def _replace(path: Path, old: str, new: str, count: int = 1) -> None:
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, count))


def _drop_line(path: Path, n: int) -> None:
    lines = path.read_text().splitlines(keepends=True)
    path.write_text("".join(lines[:n] + lines[n + 1:]))


def _comparison_record(folder: Path) -> None:
    record = json.loads((folder / "run.json").read_text())
    record["baseline"] = "steel_tariffs_2025_2030"
    (folder / "run.json").write_text(json.dumps(record))


SPOILS = {
    "no run.json": (lambda f: (f / "run.json").unlink(), "run.json", "no run.json"),
    "run.json not JSON": (lambda f: (f / "run.json").write_text("{not json"), "run.json", "not valid JSON"),
    "not tradesim's": (lambda f: (f / "run.json").write_text('{"tool": "other"}'), "run.json", "not a run record"),
    "a comparison": (_comparison_record, "run.json", "hold a comparison relative to 'steel_tariffs_2025_2030'"),
    "welfare.csv missing": (lambda f: (f / "welfare.csv").unlink(), "welfare.csv", "missing"),
    "a value that is no number": (lambda f: _replace(f / "prices.csv", ",steel,USA,", ",steel,USA,x"), "prices.csv",
                                  "is not a number"),
    "a row removed": (lambda f: _drop_line(f / "welfare.csv", 5), "welfare.csv", "a row was removed or added"),
    "a column renamed": (lambda f: _replace(f / "flows.csv", "value_pct", "value_percent"), "flows.csv",
                         "missing value_pct"),
    "an unknown year": (lambda f: _replace(f / "welfare.csv", "\nsteel_tariffs_2025_2030,2025,",
                                           "\nsteel_tariffs_2025_2030,2040,"), "welfare.csv", "year '2040'"),
}


@pytest.mark.parametrize("case", list(SPOILS))
def test_a_bad_folder_gets_one_message_naming_file_and_problem(folders, tmp_path, case):
    spoil, file, says = SPOILS[case]
    with pytest.raises(sim.InputError) as caught:
        sim.read_results(_spoilt(folders["csv"], tmp_path, spoil))
    assert len(caught.value.problems) == 1
    problem = caught.value.problems[0]
    assert Path(problem.source).name == file and says in str(problem), str(problem)


def test_a_folder_that_does_not_exist_is_named(tmp_path):
    with pytest.raises(sim.InputError, match="no such folder"):
        sim.read_results(tmp_path / "nowhere")


def test_results_xlsx_reads_back_to_sixteen_digits_and_refuses_a_tampered_sheet(runs, tmp_path):
    import openpyxl

    res = runs["tariffs"]
    path = res.to_excel(tmp_path / "results.xlsx")
    back = sim.read_results(path)
    assert back.info == res.info
    for name in ("flows", "prices", "welfare"):  # openpyxl writes numbers with 16 significant digits ("%.16g")
        pd.testing.assert_frame_equal(getattr(back, name), getattr(res, name), rtol=1e-15, atol=0)
    book = openpyxl.load_workbook(path)
    book["welfare"]["E3"] = "lots"
    book.save(tmp_path / "tampered.xlsx")
    with pytest.raises(sim.InputError) as caught:
        sim.read_results(tmp_path / "tampered.xlsx")
    assert str(caught.value.problems[0]) == (f"{tmp_path / 'tampered.xlsx'}: sheet welfare, row 3: consumer_surplus = "
                                             "'lots' is not a number")
    del book["run record"]
    book.save(tmp_path / "no_record.xlsx")
    with pytest.raises(sim.InputError, match="sheet run record: missing"):
        sim.read_results(tmp_path / "no_record.xlsx")


def test_a_folder_of_several_scenarios_is_refused(runs, tmp_path):
    sim.compare([runs["tariffs"], runs["mill"]]).write(tmp_path / "both", plots=False)
    with pytest.raises(sim.InputError) as caught:
        sim.read_results(tmp_path / "both")
    assert "hold several scenarios (steel_tariffs_2025_2030, steel_tariff_with_investment)" in str(caught.value)
