"""Build a dataset from CEPII's BACI trade data (``python run_sim.py dataset build``).

Inputs (every problem in every file is collected and reported together; nothing is
written unless all are right):

- ``trade``: a BACI file as CEPII publishes it, columns ``t,i,j,k,v,q`` (year, exporter and
  importer as CEPII numeric country codes, HS6 product — leading zeros may have been lost —,
  value in thousands of USD, quantity in tonnes). Read in chunks (the next one in a thread while
  this one is summed, the first while the tariff schedule is read), so a large year needs memory
  for two chunks and the region × sector aggregates only; each distinct country and HS6 code is
  looked up once, not row by row. The product code is read as fixed-width bytes, made text once
  per distinct cell (read again as text where bytes cannot be trusted), so a bad code is still
  quoted as written.
- ``countries``: BACI's country file ``country_code,country_name,country_iso2,country_iso3``.
- ``products``: ``hs,sector`` — an HS6 code or a 2- or 4-digit prefix; the longest prefix wins.
- ``sectors``: ``sector,name,sigma,eta,eps,source``: display names and default elasticities.
- ``regions``: ``iso3,region[,region_name]``; countries not listed go to ``ROW``.
- ``production`` (optional): ``region,sector,value[,unit,source]`` gross output, USD million.
  The domestic diagonal is output less exports to other regions, floored at
  :data:`HOME_FLOOR` of output where exports exceed it (flagged). Without it, the diagonal is
  ``imports × s / (1 − s)`` for an assumed domestic share ``s`` of absorption
  (``--domestic-share``), marked ``assumed``.
- ``tariffs`` (optional): ``importer,exporter,hs,rate`` with ISO3 codes (``*`` as exporter =
  MFN), aggregated to region pairs and sectors with BACI import values as weights; a
  preferential rate overrides MFN for its pair.

Output: a dataset folder (dataset.toml, flows.csv, tariffs.csv, README.md) in the
documented format, with ``basis``/``source``/``note`` for every cell, written by
:func:`sim.dataset.write_dataset`.
"""

from __future__ import annotations

import contextlib
import csv
import math
import re
import shlex
import sys
import warnings
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from .dataset import CODE_PATTERN, write_dataset
from .errors import LISTED_ROWS, CappedProblems, InputError, Problem, closest, more_rows, regular_file_problem
from .escape import toml_string

__all__ = ["build_dataset", "BuildReport", "HOME_FLOOR"]

BACI_COLUMNS = ["t", "i", "j", "k", "v", "q"]
CHUNK_ROWS = 1_000_000
HOME_FLOOR = 0.05
UNIT = "USD million"
ROW = "ROW"


@dataclass
class BuildReport:
    """What the build did and assumed, for the README and the command's summary."""

    year: int = 0
    rows_read: int = 0
    rows_used: int = 0
    rows_other_years: int = 0
    unmapped_products: dict = field(default_factory=dict)  # hs6 -> value dropped (thousand USD)
    remainder_products: dict = field(default_factory=dict)
    unmapped_countries: dict = field(default_factory=dict)  # iso3 -> value sent to ROW (thousand USD)
    floored: list = field(default_factory=list)
    assumed_home: list = field(default_factory=list)
    tariff_coverage: dict = field(default_factory=dict)


def _problem(path, key, message):
    return Problem(str(path), key, message)


def _plain(value) -> str:
    """A cell's value for a message: text as written, a number as a plain number (never ``np.int64(-5)``)."""
    if isinstance(value, str):
        return repr(value)
    number = float(value)
    return repr(str(int(number)) if number.is_integer() and abs(number) < 1e15 else repr(number))


def _read_small_csv(path: Path, required: list[str], optional: list[str], problems) -> pd.DataFrame | None:
    """A small CSV as stripped text columns indexed by line number, or None (with problems) if unusable.

    Missing or unknown columns and rows with more fields than the header are problems;
    blank lines are skipped; a short row's missing fields are empty.
    """
    try:
        header, rows, lines = _csv_rows(path)
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        problems.append(_problem(path, "", _unreadable(exc)))
        return None
    if header is None:
        problems.append(_problem(path, "", f"file is empty (expected the header line {','.join(required)})"))
        return None
    header_problems = [f"missing column '{column}'" for column in required if column not in header]
    for column in dict.fromkeys(header):
        if column not in required + optional:
            header_problems.append(f"unknown column '{column}'{closest(column, required + optional)}")
        elif header.count(column) > 1:
            header_problems.append(f"column '{column}' appears twice")
    for message in header_problems:
        problems.append(_problem(path, "header", message))
    width = len(header)
    long_rows = [(line, len(fields)) for line, fields in zip(lines, rows) if len(fields) > width]
    for line, count in long_rows:
        problems.append(_problem(path, f"line {line}", _too_many_fields(count, header)), kind="fields")
    if header_problems or long_rows:
        return None
    rows = [[f.strip() for f in fields] + [""] * (width - len(fields)) for fields in rows]
    return pd.DataFrame(rows, columns=header, index=lines, dtype=object)


def _csv_rows(path: Path) -> tuple[list[str] | None, list[list[str]], list[int]]:
    """The header (None for an empty file), the non-blank rows and the line each row starts on."""
    rows, lines = [], []
    with open(path, encoding="utf-8-sig", newline="") as fh:
        reader = csv.reader(fh)
        header = next(reader, None)
        while True:
            start = reader.line_num + 1
            fields = next(reader, None)
            if fields is None:
                break
            if any(f.strip() for f in fields):
                rows.append(fields)
                lines.append(start)
    return (None if header is None else [h.strip() for h in header]), rows, lines


def _unreadable(exc: Exception) -> str:
    """Why a file could not be read, in words."""
    if isinstance(exc, FileNotFoundError):
        return "file is missing"
    if isinstance(exc, IsADirectoryError):
        return "is a folder, not a file"
    if isinstance(exc, UnicodeDecodeError):
        return f"not valid UTF-8 text: {exc}"
    if isinstance(exc, OSError):
        return f"cannot read: {exc.strerror or exc}"
    return f"cannot be read as CSV: {exc}"


def _too_many_fields(count: int, header: list[str]) -> str:
    return f"{count} fields, expected {len(header)} ({','.join(header)})"


def _numbers(table, column, path, problems, minimum=None, allow_inf=False) -> np.ndarray:
    """A numeric column; each non-number (or one below ``minimum``) is a problem naming its line."""
    values = pd.to_numeric(table[column], errors="coerce").to_numpy(dtype=float)
    for pos in np.flatnonzero(np.isnan(values) | (~np.isfinite(values) & (not allow_inf))):
        problems.append(_problem(path, f"line {table.index[pos]}", f"{column} must be a number, got "
                                                                   f"{table[column].iloc[pos]!r}"), kind=column)
    if minimum is not None:
        for pos in np.flatnonzero(values < minimum):
            problems.append(_problem(path, f"line {table.index[pos]}", f"{column} must be >= {minimum:g}, got "
                                                                       f"{table[column].iloc[pos]!r}"),
                            kind=f"{column} minimum")
    return values


def _check_code(code: str, column: str, path, line, problems) -> bool:
    """A region or sector code must be one dataset.toml accepts (:data:`sim.dataset.CODE_PATTERN`)."""
    if CODE_PATTERN.match(code):
        return True
    problems.append(_problem(path, f"line {line}", f"{column} must be a code of letters, digits and _ starting "
                                                   f"with a letter, got {code!r}"), kind=f"{column} code")
    return False


def _is_hs_code(code: str) -> bool:
    """An HS code or prefix as a concordance may give it: 2, 4, 5 (an HS6 code that lost its zero) or 6 digits."""
    return HS_PREFIX.fullmatch(code) is not None


def _hs6_codes(codes: pd.Series) -> pd.Series:
    """HS6 codes as six digits (BACI files sometimes lose the leading zero)."""
    return codes.astype(str).str.strip().str.zfill(6)


