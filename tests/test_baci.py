"""Bring your own data: a dataset built from files in BACI's exact format (tests/data/baci), checked by hand."""

import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

import sim
from sim.cli import main

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "tests" / "data" / "baci"


def build_args(out, **replace):
    files = {"trade": "baci_2022.csv", "countries": "country_codes.csv", "products": "products.csv",
             "sectors": "sectors.csv", "regions": "regions.csv", "production": "production.csv",
             "tariffs": "tariffs.csv"} | replace
    args = ["dataset", "build"]
    for option, name in files.items():
        if name is not None:
            args += [f"--{option}", str(name if Path(str(name)).is_absolute() else DATA / name)]
    return args + ["--year", "2022", "--name", "baci_demo", "--out", str(out)]


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    out = tmp_path_factory.mktemp("baci") / "baci_demo"
    result = CliRunner().invoke(main, build_args(out))
    assert result.exit_code == 0, result.output
    return out


def test_flows_are_baci_values_summed_by_region_and_sector(built):
    ds = sim.load_dataset(built)
    assert ds.regions == ("USA", "JPN", "EU", "CHN", "ROW") and ds.sectors == ("steel", "autos")
    steel, autos, r = ds.sector_index("steel"), ds.sector_index("autos"), ds.region_index
    assert ds.flows[steel, r("JPN"), r("USA")] == pytest.approx(1.2005)  # 1,200.5 thousand USD
    assert ds.flows[autos, r("JPN"), r("USA")] == pytest.approx(45.0)
    assert ds.flows[autos, r("EU"), r("USA")] == pytest.approx(3.0)  # France
    assert ds.flows[steel, r("ROW"), r("USA")] == pytest.approx(2.5)  # Korea 2.0 + Brazil 0.5, not in a region
    assert ds.flows[autos, r("USA"), r("EU")] == pytest.approx(0.25)  # HS 870899, mapped as an HS6 code
    assert ds.flows[steel, r("EU"), r("EU")] == pytest.approx(150 - 0.8)  # output less exports; DEU->FRA stays home
    assert ds.flows[steel, r("JPN"), r("USA")] + ds.flows[steel, r("JPN"), r("JPN")] == pytest.approx(90.0)
    assert ds.eps[autos, 0] == float("inf") and ds.sigma[steel] == 2.95


def test_tariffs_are_import_weighted_with_preferences_over_mfn(built):
    ds = sim.load_dataset(built)
    steel, r = ds.sector_index("steel"), ds.region_index
    assert ds.tariffs[steel, r("JPN"), r("USA")] == pytest.approx(0.25)  # MFN on the 7208 prefix
    # ROW: Korea 2,000 at its preferential 0 and Brazil 500 at MFN 25%
    assert ds.tariffs[steel, r("ROW"), r("USA")] == pytest.approx(0.25 * 500 / 2500)
    assert ds.tariffs[ds.sector_index("autos"), r("JPN"), r("USA")] == pytest.approx(0.025)


def test_readme_lists_counts_assumptions_and_the_command(built):
    text = (built / "README.md").read_text()
    assert "rows read: 13; used: 11; other years left out: 1" in text
    assert "HS6 products in no sector (dropped): 1 (0.1 USD million); largest: 010121 (0.1)" in text
    assert "countries in no region (sent to ROW): 2 (2.5 USD million); largest: KOR (2.0), BRA (0.5)" in text
    assert "dataset build --trade" in text and "--name baci_demo" in text


def test_validate_and_run_accept_the_built_dataset(built, tmp_path):
    scenario = tmp_path / "s.toml"
    scenario.write_text(f'name = "on_baci"\ndataset = "{built}"\n[[tariff]]\nsector = "steel"\nimporter = "USA"\n'
                        'exporter = "*"\nrate = 0.5\n')
    assert CliRunner().invoke(main, ["validate", str(scenario)]).exit_code == 0
    result = CliRunner().invoke(main, ["run", str(scenario), "--out", str(tmp_path / "o"), "--no-plots"])
    assert result.exit_code == 0, result.output
    res = sim.run(scenario)
    assert res.frames.diagnostics["converged"].all()
    assert res.frames.flows.loc[("long run", "steel", "JPN", "USA"), "value_pct"] < 0


