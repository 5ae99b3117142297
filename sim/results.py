"""Solver arrays + labels → tidy DataFrames (DESIGN.md §4), and writing them atomically."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import numpy as np
import pandas as pd

from . import __version__
from .dataset import Dataset
from .scenario import Scenario
from .shocks import Shocks
from .solver import Solution

__all__ = ["Results", "write_outputs", "FLOW_COLUMNS", "PRICE_COLUMNS", "WELFARE_COLUMNS"]

FLOW_COLUMNS = ["scenario", "year", "sector", "exporter", "importer", "base_value", "value",
                "value_change", "value_pct", "volume_pct"]
PRICE_COLUMNS = ["scenario", "year", "sector", "region", "producer_price_pct", "consumer_price_pct", "output_pct"]
WELFARE_COLUMNS = ["scenario", "year", "sector", "region", "consumer_surplus", "producer_surplus",
                   "tariff_revenue", "quota_rent", "net_welfare"]
WELFARE_PARTS = ["consumer_surplus", "producer_surplus", "tariff_revenue", "quota_rent"]


@dataclass
class Results:
    """The outcome of one scenario run.

    ``flows``, ``prices`` and ``welfare`` are tidy DataFrames with the columns
    of DESIGN §4; values are in ``unit`` (the dataset's unit), ``*_pct`` in
    percent, welfare columns are changes from base. ``flows`` lists every
    flow with a positive base value, the diagonal (domestic shipments) included.
    """

    scenario: Scenario
    dataset: Dataset
    shocks: Shocks
    solution: Solution
    wall_time: float

    @property
    def name(self) -> str:
        return self.scenario.name

    @property
    def unit(self) -> str:
        return self.dataset.unit

    @property
    def years(self) -> tuple[int, ...]:
        return self.shocks.years

    @cached_property
    def flows(self) -> pd.DataFrame:
        ds, sol = self.dataset, self.solution
        y, k, i, j = np.nonzero(np.broadcast_to(ds.flows > 0, sol.flows.shape))
        base = ds.flows[k, i, j]
        value = sol.flows[y, k, i, j]
        return pd.DataFrame({
            "scenario": self.name,
            "year": np.array(self.years)[y],
            "sector": np.array(ds.sectors)[k],
            "exporter": np.array(ds.regions)[i],
            "importer": np.array(ds.regions)[j],
            "base_value": base,
            "value": value,
            "value_change": value - base,
            "value_pct": (value / base - 1.0) * 100.0,
            "volume_pct": (sol.quantity[y, k, i, j] - 1.0) * 100.0,
        }, columns=FLOW_COLUMNS)

    def _by_region(self, columns: dict) -> pd.DataFrame:
        ds = self.dataset
        shape = self.solution.producer_price.shape  # (Y, K, N)
        y, k, r = (a.ravel() for a in np.indices(shape))
        frame = {"scenario": self.name, "year": np.array(self.years)[y],
                 "sector": np.array(ds.sectors)[k], "region": np.array(ds.regions)[r]}
        frame.update({name: np.asarray(arr).ravel() for name, arr in columns.items()})
        return pd.DataFrame(frame)

    @cached_property
    def prices(self) -> pd.DataFrame:
        sol = self.solution
        return self._by_region({
            "producer_price_pct": (sol.producer_price - 1.0) * 100.0,
            "consumer_price_pct": (sol.consumer_price - 1.0) * 100.0,
            "output_pct": (sol.output - 1.0) * 100.0,
        })[PRICE_COLUMNS]

    @cached_property
    def welfare(self) -> pd.DataFrame:
        sol = self.solution
        quota_rent = np.zeros_like(sol.consumer_surplus)
        net = sol.consumer_surplus + sol.producer_surplus + sol.tariff_revenue + quota_rent
        return self._by_region({
            "consumer_surplus": sol.consumer_surplus,
            "producer_surplus": sol.producer_surplus,
            "tariff_revenue": sol.tariff_revenue,
            "quota_rent": quota_rent,
            "net_welfare": net,
        })[WELFARE_COLUMNS]

    @cached_property
    def diagnostics(self) -> pd.DataFrame:
        """Solver diagnostics per year and sector: iterations, max_residual, converged."""
        sol = self.solution
        shape = sol.iterations.shape
        y, k = (a.ravel() for a in np.indices(shape))
        return pd.DataFrame({
            "year": np.array(self.years)[y], "sector": np.array(self.dataset.sectors)[k],
            "iterations": sol.iterations.ravel(), "max_residual": sol.max_residual.ravel(),
            "converged": sol.converged.ravel(),
        })

    def welfare_by_region(self, year: int | None = None) -> pd.DataFrame:
        """Welfare changes summed over sectors, one row per region (index ``region``), for ``year``
        (default: the last year)."""
        year = self.years[-1] if year is None else year
        table = self.welfare[self.welfare["year"] == year]
        return table.groupby("region", sort=False)[WELFARE_PARTS + ["net_welfare"]].sum()

    @property
    def shocked_importers(self) -> list[str]:
        """Regions whose tariffs on some partner change in some year."""
        changed = (self.shocks.new_tariffs != self.dataset.tariffs[None]).any(axis=(0, 1, 2))
        return [r for r, c in zip(self.dataset.regions, changed) if c]

    @property
    def changed_sectors(self) -> list[str]:
        """Sectors in which some price or flow moves in some year."""
        sol = self.solution
        moved = (np.abs(sol.producer_price - 1) + np.abs(sol.consumer_price - 1)).max(axis=(0, 2)) > 1e-12
        moved |= (np.abs(sol.quantity - 1) * (self.dataset.flows > 0)).max(axis=(0, 2, 3)) > 1e-12
        return [s for s, m in zip(self.dataset.sectors, moved) if m]

    @property
    def plot(self):
        """Plot methods (:class:`sim.plots.ResultsPlotter`): ``welfare``, ``imports``, ``prices``, ``welfare_path``."""
        from .plots import ResultsPlotter

        return ResultsPlotter(self)

    def run_record(self) -> dict:
        """The per-scenario part of ``run.json``."""
        diag = self.diagnostics
        per_year = [
            {"year": int(year), "iterations": int(g["iterations"].max()),
             "max_residual": float(g["max_residual"].max()), "converged": bool(g["converged"].all())}
            for year, g in diag.groupby("year", sort=True)
        ]
        record = {
            "name": self.name, "title": self.scenario.title, "method": self.scenario.method,
            "dataset": {"name": self.dataset.name, "title": self.dataset.title, "path": str(self.dataset.path),
                        "base_year": self.dataset.base_year, "unit": self.unit},
            "years": list(self.years), "static": self.shocks.static, "solver": per_year,
            "wall_time_seconds": self.wall_time,
        }
        if self.scenario.path is not None:
            record["file"] = str(self.scenario.path)
            record["sha256"] = hashlib.sha256(self.scenario.path.read_bytes()).hexdigest()
        return record


#: Every file or folder a run may write into its output folder; a new run replaces them all.
OUTPUT_NAMES = ("flows.csv", "prices.csv", "welfare.csv", "run.json", "uncertainty.csv", "plots")


def write_outputs(results: list[Results], out_dir: str | Path, plots: bool = True, wall_time: float = 0.0) -> Path:
    """Write flows.csv, prices.csv, welfare.csv, run.json and plots/ for one run into ``out_dir``.

    Everything is first written into a fresh temporary folder beside
    ``out_dir``; only when all files are complete are they moved into place
    (each by an atomic rename), and the outputs of any earlier run that this
    run does not produce are removed, so runs never mix. A failure leaves
    ``out_dir`` as it was (or absent).

    Raises
    ------
    OSError
        The folder cannot be created or written.
    """
    out_dir = Path(out_dir)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.tradesim-", dir=out_dir.parent))
    try:
        _write_tables(results, staging)
        record = {"tool": "tradesim", "version": __version__, "wall_time_seconds": wall_time,
                  "scenarios": [r.run_record() for r in results]}
        (staging / "run.json").write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
        if plots:
            from .plots import write_plots

            (staging / "plots").mkdir()
            for res in results:
                write_plots(res, staging / "plots", prefix=f"{res.name}_" if len(results) > 1 else "")
        out_dir.mkdir(exist_ok=True)
        _move_into_place(staging, out_dir)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return out_dir


def _write_tables(results, folder: Path) -> None:
    for name in ("flows", "prices", "welfare"):
        table = pd.concat([getattr(r, name) for r in results], ignore_index=True)
        table.to_csv(folder / f"{name}.csv", index=False, float_format="%.10g")


def _move_into_place(staging: Path, out_dir: Path) -> None:
    """Rename staged files over the old ones; earlier outputs this run lacks are removed."""
    for name in OUTPUT_NAMES:
        old = out_dir / name
        if old.is_dir() and not old.is_symlink():
            os.replace(old, staging / f".old-{name}")  # a folder cannot be renamed over; retire it whole
        elif old.exists() and not (staging / name).exists():
            old.unlink()
    for item in staging.iterdir():
        if not item.name.startswith(".old-"):
            os.replace(item, out_dir / item.name)
