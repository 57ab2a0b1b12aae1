"""The decision procedure of docs/specs/compliance-rules.md §2.4 for one claim line and one jurisdiction, as a
table of small steps: scope -> effective date -> prongs (a table of predicates) -> decision.

Each step reads and extends one :class:`LineEval`; a step that settles the line returns a :data:`Verdict`
``(outcome, reasons, explanation)``. :func:`decide_line` runs the steps in order. Unknown organ origin routes to
review, never to automatic denial; a reference that exists but did not resolve is named in the explanation.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from organwatch.claims.model import UNKNOWN, Claim, IndexTransplant, Line, Member
from organwatch.claims.rules import EngineConfig, Rule

Verdict = tuple[str, list[str], str]
HK_MO = frozenset({"HK", "MO"})


@dataclass
class LineFacts:
    transplant: list[tuple[str, str, str]] = field(default_factory=list)  # (code, field, organ)
    procurement: list[tuple[str, str, str]] = field(default_factory=list)
    posttx: list[tuple[str, str, str, str, bool]] = field(default_factory=list)  # (code, field, kind, organ, principal)
    strong_posttx: bool = False
    status_only: bool = False

    @property
    def related(self) -> bool:
        return bool(self.transplant or self.procurement or self.posttx)


@dataclass
class Context:
    """Plan/member context of one claim line: who is enrolled where, under which plan type."""

    jurisdictions: list[str]
    plan_type: str
    member: Member | None
    foreign_procurement: bool = False  # the claim bills organ procurement from outside the US (OriginRisk)


@dataclass
class LineEval:
    """Everything the steps look at for one (line, jurisdiction), and what they found so far."""

    claim: Claim
    line: Line
    facts: LineFacts
    j: str
    ctx: Context
    rule: Rule | None
    cfg: EngineConfig
    organ_match: Callable[[str, set[str]], bool]
    line_index: Callable[[Member | None, LineFacts, dt.date | None], IndexTransplant | None]
    fields: dict[str, Any] = field(default_factory=dict)
    tainted: list[str] = field(default_factory=list)
    unknown: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    confirmed: bool = True
    matched: list[IndexTransplant] = field(default_factory=list)
    implicit: bool = False
    post_tainted: list[IndexTransplant] = field(default_factory=list)
    tx_tainted: bool = False
    c_loc: str = UNKNOWN
    c_orig: str = UNKNOWN
    foh: bool | None = None
    e_line: IndexTransplant | None = None
    src: str = "unknown"
    loc_field: str = "no field"

    @property
    def d(self) -> dt.date | None:
        return self.line.date

    @property
    def r(self) -> Rule:
        assert self.rule is not None
        return self.rule

    def in_d(self, country: str) -> bool:
        """country ∈ D(j, d), with the HK/MO policy applied."""
        countries = self.r.countries(self.d)
        if country in countries:
            return True
        return country in HK_MO and self.hk_policy() == "same_as_cn" and "CN" in countries

    def hk_policy(self) -> str:
        return "named" if self.r.hk_mo == "named" else self.cfg.hk_mo_policy

    def hk_review(self, country: str) -> bool:
        return country in HK_MO and country not in self.r.countries(self.d) and self.hk_policy() == "review"


# -- 1. scope ----------------------------------------------------------------------------------------------
def scope(ev: LineEval) -> Verdict | None:
    """InScope(P, j): a rule exists and the plan type is bound by it."""
    if ev.rule is None:
        return "not_in_scope", ["NO_RULE_FOR_JURISDICTION"], \
            "no enacted transplant-coverage rule is configured for this jurisdiction."
    plan = ev.ctx.plan_type
    ev.fields["plan_type"] = plan
    if plan == "self_funded_erisa" and ev.cfg.self_funded_policy == "not_in_scope":
        return "not_in_scope", ["OUT_OF_SCOPE_PENDING_COUNSEL"], (
            "self-funded ERISA plan: the applicability sections list state-regulated issuers; scope pending "
            "counsel (engine.self_funded_policy).")
    if plan != "self_funded_erisa" and plan not in ev.rule.plan_types:
        if plan in ev.rule.pending_counsel:
            return "not_in_scope", ["PLAN_TYPE_PENDING_COUNSEL"], \
                f"plan type {plan} is not named in the sources seen; scope pending counsel."
        return "not_in_scope", ["PLAN_TYPE_NOT_COVERED"], f"plan type {plan} is not bound by this statute."
    return None


def unrelated(ev: LineEval) -> Verdict | None:
    """A line with no transplant, procurement or post-transplant code (the date still decides first)."""
    if ev.facts.related:
        return None
    d = ev.d
    if d is not None and d < ev.r.effective:
        return "not_effective", ["BEFORE_EFFECTIVE_DATE"], f"date of service {d.isoformat()} is before the " \
                                                            f"effective date."
    if ev.line.unresolved_codes:
        return "review_required", ["REFERENCE_UNRESOLVED"], (
            "a procedure or diagnosis reference did not resolve, so the line's codes are not known: "
            + "; ".join(ev.line.unresolved_codes[:3]) + " -> review.")
    return "not_transplant_related", ["NO_TRANSPLANT_CODE"], \
        "no transplant, procurement or post-transplant code on the line."


# -- 2. effective date -------------------------------------------------------------------------------------
def record_codes(ev: LineEval) -> None:
    for c, fld, _o in ev.facts.transplant + ev.facts.procurement:
        ev.fields[fld] = c
    for c, fld, _k, _o, _p in ev.facts.posttx:
        ev.fields[fld] = c


def match_index_transplants(ev: LineEval) -> None:
    """Index transplants that this post-transplant care follows (same organ, on or before the line)."""
    facts, d = ev.facts, ev.d
    if not (facts.posttx and ev.r.covers_post_transplant_care):
        return
    organs = {o for _, _, _, o, _ in facts.posttx}
    for e in (ev.ctx.member.transplants if ev.ctx.member else []):
        # same-day lines (e.g. anaesthesia on the transplant day) belong to that transplant episode
        if (e.date is None or d is None or e.date <= d) and ev.organ_match(e.organ, organs):
            if e.from_claim and facts.transplant and e.date == d:
                continue
            ev.matched.append(e)
    if not ev.matched and not facts.transplant:
        ev.implicit = True
        ev.matched.append(IndexTransplant(organ="any", date=None, evidence="none"))


def effective(ev: LineEval) -> Verdict | None:
    """Effective(j, d): the trigger date (date of service, or the index transplant date by config)."""
    record_codes(ev)
    match_index_transplants(ev)
    d, facts = ev.d, ev.facts
    trigger = d
    dated = [e.date for e in ev.matched if e.date is not None]
    if (ev.cfg.trigger_date == "index_transplant_date" and not facts.transplant and not facts.procurement
            and ev.matched and len(dated) == len(ev.matched)):
        trigger = max(dated)
    if trigger is None:
        return "review_required", ["SERVICE_DATE_MISSING"], (
            "the line is transplant-related but has no date of service, so the effective date cannot be tested.")
    if trigger < ev.r.effective:
        what = "index transplant" if trigger != d else "date of service"
        return "not_effective", ["BEFORE_EFFECTIVE_DATE"], f"{what} {trigger.isoformat()} is before the " \
                                                            f"effective date."
    return None


# -- 3. prongs (a table of predicates) -----------------------------------------------------------------------
def locate(ev: LineEval) -> None:
    """c_loc(L) from the claim, else from the members file; c_orig and foh from the matching index record."""
    line = ev.line
    ev.c_loc = line.country
    ev.fields[line.country_field or "service_country"] = ev.c_loc
    ev.e_line = ev.line_index(ev.ctx.member, ev.facts, ev.d)
    e = ev.e_line
    ev.c_orig = e.origin_country if e else UNKNOWN
    ev.foh = e.foh if e else None
    if e is not None:
        ev.fields["members.organ_origin_country"] = ev.c_orig
        ev.fields["members.foh_attestation"] = ev.foh
    ev.src = line.country_source or "unknown"
    ev.loc_field = line.country_field or "no field"
    if ev.c_loc == UNKNOWN and e is not None and e.performed_country != UNKNOWN:
        # the claim does not locate the operation; the members file (attestation, records) does
        ev.c_loc, ev.src, ev.loc_field = e.performed_country, e.evidence, "members.performed_country"
        ev.fields[ev.loc_field] = ev.c_loc


def _kind(ev: LineEval) -> str:
    return "transplant procedure" if ev.facts.transplant else "organ procurement"


def prong_located_in_named_country(ev: LineEval) -> None:
    """PERFORMED_IN on the claim's own location; procurement billed from a named country is only a signal."""
    if ev.c_loc == UNKNOWN or not ev.in_d(ev.c_loc):
        return
    if ev.facts.transplant and "PERFORMED_IN" in ev.r.prongs:
        ev.tainted.append("PERFORMED_IN_DESIGNATED_COUNTRY")
        ev.confirmed &= ev.src in ev.cfg.confirmed_evidence
        ev.notes.append(f"{_kind(ev)} located in {ev.c_loc} ({ev.loc_field}): operation performed in a named country")
    else:
        # compliance-rules.md 4.6: procurement codes corroborate, they do not prove where an organ came from on
        # their own -> review, never denial
        ev.unknown.append("PROCUREMENT_IN_DESIGNATED_COUNTRY")
        ev.notes.append(f"organ procurement billed from {ev.c_loc} ({ev.loc_field})")


