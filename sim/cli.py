"""Command line (docs/model.md, "Command line"): parse options, call the API, print, set exit codes.

Exit codes: 0 ok, 1 the solver did not converge, 2 bad input, 3 the Dask cluster (``--scheduler``,
``--workers``) could not be reached, is not a Dask scheduler, has no worker, or did not answer within
``--timeout``. Each ends with one message on standard error and nothing written.
"""

from __future__ import annotations

import contextlib
import secrets
import sys
import time
import warnings
from pathlib import Path

import click
import pandas as pd

from .cluster import DEFAULT_TIMEOUT, GATHER_FACTOR, ClusterError
from .dataset import BUILTIN_DIR, builtin_datasets, load_dataset
from .errors import ConvergenceError, InputError, PlausibilityWarning, Problem, ScenarioWarning
from .resources import NotEnoughMemory
from .scenario import SHIPPED_SCENARIOS, merged_lines
from .version import __version__

EXIT_OK, EXIT_NOT_CONVERGED, EXIT_BAD_INPUT, EXIT_CLUSTER = 0, 1, 2, 3


def _fail_input(problems, read_only: bool = False) -> None:
    """One ``error:`` line per problem, a count, exit code 2.

    A command that writes nothing in any case (``read_only``: ``validate``, ``dataset show``, ``show``)
    does not say that nothing was written, and one problem is its one line.
    """
    for p in problems:
        click.echo(f"error: {p}", err=True)
    n = len(problems)
    if not read_only:
        click.echo(f"{n} problem{'s' if n != 1 else ''} found; nothing was written.", err=True)
    elif n > 1:
        click.echo(f"{n} problems found.", err=True)
    sys.exit(EXIT_BAD_INPUT)


def _fail_cluster(exc: ClusterError) -> None:
    click.echo(f"error: {exc}", err=True)
    click.echo("Nothing was written.", err=True)
    sys.exit(EXIT_CLUSTER)


def _guarded(action, strict: bool = False, read_only: bool = False):
    """Run ``action``; turn input errors, non-convergence and an unreachable cluster into messages and exit codes.

    With ``strict``, implausible magnitudes (:class:`PlausibilityWarning`) are input errors; ``read_only``:
    see :func:`_fail_input`.
    """
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            outcome = action()
        except InputError as exc:
            _echo_warnings(caught, strict)
            _fail_input(_strict_problems(caught, strict) + _command_line_problems(exc), read_only)
        except ConvergenceError as exc:
            _echo_warnings(caught)
            click.echo(f"error: {exc}", err=True)
            click.echo("Nothing was written.", err=True)
            sys.exit(EXIT_NOT_CONVERGED)
        except ClusterError as exc:
            _echo_warnings(caught)
            _fail_cluster(exc)
    _echo_warnings(caught, strict)
    if _strict_problems(caught, strict):
        _fail_input(_strict_problems(caught, strict), read_only)
    return outcome


def _command_line_problems(exc: InputError) -> list:
    """The problems of ``exc`` as the command line words them (``--draws`` rather than ``draws=``)."""
    return list(exc.command_line().problems if isinstance(exc, NotEnoughMemory) else exc.problems)


def _show_progress(quiet: bool) -> bool:
    """Progress bars only on a terminal, and not with --quiet."""
    return not quiet and sys.stderr.isatty()


def _strict_problems(caught, strict) -> list:
    if not strict:
        return []
    return list(dict.fromkeys(w.message.problem for w in caught if issubclass(w.category, PlausibilityWarning)))


def _echo_warnings(caught, strict: bool = False):
    for w in caught:
        if issubclass(w.category, ScenarioWarning) and not (strict and issubclass(w.category, PlausibilityWarning)):
            click.echo(f"warning: {w.message}", err=True)


