"""Dataset folders (DESIGN.md §3) → a validated :class:`Dataset`.

A dataset is a folder with ``dataset.toml`` (regions, sectors with default
elasticities, sources), ``flows.csv`` and optionally ``tariffs.csv`` and
``supply_elasticities.csv``. Built-in datasets live in ``sim/datasets/<name>``
and are found by name. Every problem in every file is collected and reported
together (see :mod:`sim.errors`).
"""

from __future__ import annotations

import csv
import math
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .errors import InputError, Problem, ProblemList, closest, read_toml, report_unknown_keys

__all__ = ["Dataset", "load_dataset", "builtin_datasets", "BUILTIN_DIR", "resolve_dataset"]

BUILTIN_DIR = Path(__file__).parent / "datasets"
CODE_PATTERN = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")
BASES = ("published", "derived", "assumed")

_TOP_KEYS = {"name", "title", "base_year", "unit", "region", "sector", "source", "description"}
_REGION_KEYS = {"code", "name"}
_SECTOR_KEYS = {"code", "name", "sigma", "eta", "eps"}
_SOURCE_KEYS = {"id", "title", "url", "note"}


@dataclass(frozen=True)
class Dataset:
    """Labels and base arrays of one dataset.

    Attributes
    ----------
    flows : ndarray, shape (K, N, N)
        Base flows ``V[k, i, j]`` exporter ``i`` → importer ``j`` at world
        prices, in ``unit``; the diagonal holds domestic shipments.
    tariffs : ndarray, shape (K, N, N)
        Base applied ad valorem rates ``t0`` (0.25 = 25%).
    sigma, eta : ndarray, shape (K,)
        Default substitution and composite demand elasticities.
    eps : ndarray, shape (K, N)
        Default supply elasticities (``inf`` allowed).
    """

    name: str
    title: str
    base_year: int
    unit: str
    regions: tuple[str, ...]
    region_names: dict[str, str]
    sectors: tuple[str, ...]
    sector_names: dict[str, str]
    flows: np.ndarray
    tariffs: np.ndarray
    sigma: np.ndarray
    eta: np.ndarray
    eps: np.ndarray
    path: Path
    sources: tuple[dict, ...] = field(default=())

    def region_index(self, code: str) -> int:
        return self.regions.index(code)

    def sector_index(self, code: str) -> int:
        return self.sectors.index(code)


def builtin_datasets() -> list[str]:
    """Names of the datasets shipped with the package."""
    return sorted(p.name for p in BUILTIN_DIR.iterdir() if (p / "dataset.toml").is_file())


def resolve_dataset(reference: str, relative_to: Path | None = None) -> Path | None:
    """Find a dataset folder: a built-in name, or a path relative to ``relative_to``."""
    if CODE_PATTERN.match(reference) and (BUILTIN_DIR / reference / "dataset.toml").is_file():
        return BUILTIN_DIR / reference
    candidate = Path(reference)
    if not candidate.is_absolute() and relative_to is not None:
        candidate = relative_to / candidate
    return candidate if (candidate / "dataset.toml").is_file() else None


def load_dataset(reference: str | Path, relative_to: Path | None = None, cited_in: str | None = None) -> Dataset:
    """Load and validate a dataset by built-in name or folder path.

    Parameters
    ----------
    reference : str or Path
        A built-in dataset name, or a folder (relative to ``relative_to``).
    relative_to : Path, optional
        Folder that a relative path is resolved against (the scenario file's).
    cited_in : str, optional
        The file whose ``dataset`` key names this dataset, for the message when
        no such dataset exists.

    Raises
    ------
    InputError
        With every problem found in the folder's files.
    """
    folder = resolve_dataset(str(reference), relative_to)
    if folder is None:
        names = builtin_datasets()
        hint = closest(str(reference), names)
        source, key = (cited_in, "dataset") if cited_in else ("dataset", "")
        raise InputError([Problem(source, key, f"no dataset '{reference}': not a built-in name "
                                  f"({', '.join(names)}){hint} nor a folder with a dataset.toml")])
    problems = ProblemList(str(folder / "dataset.toml"))
    meta = read_toml(folder / "dataset.toml", problems) or {}
    header = _parse_header(meta, problems)
    problems.raise_if_any()
    regions, sectors = header["regions"], header["sectors"]
    k, n = len(sectors), len(regions)

    flows = np.zeros((k, n, n))
    _read_cells(folder / "flows.csv", "value", regions, sectors, flows, problems, required=True,
                minimum=0.0, extra_columns={"basis", "source", "note"}, source_ids=header["source_ids"])
    tariffs = np.zeros((k, n, n))
    _read_cells(folder / "tariffs.csv", "rate", regions, sectors, tariffs, problems, required=False,
                minimum=0.0, extra_columns={"basis", "source", "note"}, source_ids=header["source_ids"])
    eps = np.repeat(header["eps"][:, None], n, axis=1)
    _read_supply_elasticities(folder / "supply_elasticities.csv", regions, sectors, eps, problems)
    problems.raise_if_any()
    return Dataset(
        name=header["name"], title=header["title"], base_year=header["base_year"], unit=header["unit"],
        regions=regions, region_names=header["region_names"], sectors=sectors,
        sector_names=header["sector_names"], flows=flows, tariffs=tariffs, sigma=header["sigma"],
        eta=header["eta"], eps=eps, path=folder, sources=header["sources"],
    )


