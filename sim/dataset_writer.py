"""A :class:`~sim.dataset.Dataset`'s folder written from plain data (docs/model.md, "Datasets").

:func:`write_dataset` is the one writer of the format that :func:`sim.load_dataset` reads;
the BACI builder (``sim/baci.py``) and ``data/us_japan_2024/build.py`` both use it. Text goes
through :mod:`sim.escape` (TOML strings and comments, spreadsheet-safe CSV cells); numbers are
written as numbers, to the decimals the caller asks for. Every file's bytes are made before
the first is written, so a value that cannot be written leaves the folder as it was.
"""

from __future__ import annotations

import itertools
import math
import numbers
import re
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

from .errors import InputError, Problem
from .escape import spreadsheet_text, toml_comment, toml_string

__all__ = ["write_dataset", "COLUMNS"]

#: Each CSV file of a dataset and its columns, in the order a row gives them.
COLUMNS = {
    "flows.csv": ("sector", "exporter", "importer", "value", "basis", "source", "note"),
    "tariffs.csv": ("sector", "exporter", "importer", "rate", "basis", "source", "note"),
    "supply_elasticities.csv": ("sector", "region", "eps", "basis", "source", "note"),
    "quotas.csv": ("sector", "exporter", "importer", "volume", "in_rate", "out_rate", "rent", "basis", "source",
                   "note"),
    "adjustment.csv": ("sector", "parameter", "region", "short_run", "half_life_years", "basis", "source", "note"),
    "ownership.csv": ("sector", "location", "owner", "share", "basis", "source", "note"),
    "inputs.csv": ("input_sector", "using_sector", "region", "cost_share", "basis", "source", "note"),
}
#: The numeric columns, and those of them where ``inf`` is a valid value.
NUMBERS = {"value", "rate", "eps", "volume", "in_rate", "out_rate", "short_run", "half_life_years", "share",
           "cost_share"}
INFINITE = {"eps", "out_rate"}
#: How the reader splits a ``source`` cell into source ids.
SOURCE_SEPARATORS = re.compile(r"[\s;]+")
#: Characters that make a CSV field need quotes (RFC 4180).
_CSV_SPECIAL = re.compile(r'[,"\r\n]')
#: The key of a comment line in ``meta`` or one of its tables.
COMMENT = "#"


def write_dataset(folder: str | Path, meta: Mapping, flows: Iterable[Sequence], tariffs: Iterable[Sequence] = (),
                  supply_elasticities: Iterable[Sequence] | None = None, quotas: Iterable[Sequence] | None = None,
                  decimals: Mapping[str, int] | None = None, adjustment: Iterable[Sequence] | None = None,
                  ownership: Iterable[Sequence] | None = None, inputs: Iterable[Sequence] | None = None) -> list[Path]:
    """Write a complete dataset folder: ``dataset.toml``, ``flows.csv``, ``tariffs.csv`` and the optional files.

    Parameters
    ----------
    folder : str or Path
        The folder to write into (created if missing; files of the same names are replaced).
    meta : mapping
        ``dataset.toml`` as :mod:`tomllib` would read it: text and number keys (``name``,
        ``title``, ``base_year``, ``unit``, ...) and the lists of tables ``region``, ``sector``
        and ``source``, written in the order given. A ``"#"`` key, at the top or in a table,
        is written as a comment line above it.
    flows, tariffs, supply_elasticities, quotas, adjustment, ownership, inputs : iterable of sequences
        The rows of each CSV file, each in the order of :data:`COLUMNS` (``basis``, ``source``
        and ``note`` included). ``tariffs.csv`` is always written (header only without rows);
        ``supply_elasticities.csv``, ``quotas.csv``, ``adjustment.csv``, ``ownership.csv`` and ``inputs.csv``
        only when given.
    decimals : mapping, optional
        Decimal places per numeric column, e.g. ``{"value": 3, "rate": 4}``; a column not
        listed is written with the shortest text that reads back as the same float. ``inf``
        is written ``inf``.

    Returns
    -------
    list of Path
        The files written, ``dataset.toml`` last.

    Raises
    ------
    InputError
        One problem per value that the format cannot hold (NaN, ``inf`` outside ``eps`` and
        ``out_rate``, a cell's source id missing from ``meta``'s sources or starting with a
        formula character, a text not encodable as UTF-8); nothing is written then.
    """
    problems: list[Problem] = []
    source_ids = {str(table.get("id")) for table in meta.get("source") or () if isinstance(table, Mapping)}
    tables = {"flows.csv": flows, "tariffs.csv": tariffs, "supply_elasticities.csv": supply_elasticities,
              "quotas.csv": quotas, "adjustment.csv": adjustment, "ownership.csv": ownership, "inputs.csv": inputs}
    texts = {name: _csv_text(name, rows, decimals or {}, source_ids, problems)
             for name, rows in tables.items() if rows is not None}
    texts["dataset.toml"] = _toml_text(meta, problems)
    contents = {name: _utf8(name, text, problems) for name, text in texts.items()}
    if problems:
        raise InputError(problems)
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    for name, content in contents.items():
        (folder / name).write_bytes(content)
    return [folder / name for name in contents]


