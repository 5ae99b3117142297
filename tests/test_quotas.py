"""Tariff-rate quotas (docs/model.md, "Tariff-rate quotas"): solved in the batched Newton, checked against tariffs."""

import json
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import sim
from sim import solve_equilibrium
from tests.test_extremes import extreme

ROOT = Path(__file__).resolve().parents[1]

V = np.array([[[100.0, 20.0, 10.0], [30.0, 80.0, 5.0], [15.0, 10.0, 60.0]]])
ZERO = np.zeros_like(V)
SIGMA, ETA, EPS = np.array([4.0]), np.array([-1.0]), np.array([[2.0, 3.0, 1.5]])


def quota(volume, low=0.0, high=0.5, cell=(0, 1, 0)):
    """Quota arrays with one quota on exporter 1 → importer 0 (flow 30)."""
    vol, lo, hi = np.full_like(V, np.inf), np.zeros_like(V), np.zeros_like(V)
    vol[cell], lo[cell], hi[cell] = volume, low, high
    return {"quota_volume": vol, "quota_in": lo, "quota_out": hi}


def plain(rate, cell=(0, 1, 0), new=None):
    t = ZERO.copy() if new is None else new.copy()
    t[cell] = rate
    return solve_equilibrium(V, ZERO, t, SIGMA, ETA, EPS)


def test_a_slack_quota_gives_exactly_the_in_quota_tariffs_result():
    with_quota = solve_equilibrium(V, ZERO, ZERO, SIGMA, ETA, EPS, **quota(40.0, low=0.05))
    tariff = plain(0.05)
    for name in ("producer_price", "consumer_price", "flows", "consumer_surplus", "producer_surplus",
                 "tariff_revenue"):
        np.testing.assert_array_equal(getattr(with_quota, name), getattr(tariff, name), err_msg=name)
    assert with_quota.tariffs[0, 1, 0] == 0.05 and with_quota.quota_rent[0, 1, 0] == 0.0


def test_a_quota_still_over_filled_at_the_out_rate_gives_that_rates_result_plus_rents():
    sol = solve_equilibrium(V, ZERO, ZERO, SIGMA, ETA, EPS, **quota(2.0, low=0.0, high=0.5))
    tariff = plain(0.5)
    assert sol.all_converged and sol.tariffs[0, 1, 0] == 0.5
    np.testing.assert_allclose(sol.producer_price, tariff.producer_price, rtol=1e-12)
    np.testing.assert_allclose(sol.consumer_surplus, tariff.consumer_surplus, rtol=1e-10)
    price = sol.producer_price[0, 1]
    assert sol.quota_rent[0, 1, 0] == pytest.approx(0.5 * price * 2.0, rel=1e-12)  # (out − in) p volume
    # revenue: in-quota volume at 0, the rest at 50%; revenue plus rent is the plain tariff's revenue
    over = V[0, 1, 0] * sol.quantity[0, 1, 0] - 2.0
    assert sol.tariff_revenue[0, 0] == pytest.approx(0.5 * price * over, rel=1e-12)
    assert sol.tariff_revenue[0, 0] + sol.quota_rent[0].sum() == pytest.approx(tariff.tariff_revenue[0, 0], rel=1e-10)


@pytest.mark.parametrize("volume", [25.0, 10.0])
def test_a_binding_quota_fills_exactly_at_a_rate_between_its_rates(volume):
    sol = solve_equilibrium(V, ZERO, ZERO, SIGMA, ETA, EPS, **quota(volume))
    assert sol.all_converged
    rate = sol.tariffs[0, 1, 0]
    assert 0.0 < rate < 0.5
    assert V[0, 1, 0] * sol.quantity[0, 1, 0] == pytest.approx(volume, rel=1e-10)
    tariff = plain(rate)  # the same equilibrium as a plain tariff at the effective rate
    np.testing.assert_allclose(sol.producer_price, tariff.producer_price, rtol=1e-9)
    # the whole wedge is rent: revenue at the in-quota rate (0) is nothing
    assert sol.tariff_revenue[0, 0] == pytest.approx(0.0, abs=1e-12)
    assert sol.quota_rent[0, 1, 0] == pytest.approx(rate * sol.producer_price[0, 1] * volume, rel=1e-12)


