"""Build a dataset from CEPII's BACI trade data (``python run_sim.py dataset build``).

Inputs (every problem in every file is collected and reported together; nothing is
written unless all are right):

- ``trade``: a BACI file as CEPII publishes it, columns ``t,i,j,k,v,q`` (year, exporter and
  importer as CEPII numeric country codes, HS6 product — leading zeros may have been lost —,
  value in thousands of USD, quantity in tonnes). Read in chunks, so a large year needs
  memory for one chunk and the region × sector aggregates only.
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
documented format, with ``basis``/``source``/``note`` for every cell.
"""

from __future__ import annotations

import csv
import math
import shlex
import sys
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from .errors import InputError, Problem, closest

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


def _read_small_csv(path: Path, required: list[str], optional: list[str], problems: list) -> pd.DataFrame | None:
    """A small CSV as text columns; missing or unknown columns are problems."""
    if not path.is_file():
        problems.append(_problem(path, "", "file is missing"))
        return None
    try:
        table = pd.read_csv(path, dtype=str, keep_default_na=False)
    except (UnicodeDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        problems.append(_problem(path, "", f"cannot be read as CSV: {exc}"))
        return None
    columns = list(table.columns)
    for column in required:
        if column not in columns:
            problems.append(_problem(path, "header", f"missing column '{column}'"))
    for column in columns:
        if column not in required + optional:
            problems.append(_problem(path, "header", f"unknown column '{column}'"
                                                     f"{closest(column, required + optional)}"))
    if any(p.source == str(path) and p.key == "header" for p in problems):
        return None
    return table.apply(lambda s: s.str.strip())


def _numbers(table, column, path, problems, minimum=None, allow_inf=False) -> np.ndarray:
    """A numeric column; each non-number (or one below ``minimum``) is a problem naming its line."""
    values = pd.to_numeric(table[column], errors="coerce").to_numpy(dtype=float)
    for line in np.flatnonzero(np.isnan(values) | (~np.isfinite(values) & (not allow_inf))):
        problems.append(_problem(path, f"line {line + 2}", f"{column} must be a number, got "
                                                           f"{table[column].iloc[line]!r}"))
    if minimum is not None:
        for line in np.flatnonzero(values < minimum):
            problems.append(_problem(path, f"line {line + 2}", f"{column} must be >= {minimum:g}, got "
                                                               f"{table[column].iloc[line]!r}"))
    return values


def _hs6_codes(codes: pd.Series) -> pd.Series:
    """HS6 codes as six digits (BACI files sometimes lose the leading zero)."""
    return codes.astype(str).str.strip().str.zfill(6)


#: BACI columns read as the C parser's numbers where they are numbers; the product code as text.
BACI_DTYPES = {"k": str, "q": str}


def _numeric(column: pd.Series) -> pd.Series:
    """A column as numbers; one the parser could not read as numbers is converted cell by cell (NaN if not)."""
    if pd.api.types.is_numeric_dtype(column):
        return column.astype(float)
    return pd.to_numeric(column, errors="coerce")


class PrefixMap:
    """HS6 code → value by the longest matching prefix (2, 4 or 6 digits)."""

    def __init__(self, mapping: dict[str, object]):
        self.by_length = {n: {k: v for k, v in mapping.items() if len(k) == n} for n in (6, 4, 2)}

    def lookup(self, codes: pd.Series) -> pd.Series:
        out = pd.Series([None] * len(codes), index=codes.index, dtype=object)
        for n in (6, 4, 2):
            table = self.by_length[n]
            if not table:
                continue
            missing = out.isna()
            out[missing] = codes[missing].str[:n].map(table)
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
    problems: list[Problem] = []
    paths = {k: Path(v) for k, v in dict(trade=trade, countries=countries, products=products, sectors=sectors,
                                         regions=regions).items()}
    if production is None and domestic_share is None:
        problems.append(_problem("--production", "", "give --production, or --domestic-share to assume a "
                                                     "domestic share of absorption for the diagonal"))
    shares = _parse_shares(domestic_share, problems)
    country_table = _read_small_csv(paths["countries"], ["country_code", "country_name", "country_iso2",
                                                          "country_iso3"], [], problems)
    sector_table = _read_small_csv(paths["sectors"], ["sector", "name", "sigma", "eta", "eps", "source"], [],
                                   problems)
    product_table = _read_small_csv(paths["products"], ["hs", "sector"], ["note"], problems)
    region_table = _read_small_csv(paths["regions"], ["iso3", "region"], ["region_name"], problems)
    countries_by_code, sector_info, product_map, region_of, region_names = {}, {}, None, {}, {}
    if country_table is not None:
        codes = _numbers(country_table, "country_code", paths["countries"], problems)
        countries_by_code = {int(c): iso for c, iso in zip(codes, country_table["country_iso3"]) if not np.isnan(c)}
    if sector_table is not None:
        sigma = _numbers(sector_table, "sigma", paths["sectors"], problems)
        eta = _numbers(sector_table, "eta", paths["sectors"], problems)
        eps = _numbers(sector_table, "eps", paths["sectors"], problems, minimum=0, allow_inf=True)
        for line, row in enumerate(sector_table.itertuples(index=False), start=2):
            if not np.isnan(sigma[line - 2]) and sigma[line - 2] <= 0:
                problems.append(_problem(paths["sectors"], f"line {line}", f"sigma must be > 0, got {row.sigma!r}"))
            if not np.isnan(eta[line - 2]) and eta[line - 2] >= 0:
                problems.append(_problem(paths["sectors"], f"line {line}", f"eta must be < 0, got {row.eta!r}"))
            if row.sector in sector_info:
                problems.append(_problem(paths["sectors"], f"line {line}", f"sector '{row.sector}' appears twice"))
            sector_info[row.sector] = (row.name, sigma[line - 2], eta[line - 2], eps[line - 2], row.source)
        if remainder is not None and remainder not in sector_info:
            problems.append(_problem("--remainder", "", f"'{remainder}' is not a sector of {paths['sectors']}"))
    if product_table is not None:
        mapping = {}
        for line, row in enumerate(product_table.itertuples(index=False), start=2):
            code = row.hs
            if not code.isdigit() or len(code) not in (2, 4, 5, 6):
                problems.append(_problem(paths["products"], f"line {line}", f"hs must be an HS6 code or a 2- or "
                                                                            f"4-digit prefix, got {code!r}"))
                continue
            code = code.zfill(6) if len(code) == 5 else code
            if sector_info and row.sector not in sector_info:
                hint = closest(row.sector, list(sector_info))
                problems.append(_problem(paths["products"], f"line {line}", f"unknown sector '{row.sector}'{hint}"))
            if code in mapping:
                problems.append(_problem(paths["products"], f"line {line}", f"product {code} is mapped twice "
                                                                            f"({mapping[code]} and {row.sector})"))
            mapping[code] = row.sector
        product_map = PrefixMap(mapping)
    if region_table is not None:
        known = set(countries_by_code.values())
        has_names = "region_name" in region_table.columns
        for line, row in enumerate(region_table.itertuples(index=False), start=2):
            if known and row.iso3 not in known:
                problems.append(_problem(paths["regions"], f"line {line}", f"'{row.iso3}' is not in the country "
                                                                           f"file{closest(row.iso3, sorted(known))}"))
            if row.iso3 in region_of:
                problems.append(_problem(paths["regions"], f"line {line}", f"country '{row.iso3}' is mapped twice"))
            region_of[row.iso3] = row.region
            if has_names and row.region_name:
                region_names[row.region] = row.region_name
    if problems:
        raise InputError(problems)

    report = BuildReport()
    region_list = list(dict.fromkeys(list(region_of.values()) + [ROW]))
    sector_list = list(sector_info)
    schedule = None
    if tariffs is not None:  # read before the trade file, whose single pass also weighs the tariffs
        schedule = TariffSchedule.read(Path(tariffs), countries_by_code, (len(sector_list), len(region_list),
                                                                           len(region_list)))
    flows, intra, report = _aggregate_trade(paths["trade"], year, countries_by_code, product_map, region_of,
                                            region_list, sector_list, remainder, report, schedule)
    year = report.year
    tariff_cells = None
    if schedule is not None:
        tariff_cells = schedule.rates()
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


def _closing(reader):
    """The chunks of a pandas reader, closing its file however the loop ends (an error part-way included)."""
    with reader:
        yield from reader


def _aggregate_trade(path, year, countries, product_map, region_of, regions, sectors, remainder, report,
                     schedule=None):
    """Sum BACI values (thousand USD) by (sector, exporter region, importer region), chunk by chunk.

    With a :class:`TariffSchedule`, each chunk's rows also go to its import-value weights, so the
    file is read once.
    """
    k, n = len(sectors), len(regions)
    flows = np.zeros((k, n, n))
    intra = np.zeros((k, n))  # trade between countries of one region (counted as its domestic trade)
    problems: list[Problem] = []
    years_seen = set()
    region_index = {r: i for i, r in enumerate(regions)}
    sector_index = {s: i for i, s in enumerate(sectors)}
    unknown_codes: dict[int, int] = {}
    try:
        reader = pd.read_csv(path, dtype=BACI_DTYPES, keep_default_na=False, chunksize=CHUNK_ROWS)
        first = True
        for chunk in _closing(reader):
            if first:
                columns = list(chunk.columns)
                missing = [c for c in BACI_COLUMNS if c not in columns]
                extra = [c for c in columns if c not in BACI_COLUMNS]
                if missing or extra:
                    raise InputError([_problem(path, "header", f"expected BACI's columns {','.join(BACI_COLUMNS)}; "
                                               f"missing {missing}, unknown {extra}")])
                first = False
            offset = report.rows_read + 2
            report.rows_read += len(chunk)
            t, i, j, v = (_numeric(chunk[c]) for c in ("t", "i", "j", "v"))
            bad = t.isna() | i.isna() | j.isna() | v.isna() | ~chunk["k"].str.strip().str.isdigit()
            for line in np.flatnonzero(bad.to_numpy())[:20]:
                row = chunk.iloc[line]
                problems.append(_problem(path, f"line {offset + line}", "t, i, j and v must be numbers and k an "
                                         f"HS6 code, got {','.join(str(row[c]) for c in BACI_COLUMNS)}"))
            for line in np.flatnonzero((v < 0).to_numpy())[:20]:
                problems.append(_problem(path, f"line {offset + line}", f"v must be >= 0, got "
                                                                        f"{chunk['v'].iloc[line]!r}"))
            years_seen.update(int(x) for x in t.dropna().unique())
            keep = ~bad & (v >= 0)
            if year is not None:
                report.rows_other_years += int((keep & (t != year)).sum())
                keep &= t == year
            chunk = pd.DataFrame({"i": i[keep].astype(int), "j": j[keep].astype(int),
                                  "k": _hs6_codes(chunk.loc[keep, "k"]), "v": v[keep]})
            exporter = chunk["i"].map(countries)
            importer = chunk["j"].map(countries)
            for code in pd.concat([chunk.loc[exporter.isna(), "i"], chunk.loc[importer.isna(), "j"]]).unique():
                unknown_codes[int(code)] = unknown_codes.get(int(code), 0) + 1
            chunk = chunk[exporter.notna() & importer.notna()]
            exporter, importer = exporter[chunk.index], importer[chunk.index]
            sector = product_map.lookup(chunk["k"])
            dropped = sector.isna()
            if remainder is not None:
                for code, value in chunk.loc[dropped].groupby("k")["v"].sum().items():
                    report.remainder_products[code] = report.remainder_products.get(code, 0.0) + value
                sector = sector.fillna(remainder)
            else:
                for code, value in chunk.loc[dropped].groupby("k")["v"].sum().items():
                    report.unmapped_products[code] = report.unmapped_products.get(code, 0.0) + value
                chunk, exporter, importer, sector = (x[~dropped] for x in (chunk, exporter, importer, sector))
            exp_region = exporter.map(region_of)
            imp_region = importer.map(region_of)
            for iso, value in pd.concat([chunk.loc[exp_region.isna(), ["v"]].assign(iso=exporter[exp_region.isna()]),
                                         chunk.loc[imp_region.isna(), ["v"]].assign(iso=importer[imp_region.isna()])]
                                        ).groupby("iso")["v"].sum().items():
                report.unmapped_countries[iso] = report.unmapped_countries.get(iso, 0.0) + value
            exp_region, imp_region = exp_region.fillna(ROW), imp_region.fillna(ROW)
            s_idx, a_idx, b_idx = sector.map(sector_index), exp_region.map(region_index), imp_region.map(region_index)
            if schedule is not None:
                schedule.add(exporter, importer, chunk["k"], chunk["v"], s_idx, a_idx, b_idx)
            grouped = chunk["v"].groupby([s_idx, a_idx, b_idx]).sum()
            for (s, a, b), value in grouped.items():
                if a == b:
                    intra[s, a] += value
                else:
                    flows[s, a, b] += value
            report.rows_used += len(chunk)
    except (UnicodeDecodeError, pd.errors.ParserError) as exc:
        raise InputError([_problem(path, "", f"cannot be read as BACI CSV: {exc}")]) from None
    except FileNotFoundError:
        raise InputError([_problem(path, "", "file is missing")]) from None
    for code, count in sorted(unknown_codes.items()):
        problems.append(_problem(path, "i/j", f"country code {code} ({count} row(s)) is not in the country file"))
    if year is not None and year not in years_seen:
        problems.append(_problem(path, "t", f"year {year} is not in the file (years: "
                                            f"{', '.join(str(y) for y in sorted(years_seen)) or 'none'})"))
    if year is None:
        if len(years_seen) > 1:
            problems.append(_problem(path, "t", f"the file holds several years {sorted(years_seen)}: choose one "
                                                "with --year"))
        elif years_seen:
            report.year = years_seen.pop()
    else:
        report.year = year
    if problems:
        raise InputError(problems)
    return flows / 1000.0, intra / 1000.0, report  # USD million


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
        problems: list[Problem] = []
        table = _read_small_csv(path, ["importer", "exporter", "hs", "rate"], ["source", "note"], problems)
        if table is None:
            raise InputError(problems)
        rates = _numbers(table, "rate", path, problems, minimum=0)
        known = set(countries.values())
        for line, row in enumerate(table.itertuples(index=False), start=2):
            for column in ("importer", "exporter"):
                code = getattr(row, column)
                if code != "*" and code not in known:
                    problems.append(_problem(path, f"line {line}", f"{column} '{code}' is not in the country file"
                                                                   f"{closest(code, sorted(known))}"))
            if not row.hs.isdigit():
                problems.append(_problem(path, f"line {line}", f"hs must be an HS code, got {row.hs!r}"))
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

    def add(self, exporter, importer, hs, value, s_idx, a_idx, b_idx) -> None:
        """Weigh one chunk's flows (ISO3 codes, HS6 codes, thousand USD, sector and region indices)."""
        frame = pd.DataFrame({"exp": exporter, "imp": importer, "hs": hs, "v": value, "s": s_idx, "a": a_idx,
                              "b": b_idx})
        frame["rate"] = np.nan
        for (imp, exp), prefix in self.preferential.items():
            rows = (frame["imp"] == imp) & (frame["exp"] == exp)
            if rows.any():
                frame.loc[rows, "rate"] = prefix.lookup(frame.loc[rows, "hs"]).astype(float)
        for imp, prefix in self.mfn.items():
            rows = (frame["imp"] == imp) & frame["rate"].isna()
            if rows.any():
                frame.loc[rows, "rate"] = prefix.lookup(frame.loc[rows, "hs"]).astype(float)
        with_data = frame["imp"].isin(self.importers)
        self.total += float(frame.loc[with_data, "v"].sum())
        self.covered += float(frame.loc[with_data & frame["rate"].notna(), "v"].sum())
        frame["rate"] = frame["rate"].fillna(0.0)
        for (si, ai, bi), group in frame[with_data].groupby(["s", "a", "b"]):
            if ai != bi:
                self.weighted[si, ai, bi] += (group["v"] * group["rate"]).sum()
                self.weights[si, ai, bi] += group["v"].sum()

    def rates(self) -> np.ndarray:
        """Import-value-weighted rates (K, N, N); NaN where no import carries a weight."""
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(self.weights > 0, self.weighted / self.weights, np.nan)

    def coverage(self) -> dict:
        return {"covered_share": self.covered / self.total if self.total else 0.0,
                "importers": sorted(self.importers)}


def _read_production(path, regions, sectors):
    problems: list[Problem] = []
    table = _read_small_csv(path, ["region", "sector", "value"], ["unit", "source", "note"], problems)
    if table is None:
        raise InputError(problems)
    values = _numbers(table, "value", path, problems, minimum=0)
    out = {}
    for line, row in enumerate(table.itertuples(index=False), start=2):
        if row.region not in regions:
            problems.append(_problem(path, f"line {line}", f"unknown region '{row.region}'"
                                                           f"{closest(row.region, regions)}"))
        if row.sector not in sectors:
            problems.append(_problem(path, f"line {line}", f"unknown sector '{row.sector}'"
                                                           f"{closest(row.sector, sectors)}"))
        unit = getattr(row, "unit", "") or UNIT
        if unit != UNIT:
            problems.append(_problem(path, f"line {line}", f"unit must be '{UNIT}' (as BACI values here), "
                                                           f"got {unit!r}"))
        out[(row.region, row.sector)] = (values[line - 2], getattr(row, "source", "") or "")
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
    """flows.csv rows: BACI-aggregated trade, and the domestic diagonal from output or an assumed share."""
    rows, missing = [], []
    for s, sector in enumerate(sectors):
        for a, exporter in enumerate(regions):
            for b, importer in enumerate(regions):
                if a != b:
                    rows.append((sector, exporter, importer, flows[s, a, b], "derived", "BACI",
                                 f"BACI {report.year}: sum over the countries and HS6 products of the pair"))
                    continue
                exports = flows[s, a].sum()
                imports = flows[s, :, a].sum()
                if output is not None and (exporter, sector) in output:
                    produced, source = output[(exporter, sector)]
                    home = produced - exports
                    note = f"output {produced:,.1f} ({source or 'production file'}) less exports {exports:,.1f}"
                    if home < HOME_FLOOR * produced:
                        home = HOME_FLOOR * produced
                        note += f": exports exceed {1 - HOME_FLOOR:.0%} of output, set to {HOME_FLOOR:.0%} of output"
                        report.floored.append(f"{sector} {exporter}")
                    rows.append((sector, exporter, importer, home, "derived", "PRODUCTION", note))
                else:
                    s_home = shares.get(sector, shares.get("*"))
                    if s_home is None:
                        missing.append(f"{exporter} {sector}")
                        continue
                    home = imports * s_home / (1 - s_home)
                    report.assumed_home.append(f"{sector} {exporter}")
                    rows.append((sector, exporter, importer, home, "assumed", "ASSUMED",
                                 f"assumed domestic share {s_home:.0%} of absorption: imports {imports:,.1f} x "
                                 f"{s_home:g} / {1 - s_home:g} (trade within the region: {intra[s, a]:,.1f})"))
    if missing:
        raise InputError([_problem("--production", "", f"no output for {', '.join(missing)}, and --domestic-share "
                                                       "gives no share for them")])
    return rows


def _write(out, name, year, cells, tariff_cells, sector_info, regions, region_names, report, paths, production,
           tariffs, share, command):
    out.mkdir(parents=True, exist_ok=True)
    with open(out / "flows.csv", "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(["sector", "exporter", "importer", "value", "basis", "source", "note"])
        for sector, exporter, importer, value, basis, source, note in cells:
            w.writerow([sector, exporter, importer, f"{value:.6f}", basis, source, note])
    sectors = list(sector_info)
    with open(out / "tariffs.csv", "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(["sector", "exporter", "importer", "rate", "basis", "source", "note"])
        if tariff_cells is not None:
            for s, sector in enumerate(sectors):
                for a, exporter in enumerate(regions):
                    for b, importer in enumerate(regions):
                        rate = tariff_cells[s, a, b]
                        if a != b and np.isfinite(rate) and rate > 0:
                            w.writerow([sector, exporter, importer, f"{rate:.6f}", "derived", "TARIFFS",
                                        "import-value-weighted average of applied HS6 rates (preferential over "
                                        "MFN)"])
    lines = ["# Generated by: python run_sim.py dataset build (see README.md for the command)",
             f'name = "{name}"', f'title = "{name}: built from BACI {year}"', f"base_year = {year}",
             f'unit = "{UNIT}"', ""]
    for region in regions:
        lines += ["[[region]]", f'code = "{region}"',
                  f'name = "{region_names.get(region, "Rest of world" if region == ROW else region)}"', ""]
    for sector, (title, sigma, eta, eps, source) in sector_info.items():
        lines += [f"# elasticities: {source}", "[[sector]]", f'code = "{sector}"', f'name = "{title}"',
                  f"sigma = {sigma:g}", f"eta = {eta:g}", "eps = inf" if math.isinf(eps) else f"eps = {eps:g}", ""]
    sources = [("BACI", "CEPII BACI: bilateral trade flows at the HS6 level", str(paths["trade"]))]
    sources.append(("ASSUMED", "A stated assumption of this build (the cell's note says what)", ""))
    if production is not None:
        sources.append(("PRODUCTION", "Gross output by region and sector", str(production)))
    if tariffs is not None:
        sources.append(("TARIFFS", "Applied tariff rates by HS code", str(tariffs)))
    for sid, title, url in sources:
        lines += ["[[source]]", f'id = "{sid}"', f'title = "{title}"', f'url = "{url}"', ""]
    (out / "dataset.toml").write_text("\n".join(lines), encoding="utf-8")
    (out / "README.md").write_text(_readme(name, year, report, paths, production, tariffs, share, command),
                                   encoding="utf-8")


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
