"""Scenario × Dataset × years → the arrays the solver takes.

Each year of a timeline is a comparative static against the base data with the
shocks in force that year (docs/model.md, "Timeline"). Without ``years`` the
scenario is one long-run period, labelled :data:`LONG_RUN` wherever a year would
stand, in which every shock applies in full.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, replace

import numpy as np

from .adjustment import first_shocked_year, multipliers, scale
from .dataset import Dataset
from .engine.linkages import Links
from .engine.methods import METHOD_SPECS
from .errors import PlausibilityWarning, ProblemList, ScenarioWarning, number_text
from .quotas import QuotaArrays
from .scenario import ALL, Scenario, raise_problems

__all__ = ["Shocks", "build_shocks", "LONG_RUN", "describe_periods"]

#: The period label of a scenario without ``years``, used in every output in place of a year.
LONG_RUN = "long run"


def describe_periods(years, static: bool) -> str:
    """How a run's periods read in one phrase: ``"long run"``, ``"2025"`` or ``"2025-2030"``."""
    if static:
        return LONG_RUN
    return str(years[0]) if len(years) == 1 else f"{years[0]}-{years[-1]}"


@dataclass(frozen=True)
class Shocks:
    """Shock arrays for every year of a scenario.

    Attributes
    ----------
    years : tuple of int, or ``(LONG_RUN,)``
        Period labels, length Y.
    static : bool
        True when the scenario has no ``years`` (one long-run period).
    new_tariffs : ndarray, shape (Y, K, N, N)
        Applied rates ``t1`` in force each year.
    supply_shift, demand_shift : ndarray, shape (Y, K, N)
        ``s`` and ``d`` each year.
    sigma, eta : ndarray, shape (K,)
    eps : ndarray, shape (K, N)
        Long-run elasticities after the scenario's overrides.
    quotas : QuotaArrays or None
        The tariff-rate quotas in force each year, shape (Y, K, N, N): the dataset's base-year
        quotas unless a tariff in force covers their flow, and the scenario's; None when neither
        the dataset nor the scenario has any.
    adjustment : dict or None
        Short-run factors on ``sigma``, ``eta`` (Y, K) and ``eps`` (Y, K, N); None: the long run
        every year (docs/model.md, "Short-run adjustment").
    links : Links or None
        The dataset's input-output cost shares (``inputs.csv``) unless the scenario sets
        ``linkages = false``: the sectors of a period are then solved together (docs/model.md,
        "Vertical linkages").
    pass_through : ndarray, shape (Y, K, N, N), or None
        The share of each route's tariff change that reaches the buyer (1 where no
        ``[[pass_through]]`` is in force); None without such blocks (docs/model.md,
        "Exporters' pass-through").
    """

    years: tuple[int, ...] | tuple[str]
    static: bool
    new_tariffs: np.ndarray
    supply_shift: np.ndarray
    demand_shift: np.ndarray
    sigma: np.ndarray
    eta: np.ndarray
    eps: np.ndarray
    quotas: QuotaArrays | None = None
    adjustment: dict[str, np.ndarray] | None = None
    pass_through: np.ndarray | None = None
    links: Links | None = None

    def take_sectors(self, idx) -> Shocks:
        """The shocks of the sectors ``idx`` only (index array). Refused with vertical linkages, which couple
        the sectors of a period (a linked case is solved whole)."""
        if self.links is not None:
            raise ValueError("a linked case couples its sectors: it cannot be solved by blocks of sectors")
        idx = np.asarray(idx)
        return replace(
            self, new_tariffs=self.new_tariffs[:, idx], supply_shift=self.supply_shift[:, idx],
            demand_shift=self.demand_shift[:, idx], sigma=self.sigma[idx], eta=self.eta[idx], eps=self.eps[idx],
            quotas=None if self.quotas is None else self.quotas.take_sectors(idx),
            adjustment=None if self.adjustment is None else {k: v[:, idx] for k, v in self.adjustment.items()},
            pass_through=None if self.pass_through is None else self.pass_through[:, idx])

    def elasticities(self, period: int | None = None) -> dict[str, np.ndarray]:
        """The elasticities solved each period: the long run times the short-run factors (docs/model.md,
        "Short-run adjustment"): ``sigma`` and ``eta`` (Y, K), ``eps`` (Y, K, N); one period's without Y."""
        factors = self.adjustment or {}
        out = {}
        for name, long_run in (("sigma", self.sigma), ("eta", self.eta), ("eps", self.eps)):
            factor = factors.get(name)
            value = long_run if factor is None else scale(long_run, factor)
            out[name] = value if period is None or value.ndim == long_run.ndim else value[period]
        return out


