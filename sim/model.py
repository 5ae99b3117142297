"""The equations of docs/model.md, "Equations" and "Welfare", as pure array functions.

Every function works on a flat batch of ``M`` independent markets (one market
is one sector in one year, or one Monte Carlo draw, ...) with ``N`` regions.
Arrays are ordered ``[market, exporter i, importer j]``. Quantities in
"hat" form are ratios new/base; the solver's unknowns are the log producer
price changes ``z[i] = ln p̂[i]``.

The functions here know nothing of files, labels or the solver; they are the
formulas and nothing else, so each line can be checked against docs/model.md.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

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
    tariff_change : ndarray, shape (M, N, N)
        ``ln T̂ = ln(T1 / T0)``.
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
    tariff_change: np.ndarray
    free_price: np.ndarray
    log_flows: np.ndarray  # ln V, -inf where V = 0
    log_supply: np.ndarray  # ln(X (1 + s)) where the price is free, else 0
    free_eps: np.ndarray  # eps where the price is free, else 0

    @classmethod
    def build(cls, flows, base_tariff_factor, new_tariff_factor, sigma, eta, eps, supply_shift, demand_shift):
        """Compute the base-data aggregates of the equations (shapes as in the class docstring)."""
        spend = base_tariff_factor * flows
        expenditure = spend.sum(axis=1)
        total = expenditure[:, None, :]
        shares = np.divide(spend, total, out=np.zeros_like(spend), where=total > 0)
        output = flows.sum(axis=-1)
        free = (output > 0) & np.isfinite(eps)
        return cls(
            flows, base_tariff_factor, new_tariff_factor, sigma, eta, eps, supply_shift, demand_shift,
            expenditure=expenditure,
            output=output,
            shares=shares,
            tariff_change=np.log(new_tariff_factor) - np.log(base_tariff_factor),
            free_price=free,
            log_flows=_log_or_minus_inf(flows),
            log_supply=np.log(np.where(free, output * (1.0 + supply_shift), 1.0)),
            free_eps=np.where(free, eps, 0.0),
        )

    def take(self, idx) -> Markets:
        """The markets selected by ``idx`` (an index array over the first axis)."""
        return Markets(**{f.name: getattr(self, f.name)[idx] for f in fields(self)})


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


def tariff_revenue(tariff_factor, flows):
    """``TR[j] = sum_i t[i,j] V[i,j]`` at world-price values; (M, N, N) → (M, N)."""
    return np.einsum("mij,mij->mj", tariff_factor - 1.0, flows)
