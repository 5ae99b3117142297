"""A 50-region x 200-sector dataset (what ``dataset build`` makes from BACI): load, CSV write and ``run``, timed.

    python benchmarks/bench_dataset.py [--regions 50] [--sectors 200] [--repeat 5] [--dataset DIR]

The dataset is written once by :func:`synthetic.write_benchmark_dataset` (seeded: the same bytes every
time; ``--dataset DIR`` keeps it there and reuses it). Each measure is repeated ``--repeat``
times, interleaved with its floor, and printed as min and median (issue 22):

- ``load_dataset``: the careful line-by-line reader (forced) against the vectorised one, beside
  the floor of reading both CSV files with ``pandas.read_csv``; target at most 0.6 s.
- CSV write of the run's tables: pandas' ``to_csv`` (the former writer) against
  :func:`sim.output.write_csv`; the bytes are checked to be the same. Within it, the tables' floats
  formatted one ``%`` at a time (the former way) against :func:`sim.number_format.format_g10`.
- ``run --no-plots`` as a whole process against ``python -c "import numpy, pandas"``;
  target at most the floor + 2.0 s. Both run with bytecode caching on (``PYTHONDONTWRITEBYTECODE``
  unset, one run first to write the caches), as an installed tradesim runs.

Ratios are what to compare: other work on the machine slows every line alike (the load average is printed).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from synthetic import write_benchmark_dataset

ROOT = Path(__file__).resolve().parents[1]
def timed(function) -> float:
    started = time.perf_counter()
    function()
    return time.perf_counter() - started


def summary(values: list[float]) -> str:
    return f"min {min(values):6.2f} s   median {statistics.median(values):6.2f} s"


def interleaved(measures: dict, repeat: int) -> dict[str, list[float]]:
    """Each measure's wall times, the measures taking turns ``repeat`` times."""
    times = {name: [] for name in measures}
    for _ in range(repeat):
        for name, function in measures.items():
            times[name].append(timed(function))
    return times


def print_block(title: str, times: dict[str, list[float]], floor: str, target: float | None = None,
                over_floor: float | None = None) -> None:
    print(title)
    base = min(times[floor])
    for name, values in times.items():
        line = f"  {name:<42} {summary(values)}   x{min(values) / base:5.2f} of the floor"
        if name != floor and target is not None:
            line += f"   target <= {target} s: {'met' if min(values) <= target else 'NOT met'}"
        if name != floor and over_floor is not None:
            line += (f"   target <= floor + {over_floor} s = {base + over_floor:.2f} s: "
                     f"{'met' if min(values) <= base + over_floor else 'NOT met'}")
        print(line)


def load_times(folder: Path, repeat: int) -> dict[str, list[float]]:
    import pandas as pd

    from sim import dataset

    def careful():
        fast, dataset._fast_table = dataset._fast_table, lambda *args, **kwargs: None
        try:
            dataset.load_dataset(folder)
        finally:
            dataset._fast_table = fast

    measures = {"floor: pandas.read_csv of flows and tariffs": lambda: [pd.read_csv(folder / name) for name in
                                                                       ("flows.csv", "tariffs.csv")],
                "load_dataset, careful reader (before)": careful,
                "load_dataset (now)": lambda: dataset.load_dataset(folder)}
    return interleaved(measures, repeat)


def write_times(scenario: Path, repeat: int) -> dict[str, list[float]]:
    import numpy as np

    from sim import run
    from sim.number_format import format_g10
    from sim.output import FLOAT_FORMAT, _text_escaped, output_tables, write_csv

    res = run(scenario)
    tables = output_tables([res.by_scenario], [res])
    out = Path(tempfile.mkdtemp(prefix="bench_csv_"))

    def before():
        for name, table in tables.items():
            _text_escaped(table).to_csv(out / f"{name}.before.csv", index=False, float_format=FLOAT_FORMAT)

    def now():
        for name, table in tables.items():
            write_csv(table, out / f"{name}.csv")

    measures = {"floor: flows table to Parquet" if _has_pyarrow() else "floor: none (no pyarrow)":
                (lambda: tables["flows"].to_parquet(out / "flows.parquet")) if _has_pyarrow() else (lambda: None),
                "CSV tables with pandas to_csv (before)": before, "CSV tables with write_csv (now)": now}
    floats = np.concatenate([t[c].to_numpy() for t in tables.values() for c in t if t[c].dtype == np.float64])
    measures[f"{len(floats):,} floats, one '%' each (before)"] = lambda: [*map(FLOAT_FORMAT.__mod__, floats.tolist())]
    measures[f"{len(floats):,} floats with format_g10 (now)"] = lambda: format_g10(floats)
    times = interleaved(measures, repeat)
    rows = len(tables["flows"])
    same = all((out / f"{name}.before.csv").read_bytes() == (out / f"{name}.csv").read_bytes() for name in tables)
    print(f"CSV tables of the run ({rows:,} flow rows): the same bytes before and now: {same}")
    shutil.rmtree(out)
    return times


def _has_pyarrow() -> bool:
    import importlib.util

    return importlib.util.find_spec("pyarrow") is not None


def process_times(scenario: Path, repeat: int) -> dict[str, list[float]]:
    out = Path(tempfile.mkdtemp(prefix="bench_run_"))
    py = sys.executable
    commands = {'floor: python -c "import numpy, pandas"': [py, "-c", "import numpy, pandas"],
                "run --no-plots": [py, str(ROOT / "run_sim.py"), "run", str(scenario), "--no-plots", "--quiet",
                                   "--out", str(out / "run")]}
    env = {name: value for name, value in os.environ.items() if name != "PYTHONDONTWRITEBYTECODE"}
    for command in commands.values():  # writes the bytecode caches a run without them would compile every time
        subprocess.run(command, check=True, capture_output=True, env=env)
    times = interleaved({name: (lambda c=command: subprocess.run(c, check=True, capture_output=True, env=env))
                         for name, command in commands.items()}, repeat)
    shutil.rmtree(out)
    return times


def main(regions: int = 50, sectors: int = 200, repeat: int = 5, dataset: str | None = None) -> dict:
    folder = Path(dataset) if dataset else Path(tempfile.mkdtemp(prefix="bench_dataset_"))
    if not (folder / "dataset.toml").is_file():
        seconds = timed(lambda: write_benchmark_dataset(folder, regions, sectors))
        print(f"dataset written to {folder} in {seconds:.1f} s")
    scenario = folder.parent / f"{folder.name}_scenario.toml"
    scenario.write_text(f'name = "bench"\ndataset = "{folder.resolve()}"\n[[tariff]]\nsector = "*"\n'
                        'importer = "R00"\nexporter = "*"\nadd = 0.1\n')
    print(f"{regions} regions x {sectors} sectors, {repeat} interleaved repeats, load average "
          f"{', '.join(f'{load:.1f}' for load in os.getloadavg())} on {os.cpu_count()} cores")
    results = {"load": load_times(folder, repeat), "write": write_times(scenario, repeat),
               "process": process_times(scenario, repeat)}
    print_block("load_dataset", results["load"], "floor: pandas.read_csv of flows and tariffs", target=0.6)
    print_block("CSV write", results["write"], next(iter(results["write"])))
    print_block("whole process", results["process"], 'floor: python -c "import numpy, pandas"', over_floor=2.0)
    scenario.unlink()
    if not dataset:
        shutil.rmtree(folder)
    return results


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--regions", type=int, default=50)
    parser.add_argument("--sectors", type=int, default=200)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--dataset", default=None, help="Keep the dataset in this folder (reused when present).")
    main(**vars(parser.parse_args()))
