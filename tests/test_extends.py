"""Scenarios that extend another (docs/model.md, "Scenario files": extends) and proportional tariff cuts (``cut``)."""

import hashlib
import json
import textwrap
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from pandas.testing import assert_frame_equal

import sim
from sim import InputError
from sim.cli import main
from sim.shocks import build_shocks

STEEL, AUTOS = 0, 1
USA, JPN, CHN, ROW = range(4)
PARENT = '''
name = "parent"
label = "Parent"
dataset = "illustrative"
years = [2025, 2026]

[[tariff]]
sector = "steel"
importer = "USA"
exporter = "*"
rate = 0.5

[[tariff]]
sector = "autos"
importer = "USA"
exporter = "JPN"
rate = 0.25

[[demand_shift]]
sector = "steel"
region = "USA"
change = 0.1

[elasticities.steel]
sigma = 4.0

[elasticities.autos]
sigma = 3.0
'''
CHILD = '''
extends = "parent.toml"
name = "child"

[[tariff]]
sector = "steel"
importer = "USA"
exporter = "JPN"
rate = 0.1
start = 2026

[[demand_shift]]
sector = "steel"
region = "USA"
change = 0.05

[elasticities.steel]
sigma = 5.0
'''


@pytest.fixture
def write(tmp_path):
    def _write(name, body):
        path = tmp_path / name
        path.write_text(textwrap.dedent(body).lstrip())
        return path
    return _write


def problems(path) -> str:
    with pytest.raises(InputError) as info:
        sim.validate([path])
    return str(info.value)


def test_child_blocks_follow_the_parents_and_tables_merge_key_by_key(write):
    write("parent.toml", PARENT + "[uncertainty]\ndraws = 50\nsigma = { cv = 0.2 }\n")
    scenario = sim.load_scenario(write("child.toml", CHILD + "[uncertainty]\neta = { cv = 0.3 }\n")).scenario
    assert scenario.name == "child" and scenario.label == "" and scenario.years == (2025, 2026)
    assert [(t.sector, t.exporter, t.rate) for t in scenario.tariffs] == [
        (("steel",), ("*",), 0.5), (("autos",), ("JPN",), 0.25), (("steel",), ("JPN",), 0.1)]
    assert [d.change for d in scenario.demand_shifts] == [0.1, 0.05]
    assert {o.sector: o.sigma for o in scenario.elasticities} == {"steel": 5.0, "autos": 3.0}
    u = scenario.uncertainty
    assert (u.draws, u.sigma, u.eta) == (50, {"*": 0.2}, {"*": 0.3})


def test_a_later_tariff_on_the_same_cell_replaces_the_parents_and_demand_shifts_add(write):
    write("parent.toml", PARENT)
    case = sim.load_scenario(write("child.toml", CHILD))
    shocks = build_shocks(case.scenario, case.dataset)
    assert shocks.new_tariffs[0, STEEL, JPN, USA] == 0.5  # 2025: the parent's block alone
    assert shocks.new_tariffs[1, STEEL, JPN, USA] == 0.1  # 2026: the child's block wins
    assert shocks.new_tariffs[1, STEEL, CHN, USA] == 0.5
    assert shocks.demand_shift[0, STEEL, USA] == pytest.approx(0.15)


def test_the_same_scenario_written_flat_gives_identical_results(write):
    write("parent.toml", PARENT)
    child = write("child.toml", CHILD)
    flat = write("flat.toml", PARENT.replace('name = "parent"', 'name = "child"').replace('label = "Parent"\n', "")
                 .replace("[elasticities.steel]\nsigma = 4.0", "[elasticities.steel]\nsigma = 5.0")
                 + CHILD.split('name = "child"')[1].split("[elasticities.steel]")[0])
    extended, written = sim.run(child), sim.run(flat)
    assert_frame_equal(extended.welfare, written.welfare, check_exact=True)
    usa = extended.welfare.query("year == 2026 and sector == 'steel' and region == 'USA'")["net_welfare"].item()
    assert usa == written.welfare.query("year == 2026 and sector == 'steel' and region == 'USA'")["net_welfare"].item()
    assert usa != 0


def test_tariff_index_counts_the_merged_list(write):
    write("parent.toml", PARENT)
    child = write("child.toml", CHILD)
    result = sim.sweep(child, 3, [0.0, 0.2])
    assert len(result.table) == 2
    with pytest.raises(InputError, match=r"the scenario has 3 \[\[tariff\]\] block\(s\); give 1 to 3"):
        sim.sweep(child, 4, [0.0, 0.2])


