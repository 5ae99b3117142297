"""Monte Carlo over elasticities (docs/model.md, "Uncertainty"): one batch, reproducible, honest about failures."""

import dataclasses
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

import sim
import sim.engine
from sim import uncertainty
from sim.adjustment import Adjustment
from sim.cli import main
from sim.engine import memory
from sim.scenario import Uncertainty
from sim.uncertainty import draw_elasticities

ROOT = Path(__file__).resolve().parents[1]
FLAGSHIP = ROOT / "scenarios" / "steel_tariff_with_investment.toml"


@pytest.fixture(scope="module")
def case():
    return sim.load_scenario(FLAGSHIP)


def net(res, year=2030, region="USA"):
    s = res.uncertainty.summary
    rows = s[(s.table == "welfare") & (s.sector == "all") & (s.region == region) & (s.year == year)
             & (s.quantity == "net_welfare")]
    assert len(rows) == 1
    return rows.iloc[0]


def test_zero_coefficients_of_variation_give_the_central_run_exactly(case):
    res = sim.run(case.replace(uncertainty=Uncertainty(draws=4, seed=1)))
    s = res.uncertainty.summary
    for stat in ("mean", "p05", "p50", "p95"):
        assert (s[stat] == s["central"]).all(), stat


def test_percentiles_are_ordered_and_reproducible_with_the_seed(case):
    first = sim.run(case, draws=200, seed=11)
    again = sim.run(case, draws=200, seed=11)
    other = sim.run(case, draws=200, seed=12)
    a, b, c = first.uncertainty.summary, again.uncertainty.summary, other.uncertainty.summary
    assert a.equals(b) and not a[["p05", "p95"]].equals(c[["p05", "p95"]])
    assert (a["p05"] <= a["p50"] + 1e-9).all() and (a["p50"] <= a["p95"] + 1e-9).all()
    row = net(first)
    assert row["p05"] < row["central"] < row["p95"]
    assert row["central"] == pytest.approx(first.welfare_by_region(2030).loc["USA", "net_welfare"])


def test_draws_keep_signs_infinities_and_one_draw_per_year(case):
    ds = case.dataset
    u = Uncertainty(draws=500, seed=3, sigma={"*": 0.3}, eta={"steel": 0.5}, eps={"*": 0.5})
    eps = case.shocks.eps.copy()
    eps[0, 0] = np.inf
    sigma, eta, eps_d = draw_elasticities(u, ds.sectors, case.shocks.sigma, case.shocks.eta, eps)
    assert sigma.shape == (500, len(ds.sectors)) and (sigma > 0).all() and (eta < 0).all()
    assert np.isinf(eps_d[:, 0, 0]).all() and np.isfinite(eps_d[:, 0, 1]).all()
    steel = ds.sector_index("steel")
    assert (eta[:, steel] != case.shocks.eta[steel]).all()
    assert (eta[:, ds.sector_index("autos")] == case.shocks.eta[ds.sector_index("autos")]).all()  # cv 0
    # the median of a lognormal factor with median 1: close to the central value
    assert np.median(sigma[:, steel]) == pytest.approx(case.shocks.sigma[steel], rel=0.05)
    # the spread matches the coefficient of variation (sd of the factor / its mean)
    factor = sigma[:, steel] / case.shocks.sigma[steel]
    assert factor.std() / factor.mean() == pytest.approx(0.3, rel=0.15)


def test_the_2030_interval_comes_from_draws_that_hold_for_every_year(case):
    long_run = tuple(Adjustment("*", p, "*", 1.0, 1.0) for p in ("sigma", "eps"))  # no short-run path
    res = sim.run(case.replace(adjustments=long_run), draws=50, seed=5)
    draws = res.uncertainty.net_welfare["net_welfare"].unstack("region")["USA"].unstack("year")
    # 2026-2028 share the tariff and draw, so a draw gives the same number in each of those years
    assert (draws[2026] == draws[2027]).all() and (draws[2027] == draws[2028]).all()
    # with the shipped path each draw's elasticities grow each year: the same draw, different numbers
    path = sim.run(case, draws=50, seed=5).uncertainty.net_welfare["net_welfare"].unstack("region")["USA"]
    assert (path.unstack("year")[2026] != path.unstack("year")[2027]).all()


