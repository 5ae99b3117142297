"""Short-run adjustment: elasticities that grow from a short-run share of their long-run value.

docs/model.md, "Short-run adjustment". A dataset's ``adjustment.csv`` and a scenario's
``[[adjustment]]`` blocks give, per sector and elasticity (``sigma``, ``eta`` or ``eps``, the
last per region), a short-run multiplier ``m`` in (0, 1] and a half-life ``h`` in years. In
year ``y`` of a dated scenario the elasticity is

    e(y) = e_long · (1 − (1 − m) · 0.5^((y − y0) / h))

where ``y0`` is the first year in which the sector is shocked. A static (long-run) scenario
uses ``e_long``; ``ε = ∞`` stays ∞ (a multiplier scales a finite ε directly).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["Adjustment", "PARAMETERS", "EVERY_REGION", "checked_rule", "multipliers", "first_shocked_year", "scale"]

#: The elasticities an adjustment can scale.
PARAMETERS = ("sigma", "eta", "eps")
#: The region of a row that applies to every region (and the only region ``sigma`` and ``eta`` take).
EVERY_REGION = "*"


@dataclass(frozen=True)
class Adjustment:
    """One short-run rule: ``parameter`` of ``sector`` (``"*"``: all) in ``region`` (``eps`` only; ``"*"``: all).

    Attributes
    ----------
    sector : str
    parameter : str
        ``"sigma"``, ``"eta"`` or ``"eps"``.
    region : str
        A region code for ``eps``, else ``"*"``.
    short_run : float
        ``m`` in (0, 1]: the elasticity's share of its long-run value in the first shocked year.
    half_life : float
        Years (> 0) in which half of the remaining gap to the long run closes.
    key : str
        Where the rule came from, for messages (``adjustment[2]`` or ``adjustment.csv line 3``).
    """

    sector: str
    parameter: str
    region: str
    short_run: float
    half_life: float
    key: str = "adjustment"


def checked_rule(sector, parameter, region, short_run, half_life, at, found, shown=None) -> Adjustment | None:
    """One short-run rule with its values checked (codes are the caller's), or None with the problems in ``found``.

    ``at(column)`` names the problem's key (a CSV line, or ``adjustment[2].short_run``); ``shown``
    the values as the user wrote them, for messages.
    """
    shown = shown or (short_run, half_life)
    ok = True
    if parameter not in PARAMETERS:
        found.add(at("parameter"), f"parameter must be one of {', '.join(PARAMETERS)}, got {parameter!r}")
        ok = False
    elif parameter != "eps" and region != EVERY_REGION:
        found.add(at("region"), f"{parameter} is one value per sector: give no region (or \"*\"), got {region!r}")
        ok = False
    if short_run is None or not 0 < short_run <= 1:
        found.add(at("short_run"), "short_run must be a number in (0, 1] (the first year's share of the long-run "
                  f"value), got {shown[0]!r}")
        ok = False
    if half_life is None or not 0 < half_life < float("inf"):
        found.add(at("half_life_years"), f"half_life_years must be a number > 0 (years), got {shown[1]!r}")
        ok = False
    return Adjustment(sector, parameter, region, short_run, half_life) if ok else None


def multipliers(rules, sectors, regions, years, first_year) -> dict[str, np.ndarray]:
    """The factor on each long-run elasticity in each period.

    Parameters
    ----------
    rules : sequence of Adjustment
        The dataset's rules, then the scenario's: a later rule replaces an earlier one on the cells
        it covers, and within each source ``"*"`` rules come first.
    sectors, regions : sequence of str
        The dataset's codes (K and N of them).
    years : sequence of int, or None
        The periods (Y); None for a static scenario, whose one period is the long run.
    first_year : ndarray of int, shape (K,)
        The first year each sector is shocked (:func:`first_shocked_year`); unused when static.

    Returns
    -------
    dict
        ``"sigma"`` and ``"eta"`` of shape (Y, K), ``"eps"`` of shape (Y, K, N): 1 in the long run,
        in a static scenario, before a sector's first shock and where no rule applies.
    """
    k, n = len(sectors), len(regions)
    short = {"sigma": np.ones(k), "eta": np.ones(k), "eps": np.ones((k, n))}
    half = {"sigma": np.ones(k), "eta": np.ones(k), "eps": np.ones((k, n))}
    for rule in rules:
        rows = np.ones(k, dtype=bool) if rule.sector == "*" else np.array([s == rule.sector for s in sectors])
        if rule.parameter == "eps":
            cols = np.ones(n, dtype=bool) if rule.region == EVERY_REGION else np.array([r == rule.region
                                                                                          for r in regions])
            cells = np.ix_(rows, cols)
        else:
            cells = rows
        short[rule.parameter][cells] = rule.short_run
        half[rule.parameter][cells] = rule.half_life
    if years is None:
        return {name: np.ones((1,) + value.shape) for name, value in short.items()}
    elapsed = np.asarray(years, dtype=float)[:, None] - np.asarray(first_year, dtype=float)[None, :]  # (Y, K)
    out = {}
    for name in PARAMETERS:
        gap = elapsed if short[name].ndim == 1 else elapsed[..., None]
        factor = 1.0 - (1.0 - short[name]) * 0.5 ** (np.maximum(gap, 0.0) / half[name])
        out[name] = np.where(gap >= 0, factor, 1.0)
    return out


def first_shocked_year(years, new_tariffs, base_tariffs, supply_shift, demand_shift, quotas=None,
                       base_quotas=None) -> np.ndarray:
    """The first year each sector's shocks differ from the base year (K,); a large sentinel where none do.

    Parameters
    ----------
    years : sequence of int
        The periods (Y).
    new_tariffs : ndarray, shape (Y, K, N, N)
    base_tariffs : ndarray, shape (K, N, N)
    supply_shift, demand_shift : ndarray, shape (Y, K, N)
    quotas, base_quotas : QuotaArrays, optional
        The quotas in force each period (Y, K, N, N) and the dataset's (K, N, N): a quota that
        ends or starts is a shock too.
    """
    shocked = ((new_tariffs != base_tariffs).any(axis=(-1, -2)) | (supply_shift != 0).any(axis=-1)
               | (demand_shift != 0).any(axis=-1))  # (Y, K)
    if quotas is not None:
        volume = quotas.volume
        base = np.full(volume.shape[1:], np.inf) if base_quotas is None else base_quotas.volume
        shocked |= (volume != base).any(axis=(-1, -2))
    years = np.asarray(years)
    never = np.iinfo(np.int64).max // 2
    return np.where(shocked.any(axis=0), years[np.argmax(shocked, axis=0)], never)


def scale(long_run: np.ndarray, factor: np.ndarray) -> np.ndarray:
    """``long_run · factor``, broadcast, with ε = ∞ kept infinite (a short-run ∞ is still ∞)."""
    long_run, factor = np.broadcast_arrays(long_run, factor)
    return np.where(np.isinf(long_run), long_run, long_run * factor)
