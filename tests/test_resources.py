"""The memory check (issue 16, case 5): available memory read from fake cgroup and meminfo files, estimates
against measured peaks, and refusals before anything large is allocated, in the API and on the command line."""

import subprocess
import sys
import tracemalloc
from pathlib import Path

import numpy as np
import pytest

import sim
import sim.engine
from sim import resources, sweeps, uncertainty
from sim.engine import memory
from sim.errors import InputError
from sim.resources import GIB, NotEnoughMemory, available_memory

ROOT = Path(__file__).resolve().parents[1]
FLAGSHIP = ROOT / "scenarios" / "steel_tariff_with_investment.toml"
STEEL_232 = ROOT / "scenarios" / "steel_232_2025.toml"
FOUR_GIB = str(4 * GIB)


def fake_system(tmp_path, cgroup_line, files, meminfo_kib=16 * 2**20):
    """A /proc with ``self/cgroup`` and ``meminfo``, and a cgroup tree with ``files`` {relative path: text}."""
    proc, root = tmp_path / "proc", tmp_path / "cgroup"
    (proc / "self").mkdir(parents=True)
    (proc / "self" / "cgroup").write_text(cgroup_line + "\n")
    if meminfo_kib is not None:
        (proc / "meminfo").write_text(f"MemTotal:       33554432 kB\nMemAvailable:   {meminfo_kib} kB\n")
    for relative, text in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return {"proc": proc, "cgroup_root": root, "environ": {}}


