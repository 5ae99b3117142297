"""Francois and Hall's linearised GSIM (docs/model.md, "Linearised GSIM"), batched like the exact solver.

The original GSIM is a linear system in percentage changes: per market, the world price
changes ``x[r]`` of the exporters solve one ``N × N`` linear system, and flows, prices and
welfare follow from ``x`` by the formulas of the paper. It is exact to first order (and
its welfare measures to second order) and drifts from the exact model as shocks grow;
docs/model.md shows by how much. Tariff changes only: the paper has no supply or demand
shifts, and tariff-rate quotas need the exact model.

Notation (docs/model.md): ``Em = η`` (composite demand), ``Es = σ`` (substitution),
``Ex[r] = ε[r]`` (supply), ``θ[k,v]`` expenditure shares at base internal prices,
``φ[r,v] = V[r,v] / X[r]`` sales shares, ``T̂'[k,v] = T1/T0 − 1``::

    N[r,k,v] = θ[k,v] (Em + Es) − Es [k = r]               demand elasticities
    M̂[r,v]   = Σ_k N[r,k,v] (T̂'[k,v] + x[k])               change in the volume r → v
    Σ_v φ[r,v] M̂[r,v] = Ex[r] x[r]                          clearing, one row per exporter

so ``A x = b`` with ``A = (Em + Es) φ θᵀ − diag(Es + Ex)`` and
``b[r] = −Σ_v φ[r,v] ((Em + Es) Σ_k θ[k,v] T̂'[k,v] − Es T̂'[r,v])``; exporters with a
fixed price (``Ex = inf`` or no output) keep ``x = 0``.
"""

from __future__ import annotations

import numpy as np

from .batch import as_batch
from .exact import TOLERANCE
from .solution import Solution

__all__ = ["solve_linear"]


def solve_linear(flows, base_tariffs, new_tariffs, sigma, eta, eps, *, tol: float = TOLERANCE) -> Solution:
    """Solve the linearised GSIM for a batch of markets; arguments and result as :func:`sim.solve_equilibrium`.

    Parameters
    ----------
    flows, base_tariffs, new_tariffs : array_like, shape (..., K, N, N)
    sigma, eta : array_like, shape (..., K)
    eps : array_like, shape (..., K, N)
    tol : float
        A market is ``converged`` when its clearing rows hold to ``tol`` relative to the size of
        the system (a linear solve either succeeds or the matrix is singular).

    Returns
    -------
    Solution
        ``producer_price = 1 + x``, ``consumer_price = 1 + P̂'``, ``quantity = 1 + M̂``,
        ``flows = V (1 + M̂)(1 + x)`` (negative where a large shock carries the linear volume
        below −100%: that is the linearisation, reported as it is), welfare by the paper's
        formulas; ``iterations`` and ``nfev`` are 1.
    """
    batch = as_batch(flows, base_tariffs, new_tariffs, sigma, eta, eps, None, None)
    v = batch.arguments(0, batch.size)
    result = _linear(v["flows"], 1.0 + v["base_tariffs"], 1.0 + v["new_tariffs"], v["sigma"], v["eta"], v["eps"],
                     tol)
    n, lead = batch.n, batch.lead
    shapes = {"producer_price": (n,), "consumer_price": (n,), "output": (n,), "consumer_surplus": (n,),
              "producer_surplus": (n,), "tariff_revenue": (n,), "base_tariff_revenue": (n,), "quantity": (n, n),
              "flows": (n, n), "iterations": (), "nfev": (), "max_residual": (), "finite": (),
              "converged": ()}
    return Solution(**{name: result[name].reshape(lead + tail) for name, tail in shapes.items()})