class _Commands(click.Group):
    """The command group: a scenario file given where the command goes gets a hint to add ``run``."""

    def resolve_command(self, ctx, args):
        first = args[0] if args else ""
        if first not in self.commands and (first.endswith(".toml") or Path(first).is_file()):
            ctx.fail(f"No such command '{first}': a scenario file comes after a command, as in "
                     f"'{ctx.command_path} run {first}' (commands: {', '.join(self.list_commands(ctx))})")
        return super().resolve_command(ctx, args)


@click.group(cls=_Commands, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="tradesim")
def main():
    """tradesim: trade-policy scenarios in a multi-region Armington partial-equilibrium model."""


def _solve_all(paths, client=None, draws=None, seed=None, allow_failed_draws=0.0, progress=False, timeout=None):
    """Validate every file (all problems at once), refuse duplicate names, solve each."""
    from . import runner
    from .case import validate as validate_files

    cases = validate_files(paths)
    names = [c.name for c in cases]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise InputError([Problem(str(c.scenario.path), "name", f"'{c.name}' is used by more than one scenario in "
                                  "this run") for c in cases if c.name in duplicates])
    return [runner.run(case, client=client, draws=draws, seed=seed, allow_failed_draws=allow_failed_draws,
                       progress=progress, timeout=timeout) for case in cases]


@contextlib.contextmanager
def _dask_client(workers, scheduler, timeout=DEFAULT_TIMEOUT):
    """A Dask client for ``--workers N`` (a local cluster of N processes) or ``--scheduler ADDRESS``; else None.

    Connecting and waiting for a worker each end within ``timeout`` seconds, or exit code 3 with one message.
    """
    if workers is None and scheduler is None:
        yield None
        return
    option = "--workers" if workers is not None else "--scheduler"
    if workers is not None and scheduler is not None:
        _fail_input([Problem("--workers", "", "give --workers (a local cluster) or --scheduler (an existing one), "
                             "not both")])
    try:
        import distributed  # noqa: F401
    except ImportError:
        _fail_input([Problem(option, "", "solving on a Dask cluster needs the optional extra: "
                             "pip install 'tradesim-armington[distributed]'")])
    from .cluster import connect, local_cluster, wait_for_workers

    if scheduler is not None:
        try:
            client = connect(scheduler, timeout)
        except ClusterError as exc:
            _fail_cluster(exc)
        with client:
            yield client
        return
    from distributed import Client

    with local_cluster(workers) as cluster, Client(cluster) as client:
        try:
            wait_for_workers(client, timeout, "the local Dask cluster")
        except ClusterError as exc:
            _fail_cluster(exc)
        yield client


def _command_line(ctx) -> list[str]:
    """The command as parsed (``tradesim run scenarios/x.toml --out o ...``), for run.json."""
    words = ctx.command_path.split()
    for param in ctx.command.params:
        value = ctx.params.get(param.name)
        if isinstance(param, click.Argument):
            words += [str(v) for v in value] if isinstance(value, list | tuple) else [str(value)]
        elif param.is_flag:
            words += [param.opts[0]] if value else []
        elif value is not None and value != param.default:  # options left at their default are not repeated
            words += [param.opts[0], str(value)]
    return words


def _check_year(outcome, year, read_only: bool = False):
    """An unknown ``--year`` is bad input, found before anything is written.

    Without ``--year`` only the default period can be missing (scenarios without a year in common): it is found
    without cutting the tables to it.
    """
    from .statistics import default_period, select_period

    try:
        if year is None:
            default_period(outcome.infos)
        else:
            select_period(outcome.by_scenario.welfare, outcome.infos, year)
    except ValueError as exc:
        _fail_input([Problem("--year", "", str(exc))], read_only)


def _write(write, target, what: str = "results"):
    """Run ``write``; an operating-system refusal (disk full, read-only, ...) is one message and exit 2."""
    try:
        return write()
    except OSError as exc:
        _fail_input([Problem(str(target), "--out", f"cannot write {what}: {exc.strerror or exc}")])
    except InputError as exc:  # an output option that cannot be met (a missing optional package, ...)
        _fail_input(exc.problems)


