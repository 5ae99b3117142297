"""Looking at a dataset (docs/model.md, "Datasets"): labelled frames, a short repr, an HTML repr, ``dataset show``.

:class:`DatasetFrames` turns a :class:`sim.dataset.Dataset`'s arrays into pandas frames indexed by
codes (``ds.frames.flows``); :func:`describe` is the text that ``python run_sim.py dataset show``
prints. pandas is imported inside the functions that build frames, so ``import sim`` stays light.
"""

from __future__ import annotations

import numpy as np

from .escape import html_text

__all__ = ["DatasetFrames", "OPTIONAL_FILES", "optional_files", "short_repr", "html_repr", "describe"]

#: The optional files of a dataset folder, by the word a repr uses for each.
OPTIONAL_FILES = {"tariffs": "tariffs.csv", "supply_elasticities": "supply_elasticities.csv", "quotas": "quotas.csv",
                  "adjustment": "adjustment.csv", "ownership": "ownership.csv", "inputs": "inputs.csv"}
#: At most this many codes are listed in a repr; the rest are counted.
LISTED_CODES = 12
#: At most this many sources are listed in the HTML repr (``dataset show`` lists them all).
LISTED_SOURCES = 20


class DatasetFrames:
    """A dataset's arrays as pandas DataFrames indexed by codes (built on each access; the arrays are the truth).

    ``flows`` and ``tariffs`` are indexed ``(sector, exporter, importer)`` with one column (``value``,
    ``rate``) as in ``flows.csv`` and ``tariffs.csv``, every cell included; ``totals`` is indexed
    ``(sector, region)``. ``quotas``, ``ownership`` and ``cost_shares`` are None without their file.
    """

    def __init__(self, dataset):
        self._ds = dataset

    def _cells(self, array: np.ndarray, column: str, names=("sector", "exporter", "importer")):
        import pandas as pd

        ds = self._ds
        labels = {"sector": ds.sectors, "exporter": ds.regions, "importer": ds.regions, "region": ds.regions,
                  "location": ds.regions, "owner": ds.regions, "input_sector": ds.sectors,
                  "using_sector": ds.sectors}
        index = pd.MultiIndex.from_product([labels[n] for n in names], names=list(names))
        return pd.DataFrame({column: np.asarray(array, dtype=float).reshape(-1)}, index=index)

    @property
    def flows(self):
        """Base flows at world prices, in the dataset's unit: column ``value``, every (sector, exporter, importer)."""
        return self._cells(self._ds.flows, "value")

    @property
    def tariffs(self):
        """Base applied ad valorem rates (0.25 = 25%): column ``rate``, every (sector, exporter, importer)."""
        return self._cells(self._ds.tariffs, "rate")

    @property
    def sectors(self):
        """One row per sector: ``name``, the default elasticities ``sigma`` and ``eta``."""
        import pandas as pd

        ds = self._ds
        return pd.DataFrame({"name": [ds.sector_names.get(s, s) for s in ds.sectors],
                             "sigma": ds.sigma, "eta": ds.eta}, index=pd.Index(ds.sectors, name="sector"))

    @property
    def regions(self):
        """One row per region: ``name``."""
        import pandas as pd

        ds = self._ds
        return pd.DataFrame({"name": [ds.region_names.get(r, r) for r in ds.regions]},
                            index=pd.Index(ds.regions, name="region"))

    @property
    def supply_elasticities(self):
        """Supply elasticity ``eps`` per (sector, region): the sector's default unless supply_elasticities.csv
        sets it."""
        return self._cells(self._ds.eps, "eps", names=("sector", "region"))

    @property
    def totals(self):
        """Per (sector, region), in the dataset's unit at world prices: ``output`` (Σ over importers, the
        domestic shipments included), ``exports`` and ``imports`` (other regions only)."""
        import pandas as pd

        output, exports, imports = trade_totals(self._ds.flows)
        index = pd.MultiIndex.from_product([self._ds.sectors, self._ds.regions], names=["sector", "region"])
        return pd.DataFrame({"output": output.reshape(-1), "exports": exports.reshape(-1),
                             "imports": imports.reshape(-1)}, index=index)

    @property
    def quotas(self):
        """The base-year quotas (quotas.csv): ``volume``, ``in_rate``, ``out_rate``, ``rent``; None without the file."""
        q = self._ds.quotas
        if q is None:
            return None
        frame = self._cells(q.volume, "volume")
        frame["in_rate"] = q.in_rate.reshape(-1)
        frame["out_rate"] = q.out_rate.reshape(-1)
        frame["rent"] = np.where(q.to_exporter.reshape(-1), "exporter", "importer")
        return frame[q.present.reshape(-1)]

    @property
    def ownership(self):
        """Foreign owners' shares (ownership.csv), column ``share`` per listed (sector, location, owner); or None."""
        if self._ds.ownership is None:
            return None
        frame = self._cells(self._ds.ownership, "share", names=("sector", "location", "owner"))
        return frame[frame["share"] > 0]

    @property
    def cost_shares(self):
        """Input-output cost shares (inputs.csv), column ``cost_share`` per non-zero (input_sector, using_sector,
        region); or None without the file."""
        if self._ds.cost_shares is None:
            return None
        frame = self._cells(self._ds.cost_shares, "cost_share", names=("input_sector", "using_sector", "region"))
        return frame[frame["cost_share"] > 0]


