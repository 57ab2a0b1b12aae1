"""Turning an empirical p-value or a bound check into a neutral graded verdict (thresholds are parameters)."""

from __future__ import annotations

from dataclasses import dataclass

from organwatch.findings import Verdict


@dataclass(frozen=True)
class Thresholds:
    unusual: float = 0.05  # empirical p ≤ this → unusual
    highly_unusual: float = 0.01  # empirical p ≤ this → highly unusual
    min_reference: int = 20  # fewer reference units → not testable

    def as_dict(self) -> dict:
        return {"p_unusual": self.unusual, "p_highly_unusual": self.highly_unusual,
                "min_reference_units": self.min_reference}


DEFAULT = Thresholds()


def grade(p: float, n_reference: int, th: Thresholds = DEFAULT) -> Verdict:
    if n_reference < th.min_reference or p != p:
        return Verdict.NOT_TESTABLE
    if p <= th.highly_unusual:
        return Verdict.HIGHLY_UNUSUAL
    if p <= th.unusual:
        return Verdict.UNUSUAL
    return Verdict.CONSISTENT


def label(p: float, at_least: int, n: int, what: str) -> str:
    """Neutral phrase, e.g. 'unusual compared with 67 countries: 0 of them conform at least as well'."""
    return f"{at_least} of {n} {what} conform at least as well (empirical p = {p:.3f})"
