"""Demand shifts reported honestly (docs/model.md, "Welfare"): the shifting buyer's consumer surplus beside the
spill-over on other buyers, in demand_shifts.csv, the run summary and the welfare plots' footnote."""

from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner
from numpy.testing import assert_allclose

import sim
from sim.cli import main
from sim.excel import header
from sim.plots import demand_shift_footnote, new_figure, write_plots
from sim.statistics import DEMAND_SHIFT_COLUMNS, demand_shift_effects
from sim.summary import demand_shift_notes, run_summary

ROOT = Path(__file__).resolve().parents[1]
DEFENCE = ROOT / "scenarios" / "japan_defense_3pct.toml"
NO_SHIFT = ROOT / "scenarios" / "steel_232_2025.toml"


@pytest.fixture(scope="module")
def defence():
    return sim.run(DEFENCE)


def scenario(tmp_path, blocks: str, name="shifts") -> Path:
    """A long-run scenario on us_japan_2024 with the given ``[[demand_shift]]`` blocks."""
    path = tmp_path / f"{name}.toml"
    path.write_text(f'name = "{name}"\ntitle = "Demand shifts"\ndataset = "us_japan_2024"\n{blocks}', encoding="utf-8")
    return path


def shift(sector, region, change):
    return f'\n[[demand_shift]]\nsector = "{sector}"\nregion = "{region}"\nchange = {change}\n'


def test_spill_over_is_the_other_regions_consumer_surplus_in_each_year(defence):
    effects = demand_shift_effects(defence.frames)
    assert list(effects.index.unique("year")) == list(defence.years)
    assert set(effects.index.unique("region")) == {"JPN"} and set(effects.index.unique("sector")) == {
        "aerospace_defense"}
    welfare = defence.frames.welfare["consumer_surplus"]
    for (year, sector, region), row in effects.iterrows():
        market = welfare.xs((year, sector), level=("year", "sector"))
        assert row["consumer_surplus"] == market[region]
        assert_allclose(row["other_buyers_consumer_surplus"], market.drop(region).sum(), rtol=1e-12)
        assert row["other_buyers_consumer_surplus"] < 0 < row["demand_shift"]
    shifts = defence.frames.shifts["demand_shift"]
    assert_allclose(effects["demand_shift"], shifts[shifts != 0])
    assert effects.loc[(2030, "aerospace_defense", "JPN"), "demand_shift"] == pytest.approx(0.911)


def test_two_shifting_buyers_each_get_a_row_and_the_spill_over_counts_only_buyers_without_a_shift(tmp_path):
    res = sim.run(scenario(tmp_path, shift("aerospace_defense", "JPN", 0.5) + shift("aerospace_defense", "KOR", 0.2)))
    effects = demand_shift_effects(res.frames).xs(("long run", "aerospace_defense"), level=("year", "sector"))
    market = res.frames.welfare["consumer_surplus"].xs(("long run", "aerospace_defense"), level=("year", "sector"))
    others = market.drop(["JPN", "KOR"]).sum()
    assert list(effects.index) == ["JPN", "KOR"]
    assert_allclose(effects["other_buyers_consumer_surplus"], [others, others], rtol=1e-12)
    assert_allclose(effects["consumer_surplus"], market[["JPN", "KOR"]])
    notes = demand_shift_notes(res.by_scenario, res.infos, "long run")
    assert len(notes) == 2 and notes[0].startswith("JPN aerospace_defense: consumer surplus -")
    assert "(demand +20.0% at given prices)" in notes[1]


def test_a_fall_in_demand_is_described_as_purchases_forgone_and_a_gain_to_other_buyers(tmp_path):
    res = sim.run(scenario(tmp_path, shift("steel", "USA", -0.1)))
    row = demand_shift_effects(res.frames).loc[("long run", "steel", "USA")]
    assert row["consumer_surplus"] > 0 and row["other_buyers_consumer_surplus"] > 0
    (note,) = demand_shift_notes(res.by_scenario, res.infos, "long run")
    assert note == (f"USA steel: consumer surplus {row['consumer_surplus']:+,.0f} is the price effect of USA's own "
                    "reduced purchases (demand -10.0% at given prices); the value of the purchases forgone is "
                    "outside the model. Other buyers' gain from the lower world price: "
                    f"{row['other_buyers_consumer_surplus']:+,.0f}.")


def test_run_prints_one_line_per_shifting_region_with_the_welfare_tables_numbers_and_writes_the_table(tmp_path,
                                                                                                       defence):
    out = tmp_path / "out"
    result = CliRunner().invoke(main, ["run", str(DEFENCE), "--out", str(out), "--no-plots"])
    assert result.exit_code == 0, result.output
    row = defence.frames.welfare.loc[(2030, "aerospace_defense")]
    own, others = row.loc["JPN", "consumer_surplus"], row["consumer_surplus"].drop("JPN").sum()
    line = (f"JPN aerospace_defense: consumer surplus {own:+,.0f} is the price effect of JPN's own extra purchases "
            f"(demand +91.1% at given prices); the value of those purchases is outside the model. Other buyers' "
            f"loss from the higher world price: {others:+,.0f}.")
    lines = result.output.splitlines()
    assert lines.count(line) == 1
    world_row = next(n for n, text in enumerate(lines) if text.startswith("World "))  # the welfare table's last row
    assert lines[world_row + 1] == "" and lines[world_row + 3] == line
    assert lines[world_row + 2].startswith("Demand shifts, 2030 (USD million")
    table = pd.read_csv(out / "demand_shifts.csv")
    assert list(table.columns) == DEMAND_SHIFT_COLUMNS and len(table) == len(defence.years)
    last = table[table.year == 2030].iloc[0]
    assert_allclose([last.consumer_surplus, last.other_buyers_consumer_surplus], [own, others], rtol=1e-9)


def test_a_scenario_without_demand_shifts_prints_no_such_line_and_writes_no_table(tmp_path):
    out = tmp_path / "out"
    result = CliRunner().invoke(main, ["run", str(NO_SHIFT), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "Demand shifts" not in result.output and "outside the model" not in result.output
    assert not (out / "demand_shifts.csv").exists()
    res = sim.run(NO_SHIFT)
    assert demand_shift_effects(res.frames).empty and "Demand shifts" not in run_summary(res)
    fig = new_figure(10, 5)
    assert demand_shift_footnote(fig, res.by_scenario, res.infos) is None and fig.get_supxlabel() == ""


def test_the_welfare_plots_carry_the_note_as_a_footnote(tmp_path, defence, monkeypatch):
    import sim.plots as plots

    drawn = {}
    monkeypatch.setattr(plots, "save_png", lambda fig, path: drawn.__setitem__(Path(path).stem, fig))
    write_plots(defence, tmp_path)
    (note,) = demand_shift_notes(defence.by_scenario, defence.infos, 2030, minus="\u2212")
    for name in ("welfare", "welfare_path"):
        text = drawn[name].get_supxlabel().replace("\n", " ")
        assert text == f"Note (2030): {note}", name
        assert "consumer surplus \u2212" in text and "-" not in text.split(":", 2)[2].replace("_", " ")
    assert drawn["prices"].get_supxlabel() == ""


def test_the_excel_headers_name_the_units_of_the_new_columns():
    assert header("other_buyers_consumer_surplus", "USD million", "demand_shifts") == \
        "other_buyers_consumer_surplus [USD million]"
    assert header("demand_shift", "USD million", "demand_shifts") == "demand_shift [share, 0.25 = 25%]"
