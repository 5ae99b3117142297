"""The public workflow: solve a prepared case in one batch and label its results."""

from __future__ import annotations

import time
from pathlib import Path

from .case import Case, load_scenario, prepare
from .errors import ConvergenceError
from .linear import solve_linear
from .results import Results
from .scenario import Scenario
from .solver import solve_equilibrium
from .tables import label

__all__ = ["run"]


def run(scenario: Case | Scenario | str | Path, dataset=None, client=None) -> Results:
    """Solve every year of a scenario in one batch and return labelled :class:`Results`.

    Parameters
    ----------
    scenario : Case, Scenario or path
        A case from :func:`sim.load_scenario` (solved as it is), a scenario
        built in code (checked as a file would be), or a scenario file's path.
    dataset : Dataset, optional
        For a :class:`Scenario`: use this dataset instead of loading ``scenario.dataset``.
    client : dask.distributed.Client, optional
        Solve on a Dask cluster (see :func:`sim.solve_equilibrium`); the results are the same.
        (The scenario's ``method = "gsim-linear"`` is solved here, in one linear solve per market.)

    Raises
    ------
    InputError
        Bad scenario or dataset.
    ConvergenceError
        The solver did not converge in some market; names year and sector.
    """
    if isinstance(scenario, Scenario):
        case = prepare(scenario, dataset)
    elif isinstance(scenario, Case):
        case = scenario
    else:
        case = load_scenario(scenario)
    started = time.perf_counter()
    shocks, ds = case.shocks, case.dataset
    if case.scenario.method == "gsim-linear":  # tariffs only (checked when the scenario is read)
        solution = solve_linear(ds.flows, ds.tariffs, shocks.new_tariffs, shocks.sigma, shocks.eta, shocks.eps)
    else:
        quotas = shocks.quotas
        quota_arrays = {} if quotas is None else {
            "quota_volume": quotas.volume, "quota_in": quotas.in_rate, "quota_out": quotas.out_rate}
        solution = solve_equilibrium(
            ds.flows, ds.tariffs, shocks.new_tariffs, shocks.sigma, shocks.eta, shocks.eps,
            supply_shift=shocks.supply_shift, demand_shift=shocks.demand_shift, client=client, **quota_arrays,
        )
    if not solution.all_converged:
        failed = zip(*(~solution.converged).nonzero())
        raise ConvergenceError([_failure(case, solution, y, k) for y, k in failed])
    frames, info = label(case, solution)
    return Results(frames, info, case, solution, time.perf_counter() - started)


def _failure(case, solution, y, k) -> str:
    period = "long run" if case.shocks.static else f"year {case.shocks.years[y]}"
    where = f"{case.name}: {period}, sector {case.dataset.sectors[k]}"
    if not solution.finite[y, k]:
        return f"{where}: the equilibrium lies beyond floating-point range (a price or surplus overflows)"
    return (f"{where}: max |ln demand - ln supply| = {solution.max_residual[y, k]:.3g} "
            f"after {solution.iterations[y, k]} iterations")
