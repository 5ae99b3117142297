"""Regenerate the plot gallery: ``python docs/make_gallery.py`` (from the repository root).

Draws one PNG of every plot type into ``docs/gallery/`` with the same functions the
command line uses, and writes ``docs/gallery.md`` showing each image with the command
or code that draws it. Run it after changing plots, data or scenarios.

Beside the images it writes ``docs/gallery/contents.json``: for each image, the SHA-256 of
its PNG and what the figure shows, read from matplotlib's objects before rendering (titles,
labels, value labels, legend entries, category tick labels, and the coordinates of every
line, bar and band: :func:`contents`). tests/test_gallery.py draws the figures again without
rendering them and compares what they show with the file (numbers to a relative 1e-6), and
checks each PNG's hash: a gallery left stale by a change of data, scenarios or plotting code
fails the test. Fonts and the PNG encoder never enter the comparison, so it holds across machines.
"""

from __future__ import annotations

import hashlib
import json
import math
import shutil
import sys
import tempfile
from pathlib import Path

from matplotlib.collections import PathCollection
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle
from matplotlib.ticker import FixedFormatter

import sim
from sim.plots import DPI, save_png, write_comparison_plots, write_plots

ROOT = Path(__file__).resolve().parents[1]
GALLERY = ROOT / "docs" / "gallery"
CONTENTS = GALLERY / "contents.json"

#: Every image the gallery shows, in page order; main() checks that it wrote exactly these (tests/test_gallery.py
#: checks them against docs/gallery.md and docs/gallery/).
IMAGES = ("flagship_welfare.png", "flagship_welfare_path.png", "flagship_imports_USA.png", "flagship_prices.png",
          "flagship_welfare_path_symlog.png", "static_welfare_path.png", "compare_2025_welfare.png",
          "compare_2025_imports_USA.png", "compare_steel_welfare.png", "compare_steel_prices.png",
          "compare_mill_welfare_path.png", "baseline_mill_effect_welfare_path.png", "uncertainty_welfare.png",
          "uncertainty_welfare_path.png", "sensitivity_tornado.png", "sweep.png")

#: Screenshots of pages (not matplotlib figures): drawn by Chromium and not recorded in contents.json (the report
#: holds its run's time, so its bytes change with every regeneration).
SCREENSHOTS = ("flagship_report.png",)

STORY_2025 = ["steel_232_2025", "steel_50pct_2025", "autos_232_2025", "us_japan_deal_2025", "japan_retaliation",
              "japan_china_rapprochement"]
#: Significant digits of the numbers in contents.json (the test compares them to a relative 1e-6).
DIGITS = 10


def report_browser() -> str:
    """The system's Chromium, which screenshots the report (tests/browser.py); checked before anything is removed."""
    sys.path.insert(0, str(ROOT))
    from tests.browser import find_browser

    found = find_browser()
    if found is None:
        raise SystemExit("make_gallery.py needs Chromium for the report's screenshot: apt-get install -y chromium")
    return found


def report_screenshot(browser: str) -> tuple:
    """The top of the flagship's report (with its Monte Carlo), screenshot into the gallery: a page entry."""
    from tests.browser import screenshot

    work = Path(tempfile.mkdtemp())
    try:
        report = sim.run(scenario("steel_tariff_with_investment"), draws=1000, seed=7).report(work / "report.html")
        screenshot(browser, report, GALLERY / SCREENSHOTS[0], 1280, 1800)
    finally:
        shutil.rmtree(work)
    run_mc = cli("run", "scenarios/steel_tariff_with_investment.toml", "--draws", "1000", "--seed", "7", "--out",
                 "output/flagship_mc")
    return ("A report to share: one self-contained HTML page (the top of it)", SCREENSHOTS[0], None,
            f"{run_mc} --report   # report.html; in Python res.report(\"report.html\")", "bash")


