"""Check (e): cross-dataset consistency — totals that must agree.

* BMC 2019 Table 7: Red Cross all-organ total 2016 vs COTRS kidney+liver + CCTV lung + heart;
* COTRS kidney+liver 2016 (Table 7) vs GODT deceased-donor kidney + liver 2016;
* stated national totals vs the sum of their stated components (same year, same source);
* a stated multi-year total vs the sum of the headline annual values (2015–2019 donors);
* provinces vs national: the sum of the provinces that report a year must not exceed the national figure.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from organwatch import datasets
from organwatch.datasets.godt import godt_panel, godt_source
from organwatch.findings import Finding, Kind, Provenance, Verdict
from organwatch.stats.grading import grade

TABLE7_URL = "https://bmcmedethics.biomedcentral.com/articles/10.1186/s12910-019-0406-6/tables/7"


def table7_finding() -> Finding:
    ds = datasets.load("china_table7")
    t = {r.category: int(r.value) for r in ds.frame.itertuples()}
    total, kl, lung, heart = t["all_organs"], t["kidney_and_liver"], t["lung"], t["heart"]
    remainder = total - (kl + lung + heart)
    printed = t.get("remainder")
    # GODT 2016 (2018 vintage) deceased kidney + liver for the same year
    g = godt_panel("2018")
    g = g[(g["iso3"] == "CHN") & (g["year"] == 2016)]
    gv = {r.measure: float(r.value) for r in g.itertuples()}
    godt_kl = gv.get("dd_kidney_tx", float("nan")) + gv.get("dd_liver_tx", float("nan"))
    stats = {
        "red_cross_all_organs_2016": total,
        "cotrs_kidney_and_liver_2016": kl,
        "cctv_lung_2016": lung,
        "cctv_heart_2016": heart,
        "unexplained_remainder": remainder,
        "remainder_printed_in_table": printed,
        "remainder_share_of_total": remainder / total,
        "godt_2016_dd_kidney_plus_liver": godt_kl,
        "godt_minus_cotrs_kidney_liver": godt_kl - kl,
    }
    # reference: how large a share "other organs" (pancreas, small bowel) take in real countries' 2016 totals
    ref = _other_organ_shares(2016)
    share = remainder / total
    at_least = int((ref >= share).sum())
    p = (at_least + 1) / (len(ref) + 1)
    stats.update(
        {
            "reference_countries": int(len(ref)),
            "countries_other_share_at_least_as_large": at_least,
            "reference_other_share_max": float(ref.max()) if len(ref) else None,
            "empirical_p": p,
        }
    )
    verdict = (
        grade(p, len(ref)) if remainder > 0 else (Verdict.CONSISTENT if remainder == 0 else Verdict.HIGHLY_UNUSUAL)
    )
    expl = (
        f"For 2016 the Central Red Cross reports {total:,} organs in all. COTRS kidney and liver transplants "
        f"({kl:,}) plus lung ({lung:,}) and heart ({heart:,}) transplants account for {kl + lung + heart:,}, "
        f"leaving {remainder:,} organs ({remainder / total:.1%}) that the four organ counts do not explain "
        f"(Table 7 prints {printed:,}). GODT's 2016 deceased-donor kidney + liver count is {godt_kl:,.0f}, "
        f"{godt_kl - kl:+,.0f} against COTRS. In GODT 2016, {at_least} of {len(ref)} countries have pancreas and "
        f"small-bowel transplants making up {share:.1%} or more of their deceased-donor organ transplants "
        f"(largest share {ref.max():.1%})."
    )
    return Finding(
        check="stats.cross_consistency.table7_2016",
        subject="China 2016 organ totals: Red Cross vs COTRS + CCTV (BMC 2019 Table 7)",
        kind=Kind.TEST,
        verdict=verdict,
        statistics=stats,
        reference={
            "identity": "all organs = kidney and liver + lung + heart + other organs",
            "note": "the remainder would have to be pancreas, intestine or other organs",
        },
        explanation=expl,
        evidence=[
            {"category": r.category, "value": int(r.value), "source": r.footnote_source_verbatim}
            for r in ds.frame.itertuples()
        ],
        provenance=Provenance(inputs=[ds.info.input_ref(), datasets.info("godt_yu2018").input_ref()]),
        title="2016 organ totals that should agree (Table 7)",
        engine="stats",
        sources=[
            {"label": "BMC Medical Ethics 20:79 (2019), Table 7", "url": TABLE7_URL},
            godt_source("GODT 2018 export, China 2016"),
        ],
    )


def _other_organ_shares(year: int, vintage: str = "combined") -> pd.Series:
    """Per country: (pancreas + small bowel) / (deceased kidney + liver + heart + deceased lung + those)."""
    p = godt_panel(vintage)
    w = p[p["year"] == year].pivot_table(index="iso3", columns="measure", values="value", aggfunc="first")
    main = ["dd_kidney_tx", "dd_liver_tx", "total_heart_tx", "dd_lung_tx"]
    other = ["pancreas_tx", "small_bowel_tx"]
    w = w.dropna(subset=main + other).drop(index=["CHN"], errors="ignore").astype(float)
    tot = w[main + other].sum(axis=1)
    w = w[tot >= 100]
    return (w[other].sum(axis=1) / tot[tot >= 100]).sort_values()


def _annual() -> pd.DataFrame:
    return datasets.load("china_annual_national").frame


def component_sum_findings() -> list[Finding]:
    """Stated transplant totals vs the sum of stated organ counts from the same source and year."""
    df = _annual()
    ex = df[df["qualifier"] == "exact"]
    out = []
    comps = ["kidney_tx", "liver_tx", "heart_tx", "lung_tx"]
    for (year, url), g in ex.groupby(["year", "source_url"]):
        m = {r.metric: float(r.value) for r in g.itertuples()}
        if "transplant_operations_total_incl_living" in m and all(c in m for c in comps):
            total = m["transplant_operations_total_incl_living"]
            s = sum(m[c] for c in comps)
            diff = s - total
            out.append(
                Finding(
                    check="stats.cross_consistency.component_sum",
                    subject=f"China {int(year)} stated transplant total vs its organ counts",
                    kind=Kind.DESCRIPTIVE,
                    statistics={
                        "year": int(year),
                        "stated_total": total,
                        "sum_of_components": s,
                        "difference": diff,
                        **{c: m[c] for c in comps},
                    },
                    reference={"identity": "total = kidney + liver + heart + lung (same source)"},
                    explanation=(
                        f"The same {int(year)} source states {total:,.0f} transplants and organ counts that sum "
                        f"to {s:,.0f} (kidney {m['kidney_tx']:,.0f}, liver {m['liver_tx']:,.0f}, heart "
                        f"{m['heart_tx']:,.0f}, lung {m['lung_tx']:,.0f}): a difference of {diff:+,.0f}."
                    ),
                    evidence=[
                        {"metric": r.metric, "value": float(r.value), "verbatim": r.verbatim} for r in g.itertuples()
                    ],
                    provenance=Provenance(inputs=[datasets.info("china_annual_national").input_ref()]),
                    title=f"{int(year)} transplant total vs its organ counts",
                    engine="stats",
                    sources=[{"label": f"{int(year)} official figures", "url": str(url)}],
                )
            )
    return out


def period_total_finding() -> Finding:
    """COTDF's 2015–2019 donor total vs the sum of the headline annual values."""
    snaps = datasets.load("china_cumulative_snapshots").frame
    row = snaps[(snaps["metric"] == "cumulative_deceased_donors_2015_2019") & (snaps["qualifier"] == "exact")].iloc[0]
    df = _annual()
    head = df[
        (df["metric"] == "deceased_donors")
        & (df["headline_national_deceased_donors"] == 1)
        & df["year"].between(2015, 2019)
    ].sort_values("year")
    s = float(head["value"].sum())
    alt = df[(df["metric"] == "deceased_donors") & (df["year"] == 2017) & (df["value"] == 5148)]
    diff = s - float(row.value)
    return Finding(
        check="stats.cross_consistency.period_total",
        subject="China deceased donors 2015–2019: stated period total vs annual values",
        kind=Kind.DESCRIPTIVE,
        statistics={
            "stated_total": float(row.value),
            "sum_of_headline_annual": s,
            "difference": diff,
            "sum_with_2017_as_5148": s - 5146 + 5148 if len(alt) else None,
        },
        reference={"identity": "period total = sum of annual values"},
        explanation=(
            f"COTDF's 2015–2019 total of {float(row.value):,.0f} equals the sum of the headline "
            f"annual figures ({' + '.join(f'{v:,.0f}' for v in head['value'])} = {s:,.0f}); with "
            f"CODAC's 5,148 for 2017 the sum would be {s + 2:,.0f}. This supports 5,146 for 2017."
        ),
        evidence=[
            {"year": int(r.year), "value": float(r.value), "source": str(r.source_url)} for r in head.itertuples()
        ],
        provenance=Provenance(
            inputs=[
                datasets.info("china_annual_national").input_ref(),
                datasets.info("china_cumulative_snapshots").input_ref(),
            ]
        ),
        title="2015–2019 donor total vs annual figures",
        engine="stats",
        sources=[{"label": "COTDF report via Global Times", "url": str(row.source_url)}],
    )


