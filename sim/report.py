"""report.html: one self-contained page that shares a run with readers who will not run Python.

The page holds the scenario's description and assumptions (read from the run record, so a
fresh run and a folder read back by :func:`sim.read_results` give the same page), the
headline tables, every plot the run draws (PNG, inline as base64), the Monte Carlo
intervals, the caveats that apply to the scenario (docs/model.md, "Limits") and the run
record (run.json) as text. It loads nothing from anywhere: no external style sheet, script,
font, image or link; a Content-Security-Policy says so to the browser.

Numbers are never recomputed here: the tables come from the functions the command line
prints with (:mod:`sim.summary`, :mod:`sim.statistics`) and the rows of the CSV files; each
number cell carries the unrounded value (``data-value``, written as the CSVs write it,
``%.10g``). Every text from a scenario or dataset is escaped (:func:`sim.escape.html_text`).
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import os
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

from . import plots as figures
from .errors import InputError, Problem
from .escape import html_paragraphs, html_text
from .excel import PERCENT, RATES
from .statistics import net_welfare_path, select_period, sum_welfare_by_region
from .style import COMPONENTS, MEASURES, WORLD
from .summary import demand_shift_notes, headline, largest_flow_changes
from .tables import WELFARE_PARTS
from .version import __version__

__all__ = ["report_html", "write_report", "report_into", "check_path", "caveats", "REPORT_FILE", "GENERATOR"]

#: The file name ``run --report`` and ``compare --report`` write into the results folder.
REPORT_FILE = "report.html"
#: The generator named in every report's head: a file that has it was written by tradesim and may be replaced.
GENERATOR = "tradesim report"
_MARKER = f'<meta name="generator" content="{GENERATOR}">'
#: A scenario block with more keys than this is shown one row per key.
WIDEST = 8
#: Columns of investment_returns.csv the report shows (the file has the rest; the inputs are under "Assumptions").
RETURN_COLUMNS = ["investment", "amount", "start", "present_value", "npv", "npv_p05", "npv_p95", "payback_year"]
#: Rows of the largest flow changes shown.
LARGEST_FLOWS = 10
#: Changes at most this large (percent, dataset units) count as none when choosing sectors to show.
CHANGE_EPS = 1e-9

#: What a solution method leaves out, by the method run.json records.
METHOD_CAVEATS = {"gsim-linear": (
    "Solved with the linearised GSIM (Francois and Hall), for parity with published GSIM studies: a first-order "
    "approximation that drifts from the exact model as tariff changes grow, and keeps the base year's quotas at "
    "their base rates (docs/model.md, \"Linearised GSIM\").")}

#: The scenario's blocks shown as tables, with their captions, in page order.
ASSUMPTIONS = (("tariff", "Tariffs ([[tariff]]; rates as shares, 0.25 = 25%)"),
               ("quota", "Tariff-rate quotas ([[quota]])"), ("investment", "Investments ([[investment]])"),
               ("ownership", "Ownership ([[ownership]])"), ("demand_shift", "Demand shifts ([[demand_shift]])"),
               ("pass_through", "Exporters' pass-through ([[pass_through]])"),
               ("adjustment", "Short-run adjustment ([[adjustment]])"))

#: What each plot shows, by file name (without a scenario prefix), in page order.
PLOT_CAPTIONS = {
    "welfare": "Welfare change by region, all sectors, by component",
    "welfare_path": "Net welfare over time",
    "welfare_by_owner": "Net welfare by location and by owner",
    "imports": "Imports by partner",
    "prices": "Prices and output by region",
    "sensitivity": "Sensitivity: one elasticity at a time",
}

_STYLE = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,Helvetica,Arial,sans-serif;color:#1d1d1f;
margin:0 auto;padding:24px 32px 48px;max-width:1180px;line-height:1.45;font-size:15px}
h1{font-size:26px;margin:0 0 6px}h2{font-size:20px;margin:34px 0 10px;border-bottom:2px solid #ddd;
padding-bottom:4px}h3{font-size:16px;margin:22px 0 6px}
.meta{color:#555;margin:2px 0}.note{color:#555;font-size:13px}
nav{margin:14px 0;font-size:14px}nav a{margin-right:14px;color:#1a5fb4;text-decoration:none}
.scroll{overflow-x:auto;margin:0 0 14px}
table{border-collapse:collapse;font-size:13px}p.caption{font-weight:600;margin:16px 0 4px;font-size:14px}
th,td{padding:3px 9px;border-bottom:1px solid #e3e3e3;white-space:nowrap}
th{background:#f3f4f6;text-align:left;font-weight:600}td.num{text-align:right;font-variant-numeric:tabular-nums}
tr.world td{font-weight:600;border-top:2px solid #bbb}tbody tr:nth-child(even){background:#fafafa}
figure{margin:18px 0 26px}figure img{display:block;max-width:100%;height:auto;border:1px solid #eee}
figcaption{color:#444;font-size:13px;margin-top:4px}
details{margin:8px 0}summary{cursor:pointer;color:#1a5fb4}
pre{background:#f6f8fa;border:1px solid #e3e3e3;padding:10px;font-size:12px;white-space:pre-wrap;
overflow-wrap:anywhere}
ul.caveats li{margin:6px 0}dl.record{display:grid;grid-template-columns:max-content 1fr;gap:2px 14px;
font-size:13px}dl.record dt{font-weight:600}dl.record dd{margin:0;overflow-wrap:anywhere}
@media print{nav,details summary{display:none}figure{break-inside:avoid}}
"""