def scenario(name: str) -> Path:
    return ROOT / "scenarios" / f"{name}.toml"


def cli(*args: str) -> str:
    return "python run_sim.py " + " ".join(args)


def cli_figures(write, outcome) -> dict[str, Figure]:
    """The figures that ``run`` (``write=write_plots``) or ``compare`` (``write_comparison_plots``) draws for
    ``outcome``, by file name, kept instead of saved."""
    figures = {}
    write(outcome, Path("plots"), save=lambda fig, path: figures.__setitem__(Path(path).name, fig))
    return figures


def drawn(draw, size=(10, 5)) -> Figure:
    """A figure of its own, drawn by ``draw(fig)``."""
    fig = Figure(figsize=size, layout="constrained")
    draw(fig)
    return fig


def figures() -> list[tuple[str, str, Figure, str, str]]:
    """Every gallery image, drawn but not rendered, in page order: (heading, file name, figure, how it is drawn,
    the language of that text)."""
    entries = []
    flagship = sim.run(scenario("steel_tariff_with_investment"))
    run_flagship = cli("run", "scenarios/steel_tariff_with_investment.toml", "--out", "output/flagship")
    drawn_by_run = cli_figures(write_plots, flagship)
    for plot, heading, code in [
        ("welfare.png", "Welfare by region, one scenario", "res.plot.welfare(world=True)"),
        ("welfare_path.png", "Welfare over time, one scenario", "res.plot.welfare_path()"),
        ("imports_USA.png", "Imports of a region by partner", 'res.plot.imports("USA")'),
        ("prices.png", "Prices and output by region", 'res.plot.prices("steel")'),
    ]:
        entries.append((heading, f"flagship_{plot}", drawn_by_run[plot],
                        f"{run_flagship}   # plots/{plot}\n# or, in Python: {code}", "bash"))

    entries.append(("Welfare over time on a symmetric-log scale (small regions stay readable)",
                    "flagship_welfare_path_symlog.png",
                    drawn(lambda fig: flagship.plot.welfare_path(ax=fig.add_subplot(), scale="symlog")),
                    cli("run", "scenarios/steel_tariff_with_investment.toml", "--welfare-scale", "symlog", "--out",
                        "output/flagship") + '   # plots/welfare_path.png\n# or, in Python: '
                    'res.plot.welfare_path(scale="symlog")', "bash"))

    static = sim.run(scenario("steel_232_2025"))
    entries.append(("A long-run scenario over time: bars, not a one-point line", "static_welfare_path.png",
                    drawn(lambda fig: static.plot.welfare_path(ax=fig.add_subplot())),
                    'sim.run("scenarios/steel_232_2025.toml").plot.welfare_path()', "python"))

    story = cli_figures(write_comparison_plots, sim.compare([sim.run(scenario(n)) for n in STORY_2025]))
    compare_story = cli("compare", *[f"scenarios/{n}.toml" for n in STORY_2025], "--out", "output/2025")
    entries.append(("Comparison: net welfare of the 2025 scenarios", "compare_2025_welfare.png", story["welfare.png"],
                    f"{compare_story}   # plots/welfare.png", "bash"))
    entries.append(("Comparison: imports by partner, one bar per scenario", "compare_2025_imports_USA.png",
                    story["imports_USA.png"], f"{compare_story}   # plots/imports_USA.png", "bash"))

    steel = cli_figures(write_comparison_plots, sim.compare([static, sim.run(scenario("steel_50pct_2025"))]))
    compare_steel = cli("compare", "scenarios/steel_232_2025.toml", "scenarios/steel_50pct_2025.toml",
                        "--out", "output/steel")
    entries.append(("Comparison of up to three scenarios: welfare components side by side",
                    "compare_steel_welfare.png", steel["welfare.png"], f"{compare_steel}   # plots/welfare.png",
                    "bash"))
    entries.append(("Comparison: prices and output", "compare_steel_prices.png", steel["prices.png"],
                    f"{compare_steel}   # plots/prices.png", "bash"))

    tariffs_only = sim.run(scenario("steel_tariffs_2025_2030"))
    paths = cli_figures(write_comparison_plots, sim.compare([sim.run(scenario("nippon_steel_investment")), flagship,
                                                             tariffs_only]))
    compare_paths = cli("compare", "scenarios/nippon_steel_investment.toml",
                        "scenarios/steel_tariff_with_investment.toml", "scenarios/steel_tariffs_2025_2030.toml",
                        "--out", "output/mill")
    entries.append(("Comparison over time: one panel per region", "compare_mill_welfare_path.png",
                    paths["welfare_path.png"], f"{compare_paths}   # plots/welfare_path.png", "bash"))

    effect = cli_figures(write_comparison_plots,
                         sim.compare([flagship, tariffs_only], baseline="steel_tariffs_2025_2030"))
    compare_effect = cli("compare", "scenarios/steel_tariff_with_investment.toml",
                         "scenarios/steel_tariffs_2025_2030.toml", "--baseline", "steel_tariffs_2025_2030",
                         "--out", "output/mill_effect")
    entries.append(("Baseline difference: the mill's effect behind the tariff", "baseline_mill_effect_welfare_path.png",
                    effect["welfare_path.png"], f"{compare_effect}   # plots/welfare_path.png", "bash"))

    mc = cli_figures(write_plots, sim.run(scenario("steel_tariff_with_investment"), draws=1000, seed=7))
    run_mc = cli("run", "scenarios/steel_tariff_with_investment.toml", "--draws", "1000", "--seed", "7", "--out",
                 "output/flagship_mc")
    entries.append(("Monte Carlo: 90% intervals on net welfare", "uncertainty_welfare.png", mc["welfare.png"],
                    f"{run_mc}   # plots/welfare.png; in Python res.plot.welfare(intervals=True)", "bash"))
    entries.append(("Monte Carlo over time: fan bands", "uncertainty_welfare_path.png", mc["welfare_path.png"],
                    f"{run_mc}   # plots/welfare_path.png", "bash"))

    tornado = flagship.sensitivity(cv=0.3)
    entries.append(("Sensitivity: one elasticity at a time (tornado)", "sensitivity_tornado.png",
                    drawn(lambda fig: tornado.plot(ax=fig.add_subplot()), size=(10, 4.2)),
                    cli("run", "scenarios/steel_tariff_with_investment.toml", "--sensitivity", "--out",
                        "output/flagship") + "   # plots/sensitivity.png; in Python res.sensitivity().plot()",
                    "bash"))

    swept = sim.sweep(scenario("steel_232_2025"), tariff=1, rates="0:0.6:13")
    entries.append(("Tariff sweep: revenue-maximising and optimal tariff", "sweep.png",
                    drawn(lambda fig: swept.plot(fig=fig), size=(12, 4.8)),
                    cli("sweep", "scenarios/steel_232_2025.toml", "--tariff-index", "1", "--rates", "0:0.6:13",
                        "--out", "output/sweep") + "   # plots/sweep.png", "bash"))
    written = tuple(name for _, name, _, _, _ in entries)
    if written != IMAGES:
        raise SystemExit(f"make_gallery.IMAGES is out of date: the script drew {written}")
    return entries


