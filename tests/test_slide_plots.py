"""Plots say what they show (issue 21, points 1-4): baseline comparisons, prices panels, the welfare-path
scale and slide-ready comparisons. Labels and titles are read from the matplotlib objects, not from pixels."""

import re
import sys
from pathlib import Path

import matplotlib.pyplot as plt
import pandas as pd
import pytest

import sim
from sim import plots
from sim.errors import InputError
from sim.plots import write_comparison_plots, write_plots

ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = ROOT / "scenarios"
STORY_2025 = ["steel_232_2025", "steel_50pct_2025", "autos_232_2025", "us_japan_deal_2025", "japan_retaliation",
              "japan_china_rapprochement"]


def run(name, **kwargs):
    return sim.run(SCENARIOS / f"{name}.toml", **kwargs)


@pytest.fixture(scope="module")
def runs():
    names = {*STORY_2025, "steel_tariff_with_investment", "steel_tariffs_2025_2030", "example_steel_tariff"}
    return {name: run(name) for name in names}


@pytest.fixture(scope="module")
def mill_effect(runs):
    return sim.compare([runs["steel_tariff_with_investment"], runs["steel_tariffs_2025_2030"]],
                       baseline="steel_tariffs_2025_2030")


@pytest.fixture(scope="module")
def story(runs):
    return sim.compare([runs[name] for name in STORY_2025])


def drawn(write, outcome, tmp_path, monkeypatch) -> dict:
    """File stem → Figure for every PNG ``write`` draws (the figures are kept instead of only saved)."""
    figures = {}
    monkeypatch.setattr(plots, "save_png", lambda fig, path: figures.__setitem__(Path(path).stem, fig))
    write(outcome, tmp_path)
    return figures


def titles(fig) -> list[str]:
    return [ax.get_title() for ax in fig.axes if ax.get_visible() and ax.get_title()]


def legend_texts(fig) -> list[list[str]]:
    legends = list(fig.legends) + [ax.get_legend() for ax in fig.axes if ax.get_legend() is not None]
    return [[t.get_text() for t in legend.get_texts()] for legend in legends]


# ------------------------------------------------------------------- 1. plots against a baseline

def test_a_bar_against_a_baseline_is_labelled_baseline_rate_to_scenario_rate(runs):
    pair = sim.compare([runs["steel_50pct_2025"], runs["steel_232_2025"]], baseline="steel_232_2025")
    ax = pair.plot.imports("USA", sector="steel")
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert "CAN  25% → 50%" in labels and "JPN  25% → 50%" in labels  # not the base year's 0% → 50%
    assert ax.get_ylabel() == "Partner (tariff: baseline → scenario)"
    assert ax.get_title().endswith("relative to 'Steel 25%'")


def test_the_same_tariffs_in_scenario_and_baseline_show_one_rate(mill_effect):
    ax = mill_effect.plot.imports("USA", sector="steel")
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert labels and not any("→" in label for label in labels)  # was "ROW 17.6% → 49.1%"
    assert "ROW  49.1%" in labels


def test_every_plot_against_a_baseline_says_relative_to_it(mill_effect, tmp_path, monkeypatch):
    figures = drawn(write_comparison_plots, mill_effect, tmp_path, monkeypatch)
    assert set(figures) == {"welfare", "welfare_by_owner", "imports_USA", "prices", "welfare_path"}
    for name, fig in figures.items():
        for title in titles(fig):
            assert title.endswith("relative to 'Steel tariffs, no mill'"), (name, title)
            assert title.startswith("US steel tariffs of 2025 with Nippon Steel's new US mill"), (name, title)


def test_one_scenario_against_a_baseline_has_no_one_patch_scenario_legend(mill_effect, tmp_path, monkeypatch):
    fig = drawn(write_comparison_plots, mill_effect, tmp_path, monkeypatch)["imports_USA"]
    assert legend_texts(fig) == []  # bars coloured by partner; the title names the scenario


