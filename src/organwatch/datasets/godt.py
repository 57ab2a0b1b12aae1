"""The GODT vintages as one tidy panel: country, iso3, year, measure, value, vintage.

Vintages are never merged silently: every row keeps the vintage it came from, and a country-year that two
vintages report appears twice. ``vintage="combined"`` (the documented default for references) takes the
2018 download for 2000-2017 and the 2025 download for 2020-2024, which do not overlap.
"""

from __future__ import annotations

import functools
import re

import pandas as pd

from organwatch.errors import UsageError

# vintage id -> (catalog name, description)
GODT_VINTAGES: dict[str, tuple[str, str]] = {
    "2016": ("godt_barter2016", "GODT export downloaded 2016 (rlbarter copy), 2000-2014"),
    "2018": ("godt_yu2018", "GODT export downloaded 2018 (Yu-Group copy), 2000-2017"),
    "2025": ("godt_bulla2025", "GODT export downloaded 2025-11-14 (rbullajr copy), 2020-2024"),
}
VINTAGE_CHOICES = ("combined", *GODT_VINTAGES)
DEFAULT_VINTAGE = "combined"

def godt_source(label: str = "GODT export (WHO-ONT)") -> dict[str, str]:
    """A finding's source entry for the GODT reference data: the observatory's export page, as the catalog
    names it (the first source URL of every GODT vintage)."""
    from organwatch.datasets import info

    return {"label": label, "url": info("godt_combined").source_urls[0]}


MEASURES = (
    "total_actual_dd", "actual_dbd", "actual_dcd", "total_utilized_dd", "utilized_dbd", "utilized_dcd",
    "dd_kidney_tx", "ld_kidney_tx", "total_kidney_tx", "dd_liver_tx", "domino_liver_tx", "ld_liver_tx",
    "total_liver_tx", "total_heart_tx", "dd_lung_tx", "ld_lung_tx", "total_lung_tx", "pancreas_tx",
    "kidney_pancreas_tx", "small_bowel_tx",
)


def _snake(col: str) -> str:
    c = re.sub(r"\s+", "_", col.strip().lower())
    return {"reportyear": "year", "total_heart": "total_heart_tx"}.get(c, c)


@functools.cache
def _vintage_long(vintage: str) -> pd.DataFrame:
    from organwatch.datasets import load

    name = GODT_VINTAGES[vintage][0]
    ds = load(name)
    df = ds.frame.rename(columns=_snake)
    iso = load("godt_country_iso3").frame
    iso_map = dict(zip(iso["godt_country_name"], iso["iso3"], strict=False))
    df["iso3"] = df["country"].map(iso_map)
    measures = [m for m in MEASURES if m in df.columns]
    long = df.melt(id_vars=["country", "iso3", "year"], value_vars=measures, var_name="measure", value_name="value")
    long = long.dropna(subset=["value"])
    long["value"] = long["value"].astype("Float64")
    long["country"] = long["country"].astype("string").str.strip()
    long["vintage"] = vintage
    return long[["country", "iso3", "year", "measure", "value", "vintage"]].reset_index(drop=True)


def godt_panel(vintage: str | None = None, measure: str | None = None) -> pd.DataFrame:
    """Tidy GODT panel. ``vintage``: None = every vintage stacked; "combined", "2016", "2018" or "2025"."""
    if vintage is None:
        parts = [_vintage_long(v) for v in GODT_VINTAGES]
    elif vintage == "combined":
        parts = [_vintage_long("2018"), _vintage_long("2025")]
    elif vintage in GODT_VINTAGES:
        parts = [_vintage_long(vintage)]
    else:
        raise UsageError(f"--vintage must be one of {', '.join(VINTAGE_CHOICES)}, not '{vintage}'")
    out = pd.concat(parts, ignore_index=True)
    if measure is not None:
        if measure not in MEASURES:
            raise UsageError(f"unknown GODT measure '{measure}'")
        out = out[out["measure"] == measure]
    return out.sort_values(["iso3", "country", "measure", "year", "vintage"], kind="stable").reset_index(drop=True)


def godt_wide(vintage: str = DEFAULT_VINTAGE, measure: str = "total_actual_dd") -> pd.DataFrame:
    """Countries x years matrix of one measure (NaN where missing), indexed by iso3."""
    p = godt_panel(vintage, measure)
    p = p.dropna(subset=["iso3"])
    dup = p.duplicated(subset=["iso3", "year"], keep=False)
    if dup.any():  # a country appearing under two spellings in one vintage: keep both visible, take first
        p = p[~p.duplicated(subset=["iso3", "year"], keep="first")]
    return p.pivot(index="iso3", columns="year", values="value").astype(float).sort_index()
