"""Regenerate the plot gallery: ``python docs/make_gallery.py`` (from the repository root).

Draws one PNG of every plot type into ``docs/gallery/`` with the same functions the
command line uses, and writes ``docs/gallery.md`` showing each image with the command
or code that draws it. Run it after changing plots, data or scenarios.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
from pathlib import Path

from matplotlib.figure import Figure

import sim
from sim.plots import save_png

ROOT = Path(__file__).resolve().parents[1]
GALLERY = ROOT / "docs" / "gallery"

#: Every image the gallery shows, in page order; main() checks that it wrote exactly these (tests/test_gallery.py
#: checks them against docs/gallery.md and docs/gallery/).
IMAGES = ("flagship_welfare.png", "flagship_welfare_path.png", "flagship_imports_USA.png", "flagship_prices.png",
          "flagship_welfare_path_symlog.png", "static_welfare_path.png", "compare_2025_welfare.png",
          "compare_2025_imports_USA.png", "compare_steel_welfare.png", "compare_steel_prices.png",
          "compare_mill_welfare_path.png", "baseline_mill_effect_welfare_path.png", "uncertainty_welfare.png",
          "uncertainty_welfare_path.png", "sensitivity_tornado.png", "sweep.png", "flagship_report.png")

STORY_2025 = ["steel_232_2025", "steel_50pct_2025", "autos_232_2025", "us_japan_deal_2025", "japan_retaliation",
              "japan_china_rapprochement"]


def report_browser() -> str:
    """The system's Chromium, which screenshots the report (tests/browser.py); checked before anything is removed."""
    sys.path.insert(0, str(ROOT))
    from tests.browser import find_browser

    found = find_browser()
    if found is None:
        raise SystemExit("make_gallery.py needs Chromium for the report's screenshot: apt-get install -y chromium")
    return found


def screenshot(browser: str, page: Path, png: Path, width: int, height: int) -> Path:
    from tests.browser import screenshot as take

    return take(browser, page, png, width, height)


def scenario(name: str) -> Path:
    return ROOT / "scenarios" / f"{name}.toml"


def cli(*args: str) -> str:
    return "python run_sim.py " + " ".join(args)


def from_cli_output(folder: Path, plot: str, target: str) -> Path:
    """Copy a PNG that ``run``/``compare`` wrote (``folder/plots/plot``) into the gallery."""
    out = GALLERY / target
    shutil.copyfile(folder / "plots" / plot, out)
    return out


def drawn(target: str, draw, size=(10, 5)) -> Path:
    """Draw with ``draw(fig)`` on a figure of its own and save it into the gallery."""
    fig = Figure(figsize=size, layout="constrained")
    draw(fig)
    out = GALLERY / target
    save_png(fig, out)
    return out