def test_flows_csv_against_a_baseline_names_the_baseline_value(mill_effect, runs, tmp_path):
    mill_effect.write(tmp_path / "out", plots=False)
    flows = pd.read_csv(tmp_path / "out" / "flows.csv")
    assert "baseline_value" in flows.columns and "base_value" not in flows.columns
    baseline = runs["steel_tariffs_2025_2030"].frames.flows["value"]
    row = flows[(flows.year == 2030) & (flows.exporter == "ROW") & (flows.importer == "USA")].iloc[0]
    assert row.baseline_value == pytest.approx(baseline.loc[(2030, row.sector, "ROW", "USA")], rel=1e-9)
    runs["steel_232_2025"].write(tmp_path / "one", plots=False)
    assert "base_value" in pd.read_csv(tmp_path / "one" / "flows.csv").columns  # a run keeps the base year's


# ------------------------------------------------------------------- 2. prices panels

def test_each_prices_panel_names_its_measure_and_unit(mill_effect, story, tmp_path, monkeypatch):
    fig = drawn(write_comparison_plots, story, tmp_path / "story", monkeypatch)["prices"]
    shown = titles(fig)
    assert len(shown) == len(set(shown)) == 9  # 3 sectors × 3 measures, no two alike
    for measure in ("Consumer price (% change)", "Producer price (% change)", "Output (% change)"):
        assert sum(t.startswith(measure) for t in shown) == 3
    (one,) = titles(drawn(write_comparison_plots, mill_effect, tmp_path / "mill", monkeypatch)["prices"])
    assert "Prices and output (% change): Iron and steel mill products, 2030" in one


# ------------------------------------------------------------------- 3. welfare over time

def test_welfare_path_is_linear_unless_symlog_is_asked_for(runs, tmp_path, monkeypatch):
    flagship = runs["steel_tariff_with_investment"]  # the US loss dwarfs the others: the CLI drew symlog
    fig = drawn(write_plots, flagship, tmp_path, monkeypatch)["welfare_path"]
    assert fig.axes[0].get_yscale() == "linear" and "log" not in fig.axes[0].get_ylabel()
    assert flagship.plot.welfare_path().get_yscale() == "linear"


@pytest.mark.parametrize("command", ["run", "compare"])
def test_the_command_line_draws_symlog_when_asked_and_says_so(command, tmp_path, monkeypatch):
    """run and compare had no way to ask for the symlog welfare path that Python draws with scale="symlog"."""
    from click.testing import CliRunner

    from sim.cli import main

    figures = {}
    monkeypatch.setattr(plots, "save_png", lambda fig, path: figures.__setitem__(Path(path).stem, fig))
    example = str(SCENARIOS / "example_steel_tariff.toml")
    other = tmp_path / "other.toml"  # a second scenario for compare, on the same small dataset
    other.write_text((SCENARIOS / "example_steel_tariff.toml").read_text(encoding="utf-8").replace(
        'name = "example_steel_tariff"', 'name = "other"').replace('label = "Example: steel 25%"', 'label = "Other"')
        .replace("rate = 0.25", "rate = 0.5"), encoding="utf-8")
    files = [example] if command == "run" else [example, str(other)]
    for scale in ("symlog", "linear"):
        figures.clear()
        chosen = ["--welfare-scale", scale] if scale == "symlog" else []
        result = CliRunner().invoke(main, [command, *files, "--out", str(tmp_path / scale), "--quiet", *chosen])
        assert result.exit_code == 0, result.output
        fig = figures["welfare_path"]
        ylabel = fig.axes[0].get_ylabel() if command == "run" else fig.get_supylabel()
        assert {ax.get_yscale() for ax in fig.axes if ax.get_visible()} == {scale}
        assert ("symmetric log scale" in ylabel) == (scale == "symlog"), ylabel
    refused = CliRunner().invoke(main, ["run", example, "--out", str(tmp_path / "x"), "--welfare-scale", "log"])
    assert refused.exit_code == 2 and "--welfare-scale" in refused.output and not (tmp_path / "x").exists()


