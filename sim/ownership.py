"""Who owns the producers (docs/model.md, "Ownership" and "Investments").

Welfare is credited by location in the solver's tables. This module credits the producer side by owner:

- the dataset's ``ownership.csv`` and the scenario's ``[[ownership]]`` blocks give, per period, the share of a
  location's **existing** producers' surplus owned abroad (:func:`owner_shares`);
- new capacity from an ``[[investment]]`` belongs to its ``investor``: its part of the host's producer
  surplus, ``X · s_inv · p̂^(1+ε) / (1+ε)``, is split off the host's (:func:`new_capacity_surplus`);
- :func:`welfare_by_owner` re-credits every producer-side column (:data:`PRODUCER_SIDE`) of the welfare
  table by owner, everything else staying by location, so world totals are unchanged;
- :func:`investment_table` and :func:`investment_returns` give the new capacity's revenue and operating
  profit per period and, per investment, the present value over its life, the NPV net of the capital
  cost and the payback year.

Nothing here changes the solve: these are accounts of its solution. pandas is imported inside the functions
that build tables, so that ``import sim`` (which checks ownership on loading a scenario) stays light.
"""

from __future__ import annotations

import numpy as np

from .adjustment import scale
from .errors import ProblemList
from .scenario import raise_problems
from .shocks import in_force

__all__ = ["PRODUCER_SIDE", "OWNER_COLUMNS", "INVESTMENT_COLUMNS", "RETURN_COLUMNS", "in_play", "has_returns",
           "owner_shares", "check_ownership", "capacity_shares", "new_capacity_surplus", "welfare_by_owner",
           "investment_table", "investment_returns", "returns_of_draws", "investment_labels"]

#: Welfare columns that belong to producers, and so to their owners: split by ownership where present.
PRODUCER_SIDE = ("producer_surplus", "exporter_margin")
OWNER_COLUMNS = ["scenario", "year", "sector", "region", "consumer_surplus", "producer_surplus", "tariff_revenue",
                 "quota_rent", "net_welfare", "ownership_transfer"]
INVESTMENT_COLUMNS = ["scenario", "year", "investment", "sector", "host", "investor", "online_share", "output",
                      "revenue", "operating_profit", "new_capacity_surplus"]
RETURN_COLUMNS = ["scenario", "investment", "sector", "host", "investor", "amount", "start", "life_years",
                  "discount_rate", "operating_margin", "operating_profit_last_year", "present_value", "npv",
                  "payback_year", "payback_years"]


def in_play(case) -> bool:
    """Whether anything is owned abroad: the dataset's ``ownership.csv``, an ``[[ownership]]`` block, or an
    investment whose investor is not its host. Without any, welfare by owner is welfare by location."""
    scenario = case.scenario
    return (case.dataset.ownership is not None or bool(scenario.ownership)
            or any(inv.investor not in (None, inv.host) for inv in scenario.investments))


def has_returns(case) -> bool:
    """Whether some investment of ``case`` gives ``amount`` and ``operating_margin`` (its returns are computed)."""
    return any(inv.has_returns for inv in case.scenario.investments)


def _periods(case) -> list:
    """The periods as :func:`sim.shocks.in_force` reads them: ``[None]`` for a long-run scenario."""
    return [None] if case.shocks.static else list(case.shocks.years)


def owner_shares(scenario, dataset, when, problems: ProblemList | None = None) -> np.ndarray:
    """Shares of each location's existing producers' surplus by owner, per period: (Y, K, N, N)
    ``[period, sector, location, owner]``; each location's row adds up to 1, its own share on the diagonal.

    The dataset's foreign shares hold unless an ``[[ownership]]`` block in force replaces one (a later block
    replacing an earlier one). Foreign shares adding up to more than 1 are recorded in ``problems``.
    """
    k, n = len(dataset.sectors), len(dataset.regions)
    base = dataset.ownership if dataset.ownership is not None else np.zeros((k, n, n))
    out = np.zeros((len(when), k, n, n))
    over: dict[tuple, list] = {}  # one problem per over-full cell and set of shares, with the years it holds
    for y, year in enumerate(when):
        foreign, named = base.copy(), {}
        for o in scenario.ownership:
            if in_force(o.start, o.end, year):
                cell = (dataset.sector_index(o.sector), dataset.region_index(o.location), dataset.region_index(o.owner))
                foreign[cell] = o.share
                named[cell[:2]] = o.key
        total = foreign.sum(axis=2)
        for ks, r in zip(*np.nonzero(total > 1 + 1e-12)):
            listed = ", ".join(f"{dataset.regions[o]} {foreign[ks, r, o]:g}" for o in np.flatnonzero(foreign[ks, r]))
            over.setdefault((named.get((ks, r), "ownership"), ks, r, f"{total[ks, r]:.6g}", listed), []).append(year)
        out[y] = foreign
        out[y][:, np.arange(n), np.arange(n)] = 1.0 - total
    if problems is not None:
        for (key, ks, r, total, listed), years in over.items():
            problems.add(f"{key}.share", f"foreign owners' shares of {dataset.sectors[ks]} in {dataset.regions[r]} add "
                         f"up to {total}{_years_label(years, when)} ({listed}): the location's own share would be "
                         "negative")
    return out


