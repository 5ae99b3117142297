"""Batched Newton solver for the exact model, and the public array kernel: how a batch is scheduled.

The arguments are checked and broadcast in :mod:`sim.engine.batch`, the iterations run in
:mod:`sim.engine.newton`, the quota flows are solved in :mod:`sim.engine.quotas`, and each
chunk's results are computed and stored by :mod:`sim.engine.solution`; this module splits a
batch into chunks, runs them on the cores or a Dask cluster, and checks memory first.

All markets of a run (sectors × years × draws × ...) are solved together as
one batch, in chunks of markets sized from the number of regions so that each
chunk's working arrays stay in cache (:func:`chunk_size`). Each Newton iteration
evaluates a chunk's markets with :func:`sim.engine.equations.fast_evaluate` (two
matrix–vector products per market) and solves the ``(m, N, N)`` linear systems in
one ``numpy.linalg.solve`` call; a backtracking line search on the residual norm
safeguards large shocks, and markets that have converged leave the iteration.
The results of each chunk are computed
from the fast path's constants at the solution, and term by term
(:func:`sim.engine.equations.evaluate`) for markets flagged for exact evaluation or whose
results overflow there; the reported residual (``max_residual``) is the one of that
evaluation. The two evaluations are the same algebra and differ by rounding only (below
1e-12 on the extreme test batches, tests/test_extreme_batches.py re-checks every converged
market against market clearing written independently). The convergence rule and fallbacks
are described in docs/model.md, "Solver".

Chunks are independent, so they are solved on every core at once (threads: numpy
releases the GIL in its array loops). BLAS is held to one thread on every local solve, one
chunk or many (:class:`_OneBlasThread`): faster on small matrices, and results that do not
depend on how many chunks run at once.

Memory: besides the caller's inputs, the solve allocates its outputs — two
arrays of markets × regions × regions (new flows and volumes) and a dozen of
markets × regions — and, per chunk in flight, a working set of about fifteen
arrays of ``chunk × N × N`` floats (:func:`memory_estimate`); nothing larger than
markets × regions × regions.
"""

from __future__ import annotations

import os
import threading
import warnings
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from ..cluster import ClusterError, call_with_deadline
from ..resources import check_memory
from . import equations, quotas
from .batch import Batch, QuotaFlows, as_batch
from .newton import Options, newton
from .solution import Outputs, Solution

__all__ = ["Solution", "solve_equilibrium", "TOLERANCE"]

#: Converged means max |ln demand − ln supply| <= TOLERANCE in every market (the Newton options' default).
TOLERANCE = Options.tol
MAX_ITERATIONS = Options.max_iterations
#: A chunk holds about this many market × exporter × importer cells (2 MiB per float array).
CHUNK_CELLS = 2**18
#: Chunks solved at the same time, one per core (each is independent; results do not depend on it).
THREADS = max(1, min(os.cpu_count() or 1, 8))
#: Arrays of chunk × N × N a chunk in flight works with (measured with tracemalloc; quotas add their own solve).
WORKING_ARRAYS = {False: 20, True: 28}
#: Arrays of chunk × (N + Q)² the quota solve of a chunk works with beyond those, Q quotas a market (its Jacobian,
#: the LU's copy, Levenberg-Marquardt's normal equations, the quota blocks' temporaries): 6-7 measured with
#: tracemalloc at N = 12 with a quota on every flow (Q = 144), twice that for a bound.
QUOTA_SYSTEM_ARRAYS = 12


