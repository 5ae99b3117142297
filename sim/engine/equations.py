"""The equations of docs/model.md, "Equations" and "Welfare", as pure array functions.

Every function works on a flat batch of ``M`` independent markets (one market
is one sector in one year, or one Monte Carlo draw, ...) with ``N`` regions.
Arrays are ordered ``[market, exporter i, importer j]``. Quantities in
"hat" form are ratios new/base; the solver's unknowns are the log producer
price changes ``z[i] = ln p̂[i]``.

Two evaluations of the same equations:

- :func:`fast_evaluate` and :func:`fast_jacobian`, which the solver iterates
  with. They use two constant matrices per market built once,
  ``A[i,j] = θ[i,j] T̂[i,j]^(1−σ)`` and ``B[i,j] = V[i,j] T̂[i,j]^(−σ)``, so that
  ``P̂[j]^(1−σ) = Σ_i A[i,j] p̂[i]^(1−σ)`` and
  ``Σ_j V[i,j] q̂[i,j] = p̂[i]^(−σ) Σ_j B[i,j] (1+d[j]) P̂[j]^(η+σ)``: two
  matrix–vector products and O(N) exponentials per market instead of O(N²).
  Sums are scaled by their largest exponent; a market where a scaled sum would
  underflow is flagged ``exact_needed`` and evaluated by the functions below.
  With :class:`CellRates`, the terms of a few cells (the quota flows, whose rates move
  while the quota solve iterates) are kept apart and added to the sums.
- :func:`evaluate` and :func:`jacobian`, the equations term by term with a
  log-sum-exp per importer: overflow-safe at any price, used for flagged
  markets and for the final results.

The functions here know nothing of files, labels or the solver; they are the
formulas and nothing else, so each line can be checked against docs/model.md.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, fields
from functools import cached_property

import numpy as np

#: ``|1 - sigma|`` below this uses the Cobb-Douglas (geometric mean) limit.
UNIT_SIGMA_TOL = 1e-9
#: ``|1 + eta|`` or ``|1 + eps|`` below this uses the logarithmic limit.
UNIT_ELASTICITY_TOL = 1e-12


@dataclass(frozen=True)
class Markets:
    """Base data and shocks for a flat batch of ``M`` markets of ``N`` regions.

    Build it with :meth:`Markets.build`, which also computes the base-data
    aggregates of the equations once, so that the solver's many evaluations do not
    repeat them. All fields index ``[market, ...]`` and can be sliced together.

    Attributes
    ----------
    flows : ndarray, shape (M, N, N)
        Base flows ``V[i, j]`` at world prices (dataset units), exporter first.
    base_tariff_factor, new_tariff_factor : ndarray, shape (M, N, N)
        ``T0 = 1 + t0`` and ``T1 = 1 + t1``.
    sigma : ndarray, shape (M,)
        Armington elasticity of substitution between origins, > 0.
    eta : ndarray, shape (M,)
        Composite demand elasticity, < 0.
    eps : ndarray, shape (M, N)
        Supply elasticity per exporter, in [0, inf].
    supply_shift, demand_shift : ndarray, shape (M, N)
        ``s[i]`` and ``d[j]``, each > -1.
    expenditure : ndarray, shape (M, N)
        ``E[j] = sum_i T0[i,j] V[i,j]`` at internal prices.
    output : ndarray, shape (M, N)
        ``X[i] = sum_j V[i,j]``.
    shares : ndarray, shape (M, N, N)
        ``theta[i,j] = T0 V / E[j]`` (0 where E = 0).
    price_matrix, demand_matrix, tariff_power : ndarray, shape (M, N, N)
        The fast path's constants ``A = θ T̂^(1−σ)``, ``B = V T̂^(−σ)`` and ``T̂^(−σ)``.
    free_price : ndarray of bool, shape (M, N)
        Exporters whose price is an unknown: ``X > 0`` and finite ``eps``.
    """

    flows: np.ndarray
    base_tariff_factor: np.ndarray
    new_tariff_factor: np.ndarray
    sigma: np.ndarray
    eta: np.ndarray
    eps: np.ndarray
    supply_shift: np.ndarray
    demand_shift: np.ndarray
    expenditure: np.ndarray
    output: np.ndarray
    shares: np.ndarray
    free_price: np.ndarray
    log_supply: np.ndarray  # ln(X (1 + s)) where the price is free, else 0
    free_eps: np.ndarray  # eps where the price is free, else 0
    price_matrix: np.ndarray  # A = θ T̂^(1−σ) (θ where σ = 1), (M, N, N)
    demand_matrix: np.ndarray  # B = V T̂^(−σ), (M, N, N)
    tariff_power: np.ndarray  # T̂^(−σ), (M, N, N)
    unit_sigma: np.ndarray  # σ == 1 (Cobb-Douglas price index), (M,)
    unit_log_price: np.ndarray  # Σ_i θ ln T̂ where σ == 1, else 0, (M, N)
    log_share_total: np.ndarray  # ln Σ_i θ[i,j] (0 up to rounding; keeps a zero shock exact), (M, N)
    exact_only: np.ndarray  # a constant of the fast path is not finite: always evaluate exactly, (M,)

    @classmethod
    def build(cls, flows, base_tariff_factor, new_tariff_factor, sigma, eta, eps, supply_shift, demand_shift):
        """Compute the base-data aggregates of the equations (shapes as in the class docstring)."""
        spend = base_tariff_factor * flows
        expenditure = spend.sum(axis=1)
        total = expenditure[:, None, :]
        spending = total > 0
        shares = np.divide(spend, total, out=spend, where=spending)  # in place: spend is not needed again
        if not spending.all():
            np.copyto(shares, 0.0, where=~spending)
        output = matvec(flows, np.ones(flows.shape[:-1]))  # summed as the fast path sums, so no shock is exact
        free = (output > 0) & np.isfinite(eps)
        tariff_ratio = new_tariff_factor / base_tariff_factor
        unit = np.abs(1.0 - sigma) < UNIT_SIGMA_TOL
        with np.errstate(over="ignore", invalid="ignore"):  # a constant beyond floating point: exact path
            changed = tariff_ratio != 1.0  # usually few cells: the rest keep T̂^(−σ) = 1 exactly
            tariff_power = np.power(tariff_ratio, -sigma[:, None, None], out=np.ones_like(tariff_ratio),
                                    where=changed)
            demand_matrix = flows * tariff_power
            price_matrix = shares * tariff_ratio
            price_matrix *= tariff_power
        if unit.any():
            price_matrix[unit] = shares[unit]
        # A and B are >= 0 or NaN or +inf (products of shares, flows and powers): the largest entry of a
        # market is finite exactly when every entry is (a NaN makes it NaN)
        with np.errstate(invalid="ignore"):
            finite = [np.isfinite(a.max(axis=(1, 2), initial=0.0)) for a in (price_matrix, demand_matrix)]
        exact_only = ~np.logical_and.reduce(finite)
        if exact_only.any():
            tariff_power, price_matrix, demand_matrix = (np.where(np.isfinite(a), a, 0.0) for a in (
                tariff_power, price_matrix, demand_matrix))
        return cls(
            flows, base_tariff_factor, new_tariff_factor, sigma, eta, eps, supply_shift, demand_shift,
            expenditure=expenditure,
            output=output,
            shares=shares,
            free_price=free,
            log_supply=np.log(np.where(free, output * (1.0 + supply_shift), 1.0)),
            free_eps=np.where(free, eps, 0.0),
            price_matrix=price_matrix,
            demand_matrix=demand_matrix,
            tariff_power=tariff_power,
            unit_sigma=unit,
            unit_log_price=(np.where(unit[:, None], (shares * np.log(tariff_ratio)).sum(axis=1), 0.0)
                            if unit.any() else np.zeros(expenditure.shape)),
            log_share_total=np.log(np.where(expenditure > 0, _matvec_left(np.ones(expenditure.shape), shares), 1.0)),
            exact_only=exact_only,
        )

    def take(self, idx) -> Markets:
        """The markets selected by ``idx`` (an index array over the first axis).

        Each field is copied out of ``self`` when it is first read: the Newton iterations on a subset of a
        chunk read the fast path's constants only, not the chunk's flows, tariffs and shares. ``self``'s
        arrays must not change afterwards (a solve changes only arrays of markets it has built or taken).
        """
        view = object.__new__(Markets)
        object.__setattr__(view, "_source", (self, np.array(idx, copy=True)))
        return view

    def __getattr__(self, name):
        """A field of a :meth:`take` not read before: copied out of the markets it was taken from."""
        if name not in _MARKET_FIELDS or "_source" not in self.__dict__:
            raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")
        value = _taken_field(self, name)
        object.__setattr__(self, name, value)
        return value

    @cached_property
    def tariff_change(self) -> np.ndarray:
        """``ln T̂ = ln(T1 / T0)``, (M, N, N); only the exact evaluation needs it."""
        return np.log(self.new_tariff_factor / self.base_tariff_factor)

    @cached_property
    def log_flows(self) -> np.ndarray:
        """``ln V``, −inf where V = 0, (M, N, N); only the exact evaluation needs it."""
        return _log_or_minus_inf(self.flows)


_MARKET_FIELDS = frozenset(f.name for f in fields(Markets))


def _taken_field(markets: Markets, name: str) -> np.ndarray:
    """Field ``name`` of a :meth:`Markets.take`, read from the nearest markets up its chain that hold it (a take
    of a take indexes the first markets once, instead of copying the field of the take in between)."""
    source, idx = markets.__dict__["_source"]
    while name not in source.__dict__:
        source, parent_idx = source.__dict__["_source"]
        idx = parent_idx[idx]
    return source.__dict__[name][idx]


def _log_or_minus_inf(values):
    positive = values > 0
    return np.where(positive, np.log(np.where(positive, values, 1.0)), -np.inf)


def log_consumer_price(markets: Markets, log_delivered_price):
    """``ln P̂[j]`` (the CES price index of docs/model.md, "Equations") and the new expenditure shares.

    Parameters
    ----------
    markets : Markets
    log_delivered_price : ndarray, shape (M, N, N)
        ``x[i,j] = ln(T̂[i,j] p̂[i])``, the log change of the internal price of good i in j.

    Returns
    -------
    log_price : ndarray, shape (M, N)
        ``ln P̂[j] = ln(sum_i theta[i,j] exp((1 − sigma) x[i,j])) / (1 − sigma)``, or
        ``sum_i theta x`` when sigma = 1; 0 for importers with no expenditure.
    weights : ndarray, shape (M, N, N)
        Expenditure shares at new prices ``w[i,j] = theta (T̂ p̂ / P̂)^(1−sigma)``, which
        are also ``d ln P̂[j] / d ln p̂[i]``.
    """
    sigma = markets.sigma
    one_minus_sigma = (1.0 - sigma)[:, None, None]
    unit = np.abs(one_minus_sigma[:, :, 0]) < UNIT_SIGMA_TOL  # (M, 1)
    # Log-sum-exp per importer over origins with a positive share; with no
    # change (x = 0) the weights are exactly theta and P̂ is exactly 1.
    scaled = np.where(unit[:, :, None], 0.0, one_minus_sigma) * log_delivered_price
    has_spending = markets.expenditure > 0
    peak = np.where(markets.shares > 0, scaled, -np.inf).max(axis=1)
    peak = np.where(has_spending, peak, 0.0)
    weights = markets.shares * np.exp(np.minimum(scaled - peak[:, None, :], 0.0))
    total = np.where(has_spending, weights.sum(axis=1), 1.0)
    weights = weights / total[:, None, :]
    share_total = np.where(has_spending, markets.shares.sum(axis=1), 1.0)
    ces = (np.log(total / share_total) + peak) / np.where(unit, 1.0, one_minus_sigma[:, :, 0])
    geometric = (markets.shares * log_delivered_price).sum(axis=1) / share_total
    log_price = np.where(has_spending, np.where(unit, geometric, ces), 0.0)
    return log_price, weights


def log_demand(markets: Markets, log_delivered_price, log_price_index):
    """``ln q̂[i,j] = ln(1+d[j]) + eta ln P̂[j] − sigma (x[i,j] − ln P̂[j])``, shape (M, N, N)."""
    sigma = markets.sigma[:, None, None]
    eta = markets.eta[:, None, None]
    log_p = log_price_index[:, None, :]
    return np.log1p(markets.demand_shift)[:, None, :] + eta * log_p - sigma * (log_delivered_price - log_p)


@dataclass(frozen=True)
class MarketState:
    """Everything the equations give for given log producer prices ``z`` (M, N)."""

    log_producer_price: np.ndarray  # z = ln p̂, (M, N)
    log_consumer_price: np.ndarray  # ln P̂, (M, N)
    log_quantity: np.ndarray  # ln q̂, (M, N, N)
    sales: np.ndarray  # V q̂: volume sold from i to j, base prices, (M, N, N)
    price_weights: np.ndarray  # w = d ln P̂[j] / d ln p̂[i], (M, N, N)
    residual: np.ndarray  # ln demand − ln supply, 0 where the price is fixed, (M, N)

    def take(self, idx) -> MarketState:
        return MarketState(**{f.name: getattr(self, f.name)[idx] for f in fields(self)})

    @property
    def quantity_demanded(self) -> np.ndarray:
        """``sum_j V q̂[i,j]``, demand for i's output at base prices, (M, N)."""
        return self.sales.sum(axis=-1)


