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
    "genetic_sequencer": "covers_genetic_sequencer",
}
VERIFICATION = ("primary", "secondary_only", "unverified_status")
STATUSES = ("enacted", "in_force", "vetoed", "passed_lower_chamber", "introduced", "adopted", "opened_for_signature",
            "published", "proposed")  # legislation/README.md, column `status`
VERIFICATION_NOTE = {
    "primary": "",
    "secondary_only": "secondary sources only: status not seen on a government or legislature page",
    "unverified_status": "status unverified: the outcome rests on weak or missing sources",
    "": "verification not reviewed yet",
}
LAW_COLUMNS = ["id", "jurisdiction", "level", "instrument", "status", "status_date", "provisions_types",
               "verification", "verification_note", "verification_basis", "corrections", "record_source",
               "effective", "in_effect", "rule_mode", "summary", "source_urls"]


def verification_label(value: str | None) -> str:
    """Short human label for the table columns: 'primary', 'secondary only', 'status unverified', 'not reviewed'."""
    return {"primary": "primary", "secondary_only": "secondary only", "unverified_status": "status unverified"
            }.get(value or "", "not reviewed")


def corrections() -> dict[str, list[dict[str, Any]]]:
    """laws.csv id -> the corrections applied to its row (original and corrected value, reference, sources)."""
    from organwatch import datasets

    frame = datasets.load("laws_corrections").frame
    out: dict[str, list[dict[str, Any]]] = {}
    for r in frame.astype(object).where(frame.notna(), None).to_dict("records"):
        out.setdefault(r["law_id"], []).append({
            "column": r["column"], "original": r["original_value"], "corrected": r["corrected_value"],
            "reference": r["correction_ref"], "source_urls": (r["correction_source_urls"] or "").split(),
            "note": r["note"]})
    return out


def validate_registry(rows: list[dict[str, Any]]) -> None:
    """The embedded registry's invariants (a failure is a packaging bug): known verification values, and every
    correction names an existing row and column and matches the value now in the row."""
    ids = {r["id"]: r for r in rows}
    for r in rows:
        if r.get("status") not in STATUSES:
            raise RuntimeError(f"laws.csv {r['id']}: status '{r.get('status')}' is not one of {STATUSES}")
        if (r.get("verification") or "") not in VERIFICATION + ("",):
            raise RuntimeError(f"laws.csv {r['id']}: verification '{r['verification']}' is not one of {VERIFICATION}")
    for law_id, items in corrections().items():
        row = ids.get(law_id)
        if row is None:
            raise RuntimeError(f"legislation/corrections.csv: unknown law id {law_id}")
        for c in items:
            now = row.get(c["column"])
            now_s = ("true" if now else "false") if isinstance(now, bool) else ("" if now is None else str(now))
            if now_s != c["corrected"]:
                raise RuntimeError(f"legislation/corrections.csv: {law_id}.{c['column']} is not the corrected value")


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
    for st in statuses or []:
        if st not in STATUSES:
            raise UsageError(f"--status must be one of {', '.join(STATUSES)}, not '{st}'")
    frame = datasets.load("laws").frame
    rules = load_rules(as_of=as_of).rules
    by_law = {r.law_id: r for r in rules.values()}
    fixes = corrections()
    rows, undated = [], 0
    records = frame.astype(object).where(frame.notna(), None).to_dict("records")
    validate_registry(records)
    for r in records:
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
            "verification": r["verification"] or "", "verification_note": VERIFICATION_NOTE[r["verification"] or ""],
            "verification_basis": r["verification_basis"] or "", "corrections": fixes.get(r["id"], []),
            "record_source": r["record_source"],
            "effective": rule.effective.isoformat() if rule else None, "in_effect": in_effect,
            "rule_mode": rule.mode if rule else None, "summary": r["provisions"],
            "source_urls": (r["source_url"] or "").split(),
        })
    return rows, undated
