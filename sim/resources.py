"""Memory: what a batch needs, what the machine has, and the check between them (docs/model.md, "Memory").

Every way into a solve (``sim.run`` with or without draws, ``sim.sweep``, sensitivity, the
kernel ``sim.solve_equilibrium``) estimates the peak memory of its solve and tabulation
(:mod:`sim.engine.memory`) before it allocates anything large, and refuses with :class:`NotEnoughMemory` (an
:class:`~sim.errors.InputError`: exit 2 on the command line) when the estimate exceeds the
memory available now. Available means the container's limit where there is one (cgroup v2
``memory.max`` minus ``memory.current``, cgroup v1 ``memory.limit_in_bytes`` minus
``memory.usage_in_bytes``, page cache the kernel can drop not counted as used, the tightest
of the process's cgroup and its parents), and never more than ``MemAvailable`` in
``/proc/meminfo`` (else ``psutil`` if installed, else ``os.sysconf``). The environment
variable ``TRADESIM_MEMORY_LIMIT`` (bytes) replaces the reading, for tests and for capping
a shared machine.

The estimates are upper bounds: measured with ``tracemalloc`` on the shipped scenarios, the
peak of a run with draws or a sweep lies between 0.5 and 1 times the estimate
(tests/test_resources.py checks it).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from .errors import InputError, Problem

__all__ = ["available_memory", "check_memory", "NotEnoughMemory", "ENV_LIMIT", "GIB"]

GIB = 2**30
#: Environment variable: the memory available to tradesim, in bytes (replaces the system's reading).
ENV_LIMIT = "TRADESIM_MEMORY_LIMIT"
#: cgroup v1 writes "no limit" as a number close to 2**63; anything above this is no limit.
NO_LIMIT = 2**60


class NotEnoughMemory(InputError):
    """A batch would need more memory than is available; names what to lower, in Python and on the command line.

    Attributes
    ----------
    needed, available : int
        Bytes.
    cli : (source, key, what to lower)
        The same problem as the command line words it (``("--draws", "", "--draws")``).
    """

    def __init__(self, what: str, needed: int, available: int, api: tuple[str, str, str], cli: tuple[str, str, str],
                 fits: str = ""):
        self.what, self.needed, self.available, self.fits = what, needed, available, fits
        self.cli = cli
        super().__init__([self._problem(*api)])

    def _problem(self, source: str, key: str, lower: str) -> Problem:
        return Problem(source, key, f"{self.what} would need about {self.needed / GIB:.2f} GiB of memory, but "
                                    f"{self.available / GIB:.2f} GiB is available: lower {lower}{self.fits} "
                                    f"(docs/model.md, \"Memory\")")

    def command_line(self) -> InputError:
        """The same problem worded for the command line: the option to lower instead of the argument."""
        return InputError([self._problem(*self.cli)])


def check_memory(needed: int, what: str, api: tuple[str, str, str], cli: tuple[str, str, str], largest=None,
                 available: int | None = None) -> None:
    """Raise :class:`NotEnoughMemory` if ``needed`` bytes exceed the memory available now.

    Parameters
    ----------
    needed : int
        The estimate, bytes.
    what : str
        What needs it, for the message ("1,000,000 draws of 'x' (24,000,000 markets of 8 regions)").
    api, cli : (source, key, what to lower)
        Where the problem is and what to lower, as Python sees it (``("sim.run", "draws", "draws=")``)
        and as the command line does (``("--draws", "", "--draws")``).
    largest : callable, optional
        ``largest(available)`` → the largest value of what to lower that fits, for the hint.
    available : int, optional
        Bytes available (default: :func:`available_memory`).
    """
    available = available_memory() if available is None else available
    if available is None or needed <= available:
        return
    fits = ""
    if largest is not None:
        best = largest(available)
        fits = f" to at most about {best:,}" if best >= 1 else " (even the smallest value does not fit)"
    raise NotEnoughMemory(what, needed, available, api, cli, fits)


def largest_fitting(estimate, available: int, high: int) -> int:
    """The largest ``n`` in ``[0, high]`` with ``estimate(n) <= available`` (``estimate`` increasing in ``n``)."""
    low = 0
    while low < high:
        mid = (low + high + 1) // 2
        if estimate(mid) <= available:
            low = mid
        else:
            high = mid - 1
    return low


def available_memory(proc: Path = Path("/proc"), cgroup_root: Path = Path("/sys/fs/cgroup"),
                     environ: Mapping[str, str] | None = None) -> int | None:
    """Bytes this process can still allocate: the tightest of its cgroup limits and the system's available memory.

    ``TRADESIM_MEMORY_LIMIT`` (bytes), if set, is returned instead. None if nothing can be read
    (then no check is made).

    Raises
    ------
    InputError
        ``TRADESIM_MEMORY_LIMIT`` is not a whole number of bytes.
    """
    environ = os.environ if environ is None else environ
    if environ.get(ENV_LIMIT, "").strip():
        return _limit_from_environment(environ[ENV_LIMIT])
    readings = [_cgroup_available(proc, Path(cgroup_root)), _meminfo_available(proc)]
    readings = [r for r in readings if r is not None]
    if not readings:
        readings = [r for r in [_system_available()] if r is not None]
    return max(0, min(readings)) if readings else None


def _limit_from_environment(text: str) -> int:
    try:
        value = int(text.strip().replace("_", ""))
    except ValueError:
        value = -1
    if value < 0:
        raise InputError([Problem(ENV_LIMIT, "", f"must be a whole number of bytes >= 0, got {text!r}")])
    return value


def _read_int(path: Path) -> int | None:
    try:
        text = path.read_text().strip()
    except (OSError, UnicodeDecodeError):
        return None
    if text == "max":
        return NO_LIMIT
    try:
        return int(text)
    except ValueError:
        return None


def _stat(path: Path, name: str) -> int:
    """One counter of a cgroup's ``memory.stat`` (0 if absent)."""
    try:
        for line in path.read_text().splitlines():
            key, _, value = line.partition(" ")
            if key == name:
                return int(value)
    except (OSError, UnicodeDecodeError, ValueError):
        pass
    return 0


