"""tradesim against published evidence, fitted apart from out-of-sample: ``python validation/validate.py``.

Two tables, kept apart (docs/validation.md; the README's "Checked against published evidence"):

- **Fitted**: comparisons a parameter was chosen to hit; each row names the parameter it
  fixed. The backtest of the 2018-2021 Section 232 steel tariffs (``s232_2018.toml``
  relative to ``s232_none.toml``, both in this folder) against USITC (2023), pub. 5405, fixed
  the US steel supply elasticity (0.8) and the steel composite demand elasticity (-1.0); the
  near-complete pass-through of the 2018-19 tariffs fixed the foreign supply elasticity of
  steel and autos (20); the Bank of Japan's export prices of cars to the US fixed the share of
  the 2025 auto tariff that Japan's exporters passed on (0). A fitted row is held to its band:
  this script exits with code 1 when one leaves it, and ``tests/test_validation.py`` fails.
- **Out-of-sample** (two tables: published estimates of the tariffs' effects, and what 2025
  measured against the dated scenarios' 2025): published numbers nothing was tuned to, each compared like for like as
  far as the model allows (same measure, scope and horizon; what differs is said in the row).
  Bands: the source's own range where it gives one; otherwise one stated rule for every row,
  +-25% of a model estimate published as a point and +-5 percentage points of a measurement.
  Misses are reported as they are, with the reason; they never move a parameter.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, replace
from pathlib import Path

import sim

HERE = Path(__file__).resolve().parent
SCENARIOS = HERE.parent / "scenarios"

#: Out-of-sample bands where the source gives no range (stated once, applied to every such row).
POINT_ESTIMATE_SHARE = 0.25  # +-25% of a model estimate published as a point
MEASUREMENT_POINTS = 5.0  # +-5 percentage points of a measurement


@dataclass(frozen=True)
class Comparison:
    """A model number beside a published one, with the band it is held to (fitted) or scored against."""

    what: str
    model: float
    published: float | tuple[float, float]
    low: float
    high: float
    source: str
    measure: str = ""  # what the source measures, and what is or is not like for like
    fixes: str = ""  # fitted rows: the parameter this comparison chose

    @property
    def within(self) -> bool:
        return self.low <= self.model <= self.high

    @property
    def published_text(self) -> str:
        if isinstance(self.published, tuple):
            return f"{self.published[0]:+.1f} to {self.published[1]:+.1f}"
        return f"{self.published:+.2f}"


def point_band(value: float) -> tuple[float, float]:
    """The band of a model estimate published as a point: +-25% of it."""
    low, high = sorted((value * (1 - POINT_ESTIMATE_SHARE), value * (1 + POINT_ESTIMATE_SHARE)))
    return low, high


def measurement_band(value: float) -> tuple[float, float]:
    """The band of a measurement: +-5 percentage points."""
    return value - MEASUREMENT_POINTS, value + MEASUREMENT_POINTS


def volume_change(flows, weights) -> float:
    """The % change in the volume of ``flows`` (at base prices), each flow weighted by ``weights``."""
    return 100 * float((weights * (1 + flows["volume_pct"] / 100)).sum() / weights.sum() - 1)


def regime_effect(with_232, without):
    """The 2018-21 regime against none: US steel import volume (%) and the US steel prices row."""
    regime = sim.compare([with_232, without], baseline=without.name)
    flows = regime.by_scenario.flows.xs((with_232.name, "long run", "steel", "USA"),
                                        level=("scenario", "year", "sector", "importer")).drop("USA")
    imports = volume_change(flows, flows["baseline_value"])  # weighted by the no-232 baseline's imports
    return imports, regime.by_scenario.prices.loc[(with_232.name, "long run", "steel", "USA")]


def backtest() -> list[Comparison]:
    """The Section 232 regime's effect on the US steel market, in percent (fitted)."""
    imports, prices = regime_effect(sim.run(HERE / "s232_2018.toml"), sim.run(HERE / "s232_none.toml"))
    source = "USITC (2023), Economic Impact of Section 232 and 301 Tariffs on U.S. Industries, pub. 5405"
    fixes = "US steel supply elasticity 0.8 and steel composite demand elasticity -1.0 (chosen together)"
    horizon = "the 2018-21 regime against none, long run, steel mill products"
    return [
        Comparison("Section 232 (2018-21): US steel import volume, %", imports, -24.0, -30.0, -18.0, source,
                   f"import volume; {horizon}", fixes),
        Comparison("Section 232 (2018-21): price of US-made steel (producer price), %",
                   prices["producer_price_pct"], 2.4, 1.4, 3.4, source,
                   f"the report's price of steel products, read as the domestic product's price (its definition "
                   f"was not found); the model's composite (buyers') price, domestic and imported, is "
                   f"{prices['consumer_price_pct']:+.1f}%; {horizon}", fixes),
        Comparison("Section 232 (2018-21): US steel production, %", prices["output_pct"], 1.9, 0.9, 2.9, source,
                   f"output volume; {horizon}", fixes),
    ]