def test_without_production_an_assumed_domestic_share_fills_the_diagonal(tmp_path):
    out = tmp_path / "d"
    args = build_args(out, production=None) + ["--domestic-share", "0.7"]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    ds = sim.load_dataset(out)
    steel, r = ds.sector_index("steel"), ds.region_index
    imports = ds.flows[steel, :, r("USA")].sum() - ds.flows[steel, r("USA"), r("USA")]
    assert ds.flows[steel, r("USA"), r("USA")] == pytest.approx(imports * 0.7 / 0.3)
    assert "assumed domestic share 70% of absorption" in (out / "flows.csv").read_text()


def write_bad(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text)
    return path


def test_bad_inputs_are_all_reported_and_nothing_is_written(tmp_path):
    trade = write_bad(tmp_path, "trade.csv", "t,i,j,k,v,q\n2022,392,842,720851,abc,1\n2022,999,842,720851,5,1\n"
                                             "2022,392,842,720851,-3,1\n")
    products = write_bad(tmp_path, "products.csv", "hs,sector\n72,steel\n72,autos\n8703,cars\n")
    out = tmp_path / "never"
    result = CliRunner().invoke(main, build_args(out, trade=trade, products=products))
    assert result.exit_code == 2 and "Traceback" not in result.output and not out.exists()
    assert "product 72 is mapped twice (steel and autos)" in result.output
    assert "line 4: unknown sector 'cars'" in result.output
    # the trade file's own problems are reported once the concordances are right
    result = CliRunner().invoke(main, build_args(out, trade=trade))
    assert result.exit_code == 2 and not out.exists()
    assert "line 2: v must be a finite number >= 0 (thousand USD), got 'abc'" in result.output
    assert "line 4: v must be a finite number >= 0 (thousand USD), got '-3'" in result.output
    assert "country code 999 (1 row(s)) is not in the country file" in result.output


def test_wrong_columns_and_a_missing_year(tmp_path):
    trade = write_bad(tmp_path, "trade.csv", "year,i,j,k,v,q\n2022,392,842,720851,5,1\n")
    result = CliRunner().invoke(main, build_args(tmp_path / "o", trade=trade))
    assert result.exit_code == 2 and "expected BACI's columns t,i,j,k,v,q; missing ['t'], unknown ['year']" in \
        result.output
    args = build_args(tmp_path / "o")
    args[args.index("--year") + 1] = "2019"
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 2 and "year 2019 is not in the file (years: 2021, 2022)" in result.output
    regions = write_bad(tmp_path, "regions.csv", "iso3,region,colour\nUSA,USA,red\n")
    result = CliRunner().invoke(main, build_args(tmp_path / "o", regions=regions))
    assert result.exit_code == 2 and "unknown column 'colour'" in result.output


def test_the_readme_example_runs(tmp_path, monkeypatch):
    """The README's worked example, run from the repository root as written."""
    import re
    import shlex

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    commands = [c for c in re.findall(r"```bash\n(.+?)\n```", readme, flags=re.S) if "dataset build" in c]
    assert len(commands) == 1
    words = shlex.split(commands[0].replace("\\\n", " "))
    args = words[words.index("run_sim.py") + 1:]
    args[args.index("--out") + 1] = str(tmp_path / "baci_demo")
    monkeypatch.chdir(ROOT)
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    shutil.rmtree(tmp_path / "baci_demo")


def test_domestic_shares_per_sector_and_a_gap_in_production(tmp_path):
    out = tmp_path / "per_sector"
    result = CliRunner().invoke(main, build_args(out, production=None) + ["--domestic-share", "steel=0.6,autos=0.8"])
    assert result.exit_code == 0, result.output
    ds = sim.load_dataset(out)
    autos, r = ds.sector_index("autos"), ds.region_index
    imports = ds.flows[autos, :, r("USA")].sum() - ds.flows[autos, r("USA"), r("USA")]
    assert ds.flows[autos, r("USA"), r("USA")] == pytest.approx(imports * 0.8 / 0.2)
    production = write_bad(tmp_path, "production.csv", "region,sector,value\nUSA,steel,100\n")
    result = CliRunner().invoke(main, build_args(tmp_path / "gap", production=production))
    assert result.exit_code == 2 and "no output for" in result.output and "JPN steel" in result.output
    result = CliRunner().invoke(main, build_args(tmp_path / "bad", production=None) + ["--domestic-share", "1.5"])
    assert result.exit_code == 2 and "each share must be a number between 0 and 1, got '1.5'" in result.output