def prong_members_place_operation(ev: LineEval) -> None:
    """PERFORMED_IN on the members file when the claim locates the operation elsewhere."""
    e = ev.e_line
    if (e is None or not ev.facts.transplant or "PERFORMED_IN" not in ev.r.prongs
            or "PERFORMED_IN_DESIGNATED_COUNTRY" in ev.tainted or e.performed_country == UNKNOWN
            or not ev.in_d(e.performed_country)):
        return
    ev.tainted.append("PERFORMED_IN_DESIGNATED_COUNTRY")
    ev.fields["members.performed_country"] = e.performed_country
    ev.confirmed &= e.evidence in ev.cfg.confirmed_evidence
    ev.notes.append(f"members file places the operation in {e.performed_country} (evidence: {e.evidence}) "
                    f"although the claim locates it in {ev.c_loc}")


def prong_organ_origin(ev: LineEval) -> None:
    """ORIGIN_SALE_OR_DONATION: the organ came by sale or donation from a named country."""
    if ev.c_orig == UNKNOWN or not ev.in_d(ev.c_orig) or "ORIGIN_SALE_OR_DONATION" not in ev.r.prongs:
        return
    ev.tainted.append("ORGAN_ORIGIN_DESIGNATED_COUNTRY")
    ev.confirmed &= (ev.e_line.evidence if ev.e_line else "") in ev.cfg.confirmed_evidence
    ev.notes.append(f"organ origin {ev.c_orig} (members file): organ by sale or donation originating in a named "
                    f"country")


