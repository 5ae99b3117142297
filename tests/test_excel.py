"""results.xlsx and Parquet tables: the same numbers as the CSVs, cell by cell (extras excel, parquet)."""

import csv
import math
from pathlib import Path

import pytest
from click.testing import CliRunner

import sim
from sim.cli import main
from sim.escape import spreadsheet_text
from sim.excel import CELL_CHARACTERS, record_text, write_workbook

openpyxl = pytest.importorskip("openpyxl", reason="the test extra installs openpyxl")
ROOT = Path(__file__).resolve().parents[1]


def csv_rows(path):
    with open(path, encoding="utf-8") as fh:
        return list(csv.reader(fh))


def same(csv_value: str, cell):
    if csv_value == "":
        return cell is None
    if csv_value in ("inf", "-inf"):
        return cell == csv_value
    try:
        number = float(csv_value)
    except ValueError:
        return str(cell) == csv_value or (csv_value in ("True", "False") and cell == (csv_value == "True"))
    return isinstance(cell, (int, float)) and math.isclose(float(cell), number, rel_tol=1e-9, abs_tol=1e-9)


def test_every_sheet_matches_its_csv_cell_by_cell(tmp_path):
    out = tmp_path / "run"
    result = CliRunner().invoke(main, ["run", str(ROOT / "scenarios" / "japan_steel_trq_restored.toml"), "--excel",
                                       "--draws", "20", "--seed", "1", "--out", str(out), "--no-plots"])
    assert result.exit_code == 0, result.output
    book = openpyxl.load_workbook(out / "results.xlsx")
    assert book.sheetnames == ["about", "flows", "prices", "welfare", "welfare_by_owner", "quotas", "uncertainty",
                               "run record"]
    about = {row[0]: row[1] for row in book["about"].iter_rows(min_row=2, values_only=True)}
    assert "japan_steel_trq_restored" in about["scenario"] and about["unit"].startswith("USD million")
    assert '"draws": 20' in record_text(book["run record"].iter_rows(values_only=True))
    for name in book.sheetnames[1:-1]:
        sheet, rows = book[name], csv_rows(out / f"{name}.csv")
        assert sheet.freeze_panes == "A2"
        cells = list(sheet.iter_rows(values_only=True))
        assert len(cells) == len(rows), name
        assert [h.split(" [")[0] for h in cells[0]] == rows[0], name  # the CSV's columns, with units added
        for r, (row, values) in enumerate(zip(rows[1:], cells[1:]), start=2):
            for c, (text, value) in enumerate(zip(row, values)):
                assert same(text, value), f"{name} row {r} column {rows[0][c]}: {text!r} vs {value!r}"
    flows = book["flows"]
    assert flows["G1"].value == "value [USD million]" and flows["I1"].value == "value_pct [%]"
    assert flows["F2"].number_format == "#,##0.0" and flows["I2"].number_format == "0.00"


def test_res_to_excel_and_compare_excel(tmp_path):
    res = sim.run(ROOT / "scenarios" / "steel_232_2025.toml")
    path = res.to_excel(tmp_path / "steel.xlsx")
    assert openpyxl.load_workbook(path).sheetnames == ["about", "flows", "prices", "welfare", "welfare_by_owner",
                                                                   "run record"]
    out = tmp_path / "cmp"
    result = CliRunner().invoke(main, ["compare", str(ROOT / "scenarios" / "steel_232_2025.toml"),
                                       str(ROOT / "scenarios" / "steel_50pct_2025.toml"), "--excel", "--out",
                                       str(out), "--no-plots"])
    assert result.exit_code == 0, result.output
    assert "comparison" in openpyxl.load_workbook(out / "results.xlsx").sheetnames


def test_a_missing_openpyxl_is_a_clear_message_and_nothing_is_written(tmp_path, monkeypatch):
    import builtins

    real_import = builtins.__import__

    def no_openpyxl(name, *args, **kwargs):
        if name.startswith("openpyxl"):
            raise ImportError("no openpyxl")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_openpyxl)
    out = tmp_path / "o"
    result = CliRunner().invoke(main, ["run", str(ROOT / "scenarios" / "steel_232_2025.toml"), "--excel", "--out",
                                       str(out), "--no-plots"])
    assert result.exit_code == 2
    assert "Excel output needs openpyxl: pip install 'tradesim-armington[excel]'" in result.output
    assert not out.exists() and "Traceback" not in result.output


def test_parquet_tables_hold_the_csv_numbers(tmp_path):
    pytest.importorskip("pyarrow", reason="the test extra installs pyarrow")
    import pandas as pd

    csv_out, parquet_out = tmp_path / "c", tmp_path / "p"
    scenario = str(ROOT / "scenarios" / "steel_232_2025.toml")
    for out, fmt in ((csv_out, "csv"), (parquet_out, "parquet")):
        result = CliRunner().invoke(main, ["run", scenario, "--format", fmt, "--out", str(out), "--no-plots"])
        assert result.exit_code == 0, result.output
    for name in ("flows", "prices", "welfare"):
        assert not (parquet_out / f"{name}.csv").exists()
        pd.testing.assert_frame_equal(pd.read_parquet(parquet_out / f"{name}.parquet"),
                                      pd.read_csv(csv_out / f"{name}.csv", keep_default_na=False).astype(
                                          pd.read_parquet(parquet_out / f"{name}.parquet").dtypes.to_dict()),
                                      check_exact=False, rtol=1e-9)


