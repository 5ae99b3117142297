"""tradesim: a trade-policy scenario simulator (multi-region, multi-sector Armington PE model).

Quick use::

    import sim
    sc = sim.load_scenario("scenarios/example_steel_tariff.toml")
    res = sim.run(sc)
    res.welfare            # tidy DataFrame
    res.plot.welfare()     # matplotlib Axes

Heavy modules (pandas, matplotlib) are imported only when first needed.
"""

__version__ = "0.1.0"

from .dataset import Dataset, builtin_datasets, load_dataset  # noqa: E402
from .errors import ConvergenceError, InputError, ScenarioWarning  # noqa: E402
from .scenario import DemandShift, ElasticityOverride, Investment, Scenario, Tariff  # noqa: E402
from .solver import Solution, solve_equilibrium  # noqa: E402

__all__ = [
    "__version__", "load_scenario", "run", "validate", "Results", "solve_equilibrium", "Solution",
    "Scenario", "Tariff", "Investment", "DemandShift", "ElasticityOverride", "Dataset", "load_dataset",
    "builtin_datasets", "InputError", "ConvergenceError", "ScenarioWarning",
]


def __getattr__(name):
    # The workflow pulls in pandas; load it on first use to keep `import sim` fast.
    if name in ("load_scenario", "run", "validate"):
        from . import runner

        return getattr(runner, name)
    if name == "Results":
        from .results import Results

        return Results
    raise AttributeError(f"module 'sim' has no attribute {name!r}")
