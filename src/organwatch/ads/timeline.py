"""Per-site timeline of advertised claims: first and last capture, each claim's run, and when it disappeared.

A claim is identified across captures by what it says: (organ, wait min/max/vague, price min/max, currency).
For each site (host) and claim: the first and last capture that carry it, the number of captures that do,
and ``disappeared_after``: the first later capture of a URL that carried it in which it is absent (null
while every later capture still shows it, or when there is no later capture). The capture list comes from
the ``.captures`` file that ``ads scan`` writes next to its output (without it, only captures with claims
are known and disappearance cannot be dated; the rows say so).
"""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path
from typing import Any

from organwatch.errors import InputError

KEY = ("organ", "wait_min_days", "wait_max_days", "wait_vague", "price_min", "price_max", "currency")
TIMELINE_COLUMNS = ["site", "organ", "wait", "price", "first_seen", "last_seen", "captures_with_claim",
                    "site_first_capture", "site_last_capture", "site_captures", "disappeared_after", "urls",
                    "example_quote", "example_record"]


def captures_path(claims_path: Path) -> Path:
    """``claims.parquet`` -> ``claims.captures.parquet`` (same format)."""
    name = claims_path.name
    stem, dot, ext = name.partition(".")
    return claims_path.with_name(f"{stem}.captures.{ext}" if dot else f"{stem}.captures")


def load_table(path: Path) -> list[dict[str, Any]]:
    suf = path.suffix.lower()
    try:
        if suf in (".parquet", ".pq"):
            import pyarrow.parquet as pq

            return list(pq.read_table(path).to_pylist())
        if suf in (".jsonl", ".ndjson"):
            with open(path, encoding="utf-8") as fh:
                return [json.loads(line) for line in fh if line.strip()]
        if suf == ".csv":
            import csv

            with open(path, encoding="utf-8", newline="") as fh:
                return [_csv_row(r) for r in csv.DictReader(fh)]
    except (OSError, ValueError) as e:
        raise InputError(f"cannot read claims: {e}", file=path.name) from None
    except Exception as e:  # noqa: BLE001 - pyarrow raises its own error types for damaged files
        raise InputError(f"cannot read claims: {type(e).__name__}: {e}", file=path.name) from None
    raise InputError("claims must be .parquet, .jsonl or .csv (written by organwatch ads scan)", file=path.name)


def _csv_row(r: dict[str, str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in r.items():
        if v == "":
            out[k] = None
        elif k in ("wait_min_days", "wait_max_days", "price_min", "price_max"):
            out[k] = float(v.lstrip("'"))
        elif k in ("wait_vague", "foreign_patients", "prefilter"):
            out[k] = v.lower() == "true"
        elif k in ("claims", "record"):
            out[k] = int(v)
        else:
            out[k] = v
    return out


def fmt_range(lo: Any, hi: Any, unit: str = "") -> str:
    def f(x: Any) -> str:
        return f"{x:,.3f}".rstrip("0").rstrip(".") if isinstance(x, (int, float)) else str(x)

    if lo is None and hi is None:
        return ""
    if lo is None:
        return f"up to {f(hi)}{unit}"
    if hi is None:
        return f"from {f(lo)}{unit}"
    return f"{f(lo)}{unit}" if lo == hi else f"{f(lo)}–{f(hi)}{unit}"


def _label_wait(r: dict[str, Any]) -> str:
    if r.get("wait_vague") and r.get("wait_max_days") is None:
        return "a few days (vague)"
    return fmt_range(r.get("wait_min_days"), r.get("wait_max_days"), " d")


def _label_price(r: dict[str, Any]) -> str:
    s = fmt_range(r.get("price_min"), r.get("price_max"))
    return f"{s} {r.get('currency') or ''}".strip() if s else ""


def timeline(claims: list[dict[str, Any]], captures: list[dict[str, Any]] | None) -> list[dict[str, Any]]:
    caps = captures if captures is not None else _captures_from_claims(claims)
    site_caps: dict[str, list[str]] = defaultdict(list)
    url_caps: dict[str, list[tuple[str, str]]] = defaultdict(list)  # url -> [(time, record)]
    for c in caps:
        site, t = c.get("site") or "(unknown site)", c.get("capture_time") or ""
        site_caps[site].append(t)
        url_caps[c.get("url") or ""].append((t, c.get("archive_record") or ""))
    groups: dict[tuple[Any, ...], list[dict[str, Any]]] = defaultdict(list)
    for r in claims:
        groups[(r.get("site") or "(unknown site)", *(r.get(k) for k in KEY))].append(r)
    out = []
    for key, rs in sorted(groups.items(), key=lambda kv: tuple("" if x is None else str(x) for x in kv[0])):
        out.append(_row(key[0], rs, site_caps[key[0]], url_caps, captures is not None))
    return out


def _row(site: str, rs: list[dict[str, Any]], site_times: list[str], url_caps: dict[str, list[tuple[str, str]]],
         have_captures: bool) -> dict[str, Any]:
    times = sorted({r.get("capture_time") or "" for r in rs})
    with_claim = {r.get("archive_record") for r in rs}
    gone = None
    if have_captures:
        later = []
        for url in {r.get("url") or "" for r in rs}:
            last_t = max((r.get("capture_time") or "") for r in rs if (r.get("url") or "") == url)
            later += [t for t, rec in url_caps.get(url, []) if t > last_t and rec not in with_claim]
        gone = min(later) if later else None
    st = sorted(site_times)
    first = rs[0]
    return {"site": site, "organ": first.get("organ"), "wait": _label_wait(first), "price": _label_price(first),
            "first_seen": times[0] or None, "last_seen": times[-1] or None, "captures_with_claim": len(with_claim),
            "site_first_capture": st[0] if st else None, "site_last_capture": st[-1] if st else None,
            "site_captures": len(st), "disappeared_after": gone if have_captures else "unknown (no capture list)",
            "urls": sorted({r.get("url") or "" for r in rs}), "example_quote": first.get("quote"),
            "example_record": first.get("archive_record")}


def _captures_from_claims(claims: list[dict[str, Any]]) -> list[dict[str, Any]]:
    seen: dict[str, dict[str, Any]] = {}
    for r in claims:
        seen.setdefault(r.get("archive_record") or "", {"site": r.get("site"), "url": r.get("url"),
                                                        "capture_time": r.get("capture_time"),
                                                        "archive_record": r.get("archive_record")})
    return list(seen.values())
