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


def raise_one_tariff(market, rise, fixed_other_prices=False):
    rng, n, k = market
    n = max(n, 2)
    flows, base, new, sigma, eta, eps, supply, demand = shocked(rng, n, k)
    i, j = rng.choice(n, size=2, replace=False)
    flows[:, i, j] = rng.lognormal(3.0, 1.5, k)  # make sure the flow exists
    eps[:, i] = rng.uniform(0.0, 10.0, k)  # the exporter's price is free
    if fixed_other_prices:
        eps[:, np.arange(n) != i] = np.inf
    before = solve_equilibrium(flows, base, new, sigma, eta, eps, supply, demand)
    higher = new.copy()
    higher[:, i, j] += rise
    after = solve_equilibrium(flows, base, higher, sigma, eta, eps, supply, demand)
    assert before.all_converged and after.all_converged
    return before, after, i, j


@settings(max_examples=150, deadline=None)
@given(markets, st.floats(0.01, 2.0))
def test_a_flow_falls_and_its_market_price_rises_when_its_own_tariff_rises(market, rise):
    before, after, i, j = raise_one_tariff(market, rise)
    assert (after.flows[:, i, j] < before.flows[:, i, j]).all()
    assert (after.consumer_price[:, j] >= before.consumer_price[:, j] * (1 - 1e-12)).all()


@settings(max_examples=150, deadline=None)
@given(markets, st.floats(0.01, 2.0))
def test_the_exporter_bears_part_of_its_tariff_when_other_prices_are_fixed(market, rise):
    # docs/model.md "Equations": a tariff raised on i lowers p̂[i]. That holds when no other producer
    # price feeds back (other regions' eps = inf); see the next test for why it needs that.
    before, after, i, j = raise_one_tariff(market, rise, fixed_other_prices=True)
    assert (after.producer_price[:, i] < before.producer_price[:, i]).all()


def test_exporter_price_can_rise_through_a_third_market():
    """A genuine general-equilibrium effect, found by hypothesis and confirmed by an independent solver.

    Region 1's sales to region 0 are already nearly prohibited (t = 80%). Raising that
    tariff further barely lowers demand for region 1's good, but it raises region 0's
    price index and so the price of region 0's own good, which region 1 also imports:
    region 1's consumers switch to region 1's good and p̂[1] rises. With region 0's price
    fixed (eps = inf) the channel is shut and p̂[1] falls, as docs/model.md "Equations" says.
    """
    from scipy.optimize import root

    from .test_golden import levels_residual

    flows = np.array([[[94.0, 2.8], [5.6, 372.0]]])
    base = np.array([[[0.0, 0.06], [0.01, 0.0]]])
    new = np.array([[[0.0, 0.3], [0.8, 0.0]]])
    higher = new.copy()
    higher[0, 1, 0] = 1.8
    shifts = dict(supply_shift=[[0.4, 0.3]], demand_shift=[[-0.1, 0.15]])
    for eps0, rises in ((0.45, True), (np.inf, False)):
        eps = [[eps0, 1.0]]
        a = solve_equilibrium(flows, base, new, [6.4], [-0.2], eps, **shifts)
        b = solve_equilibrium(flows, base, higher, [6.4], [-0.2], eps, **shifts)
        assert b.flows[0, 1, 0] < a.flows[0, 1, 0] / 10
        assert (b.producer_price[0, 1] > a.producer_price[0, 1]) == rises
        for sol, t1 in ((a, new), (b, higher)) if np.isfinite(eps0) else ():
            args = (flows[0], base[0], t1[0], 6.4, -0.2, np.array(eps[0]), np.array([0.4, 0.3]),
                    np.array([-0.1, 0.15]))
            check = root(levels_residual, np.ones(2), args=args, tol=1e-14)
            np.testing.assert_allclose(check.x, sol.producer_price[0], rtol=1e-9)
