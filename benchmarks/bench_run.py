"""`run` end to end: whole processes, timed next to bare imports for scale.

    python benchmarks/bench_run.py [--repeat 5]

Each command runs as a fresh process (what a user waits for), ``--repeat`` times
interleaved; min and median wall times are printed. The bare imports show how much
of a run is Python starting and loading numpy, pandas and matplotlib. Targets
(issue 22), each beside its floor measured in the same run: the flagship with
``--no-plots`` at most ``import numpy, pandas`` + 0.25 s, with its plots at most
``import numpy, pandas, matplotlib`` + 0.7 s (min against min, median against median).
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
        'python -c "import numpy, pandas"': [py, "-c", "import numpy, pandas"],
        'python -c "import numpy, pandas, matplotlib"': [py, "-c", "import numpy, pandas, matplotlib"],
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
    for name, values in times.items():
        print(f"{name:<44} min {min(values):6.2f} s   median {statistics.median(values):6.2f} s")
    for name, (floor, margin) in TARGETS.items():
        print(_target_line(name, times[name], floor, times[floor], margin))
    return times


# issue 22: each run at most its import floor (measured in the same run) plus a margin, in seconds
TARGETS = {"run flagship --no-plots": ('python -c "import numpy, pandas"', 0.25),
           "run flagship (with plots)": ('python -c "import numpy, pandas, matplotlib"', 0.7)}


def _target_line(name: str, values: list[float], floor: str, floor_values: list[float], margin: float) -> str:
    """``name`` against ``floor`` + ``margin``, min against min and median against median."""
    parts = []
    for how, pick in (("min", min), ("median", statistics.median)):
        run, base = pick(values), pick(floor_values)
        parts.append(f"{how} {run:.2f} s vs {base:.2f} + {margin} = {base + margin:.2f} s "
                     f"{'met' if run <= base + margin else 'NOT met'}")
    return f"target {name} <= {floor} + {margin} s: " + "; ".join(parts)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    main(parser.parse_args().repeat)
