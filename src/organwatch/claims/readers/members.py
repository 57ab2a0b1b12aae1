"""Member context that claims do not carry: index transplants (``--members``) and enrollment (``--enrollment``).

members CSV columns: member_id, index_transplant_date (YYYY-MM-DD or blank), organ (kidney | liver | heart | lung |
heart_lung | pancreas | intestine | other), performed_country, organ_origin_country (ISO code/name; blank =
unknown), foh_attestation (true | false | blank = unknown), evidence_source (attestation | medical_record |
prior_auth | claim | other). One row per index transplant.

enrollment CSV columns: member_id, jurisdiction (US-TX or TX), plan_type, start, end (YYYY-MM-DD, blank = open).
One row per coverage period: a member who moves from Texas to Utah has two rows. A jurisdiction that is not a
code of the registry (``TEXAS``) is an error row naming the file and line; the row is not used.

Patient keys are normalised so that claims and members files meet: ``Patient/ID``, ``.../Patient/ID``,
``urn:uuid:ID`` (and the Patient the uuid names in the inputs, by id or identifier), ``#ID``, and identifier
``system|value`` (also matched by ``value`` alone). :func:`link_members` reports members linked and unmatched.

Errors name the file, row and column, never the member identifier.
"""

from __future__ import annotations

import csv
import datetime as dt
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from organwatch.claims.countries import normalise
from organwatch.claims.model import UNKNOWN, Claim, Enrollment, IndexTransplant, Member
from organwatch.errors import InputError, RecordError

ORGANS = ("kidney", "liver", "heart", "lung", "heart_lung", "pancreas", "intestine", "other")
EVIDENCE = ("attestation", "medical_record", "prior_auth", "claim", "other")


def _rows(path: Path, required: tuple[str, ...]) -> list[tuple[int, dict[str, str]]]:
    try:
        text = Path(path).read_text("utf-8-sig")
    except UnicodeDecodeError:
        raise InputError("not UTF-8 text", file=path) from None
    reader = csv.DictReader(text.splitlines())
    cols = [c.strip() for c in reader.fieldnames or []]
    missing = [c for c in required if c not in cols]
    if missing:
        raise InputError(f"missing column(s) {', '.join(missing)} (found {', '.join(cols) or 'none'})", file=path)
    try:
        return [(i, {(k or "").strip(): (v or "").strip() for k, v in r.items() if isinstance(v, str)})
                for i, r in enumerate(reader, 1)]
    except csv.Error as e:
        raise InputError(f"malformed CSV ({e})", file=path, line=reader.line_num) from None


def _date(v: str, path: Path, row: int, col: str) -> dt.date | None:
    if not v:
        return None
    try:
        return dt.date.fromisoformat(v)
    except ValueError:
        raise InputError("not an ISO date (YYYY-MM-DD)", file=path, row=row, column=col) from None


def read_members(path: Path, members: dict[str, Member] | None = None) -> dict[str, Member]:
    members = {} if members is None else members
    for i, r in _rows(path, ("member_id", "index_transplant_date", "organ", "performed_country")):
        if not r.get("member_id"):
            raise InputError("empty", file=path, row=i, column="member_id")
        organ = r.get("organ", "").lower()
        if organ not in ORGANS:
            raise InputError(f"must be one of {', '.join(ORGANS)}", file=path, row=i, column="organ")
        foh_raw = r.get("foh_attestation", "").lower()
        if foh_raw not in ("", "true", "false", "unknown", "yes", "no"):
            raise InputError("must be true, false or blank", file=path, row=i, column="foh_attestation")
        ev = r.get("evidence_source", "").lower() or "other"
        if ev not in EVIDENCE:
            raise InputError(f"must be one of {', '.join(EVIDENCE)}", file=path, row=i, column="evidence_source")
        m = members.setdefault(r["member_id"], Member(r["member_id"]))
        m.transplants.append(IndexTransplant(
            organ=organ, date=_date(r.get("index_transplant_date", ""), path, i, "index_transplant_date"),
            performed_country=normalise(r.get("performed_country")) if r.get("performed_country") else UNKNOWN,
            origin_country=normalise(r.get("organ_origin_country")) if r.get("organ_origin_country") else UNKNOWN,
            foh={"true": True, "yes": True, "false": False, "no": False}.get(foh_raw), evidence=ev))
    return members


def read_enrollment(path: Path, members: dict[str, Member] | None = None,
                    known: list[str] | None = None, errors: list[RecordError] | None = None) -> dict[str, Member]:
    from organwatch.claims.rules import jurisdiction_value, plan_types

    members = {} if members is None else members
    for i, r in _rows(path, ("member_id", "jurisdiction")):
        if not r.get("member_id"):
            raise InputError("empty", file=path, row=i, column="member_id")
        j, problem = jurisdiction_value(r["jurisdiction"])
        if problem or not j:
            err = RecordError(file=Path(path).name, record=i, line=i + 1, field="jurisdiction",
                              message=problem or "empty; row not used")
            if errors is None:
                raise InputError(err.message, file=path, row=i, column="jurisdiction")
            errors.append(err)
            continue
        plan = r.get("plan_type") or None
        if plan is not None and plan not in plan_types():
            raise InputError(f"unknown plan type (one of {', '.join(plan_types())})", file=path, row=i,
                             column="plan_type")
        start, end = _date(r.get("start", ""), path, i, "start"), _date(r.get("end", ""), path, i, "end")
        if start and end and end < start:
            raise InputError("end is before start", file=path, row=i, column="end")
        members.setdefault(r["member_id"], Member(r["member_id"])).enrollment.append(Enrollment(j, plan, start, end))
    return members


def key_candidates(raw: str | None, patients: Any = None) -> list[str]:
    """Keys under which a claim's patient may appear in a members file, most specific first."""
    if not raw:
        return []
    v = raw.strip()
    out: list[str] = []
    facts = None
    if patients is not None and not v.startswith("#"):
        facts, _ = patients.resolve(v, None, "Patient")
    if v.startswith("#"):
        out.append(v[1:])
    elif v.startswith("urn:uuid:") or v.startswith("urn:oid:"):
        out.append(v.split(":", 2)[2])
    elif "?identifier=" in v:
        ident = v.split("?identifier=", 1)[1]
        out += [ident, ident.split("|")[-1]]
    elif "|" in v:
        out += [v, v.split("|", 1)[1]]
    elif "Patient/" in v:
        out.append(v.split("Patient/", 1)[1].split("/_history/")[0].strip("/"))
    else:
        out.append(v)
    if facts is not None:
        if facts.rid:
            out.append(facts.rid)
        for ident in facts.identifiers:
            out += [ident, ident.split("|", 1)[1]]
    return [k for k in dict.fromkeys(out) if k]


def link_members(claims: Iterable[Claim], members: dict[str, Member], patients: Any = None) -> dict[str, int]:
    """Rewrite each claim's member key to the members-file key it matches (if any); counts for the summary:
    members linked to at least one claim, members that matched no claim, claims with no member in the file."""
    linked: set[str] = set()
    claims_unmatched = 0
    cache: dict[str, str | None] = {}
    for c in claims:
        raw = c.member_ref or c.member_id
        if not raw:
            continue
        if raw not in cache:
            cands = key_candidates(raw, patients)
            cache[raw] = next((k for k in cands if k in members), cands[0] if cands else None)
        key = cache[raw]
        c.member_id = key
        if key is not None and key in members:
            linked.add(key)
        else:
            claims_unmatched += 1
    return {"members": len(members), "members_linked": len(linked),
            "members_unmatched": len(members) - len(linked), "claims_without_member_record": claims_unmatched}
