"""Check (c): internal-ratio constancy and physiological plausibility.

For a ratio series (e.g. deceased-donor kidney:liver transplants), constancy is measured by the coefficient
of variation (CV = sd / mean) across periods and compared with the same ratio over the same years in every
GODT country: an unusually *constant* ratio is what the test looks for.
"""

from __future__ import annotations

import numpy as np

from organwatch.datasets import info
from organwatch.datasets.godt import godt_panel, godt_source
from organwatch.findings import Finding, Kind, Provenance, Verdict
from organwatch.stats.bounds import ORGAN_MEASURES, bounds, godt_organs_per_donor
from organwatch.stats.grading import DEFAULT, Thresholds, grade
from organwatch.stats.series import years_text

RATIOS = {
    "kidney_liver": (("dd_kidney_tx",), ("dd_liver_tx",), "deceased-donor kidney : liver transplants"),
    "organs_per_donor": (ORGAN_MEASURES, ("total_actual_dd",), "organs transplanted per actual deceased donor"),
    "dcd_share": (("actual_dcd",), ("total_actual_dd",), "share of deceased donors after circulatory death (DCD)"),
}


def _ratio_table(vintage: str, num, den):
    p = godt_panel(vintage)
    w = p.pivot_table(index=["iso3", "year"], columns="measure", values="value", aggfunc="first")
    cols = [*num, *den]
    if any(c not in w.columns for c in cols):
        return None
    w = w.dropna(subset=cols)
    d = w[list(den)].sum(axis=1).astype(float)
    n = w[list(num)].sum(axis=1).astype(float)
    ok = (d > 0) & (n > 0)
    return (n[ok] / d[ok]).unstack("year")


def cv(x: np.ndarray) -> float:
    x = np.asarray(x, dtype=float)
    return float(np.std(x, ddof=1) / np.mean(x)) if x.size > 1 and np.mean(x) else float("nan")


def ratio_finding(
    entity: str = "CHN",
    ratio: str = "kidney_liver",
    vintage: str = "combined",
    th: Thresholds = DEFAULT,
    years_with: str | None = "total_actual_dd",
) -> Finding:
    """``years_with``: only periods where the entity reports this measure (default: its deceased-donor count),
    which keeps carried-forward rows (e.g. GODT China 2010–2014) out of the ratio."""
    num, den, desc = RATIOS[ratio]
    tab = _ratio_table(vintage, num, den)
    check = f"stats.ratio_constancy.{ratio}"
    prov = Provenance(
        inputs=[info("godt_combined").input_ref()],
        parameters={"entity": entity, "ratio": ratio, "vintage": vintage, "years_with": years_with, **th.as_dict()},
    )
    if tab is None or entity not in tab.index:
        return Finding(
            check=check,
            subject=f"{entity} {desc}",
            kind=Kind.TEST,
            verdict=Verdict.NOT_TESTABLE,
            engine="stats",
            title=f"Constancy of {desc}",
            explanation=f"{entity} reports no {desc} in GODT {vintage}.",
            provenance=prov,
            not_tested=[f"no {desc} for {entity} in GODT {vintage}"],
        )
    row = tab.loc[entity].dropna().sort_index()
    if years_with:
        p_ = godt_panel(vintage, years_with)
        keep = set(p_[(p_["iso3"] == entity)]["year"].astype(int))
        row = row[[int(y) in keep for y in row.index]]
    years = [int(y) for y in row.index]
    vals = row.to_numpy(dtype=float)
    tested_cv = cv(vals)
    ref = tab.drop(index=entity)
    ref = (
        ref[[y for y in years if y in ref.columns]].dropna() if all(y in ref.columns for y in years) else ref.iloc[0:0]
    )
    ref_cv = np.array([cv(r) for r in ref.to_numpy(dtype=float)]) if len(ref) else np.array([])
    ref_cv = ref_cv[np.isfinite(ref_cv)]
    at_least = int(np.sum(ref_cv <= tested_cv))
    p = (at_least + 1) / (ref_cv.size + 1)
    verdict = grade(p, int(ref_cv.size), th) if len(years) >= 3 else Verdict.NOT_TESTABLE
    stats = {
        "years": years_text(years),
        "n_periods": len(years),
        "cv": tested_cv,
        "mean": float(vals.mean()),
        "min": float(vals.min()),
        "max": float(vals.max()),
        "reference_countries": int(ref_cv.size),
        "countries_as_constant_or_more": at_least,
        "empirical_p": p,
    }
    if ratio == "organs_per_donor":
        b = bounds()["organs_per_donor"]["max"]
        stats["physiological_max"] = b
        stats["periods_above_max"] = int(np.sum(vals > b))
        emp = godt_organs_per_donor(vintage)
        stats["godt_country_years_p99"] = emp["p99"]
        if np.any(vals > b):
            verdict = Verdict.HIGHLY_UNUSUAL
    expl = (
        f"{entity} {desc}: {', '.join(f'{y} {v:.3f}' for y, v in zip(years, vals, strict=False))} "
        f"(CV {tested_cv:.3f}). "
        + (
            f"Over the same years, {at_least} of {ref_cv.size} GODT countries have a ratio at least as constant "
            f"(empirical p = {p:.3f})."
            if ref_cv.size
            else "No GODT country reports this ratio over the same years."
        )
    )
    nt = (
        []
        if verdict is not Verdict.NOT_TESTABLE
        else [f"needs ≥ 3 periods and ≥ {th.min_reference} reference countries (have {len(years)} and {ref_cv.size})"]
    )
    return Finding(
        check=check,
        subject=f"{entity} {desc}, {years_text(years)} (GODT {vintage})",
        kind=Kind.TEST,
        verdict=verdict,
        statistics=stats,
        reference={
            "source": "GODT",
            "vintage": vintage,
            "statistic": "coefficient of variation of the ratio over the same years",
            "n_countries": int(ref_cv.size),
            **th.as_dict(),
        },
        explanation=expl,
        evidence=[{"period": y, "ratio": float(v)} for y, v in zip(years, vals, strict=False)]
        + [{"reference_cv": float(c)} for c in np.sort(ref_cv)],
        provenance=prov,
        title=f"Constancy of {desc} ({entity})",
        engine="stats",
        sources=[godt_source()],
        not_tested=nt,
    )
