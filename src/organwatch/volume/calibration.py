"""Bayesian calibration of the unobserved transplant share f on a grid (docs/specs/volume-method.md §7.3, 1 and 3).

Data: hospitals of the registry that publish both a transplant-bed count and a stated annual volume (same organ
scope; years no more than ``max_year_gap`` apart when both are known). Observation model, per stated volume y::

    log y ~ Normal(log(beds * occupancy * f * 365 / L) + bias, noise_sd^2)

with beds (the hospital's published values), occupancy and L integrated out by Monte Carlo over the scenario's
priors (L shared by all hospitals in a draw). "More than X" is read as about X (``approx``) or as a censored
bound (``censored``). The posterior of f is computed exactly on a grid over (0, 1] (no sampler, so no
convergence diagnostics are needed); the diagnostics reported instead are: posterior mass at the prior's lower
edge and the data-implied f without the prior (prior-data conflict), prior-predictive tail probabilities of each
stated volume, leave-one-hospital-out predictive coverage, grid-halving error, and the effective sample size of
the Monte Carlo integration.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.special import log_ndtr, logsumexp

from organwatch.volume import registry
from organwatch.volume.model import DAYS_PER_YEAR, _bed_groups, _own_occupancy, excluded_publisher, stream
from organwatch.volume.scenario import Scenario

LOWER_BOUND_QUALIFIERS = (">", ">=")


@dataclass
class Observation:
    hospital_id: str
    name_en: str
    volume: float
    qualifier: str
    volume_row: str
    organ: str
    beds: list[float]
    bed_rows: list[str]
    occupancy_low: float
    occupancy_high: float
    occupancy_rows: list[str]
    year: int | None

    @property
    def per_bed(self) -> float:
        return self.volume / float(np.mean(self.beds))

    def to_dict(self) -> dict[str, Any]:
        return {"hospital_id": self.hospital_id, "name_en": self.name_en, "stated_annual_volume": self.volume,
                "qualifier": self.qualifier, "volume_row": self.volume_row, "organ": self.organ,
                "beds": self.beds, "bed_rows": self.bed_rows, "transplants_per_bed_year": self.per_bed,
                "occupancy_rows": self.occupancy_rows, "year": self.year}


def observations(s: Scenario) -> tuple[list[Observation], list[dict[str, Any]]]:
    """Pairs of (published beds, stated annual volume); and the rows left out, with the reason."""
    obs, excluded = [], []
    occ = s.parameters["occupancy"]
    gap = s.calibration["max_year_gap"]
    for h in registry.hospitals():
        annual = [f for f in h.metric("annual_transplants")
                  if not excluded_publisher(f, s.bed_exclude_publishers)]
        if not annual:
            continue
        groups = _bed_groups(h, s)
        if not groups:
            for f in annual:
                excluded.append({"row": f.record_id, "hospital_id": h.hospital_id,
                                 "reason": "no published transplant-bed figure for this hospital"})
            continue
        for f in annual:
            match = [g for g in groups if g.organ == f.organ] or [g for g in groups if g.organ == "all"]
            if not match:
                excluded.append({"row": f.record_id, "hospital_id": h.hospital_id,
                                 "reason": f"beds are for {', '.join(g.organ for g in groups)}, volume for {f.organ}"})
                continue
            g = match[0]
            bed_years = [y for y in (registry.first_year(fig.reference_date) for fig in h.figures
                                     if fig.record_id in g.rows) if y]
            vy = f.year
            if vy and bed_years and min(abs(vy - b) for b in bed_years) > gap:
                excluded.append({"row": f.record_id, "hospital_id": h.hospital_id,
                                 "reason": f"volume year {vy} is more than {gap} years from the bed figures "
                                           f"({', '.join(str(b) for b in sorted(set(bed_years)))})"})
                continue
            own = _own_occupancy(h, s.bed_exclude_publishers) if occ.hospital_figures else None
            d, rows = (own if own is not None else (occ.dist, occ.rows))
            lo, hi = _range(d)
            obs.append(Observation(h.hospital_id, h.name_en, f.number, f.qualifier, f.record_id, f.organ,
                                   sorted({float(v) for v in g.values}), list(g.rows), lo, hi, list(rows), vy))
    return obs, excluded


def _range(d) -> tuple[float, float]:
    p = d.params
    if d.kind == "fixed":
        return float(p["value"]), float(p["value"])
    if d.kind in ("uniform", "loguniform", "triangular"):
        return float(p["low"]), float(p["high"])
    pts = d.support_points()
    return float(min(pts)), float(max(pts))


def _log_terms(s: Scenario, obs: list[Observation], m: int, seed: int) -> np.ndarray:
    """(m, n_obs) array of log(beds * occupancy * 365 / L) + bias for the integration draws."""
    los = s.parameters["length_of_stay"].dist.sample(stream(seed, "calibration:los"), m)
    cols = []
    for i, o in enumerate(obs):
        rng = stream(seed, f"calibration:{o.hospital_id}:{i}")
        beds = np.asarray(o.beds)[rng.integers(0, len(o.beds), m)]
        u = rng.uniform(o.occupancy_low, o.occupancy_high, m) if o.occupancy_high > o.occupancy_low else \
            np.full(m, o.occupancy_low)
        cols.append(np.log(beds * u * DAYS_PER_YEAR / los))
    return np.column_stack(cols) + s.calibration["reporting_bias"]


def _loglik_grid(s: Scenario, obs: list[Observation], base: np.ndarray, grid: np.ndarray,
                 which: list[int] | None = None) -> np.ndarray:
    """(len(grid), m) joint log-likelihood per integration draw."""
    sd = s.calibration["noise_sd"]
    censored = s.calibration["lower_bounds"] == "censored"
    idx = range(len(obs)) if which is None else which
    logf = np.log(grid)[:, None]
    out = np.zeros((grid.size, base.shape[0]))
    for i in idx:
        o = obs[i]
        z = (math.log(o.volume) - (base[None, :, i] + logf)) / sd
        if censored and o.qualifier in LOWER_BOUND_QUALIFIERS:
            out += log_ndtr(-z)
        else:
            out += -0.5 * z * z - math.log(sd * math.sqrt(2 * math.pi)) - math.log(o.volume)
    return out


def _posterior(prior: np.ndarray, ll: np.ndarray) -> np.ndarray:
    lm = logsumexp(ll, axis=1) - math.log(ll.shape[1])
    with np.errstate(divide="ignore"):
        lp = np.log(prior) + lm
    if not np.isfinite(lp).any():
        return np.full(prior.size, 1.0 / prior.size)
    w = np.exp(lp - np.max(lp[np.isfinite(lp)]))
    w[~np.isfinite(w)] = 0.0
    return w / w.sum()


def _summ(grid: np.ndarray, w: np.ndarray) -> dict[str, float]:
    mean = float((grid * w).sum())
    sd = float(math.sqrt(max((grid ** 2 * w).sum() - mean ** 2, 0.0)))
    cdf = np.cumsum(w)
    q = {k: float(grid[min(int(np.searchsorted(cdf, p)), grid.size - 1)])
         for k, p in (("p5", 0.05), ("median", 0.5), ("p95", 0.95))}
    return {"mean": mean, "sd": sd, **q}


def calibrate(s: Scenario, obs: list[Observation] | None = None) -> dict[str, Any]:
    """Grid posterior of f with diagnostics. ``status`` is ``ok``, ``disabled`` or ``not_enough_data``.
    ``obs`` replaces the registry pairs (used by tests with synthetic hospitals)."""
    if obs is None:
        obs, excluded = observations(s)
    else:
        excluded = []
    cal = s.calibration
    res: dict[str, Any] = {"observations": [o.to_dict() for o in obs], "excluded": excluded,
                           "settings": {k: v for k, v in cal.items()}, "method": "grid posterior"}
    if not cal["enabled"]:
        res["status"] = "disabled"
        return res
    if not obs:
        res["status"] = "not_enough_data"
        return res
    G, M = cal["grid"], cal["integration_draws"]
    grid = (np.arange(G) + 0.5) / G
    prior_d = s.parameters["share"].dist
    prior = prior_d.pdf(grid)
    if prior.sum() <= 0:
        res["status"] = "prior_outside_grid"
        return res
    prior = prior / prior.sum()
    base = _log_terms(s, obs, M, s.seed)
    ll = _loglik_grid(s, obs, base, grid)
    post = _posterior(prior, ll)
    prior_s, post_s = _summ(grid, prior), _summ(grid, post)

    # grid-halving check
    g2 = (np.arange(G // 2) + 0.5) / (G // 2)
    p2 = prior_d.pdf(g2)
    post2 = _posterior(p2 / p2.sum(), _loglik_grid(s, obs, base, g2)) if p2.sum() > 0 else None
    grid_error = abs(_summ(g2, post2)["mean"] - post_s["mean"]) if post2 is not None else None

    # prior-free view: likelihood over a log grid of f in [0.001, 1] (flat in log f)
    lg = np.exp(np.linspace(math.log(1e-3), 0.0, 600))
    lw = _posterior(np.full(lg.size, 1.0 / lg.size), _loglik_grid(s, obs, base, lg))
    data_only = _summ(lg, lw)
    data_only["mode"] = float(lg[int(np.argmax(lw))])

    # effective sample size of the integration at the posterior mean
    jm = int(np.argmin(np.abs(grid - post_s["mean"])))
    lw_m = ll[jm] - ll[jm].max()
    wm = np.exp(lw_m)
    ess = float(wm.sum() ** 2 / (wm ** 2).sum())

    # prior edge mass: share of posterior within the lowest / highest 5 % of the prior's support
    support = grid[prior > 0]
    lo_edge = support.min() + 0.05 * (support.max() - support.min())
    hi_edge = support.max() - 0.05 * (support.max() - support.min())
    edge_low = float(post[grid <= lo_edge].sum())
    edge_high = float(post[grid >= hi_edge].sum())
    prior_low = float(prior[grid <= lo_edge].sum())

    # prior-predictive tail probability and leave-one-out coverage, per observation
    sd = cal["noise_sd"]
    rng = stream(s.seed, "calibration:predictive")
    checks = []
    f_prior = prior_d.sample(stream(s.seed, "calibration:prior-f"), M)
    for i, o in enumerate(obs):
        pred = np.exp(base[:, i] + np.log(f_prior) + sd * rng.standard_normal(M))
        p_below = float((pred <= o.volume).mean())
        others = [k for k in range(len(obs)) if k != i]
        w_loo = _posterior(prior, _loglik_grid(s, obs, base, grid, others)) if others else prior
        f_loo = grid[np.minimum(np.searchsorted(np.cumsum(w_loo), rng.random(M)), G - 1)]
        pred_loo = np.exp(base[:, i] + np.log(f_loo) + sd * rng.standard_normal(M))
        lo90, hi90 = (float(x) for x in np.quantile(pred_loo, [0.05, 0.95]))
        checks.append({"row": o.volume_row, "hospital_id": o.hospital_id, "stated": o.volume,
                       "prior_predictive_p_below": p_below, "loo_p5": lo90, "loo_p95": hi90,
                       "loo_covered": bool(lo90 <= o.volume <= hi90)})
    res.update({
        "status": "ok", "grid": G, "integration_draws": M,
        "prior": prior_s, "posterior": post_s,
        "contraction": 1.0 - (post_s["sd"] / prior_s["sd"]) if prior_s["sd"] > 0 else 0.0,
        "posterior_mass_lower_edge": edge_low, "prior_mass_lower_edge": prior_low,
        "posterior_mass_upper_edge": edge_high,
        "data_only": data_only, "grid_halving_error": grid_error, "integration_ess": ess,
        "checks": checks,
        "robustness": robustness(s, obs, base),
        "posterior_grid": {"f": grid.tolist(), "weight": post.tolist()},
        "data_only_grid": {"f": lg.tolist(), "weight": lw.tolist()},
    })
    return res


ROBUSTNESS_NOISE = (0.25, 0.5, 1.0)
ROBUSTNESS_BOUNDS = ("approx", "censored")


def robustness(s: Scenario, obs: list[Observation], base: np.ndarray) -> list[dict[str, Any]]:
    """The prior-free (flat in log f) reading of the stated volumes under other observation-model settings:
    reporting noise 0.25 / 0.5 / 1 and "more than X" read as about X or as a censored bound."""
    import copy

    lg = np.exp(np.linspace(math.log(1e-3), 0.0, 600))
    out = []
    for sd in ROBUSTNESS_NOISE:
        for lb in ROBUSTNESS_BOUNDS:
            s2 = copy.copy(s)
            s2.calibration = {**s.calibration, "noise_sd": sd, "lower_bounds": lb}
            w = _posterior(np.full(lg.size, 1.0 / lg.size), _loglik_grid(s2, obs, base, lg))
            summ = _summ(lg, w)
            out.append({"noise_sd": sd, "lower_bounds": lb, "data_only_f_median": summ["median"],
                        "data_only_f_p5": summ["p5"], "data_only_f_p95": summ["p95"]})
    return out


def sample_posterior(cal: dict[str, Any], seed: int, draws: int, which: str = "posterior_grid") -> np.ndarray:
    """Draws of f from a grid posterior (inverse CDF on the grid points; ``which`` = ``posterior_grid`` for the
    scenario prior, ``data_only_grid`` for the flat-in-log-f prior)."""
    grid = np.asarray(cal[which]["f"])
    w = np.asarray(cal[which]["weight"])
    rng = stream(seed, f"calibrated:share:{which}")
    idx = np.minimum(np.searchsorted(np.cumsum(w), rng.random(draws)), grid.size - 1)
    return np.clip(grid[idx], 1e-9, 1.0)


def conflict_level(cal: dict[str, Any]) -> str:
    """How strongly the stated volumes disagree with the scenario's priors: none / some / strong."""
    if cal.get("status") != "ok":
        return "none"
    ps = [c["prior_predictive_p_below"] for c in cal["checks"]]
    tail = min(min(ps), 1 - max(ps)) if ps else 0.5
    if tail < 0.005 or cal["posterior_mass_lower_edge"] > 0.5:
        return "strong"
    if tail < 0.05 or cal["posterior_mass_lower_edge"] > 2 * max(cal["prior_mass_lower_edge"], 0.05):
        return "some"
    return "none"


__all__ = ["calibrate", "observations", "robustness", "sample_posterior", "conflict_level"]
