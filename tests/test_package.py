"""The package's public face."""

import subprocess
import sys

import sim


def test_public_api_names():
    for name in ("load_scenario", "prepare", "run", "validate", "compare", "Case", "Results", "Comparison",
                 "solve_equilibrium", "Scenario", "Tariff", "Quota", "Investment", "DemandShift",
                 "ElasticityOverride", "InputError", "ConvergenceError", "__version__"):
        assert hasattr(sim, name), name


def test_import_is_light():
    code = "import sys, sim; print(sorted(m for m in ('pandas', 'matplotlib', 'scipy') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
