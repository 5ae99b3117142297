"""tradesim against published evidence (validation/validate.py): the backtest and pass-through within stated bands."""

import importlib.util
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def validate():
    spec = importlib.util.spec_from_file_location("validate", ROOT / "validation" / "validate.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["validate"] = module  # dataclasses look their module up while the class is built
    spec.loader.exec_module(module)
    yield module
    del sys.modules["validate"]


def test_section_232_backtest_lands_within_the_usitc_estimates(validate):
    rows = validate.backtest()
    assert [r.published for r in rows] == [-24.0, 2.4, 1.9]
    for row in rows:
        assert row.within, f"{row.what}: {row.model:+.2f} outside {row.low:+.2f} to {row.high:+.2f}"


def test_tariffs_pass_through_almost_completely(validate):
    for row in validate.pass_through_checks():
        assert row.within, f"{row.what}: {row.model:.3f}"


def test_pass_through_measure_is_one_with_fixed_foreign_prices(validate, monkeypatch):
    """The measure itself: with infinitely elastic foreign supply no partner's price moves, so it is exactly 1."""
    import sim

    real_run = sim.run

    def foreign_prices_fixed(path):
        case = sim.load_scenario(path)
        return real_run(case.replace(elasticities=(sim.ElasticityOverride(sector="steel",
                                                                          eps={"*": float("inf"), "USA": 0.8}),)))

    monkeypatch.setattr(validate.sim, "run", foreign_prices_fixed)
    assert validate.pass_through("steel_232_2025", "steel") == pytest.approx(1.0, abs=1e-12)


def test_readme_and_docs_show_the_validation_table(validate):
    table = validate.table(validate.backtest() + validate.pass_through_checks())
    docs = (ROOT / "docs" / "validation.md").read_text(encoding="utf-8")
    shown = table.splitlines()[2:] + validate.estimates_table().splitlines()[2:]
    for line in shown + validate.differences_table().splitlines()[2:]:
        assert line in README, line
        assert line in docs, line


def test_other_models_estimates_agree_within_a_factor_of_two(validate):
    estimates = validate.other_estimates()
    assert len(estimates) >= 3
    for e in estimates:
        assert e.within_factor_2, f"{e.what} ({e.source}): {e.model:+.1f} vs {e.low:+.1f} to {e.high:+.1f}"


def test_factor_of_two_rule(validate):
    def estimate(model, low, high):
        return validate.Estimate("x", model, low, high, "s", "m")

    assert estimate(10.2, 4.0, 7.0).within_factor_2  # 10.2 <= 2 x 7
    assert not estimate(14.1, 4.0, 7.0).within_factor_2
    assert estimate(-8.3, -3.0, -6.0).within_factor_2
    assert not estimate(-1.4, -3.0, -6.0).within_factor_2  # below half the nearer end
    assert not estimate(5.0, -3.0, -6.0).within_factor_2  # opposite sign


def test_listed_differences_are_larger_than_a_factor_of_two(validate):
    for what, model, published, _, why in validate.known_differences():
        assert abs(model) * 2 < abs(published) or abs(published) * 2 < abs(model) or model * published < 0, what
        assert why


def test_dataset_readme_shows_what_moves_the_flagship():
    spec = importlib.util.spec_from_file_location("sensitivity", ROOT / "validation" / "sensitivity.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    readme = (ROOT / "sim" / "datasets" / "us_japan_2024" / "README.md").read_text(encoding="utf-8")
    table = module.table()
    for line in table.splitlines():
        assert line in readme, line
    swings = [float(line.rsplit("|", 2)[1].replace(",", "")) for line in table.splitlines()[4:]]
    assert swings == sorted(swings, reverse=True) and swings[0] > 1000  # sorted, and the largest is material
