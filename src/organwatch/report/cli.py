"""``organwatch report``: the offline HTML evidence report."""

from __future__ import annotations

from pathlib import Path

import click
from rich.console import Console

from organwatch.findings import dump_findings
from organwatch.report.build import all_findings, build_sections, write_report
from organwatch.report.sections import ReportContext
from organwatch.seeds import DEFAULT_SEED


@click.command()
@click.argument("inputs", nargs=-1, type=click.Path(path_type=Path))
@click.option("--out", type=click.Path(path_type=Path), default=Path("organwatch-report.html"), show_default=True,
              help="Where to write the HTML report.")
@click.option("--findings", "findings_path", type=click.Path(path_type=Path), default=None,
              help="Also write every finding as JSON to this path.")
@click.option("--seed", type=int, default=DEFAULT_SEED, show_default=True, help="Seed for Monte Carlo parts.")
@click.option("--date", "generated", default=None, help="Date printed in the report (default: today); "
              "fix it for byte-identical reports.")
def report(inputs: tuple[Path, ...], out: Path, findings_path: Path | None, seed: int, generated: str | None) -> None:
    """Write one self-contained, offline HTML evidence report.

    With no INPUTS it runs the forensic battery on the embedded Chinese datasets against the GODT reference
    (and every other engine's default section). INPUTS are result files of other engines (screen results,
    review projects, claim outcomes), each feeding its own section.

    \b
    Example:
      organwatch report --out report.html --findings findings.json
    """
    ctx = ReportContext(seed=seed)
    with Console(stderr=True).status("organwatch report: running every section…"):
        sections = build_sections(list(inputs), ctx)
    size = write_report(out, sections, generated=generated)
    findings = all_findings(sections)
    if findings_path is not None:
        dump_findings(findings, findings_path)
    click.echo(f"organwatch: wrote {out} ({size:,} bytes; {len(sections)} sections, {len(findings)} findings)"
               + (f" and {findings_path}" if findings_path else ""), err=True)