def build_shocks(scenario: Scenario, dataset: Dataset) -> Shocks:
    """Turn a validated scenario, whose codes have been checked against ``dataset``, into shock arrays.

    Raises
    ------
    InputError
        Shocks that make a rate, supply or demand negative.

    Warns
    -----
    ScenarioWarning
        For a shock that is never in force within ``years``.
    """
    problems = ProblemList(scenario.source)
    static = scenario.years is None
    years = (LONG_RUN,) if static else scenario.years
    when = [None] if static else list(years)

    tariffs = np.stack([_tariffs_in(scenario, dataset, y, problems) for y in when])
    supply = np.stack([_supply_shift_in(scenario, dataset, y, problems) for y in when])
    demand = np.stack([_demand_shift_in(scenario, dataset, y, problems) for y in when])
    sigma, eta, eps = _elasticities(scenario, dataset)
    quotas = _quotas_in(scenario, dataset, when) if scenario.quotas or dataset.quotas is not None else None
    pass_through = _pass_through_in(scenario, dataset, when, quotas, problems) if scenario.pass_through else None
    links = _links(scenario, dataset, eps, problems)
    raise_problems(problems)
    adjustment = _adjustment(scenario, dataset, years, tariffs, supply, demand, quotas)
    shocks = Shocks(tuple(years), static, tariffs, supply, demand, sigma, eta, eps, quotas, adjustment,
                    pass_through, links)
    _warn_implausible(scenario, dataset, supply)
    _warn_complements(scenario, dataset, shocks)
    if static:
        _warn_static_adjustment(scenario)
    else:
        _warn_never_in_force(scenario, years)
    return shocks


def _pass_through_in(scenario, dataset, when, quotas, problems) -> np.ndarray:
    """Shares (Y, K, N, N) of each route's tariff change that reach the buyer: 1 unless a block in force sets it.

    A later block replaces an earlier one cell by cell. A share below 1 on a flow with a
    tariff-rate quota in force is refused: the quota's solved rate and an exporter's absorbed
    margin are not modelled together.
    """
    k, n = len(dataset.sectors), len(dataset.regions)
    share = np.ones((len(when), k, n, n))
    for y, year in enumerate(when):
        for x in scenario.pass_through:
            if in_force(x.start, x.end, year):
                share[y][tariff_cells(x, dataset)] = x.share
    if quotas is not None:
        both = (share < 1) & quotas.present
        for y, kk, i, j in zip(*np.nonzero(both)):
            blocks = [x.key for x in scenario.pass_through if in_force(x.start, x.end, when[y])
                      and tariff_cells(x, dataset)[kk, i, j]]
            label = "" if when[y] is None else f" in {when[y]}"
            problems.add(blocks[-1], f"a tariff-rate quota is in force on {dataset.sectors[kk]} "
                         f"{dataset.regions[i]}->{dataset.regions[j]}{label}: pass-through below 1 on a quota "
                         "flow is not supported (end the quota with a [[tariff]], or leave this route out)")
            break
    return share


def _links(scenario, dataset, eps, problems) -> Links | None:
    """The dataset's cost shares, unless the scenario switches them off; a linked using sector needs a finite
    supply elasticity (its price follows its unit cost) and a method that solves linkages."""
    if dataset.cost_shares is None or not scenario.linkages:
        return None
    using = dataset.cost_shares.sum(axis=0) > 0  # (K, N)
    for k, r in zip(*np.nonzero(using & np.isinf(eps))):
        problems.add("elasticities", f"{dataset.sectors[k]} in {dataset.regions[r]} buys inputs (the dataset's "
                     "inputs.csv) but its supply elasticity is inf: a linked sector needs a finite one (or set "
                     "linkages = false)")
    if "linkages" not in METHOD_SPECS[scenario.method].supports:
        problems.add("method", f"\"{scenario.method}\" cannot solve a dataset whose sectors are linked "
                     "(inputs.csv): use method = \"exact\" or set linkages = false")
    return Links(dataset.cost_shares)