# --------------------------------------------------------------------------- what a figure shows

def _number(value):
    """A finite number to :data:`DIGITS` significant digits; NaN and infinities as text (JSON has none)."""
    value = float(value)
    return float(f"{value:.{DIGITS}g}") if math.isfinite(value) else str(value)


def _numbers(values) -> list:
    return [_number(v) for v in values]


def _texts(items) -> list[str]:
    return [t.get_text() for t in items if t.get_visible() and t.get_text()]


def _category_ticks(axis) -> list[str]:
    """The tick labels of an axis whose labels were given (regions, partners with their tariffs); numeric ticks
    depend on matplotlib's autoscaling and follow from the data already recorded."""
    formatter = axis.get_major_formatter()
    return list(formatter.seq) if isinstance(formatter, FixedFormatter) else []


def _legend(legend) -> list[str]:
    return _texts(legend.get_texts()) if legend is not None else []


def _axes_contents(ax) -> dict:
    collections = []
    for collection in ax.collections:
        if isinstance(collection, PathCollection):  # markers: where they are, not their shape
            collections.append(_numbers(collection.get_offsets().ravel()))
        else:  # bands and interval lines: their outlines in data coordinates
            collections.append(_numbers(v for path in collection.get_paths() for v in path.vertices.ravel()))
    return {
        "title": ax.get_title(), "xlabel": ax.get_xlabel(), "ylabel": ax.get_ylabel(),
        "scale": [ax.get_xscale(), ax.get_yscale()],
        "ticks": [_category_ticks(ax.xaxis), _category_ticks(ax.yaxis)],
        "legend": _legend(ax.get_legend()),
        "texts": [[t.get_text(), *_numbers(getattr(t, "xy", t.get_position()))]
                  for t in ax.texts if t.get_visible() and t.get_text()],
        "lines": [[line.get_label() if not line.get_label().startswith("_") else "",
                   _numbers(line.get_xdata()), _numbers(line.get_ydata())] for line in ax.get_lines()],
        "bars": [_numbers([p.get_x(), p.get_y(), p.get_width(), p.get_height()])
                 for p in ax.patches if isinstance(p, Rectangle)],
        "collections": collections,
    }


