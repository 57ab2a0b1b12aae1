"""``organwatch stats``: the forensic battery on official count series."""

from __future__ import annotations

import sys
from collections import Counter
from pathlib import Path

import click

from organwatch.clikit import format_option, json_option, out_option, print_table, quiet_option, say
from organwatch.datasets.godt import MEASURES, VINTAGE_CHOICES
from organwatch.errors import UsageError
from organwatch.findings import Finding, dump_findings
from organwatch.output import infer_format, write_records
from organwatch.seeds import DEFAULT_SEED
from organwatch.stats.battery import embedded_battery, series_battery
from organwatch.stats.formula import FormulaOptions
from organwatch.stats.grading import Thresholds
from organwatch.stats.reference import parse_window
from organwatch.stats.series import read_series_file


@click.command()
@click.argument("inputs", nargs=-1, type=click.Path(path_type=Path))
@click.option("--window", default="same-pattern", show_default=True,
              help="GODT reference windows: same-pattern (every window with the tested series' year offsets), "
                   "same-years, YYYY-YYYY, or a comma list of years.")
@click.option("--vintage", type=click.Choice(VINTAGE_CHOICES), default="combined", show_default=True,
              help="GODT vintage for the reference (combined = 2018 download for 2000–2017 + 2025 for 2020–2024).")
@click.option("--countries", default=None, help="Comma list of ISO3 codes for the reference (default: all).")
@click.option("--min-length", type=int, default=5, show_default=True, help="Minimum points for a formula fit.")
@click.option("--leave-out", "k_out", type=int, default=1, show_default=True,
              help="Leave the last K points out and predict them.")
@click.option("--origin", type=float, default=None,
              help="Origin t0 of the one-parameter quadratic y = k·(t − t0)² (default: first period − 1).")
@click.option("--reference-measure", type=click.Choice(MEASURES), default="total_actual_dd", show_default=True)
@click.option("--exclude-entity", default="CHN", show_default=True,
              help="ISO3 left out of the reference (the tested entity); '' for none.")
@click.option("--min-reference", type=int, default=20, show_default=True,
              help="Fewer reference countries than this → not testable.")
@click.option("--include-low-reliability", is_flag=True, help="Also run variants with low-reliability rows.")
@click.option("--encoding", default="utf-8", show_default=True, help="Text encoding of CSV inputs.")
@click.option("--seed", type=int, default=DEFAULT_SEED, show_default=True, help="Seed of the Monte Carlo p-values.")
@click.option("--simulations", type=int, default=100_000, show_default=True, help="Monte Carlo simulations.")
@json_option("document", "every finding ({organwatch_version, findings: [...]})")
@out_option(help="Also write the findings as a table (one row per finding) to this file.")
@format_option("jsonl")
@quiet_option
def stats(inputs, window, vintage, countries, min_length, k_out, origin, reference_measure, exclude_entity,
          min_reference, include_low_reliability, encoding, seed, simulations, as_json, out, fmt) -> None:
    """Forensic tests on official count series, against the GODT reference.

    INPUTS are CSV or Parquet files with columns entity, period, measure, value[, source]; with none, the
    embedded Chinese series are tested (headline rows, every source variant).

    \b
    Example:
      organwatch stats --json > findings.json
      organwatch stats my_series.csv --window 2010-2017 --vintage 2018 --out findings.jsonl
    """
    mode, years = parse_window(window)
    if mode == "years":
        check_window_years(window, years or [], vintage, reference_measure)
    if min_length < 4:
        raise UsageError("--min-length must be at least 4 (a quadratic has 3 parameters)")
    if k_out < 0:
        raise UsageError("--leave-out must be ≥ 0")
    if simulations < 100:
        raise UsageError("--simulations must be at least 100")
    opt = FormulaOptions(window=mode, years=years, vintage=vintage,
                         countries=[c.strip().upper() for c in countries.split(",")] if countries else None,
                         min_length=min_length, k_out=k_out, t0=origin, measure=reference_measure,
                         exclude=exclude_entity or None, thresholds=Thresholds(min_reference=min_reference))
    if inputs:
        series = []
        for p in inputs:
            series.extend(read_series_file(p, encoding=encoding))
        say(f"stats: {len(inputs)} file(s), {len(series)} series read, 0 failed")
        findings = series_battery(series, opt, seed=seed, sims=simulations)
    else:
        say("stats: embedded Chinese series vs GODT reference")
        findings = embedded_battery(opt, include_low=include_low_reliability, seed=seed, sims=simulations)
    counts = Counter(_outcome(f) for f in findings)
    if out is not None:
        write_records([x.to_dict() for x in findings], out, infer_format(out, fmt, default="jsonl"),
                      columns=FINDING_COLUMNS)
    if as_json:
        sys.stdout.write(dump_findings(findings))
    else:
        print_table(["check", "subject", "result"], [(x.check, x.subject, _outcome(x)) for x in findings],
                    title=f"{len(findings)} findings", ids=("check",))
    say("stats: " + ", ".join(f"{v} {k.replace('_', ' ')}" for k, v in sorted(counts.items()))
        + (f" -> {out}" if out else ""))


FINDING_COLUMNS = ["check", "subject", "kind", "verdict", "status", "title", "explanation", "statistics",
                   "reference", "evidence", "provenance", "sources", "not_tested", "engine"]


def check_window_years(spec: str, years: list[int], vintage: str, measure: str) -> None:
    """An explicit ``--window`` must select data: every year in it must be in the GODT vintage."""
    from organwatch.datasets.godt import godt_wide
    from organwatch.stats.series import years_text

    available = sorted(int(c) for c in godt_wide(vintage, measure).columns)
    missing = [y for y in years if y not in set(available)]
    if not years or missing:
        raise UsageError(f"--window {spec} selects no GODT data in vintage {vintage} ({measure}): "
                         f"{years_text(missing) if missing else 'no years'} not in the data; years available: "
                         f"{years_text(available)}")


def _outcome(f: Finding) -> str:
    """A test's verdict, a reproduction's status, or "descriptive"."""
    if f.verdict is not None:
        return f.verdict.value
    if f.status is not None:
        return f.status.value
    return "descriptive"
