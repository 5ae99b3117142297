"""Scenario files (docs/model.md, "Scenario files") → validated :class:`Scenario` objects.

Parsing happens in two passes, both collecting every problem:

1. :func:`read_scenario` checks the file's structure: known keys, types,
   ranges, ``start <= end``, exactly one of ``rate``/``add``, ...
2. :func:`check_codes` checks sector and region codes against a dataset and
   suggests the closest valid code for a misspelt one.

The objects are plain dataclasses (no numpy); :mod:`sim.shocks` turns them
into arrays.
"""

from __future__ import annotations

import hashlib
import math
import re
from dataclasses import dataclass, field, replace
from pathlib import Path

from .adjustment import Adjustment, checked_rule
from .dataset import is_path_reference
from .engine.methods import METHOD_SPECS, unsupported
from .errors import InputError, Problem, ProblemList, closest, read_toml_bytes, report_unknown_keys

__all__ = [
    "Scenario", "Tariff", "Quota", "Investment", "DemandShift", "ElasticityOverride", "Uncertainty", "PassThrough",
    "Adjustment", "Ownership", "read_scenario", "resolve_scenario", "shipped_scenarios", "SHIPPED_SCENARIOS",
    "check_scenario", "scenario_table", "check_codes", "relocate", "merged_lines", "ALL",
]

ALL = "*"
METHODS = tuple(METHOD_SPECS)
NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
#: Largest coefficient of variation ``[uncertainty]`` accepts: a lognormal factor whose 5-95% range spans
#: 0.03 to 34 times the central value, wider than any published elasticity estimate.
MAX_CV = 10.0
#: Longest ``label`` (the short name plots and legends show): a legend entry or a tick label, not a sentence.
MAX_LABEL = 40

_TOP_KEYS = {"name", "label", "title", "description", "dataset", "years", "method", "tariff", "quota",
             "investment", "demand_shift", "elasticities", "uncertainty", "adjustment", "pass_through", "ownership",
             "linkages", "extends"}
_TARIFF_KEYS = {"sector", "importer", "exporter", "rate", "add", "cut", "start", "end", "note"}
_QUOTA_KEYS = {"sector", "importer", "exporter", "volume", "in_rate", "out_rate", "rent", "start", "end", "note"}
RENT_HOLDERS = ("exporter", "importer")
_INVESTMENT_KEYS = {"name", "sector", "host", "investor", "amount", "output_per_amount", "capacity",
                    "start", "ramp_years", "displaces_exports", "note", "life_years", "discount_rate",
                    "operating_margin"}
_OWNERSHIP_KEYS = {"sector", "location", "owner", "share", "start", "end", "note"}
_DEMAND_KEYS = {"sector", "region", "change", "start", "end", "note"}
_ELASTICITY_KEYS = {"sigma", "eta", "eps"}
_ADJUSTMENT_KEYS = {"sector", "parameter", "region", "short_run", "half_life_years", "note"}
_PASS_THROUGH_KEYS = {"sector", "exporter", "importer", "share", "start", "end", "note"}


def _as_codes(value):
    """What a file accepts for a set of codes (one code, a list, or "*") → a tuple; other values pass through
    unchanged so that validation reports them."""
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list):
        return tuple(value)
    return value


class _CodeSets:
    """Lets code-built shocks name codes as a file does: ``importer="JPN"``, ``["JPN", "KOR"]`` or ``"*"``."""

    _code_fields: tuple[str, ...] = ()

    def __post_init__(self):
        for name in self._code_fields:
            object.__setattr__(self, name, _as_codes(getattr(self, name)))


@dataclass(frozen=True)
class Tariff(_CodeSets):
    """A new applied rate (``rate``), a change on top of base (``add``) or a proportional cut of base (``cut``:
    the rate becomes base × (1 − cut)) for a set of cells.

    ``sector``, ``importer`` and ``exporter`` each take a code, a list of codes or
    ``"*"`` (stored as a tuple). The importer's own market is never covered by a wildcard.
    """

    _code_fields = ("sector", "importer", "exporter")

    sector: tuple[str, ...]
    importer: tuple[str, ...]
    exporter: tuple[str, ...]
    rate: float | None = None
    add: float | None = None
    start: int | None = None
    end: int | None = None
    key: str = "tariff"
    cut: float | None = None


@dataclass(frozen=True)
class PassThrough(_CodeSets):
    """The share of a tariff change that reaches the buyer on a set of routes; codes as for :class:`Tariff`.

    docs/model.md, "Exporters' pass-through": ``share`` 1 is the model's default; below 1 the
    exporter absorbs the rest as a lower price on the route.
    """

    _code_fields = ("sector", "exporter", "importer")

    sector: tuple[str, ...]
    exporter: tuple[str, ...]
    importer: tuple[str, ...]
    share: float
    start: int | None = None
    end: int | None = None
    key: str = "pass_through"


@dataclass(frozen=True)
class Quota:
    """A tariff-rate quota on one flow (docs/model.md, "Tariff-rate quotas").

    ``volume`` is in dataset units at base prices per year; ``out_rate = inf`` makes it
    an absolute quota. ``rent`` names who holds the quota rent: ``"exporter"`` or
    ``"importer"``.
    """

    sector: str
    importer: str
    exporter: str
    volume: float
    in_rate: float
    out_rate: float
    rent: str = "exporter"
    start: int | None = None
    end: int | None = None
    key: str = "quota"