def _csv_text(name: str, rows: Iterable[Sequence], decimals: Mapping[str, int], source_ids: set[str],
              problems: list[Problem]) -> str:
    """One CSV file's text: numbers formatted, text cells spreadsheet-safe, the ``source`` cell checked.

    Each column has its cell writer, made once; a text or ``source`` cell is escaped (and checked)
    once per distinct text, as the same codes, sources and notes recur on most rows.
    """
    columns = COLUMNS[name]
    rows = list(rows)
    fast = _csv_rows_by_column(columns, rows, decimals, source_ids)
    if fast is not None:
        return _csv_line(columns) + fast
    writers = [_cell_writer(column, decimals.get(column), name, source_ids, problems) for column in columns]
    lines = [_csv_line(columns)]
    for pos, row in enumerate(rows, start=1):
        if len(row) != len(columns):
            problems.append(Problem(name, f"row {pos}", f"{len(row)} values, expected {len(columns)} "
                                                        f"({','.join(columns)})"))
            continue
        lines.append(",".join([write(value, pos) for write, value in zip(writers, row)]) + "\n")
    return "".join(lines)


def _csv_rows_by_column(columns: Sequence[str], rows: list[Sequence], decimals: Mapping[str, int],
                        source_ids: set[str]) -> str | None:
    """The rows' lines written column by column (each distinct text escaped once), or None if any cell is not
    as usual (a row of another length, a number that is not a finite float, a source with a problem): the
    rows are then written row by row, each problem reported in the order of the rows."""
    if set(map(len, rows)) - {len(columns)}:
        return None
    cells = []
    for column, values in zip(columns, zip(*rows)):
        if column in NUMBERS:
            written = _finite_floats(values, decimals.get(column))
        elif column == "source":
            written = _checked_sources(values, source_ids)
        else:
            written = _text_cells(values)
        if written is None:
            return None
        cells.append(written)
    return "\n".join(map(",".join, zip(*cells))) + "\n" if rows else ""


def _text_cells(values: Sequence) -> list[str]:
    """A text column's cells, each distinct text escaped once (a column holding anything else: cell by cell)."""
    if set(map(type, values)) - {str}:  # another type (a str Enum equals its value but is written otherwise)
        return [_csv_field(spreadsheet_text(value)) for value in values]
    escaped = {text: _csv_field(spreadsheet_text(text)) for text in set(values)}
    return list(map(escaped.__getitem__, values))


def _finite_floats(values: Sequence, places: int | None) -> list[str] | None:
    """Floats (numpy's included) as :func:`_csv_number` writes them; None unless every value is a finite float."""
    if not all(issubclass(kind, float) for kind in set(map(type, values))):
        return None
    numbers = list(map(float, values))
    if not all(map(math.isfinite, numbers)):
        return None
    if places is None:
        return list(map(repr, numbers))
    return list(map(format, numbers, itertools.repeat(f".{places}f", len(numbers))))


def _checked_sources(values: Sequence, source_ids: set[str]) -> list[str] | None:
    """``source`` cells as :func:`_source_cell` writes them, each distinct one checked once; None if one is wrong."""
    texts = list(map(str, values))
    written = {}
    for text in set(texts):
        problems: list[Problem] = []
        written[text] = _csv_field(_source_cell(text, source_ids, "", "", problems))
        if problems:
            return None
    return list(map(written.__getitem__, texts))


def _cell_writer(column: str, places: int | None, name: str, source_ids: set[str], problems: list[Problem]):
    """The function writing ``column``'s cell of row ``pos`` (a problem, and an empty cell, where it cannot)."""
    if column in NUMBERS:
        spec = None if places is None else f".{places}f"

        def number(value, pos):
            if type(value) is float or isinstance(value, float) and not isinstance(value, bool):
                number = float(value)
                if number - number == 0.0:  # finite: the usual case, written without the checks below
                    return repr(number) if spec is None else format(number, spec)
            return _csv_field(_csv_number(value, column, places, name, f"row {pos}", problems))
        return number
    written: dict[str, str] = {}  # a text cell as written, for each text met (the same ones recur on most rows)
    if column == "source":
        def source(value, pos):
            text = str(value)
            if text in written:
                return written[text]
            before = len(problems)
            cell = _csv_field(_source_cell(text, source_ids, name, f"row {pos}", problems))
            if len(problems) == before:  # a text that is not right is checked again on each row, for its message
                written[text] = cell
            return cell
        return source

    def text(value, pos):
        if type(value) is not str:
            return _csv_field(spreadsheet_text(value))
        if value not in written:
            written[value] = _csv_field(spreadsheet_text(value))
        return written[value]
    return text


