"""Build the built-in dataset ``us_japan_2024`` from the project's copy of published facts.

    python data/us_japan_2024/build.py            # writes sim/datasets/us_japan_2024/
    python data/us_japan_2024/build.py --out DIR  # writes elsewhere (the tests compare)

Every number comes from a row of ``facts/*.csv`` (looked up, never typed in)
or from a named assumption below. Every flow written gets ``basis``
(published / derived / assumed), ``source`` (row ids, listed in dataset.toml)
and a ``note`` with the arithmetic. Method, per sector (README.md in the
dataset folder says more):

1. Published bilateral cells, converted to USD million.
2. Each named region's total exports and imports (published, derived or assumed).
3. Unpublished cells between named regions: import-share fill
   ``V[i,j] = X[i] M[j] / W`` with W the sector's world trade.
4. The rest-of-world column and row close each region's totals (residuals),
   with a floor of 5% where named cells already exceed the total.
5. Domestic shipments (diagonal) = production value − exports.
"""

from __future__ import annotations

import argparse
import csv
import math
import re
from dataclasses import dataclass, field
from pathlib import Path

from sim.dataset import write_dataset

HERE = Path(__file__).resolve().parent
FACTS = HERE / "facts"
DEFAULT_OUT = HERE.parents[1] / "sim" / "datasets" / "us_japan_2024"

REGIONS = {
    "USA": "United States", "JPN": "Japan", "CHN": "China", "KOR": "Korea, Republic of",
    "EU": "European Union (EU-27; intra-EU trade counted as EU domestic)", "CAN": "Canada", "MEX": "Mexico",
    "ROW": "Rest of world",
}
NAMED = [r for r in REGIONS if r != "ROW"]
SHORT_TON = 0.90718474  # metric tonnes per short ton
BN = 1000.0  # USD million per USD billion
ROW_FLOOR = 0.05  # share of a total kept for the rest of world when named cells already exceed it
DIAGONAL_FLOOR = 0.10  # share of production kept at home when exports exceed production


# --------------------------------------------------------------------------- facts
@dataclass(frozen=True)
class Fact:
    value: float
    unit: str
    source: str  # id listed in dataset.toml
    note: str

    def stated(self, pattern: str) -> float:
        """A number stated in the row's note, e.g. ``stated(r"consumption ([\\d.]+) Mt")``."""
        found = re.search(pattern, self.note)
        if not found:
            raise LookupError(f"{self.source}: no {pattern!r} in note {self.note!r}")
        return float(found.group(1))


class Facts:
    """The fact files, with a stable id per row: S.. (facts.csv), M<line>, A<line>, X<line>, D<line>."""

    FILES = {"facts_more.csv": "M", "anchor_totals.csv": "A", "added_facts.csv": "X", "adjustment_facts.csv": "D",
             "linkage_facts.csv": "L"}

    def __init__(self, folder: Path):
        self.rows: dict[str, list[tuple[str, dict]]] = {}
        self.sources: dict[str, dict] = {}
        with open(folder / "sources.csv", encoding="utf-8") as fh:
            for row in csv.DictReader(fh):
                self.sources[row["id"]] = {"id": row["id"], "title": row["title"], "url": row["url"]}
        with open(folder / "facts.csv", encoding="utf-8") as fh:
            self.rows["facts.csv"] = [(row["source"], row) for row in csv.DictReader(fh)]
        for name, prefix in self.FILES.items():
            with open(folder / name, encoding="utf-8") as fh:
                reader = csv.DictReader(fh)
                rows = []
                for row in reader:
                    sid = f"{prefix}{reader.line_num}"
                    rows.append((sid, row))
                    self.sources[sid] = {"id": sid, "title": row["source_title"], "url": row["source_url"],
                                         "note": f"{name} line {reader.line_num}"}
                self.rows[name] = rows
        self.used: set[str] = set()

    def get(self, file: str, unit_has: str = "", title_has: str = "", value_has: str = "", **match) -> Fact:
        """The one row of ``file`` whose columns equal ``match``, unit, title and value containing the texts given.

        Rows whose value is not a number are found only with ``value_has`` (their value is NaN).
        """
        hits = [(sid, row) for sid, row in self.rows[file]
                if all(row[k] == str(v) for k, v in match.items()) and unit_has in row["unit"]
                and title_has in row.get("source_title", "") and value_has in row["value"]
                and (value_has or _is_number(row["value"]))]
        if len(hits) != 1:
            raise LookupError(f"{file}: {len(hits)} rows match {match} unit~{unit_has!r}")
        sid, row = hits[0]
        self.used.add(sid)
        return Fact(float(row["value"]) if _is_number(row["value"]) else math.nan, row["unit"], sid, row["note"])


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


@dataclass
class Cell:
    value: float  # USD million
    basis: str
    source: str
    note: str


def cell(value, basis, sources, note) -> Cell:
    ids = " ".join(dict.fromkeys(s for s in sources if s))
    return Cell(float(value), basis, ids, note)


# ------------------------------------------------------------------------- assembly
@dataclass
class Sector:
    code: str
    name: str
    cells: dict  # (exporter, importer) -> Cell, off-diagonal
    exports: dict  # named region -> Cell (total exports to every partner)
    imports: dict  # named region -> Cell
    production: dict  # every region -> Cell (value of output, USD million)
    world: Cell  # world trade used by the import-share fill
    home_shares: dict = field(default_factory=dict)  # region -> Cell: published share of output sold at home


def assemble(sector: Sector) -> dict:
    """All 64 cells of one sector: published, import-share fill, residual ROW, diagonal."""
    out = dict(sector.cells)
    w = sector.world
    filled = []  # in build order, so that sums (and the files) are the same on every run
    for i in NAMED:
        for j in NAMED:
            if i != j and (i, j) not in out:
                x, m = sector.exports[i], sector.imports[j]
                value = x.value * m.value / w.value
                out[(i, j)] = cell(value, "derived", [x.source, m.source, w.source],
                                   f"import-share fill X[{i}] M[{j}] / W = {x.value:,.0f} x {m.value:,.0f} / "
                                   f"{w.value:,.0f}")
                filled.append((i, j))
    for i in NAMED:
        _fit_fills_to_exports(out, i, sector.exports[i].value, [k for k in filled if k[0] == i])
    for i in NAMED:  # exports to the rest of the world close i's export total
        total = sector.exports[i]
        named = sum(out[(i, j)].value for j in NAMED if j != i)
        out[(i, "ROW")] = _residual(total, named, f"exports of {i} ({total.value:,.0f}) less those to named "
                                    f"regions ({named:,.0f})")
    for j in NAMED:  # imports from the rest of the world close j's import total
        total = sector.imports[j]
        named = sum(out[(i, j)].value for i in NAMED if i != j)
        out[("ROW", j)] = _residual(total, named, f"imports of {j} ({total.value:,.0f}) less those from named "
                                    f"regions ({named:,.0f})")
    for r in REGIONS:
        produced = sector.production[r]
        exported = sum(out[(r, j)].value for j in REGIONS if j != r)
        home = produced.value - exported
        note = f"production {produced.value:,.0f} less exports {exported:,.0f}; production: {produced.note}"
        published_share = sector.home_shares.get(r)
        if published_share is not None and home < published_share.value * produced.value:
            home = published_share.value * produced.value
            note = (f"exports {exported:,.0f} exceed {1 - published_share.value:.1%} of production "
                    f"{produced.value:,.0f} (gross trade values vs output); domestic shipments set to the published "
                    f"share of output sold at home, {published_share.value:.1%} ({published_share.note}); "
                    f"production: {produced.note}")
            produced = Cell(produced.value, produced.basis, f"{produced.source} {published_share.source}",
                            produced.note)
        elif home < DIAGONAL_FLOOR * produced.value:
            home = DIAGONAL_FLOOR * produced.value
            note = (f"exports {exported:,.0f} exceed {1 - DIAGONAL_FLOOR:.0%} of production {produced.value:,.0f} "
                    f"(gross trade values vs output); domestic shipments set to {DIAGONAL_FLOOR:.0%} of production; "
                    f"production: {produced.note}")
        out[(r, r)] = cell(home, "derived" if produced.basis != "assumed" else "assumed",
                           [produced.source] + [out[(r, j)].source for j in REGIONS if j != r], note)
    return out


def _fit_fills_to_exports(out: dict, exporter: str, total: float, fills: list) -> None:
    """Scale an exporter's import-share fills down where, with its published cells, they would leave less
    than ROW_FLOOR of its published export total to the rest of the world (the fills are the least certain
    cells); the row then adds up to the published total. Where the published cells alone leave too little,
    the fills are kept and the ROW cell's floor records that the sources disagree."""
    named = sum(out[(exporter, j)].value for j in NAMED if j != exporter)
    room = (1 - ROW_FLOOR) * total
    filled = sum(out[k].value for k in fills)
    if named <= room or filled <= 0 or named - filled >= room:
        return  # consistent already, or the published cells alone disagree with the total: the ROW floor says so
    scale = (room - (named - filled)) / filled
    for k in fills:
        c = out[k]
        out[k] = cell(c.value * scale, c.basis, c.source.split(),
                      f"{c.note}; x {scale:.3f} so that {exporter}'s named exports leave {ROW_FLOOR:.0%} of its "
                      f"published total ({total:,.0f}) to the rest of the world")