def evaluate(markets: Markets, z: np.ndarray) -> MarketState:
    """Demand, supply and the clearing residual at log producer prices ``z`` (M, N).

    The clearing condition of docs/model.md, "Equations", in logs:
    ``ln sum_j V[i,j] q̂[i,j] − ln(X[i] (1 + s[i])) − eps[i] z[i] = 0``.
    """
    delivered = markets.tariff_change + z[:, :, None]
    log_p, weights = log_consumer_price(markets, delivered)
    log_q = log_demand(markets, delivered, log_p)
    sales = np.exp(markets.log_flows + log_q)  # exactly 0 where V = 0
    demanded = sales.sum(axis=-1)
    free = markets.free_price
    log_demanded = np.log(np.where(free, demanded, 1.0))
    residual = np.where(free, log_demanded - markets.log_supply - markets.free_eps * z, 0.0)
    return MarketState(z, log_p, log_q, sales, weights, residual)


def jacobian(markets: Markets, state: MarketState) -> np.ndarray:
    """Analytic Jacobian ``d residual[i] / d z[m]``, shape (M, N, N).

    With ``a[i,j] = V q̂[i,j] / sum_j V q̂[i,j]`` (where i's sales go) and
    ``w[m,j]`` the new expenditure shares (``d ln P̂[j] / d z[m]``)::

        J[i,m] = (eta + sigma) sum_j a[i,j] w[m,j] − (sigma + eps[i]) delta[i,m]

    Rows and columns of fixed-price exporters are replaced by the identity.
    """
    free = markets.free_price
    demanded = np.where(free, state.quantity_demanded, 1.0)
    sales_share = state.sales / demanded[:, :, None]
    jac = np.matmul(sales_share, state.price_weights.transpose(0, 2, 1))
    jac *= (markets.eta + markets.sigma)[:, None, None]
    n = free.shape[-1]
    diagonal = np.arange(n)
    jac[:, diagonal, diagonal] -= markets.sigma[:, None] + markets.free_eps
    both_free = free[:, :, None] & free[:, None, :]
    return np.where(both_free, jac, np.eye(n))


