"""Legislation registry queries over the embedded ``laws`` dataset (``organwatch laws``)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from organwatch.errors import UsageError

PROVISIONS = {
    "insurance_ban": "covers_insurance_ban",
    "criminal": "covers_criminal",
    "reporting": "covers_reporting",
    "travel_warning": "covers_travel_warning",
    "sanctions": "covers_passport_or_sanctions",
}
LAW_COLUMNS = ["id", "jurisdiction", "level", "instrument", "status", "status_date", "provisions_types",
               "effective", "in_effect", "rule_mode", "summary", "source_urls"]


def _start(status_date: str | None, year: int | None) -> dt.date | None:
    """First day of the period a (possibly partial) status date names: '2024-04' -> 2024-04-01."""
    s = (status_date or "").strip()
    try:
        if len(s) == 10:
            return dt.date.fromisoformat(s)
        if len(s) == 7:
            return dt.date.fromisoformat(s + "-01")
        if len(s) == 4:
            return dt.date(int(s), 1, 1)
    except ValueError:
        return None
    return dt.date(int(year), 1, 1) if year else None


def match_jurisdiction(query: str, value: str) -> bool:
    q, v = query.strip().upper(), (value or "").upper()
    if q == v:
        return True
    if len(q) == 2 and q.isalpha() and v == f"US-{q}":  # TX -> US-TX
        return True
    return q == "US" and v.startswith("US-") or (q.lower() == v.lower())


def query_laws(jurisdictions: list[str] | None = None, provisions: list[str] | None = None,
               statuses: list[str] | None = None, as_of: dt.date | None = None) -> tuple[list[dict[str, Any]], int]:
    """Rows matching every filter, and how many were left out because their date is unknown under --as-of."""
    from organwatch import datasets
    from organwatch.claims.rules import load_rules

    for p in provisions or []:
        if p not in PROVISIONS:
            raise UsageError(f"--provision must be one of {', '.join(PROVISIONS)}, not '{p}'")
    frame = datasets.load("laws").frame
    rules = load_rules(as_of=as_of).rules
    by_law = {r.law_id: r for r in rules.values()}
    rows, undated = [], 0
    for r in frame.astype(object).where(frame.notna(), None).to_dict("records"):
        if jurisdictions and not any(match_jurisdiction(q, r["jurisdiction"]) for q in jurisdictions):
            continue
        types = [p for p, col in PROVISIONS.items() if r[col] is True]
        if provisions and not set(provisions) & set(types):
            continue
        if statuses and r["status"] not in statuses:
            continue
        start = _start(r["status_date"], r["year"])
        if as_of is not None:
            if start is None:
                undated += 1
                continue
            if start > as_of:
                continue
        rule = by_law.get(r["id"])
        in_effect = None
        if rule is not None and as_of is not None:
            in_effect = as_of >= rule.effective
        rows.append({
            "id": r["id"], "jurisdiction": r["jurisdiction"], "level": r["level"], "instrument": r["instrument"],
            "status": r["status"], "status_date": r["status_date"], "provisions_types": types,
            "effective": rule.effective.isoformat() if rule else None, "in_effect": in_effect,
            "rule_mode": rule.mode if rule else None, "summary": r["provisions"],
            "source_urls": (r["source_url"] or "").split(),
        })
    return rows, undated
