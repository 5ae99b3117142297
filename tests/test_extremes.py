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


def test_a_stiff_market_that_plain_newton_could_not_solve():
    """Found by random search: sigma 20, eta -0.01, flows from 1e-9 to 1e9, fixed supplies.

    The equilibrium has a producer price near 1e-35; damped Newton alone crept towards it
    and hit the iteration limit; the Levenberg-Marquardt fallback reaches it. scipy's
    ``root(method="lm")`` on the same equations agrees.
    """
    from scipy.optimize import root

    from sim.engine import equations as model
    from sim.engine.batch import as_batch

    flows = np.array([
        [0.0, 3.7035847798335549e-06, 5.3933469888610877e+06, 3.1345640548618841e+08, 1.6103780972260922e+04,
         3.3977281707416812e-03],
        [9.6767599248265140e+06, 1.0087975495685925e-07, 0.0, 0.0, 9.5675105834035277e+08, 0.0],
        [9.2455549188154855e+03, 3.7899923603509478e+03, 1.0333035457174968e-09, 2.9297453147350039e+00, 0.0,
         1.9435359877309975e-09],
        [1.3036623293784195e-09, 1.2876671073901497e-06, 2.1103546361873295e+00, 0.0, 1.9404647938758567e+08,
         4.7478421519440172e+02],
        [0.0, 2.1155037896647787e+08, 4.5356776386240306e-09, 4.1151171697847927e-07, 0.0,
         2.7054634737451579e-06],
        [0.0, 3.7317509066771067e+03, 1.7930872726034272e-05, 0.0, 2.4444397748321946e+04, 0.0]])[None]
    base = np.array([[0, .05, .25, .25, 0, 0], [0, .25, .05, .05, 0, .05], [.05, .05, .05, .25, 0, 0],
                     [0, .25, 0, 0, 0, .05], [0, 0, 0, .25, .25, .25], [0, .05, .05, 0, .25, .25]])[None]
    new = np.array([[0, .05, .25, .25, .1, 1], [.1, .25, .1, 0, 0, .05], [.05, 10, .05, 0, 0, 0],
                    [0, .25, 0, 10, .1, 0], [0, 0, 0, 1, 0, 0], [0, .05, .05, .1, .1, .25]])[None]
    args = (flows, base, new, [20.0], [-0.01], [[np.inf, 0, 0, 0, 0.5, np.inf]], [[0, 2, 2, -0.9, 2, -0.9]],
            [[2, -0.9, 0, 0, 0, 0]])
    sol = solve_equilibrium(*args)
    assert sol.all_converged
    batch = as_batch(*args)
    markets = batch.markets(0, batch.size)
    with np.errstate(all="ignore"):  # lm with the analytic Jacobian, which keeps fixed-price regions fixed
        check = root(lambda z: model.evaluate(markets, z[None]).residual[0], np.zeros(6), method="lm", tol=1e-14,
                     jac=lambda z: model.jacobian(markets, model.evaluate(markets, z[None]))[0])
    np.testing.assert_allclose(np.log(sol.producer_price[0]), check.x, atol=1e-6)
    assert sol.producer_price[0, 1] < 1e-30
