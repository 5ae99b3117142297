"""Writing results: CSV tables, run.json and plots.

Every writer here hands a function that writes into a staging folder to
:func:`sim.folders.write_folder`, which swaps the files in whole under a lock and
never touches a file that a run did not write (see that module).
"""

from __future__ import annotations

import csv
import io
import json
import os
import platform
import sys
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd

from . import plots as figures
from .errors import InputError, Problem
from .escape import spreadsheet_text
from .excel import write_workbook
from .folders import write_folder
from .jsontext import indented_json
from .number_format import format_g10
from .ownership import has_returns, in_play
from .report import report_into
from .scenario import scenario_table
from .statistics import DEMAND_SHIFT_COLUMNS, demand_shift_effects
from .tables import BASELINE_FLOW_COLUMNS, FLOW_COLUMNS, PRICE_COLUMNS, QUOTA_COLUMNS, WELFARE_COLUMNS
from .version import __version__

__all__ = ["write_outputs", "write_comparison", "write_sweep", "run_record", "build_record", "write_excel",
           "output_tables"]


def write_outputs(results: list, out_dir: str | Path, plots: bool = True, wall_time: float | None = None,
                  command_line: list[str] | None = None, sensitivities: list | None = None, excel: bool = False,
                  fmt: str = "csv", report: bool = False, year=None, welfare_scale: str = "linear") -> Path:
    """Write flows.csv, prices.csv, welfare.csv, run.json and plots/ for one run of several scenarios.

    ``command_line`` is recorded in run.json (the CLI passes the command it ran; None from Python).
    ``report`` adds report.html (:mod:`sim.report`), its headline tables for ``year`` (default the last).
    ``welfare_scale`` is the y-scale of plots/welfare_path.png (``"linear"`` or ``"symlog"``).

    Raises
    ------
    OSError
        The folder cannot be created or written.
    """

    def write(staging: Path) -> None:
        tables = output_tables([r.by_scenario for r in results], results, sensitivities)
        _write_table_files(tables, staging, fmt)
        record = build_record(results, wall_time, command_line)
        _write_json(record, staging)
        if excel:
            write_excel(tables, staging, results, record)
        if plots:
            (staging / "plots").mkdir()
            for res in results:
                figures.write_plots(res, staging / "plots", prefix=f"{res.name}_" if len(results) > 1 else "",
                                    welfare_scale=welfare_scale)
            for sens in sensitivities or []:

                fig = figures.new_figure(10, 1.2 + 0.55 * max(1, int((sens.table["swing"] > 1e-6).sum())) + 1.2)
                sens.plot(ax=fig.add_subplot())
                prefix = f"{sens.table['scenario'].iloc[0]}_" if len(results) > 1 else ""
                figures.save_png(fig, staging / "plots" / f"{prefix}sensitivity.png")
        if report:
            report_into(staging, results, record, staging / "plots" if plots else None, year, sensitivities)

    write_folder(out_dir, write)
    return Path(out_dir)


def write_comparison(comparison, out_dir: str | Path, plots: bool = True, wall_time: float | None = None,
                     command_line: list[str] | None = None, excel: bool = False, fmt: str = "csv",
                     report: bool = False, year=None, welfare_scale: str = "linear") -> Path:
    """Write the tables (with every scenario), comparison.csv, run.json and plots/ of a comparison (and with
    ``report``, report.html; ``welfare_scale``: the y-scale of plots/welfare_path.png, as in :func:`write_outputs`)."""

    def write(staging: Path) -> None:
        results = list(comparison.results.values())
        tables = output_tables([comparison.by_scenario], results, comparison=comparison)
        _write_table_files(tables, staging, fmt)
        record = build_record(results, wall_time, command_line, comparison.baseline)
        _write_json(record, staging)
        if excel:
            write_excel(tables, staging, results, record)
        if plots:
            (staging / "plots").mkdir()
            figures.write_comparison_plots(comparison, staging / "plots", welfare_scale=welfare_scale)
        if report:
            report_into(staging, comparison, record, staging / "plots" if plots else None, year)

    write_folder(out_dir, write)
    return Path(out_dir)


