"""Every plot is produced for one result and for a comparison, draws what it says, takes ax= and returns Axes."""

from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pytest
from matplotlib.axes import Axes

import sim
from sim import plots
from sim.plots import write_comparison_plots, write_plots

ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = ROOT / "scenarios"


@pytest.fixture(scope="module")
def results():
    return sim.run(SCENARIOS / "example_steel_tariff.toml")


@pytest.fixture(scope="module")
def steel_pair():
    return sim.compare([sim.run(SCENARIOS / "steel_232_2025.toml"), sim.run(SCENARIOS / "steel_50pct_2025.toml")])


def texts(legend):
    return [t.get_text() for t in legend.get_texts()]


def test_welfare_plot_stacks_non_zero_components_and_marks_net(results):
    _, ax = plt.subplots()
    assert results.plot.welfare(ax=ax) is ax
    assert texts(ax.get_legend()) == ["Consumer surplus", "Producer surplus", "Tariff revenue", "Net welfare"]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["USA", "JPN", "CHN", "ROW"]
    assert "USD million" in ax.get_ylabel()
    assert ax.get_title().startswith(results.title) and "all sectors, 2028" in ax.get_title()
    net = ax.collections[0].get_offsets()[:, 1]
    expected = results.welfare_by_region(2028)["net_welfare"].to_numpy()
    np.testing.assert_allclose(np.asarray(net), expected, rtol=1e-12)


def test_welfare_value_labels_sit_beyond_the_bars(results):
    ax = results.plot.welfare(world=True)
    assert [t.get_text() for t in ax.get_xticklabels()][-1] == "World"
    table = results.welfare_by_region(world=True)
    parts = table[["consumer_surplus", "producer_surplus", "tariff_revenue"]].to_numpy()
    tops, bottoms = np.clip(parts, 0, None).sum(axis=1), np.clip(parts, None, 0).sum(axis=1)
    labels = [a for a in ax.texts if a.get_text().startswith("net")]
    assert len(labels) == 5
    for label, net, top, bottom in zip(labels, table["net_welfare"], tops, bottoms):
        assert label.xy[1] == pytest.approx(top if net >= 0 else bottom)  # anchored at the end of the stack
        low, high = ax.get_ylim()
        assert low < bottom and top < high  # nothing cut off


def test_drawing_twice_on_one_axes_keeps_both_in_view():
    big = sim.run(SCENARIOS / "steel_tariff_with_investment.toml")
    small = sim.run(SCENARIOS / "steel_232_2025.toml")
    _, ax = plt.subplots()
    big.plot.welfare(ax=ax)
    small.plot.welfare(ax=ax)
    assert ax.get_ylim()[0] < big.welfare_by_region()["consumer_surplus"].min()  # the −11,874 bar is not cut


def test_imports_plot_sorts_partners_and_shows_tariffs(results):
    ax = results.plot.imports()  # default: the first shocked importer, the sector that moves most
    assert "Imports of USA by partner: Iron and steel, 2028" in ax.get_title()
    assert ax.get_legend() is None  # one scenario: no single-item legend
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert labels[0].startswith("ROW") and "0% → 25%" in labels[0]
    widths = [abs(p.get_width()) for p in ax.patches]
    assert widths == sorted(widths, reverse=True)
    flows = results.flows
    row = flows[(flows.year == 2028) & (flows.sector == "steel") & (flows.importer == "USA")
                & (flows.exporter == "ROW")].iloc[0]
    assert ax.patches[0].get_width() == pytest.approx(row.value_change)
    assert any(t.get_text() == f"\u2212{-row.value_change:,.0f} (\u2212{-row.value_pct:.0f}%)" for t in ax.texts)


def test_prices_plot_shows_consumer_producer_and_output(results):
    ax = results.plot.prices(year=2025)
    assert "Iron and steel, 2025" in ax.get_title()
    assert texts(ax.get_legend()) == ["Consumer price", "Producer price", "Output"]
    assert len(ax.patches) == 12  # three measures for 4 regions


