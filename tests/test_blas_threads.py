"""BLAS is held to one thread on every local solve, so results do not depend on the chunks in flight (issue 22)."""

import threading

import numpy as np
from threadpoolctl import threadpool_info

import sim.engine.exact as exact
from sim import solve_equilibrium

from .conftest import random_market

FIELDS = ("producer_price", "consumer_price", "quantity", "flows", "consumer_surplus", "producer_surplus",
          "tariff_revenue", "max_residual", "iterations", "nfev", "converged")


def blas_threads() -> list[int]:
    return [lib["num_threads"] for lib in threadpool_info() if lib["user_api"] == "blas"]


def batch(markets, regions, seed=4):
    rng = np.random.default_rng(seed)
    flows, base, sigma, eta, eps = random_market(rng, regions, k=markets)
    return flows, base, base + rng.uniform(0.0, 0.5, base.shape), sigma, eta, eps


def assert_identical(a, b, where=slice(None)):
    for name in FIELDS:
        np.testing.assert_array_equal(getattr(a, name)[where], getattr(b, name)[where], err_msg=name)


def test_a_single_chunk_solve_holds_blas_to_one_thread_and_restores_it(monkeypatch):
    seen = []
    newton = exact.newton

    def recording(*args, **kwargs):
        seen.extend(blas_threads())
        return newton(*args, **kwargs)

    monkeypatch.setattr(exact, "newton", recording)
    before = blas_threads()
    solve_equilibrium(*batch(5, 100))  # one chunk: the path that left BLAS at its own threads
    assert seen and set(seen) == {1}
    assert blas_threads() == before


def test_results_do_not_depend_on_threads_or_on_the_chunks_beside_a_market(monkeypatch):
    """100 regions: BLAS's threads changed the last bits of the products, so these differed on one thread."""
    args = batch(60, 100)  # three chunks of 26, 26 and 8 markets
    threaded = solve_equilibrium(*args)
    monkeypatch.setattr(exact, "THREADS", 1)
    assert_identical(solve_equilibrium(*args), threaded)
    alone = solve_equilibrium(*(a[:26] for a in args))  # the first chunk solved as a batch of its own
    assert_identical(alone, threaded, slice(0, 26))


def test_solves_side_by_side_in_threads_restore_blas_when_the_last_ends():
    before = blas_threads()
    args = batch(30, 60)
    results = [None] * 3

    def solve(k):
        results[k] = solve_equilibrium(*args)

    workers = [threading.Thread(target=solve, args=(k,)) for k in range(3)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert blas_threads() == before
    for result in results[1:]:
        assert_identical(result, results[0])