# --- hostile input (issue 16, case 8): text is escaped, codes are checked, bad files give one clear message each

AWKWARD = ['my "demo"', "a, b; c", "C:\\data\\baci", "Ünïcødé ✓ 日本", "two\nlines", '=HYPERLINK("http://x")',
           "tab\there", "form\x0cfeed and line\u2028separator", "quote ' and \\\" both"]


def copy_with(tmp_path, name, transform):
    """A copy of one of the test files in ``tmp_path``, its text passed through ``transform``."""
    path = tmp_path / name
    path.write_text(transform((DATA / name).read_text(encoding="utf-8")), encoding="utf-8")
    return path


def csv_cell(text):
    return '"' + text.replace('"', '""') + '"'


@pytest.mark.parametrize("text", AWKWARD)
def test_awkward_text_is_escaped_and_reads_back_unchanged(tmp_path, text):
    folder = tmp_path / "in\\put"  # a backslash in every input path, as in a Windows path
    folder.mkdir()
    trade = folder / "baci_2022.csv"
    shutil.copy(DATA / "baci_2022.csv", trade)
    regions = copy_with(folder, "regions.csv", lambda s: s.replace("United States", csv_cell(text)))
    sectors = copy_with(folder, "sectors.csv", lambda s: s.replace("Iron and steel", csv_cell(text)).replace(
        "GTAP 10 ESUBD (illustrative here)", csv_cell(text)))
    production = copy_with(folder, "production.csv", lambda s: s.replace("illustrative", csv_cell(text)))
    out = tmp_path / "out"
    args = build_args(out, trade=trade, regions=regions, sectors=sectors, production=production)
    args[args.index("--name") + 1] = text
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    ds = sim.load_dataset(out)
    assert ds.name == text and ds.title == f"{text}: built from BACI 2022"
    assert ds.region_names["USA"] == text and ds.sector_names["steel"] == text
    assert {s["id"]: s["url"] for s in ds.sources}["BACI"] == str(trade)
    assert {s["id"]: s["url"] for s in ds.sources}["PRODUCTION"] == str(production)
    import csv
    with open(out / "flows.csv", encoding="utf-8", newline="") as fh:
        notes = [row["note"] for row in csv.DictReader(fh)]
    assert f"output 100.0 ({text}) less exports" in " ".join(notes)


def test_an_empty_name_is_refused(tmp_path):
    args = build_args(tmp_path / "o")
    args[args.index("--name") + 1] = " "
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 2 and "--name: must be some text, got ' '" in result.output
    assert not (tmp_path / "o").exists()


def refused(tmp_path, *options, **files):
    """Build with the given files replaced; return the error output (the build must fail cleanly)."""
    out = tmp_path / "never"
    result = CliRunner().invoke(main, build_args(out, **files) + list(options))
    assert result.exit_code == 2, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    assert "Traceback" not in result.output and "np." not in result.output and not out.exists()
    return result.output


def test_region_and_sector_codes_must_be_codes(tmp_path):
    regions = write_bad(tmp_path, "regions.csv", 'iso3,region\nUSA,"=HYPERLINK(""http://x"")"\nJPN,JPN\n')
    output = refused(tmp_path, regions=regions)
    assert (f"{regions}: line 2: region must be a code of letters, digits and _ starting with a letter, got "
            "'=HYPERLINK(\"http://x\")'") in output
    sectors = copy_with(tmp_path, "sectors.csv", lambda s: s.replace("steel,", "steel metal,"))
    products = copy_with(tmp_path, "products.csv", lambda s: s.replace("steel", "steel metal"))
    output = refused(tmp_path, sectors=sectors, products=products)
    assert (f"{sectors}: line 2: sector must be a code of letters, digits and _ starting with a letter, got "
            "'steel metal'") in output