def solve_equilibrium(
    flows,
    base_tariffs,
    new_tariffs,
    sigma,
    eta,
    eps,
    supply_shift=None,
    demand_shift=None,
    *,
    quota_volume=None,
    quota_in=None,
    quota_out=None,
    tol: float = TOLERANCE,
    max_iterations: int = MAX_ITERATIONS,
    client=None,
    timeout: float | None = None,
    progress: bool = False,
) -> Solution:
    """Solve the exact Armington partial equilibrium of docs/model.md, "Equations".

    Parameters
    ----------
    flows : array_like, shape (..., K, N, N)
        Base flows ``V[i, j]`` from exporter ``i`` to importer ``j`` at world
        prices (dataset units), ``>= 0``; the diagonal is domestic shipments.
    base_tariffs, new_tariffs : array_like, shape (..., K, N, N)
        Ad valorem rates ``t0`` and ``t1`` (0.25 = 25%), ``> -1``.
    sigma : array_like, shape (..., K)
        Elasticity of substitution between origins, ``> 0``.
    eta : array_like, shape (..., K)
        Composite demand elasticity, ``< 0``.
    eps : array_like, shape (..., K, N)
        Supply elasticity per region, in ``[0, inf]``.
    supply_shift, demand_shift : array_like, shape (..., K, N), optional
        ``s`` and ``d`` (supply / demand at given prices times ``1 + s``,
        ``1 + d``), each ``> -1``. Default 0.
    tol : float
        Convergence tolerance on ``|ln demand − ln supply|``.
    max_iterations : int
    quota_volume, quota_in, quota_out : array_like, shape (..., K, N, N), optional
        Tariff-rate quotas (docs/model.md, "Tariff-rate quotas"): on each flow whose
        ``quota_volume`` is finite (base-price units, ``> 0``), the rate applied is solved for,
        between ``quota_in`` and ``quota_out`` (``inf``: an absolute quota), and ``new_tariffs``
        there is not used. Give all three or none.
    client : dask.distributed.Client, optional
        Solve ranges of markets on the workers of a Dask cluster (the optional extra
        ``tradesim-armington[distributed]``) and gather them into the same :class:`Solution`.
        Markets are independent, so the answer is the same as solving here; a task
        lost with a worker is rerun by Dask. Pays when there are many markets
        (draws × sectors × years) and several machines; see docs/model.md, "Solver".
    timeout : float, optional
        With ``client``: seconds to wait for each call to the cluster and for each part's result;
        past it, :class:`sim.cluster.ClusterError`. None (the default) waits as long as it takes.
    progress : bool
        Show a progress bar (markets solved) on standard error while more than one chunk is
        solved; the caller decides (the CLI: on a terminal and without ``--quiet``).

    Leading dimensions of all arguments broadcast together and are solved in
    one batch. Non-convergence is reported in ``converged``, never hidden.

    Returns
    -------
    Solution

    Raises
    ------
    sim.resources.NotEnoughMemory
        (an :class:`~sim.errors.InputError`) The batch would need more memory than is available
        (:func:`memory_estimate` against :func:`sim.resources.available_memory`); checked before its
        outputs are allocated.
    sim.cluster.ClusterError
        With ``client`` and ``timeout``: the cluster did not answer in time, or was lost.
    """
    batch = as_batch(flows, base_tariffs, new_tariffs, sigma, eta, eps, supply_shift, demand_shift,
                      quota_volume, quota_in, quota_out)
    _check_memory(batch)
    if client is not None:
        return _solve_on_cluster(batch, client, tol, max_iterations, timeout)
    options = Options(tol=tol, max_iterations=max_iterations)
    out = Outputs(batch.lead, batch.n, batch.has_quotas)
    step = chunk_size(batch.n, batch.quotas_per_market)
    chunks = [(start, min(start + step, batch.size)) for start in range(0, batch.size, step)]

    bar = _progress_bar(batch.size) if progress and len(chunks) > 1 else None

    def solve_chunk(bounds):
        start, stop = bounds
        if batch.has_quotas:
            _solve_chunk_quotas(out, slice(start, stop), *batch.quota_markets(start, stop), options)
        else:
            markets = batch.markets(start, stop)
            z, iterations, nfev, state = newton(markets, options)
            # disjoint slices: thread-safe
            out.store(slice(start, stop), markets, z, iterations, nfev, options.tol, state=state)
        if bar is not None:
            bar.update(stop - start)  # tqdm's counter is thread-safe

    threads = min(THREADS, len(chunks))
    with one_blas_thread:  # one chunk or many: see _OneBlasThread
        if threads > 1:  # numpy releases the GIL in its array loops, so chunks solve side by side on the cores
            with ThreadPoolExecutor(threads) as pool:
                list(pool.map(solve_chunk, chunks))
        else:
            for bounds in chunks:
                solve_chunk(bounds)
    if bar is not None:
        bar.close()
    return out.solution()


