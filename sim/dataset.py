"""Dataset folders (docs/model.md, "Datasets") → a validated :class:`Dataset`.

A dataset is a folder with ``dataset.toml`` (regions, sectors with default
elasticities, sources), ``flows.csv`` and optionally ``tariffs.csv`` and
``supply_elasticities.csv``. Built-in datasets live in ``sim/datasets/<name>``
and are found by name. Every problem in every file is collected and reported
together (see :mod:`sim.errors`). The one writer of the format, :func:`write_dataset`,
lives in :mod:`sim.dataset_writer` and is exported here, beside the reader.
"""

from __future__ import annotations

import codecs
import contextlib
import csv
import hashlib
import io
import itertools
import math
import os
import re
import threading
import warnings
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from .adjustment import EVERY_REGION, Adjustment, checked_rule
from .dataset_view import DatasetFrames, html_repr, short_repr
from .dataset_writer import write_dataset
from .engine.linkages import Links
from .errors import (
    InputError,
    Problem,
    ProblemList,
    closest,
    number_text,
    read_toml,
    regular_file_problem,
    report_unknown_keys,
)
from .quotas import QuotaArrays

__all__ = ["Dataset", "load_dataset", "write_dataset", "builtin_datasets", "BUILTIN_DIR", "resolve_dataset",
           "parse_number"]

BUILTIN_DIR = Path(__file__).parent / "datasets"
CODE_PATTERN = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")
BASES = ("published", "derived", "assumed")
DATASET_FILES = ("dataset.toml", "flows.csv", "tariffs.csv", "supply_elasticities.csv", "quotas.csv",
                 "adjustment.csv", "ownership.csv", "inputs.csv")
QUOTA_FILE_COLUMNS = ["sector", "exporter", "importer", "volume", "in_rate", "out_rate", "rent"]
ADJUSTMENT_FILE_COLUMNS = ["sector", "parameter", "region", "short_run", "half_life_years"]
#: Relative distance within which a base flow counts as filling its quota exactly.
FILL_TOLERANCE = 1e-9

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
    quotas : QuotaArrays or None
        Tariff-rate quotas in force in the base year (``quotas.csv``), arrays (K, N, N);
        ``tariffs`` then holds each quota flow's base rate (in-quota, out-of-quota, or
        between where the quota binds).
    adjustment : tuple of Adjustment
        Short-run rules (``adjustment.csv``, docs/model.md, "Short-run adjustment"); empty
        without the file: every elasticity at its long-run value in every year.
    ownership : ndarray or None
        Shares of the existing producers' surplus owned abroad (``ownership.csv``), shape (K, N, N)
        ``[sector, location, owner]``, zero on the diagonal: the location owns what they leave
        (docs/model.md, "Ownership"). None without the file.
    cost_shares : ndarray or None
        Input-output cost shares ``a[n, u, j]`` (``inputs.csv``), shape (K, K, N): the share of using
        sector ``u``'s base output value in region ``j`` spent on input sector ``n``'s composite
        (docs/model.md, "Vertical linkages"). None without the file: every sector its own market.
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
    file_hashes: dict[str, str] = field(default_factory=dict)  # file name -> SHA-256 of the files loaded
    quotas: QuotaArrays | None = None
    adjustment: tuple[Adjustment, ...] = ()
    ownership: np.ndarray | None = None
    cost_shares: np.ndarray | None = None

    def region_index(self, code: str) -> int:
        return self.regions.index(code)

    @property
    def frames(self) -> DatasetFrames:
        """The arrays as labelled pandas frames: ``ds.frames.flows``, ``.tariffs``, ``.totals``, ... (dataset_view)."""
        return DatasetFrames(self)

    def __repr__(self) -> str:
        return short_repr(self)

    def _repr_html_(self) -> str:
        return html_repr(self)

    def sector_index(self, code: str) -> int:
        return self.sectors.index(code)

    def take_sectors(self, idx) -> Dataset:
        """The dataset restricted to the sectors ``idx`` (an index array, in order): what a block of a
        Monte Carlo solves (:mod:`sim.uncertainty`); input-output cost shares keep only the cells between them."""
        idx = np.asarray(idx)
        sectors = tuple(self.sectors[k] for k in idx)
        return replace(
            self, sectors=sectors, sector_names={s: self.sector_names[s] for s in sectors if s in self.sector_names},
            flows=self.flows[idx], tariffs=self.tariffs[idx], sigma=self.sigma[idx], eta=self.eta[idx],
            eps=self.eps[idx], quotas=None if self.quotas is None else self.quotas.take_sectors(idx),
            adjustment=tuple(a for a in self.adjustment if a.sector in sectors or a.sector == "*"),
            ownership=None if self.ownership is None else self.ownership[idx],
            cost_shares=None if self.cost_shares is None else self.cost_shares[np.ix_(idx, idx)])