def _parse_header(meta: dict, problems: ProblemList) -> dict:
    report_unknown_keys(meta, _TOP_KEYS, "", problems)
    out: dict = {}
    for key in ("name", "title", "unit"):
        value = meta.get(key)
        if not isinstance(value, str) or not value.strip():
            problems.add(key, f"required text, got {value!r}")
        out[key] = str(value)
    base_year = meta.get("base_year")
    if not isinstance(base_year, int) or isinstance(base_year, bool) or not 1900 <= base_year <= 2200:
        problems.add("base_year", f"must be a year (integer), got {base_year!r}")
        base_year = 0
    out["base_year"] = base_year

    regions, region_names = _parse_codes(meta.get("region"), "region", _REGION_KEYS, problems)
    out["regions"], out["region_names"] = regions, region_names
    sectors, sector_names = _parse_codes(meta.get("sector"), "sector", _SECTOR_KEYS, problems)
    out["sectors"], out["sector_names"] = sectors, sector_names
    sigma, eta, eps = [], [], []
    for pos, table in enumerate(meta.get("sector") or [], start=1):
        if not isinstance(table, dict):
            continue
        sigma.append(_number(table.get("sigma"), f"sector[{pos}].sigma", problems, lambda v: v > 0, "> 0"))
        eta.append(_number(table.get("eta"), f"sector[{pos}].eta", problems, lambda v: v < 0, "< 0"))
        eps.append(_number(table.get("eps"), f"sector[{pos}].eps", problems, lambda v: v >= 0,
                           ">= 0 (inf allowed)", allow_inf=True))
    out["sigma"], out["eta"], out["eps"] = np.array(sigma), np.array(eta), np.array(eps)

    sources = []
    for pos, table in enumerate(meta.get("source") or [], start=1):
        if not isinstance(table, dict) or not isinstance(table.get("id"), str):
            problems.add(f"source[{pos}]", "needs a text 'id'")
            continue
        report_unknown_keys(table, _SOURCE_KEYS, f"source[{pos}].", problems)
        sources.append(dict(table))
    ids = [s["id"] for s in sources]
    for dup in sorted({i for i in ids if ids.count(i) > 1}):
        problems.add("source", f"id '{dup}' appears more than once")
    out["sources"], out["source_ids"] = tuple(sources), set(ids)
    return out


def _parse_codes(tables, kind, allowed, problems):
    codes, names = [], {}
    if not isinstance(tables, list) or not tables:
        problems.add(kind, f"at least one [[{kind}]] table is required")
        return (), {}
    for pos, table in enumerate(tables, start=1):
        if not isinstance(table, dict):
            problems.add(f"{kind}[{pos}]", "must be a table")
            continue
        report_unknown_keys(table, allowed, f"{kind}[{pos}].", problems)
        code = table.get("code")
        if not isinstance(code, str) or not CODE_PATTERN.match(code):
            problems.add(f"{kind}[{pos}].code", f"must be a code of letters, digits and _, got {code!r}")
            continue
        if code in codes:
            problems.add(f"{kind}[{pos}].code", f"'{code}' appears more than once")
            continue
        codes.append(code)
        names[code] = str(table.get("name", code))
    return tuple(codes), names


def _number(value, key, problems, valid, rule, allow_inf=False):
    """Parse a TOML number (or the text 'inf' when allowed); record a problem if invalid."""
    if allow_inf and isinstance(value, str) and value.strip().lower() in ("inf", "+inf", "infinity"):
        value = math.inf
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        problems.add(key, f"must be a number {rule}, got {value!r}")
        return math.nan
    value = float(value)
    if math.isnan(value) or (math.isinf(value) and not allow_inf) or not valid(value):
        problems.add(key, f"must be {rule}, got {value!r}")
        return math.nan
    return value


