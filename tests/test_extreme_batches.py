"""Fixed batches of extreme markets: most must converge, and every converged one must be an equilibrium.

The Hypothesis tests of extreme inputs (``test_extremes``, ``test_quotas``) check only the markets that
converged, so a solver that never took a Newton step would pass them. These batches are built the same way
(:func:`tests.test_extremes.extreme`, :func:`tests.test_quotas.extreme_quotas`) from a fixed seed, solved as
one batch per region count (a batch shares its number of regions), and must reach a minimum converged share.

Floors: measured on main at issue 17 (seed below), minus a margin of 1% of the batch. Today's solver: 600 of
600 markets without quotas and 1,734 of 1,800 with them. Other seeds of the same size give 599 to 600 and 1,714
to 1,734, so 1% (6 and 18 markets) absorbs platform rounding on borderline markets, while a solver that never
steps (14 and 1,237 converged), takes one step (132 and 1,420), or stops after 20 iterations without quotas
(585) is below it. A change to the solver may raise a floor; lowering one needs a reason in the commit.

Each converged market is checked against market clearing recomputed here in logs, from docs/model.md,
"Equations", independently of ``sim.engine``, and with quotas against the conditions of "Tariff-rate quotas".
"""

import functools
from types import SimpleNamespace

import numpy as np
import pytest

import sim
from tests.test_extremes import extreme
from tests.test_quotas import assert_quota_conditions, extreme_quotas

SEED = 20240617
PLAIN_MARKETS, PLAIN_FLOOR = 600, 594  # 300 examples of 2 sectors, 2 to 6 regions
QUOTA_MARKETS, QUOTA_FLOOR = 1800, 1716  # 900 examples of 2 sectors, 2 to 5 regions
TOLERANCE = 1e-10  # docs/model.md, "Convergence rule"
# Evaluated a second way, a residual the solver found just below TOLERANCE can round just above it: the two
# evaluations differ by at most 2.2e-13 on these batches, so 1e-12 is allowed for the rounding, no more.
RECOMPUTED = TOLERANCE + 1e-12


def extreme_batches(examples: int, max_regions: int, quotas: bool):
    """The examples as the Hypothesis tests draw them, one seed and region count each, grouped by region count.

    Yields one tuple of stacked arrays per region count: the eight market arrays of
    :func:`sim.solve_equilibrium` (flows to demand shifts), then with ``quotas`` volume, in and out rates,
    each with a leading axis of examples before the two sectors.
    """
    master = np.random.default_rng(SEED)
    seeds = master.integers(0, 2**32, examples)
    regions = master.integers(2, max_regions + 1, examples)
    for n in np.unique(regions):
        examples_of_n = []
        for seed in seeds[regions == n]:
            rng = np.random.default_rng(seed)
            arrays = extreme(rng, n)
            examples_of_n.append(arrays + extreme_quotas(rng, n, arrays[0]) if quotas else arrays)
        yield tuple(np.stack(parts) for parts in zip(*examples_of_n))


def solve(arrays):
    """One batch through the public entry, looked up when called (a test can replace it)."""
    quotas = dict(zip(("quota_volume", "quota_in", "quota_out"), arrays[8:]))
    return sim.solve_equilibrium(*arrays[:8], **quotas)


def flatten(arrays, sol):
    """Inputs and solution as markets (M, ...), M = examples × sectors."""
    n = arrays[0].shape[-1]
    by_market = [a.reshape(-1, n, n) if a.ndim == 4 else a.reshape(-1, *a.shape[2:]) for a in arrays]
    return by_market, {name: getattr(sol, name).reshape(-1, *getattr(sol, name).shape[2:])
                       for name in ("producer_price", "tariffs", "converged", "quantity", "flows", "quota_rent",
                                    "max_residual") if getattr(sol, name) is not None}


def log_sum_exp(terms, axis):
    """``ln Σ exp(terms)`` along ``axis``; ``-inf`` where every term is ``-inf``."""
    top = terms.max(axis=axis, keepdims=True)
    top = np.where(np.isfinite(top), top, 0.0)
    with np.errstate(divide="ignore"):  # an empty sum: ln 0 = -inf
        return np.log(np.exp(terms - top).sum(axis=axis)) + np.squeeze(top, axis=axis)


