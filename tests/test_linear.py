"""The linearised GSIM (docs/model.md, "Linearised GSIM"): Francois and Hall's equations, checked by hand."""

import numpy as np
import pytest

import sim
from sim.engine.linear import solve_linear

V = np.array([[[100.0, 20.0, 10.0], [30.0, 80.0, 5.0], [15.0, 10.0, 60.0]]])
T0 = np.zeros_like(V)
T0[0, 2, 0] = 0.1
SIGMA, ETA, EPS = np.array([4.0]), np.array([-1.0]), np.array([[2.0, 3.0, 1.5]])


def by_hand(v, t0, t1, es, em, ex):
    """The paper's system written out element by element (one market), solved with numpy."""
    n = v.shape[0]
    base, new = 1 + t0, 1 + t1
    e = [(base[:, j] * v[:, j]).sum() for j in range(n)]
    theta = np.array([[base[k, j] * v[k, j] / e[j] for j in range(n)] for k in range(n)])
    x_out = v.sum(axis=1)
    phi = v / x_out[:, None]
    th = new / base - 1
    big_n = np.zeros((n, n, n))  # N[r, k, v]
    for r in range(n):
        for k in range(n):
            for j in range(n):
                big_n[r, k, j] = theta[k, j] * em - (1 - theta[k, j]) * es if k == r else theta[k, j] * (em + es)
    a, b = np.zeros((n, n)), np.zeros(n)
    for r in range(n):  # Σ_v φ[r,v] Σ_k N[r,k,v] (T̂'[k,v] + x[k]) = Ex[r] x[r]
        for k in range(n):
            a[r, k] = sum(phi[r, j] * big_n[r, k, j] for j in range(n)) - (ex[r] if k == r else 0.0)
        b[r] = -sum(phi[r, j] * big_n[r, k, j] * th[k, j] for j in range(n) for k in range(n))
    x = np.linalg.solve(a, b)
    m_hat = np.array([[sum(big_n[r, k, j] * (th[k, j] + x[k]) for k in range(n)) for j in range(n)]
                      for r in range(n)])
    v1 = v * (1 + m_hat) * (1 + x)[:, None]
    p_hat = np.array([sum(theta[r, j] * ((1 + x[r]) * new[r, j] / base[r, j] - 1) for r in range(n)) for j in range(n)])
    dps = x * x_out * (1 + ex * x / 2)
    dcs = -np.array(e) * (p_hat + em * p_hat**2 / 2)
    dtr = ((new - 1) * v1).sum(axis=0) - ((base - 1) * v).sum(axis=0)
    return x, m_hat, v1, p_hat, dps, dcs, dtr


def test_the_batched_system_matches_the_paper_written_out():
    t1 = T0.copy()
    t1[0, 1, 0], t1[0, 0, 2] = 0.25, 0.10
    sol = solve_linear(V, T0, t1, SIGMA, ETA, EPS)
    x, m_hat, v1, p_hat, dps, dcs, dtr = by_hand(V[0], T0[0], t1[0], SIGMA[0], ETA[0], EPS[0])
    assert sol.all_converged
    np.testing.assert_allclose(sol.producer_price[0], 1 + x, rtol=1e-12)
    np.testing.assert_allclose(sol.quantity[0], 1 + m_hat, rtol=1e-12)
    np.testing.assert_allclose(sol.flows[0], v1, rtol=1e-12)
    np.testing.assert_allclose(sol.consumer_price[0], 1 + p_hat, rtol=1e-12)
    np.testing.assert_allclose(sol.producer_surplus[0], dps, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(sol.consumer_surplus[0], dcs, rtol=1e-10)
    np.testing.assert_allclose(sol.tariff_revenue[0], dtr, rtol=1e-10, atol=1e-12)


def test_with_fixed_world_prices_the_volumes_are_the_demand_elasticities_times_the_tariff():
    """Ex = inf: x = 0 and M̂[r,v] = Σ_k N[r,k,v] T̂'[k,v] (a closed form)."""
    t1 = T0.copy()
    t1[0, 1, 0] = 0.2
    sol = solve_linear(V, T0, t1, SIGMA, ETA, np.full((1, 3), np.inf))
    assert (sol.producer_price == 1.0).all()
    theta = V[0, :, 0] * (1 + T0[0, :, 0]) / (V[0, :, 0] * (1 + T0[0, :, 0])).sum()
    both = ETA[0] + SIGMA[0]
    expected_own = both * theta[1] * 0.2 - SIGMA[0] * 0.2  # N[1,1,0] T̂'[1,0]
    expected_other = both * theta[1] * 0.2  # N[0,1,0] T̂'[1,0]
    assert sol.quantity[0, 1, 0] - 1 == pytest.approx(expected_own, rel=1e-12)
    assert sol.quantity[0, 0, 0] - 1 == pytest.approx(expected_other, rel=1e-12)


def test_no_shock_changes_nothing_and_small_shocks_agree_with_the_exact_model():
    zero = solve_linear(V, T0, T0, SIGMA, ETA, EPS)
    assert (zero.producer_price == 1).all() and (zero.consumer_surplus == 0).all() and (zero.flows == V).all()
    errors = []
    for rate in (0.01, 0.001):
        t1 = T0.copy()
        t1[0, 1, 0] = rate
        lin = solve_linear(V, T0, t1, SIGMA, ETA, EPS)
        exact = sim.solve_equilibrium(V, T0, t1, SIGMA, ETA, EPS)
        change = exact.producer_price - 1
        errors.append(np.abs((lin.producer_price - 1) - change).max() / np.abs(change).max())
    # the relative error is about the size of the shock and shrinks with it (first order: 10x smaller shock, 10x)
    assert errors[1] < errors[0] / 5 and errors[0] < 2 * 0.01 and errors[1] < 2 * 0.001


def test_a_scenario_runs_with_gsim_linear_and_refuses_what_the_paper_lacks(tmp_path):
    path = tmp_path / "lin.toml"
    path.write_text('name = "lin"\ndataset = "illustrative"\nmethod = "gsim-linear"\n\n'
                    '[[tariff]]\nsector = "steel"\nimporter = "USA"\nexporter = "*"\nadd = 0.1\n')
    res = sim.run(path)
    assert res.frames.diagnostics["converged"].all() and res.frames.quotas.empty
    out = res.write(tmp_path / "out", plots=False)
    assert '"method": "gsim-linear"' in (out / "run.json").read_text()
    path.write_text(path.read_text() + '\n[[demand_shift]]\nsector = "steel"\nregion = "USA"\nchange = 0.1\n')
    with pytest.raises(sim.InputError, match="models tariff changes only; this file has \\[\\[demand_shift\\]\\]"):
        sim.load_scenario(path)