def _residual(total: Cell, named: float, what: str) -> Cell:
    value = total.value - named
    if value < ROW_FLOOR * total.value * (1 - 1e-9):  # fills scaled to leave exactly the floor are not "below" it
        return cell(ROW_FLOOR * total.value, "assumed", [total.source],
                    f"{what} is below {ROW_FLOOR:.0%} of the total: the sources disagree; set to {ROW_FLOOR:.0%} "
                    "of the total")
    basis = "assumed" if total.basis == "assumed" else "derived"
    return cell(value, basis, [total.source], f"residual: {what}")


def assumed(value, note) -> Cell:
    return cell(value, "assumed", ["ASSUMED"], note)


# ---------------------------------------------------------------------- the data
class Build:
    def __init__(self, facts: Facts):
        self.f = facts
        f = facts
        eur = [f.get("added_facts.csv", year="2024", sector="fx", unit_has=f"USD per EUR ({m}") for m in
               ("April", "May", "June")]
        cad = [f.get("added_facts.csv", year="2024", sector="fx", unit_has=f"CAD per USD ({m}") for m in
               ("April", "May", "June")]
        jpy = f.get("anchor_totals.csv", year="2024", sector="total_merchandise", exporter="JPN", importer="WORLD",
                    unit_has="JPY trn")
        self.usd_per_eur = sum(x.value for x in eur) / 3
        self.cad_per_usd = sum(x.value for x in cad) / 3
        self.jpy_per_usd = jpy.stated(r"avg rate ([\d.]+) JPY/USD")
        self.fx_sources = {"EUR": [x.source for x in eur], "CAD": [x.source for x in cad], "JPY": [jpy.source]}
        self.fx_note = {
            "EUR": f"EUR at {self.usd_per_eur:.4f} USD (mean of Apr-Jun 2024 monthly averages, Fed G.5)",
            "CAD": f"CAD at {self.cad_per_usd:.4f} per USD (mean of Apr-Jun 2024 monthly averages, Fed G.5)",
            "JPY": f"JPY at {self.jpy_per_usd:.2f} per USD (MOF 2024 average, as stated with {jpy.source})",
        }

    def eur(self, fact: Fact) -> tuple[float, list, str]:
        return fact.value * self.usd_per_eur * BN, [fact.source] + self.fx_sources["EUR"], self.fx_note["EUR"]

    # ---------------------------------------------------------------- steel
    def steel(self) -> Sector:
        f = self.f
        g = f.get
        jpy = self.jpy_per_usd
        # unit values, USD per tonne: one world price per exporter
        usgs_value = g("facts.csv", year="2023", sector="raw_steel_production_value", exporter="USA")
        usgs_tons = g("facts.csv", year="2023", sector="raw_steel_production", exporter="USA")
        jp_exports = g("facts.csv", year="2024", sector="steel_exports", exporter="JPN", importer="WORLD")
        cn_uv = g("facts_more.csv", year="2024", sector="steel", exporter="CHN", importer="ALL", unit_has="USD per t")
        kr_uv = g("facts_more.csv", year="2024", sector="steel", exporter="KOR", importer="USA", unit_has="USD per t")
        eu_hs72 = g("anchor_totals.csv", year="2024", sector="steel", exporter="EU", importer="WORLD",
                    unit_has="HS72 iron&steel exports")
        eu_tons = g("anchor_totals.csv", year="2023", sector="steel", exporter="EU", importer="WORLD")
        ca_usd = g("facts_more.csv", year="2024", sector="steel", exporter="CAN", importer="USA")
        ca_st = g("facts.csv", year="2024", sector="steel_mill", exporter="CAN", importer="USA")
        mx_usd = g("facts_more.csv", year="2024", sector="steel", exporter="MEX", importer="USA")
        mx_st = g("facts.csv", year="2024", sector="steel_mill", exporter="MEX", importer="USA")
        us_uv_jan = g("anchor_totals.csv", year="2024", sector="steel", exporter="WORLD", importer="USA",
                      unit_has="Jan 2024")
        us_uv_jun = g("anchor_totals.csv", year="2024", sector="steel", exporter="WORLD", importer="USA",
                      unit_has="Jun 2024")
        jp_value_yen = jp_exports.stated(r"value JPY ([\d.]+) trillion") * 1e12
        uv = {
            "USA": (usgs_value.value / usgs_tons.value, [usgs_value.source],
                    "USGS 2023 raw-steel production value / tonnage"),
            "JPN": (jp_value_yen / jpy / jp_exports.value, [jp_exports.source] + self.fx_sources["JPY"],
                    "JISF 2024 export value JPY 4.7402 trn / 31.71 Mt"),
            "CHN": (cn_uv.value, [cn_uv.source], "China Jan-Sep 2024 average export price"),
            "KOR": (kr_uv.value, [kr_uv.source], "Korean 2024 export unit value to the US (KITA)"),
            "EU": (eu_hs72.value * self.usd_per_eur * 1e9 / (eu_tons.value * 1e6),
                   [eu_hs72.source, eu_tons.source] + self.fx_sources["EUR"],
                   "extra-EU HS72 exports 2024 value / 2023 tonnage"),
            "CAN": (ca_usd.value * 1e9 / (ca_st.value * SHORT_TON), [ca_usd.source, ca_st.source],
                    "ITA value / AISI short tons of US imports from Canada"),
            "MEX": (mx_usd.value * 1e9 / (mx_st.value * SHORT_TON), [mx_usd.source, mx_st.source],
                    "ITA value / AISI short tons of US imports from Mexico"),
            "ROW": ((us_uv_jan.value + us_uv_jun.value) / 2, [us_uv_jan.source, us_uv_jun.source],
                    "mean US steel import unit value (Jan and Jun 2024), assumed for the rest of world"),
        }

        self.steel_uv = uv

        def tonnes(exporter, mt, sources, what):
            price, price_src, price_note = uv[exporter]
            return cell(mt * price, "derived", list(sources) + price_src,
                        f"{what}: {mt:,.3f} Mt x {price:,.0f} USD/t ({price_note})")

        def usd_bn(fact, what):
            return cell(fact.value * BN, "published", [fact.source], what)

        cells = {}
        cells[("CAN", "USA")] = usd_bn(ca_usd, "US steel-mill imports from Canada, USD bn (ITA)")
        cells[("MEX", "USA")] = usd_bn(mx_usd, "US steel-mill imports from Mexico, USD bn (ITA)")
        kr_us = g("facts_more.csv", year="2024", sector="steel", exporter="KOR", importer="USA", unit_has="USD bn")
        cells[("KOR", "USA")] = usd_bn(kr_us, "US steel-mill imports from Korea, USD bn (ITA)")
        jp_us = g("facts.csv", year="2024", sector="steel_all", exporter="JPN", importer="USA")
        cells[("JPN", "USA")] = tonnes("JPN", jp_us.value / 1e6, [jp_us.source], "Japan's steel exports to the US "
                                       "(JISF)")
        eu_us = g("facts_more.csv", year="2024", sector="steel", exporter="EU", importer="USA")
        value, src, note = self.eur(eu_us)
        cells[("EU", "USA")] = cell(value, "derived", src, f"EU steel exports to the US EUR {eu_us.value} bn "
                                    f"(Eurostat, likely HS72); {note}")
        cells[("CHN", "USA")] = cell(0.5 * uv["CHN"][0], "assumed", ["ASSUMED"] + uv["CHN"][1],
                                     "assumed 0.5 Mt: anti-dumping and countervailing duties keep China's mill steel "
                                     "out of the US; not in the facts")
        jp_kr = g("facts_more.csv", year="2024", sector="steel", exporter="JPN", importer="KOR", unit_has="Mt")
        cells[("JPN", "KOR")] = tonnes("JPN", jp_kr.value, [jp_kr.source], "Korean imports from Japan (KOSA)")
        jp_cn = g("facts.csv", year="2024", sector="steel_exports", exporter="JPN", importer="CHN")
        cells[("JPN", "CHN")] = tonnes("JPN", jp_cn.value / 1e6, [jp_cn.source], "Japan's exports to China (JISF)")
        cn_kr = g("facts_more.csv", year="2024", sector="steel", exporter="CHN", importer="KOR", unit_has="USD bn")
        cells[("CHN", "KOR")] = cell(cn_kr.value * BN, "derived", [cn_kr.source], "8.77 Mt x 810 USD/t (row note)")
        kr_jp = g("facts_more.csv", year="2024", sector="steel", exporter="KOR", importer="JPN")
        cells[("KOR", "JPN")] = cell(kr_jp.value * BN, "published", [kr_jp.source],
                                     "hot-rolled plate only (KRW 5 trn): a lower bound for all Korean steel to Japan")
        for exp, imp in (("EU", "MEX"), ("KOR", "EU"), ("CHN", "EU")):
            fact = g("facts_more.csv", year="2024", sector="steel", exporter=exp, importer=imp)
            value, src, note = self.eur(fact)
            cells[(exp, imp)] = cell(value, "derived", src, f"Eurostat EUR {fact.value} bn (likely HS72); {note}")
        us_exports = g("facts_more.csv", year="2024", sector="steel", exporter="USA", importer="ALL", unit_has="Mt")
        split = {imp: us_exports.stated(rf"{imp} (\d+)%") / 100 for imp in ("MEX", "CAN")}
        for imp, share in split.items():
            cells[("USA", imp)] = tonnes("USA", us_exports.value * share, [us_exports.source],
                                         f"US exports {us_exports.value} Mt x {share:.0%} (December 2024 split "
                                         "applied to the year)")
        for exp in ("KOR", "JPN", "CHN"):
            fact = g("facts_more.csv", year="2023", sector="steel", exporter=exp, importer="MEX")
            cells[(exp, "MEX")] = tonnes(exp, fact.value, [fact.source], "Mexican imports 2023 (Canacero), used "
                                         "for 2024")

        def total_t(exp, mt, sources, what, basis="derived"):
            c = tonnes(exp, mt, sources, what)
            c.basis = basis
            return c

        cn_exports = g("facts.csv", year="2024", sector="finished_steel_exports", exporter="CHN")
        kr_exports = g("anchor_totals.csv", year="2023", sector="steel", exporter="KOR", importer="WORLD")
        mx_to_us = g("facts_more.csv", year="2023", sector="steel", exporter="MEX", importer="USA")
        mx_exports_mt = mx_to_us.stated(r"of ([\d.]+) Mt")
        exports = {
            "USA": total_t("USA", us_exports.value, [us_exports.source], "US steel exports 2024"),
            "JPN": total_t("JPN", jp_exports.value / 1e6, [jp_exports.source], "Japan's steel exports 2024 (JISF)"),
            "CHN": total_t("CHN", cn_exports.value / 1e6, [cn_exports.source], "China's finished-steel exports 2024"),
            "KOR": total_t("KOR", kr_exports.value, [kr_exports.source], "Korea's steel exports 2023, used for 2024"),
            "EU": total_t("EU", eu_tons.value, [eu_tons.source], "extra-EU steel exports 2023, used for 2024"),
            "CAN": total_t("CAN", ca_st.value * SHORT_TON / 1e6 / 0.9, [ca_st.source],
                           "US imports from Canada / 0.9 (assumed: the US takes 90% of Canada's steel exports)",
                           basis="assumed"),
            "MEX": total_t("MEX", mx_exports_mt, [mx_to_us.source],
                           f"Mexico's steel exports 2023: {mx_exports_mt} Mt (Canacero), used for 2024"),
        }
        us_imports = g("facts.csv", year="2024", sector="steel_total", exporter="WORLD", importer="USA", source="S2")
        cspa = g("facts_more.csv", year="2024", sector="steel", exporter="CAN", importer="USA", value_has="two-way")
        ca_share_us = cspa.stated(r"(\d+)% of CA imports from US") / 100
        mx_jan_sep = g("facts_more.csv", year="2024", sector="steel", exporter="MEX", importer="MEX")
        mx_use = mx_jan_sep.stated(r"consumption ([\d.]+) Mt")
        mx_made = g("anchor_totals.csv", year="2024", sector="steel", exporter="MEX", importer="",
                    unit_has="Mt crude steel production", title_has="SteelOrbis")
        imports = {
            "USA": cell(us_imports.value * SHORT_TON / 1e6 * uv["ROW"][0], "derived",
                        [us_imports.source] + uv["ROW"][1],
                        f"AISI total US steel imports {us_imports.value / 1e6:.2f}M short tons x mean import unit "
                        f"value {uv['ROW'][0]:,.0f} USD/t"),
            "EU": self._imports_t(uv, "EU", g("anchor_totals.csv", year="2024", sector="steel", exporter="WORLD",
                                  importer="EU", unit_has="Mt steel imported")),
            "CHN": self._imports_t(uv, "CHN", g("anchor_totals.csv", year="2024", sector="steel", exporter="WORLD",
                                  importer="CHN", unit_has="Mt steel imported")),
            "KOR": self._imports_t(uv, "KOR", g("anchor_totals.csv", year="2024", sector="steel", exporter="WORLD",
                                  importer="KOR", unit_has="Mt steel imported")),
            "JPN": assumed(6.0 * uv["ROW"][0], "assumed 6 Mt x mean import unit value: Japan's steel imports are not "
                           "in the facts (Korean hot-rolled plate alone is a published 3.4 USD bn)"),
            "CAN": cell(us_exports.value * split["CAN"] / ca_share_us * uv["ROW"][0], "derived",
                        [us_exports.source, cspa.source] + uv["ROW"][1],
                        f"US exports to Canada ({split['CAN']:.0%} of {us_exports.value} Mt) are {ca_share_us:.0%} of "
                        "Canada's steel imports (CSPA) x mean import unit value"),
            "MEX": cell((mx_use - mx_made.value + mx_exports_mt) * uv["ROW"][0], "derived",
                        [mx_jan_sep.source, mx_made.source, mx_to_us.source] + uv["ROW"][1],
                        f"consumption {mx_use} - crude production {mx_made.value} + exports {mx_exports_mt} Mt x "
                        "mean import unit value"),
        }
        world_mt = g("anchor_totals.csv", year="2023", sector="steel", exporter="WORLD", importer="WORLD",
                     unit_has="world steel exports")
        world = cell(world_mt.value * uv["ROW"][0], "derived", [world_mt.source] + uv["ROW"][1],
                     f"world steel exports 2023 {world_mt.value} Mt x {uv['ROW'][0]:,.0f} USD/t")
        production = {}
        for r in REGIONS:
            mt = g("anchor_totals.csv", year="2024", sector="steel", exporter=r, importer="",
                   unit_has="Mt crude steel production", title_has="SteelOrbis" if r == "MEX" else "")
            price, src, price_note = uv[r]
            production[r] = cell(mt.value * price, "derived", [mt.source] + src,
                                 f"crude steel {mt.value:,.1f} Mt x {price:,.0f} USD/t ({price_note})")
        return Sector("steel", "Iron and steel mill products (see README: tonnage basis)", cells, exports, imports,
                      production, world)

    def _imports_t(self, uv, region, fact):
        price, src, note = uv["ROW"]
        return cell(fact.value * price, "derived", [fact.source] + src,
                    f"{region} steel imports {fact.value} Mt x {price:,.0f} USD/t ({note})")

    # ---------------------------------------------------------------- autos
    def autos(self) -> Sector:
        g = self.f.get
        months = 12 / 11  # Jan-Nov rows are annualised
        vehicles = {r: g("facts.csv", year="2024", sector="vehicles_s232_scope", exporter=r, importer="USA")
                    for r in ("MEX", "EU", "JPN", "KOR", "CAN", "WORLD")}
        parts = {r: g("facts.csv", year="2024", sector="parts_hs8706_8708", exporter=r, importer="USA")
                 for r in ("MEX", "CAN", "CHN", "JPN", "WORLD")}
        cells = {}

        def both(r, extra=None):
            v, p = vehicles[r], parts[r]
            value = (v.value + p.value * months) / 1e6
            src = [v.source, p.source] + ([extra.source] if extra else [])
            note = (f"US imports: vehicles {v.value / 1e9:.1f} + parts (HS 8706-8708) {p.value / 1e9:.1f} USD bn "
                    f"Jan-Nov x 12/11")
            return cell(value, "derived", src, note)

        cells[("MEX", "USA")] = both("MEX")
        mof = g("facts_more.csv", year="2024", sector="autos", exporter="JPN", importer="USA", unit_has="JPY tn",
                title_has="nippon.com: Trump")
        cells[("JPN", "USA")] = both("JPN", mof)
        cells[("JPN", "USA")].note += (f"; cross-check: MOF vehicles+parts {mof.value} JPY trn = "
                                       f"{mof.value * 1e12 / self.jpy_per_usd / 1e9:.1f} USD bn")
        kr_parts = g("facts_more.csv", year="2024", sector="autos", exporter="KOR", importer="USA",
                     unit_has="USD bn", title_has="KBS")
        cells[("KOR", "USA")] = cell(vehicles["KOR"].value / 1e6 + kr_parts.value * BN, "derived",
                                     [vehicles["KOR"].source, kr_parts.source],
                                     f"US vehicle imports {vehicles['KOR'].value / 1e9:.1f} + Korean parts exports "
                                     f"{kr_parts.value} USD bn (KAICA)")
        eu_parts_bound = (parts["WORLD"].value - sum(parts[r].value for r in ("MEX", "CAN", "CHN", "JPN"))) \
            * months / 1e6 - kr_parts.value * BN
        cells[("EU", "USA")] = cell(vehicles["EU"].value / 1e6, "published", [vehicles["EU"].source],
                                    "US vehicle imports only: EU parts to the US are not in the facts, so they sit "
                                    f"in ROW->USA (US parts imports not from MEX, CAN, CHN, JPN or KOR, at most "
                                    f"{eu_parts_bound / BN:.1f} USD bn, bound the EU's)")
        cn_cars = g("facts.csv", year="2024", sector="autos", exporter="CHN", importer="USA")
        cells[("CHN", "USA")] = cell(cn_cars.value / 1e6 + parts["CHN"].value * months / 1e6, "derived",
                                     [cn_cars.source, parts["CHN"].source],
                                     f"vehicles {cn_cars.value / 1e9:.2f} (HS scope not stated) + parts "
                                     f"{parts['CHN'].value / 1e9:.1f} USD bn Jan-Nov x 12/11")
        for exp, imp, what in (("CAN", "USA", "Census, autos + trucks + parts"), ("USA", "CAN", "Census"),):
            fact = g("facts_more.csv", year="2024", sector="autos", exporter=exp, importer=imp, unit_has="Jan-Nov")
            cells[(exp, imp)] = cell(fact.value * BN * months, "derived", [fact.source],
                                     f"{fact.value} USD bn Jan-Nov x 12/11 ({what})")
        us_mx = g("facts_more.csv", year="2024", sector="autos", exporter="USA", importer="MEX")
        cells[("USA", "MEX")] = cell(us_mx.value * BN * 12 / 9, "derived", [us_mx.source],
                                     f"{us_mx.value} USD bn Jan-Sep x 12/9 (vehicles + parts)")
        for exp, imp in (("EU", "CHN"), ("CHN", "EU"), ("JPN", "EU"), ("USA", "EU")):
            fact = g("facts_more.csv", year="2024", sector="autos", exporter=exp, importer=imp, unit_has="EUR bn")
            value, src, note = self.eur(fact)
            cells[(exp, imp)] = cell(value, "derived", src,
                                     f"cars (HS 8703) only, Eurostat EUR {fact.value} bn; {note}")

        def wto(r):
            fact = g("anchor_totals.csv", year="2023", sector="autos", exporter=r, importer="WORLD")
            return cell(fact.value * BN, "derived", [fact.source], f"WTO automotive-products exports 2023 "
                        f"{fact.value} USD bn, used for 2024")

        kr = g("anchor_totals.csv", year="2024", sector="autos", exporter="KOR", importer="WORLD",
               unit_has="vehicles+parts")
        mx = g("anchor_totals.csv", year="2024", sector="autos", exporter="MEX", importer="WORLD", unit_has="INEGI")
        ca = g("facts_more.csv", year="2024", sector="autos", exporter="CAN", importer="ALL")
        eu_cars = g("anchor_totals.csv", year="2024", sector="autos", exporter="EU", importer="WORLD",
                    unit_has="EUR bn car exports")
        eu_value, eu_src, eu_note = self.eur(eu_cars)
        exports = {
            "USA": wto("USA"), "JPN": wto("JPN"), "CHN": wto("CHN"),
            "KOR": cell(kr.value * BN, "derived", [kr.source], f"Korean vehicles + parts exports {kr.value} USD bn"),
            "EU": cell(eu_value, "derived", eu_src, f"extra-EU car exports EUR {eu_cars.value} bn (cars only, a "
                       f"lower bound); {eu_note}"),
            "CAN": cell(ca.value / self.cad_per_usd * BN, "derived", [ca.source] + self.fx_sources["CAD"],
                        f"Canadian auto exports CAD {ca.value} bn; {self.fx_note['CAD']}"),
            "MEX": cell(mx.value * BN, "published", [mx.source], "INEGI automotive exports (vehicles and parts)"),
        }
        ca_imports = ca.stated(r"imports ([\d.]+) CAD bn")
        eu_imp = g("anchor_totals.csv", year="2024", sector="autos", exporter="WORLD", importer="EU",
                   unit_has="EUR bn car imports")
        eu_imp_value, eu_imp_src, _ = self.eur(eu_imp)
        imports = {
            "USA": cell((vehicles["WORLD"].value + parts["WORLD"].value * months) / 1e6, "derived",
                        [vehicles["WORLD"].source, parts["WORLD"].source],
                        "US imports of vehicles (Section 232 scope) + parts Jan-Nov x 12/11"),
            "CAN": cell(ca_imports / self.cad_per_usd * BN, "derived", [ca.source] + self.fx_sources["CAD"],
                        f"Canadian auto imports CAD {ca_imports} bn; {self.fx_note['CAD']}"),
            "EU": cell(eu_imp_value, "derived", eu_imp_src, f"extra-EU car imports EUR {eu_imp.value} bn (cars only)"),
            "JPN": assumed(20_000, "assumed USD 20 bn: Japan's imports of vehicles and parts are not in the facts "
                           "(imported cars are a small share of Japan's 4.4 million sales)"),
            "CHN": assumed(60_000, "assumed USD 60 bn: China's imports of vehicles and parts are not in the facts"),
            "KOR": assumed(20_000, "assumed USD 20 bn: Korea's imports of vehicles and parts are not in the facts"),
            "MEX": assumed(80_000, "assumed USD 80 bn: Mexico's imports (mostly parts for assembly, USD 44 bn of them "
                           "from the US) are not in the facts"),
        }
        world = g("anchor_totals.csv", year="2024", sector="autos", exporter="WORLD", importer="WORLD",
                  unit_has="HS87 exports")
        world_cell = cell(world.value * BN, "published", [world.source], "world HS 87 exports (incl. intra-EU trade "
                          "and motorcycles)")
        us_uv = vehicles["WORLD"].value / (vehicles["WORLD"].stated(r"([\d.]+)e6 units") * 1e6)
        parts_ratio = parts["WORLD"].value * months / vehicles["WORLD"].value
        cn_price = g("facts_more.csv", year="2024", sector="autos", exporter="CHN", importer="MEX").stated(
            r"avg export price ~(\d+)k USD") * 1000
        production = {}
        for r in REGIONS:
            units = g("anchor_totals.csv", year="2024", sector="autos", exporter=r, importer="",
                      unit_has="units motor vehicles produced")
            price = cn_price if r in ("CHN", "ROW") else us_uv
            which = "average Chinese export price" if r in ("CHN", "ROW") else "US vehicle import unit value"
            production[r] = cell(units.value * price * (1 + parts_ratio) / 1e6, "derived",
                                 [units.source, vehicles["WORLD"].source, parts["WORLD"].source],
                                 f"{units.value / 1e6:.2f} M vehicles x {price:,.0f} USD ({which}) x "
                                 f"{1 + parts_ratio:.3f} (parts, by the US ratio of parts to vehicle imports)")
        home_shares = {}
        for r, who in (("CAN", "CVMA, 2023"), ("MEX", "INEGI/AMIA units, 2024")):
            share = g("added_facts.csv", sector="autos", exporter=r, importer=r)
            home_shares[r] = cell(share.value, "published", [share.source], who)
        return Sector("autos", "Motor vehicles and parts (HS 8703, 8704, 8708)", cells, exports, imports, production,
                      world_cell, home_shares)

    # ------------------------------------------------------ aerospace and defence
    def aerospace_defense(self) -> Sector:
        g = self.f.get
        jpy = self.jpy_per_usd
        us_eu = g("facts_more.csv", year="2024", sector="aero_def", exporter="USA", importer="EU")
        us_jp_civil = g("facts_more.csv", year="2022", sector="aero_def", exporter="USA", importer="JPN")
        jp_civil_home = g("facts_more.csv", year="2022", sector="aero_def", exporter="JPN", importer="JPN")
        budget = g("facts_more.csv", year="2024", sector="aero_def", exporter="JPN", importer="JPN")
        salaries = g("added_facts.csv", year="2024", sector="aerospace_defense", exporter="JPN", unit_has="salaries")
        contracts = g("added_facts.csv", year="2024", sector="aerospace_defense", exporter="JPN",
                      unit_has="new defence contracts planned")
        foreign = g("added_facts.csv", year="2024", sector="aerospace_defense", exporter="JPN",
                    unit_has="foreign currency")
        programme = g("added_facts.csv", year="2023-2027", sector="aerospace_defense", exporter="JPN")
        equipment_share = programme.stated(r"equipment ([\d.]+)") / programme.value
        material = (budget.value - salaries.value * 1000) * 1e9 / jpy / 1e6  # USD million
        equipment = equipment_share * material
        foreign_share = foreign.value / contracts.value
        defence_src = ([budget.source, salaries.source, programme.source, contracts.source, foreign.source]
                       + self.fx_sources["JPY"])
        defence_note = (f"defence equipment bought in FY2024: {equipment_share:.1%} (the equipment share of the "
                        f"FY2023-27 buildup programme's JPY {programme.value} trn of material expenses) of the "
                        f"non-personnel budget (JPY {budget.value:,.1f} bn less ~{salaries.value} trn salaries = "
                        f"{material:,.0f} USD m at {jpy} JPY/USD) = {equipment:,.0f} USD m")
        civil_made = jp_civil_home.stated(r"production ([\d.]+)") * BN
        civil_exported = jp_civil_home.stated(r"exports ([\d.]+)") * BN
        civil_imported = jp_civil_home.stated(r"imports ([\d.]+)") * BN
        cells = {
            ("USA", "EU"): cell(us_eu.value * BN, "published", [us_eu.source], "US aircraft and spacecraft (HS 88) "
                                "exports to the EU (Census)"),
            ("USA", "JPN"): cell(us_jp_civil.value * BN + foreign_share * equipment, "derived",
                                 [us_jp_civil.source] + defence_src,
                                 f"civil aircraft and parts {us_jp_civil.value} USD bn (MOF 2022, used for 2024) + "
                                 f"{foreign_share:.0%} of the {defence_note}: the share of FY2024 defence contracts "
                                 "settled in foreign currency, assumed bought from the US"),
        }
        us_sales = g("added_facts.csv", year="2023", sector="aerospace_defense", exporter="USA")
        us_end_user = g("added_facts.csv", year="2022", sector="aerospace_defense", exporter="USA")
        us_total_2022 = us_end_user.stated(r"total sales ([\d.]+) USD bn")
        end_user_share = us_end_user.value / us_total_2022
        us_exports = g("anchor_totals.csv", year="2019", sector="aerospace_defense", exporter="USA", importer="WORLD")
        us_balance = us_exports.stated(r"trade balance \+(\d+)bn")
        eu_made = g("anchor_totals.csv", year="2023", sector="aerospace_defense", exporter="EU", importer="")
        eu_value, eu_src, eu_note = self.eur(eu_made)
        ca_exports = g("anchor_totals.csv", year="2023", sector="aerospace_defense", exporter="CAN", importer="WORLD")
        exports = {
            "USA": cell(us_exports.value * BN, "published", [us_exports.source], "US A&D exports 2019 (AIA), used for "
                        "2024"),
            "JPN": cell(civil_exported, "derived", [jp_civil_home.source], "Japan's aircraft exports 2022 (ITA), "
                        "used for 2024"),
            "CAN": cell(ca_exports.value / self.cad_per_usd * BN, "derived", [ca_exports.source] +
                        self.fx_sources["CAD"], f"Canadian aerospace exports 2023 CAD {ca_exports.value} bn; "
                        f"{self.fx_note['CAD']}"),
            "EU": assumed(0.3 * eu_value, "assumed 30% of EU aircraft and spacecraft output leaves the EU"),
            "CHN": assumed(8_000, "assumed USD 8 bn (China had 5.9% of world major-arms exports 2020-24, SIPRI)"),
            "KOR": assumed(5_000, "assumed USD 5 bn"),
            "MEX": assumed(9_000, "assumed USD 9 bn (aerospace parts, mostly to the US)"),
        }
        imports = {
            "USA": cell((us_exports.value - us_balance) * BN, "derived", [us_exports.source],
                        f"US A&D exports {us_exports.value} less trade balance {us_balance} USD bn (2019, AIA)"),
            "JPN": cell(civil_imported + foreign_share * equipment, "derived", [jp_civil_home.source] + defence_src,
                        f"civil aircraft imports {civil_imported / BN} USD bn (2022) + {foreign_share:.0%} of the "
                        f"{defence_note}"),
            "EU": assumed(45_000, "assumed USD 45 bn (US aircraft alone are a published 35.1 bn)"),
            "CHN": assumed(20_000, "assumed USD 20 bn (civil aircraft purchases)"),
            "KOR": assumed(8_000, "assumed USD 8 bn"),
            "CAN": assumed(10_000, "assumed USD 10 bn"),
            "MEX": assumed(3_000, "assumed USD 3 bn"),
        }
        world = assumed(400_000, "assumed world A&D goods trade USD 400 bn (US exports alone are a published 148)")
        production = {
            "USA": cell(us_sales.value * end_user_share * BN, "derived", [us_sales.source, us_end_user.source],
                        f"US A&D industry sales 2023 {us_sales.value:.0f} USD bn (AIA) x {end_user_share:.1%}, the "
                        f"share sold to end users in 2022 ({us_end_user.value:.0f} of "
                        f"{us_total_2022:.0f}): "
                        "supply-chain sales counted twice are left out; services to end users (maintenance, "
                        "engineering) remain, as no goods-only figure was found"),
            "JPN": cell(civil_made + (1 - foreign_share) * equipment, "derived", [jp_civil_home.source] + defence_src,
                        f"civil aircraft output {civil_made / BN} USD bn (2022) + {1 - foreign_share:.0%} of the "
                        f"{defence_note}"),
            "EU": cell(eu_value, "derived", eu_src, f"aircraft and spacecraft output of 8 members EUR "
                       f"{eu_made.value} bn (a lower bound); {eu_note}"),
            "CAN": assumed(exports["CAN"].value / 0.7, "assumed: exports are 70% of Canada's aerospace output"),
            "CHN": assumed(60_000, "assumed USD 60 bn"),
            "KOR": assumed(15_000, "assumed USD 15 bn"),
            "MEX": assumed(10_000, "assumed USD 10 bn"),
            "ROW": assumed(150_000, "assumed USD 150 bn (UK, Russia, Brazil, Israel, India, Turkey, ...)"),
        }
        return Sector("aerospace_defense", "Aircraft, spacecraft, parts, arms (HS 88, 93)", cells, exports, imports,
                      production, world)

    # ------------------------------------------------------- all goods, other goods
    def total_goods(self) -> Sector:
        """All merchandise: only used to derive other_goods = total − the three sectors."""
        g = self.f.get
        cells = {}
        census = [("CHN", "USA"), ("USA", "CHN"), ("CAN", "USA"), ("USA", "CAN"), ("MEX", "USA"), ("USA", "MEX")]
        for exp, imp in census:
            fact = g("anchor_totals.csv", year="2024", sector="total_merchandise", exporter=exp, importer=imp,
                     unit_has="USD bn goods trade")
            cells[(exp, imp)] = cell(fact.value * BN, "published", [fact.source], "US Census goods trade")
        for exp, imp in (("JPN", "USA"), ("USA", "JPN"), ("JPN", "CHN"), ("CHN", "JPN")):
            fact = g("facts.csv", year="2024", sector="goods", exporter=exp, importer=imp)
            cells[(exp, imp)] = cell(fact.value / 1e6, "published", [fact.source], fact.note or "goods trade")
        for exp, imp in (("EU", "USA"), ("USA", "EU"), ("USA", "KOR")):
            fact = g("facts_more.csv", year="2024", sector="total", exporter=exp, importer=imp)
            cells[(exp, imp)] = cell(fact.value * BN, "published", [fact.source], fact.note or "goods trade")
        for exp, imp in (("KOR", "USA"), ("KOR", "CHN")):
            fact = g("anchor_totals.csv", year="2024", sector="total_merchandise", exporter=exp, importer=imp,
                     unit_has="USD bn")
            cells[(exp, imp)] = cell(fact.value * BN, "published", [fact.source], "Korean exports (MOTIE)")
        for exp, imp in (("EU", "CHN"), ("CHN", "EU")):
            fact = g("facts_more.csv", year="2024", sector="total", exporter=exp, importer=imp)
            value, src, note = self.eur(fact)
            cells[(exp, imp)] = cell(value, "derived", src, f"Eurostat EUR {fact.value} bn; {note}")
        for exp, imp in (("CHN", "MEX"), ("MEX", "CHN"), ("CAN", "MEX"), ("MEX", "CAN")):
            fact = g("facts_more.csv", year="2024", sector="total", exporter=exp, importer=imp)
            cells[(exp, imp)] = cell(fact.value * BN * 12 / 11, "derived", [fact.source],
                                     f"{fact.value} USD bn Jan-Nov x 12/11 (Mexican statistics)")
        for exp, imp in (("EU", "MEX"), ("MEX", "EU")):
            fact = g("facts_more.csv", year="2023", sector="total", exporter=exp, importer=imp)
            value, src, note = self.eur(fact)
            cells[(exp, imp)] = cell(value, "derived", src, f"EUR {fact.value} bn in 2023, used for 2024; {note}")

        def usd(exp, imp, what, unit_has="USD bn"):
            fact = g("anchor_totals.csv", year="2024", sector="total_merchandise", exporter=exp, importer=imp,
                     unit_has=unit_has)
            return cell(fact.value * BN, "published" if "DERIVED" not in fact.note else "derived", [fact.source], what)

        def eur(exp, imp, what):
            fact = g("anchor_totals.csv", year="2024", sector="total_merchandise", exporter=exp, importer=imp,
                     unit_has="EUR bn")
            value, src, note = self.eur(fact)
            return cell(value, "derived", src, f"{what} EUR {fact.value} bn; {note}")

        exports = {"USA": usd("USA", "WORLD", "goods exports (Census)"), "CHN": usd("CHN", "WORLD", "goods exports"),
                   "JPN": usd("JPN", "WORLD", "goods exports (MOF, converted)"), "KOR": usd("KOR", "WORLD", "goods "
                   "exports"), "EU": eur("EU", "WORLD", "extra-EU goods exports"),
                   "MEX": usd("MEX", "WORLD", "goods exports"), "CAN": usd("CAN", "WORLD", "rough mirror")}
        imports = {"USA": usd("WORLD", "USA", "goods imports (Census)", unit_has="(Census basis)"),
                   "CHN": usd("WORLD", "CHN", "goods imports"), "JPN": usd("WORLD", "JPN", "goods imports (MOF)"),
                   "KOR": usd("WORLD", "KOR", "goods imports"), "EU": eur("WORLD", "EU", "extra-EU goods imports"),
                   "MEX": usd("WORLD", "MEX", "goods imports"), "CAN": usd("WORLD", "CAN", "rough mirror")}
        world = usd("WORLD", "WORLD", "world merchandise exports (WTO; includes intra-EU trade)")
        production = {r: cell(0.0, "assumed", [], "") for r in REGIONS}  # not used: diagonals come from shares
        return Sector("total", "all goods", cells, exports, imports, production, world)