# --- the fast evaluation (two matrix-vector products per market) -------------------

#: A scaled sum below this has lost precision to underflow: the market is evaluated exactly instead.
UNDERFLOW_GUARD = 1e-250


@dataclass(frozen=True)
class FastState:
    """What :func:`fast_evaluate` gives for log producer prices ``z`` (M, N); every field is (M, N) or (M,).

    ``price_terms`` ``u`` and ``demand_terms`` ``c`` are scaled by a factor per
    market, which cancels in every share the Jacobian needs.
    """

    log_producer_price: np.ndarray  # z
    log_consumer_price: np.ndarray  # ln P̂
    residual: np.ndarray  # ln demand − ln supply, 0 where the price is fixed
    price_terms: np.ndarray  # u[i] ∝ p̂[i]^(1−σ)
    price_sums: np.ndarray  # S[j] = Σ_i A[i,j] u[i] ∝ P̂[j]^(1−σ)
    demand_terms: np.ndarray  # c[j] ∝ (1+d[j]) P̂[j]^(η+σ)
    demand_sums: np.ndarray  # R[i] = Σ_j B[i,j] c[j] ∝ p̂[i]^σ × demand for i's good
    exact_needed: np.ndarray  # (M,) bool: evaluated by :func:`evaluate`; the sums above are not used

    def take(self, idx) -> FastState:
        return FastState(**{f.name: getattr(self, f.name)[idx] for f in fields(self)})