class _OneBlasThread:
    """Hold BLAS to one thread while any solve of this process runs (re-entrant, thread-safe).

    Each chunk's matrices are small (about :data:`CHUNK_CELLS` cells per chunk): BLAS's own threads
    only add synchronisation to its matrix products and LU solves, and on top of our chunk threads
    they oversubscribe the cores. Measured interleaved on 2 loaded cores with ``THREADS = 1``
    (issue 22), BLAS at two threads against one: 1000 × 100 8–10× slower,
    200 × 200 9×, one chunk of 8 × 500 2.6×, 5000 × 50 and 2000 × 8 within noise (0.86–0.91).
    Rounding also depended on BLAS's threads at 100 regions and more, so a batch of one chunk came
    out different in the last bits from the same markets solved among others; with one thread on
    every path the results do not depend on the chunks in flight. The first solve to enter sets the
    limit and the last to leave restores what was there, so solves running side by side in threads
    (a Dask worker's, say) neither undo each other's limit nor leave it behind.
    """

    def __init__(self):
        self._lock = threading.Lock()
        self._inside = 0
        self._limiter = None
        self._controller = None

    def __enter__(self):
        with self._lock:
            if self._inside == 0:
                if self._controller is None:  # looking up the loaded libraries once: about 2.5 ms
                    from threadpoolctl import ThreadpoolController

                    self._controller = ThreadpoolController()
                self._limiter = self._controller.limit(limits=1, user_api="blas")
            self._inside += 1
        return self

    def __exit__(self, *exc_info):
        with self._lock:
            self._inside -= 1
            if self._inside == 0:
                self._limiter.restore_original_limits()
                self._limiter = None


#: Every local solve runs ``with one_blas_thread:`` (:class:`_OneBlasThread`), and so does bench_scale.py's floor.
one_blas_thread = _OneBlasThread()


def _progress_bar(total: int):
    import sys

    from tqdm import tqdm

    return tqdm(total=total, unit=" markets", desc="solving", file=sys.stderr, leave=False, mininterval=0.2)


