"""tradesim: a trade-policy scenario simulator (multi-region, multi-sector Armington PE model).

Quick use::

    import sim
    sc = sim.load_scenario("scenarios/steel_232_2025.toml")   # a Case: scenario + dataset + shocks
    res = sim.run(sc)                                         # Results
    res.welfare                                               # tidy DataFrame
    res.plot.welfare()                                        # matplotlib Axes
    both = sim.compare([res, sim.run("scenarios/steel_50pct_2025.toml")])

The model, its welfare measures, the solver and the file formats are
documented in ``docs/model.md``. Heavy modules (pandas, matplotlib) are
imported only when first needed.
"""

from .case import Case, load_scenario, prepare, validate  # noqa: E402
from .dataset import Dataset, builtin_datasets, load_dataset  # noqa: E402
from .engine import Solution, solve_equilibrium  # noqa: E402
from .errors import ConvergenceError, InputError, ScenarioWarning  # noqa: E402
from .scenario import (  # noqa: E402
    Adjustment,
    DemandShift,
    ElasticityOverride,
    Investment,
    PassThrough,
    Quota,
    Scenario,
    Tariff,
    Uncertainty,
)
from .version import __version__  # noqa: E402

__all__ = [
    "__version__", "load_scenario", "prepare", "validate", "run", "compare", "Case", "Results", "Comparison",
    "solve_equilibrium", "Solution", "Scenario", "Tariff", "Quota", "Investment", "DemandShift",
    "ElasticityOverride", "Dataset", "load_dataset", "builtin_datasets", "InputError", "ConvergenceError",
    "ScenarioWarning", "Uncertainty", "sweep", "PassThrough", "Adjustment", "read_results",
]


def __getattr__(name):
    # Results and comparisons pull in pandas; load them on first use to keep `import sim` fast.
    if name == "run":
        from .runner import run

        return run
    if name in ("compare", "Comparison"):
        from . import comparison

        return getattr(comparison, name)
    if name in ("sweep", "SweepResults"):
        from . import sweeps

        return getattr(sweeps, name)
    if name in ("read_results", "ReadResults"):
        from . import readback

        return getattr(readback, name)
    if name == "Results":
        from .results import Results

        return Results
    raise AttributeError(f"module 'sim' has no attribute {name!r}")


def __dir__():
    # Tab completion lists the lazily loaded names (run, compare, sweep, Results, ...) too.
    return sorted(set(globals()) | set(__all__) | {"SweepResults", "ReadResults"})
