"""Monte Carlo over elasticities, solved as one more batch dimension (docs/model.md, "Uncertainty").

Each draw multiplies every central elasticity by a lognormal factor with median 1 and the
coefficient of variation the scenario gives (``[uncertainty]`` or ``run --draws``), so
signs are kept (``η`` stays negative), ``ε = inf`` stays infinite and ``ε = 0`` stays 0.
One draw holds for every year of a timeline. The draws are solved by blocks of sectors
(:func:`sector_blocks`): all draws × years of a block's sectors in one call of the batched
solver, summarised on arrays (no Python loop over draws) and dropped before the next block,
so peak memory is bounded by a block (:data:`BLOCK_BYTES`), whatever the number of sectors.
The sums over sectors and regions (all-sector and World rows) are carried across blocks draw
by draw; the tables are labelled once at the end.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import cached_property

import numpy as np
import pandas as pd

from .engine import Vary, quotas_per_market, solve, solves_quotas
from .engine.exact import THREADS
from .engine.memory import batch_estimate
from .escape import html_text
from .ownership import investment_labels, returns_of_draws
from .resources import largest_fitting
from .scenario import ALL, Uncertainty
from .style import WORLD
from .tables import axes_index, percent_change

__all__ = ["UncertaintyResults", "draw_elasticities", "run_draws", "relative_draws", "memory_needed",
           "one_batch_memory", "sector_blocks", "STATISTICS"]

STATISTICS = ["mean", "p05", "p50", "p95"]
#: The welfare measures, price changes and flow quantities summarised per draw.
WELFARE = ("consumer_surplus", "producer_surplus", "exporter_margin", "tariff_revenue", "quota_rent", "net_welfare")
PRICES = ("producer_price_pct", "consumer_price_pct", "output_pct")
FLOWS = ("value", "volume_pct")
#: Peak bytes a block of sectors of a Monte Carlo may take to solve and tabulate (:func:`sector_blocks`).
BLOCK_BYTES = 2**30
#: Bytes per row of the summary table while it is built (labels, seven numeric columns, pandas' temporaries).
SUMMARY_ROW_BYTES = 320
FLOAT = 8
UNCERTAINTY_COLUMNS = ["scenario", "table", "year", "sector", "region", "exporter", "importer", "quantity",
                       "central", *STATISTICS]


@dataclass(frozen=True, repr=False)
class UncertaintyResults:
    """The Monte Carlo of one scenario.

    Attributes
    ----------
    draws, seed : int, int or None
    spec : Uncertainty
        What was drawn (coefficients of variation per parameter and sector).
    summary : DataFrame
        Tidy: one row per table key and quantity, columns :data:`UNCERTAINTY_COLUMNS`
        (``table`` is ``welfare``, ``prices`` or ``flows``; welfare rows with sector ``all``
        sum the sectors, and welfare rows with region ``World`` sum the regions, draw by draw,
        before the statistics). Statistics over the converged draws.
    net_welfare : DataFrame
        Net welfare of every converged draw, all sectors summed: index (draw, year, region).
    failed : DataFrame
        The draws that did not converge, with their elasticities (empty when all did).
    """

    draws: int
    seed: int | None
    spec: Uncertainty
    summary: pd.DataFrame
    net_welfare: pd.DataFrame
    failed: pd.DataFrame
    returns: pd.DataFrame | None = None

    @property
    def failed_share(self) -> float:
        return len(self.failed) / self.draws

    @cached_property
    def intervals(self) -> pd.DataFrame:
        """5th and 95th percentiles of net welfare, all sectors, by (year, region) with World, over the draws.

        ``attrs["draws"]`` holds the number of draws they are taken over.
        """
        draws = self.net_welfare["net_welfare"].unstack("region")
        draws[WORLD] = draws.sum(axis=1)
        stacked = draws.stack().rename_axis(["draw", "year", "region"])
        grouped = stacked.groupby(level=["year", "region"], sort=False)
        out = pd.DataFrame({"p05": grouped.quantile(0.05), "p95": grouped.quantile(0.95)})
        out.attrs["draws"] = len(draws.index.unique("draw"))
        return out

    def _headline(self) -> str:
        scenario = self.summary["scenario"].iloc[0] if len(self.summary) else ""
        failed = f", {len(self.failed)} failed" if len(self.failed) else ""
        return f"Monte Carlo of '{scenario}': {self.draws:,} draws (seed {self.seed}{failed})"

    def _last_year(self) -> pd.DataFrame:
        """The 90% intervals of net welfare in the last period, by region and World."""
        year = self.intervals.index.get_level_values("year")[-1]
        return self.intervals.xs(year, level="year"), year

    def __repr__(self) -> str:
        if self.net_welfare.empty:
            return f"<UncertaintyResults {self._headline()}: no draw converged>"
        band, year = self._last_year()
        world = band.loc[WORLD]
        return (f"<UncertaintyResults {self._headline()}\n  World net welfare, all sectors, {year}: 90% interval "
                f"{world['p05']:,.0f} to {world['p95']:,.0f}>")

    def _repr_html_(self) -> str:
        head = f"<b>{html_text(self._headline())}</b>"
        if self.net_welfare.empty:
            return head + "<p>No draw converged.</p>"
        band, year = self._last_year()
        return (head + f"<p>Net welfare, all sectors, {html_text(year)}: 90% interval over the draws</p>"
                + band.to_html(float_format=lambda v: f"{v:,.0f}", border=0))


def sector_blocks(case, draws: int, budget: int | None = None) -> list[np.ndarray]:
    """The blocks of sectors a Monte Carlo of ``draws`` draws of ``case`` is solved in, each an index array.

    All draws of a block are solved together (percentiles cannot be merged across blocks of draws); a
    block holds as many sectors as keep its solve and tabulation (:func:`sim.engine.memory.batch_estimate`)
    within ``budget`` bytes (default :data:`BLOCK_BYTES`), and at least one. A linked case (vertical
    linkages couple its sectors) is one block.
    """
    years, sectors, regions = case.shocks.new_tariffs.shape[:3]
    if case.shocks.links is not None or sectors == 0:
        return [np.arange(sectors)]
    quotas, most = solves_quotas(case), quotas_per_market(case)
    size = max(1, largest_fitting(lambda k: batch_estimate(draws * years * k, regions, quotas, quotas_per_market=most),
                                  BLOCK_BYTES if budget is None else budget, sectors))
    return [np.arange(start, min(start + size, sectors)) for start in range(0, sectors, size)]


def memory_needed(case, draws: int) -> int:
    """Peak bytes of :func:`run_draws` for ``draws`` draws of ``case``: the largest block of sectors solved and
    tabulated (:func:`sector_blocks`), plus what is kept across blocks (per-draw sums, the statistics, the
    summary table and the investor's prices)."""
    years, sectors, regions = case.shocks.new_tariffs.shape[:3]
    block = max(len(b) for b in sector_blocks(case, draws))
    quotas = solves_quotas(case)
    flows = int((case.dataset.flows > 0).sum())
    kept = FLOAT * draws * years * regions * (len(WELFARE) + 1)  # sums over sectors per draw, and the failures
    if _keeps_prices(case):
        kept += FLOAT * draws * years * sectors * regions
    rows = summary_rows(years, sectors, regions, flows)
    return (batch_estimate(draws * years * block, regions, quotas, draw_rows=draws * years * regions,
                           quotas_per_market=quotas_per_market(case)) + kept
            + FLOAT * len(STATISTICS) * rows + SUMMARY_ROW_BYTES * rows)


def one_batch_memory(case, variants: int) -> int:
    """Peak bytes of solving ``variants`` sets of elasticities of ``case`` in one batch and summarising them
    (the sensitivity's variants: not split into blocks of sectors)."""
    years, sectors, regions = case.shocks.new_tariffs.shape[:3]
    return batch_estimate(variants * years * sectors, regions, solves_quotas(case),
                          draw_rows=variants * years * regions, quotas_per_market=quotas_per_market(case))


def summary_rows(years: int, sectors: int, regions: int, flows: int) -> int:
    """Rows of the Monte Carlo summary (uncertainty.csv): welfare by sector and in all (World rows included),
    prices, and the flows with a positive base value (``flows`` of them), each per period and quantity."""
    welfare = len(WELFARE) * (sectors + 1) * (regions + 1)
    return years * (welfare + len(PRICES) * sectors * regions + len(FLOWS) * flows)


def _coefficients(cvs: dict[str, float], sectors) -> np.ndarray:
    """Coefficient of variation per sector (K,): a sector's own, else ``"*"``'s, else 0."""
    return np.array([cvs.get(s, cvs.get(ALL, 0.0)) for s in sectors])


def draw_elasticities(u: Uncertainty, sectors, sigma, eta, eps):
    """Draw ``u.draws`` sets of elasticities around the central ``sigma, eta`` (K,) and ``eps`` (K, N).

    Returns ``sigma`` (D, K), ``eta`` (D, K) and ``eps`` (D, K, N). The factor for a
    coefficient of variation ``cv`` is ``exp(s Z)``, ``s² = ln(1 + cv²)``, ``Z`` standard
    normal: median 1, and exactly 1 where ``cv = 0``.
    """
    rng = np.random.default_rng(u.seed)
    d, (k, n) = u.draws, eps.shape

    def factor(cvs, shape):
        spread = np.sqrt(np.log1p(_coefficients(cvs, sectors) ** 2))
        z = rng.standard_normal(shape)
        return np.exp(spread.reshape((1, k) + (1,) * (len(shape) - 2)) * z)

    sigma_d = sigma * factor(u.sigma, (d, k))
    eta_d = eta * factor(u.eta, (d, k))
    with np.errstate(invalid="ignore"):  # inf × a finite factor is inf
        eps_d = np.where(np.isinf(eps), eps, eps * factor(u.eps, (d, k, n)))
    return sigma_d, eta_d, eps_d


def solve_with_elasticities(case, sigma, eta, eps, progress: bool = False, client=None, timeout=None):
    """Solve ``case`` for every set of elasticities at once: ``sigma``, ``eta`` (V, K), ``eps`` (V, K, N).

    One set holds for every year. Returns the solution, leading shape (V, Y, K), and its welfare
    by measure (arrays (V, Y, K, N)) from the engine's accounting. ``client`` solves the batch on
    a Dask cluster.
    """
    sol = solve(case, vary=Vary(sigma=sigma, eta=eta, eps=eps), client=client, progress=progress, timeout=timeout)
    with np.errstate(all="ignore"):
        welfare = {"consumer_surplus": sol.consumer_surplus, "producer_surplus": sol.producer_surplus,
                   "exporter_margin": sol.exporter_margin, "tariff_revenue": sol.tariff_revenue,
                   "quota_rent": sol.quota_rent_change}
        welfare["net_welfare"] = sum(welfare.values())
    return sol, welfare


@dataclass(frozen=True)
class DrawValues:
    """Every quantity of every draw of one block of sectors of a scenario, before it is summarised.

    ``welfare`` and ``prices`` map a quantity to an array (D, Y, B, N) over the block's ``B``
    sectors; ``flows`` maps ``value`` and ``volume_pct`` to (D, Y, F) over the block's flows with
    a positive base value (``positive``, (B, N, N)), or to (D, Y, B·N·N) over every cell where
    ``cells`` (the flat indices of the positive ones) is given. ``ok`` (D,) marks the draws whose every market
    of the block converged; ``first_failure`` (D,) is the first market that did not, as
    ``period × K + sector`` over the whole case (:data:`NO_FAILURE` where none).
    ``producer_price`` (D, Y, B, N) is kept where an investment's returns need it, else None.
    """

    ok: np.ndarray
    welfare: dict
    prices: dict
    flows: dict
    positive: np.ndarray
    first_failure: np.ndarray
    producer_price: np.ndarray | None = None
    cells: np.ndarray | None = None


@dataclass(frozen=True)
class Draws:
    """The elasticities of every draw: ``sigma``, ``eta`` (D, K) and ``eps`` (D, K, N)."""

    sigma: np.ndarray
    eta: np.ndarray
    eps: np.ndarray

    @classmethod
    def of(cls, case, u: Uncertainty) -> Draws:
        shocks = case.shocks
        return cls(*draw_elasticities(u, case.dataset.sectors, shocks.sigma, shocks.eta, shocks.eps))

    def block(self, sectors: np.ndarray) -> tuple:
        return self.sigma[:, sectors], self.eta[:, sectors], self.eps[:, sectors]


def block_values(case, draws: Draws, sectors: np.ndarray, progress: bool = False, client=None,
                 timeout=None) -> DrawValues:
    """Solve the ``sectors`` (index array) of ``case`` for every draw in one batch (on ``client`` if given)."""
    sub = case if len(sectors) == len(case.dataset.sectors) else case.take_sectors(sectors)
    sol, welfare = solve_with_elasticities(sub, *draws.block(sectors), progress, client, timeout)
    ok = sol.converged.all(axis=(1, 2))  # a draw counts only if every year and sector converged
    prices = {"producer_price_pct": _percent_of_ratio(sol.producer_price),
              "consumer_price_pct": _percent_of_ratio(sol.consumer_price),
              "output_pct": _percent_of_ratio(sol.output)}
    positive = sub.dataset.flows > 0
    cells = np.flatnonzero(positive)  # the block's flows with a positive base value, in (sector, i, j) order
    # A dense block keeps every cell (a view: no copy of the block's flows) and its statistics are read at the
    # positive cells afterwards; a sparse one copies out its positive cells first, so as not to sort the rest.
    every = len(cells) >= DENSE_SHARE * positive.size
    pick = _flat_cells if every else (lambda a: np.take(_flat_cells(a), cells, axis=2))
    # the volumes are a copy, or a view of this block's solution, which is dropped here: changed in place
    flows = {"value": pick(sol.flows), "volume_pct": _percent_of_ratio(pick(sol.quantity), in_place=True)}
    first = _first_failure(sol.converged, sectors, len(case.dataset.sectors))
    return DrawValues(ok, welfare, prices, flows, positive, first,
                      sol.producer_price if _keeps_prices(case) else None, cells if every else None)


#: Share of a block's cells with a positive base flow from which every cell is summarised (and the positive
#: ones read from the statistics) rather than the positive ones copied out first.
DENSE_SHARE = 0.5


def _flat_cells(array: np.ndarray) -> np.ndarray:
    """``array`` (D, Y, B, N, N) with its last three axes as one: (D, Y, B·N·N), a view."""
    return array.reshape(array.shape[:2] + (-1,))


def _positive_flows(values: DrawValues) -> dict:
    """``values.flows`` over the block's positive flows only, (D, Y, F), whichever way the block kept them."""
    if values.cells is None:
        return values.flows
    return {q: np.take(a, values.cells, axis=2) for q, a in values.flows.items()}


def _percent_of_ratio(ratio: np.ndarray, in_place: bool = False) -> np.ndarray:
    """``percent_change(ratio, 1.0)`` (:func:`sim.tables.percent_change`) in one new array (in ``ratio`` itself
    with ``in_place``, for a copy the caller owns): (ratio − 1) × 100, NaN where not finite."""
    with np.errstate(invalid="ignore", over="ignore"):
        change = np.subtract(ratio, 1.0, out=ratio if in_place else None)
        change *= 100.0
        if np.isfinite(np.add.reduce(change, axis=None)):  # the usual case: one pass shows every value is finite
            return change
    np.copyto(change, np.nan, where=~np.isfinite(change))
    return change


#: ``first_failure`` of a draw whose every market converged.
NO_FAILURE = np.iinfo(np.int64).max


def _first_failure(converged: np.ndarray, sectors: np.ndarray, total: int) -> np.ndarray:
    """Per draw, the first market (period, then sector) of ``converged`` (D, Y, B) that did not converge,
    numbered ``period × total + sector`` over the case's ``total`` sectors; :data:`NO_FAILURE` where none."""
    failed = ~converged
    periods = np.arange(converged.shape[1])[:, None]
    number = np.where(failed, periods * total + np.asarray(sectors)[None, :], NO_FAILURE)
    return number.reshape(len(converged), -1).min(axis=1)


def _keeps_prices(case) -> bool:
    """Whether the draws' producer prices are kept: an investment earns returns (its present value per draw)."""
    return any(inv.has_returns for inv in case.scenario.investments)


class _Tally:
    """What the blocks of a Monte Carlo leave behind: the statistics of every cell, and per draw the sums
    over sectors, the convergence and the first failure, the investor's prices.

    Statistics are written per block into arrays over the whole case (``welfare`` (Y, K, N + 1) with World,
    ``prices`` (Y, K, N), ``flows`` (Y, F)), so the tables are labelled once at the end, in the order a
    single batch gives.
    """

    def __init__(self, case, draws: int):
        self.case = case
        ds = case.dataset
        self.years, self.sectors, self.regions = len(case.shocks.years), len(ds.sectors), len(ds.regions)
        self.flow_offsets = np.concatenate([[0], np.cumsum((ds.flows > 0).sum(axis=(1, 2)))])
        self.stats = {"welfare": {}, "prices": {}, "flows": {}}
        self.sector_sums = {q: np.zeros((draws, self.years, self.regions)) for q in WELFARE}
        self.ok = np.ones(draws, dtype=bool)
        self.first_failure = np.full(draws, NO_FAILURE)
        self.producer_price = (np.zeros((draws, self.years, self.sectors, self.regions)) if _keeps_prices(case)
                               else None)

    def add_draws(self, sectors: np.ndarray, values: DrawValues) -> None:
        """Carry a block's per-draw numbers: its welfare summed over sectors (sector by sector, in order, as a
        sum over the sector axis adds), convergence, first failure and producer prices."""
        for q, total in self.sector_sums.items():
            block = values.welfare[q]
            for b in range(block.shape[2]):
                total += block[:, :, b]
        self.ok &= values.ok
        np.minimum(self.first_failure, values.first_failure, out=self.first_failure)
        if self.producer_price is not None:
            self.producer_price[:, :, sectors] = values.producer_price

    def add_statistics(self, sectors: np.ndarray, values: DrawValues, keep: np.ndarray) -> None:
        """The statistics of a block's cells over the draws ``keep``, written into the whole case's arrays."""
        pick = _kept(keep, len(values.ok))
        welfare = {q: _with_world_axis(pick(a)) for q, a in values.welfare.items()}
        shape = {"welfare": (self.years, self.sectors, self.regions + 1),
                 "prices": (self.years, self.sectors, self.regions)}
        for table, arrays in (("welfare", welfare), ("prices", {q: pick(a) for q, a in values.prices.items()})):
            for q, a in arrays.items():
                out = self.stats[table].setdefault(q, {k: np.zeros(shape[table]) for k in STATISTICS})
                for k, v in _stats(a).items():
                    out[k][:, sectors] = v
        span = slice(self.flow_offsets[sectors[0]], self.flow_offsets[sectors[-1] + 1])
        for q, a in values.flows.items():
            out = self.stats["flows"].setdefault(q, {k: np.zeros((self.years, self.flow_offsets[-1]))
                                                     for k in STATISTICS})
            for k, v in _stats(pick(a)).items():
                out[k][:, span] = v if values.cells is None else v[:, values.cells]


def _kept(keep: np.ndarray, draws: int):
    """``array[keep]`` over the draw axis, without the copy when every draw is kept (the usual case)."""
    if len(keep) == draws:
        return lambda array: array
    return lambda array: array[keep]


def _with_world_axis(array: np.ndarray) -> np.ndarray:
    """``array`` (..., N) with the sum over regions appended as a last region (World), draw by draw."""
    return np.concatenate([array, array.sum(axis=-1, keepdims=True)], axis=-1)


def stream_draws(case, u: Uncertainty, values_of, progress: bool = False) -> _Tally:
    """Run a Monte Carlo block by block of sectors (:func:`sector_blocks`): ``values_of(sectors)`` gives a
    block's :class:`DrawValues`; each block is summarised over the draws converged so far and dropped.

    A draw that fails in a later block must leave the earlier blocks' statistics too (a draw counts only if
    every market converged): those blocks are solved and summarised again over the final draws, so the
    statistics are those of one batch. Peak memory is one block's (plus what :class:`_Tally` carries).
    """
    tally = _Tally(case, u.draws)
    blocks = sector_blocks(case, u.draws)
    summarised_over = []
    for sectors in _announced(blocks, progress):
        values = values_of(sectors)
        tally.add_draws(sectors, values)
        tally.add_statistics(sectors, values, np.flatnonzero(tally.ok))
        summarised_over.append(tally.ok.copy())
        del values
    keep = np.flatnonzero(tally.ok)
    for sectors, ok in zip(blocks, summarised_over):
        if (ok != tally.ok).any():
            tally.add_statistics(sectors, values_of(sectors), keep)
    return tally


def _announced(blocks: list, progress: bool):
    """The blocks, with a progress bar over them (standard error) when there are several and ``progress``."""
    if not progress or len(blocks) < 2:
        return blocks
    import sys

    from tqdm import tqdm

    return tqdm(blocks, unit=" blocks of sectors", desc="Monte Carlo", file=sys.stderr, leave=False)


def run_draws(case, u: Uncertainty, central, progress: bool = False, client=None, timeout=None) -> UncertaintyResults:
    """Draw the elasticities of ``u`` around ``case``'s, solve every draw (block by block of sectors, on
    ``client`` if given) and summarise them beside the ``central`` frames."""
    draws = Draws.of(case, u)
    tally = stream_draws(case, u, lambda sectors: block_values(case, draws, sectors, progress, client, timeout),
                         progress)
    failed = _failed(tally.first_failure, draws, case.dataset)
    returns = None
    if tally.producer_price is not None:  # the investor's present value and NPV per draw
        returns = returns_of_draws(case, tally.producer_price, draws.eps)
    return summarise(case, u, tally, central, failed, returns)


def summarise(case, u: Uncertainty, tally: _Tally, central, failed: pd.DataFrame, returns) -> UncertaintyResults:
    """The summary table, the per-draw net welfare and the intervals of ``tally``, beside the ``central`` frames."""
    ds, shocks = case.dataset, case.shocks
    keep = np.flatnonzero(tally.ok)
    years, sectors, regions = list(shocks.years), list(ds.sectors), list(ds.regions)
    all_sectors = {q: _stats(_with_world_axis(a[keep])) for q, a in tally.sector_sums.items()}
    parts = [
        _summarise("welfare", tally.stats["welfare"], central.welfare, years, sectors, regions),
        _summarise_all_sectors(all_sectors, central.welfare, years, regions),
        _summarise("prices", tally.stats["prices"], central.prices, years, sectors, regions),
        _summarise_flows(tally.stats["flows"], central.flows, years, ds),
    ]
    summary = pd.concat(parts, ignore_index=True)
    summary.insert(0, "scenario", case.name)
    net = tally.sector_sums["net_welfare"][keep]  # (D', Y, N)
    index = pd.MultiIndex.from_product([keep, years, regions], names=["draw", "year", "region"])
    net_welfare = pd.DataFrame({"net_welfare": net.ravel()}, index=index)
    return UncertaintyResults(u.draws, u.seed, u, summary[UNCERTAINTY_COLUMNS], net_welfare, failed,
                              _returns_intervals(case, returns or {}, keep))


def _returns_intervals(case, returns: dict, keep) -> pd.DataFrame | None:
    """5th and 95th percentiles over the kept draws of each investment's present value and NPV, index investment."""
    if not returns:
        return None
    labels = [label for label, inv in zip(investment_labels(case.scenario), case.scenario.investments)
              if inv.has_returns]
    columns = {}
    for name, values in returns.items():
        stats = _stats(values[keep])
        columns[f"{name}_p05"], columns[f"{name}_p95"] = stats["p05"], stats["p95"]
    return pd.DataFrame(columns, index=pd.Index(labels, name="investment"))


def relative_draws(case, u: Uncertainty, base_case, base_u: Uncertainty, central) -> UncertaintyResults:
    """The draws of ``case`` relative to those of ``base_case``, draw by draw (docs/model.md, "Comparisons").

    Draw ``d`` of both uses the same standard normal numbers (same seed, same number of draws,
    same sectors and regions in the same order: the caller checks), so the differences are paired.
    Welfare is the difference, prices, output and volumes the percent change from the baseline's
    outcome in the same draw; a flow's ``value`` stays the scenario's level, as in flows.csv. A draw
    counts only where it converged in both; ``central`` are the comparison's relative frames. Both are
    solved block by block of the same sectors.
    """
    mine_draws, base_draws = Draws.of(case, u), Draws.of(base_case, base_u)
    periods = [list(base_case.shocks.years).index(y) for y in case.shocks.years]
    first_failures = {}

    def values_of(sectors):
        mine, base = block_values(case, mine_draws, sectors), block_values(base_case, base_draws, sectors)
        for name, values in (("mine", mine), ("base", base)):
            first_failures[name] = np.minimum(first_failures.get(name, NO_FAILURE), values.first_failure)
        return _relative(mine, base, periods)

    tally = stream_draws(case, u, values_of)
    failed = _failed(first_failures["mine"], mine_draws, case.dataset)
    base_failed = _failed(first_failures["base"], base_draws, base_case.dataset)
    if len(base_failed):  # the baseline's failed draws count too, each listed once
        extra = base_failed[~base_failed["draw"].isin(failed["draw"])] if len(failed) else base_failed
        failed = pd.concat([failed, extra], ignore_index=True).sort_values("draw", ignore_index=True)
    return summarise(case, u, tally, central, failed, None)


def _relative(mine: DrawValues, base: DrawValues, periods: list) -> DrawValues:
    """One block's draws of a scenario relative to the baseline's, draw by draw."""
    welfare = {q: a - base.welfare[q][:, periods] for q, a in mine.welfare.items()}
    with np.errstate(all="ignore"):
        prices = {q: percent_change(1 + a / 100, 1 + base.prices[q][:, periods] / 100) for q, a in mine.prices.items()}
        mine_flows, base_flows = _positive_flows(mine), _positive_flows(base)
        base_volume = _flows_on(mine.positive, base.positive, base_flows["volume_pct"][:, periods])
        flows = {"value": mine_flows["value"],
                 "volume_pct": percent_change(1 + mine_flows["volume_pct"] / 100, 1 + base_volume / 100)}
    return DrawValues(mine.ok & base.ok, welfare, prices, flows, mine.positive,
                      np.minimum(mine.first_failure, base.first_failure))


def _flows_on(positive, base_positive, base_values):
    """``base_values`` (D, Y, F_base) over the flows positive in ``positive``; NaN where the baseline has none."""
    where = np.full(base_positive.size, -1)
    where[np.flatnonzero(base_positive)] = np.arange(int(base_positive.sum()))
    index = where[np.flatnonzero(positive)]
    return np.where(index >= 0, base_values[..., np.maximum(index, 0)], np.nan)


#: Cells of a statistic above which its columns are split between threads (numpy's sort releases the GIL).
THREADED_CELLS = 2**20


def _stats(values: np.ndarray) -> dict:
    """:func:`_column_stats` of ``values`` (D, ..., C), its last axis split between the cores when it is large
    (each cell's statistics depend on that cell's draws only, so the numbers are the same)."""
    threads = min(THREADS, values.shape[-1]) if values.ndim > 1 else 1
    if threads < 2 or values.size < THREADED_CELLS:
        return _column_stats(values)
    bounds = np.linspace(0, values.shape[-1], threads + 1).astype(int)
    with ThreadPoolExecutor(threads) as pool:
        parts = list(pool.map(lambda b: _column_stats(values[..., b[0]:b[1]]), zip(bounds[:-1], bounds[1:])))
    return {k: np.concatenate([p[k] for p in parts], axis=-1) for k in parts[0]}


def _column_stats(values: np.ndarray) -> dict:
    """Mean and 5th, 50th and 95th percentiles over the first axis (draws), as ``numpy.percentile`` gives them.

    The percentiles are read from each cell's draws sorted (:func:`_order_statistics`; numpy's partition per
    percentile is an order of magnitude slower over many cells), with numpy's linear interpolation written
    out; a cell with a NaN in some draw is NaN, as there.
    """
    if len(values) == 0:
        nan = np.full(values.shape[1:], np.nan)
        return {"mean": nan, "p05": nan, "p50": nan, "p95": nan}
    percents = {"p05": 5, "p50": 50, "p95": 95}
    points = {name: _percentile_points(len(values), q) for name, q in percents.items()}
    rows = sorted({r for below, above, _ in points.values() for r in (below, above)} | {len(values) - 1})
    with np.errstate(invalid="ignore"):  # a flow the baseline lacks is NaN in every draw, and stays NaN
        out = {"mean": values.mean(axis=0)}
        ordered = dict(zip(rows, _order_statistics(values, rows)))
        for name, (below, above, gamma) in points.items():
            out[name] = _interpolate(ordered[below], ordered[above], ordered[len(values) - 1], gamma)
        return out


#: Bytes of draws sorted together by :func:`_order_statistics` (in a core's cache).
SORT_BYTES = 2**19


def _order_statistics(values: np.ndarray, rows: list) -> np.ndarray:
    """``numpy.sort(values, axis=0)[rows]`` for ``values`` (D, ..., C), without sorting the whole array at once.

    The cells are sorted a few at a time (:data:`SORT_BYTES` of draws), each cell's draws copied next to each other
    first (numpy sorts along a strided axis one cell at a time through a buffer, with the same sort: the same
    numbers).
    """
    d, shape = len(values), values.shape[1:]
    width = max(1, SORT_BYTES // (FLOAT * d))
    if values.ndim < 2 or values.flags.c_contiguous:  # every cell in one run (else one per middle index)
        values = np.ascontiguousarray(values).reshape(d, 1, -1)
    out = np.empty((len(rows),) + values.shape[1:])
    buffer = np.empty((width, d))
    for middle in np.ndindex(*values.shape[1:-1]):
        cells, picked = values[(slice(None), *middle)], out[(slice(None), *middle)]
        for start in range(0, cells.shape[-1], width):
            stop = min(start + width, cells.shape[-1])
            lanes = buffer[:stop - start]
            lanes[...] = cells[:, start:stop].T
            lanes.sort(axis=-1)
            picked[:, start:stop] = lanes[:, rows].T
    return out.reshape((len(rows),) + shape)


def _percentile_points(n: int, percent: float) -> tuple:
    """Where ``numpy.percentile`` (method "linear") reads a percentile of ``n`` sorted values: the positions
    below and above it and the weight of the one above, with the same index and weight arithmetic as numpy's."""
    q = np.true_divide(percent, 100)
    virtual = (n - 1) * q  # Hyndman and Fan's method 7, numpy's "linear"
    below = int(np.floor(virtual))
    above = below + 1
    if virtual >= n - 1:
        below = above = n - 1
    elif virtual < 0:
        below = above = 0
    return below, above, virtual - below


def _interpolate(a: np.ndarray, b: np.ndarray, largest: np.ndarray, gamma) -> np.ndarray:
    """numpy's linear interpolation between the sorted values ``a`` and ``b``; NaN where ``largest`` (the last
    sorted value) is NaN, that is where some draw is."""
    diff = b - a
    result = a + diff * gamma
    if gamma >= 0.5:
        result = b - diff * (1 - gamma)
    return np.where(np.isnan(largest), np.nan, result)


def _summarise(table, stats, central, years, sectors, regions) -> pd.DataFrame:
    """Rows of a (year, sector, region) table from ``stats`` (quantity → statistic → (Y, K, N)); welfare's
    arrays carry a World region (N + 1), the sum of the regions draw by draw, and gain World rows."""
    if table == "welfare":
        central, regions = _central_with_world(central, [years, sectors], ["year", "sector"], regions)
    index = axes_index([years, sectors, regions], ["year", "sector", "region"])
    frames = []
    for quantity, values in stats.items():
        frame = pd.DataFrame({"central": central[quantity].reindex(index).to_numpy(),
                              **{k: v.ravel() for k, v in values.items()}}, index=index)
        frames.append(frame.reset_index().assign(quantity=quantity))
    return pd.concat(frames, ignore_index=True).assign(table=table)


def _central_with_world(central: pd.DataFrame, levels: list, names: list, regions: list):
    """``central`` (index ``names`` + ``region``, over ``levels``) with World rows, the sum of the regions, added
    up in the order of the draws' sums (so a draw with the central elasticities equals it)."""
    shape = [len(level) for level in levels] + [len(regions)]
    values = central.reindex(axes_index([*levels, regions], [*names, "region"]))
    world = {c: values[c].to_numpy().reshape(shape).sum(axis=-1).ravel() for c in values.columns}
    world = pd.DataFrame(world, index=axes_index([*levels, [WORLD]], [*names, "region"]))
    return pd.concat([values, world]), [*regions, WORLD]


def _summarise_all_sectors(stats, central, years, regions) -> pd.DataFrame:
    """Welfare summed over sectors draw by draw (so its percentiles are of the sum, not sums of percentiles):
    ``stats`` quantity → statistic → (Y, N + 1), World last."""
    totals = central.groupby(level=["year", "region"], sort=False).sum()
    totals, regions = _central_with_world(totals, [years], ["year"], regions)
    index = axes_index([years, regions], ["year", "region"])
    frames = []
    for quantity, values in stats.items():
        frame = pd.DataFrame({"central": totals[quantity].reindex(index).to_numpy(),
                              **{k: v.ravel() for k, v in values.items()}}, index=index)
        frames.append(frame.reset_index().assign(quantity=quantity, sector="all"))
    return pd.concat(frames, ignore_index=True).assign(table="welfare")


def _summarise_flows(stats, central, years, ds) -> pd.DataFrame:
    """Rows per flow with a positive base value: ``stats`` quantity → statistic → (Y, F)."""
    positive = ds.flows > 0
    frames = []
    for y, year in enumerate(years):
        idx = axes_index([[year], list(ds.sectors), list(ds.regions), list(ds.regions)],
                         ["year", "sector", "exporter", "importer"])[positive.ravel()]
        keys = idx.droplevel("year").to_frame(index=False)
        for quantity, values in stats.items():
            frame = keys.assign(year=year, quantity=quantity, central=central[quantity].reindex(idx).to_numpy(),
                                **{k: v[y] for k, v in values.items()})
            frames.append(frame)
    return pd.concat(frames, ignore_index=True).assign(table="flows")


def _failed(first_failure: np.ndarray, draws: Draws, ds) -> pd.DataFrame:
    """The draws with a market that did not converge (``first_failure``, see :class:`DrawValues`), with their
    elasticities per sector."""
    rows = []
    sectors = len(ds.sectors)
    for d in np.flatnonzero(first_failure != NO_FAILURE):
        y, k = divmod(int(first_failure[d]), sectors)
        row = {"draw": int(d), "first_failure": f"period {y}, sector {ds.sectors[k]}"}
        for s, sector in enumerate(ds.sectors):
            row[f"sigma_{sector}"] = float(draws.sigma[d, s])
            row[f"eta_{sector}"] = float(draws.eta[d, s])
            row[f"eps_{sector}"] = ";".join(f"{r}={draws.eps[d, s, n]:.4g}" for n, r in enumerate(ds.regions))
        rows.append(row)
    return pd.DataFrame(rows)
