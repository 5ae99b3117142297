"""Fuzzing: mutated scenario files and datasets either run or exit 2 with a message; never a traceback."""

import re
import shutil
import tempfile
import warnings
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import sim
from sim.cli import main
from sim.errors import PlausibilityWarning

ROOT = Path(__file__).resolve().parents[1]
CORPUS = Path(__file__).resolve().parent / "bad_inputs"
SCENARIO = (ROOT / "scenarios" / "example_steel_tariff.toml").read_text()
TINY = CORPUS / "valid_tiny"

toml_values = st.one_of(
    st.integers(-10**6, 10**6).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(lambda v: repr(v).replace("inf", "inf")),
    st.sampled_from(['"*"', '"USA"', '"usa"', '"steel"', '""', "[]", '["JPN", "USA"]', "{}", "{ USA = 1 }",
                     "true", "nan", "-inf", "2025-03-12", '"0.25"', "[2025, 2025]", "1e400", "-0.0", "'x",
                     "[[", "= 3", '"\\u00e9"', "0x10", "1_000"]),
    st.text(max_size=12).map(lambda t: '"' + t.replace("\\", "").replace('"', "") + '"'),
)
assignment = re.compile(r"^(\s*[A-Za-z_]+\s*=\s*)(.+?)(\s*#.*)?$")


def mutate_lines(text, data, values=toml_values):
    lines = text.splitlines()
    for _ in range(data.draw(st.integers(1, 3))):
        idx = data.draw(st.integers(0, len(lines) - 1))
        kind = data.draw(st.sampled_from(["value", "delete", "duplicate", "garbage"]))
        match = assignment.match(lines[idx])
        if kind == "value" and match:
            lines[idx] = match.group(1) + data.draw(values)
        elif kind == "delete":
            del lines[idx]
        elif kind == "duplicate":
            lines.insert(idx, lines[idx])
        else:
            lines.insert(idx, data.draw(st.text(max_size=20)))
        if not lines:
            break
    return "\n".join(lines) + "\n"


def run_cli(*args):
    result = CliRunner().invoke(main, [str(a) for a in args])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    assert result.exit_code in (0, 1, 2), result.output
    if result.exit_code == 2:
        assert "error: " in result.output and "nothing was written" in result.output
    assert "Traceback" not in result.output
    return result


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_mutated_scenarios_run_or_say_what_is_wrong(data):
    text = mutate_lines(SCENARIO, data)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "mutated.toml"
        path.write_bytes(text.encode("utf-8", "surrogatepass"))
        out = Path(folder) / "out"
        result = run_cli("run", path, "--out", out, "--quiet", "--no-plots")
        assert out.exists() == (result.exit_code == 0)


csv_values = st.one_of(st.sampled_from(["", "-1", "nan", "inf", "1e400", "abc", "AAA", "BBB", "steel", "CCC",
                                        "published", "T", "0", "1e-300", '"1,5"']),
                       st.floats(allow_nan=True, allow_infinity=True).map(repr), st.text(max_size=8))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_mutated_datasets_run_or_say_what_is_wrong(data):
    with tempfile.TemporaryDirectory() as folder:
        target = Path(folder) / "case"
        shutil.copytree(TINY, target)
        which = data.draw(st.sampled_from(["flows.csv", "dataset.toml"]))
        path = target / which
        if which == "flows.csv":
            rows = [line.split(",") for line in path.read_text().splitlines()]
            r = data.draw(st.integers(0, len(rows) - 1))
            c = data.draw(st.integers(0, len(rows[r]) - 1))
            rows[r][c] = data.draw(csv_values).replace("\n", " ")
            path.write_text("\n".join(",".join(row) for row in rows) + "\n")
        else:
            path.write_text(mutate_lines(path.read_text(), data))
        out = Path(folder) / "out"
        result = run_cli("run", target / "scenario.toml", "--out", out, "--quiet", "--no-plots")
        assert out.exists() == (result.exit_code == 0)