def _matvec_left(vector, matrix):
    """``Σ_i vector[m,i] matrix[m,i,j]`` for every market: (M, N), (M, N, N) → (M, N)."""
    return np.matmul(vector[:, None, :], matrix)[:, 0, :]


def matvec(matrix, vector):
    """``Σ_j matrix[m,i,j] vector[m,j]`` for every market: (M, N, N), (M, N) → (M, N)."""
    return np.matmul(matrix, vector[:, :, None])[:, :, 0]


def cell_index(valid, exporter, importer):
    """The slots of (M, Q) arrays that hold a cell, ``(m, q)``, and those cells of (M, N, N) arrays, ``(m, i, j)``.

    ``valid``, ``exporter`` and ``importer`` are (M, Q): slot ``q`` of market ``m`` holds the cell
    ``(exporter, importer)`` where ``valid``.
    """
    m, q = np.nonzero(valid)
    return (m, q), (m, exporter[m, q], importer[m, q])


@dataclass(frozen=True)
class CellBase:
    """A few cells per market and their base-year constants, (M, Q) each: what :meth:`CellRates.at` reads.

    Slots that are not ``valid`` (padding) hold ``V = 0``, ``θ = 0`` and ``T0 = 1``.
    """

    valid: np.ndarray
    exporter: np.ndarray
    importer: np.ndarray
    flows: np.ndarray  # V at the cell
    shares: np.ndarray  # θ at the cell
    base_factor: np.ndarray  # T0 = 1 + t0 at the cell

    @classmethod
    def of(cls, markets: Markets, valid, exporter, importer) -> CellBase:
        """The cells ``(exporter, importer)`` (M, Q each; ``valid`` where a slot holds one) of ``markets``."""
        rows = np.arange(len(valid))[:, None]
        constants = [np.where(valid, field[rows, exporter, importer], padding) for field, padding in (
            (markets.flows, 0.0), (markets.shares, 0.0), (markets.base_tariff_factor, 1.0))]
        return cls(valid, exporter, importer, *constants)

    def take(self, idx):
        return type(self)(**{f.name: getattr(self, f.name)[idx] for f in fields(self)})


