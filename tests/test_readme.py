"""The README's quick start and flagship table say what the code does."""

import re
from pathlib import Path

import pytest

import sim

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")


def test_quick_start_is_two_commands_and_ci_runs_the_second():
    block = README.split("## Quick start", 1)[1].split("## ", 1)[0]
    commands = re.findall(r"```bash\n(.+?)\n```", block)
    assert len(commands) == 2
    assert "run_sim.py run scenarios/steel_tariff_with_investment.toml" in commands[0]
    assert 'pip install -q -e ".[test]"' in commands[1] and "pytest" in commands[1]
    assert 'pip install -q -e ".[test]"' in (ROOT / ".ci" / "run").read_text()


def table_rows():
    lines = [line for line in README.splitlines() if re.match(r"\| 20\d\d \|", line)]
    return [[cell.strip() for cell in line.strip("|").split("|")] for line in lines]


def pct(value):
    return f"{value:+.1f}%"


def whole_pct(value):
    return f"{value:+.0f}%".replace("-", "−")


def money(value):
    return f"{value:+,.0f}".replace("-", "−")


@pytest.fixture(scope="module")
def flagship():
    return sim.run(ROOT / "scenarios" / "steel_tariff_with_investment.toml")


def test_flagship_table_matches_a_fresh_run(flagship):
    rows = table_rows()
    assert [int(r[0]) for r in rows] == [2025, 2026, 2030]
    flows, prices, welfare = flagship.flows, flagship.prices, flagship.welfare
    for row in rows:
        year = int(row[0])
        steel = (flows.year == year) & (flows.sector == "steel")
        us_price = prices[(prices.year == year) & (prices.sector == "steel") & (prices.region == "USA")].iloc[0]
        imports = flows[steel & (flows.importer == "USA") & (flows.exporter != "USA")]
        japan = flows[steel & (flows.importer == "USA") & (flows.exporter == "JPN")].iloc[0]
        w = welfare[(welfare.year == year) & (welfare.sector == "steel")].set_index("region")
        expected = [
            pct(us_price.consumer_price_pct).replace("-", "−"), pct(us_price.output_pct).replace("-", "−"),
            whole_pct((imports.value.sum() / imports.base_value.sum() - 1) * 100), whole_pct(japan.value_pct),
            money(w.loc["USA", "consumer_surplus"]), money(w.loc["USA", "producer_surplus"]),
            money(w.loc["USA", "tariff_revenue"]), money(w.loc["USA", "quota_rent"]),
            money(w.loc["USA", "net_welfare"]),
            money(w.loc["JPN", "net_welfare"]), money(w.loc["CAN", "net_welfare"]),
        ]
        assert row[1:] == expected, year


def readme_commands(word):
    return [c for c in re.findall(r"```bash\n(.+?)\n```", README) if f"run_sim.py {word} " in c]


def test_readme_compare_commands_run_and_their_plot_is_shown(tmp_path):
    from click.testing import CliRunner

    from sim.cli import main

    commands = readme_commands("compare")
    assert len(commands) == 3
    for command in commands:
        args = command.split("run_sim.py ", 1)[1].split()
        args = [str(ROOT / a) if a.startswith("scenarios/") else a for a in args]
        args[args.index("--out") + 1] = str(tmp_path / args[args.index("--out") + 1])
        result = CliRunner().invoke(main, [*args, "--no-plots"])
        assert result.exit_code == 0, result.output
    assert "![Net welfare of the 2025 scenarios by region](docs/gallery/compare_2025_welfare.png)" in README
    assert (ROOT / "docs" / "gallery" / "compare_2025_welfare.png").is_file()


def test_readme_mill_effect_numbers_match_a_fresh_comparison():
    both = sim.compare([sim.run(ROOT / "scenarios" / "steel_tariff_with_investment.toml"),
                        sim.run(ROOT / "scenarios" / "steel_tariffs_2025_2030.toml")],
                       baseline="steel_tariffs_2025_2030")
    net = both.welfare_by_region(2030)["net_welfare"].droplevel("scenario")
    assert f"about +{round(net['USA'], -2):,.0f} a year" in README
    assert abs(net["JPN"]) < 5 and "for Japan the change is about 0" in README


def test_readme_links_point_at_files_in_the_repository():
    for target in re.findall(r"\]\(([^)#]+)(?:#[^)]*)?\)", README):
        if not target.startswith("http"):
            assert (ROOT / target).exists(), target


