"""Batched Newton solver for the exact model, and the public array kernel.

All markets of a run (sectors × years × draws × ...) are solved together as
one batch, in chunks of markets sized from the number of regions so that each
chunk's working arrays stay in cache (:func:`chunk_size`). Each Newton iteration
evaluates a chunk's markets with :func:`sim.engine.equations.fast_evaluate` (two
matrix–vector products per market) and solves the ``(m, N, N)`` linear systems in
one ``numpy.linalg.solve`` call; a backtracking line search on the residual norm
safeguards large shocks, and markets that have converged leave the iteration.
The iterations run in :mod:`sim.engine.newton`. The results of each chunk are computed
from the fast path's constants at the solution, and term by term
(:func:`sim.engine.equations.evaluate`) for markets flagged for exact evaluation or whose
results overflow there; the reported residual (``max_residual``) is the one of that
evaluation. The two evaluations are the same algebra and differ by rounding only (below
1e-12 on the extreme test batches, tests/test_extreme_batches.py re-checks every converged
market against market clearing written independently). The convergence rule and fallbacks
are described in docs/model.md, "Solver".

Chunks are independent, so they are solved on every core at once (threads: numpy
releases the GIL in its array loops; BLAS is held to one thread per chunk).

Memory: besides the caller's inputs, the solve allocates its outputs — two
arrays of markets × regions × regions (new flows and volumes) and a dozen of
markets × regions — and, per chunk in flight, a working set of about fifteen
arrays of ``chunk × N × N`` floats (:func:`memory_estimate`); nothing larger than
markets × regions × regions.
"""

from __future__ import annotations

import os
import warnings
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np

from ..cluster import ClusterError, call_with_deadline
from ..resources import check_memory
from . import equations, quotas
from .accounting import split_revenue
from .newton import Options, newton

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


@dataclass(frozen=True)
class Solution:
    """The equilibrium of a batch of markets, in the caller's leading shape ``(...)``.

    Attributes
    ----------
    producer_price : ndarray, shape (..., K, N)
        ``p̂``, producer (world) price relative to base.
    consumer_price : ndarray, shape (..., K, N)
        ``P̂``, composite consumer price relative to base.
    quantity : ndarray, shape (..., K, N, N)
        ``q̂``, volume relative to base (defined where the base flow is 0 too).
    flows : ndarray, shape (..., K, N, N)
        ``V1 = V p̂ q̂``, new flows at world prices, dataset units.
    output : ndarray, shape (..., K, N)
        Output volume relative to base (1 where there is no base output).
    consumer_surplus, producer_surplus, tariff_revenue : ndarray, shape (..., K, N)
        Changes from base, dataset units.
    base_tariff_revenue : ndarray, shape (..., K, N)
    iterations : ndarray of int, shape (..., K)
        Newton iterations per market (quota iterations included).
    nfev : ndarray of int, shape (..., K), or None
        Evaluations of the market's system (residual) per market: the start, every line-search
        and Levenberg–Marquardt trial, and the quota solve's (None from a solver that does not
        count them, such as the frozen reference in benchmarks/).
    max_residual : ndarray, shape (..., K)
        ``max_i |ln demand[i] − ln supply[i]|`` at the returned prices.
    finite : ndarray of bool, shape (..., K)
        Every result of the market is a finite number (false for equilibria beyond
        floating-point range).
    converged : ndarray of bool, shape (..., K)
        ``max_residual <= tol`` and ``finite``.
    tariffs : ndarray, shape (..., K, N, N), or None
        With quotas: the rates applied, the effective rate on each quota flow (else None).
    quota_rent : ndarray, shape (..., K, N, N), or None
        With quotas: the rent on each quota flow, ``(τ − in_rate) × p × in-quota volume``;
        ``tariff_revenue`` then counts in-quota volume at the in-quota rate.
    quota_rent_change : ndarray, shape (..., K, N), or None
        Set by the engine's accounting (:func:`sim.engine.solve`): the change in quota rent
        by the region holding it. Through :func:`sim.engine.solve`, ``tariff_revenue`` and
        ``base_tariff_revenue`` follow the same accounting (the base year's quotas split as the
        scenario's), so they equal the welfare tables'; the kernel alone does not know the
        base year's quotas and counts the base revenue at the full base rate.
    """

    producer_price: np.ndarray
    consumer_price: np.ndarray
    quantity: np.ndarray
    flows: np.ndarray
    output: np.ndarray
    consumer_surplus: np.ndarray
    producer_surplus: np.ndarray
    tariff_revenue: np.ndarray
    base_tariff_revenue: np.ndarray
    iterations: np.ndarray
    max_residual: np.ndarray
    finite: np.ndarray
    converged: np.ndarray
    tariffs: np.ndarray | None = None
    quota_rent: np.ndarray | None = None
    quota_rent_change: np.ndarray | None = None
    nfev: np.ndarray | None = None

    @property
    def all_converged(self) -> bool:
        return bool(np.all(self.converged))


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
        ``tradesim[distributed]``) and gather them into the same :class:`Solution`.
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
    out = _Outputs(batch.lead, batch.n, batch.has_quotas)
    step = chunk_size(batch.n)
    chunks = [(start, min(start + step, batch.size)) for start in range(0, batch.size, step)]

    bar = _progress_bar(batch.size) if progress and len(chunks) > 1 else None

    def solve_chunk(bounds):
        start, stop = bounds
        markets = batch.markets(start, stop)
        z, iterations, nfev = newton(markets, options)
        if batch.has_quotas:
            _solve_chunk_quotas(out, slice(start, stop), batch.quota_arguments(start, stop), markets, z, iterations,
                                nfev, options)
        else:
            out.store(slice(start, stop), markets, z, iterations, nfev, options.tol)  # disjoint slices: thread-safe
        if bar is not None:
            bar.update(stop - start)  # tqdm's counter is thread-safe

    threads = min(THREADS, len(chunks))
    if threads > 1:  # numpy releases the GIL in its array loops, so chunks solve side by side on the cores
        from threadpoolctl import threadpool_limits

        # one BLAS thread per chunk: BLAS's own threads on top of ours would oversubscribe the cores
        with threadpool_limits(limits=1, user_api="blas"), ThreadPoolExecutor(threads) as pool:
            list(pool.map(solve_chunk, chunks))
    else:
        for bounds in chunks:
            solve_chunk(bounds)
    if bar is not None:
        bar.close()
    return out.solution()