def test_welfare_path_has_regions_world_and_shock_dates():
    res = sim.run(SCENARIOS / "steel_tariff_with_investment.toml")
    ax = res.plot.welfare_path()
    labels = [line.get_label() for line in ax.get_lines() if not line.get_label().startswith("_")]
    assert len(labels) == 9 and labels[0] == "USA (United States)" and labels[-1] == "World"
    world = ax.get_lines()[8].get_ydata()
    np.testing.assert_allclose(world[-1], res.welfare_by_region(2030)["net_welfare"].sum())
    marks = {t.get_text() for t in ax.texts}
    assert marks == {"USA tariffs change", "new steel capacity in USA"}
    assert res.plot.welfare_path(scale="symlog").get_yscale() == "symlog"


def test_static_welfare_path_is_bars_not_a_one_point_line():
    res = sim.run(SCENARIOS / "steel_232_2025.toml")
    ax = res.plot.welfare_path()
    assert "long run" in ax.get_title() and len(ax.patches) == 9  # 8 regions and World


def test_unknown_year_sector_or_region_is_a_clear_error(results):
    with pytest.raises(ValueError, match="year 2040 is not in the results"):
        results.plot.welfare(year=2040)
    with pytest.raises(ValueError, match="no sector 'steal'"):
        results.plot.prices("steal")
    with pytest.raises(ValueError, match="'XYZ' has no imports"):
        results.plot.imports("XYZ")


def test_every_plot_of_one_result_returns_axes(results):
    plot = results.plot
    for ax in (plot.welfare(), plot.welfare(components=False), plot.welfare_path(), plot.imports("USA"),
               plot.prices("steel")):
        assert isinstance(ax, Axes)
    _, ax = plt.subplots()
    assert plot.welfare_path(ax=ax) is ax


def test_every_comparison_plot_returns_axes(steel_pair):
    plot = steel_pair.plot
    for ax in (plot.welfare(), plot.imports("USA"), plot.prices("steel"), plot.welfare(components=False)):
        assert isinstance(ax, Axes)
    ax = plot.welfare()
    handles = texts(ax.get_legend())
    assert handles.count("Net welfare") == 1 and {"Steel 25%", "Steel 50%"} <= set(handles)  # one legend, labels


def test_comparison_welfare_path_small_multiples_and_one_region():
    pair = sim.compare([sim.run(SCENARIOS / "steel_tariff_with_investment.toml"),
                        sim.run(SCENARIOS / "nippon_steel_investment.toml")])
    axes = pair.plot.welfare_path()
    assert len(axes) == 9 and all(isinstance(a, Axes) for a in axes)
    assert axes[0].get_title().startswith("World")
    ax = pair.plot.welfare_path(regions="USA")
    assert isinstance(ax, Axes) and len([line for line in ax.get_lines() if line.get_label()[0] != "_"]) == 2


def test_welfare_path_panels_say_once_what_their_dotted_lines_mark():
    """No label runs through a panel's data: each panel has the dotted lines only, the figure's x-label says
    what they mark (and "Year" once); the panel above an empty slot keeps its column's year ticks."""
    pair = sim.compare([sim.run(SCENARIOS / "steel_tariff_with_investment.toml"),
                        sim.run(SCENARIOS / "steel_tariffs_2025_2030.toml")])
    axes = pair.plot.welfare_path(regions=["World", "USA", "JPN", "CHN", "KOR"])  # 2 x 3, one slot empty
    fig = axes[0].figure
    assert [t for ax in axes for t in ax.texts if t.get_gid() == plots.EVENT_GID] == []
    assert all(ax.get_xlabel() == "" for ax in axes)
    assert fig.get_supxlabel() == "Year  (dotted lines: 2026 USA tariffs change; 2029 new steel capacity in USA)"
    dotted = {line.get_xdata()[0] for line in axes[0].get_lines() if line.get_linestyle() == ":"}
    assert dotted == {2026, 2029}
    fig.canvas.draw()
    shown = [[t.get_text() for t in ax.get_xticklabels() if t.get_visible() and t.get_text()] for ax in axes]
    assert shown[2] == shown[3] == shown[4] == [str(y) for y in range(2025, 2031)]  # JPN: above the empty slot
    assert shown[0] == shown[1] == []
    plt.close(fig)


