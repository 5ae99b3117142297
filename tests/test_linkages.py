"""Vertical linkages (docs/model.md, "Vertical linkages"): an independent reference, closed forms and errors."""

import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose
from scipy.optimize import root

import sim

DATASET = """
name = "linked"
title = "two linked sectors, three regions"
base_year = 2024
unit = "USD million"
[[region]]
code = "A"
name = "A"
[[region]]
code = "B"
name = "B"
[[region]]
code = "C"
name = "C"
[[sector]]
code = "steel"
name = "steel"
sigma = 3.0
eta = -1.0
eps = 1.5
[[sector]]
code = "autos"
name = "autos"
sigma = 2.5
eta = -1.2
eps = 2.0
"""
REGIONS, SECTORS = ("A", "B", "C"), ("steel", "autos")
FLOWS = {"steel": [[100, 20, 10], [30, 80, 15], [10, 10, 60]],
         "autos": [[300, 60, 40], [90, 250, 30], [20, 25, 200]]}
BASE_RATES = {("steel", "B", "A"): 0.05, ("autos", "C", "A"): 0.025}
INPUTS = "input_sector,using_sector,region,cost_share\nsteel,autos,*,0.08\nsteel,autos,B,0.10\nsteel,steel,A,0.05\n"


def make_dataset(folder: Path, inputs: str | None = INPUTS) -> Path:
    folder.mkdir(parents=True)
    (folder / "dataset.toml").write_text(DATASET)
    (folder / "flows.csv").write_text("sector,exporter,importer,value\n" + "".join(
        f"{k},{REGIONS[i]},{REGIONS[j]},{v}\n" for k, rows in FLOWS.items() for i, row in enumerate(rows)
        for j, v in enumerate(row)))
    (folder / "tariffs.csv").write_text("sector,exporter,importer,rate\n" + "".join(
        f"{k},{i},{j},{r}\n" for (k, i, j), r in BASE_RATES.items()))
    if inputs is not None:
        (folder / "inputs.csv").write_text(inputs)
    return folder


def scenario(folder: Path, dataset: Path, rate: float, extra: str = "", top: str = "") -> Path:
    path = folder / "s.toml"
    path.write_text(f'name = "s"\ndataset = "{dataset}"\n{top}[[tariff]]\nsector = "steel"\nimporter = "A"\n'
                    f'exporter = "*"\nrate = {rate}\n' + extra)
    return path


