"""Check (f): repeated or stale values across consecutive periods.

A *repeated row* is a country-year whose every reported measure (at least ``min_measures`` non-zero values)
equals the previous year's exactly: the signature of a figure carried forward. The reference is how often
that happens in every other GODT country-year of the same vintage.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from organwatch import datasets
from organwatch.datasets.godt import GODT_VINTAGES, godt_panel, godt_source
from organwatch.findings import Finding, Kind, Provenance, Verdict
from organwatch.stats.series import years_text


def repeated_rows(vintage: str, min_measures: int = 3):
    """DataFrame of (iso3, year, n_measures, repeated) over all countries of a vintage."""
    p = godt_panel(vintage)
    p = p[p["value"] > 0]
    w = p.pivot_table(index=["iso3", "year"], columns="measure", values="value", aggfunc="first").sort_index()
    prev = w.groupby(level=0).shift(1)
    prev_year = w.reset_index().groupby("iso3")["year"].shift(1).to_numpy()
    yrs = w.index.get_level_values(1).to_numpy()
    consecutive = prev_year == yrs - 1
    has = w.notna()
    n = has.sum(axis=1).to_numpy()
    same = ((w == prev) | ~has).all(axis=1).to_numpy() & (has == prev.notna()).all(axis=1).to_numpy()
    out = w.index.to_frame(index=False)
    out["n_measures"] = n
    out["repeated"] = same & consecutive & (n >= min_measures)
    out["eligible"] = consecutive & (n >= min_measures)
    return out


def runs(years: list[int]) -> list[list[int]]:
    """Group repeated years into runs including the year they repeat (2009 repeated → run 2008–2009)."""
    out: list[list[int]] = []
    for y in sorted(years):
        if out and out[-1][-1] == y - 1:
            out[-1].append(y)
        else:
            out.append([y - 1, y])
    return out


def repeats_finding(entity: str = "CHN", vintages=("2016", "2018"), min_measures: int = 3) -> Finding:
    ev: list[dict[str, Any]] = []
    stats: dict[str, Any] = {}
    all_runs: dict[str, list[list[int]]] = {}
    ref_rates = []
    for v in vintages:
        t = repeated_rows(v, min_measures)
        mine = t[t["iso3"] == entity]
        rep_years = [int(y) for y in mine.loc[mine["repeated"], "year"]]
        rr = runs(rep_years)
        all_runs[v] = rr
        others = t[(t["iso3"] != entity) & t["eligible"]]
        rate = float(others["repeated"].mean()) if len(others) else float("nan")
        n_countries = int(others.loc[others["repeated"], "iso3"].nunique())
        stats[f"vintage_{v}_repeated_years"] = len(rep_years)
        stats[f"vintage_{v}_runs"] = "; ".join(years_text(r) for r in rr) or "none"
        stats[f"vintage_{v}_reference_repeat_rate"] = rate
        stats[f"vintage_{v}_reference_country_years"] = int(len(others))
        stats[f"vintage_{v}_reference_countries_with_any_repeat"] = n_countries
        ref_rates.append(rate)
        for y in rep_years:
            vals = godt_panel(v)
            vals = vals[(vals["iso3"] == entity) & (vals["year"] == y)]
            ev.append({"vintage": v, "year": y, "repeats_year": y - 1,
                       "values": {r.measure: float(r.value) for r in vals.itertuples()}})
    longest = max((len(r) for rr in all_runs.values() for r in rr), default=0)
    rate = np.nanmax(ref_rates) if ref_rates else float("nan")
    # probability of a run this long if rows repeated independently at the reference rate
    p_run = rate ** (longest - 1) if longest >= 2 and rate == rate else 1.0
    stats["longest_run_years"] = longest
    stats["p_run_at_reference_rate"] = p_run
    if longest == 0:
        verdict = Verdict.CONSISTENT
    elif p_run <= 0.01:
        verdict = Verdict.HIGHLY_UNUSUAL
    elif p_run <= 0.05:
        verdict = Verdict.UNUSUAL
    else:
        verdict = Verdict.CONSISTENT
    desc = "; ".join(f"GODT {v}: {stats[f'vintage_{v}_runs']}" for v in vintages)
    expl = (f"Years in which every reported {entity} figure (≥ {min_measures} non-zero measures) equals the previous "
            f"year's exactly — {desc}. In other countries such a repeated row occurs in "
            f"{', '.join(f'{r:.2%}' for r in ref_rates)} of eligible country-years; a run of {longest} identical "
            f"years would have probability ≈ {p_run:.1e} at that rate if repeats were independent. Repeated rows are "
            f"most likely figures carried forward; tests on those years (fits, digits) are not meaningful.")
    return Finding(check="stats.repeated_values", subject=f"{entity} rows in GODT vintages {', '.join(vintages)}",
                   kind=Kind.TEST, verdict=verdict, statistics=stats,
                   reference={"source": "GODT", "vintages": list(vintages), "min_measures": min_measures,
                              "statistic": "share of other countries' consecutive country-years that repeat the "
                              "previous year exactly"},
                   explanation=expl, evidence=ev,
                   provenance=Provenance(inputs=[datasets.info(GODT_VINTAGES[v][0]).input_ref() for v in vintages],
                                         parameters={"entity": entity, "min_measures": min_measures}),
                   title=f"Repeated (carried-forward) values: {entity} in GODT", engine="stats",
                   sources=[godt_source()])


def series_repeats(values) -> list[tuple[int, int]]:
    """(start, end) index runs of identical consecutive values in one series (length ≥ 2)."""
    v = np.asarray(values, dtype=float)
    out = []
    i = 0
    while i < len(v) - 1:
        j = i
        while j + 1 < len(v) and v[j + 1] == v[i]:
            j += 1
        if j > i:
            out.append((i, j))
        i = j + 1
    return out