def _linear(flows, base_factor, new_factor, sigma, eta, eps, tol) -> dict:
    """The linear system and its results for M markets (arrays (M, N, N), (M,), (M, N))."""
    m, n, _ = flows.shape
    spend = base_factor * flows
    expenditure = spend.sum(axis=1)  # E[v]
    theta = np.divide(spend, expenditure[:, None, :], out=np.zeros_like(spend), where=expenditure[:, None, :] > 0)
    output = flows.sum(axis=2)  # X[r]
    phi = np.divide(flows, output[:, :, None], out=np.zeros_like(flows), where=output[:, :, None] > 0)
    change = new_factor / base_factor - 1.0  # T̂'
    both = (eta + sigma)[:, None, None]
    fixed = ~np.isfinite(eps) | (output <= 0)
    finite_eps = np.where(fixed, 0.0, eps)

    system = both * (phi @ theta.transpose(0, 2, 1))  # (Em + Es) Σ_v φ[r,v] θ[k,v]
    system[:, np.arange(n), np.arange(n)] -= sigma[:, None] * phi.sum(axis=2) + finite_eps
    delivered = both[:, :, 0] * (theta * change).sum(axis=1)  # (Em + Es) Σ_k θ[k,v] T̂'[k,v], (M, V)
    rhs = -((phi * delivered[:, None, :]).sum(axis=2) - sigma[:, None] * (phi * change).sum(axis=2))
    rows = np.where(fixed[:, :, None] | fixed[:, None, :], 0.0, system)
    rows[:, np.arange(n), np.arange(n)] = np.where(fixed, 1.0, system[:, np.arange(n), np.arange(n)])
    rhs = np.where(fixed, 0.0, rhs)
    with np.errstate(invalid="ignore", over="ignore"):
        try:
            x = np.linalg.solve(rows, rhs[:, :, None])[:, :, 0]
        except np.linalg.LinAlgError:
            x = np.full((m, n), np.nan)  # a singular system is reported, market by market below
            for i in range(m):
                try:
                    x[i] = np.linalg.solve(rows[i], rhs[i])
                except np.linalg.LinAlgError:
                    pass
        residual = np.abs(np.einsum("mrk,mk->mr", rows, x) - rhs).max(axis=1)
        scale = 1.0 + np.abs(rows).max(axis=(1, 2)) * np.abs(x).max(axis=1) + np.abs(rhs).max(axis=1)

        # M̂[r,v] = (Em + Es) Σ_k θ[k,v] (T̂'[k,v] + x[k]) − Es (T̂'[r,v] + x[r])
        moved = change + x[:, :, None]  # T̂' + x, (M, R, V)
        volume = both * (theta * moved).sum(axis=1)[:, None, :] - sigma[:, None, None] * moved
        new_flows = flows * (1.0 + volume) * (1.0 + x)[:, :, None]
        consumer = (theta * ((1.0 + x)[:, :, None] * (1.0 + change) - 1.0)).sum(axis=1)  # P̂'[v]
        cs = -expenditure * (consumer + eta[:, None] * consumer**2 / 2)
        ps = np.where(fixed, 0.0, x * output * (1.0 + finite_eps * x / 2))
        base_revenue = ((base_factor - 1.0) * flows).sum(axis=1)
        revenue = ((new_factor - 1.0) * new_flows).sum(axis=1) - base_revenue
        sold = (flows * (1.0 + volume)).sum(axis=2)
        output_change = np.divide(sold, output, out=np.ones_like(output), where=output > 0)
    per_market = [x, consumer, cs, ps, revenue, new_flows.reshape(m, -1)]
    finite = np.logical_and.reduce([np.isfinite(a).all(axis=1) for a in per_market])
    return {"producer_price": 1.0 + x, "consumer_price": 1.0 + consumer, "output": output_change,
            "consumer_surplus": cs, "producer_surplus": ps, "tariff_revenue": revenue,
            "base_tariff_revenue": base_revenue, "quantity": 1.0 + volume, "flows": new_flows,
            "iterations": np.ones(m, dtype=int), "nfev": np.ones(m, dtype=int), "max_residual": residual / scale,
            "finite": finite, "converged": finite & (residual <= tol * scale)}
