"""Volume results as neutral :class:`~organwatch.findings.Finding` records (for the report and --findings).

Wording rule: the model's output is an estimate of capacity under stated assumptions, shown next to official
totals and published estimates. A verdict describes where an official or stated figure falls within the model's
distribution under those assumptions; it never says which number is true or that anyone did anything.
"""

from __future__ import annotations

import functools
import math
from typing import Any

import pandas as pd

from organwatch import datasets
from organwatch.findings import Finding, InputRef, Kind, Provenance, Status

ENGINE = "volume"
ROW_DATASETS = {"H": "volume_hospitals", "N": "volume_national_totals", "L": "volume_licensed_hospitals",
                "P": "volume_published_parameters", "E": "volume_published_estimates", "C": "volume_comparators"}


@functools.cache
def _row_urls() -> dict[str, str]:
    out = {}
    for ds in ROW_DATASETS.values():
        f = datasets.load(ds).frame
        for rid, url in zip(f["record_id"].astype(str), f["source_url"], strict=False):
            out[rid] = "" if url is pd.NA else str(url)
    return out


def row_sources(rows: list[str]) -> list[dict[str, str]]:
    urls = _row_urls()
    seen: dict[str, list[str]] = {}
    for r in sorted(set(rows)):
        u = urls.get(r)
        if u:
            seen.setdefault(u, []).append(r)
    cats = _publisher_categories()
    return [{"label": "rows " + ", ".join(rs) + (f" ({cats[u]})" if cats.get(u) else ""), "url": u}
            for u, rs in seen.items()]


@functools.cache
def _publisher_categories() -> dict[str, str]:
    f = datasets.load("volume_sources").frame
    return {str(u): ("" if c is pd.NA else str(c))
            for u, c in zip(f["source_url"], f["publisher_category"], strict=False)}


def _prov(result: dict[str, Any], extra: dict[str, Any] | None = None) -> Provenance:
    p = result["provenance"]
    sc = result["scenario"]
    params = {"scenario": sc["name"], "scenario_source": sc["source"], "draws": result["draws"],
              "share": sc["parameters"]["share"]["describe"],
              "length_of_stay": sc["parameters"]["length_of_stay"]["describe"],
              "occupancy": sc["parameters"]["occupancy"]["describe"],
              "imputation": sc["imputation"]["method"], "bed_conflicts": sc["beds"]["conflicts"]}
    params.update(extra or {})
    return Provenance(inputs=[InputRef(**i) for i in p["inputs"]], parameters=params, version=p["version"],
                      seed=result["seed"])


def _describe(d: dict[str, Any]) -> str:
    from organwatch.volume.distributions import Dist

    return Dist(d["dist"], {k: v for k, v in d.items() if k != "dist"}).describe()


def _n(x: float | None) -> str:
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return "–"
    return f"{x:,.0f}" if abs(x) >= 100 else f"{x:,.3g}"


def _scenario_rows(result: dict[str, Any]) -> list[str]:
    sc = result["scenario"]
    rows = [r for p in sc["parameters"].values() for r in p["rows"]]
    rows += sc["imputation"]["hospital_count_rows"] + sc["donors"]["organs_per_donor_rows"]
    rows += sc["donors"]["living_donor_share_rows"]
    for h in result["by_hospital"]:
        rows += h["bed_rows"] + h["occupancy_rows"]
    return rows


def worked_example_finding(result: dict[str, Any]) -> Finding:
    w = result["worked_example"]
    ok = abs(w["relative_difference"]) <= 0.01
    return Finding(
        check="volume.worked_example", engine=ENGINE, title="The published Tianjin capacity example, recomputed",
        subject="Tianjin First Central Hospital: 500 beds, 131 % occupancy, 30-day stay (rows "
                + ", ".join(w["rows"]) + ")",
        kind=Kind.REPRODUCTION, status=Status.REPRODUCED if ok else Status.DIFFERS,
        statistics={"computed": w["result"], "computed_rounded": w["result_rounded"], "published": w["published"],
                    "relative_difference": w["relative_difference"],
                    "reason": "identical within 1 %" if ok else "the identity gives a different figure"},
        reference={"identity": "beds x occupancy x 365 / length of stay, share = 1", "published_row": "H0021"},
        explanation=(f"{w['formula']}. The published figure (\"{w['published_text']}\") is this identity at the "
                     "upper published occupancy and the upper end of the assumed 20-30 day stay, with every occupied "
                     "bed-day counted as a transplant stay (share f = 1)."),
        evidence=[{"row": r} for r in w["rows"]],
        provenance=_prov(result, {"special_case": "deterministic"}),
        sources=row_sources(w["rows"]),
    )


