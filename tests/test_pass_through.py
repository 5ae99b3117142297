"""Exporters' pass-through (docs/model.md, "Exporters' pass-through"): closed forms and an independent reference."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose
from scipy.optimize import root

import sim

ROOT = Path(__file__).resolve().parents[1]
AUTOS = ROOT / "scenarios" / "autos_232_2025.toml"

TWO_REGIONS = """
name = "{name}"
title = "pass-through"
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
code = "x"
name = "x"
sigma = {sigma}
eta = -1.3
eps = {eps}
"""


def make_dataset(folder: Path, sigma=3.0, eps="inf", flows=None, tariffs=()) -> Path:
    folder.mkdir(parents=True)
    (folder / "dataset.toml").write_text(TWO_REGIONS.format(name=folder.name, sigma=sigma, eps=eps))
    flows = flows or {("A", "A"): 50, ("A", "B"): 40, ("A", "C"): 10, ("B", "B"): 120, ("B", "C"): 15,
                      ("C", "B"): 25, ("C", "C"): 60, ("C", "A"): 5}
    (folder / "flows.csv").write_text("sector,exporter,importer,value\n" + "".join(
        f"x,{i},{j},{v}\n" for (i, j), v in flows.items()))
    (folder / "tariffs.csv").write_text("sector,exporter,importer,rate\n" + "".join(
        f"x,{i},{j},{r}\n" for (i, j), r in tariffs))
    return folder


def scenario(folder: Path, dataset: Path, rate: float, share: float | None, exporter="A") -> Path:
    text = f'name = "s"\ndataset = "{dataset}"\n[[tariff]]\nsector = "x"\nimporter = "B"\nexporter = "{exporter}"\n' \
           f"rate = {rate}\n"
    if share is not None:
        text += f'[[pass_through]]\nsector = "x"\nexporter = "{exporter}"\nimporter = "B"\nshare = {share}\n'
    path = folder / "s.toml"
    path.write_text(text)
    return path


def test_absorbed_fully_by_a_price_taking_exporter_buyers_see_nothing(tmp_path):
    """Share 0, ε = ∞, only A taxed: prices and volumes unchanged; the route price falls to 1/T̂; the exporter's
    margin is exactly the tariff revenue, so the world's net change is 0."""
    ds = make_dataset(tmp_path / "ds")
    res = sim.run(scenario(tmp_path, ds, 0.25, 0.0))
    prices = res.frames.prices.xs("x", level="sector")
    assert_allclose(prices[["producer_price_pct", "consumer_price_pct"]].to_numpy(), 0.0, atol=1e-10)
    flow = res.frames.flows.loc[("long run", "x", "A", "B")]
    assert flow["volume_pct"] == pytest.approx(0.0, abs=1e-10)
    assert flow["value"] == pytest.approx(40 / 1.25, rel=1e-12)  # the route price is 1 / T̂
    w = res.frames.welfare.xs(("long run", "x"), level=("year", "sector"))
    assert w.loc["B", "tariff_revenue"] == pytest.approx(0.25 * 40 / 1.25, rel=1e-12)
    assert w.loc["A", "exporter_margin"] == pytest.approx(-0.25 * 40 / 1.25, rel=1e-12)
    assert_allclose(w[["consumer_surplus", "producer_surplus"]].to_numpy(), 0.0, atol=1e-9)
    assert w["net_welfare"].sum() == pytest.approx(0.0, abs=1e-9)


def test_a_share_of_one_is_todays_model_exactly(tmp_path):
    plain = sim.run(AUTOS)
    case = sim.load_scenario(AUTOS)
    one = sim.run(case.replace(pass_through=(sim.PassThrough(sector="autos", exporter="*", importer="USA",
                                                             share=1.0),)))
    pd.testing.assert_frame_equal(plain.welfare.drop(columns="scenario"), one.welfare.drop(columns="scenario"),
                                  check_exact=True)
    pd.testing.assert_frame_equal(plain.flows.drop(columns="scenario"), one.flows.drop(columns="scenario"),
                                  check_exact=True)
    assert (plain.welfare["exporter_margin"] == 0).all()


def reference(flows, t0, t1, share, sigma, eta, eps):
    """The pass-through equilibrium of one sector written from docs/model.md, independently of sim.engine.

    Buyers face ``T0 (T1/T0)^s p̂``; clearing at the producer price ``p̂``; the exporter receives
    ``p̂ (T1/T0)^(s−1)`` per unit on the route.
    """
    big_t0, big_t1 = 1 + t0, 1 + t1
    hat = big_t1 / big_t0
    expenditure = (big_t0 * flows).sum(axis=0)
    theta = big_t0 * flows / expenditure

    def demand(p):
        delivered = hat ** share * p[:, None]
        index = (theta * delivered ** (1 - sigma)).sum(axis=0) ** (1 / (1 - sigma))
        return index, index ** eta * (delivered / index) ** -sigma

    def residual(logp):
        p = np.exp(logp)
        _, q = demand(p)
        return np.log((flows * q).sum(axis=1)) - np.log(flows.sum(axis=1) * p ** eps)

    logp = root(residual, np.zeros(len(flows)), tol=1e-14).x
    p = np.exp(logp)
    index, q = demand(p)
    at_route = flows * q * p[:, None] * hat ** (share - 1)
    output = flows.sum(axis=1)
    return {
        "producer_price": p, "consumer_price": index, "flows": at_route,
        "consumer_surplus": -expenditure * (index ** (1 + eta) - 1) / (1 + eta),
        "producer_surplus": output * (p ** (1 + eps) - 1) / (1 + eps),
        "tariff_revenue": (t1 * at_route).sum(axis=0) - (t0 * flows).sum(axis=0),
        "exporter_margin": (flows * q * p[:, None] * (hat ** (share - 1) - 1)).sum(axis=1),
    }