class OutFolder(click.Path):
    """A folder to write into: an empty value (an unset shell variable) is refused, not read as "here"."""

    def __init__(self):
        super().__init__(file_okay=False, path_type=Path)

    def convert(self, value, param, ctx):
        if isinstance(value, str) and not value.strip():
            self.fail("is empty: name the folder to write (an unset shell variable?)", param, ctx)
        return super().convert(value, param, ctx)


def _check_out(target, kind: str = "results") -> None:
    """Refuse a target folder before any work is done (see :func:`sim.folders.check_target`)."""
    from .folders import check_target

    if target is not None:
        _guarded(lambda: check_target(target, kind))


# Text as typed, so that "./x" stays a path and a bare name can be a shipped scenario (sim.scenario.resolve_scenario).
_SCENARIO_FILES = click.argument("scenarios", nargs=-1, required=True, type=click.Path())
_YEAR = click.option("--year", type=int, default=None,
                     help="Year to summarise (default: the last; a long-run scenario has no year).")
_NO_PLOTS = click.option("--no-plots", is_flag=True, help="Do not draw plots.")
_QUIET = click.option("--quiet", "-q", is_flag=True, help="Print no summary.")
_WELFARE_SCALE = click.option("--welfare-scale", type=click.Choice(["linear", "symlog"]), default="linear",
                              show_default=True, help="Y-scale of plots/welfare_path.png: symlog keeps small regions "
                              "readable beside a large one (the y-label says so).")
def _checked(check_name: str, keep_text: bool = False):
    """An option callback running the Python API's own check (:mod:`sim.arguments`) under the option's name.

    With ``keep_text`` the option keeps the text given (as run.json records it); the API parses it again.
    """
    def callback(ctx, param, value):
        from . import arguments

        try:
            checked = getattr(arguments, check_name)(value, param.opts[0])
        except InputError as exc:
            _fail_input(exc.problems)
        return value if keep_text else checked
    return callback


_DRAWS = click.option("--draws", type=int, callback=_checked("check_draws"), default=None,
                      help="Monte Carlo over elasticities with this many draws (overrides [uncertainty]'s; without "
                           "it, cv 0.3 for sigma and eta, 0.5 for eps): writes uncertainty.csv.")
_SEED = click.option("--seed", type=int, callback=_checked("check_seed"), default=None,
                     help="Seed of the draws (reproducible).")
_ALLOW_FAILED = click.option("--allow-failed-draws", type=float, callback=_checked("check_share"), default=0.0,
                             metavar="SHARE",
                             help="Share of draws allowed not to converge (left out of the statistics; default 0).")
_EXCEL = click.option("--excel", is_flag=True,
                      help="Also write results.xlsx: every table on its own sheet (needs tradesim-armington[excel]).")
_FORMAT = click.option("--format", "fmt", type=click.Choice(["csv", "parquet"]), default="csv", show_default=True,
                       help="File format of the tables; parquet for large runs (needs tradesim-armington[parquet]).")
_REPORT = click.option("--report", is_flag=True,
                       help="Also write report.html: one self-contained page to share (tables, plots, caveats, run "
                            "record), for --year.")
_STRICT = click.option("--strict", is_flag=True,
                       help="Refuse implausible magnitudes (a rate above 1, sigma above 20, ...) instead of warning.")
_WORKERS = click.option("--workers", type=click.IntRange(min=1), default=None,
                        help="Solve on a local Dask cluster of this many processes (tradesim-armington[distributed]).")
_SCHEDULER = click.option("--scheduler", default=None, metavar="ADDRESS",
                          help="Solve on the Dask cluster at this scheduler address (tradesim-armington[distributed]).")
