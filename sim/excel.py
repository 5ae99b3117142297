"""results.xlsx: the run's tables in one workbook for the briefing (optional extra ``tradesim[excel]``).

A front sheet names the scenario(s), dataset, unit and periods and holds the run record;
then one sheet per table (flows, prices, welfare, and comparison, quotas, uncertainty,
sensitivity or sweep where the run has them), with the CSV's columns, the unit in each
header, a frozen header row and number formats. Excel holds at most 1,048,576 rows per
sheet: a larger table is refused with a pointer to ``--format parquet``.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from .errors import InputError, Problem

__all__ = ["write_workbook", "header", "EXCEL_ROWS"]

EXCEL_ROWS = 1_048_576
#: Columns whose values are percent changes, rates (shares) or counts; the rest of the numbers are money.
PERCENT = {"value_pct", "volume_pct", "producer_price_pct", "consumer_price_pct", "output_pct"}
RATES = {"rate", "base_rate", "in_rate", "out_rate", "fill"}
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
    if column in ("base_value", "value", "value_change", "volume", "imports", "tariff_revenue", "swing") or \
            column.startswith(("consumer_surplus", "producer_surplus", "quota_rent", "net_welfare")):
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

    Raises
    ------
    InputError
        openpyxl is not installed, or a table has more rows than a sheet can hold.
    """
    try:
        from openpyxl import Workbook
        from openpyxl.styles import Alignment, Font
        from openpyxl.utils import get_column_letter
    except ImportError:
        raise InputError([Problem("--excel", "", "Excel output needs openpyxl: pip install 'tradesim[excel]' "
                                  "(or pip install openpyxl)")]) from None
    too_big = [f"the {name} table has {len(t):,} rows, more than an Excel sheet holds ({EXCEL_ROWS - 1:,}); "
               "use --format parquet" for name, t in tables.items() if len(t) >= EXCEL_ROWS]
    if too_big:
        raise InputError([Problem("--excel", "", message) for message in too_big])
    book = Workbook(write_only=False)
    about = book.active
    about.title = "about"
    about.append(["tradesim results"])
    about["A1"].font = Font(bold=True, size=13)
    for label, text in front:
        about.append([label, text])
    about.append(["sheets", ", ".join(tables)])
    if record is not None:
        about.append(["run record", json.dumps(record, indent=1, allow_nan=False)])
        about.cell(about.max_row, 2).alignment = Alignment(wrap_text=True, vertical="top")
    about.column_dimensions["A"].width = 18
    about.column_dimensions["B"].width = 110
    for name, table in tables.items():
        sheet = book.create_sheet(name)
        sheet.append([header(c, unit, name) for c in table.columns])
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
    book.save(path)
    return path


def _cell(value):
    """A value Excel can hold: inf as the text "inf" (as scenario files write it), NaN as empty."""
    if isinstance(value, float):
        if value != value:
            return None
        if value in (float("inf"), float("-inf")):
            return "inf" if value > 0 else "-inf"
    if hasattr(value, "item"):  # numpy scalars
        return _cell(value.item())
    return value
