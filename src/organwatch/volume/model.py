"""The capacity model and its vectorised Monte Carlo.

Per hospital h and simulation draw d::

    N[d, h] = beds[d, h] * share[d, h] * occupancy[d, h] * 365 / length_of_stay[d, h]

summed over registry hospitals with a published transplant-bed figure plus a documented imputation for the
remaining hospitals of the licensed frame. Every random quantity has its own named random stream derived from
the seed (``SeedSequence(seed, spawn_key=(crc32(name),))``), so results are bit-reproducible for a given seed and
number of draws, and adding a hospital does not change the draws of any other parameter.
"""

from __future__ import annotations

import math
import zlib
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from organwatch.errors import UsageError
from organwatch.volume import registry
from organwatch.volume.distributions import Dist
from organwatch.volume.scenario import Scenario

DAYS_PER_YEAR = 365
QUANTILES = {"p2_5": 0.025, "p5": 0.05, "p25": 0.25, "median": 0.5, "p75": 0.75, "p95": 0.95, "p97_5": 0.975}
HOSPITAL_WIDE_UNITS = ("all beds",)  # occupancy figures for the whole hospital never stand for transplant beds
EXACT_BOOTSTRAP_MAX = 30  # below this many unprofiled hospitals the bootstrap sum is drawn exactly


def capacity(beds: float, occupancy: float, length_of_stay: float, share: float = 1.0) -> float:
    """The published identity N = beds x share x occupancy x 365 / length of stay (a single deterministic case).

    >>> round(capacity(500, 1.31, 30))  # COHRC's Tianjin example (H0018-H0021)
    7969
    """
    for name, v in (("beds", beds), ("occupancy", occupancy), ("length_of_stay", length_of_stay), ("share", share)):
        if not (isinstance(v, (int, float)) and math.isfinite(v)) or v <= 0:
            raise UsageError(f"{name} = {v} is out of range: must be > 0")
    if share > 1:
        raise UsageError(f"share = {share:g} is out of range: must be <= 1")
    return beds * share * occupancy * DAYS_PER_YEAR / length_of_stay


def stream(seed: int, name: str) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(zlib.crc32(name.encode("utf-8")),)))


@dataclass
class BedGroup:
    organ: str
    values: list[float]
    rows: list[str]


@dataclass
class HospitalInput:
    hospital_id: str
    name_en: str
    name_zh: str
    province: str
    bed_groups: list[BedGroup]
    occupancy: Dist
    occupancy_rows: list[str]
    occupancy_basis: str
    bed_override: Dist | None = None

    @property
    def bed_rows(self) -> list[str]:
        return [r for g in self.bed_groups for r in g.rows]

    def describe_beds(self, conflicts: str) -> str:
        if self.bed_override is not None:
            return self.bed_override.describe() + " (set on the command line)"
        parts = []
        for g in self.bed_groups:
            vals = sorted(set(g.values))
            if len(vals) == 1 or conflicts == "choice":
                txt = " or ".join(f"{v:g}" for v in vals)
            else:
                chosen = min(vals) if conflicts == "min" else max(vals)
                txt = f"{chosen:g} ({conflicts} of {', '.join(f'{v:g}' for v in vals)})"
            parts.append(f"{g.organ}: {txt}")
        return "; ".join(parts)


def excluded_publisher(f: registry.Figure, patterns: list[str]) -> bool:
    """Evidence drop (docs/specs/volume-method.md §7.6): is this row's publisher category matched by any pattern
    (case-insensitive)?"""
    cat = f.publisher_category.lower()
    return any(p.lower() in cat for p in patterns)


def _own_occupancy(h: registry.Hospital, exclude_publishers: list[str] | None = None) -> tuple[Dist, list[str]] | None:
    figs = [f for f in h.metric("bed_utilization_pct") if not any(u in f.unit for u in HOSPITAL_WIDE_UNITS)
            and not excluded_publisher(f, exclude_publishers or [])]
    if not figs:
        return None
    lo = min(f.number for f in figs) / 100
    hi = max(max(f.number, f.number_max) for f in figs) / 100
    d = Dist("uniform", {"low": lo, "high": hi}) if hi > lo else Dist("fixed", {"value": lo})
    return d, [f.record_id for f in figs]


def _bed_groups(h: registry.Hospital, s: Scenario) -> list[BedGroup]:
    groups: dict[str, BedGroup] = {}
    for f in h.metric(*s.bed_metrics):
        if f.qualifier in s.bed_exclude_qualifiers or not f.value or f.value <= 0 or \
                excluded_publisher(f, s.bed_exclude_publishers):
            continue
        key = f.organ or "all"
        g = groups.setdefault(key, BedGroup(key, [], []))
        g.values.append(float(f.value))
        g.rows.append(f.record_id)
    return list(groups.values())


