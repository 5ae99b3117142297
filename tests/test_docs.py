"""docs/model.md says what the code does: the worked example is re-derived, and users' docs stay in the project."""

import re
from pathlib import Path

import numpy as np
import pytest

import sim

ROOT = Path(__file__).resolve().parents[1]
MODEL = (ROOT / "docs" / "model.md").read_text(encoding="utf-8")


def example_table() -> dict[str, list[str]]:
    block = MODEL.split("## Worked example", 1)[1].split("## ", 1)[0]
    rows = re.findall(r"^\| (.+?) \| (.+?) \| (.+?) \|$", block, flags=re.M)
    return {name: [home, foreign] for name, home, foreign in rows[1:]}  # skip the header


@pytest.fixture(scope="module")
def solution():
    flows = np.array([[[80.0, 10.0], [20.0, 90.0]]])
    t0 = np.zeros_like(flows)
    t1 = t0.copy()
    t1[0, 1, 0] = 0.25
    return sim.solve_equilibrium(flows, t0, t1, sigma=[4.0], eta=[-1.0], eps=[[2.0, 2.0]])


def pct(x):
    return f"{x:+.2f}%".replace("-", "−")


def money(x):
    return "0" if x == 0 else f"{x:+.3f}".replace("-", "−")


def test_worked_example_table_matches_a_fresh_solve(solution):
    table = example_table()
    s = solution
    expected = {
        "producer price change `p̂ − 1`": [pct(100 * (p - 1)) for p in s.producer_price[0]],
        "consumer price change `P̂ − 1`": [pct(100 * (p - 1)) for p in s.consumer_price[0]],
        "output change": [pct(100 * (q - 1)) for q in s.output[0]],
        "consumer surplus": [money(v) for v in s.consumer_surplus[0]],
        "producer surplus": [money(v) for v in s.producer_surplus[0]],
        "tariff revenue": [money(v) for v in s.tariff_revenue[0]],
        "net welfare": [money(v) for v in (s.consumer_surplus + s.producer_surplus + s.tariff_revenue)[0]],
    }
    assert table == expected
    assert int(s.iterations[0]) == 3 and "in 3\niterations" in MODEL


def test_worked_example_text_numbers(solution):
    flows = solution.flows[0]
    assert f"H→H {flows[0, 0]:.2f}, F→H {flows[1, 0]:.2f} ({(flows[1, 0] / 20 - 1) * 100:+.1f}%)".replace("-", "−") \
        in MODEL
    assert f"H→F {flows[0, 1]:.2f}, F→F {flows[1, 1]:.2f}" in MODEL
    small = sim.solve_equilibrium(np.array([[[80.0, 10.0], [20.0, 90.0]]]), np.zeros((1, 2, 2)),
                                  np.array([[[0.0, 0.0], [0.25, 0.0]]]), sigma=[4.0], eta=[-1.0],
                                  eps=[[2.0, np.inf]])
    assert small.producer_price[0, 1] == 1.0
    assert f"consumer price rises {(small.consumer_price[0, 0] - 1) * 100:.2f}%" in MODEL
    net = (small.consumer_surplus + small.producer_surplus + small.tariff_revenue)[0, 0]
    assert f"net loss doubles to −{-net:.3f}" in MODEL


def test_users_docs_do_not_point_outside_the_repository():
    """DESIGN.md lives outside the repository; code and README cite docs/model.md instead."""
    offenders = [p for p in [ROOT / "README.md", *sorted((ROOT / "sim").rglob("*.py"))]
                 if "DESIGN" in p.read_text(encoding="utf-8") or "../shared" in p.read_text(encoding="utf-8")]
    assert offenders == []


def test_docs_model_sections_cited_in_code_exist():
    headings = set(re.findall(r"^## (.+)$", MODEL, flags=re.M))
    cited = set()
    for path in sorted((ROOT / "sim").rglob("*.py")):
        cited |= set(re.findall(r'docs/model\.md, "([^"]+)"', path.read_text(encoding="utf-8")))
    assert cited and cited <= headings, cited - headings


def test_the_linearisation_table_in_the_docs_matches_a_fresh_run():
    import importlib.util

    spec = importlib.util.spec_from_file_location("linearisation", ROOT / "validation" / "linearisation.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    results = module.rows()
    assert module.table(results) in MODEL
    assert (ROOT / "docs" / "figures" / "linearisation.png").is_file()
    ratios = [lin[2] / exact[2] for _, exact, lin in results]
    assert abs(ratios[0] - 1) < 0.1 and ratios == sorted(ratios)  # close for small shocks, drifting as they grow
    at_25 = dict(zip(module.ADDS, ratios))[0.25]
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert round(at_25) == 2 and "by a factor of 2 in US welfare for a 25-point steel" in readme
