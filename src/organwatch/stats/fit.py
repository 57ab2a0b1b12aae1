"""Formula conformance: least-squares fits of simple curves to a count series.

Models (t = period, e.g. year):
  * ``quadratic``       y = a + b·u + c·u²,  u = t − mean(t)   (general quadratic; 3 parameters)
  * ``one_param``       y = k·(t − t0)²                        (one-parameter quadratic; t0 fixed, default
                                                                 first period − 1, so the first period is x = 1)
  * ``linear``          y = a + b·u
  * ``exponential``     y = A·exp(r·u), fitted by OLS on log y (all y > 0), R² computed on the original scale

R² is always the centred coefficient of determination 1 − SSR/SST on the original scale, so models are
comparable (for ``one_param``, which has no intercept, it can be negative). Periods are centred before the
design matrix is built; the general quadratic's R² is invariant to shifting the period origin.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

MODELS = ("quadratic", "one_param", "linear", "exponential")
N_PARAMS = {"quadratic": 3, "one_param": 1, "linear": 2, "exponential": 2}


@dataclass
class Fit:
    model: str
    params: dict[str, float]
    r2: float
    fitted: np.ndarray
    residuals: np.ndarray
    n: int
    formula: str = ""
    extra: dict[str, float] = field(default_factory=dict)

    def predict(self, t: np.ndarray) -> np.ndarray:
        return _predict(self.model, self.params, np.asarray(t, dtype=float))


def _predict(model: str, p: dict[str, float], t: np.ndarray) -> np.ndarray:
    if model == "quadratic":
        u = t - p["t_mean"]
        return p["a"] + p["b"] * u + p["c"] * u * u
    if model == "linear":
        u = t - p["t_mean"]
        return p["a"] + p["b"] * u
    if model == "one_param":
        x = t - p["t0"]
        return p["k"] * x * x
    if model == "exponential":
        return p["A"] * np.exp(p["r"] * (t - p["t_mean"]))
    raise ValueError(model)


def r_squared(y: np.ndarray, fitted: np.ndarray) -> float:
    y = np.asarray(y, dtype=float)
    sst = float(np.sum((y - y.mean()) ** 2))
    ssr = float(np.sum((y - fitted) ** 2))
    if sst == 0.0:
        return float("nan")  # constant series: R² undefined
    return 1.0 - ssr / sst


def fit(t, y, model: str = "quadratic", t0: float | None = None) -> Fit:
    t = np.asarray(t, dtype=float)
    y = np.asarray(y, dtype=float)
    if t.shape != y.shape or t.ndim != 1:
        raise ValueError("t and y must be 1-D of equal length")
    n = t.size
    if n < N_PARAMS[model] + 1:
        raise ValueError(f"{model} needs at least {N_PARAMS[model] + 1} points, got {n}")
    tm = float(t.mean())
    if model in ("quadratic", "linear"):
        u = t - tm
        cols = [np.ones(n), u] + ([u * u] if model == "quadratic" else [])
        X = np.column_stack(cols)
        coef, *_ = np.linalg.lstsq(X, y, rcond=None)
        params = {"t_mean": tm, "a": float(coef[0]), "b": float(coef[1])}
        if model == "quadratic":
            params["c"] = float(coef[2])
        formula = "y = a + b·(t − t̄) + c·(t − t̄)²" if model == "quadratic" else "y = a + b·(t − t̄)"
    elif model == "one_param":
        t0 = float(t.min() - 1) if t0 is None else float(t0)
        x2 = (t - t0) ** 2
        k = float(np.dot(x2, y) / np.dot(x2, x2))
        params = {"t0": t0, "k": k}
        formula = f"y = k·(t − {t0:g})²"
    elif model == "exponential":
        if np.any(y <= 0):
            raise ValueError("exponential model needs all values > 0")
        u = t - tm
        X = np.column_stack([np.ones(n), u])
        coef, *_ = np.linalg.lstsq(X, np.log(y), rcond=None)
        params = {"t_mean": tm, "A": float(np.exp(coef[0])), "r": float(coef[1])}
        formula = "y = A·exp(r·(t − t̄)), fitted on log y"
    else:
        raise ValueError(f"unknown model {model!r}; choose from {MODELS}")
    fitted = _predict(model, params, t)
    return Fit(
        model=model, params=params, r2=r_squared(y, fitted), fitted=fitted, residuals=y - fitted, n=n, formula=formula
    )


def leave_last_out(t, y, model: str = "quadratic", k: int = 1, t0: float | None = None) -> list[dict[str, float]]:
    """Fit on all but the last ``k`` points, predict each of them: [{period, observed, predicted, error, rel_error}]."""
    t = np.asarray(t, dtype=float)
    y = np.asarray(y, dtype=float)
    if k < 1 or t.size - k < N_PARAMS[model] + 1:
        return []
    f = fit(t[:-k], y[:-k], model, t0=t0 if t0 is not None else (float(t.min() - 1) if model == "one_param" else None))
    pred = f.predict(t[-k:])
    return [
        {
            "period": float(tt),
            "observed": float(o),
            "predicted": float(p),
            "error": float(p - o),
            "rel_error": float((p - o) / o) if o else float("nan"),
        }
        for tt, o, p in zip(t[-k:], y[-k:], pred, strict=False)
    ]
