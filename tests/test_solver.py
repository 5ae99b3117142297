"""The public kernel: batching and broadcasting, argument checks, honest non-convergence."""

import numpy as np
import pytest
from numpy.testing import assert_allclose

from sim import solve_equilibrium

from .conftest import random_market


def test_leading_dimensions_broadcast_and_match_single_solves():
    rng = np.random.default_rng(0)
    flows, base, sigma, eta, eps = random_market(rng, 4, k=2)
    years = base[None] + rng.uniform(0, 0.4, (3, 1, 4, 4))  # (Y=3, K=2, N, N)
    batched = solve_equilibrium(flows, base, years, sigma, eta, eps)
    assert batched.producer_price.shape == (3, 2, 4)
    assert batched.flows.shape == (3, 2, 4, 4)
    assert batched.iterations.shape == batched.converged.shape == (3, 2)
    for y in range(3):
        for k in range(2):
            one = solve_equilibrium(flows[k:k + 1], base[k:k + 1], years[y, k:k + 1], sigma[k:k + 1],
                                    eta[k:k + 1], eps[k:k + 1])
            assert_allclose(batched.producer_price[y, k], one.producer_price[0], rtol=1e-12)
            assert_allclose(batched.consumer_surplus[y, k], one.consumer_surplus[0], rtol=1e-10, atol=1e-9)


def test_draws_of_elasticities_broadcast():
    rng = np.random.default_rng(1)
    flows, base, sigma, eta, eps = random_market(rng, 3, k=2)
    sigmas = sigma * rng.uniform(0.5, 1.5, (50, 1))  # (draws, K)
    sol = solve_equilibrium(flows, base, base + 0.1, sigmas, eta, eps)
    assert sol.producer_price.shape == (50, 2, 3)
    assert sol.all_converged


@pytest.mark.parametrize("change, message", [
    (dict(flows=-1.0), "flows must be finite and >= 0"),
    (dict(flows=np.nan), "flows must be finite and >= 0"),
    (dict(sigma=0.0), "sigma must be finite and > 0"),
    (dict(eta=0.0), "eta must be finite and < 0"),
    (dict(eps=-0.5), "eps must be >= 0"),
    (dict(eps=np.nan), "eps must be >= 0"),
    (dict(new=-1.0), "new_tariffs must be finite and > -1"),
    (dict(supply_shift=-1.0), "supply_shift must be finite and > -1"),
])
def test_bad_arguments_are_named(change, message):
    args = dict(flows=np.ones((1, 2, 2)), base=np.zeros((1, 2, 2)), new=np.zeros((1, 2, 2)), sigma=np.ones(1) * 2,
                eta=-np.ones(1), eps=np.ones((1, 2)), supply_shift=np.zeros((1, 2)))
    key, value = next(iter(change.items()))
    args[key] = np.full_like(args[key], value)
    with pytest.raises(ValueError, match=message):
        solve_equilibrium(args["flows"], args["base"], args["new"], args["sigma"], args["eta"], args["eps"],
                          supply_shift=args["supply_shift"])


def test_shape_errors():
    with pytest.raises(ValueError, match=r"flows must have shape \(\.\.\., K, N, N\)"):
        solve_equilibrium(np.ones((2, 3)), 0, 0, 1, -1, 1)
    with pytest.raises(ValueError, match="do not broadcast"):
        solve_equilibrium(np.ones((2, 3, 3)), np.zeros((2, 3, 3)), np.zeros((2, 3, 3)), np.ones(5), -np.ones(2),
                          np.ones((2, 3)))


def test_non_convergence_is_reported_not_hidden():
    flows, base, sigma, eta, eps = random_market(np.random.default_rng(2), 5, k=3)
    sol = solve_equilibrium(flows, base, base + 0.5, sigma, eta, eps, max_iterations=1)
    assert not sol.all_converged
    assert (sol.max_residual[~sol.converged] > 1e-10).all()
    full = solve_equilibrium(flows, base, base + 0.5, sigma, eta, eps)
    assert full.all_converged
