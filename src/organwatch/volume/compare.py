"""What the model's distribution is shown next to: official totals by year, published estimates, donors.

Official and published numbers are quoted exactly as embedded, with their row ids and source URLs; nothing is
adjusted. ``p_model_exceeds`` is the share of simulation draws above the official figure: a statement about
the model under its assumptions, not about the truth.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from organwatch import datasets
from organwatch.volume.model import quantiles, stream
from organwatch.volume.scenario import Scenario

NATIONAL_PER_YEAR = ("transplants per year",)  # published_estimates quantities that are national annual volumes


def _s(x: Any) -> str:
    return "" if x is None or x is pd.NA or (isinstance(x, float) and math.isnan(x)) else str(x)


def _year(x: Any) -> int | None:
    t = _s(x).strip()
    return int(t) if t.isdigit() and len(t) == 4 else None


def official_totals() -> list[dict[str, Any]]:
    """Single-year official national totals of transplants (all organs), every published figure kept."""
    f = datasets.load("volume_national_totals").frame
    out = []
    for _, r in f.iterrows():
        if _s(r["metric"]) != "transplants_performed" or not _s(r["organ"]).startswith("all"):
            continue
        y0, y1 = _year(r["period_start"]), _year(r["period_end"])
        if y0 is None or y0 != y1 or not _s(r["claim_type"]).startswith("official"):
            continue
        out.append({"year": y0, "value": float(r["value"]), "qualifier": _s(r["value_qualifier"]),
                    "record_id": _s(r["record_id"]), "text_as_published": _s(r["value_text_as_published"]),
                    "claim_type": _s(r["claim_type"]), "source_url": _s(r["source_url"])})
    return sorted(out, key=lambda d: (d["year"], d["record_id"]))


def official_deceased_donors() -> list[dict[str, Any]]:
    f = datasets.load("volume_national_totals").frame
    out = []
    for _, r in f.iterrows():
        if _s(r["metric"]) != "deceased_donors_citizen":
            continue
        y0, y1 = _year(r["period_start"]), _year(r["period_end"])
        if y0 is None or y0 != y1:
            continue
        out.append({"year": y0, "value": float(r["value"]), "qualifier": _s(r["value_qualifier"]),
                    "record_id": _s(r["record_id"]), "source_url": _s(r["source_url"])})
    return sorted(out, key=lambda d: (d["year"], d["record_id"]))


def published_estimates() -> list[dict[str, Any]]:
    """National annual volume estimates (60k-100k, 69k, >40k, the official ~10k ...), exactly as published."""
    f = datasets.load("volume_published_estimates").frame
    out = []
    for _, r in f.iterrows():
        q = _s(r["quantity"])
        # a scope naming one hospital ("Tianjin First Central Hospital") is shown per hospital, not nationally
        if not q.startswith(NATIONAL_PER_YEAR) or "Hospital" in _s(r["scope"]):
            continue
        lo = None if r["value_low"] is pd.NA else int(r["value_low"])
        hi = None if r["value_high"] is pd.NA else int(r["value_high"])
        out.append({"record_id": _s(r["record_id"]), "estimator": _s(r["estimator"]), "pub_year": _s(r["pub_year"]),
                    "quantity": q, "scope": _s(r["scope"]), "period": _s(r["period"]), "value_low": lo,
                    "value_high": hi, "text_as_published": _s(r["value_text_as_published"]),
                    "source_url": _s(r["source_url"])})
    return out


def hospital_estimates() -> dict[str, list[dict[str, Any]]]:
    """Published per-hospital capacity estimates (COHRC Tianjin 8,000, PLA 309 >4,000, WOIPFG 5,000 ...),
    keyed by registry hospital id."""
    from organwatch.volume import registry

    out: dict[str, list[dict[str, Any]]] = {}
    for h in registry.hospitals():
        for f in h.metric("capacity_or_volume_estimate_per_year"):
            out.setdefault(h.hospital_id, []).append({"record_id": f.record_id, "value": f.value,
                                                      "qualifier": f.qualifier, "publisher": f.publisher,
                                                      "source_url": f.source_url})
    return out


def vs_official(total: np.ndarray) -> list[dict[str, Any]]:
    rows = []
    for o in official_totals():
        rows.append({**o, "p_model_exceeds": float((total > o["value"]).mean()),
                     "ratio_model_median_to_official": float(np.median(total) / o["value"]) if o["value"] else None})
    return rows


def vs_published(total: np.ndarray) -> list[dict[str, Any]]:
    out = []
    for e in published_estimates():
        lo, hi = e["value_low"], e["value_high"]
        row = dict(e)
        row["p_model_below_low"] = float((total < lo).mean()) if lo is not None else None
        row["p_model_above_high"] = float((total > hi).mean()) if hi is not None else None
        row["p_model_within"] = float(((total >= lo) & (total <= hi)).mean()) if lo is not None and hi is not None \
            else None
        out.append(row)
    return out


def implied_donors(s: Scenario, total: np.ndarray) -> dict[str, Any]:
    """Deceased donors (each one death) implied by the simulated volume under the donor assumptions."""
    n = total.size
    opd = s.organs_per_donor.sample(stream(s.seed, "donors:organs_per_donor"), n)
    living = s.living_donor_share.sample(stream(s.seed, "donors:living_share"), n)
    donors = total * (1.0 - living) / opd
    official = [d for d in official_deceased_donors() if d["year"] == s.year]
    return {
        "deceased_donors_per_year": quantiles(donors),
        "deaths_per_year": quantiles(donors),  # every deceased donor is one death (assumption A7)
        "organs_per_donor": s.organs_per_donor.to_dict(), "organs_per_donor_rows": s.organs_per_donor_rows,
        "living_donor_share": s.living_donor_share.to_dict(), "living_donor_share_rows": s.living_donor_share_rows,
        "assumption": s.donors_assumption,
        "official_deceased_donors": [{**d, "p_model_exceeds": float((donors > d["value"]).mean())}
                                     for d in official],
        "note": "each deceased donor is one death; the figure says nothing about how donors died",
    }


__all__ = ["official_totals", "official_deceased_donors", "published_estimates", "hospital_estimates", "vs_official",
           "vs_published", "implied_donors"]