@dataclass(frozen=True)
class Investment:
    """New capacity in ``host``, owned by ``investor`` (docs/model.md, "Scenario files").

    Give either ``capacity`` (annual output at base prices when fully online,
    dataset units) or ``amount`` invested with ``output_per_amount``, as in a file.
    """

    sector: str
    host: str
    capacity: float | None = None
    investor: str | None = None
    name: str = ""
    start: int | None = None
    ramp_years: float = 1.0
    displaces_exports: float = 0.0
    key: str = "investment"
    amount: float | None = None
    output_per_amount: float | None = None
    life_years: int | None = None
    discount_rate: float | None = None
    operating_margin: float | None = None

    @property
    def has_returns(self) -> bool:
        """Whether the investor's returns are computed: ``amount`` (the capital cost) and ``operating_margin`` given."""
        return self.amount is not None and self.operating_margin is not None

    @property
    def full_capacity(self) -> float:
        """Annual output added when fully online (dataset units): ``capacity`` or ``amount × output_per_amount``."""
        if self.capacity is not None:
            return self.capacity
        return self.amount * self.output_per_amount

    def online_share(self, year: int | None) -> float:
        """``min(1, max(0, (y − start + 1) / ramp_years))``; 1 in a static run or without start."""
        if year is None or self.start is None:
            return 1.0
        return min(1.0, max(0.0, (year - self.start + 1) / self.ramp_years))


@dataclass(frozen=True)
class Ownership:
    """A share of the producer surplus of ``sector``'s existing producers in ``location`` owned by ``owner``.

    Replaces the dataset's share (``ownership.csv``) for that cell while in force; the location's own share
    is what the foreign shares leave (docs/model.md, "Ownership").
    """

    sector: str
    location: str
    owner: str
    share: float
    start: int | None = None
    end: int | None = None
    key: str = "ownership"


@dataclass(frozen=True)
class DemandShift(_CodeSets):
    """Composite demand at given prices times ``1 + change`` (shifts add up); codes as for :class:`Tariff`."""

    _code_fields = ("sector", "region")

    sector: tuple[str, ...]
    region: tuple[str, ...]
    change: float
    start: int | None = None
    end: int | None = None
    key: str = "demand_shift"


@dataclass(frozen=True)
class ElasticityOverride:
    """Overrides of a sector's elasticities; ``eps`` maps region code or ``"*"`` to a value."""

    sector: str
    sigma: float | None = None
    eta: float | None = None
    eps: dict[str, float] = field(default_factory=dict)
    key: str = "elasticities"


@dataclass(frozen=True)
class Uncertainty:
    """Monte Carlo over elasticities (docs/model.md, "Uncertainty").

    ``sigma``, ``eta`` and ``eps`` map a sector code or ``"*"`` to the coefficient of
    variation of a lognormal factor (median 1) that multiplies the central value.
    """

    draws: int = 1000
    seed: int | None = None
    sigma: dict[str, float] = field(default_factory=dict)
    eta: dict[str, float] = field(default_factory=dict)
    eps: dict[str, float] = field(default_factory=dict)
    key: str = "uncertainty"


@dataclass(frozen=True)
class Scenario:
    """One validated scenario. Build it from a file with :func:`sim.load_scenario` or in code."""

    name: str
    dataset: str
    title: str = ""
    description: str = ""
    label: str = ""  # short display name for plots and legends; "" shows the name
    years: tuple[int, ...] | None = None
    method: str = "exact"
    linkages: bool = True  # a dataset's inputs.csv links its sectors unless this is false
    tariffs: tuple[Tariff, ...] = ()
    quotas: tuple[Quota, ...] = ()
    investments: tuple[Investment, ...] = ()
    demand_shifts: tuple[DemandShift, ...] = ()
    elasticities: tuple[ElasticityOverride, ...] = ()
    uncertainty: Uncertainty | None = None
    adjustments: tuple[Adjustment, ...] = ()
    pass_through: tuple[PassThrough, ...] = ()
    path: Path | None = None
    sha256: str | None = None  # of the file's bytes as read, None when built in code
    ownership: tuple[Ownership, ...] = ()
    #: The files this one extends (``extends``), nearest first, each as (path, SHA-256 of its bytes).
    extends: tuple[tuple[Path, str], ...] = ()
    #: Where each merged block came from: merged key ("tariff[7]") → (file, its key there, "tariff[1]").
    origins: dict = field(default_factory=dict, repr=False, compare=False)

    @property
    def source(self) -> str:
        """Where the scenario came from, for messages."""
        return str(self.path) if self.path else f"scenario '{self.name}'"

    @property
    def base_dir(self) -> Path:
        """Folder that relative dataset paths are resolved against."""
        return self.path.parent if self.path else Path.cwd()


def _shipped_scenarios_folder() -> Path:
    """The shipped scenarios: the repository's ``scenarios/``, which a wheel installs as ``sim/scenarios``."""
    installed = Path(__file__).resolve().parent / "scenarios"
    return installed if installed.is_dir() else Path(__file__).resolve().parent.parent / "scenarios"


#: Folder of the scenarios shipped with the package (found by name: ``tradesim run steel_232_2025``).
SHIPPED_SCENARIOS = _shipped_scenarios_folder()


def shipped_scenarios() -> list[str]:
    """Names of the scenarios shipped with the package (file names without ``.toml``)."""
    return sorted(p.stem for p in SHIPPED_SCENARIOS.glob("*.toml")) if SHIPPED_SCENARIOS.is_dir() else []


