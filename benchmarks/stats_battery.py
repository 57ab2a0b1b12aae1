"""Benchmark: the whole `organwatch stats` battery on embedded data, and the GODT reference distribution.

Baseline (same run): a plain per-window ``numpy.polyfit`` loop computing the same reference R² values that
``organwatch.stats.reference.model_r2_batch`` computes vectorised. Prints seconds and ratios; asserts nothing
about time.

    python benchmarks/stats_battery.py [--repeat 3]
"""

from __future__ import annotations

import argparse
import os
import platform
import time

import numpy as np

from organwatch.datasets.godt import godt_wide
from organwatch.stats.battery import embedded_battery
from organwatch.stats.reference import model_r2_batch


def all_windows(min_len=5, max_len=12):
    """Every contiguous window of every length of every GODT country (combined vintage)."""
    W = godt_wide("combined")
    years = [int(c) for c in W.columns]
    M = W.to_numpy(dtype=float)
    out = {}
    for n in range(min_len, max_len + 1):
        T, Y = [], []
        for s in range(len(years) - n + 1):
            ys = years[s:s + n]
            if ys[-1] - ys[0] != n - 1:
                continue
            sub = M[:, s:s + n]
            ok = np.all(np.isfinite(sub), axis=1) & (np.ptp(sub, axis=1) > 0)
            for row in sub[ok]:
                T.append(ys)
                Y.append(row)
        if T:
            out[n] = (np.array(T, float), np.array(Y, float))
    return out


def timed(fn, repeat):
    best = float("inf")
    for _ in range(repeat):
        t = time.perf_counter()
        r = fn()
        best = min(best, time.perf_counter() - t)
    return best, r


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=3)
    a = ap.parse_args()
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    embedded_battery()  # warm caches (CSV parsing) so both timings measure computation
    t_bat, fs = timed(embedded_battery, a.repeat)
    print(f"full battery on embedded data: {t_bat:.3f} s ({len(fs)} findings; best of {a.repeat})")
    wins = all_windows()
    n_windows = sum(len(T) for T, _ in wins.values())

    def batch():
        return {n: model_r2_batch("quadratic", T, Y) for n, (T, Y) in wins.items()}

    def loop():
        out = {}
        for n, (T, Y) in wins.items():
            r = np.empty(len(T))
            for i, (t, y) in enumerate(zip(T, Y, strict=False)):
                u = t - t.mean()
                c = np.polyfit(u, y, 2)
                f = np.polyval(c, u)
                r[i] = 1 - np.sum((y - f) ** 2) / np.sum((y - y.mean()) ** 2)
            out[n] = r
        return out

    t_b, rb = timed(batch, a.repeat)
    t_l, rl = timed(loop, a.repeat)
    for n in rb:
        np.testing.assert_allclose(rb[n], rl[n], rtol=1e-8, atol=1e-10)
    print(f"reference R² over all GODT countries and all windows of length 5–12: {n_windows} windows")
    print(f"  vectorised batch: {t_b * 1e3:.1f} ms; baseline numpy.polyfit loop: {t_l * 1e3:.1f} ms; "
          f"ratio baseline/batch = {t_l / t_b:.1f}×")


if __name__ == "__main__":
    main()