def reference(rate: float, shares):
    """The linked equilibrium of docs/model.md written out in loops and solved with scipy, independently of sim."""
    k_, n_ = len(SECTORS), len(REGIONS)
    sigma, eta, eps = [3.0, 2.5], [-1.0, -1.2], [1.5, 2.0]
    v = np.array([FLOWS[k] for k in SECTORS], dtype=float)
    t0 = np.zeros((k_, n_, n_))
    for (k, i, j), r in BASE_RATES.items():
        t0[SECTORS.index(k), REGIONS.index(i), REGIONS.index(j)] = r
    t1 = t0.copy()
    for i in range(n_):
        if i != 0:
            t1[0, i, 0] = rate
    a = shares  # a[n, u, j]

    def unpack(x):
        return np.exp(x.reshape(k_, n_))

    def state(p):
        big_p = np.zeros((k_, n_))
        spend = np.zeros((k_, n_))
        for k in range(k_):
            for j in range(n_):
                spend[k, j] = sum((1 + t0[k, i, j]) * v[k, i, j] for i in range(n_))
                total = 0.0
                for i in range(n_):
                    theta = (1 + t0[k, i, j]) * v[k, i, j] / spend[k, j]
                    total += theta * ((1 + t1[k, i, j]) / (1 + t0[k, i, j]) * p[k, i]) ** (1 - sigma[k])
                big_p[k, j] = total ** (1 / (1 - sigma[k]))
        out = v.sum(axis=2)
        supply = np.zeros((k_, n_))
        va = np.zeros((k_, n_))
        for u in range(k_):
            for j in range(n_):
                share = sum(a[n, u, j] for n in range(k_))
                cost = sum(a[n, u, j] * big_p[n, j] for n in range(k_))
                va[u, j] = (p[u, j] - cost) / (1 - share)
                supply[u, j] = va[u, j] ** (eps[u] * (1 - share))
        quantity = np.zeros((k_, n_))
        for n in range(k_):
            for j in range(n_):
                derived = sum(a[n, u, j] * out[u, j] for u in range(k_))
                moved = sum(a[n, u, j] * out[u, j] * supply[u, j] for u in range(k_))
                g = derived / spend[n, j]
                quantity[n, j] = (1 - g) * big_p[n, j] ** eta[n] + (moved / derived * g if derived > 0 else 0.0)
        return big_p, spend, out, supply, va, quantity

    def residual(x):
        p = unpack(x)
        big_p, spend, out, supply, va, quantity = state(p)
        r = np.zeros((k_, n_))
        for k in range(k_):
            for i in range(n_):
                demand = sum(v[k, i, j] * quantity[k, j] * ((1 + t1[k, i, j]) / (1 + t0[k, i, j]) * p[k, i]
                                                            / big_p[k, j]) ** (-sigma[k]) for j in range(n_))
                r[k, i] = np.log(demand) - np.log(out[k, i] * supply[k, i])
        return r.ravel()

    sol = root(residual, np.zeros(k_ * n_), tol=1e-14)
    p = unpack(sol.x)
    big_p, spend, out, supply, va, quantity = state(p)
    cs = np.zeros((k_, n_))
    ps = np.zeros((k_, n_))
    for k in range(k_):
        for j in range(n_):
            derived = sum(a[k, u, j] * out[u, j] for u in range(k_))
            cs[k, j] = -(spend[k, j] - derived) * (big_p[k, j] ** (1 + eta[k]) - 1) / (1 + eta[k]) \
                if eta[k] != -1 else -(spend[k, j] - derived) * np.log(big_p[k, j])
            share = sum(a[n, k, j] for n in range(k_))
            e = eps[k] * (1 - share)
            ps[k, j] = (1 - share) * out[k, j] * (va[k, j] ** (1 + e) - 1) / (1 + e)
    return {"producer_price": p, "consumer_price": big_p, "output": supply, "consumer_surplus": cs,
            "producer_surplus": ps}


def shipped_shares():
    a = np.zeros((2, 2, 3))
    a[0, 1, :] = 0.08
    a[0, 1, 1] = 0.10
    a[0, 0, 0] = 0.05
    return a


def test_the_linked_equilibrium_matches_an_independent_reference(tmp_path):
    ds = make_dataset(tmp_path / "ds")
    res = sim.run(scenario(tmp_path, ds, 0.25))
    ref = reference(0.25, shipped_shares())
    sol = res.solution
    assert res.frames.diagnostics["converged"].all()
    assert_allclose(sol.producer_price[0], ref["producer_price"], rtol=1e-8)
    assert_allclose(sol.consumer_price[0], ref["consumer_price"], rtol=1e-8)
    assert_allclose(sol.output[0], ref["output"], rtol=1e-8)
    w = res.frames.welfare.xs("long run", level="year")
    for name in ("consumer_surplus", "producer_surplus"):
        got = np.array([[w.loc[(k, r), name] for r in REGIONS] for k in SECTORS])
        assert_allclose(got, ref[name], rtol=1e-8, atol=1e-8, err_msg=name)


def test_a_steel_tariff_raises_the_car_makers_cost_and_lowers_their_output(tmp_path):
    linked = make_dataset(tmp_path / "linked")
    on = sim.run(scenario(tmp_path, linked, 0.25))
    off = sim.run(scenario(tmp_path, linked, 0.25, top="linkages = false\n"))
    autos_on = on.frames.prices.loc[("long run", "autos", "A")]
    autos_off = off.frames.prices.loc[("long run", "autos", "A")]
    assert autos_off["output_pct"] == 0.0  # unlinked, the car market does not move
    assert autos_on["output_pct"] < 0 < autos_on["producer_price_pct"]
    assert on.frames.welfare.loc[("long run", "autos", "A"), "producer_surplus"] < 0