@dataclass(frozen=True)
class CellRates:
    """New tariff factors of a few cells per market, whose fast-path terms are kept apart from ``A`` and ``B``.

    The quota solve (:mod:`sim.engine.quotas`) moves the rates of the quota flows at every
    evaluation. Instead of rebuilding the constants of :class:`Markets`, it keeps them with 0 at
    those cells (:meth:`clear`) and :func:`fast_evaluate` adds each cell's terms, computed here as
    :meth:`Markets.build` computes them: ``A[i,j] = θ T̂^(1−σ)`` (``θ`` where σ = 1),
    ``B[i,j] = V T̂^(−σ)``, ``T̂^(−σ)`` and, where σ = 1, ``θ ln T̂``. Every field is (M, Q);
    slots that are not ``valid`` (padding) add nothing.
    """

    valid: np.ndarray
    exporter: np.ndarray
    importer: np.ndarray
    factor: np.ndarray  # T1 = 1 + t1 at the cell
    tariff_power: np.ndarray  # T̂^(−σ)
    price_terms: np.ndarray  # A at the cell
    demand_terms: np.ndarray  # B at the cell
    unit_log_price_terms: np.ndarray  # θ ln T̂ where σ = 1, else 0

    @classmethod
    def at(cls, markets: Markets, cells, factor) -> CellRates:
        """The terms of ``cells`` at new tariff factors ``factor`` (M, Q).

        ``cells`` has ``valid``, ``exporter``, ``importer`` and the cells' base constants ``flows``,
        ``shares`` and ``base_factor`` (``V``, ``θ`` and ``T0``; each (M, Q)), gathered once
        (:meth:`CellBase.of`): an evaluation on a subset of markets then never copies a whole field.
        """
        valid = cells.valid
        shares = np.where(valid, cells.shares, 0.0)
        ratio = factor / cells.base_factor
        unit = markets.unit_sigma[:, None]
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):  # beyond floating point: exact path
            power = np.power(ratio, -markets.sigma[:, None], out=np.ones_like(ratio), where=ratio != 1.0)
            demand = np.where(valid, cells.flows * power, 0.0)
            price = np.where(valid, np.where(unit, shares, shares * ratio * power), 0.0)
            unit_log = np.where(unit & valid, shares * np.log(ratio), 0.0)
        return cls(valid, cells.exporter, cells.importer, factor, power, price, demand, unit_log)

    @staticmethod
    def clear(markets: Markets, valid, exporter, importer, in_place=False) -> Markets:
        """``markets`` with ``A`` and ``B`` 0 at the cells, and the price index of σ = 1 markets without them.

        With ``in_place``, ``markets``' own ``A`` and ``B`` are changed (for markets nothing else uses).
        """
        _, cell = cell_index(valid, exporter, importer)
        price_matrix = markets.price_matrix if in_place else markets.price_matrix.copy()
        demand_matrix = markets.demand_matrix if in_place else markets.demand_matrix.copy()
        price_matrix[cell] = demand_matrix[cell] = 0.0
        unit_log_price = markets.unit_log_price
        if markets.unit_sigma.any():
            factor = markets.new_tariff_factor.copy()
            factor[cell] = markets.base_tariff_factor[cell]  # T̂ = 1: no term in Σ_i θ ln T̂
            unit_log_price = _unit_log_price(markets, factor)
        return dataclasses.replace(markets, price_matrix=price_matrix, demand_matrix=demand_matrix,
                                   unit_log_price=unit_log_price)

    def restore(self, markets: Markets, in_place: bool = False) -> Markets:
        """``markets`` with the cells' tariff factors and constants set, as :meth:`Markets.build` would give them.

        A market whose constants at the cells are not finite is flagged ``exact_only``. With ``in_place``,
        ``markets``' own arrays of tariff factors and constants are changed (for markets nothing else uses).
        """
        finite = np.isfinite(self.tariff_power) & np.isfinite(self.price_terms) & np.isfinite(self.demand_terms)
        slots, cells = cell_index(self.valid, self.exporter, self.importer)

        def put(array, terms, where=True):  # ``terms`` (M, Q) at the cells (0 where not ``where``)
            result = array if in_place else array.copy()
            result[cells] = np.where(where, terms, 0.0)[slots]
            return result

        factor = put(markets.new_tariff_factor, self.factor)
        return dataclasses.replace(
            markets, new_tariff_factor=factor, tariff_power=put(markets.tariff_power, self.tariff_power, finite),
            price_matrix=put(markets.price_matrix, self.price_terms, finite),
            demand_matrix=put(markets.demand_matrix, self.demand_terms, finite),
            exact_only=markets.exact_only | ~(finite | ~self.valid).all(axis=1),
            unit_log_price=_unit_log_price(markets, factor))

    def priced(self, markets: Markets) -> Markets:
        """``markets`` with the cells' new tariff factors, for the term-by-term :func:`evaluate`."""
        slots, cells = cell_index(self.valid, self.exporter, self.importer)
        factor = markets.new_tariff_factor.copy()
        factor[cells] = self.factor[slots]
        return dataclasses.replace(markets, new_tariff_factor=factor)

    def add_price_terms(self, price_sums, u) -> None:
        """``S[j] += A[i,j] u[i]`` at the cells, in place: price_sums, u (M, N)."""
        rows = np.arange(len(u))[:, None]
        np.add.at(price_sums, (rows, self.importer), self.price_terms * u[rows, self.exporter])

    def add_demand_terms(self, demand_sums, c) -> None:
        """``R[i] += B[i,j] c[j]`` at the cells, in place: demand_sums, c (M, N)."""
        rows = np.arange(len(c))[:, None]
        np.add.at(demand_sums, (rows, self.exporter), self.demand_terms * c[rows, self.importer])

    def unit_log_price(self, markets: Markets) -> np.ndarray:
        """``Σ_i θ ln T̂`` of σ = 1 markets (M, N), the cells included (``markets`` cleared of them)."""
        total = markets.unit_log_price.copy()
        rows = np.arange(len(total))[:, None]
        np.add.at(total, (rows, self.importer), self.unit_log_price_terms)
        return total

    def take(self, idx) -> CellRates:
        return CellRates(**{f.name: getattr(self, f.name)[idx] for f in fields(self)})