def pass_through(scenario: str, sector: str) -> float:
    """Import-weighted share of the tariff change passed into US tariff-inclusive import prices.

    For each partner whose US tariff changes: ``(T1 p̂ − T0) / (T1 − T0)``, weighted by base imports.
    """
    res = sim.run(SCENARIOS / f"{scenario}.toml")
    tariffs = res.frames.tariffs.xs(("long run", sector, "USA"), level=("year", "sector", "importer"))
    changed = tariffs[tariffs["rate"] != tariffs["base_rate"]]
    prices = res.frames.prices.xs(("long run", sector), level=("year", "sector"))["producer_price_pct"]
    base = res.frames.flows.xs(("long run", sector, "USA"), level=("year", "sector", "importer"))["base_value"]
    t0, t1 = 1 + changed["base_rate"], 1 + changed["rate"]
    p = 1 + prices.reindex(changed.index) / 100
    share = (t1 * p - t0) / (t1 - t0)
    weights = base.reindex(changed.index)
    return float((share * weights).sum() / weights.sum())


def pass_through_checks() -> list[Comparison]:
    """Pass-through of a tariff to US tariff-inclusive import prices (fitted)."""
    source = "Amiti, Redding & Weinstein (2019); Fajgelbaum et al. (2020); USITC (2023): about 1 for 1"
    evidence = "the 2018-19 tariffs, import prices at the border within about a year"
    return [
        Comparison("Pass-through of a 25-point steel tariff to US import prices", pass_through("steel_232_2025",
                   "steel"), 1.0, 0.95, 1.0, source, f"{evidence} (steel among the goods studied); the same "
                   "elasticity of 20 is kept for foreign autos, whose 2025 pricing the rows below fit",
                   "foreign steel (and autos) supply elasticity 20"),
    ]


def japan_route(path: Path, year=2025) -> tuple[float, float]:
    """Japan's car route price (what its exporters receive) and volume to the US in ``year``, % change."""
    flow = sim.run(path).frames.flows.loc[(year, "autos", "JPN", "USA")]
    price = (1 + flow["value_pct"] / 100) / (1 + flow["volume_pct"] / 100) - 1
    return 100 * float(price), float(flow["volume_pct"])


def japan_car_prices() -> list[Comparison]:
    """Japan's export prices of cars to the US under the 2025 tariffs (fitted: the pass-through share)."""
    fixes = "Japan's autos pass-through share to the US in 2025, 0 (scenarios/autos_tariffs_2025_2030.toml)"
    boj = "Bank of Japan export price index, passenger cars to North America, contract currency"
    june, _ = japan_route(HERE / "autos_june_2025.toml")
    october, _ = japan_route(HERE / "autos_october_2025.toml")
    return [
        Comparison("Japan's car export price to the US, June 2025 (27.5% tariff), %", june, -19.4,
                   *measurement_band(-19.4), f"{boj}, June 2025 y/y (as reported by CBT News)",
                   "a measurement, largely prices charged to carmakers' own US affiliates; tradesim: Japan's route "
                   "price, validation/autos_june_2025.toml (June's rates, first year)", fixes),
        Comparison("Japan's car export price to the US, October 2025 (15% tariff), %", october, -13.0,
                   *measurement_band(-13.0), f"{boj} (autos to the US), October 2025 y/y (as reported by MNI)",
                   "as June; tradesim: validation/autos_october_2025.toml (October's rates, first year); "
                   "August's -20.5% at 27.5% agrees with June", fixes),
    ]


def fitted() -> list[Comparison]:
    """Every comparison a parameter was chosen to hit."""
    return backtest() + pass_through_checks() + japan_car_prices()


def _us_autos(res) -> tuple[float, float, float]:
    """US consumer price of autos, US purchases (volume at base prices) and US output, % (long run)."""
    prices = res.frames.prices.loc[("long run", "autos", "USA")]
    flows = res.frames.flows.xs(("long run", "autos", "USA"), level=("year", "sector", "importer"))
    return float(prices["consumer_price_pct"]), volume_change(flows, flows["base_value"]), float(prices["output_pct"])