def test_a_year_column_of_years_and_long_run_is_text_in_parquet(tmp_path):
    pytest.importorskip("pyarrow", reason="the test extra installs pyarrow")
    import pandas as pd

    scenarios = [str(ROOT / "scenarios" / f"{name}.toml") for name in ("steel_232_2025", "steel_tariffs_2025_2030")]
    csv_out, parquet_out = tmp_path / "c", tmp_path / "p"
    for out, fmt in ((csv_out, "csv"), (parquet_out, "parquet")):
        result = CliRunner().invoke(main, ["compare", *scenarios, "--format", fmt, "--out", str(out), "--no-plots"])
        assert result.exit_code == 0, result.output
    for name in ("flows", "prices", "welfare", "comparison"):
        table = pd.read_parquet(parquet_out / f"{name}.parquet")
        assert {"long run", "2025", "2030"} <= set(table["year"])  # text, as the CSV holds it
        from_csv = pd.read_csv(csv_out / f"{name}.csv", keep_default_na=False, dtype={"year": str})
        pd.testing.assert_frame_equal(table, from_csv.astype(table.dtypes.to_dict()), check_exact=False, rtol=1e-9)


def test_csv_text_cells_that_a_spreadsheet_would_run_are_escaped_and_numbers_are_not(tmp_path):
    import pandas as pd

    from sim.output import _write_table_files

    table = pd.DataFrame({"region": ["=HYPERLINK(\"http://x\")", "+1+cmd", "-x", "@sum", "USA", "-1", "-1 to -0.7"],
                          "year": pd.Series(["long run", 2025, -2026, 2027, 2028, 2029, 2030], dtype=object),
                          "value": [-1.5, 2.0, -3.25, 4.0, 5.0, 6.0, 7.0]})
    _write_table_files({"flows": table}, tmp_path)
    rows = csv_rows(tmp_path / "flows.csv")
    # a plain number written as text ("-1", an elasticity in sensitivity.csv) cannot be a formula: left as it is
    assert [r[0] for r in rows[1:]] == ["'=HYPERLINK(\"http://x\")", "'+1+cmd", "'-x", "'@sum", "USA", "-1",
                                        "'-1 to -0.7"]
    assert [r[1] for r in rows[1:]] == ["long run", "2025", "-2026", "2027", "2028", "2029", "2030"]
    assert [r[2] for r in rows[1:]] == ["-1.5", "2", "-3.25", "4", "5", "6", "7"]


def cells(book):
    return [cell for sheet in book.worksheets for row in sheet.iter_rows() for cell in row if cell.value is not None]


def test_no_text_becomes_a_formula_and_a_large_run_record_reads_back_whole(tmp_path):
    title = '=HYPERLINK("http://x") costs US$ 5 bn'
    scenario = tmp_path / "big.toml"
    scenario.write_text(f"""name = "big_record"\ntitle = '{title}'\ndataset = "us_japan_2024"
years = [2025, 2026, 2027]\n[[tariff]]\nsector = "*"\nimporter = "*"\nexporter = "*"\nrate = 0.25\nstart = 2025
""", encoding="utf-8")
    out = tmp_path / "out"
    result = CliRunner().invoke(main, ["run", str(scenario), "--excel", "--no-plots", "--out", str(out), "-q"])
    assert result.exit_code == 0, result.output
    run_json = (out / "run.json").read_text(encoding="utf-8")
    assert len(run_json) > 4 * CELL_CHARACTERS  # once cut at a cell's limit into invalid JSON
    book = openpyxl.load_workbook(out / "results.xlsx")
    assert [c.coordinate for c in cells(book) if c.data_type == "f"] == []
    about = {row[0]: row[1] for row in book["about"].iter_rows(min_row=2, values_only=True)}
    assert about["scenario"] == spreadsheet_text(f"{title} [big_record]") == "'" + f"{title} [big_record]"
    assert max(len(str(c.value)) for c in cells(book)) <= CELL_CHARACTERS
    assert record_text(book["run record"].iter_rows(values_only=True)) + "\n" == run_json  # exactly run.json


def test_text_cells_are_escaped_numbers_are_not_and_long_record_lines_continue(tmp_path):
    import json

    import pandas as pd

    table = pd.DataFrame({"region": ["=1+2", "+A", "-B", "@C", "USA"], "value": [-1.5, 2.0, float("-inf"), 4, 5]})
    record = {"title": "-x=" * 20_000, "formula run": "=" * 40_000 + "+" * 30_000 + "end",
              "rows": [{"draw": i, "note": f"=SUM(A{i})"} for i in range(2_000)]}
    path = write_workbook(tmp_path / "r.xlsx", {"flows": table}, [("scenario", "@title"), ("-label", "x")],
                          "USD million", record)
    book = openpyxl.load_workbook(path)
    assert [c.coordinate for c in cells(book) if c.data_type == "f"] == []
    assert [row[0] for row in book["flows"].iter_rows(min_row=2, values_only=True)] == \
        ["'=1+2", "'+A", "'-B", "'@C", "USA"]
    assert [row[1] for row in book["flows"].iter_rows(min_row=2, values_only=True)] == [-1.5, 2, "-inf", 4, 5]
    assert list(book["about"].iter_rows(min_row=2, max_row=3, values_only=True)) == [("scenario", "'@title"),
                                                                                    ("'-label", "x")]
    rows = list(book["run record"].iter_rows(values_only=True))
    assert max(len(a) for a, _ in rows) <= CELL_CHARACTERS
    assert sum(1 for _, note in rows if note and "continues on the next row" in note) >= 3
    assert record_text(rows) == json.dumps(record, indent=2)
    assert json.loads(record_text(rows)) == record
