"""World-scale bring-your-own-data: a BACI-format file of 5000 HS6 products × 50 countries, end to end.

    python benchmarks/bench_baci.py [--products 5000] [--countries 50] [--density 0.2] [--repeat 3] [--keep DIR]
    python benchmarks/bench_baci.py --rows 10000000 [--repeat 3] [--keep DIR] [--baseline CHECKOUT]

Phases, each a fresh process so that its peak memory is its own: write the BACI file and
the concordances (here, in Python, once), ``dataset build`` (with MFN tariffs for five
importers), ``validate`` and ``run`` of a scenario on the built dataset (``--no-plots``).
The three phases run ``--repeat`` times, interleaved (build, validate, run, build, ...; each
repetition builds into a folder of its own); each phase's wall time and peak resident memory
are printed with their min and median, and the file's size: the build
reads the trade file in chunks, so its memory should stay far below the file's size
(issue 12: a 1 GB BACI year in about 2 GB at most).

With ``--rows``: a realistic BACI year of that many rows (:func:`write_year`; kept in ``--keep``,
default a folder in the temporary directory, and reused) is built by ``dataset build``, each
repeat a fresh process, interleaved with its floor, reading the same file with ``pandas.read_csv``
(defaults, a fresh process too), in an order that turns each round; prints min and median wall time
and peak memory of each, and the ratios (issue 22's target: the build in at most 2x the floor, peak
memory at most 1 GiB). With ``--baseline`` (another checkout, e.g. of main), its build is timed in the
same rounds and the two built folders are compared byte for byte.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
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


def write_year(folder: Path, rows: int, countries: int = 226, products: int = 5300, sectors: int = 60,
               regions: int = 40, seed: int = 2) -> dict:
    """A realistic BACI year of about ``rows`` rows and its concordances in ``folder``; returns their paths.

    Like a published year: CEPII-style numeric country codes, HS6 codes in the nomenclature's
    shape (chapters 01-97, headings, subheadings; written as numbers, leading zeros lost), one
    row per exporter, importer and product, sorted by them, heavy-tailed economy sizes and product
    popularity (the large pairs trade nearly every product, the small ones a few), values in
    thousand USD with three decimals and some quantities ``NA``. Sectors are chapters split by
    headings and a few HS6 codes, one chapter left unmapped; the largest countries are their own
    region, the next ones grouped, the smallest left to ROW; MFN rates by heading for eight
    importers and preferential rates by chapter for some pairs. Files already written for the
    same arguments are kept (``folder/year.txt`` records them).
    """
    folder.mkdir(parents=True, exist_ok=True)
    paths = {name: folder / f"{name}.csv" for name in ("trade", "countries", "products", "sectors", "regions",
                                                       "production", "tariffs")}
    stamp = folder / "year.txt"
    arguments = f"{rows} {countries} {products} {sectors} {regions} {seed}"
    if stamp.exists() and stamp.read_text() == arguments and all(p.exists() for p in paths.values()):
        return paths
    rng = np.random.default_rng(seed)
    codes = np.sort(rng.choice(np.arange(4, 900), countries, replace=False))
    iso = [chr(65 + n % 26) + chr(65 + (n * 7 + 3) % 26) + chr(65 + n // 26) for n in range(countries)]
    hs = _hs6_nomenclature(rng, products)
    size = rng.lognormal(0.0, 1.6, countries)
    exporter, importer, product = _trading_triples(rng, rows, size, rng.lognormal(0.0, 1.0, len(hs)), len(hs))
    _write_trade(paths["trade"], rng, codes[exporter], codes[importer], hs[product], size[exporter] * size[importer])
    with open(paths["countries"], "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["country_code", "country_name", "country_iso2", "country_iso3"])
        w.writerows([c, f"Country {c}, {name}", name[:2], name] for c, name in zip(codes, iso))
    sector_codes = [f"s{n:03d}" for n in range(sectors)]
    _write_concordance(paths["products"], rng, hs, sector_codes)
    with open(paths["sectors"], "w") as fh:
        fh.write("sector,name,sigma,eta,eps,source\n" + "".join(
            f"{s},Sector {s},{rng.uniform(2, 8):.2f},-1,{'inf' if n % 7 == 0 else 2},benchmark\n"
            for n, s in enumerate(sector_codes)))
    by_size = np.argsort(-size)
    own, grouped = by_size[:regions * 5 // 8], by_size[regions * 5 // 8:countries * 85 // 100]
    region_of = {iso[c]: iso[c] for c in own} | {iso[c]: f"G{n % (regions - len(own)):02d}" for n, c in
                                                  enumerate(grouped)}
    with open(paths["regions"], "w") as fh:
        fh.write("iso3,region,region_name\n" + "".join(f"{c},{r},Region {r}\n" for c, r in region_of.items()))
    with open(paths["production"], "w") as fh:
        fh.write("region,sector,value\n" + "".join(f"{r},{s},{rng.lognormal(10, 1.5):.1f}\n"
                                                   for r in [*dict.fromkeys(region_of.values()), "ROW"]
                                                   for s in sector_codes))
    _write_tariffs(paths["tariffs"], rng, [iso[c] for c in by_size[:8]], [iso[c] for c in by_size[8:40]], hs)
    stamp.write_text(arguments)
    return paths


def _hs6_nomenclature(rng, products: int) -> np.ndarray:
    """``products`` HS6 codes as numbers: chapters 1-97 (not 77), 3-40 headings each, 1-11 subheadings each."""
    codes = [chapter * 10_000 + heading * 100 + sub
             for chapter in range(1, 98) if chapter != 77
             for heading in np.sort(rng.choice(np.arange(1, 100), rng.integers(3, 40), replace=False))
             for sub in np.sort(rng.choice(np.arange(0, 100), rng.integers(1, 12), replace=False))]
    return np.sort(rng.choice(np.array(codes), min(products, len(codes)), replace=False))


def _trading_triples(rng, rows: int, size, popularity, products: int):
    """``rows`` distinct (exporter, importer, product) triples, sorted, drawn with weights size x size x popularity."""
    countries = len(size)
    p_exporter, p_importer = size ** 1.1 / (size ** 1.1).sum(), size ** 0.9 / (size ** 0.9).sum()
    p_product = popularity / popularity.sum()
    keys = np.empty(0, dtype=np.int64)
    while len(keys) < rows:
        draws = max(rows - len(keys), 1_000_000) * 2
        e, i = rng.choice(countries, draws, p=p_exporter), rng.choice(countries, draws, p=p_importer)
        k = rng.choice(products, draws, p=p_product)
        keys = np.union1d(keys, ((e * countries + i) * products + k)[e != i])
    keys = np.sort(rng.choice(keys, rows, replace=False))
    pair, product = np.divmod(keys, products)
    exporter, importer = np.divmod(pair, countries)
    return exporter, importer, product


def _write_trade(path: Path, rng, exporters, importers, products, scale, block: int = 250_000) -> None:
    """``t,i,j,k,v,q`` lines: values in thousand USD (three decimals), quantities in tonnes, 5% ``NA``."""
    values = np.maximum(rng.lognormal(1.0, 2.3, len(exporters)) * scale ** 0.3, 0.001)
    tonnes = values * rng.lognormal(-0.5, 1.5, len(values))
    missing = rng.random(len(values)) < 0.05
    with open(path, "w", newline="") as fh:
        fh.write("t,i,j,k,v,q\n")
        for start in range(0, len(values), block):
            part = slice(start, start + block)
            fh.writelines(f"2022,{i},{j},{k},{v:.3f},{'           NA' if m else f'{q:.3f}'}\n" for i, j, k, v, q, m in
                          zip(exporters[part].tolist(), importers[part].tolist(), products[part].tolist(),
                              values[part].tolist(), tonnes[part].tolist(), missing[part].tolist()))


def _write_concordance(path: Path, rng, hs, sector_codes) -> None:
    """Chapters to sectors in order, a fifth of the headings and 50 HS6 codes moved to others, chapter 97 unmapped."""
    chapters = sorted({int(h) // 10_000 for h in hs} - {97})
    headings = sorted({int(h) // 100 for h in hs if int(h) // 10_000 != 97})
    lines = [f"{c:02d},{sector_codes[n * len(sector_codes) // len(chapters)]}\n" for n, c in enumerate(chapters)]
    lines += [f"{h:04d},{sector_codes[rng.integers(len(sector_codes))]}\n" for h in headings if rng.random() < 0.2]
    lines += [f"{h:06d},{sector_codes[rng.integers(len(sector_codes))]}\n"
              for h in rng.choice(hs[hs // 10_000 != 97], 50, replace=False)]
    path.write_text("hs,sector\n" + "".join(lines))


def _write_tariffs(path: Path, rng, importers, partners, hs) -> None:
    """MFN rates by heading for ``importers``; preferential rates by chapter for the first four and ten partners."""
    headings = sorted({int(h) // 100 for h in hs})
    chapters = sorted({int(h) // 10_000 for h in hs})
    lines = [f"{imp},*,{h:04d},{rng.choice([0, rng.uniform(0, 0.3)]):.3f}\n" for imp in importers for h in headings]
    lines += [f"{imp},{exp},{c:02d},{rng.uniform(0, 0.05):.3f}\n" for imp in importers[:4]
              for exp in rng.choice(partners, 10, replace=False) if exp != imp for c in chapters]
    path.write_text("importer,exporter,hs,rate\n" + "".join(lines))


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


def timed(command: list[str], cwd: Path, cpu: list | None = None) -> tuple[float, float]:
    """Wall seconds and peak resident memory (GiB) of ``command`` run in ``cwd`` as its own process.

    Its CPU seconds (user + system, all threads) are appended to ``cpu`` if given.
    """
    started = time.perf_counter()
    with tempfile.TemporaryFile() as errors:
        process = subprocess.Popen(command, cwd=cwd, stdout=subprocess.DEVNULL, stderr=errors)
        _, status, usage = os.wait4(process.pid, 0)
        process.returncode = os.waitstatus_to_exitcode(status)
        seconds = time.perf_counter() - started
        if status != 0:
            errors.seek(0)
            raise SystemExit(f"failed: {' '.join(command)}\n{errors.read().decode()}")
    if cpu is not None:
        cpu.append(usage.ru_utime + usage.ru_stime)
    return seconds, usage.ru_maxrss / 2**20


def folder_digest(folder: Path) -> str:
    """One hash of every file in ``folder`` (names and bytes), to tell whether two builds wrote the same."""
    digest = hashlib.sha256()
    for path in sorted(folder.iterdir()):
        digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def main_year(rows=10_000_000, repeat=3, keep=None, baseline=None):
    """``dataset build`` on a realistic BACI year against the pandas read of the same file, interleaved."""
    folder = Path(keep) if keep else Path(tempfile.gettempdir()) / f"bench_baci_year_{rows}"
    started = time.perf_counter()
    paths = write_year(folder, rows)
    size = paths["trade"].stat().st_size / 2**20
    print(f"BACI year: {rows:,} rows, {size:,.0f} MiB (realistic: 226 countries, 5300 HS6 codes, 60 sectors, 40 "
          f"regions; MFN and preferential tariffs); ready in {time.perf_counter() - started:.1f} s ({folder})")
    out = folder / "dataset"
    build = [sys.executable, "run_sim.py", "dataset", "build", "--year", "2022", "--name", "bench", "--out", str(out),
             "--force"]
    for option in ("trade", "countries", "products", "sectors", "regions", "production", "tariffs"):
        build += [f"--{option}", str(paths[option])]
    runs = {"pandas.read_csv (floor)": ([sys.executable, "-c", "import sys, pandas; pandas.read_csv(sys.argv[1])",
                                         str(paths["trade"])], ROOT),
            "dataset build": (build, ROOT)}
    if baseline:
        runs["dataset build (baseline)"] = (build, Path(baseline).resolve())
    seconds = {name: [] for name in runs}
    peaks = {name: [] for name in runs}
    cpu = {name: [] for name in runs}
    digests = {}
    order = list(runs.items())
    for round_ in range(repeat):  # the order turns each round: no run always follows the floor's 1.3 GiB exit
        turn = round_ % len(order)
        for name, (command, cwd) in order[turn:] + order[:turn]:
            wall, peak = timed(command, cwd, cpu[name])
            seconds[name].append(wall)
            peaks[name].append(peak)
            if command is build:
                digests.setdefault(name, set()).add(folder_digest(out))
    floor = seconds["pandas.read_csv (floor)"]
    print(f"  {repeat} interleaved rounds, each run a fresh process; floor: pandas.read_csv of the same file with "
          "default options (import pandas included)")
    for name in runs:
        ratio = "" if name.endswith("(floor)") else (f"   x floor: {min(seconds[name]) / min(floor):.2f} (min), "
                                                      f"{np.median(seconds[name]) / np.median(floor):.2f} (median)")
        print(f"  {name:<25} min {min(seconds[name]):6.2f} s  median {np.median(seconds[name]):6.2f} s   peak memory "
              f"{max(peaks[name]):5.2f} GiB{ratio}")
        print(f"  {'':<25} CPU (all threads) min {min(cpu[name]):6.2f} s  median {np.median(cpu[name]):6.2f} s")
    print(verdict(seconds["dataset build"], floor, max(peaks["dataset build"])))
    if baseline:
        same = len(set().union(*digests.values())) == 1
        print(f"  built folders byte-identical to the baseline's: {'yes' if same else 'NO'}")
    return seconds, peaks


def verdict(build: list[float], floor: list[float], peak: float, ratio: float = 2.0, memory: float = 1.0) -> str:
    """Issue 22's target, judged on the median ratio (the min ratio beside it): build <= 2x floor, peak <= 1 GiB."""
    median = float(np.median(build) / np.median(floor))
    fastest = min(build) / min(floor)
    met = median <= ratio and peak <= memory
    return (f"  target: dataset build <= {ratio:g}x the floor and peak memory <= {memory:g} GiB: "
            f"{'met' if met else 'NOT met'} (median ratio {median:.2f}, min ratio {fastest:.2f}, peak {peak:.2f} GiB)")


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
    parser.add_argument("--repeat", type=int, default=3, help="Rounds of the interleaved runs.")
    parser.add_argument("--keep", default=None, help="Keep the files in this folder.")
    parser.add_argument("--rows", type=int, default=None, help="Time dataset build on a realistic BACI year of this "
                                                                "many rows against the pandas read of the file.")
    parser.add_argument("--baseline", default=None, help="With --rows: also time this checkout's build and compare "
                                                         "the built folders.")
    args = parser.parse_args()
    if args.rows:
        main_year(args.rows, args.repeat, args.keep, args.baseline)
    else:
        main(args.products, args.countries, args.density, args.repeat, args.keep)