def test_cgroup_v2_limit_minus_usage_without_reclaimable_cache(tmp_path):
    where = fake_system(tmp_path, "0::/user.slice/app", {
        "user.slice/app/memory.max": str(4 * GIB), "user.slice/app/memory.current": str(GIB),
        "user.slice/app/memory.stat": f"anon 123\ninactive_file {GIB // 4}\n"})
    assert available_memory(**where) == 4 * GIB - (GIB - GIB // 4)


def test_cgroup_v2_in_a_namespaced_container_reads_the_root(tmp_path):
    where = fake_system(tmp_path, "0::/", {"memory.max": str(2 * GIB), "memory.current": str(GIB // 2)})
    assert available_memory(**where) == 2 * GIB - GIB // 2


def test_cgroup_v2_a_parent_with_a_tighter_limit_wins(tmp_path):
    where = fake_system(tmp_path, "0::/outer/inner", {
        "outer/memory.max": str(3 * GIB), "outer/memory.current": str(2 * GIB),
        "outer/inner/memory.max": "max", "outer/inner/memory.current": str(GIB)})
    assert available_memory(**where) == GIB


def test_cgroup_v1_limit_minus_usage(tmp_path):
    where = fake_system(tmp_path, "4:memory:/docker/abc\n3:cpu,cpuacct:/docker/abc", {
        "memory/docker/abc/memory.limit_in_bytes": str(4 * GIB),
        "memory/docker/abc/memory.usage_in_bytes": str(3 * GIB),
        "memory/docker/abc/memory.stat": f"cache {GIB}\ntotal_inactive_file {GIB}\n"})
    assert available_memory(**where) == 2 * GIB


def test_no_cgroup_limit_falls_back_to_meminfo(tmp_path):
    where = fake_system(tmp_path, "4:memory:/docker/abc", {
        "memory/docker/abc/memory.limit_in_bytes": "9223372036854771712",  # cgroup v1's "no limit"
        "memory/docker/abc/memory.usage_in_bytes": str(GIB)}, meminfo_kib=5 * 2**20)
    assert available_memory(**where) == 5 * GIB


def test_a_limit_above_what_the_machine_has_is_not_believed(tmp_path):
    where = fake_system(tmp_path, "0::/", {"memory.max": str(64 * GIB), "memory.current": "0"},
                        meminfo_kib=3 * 2**20)
    assert available_memory(**where) == 3 * GIB


def test_nothing_readable_asks_the_system(tmp_path, monkeypatch):
    monkeypatch.setattr(resources, "_system_available", lambda: 7 * GIB)
    assert available_memory(proc=tmp_path / "none", cgroup_root=tmp_path / "none", environ={}) == 7 * GIB


def test_the_environment_variable_replaces_the_reading(tmp_path):
    where = fake_system(tmp_path, "0::/", {"memory.max": str(GIB), "memory.current": "0"})
    assert available_memory(**{**where, "environ": {"TRADESIM_MEMORY_LIMIT": "123456"}}) == 123456
    with pytest.raises(InputError, match="TRADESIM_MEMORY_LIMIT: must be a whole number of bytes >= 0, got '4G'"):
        available_memory(**{**where, "environ": {"TRADESIM_MEMORY_LIMIT": "4G"}})


def measured_peak(action) -> int:
    tracemalloc.start()
    try:
        action()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_the_estimate_of_a_run_with_draws_bounds_its_measured_peak_within_a_factor_of_2_5():
    case = sim.load_scenario(FLAGSHIP)
    sim.run(case, draws=5, seed=1)  # lazy imports and caches out of the measurement
    years, sectors, regions = case.shocks.new_tariffs.shape[:3]
    estimate = memory.tables_estimate(years * sectors, regions, True) + uncertainty.memory_needed(case, 1000)
    peak = measured_peak(lambda: sim.run(case, draws=1000, seed=1).uncertainty.intervals)
    assert 0.4 * estimate <= peak <= estimate, (peak / GIB, estimate / GIB)


def test_the_estimate_of_a_sweep_bounds_its_measured_peak_within_a_factor_of_2_5():
    case = sim.load_scenario(STEEL_232)
    sim.sweep(case, tariff=1, rates="0:0.6:3")
    estimate = sweeps.memory_needed(case, 3000)
    peak = measured_peak(lambda: sim.sweep(case, tariff=1, rates="0:0.6:3000"))
    assert 0.4 * estimate <= peak <= estimate, (peak / GIB, estimate / GIB)


def test_too_many_draws_are_refused_before_any_draw_is_made(monkeypatch):
    monkeypatch.setenv("TRADESIM_MEMORY_LIMIT", FOUR_GIB)
    case = sim.load_scenario(FLAGSHIP)

    def must_not_run(*args, **kwargs):
        raise AssertionError("allocated before the memory check")

    monkeypatch.setattr(uncertainty, "draw_elasticities", must_not_run)
    monkeypatch.setattr(sim.engine, "solve_equilibrium", must_not_run)
    with pytest.raises(NotEnoughMemory) as caught:
        sim.run(case, draws=1_000_000, seed=1)
    message = str(caught.value)
    assert message.startswith("sim.run: draws: 1,000,000 draws of 'steel_tariff_with_investment'")
    assert "GiB of memory, but 4.00 GiB is available: lower draws= to at most about" in message
    assert "--draws" not in message


def test_draws_from_the_scenario_file_name_its_uncertainty_table(monkeypatch, tmp_path):
    monkeypatch.setenv("TRADESIM_MEMORY_LIMIT", FOUR_GIB)
    scenario = tmp_path / "many_draws.toml"
    text = FLAGSHIP.read_text(encoding="utf-8").replace('name = "steel_tariff_with_investment"', 'name = "many"')
    scenario.write_text(text + "\n[uncertainty]\ndraws = 1000000\nsigma = { cv = 0.3 }\n", encoding="utf-8")
    with pytest.raises(NotEnoughMemory, match=r"many_draws.toml: uncertainty.draws: 1,000,000 draws .* lower draws "
                                              r"in \[uncertainty\] \(or pass draws=\)"):
        sim.run(scenario)


def test_too_many_rates_are_refused_before_their_tariffs_are_built(monkeypatch):
    monkeypatch.setenv("TRADESIM_MEMORY_LIMIT", FOUR_GIB)
    case = sim.load_scenario(STEEL_232)
    monkeypatch.setattr(sweeps.np, "repeat", lambda *a, **k: (_ for _ in ()).throw(AssertionError("allocated")))
    monkeypatch.setenv("TRADESIM_MEMORY_LIMIT", str(GIB // 4))  # a million rates (the most a grid may have)
    with pytest.raises(NotEnoughMemory, match=r"sim.sweep: rates: a sweep of 1,000,000 rates .* lower the number "
                                              r"of rates= to at most about"):
        sim.sweep(case, tariff=1, rates="0:0.6:1000000")


def test_a_grid_too_large_to_build_is_refused_before_it_is_built(monkeypatch):
    from sim import arguments

    monkeypatch.setattr(arguments.np, "linspace", lambda *a, **k: (_ for _ in ()).throw(AssertionError("built")))
    with pytest.raises(ValueError, match="COUNT from 2 to 1,000,000"):
        arguments.parse_rates("0:0.6:100000000000")


def test_the_sensitivity_and_the_kernel_check_too(monkeypatch):
    res = sim.run(sim.load_scenario(STEEL_232))
    monkeypatch.setenv("TRADESIM_MEMORY_LIMIT", "1000")
    with pytest.raises(NotEnoughMemory, match="sensitivity: the sensitivity of 'steel_232_2025'"):
        res.sensitivity()
    flows = np.ones((10, 3, 3))
    with pytest.raises(NotEnoughMemory, match="solve_equilibrium: flows: solving 10 markets of 3 regions"):
        sim.solve_equilibrium(flows, 0 * flows, 0 * flows, np.full(10, 2.0), np.full(10, -1.0), np.ones((10, 3)))


def test_an_ordinary_run_fits(monkeypatch):
    monkeypatch.setenv("TRADESIM_MEMORY_LIMIT", FOUR_GIB)
    assert sim.run(FLAGSHIP, draws=20, seed=1).uncertainty.draws == 20


def cli(*args, limit=FOUR_GIB):
    env = {"PATH": "/usr/bin:/bin", "MPLBACKEND": "Agg", "TRADESIM_MEMORY_LIMIT": limit}
    return subprocess.run([sys.executable, str(ROOT / "run_sim.py"), *args], capture_output=True, text=True,
                          timeout=120, env=env, cwd=ROOT)


def test_cli_a_million_draws_on_the_flagship_under_4_gib_exits_2_naming_draws(tmp_path):
    done = cli("run", str(FLAGSHIP), "--draws", "1000000", "--no-plots", "--out", str(tmp_path / "x"))
    assert done.returncode == 2, done.stderr
    lines = done.stderr.splitlines()
    assert lines[0].startswith("error: --draws: 1,000,000 draws of 'steel_tariff_with_investment'")
    assert "but 4.00 GiB is available: lower --draws to at most about" in lines[0]
    assert lines[1:] == ["1 problem found; nothing was written."]
    assert not (tmp_path / "x").exists()


def test_cli_a_sweep_of_ten_million_rates_exits_2_naming_rates(tmp_path):
    done = cli("sweep", str(STEEL_232), "--tariff-index", "1", "--rates", "0:0.6:10000000", "--no-plots",
               "--out", str(tmp_path / "x"))
    assert done.returncode == 2, done.stderr  # more than a grid may have (1,000,000)
    assert done.stderr.startswith("error: --rates: expected STOP > START and COUNT from 2 to 1,000,000")
    assert not (tmp_path / "x").exists()
    done = cli("sweep", str(STEEL_232), "--tariff-index", "1", "--rates", "0:0.6:1000000", "--no-plots",
               "--out", str(tmp_path / "x"), limit=str(GIB // 4))
    assert done.returncode == 2, done.stderr
    assert done.stderr.startswith("error: --rates: a sweep of 1,000,000 rates of 'steel_232_2025'")
    assert "lower the COUNT of --rates" in done.stderr and "Traceback" not in done.stderr
    assert not (tmp_path / "x").exists()


def test_cli_an_ordinary_run_is_not_refused(tmp_path):
    done = cli("run", str(FLAGSHIP), "--draws", "50", "--no-plots", "--quiet", "--out", str(tmp_path / "x"))
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "x" / "uncertainty.csv").exists()


def test_a_quota_on_every_flow_is_counted_in_the_chunks_and_in_the_estimate():
    """Each quota is one more unknown of its market: a chunk of markets with a quota on every flow holds
    about 2^18 cells of their (N + Q)² systems, and the solve's estimate bounds its measured peak."""
    from sim.engine import exact

    rng = np.random.default_rng(5)
    m, n = 40, 12
    flows = rng.lognormal(3.0, 1.0, (m, n, n))
    base = rng.uniform(0.0, 0.2, (m, n, n))
    args = (flows, base, base + 0.3, rng.uniform(1.0, 6.0, m), rng.uniform(-2.0, -0.2, m),
            rng.uniform(0.5, 5.0, (m, n)))
    quotas = {"quota_volume": flows * rng.uniform(0.6, 1.2, flows.shape), "quota_in": base,
              "quota_out": base + 0.5}
    q = n * n
    assert exact.chunk_size(n, q) == exact.CHUNK_CELLS // (n + q) ** 2 == 10  # not 1820, as for N² cells alone
    estimate = exact.memory_estimate(m, n, True, q)
    assert estimate > 10 * exact.memory_estimate(m, n, True)
    small = tuple(a[:2] for a in args)
    exact.solve_equilibrium(*small, **{k: v[:2] for k, v in quotas.items()})  # lazy imports out of the measurement
    peak = measured_peak(lambda: exact.solve_equilibrium(*args, **quotas))
    assert 0.4 * estimate <= peak <= estimate, (peak / 2**20, estimate / 2**20)


def test_the_checks_before_a_run_count_the_quotas_of_a_market_as_unknowns():
    """A run's, a Monte Carlo's and a sweep's memory checks count each market's quotas as the solver does
    (each one more unknown), so that they bound the solver's own estimate instead of missing its systems."""
    import dataclasses

    from sim.engine import exact, quotas_per_market
    from sim.quotas import QuotaArrays

    case = sim.load_scenario(FLAGSHIP)
    years, sectors, regions = case.shocks.new_tariffs.shape[:3]
    shape = case.shocks.new_tariffs.shape
    off_diagonal = np.broadcast_to(~np.eye(regions, dtype=bool), shape)
    flows = np.broadcast_to(case.dataset.flows, shape)
    dense = QuotaArrays(np.where(off_diagonal, flows + 1.0, np.inf), np.zeros(shape), np.full(shape, 0.5),
                        np.zeros(shape, dtype=bool))
    crowded = dataclasses.replace(case, shocks=dataclasses.replace(case.shocks, quotas=dense))
    q = regions * (regions - 1)
    assert quotas_per_market(case) < quotas_per_market(crowded) == q
    assert uncertainty.memory_needed(crowded, 1000) >= exact.memory_estimate(1000 * years * sectors, regions, True, q)
    assert sweeps.memory_needed(crowded, 1000) >= exact.memory_estimate(1000 * sectors, regions, True, q)
    assert memory.tables_estimate(years * sectors, regions, True, q) >= exact.memory_estimate(years * sectors,
                                                                                                regions, True, q)
    # 50 regions with a quota on every trade flow: a chunk of one market, 12 arrays of its 2,500-unknown system
    wide = exact.memory_estimate(500, 50, True, 2450)
    assert memory.batch_estimate(500, 50, True, quotas_per_market=2450) >= wide > 5 * memory.batch_estimate(500, 50,
                                                                                                           True)
