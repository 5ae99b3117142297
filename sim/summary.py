"""Text summaries of results for the command line, read from the labelled frames.

``run`` prints, per scenario: a per-year headline for each importer whose tariffs
change (imports, consumer price, output, net welfare in each sector it taxes),
welfare by region for one year, a line per region whose own demand shifts (what its
consumer surplus is and is not, and the spill-over on other buyers), the tariff-rate
quotas (if any), and the largest changes in traded flows.
``compare`` prints net welfare by scenario and region. ``show`` prints :func:`run_summary` of results read
back from files (:func:`sim.read_results`): what needs the solved case (short-run elasticities, ownership,
Monte Carlo intervals) is read from run.json and uncertainty.csv instead.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .ownership import has_returns, in_play
from .statistics import demand_shift_effects, select_period, sum_welfare_by_region
from .style import COMPONENTS, WORLD
from .tables import LONG_RUN, WELFARE_PARTS

__all__ = ["headline", "run_summary", "compare_summary", "largest_flow_changes", "adjustment_line",
           "demand_shift_notes"]

_FORMAT = {"display.width": 140, "display.max_columns": 20, "display.max_colwidth": 40}


def number_format(spec: str):
    """A float formatter for ``spec`` (``",.0f"``) that prints a value rounding to zero as 0, never "-0"."""
    def format_value(value) -> str:
        text = format(value, spec)
        return text.lstrip("-") if text.startswith("-") and not text.strip("-0.,") else text
    return format_value


def headline(res) -> pd.DataFrame:
    """Per year, for each importer and sector whose tariffs change: imports, consumer price, output, net welfare.

    Columns: ``imports %`` and ``imports change`` (from partners, world prices,
    dataset units), ``consumer price %``, ``output %``, ``net welfare`` (of the
    importer in that sector, dataset units). Index (year, importer, sector).
    """
    frames = res.frames
    markets = frames.tariffs.index.droplevel(["year", "exporter"]).unique()  # (sector, importer)
    if markets.empty:
        return pd.DataFrame()
    flows = frames.flows
    traded = flows[flows.index.get_level_values("exporter") != flows.index.get_level_values("importer")]
    imports = traded.groupby(level=["year", "sector", "importer"])[["base_value", "value"]].sum()
    prices = frames.prices.rename_axis(index={"region": "importer"})
    welfare = frames.welfare["net_welfare"].rename_axis(index={"region": "importer"})
    table = pd.DataFrame({
        "imports %": (imports["value"] / imports["base_value"] - 1) * 100,
        "imports change": imports["value"] - imports["base_value"],
    }).join(prices[["consumer_price_pct", "output_pct"]], how="left").join(welfare, how="left")
    table.columns = ["imports %", "imports change", "consumer price %", "output %", "net welfare"]
    keep = pd.MultiIndex.from_arrays([table.index.get_level_values("sector"),
                                      table.index.get_level_values("importer")]).isin(markets)
    return table[keep].reorder_levels(["year", "importer", "sector"]).sort_index(level="year", sort_remaining=False)


def largest_flow_changes(res, year, include_domestic: bool = False, count: int = 10) -> pd.DataFrame:
    """The ``count`` largest changes in flow value in ``year``; domestic shipments only if asked."""
    rows, _ = select_period(res.by_scenario.flows, res.infos, year)
    rows = rows.droplevel("scenario")
    if not include_domestic:
        rows = rows[rows.index.get_level_values("exporter") != rows.index.get_level_values("importer")]
    largest = rows.reindex(rows["value_change"].abs().sort_values(ascending=False).index).head(count)
    return largest[["base_value", "value", "value_change", "value_pct"]].reset_index()


def run_summary(res, year=None, include_domestic: bool = False) -> str:
    """The text ``run`` prints for one scenario."""
    located, year = sum_welfare_by_region(res.by_scenario.welfare, res.infos, year, world=True)
    table = located.droplevel("scenario")
    when = year  # a calendar year, or "long run"
    table.columns = [COMPONENTS[c][0] for c in WELFARE_PARTS + ["net_welfare"]]
    lines = [f"\n== {res.title} [{res.name}] ({when}) =="]
    head = headline(res)
    with pd.option_context("display.float_format", number_format(",.1f"), *_flat(_FORMAT)):
        if not head.empty:
            lines += [f"Importers whose tariffs change, by year ({res.unit}; % change from base):",
                      head.to_string(), ""]
        lines += [f"Welfare change by region, all sectors, {when} ({res.unit}):", table.to_string()]
        notes = demand_shift_notes(res.by_scenario, res.infos, year)
        if notes:
            lines += ["", f"Demand shifts, {when} ({res.unit}; every year in demand_shifts.csv):", *notes]
        short_run = _adjustment_line(res, year)
        if short_run:
            lines += ["", short_run]
        intervals = _intervals(res)
        if intervals is not None:
            lines += ["", _interval_lines(res, *intervals, year, located)]
        if _owned_abroad(res):
            lines += ["", owner_lines(res, year, located)]
        if _has_returns(res):
            lines += ["", *return_lines(res)]
        quotas = res.frames.quotas
        if len(quotas):
            shown = quotas[["volume", "fill", "in_rate", "out_rate", "rate", "regime", "quota_rent", "rent_holder"]]
            lines += [f"\nTariff-rate quotas ({res.unit} at base prices; fill = flow / volume; rates 0.25 = 25%):",
                      shown.to_string(float_format="{:,.3f}".format)]
        what = "flows (domestic shipments included)" if include_domestic else "traded flows"
        lines += [f"\nLargest changes in {what}, {when} ({res.unit} at world prices; value_pct in %):",
                  largest_flow_changes(res, year, include_domestic).to_string(index=False)]
    return "\n".join(lines)


def compare_summary(comparison, year=None) -> str:
    """The text ``compare`` prints: net welfare, all sectors, scenario × region (and World)."""
    table, year = sum_welfare_by_region(comparison.by_scenario.welfare, comparison.infos, year, world=True)
    regions = list(next(iter(comparison.infos.values())).regions) + [WORLD]
    table = table["net_welfare"].unstack("region").reindex(index=comparison.names, columns=regions)
    when = year  # "long run" when every scenario is long-run
    against = f", relative to '{comparison.baseline}'" if comparison.baseline else ""
    with pd.option_context("display.float_format", number_format(",.0f"), *_flat(_FORMAT)):
        return "\n".join([f"\nNet welfare change, all sectors, {when} ({comparison.unit}){against}:",
                          table.to_string()])


def adjustment_line(case, year) -> str:
    """Which elasticities ``year`` solves below their long run (docs/model.md, "Short-run adjustment"), or ""."""
    shocks = case.shocks
    if shocks.adjustment is None or year not in shocks.years:
        return ""
    y = shocks.years.index(year)
    f = shocks.adjustment
    return _short_run_text(case.dataset.sectors, case.dataset.regions,
                           {name: f[name][y] for name in ("sigma", "eta", "eps")}, year)


def _record(res) -> dict | None:
    """The run record (run.json's entry) of results read back from files (:func:`sim.read_results`), which have
    no solved case; None for a fresh run."""
    return getattr(res, "record", None)


def _adjustment_line(res, year) -> str:
    """:func:`adjustment_line` of a fresh run, or of results read back: the shares of the long run are run.json's
    elasticities of ``year`` over its long-run elasticities."""
    record = _record(res)
    if record is None:
        return adjustment_line(res.case, year)
    by_year = {entry["year"]: entry["sectors"] for entry in record.get("elasticities_by_year") or []}
    if year not in by_year:
        return ""
    long_run, now = record["elasticities"], by_year[year]
    sectors, regions = list(long_run), list(res.info.regions)
    share = {name: np.array([_share(now[s][name], long_run[s][name]) for s in sectors]) for name in ("sigma", "eta")}
    share["eps"] = np.array([[_share(now[s]["eps"][r], long_run[s]["eps"][r]) for r in regions] for s in sectors])
    return _short_run_text(sectors, regions, share, year)


def _share(value, long_run) -> float:
    """``value`` as a share of ``long_run`` (elasticities as run.json writes them; 1 where they are equal)."""
    value, long_run = float(value), float(long_run)
    return 1.0 if value == long_run else value / long_run


def _short_run_text(sectors, regions, f, year) -> str:
    """The sentence of :func:`adjustment_line` from one year's shares of the long run, ``f[name]``: (K,) for sigma
    and eta, (K, N) for eps."""
    parts = [f"{sector} sigma x{f['sigma'][k]:.2f}" for k, sector in enumerate(sectors) if f["sigma"][k] < 1]
    parts += [f"{sector} eta x{f['eta'][k]:.2f}" for k, sector in enumerate(sectors) if f["eta"][k] < 1]
    parts += [f"{sector} eps {region} x{f['eps'][k, r]:.2f}" for k, sector in enumerate(sectors)
              for r, region in enumerate(regions) if f["eps"][k, r] < 1]
    if not parts:
        return f"Every elasticity is at its long run in {year}."
    return (f"Short-run elasticities in {year}, as shares of the long run (docs/model.md, \"Short-run "
            f"adjustment\"): {', '.join(parts)}.")


def _owned_abroad(res) -> bool:
    """:func:`~sim.ownership.in_play`, of a fresh run's case or of the run record of results read back: the
    dataset's ownership.csv, an ``[[ownership]]`` block, or an investment whose investor is not its host."""
    record = _record(res)
    if record is None:
        return in_play(res.case)
    scenario = record["scenario"]
    return ("ownership.csv" in record["dataset"]["files_sha256"] or bool(scenario.get("ownership"))
            or any(block.get("investor") not in (None, block.get("host")) for block in scenario.get("investment", [])))


def _has_returns(res) -> bool:
    """:func:`~sim.ownership.has_returns` of a fresh run; results read back have returns where their folder had
    investment_returns.csv (written exactly then)."""
    return has_returns(res.case) if _record(res) is None else len(res.frames.returns) > 0


def owner_lines(res, year, located=None) -> str:
    """Net welfare, all sectors, by location and by owner (producer surplus credited to its owners), and World.

    ``located``: :func:`~sim.statistics.sum_welfare_by_region` of the welfare table for ``year`` with World, if
    the caller has it already.
    """
    if located is None:
        located, _ = sum_welfare_by_region(res.by_scenario.welfare, res.infos, year, world=True)
    owned, _ = sum_welfare_by_region(res.by_scenario.owners, res.infos, year, world=True)
    table = pd.DataFrame({"by location": located.droplevel("scenario")["net_welfare"],
                          "by owner": owned.droplevel("scenario")["net_welfare"],
                          "moved": owned.droplevel("scenario")["ownership_transfer"]})
    return (f"Net welfare by location and by owner (producer surplus credited to its owners: welfare_by_owner.csv), "
            f"all sectors, {year} ({res.unit}):\n" + table.to_string(float_format=number_format(",.0f")))


def return_lines(res) -> list[str]:
    """One line per investment with returns: operating profit, present value, NPV (90% interval with draws), payback."""
    lines = [f"The investor's returns ({res.unit}; investment_returns.csv):"]
    for _, r in res.frames.returns.iterrows():
        band = (f" (90% interval {r['npv_p05']:+,.0f} to {r['npv_p95']:+,.0f})" if "npv_p05" in r.index else "")
        payback = (f"pays back in {r['payback_year']:.0f}" if r["payback_year"] == r["payback_year"] else
                   f"pays back in year {r['payback_years']:.0f} of its life" if r["payback_years"] == r["payback_years"]
                   else "does not pay back within its life")
        lines.append(f"  {r.name} ({r['investor']} in {r['host']}): {_last_profit(r)} at a "
                     f"{_percent(r['operating_margin'])} margin; present value over {r['life_years']:.0f} years at "
                     f"{_percent(r['discount_rate'])} to {_start(r)}: {r['present_value']:,.0f}; NPV after the "
                     f"{r['amount']:,.0f} cost {r['npv']:+,.0f}{band}; {payback}")
    return lines


def demand_shift_notes(frames, infos, year, minus: str = "-") -> list[str]:
    """One sentence per scenario, sector and region whose own demand shifts in ``year`` (docs/model.md, "Welfare").

    It says that the region's consumer surplus is the price effect on its own purchases, that
    the value of the extra purchases is outside the model, and what the other buyers of the
    sector gain or lose through the world price (:func:`~sim.statistics.demand_shift_effects`).
    The scenario is named when ``frames`` holds several; ``minus`` is the minus sign written.
    Empty without demand shifts in ``year``.
    """
    effects = demand_shift_effects(frames)
    several = len(infos) > 1 or len(effects.index.unique("scenario")) > 1
    return [f"{name}: " * several + _demand_shift_note(row, region, sector, minus)
            for (name, period, sector, region), row in effects.iterrows()
            if period == (LONG_RUN if infos[name].static else year)]


def _demand_shift_note(row, region: str, sector: str, minus: str) -> str:
    """The sentence of :func:`demand_shift_notes` for one row of :func:`~sim.statistics.demand_shift_effects`."""
    more, other = row["demand_shift"] > 0, row["other_buyers_consumer_surplus"]
    spill = ("Other buyers' loss from the higher world price" if other < 0 else
             "Other buyers' gain from the lower world price" if other > 0 else "Other buyers' change")
    own, shift, others = (f"{value:+,.{digits}f}".replace("-", minus) for value, digits in
                          ((row["consumer_surplus"], 0), (100 * row["demand_shift"], 1), (other, 0)))
    forgone = "those purchases" if more else "the purchases forgone"
    return (f"{region} {sector}: consumer surplus {own} is the price effect of {region}'s own "
            f"{'extra' if more else 'reduced'} purchases (demand {shift}% at given prices); the value of {forgone} "
            f"is outside the model. {spill}: {others}.")


def _percent(share: float) -> str:
    """``0.08`` → ``8%``, ``0.085`` → ``8.5%``: a rate as the scenario wrote it, not rounded to a whole percent."""
    return f"{share * 100:.3g}%"


def _start(row) -> str:
    """The year the present value is taken at: the start year, or "its start" in a long-run scenario."""
    return "its start" if row["start"] == LONG_RUN else str(row["start"])


def _last_profit(row) -> str:
    """The last year's operating profit, or why there is none (the life lies outside the scenario's last year)."""
    profit = row["operating_profit_last_year"]
    if profit == profit:
        return f"operating profit {profit:,.0f} in the last year"
    start = int(row["start"])
    return f"no operating profit in the last year (outside its life, {start}-{start + int(row['life_years']) - 1})"


def _flat(options: dict) -> list:
    return [item for pair in options.items() for item in pair]


def _intervals(res):
    """``(intervals, draws, failed, seed)`` of a run's Monte Carlo, or None without one.

    ``intervals`` holds p05 and p95 of net welfare, all sectors, by (year, region) with World; of results read
    back they are uncertainty.csv's rows of that quantity, and the counts and seed are run.json's.
    """
    record = _record(res)
    if record is None:
        mc = getattr(res, "uncertainty", None)
        return None if mc is None else (mc.intervals, mc.draws, len(mc.failed), mc.seed)
    summary, drawn = getattr(res, "uncertainty_summary", None), record.get("uncertainty")
    if summary is None or not drawn:
        return None
    rows = summary[(summary["table"] == "welfare") & (summary["sector"] == "all")
                   & (summary["quantity"] == "net_welfare")]
    return rows.set_index(["year", "region"])[["p05", "p95"]], drawn["draws"], drawn["failed_draws"], drawn["seed"]


def _interval_lines(res, intervals, draws, failed, seed, year, located) -> str:
    """Net welfare, all sectors, with its 90% interval over the draws, by region and World (``located``: the
    welfare table summed for ``year`` with World, as :func:`owner_lines` takes it)."""
    band = intervals.xs(year, level="year")
    central = located.droplevel("scenario")["net_welfare"]
    table = pd.DataFrame({"net welfare": central, "p05": band["p05"], "p95": band["p95"]}).reindex(central.index)
    left_out = f"; {failed} failed draws left out" if failed else ""
    head = (f"Net welfare, all sectors, {year} ({res.unit}): central run and 90% interval over "
            f"{draws - failed:,} draws (seed {seed}{left_out}); uncertainty.csv has every table:")
    return head + "\n" + table.to_string(float_format=number_format(",.0f"))