def resolve_scenario(reference: str | Path) -> Path:
    """Find a scenario file: a shipped scenario's name, or a file path (relative to the working folder).

    The rule of :func:`sim.dataset.resolve_dataset`: a value with a path separator or a ``.toml``
    suffix (or an absolute path) is always a path. A bare name is a shipped scenario; a bare name
    that is both a shipped scenario and a file or folder here (``name`` or ``name.toml``) is refused,
    naming both. A bare name that is not shipped is a path.

    Raises
    ------
    InputError
        The bare name is ambiguous, or names neither a file nor a shipped scenario.
    """
    text = str(reference)
    if is_path_reference(text) or text.lower().endswith(".toml"):
        stem = text[:-len(".toml")]
        if not is_path_reference(text) and not Path(text).exists() and stem in shipped_scenarios():
            raise InputError([Problem(text, "", f"file not found (the shipped scenario '{stem}' is run by its "
                                      f"name: {stem})")])
        return Path(reference)
    shipped = SHIPPED_SCENARIOS / f"{text}.toml"
    if not shipped.is_file():
        if not Path(text).exists():
            raise InputError([Problem(text, "", "no such file, nor a shipped scenario of that name"
                                      f"{closest(text, shipped_scenarios())} ('tradesim scenarios' lists them)")])
        return Path(text)
    local = [Path(name) for name in (text, f"{text}.toml") if _other_file(Path(name), shipped)]
    if local:
        raise InputError([Problem(text, "", (
            f"'{text}' is both the shipped scenario {shipped} and {local[0].resolve()} here: write "
            f"\"./{local[0]}\" for the local one, or the shipped one's path {shipped} (or rename the local one)"))])
    return shipped


def _other_file(candidate: Path, shipped: Path) -> bool:
    """Whether ``candidate`` exists (file or folder) and is not the shipped file itself."""
    return candidate.exists() and candidate.resolve() != shipped.resolve()


def read_scenario(path: str | Path) -> tuple[Scenario | None, ProblemList]:
    """Read a scenario file and check its structure; collect problems instead of raising.

    ``path`` may be a shipped scenario's name (:func:`resolve_scenario`). Returns the
    scenario (best effort: invalid entries are left out, so that its codes can still be
    checked) or None if the file cannot be read.
    """
    try:
        path = resolve_scenario(path)
    except InputError as exc:
        problems = ProblemList(str(path))
        problems.problems.extend(exc.problems)
        return None, problems
    problems = ProblemList(str(path))
    parsed = read_toml_bytes(path, problems)
    if parsed is None:
        return None, problems
    data, raw = parsed
    if "extends" in data:
        return _read_extended(path, data, raw, problems)
    scenario = _parse(data, path, problems)
    return replace(scenario, sha256=hashlib.sha256(raw).hexdigest()), problems


# Scenarios that extend another (docs/model.md, "Scenario files": extends) ------------------------------------------

#: Block lists that a child appends after its parent's; tables merged key by key (the child's key wins).
_APPENDED = ("tariff", "quota", "investment", "demand_shift", "pass_through", "ownership", "adjustment")
_MERGED_TABLES = ("elasticities", "uncertainty")


@dataclass
class _Merged:
    """A file's tables with every ancestor's merged in, where each key and block came from, and the files read."""

    data: dict
    origins: dict  # merged key ("tariff[7]", "elasticities.steel", "name") → (file, key in that file)
    files: list  # [(path, sha256)] of this file and its ancestors, nearest first


def _read_extended(path: Path, data: dict, raw: bytes, problems: ProblemList) -> tuple[Scenario | None, ProblemList]:
    """Read a file with ``extends``: merge its ancestors, parse the result, name each problem's own file."""
    merged = _merge_chain(path, data, raw, [], problems)
    if merged is None:
        return None, problems
    found = ProblemList(str(path))
    scenario = _parse(merged.data, path, found)
    problems.extend(relocate(found.problems, merged.origins, str(path)))
    return replace(scenario, sha256=merged.files[0][1], extends=tuple(merged.files[1:]),
                   origins=merged.origins), problems


def _merge_chain(path: Path, data: dict, raw: bytes, chain: list[Path], problems: ProblemList) -> _Merged | None:
    """``data`` (read from ``path``) merged onto its ancestors'; None (with the problem recorded) if one fails."""
    own = _Merged(data, {key: (str(path), key) for key in data}, [(path, hashlib.sha256(raw).hexdigest())])
    _own_origins(own, path)
    reference = data.get("extends")
    if reference is None:
        return own
    chain = [*chain, path.resolve()]
    parent = _parent_path(path, reference, problems)
    if parent is None:
        return None
    if parent.resolve() in chain:
        names = " -> ".join(str(p) for p in [*chain, parent.resolve()])
        problems.add("extends", f"{reference!r} makes a cycle of files extending each other: {names}")
        return None
    found = ProblemList(str(parent))
    parsed = read_toml_bytes(parent, found)
    if parsed is None:
        problems.add("extends", f"cannot read the file it extends, {parent}: {found.problems[0].message}")
        return None
    above = _merge_chain(parent, *parsed, chain, found)
    if above is None:
        problems.extend(found.problems)
        return None
    return _merge(above, own)


def _own_origins(own: _Merged, path: Path) -> None:
    """Origins of one file's own blocks and table entries (``tariff[2]``, ``elasticities.steel``)."""
    for name in _APPENDED:
        blocks = own.data.get(name)
        if isinstance(blocks, list):
            own.origins.update({f"{name}[{n}]": (str(path), f"{name}[{n}]") for n in range(1, len(blocks) + 1)})
    for name in _MERGED_TABLES:
        table = own.data.get(name)
        if isinstance(table, dict):
            own.origins.update({f"{name}.{key}": (str(path), f"{name}.{key}") for key in table})


def _parent_path(path: Path, reference, problems: ProblemList) -> Path | None:
    """The file ``extends`` names: a path relative to the extending file, or a bare shipped scenario's name."""
    if not isinstance(reference, str) or not reference.strip():
        problems.add("extends", f"must be the path of a scenario file (relative to this file) or a shipped "
                     f"scenario's name, got {reference!r}")
        return None
    relative = path.parent / reference
    if not is_path_reference(reference) and reference in shipped_scenarios():
        local = [p for p in (relative, relative.with_name(f"{reference}.toml")) if p.exists()]
        if local:
            problems.add("extends", f"{reference!r} is both the shipped scenario {SHIPPED_SCENARIOS / reference}.toml "
                         f"and {local[0]} beside this file: write \"./{local[0].name}\" for the local one")
            return None
        return SHIPPED_SCENARIOS / f"{reference}.toml"
    if is_path_reference(reference) or reference.lower().endswith(".toml") or relative.exists():
        if not relative.is_file():
            problems.add("extends", f"{reference!r}: no such file {relative} (resolved relative to this file's folder)")
            return None
        return relative
    problems.add("extends", f"{reference!r}: no such file {relative} (resolved relative to this file's folder), nor "
                 f"a shipped scenario of that name{closest(reference, shipped_scenarios())}")
    return None