def prong_forced_harvesting(ev: LineEval) -> None:
    """PROCURED_THROUGH_FOH (Utah): an attestation that the organ came from forced organ harvesting."""
    if ev.foh is not True or "PROCURED_THROUGH_FOH" not in ev.r.prongs:
        return
    ev.tainted.append("FOH_ATTESTED")
    ev.confirmed &= (ev.e_line.evidence if ev.e_line else "") in ev.cfg.confirmed_evidence
    ev.notes.append("members file attests the organ was procured through forced organ harvesting")


def line_unknowns(ev: LineEval) -> None:
    """Unknowns(L, j) for a transplant/procurement line no prong met (compliance-rules.md §2.3)."""
    if ev.tainted:
        return
    c_loc, c_orig = ev.c_loc, ev.c_orig
    origin_risk = c_loc != "US" or (c_orig not in (UNKNOWN, "US")) or ev.ctx.foreign_procurement
    if ev.ctx.foreign_procurement and c_orig == UNKNOWN and ev.facts.transplant:
        ev.unknown.append("FOREIGN_PROCUREMENT_ON_CLAIM")
    if ev.line.unresolved and ev.loc_field != "members.performed_country":
        # a more specific place than the one used exists on the claim but did not resolve
        ev.unknown.append("REFERENCE_UNRESOLVED")
        ev.notes.append("location reference(s) did not resolve: " + "; ".join(ev.line.unresolved[:3]))
    if c_loc == UNKNOWN:
        ev.unknown.append("LOCATION_UNKNOWN")
    elif ev.hk_review(c_loc):
        ev.unknown.append("HK_MO_SCOPE")
    elif c_loc != "US" and c_orig == UNKNOWN:
        ev.unknown.append("ORIGIN_UNKNOWN_FOREIGN")
    if c_orig != UNKNOWN and ev.hk_review(c_orig):
        ev.unknown.append("HK_MO_SCOPE")
    if c_orig == UNKNOWN and origin_risk and not (set(ev.unknown) - {"FOREIGN_PROCUREMENT_ON_CLAIM",
                                                                     "REFERENCE_UNRESOLVED"}):
        ev.unknown.append("ORIGIN_UNKNOWN")
    if "PROCURED_THROUGH_FOH" in ev.r.prongs and ev.foh is None and origin_risk:
        ev.unknown.append("FOH_UNKNOWN")
    if not ev.unknown:
        ev.notes.append(f"{_kind(ev)} located in {c_loc} ({ev.loc_field}) with no risk signal")