def capacity_finding(result: dict[str, Any]) -> Finding:
    sc = result["scenario"]
    imp = result["imputation"]
    sens = [s for s in result["sensitivity"] if s.get("varies")]
    top = ", ".join(f"{s['parameter']} {s['variance_share']:.0%}" for s in sens[:3])
    mix = result.get("evidence_mix") or {}
    mix_text = ""
    if mix.get("n_bed_rows"):
        parts = "; ".join(f"{n} from {c}" for c, n in mix["bed_rows"].items())
        mix_text = (f" The {mix['n_bed_rows']} bed-figure rows come from: {parts}. Publishers may have reasons to "
                    "present numbers in one direction, which this model does not correct for.")
    return Finding(
        check="volume.capacity_model", engine=ENGINE,
        title=f"Capacity-based national volume under the '{sc['name']}' scenario",
        subject=(f"{len(result['by_hospital'])} registry hospitals with a published transplant-bed figure"
                 + (f" plus {imp['imputed_hospitals']} imputed hospitals (frame {imp['frame']}, rows "
                    f"{', '.join(r['record_id'] for r in imp['frame_rows'])})" if imp["imputed_hospitals"] else "")),
        kind=Kind.DESCRIPTIVE,
        statistics={"median": result["median"], "p5": result["p5"], "p95": result["p95"],
                    "p2_5": result["p2_5"], "p97_5": result["p97_5"], "p25": result["p25"], "p75": result["p75"],
                    "draws": result["draws"], "seed": result["seed"],
                    **{f"variance_share[{s['parameter']}]": s["variance_share"] for s in sens}},
        reference={"scenario": sc["name"], "scenario_sha256": sc["sha256"],
                   "assumptions": {k: v["name"] for k, v in sc["assumptions"].items()}},
        explanation=(f"Under the '{sc['name']}' assumptions the model gives a median of {_n(result['median'])} "
                     f"transplants a year (90 % interval {_n(result['p5'])}–{_n(result['p95'])}; 95 % interval "
                     f"{_n(result['p2_5'])}–{_n(result['p97_5'])}). This is an estimate of capacity under stated "
                     f"assumptions, not an observed count. Most of the spread comes from: {top}. The length of stay "
                     "and the share of ward bed-days used by transplant patients are not observed for any hospital, "
                     "so the interval is largely a statement about those assumptions." + mix_text),
        evidence=[{"hospital_id": h["hospital_id"], "bed_rows": h["bed_rows"], "occupancy_rows": h["occupancy_rows"],
                   "median": h["median"], "p5": h["p5"], "p95": h["p95"]} for h in result["by_hospital"]],
        provenance=_prov(result),
        sources=row_sources(_scenario_rows(result)),
        not_tested=["The national total itself cannot be observed, so the model cannot be tested against it; "
                    "official totals are shown for comparison only.",
                    "Hospitals without a published transplant-bed figure are imputed (assumption "
                    f"{imp['assumption'] or 'none'}); the selection of profiled hospitals is not modelled.",
                    "Volumes by organ are not estimated: most published bed figures cover all organs of a centre, "
                    "and imputed hospitals have no organ information.",
                    "Surgeon and operating-room constraints, cumulative claims and the limit set by the market for "
                    "anti-rejection drugs are not modelled (inputs missing)."],
    )


