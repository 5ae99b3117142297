"""Exporters' pass-through: the buyer's tariff factor, the route price and the exporter's absorbed margin.

docs/model.md, "Exporters' pass-through". With a share ``s`` of a route's tariff change reaching
the buyer, the buyer pays ``p̂[i] · T̂[i,j]^s`` and the exporter receives the route price
``p̂[i] · T̂[i,j]^(s − 1)``. The equilibrium is the model's with the buyer's tariff factor
``T0 · T̂^s`` in place of ``T1`` (only buyers' prices enter demand and clearing); the accounting
then states the flows at route prices, the tariff revenue on them and the exporter's margin.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

__all__ = ["Routes"]


@dataclass(frozen=True)
class Routes:
    """The routes of a solve with their pass-through shares.

    Attributes
    ----------
    base_tariffs : ndarray, shape (K, N, N)
        ``t0``.
    new_tariffs : ndarray, shape (..., K, N, N)
        ``t1``, the rates applied at the border.
    share : ndarray, shape (..., K, N, N)
        Pass-through shares in [0, 1], broadcast against ``new_tariffs``.
    """

    base_tariffs: np.ndarray
    new_tariffs: np.ndarray
    share: np.ndarray

    def buyer_factor(self) -> np.ndarray:
        """``T0 · (T1 / T0)^s``: the factor on the world price that buyers face, relative to the base year's."""
        base = 1.0 + self.base_tariffs
        return base * ((1.0 + self.new_tariffs) / base) ** self.share

    def buyer_tariffs(self) -> np.ndarray:
        """The rates the equilibrium is solved at: the buyer's factor less 1 (``t1`` where the share is 1)."""
        return np.where(self.share == 1.0, self.new_tariffs, self.buyer_factor() - 1.0)

    def apply(self, solution):
        """``solution`` (solved at :meth:`buyer_tariffs`) stated at route prices.

        ``flows`` become ``V p̂ q̂ · T̂^(s−1)``, what exporters receive; ``tariff_revenue`` is
        ``t1`` on those flows (less the base year's, as before); ``exporter_margin`` (..., K, N),
        by exporter, is ``Σ_j V p̂ q̂ (T̂^(s−1) − 1)``, the revenue exporters give up on their
        routes. Where every share is 1 nothing changes and the margin is 0.
        """
        factor = 1.0 + self.new_tariffs
        buyer = np.where(self.share == 1.0, factor, self.buyer_factor())
        route = buyer / factor  # T̂^(s−1)
        at_producer_price = solution.flows  # V p̂ q̂
        at_route_price = at_producer_price * route
        with np.errstate(invalid="ignore"):  # a market beyond floating point is reported by ``finite``
            correction = ((factor - 1.0) * at_route_price - (buyer - 1.0) * at_producer_price).sum(axis=-2)
            margin = (at_producer_price * (route - 1.0)).sum(axis=-1)
        tariffs = solution.tariffs  # with quotas elsewhere: the rates the kernel applied, the buyer's on these routes
        if tariffs is not None:
            tariffs = np.where(self.share < 1.0, self.new_tariffs, tariffs)
        return dataclasses.replace(solution, flows=at_route_price, tariffs=tariffs,
                                   tariff_revenue=solution.tariff_revenue + correction, exporter_margin=margin)
