"""Scenario files (docs/model.md "Scenario files"): every instrument's semantics; problems with file, key, value."""

import textwrap

import numpy as np
import pytest
from numpy.testing import assert_allclose

import sim
from sim import InputError, ScenarioWarning
from sim.shocks import build_shocks

HEAD = 'name = "t"\ndataset = "illustrative"\n'
STEEL, AUTOS = 0, 1
USA, JPN, CHN, ROW = range(4)


@pytest.fixture
def write(tmp_path):
    def _write(body, head=HEAD, name="s.toml"):
        path = tmp_path / name
        path.write_text(head + textwrap.dedent(body))
        return path
    return _write


def shocks_of(path):
    case = sim.load_scenario(path)
    return build_shocks(case.scenario, case.dataset)


def problems(path):
    with pytest.raises(InputError) as info:
        sim.validate([path])
    return str(info.value)


class TestTariffs:
    def test_rate_replaces_and_wildcard_skips_own_market(self, write):
        sh = shocks_of(write('[[tariff]]\nsector = "steel"\nimporter = "USA"\nexporter = "*"\nrate = 0.5\n'))
        assert sh.static and sh.years == ("long run",)
        t = sh.new_tariffs[0, STEEL]
        assert_allclose(t[[JPN, CHN, ROW], USA], 0.5)
        assert t[USA, USA] == 0.0
        assert sh.new_tariffs[0, AUTOS, JPN, USA] == 0.025  # other sector untouched

    def test_add_is_on_top_of_base(self, write):
        sh = shocks_of(write('[[tariff]]\nsector = "autos"\nimporter = "CHN"\n'
                             'exporter = ["USA", "JPN"]\nadd = -0.05\n'))
        assert_allclose(sh.new_tariffs[0, AUTOS, [USA, JPN], CHN], 0.10)
        assert sh.new_tariffs[0, AUTOS, ROW, CHN] == 0.15

    def test_later_entry_replaces_earlier_cell_by_cell(self, write):
        sh = shocks_of(write('''
            [[tariff]]
            sector = "*"
            importer = "USA"
            exporter = "*"
            rate = 0.25
            [[tariff]]
            sector = "steel"
            importer = "USA"
            exporter = "JPN"
            rate = 0.15
        '''))
        assert sh.new_tariffs[0, STEEL, JPN, USA] == 0.15
        assert sh.new_tariffs[0, STEEL, CHN, USA] == 0.25
        assert sh.new_tariffs[0, AUTOS, JPN, USA] == 0.25

    def test_start_and_end_per_year(self, write):
        sh = shocks_of(write('''
            years = [2024, 2025, 2026, 2027]
            [[tariff]]
            sector = "steel"
            importer = "JPN"
            exporter = "USA"
            rate = 0.3
            start = 2025
            end = 2026
        '''))
        assert sh.years == (2024, 2025, 2026, 2027) and not sh.static
        assert sh.new_tariffs[:, STEEL, USA, JPN].tolist() == [0.0, 0.3, 0.3, 0.0]

    def test_add_that_makes_a_rate_negative(self, write):
        msg = problems(write('[[tariff]]\nsector = "autos"\nimporter = "CHN"\nexporter = "*"\nadd = -0.2\n'))
        assert "tariff[1].add: add = -0.2 makes the rate negative for autos USA->CHN (base rate 0.15)" in msg
        assert "and 2 more cell(s)" in msg


class TestInvestment:
    BODY = '''
        years = [2025, 2026, 2027, 2028, 2029]
        [[investment]]
        sector = "steel"
        host = "USA"
        investor = "JPN"
        amount = 2000
        output_per_amount = 0.9
        start = 2026
        ramp_years = 3
        displaces_exports = 0.5
    '''

    def test_ramp_and_displacement(self, write):
        sh = shocks_of(write(self.BODY))
        x_usa = 100000 + 200 + 300 + 8000
        x_jpn = 2500 + 50000 + 3000 + 20000
        online = np.array([0, 1 / 3, 2 / 3, 1, 1])
        assert_allclose(sh.supply_shift[:, STEEL, USA], 1800 * online / x_usa, rtol=1e-14)
        assert_allclose(sh.supply_shift[:, STEEL, JPN], -0.5 * 1800 * online / x_jpn, rtol=1e-14)
        assert not sh.supply_shift[:, AUTOS].any()

    def test_static_run_has_investment_fully_online(self, write):
        body = self.BODY.replace("years = [2025, 2026, 2027, 2028, 2029]", "")
        sh = shocks_of(write(body))
        assert_allclose(sh.supply_shift[0, STEEL, USA], 1800 / 108500, rtol=1e-14)

    def test_capacity_and_amount_are_exclusive(self, write):
        msg = problems(write(self.BODY + "capacity = 100\n"))
        assert "investment[1]: give either 'capacity' or 'amount' with 'output_per_amount', not both" in msg

    def test_displacement_that_makes_supply_negative(self, write):
        body = self.BODY.replace("amount = 2000", "amount = 200000").replace("displaces_exports = 0.5",
                                                                             "displaces_exports = 1.0")
        msg = problems(write(body))
        assert "supply of steel in JPN negative in 2027" in msg

    def test_never_online_warns(self, write):
        with pytest.warns(ScenarioWarning, match="investment\\[1\\]: never online within years 2025-2029"):
            shocks_of(write(self.BODY.replace("start = 2026", "start = 2035")))


