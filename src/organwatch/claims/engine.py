"""The decision procedure of compliance-rules.md 2.4, per claim line and jurisdiction.

Order: scope (plan type) -> effective date -> transplant relatedness -> tainted (a prong met) -> unknowns
(review) -> allow. Line facts are classified once per line and reused for every jurisdiction; each outcome
names the statute (laws.csv id), the reason codes and the claim/member fields that decided it. Unknown organ
origin routes to review, never to automatic denial.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from organwatch.claims.codes import CodeLists, norm_code, norm_revenue
from organwatch.claims.model import SEVERITY, UNKNOWN, Claim, IndexTransplant, Line, Member, Outcome
from organwatch.claims.rules import RuleSet

HK_MO = frozenset({"HK", "MO"})
ORGAN_COMPAT = {"heart_lung": {"heart", "lung", "heart_lung"}, "heart": {"heart", "heart_lung"},
                "lung": {"lung", "heart_lung"}, "kidney": {"kidney"}, "pancreas": {"pancreas", "other"},
                "liver": {"liver"}, "intestine": {"intestine"}, "other": {"other", "pancreas"}}


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


_PROC_CACHE: dict[tuple[int, str], tuple[str, str, str] | None] = {}
_DX_CACHE: dict[tuple[int, str], tuple[str, str, str] | None] = {}


def _proc_kind(codes: CodeLists, code: str) -> tuple[str, str, str] | None:
    """(normalised code, list, organ) for a procedure code, memoised per code list."""
    key = (id(codes), code)
    try:
        return _PROC_CACHE[key]
    except KeyError:
        pass
    c = norm_code(code)
    if c in codes.recipient:
        hit: tuple[str, str, str] | None = (c, "transplant", codes.recipient[c])
    elif c in codes.procurement:
        hit = (c, "procurement", codes.procurement[c])
    elif c in codes.drugs:
        hit = (c, "drug", "any")
    else:
        hit = None
    if len(_PROC_CACHE) < 1_000_000:
        _PROC_CACHE[key] = hit
    return hit


def _dx_kind(codes: CodeLists, code: str) -> tuple[str, str, str] | None:
    key = (id(codes), code)
    try:
        return _DX_CACHE[key]
    except KeyError:
        pass
    sig = codes.posttx_signal(code)
    hit = (norm_code(code), sig[0], sig[1]) if sig is not None else None
    if len(_DX_CACHE) < 1_000_000:
        _DX_CACHE[key] = hit
    return hit


def classify(line: Line, codes: CodeLists, status_code_only: str = "review") -> LineFacts:
    f = LineFacts()
    for code, fld in line.procedures:
        hit = _proc_kind(codes, code)
        if hit is None:
            continue
        if hit[1] == "transplant":
            f.transplant.append((hit[0], fld, hit[2]))
        elif hit[1] == "procurement":
            f.procurement.append((hit[0], fld, hit[2]))
        else:
            f.posttx.append((hit[0], fld, "drug", "any", False))
    if line.revenue is not None:
        rev = norm_revenue(line.revenue[0])
        if rev in codes.revenue:
            f.procurement.append((rev, line.revenue[1], "any"))
    for code, fld, principal in line.diagnoses:
        sig = _dx_kind(codes, code)
        if sig is not None:
            f.posttx.append((sig[0], fld, sig[1], sig[2], principal))
    if f.posttx:
        f.strong_posttx = any(k != "status" or p for _, _, k, _, p in f.posttx)
        if not f.strong_posttx:
            if status_code_only == "ignore":
                f.posttx = []
            else:
                f.status_only = True
    return f


@dataclass
class Context:
    """Plan/member context of one claim line: who is enrolled where, under which plan type."""

    jurisdictions: list[str]
    plan_type: str
    member: Member | None
    foreign_procurement: bool = False  # the claim bills organ procurement from outside the US (OriginRisk)


def _organ_match(e_organ: str, signal_organs: set[str]) -> bool:
    if "any" in signal_organs or e_organ in ("other", "any"):
        return True
    return bool(ORGAN_COMPAT.get(e_organ, {e_organ}) & signal_organs)


class Engine:
    def __init__(self, rules: RuleSet):
        self.rules = rules
        self.cfg = rules.engine
        self.codes = CodeLists.load(self.cfg.include_unverified_procedures, self.cfg.include_unverified_drugs)
        self._heads: dict[str, str] = {}

    def head(self, j: str) -> str:
        h = self._heads.get(j)
        if h is None:
            rule = self.rules.rules.get(j)
            h = (f"{j}: no transplant-coverage rule in the registry" if rule is None else
                 f"{j} {rule.citation} (laws.csv {rule.law_id}, {rule.mode}, effective "
                 f"{rule.effective.isoformat()}{'' if rule.effective_verified else ' [configured, unverified]'})")
            self._heads[j] = h
        return h

    # -- index transplants derived from the batch ------------------------------------------------------
    def derive_index_transplants(self, claims: Iterable[Claim], members: dict[str, Member]) -> None:
        """Transplant lines in the batch become index transplants (evidence: the claim field that located them)."""
        for c in claims:
            if not c.member_id:
                continue
            for ln in c.lines:
                organs = [self.codes.recipient[norm_code(code)] for code, _ in ln.procedures
                          if norm_code(code) in self.codes.recipient]
                if not organs or ln.date is None:
                    continue
                m = members.setdefault(c.member_id, Member(c.member_id))
                for organ in dict.fromkeys(organs):
                    if any(e.from_claim and e.organ == organ and e.date == ln.date for e in m.transplants):
                        continue
                    m.transplants.append(IndexTransplant(organ=organ, date=ln.date, performed_country=ln.country,
                                                         origin_country=UNKNOWN, foh=None,
                                                         evidence=ln.country_source or "claim", from_claim=True))

    # -- context ---------------------------------------------------------------------------------------
    def context(self, claim: Claim, line: Line, members: dict[str, Member], jurisdictions: list[str] | None,
                plan_type: str | None) -> Context:
        member = members.get(claim.member_id) if claim.member_id else None
        if member is not None and member.enrollment:
            js, plan = [], None
            for en in member.enrollment:
                if line.date is None or ((en.start is None or en.start <= line.date)
                                         and (en.end is None or line.date <= en.end)):
                    js.append(en.jurisdiction)
                    plan = plan or en.plan_type
            if js:
                return Context(list(dict.fromkeys(js)), plan or plan_type or claim.plan_type
                               or self.cfg.default_plan_type, member)
        if claim.jurisdiction:
            js = [claim.jurisdiction]
        else:
            js = list(jurisdictions) if jurisdictions else list(self.rules.rules)
        return Context(js, claim.plan_type or plan_type or self.cfg.default_plan_type, member)

    # -- evaluation ------------------------------------------------------------------------------------
    def evaluate(self, claims: list[Claim], members: dict[str, Member] | None = None,
                 jurisdictions: list[str] | None = None, plan_type: str | None = None) -> Iterator[Outcome]:
        from organwatch.claims.rules import resolve_jurisdiction

        members = {} if members is None else members
        if jurisdictions:
            jurisdictions = [resolve_jurisdiction(j) for j in jurisdictions]
        self.derive_index_transplants(claims, members)
        for claim in claims:
            outs: list[Outcome] = []
            all_facts = [classify(line, self.codes, self.cfg.status_code_only) for line in claim.lines]
            foreign_proc = any(f.procurement and ln.country not in ("US", UNKNOWN)
                               for f, ln in zip(all_facts, claim.lines, strict=True))
            for line, facts in zip(claim.lines, all_facts, strict=True):
                ctx = self.context(claim, line, members, jurisdictions, plan_type)
                ctx.foreign_procurement = foreign_proc
                if facts.related:
                    for j in ctx.jurisdictions:
                        outs.append(self.evaluate_line(claim, line, facts, j, ctx))
                else:
                    self._unrelated(claim, line, ctx, outs)
            worst: dict[str, str] = {}
            for o in outs:
                if o.jurisdiction not in worst or SEVERITY[o.outcome] < SEVERITY[worst[o.jurisdiction]]:
                    worst[o.jurisdiction] = o.outcome
            for o in outs:
                o.claim_outcome = worst[o.jurisdiction]
                yield o

    def _unrelated(self, claim: Claim, line: Line, ctx: Context, outs: list[Outcome]) -> None:
        """Same outcomes as :meth:`evaluate_line` for a line with no transplant-related code, with less work:
        the date, fields and explanation texts are built once per line, not once per jurisdiction."""
        plan = ctx.plan_type
        d = line.date
        d_iso = d.isoformat() if d is not None else None
        fields: dict[str, Any] = {line.date_field: d_iso, "plan_type": plan} if line.date_field else {"plan_type": plan}
        ne_text = f"date of service {d_iso} is before the effective date."
        for j in ctx.jurisdictions:
            rule = self.rules.rules.get(j)
            if rule is None or plan == "self_funded_erisa" and self.cfg.self_funded_policy == "not_in_scope" or (
                    plan != "self_funded_erisa" and plan not in rule.plan_types):
                outs.append(self.evaluate_line(claim, line, LineFacts(), j, Context([j], plan, None)))
                continue
            if d is not None and d < rule.effective:
                outcome, reasons, expl = "not_effective", ["BEFORE_EFFECTIVE_DATE"], f"{self.head(j)}: {ne_text}"
            else:
                outcome, reasons, expl = "not_transplant_related", ["NO_TRANSPLANT_CODE"], self._ntr_text(j)
            outs.append(Outcome(claim_id=claim.claim_id, line=line.line, jurisdiction=j, outcome=outcome,
                                reasons=reasons, statute=rule.law_id, fields=fields, explanation=expl,
                                date_of_service=d_iso, source=claim.source, form=claim.form))

    def _ntr_text(self, j: str) -> str:
        key = "\0ntr" + j
        t = self._heads.get(key)
        if t is None:
            t = f"{self.head(j)}: no transplant, procurement or post-transplant code on the line."
            self._heads[key] = t
        return t

    def evaluate_line(self, claim: Claim, line: Line, facts: LineFacts, j: str, ctx: Context) -> Outcome:
        rule = self.rules.rules.get(j)
        d = line.date
        fields: dict[str, Any] = {}
        if line.date_field:
            fields[line.date_field] = d.isoformat() if d else None

        head = self.head(j)
        d_iso = fields[line.date_field] if line.date_field else (d.isoformat() if d else None)

        def out(outcome: str, reasons: list[str], explanation: str) -> Outcome:
            return Outcome(claim_id=claim.claim_id, line=line.line, jurisdiction=j, outcome=outcome,
                           reasons=list(dict.fromkeys(reasons)), statute=rule.law_id if rule else None,
                           fields=fields, explanation=f"{head}: {explanation}",
                           date_of_service=d_iso, source=claim.source, form=claim.form)

        if rule is None:
            return out("not_in_scope", ["NO_RULE_FOR_JURISDICTION"],
                       "no enacted transplant-coverage rule is configured for this jurisdiction.")
        plan = ctx.plan_type
        fields["plan_type"] = plan
        if plan == "self_funded_erisa" and self.cfg.self_funded_policy == "not_in_scope":
            return out("not_in_scope", ["OUT_OF_SCOPE_PENDING_COUNSEL"],
                       "self-funded ERISA plan: the applicability sections list state-regulated issuers; "
                       "scope pending counsel (engine.self_funded_policy).")
        if plan != "self_funded_erisa" and plan not in rule.plan_types:
            if plan in rule.pending_counsel:
                return out("not_in_scope", ["PLAN_TYPE_PENDING_COUNSEL"],
                           f"plan type {plan} is not named in the sources seen; scope pending counsel.")
            return out("not_in_scope", ["PLAN_TYPE_NOT_COVERED"], f"plan type {plan} is not bound by this statute.")

        if not facts.related:
            if d is not None and d < rule.effective:
                return out("not_effective", ["BEFORE_EFFECTIVE_DATE"],
                           f"date of service {d.isoformat()} is before the effective date.")
            return out("not_transplant_related", ["NO_TRANSPLANT_CODE"],
                       "no transplant, procurement or post-transplant code on the line.")
        for c, fld, _o in facts.transplant + facts.procurement:
            fields[fld] = c
        for c, fld, _k, _o, _p in facts.posttx:
            fields[fld] = c

        # index transplants relevant to post-transplant care
        matched: list[IndexTransplant] = []
        implicit = False
        if facts.posttx and rule.covers_post_transplant_care:
            organs = {o for _, _, _, o, _ in facts.posttx}
            for e in (ctx.member.transplants if ctx.member else []):
                # same-day lines (e.g. anaesthesia on the transplant day) belong to that transplant episode
                if (e.date is None or d is None or e.date <= d) and _organ_match(e.organ, organs):
                    if e.from_claim and facts.transplant and e.date == d:
                        continue
                    matched.append(e)
            if not matched and not facts.transplant:
                implicit = True
                matched.append(IndexTransplant(organ="any", date=None, evidence="none"))

        trigger = d
        if (self.cfg.trigger_date == "index_transplant_date" and not facts.transplant and not facts.procurement
                and matched and all(e.date for e in matched)):
            trigger = max(e.date for e in matched)  # type: ignore[type-var]
        if trigger is None:
            return out("review_required", ["SERVICE_DATE_MISSING"],
                       "the line is transplant-related but has no date of service, so the effective date "
                       "cannot be tested.")
        if trigger < rule.effective:
            return out("not_effective", ["BEFORE_EFFECTIVE_DATE"],
                       f"{'index transplant' if trigger != d else 'date of service'} {trigger.isoformat()} is "
                       f"before the effective date.")

        D = rule.countries(d)
        hk_policy = "named" if rule.hk_mo == "named" else self.cfg.hk_mo_policy

        def in_D(country: str) -> bool:
            if country in D:
                return True
            return country in HK_MO and hk_policy == "same_as_cn" and "CN" in D

        def hk_review(country: str) -> bool:
            return country in HK_MO and country not in D and hk_policy == "review"

        tainted: list[str] = []
        unknown: list[str] = []
        confirmed = True
        notes: list[str] = []

        # transplant / procurement lines (TaintedLine)
        if facts.transplant or facts.procurement:
            c_loc = line.country
            fields[line.country_field or "service_country"] = c_loc
            e_line = self._line_index(ctx.member, facts, d)
            c_orig = e_line.origin_country if e_line else UNKNOWN
            foh = e_line.foh if e_line else None
            if e_line is not None:
                fields["members.organ_origin_country"] = c_orig
                fields["members.foh_attestation"] = foh
            src = line.country_source or "unknown"
            loc_field = line.country_field or "no field"
            if c_loc == UNKNOWN and e_line is not None and e_line.performed_country != UNKNOWN:
                # the claim does not locate the operation; the members file (attestation, records) does
                c_loc, src, loc_field = e_line.performed_country, e_line.evidence, "members.performed_country"
                fields[loc_field] = c_loc
            kind = "transplant procedure" if facts.transplant else "organ procurement"
            if c_loc != UNKNOWN and in_D(c_loc):
                if facts.transplant and "PERFORMED_IN" in rule.prongs:
                    tainted.append("PERFORMED_IN_DESIGNATED_COUNTRY")
                    confirmed &= src in self.cfg.confirmed_evidence
                    notes.append(f"{kind} located in {c_loc} ({loc_field}): operation performed in a named country")
                else:
                    # compliance-rules.md 4.6: procurement codes corroborate, they do not prove where an organ
                    # came from on their own -> review, never denial
                    unknown.append("PROCUREMENT_IN_DESIGNATED_COUNTRY")
                    notes.append(f"organ procurement billed from {c_loc} ({loc_field})")
            if (e_line is not None and facts.transplant and "PERFORMED_IN" in rule.prongs
                    and "PERFORMED_IN_DESIGNATED_COUNTRY" not in tainted and e_line.performed_country != UNKNOWN
                    and in_D(e_line.performed_country)):
                tainted.append("PERFORMED_IN_DESIGNATED_COUNTRY")
                fields["members.performed_country"] = e_line.performed_country
                confirmed &= e_line.evidence in self.cfg.confirmed_evidence
                notes.append(f"members file places the operation in {e_line.performed_country} (evidence: "
                             f"{e_line.evidence}) although the claim locates it in {c_loc}")
            if c_orig != UNKNOWN and in_D(c_orig) and "ORIGIN_SALE_OR_DONATION" in rule.prongs:
                tainted.append("ORGAN_ORIGIN_DESIGNATED_COUNTRY")
                confirmed &= (e_line.evidence if e_line else "") in self.cfg.confirmed_evidence
                notes.append(f"organ origin {c_orig} (members file): organ by sale or donation originating in a "
                             f"named country")
            if foh is True and "PROCURED_THROUGH_FOH" in rule.prongs:
                tainted.append("FOH_ATTESTED")
                confirmed &= (e_line.evidence if e_line else "") in self.cfg.confirmed_evidence
                notes.append("members file attests the organ was procured through forced organ harvesting")
            if not tainted:
                origin_risk = c_loc != "US" or (c_orig not in (UNKNOWN, "US")) or ctx.foreign_procurement
                if ctx.foreign_procurement and c_orig == UNKNOWN and facts.transplant:
                    unknown.append("FOREIGN_PROCUREMENT_ON_CLAIM")
                if c_loc == UNKNOWN:
                    unknown.append("LOCATION_UNKNOWN")
                elif hk_review(c_loc):
                    unknown.append("HK_MO_SCOPE")
                elif c_loc != "US" and c_orig == UNKNOWN:
                    unknown.append("ORIGIN_UNKNOWN_FOREIGN")
                if c_orig != UNKNOWN and hk_review(c_orig):
                    unknown.append("HK_MO_SCOPE")
                if c_orig == UNKNOWN and origin_risk and not (set(unknown) - {"FOREIGN_PROCUREMENT_ON_CLAIM"}):
                    unknown.append("ORIGIN_UNKNOWN")
                if "PROCURED_THROUGH_FOH" in rule.prongs and foh is None and origin_risk:
                    unknown.append("FOH_UNKNOWN")
                if not unknown:
                    notes.append(f"{kind} located in {c_loc} ({loc_field}) with no risk signal")

        # post-transplant care (TaintedIndex)
        tx_tainted = bool(tainted)
        post_tainted: list[IndexTransplant] = []
        if matched:
            for e in matched:
                r: list[str] = []
                if e.performed_country != UNKNOWN and in_D(e.performed_country) and "PERFORMED_IN" in rule.prongs:
                    r.append("INDEX_PERFORMED_IN_DESIGNATED_COUNTRY")
                if e.origin_country != UNKNOWN and in_D(e.origin_country) and "ORIGIN_SALE_OR_DONATION" in rule.prongs:
                    r.append("INDEX_ORGAN_ORIGIN_DESIGNATED_COUNTRY")
                if e.foh is True and "PROCURED_THROUGH_FOH" in rule.prongs:
                    r.append("INDEX_FOH_ATTESTED")
                tag = "" if len(matched) == 1 else f"[{matched.index(e) + 1}]"
                if not implicit:
                    fields[f"members.index_transplant{tag}"] = {
                        "organ": e.organ, "date": e.date.isoformat() if e.date else None,
                        "performed_country": e.performed_country, "organ_origin_country": e.origin_country,
                        "foh": e.foh, "evidence": e.evidence}
                if r:
                    tainted.extend(["POST_TRANSPLANT_CARE"] + r)
                    post_tainted.append(e)
                    confirmed &= e.evidence in self.cfg.confirmed_evidence
                    notes.append(f"post-transplant care after a {e.organ} transplant "
                                 f"({e.date.isoformat() if e.date else 'date unknown'}) performed in "
                                 f"{e.performed_country}, organ origin {e.origin_country} (evidence: {e.evidence})")
                    continue
                risk = e.performed_country != "US" or e.origin_country not in (UNKNOWN, "US")
                if implicit:
                    unknown += ["INDEX_TRANSPLANT_UNKNOWN", "ORIGIN_UNKNOWN"]
                elif e.performed_country == UNKNOWN:
                    unknown.append("ORIGIN_UNKNOWN")
                elif hk_review(e.performed_country) or hk_review(e.origin_country):
                    unknown.append("HK_MO_SCOPE")
                elif e.performed_country != "US" and e.origin_country == UNKNOWN:
                    unknown.append("ORIGIN_UNKNOWN_FOREIGN")
                if "PROCURED_THROUGH_FOH" in rule.prongs and e.foh is None and risk and not implicit:
                    unknown.append("FOH_UNKNOWN")
            if implicit:
                notes.append("post-transplant care codes but no index transplant on record (members file or a "
                             "transplant claim in the batch)")

        if tainted:
            if facts.status_only and not tx_tainted:
                return out("review_required", ["STATUS_CODE_ONLY"] + tainted,
                           "; ".join(notes) + "; but the only post-transplant signal is a secondary Z94 status "
                           "code (engine.status_code_only) -> review.")
            if rule.mode == "permissive":
                return out("limit_permitted", ["PERMISSIVE_LAW"] + tainted,
                           "; ".join(notes) + "; the statute permits (does not require) limiting coverage: plan "
                           "policy decides.")
            pre = [e for e in post_tainted if e.date is not None and e.date < rule.effective]
            if not tx_tainted and pre and len(pre) == len(post_tainted) and self.cfg.pre_effective_index == "review":
                return out("review_required", ["PRE_EFFECTIVE_INDEX"] + tainted,
                           "; ".join(notes) + "; the index transplant predates the effective date "
                           "(engine.pre_effective_index = review).")
            if rule.knowledge_required and not confirmed:
                return out("review_required", ["KNOWLEDGE_TN"] + tainted,
                           "; ".join(notes) + "; the statute bars only knowing coverage and the evidence is "
                           "inferred, not confirmed.")
            return out("deny_statutory", tainted, "; ".join(notes) + " -> coverage barred by the statute.")
        if facts.status_only:
            unknown = ["STATUS_CODE_ONLY"] + unknown if unknown else unknown
        if unknown:
            return out("review_required", unknown,
                       "; ".join(notes + [f"missing or unresolved: {', '.join(dict.fromkeys(unknown))}"])
                       + " -> review (unknown origin is never denied automatically).")
        return out("allow", ["NO_PRONG_MET"], "; ".join(notes) + " -> not barred by this statute.")

    def _line_index(self, member: Member | None, facts: LineFacts, d: dt.date | None) -> IndexTransplant | None:
        """The members-file transplant that this transplant/procurement line bills (same organ, dates close)."""
        if member is None or d is None:
            return None
        organs = {o for _, _, o in facts.transplant + facts.procurement}
        best = None
        for e in member.transplants:
            if e.from_claim or e.date is None:
                continue
            if abs((e.date - d).days) <= self.cfg.index_match_days and ("any" in organs or _organ_match(e.organ, organs)):
                if best is None or abs((e.date - d).days) < abs((best.date - d).days):  # type: ignore[operator]
                    best = e
        return best
