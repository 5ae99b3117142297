"""The vectorised dataset reader (issue 22) accepts only what the careful line-by-line reader accepts, with the
same values; anything else goes to the careful reader, whose messages stay the ones users see."""

import itertools
import math
import tomllib
from pathlib import Path

import numpy as np
import pytest

from sim import InputError, load_dataset
from sim.dataset import BUILTIN_DIR, _fast_table, _plain_numbers, _read_table, parse_number, write_dataset
from sim.errors import ProblemList

TESTS = Path(__file__).resolve().parent
HEADER = "sector,exporter,importer,value,basis,source,note\n"

#: Files that pandas and the csv module could split or read differently: each must get the careful reader's outcome.
EDGE_FILES = {
    "blank_line": HEADER + "s,A,B,1,assumed,T,n\n\ns,B,A,2,assumed,T,n\n",
    "trailing_blank_line": HEADER + "s,A,B,1,assumed,T,n\n\n",
    "spaces_line": HEADER + "s,A,B,1,assumed,T,n\n  \ns,B,A,2,assumed,T,n\n",
    "tab_line": HEADER + "s,A,B,1,assumed,T,n\n\t\n",
    "spaces_line_crlf": HEADER.replace("\n", "\r\n") + "s,A,B,1,assumed,T,n\r\n \r\ns,B,A,2,assumed,T,n\r\n",
    "lone_cr": HEADER + "s,A,B,1,assumed,T,n\rs,B,A,2,assumed,T,n\r",
    "crlf": (HEADER + "s,A,B,1,assumed,T,n\ns,B,A,2,assumed,T,n\n").replace("\n", "\r\n"),
    "short_row": HEADER + "s,A,B,1\n",
    "short_row_no_value": HEADER + "s,A,B\n",
    "long_row": HEADER + "s,A,B,1,assumed,T,n,extra\n",
    "quoted_cells": HEADER + '"s","A","B","1","assumed","T","a, ""quoted"" note"\n',
    "quoted_newline_in_note": HEADER + 's,A,B,1,assumed,T,"two\nlines"\ns,B,A,2,assumed,T,n\n',
    "quoted_newline_in_value": HEADER + 's,A,B,"1\n",assumed,T,n\n',
    "text_after_quote": HEADER + 's,A,"B"x,1,assumed,T,n\n',
    "unterminated_quote": HEADER + 's,A,B,1,assumed,T,"n\n',
    "nul": HEADER + "s,A,B,1,assumed,T,n\x00\n",
    "bom": "\ufeff" + HEADER + "s,A,B,1,assumed,T,n\n",
    "two_boms": "\ufeff\ufeff" + HEADER + "s,A,B,1,assumed,T,n\n",
    "blank_first_line": "\n" + HEADER + "s,A,B,1,assumed,T,n\n",
    "spaced_header": HEADER.replace(",exporter", ", exporter") + "s,A,B,1,assumed,T,n\n",
    "duplicate_header": HEADER.replace("note", "value") + "s,A,B,1,assumed,T,2\n",
    "value_spaces": HEADER + "s,A,B, 1 ,assumed,T,n\n",
    "value_formfeed": HEADER + "s,A,B,\f1,assumed,T,n\n",
    "value_vertical_tab": HEADER + "s,A,B,1\v,assumed,T,n\n",
    "value_formfeed_in_note": HEADER + "s,A,B,1,assumed,T,page\fbreak\n",
    "value_true": HEADER + "s,A,B,True,assumed,T,n\n",
    "value_false_any_case": HEADER + "s,A,B,fALsE,assumed,T,n\n",
    "value_quoted_line_break_after": HEADER + 's,A,B,"1\n",assumed,T,n\ns,B,A,2,assumed,T,n\n',
    "value_quoted_line_break_before": HEADER + 's,A,B,"\r\n1",assumed,T,n\ns,B,A,2,assumed,T,n\n',
    "value_quoted_tab": HEADER + 's,A,B,"\t1",assumed,T,n\n',
    "value_nan": HEADER + "s,A,B,nan,assumed,T,n\n",
    "value_hex": HEADER + "s,A,B,0x1p3,assumed,T,n\n",
    "note_with_quotes_no_line_break": HEADER + 's,A,B,1,assumed,T,"a ""b"", c"\n',
    "value_inf": HEADER + "s,A,B,inf,assumed,T,n\n",
    "value_overflow": HEADER + "s,A,B,1e400,assumed,T,n\n",
    "value_underscore": HEADER + "s,A,B,1_0,assumed,T,n\n",
    "value_fullwidth": HEADER + "s,A,B,１０,assumed,T,n\n",
    "value_negative_zero": HEADER + "s,A,B,-0,assumed,T,n\n",
    "value_negative": HEADER + "s,A,B,-1,assumed,T,n\n",
    "value_many_digits": HEADER + "s,A,B,0.1000000000000000055511151231257827,assumed,T,n\n",
    "basis_empty": HEADER + "s,A,B,1,,T,n\n",
    "source_two_ids": HEADER + "s,A,B,1,assumed,T; U,n\n",
    "source_unknown": HEADER + "s,A,B,1,assumed,X,n\n",
    "duplicate_row": HEADER + "s,A,B,1,assumed,T,n\ns,A,B,2,assumed,T,n\n",
    "unknown_code": HEADER + "s,A,C,1,assumed,T,n\n",
    "code_with_space": HEADER + "s,A,B ,1,assumed,T,n\n",
    "no_rows": HEADER,
    "empty": "",
    "latin1_note": None,  # bytes, below
}
EDGE_CODES = {"sectors": ("s",), "regions": ("A", "B"), "sources": {"T", "U"}}