_TIMEOUT = click.option("--timeout", type=click.FloatRange(min=0.1), default=DEFAULT_TIMEOUT, show_default=True,
                        metavar="SECONDS",
                        help=f"With --workers or --scheduler: seconds to connect and for a worker to join; each part "
                             f"of the batch is waited for {GATHER_FACTOR} times as long. Past it: exit code 3.")


@main.command()
@_SCENARIO_FILES
@click.option("--out", "out_dir", type=OutFolder(), default=None,
              help="Folder for flows.csv, prices.csv, welfare.csv, run.json and plots/ "
                   "(default: output/<scenario name>).")
@_NO_PLOTS
@_WELFARE_SCALE
@_YEAR
@click.option("--include-domestic", is_flag=True, help="List domestic shipments among the largest flow changes.")
@_QUIET
@_WORKERS
@_SCHEDULER
@_TIMEOUT
@_DRAWS
@_SEED
@_ALLOW_FAILED
@click.option("--sensitivity", is_flag=True,
              help="Move each sector's sigma, eta and eps by --cv one at a time (one batch): sensitivity.csv and a "
                   "tornado plot of the first importer whose tariffs change.")
@click.option("--cv", type=click.FloatRange(0.0, 1.0, max_open=True), default=0.3, show_default=True,
              help="How far --sensitivity moves each elasticity (0.3 = 30%).")
@_STRICT
@_EXCEL
@_FORMAT
@_REPORT
def run(scenarios, out_dir, no_plots, welfare_scale, year, include_domestic, quiet, workers, scheduler, timeout,
        draws, seed, allow_failed_draws, sensitivity, cv, strict, excel, fmt, report):
    """Solve SCENARIO files, print a summary and write tables and plots."""
    from . import output
    from .summary import run_summary

    started = time.perf_counter()
    _check_out(out_dir)
    with _dask_client(workers, scheduler, timeout) as client:
        results = _guarded(lambda: _solve_all(scenarios, client, draws, seed, allow_failed_draws,
                                              _show_progress(quiet), GATHER_FACTOR * timeout), strict)
    for res in results:
        _check_year(res, year)
    tornadoes = _guarded(lambda: [res.sensitivity(cv=cv, year=year) for res in results]) if sensitivity else []
    target = out_dir or Path("output") / (results[0].name if len(results) == 1 else "run")
    _write(lambda: output.write_outputs(results, target, plots=not no_plots, wall_time=time.perf_counter() - started,
                                       command_line=_command_line(click.get_current_context()),
                                       sensitivities=tornadoes, excel=excel, fmt=fmt, report=report, year=year,
                                       welfare_scale=welfare_scale),
           target)
    if not quiet:
        for res in results:
            click.echo(run_summary(res, year, include_domestic))
        for tornado in tornadoes:
            click.echo(_sensitivity_summary(tornado))
        click.echo(f"Results written to {target}/")


@main.command()
@_SCENARIO_FILES
@click.option("--out", "out_dir", type=OutFolder(), required=True,
              help="Folder for the tables, comparison.csv, run.json and plots/.")
@click.option("--baseline", default=None, metavar="NAME|FILE",
              help="Report every other scenario relative to the scenario with this name, or in this scenario file "
                   "(solved too if it is not among SCENARIO).")
@_YEAR
@_NO_PLOTS
@_WELFARE_SCALE
@_QUIET
@_DRAWS
@_SEED
@_ALLOW_FAILED
@_STRICT
@_EXCEL
@_FORMAT
@_REPORT
def compare(scenarios, out_dir, baseline, year, no_plots, welfare_scale, quiet, draws, seed, allow_failed_draws,
            strict, excel, fmt, report):
    """Solve several SCENARIO files and put them side by side: comparison.csv, tables and plots."""
    from . import output
    from .comparison import compare as compare_results
    from .summary import compare_summary

    started = time.perf_counter()
    _check_out(out_dir)
    if draws is not None and seed is None:  # one seed for all, so that draw d is paired across scenarios
        seed = secrets.randbelow(2**32)
    scenarios, base_index = _baseline_file(scenarios, baseline)
    results = _guarded(lambda: _solve_all(scenarios, None, draws, seed, allow_failed_draws, _show_progress(quiet)),
                       strict)
    baseline = baseline if base_index is None else results[base_index].name
    comparison = _guarded(lambda: compare_results(results, baseline=baseline))
    _check_year(comparison, year)
    _write(lambda: output.write_comparison(comparison, out_dir, plots=not no_plots,
                                           wall_time=time.perf_counter() - started,
                                           command_line=_command_line(click.get_current_context()),
                                           excel=excel, fmt=fmt, report=report, year=year,
                                           welfare_scale=welfare_scale), out_dir)
    if not quiet:
        click.echo(compare_summary(comparison, year))
        click.echo(f"Comparison written to {out_dir}/")