def clearing_residual(flows, t0, t1, sigma, eta, eps, s, d, producer_price):
    """``ln Σ_j V q̂ − ln(X (1+s) p̂^ε)`` per region (M, N), from docs/model.md, "Equations", in logs.

    NaN where the docs impose no clearing condition (no output, or ``ε = ∞``: the price is fixed).
    Written without ``sim.engine``; sums of positive terms in logs, so extreme prices do not overflow.
    """
    with np.errstate(divide="ignore"):  # ln 0 = -inf: a zero flow drops out of every sum
        log_v, log_spend = np.log(flows), np.log((1 + t0) * flows)
        z = np.log(producer_price)
    log_t = np.log1p(t1) - np.log1p(t0)
    delivered = log_t + z[:, :, None]  # ln(T̂ p̂[i]), (M, i, j)
    log_e = log_sum_exp(log_spend, axis=1)  # ln E[j]
    spends = np.isfinite(log_e)
    log_theta = log_spend - np.where(spends, log_e, 0.0)[:, None, :]
    sig = sigma[:, None]
    unit = sig == 1.0
    one_minus = np.where(unit, 1.0, 1.0 - sig)
    ces = log_sum_exp(log_theta + one_minus[:, :, None] * delivered, axis=1) / one_minus
    geometric = np.where(np.isfinite(log_theta), np.exp(log_theta) * delivered, 0.0).sum(axis=1)
    log_index = np.where(spends, np.where(unit, geometric, ces), 0.0)  # ln P̂[j]
    log_q = np.log1p(d)[:, None, :] + eta[:, None, None] * log_index[:, None, :] \
        - sig[:, :, None] * (delivered - log_index[:, None, :])
    log_demand = log_sum_exp(log_v + log_q, axis=2)
    log_output = log_sum_exp(log_v, axis=2)
    clears = np.isfinite(log_output) & np.isfinite(eps)
    safe_eps = np.where(np.isfinite(eps), eps, 0.0)
    log_supply = log_output + np.log1p(s) + safe_eps * z
    return np.subtract(log_demand, log_supply, out=np.full(clears.shape, np.nan), where=clears)


def assert_equilibria(arrays, sol):
    """Every converged market clears to the tolerance, recomputed here; fixed-price regions stay at 1."""
    (flows, t0, t1, sigma, eta, eps, s, d, *quota), out = flatten(arrays, sol)
    ok = out["converged"]
    rates = out.get("tariffs", t1)  # with quotas, the rates applied (a binding quota's solved rate)
    residual = clearing_residual(flows[ok], t0[ok], rates[ok], sigma[ok], eta[ok], eps[ok], s[ok], d[ok],
                                 out["producer_price"][ok])
    worst = np.nanmax(np.abs(residual), axis=1, initial=0.0)
    bad = worst > RECOMPUTED
    assert not bad.any(), f"converged markets {np.flatnonzero(ok)[bad]} do not clear: residuals {worst[bad]}"
    fixed = ~np.isfinite(eps[ok]) | (flows[ok].sum(axis=2) == 0)
    # docs/model.md: such a region "keeps p̂ = 1"; exactly so without quotas, while the quota Newton moves an
    # ε = ∞ price by rounding (up to 2e-14 on these batches; reported in issue 17)
    drift = 0.0 if not quota else 1e-12
    assert (np.abs(out["producer_price"][ok][fixed] - 1.0) <= drift).all()
    if quota:
        assert_quota_conditions(SimpleNamespace(**out), flows, *quota)  # reads the flattened arrays by name


def converged_share(examples, max_regions, quotas):
    """Solve the fixed batches; check every converged market; return (converged, total)."""
    converged = total = 0
    for arrays in extreme_batches(examples, max_regions, quotas):
        sol = solve(arrays)
        assert_equilibria(arrays, sol)
        converged += int(sol.converged.sum())
        total += sol.converged.size
    return converged, total


def assert_floor(quotas):
    examples, max_regions, floor = (900, 5, QUOTA_FLOOR) if quotas else (300, 6, PLAIN_FLOOR)
    converged, total = converged_share(examples, max_regions, quotas)
    assert total == (QUOTA_MARKETS if quotas else PLAIN_MARKETS)
    assert converged >= floor, f"{converged} of {total} extreme markets converged; the floor is {floor}"


@pytest.mark.parametrize("quotas", [False, True], ids=["without_quotas", "with_quotas"])
def test_a_fixed_batch_of_extreme_markets_mostly_converges_to_true_equilibria(quotas):
    assert_floor(quotas)


@pytest.mark.parametrize("quotas", [False, True], ids=["without_quotas", "with_quotas"])
def test_a_solver_that_never_steps_fails_the_floor(quotas, monkeypatch):
    """The floor is a real test: with Newton limited to 0 iterations the share falls far below it."""
    monkeypatch.setattr(sim, "solve_equilibrium", functools.partial(sim.solve_equilibrium, max_iterations=0))
    with pytest.raises(AssertionError, match="extreme markets converged; the floor is"):
        assert_floor(quotas)