# [uncertainty] and [[quota]] blocks, mutated as the whole file is above (issue 16). Whole numbers stay
# small here so that a mutated `draws` keeps a run fast; other values are those of the scenario fuzz.
BLOCKS = """name = "fuzzed_blocks"
dataset = "."
[[tariff]]
sector = "steel"
importer = "AAA"
exporter = "BBB"
rate = 0.1
[[quota]]
sector = "steel"
importer = "BBB"
exporter = "AAA"
volume = 8
in_rate = 0.0
out_rate = 0.3
rent = "exporter"
[uncertainty]
draws = 4
seed = 3
sigma = { cv = 0.3 }
eta = { steel = { cv = 0.2 }, "*" = { cv = 0.1 } }
eps = { cv = 0.5 }
"""
block_values = st.one_of(
    st.integers(-5, 300).map(str),
    st.sampled_from(["1e200", "1e-300", "10.0", "10.5", "inf", "-inf", "nan", "{ cv = 1e300 }", "{ cv = -1 }",
                     '{ steel = { cv = 1e9 } }', '{ AAA = { cv = 0.1 } }', '{ cv = 0.1, x = 1 }', '"importer"',
                     '"exporter"', '"holder"', '"AAA"', '"BBB"', '"*"', "0.3", "1e20"]),
    toml_values.filter(lambda v: not v.lstrip("-").isdigit()),
)


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_mutated_uncertainty_and_quota_blocks_run_or_say_what_is_wrong(data):
    text = BLOCKS.split("[[quota]]")[0] + mutate_lines("[[quota]]" + BLOCKS.split("[[quota]]")[1], data, block_values)
    with tempfile.TemporaryDirectory() as folder:
        target = Path(folder) / "case"
        shutil.copytree(TINY, target)
        path = target / "blocks.toml"
        path.write_bytes(text.encode("utf-8", "surrogatepass"))
        out = Path(folder) / "out"
        result = run_cli("run", path, "--out", out, "--quiet", "--no-plots", "--allow-failed-draws", "1")
        assert out.exists() == (result.exit_code == 0)


SWEPT = sim.load_scenario(ROOT / "scenarios" / "example_steel_tariff.toml")
any_number = st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.integers(-10, 10**6))
rate_lists = st.one_of(
    st.lists(st.floats(min_value=0, max_value=3), min_size=0, max_size=5),
    st.lists(any_number, min_size=0, max_size=5),
    st.lists(st.one_of(any_number, st.text(max_size=4), st.none(), st.lists(any_number, max_size=2)), max_size=4),
    st.text(max_size=12),
    st.sampled_from(["0:0.6:5", "0:1:1", "1:0:3", "0:1:2.5", "0,0.1", "0,,0.2", "-1,2", "0:1:10000001", "inf,0",
                     "0:1e400:3", "１,２", "1_0,2"]),
    st.none(), any_number,
)
indices = st.one_of(st.integers(-2, 5), st.sampled_from([1, 2, "1", 1.0, True, None, float("nan")]))
years = st.one_of(st.none(), st.integers(2020, 2032), st.sampled_from(["2026", 2026.0, "long run", True]))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rates=rate_lists, tariff=indices, year=years)
def test_sweep_arguments_are_swept_or_refused_with_input_error(rates, tariff, year):
    try:
        with warnings.catch_warnings(record=True) as caught:  # a grid above 1 warns (issue 21): only then
            warnings.simplefilter("always", PlausibilityWarning)
            result = sim.sweep(SWEPT, tariff=tariff, rates=rates, year=year)
        assert not caught or result.table["rate"].max() > 1
    except sim.InputError as exc:
        assert exc.problems and all(str(p) for p in exc.problems)
    except sim.ConvergenceError:  # a valid but extreme rate (exit 1 on the command line): reported, not a crash
        pass
    else:
        assert len(result.table) == len(np.atleast_1d(result.table["rate"])) >= 2


# --- the BACI builder (issue 16): hostile trade, country, product, sector, region, production and tariff files

BACI = ROOT / "tests" / "data" / "baci"
BACI_FILES = {"trade": "baci_2022.csv", "countries": "country_codes.csv", "products": "products.csv",
              "sectors": "sectors.csv", "regions": "regions.csv", "production": "production.csv",
              "tariffs": "tariffs.csv"}
