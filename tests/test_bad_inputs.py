"""The bad-input corpus: every malformed file gives its message, exit code 2, no traceback, no output."""

import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from sim.cli import main

ROOT = Path(__file__).resolve().parents[1]
CORPUS = Path(__file__).resolve().parent / "bad_inputs"
CASES = sorted(CORPUS.glob("scenarios/*.toml")) + sorted(CORPUS.glob("datasets/*/scenario.toml"))


def expected_fragment(path: Path) -> str:
    first = path.read_bytes().split(b"\n", 1)[0].decode("ascii")
    assert first.startswith("# expect: "), f"{path} does not state what it expects"
    return first.removeprefix("# expect: ")


def case_id(path: Path) -> str:
    return path.stem if path.parent.name == "scenarios" else f"dataset-{path.parent.name}"


def test_corpus_is_large_enough():
    assert len(CASES) >= 40


@pytest.mark.parametrize("path", CASES, ids=case_id)
def test_bad_input_is_reported_precisely(path, tmp_path):
    out = tmp_path / "out"
    result = CliRunner().invoke(main, ["run", str(path), "--out", str(out)])
    assert result.exit_code == 2, result.output
    assert expected_fragment(path) in result.output
    assert str(path) in result.output or str(path.parent) in result.output  # names the file
    assert "Traceback" not in result.output
    assert not out.exists()


@pytest.mark.parametrize("path", CASES, ids=case_id)
def test_validate_agrees(path):
    result = CliRunner().invoke(main, ["validate", str(path)])
    assert result.exit_code == 2 and expected_fragment(path) in result.output


def test_the_defect_free_control_runs(tmp_path):
    result = CliRunner().invoke(main, ["run", str(CORPUS / "valid_tiny" / "scenario.toml"), "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output


@pytest.mark.parametrize("name", ["encoding_latin1", "syntax_unclosed_table", "investment_supply_negative"])
def test_as_a_real_process(name, tmp_path):
    proc = subprocess.run([sys.executable, str(ROOT / "run_sim.py"), "run", str(CORPUS / "scenarios" / f"{name}.toml"),
                           "--out", str(tmp_path / "out")], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr and proc.stdout == ""
    assert proc.stderr.startswith("error: ") and not (tmp_path / "out").exists()
