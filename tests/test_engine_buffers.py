"""Issue 22: the solver copies and computes less per chunk, with the same numbers (no timing here)."""

from dataclasses import fields

import numpy as np

from sim.engine.batch import as_batch
from sim.engine.newton import Options, newton
from sim.engine.solution import Outputs

from .conftest import random_market


def _markets(m=6, n=5, seed=0):
    rng = np.random.default_rng(seed)
    flows, base, sigma, eta, eps = random_market(rng, n, k=m)
    return as_batch(flows, base, base + rng.uniform(0, 0.4, base.shape), sigma, eta, eps, None, None)


def test_a_take_copies_a_field_when_it_is_read_and_equals_indexing_every_field():
    markets = _markets().markets(0, 6)
    first = markets.take(np.array([0, 2, 3, 5]))
    second = first.take(np.array([1, 3]))  # markets 2 and 5
    assert "flows" not in vars(first) and "flows" not in vars(second)  # nothing copied yet
    _ = first.price_matrix
    assert "price_matrix" in vars(first) and "demand_matrix" not in vars(first)
    for f in fields(markets):
        whole = getattr(markets, f.name)
        assert np.array_equal(getattr(first, f.name), whole[[0, 2, 3, 5]]), f.name
        assert np.array_equal(getattr(second, f.name), whole[[2, 5]]), f.name
    assert np.array_equal(second.log_flows, markets.log_flows[[2, 5]])


def test_a_range_of_an_argument_given_whole_is_a_read_only_slice_of_it():
    rng = np.random.default_rng(1)
    flows, base, sigma, eta, eps = random_market(rng, 4, k=5)
    batch = as_batch(flows, base, base + 0.1, sigma, eta, eps, None, None)
    part = batch.arguments(1, 4)
    assert np.shares_memory(part["flows"], flows) and not part["flows"].flags.writeable
    assert np.array_equal(part["flows"], flows[1:4]) and np.array_equal(part["sigma"], sigma[1:4])
    assert not np.shares_memory(part["supply_shift"], flows)  # broadcast from a default: copied as before


def test_results_from_the_newton_loops_last_state_equal_those_of_a_new_evaluation():
    batch = _markets(m=8, n=6, seed=2)
    markets = batch.markets(0, 8)
    z, iterations, nfev, state = newton(markets, Options())
    given, fresh = Outputs((8,), 6), Outputs((8,), 6)
    given.store(slice(0, 8), markets, z, iterations, nfev, 1e-10, state=state)
    fresh.store(slice(0, 8), markets, z, iterations, nfev, 1e-10)
    for group in ("by_region", "by_flow", "by_market"):
        for name, array in getattr(given, group).items():
            assert np.array_equal(array, getattr(fresh, group)[name]), name


def test_a_bad_argument_is_refused_by_the_range_check_as_before():
    rng = np.random.default_rng(3)
    flows, base, sigma, eta, eps = random_market(rng, 3, k=2)
    for kwargs, message in ((dict(flows=np.where(flows > 0, np.inf, flows)), "flows must be finite and >= 0"),
                            (dict(eta=np.array([-1.0, np.nan])), "eta must be finite and < 0"),
                            (dict(base=np.full_like(base, -1.0)), "base_tariffs must be finite and > -1")):
        args = dict(flows=flows, base=base, sigma=sigma, eta=eta) | kwargs
        try:
            as_batch(args["flows"], args["base"], base, args["sigma"], args["eta"], eps, None, None)
        except ValueError as exc:
            assert str(exc) == message
        else:
            raise AssertionError(message)
