"""`run` end to end: whole processes, timed next to bare imports for scale.

    python benchmarks/bench_run.py [--repeat 5]

Each command runs as a fresh process (what a user waits for), ``--repeat`` times
interleaved; min and median wall times are printed. The bare imports show how much
of a run is Python starting and loading numpy, pandas and matplotlib. Targets
(issue 8, this machine): the flagship with plots at most 1.2 s, with ``--no-plots``
at most 0.45 s.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FLAGSHIP = ROOT / "scenarios" / "steel_tariff_with_investment.toml"


def commands(out: Path) -> dict[str, list[str]]:
    py = sys.executable
    return {
        'python -c "import numpy"': [py, "-c", "import numpy"],
        'python -c "import pandas"': [py, "-c", "import pandas"],
        'python -c "import matplotlib.figure"': [py, "-c", "import matplotlib.figure, matplotlib.backends.backend_agg"],
        "run flagship --no-plots": [py, str(ROOT / "run_sim.py"), "run", str(FLAGSHIP), "--out", str(out / "a"),
                                    "--quiet", "--no-plots"],
        "run flagship (with plots)": [py, str(ROOT / "run_sim.py"), "run", str(FLAGSHIP), "--out", str(out / "b"),
                                      "--quiet"],
    }


def main(repeat: int = 5) -> dict[str, list[float]]:
    out = Path(tempfile.mkdtemp())
    times: dict[str, list[float]] = {name: [] for name in commands(out)}
    for _ in range(repeat):
        for name, command in commands(out).items():
            start = time.perf_counter()
            subprocess.run(command, check=True, capture_output=True)
            times[name].append(time.perf_counter() - start)
    targets = {"run flagship --no-plots": 0.45, "run flagship (with plots)": 1.2}
    for name, values in times.items():
        line = f"{name:<40} min {min(values):6.2f} s   median {statistics.median(values):6.2f} s"
        if name in targets:
            line += f"   target <= {targets[name]} s: {'met' if min(values) <= targets[name] else 'NOT met'}"
        print(line)
    return times


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    main(parser.parse_args().repeat)
