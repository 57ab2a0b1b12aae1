"""``organwatch report``: the offline evidence report (HTML, or PDF through headless Chromium)."""

from __future__ import annotations

import tempfile
from pathlib import Path

import click
from rich.console import Console

from organwatch.clikit import json_option, quiet_option, say
from organwatch.errors import UsageError
from organwatch.findings import dump_findings
from organwatch.report.build import all_findings, build_sections, write_report
from organwatch.report.i18n import LANGUAGES
from organwatch.report.sections import ReportContext
from organwatch.seeds import DEFAULT_SEED

DEFAULT_OUT = {"html": Path("organwatch-report.html"), "pdf": Path("organwatch-report.pdf")}


@click.command()
@click.argument("inputs", nargs=-1, type=click.Path(path_type=Path))
@click.option("--out", type=click.Path(path_type=Path, dir_okay=False), default=None,
              help="Where to write the report (default: organwatch-report.html, or .pdf with --format pdf).")
@click.option("--format", "fmt", type=click.Choice(["html", "pdf"]), default=None,
              help="html (default; one self-contained offline file) or pdf (printed by headless Chromium; "
                   "needs chromium and playwright). Default: from the --out extension, else html.")
@click.option("--lang", type=click.Choice(sorted(LANGUAGES)), default="en", show_default=True,
              help="Language of the report's fixed text (zh = Simplified Chinese); figures are identical.")
@click.option("--findings", "findings_path", type=click.Path(path_type=Path, dir_okay=False), default=None,
              help="Also write every finding as one JSON document to this path.")
@click.option("--seed", type=int, default=DEFAULT_SEED, show_default=True, help="Seed for Monte Carlo parts.")
@click.option("--date", "generated", default=None, help="Date printed in the report (default: today); "
              "fix it for byte-identical reports.")
@json_option("document", "every finding (the findings document, as --findings writes it)")
@quiet_option
def report(inputs: tuple[Path, ...], out: Path | None, fmt: str | None, lang: str, findings_path: Path | None,
           seed: int, generated: str | None, as_json: bool) -> None:
    """Write one self-contained, offline evidence report: a briefing first, then every finding in detail.

    With no INPUTS it runs the forensic battery on the embedded Chinese datasets against the GODT reference
    (and every other engine's default section). INPUTS are result files of other engines (screen results,
    review projects, claim outcomes, volume results), each feeding its own section. The report is always
    written (to --out or the default); --json also prints the findings document on stdout.

    \b
    Example:
      organwatch report --out report.html --findings findings.json
      organwatch report --lang zh --format pdf --out report-zh.pdf
    """
    fmt = fmt or ("pdf" if out is not None and out.suffix.lower() == ".pdf" else "html")
    out = out or DEFAULT_OUT[fmt]
    if fmt == "html" and out.suffix.lower() == ".pdf":
        raise UsageError("--out ends in .pdf but --format is html: use --format pdf or another file name")
    ctx = ReportContext(seed=seed, lang=lang)
    with Console(stderr=True).status("organwatch report: running every section…"):
        sections = build_sections(list(inputs), ctx)
    if fmt == "pdf":
        from organwatch.report.pdf import html_to_pdf

        with tempfile.TemporaryDirectory() as tmp:
            html = Path(tmp) / "report.html"
            write_report(html, sections, generated=generated, lang=lang)
            size = html_to_pdf(html, out)
    else:
        size = write_report(out, sections, generated=generated, lang=lang)
    findings = all_findings(sections)
    if findings_path is not None:
        dump_findings(findings, findings_path)
    if as_json:
        click.echo(dump_findings(findings), nl=False)
    say(f"wrote {out} ({size:,} bytes; {len(sections)} sections, {len(findings)} findings)"
        + (f" and {findings_path}" if findings_path else ""))
