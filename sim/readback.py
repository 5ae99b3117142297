"""Reading a results folder back: :func:`read_results` turns what ``run`` wrote into a :class:`ReadResults`.

A results folder of one scenario (``tradesim run``, ``Results.write``) holds the tidy tables (CSV, or
Parquet under ``--format parquet``) and run.json. :func:`read_results` checks both and rebuilds the
labelled :class:`~sim.tables.Frames` and the :class:`~sim.tables.ScenarioInfo`, so that the tidy tables,
``welfare_by_region``, ``headline``, plots and :func:`sim.compare` work as on a fresh run.

What the files do not hold is not invented (docs/model.md, "Python API"): the solver's arrays
(``solution``), the solved inputs (``case``, ``scenario``, ``dataset``, ``shocks``), Monte Carlo
draws (``uncertainty``; the summary of uncertainty.csv is ``uncertainty_summary``), per-market solver
diagnostics (only run.json's per-year lines), and the tariff schedule of partners whose rate never
left its base. Asking for the unavailable raises an :class:`~sim.errors.InputError` that says so.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from .dataset import load_dataset
from .errors import InputError, Problem
from .escape import unspreadsheet_text
from .excel import RECORD_SHEET, record_text
from .results import Results
from .shocks import LONG_RUN
from .tables import FLOW_COLUMNS, PRICE_COLUMNS, QUOTA_COLUMNS, WELFARE_COLUMNS, Frames, ScenarioInfo

__all__ = ["read_results", "ReadResults"]

FLOW_LEVELS = ["year", "sector", "exporter", "importer"]
REGION_LEVELS = ["year", "sector", "region"]
#: Files whose columns read_results checks, and the columns each must have.
REQUIRED = {"flows": FLOW_COLUMNS, "prices": PRICE_COLUMNS, "welfare": WELFARE_COLUMNS}
#: Label of the one "sector" of the per-year solver lines run.json keeps (frames.diagnostics).
ALL_SECTORS = "(all sectors)"


class _Unavailable:
    """Stands in for what a read-back result lacks; any use raises an InputError that says so."""

    def __init__(self, folder: Path, what: str, file: str | None):
        self._folder, self._what, self._file = folder, what, file

    def error(self) -> InputError:
        again = f"sim.run({self._file!r})" if self._file else "sim.run(<the scenario file>)"
        return InputError([Problem(str(self._folder), self._what, (
            f"not available on results read back from files: they hold the tables and the run record, "
            f"not {self._what}; run the scenario again for it: {again}"))])

    def __getattr__(self, name):
        if name.startswith("__"):
            raise AttributeError(name)
        raise self.error()

    def __repr__(self) -> str:
        return f"<{self._what}: not available on results read back from {self._folder}>"


@dataclass(frozen=True, repr=False)
class ReadResults(Results):
    """A :class:`~sim.results.Results` read back from a results folder by :func:`read_results`.

    Tables, ``welfare_by_region``, ``headline``, ``statistics``, ``plot`` and :func:`sim.compare` work as
    on a fresh run. ``case``, ``solution``, ``scenario``, ``dataset``, ``shocks``, ``sensitivity``,
    ``write`` and ``to_excel`` raise an InputError (run the scenario again); ``uncertainty`` is None
    and ``uncertainty_summary`` holds uncertainty.csv's rows (None without draws).

    Attributes
    ----------
    folder : Path
        The folder read.
    record : dict
        The scenario's entry of run.json (inputs with hashes, elasticities, shocks, solver lines).
    uncertainty_summary : DataFrame or None
    """

    folder: Path = None
    record: dict = None
    uncertainty_summary: pd.DataFrame | None = None

    def _unavailable(self, what: str) -> InputError:
        return _Unavailable(self.folder, what, self.record.get("file")).error()

    @property
    def diagnostics(self) -> pd.DataFrame:
        """The solver lines of run.json, one per year (run.json keeps no per-market diagnostics)."""
        return pd.DataFrame(self.record["solver"])

    def sensitivity(self, cv: float = 0.3, region: str | None = None, year=None):
        raise self._unavailable("sensitivity (it solves the scenario again)")

    def write(self, out_dir, plots: bool = True):
        raise self._unavailable("write (the files are in the folder already)")

    def to_excel(self, path):
        raise self._unavailable("to_excel (the run's case and solution)")

    def __repr__(self) -> str:
        table = self.welfare_by_region(world=True)["net_welfare"]
        top = table.drop("World").abs().sort_values(ascending=False).index[:3]
        parts = ", ".join(f"{r} {table[r]:+,.0f}" for r in [*top, "World"])
        return (f"<Results {self.name!r} read back from {self.folder}: {self.title}\n"
                f"  dataset {self.info.dataset}, {', '.join(str(y) for y in self.years)}\n"
                f"  net welfare {self.years[-1]}, all sectors ({self.unit}): {parts}>")


def read_results(folder: str | Path) -> ReadResults:
    """Read the results folder of one scenario's run (``tradesim run``, ``Results.write``) back.

    Parameters
    ----------
    folder : str or Path
        A folder with run.json and flows, prices, welfare (.csv, or .parquet under ``--format parquet``).

    Returns
    -------
    ReadResults
        ``flows``, ``prices``, ``welfare`` equal to the files; usable in :func:`sim.compare`.

    Raises
    ------
    InputError
        The folder or run.json is missing or not tradesim's, the folder holds a comparison, several
        scenarios or a sweep (refused: read one scenario's folder), or a table is missing, lacks a
        column, holds a value that is not a number, or rows that do not match run.json.
    """
    folder = Path(folder)
    source = _Workbook(folder) if folder.suffix.lower() == ".xlsx" else _Folder(folder)
    record = _run_record(source)
    scenario = record["scenarios"][0]
    info = _info(scenario)
    tables = {name: _table(source, name, columns, info) for name, columns in REQUIRED.items()}
    _check_rows(source, tables, info)
    flows = tables["flows"].set_index(FLOW_LEVELS).drop(columns="scenario")
    prices = tables["prices"].set_index(REGION_LEVELS).drop(columns="scenario")
    welfare = tables["welfare"].set_index(REGION_LEVELS).drop(columns="scenario")
    owners = _optional(source, "welfare_by_owner", info, REGION_LEVELS)
    quotas = _optional(source, "quotas", info, FLOW_LEVELS, QUOTA_COLUMNS)
    investments = _optional(source, "investments", info, ["year", "investment"])
    returns = _optional(source, "investment_returns", info, ["investment"])
    frames = Frames(
        flows=flows, prices=prices, welfare=welfare, tariffs=_tariffs(scenario, info), shifts=_shifts(scenario, info),
        diagnostics=_diagnostics(scenario), quotas=_or_empty(quotas, FLOW_LEVELS),
        owners=owners.drop(columns="scenario", errors="ignore") if owners is not None else
        welfare.assign(ownership_transfer=0.0),
        investments=_or_empty(investments, ["year", "investment"]), returns=_or_empty(returns, ["investment"]))
    frames = frames.map(lambda name, frame: frame.drop(columns="scenario", errors="ignore"))
    summary = _optional(source, "uncertainty", info, None) if scenario.get("uncertainty") else None
    file = scenario.get("file")
    return ReadResults(frames=frames, info=info, case=_Unavailable(folder, "case", file),
                       solution=_Unavailable(folder, "solution", file), wall_time=float(scenario["wall_time_seconds"]),
                       uncertainty=None, folder=folder, record=scenario, uncertainty_summary=summary)


def _fail(source, key: str, message: str) -> InputError:
    return InputError([Problem(str(source), key, message)])


class _Folder:
    """The tables and run.json of a results folder (CSV, or Parquet under ``--format parquet``)."""

    def __init__(self, folder: Path):
        self.path = folder

    def where(self, name: str) -> str:
        return str(self._file(name) or self.path / f"{name}.csv")

    def key(self, name: str, line: int | None = None) -> str:
        """The key of a problem: the file's line (the header is line 1)."""
        return "" if line is None else f"line {line + 2}"

    def has(self, name: str) -> bool:
        return self._file(name) is not None

    def record_text(self) -> tuple[str, str]:
        """Where run.json is, and its text."""
        if not self.path.is_dir():
            raise _fail(self.path, "", "no such folder (read_results reads a results folder written by tradesim "
                        "run, or its results.xlsx)")
        path = self.path / "run.json"
        if not path.is_file():
            raise _fail(path, "", "no run.json: not a results folder written by tradesim run (or a file was removed)")
        try:
            return str(path), path.read_text(encoding="utf-8")
        except UnicodeDecodeError as exc:
            raise _fail(path, "", f"not valid JSON ({exc})") from None

    def read(self, name: str) -> pd.DataFrame:
        path = self._file(name)
        try:
            if path.suffix == ".parquet":
                return pd.read_parquet(path)
            return pd.read_csv(path)
        except (ValueError, OSError, ImportError) as exc:  # pandas' parser errors are ValueErrors
            raise _fail(path, "", f"cannot be read as a table ({str(exc).strip() or type(exc).__name__})") from None

    def _file(self, name: str) -> Path | None:
        for suffix in (".csv", ".parquet"):
            if (self.path / f"{name}{suffix}").is_file():
                return self.path / f"{name}{suffix}"
        return None


class _Workbook:
    """The sheets of a results.xlsx (``--excel``, ``res.to_excel``): the tables, and run.json on its own sheet."""

    def __init__(self, path: Path):
        self.path = path
        try:
            from openpyxl import load_workbook
        except ImportError:
            raise _fail(path, "", "reading a workbook needs openpyxl: pip install 'tradesim-armington[excel]' (or "
                        "read the results folder instead)") from None
        if not path.is_file():
            raise _fail(path, "", "no such file")
        try:
            self.book = load_workbook(path, read_only=True, data_only=True)
        except Exception as exc:  # openpyxl raises zipfile, KeyError, ... on a file that is not a workbook
            raise _fail(path, "", f"cannot be read as a workbook ({type(exc).__name__}: {exc})") from None

    def where(self, name: str) -> str:
        return str(self.path)

    def key(self, name: str, line: int | None = None) -> str:
        return f"sheet {name}" + ("" if line is None else f", row {line + 2}")

    def has(self, name: str) -> bool:
        return name in self.book.sheetnames

    def record_text(self) -> tuple[str, str]:
        if RECORD_SHEET not in self.book.sheetnames:
            raise _fail(self.path, f"sheet {RECORD_SHEET}", "missing: not a results.xlsx written by tradesim (or the "
                        "sheet was removed)")
        return str(self.path), record_text(self.book[RECORD_SHEET].iter_rows(values_only=True))

    def read(self, name: str) -> pd.DataFrame:
        """The sheet as the CSV's table: units out of the headers, empty cells NaN, "inf" as a number."""
        rows = list(self.book[name].iter_rows(values_only=True))
        if not rows:
            return pd.DataFrame()
        header = [re.sub(r" \[[^]]*\]$", "", str(h)) for h in rows[0]]
        table = pd.DataFrame(rows[1:], columns=header).fillna(np.nan)
        for column in table.columns:
            if table[column].dtype == object:
                infinite = table[column].isin(["inf", "-inf"])
                if infinite.any() and pd.to_numeric(table[column][~infinite], errors="coerce").notna().all():
                    table[column] = pd.to_numeric(table[column].replace({"inf": np.inf, "-inf": -np.inf}))
        return table


def _run_record(source) -> dict:
    """run.json of one scenario's results, checked: it exists, is JSON, is tradesim's, holds one scenario."""
    path, text = source.record_text()
    try:
        record = json.loads(text)
    except json.JSONDecodeError as exc:
        raise _fail(path, "", f"not valid JSON ({exc})") from None
    if not isinstance(record, dict) or record.get("tool") != "tradesim":
        raise _fail(path, "tool", "not a run record written by tradesim (no \"tool\": \"tradesim\")")
    if "sweep" in record:
        raise _fail(path, "sweep", "the folder holds a tariff sweep (sweep.csv), not a scenario's results")
    scenarios = record.get("scenarios")
    if not isinstance(scenarios, list) or not scenarios:
        raise _fail(path, "scenarios", "no scenario recorded: not the results of tradesim run")
    if len(scenarios) > 1 or "baseline" in record:
        names = ", ".join(str(s.get("name")) for s in scenarios if isinstance(s, dict))
        kind = f"a comparison relative to '{record['baseline']}'" if "baseline" in record else "several scenarios"
        raise _fail(path, "scenarios", f"these results hold {kind} ({names}); read_results reads the results of one "
                    "scenario's run: read each scenario's own folder and pass them to sim.compare")
    needed = ("name", "title", "dataset", "years", "static", "elasticities", "solver", "shocks_in_force",
              "wall_time_seconds")
    missing = [k for k in needed if not isinstance(scenarios[0], dict) or k not in scenarios[0]]
    if missing:
        raise _fail(path, "scenarios[1]", f"missing {', '.join(missing)}: not a complete run record")
    return record


def _info(scenario: dict) -> ScenarioInfo:
    """The ScenarioInfo of the run, from run.json: regions and sectors in the dataset's order."""
    ds = scenario["dataset"]
    sectors = tuple(scenario["elasticities"])
    regions = tuple(next(iter(scenario["elasticities"].values()))["eps"]) if sectors else ()
    years = tuple(LONG_RUN if y == LONG_RUN else int(y) for y in scenario["years"])
    region_names, sector_names = _names(ds, regions, sectors)
    table = scenario.get("scenario") or {}
    return ScenarioInfo(
        name=scenario["name"], title=scenario["title"], dataset=ds["name"], dataset_title=ds.get("title", ds["name"]),
        unit=ds["unit"], base_year=int(ds["base_year"]), years=years, static=bool(scenario["static"]),
        regions=regions, region_names=region_names, sectors=sectors, sector_names=sector_names,
        events=_events(scenario, years), label=table.get("label", ""))


def _names(ds: dict, regions: tuple, sectors: tuple) -> tuple[dict, dict]:
    """Region and sector names from the dataset, when the same dataset files load by name; else the codes."""
    codes = ({r: r for r in regions}, {s: s for s in sectors})
    try:
        loaded = load_dataset(ds["name"])
    except (InputError, OSError, ValueError):
        return codes
    if dict(loaded.file_hashes) != ds.get("files_sha256"):
        return codes
    return dict(loaded.region_names), dict(loaded.sector_names)


def _events(scenario: dict, years: tuple) -> tuple:
    """Years in which an importer's tariffs change or new capacity starts, as :func:`sim.tables.label` lists them."""
    if scenario["static"]:
        return ()
    by_year = {e["year"]: e for e in scenario["shocks_in_force"]}
    events = []
    for before, year in zip(years, years[1:]):
        old, new = (by_year.get(y, {}).get("tariffs", []) for y in (before, year))
        for region in {t["importer"] for t in old + new}:
            cells = [{(t["sector"], t["exporter"], t["rate"]) for t in rows if t["importer"] == region}
                     for rows in (old, new)]
            if cells[0] != cells[1]:
                events.append((year, f"{region} tariffs change"))
    for inv in (scenario.get("scenario") or {}).get("investment", []):
        start = inv.get("start")
        if start is not None and years[0] < start <= years[-1]:
            events.append((start, f"new {inv['sector']} capacity in {inv['host']}"))
    return tuple(sorted(set(events)))


def _table(source, name: str, columns: list[str] | None, info: ScenarioInfo) -> pd.DataFrame:
    """One table with its file's columns, text unescaped, years as run.json's labels, numbers checked."""
    where = source.where(name)
    if not source.has(name):
        raise _fail(where, source.key(name), "missing: the results of tradesim run hold it")
    table = source.read(name)
    if columns is not None and list(table.columns) != columns:
        missing = [c for c in columns if c not in table.columns]
        extra = [c for c in table.columns if c not in columns]
        raise _fail(where, source.key(name) or "columns", f"expected columns {', '.join(columns)}" + (
                    f"; missing {', '.join(missing)}" if missing else "") + (
                    f"; unexpected {', '.join(map(str, extra))}" if extra else "") + (
                    "; in another order" if not missing and not extra else ""))
    for column in table.columns:
        if table[column].dtype == object:
            table[column] = table[column].map(lambda v: unspreadsheet_text(v) if isinstance(v, str) else v)
    if "year" in table.columns:
        table["year"] = _years(source, name, table["year"], info)
    if "scenario" in table.columns:
        wrong = table.index[table["scenario"] != info.name]
        if len(wrong):
            raise _fail(where, source.key(name, wrong[0]), f"scenario {table['scenario'].iloc[wrong[0]]!r}: "
                        f"run.json records '{info.name}'")
    numeric = [c for c in (columns or []) if c not in ("scenario", "year", "sector", "exporter", "importer",
                                                         "region", "regime", "rent_holder")]
    for column in numeric:
        if not pd.api.types.is_numeric_dtype(table[column]):
            bad = pd.to_numeric(table[column], errors="coerce").isna() & table[column].notna()
            line = int(np.flatnonzero(bad.to_numpy())[0])
            raise _fail(where, source.key(name, line), f"{column} = {table[column].iloc[line]!r} is not a number")
        table[column] = table[column].astype(np.float64)  # a column of whole numbers (all 0) reads as integers
    return table


def _years(source, name: str, years: pd.Series, info: ScenarioInfo) -> pd.Series:
    """The ``year`` column as run.json's period labels (integers, or "long run"); another value is refused."""
    labels = {str(y): y for y in info.years}
    mapped = years.map(lambda v: labels.get(str(v)))
    if mapped.isna().any():
        line = int(np.flatnonzero(mapped.isna().to_numpy())[0])
        raise _fail(source.where(name), source.key(name, line), f"year {str(years.iloc[line])!r} is not a period "
                    f"of the run (run.json: {', '.join(labels)})")
    return mapped.astype(np.int64) if not info.static else mapped.astype(object)


def _check_rows(source, tables: dict, info: ScenarioInfo) -> None:
    """Prices and welfare have one row per period, sector and region; flows no key twice and known labels."""
    expected = len(info.years) * len(info.sectors) * len(info.regions)
    for name in ("prices", "welfare"):
        table, where = tables[name], source.where(name)
        known = table["sector"].isin(info.sectors) & table["region"].isin(info.regions)
        if not known.all():
            line = int(np.flatnonzero(~known.to_numpy())[0])
            raise _fail(where, source.key(name, line), f"sector {table['sector'].iloc[line]!r}, region "
                        f"{table['region'].iloc[line]!r}: not among run.json's sectors and regions")
        if len(table) != expected or table.duplicated(REGION_LEVELS).any():
            raise _fail(where, source.key(name), f"{len(table):,} rows; run.json's run has one per period, sector "
                        f"and region ({expected:,}, each once): a row was removed or added")
    flows = tables["flows"]
    known = (flows["sector"].isin(info.sectors) & flows["exporter"].isin(info.regions)
             & flows["importer"].isin(info.regions))
    if not known.all() or flows.duplicated(FLOW_LEVELS).any():
        line = int(np.flatnonzero((~known | flows.duplicated(FLOW_LEVELS)).to_numpy())[0])
        raise _fail(source.where("flows"), source.key("flows", line), "a flow of a sector or region run.json does "
                    "not list, or listed twice")


def _optional(source, name: str, info: ScenarioInfo, levels, columns=None) -> pd.DataFrame | None:
    if not source.has(name):
        return None
    table = _table(source, name, columns, info)
    return table.set_index(levels) if levels else table


def _or_empty(frame, levels) -> pd.DataFrame:
    if frame is not None:
        return frame
    return pd.DataFrame(index=pd.MultiIndex.from_arrays([[]] * len(levels), names=levels))


def _tariffs(scenario: dict, info: ScenarioInfo) -> pd.DataFrame:
    """``base_rate, rate`` of every cell whose rate differs from base in some period (run.json's shocks)."""
    rows = {}
    for entry in scenario["shocks_in_force"]:
        for t in entry.get("tariffs", []):
            rows[(_label(entry["year"]), t["sector"], t["exporter"], t["importer"])] = (t["base_rate"], t["rate"])
    cells = {key[1:]: value[0] for key, value in rows.items()}
    index = [(y, *cell) for y in info.years for cell in cells]
    frame = pd.DataFrame({"base_rate": [cells[k[1:]] for k in index],
                          "rate": [rows.get(k, (None, cells[k[1:]]))[1] for k in index]},
                         index=pd.MultiIndex.from_tuples(index, names=FLOW_LEVELS) if index else
                         pd.MultiIndex.from_arrays([[]] * 4, names=FLOW_LEVELS), dtype=float)
    return frame


def _shifts(scenario: dict, info: ScenarioInfo) -> pd.DataFrame:
    """``supply_shift, demand_shift`` of every (sector, region) shifted in some period, 0 in the other periods."""
    values = {}
    for entry in scenario["shocks_in_force"]:
        for column, key in (("supply_shift", "supply_shifts"), ("demand_shift", "demand_shifts")):
            for s in entry.get(key, []):
                values[(_label(entry["year"]), s["sector"], s["region"], column)] = s["shift"]
    cells = {(k[1], k[2]) for k in values}
    index = [(y, s, r) for y in info.years for s in info.sectors for r in info.regions if (s, r) in cells]
    return pd.DataFrame({c: [values.get((*k, c), 0.0) for k in index] for c in ("supply_shift", "demand_shift")},
                        index=pd.MultiIndex.from_tuples(index, names=REGION_LEVELS) if index else
                        pd.MultiIndex.from_arrays([[]] * 3, names=REGION_LEVELS), dtype=float)


def _diagnostics(scenario: dict) -> pd.DataFrame:
    """run.json's solver line per period, under the one sector :data:`ALL_SECTORS`."""
    lines = scenario["solver"]
    index = pd.MultiIndex.from_tuples([(_label(s["year"]), ALL_SECTORS) for s in lines], names=["year", "sector"])
    return pd.DataFrame({"iterations": [s["iterations"] for s in lines],
                         "nfev": [s["function_evaluations"] for s in lines],
                         "max_residual": [s["max_residual"] for s in lines],
                         "converged": [s["converged"] for s in lines]}, index=index)


def _label(year):
    return year if year == LONG_RUN else int(year)