def _merge(parent: _Merged, child: _Merged) -> _Merged:
    """The child's scalars replace the parent's; its blocks follow the parent's; tables merge key by key."""
    data, origins = dict(parent.data), dict(parent.origins)
    for key, value in child.data.items():
        if key == "extends":
            continue
        before = data.get(key)
        if key in _APPENDED and isinstance(before, list) and isinstance(value, list):
            data[key] = [*before, *value]
            origins.update({f"{key}[{len(before) + n}]": child.origins[f"{key}[{n}]"]
                            for n in range(1, len(value) + 1)})
        elif key in _MERGED_TABLES and isinstance(before, dict) and isinstance(value, dict):
            data[key] = {**before, **value}
            origins.update({f"{key}.{name}": child.origins[f"{key}.{name}"] for name in value})
        else:
            data[key] = value
            origins = {k: v for k, v in origins.items() if not _under(k, key)}
            origins.update({k: v for k, v in child.origins.items() if _under(k, key)})
        origins[key] = child.origins[key]
    data.pop("extends", None)
    if "name" in child.data and "label" not in child.data:  # the parent's label named the parent
        data.pop("label", None)
    return _Merged(data, origins, [*child.files, *parent.files])


def _under(key: str, top: str) -> bool:
    """Whether ``key`` is ``top`` or inside it (``tariff[2].rate`` is inside ``tariff``)."""
    return key == top or key.startswith(f"{top}.") or key.startswith(f"{top}[")


def relocate(problems, origins: dict, source: str) -> list[Problem]:
    """Problems of a merged scenario, each moved to the file and key its block or table entry came from.

    A key with no origin (a problem of the combination, such as a missing ``name``) stays with ``source``.
    """
    moved = []
    for problem in problems:
        if problem.source != source:
            moved.append(problem)
            continue
        prefix = max((k for k in origins if _under(problem.key, k)), key=len, default=None)
        if prefix is None or origins[prefix][0] == source and origins[prefix][1] == prefix:
            moved.append(problem)
            continue
        file, key = origins[prefix]
        moved.append(Problem(file, key + problem.key[len(prefix):], problem.message))
    return moved


def merged_lines(scenario: Scenario) -> list[str]:
    """What ``validate`` shows of a scenario that extends another: the chain, its settings, every merged block."""
    table = scenario_table(scenario)
    lines = [f"extends {' -> '.join(str(path) for path, _ in scenario.extends)}; merged:",
             "  " + ", ".join(f"{key} = {table[key]!r}" for key in ("name", "dataset", "years", "method")
                              if key in table)]
    for name in _APPENDED:
        for n, block in enumerate(table.get(name, []), start=1):
            file, key = scenario.origins.get(f"{name}[{n}]", (scenario.source, f"{name}[{n}]"))
            fields = ", ".join(f"{k} = {v!r}" for k, v in block.items())
            lines.append(f"  {name}[{n}] (from {file}, {key}): {fields}")
    for name in _MERGED_TABLES:
        if name in table:
            lines.append(f"  [{name}] {table[name]!r}")
    return lines


def check_scenario(scenario: Scenario) -> tuple[Scenario, ProblemList]:
    """Check a scenario built in code (or edited with ``dataclasses.replace``) exactly as a file is checked.

    The scenario is written out as the tables of a scenario file
    (:func:`scenario_table`) and read back by the file parser, so every
    problem gets the message, key path and value a file would get.
    Returns the scenario as parsed (codes as tuples, ``key`` set to the
    block's path such as ``tariff[2]``) and the problems found.
    """
    problems = ProblemList(scenario.source)
    parsed = _parse(scenario_table(scenario), scenario.path, problems)
    return replace(parsed, sha256=scenario.sha256, extends=scenario.extends), problems  # edited: keys are its own


def scenario_table(scenario: Scenario) -> dict:
    """The scenario as the tables of a TOML scenario file (what ``run.json`` records for code-built runs)."""
    def codes(value):
        value = _as_codes(value)
        return value[0] if isinstance(value, tuple) and len(value) == 1 else \
            list(value) if isinstance(value, tuple) else value

    def block(obj, names, code_names=()):
        out = {}
        for name in names:
            value = getattr(obj, name)
            if value is not None:
                out[name] = codes(value) if name in code_names else value
        return out

    table = {"name": scenario.name, "dataset": scenario.dataset, "title": scenario.title,
             "description": scenario.description, "method": scenario.method}
    if not scenario.linkages:
        table["linkages"] = False
    if scenario.label:
        table["label"] = scenario.label
    if scenario.years is not None:
        table["years"] = list(scenario.years) if isinstance(scenario.years, tuple) else scenario.years
    sets = ("sector", "importer", "exporter", "region")
    table["tariff"] = [block(t, ("sector", "importer", "exporter", "rate", "add", "cut", "start", "end"), sets)
                       for t in scenario.tariffs]
    table["quota"] = [block(q, ("sector", "importer", "exporter", "volume", "in_rate", "out_rate", "rent",
                                "start", "end")) for q in scenario.quotas]
    table["investment"] = [block(i, ("name", "sector", "host", "investor", "capacity", "amount",
                                     "output_per_amount", "start", "ramp_years", "displaces_exports",
                                     "life_years", "discount_rate", "operating_margin"))
                           for i in scenario.investments]
    table["ownership"] = [block(o, ("sector", "location", "owner", "share", "start", "end"))
                          for o in scenario.ownership]
    for inv in table["investment"]:
        if not inv.get("name"):
            inv.pop("name", None)
    table["demand_shift"] = [block(d, ("sector", "region", "change", "start", "end"), sets)
                             for d in scenario.demand_shifts]
    table["elasticities"] = {o.sector: block(o, ("sigma", "eta")) | ({"eps": dict(o.eps)} if o.eps else {})
                             for o in scenario.elasticities}
    table["pass_through"] = [block(x, ("sector", "exporter", "importer", "share", "start", "end"), sets)
                             for x in scenario.pass_through]
    table["adjustment"] = [{"sector": a.sector, "parameter": a.parameter, "short_run": a.short_run,
                            "half_life_years": a.half_life} | ({"region": a.region} if a.region != "*" else {})
                           for a in scenario.adjustments]
    u = scenario.uncertainty
    if u is not None:
        table["uncertainty"] = {"draws": u.draws} | ({"seed": u.seed} if u.seed is not None else {}) | {
            name: {sector: {"cv": cv} for sector, cv in getattr(u, name).items()}
            for name in ("sigma", "eta", "eps") if getattr(u, name)}
    return {key: value for key, value in table.items() if value not in ([], {}, "")} | {"name": scenario.name}


