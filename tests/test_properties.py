"""Property-based tests over random markets (hypothesis)."""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.testing import assert_allclose

from sim import solve_equilibrium

from .conftest import random_market

markets = st.builds(lambda seed, n, k: (np.random.default_rng(seed), n, k),
                    st.integers(0, 2**32 - 1), st.integers(1, 7), st.integers(1, 3))


def shocked(rng, n, k):
    flows, base, sigma, eta, eps = random_market(rng, n, k)
    eps[rng.random(eps.shape) < 0.15] = np.inf
    new = base + rng.uniform(-0.1, 0.8, base.shape).clip(-base)
    supply = rng.uniform(-0.3, 0.5, eps.shape)
    demand = rng.uniform(-0.3, 0.5, eps.shape)
    return flows, base, new, sigma, eta, eps, supply, demand


@settings(max_examples=150, deadline=None)
@given(markets)
def test_clearing_holds_at_the_solution(market):
    rng, n, k = market
    flows, base, new, sigma, eta, eps, supply, demand = shocked(rng, n, k)
    sol = solve_equilibrium(flows, base, new, sigma, eta, eps, supply, demand)
    assert sol.all_converged
    produced = flows.sum(axis=-1)
    free = (produced > 0) & np.isfinite(eps)
    demanded = (flows * sol.quantity).sum(axis=-1)
    offered = produced * (1 + supply) * sol.producer_price ** np.where(free, eps, 0)
    assert_allclose(demanded[free], offered[free], rtol=1e-10)
    assert np.isfinite(sol.consumer_surplus).all() and np.isfinite(sol.producer_surplus).all()


@settings(max_examples=100, deadline=None)
@given(markets)
def test_zero_shock_is_the_identity(market):
    rng, n, k = market
    flows, base, sigma, eta, eps = random_market(rng, n, k)
    sol = solve_equilibrium(flows, base, base, sigma, eta, eps)
    assert (sol.producer_price == 1).all() and (sol.consumer_price == 1).all()
    assert (sol.flows == flows).all()
    assert not sol.consumer_surplus.any() and not sol.producer_surplus.any() and not sol.tariff_revenue.any()


@settings(max_examples=100, deadline=None)
@given(markets, st.floats(1e-3, 1e4))
def test_scaling_flows_scales_values_not_prices(market, c):
    rng, n, k = market
    flows, base, new, sigma, eta, eps, supply, demand = shocked(rng, n, k)
    a = solve_equilibrium(flows, base, new, sigma, eta, eps, supply, demand)
    b = solve_equilibrium(c * flows, base, new, sigma, eta, eps, supply, demand)
    assert_allclose(b.producer_price, a.producer_price, rtol=1e-9)
    assert_allclose(b.consumer_price, a.consumer_price, rtol=1e-9)
    scale = c * max(flows.max(), 1.0) * 1e-11
    assert_allclose(b.flows, c * a.flows, rtol=1e-9, atol=scale)
    for part in ("consumer_surplus", "producer_surplus", "tariff_revenue"):
        assert_allclose(getattr(b, part), c * getattr(a, part), rtol=1e-8, atol=scale)


@settings(max_examples=150, deadline=None)
@given(markets, st.floats(0.01, 2.0))
def test_a_flow_falls_when_its_own_tariff_rises(market, rise):
    rng, n, k = market
    if n < 2:
        n = 2
    flows, base, new, sigma, eta, eps, supply, demand = shocked(rng, n, k)
    i, j = rng.choice(n, size=2, replace=False)
    flows[:, i, j] = rng.lognormal(3.0, 1.5, k)  # make sure the flow exists
    before = solve_equilibrium(flows, base, new, sigma, eta, eps, supply, demand)
    higher = new.copy()
    higher[:, i, j] += rise
    after = solve_equilibrium(flows, base, higher, sigma, eta, eps, supply, demand)
    assert (after.flows[:, i, j] < before.flows[:, i, j]).all()
    assert (after.consumer_price[:, j] >= before.consumer_price[:, j] * (1 - 1e-12)).all()
    finite = np.isfinite(eps[:, i])
    assert (after.producer_price[finite, i] <= before.producer_price[finite, i] * (1 + 1e-12)).all()
