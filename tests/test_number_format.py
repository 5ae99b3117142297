"""sim.number_format.format_g10 gives exactly the strings of ``'%.10g' % value`` (issue 22: the CSV writer's floats).

A seeded fuzz of about 200k values: random bit patterns (every exponent, subnormals), decimal ties
and their neighbours, exact binary ties (half-even), values just inside and outside the tie margin,
integers, powers of ten and their neighbours, 10/11/17 significant digits, the %g switch points, and
the realistic shape of the output tables. ``fuzz_values(seed, scale)`` also serves the larger fuzz run
by hand (see the module's report in the issue).
"""

from fractions import Fraction

import numpy as np
import pytest

from sim.number_format import TIE_MARGIN, _ten_digits, format_g10


def _percent(values: np.ndarray) -> list[str]:
    return list(map("%.10g".__mod__, values.tolist()))


def _signed(rng: np.random.Generator, values: np.ndarray) -> np.ndarray:
    return values * rng.choice([-1.0, 1.0], len(values))


def _bit_patterns(rng, n):
    """Uniform over the bit patterns of float64: every exponent, subnormals, a few infinities and NaNs."""
    return rng.integers(0, 2**64, n, dtype=np.uint64).view(np.float64)


def _log_uniform(rng, n):
    return _signed(rng, 10.0 ** rng.uniform(-323.5, 308.2, n))


def _decimal_ties(rng, n):
    """The doubles nearest ``d.ddddddddd5 * 10**q`` (11 significant digits, ending in 5) and their neighbours."""
    digits = rng.integers(10**9, 10**10, n)
    powers = rng.integers(-320, 298, n)
    ties = np.array([float(f"{d}5e{q}") for d, q in zip(digits.tolist(), powers.tolist())])
    return _signed(rng, np.concatenate([ties, np.nextafter(ties, 0), np.nextafter(ties, np.inf)]))