def test_failed_draws_are_reported_and_the_share_allowed_is_enforced(case, monkeypatch):
    """Draws 3 and 7 made to fail: listed with their elasticities, left out, and refused unless allowed."""

    real = sim.engine.solve_equilibrium

    def failing(*args, **kwargs):  # the draws' batch (draws, years, sectors) loses two draws
        sol = real(*args, **kwargs)
        if sol.converged.ndim != 3:
            return sol
        converged = sol.converged.copy()
        converged[[3, 7], -1, 0] = False
        return dataclasses.replace(sol, converged=converged)

    monkeypatch.setattr(sim.engine, "solve_equilibrium", failing)
    with pytest.raises(sim.ConvergenceError, match="2 of 20 draws did not converge \\(10.0%, more than the 0.0%"):
        sim.run(case, draws=20, seed=1)
    res = sim.run(case, draws=20, seed=1, allow_failed_draws=0.1)
    failed = res.uncertainty.failed
    assert list(failed["draw"]) == [3, 7] and failed["first_failure"].iloc[0] == "period 5, sector steel"
    assert failed["sigma_steel"].iloc[0] > 0 and "USA=" in failed["eps_steel"].iloc[0]
    assert sorted(res.uncertainty.net_welfare.index.unique("draw")) == [d for d in range(20) if d not in (3, 7)]


def test_cli_draws_write_uncertainty_csv_and_print_the_interval(tmp_path):
    out = tmp_path / "mc"
    result = CliRunner().invoke(main, ["run", str(FLAGSHIP), "--draws", "100", "--seed", "7", "--out", str(out),
                                       "--no-plots"])
    assert result.exit_code == 0, result.output
    assert "90% interval over 100 draws (seed 7)" in result.output
    header = (out / "uncertainty.csv").read_text().splitlines()[0]
    assert header == "scenario,table,year,sector,region,exporter,importer,quantity,central,mean,p05,p50,p95"
    import json

    record = json.loads((out / "run.json").read_text())["scenarios"][0]["uncertainty"]
    assert record["draws"] == 100 and record["seed"] == 7 and record["failed_draws"] == 0


def test_uncertainty_block_in_a_file_is_read_and_checked(tmp_path):
    path = tmp_path / "u.toml"
    path.write_text('name = "u"\ndataset = "illustrative"\n[[tariff]]\nsector = "steel"\nimporter = "USA"\n'
                    'exporter = "*"\nadd = 0.1\n\n[uncertainty]\ndraws = 20\nseed = 4\nsigma = { cv = 0.3 }\n'
                    'eps = { steel = { cv = 0.5 }, "*" = { cv = 0.2 } }\n')
    res = sim.run(path)
    assert res.uncertainty.draws == 20 and res.uncertainty.spec.eps == {"steel": 0.5, "*": 0.2}
    path.write_text(path.read_text().replace("draws = 20", "draws = 0").replace("steel = {", "steal = {"))
    with pytest.raises(sim.InputError) as err:
        sim.load_scenario(path)
    message = str(err.value)
    assert "uncertainty.draws: must be a whole number from 1 to 1,000,000, got 0" in message
    assert "uncertainty.eps: unknown sector 'steal' (did you mean 'steel'?)" in message