def us_steel_import_volume(res, year="long run") -> float:
    """US steel import volume (all partners, at base prices) in ``year``, % change."""
    flows = res.frames.flows.xs((year, "steel", "USA"), level=("year", "sector", "importer")).drop("USA")
    return volume_change(flows, flows["base_value"])


def out_of_sample() -> list[Comparison]:
    """Published numbers on the 2025 tariffs that nothing was tuned to, each like for like as far as it goes."""
    autos = sim.run(SCENARIOS / "autos_232_2025.toml")
    price, _, us_output = _us_autos(autos)
    rff_price, rff_purchases, _ = _us_autos(sim.run(HERE / "autos_232_rff.toml"))
    _, june_volume = japan_route(HERE / "autos_june_2025.toml")
    yale = "The Budget Lab at Yale (March 2025), The Fiscal, Economic, and Distributional Effects of 25% Auto Tariffs"
    rff = "Linn and Spiller (2025), Import Tariffs and the Market for Vehicles, Resources for the Future 25-10"
    return [
        Comparison("25% auto tariffs: US price of motor vehicles, %", price, 13.5, *point_band(13.5), yale,
                   "average motor-vehicle price, horizon not stated, a general-equilibrium model passing parts "
                   "costs into US-made cars; tradesim: US composite price, long run, scenarios/autos_232_2025.toml"),
        Comparison("25% auto tariffs, outside North America: US price of new vehicles, %", rff_price, (4.0, 7.0),
                   4.0, 7.0, rff, "average new-vehicle price, short run (until carmakers adapt supply chains), "
                   "Canada and Mexico exempt as in validation/autos_232_rff.toml; tradesim: long run"),
        Comparison("25% auto tariffs, outside North America: US vehicle purchases, %", rff_purchases, (-6.0, -3.0),
                   -6.0, -3.0, rff, "new-vehicle sales, short run, the same scope; tradesim: US absorption at base "
                   "prices, long run"),
        Comparison("US motor vehicle and parts production after the 25% auto tariffs, %", us_output, 13.7,
                   *point_band(13.7), f"{yale} (long run, no retaliation)",
                   "long-run general equilibrium moving capital and labour into autos; here the US auto supply "
                   "elasticity is an assumed 2.0 (no backtest exists for autos) and steel is no input to cars"),
        Comparison("Japan's car export volume to the US, June 2025 (27.5% tariff), %", june_volume, 3.4,
                   *measurement_band(3.4), "Japan Ministry of Finance trade statistics, June 2025 y/y (as reported "
                   "by the Yomiuri Shimbun)", "a measurement (units); tradesim: volume on the route, "
                   "validation/autos_june_2025.toml, June's rates in the first year with Japan's exporters "
                   "absorbing the tariff (its price is fitted, its volume is not)"),
    ]


def _year_2025(res, sector: str, region: str) -> dict:
    """2025's prices row and the region's purchases (volume at base prices, %) in ``sector``."""
    prices = res.frames.prices.loc[(2025, sector, region)]
    flows = res.frames.flows.xs((2025, sector, region), level=("year", "sector", "importer"))
    return {"producer": float(prices["producer_price_pct"]), "consumer": float(prices["consumer_price_pct"]),
            "output": float(prices["output_pct"]), "purchases": volume_change(flows, flows["base_value"])}