def test_symlog_says_so_and_labels_its_positive_side(runs):
    ax = runs["steel_tariff_with_investment"].plot.welfare_path(scale="symlog")
    assert ax.get_yscale() == "symlog" and "symmetric log scale: linear within ±10" in ax.get_ylabel()
    ax.figure.canvas.draw()
    top = ax.get_ylim()[1]
    positive = [t for t in ax.get_yticklabels() if 0 < t.get_position()[1] <= top and t.get_text()]
    assert positive, [t.get_text() for t in ax.get_yticklabels()]
    plt.close(ax.figure)


@pytest.mark.parametrize("scale", ["linear", "symlog"])
def test_event_labels_are_never_struck_through_by_the_zero_line(runs, scale):
    ax = runs["example_steel_tariff"].plot.welfare_path(scale=scale)  # every value below 0: zero line on top
    fig = ax.figure
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    events = [t for t in ax.texts if t.get_gid() == plots.EVENT_GID]
    assert [t.get_text() for t in events] == ["new steel capacity in USA"]
    zero = ax.transData.transform((2025, 0.0))[1]
    highest = max(max(line.get_ydata()) for line in ax.get_lines() if len(line.get_ydata()) > 2)
    for text in events:
        box = text.get_window_extent(renderer)
        assert box.y0 > zero and box.y0 > ax.transData.transform((2025, highest))[1]
    plt.close(fig)


def test_the_gallery_lists_what_make_gallery_draws_and_the_two_scales_differ():
    sys.path.insert(0, str(ROOT / "docs"))
    try:
        import make_gallery
    finally:
        sys.path.remove(str(ROOT / "docs"))
    page = (ROOT / "docs" / "gallery.md").read_text(encoding="utf-8")
    shown = make_gallery.IMAGES + make_gallery.SCREENSHOTS
    assert tuple(re.findall(r"\(gallery/([^)]+\.png)\)", page)) == shown
    assert sorted(p.name for p in (ROOT / "docs" / "gallery").glob("*.png")) == sorted(shown)
    gallery = ROOT / "docs" / "gallery"
    assert (gallery / "flagship_welfare_path.png").read_bytes() != \
        (gallery / "flagship_welfare_path_symlog.png").read_bytes()


# ------------------------------------------------------------------- 4. slide-ready comparisons

def test_a_scenario_label_defaults_to_its_name_and_is_checked(tmp_path):
    assert run("steel_50pct_2025").info.shown_name == "Steel 50%"
    path = tmp_path / "plain.toml"
    path.write_text("name = 'plain'\ndataset = 'illustrative'\n", encoding="utf-8")
    assert sim.run(path).info.shown_name == "plain"
    for bad in ("''", '"two\\nlines"', f"'{'x' * 41}'", "3"):  # empty, a TOML newline escape, too long, a number
        path.write_text(f"name = 'plain'\nlabel = {bad}\ndataset = 'illustrative'\n", encoding="utf-8")
        with pytest.raises(InputError) as error:
            sim.load_scenario(path)
        assert str(path) in str(error.value) and "label" in str(error.value)


def test_six_scenario_welfare_has_horizontal_labels_that_do_not_collide(story, tmp_path, monkeypatch):
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    fig = drawn(write_comparison_plots, story, tmp_path, monkeypatch)["welfare"]
    (ax,) = fig.axes
    FigureCanvasAgg(fig)
    assert ax.get_title() == "Net welfare change by region, all sectors, long run: 6 scenarios"
    assert legend_texts(fig) == [["Steel 25%", "Steel 50%", "Autos 25%", "Auto deals at 15%", "Japan retaliates",
                                  "Japan-China free trade"]]
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    values = [t for t in ax.texts if t.get_text()]
    assert len(values) == 6 * 9 and all(t.get_rotation() == 0 for t in values)
    boxes = [t.get_window_extent(renderer) for t in values]
    overlaps = [(a.get_text(), b.get_text()) for i, (a, p) in enumerate(zip(values, boxes))
                for b, q in zip(values[i + 1:], boxes[i + 1:]) if p.overlaps(q)]
    assert overlaps == []


