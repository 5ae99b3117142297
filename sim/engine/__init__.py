"""The engine: one entry that solves a case, whatever the method and whatever varies.

:func:`solve` is the only place that decides how a case is solved (docs/model.md,
"Architecture"). A run, the Monte Carlo draws, a tariff sweep and the sensitivity variants
are the same call with a different :class:`Vary`; the method comes from a registry
(:data:`METHODS`) whose entries declare what they support (:mod:`sim.engine.methods`); the
Dask client, the progress bar and the chunking apply to every call; and every solution
leaves through one accounting (:mod:`sim.engine.accounting`), so the revenue and rent in
``Solution`` are the ones the welfare tables report.

Modules: :mod:`~sim.engine.equations` (the model's equations, exact and fast evaluation),
:mod:`~sim.engine.newton` (the Newton driver), :mod:`~sim.engine.exact` (the batched exact
solve: chunks, threads, Dask), :mod:`~sim.engine.quotas` (tariff-rate quotas in the Newton),
:mod:`~sim.engine.linear` (Francois and Hall's linear GSIM), :mod:`~sim.engine.accounting`
(revenue, rent and welfare from a solution), :mod:`~sim.engine.memory` (peak-memory estimates).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ..adjustment import scale
from .accounting import account
from .batch import most_per_market
from .exact import TOLERANCE, Solution, solve_equilibrium
from .linear import solve_linear
from .linkages import solve_linked
from .methods import METHOD_SPECS, MethodSpec
from .pass_through import Routes

__all__ = ["solve", "solves_quotas", "quotas_per_market", "Vary", "Method", "METHODS", "Solution", "solve_equilibrium"]


@dataclass(frozen=True)
class Vary:
    """A leading variant axis of a solve: ``V`` variants of the elasticities and/or of one period's tariffs.

    Attributes
    ----------
    sigma, eta : ndarray, shape (V, K), optional
        Elasticities per variant (Monte Carlo draws, sensitivity variants); the case's otherwise.
    eps : ndarray, shape (V, K, N), optional
    new_tariffs : ndarray, shape (V, K, N, N), optional
        The rates of period ``period`` per variant (a tariff sweep); needs ``period``.
    period : int, optional
        Solve only this period (an index into the case's periods); else every period.
    """

    sigma: np.ndarray | None = None
    eta: np.ndarray | None = None
    eps: np.ndarray | None = None
    new_tariffs: np.ndarray | None = None
    period: int | None = None

    def __post_init__(self):
        if self.new_tariffs is not None and self.period is None:
            raise ValueError("Vary(new_tariffs=...) varies one period's tariffs: give period= too")

    @property
    def size(self) -> int | None:
        """``V``, or None where nothing varies."""
        for array in (self.sigma, self.eta, self.eps, self.new_tariffs):
            if array is not None:
                return len(array)
        return None


@dataclass(frozen=True)
class Method:
    """A solution method: what it declares it supports (:class:`MethodSpec`) and the function that solves."""

    spec: MethodSpec
    solve: Callable[..., Solution]


def _exact(inputs: dict, quotas, client, progress, timeout) -> Solution:
    extra = {} if quotas is None else quotas.solver_arguments()
    return solve_equilibrium(**inputs, client=client, progress=progress, timeout=timeout, **extra)


def _linear(inputs: dict, quotas, client, progress, timeout) -> Solution:
    del quotas, client, progress, timeout  # one linear solve per market, here: nothing to iterate or distribute
    inputs = {k: v for k, v in inputs.items() if k not in ("supply_shift", "demand_shift")}
    return solve_linear(**inputs)


#: The registered methods, by the name a scenario's ``method`` key gives.
METHODS: dict[str, Method] = {
    "exact": Method(METHOD_SPECS["exact"], _exact),
    "gsim-linear": Method(METHOD_SPECS["gsim-linear"], _linear),
}


def solves_quotas(case, method: str | None = None) -> bool:
    """The case has tariff-rate quotas and its method solves them (else they stay at their base rates)."""
    return case.shocks.quotas is not None and "quota" in METHODS[method or case.scenario.method].spec.supports


def quotas_per_market(case, method: str | None = None) -> int:
    """The most tariff-rate quotas one market (sector and year) of ``case`` has, where its method solves them
    (else 0): each is one more unknown of the market's system (:func:`~sim.engine.exact.memory_estimate`)."""
    return most_per_market(case.shocks.quotas.present) if solves_quotas(case, method) else 0


def solve(case, method: str | None = None, vary: Vary | None = None, client=None, progress: bool = False,
          timeout: float | None = None) -> Solution:
    """Solve ``case`` (a :class:`sim.case.Case`) with one method, for every variant, in one batch.

    Parameters
    ----------
    case : Case
        Dataset and shocks.
    method : str, optional
        A name in :data:`METHODS`; default the scenario's ``method``.
    vary : Vary, optional
        Variants solved together as a leading axis.
    client : dask.distributed.Client, optional
        Solve on a Dask cluster (methods that iterate: ``exact``); the results are the same.
    progress : bool
        A progress bar on standard error while a large batch is solved.
    timeout : float, optional
        Seconds to wait for each part of a batch sent to a cluster.

    Returns
    -------
    Solution
        Leading shape ``(Y, K)``; ``(V, Y, K)`` with a :class:`Vary`; ``(V, K)`` when it fixes a
        ``period``. ``tariff_revenue`` and ``quota_rent`` are the accounting's
        (:func:`sim.engine.accounting.account`): changes from the base year, with the dataset's
        base-year quotas split as the scenario's are.
    """
    inputs, quotas, routes = _inputs(case, vary or Vary())
    quotas = quotas if solves_quotas(case, method) else None
    chosen = METHODS[method or case.scenario.method]

    def solve_once(arguments):
        return chosen.solve(arguments, quotas, client, progress, timeout)

    links = case.shocks.links
    solution = solve_once(inputs) if links is None else solve_linked(inputs, links, solve_once, TOLERANCE)
    return account(case.dataset, quotas, solution, routes)


def _inputs(case, vary: Vary) -> tuple[dict, object, Routes | None]:
    """The kernel's arguments with the variant axis in front, the quotas in force (broadcast by the kernel) and,
    with ``[[pass_through]]``, the routes whose buyers face only part of a tariff change (solved at the buyer's
    rates, accounted at the border's)."""
    ds, shocks = case.dataset, case.shocks
    y = vary.period
    pick = (lambda a: a) if y is None else (lambda a: a[y])
    new_tariffs = pick(shocks.new_tariffs) if vary.new_tariffs is None else vary.new_tariffs
    quotas = None if shocks.quotas is None else (shocks.quotas if y is None else shocks.quotas.period(y))
    elasticities = shocks.elasticities(y)  # the long run times each period's short-run factor
    factors = shocks.adjustment
    for name in elasticities:
        value = getattr(vary, name)
        if value is None:
            continue
        if factors is None:  # one set per variant, the same in every period: (V, 1, K...)
            elasticities[name] = value[:, None] if y is None else value
        else:  # each variant's long run follows the scenario's short-run path: (V, Y, K...)
            elasticities[name] = scale(value[:, None], factors[name][None]) if y is None else \
                scale(value, factors[name][y][None])
    routes = None
    if shocks.pass_through is not None:
        routes = Routes(ds.tariffs, new_tariffs, pick(shocks.pass_through))
        new_tariffs = routes.buyer_tariffs()
    inputs = {"flows": ds.flows, "base_tariffs": ds.tariffs, "new_tariffs": new_tariffs,
              **elasticities, "supply_shift": pick(shocks.supply_shift), "demand_shift": pick(shocks.demand_shift)}
    return inputs, quotas, routes
