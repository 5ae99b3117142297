"""One-at-a-time sensitivity to the elasticities (docs/model.md, "Sensitivity").

Each sector's ``sigma``, ``eta`` and ``eps`` (every region's, together) is moved down and
up by one coefficient of variation (``× (1 ∓ cv)``), one at a time, the rest at their
central values; all 6 × sectors variants are solved in one batch. On a linked dataset each
using sector's input cost shares are moved the same way (one solve each side). The result is a
region's net welfare (all sectors, one year) under each variant: the tornado of which
assumption matters most.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from .engine import Vary, solve
from .engine.linkages import Links
from .engine.memory import labelled_welfare_bytes
from .errors import ConvergenceError, InputError, Problem
from .escape import html_text
from .plots import CHANGE_EPS, tornado
from .resources import check_memory
from .statistics import by_variant_and_region
from .tables import label_welfare
from .uncertainty import one_batch_memory

__all__ = ["SensitivityResults", "sensitivity", "DEFAULT_CV"]

DEFAULT_CV = 0.3
PARAMETERS = ("sigma", "eta", "eps")
SENSITIVITY_COLUMNS = ["scenario", "year", "region", "sector", "parameter", "central", "low", "high",
                       "net_welfare_central", "net_welfare_low", "net_welfare_high", "swing"]


@dataclass(frozen=True, repr=False)
class SensitivityResults:
    """Net welfare of ``region`` in ``year`` with each elasticity moved by ``cv``.

    ``table`` has one row per sector and parameter, sorted by ``swing`` (the absolute
    difference between the low and high outcomes), columns :data:`SENSITIVITY_COLUMNS`;
    ``central``, ``low`` and ``high`` describe the parameter (for ``eps``, the range over
    regions, infinite supply elasticities left as they are). ``table`` (and sensitivity.csv)
    keeps every row; :attr:`shown` (the plot, the printed table, the repr) leaves out the
    parameters that do not move the result at all (:attr:`without_effect`).
    """

    table: pd.DataFrame
    region: str
    year: object
    cv: float
    unit: str
    title: str

    @property
    def _moves(self) -> pd.Series:
        """True for the rows whose swing is not zero (as the tornado plot draws them: above CHANGE_EPS)."""
        return self.table["swing"] > CHANGE_EPS

    @property
    def shown(self) -> pd.DataFrame:
        """The rows of :attr:`table` with a swing: what the plot and the printed table show."""
        return self.table[self._moves].reset_index(drop=True)

    @property
    def without_effect(self) -> list[str]:
        """``"sector parameter"`` of the rows with no swing (the parameter does not move ``region``'s welfare)."""
        rows = self.table[~self._moves]
        return [f"{s} {p}" for s, p in zip(rows["sector"], rows["parameter"])]

    def plot(self, ax=None):
        """A tornado of the parameters that move the result, the others named as "No effect"; returns the Axes."""
        return tornado(self, ax=ax)

    def _headline(self) -> str:
        central = self.table["net_welfare_central"].iloc[0]
        return (f"{self.region}'s net welfare, all sectors, {self.year}: {central:+,.0f} {self.unit}; each elasticity "
                f"x (1 -/+ {self.cv:g})")

    def __repr__(self) -> str:
        top = self.shown.head(3)
        largest = ", ".join(f"{s} {p} {w:,.0f}" for s, p, w in zip(top["sector"], top["parameter"], top["swing"]))
        none = f"; {len(self.without_effect)} with no effect" if self.without_effect else ""
        return (f"<SensitivityResults {self.title}\n  {self._headline()}\n  largest swings: {largest or 'none'}"
                f"{none}>")

    def _repr_html_(self) -> str:
        columns = ["sector", "parameter", "net_welfare_low", "net_welfare_high", "swing"]
        none = (f"<p>No effect: {html_text(', '.join(self.without_effect))}</p>" if self.without_effect else "")
        return (f"<b>Sensitivity: {html_text(self.title)}</b><br>{html_text(self._headline())}"
                + self.shown.head(10)[columns].to_html(index=False, float_format=lambda v: f"{v:,.0f}", border=0)
                + none)


def _feasible_factor(links, flows, base_tariffs, u: int) -> float:
    """The largest factor on using sector ``u``'s cost shares that keeps them a valid ``inputs.csv``: its shares
    below 1 and every input's derived demand below absorption (docs/model.md, "Vertical linkages")."""
    agg = links.aggregates(flows, base_tariffs)
    a = links.cost_share
    own = a[:, u].sum(axis=0)  # (N,)
    limits = [1.0 / own[own > 0]]
    added = a[:, u] * agg["X"][u][None, :]  # (K inputs, N): derived demand from u
    room = agg["E"] - agg["D"]
    limits.append(1.0 + room[added > 0] / added[added > 0])
    return 0.999 * float(min(np.min(x) for x in limits if x.size))


def _cost_share_rows(case, cv: float, region: str, year, central: float) -> list[dict]:
    """Rows for each linked using sector's cost shares moved by ``cv`` (one solve each way), or [] unlinked.

    The high side is capped where the shares would stop being valid (derived demand reaching a region's
    absorption of the input), and says so.
    """
    links = case.shocks.links
    if links is None:
        return []
    ds, shocks = case.dataset, case.shocks
    y = list(shocks.years).index(year)
    rows = []
    for u, sector in enumerate(ds.sectors):
        shares = links.cost_share[:, u]
        if not (shares > 0).any():
            continue
        outcomes, described = [], []
        for factor in (1 - cv, min(1 + cv, _feasible_factor(links, ds.flows, ds.tariffs, u))):
            scaled = links.cost_share.copy()
            scaled[:, u] *= factor
            variant = replace(case, shocks=replace(shocks, links=Links(scaled)))
            sol = solve(variant)
            if not sol.converged[y].all():
                raise ConvergenceError([f"{case.name}: sensitivity variant {sector} cost shares x {factor:.3g} did "
                                        "not converge"])
            # net welfare as the tables define it (one variant: the arrays flatten as with a leading axis of 1)
            welfare = label_welfare(variant, sol, "variant", [factor])
            outcomes.append(float(by_variant_and_region(welfare.xs(year, level="year", drop_level=False),
                                                        "variant")[region].iloc[0]))
            described.append(_describe(shares[shares > 0] * factor)
                             + ("" if factor == 1 - cv or np.isclose(factor, 1 + cv) else
                                f" (x {factor:.3g}: the most absorption allows)"))
        rows.append({"scenario": case.name, "year": year, "region": region, "sector": sector,
                     "parameter": "cost_share", "central": _describe(shares[shares > 0]), "low": described[0],
                     "high": described[1], "net_welfare_central": central, "net_welfare_low": outcomes[0],
                     "net_welfare_high": outcomes[1], "swing": abs(outcomes[1] - outcomes[0])})
    return rows


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
    needed = one_batch_memory(case, variants) + labelled_welfare_bytes(variants * years * sectors, regions)
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
    rows += _cost_share_rows(case, cv, region, year, central)
    table = pd.DataFrame(rows, columns=SENSITIVITY_COLUMNS).sort_values("swing", ascending=False, kind="stable")
    return SensitivityResults(table.reset_index(drop=True), region, year, cv, ds.unit, res.title)