def _parse(data: dict, path: Path | None, problems: ProblemList) -> Scenario:
    p = _Parser(problems)
    p.unknown_keys(data, _TOP_KEYS, "")

    name = p.text(data, "name", "name", required=True)
    if name and not NAME_PATTERN.match(name):
        problems.add("name", f"must be letters, digits, '_', '-' or '.' (it names output files), got {name!r}")
    dataset = p.text(data, "dataset", "dataset", required=True)
    method = p.text(data, "method", "method") or "exact"
    linkages = data.get("linkages", True)
    if not isinstance(linkages, bool):
        problems.add("linkages", f"must be true or false (whether the dataset's inputs.csv links its sectors), "
                     f"got {linkages!r}")
        linkages = True
    if method not in METHODS:
        problems.add("method", f"must be one of {', '.join(METHODS)}, got {method!r}{closest(method, METHODS)}")
    uncertainty = p.uncertainty(data["uncertainty"]) if "uncertainty" in data else None

    years = None
    if "years" in data:
        raw = data["years"]
        if not isinstance(raw, list) or not raw or not all(_is_year(y) for y in raw):
            problems.add("years", f"must be a non-empty list of years (integers), got {raw!r}")
        elif len(set(raw)) != len(raw):
            problems.add("years", f"lists a year more than once: {raw!r}")
        else:
            years = tuple(sorted(raw))

    tariffs = tuple(p.each(data, "tariff", _TARIFF_KEYS, p.tariff))
    quotas = tuple(p.each(data, "quota", _QUOTA_KEYS, p.quota))
    investments = tuple(p.each(data, "investment", _INVESTMENT_KEYS, p.investment))
    demand = tuple(p.each(data, "demand_shift", _DEMAND_KEYS, p.demand_shift))
    adjustments = tuple(p.each(data, "adjustment", _ADJUSTMENT_KEYS, p.adjustment))
    pass_through = tuple(p.each(data, "pass_through", _PASS_THROUGH_KEYS, p.pass_through))
    ownership = tuple(p.each(data, "ownership", _OWNERSHIP_KEYS, p.ownership))
    for message in unsupported(method, {"quota": len(quotas), "investment": len(investments),
                                        "demand_shift": len(demand)}):
        problems.add("method", message)
    overrides = []
    table = data.get("elasticities", {})
    if not isinstance(table, dict):
        problems.add("elasticities", "must be a table of sectors, e.g. [elasticities.steel]")
    else:
        for sector, entry in table.items():
            overrides.append(p.elasticity(sector, entry, f"elasticities.{sector}"))
    return Scenario(
        name=name or "", dataset=dataset or "", title=p.text(data, "title", "title") or name or "",
        description=p.text(data, "description", "description") or "", label=p.label(data), years=years,
        method=method,
        linkages=linkages, tariffs=tariffs, quotas=quotas, investments=investments, demand_shifts=demand,
        elasticities=tuple(o for o in overrides if o is not None), uncertainty=uncertainty,
        adjustments=tuple(sorted(adjustments, key=lambda a: (a.sector != ALL, a.region != ALL))),
        pass_through=pass_through, path=path, ownership=ownership,
    )


