"""How far the linearised GSIM drifts from the exact model as a tariff grows.

``python validation/linearisation.py`` prints the table of docs/model.md, "Linearised
GSIM"; ``--write-docs`` also redraws ``docs/figures/linearisation.png`` and replaces the
table between its markers in docs/model.md. ``tests/test_docs.py`` checks the table
against a fresh run.

The experiment: the US raises its steel tariff on every partner by the same number of
points (``add``), on ``us_japan_2024`` with its elasticities, solved with
``method = "exact"`` and ``method = "gsim-linear"``.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import sim

ROOT = Path(__file__).resolve().parents[1]
ADDS = (0.01, 0.05, 0.10, 0.25, 0.50, 1.00)
START, END = "<!-- linearisation table: python validation/linearisation.py --write-docs -->", "<!-- end -->"


def measures(res) -> tuple[float, float, float]:
    """US steel import volume %, US consumer price of steel % and US net welfare in steel (dataset units)."""
    flows = res.frames.flows.xs(("long run", "steel", "USA"), level=("year", "sector", "importer")).drop("USA")
    volume = 100 * ((flows["base_value"] * (1 + flows["volume_pct"] / 100)).sum() / flows["base_value"].sum() - 1)
    price = float(res.frames.prices.loc[("long run", "steel", "USA"), "consumer_price_pct"])
    welfare = float(res.frames.welfare.loc[("long run", "steel", "USA"), "net_welfare"])
    return volume, price, welfare


def rows() -> list[tuple]:
    """(add, exact measures, linear measures) for each tariff increase in :data:`ADDS`."""
    out = []
    for add in ADDS:
        scenario = sim.Scenario(name=f"add_{add:g}", dataset="us_japan_2024",
                                tariffs=(sim.Tariff(sector="steel", importer="USA", exporter="*", add=add),))
        exact = measures(sim.run(scenario))
        linear = measures(sim.run(dataclasses.replace(scenario, method="gsim-linear")))
        out.append((add, exact, linear))
    return out


def table(results=None) -> str:
    results = rows() if results is None else results
    lines = ["| tariff rise (points) | import volume %, exact | linear | consumer price %, exact | linear | "
             "US net welfare, exact | linear | linear / exact |",
             "|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for add, (v0, p0, w0), (v1, p1, w1) in results:
        lines.append(f"| {100 * add:g} | {v0:+.1f} | {v1:+.1f} | {p0:+.2f} | {p1:+.2f} | {w0:,.0f} | {w1:,.0f} | "
                     f"{w1 / w0:.2f} |")
    return "\n".join(lines)


def plot(results, path: Path) -> None:
    import matplotlib
    import matplotlib.ticker

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from sim.plots import save_png

    adds = [100 * a for a, _, _ in results]
    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    for ax, index, label in ((axes[0], 0, "US steel import volume (% change)"),
                             (axes[1], 2, "US net welfare in steel (USD million)")):
        ax.plot(adds, [e[index] for _, e, _ in results], "o-", color="#4C72B0", label="exact")
        ax.plot(adds, [lin[index] for _, _, lin in results], "s--", color="#DD8452", label="linearised GSIM")
        ax.set_xlabel("US steel tariff rise on every partner (points)")
        ax.set_ylabel(label)
        ax.yaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(lambda v, _: f"{v:,.0f}".replace("-", "\u2212")))
        ax.axhline(0, color="black", linewidth=0.8)
        ax.grid(alpha=0.3)
        ax.legend(frameon=False, fontsize=9)
    axes[0].axhline(-100, color="grey", linewidth=0.8, linestyle=":")
    axes[0].annotate("−100%: no imports left", (100, -100), xytext=(0, 4), textcoords="offset points",
                     ha="right", fontsize=8, color="grey")
    fig.suptitle("Linearised vs exact GSIM as the shock grows (us_japan_2024, steel, long run)", fontsize=11)
    fig.tight_layout()
    save_png(fig, path)
    plt.close(fig)


def write_docs() -> None:
    results = rows()
    plot(results, ROOT / "docs" / "figures" / "linearisation.png")
    doc = ROOT / "docs" / "model.md"
    text = doc.read_text(encoding="utf-8")
    before, rest = text.split(START, 1)
    _, after = rest.split(END, 1)
    doc.write_text(f"{before}{START}\n{table(results)}\n{END}{after}", encoding="utf-8")


if __name__ == "__main__":
    import sys

    if "--write-docs" in sys.argv:
        write_docs()
    print(table())