def write_sweep(result, out_dir: str | Path, plots: bool = True, wall_time: float | None = None,
                command_line: list[str] | None = None) -> Path:
    """Write sweep.csv, run.json and plots/sweep.png of a tariff sweep (:func:`sim.sweep`)."""

    def write(staging: Path) -> None:
        result.table.to_csv(staging / "sweep.csv", index=False, float_format="%.10g")
        record = {"tool": "tradesim", "version": __version__, "command_line": command_line,
                  "timestamp": datetime.now(UTC).isoformat(timespec="seconds"), "packages": _package_versions(),
                  "wall_time_seconds": wall_time, "sweep": {
                      "scenario": result.scenario, "importer": result.importer, "exporters": list(result.exporters),
                      "sector": result.sector, "year": _year(result.year), "rates": result.table["rate"].tolist(),
                      "revenue_maximising_rate": result.revenue_maximising_rate,
                      "optimal_rate": result.optimal_rate}}
        (staging / "run.json").write_text(json.dumps(record, indent=2, allow_nan=False) + "\n", encoding="utf-8")
        if plots:

            (staging / "plots").mkdir()
            fig = figures.new_figure(12, 4.8)
            result.plot(fig=fig)
            figures.save_png(fig, staging / "plots" / "sweep.png")

    write_folder(out_dir, write)
    return Path(out_dir)


def output_tables(frames: list, results: list, sensitivities: list | None = None,
                  comparison=None) -> dict[str, pd.DataFrame]:
    """Every table a run writes, name → DataFrame with the file's columns, in file order.

    flows, prices and welfare always; demand_shifts where a region's own demand shifts; welfare_by_owner
    where something is owned abroad; investments and investment_returns where an investment gives amount
    and operating_margin; comparison, quotas, uncertainty and sensitivity where the run has them.
    """

    flows = BASELINE_FLOW_COLUMNS if getattr(comparison, "baseline", None) else FLOW_COLUMNS
    tables = {name: pd.concat([getattr(f, name) for f in frames]).reset_index()[columns]
              for name, columns in (("flows", flows), ("prices", PRICE_COLUMNS),
                                    ("welfare", WELFARE_COLUMNS))}
    shifts = [demand_shift_effects(f) for f in frames]
    if any(len(s) for s in shifts):  # docs/model.md, "Welfare": what a shifting buyer's consumer surplus is
        tables["demand_shifts"] = pd.concat(shifts).reset_index()[DEMAND_SHIFT_COLUMNS]
    if any(in_play(r.case) for r in results):  # else it would repeat welfare.csv (docs/model.md, "Ownership")
        tables["welfare_by_owner"] = pd.concat([f.owners for f in frames]).reset_index()
    if any(has_returns(r.case) for r in results):
        tables["investments"] = pd.concat([f.investments for f in frames]).reset_index()
        tables["investment_returns"] = pd.concat([f.returns for f in frames]).reset_index()
    if comparison is not None:
        tables["comparison"] = comparison.table
    quotas = [f.quotas for f in frames if len(f.quotas)]
    if quotas:  # only runs with tariff-rate quotas
        tables["quotas"] = pd.concat(quotas).reset_index()[QUOTA_COLUMNS]
    # a comparison's draws are relative to its baseline's, as its tables are (sim.Comparison.uncertainty)
    runs = comparison.uncertainty.values() if comparison is not None else [getattr(r, "uncertainty", None)
                                                                             for r in results]
    summaries = [mc.summary for mc in runs if mc is not None]
    if summaries:
        tables["uncertainty"] = pd.concat(summaries, ignore_index=True)
    if sensitivities:
        tables["sensitivity"] = pd.concat([s.table for s in sensitivities], ignore_index=True)
    return tables




def _write_table_files(tables: dict, folder: Path, fmt: str = "csv") -> None:
    for name, table in tables.items():
        if fmt == "parquet":
            try:
                _mixed_as_text(table).to_parquet(folder / f"{name}.parquet", index=False)
            except ImportError:
                raise InputError([Problem("--format", "", "Parquet output needs pyarrow: pip install "
                                          "'tradesim-armington[parquet]' (or pip install pyarrow)")]) from None
        else:
            write_csv(table, folder / f"{name}.csv")


#: How a CSV table writes each float: ten significant digits (``-0``, ``inf``; NaN is an empty cell).
FLOAT_FORMAT = "%.10g"
#: Rows joined and written at a time by :func:`write_csv`.
CSV_CHUNK_ROWS = 65536


def write_csv(table: pd.DataFrame, path: Path) -> None:
    """Write ``table`` as CSV, byte for byte as ``_text_escaped(table).to_csv(path, index=False, float_format=...)``.

    pandas formats every float through a Python call with its checks and quotes every cell through
    :mod:`csv`; here each float is formatted once with the same format, each distinct text cell is
    escaped and quoted once, and the rows are joined. A table with a column of another kind (a mixed
    text-and-number column, an extension dtype) is written by pandas itself. ``path`` is a plain text file
    (no compression inferred from its suffix, as ``to_csv`` would).
    """
    columns = _csv_columns(table)
    if columns is None:
        _text_escaped(table).to_csv(path, index=False, float_format=FLOAT_FORMAT)
        return
    with open(path, "w", encoding="utf-8", newline="") as handle:
        handle.write(_csv_record(list(table.columns)))
        for start in range(0, len(table), CSV_CHUNK_ROWS):
            rows = map(",".join, zip(*(cells[start:start + CSV_CHUNK_ROWS] for cells in columns)))
            handle.write(os.linesep.join(rows) + os.linesep)