def test_a_cycle_is_refused_naming_the_chain(write):
    a = write("a.toml", 'extends = "b.toml"\nname = "a"\ndataset = "illustrative"\n')
    write("b.toml", 'extends = "a.toml"\nname = "b"\ndataset = "illustrative"\n')
    message = problems(a)
    assert len(message.splitlines()) == 1
    assert "extends: 'a.toml' makes a cycle of files extending each other" in message
    assert message.count("a.toml") == 3 and "b.toml" in message


def test_a_missing_parent_is_named_with_where_it_was_looked_for(write, tmp_path):
    child = write("child.toml", CHILD)
    message = problems(child)
    assert message == (f"{child}: extends: 'parent.toml': no such file {tmp_path / 'parent.toml'} (resolved relative "
                       "to this file's folder)")


def test_problems_in_the_parent_name_the_parent_file_and_its_own_block(write):
    parent = write("parent.toml", PARENT.replace("rate = 0.25", "rate = -1").replace('exporter = "JPN"',
                                                                                   'exporter = "JPX"'))
    child = write("child.toml", CHILD.replace("rate = 0.1", "rate = -2"))
    message = problems(child)
    assert f"{parent}: tariff[2].rate: must be >= 0 (0.25 = 25%), got -1.0" in message
    assert f"{child}: tariff[1].rate: must be >= 0 (0.25 = 25%), got -2.0" in message
    assert f"{child}: tariff[3]" not in message and f"{child}: tariff[2]" not in message
    fixed = write("parent.toml", PARENT.replace('exporter = "JPN"', 'exporter = "JPX"'))
    message = problems(write("child.toml", CHILD))
    assert f"{fixed}: tariff[2].exporter: unknown region 'JPX'" in message


def test_a_shipped_scenario_is_extended_by_name(write):
    child = write("child.toml", 'extends = "steel_tariffs_2025_2030"\nname = "variant"\n')
    scenario = sim.load_scenario(child).scenario
    assert scenario.dataset == "us_japan_2024" and len(scenario.tariffs) == 6
    assert scenario.extends[0][0] == sim.scenario.SHIPPED_SCENARIOS / "steel_tariffs_2025_2030.toml"


def test_run_json_records_every_files_path_and_hash(write, tmp_path):
    parent = write("parent.toml", PARENT)
    child = write("child.toml", CHILD)
    sim.run(child).write(tmp_path / "out", plots=False)
    entry = json.loads((tmp_path / "out" / "run.json").read_text())["scenarios"][0]
    assert entry["sha256"] == hashlib.sha256(child.read_bytes()).hexdigest()
    assert [e["sha256"] for e in entry["extends"]] == [hashlib.sha256(parent.read_bytes()).hexdigest()]
    assert Path(entry["extends"][0]["file"]).resolve() == parent.resolve()


def test_validate_shows_the_merged_scenario(write):
    write("parent.toml", PARENT)
    child = write("child.toml", CHILD)
    out = CliRunner().invoke(main, ["validate", str(child)])
    assert out.exit_code == 0, out.output
    assert "extends " in out.output and "parent.toml" in out.output
    assert f"tariff[3] (from {child}, tariff[1]): sector = 'steel', importer = 'USA', exporter = 'JPN', rate = 0.1" \
        in out.output


class TestCut:
    def test_cut_scales_a_positive_base_rate(self, write):
        path = write("cut.toml", 'name = "c"\ndataset = "illustrative"\n[[tariff]]\nsector = "steel"\n'
                     'importer = "USA"\nexporter = "CHN"\ncut = 0.3\n')
        case = sim.load_scenario(path)
        base = case.dataset.tariffs[STEEL, CHN, USA]
        assert base == 0.25
        new = build_shocks(case.scenario, case.dataset).new_tariffs[0]
        assert new[STEEL, CHN, USA] == pytest.approx(0.175, abs=1e-15)
        assert np.array_equal(new[AUTOS], case.dataset.tariffs[AUTOS])

    @pytest.mark.parametrize("body, expected", [
        ("cut = 1.5", "tariff[1].cut: must be in [0, 1] (0.3 = a 30% cut of the base rate), got 1.5"),
        ("cut = 0.3\nrate = 0.1", "tariff[1]: needs exactly one of 'rate' (new applied rate), 'add'"),
    ])
    def test_cut_is_checked(self, write, body, expected):
        path = write("cut.toml", 'name = "c"\ndataset = "illustrative"\n[[tariff]]\nsector = "steel"\n'
                     f'importer = "USA"\nexporter = "CHN"\n{body}\n')
        assert expected in problems(path)
