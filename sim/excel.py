"""results.xlsx: the run's tables in one workbook for the briefing (optional extra ``tradesim-armington[excel]``).

A front sheet names the scenario(s), dataset, unit and periods; then one sheet per table
(flows, prices, welfare, and comparison, quotas, uncertainty, sensitivity or sweep where the
run has them), with the CSV's columns, the unit in each header, a frozen header row and
number formats; last, the run record (run.json) on a sheet of its own, one line per row.
Excel holds at most 1,048,576 rows per sheet: a larger table is refused with a pointer to
``--format parquet``. Every text cell goes through :func:`~sim.escape.spreadsheet_text`, so
no text becomes a formula; numbers are written as numbers.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from .errors import InputError, Problem
from .escape import FORMULA_PREFIXES, spreadsheet_text

__all__ = ["write_workbook", "header", "record_rows", "record_text", "EXCEL_ROWS", "CELL_CHARACTERS", "RECORD_SHEET"]

EXCEL_ROWS = 1_048_576
#: The most characters an Excel cell holds.
CELL_CHARACTERS = 32_767
#: The sheet that holds run.json, one line per row.
RECORD_SHEET = "run record"
#: Column B of a run-record row whose line goes on in the next row's column A.
CONTINUES = "continues on the next row (the line is longer than an Excel cell holds): join without a line break"
#: Column B of a run-record row whose first character is an added apostrophe (a piece that starts like a formula).
ADDED_APOSTROPHE = "the first character, an apostrophe that keeps the cell text, is not part of the line"
#: Columns whose values are percent changes, rates (shares) or counts; the rest of the numbers are money.
PERCENT = {"value_pct", "volume_pct", "producer_price_pct", "consumer_price_pct", "output_pct"}
RATES = {"rate", "base_rate", "in_rate", "out_rate", "fill", "demand_shift"}
PLAIN = {"year", "draw", "iterations"}
TEXT_STATS = {"central", "mean", "p05", "p50", "p95"}


def header(column: str, unit: str, table: str) -> str:
    """The header of ``column`` with its unit, e.g. ``"value [USD million]"``, ``"value_pct [%]"``."""
    if column in PERCENT:
        return f"{column} [%]"
    if column in RATES:
        return f"{column} [share, 0.25 = 25%]" if column != "fill" else f"{column} [flow / volume]"
    if table in ("uncertainty", "sensitivity") and (column in TEXT_STATS or column.startswith("net_welfare")):
        return f"{column} [{unit} or % as the quantity says]" if table == "uncertainty" else f"{column} [{unit}]"
    if column in ("base_value", "baseline_value", "value", "value_change", "volume", "imports", "tariff_revenue",
                  "swing", "output", "revenue", "operating_profit", "new_capacity_surplus", "ownership_transfer",
                  "amount",
                  "operating_profit_last_year", "exporter_margin", "other_buyers_consumer_surplus") or \
            column.startswith(("consumer_surplus", "producer_surplus", "quota_rent", "net_welfare", "present_value",
                               "npv")):
        return f"{column} [{unit}]"
    return column


def _number_format(column: str, table: str) -> str | None:
    if column in PERCENT:
        return "0.00"
    if column in RATES:
        return "0.0000"
    if column in PLAIN:
        return "0"
    if table == "uncertainty" and column in TEXT_STATS:
        return "#,##0.00"
    return "#,##0.0"


def write_workbook(path: Path, tables: dict[str, pd.DataFrame], front: list[tuple[str, str]], unit: str,
                   record: dict | None = None) -> Path:
    """Write ``tables`` (sheet name → the CSV's DataFrame) after a front sheet of ``front`` (label, text) rows.

    ``record`` (run.json's content) goes on the sheet :data:`RECORD_SHEET`, written with
    run.json's indentation, one line per row: joining column A with line breaks gives run.json's
    text back (see :func:`record_rows` for lines longer than a cell).

    Raises
    ------
    InputError
        openpyxl is not installed, or a table has more rows than a sheet can hold.
    """
    try:
        from openpyxl import Workbook
    except ImportError:
        raise InputError([Problem("--excel", "", "Excel output needs openpyxl: pip install 'tradesim-armington[excel]' "
                                  "(or pip install openpyxl)")]) from None
    too_big = [f"the {name} table has {len(t):,} rows, more than an Excel sheet holds ({EXCEL_ROWS - 1:,}); "
               "use --format parquet" for name, t in tables.items() if len(t) >= EXCEL_ROWS]
    if too_big:
        raise InputError([Problem("--excel", "", message) for message in too_big])
    book = Workbook(write_only=False)
    _about_sheet(book.active, front, list(tables), record is not None)
    for name, table in tables.items():
        _table_sheet(book.create_sheet(name), table, unit, name)
    if record is not None:
        _record_sheet(book.create_sheet(RECORD_SHEET), json.dumps(record, indent=2, allow_nan=False))
    book.save(path)
    return path


def _about_sheet(about, front, sheets, record: bool) -> None:
    from openpyxl.styles import Font

    about.title = "about"
    about.append(["tradesim results"])
    about["A1"].font = Font(bold=True, size=13)
    for label, text in front:
        about.append([spreadsheet_text(label), spreadsheet_text(text)])
    about.append(["sheets", spreadsheet_text(", ".join(sheets + ([RECORD_SHEET] if record else [])))])
    if record:
        about.append(["run record", f"run.json on the sheet '{RECORD_SHEET}', one line per row in column A: join "
                      "them with line breaks; column B marks a line that goes on in the next row and an "
                      "apostrophe added before a piece that would read as a formula"])
    about.column_dimensions["A"].width = 18
    about.column_dimensions["B"].width = 110


def _table_sheet(sheet, table: pd.DataFrame, unit: str, name: str) -> None:
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    sheet.append([spreadsheet_text(header(c, unit, name)) for c in table.columns])
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for row in table.itertuples(index=False, name=None):
        sheet.append([_cell(v) for v in row])
    sheet.freeze_panes = "A2"
    for j, column in enumerate(table.columns, start=1):
        letter = get_column_letter(j)
        sheet.column_dimensions[letter].width = max(10, min(40, len(header(column, unit, name)) + 2))
        if pd.api.types.is_numeric_dtype(table[column]) and not pd.api.types.is_bool_dtype(table[column]):
            fmt = _number_format(column, name)
            for (cell,) in sheet.iter_rows(min_row=2, min_col=j, max_col=j):
                cell.number_format = fmt


def _record_sheet(sheet, text: str) -> None:
    for piece, note in record_rows(text):
        sheet.append([piece, note])
    sheet.column_dimensions["A"].width = 110
    sheet.column_dimensions["B"].width = 40


def record_rows(text: str, limit: int = CELL_CHARACTERS) -> list[tuple[str, str | None]]:
    """Rows (column A, column B) that hold ``text`` one line per row, no cell longer than ``limit``.

    A longer line is split into continuation rows, and the row it goes on from says so in
    column B (:data:`CONTINUES`). A split is placed so that the next piece starts with no
    formula character; only inside a run of such characters longer than a cell is that
    impossible, and then the piece gets :func:`~sim.escape.spreadsheet_text`'s apostrophe and
    its column B says so (:data:`ADDED_APOSTROPHE`). No cell is a formula.
    """
    rows: list[tuple[str, str | None]] = []
    for line in text.split("\n"):
        pieces = _pieces(line, limit)
        for n, piece in enumerate(pieces):
            escaped = spreadsheet_text(piece)
            notes = ([ADDED_APOSTROPHE] if escaped != piece else []) + ([CONTINUES] if n < len(pieces) - 1 else [])
            rows.append((escaped, "; ".join(notes) or None))
    return rows


def record_text(rows) -> str:
    """The inverse of :func:`record_rows`: run.json's text from the rows (column A[, column B]) of its sheet."""
    out = []
    for row in rows:
        piece, note = row[0] or "", (row[1] if len(row) > 1 else None) or ""
        out.append((piece[1:] if ADDED_APOSTROPHE in note else piece) + ("" if CONTINUES in note else "\n"))
    return "".join(out).removesuffix("\n")


def _formula_like(text: str) -> bool:
    return text.startswith(FORMULA_PREFIXES)


def _pieces(line: str, limit: int) -> list[str]:
    """``line`` in pieces that fit a cell of ``limit`` characters once escaped, cut before no formula character.

    The cut moves back until the rest starts with no formula character, unless the piece would
    then be nothing but such characters (a run longer than a cell): then it stays where it was.
    """
    pieces = []
    while True:
        room = limit - 1 if _formula_like(line) else limit  # the apostrophe takes one character
        if len(line) <= room:
            return pieces + [line]
        cut = room
        while cut > 1 and _formula_like(line[cut:]):
            cut -= 1
        if _formula_like(line[cut:]):
            cut = room
        pieces.append(line[:cut])
        line = line[cut:]


def _cell(value):
    """A value Excel can hold: inf as the text "inf" (as scenario files write it), NaN as empty, text escaped.

    Text goes through :func:`~sim.escape.spreadsheet_text`; "-inf" stands for a number and is not text.
    """
    if isinstance(value, str):
        return spreadsheet_text(value)
    if isinstance(value, float):
        if value != value:
            return None
        if value in (float("inf"), float("-inf")):
            return "inf" if value > 0 else "-inf"
    if hasattr(value, "item"):  # numpy scalars
        return _cell(value.item())
    return value