def _csv_columns(table: pd.DataFrame) -> list[list[str]] | None:
    """Every column's cells as CSV text, or None where :func:`write_csv` leaves the table to pandas."""
    if table.shape[1] < 2 or table.columns.has_duplicates or not all(isinstance(c, str) for c in table.columns):
        return None  # one column: csv quotes an empty row; other labels: pandas' own rules
    columns = []
    for name in table.columns:
        column = table[name]
        if column.dtype == np.float64:
            values = column.to_numpy()
            cells = format_g10(values)  # FLOAT_FORMAT, vectorised
            for row in np.flatnonzero(np.isnan(values)).tolist():
                cells[row] = ""
        elif isinstance(column.dtype, np.dtype) and column.dtype.kind in "iub":
            cells = list(map(str, column.tolist()))
        elif not pd.api.types.is_numeric_dtype(column.dtype):
            cells = _text_cells(column)
        else:
            cells = None
        if cells is None:
            return None
        columns.append(cells)
    return columns


def _text_cells(column: pd.Series) -> list[str] | None:
    """A text column's cells escaped (:func:`~sim.escape.spreadsheet_text`) and quoted as :mod:`csv` would.

    Each distinct text is escaped and quoted once; a missing cell is empty. None for a column that
    holds anything but text (``year``: years beside "long run"), which pandas then writes.
    """
    try:
        codes, distinct = pd.factorize(column)
    except TypeError:  # a cell that cannot be hashed (a list): not text
        return None
    if not all(isinstance(text, str) for text in distinct):
        return None
    shown = np.array([_csv_field(spreadsheet_text(text)) for text in distinct] + [""], dtype=object)
    return shown[codes].tolist()


def _csv_field(text: str) -> str:
    """``text`` as one field of a CSV row, quoted where :mod:`csv` (as pandas calls it) would quote it."""
    return _csv_record([text, ""])[: -len(os.linesep) - 1]


def _csv_record(fields: list[str]) -> str:
    """One CSV row as pandas writes it: :mod:`csv`, minimal quoting, the platform's line end."""
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator=os.linesep).writerow(fields)
    return buffer.getvalue()


def _mixed_as_text(table: pd.DataFrame) -> pd.DataFrame:
    """``table`` with every column that mixes text and numbers (``year``: years and "long run") as text.

    A Parquet column has one type; the text is what the CSV holds (``"2025"``, ``"long run"``).
    """
    mixed = [c for c in table.columns if table[c].dtype == object
             and len({isinstance(v, str) for v in table[c].dropna()}) > 1]
    if not mixed:
        return table
    return table.assign(**{c: table[c].where(table[c].isna(), table[c].astype(str)) for c in mixed})


def _text_escaped(table: pd.DataFrame) -> pd.DataFrame:
    """``table`` with the text cells of its text columns through :func:`~sim.escape.spreadsheet_text`.

    Text columns are those of object or string dtype; numbers, in numeric columns or beside
    text in a mixed column (``year``), are left as they are.
    """

    text = [c for c in table.columns if not pd.api.types.is_numeric_dtype(table[c])]
    if not text:
        return table
    return table.assign(**{c: table[c].map(lambda v: spreadsheet_text(v) if isinstance(v, str) else v)
                           for c in text})


def write_excel(tables: dict, folder: Path, results: list, record: dict, name: str = "results.xlsx") -> None:

    info = results[0].info
    front = [("scenario" if len(results) == 1 else "scenarios", "; ".join(f"{r.title} [{r.name}]" for r in results)),
             ("dataset", f"{info.dataset_title} ({info.dataset}, base year {info.base_year})"),
             ("unit", f"{info.unit}, world prices; *_pct columns in %; welfare columns are changes from base"),
             ("periods", "; ".join(f"{r.name}: {', '.join(str(y) for y in r.info.years)}" for r in results))]
    write_workbook(folder / name, tables, front, info.unit, record)


