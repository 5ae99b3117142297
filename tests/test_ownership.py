"""Ownership and the investor's returns (docs/model.md, "Ownership", "Investments"), checked by hand computations."""

import math
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose

import sim
from sim.ownership import in_play, new_capacity_surplus

ROOT = Path(__file__).resolve().parents[1]
ILLUSTRATIVE = ROOT / "sim" / "datasets" / "illustrative"
US_JAPAN = ROOT / "sim" / "datasets" / "us_japan_2024"
X_USA = 100000 + 200 + 300 + 8000  # the illustrative dataset's US steel output
USA, JPN, CHN = 0, 1, 2
STEEL = 0


def dataset_with(tmp_path, ownership: str | None, name="ds") -> Path:
    folder = tmp_path / name
    shutil.copytree(ILLUSTRATIVE, folder)
    if ownership is not None:
        (folder / "ownership.csv").write_text("sector,location,owner,share,basis,source,note\n" + ownership)
    return folder


def scenario(tmp_path, body: str, dataset: str = "./ds") -> Path:
    path = tmp_path / "s.toml"
    path.write_text(f'name = "s"\ndataset = "{dataset}"\n' + body)
    return path


def message(call) -> str:
    with pytest.raises(sim.InputError) as info:
        call()
    return str(info.value)


TARIFF = '[[tariff]]\nsector = "steel"\nimporter = "USA"\nexporter = "*"\nrate = 0.25\n'
MILL = ('[[investment]]\nname = "mill"\nsector = "steel"\nhost = "USA"\ninvestor = "JPN"\ncapacity = 3000\n'
        'amount = 4000\nlife_years = 10\ndiscount_rate = 0.1\noperating_margin = 0.2\n')


class TestDatasetFile:
    def test_bad_rows_are_named_with_file_and_value(self, tmp_path):
        folder = dataset_with(tmp_path, "steel,USA,JPN,1.5,assumed,ILL,\nsteal,USA,JPN,0.1,assumed,ILL,\n"
                                        "autos,USA,JPN,0.7,assumed,ILL,\nautos,USA,CHN,0.4,assumed,ILL,\n"
                                        "autos,USA,JPN,0.1,assumed,ILL,\nsteel,USA,USA,0.1,assumed,ILL,\n")
        text = message(lambda: sim.load_dataset(folder))
        assert "ownership.csv: line 2: share must be a number from 0 to 1, got '1.5'" in text
        assert "ownership.csv: line 3: unknown sector 'steal' (did you mean 'steel'?)" in text
        assert "ownership.csv: line 6: duplicate row for autos USA->JPN (first on line 4)" in text
        assert ("ownership.csv: autos USA: foreign owners' shares add up to 1.1 (JPN 0.7, CHN 0.4): more than 1"
                in text)
        assert "steel USA->USA: owner 'USA' is the location itself" in text

    def test_a_location_keeps_what_foreign_owners_leave(self, tmp_path):
        folder = dataset_with(tmp_path, "steel,USA,JPN,0.25,assumed,ILL,\nsteel,USA,CHN,0.5,assumed,ILL,\n")
        ds = sim.load_dataset(folder)
        assert ds.ownership[STEEL, USA, JPN] == 0.25 and ds.ownership[STEEL, USA, CHN] == 0.5
        assert ds.ownership[STEEL, USA, USA] == 0.0 and "ownership.csv" in ds.file_hashes


class TestScenarioBlocks:
    def test_bad_values_each_get_a_message(self, tmp_path):
        dataset_with(tmp_path, "steel,USA,JPN,0.7,assumed,ILL,\n")
        body = ('[[ownership]]\nsector = "steel"\nlocation = "USA"\nowner = "JPM"\nshare = 0.2\n'
                '[[ownership]]\nsector = "steel"\nlocation = "USA"\nowner = "CHN"\nshare = 1.2\n'
                '[[ownership]]\nsector = "steel"\nlocation = "USA"\nowner = "USA"\nshare = 0.2\n'
                '[[investment]]\nsector = "steel"\nhost = "USA"\ncapacity = 10\noperating_margin = 0\n'
                'life_years = 0\ndiscount_rate = 1\n'
                '[[investment]]\nsector = "steel"\nhost = "USA"\ncapacity = 10\nlife_years = 5\n')
        text = message(lambda: sim.load_scenario(scenario(tmp_path, body)))
        assert "ownership[1].owner: unknown region 'JPM' (did you mean 'JPN'?)" in text
        assert "ownership[2].share: must be between 0 and 1, got 1.2" in text
        assert "ownership[3].owner: 'USA' is also the location" in text
        assert "investment[1].operating_margin: must be above 0 and at most 1 (0.14 = 14% of revenue), got 0.0" in text
        assert "investment[1].life_years: must be a whole number of years from 1 to 200, got 0" in text
        assert "investment[1].discount_rate: must be from 0 to below 1 (0.08 = 8% a year), got 1.0" in text
        assert "investment[1].amount: is required with operating_margin" in text
        assert "investment[2].life_years: is used only with operating_margin" in text

    def test_a_change_that_leaves_the_location_a_negative_share_is_refused(self, tmp_path):
        dataset_with(tmp_path, "steel,USA,JPN,0.7,assumed,ILL,\n")
        body = ('years = [2025, 2026]\n[[ownership]]\nsector = "steel"\nlocation = "USA"\nowner = "CHN"\n'
                'share = 0.4\nstart = 2026\n')
        text = message(lambda: sim.load_scenario(scenario(tmp_path, body)))
        assert ("ownership[1].share: foreign owners' shares of steel in USA add up to 1.1 in 2026 (JPN 0.7, CHN 0.4): "
                "the location's own share would be negative") in text

    def test_amount_may_stand_beside_capacity(self, tmp_path):
        dataset_with(tmp_path, None)
        case = sim.load_scenario(scenario(tmp_path, MILL))
        inv = case.scenario.investments[0]
        assert (inv.full_capacity, inv.amount, inv.has_returns) == (3000, 4000, True)


