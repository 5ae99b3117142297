"""The equations of DESIGN.md §1 as pure array functions.

Every function works on a flat batch of ``M`` independent markets (one market
is one sector in one year, or one Monte Carlo draw, ...) with ``N`` regions.
Arrays are ordered ``[market, exporter i, importer j]``. Quantities in
"hat" form are ratios new/base; the solver's unknowns are the log producer
price changes ``z[i] = ln p̂[i]``.

The functions here know nothing of files, labels or the solver; they are the
formulas and nothing else, so each line can be checked against DESIGN.md.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: ``|1 - sigma|`` below this uses the Cobb-Douglas (geometric mean) limit.
UNIT_SIGMA_TOL = 1e-9
#: ``|1 + eta|`` or ``|1 + eps|`` below this uses the logarithmic limit.
UNIT_ELASTICITY_TOL = 1e-12


@dataclass(frozen=True)
class Markets:
    """Base data and shocks for a flat batch of ``M`` markets of ``N`` regions.

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
    """

    flows: np.ndarray
    base_tariff_factor: np.ndarray
    new_tariff_factor: np.ndarray
    sigma: np.ndarray
    eta: np.ndarray
    eps: np.ndarray
    supply_shift: np.ndarray
    demand_shift: np.ndarray

    # --- base-data aggregates (DESIGN §1) --------------------------------
    @property
    def expenditure(self) -> np.ndarray:
        """``E[j] = sum_i T0[i,j] V[i,j]``, shape (M, N), internal prices."""
        return np.einsum("mij,mij->mj", self.base_tariff_factor, self.flows)

    @property
    def output(self) -> np.ndarray:
        """``X[i] = sum_j V[i,j]``, shape (M, N), base output."""
        return self.flows.sum(axis=-1)

    @property
    def shares(self) -> np.ndarray:
        """Expenditure shares ``theta[i,j] = T0 V / E[j]``, shape (M, N, N); 0 where E = 0."""
        spend = self.base_tariff_factor * self.flows
        total = self.expenditure[:, None, :]
        return np.divide(spend, total, out=np.zeros_like(spend), where=total > 0)

    @property
    def tariff_change(self) -> np.ndarray:
        """``ln T̂ = ln(T1 / T0)``, shape (M, N, N)."""
        return np.log(self.new_tariff_factor) - np.log(self.base_tariff_factor)

    @property
    def free_price(self) -> np.ndarray:
        """Exporters whose price is an unknown: ``X > 0`` and finite ``eps``; (M, N) bool."""
        return (self.output > 0) & np.isfinite(self.eps)


def log_consumer_price(shares, log_delivered_price, sigma):
    """``ln P̂[j]``, the CES price index of DESIGN §1.

    Parameters
    ----------
    shares : ndarray, shape (M, N, N)
        Base expenditure shares ``theta[i, j]``.
    log_delivered_price : ndarray, shape (M, N, N)
        ``ln(T̂[i,j] p̂[i])``, the log change of the internal price of good i in j.
    sigma : ndarray, shape (M,)

    Returns
    -------
    ndarray, shape (M, N)
        ``ln P̂[j]``; 0 for importers with no expenditure.
    """
    one_minus_sigma = (1.0 - sigma)[:, None, None]
    unit = np.abs(one_minus_sigma) < UNIT_SIGMA_TOL
    # ln sum_i theta exp((1 - sigma) x), computed stably (log-sum-exp) per importer.
    exponent = np.where(shares > 0, one_minus_sigma * log_delivered_price, -np.inf)
    peak = exponent.max(axis=1, keepdims=True)
    peak = np.where(np.isfinite(peak), peak, 0.0)
    # Dividing by sum_i theta (= 1 up to rounding) makes P̂ exactly 1 when nothing changes.
    share_total = shares.sum(axis=1)
    has_spending = share_total > 0
    norm = np.where(has_spending, share_total, 1.0)
    weighted = shares * np.exp(exponent - peak)
    total = np.where(has_spending, weighted.sum(axis=1) / norm, 1.0)
    log_sum = np.log(total) + peak[:, 0, :]
    ces = log_sum / np.where(unit, 1.0, one_minus_sigma)[:, :, 0]
    geometric = (shares * log_delivered_price).sum(axis=1) / norm
    log_price = np.where(unit[:, :, 0], geometric, ces)
    return np.where(has_spending, log_price, 0.0)


def log_demand(log_delivered_price, log_price_index, sigma, eta, demand_shift):
    """``ln q̂[i,j] = ln(1+d[j]) + eta ln P̂[j] − sigma (ln(T̂ p̂[i]) − ln P̂[j])``.

    Shapes as in :func:`log_consumer_price`; returns shape (M, N, N).
    """
    sigma = sigma[:, None, None]
    eta = eta[:, None, None]
    log_p = log_price_index[:, None, :]
    return np.log1p(demand_shift)[:, None, :] + eta * log_p - sigma * (log_delivered_price - log_p)


def import_shares_new(shares, log_delivered_price, log_price_index, sigma):
    """Expenditure shares at new prices, ``w[i,j] = theta (T̂ p̂ / P̂)^(1−sigma)``, (M, N, N).

    ``w[m, j]`` is also ``d ln P̂[j] / d ln p̂[m]``, the price-index derivative
    the Jacobian needs.
    """
    rel = log_delivered_price - log_price_index[:, None, :]
    exponent = (1.0 - sigma)[:, None, None] * rel
    safe = np.where(shares > 0, exponent, 0.0)
    return np.where(shares > 0, shares * np.exp(safe), 0.0)


@dataclass(frozen=True)
class MarketState:
    """Everything the equations give for given log producer prices ``z`` (M, N)."""

    log_producer_price: np.ndarray  # z = ln p̂, (M, N)
    log_consumer_price: np.ndarray  # ln P̂, (M, N)
    log_quantity: np.ndarray  # ln q̂, (M, N, N)
    quantity_demanded: np.ndarray  # sum_j V q̂ = demand for i's output at base prices, (M, N)
    residual: np.ndarray  # ln demand − ln supply, 0 where the price is fixed, (M, N)


def evaluate(markets: Markets, z: np.ndarray) -> MarketState:
    """Demand, supply and the clearing residual at log producer prices ``z``.

    The clearing condition of DESIGN §1 in logs:
    ``ln sum_j V[i,j] q̂[i,j] − ln(X[i] (1 + s[i])) − eps[i] z[i] = 0``.
    """
    delivered = markets.tariff_change + z[:, :, None]
    log_p = log_consumer_price(markets.shares, delivered, markets.sigma)
    log_q = log_demand(delivered, log_p, markets.sigma, markets.eta, markets.demand_shift)
    flows = markets.flows
    quantity = np.where(flows > 0, flows * np.exp(np.where(flows > 0, log_q, 0.0)), 0.0)
    demanded = quantity.sum(axis=-1)
    free = markets.free_price
    supply = markets.output * (1.0 + markets.supply_shift)
    eps = np.where(free, markets.eps, 0.0)
    residual = np.where(
        free,
        np.log(np.where(free, demanded, 1.0)) - np.log(np.where(free, supply, 1.0)) - eps * z,
        0.0,
    )
    return MarketState(z, log_p, log_q, demanded, residual)


def jacobian(markets: Markets, state: MarketState) -> np.ndarray:
    """Analytic Jacobian ``d residual[i] / d z[m]``, shape (M, N, N).

    With ``a[i,j] = V q̂[i,j] / sum_j V q̂[i,j]`` (where i's sales go) and
    ``w[m,j]`` the new expenditure shares (``d ln P̂[j] / d z[m]``)::

        J[i,m] = (eta + sigma) sum_j a[i,j] w[m,j] − (sigma + eps[i]) delta[i,m]

    Rows and columns of fixed-price exporters are replaced by the identity.
    """
    flows = markets.flows
    free = markets.free_price
    demanded = np.where(free, state.quantity_demanded, 1.0)[:, :, None]
    sales_share = np.where(flows > 0, flows * np.exp(np.where(flows > 0, state.log_quantity, 0.0)), 0.0)
    sales_share = sales_share / demanded
    delivered = markets.tariff_change + state.log_producer_price[:, :, None]
    w = import_shares_new(markets.shares, delivered, state.log_consumer_price, markets.sigma)
    jac = (markets.eta + markets.sigma)[:, None, None] * np.einsum("mij,mkj->mik", sales_share, w)
    eps = np.where(free, markets.eps, 0.0)
    n = flows.shape[-1]
    eye = np.eye(n, dtype=bool)
    jac = jac - np.where(eye, (markets.sigma[:, None] + eps)[:, :, None], 0.0)
    both_free = free[:, :, None] & free[:, None, :]
    return np.where(both_free, jac, np.where(eye, 1.0, 0.0))


# --- welfare (DESIGN §1, exact for constant-elasticity curves) -----------------


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