def build_record(results: list, wall_time: float | None, command_line: list[str] | None,
            baseline: str | None = None) -> dict:
    record = {
        "tool": "tradesim", "version": __version__,
        "command_line": command_line,
        "timestamp": datetime.now(UTC).isoformat(timespec="seconds"),
        "working_directory": os.getcwd(),
        "packages": _package_versions(),
        "wall_time_seconds": wall_time if wall_time is not None else sum(r.wall_time for r in results),
        "scenarios": [run_record(r) for r in results],
    }
    if baseline is not None:
        record["baseline"] = baseline
    return record


def _write_json(record: dict, folder: Path) -> None:
    """run.json: ``json.dumps(record, indent=2, allow_nan=False)``, written faster (:mod:`sim.jsontext`)."""
    (folder / "run.json").write_text(indented_json(record) + "\n", encoding="utf-8")


def _package_versions() -> dict:
    """Versions of Python and the packages a run uses (numpy and pandas from the modules already imported)."""
    versions = {"python": platform.python_version(), "numpy": np.__version__, "pandas": pd.__version__}
    found = _dist_info_versions(("scipy", "matplotlib", "click"))
    for package in ("scipy", "matplotlib", "click"):
        versions[package] = found[package] if package in found else _metadata_version(package)
    return versions


def _dist_info_versions(packages) -> dict:
    """``{package: version}`` read from the ``<package>-<version>.dist-info/METADATA`` that
    :func:`importlib.metadata.version` would read: the first match in a folder of ``sys.path``, in order.

    Importing :mod:`importlib.metadata` and its look-ups take about 40 ms of a 0.3 s run. A package whose first
    match is not one plain ``.dist-info`` folder (an ``.egg-info``, several, a ``sys.path`` entry that is a zip
    file before it) is left out, for :func:`_metadata_version` to find.
    """
    found, left = {}, {package.lower() + "-": package for package in packages}
    for entry in sys.path:
        if not left:
            break
        try:
            names = os.listdir(entry or ".")
        except OSError:
            if os.path.isfile(entry):  # a zip file importlib.metadata would search: ask it for the rest
                break
            continue
        for prefix, package in list(left.items()):
            matches = [n for n in names if n.lower().startswith(prefix) and n.lower().endswith((".dist-info",
                                                                                                ".egg-info"))]
            if matches:
                del left[prefix]
                if len(matches) == 1 and matches[0].lower().endswith(".dist-info"):
                    found[package] = _metadata_field(Path(entry or ".", matches[0], "METADATA"), "Version")
    return {package: version for package, version in found.items() if version is not None}


def _metadata_field(path: Path, field: str) -> str | None:
    """A header field of a distribution's METADATA file (its lines up to the first blank one), or None."""
    try:
        with open(path, encoding="utf-8") as lines:
            for line in lines:
                if not line.strip():
                    return None
                name, _, value = line.partition(":")
                if name == field:
                    return value.strip()
    except OSError:
        return None
    return None


def _metadata_version(package: str) -> str | None:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(package)
    except PackageNotFoundError:  # pragma: no cover - installed without metadata
        return None


def _relative(path: Path | None) -> str | None:
    """A path relative to the working directory (absolute where that is impossible, as across drives)."""
    if path is None:
        return None
    try:
        return os.path.relpath(path)
    except ValueError:
        return str(path)


def _jsonable(value):
    """Infinite numbers as "inf" (as scenario files write them), recursively."""
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, float) and np.isinf(value):
        return "inf" if value > 0 else "-inf"
    return value


def run_record(res) -> dict:
    """What reproduces one scenario's run: inputs with hashes, elasticities, shocks per year, diagnostics."""

    case, info = res.case, res.info
    ds, shocks = case.dataset, case.shocks
    diag = res.frames.diagnostics.groupby(level="year", sort=False)
    solver = [{"year": _year(year), "iterations": int(g["iterations"].max()),
               "function_evaluations": int(g["nfev"].sum()),
               "max_residual": float(g["max_residual"].max()), "converged": bool(g["converged"].all())}
              for year, g in diag]
    elasticities = _by_sector(ds, shocks.sigma, shocks.eta, shocks.eps)
    return {
        "name": info.name, "title": info.title, "method": case.scenario.method,
        "file": _relative(case.scenario.path), "sha256": case.scenario.sha256,
        "extends": [{"file": _relative(path), "sha256": digest} for path, digest in case.scenario.extends],
        "scenario": _jsonable(scenario_table(case.scenario)),
        "dataset": {"name": ds.name, "title": ds.title, "path": _relative(ds.path), "base_year": ds.base_year,
                    "unit": ds.unit, "files_sha256": dict(ds.file_hashes)},
        "years": [_year(y) for y in info.years], "static": info.static,
        "elasticities": elasticities,
        "elasticities_by_year": _elasticities_by_year(case),
        "shocks_in_force": _shocks_in_force(res, infinite_as_text=True),
        "uncertainty": _uncertainty_record(res),
        "solver": solver,
        "wall_time_seconds": res.wall_time,
    }


