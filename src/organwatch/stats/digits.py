"""Check (g): first-digit (Benford) and last-digit (uniform) tests with sample-size-aware p-values.

The statistic is Pearson's chi-square against the expected digit distribution; its p-value is a seeded
Monte Carlo estimate under the multinomial null (exact enough for small N, where the chi-square
approximation fails), reported with the number of simulations and the seed. Below ``min_n`` values the
test answers "not testable". Last digits use only values ≥ 10 (a one-digit number has no free last digit)
and skip values marked approximate.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from organwatch.findings import Finding, InputRef, Kind, Provenance, Verdict
from organwatch.seeds import DEFAULT_SEED
from organwatch.stats.grading import DEFAULT, Thresholds

BENFORD = np.log10(1 + 1 / np.arange(1, 10))
UNIFORM10 = np.full(10, 0.1)


@dataclass
class DigitResult:
    kind: str
    n: int
    counts: list[int]
    expected: list[float]
    chi2: float
    p_value: float
    sims: int
    seed: int


def first_digits(values) -> np.ndarray:
    v = np.abs(np.asarray(values, dtype=float))
    v = v[(v >= 1) & np.isfinite(v)]
    return (v // 10 ** np.floor(np.log10(v))).astype(int)


def last_digits(values) -> np.ndarray:
    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v) & (v == np.round(v)) & (np.abs(v) >= 10)]
    return (np.abs(v).astype(np.int64) % 10).astype(int)


def chi2_stat(counts: np.ndarray, probs: np.ndarray) -> np.ndarray:
    n = counts.sum(axis=-1, keepdims=True)
    e = n * probs
    return np.sum((counts - e) ** 2 / e, axis=-1)


def mc_pvalue(counts: np.ndarray, probs: np.ndarray, sims: int = 100_000, seed: int = DEFAULT_SEED) -> float:
    """P(chi2 ≥ observed) under the multinomial null, by seeded simulation; (k + 1) / (sims + 1)."""
    rng = np.random.default_rng(seed)
    n = int(counts.sum())
    obs = float(chi2_stat(counts[None, :], probs)[0])
    sim = rng.multinomial(n, probs, size=sims)
    k = int(np.sum(chi2_stat(sim, probs) >= obs - 1e-12))
    return (k + 1) / (sims + 1)


def digit_test(values, kind: str = "last", sims: int = 100_000, seed: int = DEFAULT_SEED) -> DigitResult:
    if kind == "first":
        d, probs, k0 = first_digits(values), BENFORD, 1
    else:
        d, probs, k0 = last_digits(values), UNIFORM10, 0
    counts = np.bincount(d - k0, minlength=len(probs))[: len(probs)] if d.size else np.zeros(len(probs), int)
    n = int(counts.sum())
    chi2 = float(chi2_stat(counts[None, :], probs)[0]) if n else float("nan")
    p = mc_pvalue(counts, probs, sims, seed) if n else float("nan")
    return DigitResult(kind, n, counts.tolist(), (n * probs).tolist(), chi2, p, sims, seed)


def digit_finding(
    values,
    subject: str,
    kind: str = "last",
    min_n: int | None = None,
    sims: int = 100_000,
    seed: int = DEFAULT_SEED,
    inputs: list[InputRef] | None = None,
    th: Thresholds = DEFAULT,
    sources=None,
) -> Finding:
    min_n = min_n if min_n is not None else (50 if kind == "first" else 30)
    r = digit_test(values, kind, sims, seed)
    what = "first digits against Benford's law" if kind == "first" else "last digits against a uniform distribution"
    prov = Provenance(
        inputs=inputs or [], parameters={"kind": kind, "min_n": min_n, "simulations": sims, **th.as_dict()}, seed=seed
    )
    stats = {
        "n": r.n,
        "chi2": r.chi2,
        "p_value_monte_carlo": r.p_value,
        "simulations": sims,
        "min_n": min_n,
        "counts": r.counts,
    }
    check = f"stats.digits.{kind}"
    if r.n < min_n:
        why = f"only {r.n} usable values, fewer than the minimum of {min_n} for a {kind}-digit test"
        return Finding(
            check=check,
            subject=subject,
            kind=Kind.TEST,
            verdict=Verdict.NOT_TESTABLE,
            statistics=stats,
            explanation=f"Not testable: {why}.",
            provenance=prov,
            title=f"{kind.title()}-digit test: {subject}",
            engine="stats",
            not_tested=[why],
            sources=sources or [],
            evidence=[
                {"digit": i + (1 if kind == "first" else 0), "observed": c, "expected": e}
                for i, (c, e) in enumerate(zip(r.counts, r.expected, strict=False))
            ],
        )
    p = r.p_value
    verdict = (
        Verdict.HIGHLY_UNUSUAL if p <= th.highly_unusual else Verdict.UNUSUAL if p <= th.unusual else Verdict.CONSISTENT
    )
    expl = (
        f"{r.n} values tested for {what}: chi-square {r.chi2:.2f}, Monte Carlo p = {p:.4f} ({sims:,} "
        f"simulations, seed {seed}). Digit tests are weak on small official series and say nothing about "
        f"any single number."
    )
    return Finding(
        check=check,
        subject=subject,
        kind=Kind.TEST,
        verdict=verdict,
        statistics=stats,
        reference={"null": "Benford first-digit law" if kind == "first" else "uniform last digits", **th.as_dict()},
        explanation=expl,
        evidence=[
            {"digit": i + (1 if kind == "first" else 0), "observed": c, "expected": e}
            for i, (c, e) in enumerate(zip(r.counts, r.expected, strict=False))
        ],
        provenance=prov,
        title=f"{kind.title()}-digit test: {subject}",
        engine="stats",
        sources=sources or [],
    )