#: Assumed share of imports in each region's absorption of other goods (no production data in the facts).
OTHER_IMPORT_SHARE = {"USA": 0.25, "JPN": 0.25, "CHN": 0.15, "KOR": 0.35, "EU": 0.20, "CAN": 0.40, "MEX": 0.40,
                      "ROW": 0.30}


def other_goods(total: dict, sectors: list[dict]) -> dict:
    """Other goods = all goods − steel − autos − aerospace cell by cell; diagonal from assumed import shares."""
    out = {}
    for i in REGIONS:
        for j in REGIONS:
            if i == j:
                continue
            parts = [s[(i, j)].value for s in sectors]
            value = total[(i, j)].value - sum(parts)
            src = [total[(i, j)].source] + [s[(i, j)].source for s in sectors]
            note = (f"all goods {total[(i, j)].value:,.0f} ({total[(i, j)].note}) less steel, autos and aerospace "
                    f"{sum(parts):,.0f}")
            basis = "assumed" if total[(i, j)].basis == "assumed" else "derived"
            if value < 0.05 * total[(i, j)].value:
                value = 0.05 * total[(i, j)].value
                note += "; the sector cells exceed the total (sources disagree): set to 5% of all goods"
                basis = "assumed"
            out[(i, j)] = cell(value, basis, src, note)
    for j in REGIONS:
        imports = sum(out[(i, j)].value for i in REGIONS if i != j)
        share = OTHER_IMPORT_SHARE[j]
        out[(j, j)] = cell(imports * (1 - share) / share, "assumed", ["ASSUMED"],
                           f"assumed: imports ({imports:,.0f}) are {share:.0%} of {j}'s absorption of other goods "
                           "(no output data in the facts)")
    return out