class TestDemandAndElasticities:
    def test_demand_shifts_add_up(self, write):
        sh = shocks_of(write('''
            [[demand_shift]]
            sector = "autos"
            region = ["JPN", "CHN"]
            change = 0.1
            [[demand_shift]]
            sector = "*"
            region = "JPN"
            change = 0.05
        '''))
        assert_allclose(sh.demand_shift[0, AUTOS], [0, 0.15, 0.1, 0])
        assert_allclose(sh.demand_shift[0, STEEL], [0, 0.05, 0, 0])

    def test_overrides_with_region_and_star(self, write):
        sh = shocks_of(write('''
            [elasticities.steel]
            sigma = 4.0
            eps = { USA = 1.5, "*" = 3.0 }
            [elasticities."*"]
            eta = -0.5
        '''))
        assert sh.sigma.tolist() == [4.0, 5.6]
        assert sh.eta.tolist() == [-0.5, -0.5]
        assert sh.eps[STEEL].tolist() == [1.5, 3.0, 3.0, 3.0]
        assert sh.eps[AUTOS].tolist() == [1.5, 1.5, 1.5, 1.5]

    def test_infinite_eps_override(self, write):
        sh = shocks_of(write('[elasticities.autos]\neps = inf\n'))
        assert np.isinf(sh.eps[AUTOS]).all()


class TestProblems:
    def test_many_problems_reported_together(self, write):
        msg = problems(write('''
            yeras = [2025]
            [[tariff]]
            sector = "steal"
            importer = "USA"
            exporter = "JPNN"
            rate = -0.1
            start = 2027
            end = 2025
            [[tariff]]
            sector = "steel"
            importer = "USA"
            exporter = "USA"
            rate = 0.1
            [[demand_shift]]
            sector = "autos"
            region = "JPN"
            change = -1.5
            [elasticities.steel]
            sigma = 0
            eta = 0.3
            eps = { USA = -1 }
        '''))
        for expected in [
            "s.toml: yeras: unknown key (did you mean 'years'?)",
            "tariff[1].rate: must be >= 0 (0.25 = 25%), got -0.1",
            "tariff[1].end: end 2025 is before start 2027",
            "tariff[2].exporter: 'USA' is also the importer: a tariff on a region's own market is not allowed",
            "demand_shift[1].change: must be > -1 (demand cannot vanish), got -1.5",
            "elasticities.steel.sigma: must be > 0, got 0.0",
            "elasticities.steel.eta: must be < 0, got 0.3",
            "elasticities.steel.eps.USA: must be >= 0 (inf allowed), got -1.0",
        ]:
            assert expected in msg

    def test_misspelt_codes_get_the_closest_valid_one(self, write):
        msg = problems(write('[[tariff]]\nsector = "steal"\nimporter = "USA"\nexporter = "JPNN"\nrate = 0.1\n'))
        assert "tariff[1].sector: unknown sector 'steal' (did you mean 'steel'?)" in msg
        assert "tariff[1].exporter: unknown region 'JPNN' (did you mean 'JPN'?)" in msg

    def test_missing_required_and_wrong_types(self, write):
        msg = problems(write('years = "2025"\n[[tariff]]\nsector = 3\nimporter = "USA"\nexporter = "*"\n', head=""))
        assert "name: is required" in msg and "dataset: is required" in msg
        assert "years: must be a non-empty list of years (integers), got '2025'" in msg
        assert "tariff[1].sector: must be a code, a list of codes, or \"*\", got 3" in msg
        assert "tariff[1]: needs exactly one of 'rate'" in msg

    def test_linear_method_and_uncertainty_are_available(self, write):
        msg = problems(write('method = "gsim-linear"\n[uncertainty]\ndraws = 10\nseed = -1\n'))
        assert ": method:" not in msg  # the linear GSIM is available
        assert msg.count("\n") == 0 and "uncertainty.seed: must be a whole number >= 0, got -1" in msg

    def test_gsim_linear_refuses_what_the_paper_lacks(self, write):
        msg = problems(write('method = "gsim-lineer"\n'))
        assert "method: must be one of exact, gsim-linear, got 'gsim-lineer' (did you mean 'gsim-linear'?)" in msg
        msg = problems(write('method = "gsim-linear"\n[[investment]]\nsector = "steel"\nhost = "USA"\n'
                             'capacity = 10\n'))
        assert "this file has [[investment]] blocks: use method = \"exact\"" in msg

    def test_syntax_error_names_the_file(self, write):
        path = write('[[tariff]\n')
        assert f"{path}: not valid TOML" in problems(path)

    def test_never_in_force_tariff_warns(self, write):
        with pytest.warns(ScenarioWarning, match="tariff\\[1\\]: never in force within years 2025-2026"):
            shocks_of(write('years = [2025, 2026]\n[[tariff]]\nsector = "steel"\nimporter = "USA"\n'
                            'exporter = "JPN"\nrate = 0.1\nstart = 2030\n'))


