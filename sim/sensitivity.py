"""One-at-a-time sensitivity to the elasticities (docs/model.md, "Sensitivity").

Each sector's ``sigma``, ``eta`` and ``eps`` (every region's, together) is moved down and
up by one coefficient of variation (``× (1 ∓ cv)``), one at a time, the rest at their
central values; all 6 × sectors variants are solved in one batch. The result is a
region's net welfare (all sectors, one year) under each variant: the tornado of which
assumption matters most.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from .engine import Vary, solve
from .engine.memory import labelled_welfare_bytes
from .errors import ConvergenceError, InputError, Problem
from .plots import tornado
from .resources import check_memory
from .statistics import by_variant_and_region
from .tables import label_welfare
from .uncertainty import memory_needed

__all__ = ["SensitivityResults", "sensitivity", "DEFAULT_CV"]

DEFAULT_CV = 0.3
PARAMETERS = ("sigma", "eta", "eps")
SENSITIVITY_COLUMNS = ["scenario", "year", "region", "sector", "parameter", "central", "low", "high",
                       "net_welfare_central", "net_welfare_low", "net_welfare_high", "swing"]


@dataclass(frozen=True)
class SensitivityResults:
    """Net welfare of ``region`` in ``year`` with each elasticity moved by ``cv``.

    ``table`` has one row per sector and parameter, sorted by ``swing`` (the absolute
    difference between the low and high outcomes), columns :data:`SENSITIVITY_COLUMNS`;
    ``central``, ``low`` and ``high`` describe the parameter (for ``eps``, the range over
    regions, infinite supply elasticities left as they are).
    """

    table: pd.DataFrame
    region: str
    year: object
    cv: float
    unit: str
    title: str

    def plot(self, ax=None):

        return tornado(self, ax=ax)


def _describe(values: np.ndarray) -> str:
    finite = values[np.isfinite(values)]
    if len(finite) == 0:
        return "inf"
    lo, hi = finite.min(), finite.max()
    text = f"{lo:.3g}" if np.isclose(lo, hi) else f"{lo:.3g} to {hi:.3g}"
    return text + (" (inf kept)" if len(finite) < len(values) else "")


def _check_memory(case) -> None:
    variants = 6 * len(case.dataset.sectors)
    years, sectors, regions = case.shocks.new_tariffs.shape[:3]
    lower = "the number of years or sectors (every sector's sigma, eta and eps is moved down and up in every year)"
    needed = memory_needed(case, variants) + labelled_welfare_bytes(variants * years * sectors, regions)
    check_memory(needed, f"the sensitivity of '{case.name}' ({variants} variants)",
                 ("sensitivity", "", lower), ("--sensitivity", "", lower))


def sensitivity(res, cv: float = DEFAULT_CV, region: str | None = None, year=None) -> SensitivityResults:
    """Move each sector's sigma, eta and eps by ``cv`` one at a time (one batch) for ``res`` (a Results).

    ``region`` defaults to the first importer whose tariffs change (else the first region);
    ``year`` to the last period.
    """
    case, ds, shocks = res.case, res.case.dataset, res.case.shocks
    problems = []
    if not 0 <= cv < 1:
        problems.append(Problem("--cv", "", f"must be at least 0 and below 1 (0.3 = 30%), got {cv!r}"))
    shocked = res.statistics.shocked_importers()
    region = region or (shocked[0] if shocked else ds.regions[0])
    if region not in ds.regions:
        problems.append(Problem("region", "", f"'{region}' is not a region of {ds.name}: {', '.join(ds.regions)}"))
    years = list(shocks.years)
    year = years[-1] if year is None else year
    if year not in years:
        problems.append(Problem("year", "", f"{year!r} is not one of the periods {years}"))
    if problems:
        raise InputError(problems)
    k = len(ds.sectors)
    _check_memory(case)  # before the variants' elasticities are built
    variants = [(s, p, f) for s in range(k) for p in PARAMETERS for f in (1 - cv, 1 + cv)]
    sigma = np.repeat(shocks.sigma[None], len(variants), axis=0)
    eta = np.repeat(shocks.eta[None], len(variants), axis=0)
    eps = np.repeat(shocks.eps[None], len(variants), axis=0)
    for v, (s, parameter, factor) in enumerate(variants):
        if parameter == "sigma":
            sigma[v, s] *= factor
        elif parameter == "eta":
            eta[v, s] *= factor
        else:
            eps[v, s] = np.where(np.isinf(eps[v, s]), eps[v, s], eps[v, s] * factor)
    sol = solve(case, vary=Vary(sigma=sigma, eta=eta, eps=eps))
    y = years.index(year)
    if not sol.converged[:, y].all():
        bad = [variants[v] for v in np.flatnonzero(~sol.converged[:, y].all(axis=1))]
        raise ConvergenceError([f"{case.name}: sensitivity variant {ds.sectors[s]} {p} x {f:g} did not converge"
                                for s, p, f in bad])
    welfare = label_welfare(case, sol, "variant", range(len(variants)))
    outcome = by_variant_and_region(welfare.xs(year, level="year", drop_level=False), "variant")[region].to_numpy()
    central = float(res.statistics.net_welfare(groupby="region", year=year).xs(region, level="region").iloc[0])
    rows = []
    for s in range(k):
        for p_index, parameter in enumerate(PARAMETERS):
            base = 6 * s + 2 * p_index
            values = {"sigma": shocks.sigma[s:s + 1], "eta": shocks.eta[s:s + 1], "eps": shocks.eps[s]}[parameter]
            low, high = outcome[base], outcome[base + 1]
            rows.append({"scenario": case.name, "year": year, "region": region, "sector": ds.sectors[s],
                         "parameter": parameter, "central": _describe(values),
                         "low": _describe(values * (1 - cv)), "high": _describe(values * (1 + cv)),
                         "net_welfare_central": central, "net_welfare_low": float(low),
                         "net_welfare_high": float(high), "swing": float(abs(high - low))})
    table = pd.DataFrame(rows, columns=SENSITIVITY_COLUMNS).sort_values("swing", ascending=False, kind="stable")
    return SensitivityResults(table.reset_index(drop=True), region, year, cv, ds.unit, res.title)
