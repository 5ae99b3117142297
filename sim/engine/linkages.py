"""Vertical linkages: sectors that buy other sectors' goods as inputs (docs/model.md, "Vertical linkages").

With cost shares ``a[n, u, j]`` (the share of using sector ``u``'s base output value in region ``j``
spent on input sector ``n``'s composite), the markets of one year and variant are coupled: a using
sector's supply responds to its value-added price, which falls when its inputs' composite prices
rise, and an input sector's demand holds the using sectors' derived demand, which moves with their
output. :func:`solve_linked` solves the coupled system with the one sector-by-sector solver: at
the current prices every market's true supply and demand are stated exactly as the solver's form
(a level and a slope in logs), the markets are solved, and the loop ends when the linked system's
own clearing residual is within the solver's tolerance. Consumer surplus is counted on final
demand only and producer surplus on value added, so nothing is counted twice.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

__all__ = ["Links", "solve_linked", "MAX_ROUNDS"]

#: Rounds of the outer loop before a linked solve is reported as not converged.
MAX_ROUNDS = 200


@dataclass(frozen=True)
class Links:
    """Input-output cost shares of a dataset, with the base aggregates the equations use.

    Attributes
    ----------
    cost_share : ndarray, shape (K, K, N)
        ``a[n, u, j]``: share of using sector ``u``'s base output value in region ``j`` spent on
        input sector ``n``'s composite (at internal prices).
    """

    cost_share: np.ndarray

    def aggregates(self, flows, base_tariffs) -> dict[str, np.ndarray]:
        """``A[u,j] = Σ_n a``, ``X`` (K, N) base output, ``E`` base absorption, ``D`` derived demand and
        ``g = D / E`` (K, N), and ``gbar`` (K,), the absorption-weighted derived share of each sector."""
        a = self.cost_share
        output = flows.sum(axis=-1)
        absorption = ((1.0 + base_tariffs) * flows).sum(axis=-2)
        derived = np.einsum("nuj,uj->nj", a, output)
        share = np.divide(derived, absorption, out=np.zeros_like(derived), where=absorption > 0)
        total = absorption.sum(axis=-1)
        gbar = np.divide(derived.sum(axis=-1), total, out=np.zeros_like(total), where=total > 0)
        return {"A": a.sum(axis=0), "X": output, "E": absorption, "D": derived, "g": share, "gbar": gbar}


def _value_added(links, agg, p, big_p, s, eps):
    """The value-added price ``v`` (..., K, N), its supply exponent ``ε (1 − A)`` and the true supply ratio."""
    kappa = np.einsum("nuj,...nj->...uj", links.cost_share, big_p)
    share = agg["A"]
    value_added = (p - kappa) / (1.0 - share)
    exponent = np.where(share > 0, eps * (1.0 - share), eps)
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        supply = (1.0 + s) * np.where(exponent == 0, 1.0, np.abs(value_added) ** exponent)
    supply = np.where(value_added > 0, supply, np.nan)
    return value_added, exponent, supply


def _derived_ratio(links, agg, supply):
    """``ȳ[n,j]``: the using sectors' output-weighted change, ``Σ_u a X ŷ / D`` (1 where D = 0)."""
    weighted = np.einsum("nuj,uj,...uj->...nj", links.cost_share, agg["X"], supply)
    derived = agg["D"]
    return np.divide(weighted, derived, out=np.ones_like(weighted), where=derived > 0)


def _true_demand(agg, big_p, d, eta, derived_ratio):
    """The composite quantity ``Q̂ = (1+d)(1−g)P̂^η + g ȳ`` (..., K, N)."""
    g = agg["g"]
    with np.errstate(over="ignore", invalid="ignore"):
        return (1.0 + d) * (1.0 - g) * big_p ** eta[..., None] + g * derived_ratio


def _inner_arguments(links, agg, inputs, p, big_p):
    """The sector-by-sector solver's ``eps``, ``supply_shift``, ``eta`` and ``demand_shift`` that state the
    linked system's supply and demand exactly at prices ``p``, ``big_p`` (a level and a slope in logs)."""
    s, eps, d, eta = inputs["supply_shift"], inputs["eps"], inputs["demand_shift"], inputs["eta"]
    value_added, exponent, supply = _value_added(links, agg, p, big_p, s, eps)
    using, buying = agg["A"] > 0, agg["g"] > 0  # where nothing is linked the arguments stay as given, exactly
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        slope = np.where(using, exponent * p / ((1.0 - agg["A"]) * value_added), eps)
        shift = np.where(using, supply / p ** slope - 1.0, s)
    inner_eta = np.where(agg["gbar"] > 0, np.asarray(eta) * (1.0 - agg["gbar"]), eta)
    demand = _true_demand(agg, big_p, d, np.asarray(eta), _derived_ratio(links, agg, supply))
    with np.errstate(over="ignore", invalid="ignore"):
        inner_demand = np.where(buying | (agg["gbar"] > 0)[:, None], demand / big_p ** inner_eta[..., None] - 1.0, d)
    return {"eps": slope, "supply_shift": shift, "eta": inner_eta, "demand_shift": inner_demand}


