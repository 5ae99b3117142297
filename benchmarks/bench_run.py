"""`run` end to end: whole processes, timed next to the bare imports they cannot avoid.

    python benchmarks/bench_run.py [--repeat 5] [--without-pyarrow]

Each command runs as a fresh process (what a user waits for), ``--repeat`` times
interleaved (every command once, then every command again, ...), after one untimed run of
each, with Python's bytecode cache on as in a user's installation (``PYTHONDONTWRITEBYTECODE``
is removed from the processes' environment); min and median wall times are printed. The
import floors show how much of a run is Python starting and loading numpy, pandas and
matplotlib. Targets (issue 22, measured against the floors of the same run, on the min and on
the median alike): the flagship without plots at most ``import numpy, pandas`` + 0.25 s, with
its plots (five with the ownership plot) at most ``import numpy, pandas, matplotlib`` + 0.7 s.
``import matplotlib`` alone loads neither its figures nor a renderer; the modules no figure can be
drawn without (``matplotlib.figure`` and the Agg backend) are a second floor, printed beside it:
the run with plots is shown above both.

pandas imports pyarrow when it is installed (the ``[test]`` extra installs it), which costs
its import floor and the runs alike; the output says whether it is importable, and
``--without-pyarrow`` blocks it in every process (``sys.modules["pyarrow"] = None``), as on an
installation without it.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FLAGSHIP = ROOT / "scenarios" / "steel_tariff_with_investment.toml"
NO_PYARROW = "import sys; sys.modules['pyarrow'] = None; "
FLOOR_PANDAS = 'python -c "import numpy, pandas"'
FLOOR_PLOTS = 'python -c "import numpy, pandas, matplotlib"'
FLOOR_DRAWING = 'python -c "import numpy, pandas, matplotlib.figure, <Agg>"'
#: command: (its floor, seconds allowed above it)
TARGETS = {"run flagship --no-plots": (FLOOR_PANDAS, 0.25), "run flagship (with plots)": (FLOOR_PLOTS, 0.7)}
#: command: a second floor, printed beside the target's (what the command cannot do without)
ALSO_ABOVE = {"run flagship (with plots)": FLOOR_DRAWING}


def _python(code: str, *args: str, without_pyarrow: bool) -> list[str]:
    return [sys.executable, "-c", (NO_PYARROW if without_pyarrow else "") + code, *args]


def _run_sim(*args: str, without_pyarrow: bool) -> list[str]:
    script = str(ROOT / "run_sim.py")
    code = f"import runpy, sys; sys.argv[0] = {script!r}; runpy.run_path({script!r}, run_name='__main__')"
    return _python(code, *args, without_pyarrow=without_pyarrow)


def commands(out: Path, without_pyarrow: bool = False) -> dict[str, list[str]]:
    plain = {"without_pyarrow": without_pyarrow}
    return {
        'python -c "import numpy"': _python("import numpy", **plain),
        FLOOR_PANDAS: _python("import numpy, pandas", **plain),
        FLOOR_PLOTS: _python("import numpy, pandas, matplotlib", **plain),
        FLOOR_DRAWING: _python("import numpy, pandas, matplotlib.figure, matplotlib.backends.backend_agg", **plain),
        "run flagship --no-plots": _run_sim("run", str(FLAGSHIP), "--out", str(out / "a"), "--quiet", "--no-plots",
                                            **plain),
        "run flagship (with plots)": _run_sim("run", str(FLAGSHIP), "--out", str(out / "b"), "--quiet", **plain),
    }


def pyarrow_status(without_pyarrow: bool) -> str:
    """Whether pyarrow is importable here, and whether ``import pandas`` loads it in the processes timed."""
    if without_pyarrow:
        return "pyarrow: blocked in every process timed (--without-pyarrow)"
    if importlib.util.find_spec("pyarrow") is None:
        return "pyarrow: not importable (not installed); pandas runs without it"
    probe = subprocess.run([sys.executable, "-c", "import sys, pandas; print('pyarrow' in sys.modules)"],
                           capture_output=True, text=True, check=True)
    loaded = "loads it" if probe.stdout.strip() == "True" else "does not load it"
    return f"pyarrow: importable (installed), and `import pandas` {loaded}; --without-pyarrow blocks it"


def _verdict(value: float, floor: float, allowed: float) -> str:
    return "met" if value <= floor + allowed else "NOT met"


def main(repeat: int = 5, without_pyarrow: bool = False, names=None) -> dict[str, list[float]]:
    """Time the commands (``names``: a subset, default all), interleaved; print min and median; return the times."""
    out = Path(tempfile.mkdtemp())
    chosen = {name: command for name, command in commands(out, without_pyarrow).items()
              if names is None or name in names}
    times: dict[str, list[float]] = {name: [] for name in chosen}
    # as a user's installation runs: bytecode cached (a sandbox may set PYTHONDONTWRITEBYTECODE, which would make
    # every run compile sim/ again while the import floors use numpy's and pandas' cached bytecode)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    for command in chosen.values():  # one untimed run each: caches written, files paged in
        subprocess.run(command, check=True, capture_output=True, cwd=ROOT, env=env)
    for _ in range(repeat):
        for name, command in chosen.items():
            start = time.perf_counter()
            subprocess.run(command, check=True, capture_output=True, cwd=ROOT, env=env)
            times[name].append(time.perf_counter() - start)
    print(f"{repeat} interleaved repetitions, each command a fresh process; {pyarrow_status(without_pyarrow)}")
    for name, values in times.items():
        best, median = min(values), statistics.median(values)
        line = f"{name:<62} min {best:6.2f} s   median {median:6.2f} s"
        floor_name, allowed = TARGETS.get(name, (None, 0.0))
        if floor_name in times:
            floor = times[floor_name]
            line += (f"   target <= floor + {allowed} s: {_verdict(best, min(floor), allowed)} (min: "
                     f"{best - min(floor):+.2f} s), {_verdict(median, statistics.median(floor), allowed)} (median: "
                     f"{median - statistics.median(floor):+.2f} s)")
        if ALSO_ABOVE.get(name) in times:
            other = times[ALSO_ABOVE[name]]
            line += (f"; above {ALSO_ABOVE[name]}: {best - min(other):+.2f} s (min), "
                     f"{median - statistics.median(other):+.2f} s (median)")
        print(line)
    return times


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--without-pyarrow", action="store_true", help="block pyarrow in every process timed")
    opts = parser.parse_args()
    main(opts.repeat, opts.without_pyarrow)
