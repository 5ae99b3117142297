"""The solver as it was before the world-scale rewrite (issue 8), kept as the benchmarks' reference.

Every market of the batch at once, the full-size term-by-term evaluation (two
exponentials over every market x exporter x importer per residual), converged
markets frozen by copying the whole state. Only ``benchmarks/`` uses it; it shares
``sim.engine.equations``'s exact evaluation (``evaluate``, ``jacobian``),
which the new solver keeps for flagged markets and which the tests pin.

Original description:

Batched Newton solver for the exact model, and the public array kernel.

All markets of a run (sectors × years × draws × ...) are stacked into one
batch and solved together: each Newton iteration evaluates every market with
vectorised numpy and solves the ``(M, N, N)`` linear systems in one
``numpy.linalg.solve`` call. A backtracking line search on the residual norm
safeguards large shocks; markets that have converged are frozen. The
convergence rule and fallbacks are described in docs/model.md, "Solver".
"""

from __future__ import annotations

from dataclasses import fields

import numpy as np

from sim.engine import equations as model
from sim.engine.solution import Solution

__all__ = ["reference_solve"]

#: Converged means max |ln demand − ln supply| <= TOLERANCE in every market.
TOLERANCE = 1e-10
MAX_ITERATIONS = 100
MAX_LOG_STEP = 10.0  # largest change of ln p̂ in one Newton step
MAX_HALVINGS = 40
ARMIJO = 1e-4
SHORT_STEP_HALVINGS = 5  # a Newton step accepted only at 1/32 or shorter also gets a Levenberg-Marquardt try
LM_DAMPING = 10.0 ** np.arange(-6, 7)  # Levenberg-Marquardt damping, relative to the mean diagonal of J'J


def reference_solve(
    flows,
    base_tariffs,
    new_tariffs,
    sigma,
    eta,
    eps,
    supply_shift=None,
    demand_shift=None,
    *,
    tol: float = TOLERANCE,
    max_iterations: int = MAX_ITERATIONS,
) -> Solution:
    """Solve the exact Armington partial equilibrium of docs/model.md, "Equations".

    Parameters
    ----------
    flows : array_like, shape (..., K, N, N)
        Base flows ``V[i, j]`` from exporter ``i`` to importer ``j`` at world
        prices (dataset units), ``>= 0``; the diagonal is domestic shipments.
    base_tariffs, new_tariffs : array_like, shape (..., K, N, N)
        Ad valorem rates ``t0`` and ``t1`` (0.25 = 25%), ``> -1``.
    sigma : array_like, shape (..., K)
        Elasticity of substitution between origins, ``> 0``.
    eta : array_like, shape (..., K)
        Composite demand elasticity, ``< 0``.
    eps : array_like, shape (..., K, N)
        Supply elasticity per region, in ``[0, inf]``.
    supply_shift, demand_shift : array_like, shape (..., K, N), optional
        ``s`` and ``d`` (supply / demand at given prices times ``1 + s``,
        ``1 + d``), each ``> -1``. Default 0.
    tol : float
        Convergence tolerance on ``|ln demand − ln supply|``.
    max_iterations : int

    Leading dimensions of all arguments broadcast together and are solved in
    one batch. Non-convergence is reported in ``converged``, never hidden.

    Returns
    -------
    Solution
    """
    markets, lead = as_markets(flows, base_tariffs, new_tariffs, sigma, eta, eps, supply_shift, demand_shift)
    state, iterations, residual = _newton(markets, tol, max_iterations)
    return _solution(markets, state, iterations, residual, tol, lead)