def run(tmp_path, body, ownership=None):
    dataset_with(tmp_path, ownership)
    return sim.run(scenario(tmp_path, body))


class TestSplit:
    def test_new_capacity_surplus_closed_form(self):
        assert_allclose(new_capacity_surplus(1000.0, 0.1, 1.2, 2.0), 1000 * 0.1 * 1.2 ** 3 / 3, rtol=1e-15)
        assert new_capacity_surplus(1000.0, 0.1, 1.0, math.inf) == 0.0

    def test_host_surplus_splits_into_existing_producers_and_the_investors_capacity(self, tmp_path):
        res = run(tmp_path, TARIFF + MILL)
        p = res.solution.producer_price[0, STEEL, USA]
        s = 3000 / X_USA
        new = X_USA * s * p ** 3 / 3  # eps = 2 for US steel
        existing = X_USA * (p ** 3 - 1) / 3
        location = res.frames.welfare.loc[("long run", "steel")]
        owner = res.frames.owners.loc[("long run", "steel")]
        assert_allclose(location.loc["USA", "producer_surplus"], new + existing, rtol=1e-12)
        assert_allclose(owner.loc["USA", "producer_surplus"], existing, rtol=1e-10)
        assert_allclose(owner.loc["JPN", "producer_surplus"], location.loc["JPN", "producer_surplus"] + new,
                        rtol=1e-12)
        assert_allclose(owner.loc["JPN", "ownership_transfer"], new, rtol=1e-12)
        assert_allclose(owner["net_welfare"].sum(), location["net_welfare"].sum(), rtol=1e-12)
        assert_allclose(res.frames.investments.loc[("long run", "mill"), "new_capacity_surplus"], new, rtol=1e-12)

    def test_existing_producers_go_to_their_owners_by_share(self, tmp_path):
        dataset_with(tmp_path, "steel,USA,JPN,0.25,assumed,ILL,\n")
        res = sim.run(scenario(tmp_path, 'years = [2025, 2026]\n' + TARIFF + '[[ownership]]\nsector = "steel"\n'
                               'location = "USA"\nowner = "CHN"\nshare = 0.1\nstart = 2026\n'))
        for year, to_chn in ((2025, 0.0), (2026, 0.1)):
            loc = res.frames.welfare.loc[(year, "steel"), "producer_surplus"]
            own = res.frames.owners.loc[(year, "steel"), "producer_surplus"]
            us = loc["USA"]
            assert_allclose(own["USA"], (1 - 0.25 - to_chn) * us, rtol=1e-12)
            assert_allclose(own["JPN"], loc["JPN"] + 0.25 * us, rtol=1e-12)
            assert_allclose(own["CHN"], loc["CHN"] + to_chn * us, rtol=1e-12)
        world = res.statistics.welfare(world=True, by="owner").loc[("s", "World")]
        assert_allclose(world["net_welfare"], res.statistics.net_welfare(world=True).loc[("s", "World")], rtol=1e-12)
        assert_allclose(world["ownership_transfer"], 0.0, atol=1e-9)

    def test_displacement_stays_with_the_investors_home_producers(self, tmp_path):
        res = run(tmp_path, MILL + "displaces_exports = 0.5\n")
        loc = res.frames.welfare.loc[("long run", "steel"), "producer_surplus"]
        own = res.frames.owners.loc[("long run", "steel"), "producer_surplus"]
        new = res.frames.investments.loc[("long run", "mill"), "new_capacity_surplus"]
        assert_allclose(own["JPN"], loc["JPN"] + new, rtol=1e-12)  # Japan's shrunken supply is still Japan's