def test_plots_draw_intervals_only_when_there_are_draws(case, tmp_path):
    import matplotlib

    matplotlib.use("Agg")
    plain = sim.run(case)
    with pytest.raises(ValueError, match="no Monte Carlo"):
        plain.plot.welfare(intervals=True)
    res = sim.run(case, draws=30, seed=1)
    ax = res.plot.welfare(intervals=True, world=True)
    assert any("90% interval (30 draws)" in t.get_text() for t in ax.get_legend().get_texts())
    assert dataclasses.is_dataclass(res.uncertainty)


def test_a_progress_bar_only_when_asked_and_never_in_captured_cli_output(case, capsys, tmp_path):
    sim.run(case, draws=400, seed=1, progress=True)  # 9,600 markets: several chunks
    assert "markets" in capsys.readouterr().err
    sim.run(case, draws=400, seed=1)
    assert capsys.readouterr().err == ""
    result = CliRunner().invoke(main, ["run", str(FLAGSHIP), "--draws", "400", "--out", str(tmp_path / "o"),
                                       "--no-plots"])
    assert result.exit_code == 0 and "markets/s" not in result.output  # not a terminal: no bar


def test_world_rows_are_the_percentiles_of_the_world_total_in_the_summary_and_the_csv(case, tmp_path):
    """Issue 21 (6): the World interval the CLI prints is in uncertainty.csv and the summary, summed per draw."""
    res = sim.run(case, draws=60, seed=2)
    mc = res.uncertainty
    world = net(res, region="World")
    band = mc.intervals.xs((2030, "World"))
    assert world["p05"] == pytest.approx(band["p05"]) and world["p95"] == pytest.approx(band["p95"])
    per_draw = mc.net_welfare["net_welfare"].xs(2030, level="year").groupby(level="draw").sum()
    assert world["p50"] == pytest.approx(np.percentile(per_draw, 50))
    regions = [net(res, region=r) for r in res.case.dataset.regions]
    assert world["p05"] != pytest.approx(sum(r["p05"] for r in regions))  # not the sum of the percentiles
    assert world["central"] == pytest.approx(sum(r["central"] for r in regions))
    s = mc.summary
    by_sector = s[(s.table == "welfare") & (s.region == "World") & (s.sector == "steel") & (s.year == 2030)]
    assert set(by_sector["quantity"]) >= {"net_welfare", "tariff_revenue"}
    assert not (s[s.table != "welfare"].region == "World").any()  # prices are not summed
    out = tmp_path / "mc"
    result = CliRunner().invoke(main, ["run", str(FLAGSHIP), "--draws", "60", "--seed", "2", "--out", str(out),
                                       "--no-plots"])
    assert result.exit_code == 0, result.output
    import pandas as pd

    csv = pd.read_csv(out / "uncertainty.csv")
    row = csv[(csv.region == "World") & (csv.sector == "all") & (csv.year == 2030) & (csv.quantity == "net_welfare")]
    assert len(row) == 1 and row["p05"].iloc[0] == pytest.approx(world["p05"])
    interval = result.output[result.output.index("90% interval over 60 draws"):]
    printed = next(line for line in interval.splitlines() if line.startswith("World"))
    assert f"{world['p05']:,.0f}" in printed and f"{world['p95']:,.0f}" in printed


# --- blocks of sectors (issue 22: Monte Carlo in bounded memory) --------------------------------------------


def _one_sector_blocks(monkeypatch):
    monkeypatch.setattr(uncertainty, "BLOCK_BYTES", 1)  # every block one sector (a block holds at least one)


def test_percentiles_read_from_one_sort_equal_numpys_bit_for_bit():
    rng = np.random.default_rng(0)
    for n in (1, 2, 3, 10, 20, 21, 300, 1001):
        values = rng.standard_normal((n, 400)) * 1e3
        values[:, 0] = np.nan  # a flow the baseline lacks: NaN in every draw
        values[0, 1] = np.nan
        values[:, 2] = np.inf
        values[-1, 3] = -np.inf
        stats = uncertainty._stats(values)
        with np.errstate(invalid="ignore"):
            expected = np.percentile(values, [5, 50, 95], axis=0)
        for row, name in enumerate(("p05", "p50", "p95")):
            assert np.array_equal(stats[name], expected[row], equal_nan=True), (n, name)


