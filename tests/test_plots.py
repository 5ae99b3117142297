"""Every plot is produced, draws what it says, takes ax= and returns the Axes."""

from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pytest

import sim
from sim.plots import write_plots

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def results():
    return sim.run(ROOT / "scenarios" / "example_steel_tariff.toml")


def test_welfare_plot_stacks_components_and_marks_net(results):
    _, ax = plt.subplots()
    assert results.plot.welfare(ax=ax) is ax
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels == ["Consumer surplus", "Producer surplus", "Tariff revenue", "Net welfare"]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["USA", "JPN", "CHN", "ROW"]
    assert "USD million" in ax.get_ylabel() and "2028" in ax.get_title()
    net = ax.collections[0].get_offsets()[:, 1]
    expected = results.welfare_by_region(2028)["net_welfare"].to_numpy()
    np.testing.assert_allclose(np.asarray(net), expected, rtol=1e-12)


def test_imports_plot_leaves_out_unchanged_sectors(results):
    ax = results.plot.imports()  # default: the first shocked importer
    assert "Imports of USA" in ax.get_title()
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["steel"]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["JPN", "CHN", "ROW"]


def test_prices_plot_defaults_to_the_sector_that_moves(results):
    ax = results.plot.prices(year=2025)
    assert "steel" in ax.get_title() and "2025" in ax.get_title()
    assert len(ax.patches) == 8  # producer and consumer bars for 4 regions


def test_welfare_path_has_a_line_per_region(results):
    ax = results.plot.welfare_path()
    assert len(ax.get_lines()) == 4 + 1  # regions and the zero line
    assert ax.get_xlabel() == "Year"


def test_unknown_year_or_sector_is_a_clear_error(results):
    with pytest.raises(ValueError, match="year 2040 is not in the results"):
        results.plot.welfare(year=2040)
    with pytest.raises(ValueError, match="no sector 'steal'"):
        results.plot.prices("steal")


def test_write_plots_makes_non_empty_pngs(results, tmp_path):
    paths = write_plots(results, tmp_path)
    assert sorted(p.name for p in paths) == ["imports_USA.png", "prices.png", "welfare.png", "welfare_path.png"]
    for p in paths:
        assert p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and p.stat().st_size > 10_000