def _exact_ties(rng, n):
    """Doubles exactly halfway between two 10-digit decimals: ``%`` rounds them half to even."""
    values = []
    for q in rng.integers(-14, 9, n).tolist():
        if q < 0:  # (2d + 1) / 2 * 10**q = r * 2**(q - 1) with 2d + 1 = r * 5**-q
            low, high = 2 * 10**9 // 5**-q + 1, 2 * 10**10 // 5**-q
            odd = int(rng.integers(low // 2, high // 2)) * 2 + 1
            exact = Fraction(odd * 5**-q, 2) * Fraction(10) ** q
        else:
            exact = Fraction(2 * int(rng.integers(10**9, 10**10)) + 1, 2) * 10**q
        values.append(float(exact))
        assert Fraction(values[-1]) == exact
    return _signed(rng, np.array(values))


def _near_margin(rng, n):
    """Scaled values whose fraction is 0.5 +- a little more than the tie margin: decided by the fast path."""
    offsets = rng.choice([-1.0, 1.0], n) * rng.uniform(1.0, 10.0, n) * TIE_MARGIN
    scaled = rng.integers(10**9, 10**10, n) + 0.5 + offsets
    return _signed(rng, scaled * 10.0 ** rng.integers(-20, 20, n).astype(float))


def _integers(rng, n):
    return _signed(rng, np.concatenate([rng.integers(0, 2**53, n // 2).astype(float),
                                        rng.integers(0, 10**6, n // 4).astype(float),
                                        rng.integers(10**9, 10**11, n - n // 2 - n // 4).astype(float)]))


def _powers_of_ten():
    """10**k for every k a double can hold, both neighbours, and the carries 9.9999999995 * 10**k around them."""
    powers = np.array([float(f"1e{k}") for k in range(-323, 309)])
    carries = np.array([float(f"9.9999999995e{k}") for k in range(-323, 308)]
                       + [float(f"9.999999999e{k}") for k in range(-323, 309)])
    values = np.concatenate([powers, carries])
    values = np.concatenate([values, np.nextafter(values, 0), np.nextafter(values, np.inf)])
    return np.concatenate([values, -values])


def _significant_digits(rng, n):
    """Decimals with 10, 11 and 17 significant digits over all exponents."""
    texts = []
    for count, power in zip(rng.choice([10, 11, 17], n).tolist(), rng.integers(-330, 300, n).tolist()):
        texts.append(f"{rng.integers(10**(count - 1), 10**count)}e{power}")
    return _signed(rng, np.array([float(text) for text in texts]))


def _switch_points():
    """Where %g changes form (1e-5 / 1e-4, 1e9 / 1e10) and the extremes."""
    edges = [0.0001, 0.00009999999999, 0.000099999999995, 0.00009999999999949, 9999999999.0, 9999999999.5,
             9999999999.499999, 999999999.95, 1e10, 1e-5, 5e-324, 2.2250738585072014e-308, 1.7976931348623157e308,
             1e-290, 1e-291, 0.0, np.inf, np.nan, 0.5, 1.0, 100.0, 0.1, 0.3, 2.675]
    values = np.array(edges)
    with np.errstate(over="ignore"):  # the largest double's neighbour is inf
        values = np.concatenate([values, np.nextafter(values, 0), np.nextafter(values, np.inf)])
    return np.concatenate([values, -values])


def _realistic(rng, n):
    """The output tables' shape: flows 1e-3..1e6 (with zeros), percent changes -100..1e4."""
    flows = 10.0 ** rng.uniform(-3, 6, n // 2)
    flows[rng.random(len(flows)) < 0.1] = 0.0
    return np.concatenate([flows, rng.uniform(-100, 1e4, n - n // 2)])


def fuzz_values(seed: int, scale: int = 1) -> np.ndarray:
    """About ``200_000 * scale`` values of every kind above, shuffled, from ``seed``."""
    rng = np.random.default_rng(seed)
    parts = [_bit_patterns(rng, 40_000 * scale), _log_uniform(rng, 30_000 * scale),
             _decimal_ties(rng, 10_000 * scale), _exact_ties(rng, 5_000 * scale), _near_margin(rng, 10_000 * scale),
             _integers(rng, 10_000 * scale), _significant_digits(rng, 15_000 * scale),
             _realistic(rng, 50_000 * scale), _powers_of_ten(), _switch_points()]
    values = np.concatenate(parts)
    rng.shuffle(values)
    return values


@pytest.mark.parametrize("seed", [22, 2022])
def test_format_g10_matches_percent_on_a_seeded_fuzz(seed):
    values = fuzz_values(seed)
    expected = _percent(values)
    got = format_g10(values)
    wrong = [(value, mine, theirs) for value, mine, theirs in zip(values.tolist(), got, expected) if mine != theirs]
    assert len(values) > 190_000
    assert wrong == []


def test_format_g10_special_values_and_shapes():
    values = np.array([0.0, -0.0, np.inf, -np.inf, np.nan, -np.nan, 5e-324, -5e-324, 12345678905.0, 12345678915.0,
                       0.12345678905, 1e-5, 0.0001, 1e10, 9999999999.5, 123.0, -1e100, 1.5e-300])
    assert format_g10(values) == _percent(values)
    assert format_g10(values[:0]) == []
    assert format_g10(values.reshape(3, 6)) == _percent(values)  # any shape, flattened in C order
    assert format_g10([1.25, 2]) == ["1.25", "2"]


def test_format_g10_across_block_boundaries():
    values = fuzz_values(7)[:140_000]
    assert format_g10(values) == _percent(values)


def test_the_fast_path_decides_nearly_every_realistic_value():
    """Correct either way; a regression that sent everything to ``%`` would only be slow, so count it here."""
    values = _realistic(np.random.default_rng(3), 100_000)
    _, _, decided = _ten_digits(np.abs(values))
    undecided = np.count_nonzero(~decided & (values != 0))
    assert undecided < 50  # about 2e-5 of the values are within the tie margin
