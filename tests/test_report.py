"""Issue 21, "A report to share": report.html, one self-contained page, checked in the system's Chromium.

The browser tests read the page as a reader's browser builds it (``--dump-dom`` after the load event):
every image drew, the tables hold the numbers of the CSV files the same run wrote, and text from a
scenario is shown as text. Without Chromium they fail under ``CI=true`` and are skipped elsewhere
(tests/browser.py).
"""

from __future__ import annotations

import json
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

import sim
from sim.cli import main
from sim.errors import InputError
from sim.report import GENERATOR, REPORT_FILE

from .browser import dump_dom, require_browser, screenshot

ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = ROOT / "scenarios"
FLAGSHIP = SCENARIOS / "steel_tariff_with_investment.toml"
TARIFFS = SCENARIOS / "steel_tariffs_2025_2030.toml"


def invoke(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


class Page(HTMLParser):
    """The tables (by ``data-table``), images, scripts, links and texts of a page."""

    def __init__(self, text: str):
        super().__init__(convert_charrefs=True)
        self.tables: dict[str, list[dict]] = {}
        self.images, self.scripts, self.links, self.sources = [], 0, [], []
        self.root, self.title, self.headings = {}, "", []
        self._table = self._row = self._cell = None
        self._text_of = None
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "html":
            self.root = attrs
        if tag == "table" and "data-table" in attrs:
            self._table = {"columns": [], "rows": []}
            self.tables.setdefault(attrs["data-table"], []).append(self._table)
        elif self._table is not None and tag == "th":
            self._table["columns"].append(attrs.get("data-column"))
        elif self._table is not None and tag == "tr":
            self._row = []
        elif self._row is not None and tag == "td":
            self._cell = {"value": attrs.get("data-value"), "text": ""}
        if tag == "img":
            self.images.append(attrs)
        if tag == "script":
            self.scripts += 1
        if tag in ("a", "link", "area", "base", "form", "iframe", "object", "embed", "source", "video", "audio"):
            self.links.append((tag, attrs))
        self.sources += [value for name, value in attrs.items() if name in ("src", "srcset", "poster", "data")]
        if tag in ("title", "h1", "h3", "p"):
            self._text_of = [tag, ""]

    def handle_endtag(self, tag):
        if tag == "table":
            self._table = None
        elif tag == "tr" and self._row is not None and self._table is not None:
            if self._row:
                self._table["rows"].append(self._row)
            self._row = None
        elif tag == "td" and self._cell is not None:
            self._row.append(self._cell)
            self._cell = None
        if self._text_of is not None and tag == self._text_of[0]:
            if tag == "title":
                self.title = self._text_of[1]
            else:
                self.headings.append(self._text_of[1])
            self._text_of = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell["text"] += data
        if self._text_of is not None:
            self._text_of[1] += data

    def frame(self, key: str, n: int = 0) -> pd.DataFrame:
        """Table ``key`` as numbers where a cell has ``data-value`` (NaN where empty), else its text."""
        table = self.tables[key][n]
        rows = [[_number(c["value"]) if c["value"] is not None else c["text"] for c in row] for row in table["rows"]]
        return pd.DataFrame(rows, columns=table["columns"])


def _number(text: str) -> float:
    return float(text) if text != "" else np.nan


@pytest.fixture(scope="module")
def browser():
    return require_browser()


@pytest.fixture(scope="module")
def flagship_run(tmp_path_factory):
    """The flagship with draws, as the command line writes it with --report."""
    out = tmp_path_factory.mktemp("report") / "flagship"
    result = invoke("run", FLAGSHIP, "--draws", "50", "--seed", "7", "--out", out, "--report", "--quiet")
    assert result.exit_code == 0, result.output
    return out


@pytest.fixture(scope="module")
def flagship_dom(browser, flagship_run):
    return Page(dump_dom(browser, flagship_run / REPORT_FILE))


def _welfare_sums(welfare: pd.DataFrame, year) -> pd.DataFrame:
    """welfare.csv summed over sectors by region for ``year``, with the World total: what the page shows."""
    rows = welfare[welfare["year"].astype(str) == str(year)]
    parts = ["consumer_surplus", "producer_surplus", "exporter_margin", "tariff_revenue", "quota_rent",
             "net_welfare"]
    by_region = rows.groupby("region", sort=False)[parts].sum()
    by_region.loc["World"] = by_region.sum()
    return by_region


def test_the_report_loads_and_every_plot_the_run_drew_renders(flagship_run, flagship_dom):
    drawn = sorted((flagship_run / "plots").glob("*.png"))
    assert len(drawn) == 5  # welfare, welfare_path, welfare_by_owner, imports_USA, prices
    assert flagship_dom.root.get("data-images-rendered") == f"{len(drawn)}/{len(drawn)}"  # naturalWidth > 0
    captions = [img["alt"] for img in flagship_dom.images]
    assert len(captions) == len(drawn) and "Net welfare over time" in captions
    shown = sorted(_png(img["src"]) for img in flagship_dom.images)
    assert shown == sorted(p.read_bytes() for p in drawn)  # the run's own files, byte for byte


def _png(src: str) -> bytes:
    import base64

    assert src.startswith("data:image/png;base64,")
    return base64.b64decode(src.split(",", 1)[1])


def test_the_report_needs_no_network(flagship_run):
    page = Page((flagship_run / REPORT_FILE).read_text(encoding="utf-8"))
    assert all(src.startswith("data:image/png;base64,") for src in page.sources)
    assert [(tag, a) for tag, a in page.links if not (tag == "a" and a.get("href", "").startswith("#"))] == []
    text = (flagship_run / REPORT_FILE).read_text(encoding="utf-8")
    assert "@import" not in text and "url(" not in text
    assert "default-src 'none'" in text and f'content="{GENERATOR}"' in text


def test_the_tables_hold_the_numbers_of_the_csv_files(flagship_run, flagship_dom):
    welfare = pd.read_csv(flagship_run / "welfare.csv")
    expected = _welfare_sums(welfare, 2030)
    shown = flagship_dom.frame("welfare_by_region").set_index("region")
    assert list(shown.index) == list(expected.index)
    np.testing.assert_allclose(shown.to_numpy(float), expected.to_numpy(), rtol=1e-9, atol=1e-9)

    path = flagship_dom.frame("net_welfare_path").set_index("year")
    for year in (2025, 2028, 2030):
        np.testing.assert_allclose(path.loc[year].to_numpy(float), _welfare_sums(welfare, year)["net_welfare"],
                                   rtol=1e-9, atol=1e-9)

    prices = pd.read_csv(flagship_run / "prices.csv")
    on_file = prices[(prices["year"] == 2030) & (prices["sector"] == "steel")].drop(columns="scenario")
    pd.testing.assert_frame_equal(flagship_dom.frame("prices").reset_index(drop=True),
                                  on_file.reset_index(drop=True), check_dtype=False, check_exact=True)

    flows = pd.read_csv(flagship_run / "flows.csv").set_index(["year", "sector", "exporter", "importer"])
    largest = flagship_dom.frame("largest_flows")
    assert len(largest) == 10
    for row in largest.itertuples(index=False):
        on_file = flows.loc[(2030, row.sector, row.exporter, row.importer)]
        assert (row.base_value, row.value, row.value_change, row.value_pct) == tuple(
            on_file[["base_value", "value", "value_change", "value_pct"]])

    uncertainty = pd.read_csv(flagship_run / "uncertainty.csv")
    world = uncertainty[(uncertainty["table"] == "welfare") & (uncertainty["sector"] == "all")
                        & (uncertainty["quantity"] == "net_welfare") & (uncertainty["year"] == 2030)]
    intervals = flagship_dom.frame("intervals")
    pd.testing.assert_frame_equal(intervals.reset_index(drop=True),
                                  world[list(intervals.columns)].reset_index(drop=True), check_dtype=False,
                                  check_exact=True)
    assert "World" in set(intervals["region"])

    returns = pd.read_csv(flagship_run / "investment_returns.csv")
    shown = flagship_dom.frame("investment_returns")
    assert shown.loc[0, "npv"] == returns.loc[0, "npv"] and shown.loc[0, "amount"] == 4000


def test_the_displayed_numbers_round_the_exact_ones(flagship_dom):
    for row in flagship_dom.tables["welfare_by_region"][0]["rows"]:
        for cell in row[1:]:
            assert float(cell["text"].replace(",", "").replace("\u2212", "-")) == pytest.approx(
                float(cell["value"]), abs=0.05 + 1e-9)


def test_the_report_shows_the_scenario_record_and_caveats(flagship_run, flagship_dom):
    record = json.loads((flagship_run / "run.json").read_text(encoding="utf-8"))
    text = (flagship_run / REPORT_FILE).read_text(encoding="utf-8")
    assert "Nippon Steel, year by year." in text  # the description
    assert record["timestamp"] in text and record["scenarios"][0]["sha256"] in text
    assert json.dumps(record, indent=2) in _unescaped(text)  # run.json in full, as text
    assert "Producer surplus from added capacity does not net out the cost of the investment" in text
    assert "the Monte Carlo intervals above show how far" in text
    tariffs = flagship_dom.frame("tariffs_in_force").set_index("exporter")
    assert tariffs.loc["JPN", "2025 %"] == pytest.approx(34.7) and tariffs.loc["ROW", "2030 %"] == pytest.approx(49.1)


def _unescaped(text: str) -> str:
    import html

    return html.unescape(text)


HOSTILE_TITLE = "Steel <script>document.title='pwned'</script> & \"friends\""
HOSTILE_DESCRIPTION = "Tariffs & quotas </p><img src=x onerror=\"document.title='pwned'\"> <b>bold</b>\n\nSecond part"


def test_text_from_a_scenario_is_shown_as_text(browser, tmp_path):
    source = TARIFFS.read_text(encoding="utf-8")
    start = source.index("\ntitle")
    end = source.index("\ndataset")
    hostile = (source[:start] + f"\ntitle = {json.dumps(HOSTILE_TITLE)}\nlabel = \"<i>label</i>\"\n"
               + f"description = {json.dumps(HOSTILE_DESCRIPTION)}" + source[end:])
    scenario = tmp_path / "hostile.toml"
    scenario.write_text(hostile, encoding="utf-8")
    res = sim.run(scenario)
    page = Page(dump_dom(browser, res.report(tmp_path / "out" / "hostile.html")))
    assert page.title == HOSTILE_TITLE  # the page's <title>: no script ran to change it
    assert page.scripts == 1  # the report's own
    assert page.root.get("data-images-rendered") == f"{len(page.images)}/{len(page.images)}"
    assert all(img["src"].startswith("data:image/png") for img in page.images)  # no <img src=x> was made
    assert HOSTILE_TITLE in page.headings
    assert "Tariffs & quotas </p><img src=x onerror=\"document.title='pwned'\"> <b>bold</b>" in page.headings
    assert any("<i>label</i>" in h for h in page.headings)


def test_a_comparison_report_holds_the_comparison_csv_numbers(browser, tmp_path):
    out = tmp_path / "effect"
    result = invoke("compare", FLAGSHIP, TARIFFS, "--baseline", "steel_tariffs_2025_2030", "--out", out,
                    "--report", "--quiet", "--year", "2028")
    assert result.exit_code == 0, result.output
    page = Page(dump_dom(browser, out / REPORT_FILE))
    assert page.headings[0] == ("US steel tariffs of 2025 with Nippon Steel's new US mill, 2025-2030, relative to "
                                "steel_tariffs_2025_2030")
    drawn = len(list((out / "plots").glob("*.png")))
    assert page.root.get("data-images-rendered") == f"{drawn}/{drawn}"
    expected = _welfare_sums(pd.read_csv(out / "welfare.csv"), 2028)  # differences from the baseline
    shown = page.frame("welfare_by_region").set_index("region")
    np.testing.assert_allclose(shown.to_numpy(float), expected.to_numpy(), rtol=1e-9, atol=1e-9)
    assert "steel_tariffs_2025_2030" in (out / REPORT_FILE).read_text(encoding="utf-8")


def test_screenshot_of_the_flagship_report(browser, flagship_run, tmp_path):
    from matplotlib.image import imread

    png = screenshot(browser, flagship_run / REPORT_FILE, tmp_path / "report.png", 1280, 1600)
    pixels = imread(png)
    assert pixels.shape[:2] == (1600, 1280)
    assert pixels[..., :3].std() > 0.05  # text and tables drawn, not a blank page


# --------------------------------------------------------------------------- without a browser

@pytest.fixture(scope="module")
def small_run():
    return sim.run(TARIFFS)


def test_report_refuses_a_name_that_is_not_html_and_a_file_it_did_not_write(small_run, tmp_path):
    with pytest.raises(InputError, match=r"report.txt: path: the report is one HTML file"):
        small_run.report(tmp_path / "report.txt")
    mine = tmp_path / "notes.html"
    mine.write_text("<p>my notes</p>", encoding="utf-8")
    with pytest.raises(InputError, match="already exists and is not a report tradesim wrote: nothing was replaced"):
        small_run.report(mine)
    assert mine.read_text(encoding="utf-8") == "<p>my notes</p>"
    with pytest.raises(InputError, match="is a folder"):
        small_run.report(tmp_path)
    first = small_run.report(tmp_path / "sub" / "r.html")
    again = small_run.report(first)  # a report tradesim wrote is replaced whole
    assert again == first and GENERATOR in first.read_text(encoding="utf-8")
    assert sorted(p.name for p in first.parent.iterdir()) == ["r.html"]  # no temporary file left


def test_report_command_reads_results_back(small_run, tmp_path):
    folder = small_run.write(tmp_path / "steel", plots=False)
    out = tmp_path / "shared" / "steel.html"
    result = invoke("report", folder, "--out", out)
    assert result.exit_code == 0, result.output
    page = Page(out.read_text(encoding="utf-8"))
    expected = _welfare_sums(pd.read_csv(folder / "welfare.csv"), 2030)
    np.testing.assert_allclose(page.frame("welfare_by_region").set_index("region").to_numpy(float),
                               expected.to_numpy(), rtol=1e-9, atol=1e-9)
    assert len(page.images) >= 4 and page.root.get("lang") == "en"
    assert f"read back from</dt><dd>{folder}</dd>" in out.read_text(encoding="utf-8")


@pytest.mark.parametrize("args, message", [
    (["missing_folder", "--out", "r.html"], "missing_folder: no such folder"),
    (["steel", "--out", "r.csv"], "r.csv: --out: the report is one HTML file"),
    (["steel", "--out", "mine.html"], "mine.html: --out: already exists and is not a report tradesim wrote"),
    (["steel", "--out", "r.html", "--year", "2040"], "--year"),
    (["steel", "--out", "r.html", "--baseline", "x"], "--baseline: a baseline needs at least two RESULTS folders"),
])
def test_report_command_bad_input_is_one_message_and_exit_2(small_run, tmp_path, monkeypatch, args, message):
    small_run.write(tmp_path / "steel", plots=False)
    (tmp_path / "mine.html").write_text("mine", encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    result = invoke("report", *args)
    assert result.exit_code == 2, result.output
    assert message in result.output and "Traceback" not in result.output
    assert result.output.count("error:") == 1
    assert not (tmp_path / "r.html").exists() and (tmp_path / "mine.html").read_text(encoding="utf-8") == "mine"


def test_run_report_never_replaces_a_report_the_run_did_not_write(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / REPORT_FILE).write_text("a report of my own", encoding="utf-8")
    result = invoke("run", TARIFFS, "--out", out, "--report", "--no-plots", "--quiet")
    assert result.exit_code == 2
    assert "already holds report.html, not written by a tradesim run" in result.output
    assert sorted(p.name for p in out.iterdir()) == [REPORT_FILE]  # nothing half-written beside it
    assert (out / REPORT_FILE).read_text(encoding="utf-8") == "a report of my own"


def test_run_report_without_plots_says_so(tmp_path):
    result = invoke("run", TARIFFS, "--out", tmp_path / "o", "--report", "--no-plots", "--quiet")
    assert result.exit_code == 0, result.output
    text = (tmp_path / "o" / REPORT_FILE).read_text(encoding="utf-8")
    assert "The run drew no plots (--no-plots)." in text and "<img" not in text


def test_ci_installs_chromium_before_the_test_command_only_when_missing():
    script = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    check, install, test = (script.index(s) for s in ("if ! command -v chromium", "apt-get install -y -qq chromium",
                                                       'eval "$cmd"'))
    assert check < install < test


def test_a_comparison_reports_from_python_with_the_runs_it_compares(small_run, tmp_path):
    other = sim.run(SCENARIOS / "steel_50pct_2025.toml")
    both = sim.compare([sim.run(SCENARIOS / "steel_232_2025.toml"), other])
    path = both.report(tmp_path / "both.html", year="long run")
    page = Page(path.read_text(encoding="utf-8"))
    assert page.title == "Comparison of 2 scenarios" and len(page.images) >= 3
    headline = page.frame("net_welfare_by_scenario").set_index("scenario")
    expected = both.headline("long run")
    np.testing.assert_allclose(headline.to_numpy(float), expected.to_numpy(), rtol=1e-9)  # %.10g, as the CSVs
    record = json.loads(_unescaped(path.read_text(encoding="utf-8")).split("<pre>", 1)[1].split("</pre>", 1)[0])
    assert [s["name"] for s in record["scenarios"]] == ["steel_232_2025", "steel_50pct_2025"]