def test_write_plots_makes_non_empty_pngs(results, tmp_path):
    paths = write_plots(results, tmp_path)
    assert sorted(p.name for p in paths) == ["imports_USA.png", "prices.png", "welfare.png", "welfare_by_owner.png",
                                             "welfare_path.png"]
    for p in paths:
        assert p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and p.stat().st_size > 10_000


def test_write_comparison_plots(steel_pair, tmp_path):
    paths = write_comparison_plots(steel_pair, tmp_path)
    assert sorted(p.name for p in paths) == ["imports_USA.png", "prices.png", "welfare.png"]
    assert all(p.stat().st_size > 10_000 for p in paths)


# --------------------------------------------------------------------------- Monte Carlo intervals (issue 16, case 3)

@pytest.fixture(scope="module")
def skewed():
    """Ten draws in which Korea's central net welfare (−58.5 in 2030) lies below its 5–95% band (−55.8 … −32.7)."""
    return sim.run(SCENARIOS / "japan_defense_3pct.toml", draws=10, seed=3)


def interval_ends(ax):
    """(position, low, high) of every interval bar drawn on ``ax`` (vertical, or horizontal on rows of bars)."""
    from sim.plots import INTERVAL_GID

    bars = [c for c in ax.collections if c.get_gid() == INTERVAL_GID]
    ends = []
    for seg in (seg for c in bars for seg in c.get_segments()):
        along = 1 if seg[0, 0] == seg[-1, 0] else 0  # vertical bars run along y
        ends.append((seg[0, 1 - along], min(seg[:, along]), max(seg[:, along])))
    return ends


def test_an_interval_that_misses_its_central_value_is_drawn_from_p05_to_p95(skewed):
    band = skewed.uncertainty.intervals.xs(2030, level="year")
    net = skewed.welfare_by_region(2030, world=True)["net_welfare"]
    assert not band.loc["KOR", "p05"] <= net["KOR"] <= band.loc["KOR", "p95"]  # the case that crashed
    ax = skewed.plot.welfare(intervals=True, world=True)
    ends = interval_ends(ax)
    regions = [t.get_text() for t in ax.get_xticklabels()]
    assert len(ends) == len(regions) == 9
    for region, (_, low, high) in zip(regions, ends):
        assert (low, high) == pytest.approx((band.loc[region, "p05"], band.loc[region, "p95"]), rel=1e-12)
    low, high = ax.get_ylim()
    assert low < band["p05"].min() and band["p95"].max() < high


def test_comparison_intervals_and_fan_bands_are_the_band_itself(skewed):
    plan = sim.run(SCENARIOS / "japan_defense_plan_2027.toml", draws=10, seed=3)
    ax = sim.compare([skewed, plan]).plot.welfare(intervals=True, components=False)
    ends = interval_ends(ax)
    assert len(ends) == 2 * 8
    for res, bars in ((skewed, ends[:8]), (plan, ends[8:])):
        year = res.info.years[-1]
        band = res.uncertainty.intervals.xs(year, level="year").reindex(list(res.info.regions))
        np.testing.assert_allclose([b[1] for b in bars], band["p05"], rtol=1e-12)
        np.testing.assert_allclose([b[2] for b in bars], band["p95"], rtol=1e-12)
    ax = skewed.plot.welfare_path(regions=["KOR"])
    (fan,) = [c for c in ax.collections if c.get_paths() and len(c.get_paths()[0].vertices) > 4]
    ys = fan.get_paths()[0].vertices[:, 1]
    band = skewed.uncertainty.intervals.xs("KOR", level="region")
    assert min(ys) == pytest.approx(band["p05"].min()) and max(ys) == pytest.approx(band["p95"].max())