def hospital_inputs(s: Scenario, restrict: bool = True) -> list[HospitalInput]:
    """The hospitals that enter the model, with their bed figures and occupancy (rows kept)."""
    occ = s.parameters["occupancy"]
    chosen = [registry.get(k) for k in s.hospitals] if (restrict and s.hospitals) else registry.hospitals()
    out = []
    for h in chosen:
        groups = _bed_groups(h, s)
        if not groups and not (restrict and s.beds_override is not None):
            if restrict and s.hospitals:
                raise UsageError(f"hospital '{h.hospital_id}' has no published bed figure of type "
                                 f"{', '.join(s.bed_metrics)}; give --beds to run a what-if")
            continue
        own = _own_occupancy(h, s.bed_exclude_publishers) if occ.hospital_figures else None
        if own is not None:
            d, rows, basis = own[0], own[1], "hospital's own published figures " + ", ".join(own[1])
        else:
            d, rows, basis = occ.dist, occ.rows, occ.basis()
        out.append(HospitalInput(h.hospital_id, h.name_en, h.name_zh, h.province, groups, d, rows, basis,
                                 s.beds_override if restrict else None))
    if restrict and s.beds_override is not None and not s.hospitals:
        out = [HospitalInput("what-if", "hypothetical hospital (command-line beds)", "", "", [], occ.dist,
                             occ.rows, occ.basis(), s.beds_override)]
    return out


def _bootstrap_pool(profiled: list[HospitalInput], conflicts: str) -> tuple[np.ndarray, np.ndarray]:
    """Pooled distribution of one bootstrap draw: a profiled hospital uniformly at random, then its bed total
    (the published values of each organ group with equal probability, groups added)."""
    import itertools

    vals: list[float] = []
    probs: list[float] = []
    for h in profiled:
        options = []
        for g in h.bed_groups:
            v = sorted(set(g.values))
            options.append([min(v)] if conflicts == "min" else [max(v)] if conflicts == "max" else v)
        combos = list(itertools.product(*options))
        for c in combos:
            vals.append(float(sum(c)))
            probs.append(1.0 / len(profiled) / len(combos))
    p = np.asarray(probs)
    return np.asarray(vals), p / p.sum()


def frame_size(s: Scenario) -> tuple[int, list[dict[str, Any]]]:
    rows = [registry.licensed_row(r) for r in s.imputation_count_rows]
    return sum(int(r["count"] or 0) for r in rows), rows


@dataclass
class Simulation:
    """Raw draws of one run (kept in memory for summaries; not serialised)."""

    total: np.ndarray
    per_hospital: np.ndarray  # (draws, hospitals)
    imputed: np.ndarray  # (draws,)
    inputs: dict[str, np.ndarray]  # per-draw summaries of each input, for sensitivity
    share: np.ndarray
    los: np.ndarray
    hospitals: list[HospitalInput]
    n_imputed: int
    frame: int
    frame_rows: list[dict[str, Any]]
    pool_moments: tuple[float, float] = (0.0, 0.0)
    notes: list[str] = field(default_factory=list)


def _param_draws(p_dist: Dist, across: str, seed: int, name: str, draws: int, n: int) -> np.ndarray:
    if across == "common":
        return np.broadcast_to(p_dist.sample(stream(seed, name), draws)[:, None], (draws, n))
    return np.column_stack([p_dist.sample(stream(seed, f"{name}:{i}"), draws) for i in range(n)]) if n else \
        np.empty((draws, 0))


def _fill_beds(beds: np.ndarray, j: int, h: Any, conflicts: str, seed: int, draws: int) -> None:
    """Column ``j`` of ``beds``: the hospital's bed override, or the sum of its bed groups, each group's conflicting
    published counts resolved by ``conflicts`` (min / max / one of them at random, equally likely)."""
    if h.bed_override is not None:
        beds[:, j] = h.bed_override.sample(stream(seed, f"beds:{h.hospital_id}"), draws)
        return
    beds[:, j] = 0.0
    for g in h.bed_groups:
        vals = np.unique(np.asarray(g.values, float))  # distinct published counts, equally likely
        if conflicts == "min" or len(vals) == 1:
            beds[:, j] += vals.min() if conflicts != "max" else vals.max()
        elif conflicts == "max":
            beds[:, j] += vals.max()
        else:
            rng = stream(seed, f"beds:{h.hospital_id}:{g.organ}")
            beds[:, j] += vals[rng.integers(0, len(vals), draws)]