def test_an_absolute_quota_never_lets_more_through():
    sol = solve_equilibrium(V, ZERO, ZERO, SIGMA, ETA, EPS, **quota(10.0, high=np.inf))
    assert sol.all_converged and np.isfinite(sol.tariffs).all()
    assert V[0, 1, 0] * sol.quantity[0, 1, 0] == pytest.approx(10.0, rel=1e-10)
    assert np.isfinite(sol.quota_rent).all() and sol.tariff_revenue[0, 0] == pytest.approx(0.0, abs=1e-12)


def test_regimes_switch_across_a_batch_of_years_each_as_if_solved_alone():
    volumes = [40.0, 25.0, 10.0, 2.0]  # slack, binding, binding, over quota: one batch
    arrays = [quota(v) for v in volumes]
    stacked = {k: np.stack([a[k] for a in arrays]) for k in arrays[0]}
    batch = solve_equilibrium(V[None], ZERO[None], ZERO[None], SIGMA, ETA, EPS, **stacked)
    assert batch.all_converged
    rates = batch.tariffs[:, 0, 1, 0]
    assert rates[0] == 0.0 and 0 < rates[2] < 0.5 and rates[3] == 0.5 and rates[1] < rates[2]
    for y, v in enumerate(volumes):
        alone = solve_equilibrium(V, ZERO, ZERO, SIGMA, ETA, EPS, **quota(v))
        np.testing.assert_allclose(batch.producer_price[y], alone.producer_price, rtol=1e-12)
        np.testing.assert_allclose(batch.quota_rent[y], alone.quota_rent, rtol=1e-12, atol=1e-14)


def test_several_quotas_with_tariffs_and_shifts_add_up():
    arrays = quota(20.0)
    for cell, volume in (((0, 2, 0), 6.0), ((0, 0, 1), 1e6), ((0, 2, 1), 4.0)):  # binding, slack, binding
        arrays["quota_volume"][cell], arrays["quota_out"][cell] = volume, 1.0
    new = ZERO.copy()
    new[0, 0, 2] = 0.3  # a plain tariff elsewhere
    supply, demand = np.array([[0.1, 0.0, 0.0]]), np.array([[0.0, 0.05, 0.0]])
    sol = solve_equilibrium(V, ZERO, new, SIGMA, ETA, EPS, supply, demand, **arrays)
    assert sol.all_converged
    filled = V * sol.quantity
    for cell in ((0, 1, 0), (0, 2, 0), (0, 2, 1)):
        assert filled[cell] == pytest.approx(arrays["quota_volume"][cell], rel=1e-10)
    assert sol.tariffs[0, 0, 1] == 0.0 and sol.tariffs[0, 0, 2] == 0.3
    # the same prices as plain tariffs at the effective rates; the world gains what the tariffs give, rents moved
    same = solve_equilibrium(V, ZERO, sol.tariffs, SIGMA, ETA, EPS, supply, demand)
    np.testing.assert_allclose(sol.producer_price, same.producer_price, rtol=1e-9)
    world = sol.consumer_surplus.sum() + sol.producer_surplus.sum() + sol.tariff_revenue.sum() + sol.quota_rent.sum()
    world_plain = same.consumer_surplus.sum() + same.producer_surplus.sum() + same.tariff_revenue.sum()
    assert world == pytest.approx(world_plain, rel=1e-8)


def extreme_quotas(rng, n, flows):
    """Quotas on about 30% of the off-diagonal flows of extreme markets: volumes from 1e-3 to 10 times the flow,
    in-quota rates 0 or 5%, out-of-quota rates 20 or 100 points above, or absolute; ``inf`` where there is none."""
    k = flows.shape[-3]
    volume = np.where(rng.random((k, n, n)) < 0.3, flows * 10 ** rng.uniform(-3, 1, (k, n, n)), np.inf)
    volume[..., np.arange(n), np.arange(n)] = np.inf
    volume[volume <= 0] = np.inf
    low = rng.choice([0.0, 0.05], (k, n, n))
    high = low + rng.choice([0.2, 1.0, np.inf], (k, n, n))
    return volume, low, high