def test_statistics_split_between_threads_equal_one_threads(monkeypatch):
    values = np.random.default_rng(1).standard_normal((37, 2, 1001))
    values[:, 0, 17] = np.nan
    alone = uncertainty._column_stats(values)
    monkeypatch.setattr(uncertainty, "THREADED_CELLS", 1)
    monkeypatch.setattr(uncertainty, "THREADS", 3)
    split = uncertainty._stats(values)
    for name in alone:
        assert np.array_equal(split[name], alone[name], equal_nan=True), name


def test_blocks_of_one_sector_give_one_batchs_numbers_exactly(case, monkeypatch):
    whole = sim.run(case, draws=40, seed=2).uncertainty
    _one_sector_blocks(monkeypatch)
    assert len(uncertainty.sector_blocks(case, 40)) == len(case.dataset.sectors) > 1
    blocks = sim.run(case, draws=40, seed=2).uncertainty
    pd.testing.assert_frame_equal(blocks.summary, whole.summary, check_exact=True)
    pd.testing.assert_frame_equal(blocks.net_welfare, whole.net_welfare, check_exact=True)
    pd.testing.assert_frame_equal(blocks.returns, whole.returns, check_exact=True)
    pd.testing.assert_frame_equal(blocks.intervals, whole.intervals, check_exact=True)


def test_flows_summarised_over_every_cell_or_over_the_positive_ones_give_the_same_table(case, monkeypatch):
    """A dense block sorts every cell and reads the positive ones from the statistics; a sparse one copies the
    positive ones out first: the same numbers, for a run and for a comparison's paired draws."""
    runs = {}
    for share in (0.0, 1.01):  # every block dense / every block sparse
        monkeypatch.setattr(uncertainty, "DENSE_SHARE", share)
        res = sim.run(case, draws=30, seed=4)
        base = sim.run(ROOT / "scenarios" / "steel_tariffs_2025_2030.toml", draws=30, seed=4)
        runs[share] = (res.uncertainty.summary, sim.compare([base, res], baseline=base).uncertainty)
    pd.testing.assert_frame_equal(runs[0.0][0], runs[1.01][0], check_exact=True)
    for name in runs[0.0][1]:
        pd.testing.assert_frame_equal(runs[0.0][1][name].summary, runs[1.01][1][name].summary, check_exact=True)
    assert (runs[0.0][0]["table"] == "flows").sum() == (case.dataset.flows > 0).sum() * len(case.years) * 2


def test_a_draw_failing_in_a_later_block_leaves_the_earlier_blocks_statistics_too(case, monkeypatch):
    """Draws 3 and 7 fail only in the last sector: the earlier blocks are summarised again without them."""
    real = uncertainty.block_values
    sectors_total = len(case.dataset.sectors)
    calls = []

    def failing_last_sector(case, draws, sectors, *args, **kwargs):
        values = real(case, draws, sectors, *args, **kwargs)
        calls.append(tuple(sectors))
        if sectors[-1] != sectors_total - 1:
            return values
        ok, first = values.ok.copy(), values.first_failure.copy()
        ok[[3, 7]] = False
        first[[3, 7]] = np.minimum(first[[3, 7]], 2 * sectors_total + sectors_total - 1)
        return dataclasses.replace(values, ok=ok, first_failure=first)

    monkeypatch.setattr(uncertainty, "block_values", failing_last_sector)
    whole = sim.run(case, draws=20, seed=1, allow_failed_draws=0.1).uncertainty
    assert len(calls) == 1
    _one_sector_blocks(monkeypatch)
    calls.clear()
    blocks = sim.run(case, draws=20, seed=1, allow_failed_draws=0.1).uncertainty
    assert len(calls) == 2 * sectors_total - 1  # every earlier block solved again, the last one once
    pd.testing.assert_frame_equal(blocks.summary, whole.summary, check_exact=True)
    pd.testing.assert_frame_equal(blocks.failed, whole.failed, check_exact=True)
    assert list(blocks.failed["draw"]) == [3, 7]
    assert blocks.failed["first_failure"].iloc[0] == f"period 2, sector {case.dataset.sectors[-1]}"
    assert 3 not in blocks.net_welfare.index.unique("draw")


