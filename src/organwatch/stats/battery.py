"""The whole battery: every check on the embedded Chinese data, or on user series files."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from organwatch import datasets
from organwatch.findings import Finding, Kind, Provenance
from organwatch.seeds import DEFAULT_SEED
from organwatch.stats import china, consistency, counters, digits, published, ratios, repeats
from organwatch.stats.formula import FormulaOptions, formula_finding
from organwatch.stats.series import Series

# (window, models) run on the embedded deceased-donor series
EMBEDDED_FITS = [
    ("paper_2010_2018", ("quadratic", "one_param")),
    ("paper_2010_2017", ("quadratic",)),
    ("official_2015_2019", ("quadratic",)),
    ("all_2010_2024", ("quadratic", "one_param")),
]
COUNT_UNITS = ("donors", "organs", "operations", "transplants", "count", "large organs", "vital organs",
               "solid organ transplants")


def formula_with_variants(window: str, model: str, opt: FormulaOptions, include_low: bool = False) -> Finding:
    variants = china.deceased_donor_variants(include_low)
    results = []
    for v in variants:
        s = china.series_for_window(v, window)
        results.append((v, formula_finding(s, opt, model)))
    main = results[0][1]
    main.subject += f" [{china.WINDOWS[window][2]}]"
    main.title += f", {china.series_for_window(variants[0], window).years_text()}"
    tested = [(v.name, f.statistics.get("tested_r2"), f.statistics.get("countries_at_least_as_good"),
               f.verdict.value if f.verdict else "")
              for v, f in results]
    r2s = [t[1] for t in tested if t[1] is not None]
    if len(results) > 1 and r2s:
        main.statistics["variants"] = len(results)
        main.statistics["tested_r2_min_over_variants"] = min(r2s)
        main.statistics["tested_r2_max_over_variants"] = max(r2s)
        cnt = [t[2] for t in tested if t[2] is not None]
        main.statistics["countries_at_least_as_good_range_over_variants"] = f"{min(cnt)}–{max(cnt)}" if cnt else "–"
        main.statistics["verdicts_over_variants"] = ", ".join(sorted({t[3] for t in tested}))
        main.evidence += [{"variant": n, "r2": r, "countries_at_least_as_good": c, "verdict": vd}
                          for n, r, c, vd in tested]
        main.explanation += (f" Across the {len(results)} source variants (conflicting official figures for the same "
                             f"year) R² ranges {min(r2s):.4f}–{max(r2s):.4f} and the verdict is "
                             f"{main.statistics['verdicts_over_variants'].replace('_', ' ')}.")
    main.provenance.parameters["window_name"] = window
    main.provenance.parameters["variants"] = [v.name for v in variants]
    return main


def china_digit_values() -> tuple[np.ndarray, list[dict]]:
    df = datasets.load("china_annual_national").frame
    ex = df[(df["qualifier"] == "exact") & (df["reliability"] != "low") & df["unit"].isin(COUNT_UNITS)]
    # GODT's China rows for 2004–2009 are rounded to 50/100 (godt/SOURCES.md caveat 3): a digit test would only
    # detect that rounding, so they are left out and the finding says so.
    ex = ex[~((ex["source_type"] == "godt_dataset") & (ex["year"] < 2010))]
    ex = ex.drop_duplicates(subset=["metric", "value"])  # carried-forward GODT rows and repeated reports count once
    return ex["value"].astype(float).to_numpy(), [{"label": "official annual national figures (exact rows)",
                                                   "url": "see china_annual_national source_url column"}]


DIGIT_EXCLUSIONS = ("GODT China rows 2004–2009 are rounded to 50/100 (GODT SOURCES caveat 3) and are left out of the "
                    "digit tests; approximate and low-reliability rows are left out; a value reported by several "
                    "sources counts once.")


def embedded_battery(opt: FormulaOptions | None = None, include_low: bool = False, seed: int = DEFAULT_SEED,
                     sims: int = 100_000) -> list[Finding]:
    opt = opt or FormulaOptions()
    out: list[Finding] = []
    for window, models in EMBEDDED_FITS:
        for m in models:
            out.append(formula_with_variants(window, m, opt, include_low))
    for r in ratios.RATIOS:
        out.append(ratios.ratio_finding("CHN", r, vintage=opt.vintage, th=opt.thresholds))
    out.append(counters.counter_finding())
    out.append(consistency.table7_finding())
    out.extend(consistency.component_sum_findings())
    out.append(consistency.period_total_finding())
    out.append(consistency.provinces_vs_national_finding())
    out.append(repeats.repeats_finding("CHN"))
    vals, src = china_digit_values()
    ref = [datasets.info("china_annual_national").input_ref()]
    for kind in ("first", "last"):
        f = digits.digit_finding(vals, "China official annual counts (exact, distinct)", kind, sims=sims,
                                 seed=seed, inputs=ref, th=opt.thresholds, sources=src)
        f.not_tested.append(DIGIT_EXCLUSIONS)
        out.append(f)
    out.extend(published.published_findings())
    return out


def series_battery(series: list[Series], opt: FormulaOptions, seed: int = DEFAULT_SEED, sims: int = 100_000,
                   digit_min_n: tuple[int, int] | None = None) -> list[Finding]:
    """Checks that apply to any user series: formula fits vs GODT, repeated values, digit tests."""
    out: list[Finding] = []
    for s in series:
        o = replace(opt, exclude=opt.exclude)
        for m in ("quadratic", "one_param"):
            out.append(formula_finding(s, o, m))
        out.append(_series_repeats(s))
    by_input: dict[str, list[Series]] = {}
    for s in series:
        by_input.setdefault(s.input.name if s.input else "", []).append(s)
    for name, ss in by_input.items():
        vals = np.concatenate([s.values for s in ss])
        for kind, mn in zip(("first", "last"), digit_min_n or (None, None), strict=False):
            out.append(digits.digit_finding(vals, f"all values in {name}", kind, min_n=mn, sims=sims, seed=seed,
                                            inputs=[ss[0].input] if ss[0].input else [], th=opt.thresholds))
    return out


def _series_repeats(s: Series) -> Finding:
    runs = repeats.series_repeats(s.values)
    desc = "; ".join(f"{s.periods[a]:g}–{s.periods[b]:g} = {s.values[a]:g}" for a, b in runs)
    return Finding(check="stats.repeated_values.series", subject=s.name, kind=Kind.DESCRIPTIVE,
                   statistics={"runs": len(runs), "repeated_points": int(sum(b - a for a, b in runs))},
                   reference={"rule": "identical non-zero values in consecutive periods"},
                   explanation=(f"Identical consecutive values: {desc}." if runs else
                                "No value repeats the previous period's exactly."),
                   evidence=[{"from": float(s.periods[a]), "to": float(s.periods[b]), "value": float(s.values[a]),
                              "rows": s.rows[a:b + 1]} for a, b in runs],
                   provenance=Provenance(inputs=[s.input] if s.input else []), title=f"Repeated values: {s.name}",
                   engine="stats")
