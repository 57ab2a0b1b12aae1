"""Synthea bulk-data NDJSON made from the shared Synthea Bundles, the way FHIR bulk export writes it: one
resource per line, one file per resource type (``Claim.ndjson``, ``Location.ndjson`` ...), compact JSON with
``resourceType`` first. References are kept as Synthea wrote them (``urn:uuid:``, ``Location?identifier=``).

Used by the claims tests and by benchmarks/claims_end_to_end.py (``copies`` > 1 repeats the claims with fresh
ids, for volume; the referenced resources are written once).
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

CLAIMS = ("Claim", "ExplanationOfBenefit")


def _compact(res: dict[str, Any]) -> str:
    ordered = {"resourceType": res["resourceType"], **{k: v for k, v in res.items() if k != "resourceType"}}
    return json.dumps(ordered, ensure_ascii=False, separators=(",", ":"))


def bundles_to_ndjson(src: Path, out: Path, copies: int = 1, skip_types: tuple[str, ...] = ()) -> dict[str, int]:
    """Write one NDJSON file per resource type from every Bundle in ``src``; returns lines per type."""
    out.mkdir(parents=True, exist_ok=True)
    buffers: dict[str, list[str]] = {}
    counts: dict[str, int] = {}
    claims: list[dict[str, Any]] = []

    def flush(rt: str) -> None:
        with open(out / f"{rt}.ndjson", "a" if counts[rt] > len(buffers[rt]) else "w", encoding="utf-8") as fh:
            fh.write("".join(buffers[rt]))
        buffers[rt] = []

    def write(res: dict[str, Any]) -> None:
        rt = res["resourceType"]
        if rt in skip_types:
            return
        buffers.setdefault(rt, []).append(_compact(res) + "\n")
        counts[rt] = counts.get(rt, 0) + 1
        if len(buffers[rt]) >= 20_000:
            flush(rt)

    for f in sorted(src.glob("*.json")):
        doc = json.loads(f.read_text(encoding="utf-8"))
        for e in doc.get("entry", []):
            res = e.get("resource")
            if not isinstance(res, dict):
                continue
            if res.get("resourceType") in CLAIMS:
                claims.append(res)
            write(res)
    for k in range(1, copies):
        for res in claims:
            dup = dict(res)
            dup["id"] = str(uuid.uuid5(uuid.NAMESPACE_URL, f"{res.get('id')}/{k}"))  # deterministic
            write(dup)
    for rt in buffers:
        if buffers[rt] or not (out / f"{rt}.ndjson").exists():
            flush(rt)
    return counts
