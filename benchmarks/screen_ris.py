"""Benchmark (c): importing a large RIS file (default 1,000,000 records) with flat memory.

Usage: python benchmarks/screen_ris.py [--records 1000000]. Generates a seeded RIS file in a temp dir,
streams it through organwatch's RIS reader and prints records/s and peak RSS at 10 %, 50 % and 100 %,
against the baseline of rispy.load() on the whole file measured in the same run (skipped above 200k records,
where it would hold every record in memory).
"""

from __future__ import annotations

import argparse
import random
import resource
import tempfile
import time
from pathlib import Path


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def make(path: Path, n: int, seed: int = 11) -> None:
    rng = random.Random(seed)
    words = ["donor", "brain", "death", "intubation", "recipient", "graft", "供者", "脑死亡", "气管插管", "受者", "移植"]
    with open(path, "w", encoding="utf-8") as fh:
        for i in range(n):
            ab = " ".join(rng.choice(words) for _ in range(30))
            fh.write(f"TY  - JOUR\nID  - r{i}\nTI  - Title {i}\nPY  - {1990 + i % 30}\nAB  - {ab}\n"
                     f"AD  - Hospital {i % 500}\nER  - \n\n")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--records", type=int, default=1_000_000)
    a = ap.parse_args()
    from organwatch.screen.readers.ris import read_ris

    with tempfile.TemporaryDirectory() as td:
        f = Path(td) / "big.ris"
        make(f, a.records)
        base = rss_mb()
        t0 = time.perf_counter()
        marks = {int(a.records * q): q for q in (0.1, 0.5, 1.0)}
        n = 0
        for _ in read_ris(f):
            n += 1
            if n in marks:
                print(f"  {int(marks[n] * 100):>3}%: {n} records, {time.perf_counter() - t0:.1f} s, "
                      f"peak RSS {rss_mb():.0f} MB (start {base:.0f} MB)")
        dt = time.perf_counter() - t0
        print(f"organwatch read_ris: {n} records from {f.stat().st_size / 1e6:.0f} MB in {dt:.1f} s "
              f"({n / dt:,.0f} records/s), peak RSS growth {rss_mb() - base:.0f} MB")
        if a.records <= 200_000:
            import rispy

            r0 = rss_mb()
            t0 = time.perf_counter()
            with open(f, encoding="utf-8") as fh:
                m = len(rispy.load(fh))
            dt2 = time.perf_counter() - t0
            print(f"baseline rispy.load (whole file): {m} records in {dt2:.1f} s, peak RSS growth {rss_mb() - r0:.0f} MB")
            print(f"ratio organwatch/rispy time: {dt / dt2:.2f}x")


if __name__ == "__main__":
    main()