# --------------------------------------------------------------------- tariffs
def base_quotas(build: Build, flows: dict) -> list[tuple]:
    """The Section 232 steel quotas in force in 2024 (sector, exporter, importer, volume, in, out, rent, basis,
    source, note): volumes in tonnes converted at the exporter's unit value, the dataset's own price of its steel."""
    g = build.f.get
    admin = g("added_facts.csv", sector="trq_administration", value_has="first-come")
    rows = []
    for exporter, kind, out_rate, rent, why in (
            ("JPN", "trq_s232_steel", 0.25, "importer", f"first-come first-served, claimed by US importers "
             f"({admin.source})"),
            ("EU", "trq_s232_steel", 0.25, "importer", f"administered like Japan's ({admin.source})"),
            ("KOR", "quota_s232_steel", math.inf, "exporter", "an absolute quota allocated among Korean mills "
             "by Korea (assumed: the US quota bulletins cap volume, Korea shares it out), so Korea's mills hold any "
             "rent")):
        fact = g("facts.csv", sector=kind, exporter=exporter)
        price, price_src, price_note = build.steel_uv[exporter]
        if exporter == "KOR":  # the US flow's own unit value, so flow and volume are priced alike (issue 18, item 1)
            tons = g("facts.csv", year="2024", sector="steel_mill", exporter="KOR", importer="USA")
            value = g("facts_more.csv", year="2024", sector="steel", exporter="KOR", importer="USA", unit_has="USD bn")
            price = value.value * 1e9 / (tons.value * SHORT_TON)
            price_src = [value.source, tons.source]
            price_note = (f"the US flow's own unit value: ITA USD {value.value:.1f} bn / AISI {tons.value / 1e6:.3f} M "
                          f"short t; KITA's {build.steel_uv['KOR'][0]:,.0f} USD/t prices a wider basket")
        if exporter == "EU":  # one year and one trade flow: 2024 EU->US value / tonnage (issue 18, item 2)
            tons = g("added_facts.csv", year="2024", sector="steel_exports_tonnes", exporter="EU", importer="USA")
            excluded = g("added_facts.csv", year="2023", sector="trq_s232_steel_use", exporter="EU", importer="USA")
            eu_flow = flows["steel"][("EU", "USA")]
            price = eu_flow.value / tons.value
            price_src = [*eu_flow.source.split(), tons.source, excluded.source]
            low, high = out_rate * tons.value / 2 * price / 1e3, out_rate * fact.value / 1e6 * price / 1e3
            price_note = (f"the US flow's own unit value: Eurostat EUR 5.4 bn / EUROFER {tons.value:.1f} Mt; the rent "
                          f"of the full volume is the top of a USD {low:.1f}-{high:.1f} bn range: "
                          f"by the EU's account under half of {tons.value:.1f} Mt entered in quota and "
                          f"{excluded.value:.1f} Mt duty-free under product exclusions, whose duty saving the one "
                          "aggregate quota here holds as rent too")
        volume = fact.value / 1e6 * price
        flow = flows["steel"][(exporter, "USA")].value
        state = "slack" if flow < volume else "over quota"
        rows.append(("steel", exporter, "USA", volume, 0.0, out_rate, rent, "derived",
                     " ".join([fact.source, *price_src] + ([admin.source] if rent == "importer" else [])),
                     f"{fact.value / 1e6:.2f} Mt x {price:,.0f} USD/t ({price_note}); base flow {flow:,.1f} = "
                     f"{flow / volume:.1%} of the volume: {state}; rent to the {rent}: {why}"))
    return rows