def trade_totals(flows: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``output``, ``exports`` and ``imports``, each (K, N), of base flows ``V[k, i, j]`` (K, N, N)."""
    domestic = np.diagonal(flows, axis1=-2, axis2=-1)
    output = flows.sum(axis=-1)
    return output, output - domestic, flows.sum(axis=-2) - domestic


def optional_files(dataset) -> list[str]:
    """The words of :data:`OPTIONAL_FILES` whose file the dataset was loaded with (or whose data it holds)."""
    held = {"tariffs": bool(np.any(dataset.tariffs)), "quotas": dataset.quotas is not None,
            "adjustment": bool(dataset.adjustment), "ownership": dataset.ownership is not None,
            "inputs": dataset.cost_shares is not None, "supply_elasticities": False}
    return [word for word, file in OPTIONAL_FILES.items() if file in dataset.file_hashes or held[word]]


def _codes(codes) -> str:
    shown = ", ".join(codes[:LISTED_CODES])
    return shown + (f", ... ({len(codes) - LISTED_CODES} more)" if len(codes) > LISTED_CODES else "")


def short_repr(dataset) -> str:
    """A few lines: name, title, base year, unit, regions, sectors and the optional files present."""
    present = optional_files(dataset)
    title = " ".join(str(dataset.title).split())
    title = title if len(title) <= 100 else title[:99] + "…"
    return (f"<Dataset {dataset.name!r}: {title}\n"
            f"  base year {dataset.base_year}, values in {dataset.unit}\n"
            f"  {len(dataset.regions)} regions: {_codes(dataset.regions)}\n"
            f"  {len(dataset.sectors)} sectors: {_codes(dataset.sectors)}\n"
            f"  optional files: {', '.join(present) if present else 'none'}>")


def _eps_text(eps_row: np.ndarray) -> str:
    """A sector's supply elasticities across regions: one value, or the range."""
    low, high = float(np.min(eps_row)), float(np.max(eps_row))
    return f"{low:g}" if low == high else f"{low:g} to {high:g}"


def _html_rows(rows) -> str:
    return "".join("<tr>" + "".join(f"<td>{html_text(cell)}</td>" for cell in row) + "</tr>" for row in rows)


def html_repr(dataset) -> str:
    """The repr for Jupyter: every text escaped (names and titles come from the dataset's files)."""
    present = optional_files(dataset)
    regions = _html_rows((r, dataset.region_names.get(r, r)) for r in dataset.regions)
    sectors = _html_rows((s, dataset.sector_names.get(s, s), f"{dataset.sigma[k]:g}", f"{dataset.eta[k]:g}",
                          _eps_text(dataset.eps[k])) for k, s in enumerate(dataset.sectors))
    sources = _html_rows((s.get("id", ""), s.get("title", "")) for s in dataset.sources[:LISTED_SOURCES])
    more = len(dataset.sources) - LISTED_SOURCES
    sources += f"<tr><td colspan=2>... {more} more in ds.sources</td></tr>" if more > 0 else ""
    return (f"<b>{html_text(dataset.title)}</b> <code>{html_text(dataset.name)}</code><br>"
            f"base year {html_text(dataset.base_year)}, values in {html_text(dataset.unit)}; optional files: "
            f"{html_text(', '.join(present) if present else 'none')}"
            f"<table><tr><th>region</th><th>name</th></tr>{regions}</table>"
            f"<table><tr><th>sector</th><th>name</th><th>sigma</th><th>eta</th><th>eps</th></tr>{sectors}</table>"
            + (f"<table><tr><th>source</th><th>title</th></tr>{sources}</table>" if dataset.sources else ""))


def _number(value: float) -> str:
    return f"{value:,.1f}"


def _totals_lines(dataset) -> list[str]:
    output, exports, imports = trade_totals(dataset.flows)
    width = max(len(s) for s in (*dataset.sectors, "all sectors"))
    lines = [f"Totals ({dataset.unit}, base year, at world prices; output includes domestic shipments)",
             f"  {'region':<8} {'sector':<{width}} {'output':>14} {'exports':>14} {'imports':>14}"]
    for i, region in enumerate(dataset.regions):
        for k, sector in enumerate(dataset.sectors):
            lines.append(f"  {region:<8} {sector:<{width}} {_number(output[k, i]):>14} {_number(exports[k, i]):>14} "
                         f"{_number(imports[k, i]):>14}")
        lines.append(f"  {region:<8} {'all sectors':<{width}} {_number(output[:, i].sum()):>14} "
                     f"{_number(exports[:, i].sum()):>14} {_number(imports[:, i].sum()):>14}")
    for k, sector in enumerate(dataset.sectors):
        lines.append(f"  {'World':<8} {sector:<{width}} {_number(output[k].sum()):>14} "
                     f"{_number(exports[k].sum()):>14} {_number(imports[k].sum()):>14}")
    lines.append(f"  {'World':<8} {'all sectors':<{width}} {_number(output.sum()):>14} {_number(exports.sum()):>14} "
                 f"{_number(imports.sum()):>14}")
    return lines


def describe(dataset) -> str:
    """What ``dataset show`` prints: regions, sectors with elasticities, totals, the optional files and sources."""
    present = optional_files(dataset)
    absent = [word for word in OPTIONAL_FILES if word not in present]
    lines = [f"{dataset.name}: {dataset.title}", f"base year {dataset.base_year}; values in {dataset.unit}; "
             f"folder {dataset.path}", "", f"Regions ({len(dataset.regions)})"]
    lines += [f"  {r:<8} {dataset.region_names.get(r, r)}" for r in dataset.regions]
    width = max(len(s) for s in dataset.sectors)
    lines += ["", f"Sectors ({len(dataset.sectors)})",
              f"  {'sector':<{width}} {'sigma':>7} {'eta':>7}  {'eps (supply)':<14} name"]
    lines += [f"  {s:<{width}} {dataset.sigma[k]:>7g} {dataset.eta[k]:>7g}  {_eps_text(dataset.eps[k]):<14} "
              f"{dataset.sector_names.get(s, s)}" for k, s in enumerate(dataset.sectors)]
    lines += ["", *_totals_lines(dataset), "",
              "Optional files: " + (", ".join(OPTIONAL_FILES[w] for w in present) or "none")
              + (f" (absent: {', '.join(OPTIONAL_FILES[w] for w in absent)})" if absent else ""),
              "", f"Sources ({len(dataset.sources)})"]
    lines += [f"  {s.get('id', '')}: {s.get('title', '')}" for s in dataset.sources]
    return "\n".join(lines)