def _cgroup_paths(proc: Path) -> dict[str, str]:
    """The process's cgroup per hierarchy: ``{"v2": "/a/b", "memory": "/c"}`` from ``/proc/self/cgroup``."""
    paths = {}
    try:
        lines = (proc / "self" / "cgroup").read_text().splitlines()
    except (OSError, UnicodeDecodeError):
        return paths
    for line in lines:
        parts = line.split(":", 2)
        if len(parts) != 3:
            continue
        number, controllers, path = parts
        if number == "0" and controllers == "":
            paths["v2"] = path
        elif "memory" in controllers.split(","):
            paths["memory"] = path
    return paths


def _ancestors(root: Path, path: str) -> list[Path]:
    """The cgroup folder of ``path`` under ``root`` and each parent up to ``root`` (a namespaced container
    shows ``/``: its own cgroup is ``root`` itself)."""
    parts = [p for p in path.split("/") if p]
    return [root.joinpath(*parts[:depth]) for depth in range(len(parts), -1, -1)]


def _cgroup_available(proc: Path, root: Path) -> int | None:
    """Limit minus usage (page cache the kernel can reclaim not counted), tightest over the cgroup and its parents."""
    paths = _cgroup_paths(proc)
    found = []
    if "v2" in paths:  # the unified hierarchy: /sys/fs/cgroup itself, or /sys/fs/cgroup/unified on hybrid systems
        for base in (root, root / "unified"):
            for folder in _ancestors(base, paths["v2"]):
                found.append(_headroom(folder, "memory.max", "memory.current", "inactive_file"))
    if "memory" in paths:
        for folder in _ancestors(root / "memory", paths["memory"]):
            found.append(_headroom(folder, "memory.limit_in_bytes", "memory.usage_in_bytes", "total_inactive_file"))
    found = [f for f in found if f is not None]
    return min(found) if found else None


def _headroom(folder: Path, limit_file: str, usage_file: str, reclaimable: str) -> int | None:
    limit = _read_int(folder / limit_file)
    if limit is None or limit >= NO_LIMIT:
        return None
    usage = _read_int(folder / usage_file) or 0
    used = max(0, usage - _stat(folder / "memory.stat", reclaimable))
    return max(0, limit - used)


def _meminfo_available(proc: Path) -> int | None:
    """``MemAvailable`` of ``/proc/meminfo`` in bytes."""
    try:
        for line in (proc / "meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                number, *unit = line.split(":", 1)[1].split()
                return int(number) * (1024 if unit == ["kB"] else 1)
    except (OSError, UnicodeDecodeError, ValueError):
        pass
    return None


def _system_available() -> int | None:
    """What the system reports as available where there is no ``/proc/meminfo``: psutil if installed, else sysconf."""
    try:
        import psutil
    except ImportError:
        psutil = None
    if psutil is not None:
        return int(psutil.virtual_memory().available)
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return None
