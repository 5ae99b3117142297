"""Monte Carlo over elasticities, solved as one more batch dimension (docs/model.md, "Uncertainty").

Each draw multiplies every central elasticity by a lognormal factor with median 1 and the
coefficient of variation the scenario gives (``[uncertainty]`` or ``run --draws``), so
signs are kept (``η`` stays negative), ``ε = inf`` stays infinite and ``ε = 0`` stays 0.
One draw holds for every year of a timeline. All draws × years × sectors are solved in one
call of the batched solver; the summaries are computed on arrays, without a Python loop
over draws.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
import pandas as pd

from .engine import Vary, solve, solves_quotas
from .engine.memory import batch_estimate
from .escape import html_text
from .ownership import investment_labels, returns_of_draws
from .scenario import ALL, Uncertainty
from .style import WORLD
from .tables import axes_index, percent_change

__all__ = ["UncertaintyResults", "draw_elasticities", "run_draws", "relative_draws", "memory_needed",
           "STATISTICS"]

STATISTICS = ["mean", "p05", "p50", "p95"]
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


def memory_needed(case, draws: int) -> int:
    """Peak bytes of :func:`run_draws` for ``draws`` draws of ``case``: the draws, their batch and its summaries."""

    years, sectors, regions = case.shocks.new_tariffs.shape[:3]
    quotas = solves_quotas(case)
    return batch_estimate(draws * years * sectors, regions, quotas, draw_rows=draws * years * regions)


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
    """Every quantity of every draw of one scenario, before it is summarised.

    ``welfare`` and ``prices`` map a quantity to an array (D, Y, K, N); ``flows`` maps
    ``value`` and ``volume_pct`` to (D, Y, F) over the flows with a positive base value
    (``positive``, (K, N, N)). ``ok`` (D,) marks the draws whose every market converged.
    """

    ok: np.ndarray
    welfare: dict
    prices: dict
    flows: dict
    positive: np.ndarray
    failed: pd.DataFrame
    returns: dict = field(default_factory=dict)


def draw_values(case, u: Uncertainty, progress: bool = False, client=None, timeout=None) -> DrawValues:
    """Draw the elasticities of ``u`` around ``case``'s and solve every draw in one batch (on ``client`` if given)."""


    ds, shocks = case.dataset, case.shocks
    sigma, eta, eps = draw_elasticities(u, ds.sectors, shocks.sigma, shocks.eta, shocks.eps)
    sol, welfare = solve_with_elasticities(case, sigma, eta, eps, progress, client, timeout)
    ok = sol.converged.all(axis=(1, 2))  # a draw counts only if every year and sector converged
    with np.errstate(all="ignore"):
        prices = {"producer_price_pct": percent_change(sol.producer_price, 1.0),
                  "consumer_price_pct": percent_change(sol.consumer_price, 1.0),
                  "output_pct": percent_change(sol.output, 1.0)}
        positive = ds.flows > 0
        flows = {"value": sol.flows[..., positive], "volume_pct": percent_change(sol.quantity[..., positive], 1.0)}
    returns = returns_of_draws(case, sol.producer_price, eps)  # the investor's present value, NPV per draw
    return DrawValues(ok, welfare, prices, flows, positive, _failed(sol, ok, sigma, eta, eps, ds), returns)


def run_draws(case, u: Uncertainty, central, progress: bool = False, client=None, timeout=None) -> UncertaintyResults:
    """Solve every draw of ``case`` in one batch (on ``client`` if given) and summarise it beside ``central``."""
    return summarise_draws(case, u, draw_values(case, u, progress, client, timeout), central)


