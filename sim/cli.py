"""Command line (DESIGN.md §5): parse options, call the API, print, set exit codes.

Exit codes: 0 ok, 1 the solver did not converge, 2 bad input.
"""

from __future__ import annotations

import sys
import time
import warnings
from pathlib import Path

import click

from . import __version__
from .dataset import builtin_datasets, load_dataset
from .errors import ConvergenceError, InputError, Problem, ScenarioWarning

EXIT_OK, EXIT_NOT_CONVERGED, EXIT_BAD_INPUT = 0, 1, 2
SHIPPED_SCENARIOS = Path(__file__).resolve().parent.parent / "scenarios"


def _fail_input(problems) -> None:
    for p in problems:
        click.echo(f"error: {p}", err=True)
    n = len(problems)
    click.echo(f"{n} problem{'s' if n != 1 else ''} found; nothing was written.", err=True)
    sys.exit(EXIT_BAD_INPUT)


def _guarded(action):
    """Run ``action``; turn input errors and non-convergence into messages and exit codes."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            outcome = action()
        except InputError as exc:
            _echo_warnings(caught)
            _fail_input(exc.problems)
        except ConvergenceError as exc:
            _echo_warnings(caught)
            click.echo(f"error: {exc}", err=True)
            click.echo("Nothing was written.", err=True)
            sys.exit(EXIT_NOT_CONVERGED)
    _echo_warnings(caught)
    return outcome


def _echo_warnings(caught):
    for w in caught:
        if issubclass(w.category, ScenarioWarning):
            click.echo(f"warning: {w.message}", err=True)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="tradesim")
def main():
    """tradesim: trade-policy scenarios in a multi-region Armington partial-equilibrium model."""


@main.command()
@click.argument("scenarios", nargs=-1, required=True, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Folder for flows.csv, prices.csv, welfare.csv, run.json and plots/ "
                   "(default: output/<scenario name>).")
@click.option("--no-plots", is_flag=True, help="Do not draw plots.")
@click.option("--quiet", "-q", is_flag=True, help="Print no summary.")
def run(scenarios, out_dir, no_plots, quiet):
    """Solve SCENARIO files, print a summary and write tables and plots."""
    from . import runner
    from .results import write_outputs

    started = time.perf_counter()

    def solve_all():
        loaded = runner.validate(scenarios)
        names = [c.scenario.name for c in loaded]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise InputError([Problem(str(s.path), "name", f"'{s.name}' is used by more than one scenario in this run")
                              for s in (c.scenario for c in loaded) if s.name in duplicates])
        return [runner.run(*checked) for checked in loaded]

    results = _guarded(solve_all)
    target = out_dir or Path("output") / (results[0].name if len(results) == 1 else "run")
    try:
        write_outputs(results, target, plots=not no_plots, wall_time=time.perf_counter() - started)
    except OSError as exc:
        _fail_input([Problem(str(target), "--out", f"cannot write results: {exc.strerror or exc}")])
    if not quiet:
        for res in results:
            click.echo(_summary(res))
        click.echo(f"Results written to {target}/")


def _summary(res) -> str:
    import pandas as pd

    year = res.years[-1]
    when = "long run" if res.shocks.static else str(year)
    table = res.welfare_by_region(year)
    table.loc["World"] = table.sum()
    table.columns = ["Consumer surplus", "Producer surplus", "Tariff revenue", "Quota rent", "Net welfare"]
    flows = res.flows[res.flows["year"] == year]
    largest = flows.reindex(flows["value_change"].abs().sort_values(ascending=False).index).head(10)
    largest = largest[["sector", "exporter", "importer", "base_value", "value", "value_change", "value_pct"]]
    with pd.option_context("display.float_format", "{:,.1f}".format, "display.width", 120):
        return "\n".join([
            f"\n== {res.scenario.title} [{res.name}] ({when}) ==",
            f"Welfare change by region, all sectors ({res.unit}):",
            table.to_string(),
            f"\nLargest flow changes ({res.unit}, value at world prices; value_pct in %):",
            largest.to_string(index=False),
        ])


@main.command()
@click.argument("scenarios", nargs=-1, required=True, type=click.Path(dir_okay=False, path_type=Path))
def validate(scenarios):
    """Check SCENARIO files and their datasets; report every problem at once."""
    from . import runner

    loaded = _guarded(lambda: runner.validate(scenarios))
    for checked in loaded:
        click.echo(f"ok: {checked.scenario.path} ({checked.scenario.name})")


@main.command()
def datasets():
    """List the built-in datasets."""
    for name in builtin_datasets():
        ds = _guarded(lambda name=name: load_dataset(name))
        click.echo(f"{name:<20} {ds.base_year}  {len(ds.regions)} regions x {len(ds.sectors)} sectors  {ds.title}")


@main.command()
@click.option("--dir", "folder", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Folder to list (default: ./scenarios, else the scenarios shipped beside the package).")
def scenarios(folder):
    """List scenario files and their titles."""
    import tomllib

    if folder is None:
        folder = Path("scenarios") if Path("scenarios").is_dir() else SHIPPED_SCENARIOS
    if not folder.is_dir():
        _fail_input([Problem(str(folder), "--dir", "no such folder")])
    for path in sorted(folder.glob("*.toml")):
        try:
            title = tomllib.loads(path.read_text(encoding="utf-8")).get("title", "")
        except (tomllib.TOMLDecodeError, UnicodeDecodeError):
            title = "(not valid TOML: run 'validate')"
        click.echo(f"{str(path):<50} {title}")


if __name__ == "__main__":  # pragma: no cover
    main()