def _progress_bar(total: int):
    import sys

    from tqdm import tqdm

    return tqdm(total=total, unit=" markets", desc="solving", file=sys.stderr, leave=False, mininterval=0.2)


def _solve_on_cluster(batch: _Batch, client, tol: float, max_iterations: int, timeout: float | None) -> Solution:
    """Ranges of markets solved as Dask tasks (a few per worker), gathered in order into one Solution.

    With ``timeout``, every call to the cluster has a deadline: :class:`sim.cluster.ClusterError` past it.
    """

    if timeout is None:
        info = client.scheduler_info()
    else:
        info = call_with_deadline(client.scheduler_info, timeout, "asking the Dask scheduler for its workers")
    workers = max(1, len(info.get("workers", {})))
    part = max(chunk_size(batch.n), -(-batch.size // (4 * workers)))
    ranges = [(start, min(start + part, batch.size)) for start in range(0, batch.size, part)]
    # Each task carries its own inputs, so the scheduler can rerun it on another worker if its worker dies
    # (scattered data would be lost with the worker). Dask warns that such tasks are large; that is the point.
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Sending large graph", category=UserWarning)
        futures = [client.submit(_solve_part, batch.arguments(start, stop), tol, max_iterations, pure=False)
                   for start, stop in ranges]
    out = _Outputs(batch.lead, batch.n, batch.has_quotas)
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


def memory_estimate(markets: int, regions: int, quotas: bool = False) -> int:
    """Bytes a solve allocates beyond its inputs: outputs plus the working sets of the chunks in flight.

    ``markets`` is sectors × years × draws. Outputs: two arrays of markets × N × N (new
    flows, volumes; four with ``quotas``: also the rates applied and the rents) and twelve
    of markets × N (prices, output, welfare, diagnostics); working set: about
    :data:`WORKING_ARRAYS` arrays of chunk × N × N per chunk in flight (one per thread),
    counting the chunk's copies of its inputs and its arrays of chunk × N. For 5000 markets
    of 50 regions on 2 cores that is about 0.3 GiB. The callers add what they allocate
    around a solve (:mod:`sim.resources`).
    """
    chunk = min(chunk_size(regions), markets)
    at_once = min(THREADS, -(-markets // chunk)) if markets else 0  # chunks in flight together, one per thread
    working = WORKING_ARRAYS[bool(quotas)]
    return output_bytes(markets, regions, quotas) + 8 * working * at_once * chunk * regions * regions


def output_bytes(markets: int, regions: int, quotas: bool = False) -> int:
    """Bytes of a :class:`Solution` of ``markets`` markets: what a solve returns and its caller holds."""
    outputs = 4 if quotas else 2
    return 8 * (outputs * markets * regions * regions + 12 * markets * regions)


def _check_memory(batch: _Batch) -> None:
    """Refuse a batch whose solve would not fit in the memory available (before its outputs are allocated)."""

    what = f"solving {batch.size:,} markets of {batch.n} regions"
    where = ("solve_equilibrium", "flows", "the number of markets (the leading dimensions of the arguments)")
    check_memory(memory_estimate(batch.size, batch.n, batch.has_quotas), what, where, where)


def chunk_size(regions: int) -> int:
    """Markets solved together in one chunk: about :data:`CHUNK_CELLS` cells, between 8 and 4096 markets.

    For 8 regions that is 4096 markets, for 50 regions 104, for 100 regions 26.
    """
    return int(np.clip(CHUNK_CELLS // max(regions * regions, 1), 8, 4096))


class _Batch:
    """The validated arguments, broadcast (as views) to ``lead + tail``; builds the markets of any chunk."""

    QUOTA_ARRAYS = ("quota_volume", "quota_in", "quota_out")

    def __init__(self, lead, n, **arrays):
        self.lead, self.n = lead, n
        self.size = int(np.prod(lead))
        tails = {"flows": (n, n), "base_tariffs": (n, n), "new_tariffs": (n, n), "sigma": (), "eta": (),
                 "eps": (n,), "supply_shift": (n,), "demand_shift": (n,), "quota_volume": (n, n),
                 "quota_in": (n, n), "quota_out": (n, n)}
        self.views = {name: np.broadcast_to(arr, lead + tails[name]) for name, arr in arrays.items()
                      if arr is not None}
        self.has_quotas = "quota_volume" in self.views

    def quota_arguments(self, start: int, stop: int) -> dict:
        """Quota volumes and rates of markets ``start:stop`` (each (m, N, N)), with base flows and new tariffs."""
        index = np.unravel_index(np.arange(start, stop), self.lead)
        names = self.QUOTA_ARRAYS + ("flows", "new_tariffs")
        return {name: np.ascontiguousarray(self.views[name][index]) for name in names}

    def arguments(self, start: int, stop: int) -> dict:
        """The arguments of :func:`solve_equilibrium` for markets ``start:stop``, one leading dimension."""
        index = np.unravel_index(np.arange(start, stop), self.lead)
        return {name: np.ascontiguousarray(view[index]) for name, view in self.views.items()}

    def markets(self, start: int, stop: int) -> equations.Markets:
        """The markets ``start:stop`` of the flattened leading dimensions, copied into contiguous arrays."""
        v = self.arguments(start, stop)
        new_tariffs = v["new_tariffs"]
        if self.has_quotas:  # quota flows start at their new tariff within the quota's rates (see QuotaCells)
            new_tariffs = _quota_start(v["quota_volume"], v["quota_in"], v["quota_out"], new_tariffs)
        return equations.Markets.build(
            flows=v["flows"], base_tariff_factor=1.0 + v["base_tariffs"], new_tariff_factor=1.0 + new_tariffs,
            sigma=v["sigma"], eta=v["eta"], eps=v["eps"], supply_shift=v["supply_shift"],
            demand_shift=v["demand_shift"],
        )


def as_batch(flows, base_tariffs, new_tariffs, sigma, eta, eps, supply_shift, demand_shift,
              quota_volume=None, quota_in=None, quota_out=None) -> _Batch:
    """Validate the arguments and broadcast their leading dimensions (without copying)."""
    flows = np.asarray(flows, dtype=float)
    if flows.ndim < 3 or flows.shape[-1] != flows.shape[-2]:
        raise ValueError(f"flows must have shape (..., K, N, N); got {flows.shape}")
    n = flows.shape[-1]
    base_tariffs = np.asarray(base_tariffs, dtype=float)
    new_tariffs = np.asarray(new_tariffs, dtype=float)
    sigma = np.asarray(sigma, dtype=float)
    eta = np.asarray(eta, dtype=float)
    eps = np.asarray(eps, dtype=float)
    supply_shift = np.zeros(n) if supply_shift is None else np.asarray(supply_shift, dtype=float)
    demand_shift = np.zeros(n) if demand_shift is None else np.asarray(demand_shift, dtype=float)

    for name, arr in (("base_tariffs", base_tariffs), ("new_tariffs", new_tariffs)):
        if arr.ndim < 2 or arr.shape[-2:] != (n, n):
            raise ValueError(f"{name} must have shape (..., K, {n}, {n}); got {arr.shape}")
    for name, arr in (("eps", eps), ("supply_shift", supply_shift), ("demand_shift", demand_shift)):
        if arr.ndim < 1 or arr.shape[-1] != n:
            raise ValueError(f"{name} must have shape (..., K, {n}); got {arr.shape}")

    _check(np.isfinite(flows) & (flows >= 0), "flows must be finite and >= 0")
    for name, arr in (("base_tariffs", base_tariffs), ("new_tariffs", new_tariffs)):
        _check(np.isfinite(arr) & (arr > -1), f"{name} must be finite and > -1")
    _check(np.isfinite(sigma) & (sigma > 0), "sigma must be finite and > 0")
    _check(np.isfinite(eta) & (eta < 0), "eta must be finite and < 0")
    _check(eps >= 0, "eps must be >= 0 (inf allowed)")  # NaN fails this too
    for name, arr in (("supply_shift", supply_shift), ("demand_shift", demand_shift)):
        _check(np.isfinite(arr) & (arr > -1), f"{name} must be finite and > -1")

    quota = _check_quotas(n, quota_volume, quota_in, quota_out)
    try:
        lead = np.broadcast_shapes(
            flows.shape[:-2], base_tariffs.shape[:-2], new_tariffs.shape[:-2],
            sigma.shape, eta.shape, eps.shape[:-1], supply_shift.shape[:-1], demand_shift.shape[:-1],
            *(a.shape[:-2] for a in quota.values()),
        )
    except ValueError as exc:
        raise ValueError(f"leading dimensions do not broadcast: {exc}") from None
    if len(lead) == 0:
        raise ValueError("arguments need at least a sector dimension K")
    return _Batch(lead, n, flows=flows, base_tariffs=base_tariffs, new_tariffs=new_tariffs, sigma=sigma, eta=eta,
                  eps=eps, supply_shift=supply_shift, demand_shift=demand_shift, **quota)


def _check_quotas(n, volume, in_rate, out_rate) -> dict:
    """Validate the quota arrays: all three or none; volume > 0 or inf (none); 0 <= in <= out (inf allowed)."""
    given = [a is not None for a in (volume, in_rate, out_rate)]
    if not any(given):
        return {}
    if not all(given):
        raise ValueError("quota_volume, quota_in and quota_out go together: give all three or none")
    arrays = {"quota_volume": np.asarray(volume, dtype=float), "quota_in": np.asarray(in_rate, dtype=float),
              "quota_out": np.asarray(out_rate, dtype=float)}
    for name, arr in arrays.items():
        if arr.ndim < 2 or arr.shape[-2:] != (n, n):
            raise ValueError(f"{name} must have shape (..., K, {n}, {n}); got {arr.shape}")
    volume, low, high = np.broadcast_arrays(*arrays.values())
    has = np.isfinite(volume)
    _check(~has | (volume > 0), "quota_volume must be > 0 where there is a quota (inf where there is none)")
    _check(~has | (np.isfinite(low) & (low >= 0) & (high >= low)),
           "quota_in must be finite and >= 0, and quota_out >= quota_in, where there is a quota")
    return arrays


def _quota_start(volume, low, high, rates):
    """The rate a quota flow is first solved at: its new tariff clipped to ``[in_rate, out_rate]``."""
    return np.where(np.isfinite(volume), np.clip(rates, low, high), rates)


def _solve_chunk_quotas(out, where: slice, quota_args: dict, markets: equations.Markets, z, iterations, nfev,
                        options: Options) -> None:
    """Solve the quota flows of a chunk (docs/model.md, "Tariff-rate quotas") and store its results.

    Markets whose quotas' conditions already hold at the start rates (the new tariffs clipped to
    each quota's rates) are solved: a slack quota at its in-quota rate, an unchanged base-year
    quota at its base rate, exactly. The others take semismooth Newton steps on prices and
    quota rates together.
    """
    volume, low, high, flows = (quota_args[k] for k in ("quota_volume", "quota_in", "quota_out", "flows"))
    start = _quota_start(volume, low, high, quota_args["new_tariffs"])
    cells = quotas.QuotaCells.from_arrays(volume, low, high, flows, start)
    extra = np.zeros(len(z))
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        gap = cells.log_fill(flows, equations.evaluate(markets, z).log_quantity)
    unsolved = ~cells.satisfied(gap, options.tol)
    if unsolved.any():
        idx = np.flatnonzero(unsolved)
        qz, qy, qit, qfev, residual, at_lower, at_upper = quotas.solve_quota_markets(
            markets.take(idx), cells.take(idx), z[idx], options, iterations[idx])
        z = z.copy()
        z[idx] = qz
        iterations, nfev = iterations.copy(), nfev.copy()
        iterations[idx] += qit
        nfev[idx] += qfev
        extra[idx] = np.abs(residual[:, z.shape[1]:]).max(axis=1)
        factor = markets.new_tariff_factor.copy()
        sub = cells.take(idx)
        m, q = np.nonzero(sub.valid)
        cell = (idx[m], sub.exporter[m, q], sub.importer[m, q])
        # at a bound, the bound's factor exactly (1 + in_rate or 1 + out_rate); a rate beyond floating
        # point (a market that did not converge) is reported by the results, not raised here
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            factor[cell] = np.where(at_lower[m, q], 1.0 + low[cell],
                                    np.where(at_upper[m, q], 1.0 + high[cell], np.exp(qy[m, q])))
            markets = equations.Markets.build(markets.flows, markets.base_tariff_factor, factor, markets.sigma,
                                              markets.eta, markets.eps, markets.supply_shift, markets.demand_shift)
    out.store(where, markets, z, iterations, nfev, options.tol, quota=(volume, low, high, quota_args["new_tariffs"]),
              quota_residual=extra)


def _check(ok, message):
    if not np.all(ok):
        raise ValueError(message)


def _results(markets: equations.Markets, z, log_consumer_price, quantity, residual, guard_zero_flows=True) -> dict:
    """Prices, volumes, flows, output, welfare and diagnostics of markets at their equilibrium ``z`` (M, N).

    Computed quietly: an extreme equilibrium can lie beyond floating point (a price up
    1e300 times), and such a market is reported through ``finite`` instead of returning inf.
    With ``guard_zero_flows``, a zero base flow stays exactly zero even where its volume
    index overflows; without it (the fast path) such a market comes out not finite and is
    computed again with the guard.
    """
    flows = markets.flows
    producer = np.exp(z)
    sales = flows * quantity  # V q̂, volumes at base prices
    if guard_zero_flows:
        sales = np.where(flows > 0, sales, 0.0)
    new_flows = sales * producer[:, :, None]
    base_output = markets.output
    sold = equations.matvec(sales, np.ones(base_output.shape))  # summed as base output is
    output = np.divide(sold, base_output, out=np.ones_like(base_output), where=base_output > 0)
    cs = equations.consumer_surplus_change(markets.expenditure, log_consumer_price, markets.eta, markets.demand_shift)
    ps = equations.producer_surplus_change(base_output, z, markets.eps, markets.supply_shift)
    base_tr = equations.tariff_revenue(markets.base_tariff_factor, flows)
    new_tr = equations.tariff_revenue(markets.new_tariff_factor, new_flows)
    consumer = np.exp(log_consumer_price)
    revenue = new_tr - base_tr
    max_residual = np.abs(residual).max(axis=1)
    per_market = [producer, consumer, output, cs, ps, revenue, new_flows.reshape(len(flows), -1)]
    finite = np.logical_and.reduce([np.isfinite(a).all(axis=1) for a in per_market]) & np.isfinite(max_residual)
    return {"producer_price": producer, "consumer_price": consumer, "output": output, "consumer_surplus": cs,
            "producer_surplus": ps, "tariff_revenue": revenue, "base_tariff_revenue": base_tr, "quantity": quantity,
            "flows": new_flows, "max_residual": max_residual, "finite": finite}


class _Outputs:
    """The arrays of a :class:`Solution`, allocated once and filled chunk by chunk."""

    def __init__(self, lead, n, quotas: bool = False):
        self.lead = lead
        m = int(np.prod(lead))
        self.by_region = {name: np.empty((m, n)) for name in (
            "producer_price", "consumer_price", "output", "consumer_surplus", "producer_surplus",
            "tariff_revenue", "base_tariff_revenue")}
        flow_arrays = ("quantity", "flows") + (("tariffs", "quota_rent") if quotas else ())
        self.by_flow = {name: np.empty((m, n, n)) for name in flow_arrays}
        self.by_market = {"iterations": np.empty(m, dtype=int), "nfev": np.empty(m, dtype=int),
                          "max_residual": np.empty(m),
                          "finite": np.empty(m, dtype=bool), "converged": np.empty(m, dtype=bool)}

    def store(self, where: slice, markets: equations.Markets, z, iterations, nfev, tol, quota=None,
              quota_residual=None) -> None:
        """Compute every result of the chunk's equilibrium ``z`` and store it.

        Volumes come from the fast path's constants, ``q̂ = T̂^(−σ) p̂[i]^(−σ) (1+d[j]) P̂[j]^(η+σ)``;
        markets flagged for exact evaluation, or whose results overflow there, are computed
        term by term in logs (:func:`sim.engine.equations.evaluate`). With ``quota`` (volume, in and out
        rates, each (m, N, N)), ``markets`` carries the effective rates, tariff revenue on quota
        flows is split from the quota rent, and ``quota_residual`` (m,) joins the convergence test.
        """
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            state = equations.fast_evaluate(markets, z)
            sigma, eta = markets.sigma[:, None], markets.eta[:, None]
            exporter_term = np.exp(-sigma * z)
            importer_term = (1.0 + markets.demand_shift) * np.exp((eta + sigma) * state.log_consumer_price)
            quantity = markets.tariff_power * exporter_term[:, :, None]
            quantity *= importer_term[:, None, :]
            results = _results(markets, z, state.log_consumer_price, quantity, state.residual, guard_zero_flows=False)
        exact = state.exact_needed | ~results["finite"]
        if exact.any():
            idx = np.flatnonzero(exact)
            sub = markets.take(idx)
            with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
                exact_state = equations.evaluate(sub, z[idx])
                exact_results = _results(sub, z[idx], exact_state.log_consumer_price,
                                         np.exp(exact_state.log_quantity), exact_state.residual)
            for name, value in exact_results.items():
                results[name][idx] = value
        if quota is not None:
            volume, low, high, rates = quota
            factor = markets.new_tariff_factor
            with np.errstate(over="ignore", invalid="ignore"):  # a market beyond floating point is reported
                revenue, rent = split_revenue(markets.flows, results["quantity"], results["producer_price"],
                                                     factor, 1.0 + low, 1.0 + high, volume)
                results["tariff_revenue"] = revenue.sum(axis=1) - results["base_tariff_revenue"]
            results["quota_rent"] = rent
            # the rates applied, stated exactly: a quota's own rate at its bounds, the solved rate in between
            on_quota = np.isfinite(volume)
            solved = np.where(factor <= 1.0 + low, low, np.where(factor >= 1.0 + high, high, factor - 1.0))
            results["tariffs"] = np.where(on_quota, solved, rates)
            results["max_residual"] = np.maximum(results["max_residual"], quota_residual)
            results["finite"] &= np.isfinite(rent).all(axis=(1, 2)) & np.isfinite(results["tariff_revenue"]).all(axis=1)
        for name in self.by_region:
            self.by_region[name][where] = results[name]
        for name in self.by_flow:
            self.by_flow[name][where] = results[name]
        self.by_market["iterations"][where] = iterations
        self.by_market["nfev"][where] = nfev
        self.by_market["max_residual"][where] = results["max_residual"]
        self.by_market["finite"][where] = results["finite"]
        self.by_market["converged"][where] = (results["max_residual"] <= tol) & results["finite"]

    def put(self, where: slice, part: Solution) -> None:
        """Store a solution of the markets ``where`` (one leading dimension) computed elsewhere."""
        for group in (self.by_region, self.by_flow, self.by_market):
            for name, array in group.items():
                array[where] = getattr(part, name)

    def solution(self) -> Solution:
        n = next(iter(self.by_region.values())).shape[-1]
        arrays = {name: a.reshape(self.lead + (n,)) for name, a in self.by_region.items()}
        arrays |= {name: a.reshape(self.lead + (n, n)) for name, a in self.by_flow.items()}
        arrays |= {name: a.reshape(self.lead) for name, a in self.by_market.items()}
        return Solution(**arrays)