def summarise_draws(case, u: Uncertainty, values: DrawValues, central) -> UncertaintyResults:
    """Percentiles of every quantity over the converged draws of ``values``, beside the ``central`` frames."""
    ds, shocks = case.dataset, case.shocks
    keep = np.flatnonzero(values.ok)
    years, sectors, regions = list(shocks.years), list(ds.sectors), list(ds.regions)
    kept = {name: {q: a[keep] for q, a in getattr(values, name).items()} for name in ("welfare", "prices", "flows")}
    parts = [
        _summarise("welfare", kept["welfare"], central.welfare, years, sectors, regions),
        _summarise_all_sectors(kept["welfare"], central.welfare, years, regions),
        _summarise("prices", kept["prices"], central.prices, years, sectors, regions),
        _summarise_flows(kept["flows"], central.flows, years, ds, values.positive),
    ]
    summary = pd.concat(parts, ignore_index=True)
    summary.insert(0, "scenario", case.name)
    net = kept["welfare"]["net_welfare"].sum(axis=2)  # (D', Y, N)
    index = pd.MultiIndex.from_product([keep, years, regions], names=["draw", "year", "region"])
    net_welfare = pd.DataFrame({"net_welfare": net.ravel()}, index=index)
    return UncertaintyResults(u.draws, u.seed, u, summary[UNCERTAINTY_COLUMNS], net_welfare, values.failed,
                              _returns_intervals(case, values.returns, keep))


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
    counts only where it converged in both; ``central`` are the comparison's relative frames.
    """


    mine, base = draw_values(case, u), draw_values(base_case, base_u)
    periods = [list(base_case.shocks.years).index(y) for y in case.shocks.years]
    welfare = {q: a - base.welfare[q][:, periods] for q, a in mine.welfare.items()}
    with np.errstate(all="ignore"):
        prices = {q: percent_change(1 + a / 100, 1 + base.prices[q][:, periods] / 100) for q, a in mine.prices.items()}
        base_volume = _flows_on(mine.positive, base.positive, base.flows["volume_pct"][:, periods])
        flows = {"value": mine.flows["value"],
                 "volume_pct": percent_change(1 + mine.flows["volume_pct"] / 100, 1 + base_volume / 100)}
    failed = mine.failed
    if len(base.failed):  # the baseline's failed draws count too, each listed once
        extra = base.failed[~base.failed["draw"].isin(mine.failed["draw"])] if len(mine.failed) else base.failed
        failed = pd.concat([mine.failed, extra], ignore_index=True).sort_values("draw", ignore_index=True)
    values = DrawValues(mine.ok & base.ok, welfare, prices, flows, mine.positive, failed)
    return summarise_draws(case, u, values, central)


def _flows_on(positive, base_positive, base_values):
    """``base_values`` (D, Y, F_base) over the flows positive in ``positive``; NaN where the baseline has none."""
    where = np.full(base_positive.size, -1)
    where[np.flatnonzero(base_positive)] = np.arange(int(base_positive.sum()))
    index = where[np.flatnonzero(positive)]
    return np.where(index >= 0, base_values[..., np.maximum(index, 0)], np.nan)


def _stats(values: np.ndarray) -> dict:
    """Mean and percentiles over the first axis (draws)."""
    if len(values) == 0:
        nan = np.full(values.shape[1:], np.nan)
        return {"mean": nan, "p05": nan, "p50": nan, "p95": nan}
    with np.errstate(invalid="ignore"):  # a flow the baseline lacks is NaN in every draw, and stays NaN
        p05, p50, p95 = np.percentile(values, [5, 50, 95], axis=0)
        return {"mean": values.mean(axis=0), "p05": p05, "p50": p50, "p95": p95}


def _with_world(arrays: dict, central: pd.DataFrame, levels: list, names: list, regions: list):
    """Welfare arrays (D, ..., N) with a World region appended, the sum of the regions **draw by draw**.

    So the World percentiles are those of the world total (what the CLI and README print), not sums of
    the regions' percentiles. ``central`` (index ``names`` + ``region``, over ``levels``) gains the World
    sum too, added up in the same order as the draws (so a draw with the central elasticities equals it).
    """
    arrays = {q: np.concatenate([a, a.sum(axis=-1, keepdims=True)], axis=-1) for q, a in arrays.items()}
    shape = [len(level) for level in levels] + [len(regions)]
    values = central.reindex(axes_index([*levels, regions], [*names, "region"]))
    world = {c: values[c].to_numpy().reshape(shape).sum(axis=-1).ravel() for c in values.columns}
    world = pd.DataFrame(world, index=axes_index([*levels, [WORLD]], [*names, "region"]))
    return arrays, pd.concat([values, world]), [*regions, WORLD]


def _summarise(table, arrays, central, years, sectors, regions) -> pd.DataFrame:
    """Rows of a (year, sector, region) table: arrays (D, Y, K, N) per quantity; welfare gains World rows."""
    if table == "welfare":
        arrays, central, regions = _with_world(arrays, central, [years, sectors], ["year", "sector"], regions)
    index = axes_index([years, sectors, regions], ["year", "sector", "region"])
    frames = []
    for quantity, values in arrays.items():
        stats = {k: v.ravel() for k, v in _stats(values).items()}
        frame = pd.DataFrame({"central": central[quantity].reindex(index).to_numpy(), **stats}, index=index)
        frames.append(frame.reset_index().assign(quantity=quantity))
    return pd.concat(frames, ignore_index=True).assign(table=table)


def _summarise_all_sectors(arrays, central, years, regions) -> pd.DataFrame:
    """Welfare summed over sectors draw by draw (so its percentiles are of the sum, not sums of percentiles)."""
    totals = central.groupby(level=["year", "region"], sort=False).sum()
    summed, totals, regions = _with_world({q: a.sum(axis=2) for q, a in arrays.items()}, totals, [years], ["year"],
                                           regions)
    index = axes_index([years, regions], ["year", "region"])
    frames = []
    for quantity, values in summed.items():
        stats = {k: v.ravel() for k, v in _stats(values).items()}
        frame = pd.DataFrame({"central": totals[quantity].reindex(index).to_numpy(), **stats}, index=index)
        frames.append(frame.reset_index().assign(quantity=quantity, sector="all"))
    return pd.concat(frames, ignore_index=True).assign(table="welfare")


def _summarise_flows(arrays, central, years, ds, positive) -> pd.DataFrame:
    """Rows per flow with a positive base value: arrays (D, Y, F) per quantity."""
    frames = []
    for y, year in enumerate(years):
        idx = axes_index([[year], list(ds.sectors), list(ds.regions), list(ds.regions)],
                         ["year", "sector", "exporter", "importer"])[positive.ravel()]
        keys = idx.droplevel("year").to_frame(index=False)
        for quantity, values in arrays.items():
            stats = _stats(values[:, y])
            frame = keys.assign(year=year, quantity=quantity, central=central[quantity].reindex(idx).to_numpy(),
                                **stats)
            frames.append(frame)
    return pd.concat(frames, ignore_index=True).assign(table="flows")


def _failed(sol, ok, sigma, eta, eps, ds) -> pd.DataFrame:
    """The draws with a market that did not converge, with their elasticities per sector."""
    rows = []
    for d in np.flatnonzero(~ok):
        y, k = np.argwhere(~sol.converged[d])[0]
        row = {"draw": int(d), "first_failure": f"period {int(y)}, sector {ds.sectors[k]}"}
        for s, sector in enumerate(ds.sectors):
            row[f"sigma_{sector}"] = float(sigma[d, s])
            row[f"eta_{sector}"] = float(eta[d, s])
            row[f"eps_{sector}"] = ";".join(f"{r}={eps[d, s, n]:.4g}" for n, r in enumerate(ds.regions))
        rows.append(row)
    return pd.DataFrame(rows)