def vs_official_finding(result: dict[str, Any]) -> Finding:
    sc = result["scenario"]
    year = sc["year"]
    rows = result["vs_official"]
    main = [r for r in rows if r["year"] == year] or rows[-1:]
    ref = max(main, key=lambda r: (r["qualifier"] == "", r["value"])) if main else None
    if ref is None:
        return Finding(check="volume.vs_official", engine=ENGINE, title="Model vs official totals",
                       subject="official national totals", kind=Kind.DESCRIPTIVE,
                       explanation="No official single-year total in the embedded data.", provenance=_prov(result))
    p = ref["p_model_exceeds"]
    return Finding(
        check="volume.vs_official", engine=ENGINE,
        title=f"Where the official total falls in the model's distribution ('{sc['name']}' scenario)",
        subject=f"official national total {year}: {_n(ref['value'])} (row {ref['record_id']})",
        kind=Kind.DESCRIPTIVE,
        statistics={"official": ref["value"], "p_model_exceeds_official": p, "model_median": result["median"],
                    "model_p5": result["p5"], "model_p95": result["p95"],
                    "ratio_model_median_to_official": ref["ratio_model_median_to_official"]},
        reference={"year": year, "record_id": ref["record_id"], "claim_type": ref["claim_type"],
                   "rule": "consistent: official inside the model's central 90 %; unusual: inside the central 99 %; "
                           "highly_unusual: outside it"},
        explanation=(f"{p:.1%} of the model's draws exceed the official {year} figure of {_n(ref['value'])}. "
                     "This measures the distance between the scenario's assumptions and the official count; it does "
                     "not show which of the two is correct. Official totals are themselves disputed (official sources "
                     "differ for the same year), and "
                     "the model estimates capacity, which can exceed the number of transplants performed."),
        evidence=[{"year": r["year"], "official": r["value"], "qualifier": r["qualifier"], "row": r["record_id"],
                   "p_model_exceeds": r["p_model_exceeds"]} for r in rows]
        + [{"estimate_row": e["record_id"], "estimator": e["estimator"], "low": e["value_low"], "high": e["value_high"],
            "quantity": e["quantity"], "p_model_within": e.get("p_model_within")}
           for e in result.get("published_estimates", [])
           if isinstance(e.get("value_low"), (int, float)) and isinstance(e.get("value_high"), (int, float))],
        provenance=_prov(result),
        sources=row_sources([r["record_id"] for r in rows]),
    )


