"""A solve's results: every market's prices, volumes, flows, welfare and diagnostics (docs/model.md, "Welfare").

:class:`Solution` is what the kernel returns; :class:`Outputs` allocates its arrays once and
fills them chunk by chunk from each chunk's equilibrium (:func:`market_results`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import equations
from .accounting import split_at

__all__ = ["Solution", "Outputs", "market_results"]


@dataclass(frozen=True)
class Solution:
    """The equilibrium of a batch of markets, in the caller's leading shape ``(...)``.

    Attributes
    ----------
    producer_price : ndarray, shape (..., K, N)
        ``p̂``, producer (world) price relative to base.
    consumer_price : ndarray, shape (..., K, N)
        ``P̂``, composite consumer price relative to base.
    quantity : ndarray, shape (..., K, N, N)
        ``q̂``, volume relative to base (defined where the base flow is 0 too).
    flows : ndarray, shape (..., K, N, N)
        ``V1 = V p̂ q̂``, new flows at world prices, dataset units.
    output : ndarray, shape (..., K, N)
        Output volume relative to base (1 where there is no base output).
    consumer_surplus, producer_surplus, tariff_revenue : ndarray, shape (..., K, N)
        Changes from base, dataset units.
    base_tariff_revenue : ndarray, shape (..., K, N)
    iterations : ndarray of int, shape (..., K)
        Newton iterations per market (quota iterations included).
    nfev : ndarray of int, shape (..., K), or None
        Evaluations of the market's system (residual) per market: the start, every line-search
        and Levenberg–Marquardt trial, and the quota solve's (None from a solver that does not
        count them, such as the frozen reference in benchmarks/).
    max_residual : ndarray, shape (..., K)
        ``max_i |ln demand[i] − ln supply[i]|`` at the returned prices.
    finite : ndarray of bool, shape (..., K)
        Every result of the market is a finite number (false for equilibria beyond
        floating-point range).
    converged : ndarray of bool, shape (..., K)
        ``max_residual <= tol`` and ``finite``.
    tariffs : ndarray, shape (..., K, N, N), or None
        With quotas: the rates applied, the effective rate on each quota flow (else None).
    quota_rent : ndarray, shape (..., K, N, N), or None
        With quotas: the rent on each quota flow, ``(τ − in_rate) × p × in-quota volume``;
        ``tariff_revenue`` then counts in-quota volume at the in-quota rate.
    exporter_margin : ndarray, shape (..., K, N), or None
        Set by the engine's accounting: the revenue each exporter gives up by absorbing part of
        a tariff change on its routes (docs/model.md, "Exporters' pass-through"); 0 without
        ``[[pass_through]]``. ``flows`` are then at route prices, what exporters receive.
    quota_rent_change : ndarray, shape (..., K, N), or None
        Set by the engine's accounting (:func:`sim.engine.solve`): the change in quota rent
        by the region holding it. Through :func:`sim.engine.solve`, ``tariff_revenue`` and
        ``base_tariff_revenue`` follow the same accounting (the base year's quotas split as the
        scenario's), so they equal the welfare tables'; the kernel alone does not know the
        base year's quotas and counts the base revenue at the full base rate.
    """

    producer_price: np.ndarray
    consumer_price: np.ndarray
    quantity: np.ndarray
    flows: np.ndarray
    output: np.ndarray
    consumer_surplus: np.ndarray
    producer_surplus: np.ndarray
    tariff_revenue: np.ndarray
    base_tariff_revenue: np.ndarray
    iterations: np.ndarray
    max_residual: np.ndarray
    finite: np.ndarray
    converged: np.ndarray
    tariffs: np.ndarray | None = None
    quota_rent: np.ndarray | None = None
    quota_rent_change: np.ndarray | None = None
    nfev: np.ndarray | None = None
    exporter_margin: np.ndarray | None = None

    @property
    def all_converged(self) -> bool:
        return bool(np.all(self.converged))


def market_results(markets: equations.Markets, z, log_consumer_price, quantity, residual,
                   guard_zero_flows=True, flows_out=None) -> dict:
    """Prices, volumes, flows, output, welfare and diagnostics of markets at their equilibrium ``z`` (M, N).

    Computed quietly: an extreme equilibrium can lie beyond floating point (a price up
    1e300 times), and such a market is reported through ``finite`` instead of returning inf.
    With ``guard_zero_flows``, a zero base flow stays exactly zero even where its volume
    index overflows; without it (the fast path) such a market comes out not finite and is
    computed again with the guard. ``flows_out`` (M, N, N), if given, receives the new flows (no new array).
    """
    flows = markets.flows
    producer = np.exp(z)
    sales = flows * quantity  # V q̂, volumes at base prices
    if guard_zero_flows:
        sales = np.where(flows > 0, sales, 0.0)
    new_flows = np.multiply(sales, producer[:, :, None], out=flows_out)
    base_output = markets.output
    sold = equations.matvec(sales, np.ones(base_output.shape))  # summed as base output is
    output = np.divide(sold, base_output, out=np.ones_like(base_output), where=base_output > 0)
    cs = equations.consumer_surplus_change(markets.expenditure, log_consumer_price, markets.eta, markets.demand_shift)
    ps = equations.producer_surplus_change(base_output, z, markets.eps, markets.supply_shift)
    rates = sales  # no longer needed: the buffer of the rates t = T − 1 of the revenues
    base_tr = equations.tariff_revenue(markets.base_tariff_factor, flows, rates)
    new_tr = equations.tariff_revenue(markets.new_tariff_factor, new_flows, rates)
    consumer = np.exp(log_consumer_price)
    revenue = new_tr - base_tr
    max_residual = np.abs(residual).max(axis=1)
    per_market = [producer, consumer, output, cs, ps, revenue, new_flows.reshape(len(flows), -1)]
    finite = np.logical_and.reduce([np.isfinite(a).all(axis=1) for a in per_market]) & np.isfinite(max_residual)
    return {"producer_price": producer, "consumer_price": consumer, "output": output, "consumer_surplus": cs,
            "producer_surplus": ps, "tariff_revenue": revenue, "base_tariff_revenue": base_tr, "quantity": quantity,
            "flows": new_flows, "max_residual": max_residual, "finite": finite}


def quota_results(results: dict, markets: equations.Markets, quota, rent, tariffs) -> None:
    """Split tariff revenue from quota rent and state the rates applied, at the quota flows only.

    ``results`` are :func:`market_results` of ``markets`` (which carry the effective rates): their
    ``tariff_revenue`` is replaced by the split one (docs/model.md, "Tariff-rate quotas",
    :func:`~sim.engine.accounting.split_revenue`) and ``finite`` also asks for a finite rent; ``quota``
    is the chunk's :class:`~sim.engine.batch.QuotaFlows`. ``rent`` and ``tariffs`` (m, N, N) receive the
    quota rent on every flow (0 without a quota) and the rates applied: the quota's own rate at its
    bounds, the solved rate in between, the new tariff on every other flow.
    """
    factor = markets.new_tariff_factor
    revenue = tariffs  # its rows hold the revenue by flow until they take the rates
    cells, at_cells = split_at(markets.flows, results["quantity"], results["producer_price"], factor, quota.cells,
                               quota.in_rate, quota.out_rate, quota.volume, revenue, rent)
    results["tariff_revenue"] = revenue.sum(axis=1) - results["base_tariff_revenue"]
    no_rent = np.bincount(cells[0][~np.isfinite(at_cells)], minlength=len(factor)) > 0
    results["finite"] &= ~no_rent & np.isfinite(results["tariff_revenue"]).all(axis=1)
    applied, low, high = factor[quota.cells], quota.in_rate, quota.out_rate
    tariffs[...] = quota.rates
    tariffs[quota.cells] = np.where(applied <= 1.0 + low, low, np.where(applied >= 1.0 + high, high, applied - 1.0))
    results["quota_rent"], results["tariffs"] = rent, tariffs


class Outputs:
    """The arrays of a :class:`Solution`, allocated once and filled chunk by chunk."""

    def __init__(self, lead, n, quotas: bool = False):
        self.lead = lead
        m = int(np.prod(lead))
        self.by_region = {name: np.empty((m, n)) for name in (
            "producer_price", "consumer_price", "output", "consumer_surplus", "producer_surplus",
            "tariff_revenue", "base_tariff_revenue")}
        flow_arrays = ("quantity", "flows") + (("tariffs", "quota_rent") if quotas else ())
        self.by_flow = {name: np.empty((m, n, n)) for name in flow_arrays}
        self.by_market = {"iterations": np.empty(m, dtype=int), "nfev": np.empty(m, dtype=int),
                          "max_residual": np.empty(m),
                          "finite": np.empty(m, dtype=bool), "converged": np.empty(m, dtype=bool)}

    def store(self, where: slice, markets: equations.Markets, z, iterations, nfev, tol, quota=None,
              quota_residual=None, state=None) -> None:
        """Compute every result of the chunk's equilibrium ``z`` and store it.

        Volumes come from the fast path's constants, ``q̂ = T̂^(−σ) p̂[i]^(−σ) (1+d[j]) P̂[j]^(η+σ)``;
        markets flagged for exact evaluation, or whose results overflow there, are computed
        term by term in logs (:func:`sim.engine.equations.evaluate`). With ``quota`` (the chunk's
        :class:`~sim.engine.batch.QuotaFlows`), ``markets`` carries the effective rates, tariff revenue on
        quota flows is split from the quota rent (:func:`quota_results`), and ``quota_residual`` (m,)
        joins the convergence test.
        ``state``, the fast evaluation at ``z`` if the caller has it (the Newton loop's last), is not
        computed again; a market flagged there is computed term by term either way.
        """
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            state = equations.fast_evaluate(markets, z) if state is None else state
            sigma, eta = markets.sigma[:, None], markets.eta[:, None]
            exporter_term = np.exp(-sigma * z)
            importer_term = (1.0 + markets.demand_shift) * np.exp((eta + sigma) * state.log_consumer_price)
            # volumes and new flows are computed in the outputs' own rows (disjoint between chunks)
            rows = {name: self.by_flow[name][where] for name in ("quantity", "flows")}
            quantity = np.multiply(markets.tariff_power, exporter_term[:, :, None], out=rows["quantity"])
            quantity *= importer_term[:, None, :]
            results = market_results(markets, z, state.log_consumer_price, quantity, state.residual,
                                     guard_zero_flows=False, flows_out=rows["flows"])
        exact = state.exact_needed | ~results["finite"]
        if exact.any():
            idx = np.flatnonzero(exact)
            sub = markets.take(idx)
            with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
                exact_state = equations.evaluate(sub, z[idx])
                exact_results = market_results(sub, z[idx], exact_state.log_consumer_price,
                                         np.exp(exact_state.log_quantity), exact_state.residual)
            for name, value in exact_results.items():
                results[name][idx] = value
        if quota is not None:
            for name in ("quota_rent", "tariffs"):
                rows[name] = self.by_flow[name][where]
            with np.errstate(over="ignore", invalid="ignore"):  # a market beyond floating point is reported
                quota_results(results, markets, quota, rows["quota_rent"], rows["tariffs"])
            results["max_residual"] = np.maximum(results["max_residual"], quota_residual)
        for name in self.by_region:
            self.by_region[name][where] = results[name]
        for name, array in self.by_flow.items():
            if results[name] is not rows.get(name):  # else computed in place already
                array[where] = results[name]
        self.by_market["iterations"][where] = iterations
        self.by_market["nfev"][where] = nfev
        self.by_market["max_residual"][where] = results["max_residual"]
        self.by_market["finite"][where] = results["finite"]
        self.by_market["converged"][where] = (results["max_residual"] <= tol) & results["finite"]

    def put(self, where: slice, part: Solution) -> None:
        """Store a solution of the markets ``where`` (one leading dimension) computed elsewhere."""
        for group in (self.by_region, self.by_flow, self.by_market):
            for name, array in group.items():
                array[where] = getattr(part, name)

    def solution(self) -> Solution:
        n = next(iter(self.by_region.values())).shape[-1]
        arrays = {name: a.reshape(self.lead + (n,)) for name, a in self.by_region.items()}
        arrays |= {name: a.reshape(self.lead + (n, n)) for name, a in self.by_flow.items()}
        arrays |= {name: a.reshape(self.lead) for name, a in self.by_market.items()}
        return Solution(**arrays)