hostile_cells = st.one_of(
    st.sampled_from(["", " ", "inf", "-inf", "nan", "NA", "1e400", "-5", "0", "392.7", "1e308", "2022.0", "1_0",
                     "１０", "0x10", "-0", "999", "392", "842", "2022", "1800", "72", "720851", "7208510", "²",
                     "USA", "JPN", "ROW", "steel", "autos", "steel metal", '=HYPERLINK("http://x")', "+1", "@x",
                     'a "quoted" cell', "C:\\data\\x", "two\nlines", "tab\there", "\u2028", "\x0c", "\x00", "é",
                     "USD million", "*", '"', '","', "\ufeff"]),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.integers(-10**20, 10**20).map(str),
    st.text(max_size=8),
)


def mutate_csv(text, data):
    """A CSV file's text with one to four hostile edits: cells, fields, rows, blank or garbage lines, truncation."""
    rows = [line.split(",") for line in text.splitlines()]
    for _ in range(data.draw(st.integers(1, 4))):
        r = data.draw(st.integers(0, len(rows) - 1)) if rows else 0
        kind = data.draw(st.sampled_from(["cell", "cell", "cell", "extra field", "drop field", "delete row",
                                          "repeat row", "blank line", "garbage line", "truncate"]))
        if kind == "cell" and rows and rows[r]:
            c = data.draw(st.integers(0, len(rows[r]) - 1))
            rows[r][c] = data.draw(hostile_cells)
        elif kind == "extra field" and rows:
            rows[r].append(data.draw(hostile_cells))
        elif kind == "drop field" and rows and rows[r]:
            rows[r].pop()
        elif kind == "delete row" and rows:
            del rows[r]
        elif kind == "repeat row" and rows:
            rows[r:r] = [list(rows[r]) for _ in range(data.draw(st.integers(1, 30)))]
        elif kind == "blank line":
            rows.insert(r, [""])
        elif kind == "garbage line":
            rows.insert(r, [data.draw(st.text(max_size=20))])
        elif kind == "truncate":
            joined = "\n".join(",".join(row) for row in rows)
            rows = [line.split(",") for line in joined[:data.draw(st.integers(0, len(joined)))].splitlines()]
    return "\n".join(",".join(row) for row in rows) + ("\n" if rows else "")


@pytest.mark.parametrize("first", sorted(BACI_FILES))
@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_hostile_baci_inputs_build_a_dataset_that_loads_or_say_what_is_wrong(first, data):
    """Every outcome is a dataset that loads (exit 0) or messages naming the problems (exit 2).

    Each run edits the ``first`` file and maybe another one or two; 8 runs per file keep it to seconds.
    """
    from sim import load_dataset

    with tempfile.TemporaryDirectory() as folder:
        files = {option: BACI / name for option, name in BACI_FILES.items()}
        others = data.draw(st.lists(st.sampled_from(sorted(BACI_FILES)), max_size=2, unique=True))
        for option in dict.fromkeys([first, *others]):
            path = Path(folder) / BACI_FILES[option]
            text = mutate_csv(files[option].read_text(encoding="utf-8"), data)
            encoded = text.encode("utf-8", "surrogatepass")
            if data.draw(st.integers(0, 9)) == 0:
                encoded = data.draw(st.sampled_from([b"", b"\xff\xfe", b"\xef\xbb\xbf" + encoded, encoded + b"\xff"]))
            path.write_bytes(encoded)
            files[option] = path
        name = data.draw(st.one_of(st.just("fuzzed"), hostile_cells))
        out = Path(folder) / "out"
        args = ["dataset", "build", *(a for option, path in files.items() for a in (f"--{option}", path)),
                "--name", name, "--out", out]
        year = data.draw(st.sampled_from(["2022", "2022", "2022", "2021", "1800", None]))
        args += [] if year is None else ["--year", year]
        result = run_cli(*args)
        assert result.exit_code in (0, 2), result.output
        assert out.exists() == (result.exit_code == 0)
        if result.exit_code == 0:
            dataset = load_dataset(out)
            assert np.isfinite(dataset.flows).all() and dataset.name == name