def test_car_output_follows_the_first_order_closed_form_at_a_small_shock(tmp_path):
    """Only A's car makers buy steel (a = 0.08) and foreign car prices are fixed: to first order A's car output
    moves by -eps a beta / (eps + beta) times the change in A's steel price, beta being the elasticity of demand
    for A's cars, beta = sum_j w_j (sigma - (eta + sigma) theta_Aj) (docs/model.md, "Vertical linkages")."""
    ds = make_dataset(tmp_path / "ds", "input_sector,using_sector,region,cost_share\nsteel,autos,A,0.08\n")
    path = scenario(tmp_path, ds, 0.06, '[elasticities.autos]\neps = { A = 2.0, "*" = "inf" }\n')
    res = sim.run(path)
    dataset = sim.load_dataset(ds)
    k = dataset.sector_index("autos")
    flows, base = dataset.flows[k], dataset.tariffs[k]
    theta = (1 + base[0]) * flows[0] / ((1 + base) * flows).sum(axis=0)
    weight = flows[0] / flows[0].sum()
    beta = float((weight * (2.5 - (-1.2 + 2.5) * theta)).sum())
    steel = np.log(res.solution.consumer_price[0, dataset.sector_index("steel"), 0])
    expected = -2.0 * 0.08 * beta / (2.0 + beta) * steel
    assert np.log(res.solution.output[0, k, 0]) == pytest.approx(expected, rel=0.02)
    assert steel > 0


def test_zero_cost_shares_give_the_unlinked_numbers_exactly(tmp_path):
    zero = make_dataset(tmp_path / "zero", "input_sector,using_sector,region,cost_share\nsteel,autos,*,0\n")
    plain = make_dataset(tmp_path / "plain", None)
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    with_zero = sim.run(scenario(tmp_path / "a", zero, 0.25))
    without = sim.run(scenario(tmp_path / "b", plain, 0.25))
    for frame in ("welfare", "prices", "flows"):
        pd.testing.assert_frame_equal(getattr(with_zero, frame).drop(columns="scenario"),
                                      getattr(without, frame).drop(columns="scenario"), check_exact=True)


def test_monte_carlo_sweeps_and_comparisons_go_through_the_links(tmp_path):
    ds = make_dataset(tmp_path / "ds")
    path = scenario(tmp_path, ds, 0.25)
    central = sim.run(path)
    mc = sim.run(path, draws=4, seed=3)
    assert_allclose(mc.frames.welfare["net_welfare"].to_numpy(), central.frames.welfare["net_welfare"].to_numpy())
    assert mc.uncertainty.failed.empty
    sweep = sim.sweep(path, tariff=1, rates=[0.1, 0.25])
    assert sweep.table["net_welfare_A"].iloc[1] == pytest.approx(
        central.welfare_by_region().loc["A", "net_welfare"], rel=1e-9)


@pytest.mark.parametrize("rows, message", [
    ("steel,autos,*,1.2", "cost_share must be a number from 0 up to (not including) 1"),
    ("steel,autos,*,0.6\nautos,autos,*,0.5", "the cost shares of autos in A add up to 1.1"),
    ("steal,autos,*,0.1", "unknown input_sector 'steal'"),
    ("steel,autos,D,0.1", "unknown region 'D'"),
    ("steel,autos,*,0.9", "the using sectors' derived demand for steel in A"),
])
def test_bad_cost_shares_get_one_clear_message_each(tmp_path, rows, message):
    ds = make_dataset(tmp_path / "ds", "input_sector,using_sector,region,cost_share\n" + rows + "\n")
    with pytest.raises(sim.InputError) as err:
        sim.load_dataset(ds)
    assert message in str(err.value) and "inputs.csv" in str(err.value), str(err.value)


