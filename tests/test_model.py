"""The equations of docs/model.md "Equations": closed forms, limits, the analytic Jacobian, exact welfare integrals."""

import numpy as np
import pytest
from numpy.testing import assert_allclose
from scipy.integrate import quad

from sim import solve_equilibrium
from sim.engine import equations as model

from .conftest import random_market


def one_pair(tariff, sigma=3.0, eta=-0.8, eps_exporter=2.0, value=10.0, **kw):
    """One exporter (region 0) selling only to one importer (region 1), which buys only from it."""
    flows = np.array([[[0.0, value], [0.0, 0.0]]])
    new = np.zeros((1, 2, 2))
    new[0, 0, 1] = tariff
    return solve_equilibrium(flows, np.zeros((1, 2, 2)), new, [sigma], [eta], [[eps_exporter, 1.0]], **kw)


class TestClosedForms:
    @pytest.mark.parametrize("eps", [0.0, 0.5, 2.0, 7.0])
    @pytest.mark.parametrize("eta", [-0.3, -1.0, -2.5])
    def test_single_pair_incidence(self, eps, eta):
        # q̂ = (T̂ p̂)^eta = p̂^eps  =>  p̂ = T̂^(eta / (eps - eta))
        sol = one_pair(0.25, eta=eta, eps_exporter=eps)
        p = 1.25 ** (eta / (eps - eta))
        assert_allclose(sol.producer_price[0, 0], p, rtol=1e-12)
        assert_allclose(sol.consumer_price[0, 1], 1.25 * p, rtol=1e-12)
        assert_allclose(sol.flows[0, 0, 1], 10.0 * p ** (1 + eps), rtol=1e-12)

    def test_fixed_supply_bears_the_whole_tariff(self):
        # eps = 0, one market: the exporter's price falls by 1/T̂; the tariff is a pure transfer.
        sol = one_pair(0.25, eps_exporter=0.0)
        assert_allclose(sol.producer_price[0, 0], 1 / 1.25, rtol=1e-13)
        assert_allclose(sol.consumer_price[0, 1], 1.0, atol=1e-13)
        assert_allclose(sol.tariff_revenue[0, 1], 0.25 * 10 / 1.25, rtol=1e-13)
        assert_allclose(sol.producer_surplus[0, 0], 10 * (1 / 1.25 - 1), rtol=1e-13)
        assert_allclose(sol.consumer_surplus[0, 1], 0.0, atol=1e-12)
        world = sol.consumer_surplus + sol.producer_surplus + sol.tariff_revenue
        assert_allclose(world.sum(), 0.0, atol=1e-12)

    def test_infinite_supply_elasticity_everywhere(self):
        # p̂ = 1; P̂ = (sum_i theta T̂^(1-sigma))^(1/(1-sigma)); q̂ = (1+d) P̂^(eta+sigma) T̂^-sigma.
        flows = np.array([[[50.0, 30.0, 5.0], [20.0, 80.0, 0.0], [10.0, 10.0, 40.0]]])
        base = np.zeros((1, 3, 3))
        base[0, 0, 1] = 0.1
        new = base.copy()
        new[0, 0, 1] = 0.35
        new[0, 2, 1] = 0.2
        sigma, eta, d = 4.0, -1.5, 0.1
        demand_shift = np.array([[0.0, d, 0.0]])
        sol = solve_equilibrium(flows, base, new, [sigma], [eta], np.full((1, 3), np.inf),
                                demand_shift=demand_shift)
        assert_allclose(sol.producer_price, 1.0)
        assert (sol.iterations == 0).all()
        # importer 1 by hand
        spend = np.array([30.0 * 1.1, 80.0, 10.0])
        theta = spend / spend.sum()
        t_hat = np.array([1.35 / 1.1, 1.0, 1.2])
        p_index = (theta @ t_hat ** (1 - sigma)) ** (1 / (1 - sigma))
        assert_allclose(sol.consumer_price[0, 1], p_index, rtol=1e-13)
        q = (1 + d) * p_index ** (eta + sigma) * t_hat ** -sigma
        assert_allclose(sol.flows[0, :, 1], flows[0, :, 1] * q, rtol=1e-13)
        # untouched importers: no change at all
        assert_allclose(sol.consumer_price[0, [0, 2]], 1.0, rtol=1e-15)
        assert_allclose(sol.producer_surplus, 0.0)
        expected_cs = -(1 + d) * spend.sum() * (p_index ** (1 + eta) - 1) / (1 + eta)
        assert_allclose(sol.consumer_surplus[0, 1], expected_cs, rtol=1e-12)
        revenue = 0.35 * flows[0, 0, 1] * q[0] + 0.2 * flows[0, 2, 1] * q[2] - 0.1 * 30.0
        assert_allclose(sol.tariff_revenue[0, 1], revenue, rtol=1e-12)

    @pytest.mark.parametrize("eps, eta", [(2.0, -0.5), (0.0, -1.0), (5.0, -3.0)])
    def test_supply_shift_in_one_market(self, eps, eta):
        # X (1+s) p̂^eps = X p̂^eta  =>  p̂ = (1+s)^(1/(eta-eps))
        flows = np.array([[[100.0]]])
        zero = np.zeros((1, 1, 1))
        sol = solve_equilibrium(flows, zero, zero, [2.0], [eta], [[eps]], supply_shift=[[0.2]])
        assert_allclose(sol.producer_price[0, 0], 1.2 ** (1 / (eta - eps)), rtol=1e-12)
        assert_allclose(sol.output[0, 0], 1.2 ** (eta / (eta - eps)), rtol=1e-12)

    def test_demand_shift_in_one_market(self):
        # (1+d) p̂^eta = p̂^eps  =>  p̂ = (1+d)^(1/(eps-eta))
        flows = np.array([[[100.0]]])
        zero = np.zeros((1, 1, 1))
        sol = solve_equilibrium(flows, zero, zero, [2.0], [-0.7], [[1.3]], demand_shift=[[0.25]])
        assert_allclose(sol.producer_price[0, 0], 1.25 ** (1 / 2.0), rtol=1e-12)


