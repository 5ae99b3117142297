"""World scale: the solver's time and peak memory on large batches, against its floor and the pre-rewrite solver.

    python benchmarks/bench_scale.py            # the target sizes: solver, floor, reference
    python benchmarks/bench_scale.py --scaling  # also the scaling table (time and memory vs markets, vs regions)
    python benchmarks/bench_scale.py --threads 1 --repeat 5

For each size the same random markets (``bench_solver.random_markets``) are solved, interleaved,
``--repeat`` times:

- by ``sim.solve_equilibrium``, with its chunks on ``--threads`` threads (default: both the
  solver's own number, ``sim.engine.exact.THREADS``, and one);
- by the FLOOR (:func:`floor_solve`) on the same threads: the arithmetic the Newton steps cannot
  do without, in bare numpy — the same chunks (``sim.engine.exact.chunk_size``), each market
  iterated exactly as many times as the solver iterated it (``Solution.iterations``); per chunk
  the fast path's constants ``T̂^(−σ)``, ``A`` and ``B`` (the per-market power), then per iteration
  the Jacobian and its batched LU solve and the fast evaluation's two matrix–vector products at the
  new point; no line search, no bookkeeping, no ``Markets.take`` copies (a chunk's markets are
  ordered once by their iteration count, so the markets still iterating are a leading slice), and
  not the results (volumes, flows and welfare, which the solver computes after the last step);
- by ``reference_solver.reference_solve`` (the solver before issue 8: every market at once,
  full-size exponentials in every residual) on one thread.

BLAS is held to one thread for all three, like with like: the solver's chunks each run with one
BLAS thread (``sim.engine.exact.one_blas_thread``), and BLAS's threads on these small matrices
only slow the reference (up to 10× on this loaded machine at 1000 × 100; before issue 22 this
benchmark left the reference two BLAS threads and so overstated the speed-up: 16.9× against
6.6× with the same threads).

Printed per size: min and median of each, the solver / floor ratio (min over min, median over
median, and "paired": the median of each repetition's solver time over the floor's time measured
right after it, the steadiest on a loaded machine; issue 22's target: at most 2×) and the speed-up
on the reference, and the largest price
difference between the solver and the floor's Newton and between the solver and the reference.
Peak memory is the largest amount of memory numpy and Python held during one solve above what
was held before it (``tracemalloc``, in a separate call so it does not slow the timed ones), next
to ``sim.engine.exact.memory_estimate`` and the inputs' size. Targets (issue 8, this 2-core
machine): 5000 × 50 at most 1.5 s and 1 GiB; 1000 × 100 at most 1.5 s; 2000 × 8 no slower.
"""

from __future__ import annotations

import argparse
import contextlib
import statistics
import time
import tracemalloc
from concurrent.futures import ThreadPoolExecutor

import numpy as np
from bench_solver import random_markets
from reference_solver import reference_solve

import sim.engine.exact as exact
from sim import solve_equilibrium
from sim.engine.exact import chunk_size, memory_estimate, one_blas_thread

GIB = 2.0**30
TARGETS = [(5000, 50, 1.5, 1.0), (1000, 100, 1.5, None), (2000, 8, None, None)]
FLOOR_TARGET = 2.0  # solver / floor at most, at the sizes of FLOOR_SIZES (issue 22)
FLOOR_SIZES = {(5000, 50), (1000, 100)}


def peak_memory(solve, args) -> float:
    """Peak bytes allocated during one ``solve(*args)`` above what was allocated before."""
    tracemalloc.start()
    tracemalloc.reset_peak()
    before = tracemalloc.get_traced_memory()[0]
    solve(*args)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak - before


def timed(solve, *args):
    start = time.perf_counter()
    result = solve(*args)
    return time.perf_counter() - start, result


@contextlib.contextmanager
def solver_threads(threads: int):
    """``sim.solve_equilibrium`` with its chunks on ``threads`` threads at most."""
    saved = exact.THREADS
    exact.THREADS = threads
    try:
        yield
    finally:
        exact.THREADS = saved


def solver(threads: int):
    def solve(*args):
        with solver_threads(threads):
            return solve_equilibrium(*args)
    return solve


def reference(*args):
    with one_blas_thread:
        return reference_solve(*args)


# --- the floor ---------------------------------------------------------------------------------------