def _adjustment(scenario, dataset, years, tariffs, supply, demand, quotas) -> dict[str, np.ndarray] | None:
    """Short-run factors per period (docs/model.md, "Short-run adjustment"), or None where no rule applies.

    A static scenario is the long run: no factors, whatever the rules.
    """
    rules = (*dataset.adjustment, *scenario.adjustments)
    if scenario.years is None or not rules:
        return None
    earlier = _changes_before(scenario, years[0])
    if earlier:  # a shock in force before the first listed year counts from when it took effect
        scratch = ProblemList(scenario.source)  # the listed years' problems are already reported
        tariffs = np.concatenate([np.stack([_tariffs_in(scenario, dataset, y, scratch) for y in earlier]), tariffs])
        supply = np.concatenate([np.stack([_supply_shift_in(scenario, dataset, y, scratch) for y in earlier]), supply])
        demand = np.concatenate([np.stack([_demand_shift_in(scenario, dataset, y, scratch) for y in earlier]), demand])
        if quotas is not None:
            quotas = _quotas_in(scenario, dataset, [*earlier, *years])
    first = first_shocked_year([*earlier, *years], tariffs, dataset.tariffs, supply, demand, quotas, dataset.quotas)
    return multipliers(rules, dataset.sectors, dataset.regions, years, first)


def _changes_before(scenario, first_year) -> list[int]:
    """The years before ``first_year`` in which the shocks in force can change (a block's ``start``, the year
    after its ``end``), ascending: the only years where a sector's first shock can have taken effect before
    the scenario's first listed year."""
    blocks = (*scenario.tariffs, *scenario.quotas, *scenario.demand_shifts, *scenario.investments)
    changes = {b.start for b in blocks if b.start is not None}
    changes |= {b.end + 1 for b in blocks if getattr(b, "end", None) is not None}
    return sorted(y for y in changes if y < first_year)


def _warn_static_adjustment(scenario) -> None:
    """A long-run scenario is solved at the long-run elasticities: say so for each of its own short-run rules."""
    for a in scenario.adjustments:
        warnings.warn(f"{scenario.source}: {a.key}: has no effect in a long-run scenario (no years), which is "
                      "solved at the long-run elasticities; give years to follow the short-run path",
                      ScenarioWarning, stacklevel=4)


def _warn_complements(scenario, dataset, shocks) -> None:
    """Warn where a period's σ falls below its |η|: origins become gross complements (docs/model.md)."""
    if shocks.adjustment is None:
        return
    e = shocks.elasticities()
    below = e["sigma"] < np.abs(e["eta"])  # (Y, K)
    for k in np.flatnonzero(below.any(axis=0) & ~(shocks.sigma < np.abs(shocks.eta))):
        y = int(np.argmax(below[:, k]))
        warnings.warn(PlausibilityWarning(scenario.source, "adjustment", (
            f"{dataset.sectors[k]}: the short-run sigma {e['sigma'][y, k]:.3g} in {shocks.years[y]} is below "
            f"|eta| {abs(e['eta'][y, k]):.3g}, which makes origins gross complements (a tariff on one "
            "origin lowers purchases from the others)")), stacklevel=3)


def _quotas_in(scenario, dataset, when) -> QuotaArrays:
    """The quotas in force each period (docs/model.md, "Tariff-rate quotas").

    The dataset's base-year quotas hold unless a ``[[tariff]]`` in force covers their flow
    (the tariff ends the quota); a scenario ``[[quota]]`` in force sets its flow's quota,
    a later one replacing an earlier one.
    """
    k, n = len(dataset.sectors), len(dataset.regions)
    out = QuotaArrays.empty((len(when), k, n, n))
    base = dataset.quotas
    for y, year in enumerate(when):
        if base is not None:
            kept = base.present & ~_covered_by_tariffs(scenario, dataset, year)
            for name in ("volume", "in_rate", "out_rate", "to_exporter"):
                getattr(out, name)[y][kept] = getattr(base, name)[kept]
        for q in scenario.quotas:
            if in_force(q.start, q.end, year):
                cell = (y, dataset.sector_index(q.sector), dataset.region_index(q.exporter),
                        dataset.region_index(q.importer))
                out.volume[cell], out.in_rate[cell], out.out_rate[cell] = q.volume, q.in_rate, q.out_rate
                out.to_exporter[cell] = q.rent == "exporter"
    return out


def _covered_by_tariffs(scenario, dataset, year) -> np.ndarray:
    """Cells (K, N, N) that a ``[[tariff]]`` in force in ``year`` sets."""
    covered = np.zeros(dataset.flows.shape, dtype=bool)
    for t in scenario.tariffs:
        if in_force(t.start, t.end, year):
            covered |= tariff_cells(t, dataset)
    return covered