class TestSanityLaws:
    def test_no_shock_is_the_identity(self):
        flows, base, sigma, eta, eps = random_market(np.random.default_rng(1), 6, k=3)
        sol = solve_equilibrium(flows, base, base, sigma, eta, eps)
        assert (sol.producer_price == 1).all() and (sol.consumer_price == 1).all()
        assert (sol.flows == flows).all()
        for part in (sol.consumer_surplus, sol.producer_surplus, sol.tariff_revenue):
            assert (part == 0).all()
        assert (sol.iterations == 0).all()

    def test_tariff_raise_effects(self):
        flows, base, sigma, eta, eps = random_market(np.random.default_rng(2), 5, k=1, zero_share=0.0)
        new = base.copy()
        new[0, 1, 3] += 0.3
        sol = solve_equilibrium(flows, base, new, sigma, eta, eps)
        assert sol.flows[0, 1, 3] < flows[0, 1, 3]
        assert sol.consumer_price[0, 3] > 1
        assert sol.producer_price[0, 1] < 1

    def test_market_clearing_at_solution(self):
        flows, base, sigma, eta, eps = random_market(np.random.default_rng(3), 7, k=4)
        new = base + np.random.default_rng(4).uniform(0, 0.5, base.shape)
        s = np.random.default_rng(5).uniform(-0.3, 0.3, eps.shape)
        sol = solve_equilibrium(flows, base, new, sigma, eta, eps, supply_shift=s)
        demand = (flows * sol.quantity).sum(axis=-1)
        supply = flows.sum(axis=-1) * (1 + s) * sol.producer_price ** eps
        assert_allclose(demand, supply, rtol=1e-10)
        assert sol.all_converged and (sol.max_residual <= 1e-10).all()