def _elasticities_by_year(case) -> list[dict] | None:
    """The elasticities solved each year under short-run adjustment (docs/model.md); None when every year is the
    long run (``elasticities``)."""
    shocks, ds = case.shocks, case.dataset
    if shocks.adjustment is None:
        return None
    e = shocks.elasticities()
    return [{"year": _year(year), "sectors": _by_sector(ds, e["sigma"][y], e["eta"][y], e["eps"][y])}
            for y, year in enumerate(shocks.years)]


def _by_sector(ds, sigma, eta, eps) -> dict:
    """``{sector: {"sigma", "eta", "eps": {region: value}}}`` of one set of elasticities, (K,), (K,), (K, N)."""
    eps = _numbers(np.asarray(eps, dtype=float))
    return {sector: {"sigma": float(sigma[k]), "eta": float(eta[k]), "eps": dict(zip(ds.regions, eps[k]))}
            for k, sector in enumerate(ds.sectors)}


def _uncertainty_record(res) -> dict | None:
    mc = getattr(res, "uncertainty", None)
    if mc is None:
        return None
    cvs = {name: dict(getattr(mc.spec, name)) for name in ("sigma", "eta", "eps")}
    return {"draws": mc.draws, "seed": mc.seed, "coefficients_of_variation": cvs,
            "failed_draws": int(len(mc.failed)),
            "failed": mc.failed.to_dict(orient="records") if len(mc.failed) else []}


def _year(label):
    return label if isinstance(label, str) else int(label)


def _shocks_in_force(res, infinite_as_text: bool = False) -> list[dict]:
    """Per year: tariff cells that differ from base, quotas in force, non-zero supply and demand shifts.

    ``infinite_as_text``: infinite numbers as "inf" and "-inf", as :func:`_jsonable` writes them (for run.json).
    """
    tariffs, shifts, quotas = res.frames.tariffs, res.frames.shifts, res.frames.quotas

    def rows_of(frame, columns):
        return _rows(frame, columns, infinite_as_text)

    out = []
    for year in res.info.years:
        entry = {"year": _year(year), "tariffs": [], "supply_shifts": [], "demand_shifts": []}
        if year in tariffs.index.unique("year"):
            rows = tariffs.xs(year, level="year")
            rows = rows[rows["rate"] != rows["base_rate"]]
            entry["tariffs"] = [{"sector": s, "exporter": e, "importer": i, "base_rate": base, "rate": rate}
                                for (s, e, i), base, rate in rows_of(rows, ["base_rate", "rate"])]
        if year in quotas.index.unique("year"):
            entry["quotas"] = [{"sector": s, "exporter": e, "importer": i, "volume": volume, "in_rate": low,
                                "out_rate": high, "rent_holder": holder}
                               for (s, e, i), volume, low, high, holder in rows_of(
                                   quotas.xs(year, level="year"), ["volume", "in_rate", "out_rate", "rent_holder"])]
        if year in shifts.index.unique("year"):
            rows = shifts.xs(year, level="year")
            for column, key in (("supply_shift", "supply_shifts"), ("demand_shift", "demand_shifts")):
                entry[key] = [{"sector": s, "region": r, "shift": v} for (s, r), v in rows_of(rows, [column]) if v != 0]
        out.append(entry)
    return out


def _rows(frame: pd.DataFrame, columns: list[str], infinite_as_text: bool = False):
    """``(index tuple, value, ...)`` per row of ``frame``'s ``columns``, numbers as Python floats (for JSON; with
    ``infinite_as_text``, infinite ones as "inf" and "-inf", as :func:`_jsonable` writes them)."""
    as_list = _numbers if infinite_as_text else np.ndarray.tolist
    values = [as_list(frame[c].to_numpy(dtype=float)) if pd.api.types.is_numeric_dtype(frame[c])
              else frame[c].to_numpy(dtype=object).tolist() for c in columns]
    return zip(frame.index.tolist(), *values)


def _numbers(values: np.ndarray) -> list:
    """``values.tolist()`` with each infinite number as "inf" or "-inf" (:func:`_jsonable`'s rule, vectorised)."""
    infinite = np.isinf(values)
    if not infinite.any():
        return values.tolist()
    return np.where(infinite, np.where(values > 0, "inf", "-inf").astype(object), values.astype(object)).tolist()
