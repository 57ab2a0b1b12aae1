"""Transplant-tourism worklist: members with transplant status or post-transplant care in the claims but no
domestic transplant on record, for counselling (clinicians) or review of reporting/coverage duties (payers).

A member enters the list when at least one claim line carries a post-transplant signal (Z94.x, T86.x, Z48.2x,
Z79.62x) and neither a transplant claim performed in the US nor a members-file index transplant performed in
the US is known. Reasons say what is (not) on record; the list is a prompt for a conversation, not a finding
about anyone.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from organwatch.claims.engine import Engine, classify
from organwatch.claims.model import UNKNOWN, Claim, Member

WORKLIST_COLUMNS = ["member_id", "reasons", "first_signal_date", "last_signal_date", "signal_lines", "signal_codes",
                    "organs", "index_transplants", "claims", "jurisdictions", "related_instruments"]
# statuses of registry instruments that may bear on counselling or reporting (not bills that failed or are pending)
DUTY_STATUSES = ("enacted", "in_force", "adopted")


def duty_instruments(jurisdictions: list[str]) -> list[str]:
    """laws.csv ids with a reporting duty or a travel warning in these jurisdictions (e.g. GB: uk-si-2024-262)."""
    from organwatch.claims.registry import query_laws

    if not jurisdictions:
        return []
    rows, _ = query_laws(jurisdictions, ["reporting", "travel_warning"], list(DUTY_STATUSES))
    return [r["id"] for r in rows if r["jurisdiction"] in jurisdictions]


def _signals(engine: Engine, claims: list[Claim]) -> dict[str, dict[str, Any]]:
    """Per member: post-transplant lines (dates, codes, organs, claims) and countries of foreign transplants."""
    sig: dict[str, dict[str, Any]] = defaultdict(lambda: {"dates": [], "codes": set(), "organs": set(), "lines": 0,
                                                          "claims": set(), "foreign_claims": set()})
    for c in claims:
        if not c.member_id:
            continue
        for ln in c.lines:
            f = classify(ln, engine.codes, engine.cfg.status_code_only)
            if f.transplant and ln.country not in ("US",):
                sig[c.member_id]["foreign_claims"].add(ln.country)
            if not f.posttx:
                continue
            s = sig[c.member_id]
            s["lines"] += 1
            s["claims"].add(c.claim_id)
            if ln.date:
                s["dates"].append(ln.date)
            s["codes"].update(code for code, _, _, _, _ in f.posttx)
            s["organs"].update(o for _, _, _, o, _ in f.posttx if o != "any")
    return sig


def build_worklist(engine: Engine, claims: list[Claim], members: dict[str, Member],
                   jurisdictions: list[str] | None = None) -> list[dict[str, Any]]:
    """``members`` must already include index transplants derived from the batch (Engine.evaluate does that).
    ``jurisdictions`` (the --jurisdiction option) applies to members without an enrollment record."""
    duty_cache: dict[tuple[str, ...], list[str]] = {}
    sig = _signals(engine, claims)
    rows = []
    for mid in sorted(sig):
        s = sig[mid]
        if not s["lines"]:
            continue
        m = members.get(mid)
        tx = m.transplants if m else []
        if any(e.performed_country == "US" for e in tx):
            continue  # a domestic transplant is on record
        reasons = ["NO_DOMESTIC_TRANSPLANT_CLAIM"]
        if not tx:
            reasons.append("NO_INDEX_TRANSPLANT_ON_FILE")
        for e in tx:
            if e.performed_country == UNKNOWN:
                reasons.append("INDEX_COUNTRY_UNKNOWN")
            else:
                reasons.append("INDEX_PERFORMED_ABROAD")
            if e.from_claim:
                reasons.append("FOREIGN_OR_UNLOCATED_TRANSPLANT_CLAIM")
            if e.foh is True:
                reasons.append("FOH_ATTESTED")
        rows.append({
            "member_id": mid, "reasons": list(dict.fromkeys(reasons)),
            "first_signal_date": min(s["dates"]).isoformat() if s["dates"] else None,
            "last_signal_date": max(s["dates"]).isoformat() if s["dates"] else None,
            "signal_lines": s["lines"], "signal_codes": sorted(s["codes"]), "organs": sorted(s["organs"]),
            "index_transplants": [{"organ": e.organ, "date": e.date.isoformat() if e.date else None,
                                   "performed_country": e.performed_country, "organ_origin_country": e.origin_country,
                                   "evidence": e.evidence} for e in tx],
            "claims": sorted(s["claims"]),
        })
        js = tuple(sorted({en.jurisdiction for en in (m.enrollment if m else [])} or set(jurisdictions or [])))
        if js not in duty_cache:
            duty_cache[js] = duty_instruments(list(js))
        rows[-1]["jurisdictions"] = list(js)
        rows[-1]["related_instruments"] = duty_cache[js]
    return rows