def _years_label(years, when) -> str:
    """``" in 2025"``, ``" in 2025-2030"`` (a run of the scenario's periods) or ``" in 2025, 2027"``; nothing for
    the long run."""
    if years == [None]:
        return ""
    first, last = when.index(years[0]), when.index(years[-1])
    if len(years) > 1 and when[first:last + 1] == years:
        return f" in {years[0]}-{years[-1]}"
    return " in " + ", ".join(str(y) for y in years)


def check_ownership(case) -> None:
    """Raise :class:`~sim.errors.InputError` where the ownership in force leaves a location a negative share."""
    problems = ProblemList(case.scenario.source)
    owner_shares(case.scenario, case.dataset, _periods(case), problems)
    raise_problems(problems)


def investment_labels(scenario) -> list[str]:
    """One label per investment: its ``name``, else its key (``investment[2]``); a name used twice gets its key."""
    names = [inv.name or inv.key for inv in scenario.investments]
    return [f"{name} ({inv.key})" if names.count(name) > 1 else name
            for name, inv in zip(names, scenario.investments)]


def capacity_shares(case) -> np.ndarray:
    """``s_inv``: each investment's share of its host's base output online in each period, (M, Y).

    The host's supply shift is the sum of these over the investments it hosts, less any displacement
    (docs/model.md, "Scenario files").
    """
    output = case.dataset.flows.sum(axis=-1)
    when = _periods(case)
    out = np.zeros((len(case.scenario.investments), len(when)))
    for m, inv in enumerate(case.scenario.investments):
        base = output[case.dataset.sector_index(inv.sector), case.dataset.region_index(inv.host)]
        out[m] = [inv.full_capacity * inv.online_share(year) / base for year in when]
    return out


def _price_factor(p_hat, eps, power):
    """``p̂^(power + ε)``, 1 where ``ε = ∞`` (the price is fixed there: ``p̂ = 1``)."""
    with np.errstate(invalid="ignore", over="ignore"):
        return np.where(np.isinf(eps), 1.0, p_hat ** (power + np.where(np.isinf(eps), 0.0, eps)))


def new_capacity_surplus(base_output, share, p_hat, eps):
    """The new capacity's producer surplus ``X · s_inv · p̂^(1+ε) / (1+ε)`` (0 where ``ε = ∞``), elementwise.

    The area above its supply curve, ``X · s_inv · p^ε``, up to the price ``p̂``: the part of the host's
    ``ΔPS = X ((1+s) p̂^(1+ε) − 1) / (1+ε)`` that the shift ``s_inv`` adds (docs/model.md, "Ownership").
    """
    with np.errstate(invalid="ignore"):
        return np.where(np.isinf(eps), 0.0, base_output * share * _price_factor(p_hat, eps, 1.0)
                        / (1.0 + np.where(np.isinf(eps), 0.0, eps)))


def _eps_by_period(case, periods: int) -> np.ndarray:
    """The supply elasticities each period solved with: the short-run path where the dataset gives one."""
    eps = np.asarray(case.shocks.elasticities()["eps"], dtype=float)
    return np.broadcast_to(eps, (periods, *eps.shape[-2:]))


def _new_surplus_by_investment(case, producer_price) -> np.ndarray:
    """The new capacity's producer surplus of each investment and period, (M, Y)."""
    invs = case.scenario.investments
    shares = capacity_shares(case)
    eps = _eps_by_period(case, producer_price.shape[0])
    output = case.dataset.flows.sum(axis=-1)
    out = np.zeros_like(shares)
    for m, inv in enumerate(invs):
        k, h = case.dataset.sector_index(inv.sector), case.dataset.region_index(inv.host)
        out[m] = new_capacity_surplus(output[k, h], shares[m], producer_price[:, k, h], eps[:, k, h])
    return out