def _unit_log_price(markets: Markets, new_tariff_factor) -> np.ndarray:
    """``Σ_i θ ln T̂`` where σ = 1, else 0, (M, N), as :meth:`Markets.build` computes it."""
    unit = markets.unit_sigma
    if not unit.any():
        return np.zeros(markets.expenditure.shape)
    log_ratio = np.log(new_tariff_factor[unit] / markets.base_tariff_factor[unit])
    result = np.zeros(markets.expenditure.shape)
    result[unit] = (markets.shares[unit] * log_ratio).sum(axis=1)
    return result


def fast_evaluate(markets: Markets, z: np.ndarray, cells: CellRates | None = None) -> FastState:
    """The clearing residual at log producer prices ``z`` (M, N) from the constants ``A`` and ``B``.

    ``ln P̂[j] = ln(Σ_i A[i,j] p̂[i]^(1−σ)) / (1−σ)`` (``Σ_i θ ln(T̂ p̂)`` when σ = 1) and
    ``ln Σ_j V q̂[i,j] = −σ z[i] + ln Σ_j B[i,j] (1+d[j]) P̂[j]^(η+σ)``, each sum scaled by its
    largest exponent. Markets where a scaled sum underflows (or whose constants are not
    finite) are evaluated by :func:`evaluate` instead, so the result is the same either way.
    With ``cells``, ``markets`` holds 0 at those cells (:meth:`CellRates.clear`) and each sum
    gets the cells' own terms (:class:`CellRates`: the quota flows, whose rates move).
    """
    sigma, eta = markets.sigma[:, None], markets.eta[:, None]
    unit = markets.unit_sigma
    has_spending = markets.expenditure > 0
    exponent = np.where(unit[:, None], 0.0, 1.0 - sigma) * z
    u = np.exp(exponent - exponent.max(axis=1, keepdims=True))
    price_sums = _matvec_left(u, markets.price_matrix)
    if cells is not None:
        cells.add_price_terms(price_sums, u)
    with np.errstate(divide="ignore"):
        ces = ((np.log(price_sums) - markets.log_share_total + exponent.max(axis=1, keepdims=True))
               / np.where(unit[:, None], 1.0, 1.0 - sigma))
    if unit.any():
        unit_log_price = markets.unit_log_price if cells is None else cells.unit_log_price(markets)
        ces = np.where(unit[:, None], unit_log_price + _matvec_left(z, markets.shares), ces)
    log_p = np.where(has_spending, ces, 0.0)

    demand_exponent = np.where(has_spending, np.log1p(markets.demand_shift) + (eta + sigma) * log_p, -np.inf)
    peak = demand_exponent.max(axis=1, keepdims=True)
    peak = np.where(np.isfinite(peak), peak, 0.0)
    c = np.exp(demand_exponent - peak)
    demand_sums = matvec(markets.demand_matrix, c)
    if cells is not None:
        cells.add_demand_terms(demand_sums, c)
    free = markets.free_price
    underflow = ((has_spending & ~unit[:, None] & (price_sums < UNDERFLOW_GUARD)).any(axis=1)
                 | (free & (demand_sums < UNDERFLOW_GUARD)).any(axis=1))
    with np.errstate(divide="ignore"):
        log_demanded = -sigma * z + peak + np.log(np.where(free, demand_sums, 1.0))
    residual = np.where(free, log_demanded - markets.log_supply - markets.free_eps * z, 0.0)
    lost = underflow | markets.exact_only | ~(np.isfinite(residual).all(axis=1) & np.isfinite(log_p).all(axis=1))
    state = FastState(z, log_p, residual, u, price_sums, c, demand_sums, lost)
    if state.exact_needed.any():
        idx = np.flatnonzero(state.exact_needed)
        sub = markets.take(idx) if cells is None else cells.take(idx).priced(markets.take(idx))
        exact = evaluate(sub, z[idx])
        state.log_consumer_price[idx] = exact.log_consumer_price
        state.residual[idx] = exact.residual
    return state


