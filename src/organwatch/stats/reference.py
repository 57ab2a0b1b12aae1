"""Empirical reference distributions from the GODT panel.

For a tested series with periods P, the reference is the same statistic computed on real countries' series:

* ``same-years``: exactly the calendar years P, in every country that reports all of them;
* ``same-pattern`` (default): every window with the same year offsets as P (P − min P) in every country, e.g.
  a consecutive 5-year series is compared with every consecutive 5-year window. A country contributes its
  *best-conforming* window to the country-level comparison, which is conservative: it favours finding real
  countries that conform at least as well;
* explicit years (``2010-2017`` or ``2010,2015,2016``): those calendar years.

Windows that contain a missing value, a zero (zeros in the 2025 vintage may be unreported values) or a
constant series are skipped. The tested entity is excluded from its own reference.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from organwatch.datasets.godt import DEFAULT_VINTAGE, GODT_VINTAGES, godt_wide
from organwatch.errors import UsageError

WINDOW_MODES = ("same-pattern", "same-years")


def parse_window(spec: str | None) -> tuple[str, list[int] | None]:
    if spec is None or spec in WINDOW_MODES:
        return (spec or "same-pattern"), None
    try:
        if "-" in spec and "," not in spec:
            a, b = (int(x) for x in spec.split("-", 1))
            if b < a:
                raise ValueError
            return "years", list(range(a, b + 1))
        return "years", sorted({int(x) for x in spec.split(",") if x.strip()})
    except ValueError:
        raise UsageError(
            f"--window must be same-pattern, same-years, YYYY-YYYY or a comma list of years, not '{spec}'"
        ) from None


def model_r2_batch(model: str, T: np.ndarray, Y: np.ndarray, t0_offset: float = 1.0) -> np.ndarray:
    """Vectorised R² of ``model`` for each row of Y (periods T per row). Centred R² on the original scale."""
    T = np.asarray(T, dtype=float)
    Y = np.asarray(Y, dtype=float)
    if T.ndim == 1:
        T = np.broadcast_to(T, Y.shape)
    ybar = Y.mean(axis=1, keepdims=True)
    sst = np.sum((Y - ybar) ** 2, axis=1)
    U = T - T.mean(axis=1, keepdims=True)
    if model in ("quadratic", "linear"):
        cols = [np.ones_like(U), U] + ([U * U] if model == "quadratic" else [])
        X = np.stack(cols, axis=2)
        XtX = np.einsum("mni,mnj->mij", X, X)
        XtY = np.einsum("mni,mn->mi", X, Y)
        coef = np.linalg.solve(XtX, XtY[..., None])[..., 0]
        fitted = np.einsum("mni,mi->mn", X, coef)
    elif model == "one_param":
        x2 = (T - (T.min(axis=1, keepdims=True) - t0_offset)) ** 2
        k = np.sum(x2 * Y, axis=1, keepdims=True) / np.sum(x2 * x2, axis=1, keepdims=True)
        fitted = k * x2
    elif model == "exponential":
        with np.errstate(divide="ignore", invalid="ignore"):
            L = np.log(np.where(Y > 0, Y, np.nan))
        n = U.shape[1]
        lbar = L.mean(axis=1, keepdims=True)
        b = np.sum(U * (L - lbar), axis=1, keepdims=True) / np.sum(U * U, axis=1, keepdims=True)
        fitted = np.exp(lbar + b * U)
        del n
    else:
        raise ValueError(model)
    ssr = np.sum((Y - fitted) ** 2, axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        r2 = 1.0 - ssr / sst
    r2[sst == 0] = np.nan
    return r2


@dataclass
class Reference:
    mode: str
    vintage: str
    measure: str
    offsets: list[int]
    windows: list[tuple[str, list[int]]]  # (iso3, years)
    values: np.ndarray  # window values (m, n)
    excluded: str = ""
    countries: list[str] = field(default_factory=list)

    def describe(self) -> dict:
        return {
            "source": "WHO-ONT Global Observatory on Donation and Transplantation (GODT)",
            "vintage": self.vintage,
            "vintage_description": _vintage_desc(self.vintage),
            "measure": self.measure,
            "window_mode": self.mode,
            "year_offsets": self.offsets,
            "n_windows": len(self.windows),
            "n_countries": len(set(c for c, _ in self.windows)),
            "excluded_entity": self.excluded,
        }


def _vintage_desc(v: str) -> str:
    if v == "combined":
        return "2018 download for 2000–2017 + 2025 download for 2020–2024 (no overlap)"
    return GODT_VINTAGES[v][1]


def build_reference(
    periods,
    mode: str = "same-pattern",
    years: list[int] | None = None,
    vintage: str = DEFAULT_VINTAGE,
    measure: str = "total_actual_dd",
    exclude: str | None = "CHN",
    countries: list[str] | None = None,
) -> Reference:
    P = sorted(int(p) for p in periods)
    W = godt_wide(vintage, measure)
    if exclude:
        W = W.drop(index=[exclude], errors="ignore")
    if countries:
        W = W.loc[[c for c in W.index if c in set(countries)]]
    cols = [int(c) for c in W.columns]
    M = W.to_numpy(dtype=float)
    colpos = {y: i for i, y in enumerate(cols)}
    if mode == "years":
        starts_years = [years or []]
        offsets = [y - min(years) for y in years] if years else []
    elif mode == "same-years":
        starts_years = [P]
        offsets = [p - P[0] for p in P]
    else:
        offsets = [p - P[0] for p in P]
        starts_years = [[s + o for o in offsets] for s in range(min(cols), max(cols) + 1)]
    windows, vals = [], []
    for ys in starts_years:
        if not ys or any(y not in colpos for y in ys):
            continue
        sub = M[:, [colpos[y] for y in ys]]
        recent = np.array([y >= 2020 for y in ys])  # 2025-vintage years: a zero may be an unreported value
        ok = np.all(np.isfinite(sub), axis=1) & ~np.any((sub <= 0) & recent, axis=1) & (np.ptp(sub, axis=1) > 0)
        for i in np.flatnonzero(ok):
            windows.append((str(W.index[i]), list(ys)))
            vals.append(sub[i])
    arr = np.array(vals, dtype=float) if vals else np.zeros((0, len(P)))
    return Reference(
        mode=mode,
        vintage=vintage,
        measure=measure,
        offsets=offsets,
        windows=windows,
        values=arr,
        excluded=exclude or "",
        countries=sorted(set(c for c, _ in windows)),
    )


@dataclass
class Comparison:
    tested: float
    n_windows: int
    n_countries: int
    windows_at_least_as_good: int
    countries_at_least_as_good: int
    best_by_country: dict[str, tuple[float, list[int]]]
    p_empirical: float  # (countries at least as good + 1) / (countries + 1)
    ratio_min: float | None  # min over countries of (1 − R²_country) / (1 − R²_tested)
    ratio_median: float | None
    rank: int  # rank of the tested series among countries' best windows (1 = most conforming)


def compare_r2(ref: Reference, tested_r2: float, model: str = "quadratic") -> Comparison:
    if len(ref.windows) == 0:
        return Comparison(tested_r2, 0, 0, 0, 0, {}, float("nan"), None, None, 1)
    T = np.array([ys for _, ys in ref.windows], dtype=float)
    r2 = model_r2_batch(model, T, ref.values)
    best: dict[str, tuple[float, list[int]]] = {}
    for (c, ys), v in zip(ref.windows, r2, strict=False):
        if np.isfinite(v) and (c not in best or v > best[c][0]):
            best[c] = (float(v), ys)
    b = np.array([v for v, _ in best.values()])
    at_least = int(np.sum(b >= tested_r2))
    gap = 1.0 - tested_r2
    ratios = (1.0 - b) / gap if gap > 0 else None
    return Comparison(
        tested=tested_r2,
        n_windows=int(np.isfinite(r2).sum()),
        n_countries=len(best),
        windows_at_least_as_good=int(np.sum(r2[np.isfinite(r2)] >= tested_r2)),
        countries_at_least_as_good=at_least,
        best_by_country=dict(sorted(best.items())),
        p_empirical=(at_least + 1) / (len(best) + 1),
        ratio_min=float(np.min(ratios)) if ratios is not None and ratios.size else None,
        ratio_median=float(np.median(ratios)) if ratios is not None and ratios.size else None,
        rank=at_least + 1,
    )