def outcomes_2025() -> list[Comparison]:
    """What 2025 measured against the dated scenarios' 2025, with the shipped short-run path and pass-through."""
    flagship = sim.run(SCENARIOS / "steel_tariff_with_investment.toml")
    steel = _year_2025(flagship, "steel", "USA")
    imports = us_steel_import_volume(flagship, 2025)
    autos = sim.run(SCENARIOS / "autos_tariffs_2025_2030.toml")
    cars = _year_2025(autos, "autos", "USA")
    japan = autos.frames.flows.loc[(2025, "autos", "JPN", "USA")]
    steel_run = ("tradesim: scenarios/steel_tariff_with_investment.toml in 2025 (time-weighted rates, the first year "
                 "of the short-run path)")
    car_run = "tradesim: scenarios/autos_tariffs_2025_2030.toml in 2025 (time-weighted rates, first year)"
    aisi = "AISI, full-year 2025 (Census preliminary), as reported by The Chhattisgarh, February 2026"
    brought_forward = ("imports brought forward ahead of the tariff (January 2025 +20.2% y/y, AISI via American "
                       "Recycler, April 2025) are outside an annual comparative static")
    return [
        Comparison("US steel imports, total, 2025, %", imports, -12.6, *measurement_band(-12.6), aisi,
                   f"a measurement, net tons, calendar 2025 against 2024; {steel_run}; {brought_forward}"),
        Comparison("US steel imports, finished, 2025, %", imports, -17.1, *measurement_band(-17.1), aisi,
                   f"finished steel only (semi-finished slab for US mills excluded); the model has one steel "
                   f"product, so the same number as the total; {steel_run}"),
        Comparison("US raw steel production, 2025, %", steel["output"], 3.4, *measurement_band(3.4),
                   "AISI weekly raw steel production, year to 27 December 2025, as reported by SteelOrbis",
                   f"a measurement of tonnes against 2024, which also holds demand growth the model does not; "
                   f"{steel_run}"),
        Comparison("US steel prices, 2025 average, %", steel["producer"], 1.9, *measurement_band(1.9),
                   "BLS producer price index, steel mill products, 2025 average against 2024, as estimated by "
                   "IBISWorld (November 2025, partly forecast)",
                   "a weak measurement: the index fell through 2024 and rose 30.5% December to December "
                   f"(AGC); tradesim: the US producer price, {steel_run}; the buyers' composite is "
                   f"{steel['consumer']:+.1f}%"),
        Comparison("Japan's car exports to the US, units, 2025, %", float(japan["volume_pct"]), -1.7,
                   *measurement_band(-1.7), "JAMA vehicle exports to the US, 2025 (as reported by Nikkan "
                   "Jidosha Shimbun, January 2026)", f"a measurement; Japan's exporters absorb the tariff in "
                   f"2025 (fitted price), so its volume is the test; {car_run}"),
        Comparison("Japan's car exports to the US, value, 2025, %", float(japan["value_pct"]), -11.4,
                   *measurement_band(-11.4), "Japan Ministry of Finance trade statistics, 2025 (Jiji/Kyodo, "
                   "January 2026)", f"a measurement in yen (the yen's 2025 average against the dollar was close to "
                   f"2024's); tradesim: value at route prices in dollars; {car_run}"),
        Comparison("US new-vehicle prices, 2025, %", cars["consumer"], 0.8, *measurement_band(0.8),
                   "Kelley Blue Book average transaction price, December 2025 y/y (Cox Automotive, January 2026)",
                   f"not like for like: one month's transaction prices (a mix of models and incentives) against "
                   f"the year's composite price of new and imported vehicles and parts; US importers and dealers "
                   f"absorbing part of the tariff are outside the model, which passes the non-Japanese tariffs "
                   f"through; {car_run}"),
        Comparison("US new light-vehicle sales, 2025, %", cars["purchases"], 2.0, *measurement_band(2.0),
                   "Cox Automotive, 2025 US sales 16.3 million (January 2026)",
                   f"not like for like: sales against 2024, which hold demand growth and buying ahead of the "
                   f"tariff; tradesim: US purchases against a 2025 without the tariffs; {car_run}"),
    ]


LINKED = "us_japan_2024_linked"


def on_linked(path: Path):
    """The scenario file's case on the linked dataset (docs/model.md, "Vertical linkages")."""
    return sim.prepare(replace(sim.load_scenario(path).scenario, dataset=LINKED))