def test_a_linked_sector_needs_a_finite_supply_elasticity_and_the_exact_method(tmp_path):
    ds = make_dataset(tmp_path / "ds")
    infinite = scenario(tmp_path, ds, 0.25, '[elasticities.autos]\neps = "inf"\n')
    with pytest.raises(sim.InputError, match="autos in A buys inputs .* its supply elasticity is inf"):
        sim.load_scenario(infinite)
    linear = scenario(tmp_path, ds, 0.25, top='method = "gsim-linear"\n')
    with pytest.raises(sim.InputError, match="cannot solve a dataset whose sectors are linked"):
        sim.load_scenario(linear)
    linear = scenario(tmp_path, ds, 0.25, top='method = "gsim-linear"\nlinkages = false\n')
    sim.load_scenario(linear)  # switched off: the linear method is fine


def test_the_world_total_adds_up(tmp_path):
    ds = make_dataset(tmp_path / "ds")
    res = sim.run(scenario(tmp_path, ds, 0.25))
    w = res.frames.welfare
    parts = ["consumer_surplus", "producer_surplus", "exporter_margin", "tariff_revenue", "quota_rent"]
    assert_allclose(w[parts].sum(axis=1), w["net_welfare"])
    shutil.rmtree(ds)


def test_sensitivity_moves_the_cost_shares_too(tmp_path):
    """Each using sector's shares x (1 -/+ cv), each side the same as a dataset written with those shares."""
    ds = make_dataset(tmp_path / "ds")
    res = sim.run(scenario(tmp_path, ds, 0.25))
    table = res.sensitivity(cv=0.2, region="A").table.set_index(["sector", "parameter"])
    autos = table.loc[("autos", "cost_share")]
    low_inputs = "input_sector,using_sector,region,cost_share\nsteel,autos,*,0.064\nsteel,autos,B,0.08\n" \
                 "steel,steel,A,0.05\n"
    low = make_dataset(tmp_path / "low", low_inputs)
    (tmp_path / "l").mkdir()
    direct = sim.run(scenario(tmp_path / "l", low, 0.25)).welfare_by_region().loc["A", "net_welfare"]
    assert autos["net_welfare_low"] == pytest.approx(direct, rel=1e-9)
    assert autos["central"] == "0.08 to 0.1" and autos["low"] == "0.064 to 0.08"
    plain = make_dataset(tmp_path / "plain", None)
    (tmp_path / "p").mkdir()
    unlinked = sim.run(scenario(tmp_path / "p", plain, 0.25)).sensitivity(cv=0.2, region="A").table
    assert "cost_share" not in set(unlinked["parameter"])


def test_a_cost_share_variant_is_capped_where_absorption_ends(tmp_path):
    ds = make_dataset(tmp_path / "ds", "input_sector,using_sector,region,cost_share\nsteel,autos,*,0.25\n")
    res = sim.run(scenario(tmp_path, ds, 0.25))
    row = res.sensitivity(cv=0.5, region="A").table.set_index(["sector", "parameter"]).loc[("autos", "cost_share")]
    assert "the most absorption allows" in row["high"] and np.isfinite(row["net_welfare_high"])


def test_docs_state_the_flagships_largest_linked_sensitivity():
    docs = (Path(__file__).resolve().parents[1] / "docs" / "model.md").read_text(encoding="utf-8")
    flagship = sim.run(Path(__file__).resolve().parents[1] / "scenarios" / "steel_tariff_with_investment_linked.toml")
    top = flagship.sensitivity(cv=0.3).table.iloc[0]
    assert (top["sector"], top["parameter"]) == ("other_goods", "cost_share")
    text = " ".join(docs.split())
    assert f"swing USD {top['swing'] / 1000:.1f} bn, its high side capped at ×{1.15:.2f}" in text
    assert "(x 1.15: the most absorption allows)" in top["high"]
