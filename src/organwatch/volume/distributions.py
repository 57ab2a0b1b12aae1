"""Parameter distributions for the volume model: parsing, validation, vectorised sampling and densities.

A distribution is written in a scenario TOML file as a table, e.g. ``{dist = "uniform", low = 0.3, high = 1}``,
or on the command line as ``uniform:0.3:1`` (see :func:`parse_spec`). A bare number means a fixed value.
Every distribution samples with numpy in one call (no Python loop per draw).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from organwatch.errors import UsageError

# name -> (required keys in order, optional keys)
KINDS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "fixed": (("value",), ()),
    "uniform": (("low", "high"), ()),
    "loguniform": (("low", "high"), ()),
    "triangular": (("low", "mode", "high"), ()),
    "lognormal": (("median", "gsd"), ()),
    "beta": (("a", "b"), ("low", "high")),
    "choice": (("values",), ("weights",)),
}


@dataclass(frozen=True)
class Bounds:
    """Admissible range of a parameter (``lo_open``: strictly greater than ``lo``)."""

    lo: float
    hi: float = math.inf
    lo_open: bool = True
    hi_open: bool = False
    hint: str = ""

    def check(self, x: float, what: str) -> None:
        if not math.isfinite(x):
            raise UsageError(f"{what} must be a finite number, not {x}")
        if (self.lo_open and x <= self.lo) or (not self.lo_open and x < self.lo):
            rel = ">" if self.lo_open else ">="
            raise UsageError(f"{what} = {_fmt(x)} is out of range: must be {rel} {_fmt(self.lo)}{self.hint}")
        if (self.hi_open and x >= self.hi) or (not self.hi_open and x > self.hi):
            rel = "<" if self.hi_open else "<="
            raise UsageError(f"{what} = {_fmt(x)} is out of range: must be {rel} {_fmt(self.hi)}{self.hint}")


def _fmt(x: float) -> str:
    return f"{x:g}"


@dataclass(frozen=True)
class Dist:
    kind: str
    params: dict[str, Any] = field(default_factory=dict)

    # -- construction ------------------------------------------------------------------------------
    @classmethod
    def from_table(cls, table: dict[str, Any] | float | int, what: str, bounds: Bounds | None = None) -> Dist:
        """Build from a scenario table (or a bare number = fixed) and validate against ``bounds``."""
        if isinstance(table, bool):
            raise UsageError(f"{what}: expected a number or a distribution table, not a boolean")
        if isinstance(table, (int, float)):
            table = {"dist": "fixed", "value": table}
        if not isinstance(table, dict):
            raise UsageError(f"{what}: expected a number or a table like {{dist = \"uniform\", low = 1, high = 2}}")
        kind = table.get("dist")
        if not isinstance(kind, str) or kind not in KINDS:
            raise UsageError(f"{what}: unknown distribution '{kind}' (one of {', '.join(KINDS)})")
        req, opt = KINDS[kind]
        params: dict[str, Any] = {}
        for k in req:
            if k not in table:
                raise UsageError(f"{what}: distribution '{kind}' needs '{k}'")
            params[k] = table[k]
        for k in opt:
            if k in table:
                params[k] = table[k]
        d = cls(kind, _normalise(kind, params, what))
        d.validate(what, bounds)
        return d

    def validate(self, what: str, bounds: Bounds | None) -> None:
        problem = _PARAM_CHECKS.get(self.kind, lambda p, k: None)(self.params, self.kind)
        if problem:
            raise UsageError(f"{what}: {problem}")
        if bounds is not None:
            for x in self.support_points():
                bounds.check(x, what)

    def support_points(self) -> list[float]:
        """The values that bound the support (checked against the parameter's admissible range)."""
        p = self.params
        if self.kind == "fixed":
            return [p["value"]]
        if self.kind in ("uniform", "loguniform", "triangular"):
            return [p["low"], p["high"]]
        if self.kind == "lognormal":
            return [p["median"]]  # unbounded above; only the location is checked
        if self.kind == "beta":
            return [p.get("low", 0.0) + 1e-12, p.get("high", 1.0)] if "low" in p or "high" in p else [1e-12, 1.0]
        return list(p["values"])

    # -- sampling ------------------------------------------------------------------------------------
    def sample(self, rng: np.random.Generator, size: int | tuple[int, ...]) -> np.ndarray:
        p = self.params
        k = self.kind
        if k == "fixed":
            return np.full(size, float(p["value"]))
        if k == "uniform":
            return rng.uniform(p["low"], p["high"], size) if p["high"] > p["low"] else np.full(size, float(p["low"]))
        if k == "loguniform":
            lo, hi = math.log(p["low"]), math.log(p["high"])
            return np.exp(rng.uniform(lo, hi, size)) if hi > lo else np.full(size, float(p["low"]))
        if k == "triangular":
            return rng.triangular(p["low"], p["mode"], p["high"], size)
        if k == "lognormal":
            return p["median"] * np.exp(math.log(p["gsd"]) * rng.standard_normal(size))
        if k == "beta":
            lo, hi = p.get("low", 0.0), p.get("high", 1.0)
            return lo + (hi - lo) * rng.beta(p["a"], p["b"], size)
        vals = np.asarray(p["values"], dtype=float)
        w = p.get("weights")
        if len(vals) == 1:
            return np.full(size, vals[0])
        idx = rng.choice(len(vals), size=size, p=None if w is None else np.asarray(w, float) / sum(w))
        return vals[idx]

    def pdf(self, x: np.ndarray) -> np.ndarray:
        """Density on ``x`` (used for the calibration prior). Fixed/choice: point masses on the grid."""
        x = np.asarray(x, dtype=float)
        p = self.params
        k = self.kind
        if k == "uniform":
            if p["high"] == p["low"]:
                return _point_mass(x, p["low"])
            return np.where((x >= p["low"]) & (x <= p["high"]), 1.0 / (p["high"] - p["low"]), 0.0)
        if k == "loguniform":
            if p["high"] == p["low"]:
                return _point_mass(x, p["low"])
            inside = (x >= p["low"]) & (x <= p["high"])
            return np.where(inside, 1.0 / (np.maximum(x, 1e-300) * math.log(p["high"] / p["low"])), 0.0)
        if k == "triangular":
            a, c, b = p["low"], p["mode"], p["high"]
            up = np.where((x >= a) & (x < c), 2 * (x - a) / ((b - a) * (c - a) if c > a else 1), 0.0)
            down = np.where((x >= c) & (x <= b), 2 * (b - x) / ((b - a) * (b - c) if b > c else 1), 0.0)
            return up + down
        if k == "lognormal":
            s = math.log(p["gsd"]) or 1e-9
            z = (np.log(np.maximum(x, 1e-300)) - math.log(p["median"])) / s
            return np.where(x > 0, np.exp(-0.5 * z * z) / (np.maximum(x, 1e-300) * s * math.sqrt(2 * math.pi)), 0.0)
        if k == "beta":
            from scipy.stats import beta as _beta

            lo, hi = p.get("low", 0.0), p.get("high", 1.0)
            return _beta.pdf((x - lo) / (hi - lo), p["a"], p["b"]) / (hi - lo)
        if k == "fixed":
            return _point_mass(x, p["value"])
        vals = np.asarray(p["values"], float)
        w = np.asarray(p.get("weights") or [1.0] * len(vals), float)
        out = np.zeros_like(x)
        for v, wi in zip(vals, w / w.sum(), strict=False):
            out += wi * _point_mass(x, v)
        return out

    def describe(self) -> str:
        p = self.params
        if self.kind == "fixed":
            return _fmt(p["value"])
        if self.kind == "choice":
            return "one of {" + ", ".join(_fmt(v) for v in p["values"]) + "}"
        return f"{self.kind}(" + ", ".join(f"{k}={_fmt(v) if not isinstance(v, list) else v}"
                                           for k, v in p.items()) + ")"

    def to_dict(self) -> dict[str, Any]:
        return {"dist": self.kind, **self.params}


def _point_mass(x: np.ndarray, v: float) -> np.ndarray:
    """A point mass on the grid cell nearest ``v`` (so grid posteriors handle fixed priors)."""
    out = np.zeros_like(x, dtype=float)
    if x.size:
        out[int(np.argmin(np.abs(x - v)))] = 1.0
    return out


def _normalise(kind: str, params: dict[str, Any], what: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in params.items():
        if k in ("values", "weights"):
            if not isinstance(v, list):
                raise UsageError(f"{what}: '{k}' must be a list of numbers")
            try:
                out[k] = [float(x) for x in v if not isinstance(x, bool)]
            except (TypeError, ValueError):
                raise UsageError(f"{what}: '{k}' must be a list of numbers") from None
            if len(out[k]) != len(v):
                raise UsageError(f"{what}: '{k}' must be a list of numbers")
            if any(not math.isfinite(x) for x in out[k]):
                raise UsageError(f"{what}: '{k}' must be finite numbers")
        else:
            if isinstance(v, bool) or not isinstance(v, (int, float)):
                raise UsageError(f"{what}: '{k}' must be a number, not {v!r}")
            if not math.isfinite(float(v)):
                raise UsageError(f"{what}: '{k}' must be a finite number")
            out[k] = float(v)
    return out


def parse_spec(text: str, what: str, bounds: Bounds | None = None) -> Dist:
    """Command-line form: ``30`` (fixed), ``uniform:20:30``, ``loguniform:7:60``, ``triangular:7:20:60``,
    ``lognormal:MEDIAN:GSD``, ``beta:A:B``, ``choice:500,700``."""
    text = text.strip()
    try:
        return Dist.from_table(float(text), what, bounds)
    except ValueError:
        pass
    kind, _, rest = text.partition(":")
    kind = kind.strip().lower()
    if kind not in KINDS or kind == "fixed" and not rest:
        raise UsageError(f"{what}: cannot read '{text}' (use a number or e.g. uniform:20:30, loguniform:7:60, "
                         f"triangular:7:20:60, lognormal:20:1.5, beta:2:5, choice:500,700)")
    if kind == "choice":
        try:
            vals = [float(x) for x in rest.split(",") if x.strip()]
        except ValueError:
            raise UsageError(f"{what}: cannot read choice values '{rest}'") from None
        return Dist.from_table({"dist": "choice", "values": vals}, what, bounds)
    parts = rest.split(":")
    req, opt = KINDS[kind]
    if len(parts) not in (len(req), len(req) + len(opt)):
        raise UsageError(f"{what}: '{kind}' takes {len(req)} numbers ({':'.join(req)}), got '{rest}'")
    try:
        nums = [float(x) for x in parts]
    except ValueError:
        raise UsageError(f"{what}: cannot read numbers in '{text}'") from None
    return Dist.from_table({"dist": kind, **dict(zip(req + opt, nums, strict=False))}, what, bounds)


# -- parameter checks per family: each returns the problem in words, or None ---------------------------------------
def _check_uniform(p: dict[str, Any], k: str) -> str | None:
    if not p["low"] <= p["high"]:
        return f"low ({_fmt(p['low'])}) must not exceed high ({_fmt(p['high'])})"
    if k == "loguniform" and p["low"] <= 0:
        return "loguniform needs low > 0"
    return None


def _check_triangular(p: dict[str, Any], k: str) -> str | None:
    if not p["low"] <= p["mode"] <= p["high"] or p["low"] == p["high"]:
        return "triangular needs low <= mode <= high and low < high"
    return None


def _check_lognormal(p: dict[str, Any], k: str) -> str | None:
    if p["median"] <= 0 or not 1 <= p["gsd"] <= 100:
        return "lognormal needs median > 0 and a geometric sd in [1, 100]"
    return None


def _check_beta(p: dict[str, Any], k: str) -> str | None:
    if p["a"] <= 0 or p["b"] <= 0:
        return "beta needs a > 0 and b > 0"
    if not p.get("low", 0.0) < p.get("high", 1.0):
        return "beta needs low < high"
    return None


def _check_choice(p: dict[str, Any], k: str) -> str | None:
    if not p["values"]:
        return "choice needs at least one value"
    w = p.get("weights")
    if w is not None and (len(w) != len(p["values"]) or any(x < 0 for x in w) or sum(w) <= 0):
        return "choice weights must be non-negative, sum > 0, one per value"
    return None


_PARAM_CHECKS: dict[str, Callable[[dict[str, Any], str], str | None]] = {
    "uniform": _check_uniform, "loguniform": _check_uniform, "triangular": _check_triangular,
    "lognormal": _check_lognormal, "beta": _check_beta, "choice": _check_choice,
}
