"""Reproduction status of every published result of Robertson, Hinde & Lavee (2019) we recovered.

For each ``result_id`` of ``published_results.csv`` one finding with ``statistics.status``:

* ``reproduced``: recomputed from embedded data and equal at the published precision;
* ``differs``: recomputed, but the value differs (computed value and reason given);
* ``not_reproducible``: an input is missing (named), or the result is descriptive with nothing to compute.

These are ``reproduction`` findings: a status in words, never a graded verdict; ``statistics`` carries the
``published`` value, the ``computed`` value (None when nothing could be computed) and the ``reason``.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

import numpy as np
import pandas as pd

from organwatch import datasets
from organwatch.findings import Finding, Kind, Provenance, Status
from organwatch.stats import fit as F
from organwatch.stats.china import deceased_donor_variants
from organwatch.stats.counters import snapshot_pairs
from organwatch.stats.reference import build_reference, compare_r2

MISSING_COTRS = (
    "COTRS annual deceased donors 2011–2014 (2012 and 2013 not found anywhere; 2011 = 132 and "
    "2014 ≈ 1,700 only from one press source)"
)


def at_precision(computed: float, published: str) -> bool:
    """Equal when rounded to the published number of decimals (e.g. 0.997 vs 0.99758 → 0.998: not equal)."""
    d = Decimal(published.strip())
    exponent = d.as_tuple().exponent
    places = -exponent if isinstance(exponent, int) and exponent < 0 else 0
    return round(Decimal(repr(float(computed))), places) == d


def _headline():
    return deceased_donor_variants()[0]


def _r2_available(lo: int, hi: int) -> tuple[float, list[int]]:
    v = _headline()
    ys = [y for y in sorted(v.values) if lo <= y <= hi]
    return F.fit(ys, [v.values[y] for y in ys]).r2, ys


def _quadratic_r2(row, lo, hi) -> tuple[str, dict, str]:
    r2, ys = _r2_available(lo, hi)
    return (
        "not_reproducible",
        {"published": _text(row.value), "r2_on_available_years": r2, "available_years": ys},
        f"Needs {MISSING_COTRS}. On the available headline years {ys} the general quadratic gives "
        f"R² = {r2:.4f} — a different input, so not a reproduction.",
    )


def _godt_n(row) -> tuple[str, dict, str]:
    ref = build_reference(range(2010, 2018), mode="years", years=list(range(2010, 2018)), vintage="2018")
    n = len(ref.countries)
    return (
        "differs",
        {"published": 50, "computed": n, "computed_countries_complete_2010_2017": n, "vintage": "2018"},
        f"In the GODT 2018 download, {n} countries other than China have a complete, non-constant deceased-"
        f"donor series for 2010–2017, not 50; the paper's selection rule and vintage were not recovered.",
    )


def _godt_distance(row) -> tuple[str, dict, str]:
    ref = build_reference(range(2010, 2018), mode="years", years=list(range(2010, 2018)), vintage="2018")
    c = compare_r2(ref, 0.999, "quadratic")
    ratios = np.array([(1 - v) / 0.001 for v, _ in c.best_by_country.values()])
    in_band = int(np.sum((ratios >= 10) & (ratios <= 100)))
    ok = in_band == ratios.size
    return (
        "reproduced" if ok else "differs",
        {
            "computed": f"{in_band} of {ratios.size} countries between 10x and 100x further from R² = 1",
            "china_r2_used": 0.999,
            "n_countries": int(ratios.size),
            "ratio_min": float(ratios.min()),
            "ratio_median": float(np.median(ratios)),
            "countries_within_10x_to_100x": in_band,
            "countries_below_10x": int(np.sum(ratios < 10)),
            "countries_above_100x": int(np.sum(ratios > 100)),
        },
        f"Using the published China R² = 0.999 (2010–2017) and GODT 2018 countries over 2010–2017: the nearest "
        f"country is {ratios.min():.1f}× further from R² = 1 (so the lower bound 'one order of magnitude' holds), "
        f"but only {in_band} of {ratios.size} lie between 10× and 100×; the median is {np.median(ratios):.0f}×.",
    )


def _endpoints(row) -> tuple[str, dict, str]:
    v = _headline().values
    ok2010 = v.get(2010) == 34
    return (
        "differs",
        {
            "computed": f"2010: {v.get(2010):.0f}; 2018: {v.get(2018):.0f}",
            "published_2010": 34,
            "published_2018": 6316,
            "official_2010": v.get(2010),
            "official_2018": v.get(2018),
            "difference_2018": 6316 - v.get(2018, float("nan")),
        },
        f"2010: official headline {v.get(2010):.0f} {'matches' if ok2010 else 'differs'}; 2018: the National "
        f"Health Commission's {v.get(2018):.0f} differs from the reported 6,316 by {6316 - v.get(2018):+.0f}.",
    )


def _table7(row) -> tuple[str, dict, str]:
    t = {r.category: int(r.value) for r in datasets.load("china_table7").frame.itertuples()}
    rem = t["all_organs"] - t["kidney_and_liver"] - t["lung"] - t["heart"]
    return (
        "reproduced" if rem == 555 else "differs",
        {"computed": rem, "computed_remainder": rem, "published_remainder": 555},
        f"11,620 − 10,481 − 204 − 380 = {rem:,}.",
    )


def _mismatch(row) -> tuple[str, dict, str]:
    st, stats, txt = _table7(row)
    return (st, stats, "The cross-consistency mismatch is recomputed from Table 7: " + txt)


def _after_correction(row) -> tuple[str, dict, str]:
    p = snapshot_pairs()
    p = p[(p["as_of"] >= "2015-11") & (p["as_of"] <= "2017-05-31")]
    cum = (p["organs"] / p["donors"]).astype(float).to_numpy()
    d = np.diff(p["organs"].astype(float)) / np.diff(p["donors"].astype(float))
    all_275 = all(at_precision(x, "2.75") for x in cum)
    return (
        "reproduced" if all_275 else "differs",
        {
            "published": 2.75,
            "computed": [round(float(x), 4) for x in cum],
            "cumulative_ratios": [round(float(x), 4) for x in cum],
            "increment_ratios": [round(float(x), 4) for x in d],
        },
        f"Exact Red Cross snapshots 2015-11 to 2017-05 give cumulative organs per donor "
        f"{', '.join(f'{x:.4f}' for x in cum)} and increments {', '.join(f'{x:.3f}' for x in d)}: flat near 2.75 "
        f"but not all equal to 2.75 at two decimals; the paper's own snapshot series was not recovered.",
    )


def _march_2016(row) -> tuple[str, dict, str]:
    p = snapshot_pairs()
    return (
        "not_reproducible",
        {"published": _text(row.value), "nearest_snapshots": list(p["as_of"].head(3))},
        "Needs the Red Cross counter readings around March 2016 that the paper used (not recovered); the "
        "embedded exact snapshots 2015-11-09 → 2016-05-05 give 2.735 organs per added donor.",
    )


def _peak(row) -> tuple[str, dict, str]:
    p = snapshot_pairs()
    inc = np.diff(p["organs"].astype(float).to_numpy()) / np.diff(p["donors"].astype(float).to_numpy())
    return (
        "not_reproducible",
        {"published": _text(row.value), "max_embedded_increment": float(np.nanmax(inc))},
        f"Needs the paper's Red Cross snapshot table (not recovered); the largest increment between the embedded "
        f"exact snapshots is {np.nanmax(inc):.3f} organs per added donor.",
    )


def _coincidence(row) -> tuple[str, dict, str]:
    return (
        "reproduced",
        {"computed": 2016 - 2010 + 1, "years_2010_2016_inclusive": 2016 - 2010 + 1},
        "The fit window 2010–2016 reported by AFP spans 7 years (arithmetic on the stated window; the paper's "
        "reasoning behind 'implausible' could not be recomputed).",
    )


def _not(reason: str) -> Callable:
    return lambda row: ("not_reproducible", {}, reason)


HANDLERS: dict[str, Callable] = {
    "cotrs_quadratic_r2_through_2017": lambda r: _quadratic_r2(r, 2010, 2017),
    "cotrs_quadratic_r2_through_2018": lambda r: _quadratic_r2(r, 2010, 2018),
    "afp_fit_accuracy": lambda r: _quadratic_r2(r, 2010, 2018),
    "afp_fit_window_and_prediction": _not(f"Needs {MISSING_COTRS} to refit 2010–2016 and predict 2017."),
    "abstract_cotrs_formula": _not(
        f"Needs {MISSING_COTRS}; the one-parameter fit on available years is in the formula-conformance findings."
    ),
    "one_parameter_quadratic_zh": _not(f"Needs {MISSING_COTRS} and the paper's one-parameter form and origin."),
    "cotrs_quadratic_form": _not(f"Descriptive (y = ax² + bx + c); its coefficients need {MISSING_COTRS}."),
    "godt_comparison_n_countries": _godt_n,
    "godt_comparison_distance": _godt_distance,
    "coincidence_years": _coincidence,
    "cotrs_donors_2010_2018_endpoints": _endpoints,
    "redcross_organs_per_donor_peak_afp": lambda r: _peak(r),
    "redcross_organs_per_donor_march_2016": _march_2016,
    "redcross_organs_per_donor_after_correction": _after_correction,
    "table7_2016_totals": _table7,
    "abstract_mismatch": _mismatch,
    "abstract_provincial": _not("Needs the paper's five provincial datasets (names and values not recovered)."),
    "abstract_methods": _not("Descriptive: a list of methods, nothing to recompute (each method is a check here)."),
    "conclusion_quote": _not("Interpretive conclusion: nothing to recompute."),
    "cotrs_vatican_series": _not("Needs the COTRS 2010–2016 table shown at the Vatican (an image; not recovered)."),
    "datasets_count_aap": _not("Press reports conflict (3 of 12 vs 12 datasets); nothing to recompute."),
}


def _text(x) -> str | None:
    return None if x is None or x is pd.NA or (isinstance(x, float) and x != x) else str(x)


def published_findings() -> list[Finding]:
    ds = datasets.load("china_published_results")
    out = []
    for row in ds.frame.itertuples():
        rid = row.result_id
        if rid in HANDLERS:
            status, stats, why = HANDLERS[rid](row)
        elif row.status in ("not_recovered", "values_not_recovered"):
            status, stats, why = ("not_reproducible", {}, f"Not recovered from any archived source: {row.quantity}.")
        else:  # a new row in the data without a handler: say so rather than guess
            status, stats, why = ("not_reproducible", {}, "No reproduction procedure is defined for this result yet.")
        published = stats.pop("published", None)
        stats = {
            "published": _text(row.value) if published is None else published,
            "computed": stats.pop("computed", None),
            "reason": why,
            "result_id": rid,
            "evidence_level": row.evidence_level,
            **stats,
        }
        out.append(
            Finding(
                check="stats.published_result",
                subject=f"{rid}: {row.quantity}",
                kind=Kind.REPRODUCTION,
                status=Status(status),
                statistics=stats,
                reference={
                    "publication": "Robertson, Hinde & Lavee, BMC Medical Ethics 20:79 (2019)",
                    "verbatim": _text(row.verbatim) or "",
                    "source": _text(row.source_name) or "",
                },
                explanation=why,
                evidence=[],
                provenance=Provenance(inputs=[ds.info.input_ref()], parameters={"result_id": rid}),
                title=f"Published result {rid}",
                engine="stats",
                sources=[{"label": _text(row.source_name) or "source", "url": _text(row.source_url) or ""}],
            )
        )
    return out