@pytest.mark.parametrize("value", ["inf", "nan", "1e400", "-5", "-inf", "NA", ""])
def test_a_bad_baci_value_names_file_line_and_value(tmp_path, value):
    trade = write_bad(tmp_path, "trade.csv", f"t,i,j,k,v,q\n2022,392,842,720851,5,1\n2022,392,842,720851,{value},1\n")
    output = refused(tmp_path, trade=trade)
    assert f"{trade}: line 3: v must be a finite number >= 0 (thousand USD), got {value!r}" in output
    assert output.count("error: ") == 1


@pytest.mark.parametrize("code, message", [
    ("inf", "i must be a CEPII country code (a whole number), got 'inf'"),
    ("392.7", "i must be a CEPII country code (a whole number), got '392.7'"),
    ("-5", "i must be a CEPII country code (a whole number), got '-5'"),
    ("JPN", "i must be a CEPII country code (a whole number), got 'JPN'"),
])
def test_a_bad_country_code_names_file_line_and_value(tmp_path, code, message):
    trade = write_bad(tmp_path, "trade.csv", f"t,i,j,k,v,q\n2022,392,842,720851,5,1\n2022,{code},842,720851,5,1\n")
    output = refused(tmp_path, trade=trade)
    assert f"{trade}: line 3: {message}" in output and output.count("error: ") == 1


def test_an_empty_trade_file_says_so(tmp_path):
    trade = write_bad(tmp_path, "trade.csv", "")
    assert f"{trade}: file is empty (expected the header line t,i,j,k,v,q)" in refused(tmp_path, trade=trade)
    trade = write_bad(tmp_path, "trade.csv", "t,i,j,k,v,q\n")
    assert f"{trade}: no data rows" in refused(tmp_path, trade=trade)


@pytest.mark.parametrize("row", [2, 3])
def test_a_row_with_an_extra_field_names_its_line(tmp_path, row):
    lines = ["t,i,j,k,v,q"] + ["2022,392,842,720851,5,1"] * 3
    lines[row - 1] += ",7"
    trade = write_bad(tmp_path, "trade.csv", "\n".join(lines) + "\n")
    output = refused(tmp_path, trade=trade)
    assert f"{trade}: line {row}: 7 fields, expected 6 (t,i,j,k,v,q)" in output and output.count("error: ") == 1


def test_a_small_file_with_an_extra_field_names_its_line(tmp_path):
    regions = write_bad(tmp_path, "regions.csv", "iso3,region\nUSA,USA\nJPN,JPN,Japan\n")
    assert f"{regions}: line 3: 3 fields, expected 2 (iso3,region)" in refused(tmp_path, regions=regions)


def test_many_rows_with_one_problem_are_listed_once_and_counted(tmp_path):
    trade = write_bad(tmp_path, "trade.csv", "t,i,j,k,v,q\n" + "2022,392,842,720851,-1,1\n" * 400)
    output = refused(tmp_path, trade=trade)
    assert output.count("v must be a finite number >= 0") == 20
    assert f"{trade}: ... and 380 more rows with the same problem" in output
    products = write_bad(tmp_path, "products.csv", "hs,sector\n" + "72,steel\n" * 400)
    output = refused(tmp_path, products=products)
    assert output.count("is mapped twice") == 20 and "... and 379 more rows with the same problem" in output


def test_values_too_large_to_sum_are_an_error_not_inf_flows(tmp_path):
    trade = write_bad(tmp_path, "trade.csv", "t,i,j,k,v,q\n2022,392,842,720851,1e308,1\n2022,392,842,720851,1e308,1\n")
    output = refused(tmp_path, trade=trade)
    assert f"{trade}: v: the values of steel JPN->USA sum to more than a number can hold" in output
    trade = write_bad(tmp_path, "trade.csv", "t,i,j,k,v,q\n2022,392,842,720851,1e308,1\n")
    output = refused(tmp_path, "--domestic-share", "0.9999", trade=trade, production=None)
    assert "--domestic-share: the assumed domestic shipments of steel USA come to more than a number can hold" in \
        output and output.count("error: ") == 1


