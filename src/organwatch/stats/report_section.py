"""The statistics section of ``organwatch report``: the battery on embedded data, with charts."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
from markupsafe import Markup

from organwatch.findings import Finding
from organwatch.report import svg
from organwatch.report.i18n import gettext as _
from organwatch.report.labels import MODELS
from organwatch.report.sections import ReportContext, ReportItem, Section
from organwatch.stats.battery import embedded_battery
from organwatch.stats.fit import _predict

ORDER = 10


def accepts(path: Path) -> bool:
    return False  # the statistics section always runs on the embedded data


def _fit_series(f: Finding, xs: list[float]) -> list[dict]:
    st = f.statistics
    out: list[dict] = []
    if "quadratic_a" not in st:
        return out
    grid = np.linspace(min(xs), max(xs), 60)
    for m, name in (("quadratic", _("general quadratic")), ("one_param", _("one-parameter quadratic"))):
        keys = {k[len(m) + 1:]: v for k, v in st.items() if k.startswith(m + "_") and isinstance(v, (int, float))}
        try:
            yy = _predict(m, keys, grid)
        except KeyError:
            continue
        r2 = st.get("r2_" + m, float("nan"))
        out.append({"name": f"{name} (R² {svg.fmt_num(r2, 4)})", "x": grid.tolist(), "y": yy.tolist(),
                    "markers": False, "dash": m == "one_param", "connect": True})
    return out


def _formula_chart(f: Finding) -> Markup | None:
    pts = [e for e in f.evidence if "period" in e and "value" in e]
    if not pts:
        return None
    xs = [e["period"] for e in pts]
    ys = [e["value"] for e in pts]
    series = [{"name": _("official figures"), "x": xs, "y": ys, "line": False, "gaps": True}] + _fit_series(f, xs)
    chart = svg.line_chart(series, _("Official figures and fitted curves: %(s)s") % {"s": f.subject.split(" [")[0]},
                           _("year"), _("deceased donors"),
                           desc=_("Official yearly figures as dots, fitted curves as lines; no line is drawn "
                                  "across years without data."))
    st = f.statistics
    ref = [e for e in f.evidence if "reference_country" in e]
    if ref and st.get("tested_r2") is not None:
        gaps = [max(1 - e["r2"], 1e-6) for e in ref]
        tested_gap = max(1 - st["tested_r2"], 1e-6)
        chart += svg.dot_strip(gaps, tested_gap, _("China among %(n)s countries: how closely the curve fits") % {
            "n": len(ref)}, _("1 − R² (log scale; further left = closer fit)"), _("China (tested series)"),
            _("best run of years in each country"), log_x=True,
            labels=[f"{e['reference_country']} ({e['years']})" for e in ref])
        ranked = sorted(ref, key=lambda e: -e["r2"])
        labels = [f"{e['reference_country']} ({e['years']})" for e in ranked]
        vals = [max(1 - e["r2"], 1e-6) for e in ranked]
        pos = sum(1 for g in vals if g <= tested_gap)
        labels.insert(pos, _("China (tested series)"))
        vals.insert(pos, tested_gap)
        chart += Markup('<details class="ow-ranking"><summary>') + _("Ranking of all %(n)s countries") % {
            "n": len(ref)} + Markup("</summary>") + svg.bar_chart(
            labels, vals, _("1 − R² of the %(m)s fit for each country's best run of years (smaller = closer)") % {
                "m": _(MODELS.get(str(st.get("tested_model")), "curve"))},
            value_label=_("1 − R² (log scale)"), highlight=[pos], log_x=True,
            value_format=lambda v: svg.fmt_num(v, 2)) + Markup("</details>")
    return Markup(chart)


def _ratio_chart(f: Finding) -> Markup | None:
    pts = [e for e in f.evidence if "ratio" in e]
    if not pts:
        return None
    name = re.sub(r"^Constancy of ", "", f.title)
    c = svg.line_chart([{"name": name, "x": [e["period"] for e in pts], "y": [e["ratio"] for e in pts]}],
                       name, _("year"), _("ratio"), y_zero=False)
    ref = [e["reference_cv"] for e in f.evidence if "reference_cv" in e]
    if ref:
        c += svg.histogram(ref, _("How much the same ratio varies in other countries over the same years"),
                           bins=20, value_label=_("coefficient of variation (smaller = more constant)"),
                           marker=f.statistics.get("cv"), marker_label=_("China"))
    return Markup(c)


def _counter_chart(f: Finding) -> Markup | None:
    snaps = [e for e in f.evidence if "cumulative_ratio" in e]
    inc = [e for e in f.evidence if "increment_ratio" in e]
    if not snaps:
        return None
    c = svg.bar_chart([e["as_of"] for e in snaps], [e["cumulative_ratio"] for e in snaps],
                      _("Cumulative organs per donor at each exact snapshot"), value_label=_("organs per donor"),
                      value_format=lambda v: svg.fmt_num(v, 4))
    if inc:
        c += svg.bar_chart([f"{e['from']} → {e['to']}" for e in inc], [e["increment_ratio"] for e in inc],
                           _("Organs per donor added between snapshots"), value_label=_("added organs / added donors"),
                           reference_line=f.statistics.get("physiological_max"),
                           reference_label=_("most organs one donor can give"),
                           value_format=lambda v: svg.fmt_num(v, 3))
    return Markup(c)


def _bars_from(f: Finding, key_label: str, key_value: str, title: str) -> Markup | None:
    ev = [e for e in f.evidence if key_label in e and key_value in e]
    if not ev:
        return None
    return svg.bar_chart([svg.fmt_year(e[key_label]) for e in ev], [float(e[key_value]) for e in ev], title)


def _digits_chart(f: Finding) -> Markup | None:
    ev = [e for e in f.evidence if "digit" in e]
    if not ev or not f.statistics.get("n"):
        return None
    return svg.line_chart([{"name": _("observed"), "x": [e["digit"] for e in ev], "y": [e["observed"] for e in ev],
                            "connect": True},
                           {"name": _("expected"), "x": [e["digit"] for e in ev], "y": [e["expected"] for e in ev],
                            "dash": True, "connect": True}], f.title, _("digit"), _("count"), years=False)


def _repeats_chart(f: Finding) -> Markup | None:
    ev = [e for e in f.evidence if "values" in e]
    if not ev:
        return None
    rows = [(e["vintage"], svg.fmt_year(e["year"]), svg.fmt_year(e["repeats_year"]),
             ", ".join(f"{svg.humanize(k)} {svg.fmt_num(v)}" for k, v in sorted(e["values"].items()))) for e in ev]
    return svg.html_table([_("GODT download"), _("year"), _("identical to year"), _("values")], rows, numeric=False)


def chart_for(f: Finding) -> Markup | None:
    c = f.check
    if c.startswith("stats.formula_conformance"):
        return _formula_chart(f)
    if c.startswith("stats.ratio_constancy"):
        return _ratio_chart(f)
    if c == "stats.counter_increments":
        return _counter_chart(f)
    if c == "stats.cross_consistency.table7_2016":
        return _bars_from(f, "category", "value", _("2016 organ totals (BMC 2019 Table 7)"))
    if c == "stats.cross_consistency.period_total":
        return _bars_from(f, "year", "value", _("Headline deceased donors 2015–2019"))
    if c.startswith("stats.digits"):
        return _digits_chart(f)
    return None


def published_title(f: Finding) -> str:
    """A published result's heading from its subject ("id: what it is") without the internal id."""
    what = f.subject.split(": ", 1)[-1]
    what = re.sub(r"\s*\(see [^)]*\)", "", what).strip()
    return what[:1].upper() + what[1:]