#: BACI columns read as the C parser's numbers where they are numbers (whole numbers as integers); the product
#: code as text. The quantity is read as the parser finds it (numbers, or text where a cell is not one): only
#: whether it is blank matters.
BACI_DTYPES = {"k": str}
#: On the usual path the product code is read as bytes of this fixed width instead (the parser copies each cell,
#: making no Python string a row); the distinct cells are then made text. A chunk holding a cell that may be
#: longer, or a file holding a NUL byte (which fixed-width bytes cannot tell from their padding), takes its codes
#: as text from a second reading of the file, chunk for chunk (:class:`_TextCodes`).
CODE_BYTES = 8
#: What a concordance's HS code may be; what a BACI product code may be (leading zeros may be lost).
HS_PREFIX = re.compile(r"[0-9]{2}|[0-9]{4,6}")
BACI_PRODUCT = r"\s*[0-9]{1,6}\s*"
#: The years a dataset's ``base_year`` may take (sim/dataset.py checks the same range).
YEARS = range(1900, 2201)
#: Country codes are whole numbers in [0, MAX_CODE) (CEPII's are three digits).
MAX_CODE = 2**31


def _numeric(column: pd.Series, integers: bool = False) -> np.ndarray:
    """A column as floats (with ``integers``, as the parser's integers where it read every cell as one); a column
    the parser could not read as numbers is converted cell by cell (NaN where a cell is not a number)."""
    if integers and pd.api.types.is_signed_integer_dtype(column):
        return column.to_numpy(dtype=np.int64)
    if pd.api.types.is_numeric_dtype(column):
        return column.to_numpy(dtype=float)
    return pd.to_numeric(column, errors="coerce").to_numpy(dtype=float)


def _whole_cells(values: np.ndarray, low: int, high: int):
    """Which values are whole numbers in [low, high): ``True`` if all are (an integer column within the range,
    told by its least and greatest values, the usual case), else :func:`_whole`'s answer row by row."""
    if values.dtype.kind == "i" and (not len(values) or (values.min() >= low and values.max() < high)):
        return True
    return _whole(values, low, high)


def _finite_non_negative(values: np.ndarray):
    """Which values are finite numbers >= 0: ``True`` if all are (told by the least and greatest, NaN failing)."""
    if not len(values) or (values.min() >= 0 and np.isfinite(values.max())):
        return True
    return np.isfinite(values) & (values >= 0)


def _whole(values, low: float, high: float) -> np.ndarray:
    """Which values are whole numbers in [low, high) (NaN, inf and 392.7 are not)."""
    values = np.asarray(values, dtype=float)
    finite = np.where(np.isfinite(values), values, -1.0)
    return np.isfinite(values) & (finite == np.floor(finite)) & (finite >= low) & (finite < high)


class PrefixMap:
    """HS6 code → value by the longest matching prefix (2, 4 or 6 digits)."""

    def __init__(self, mapping: dict[str, object]):
        self.by_length = {n: {k: v for k, v in mapping.items() if len(k) == n} for n in (6, 4, 2)}

    def get(self, code: str):
        """The value of the longest prefix of ``code`` that has one; None if none has."""
        for n in (6, 4, 2):
            value = self.by_length[n].get(code[:n])
            if value is not None:
                return value
        return None

    @staticmethod
    def prefixes(codes: list[str]) -> dict[int, list[str]]:
        """The 6-, 4- and 2-digit prefixes of ``codes``, for :meth:`get_many` (made once for many maps)."""
        return {n: [code[:n] for code in codes] for n in (6, 4, 2)}

    def get_many(self, prefixes: dict[int, list[str]]) -> list:
        """:meth:`get` of each code whose :meth:`prefixes` are given: one dictionary look-up a code per length."""
        out = [None] * len(prefixes[6])
        for n in (2, 4, 6):  # a longer prefix's value replaces a shorter one's
            table = self.by_length[n]
            if table:
                out = [old if new is None else new for old, new in zip(out, map(table.get, prefixes[n]))]
        return out


def build_dataset(trade, countries, products, sectors, regions, name: str, out: Path, production=None,
                  tariffs=None, year: int | None = None, domestic_share: float | str | None = None,
                  remainder: str | None = None, command: list[str] | None = None) -> BuildReport:
    """Build the dataset folder ``out`` from BACI-format files; see the module docstring.

    Raises
    ------
    InputError
        Every problem found in the inputs, before anything is written.
    """
    problems = CappedProblems()
    paths = {k: Path(v) for k, v in dict(trade=trade, countries=countries, products=products, sectors=sectors,
                                         regions=regions).items()}
    _check_texts(name, {**paths, "production": production, "tariffs": tariffs}, problems)
    unreadable = [_problem(path, "", why) for path in [*paths.values(), production, tariffs] if path is not None
                  for why in [regular_file_problem(Path(path))] if why is not None]
    if unreadable:  # a FIFO would block the reader forever; a missing file cannot be read at all
        raise InputError(unreadable)
    if production is None and domestic_share is None:
        problems.append(_problem("--production", "", "give --production, or --domestic-share to assume a "
                                                     "domestic share of absorption for the diagonal"))
    shares = _parse_shares(domestic_share, problems)
    countries_by_code = _read_countries(paths["countries"], problems)
    sector_info = _read_sectors(paths["sectors"], problems)
    if sector_info and remainder is not None and remainder not in sector_info:
        problems.append(_problem("--remainder", "", f"'{remainder}' is not a sector of {paths['sectors']}"
                                                    f"{closest(remainder, list(sector_info))}"))
    product_map = _read_products(paths["products"], sector_info, problems)
    region_of, region_names = _read_regions(paths["regions"], countries_by_code, problems)
    if problems:
        raise InputError(problems)

    report = BuildReport()
    region_list = list(dict.fromkeys(list(region_of.values()) + [ROW]))
    sector_list = list(sector_info)
    schedule = None
    # The trade file's first chunk is read in a thread from here on, while the tariff schedule is read (the
    # parse of the trade file is the build's critical path); its errors are raised when its chunks are taken.
    with _strict_parser(), _ReadAhead(_trade_chunks(paths["trade"], codes_as_bytes=True)) as chunks:
        if tariffs is not None:  # read before the trade file's chunks are summed: their single pass also weighs it
            schedule = TariffSchedule.read(Path(tariffs), countries_by_code, (len(sector_list), len(region_list),
                                                                               len(region_list)))
        with np.errstate(over="ignore", invalid="ignore"):  # sums too large for a float are checked, and refused
            flows, intra, report = _aggregate_trade(chunks, paths["trade"], year, countries_by_code, product_map,
                                                    region_of, region_list, sector_list, remainder, report, schedule)
    with np.errstate(over="ignore", invalid="ignore"):
        year = report.year
        tariff_cells = None
        if schedule is not None:
            tariff_cells = schedule.rates(Path(tariffs))
            report.tariff_coverage = schedule.coverage()
        output = _read_production(Path(production), region_list, sector_list) if production is not None else None
        unknown = sorted(set(shares) - set(sector_list) - {"*"})
        if unknown:
            raise InputError([_problem("--domestic-share", "", f"unknown sector '{u}'{closest(u, sector_list)}")
                              for u in unknown])
        cells = _cells(flows, intra, output, shares, region_list, sector_list, report)
    _write(out, name, year, cells, tariff_cells, sector_info, region_list, region_names, report, paths,
           production, tariffs, domestic_share, command)
    return report


def _check_texts(name, paths: dict, problems) -> None:
    """The name is some text, and it and the paths written into dataset.toml can be written as UTF-8."""
    if not str(name).strip():
        problems.append(_problem("--name", "", f"must be some text, got {name!r}"))
    for option, value in [("name", name), *paths.items()]:
        if value is not None and not _utf8(str(value)):
            problems.append(_problem(f"--{option}", "", f"is not valid UTF-8 text: {str(value)!r}"))


