"""A user's files are sacred (issue 16, cases 1, 2, 4 and 7): folders written whole, under a lock.

The concurrency and SIGKILL cases run the CLI in subprocesses whose moves are slowed down
(``sim.folders._replace`` patched in the child), so the interleavings really happen.
"""

import errno
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import hypothesis.strategies as st
import pandas as pd
import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings

import sim
import sim.folders
from sim.cli import main
from sim.errors import InputError
from sim.folders import MANIFEST, STAGING_PREFIX, write_folder

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "scenarios" / "example_steel_tariff.toml"
BACI = ROOT / "tests" / "data" / "baci"

# A child process that runs the CLI with every move of the swap slowed down by DELAY seconds.
SLOW_CLI = """
import os, sys, time
import sim.folders
delay = float(sys.argv[1])
def slow(src, dst):
    time.sleep(delay)
    os.replace(src, dst)
sim.folders._replace = slow
from sim.cli import main
main(sys.argv[2:], prog_name="tradesim")
"""


def invoke(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


def snapshot(folder: Path) -> dict:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def renamed(tmp_path: Path, name: str) -> Path:
    """A copy of the example scenario under another name (so two runs' files can be told apart)."""
    path = tmp_path / f"{name}.toml"
    path.write_text(EXAMPLE.read_text().replace('name = "example_steel_tariff"', f'name = "{name}"'))
    return path


def scenario_names(out: Path) -> dict:
    """Which scenario each table of a results folder comes from; run.json's names too."""
    names = {table: set(pd.read_csv(out / f"{table}.csv")["scenario"]) for table in ("flows", "prices", "welfare")}
    names["run.json"] = {s["name"] for s in json.loads((out / "run.json").read_text())["scenarios"]}
    return names


def slow_cli(delay: float, *args) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", SLOW_CLI, str(delay), *map(str, args)], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


# --- case 1: user files are never deleted or overwritten ---------------------------------------------------------

def test_a_users_plots_folder_survives_runs_with_and_without_plots(tmp_path):
    proj = tmp_path / "proj"
    (proj / "plots").mkdir(parents=True)
    (proj / "plots" / "my_figure.png").write_bytes(b"mine")
    for extra in (["--no-plots"], [], ["--no-plots"]):
        result = invoke("run", EXAMPLE, "--out", proj, "--quiet", *extra)
        assert result.exit_code == 0, result.output
        assert (proj / "plots" / "my_figure.png").read_bytes() == b"mine"
    assert sorted(p.name for p in (proj / "plots").iterdir()) == ["my_figure.png"]


def test_a_file_named_like_an_output_is_never_overwritten(tmp_path):
    proj = tmp_path / "proj"
    proj.mkdir()
    (proj / "flows.csv").write_text("the analyst's own flows\n")
    result = invoke("run", EXAMPLE, "--out", proj, "--quiet")
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert "already holds flows.csv, not written by a tradesim run" in result.output
    assert snapshot(proj) == {"flows.csv": b"the analyst's own flows\n"}


def test_an_empty_out_is_refused():
    result = invoke("run", EXAMPLE, "--out", "")
    assert result.exit_code == 2 and "is empty" in result.output
    for args in (["compare", EXAMPLE, EXAMPLE], ["sweep", EXAMPLE, "--tariff-index", "1", "--rates", "0,0.1"]):
        result = invoke(*args, "--out", "")
        assert result.exit_code == 2 and "is empty" in result.output
    with pytest.raises(InputError, match="is empty"):
        write_folder("", lambda staging: None)


def test_a_dataset_folder_or_a_scenario_folder_is_refused_as_out(tmp_path):
    dataset = tmp_path / "illustrative"
    shutil.copytree(Path(sim.__file__).parent / "datasets" / "illustrative", dataset)
    before = snapshot(dataset)
    result = invoke("run", EXAMPLE, "--out", dataset, "--quiet")
    assert result.exit_code == 2 and "is a dataset folder" in result.output
    assert snapshot(dataset) == before
    scenarios = tmp_path / "scenarios"
    scenarios.mkdir()
    shutil.copy(EXAMPLE, scenarios)
    result = invoke("run", scenarios / EXAMPLE.name, "--out", scenarios, "--quiet")
    assert result.exit_code == 2 and "holds scenario files (example_steel_tariff.toml)" in result.output
    assert [p.name for p in scenarios.iterdir()] == [EXAMPLE.name]


def test_results_written_before_manifests_existed_are_replaced(tmp_path):
    out = tmp_path / "old"
    assert invoke("run", EXAMPLE, "--out", out, "--quiet", "--no-plots").exit_code == 0
    (out / MANIFEST).unlink()  # as an older tradesim left it: run.json from tradesim, no manifest
    (out / "flows.csv").write_text("older\n")
    assert invoke("run", EXAMPLE, "--out", out, "--quiet", "--no-plots").exit_code == 0
    assert (out / "flows.csv").read_text() != "older\n" and (out / MANIFEST).exists()


# --- case 2: dataset build never mixes an old dataset with a new one ----------------------------------------------

def build_args(out, *extra):
    return ["dataset", "build", "--trade", BACI / "baci_2022.csv",
            "--countries", BACI / "country_codes.csv", "--products", BACI / "products.csv",
            "--sectors", BACI / "sectors.csv", "--regions", BACI / "regions.csv",
            "--production", BACI / "production.csv", "--tariffs", BACI / "tariffs.csv",
            "--year", "2022", "--name", "baci_demo", "--out", out, *extra]


def test_dataset_build_refuses_an_existing_dataset_folder(tmp_path):
    target = tmp_path / "us_japan_copy"
    shutil.copytree(Path(sim.__file__).parent / "datasets" / "us_japan_2024", target)
    before = snapshot(target)
    for extra in ([], ["--force"]):
        result = invoke(*build_args(target, *extra))
        assert result.exit_code == 2 and "Traceback" not in result.output, result.output
        assert snapshot(target) == before
    assert "is not empty" in invoke(*build_args(target)).output
    assert "was not written by 'dataset build'" in invoke(*build_args(target, "--force")).output


def test_dataset_build_force_replaces_an_earlier_build_whole(tmp_path):
    target = tmp_path / "d"
    assert invoke(*build_args(target)).exit_code == 0
    first = snapshot(target)
    manifest = json.loads((target / MANIFEST).read_text())
    assert manifest["kind"] == "dataset" and "dataset.toml" in manifest["files"]
    # an earlier build that wrote one more file: the new build must not leave it behind
    (target / "supply_elasticities.csv").write_text("region,sector,eps\n")
    manifest["files"].append("supply_elasticities.csv")
    (target / MANIFEST).write_text(json.dumps(manifest))
    assert "is not empty" in invoke(*build_args(target)).output
    result = invoke(*build_args(target, "--force"))
    assert result.exit_code == 0, result.output
    assert not (target / "supply_elasticities.csv").exists()
    assert set(snapshot(target)) == set(first)  # the same files as a clean build, nothing left over
    sim.load_dataset(target)
    (target / "my_notes.txt").write_text("mine")
    result = invoke(*build_args(target, "--force"))
    assert result.exit_code == 2 and "holds files the earlier build did not write (my_notes.txt)" in result.output
    assert (target / "my_notes.txt").read_text() == "mine"


def test_results_and_datasets_do_not_overwrite_each_other(tmp_path):
    target = tmp_path / "d"
    assert invoke(*build_args(target)).exit_code == 0
    result = invoke("run", EXAMPLE, "--out", target, "--quiet")
    assert result.exit_code == 2 and "is a dataset folder" in result.output
    out = tmp_path / "results"
    assert invoke("run", EXAMPLE, "--out", out, "--quiet", "--no-plots").exit_code == 0
    result = invoke(*build_args(out, "--force"))
    assert result.exit_code == 2 and "holds results written by tradesim" in result.output


# --- case 4: concurrent and killed runs ---------------------------------------------------------------------------

def test_two_runs_into_one_folder_leave_one_whole_run(tmp_path):
    out = tmp_path / "out"
    first, second = renamed(tmp_path, "first"), renamed(tmp_path, "second")
    procs = [slow_cli(0.15, "run", path, "--out", out, "--no-plots", "--quiet") for path in (first, second)]
    for proc in procs:
        _, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
    names = scenario_names(out)
    assert len(set.union(*names.values())) == 1, names  # every table and run.json from the same run
    assert not list(out.glob(STAGING_PREFIX + "*"))


def test_a_run_killed_while_moving_never_leaves_a_mixed_folder(tmp_path):
    out = tmp_path / "out"
    assert invoke("run", renamed(tmp_path, "old"), "--out", out, "--quiet", "--no-plots").exit_code == 0
    proc = slow_cli(0.4, "run", renamed(tmp_path, "new"), "--out", out, "--no-plots", "--quiet")
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:  # wait until the swap has begun: the manifest says "writing"
        manifest = out / MANIFEST
        if manifest.exists() and json.loads(manifest.read_text() or "{}").get("state") == "writing":
            break
        time.sleep(0.02)
    time.sleep(0.5)  # a move or two later
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    assert list(out.glob(STAGING_PREFIX + "*"))  # the killed run's staging folder is still there
    if (out / "run.json").exists():  # a folder with its run.json is one whole run
        assert len(set.union(*scenario_names(out).values())) == 1
    result = invoke("run", renamed(tmp_path, "third"), "--out", out, "--quiet", "--no-plots")
    assert result.exit_code == 0, result.output
    assert set.union(*scenario_names(out).values()) == {"third"}
    assert not list(out.glob(STAGING_PREFIX + "*"))  # stale staging cleaned up
    assert json.loads((out / MANIFEST).read_text())["state"] == "complete"


def test_a_run_killed_while_staging_leaves_the_earlier_run_whole(tmp_path):
    out = tmp_path / "out"
    assert invoke("run", renamed(tmp_path, "old"), "--out", out, "--quiet").exit_code == 0
    before = snapshot(out)
    proc = subprocess.Popen([sys.executable, "-c", SLOW_CLI.replace("sim.folders._replace = slow", """
import sim.plots
real = sim.plots.write_plots
def stalled(*args, **kwargs):
    real(*args, **kwargs)
    time.sleep(60)
sim.plots.write_plots = stalled"""), "0", "run", renamed(tmp_path, "new"), "--out", out, "--quiet"], cwd=ROOT)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not list(out.glob(STAGING_PREFIX + "*/plots/*.png")):
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    assert {k: v for k, v in snapshot(out).items() if not k.startswith(STAGING_PREFIX)} == before


# --- case 7: a mount point or a symlink to another file system ----------------------------------------------------

def cross_device_replace(roots):
    """os.replace that fails with EXDEV (as across file systems) unless source and target share a root."""

    def replace(src, dst):
        src_root = next((r for r in roots if Path(src).resolve().is_relative_to(r)), None)
        dst_root = next((r for r in roots if Path(dst).resolve().is_relative_to(r)), None)
        if src_root != dst_root:
            raise OSError(errno.EXDEV, "Invalid cross-device link")
        os.replace(src, dst)

    return replace


def test_out_through_a_symlink_to_another_file_system(tmp_path, monkeypatch):
    disk, mount = tmp_path / "other_disk", tmp_path / "home"
    disk.mkdir()
    mount.mkdir()
    (mount / "out").symlink_to(disk, target_is_directory=True)
    monkeypatch.setattr(sim.folders, "_replace", cross_device_replace([disk.resolve(), mount.resolve()]))
    result = invoke("run", EXAMPLE, "--out", mount / "out", "--quiet", "--no-plots")
    assert result.exit_code == 0, result.output
    assert (disk / "run.json").exists() and (disk / "flows.csv").exists()
    (disk / "run.json").unlink()
    for p in disk.iterdir():
        p.unlink()
    result = invoke(*build_args(mount / "out"))
    assert result.exit_code == 0, result.output
    sim.load_dataset(disk)


# --- property: a run leaves every unrelated file byte-identical ----------------------------------------------------

NAME = st.text(alphabet="abcdefghijklmnopqrstuvwxyz_.0123456789-", min_size=1, max_size=12).filter(
    lambda n: n not in (".", "..") and not n.startswith(".tradesim") and not n.endswith(".toml"))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(user=st.dictionaries(st.lists(NAME, min_size=1, max_size=3).map("/".join), st.binary(max_size=64),
                            max_size=6),
       runs=st.lists(st.sets(st.sampled_from(["a.csv", "run.json", "plots/p.png", "plots/q.png", "x/y/z.txt"]),
                             min_size=1), min_size=1, max_size=3))
def test_unrelated_files_stay_byte_identical(tmp_path_factory, user, runs):
    out = tmp_path_factory.mktemp("prop") / "out"
    out.mkdir()
    for name, data in user.items():
        path = out / name
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
        except (FileExistsError, NotADirectoryError, IsADirectoryError):
            continue  # the generated names collide as file and folder: keep what was made
    mine = snapshot(out)
    written = set()
    for k, files in enumerate(runs):
        def write(staging, files=files, k=k):
            for name in files:
                (staging / name).parent.mkdir(parents=True, exist_ok=True)
                (staging / name).write_text(f"run {k}")

        try:
            write_folder(out, write)
            written = set(files)
        except InputError as exc:  # a name the user holds: refused whole
            assert any(why in str(exc) for why in ("not written by a tradesim run", "is a file",
                                                   "has a file where a folder is needed"))
    after = snapshot(out)
    assert {k: v for k, v in after.items() if k in mine} == mine
    assert set(after) - set(mine) - {MANIFEST} == written - set(mine)


def test_a_real_run_leaves_unrelated_files_byte_identical(tmp_path):
    out = tmp_path / "out"
    (out / "plots" / "deep").mkdir(parents=True)
    files = {"notes.md": b"# mine", "plots/deep/f.png": os.urandom(100), "plots/welfare.svg": b"<svg/>",
             "flows.csv.bak": b"backup", ".hidden": b"h"}
    for name, data in files.items():
        (out / name).write_bytes(data)
    for extra in ([], ["--no-plots"], ["--draws", "3", "--seed", "1"]):
        assert invoke("run", EXAMPLE, "--out", out, "--quiet", *extra).exit_code == 0
        assert {k: v for k, v in snapshot(out).items() if k in files} == files


# --- case 8 (output side): dataset build handles every output error -----------------------------------------------

def test_dataset_build_into_a_path_under_a_file(tmp_path):
    (tmp_path / "afile").write_text("x")
    result = invoke(*build_args(tmp_path / "afile" / "sub"))
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert "cannot write the dataset" in result.output and "is a file, not a folder" in result.output


@pytest.mark.parametrize("code", [errno.ENOSPC, errno.EROFS, errno.EFBIG])
def test_dataset_build_reports_a_failing_disk(tmp_path, monkeypatch, code):
    import builtins
    import io

    real = io.open

    def failing(file, mode="r", *args, **kwargs):  # the disk refuses every file written into the staging folder
        if STAGING_PREFIX in str(file) and "w" in mode:
            raise OSError(code, os.strerror(code))
        return real(file, mode, *args, **kwargs)

    monkeypatch.setattr(io, "open", failing)
    monkeypatch.setattr(builtins, "open", failing)
    result = invoke(*build_args(tmp_path / "d"))
    assert result.exit_code == 2 and "Traceback" not in result.output, result.output
    assert f"cannot write the dataset: {os.strerror(code)}" in result.output
    assert not (tmp_path / "d").exists()


@pytest.mark.parametrize("command", ["run", "dataset"])
def test_a_file_size_limit_is_one_message(tmp_path, command):
    import resource

    args = build_args(tmp_path / "d") if command == "dataset" else \
        ["run", EXAMPLE, "--out", tmp_path / "d", "--no-plots", "--quiet"]
    proc = subprocess.run([sys.executable, "run_sim.py", *map(str, args)], cwd=ROOT, capture_output=True, text=True,
                          timeout=120, preexec_fn=lambda: resource.setrlimit(resource.RLIMIT_FSIZE, (1000, 1000)))
    assert proc.returncode == 2 and "Traceback" not in proc.stderr, proc.stderr
    assert "File too large" in proc.stderr
    assert not (tmp_path / "d").exists()


def test_a_hand_edited_manifest_cannot_reach_outside_the_folder(tmp_path):
    victim, out = tmp_path / "victim.txt", tmp_path / "out"
    victim.write_text("precious")
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "elsewhere" / "run.json").write_text("precious too")
    write_folder(out, lambda staging: (staging / "run.json").write_text("{}"))
    manifest = json.loads((out / MANIFEST).read_text())
    manifest["files"] += ["../victim.txt", str(victim), "link/run.json"]
    (out / MANIFEST).write_text(json.dumps(manifest))
    (out / "link").symlink_to(tmp_path / "elsewhere", target_is_directory=True)
    write_folder(out, lambda staging: (staging / "other.csv").write_text("x"))
    assert victim.read_text() == "precious"
    assert (tmp_path / "elsewhere" / "run.json").read_text() == "precious too"
    assert sorted(p.name for p in out.iterdir()) == [MANIFEST, "link", "other.csv"]