def welfare_by_owner(welfare, case, producer_price: np.ndarray):
    """The welfare table with its producer-side columns credited to owners (docs/model.md, "Ownership").

    Parameters
    ----------
    welfare : DataFrame, index (year, sector, region)
        The labelled welfare table by location (:func:`sim.tables.label`), in the dataset's order.
    case : Case
    producer_price : ndarray, shape (Y, K, N)
        ``p̂`` of the solution.

    Returns
    -------
    DataFrame
        The same index and columns, each column of :data:`PRODUCER_SIDE` present credited by owner
        (existing producers by the shares in force, new capacity to its investor), ``net_welfare`` moved
        by as much, and ``ownership_transfer``: net welfare by owner less by location.
    """
    ds = case.dataset
    y, k, n = producer_price.shape
    shares = owner_shares(case.scenario, ds, _periods(case))
    new = _new_surplus_by_investment(case, producer_price)
    out = welfare.copy()
    moved = np.zeros((y, k, n))
    for column in (c for c in PRODUCER_SIDE if c in welfare.columns):
        by_location = welfare[column].to_numpy().reshape(y, k, n)
        existing = by_location.copy()
        to_investors = np.zeros_like(existing)
        if column == "producer_surplus":
            for m, inv in enumerate(case.scenario.investments):
                s, h = ds.sector_index(inv.sector), ds.region_index(inv.host)
                owner = ds.region_index(inv.investor) if inv.investor is not None else h
                existing[:, s, h] -= new[m]
                to_investors[:, s, owner] += new[m]
        by_owner = np.einsum("ykl,yklo->yko", existing, shares) + to_investors
        out[column] = by_owner.ravel()
        moved += by_owner - by_location
    out["net_welfare"] = welfare["net_welfare"].to_numpy() + moved.ravel()
    out["ownership_transfer"] = moved.ravel()
    return out


def investment_table(case, producer_price: np.ndarray, index_levels):
    """The new capacity of every investment in every period (docs/model.md, "Investments").

    Columns: ``online_share``; ``output``, its volume ``X · s_inv · p̂^ε`` (base prices, dataset units);
    ``revenue`` at the model's producer price, ``X · s_inv · p̂^(1+ε)``; ``operating_profit``,
    ``operating_margin × revenue`` (NaN without a margin); ``producer_surplus``, the new capacity's part of
    the host's (credited to the investor). Index ``(year, investment)``.
    """
    import pandas as pd

    invs = case.scenario.investments
    years = list(case.shocks.years)
    labels = investment_labels(case.scenario)
    if not invs:
        return pd.DataFrame({c: pd.Series(dtype=object if c in ("sector", "host", "investor") else float)
                             for c in INVESTMENT_COLUMNS[3:]},
                            index=pd.MultiIndex.from_arrays([[], []], names=index_levels))
    shares = capacity_shares(case)
    eps = _eps_by_period(case, producer_price.shape[0])
    base = case.dataset.flows.sum(axis=-1)
    surplus = _new_surplus_by_investment(case, producer_price)
    rows = []
    for m, inv in enumerate(invs):
        k, h = case.dataset.sector_index(inv.sector), case.dataset.region_index(inv.host)
        added = base[k, h] * shares[m]
        output = added * _price_factor(producer_price[:, k, h], eps[:, k, h], 0.0)
        revenue = added * _price_factor(producer_price[:, k, h], eps[:, k, h], 1.0)
        margin = inv.operating_margin if inv.operating_margin is not None else np.nan
        for y, year in enumerate(years):
            online = 1.0 if case.shocks.static else inv.online_share(year)
            rows.append((year, labels[m], inv.sector, inv.host, inv.investor or inv.host, online, output[y],
                         revenue[y], margin * revenue[y], surplus[m, y]))
    frame = pd.DataFrame(rows, columns=[*index_levels, *INVESTMENT_COLUMNS[3:]])
    return frame.set_index(index_levels)