def test_a_year_a_dataset_cannot_have_is_refused(tmp_path):
    trade = write_bad(tmp_path, "trade.csv", "t,i,j,k,v,q\n1800,392,842,720851,5,1\n")
    args = build_args(tmp_path / "o", trade=trade)
    del args[args.index("--year"):args.index("--year") + 2]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 2 and "year 1800 is outside 1900-2200" in result.output


# --- issue 22: the build works on numbers (codes looked up once per distinct value); every result is as before


def test_blank_lines_padded_codes_and_text_quantities_read_as_before(tmp_path):
    trade = write_bad(tmp_path, "trade.csv", "t,i,j,k,v,q\n2022,392,842,720851,5,1\n\n2022,392,842, 720851 ,5,NA\n"
                                             "2022,392,842,\t870323 ,2.5,\n2022,392,842,72085,1,1\n")
    out = tmp_path / "o"
    result = CliRunner().invoke(main, build_args(out, trade=trade))
    assert result.exit_code == 0, result.output
    ds = sim.load_dataset(out)
    r = ds.region_index
    assert ds.flows[ds.sector_index("steel"), r("JPN"), r("USA")] == pytest.approx(0.010)  # " 720851 " is 720851
    assert ds.flows[ds.sector_index("autos"), r("JPN"), r("USA")] == pytest.approx(0.0025)
    text = (out / "README.md").read_text()
    assert "rows read: 4; used: 3" in text and "in no sector (dropped): 1 (0.0 USD million); largest: 072085" in text
    trade = write_bad(tmp_path, "trade.csv", "t,i,j,k,v,q\n2022,392,842,720851,5,1\n,,,,,5\n")
    output = refused(tmp_path, trade=trade)  # not blank: it has a quantity, so each empty cell is a problem
    assert f"{trade}: line 3: t must be a year (a whole number), got ''" in output
    assert f"{trade}: line 3: k must be an HS6 product code (up to six digits), got ''" in output


def test_country_codes_beyond_a_table_by_code_and_two_codes_for_one_country(tmp_path):
    countries = copy_with(tmp_path, "country_codes.csv", lambda s: s + "2000000000,Japan again,JP,JPN\n")
    trade = write_bad(tmp_path, "trade.csv", "t,i,j,k,v,q\n2022,392,842,720851,5,1\n2022,2000000000,842,720851,7,1\n"
                                             "2022,2100000000,842,720851,7,1\n")
    output = refused(tmp_path, trade=trade, countries=countries)
    assert f"{trade}: i/j: country code 2100000000 (1 row(s)) is not in the country file" in output
    assert output.count("error: ") == 1
    trade = write_bad(tmp_path, "trade.csv", "t,i,j,k,v,q\n2022,392,842,720851,5,1\n2022,2000000000,842,720851,7,1\n")
    out = tmp_path / "o"
    result = CliRunner().invoke(main, build_args(out, trade=trade, countries=countries))
    assert result.exit_code == 0, result.output
    ds = sim.load_dataset(out)
    assert ds.flows[ds.sector_index("steel"), ds.region_index("JPN"), ds.region_index("USA")] == pytest.approx(0.012)


def test_chunks_of_any_size_give_the_same_dataset(tmp_path, monkeypatch, built):
    """Products first met in a later chunk get their sector and tariff rates (the lookups grow chunk by chunk)."""
    import sim.baci

    monkeypatch.setattr(sim.baci, "CHUNK_ROWS", 2)
    out = tmp_path / "small_chunks"
    result = CliRunner().invoke(main, build_args(out))
    assert result.exit_code == 0, result.output
    small, whole = sim.load_dataset(out), sim.load_dataset(built)
    assert small.flows == pytest.approx(whole.flows, rel=1e-12) and small.tariffs == pytest.approx(whole.tariffs)
    assert (out / "README.md").read_text().split("## Counts")[1] == (built / "README.md").read_text().split(
        "## Counts")[1]


