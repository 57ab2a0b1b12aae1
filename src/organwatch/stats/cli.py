"""``organwatch stats``: the forensic battery on official count series."""

from __future__ import annotations

import sys
from collections import Counter
from pathlib import Path

import click
from rich.console import Console
from rich.table import Table

from organwatch.datasets.godt import MEASURES, VINTAGE_CHOICES
from organwatch.errors import UsageError
from organwatch.findings import Finding, dump_findings
from organwatch.output import TABLE_FORMATS, infer_format, write_records
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
@click.option("--json", "as_json", is_flag=True, help="All findings as JSON on stdout (or to --out).")
@click.option("--out", type=click.Path(path_type=Path), default=None, help="Write findings to this file.")
@click.option("--format", "fmt", type=click.Choice(TABLE_FORMATS), default=None,
              help="Table format for --out (one row per finding); default from the extension.")
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
    err = Console(stderr=True)
    if inputs:
        series = []
        for p in inputs:
            series.extend(read_series_file(p, encoding=encoding))
        err.print(f"organwatch stats: {len(inputs)} file(s), {len(series)} series read, 0 failed")
        findings = series_battery(series, opt, seed=seed, sims=simulations)
    else:
        err.print("organwatch stats: embedded Chinese series vs GODT reference")
        findings = embedded_battery(opt, include_low=include_low_reliability, seed=seed, sims=simulations)
    counts = Counter(_outcome(f) for f in findings)
    if out is not None and not as_json:
        f = infer_format(out, fmt, default="jsonl")
        write_records([x.to_dict() for x in findings], out, f,
                      columns=["check", "subject", "verdict", "title", "explanation", "statistics", "reference",
                               "evidence", "provenance", "sources", "not_tested", "engine"])
    elif as_json:
        text = dump_findings(findings)
        if out is not None:
            out.write_text(text, encoding="utf-8")
        else:
            sys.stdout.write(text)
    else:
        t = Table(title=f"{len(findings)} findings")
        t.add_column("check")
        t.add_column("subject", overflow="fold")
        t.add_column("verdict")
        for x in findings:
            t.add_row(x.check, x.subject, _outcome(x))
        Console().print(t)
    err.print("organwatch stats: " + ", ".join(f"{v} {k.replace('_', ' ')}" for k, v in sorted(counts.items())))


def _outcome(f: Finding) -> str:
    """A test's verdict, a reproduction's status, or "descriptive"."""
    if f.verdict is not None:
        return f.verdict.value
    if f.status is not None:
        return f.status.value
    return "descriptive"