#: Marks on <html> after load how many images drew (``data-images-rendered="5/5"``): what a reader's browser saw.
_SCRIPT = ('addEventListener("load",function(){var i=[].slice.call(document.images);'
           'document.documentElement.setAttribute("data-images-rendered",i.filter(function(x){'
           'return x.complete&&x.naturalWidth>0}).length+"/"+i.length)});')


def _csp_hash(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode("ascii") + "'"


# --------------------------------------------------------------------------- entry points

def write_report(outcome, path, record: dict, year=None, option: str = "path") -> Path:
    """Write the report of a :class:`~sim.results.Results` or :class:`~sim.comparison.Comparison` to ``path``.

    The plots are drawn as ``run`` draws them; ``record`` is what run.json holds. ``path`` must end in
    ``.html``; an existing file is replaced only if it is a report tradesim wrote, and only whole
    (written beside it, then renamed).

    Raises
    ------
    InputError
        ``path`` is not an ``.html`` name, is a folder, or is a file tradesim did not write.
    ValueError
        ``year`` is not a period of the results.
    """
    path = check_path(path, option)
    html = report_html(outcome, record, _drawn_plots(outcome), year=year)
    _write_file(path, html, option)
    return path


def report_into(folder: Path, outcome, record: dict, plots_folder: Path | None, year=None,
                sensitivities=None) -> Path:
    """Write :data:`REPORT_FILE` into a run's staging ``folder`` (``run --report``, ``compare --report``).

    ``outcome`` is the list of Results a run solved or its Comparison; ``record`` what run.json holds;
    ``plots_folder`` the PNGs the run wrote (None with ``--no-plots``: the report then has none).
    """
    runs = outcome if isinstance(outcome, list | tuple) else [outcome]
    plots = _plots_in(plots_folder, [r.name for r in runs if hasattr(r, "frames")]) if plots_folder else None
    path = folder / REPORT_FILE
    path.write_text(report_html(outcome, record, plots, year=year, sensitivities=sensitivities), encoding="utf-8")
    return path


def report_html(outcome, record: dict, plots: list[tuple[str, bytes]] | None, year=None,
                sensitivities=None) -> str:
    """The page: ``outcome`` (Results, a list of them, or a Comparison), run.json's ``record``, PNGs by file name.

    ``plots`` None says the run drew none (``--no-plots``).
    """
    parts = outcome if isinstance(outcome, list | tuple) else [outcome]
    comparison = getattr(parts[0], "baseline", None) is not None or hasattr(parts[0], "results")
    title = _page_title(parts, comparison)
    sections = [("scenario", "Scenario" if len(record["scenarios"]) == 1 else "Scenarios",
                 _scenarios_section(record)),
                ("results", "Results", "".join(_results_section(p, year, len(parts) > 1) for p in parts))]
    intervals = "".join(_intervals_section(p, year) for p in parts)
    if intervals:
        sections.append(("intervals", "Monte Carlo intervals", intervals))
    if sensitivities:
        sections.append(("sensitivity", "Sensitivity", "".join(_sensitivity_section(s) for s in sensitivities)))
    sections += [("plots", "Plots", _plots_section(plots)),
                 ("assumptions", "Assumptions", _assumptions_section(record)),
                 ("caveats", "Caveats", _caveats_section(record, bool(sensitivities))),
                 ("record", "Run record", _record_section(record))]
    nav = "".join(f'<a href="#{key}">{name}</a>' for key, name, _ in sections)
    body = "".join(f'<section id="{key}"><h2>{name}</h2>{html}</section>' for key, name, html in sections)
    csp = (f"default-src 'none'; img-src data:; style-src {_csp_hash(_STYLE)}; script-src {_csp_hash(_SCRIPT)}; "
           "base-uri 'none'; form-action 'none'")
    return ("<!DOCTYPE html>\n"
            f'<html lang="en">\n<head>\n{_MARKER}\n<meta charset="utf-8">\n'
            f'<meta http-equiv="Content-Security-Policy" content="{csp}">\n'
            '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
            f"<title>{html_text(title)}</title>\n<style>{_STYLE}</style>\n<script>{_SCRIPT}</script>\n</head>\n<body>\n"
            f"<header><h1>{html_text(title)}</h1>{_meta_lines(parts, record)}<nav>{nav}</nav></header>\n"
            f"{body}\n</body>\n</html>\n")


# --------------------------------------------------------------------------- head

def _page_title(parts, comparison: bool) -> str:
    if comparison:
        c = parts[0]
        against = f", relative to {c.baseline}" if c.baseline else ""
        if len(c.infos) == 1:
            return next(iter(c.infos.values())).title + against
        return f"Comparison of {len(c.infos)} scenarios{against}"
    if len(parts) == 1:
        return parts[0].title
    return f"{len(parts)} scenarios: " + ", ".join(p.name for p in parts)


def _meta_lines(parts, record: dict) -> str:
    info = next(iter(parts[0].infos.values()))
    periods = "; ".join(f"{name}: {', '.join(str(y) for y in i.years)}" for p in parts for name, i in p.infos.items())
    lines = [f"Dataset {info.dataset_title} ({info.dataset}), base year {info.base_year}; values in {info.unit} at "
             "world prices, welfare as changes from the base year, *_pct in %",
             f"Periods: {periods}",
             f"tradesim {record.get('version', __version__)}, run {record.get('timestamp', '')} (UTC); the tables "
             "hold the numbers of the run's CSV files"]
    return "".join(f'<p class="meta">{html_text(line)}</p>' for line in lines)


# --------------------------------------------------------------------------- scenario and assumptions

def _scenarios_section(record: dict) -> str:
    return "".join(_scenario_html(entry) for entry in record["scenarios"])


def _assumptions_section(record: dict) -> str:
    """Each scenario's inputs as tables; with several scenarios, each in a closed <details>."""
    entries = record["scenarios"]
    if len(entries) == 1:
        return _assumption_tables(entries[0], entries[0].get("scenario") or {})
    return "".join(f"<details><summary>{html_text(e['title'])} [{html_text(e['name'])}]</summary>"
                   f"{_assumption_tables(e, e.get('scenario') or {})}</details>" for e in entries)


def _scenario_html(entry: dict) -> str:
    """Title, description, file, method, dataset and periods of one scenario (its inputs: "Assumptions")."""
    table = entry.get("scenario") or {}
    ds = entry["dataset"]
    label = f" (shown as “{table['label']}”)" if table.get("label") else ""
    out = [f"<h3>{html_text(entry['title'])} <code>[{html_text(entry['name'])}]</code>{html_text(label)}</h3>",
           html_paragraphs(table.get("description", "")) or '<p class="note">The scenario has no description.</p>',
           '<p class="meta">' + html_text(
               f"File {entry.get('file') or '(built in Python)'}; method {entry['method']}; dataset {ds['title']} "
               f"({ds['name']}, {ds['unit']}, base year {ds['base_year']}); periods "
               f"{', '.join(str(y) for y in entry['years'])}") + "</p>"]
    return "".join(out)


def _assumption_tables(entry: dict, table: dict) -> str:
    """The scenario's blocks, the elasticities solved with and the tariffs in force, as tables."""
    out = []
    for key, caption in ASSUMPTIONS:
        rows = table.get(key) or []
        if rows:
            frame = pd.DataFrame([{k: _cell_text(v) for k, v in r.items()} for r in rows]).fillna("")
            wide = len(frame.columns) > WIDEST
            if wide:  # one column per block, one row per key: fits the page
                frame = frame.T.rename_axis("key").set_axis([f"{key} {n + 1}" for n in range(len(frame))], axis=1)
            out.append(_table(frame, key, caption, kinds="text", index=wide))
    overrides = table.get("elasticities") or {}
    if overrides:
        out.append(_table(pd.DataFrame([{"sector": s, **{k: _cell_text(v) for k, v in o.items()}}
                                        for s, o in overrides.items()]), "elasticity_overrides",
                          "Elasticities set by the scenario ([elasticities])", kinds="text"))
    out.append(_elasticities_table(entry))
    out.append(_tariffs_in_force(entry))
    return "".join(out)


def _cell_text(value) -> str:
    """A scenario value as its file writes it (lists joined, dicts as key = value)."""
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    if isinstance(value, dict):
        return ", ".join(f"{k} = {_cell_text(v)}" for k, v in value.items())
    return str(value)


def _elasticities_table(entry: dict) -> str:
    """The elasticities the run solved with (run.json ``elasticities``): sigma, eta, eps per region."""
    rows = [{"sector": s, "sigma": e["sigma"], "eta": e["eta"],
             **{f"eps {r}": (np.inf if v == "inf" else -np.inf if v == "-inf" else v) for r, v in e["eps"].items()}}
            for s, e in entry["elasticities"].items()]
    note = " (long run; the short-run path is in run.json, elasticities_by_year)" if entry.get(
        "elasticities_by_year") else ""
    return _table(pd.DataFrame(rows), "elasticities", "Elasticities used: Armington sigma, demand eta, supply eps "
                  f"by region{note}", kinds={"*": "plain"})


def _tariffs_in_force(entry: dict) -> str:
    """Each tariff cell that differs from base in some period: base rate, then the rate per period, in %."""
    cells: dict = {}
    years = [str(e["year"]) for e in entry["shocks_in_force"]]
    for e in entry["shocks_in_force"]:
        for t in e.get("tariffs", []):
            row = cells.setdefault((t["sector"], t["importer"], t["exporter"]), {"base": 100 * t["base_rate"]})
            row[str(e["year"])] = 100 * t["rate"]
    if not cells:
        return '<p class="note">No tariff differs from the base year\'s.</p>'
    frame = pd.DataFrame([{"sector": s, "importer": i, "exporter": x, "base rate %": r["base"],
                           **{f"{y} %": r.get(y, r["base"]) for y in years}} for (s, i, x), r in cells.items()])
    return _table(frame, "tariffs_in_force", "Tariffs in force, % (cells that differ from the base year in some "
                  "period; run.json shocks_in_force)", kinds={"*": "rate_pct"})


# --------------------------------------------------------------------------- results

def _results_section(part, year, heading: bool = False) -> str:
    """The headline tables of one result or comparison; ``heading`` names it (a run of several scenarios)."""
    several = len(part.infos) > 1
    against = f", relative to {part.baseline}" if getattr(part, "baseline", None) else ""
    table, when = sum_welfare_by_region(part.by_scenario.welfare, part.infos, year, world=True)
    out = [f"<h3>{html_text(part.title)} <code>[{html_text(part.name)}]</code></h3>" if heading else ""]
    if several:
        out.append(_table(part.headline(when), "net_welfare_by_scenario",
                          f"Net welfare change, all sectors, {when} ({part.unit}){against}: scenario by region",
                          index=True))
    shown = table if several else table.droplevel("scenario")
    shown = shown[WELFARE_PARTS + ["net_welfare"]].rename(columns={c: COMPONENTS[c][0] for c in COMPONENTS})
    out.append(_table(shown, "welfare_by_region", f"Welfare change by region, all sectors, {when} ({part.unit})"
                      f"{against}: welfare.csv summed over sectors", index=True))
    if any(not i.static and len(i.years) > 1 for i in part.infos.values()):
        path = net_welfare_path(part.by_scenario.welfare)
        out.append(_table(path if several else path.droplevel("scenario"), "net_welfare_path",
                          f"Net welfare change by year, all sectors ({part.unit}){against}", index=True))
    one_run = hasattr(part, "frames")  # a Results, not a comparison
    if one_run:
        out.append(_importer_headline(part))
    out.append(_prices_table(part, when, against))
    if one_run:
        flows = largest_flow_changes(part, when, count=LARGEST_FLOWS)
        out.append(_table(flows, "largest_flows", f"Largest changes in traded flows, {when} ({part.unit} at world "
                          "prices; value_pct in %): rows of flows.csv"))
    out.append(_extras(part, when, against))
    return "".join(out)


def _importer_headline(res) -> str:
    table = headline(res)
    if table.empty:
        return ""
    return _table(table, "importer_headline", f"Importers whose tariffs change, by year ({res.unit}; % change from "
                  "base)", index=True, kinds={"imports change": "money", "net welfare": "money", "*": "pct"})


def _prices_table(part, when, against: str) -> str:
    """Rows of prices.csv for ``when`` in the sectors where some price or output moves."""
    rows, _ = select_period(part.by_scenario.prices, part.infos, when)
    moved = rows.abs().max(axis=1).groupby(level="sector", sort=False).max()
    keep = rows.index.get_level_values("sector").isin(moved[moved > CHANGE_EPS].index)
    if not keep.any():
        return '<p class="note">No price or output moves.</p>'
    table = rows[keep].reset_index()
    if len(part.infos) == 1:
        table = table.drop(columns="scenario")
    table.insert(0 if len(part.infos) == 1 else 1, "year", when)
    return _table(table, "prices", f"Prices and output, {when} (% change{against or ' from base'}): rows of "
                  "prices.csv in the sectors that move")


def _extras(part, when, against: str) -> str:
    """Quotas, investors' returns, welfare by owner and demand-shift notes, where the run has them."""
    frames, out = part.by_scenario, []
    quotas, _ = select_period(frames.quotas, part.infos, when) if len(frames.quotas) else (frames.quotas, when)
    if len(quotas):
        out.append(_table(quotas.reset_index(), "quotas", f"Tariff-rate quotas, {when} ({part.unit} at base prices; "
                          "fill = flow / volume; rates 0.25 = 25%): rows of quotas.csv"))
    if len(frames.returns):
        returns = frames.returns.reset_index()
        columns = [c for c in ["scenario"] * (len(part.infos) > 1) + RETURN_COLUMNS if c in returns.columns]
        out.append(_table(returns[columns], "investment_returns", f"The investors' returns "
                          f"({part.unit}; present value at the start, NPV after the amount invested): columns of "
                          "investment_returns.csv"))
    if (frames.owners["ownership_transfer"].abs() > CHANGE_EPS).any():
        owned, _ = sum_welfare_by_region(frames.owners, part.infos, when, world=True)
        located, _ = sum_welfare_by_region(frames.welfare, part.infos, when, world=True)
        table = pd.DataFrame({"by location": located["net_welfare"], "by owner": owned["net_welfare"],
                              "moved": owned["ownership_transfer"]})
        out.append(_table(table if len(part.infos) > 1 else table.droplevel("scenario"), "welfare_by_owner",
                          f"Net welfare by location and by owner, all sectors, {when} ({part.unit}){against}: "
                          "welfare_by_owner.csv summed over sectors", index=True))
    notes = demand_shift_notes(frames, part.infos, when)
    if notes:
        out.append(f"<h3>Demand shifts, {html_text(when)}</h3>" + "".join(f"<p>{html_text(n)}</p>" for n in notes))
    return "".join(out)


# --------------------------------------------------------------------------- Monte Carlo, sensitivity

def _summaries(part) -> list[pd.DataFrame]:
    """uncertainty.csv's rows of ``part``: the runs' Monte Carlo summaries (a comparison's relative to its baseline)."""
    if hasattr(part, "results"):
        return [mc.summary for mc in part.uncertainty.values()]
    mc = getattr(part, "uncertainty", None)
    if mc is not None:
        return [mc.summary]
    summary = getattr(part, "uncertainty_summary", None)  # results read back from a folder
    return [summary] if summary is not None else []


def _intervals_section(part, year) -> str:
    summaries = _summaries(part)
    if not summaries:
        return ""
    summary = pd.concat(summaries, ignore_index=True)
    rows = summary[(summary["table"] == "welfare") & (summary["sector"] == "all")
                   & (summary["quantity"] == "net_welfare")]
    rows = rows[["scenario", "year", "region", "central", "mean", "p05", "p50", "p95"]]
    if len(part.infos) == 1:
        rows = rows.drop(columns="scenario")
    _, when = sum_welfare_by_region(part.by_scenario.welfare, part.infos, year)
    draws = _draws_text(part)
    now = rows[rows["year"].astype(str) == str(when)]
    out = [f"<p>{html_text(draws)}</p>",
           _table(now, "intervals", f"Net welfare, all sectors, {when} ({part.unit}): central run, mean and "
                  "percentiles over the draws (p05 to p95 is the 90% interval): rows of uncertainty.csv")]
    if len(now) < len(rows):
        out.append("<details><summary>Every period</summary>" + _table(
            rows, "intervals_all", f"Net welfare, all sectors, every period ({part.unit}): rows of uncertainty.csv")
            + "</details>")
    return "".join(out)


def _draws_text(part) -> str:
    runs = getattr(part, "results", None) or {part.name: part}
    texts = []
    for name, res in runs.items():
        mc = getattr(res, "uncertainty", None)
        if mc is not None:
            failed = f", {len(mc.failed)} failed draws left out" if len(mc.failed) else ""
            texts.append(f"{name}: {mc.draws:,} draws, seed {mc.seed}{failed}")
        elif getattr(res, "record", None) and res.record.get("uncertainty"):
            u = res.record["uncertainty"]
            texts.append(f"{name}: {u['draws']:,} draws, seed {u['seed']}, {u['failed_draws']} failed")
    against = (" Relative to the baseline draw by draw (paired differences, not differences of percentiles)."
               if getattr(part, "baseline", None) else "")
    return ("Monte Carlo over the elasticities: " + "; ".join(texts) + "." + against +
            " uncertainty.csv has every table's percentiles.")


def _sensitivity_section(result) -> str:
    shown = result.shown[["sector", "parameter", "central", "low", "high", "net_welfare_low", "net_welfare_high",
                          "swing"]]
    still = (f"<p class=\"note\">No effect (sensitivity.csv has them): {html_text(', '.join(result.without_effect))}"
             "</p>" if result.without_effect else "")
    return _table(shown, "sensitivity", f"{result.region}'s net welfare, all sectors, {result.year} ({result.unit}): "
                  f"each elasticity times (1 -/+ {result.cv:g}), largest swing first: rows of sensitivity.csv",
                  kinds={"central": "plain", "low": "plain", "high": "plain", "*": "money"}) + still


# --------------------------------------------------------------------------- plots

def _plots_section(plots) -> str:
    if plots is None:
        return '<p class="note">The run drew no plots (--no-plots).</p>'
    if not plots:
        return '<p class="note">No plots.</p>'
    out = []
    for name, data in plots:
        caption = _plot_caption(name)
        out.append(f'<figure><img src="data:image/png;base64,{base64.b64encode(data).decode("ascii")}" '
                   f'alt="{html_text(caption)}"><figcaption>{html_text(caption)} (plots/{html_text(name)})'
                   "</figcaption></figure>")
    return "".join(out)


def _plot_kind(name: str) -> tuple[str, str, str]:
    """(scenario prefix, kind, detail) of a plot file: ``a_imports_USA.png`` is ``("a_", "imports", "USA")``."""
    stem = name.removesuffix(".png")
    if "imports_" in stem:
        prefix, detail = stem.rsplit("imports_", 1)
        return prefix, "imports", detail
    for kind in sorted(PLOT_CAPTIONS, key=len, reverse=True):
        if stem == kind or stem.endswith("_" + kind):
            return stem[: len(stem) - len(kind)], kind, ""
    return "", "", stem


def _plot_caption(name: str) -> str:
    prefix, kind, detail = _plot_kind(name)
    what = f"Imports of {detail} by partner" if kind == "imports" else PLOT_CAPTIONS.get(kind, detail)
    return f"{prefix[:-1]}: {what}" if prefix else what


def _plot_order(name: str, scenarios: list[str]) -> tuple:
    """Scenario by scenario in run order, then :data:`PLOT_CAPTIONS`' order."""
    prefix, kind, detail = _plot_kind(name)
    kinds = list(PLOT_CAPTIONS)
    run = scenarios.index(prefix[:-1]) if prefix[:-1] in scenarios else -1
    return run, prefix, kinds.index(kind) if kind in kinds else len(kinds), detail


def _plots_in(folder: Path, scenarios: list[str] = ()) -> list[tuple[str, bytes]]:
    names = sorted((p.name for p in folder.glob("*.png")), key=lambda n: _plot_order(n, list(scenarios)))
    return [(name, (folder / name).read_bytes()) for name in names]


def _drawn_plots(outcome) -> list[tuple[str, bytes]]:
    """The standard plots of ``outcome`` as ``run`` (or ``compare``) draws them, as PNG bytes."""
    with tempfile.TemporaryDirectory(prefix="tradesim-report-") as tmp:
        if hasattr(outcome, "results"):
            figures.write_comparison_plots(outcome, Path(tmp))
        else:
            figures.write_plots(outcome, Path(tmp))
        return _plots_in(Path(tmp))


# --------------------------------------------------------------------------- caveats

def _caveats_section(record: dict, sensitivity: bool) -> str:
    items = caveats(record, sensitivity)
    return ('<p>What the model leaves out, as it applies to this run (docs/model.md, "Limits"; the checks against '
            "published evidence are in docs/validation.md of the tradesim source):</p>"
            '<ul class="caveats">' + "".join(f"<li>{html_text(c)}</li>" for c in items) + "</ul>")


def caveats(record: dict, sensitivity: bool = False) -> list[str]:
    """The limits of docs/model.md ("Limits") that apply to the scenarios of ``record`` (run.json), as sentences.

    ``sensitivity``: the run moved each elasticity one at a time (``--sensitivity``).
    """
    entries = record["scenarios"]
    tables = [e.get("scenario") or {} for e in entries]
    linked = any("inputs.csv" in e["dataset"].get("files_sha256", {}) and t.get("linkages", True)
                 for e, t in zip(entries, tables))
    drawn = any(e.get("uncertainty") for e in entries)
    out = [("Sectors are linked only through fixed input shares per unit of output (the dataset's inputs.csv); "
            if linked else "Sectors are independent markets; ") +
           "there is no economy-wide budget, exchange-rate or factor-market adjustment.",
           "Each period is a comparative static against the base year; a timeline is a sequence of such statics "
           "whose elasticities follow a stated short-run path, not a dynamic model: no capital accumulation, "
           "inventories or anticipation (imports brought forward before a tariff are outside it).",
           "Armington elasticities drive the size of trade responses and are uncertain: " +
           ("the Monte Carlo intervals above show how far the results move with them." if drawn else
            "this run has no Monte Carlo; run it with --draws for 90% intervals.") +
           (" The sensitivity table shows which elasticity matters most." if sensitivity else
            " --sensitivity shows which elasticity matters most."),
           "Welfare is measured in base-year money at base-year prices, by region, and leaves out any non-economic "
           "(security, strategic) value of a policy."]
    if linked:
        out.append("The linked dataset's elasticities were fitted on the unlinked data and not refitted to the links "
                   "(docs/validation.md compares its results with the published evidence).")
    if any(t.get("investment") for t in tables):
        out.append("Producer surplus from added capacity does not net out the cost of the investment; the "
                   "investors' returns do (investment_returns.csv), at a margin taken from published accounts.")
    if any(t.get("demand_shift") for t in tables):
        out.append("Consumer surplus under a demand shift counts the price effect only: the value of the extra "
                   "purchases is outside the model, so neither the shifting buyer's consumer surplus nor net welfare "
                   "is the cost or the net value of the policy (demand_shifts.csv).")
    if any(t.get("pass_through") for t in tables):
        out.append("Exporters' pricing is stated, not modelled: [[pass_through]] gives the share of a tariff change "
                   "that reaches buyers on a route; importers and dealers that absorb part of a tariff are outside "
                   "the model.")
    out += list(dict.fromkeys(METHOD_CAVEATS[e["method"]] for e in entries if e.get("method") in METHOD_CAVEATS))
    if any(_taxes(e, "steel", "USA") and e["dataset"]["name"].startswith("us_japan_2024") for e in entries):
        out.append("Steel derivatives (HS chapter 73 and the steel content of chapters 84, 85 and 94, under Section "
                   "232 from March 2025) sit in other_goods in us_japan_2024 and are not taxed here; at 50% they "
                   "would add at most about one point to the US tariff on other goods.")
    if any(e["name"].startswith("us_japan_deal_2025") for e in entries):
        out.append("The 15% all-in tariff on Japan's other goods under IEEPA is left out: the Supreme Court held on "
                   "20 February 2026 that IEEPA does not authorise tariffs, so the long-run state has no deal tariff "
                   "on other goods; the Section 232 tariffs (steel, autos) stand.")
    failed = sum(int((e.get("uncertainty") or {}).get("failed_draws", 0)) for e in entries)
    if failed:
        out.append(f"{failed} Monte Carlo draws did not converge and are left out of the intervals (run.json lists "
                   "their elasticities).")
    return out


def _taxes(entry: dict, sector: str, importer: str) -> bool:
    """Whether ``importer``'s tariffs on ``sector`` differ from base in some period of the run."""
    return any(t["sector"] == sector and t["importer"] == importer
               for e in entry["shocks_in_force"] for t in e.get("tariffs", []))


# --------------------------------------------------------------------------- run record

def _record_section(record: dict) -> str:
    facts = [("tool", f"{record.get('tool')} {record.get('version')}"), ("timestamp (UTC)", record.get("timestamp")),
             ("command", " ".join(record["command_line"]) if record.get("command_line") else "(from Python)"),
             ("working directory", record.get("working_directory")),
             ("packages", ", ".join(f"{k} {v}" for k, v in (record.get("packages") or {}).items())),
             ("wall time", f"{record['wall_time_seconds']:.2f} s" if record.get("wall_time_seconds") is not None
              else None)]
    if record.get("baseline"):
        facts.append(("baseline", record["baseline"]))
    if record.get("read_back_from"):
        facts.append(("read back from", record["read_back_from"]))
    for e in record["scenarios"]:
        ds = e["dataset"]
        solver = "; ".join(f"{s['year']}: {s['iterations']} iterations, max residual {s['max_residual']:.1e}"
                           f"{'' if s['converged'] else ', NOT converged'}" for s in e["solver"])
        facts += [(f"{e['name']}: file", f"{e.get('file') or '(built in Python)'}  sha256 {e.get('sha256') or '-'}"),
                  *[(f"{e['name']}: extends", f"{x['file']}  sha256 {x['sha256']}") for x in e.get("extends", [])],
                  (f"{e['name']}: dataset", f"{ds['name']} at {ds.get('path')}; " + ", ".join(
                      f"{f} {h[:12]}" for f, h in ds.get("files_sha256", {}).items())),
                  (f"{e['name']}: solver", solver)]
    rows = "".join(f"<dt>{html_text(k)}</dt><dd>{html_text(v)}</dd>" for k, v in facts if v is not None)
    text = json.dumps(record, indent=2, allow_nan=False)
    return (f'<dl class="record">{rows}</dl><details><summary>run.json in full ({len(text):,} characters)'
            f"</summary><pre>{html_text(text)}</pre></details>")


# --------------------------------------------------------------------------- tables

#: Columns of whole numbers or labels shown as they are (years, counts, shares, elasticities).
PLAIN = {"year", "start", "end", "life_years", "payback_year", "payback_years", "draw", "iterations",
         "operating_margin", "online_share", "share", "ramp_years", "discount_rate"}


def _kind(column: str, kinds) -> str:
    if kinds == "text":
        return "text"
    if column in PLAIN:
        return "plain"
    if isinstance(kinds, dict):
        if column in kinds:
            return kinds[column]
        if "*" in kinds:
            return kinds["*"]
    if column in PERCENT or column.endswith("%"):
        return "pct"
    if column in RATES or column == "fill" or column.endswith(("_rate", "_share", "discount_rate")):
        return "plain"
    return "money"


def _format(value, kind: str) -> str:
    """A number as the report shows it: thousands separated, a real minus sign, never "−0"."""
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return ""
    if isinstance(value, float) and np.isinf(value):
        return "∞" if value > 0 else "−∞"
    spec = {"money": ",.1f", "pct": ",.2f", "rate_pct": ",.1f"}.get(kind)
    if spec is None:
        text = f"{value:,.4g}" if isinstance(value, float) and not float(value).is_integer() else f"{value:g}" \
            if isinstance(value, float) else str(value)
    else:
        text = format(value, spec)
    if text.startswith("-"):
        text = "−" + text[1:] if text.strip("-0.,") else text[1:]
    return text


def _table(frame: pd.DataFrame, key: str, caption: str, index: bool = False, kinds=None) -> str:
    """``frame`` as an HTML table: text escaped, numbers formatted with the exact value in ``data-value``.

    ``data-table`` names the table (tests and readers' scripts find it by that); each header cell
    has the column's name in ``data-column``; a World row is set off.
    """
    if index:
        frame = frame.reset_index()
    frame = frame.reset_index(drop=True)
    head = "".join(f'<th data-column="{html_text(c)}">{html_text(_header(c))}</th>' for c in frame.columns)
    kinds_of = {c: _kind(str(c), kinds) for c in frame.columns}
    body = []
    for row in frame.itertuples(index=False, name=None):
        cells = [_td(v, kinds_of[c]) for c, v in zip(frame.columns, row)]
        world = ' class="world"' if WORLD in row[: max(1, len(row) - len(WELFARE_PARTS))] else ""
        body.append(f"<tr{world}>{''.join(cells)}</tr>")
    return (f'<p class="caption">{html_text(caption)}</p><div class="scroll"><table data-table="{html_text(key)}" '
            f'aria-label="{html_text(caption)}"><thead><tr>{head}</tr></thead><tbody>' + "".join(body)
            + "</tbody></table></div>")


def _header(column) -> str:
    column = str(column)
    if column in MEASURES:
        return MEASURES[column][0]
    return column


def _td(value, kind: str) -> str:
    if isinstance(value, np.generic):
        value = value.item()
    if kind == "text" or isinstance(value, str) or isinstance(value, bool) or value is None:
        return f"<td>{html_text('' if value is None else value)}</td>"
    if isinstance(value, float) and np.isnan(value):
        return '<td class="num" data-value=""></td>'
    exact = f"{value:.10g}" if isinstance(value, float) else str(value)
    return f'<td class="num" data-value="{exact}">{html_text(_format(value, kind))}</td>'


# --------------------------------------------------------------------------- the file

def check_path(path, option: str = "path") -> Path:
    """Refuse a report path that cannot be written: not ``.html``, a folder, or a file tradesim did not write.

    Raises
    ------
    InputError
        One problem per reason, naming ``option``.
    """
    if str(path).strip() == "":
        raise InputError([Problem(option, "", "is empty: name the report file to write (report.html)")])
    path = Path(path)
    problems = []
    if path.suffix.lower() not in (".html", ".htm"):
        problems.append(Problem(str(path), option, "the report is one HTML file: give a name ending in .html"))
    if path.is_dir():
        problems.append(Problem(str(path), option, "is a folder: give the report file's name (report.html)"))
    elif path.exists() and not _ours(path):
        problems.append(Problem(str(path), option, "already exists and is not a report tradesim wrote: nothing was "
                                "replaced; choose another name or move it away"))
    if path.parent.exists() and not path.parent.is_dir():
        problems.append(Problem(str(path.parent), option, "is a file, not a folder"))
    if problems:
        raise InputError(problems)
    return path


def _ours(path: Path) -> bool:
    """Whether ``path`` is a report tradesim wrote (its head names the generator)."""
    try:
        with path.open("rb") as f:
            return _MARKER.encode("utf-8") in f.read(4096)
    except OSError:
        return False


def _write_file(path: Path, text: str, option: str) -> None:
    """Write ``text`` beside ``path`` and rename it into place: a reader never sees half a report."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".tradesim-report-", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        if path.exists() and not _ours(path):  # appeared since the check
            raise InputError([Problem(str(path), option, "already exists and is not a report tradesim wrote: "
                                      "nothing was replaced")])
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