class TestNothingOwnedAbroad:
    def test_today_numbers_and_files(self, tmp_path):
        """The golden scenario on a copy of us_japan_2024 without ownership.csv, and with it: welfare by location is
        identical; without, welfare by owner equals it and no new file is written."""
        golden = ROOT / "scenarios" / "steel_50pct_2025.toml"
        plain = tmp_path / "plain"
        shutil.copytree(US_JAPAN, plain)
        (plain / "ownership.csv").unlink()
        text = golden.read_text().replace('dataset = "us_japan_2024"', f'dataset = "{plain}"')
        (tmp_path / "g.toml").write_text(text)
        without, with_file = sim.run(tmp_path / "g.toml"), sim.run(golden)
        pd.testing.assert_frame_equal(without.welfare, with_file.welfare.assign(scenario=without.name))
        pd.testing.assert_frame_equal(without.frames.owners.drop(columns="ownership_transfer"),
                                      without.frames.welfare)
        assert (without.frames.owners["ownership_transfer"] == 0).all()
        assert in_play(with_file.case) and not in_play(without.case)
        without.write(tmp_path / "out", plots=False)
        assert sorted(p.name for p in (tmp_path / "out").iterdir() if not p.name.startswith(".")) == [
            "flows.csv", "prices.csv", "run.json", "welfare.csv"]


class TestReturns:
    def test_fixed_price_host_closed_form(self, tmp_path):
        """eps = inf at the host: p̂ = 1, so revenue = capacity; PV = margin × capacity × annuity."""
        res = run(tmp_path, MILL + '[elasticities.steel]\neps = { USA = "inf" }\n')
        r = res.frames.returns.loc["mill"]
        profit = 0.2 * 3000
        annuity = sum(1.1 ** -t for t in range(10))
        assert_allclose(r["present_value"], profit * annuity, rtol=1e-12)
        assert_allclose(r["npv"], profit * annuity - 4000, rtol=1e-12)
        assert r["payback_years"] == 7  # 6 x 600 = 3,600 < 4,000 <= 7 x 600
        assert math.isnan(r["payback_year"])  # a long-run scenario has no calendar
        assert res.frames.investments.loc[("long run", "mill"), "revenue"] == 3000

    def test_dated_life_ramps_and_repeats_the_last_year(self, tmp_path):
        body = 'years = [2025, 2026]\n' + MILL.replace("capacity = 3000", "capacity = 3000\nstart = 2025\n"
                                                       "ramp_years = 2")
        res = run(tmp_path, body.replace("[[investment]]", TARIFF + "[[investment]]"))
        p = res.solution.producer_price[:, STEEL, USA]
        revenue = 3000 * p ** 3  # X s_inv p̂^(1+eps), eps = 2
        table = res.frames.investments.xs("mill", level="investment")
        assert_allclose(table["revenue"], [0.5 * revenue[0], revenue[1]], rtol=1e-12)
        assert_allclose(table["output"], [0.5 * 3000 * p[0] ** 2, 3000 * p[1] ** 2], rtol=1e-12)
        profits = 0.2 * np.array([0.5 * revenue[0]] + [revenue[1]] * 9)  # 2027-2034 repeat 2026
        r = res.frames.returns.loc["mill"]
        assert_allclose(r["present_value"], sum(v / 1.1 ** t for t, v in enumerate(profits)), rtol=1e-12)
        first = int(np.flatnonzero(np.cumsum(profits) >= 4000)[0])
        assert r["payback_year"] == 2025 + first and r["start"] == 2025

    def test_draws_give_intervals_around_the_present_value(self, tmp_path):
        dataset_with(tmp_path, None)
        res = sim.run(scenario(tmp_path, TARIFF + MILL), draws=40, seed=3)
        r = res.frames.returns.loc["mill"]
        assert r["present_value_p05"] < r["present_value_p95"]
        assert_allclose(r["npv_p05"], r["present_value_p05"] - 4000, rtol=1e-12)
        assert r["present_value_p05"] <= r["present_value"] * 1.2


def test_outputs_and_summary(tmp_path):
    res = run(tmp_path, TARIFF + MILL, "autos,USA,JPN,0.3,assumed,ILL,\n")
    res.write(tmp_path / "out")
    names = {p.name for p in (tmp_path / "out").iterdir()}
    assert {"welfare_by_owner.csv", "investments.csv", "investment_returns.csv"} <= names
    assert (tmp_path / "out" / "plots" / "welfare_by_owner.png").is_file()
    owner = pd.read_csv(tmp_path / "out" / "welfare_by_owner.csv")
    welfare = pd.read_csv(tmp_path / "out" / "welfare.csv")
    assert_allclose(owner["net_welfare"].sum(), welfare["net_welfare"].sum(), rtol=1e-9)
    from sim.summary import run_summary
    text = run_summary(res)
    assert "Net welfare by location and by owner" in text and "NPV after the 4,000 cost" in text
