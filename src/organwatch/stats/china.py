"""The embedded Chinese official series and their source variants.

Default series: the rows flagged ``headline_national_deceased_donors = 1`` (one consistent national
deceased-donor series: 2010, 2015-2024). Where other exact rows give a different number for the same year
(2017: 5,146 vs 5,148; 2018: 6,302 vs 6,316), every combination is a *variant*; the battery runs all of them
and reports how much each result depends on the choice. Rows with ``reliability = low`` are left out of the
variants unless asked for; rows qualified ``approx``/``at_least`` never enter a series.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np
import pandas as pd

from organwatch import datasets
from organwatch.stats.series import Series

# Named windows of the embedded deceased-donor series (years present in the headline series are used).
WINDOWS: dict[str, tuple[int, int, str]] = {
    "paper_2010_2018": (2010, 2018, "COTRS window of Robertson et al. (2010–2018); 2011–2014 not recoverable"),
    "paper_2010_2017": (2010, 2017, "the paper's 'through to 2017' window; 2011–2014 not recoverable"),
    "official_2015_2019": (2015, 2019, "five consecutive official (NHC/COTDF) years"),
    "all_2010_2024": (2010, 2024, "every headline year 2010–2024 (2020–2024 from GODT)"),
}
DEFAULT_WINDOW = "paper_2010_2018"


@dataclass
class Variant:
    name: str
    values: dict[int, float]  # year -> value
    rows: dict[int, pd.Series]  # year -> source row


def annual() -> pd.DataFrame:
    return datasets.load("china_annual_national").frame


def deceased_donor_variants(include_low: bool = False) -> list[Variant]:
    """Headline series plus every combination of conflicting exact values."""
    df = annual()
    dd = df[(df["metric"] == "deceased_donors") & (df["qualifier"] == "exact")]
    if not include_low:
        dd = dd[dd["reliability"] != "low"]
    head = df[df["headline_national_deceased_donors"] == 1]  # 2020–2024 rows are GODT total_actual_dd
    base = {int(r.year): (float(r.value), r) for r in head.itertuples()}
    alts: dict[int, list[tuple[float, object]]] = {}
    for y, (v, r) in base.items():
        cand = {v: r}
        for r2 in dd[dd["year"] == y].itertuples():
            cand.setdefault(float(r2.value), r2)
        alts[y] = sorted(cand.items(), key=lambda kv: (kv[0] != v, kv[0]))
    years = sorted(alts)
    out = []
    for combo in itertools.product(*(alts[y] for y in years)):
        vals = {y: c[0] for y, c in zip(years, combo, strict=False)}
        rows = {y: c[1] for y, c in zip(years, combo, strict=False)}
        diffs = [f"{y}={int(vals[y])}" for y in years if vals[y] != base[y][0]]
        out.append(Variant(name="headline" if not diffs else "headline with " + ", ".join(diffs), values=vals,
                           rows=rows))
    return out


def series_for_window(variant: Variant, window: str) -> Series:
    lo, hi, _ = WINDOWS[window]
    ys = [y for y in sorted(variant.values) if lo <= y <= hi]
    info = datasets.info("china_annual_national")
    return Series(entity="China", measure="deceased_donors", periods=np.array(ys, dtype=float),
                  values=np.array([variant.values[y] for y in ys], dtype=float),
                  sources=[str(variant.rows[y].source_url) for y in ys],
                  label=f"China national deceased donors ({variant.name})", input=info.input_ref(),
                  variant=variant.name)


def row_source(r) -> dict[str, str]:
    return {"label": f"{int(r.year)} {r.metric} = {r.value:g} — {r.attributed_to} ({r.reliability})",
            "url": str(r.source_url)}