def _is_year(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 1900 <= value <= 2200


class _Parser:
    """Field readers that record problems instead of raising."""

    def __init__(self, problems: ProblemList):
        self.problems = problems

    def unknown_keys(self, table: dict, allowed: set[str], prefix: str) -> None:
        report_unknown_keys(table, allowed, prefix, self.problems)

    def text(self, table, key, path, required=False):
        value = table.get(key)
        if value is None:
            if required:
                self.problems.add(path, "is required")
            return None
        if not isinstance(value, str) or (required and not value.strip()):
            self.problems.add(path, f"must be text, got {value!r}")
            return None
        return value

    def label(self, table) -> str:
        """The optional ``label``: one line of at most :data:`MAX_LABEL` characters, not blank ("" if absent)."""
        value = self.text(table, "label", "label")
        if value is None:
            return ""
        if not value.strip() or "\n" in value or "\r" in value or len(value) > MAX_LABEL:
            self.problems.add("label", f"must be one line of 1 to {MAX_LABEL} characters (a short name for plots and "
                              f"legends; the title holds the rest), got {value!r}")
            return ""
        return value.strip()

    def number(self, table, key, path, rule=None, required=False, default=None, allow_inf=False):
        """A finite (or, if allowed, infinite) number satisfying ``rule = (test, words)``."""
        if key not in table:
            if required:
                self.problems.add(path, "is required")
            return default
        value = table[key]
        if isinstance(value, str) and allow_inf and value.strip().lower() in ("inf", "+inf", "infinity"):
            value = math.inf
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            self.problems.add(path, f"must be a number, got {value!r}")
            return default
        value = float(value)
        if math.isnan(value) or (math.isinf(value) and not allow_inf):
            self.problems.add(path, f"must be a finite number, got {value!r}")
            return default
        if rule is not None and not rule[0](value):
            self.problems.add(path, f"must be {rule[1]}, got {value!r}")
            return default
        return value

    def year(self, table, key, path):
        value = table.get(key)
        if value is None:
            return None
        if not _is_year(value):
            self.problems.add(path, f"must be a year (integer), got {value!r}")
            return None
        return value

    def codes(self, table, key, path, required=True):
        """A code, a list of codes, or "*" → tuple of codes."""
        if key not in table:
            if required:
                self.problems.add(path, "is required (a code, a list of codes, or \"*\")")
            return None
        value = table[key]
        items = value if isinstance(value, list) else [value]
        if not items or not all(isinstance(v, str) and v for v in items):
            self.problems.add(path, f"must be a code, a list of codes, or \"*\", got {value!r}")
            return None
        if ALL in items and len(items) > 1:
            self.problems.add(path, f"\"*\" already means every code; do not list others with it: {value!r}")
            return None
        return tuple(items)

    def start_end(self, table, path):
        start = self.year(table, "start", f"{path}.start")
        end = self.year(table, "end", f"{path}.end")
        if start is not None and end is not None and end < start:
            self.problems.add(f"{path}.end", f"end {end} is before start {start}")
        return start, end

    def each(self, data, name, allowed, parse_one):
        tables = data.get(name, [])
        if not isinstance(tables, list) or not all(isinstance(t, dict) for t in tables):
            self.problems.add(name, f"must be written as [[{name}]] tables")
            return
        for pos, table in enumerate(tables, start=1):
            path = f"{name}[{pos}]"
            self.unknown_keys(table, allowed, f"{path}.")
            item = parse_one(table, path)
            if item is not None:
                yield item

    def tariff(self, t, path):
        sector = self.codes(t, "sector", f"{path}.sector")
        importer = self.codes(t, "importer", f"{path}.importer")
        exporter = self.codes(t, "exporter", f"{path}.exporter")
        if sum(key in t for key in ("rate", "add", "cut")) != 1:
            self.problems.add(path, "needs exactly one of 'rate' (new applied rate), 'add' (change on top of base) "
                              "or 'cut' (share of the base rate removed: 0.3 makes it base x 0.7)")
        rate = self.number(t, "rate", f"{path}.rate", (lambda v: v >= 0, ">= 0 (0.25 = 25%)"))
        add = self.number(t, "add", f"{path}.add")
        cut = self.number(t, "cut", f"{path}.cut", (lambda v: 0 <= v <= 1, "in [0, 1] (0.3 = a 30% cut of the "
                          "base rate)"))
        start, end = self.start_end(t, path)
        if importer and exporter and ALL not in importer:
            for code in set(importer) & set(exporter):
                self.problems.add(f"{path}.exporter",
                                  f"'{code}' is also the importer: a tariff on a region's own market is not allowed")
        if None in (sector, importer, exporter):
            return None
        return Tariff(sector, importer, exporter, rate, add, start, end, key=path, cut=cut)

    def quota(self, t, path):
        sector = self.text(t, "sector", f"{path}.sector", required=True)
        importer = self.text(t, "importer", f"{path}.importer", required=True)
        exporter = self.text(t, "exporter", f"{path}.exporter", required=True)
        volume = self.number(t, "volume", f"{path}.volume", (lambda v: v > 0, "> 0"), required=True)
        rule = (lambda v: v >= 0, ">= 0 (0.25 = 25%)")
        in_rate = self.number(t, "in_rate", f"{path}.in_rate", rule, required=True)
        out_rate = self.number(t, "out_rate", f"{path}.out_rate", rule, required=True, allow_inf=True)
        if in_rate is not None and out_rate is not None and out_rate < in_rate:
            self.problems.add(f"{path}.out_rate", f"out_rate {out_rate:g} is below in_rate {in_rate:g}")
        rent = self.text(t, "rent", f"{path}.rent") or "exporter"
        if rent not in RENT_HOLDERS:
            self.problems.add(f"{path}.rent", f"must be \"exporter\" or \"importer\", got {rent!r}"
                              f"{closest(rent, RENT_HOLDERS)}")
        if importer is not None and importer == exporter:
            self.problems.add(f"{path}.exporter",
                              f"'{exporter}' is also the importer: a quota on a region's own market is not allowed")
        start, end = self.start_end(t, path)
        if None in (sector, importer, exporter, volume, in_rate, out_rate):
            return None
        return Quota(sector, importer, exporter, volume, in_rate, out_rate, rent, start, end, key=path)

    def investment(self, t, path):
        sector = self.text(t, "sector", f"{path}.sector", required=True)
        host = self.text(t, "host", f"{path}.host", required=True)
        investor = self.text(t, "investor", f"{path}.investor")
        positive = (lambda v: v > 0, "> 0")
        has_capacity = "capacity" in t
        has_amount = "amount" in t or "output_per_amount" in t
        capacity = amount = per = None
        if has_capacity and "output_per_amount" in t:
            self.problems.add(path, "give either 'capacity' or 'amount' with 'output_per_amount', not both "
                              "('amount' alone may stand beside 'capacity': it is then the capital cost)")
        elif has_capacity:
            capacity = self.number(t, "capacity", f"{path}.capacity", positive)
            amount = self.number(t, "amount", f"{path}.amount", positive)
        elif has_amount:
            amount = self.number(t, "amount", f"{path}.amount", positive, required=True)
            per = self.number(t, "output_per_amount", f"{path}.output_per_amount", positive, required=True)
            if amount is not None and per is not None and not math.isfinite(amount * per):
                self.problems.add(path, f"amount x output_per_amount = {amount * per!r} is not a finite number")
                amount = per = None
        else:
            self.problems.add(path, "needs 'capacity', or 'amount' with 'output_per_amount'")
        start = self.year(t, "start", f"{path}.start")
        ramp = self.number(t, "ramp_years", f"{path}.ramp_years", (lambda v: v >= 1, ">= 1"), default=1.0)
        displaces = self.number(t, "displaces_exports", f"{path}.displaces_exports",
                                (lambda v: 0 <= v <= 1, "between 0 and 1"), default=0.0)
        if displaces and investor is None:
            self.problems.add(f"{path}.investor", "is required when displaces_exports > 0")
        if displaces and investor is not None and investor == host:
            self.problems.add(f"{path}.investor",
                              f"'{investor}' is also the host: it cannot displace its own exports to itself")
        name = self.text(t, "name", f"{path}.name") or ""
        life, rate, margin = self.returns(t, path)
        if "operating_margin" in t:
            for key in ("amount", "life_years", "discount_rate"):
                if key not in t:
                    self.problems.add(f"{path}.{key}", "is required with operating_margin (the investor's returns: "
                                      "capital cost, life and discount rate)")
        else:
            for key in ("life_years", "discount_rate"):
                if key in t:
                    self.problems.add(f"{path}.{key}", "is used only with operating_margin (the share of the new "
                                      "capacity's revenue that is operating profit): give it, or leave this out")
        if None in (sector, host) or (capacity is None and None in (amount, per)):
            return None
        return Investment(sector, host, capacity, investor, name, start, ramp, displaces, key=path,
                          amount=amount, output_per_amount=per, life_years=life, discount_rate=rate,
                          operating_margin=margin)

    def returns(self, t, path):
        """The keys of the investor's returns (docs/model.md, "Investments"): life_years, discount_rate,
        operating_margin, each optional."""
        life = t.get("life_years")
        if life is not None and (isinstance(life, bool) or not isinstance(life, int) or not 1 <= life <= 200):
            self.problems.add(f"{path}.life_years", f"must be a whole number of years from 1 to 200, got {life!r}")
            life = None
        rate = self.number(t, "discount_rate", f"{path}.discount_rate", (lambda v: 0 <= v < 1, "from 0 to below 1 "
                                                                         "(0.08 = 8% a year)"))
        margin = self.number(t, "operating_margin", f"{path}.operating_margin",
                             (lambda v: 0 < v <= 1, "above 0 and at most 1 (0.14 = 14% of revenue)"))
        return life, rate, margin

    def ownership(self, t, path):
        sector = self.text(t, "sector", f"{path}.sector", required=True)
        location = self.text(t, "location", f"{path}.location", required=True)
        owner = self.text(t, "owner", f"{path}.owner", required=True)
        share = self.number(t, "share", f"{path}.share", (lambda v: 0 <= v <= 1, "between 0 and 1"), required=True)
        if location is not None and owner == location:
            self.problems.add(f"{path}.owner", f"'{owner}' is also the location: give foreign owners only (the "
                              "location's own share is what they leave)")
        start, end = self.start_end(t, path)
        if None in (sector, location, owner, share) or owner == location:
            return None
        return Ownership(sector, location, owner, share, start, end, key=path)

    def demand_shift(self, t, path):
        sector = self.codes(t, "sector", f"{path}.sector")
        region = self.codes(t, "region", f"{path}.region")
        change = self.number(t, "change", f"{path}.change", (lambda v: v > -1, "> -1 (demand cannot vanish)"),
                             required=True)
        start, end = self.start_end(t, path)
        if None in (sector, region, change):
            return None
        return DemandShift(sector, region, change, start, end, key=path)

    def uncertainty(self, table):
        path = "uncertainty"
        if not isinstance(table, dict):
            self.problems.add(path, "must be a table: [uncertainty] with draws, seed, sigma, eta, eps")
            return None
        self.unknown_keys(table, {"draws", "seed", "sigma", "eta", "eps"}, f"{path}.")
        draws = table.get("draws", 1000)
        if isinstance(draws, bool) or not isinstance(draws, int) or not 1 <= draws <= 1_000_000:
            self.problems.add(f"{path}.draws", f"must be a whole number from 1 to 1,000,000, got {draws!r}")
            draws = None
        seed = table.get("seed")
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int) or seed < 0):
            self.problems.add(f"{path}.seed", f"must be a whole number >= 0, got {seed!r}")
            seed = None
        cvs = {}
        for name in ("sigma", "eta", "eps"):
            cvs[name] = self.coefficients(table.get(name), f"{path}.{name}")
        # with a bad draws the file is refused anyway; the rest is still checked (codes included)
        return Uncertainty(draws or 1, seed, cvs["sigma"], cvs["eta"], cvs["eps"])

    def coefficients(self, raw, path) -> dict[str, float]:
        """``{ cv = 0.3 }`` for every sector, or ``{ steel = { cv = 0.3 }, "*" = { cv = 0.1 } }``."""
        if raw is None:
            return {}
        rule = (lambda v: 0 <= v <= MAX_CV, f"from 0 to {MAX_CV:g} (0.3 = 30%)")
        if not isinstance(raw, dict):
            self.problems.add(path, f"must be {{ cv = ... }} or a table of sectors, got {raw!r}")
            return {}
        if "cv" in raw:
            self.unknown_keys(raw, {"cv"}, f"{path}.")
            value = self.number(raw, "cv", f"{path}.cv", rule, required=True)
            return {} if value is None else {ALL: value}
        out = {}
        for sector, entry in raw.items():
            if not isinstance(entry, dict) or "cv" not in entry:
                self.problems.add(f"{path}.{sector}", f"must be {{ cv = ... }}, got {entry!r}")
                continue
            self.unknown_keys(entry, {"cv"}, f"{path}.{sector}.")
            value = self.number(entry, "cv", f"{path}.{sector}.cv", rule, required=True)
            if value is not None:
                out[sector] = value
        return out

    def pass_through(self, t, path):
        sector = self.codes(t, "sector", f"{path}.sector")
        exporter = self.codes(t, "exporter", f"{path}.exporter")
        importer = self.codes(t, "importer", f"{path}.importer")
        share = self.number(t, "share", f"{path}.share", (lambda v: 0 <= v <= 1, "in [0, 1] (1 = the buyer pays "
                            "the whole tariff change)"), required=True)
        start, end = self.start_end(t, path)
        if None in (sector, exporter, importer, share):
            return None
        return PassThrough(sector, exporter, importer, share, start, end, key=path)

    def adjustment(self, t, path):
        sector = self.text(t, "sector", f"{path}.sector", required=True)
        parameter = self.text(t, "parameter", f"{path}.parameter", required=True)
        region = self.text(t, "region", f"{path}.region") or ALL
        short_run = self.number(t, "short_run", f"{path}.short_run", required=True)
        half_life = self.number(t, "half_life_years", f"{path}.half_life_years", required=True)
        if None in (sector, parameter, short_run, half_life):
            return None
        rule = checked_rule(sector, parameter, region, short_run, half_life, lambda column: f"{path}.{column}",
                            self.problems)
        return None if rule is None else replace(rule, key=path)

    def elasticity(self, sector, entry, path):
        if not isinstance(entry, dict):
            self.problems.add(path, "must be a table with sigma, eta and/or eps")
            return None
        self.unknown_keys(entry, _ELASTICITY_KEYS, f"{path}.")
        sigma = self.number(entry, "sigma", f"{path}.sigma", (lambda v: v > 0, "> 0"))
        eta = self.number(entry, "eta", f"{path}.eta", (lambda v: v < 0, "< 0"))
        eps_rule = (lambda v: v >= 0, ">= 0 (inf allowed)")
        eps: dict[str, float] = {}
        raw = entry.get("eps")
        if isinstance(raw, dict):
            for region in raw:
                value = self.number(raw, region, f"{path}.eps.{region}", eps_rule, allow_inf=True)
                if value is not None:
                    eps[region] = value
        elif raw is not None:
            value = self.number(entry, "eps", f"{path}.eps", eps_rule, allow_inf=True)
            if value is not None:
                eps[ALL] = value
        return ElasticityOverride(sector, sigma, eta, eps, key=path)


