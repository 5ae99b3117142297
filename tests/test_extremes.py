"""Extreme but valid inputs converge or report non-convergence cleanly; reported results are finite."""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from sim import solve_equilibrium

extreme_markets = st.builds(lambda seed, n: (np.random.default_rng(seed), n), st.integers(0, 2**32 - 1),
                            st.integers(2, 6))


def extreme(rng, n, k=2):
    flows = 10 ** rng.uniform(-9, 9, (k, n, n))  # a flow of 1e-9 beside one of 1e9
    flows[rng.random((k, n, n)) < 0.3] = 0.0
    base = rng.choice([0.0, 0.05, 0.25], (k, n, n))
    new = base.copy()
    changed = rng.random((k, n, n)) < 0.5
    new[changed] = rng.choice([0.0, 0.1, 1.0, 10.0], changed.sum())  # up to prohibitive 1000%
    sigma = rng.choice([0.1, 0.5, 1.0, 5.0, 20.0], k)
    eta = rng.choice([-5.0, -1.0, -0.5, -0.01], k)
    eps = rng.choice([0.0, 0.5, 3.0, np.inf], (k, n))  # 0 and inf mixed
    supply = rng.choice([-0.9, 0.0, 2.0], (k, n))
    demand = rng.choice([-0.9, 0.0, 2.0], (k, n))
    return flows, base, new, sigma, eta, eps, supply, demand


@settings(max_examples=300, deadline=None)
@given(extreme_markets)
def test_extreme_inputs_converge_or_say_so(market):
    rng, n = market
    args = extreme(rng, n)
    sol = solve_equilibrium(*args)  # never raises: numpy FP errors are errors in this test run
    ok = sol.converged
    assert (sol.max_residual[ok] <= 1e-10).all()
    for part in (sol.producer_price, sol.consumer_price, sol.output, sol.consumer_surplus,
                 sol.producer_surplus, sol.tariff_revenue):
        assert np.isfinite(part[ok]).all()
    assert np.isfinite(sol.flows[ok]).all()
    assert (sol.producer_price[ok] > 0).all() and (sol.flows[ok] >= 0).all()


def test_prohibitive_tariff_nearly_stops_the_flow():
    flows = np.array([[[100.0, 50.0], [20.0, 200.0]]])
    new = np.zeros((1, 2, 2))
    new[0, 0, 1] = 10.0  # 1000%
    sol = solve_equilibrium(flows, np.zeros((1, 2, 2)), new, [8.0], [-1.0], [[2.0, 2.0]])
    assert sol.all_converged
    assert sol.flows[0, 0, 1] < 50.0 * 11.0 ** -7  # sigma = 8: the flow falls by more than T̂^-7


def test_an_extreme_closed_form_and_one_beyond_floating_point():
    # Fixed output cut by 90% facing almost inelastic demand: p̂ = (1 + s)^(1 / eta).
    flows = np.array([[[100.0]]])
    zero = np.zeros((1, 1, 1))
    sol = solve_equilibrium(flows, zero, zero, [2.0], [-0.01], [[0.0]], supply_shift=[[-0.9]])
    assert sol.all_converged
    np.testing.assert_allclose(np.log10(sol.producer_price[0, 0]), 100.0, rtol=1e-10)  # p̂ = 1e100
    # With eta = -0.001, p̂ = 1e1000 is not representable: reported, never returned as converged.
    huge = solve_equilibrium(flows, zero, zero, [2.0], [-0.001], [[0.0]], supply_shift=[[-0.9]])
    assert not huge.all_converged and not huge.finite.any()
