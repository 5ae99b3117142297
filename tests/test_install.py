"""An install that works anywhere: the wheel ships every module, dataset and scenario, and a bare name runs a
shipped scenario from any folder (issue 21, item 5).

The wheel is built offline from a copy of the sources (no build isolation: the test extra brings setuptools)
and installed into a fresh venv whose only link to this environment is a ``.pth`` line for the dependencies,
so ``sim`` and the ``tradesim`` command come from the wheel alone.
"""

import json
import os
import shutil
import site
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest
from click.testing import CliRunner

import sim
from sim.cli import main
from sim.errors import InputError
from sim.scenario import SHIPPED_SCENARIOS, resolve_scenario, shipped_scenarios

ROOT = Path(__file__).resolve().parents[1]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
DISTRIBUTION = PYPROJECT["project"]["name"]
BUILD_INPUTS = ("pyproject.toml", "README.md", "sim", "scenarios")


def _quiet_run(args, **kwargs):
    proc = subprocess.run(args, capture_output=True, text=True, timeout=300, **kwargs)
    assert proc.returncode == 0, f"{args}\n{proc.stdout}\n{proc.stderr}"
    return proc


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    """The wheel ``pip install .`` would install, built from a clean copy (no stale build/ folder)."""
    source, wheels = tmp_path_factory.mktemp("source"), tmp_path_factory.mktemp("wheels")
    for name in BUILD_INPUTS:
        copy = shutil.copytree if (ROOT / name).is_dir() else shutil.copy2
        copy(ROOT / name, source / name, **({"ignore": shutil.ignore_patterns("__pycache__")}
                                             if (ROOT / name).is_dir() else {}))
    _quiet_run([sys.executable, "-m", "pip", "wheel", str(source), "--no-deps", "--no-build-isolation", "--no-index",
                "-q", "-w", str(wheels)])
    (built,) = wheels.glob("*.whl")
    return built


@pytest.fixture(scope="module")
def venv(wheel, tmp_path_factory) -> Path:
    """A fresh venv with the wheel installed; the dependencies come from this environment's site-packages."""
    target = tmp_path_factory.mktemp("venv")
    _quiet_run([sys.executable, "-m", "venv", "--without-pip", str(target)])
    python = target / "bin" / "python"
    _quiet_run([sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps", "--no-index", "-q",
                str(wheel)])
    purelib = _quiet_run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"]).stdout
    # after the install, so that pip saw no other copy; .pth files in these folders are not run (no editable hook)
    Path(purelib.strip(), "dependencies.pth").write_text("\n".join(site.getsitepackages()) + "\n", encoding="utf-8")
    return target