def _life(inv, years, static):
    """Each year of an investment's life: its calendar year (None in a long-run scenario), the online share,
    and the index of the period whose prices it takes (the latest period at or before it; the first period
    for years before it, the last for years after the scenario's last)."""
    life = inv.life_years
    if static:
        return [None] * life, np.ones(life), np.zeros(life, dtype=int)
    start = inv.start if inv.start is not None else years[0]
    calendar = [start + t for t in range(life)]
    period = [max([i for i, y in enumerate(years) if y <= c], default=0) for c in calendar]
    return calendar, np.array([inv.online_share(c) for c in calendar]), np.array(period)


def _profit_paths(case, producer_price, eps):
    """Operating profit in each year of each investment's life, leading axes of ``producer_price`` kept.

    ``producer_price`` (..., Y, K, N), ``eps`` broadcastable to it. Returns ``{m: (calendar, profits (..., L))}``
    for the investments with returns.
    """
    years = list(case.shocks.years)
    eps = np.broadcast_to(eps, producer_price.shape)
    out = {}
    for m, inv in enumerate(case.scenario.investments):
        if not inv.has_returns:
            continue
        k, h = case.dataset.sector_index(inv.sector), case.dataset.region_index(inv.host)
        calendar, online, period = _life(inv, years, case.shocks.static)
        factor = _price_factor(producer_price[..., k, h], eps[..., k, h], 1.0)  # (..., Y)
        revenue = inv.full_capacity * online * factor[..., period]
        out[m] = (calendar, inv.operating_margin * revenue)
    return out


def _present_value(profits, rate):
    """``Σ_t profit_t / (1 + r)^t`` over the last axis, t = 0 in the first year of life."""
    discount = (1.0 + rate) ** -np.arange(profits.shape[-1])
    return profits @ discount


def investment_returns(case, producer_price: np.ndarray):
    """Per investment with ``amount`` and ``operating_margin``: what it earns its investor over its life.

    ``present_value`` of the operating profit over ``life_years`` from the investment's start year (the
    first period in a long-run scenario), discounted to that year at ``discount_rate``; years after the
    scenario's last take its last year's prices (and before its first, the first's), with the online share
    of their own year. ``npv`` = present value − ``amount`` (the capital cost, spent in the start year).
    ``payback_year``: the first year whose cumulative undiscounted operating profit reaches ``amount``
    (``payback_years`` counts the start year as 1); NaN if not within the life. Index ``investment``.
    """
    import pandas as pd

    eps = _eps_by_period(case, producer_price.shape[0])
    labels = investment_labels(case.scenario)
    rows = []
    for m, (calendar, profits) in _profit_paths(case, producer_price, eps).items():
        inv = case.scenario.investments[m]
        value = float(_present_value(profits, inv.discount_rate))
        reached = np.flatnonzero(np.cumsum(profits) >= inv.amount * (1 - 1e-12))
        years = float(reached[0] + 1) if reached.size else np.nan
        year = float(calendar[int(reached[0])]) if reached.size and calendar[0] is not None else np.nan
        last = case.shocks.years[-1]
        last_profit = float(profits[0]) if case.shocks.static else (
            float(profits[calendar.index(last)]) if last in calendar else np.nan)
        rows.append((labels[m], inv.sector, inv.host, inv.investor or inv.host, inv.amount,
                     calendar[0] if calendar[0] is not None else "long run", inv.life_years, inv.discount_rate,
                     inv.operating_margin, last_profit, value, value - inv.amount, year, years))
    frame = pd.DataFrame(rows, columns=["investment", *RETURN_COLUMNS[2:]])
    return frame.set_index("investment")


def returns_of_draws(case, producer_price: np.ndarray, eps: np.ndarray) -> dict[str, np.ndarray]:
    """Present value and NPV of each investment with returns in every draw: ``{"present_value": (D, M'),
    "npv": (D, M')}``, ``producer_price`` (D, Y, K, N) and ``eps`` (D, K, N) (or (D, Y, K, N)) of the draws."""
    if eps.ndim == 3:  # each draw's long run, on the scenario's short-run path
        factors = case.shocks.adjustment
        eps = eps[:, None] if factors is None else scale(eps[:, None], factors["eps"][None])
    paths = _profit_paths(case, producer_price, eps)
    if not paths:
        return {}
    invs = case.scenario.investments
    value = np.stack([_present_value(p, invs[m].discount_rate) for m, (_, p) in paths.items()], axis=-1)
    amount = np.array([invs[m].amount for m in paths])
    return {"present_value": value, "npv": value - amount}