@pytest.mark.parametrize("rows", [200_000, 300])
def test_sums_are_pandas_group_sums_in_row_order_as_before(rows):
    """Flows: pandas' group sums by (sector, exporter, importer); tariff weights: each group's numpy sum in row order.

    The build's results are the same to the last bit as when it grouped DataFrames (the old code, kept here),
    with more rows than cells (grouped by cell number) and fewer (grouped by hashing the cells met).
    """
    import numpy as np
    import pandas as pd

    from sim.baci import TariffSchedule, _add_flows

    rng = np.random.default_rng(7)
    k, n = 7, 9
    s, a, b = rng.integers(0, k, rows), rng.integers(0, n, rows), rng.integers(0, n, rows)
    value = rng.lognormal(2, 3, rows) * rng.choice([1, 1e-3], rows)
    flows, intra = np.zeros((k, n, n)), np.zeros((k, n))
    _add_flows(flows, intra, value, s, a, b)
    old_flows, old_intra = np.zeros((k, n, n)), np.zeros((k, n))
    for (si, ai, bi), total in pd.Series(value).groupby([s, a, b]).sum().items():
        if ai == bi:
            old_intra[si, ai] += total
        else:
            old_flows[si, ai, bi] += total
    assert np.array_equal(flows, old_flows) and np.array_equal(intra, old_intra)

    rate = np.where(rng.random(rows) < 0.2, np.nan, rng.uniform(0, 0.3, rows))
    schedule = TariffSchedule({}, {}, (k, n, n))
    schedule.with_data = np.ones(1, dtype=bool)
    schedule.row_rates = lambda exporter, importer, product: rate[product]
    schedule.add(np.zeros(rows, dtype=int), np.zeros(rows, dtype=int), np.arange(rows), value, s, a, b)
    frame = pd.DataFrame({"v": value, "rate": np.nan_to_num(rate, nan=0.0), "s": s, "a": a, "b": b})
    weighted, weights = np.zeros((k, n, n)), np.zeros((k, n, n))
    for (si, ai, bi), group in frame.groupby(["s", "a", "b"]):
        if ai != bi:
            weighted[si, ai, bi] += (group["v"] * group["rate"]).sum()
            weights[si, ai, bi] += group["v"].sum()
    assert np.array_equal(schedule.weighted, weighted) and np.array_equal(schedule.weights, weights)
    assert schedule.total == float(value.sum()) and schedule.covered == float(value[~np.isnan(rate)].sum())


def test_group_sums_are_numpy_sums_of_each_group_to_the_last_bit():
    """The tariff weights' one-call group sums equal ``np.add.reduce`` of each group (runs of 1 to 20,000 values)."""
    import numpy as np

    from sim.baci import _group_sums

    rng = np.random.default_rng(3)
    sizes = np.r_[np.arange(1, 300), rng.integers(1, 20, 500), [1000, 4095, 8192, 8193, 20_000]]
    values = rng.lognormal(2, 3, sizes.sum()) * rng.choice([1, 1e-3, 1e5], sizes.sum())
    starts = np.r_[0, np.cumsum(sizes)[:-1]]
    expected = [np.add.reduce(values[a:a + n]) for a, n in zip(starts, sizes)]
    assert np.array_equal(_group_sums(values, starts), expected)


def test_prefix_look_ups_of_many_codes_are_those_of_one_code_at_a_time():
    from sim.baci import PrefixMap

    prefix_map = PrefixMap({"72": "a", "7208": "b", "720851": "c", "870323": "d", "87": 0.0, "0101": "e"})
    codes = ["720851", "720852", "720900", "870323", "870324", "010121", "020000", "870000"]
    assert prefix_map.get_many(PrefixMap.prefixes(codes)) == [prefix_map.get(code) for code in codes]


# --- issue 22: product codes read as fixed-width bytes, as text where bytes cannot be trusted; same messages


@pytest.mark.parametrize("chunk_rows", [1_000_000, 2])
@pytest.mark.parametrize("code", ["+5", "-0", "0000005", "7208510", "1e3", "720851.0", "5\x00", "\x005", "é", "NA",
                                  "７２０８５１", "00720851", "   72 0851   "])