def _linked_residual(links, agg, inputs, used, solution):
    """``max |ln demand − ln supply|`` of the linked system at the solution's prices, per market (...)."""
    p, big_p = solution.producer_price, solution.consumer_price
    _, _, supply = _value_added(links, agg, p, big_p, inputs["supply_shift"], inputs["eps"])
    demand = _true_demand(agg, big_p, inputs["demand_shift"], np.asarray(inputs["eta"]),
                          _derived_ratio(links, agg, supply))
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        solved = (1.0 + used["demand_shift"]) * big_p ** np.asarray(used["eta"])[..., None]
        ratio = demand / solved  # the true composite quantity over the one the markets were solved with
        sold = np.einsum("...ij,...j->...i", solution.flows / np.where(p > 0, p, 1.0)[..., None], ratio)
        gap = np.log(sold) - np.log(agg["X"] * supply)
    free = (agg["X"] > 0) & np.isfinite(np.broadcast_to(inputs["eps"], gap.shape))
    gap = np.where(free, gap, 0.0)
    return np.where(np.isfinite(gap), np.abs(gap), np.inf).max(axis=-1)


def solve_linked(inputs: dict, links: Links, solve_once, tol: float):
    """Solve the linked equilibrium of ``inputs`` (the engine's kernel arguments) with ``solve_once(inputs)``.

    Returns the last round's :class:`~sim.engine.solution.Solution` with consumer surplus on final
    demand, producer surplus on value added, ``max_residual`` the linked system's own and
    ``converged`` false where it is above ``tol`` after :data:`MAX_ROUNDS` rounds.
    """
    agg = links.aggregates(np.asarray(inputs["flows"], dtype=float), np.asarray(inputs["base_tariffs"], dtype=float))
    lead = np.broadcast_shapes(np.shape(inputs["new_tariffs"])[:-2], np.shape(inputs["eps"])[:-1],
                               np.shape(inputs["supply_shift"])[:-1], np.shape(inputs["sigma"]))
    x = np.zeros((2,) + lead + agg["X"].shape[-1:])  # log producer and consumer prices the round starts from
    previous = None
    iterations = nfev = 0
    for _ in range(MAX_ROUNDS):
        used = _inner_arguments(links, agg, inputs, np.exp(x[0]), np.exp(x[1]))
        solution = solve_once({**inputs, **used})
        iterations = iterations + solution.iterations
        nfev = nfev + (solution.nfev if solution.nfev is not None else 0)
        residual = _linked_residual(links, agg, inputs, used, solution)
        with np.errstate(divide="ignore", invalid="ignore"):
            g = np.log(np.stack([solution.producer_price, solution.consumer_price]))
        moved = np.abs(g - x).max(axis=(0, -1))
        settled = ((residual <= tol) & (moved <= tol)) | ~solution.finite | ~np.isfinite(residual)
        if np.all(settled):
            break
        x, previous = _next_start(x, g, previous), (x, g)
    return _account_linked(links, agg, inputs, solution, residual, iterations, nfev, tol)


def _next_start(x, g, previous):
    """The next round's prices: the round's own (``g``), moved along the secant of the last two rounds (Anderson
    mixing with one step), which the loop's linear contraction makes several times faster; the plain round
    where the step is not finite or there is no earlier round."""
    if previous is None:
        return g
    x_old, g_old = previous
    f, df, dg = g - x, (g - x) - (g_old - x_old), g - g_old
    finite = np.isfinite(f) & np.isfinite(df)
    coupled = (0, -2, -1)  # the sectors and regions of one period and variant are solved together: one step each
    denominator = np.sum(np.where(finite, df * df, 0.0), axis=coupled, keepdims=True)
    numerator = np.sum(np.where(finite, f * df, 0.0), axis=coupled, keepdims=True)
    gamma = np.divide(numerator, denominator, out=np.zeros_like(denominator), where=denominator > 0)
    step = g - gamma * dg
    return np.where(np.isfinite(step), step, g)


def _account_linked(links, agg, inputs, solution, residual, iterations, nfev, tol):
    """Welfare of the linked system: consumer surplus on final demand, producer surplus on value added."""
    p, big_p = solution.producer_price, solution.consumer_price
    s, eps, d = inputs["supply_shift"], inputs["eps"], inputs["demand_shift"]
    eta = np.asarray(inputs["eta"])[..., None]
    final = agg["E"] - agg["D"]
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        unit = np.abs(1.0 + eta) < 1e-12
        cs = -(1.0 + d) * final * np.where(unit, np.log(big_p), (big_p ** (1.0 + eta) - 1.0)
                                           / np.where(unit, 1.0, 1.0 + eta))
        value_added, exponent, supply = _value_added(links, agg, p, big_p, s, eps)
        share = agg["A"]
        finite = np.where(np.isinf(exponent), 0.0, exponent)  # eps = inf: a price taker, whose surplus is 0
        ps = (1.0 - share) * agg["X"] * ((1.0 + s) * np.abs(value_added) ** (1.0 + finite) - 1.0) / (1.0 + finite)
        ps = np.where(np.isinf(exponent) | (agg["X"] <= 0), 0.0, ps)
    # where nothing is linked the kernel's own numbers stand (a dataset of zero shares is today's, exactly)
    cs = np.where(agg["g"] > 0, cs, solution.consumer_surplus)
    ps = np.where(share > 0, ps, solution.producer_surplus)
    finite = solution.finite & np.isfinite(cs).all(axis=-1) & np.isfinite(ps).all(axis=-1) & np.isfinite(residual)
    max_residual = np.maximum(solution.max_residual, residual)
    return dataclasses.replace(solution, consumer_surplus=cs, producer_surplus=ps, max_residual=max_residual,
                               finite=finite, converged=finite & (max_residual <= tol), iterations=iterations,
                               nfev=nfev)