def main() -> None:
    browser = report_browser()
    GALLERY.mkdir(parents=True, exist_ok=True)
    for old in GALLERY.glob("*.png"):
        old.unlink()
    work = Path(tempfile.mkdtemp())
    entries = []  # (heading, image, how it is drawn, language of that text)

    flagship = sim.run(scenario("steel_tariff_with_investment"))
    flagship.write(work / "flagship")
    run_flagship = cli("run", "scenarios/steel_tariff_with_investment.toml", "--out", "output/flagship")
    for plot, heading, code in [
        ("welfare.png", "Welfare by region, one scenario", "res.plot.welfare(world=True)"),
        ("welfare_path.png", "Welfare over time, one scenario", "res.plot.welfare_path()"),
        ("imports_USA.png", "Imports of a region by partner", 'res.plot.imports("USA")'),
        ("prices.png", "Prices and output by region", 'res.plot.prices("steel")'),
    ]:
        image = from_cli_output(work / "flagship", plot, f"flagship_{plot}")
        entries.append((heading, image, f"{run_flagship}   # plots/{plot}\n# or, in Python: {code}", "bash"))

    image = drawn("flagship_welfare_path_symlog.png",
                  lambda fig: flagship.plot.welfare_path(ax=fig.add_subplot(), scale="symlog"))
    entries.append(("Welfare over time on a symmetric-log scale (small regions stay readable)", image,
                    'res.plot.welfare_path(scale="symlog")', "python"))

    static = sim.run(scenario("steel_232_2025"))
    image = drawn("static_welfare_path.png", lambda fig: static.plot.welfare_path(ax=fig.add_subplot()))
    entries.append(("A long-run scenario over time: bars, not a one-point line", image,
                    'sim.run("scenarios/steel_232_2025.toml").plot.welfare_path()', "python"))

    story = sim.compare([sim.run(scenario(n)) for n in STORY_2025])
    story.write(work / "story")
    compare_story = cli("compare", *[f"scenarios/{n}.toml" for n in STORY_2025], "--out", "output/2025")
    image = from_cli_output(work / "story", "welfare.png", "compare_2025_welfare.png")
    entries.append(("Comparison: net welfare of the 2025 scenarios", image, f"{compare_story}   # plots/welfare.png",
                    "bash"))
    image = from_cli_output(work / "story", "imports_USA.png", "compare_2025_imports_USA.png")
    entries.append(("Comparison: imports by partner, one bar per scenario", image,
                    f"{compare_story}   # plots/imports_USA.png", "bash"))

    steel = sim.compare([static, sim.run(scenario("steel_50pct_2025"))])
    steel.write(work / "steel")
    compare_steel = cli("compare", "scenarios/steel_232_2025.toml", "scenarios/steel_50pct_2025.toml",
                        "--out", "output/steel")
    image = from_cli_output(work / "steel", "welfare.png", "compare_steel_welfare.png")
    entries.append(("Comparison of up to three scenarios: welfare components side by side", image,
                    f"{compare_steel}   # plots/welfare.png", "bash"))
    image = from_cli_output(work / "steel", "prices.png", "compare_steel_prices.png")
    entries.append(("Comparison: prices and output", image, f"{compare_steel}   # plots/prices.png", "bash"))

    paths = sim.compare([sim.run(scenario("nippon_steel_investment")), flagship,
                         sim.run(scenario("steel_tariffs_2025_2030"))])
    paths.write(work / "paths")
    compare_paths = cli("compare", "scenarios/nippon_steel_investment.toml",
                        "scenarios/steel_tariff_with_investment.toml", "scenarios/steel_tariffs_2025_2030.toml",
                        "--out", "output/mill")
    image = from_cli_output(work / "paths", "welfare_path.png", "compare_mill_welfare_path.png")
    entries.append(("Comparison over time: one panel per region", image, f"{compare_paths}   # plots/welfare_path.png",
                    "bash"))

    effect = sim.compare([flagship, sim.run(scenario("steel_tariffs_2025_2030"))], baseline="steel_tariffs_2025_2030")
    effect.write(work / "effect")
    compare_effect = cli("compare", "scenarios/steel_tariff_with_investment.toml",
                         "scenarios/steel_tariffs_2025_2030.toml", "--baseline", "steel_tariffs_2025_2030",
                         "--out", "output/mill_effect")
    image = from_cli_output(work / "effect", "welfare_path.png", "baseline_mill_effect_welfare_path.png")
    entries.append(("Baseline difference: the mill's effect behind the tariff", image,
                    f"{compare_effect}   # plots/welfare_path.png", "bash"))

    mc = sim.run(scenario("steel_tariff_with_investment"), draws=1000, seed=7)
    mc.write(work / "mc")
    run_mc = cli("run", "scenarios/steel_tariff_with_investment.toml", "--draws", "1000", "--seed", "7", "--out",
                 "output/flagship_mc")
    image = from_cli_output(work / "mc", "welfare.png", "uncertainty_welfare.png")
    entries.append(("Monte Carlo: 90% intervals on net welfare", image,
                    f"{run_mc}   # plots/welfare.png; in Python res.plot.welfare(intervals=True)", "bash"))
    image = from_cli_output(work / "mc", "welfare_path.png", "uncertainty_welfare_path.png")
    entries.append(("Monte Carlo over time: fan bands", image, f"{run_mc}   # plots/welfare_path.png", "bash"))

    tornado = flagship.sensitivity(cv=0.3)
    image = drawn("sensitivity_tornado.png", lambda fig: tornado.plot(ax=fig.add_subplot()), size=(10, 4.2))
    entries.append(("Sensitivity: one elasticity at a time (tornado)", image,
                    cli("run", "scenarios/steel_tariff_with_investment.toml", "--sensitivity", "--out",
                        "output/flagship") + "   # plots/sensitivity.png; in Python res.sensitivity().plot()",
                    "bash"))

    swept = sim.sweep(scenario("steel_232_2025"), tariff=1, rates="0:0.6:13")
    image = drawn("sweep.png", lambda fig: swept.plot(fig=fig), size=(12, 4.8))
    entries.append(("Tariff sweep: revenue-maximising and optimal tariff", image,
                    cli("sweep", "scenarios/steel_232_2025.toml", "--tariff-index", "1", "--rates", "0:0.6:13",
                        "--out", "output/sweep") + "   # plots/sweep.png", "bash"))

    report = mc.report(work / "flagship_report.html")
    image = screenshot(browser, report, GALLERY / "flagship_report.png", 1280, 1800)
    entries.append(("A report to share: one self-contained HTML page (the top of it)", image,
                    f"{run_mc} --report   # report.html; in Python res.report(\"report.html\")", "bash"))

    shutil.rmtree(work)
    written = tuple(image.name for _, image, _, _ in entries)
    if written != IMAGES:
        raise SystemExit(f"make_gallery.IMAGES is out of date: the script drew {written}")
    write_page(entries)


def write_page(entries) -> None:
    lines = ["# Plot gallery", "",
             "One picture of every plot tradesim draws, each with the command or code that draws it.",
             "Regenerated by `python docs/make_gallery.py`; the model behind the numbers is in",
             "[model.md](model.md).", ""]
    for heading, image, how, language in entries:
        lines += [f"## {heading}", "", f"```{language}", how, "```", "",
                  f"![{heading}](gallery/{image.name})", ""]
    (ROOT / "docs" / "gallery.md").write_text("\n".join(lines), encoding="utf-8")
    print(f"wrote docs/gallery.md and {len(entries)} images in docs/gallery/")


if __name__ == "__main__":
    main()
