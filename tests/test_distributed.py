"""The optional Dask path: the same Solution as a local solve, and a worker lost mid-run is survived."""

import contextlib
import errno
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose

from sim import solve_equilibrium

from .conftest import random_market

distributed = pytest.importorskip("distributed", reason="the test extra installs dask[distributed]")
ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def client():
    # the dashboard on a free port: dashboard_address=None would still bind 8787
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                                  dashboard_address="127.0.0.1:0") as cluster:
        with distributed.Client(cluster) as c:
            yield c


def random_batch(seed, markets, regions):
    rng = np.random.default_rng(seed)
    flows, base, sigma, eta, eps = random_market(rng, regions, k=markets)
    new = base + rng.uniform(0.0, 0.5, base.shape)
    supply = rng.uniform(-0.2, 0.3, eps.shape)
    return flows, base, new, sigma, eta, eps, supply


def assert_same(a, b):
    for name in ("producer_price", "consumer_price", "quantity", "flows", "output", "consumer_surplus",
                 "producer_surplus", "tariff_revenue", "max_residual"):
        assert_allclose(getattr(a, name), getattr(b, name), rtol=1e-12, atol=1e-12, err_msg=name)
    for name in ("iterations", "finite", "converged"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name), err_msg=name)


def test_cluster_solve_matches_the_local_solve(client):
    flows, base, new, sigma, eta, eps, supply = random_batch(1, 600, 12)
    # leading dimensions (3 years x 600 sectors) broadcast on the cluster as they do here
    new_by_year = np.stack([base + f * (new - base) for f in (0.5, 1.0, 1.5)])
    local = solve_equilibrium(flows, base, new_by_year, sigma, eta, eps, supply_shift=supply)
    remote = solve_equilibrium(flows, base, new_by_year, sigma, eta, eps, supply_shift=supply, client=client)
    assert remote.producer_price.shape == (3, 600, 12) and remote.converged.all()
    assert_same(local, remote)


def test_cluster_solve_with_quotas_matches_the_local_solve(client):
    flows, base, new, sigma, eta, eps, supply = random_batch(3, 200, 6)
    rng = np.random.default_rng(3)
    volume = np.where(rng.random(flows.shape) < 0.2, flows * rng.uniform(0.3, 1.5, flows.shape), np.inf)
    volume[:, np.arange(6), np.arange(6)] = np.inf
    volume[volume <= 0] = np.inf  # no quota on a zero flow here
    quotas = {"quota_volume": volume, "quota_in": np.zeros(flows.shape), "quota_out": np.full(flows.shape, 0.6)}
    local = solve_equilibrium(flows, base, new, sigma, eta, eps, supply_shift=supply, **quotas)
    remote = solve_equilibrium(flows, base, new, sigma, eta, eps, supply_shift=supply, client=client, **quotas)
    assert remote.converged.all()
    assert_same(local, remote)
    assert_allclose(remote.quota_rent, local.quota_rent, rtol=1e-12, atol=1e-12)
    np.testing.assert_array_equal(remote.tariffs, local.tariffs)


def test_a_worker_killed_mid_run_is_retried_and_the_result_is_complete(client):
    args = random_batch(2, 6000, 40)
    local = solve_equilibrium(*args[:6], supply_shift=args[6])
    pids = client.run(os.getpid)  # worker address -> process id
    before = set(pids.values())
    outcome = {}
    thread = threading.Thread(target=lambda: outcome.setdefault("sol", solve_equilibrium(
        *args[:6], supply_shift=args[6], client=client)))
    thread.start()
    deadline = time.monotonic() + 60
    busy = {}
    while not busy and time.monotonic() < deadline:  # wait until a worker is solving a part
        busy = {w: tasks for w, tasks in client.processing().items() if tasks}
        time.sleep(0.01)
    victim = next(iter(busy))
    os.kill(pids[victim], signal.SIGKILL)  # the worker process dies mid-task; its nanny starts a new one
    thread.join(timeout=120)
    assert not thread.is_alive()
    after = set(client.run(os.getpid).values())
    assert before - after, "no worker process was replaced: the kill did not happen"
    assert_same(local, outcome["sol"])