def _solve_on_cluster(batch: Batch, client, tol: float, max_iterations: int, timeout: float | None) -> Solution:
    """Ranges of markets solved as Dask tasks (a few per worker), gathered in order into one Solution.

    With ``timeout``, every call to the cluster has a deadline: :class:`sim.cluster.ClusterError` past it.
    """

    if timeout is None:
        info = client.scheduler_info()
    else:
        info = call_with_deadline(client.scheduler_info, timeout, "asking the Dask scheduler for its workers")
    workers = max(1, len(info.get("workers", {})))
    part = max(chunk_size(batch.n, batch.quotas_per_market), -(-batch.size // (4 * workers)))
    ranges = [(start, min(start + part, batch.size)) for start in range(0, batch.size, part)]
    # Each task carries its own inputs, so the scheduler can rerun it on another worker if its worker dies
    # (scattered data would be lost with the worker). Dask warns that such tasks are large; that is the point.
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Sending large graph", category=UserWarning)
        futures = [client.submit(_solve_part, batch.arguments(start, stop), tol, max_iterations, pure=False)
                   for start, stop in ranges]
    out = Outputs(batch.lead, batch.n, batch.has_quotas)
    for (start, stop), future in zip(ranges, futures):
        try:
            out.put(slice(start, stop), future.result(timeout=timeout))
        except TimeoutError:
            raise ClusterError(f"the Dask cluster returned no result for markets {start:,} to {stop:,} of "
                               f"{batch.size:,} within {timeout:g} s") from None
        except OSError as exc:  # the scheduler went away (distributed's CommClosedError is an OSError)
            raise ClusterError(f"lost the Dask cluster while solving: {type(exc).__name__}: {exc}") from None
    return out.solution()


def _solve_part(arguments: dict, tol: float, max_iterations: int) -> Solution:
    """One task of :func:`_solve_on_cluster`: markets with a single leading dimension, solved here."""
    return solve_equilibrium(**arguments, tol=tol, max_iterations=max_iterations)


def memory_estimate(markets: int, regions: int, quotas: bool = False, quotas_per_market: int = 0) -> int:
    """Bytes a solve allocates beyond its inputs: outputs plus the working sets of the chunks in flight.

    ``markets`` is sectors × years × draws. Outputs: two arrays of markets × N × N (new
    flows, volumes; four with ``quotas``: also the rates applied and the rents) and twelve
    of markets × N (prices, output, welfare, diagnostics); working set: about
    :data:`WORKING_ARRAYS` arrays of chunk × N × N per chunk in flight (one per thread),
    counting the chunk's copies of its inputs and its arrays of chunk × N, and with quotas
    :data:`QUOTA_SYSTEM_ARRAYS` of the cells a quota system has beyond those, chunk × ((N + Q)² − N²),
    where ``Q`` is ``quotas_per_market``, the most quota flows of one market (each one more unknown
    of its system). For 5000 markets of 50 regions on 2 cores that is about 0.3 GiB. The callers
    add what they allocate around a solve (:mod:`sim.resources`).
    """
    chunk = min(chunk_size(regions, quotas_per_market), markets)
    at_once = min(THREADS, -(-markets // chunk)) if markets else 0  # chunks in flight together, one per thread
    quotas = bool(quotas or quotas_per_market)
    quota_cells = (regions + quotas_per_market) ** 2 - regions**2
    working = WORKING_ARRAYS[quotas] * regions**2 + QUOTA_SYSTEM_ARRAYS * quota_cells
    return output_bytes(markets, regions, quotas) + 8 * at_once * chunk * working


def output_bytes(markets: int, regions: int, quotas: bool = False) -> int:
    """Bytes of a :class:`Solution` of ``markets`` markets: what a solve returns and its caller holds."""
    outputs = 4 if quotas else 2
    return 8 * (outputs * markets * regions * regions + 12 * markets * regions)


def _check_memory(batch: Batch) -> None:
    """Refuse a batch whose solve would not fit in the memory available (before its outputs are allocated)."""

    what = f"solving {batch.size:,} markets of {batch.n} regions"
    where = ("solve_equilibrium", "flows", "the number of markets (the leading dimensions of the arguments)")
    check_memory(memory_estimate(batch.size, batch.n, batch.has_quotas, batch.quotas_per_market), what, where,
                 where)


def chunk_size(regions: int, quotas_per_market: int = 0) -> int:
    """Markets solved together in one chunk: about :data:`CHUNK_CELLS` cells of their systems, at most 4096.

    A market's system has N unknowns, and one more for each of its quotas (``quotas_per_market``,
    the most of one market, Q): a chunk holds about CHUNK_CELLS / (N + Q)² markets, at least 8 without
    quotas and at least 1 with them (a market with a quota on most of its flows has a system of
    thousands of unknowns). For 8 regions that is 4096 markets, for 50 regions 104 (100 with one quota
    each), for 100 regions 26.
    """
    unknowns = regions + quotas_per_market
    return int(np.clip(CHUNK_CELLS // max(unknowns * unknowns, 1), 1 if quotas_per_market else 8, 4096))


def _solve_chunk_quotas(out, where: slice, markets: equations.Markets, quota_flows: QuotaFlows,
                        options: Options) -> None:
    """Solve a chunk of markets with quotas (docs/model.md, "Tariff-rate quotas"; :func:`quotas.solve_markets`)
    and store its results. ``markets``, the chunk's own (solved in place), have each quota flow at its start
    rate, its new tariff clipped to the quota's rates; ``quota_flows`` are the chunk's flows with a quota."""
    cells = quotas.QuotaCells.of(quota_flows, markets)
    markets, z, iterations, nfev, quota_residual, state = quotas.solve_markets(markets, cells, options, own=True)
    out.store(where, markets, z, iterations, nfev, options.tol, quota=quota_flows, quota_residual=quota_residual,
              state=state)