def _floor_evaluate(c, z, k):
    """The fast evaluation at ``z`` of the first ``k`` markets of chunk ``c`` (views, no copies):
    the scaled terms ``u``, ``S = uA``, ``c``, ``R = Bc`` and the residual."""
    one_minus_sigma = c["one_minus_sigma"][:k]
    exponent = one_minus_sigma * z
    top = exponent.max(axis=1, keepdims=True)
    u = np.exp(exponent - top)
    price_sums = np.matmul(u[:, None, :], c["A"][:k])[:, 0, :]
    log_price = (np.log(price_sums) + top) / one_minus_sigma
    demand_exponent = c["log_demand_shift"][:k] + c["eta_sigma"][:k] * log_price
    peak = demand_exponent.max(axis=1, keepdims=True)
    terms = np.exp(demand_exponent - peak)
    demand_sums = np.matmul(c["B"][:k], terms[:, :, None])[:, :, 0]
    residual = np.log(demand_sums) + peak - c["sigma_eps"][:k] * z - c["log_supply"][:k]
    return u, price_sums, terms, demand_sums, residual


def _floor_chunk(args, idx, iterations):
    """Newton on markets ``idx``, each for its ``iterations``: constants, then Jacobian, LU, evaluation."""
    order = np.argsort(-iterations, kind="stable")  # those iterating longest first: active = a leading slice
    idx, iterations = idx[order], iterations[order]
    flows, base, new, sigma, eta, eps, supply, demand = (a[idx] for a in args)
    base_factor = 1.0 + base
    spend = base_factor * flows
    shares = spend / spend.sum(axis=1, keepdims=True)
    ratio = (1.0 + new) / base_factor
    power = ratio ** -sigma[:, None, None]  # the per-market power T̂^(−σ)
    c = {"A": shares * ratio * power, "B": flows * power, "one_minus_sigma": (1.0 - sigma)[:, None],
         "eta_sigma": (eta + sigma)[:, None], "sigma_eps": sigma[:, None] + eps,
         "log_demand_shift": np.log1p(demand), "log_supply": np.log(flows.sum(axis=2) * (1.0 + supply))}
    m, n = eps.shape
    z = np.zeros((m, n))
    diagonal = np.arange(n)
    u, price_sums, terms, demand_sums, residual = _floor_evaluate(c, z, m)
    for it in range(int(iterations.max(initial=0))):
        k = int(np.count_nonzero(iterations > it))
        jac = np.matmul(c["B"][:k] * (terms[:k] / price_sums[:k])[:, None, :], c["A"][:k].transpose(0, 2, 1))
        jac *= (c["eta_sigma"][:k] / demand_sums[:k])[:, :, None]
        jac *= u[:k, None, :]
        jac[:, diagonal, diagonal] -= c["sigma_eps"][:k]
        z[:k] -= np.linalg.solve(jac, residual[:k, :, None])[:, :, 0]
        u[:k], price_sums[:k], terms[:k], demand_sums[:k], residual[:k] = _floor_evaluate(c, z[:k], k)
    return idx, z


def floor_solve(args, iterations, threads: int):
    """The floor of a solve of ``args`` (flat markets) whose markets took ``iterations``: log prices (M, N).

    The solver's chunks, on ``threads`` threads with one BLAS thread, as ``sim.solve_equilibrium`` runs them.
    """
    markets, n = args[5].shape
    step = chunk_size(n)
    chunks = [np.arange(start, min(start + step, markets)) for start in range(0, markets, step)]
    z = np.empty((markets, n))

    def run(idx):
        done, values = _floor_chunk(args, idx, iterations[idx])
        z[done] = values

    with one_blas_thread, np.errstate(all="ignore"), ThreadPoolExecutor(min(threads, len(chunks))) as pool:
        list(pool.map(run, chunks))
    return z


# --- the comparison ----------------------------------------------------------------------------------


def _stats(times):
    return {"min": min(times), "median": statistics.median(times)}