def test_cli_run_on_two_local_workers_writes_the_same_results(tmp_path):
    scenario = ROOT / "scenarios" / "steel_tariff_with_investment.toml"
    base = [sys.executable, str(ROOT / "run_sim.py"), "run", str(scenario), "--no-plots", "--quiet"]
    subprocess.run([*base, "--out", str(tmp_path / "here")], check=True, capture_output=True, timeout=300)
    done = subprocess.run([*base, "--out", str(tmp_path / "dask"), "--workers", "2"], capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr
    here, there = (pd.read_csv(tmp_path / d / "welfare.csv") for d in ("here", "dask"))
    pd.testing.assert_frame_equal(here, there, rtol=1e-12)


@contextlib.contextmanager
def port_taken(port: int):
    """Port ``port`` of 127.0.0.1 held, as by a Dask dashboard already open: bound here, or held by someone else."""
    try:
        held = socket.create_server(("127.0.0.1", port))
    except OSError as exc:
        if exc.errno != errno.EADDRINUSE:
            raise
        held = None  # something else holds it: the same condition
    try:
        yield
    finally:
        if held is not None:
            held.close()


def test_cli_run_on_a_local_cluster_while_port_8787_is_taken(tmp_path):
    """Dask's default dashboard port in use (another cluster's dashboard) must not matter to ``run --workers``.

    ``dashboard_address=None`` still binds 8787 and warns when it is taken; with warnings as errors
    (``-W error``, as the test run has them) the cluster then fails to start.
    """
    scenario = ROOT / "scenarios" / "example_steel_tariff.toml"
    with port_taken(8787):
        done = subprocess.run([sys.executable, "-W", "error", str(ROOT / "run_sim.py"), "run", str(scenario),
                               "--no-plots", "--quiet", "--out", str(tmp_path / "o"), "--workers", "1"],
                              capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "8787" not in done.stderr and "already in use" not in done.stderr, done.stderr
    assert (tmp_path / "o" / "welfare.csv").is_file()


def test_cli_workers_and_scheduler_together_is_bad_input(tmp_path):
    scenario = ROOT / "scenarios" / "example_steel_tariff.toml"
    done = subprocess.run([sys.executable, str(ROOT / "run_sim.py"), "run", str(scenario), "--out", str(tmp_path / "o"),
                           "--workers", "2", "--scheduler", "tcp://127.0.0.1:8786"], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 2 and "--workers: give --workers" in done.stderr and "Traceback" not in done.stderr
    assert not (tmp_path / "o").exists()


# A cluster that cannot be reached or does not answer ends within --timeout, with exit code 3 and one message
# (issue 16, case 6). Local sockets on 127.0.0.1 only; the hard subprocess timeout turns a hang into a failure.
TIMEOUT = 2


@contextlib.contextmanager
def tcp_server(answer: bytes | None):
    """A server on 127.0.0.1 that accepts and never answers (``answer`` None) or sends ``answer`` and closes."""
    listener = socket.create_server(("127.0.0.1", 0))
    held = []

    def serve():
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            if answer is None:
                held.append(conn)
                continue
            with conn:
                with contextlib.suppress(OSError):
                    conn.settimeout(1.0)
                    conn.recv(65536)
                    conn.sendall(answer)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield f"tcp://127.0.0.1:{listener.getsockname()[1]}"
    finally:
        with contextlib.suppress(OSError):
            listener.shutdown(socket.SHUT_RDWR)  # wakes the accept() (close alone does not)
        listener.close()
        thread.join(timeout=10)
        for conn in held:
            conn.close()
    assert not thread.is_alive()


def no_workers():
    """A Dask scheduler on 127.0.0.1 (TCP) with no worker."""
    return distributed.LocalCluster(n_workers=0, processes=False, protocol="tcp://", host="127.0.0.1",
                                    dashboard_address="127.0.0.1:0")


def run_on(scheduler, tmp_path):
    scenario = ROOT / "scenarios" / "example_steel_tariff.toml"
    return subprocess.run([sys.executable, str(ROOT / "run_sim.py"), "run", str(scenario), "--no-plots", "--quiet",
                           "--out", str(tmp_path / "o"), "--scheduler", scheduler, "--timeout", str(TIMEOUT)],
                          capture_output=True, text=True, timeout=90)


def assert_cluster_failure(done, tmp_path, expected):
    lines = done.stderr.splitlines()
    assert done.returncode == 3, done.stderr
    assert len(lines) == 2 and lines[0].startswith("error: ") and expected in lines[0], done.stderr
    assert lines[1] == "Nothing was written."
    assert not (tmp_path / "o").exists()


def test_cli_a_scheduler_without_workers_exits_3(tmp_path):
    with no_workers() as cluster:
        done = run_on(cluster.scheduler_address, tmp_path)
    assert_cluster_failure(done, tmp_path, f"has no worker: none joined within {TIMEOUT} s")


def test_cli_a_server_that_never_answers_exits_3(tmp_path):
    with tcp_server(None) as address:
        done = run_on(address, tmp_path)
    assert_cluster_failure(done, tmp_path, f"connecting to the Dask scheduler at '{address}': no answer within "
                                           f"{TIMEOUT} s")


def test_cli_an_http_server_is_not_a_dask_scheduler_exits_3(tmp_path):
    with tcp_server(b"HTTP/1.1 400 Bad Request\r\n\r\n") as address:
        done = run_on(address, tmp_path)
    assert_cluster_failure(done, tmp_path, f"'{address}' is not a Dask scheduler")


def test_cli_nothing_listening_exits_3(tmp_path):
    with tcp_server(None) as address:
        pass  # closed: the port refuses connections now
    done = run_on(address, tmp_path)
    assert_cluster_failure(done, tmp_path, f"the Dask scheduler at '{address}'")


def test_a_part_not_returned_in_time_is_a_cluster_error():
    from sim.cluster import ClusterError

    with no_workers() as cluster, distributed.Client(cluster) as c:
        flows, base, new, sigma, eta, eps, supply = random_batch(4, 20, 4)
        with pytest.raises(ClusterError, match="returned no result for markets 0 to 20 of 20 within 0.5 s"):
            solve_equilibrium(flows, base, new, sigma, eta, eps, client=c, timeout=0.5)


def test_draws_and_sweeps_are_solved_on_the_cluster(client, monkeypatch):
    """Every batch of a run, the draws' too, and a sweep's rates go to the workers; the numbers are the same."""
    import sim
    import sim.engine.exact as exact

    real, sizes = exact._solve_on_cluster, []

    def recording(batch, *args, **kwargs):
        sizes.append(batch.size)
        return real(batch, *args, **kwargs)

    monkeypatch.setattr(exact, "_solve_on_cluster", recording)
    case = sim.load_scenario(ROOT / "scenarios" / "japan_steel_trq_restored.toml")  # with a binding quota
    years, sectors = case.shocks.new_tariffs.shape[:2]
    remote = sim.run(case, client=client, draws=30, seed=4)
    assert sizes == [years * sectors, 30 * years * sectors]  # the central markets, then every draw's
    local = sim.run(case, draws=30, seed=4)
    pd.testing.assert_frame_equal(remote.welfare, local.welfare, rtol=1e-12)
    pd.testing.assert_frame_equal(remote.uncertainty.summary, local.uncertainty.summary, rtol=1e-12)
    sizes.clear()
    swept = sim.sweep(case, tariff=1, rates=[0.0, 0.25, 0.5], client=client)
    assert sizes == [3 * sectors]
    pd.testing.assert_frame_equal(swept.table, sim.sweep(case, tariff=1, rates=[0.0, 0.25, 0.5]).table, rtol=1e-12)


def test_a_linked_run_on_the_cluster_matches_the_local_run(client):
    """Vertical linkages go through the one solve entry: each round is sent to the cluster like any batch."""
    import sim

    path = ROOT / "scenarios" / "steel_tariff_with_investment_linked.toml"
    local = sim.run(path)
    remote = sim.run(path, client=client)
    assert remote.frames.diagnostics["converged"].all()
    assert_allclose(remote.frames.welfare["net_welfare"].to_numpy(), local.frames.welfare["net_welfare"].to_numpy(),
                    rtol=1e-12, atol=1e-9)