LINE_PRONGS: tuple[Callable[[LineEval], None], ...] = (
    prong_located_in_named_country, prong_members_place_operation, prong_organ_origin, prong_forced_harvesting,
    line_unknowns)


def index_reasons(ev: LineEval, e: IndexTransplant) -> list[str]:
    """TaintedIndex(E, j): which prongs the index transplant meets."""
    r: list[str] = []
    prongs = ev.r.prongs
    if e.performed_country != UNKNOWN and ev.in_d(e.performed_country) and "PERFORMED_IN" in prongs:
        r.append("INDEX_PERFORMED_IN_DESIGNATED_COUNTRY")
    if e.origin_country != UNKNOWN and ev.in_d(e.origin_country) and "ORIGIN_SALE_OR_DONATION" in prongs:
        r.append("INDEX_ORGAN_ORIGIN_DESIGNATED_COUNTRY")
    if e.foh is True and "PROCURED_THROUGH_FOH" in prongs:
        r.append("INDEX_FOH_ATTESTED")
    return r


def index_unknowns(ev: LineEval, e: IndexTransplant) -> list[str]:
    """Unknowns(E, j) for an index transplant no prong met."""
    out: list[str] = []
    risk = e.performed_country != "US" or e.origin_country not in (UNKNOWN, "US")
    if ev.implicit:
        out += ["INDEX_TRANSPLANT_UNKNOWN", "ORIGIN_UNKNOWN"]
    elif e.performed_country == UNKNOWN:
        out.append("ORIGIN_UNKNOWN")
    elif ev.hk_review(e.performed_country) or ev.hk_review(e.origin_country):
        out.append("HK_MO_SCOPE")
    elif e.performed_country != "US" and e.origin_country == UNKNOWN:
        out.append("ORIGIN_UNKNOWN_FOREIGN")
    if "PROCURED_THROUGH_FOH" in ev.r.prongs and e.foh is None and risk and not ev.implicit:
        out.append("FOH_UNKNOWN")
    return out


