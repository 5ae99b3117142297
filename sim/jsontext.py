"""Indented JSON text, fast: what ``json.dumps(value, indent=2, allow_nan=False)`` writes, through json's C encoder.

json indents only in its pure-Python encoder (its C encoder writes one line): about half a second for the
record of a 50-region x 200-sector run (run.json: 10,000 tariff cells, 200 sectors' elasticities in 50 regions).
:func:`indented_json` writes the same text, each innermost list or table (of numbers and texts only) in one
call of the C encoder, whose separator between entries is then the line break and indentation. A dict or list
subclass is read as a plain one (json asks a subclass that redefines emptiness or ``items()`` otherwise).
"""

from __future__ import annotations

import json
from functools import cache

__all__ = ["indented_json"]

#: Spaces per level, as ``indent=2``.
INDENT = "  "


def indented_json(value) -> str:
    """``json.dumps(value, indent=2, allow_nan=False)``, the same text (``ensure_ascii``, keys in order).

    Raises
    ------
    ValueError
        ``value`` holds NaN or an infinity (as ``allow_nan=False``).
    TypeError
        ``value`` holds something JSON cannot write.
    """
    pieces: list[str] = []
    _write(value, "\n", pieces, set())
    return "".join(pieces)


_CONTAINERS = (dict, list, tuple)


def _write(value, newline: str, pieces: list[str], open_containers: set[int]) -> None:
    """Append the text of ``value`` to ``pieces``; ``newline`` is a line break and the indentation of its line;
    ``open_containers``: the ids of the containers being written around ``value`` (a cycle is json's ValueError)."""
    if not isinstance(value, _CONTAINERS) or not value:
        pieces.append(_encoder("")(value))  # a number, a text, true, false, null, {} or []
        return
    if id(value) in open_containers:
        raise ValueError("Circular reference detected")
    inner = newline + INDENT
    entries = list(value.values()) if isinstance(value, dict) else value
    if not any(isinstance(entry, _CONTAINERS) and entry for entry in entries):
        text = _encoder(inner)(value)  # entries joined by "," + inner: add the line breaks inside the brackets
        pieces.append(text[0] + inner + text[1:-1] + newline + text[-1])
    elif not isinstance(value, dict) and all(map(_is_record, entries)):
        pieces.append(_records(value, newline))
    else:
        open_containers.add(id(value))
        keys = list(value) if isinstance(value, dict) else None
        pieces.append("{" if keys is not None else "[")
        for n, entry in enumerate(entries):  # each key written just before its value, as json does
            pieces.append(("," + inner if n else inner) + ("" if keys is None else _key(keys[n]) + ": "))
            _write(entry, inner, pieces, open_containers)
        pieces.append(newline + ("}" if isinstance(value, dict) else "]"))
        open_containers.discard(id(value))


#: The types of a record's values (exactly these: a subclass of float could be a subclass of list too).
_SCALARS = frozenset({str, int, float, bool, type(None)})


def _is_record(value) -> bool:
    """Whether ``value`` is a non-empty dict of numbers, texts, booleans and nulls (a row of a table)."""
    return type(value) is dict and bool(value) and _SCALARS.issuperset(map(type, value.values()))


def _records(records, newline: str) -> str:
    """A list of records (:func:`_is_record`) in one call of the C encoder, then indented.

    Encoded with ``"," + deeper`` between all entries, the list's own separators are the only ones between
    a ``}`` and a ``{`` (a record holds no brackets but in its texts, which hold no line break).
    """
    inner, deeper = newline + INDENT, newline + 2 * INDENT
    text = _encoder(deeper)(records)  # [{"a": 1,<deeper>"b": 2},<deeper>{"a": 3}]
    body = text[2:-2].replace("}," + deeper + "{", inner + "}," + inner + "{" + deeper)
    return "[" + inner + "{" + deeper + body + inner + "}" + newline + "]"


@cache
def _encoder(inner: str):
    """json's C encoder with ``"," + inner`` between entries (``allow_nan=False``)."""
    return json.JSONEncoder(allow_nan=False, separators=("," + inner, ": ")).encode


def _key(key) -> str:
    """A dict key as json writes it: a text quoted; a number, true, false or null as a quoted text (json's rules)."""
    compact = _encoder("")
    return compact(key) if isinstance(key, str) else compact({key: 0})[1:-len(": 0}")]