def builtin_datasets() -> list[str]:
    """Names of the datasets shipped with the package."""
    return sorted(p.name for p in BUILTIN_DIR.iterdir() if (p / "dataset.toml").is_file())


def is_path_reference(reference: str) -> bool:
    """Whether a ``dataset`` value is a folder path: absolute, or with a path separator (``./x``, ``data/x``)."""
    seps = {"/", "\\"} | {os.sep} | ({os.altsep} if os.altsep else set())
    return Path(reference).is_absolute() or any(sep in reference for sep in seps) or reference in (".", "..")


def resolve_dataset(reference: str, relative_to: Path | None = None, cited_in: str | None = None) -> Path | None:
    """Find a dataset folder: a built-in name, or a folder path relative to ``relative_to`` (else the working folder).

    A value with a path separator (or an absolute path) is always a path. A bare name that is
    both a built-in dataset and a folder beside the scenario is refused, naming both.

    Raises
    ------
    InputError
        The bare name is ambiguous.
    """
    candidate = Path(reference)
    if not candidate.is_absolute() and relative_to is not None:
        candidate = relative_to / candidate
    builtin = BUILTIN_DIR / reference
    if not is_path_reference(reference) and CODE_PATTERN.match(reference) and (builtin / "dataset.toml").is_file():
        if candidate.is_dir() and candidate.resolve() != builtin.resolve():
            source, key = (cited_in, "dataset") if cited_in else ("dataset", "")
            raise InputError([Problem(source, key, (
                f"'{reference}' is both the built-in dataset {builtin} and the folder {candidate}: write "
                f"\"./{reference}\" for the folder, or the built-in's path {builtin} (or rename the folder) "
                "for the built-in one"))])
        return builtin
    return candidate if (candidate / "dataset.toml").is_file() else None