def test_a_bad_product_code_is_quoted_as_written_in_any_chunk(tmp_path, monkeypatch, chunk_rows, code):
    """Codes an integer or a fixed-width reading would take for another (``+5``, ``0000005``, ``5\\x00``) are refused
    with the cell as written, in the first chunk or a later one (with 2-row chunks the bad cell is in the third)."""
    import sim.baci

    monkeypatch.setattr(sim.baci, "CHUNK_ROWS", chunk_rows)
    trade = tmp_path / "trade.csv"
    trade.write_bytes(("t,i,j,k,v,q\n2022,392,842,720851,5,1\n2022,392,842,870323,5,1\n2022,392,842,720851,5,1\n"
                       "2022,392,842,720851,5,1\n" f"2022,392,842,{code},5,1\n").encode())
    output = refused(tmp_path, trade=trade)
    assert f"{trade}: line 6: k must be an HS6 product code (up to six digits), got {code.strip()!r}" in output
    assert output.count("error: ") == 1


@pytest.mark.parametrize("chunk_rows", [1_000_000, 2])
def test_codes_read_again_as_text_give_the_same_dataset(tmp_path, monkeypatch, chunk_rows, built):
    """A long padded code (8 bytes or more: cut as fixed-width bytes) or a NUL byte anywhere in the file makes
    the build take that chunk's codes, or every chunk's, as text: the dataset is the same."""
    import sim.baci

    monkeypatch.setattr(sim.baci, "CHUNK_ROWS", chunk_rows)
    lines = (DATA / "baci_2022.csv").read_text().splitlines()
    for name, edit in {"padded": lambda row: row.replace(",720851,", ",   720851   ,"),
                       "nul": lambda row: row + "\x00" if row.startswith("2021,") else row}.items():
        trade = tmp_path / f"{name}.csv"
        trade.write_text("\n".join(lines[:-3] + [edit(row) for row in lines[-3:]]) + "\n")
        assert (name == "nul") == (b"\x00" in trade.read_bytes())
        out = tmp_path / name
        result = CliRunner().invoke(main, build_args(out, trade=trade))
        assert result.exit_code == 0, result.output
        for table in ("flows.csv", "tariffs.csv"):
            assert (out / table).read_bytes() == (built / table).read_bytes(), (name, table)


# --- issue 22: the trade file is read while the other inputs are; the parser's warning filters are left as found


def test_the_trade_file_is_being_read_while_the_tariff_schedule_is(monkeypatch, tmp_path):
    """The trade file is read in a thread from before the tariff schedule is read (the parse is the critical path)."""
    import threading

    import sim.baci

    started = threading.Event()
    chunks, read = sim.baci._trade_chunks, sim.baci.TariffSchedule.read.__func__
    seen = []

    def trade_chunks(*args, **kwargs):
        started.set()
        yield from chunks(*args, **kwargs)

    def read_schedule(cls, *args):
        seen.append(started.wait(timeout=10))  # set at once when the reading has begun; never if it comes later
        return read(cls, *args)

    monkeypatch.setattr(sim.baci, "_trade_chunks", trade_chunks)
    monkeypatch.setattr(sim.baci.TariffSchedule, "read", classmethod(read_schedule))
    result = CliRunner().invoke(main, build_args(tmp_path / "o"))
    assert result.exit_code == 0, result.output
    assert seen == [True]


@pytest.mark.parametrize("case", ["built", "bad tariffs", "extra fields"])
def test_warning_filters_are_left_as_they_were(tmp_path, case):
    """The filters that make pandas' warning on extra fields an error are taken off however the build ends (the
    reader thread still reading when the tariff file is refused, or the parser refusing the trade file)."""
    import warnings

    files = {}
    if case == "bad tariffs":
        files["tariffs"] = write_bad(tmp_path, "tariffs.csv", "importer,exporter,hs,rate\nUSA,*,7208,lots\n")
    if case == "extra fields":
        files["trade"] = write_bad(tmp_path, "trade.csv", "t,i,j,k,v,q\n2022,392,842,720851,5,1,9\n")
    before = list(warnings.filters)
    result = CliRunner().invoke(main, build_args(tmp_path / "o", **files))
    assert result.exit_code == (0 if case == "built" else 2), result.output
    assert warnings.filters == before