def test_a_comparisons_paired_draws_by_blocks_equal_one_batch(monkeypatch):
    runs = [sim.run(ROOT / "scenarios" / f"{name}.toml", draws=30, seed=5)
            for name in ("steel_tariffs_2025_2030", "steel_tariff_with_investment")]
    whole = sim.compare(runs, baseline=runs[0]).uncertainty
    _one_sector_blocks(monkeypatch)
    blocks = sim.compare(runs, baseline=runs[0]).uncertainty
    assert list(blocks) == list(whole) == ["steel_tariff_with_investment"]
    for name in whole:
        pd.testing.assert_frame_equal(blocks[name].summary, whole[name].summary, check_exact=True)
        pd.testing.assert_frame_equal(blocks[name].net_welfare, whole[name].net_welfare, check_exact=True)


def test_blocks_keep_within_their_budget_and_a_linked_case_is_one_block(case):
    years, sectors, regions = case.shocks.new_tariffs.shape[:3]
    for draws, budget in ((1000, 2**20 * 40), (5000, 2**20 * 100), (100, 2**30)):
        blocks = uncertainty.sector_blocks(case, draws, budget)
        assert np.array_equal(np.concatenate(blocks), np.arange(sectors))
        for block in blocks:
            assert len(block) == 1 or memory.batch_estimate(draws * years * len(block), regions, True) <= budget
        if len(blocks) > 1:  # as large as fits: one more sector would not
            assert memory.batch_estimate(draws * years * (len(blocks[0]) + 1), regions, True) > budget
    linked = sim.load_scenario(ROOT / "scenarios" / "steel_tariff_with_investment_linked.toml")
    assert [len(b) for b in uncertainty.sector_blocks(linked, 10**6, 1)] == [sectors]


def test_many_sectors_need_a_block_not_the_whole_batch():
    """The memory estimate of a Monte Carlo grows with the summary, not with the solve of every sector at once."""
    case = sim.load_scenario(FLAGSHIP)
    estimate = uncertainty.memory_needed(case, 100_000)
    assert estimate < 0.5 * uncertainty.one_batch_memory(case, 100_000)


def test_order_statistics_sorted_a_few_cells_at_a_time_equal_numpys_sort(monkeypatch):
    monkeypatch.setattr(uncertainty, "SORT_BYTES", 8 * 21 * 7)  # 7 cells at a time: many runs and a short last one
    values = np.random.default_rng(4).standard_normal((21, 3, 50))
    values[3, 1, 7] = np.nan
    values[:, 2, 9] = -0.0
    rows = [0, 1, 10, 20]
    for part in (values, values[..., 5:44], values[:, 1]):  # contiguous, a thread's columns, one middle index
        expected = np.sort(part, axis=0)[rows]
        got = uncertainty._order_statistics(part, rows)
        assert np.array_equal(got, expected, equal_nan=True)
        assert np.array_equal(np.signbit(got), np.signbit(expected))


def test_percent_of_ratio_is_nan_where_not_finite_whether_or_not_all_are():
    finite = np.array([1.0, 1.5, 0.25])
    assert np.array_equal(uncertainty._percent_of_ratio(finite), [0.0, 50.0, -75.0])
    mixed = np.array([1.5, np.inf, np.nan, 1e308])
    assert np.array_equal(uncertainty._percent_of_ratio(mixed), [50.0, np.nan, np.nan, np.nan], equal_nan=True)
