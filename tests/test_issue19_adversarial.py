"""Issue 19, adversarial review: cases a demanding user hit in the four new features, one test each."""

import re
import warnings
from pathlib import Path

import numpy as np
import pytest

import sim
from sim.errors import ScenarioWarning
from sim.scenario import Ownership
from sim.summary import return_lines

ROOT = Path(__file__).resolve().parents[1]

STEEL_TARIFF = sim.Tariff(sector="steel", importer="USA", exporter="*", rate=0.25, start=2025)


def _scenario(name, years, **blocks):
    return sim.Scenario(name=name, dataset="us_japan_2024", years=years, tariffs=(STEEL_TARIFF,), **blocks)


def test_short_run_counts_from_a_shock_that_started_before_the_first_year():
    """A tariff in force since 2025 is in its third year in 2027, whichever years the scenario lists:
    the short-run path must not restart at the scenario's first year."""
    from_2025 = sim.run(_scenario("from_2025", [2025, 2027]))
    from_2026 = sim.run(_scenario("from_2026", [2026, 2027]))
    for name in ("sigma", "eps"):
        assert np.array_equal(from_2025.case.shocks.adjustment[name][-1],
                              from_2026.case.shocks.adjustment[name][-1]), name
    welfare = [r.welfare[r.welfare.year == 2027].net_welfare.to_numpy() for r in (from_2025, from_2026)]
    np.testing.assert_array_equal(*welfare)


def test_short_run_still_starts_at_the_first_shocked_year_within_the_scenario():
    """The fix above must not move y0 for a shock that starts inside the scenario."""
    case = sim.load_scenario(ROOT / "scenarios" / "steel_tariffs_2025_2030.toml")
    assert case.shocks.adjustment["sigma"][0, 0] == pytest.approx(0.38)


def test_adjustment_block_in_a_long_run_scenario_is_not_silently_ignored():
    """A long-run scenario is solved at the long-run elasticities: its own [[adjustment]] has no effect."""
    scenario = sim.Scenario(name="static", dataset="us_japan_2024", tariffs=(STEEL_TARIFF,),
                            adjustments=(sim.Adjustment("steel", "sigma", "*", 0.2, 2.0),))
    with pytest.warns(ScenarioWarning, match=r"adjustment\[1\].*long-run scenario"):
        sim.run(scenario)


def test_long_run_scenario_without_adjustment_blocks_does_not_warn():
    """The dataset's own rules (adjustment.csv) are no reason to warn a long-run scenario."""
    scenario = sim.Scenario(name="static", dataset="us_japan_2024", tariffs=(STEEL_TARIFF,))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        sim.run(scenario)


def test_foreign_shares_above_one_are_one_problem_not_one_per_year():
    """The same over-full cell in six years is one problem naming the years, not six messages."""
    scenario = _scenario("over", [2025, 2026, 2027, 2028, 2029, 2030],
                         ownership=(Ownership("steel", "USA", "JPN", 0.6), Ownership("steel", "USA", "EU", 0.6)))
    with pytest.raises(sim.InputError) as caught:
        sim.run(scenario)
    assert len(caught.value.problems) == 1
    assert "2025-2030" in str(caught.value)


def _with_returns(name, years, start, life):
    mill = sim.Investment(sector="steel", host="USA", capacity=1000.0, investor="JPN", name="mill", start=start,
                          amount=4000.0, life_years=life, discount_rate=0.08, operating_margin=0.14)
    return sim.run(sim.Scenario(name=name, dataset="us_japan_2024", years=years, tariffs=(STEEL_TARIFF,),
                                investments=(mill,)))


def test_return_line_never_prints_nan_when_the_life_ends_before_the_last_year():
    res = _with_returns("short", [2025, 2026, 2027, 2028], start=2025, life=2)
    line = return_lines(res)[1]
    assert "nan" not in line.lower()
    assert "2026" in line  # says when the life ends


def test_return_line_of_a_long_run_scenario_does_not_discount_to_the_long_run():
    res = _with_returns("static", None, start=None, life=10)
    line = return_lines(res)[1]
    assert "to long run" not in line


def test_return_line_shows_rates_that_are_not_whole_percent():
    mill = sim.Investment(sector="steel", host="USA", capacity=1000.0, investor="JPN", name="mill", start=2025,
                          amount=4000.0, life_years=10, discount_rate=0.085, operating_margin=0.145)
    res = sim.run(_scenario("rates", [2025], investments=(mill,)))
    line = return_lines(res)[1]
    assert "8.5%" in line and "14.5%" in line


def test_welfare_by_owner_plot_of_a_comparison_says_which_scenario_each_bar_is():
    a = _with_returns("with_mill", [2025, 2026], start=2025, life=10)
    b = sim.run(_scenario("without_mill", [2025, 2026]))
    both = sim.compare([a, b])
    ax = both.plot.welfare_by_owner()
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    for name in ("with_mill", "without_mill"):
        assert name in labels, labels


def test_docs_list_every_column_of_welfare_csv():
    """docs/model.md and README.md's Outputs tables name every column welfare.csv has (exporter_margin too)."""
    columns = sim.run(_scenario("cols", [2025])).welfare.columns
    for doc in ("docs/model.md", "README.md"):
        row = next(line for line in (ROOT / doc).read_text(encoding="utf-8").splitlines()
                   if line.startswith("| `welfare.csv` |"))
        listed = set(re.findall(r"[a-z_]+", row.split("|")[2]))
        assert set(columns) <= listed, (doc, set(columns) - listed)