def as_markets(flows, base_tariffs, new_tariffs, sigma, eta, eps, supply_shift, demand_shift):
    """Validate, broadcast and flatten the arguments into a :class:`model.Markets`."""
    flows = np.asarray(flows, dtype=float)
    if flows.ndim < 3 or flows.shape[-1] != flows.shape[-2]:
        raise ValueError(f"flows must have shape (..., K, N, N); got {flows.shape}")
    n = flows.shape[-1]
    base_tariffs = np.asarray(base_tariffs, dtype=float)
    new_tariffs = np.asarray(new_tariffs, dtype=float)
    sigma = np.asarray(sigma, dtype=float)
    eta = np.asarray(eta, dtype=float)
    eps = np.asarray(eps, dtype=float)
    supply_shift = np.zeros(n) if supply_shift is None else np.asarray(supply_shift, dtype=float)
    demand_shift = np.zeros(n) if demand_shift is None else np.asarray(demand_shift, dtype=float)

    for name, arr in (("base_tariffs", base_tariffs), ("new_tariffs", new_tariffs)):
        if arr.ndim < 2 or arr.shape[-2:] != (n, n):
            raise ValueError(f"{name} must have shape (..., K, {n}, {n}); got {arr.shape}")
    for name, arr in (("eps", eps), ("supply_shift", supply_shift), ("demand_shift", demand_shift)):
        if arr.ndim < 1 or arr.shape[-1] != n:
            raise ValueError(f"{name} must have shape (..., K, {n}); got {arr.shape}")

    _check(np.isfinite(flows) & (flows >= 0), "flows must be finite and >= 0")
    for name, arr in (("base_tariffs", base_tariffs), ("new_tariffs", new_tariffs)):
        _check(np.isfinite(arr) & (arr > -1), f"{name} must be finite and > -1")
    _check(np.isfinite(sigma) & (sigma > 0), "sigma must be finite and > 0")
    _check(np.isfinite(eta) & (eta < 0), "eta must be finite and < 0")
    _check(eps >= 0, "eps must be >= 0 (inf allowed)")  # NaN fails this too
    for name, arr in (("supply_shift", supply_shift), ("demand_shift", demand_shift)):
        _check(np.isfinite(arr) & (arr > -1), f"{name} must be finite and > -1")

    try:
        lead = np.broadcast_shapes(
            flows.shape[:-2], base_tariffs.shape[:-2], new_tariffs.shape[:-2],
            sigma.shape, eta.shape, eps.shape[:-1], supply_shift.shape[:-1], demand_shift.shape[:-1],
        )
    except ValueError as exc:
        raise ValueError(f"leading dimensions do not broadcast: {exc}") from None
    if len(lead) == 0:
        raise ValueError("arguments need at least a sector dimension K")

    def flat(arr, tail):
        return np.ascontiguousarray(np.broadcast_to(arr, lead + tail).reshape((-1,) + tail))

    markets = model.Markets.build(
        flows=flat(flows, (n, n)),
        base_tariff_factor=flat(1.0 + base_tariffs, (n, n)),
        new_tariff_factor=flat(1.0 + new_tariffs, (n, n)),
        sigma=flat(sigma, ()),
        eta=flat(eta, ()),
        eps=flat(eps, (n,)),
        supply_shift=flat(supply_shift, (n,)),
        demand_shift=flat(demand_shift, (n,)),
    )
    return markets, lead


def _check(ok, message):
    if not np.all(ok):
        raise ValueError(message)


def _newton(markets: model.Markets, tol: float, max_iterations: int):
    """Damped Newton on ``z = ln p̂``; returns the final state, iterations (M,) and residual (M,).

    Only markets not yet converged take part in an iteration.
    """
    m, n = markets.eps.shape
    state = model.evaluate(markets, np.zeros((m, n)))
    iterations = np.zeros(m, dtype=int)
    for _ in range(max_iterations):
        active = np.abs(state.residual).max(axis=1) > tol
        if not active.any():
            break
        idx = np.flatnonzero(active)
        sub = markets if len(idx) == m else markets.take(idx)
        sub_state = state if len(idx) == m else state.take(idx)
        step = _newton_step(sub, sub_state)
        new_state = _line_search(sub, sub_state, step, tol)
        state = new_state if len(idx) == m else _put_state(state, idx, new_state)
        iterations[idx] += 1
    residual = np.abs(state.residual).max(axis=1)
    return state, iterations, residual


def _newton_step(markets, state):
    jac = model.jacobian(markets, state)
    rhs = -state.residual[:, :, None]
    try:
        step = np.linalg.solve(jac, rhs)[:, :, 0]
    except np.linalg.LinAlgError:  # a singular Jacobian somewhere in the batch: least-squares step
        step = (np.linalg.pinv(jac) @ rhs)[:, :, 0]
    largest = np.abs(step).max(axis=1, keepdims=True)
    scale = np.minimum(1.0, MAX_LOG_STEP / np.maximum(largest, MAX_LOG_STEP * 1e-300))
    return step * scale


def _line_search(markets, state, step, tol):
    """Backtracking on ||residual||: accept the first ``lam`` in 1, 1/2, ... that lowers it enough.

    Markets whose Newton step failed, or was accepted only after SHORT_STEP_HALVINGS
    halvings, also try Levenberg-Marquardt steps and keep whichever is better. A market
    that nothing improves keeps the smallest step tried; the iteration limit then
    reports it as not converged.
    """
    z = state.log_producer_price
    norm = _norm(state.residual)
    trial = _evaluate_trial(markets, z + step)
    accepted = _acceptable(trial, norm, 1.0, tol)
    if accepted.all():  # the usual case: the full Newton step
        return trial
    best = trial
    lam = 1.0
    shortened = np.zeros(len(z), dtype=bool)  # accepted only after many halvings
    for halving in range(1, MAX_HALVINGS + 1):
        lam /= 2
        pending = np.flatnonzero(~accepted)
        sub = markets.take(pending)
        retry = _evaluate_trial(sub, z[pending] + lam * step[pending])
        best = _put_state(best, pending, retry)
        now = _acceptable(retry, norm[pending], lam, tol)
        accepted[pending] = now
        shortened[pending[now]] = halving >= SHORT_STEP_HALVINGS
        if accepted.all():
            break
    # Where Newton's direction failed or crept (a badly scaled or near-singular Jacobian
    # far from the solution), also try Levenberg-Marquardt steps and keep the better.
    weak = np.flatnonzero(~accepted | shortened)
    if len(weak):
        lm, improved = _levenberg_marquardt(markets.take(weak), state.take(weak), _norm(best.residual[weak]))
        if improved.any():
            best = _put_state(best, weak[improved], lm.take(np.flatnonzero(improved)))
    return best


