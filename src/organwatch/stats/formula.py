"""Check (a)+(b): formula conformance of a series and its rank among real countries (GODT reference)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from organwatch.datasets.godt import godt_source
from organwatch.findings import Finding, Kind, Provenance, Verdict
from organwatch.stats import fit as F
from organwatch.stats.grading import DEFAULT, Thresholds, grade
from organwatch.stats.reference import build_reference, compare_r2
from organwatch.stats.series import Series, years_text

CHECK = "stats.formula_conformance"


@dataclass
class FormulaOptions:
    window: str = "same-pattern"  # same-pattern | same-years | years
    years: list[int] | None = None
    vintage: str = "combined"
    countries: list[str] | None = None
    min_length: int = 5
    k_out: int = 1
    t0: float | None = None  # origin of the one-parameter quadratic; None = first period − 1
    measure: str = "total_actual_dd"
    exclude: str | None = "CHN"
    thresholds: Thresholds = field(default_factory=lambda: DEFAULT)

    def as_dict(self) -> dict:
        return {
            "window": self.window,
            "years": self.years,
            "vintage": self.vintage,
            "countries": self.countries,
            "min_length": self.min_length,
            "leave_last_out": self.k_out,
            "one_param_origin": self.t0,
            "reference_measure": self.measure,
            "excluded_from_reference": self.exclude,
            **self.thresholds.as_dict(),
        }


MODEL_NAMES = {
    "quadratic": "general quadratic",
    "one_param": "one-parameter quadratic",
    "linear": "straight line",
    "exponential": "exponential curve",
}


def formula_finding(s: Series, opt: FormulaOptions, model: str = "quadratic", extra_inputs=()) -> Finding:
    """One finding: how well ``model`` fits ``s`` and how many reference countries conform at least as well."""
    check = f"{CHECK}.{model}"
    mname = MODEL_NAMES[model]
    params = opt.as_dict() | {"model": model}
    prov = Provenance(inputs=[i for i in [s.input, *extra_inputs] if i is not None], parameters=params)
    subject = f"{s.name}, {s.years_text()}"
    n = len(s.values)
    if n < opt.min_length or np.ptp(s.values) == 0:
        why = (
            f"the series has {n} points, fewer than the minimum of {opt.min_length}"
            if n < opt.min_length
            else "the series is constant, so R² is undefined"
        )
        return Finding(
            check=check,
            subject=subject,
            kind=Kind.TEST,
            verdict=Verdict.NOT_TESTABLE,
            engine="stats",
            title=f"Fit of a {mname}: {s.name}",
            statistics={"n": n},
            explanation=f"Not testable: {why}.",
            provenance=prov,
            not_tested=[why],
            evidence=[{"period": float(p), "value": float(v)} for p, v in zip(s.periods, s.values, strict=False)],
        )
    fits = {}
    for m in F.MODELS:
        try:
            fits[m] = F.fit(s.periods, s.values, m, t0=opt.t0 if m == "one_param" else None)
        except ValueError:
            continue
    q = fits["quadratic"]
    stats: dict = {"n": n, "years": s.years_text()}
    for m, f in fits.items():
        stats[f"r2_{m}"] = f.r2
        stats[f"formula_{m}"] = f.formula
        for k, v in f.params.items():
            stats[f"{m}_{k}"] = v
    stats["one_minus_r2_quadratic"] = 1 - q.r2
    llo = {
        m: F.leave_last_out(s.periods, s.values, m, k=opt.k_out, t0=opt.t0 if m == "one_param" else None)
        for m in ("quadratic", "one_param")
    }
    for tag, rows in llo.items():
        if rows:
            stats[f"leave_last_{opt.k_out}_out_{tag}_max_abs_rel_error"] = max(abs(r["rel_error"]) for r in rows)
    ref = build_reference(
        s.periods,
        mode=opt.window,
        years=opt.years,
        vintage=opt.vintage,
        measure=opt.measure,
        exclude=opt.exclude,
        countries=opt.countries,
    )
    cmp = compare_r2(ref, fits[model].r2, model)
    stats.update(
        {
            "reference_countries": cmp.n_countries,
            "reference_windows": cmp.n_windows,
            "countries_at_least_as_good": cmp.countries_at_least_as_good,
            "windows_at_least_as_good": cmp.windows_at_least_as_good,
            "share_countries_at_least_as_good": (
                cmp.countries_at_least_as_good / cmp.n_countries if cmp.n_countries else None
            ),
            "empirical_p": cmp.p_empirical,
            "rank_among_countries": cmp.rank,
            "distance_ratio_min": cmp.ratio_min,
            "distance_ratio_median": cmp.ratio_median,
        }
    )
    stats["tested_model"] = model
    stats["tested_r2"] = fits[model].r2
    verdict = grade(cmp.p_empirical, cmp.n_countries, opt.thresholds)
    reference = ref.describe() | {
        "statistic": f"R² of the {mname}; each country contributes its best-conforming window",
        **opt.thresholds.as_dict(),
    }
    if verdict is Verdict.NOT_TESTABLE:
        expl = (
            f"Not testable against the reference: only {cmp.n_countries} GODT countries have usable windows "
            f"with the year pattern of this series (minimum {opt.thresholds.min_reference})."
        )
        nt = [expl]
    else:
        share = cmp.countries_at_least_as_good / cmp.n_countries
        f = fits[model]
        others = "; ".join(f"{MODEL_NAMES[m]} {fits[m].r2:.4f}" for m in fits if m != model)
        expl = (
            f"A {mname} ({f.formula}) fits this series with R² = {f.r2:.4f} (1 − R² = {1 - f.r2:.2e}); "
            f"other forms: {others}. Compared with {cmp.n_countries} countries in the GODT {opt.vintage} vintage "
            f"({cmp.n_windows} windows, mode {opt.window}), {cmp.countries_at_least_as_good} "
            f"({share:.0%}) have a window that a {mname} fits at least as well (empirical p = "
            f"{cmp.p_empirical:.3f}): {verdict.value.replace('_', ' ')} compared with "
            f"{cmp.n_countries} countries."
        )
        nt = []
    if llo.get(model):
        r = llo[model][-1]
        expl += (
            f" Fitted without its last {opt.k_out} point(s), the {mname} predicts {r['predicted']:.0f} for "
            f"{r['period']:.0f} against {r['observed']:.0f} observed ({r['rel_error']:+.1%})."
        )
    evidence = [
        {
            "period": float(p),
            "value": float(v),
            "fitted_quadratic": float(fq),
            "fitted_one_param": float(f1),
            "source": src,
        }
        for p, v, fq, f1, src in zip(
            s.periods, s.values, q.fitted, fits["one_param"].fitted, s.sources or [""] * n, strict=False
        )
    ]
    evidence += [
        {"reference_country": c, "r2": v, "years": years_text(ys)} for c, (v, ys) in cmp.best_by_country.items()
    ]
    sources = [
        {"label": f"{s.name}: value for {int(p)}", "url": u} for p, u in zip(s.periods, s.sources, strict=False) if u
    ]
    sources.append(godt_source("GODT (WHO-ONT Global Observatory on Donation and Transplantation), "
                               "reference countries"))
    return Finding(
        check=check,
        subject=subject,
        kind=Kind.TEST,
        verdict=verdict,
        statistics=stats,
        reference=reference,
        explanation=expl,
        evidence=evidence,
        provenance=prov,
        title=f"Fit of a {mname}: {s.name}",
        engine="stats",
        sources=sources,
        not_tested=nt,
    )
