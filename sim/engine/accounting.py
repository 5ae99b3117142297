"""Tariff revenue and quota rent, computed once from a solution (docs/model.md, "Welfare").

One base rule: every revenue and rent reported is a change from the base year's, and the
base year's is what the dataset's own tariffs and quotas collect at base prices
(:func:`base_split`).
"""

from __future__ import annotations

import dataclasses

import numpy as np

from ..quotas import QuotaArrays

__all__ = ["account", "revenue_and_rent", "split_revenue", "split_at", "quota_rent", "base_split"]


def account(dataset, quotas: QuotaArrays | None, solution, routes=None):
    """``solution`` with its revenue stated by the one base rule, the quota rent by holder and the exporters' margin.

    With ``routes`` (:class:`sim.engine.pass_through.Routes`, from ``[[pass_through]]``), flows and
    revenue are first stated at route prices and ``exporter_margin`` set; without, the margin is 0.

    ``tariff_revenue`` becomes :func:`revenue_and_rent`'s change in revenue by importer,
    ``base_tariff_revenue`` the base year's revenue by importer under the dataset's quotas, and
    ``quota_rent_change`` the change in quota rent by the region holding it; the per-flow
    ``quota_rent`` (the rent earned on each quota flow) is unchanged. Without quotas the
    kernel's numbers already follow the rule and only ``quota_rent_change`` (zeros) is added.
    """
    if routes is not None:
        solution = routes.apply(solution)
    else:
        solution = dataclasses.replace(solution, exporter_margin=np.zeros(solution.tariff_revenue.shape))
    if quotas is None:
        return dataclasses.replace(solution, quota_rent_change=np.zeros(solution.tariff_revenue.shape))
    with np.errstate(all="ignore"):  # a market beyond floating point is reported by ``finite``
        revenue, rent, base = revenue_and_rent(dataset, quotas, solution)
    return dataclasses.replace(solution, tariff_revenue=revenue, quota_rent_change=rent,
                               base_tariff_revenue=np.broadcast_to(base, revenue.shape))


def revenue_and_rent(dataset, quotas: QuotaArrays, solution):
    """Changes in tariff revenue and quota rent by region (..., K, N), and the base year's revenue by importer (K, N).

    docs/model.md, "Tariff-rate quotas": with quotas (the dataset's base-year ones or the
    scenario's), both years are split the same way — in-quota volume at the in-quota rate, the
    rest at the out rate, the wedge above the in-quota rate as rent to its holder — so that an
    unchanged market changes by exactly 0. The new year's split is the kernel's (it returns the
    rent on every flow, and the revenue it split, less the base year's at the full rate); only
    the base year's is computed here.
    """
    base_quotas = dataset.quotas if dataset.quotas is not None else QuotaArrays.empty(dataset.flows.shape)
    base_revenue, base_rent = base_split(dataset.flows, dataset.tariffs, base_quotas)
    base = base_revenue.sum(axis=-2)
    revenue = solution.tariff_revenue + solution.base_tariff_revenue  # the new year's, split by the kernel
    return revenue - base, quotas.rent_by_region(solution.quota_rent) - base_quotas.rent_by_region(base_rent), base


def split_revenue(flows, quantity, producer_price, factor, in_rate, out_rate, volume):
    """Tariff revenue and quota rent on every flow (M, N, N each), docs/model.md, "Tariff-rate quotas".

    ``factor`` is the tariff factor applied (``1 + τ``), ``in_rate`` and ``out_rate`` the quota's
    rates (``volume`` is ``inf`` where there is no quota). In-quota volume pays ``in_rate`` and
    over-quota volume ``out_rate``; the rent (:func:`quota_rent`) goes to the holder, so revenue plus
    rent is ``τ × value``, what a plain tariff ``τ`` collects — exactly so where the quota is slack and
    on flows without a quota. See :func:`split_at`.
    """
    cells = np.nonzero(np.isfinite(volume))
    revenue, rent = np.empty(flows.shape), np.empty(flows.shape)
    split_at(flows, quantity, producer_price, factor, cells, in_rate[cells], out_rate[cells], volume[cells],
             revenue, rent)
    return revenue, rent


def split_at(flows, quantity, producer_price, factor, cells, in_rate, out_rate, volume, revenue, rent):
    """:func:`split_revenue` into ``revenue`` and ``rent`` (M, N, N), given the quota flows.

    ``cells`` are the quota flows' ``(market, exporter, importer)`` index arrays (C,), ``in_rate``,
    ``out_rate`` and ``volume`` their quotas' terms (C,). The rent is computed at the quota cells only
    (a few of M × N × N; a quota on a zero flow earns nothing); everywhere else it is 0 and the revenue
    ``τ × value``. Returns the cells that earn (those of a positive flow) and their rent.
    """
    selling = flows[cells] > 0
    cells = tuple(index[selling] for index in cells)
    at_cells = quota_rent(flows[cells] * quantity[cells], producer_price[cells[:-1]], factor[cells],
                          in_rate[selling], out_rate[selling], volume[selling])
    np.multiply(flows, quantity, out=revenue)  # the value p V q̂
    revenue *= producer_price[..., None]
    revenue *= factor - 1.0
    revenue[cells] -= at_cells
    rent[...] = 0.0
    rent[cells] = at_cells
    return cells, at_cells


def quota_rent(sold, price, factor, in_rate, out_rate, volume):
    """The rent ``(τ − in_rate) × p × in-quota volume`` of quota flows (any shape, all alike).

    ``sold`` is the flow's volume ``V q̂`` (base-price units), ``price`` its exporter's producer price,
    ``factor`` the tariff factor applied (``1 + τ``). Over quota (``τ`` at the out-of-quota rate) the
    in-quota volume is the quota's volume; a quota at its in-quota rate earns no rent.
    """
    low, high = 1.0 + in_rate, 1.0 + out_rate
    inside = np.where(factor >= high, np.minimum(sold, volume), sold)  # over quota: the quota's volume
    earning = factor > low  # binding or over quota: the wedge above the in-quota rate is rent
    return np.where(earning, (factor - low) * inside * price, 0.0)


def base_split(flows, base_tariffs, quotas: QuotaArrays):
    """Base-year tariff revenue and quota rent per cell (K, N, N each) under the dataset's quotas.

    At base prices the flow is ``V`` and the producer price 1; see :func:`split_revenue`.
    """
    return split_revenue(flows, np.ones(flows.shape), np.ones(flows.shape[:-1]), 1.0 + base_tariffs,
                         quotas.in_rate, quotas.out_rate, quotas.volume)
