"""The Newton driver of the exact model: damped Newton on log prices, batched over markets.

Each iteration evaluates the markets still above the tolerance with
:func:`sim.engine.equations.fast_evaluate` (two matrix–vector products per market),
solves their ``(m, N, N)`` linear systems in one call (:func:`solve_batch`), and
safeguards the step with a backtracking line search on the residual norm; a step
that creeps or fails also gets Levenberg–Marquardt tries. Markets that have
converged leave the iteration. The quota complementarity solve
(:mod:`sim.engine.quotas`) uses the same linear solve and norm.
"""

from __future__ import annotations

from dataclasses import fields

import numpy as np

from . import equations

__all__ = ["newton", "solve_batch", "norm", "evaluate_trial", "put_state"]

MAX_LOG_STEP = 10.0  # largest change of ln p̂ in one Newton step
MAX_HALVINGS = 40
ARMIJO = 1e-4
SHORT_STEP_HALVINGS = 5  # a Newton step accepted only at 1/32 or shorter also gets a Levenberg-Marquardt try
LM_DAMPING = 10.0 ** np.arange(-6, 7)  # Levenberg-Marquardt damping, relative to the mean diagonal of J'J


def newton(markets: equations.Markets, tol: float, max_iterations: int):
    """Damped Newton on ``z = ln p̂``; returns ``z`` (M, N) and the iterations per market (M,).

    Only markets not yet converged take part in an iteration. Arithmetic that overflows (absurd
    elasticities, prices beyond floating point) is not an error here: a step that is not finite is
    not taken, a trial point that is not finite is rejected, and a market that ends non-finite or
    unconverged is reported by the results (``finite``, ``converged``).
    """
    m, n = markets.eps.shape
    iterations = np.zeros(m, dtype=int)
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        state = evaluate_trial(markets, np.zeros((m, n)))
        for _ in range(max_iterations):
            active = np.abs(state.residual).max(axis=1) > tol
            if not active.any():
                break
            idx = np.flatnonzero(active)
            sub = markets if len(idx) == m else markets.take(idx)
            sub_state = state if len(idx) == m else state.take(idx)
            step = _newton_step(sub, sub_state)
            new_state = _line_search(sub, sub_state, step, tol)
            state = new_state if len(idx) == m else put_state(state, idx, new_state)
            iterations[idx] += 1
    return state.log_producer_price, iterations


def solve_batch(matrices, rhs):
    """``x`` with ``matrices @ x = rhs`` for a batch, (M, N, N) and (M, N) → (M, N); where some matrix in
    the batch is singular, the least-squares (pseudo-inverse) solution for every one."""
    try:
        return np.linalg.solve(matrices, rhs[:, :, None])[:, :, 0]
    except np.linalg.LinAlgError:
        pass
    with np.errstate(invalid="ignore", over="ignore"):
        try:
            return (np.linalg.pinv(matrices) @ rhs[:, :, None])[:, :, 0]
        except np.linalg.LinAlgError:  # not even an SVD (non-finite entries): no step; the market is reported
            return np.zeros_like(rhs)


def _newton_step(markets, state):
    jac = equations.fast_jacobian(markets, state)
    step = solve_batch(jac, -state.residual)
    # a market whose step is not a number (an extreme Jacobian) takes none; the line search then tries
    # Levenberg-Marquardt steps for it, and the iteration limit reports it if nothing helps
    step = np.where(np.isfinite(step).all(axis=1, keepdims=True), step, 0.0)
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
    old_norm = norm(state.residual)
    trial = evaluate_trial(markets, z + step)
    accepted = _acceptable(trial, old_norm, 1.0, tol)
    if accepted.all():  # the usual case: the full Newton step
        return trial
    best = trial
    lam = 1.0
    shortened = np.zeros(len(z), dtype=bool)  # accepted only after many halvings
    for halving in range(1, MAX_HALVINGS + 1):
        lam /= 2
        pending = np.flatnonzero(~accepted)
        sub = markets.take(pending)
        retry = evaluate_trial(sub, z[pending] + lam * step[pending])
        best = put_state(best, pending, retry)
        now = _acceptable(retry, old_norm[pending], lam, tol)
        accepted[pending] = now
        shortened[pending[now]] = halving >= SHORT_STEP_HALVINGS
        if accepted.all():
            break
    # Where Newton's direction failed or crept (a badly scaled or near-singular Jacobian
    # far from the solution), also try Levenberg-Marquardt steps and keep the better.
    weak = np.flatnonzero(~accepted | shortened)
    if len(weak):
        lm, improved = _levenberg_marquardt(markets.take(weak), state.take(weak), norm(best.residual[weak]))
        if improved.any():
            best = put_state(best, weak[improved], lm.take(np.flatnonzero(improved)))
    return best


def _levenberg_marquardt(markets, state, target):
    """Levenberg-Marquardt steps from ``state``: per market, the least damping whose residual norm beats ``target``.

    Returns the states reached (``state`` itself where no damping helps) and which markets improved.
    """
    jac = equations.fast_jacobian(markets, state)
    jt = jac.transpose(0, 2, 1)
    normal = jt @ jac
    gradient = (jt @ state.residual[:, :, None])[:, :, 0]
    scale = np.trace(normal, axis1=1, axis2=2)[:, None, None] / normal.shape[-1]
    eye = np.eye(normal.shape[-1])
    result = state
    improved = np.zeros(len(target), dtype=bool)
    for damping in LM_DAMPING:
        idx = np.flatnonzero(~improved)
        step = solve_batch(normal[idx] + damping * scale[idx] * eye, -gradient[idx])
        trial = evaluate_trial(markets.take(idx), state.log_producer_price[idx] + step)
        better = norm(trial.residual) < target[idx]
        if better.any():
            result = put_state(result, idx[better], trial.take(np.flatnonzero(better)))
            improved[idx[better]] = True
        if improved.all():
            break
    return result, improved


def evaluate_trial(markets, z):
    """Evaluate a trial point; one that overflows gets a non-finite residual and is rejected."""
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        state = equations.fast_evaluate(markets, z)
    finite = np.isfinite(state.residual).all(axis=1) & np.isfinite(state.log_consumer_price).all(axis=1)
    if not finite.all():
        state.residual[~finite] = np.inf
    return state


def _acceptable(state, old_norm, lam, tol):
    new_norm = norm(state.residual)
    return (new_norm <= (1.0 - ARMIJO * lam) * old_norm) | (new_norm <= tol)


def norm(residual):
    with np.errstate(over="ignore", invalid="ignore"):
        return np.sqrt((residual**2).sum(axis=1))


def put_state(state: equations.FastState, idx, part: equations.FastState) -> equations.FastState:
    """A copy of ``state`` (arrays of markets × regions, small) with the markets ``idx`` replaced by ``part``."""
    merged = {}
    for f in fields(state):
        whole = getattr(state, f.name).copy()
        whole[idx] = getattr(part, f.name)
        merged[f.name] = whole
    return equations.FastState(**merged)