def careful_and_fast(path, keys, value_column, minimum, allow_inf, source_ids):
    """(problems, values) of the careful reader and the fast reader's (cells, values) or None, for one file."""
    if allow_inf:
        def parse(text):
            value = parse_number(text, allow_inf=True)
            return value if value is not None and not math.isnan(value) and value >= 0 else None
    else:
        def parse(text):
            value = parse_number(text)
            return value if value is not None and math.isfinite(value) and value >= minimum else None
    problems = ProblemList(str(path))
    extra = {"basis", "source", "note"}
    careful = _read_table(path, keys, value_column, parse, "rule", extra, problems, True, source_ids)
    fast = _fast_table(path, keys, value_column, extra, source_ids, minimum=minimum, allow_inf=allow_inf)
    return problems, careful, fast


def assert_same_outcome(path, keys, value_column, minimum=0.0, allow_inf=False, source_ids=None):
    problems, careful, fast = careful_and_fast(path, keys, value_column, minimum, allow_inf, source_ids)
    if fast is None:
        return "careful"
    assert not problems, f"{path}: the fast reader accepted a file the careful one refuses: {problems.problems}"
    cells, values = fast
    codes = [np.asarray(list(valid))[at] for valid, at in zip(keys.values(), cells)]
    read = {tuple(str(c[n]) for c in codes): float(values[n]) for n in range(len(values))}
    assert read.keys() == careful.keys(), path
    for key, value in careful.items():  # the same floats, bit for bit (and -0.0 stays -0.0)
        assert np.array([read[key]]).view(np.int64) == np.array([value]).view(np.int64), (path, key)
    return "fast"


def codes_beside(path: Path) -> dict:
    """The dataset.toml codes of the folder ``path`` is in, else a small default (then most files are refused)."""
    try:
        meta = tomllib.loads((path.parent / "dataset.toml").read_text(encoding="utf-8"))
        regions = tuple(r["code"] for r in meta["region"])
        sectors = tuple(s["code"] for s in meta["sector"])
        sources = {s["id"] for s in meta.get("source", [])}
    except (OSError, ValueError, KeyError, TypeError):
        return {"sectors": ("steel",), "regions": ("AAA", "BBB"), "sources": set()}
    return {"sectors": sectors, "regions": regions, "sources": sources}


def every_csv_file():
    roots = [TESTS / "bad_inputs", TESTS / "data", BUILTIN_DIR]
    return sorted(p for root in roots for p in root.rglob("*.csv"))


@pytest.mark.parametrize("path", every_csv_file(), ids=lambda p: str(p.relative_to(TESTS.parent)))
def test_fast_reader_never_accepts_what_the_careful_one_refuses(path):
    """Every CSV file of the test corpus and the built-in datasets, read as each kind of code-keyed dataset file."""
    codes = codes_beside(path)
    cells = {"sector": codes["sectors"], "exporter": codes["regions"], "importer": codes["regions"]}
    for value_column in ("value", "rate"):
        assert_same_outcome(path, cells, value_column, source_ids=codes["sources"])
    assert_same_outcome(path, {"sector": codes["sectors"], "region": codes["regions"]}, "eps", allow_inf=True)