def base_ownership(facts: Facts) -> list[tuple]:
    """Foreign owners' shares of US car makers' producer surplus in 2024 (sector, location, owner, share, basis,
    source, note): shares of US light-vehicle output by the automaker's home, units as the proxy for surplus.

    Steel has no row: U.S. Steel was US-owned in 2024 (Nippon Steel bought it in June 2025, a scenario change),
    and the one foreign-owned US mill found, AM/NS Calvert (half Nippon Steel, half ArcelorMittal), rolled
    slabs in 2024; its 1.5 Mt electric furnace, under 1% of US capability, was not yet in production.
    Stellantis stays with the US, as Autos Drive America counts it (see the note).
    """
    g = facts.get
    international = g("added_facts.csv", year="2024", sector="autos_us_output_international")
    detroit = g("added_facts.csv", year="2024", sector="autos_us_output_detroit3")
    ev_makers = g("added_facts.csv", year="2023", sector="autos_us_output_ev_makers")
    japanese = g("added_facts.csv", year="2023", sector="autos_us_output_japanese")
    korean = [g("added_facts.csv", sector="autos_us_capacity_korean", value_has=v) for v in ("0.36", "0.34")]
    total = international.value + detroit.value + ev_makers.value
    korea = sum(f.value for f in korean)
    europe = international.value - japanese.value - korea
    whole = (f"of US light-vehicle output {total:.2f} M (international automakers {international.value} M + Detroit 3 "
             f"{detroit.value} M, 2024, + Tesla, Rivian and Lucid {ev_makers.value:.2f} M, 2023's figure); vehicles "
             "stand for surplus (no output value by owner is published)")
    stellantis = ("Stellantis (Netherlands-domiciled, listed in Milan, Paris and New York) stays with the US as the "
                  "Detroit 3 count has it: no sourced 2024 US output of its own was found, and where its "
                  "shareholders live is not documented here; counting it European would move about 0.1-0.15 of "
                  "US output from the US to the EU")
    common = [international.source, detroit.source, ev_makers.source]
    return [
        ("autos", "USA", "JPN", japanese.value / total, "derived", " ".join([japanese.source, *common]),
         f"Japanese-brand US output {japanese.value} M (JAMA, 2023; no 2024 figure) {whole}"),
        ("autos", "USA", "KOR", korea / total, "derived", " ".join([*(f.source for f in korean), *common]),
         f"Hyundai Alabama {korean[0].value} M + Kia Georgia {korean[1].value} M a year of capacity (output not "
         f"published; the Georgia Metaplant began in October 2024 and is left out) {whole}"),
        ("autos", "USA", "EU", europe / total, "derived",
         " ".join([international.source, japanese.source, *(f.source for f in korean), *common[1:]]),
         f"international automakers' {international.value} M less Japanese and Korean: {europe:.2f} M (BMW, "
         f"Mercedes-Benz, Volkswagen, Volvo; Volvo's owner Geely is Chinese, a few tens of thousands of cars) "
         f"{whole}; {stellantis}"),
    ]