def linked_checks() -> list[Comparison]:
    """The same published evidence against the linked dataset, whose elasticities were not refitted."""
    with_232, without = sim.run(on_linked(HERE / "s232_2018.toml")), sim.run(on_linked(HERE / "s232_none.toml"))
    imports, prices = regime_effect(with_232, without)
    ds = with_232.case.dataset
    us, output = ds.region_index("USA"), ds.flows.sum(axis=-1)
    value = {s: float(output[k, us] * (with_232.solution.producer_price[0, k, us] * with_232.solution.output[0, k, us]
                                       - without.solution.producer_price[0, k, us] * without.solution.output[0, k, us]))
             for k, s in enumerate(ds.sectors)}
    downstream = sum(v for s, v in value.items() if s != "steel")
    autos = sim.run(on_linked(SCENARIOS / "autos_232_2025.toml")).frames.prices.loc[("long run", "autos", "USA")]
    usitc = "USITC (2023), Economic Impact of Section 232 and 301 Tariffs on U.S. Industries, pub. 5405"
    not_refitted = ("on us_japan_2024_linked, whose steel eta and US supply eps were fitted on the unlinked data "
                    "and not refitted: steel's demand is mostly derived there (89% of US absorption), so far less "
                    "elastic")
    return [
        Comparison("Section 232 (2018-21), linked: US steel import volume, %", imports, -24.0, -30.0, -18.0, usitc,
                   not_refitted),
        Comparison("Section 232 (2018-21), linked: price of US-made steel, %", float(prices["producer_price_pct"]),
                   2.4, 1.4, 3.4, usitc, not_refitted),
        Comparison("Section 232 (2018-21), linked: US steel production, %", float(prices["output_pct"]), 1.9, 0.9,
                   2.9, usitc, not_refitted),
        Comparison("Section 232, linked: downstream production value lost per dollar gained by steel",
                   downstream / value["steel"], -3.4 / 1.3, *point_band(-3.4 / 1.3),
                   f"{usitc}: downstream steel- and aluminium-using industries -3.4 bn in 2021 against steel +1.3 bn "
                   "(as reported by Export Compliance Daily, 15 March 2023)",
                   f"tradesim: US autos, aerospace and other goods {downstream:,.0f} against steel "
                   f"{value['steel']:+,.0f} (USD m, output at producer prices, the regime against none); the "
                   "USITC's includes the aluminium tariff's users and is econometric, one year"),
        Comparison("US motor vehicle and parts production after the 25% auto tariffs, linked, %",
                   float(autos["output_pct"]), 13.7, *point_band(13.7),
                   "The Budget Lab at Yale (March 2025) (long run, no retaliation)",
                   "general equilibrium moving capital and labour into autos; the links only add steel's cost "
                   "(no steel tariff here, so little), and the US auto supply elasticity is an assumed 2.0"),
    ]


def table(rows: list[Comparison]) -> str:
    """The fitted table: each row with its band and the parameter it fixed."""
    lines = ["| comparison | tradesim | published | band | within | fixed | source | what it measures |",
             "|---|---:|---:|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r.what} | {r.model:+.2f} | {r.published_text} | {r.low:+.2f} to {r.high:+.2f} | "
                     f"{'yes' if r.within else 'NO'} | {r.fixes} | {r.source} | {r.measure} |")
    return "\n".join(lines)


def out_of_sample_table(rows: list[Comparison]) -> str:
    """The out-of-sample table: each row scored against its band, misses shown as they are."""
    lines = ["| measure | tradesim | published | band | within | source | like for like? |",
             "|---|---:|---:|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r.what} | {r.model:+.1f} | {r.published_text} | {r.low:+.1f} to {r.high:+.1f} | "
                     f"{'yes' if r.within else 'NO'} | {r.source} | {r.measure} |")
    return "\n".join(lines)


def _linked_refit():
    """validation/linked_refit.py (which reads this module's backtest), loaded from beside this file."""
    if str(HERE) not in sys.path:
        sys.path.insert(0, str(HERE))
    import linked_refit

    return linked_refit


