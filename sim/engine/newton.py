"""The Newton driver of the exact model: damped Newton on log prices, batched over markets.

Each iteration evaluates the markets still above the tolerance with
:func:`sim.engine.equations.fast_evaluate` (two matrix–vector products per market),
solves their ``(m, N, N)`` linear systems in one call (:func:`solve_batch`), and
safeguards the step with a backtracking line search on the residual norm; a step
that creeps or fails also gets Levenberg–Marquardt tries. Markets that have
converged leave the iteration. The quota complementarity solve
(:mod:`sim.engine.quotas`) takes its steps with the same :class:`Options` (tolerance,
iteration limit, step cap, line search), the same linear solve and norm, and counts its
function evaluations the same way.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np

from . import equations

__all__ = ["Options", "newton", "solve_batch", "norm", "evaluate_trial", "put_state"]


@dataclass(frozen=True)
class Options:
    """How the Newton iterations of a solve run (one object for the market and the quota solve).

    Attributes
    ----------
    tol : float
        Converged means ``max |residual| <= tol`` (docs/model.md, "Solver").
    max_iterations : int
        Newton iterations a market may take in all, quota iterations included.
    max_log_step : float
        Largest change of a log unknown in one step.
    max_halvings : int
        Step halvings the line search tries.
    armijo : float
        Sufficient decrease of the residual norm for a step to be accepted.
    short_step_halvings : int
        A step accepted only after this many halvings also gets Levenberg–Marquardt tries.
    lm_damping : tuple of float
        Levenberg–Marquardt damping tried in turn, relative to the mean diagonal of ``J'J``.
    """

    tol: float = 1e-10
    max_iterations: int = 100
    max_log_step: float = 10.0
    max_halvings: int = 40
    armijo: float = 1e-4
    short_step_halvings: int = 5
    lm_damping: tuple = tuple(10.0 ** np.arange(-6, 7))


def newton(markets: equations.Markets, options: Options):
    """Damped Newton on ``z = ln p̂``; returns ``z`` (M, N), the iterations and the function evaluations (M,).

    Only markets not yet converged take part in an iteration. Arithmetic that overflows (absurd
    elasticities, prices beyond floating point) is not an error here: a step that is not finite is
    not taken, a trial point that is not finite is rejected, and a market that ends non-finite or
    unconverged is reported by the results (``finite``, ``converged``).
    """
    m, n = markets.eps.shape
    iterations = np.zeros(m, dtype=int)
    nfev = np.ones(m, dtype=int)  # the evaluation at the start
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        state = evaluate_trial(markets, np.zeros((m, n)))
        for _ in range(options.max_iterations):
            active = np.abs(state.residual).max(axis=1) > options.tol
            if not active.any():
                break
            idx = np.flatnonzero(active)
            sub = markets if len(idx) == m else markets.take(idx)
            sub_state = state if len(idx) == m else state.take(idx)
            step = _newton_step(sub, sub_state, options)
            counted = np.zeros(len(idx), dtype=int)
            new_state = _line_search(sub, sub_state, step, options, counted)
            state = new_state if len(idx) == m else put_state(state, idx, new_state)
            iterations[idx] += 1
            nfev[idx] += counted
    return state.log_producer_price, iterations, nfev


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


def _newton_step(markets, state, options: Options):
    jac = equations.fast_jacobian(markets, state)
    step = solve_batch(jac, -state.residual)
    # a market whose step is not a number (an extreme Jacobian) takes none; the line search then tries
    # Levenberg-Marquardt steps for it, and the iteration limit reports it if nothing helps
    step = np.where(np.isfinite(step).all(axis=1, keepdims=True), step, 0.0)
    largest = np.abs(step).max(axis=1, keepdims=True)
    scale = np.minimum(1.0, options.max_log_step / np.maximum(largest, options.max_log_step * 1e-300))
    return step * scale


def _line_search(markets, state, step, options: Options, nfev):
    """Backtracking on ||residual||: accept the first ``lam`` in 1, 1/2, ... that lowers it enough.

    Markets whose Newton step failed, or was accepted only after ``short_step_halvings``
    halvings, also try Levenberg-Marquardt steps and keep whichever is better. A market
    that nothing improves keeps the smallest step tried; the iteration limit then
    reports it as not converged. ``nfev`` (M,) counts the evaluations of each market.
    """
    z = state.log_producer_price
    old_norm = norm(state.residual)
    trial = evaluate_trial(markets, z + step)
    nfev += 1
    accepted = _acceptable(trial, old_norm, 1.0, options)
    if accepted.all():  # the usual case: the full Newton step
        return trial
    best = trial
    lam = 1.0
    shortened = np.zeros(len(z), dtype=bool)  # accepted only after many halvings
    for halving in range(1, options.max_halvings + 1):
        lam /= 2
        pending = np.flatnonzero(~accepted)
        sub = markets.take(pending)
        retry = evaluate_trial(sub, z[pending] + lam * step[pending])
        nfev[pending] += 1
        best = put_state(best, pending, retry)
        now = _acceptable(retry, old_norm[pending], lam, options)
        accepted[pending] = now
        shortened[pending[now]] = halving >= options.short_step_halvings
        if accepted.all():
            break
    # Where Newton's direction failed or crept (a badly scaled or near-singular Jacobian
    # far from the solution), also try Levenberg-Marquardt steps and keep the better.
    weak = np.flatnonzero(~accepted | shortened)
    if len(weak):
        lm, improved = _levenberg_marquardt(markets.take(weak), state.take(weak), norm(best.residual[weak]),
                                            options, nfev, weak)
        if improved.any():
            best = put_state(best, weak[improved], lm.take(np.flatnonzero(improved)))
    return best


def _levenberg_marquardt(markets, state, target, options: Options, nfev, where):
    """Levenberg-Marquardt steps from ``state``: per market, the least damping whose residual norm beats ``target``.

    Returns the states reached (``state`` itself where no damping helps) and which markets improved;
    ``nfev[where]`` counts the evaluations.
    """
    jac = equations.fast_jacobian(markets, state)
    jt = jac.transpose(0, 2, 1)
    normal = jt @ jac
    gradient = (jt @ state.residual[:, :, None])[:, :, 0]
    scale = np.trace(normal, axis1=1, axis2=2)[:, None, None] / normal.shape[-1]
    eye = np.eye(normal.shape[-1])
    result = state
    improved = np.zeros(len(target), dtype=bool)
    for damping in options.lm_damping:
        idx = np.flatnonzero(~improved)
        step = solve_batch(normal[idx] + damping * scale[idx] * eye, -gradient[idx])
        trial = evaluate_trial(markets.take(idx), state.log_producer_price[idx] + step)
        nfev[where[idx]] += 1
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


def _acceptable(state, old_norm, lam, options: Options):
    new_norm = norm(state.residual)
    return (new_norm <= (1.0 - options.armijo * lam) * old_norm) | (new_norm <= options.tol)


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