def test_fast_reader_on_files_pandas_and_csv_might_read_differently(tmp_path):
    outcomes = {}
    for name, text in EDGE_FILES.items():
        path = tmp_path / f"{name}.csv"
        path.write_bytes(HEADER.encode() + b"s,A,B,1,assumed,T,caf\xe9\n" if text is None else text.encode("utf-8"))
        keys = {"sector": EDGE_CODES["sectors"], "exporter": EDGE_CODES["regions"],
                "importer": EDGE_CODES["regions"]}
        outcomes[name] = assert_same_outcome(path, keys, "value", source_ids=EDGE_CODES["sources"])
    # the plain files take the fast path (else this test would prove nothing about it)
    for name in ("crlf", "bom", "quoted_cells", "quoted_newline_in_note", "long_row", "source_two_ids",
                 "value_negative_zero", "value_many_digits", "no_rows", "value_formfeed_in_note", "value_quoted_tab",
                 "note_with_quotes_no_line_break"):
        assert outcomes[name] == "fast", name


def test_plain_numbers_accept_exactly_what_parse_number_accepts():
    """Every text of up to four characters from a number's alphabet (and a few others), one at a time."""
    alphabet = "01.eE+-"
    texts = ["".join(t) for n in range(1, 5) for t in itertools.product(alphabet, repeat=n)]
    texts += ["inf", "Infinity", "+inf", "-inf", "nan", " 1", "1 ", "1_0", "１", "٣", "0x1", "1e400", "1e-400",
              "", ",", "1,5", "5.", ".5", "+.5e-3"]
    for text in texts:
        for allow_inf in (False, True):
            fast = _plain_numbers([text], allow_inf)
            careful = parse_number(text, allow_inf=allow_inf)
            if fast is not None:  # the fast path may refuse more (spaces), never accept more, never differ
                assert careful is not None and fast[0] == careful, (text, allow_inf)
            elif careful is not None:
                assert text != text.strip(" \t"), (text, allow_inf)


def test_fast_reader_reads_every_number_as_float_does(tmp_path):
    """Numbers of every size and up to 20 digits, read by pandas as floats, bit for bit as :func:`float` reads the
    texts (pandas before 3.1 is off by an ulp at times unless told ``float_precision="round_trip"``)."""
    rng = np.random.default_rng(22)
    mantissas = rng.integers(1, 10**17, size=3000).tolist() + rng.integers(1, 10**9, size=1000).tolist()
    texts = [f"{m}e{e}" for m, e in zip(mantissas, rng.integers(-320, 290, size=len(mantissas)).tolist())]
    texts += [repr(float(x)) for x in rng.lognormal(0, 30, size=3000)] + ["0.1000000000000000055511151231257827",
                                                                         "2.2250738585072011e-308", "4.9e-324"]
    rows = "".join(f"s{n},A,B,{text},assumed,T,n\n" for n, text in enumerate(texts))
    path = tmp_path / "numbers.csv"
    path.write_text(HEADER + rows, encoding="utf-8")
    keys = {"sector": tuple(f"s{n}" for n in range(len(texts))), "exporter": ("A",), "importer": ("A", "B")}
    assert assert_same_outcome(path, keys, "value", source_ids={"T"}) == "fast"


@pytest.mark.parametrize(("version", "options"), [("2.2.3", {"float_precision": "round_trip"}),
                                                  ("3.0.6", {"float_precision": "round_trip"}),
                                                  ("3.1.0rc1", {}), ("3.1.1", {}), ("4.0.0", {})])
def test_float_options_ask_for_the_correctly_rounding_converter(version, options):
    from sim.dataset import _float_options

    got = _float_options(version, "value")
    assert {key: got[key] for key in got if key == "float_precision"} == options
    assert {"True", "TRUE", "true", "tRuE", "False", "fALSE"} <= set(got["na_values"]["value"])


def big_dataset(folder: Path, sectors: int = 30, regions: int = 12) -> Path:
    rng = np.random.default_rng(5)
    codes = [f"R{r}" for r in range(regions)]
    flows = [(f"s{k}", a, b, float(rng.lognormal(3, 1)) if a != b else 1000.0, "assumed", "T", "n")
             for k in range(sectors) for a in codes for b in codes]
    meta = {"name": "big", "title": "big", "base_year": 2022, "unit": "USD million",
            "region": [{"code": c} for c in codes],
            "sector": [{"code": f"s{k}", "sigma": 4.0, "eta": -1.0, "eps": 2.0} for k in range(sectors)],
            "source": [{"id": "T", "title": "test"}]}
    supply = [(f"s{k}", codes[k % regions], math.inf if k % 2 else 1.5, "assumed", "T", "n") for k in range(sectors)]
    write_dataset(folder, meta, flows, supply_elasticities=supply, decimals={"value": 6})
    return folder


