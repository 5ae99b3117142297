"""The input border: a scenario bound to its dataset and shock arrays, checked once.

Every way into a run passes through here: :func:`load_scenario` (a file),
:func:`prepare` (a :class:`~sim.scenario.Scenario` built in code) and
:func:`validate` (several files, every problem reported together). Each builds a
:class:`Case` — scenario, dataset and shocks — that :func:`sim.run` solves
without reading or checking anything again. Within one call each dataset
folder is parsed once, however many scenarios name it.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

from .dataset import Dataset, load_dataset, resolve_dataset
from .errors import InputError, ProblemList
from .ownership import check_ownership
from .scenario import Scenario, check_codes, check_scenario, read_scenario, relocate
from .shocks import Shocks, build_shocks, describe_periods

__all__ = ["Case", "load_scenario", "prepare", "validate"]


@dataclass(frozen=True)
class Case:
    """A validated scenario with its dataset and the shock arrays of every year: what a run solves.

    Attributes
    ----------
    scenario : Scenario
        The scenario as parsed (codes as tuples, block keys such as ``tariff[2]``).
    dataset : Dataset
        The dataset it names, loaded and checked.
    shocks : Shocks
        New tariffs, supply and demand shifts and elasticities per year.
    """

    scenario: Scenario
    dataset: Dataset
    shocks: Shocks

    @property
    def name(self) -> str:
        return self.scenario.name

    @property
    def title(self) -> str:
        return self.scenario.title

    @property
    def years(self) -> tuple:
        """Period labels: the scenario's years, or ``("long run",)``."""
        return self.shocks.years

    def take_sectors(self, idx) -> Case:
        """The case restricted to the sectors ``idx`` (index array): its dataset and shocks, the same scenario.

        Sectors are separate markets unless the dataset links them (then this is refused), so solving the
        blocks of a partition of the sectors gives the sectors' numbers of solving the case whole.
        """
        return Case(self.scenario, self.dataset.take_sectors(idx), self.shocks.take_sectors(idx))

    def replace(self, **changes) -> Case:
        """A new case with scenario fields changed (``tariffs=...``, ``elasticities=...``), on the same dataset.

        Checked exactly as a file would be; the dataset is not read again. A new ``name`` without a
        new ``label`` drops the old label (it named the scenario copied), so plots show the new name.
        """
        if "name" in changes and "label" not in changes:
            changes = {**changes, "label": ""}
        return prepare(replace(self.scenario, **changes), dataset=self.dataset)

    def __repr__(self) -> str:
        period = describe_periods(self.years, self.shocks.static)
        counts = ", ".join(f"{len(items)} {what}" for what, items in (
            ("tariff", self.scenario.tariffs), ("investment", self.scenario.investments),
            ("demand shift", self.scenario.demand_shifts)) if items)
        return (f"<Case {self.name!r}: {self.title} | dataset {self.dataset.name} | {period}"
                f"{' | ' + counts if counts else ''}>")


def load_scenario(path: str | Path) -> Case:
    """Read a scenario file, load its dataset and build its shocks.

    Raises
    ------
    InputError
        With every problem found (file, key path, value, closest valid code):
        structural problems, unknown codes and impossible shocks together.
    """
    return validate([path])[0]


def prepare(scenario: Scenario, dataset: Dataset | None = None) -> Case:
    """Check a scenario built in code as a file is checked, and bind it to its dataset.

    Parameters
    ----------
    scenario : Scenario
        Built in code, or edited with ``dataclasses.replace``; codes may be a
        plain string, a list or ``"*"``, as in a file.
    dataset : Dataset, optional
        Use this dataset instead of loading ``scenario.dataset``.

    Raises
    ------
    InputError
        With the messages a scenario file would get, naming ``scenario '<name>'``.
    """
    if not isinstance(scenario, Scenario):
        raise TypeError(f"expected a sim.Scenario, got {type(scenario).__name__}")
    scenario, problems = check_scenario(scenario)
    return _bind(scenario, problems, {} if dataset is None else {None: dataset})


def validate(paths) -> list[Case]:
    """Check several scenario files (structure, codes, shocks) and report every problem at once.

    Returns
    -------
    list of Case
        One per file, in order; datasets named by several files are loaded once.
    """
    cases, problems, datasets = [], [], {}
    for path in paths:
        scenario, found = read_scenario(path)
        try:
            if scenario is None:
                found.raise_if_any()
            cases.append(_bind(scenario, found, datasets))
        except InputError as exc:
            problems.extend(exc.problems)
    if problems:
        raise InputError(problems)
    return cases


def _bind(scenario: Scenario, problems: ProblemList, datasets: dict) -> Case:
    """:func:`_bind_one`, each problem named by the file its block came from when the scenario extends another."""
    if not scenario.origins:
        return _bind_one(scenario, problems, datasets)
    try:  # ``problems`` are already named by their files: only what the binding finds is moved
        case = _bind_one(scenario, ProblemList(scenario.source), datasets)
    except InputError as exc:
        raise InputError([*problems.problems, *relocate(exc.problems, scenario.origins, scenario.source)]) from None
    problems.raise_if_any()
    return case


def _bind_one(scenario: Scenario, problems: ProblemList, datasets: dict) -> Case:
    """Load (or reuse) the dataset, check codes once, build shocks; raise every problem found."""
    dataset = datasets.get(None)
    if dataset is None and scenario.dataset:
        try:
            folder = resolve_dataset(scenario.dataset, scenario.base_dir, cited_in=scenario.source)
            folder = folder.resolve() if folder is not None else None
            dataset = datasets.get(folder) or load_dataset(scenario.dataset, scenario.base_dir,
                                                           cited_in=scenario.source)
            datasets[folder] = dataset
        except InputError as exc:
            problems.extend(exc.problems)
    if dataset is not None:
        problems.extend(check_codes(scenario, dataset.sectors, dataset.regions))
    problems.raise_if_any()
    case = Case(scenario, dataset, build_shocks(scenario, dataset))
    check_ownership(case)
    return case
