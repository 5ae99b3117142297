"""The public workflow: solve a prepared case in one batch and label its results."""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path

from .arguments import check_draws, check_seed, check_share
from .case import Case, load_scenario, prepare
from .engine import quotas_per_market, solve, solves_quotas
from .engine.memory import tables_estimate
from .errors import ConvergenceError
from .resources import check_memory, largest_fitting
from .results import Results
from .scenario import Scenario, Uncertainty
from .shocks import LONG_RUN
from .tables import label
from .uncertainty import memory_needed, run_draws

__all__ = ["run"]


#: Coefficients of variation used by ``run(draws=...)`` when the scenario has no ``[uncertainty]``.
DEFAULT_CV = {"sigma": 0.3, "eta": 0.3, "eps": 0.5}


def run(scenario: Case | Scenario | str | Path, dataset=None, client=None, draws: int | None = None,
        seed: int | None = None, allow_failed_draws: float = 0.0, progress: bool = False,
        timeout: float | None = None) -> Results:
    """Solve every year of a scenario in one batch and return labelled :class:`Results`.

    Parameters
    ----------
    scenario : Case, Scenario or path
        A case from :func:`sim.load_scenario` (solved as it is), a scenario
        built in code (checked as a file would be), or a scenario file's path.
    dataset : Dataset, optional
        For a :class:`Scenario`: use this dataset instead of loading ``scenario.dataset``.
    draws, seed : int, optional
        Run a Monte Carlo over elasticities with this many draws and seed, overriding the
        scenario's ``[uncertainty]`` (whose coefficients of variation are kept; without one,
        :data:`DEFAULT_CV`). The scenario's ``[uncertainty]`` alone also runs it.
    allow_failed_draws : float
        Share of draws allowed not to converge (they are left out of the statistics and
        listed in ``results.uncertainty.failed``); above it, :class:`ConvergenceError`.
    progress : bool
        Show a progress bar on standard error while a large batch is solved.
    client : dask.distributed.Client, optional
        Solve on a Dask cluster (see :func:`sim.solve_equilibrium`); the results are the same.
        (A method that does not iterate, ``gsim-linear``, is solved here.)
    timeout : float, optional
        With ``client``: seconds to wait for the cluster's answer to each call and each part of the
        batch (see :func:`sim.solve_equilibrium`); None waits as long as it takes.

    Raises
    ------
    InputError
        Bad scenario or dataset, or a bad ``draws``, ``seed`` or ``allow_failed_draws``; or
        (:class:`sim.resources.NotEnoughMemory`) the run and its draws would need more memory than is
        available, checked before anything large is allocated.
    ConvergenceError
        The solver did not converge in some market; names year and sector.
    sim.cluster.ClusterError
        With ``client`` and ``timeout``: the cluster did not answer in time.
    """
    draws, seed = check_draws(draws, "draws"), check_seed(seed, "seed")
    allow_failed_draws = check_share(allow_failed_draws, "allow_failed_draws")
    if isinstance(scenario, Scenario):
        case = prepare(scenario, dataset)
    elif isinstance(scenario, Case):
        case = scenario
    else:
        case = load_scenario(scenario)
    started = time.perf_counter()
    spec = _uncertainty(case.scenario, draws, seed)
    _check_memory(case, spec, from_argument=draws is not None)  # before the central solve and the draws
    solution = solve(case, client=client, progress=progress, timeout=timeout)
    if not solution.all_converged:
        failed = zip(*(~solution.converged).nonzero())
        raise ConvergenceError([_failure(case, solution, y, k) for y, k in failed])
    frames, info = label(case, solution)
    monte_carlo = None
    if spec is not None:
        monte_carlo = run_draws(case, spec, frames, progress=progress, client=client, timeout=timeout)
        if monte_carlo.failed_share > allow_failed_draws:
            raise ConvergenceError([_failed_draws(case, monte_carlo, allow_failed_draws)])
        if monte_carlo.returns is not None:  # the investor's present value and NPV with their 90% intervals
            frames = dataclasses.replace(frames, returns=frames.returns.join(monte_carlo.returns))
    return Results(frames, info, case, solution, time.perf_counter() - started, monte_carlo)


def _check_memory(case: Case, spec: Uncertainty | None, from_argument: bool) -> None:
    """Refuse (NotEnoughMemory) a run whose central solve and tables, with its draws, would not fit in memory."""
    years, sectors, regions = case.shocks.new_tariffs.shape[:3]
    quotas = solves_quotas(case)
    central = tables_estimate(years * sectors, regions, quotas, quotas_per_market(case))
    size = f"{years} period(s) x {sectors} sector(s) of {regions} regions"
    if spec is None:
        lower = "the number of years, or use a dataset with fewer sectors or regions"
        check_memory(central, f"'{case.name}' ({size})", (str(case.scenario.source), "years", lower),
                     (str(case.scenario.source), "years", lower))
        return
    if from_argument:
        api, cli = ("sim.run", "draws", "draws="), ("--draws", "", "--draws")
    else:
        where = (str(case.scenario.source), "uncertainty.draws")
        api, cli = (*where, "draws in [uncertainty] (or pass draws=)"), (*where, "draws in [uncertainty] (or give "
                                                                                  "--draws)")

    def needed(n):
        return central + memory_needed(case, n)

    check_memory(needed(spec.draws), f"{spec.draws:,} draws of '{case.name}' ({size} each)", api, cli,
                 largest=lambda available: largest_fitting(needed, available, spec.draws))


def _uncertainty(scenario: Scenario, draws, seed) -> Uncertainty | None:
    """The Monte Carlo to run: the scenario's ``[uncertainty]`` with ``draws``/``seed`` overriding it."""
    spec = scenario.uncertainty
    if spec is None and draws is None:
        return None
    if spec is None:
        spec = Uncertainty(draws, seed, **{name: {"*": cv} for name, cv in DEFAULT_CV.items()})
    if draws is not None:
        spec = dataclasses.replace(spec, draws=int(draws))
    if seed is not None:
        spec = dataclasses.replace(spec, seed=int(seed))
    return spec


def _failed_draws(case, mc, allowed) -> str:
    first = mc.failed.iloc[0]
    elasticities = ", ".join(f"{k} {v:.4g}" if isinstance(v, float) else f"{k} {v}"
                             for k, v in first.items() if k.startswith(("sigma", "eta")))
    return (f"{case.name}: {len(mc.failed)} of {mc.draws} draws did not converge ({mc.failed_share:.1%}, more "
            f"than the {allowed:.1%} allowed; --allow-failed-draws raises it). First: draw {first['draw']}, "
            f"{first['first_failure']}, {elasticities}")


def _failure(case, solution, y, k) -> str:
    period = LONG_RUN if case.shocks.static else f"year {case.shocks.years[y]}"
    where = f"{case.name}: {period}, sector {case.dataset.sectors[k]}"
    if not solution.finite[y, k]:
        return f"{where}: the equilibrium lies beyond floating-point range (a price or surplus overflows)"
    return (f"{where}: max |ln demand - ln supply| = {solution.max_residual[y, k]:.3g} "
            f"after {solution.iterations[y, k]} iterations")
