"""Floats as ``'%.10g' % value`` writes them, a whole array at once (the CSV writer's number format).

:func:`format_g10` gives exactly the strings of ``'%.10g' % value``: the binary value correctly rounded
to ten significant digits (half to even on exact ties), ``%g``'s exponent form when the exponent is
below -4 or at least 10, ``e+XX`` with two or more exponent digits, trailing zeros and the point
stripped, ``-0``, ``inf``, ``nan``. It is about 2-3x faster than one ``%`` a value on large arrays.

Why the digits are right: each magnitude ``a`` with decimal exponent ``e`` (from ``log10``, corrected
once) is scaled to ``s = a * 10**(9 - e)`` in float64 by one correctly rounded power of ten and one
rounded product or quotient (the other operand is 1, exact), so ``|s - S| <= 2.3e-6`` for the exact
``S`` (relative error at most ``2 * 2**-53``, ``s <= 1e10``). Where the fraction of ``s`` is more than
``TIE_MARGIN`` (1e-5) from one half, no half-integer lies between ``s`` and ``S``, so ``round(s)`` is
the correctly rounded ``round(S)``; at the decade edges (``S`` just below 1e9 or at 1e10) the rounded
digits carry to ``1000000000`` with the next exponent, as ``%g`` does. Everything else (exact and near
ties, magnitudes below ``SMALLEST_SCALED``, a scaled value outside ``[1e9, 1e10]``) is formatted by
``%`` itself. The characters are assembled in byte arrays and split into strings once.
"""

from __future__ import annotations

import functools

import numpy as np

#: The format :func:`format_g10` reproduces (``sim.output.FLOAT_FORMAT``).
FORMAT = "%.10g"
#: A scaled value whose fraction is this close to 0.5 may round either way: it is formatted by ``%``.
TIE_MARGIN = 1e-5
#: Smaller magnitudes (subnormals and their neighbours) are formatted by ``%``; 10**(9 - e) stays finite above.
SMALLEST_SCALED = 1e-290
#: Values formatted a block at a time, which bounds the working memory (about 100 bytes a value).
BLOCK = 65536

_CHARACTER = {character: np.uint8(ord(character)) for character in "-.0e+,"}