class TestLimits:
    def _solve(self, sigma=3.0, eta=-0.8):
        flows, base, _, _, eps = random_market(np.random.default_rng(7), 4, k=1, zero_share=0.0)
        new = base.copy()
        new[0, 0, 2] += 0.4
        return solve_equilibrium(flows, base, new, [sigma], [eta], eps)

    def test_unit_sigma_is_the_continuous_limit(self):
        exact = self._solve(sigma=1.0)
        for near in (1 - 1e-6, 1 + 1e-6):
            close = self._solve(sigma=near)
            assert_allclose(exact.producer_price, close.producer_price, rtol=1e-5)
            assert_allclose(exact.flows, close.flows, rtol=1e-5)

    def test_unit_eta_is_the_continuous_limit(self):
        exact = self._solve(eta=-1.0)
        close = self._solve(eta=-1.0 + 1e-7)
        assert_allclose(exact.consumer_surplus, close.consumer_surplus, rtol=1e-5, atol=1e-9)

    def test_degenerate_regions(self):
        # region 2 produces nothing, region 3 buys nothing; a zero flow stays zero.
        flows = np.array([[[40.0, 10.0, 5.0, 0.0], [8.0, 60.0, 4.0, 0.0], [0.0, 0.0, 0.0, 0.0],
                           [3.0, 2.0, 1.0, 0.0]]])
        base = np.zeros((1, 4, 4))
        new = base.copy()
        new[0, 1, 0] = 0.5
        new[0, 3, 0] = 0.5
        eps = np.array([[1.0, 0.0, 2.0, np.inf]])
        sol = solve_equilibrium(flows, base, new, [2.0], [-1.0], eps)
        assert sol.all_converged
        assert sol.producer_price[0, 2] == 1.0  # no supply: price fixed
        assert sol.producer_price[0, 3] == 1.0  # eps = inf: price fixed
        assert sol.consumer_price[0, 3] == 1.0  # no expenditure
        assert sol.flows[0, 2, 0] == 0 and sol.flows[0, 0, 3] == 0
        assert sol.output[0, 1] == pytest.approx(1.0, abs=1e-12)  # eps = 0: fixed output
        assert sol.producer_price[0, 1] < 1


def test_jacobian_matches_finite_differences():
    rng = np.random.default_rng(11)
    flows, base, sigma, eta, eps = random_market(rng, 5, k=3)
    eps[0, 2] = np.inf
    flows[1, 4, :] = 0.0
    markets = model.Markets.build(flows, 1 + base, 1 + base + rng.uniform(0, 0.3, base.shape), sigma, eta, eps,
                            rng.uniform(-0.2, 0.2, eps.shape), rng.uniform(-0.2, 0.2, eps.shape))
    z = rng.normal(0, 0.1, eps.shape) * markets.free_price
    jac = model.jacobian(markets, model.evaluate(markets, z))
    h = 1e-6
    free = markets.free_price
    for m in range(5):
        dz = np.zeros_like(z)
        dz[:, m] = h
        diff = (model.evaluate(markets, z + dz).residual - model.evaluate(markets, z - dz).residual) / (2 * h)
        for k in range(3):
            if free[k, m]:
                assert_allclose(jac[k, free[k], m], diff[k, free[k]], rtol=1e-6, atol=1e-8)


class TestWelfareIntegrals:
    """ΔCS and ΔPS of docs/model.md "Equations" equal the areas under the demand and supply curves."""

    @pytest.mark.parametrize("eta", [-0.4, -1.0, -2.2])
    def test_consumer_surplus_is_area_left_of_demand(self, eta):
        expenditure, p_hat, d = 120.0, 1.17, 0.1
        cs = model.consumer_surplus_change(np.array([[expenditure]]), np.log([[p_hat]]), np.array([eta]),
                                           np.array([[d]]))
        area, _ = quad(lambda p: (1 + d) * expenditure * p**eta, 1.0, p_hat)
        assert_allclose(cs[0, 0], -area, rtol=1e-10)

    @pytest.mark.parametrize("eps", [0.0, 1.0, 3.5])
    def test_producer_surplus_is_area_left_of_supply(self, eps):
        output, p_hat, s = 80.0, 0.93, 0.15
        ps = model.producer_surplus_change(np.array([[output]]), np.log([[p_hat]]), np.array([[eps]]),
                                           np.array([[s]]))
        new, _ = quad(lambda p: output * (1 + s) * p**eps, 0.0, p_hat)
        old, _ = quad(lambda p: output * p**eps, 0.0, 1.0)
        assert_allclose(ps[0, 0], new - old, rtol=1e-10)