def _read_csv(path: Path, required_columns: list[str], extra_columns: set[str], problems: ProblemList,
              required: bool):
    """Yield ``(line_number, row)`` from a CSV file, recording header problems."""
    if not path.is_file():
        if required:
            problems.problems.append(Problem(str(path), "", "file is missing"))
        return
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        problems.problems.append(Problem(str(path), "", f"not valid UTF-8 text: {exc}"))
        return
    reader = csv.DictReader(text.splitlines())
    header = reader.fieldnames or []
    if not header:
        problems.problems.append(Problem(str(path), "", "file is empty (expected a header line)"))
        return
    allowed = set(required_columns) | extra_columns
    bad = False
    for col in required_columns:
        if col not in header:
            problems.problems.append(Problem(str(path), "header", f"missing column '{col}'"))
            bad = True
    for col in header:
        if col not in allowed:
            problems.problems.append(
                Problem(str(path), "header", f"unknown column '{col}'{closest(col, sorted(allowed))}"))
            bad = True
    if bad:
        return
    for row in reader:
        yield reader.line_num, row


def _read_cells(path, value_column, regions, sectors, target, problems, required, minimum,
                extra_columns, source_ids):
    """Fill ``target[k, i, j]`` from a sector,exporter,importer,<value> CSV."""
    columns = ["sector", "exporter", "importer", value_column]
    seen: dict[tuple, int] = {}
    for line, row in _read_csv(path, columns, extra_columns, problems, required):
        where = f"line {line}"
        ok = True
        sector, exporter, importer = row["sector"], row["exporter"], row["importer"]
        if sector not in sectors:
            problems.problems.append(Problem(str(path), where, f"unknown sector '{sector}'{closest(sector, sectors)}"))
            ok = False
        for col, code in (("exporter", exporter), ("importer", importer)):
            if code not in regions:
                problems.problems.append(
                    Problem(str(path), where, f"unknown {col} '{code}'{closest(code, regions)}"))
                ok = False
        value = _csv_number(row[value_column])
        if value is None or not math.isfinite(value) or value < minimum:
            problems.problems.append(Problem(
                str(path), where, f"{value_column} must be a finite number >= {minimum:g}, got {row[value_column]!r}"))
            ok = False
        basis = row.get("basis")
        if basis is not None and basis not in BASES:
            problems.problems.append(Problem(
                str(path), where, f"basis must be one of {', '.join(BASES)}, got {basis!r}{closest(basis, BASES)}"))
        for sid in filter(None, (row.get("source") or "").replace(";", " ").split()):
            if source_ids and sid not in source_ids:
                hint = closest(sid, sorted(source_ids))
                problems.problems.append(Problem(str(path), where, f"source '{sid}' is not in dataset.toml{hint}"))
        if not ok:
            continue
        cell = (sector, exporter, importer)
        if cell in seen:
            problems.problems.append(Problem(
                str(path), where, f"duplicate row for {sector} {exporter}->{importer} (first on line {seen[cell]})"))
            continue
        seen[cell] = line
        target[sectors.index(sector), regions.index(exporter), regions.index(importer)] = value


def _read_supply_elasticities(path, regions, sectors, eps, problems):
    seen: dict[tuple, int] = {}
    for line, row in _read_csv(path, ["sector", "region", "eps"], {"source", "note", "basis"}, problems,
                               required=False):
        where = f"line {line}"
        sector, region = row["sector"], row["region"]
        ok = True
        if sector not in sectors:
            problems.problems.append(Problem(str(path), where, f"unknown sector '{sector}'{closest(sector, sectors)}"))
            ok = False
        if region not in regions:
            problems.problems.append(Problem(str(path), where, f"unknown region '{region}'{closest(region, regions)}"))
            ok = False
        value = _csv_number(row["eps"], allow_inf=True)
        if value is None or math.isnan(value) or value < 0:
            problems.problems.append(Problem(str(path), where, f"eps must be a number >= 0 or inf, got {row['eps']!r}"))
            ok = False
        if not ok:
            continue
        if (sector, region) in seen:
            problems.problems.append(Problem(
                str(path), where, f"duplicate row for {sector} {region} (first on line {seen[(sector, region)]})"))
            continue
        seen[(sector, region)] = line
        eps[sectors.index(sector), regions.index(region)] = value


def _csv_number(text, allow_inf=False):
    try:
        value = float((text or "").strip())
    except ValueError:
        return None
    if math.isinf(value) and not allow_inf:
        return None
    return value