def test_a_bad_cell_deep_in_a_large_file_gives_the_careful_readers_message(tmp_path, monkeypatch):
    from sim import dataset

    monkeypatch.setattr(dataset, "VECTORISE_FROM_BYTES", 0)
    folder = big_dataset(tmp_path / "ds")
    good = load_dataset(folder)
    lines = (folder / "flows.csv").read_text().splitlines(keepends=True)
    lines[3000] = lines[3000].replace(",assumed,", ",asumed,")
    lines[4000] = lines[4000].split(",")[0] + ",R1,R2,1e400,assumed,T,n\n"
    (folder / "flows.csv").write_text("".join(lines))
    with pytest.raises(InputError) as err:
        load_dataset(folder)
    text = str(err.value)
    assert f"{folder / 'flows.csv'}: line 3001: basis must be one of published, derived, assumed, got 'asumed'" in text
    assert "line 4001: value must be a finite number >= 0, got '1e400'" in text
    assert len(err.value.problems) == 2
    np.testing.assert_array_equal(good.flows[good.flows > 0].size, good.flows.size)


def test_fast_and_careful_readers_load_the_same_dataset(tmp_path, monkeypatch):
    from sim import dataset

    fast_table = dataset._fast_table
    monkeypatch.setattr(dataset, "VECTORISE_FROM_BYTES", 0)
    folder = big_dataset(tmp_path / "ds")
    calls = []
    monkeypatch.setattr(dataset, "_fast_table", lambda *args, **kwargs: calls.append(1) or fast_table(*args, **kwargs))
    fast = load_dataset(folder)
    assert len(calls) == 3  # flows, tariffs and supply elasticities tried the fast path
    monkeypatch.setattr(dataset, "_fast_table", lambda *args, **kwargs: None)
    careful = load_dataset(folder)
    for name in ("flows", "tariffs", "eps"):
        np.testing.assert_array_equal(getattr(fast, name), getattr(careful, name))
    assert fast.file_hashes == careful.file_hashes


def test_bench_dataset_runs_small(capsys, monkeypatch):
    """The benchmark prints each target with its floor (timing is printed, never asserted)."""
    import importlib.util

    monkeypatch.syspath_prepend(str(TESTS.parent / "benchmarks"))  # the benchmarks import benchmarks/synthetic.py

    spec = importlib.util.spec_from_file_location("bench_dataset", TESTS.parent / "benchmarks" / "bench_dataset.py")
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    bench.main(regions=4, sectors=5, repeat=1)
    out = capsys.readouterr().out
    assert "the same bytes before and now: True" in out
    for line in ("load_dataset (now)", "careful reader (before)", "write_csv (now)", "run --no-plots", "floor"):
        assert line in out, line


@pytest.mark.parametrize("vectorise", [True, False])
def test_a_note_longer_than_csvs_default_field_limit_loads_and_a_bad_cell_beside_it_is_reported(
        tmp_path, monkeypatch, vectorise):
    """A 200,000-character note: csv's default limit (131,072) made the careful reader crash with a traceback,
    on a small file and whenever the fast reader handed a bad file over to it."""
    import csv

    from sim import dataset

    monkeypatch.setattr(dataset, "VECTORISE_FROM_BYTES", 0 if vectorise else 10**12)
    folder = big_dataset(tmp_path / "ds")
    good = load_dataset(folder)
    lines = (folder / "flows.csv").read_text().splitlines(keepends=True)
    lines[5] = lines[5].rsplit(",", 1)[0] + "," + "y" * 200_000 + "\n"
    (folder / "flows.csv").write_text("".join(lines))
    np.testing.assert_array_equal(load_dataset(folder).flows, good.flows)
    limit = csv.field_size_limit()
    lines[7] = lines[7].split(",")[0] + ",R1,R2,-5,assumed,T,n\n"
    (folder / "flows.csv").write_text("".join(lines))
    with pytest.raises(InputError) as err:
        load_dataset(folder)
    assert "line 8: value must be a finite number >= 0, got '-5'" in str(err.value)
    assert csv.field_size_limit() == limit  # put back