def test_readme_quota_numbers_match_a_fresh_comparison():
    import dataclasses

    fifty = sim.run(ROOT / "scenarios" / "steel_50pct_2025.toml")
    case = sim.load_scenario(ROOT / "scenarios" / "japan_steel_trq_restored.toml")
    held_by = {"importer": sim.run(case)}
    quota = case.scenario.quotas[0]
    held_by["exporter"] = sim.run(case.replace(quotas=(dataclasses.replace(quota, rent="exporter"),)))
    row = held_by["importer"].frames.quotas.loc[("long run", "steel", "JPN", "USA")]
    assert f"the rate that fills the quota is {100 * row['rate']:.1f}%" in README
    assert f"The rent (USD {row['quota_rent']:.0f} m)" in README
    key = ("long run", "steel", "JPN", "USA")
    ratio = held_by["importer"].frames.flows.loc[key, "value"] / fifty.frames.flows.loc[key, "value"]
    assert f"{ratio:.1f} times what they are at 50%" in README
    net = {holder: sim.compare([res, fifty], baseline="steel_50pct_2025").welfare_by_region()["net_welfare"]
           .droplevel("scenario") for holder, res in held_by.items()}
    assert f"Japan about {net['importer']['JPN']:.0f} m" in README
    assert round(net["importer"]["USA"], -2) == 100 and "US gains about USD 100 m a year" in README
    assert f"(US +{net['exporter']['USA']:.0f}, Japan +{net['exporter']['JPN']:.0f})" in README


def test_readme_flagship_interval_matches_a_fresh_monte_carlo():
    res = sim.run(ROOT / "scenarios" / "steel_tariff_with_investment.toml", draws=1000, seed=7)
    s = res.uncertainty.summary
    rows = s[(s.table == "welfare") & (s.sector == "all") & (s.year == 2030) & (s.quantity == "net_welfare")]
    us = rows.set_index("region").loc["USA"]
    assert f"interval of USD {money(us.p05)} to {money(us.p95)} million around the central {money(us.central)}" \
        .replace("+", "") in README
    world = res.uncertainty.intervals.loc[(2030, "World")]
    assert f"(World {money(world.p05)} to {money(world.p95)})".replace("+", "") in README
    assert "--draws 1000 --seed 7" in README


def test_readme_who_paid_the_auto_tariffs_matches_a_fresh_run():
    res = sim.run(ROOT / "scenarios" / "autos_tariffs_2025_2030.toml")
    w = res.welfare_by_region(2025)
    japan = res.frames.flows.loc[(2025, "autos", "JPN", "USA")]
    us_price = res.frames.prices.loc[(2025, "autos", "USA"), "consumer_price_pct"]
    bn = lambda x: f"{abs(x) / 1000:.1f}"  # noqa: E731
    text = README.replace("\n", " ")
    assert f"USD {bn(w.loc['USA', 'tariff_revenue'])} bn of auto tariff revenue" in text
    assert f"absorb USD {bn(w.loc['JPN', 'exporter_margin'])} bn" in text
    assert f"lose USD {bn(w.loc['USA', 'consumer_surplus'])} bn of consumer surplus" in text
    assert f"the US gains USD {bn(w.loc['USA', 'net_welfare'])} bn that year while Japan loses USD " \
           f"{bn(w.loc['JPN', 'net_welfare'])} bn" in text
    assert f"hold their volume ({japan['volume_pct']:+.1f}%" in text
    assert f"value falls {abs(japan['value_pct']):.1f}%" in text
    assert f"new-vehicle prices ({us_price:+.1f}% against" in text
    assert w.loc["JPN", "exporter_margin"] < 0 and w.loc["USA", "net_welfare"] > 0
    yen = -w.loc["JPN", "exporter_margin"] * 150.97 / 1e6  # USD million at the dataset's 2024 JPY rate, in JPY tn
    assert f"about JPY {yen:.1f} tn at the dataset's 2024 rate of 151 yen" in text


def test_readme_mill_returns_and_owner_numbers_match_fresh_runs():
    """'Is the mill worth more behind a 50% tariff, and to whom?' re-derived from the three steel timelines."""
    part = README.split("### Is the mill worth more behind a 50% tariff, and to whom?", 1)[1].split("\nOther ", 1)[0]
    text = " ".join(part.split())
    runs = {name: sim.run(ROOT / "scenarios" / f"{name}.toml") for name in
            ("steel_tariff_with_investment", "nippon_steel_investment", "steel_tariffs_2025_2030")}
    behind, alone, tariffs = runs.values()
    rb, ra = behind.frames.returns.iloc[0], alone.frames.returns.iloc[0]
    assert f"operating profit of USD {rb['operating_profit_last_year']:,.0f} m a year" in text
    assert f"worth USD {rb['present_value']:,.0f} m in 2029" in text and f"NPV of +{rb['npv']:,.0f} m" in text
    assert f"USD {rb['amount']:,.0f} m cost, paying back in {rb['payback_year']:.0f}" in text
    assert f"earns USD {ra['operating_profit_last_year']:,.0f} m a year, worth USD {ra['present_value']:,.0f} m" in text
    assert f"(NPV +{ra['npv']:,.0f} m), paying back in {ra['payback_year']:.0f}" in text
    assert f"adds about USD {rb['npv'] - ra['npv']:,.0f} m" in text
    by_owner = behind.statistics.net_welfare(by="owner", year=2030).droplevel("scenario")
    by_location = behind.statistics.net_welfare(year=2030).droplevel("scenario")
    jpn = f"Japan gains USD {by_owner['JPN']:,.0f} m in 2030 where by location it loses {-by_location['JPN']:,.0f}"
    assert jpn in text
    mill = behind.frames.investments.loc[(2030, rb.name), "new_capacity_surplus"]
    transfer = behind.frames.owners.loc[(2030, "steel", "JPN"), "ownership_transfer"]
    assert f"(USD {mill:,.0f} m," in text and f"tariff gain (USD {transfer - mill:,.0f} m)" in text
    assert f"loses USD {-by_owner['USA']:,.0f} m instead of {-by_location['USA']:,.0f}" in text
    acquired = tariffs.frames.owners.loc[(2030, "steel", "JPN"), "ownership_transfer"]
    assert f"gives Nippon Steel USD {acquired:,.0f} m" in text
    us = alone.frames.welfare.loc[(2030, "steel", "USA"), "producer_surplus"]
    existing = us - alone.frames.investments.loc[(2030, ra.name), "new_capacity_surplus"]
    assert f"takes USD {-existing:,.0f} m a year from existing US mills, USD {-0.16 * existing:,.0f} m" in text