def base_tariffs(build: Build, flows: dict) -> list[tuple]:
    """Applied rates in 2024 (sector, exporter, importer, rate, basis, source, note); missing cells are 0."""
    g = build.f.get
    rows = []
    # The US chapter-72 figure (2.6%) is an average over the chapter, ferroalloys included; the HTSUS general
    # rate on steel mill products (7206-7229), this sector, is Free (the S24 row's note): the US MFN here is 0.
    mfn_us = g("facts.csv", year="2024", sector="mfn_avg_ch72", importer="USA")
    mfn_us = Fact(0.0, mfn_us.unit, mfn_us.source, "HTSUS general rate on 7206-7229: Free")
    mfn_cn = g("facts.csv", year="2024", sector="mfn_avg_ch72", importer="CHN")
    s232 = g("facts.csv", year="2018", sector="tariff_s232_steel", importer="USA")
    jp_trq = g("facts.csv", year="2022", sector="trq_s232_steel", exporter="JPN")
    jp_us = g("facts.csv", year="2024", sector="steel_all", exporter="JPN", importer="USA")
    rows.append(("steel", "JPN", "USA", mfn_us.value, "derived", f"{mfn_us.source} {jp_trq.source} {jp_us.source}",
                 f"MFN (Free on mill products) only: Japan's {jp_us.value / 1e6:.2f} Mt fit its "
                 f"{jp_trq.value / 1e6:.2f} Mt "
                 "duty-free TRQ (2022) under Section 232"))
    eu = g("facts.csv", year="2022", sector="trq_s232_steel", exporter="EU")
    eu_tons = g("added_facts.csv", year="2024", sector="steel_exports_tonnes", exporter="EU", importer="USA")
    rows.append(("steel", "EU", "USA", mfn_us.value + s232.value, "derived",
                 f"{mfn_us.source} {s232.source} {eu.source} {eu_tons.source}",
                 f"the marginal rate: the EU's {eu_tons.value:.1f} Mt exceed its {eu.value / 1e6:.1f} Mt duty-free "
                 "TRQ, so the last tonne pays MFN (Free) + 25% (quotas.csv holds the quota; revenue is 25% on the "
                 "excess only)"))
    rows.append(("steel", "CHN", "USA", mfn_us.value + s232.value, "derived", f"{mfn_us.source} {s232.source}",
                 "MFN (Free) + Section 232 25% (anti-dumping/countervailing and Section 301 duties not included)"))
    brazil = g("facts_more.csv", year="2024", sector="steel", exporter="ROW", importer="USA")
    uk = g("added_facts.csv", year="2023", sector="steel_exports_value", exporter="UK", importer="USA")
    uk_usd = uk.value * build.usd_per_eur
    row_us = flows["steel"][("ROW", "USA")].value
    exempt = min(1.0, (brazil.value * BN + uk_usd) / row_us)
    rows.append(("steel", "ROW", "USA", mfn_us.value + s232.value * (1 - exempt), "derived",
                 f"{mfn_us.source} {s232.source} {brazil.source} {uk.source} S63",
                 f"MFN + 25% on the rest of world except Brazil (absolute quota, no tariff) and the UK (inside its "
                 f"duty-free TRQ): {exempt:.1%} of ROW's steel to the US (Brazil {brazil.value * BN:,.0f}, UK "
                 f"{uk_usd:,.0f} USD m); Argentina's quota (S63), Australia's exemption, Ukraine's suspension and "
                 "product exclusions are not netted out (no 2024 flows found; with Argentina at its full quota and "
                 "Ukraine at its upper bound the rate would be 16.4%)"))
    for exp in ("USA", "JPN", "KOR", "EU", "CAN", "MEX", "ROW"):
        rows.append(("steel", exp, "CHN", mfn_cn.value, "published", mfn_cn.source, "China's MFN average, chapter 72"))
    for importer, year in (("CHN", "2022"), ("JPN", "2016")):
        mfn = g("added_facts.csv", year=year, sector="tariff_mfn_simple_average", importer=importer)
        for exp in REGIONS:
            if exp != importer:
                rows.append(("other_goods", exp, importer, mfn.value, "derived", mfn.source,
                             f"{importer}'s simple-average MFN rate ({year}) applied to all partners; free-trade "
                             "preferences (RCEP and others) are not netted out"))
    cars = g("facts.csv", year="2024", sector="tariff_mfn_cars", importer="USA")
    for exp in ("JPN", "EU", "ROW"):
        rows.append(("autos", exp, "USA", cars.value, "published", cars.source,
                     "US MFN rate on cars (light trucks pay 25%)"))
    s301 = g("added_facts.csv", sector="tariff_s301_autos", exporter="CHN", importer="USA")
    rows.append(("autos", "CHN", "USA", cars.value + s301.value, "derived", f"{cars.source} {s301.source}",
                 f"US MFN rate on cars {cars.value:.1%} + Section 301 {s301.value:.0%} on Chinese vehicles and most "
                 "parts; the 100% on Chinese EVs from September 2024 is left out (few were imported)"))
    return rows


