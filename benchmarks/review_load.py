"""Load test of the review UI on loopback: queue and facet pages of a 1M-hit project, 8 clients, 60 s.

    python benchmarks/review_load.py [--documents 250000 --passages 4] [--clients 8] [--seconds 60]
                                     [--project EXISTING.owproj]

Builds the project with `organwatch review new` from synthetic screen results (250,000 documents x 4 passages =
1,000,000 hits; work files in a temporary directory unless --project is given), seeds a few thousand decisions
from three reviewers, starts `organwatch review serve` on 127.0.0.1, and runs N closed-loop clients for the given
time. Every client requests a random mix of queue pages (first page of the todo queue, filtered by pattern, year,
institution or decision label, and later pages) and facet pages (unfiltered and filtered). Prints p50/p95/p99 per
page kind. Baseline, measured in the same run under the same load: `/healthz` (no database, no template).
Bounded in time and count; talks to 127.0.0.1 only.
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from review_client import ReviewClient  # noqa: E402
from review_crash import free_port, start_server, wait_ready  # noqa: E402
from review_synth import INSTITUTIONS, PATTERNS  # noqa: E402
from review_synth import write as write_synth

LABELS = ["confirmed_violation", "suspicious", "not_violation", "duplicate", "out_of_scope"]


def build(td: Path, documents: int, passages: int) -> Path:
    src = write_synth(td / "results.jsonl", documents, passages)
    proj = td / "load.owproj"
    t = time.perf_counter()
    subprocess.run([sys.executable, "-m", "organwatch", "review", "new", str(src), str(proj)], check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    print(f"built {proj.name} in {time.perf_counter() - t:.1f} s", flush=True)
    src.unlink()
    return proj


def seed_decisions(proj: Path, n: int = 3000) -> None:
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
    from organwatch.review.ledger import append
    from organwatch.review.schema import connect

    con = connect(proj)
    top = [r[0] for r in con.execute("SELECT hit_id FROM hits ORDER BY confidence DESC LIMIT ?", (n,))]
    rng = random.Random(3)
    for i, h in enumerate(top):
        for rv in ("alice", "bob", "chen")[: 1 + (i % 3)]:
            append(con, h, rv, rng.choice(LABELS))
    con.close()


def paths(rng: random.Random) -> tuple[str, str]:
    kind = rng.random()
    if kind < 0.5:
        q = rng.choice(["todo=1", f"pattern={rng.choice(PATTERNS)}&todo=1", f"year={rng.randint(1995, 2024)}",
                        f"institution={rng.choice(INSTITUTIONS[:120])}", f"label={rng.choice(LABELS)}",
                        f"page={rng.randint(1, 20)}", f"pattern={rng.choice(PATTERNS)}&year={rng.randint(1995, 2024)}"])
        return "queue", "/queue?" + urllib.parse.quote(q, safe="=&")
    if kind < 0.95:
        q = rng.choice(["", f"pattern={rng.choice(PATTERNS)}", f"year={rng.randint(1995, 2024)}",
                        f"label={rng.choice(LABELS)}", "label=undecided", f"reviewer={rng.choice(['alice', 'bob'])}",
                        f"pattern={rng.choice(PATTERNS)}&year={rng.randint(1995, 2024)}"])
        return "facets", "/facets?" + urllib.parse.quote(q, safe="=&")
    return "baseline", "/healthz"


def pct(xs: list[float], p: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100 * (len(xs) - 1))))] if xs else float("nan")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--documents", type=int, default=250_000)
    ap.add_argument("--passages", type=int, default=4)
    ap.add_argument("--clients", type=int, default=8)
    ap.add_argument("--seconds", type=float, default=60)
    ap.add_argument("--project", type=Path, default=None)
    ap.add_argument("--workers", type=int, default=2, help="server processes (organwatch review serve --workers)")
    a = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="ow-review-load-") as td:
        proj = a.project or build(Path(td), a.documents, a.passages)
        con = sqlite3.connect(proj)
        n_hits = con.execute("SELECT COUNT(*) FROM hits").fetchone()[0]
        con.close()
        if a.project is None:
            seed_decisions(proj)
        port = free_port()
        proc = start_server(proj, port, "--workers", str(a.workers))
        try:
            wait_ready(proc, port, timeout=120)
            lat: dict[str, list[float]] = {"queue": [], "facets": [], "baseline": []}
            errors = [0]
            lock = threading.Lock()
            deadline = time.monotonic() + a.seconds

            def client(k: int) -> None:
                c = ReviewClient(port, f"load{k}")
                c.login()
                rng = random.Random(k)
                while time.monotonic() < deadline:
                    kind, path = paths(rng)
                    t = time.perf_counter()
                    status, _ = c.get(path)
                    dt = (time.perf_counter() - t) * 1000
                    with lock:
                        if status == 200:
                            lat[kind].append(dt)
                        else:
                            errors[0] += 1
                c.close()

            threads = [threading.Thread(target=client, args=(k,)) for k in range(a.clients)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
        finally:
            proc.terminate()
            proc.wait(timeout=30)
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}; "
          f"server and clients on the same machine (loopback)")
    print(f"review load: {n_hits:,} hits, {a.clients} clients, {a.seconds:.0f} s, server workers {a.workers}, "
          f"errors {errors[0]}")
    base95 = pct(lat["baseline"], 95)
    for kind in ("queue", "facets", "baseline"):
        xs = lat[kind]
        if not xs:
            continue
        print(f"  {kind:8s} n={len(xs):6d} p50 {pct(xs, 50):7.1f} ms  p95 {pct(xs, 95):7.1f} ms  p99 {pct(xs, 99):7.1f} ms"
              f"  mean {statistics.fmean(xs):6.1f} ms  p95/baseline p95 {pct(xs, 95) / base95:5.1f}x")
    ok = all(pct(lat[k], 95) <= 200 for k in ("queue", "facets"))
    print(f"  target p95 <= 200 ms for queue and facets: {'met' if ok else 'NOT met'}")


if __name__ == "__main__":
    main()
