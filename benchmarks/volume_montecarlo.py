"""Benchmark: the volume Monte Carlo at 10^6 draws over all hospitals (acceptance: <= 5 s on 2 cores).

Measures, in one run:
  * ``simulate`` (best and median of 3 runs; the machine is shared): 10^6 draws x every registry hospital with a transplant-bed figure + the imputation for the
    remaining licensed hospitals (the acceptance figure);
  * ``simulate+summaries``: the same plus national and per-hospital quantiles and the sensitivity analysis;
  * baseline ``python-loop``: the same model written as a plain Python loop per draw and hospital, timed on
    BASELINE_DRAWS draws and scaled linearly to 10^6 (the ratio printed is baseline / vectorised).

Usage:  .venv/bin/python benchmarks/volume_montecarlo.py [DRAWS]
Timings are printed, never asserted.
"""

from __future__ import annotations

import math
import os
import platform
import random
import statistics
import sys
import time

import numpy as np

from organwatch.volume import model, scenario, sensitivity

DRAWS = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
BASELINE_DRAWS = 20_000
REPEATS = 3  # the machine is shared: report the best and the median of REPEATS runs


def python_loop(s: scenario.Scenario, draws: int) -> list[float]:
    """Naive baseline: one Python iteration per draw and hospital (same model, same distributions)."""
    rnd = random.Random(s.seed)
    hosp = model.hospital_inputs(s)
    frame, _ = model.frame_size(s)
    n_imp = max(frame - len(hosp), 0)
    pool = [sum(g.values[rnd.randrange(len(g.values))] for g in h.bed_groups) for h in hosp]
    ps = s.parameters
    lo_l, hi_l = math.log(ps["length_of_stay"].dist.params["low"]), math.log(ps["length_of_stay"].dist.params["high"])
    out = []
    for _ in range(draws):
        f = rnd.uniform(ps["share"].dist.params["low"], ps["share"].dist.params["high"])
        los = math.exp(rnd.uniform(lo_l, hi_l))
        tot = 0.0
        for h in hosp:
            beds = sum(g.values[rnd.randrange(len(g.values))] for g in h.bed_groups)
            u = rnd.uniform(*h.occupancy.support_points()[:2]) if h.occupancy.kind == "uniform" else \
                h.occupancy.params.get("value", 1.0)
            tot += beds * u * f * 365 / los
        scale = rnd.uniform(0.25, 1.0)
        imp = sum(pool[rnd.randrange(len(pool))] for _ in range(n_imp)) * scale
        tot += imp * rnd.uniform(0.86, 1.311) * f * 365 / los
        out.append(tot)
    return out


def main() -> None:
    s = scenario.with_overrides(scenario.load(), draws=DRAWS)
    model.simulate(scenario.with_overrides(s, draws=1000))  # warm caches (dataset loading)

    sims = []
    for _ in range(REPEATS):
        t0 = time.perf_counter()
        sim = model.simulate(s)
        sims.append(time.perf_counter() - t0)
        del sim
    t_sim, t_sim_med = min(sims), statistics.median(sims)

    fulls = []
    for _ in range(REPEATS):
        t0 = time.perf_counter()
        sim = model.simulate(s)
        model.quantiles(sim.total)
        model.quantiles_columns(sim.per_hospital)
        sensitivity.analyse(sim.inputs, sim.total)
        fulls.append(time.perf_counter() - t0)
    t_full, t_full_med = min(fulls), statistics.median(fulls)

    t0 = time.perf_counter()
    python_loop(s, BASELINE_DRAWS)
    t_base = (time.perf_counter() - t0) * DRAWS / BASELINE_DRAWS

    print(f"machine: {platform.machine()}, {os.cpu_count()} cpus, Python {platform.python_version()}, "
          f"numpy {np.__version__}")
    print(f"draws: {DRAWS:,}; hospitals with bed figures: {len(sim.hospitals)}; imputed hospitals: {sim.n_imputed} "
          f"(frame {sim.frame})")
    print(f"simulate:                 {t_sim:7.2f} s best, {t_sim_med:.2f} s median of {REPEATS} "
          f"(acceptance: <= 5 s)")
    print(f"simulate+summaries:       {t_full:7.2f} s best, {t_full_med:.2f} s median of {REPEATS} "
          f"(quantiles, per-hospital quantiles, sensitivity)")
    print(f"baseline python-loop:     {t_base:7.2f} s   (timed on {BASELINE_DRAWS:,} draws, scaled)")
    print(f"ratio python-loop / simulate: {t_base / t_sim:,.0f}x")


if __name__ == "__main__":
    main()
