"""Several scenarios side by side: the same frames as one result, with an outer ``scenario`` level.

``compare([res_a, res_b])`` stacks the labelled frames of each result;
``compare(..., baseline="a")`` reports every other scenario relative to ``a``:
welfare as the difference (``b − a``), flows, prices and output as the change
from ``a``'s outcome. That is how one measure is isolated: the flagship against
the tariff alone leaves the effect of the investment.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from functools import cached_property
from pathlib import Path

import pandas as pd

from .case import Case
from .errors import InputError, Problem
from .escape import html_text
from .output import write_comparison
from .results import Outcome, Results
from .runner import run
from .scenario import Scenario
from .statistics import default_period
from .tables import WELFARE_PARTS, Frames, ScenarioInfo, percent_change
from .uncertainty import relative_draws

__all__ = ["compare", "Comparison", "COMPARISON_COLUMNS"]

COMPARISON_COLUMNS = ["scenario", "year", "region", "sector", *WELFARE_PARTS, "net_welfare",
                      "consumer_price_pct", "producer_price_pct", "output_pct"]


@dataclass(frozen=True, repr=False)
class Comparison(Outcome):
    """Several scenarios' results with an outer ``scenario`` level.

    Attributes
    ----------
    by_scenario : Frames
        Labelled frames, index levels ``(scenario, year, ...)``.
    infos : dict
        Scenario label → :class:`~sim.tables.ScenarioInfo`, in order.
    results : dict
        Scenario label → the :class:`~sim.results.Results` compared (as run).
    baseline : str or None
        With a baseline, every scenario is reported relative to it and the
        baseline itself is left out of the tables.
    """

    by_scenario: Frames
    infos: dict
    results: dict
    baseline: str | None = None

    @property
    def names(self) -> list[str]:
        return list(self.infos)

    def welfare_by_region(self, year=None, world: bool = False) -> pd.DataFrame:
        """Welfare changes summed over sectors, index ``(scenario, region)``, dataset units.

        A long-run scenario contributes its long-run result to any ``year``.

        Raises
        ------
        ValueError
            ``year`` is not a year of some timeline scenario.
        """
        return self._welfare_by_region(year, world)[0]

    @cached_property
    def uncertainty(self) -> dict:
        """Scenario label → its Monte Carlo (:class:`~sim.uncertainty.UncertaintyResults`), for those with draws.

        With a baseline, every other scenario's draws are relative to the baseline's **draw by draw**
        (welfare differences, percent changes from the baseline's outcome in the same draw), so
        ``summary`` describes the same numbers as the tables; draws are solved again for this (the
        runs keep no per-draw arrays), and the baseline itself is left out, as in the tables.
        """

        out = {}
        for name, res in self.results.items():
            mc = res.uncertainty
            if mc is None or name == self.baseline:
                continue
            if self.baseline is not None:
                base = self.results[self.baseline]
                central = self.by_scenario.map(lambda table, frame, name=name: frame.xs(name, level="scenario")
                                               if table in ("flows", "prices", "welfare") else frame)
                mc = relative_draws(res.case, mc.spec, base.case, base.uncertainty.spec, central)
            out[name] = replace(mc, summary=mc.summary.assign(scenario=name))
        return out

    @cached_property
    def table(self) -> pd.DataFrame:
        """The rows of comparison.csv: scenario × year × region × sector, welfare and price changes."""
        joined = self.by_scenario.welfare.join(self.by_scenario.prices)
        order = ["scenario", "year", "region", "sector"]
        return joined.reorder_levels(order).reset_index()[COMPARISON_COLUMNS]

    def write(self, out_dir: str | Path, plots: bool = True) -> Path:
        """Write the tables, comparison.csv, run.json and plots/ into ``out_dir``: what ``compare`` writes."""

        return write_comparison(self, out_dir, plots=plots)

    def __repr__(self) -> str:
        against = f", relative to {self.baseline!r}" if self.baseline else ""
        net = self.headline()["World"]
        when = default_period(self.infos)
        lines = [f"  {name}: {info.title} | World net welfare {when}: {net[name]:+,.0f} {self.unit}"
                 for name, info in self.infos.items()]
        return f"<Comparison of {len(self.infos)} scenarios{against}\n" + "\n".join(lines) + ">"

    def _repr_html_(self) -> str:

        against = f" relative to <code>{html_text(self.baseline)}</code>" if self.baseline else ""
        return f"<b>Comparison of {len(self.infos)} scenarios</b>{against}<br>" + self._headline_html()


def compare(results, baseline: str | Results | None = None) -> Comparison:
    """Put several results side by side.

    Parameters
    ----------
    results : list, or dict name → item
        Runs to compare, in display order; a dict's keys become the scenario labels. Each item is a
        :class:`Results` or anything :func:`sim.run` takes (a scenario file's path, a :class:`Scenario`,
        a :class:`Case`), which is run first.
    baseline : str or Results, optional
        Label of one of them, or one of the Results itself (a Results not among ``results`` is
        added to them): every other scenario is then reported relative to
        it (welfare: difference; flows, prices, output: change from the
        baseline's outcome, in percent) and the baseline is left out.

    Raises
    ------
    InputError
        Fewer than two results, a label used twice, an unknown baseline, or
        scenarios on datasets whose regions, sectors or units differ (the
        message names the difference), or a baseline without the periods of
        the other scenarios.
    """
    named = _named(results)
    named, baseline = _baseline_label(named, baseline)
    _check_same_shape(named)
    infos = {name: replace(res.info, name=name) for name, res in named.items()}
    frames = {name: res.frames for name, res in named.items()}
    if baseline is not None:
        if baseline not in named:
            raise InputError([Problem("compare", "baseline", f"'{baseline}' is not one of the scenarios compared "
                                      f"({', '.join(named)})")])
        _check_paired_draws(named, baseline)
        frames = {name: _relative_to(f, frames[baseline], infos[name], infos[baseline])
                  for name, f in frames.items() if name != baseline}
        infos = {name: info for name, info in infos.items() if name != baseline}
    return Comparison(Frames.concat(frames), infos, named, baseline)


def _as_results(item, where: str):
    """``item`` as Results: run a path, Scenario or Case (as :func:`sim.run` does); refuse anything else."""
    if isinstance(item, Results):
        return item
    if isinstance(item, str | Path | Scenario | Case):
        return run(item)
    raise InputError([Problem("compare", where, "expected sim.Results, a scenario file's path, a sim.Scenario or a "
                              f"sim.Case, got {type(item).__name__}")])


def _baseline_label(named: dict, baseline) -> tuple[dict, str | None]:
    """The baseline's label: a label of ``named``, or a Results (one of them, else added to them)."""
    if baseline is None or isinstance(baseline, str):
        return named, baseline
    if not isinstance(baseline, Results):
        raise InputError([Problem("compare", "baseline", "expected the label of a scenario compared or a "
                                  f"sim.Results, got {type(baseline).__name__}")])
    for name, res in named.items():
        if res is baseline:
            return named, name
    if baseline.name in named:
        raise InputError([Problem("compare", "baseline", f"the baseline Results is named '{baseline.name}' like "
                                  "another scenario compared; pass a dict of labels and give the label")])
    return {**named, baseline.name: baseline}, baseline.name


def _named(results) -> dict[str, Results]:
    if isinstance(results, str | Path):
        raise InputError([Problem("compare", "results", f"expected a list of results or scenario files, got one "
                                  f"{type(results).__name__} {str(results)!r}")])
    if isinstance(results, dict):
        named = {name: _as_results(item, f"results[{name!r}]") for name, item in results.items()}
    else:
        named = {}
        for n, item in enumerate(results):
            res = _as_results(item, f"results[{n}]")
            if res.name in named:
                raise InputError([Problem("compare", "results", f"two results are named '{res.name}'; pass a dict "
                                          "of labels to results instead")])
            named[res.name] = res
    if len(named) < 2:
        raise InputError([Problem("compare", "results", f"needs at least two results, got {len(named)}")])
    return named


def _check_same_shape(named: dict[str, Results]) -> None:
    """Scenarios can be compared only where their regions, sectors and units match."""
    first_name, first = next(iter(named.items()))
    problems = []
    for name, res in list(named.items())[1:]:
        for what in ("regions", "sectors"):
            a, b = set(getattr(first.info, what)), set(getattr(res.info, what))
            if a != b:
                only_a, only_b = sorted(a - b), sorted(b - a)
                problems.append(Problem(
                    "compare", what,
                    f"'{first_name}' (dataset {first.info.dataset}) and '{name}' (dataset {res.info.dataset}) have "
                    f"different {what}: only in '{first_name}': {', '.join(only_a) or 'none'}; only in '{name}': "
                    f"{', '.join(only_b) or 'none'}"))
        if res.info.unit != first.info.unit:
            problems.append(Problem("compare", "unit", f"'{first_name}' is in {first.info.unit} but '{name}' in "
                                    f"{res.info.unit}"))
    if problems:
        raise InputError(problems)


def _check_paired_draws(named: dict[str, Results], baseline: str) -> None:
    """Draws can be taken relative to the baseline's only where draw ``d`` of both uses the same random numbers.

    That holds for the same seed and number of draws on datasets with the same sectors and regions
    in the same order (whatever the coefficients of variation); anything else is refused, saying why.
    """
    base = named[baseline]
    base_mc = base.uncertainty
    problems = []
    for name, res in named.items():
        mc = res.uncertainty
        if name == baseline or mc is None:
            continue
        why = None
        if base_mc is None:
            why = f"the baseline '{baseline}' has no draws"
        elif mc.seed is None or base_mc.seed is None:
            why = "without a seed the draws are not reproducible, so they cannot be paired"
        elif (mc.seed, mc.draws) != (base_mc.seed, base_mc.draws):
            why = (f"'{name}' has {mc.draws:,} draws with seed {mc.seed} and the baseline '{baseline}' "
                   f"{base_mc.draws:,} with seed {base_mc.seed}")
        elif (res.info.sectors, res.info.regions) != (base.info.sectors, base.info.regions):
            why = f"the datasets of '{name}' and '{baseline}' list their sectors or regions in a different order"
        if why is not None:
            problems.append(Problem("compare", "baseline", (
                f"the draws of '{name}' cannot be taken relative to the baseline's draw by draw: {why}. Draw "
                "every scenario alike: the same --draws and --seed (draws= and seed= in Python)")))
    if problems:
        raise InputError(problems)


def _relative_to(frames: Frames, base: Frames, info: ScenarioInfo, base_info: ScenarioInfo) -> Frames:
    """One scenario's frames relative to the baseline's, over the periods both have."""
    if info.static != base_info.static or not set(info.years) <= set(base_info.years):
        missing = [str(y) for y in info.years if y not in base_info.years]
        raise InputError([Problem("compare", "baseline", f"'{info.name}' has periods the baseline "
                                  f"'{base_info.name}' lacks ({', '.join(missing)}): a difference needs the "
                                  "baseline in every period")])

    def relative(name, frame):
        ref = getattr(base, name).reindex(frame.index)
        if name in ("welfare", "owners"):
            return frame - ref.fillna(0.0)
        if name == "flows":
            out = frame.rename(columns={"base_value": "baseline_value"})  # what the value is compared with
            out["baseline_value"] = ref["value"]
            out["value_change"] = frame["value"] - ref["value"]
            out["value_pct"] = percent_change(frame["value"], ref["value"])
            out["volume_pct"] = percent_change(1 + frame["volume_pct"] / 100, 1 + ref["volume_pct"] / 100)
            return out
        if name == "prices":
            return percent_change(1 + frame / 100, 1 + ref / 100)
        if name == "tariffs":
            return _tariffs_against(frame, base.tariffs, info.years)
        return frame

    return frames.map(relative)


def _tariffs_against(frame: pd.DataFrame, base: pd.DataFrame, years) -> pd.DataFrame:
    """A scenario's tariff schedules beside the baseline's: ``base_rate, baseline_rate, rate``.

    Every cell either scenario touches in the scenario's periods is listed; a scenario that leaves
    a cell alone has its base-year rate there. Plots label a bar against a baseline with
    ``baseline_rate → rate``, what the bar compares.
    """
    base = base[base.index.get_level_values("year").isin(list(years))]
    index = frame.index.union(base.index, sort=False)
    mine, theirs = frame.reindex(index), base.reindex(index)
    base_rate = mine["base_rate"].fillna(theirs["base_rate"])
    return pd.DataFrame({"base_rate": base_rate, "baseline_rate": theirs["rate"].fillna(base_rate),
                         "rate": mine["rate"].fillna(base_rate)}, index=index)
