"""The arguments of a solve, checked once and broadcast without copying (docs/model.md, "Solver").

:func:`as_batch` validates the kernel's arguments (shapes, signs, the quota arrays) and
returns a :class:`Batch`: views broadcast to the batch's leading shape, from which the
solver builds the markets of any range (a chunk, a task for a cluster) as contiguous arrays.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from . import equations

__all__ = ["Batch", "QuotaFlows", "as_batch", "most_per_market"]


class Batch:
    """The validated arguments, broadcast (as views) to ``lead + tail``; builds the markets of any chunk."""

    QUOTA_ARRAYS = ("quota_volume", "quota_in", "quota_out")

    def __init__(self, lead, n, quotas_per_market: int = 0, **arrays):
        self.lead, self.n = lead, n
        self.quotas_per_market = quotas_per_market  # the most quota flows of one market (0 without quotas)
        self.size = int(np.prod(lead))
        tails = {"flows": (n, n), "base_tariffs": (n, n), "new_tariffs": (n, n), "sigma": (), "eta": (),
                 "eps": (n,), "supply_shift": (n,), "demand_shift": (n,), "quota_volume": (n, n),
                 "quota_in": (n, n), "quota_out": (n, n)}
        self.views = {name: np.broadcast_to(arr, lead + tails[name]) for name, arr in arrays.items()
                      if arr is not None}
        # arrays given whole (not broadcast) and contiguous: a range of markets is a slice of them, not a copy
        self.flat = {name: arr.reshape((self.size,) + tails[name]) for name, arr in arrays.items()
                     if arr is not None and arr.shape == lead + tails[name] and arr.flags.c_contiguous}
        self.has_quotas = "quota_volume" in self.views

    def arguments(self, start: int, stop: int) -> dict:
        """The arguments of :func:`solve_equilibrium` for markets ``start:stop``, one leading dimension.

        Contiguous arrays, read only: a slice of the caller's array where it was given whole, else a copy.
        """
        return self._range(start, stop, self.views)

    def _range(self, start: int, stop: int, names) -> dict:
        index = None
        out = {}
        for name in names:
            if name in self.flat:
                part = self.flat[name][start:stop]
                part.flags.writeable = False  # the caller's data
                out[name] = part
                continue
            if index is None:
                index = np.unravel_index(np.arange(start, stop), self.lead)
            out[name] = np.ascontiguousarray(self.views[name][index])
        return out

    def markets(self, start: int, stop: int) -> equations.Markets:
        """The markets ``start:stop`` of the flattened leading dimensions, copied into contiguous arrays.

        With quotas, each quota flow is at its start rate (:meth:`quota_markets`).
        """
        return self.quota_markets(start, stop)[0] if self.has_quotas else self._markets(self.arguments(start, stop))

    def quota_markets(self, start: int, stop: int) -> tuple[equations.Markets, QuotaFlows]:
        """The markets ``start:stop`` with each quota flow at its start rate, and the flows with a quota."""
        v = self.arguments(start, stop)
        quota_flows = QuotaFlows.find(v["quota_volume"], v["quota_in"], v["quota_out"], v["new_tariffs"])
        return self._markets(v, quota_flows.start_factors()), quota_flows

    @staticmethod
    def _markets(v: dict, new_tariff_factor=None) -> equations.Markets:
        new_tariff_factor = 1.0 + v["new_tariffs"] if new_tariff_factor is None else new_tariff_factor
        return equations.Markets.build(
            flows=v["flows"], base_tariff_factor=1.0 + v["base_tariffs"], new_tariff_factor=new_tariff_factor,
            sigma=v["sigma"], eta=v["eta"], eps=v["eps"], supply_shift=v["supply_shift"],
            demand_shift=v["demand_shift"],
        )


def as_batch(flows, base_tariffs, new_tariffs, sigma, eta, eps, supply_shift, demand_shift,
              quota_volume=None, quota_in=None, quota_out=None) -> Batch:
    """Validate the arguments and broadcast their leading dimensions (without copying)."""
    flows = np.asarray(flows, dtype=float)
    if flows.ndim < 3 or flows.shape[-1] != flows.shape[-2]:
        raise ValueError(f"flows must have shape (..., K, N, N); got {flows.shape}")
    n = flows.shape[-1]
    base_tariffs = np.asarray(base_tariffs, dtype=float)
    new_tariffs = np.asarray(new_tariffs, dtype=float)
    sigma = np.asarray(sigma, dtype=float)
    eta = np.asarray(eta, dtype=float)
    eps = np.asarray(eps, dtype=float)
    supply_shift = np.zeros(n) if supply_shift is None else np.asarray(supply_shift, dtype=float)
    demand_shift = np.zeros(n) if demand_shift is None else np.asarray(demand_shift, dtype=float)

    for name, arr in (("base_tariffs", base_tariffs), ("new_tariffs", new_tariffs)):
        if arr.ndim < 2 or arr.shape[-2:] != (n, n):
            raise ValueError(f"{name} must have shape (..., K, {n}, {n}); got {arr.shape}")
    for name, arr in (("eps", eps), ("supply_shift", supply_shift), ("demand_shift", demand_shift)):
        if arr.ndim < 1 or arr.shape[-1] != n:
            raise ValueError(f"{name} must have shape (..., K, {n}); got {arr.shape}")

    _check_range(flows, 0.0, np.inf, "flows must be finite and >= 0", closed=True)
    for name, arr in (("base_tariffs", base_tariffs), ("new_tariffs", new_tariffs)):
        _check_range(arr, -1.0, np.inf, f"{name} must be finite and > -1")
    _check_range(sigma, 0.0, np.inf, "sigma must be finite and > 0")
    _check_range(eta, -np.inf, 0.0, "eta must be finite and < 0")
    _check(eps >= 0, "eps must be >= 0 (inf allowed)")  # NaN fails this too
    for name, arr in (("supply_shift", supply_shift), ("demand_shift", demand_shift)):
        _check_range(arr, -1.0, np.inf, f"{name} must be finite and > -1")

    quota, quotas_per_market = _check_quotas(n, quota_volume, quota_in, quota_out)
    try:
        lead = np.broadcast_shapes(
            flows.shape[:-2], base_tariffs.shape[:-2], new_tariffs.shape[:-2],
            sigma.shape, eta.shape, eps.shape[:-1], supply_shift.shape[:-1], demand_shift.shape[:-1],
            *(a.shape[:-2] for a in quota.values()),
        )
    except ValueError as exc:
        raise ValueError(f"leading dimensions do not broadcast: {exc}") from None
    if len(lead) == 0:
        raise ValueError("arguments need at least a sector dimension K")
    return Batch(lead, n, quotas_per_market, flows=flows, base_tariffs=base_tariffs, new_tariffs=new_tariffs,
                  sigma=sigma, eta=eta, eps=eps, supply_shift=supply_shift, demand_shift=demand_shift, **quota)


def _check_quotas(n, volume, in_rate, out_rate) -> tuple[dict, int]:
    """Validate the quota arrays: all three or none; volume > 0 or inf (none); 0 <= in <= out (inf allowed).

    Returns the arrays and the most quotas one market has (each is one more unknown of its system).
    """
    given = [a is not None for a in (volume, in_rate, out_rate)]
    if not any(given):
        return {}, 0
    if not all(given):
        raise ValueError("quota_volume, quota_in and quota_out go together: give all three or none")
    arrays = {"quota_volume": np.asarray(volume, dtype=float), "quota_in": np.asarray(in_rate, dtype=float),
              "quota_out": np.asarray(out_rate, dtype=float)}
    for name, arr in arrays.items():
        if arr.ndim < 2 or arr.shape[-2:] != (n, n):
            raise ValueError(f"{name} must have shape (..., K, {n}, {n}); got {arr.shape}")
    volume, low, high = np.broadcast_arrays(*arrays.values())
    has = np.isfinite(volume)  # the quota cells: a few of the batch's, checked alone
    most = most_per_market(has)
    volume, low, high = volume[has], low[has], high[has]
    _check(volume > 0, "quota_volume must be > 0 where there is a quota (inf where there is none)")
    _check(np.isfinite(low) & (low >= 0) & (high >= low),
           "quota_in must be finite and >= 0, and quota_out >= quota_in, where there is a quota")
    return arrays, most


@dataclasses.dataclass(frozen=True)
class QuotaFlows:
    """The flows of a chunk of ``M`` markets that have a quota (a finite volume), found once per chunk.

    Attributes
    ----------
    cells : tuple of three ndarrays of int, shape (C,) each
        ``(market, exporter, importer)`` of each quota flow, in C order.
    volume, in_rate, out_rate : ndarray, shape (C,)
        The quota's volume (base-price units) and rates at each quota flow.
    rates : ndarray, shape (M, N, N)
        The chunk's new tariffs ``t1`` on every flow (those of the quota flows are not applied).
    """

    cells: tuple
    volume: np.ndarray
    in_rate: np.ndarray
    out_rate: np.ndarray
    rates: np.ndarray

    @classmethod
    def find(cls, volume, in_rate, out_rate, rates) -> QuotaFlows:
        """The quota flows of cell arrays (M, N, N) each: ``volume`` is ``inf`` where there is none."""
        cells = np.unravel_index(np.flatnonzero(np.isfinite(volume)), volume.shape)  # flat: a third of nonzero's time
        return cls(cells, volume[cells], in_rate[cells], out_rate[cells], rates)

    def start_rates(self) -> np.ndarray:
        """The rates (C,) the quota flows are first solved at: their new tariffs clipped to ``[in_rate, out_rate]``."""
        return np.clip(self.rates[self.cells], self.in_rate, self.out_rate)

    def start_factors(self) -> np.ndarray:
        """The new tariff factors ``1 + t1`` (M, N, N, a new array) with each quota flow at its start rate."""
        factor = 1.0 + self.rates
        factor[self.cells] = 1.0 + self.start_rates()
        return factor


def most_per_market(present) -> int:
    """The most quotas one market has, from ``present`` (..., N, N; True where a flow has a quota)."""
    n = present.shape[-1]
    return int(present.reshape(-1, n * n).sum(axis=1).max(initial=0))


def _check(ok, message):
    if not np.all(ok):
        raise ValueError(message)


def _check_range(arr, low, high, message, closed=False):
    """Every value of ``arr`` finite and strictly between ``low`` and ``high`` (``>= low`` if ``closed``).

    Checked on the smallest and largest value (a NaN makes both NaN, which fails), so that the large
    arrays of a batch are read twice and no temporary of their size is made.
    """
    if arr.size == 0:
        return
    smallest, largest = arr.min(), arr.max()
    above = smallest >= low if closed else smallest > low
    if not (above and largest < high and np.isfinite(smallest) and np.isfinite(largest)):
        raise ValueError(message)