def write_docs(path: Path = HERE.parent / "docs" / "validation.md") -> None:
    """Write the three tables, with how they are made, to ``docs/validation.md``."""
    outside = out_of_sample()
    missed = sum(not r.within for r in outside)
    measured = outcomes_2025()
    missed_2025 = sum(not r.within for r in measured)
    linked = linked_checks()
    linked_refit = _linked_refit()
    missed_linked = sum(not r.within for r in linked)
    text = f"""# tradesim against published evidence

Generated by `python validation/validate.py --write-docs`. Model numbers come from the shipped
scenarios on the `us_japan_2024` dataset. Two tables, kept apart: **fitted** comparisons
(a parameter was chosen to hit them; each names it) and **out-of-sample** ones (nothing was
tuned to them). A number moved into the fitted table must say which parameter it fixed.

## Fitted

`tests/test_validation.py` requires every row within its band, and `validate.py` exits with
code 1 when one leaves it.

{table(fitted())}

- **Backtest** of the 2018-2021 Section 232 steel tariffs: `validation/s232_2018.toml` (25% on
  China, the EU and Japan; the rest of the world at 18.5%, 25% net of Brazil's quota; Canada and
  Mexico at 6.0%, their year at 25% from June 2018 to May 2019 averaged over 2018-2021; Korea at 0
  under its absolute quota) relative to `validation/s232_none.toml` (no Section 232; MFN on
  steel mill products is Free). Before this timeline was corrected (the rest of the world at
  25%, Canada and Mexico at 0) the rows were -25.39, +3.00 and +2.39: the two corrections
  nearly offset, and every row stays in its band without refitting.
- **Pass-through**: for each partner whose US tariff changes, `(T1 p - T0) / (T1 - T0)`, the share
  of the tariff change that reaches the tariff-inclusive import price, weighted by base imports;
  from `scenarios/steel_232_2025.toml` and `scenarios/autos_232_2025.toml`.
- **What was fitted**: US steel supply elasticity 0.8 with steel composite demand elasticity
  -1.0, and a supply elasticity of 20 for every other region in steel and autos (see
  `data/us_japan_2024/build.py`); with the earlier assumptions (2 everywhere, steel eta -0.6)
  US production rose 5.0% in the backtest and pass-through was 0.92 (steel) and 0.84 (autos).
- Bands are our stated tolerances: 6 points on imports, 1 point on price and production,
  0.95 to 1.0 for pass-through.

## Out-of-sample

Published numbers on the 2025 tariffs that no parameter was chosen to hit. Bands: the
source's own range where it gives one; otherwise +-{POINT_ESTIMATE_SHARE:.0%} of a model estimate
published as a point and +-{MEASUREMENT_POINTS:.0f} percentage points of a measurement. {missed} of
{len(outside)} rows miss their band; the last column says why, and what is not like for like.

{out_of_sample_table(outside)}

## Out-of-sample: what 2025 measured

The dated scenarios' 2025 — `scenarios/steel_tariff_with_investment.toml` and
`scenarios/autos_tariffs_2025_2030.toml`, at each partner's time-weighted 2025 rates, with the
dataset's short-run path (`adjustment.csv`) and Japan's fitted pass-through — against full-year
2025 figures nothing was tuned to. Bands: +-{MEASUREMENT_POINTS:.0f} percentage points. {missed_2025} of
{len(measured)} rows miss; the last column says what is and is not like for like.

{out_of_sample_table(measured)}

## On the linked dataset

`us_japan_2024_linked` adds `inputs.csv`: steel is an input to cars, aircraft and other goods
(docs/model.md, "Vertical linkages"). Its elasticities are the unlinked dataset's, fitted there
and not refitted here, so the fitted evidence is set beside it as a check, not a fit, with the
USITC's downstream finding and the Budget Lab's output figure. {missed_linked} of {len(linked)} rows miss:
with steel's demand mostly derived, a steel tariff raises the US steel price and output more
than the USITC measured, and downstream losses come out smaller than steel's gain.

{out_of_sample_table(linked)}

Can the two parameters be refitted on the linked dataset instead? `validation/linked_refit.py`
runs the backtest over a grid of steel's final-demand η and the US steel supply ε (σ and the rest
as shipped):

{linked_refit.table(linked_refit.grid())}

Only η near −8 lands in all three bands: the whole composite response the unlinked fit needed
(η = −1.0 on all of US absorption) put on final demand's 11% share. No published estimate puts a
final-demand elasticity of steel anywhere near −8. What the evidence asks for is a margin the
model lacks: the using sectors buy steel in fixed proportion to their output (input–output cost
shares, no substitution towards other materials or thinner gauges), and their output barely
moves, so derived demand hardly responds to steel's price. Putting that missing substitution
into η would make a parameter stand in for a mechanism and move every linked result with it, so
the linked dataset keeps the unlinked values and its backtest rows stay a check, not a fit.
"""
    path.write_text(text, encoding="utf-8")


def main(argv: list[str]) -> int:
    """Print both tables; 1 when a fitted row has left its band."""
    rows = fitted()
    print("Fitted (a parameter was chosen to hit these):")
    print(table(rows))
    print()
    print("Out-of-sample (nothing was tuned to these):")
    print(out_of_sample_table(out_of_sample()))
    print()
    print("Out-of-sample, what 2025 measured (the dated scenarios' 2025):")
    print(out_of_sample_table(outcomes_2025()))
    print()
    print("On the linked dataset (us_japan_2024_linked), not refitted:")
    print(out_of_sample_table(linked_checks()))
    if "--write-docs" in argv:
        write_docs()
    outside = [r.what for r in rows if not r.within]
    for what in outside:
        print(f"error: fitted row out of its band: {what}")
    return 1 if outside else 0


if __name__ == "__main__":
    import sys

    sys.exit(main(sys.argv[1:]))
