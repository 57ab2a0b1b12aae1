"""Benchmark: claim lines screened per minute (FHIR fast path, FHIR model path, X12 via pyx12).

Synthetic claims are generated in a temporary directory (deterministic, seed 20240101): a mix of office visits,
post-transplant follow-up (T86/Z94/Z79.62x), transplant lines in the US, China, Hong Kong and Taiwan. Baseline: the
model-library path (fhirclient R4 models) measured in the same run; the script prints ratios against it.
Run:  .venv/bin/python benchmarks/claims_throughput.py [--lines 300000] [--jurisdictions TX|all]
Timings are printed, never asserted.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from organwatch.claims.batch import gc_paused  # noqa: E402
from organwatch.claims.batch import screen as run_batch  # noqa: E402
from organwatch.claims.engine import Engine  # noqa: E402
from organwatch.claims.model import Claim  # noqa: E402
from organwatch.claims.readers import read_claims  # noqa: E402
from organwatch.claims.rules import load_rules  # noqa: E402

# "typical": a payer's stream, where transplant-related lines are rare (about 3 % here);
# "stress": most lines carry transplant, post-transplant or procurement codes (worst case for the engine).
MIXES = {
    "typical": (["99213"] * 40 + ["99214"] * 20 + ["36415"] * 15 + ["85025"] * 15 + ["80197"] * 7 + ["50360", "47135"],
                ["I10"] * 40 + ["E119"] * 30 + ["J069"] * 25 + ["N186"] * 2 + ["T8611", "Z940", "Z79621"]),
    "stress": (["99213", "99214", "80197", "50360", "47135", "36415", "J7507", "85025"],
               ["I10", "E119", "T8611", "Z940", "Z79621", "N186", "J069", "K7469"]),
}
CODES, DX = MIXES["typical"]
CPU: dict[str, float] = {}  # CPU seconds of this process per run: the machine's capacity when it is shared
COUNTRIES = ["US", "US", "US", "US", "CN", "HKG", "TW", None]


def make_fhir(n_lines: int, items_per_claim: int, path: Path, seed: int = 20240101) -> int:
    rnd = random.Random(seed)
    n = 0
    with open(path, "w", encoding="utf-8") as fh:
        k = 0
        while n < n_lines:
            k += 1
            items = []
            for s in range(1, items_per_claim + 1):
                it = {"sequence": s, "productOrService": {"coding": [{"system": "http://www.ama-assn.org/go/cpt",
                                                                     "code": rnd.choice(CODES)}]},
                      "servicedDate": f"2025-{rnd.randint(1, 12):02d}-{rnd.randint(1, 28):02d}",
                      "diagnosisSequence": [1, 2]}
                c = rnd.choice(COUNTRIES)
                if c:
                    it["locationAddress"] = {"country": c}
                items.append(it)
            claim = {"resourceType": "Claim", "id": f"B{k}", "status": "active",
                     "type": {"coding": [{"code": "professional"}]}, "use": "claim",
                     "patient": {"reference": f"Patient/{rnd.randint(1, n_lines // 20 + 1)}"}, "created": "2025-01-01",
                     "provider": {"reference": "Organization/1"}, "priority": {"coding": [{"code": "normal"}]},
                     "insurance": [{"sequence": 1, "focal": True, "coverage": {"reference": "Coverage/1"}}],
                     "diagnosis": [{"sequence": 1, "diagnosisCodeableConcept": {"coding": [{"code": rnd.choice(DX)}]}},
                                   {"sequence": 2, "diagnosisCodeableConcept": {"coding": [{"code": rnd.choice(DX)}]}}],
                     "item": items}
            fh.write(json.dumps(claim) + "\n")
            n += len(items)
    return n


def screen(path: Path, fast: bool, jurisdictions: list[str] | None) -> tuple[float, int, int, list]:
    """The CLI's code path (organwatch.claims.batch.screen) plus building the output records."""
    rules = load_rules()
    t0, c0 = time.perf_counter(), time.process_time()
    b = run_batch([path], rules, {}, jurisdictions, None, fast)
    with gc_paused():
        recs = [o.to_record() for o in b.outcomes]
    dt, cpu = time.perf_counter() - t0, time.process_time() - c0
    CPU[f"{path.name}:{fast}"] = cpu
    return dt, b.lines, len(recs), b.outcomes


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--lines", type=int, default=300_000, help="FHIR claim lines for the fast path")
    ap.add_argument("--model-lines", type=int, default=20_000, help="FHIR claim lines for the model path baseline")
    ap.add_argument("--x12-claims", type=int, default=2_000)
    ap.add_argument("--items", type=int, default=4, help="items per FHIR claim")
    ap.add_argument("--jurisdictions", default="TX", help="TX (one record per line) or 'all' (five per line)")
    ap.add_argument("--mix", choices=sorted(MIXES), default="typical")
    a = ap.parse_args()
    global CODES, DX
    CODES, DX = MIXES[a.mix]
    js = None if a.jurisdictions == "all" else [a.jurisdictions]
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"machine: {platform.machine()} {platform.processor() or ''} {os.cpu_count()} cores, Python "
          f"{platform.python_version()}; load average {load:.1f}; jurisdictions: {a.jurisdictions}; mix: {a.mix}")
    print("rates: wall clock (what a user waits) and, in brackets, per CPU-second of this single-threaded process "
          "(what the machine does when it is not shared)")
    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp)
        small, big = d / "small.ndjson", d / "big.ndjson"
        make_fhir(a.model_lines, a.items, small)
        make_fhir(a.lines, a.items, big)
        t_model, n_model, r_model, o_model = screen(small, False, js)
        t_fast_small, _, _, o_fast = screen(small, True, js)
        assert [o.to_record() for o in o_model] == [o.to_record() for o in o_fast], "fast path differs from model path"
        base = n_model / t_model * 60
        print(f"baseline  FHIR model path (fhirclient): {n_model:>9,} lines in {t_model:7.2f} s = "
              f"{base:>12,.0f} lines/min [{n_model / CPU[small.name + ':False'] * 60:>12,.0f}/CPU-min] ({r_model:,} records)")
        t_fast, n_fast, r_fast, _ = screen(big, True, js)
        rate = n_fast / t_fast * 60
        cpu_rate = n_fast / CPU[big.name + ':True'] * 60
        print(f"FHIR fast path (json + engine):        {n_fast:>9,} lines in {t_fast:7.2f} s = {rate:>12,.0f} lines/min "
              f"[{cpu_rate:>12,.0f}/CPU-min] ({r_fast:,} records)  ratio vs baseline {rate / base:5.1f}x  "
              f"target >= 1,000,000/min: wall {'met' if rate >= 1_000_000 else 'NOT met'}, "
              f"CPU {'met' if cpu_rate >= 1_000_000 else 'NOT met'}")
        # X12 via pyx12
        from test_claims_x12build import build_837  # type: ignore[import-not-found]  # tests/ is on sys.path

        rnd = random.Random(7)
        claims = [{"claim_id": f"X{i}", "member_id": f"M{i % 500}", "dx": [("ABK", rnd.choice(DX).replace(".", ""))],
                   "facility": rnd.choice([{"state": "TX"}, {"country": "CN"}, {"country": "TW"}, None]),
                   "lines": [{"code": rnd.choice(CODES), "date": "2025-03-01"} for _ in range(a.items)]}
                  for i in range(a.x12_claims)]
        x12 = d / "b.837"
        x12.write_text(build_837(claims))
        t0, c0 = time.perf_counter(), time.process_time()
        parsed = [c for c in read_claims(x12) if isinstance(c, Claim)]
        t_parse = time.perf_counter() - t0
        outs = list(Engine(load_rules()).evaluate(parsed, {}, js, None))
        t_x12, c_x12 = time.perf_counter() - t0, time.process_time() - c0
        n_x12 = sum(len(c.lines) for c in parsed)
        print(f"X12 837P via pyx12 (parse {t_parse:.2f} s):   {n_x12:>9,} lines in {t_x12:7.2f} s = "
              f"{n_x12 / t_x12 * 60:>12,.0f} lines/min [{n_x12 / c_x12 * 60:>12,.0f}/CPU-min] ({len(outs):,} records)  ratio vs baseline "
              f"{n_x12 / t_x12 * 60 / base:5.2f}x")


if __name__ == "__main__":
    main()
