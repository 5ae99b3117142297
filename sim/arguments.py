"""Checks of run, compare and sweep arguments, shared by the Python API and the command line.

Each check takes the value and the name the caller knows it by (``draws`` in Python,
``--draws`` on the command line) and returns the value in its working type, or raises
:class:`~sim.errors.InputError` naming the argument and the value. The CLI calls the same
functions (as option callbacks), so both refuse exactly the same values with the same words.
"""

from __future__ import annotations

import numbers

import numpy as np

from .dataset import parse_number
from .errors import InputError, Problem

__all__ = ["MAX_DRAWS", "MAX_RATES", "check_draws", "check_seed", "check_share", "check_rates",
           "check_tariff_index", "check_year", "parse_rates"]

#: Most Monte Carlo draws of one run.
MAX_DRAWS = 1_000_000
#: Most rates in one sweep grid.
MAX_RATES = 1_000_000


def _refuse(name: str, message: str):
    raise InputError([Problem(name, "", message)])


def _is_whole(value) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def check_draws(value, name: str = "draws") -> int | None:
    """Number of Monte Carlo draws: a whole number from 1 to :data:`MAX_DRAWS`, or None (no Monte Carlo)."""
    if value is None:
        return None
    if not _is_whole(value) or not 1 <= value <= MAX_DRAWS:
        _refuse(name, f"must be a whole number from 1 to {MAX_DRAWS:,}, got {value!r}")
    return int(value)


def check_seed(value, name: str = "seed") -> int | None:
    """Seed of the draws: a whole number >= 0, or None (fresh randomness)."""
    if value is None:
        return None
    if not _is_whole(value) or value < 0:
        _refuse(name, f"must be a whole number >= 0, got {value!r}")
    return int(value)


def check_share(value, name: str = "allow_failed_draws") -> float:
    """A share from 0 to 1 (``allow_failed_draws``): finite, not NaN."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not 0.0 <= float(value) <= 1.0:
        _refuse(name, f"must be a share from 0 to 1 (0.05 = 5%), got {value!r}")
    return float(value)


def check_tariff_index(value, name: str = "tariff") -> int:
    """Which ``[[tariff]]`` block a sweep varies: a whole number >= 1 (1 = the first in the file)."""
    if not _is_whole(value) or value < 1:
        _refuse(name, f"must be a whole number >= 1 (1 = the first [[tariff]] block), got {value!r}")
    return int(value)


def check_year(value, name: str = "year") -> int | None:
    """A year to select (a whole number), or None for the default."""
    if value is not None and not _is_whole(value):
        _refuse(name, f"must be a year (a whole number), got {value!r}")
    return None if value is None else int(value)


def check_rates(value, name: str = "rates") -> np.ndarray:
    """The rates of a sweep: text for :func:`parse_rates`, or a sequence of numbers.

    At least two and at most :data:`MAX_RATES`, each finite and >= 0 (0.25 = 25%).
    """
    if isinstance(value, str):
        try:
            rates = parse_rates(value)
        except ValueError as exc:
            _refuse(name, str(exc))
        _check_grid(rates, name, value)
        return rates
    try:
        rates = np.asarray(value, dtype=float)
    except (TypeError, ValueError, OverflowError):
        rates = None
    if rates is None or rates.ndim != 1 or isinstance(value, (bytes, dict, set)):
        _refuse(name, f"must be a list of rates such as [0, 0.1, 0.25] or text such as '0:0.6:13', got {value!r}")
    _check_grid(rates, name, value)
    return rates


def _check_grid(rates: np.ndarray, name: str, shown) -> None:
    if not 2 <= len(rates) <= MAX_RATES:
        _refuse(name, f"a sweep needs from 2 to {MAX_RATES:,} rates, got {len(rates):,}")
    if not np.isfinite(rates).all() or (rates < 0).any():
        bad = rates[~np.isfinite(rates) | (rates < 0)][0]
        _refuse(name, f"must be finite numbers >= 0 (0.25 = 25%), got {float(bad)!r} in {_short(shown)}")


def _short(value) -> str:
    text = repr(value) if not isinstance(value, str) else repr(value.strip())
    return text if len(text) <= 80 else text[:77] + "..."


def parse_rates(text: str) -> np.ndarray:
    """``"0:0.6:13"`` (start:stop:count, ends included) or ``"0,0.1,0.25"`` → rates; ValueError if invalid."""

    text = text.strip()
    example = "expected START:STOP:COUNT such as 0:0.6:13 or rates such as 0,0.1,0.25"
    if ":" in text:
        parts = [p.strip() for p in text.split(":")]
        start, stop = (parse_number(p) for p in parts[:2]) if len(parts) == 3 else (None, None)
        count = int(parts[2]) if len(parts) == 3 and parts[2].isascii() and parts[2].isdigit() else None
        if None in (start, stop, count):
            raise ValueError(f"expected START:STOP:COUNT such as 0:0.6:13, got {text!r}")
        if count < 2 or count > MAX_RATES or stop <= start:
            raise ValueError(f"expected STOP > START and COUNT from 2 to {MAX_RATES:,}, got {text!r}")
        # rounded to 12 decimals so that 0:0.6:13 holds 0.05, not 0.049999999999999996
        rates = np.round(np.linspace(start, stop, count), 12)
    else:
        values = [parse_number(x) for x in text.split(",") if x.strip()]
        if not values or None in values:
            raise ValueError(f"{example}, got {text!r}")
        rates = np.array(values)
    if len(rates) > MAX_RATES or not np.isfinite(rates).all() or (rates < 0).any():
        raise ValueError(f"must be finite numbers >= 0 (0.25 = 25%), from 2 to {MAX_RATES:,} of them, "
                         f"got {_short(text)}")
    return rates