def _utf8(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _read_countries(path, problems) -> dict[int, str]:
    """BACI's country file → {CEPII code: ISO3}; a code must be a whole number and name one country."""
    table = _read_small_csv(path, ["country_code", "country_name", "country_iso2", "country_iso3"], [], problems)
    if table is None:
        return {}
    codes = pd.to_numeric(table["country_code"], errors="coerce")
    whole = _whole(codes, 0, MAX_CODE)
    out: dict[int, str] = {}
    for line, text, ok, code, iso in zip(table.index, table["country_code"], whole, codes, table["country_iso3"]):
        if not ok:
            problems.append(_problem(path, f"line {line}", f"country_code must be a CEPII country code (a whole "
                                                           f"number), got {text!r}"), kind="country_code")
        elif out.setdefault(int(code), iso) != iso:
            problems.append(_problem(path, f"line {line}", f"country code {int(code)} is both "
                                                           f"'{out[int(code)]}' and '{iso}'"), kind="code twice")
    return out


def _read_sectors(path, problems) -> dict[str, tuple]:
    """``sector,name,sigma,eta,eps,source`` → {code: (name, sigma, eta, eps, source)}."""
    table = _read_small_csv(path, ["sector", "name", "sigma", "eta", "eps", "source"], [], problems)
    if table is None:
        return {}
    if table.empty:
        problems.append(_problem(path, "", "no sectors: give at least one row"))
    sigma = _numbers(table, "sigma", path, problems)
    eta = _numbers(table, "eta", path, problems)
    eps = _numbers(table, "eps", path, problems, minimum=0, allow_inf=True)
    out = {}
    for pos, (line, row) in enumerate(zip(table.index, table.itertuples(index=False))):
        where = f"line {line}"
        if sigma[pos] <= 0:
            problems.append(_problem(path, where, f"sigma must be > 0, got {row.sigma!r}"), kind="sigma > 0")
        if eta[pos] >= 0:
            problems.append(_problem(path, where, f"eta must be < 0, got {row.eta!r}"), kind="eta < 0")
        if _check_code(row.sector, "sector", path, line, problems) and row.sector in out:
            problems.append(_problem(path, where, f"sector '{row.sector}' appears twice"), kind="sector twice")
        out[row.sector] = (row.name, sigma[pos], eta[pos], eps[pos], row.source)
    return out


def _read_products(path, sector_info, problems) -> PrefixMap:
    """``hs,sector[,note]`` → a :class:`PrefixMap` of sectors; codes and sectors checked line by line."""
    table = _read_small_csv(path, ["hs", "sector"], ["note"], problems)
    mapping: dict[str, str] = {}
    for line, row in ([] if table is None else zip(table.index, table.itertuples(index=False))):
        where = f"line {line}"
        if not _is_hs_code(row.hs):
            problems.append(_problem(path, where, f"hs must be an HS6 code or a 2- or 4-digit prefix, got "
                                                  f"{row.hs!r}"), kind="hs")
            continue
        code = row.hs.zfill(6) if len(row.hs) == 5 else row.hs
        if sector_info and row.sector not in sector_info:
            hint = closest(row.sector, list(sector_info))
            problems.append(_problem(path, where, f"unknown sector '{row.sector}'{hint}"), kind="unknown sector")
        if code in mapping:
            problems.append(_problem(path, where, f"product {code} is mapped twice ({mapping[code]} and "
                                                  f"{row.sector})"), kind="mapped twice")
        mapping[code] = row.sector
    return PrefixMap(mapping)


def _read_regions(path, countries_by_code, problems) -> tuple[dict[str, str], dict[str, str]]:
    """``iso3,region[,region_name]`` → ({ISO3: region code}, {region code: display name})."""
    table = _read_small_csv(path, ["iso3", "region"], ["region_name"], problems)
    region_of: dict[str, str] = {}
    region_names: dict[str, str] = {}
    known = set(countries_by_code.values())
    for line, row in ([] if table is None else zip(table.index, table.itertuples(index=False))):
        where = f"line {line}"
        if known and row.iso3 not in known:
            problems.append(_problem(path, where, f"'{row.iso3}' is not in the country file"
                                                  f"{closest(row.iso3, sorted(known))}"), kind="unknown country")
        if row.iso3 in region_of:
            problems.append(_problem(path, where, f"country '{row.iso3}' is mapped twice"), kind="mapped twice")
        _check_code(row.region, "region", path, line, problems)
        region_of[row.iso3] = row.region
        if getattr(row, "region_name", ""):
            region_names[row.region] = row.region_name
    return region_of, region_names


def _closing(reader):
    """The chunks of a pandas reader, closing its file however the loop ends (an error part-way included)."""
    with reader:
        yield from reader


def _trade_chunks(path: Path, codes_as_bytes: bool = False):
    """The BACI file's chunks (t, i, j, v as numbers where the parser could read them; k and q as text, or k as
    bytes of :data:`CODE_BYTES` with ``codes_as_bytes``).

    Every line is a row (blank lines too, so that a row's line is its position + 2); a row
    with more fields than the header, or a file that is not CSV, is one :class:`InputError`
    (read inside :func:`_strict_parser`, which makes pandas' warning on extra fields an error).
    """
    try:
        header = _csv_header(path)
        if header is None:
            raise InputError([_problem(path, "", f"file is empty (expected the header line "
                                                 f"{','.join(BACI_COLUMNS)})")])
        if sorted(header) != sorted(BACI_COLUMNS):
            missing = [c for c in BACI_COLUMNS if c not in header]
            extra = [c for c in header if c not in BACI_COLUMNS or header.count(c) > 1]
            raise InputError([_problem(path, "header", f"expected BACI's columns {','.join(BACI_COLUMNS)}; "
                                                       f"missing {missing}, unknown {extra}")])
        dtype = {"k": f"S{CODE_BYTES}"} if codes_as_bytes else BACI_DTYPES
        reader = pd.read_csv(path, dtype=dtype, keep_default_na=False, chunksize=CHUNK_ROWS,
                             index_col=False, skip_blank_lines=False, encoding="utf-8-sig")
        yield from _closing(reader)
    except (pd.errors.ParserError, pd.errors.ParserWarning) as exc:
        raise InputError(_long_rows(path) or [_problem(path, "", f"cannot be read as BACI CSV: {exc}")]) from None
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise InputError([_problem(path, "", _unreadable(exc))]) from None


@contextlib.contextmanager
def _strict_parser():
    """Warning filters for reading the trade file, installed once for the whole read, on the main thread.

    pandas warns (and drops data) on extra fields in the first chunk: an error here; it warns of
    columns of mixed types, which are converted cell by cell: ignored. The filters are global
    (``warnings.catch_warnings`` swaps ``warnings.filters``), so they are set before the reader
    thread starts and put back after it has stopped: a ``catch_warnings`` entered in one thread
    and left in another, while the other thread entered its own, could leave filters behind.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("error", pd.errors.ParserWarning)
        warnings.simplefilter("ignore", pd.errors.DtypeWarning)
        yield


class _ReadAhead:
    """The items of the generator ``chunks``, each read in a thread ahead of the caller, the first from creation.

    The C parser reads without holding Python's lock, so reading the next chunk and summing this
    one (or reading the other input files before the first) share the machine's cores. An error
    while reading is raised where that chunk is taken. Used as a context manager: leaving it waits
    for the chunk being read (its error, if any, is not the caller's) and closes ``chunks`` (the file).
    """

    def __init__(self, chunks):
        self.chunks = chunks
        self.reader = ThreadPoolExecutor(max_workers=1, thread_name_prefix="baci-reader")
        self.pending = self.reader.submit(next, chunks, None)

    def __iter__(self):
        while (chunk := self.pending.result()) is not None:
            self.pending = self.reader.submit(next, self.chunks, None)
            yield chunk

    def __enter__(self) -> _ReadAhead:
        return self

    def __exit__(self, *exc) -> None:
        self.pending.cancel()
        if not self.pending.cancelled():
            self.pending.exception()  # wait for the chunk being read
        self.reader.shutdown()
        self.chunks.close()


class _TextCodes:
    """The product codes of the BACI file's chunks as text, from a second reading opened when first needed.

    Its chunks are the first reading's, row for row (the same parser and options but the product
    code's type); only the chunks asked for are kept.
    """

    def __init__(self, path: Path):
        self.path, self.chunks, self.read = path, None, 0

    def column(self, index: int) -> pd.Series:
        """The product codes of chunk ``index`` (0 for the first; asked for in increasing order)."""
        if self.chunks is None:
            self.chunks = _trade_chunks(self.path)
        while True:
            chunk = next(self.chunks)
            self.read += 1
            if self.read > index:
                return chunk["k"]

    def close(self) -> None:
        if self.chunks is not None:
            self.chunks.close()


def _holds_nul(path: Path, block: int = 8 << 20) -> bool:
    """Whether the file holds a NUL byte (read in blocks: a memory map would count the whole file as resident)."""
    buffer = bytearray(block)
    with open(path, "rb", buffering=0) as fh:
        while size := fh.readinto(buffer):
            if buffer.find(b"\0", 0, size) >= 0:
                return True
    return False


def _csv_header(path: Path) -> list[str] | None:
    """The header line of a CSV file as its fields (None if the file is empty, [] if the line is blank)."""
    with open(path, encoding="utf-8-sig", newline="") as fh:
        header = next(csv.reader(fh), None)
    return None if header is None else [h.strip() for h in header]


def _long_rows(path: Path) -> list[Problem]:
    """Each row with more fields than the header (read only when the parser has refused the file)."""
    problems = CappedProblems()
    with open(path, encoding="utf-8-sig", errors="replace", newline="") as fh:
        reader = csv.reader(fh)
        header = next(reader, [])
        for fields in reader:
            if len(fields) > len(header):
                problems.append(_problem(path, f"line {reader.line_num}", _too_many_fields(len(fields), header)),
                                kind="fields")
    return list(problems)


#: The rules a BACI row's cells must meet: column, what the value must be, test on the chunk's parsed columns.
#: Each test gives which rows meet the rule, or ``True`` when every row does.
TRADE_RULES = (
    ("t", "must be a year (a whole number)", lambda c: _whole_cells(c["t"], 0, 10_000)),
    ("i", "must be a CEPII country code (a whole number)", lambda c: _whole_cells(c["i"], 0, MAX_CODE)),
    ("j", "must be a CEPII country code (a whole number)", lambda c: _whole_cells(c["j"], 0, MAX_CODE)),
    ("k", "must be an HS6 product code (up to six digits)", lambda c: c["k"].matching(BACI_PRODUCT)),
    ("v", "must be a finite number >= 0 (thousand USD)", lambda c: _finite_non_negative(c["v"])),
)


@dataclass
class _BadCells:
    """Cells of the trade file that break a rule of :data:`TRADE_RULES`: the first few of each rule, all counted.

    The messages quote each cell as written, read back from the file once the pass is over
    (the parser has turned ``1e400`` into ``inf`` by then).
    """

    listed: dict = field(default_factory=dict)  # (column, rule) -> [(line, parsed value)]
    counts: dict = field(default_factory=dict)

    def add(self, column, rule, lines, values, count) -> None:
        """``count`` more cells break ``rule``; ``lines`` and ``values`` are the first of them."""
        kept = self.listed.setdefault((column, rule), [])
        room = LISTED_ROWS - len(kept)
        kept.extend(zip(lines[:room], values[:room]))
        self.counts[(column, rule)] = self.counts.get((column, rule), 0) + count

    def problems(self, path: Path) -> list[Problem]:
        header = _csv_header(path) or []
        raw = _lines_as_fields(path, {line for rows in self.listed.values() for line, _ in rows})
        out = []
        for (column, rule), rows in self.listed.items():
            for line, value in sorted(rows):
                fields = dict(zip(header, raw.get(line, [])))
                text = repr(fields[column].strip()) if column in fields else _plain(value)
                out.append(_problem(path, f"line {line}", f"{column} {rule}, got {text}"))
            if self.counts[(column, rule)] > len(rows):
                out.append(more_rows(str(path), self.counts[(column, rule)] - len(rows)))
        return out


def _lines_as_fields(path: Path, lines: set[int]) -> dict[int, list[str]]:
    """The fields of the given lines of a CSV file (for messages: read only when some cells are bad)."""
    out: dict[int, list[str]] = {}
    last = max(lines, default=0)
    with open(path, encoding="utf-8-sig", errors="replace", newline="") as fh:
        for number, text in enumerate(fh, start=1):
            if number > last:
                break
            if number in lines:
                out[number] = next(csv.reader([text]), [])
    return out


@dataclass
class _Texts:
    """A text column as its distinct cells and each row's position among them (a chunk has ~5,000 products).

    A test of the text runs once per distinct cell, with the same pandas string methods as on
    the whole column, and is spread back to the rows by ``codes``.
    """

    codes: np.ndarray
    distinct: pd.Series

    @classmethod
    def of(cls, column: pd.Series) -> _Texts:
        codes, distinct = pd.factorize(column.astype(str), use_na_sentinel=False)
        return cls(codes, pd.Series(distinct))

    @classmethod
    def of_bytes(cls, column: pd.Series) -> _Texts | None:
        """A column read as bytes of :data:`CODE_BYTES` (from a file without NUL bytes) as its distinct texts;
        None if a cell may have been cut at that width (its text must then be read as text)."""
        cells = column.to_numpy()
        if cells.dtype != np.dtype(f"S{CODE_BYTES}"):
            return None
        codes, keys = pd.factorize(cells.view(np.uint64))  # a cell's bytes as one number: hashed, not sorted
        cells = keys.view(f"S{CODE_BYTES}")
        if len(cells) and cells.view(np.uint8).reshape(-1, CODE_BYTES)[:, -1].any():  # a full cell may be cut
            return None
        try:
            texts = [cell.decode("utf-8") for cell in cells.tolist()]
        except UnicodeDecodeError:  # the parser has read the file as UTF-8: left to it to say where it is not
            return None
        return cls(codes, pd.Series(texts, dtype=str))

    def matching(self, pattern: str):
        """Which rows' text matches ``pattern`` whole (as ``Series.str.fullmatch``; a missing cell does not);
        ``True`` if every row's does."""
        per_cell = self.distinct.str.fullmatch(pattern).fillna(False).to_numpy(dtype=bool)
        return True if per_cell.all() else per_cell[self.codes]

    def blank(self) -> np.ndarray:
        """Which rows' text is empty or white space."""
        return self.spread(self.distinct.str.strip() == "")

    def spread(self, per_cell: pd.Series) -> np.ndarray:
        return per_cell.fillna(False).to_numpy(dtype=bool)[self.codes]


def _check_chunk(chunk: pd.DataFrame, codes: _Texts, offset: int, bad: _BadCells) -> tuple[dict, np.ndarray | None]:
    """A chunk's columns parsed (t, i, j, v numbers; k as ``codes``) and which rows are usable (None: all).

    The cells breaking a rule go to ``bad``; blank lines are neither usable nor bad. A chunk whose
    columns the parser read as numbers and whose values all meet the rules (the usual case) is
    told so by each column's least and greatest values, without a mask per rule.
    """
    parsed = {c: _numeric(chunk[c], integers=True) for c in ("t", "i", "j")} | {"v": _numeric(chunk["v"]),
                                                                                 "k": codes}
    blank = False  # a row is blank only if none of t, i, j, v is a number: never in a column of integers
    if all(parsed[c].dtype.kind == "f" for c in ("t", "i", "j")):
        blank = np.isnan(parsed["t"]) & np.isnan(parsed["i"]) & np.isnan(parsed["j"]) & np.isnan(parsed["v"])
        if blank.any():  # rows without a number are rare: their text is looked at alone
            rows = np.flatnonzero(blank)
            blank[rows] = (parsed["k"].blank()[rows]
                           & (chunk["q"].iloc[rows].astype(str).str.strip() == "").to_numpy())
        else:
            blank = False
    usable = None if blank is False else ~blank
    for column, rule, test in TRADE_RULES:
        ok = test(parsed)
        if ok is True:
            continue
        ok = ok | blank
        rows = np.flatnonzero(~ok)
        if len(rows):
            first = rows[:LISTED_ROWS]
            values = codes.distinct.iloc[codes.codes[first]] if column == "k" else chunk[column].iloc[first]
            bad.add(column, rule, list(offset + first), list(values), len(rows))
        usable = ok if usable is None else usable & ok
    return parsed, usable


def _aggregate_trade(chunks, path, year, countries, product_map, region_of, regions, sectors, remainder, report,
                     schedule=None):
    """Sum BACI values (thousand USD) by (sector, exporter region, importer region), chunk by chunk.

    ``chunks`` is the :class:`_ReadAhead` of the file at ``path`` (:func:`_trade_chunks` with the codes as bytes).

    With a :class:`TariffSchedule`, each chunk's rows also go to its import-value weights, so the
    file is read once. Countries, products, sectors and regions are numbers here: each distinct
    country code or HS6 code is looked up once, never row by row; every sum is taken in the
    same order and by the same method as before they were (pandas' group sums, chunk by chunk),
    so the numbers are the same to the last bit.
    """
    k, n = len(sectors), len(regions)
    flows = np.zeros((k, n, n))
    intra = np.zeros((k, n))  # trade between countries of one region (counted as its domestic trade)
    problems = CappedProblems()
    bad = _BadCells()
    years_seen = set()
    table = _Countries(countries, region_of, regions)
    products = _Products(product_map, sectors, schedule)
    if schedule is not None:
        schedule.number_countries(table.iso)
    unknown_codes: dict[int, int] = {}
    for parsed, usable in _checked_chunks(chunks, path, bad):
        rows = _rows_of_year(parsed["t"], usable, year, years_seen, report)
        rows, exporter, importer = _known_rows(parsed, rows, table, unknown_codes)
        product = products.of(parsed["k"], rows)
        value = parsed["v"] if rows is None else parsed["v"][rows]
        sector = products.sector[product]
        dropped = sector < 0
        if remainder is not None:
            _add_sums(report.remainder_products, value[dropped], product[dropped], products.hs6)
            sector = np.where(dropped, sectors.index(remainder), sector)
        else:
            _add_sums(report.unmapped_products, value[dropped], product[dropped], products.hs6)
            exporter, importer, product, value, sector = (x[~dropped] for x in (exporter, importer, product, value,
                                                                                sector))
        exp_out, imp_out = ~table.in_region[exporter], ~table.in_region[importer]
        _add_sums(report.unmapped_countries, np.concatenate([value[exp_out], value[imp_out]]),
                  np.concatenate([exporter[exp_out], importer[imp_out]]), table.iso)
        a_idx, b_idx = table.region[exporter], table.region[importer]
        if schedule is not None:
            schedule.add(exporter, importer, product, value, sector, a_idx, b_idx)
        _add_flows(flows, intra, value, sector, a_idx, b_idx)
        report.rows_used += len(value)
    for problem in bad.problems(path):
        problems.append(problem)
    for code, count in sorted(unknown_codes.items()):
        problems.append(_problem(path, "i/j", f"country code {code} ({count} row(s)) is not in the country file"),
                        kind="unknown country code")
    _choose_year(path, year, years_seen, bool(bad.counts), report, problems)
    _check_sums(path, flows, intra, regions, sectors, problems)
    if problems:
        raise InputError(problems)
    return flows / 1000.0, intra / 1000.0, report  # USD million


def _rows_of_year(t: np.ndarray, usable, year, years_seen: set, report):
    """The usable rows of ``year`` (of every year without one): None for all the chunk's rows, else their positions.

    Counts the rows read and those of other years in ``report``, and adds the chunk's years to ``years_seen``.
    """
    used = t if usable is None else t[usable]
    report.rows_read += len(used)
    if len(used) and used.min() == used.max():  # a BACI file is one year: told without sorting its years
        years_seen.add(int(used[0]))
    else:
        years_seen.update(int(x) for x in np.unique(used))
    if year is None or not len(used) or used.min() == used.max() == year:
        return None if usable is None else np.flatnonzero(usable)
    report.rows_other_years += int((used != year).sum())
    keep = t == year if usable is None else usable & (t == year)
    return np.flatnonzero(keep)


def _checked_chunks(chunks: _ReadAhead, path: Path, bad: _BadCells):
    """Each chunk of the trade file: its columns parsed and which of its rows are usable (:func:`_check_chunk`).

    ``chunks`` are the file's chunks with the product codes read as fixed-width bytes, made text
    once per distinct cell; a chunk where that cannot be trusted takes them from :class:`_TextCodes`.
    """
    texts = _TextCodes(path)
    try:
        holds_nul = _holds_nul(path)  # while the first chunk is read
        lines_read = 0
        for index, chunk in enumerate(chunks):
            codes = None if holds_nul else _Texts.of_bytes(chunk["k"])
            codes = _Texts.of(texts.column(index)) if codes is None else codes
            offset = lines_read + 2
            lines_read += len(chunk)
            parsed, usable = _check_chunk(chunk, codes, offset, bad)
            yield parsed, usable
    finally:
        texts.close()


class _Countries:
    """CEPII codes → countries (numbered in ISO3 order, so that sorting numbers sorts names) → regions."""

    def __init__(self, countries: dict[int, str], region_of: dict[str, str], regions: list[str]):
        self.iso = sorted(set(countries.values()))
        number = {iso: pos for pos, iso in enumerate(self.iso)}
        self.codes = np.array(sorted(countries), dtype=np.int64)
        self.country = np.array([number[countries[code]] for code in self.codes.tolist()] + [-1], dtype=np.int64)
        if self.codes.max(initial=0) < 2**20:  # CEPII's codes: a table by code, -1 for codes not listed
            self.by_code = np.full(int(self.codes.max(initial=0)) + 2, -1, dtype=np.int64)
            self.by_code[self.codes] = self.country[:-1]
        region_index = {region: pos for pos, region in enumerate(regions)}
        self.in_region = np.array([iso in region_of for iso in self.iso], dtype=bool)
        self.region = np.array([region_index[region_of.get(iso, ROW)] for iso in self.iso], dtype=np.int64)

    def of(self, codes: np.ndarray) -> np.ndarray:
        """Each CEPII code's country number (codes are whole numbers >= 0); -1 where the country file has none."""
        codes = codes.astype(np.int64, copy=False)
        if hasattr(self, "by_code"):
            if len(codes) and codes.max() < len(self.by_code) - 1:
                return self.by_code[codes]
            return self.by_code[np.minimum(codes, len(self.by_code) - 1)]
        pos = np.searchsorted(self.codes, codes)
        listed = self.codes[np.minimum(pos, len(self.codes) - 1)] == codes if len(self.codes) else False
        return np.where(listed, self.country[pos], -1)


def _known_rows(parsed, rows: np.ndarray | None, table: _Countries, unknown_codes: dict):
    """The rows (None: all the chunk's) whose exporter and importer are in the country file, and their numbers.

    The other rows' unknown codes are counted in ``unknown_codes``.
    """
    i, j = (parsed["i"], parsed["j"]) if rows is None else (parsed["i"][rows], parsed["j"][rows])
    exporter, importer = table.of(i), table.of(j)
    if exporter.min(initial=0) >= 0 and importer.min(initial=0) >= 0:  # every code known (the usual case)
        return rows, exporter, importer
    unknown = np.concatenate([i[exporter < 0], j[importer < 0]]).astype(np.int64)
    for code, count in zip(*np.unique(unknown, return_counts=True)):
        unknown_codes[int(code)] = unknown_codes.get(int(code), 0) + int(count)
    known = (exporter >= 0) & (importer >= 0)
    rows = np.arange(len(i)) if rows is None else rows
    return rows[known], exporter[known], importer[known]


class _Products:
    """The HS6 codes met so far, numbered in the order met, with their sector number (-1 for none).

    Each chunk looks up only the codes it is the first to hold (the concordance's longest
    prefix, and the tariff schedule's rates); its rows then take their code's number.
    """

    def __init__(self, product_map: PrefixMap, sectors: list[str], schedule=None):
        self.product_map, self.schedule = product_map, schedule
        self.sector_index = {sector: pos for pos, sector in enumerate(sectors)}
        self.number: dict[str, int] = {}
        self.of_text: dict[str, int] = {}  # a cell's text as written -> its product's number
        self.hs6: list[str] = []
        self.sector = np.empty(0, dtype=np.int64)

    def of(self, texts: _Texts, rows: np.ndarray | None) -> np.ndarray:
        """The product number of each of ``rows`` (usable rows of a chunk, None for all: codes of up to six digits)."""
        codes = texts.codes if rows is None else texts.codes[rows]
        if rows is None:  # every distinct cell is some row's (they were factorized from the rows)
            used = np.arange(len(texts.distinct))
        else:
            used = np.flatnonzero(np.bincount(codes, minlength=len(texts.distinct)))
        cells = texts.distinct.iloc[used].tolist()
        new = [cell for cell in cells if cell not in self.of_text]  # texts met before are not made HS6 again
        hs6 = _hs6_codes(pd.Series(new, dtype=texts.distinct.dtype)).tolist()
        self._add([code for code in dict.fromkeys(hs6) if code not in self.number])
        self.of_text.update((cell, self.number[code]) for cell, code in zip(new, hs6))
        numbers = np.full(len(texts.distinct), -1, dtype=np.int64)
        numbers[used] = [self.of_text[cell] for cell in cells]
        return numbers[codes]

    def _add(self, codes: list[str]) -> None:
        if not codes:
            return
        for code in codes:
            self.number[code] = len(self.hs6)
            self.hs6.append(code)
        sector = [self.sector_index.get(name, -1) for name in self.product_map.get_many(PrefixMap.prefixes(codes))]
        self.sector = np.concatenate([self.sector, np.array(sector, dtype=np.int64)])
        if self.schedule is not None:
            self.schedule.add_products(codes)


def _add_sums(target: dict, values: np.ndarray, keys: np.ndarray, names: list[str]) -> None:
    """``target[name] += `` the sum of the values of each key (pandas' group sum, in row order), in name order."""
    if not len(values):
        return
    sums = pd.Series(values).groupby(keys).sum()
    for name, value in sorted((names[key], value) for key, value in zip(sums.index.tolist(), sums.tolist())):
        target[name] = target.get(name, 0.0) + value


def _add_flows(flows: np.ndarray, intra: np.ndarray, value, sector, a_idx, b_idx) -> None:
    """Add a chunk's values to ``flows`` (between regions) and ``intra`` (within one), by pandas' group sums.

    The groups are the (sector, exporter region, importer region) cells. When there are no more
    cells than rows (the usual case: 60 sectors and 40 regions make 96,000 cells, a chunk has a
    million rows), each row's cell number is its group's code (a categorical over every cell), so
    pandas does not hash the rows to find the groups; a cell without rows sums to 0.0, which adds
    nothing. The sums are pandas' either way (the same to the last bit: tests/test_baci.py).
    """
    k, n = flows.shape[0], flows.shape[1]
    cells = (sector * n + a_idx) * n + b_idx
    if k * n * n <= len(value):
        every_cell = pd.Categorical.from_codes(cells, categories=pd.RangeIndex(k * n * n), validate=False)
        sums = pd.Series(value).groupby(every_cell, observed=False, sort=True).sum().to_numpy().reshape(k, n, n)
        diagonal = np.arange(n)
        intra += sums[:, diagonal, diagonal]
        between = ~np.eye(n, dtype=bool)
        flows[:, between] += sums[:, between]
        return
    sums = pd.Series(value).groupby(cells, sort=False).sum()
    s_idx, pair = np.divmod(sums.index.to_numpy(dtype=np.int64), n * n)
    a_idx, b_idx = np.divmod(pair, n)
    values = sums.to_numpy()
    inside = a_idx == b_idx
    flows[s_idx[~inside], a_idx[~inside], b_idx[~inside]] += values[~inside]
    intra[s_idx[inside], a_idx[inside]] += values[inside]


def _choose_year(path, year, years_seen, any_bad, report, problems) -> None:
    """The year to build: ``--year`` if the file has it, else the file's only year; one a dataset may have."""
    if not years_seen:
        if not any_bad:
            problems.append(_problem(path, "", "no data rows"))
        return
    if year is not None and year not in years_seen:
        problems.append(_problem(path, "t", f"year {year} is not in the file (years: {_years_text(years_seen)})"))
    elif year is None and len(years_seen) > 1:
        problems.append(_problem(path, "t", f"the file holds several years ({_years_text(years_seen)}): choose one "
                                            "with --year"))
    else:
        report.year = year if year is not None else next(iter(years_seen))
        if report.year not in YEARS:
            problems.append(_problem(path, "t", f"year {report.year} is outside {YEARS[0]}-{YEARS[-1]}, the years a "
                                                "dataset's base_year may take"))


def _years_text(years, shown=10) -> str:
    years = sorted(years)
    more = f", ... ({len(years)} years)" if len(years) > shown else ""
    return ", ".join(str(y) for y in years[:shown]) + more


def _check_sums(path, flows, intra, regions, sectors, problems) -> None:
    """Values whose sum is too large for a float would be ``inf`` flows: one problem naming the first such cell."""
    for cells, what in ((flows, lambda s, a, b: f"{sectors[s]} {regions[a]}->{regions[b]}"),
                        (intra, lambda s, a: f"{sectors[s]} within {regions[a]}")):
        overflowing = np.argwhere(~np.isfinite(cells))
        if len(overflowing):
            problems.append(_problem(path, "v", f"the values of {what(*overflowing[0])} sum to more than a number "
                                                "can hold: check the file's values and unit (thousand USD)"))


class TariffSchedule:
    """Applied rates by HS code (preferential over MFN) and their BACI import-value weights by region pair."""

    def __init__(self, mfn: dict, preferential: dict, shape):
        self.mfn = mfn  # importer -> PrefixMap of MFN rates
        self.preferential = preferential  # (importer, exporter) -> PrefixMap
        self.importers = set(mfn) | {i for i, _ in preferential}
        self.weighted, self.weights = np.zeros(shape), np.zeros(shape)
        self.covered = self.total = 0.0

    @classmethod
    def read(cls, path, countries, shape) -> TariffSchedule:
        """``importer,exporter,hs,rate`` (ISO3, ``*`` = MFN); every problem as :class:`InputError`."""
        problems = CappedProblems()
        table = _read_small_csv(path, ["importer", "exporter", "hs", "rate"], ["source", "note"], problems)
        if table is None:
            raise InputError(problems)
        rates = _numbers(table, "rate", path, problems, minimum=0)
        known = set(countries.values())
        seen: dict[tuple, int] = {}
        for line, row in zip(table.index, table.itertuples(index=False)):
            where = f"line {line}"
            for column in ("importer", "exporter"):
                code = getattr(row, column)
                if code != "*" and code not in known:
                    problems.append(_problem(path, where, f"{column} '{code}' is not in the country file"
                                                          f"{closest(code, sorted(known))}"), kind="unknown country")
            if not _is_hs_code(row.hs):
                problems.append(_problem(path, where, f"hs must be an HS6 code or a 2- or 4-digit prefix, got "
                                                      f"{row.hs!r}"), kind="hs")
            key = (row.importer, row.exporter, row.hs.zfill(6) if len(row.hs) == 5 else row.hs)
            if key in seen:
                problems.append(_problem(path, where, f"a second rate for {key[0]} from {key[1]} on {key[2]} (first "
                                                      f"on line {seen[key]})"), kind="twice")
            seen.setdefault(key, line)
        if problems:
            raise InputError(problems)
        table = table.assign(rate=rates, hs=table["hs"].map(lambda h: h.zfill(6) if len(h) == 5 else h))
        mfn, preferential = {}, {}
        for r in table.itertuples():
            if r.exporter == "*":
                mfn.setdefault(r.importer, {})[r.hs] = r.rate
            else:
                preferential.setdefault((r.importer, r.exporter), {})[r.hs] = r.rate
        return cls({imp: PrefixMap(m) for imp, m in mfn.items()},
                   {pair: PrefixMap(m) for pair, m in preferential.items()}, shape)

    def number_countries(self, isos: list[str]) -> None:
        """Number the countries as the trade's rows will (``isos[n]`` is country n); no product has rates yet."""
        number = {iso: pos for pos, iso in enumerate(isos)}
        self.n_countries = len(isos)
        self.with_data = np.array([iso in self.importers for iso in isos], dtype=bool)
        self.mfn_of = np.full(len(isos), -1, dtype=np.int64)
        for pos, imp in enumerate(self.mfn):
            self.mfn_of[number[imp]] = pos
        pairs = {number[imp] * len(isos) + number[exp]: pos for pos, (imp, exp) in enumerate(self.preferential)}
        self.pair_keys = np.array(sorted(pairs), dtype=np.int64)
        self.pair_of_key = np.array([pairs[key] for key in self.pair_keys.tolist()], dtype=np.int64)
        self.mfn_rates = np.empty((len(self.mfn), 0))
        self.pair_rates = np.empty((len(self.preferential), 0))

    def add_products(self, codes: list[str]) -> None:
        """Look up the rates of products met for the first time (HS6 codes, numbered after those before)."""
        prefixes = PrefixMap.prefixes(codes)

        def rates(maps) -> np.ndarray:
            return np.array([p.get_many(prefixes) for p in maps], dtype=float).reshape(-1, len(codes))
        self.mfn_rates = np.hstack([self.mfn_rates, rates(self.mfn.values())])
        self.pair_rates = np.hstack([self.pair_rates, rates(self.preferential.values())])

    def add(self, exporter, importer, product, value, s_idx, a_idx, b_idx) -> None:
        """Weigh one chunk's flows (country and product numbers, thousand USD, sector and region indices).

        A row's rate is its pair's preferential rate, else its importer's MFN rate (NaN if
        neither); each (sector, exporter region, importer region) adds the sums of its rows,
        taken one group at a time in row order as pandas took them before.
        """
        rows = np.flatnonzero(self.with_data[importer])
        rate, value = self.row_rates(exporter[rows], importer[rows], product[rows]), value[rows]
        self.total += float(value.sum())
        self.covered += float(value[~np.isnan(rate)].sum())
        between = np.flatnonzero(a_idx[rows] != b_idx[rows])
        rows, rate, value = rows[between], rate[between], value[between]
        n = self.weights.shape[1]
        cells = (s_idx[rows] * n + a_idx[rows]) * n + b_idx[rows]
        order = np.argsort(cells, kind="stable")
        cells, value = cells[order], value[order]
        weighted = value * np.where(np.isnan(rate), 0.0, rate)[order]
        if not len(cells):
            return
        starts = np.flatnonzero(np.r_[True, cells[1:] != cells[:-1]])
        self.weighted.reshape(-1)[cells[starts]] += _group_sums(weighted, starts)
        self.weights.reshape(-1)[cells[starts]] += _group_sums(value, starts)

    def row_rates(self, exporter, importer, product) -> np.ndarray:
        """Each row's applied rate: its pair's preferential rate, else its importer's MFN rate, else NaN."""
        rate = np.full(len(product), np.nan)
        if len(self.pair_keys):
            key = importer * self.n_countries + exporter
            pos = np.minimum(np.searchsorted(self.pair_keys, key), len(self.pair_keys) - 1)
            pair = np.where(self.pair_keys[pos] == key, self.pair_of_key[pos], -1)
            rows = np.flatnonzero(pair >= 0)
            rate[rows] = self.pair_rates[pair[rows], product[rows]]
        mfn = self.mfn_of[importer]
        rows = np.flatnonzero(np.isnan(rate) & (mfn >= 0))
        rate[rows] = self.mfn_rates[mfn[rows], product[rows]]
        return rate

    def rates(self, path) -> np.ndarray:
        """Import-value-weighted rates (K, N, N); NaN where no import carries a weight.

        Raises :class:`InputError` naming ``path`` where rates times values overflow a float.
        """
        with np.errstate(invalid="ignore", divide="ignore"):
            rates = np.where(self.weights > 0, self.weighted / self.weights, np.nan)
        if not np.isfinite(rates[self.weights > 0]).all():
            raise InputError([_problem(path, "rate", "rates times BACI values sum to more than a number can hold: "
                                                     "check the rates (0.25 = 25%)")])
        return rates

    def coverage(self) -> dict:
        return {"covered_share": self.covered / self.total if self.total else 0.0,
                "importers": sorted(self.importers)}


def _group_sums(values: np.ndarray, starts: np.ndarray) -> np.ndarray:
    """Each group's ``np.add.reduce`` (the sum pandas took of a group: numpy's, of its values in row order).

    The groups are runs of ``values`` starting at ``starts``. ``np.add.reduceat`` adds a run's first value to
    numpy's pairwise sum of the others, where ``np.add.reduce`` adds 0.0 to the pairwise sum of them all: so a
    0.0 put before each run makes ``reduceat`` give ``reduce``'s sums to the last bit, in one call
    (tests/test_baci.py checks it against ``np.add.reduce`` group by group).
    """
    padded = np.insert(values, starts, 0.0)
    return np.add.reduceat(padded, starts + np.arange(len(starts)))


def _read_production(path, regions, sectors):
    """``region,sector,value[,unit,source,note]`` → {(region, sector): (output in USD million, source)}."""
    problems = CappedProblems()
    table = _read_small_csv(path, ["region", "sector", "value"], ["unit", "source", "note"], problems)
    if table is None:
        raise InputError(problems)
    values = _numbers(table, "value", path, problems, minimum=0)
    out, seen = {}, {}
    for pos, (line, row) in enumerate(zip(table.index, table.itertuples(index=False))):
        where = f"line {line}"
        if row.region not in regions:
            problems.append(_problem(path, where, f"unknown region '{row.region}'{closest(row.region, regions)}"),
                            kind="unknown region")
        if row.sector not in sectors:
            problems.append(_problem(path, where, f"unknown sector '{row.sector}'{closest(row.sector, sectors)}"),
                            kind="unknown sector")
        unit = getattr(row, "unit", "") or UNIT
        if unit != UNIT:
            problems.append(_problem(path, where, f"unit must be '{UNIT}' (as BACI values here), got {unit!r}"),
                            kind="unit")
        if (row.region, row.sector) in seen:
            problems.append(_problem(path, where, f"a second value for {row.region} {row.sector} (first on line "
                                                  f"{seen[(row.region, row.sector)]})"), kind="twice")
        seen.setdefault((row.region, row.sector), line)
        out[(row.region, row.sector)] = (values[pos], getattr(row, "source", "") or "")
    if problems:
        raise InputError(problems)
    return out


def _parse_shares(text, problems) -> dict[str, float]:
    """``0.7`` (every sector) or ``steel=0.6,autos=0.8`` (``*=`` for the rest) → {sector or "*": share}."""
    if text is None:
        return {}
    out = {}
    for part in str(text).split(","):
        sector, _, value = part.rpartition("=")
        try:
            share = float(value)
        except ValueError:
            share = math.nan
        if not 0 < share < 1:
            problems.append(_problem("--domestic-share", "", f"each share must be a number between 0 and 1, got "
                                                             f"{part.strip()!r}"))
            continue
        out[sector.strip() or "*"] = share
    return out


def _cells(flows, intra, output, shares, regions, sectors, report):
    """flows.csv rows: BACI-aggregated trade, and the domestic diagonal from output or an assumed share.

    The rows run over sectors, exporters and importers, the diagonal in its place among them.
    """
    rows, diagonal, missing = [], [], []
    between = f"BACI {report.year}: sum over the countries and HS6 products of the pair"
    values = flows.tolist()  # Python floats, the same numbers, read faster than numpy's one at a time
    # Each region's exports and imports at once: numpy's pairwise sum of each contiguous row of 'flows' and of its
    # transpose, the same to the last bit as flows[s, a].sum() and flows[s, :, a].sum() (a sum over axis 1 is not).
    exports = flows.sum(axis=2)
    imports = np.ascontiguousarray(flows.transpose(0, 2, 1)).sum(axis=2)
    for s, sector in enumerate(sectors):
        for a, exporter in enumerate(regions):
            first = len(rows)
            rows += [(sector, exporter, importer, value, "derived", "BACI", between)
                     for importer, value in zip(regions, values[s][a])]  # the diagonal's row is replaced below
            if output is not None and (exporter, sector) in output:
                produced, source = output[(exporter, sector)]
                home = produced - exports[s, a]
                note = f"output {produced:,.1f} ({source or 'production file'}) less exports {exports[s, a]:,.1f}"
                if home < HOME_FLOOR * produced:
                    home = HOME_FLOOR * produced
                    note += f": exports exceed {1 - HOME_FLOOR:.0%} of output, set to {HOME_FLOOR:.0%} of output"
                    report.floored.append(f"{sector} {exporter}")
                rows[first + a] = (sector, exporter, exporter, home, "derived", "PRODUCTION", note)
            else:
                s_home = shares.get(sector, shares.get("*"))
                if s_home is None:
                    missing.append(f"{exporter} {sector}")  # an error: the rows are not written
                    continue
                home = imports[s, a] * s_home / (1 - s_home)
                report.assumed_home.append(f"{sector} {exporter}")
                rows[first + a] = (sector, exporter, exporter, home, "assumed", "ASSUMED",
                                   f"assumed domestic share {s_home:.0%} of absorption: imports {imports[s, a]:,.1f} "
                                   f"x {s_home:g} / {1 - s_home:g} (trade within the region: {intra[s, a]:,.1f})")
            diagonal.append(rows[first + a])
    if missing:
        raise InputError([_problem("--production", "", f"no output for {', '.join(missing)}, and --domestic-share "
                                                       "gives no share for them")])
    for sector, exporter, _, value, *_ in diagonal:  # trade between regions is finite (_check_sums)
        if not math.isfinite(value):
            raise InputError([_problem("--domestic-share", "", f"the assumed domestic shipments of {sector} "
                                                               f"{exporter} come to more than a number can hold")])
    return rows


def _write(out, name, year, cells, tariff_cells, sector_info, regions, region_names, report, paths, production,
           tariffs, share, command):
    """The dataset folder: its data files by :func:`sim.dataset.write_dataset`, then the build's README."""
    write_dataset(out, _metadata(name, year, sector_info, regions, region_names, paths, production, tariffs),
                  cells, _tariff_rows(tariff_cells, list(sector_info), regions), decimals={"value": 6, "rate": 6})
    (out / "README.md").write_text(_readme(name, year, report, paths, production, tariffs, share, command),
                                   encoding="utf-8", errors="backslashreplace")


def _tariff_rows(tariff_cells, sectors, regions) -> list[tuple]:
    """tariffs.csv rows: every positive rate between two regions (none without a tariff file)."""
    if tariff_cells is None:
        return []
    n = len(regions)
    with np.errstate(invalid="ignore"):
        positive = np.isfinite(tariff_cells) & (tariff_cells > 0) & ~np.eye(n, dtype=bool)
    cells = np.argwhere(positive).tolist()  # in the order of the loops over sectors, exporters and importers
    note = "import-value-weighted average of applied HS6 rates (preferential over MFN)"
    return [(sectors[s], regions[a], regions[b], rate, "derived", "TARIFFS", note)
            for (s, a, b), rate in zip(cells, tariff_cells[positive].tolist())]


def _metadata(name, year, sector_info, regions, region_names, paths, production, tariffs) -> dict:
    """dataset.toml's content (regions, sectors with their elasticities' source as a comment, sources)."""
    region_tables = [{"code": region, "name": region_names.get(region, "Rest of world" if region == ROW else region)}
                     for region in regions]
    sector_tables = [{"#": f"elasticities: {toml_string(source)}", "code": sector, "name": title, "sigma": sigma,
                      "eta": eta, "eps": eps} for sector, (title, sigma, eta, eps, source) in sector_info.items()]
    sources = [("BACI", "CEPII BACI: bilateral trade flows at the HS6 level", str(paths["trade"]))]
    sources.append(("ASSUMED", "A stated assumption of this build (the cell's note says what)", ""))
    if production is not None:
        sources.append(("PRODUCTION", "Gross output by region and sector", str(production)))
    if tariffs is not None:
        sources.append(("TARIFFS", "Applied tariff rates by HS code", str(tariffs)))
    return {"#": "Generated by: python run_sim.py dataset build (see README.md for the command)", "name": name,
            "title": f"{name}: built from BACI {year}", "base_year": year, "unit": UNIT, "region": region_tables,
            "sector": sector_tables, "source": [{"id": sid, "title": title, "url": url} for sid, title, url in sources]}


def _readme(name, year, report, paths, production, tariffs, share, command) -> str:
    def listing(values: dict, what: str) -> str:
        if not values:
            return f"- {what}: none.\n"
        top = sorted(values.items(), key=lambda kv: -kv[1])[:10]
        return (f"- {what}: {len(values)} ({sum(values.values()) / 1000:,.1f} USD million); largest: "
                + ", ".join(f"{k} ({v / 1000:,.1f})" for k, v in top) + ".\n")

    text = f"# {name}: built from BACI {year}\n\nBuilt with\n\n```\n{shlex.join(command or sys.argv)}\n```\n\n"
    text += ("Trade: CEPII BACI, values in thousands of USD divided by 1,000 (USD million), summed over the "
             "countries of each region and the HS6 products of each sector; trade between countries of one "
             "region is not an import of that region (it stays in its domestic shipments).\n\n")
    text += (f"## Counts\n\n- rows read: {report.rows_read:,}; used: {report.rows_used:,}; other years left out: "
             f"{report.rows_other_years:,}.\n")
    text += listing(report.unmapped_products, "HS6 products in no sector (dropped)")
    text += listing(report.remainder_products, "HS6 products put in the remainder sector")
    text += listing(report.unmapped_countries, "countries in no region (sent to ROW)")
    text += "\n## Assumptions\n\n"
    if production is not None:
        text += (f"- Domestic shipments: output (`{production}`) less exports to other regions; floored at "
                 f"{HOME_FLOOR:.0%} of output where exports exceed it: "
                 f"{', '.join(report.floored) or 'nowhere'}.\n")
    if report.assumed_home:
        text += (f"- Domestic shipments assumed from a domestic share of absorption (`--domestic-share {share}`, "
                 f"marked `assumed`): {', '.join(report.assumed_home)}.\n")
    if tariffs is not None:
        coverage = report.tariff_coverage
        text += (f"- Tariffs (`{tariffs}`): applied HS rates averaged over each region pair and sector with "
                 f"BACI import values as weights; preferential rates override MFN for their pair; importers "
                 f"with rates: {', '.join(coverage['importers'])}; {coverage['covered_share']:.1%} of their "
                 "imports had a rate, the rest counted at 0.\n")
    else:
        text += "- No tariff file: every base rate is 0.\n"
    text += "- Elasticities: from the sectors file, each with its stated source (dataset.toml).\n"
    return text
