"""The shorter paths a run takes (issue 22, the flagship `run`): the same files and records as the longer ones.

Timings are printed by benchmarks/bench_run.py, never asserted here.
"""

import hashlib
import importlib.metadata
import json
import sys
from pathlib import Path

import pytest

import sim
from sim import output, plots

ROOT = Path(__file__).resolve().parents[1]
FLAGSHIP = ROOT / "scenarios" / "steel_tariff_with_investment.toml"


def test_package_versions_are_those_importlib_metadata_reads():
    versions = output._package_versions()
    for package in ("scipy", "matplotlib", "click"):
        assert versions[package] == importlib.metadata.version(package)


def dist_info(folder: Path, name: str, version: str, suffix: str = ".dist-info") -> None:
    meta = folder / f"{name}-{version}{suffix}"
    meta.mkdir(parents=True)
    (meta / ("METADATA" if suffix == ".dist-info" else "PKG-INFO")).write_text(
        f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n\nVersion: not a header\n")


def test_the_first_dist_info_on_the_path_is_read_as_importlib_metadata_reads_it(tmp_path, monkeypatch):
    dist_info(tmp_path / "first", "Click", "0.1.post1")
    dist_info(tmp_path / "second", "click", "9.9")
    monkeypatch.setattr(sys, "path", [str(tmp_path / "missing"), str(tmp_path / "first"), str(tmp_path / "second")])
    assert output._dist_info_versions(["click"]) == {"click": "0.1.post1"} == {"click": importlib.metadata.version(
        "click")}


def test_anything_but_one_plain_dist_info_is_left_to_importlib_metadata(tmp_path, monkeypatch):
    dist_info(tmp_path / "eggs", "scipy", "0.5", ".egg-info")
    dist_info(tmp_path / "two", "click", "1.0")
    dist_info(tmp_path / "two", "click", "2.0")
    (tmp_path / "packages.zip").write_bytes(b"")
    monkeypatch.setattr(sys, "path", [str(tmp_path / "eggs"), str(tmp_path / "two")])
    assert output._dist_info_versions(["scipy", "click"]) == {}
    monkeypatch.setattr(sys, "path", [str(tmp_path / "packages.zip"), str(tmp_path / "two")])
    assert output._dist_info_versions(["click"]) == {}


@pytest.fixture(scope="module")
def flagship():
    return sim.run(FLAGSHIP)


def test_pngs_encoded_in_the_background_are_the_bytes_encoded_alone(flagship, tmp_path):
    figures = []
    plots.write_plots(flagship, tmp_path, save=lambda fig, path: figures.append((fig, path.name)))
    (tmp_path / "alone").mkdir()
    for fig, name in figures:
        plots.save_png(fig, tmp_path / "alone" / name)
    (tmp_path / "background").mkdir()
    written = plots.write_plots(flagship, tmp_path / "background")
    assert [p.name for p in written] == [name for _, name in figures]
    for path in written:
        assert hashlib.sha256(path.read_bytes()).digest() == hashlib.sha256(
            (tmp_path / "alone" / path.name).read_bytes()).digest(), path.name


def test_an_error_encoding_in_the_background_is_raised_when_the_figures_are_done(flagship, tmp_path):
    with pytest.raises(FileNotFoundError, match="no_such_folder"):
        plots.write_plots(flagship, tmp_path / "no_such_folder")


def test_shocks_in_force_are_those_read_year_by_year():
    """run.json's shocks_in_force, read in one pass, against a cross-section per year (as it was read before)."""
    for name in ("japan_steel_trq_restored", "steel_tariff_with_investment", "japan_defense_3pct"):
        res = sim.run(ROOT / "scenarios" / f"{name}.toml")
        assert json.dumps(output._shocks_in_force(res)) == json.dumps(year_by_year(res)), name


def year_by_year(res) -> list[dict]:
    frames = res.frames
    out = []
    for year in res.info.years:
        entry = {"year": year if isinstance(year, str) else int(year), "tariffs": [], "supply_shifts": [],
                 "demand_shifts": []}
        if year in frames.tariffs.index.unique("year"):
            rows = frames.tariffs.xs(year, level="year")
            rows = rows[rows.rate != rows.base_rate]
            entry["tariffs"] = [{"sector": s, "exporter": e, "importer": i, "base_rate": float(r.base_rate),
                                 "rate": float(r.rate)} for (s, e, i), r in rows.iterrows()]
        if year in frames.quotas.index.unique("year"):
            entry["quotas"] = [{"sector": s, "exporter": e, "importer": i, "volume": float(q.volume),
                                "in_rate": float(q.in_rate), "out_rate": float(q.out_rate),
                                "rent_holder": q.rent_holder}
                               for (s, e, i), q in frames.quotas.xs(year, level="year").iterrows()]
        if year in frames.shifts.index.unique("year"):
            rows = frames.shifts.xs(year, level="year")
            for column, key in (("supply_shift", "supply_shifts"), ("demand_shift", "demand_shifts")):
                entry[key] = [{"sector": s, "region": r, "shift": float(v)} for (s, r), v in rows[column].items() if v]
        out.append(entry)
    return out