def _listed(codes, most: int = 20) -> str:
    """Codes for a message: all of them, or the first ``most`` and how many more."""
    codes = list(codes)
    more = f" and {len(codes) - most} more" if len(codes) > most else ""
    return ", ".join(codes[:most]) + more


def check_codes(scenario: Scenario, sectors, regions) -> ProblemList:
    """Problems with the sector and region codes a scenario uses, given a dataset's labels."""
    problems = ProblemList(scenario.source)

    def check(codes, valid, path, kind, wildcard=True):
        for code in codes or ():
            if code == ALL and not wildcard:
                problems.add(path, f"must name one {kind}, not \"*\"")
            elif code != ALL and code not in valid:
                problems.add(path, f"unknown {kind} '{code}'{closest(code, valid)}; the dataset's {kind}s: "
                             f"{_listed(valid)}")

    for t in scenario.tariffs:
        check(t.sector, sectors, f"{t.key}.sector", "sector")
        check(t.importer, regions, f"{t.key}.importer", "region")
        check(t.exporter, regions, f"{t.key}.exporter", "region")
    for q in scenario.quotas:
        check([q.sector], sectors, f"{q.key}.sector", "sector", wildcard=False)
        check([q.importer], regions, f"{q.key}.importer", "region", wildcard=False)
        check([q.exporter], regions, f"{q.key}.exporter", "region", wildcard=False)
    for inv in scenario.investments:
        check([inv.sector], sectors, f"{inv.key}.sector", "sector", wildcard=False)
        check([inv.host], regions, f"{inv.key}.host", "region", wildcard=False)
        if inv.investor is not None:
            check([inv.investor], regions, f"{inv.key}.investor", "region", wildcard=False)
    for o in scenario.ownership:
        check([o.sector], sectors, f"{o.key}.sector", "sector", wildcard=False)
        check([o.location], regions, f"{o.key}.location", "region", wildcard=False)
        check([o.owner], regions, f"{o.key}.owner", "region", wildcard=False)
    for d in scenario.demand_shifts:
        check(d.sector, sectors, f"{d.key}.sector", "sector")
        check(d.region, regions, f"{d.key}.region", "region")
    for o in scenario.elasticities:
        if o.sector != ALL:
            check([o.sector], sectors, o.key, "sector")
        check(o.eps.keys(), regions, f"{o.key}.eps", "region")
    for x in scenario.pass_through:
        check(x.sector, sectors, f"{x.key}.sector", "sector")
        check(x.exporter, regions, f"{x.key}.exporter", "region")
        check(x.importer, regions, f"{x.key}.importer", "region")
    for a in scenario.adjustments:
        check([a.sector], sectors, f"{a.key}.sector", "sector")
        check([a.region], regions, f"{a.key}.region", "region")
    if scenario.uncertainty is not None:
        for name in ("sigma", "eta", "eps"):
            check(getattr(scenario.uncertainty, name).keys(), sectors, f"uncertainty.{name}", "sector")
    return problems


def raise_problems(*lists: ProblemList) -> None:
    """Raise one :class:`InputError` with the problems of all lists, if any."""
    merged = [p for lst in lists for p in lst.problems]
    if merged:
        raise InputError(merged)