def tariff_cells(t, dataset) -> np.ndarray:
    """The cells (K, N, N) a ``[[tariff]]`` block sets: its sectors, exporters and importers, off the diagonal."""
    return (_mask(t.sector, dataset.sectors)[:, None, None]
            & _mask(t.exporter, dataset.regions)[None, :, None]
            & _mask(t.importer, dataset.regions)[None, None, :]
            & ~np.eye(len(dataset.regions), dtype=bool))


def in_force(start: int | None, end: int | None, year: int | None) -> bool:
    """Whether a shock with ``start``/``end`` applies in ``year`` (None = static run: always)."""
    if year is None:
        return True
    return (start is None or year >= start) and (end is None or year <= end)


def _mask(codes, labels) -> np.ndarray:
    """Boolean mask over ``labels`` selected by a tuple of codes or ``("*",)``."""
    if ALL in codes:
        return np.ones(len(labels), dtype=bool)
    return np.isin(np.array(labels), np.array(codes))


def _tariffs_in(scenario, dataset, year, problems):
    """``t1`` (K, N, N) in force in ``year``: later entries replace earlier ones cell by cell."""
    base = dataset.tariffs
    rates = base.copy()
    for t in scenario.tariffs:
        if not in_force(t.start, t.end, year):
            continue
        cells = tariff_cells(t, dataset)
        if t.rate is not None:
            rates[cells] = t.rate
            continue
        if t.cut is not None:  # a proportional cut of the base rate (SMART's "cut")
            rates[cells] = base[cells] * (1.0 - t.cut)
            continue
        new = base + t.add
        negative = cells & (new < 0)
        if negative.any():
            k, i, j = (int(x[0]) for x in np.nonzero(negative))
            problems.add(f"{t.key}.add", f"add = {t.add:g} makes the rate negative for {dataset.sectors[k]} "
                         f"{dataset.regions[i]}->{dataset.regions[j]} (base rate {base[k, i, j]:g})"
                         + (f" and {int(negative.sum()) - 1} more cell(s)" if negative.sum() > 1 else ""))
        rates[cells] = new[cells]
    return rates


def _supply_shift_in(scenario, dataset, year, problems):
    """``s`` (K, N) in ``year`` from investments (docs/model.md, "Scenario files")."""
    output = dataset.flows.sum(axis=-1)
    shift = np.zeros_like(output)
    for inv in scenario.investments:
        k = dataset.sector_index(inv.sector)
        host = dataset.region_index(inv.host)
        added = inv.full_capacity * inv.online_share(year)
        if output[k, host] <= 0:
            problems.add(f"{inv.key}.host", f"'{inv.host}' has no base output of {inv.sector}: the model has no "
                         "supply curve there to shift")
            continue
        shift[k, host] += added / output[k, host]
        if inv.investor is not None and inv.displaces_exports > 0:
            investor = dataset.region_index(inv.investor)
            if output[k, investor] <= 0:
                problems.add(f"{inv.key}.investor", f"'{inv.investor}' has no base output of {inv.sector} to displace")
                continue
            shift[k, investor] -= inv.displaces_exports * added / output[k, investor]
    for k, r in zip(*np.nonzero(shift <= -1)):
        label = "" if year is None else f" in {year}"
        problems.add("investment", f"displaced output makes supply of {dataset.sectors[k]} in "
                     f"{dataset.regions[r]} negative{label} (shift {shift[k, r]:+.3g} of base output)")
    return shift


def _demand_shift_in(scenario, dataset, year, problems):
    """``d`` (K, N) in ``year``: shifts in force add up."""
    shift = np.zeros((len(dataset.sectors), len(dataset.regions)))
    for d in scenario.demand_shifts:
        if in_force(d.start, d.end, year):
            cells = _mask(d.sector, dataset.sectors)[:, None] & _mask(d.region, dataset.regions)[None, :]
            shift[cells] += d.change
    for k, r in zip(*np.nonzero(shift <= -1)):
        label = "" if year is None else f" in {year}"
        problems.add("demand_shift", f"demand shifts add up to {shift[k, r]:+.3g} for {dataset.sectors[k]} in "
                     f"{dataset.regions[r]}{label}: demand would vanish or turn negative")
    return shift