def calibration_finding(result: dict[str, Any]) -> Finding:
    cal = result.get("calibration") or {}
    sc = result["scenario"]
    obs = cal.get("observations", [])
    if cal.get("status") != "ok":
        return Finding(
            check="volume.calibration", engine=ENGINE, title="Calibration of the transplant share f",
            subject="hospitals stating both beds and an annual volume", kind=Kind.DESCRIPTIVE,
            explanation=f"Calibration status: {cal.get('status', 'not run')}.", provenance=_prov(result),
            not_tested=[f"{len(cal.get('excluded', []))} stated annual volumes could not be paired with a bed figure"])
    post, prior, data_only = cal["posterior"], cal["prior"], cal["data_only"]
    level = cal.get("conflict", "none")
    stated = ", ".join(f"{o['hospital_id']} {o['transplants_per_bed_year']:.2g}/bed-year (row {o['volume_row']})"
                       for o in obs)
    m = result["per_bed_yield"]["model"]
    calib = cal.get("calibrated", {})
    calib_do = cal.get("calibrated_data_only", {})
    return Finding(
        check="volume.calibration", engine=ENGINE,
        title="Calibrating the transplant share against hospitals that state both beds and volumes",
        subject=f"{len(obs)} hospitals with a bed figure and a stated annual volume: {stated}",
        kind=Kind.DESCRIPTIVE,
        statistics={"prior_mean": prior["mean"], "posterior_mean": post["mean"], "posterior_p5": post["p5"],
                    "posterior_p95": post["p95"], "contraction": cal["contraction"],
                    "posterior_mass_lower_edge": cal["posterior_mass_lower_edge"],
                    "data_only_f_median": data_only["median"], "data_only_f_p5": data_only["p5"],
                    "data_only_f_p95": data_only["p95"], "integration_ess": cal["integration_ess"],
                    "grid_halving_error": cal["grid_halving_error"],
                    "model_yield_per_bed_median": m["median"], "model_yield_per_bed_p5": m["p5"],
                    "calibrated_median": calib.get("median"), "calibrated_p5": calib.get("p5"),
                    "calibrated_p95": calib.get("p95"), "data_only_calibrated_median": calib_do.get("median"),
                    "data_only_calibrated_p5": calib_do.get("p5"), "data_only_calibrated_p95": calib_do.get("p95")},
        reference={"prior": sc["parameters"]["share"]["describe"], "noise_sd": cal["settings"]["noise_sd"],
                   "reporting_bias": cal["settings"]["reporting_bias"], "lower_bounds": cal["settings"]["lower_bounds"],
                   "method": "grid posterior over f in (0, 1]; beds, occupancy and stay integrated by Monte Carlo"},
        explanation=(f"The stated volumes correspond to {stated}; the scenario's assumptions imply a median of "
                     f"{m['median']:.3g} transplants per bed-year (90 % {m['p5']:.3g}–{m['p95']:.3g}). "
                     f"Prior-data conflict: {level}. With the scenario's prior the posterior mean of f is "
                     f"{post['mean']:.3g} (prior mean {prior['mean']:.3g}); without that prior (flat in log f) the "
                     f"stated volumes point to f of about {data_only['median']:.2g} (90 % {data_only['p5']:.2g}–"
                     f"{data_only['p95']:.2g}). Re-running the national model with that f gives a median of "
                     f"{_n(calib_do.get('median'))} (90 % {_n(calib_do.get('p5'))}–{_n(calib_do.get('p95'))}). "
                     + _robustness_text(cal) +
                     "The data cannot tell apart a low transplant share, longer stays, or stated volumes that "
                     "under-state activity (the reporting-bias term): the advocate and critic scenarios read the "
                     "same gap in opposite ways."),
        evidence=[{**c} for c in cal["checks"]] + [{"excluded_row": e["row"], "reason": e["reason"]}
                                                   for e in cal.get("excluded", [])],
        provenance=_prov(result, {"calibration": cal["settings"]}),
        sources=row_sources([o["volume_row"] for o in obs] + [r for o in obs for r in o["bed_rows"]]),
        not_tested=["Only hospitals that publish both a transplant-bed count and an annual volume can inform f; "
                    f"{len(cal.get('excluded', []))} stated volumes had no usable bed figure.",
                    "Reporting-bias terms for each kind of publisher are not identifiable from so few pairs; a "
                    "single bias term is set by the scenario."],
    )


def _robustness_text(cal: dict[str, Any]) -> str:
    rob = cal.get("robustness") or []
    cens = [r for r in rob if r["lower_bounds"] == "censored"]
    appr = [r for r in rob if r["lower_bounds"] == "approx"]
    if not cens or not appr:
        return ""
    a_lo, a_hi = min(r["data_only_f_median"] for r in appr), max(r["data_only_f_median"] for r in appr)
    c_lo = min(r["data_only_f_p5"] for r in cens)
    return (f"Across reporting-noise settings 0.25–1 the data-only f stays at {a_lo:.2g}–{a_hi:.2g} when \"more than "
            f"X\" is read as about X; if it is read as a censored lower bound, the stated volumes only rule out f "
            f"below about {c_lo:.2g}, so the conflict depends on that reading. ")


def donors_finding(result: dict[str, Any]) -> Finding:
    d = result["donors"]
    q = d["deceased_donors_per_year"]
    sc = result["scenario"]
    off = d["official_deceased_donors"]
    ref = off[0] if off else None
    return Finding(
        check="volume.implied_donors", engine=ENGINE, title="Deceased donors implied by the modelled volume",
        subject=f"'{sc['name']}' scenario, organs per donor {_describe(d['organs_per_donor'])}, living-donor "
                f"share {_describe(d['living_donor_share'])}",
        kind=Kind.DESCRIPTIVE,
        statistics={"median": q["median"], "p5": q["p5"], "p95": q["p95"],
                    **({"official": ref["value"], "p_model_exceeds_official": ref["p_model_exceeds"]} if ref else {})},
        reference={"assumption": d["assumption"], "rows": d["organs_per_donor_rows"] + d["living_donor_share_rows"],
                   **({"official_row": ref["record_id"]} if ref else {})},
        explanation=(f"At the stated organs-per-donor and living-donor assumptions, the modelled volume implies a "
                     f"median of {_n(q['median'])} deceased donors a year (90 % {_n(q['p5'])}–{_n(q['p95'])}). "
                     + (f"The official figure for {ref['year']} is {_n(ref['value'])} (row {ref['record_id']}). "
                        if ref else "") + d["note"][0].upper() + d["note"][1:] + "."),
        provenance=_prov(result),
        sources=row_sources(d["organs_per_donor_rows"] + d["living_donor_share_rows"]
                            + ([ref["record_id"]] if ref else [])),
    )