def _baseline_file(scenarios, baseline):
    """``--baseline`` as a scenario file (a ``.toml`` suffix or a path separator): the scenarios to solve, with it
    added unless it is one of them, and its index among them; a name: the scenarios as given and None."""
    if baseline is None or not (baseline.endswith(".toml") or "/" in baseline or "\\" in baseline):
        return scenarios, None
    path = Path(baseline)
    if not path.is_file():
        _fail_input([Problem(baseline, "--baseline", "no such scenario file (give a scenario file or the name of "
                             "one of the scenarios compared)")])
    same = [n for n, s in enumerate(scenarios) if Path(s).is_file() and Path(s).resolve() == path.resolve()]
    return (scenarios, same[0]) if same else ((*scenarios, baseline), len(scenarios))


@main.command()
@click.argument("scenario", type=click.Path())
@click.option("--tariff-index", "tariff_index", type=int, callback=_checked("check_tariff_index"), required=True,
              help="Which [[tariff]] block to vary (1 = the first in the file); it must name one importer.")
@click.option("--rates", required=True, callback=_checked("check_rates", keep_text=True),
              metavar="START:STOP:COUNT|R1,R2,...",
              help="The rates to solve, e.g. 0:0.6:13 (ends included) or 0,0.1,0.25 (0.25 = 25%).")
@_YEAR
@click.option("--out", "out_dir", type=OutFolder(), required=True,
              help="Folder for sweep.csv, run.json and plots/sweep.png.")
@_NO_PLOTS
@_QUIET
@_STRICT
def sweep(scenario, tariff_index, rates, year, out_dir, no_plots, quiet, strict):
    """Vary one [[tariff]]'s rate over a grid (one batch): imports, revenue and welfare, with the optimum."""
    from . import output
    from .sweeps import sweep as run_sweep

    started = time.perf_counter()
    _check_out(out_dir)
    result = _guarded(lambda: run_sweep(scenario, tariff_index, rates, year, progress=_show_progress(quiet),
                                        option_names=True), strict)
    _write(lambda: output.write_sweep(result, out_dir, plots=not no_plots, wall_time=time.perf_counter() - started,
                                      command_line=_command_line(click.get_current_context())), out_dir)
    if not quiet:
        click.echo(_sweep_summary(result))
        click.echo(f"Sweep written to {out_dir}/")


@main.command()
@click.argument("folders", nargs=-1, required=True, type=click.Path(path_type=Path), metavar="RESULTS...")
@click.option("--out", "out_file", type=click.Path(path_type=Path), required=True, metavar="FILE.html",
              help="The report file to write (a report written earlier is replaced; any other file is not).")
@click.option("--baseline", default=None, metavar="NAME",
              help="With several RESULTS: report every other scenario relative to the one with this name.")
