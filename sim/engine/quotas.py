"""Tariff-rate quotas solved inside the batched Newton (docs/model.md, "Tariff-rate quotas").

A quota on the flow ``i → j`` has a volume ``Q`` (base-price units), an in-quota rate
and an out-of-quota rate. Its effective rate ``τ`` is one more unknown of the
market, tied to the flow's volume ``q = V[i,j] q̂[i,j]`` by a complementarity
condition::

    q < Q  ⇒ τ = in_rate          (slack)
    q = Q  ⇐ in_rate < τ < out_rate   (binding: the rate that fills the quota exactly)
    q > Q  ⇒ τ = out_rate         (over-filled; an absolute quota has out_rate = inf)

In logs, with ``y = ln(1 + τ)`` in ``[l, u] = [ln(1 + in), ln(1 + out)]`` and
``g = ln(q / Q)`` (decreasing in ``y``), the condition is the root of the "mid"
function ``R = κ (y − mid(l, y + g / κ, u))``, with ``κ = σ`` so that ``y + g / κ``
is close to the rate that fills the quota. ``R`` is ``−g`` where the quota binds and
``κ (y − bound)`` where it does not; it is piecewise smooth, and its Newton step
(a semismooth Newton step, one active piece per quota) is solved with the market's
clearing conditions in one linear system per market, batched over markets.

A market's quotas are first tried slack: markets whose flows at the in-quota rates
fit every quota are solved already (the common case when a quota is generous, and
the exact in-quota-rate result). The others start from there.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from . import equations
from .newton import Options, drive

__all__ = ["QuotaCells", "QuotaSystem", "solve_quota_markets"]



@dataclasses.dataclass(frozen=True)
class QuotaCells:
    """The quotas of ``M`` markets, padded to ``Q`` per market.

    Attributes
    ----------
    valid : ndarray of bool, shape (M, Q)
        The slot holds a quota (padding slots are False).
    exporter, importer : ndarray of int, shape (M, Q)
        The quota's flow ``i → j``.
    log_volume : ndarray, shape (M, Q)
        ``ln Q``, the quota volume in base-price units.
    lower, upper : ndarray, shape (M, Q)
        ``ln(1 + in_rate)`` and ``ln(1 + out_rate)`` (``inf`` for an absolute quota).
    start : ndarray, shape (M, Q)
        ``ln(1 + rate)`` of the rate the market was first solved at (the flow's new tariff
        clipped to the quota's rates: an unchanged base-year quota starts at its base rate).
    """

    valid: np.ndarray
    exporter: np.ndarray
    importer: np.ndarray
    log_volume: np.ndarray
    lower: np.ndarray
    upper: np.ndarray
    start: np.ndarray

    @classmethod
    def from_arrays(cls, volume, in_rate, out_rate, flows, start_rate) -> QuotaCells:
        """Collect the quotas of a batch from cell arrays (M, N, N): ``volume`` is ``inf`` where there is none.

        A quota on a flow that is zero in the base data can never fill, so it is left out
        (its cell keeps the in-quota rate, which the caller has already set).
        """
        has = np.isfinite(volume) & (flows > 0)
        count = has.sum(axis=(1, 2))
        q = max(int(count.max(initial=0)), 1)
        m = len(volume)
        valid = np.zeros((m, q), dtype=bool)
        exporter = np.zeros((m, q), dtype=int)
        importer = np.zeros((m, q), dtype=int)
        log_volume = np.zeros((m, q))
        lower = np.zeros((m, q))
        upper = np.zeros((m, q))
        start = np.zeros((m, q))
        markets, i, j = np.nonzero(has)
        slot = np.arange(len(markets)) - np.searchsorted(markets, markets)  # 0, 1, ... within each market
        valid[markets, slot] = True
        exporter[markets, slot] = i
        importer[markets, slot] = j
        log_volume[markets, slot] = np.log(volume[markets, i, j])
        lower[markets, slot] = np.log1p(in_rate[markets, i, j])
        upper[markets, slot] = np.log1p(out_rate[markets, i, j])
        start[markets, slot] = np.log1p(start_rate[markets, i, j])
        return cls(valid, exporter, importer, log_volume, lower, upper, start)

    def log_fill(self, flows, log_quantity) -> np.ndarray:
        """``g = ln(V q̂ / Q)`` of each quota's flow, (M, Q): base flows (M, N, N), ``ln q̂`` (M, N, N); 0 in padding."""
        m_idx = np.arange(len(flows))[:, None]
        i, j = self.exporter, self.importer
        log_flow = np.log(np.where(self.valid, flows[m_idx, i, j], 1.0)) + log_quantity[m_idx, i, j]
        return np.where(self.valid, log_flow - self.log_volume, 0.0)

    def satisfied(self, gap, tol) -> np.ndarray:
        """Whether every quota's conditions hold at the start rates, given ``g = ln(flow / volume)`` (M, Q): (M,)."""
        at_lower, at_upper = self.start <= self.lower, self.start >= self.upper
        ok = np.where(at_lower, gap <= tol, np.where(at_upper, gap >= -tol, np.abs(gap) <= tol))
        return (ok | ~self.valid).all(axis=1)

    def take(self, idx) -> QuotaCells:
        return QuotaCells(**{f.name: getattr(self, f.name)[idx] for f in dataclasses.fields(self)})


def with_quota_rates(markets: equations.Markets, cells: QuotaCells, y) -> equations.Markets:
    """``markets`` with the tariff factor of each quota flow set to ``exp(y)`` (M, Q), for :func:`equations.evaluate`.

    Only the exact evaluation may use the result (the fast path's constants are not rebuilt).
    """
    factor = markets.new_tariff_factor.copy()
    m, q = np.nonzero(cells.valid)
    factor[m, cells.exporter[m, q], cells.importer[m, q]] = np.exp(y[m, q])
    return dataclasses.replace(markets, new_tariff_factor=factor)


def _system(markets: equations.Markets, cells: QuotaCells, z, y):
    """Residuals ``[F; R]`` (M, N+Q) and, optionally, their Jacobian (M, N+Q, N+Q) at ``(z, y)``."""
    priced = with_quota_rates(markets, cells, y)
    state = equations.evaluate(priced, z)
    gap = cells.log_fill(markets.flows, state.log_quantity)  # g = ln(q / Q)
    kappa = markets.sigma[:, None]
    candidate = y + gap / kappa
    at_lower = candidate <= cells.lower
    at_upper = candidate >= cells.upper
    binding = cells.valid & ~at_lower & ~at_upper
    bound = np.where(at_lower, cells.lower, cells.upper)
    quota_residual = np.where(binding, -gap, np.where(cells.valid, kappa * (y - bound), 0.0))
    residual = np.concatenate([state.residual, quota_residual], axis=1)
    return residual, (priced, state, binding, cells.valid & at_lower, cells.valid & at_upper)


def _jacobian(markets, cells, priced, state, binding):
    """The (generalised) Jacobian of :func:`_system`'s residuals, (M, N+Q, N+Q)."""
    m, n = state.residual.shape
    q = cells.valid.shape[1]
    jac = np.zeros((m, n + q, n + q))
    jac[:, :n, :n] = equations.jacobian(priced, state)
    free = markets.free_price
    sigma, eta = markets.sigma[:, None], markets.eta[:, None]
    m_idx = np.arange(m)[:, None]
    i, j = cells.exporter, cells.importer  # (M, Q)
    w = state.price_weights  # w[k, j] = d ln P̂[j] / d ln(delivered price of k in j)
    # d ln q̂[k, j] / d ln(delivered price of k' in j) = (η + σ) w[k', j] − σ [k' = k]
    # Clearing rows: d F[r] / d y_s = a[r, j_s] ((η+σ) w[i_s, j_s] − σ [r = i_s]), a = sales shares of r.
    demanded = np.where(free, state.quantity_demanded, 1.0)
    sales_to = state.sales[m_idx, :, j].transpose(0, 2, 1) / demanded[:, :, None]  # a[r, j_s], (M, N, Q)
    w_own = w[m_idx, i, j]  # w[i_s, j_s], (M, Q)
    own = np.arange(n)[None, :, None] == i[:, None, :]  # [r = i_s], (M, N, Q)
    d_clear = sales_to * ((eta + sigma)[:, :, None] * w_own[:, None, :] - sigma[:, :, None] * own)
    jac[:, :n, n:] = np.where(free[:, :, None] & cells.valid[:, None, :], d_clear, 0.0)
    # Quota rows where the quota binds: R = −g, g = ln V + ln q̂[i_q, j_q] − ln Q.
    # d g / d z[r] = (η+σ) w[r, j_q] − σ [r = i_q];   d g / d y_s = [j_s = j_q] ((η+σ) w[i_s, j_q] − σ [s = q]).
    w_col = w[m_idx, :, j].transpose(0, 2, 1)  # w[r, j_q], (M, N, Q)
    dg_dz = ((eta + sigma)[:, :, None] * w_col - sigma[:, :, None] * own).transpose(0, 2, 1)  # (M, Q, N)
    dg_dz = np.where(free[:, None, :], dg_dz, 0.0)
    same_market = j[:, :, None] == j[:, None, :]  # [j_s = j_q], (M, Q, Q)
    w_cross = w[m_idx[:, :, None], i[:, None, :], j[:, :, None]]  # w[i_s, j_q], (M, Q, Q)
    dg_dy = same_market * ((eta + sigma)[:, :, None] * w_cross - sigma[:, :, None] * np.eye(q))
    kappa = markets.sigma[:, None]
    rows_z = np.where(binding[:, :, None], -dg_dz, 0.0)
    rows_y = np.where(binding[:, :, None], -dg_dy * cells.valid[:, None, :],
                      np.where(cells.valid[:, :, None], kappa[:, :, None] * np.eye(q), np.eye(q)))
    jac[:, n:, :n] = rows_z
    jac[:, n:, n:] = rows_y
    return jac


@dataclasses.dataclass(frozen=True)
class QuotaState:
    """A point ``x = [z, y]`` (M, N+Q) of the quota system, its residuals ``[F; R]`` (M, N+Q), and what the
    Jacobian there needs (the markets' state at the point and which quotas bind), so that an accepted
    point is never evaluated again for its Jacobian."""

    x: np.ndarray
    residual: np.ndarray
    log_consumer_price: np.ndarray
    log_quantity: np.ndarray
    sales: np.ndarray
    price_weights: np.ndarray
    market_residual: np.ndarray
    binding: np.ndarray

    def take(self, idx) -> QuotaState:
        return QuotaState(**{f.name: getattr(self, f.name)[idx] for f in dataclasses.fields(self)})

    def market_state(self, n: int) -> equations.MarketState:
        return equations.MarketState(self.x[:, :n], self.log_consumer_price, self.log_quantity, self.sales,
                                     self.price_weights, self.market_residual)


class QuotaSystem:
    """Prices and quota rates of markets together, ``x = [ln p̂, ln(1 + τ)]``, for :func:`~sim.engine.newton.drive`.

    Evaluated term by term (:func:`equations.evaluate`: the quota flows' rates move, so the fast
    path's constants would need rebuilding); the Jacobian is the semismooth one of the active
    pieces, from the parts the state keeps (no evaluation of its own).
    """

    def __init__(self, markets: equations.Markets, cells: QuotaCells):
        self.markets, self.cells = markets, cells
        self.n = markets.eps.shape[1]

    def subset(self, idx) -> QuotaSystem:
        return QuotaSystem(self.markets.take(idx), self.cells.take(idx))

    def evaluate(self, x, select=None) -> QuotaState:
        markets, cells = (self.markets, self.cells) if select is None else (self.markets.take(select),
                                                                            self.cells.take(select))
        residual, (_, state, binding, _, _) = _system(markets, cells, x[:, :self.n], x[:, self.n:])
        residual = np.where(np.isfinite(residual).all(axis=1, keepdims=True), residual, np.inf)
        return QuotaState(x, residual, state.log_consumer_price, state.log_quantity, state.sales,
                          state.price_weights, state.residual, binding)

    def jacobian(self, state: QuotaState):
        priced = with_quota_rates(self.markets, self.cells, state.x[:, self.n:])
        return _jacobian(self.markets, self.cells, priced, state.market_state(self.n), state.binding), 0

    @staticmethod
    def point(state: QuotaState):
        return state.x


def solve_quota_markets(markets: equations.Markets, cells: QuotaCells, z0, options: Options, used=None):
    """Semismooth Newton on ``(z, y)`` for markets whose quotas do not all fit at the in-quota rates.

    The engine's one Newton loop (:func:`~sim.engine.newton.drive`) on a :class:`QuotaSystem`,
    with the market solve's :class:`~sim.engine.newton.Options`; ``used`` (M,) counts the
    iterations each market has taken already, so that together they stay within
    ``options.max_iterations``. Returns the log producer prices ``z`` (M, N), the log tariff
    factors ``y`` (M, Q) of the quota flows, the iterations and the function evaluations per
    market, the final residuals (M, N+Q), and which quotas end at their in-quota and at their
    out-of-quota rate (M, Q each; there the rate is the bound itself, ``y`` within the tolerance
    of it).
    """
    n = z0.shape[1]
    x0 = np.concatenate([z0, np.where(cells.valid, cells.start, 0.0)], axis=1)
    state, iterations, nfev = drive(QuotaSystem(markets, cells), x0, options, used)
    z, y = state.x[:, :n], state.x[:, n:]
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        residual, (_, _, _, at_lower, at_upper) = _system(markets, cells, z, y)
    return z, y, iterations, nfev + 1, residual, at_lower, at_upper