def build_section(ctx: ReportContext, inputs: list[Path]) -> Section:
    findings = embedded_battery(seed=ctx.seed)
    items, published = [], []
    for f in findings:
        if f.check == "stats.published_result":
            f.title = published_title(f)
            published.append(f)
            continue
        # the repeated rows are the evidence itself: shown, not tucked away with the other tables
        shown = _repeats_chart(f) if f.check == "stats.repeated_values" else chart_for(f)
        items.append(ReportItem(finding=f, chart_svg=shown))
    items += [ReportItem(finding=f) for f in published]
    sources: dict[str, str] = {}
    for f in findings:
        for s in f.sources:
            if s.get("url", "").startswith("http"):
                sources.setdefault(s["url"], s["label"])
    return Section(
        id="stats", title=_("Official statistics: forensic tests"),
        intro=_("Chinese official deceased-donor and transplant figures tested for conformance to simple formulae, "
                "internal-ratio constancy, counter artefacts, cross-consistency, repeated values and digit patterns, "
                "each against real countries' data from the WHO-ONT Global Observatory on Donation and "
                "Transplantation (GODT). Where sources disagree, every variant is run. The published results of "
                "Robertson, Hinde & Lavee (2019) are recomputed where their inputs could be recovered."),
        items=items, sources=[{"label": v, "url": k} for k, v in sorted(sources.items())],
        not_tested=[_("COTRS annual deceased donors 2011–2014 were not recoverable (2012 and 2013 not found "
                      "anywhere), so the published R² values (0.999 through 2017, 0.997 through 2018) cannot be "
                      "recomputed on the paper's series; fits here use the available years and say so."),
                    _("GODT data for 2018–2019 are not covered by any embedded download."),
                    _("The paper's five provincial datasets and hospital cross-checks were not recovered.")])
