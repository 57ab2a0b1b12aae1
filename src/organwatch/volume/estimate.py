"""One model run end to end: simulation, summaries, sensitivity, calibration and comparisons -> result record.

The result record is the ``organwatch volume --json`` contract (specs/cli.md): ``median``, ``p2_5``, ``p5``,
``p25``, ``p75``, ``p95``, ``p97_5`` (national transplants per year), ``seed``, ``draws``, ``scenario``,
``by_hospital``, ``sensitivity``; plus the imputation, calibration, comparisons, implied donors, the worked
example, the validation status and provenance. JSON is byte-stable for a given scenario, seed and draws.
"""

from __future__ import annotations

import json
from typing import Any

from organwatch import __version__, datasets
from organwatch.volume import calibration, compare, model, registry, sensitivity
from organwatch.volume.scenario import Scenario

DATASETS_USED = ("volume_hospitals", "volume_published_parameters", "volume_licensed_hospitals",
                 "volume_national_totals", "volume_published_estimates", "volume_sources",
                 "volume_licensed_roster_beijing")

WORKED_EXAMPLE = {"beds_row": "H0018", "occupancy_row": "H0019", "los_row": "H0020", "published_row": "H0021"}

VALIDATION_STATEMENT = (
    "Not run: the method needs, for a country whose true totals are known, hospital transplant-bed counts, "
    "occupancy and length of stay. The embedded GODT tables give national transplant counts only, and the US "
    "comparators give volumes, centre counts and length of stay (P0006-P0009, C0001-C0021) but no transplant-bed "
    "counts or occupancy, so no country's capacity inputs can be derived from the available data.")


def worked_example() -> dict[str, Any]:
    """COHRC's Tianjin example, recomputed from the embedded rows as a deterministic special case."""
    h = registry.get("tianjin-first-central-hospital")
    by_id = {f.record_id: f for f in h.figures}
    beds = by_id[WORKED_EXAMPLE["beds_row"]].number
    occ = by_id[WORKED_EXAMPLE["occupancy_row"]].number / 100
    los = by_id[WORKED_EXAMPLE["los_row"]].number_max
    n = model.capacity(beds, occ, los, 1.0)
    published = by_id[WORKED_EXAMPLE["published_row"]].number
    return {"beds": beds, "occupancy": occ, "length_of_stay": los, "share": 1.0, "result": n,
            "result_rounded": int(round(n)), "published": published,
            "published_text": by_id[WORKED_EXAMPLE["published_row"]].text_as_published,
            "rows": list(WORKED_EXAMPLE.values()), "relative_difference": (n - published) / published,
            "formula": f"{beds:g} x {occ:g} x 365 / {los:g} = {n:,.2f}"}


def provenance(s: Scenario) -> dict[str, Any]:
    inputs = [datasets.info(d).input_ref().__dict__ for d in DATASETS_USED]
    inputs.append({"name": f"scenario {s.name} ({s.source})", "sha256": s.sha256})
    return {"inputs": inputs, "version": __version__, "seed": s.seed}


def evidence_mix(by_hospital: list[dict[str, Any]]) -> dict[str, Any]:
    """Publisher categories of the hospital rows that enter the model (docs/specs/volume-method.md §0: the evidence
    base is one-sided)."""
    cat = {f.record_id: f.publisher_category for h in registry.hospitals() for f in h.figures}
    pcat = {}
    pp = datasets.load("volume_published_parameters").frame
    src = {str(u): str(c) for u, c in zip(datasets.load("volume_sources").frame["source_url"],
                                           datasets.load("volume_sources").frame["publisher_category"], strict=False)}
    for rid, url in zip(pp["record_id"].astype(str), pp["source_url"].astype(str), strict=False):
        pcat[rid] = src.get(url, "not in sources.csv")

    def count(rows: list[str]) -> dict[str, int]:
        out: dict[str, int] = {}
        for r in rows:
            c = cat.get(r) or pcat.get(r) or "unknown"
            out[c] = out.get(c, 0) + 1
        return dict(sorted(out.items(), key=lambda kv: (-kv[1], kv[0])))

    bed_rows = [r for h in by_hospital for r in h["bed_rows"]]
    occ_rows = sorted({r for h in by_hospital for r in h["occupancy_rows"]})
    return {"bed_rows": count(bed_rows), "occupancy_rows": count(occ_rows), "n_bed_rows": len(bed_rows),
            "n_occupancy_rows": len(occ_rows)}


