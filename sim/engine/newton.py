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

__all__ = ["Options", "MarketSystem", "drive", "newton", "solve_batch", "norm", "evaluate_trial", "put_state"]


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


class MarketSystem:
    """The clearing conditions of a batch of markets in ``x = z = ln p̂``, by the fast evaluation.

    A system for :func:`drive` has ``subset(idx)``, ``evaluate(x, select=None)`` (the state at
    ``x`` of the markets ``select`` of the system, every one by default; a point that overflows
    gets an infinite residual), ``jacobian(state)`` (the Jacobian and how many evaluations of the
    system it took) and ``point(state)``.
    """

    def __init__(self, markets: equations.Markets):
        self.markets = markets

    def subset(self, idx) -> MarketSystem:
        return MarketSystem(self.markets.take(idx))

    def evaluate(self, x, select=None):
        return evaluate_trial(self.markets if select is None else self.markets.take(select), x)

    def jacobian(self, state):
        return equations.fast_jacobian(self.markets, state), 0

    @staticmethod
    def point(state):
        return state.log_producer_price


def drive(system, x0, options: Options, used=None):
    """Damped Newton on ``system`` from ``x0`` (M, n): the one Newton loop of the engine.

    Only markets above the tolerance and within their iteration budget take part in an
    iteration (``used`` (M,): iterations a market has taken already, counted against
    ``options.max_iterations``). Each takes a Newton step (capped at ``options.max_log_step``
    per component; a step that is not a number is not taken), backtracks on the residual norm
    (:func:`_line_search`) and, where the step fails or creeps, tries Levenberg–Marquardt steps.
    Arithmetic that overflows is not an error here: a point that overflows is rejected like a
    worse one, and a market that ends non-finite or unconverged is reported by the results.

    Returns
    -------
    state
        The system's state at the last point of every market (its ``residual`` is (M, n)).
    iterations, nfev : ndarray of int, shape (M,)
        Iterations taken here and evaluations of the system (the start included).
    """
    m = len(x0)
    iterations = np.zeros(m, dtype=int)
    nfev = np.ones(m, dtype=int)  # the evaluation at the start
    budget = options.max_iterations - (0 if used is None else np.asarray(used))
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        state = system.evaluate(x0)
        for _ in range(options.max_iterations):
            active = ~(np.abs(state.residual).max(axis=1) <= options.tol) & (iterations < budget)
            if not active.any():
                break
            idx = np.flatnonzero(active)
            whole = len(idx) == m
            sub = system if whole else system.subset(idx)
            sub_state = state if whole else state.take(idx)
            counted = np.zeros(len(idx), dtype=int)
            jacobian, extra = sub.jacobian(sub_state)
            counted += extra
            step = _newton_step(jacobian, sub_state.residual, options)
            new_state = _line_search(sub, sub_state, step, options, counted)
            state = new_state if whole else put_state(state, idx, new_state)
            iterations[idx] += 1
            nfev[idx] += counted
    return state, iterations, nfev


def newton(markets: equations.Markets, options: Options):
    """Damped Newton on ``z = ln p̂`` of ``markets`` (:func:`drive`).

    Returns ``z`` (M, N), iterations, nfev (M,) and the fast evaluation at ``z``
    (:class:`~sim.engine.equations.FastState`; a market beyond floating point has an infinite residual).
    """
    m, n = markets.eps.shape
    state, iterations, nfev = drive(MarketSystem(markets), np.zeros((m, n)), options)
    return state.log_producer_price, iterations, nfev, state


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


def _newton_step(jacobian, residual, options: Options):
    step = solve_batch(jacobian, -residual)
    # a market whose step is not a number (an extreme Jacobian) takes none; the line search then tries
    # Levenberg-Marquardt steps for it, and the iteration limit reports it if nothing helps
    step = np.where(np.isfinite(step).all(axis=1, keepdims=True), step, 0.0)
    largest = np.abs(step).max(axis=1, keepdims=True)
    scale = np.minimum(1.0, options.max_log_step / np.maximum(largest, options.max_log_step * 1e-300))
    return step * scale


def _line_search(system, state, step, options: Options, nfev):
    """Backtracking on ||residual||: accept the first ``lam`` in 1, 1/2, ... that lowers it enough.

    Markets whose Newton step failed, or was accepted only after ``short_step_halvings``
    halvings, also try Levenberg-Marquardt steps and keep whichever is better. A market
    that nothing improves keeps the smallest step tried; the iteration limit then
    reports it as not converged. ``nfev`` (M,) counts the evaluations of each market.
    """
    z = system.point(state)
    old_norm = norm(state.residual)
    trial = system.evaluate(z + step)
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
        retry = system.evaluate(z[pending] + lam * step[pending], select=pending)
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
        lm, improved = _levenberg_marquardt(system.subset(weak), state.take(weak), norm(best.residual[weak]),
                                            options, nfev, weak)
        if improved.any():
            best = put_state(best, weak[improved], lm.take(np.flatnonzero(improved)))
    return best


def _levenberg_marquardt(system, state, target, options: Options, nfev, where):
    """Levenberg-Marquardt steps from ``state``: per market, the least damping whose residual norm beats ``target``.

    Returns the states reached (``state`` itself where no damping helps) and which markets improved;
    ``nfev[where]`` counts the evaluations.
    """
    jac, extra = system.jacobian(state)
    nfev[where] += extra
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
        trial = system.evaluate(system.point(state)[idx] + step, select=idx)
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


def put_state(state, idx, part):
    """A copy of ``state`` (a dataclass of arrays by market, small) with the markets ``idx`` replaced by ``part``."""
    merged = {}
    for f in fields(state):
        whole = getattr(state, f.name).copy()
        whole[idx] = getattr(part, f.name)
        merged[f.name] = whole
    return type(state)(**merged)
