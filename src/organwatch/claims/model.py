"""Data model of the compliance engine (compliance-rules.md 2.1): claims, lines, members, index transplants."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

OUTCOMES = ("deny_statutory", "review_required", "limit_permitted", "allow", "not_effective", "not_in_scope",
            "not_transplant_related")
# worst first: the claim outcome is the worst line outcome
SEVERITY = {o: i for i, o in enumerate(OUTCOMES)}

UNKNOWN = "UNKNOWN"


@dataclass(slots=True)
class Line:
    """One service line with everything the rules look at, and where each value came from."""

    line: int  # 1-based line number within the claim (LX01 / item.sequence / CSV line)
    date: dt.date | None = None
    date_field: str = ""
    procedures: list[tuple[str, str]] = field(default_factory=list)  # (code, field), e.g. ("50360", "SV101-2")
    revenue: tuple[str, str] | None = None  # (code, field)
    diagnoses: list[tuple[str, str, bool]] = field(default_factory=list)  # (code, field, principal)
    country: str = UNKNOWN  # c_loc(L), normalised
    country_field: str = ""  # e.g. "2310C/N404"
    country_raw: str | None = None
    country_source: str = ""  # evidence kind: claim_line_facility | claim_service_facility | billing_provider | ...
    unresolved: list[str] = field(default_factory=list)  # location references that did not resolve (named)
    unresolved_codes: list[str] = field(default_factory=list)  # procedure/diagnosis references that did not resolve


@dataclass(slots=True)
class Claim:
    claim_id: str
    source: str  # file name
    record: int  # 1-based claim ordinal within the file (used in messages instead of identifiers)
    form: str  # 837P | 837I | FHIR-Claim | FHIR-EOB | CSV
    member_id: str | None = None  # never logged; normalised key (Patient/ID -> ID, urn:uuid:X -> X)
    member_ref: str | None = None  # the reference or identifier as written (for linking through the index)
    lines: list[Line] = field(default_factory=list)
    jurisdiction: str | None = None  # from the CSV, when given
    plan_type: str | None = None


@dataclass(slots=True)
class IndexTransplant:
    """E in compliance-rules.md 2.1."""

    organ: str
    date: dt.date | None
    performed_country: str = UNKNOWN
    origin_country: str = UNKNOWN
    foh: bool | None = None
    evidence: str = "other"
    from_claim: bool = False  # derived from a transplant claim line in the batch


@dataclass
class Enrollment:
    jurisdiction: str
    plan_type: str | None
    start: dt.date | None
    end: dt.date | None


@dataclass
class Member:
    member_id: str
    transplants: list[IndexTransplant] = field(default_factory=list)
    enrollment: list[Enrollment] = field(default_factory=list)


@dataclass(slots=True)
class Outcome:
    claim_id: str
    line: int
    jurisdiction: str
    outcome: str
    reasons: list[str]
    statute: str | None
    fields: dict[str, Any]
    explanation: str
    date_of_service: str | None
    source: str
    form: str
    claim_outcome: str = ""  # worst line outcome of the claim for this jurisdiction

    def to_record(self) -> dict[str, Any]:
        return {"claim_id": self.claim_id, "line": self.line, "jurisdiction": self.jurisdiction,
                "outcome": self.outcome, "claim_outcome": self.claim_outcome, "reasons": self.reasons,
                "statute": self.statute, "fields": self.fields, "explanation": self.explanation,
                "date_of_service": self.date_of_service, "source": self.source, "form": self.form}


RECORD_COLUMNS = ["claim_id", "line", "jurisdiction", "outcome", "claim_outcome", "reasons", "statute", "fields",
                  "explanation", "date_of_service", "source", "form"]