def _looked_in(reference: str, relative_to: Path | None) -> str:
    """Where a relative dataset path was looked for (the scenario file's folder, not the working one), for messages."""
    if Path(reference).is_absolute() or relative_to is None:
        return ""
    return (f" (a relative path is resolved from the scenario file's folder: looked in {relative_to / reference}; "
            "write the path relative to the scenario file, or an absolute one)")


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
    folder = resolve_dataset(str(reference), relative_to, cited_in)
    if folder is None:
        names = builtin_datasets()
        hint = closest(str(reference), names)
        source, key = (cited_in, "dataset") if cited_in else ("dataset", "")
        raise InputError([Problem(source, key, f"no dataset '{reference}': not a built-in name "
                                  f"({', '.join(names)}){hint} nor a folder with a dataset.toml"
                                  f"{_looked_in(str(reference), relative_to)}")])
    problems = ProblemList(str(folder / "dataset.toml"))
    meta = read_toml(folder / "dataset.toml", problems) or {}
    header = _parse_header(meta, problems)
    problems.raise_if_any()
    regions, sectors = header["regions"], header["sectors"]
    k, n = len(sectors), len(regions)

    digests: dict[str, _Sha256] = {}  # SHA-256 of the files the vectorised reader read, by name (read once)
    flows = np.zeros((k, n, n))
    _read_cells(folder / "flows.csv", "value", regions, sectors, flows, problems, required=True,
                minimum=0.0, extra_columns={"basis", "source", "note"}, source_ids=header["source_ids"],
                digests=digests)
    tariffs = np.zeros((k, n, n))
    _read_cells(folder / "tariffs.csv", "rate", regions, sectors, tariffs, problems, required=False,
                minimum=0.0, extra_columns={"basis", "source", "note"}, source_ids=header["source_ids"],
                digests=digests)
    eps = np.repeat(header["eps"][:, None], n, axis=1)
    _read_supply_elasticities(folder / "supply_elasticities.csv", regions, sectors, eps, problems, digests)
    problems.raise_if_any()
    quotas = _read_quotas(folder / "quotas.csv", regions, sectors, flows, tariffs, problems, header["source_ids"])
    adjustment = _read_adjustment(folder / "adjustment.csv", regions, sectors, problems, header["source_ids"])
    ownership = _read_ownership(folder / "ownership.csv", regions, sectors, problems, header["source_ids"])
    cost_shares = _read_inputs(folder / "inputs.csv", regions, sectors, flows, tariffs, problems,
                               header["source_ids"])
    problems.raise_if_any()
    return Dataset(
        name=header["name"], title=header["title"], base_year=header["base_year"], unit=header["unit"],
        regions=regions, region_names=header["region_names"], sectors=sectors,
        sector_names=header["sector_names"], flows=flows, tariffs=tariffs, sigma=header["sigma"],
        eta=header["eta"], eps=eps, path=folder, sources=header["sources"], quotas=quotas, adjustment=adjustment,
        ownership=ownership, cost_shares=cost_shares,
        file_hashes={name: _file_sha256(folder / name, digests.get(name)) for name in DATASET_FILES
                     if (folder / name).is_file()},
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


#: csv's field limit while a dataset file is read (its default, 131,072 characters, would refuse a long note
#: that pandas, the vectorised reader, reads): the file is in memory already, so no field can be longer.
CSV_FIELD_LIMIT = 2**31 - 1


@contextlib.contextmanager
def _long_fields():
    """csv reads fields up to :data:`CSV_FIELD_LIMIT` characters inside the block (the limit is put back after)."""
    previous = csv.field_size_limit(CSV_FIELD_LIMIT)
    try:
        yield
    finally:
        csv.field_size_limit(previous)


def _read_csv(path: Path, required_columns: list[str], extra_columns: set[str], problems: ProblemList,
              required: bool):
    """Yield ``(line_number, row)`` from a CSV file, recording header problems.

    Rows end only at a line break (``\\n``, ``\\r\\n``) outside quotes: the csv module reads the text,
    so a form feed or a Unicode line separator inside a note stays in its field.
    """
    why = regular_file_problem(path)
    if why == "file not found":
        if required:
            problems.problems.append(Problem(str(path), "", "file is missing"))
        return
    if why is not None:
        problems.problems.append(Problem(str(path), "", why))
        return
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        problems.problems.append(Problem(str(path), "", f"not valid UTF-8 text: {exc}"))
        return
    except OSError as exc:
        problems.problems.append(Problem(str(path), "", f"cannot read: {exc.strerror or exc}"))
        return
    with _long_fields():
        yield from _csv_rows(path, csv.DictReader(io.StringIO(text, newline="")), required_columns, extra_columns,
                             problems)


def _csv_rows(path: Path, reader: csv.DictReader, required_columns: list[str], extra_columns: set[str],
              problems: ProblemList):
    """:func:`_read_csv`'s header checks and rows, from ``reader``."""
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
                extra_columns, source_ids, digests=None):
    """Fill ``target[k, i, j]`` from a sector,exporter,importer,<value> CSV (``digests``: as :func:`_plain_csv`)."""
    keys = {"sector": sectors, "exporter": regions, "importer": regions}
    fast = _fast_table(path, keys, value_column, extra_columns, source_ids, minimum=minimum,
                       digests=digests) if _large(path) else None
    if fast is not None:
        target[fast[0]] = fast[1]
        return

    def parse(text):
        value = parse_number(text)
        return value if value is not None and math.isfinite(value) and value >= minimum else None

    rule = f"{value_column} must be a finite number >= {minimum:g}"
    sector_at, region_at = _positions(sectors), _positions(regions)
    for (sector, exporter, importer), value in _read_table(path, keys, value_column, parse, rule, extra_columns,
                                                           problems, required, source_ids).items():
        target[sector_at[sector], region_at[exporter], region_at[importer]] = value


def _read_supply_elasticities(path, regions, sectors, eps, problems, digests=None):
    keys = {"sector": sectors, "region": regions}
    fast = _fast_table(path, keys, "eps", {"source", "note", "basis"}, None, minimum=0.0,
                       allow_inf=True, digests=digests) if _large(path) else None
    if fast is not None:
        eps[fast[0]] = fast[1]
        return

    def parse(text):
        value = parse_number(text, allow_inf=True)
        return value if value is not None and not math.isnan(value) and value >= 0 else None

    sector_at, region_at = _positions(sectors), _positions(regions)
    for (sector, region), value in _read_table(path, keys, "eps", parse, "eps must be a number >= 0 or inf",
                                               {"source", "note", "basis"}, problems, False, None).items():
        eps[sector_at[sector], region_at[region]] = value


def _positions(codes) -> dict[str, int]:
    """Each code's position in ``codes``."""
    return {code: n for n, code in enumerate(codes)}


