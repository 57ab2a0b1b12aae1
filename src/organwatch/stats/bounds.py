"""Plausibility bounds (bounds.toml) and the empirical organs-per-donor distribution from GODT."""

from __future__ import annotations

import functools
import tomllib
from importlib import resources

import numpy as np

from organwatch.datasets.godt import godt_panel

ORGAN_MEASURES = ("dd_kidney_tx", "dd_liver_tx", "total_heart_tx", "dd_lung_tx")


@functools.cache
def bounds() -> dict:
    return tomllib.loads((resources.files("organwatch.stats") / "bounds.toml").read_text("utf-8"))


@functools.cache
def godt_organs_per_donor(vintage: str = "combined") -> dict:
    """Organs transplanted (deceased kidney + liver + heart + deceased lung) per actual deceased donor,
    over every GODT country-year that reports all of them with ≥ 10 donors."""
    p = godt_panel(vintage)
    w = p.pivot_table(index=["iso3", "year"], columns="measure", values="value", aggfunc="first")
    need = [*ORGAN_MEASURES, "total_actual_dd"]
    w = w.dropna(subset=need)
    w = w[w["total_actual_dd"] >= 10]
    r = (w[list(ORGAN_MEASURES)].sum(axis=1) / w["total_actual_dd"]).astype(float).to_numpy()
    return {"values": r, "n": int(r.size), "p50": float(np.median(r)), "p99": float(np.quantile(r, 0.99)),
            "max": float(r.max()), "countries": int(w.index.get_level_values(0).nunique())}
