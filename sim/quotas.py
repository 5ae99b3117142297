"""Tariff-rate quotas as input arrays (docs/model.md, "Tariff-rate quotas").

The dataset's and a scenario's quotas, cell by cell; :mod:`sim.engine.quotas` solves them and
:mod:`sim.engine.accounting` splits their revenue from their rent.
"""

from __future__ import annotations

import dataclasses

import numpy as np

__all__ = ["QuotaArrays"]


@dataclasses.dataclass(frozen=True)
class QuotaArrays:
    """Tariff-rate quotas cell by cell, over any leading shape ``(..., K, N, N)``.

    Attributes
    ----------
    volume : ndarray
        Quota volume at base prices (dataset units); ``inf`` where there is no quota.
    in_rate, out_rate : ndarray
        In-quota and out-of-quota rates (``out_rate`` may be ``inf``: an absolute quota); 0 where none.
    to_exporter : ndarray of bool
        The exporter holds the rent (else the importer).
    """

    volume: np.ndarray
    in_rate: np.ndarray
    out_rate: np.ndarray
    to_exporter: np.ndarray

    @classmethod
    def empty(cls, shape) -> QuotaArrays:
        return cls(np.full(shape, np.inf), np.zeros(shape), np.zeros(shape), np.zeros(shape, dtype=bool))

    @property
    def present(self) -> np.ndarray:
        """Cells with a quota."""
        return np.isfinite(self.volume)

    def period(self, y: int) -> QuotaArrays:
        """The quotas of period ``y`` of arrays with a leading period axis."""
        return QuotaArrays(self.volume[y], self.in_rate[y], self.out_rate[y], self.to_exporter[y])

    def take_sectors(self, idx) -> QuotaArrays:
        """The quotas of the sectors ``idx`` (the sector axis is the third from last)."""
        return QuotaArrays(*(np.take(a, idx, axis=-3) for a in (self.volume, self.in_rate, self.out_rate,
                                                                   self.to_exporter)))

    def solver_arguments(self) -> dict:
        """The ``quota_*`` keyword arguments of :func:`sim.solve_equilibrium`."""
        return {"quota_volume": self.volume, "quota_in": self.in_rate, "quota_out": self.out_rate}

    def rent_by_region(self, rent) -> np.ndarray:
        """Rents ``rent`` (..., K, N, N) summed to the region holding each: (..., K, N)."""
        return (np.where(self.to_exporter, rent, 0.0).sum(axis=-1)
                + np.where(self.to_exporter, 0.0, rent).sum(axis=-2))