def _read_table(path, keys, value_column, parse, rule, extra_columns, problems, required, source_ids):
    """Rows of a code-keyed CSV as ``{(code, ...): value}``, recording every problem with its line.

    ``keys`` maps each key column to its valid codes; ``parse`` returns the value or None
    when it breaks ``rule``. With ``source_ids``, the ``basis`` and ``source`` columns are
    checked too. A repeated key is reported and its later rows are ignored.
    """
    found = ProblemList(str(path))
    values: dict[tuple, float] = {}
    seen: dict[tuple, int] = {}
    for line, row in _read_csv(path, [*keys, value_column], extra_columns, problems, required):
        where = f"line {line}"
        ok = True
        for column, valid in keys.items():
            code = row[column]
            if code not in valid:
                found.add(where, f"unknown {column} '{code}'{closest(code, valid)}", kind=f"unknown {column}")
                ok = False
        value = parse(row[value_column])
        if value is None:
            found.add(where, f"{rule}, got {row[value_column]!r}", kind="value")
            ok = False
        if source_ids is not None:
            _check_provenance(row, source_ids, where, found)
        if not ok:
            continue
        key = tuple(row[column] for column in keys)
        if key in seen:
            found.add(where, f"duplicate row for {key[0]} {'->'.join(key[1:])} (first on line {seen[key]})",
                      kind="duplicate row")
            continue
        seen[key] = line
        values[key] = value
    problems.extend(found)
    return values


def _check_provenance(row, source_ids, where, found):
    basis = row.get("basis")
    if basis is not None and basis not in BASES:
        found.add(where, f"basis must be one of {', '.join(BASES)}, got {basis!r}{closest(basis, BASES)}")
    for sid in filter(None, (row.get("source") or "").replace(";", " ").split()):
        if source_ids and sid not in source_ids:
            found.add(where, f"source '{sid}' is not in dataset.toml{closest(sid, sorted(source_ids))}")


#: A plain ASCII decimal or scientific number: no digit separators (``1_0``), no other scripts' digits (``１０``).
NUMBER_PATTERN = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?", re.ASCII)
INFINITY_WORDS = ("inf", "+inf", "infinity", "+infinity")


def parse_number(text, allow_inf: bool = False) -> float | None:
    """The number a CSV field holds, or None: plain ASCII decimal or scientific notation only.

    ``float()`` alone also reads ``1_0``, full-width ``１０`` and ``nan``; a data file's number is
    what it looks like or it is refused. ``inf`` (the word, any case) only where ``allow_inf``; a
    number beyond floating point (``1e400``) is refused everywhere, not read as infinity.
    """
    text = (text or "").strip(" \t")
    if allow_inf and text.lower() in INFINITY_WORDS:
        return math.inf
    if not NUMBER_PATTERN.fullmatch(text):
        return None
    value = float(text)
    return None if math.isinf(value) else value


#: Files from this size on are read vectorised (:func:`_fast_table`); smaller ones, line by line, without
#: importing pandas (which alone takes longer than reading them).
VECTORISE_FROM_BYTES = 512 * 1024


def _large(path: Path) -> bool:
    """Whether ``path`` is a regular file of at least :data:`VECTORISE_FROM_BYTES` bytes."""
    try:
        return path.is_file() and path.stat().st_size >= VECTORISE_FROM_BYTES
    except OSError:
        return False


#: The characters of a plain number (NUMBER_PATTERN's alphabet), and the comma that joins the cells checked.
_NUMBER_CHARACTERS = b"0123456789.eE+-,"