def provinces_vs_national_finding() -> Finding:
    prov = datasets.load("china_provincial").frame
    ann = prov[
        (prov["period_type"] == "annual") & (prov["metric"] == "deceased_donors") & (prov["qualifier"] == "exact")
    ]
    df = _annual()
    nat = df[(df["metric"] == "deceased_donors") & (df["qualifier"] == "exact") & (df["reliability"] != "low")]
    nat_by_year = nat.groupby("year")["value"].min()  # smallest exact national figure: the strictest bound
    rows: list[dict[str, Any]] = []
    for y, g in ann.groupby(ann["period_start"].str[:4]):
        year = int(y)
        if year in nat_by_year.index:
            s = float(g["value"].sum())
            rows.append(
                {
                    "year": year,
                    "provinces": ", ".join(sorted(g["province"].unique())),
                    "sum_provinces": s,
                    "national": float(nat_by_year[year]),
                    "share": s / float(nat_by_year[year]),
                }
            )
    bad = [r for r in rows if r["sum_provinces"] > r["national"]]
    expl = (
        "; ".join(
            f"{r['year']}: {r['provinces']} {r['sum_provinces']:,.0f} of national {r['national']:,.0f} "
            f"({r['share']:.0%})"
            for r in rows
        )
        or "No year has both provincial and national exact counts."
    )
    return Finding(
        check="stats.cross_consistency.provinces_national",
        subject="China provincial vs national deceased donors",
        kind=Kind.DESCRIPTIVE,
        statistics={"years_compared": len(rows), "years_provinces_exceed_national": len(bad)},
        reference={"identity": "sum of reporting provinces ≤ national total"},
        explanation=expl,
        evidence=rows,
        provenance=Provenance(
            inputs=[datasets.info("china_provincial").input_ref(), datasets.info("china_annual_national").input_ref()]
        ),
        title="Provincial donors vs the national total",
        engine="stats",
        not_tested=[
            "Only a few provinces report annual donors (Guangdong 2010–2014); the five provincial "
            "datasets of Robertson et al. were not recovered."
        ],
    )