def compare(markets, regions, repeat, reference_too=True, threads=None):
    """Time (min, median) and peak memory of the solver and its floor on each of ``threads``, and of the reference.

    ``threads``: numbers of chunk threads (default: ``sim.engine.exact.THREADS`` and 1).
    """
    threads = sorted(set(threads or (exact.THREADS, 1)), reverse=True)
    args = random_markets(np.random.default_rng(0), markets, regions)
    inputs = sum(a.nbytes for a in args)
    new = solver(threads[0])(*args)  # its iteration counts build the floor; not timed
    times = {name: [] for t in threads for name in (("new", t), ("floor", t))} | {"reference": []}
    for _ in range(repeat):  # interleaved, so that a slow spell of the machine hits every method
        for t in threads:
            seconds, new = timed(solver(t), *args)
            times["new", t].append(seconds)
            seconds, floor = timed(floor_solve, args, new.iterations, t)
            times["floor", t].append(seconds)
        if reference_too:
            seconds, old = timed(reference, *args)
            times["reference"].append(seconds)
    row = {"markets": markets, "regions": regions, "chunk": chunk_size(regions), "inputs": inputs / GIB,
           "threads": threads, "peak": peak_memory(solve_equilibrium, args) / GIB,
           "estimate": memory_estimate(markets, regions) / GIB, "converged": int(new.converged.sum()),
           "max_residual": float(new.max_residual.max()), "iterations": float(new.iterations.mean()),
           "floor_agree": float(np.abs(np.exp(floor) - new.producer_price).max())}
    for t in threads:
        row["new", t], row["floor", t] = _stats(times["new", t]), _stats(times["floor", t])
        row["paired", t] = statistics.median(a / b for a, b in zip(times["new", t], times["floor", t]))
    row |= {"min": row["new", threads[0]]["min"], "median": row["new", threads[0]]["median"]}
    if reference_too:
        row |= {"ref": _stats(times["reference"]), "ref_peak": peak_memory(reference, args) / GIB,
                "agree": float(np.abs(new.producer_price - old.producer_price).max())}
    return row


def _ratio(a, b):
    return f"{a['min'] / b['min']:.1f}x (medians {a['median'] / b['median']:.1f}x)"


def print_targets(repeat, sizes=TARGETS, threads=None):
    print(f"sim.solve_equilibrium against its floor and the pre-rewrite solver; {repeat} interleaved repetitions; "
          "BLAS at one thread for all; memory above inputs")
    for markets, regions, time_target, memory_target in sizes:
        r = compare(markets, regions, repeat, threads=threads)
        ref = r["ref"]
        print(f"{markets:>5} x {regions:<3} (chunks of {r['chunk']}, {r['iterations']:.1f} iterations a market): "
              f"converged {r['converged']}/{markets}; peak {r['peak']:.2f} GiB (estimate {r['estimate']:.2f}, "
              f"reference {r['ref_peak']:.2f}, inputs {r['inputs']:.2f})")
        for t in r["threads"]:
            new, floor = r["new", t], r["floor", t]
            ratio = new["min"] / floor["min"], new["median"] / floor["median"]
            verdict = ""
            if (markets, regions) in FLOOR_SIZES:
                verdict = f" (target <= {FLOOR_TARGET:g}x: {'met' if max(ratio) <= FLOOR_TARGET else 'NOT met'})"
            print(f"      {t} thread{'s' if t > 1 else ' '}: solver min {new['min']:.3f} s, median "
                  f"{new['median']:.3f} s | FLOOR min {floor['min']:.3f} s, median {floor['median']:.3f} s | "
                  f"solver / floor "
                  f"{ratio[0]:.2f}x min, {ratio[1]:.2f}x median, {r['paired', t]:.2f}x paired{verdict} | "
                  f"speed-up on the reference {_ratio(ref, new)}")
        print(f"      reference (1 thread): min {ref['min']:.3f} s, median {ref['median']:.3f} s; prices agree with "
              f"the reference to {r['agree']:.0e}, with the floor's Newton to {r['floor_agree']:.0e}")
        target = []
        if time_target:
            target.append(f"target <= {time_target} s: {'met' if r['min'] <= time_target else 'NOT met'} (min)")
        if memory_target:
            target.append(f"<= {memory_target} GiB: {'met' if r['peak'] <= memory_target else 'NOT met'}")
        if target:
            print("      issue 8: " + "; ".join(target))


def print_scaling(repeat):
    print("\n| markets | regions | time, min (s) | time, median (s) | peak memory (GiB) | estimate (GiB) "
          "| inputs (GiB) |")
    print("|---:|---:|---:|---:|---:|---:|---:|")
    sizes = [(m, 50) for m in (500, 1000, 2000, 5000, 10000)] + [(1000, n) for n in (10, 25, 100, 200)]
    for markets, regions in sizes:
        r = compare(markets, regions, repeat, reference_too=False, threads=[exact.THREADS])
        print(f"| {markets:,} | {regions} | {r['min']:.3f} | {r['median']:.3f} | {r['peak']:.2f} | {r['estimate']:.2f} "
              f"| {r['inputs']:.2f} |")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--threads", type=int, nargs="+", default=None,
                        help=f"chunk threads for the solver and its floor (default: {exact.THREADS} and 1)")
    parser.add_argument("--scaling", action="store_true", help="also print the scaling table")
    opts = parser.parse_args()
    print_targets(opts.repeat, threads=opts.threads)
    if opts.scaling:
        print_scaling(opts.repeat)