def assert_quota_conditions(sol, flows, volume, low, high):
    """Every converged market (all arrays flattened to (M, N, N)) meets the conditions of "Tariff-rate quotas"."""
    ok = sol.converged
    assert (sol.max_residual[ok] <= 1e-10).all()
    has = np.isfinite(volume) & (flows > 0)
    for m in np.flatnonzero(ok):
        rate, sold = sol.tariffs[m][has[m]], (flows[m] * sol.quantity[m])[has[m]]
        vol, lo, hi = volume[m][has[m]], low[m][has[m]], high[m][has[m]]
        assert ((rate >= lo) & (rate <= hi)).all()
        slack, over = rate == lo, rate == hi
        assert (sold[~over] <= vol[~over] * (1 + 1e-8)).all()  # below the out rate the quota is never exceeded
        assert (sold[over] >= vol[over] * (1 - 1e-8)).all()
        inner = ~slack & ~over
        np.testing.assert_allclose(sold[inner], vol[inner], rtol=1e-8)
        assert np.isfinite(sol.quota_rent[m]).all() and (sol.quota_rent[m] >= -1e-9 * np.abs(sol.flows[m]).max()).all()


@settings(max_examples=150, deadline=None)
@given(st.integers(0, 2**32 - 1), st.integers(2, 5))
def test_extreme_markets_with_quotas_converge_or_say_so(seed, n):
    rng = np.random.default_rng(seed)
    flows, base, new, sigma, eta, eps, supply, demand = extreme(rng, n)
    volume, low, high = extreme_quotas(rng, n, flows)
    sol = solve_equilibrium(flows, base, new, sigma, eta, eps, supply, demand, quota_volume=volume,
                            quota_in=low, quota_out=high)
    assert_quota_conditions(sol, flows, volume, low, high)


def test_a_scenario_with_a_quota_reports_rents_to_the_holder(tmp_path):
    path = tmp_path / "trq.toml"
    path.write_text("""
name = "trq"
dataset = "us_japan_2024"
years = [2025, 2026]

[[tariff]]
sector = "steel"
importer = "USA"
exporter = "*"
rate = 0.5

[[quota]]
sector = "steel"
importer = "USA"
exporter = "JPN"
volume = 500
in_rate = 0.0
out_rate = 0.5
rent = "exporter"
start = 2026

[[adjustment]]             # the long-run elasticities in both years: the quota binds at them
sector = "*"
parameter = "sigma"
short_run = 1.0
half_life_years = 1

[[adjustment]]
sector = "*"
parameter = "eps"
short_run = 1.0
half_life_years = 1
""")
    res = sim.run(path)
    q = res.frames.quotas
    assert list(q.index.unique("year")) == [2026]
    row = q.loc[(2026, "steel", "JPN", "USA")]
    assert row["regime"] == "binding" and row["fill"] == pytest.approx(1.0, rel=1e-9)
    welfare = res.frames.welfare
    assert welfare.loc[(2026, "steel", "JPN"), "quota_rent"] == pytest.approx(row["quota_rent"])
    assert welfare.loc[(2025, "steel", "JPN"), "quota_rent"] == 0.0
    assert res.frames.tariffs.loc[(2026, "steel", "JPN", "USA"), "rate"] == pytest.approx(row["rate"])
    out = res.write(tmp_path / "out", plots=False)
    assert (out / "quotas.csv").read_text().splitlines()[0] == ",".join(sim.tables.QUOTA_COLUMNS)
    # rent to the importer instead: the same prices, the rent moves from Japan to the US
    text = path.read_text().replace('rent = "exporter"', 'rent = "importer"')
    path.write_text(text)
    importer_held = sim.run(path).frames.welfare
    moved = importer_held["quota_rent"] - welfare["quota_rent"]
    assert moved.loc[(2026, "steel", "USA")] == pytest.approx(row["quota_rent"])
    assert moved.loc[(2026, "steel", "JPN")] == pytest.approx(-row["quota_rent"])
    assert importer_held["net_welfare"].sum() == pytest.approx(welfare["net_welfare"].sum())


def test_an_absolute_quota_from_a_file_reads_inf_and_is_recorded(tmp_path):
    path = tmp_path / "absolute.toml"
    path.write_text("""
name = "absolute"
dataset = "us_japan_2024"

[[quota]]
sector = "autos"
importer = "USA"
exporter = "JPN"
volume = 20000          # well below the base flow (47,309): binds
in_rate = 0.025
out_rate = inf
rent = "importer"
""")
    res = sim.run(path)
    row = res.frames.quotas.loc[("long run", "autos", "JPN", "USA")]
    assert row["out_rate"] == np.inf and row["regime"] == "binding" and row["rate"] > 0.025
    assert row["fill"] == pytest.approx(1.0, rel=1e-9)
    out = res.write(tmp_path / "out", plots=False)
    record = json.loads((out / "run.json").read_text())
    quota_record = next(q for q in record["scenarios"][0]["shocks_in_force"][0]["quotas"] if q["sector"] == "autos")
    assert quota_record["out_rate"] == "inf" and quota_record["rent_holder"] == "importer"
    assert "(TRQ)" in sim.plots._partner_label(res.by_scenario, ["absolute"], "long run", "autos", "JPN", "USA",
                                               res.infos)


