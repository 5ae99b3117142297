"""World-scale bring-your-own-data: a BACI-format file of 5000 HS6 products × 50 countries, end to end.

    python benchmarks/bench_baci.py [--products 5000] [--countries 50] [--density 0.2] [--repeat 3] [--keep DIR]

Phases, each a fresh process so that its peak memory is its own: write the BACI file and
the concordances (here, in Python, once), ``dataset build`` (with MFN tariffs for five
importers), ``validate`` and ``run`` of a scenario on the built dataset (``--no-plots``).
The three phases run ``--repeat`` times, interleaved (build, validate, run, build, ...; each
repetition builds into a folder of its own); each phase's wall time and peak resident memory
are printed with their min and median, and the file's size: the build
reads the trade file in chunks, so its memory should stay far below the file's size
(issue 12: a 1 GB BACI year in about 2 GB at most).
"""

from __future__ import annotations

import argparse
import csv
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]


def write_inputs(folder: Path, products: int, countries: int, density: float, seed: int = 1) -> dict:
    """BACI-format trade (one year), the country file and the concordances; returns their paths."""
    rng = np.random.default_rng(seed)
    codes = np.arange(1, countries + 1) * 4  # CEPII-like numeric codes
    iso = [f"C{c:03d}" for c in codes]
    hs = np.array([f"{(10 + p // 60) % 97 + 1:02d}{p % 60:02d}{p % 97:02d}" for p in range(products)])
    hs = np.unique(hs)[:products]
    paths = {name: folder / f"{name}.csv" for name in ("trade", "countries", "products", "sectors", "regions",
                                                       "production", "tariffs")}
    with open(paths["trade"], "w", newline="") as fh:
        fh.write("t,i,j,k,v,q\n")
        pairs = [(a, b) for a in range(countries) for b in range(countries) if a != b]
        for start in range(0, len(hs), 250):  # write in blocks: the file is large, the block small
            block = hs[start:start + 250]
            for a, b in pairs:
                keep = rng.random(len(block)) < density
                if not keep.any():
                    continue
                values = rng.lognormal(3.0, 2.0, keep.sum())
                lines = [f"2022,{codes[a]},{codes[b]},{int(k)},{v:.3f},{v / 2:.3f}\n" for k, v in zip(block[keep],
                                                                                                      values)]
                fh.writelines(lines)
    with open(paths["countries"], "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["country_code", "country_name", "country_iso2", "country_iso3"])
        for c, name in zip(codes, iso):
            w.writerow([c, name, name[:2], name])
    chapters = sorted({h[:2] for h in hs})
    sectors = [f"s{n}" for n in range(10)]
    with open(paths["products"], "w") as fh:
        fh.write("hs,sector\n" + "".join(f"{ch},{sectors[n % 10]}\n" for n, ch in enumerate(chapters)))
    with open(paths["sectors"], "w") as fh:
        fh.write("sector,name,sigma,eta,eps,source\n" + "".join(f"{s},Sector {s},4,-1,3,benchmark\n" for s in sectors))
    regions = [f"R{n}" for n in range(min(10, countries))]
    with open(paths["regions"], "w") as fh:
        fh.write("iso3,region\n" + "".join(f"{name},{regions[n % len(regions)]}\n" for n, name in enumerate(iso)))
    with open(paths["production"], "w") as fh:
        fh.write("region,sector,value\n" + "".join(f"{r},{s},1000000\n" for r in regions + ["ROW"] for s in sectors))
    with open(paths["tariffs"], "w") as fh:
        fh.write("importer,exporter,hs,rate\n" + "".join(f"{iso[n]},*,{ch},0.05\n" for n in range(5)
                                                         for ch in chapters))
    return paths


def phase(command: list[str]) -> tuple[float, float]:
    """Wall seconds and peak resident memory (GiB) of ``command`` run as its own process."""
    started = time.perf_counter()
    with tempfile.TemporaryFile() as errors:
        process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=errors)
        _, status, usage = os.wait4(process.pid, 0)
        process.returncode = os.waitstatus_to_exitcode(status)  # reaped here: tell Popen, so it does not wait
        seconds = time.perf_counter() - started
        if status != 0:
            errors.seek(0)
            raise SystemExit(f"failed: {' '.join(command)}\n{errors.read().decode()}")
    return seconds, usage.ru_maxrss / 2**20  # ru_maxrss is in KiB on Linux


PHASES = ("dataset build", "validate", "run --no-plots")


def phases(folder: Path, paths: dict, rep: int) -> dict[str, list[str]]:
    """The commands of one repetition (its own dataset, scenario and output folders)."""
    py = sys.executable
    out = folder / f"dataset{rep}"
    build = [py, "run_sim.py", "dataset", "build", "--year", "2022", "--name", "bench", "--out", str(out)]
    for option in ("trade", "countries", "products", "sectors", "regions", "production", "tariffs"):
        build += [f"--{option}", str(paths[option])]
    scenario = folder / f"scenario{rep}.toml"
    scenario.write_text(f'name = "bench"\ndataset = "{out}"\n[[tariff]]\nsector = "*"\nimporter = "R0"\n'
                        'exporter = "*"\nadd = 0.1\n')
    run = [py, "run_sim.py", "run", str(scenario), "--no-plots", "--out", str(folder / f"out{rep}")]
    return dict(zip(PHASES, (build, [py, "run_sim.py", "validate", str(scenario)], run)))


def main(products=5000, countries=50, density=0.2, repeat=3, keep=None):
    folder = Path(keep) if keep else Path(tempfile.mkdtemp(prefix="bench_baci_"))
    folder.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    paths = write_inputs(folder, products, countries, density)
    with open(paths["trade"]) as fh:
        rows = sum(1 for _ in fh) - 1
    size = paths["trade"].stat().st_size / 2**20
    print(f"BACI-format file: {rows:,} rows, {size:,.0f} MiB ({products} HS6 products x {countries} countries, "
          f"density {density}); written in {time.perf_counter() - started:.1f} s")
    results = {name: [] for name in PHASES}
    for rep in range(repeat):  # interleaved, so that a slow spell of the machine hits every phase
        for name, command in phases(folder, paths, rep).items():
            results[name].append(phase(command))
    print(f"  {repeat} interleaved repetitions, each phase a fresh process")
    for name, runs in results.items():
        seconds, peaks = [r[0] for r in runs], [r[1] for r in runs]
        print(f"  {name:<15} min {min(seconds):7.2f} s, median {statistics.median(seconds):7.2f} s   peak memory "
              f"min {min(peaks):6.2f} GiB, median {statistics.median(peaks):6.2f} GiB")
    if not keep:
        shutil.rmtree(folder)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--products", type=int, default=5000)
    parser.add_argument("--countries", type=int, default=50)
    parser.add_argument("--density", type=float, default=0.2)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--keep", default=None, help="Keep the files in this folder.")
    main(**vars(parser.parse_args()))