# --- found by an adversarial pass after the first version --------------------------------------------------------

def test_a_linked_subfolder_never_takes_outputs_out_of_the_folder(tmp_path):
    out, elsewhere = tmp_path / "out", tmp_path / "elsewhere"
    out.mkdir()
    elsewhere.mkdir()
    (elsewhere / "keep.txt").write_text("mine")
    (out / "plots").symlink_to(elsewhere, target_is_directory=True)
    result = invoke("run", EXAMPLE, "--out", out, "--quiet")
    assert result.exit_code == 2 and "has a linked subfolder, so plots/" in result.output
    assert [p.name for p in elsewhere.iterdir()] == ["keep.txt"]
    assert sorted(p.name for p in out.iterdir()) == ["plots"]
    assert invoke("run", EXAMPLE, "--out", out, "--quiet", "--no-plots").exit_code == 0  # nothing goes through it


def test_dataset_build_force_counts_a_linked_subfolder_as_a_file_it_did_not_write(tmp_path):
    target, elsewhere = tmp_path / "d", tmp_path / "elsewhere"
    assert invoke(*build_args(target)).exit_code == 0
    elsewhere.mkdir()
    (target / "linked").symlink_to(elsewhere, target_is_directory=True)
    result = invoke(*build_args(target, "--force"))
    assert result.exit_code == 2 and "holds files the earlier build did not write (linked)" in result.output


def test_a_name_too_long_for_the_file_system_is_one_message(tmp_path):
    result = invoke("run", EXAMPLE, "--out", tmp_path / ("x" * 300), "--quiet")
    assert result.exit_code == 2 and "cannot be used as a folder: File name too long" in result.output
    assert "Traceback" not in result.output


@pytest.mark.parametrize("edit", [{"dirs": 5}, {"files": "flows.csv"}, {"files": ["a\u0000b"]}, {"files": [3]}])
def test_a_hand_edited_manifest_is_refused_with_one_message(tmp_path, edit):
    out = tmp_path / "out"
    assert invoke("run", EXAMPLE, "--out", out, "--quiet", "--no-plots").exit_code == 0
    manifest = json.loads((out / MANIFEST).read_text()) | edit
    (out / MANIFEST).write_text(json.dumps(manifest))
    before = snapshot(out)
    result = invoke("run", EXAMPLE, "--out", out, "--quiet", "--no-plots")
    assert result.exit_code == 2 and "is not a tradesim manifest that can be read" in result.output
    assert snapshot(out) == before
