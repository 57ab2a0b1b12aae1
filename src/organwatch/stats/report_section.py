"""The statistics section of ``organwatch report``: the battery on embedded data, with charts."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from markupsafe import Markup

from organwatch.findings import Finding
from organwatch.report import svg
from organwatch.report.sections import ReportContext, ReportItem, Section
from organwatch.stats.battery import embedded_battery
from organwatch.stats.fit import _predict

ORDER = 10


def accepts(path: Path) -> bool:
    return False  # the statistics section always runs on the embedded data


def _formula_chart(f: Finding) -> Markup | None:
    pts = [e for e in f.evidence if "period" in e and "value" in e]
    if not pts:
        return None
    xs = [e["period"] for e in pts]
    ys = [e["value"] for e in pts]
    series = [{"name": "official figures", "x": xs, "y": ys, "line": False}]
    st = f.statistics
    if "quadratic_a" in st:
        grid = np.linspace(min(xs), max(xs), 60)
        for m, name in (("quadratic", "general quadratic"), ("one_param", "one-parameter quadratic")):
            keys = {k[len(m) + 1:]: v for k, v in st.items() if k.startswith(m + "_") and isinstance(v, (int, float))}
            try:
                yy = _predict(m, keys, grid)
            except KeyError:
                continue
            series.append({"name": f"{name} (R² {st.get('r2_' + m, float('nan')):.4f})", "x": grid.tolist(),
                           "y": yy.tolist(), "markers": False, "dash": m == "one_param"})
    chart = svg.line_chart(series, f"Fits to {f.subject.split(' [')[0]}", "year", "deceased donors")
    ref = [e for e in f.evidence if "reference_country" in e]
    if ref and st.get("tested_r2") is not None:
        ref = sorted(ref, key=lambda e: -e["r2"])
        labels = [f"{e['reference_country']} ({e['years']})" for e in ref]
        gaps = [max(1 - e["r2"], 1e-6) for e in ref]
        tested_gap = max(1 - st["tested_r2"], 1e-6)
        pos = sum(1 for g in gaps if g <= tested_gap)
        labels.insert(pos, "tested series")
        gaps.insert(pos, tested_gap)
        chart += svg.bar_chart(labels, gaps, f"1 − R² of the {st.get('tested_model', 'quadratic').replace('_', '-')} "
                               f"fit: tested series vs each country's best GODT window (smaller = closer fit)",
                               value_label="1 − R² (log scale)", highlight=[pos], log_x=True,
                               value_format=lambda v: f"{v:.2e}")
    return Markup(chart)


def _ratio_chart(f: Finding) -> Markup | None:
    pts = [e for e in f.evidence if "ratio" in e]
    if not pts:
        return None
    c = svg.line_chart([{"name": f.title, "x": [e["period"] for e in pts], "y": [e["ratio"] for e in pts]}],
                       f.title, "year", "ratio", y_zero=False)
    ref = [e["reference_cv"] for e in f.evidence if "reference_cv" in e]
    if ref:
        c += svg.histogram(ref, "Coefficient of variation of the same ratio in GODT countries (same years)",
                           bins=20, value_label="coefficient of variation", marker=f.statistics.get("cv"),
                           marker_label="tested")
    return Markup(c)


def _counter_chart(f: Finding) -> Markup | None:
    snaps = [e for e in f.evidence if "cumulative_ratio" in e]
    inc = [e for e in f.evidence if "increment_ratio" in e]
    if not snaps:
        return None
    c = svg.bar_chart([e["as_of"] for e in snaps], [e["cumulative_ratio"] for e in snaps],
                      "Cumulative organs per donor at each exact snapshot", value_label="organs per donor",
                      value_format=lambda v: f"{v:.4f}")
    if inc:
        c += svg.bar_chart([f"{e['from']} → {e['to']}" for e in inc], [e["increment_ratio"] for e in inc],
                           "Organs per donor added between snapshots", value_label="Δorgans / Δdonors",
                           reference_line=f.statistics.get("physiological_max"), reference_label="physiological max",
                           value_format=lambda v: f"{v:.3f}")
    return Markup(c)


def _bars_from(f: Finding, key_label: str, key_value: str, title: str) -> Markup | None:
    ev = [e for e in f.evidence if key_label in e and key_value in e]
    if not ev:
        return None
    return svg.bar_chart([str(e[key_label]) for e in ev], [float(e[key_value]) for e in ev], title)


def _digits_chart(f: Finding) -> Markup | None:
    ev = [e for e in f.evidence if "digit" in e]
    if not ev or not f.statistics.get("n"):
        return None
    return svg.line_chart([{"name": "observed", "x": [e["digit"] for e in ev], "y": [e["observed"] for e in ev]},
                           {"name": "expected", "x": [e["digit"] for e in ev], "y": [e["expected"] for e in ev],
                            "dash": True}], f.title, "digit", "count")


def _repeats_chart(f: Finding) -> Markup | None:
    ev = [e for e in f.evidence if "values" in e]
    if not ev:
        return None
    rows = [(e["vintage"], e["year"], e["repeats_year"], ", ".join(f"{k} {v:g}" for k, v in sorted(e["values"].items())))
            for e in ev]
    return svg.html_table(["GODT vintage", "year", "identical to", "values"], rows, numeric=False)


def chart_for(f: Finding) -> Markup | None:
    c = f.check
    if c.startswith("stats.formula_conformance"):
        return _formula_chart(f)
    if c.startswith("stats.ratio_constancy"):
        return _ratio_chart(f)
    if c == "stats.counter_increments":
        return _counter_chart(f)
    if c == "stats.cross_consistency.table7_2016":
        return _bars_from(f, "category", "value", "2016 organ totals (BMC 2019 Table 7)")
    if c == "stats.cross_consistency.period_total":
        return _bars_from(f, "year", "value", "Headline deceased donors 2015–2019")
    if c.startswith("stats.digits"):
        return _digits_chart(f)
    return None


def _published_table(fs: list[Finding]) -> Markup:
    rows = [(f.statistics["result_id"], f.statistics.get("published") or "–",
             (f.status.value if f.status else "").replace("_", " "), f.statistics.get("reason") or f.explanation)
            for f in fs]
    return svg.html_table(["result", "published value", "status", "computed / reason"], rows,
                          caption="Robertson, Hinde & Lavee (2019): reproduction status of every recovered result",
                          numeric=False)


def build_section(ctx: ReportContext, inputs: list[Path]) -> Section:
    findings = embedded_battery(seed=ctx.seed)
    items, published = [], []
    for f in findings:
        if f.check == "stats.published_result":
            published.append(f)
            continue
        chart = _repeats_chart(f) if f.check == "stats.repeated_values" else None
        items.append(ReportItem(finding=f, chart_svg=chart_for(f), table_html=chart))
    items += [ReportItem(finding=f) for f in published]
    sources: dict[str, str] = {}
    for f in findings:
        for s in f.sources:
            if s.get("url", "").startswith("http"):
                sources.setdefault(s["url"], s["label"])
    return Section(
        id="stats", title="Official statistics: forensic tests",
        intro=("Chinese official deceased-donor and transplant figures tested for conformance to simple formulae, "
               "internal-ratio constancy, counter artefacts, cross-consistency, repeated values and digit patterns, "
               "each against real countries' data from the WHO-ONT Global Observatory on Donation and "
               "Transplantation (GODT). Where sources disagree, every variant is run."),
        items=items, sources=[{"label": v, "url": k} for k, v in sorted(sources.items())],
        not_tested=["COTRS annual deceased donors 2011–2014 were not recoverable (2012 and 2013 not found anywhere), "
                    "so the published R² values (0.999 through 2017, 0.997 through 2018) cannot be recomputed on the "
                    "paper's series; fits here use the available years and say so.",
                    "GODT data for 2018–2019 are not covered by any embedded vintage.",
                    "The paper's five provincial datasets and hospital cross-checks were not recovered."],
        extra_html=_published_table(published))
