"""Input problems, collected and reported together.

Loaders never stop at the first mistake: they record every :class:`Problem`
they find and raise one :class:`InputError` carrying all of them, so that an
analyst fixes a file in one pass. Each problem names the file, the key path
inside it, the offending value and, for misspelt names, the closest valid one.
"""

from __future__ import annotations

import difflib
import math
import stat
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

__all__ = [
    "Problem",
    "ProblemList",
    "InputError",
    "ConvergenceError",
    "ScenarioWarning",
    "CappedProblems",
    "LISTED_ROWS",
    "more_rows",
    "closest",
    "number_text",
    "regular_file_problem",
    "read_toml",
    "read_toml_bytes",
    "report_unknown_keys",
]


class ScenarioWarning(UserWarning):
    """A scenario that is valid but probably not what its author meant."""


class PlausibilityWarning(ScenarioWarning):
    """A magnitude outside what the evidence makes plausible (a rate above 100%, σ above 20, ...).

    ``--strict`` (and ``strict=True``) turns these into input errors.
    """

    def __init__(self, source: str, key: str, message: str):
        self.problem = Problem(source, key, message)
        super().__init__(str(self.problem))


@dataclass(frozen=True)
class Problem:
    """One thing wrong with one input.

    Parameters
    ----------
    source : str
        The file (or ``"argument"`` for API/CLI arguments) the problem is in.
    key : str
        Key path inside the source, e.g. ``"tariff[2].rate"`` (array
        indices count from 1, as an analyst counts ``[[tariff]]`` blocks),
        or ``"line 12"`` for CSV files. May be empty for whole-file problems.
    message : str
        What is wrong, including the offending value.
    """

    source: str
    key: str
    message: str

    def __str__(self) -> str:
        where = f"{self.source}: {self.key}" if self.key else self.source
        return f"{where}: {self.message}"


