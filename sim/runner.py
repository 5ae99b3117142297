"""The public workflow: load a scenario, build its shocks, solve, label the results."""

from __future__ import annotations

import time
from pathlib import Path
from typing import NamedTuple

from .dataset import Dataset, load_dataset
from .errors import ConvergenceError, InputError
from .results import Results
from .scenario import Scenario, check_codes, read_scenario
from .shocks import Shocks, build_shocks
from .solver import solve_equilibrium

__all__ = ["load_scenario", "run", "validate"]


def load_scenario(path: str | Path) -> Scenario:
    """Read and validate a scenario file, including its codes against its dataset.

    Raises
    ------
    InputError
        With every problem found (file, key path, value, closest valid code):
        structural problems and unknown codes are reported together.
    """
    return _load(path)[0]


def _load(path) -> tuple[Scenario, Dataset]:
    scenario, problems = read_scenario(path)
    dataset = None
    if scenario is not None and scenario.dataset:
        try:
            dataset = load_dataset(scenario.dataset, scenario.base_dir, cited_in=scenario.source)
        except InputError as exc:
            problems.extend(exc.problems)
        else:
            problems.extend(check_codes(scenario, dataset.sectors, dataset.regions))
    problems.raise_if_any()
    return scenario, dataset


class Checked(NamedTuple):
    """A validated scenario with what validating it built, ready for :func:`run`."""

    scenario: Scenario
    dataset: Dataset
    shocks: Shocks


def validate(paths) -> list[Checked]:
    """Fully check several scenario files (structure, codes, shock arrays); report all problems at once."""
    problems, checked = [], []
    for path in paths:
        try:
            scenario, dataset = _load(path)
            checked.append(Checked(scenario, dataset, build_shocks(scenario, dataset)))
        except InputError as exc:
            problems.extend(exc.problems)
    if problems:
        raise InputError(problems)
    return checked


def run(scenario: Scenario | str | Path, dataset: Dataset | None = None, shocks: Shocks | None = None) -> Results:
    """Solve every year of a scenario in one batch and return labelled :class:`Results`.

    Parameters
    ----------
    scenario : Scenario or path
        A scenario object or the path of a scenario file.
    dataset : Dataset, optional
        Use this dataset instead of loading ``scenario.dataset``.
    shocks : Shocks, optional
        Shock arrays already built for this scenario and dataset (by :func:`validate`),
        so they are not built, and their warnings not given, twice.

    Raises
    ------
    InputError
        Bad scenario or dataset.
    ConvergenceError
        The solver did not converge in some market; names year and sector.
    """
    if not isinstance(scenario, Scenario):
        scenario = load_scenario(scenario)
    if dataset is None:
        dataset = load_dataset(scenario.dataset, scenario.base_dir)
    started = time.perf_counter()
    if shocks is None:
        shocks = build_shocks(scenario, dataset)
    solution = solve_equilibrium(
        dataset.flows, dataset.tariffs, shocks.new_tariffs, shocks.sigma, shocks.eta, shocks.eps,
        supply_shift=shocks.supply_shift, demand_shift=shocks.demand_shift,
    )
    wall = time.perf_counter() - started
    if not solution.all_converged:
        failed = zip(*(~solution.converged).nonzero())
        failures = [_failure(scenario, dataset, shocks, solution, y, k) for y, k in failed]
        raise ConvergenceError(failures)
    return Results(scenario, dataset, shocks, solution, wall)


def _failure(scenario, dataset, shocks, solution, y, k) -> str:
    where = f"{scenario.name}: year {shocks.years[y]}, sector {dataset.sectors[k]}"
    if not solution.finite[y, k]:
        return f"{where}: the equilibrium lies beyond floating-point range (a price or surplus overflows)"
    return (f"{where}: max |ln demand - ln supply| = {solution.max_residual[y, k]:.3g} "
            f"after {solution.iterations[y, k]} iterations")