def contents(fig: Figure) -> dict:
    """What ``fig`` shows, from its matplotlib objects and without rendering it: the size in pixels, the figure's
    titles and legends, and per visible Axes its title, labels, scales, category ticks, legend, texts with their
    anchor, lines, bars and collections in data coordinates (numbers to :data:`DIGITS` digits)."""
    width, height = fig.get_size_inches()
    shown = [t for t in (fig._suptitle, fig._supxlabel, fig._supylabel) if t is not None]
    return {
        "size_px": [round(width * DPI), round(height * DPI)],
        "figure_texts": _texts(shown + list(fig.texts)),
        "figure_legends": [_legend(legend) for legend in fig.legends],
        "axes": [_axes_contents(ax) for ax in fig.axes if ax.get_visible()],
    }


def main() -> None:
    browser = report_browser()
    GALLERY.mkdir(parents=True, exist_ok=True)
    for old in GALLERY.glob("*.png"):
        old.unlink()
    entries = figures()
    images = {}
    for _, name, fig, _, _ in entries:
        images[name] = {"shows": contents(fig)}  # before saving: drawing runs the layout, which adds nothing shown
        save_png(fig, GALLERY / name)
        images[name]["sha256"] = hashlib.sha256((GALLERY / name).read_bytes()).hexdigest()
    CONTENTS.write_text(json.dumps({"images": images}, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    write_page(entries + [report_screenshot(browser)])


def write_page(entries) -> None:
    lines = ["# Plot gallery", "",
             "One picture of every plot tradesim draws, each with the command or code that draws it.",
             "Regenerated by `python docs/make_gallery.py`, which also writes what each picture shows to",
             "`gallery/contents.json`; `tests/test_gallery.py` fails when the pictures no longer match the",
             "data, scenarios or plotting code. The model behind the numbers is in [model.md](model.md).", ""]
    for heading, name, _, how, language in entries:
        lines += [f"## {heading}", "", f"```{language}", how, "```", "", f"![{heading}](gallery/{name})", ""]
    (ROOT / "docs" / "gallery.md").write_text("\n".join(lines), encoding="utf-8")
    print(f"wrote docs/gallery.md, docs/gallery/contents.json and {len(entries)} images in docs/gallery/")


if __name__ == "__main__":
    main()