def _fast_table(path, keys, value_column, extra_columns, source_ids, minimum=0.0, allow_inf=False, digests=None):
    """The happy path of :func:`_read_table`, vectorised: ``(cells, values)``, or None for the careful reader.

    ``cells`` holds one array of positions per key column (in ``keys``' codes), ``values`` the parsed
    values (at least ``minimum``; finite, or ``inf`` written as a word where ``allow_inf``). It answers
    only for a file the careful reader accepts with the same values, and returns None at the first doubt:
    a file pandas and :mod:`csv` might split differently, a header that is not exactly the expected one,
    a blank line, an unknown code, a value that is not a plain number or breaks the rule, an unknown
    ``basis`` or ``source``, a repeated row. The careful reader then reads the file again and reports
    every problem with its line, as it always has. ``digests``: as :func:`_plain_csv`.
    """
    found = _plain_csv(path, digests)
    if found is None:
        return None
    data, header = found
    columns = [*keys, value_column]
    if len(set(header)) != len(header) or not set(columns) <= set(header) <= set(columns) | extra_columns:
        return None
    checked = [column for column in ("basis", "source") if source_ids is not None and column in header]
    numeric = not allow_inf and b"\x0b" not in data and b"\x0c" not in data
    frame = _pandas_frame(data, header, list(keys), value_column, checked, numeric)
    if numeric and frame is not None and not _line_per_row(data, len(frame)):
        numeric = False  # a quoted line break: pandas would read "1<line break>" as 1, so read the texts
        frame = _pandas_frame(data, header, list(keys), value_column, checked)
    if frame is None:
        return None
    cells = []
    for column, valid in keys.items():
        if len(set(valid)) != len(valid):
            return None
        at = _index(valid).get_indexer(frame[column].cat.categories)
        codes = frame[column].cat.codes.to_numpy()
        if (at < 0).any() or (codes < 0).any():
            return None
        cells.append(at[codes])
    if numeric:
        values = frame[value_column].to_numpy(dtype=np.float64)
        values = values if np.isfinite(values).all() else None  # 1e400 read as inf, a boolean word as NaN
    else:
        values = _plain_numbers(frame[value_column].tolist(), allow_inf)
    if values is None or not (values >= minimum).all() or not _provenance_clean(frame, source_ids):
        return None
    flat = np.ravel_multi_index(cells, [len(valid) for valid in keys.values()])
    if np.bincount(flat).max(initial=0) > 1:  # a repeated row
        return None
    return tuple(cells), values


def _plain_csv(path: Path, digests: dict | None = None) -> tuple[bytes, list[str]] | None:
    """A CSV file's bytes (less a leading BOM) and its header, or None unless it is UTF-8 with no lone CR or NUL.

    ``digests`` gets the SHA-256 of the bytes read (:class:`_Sha256`, computed while pandas parses them), under
    the file's name: the dataset's ``file_hashes``, without reading a large file a second time.

    pandas and :mod:`csv` both end a row at ``\n``, ``\r\n`` and a lone ``\r``; the file is decoded whole,
    as the careful reader does, because pandas never decodes the columns it does not keep.
    """
    if regular_file_problem(path) is not None:
        return None
    try:
        data = path.read_bytes()
        if digests is not None:
            digests[path.name] = _Sha256(data)
        if not data.isascii():  # ASCII is UTF-8 as it is; anything else is decoded once to be sure it is UTF-8
            data.decode("utf-8")
    except (OSError, UnicodeDecodeError):
        return None
    if b"\x00" in data or (b"\r" in data and data.count(b"\r") != data.count(b"\r\n")):
        return None
    data = data.removeprefix(codecs.BOM_UTF8)
    with _long_fields():
        return data, next(csv.reader(_lines(data)), [])


def _line_per_row(data: bytes, rows: int) -> bool:
    """Whether ``data`` (a header and ``rows`` rows) has no line break inside a quoted field."""
    return b'"' not in data or data.count(b"\n") + (not data.endswith(b"\n")) == rows + 1


class _Sha256(threading.Thread):
    """The SHA-256 of ``data``, computed in a thread of its own beside the parsing.

    hashlib and pandas' tokenizer both release the GIL: on two cores the digest of a 40 MB file (about 0.05 s)
    costs no time. :meth:`hexdigest` waits for it.
    """

    def __init__(self, data: bytes):
        super().__init__(name="tradesim-sha256", daemon=True)
        self._data, self._digest = data, None
        self.start()

    def run(self) -> None:
        self._digest = hashlib.sha256(self._data).hexdigest()
        self._data = None

    def hexdigest(self) -> str | None:
        """The digest (None if computing it failed)."""
        self.join()
        return self._digest


def _file_sha256(path: Path, digest: _Sha256 | None) -> str:
    """``path``'s SHA-256: ``digest``'s, of the bytes the reader read, where there is one; else read now."""
    return (digest and digest.hexdigest()) or hashlib.sha256(path.read_bytes()).hexdigest()


def _lines(data: bytes):
    """The lines of UTF-8 ``data``, each with its ``\n``, as text, one at a time (as :class:`csv.DictReader` reads)."""
    start = 0
    while start < len(data):
        end = data.find(b"\n", start) + 1 or len(data)
        yield data[start:end].decode("utf-8")
        start = end