def run(s: Scenario, with_calibration: bool = True, keep_draws: bool = False) -> dict[str, Any]:
    sim = model.simulate(s)
    total = sim.total
    q = model.quantiles(total)
    per_h = model.quantiles_columns(sim.per_hospital)
    hosp_est = compare.hospital_estimates()
    by_hospital = []
    for h, qh in zip(sim.hospitals, per_h, strict=False):
        by_hospital.append({
            "hospital_id": h.hospital_id, "name_en": h.name_en, "name_zh": h.name_zh, "province": h.province,
            "beds": h.describe_beds(s.bed_conflicts), "bed_rows": h.bed_rows,
            "occupancy": h.occupancy.describe(), "occupancy_basis": h.occupancy_basis,
            "occupancy_rows": h.occupancy_rows, **qh,
            "published_estimates": hosp_est.get(h.hospital_id, []),
        })
    imputation = {
        "method": s.imputation_method, "frame": sim.frame, "frame_rows": sim.frame_rows,
        "profiled_with_beds": len(model.hospital_inputs(s, restrict=False)), "imputed_hospitals": sim.n_imputed,
        "bootstrap_bed_mean": sim.pool_moments[0], "bootstrap_bed_variance": sim.pool_moments[1],
        "bed_scale": s.imputation_bed_scale.to_dict(), "assumption": s.imputation_assumption,
        "sum_method": ("none" if not sim.n_imputed else "exact bootstrap" if sim.n_imputed <= model.EXACT_BOOTSTRAP_MAX
                       else "gamma with the bootstrap sum's exact mean and variance"),
        **({f"imputed_{k}": v for k, v in model.quantiles(sim.imputed).items()} if sim.n_imputed else {}),
        "notes": sim.notes,
    }
    sens = sensitivity.analyse(sim.inputs, total)
    yield_draws = sim.inputs["share (f)"] * sim.inputs["occupancy (u, bed-weighted)"] * model.DAYS_PER_YEAR / \
        sim.inputs["length of stay (L)"]
    result: dict[str, Any] = {
        "organwatch_version": __version__,
        **q, "mean": float(total.mean()),
        "seed": s.seed, "draws": s.draws,
        "scenario": s.to_dict(),
        "by_hospital": by_hospital,
        "imputation": imputation,
        "evidence_mix": evidence_mix(by_hospital),
        "sensitivity": sens,
        "per_bed_yield": {"model": model.quantiles(yield_draws)},
        "vs_official": compare.vs_official(total),
        "published_estimates": compare.vs_published(total),
        "donors": compare.implied_donors(s, total),
        "worked_example": worked_example(),
        "validation": {"status": "not_possible", "statement": VALIDATION_STATEMENT},
        "provenance": provenance(s),
    }
    if with_calibration:
        cal = calibration.calibrate(s)
        stated = [{"row": o["volume_row"], "hospital_id": o["hospital_id"], "stated": o["stated_annual_volume"],
                   "qualifier": o["qualifier"], "beds": o["beds"], "transplants_per_bed_year":
                   o["transplants_per_bed_year"], "p_model_yield_at_or_below":
                   float((yield_draws <= o["transplants_per_bed_year"]).mean())}
                  for o in cal.get("observations", [])]
        result["per_bed_yield"]["stated"] = stated
        if cal.get("status") == "ok":
            cal["conflict"] = calibration.conflict_level(cal)
            for key, label in (("posterior_grid", "calibrated"), ("data_only_grid", "calibrated_data_only")):
                f = calibration.sample_posterior(cal, s.seed, s.draws, key)
                t2 = model.simulate(s, share_override=f).total
                cal[label] = {**model.quantiles(t2), "p_exceeds_official": [
                    {"year": o["year"], "record_id": o["record_id"], "value": o["value"],
                     "p_model_exceeds": float((t2 > o["value"]).mean())} for o in compare.official_totals()]}
        cal.pop("posterior_grid", None)
        cal.pop("data_only_grid", None)
        result["calibration"] = cal
    if keep_draws:
        result["_draws"] = total
    return result


def to_json(result: dict[str, Any]) -> str:
    r = {k: v for k, v in result.items() if not k.startswith("_")}
    return json.dumps(_jsonable(r), ensure_ascii=False, sort_keys=True, indent=1, allow_nan=False) + "\n"


def _jsonable(x: Any) -> Any:
    from organwatch.findings import _jsonable as j

    return j(x)


def scenario_table(results: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per scenario for side-by-side display."""
    rows = []
    for r in results:
        sc = r["scenario"]
        cal = r.get("calibration", {})
        rows.append({"scenario": sc["name"], "source": sc["source"], "median": r["median"], "p5": r["p5"],
                     "p95": r["p95"], "p2_5": r["p2_5"], "p97_5": r["p97_5"],
                     "share": sc["parameters"]["share"]["describe"],
                     "length_of_stay": sc["parameters"]["length_of_stay"]["describe"],
                     "occupancy": sc["parameters"]["occupancy"]["describe"],
                     "imputed_hospitals": r["imputation"]["imputed_hospitals"],
                     "calibrated_median": cal.get("calibrated", {}).get("median"),
                     "seed": r["seed"], "draws": r["draws"]})
    return rows


__all__ = ["run", "to_json", "worked_example", "scenario_table", "evidence_mix"]
