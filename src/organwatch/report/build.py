"""Build the report: run every section provider, write the briefing, render one self-contained HTML file.

Steps: sections (from the engine table, :mod:`organwatch.report.sections`) -> anchors for every finding ->
briefing (:mod:`organwatch.report.briefing`) -> HTML from ``templates/report.html.j2`` in the chosen language
(:mod:`organwatch.report.i18n`) -> an embedded WOFF2 subset of the CJK font for the characters the page uses
(:mod:`organwatch.report.fonts`). The page makes no request: styles, charts and font are inline.
"""

from __future__ import annotations

import datetime as _dt
from collections import Counter
from pathlib import Path
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from organwatch import __version__
from organwatch.errors import InputError
from organwatch.findings import Finding
from organwatch.report import briefing as _briefing
from organwatch.report import fonts, i18n, labels
from organwatch.report.sections import ReportContext, Section, providers
from organwatch.report.svg import fmt_num

MAX_REPORT_BYTES = 10 * 1024 * 1024
FONT_MARK = "/*OW-FONT*/"
NOTE_MARK = "<!--OW-FONT-NOTE-->"


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
    with i18n.use(ctx.lang):
        for m in mods:
            s = _build_one(m, ctx, assigned[m.__name__])
            if s is not None:
                s.order = getattr(m, "ORDER", s.order)
                s.provider = m.__name__
                sections.append(s)
    return sorted(sections, key=lambda s: s.order)


# what a section raises when a result file it accepted holds a field of the wrong shape or type
MALFORMED = (KeyError, TypeError, ValueError, AttributeError, IndexError)


def _build_one(mod: Any, ctx: ReportContext, inputs: list[Path]) -> Section | None:
    """One section; a result file that a section accepted but cannot use is bad input (one line, exit 2),
    never an internal error. Without inputs (embedded data only) a failure is a bug and propagates."""
    if not inputs:
        section: Section | None = mod.build_section(ctx, inputs)
        return section
    try:
        section = mod.build_section(ctx, inputs)
    except MALFORMED as e:
        names = ", ".join(p.name for p in inputs)
        detail = " ".join(f"{type(e).__name__}: {e}".split())[:200]
        raise InputError(f"not a usable result file for the {mod.__name__.split('.')[1]} section ({detail})",
                         file=names) from None
    return section


def all_findings(sections: list[Section]) -> list[Finding]:
    return [f for s in sections for f in s.findings]


def anchors_for(sections: list[Section]) -> dict[int, str]:
    """``id(finding)`` -> the HTML id it is rendered at (``f-<section>-<n>``)."""
    return {id(it.finding): f"f-{s.id}-{i}" for s in sections for i, it in enumerate(s.items, 1)}


def _hooks(sections: list[Section]) -> dict[str, Any]:
    import importlib

    out = {}
    for s in sections:
        if s.provider:
            hook = getattr(importlib.import_module(s.provider), "briefing_items", None)
            if callable(hook):
                out[s.id] = hook
    return out


def _as_json(x: Any) -> str:
    """Compact, stable JSON for the technical panels (numpy and pandas missing values normalised; escaped by the
    template's autoescape)."""
    import json

    from organwatch.findings import _jsonable

    return json.dumps(_jsonable(x), ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def _environment() -> Environment:
    env = Environment(loader=PackageLoader("organwatch.report", "templates"),
                      autoescape=select_autoescape(["html", "j2"]), undefined=StrictUndefined,
                      trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True,
                      extensions=["jinja2.ext.i18n"])
    env.install_gettext_callables(i18n.gettext, i18n.ngettext, newstyle=False)  # type: ignore[attr-defined]  # added by jinja2.ext.i18n
    env.filters["num"] = fmt_num
    env.filters["prose"] = labels.prose_html
    env.filters["as_json"] = _as_json
    env.globals.update(stat_label=labels.stat_label, stat_value=labels.stat_value, r2_note=labels.negative_r2_note,
                       compared=labels.n_compared)
    return env


def render(sections: list[Section], generated: str | None = None, lang: str = "en") -> str:
    with i18n.use(lang):
        return _render(sections, generated)


def _render(sections: list[Section], generated: str | None) -> str:
    anchors = anchors_for(sections)
    first_repro = next((f"{s.id}-reproductions" for s in sections
                        if any(f.kind.value == "reproduction" for f in s.findings)), "")
    brief = _briefing.build(sections, anchors, _hooks(sections), reproductions_anchor=first_repro)
    findings = all_findings(sections)
    kinds = Counter(f.kind.value for f in findings)
    inputs = {i.name: i.sha256 for f in findings for i in f.provenance.inputs}
    tmpl = _environment().get_template("report.html.j2")
    html = tmpl.render(sections=sections, briefing=brief, n_findings=len(findings), version=__version__,
                       kinds={k: kinds.get(k, 0) for k in ("test", "reproduction", "descriptive")},
                       generated=generated or _dt.date.today().isoformat(), inputs=sorted(inputs.items()),
                       anchor=lambda f: anchors.get(id(f), ""), verdicts=labels.VERDICTS(),
                       statuses=labels.STATUSES(), html_lang=i18n.html_lang())
    css, warning = fonts.subset_face(html)
    if warning:
        from organwatch.clikit import warn

        warn(warning)
    if css:
        note = i18n.gettext("Chinese characters are shown with an embedded subset of %(font)s.") % {
            "font": fonts.LICENSE}
        html = html.replace(NOTE_MARK, f'<p class="small">{note}</p>', 1)
    return html.replace(FONT_MARK, css, 1)


def write_report(out: Path, sections: list[Section], generated: str | None = None, lang: str = "en") -> int:
    html = render(sections, generated=generated, lang=lang)
    data = html.encode("utf-8")
    if len(data) > MAX_REPORT_BYTES:  # a design limit, checked rather than assumed
        raise InputError(f"report would be {len(data)} bytes, over the {MAX_REPORT_BYTES} byte limit", file=out)
    out.write_bytes(data)
    return len(data)