@functools.cache
def _tables() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Lookup tables, built on first use (not at import).

    Powers of ten 10**0..10**309 correctly rounded (Python's strtod), the characters of 00000..99999
    (``"V5"``, ``b"00042"`` at 42) and their trailing zeros (int8, 1 for ``"01230"``, 5 for ``"00000"``).
    """
    powers = np.array([float(f"1e{k}") for k in range(310)])
    numbers = np.arange(100_000)
    characters = (numbers[:, None] // 10 ** np.arange(4, -1, -1) % 10 + ord("0")).astype(np.uint8)
    trailing = sum(numbers % 10**j == 0 for j in range(1, 6)).astype(np.int8)  # 0 has five
    return powers, np.ascontiguousarray(characters).view("V5").ravel(), trailing


def format_g10(values: np.ndarray) -> list[str]:
    """Every value of ``values`` as ``'%.10g' % value`` gives it.

    Parameters
    ----------
    values : array_like(float64, ndim=1)
        The numbers; NaN gives ``'nan'``, infinities ``'inf'`` and ``'-inf'``.

    Returns
    -------
    list[str]
        One string a value, in order.
    """
    values = np.ascontiguousarray(values, dtype=np.float64).ravel()
    cells: list[str] = []
    for start in range(0, len(values), BLOCK):
        cells.extend(_format_block(values[start:start + BLOCK]))
    return cells


def _format_block(values: np.ndarray) -> list[str]:
    """One block of :func:`format_g10`: the fast path for every decided value, ``%`` for the rest."""
    digits, exponent, decided = _ten_digits(np.abs(values))
    negative = np.signbit(values)
    table = np.stack(_character_rows(digits, exponent, negative) + [np.full_like(negative, b",", "S1")], axis=1)
    _write_specials(table.view(np.uint8), values, negative)
    text = table.tobytes().translate(None, b"\0")  # number by number, each ended by a comma, no zero bytes
    cells = text.decode("ascii").split(",")[:-1]
    for row in np.flatnonzero(~decided & np.isfinite(values) & (values != 0)).tolist():
        cells[row] = FORMAT % values[row]
    return cells


def _ten_digits(magnitudes: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The ten significant digits (an int64 in ``[1e9, 1e10)``), decimal exponent, and where both are certain."""
    usable = (magnitudes >= SMALLEST_SCALED) & (magnitudes < np.inf)
    safe = np.where(usable, magnitudes, 1.0)
    exponent = np.floor(np.log10(safe)).astype(np.int16)
    scaled = _scaled(safe, exponent)
    off = np.flatnonzero((scaled < 1e9) | (scaled >= 1e10))  # log10 may be one off next to a power of ten
    exponent[off] += np.where(scaled[off] < 1e9, -1, 1).astype(np.int16)
    scaled[off] = _scaled(safe[off], exponent[off])
    whole = np.floor(scaled)
    fraction = scaled - whole  # exact: whole and scaled share their binary exponent
    decided = usable & (scaled >= 1e9) & (scaled <= 1e10) & (np.abs(fraction - 0.5) > TIE_MARGIN)
    digits = np.where(decided, whole, 1e9).astype(np.int64) + (decided & (fraction > 0.5))
    carry = digits == 10_000_000_000  # 9999999999.7 rounds to 1e+10: one digit more in the exponent
    digits[carry] = 1_000_000_000
    exponent += carry
    return digits, exponent, decided


def _scaled(magnitudes: np.ndarray, exponent: np.ndarray) -> np.ndarray:
    """``magnitudes * 10**(9 - exponent)``: one rounded operation with one correctly rounded power of ten.

    The other operation is a product or quotient by 1, which is exact.
    """
    shift = 9 - exponent.astype(np.intp)
    powers = _tables()[0]
    return magnitudes * powers[np.maximum(shift, 0)] / powers[np.maximum(-shift, 0)]


def _character_rows(digits: np.ndarray, exponent: np.ndarray, negative: np.ndarray) -> list[np.ndarray]:
    """Each number's characters in ``%g`` layout: one array a place, a zero byte where a number has no character.

    Places: the sign; "0.000" leading a small fixed number (0.00012), if any; eleven places for the ten
    digits and the point; ``e``, its sign and three exponent digits, if any number needs them.
    Arithmetic on masks instead of ``np.where``, which is slow when its condition is unpredictable.
    """
    _, five_digits, trailing_zeros = _tables()
    high, low = np.divmod(digits, 100_000)
    characters = five_digits.take(np.stack([high, low])).view(np.uint8).reshape(2, -1, 5)
    zeros = trailing_zeros[low] + (low == 0) * trailing_zeros[high]  # stripped by %g
    fixed = (exponent >= -4) & (exponent < 10)
    small = fixed & (exponent < 0)  # 0.000ddd
    lead = small * (1 - exponent).astype(np.int8)  # characters of "0.000" shown
    whole = (fixed & ~small) * (exponent + 1).astype(np.int8) + ~fixed  # digits before the point
    kept = np.maximum(10 - zeros, whole)  # digits shown: the significant ones and all before the point (1000)
    before_point = whole + small * np.int8(10)  # 0.000ddd: no point among the digits
    rows = [negative * _CHARACTER["-"]]
    if small.any():
        rows += [(lead > j) * np.uint8(character) for j, character in enumerate(b"0.000")]
    after = np.uint8(0)
    for place in range(11):  # digit `place` before the point, the point, digit `place - 1` after it
        here = characters[place // 5, :, place % 5] * (place < kept) if place < 10 else np.uint8(0)
        point = (place < kept) * _CHARACTER["."]
        rows.append(here * (place < before_point) + point * (place == before_point) + after * (place > before_point))
        after = here
    if not fixed.all():
        rows += _exponent_rows(exponent, ~fixed)
    return [row.view("S1") for row in rows]


def _exponent_rows(exponent: np.ndarray, shown: np.ndarray) -> list[np.ndarray]:
    """``e+XX`` / ``e-XXX`` (at least two exponent digits) where ``shown``, one array a place."""
    size = np.abs(exponent)
    return [shown * _CHARACTER["e"],
            shown * (_CHARACTER["+"] + (exponent < 0) * np.uint8(ord("-") - ord("+"))),
            (shown & (size >= 100)) * (size // 100 + ord("0")).astype(np.uint8),
            shown * (size // 10 % 10 + ord("0")).astype(np.uint8),
            shown * (size % 10 + ord("0")).astype(np.uint8)]


def _write_specials(table: np.ndarray, values: np.ndarray, negative: np.ndarray) -> None:
    """Zeros (``0``, ``-0``), infinities and NaN into ``table`` (one row a number): no digits to round."""
    for mask, text in ((values == 0, b"0"), (np.isinf(values), b"inf"), (np.isnan(values), b"nan")):
        if mask.any():
            rows = np.zeros((np.count_nonzero(mask), table.shape[1]), dtype=np.uint8)
            rows[:, 0] = (negative[mask] & (text != b"nan")) * _CHARACTER["-"]
            rows[:, 1:1 + len(text)] = np.frombuffer(text, dtype=np.uint8)
            rows[:, -1] = _CHARACTER[","]
            table[mask] = rows