def fast_jacobian(markets: Markets, state: FastState, out=None) -> np.ndarray:
    """The Jacobian of :func:`jacobian` from a :class:`FastState`, shape (M, N, N).

    With sales shares ``a[i,j] = B[i,j] c[j] / R[i]`` and expenditure shares
    ``w[m,j] = A[m,j] u[m] / S[j]``: ``J = (η + σ) a wᵀ − diag(σ + ε)``, fixed
    prices on the identity. Markets flagged ``exact_needed`` use :func:`jacobian`.
    ``out`` (M, N, N), if given, receives it (a block of a larger system's Jacobian, say).
    """
    free = markets.free_price
    demand_sums = np.where(free, state.demand_sums, 1.0)
    price_sums = np.where(markets.expenditure > 0, state.price_sums, 1.0)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        # J[i,m] = (η+σ) / R[i] · Σ_j B[i,j] (c[j] / S[j]) A[m,j] · u[m]
        jac = np.matmul(markets.demand_matrix * (state.demand_terms / price_sums)[:, None, :],
                        markets.price_matrix.transpose(0, 2, 1), out=out)
        jac *= ((markets.eta + markets.sigma)[:, None] / demand_sums)[:, :, None]
        jac *= state.price_terms[:, None, :]
    n = free.shape[-1]
    diagonal = np.arange(n)
    jac[:, diagonal, diagonal] -= markets.sigma[:, None] + markets.free_eps
    if not free.all():
        np.copyto(jac, np.eye(n), where=~(free[:, :, None] & free[:, None, :]))
    if state.exact_needed.any():
        idx = np.flatnonzero(state.exact_needed)
        sub = markets.take(idx)
        jac[idx] = jacobian(sub, evaluate(sub, state.log_producer_price[idx]))
    return jac


