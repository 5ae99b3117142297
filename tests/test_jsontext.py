"""run.json's text (issue 22): sim.jsontext writes what json.dumps(indent=2) writes, through json's C encoder."""

import json
import math
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sim.jsontext import indented_json

ROOT = Path(__file__).resolve().parents[1]

SCALARS = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False, allow_infinity=False),
                    st.text(alphabet=st.characters(codec="utf-8"), max_size=8).map(lambda t: t + "},\n  {"))
KEYS = st.one_of(st.text(max_size=6), st.integers(), st.floats(allow_nan=False, allow_infinity=False),
                 st.booleans(), st.none())
VALUES = st.recursive(SCALARS, lambda inner: st.one_of(
    st.lists(inner, max_size=5), st.lists(inner, max_size=3).map(tuple), st.dictionaries(KEYS, inner, max_size=5),
    st.lists(st.dictionaries(st.text(max_size=4), SCALARS, min_size=1, max_size=4), max_size=5)), max_leaves=40)


@given(VALUES)
def test_the_same_text_as_json_indent_2(value):
    assert indented_json(value) == json.dumps(value, indent=2, allow_nan=False)


@pytest.mark.parametrize("value", [
    [], {}, [[]], [{}], {"a": []}, [{"a": 1}, {}], [{"a": 1}, [1]], [{"a": {}}], [{"a": []}, {"b": 1}],
    {"rows": [{"sector": "s", "rate": 0.25, "note": "},\n    {"} for _ in range(30)]},
    [{"a": 1.0, 2: None, True: "x", 2.5: -0.0}], ({"a": (1,)},)])
def test_the_same_text_at_the_edges(value):
    assert indented_json(value) == json.dumps(value, indent=2, allow_nan=False)


@pytest.mark.parametrize("value", [math.nan, [math.inf], [{"a": -math.inf}], {"a": {"b": [1, math.nan]}}])
def test_nan_and_infinity_raise_as_json_does(value):
    with pytest.raises(ValueError, match="not JSON compliant"):
        indented_json(value)


def _outcome(write, value):
    try:
        return write(value)
    except (ValueError, TypeError) as exc:  # the type: json's C encoder words NaN's message a little otherwise
        return type(exc)


def _cycles():
    in_list, in_dict = [1], {"k": [1]}
    in_list.append(in_list)
    in_dict["self"] = in_dict
    return [in_list, in_dict, {"a": [in_list]}]


@pytest.mark.parametrize("value", _cycles() + [
    {"a": [math.nan], (1, 2): 0},  # the value comes first: json's ValueError, not the key's TypeError
    {"a": [object()], math.nan: 0},  # and the other way round
    {None: [1, {"x": 2}], 1: {"a": [1]}, False: [[]], 2.5: [{"q": 1}]},  # keys other than texts beside containers
])
def test_cycles_and_the_first_of_two_errors_as_json_does(value):
    """A cycle was a RecursionError, and a bad key raised before the value ahead of it (adversarial pass)."""
    expected = _outcome(lambda v: json.dumps(v, indent=2, allow_nan=False), value)
    assert _outcome(indented_json, value) == expected


def test_a_key_or_value_json_cannot_write_raises_as_json_does():
    with pytest.raises(TypeError, match="keys must be str"):
        indented_json({(1, 2): 3})
    with pytest.raises(TypeError, match="not JSON serializable"):
        indented_json([{"a": object()}])


@pytest.mark.parametrize("name", ["steel_tariff_with_investment", "japan_steel_trq_restored", "japan_defense_3pct"])
def test_run_json_of_a_shipped_scenario_is_json_indent_2(name):
    import sim
    from sim.output import build_record

    record = build_record([sim.run(ROOT / "scenarios" / f"{name}.toml")], None, None)
    assert indented_json(record) == json.dumps(record, indent=2, allow_nan=False)