def test_a_partial_share_matches_an_independent_reference(tmp_path):
    ds = make_dataset(tmp_path / "ds", sigma=3.0, eps=2.0, tariffs=[(("A", "B"), 0.05), (("C", "B"), 0.05)])
    res = sim.run(scenario(tmp_path, ds, 0.30, 0.4))
    dataset = sim.load_dataset(ds)
    flows = dataset.flows[0]
    t0 = dataset.tariffs[0]
    t1 = t0.copy()
    t1[0, 1] = 0.30
    share = np.ones_like(flows)
    share[0, 1] = 0.4
    ref = reference(flows, t0, t1, share, 3.0, -1.3, 2.0)
    sol = res.solution
    assert_allclose(sol.producer_price[0, 0], ref["producer_price"], rtol=1e-10)
    assert_allclose(sol.consumer_price[0, 0], ref["consumer_price"], rtol=1e-10)
    assert_allclose(sol.flows[0, 0], ref["flows"], rtol=1e-9, atol=1e-12)
    w = res.frames.welfare.xs(("long run", "x"), level=("year", "sector"))
    for name in ("consumer_surplus", "producer_surplus", "tariff_revenue", "exporter_margin"):
        assert_allclose(w[name].to_numpy(), ref[name], rtol=1e-8, atol=1e-9, err_msg=name)
    assert w.loc["A", "exporter_margin"] < 0 and (w.drop("A")["exporter_margin"] == 0).all()


def test_the_buyer_pays_less_and_the_exporter_more_as_the_share_falls(tmp_path):
    ds = make_dataset(tmp_path / "ds", sigma=3.0, eps=2.0)
    outcome = {}
    for share in (1.0, 0.5, 0.0):
        (tmp_path / str(share)).mkdir()
        res = sim.run(scenario(tmp_path / str(share), ds, 0.25, share))
        w = res.frames.welfare.xs(("long run", "x"), level=("year", "sector"))
        flow = res.frames.flows.loc[("long run", "x", "A", "B")]
        outcome[share] = (w.loc["B", "consumer_surplus"], w.loc["A", "exporter_margin"], flow["volume_pct"])
    assert outcome[1.0][0] < outcome[0.5][0] < outcome[0.0][0]  # buyers lose less
    assert outcome[1.0][1] == 0 > outcome[0.5][1] > outcome[0.0][1]  # the exporter absorbs more
    assert outcome[1.0][2] < outcome[0.5][2] < outcome[0.0][2]  # and sells more on the route


def test_monte_carlo_and_sweeps_go_through_the_same_routes(tmp_path):
    case = sim.load_scenario(AUTOS)
    absorbed = case.replace(pass_through=(sim.PassThrough(sector="autos", exporter="JPN", importer="USA",
                                                          share=0.2),))
    central = sim.run(absorbed)
    mc = sim.run(absorbed, draws=5, seed=1)
    assert_allclose(mc.frames.welfare["net_welfare"].to_numpy(), central.frames.welfare["net_welfare"].to_numpy())
    japan = case.replace(tariffs=(sim.Tariff(sector="autos", importer="USA", exporter="JPN", rate=0.3),),
                         pass_through=absorbed.scenario.pass_through)
    sweep = sim.sweep(japan, tariff=1, rates=[0.1, 0.3])  # the rate at the border; the share reaches buyers
    single = sim.run(japan).welfare_by_region()
    assert sweep.table["net_welfare_USA"].iloc[1] == pytest.approx(single.loc["USA", "net_welfare"], rel=1e-9)


@pytest.mark.parametrize("block, message", [
    ('sector = "autos"\nexporter = "JPN"\nimporter = "USA"\nshare = 1.5',
     "pass_through[1].share: must be in [0, 1]"),
    ('sector = "autos"\nexporter = "JAP"\nimporter = "USA"\nshare = 0.5', "pass_through[1].exporter: unknown region"),
    ('sector = "autos"\nexporter = "JPN"\nimporter = "USA"', "pass_through[1].share: is required"),
    ('sector = "steel"\nexporter = "EU"\nimporter = "USA"\nshare = 0.5',
     "a tariff-rate quota is in force on steel EU->USA: pass-through below 1 on a quota flow is not supported"),
])
def test_a_bad_pass_through_block_gets_one_clear_message(tmp_path, block, message):
    path = tmp_path / "s.toml"
    path.write_text(AUTOS.read_text(encoding="utf-8") + "\n[[pass_through]]\n" + block + "\n")
    with pytest.raises(sim.InputError) as err:
        sim.load_scenario(path)
    assert len(err.value.problems) == 1 and message in str(err.value), str(err.value)