# --- welfare (docs/model.md, "Welfare": exact for constant-elasticity curves) -----------------


def consumer_surplus_change(expenditure, log_price_index, eta, demand_shift):
    """``ΔCS[j] = −(1+d[j]) E[j] (P̂^(1+eta) − 1) / (1+eta)``; log form when eta = −1.

    Shapes: expenditure, log_price_index, demand_shift (M, N); eta (M,). Returns (M, N).
    """
    one_plus_eta = (1.0 + eta)[:, None]
    unit = np.abs(one_plus_eta) < UNIT_ELASTICITY_TOL
    safe = np.where(unit, 1.0, one_plus_eta)
    general = np.expm1(safe * log_price_index) / safe
    integral = np.where(unit, log_price_index, general)
    return -(1.0 + demand_shift) * expenditure * integral


def producer_surplus_change(output, log_producer_price, eps, supply_shift):
    """``ΔPS[i] = X[i] ((1+s[i]) p̂^(1+eps) − 1) / (1+eps)``; 0 where eps = inf. (M, N)."""
    finite = np.isfinite(eps)
    safe_eps = np.where(finite, eps, 0.0)
    gain = (1.0 + supply_shift) * np.exp((1.0 + safe_eps) * log_producer_price) - 1.0
    return np.where(finite, output * gain / (1.0 + safe_eps), 0.0)


def tariff_revenue(tariff_factor, flows, buffer=None):
    """``TR[j] = sum_i t[i,j] V[i,j]`` at world-price values; (M, N, N) → (M, N).

    ``buffer`` (M, N, N), if given, holds the rates ``t`` (instead of a new array)."""
    return np.einsum("mij,mij->mj", np.subtract(tariff_factor, 1.0, out=buffer), flows)