def test_readme_linked_numbers_match_a_fresh_run():
    linked = sim.run(ROOT / "scenarios" / "steel_tariff_with_investment_linked.toml")
    plain = sim.run(ROOT / "scenarios" / "steel_tariff_with_investment.toml")
    text = " ".join(README.split("### Steel is an input", 1)[1].split("Other shipped", 1)[0].split())
    w = linked.frames.welfare.xs((2026, "USA"), level=("year", "region"))
    p = linked.frames.prices.xs((2026, "USA"), level=("year", "region"))
    m = lambda x: f"{abs(x):,.0f}"  # noqa: E731
    assert f"car makers' producer surplus falls by USD {m(w.loc['autos', 'producer_surplus'])} m" in text
    assert f"their buyers' by USD {m(w.loc['autos', 'consumer_surplus'])} m" in text
    assert f"(car prices {p.loc['autos', 'producer_price_pct']:+.2f}%, output {p.loc['autos', 'output_pct']:+.2f}%)" \
        .replace("-", "−") in text
    assert f"aircraft and defence makers lose USD {m(w.loc['aerospace_defense', 'producer_surplus'])} m" in text
    assert f"other goods producers USD {m(w.loc['other_goods', 'producer_surplus'])} m, their buyers USD " \
           f"{m(w.loc['other_goods', 'consumer_surplus'])} m" in text
    assert f"US steel producers gain USD {m(w.loc['steel', 'producer_surplus'])} m and the Treasury USD " \
           f"{m(w.loc['steel', 'tariff_revenue'])} m" in text
    plain_steel = plain.frames.prices.loc[(2026, "steel", "USA"), "output_pct"]
    assert f"US steel output rises {p.loc['steel', 'output_pct']:.1f}% rather than {plain_steel:.1f}%" in text
    total = linked.welfare_by_region(2026).loc["USA", "net_welfare"]
    unlinked = plain.welfare_by_region(2026).loc["USA", "net_welfare"]
    assert f"(+{total:,.0f} m against {unlinked:,.0f} m unlinked)".replace("-", "−") in text


def test_readme_defence_demand_numbers_match_fresh_runs():
    """'What Japan's defence demand costs whom': the shifting buyer's consumer surplus and the spill-over, alone and
    against the planned budget (docs/model.md, "Welfare")."""
    from sim.statistics import demand_shift_effects

    part = README.split("### What Japan's defence demand costs whom", 1)[1].split("\n## ", 1)[0]
    text = " ".join(part.split())
    plan, three = (sim.run(ROOT / "scenarios" / f"{name}.toml") for name in ("japan_defense_plan_2027",
                                                                              "japan_defense_3pct"))
    alone = demand_shift_effects(three.frames).loc[(2030, "aerospace_defense", "JPN")]
    assert f"by {100 * alone['demand_shift']:.1f}% at given prices in 2030" in text
    assert f"consumer surplus in the sector falls USD {-alone['consumer_surplus']:,.0f} m" in text
    assert f"higher world price is reported separately: USD {money(alone['other_buyers_consumer_surplus'])} m" in text
    both = sim.compare([three, plan], baseline="japan_defense_plan_2027")
    beyond = demand_shift_effects(both.by_scenario).loc[("japan_defense_3pct", 2030, "aerospace_defense", "JPN")]
    assert f"the two are {money(beyond['consumer_surplus'])} and {money(beyond['other_buyers_consumer_surplus'])}." \
        in text
    assert alone["consumer_surplus"] < 0 and alone["other_buyers_consumer_surplus"] < 0