class InputError(ValueError):
    """One or more problems with input files, arguments or options."""

    def __init__(self, problems: Iterable[Problem]):
        self.problems = list(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


class ConvergenceError(RuntimeError):
    """The solver did not reach the tolerance in some markets.

    ``failures`` lists human-readable descriptions of the failed markets.
    """

    def __init__(self, failures: list[str]):
        self.failures = failures
        head = f"the solver did not converge in {len(failures)} market(s):"
        super().__init__("\n".join([head, *("  " + f for f in failures)]))


@dataclass
class ProblemList:
    """A collector bound to one source file."""

    source: str
    problems: list[Problem] = field(default_factory=list)
    _counts: dict = field(default_factory=dict, repr=False)

    def add(self, key: str, message: str, kind: str | None = None) -> None:
        """Record a problem; of each ``kind`` (e.g. "duplicate row") only the first :data:`LISTED_ROWS` are listed.

        The rest are counted in one line, "... and N more rows with the same problem", kept
        right after the last one listed.
        """
        if kind is None:
            self.problems.append(Problem(self.source, key, message))
            return
        count = self._counts.get(kind, (0, None))[0] + 1
        position = self._counts.get(kind, (0, None))[1]
        if count <= LISTED_ROWS:
            self.problems.append(Problem(self.source, key, message))
        elif position is None:
            self.problems.append(more_rows(self.source, 1))
            position = len(self.problems) - 1
        else:
            self.problems[position] = more_rows(self.source, count - LISTED_ROWS)
        self._counts[kind] = (count, position)

    def extend(self, other: ProblemList | Iterable[Problem]) -> None:
        items = other.problems if isinstance(other, ProblemList) else other
        self.problems.extend(items)

    def raise_if_any(self) -> None:
        if self.problems:
            raise InputError(self.problems)

    def __bool__(self) -> bool:
        return bool(self.problems)


#: How many rows with one kind of problem are listed before the rest are only counted.
LISTED_ROWS = 20


def more_rows(source: str, count: int) -> Problem:
    """The line that stands for ``count`` further rows with a problem already listed."""
    return Problem(source, "", f"... and {count:,} more rows with the same problem")


class CappedProblems:
    """Problems in the order found; of each ``kind`` only the first :data:`LISTED_ROWS` are listed.

    A file with 400,000 duplicate rows gives 20 messages and one line "... and 399,980 more
    rows with the same problem" (:func:`more_rows`) right after them, not 399,999 lines.
    Problems added without a kind are always listed. Iterate it, test it for truth, or pass
    it to :class:`InputError` like a list.
    """

    def __init__(self, limit: int = LISTED_ROWS):
        self.limit = limit
        self._listed: list[tuple[Problem, tuple | None]] = []
        self._counts: dict[tuple, int] = {}

    def append(self, problem: Problem, kind: str | None = None) -> None:
        """Add ``problem``; a ``kind`` (e.g. "duplicate row") groups it with others in the same file."""
        key = None if kind is None else (problem.source, kind)
        if key is not None:
            self._counts[key] = self._counts.get(key, 0) + 1
            if self._counts[key] > self.limit:
                return
        self._listed.append((problem, key))

    def __iter__(self):
        last = {key: pos for pos, (_, key) in enumerate(self._listed) if key is not None}
        for pos, (problem, key) in enumerate(self._listed):
            yield problem
            if key is not None and last[key] == pos and self._counts[key] > self.limit:
                yield more_rows(problem.source, self._counts[key] - self.limit)

    def __bool__(self) -> bool:
        return bool(self._listed)


def closest(name: str, valid: Iterable[str]) -> str:
    """Return ``" (did you mean 'X'?)"`` for the closest valid name, or ``""``."""
    valid = list(valid)
    lowered = {v.lower(): v for v in valid}
    if str(name).lower() in lowered:
        return f" (did you mean '{lowered[str(name).lower()]}'?)"
    match = difflib.get_close_matches(str(name), valid, n=1, cutoff=0.5)
    return f" (did you mean '{match[0]}'?)" if match else ""


def number_text(value, percent: bool = False, decimals: int | None = None) -> str:
    """A number for a message: compact (``1e+300``, not 301 digits), thousands separated below 1e15.

    With ``percent``, ``value`` is a share shown as a percentage (``0.25`` → ``25%``); ``decimals``
    fixes the decimals of an ordinary number (``4,413.5``), else six significant digits.
    """
    value = float(value) * (100 if percent else 1)
    suffix = "%" if percent else ""
    if not math.isfinite(value):
        return f"{value}{suffix}"
    if abs(value) >= 1e15 or (value != 0 and abs(value) < 1e-4):
        return f"{value:.6g}{suffix}"
    return f"{value:,.{decimals}f}{suffix}" if decimals is not None else f"{value:,.6g}{suffix}"


def regular_file_problem(path: Path) -> str | None:
    """Why ``path`` cannot be read as an input file, or None for a regular file.

    Checked with ``stat`` before anything opens the file: opening a FIFO blocks until
    something writes to it, and a device or folder is never a scenario or data file.
    """
    try:
        mode = Path(path).stat().st_mode
    except FileNotFoundError:
        return "file not found"
    except OSError as exc:
        return f"cannot read: {exc.strerror or exc}"
    if stat.S_ISDIR(mode):
        return "is a folder, not a file"
    if not stat.S_ISREG(mode):
        kind = "a FIFO (named pipe)" if stat.S_ISFIFO(mode) else "a socket" if stat.S_ISSOCK(mode) else "a device"
        return f"is {kind}, not a regular file: give the path of a file"
    return None


def read_toml(path: Path, problems: ProblemList) -> dict | None:
    """Parse a TOML file; on failure record one problem saying why and return None."""
    parsed = read_toml_bytes(path, problems)
    return None if parsed is None else parsed[0]


def read_toml_bytes(path: Path, problems: ProblemList) -> tuple[dict, bytes] | None:
    """Parse a TOML file and return it with the bytes read (for hashing what was parsed), or None.

    Anything but a regular file (a FIFO, a device, a folder) is refused before it is opened.
    """
    why = regular_file_problem(path)
    if why is not None:
        problems.add("", why)
        return None
    try:
        raw = Path(path).read_bytes()
        return tomllib.loads(raw.decode("utf-8")), raw
    except FileNotFoundError:
        problems.add("", "file not found")
    except IsADirectoryError:
        problems.add("", "is a folder, not a file")
    except tomllib.TOMLDecodeError as exc:
        problems.add("", f"not valid TOML: {exc}")
    except UnicodeDecodeError as exc:
        problems.add("", f"not valid UTF-8 text: {exc}")
    except OSError as exc:
        problems.add("", f"cannot read: {exc.strerror}")
    return None


def report_unknown_keys(table: dict, allowed: set[str], prefix: str, problems: ProblemList) -> None:
    """Record every key of ``table`` not in ``allowed``, with the closest allowed one."""
    for key in table:
        if key not in allowed:
            problems.add(f"{prefix}{key}", f"unknown key{closest(key, sorted(allowed))}")
