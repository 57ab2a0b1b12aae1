"""Build the report: run every section provider, render one self-contained HTML file."""

from __future__ import annotations

import datetime as _dt
from collections import Counter
from pathlib import Path

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from organwatch import __version__
from organwatch.errors import InputError
from organwatch.findings import Finding, Status, Verdict
from organwatch.report.sections import ReportContext, Section, providers
from organwatch.report.svg import fmt_num

MAX_REPORT_BYTES = 10 * 1024 * 1024

VERDICT_LABELS = {
    Verdict.CONSISTENT: "consistent",
    Verdict.UNUSUAL: "unusual",
    Verdict.HIGHLY_UNUSUAL: "highly unusual",
    Verdict.NOT_TESTABLE: "not testable",
}
STATUS_LABELS = {
    Status.REPRODUCED: "reproduced",
    Status.DIFFERS: "differs from the publication",
    Status.NOT_REPRODUCIBLE: "not reproducible",
}


def assign_inputs(inputs: list[Path], mods: list) -> dict[str, list[Path]]:
    """Each input goes to the first provider that accepts it; an input nobody accepts is an error."""
    out: dict[str, list[Path]] = {m.__name__: [] for m in mods}
    for p in inputs:
        if not p.exists():
            raise InputError("no such file or directory", file=p)
        for m in mods:
            if m.accepts(p):
                out[m.__name__].append(p)
                break
        else:
            raise InputError("no report section accepts this file (expected results of organwatch screen, "
                             "review, volume or claims)", file=p)
    return out


def build_sections(inputs: list[Path], ctx: ReportContext) -> list[Section]:
    mods = providers()
    assigned = assign_inputs(inputs, mods)
    sections = []
    for m in mods:
        s = m.build_section(ctx, assigned[m.__name__])
        if s is not None:
            s.order = getattr(m, "ORDER", s.order)
            sections.append(s)
    return sorted(sections, key=lambda s: s.order)


def all_findings(sections: list[Section]) -> list[Finding]:
    return [f for s in sections for f in s.findings]


def render(sections: list[Section], generated: str | None = None) -> str:
    env = Environment(loader=PackageLoader("organwatch.report", "templates"),
                      autoescape=select_autoescape(["html", "j2"]), undefined=StrictUndefined,
                      trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True)
    env.filters["num"] = fmt_num
    env.globals["verdict_label"] = lambda v: VERDICT_LABELS[Verdict(v)]
    env.globals["status_label"] = lambda s: STATUS_LABELS[Status(s)]
    tmpl = env.get_template("report.html.j2")
    findings = all_findings(sections)
    counts = Counter(f.verdict.value for f in findings if f.verdict is not None)
    inputs = {}
    for f in findings:
        for i in f.provenance.inputs:
            inputs[i.name] = i.sha256
    return tmpl.render(sections=sections, counts=counts, n_findings=len(findings), version=__version__,
                       generated=generated or _dt.date.today().isoformat(), inputs=sorted(inputs.items()),
                       Verdict=Verdict)


def write_report(out: Path, sections: list[Section], generated: str | None = None) -> int:
    html = render(sections, generated=generated)
    data = html.encode("utf-8")
    if len(data) > MAX_REPORT_BYTES:  # a design limit, checked rather than assumed
        raise InputError(f"report would be {len(data)} bytes, over the {MAX_REPORT_BYTES} byte limit", file=out)
    out.write_bytes(data)
    return len(data)