@_YEAR
def report(folders, out_file, baseline, year):
    """Write one self-contained HTML page from RESULTS folders (or results.xlsx) of run; several are compared."""
    from .comparison import compare as compare_results
    from .readback import read_results
    from .report import check_path

    _guarded(lambda: check_path(out_file, "--out"))
    results = _guarded(lambda: [read_results(f) for f in folders])
    if baseline is not None and len(results) < 2:
        _fail_input([Problem("--baseline", "", "a baseline needs at least two RESULTS folders to compare")])
    outcome = results[0] if len(results) == 1 else _guarded(lambda: compare_results(results, baseline=baseline))
    _check_year(outcome, year)
    _write(lambda: outcome.report(out_file, year=year, option="--out"), out_file, "the report")
    click.echo(f"Report written to {out_file}")


def _sensitivity_summary(result) -> str:
    from .summary import number_format

    shown = result.shown[["sector", "parameter", "central", "low", "high", "net_welfare_low", "net_welfare_high",
                          "swing"]]
    head = (f"\nSensitivity of {result.region}'s net welfare, all sectors, {result.year} ({result.unit}; central "
            f"{result.table['net_welfare_central'].iloc[0]:,.0f}): each elasticity x (1 -/+ {result.cv:g}), "
            "largest swing first:")
    still = (f"\nNo effect (left out here and on the plot; sensitivity.csv has them): "
             f"{', '.join(result.without_effect)}" if result.without_effect else "")
    with pd.option_context("display.width", 160, "display.max_columns", 20):
        return head + "\n" + shown.to_string(index=False, float_format=number_format(",.0f")) + still


def _sweep_summary(result) -> str:
    t = result.table
    exporters = ", ".join(result.exporters)
    lines = [f"\n== {result.scenario}: {result.importer}'s tariff on {result.sector} from {exporters},"
             f" {result.year} ({result.unit}; rates in %, as on the plot; sweep.csv holds shares) =="]
    with pd.option_context("display.width", 160, "display.max_columns", 20):
        shown = t.drop(columns=["revenue_maximum", "optimal"]).rename(columns={"rate": "rate_%"})
        formats = {c: (lambda v: f"{100 * v:.4g}") if c == "rate_%" else (lambda v: f"{v:,.1f}")
                   for c in shown.columns}
        lines.append(shown.to_string(index=False, formatters=formats))
    last = float(t["rate"].iloc[-1])
    for name, rate in (("Revenue-maximising rate", result.revenue_maximising_rate),
                       ("Optimal (welfare-maximising) rate", result.optimal_rate)):
        edge = " (the end of the grid: widen it)" if rate in (float(t["rate"].iloc[0]), last) and rate != 0 else ""
        lines.append(f"{name} for {result.importer} on this grid: {100 * rate:.4g}% ({rate:.4g}){edge}")
    return "\n".join(lines)


@main.group()
def dataset():
    """Build datasets from your own data; show one."""


@dataset.command("build")
@click.option("--trade", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="BACI file as CEPII publishes it (t,i,j,k,v,q).")
@click.option("--countries", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="BACI's country file (country_code,country_name,country_iso2,country_iso3).")
@click.option("--products", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="hs,sector: HS6 codes or 2-/4-digit prefixes (longest wins).")
@click.option("--sectors", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="sector,name,sigma,eta,eps,source.")
@click.option("--regions", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="iso3,region[,region_name]; countries not listed go to ROW.")
@click.option("--production", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="region,sector,value[,unit,source]: gross output, USD million.")
@click.option("--tariffs", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="importer,exporter,hs,rate (ISO3; exporter * = MFN).")
@click.option("--year", type=int, default=None, help="The year to take from the trade file.")
@click.option("--domestic-share", default=None, metavar="S | SECTOR=S,...",
              help="Where --production has no value: assumed domestic share of absorption for the diagonal, one for "
                   "every sector (0.7 = 70%) or per sector (steel=0.6,autos=0.8,*=0.7).")
@click.option("--remainder", default=None, metavar="SECTOR",
              help="Put HS6 products in no sector into this sector (else they are dropped and counted).")
@click.option("--name", required=True, help="The dataset's name.")
@click.option("--out", "out_dir", required=True, type=OutFolder(),
              help="Folder to write the dataset into: new or empty (see --force).")
