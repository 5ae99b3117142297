"""Looking at a dataset (issue 21.9): labelled frames, a short repr, an escaped HTML repr and ``dataset show``."""

import csv
import dataclasses
import re
import subprocess
import sys
import tomllib
from collections import defaultdict
from pathlib import Path

import numpy as np
from click.testing import CliRunner

import sim
from sim.cli import main
from sim.dataset import BUILTIN_DIR

ROOT = Path(__file__).resolve().parents[1]
US_JAPAN = BUILTIN_DIR / "us_japan_2024"


def csv_totals(folder: Path) -> dict[tuple[str, str], dict[str, float]]:
    """Output, exports and imports per (sector, region) summed straight from flows.csv, without the package."""
    totals = defaultdict(lambda: {"output": 0.0, "exports": 0.0, "imports": 0.0})
    with open(folder / "flows.csv", newline="", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            value = float(row["value"])
            totals[row["sector"], row["exporter"]]["output"] += value
            if row["exporter"] != row["importer"]:
                totals[row["sector"], row["exporter"]]["exports"] += value
                totals[row["sector"], row["importer"]]["imports"] += value
    return totals


def test_frames_label_every_flow_and_tariff_as_the_csv_files_do():
    ds = sim.load_dataset("us_japan_2024")
    flows, tariffs = ds.frames.flows, ds.frames.tariffs
    assert flows.index.names == ["sector", "exporter", "importer"] and list(flows.columns) == ["value"]
    assert len(flows) == len(ds.sectors) * len(ds.regions) ** 2
    with open(US_JAPAN / "flows.csv", newline="", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            assert flows.loc[(row["sector"], row["exporter"], row["importer"]), "value"] == float(row["value"])
    with open(US_JAPAN / "tariffs.csv", newline="", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            assert tariffs.loc[(row["sector"], row["exporter"], row["importer"]), "rate"] == float(row["rate"])
    assert ds.frames.sectors.loc["steel", "sigma"] == ds.sigma[ds.sector_index("steel")]
    eps = ds.frames.supply_elasticities
    assert eps.loc[("steel", "USA"), "eps"] == ds.eps[ds.sector_index("steel"), ds.region_index("USA")]


def test_frames_of_optional_files_hold_their_rows_or_are_none():
    ds = sim.load_dataset("us_japan_2024")
    with open(US_JAPAN / "quotas.csv", newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    quotas = ds.frames.quotas
    assert len(quotas) == len(rows) > 0
    for row in rows:
        cell = quotas.loc[(row["sector"], row["exporter"], row["importer"])]
        assert (cell["volume"], cell["rent"]) == (float(row["volume"]), row["rent"])
    assert ds.frames.cost_shares is None
    linked = sim.load_dataset("us_japan_2024_linked")
    shares = linked.frames.cost_shares
    assert shares.index.names == ["input_sector", "using_sector", "region"]
    assert shares.loc[("steel", "autos", "USA"), "cost_share"] == linked.cost_shares[0, 1, 0] > 0
    assert sim.load_dataset("illustrative").frames.quotas is None


def test_totals_are_the_sums_of_flows_csv():
    ds = sim.load_dataset("us_japan_2024")
    expected = csv_totals(US_JAPAN)
    totals = ds.frames.totals
    assert len(totals) == len(expected) == 32
    for key, values in expected.items():
        for column, value in values.items():
            np.testing.assert_allclose(totals.loc[key, column], value, rtol=1e-12)
    world = totals.groupby("sector").sum()
    np.testing.assert_allclose(world["exports"], world["imports"], rtol=1e-12)


def test_repr_is_short_and_names_what_is_there():
    ds = sim.load_dataset("us_japan_2024")
    text = repr(ds)
    assert len(text) < 600  # was 47,192 characters: every array printed
    assert "'us_japan_2024'" in text and "2024" in text and "USD million" in text
    assert "USA, JPN, CHN, KOR, EU, CAN, MEX, ROW" in text and "steel, autos" in text
    assert "optional files: tariffs, supply_elasticities, quotas, adjustment, ownership>" in text
    assert "inputs" in repr(sim.load_dataset("us_japan_2024_linked"))
    many = dataclasses.replace(ds, regions=tuple(f"R{i}" for i in range(500)), title="t" * 5000)
    assert len(repr(many)) < 600 and "(488 more)" in repr(many)


def test_repr_does_not_import_pandas():
    code = "import sim, sys; repr(sim.load_dataset('us_japan_2024')); print('pandas' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
    assert out.stdout.strip() == "False"


def test_html_repr_escapes_every_text():
    ds = sim.load_dataset("illustrative")
    hostile = dataclasses.replace(
        ds, name="<img src=x>", title="<script>alert(1)</script>", unit="USD & <blink>", sources=({"id": "S<1>",
                                                                                           "title": "a\"<i>"},),
        region_names={**ds.region_names, "USA": "<u>States</u>"}, sector_names={**ds.sector_names, "steel": "<s>"})
    page = hostile._repr_html_()
    for raw in ("<script>", "<img", "<blink>", "<u>", "<s>", "<i>", "<1>"):
        assert raw not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page and "USD &amp; &lt;blink&gt;" in page
    assert "&lt;u&gt;States&lt;/u&gt;" in page and "a&quot;&lt;i&gt;" in page
    long = sim.load_dataset("us_japan_2024")._repr_html_()
    assert "more in ds.sources" in long and len(long) < 8000


def test_dataset_show_prints_regions_sectors_totals_files_and_sources():
    result = CliRunner().invoke(main, ["dataset", "show", "us_japan_2024"])
    assert result.exit_code == 0, result.output
    meta = tomllib.loads((US_JAPAN / "dataset.toml").read_text(encoding="utf-8"))
    for region in meta["region"]:
        assert re.search(rf"^  {region['code']} +{re.escape(region['name'])}$", result.output, re.M)
    for sector in meta["sector"]:
        assert re.search(rf"^  {sector['code']} +{sector['sigma']:g} +{sector['eta']:g} ", result.output, re.M)
    for source in meta["source"]:
        assert f"  {source['id']}: {source['title']}\n" in result.output
    assert "(absent: inputs.csv)" in result.output and "quotas.csv" in result.output
    line = re.compile(r"^  (\w+) +(\w+|all sectors) +([\d,.]+) +([\d,.]+) +([\d,.]+)$", re.M)
    printed = {(m[2], m[1]): [float(v.replace(",", "")) for v in m.groups()[2:]]
               for m in line.finditer(result.output)}
    expected = csv_totals(US_JAPAN)
    for (sector, region), values in expected.items():
        assert printed[sector, region] == [round(values[c], 1) for c in ("output", "exports", "imports")]
    world = sum(v["output"] for v in expected.values())
    assert printed["all sectors", "World"][0] == round(world, 1)


def test_dataset_show_takes_a_folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(main, ["dataset", "show", str(BUILTIN_DIR / "illustrative")])
    assert result.exit_code == 0, result.output
    assert "Regions (4)" in result.output and "Sectors (2)" in result.output


def test_dataset_show_refuses_bad_names_with_one_message(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "broken").mkdir()
    (tmp_path / "broken" / "dataset.toml").write_text("name = 3\n", encoding="utf-8")
    (tmp_path / "empty").mkdir()
    for reference, words in (("us_japan_202", "did you mean 'us_japan_2024'"), ("./empty", "no dataset './empty'"),
                             ("./broken", "dataset.toml")):
        result = subprocess.run([sys.executable, str(ROOT / "run_sim.py"), "dataset", "show", reference],
                                capture_output=True, text=True)
        assert result.returncode == 2, result.stderr
        assert "Traceback" not in result.stderr and words in result.stderr and result.stdout == ""
    missing = CliRunner().invoke(main, ["dataset", "show"])
    assert missing.exit_code == 2


def test_dataset_show_does_not_claim_nothing_was_written(tmp_path, monkeypatch):
    """A read-only command's refusal is one line: "nothing was written" would suggest it writes something."""
    monkeypatch.chdir(tmp_path)
    result = subprocess.run([sys.executable, str(ROOT / "run_sim.py"), "dataset", "show", "nosuch"],
                            capture_output=True, text=True)
    assert result.returncode == 2 and result.stdout == ""
    (line,) = result.stderr.splitlines()
    assert line.startswith("error: dataset: no dataset 'nosuch': not a built-in name (illustrative, ") and \
        line.endswith("nor a folder with a dataset.toml")