def test_scenario_built_in_code_runs_like_a_file(write):
    path = write('[[tariff]]\nsector = "steel"\nimporter = "USA"\nexporter = "JPN"\nrate = 0.4\n')
    from_file = sim.run(path)
    in_code = sim.run(sim.Scenario(name="t", dataset="illustrative",
                                   tariffs=(sim.Tariff(("steel",), ("USA",), ("JPN",), rate=0.4),)))
    assert_allclose(in_code.solution.flows, from_file.solution.flows, rtol=0, atol=0)


def test_investment_fields_name_single_codes(write):
    msg = problems(write('[[investment]]\nsector = "*"\nhost = "*"\ncapacity = 10\n'))
    assert "investment[1].sector: must name one sector, not \"*\"" in msg
    assert "investment[1].host: must name one region, not \"*\"" in msg


def test_investment_capacity_must_be_finite(write):
    msg = problems(write('[[investment]]\nsector = "steel"\nhost = "USA"\namount = 1e308\noutput_per_amount = 10\n'))
    assert "investment[1]: amount x output_per_amount = inf is not a finite number" in msg


def test_implausible_magnitudes_warn_and_strict_refuses(tmp_path):
    from click.testing import CliRunner

    from sim.cli import main
    from sim.errors import PlausibilityWarning

    path = tmp_path / "implausible.toml"
    path.write_text('name = "x"\ndataset = "us_japan_2024"\n[[tariff]]\nsector = "steel"\nimporter = "USA"\n'
                    'exporter = "JPN"\nrate = 25\n[[demand_shift]]\nsector = "autos"\nregion = "USA"\nchange = 2.5\n'
                    '[[investment]]\nsector = "steel"\nhost = "USA"\ncapacity = 1e6\n'
                    '[elasticities.steel]\nsigma = 45\neta = -8\n')
    with pytest.warns(PlausibilityWarning) as caught:
        sim.load_scenario(path)
    messages = [str(w.message) for w in caught]
    assert any("tariff[1].rate: 25 means 2,500%; did you mean 0.25?" in m for m in messages)
    assert any("demand_shift[1].change: 2.5 more than doubles demand" in m for m in messages)
    assert any("investment[1]: new capacity raises supply of steel in USA by" in m for m in messages)
    assert any("elasticities.steel.sigma: 45 is above the usual empirical range" in m for m in messages)
    assert any("elasticities.steel.eta: -8 is outside the usual empirical range" in m for m in messages)
    lenient = CliRunner().invoke(main, ["validate", str(path)])
    assert lenient.exit_code == 0 and "warning:" in lenient.output
    strict = CliRunner().invoke(main, ["validate", "--strict", str(path)])
    assert strict.exit_code == 2 and "5 problems found." in strict.output
    out = tmp_path / "o"
    refused = CliRunner().invoke(main, ["run", "--strict", str(path), "--out", str(out), "--no-plots"])
    assert refused.exit_code == 2 and not out.exists()


def test_shipped_scenarios_are_plausible():
    import warnings
    from pathlib import Path

    from sim.errors import PlausibilityWarning

    root = Path(__file__).resolve().parents[1]
    with warnings.catch_warnings():
        warnings.simplefilter("error", PlausibilityWarning)
        for path in sorted((root / "scenarios").glob("*.toml")):
            sim.load_scenario(path)
