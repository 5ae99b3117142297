"""The benchmark script runs and both solvers agree (timing is printed, never asserted)."""

import importlib.util
from pathlib import Path

import numpy as np
import pytest

from sim import solve_equilibrium

BENCH = Path(__file__).resolve().parents[1] / "benchmarks" / "bench_solver.py"


def load_bench():
    spec = importlib.util.spec_from_file_location("bench_solver", BENCH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_bench_solver_runs_small(capsys):
    bench = load_bench()
    ratios = bench.main(markets=20, regions=(3, 5), repeat=1)
    out = capsys.readouterr().out
    assert set(ratios) == {3, 5} and out.count("converged 20/20") == 2 and "speed-up" in out
    assert out.count("exact evaluation, market by market") == 2 and out.count("fast evaluation, market by market") == 2
    assert out.count("within tolerance 20/20") == 4  # both scipy loops, checked by the exact evaluation


def test_per_market_reference_agrees_with_batched_kernel():
    bench = load_bench()
    args = bench.random_markets(np.random.default_rng(3), 15, 5)
    prices, residuals = bench.one_by_one(args)
    assert (residuals <= 1e-10).all()
    np.testing.assert_allclose(solve_equilibrium(*args).producer_price, prices, rtol=1e-9)


def load(name):
    spec = importlib.util.spec_from_file_location(name, BENCH.parent / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_scale_benchmark_runs_and_memory_stays_near_the_estimate(monkeypatch):
    """Memory, unlike time, is deterministic: a solve allocates about its two output arrays, not 10x more."""
    import sys

    monkeypatch.syspath_prepend(str(BENCH.parent))
    monkeypatch.delitem(sys.modules, "bench_solver", raising=False)
    bench = load("bench_scale")
    row = bench.compare(400, 30, repeat=1)
    assert row["converged"] == 400 and row["agree"] < 1e-10
    assert row["floor_agree"] < 1e-10  # the floor's Newton takes the solver's steps to the same prices
    assert row["peak"] <= 1.5 * row["estimate"]
    assert row["ref_peak"] > 1.5 * row["peak"]  # the reference built full-size temporaries per evaluation


def test_scale_benchmark_prints_the_floor_ratio_on_one_and_two_threads(monkeypatch, capsys):
    import sys

    monkeypatch.syspath_prepend(str(BENCH.parent))
    monkeypatch.delitem(sys.modules, "bench_solver", raising=False)
    bench = load("bench_scale")
    bench.print_targets(1, sizes=[(60, 12, None, None)], threads=[2, 1])
    out = capsys.readouterr().out
    assert "BLAS at one thread for all" in out and "converged 60/60" in out
    assert out.count("solver / floor") == 2 and out.count("x paired") == 2
    assert "2 threads:" in out and "1 thread :" in out
    assert "reference (1 thread)" in out


def test_bench_run_prints_floors_targets_and_pyarrow(capsys):
    bench = load("bench_run")
    names = [bench.FLOOR_PANDAS, "run flagship --no-plots"]
    times = bench.main(repeat=1, without_pyarrow=True, names=names)
    out = capsys.readouterr().out
    assert list(times) == names and "pyarrow: blocked" in out
    assert "target <= floor + 0.25 s" in out and "(min:" in out and "(median:" in out


def test_bench_uncertainty_runs_small_and_the_loop_agrees(capsys):
    bench = load("bench_uncertainty")
    _, _, worst = bench.main(draws=20, loop=3, repeat=1)
    out = capsys.readouterr().out
    assert "speed-up" in out and "target: at most 2 s" in out
    assert worst < 1e-6  # the batch and the loop give the same numbers


def test_bench_baci_runs_small(capsys):
    bench = load("bench_baci")
    bench.main(products=60, countries=6, density=0.5, repeat=1)
    out = capsys.readouterr().out
    assert "BACI-format file:" in out and "dataset build" in out and "run --no-plots" in out and "peak memory" in out
    phases = [line for line in out.splitlines() if "peak memory" in line]
    assert len(phases) == 3 and all("min" in line and "median" in line for line in phases)


def test_bench_baci_verdict_is_judged_on_the_median_with_the_min_beside_it():
    verdict = load("bench_baci").verdict
    assert "NOT met (median ratio 2.40, min ratio 1.50" in verdict([3.0, 4.8, 5.0], [2.0, 2.0, 3.0], 0.5)
    assert ": met (median ratio 1.60" in verdict([3.2, 3.0, 4.0], [2.0, 2.0, 2.5], 0.5)
    assert "NOT met" in verdict([1.0], [1.0], 1.2)  # fast, but more than 1 GiB


def test_bench_linkages_runs_small_and_converges(capsys):
    load("bench_linkages").main(sectors=4, regions=5, draws=3)
    out = capsys.readouterr().out
    assert "converged 12/12" in out and "rounds" in out and "ratio linked / unlinked" in out


def test_bench_quotas_runs_small_and_the_quota_solve_matches_its_floor(capsys, monkeypatch):
    import sys

    monkeypatch.syspath_prepend(str(BENCH.parent))
    monkeypatch.delitem(sys.modules, "bench_solver", raising=False)
    rows = load("bench_quotas").main(markets=30, regions=(6,), repeat=1)
    out = capsys.readouterr().out
    assert "ratio" in out and "floor" in out
    row = rows[0]
    assert row["converged"] == row["floor_converged"] == 30 and row["binding"] >= 25
    assert row["agree"] < 1e-8  # a binding quota's solved rate as a plain tariff gives the same prices


def test_bench_dask_runs_small_and_the_cluster_agrees(monkeypatch, capsys):
    import sys

    pytest.importorskip("distributed", reason="the test extra installs dask[distributed]")
    monkeypatch.syspath_prepend(str(BENCH.parent))
    monkeypatch.delitem(sys.modules, "bench_solver", raising=False)
    times = load("bench_dask").main(markets=40, regions=6, repeat=1)
    out = capsys.readouterr().out
    assert "answers identical: True" in out and "cluster start + solve" in out and "/ local:" in out
    assert set(times) == {"local", "cluster start", "on the cluster"}