def test_many_scenario_imports_are_landscape_with_a_legend_per_panel(story, tmp_path, monkeypatch):
    fig = drawn(write_comparison_plots, story, tmp_path, monkeypatch)["imports_USA"]
    width, height = fig.get_size_inches()
    assert width > height
    assert fig.get_suptitle() == "Imports of USA by partner, 6 scenarios"
    for ax in fig.axes:
        drawn_names = {container.get_label() for container in ax.containers}
        assert {t.get_text() for t in ax.get_legend().get_texts()} == drawn_names
    assert legend_texts(fig)[0] == ["Steel 25%", "Steel 50%", "Auto deals at 15%", "Japan retaliates"]


def test_comparison_welfare_path_has_one_y_label(runs, tmp_path, monkeypatch):
    paths = sim.compare([run("nippon_steel_investment"), runs["steel_tariff_with_investment"],
                         runs["steel_tariffs_2025_2030"]])
    fig = drawn(write_comparison_plots, paths, tmp_path, monkeypatch)["welfare_path"]
    assert [ax.get_ylabel() for ax in fig.axes if ax.get_visible()] == [""] * 9
    assert fig.get_supylabel() == "Change from base (USD million)"
    assert legend_texts(fig) == [["Nippon Steel mill", "Steel tariffs + mill", "Steel tariffs, no mill"]]


def test_scenarios_that_share_a_label_are_shown_by_name(runs):
    twin = sim.compare({"a": runs["steel_50pct_2025"], "b": runs["steel_50pct_2025"]})
    ax = twin.plot.welfare()
    assert {"a", "b"} <= {t.get_text() for t in ax.get_legend().get_texts()}
    plt.close(ax.figure)


def test_a_case_renamed_in_code_drops_the_label_it_copied():
    deal = sim.load_scenario(SCENARIOS / "us_japan_deal_2025.toml")
    assert deal.scenario.label == "Auto deals at 15%"
    assert deal.replace(name="no_deal").scenario.label == ""  # notebook 02's no-deal baseline
    assert deal.replace(name="no_deal", label="No deal").scenario.label == "No deal"


def test_notebook_02s_deal_effect_labels_japan_with_the_no_deal_rate():
    deal = sim.load_scenario(SCENARIOS / "us_japan_deal_2025.toml")
    no_deal = sim.run(deal.replace(name="no_deal", tariffs=deal.scenario.tariffs[:6]))
    effect = sim.compare({"deals": sim.run(deal), "no_deal": no_deal}, baseline="no_deal")
    ax = effect.plot.imports("USA", sector="autos")
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert "JPN  27.5% → 15%" in labels, labels
    assert ax.get_title().endswith("relative to 'no_deal'")
    plt.close(ax.figure)


@pytest.mark.parametrize("names", [["steel_tariff_with_investment"],
                                   ["steel_tariff_with_investment", "steel_tariffs_2025_2030"]], ids=["one", "two"])
def test_welfare_by_owner_has_horizontal_labels_that_do_not_collide(runs, names, tmp_path, monkeypatch):
    """welfare_by_owner.png rotated its value labels 90 degrees, and neighbours ran into each other (issue 21)."""
    outcome = runs[names[0]] if len(names) == 1 else sim.compare([runs[n] for n in names])
    write = write_plots if len(names) == 1 else write_comparison_plots
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    fig = drawn(write, outcome, tmp_path, monkeypatch)["welfare_by_owner"]
    (ax,) = fig.axes
    FigureCanvasAgg(fig)
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    values = [t for t in ax.texts if t.get_text()]
    assert len(values) == 2 * len(names) * 9 and all(t.get_rotation() == 0 for t in values)
    boxes = [t.get_window_extent(renderer) for t in values]
    overlaps = [(a.get_text(), b.get_text()) for i, (a, p) in enumerate(zip(values, boxes))
                for b, q in zip(values[i + 1:], boxes[i + 1:]) if p.overlaps(q)]
    assert overlaps == []
    inside = ax.get_window_extent(renderer)
    assert all(inside.x0 <= box.x0 and box.x1 <= inside.x1 for box in boxes)  # no label runs off the Axes