def test_the_datasets_base_year_quotas_hold_until_a_tariff_ends_them():
    """us_japan_2024 ships Japan's and the EU's TRQs and Korea's absolute quota (quotas.csv)."""
    untouched = sim.run(ROOT / "scenarios" / "nippon_steel_investment.toml")  # no tariffs: the quotas hold
    q = untouched.frames.quotas.xs("steel", level="sector")
    assert set(q.index.get_level_values("exporter")) == {"JPN", "EU", "KOR"}
    eu = q.xs(("EU", "USA"), level=("exporter", "importer"))
    assert (eu["regime"] == "over quota").all() and (eu["rate"] == 0.25).all()
    ended = sim.run(ROOT / "scenarios" / "steel_232_2025.toml")  # 25% on every partner ends them all
    assert ended.frames.quotas.empty
    # ending the EU's over-filled quota turns the US importers' base rent into tariff revenue
    us = ended.frames.welfare.loc[("long run", "steel", "USA")]
    assert us["quota_rent"] == pytest.approx(-0.25 * 5048.531, rel=1e-6)


def test_a_dataset_quota_must_agree_with_the_base_rate(tmp_path):
    import shutil

    folder = tmp_path / "ds"
    shutil.copytree(ROOT / "sim" / "datasets" / "us_japan_2024", folder)
    text = (folder / "tariffs.csv").read_text().replace("steel,EU,USA,0.2500", "steel,EU,USA,0.0602")
    (folder / "tariffs.csv").write_text(text)
    with pytest.raises(sim.InputError) as err:
        sim.load_dataset(folder)
    message = str(err.value)
    assert "quotas.csv" in message and "line 3" in message
    assert "exceeds the quota volume 5,048.5, so tariffs.csv's rate for steel EU->USA must be the out-of-quota " \
           "rate 0.25, got 0.0602" in message


def test_no_shock_with_base_year_quotas_changes_nothing_exactly(tmp_path):
    path = tmp_path / "nothing.toml"
    path.write_text('name = "nothing"\ndataset = "us_japan_2024"\n')
    res = sim.run(path)
    assert (res.frames.welfare == 0.0).all().all() and (res.frames.prices == 0.0).all().all()
    assert set(res.frames.quotas["regime"]) == {"slack", "over quota"}  # Japan, Korea slack; the EU over


def test_max_iterations_holds_for_the_quota_solve_too():
    """A binding quota needs several iterations: with max_iterations=1 it is reported, never called converged."""
    full = solve_equilibrium(V, ZERO, ZERO, SIGMA, ETA, EPS, **quota(10.0))
    assert full.all_converged and full.iterations[0] > 2 and full.nfev[0] > full.iterations[0]
    for limit in (1, 2):
        capped = solve_equilibrium(V, ZERO, ZERO, SIGMA, ETA, EPS, max_iterations=limit, **quota(10.0))
        assert capped.iterations[0] <= limit
        assert not capped.converged[0] and capped.max_residual[0] > 1e-10
    exact = solve_equilibrium(V, ZERO, ZERO, SIGMA, ETA, EPS, max_iterations=int(full.iterations[0]), **quota(10.0))
    assert exact.all_converged and exact.iterations[0] == full.iterations[0] and exact.nfev[0] == full.nfev[0]


# --- the quota solve on the fast evaluation (issue 22) ---------------------------------------------------------


def count_calls(monkeypatch, owner, name):
    """Replace ``owner.name`` by a wrapper that counts its calls; returns the counter (a list of one int)."""
    calls, original = [0], getattr(owner, name)

    def counted(*args, **kwargs):
        calls[0] += 1
        return original(*args, **kwargs)

    monkeypatch.setattr(owner, name, counted)
    return calls