# ---------------------------------------------------------------------- writing
#: Supply elasticity of every region but the US in steel and autos (the sector default), calibrated so that a
#: 25% US tariff passes through to tariff-inclusive import prices almost completely (import-weighted 0.97-0.99),
#: as the evidence on the 2018-19 tariffs found (added_facts.csv: ARW 2019, FGKK 2020, USITC 2023). With 10,
#: autos give 0.955: Canada and Mexico sell only 7.7% and 12.8% of their vehicles at home (CVMA, INEGI), so they
#: depend on the US market almost wholly. Checked by validation/validate.py and tests/test_validation.py.
FOREIGN_SUPPLY_ELASTICITY = 20.0
#: US supply elasticities that differ from the sector default: (sector, value, basis, note).
US_SUPPLY_ELASTICITIES = [
    ("steel", 0.8, "derived",
     "calibrated with steel eta = -1.0 so that the 2018-21 Section 232 backtest (validation/s232_2018.toml vs "
     "s232_none.toml) lands within USITC (2023) estimates: imports -25.4% (published -24%), US producer price "
     "+3.0% (+2.4%), production +2.4% (+1.9%); with US eps 2 and eta -0.6 production rises 5.3%"),
    ("autos", 2.0, "assumed", "assumed medium-run supply elasticity of US vehicle production (not calibrated)"),
]

SECTOR_PARAMETERS = {
    # code: (name, the added_facts.csv unit text of its sigma, eta (assumed), eps (assumed))
    "steel": ("Iron and steel mill products (tonnage basis, see README)", "ESUBD iron and steel", -1.0,
              FOREIGN_SUPPLY_ELASTICITY),
    "autos": ("Motor vehicles and parts (HS 8703, 8704, 8708)", "ESUBD motor vehicles", -1.0,
              FOREIGN_SUPPLY_ELASTICITY),
    "aerospace_defense": ("Aircraft, spacecraft, parts and arms (HS 88, 93)", "Armington elasticity (median", -0.5,
                          1.0),
    "other_goods": ("All other merchandise", "Armington elasticity (median", -1.0, 3.0),
}


def adjustment_rows(facts: Facts) -> list[tuple]:
    """Short-run rules (sector, parameter, region, short_run, half_life_years, basis, source, note): docs/model.md,
    "Short-run adjustment". Calibrated from the literature, never from 2025 outcomes."""
    g = facts.get
    first = g("adjustment_facts.csv", sector="trade_elasticity_first_year")
    long_run = g("adjustment_facts.csv", sector="trade_elasticity_long_run")
    utilisation = g("adjustment_facts.csv", sector="steel_capability_utilisation")
    eaf = g("adjustment_facts.csv", sector="eaf_construction_time")
    plant = g("adjustment_facts.csv", sector="auto_plant_lead_time")
    share = first.value / long_run.value
    # "reached after 7-10 years": 90% of the gap closed in 8.5 years gives a half-life of 8.5 / log2(10) = 2.6
    half_life = 2.5
    return [
        ("*", "sigma", "", round(share, 2), half_life, "derived", f"{first.source} {long_run.source}",
         f"Boehm, Levchenko and Pandalai-Nayar (2023): the elasticity of tariff-exclusive trade flows to tariffs is "
         f"{first.value:g} in the first year and {long_run.value:g} (-1.75 to -2.25) in the long run, reached after "
         f"7-10 years; with the exporter's price given, that elasticity is -sigma here, so the first year's sigma is "
         f"{share:.2f} of the long run (0.34-0.43); 90% of the gap closed in 7-10 years gives a half-life of 2.1-3.0 "
         "years"),
        ("steel", "eps", "USA", 0.5, 2.0, "assumed", f"{utilisation.source} {eaf.source}",
         f"assumed (no econometric short-run estimate found): with {utilisation.value:g}% of capability in use US "
         f"mills can raise output within the year, but new capacity takes about {eaf.value:g} months to build "
         "(an EAF at Calvert); half the long-run response at first, half the rest every 2 years"),
        ("autos", "eps", "USA", 0.3, 2.5, "assumed", plant.source,
         f"assumed: a US car plant takes {plant.value:g} years (2.5-3) from decision to output, so output responds "
         "little in the first year (overtime and shifts only)"),
    ]


