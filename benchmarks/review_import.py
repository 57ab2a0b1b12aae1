"""Import speed of `organwatch review new`: 80,000 screen records (synthetic, zh and en) into a new project.

    python benchmarks/review_import.py [--documents 80000] [--passages 1]

Baseline, measured in the same run: parsing the same JSONL file with the standard library alone
(`json.loads` per line, no validation, no de-duplication, no database). Prints seconds and the ratio.
Work files live in a temporary directory.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from review_synth import write as write_synth  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--documents", type=int, default=80_000)
    ap.add_argument("--passages", type=int, default=1)
    a = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="ow-review-import-") as td:
        src = write_synth(Path(td) / "results.jsonl", a.documents, a.passages)
        size = src.stat().st_size
        t = time.perf_counter()
        n = 0
        with open(src, "rb") as fh:
            for line in fh:
                json.loads(line)
                n += 1
        base = time.perf_counter() - t
        proj = Path(td) / "bench.owproj"
        t = time.perf_counter()
        r = subprocess.run([sys.executable, "-m", "organwatch", "review", "new", str(src), str(proj)],
                           capture_output=True, text=True)
        took = time.perf_counter() - t
        if r.returncode != 0:
            sys.exit(r.stderr)
        con = sqlite3.connect(proj)
        hits = con.execute("SELECT COUNT(*) FROM hits").fetchone()[0]
        groups = con.execute("SELECT COUNT(DISTINCT dup_group) FROM documents WHERE dup_group IS NOT NULL").fetchone()[0]
        con.close()
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    print(f"review import: {n:,} records ({size / 1e6:.1f} MB JSONL, {hits:,} hits, {groups:,} duplicate groups)")
    print(f"  organwatch review new (whole command, incl. start-up): {took:.2f} s ({n / took:,.0f} records/s)")
    print(f"  baseline stdlib json.loads of every line:              {base:.2f} s")
    print(f"  ratio review new / baseline: {took / base:.1f}x; target <= 30 s: {'met' if took <= 30 else 'NOT met'}")


if __name__ == "__main__":
    main()