def _pandas_frame(data: bytes, header: list[str], keys: list[str], value_column: str, checked: list[str],
                  numeric: bool = False):
    """The columns needed of a CSV file, read by pandas (codes as categories, values as text or ``numeric``).

    None when pandas reads another header than ``header``, objects to a row, or warns. Blank lines are
    kept as rows (of empty codes, never valid), as :mod:`csv` reads a line of spaces, which pandas would skip.
    ``numeric`` values are read as floats by pandas' own converter (see :func:`_float_options`: what it reads
    beyond a plain number is NaN, infinite or an error, which the caller refuses), five times faster than as
    texts converted one by one; the caller makes sure no vertical tab or form feed (which it skips) is in the file.
    """
    import pandas as pd

    types = {column: "category" for column in (*keys, *checked)} | {value_column: np.float64 if numeric else object}
    options = _float_options(pd.__version__, value_column) if numeric else {"na_filter": False}
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # a row pandas finds odd: the careful reader decides
            if list(pd.read_csv(io.BytesIO(data), nrows=0, index_col=False, encoding="utf-8").columns) != header:
                return None
            return pd.read_csv(io.BytesIO(data), dtype=types, usecols=list(types), keep_default_na=False,
                               skip_blank_lines=False, index_col=False, encoding="utf-8", engine="c", **options)
    except (ValueError, Warning, pd.errors.ParserError):  # pandas' refusals; the careful reader says why
        return None


#: Every spelling of the words pandas reads as 1 and 0 in a column of floats (it compares them ignoring case).
_BOOLEAN_WORDS = ["".join(letters) for word in ("true", "false")
                  for letters in itertools.product(*((c.lower(), c.upper()) for c in word))]


def _float_options(pandas_version: str, value_column: str) -> dict:
    """``read_csv`` options under which pandas reads ``value_column``'s plain numbers as :func:`float` does.

    From pandas 3.1 its one converter rounds correctly; before, only ``float_precision="round_trip"`` does
    (the default is off by an ulp at times). Beyond plain numbers it reads ``inf``, ``nan``, numbers with
    spaces or tabs around (as :func:`parse_number`), vertical tabs or form feeds around, and ``true``/``false``
    in any case as 1 and 0: those words are read as NaN here, so that the caller refuses them.
    """
    major, minor = (int(part) for part in re.findall(r"\d+", pandas_version)[:2])
    exact = {} if (major, minor) >= (3, 1) else {"float_precision": "round_trip"}
    return {"na_filter": True, "na_values": {value_column: _BOOLEAN_WORDS}} | exact


def _index(codes):
    """``codes`` as a pandas Index of text (``get_indexer`` gives -1 for a text that is none of them)."""
    import pandas as pd

    return pd.Index(list(codes), dtype=object)


def _plain_numbers(texts: list[str], allow_inf: bool) -> np.ndarray | None:
    """``float()`` of every text when each is a plain number (:func:`parse_number`'s rule, no spaces), else None.

    ``float()`` reads exactly the texts of :data:`NUMBER_PATTERN` among those made of its characters;
    a number beyond floating point (``1e400``) gives None. Where ``allow_inf``, an infinity word
    (:data:`INFINITY_WORDS`, any case) is ``inf``.
    """
    infinite = None
    if allow_inf:
        infinite = np.array([text.lower() in INFINITY_WORDS for text in texts], dtype=bool)
        texts = ["0" if word else text for text, word in zip(texts, infinite)]
    joined = ",".join(texts)
    if not joined.isascii() or joined.encode("ascii").translate(None, _NUMBER_CHARACTERS):
        return None
    try:
        values = np.fromiter(map(float, texts), dtype=float, count=len(texts))
    except ValueError:
        return None
    if not np.isfinite(values).all():
        return None
    if infinite is not None:
        values[infinite] = np.inf
    return values


def _provenance_clean(frame, source_ids) -> bool:
    """Whether every ``basis`` and ``source`` cell passes :func:`_check_provenance` (checked once per distinct text)."""
    if source_ids is None:
        return True
    if "basis" in frame and not set(frame["basis"].cat.categories) <= set(BASES):
        return False
    if "source" in frame and source_ids:
        for cell in frame["source"].cat.categories:
            if any(sid not in source_ids for sid in cell.replace(";", " ").split()):
                return False
    return True