def post_transplant_prongs(ev: LineEval) -> None:
    """IsPostTxCare(L, E) ∧ TaintedIndex(E, j) for every matched index transplant."""
    ev.tx_tainted = bool(ev.tainted)
    for e in ev.matched:
        tag = "" if len(ev.matched) == 1 else f"[{ev.matched.index(e) + 1}]"
        if not ev.implicit:
            ev.fields[f"members.index_transplant{tag}"] = {
                "organ": e.organ, "date": e.date.isoformat() if e.date else None,
                "performed_country": e.performed_country, "organ_origin_country": e.origin_country,
                "foh": e.foh, "evidence": e.evidence}
        r = index_reasons(ev, e)
        if r:
            ev.tainted.extend(["POST_TRANSPLANT_CARE"] + r)
            ev.post_tainted.append(e)
            ev.confirmed &= e.evidence in ev.cfg.confirmed_evidence
            ev.notes.append(f"post-transplant care after a {e.organ} transplant "
                            f"({e.date.isoformat() if e.date else 'date unknown'}) performed in "
                            f"{e.performed_country}, organ origin {e.origin_country} (evidence: {e.evidence})")
            continue
        ev.unknown += index_unknowns(ev, e)
    if ev.implicit:
        ev.notes.append("post-transplant care codes but no index transplant on record (members file or a "
                        "transplant claim in the batch)")


def prongs(ev: LineEval) -> Verdict | None:
    """Run the line prongs (transplant / procurement lines) and the post-transplant prongs; never decides."""
    if ev.facts.transplant or ev.facts.procurement:
        locate(ev)
        for predicate in LINE_PRONGS:
            predicate(ev)
    if ev.matched:
        post_transplant_prongs(ev)
    else:
        ev.tx_tainted = bool(ev.tainted)
    return None


# -- 4. decision -------------------------------------------------------------------------------------------
def decision(ev: LineEval) -> Verdict:
    """Tainted -> permissive / pre-effective index / knowledge / deny; else unknowns -> review; else allow."""
    notes, tainted = "; ".join(ev.notes), ev.tainted
    if tainted:
        if ev.facts.status_only and not ev.tx_tainted:
            return "review_required", ["STATUS_CODE_ONLY"] + tainted, (
                notes + "; but the only post-transplant signal is a secondary Z94 status code "
                        "(engine.status_code_only) -> review.")
        if ev.r.mode == "permissive":
            return "limit_permitted", ["PERMISSIVE_LAW"] + tainted, (
                notes + "; the statute permits (does not require) limiting coverage: plan policy decides.")
        pre = [e for e in ev.post_tainted if e.date is not None and e.date < ev.r.effective]
        if (not ev.tx_tainted and pre and len(pre) == len(ev.post_tainted)
                and ev.cfg.pre_effective_index == "review"):
            return "review_required", ["PRE_EFFECTIVE_INDEX"] + tainted, (
                notes + "; the index transplant predates the effective date (engine.pre_effective_index = review).")
        if ev.r.knowledge_required and not ev.confirmed:
            return "review_required", ["KNOWLEDGE_TN"] + tainted, (
                notes + "; the statute bars only knowing coverage and the evidence is inferred, not confirmed.")
        return "deny_statutory", tainted, notes + " -> coverage barred by the statute."
    unknown = ev.unknown
    if ev.facts.status_only and unknown:
        unknown = ["STATUS_CODE_ONLY"] + unknown
    if unknown:
        return "review_required", unknown, (
            "; ".join(ev.notes + [f"missing or unresolved: {', '.join(dict.fromkeys(unknown))}"])
            + " -> review (unknown origin is never denied automatically).")
    return "allow", ["NO_PRONG_MET"], notes + " -> not barred by this statute."


STEPS: tuple[Callable[[LineEval], Verdict | None], ...] = (scope, unrelated, effective, prongs)


def decide_line(ev: LineEval) -> Verdict:
    """scope -> effective date -> prongs -> decision; the first step that settles the line wins."""
    for step in STEPS:
        v = step(ev)
        if v is not None:
            return v
    return decision(ev)