def validation_finding(result: dict[str, Any]) -> Finding:
    return Finding(
        check="volume.validation", engine=ENGINE, title="Validation on a country with known totals",
        subject="GODT countries and US comparators", kind=Kind.DESCRIPTIVE,
        explanation=result["validation"]["statement"], provenance=_prov(result),
        not_tested=["Coverage of the method's intervals on a system with known totals needs US or UK "
                    "transplant-bed and occupancy data that are not embedded."],
    )


def scenarios_finding(results: list[dict[str, Any]]) -> Finding:
    rows = [(r["scenario"]["name"], r["median"], r["p5"], r["p95"]) for r in results]
    text = "; ".join(f"{n}: median {_n(m)} (90 % {_n(a)}–{_n(b)})" for n, m, a, b in rows)
    base = results[0]
    robust = _robust_statement(results)
    return Finding(
        check="volume.scenarios", engine=ENGINE, title="The same model under different scenario files",
        subject=", ".join(r["scenario"]["name"] for r in results), kind=Kind.DESCRIPTIVE,
        statistics={f"median[{n}]": m for n, m, _, _ in rows},
        reference={r["scenario"]["name"]: {"source": r["scenario"]["source"], "sha256": r["scenario"]["sha256"],
                                           "share": r["scenario"]["parameters"]["share"]["describe"],
                                           "length_of_stay": r["scenario"]["parameters"]["length_of_stay"]["describe"]}
                   for r in results},
        explanation=(f"{text}. Each scenario file encodes one reading of the evidence; the spread between them is "
                     "the part of the answer that comes from assumptions rather than from the bed figures. "
                     + robust),
        provenance=_prov(base, {"scenarios": [r["scenario"]["source"] for r in results]}),
    )


def _robust_statement(results: list[dict[str, Any]]) -> str:
    """Which comparison with the official total holds under every scenario shown (docs/specs/volume-method.md §7.7)."""
    year = results[0]["scenario"]["year"]
    off = [o for o in results[0]["vs_official"] if o["year"] == year and not o["qualifier"]]
    if not off:
        return ""
    o = off[0]
    above = [r["scenario"]["name"] for r in results if r["p5"] > o["value"]]
    within = [r["scenario"]["name"] for r in results if r["p5"] <= o["value"] <= r["p95"]]
    cal = (results[0].get("calibration") or {}).get("calibrated_data_only")
    parts = []
    if len(above) == len(results):
        parts.append(f"Under every scenario shown, the capacity interval (90 %) is above the official {year} "
                     f"total of {_n(o['value'])} (row {o['record_id']}).")
    elif within:
        parts.append(f"The official {year} total of {_n(o['value'])} falls inside the 90 % interval of: "
                     f"{', '.join(within)}; the comparison is not robust to the assumptions.")
    if cal:
        inside = cal["p5"] <= o["value"] <= cal["p95"]
        parts.append(f"With the share calibrated on the stated hospital volumes (no prior), the 90 % interval "
                     f"({_n(cal['p5'])}–{_n(cal['p95'])}) {'contains' if inside else 'does not contain'} it. "
                     "Independently of the official count, the stated hospital volumes and the capacity "
                     "assumptions disagree with each other (see the calibration finding).")
    return " ".join(parts)


def findings(result: dict[str, Any], others: list[dict[str, Any]] | None = None) -> list[Finding]:
    out = [capacity_finding(result), worked_example_finding(result), calibration_finding(result),
           vs_official_finding(result), donors_finding(result)]
    if others:
        out.append(scenarios_finding([result] + others))
    out.append(validation_finding(result))
    return out