@click.option("--force", is_flag=True,
              help="Replace the dataset that an earlier 'dataset build' wrote into --out (only such a folder).")
def dataset_build(trade, countries, products, sectors, regions, production, tariffs, year, domestic_share,
                  remainder, name, out_dir, force):
    """Build a dataset folder from BACI trade data and your concordances (docs/model.md, "Your own data")."""
    from .baci import build_dataset
    from .folders import write_folder

    command = ["python", "run_sim.py", *sys.argv[1:]] if sys.argv and sys.argv[0].endswith("run_sim.py") \
        else _command_line(click.get_current_context())

    def write(staging):
        return build_dataset(trade, countries, products, sectors, regions, name, staging, production=production,
                             tariffs=tariffs, year=year, domestic_share=domestic_share, remainder=remainder,
                             command=command)

    report = _write(lambda: _guarded(lambda: write_folder(out_dir, write, kind="dataset", force=force)), out_dir,
                    "the dataset")
    click.echo(f"Dataset '{name}' ({report.year}) written to {out_dir}/: {report.rows_used:,} BACI rows used; "
               f"{len(report.unmapped_products)} HS6 products in no sector, {len(report.unmapped_countries)} "
               "countries sent to ROW (README.md lists them).")


@dataset.command("show")
@click.argument("reference", metavar="NAME|FOLDER")
def dataset_show(reference):
    """Print a dataset's regions, sectors with elasticities, totals, optional files and sources."""
    from .dataset_view import describe

    click.echo(describe(_guarded(lambda: load_dataset(reference), read_only=True)))


@main.command()
@click.argument("results", metavar="FOLDER|XLSX", type=click.Path(path_type=Path))
@_YEAR
@click.option("--include-domestic", is_flag=True, help="List domestic shipments among the largest flow changes.")
def show(results, year, include_domestic):
    """Print the summary that 'run' printed, read back from its results folder (or results.xlsx)."""
    from .readback import read_results
    from .summary import run_summary

    res = _guarded(lambda: read_results(results), read_only=True)
    _check_year(res, year, read_only=True)
    click.echo(run_summary(res, year, include_domestic))


@main.command()
@_SCENARIO_FILES
@_STRICT
def validate(scenarios, strict):
    """Check SCENARIO files and their datasets; report every problem at once."""
    from .case import validate as validate_files

    for case in _guarded(lambda: validate_files(scenarios), strict, read_only=True):
        click.echo(f"ok: {case.scenario.path} ({case.name})")
        if case.scenario.extends:
            for line in merged_lines(case.scenario):
                click.echo(f"  {line}")


@main.command()
def datasets():
    """List the built-in datasets."""
    for name in builtin_datasets():
        ds = _guarded(lambda name=name: load_dataset(BUILTIN_DIR / name), read_only=True)  # a path, never ./name
        click.echo(f"{name:<20} {ds.base_year}  {len(ds.regions)} regions x {len(ds.sectors)} sectors  {ds.title}")


@main.command()
@click.option("--dir", "folder", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Folder to list (default: ./scenarios, else the shipped scenarios, listed by name).")
def scenarios(folder):
    """List scenario files and their titles (the shipped ones by the name that runs them)."""
    import tomllib

    shipped = folder is None and not Path("scenarios").is_dir()
    folder = SHIPPED_SCENARIOS if shipped else folder or Path("scenarios")
    if not folder.is_dir():
        _fail_input([Problem(str(folder), "--dir", "no such folder")], read_only=True)
    for path in sorted(folder.glob("*.toml")):
        try:
            title = tomllib.loads(path.read_text(encoding="utf-8")).get("title", "")
        except (tomllib.TOMLDecodeError, UnicodeDecodeError):
            title = "(not valid TOML: run 'validate')"
        click.echo(f"{path.stem if shipped else str(path):<50} {title}")


if __name__ == "__main__":  # pragma: no cover
    main()