def _read_quotas(path, regions, sectors, flows, tariffs, problems, source_ids):
    """Base-year tariff-rate quotas from ``quotas.csv`` (docs/model.md, "Datasets"), or None without the file.

    Each row's base state must agree with ``tariffs.csv``: a flow below its volume pays the
    in-quota rate, one above it the out-of-quota rate, one that fills it a rate in between.
    """
    if not path.is_file():
        return None
    found = ProblemList(str(path))
    quotas = QuotaArrays.empty(flows.shape)
    seen: dict[tuple, int] = {}
    for line, row in _read_csv(path, QUOTA_FILE_COLUMNS, {"basis", "source", "note"}, problems, True):
        where = f"line {line}"
        ok = True
        for column, valid in (("sector", sectors), ("exporter", regions), ("importer", regions)):
            if row[column] not in valid:
                found.add(where, f"unknown {column} '{row[column]}'{closest(row[column], valid)}")
                ok = False
        volume = parse_number(row["volume"])
        low = parse_number(row["in_rate"])
        high = parse_number(row["out_rate"], allow_inf=True)
        if volume is None or not math.isfinite(volume) or volume <= 0:
            found.add(where, f"volume must be a number > 0, got {row['volume']!r}")
            ok = False
        if low is None or not math.isfinite(low) or low < 0:
            found.add(where, f"in_rate must be a number >= 0, got {row['in_rate']!r}")
            ok = False
        if high is None or math.isnan(high) or (low is not None and high < low):
            found.add(where, f"out_rate must be a number >= in_rate (inf allowed), got {row['out_rate']!r}")
            ok = False
        if row["rent"] not in ("exporter", "importer"):
            found.add(where, f"rent must be \"exporter\" or \"importer\", got {row['rent']!r}")
            ok = False
        _check_provenance(row, source_ids, where, found)
        if ok and row["exporter"] == row["importer"]:
            found.add(where, f"'{row['exporter']}' is both exporter and importer: no quota on a region's own market")
            ok = False
        if not ok:
            continue
        key = (row["sector"], row["exporter"], row["importer"])
        if key in seen:
            found.add(where, f"duplicate row for {key[0]} {key[1]}->{key[2]} (first on line {seen[key]})",
                      kind="duplicate row")
            continue
        seen[key] = line
        cell = (sectors.index(key[0]), regions.index(key[1]), regions.index(key[2]))
        _check_base_state(flows[cell], tariffs[cell], volume, low, high, key, where, found)
        quotas.volume[cell], quotas.in_rate[cell], quotas.out_rate[cell] = volume, low, high
        quotas.to_exporter[cell] = row["rent"] == "exporter"
    problems.extend(found)
    return quotas


def _read_adjustment(path, regions, sectors, problems, source_ids) -> tuple[Adjustment, ...]:
    """Short-run rules from ``adjustment.csv`` (docs/model.md, "Short-run adjustment"); () without the file.

    Returned with ``"*"`` sectors and regions first, so that a named row refines a wildcard one.
    """
    found = ProblemList(str(path))
    rules, seen = [], {}
    for line, row in _read_csv(path, ADJUSTMENT_FILE_COLUMNS, {"basis", "source", "note"}, problems, False):
        where = f"line {line}"
        region = row["region"] or EVERY_REGION
        ok = True
        for column, code, valid in (("sector", row["sector"], sectors), ("region", region, regions)):
            if code != "*" and code not in valid:
                found.add(where, f"unknown {column} '{code}'{closest(code, valid)}", kind=f"unknown {column}")
                ok = False
        rule = checked_rule(row["sector"], row["parameter"], region, parse_number(row["short_run"]),
                            parse_number(row["half_life_years"]), lambda column, at=where: at, found,
                            shown=(row["short_run"], row["half_life_years"]))
        _check_provenance(row, source_ids, where, found)
        if rule is None or not ok:
            continue
        cell = (rule.sector, rule.parameter, rule.region)
        if cell in seen:
            found.add(where, f"duplicate row for {' '.join(cell)} (first on line {seen[cell]})", kind="duplicate row")
            continue
        seen[cell] = line
        rules.append(replace(rule, key=f"{path.name} {where}"))
    problems.extend(found)
    return tuple(sorted(rules, key=lambda r: (r.sector != "*", r.region != EVERY_REGION)))


