"""Shared fixtures: strict floating point, a headless plotting backend, tiny hand-built markets."""

import os

os.environ.setdefault("MPLBACKEND", "Agg")

import numpy as np  # noqa: E402
import pytest  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.fixture(autouse=True)
def strict_floats():
    """Any overflow, invalid operation or division by zero in numpy is an error in tests.

    Underflow is not: a quantity rounding to zero (exp(-800) under a prohibitive
    tariff) is the right floating-point answer.
    """
    old = np.seterr(all="raise", under="ignore")
    yield
    np.seterr(**old)


@pytest.fixture(autouse=True)
def close_figures():
    yield
    import matplotlib.pyplot as plt

    plt.close("all")


def random_market(rng, n, k=1, zero_share=0.2):
    """Random base data for ``k`` sectors of ``n`` regions: flows (k, n, n) with a positive diagonal."""
    flows = rng.lognormal(3.0, 1.5, (k, n, n))
    flows[rng.random((k, n, n)) < zero_share] = 0.0
    flows[:, np.arange(n), np.arange(n)] = rng.lognormal(5.0, 1.0, (k, n))
    base = rng.uniform(0.0, 0.2, (k, n, n))
    base[:, np.arange(n), np.arange(n)] = 0.0
    sigma = rng.uniform(0.5, 10.0, k)
    eta = rng.uniform(-3.0, -0.1, k)
    eps = rng.uniform(0.0, 10.0, (k, n))
    return flows, base, sigma, eta, eps