@pytest.mark.parametrize("new_rate", [0.0, 0.3])  # the in-quota rate, and a new tariff above it that ends slack
@pytest.mark.parametrize("volume", [10.0, 40.0])  # binding, slack
def test_quota_markets_are_solved_on_the_fast_evaluation(monkeypatch, volume, new_rate):
    """Neither the term-by-term evaluation nor a rebuild of the markets: the quota cells' terms are corrected."""
    from sim.engine import equations

    new = ZERO.copy()
    new[0, 1, 0] = new_rate
    expected = solve_equilibrium(V, ZERO, new, SIGMA, ETA, EPS, **quota(volume))
    exact = count_calls(monkeypatch, equations, "evaluate")
    builds = count_calls(monkeypatch, equations.Markets, "build")
    sol = solve_equilibrium(V, ZERO, new, SIGMA, ETA, EPS, **quota(volume))
    assert exact[0] == 0 and builds[0] == 1  # the chunk's markets, built once
    assert sol.all_converged
    np.testing.assert_array_equal(sol.producer_price, expected.producer_price)
    rate = sol.tariffs[0, 1, 0]
    assert (0.0 < rate < 0.5) if volume == 10.0 else rate == 0.0


def test_a_quota_over_filled_at_base_prices_that_ends_slack_gives_exactly_the_in_quota_tariffs_result():
    """Sent straight to the quota solve (over-filled before prices move), it ends at its in-quota rate: the plain
    market at that rate, solved as one, so the result is exactly the tariff's."""
    supply = np.array([[0.0, -0.5, 0.0]])  # exporter 1's supply halves: its exports fall below the volume
    with_quota = solve_equilibrium(V, ZERO, ZERO, SIGMA, ETA, EPS, supply, **quota(29.0))
    tariff = solve_equilibrium(V, ZERO, ZERO, SIGMA, ETA, EPS, supply)
    assert with_quota.all_converged and with_quota.tariffs[0, 1, 0] == 0.0
    assert V[0, 1, 0] * with_quota.quantity[0, 1, 0] < 29.0
    for name in ("producer_price", "consumer_price", "flows", "consumer_surplus", "producer_surplus",
                 "tariff_revenue"):
        np.testing.assert_array_equal(getattr(with_quota, name), getattr(tariff, name), err_msg=name)
    assert with_quota.iterations[0] > tariff.iterations[0]  # the quota solve's iterations count too


def quota_system(rng, n=4, k=3):
    """A :class:`sim.engine.quotas.QuotaSystem` of random markets with several quotas (two on one importer),
    σ = 1 in the first market, a fixed price in the second; and a point ``x`` near the start."""
    from sim.engine import quotas
    from sim.engine.batch import as_batch
    from tests.conftest import random_market

    flows, base, sigma, eta, eps = random_market(rng, n, k=k, zero_share=0.0)
    sigma[0], eps[1, 2] = 1.0, np.inf
    new = base + rng.uniform(0, 0.3, base.shape)
    volume, low, high = np.full(flows.shape, np.inf), np.zeros(flows.shape), np.zeros(flows.shape)
    for i, j in ((1, 0), (2, 0), (0, 3)):
        volume[:, i, j], low[:, i, j], high[:, i, j] = 0.8 * flows[:, i, j], base[:, i, j], base[:, i, j] + 1.0
    batch = as_batch(flows, base, new, sigma, eta, eps, None, None, volume, low, high)
    markets, quota_flows = batch.quota_markets(0, k)
    cells = quotas.QuotaCells.of(quota_flows, markets)
    z = rng.normal(0, 0.1, (k, n)) * markets.free_price
    y = cells.start + rng.uniform(0.0, 0.4, cells.start.shape)
    return quotas.QuotaSystem.of(markets, cells), markets, cells, np.concatenate([z, y], axis=1)


def test_the_fast_path_with_corrected_quota_cells_equals_the_markets_rebuilt_at_those_rates():
    from sim.engine import equations

    system, markets, cells, x = quota_system(np.random.default_rng(4))
    n = markets.eps.shape[1]
    z, factor = x[:, :n], np.exp(x[:, n:])
    corrected = equations.fast_evaluate(system.markets, z, cells.rates(system.markets, factor))
    rebuilt_factor = markets.new_tariff_factor.copy()
    m, q = np.nonzero(cells.valid)
    rebuilt_factor[m, cells.exporter[m, q], cells.importer[m, q]] = factor[m, q]
    rebuilt = equations.Markets.build(markets.flows, markets.base_tariff_factor, rebuilt_factor, markets.sigma,
                                      markets.eta, markets.eps, markets.supply_shift, markets.demand_shift)
    np.testing.assert_allclose(corrected.residual, equations.fast_evaluate(rebuilt, z).residual, atol=1e-13)
    np.testing.assert_allclose(corrected.residual, equations.evaluate(rebuilt, z).residual, atol=1e-13)
    restored = cells.rates(system.markets, factor).restore(system.markets)
    for name in ("price_matrix", "demand_matrix", "tariff_power", "new_tariff_factor", "unit_log_price"):
        np.testing.assert_array_equal(getattr(restored, name), getattr(rebuilt, name), err_msg=name)