def _check_base_state(flow, rate, volume, low, high, key, where, found):
    """The base rate a quota's base flow implies: in-quota below the volume, out-of-quota above, between at it."""
    what = f"{key[0]} {key[1]}->{key[2]}"
    flow_text, volume_text = number_text(flow, decimals=1), number_text(volume, decimals=1)
    if flow < volume * (1 - FILL_TOLERANCE):
        if rate != low:
            found.add(where, f"base flow {flow_text} is below the quota volume {volume_text} (the quota is slack), "
                      f"so tariffs.csv's rate for {what} must be the in-quota rate {low:g}, got {rate:g}")
    elif flow > volume * (1 + FILL_TOLERANCE):
        if rate != high:
            found.add(where, f"base flow {flow_text} exceeds the quota volume {volume_text}, so tariffs.csv's rate "
                      f"for {what} must be the out-of-quota rate {high:g}, got {rate:g}")
    elif not low <= rate <= high:
        found.add(where, f"base flow {flow_text} fills the quota volume {volume_text}, so tariffs.csv's rate for "
                  f"{what} must lie between the in-quota rate {low:g} and the out-of-quota rate {high:g}, "
                  f"got {rate:g}")


def _read_inputs(path, regions, sectors, flows, tariffs, problems, source_ids):
    """Input-output cost shares from ``inputs.csv`` (docs/model.md, "Vertical linkages"), or None without it.

    ``region`` may be ``*`` (every region; a named region's row refines it). A using sector's shares
    must add up to less than 1 in every region, and the derived demand they imply (Σ share × the
    using sector's base output) must stay below each region's base absorption of the input.
    """
    if not path.is_file():
        return None
    found = ProblemList(str(path))

    def parse(text):
        value = parse_number(text)
        return value if value is not None and 0 <= value < 1 else None

    keys = {"input_sector": sectors, "using_sector": sectors, "region": (*regions, "*")}
    values = _read_table(path, keys, "cost_share", parse, "cost_share must be a number from 0 up to (not "
                         "including) 1", {"basis", "source", "note"}, problems, True, source_ids)
    shares = np.zeros((len(sectors), len(sectors), len(regions)))
    for (n, u, region), share in sorted(values.items(), key=lambda item: item[0][2] != "*"):
        cols = slice(None) if region == "*" else regions.index(region)
        shares[sectors.index(n), sectors.index(u), cols] = share
    agg = Links(shares).aggregates(flows, tariffs)  # the engine's own base aggregates, so the check is its rule
    total, derived, absorption = agg["A"], agg["D"], agg["E"]
    for u, j in zip(*np.nonzero(total >= 1)):
        found.add(f"{sectors[u]} {regions[j]}", f"the cost shares of {sectors[u]} in {regions[j]} add up to "
                  f"{total[u, j]:.6g}: they must stay below 1 (the rest is value added)")
    for n, j in zip(*np.nonzero((derived > 0) & (derived >= absorption))):
        found.add(f"{sectors[n]} {regions[j]}", f"the using sectors' derived demand for {sectors[n]} in {regions[j]}, "
                  f"{number_text(derived[n, j], decimals=1)}, is not below its base absorption "
                  f"{number_text(absorption[n, j], decimals=1)} (cost shares times the users' output must leave "
                  "some final demand)")
    problems.extend(found)
    return shares


def _read_ownership(path, regions, sectors, problems, source_ids):
    """Foreign owners' shares of each location's existing producers' surplus (``ownership.csv``), or None.

    Rows name foreign owners only; the location keeps what they leave, so the shares of one sector
    and location may add up to at most 1 (docs/model.md, "Ownership").
    """
    if not path.is_file():
        return None
    found = ProblemList(str(path))

    def parse(text):
        value = parse_number(text)
        return value if value is not None and 0 <= value <= 1 else None

    keys = {"sector": sectors, "location": regions, "owner": regions}
    values = _read_table(path, keys, "share", parse, "share must be a number from 0 to 1", {"basis", "source", "note"},
                         problems, True, source_ids)
    shares = np.zeros((len(sectors), len(regions), len(regions)))
    for (sector, location, owner), share in values.items():
        if owner == location:
            found.add(f"{sector} {location}->{owner}", f"owner '{owner}' is the location itself: list foreign owners "
                      "only (the location's own share is what they leave)")
            continue
        shares[sectors.index(sector), regions.index(location), regions.index(owner)] = share
    for k, r in zip(*np.nonzero(shares.sum(axis=2) > 1 + 1e-12)):
        listed = ", ".join(f"{regions[o]} {shares[k, r, o]:g}" for o in np.flatnonzero(shares[k, r]))
        found.add(f"{sectors[k]} {regions[r]}", f"foreign owners' shares add up to {shares[k, r].sum():.6g} ({listed}):"
                  " more than 1")
    problems.extend(found)
    return shares
