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

The system is evaluated by the fast path (:func:`equations.fast_evaluate`): the markets'
constants ``A`` and ``B`` are built once with the quota cells left out, and each evaluation
adds those cells' terms at the rates of its point (:class:`equations.CellRates`).

A chunk's markets (:func:`solve_markets`): those whose quotas hold at base prices are solved
as plain markets at the start rates first, and are done where the quotas still hold at the
equilibrium (the exact in-quota-rate result); the others go to the quota solve, straight from
base prices where a quota is violated there, else from that equilibrium.
"""

from __future__ import annotations

import contextlib
import dataclasses

import numpy as np

from . import equations
from .batch import QuotaFlows
from .newton import MarketSystem, Options, drive

__all__ = ["QuotaCells", "QuotaSystem", "solve_quota_markets"]



@dataclasses.dataclass(frozen=True)
class QuotaCells(equations.CellBase):
    """The quotas of ``M`` markets, padded to ``Q`` per market: their flows' cells and base constants
    (:class:`~sim.engine.equations.CellBase`: ``valid``, ``exporter``, ``importer``, ``flows``, ``shares``,
    ``base_factor``) and the quotas' terms.

    Attributes
    ----------
    log_volume : ndarray, shape (M, Q)
        ``ln Q``, the quota volume in base-price units.
    lower, upper : ndarray, shape (M, Q)
        ``ln(1 + in_rate)`` and ``ln(1 + out_rate)`` (``inf`` for an absolute quota).
    start : ndarray, shape (M, Q)
        ``ln(1 + rate)`` of the rate the market starts at (the flow's new tariff clipped to the
        quota's rates: an unchanged base-year quota starts at its base rate).
    start_factor : ndarray, shape (M, Q)
        ``1 + rate`` of that rate: the quota flow's tariff factor in the markets built at the start rates.
    in_factor, out_factor : ndarray, shape (M, Q)
        ``1 + in_rate`` and ``1 + out_rate``: the tariff factor of a quota at a bound, exactly.
    """

    log_volume: np.ndarray
    lower: np.ndarray
    upper: np.ndarray
    start: np.ndarray
    start_factor: np.ndarray
    in_factor: np.ndarray
    out_factor: np.ndarray

    @classmethod
    def of(cls, quota_flows: QuotaFlows, markets: equations.Markets) -> QuotaCells:
        """The quotas of a chunk's ``markets`` (built at the start rates) from its :class:`QuotaFlows`.

        A quota starts at the flow's new tariff clipped to its rates.

        A quota on a flow that is zero in the base data can never fill, so it is left out
        (its cell keeps the in-quota rate, which the caller has already set).
        """
        m = len(markets.sigma)
        kept = markets.flows[quota_flows.cells] > 0
        markets_of, i, j = (index[kept] for index in quota_flows.cells)
        q = max(int(np.bincount(markets_of, minlength=1).max()), 1)
        slot = np.arange(len(markets_of)) - np.searchsorted(markets_of, markets_of)  # 0, 1, ... within each market
        valid = np.zeros((m, q), dtype=bool)
        exporter = np.zeros((m, q), dtype=int)
        importer = np.zeros((m, q), dtype=int)
        valid[markets_of, slot] = True
        exporter[markets_of, slot] = i
        importer[markets_of, slot] = j
        base = equations.CellBase.of(markets, valid, exporter, importer)
        low, high = quota_flows.in_rate[kept], quota_flows.out_rate[kept]
        terms = {name: np.full((m, q), padding) for name, padding in (
            ("log_volume", 0.0), ("lower", 0.0), ("upper", 0.0), ("start", 0.0), ("start_factor", 1.0),
            ("in_factor", 1.0), ("out_factor", 1.0))}
        at = (markets_of, slot)
        terms["log_volume"][at] = np.log(quota_flows.volume[kept])
        terms["lower"][at] = np.log1p(low)
        terms["upper"][at] = np.log1p(high)
        start = quota_flows.start_rates()[kept]
        terms["start"][at] = np.log1p(start)
        terms["start_factor"][at] = 1.0 + start
        terms["in_factor"][at] = 1.0 + low
        terms["out_factor"][at] = 1.0 + high
        return cls(**{f.name: getattr(base, f.name) for f in dataclasses.fields(base)}, **terms)

    def log_fill(self, markets: equations.Markets, z, log_consumer_price, factor) -> np.ndarray:
        """``g = ln(V q̂ / Q)`` of each quota's flow (M, Q), 0 in padding.

        ``ln q̂ = ln(1+d[j]) + η ln P̂[j] − σ (ln T̂ + z[i] − ln P̂[j])`` at the quota cells only, from log
        producer prices ``z`` (M, N), the price index ``ln P̂`` (M, N) and the flows' tariff factors
        ``factor`` (M, Q).
        """
        rows = np.arange(len(z))[:, None]
        i, j = self.exporter, self.importer
        sigma, eta = markets.sigma[:, None], markets.eta[:, None]
        log_index = log_consumer_price[rows, j]
        delivered = np.log(factor / self.base_factor) + z[rows, i]
        log_quantity = np.log1p(markets.demand_shift[rows, j]) + eta * log_index - sigma * (delivered - log_index)
        log_flow = np.log(np.where(self.valid, self.flows, 1.0)) + log_quantity
        return np.where(self.valid, log_flow - self.log_volume, 0.0)

    def factor(self, markets: equations.Markets) -> np.ndarray:
        """The tariff factors ``1 + t`` of the quota flows in ``markets`` (M, Q); 1 in padding."""
        rows = np.arange(len(self.valid))[:, None]
        return np.where(self.valid, markets.new_tariff_factor[rows, self.exporter, self.importer], 1.0)

    def rates(self, markets: equations.Markets, factor) -> equations.CellRates:
        """The fast path's terms of the quota flows at tariff factors ``factor`` (M, Q)."""
        return equations.CellRates.at(markets, self, factor)

    def mid_residual(self, markets: equations.Markets, y, gap):
        """``R = κ (y − mid(l, y + g / κ, u))`` (M, Q), 0 in padding, and which quotas bind, sit at ``l``, at ``u``."""
        kappa = markets.sigma[:, None]
        candidate = y + gap / kappa
        at_lower = candidate <= self.lower
        at_upper = candidate >= self.upper
        binding = self.valid & ~at_lower & ~at_upper
        bound = np.where(at_lower, self.lower, self.upper)
        residual = np.where(binding, -gap, np.where(self.valid, kappa * (y - bound), 0.0))
        return residual, binding, self.valid & at_lower, self.valid & at_upper

    def predicted(self, markets: equations.Markets, state: equations.FastState, gap, max_step) -> np.ndarray:
        """``y`` (M, Q) that would fill each quota if only its own rate moved: ``y = mid(l, start − g / e, u)``.

        ``e = −σ + (η + σ) w`` is the flow's elasticity to its own tariff factor at the point of
        ``state`` (``w`` its share of the importer's spending), always below ``max(−σ, η) < 0``; the move
        is capped at ``max_step``, and a market the fast path could not evaluate keeps its start rates.
        """
        rows = np.arange(len(gap))[:, None]
        i, j = self.exporter, self.importer
        price_sums = np.where(markets.expenditure[rows, j] > 0, state.price_sums[rows, j], 1.0)
        share = markets.price_matrix[rows, i, j] * state.price_terms[rows, i] / price_sums
        sigma = markets.sigma[:, None]
        elasticity = -sigma + (markets.eta[:, None] + sigma) * share
        step = np.clip(-gap / elasticity, -max_step, max_step)
        usable = self.valid & np.isfinite(step) & ~state.exact_needed[:, None]
        return np.where(usable, np.clip(self.start + np.where(usable, step, 0.0), self.lower, self.upper),
                        self.start)

    def satisfied(self, gap, tol) -> np.ndarray:
        """Whether every quota's conditions hold at the start rates, given ``g = ln(flow / volume)`` (M, Q): (M,)."""
        at_lower, at_upper = self.start <= self.lower, self.start >= self.upper
        ok = np.where(at_lower, gap <= tol, np.where(at_upper, gap >= -tol, np.abs(gap) <= tol))
        return (ok | ~self.valid).all(axis=1)

    def at_start(self, at_lower, at_upper) -> np.ndarray:
        """Whether every quota of a market ends at its start rate, at the bound it started at: (M,)."""
        lower = at_lower & (self.start <= self.lower)
        upper = at_upper & (self.start >= self.upper)
        return (lower | upper | ~self.valid).all(axis=1)



def _jacobian(markets: equations.Markets, cells: QuotaCells, jac, sales_to, weights, binding):
    """The (generalised) Jacobian of the quota system's residuals ``[F; R]``, (M, N+Q, N+Q), in ``jac``.

    ``jac[:, :N, :N]`` holds ``d F / d z`` already; the other blocks are set here. ``sales_to[r, q]`` (M, N, Q)
    the share of region
    ``r``'s sales that go to the quota's importer ``j_q``, and ``weights[r, q]`` (M, N, Q) the
    expenditure share ``w[r, j_q] = d ln P̂[j_q] / d ln(delivered price of r in j_q)``, both at the point.
    """
    m, n = sales_to.shape[:2]
    q = cells.valid.shape[1]
    free = markets.free_price
    sigma, eta = markets.sigma[:, None], markets.eta[:, None]
    m_idx = np.arange(m)[:, None]
    i = cells.exporter  # (M, Q)
    # d ln q̂[k, j] / d ln(delivered price of k' in j) = (η + σ) w[k', j] − σ [k' = k]
    # Clearing rows: d F[r] / d y_s = a[r, j_s] ((η+σ) w[i_s, j_s] − σ [r = i_s]), a = sales shares of r.
    w_own = np.take_along_axis(weights, i[:, None, :], axis=1)[:, 0, :]  # w[i_s, j_s], (M, Q)
    own = np.arange(n)[None, :, None] == i[:, None, :]  # [r = i_s], (M, N, Q)
    d_clear = sales_to * ((eta + sigma)[:, :, None] * w_own[:, None, :] - sigma[:, :, None] * own)
    jac[:, :n, n:] = np.where(free[:, :, None] & cells.valid[:, None, :], d_clear, 0.0)
    # Quota rows where the quota binds: R = −g, g = ln V + ln q̂[i_q, j_q] − ln Q.
    # d g / d z[r] = (η+σ) w[r, j_q] − σ [r = i_q];   d g / d y_s = [j_s = j_q] ((η+σ) w[i_s, j_q] − σ [s = q]).
    dg_dz = ((eta + sigma)[:, :, None] * weights - sigma[:, :, None] * own).transpose(0, 2, 1)  # (M, Q, N)
    dg_dz = np.where(free[:, None, :], dg_dz, 0.0)
    j = cells.importer
    same_market = j[:, :, None] == j[:, None, :]  # [j_s = j_q], (M, Q, Q)
    w_cross = weights[m_idx[:, :, None], i[:, None, :], np.arange(q)[None, :, None]]  # w[i_s, j_q], (M, Q, Q)
    dg_dy = same_market * ((eta + sigma)[:, :, None] * w_cross - sigma[:, :, None] * np.eye(q))
    kappa = markets.sigma[:, None]
    rows_z = np.where(binding[:, :, None], -dg_dz, 0.0)
    rows_y = np.where(binding[:, :, None], -dg_dy * cells.valid[:, None, :],
                      np.where(cells.valid[:, :, None], kappa[:, :, None] * np.eye(q), np.eye(q)))
    jac[:, n:, :n] = rows_z
    jac[:, n:, n:] = rows_y
    return jac


def _fast_market_jacobian(markets: equations.Markets, cells: QuotaCells, rates: equations.CellRates,
                          state: equations.FastState, out=None):
    """``d F / d z`` (M, N, N; in ``out`` if given), ``sales_to`` and ``weights`` (M, N, Q) of :func:`_jacobian`
    from the fast path.

    ``markets`` hold ``A`` and ``B`` without the quota cells (:meth:`equations.CellRates.clear`), whose
    terms ``a``, ``b`` come from ``rates``. With ``D = diag(c / S)``, ``B D Aᵀ`` of
    :func:`equations.fast_jacobian` is ``B₀ D A₀ᵀ`` plus, for each quota cell ``(i, j)``, the row
    ``i``: ``b D[j] A₀[:, j]`` and the column ``i``: ``B[:, j] D[j] a`` (``B`` the full column,
    all the quota cells of ``j`` included), so the full matrices are never built.
    ``sales_to[r, q] = B[r, j_q] c[j_q] / R[r]`` and ``weights[r, q] = A[r, j_q] u[r] / S[j_q]``.
    """
    m, n = state.log_producer_price.shape
    q = cells.valid.shape[1]
    rows = np.arange(m)[:, None]
    i, j = cells.exporter, cells.importer
    free = markets.free_price
    demand_sums = np.where(free, state.demand_sums, 1.0)
    price_sums = np.where(markets.expenditure > 0, state.price_sums, 1.0)
    scale = (markets.eta + markets.sigma)[:, None] / demand_sums  # (η + σ) / R
    weight = state.demand_terms / price_sums  # D = c / S
    cleared_prices = markets.price_matrix[rows, :, j]  # A₀[:, j_q], (M, Q, N)
    prices = cleared_prices.transpose(0, 2, 1).copy()  # A[:, j_q], (M, N, Q)
    demands = markets.demand_matrix[rows, :, j].transpose(0, 2, 1).copy()  # B[:, j_q], (M, N, Q)
    same_column = j[:, :, None] == j[:, None, :]  # [j_q = j_q'], (M, Q, Q')
    into = (rows[:, :, None], i[:, None, :], np.arange(q)[None, :, None])  # the cell (i_q', j_q) of column q
    np.add.at(prices, into, rates.price_terms[:, None, :] * same_column)
    np.add.at(demands, into, rates.demand_terms[:, None, :] * same_column)

    jac = equations.fast_jacobian(markets, state, out)
    u = state.price_terms
    row_values = ((scale[rows, i] * rates.demand_terms * weight[rows, j])[:, :, None] * cleared_prices
                  * u[:, None, :])  # J[i_q, :], (M, Q, N)
    row_values *= free[rows, i][:, :, None] & free[:, None, :]
    np.add.at(jac, (rows[:, :, None], i[:, :, None], np.arange(n)[None, None, :]), row_values)
    column_values = scale[:, :, None] * demands * (weight[rows, j] * rates.price_terms * u[rows, i])[:, None, :]
    column_values *= free[:, :, None] & free[rows, i][:, None, :]  # J[:, i_q], (M, N, Q)
    np.add.at(jac, (rows[:, :, None], np.arange(n)[None, :, None], i[:, None, :]), column_values)

    sales_to = demands * state.demand_terms[rows, j][:, None, :] / demand_sums[:, :, None]
    weights = prices * u[:, :, None] / price_sums[rows, j][:, None, :]
    return jac, sales_to, weights


def _exact_columns(markets: equations.Markets, cells: QuotaCells, state: equations.MarketState):
    """``sales_to`` and ``weights`` of :func:`_jacobian` from the term-by-term evaluation."""
    rows = np.arange(len(cells.valid))[:, None]
    j = cells.importer
    demanded = np.where(markets.free_price, state.quantity_demanded, 1.0)
    sales_to = state.sales[rows, :, j].transpose(0, 2, 1) / demanded[:, :, None]
    return sales_to, state.price_weights[rows, :, j].transpose(0, 2, 1)


@dataclasses.dataclass(frozen=True)
class QuotaState:
    """A point ``x = [z, y]`` (M, N+Q) of the quota system, its residuals ``[F; R]`` (M, N+Q), the fast
    path's sums there (what the Jacobian needs, so that an accepted point is never evaluated again for
    it; arrays of (M, N)) and the quotas' regimes (M, Q)."""

    x: np.ndarray
    residual: np.ndarray
    log_consumer_price: np.ndarray
    market_residual: np.ndarray
    price_terms: np.ndarray
    price_sums: np.ndarray
    demand_terms: np.ndarray
    demand_sums: np.ndarray
    exact_needed: np.ndarray
    binding: np.ndarray
    at_lower: np.ndarray
    at_upper: np.ndarray

    def take(self, idx) -> QuotaState:
        return QuotaState(**{f.name: getattr(self, f.name)[idx] for f in dataclasses.fields(self)})

    def fast_state(self, n: int) -> equations.FastState:
        return equations.FastState(self.x[:, :n], self.log_consumer_price, self.market_residual, self.price_terms,
                                   self.price_sums, self.demand_terms, self.demand_sums, self.exact_needed)


class QuotaSystem:
    """Prices and quota rates of markets together, ``x = [ln p̂, ln(1 + τ)]``, for :func:`~sim.engine.newton.drive`.

    Evaluated by the fast path (:func:`equations.fast_evaluate`) with the markets' constants ``A`` and
    ``B`` built once and cleared at the quota cells, whose terms are added at each evaluation from the
    rates of the point (:class:`equations.CellRates`); markets the fast path flags are evaluated term by
    term, as without quotas. The Jacobian is the semismooth one of the active pieces, from the sums the
    state keeps.
    """

    def __init__(self, markets: equations.Markets, cells: QuotaCells):
        """``markets`` are cleared at the quota cells (:meth:`equations.CellRates.clear`)."""
        self.markets, self.cells = markets, cells
        self.n = markets.eps.shape[1]

    @classmethod
    def of(cls, markets: equations.Markets, cells: QuotaCells, own=False) -> QuotaSystem:
        """The system of ``markets`` (with ``own``, markets nothing else uses: cleared in place)."""
        return cls(equations.CellRates.clear(markets, cells.valid, cells.exporter, cells.importer, own), cells)

    def subset(self, idx) -> QuotaSystem:
        return QuotaSystem(self.markets.take(idx), self.cells.take(idx))

    def evaluate(self, x, select=None) -> QuotaState:
        markets, cells = (self.markets, self.cells) if select is None else (self.markets.take(select),
                                                                            self.cells.take(select))
        z, y = x[:, :self.n], x[:, self.n:]
        state = equations.fast_evaluate(markets, z, cells.rates(markets, np.exp(y)))
        gap = cells.log_fill(markets, z, state.log_consumer_price, np.exp(y))
        quota_residual, binding, at_lower, at_upper = cells.mid_residual(markets, y, gap)
        residual = np.concatenate([state.residual, quota_residual], axis=1)
        finite = np.isfinite(residual).all(axis=1, keepdims=True) & np.isfinite(state.log_consumer_price).all(
            axis=1, keepdims=True)
        residual = np.where(finite, residual, np.inf)
        return QuotaState(x, residual, state.log_consumer_price, state.residual, state.price_terms,
                          state.price_sums, state.demand_terms, state.demand_sums, state.exact_needed, binding,
                          at_lower, at_upper)

    def jacobian(self, state: QuotaState):
        n = self.n
        z, y = state.x[:, :n], state.x[:, n:]
        rates = self.cells.rates(self.markets, np.exp(y))
        fast = state.fast_state(n)
        exact = fast.exact_needed
        m, q = y.shape
        jac = np.empty((m, n + q, n + q))  # d F / d z in its top left block, the rest set by _jacobian
        # flagged markets are done term by term below (fast_jacobian would evaluate them itself)
        market_jacobian, sales_to, weights = _fast_market_jacobian(
            self.markets, self.cells, rates, dataclasses.replace(fast, exact_needed=np.zeros_like(exact)),
            out=jac[:, :n, :n])
        if exact.any():
            idx = np.flatnonzero(exact)
            sub = rates.take(idx).priced(self.markets.take(idx))  # the quota flows' tariffs at the point
            exact_state = equations.evaluate(sub, z[idx])
            market_jacobian[idx] = equations.jacobian(sub, exact_state)
            sales_to[idx], weights[idx] = _exact_columns(sub, self.cells.take(idx), exact_state)
        return _jacobian(self.markets, self.cells, jac, sales_to, weights, state.binding), 0

    @staticmethod
    def point(state: QuotaState):
        return state.x


def solve_quota_markets(markets: equations.Markets, cells: QuotaCells, z0, options: Options, used=None, y0=None,
                        own=False):
    """Semismooth Newton on ``(z, y)`` from log producer prices ``z0`` (M, N) and ``y0`` (M, Q; the start rates
    by default); with ``own``, ``markets`` are a copy nothing else uses.

    The engine's one Newton loop (:func:`~sim.engine.newton.drive`) on a :class:`QuotaSystem`,
    with the market solve's :class:`~sim.engine.newton.Options`; ``used`` (M,) counts the
    iterations each market has taken already, so that together they stay within
    ``options.max_iterations``. Returns the final :class:`QuotaState` (log producer prices,
    log tariff factors ``y`` of the quota flows, residuals and regimes: a quota at its in-quota
    or out-of-quota rate has ``y`` within the tolerance of the bound), and the iterations and the
    function evaluations per market.
    """
    x0 = np.concatenate([z0, np.where(cells.valid, cells.start if y0 is None else y0, 0.0)], axis=1)
    return drive(QuotaSystem.of(markets, cells, own), x0, options, used)


def hold_at(markets: equations.Markets, cells: QuotaCells, z, tol):
    """Whether every quota's conditions hold at log producer prices ``z`` (M, N) of ``markets`` at the start
    rates: (M,).

    Also returns the fast path's state there and the quotas' ``g = ln(flow / volume)`` (M, Q).
    """
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        state = equations.fast_evaluate(markets, z)
        gap = cells.log_fill(markets, z, state.log_consumer_price, cells.start_factor)
    return cells.satisfied(gap, tol), state, gap


def final_residual(markets: equations.Markets, cells: QuotaCells, z):
    """``max |R|`` over each market's quotas (M,), evaluated with the constants the results come from,
    and that fast evaluation (:class:`~sim.engine.equations.FastState`, which the results reuse).

    ``markets`` carry the solved rates (:meth:`equations.CellRates.restore`); the quotas' conditions
    are checked at those rates, as the results state them.
    """
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        state = equations.fast_evaluate(markets, z)
        factor = cells.factor(markets)
        gap = cells.log_fill(markets, z, state.log_consumer_price, factor)
        residual = cells.mid_residual(markets, np.log(factor), gap)[0]
    return np.abs(residual).max(axis=1), state


#: Iterations a market sent straight to the quota solve (its quotas do not hold at base prices) may take
#: there; one that has not converged by then starts again the careful way (its iterations still count).
DIRECT_ITERATIONS = 10


class ChunkSolve:
    """The markets of a chunk with quotas, solved (docs/model.md, "Tariff-rate quotas"); see :func:`solve_markets`.

    Holds, per market, the log producer prices ``z`` (M, N), the quota flows' log tariff factors
    ``y`` and regimes (M, Q), iterations and evaluations, and whether the rates come from the quota
    solve (else the start rates).
    """

    def __init__(self, markets: equations.Markets, cells: QuotaCells, options: Options, own: bool = False):
        self.markets, self.cells, self.options, self.own = markets, cells, options, own
        m, n = markets.eps.shape
        q = cells.valid.shape[1]
        self.z = np.zeros((m, n))
        self.y = np.zeros((m, q))
        self.at_lower, self.at_upper = np.zeros((m, q), dtype=bool), np.zeros((m, q), dtype=bool)
        self.iterations, self.nfev = np.zeros(m, dtype=int), np.zeros(m, dtype=int)
        self.quota_solved = np.zeros(m, dtype=bool)

    def plain(self, chosen) -> np.ndarray:
        """Solve the markets ``chosen`` (M,) bool as plain markets at the start rates, from base prices.

        Returns where every quota's conditions hold at their equilibrium (M,): there it is the answer.
        """
        idx = np.flatnonzero(chosen)
        holds = np.zeros(len(chosen), dtype=bool)
        if len(idx):
            sub = _take(self.markets, idx)
            state, iterations, nfev = drive(MarketSystem(sub), np.zeros((len(idx), self.z.shape[1])),
                                            self.options, self.iterations[idx])
            self.z[idx] = state.log_producer_price
            self.iterations[idx] += iterations
            self.nfev[idx] += nfev
            self.quota_solved[idx] = False
            holds[idx] = hold_at(sub, self.cells.take(idx), self.z[idx], self.options.tol)[0]
        return holds

    def quota(self, chosen, options: Options, y0=None) -> np.ndarray:
        """Solve the markets ``chosen`` (M,) bool for prices and quota rates from their ``z`` (and ``y0`` (M, Q),
        else the start rates); returns which converged."""
        idx = np.flatnonzero(chosen)
        converged = np.zeros(len(chosen), dtype=bool)
        if len(idx):
            n = self.z.shape[1]
            whole = len(idx) == len(chosen)
            cells = self.cells if whole else self.cells.take(idx)
            with _kept(self.markets, cells, whole and self.own):  # else a copy: take's or clear's
                state, iterations, nfev = solve_quota_markets(_take(self.markets, idx), cells, self.z[idx], options,
                                                              self.iterations[idx], None if y0 is None else y0[idx],
                                                              own=not whole or self.own)
            self.z[idx], self.y[idx] = state.x[:, :n], state.x[:, n:]
            self.at_lower[idx], self.at_upper[idx] = state.at_lower, state.at_upper
            self.iterations[idx] += iterations
            self.nfev[idx] += nfev
            self.quota_solved[idx] = True
            converged[idx] = np.abs(state.residual).max(axis=1) <= options.tol
        return converged

    def priced(self) -> equations.Markets:
        """The markets with the solved rates of the markets solved for them (constants set at those cells only;
        the others untouched): at a bound, the bound's factor exactly (1 + in_rate or 1 + out_rate); in
        between, ``exp(y)``. A rate beyond floating point (a market that did not converge) is reported by
        the results, not raised here."""
        cells = self.cells
        with np.errstate(over="ignore", invalid="ignore"):
            factor = np.where(self.at_lower, cells.in_factor, np.where(self.at_upper, cells.out_factor,
                                                                       np.exp(self.y)))
        valid = cells.valid & self.quota_solved[:, None]
        if not valid.any():
            return self.markets
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            return equations.CellRates.at(self.markets, dataclasses.replace(cells, valid=valid), factor).restore(
                self.markets, in_place=self.own)


@contextlib.contextmanager
def _kept(markets: equations.Markets, cells: QuotaCells, keep: bool):
    """With ``keep``, put back ``A`` and ``B`` of ``markets`` at the quota cells on leaving (a quota solve on
    ``markets`` themselves clears them in place: :meth:`equations.CellRates.clear`)."""
    if not keep:
        yield
        return
    _, at = equations.cell_index(cells.valid, cells.exporter, cells.importer)
    price, demand = markets.price_matrix[at], markets.demand_matrix[at]
    try:
        yield
    finally:
        markets.price_matrix[at], markets.demand_matrix[at] = price, demand


def solve_markets(markets: equations.Markets, cells: QuotaCells, options: Options, own: bool = False):
    """Solve markets with quotas whose quota flows are at their start rates in ``markets``; with ``own``,
    markets nothing else uses, whose constants the solve changes in place (no copies of M × N × N arrays).

    A market whose quotas' conditions hold at base prices is solved as a plain market at the start
    rates (:class:`~sim.engine.newton.MarketSystem`); where they still hold at its equilibrium, that is
    the answer, exactly (a slack quota at its in-quota rate, an unchanged base-year quota at its base
    rate). The others take semismooth Newton steps on prices and quota rates together
    (:class:`QuotaSystem`): straight from base prices, for at most :data:`DIRECT_ITERATIONS`, or from
    the plain market's equilibrium. A market that the quota solve from base prices leaves at its start
    rates is the plain market at those rates, and is solved as one, so that its result is exactly that
    market's. Every market's iterations count against ``options.max_iterations`` together.

    Returns
    -------
    markets : Markets
        With the solved rates at the quota cells (what the results are computed from).
    z : ndarray, shape (M, N)
    iterations, nfev : ndarray of int, shape (M,)
    quota_residual : ndarray, shape (M,)
        ``max |R|`` of the market's quotas at the rates and prices returned (0 where they hold at
        the start rates).
    state : FastState or None
        The fast evaluation of ``markets`` at ``z`` (None if no market needed it).
    """
    solve = ChunkSolve(markets, cells, options, own)
    holds, state, gap = hold_at(markets, cells, solve.z, options.tol)
    direct = ~holds
    quick = dataclasses.replace(options, max_iterations=min(DIRECT_ITERATIONS, options.max_iterations))
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        y0 = cells.predicted(markets, state, gap, options.max_log_step)
    settled = solve.quota(direct, quick, y0)
    holds = solve.plain(~settled)
    solve.quota(~settled & ~holds, options)
    solve.plain(settled & cells.at_start(solve.at_lower, solve.at_upper))
    priced = solve.priced()
    residual, state = np.zeros(len(direct)), None
    checked = ~holds  # every market but the plain ones whose quotas held
    if checked.any():  # evaluated for all: cheaper than copying most of the markets
        at_end, state = final_residual(priced, cells, solve.z)
        residual[checked] = at_end[checked]
    return priced, solve.z, solve.iterations, solve.nfev + ~holds, residual, state


def _take(markets: equations.Markets, idx) -> equations.Markets:
    """The markets ``idx`` (an index array), without a copy when that is all of them."""
    return markets if len(idx) == len(markets.sigma) else markets.take(idx)