def test_the_quota_systems_jacobian_matches_finite_differences():
    """The Jacobian from the cleared constants plus the quota cells' rows and columns, against central differences
    of the residuals (each quota in the regime of the point; the prices that are unknowns)."""
    system, markets, cells, x = quota_system(np.random.default_rng(5))
    state = system.evaluate(x)
    assert state.binding.any() and (cells.valid & ~state.binding).any()  # both kinds of quota rows
    jac, _ = system.jacobian(state)
    h = 1e-6
    for col in range(x.shape[1]):
        step = np.zeros_like(x)
        step[:, col] = h
        up, down = system.evaluate(x + step), system.evaluate(x - step)
        same = (up.binding == state.binding).all(axis=1) & (down.binding == state.binding).all(axis=1)
        if col < markets.eps.shape[1]:  # a fixed price is no unknown: its column of the Jacobian is the identity's
            same &= markets.free_price[:, col]
        numeric = (up.residual - down.residual) / (2 * h)
        np.testing.assert_allclose(jac[same, :, col], numeric[same], rtol=1e-5, atol=1e-7, err_msg=f"column {col}")


def _split_everywhere(flows, quantity, price, factor, in_rate, out_rate, volume):
    """docs/model.md's split written on every flow: what split_revenue computes at the quota cells only."""
    value = flows * quantity * price[..., None]
    quota = np.isfinite(volume) & (flows > 0)
    low, high = 1.0 + in_rate, 1.0 + out_rate
    inside = np.where(quota & (factor >= high), np.minimum(flows * quantity, np.where(quota, volume, 0.0)),
                      flows * quantity)
    rent = np.where(quota & (factor > low), (factor - low) * inside * price[..., None], 0.0)
    return (factor - 1.0) * value - rent, rent


def test_revenue_split_at_the_quota_cells_is_the_split_of_every_flow_to_the_last_bit():
    """Every regime (none, slack, binding, over-filled, absolute; zero flows) in one batch of 40 markets."""
    from sim.engine.accounting import split_revenue

    rng = np.random.default_rng(7)
    m, n = 40, 6
    flows = rng.lognormal(size=(m, n, n)) * (rng.random((m, n, n)) > 0.2)
    quantity, price = rng.lognormal(0, 0.3, (m, n, n)), rng.lognormal(0, 0.1, (m, n))
    in_rate = rng.uniform(0, 0.2, (m, n, n))
    out_rate = np.where(rng.random((m, n, n)) < 0.2, np.inf, in_rate + rng.uniform(0, 0.5, (m, n, n)))
    factor = 1.0 + np.clip(rng.uniform(-0.1, 0.9, (m, n, n)), 0, None)
    factor[rng.random((m, n, n)) < 0.2] = (1.0 + in_rate)[rng.random((m, n, n)) < 0.2][0]  # some at a bound
    volume = np.where(rng.random((m, n, n)) < 0.3, flows * rng.uniform(0.3, 1.5, (m, n, n)) + 0.01, np.inf)
    revenue, rent = split_revenue(flows, quantity, price, factor, in_rate, out_rate, volume)
    expected_revenue, expected_rent = _split_everywhere(flows, quantity, price, factor, in_rate, out_rate, volume)
    regimes = np.isfinite(volume) & (flows > 0)
    assert regimes.sum() > 50 and (rent > 0).sum() > 20 and ((factor >= 1.0 + out_rate) & regimes).any()
    assert np.array_equal(revenue, expected_revenue) and np.array_equal(rent, expected_rent)
    assert np.array_equal(np.signbit(revenue), np.signbit(expected_revenue))
    no_cells = split_revenue(flows, quantity, price, factor, in_rate, out_rate, np.full_like(volume, np.inf))
    assert np.array_equal(no_cells[0], (factor - 1.0) * (flows * quantity * price[..., None])) and not no_cells[1].any()