def simulate(s: Scenario, share_override: np.ndarray | None = None) -> Simulation:
    """Run the Monte Carlo. ``share_override`` (draws,) replaces the share draws (calibrated run)."""
    draws, seed = s.draws, s.seed
    hosp = hospital_inputs(s)
    n = len(hosp)
    ps = s.parameters
    if share_override is not None:
        share = np.broadcast_to(share_override[:, None], (draws, n))
        share_common = share_override
    else:
        share = _param_draws(ps["share"].dist, ps["share"].across_hospitals, seed, "share", draws, n)
        share_common = ps["share"].dist.sample(stream(seed, "share"), draws) if ps["share"].across_hospitals == \
            "common" else share.mean(axis=1) if n else ps["share"].dist.sample(stream(seed, "share"), draws)
    los = _param_draws(ps["length_of_stay"].dist, ps["length_of_stay"].across_hospitals, seed, "los", draws, n)
    los_common = ps["length_of_stay"].dist.sample(stream(seed, "los"), draws)
    # column-major: each hospital's draws are contiguous, so filling column j is a contiguous write
    beds = np.empty((draws, n), order="F")
    occ = np.empty((draws, n), order="F")
    for j, h in enumerate(hosp):
        _fill_beds(beds, j, h, s.bed_conflicts, seed, draws)
        if ps["occupancy"].across_hospitals == "common" and h.occupancy is ps["occupancy"].dist:
            occ[:, j] = h.occupancy.sample(stream(seed, "occupancy"), draws)
        else:
            occ[:, j] = h.occupancy.sample(stream(seed, f"occupancy:{h.hospital_id}"), draws)
    bed_sum = beds.sum(axis=1) if n else np.zeros(draws)
    per_h = beds * occ  # computed in place below to keep peak memory at a few (draws, hospitals) arrays
    bed_occ = per_h.sum(axis=1) if n else np.zeros(draws)
    del beds
    common = share_override is not None or ps["share"].across_hospitals == "common"
    if common and ps["length_of_stay"].across_hospitals == "common":
        factor = share_common * (DAYS_PER_YEAR / los_common)  # one (draws,) vector for every hospital
        for j in range(n):
            per_h[:, j] *= factor
    else:
        per_h *= share
        per_h *= DAYS_PER_YEAR / los

    frame, frame_rows = frame_size(s)
    n_imp = 0
    imputed = np.zeros(draws)
    imp_beds = np.zeros(draws)
    occ_imp = np.zeros(draws)
    pool = (0.0, 0.0)
    notes = []
    if s.imputation_method == "bootstrap":
        profiled = hospital_inputs(s, restrict=False)
        n_imp = max(frame - len(profiled), 0)
        if len(profiled) > frame:
            notes.append(f"{len(profiled)} profiled hospitals exceed the frame of {frame}; nothing imputed")
        if n_imp and not profiled:
            notes.append("no profiled hospital has a bed figure: nothing to impute from")
        if n_imp and 0 < len(profiled) < 5:
            notes.append(f"the imputation bootstraps {n_imp} hospitals from only {len(profiled)} profiled "
                         "hospital(s); the imputed block mostly repeats them")
        if n_imp and profiled:
            vals, probs = _bootstrap_pool(profiled, s.bed_conflicts)
            e1 = float((vals * probs).sum())
            v1 = float((vals ** 2 * probs).sum() - e1 ** 2)
            pool = (e1, v1)
            rng = stream(seed, "imputation:beds")
            if n_imp <= EXACT_BOOTSTRAP_MAX:
                # exact bootstrap: each unprofiled hospital = a random profiled hospital's published bed total
                total_beds = vals[rng.choice(len(vals), size=(draws, n_imp), p=probs)].sum(axis=1)
            else:
                # the sum of n_imp bootstrap draws: a gamma with the sum's exact mean and variance
                m, v = n_imp * e1, max(n_imp * v1, 1e-12)
                total_beds = rng.gamma(m * m / v, v / m, draws)
            scale = s.imputation_bed_scale.sample(stream(seed, "imputation:scale"), draws)
            imp_beds = scale * total_beds
            occ_imp = ps["occupancy"].dist.sample(stream(seed, "imputation:occupancy"), draws)
            share_imp = share_common if (share_override is not None or ps["share"].across_hospitals == "common") \
                else ps["share"].dist.sample(stream(seed, "imputation:share"), draws)
            los_imp = los_common if ps["length_of_stay"].across_hospitals == "common" else \
                ps["length_of_stay"].dist.sample(stream(seed, "imputation:los"), draws)
            imputed = imp_beds * occ_imp * share_imp * (DAYS_PER_YEAR / los_imp)
    total = per_h.sum(axis=1) + imputed
    all_beds = bed_sum + imp_beds
    with np.errstate(invalid="ignore", divide="ignore"):
        occ_mean = np.where(all_beds > 0, (bed_occ + imp_beds * occ_imp) / all_beds, 0.0)
    inputs = {
        "share (f)": share_common if n or n_imp else np.zeros(draws),
        "length of stay (L)": los_common if ps["length_of_stay"].across_hospitals == "common" or not n
        else los.mean(axis=1),
        "occupancy (u, bed-weighted)": occ_mean,
        "beds of profiled hospitals": bed_sum,
    }
    if n_imp:
        inputs["beds imputed for unprofiled hospitals"] = imp_beds
    return Simulation(total, per_h, imputed, inputs, share_common, los_common, hosp, n_imp, frame, frame_rows,
                      pool, notes)


def quantiles(x: np.ndarray) -> dict[str, float]:
    if x.size == 0:
        return {k: 0.0 for k in QUANTILES}
    q = np.quantile(x, list(QUANTILES.values()), axis=0)
    return {k: float(v) for k, v in zip(QUANTILES, q, strict=False)}


def quantiles_columns(m: np.ndarray) -> list[dict[str, float]]:
    if m.shape[1] == 0:
        return []
    q = np.quantile(m, list(QUANTILES.values()), axis=0)
    return [{k: float(q[i, j]) for i, k in enumerate(QUANTILES)} for j in range(m.shape[1])]