def test_the_wheel_holds_every_module_dataset_and_scenario(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    expected = {path.relative_to(ROOT).as_posix() for path in (ROOT / "sim").rglob("*.py")}
    expected |= {path.relative_to(ROOT).as_posix() for path in (ROOT / "sim" / "datasets").rglob("*")
                 if path.is_file() and "__pycache__" not in path.parts}
    expected |= {f"sim/scenarios/{path.name}" for path in (ROOT / "scenarios").glob("*.toml")}
    assert expected - names == set()
    assert wheel.name.startswith(DISTRIBUTION.replace("-", "_") + "-")


def test_installed_wheel_lists_and_runs_a_shipped_scenario_by_name_outside_the_repository(venv, tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
    command = venv / "bin" / "tradesim"
    where = _quiet_run([str(venv / "bin" / "python"), "-c", "import sim; print(sim.__file__)"], cwd=tmp_path, env=env)
    assert Path(where.stdout.strip()).is_relative_to(venv)
    listed = _quiet_run([str(command), "scenarios"], cwd=tmp_path, env=env).stdout
    assert [line.split()[0] for line in listed.splitlines()] == shipped_scenarios()
    _quiet_run([str(command), "run", "steel_232_2025", "--out", str(tmp_path / "out"), "--no-plots", "--quiet"],
               cwd=tmp_path, env=env)
    record = json.loads((tmp_path / "out" / "run.json").read_text(encoding="utf-8"))
    (scenario,) = record["scenarios"]
    assert scenario["scenario"]["name"] == "steel_232_2025"
    assert (tmp_path / scenario["file"]).resolve() == (Path(where.stdout.strip()).parent / "scenarios" /
                                                        "steel_232_2025.toml").resolve()
    assert (tmp_path / "out" / "welfare.csv").is_file()


def invoke(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


def test_a_bare_name_is_a_shipped_scenario_anywhere(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert resolve_scenario("steel_232_2025") == SHIPPED_SCENARIOS / "steel_232_2025.toml"
    assert sim.load_scenario("steel_232_2025").name == "steel_232_2025"
    result = invoke("compare", "steel_232_2025", "steel_50pct_2025", "--out", tmp_path / "o", "--no-plots", "--quiet")
    assert result.exit_code == 0, result.output
    listed = invoke("scenarios")
    assert listed.exit_code == 0 and listed.output.split()[0] == shipped_scenarios()[0]


def test_a_path_is_a_path(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "mine.toml").write_text((SHIPPED_SCENARIOS / "steel_232_2025.toml").read_text(encoding="utf-8"),
                                        encoding="utf-8")
    for text in ("mine.toml", "./mine.toml", str(tmp_path / "mine.toml")):
        assert resolve_scenario(text) == Path(text)
    result = invoke("validate", "mine.toml")
    assert result.exit_code == 0, result.output


@pytest.mark.parametrize("local", ["steel_232_2025.toml", "steel_232_2025"])
def test_a_bare_name_that_is_shipped_and_local_is_refused_naming_both(tmp_path, monkeypatch, local):
    monkeypatch.chdir(tmp_path)
    (tmp_path / local).mkdir() if "." not in local else (tmp_path / local).write_text("", encoding="utf-8")
    with pytest.raises(InputError) as caught:
        resolve_scenario("steel_232_2025")
    (problem,) = caught.value.problems
    assert str(SHIPPED_SCENARIOS / "steel_232_2025.toml") in problem.message
    assert str((tmp_path / local).resolve()) in problem.message and f'"./{local}"' in problem.message
    result = invoke("run", "steel_232_2025", "--out", tmp_path / "o")
    assert result.exit_code == 2 and "is both the shipped scenario" in result.output
    assert "Traceback" not in result.output and not (tmp_path / "o").exists()


def test_the_shipped_scenario_itself_is_not_ambiguous(monkeypatch):
    monkeypatch.chdir(SHIPPED_SCENARIOS)
    assert resolve_scenario("steel_232_2025").resolve() == (SHIPPED_SCENARIOS / "steel_232_2025.toml").resolve()


@pytest.mark.parametrize("text, words", [
    ("steel_232_2052", "no such file, nor a shipped scenario of that name (did you mean 'steel_232_2025'?)"),
    ("steel_232_2025.toml", "file not found (the shipped scenario 'steel_232_2025' is run by its name"),
])
def test_a_name_that_is_nowhere_says_what_was_looked_for(tmp_path, monkeypatch, text, words):
    monkeypatch.chdir(tmp_path)
    result = invoke("run", text)
    assert result.exit_code == 2 and f"error: {text}: {words}" in result.output
    assert "Traceback" not in result.output


def test_install_hints_name_the_distribution():
    texts = [p.read_text(encoding="utf-8") for p in [ROOT / "README.md", *(ROOT / "docs").glob("*.md"),
                                                     *(ROOT / "sim").rglob("*.py")]]
    extras = set(PYPROJECT["project"]["optional-dependencies"])
    for extra in extras:
        assert not any(f"tradesim[{extra}]" in text for text in texts), extra
    assert any(f"{DISTRIBUTION}[excel]" in text for text in texts)