def _elasticities(scenario, dataset):
    """Dataset defaults with the scenario's overrides: sector ``"*"`` first, ``eps`` ``"*"`` first."""
    sigma, eta, eps = dataset.sigma.copy(), dataset.eta.copy(), dataset.eps.copy()
    ordered = sorted(scenario.elasticities, key=lambda o: o.sector != ALL)
    for o in ordered:
        rows = _mask((o.sector,), dataset.sectors)
        if o.sigma is not None:
            sigma[rows] = o.sigma
        if o.eta is not None:
            eta[rows] = o.eta
        for region in sorted(o.eps, key=lambda r: r != ALL):
            eps[np.ix_(rows, _mask((region,), dataset.regions))] = o.eps[region]
    return sigma, eta, eps


def _in_force_text(start, end) -> str:
    """When a block is in force, in words: "in force from 2030 on", "until 2024", "from 2025 to 2026"."""
    if start is not None and end is not None:
        return f"in force from {start} to {end}"
    if start is not None:
        return f"in force from {start} on, no end"
    return f"in force until {end}" if end is not None else "always in force"


def _warn_never_in_force(scenario, years):
    for t in (*scenario.tariffs, *scenario.quotas, *scenario.demand_shifts):
        if not any(in_force(t.start, t.end, y) for y in years):
            warnings.warn(f"{scenario.source}: {t.key}: never in force within years "
                          f"{years[0]}-{years[-1]} ({_in_force_text(t.start, t.end)})", ScenarioWarning, stacklevel=3)
    for inv in scenario.investments:
        if not any(inv.online_share(y) > 0 for y in years):
            warnings.warn(f"{scenario.source}: {inv.key}: never online within years {years[0]}-{years[-1]} "
                          f"(start {inv.start})", ScenarioWarning, stacklevel=3)


#: Beyond these, a value is warned about (and refused with --strict): docs/model.md, "Scenario files".
PLAUSIBLE = {"rate": 1.0, "shift": 1.0, "sigma": 20.0, "eta": 5.0}


def _percent(share) -> str:
    """A share as a percentage for a message: ``2,500%``, or ``1e+302%`` rather than 303 digits."""
    return number_text(share, percent=True, decimals=0)


def _warn_implausible(scenario, dataset, supply):
    """Warn about magnitudes that are valid but probably a mistake (a rate of 25 for 25%, σ = 50, ...)."""
    source = scenario.source
    found = []
    for t in scenario.tariffs:
        for name in ("rate", "add"):
            value = getattr(t, name)
            if value is not None and value > PLAUSIBLE["rate"]:
                found.append((f"{t.key}.{name}", f"{value:g} means {_percent(value)}; did you "
                              f"mean {value / 100:g}? (rates are shares: 0.25 = 25%)"))
    for q in scenario.quotas:
        for name in ("in_rate", "out_rate"):
            value = getattr(q, name)
            if np.isfinite(value) and value > PLAUSIBLE["rate"]:
                found.append((f"{q.key}.{name}", f"{value:g} means {_percent(value)}; did you "
                              f"mean {value / 100:g}? (out_rate = inf makes an absolute quota)"))
    for d in scenario.demand_shifts:
        if d.change > PLAUSIBLE["shift"]:
            found.append((f"{d.key}.change", f"{d.change:g} more than doubles demand (+{_percent(d.change)}); "
                          f"did you mean {d.change / 100:g}?"))
    for k, r in zip(*np.nonzero(supply.max(axis=0) > PLAUSIBLE["shift"])):
        keys = [inv.key for inv in scenario.investments
                if inv.sector == dataset.sectors[k] and inv.host == dataset.regions[r]]
        found.append((keys[0] if keys else "investment", f"new capacity raises supply of {dataset.sectors[k]} in "
                      f"{dataset.regions[r]} by {_percent(supply.max(axis=0)[k, r])} of base output: check "
                      "capacity (or amount x output_per_amount) and the dataset's unit"))
    for o in scenario.elasticities:
        if o.sigma is not None and o.sigma > PLAUSIBLE["sigma"]:
            found.append((f"{o.key}.sigma", f"{o.sigma:g} is above the usual empirical range (up to about "
                          f"{PLAUSIBLE['sigma']:g})"))
        if o.eta is not None and abs(o.eta) > PLAUSIBLE["eta"]:
            found.append((f"{o.key}.eta", f"{o.eta:g} is outside the usual empirical range (|eta| up to about "
                          f"{PLAUSIBLE['eta']:g})"))
    for key, message in found:
        warnings.warn(PlausibilityWarning(source, key, message), stacklevel=3)
