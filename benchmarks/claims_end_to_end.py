"""Benchmark: ``organwatch claims`` end to end (process start, reading, screening, writing) in claim lines per
minute, on real-shaped data.

FHIR: Synthea bulk NDJSON made from the shared Synthea Bundles (tests/claims_synthea.py: one resource per line,
one file per type, conditional ``Location?identifier=`` references resolved against Location.ndjson); the
245 Claim + 245 ExplanationOfBenefit resources are repeated with fresh ids until the run has ``--fhir-lines``
claim lines. X12: 837P 5010 interchanges built by tests/test_claims_x12build.py (4 lines per claim, about
3 % transplant-related lines, service facilities in the US, China and Taiwan), checked by the envelope scan.
Goal: >= 1,000,000 lines/min for both with ``--fast`` (the tokenising X12 reader, FHIR without schema notes);
the validating paths (pyx12, fhirclient) are measured on smaller inputs for reference. Timings are printed,
never asserted.

Run:  .venv/bin/python benchmarks/claims_end_to_end.py [--fhir-lines 300000] [--x12-lines 400000] [-j TX]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from claims_synthea import bundles_to_ndjson  # type: ignore[import-not-found]  # noqa: E402  (tests/ is on sys.path above)
from test_claims_x12build import build_837  # type: ignore[import-not-found]  # noqa: E402  (tests/ is on sys.path above)

SHARED = Path(os.environ.get("ORGANWATCH_SHARED", ROOT.parent / "shared"))
CODES = ["99213"] * 40 + ["99214"] * 20 + ["36415"] * 15 + ["85025"] * 15 + ["80197"] * 7 + ["50360", "47135"]
DX = ["I10"] * 40 + ["E119"] * 30 + ["J069"] * 25 + ["N186"] * 2 + ["T8611", "Z940", "Z79621"]


def run(args: list[str]) -> tuple[float, float, dict]:
    """Wall-clock and CPU seconds of one CLI run (a fresh process) and its provenance counts."""
    c0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    r = subprocess.run([sys.executable, "-m", "organwatch", "claims", *args, "--quiet"], capture_output=True,
                       text=True)
    dt = time.perf_counter() - t0
    c1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (c1.ru_utime - c0.ru_utime) + (c1.ru_stime - c0.ru_stime)
    if r.returncode != 0:
        raise SystemExit(f"organwatch claims failed: {r.stderr.strip()}")
    out = Path(args[args.index("--out") + 1])
    prov = json.loads(Path(str(out) + ".provenance.json").read_text())
    return dt, cpu, prov["counts"]


def make_x12(path: Path, n_lines: int, items: int = 4, seed: int = 7) -> int:
    rnd = random.Random(seed)
    per_file_claims = 5000
    n = 0
    with open(path, "w", encoding="utf-8") as fh:
        k = 0
        while n < n_lines:
            claims = []
            for _ in range(per_file_claims):
                k += 1
                claims.append({"claim_id": f"X{k}", "member_id": f"M{k % 5000}",
                               "dx": [("ABK", rnd.choice(DX).replace(".", ""))],
                               "facility": rnd.choice([{"state": "TX"}, {"country": "CN"}, {"country": "TW"}, None]),
                               "lines": [{"code": rnd.choice(CODES), "date": f"2025-{rnd.randint(1, 12):02d}-15"}
                                         for _ in range(items)]})
                n += items
                if n >= n_lines:
                    break
            fh.write(build_837(claims))  # one interchange per 5,000 claims, concatenated as in a daily file
    return n


def report(name: str, dt: float, cpu: float, counts: dict, shape: str) -> None:
    rate, cpu_rate = counts["lines"] / dt * 60, counts["lines"] / cpu * 60
    print(f"{name:<44} {counts['lines']:>9,} lines {counts['claims']:>8,} claims in {dt:6.2f} s = "
          f"{rate:>11,.0f} lines/min wall, {cpu_rate:>11,.0f} per CPU-minute ({counts['records']:,} records)"
          f"{'  target met (wall)' if rate >= 1e6 else ('  target met (CPU)' if cpu_rate >= 1e6 else '')}")
    print(f"{'':<44} data: {shape}")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--fhir-lines", type=int, default=300_000)
    ap.add_argument("--x12-lines", type=int, default=400_000)
    ap.add_argument("--validating-lines", type=int, default=20_000, help="lines for the pyx12 / fhirclient runs")
    ap.add_argument("-j", "--jurisdiction", default="TX", help="a jurisdiction, or 'all' (five records per line)")
    a = ap.parse_args()
    js = [] if a.jurisdiction == "all" else ["-j", a.jurisdiction]
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"machine: {platform.machine()} {os.cpu_count()} cores, Python {platform.python_version()}; load average "
          f"{load:.1f}; jurisdictions: {a.jurisdiction}; a fresh process per run (wall clock, and CPU seconds of "
          f"that process: the rate on an unshared core)")
    src = SHARED / "data" / "formats" / "synthea_fhir"
    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp)
        copies = max(1, round(a.fhir_lines / 1250))  # the shared bundles hold 1,250 claim lines
        nd = d / "ndjson"
        counts = bundles_to_ndjson(src, nd, copies=copies)
        size = sum(p.stat().st_size for p in nd.iterdir()) / 1e6
        shape = (f"Synthea bulk NDJSON, {len(list(nd.iterdir()))} files, {size:,.0f} MB; {counts['Claim']:,} Claim + "
                 f"{counts['ExplanationOfBenefit']:,} EOB, {counts['Location']:,} Locations")
        dt, cpu, c = run([str(nd), *js, "--fast", "--out", str(d / "f.jsonl")])
        report("FHIR NDJSON, --fast", dt, cpu, c, shape)
        small = d / "small"
        bundles_to_ndjson(src, small, copies=max(1, round(a.validating_lines / 1250)))
        dt, cpu, c = run([str(small), *js, "--out", str(d / "fv.jsonl")])
        report("FHIR NDJSON, validating (fhirclient notes)", dt, cpu, c, "same shape, fewer copies")
        x12 = d / "big.837"
        n = make_x12(x12, a.x12_lines)
        shape = f"837P 005010X222A1, {n // 4:,} claims x 4 lines, {x12.stat().st_size / 1e6:,.0f} MB"
        dt, cpu, c = run([str(x12), *js, "--fast", "--out", str(d / "x.jsonl")])
        report("X12 837P, --fast (tokeniser)", dt, cpu, c, shape)
        xs = d / "small.837"
        make_x12(xs, a.validating_lines)
        dt, cpu, c = run([str(xs), *js, "--out", str(d / "xv.jsonl")])
        report("X12 837P, validating (pyx12)", dt, cpu, c, "same shape, fewer claims")


if __name__ == "__main__":
    main()