def _levenberg_marquardt(markets, state, target):
    """Levenberg-Marquardt steps from ``state``: per market, the least damping whose residual norm beats ``target``.

    Returns the states reached (``state`` itself where no damping helps) and which markets improved.
    """
    jac = model.jacobian(markets, state)
    jt = jac.transpose(0, 2, 1)
    normal = jt @ jac
    gradient = (jt @ state.residual[:, :, None])[:, :, 0]
    scale = np.trace(normal, axis1=1, axis2=2)[:, None, None] / normal.shape[-1]
    eye = np.eye(normal.shape[-1])
    result = state
    improved = np.zeros(len(target), dtype=bool)
    for damping in LM_DAMPING:
        idx = np.flatnonzero(~improved)
        step = np.linalg.solve(normal[idx] + damping * scale[idx] * eye, -gradient[idx][:, :, None])[:, :, 0]
        trial = _evaluate_trial(markets.take(idx), state.log_producer_price[idx] + step)
        better = _norm(trial.residual) < target[idx]
        if better.any():
            result = _put_state(result, idx[better], trial.take(np.flatnonzero(better)))
            improved[idx[better]] = True
        if improved.all():
            break
    return result, improved


def _evaluate_trial(markets, z):
    """Evaluate a trial point; one that overflows gets a non-finite residual and is rejected."""
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        state = model.evaluate(markets, z)
    finite = np.isfinite(state.residual).all(axis=1) & np.isfinite(state.sales).all(axis=(1, 2))
    if not finite.all():
        state.residual[~finite] = np.inf
    return state


def _acceptable(state, old_norm, lam, tol):
    new_norm = _norm(state.residual)
    return (new_norm <= (1.0 - ARMIJO * lam) * old_norm) | (new_norm <= tol)


def _norm(residual):
    with np.errstate(over="ignore", invalid="ignore"):
        return np.sqrt((residual**2).sum(axis=1))


def _put_state(state: model.MarketState, idx, part: model.MarketState) -> model.MarketState:
    """A copy of ``state`` with the markets ``idx`` replaced by ``part``."""
    merged = {}
    for f in fields(state):
        whole = getattr(state, f.name).copy()
        whole[idx] = getattr(part, f.name)
        merged[f.name] = whole
    return model.MarketState(**merged)


def _solution(markets, state, iterations, residual, tol, lead) -> Solution:
    k_n = lead + (markets.flows.shape[-1],)
    k_nn = k_n + (markets.flows.shape[-1],)
    flows = markets.flows
    # An extreme equilibrium can lie beyond floating point (a price up 1e300 times):
    # compute quietly, then report such markets as not converged instead of returning inf.
    with np.errstate(over="ignore", invalid="ignore"):
        producer = np.exp(state.log_producer_price)
        quantity = np.exp(state.log_quantity)
        # a zero base flow stays zero (its volume index may overflow where the flow is hypothetical)
        new_flows = np.where(flows > 0, flows * quantity * producer[:, :, None], 0.0)
        base_output = markets.output
        output = np.divide(state.quantity_demanded, base_output, out=np.ones_like(base_output),
                           where=base_output > 0)
        cs = model.consumer_surplus_change(markets.expenditure, state.log_consumer_price, markets.eta,
                                           markets.demand_shift)
        ps = model.producer_surplus_change(base_output, state.log_producer_price, markets.eps, markets.supply_shift)
        base_tr = model.tariff_revenue(markets.base_tariff_factor, flows)
        new_tr = model.tariff_revenue(markets.new_tariff_factor, new_flows)
        consumer = np.exp(state.log_consumer_price)
        revenue = new_tr - base_tr
    per_market = [producer, consumer, output, cs, ps, revenue, new_flows.reshape(len(flows), -1)]
    finite = np.logical_and.reduce([np.isfinite(a).all(axis=1) for a in per_market])
    return Solution(
        producer_price=producer.reshape(k_n),
        consumer_price=consumer.reshape(k_n),
        quantity=quantity.reshape(k_nn),
        flows=new_flows.reshape(k_nn),
        output=output.reshape(k_n),
        consumer_surplus=cs.reshape(k_n),
        producer_surplus=ps.reshape(k_n),
        tariff_revenue=revenue.reshape(k_n),
        base_tariff_revenue=base_tr.reshape(k_n),
        iterations=iterations.reshape(lead),
        max_residual=residual.reshape(lead),
        finite=finite.reshape(lead),
        converged=((residual <= tol) & finite).reshape(lead),
    )