@pytest.mark.parametrize("scenario", ["japan_defense_3pct", "japan_defense_plan_2027"])
def test_shipped_scenarios_that_crashed_with_draws_write_their_plots(scenario, tmp_path):
    from click.testing import CliRunner

    from sim.cli import main

    out = tmp_path / "out"
    result = CliRunner().invoke(main, ["run", str(SCENARIOS / f"{scenario}.toml"), "--draws", "10", "--seed", "3",
                                       "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert (out / "plots" / "welfare.png").stat().st_size > 10_000 and (out / "uncertainty.csv").is_file()


# ------------------------------------------------------------------- user text is drawn as written (issue 16, case 9)

DOLLARS = r"US$ 5 bn and US$ 7 bn, $\undefinedcommand$"


@pytest.fixture(scope="module")
def dollar_runs(tmp_path_factory):
    """Two runs on a copy of the illustrative dataset whose names, unit and titles hold dollar signs."""
    import shutil

    from sim.dataset import BUILTIN_DIR

    folder = tmp_path_factory.mktemp("dollars")
    shutil.copytree(BUILTIN_DIR / "illustrative", folder / "ds")
    toml = folder / "ds" / "dataset.toml"
    toml.write_text(toml.read_text(encoding="utf-8").replace('"United States"', r"'US$ land $\undefined$'")
                    .replace('"Iron and steel (illustrative)"', '"Steel $x$ (illustrative)"')
                    .replace('unit = "USD million"', 'unit = "US$ million"'), encoding="utf-8")
    runs = []
    for name, title, rate in (("dollars", DOLLARS, 0.25), ("more_dollars", "$$ 50% $", 0.5)):
        path = folder / f"{name}.toml"
        label = "label = 'US$ 5 bn'\n" if name == "dollars" else ""
        path.write_text(f"name = '{name}'\n{label}title = '{title}'\ndataset = 'ds'\nyears = [2025, 2026]\n[[tariff]]\n"
                        f"sector = 'steel'\nimporter = 'USA'\nexporter = '*'\nrate = {rate}\nstart = 2026\n",
                        encoding="utf-8")
        runs.append(sim.run(path))
    return runs


def test_dollar_signs_in_titles_names_and_units_are_drawn_as_written(dollar_runs, tmp_path):
    from sim.escape import plot_text
    from sim.plots import save_png

    res = dollar_runs[0]
    ax = res.plot.welfare()
    assert ax.get_title().startswith(plot_text(DOLLARS) + "\n")
    assert r"US\$ 5 bn and US\$ 7 bn, \$\undefinedcommand\$" in ax.get_title()
    assert ax.get_ylabel() == r"Change from base (US\$ million)"
    assert r"Steel \$x\$" in res.plot.prices("steel").get_title()
    labels = [line.get_label() for line in res.plot.welfare_path().get_lines()]
    assert r"USA (US\$ land \$\undefined\$)" in labels
    save_png(ax.figure, tmp_path / "one.png")  # drawing parses every text: mathtext would fail here
    assert sorted(p.name for p in write_plots(res, tmp_path)) == ["imports_USA.png", "prices.png", "welfare.png",
                                                                  "welfare_path.png"]


def test_dollar_signs_in_a_comparison_and_its_baseline_are_drawn_as_written(dollar_runs, tmp_path):
    from sim.escape import plot_text

    pair = sim.compare(dollar_runs)
    ax = pair.plot.welfare()
    legend = set(texts(ax.get_legend()))  # the scenarios' labels, else their names
    assert {plot_text("US$ 5 bn"), "more_dollars"} <= legend
    against = sim.compare(dollar_runs, baseline="dollars")
    assert against.plot.welfare_path(regions="USA").get_title().endswith(r"relative to 'US\$ 5 bn'")  # its label
    assert len(write_comparison_plots(against, tmp_path)) == 4  # every text drawn


def test_a_value_that_rounds_to_zero_is_labelled_0_not_minus_0():
    """Issue 21, item 12: ROW's -0.37 in steel_tariffs_2025_2030's 2030 read "net −0"."""
    import re

    import matplotlib

    matplotlib.use("Agg")
    res = sim.run(ROOT / "scenarios" / "steel_tariffs_2025_2030.toml")
    assert -0.5 < res.welfare_by_region(2030).loc["ROW", "net_welfare"] < 0
    drawn = res.plot.welfare(year=2030)
    axes = [drawn] if hasattr(drawn, "texts") else drawn.axes
    texts = [t.get_text() for ax in axes for t in ax.texts]
    assert "net 0" in texts and "net −9" in texts
    assert not any(re.search("\u22120(?![.,\\d])", text) for text in texts), texts


def test_a_png_holds_exactly_the_pixels_drawn_and_the_dpi(results, tmp_path):
    """save_png writes its own PNG (unfiltered zlib rows): any reader decodes the figure's pixels and 150 dpi,
    whether it is encoded on the calling thread or in the background."""
    import contextlib

    from matplotlib.figure import Figure
    from PIL import Image

    from sim.plots import DPI, encoding_in_background, save_png

    fig = Figure(figsize=(6, 3.2), layout="constrained")
    results.plot.welfare(ax=fig.add_subplot(), world=True)
    drawn = {}
    for name, encoding in (("here.png", contextlib.nullcontext), ("background.png", encoding_in_background)):
        with encoding():
            save_png(fig, tmp_path / name)
        drawn[name] = np.asarray(fig.canvas.buffer_rgba()).copy()
    for name, pixels in drawn.items():
        with Image.open(tmp_path / name) as image:
            assert image.mode == "RGBA" and image.size == (6 * DPI, round(3.2 * DPI))
            assert np.array_equal(np.asarray(image), pixels)
            assert image.info["dpi"] == pytest.approx((DPI, DPI), abs=0.05)  # whole pixels per metre


def test_a_title_stays_over_the_axes_and_rises_over_tick_labels_on_top(results):
    """Titles are pinned at the top of the Axes (no automatic placement to pay for at every layout pass), except on
    an Axes that shows something on top, where matplotlib still lifts them over it."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(9, 4.8), layout="constrained")
    FigureCanvasAgg(fig)
    plain, topped = fig.subplots(2, 1)
    topped.xaxis.tick_top()
    results.plot.welfare(ax=plain)
    results.plot.welfare(ax=topped)
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    assert plain.title.get_position()[1] == 1.0
    ticks_top = max(label.get_window_extent(renderer).y1 for label in topped.get_xticklabels() if label.get_text())
    assert topped.title.get_window_extent(renderer).y0 >= ticks_top


@pytest.mark.parametrize("text", [
    "Steel: US tariff on steel imports from Japan raised from 25% to 50% under section 232, steel at 50%",
    "word " * 31,
    "a" * 75 + " b",
])
def test_long_titles_wrap_on_as_few_lines_of_about_equal_length(text):
    """A title never leaves one word alone on its last line ("steel at" / "50%") nor takes more lines."""
    import textwrap

    from sim.plots import _wrap

    greedy = textwrap.wrap(text, 70)
    lines = _wrap(text, 70).split("\n")
    assert len(lines) == len(greedy) > 1
    assert max(map(len, lines)) <= 70
    assert " ".join(lines).split() == text.split() or "".join(lines) == "".join(greedy)  # every word, in order
    if max(len(word) for word in text.split()) <= 70:
        assert max(map(len, lines)) - min(map(len, lines)) < max(map(len, greedy)) - min(map(len, greedy))


def test_a_title_that_fits_is_not_wrapped():
    from sim.plots import _wrap

    assert _wrap("Steel at 50%", 70) == "Steel at 50%"
    assert _wrap("", 70) == ""
