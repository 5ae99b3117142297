"""Output safety: staged, atomic writes; a failure leaves the folder as it was; runs never mix."""

import errno
import shutil
from pathlib import Path

from click.testing import CliRunner

import sim.plots
from sim.cli import main

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "scenarios" / "example_steel_tariff.toml"


def invoke(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


def disk_full_after_first_plot(monkeypatch):
    real = sim.plots.write_plots

    def failing(results, folder, prefix="", **options):
        real(results, folder, prefix, **options)  # some files really get written ...
        raise OSError(errno.ENOSPC, "No space left on device")  # ... then the disk fills up

    monkeypatch.setattr(sim.plots, "write_plots", failing)


def snapshot(folder: Path):
    return {p.relative_to(folder): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_failure_mid_write_leaves_an_earlier_run_untouched(tmp_path, monkeypatch):
    out = tmp_path / "out"
    assert invoke("run", EXAMPLE, "--out", out, "--quiet").exit_code == 0
    before = snapshot(out)
    disk_full_after_first_plot(monkeypatch)
    result = invoke("run", EXAMPLE, "--out", out, "--quiet")
    assert result.exit_code == 2
    assert "cannot write results: No space left on device" in result.output
    assert snapshot(out) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]  # no staging folder left behind


def test_failure_on_a_first_run_creates_nothing(tmp_path, monkeypatch):
    disk_full_after_first_plot(monkeypatch)
    result = invoke("run", EXAMPLE, "--out", tmp_path / "out", "--quiet")
    assert result.exit_code == 2
    assert list(tmp_path.iterdir()) == []


def test_a_rerun_replaces_every_output_of_the_previous_run(tmp_path):
    out = tmp_path / "out"
    other = tmp_path / "other.toml"
    shutil.copy(EXAMPLE, other)
    other.write_text(other.read_text().replace('name = "example_steel_tariff"', 'name = "other"'))
    assert invoke("run", EXAMPLE, other, "--out", out, "--quiet", "--draws", 4, "--seed", 1).exit_code == 0
    assert (out / "plots" / "other_welfare.png").exists()
    assert (out / "uncertainty.csv").exists()  # the older run wrote it; the next run does not
    (out / "my_notes.txt").write_text("the analyst's own file\n")
    assert invoke("run", EXAMPLE, "--out", out, "--quiet").exit_code == 0
    plots = sorted(p.name for p in (out / "plots").iterdir())
    assert plots == ["imports_USA.png", "prices.png", "welfare.png", "welfare_by_owner.png", "welfare_path.png"]
    assert not (out / "uncertainty.csv").exists()
    assert (out / "my_notes.txt").read_text() == "the analyst's own file\n"
    assert set((out / "welfare.csv").read_text().splitlines()[1].split(",")[:1]) == {"example_steel_tariff"}
    assert "other" not in (out / "flows.csv").read_text()