def _csv_line(cells: Iterable[str]) -> str:
    """One CSV record ending in ``\\n``: a field holding a comma, a quote or a line break of either kind is quoted.

    :mod:`csv`'s writer quotes ``\\r`` only when it is part of the line terminator, so a note holding a lone
    carriage return would end its row early for every reader; quoting it here keeps the row whole.
    """
    return ",".join(_csv_field(cell) for cell in cells) + "\n"


def _csv_field(cell: str) -> str:
    if not _CSV_SPECIAL.search(cell):
        return cell
    escaped = cell.replace('"', '""')
    return f'"{escaped}"'


def _csv_number(value, column: str, places: int | None, name: str, where: str, problems: list[Problem]) -> str:
    """A CSV number: ``places`` decimals (or the shortest exact text), ``inf`` where the column allows it."""
    number = _float(value)
    if number is None or math.isnan(number) or (math.isinf(number) and (column not in INFINITE or number < 0)):
        allowed = "a number (inf allowed)" if column in INFINITE else "a finite number"
        problems.append(Problem(name, f"{where}.{column}", f"must be {allowed}, got {value!r}"))
        return ""
    if math.isinf(number):
        return "inf"
    return repr(number) if places is None else f"{number:.{places}f}"


def _source_cell(text: str, source_ids: set[str], name: str, where: str, problems: list[Problem]) -> str:
    """A ``source`` cell as given: ids the reader finds in dataset.toml, none that a spreadsheet would run."""
    if spreadsheet_text(text) != text:
        problems.append(Problem(name, f"{where}.source", f"source ids must not start with a formula character "
                                                         f"(= + - @ tab), got {text!r}"))
        return text
    for sid in filter(None, SOURCE_SEPARATORS.split(text)):
        if source_ids and sid not in source_ids:
            problems.append(Problem(name, f"{where}.source", f"source '{sid}' is not among dataset.toml's sources"))
    return text


def _toml_text(meta: Mapping, problems: list[Problem]) -> str:
    """dataset.toml's text: the top keys, then each list of tables, each table followed by a blank line."""
    lines = [toml_comment(meta[COMMENT])] if COMMENT in meta else []
    arrays = {key: value for key, value in meta.items() if isinstance(value, (list, tuple))}
    lines += _toml_pairs({k: v for k, v in meta.items() if k not in arrays}, "", problems) + [""]
    for key, tables in arrays.items():
        for pos, table in enumerate(tables, start=1):
            if not isinstance(table, Mapping):
                problems.append(Problem("dataset.toml", f"{key}[{pos}]", f"must be a table, got {table!r}"))
                continue
            if COMMENT in table:
                lines.append(toml_comment(table[COMMENT]))
            lines += [f"[[{_toml_key(key)}]]", *_toml_pairs(table, f"{key}[{pos}].", problems), ""]
    return "\n".join(lines)


def _toml_pairs(table: Mapping, prefix: str, problems: list[Problem]) -> list[str]:
    """``key = value`` lines of one table's text, boolean and number values (``"#"`` is the comment)."""
    return [f"{_toml_key(key)} = {_toml_value(value, prefix + str(key), problems)}"
            for key, value in table.items() if key != COMMENT]


def _toml_key(key) -> str:
    """A bare key where TOML allows one, else a quoted key."""
    key = str(key)
    return key if re.fullmatch(r"[A-Za-z0-9_-]+", key) else toml_string(key)


def _toml_value(value, key: str, problems: list[Problem]) -> str:
    """A TOML value: text as a basic string, a whole number as written, other numbers as the float's shortest text."""
    if isinstance(value, str):
        return toml_string(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, numbers.Integral):
        return str(int(value))
    number = _float(value)
    if number is None or math.isnan(number):
        problems.append(Problem("dataset.toml", key, f"must be text or a number, got {value!r}"))
        return '""'
    return ("inf" if number > 0 else "-inf") if math.isinf(number) else repr(number)


def _float(value) -> float | None:
    """A real number as a float (numpy's included), or None."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        return None
    return float(value)


def _utf8(name: str, text: str, problems: list[Problem]) -> bytes:
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError as exc:
        problems.append(Problem(name, "", f"text that cannot be written as UTF-8: {exc.object[exc.start:exc.end]!r}"))
        return b""