def linkage_rows(facts: Facts, flows: dict, tariffs: list) -> list[tuple]:
    """Input-output cost shares of steel in the using sectors (input_sector, using_sector, region, cost_share,
    basis, source, note): docs/model.md, "Vertical linkages".

    The US shares put BEA's split of US steel use (IO values) onto the dataset's own steel: each using
    sector's share of US steel use times US steel absorption (at internal prices), over the sector's output.
    IO values count processed steel and so exceed the dataset's tonnage-valued steel; taking shares of use
    rather than IO coefficients keeps derived demand below absorption. The other regions take the US share
    times their ratio to the US in one table that treats all alike (WIOD 2013 release: basic and fabricated
    metals per dollar of transport-equipment output for autos and aerospace, of the other goods industries'
    output for other goods; the mean of the 2005, 2008 and 2011 ratios), so their shares keep the US cell's
    valuation; every region's derived demand stays below its absorption of steel (checked on loading).
    """
    use = facts.get("linkage_facts.csv", sector="us_steel_use_by_industry")
    parts = {"autos": use.stated(r"motor vehicles and parts (\d+)"),
             "aerospace_defense": use.stated(r"other transportation (\d+)"),
             "other_goods": use.stated(r"other goods industries (\d+)")}
    rates = {(k, i, j): r for k, i, j, r, *_ in tariffs}
    steel = flows["steel"]
    absorption = sum((1 + rates.get(("steel", i, "USA"), 0.0)) * steel[(i, "USA")].value for i in REGIONS)
    sources = {"autos": ["io_primary_metals_into_motor_vehicles"],
               "aerospace_defense": ["io_primary_metals_into_other_transportation"],
               "other_goods": ["io_primary_metals_into_other_goods"]}
    share_fact = facts.get("linkage_facts.csv", sector="steel_share_of_metal_requirements")
    rows = []
    for using, dollars in parts.items():
        output = sum(flows[using][("USA", j)].value for j in REGIONS)
        proportion = dollars / use.value
        share = proportion * absorption / output
        cited = " ".join([use.source, share_fact.source] + [facts.get("linkage_facts.csv", sector=s).source
                                                             for s in sources[using]])
        rows.append(("steel", using, "USA", round(share, 4), "derived", cited,
                     f"{proportion:.1%} of US steel use (BEA 2024, IO values: {dollars:,.0f} of {use.value:,.0f}) x US "
                     f"steel absorption {absorption:,.0f} (the dataset's, at internal prices) / {using} output "
                     f"{output:,.0f}"))
        rows.extend(foreign_linkage_rows(facts, using, share))
    return rows


#: The WIOD-2013 column each using sector's foreign ratio is read from (linkage_facts.csv).
WIOD_COLUMN = {"autos": "wiod_metals_into_transport_equipment",
               "aerospace_defense": "wiod_metals_into_transport_equipment",
               "other_goods": "wiod_metals_into_other_goods"}
WIOD_YEARS = ("2005", "2008", "2011")


def foreign_linkage_rows(facts: Facts, using: str, us_share: float) -> list[tuple]:
    """The cost shares of the regions other than the US: the US share times the region's WIOD-2013 coefficient
    over the US one (mean of the three years' ratios). WIOD's metals row also holds non-ferrous and fabricated
    metal, and its transport column holds every vehicle: the ratio assumes steel's part of both is as in the US."""
    rows = []
    for region in REGIONS:
        if region == "USA":
            continue
        ratios, cited = [], []
        for year in WIOD_YEARS:
            own = facts.get("linkage_facts.csv", sector=WIOD_COLUMN[using], year=year, exporter=region)
            us = facts.get("linkage_facts.csv", sector=WIOD_COLUMN[using], year=year, exporter="USA")
            ratios.append(own.value / us.value)
            cited += [own.source, us.source]
        ratio = sum(ratios) / len(ratios)
        column = "transport equipment" if "transport" in WIOD_COLUMN[using] else "other goods"
        by_year = ", ".join(f"{y} {r:.3f}" for y, r in zip(WIOD_YEARS, ratios))
        rows.append(("steel", using, region, round(us_share * ratio, 4), "derived", " ".join(cited),
                     f"the US share {us_share:.4f} x {region}/US ratio {ratio:.3f} (WIOD 2013 release, basic and "
                     f"fabricated metals per dollar of {column} output, all origins; {by_year}): steel's part of the "
                     "metals row and autos' part of the transport column assumed as in the US"))
    return rows


def build_all(facts: Facts) -> tuple[dict, list]:
    b = Build(facts)
    flows = {}
    flows["steel"] = assemble(b.steel())
    flows["autos"] = assemble(b.autos())
    flows["aerospace_defense"] = assemble(b.aerospace_defense())
    total = assemble(b.total_goods())
    flows["other_goods"] = other_goods(total, [flows["steel"], flows["autos"], flows["aerospace_defense"]])
    return flows, base_tariffs(b, flows), base_quotas(b, flows)


def write(out: Path, linked: bool = False) -> None:
    """Write the dataset into ``out``; with ``linked``, the linked variant (``inputs.csv``, docs/model.md)."""
    facts = Facts(FACTS)
    flows, tariffs, quotas = build_all(facts)
    flow_rows = [(sector, i, j, c.value, c.basis, c.source, c.note) for sector, cells in flows.items()
                 for i in REGIONS for j in REGIONS for c in [cells[(i, j)]]]
    for row in flow_rows:
        assert math.isfinite(row[3]) and row[3] >= 0, row
    sigma = {code: facts.get("added_facts.csv", sector="elasticity", unit_has=p[1])
             for code, p in SECTOR_PARAMETERS.items()}
    evidence = [facts.get("added_facts.csv", sector="s232_effect_steel"),
                facts.get("added_facts.csv", sector="tariff_pass_through")]
    supply = [(sector, "USA", value, basis, evidence[0].source if basis == "derived" else "ASSUMED", note)
              for sector, value, basis, note in US_SUPPLY_ELASTICITIES]
    adjustment = adjustment_rows(facts)
    ownership = base_ownership(facts)
    inputs = linkage_rows(facts, flows, tariffs) if linked else []
    used = {sid for row in flow_rows + tariffs + quotas + adjustment + ownership + inputs for sid in row[-2].split()}
    used.update(f.source for f in [*sigma.values(), *evidence])
    sources = [facts.sources[s] for s in sorted(used - {"ASSUMED"}, key=_source_order)]
    write_dataset(out, _metadata(sources, sigma, linked), flow_rows, tariffs, supply_elasticities=supply,
                  quotas=quotas, decimals={"value": 3, "rate": 4, "volume": 3, "in_rate": 4, "out_rate": 4, "share": 4,
                                           "cost_share": 4},
                  adjustment=adjustment, ownership=ownership, inputs=inputs or None)
    readme = (HERE / "DATASET_README.md").read_text(encoding="utf-8")
    if linked:
        readme = (HERE / "LINKED_README.md").read_text(encoding="utf-8") + "\n" + readme
    (out / "README.md").write_text(readme + _basis_table(flows), encoding="utf-8")


def _source_order(sid: str):
    return (sid[0], int(sid[1:]) if sid[1:].isdigit() else 0)


#: Why each sector's elasticities are what they are: the comment above its table in dataset.toml.
SECTOR_COMMENTS = {
    "steel": "sigma: GTAP 10 ESUBD for iron and steel (ESUBM 5.9 for sensitivity); eta -1.0 with the US eps 0.8 "
             "(supply_elasticities.csv): calibrated to the USITC (2023) Section 232 backtest; eps 20 for every "
             "other region: calibrated to near-complete tariff pass-through (see build.py)",
    "autos": "sigma: GTAP 10 ESUBD for motor vehicles (ESUBM 5.6); eta -1: assumed unit-elastic; eps 20 for every "
             "region but the US (2, assumed): calibrated to near-complete tariff pass-through (see build.py)",
    "aerospace_defense": "sigma: meta-analysis median 3.8 (Bajzik et al. 2020); eta -0.5: assumed (procurement is "
                         "budget-driven); eps 1: assumed (capacity-constrained)",
    "other_goods": "sigma: meta-analysis median 3.8 (Bajzik et al. 2020); eta -1, eps 3: assumed",
}


def _metadata(sources, sigma, linked: bool = False) -> dict:
    """dataset.toml's content: regions, sectors (their elasticities' reasons as comments) and the sources used."""
    sectors = [{"#": f"{SECTOR_COMMENTS[code]} (source {sigma[code].source})", "code": code, "name": name,
                "sigma": sigma[code].value, "eta": eta, "eps": eps}
               for code, (name, _, eta, eps) in SECTOR_PARAMETERS.items()]
    assumed = {"id": "ASSUMED", "title": "A stated assumption of the tradesim authors; the note says what and why",
               "url": ""}
    return {"#": "Generated by data/us_japan_2024/build.py from data/us_japan_2024/facts/: do not edit by hand.",
            "name": "us_japan_2024_linked" if linked else "us_japan_2024",
            "title": "US, Japan and six partners, 2024: steel, autos, aerospace and defence, other goods"
                     + (", with steel as an input to the other sectors" if linked else ""),
            "base_year": 2024, "unit": "USD million",
            "region": [{"code": code, "name": name} for code, name in REGIONS.items()], "sector": sectors,
            "source": [assumed, *(_source_table(s) for s in sources)]}


def _source_table(source: dict) -> dict:
    """A [[source]] table: id, title and url, and the note where there is one."""
    table = {"id": source["id"], "title": source["title"], "url": source["url"]}
    if source.get("note"):
        table["note"] = source["note"]
    return table


def _basis_table(flows) -> str:
    lines = ["", "## Cells by basis (generated)", "",
             "| sector | published | derived | assumed | value share assumed |", "|---|---|---|---|---|"]
    for sector, cells in flows.items():
        counts = {b: sum(1 for c in cells.values() if c.basis == b) for b in ("published", "derived", "assumed")}
        total = sum(c.value for c in cells.values())
        share = sum(c.value for c in cells.values() if c.basis == "assumed") / total
        lines.append(f"| {sector} | {counts['published']} | {counts['derived']} | {counts['assumed']} | {share:.0%} |")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    out = parser.parse_args().out
    write(out)
    write(out.parent / f"{out.name}_linked", linked=True)


if __name__ == "__main__":
    main()
