"""The volume section of ``organwatch report`` (ORDER 40).

With no inputs it runs the packaged default scenario (with calibration) and the critic and advocate scenarios
with each scenario's own draws and seed - exactly what ``organwatch volume --json`` computes, so the report and
the CLI give the same figures (one number per question; :data:`REPORT_DRAWS` overrides this only in tests);
it also accepts ``organwatch volume --json``
result files (a single result, or the ``results`` list written when several scenarios are compared).
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

from markupsafe import Markup

from organwatch.errors import InputError
from organwatch.report import svg
from organwatch.report.i18n import gettext as _
from organwatch.report.sections import ReportContext, ReportItem, Section
from organwatch.volume import findings as vf

ORDER = 40
REPORT_DRAWS: int | None = None  # None = each scenario's own draws, as `organwatch volume` runs it
REPORT_SCENARIOS = ("default", "critic", "advocate")
MAX_INPUT_BYTES = 200 * 1024 * 1024
REQUIRED = ("median", "p5", "p95", "p2_5", "p97_5", "seed", "draws", "scenario", "by_hospital", "sensitivity",
            "vs_official", "donors", "worked_example", "imputation", "provenance", "validation", "per_bed_yield")


def _is_result(d: Any) -> bool:
    return isinstance(d, dict) and "median" in d and "by_hospital" in d and isinstance(d.get("scenario"), dict)


def accepts(path: Path) -> bool:
    """A ``.json`` file holding an ``organwatch volume --json`` result (or a ``results`` list of them)."""
    if path.suffix.lower() != ".json" or not path.is_file():
        return False
    try:
        if path.stat().st_size > MAX_INPUT_BYTES:
            return False
        doc = json.loads(path.read_bytes())
    except (OSError, ValueError):
        return False
    return _is_result(doc) or (isinstance(doc, dict) and isinstance(doc.get("results"), list)
                               and bool(doc["results"]) and all(_is_result(r) for r in doc["results"]))


def _load(path: Path) -> list[dict[str, Any]]:
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as e:
        raise InputError(f"not a readable organwatch volume result: {e}", file=path) from None
    results = doc["results"] if isinstance(doc, dict) and "results" in doc else [doc]
    for i, r in enumerate(results):
        missing = [k for k in REQUIRED if not isinstance(r, dict) or k not in r]
        if missing:
            raise InputError(f"not an organwatch volume result: missing field '{missing[0]}'", file=path,
                             record=i + 1 if len(results) > 1 else None)
    return results


def run_default(draws: int | None = None) -> list[dict[str, Any]]:
    from organwatch.volume import estimate, scenario

    draws = draws or REPORT_DRAWS
    out = []
    for i, name in enumerate(REPORT_SCENARIOS):
        s = scenario.load(name)
        if draws is not None:
            s = scenario.with_overrides(s, draws=draws)
        out.append(estimate.run(s, with_calibration=(i == 0)))
    return out


def build_section(ctx: ReportContext, inputs: list[Path]) -> Section | None:
    results: list[dict[str, Any]] = []
    for p in inputs:
        results.extend(_load(p))
    if not results:
        results = run_default()
    main, others = results[0], results[1:]
    try:
        fs = vf.findings(main, others)
    except (KeyError, TypeError, ValueError) as e:
        raise InputError(f"malformed organwatch volume result: {type(e).__name__} {e}",
                         file=inputs[0] if inputs else None) from None
    items = []
    for f in fs:
        chart, table, caption = _visuals(f.check, main, results)
        items.append(ReportItem(finding=f, chart_svg=chart, table_html=table, chart_caption=caption))
    sc = main["scenario"]
    return Section(
        id="volume", title=_("Transplant volume estimated from hospital capacity"),
        intro=_("Annual transplants = beds × share of bed-days used by transplant patients × occupancy × 365 / "
                "length of stay, per hospital, summed nationally, with every parameter drawn from the range of "
                "published values or a named assumption. The result is an estimate of capacity under stated "
                "assumptions, shown next to official totals and published estimates; it is not an observed count. "
                "Length of stay and the transplant share are not observed for any hospital, so the interval mainly "
                "reflects those assumptions. Scenario '%(name)s' (%(source)s, SHA-256 %(sha)s…), seed %(seed)s, "
                "%(draws)s draws: the same figures as organwatch volume with that scenario and seed.") % {
            "name": sc["name"], "source": sc["source"], "sha": sc["sha256"][:12], "seed": main["seed"],
            "draws": f"{main['draws']:,}"},
        items=items,
        sources=vf.row_sources(vf._scenario_rows(main)),
        not_tested=[main["validation"]["statement"]],
        extra_html=_assumptions_table(main),
    )


Visual = tuple[Any, Any, str]  # (chart, extra table, caption)


def _v_capacity(r: dict[str, Any], results: list[dict[str, Any]]) -> Visual:
    rows = [(s["parameter"], s["median_low_decile"], s["median_high_decile"]) for s in r["sensitivity"]
            if s.get("varies") and s["median_low_decile"] is not None]
    chart = svg.tornado(rows, r["median"], _("Sensitivity: median national total when each input is in its lowest "
                                             "vs highest decile"), _("transplants per year")) if rows else None
    return chart, _chain_table(r), _("Each bar spans the model's median national total among draws with that input "
                                     "in its lowest (blue) and highest (orange) decile.")


def _v_worked(r: dict[str, Any], results: list[dict[str, Any]]) -> Visual:
    w = r["worked_example"]
    t = svg.html_table(["beds", "occupancy", "length of stay (days)", "share", "computed", "published", "rows"],
                       [[w["beds"], w["occupancy"], w["length_of_stay"], w["share"], w["result"], w["published"],
                         ", ".join(w["rows"])]], caption=_("Deterministic special case of the model"))
    return None, t, ""


def _v_calibration(r: dict[str, Any], results: list[dict[str, Any]]) -> Visual:
    cal = r.get("calibration") or {}
    stated = r["per_bed_yield"].get("stated", [])
    m = r["per_bed_yield"]["model"]
    labels = [f"stated, row {s['row']}" for s in stated] + ["model 5th percentile", "model median",
                                                            "model 95th percentile"]
    vals = [s["transplants_per_bed_year"] for s in stated] + [m["p5"], m["median"], m["p95"]]
    chart = svg.bar_chart(labels, vals, _("Transplants per bed-year: stated vs the scenario's assumptions"),
                          value_label=_("transplants per bed per year (log scale)"), log_x=True,
                          value_format=lambda v: svg.fmt_num(v, 3), highlight=range(len(stated))) if stated else None
    rows = [[c["row"], c["hospital_id"], c["stated"], c["prior_predictive_p_below"], c["loo_p5"], c["loo_p95"],
             "yes" if c["loo_covered"] else "no"] for c in cal.get("checks", [])]
    t = svg.html_table(["row", "hospital", "stated per year", "prior predictive P(≤ stated)",
                        "leave-one-out 5th percentile", "leave-one-out 95th percentile", "covered"], rows,
                       caption=_("Calibration diagnostics per stated volume")) if rows else None
    rob = [[x["noise_sd"], x["lower_bounds"], svg.fmt_num(x["data_only_f_median"], 3),
            f"{svg.fmt_num(x['data_only_f_p5'], 3)}–{svg.fmt_num(x['data_only_f_p95'], 3)}"]
           for x in cal.get("robustness", [])]
    if rob and t is not None:
        t = Markup(t + svg.html_table(["reporting noise (log sd)", "\"more than X\" read as", "data-only f median",
                                       "90 % interval"], rob, caption=_("Robustness of the data-only reading of f")))
    return chart, t, _("Highlighted: per-bed yields implied by stated volumes and published beds.")


def _v_official(r: dict[str, Any], results: list[dict[str, Any]]) -> Visual:
    off = r["vs_official"]
    years = sorted({o["year"] for o in off})
    if not years:
        return None, None, ""
    x0, x1 = years[0], years[-1]
    series: list[dict[str, Any]] = [{
        "name": "official total (as published)", "x": [o["year"] for o in off], "y": [o["value"] for o in off],
        "line": False, "labels": [f"{o['year']}: {_q(o['qualifier'])}{o['value']:,.0f} ({o['record_id']})"
                                  for o in off]}]
    for key, name in (("p5", "model 5th percentile"), ("median", "model median"), ("p95", "model 95th percentile")):
        series.append({"name": f"{name} ({r['scenario']['name']})", "x": [x0, x1], "y": [r[key], r[key]],
                       "dash": key != "median", "markers": False, "connect": True})
    cal = (r.get("calibration") or {}).get("calibrated_data_only")
    if cal:
        series.append({"name": "median, share calibrated on stated volumes (no prior)", "x": [x0, x1],
                       "y": [cal["median"], cal["median"]], "dash": True, "markers": False, "connect": True})
    chart = svg.line_chart(series, _("Official totals by year and the model's interval"), _("year"),
                           _("transplants per year (log scale)"), log_y=True)
    pub = [[e["record_id"], e["estimator"], e["pub_year"], e["value_low"], e["value_high"], e["quantity"],
            _pct(e.get("p_model_within"))] for e in r["published_estimates"]]
    t1 = svg.html_table(["year", "official", "row", "claim type", "share of model draws above"],
                        [[str(o["year"]), f"{_q(o['qualifier'])}{o['value']:,.0f}", o["record_id"], o["claim_type"],
                          _pct(o["p_model_exceeds"])] for o in off], caption=_("Official totals, as published"))
    t2 = svg.html_table(["row", "estimator", "published", "low", "high", "quantity", "model draws within"], pub,
                        caption=_("Published estimates, as published"))
    return chart, Markup(t1 + t2), _("The model's lines are constant: it estimates one year's capacity (about 2015).")


def _v_donors(r: dict[str, Any], results: list[dict[str, Any]]) -> Visual:
    d = r["donors"]
    q = d["deceased_donors_per_year"]
    rows: list[list[Any]] = [["model (median)", round(q["median"])], ["model 5th percentile", round(q["p5"])],
                             ["model 95th percentile", round(q["p95"])]]
    rows += [[f"official {o['year']} ({o['record_id']})", f"{_q(o['qualifier'])}{o['value']:,.0f}"]
             for o in d["official_deceased_donors"]]
    return None, svg.html_table(["", "deceased donors per year"], rows), ""


def _v_scenarios(r: dict[str, Any], results: list[dict[str, Any]]) -> Visual:
    from organwatch.volume.estimate import scenario_table

    chart = svg.bar_chart([x["scenario"]["name"] for x in results], [x["median"] for x in results],
                          _("Median national total by scenario"), value_label=_("transplants per year (log scale)"),
                          log_x=True, value_format=lambda v: f"{v:,.0f}")
    rows = [[t["scenario"], round(t["median"]), f"{t['p5']:,.0f}–{t['p95']:,.0f}", t["share"], t["length_of_stay"],
             t["occupancy"], t["imputed_hospitals"]] for t in scenario_table(results)]
    t = svg.html_table(["scenario", "median", "90 % interval", "share f", "length of stay", "occupancy",
                        "imputed hospitals"], rows, caption=_("Scenario files side by side"))
    return chart, t, ""


VISUALS: dict[str, Callable[[dict[str, Any], list[dict[str, Any]]], Visual]] = {
    "volume.capacity_model": _v_capacity, "volume.worked_example": _v_worked, "volume.calibration": _v_calibration,
    "volume.vs_official": _v_official, "volume.implied_donors": _v_donors, "volume.scenarios": _v_scenarios,
}


def _visuals(check: str, r: dict[str, Any], results: list[dict[str, Any]]) -> Visual:
    fn = VISUALS.get(check)
    return fn(r, results) if fn else (None, None, "")


def _q(qualifier: str) -> str:
    """Printable bound qualifier of an embedded figure (the value itself is never changed)."""
    return {"approx": "≈", ">": ">", ">=": "≥", "<": "<", "": ""}.get(qualifier or "", f"{qualifier} ")


def _pct(p: float | None) -> str:
    return "–" if p is None or (isinstance(p, float) and math.isnan(p)) else f"{p:.1%}"


def _chain_table(r: dict[str, Any]) -> Markup:
    """From rows and assumptions to the result: every hospital's inputs and every parameter's basis."""
    rows = [[h["hospital_id"], h["beds"], ", ".join(h["bed_rows"]), h["occupancy"], ", ".join(h["occupancy_rows"]),
             round(h["median"]), f"{h['p5']:,.0f}–{h['p95']:,.0f}"] for h in r["by_hospital"]]
    imp = r["imputation"]
    if imp["imputed_hospitals"]:
        rows.append([f"{imp['imputed_hospitals']} imputed hospitals", f"bootstrap of profiled beds × "
                     f"{_dist(imp['bed_scale'])}", ", ".join(x["record_id"] for x in imp["frame_rows"]),
                     "scenario occupancy", f"assumption {imp['assumption']}", round(imp.get("imputed_median", 0)),
                     f"{imp.get('imputed_p5', 0):,.0f}–{imp.get('imputed_p95', 0):,.0f}"])
    rows.append(["national total", "", "", "", "", round(r["median"]), f"{r['p5']:,.0f}–{r['p95']:,.0f}"])
    t1 = svg.html_table(["hospital", "beds", "bed rows", "occupancy", "occupancy basis", "median", "90 % interval"],
                        rows, caption=_("From rows to the result: hospitals"))
    ps = r["scenario"]["parameters"]
    prow = [[k, v["describe"], v["across_hospitals"], v["basis"]] for k, v in ps.items()]
    d = r["scenario"]["donors"]
    prow.append(["organs per donor", _dist(d["organs_per_donor"]), "", "rows " + ", ".join(d["organs_per_donor_rows"])])
    prow.append(["living-donor share", _dist(d["living_donor_share"]), "",
                 "rows " + ", ".join(d["living_donor_share_rows"])])
    t2 = svg.html_table(["parameter", "distribution", "across hospitals", "basis"], prow,
                        caption=_("From rows and assumptions to the result: parameters"))
    return Markup(t1 + t2)


def _dist(d: dict[str, Any]) -> str:
    from organwatch.volume.distributions import Dist

    return Dist(d["dist"], {k: v for k, v in d.items() if k != "dist"}).describe()


def _assumptions_table(r: dict[str, Any]) -> Markup:
    rows = [[k, v["name"], v["text"]] for k, v in sorted(r["scenario"]["assumptions"].items())]
    caption = _("Named assumptions of the scenario '%(name)s'") % {"name": r["scenario"]["name"]}
    t1 = svg.html_table(["id", "assumption", "text"], rows, caption=caption, numeric=False)
    from organwatch.volume import registry

    frame_rows = {x["record_id"] for x in r["imputation"]["frame_rows"]}
    lic = [[x["record_id"] + (" (model frame)" if x["record_id"] in frame_rows else ""), x["as_of_date"],
            f"{_q(x['qualifier'])}{x['count']}", x["scope"], x["source_type"]] for x in registry.licensed_counts()]
    t2 = svg.html_table(["row", "as of", "count", "scope", "source"], lic, numeric=False,
                        caption=_("Licensed or qualified transplant hospitals by date, as published (conflicts kept)"))
    return Markup(t1 + t2)
