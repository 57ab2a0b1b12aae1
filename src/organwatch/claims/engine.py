"""The compliance engine: classifies each claim line once and applies the decision steps per jurisdiction.

The decision itself (docs/specs/compliance-rules.md §2.4: scope -> effective date -> prongs -> decision) is the
table of small steps in :mod:`organwatch.claims.decision`; this module builds the line facts (code lists), the
member context and the index transplants derived from the batch, and turns each verdict into an
:class:`~organwatch.claims.model.Outcome` naming the statute (laws.csv id), the reasons and the fields used.
Organ compatibility is data (``data/organs.toml``).
"""

from __future__ import annotations

import datetime as dt
import functools
import tomllib
from collections.abc import Iterable, Iterator
from importlib import resources
from typing import Any

from organwatch.claims.codes import CodeLists, norm_code, norm_revenue
from organwatch.claims.decision import Context, LineEval, LineFacts, decide_line
from organwatch.claims.model import SEVERITY, UNKNOWN, Claim, IndexTransplant, Line, Member, Outcome
from organwatch.claims.rules import RuleSet

__all__ = ["Engine", "LineFacts", "Context", "classify", "organ_compat"]


@functools.cache
def organ_compat() -> dict[str, frozenset[str]]:
    """Index-transplant organ -> the post-transplant signal organs that belong to it (``data/organs.toml``)."""
    raw = tomllib.loads((resources.files("organwatch.claims") / "data" / "organs.toml").read_text("utf-8"))
    table = {k: frozenset(v) for k, v in raw["compatible"].items()}
    from organwatch.claims.readers.members import ORGANS

    missing = set(ORGANS) - set(table)
    if missing:
        raise RuntimeError(f"claims/data/organs.toml: organs {sorted(missing)} have no [compatible] entry")
    return table


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


def _organ_match(e_organ: str, signal_organs: set[str]) -> bool:
    if "any" in signal_organs or e_organ in ("other", "any"):
        return True
    return bool(organ_compat().get(e_organ, frozenset({e_organ})) & signal_organs)


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
            jurisdictions = list(dict.fromkeys(resolve_jurisdiction(j) for j in jurisdictions))
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
                    plan != "self_funded_erisa" and plan not in rule.plan_types) or line.unresolved_codes:
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
        """One (line, jurisdiction): the decision steps of :mod:`organwatch.claims.decision`, as an Outcome."""
        rule = self.rules.rules.get(j)
        d = line.date
        fields: dict[str, Any] = {}
        if line.date_field:
            fields[line.date_field] = d.isoformat() if d else None
        ev = LineEval(claim=claim, line=line, facts=facts, j=j, ctx=ctx, rule=rule, cfg=self.cfg,
                      organ_match=_organ_match, line_index=self._line_index, fields=fields)
        outcome, reasons, explanation = decide_line(ev)
        return Outcome(claim_id=claim.claim_id, line=line.line, jurisdiction=j, outcome=outcome,
                       reasons=list(dict.fromkeys(reasons)), statute=rule.law_id if rule else None,
                       fields=fields, explanation=f"{self.head(j)}: {explanation}",
                       date_of_service=d.isoformat() if d else None, source=claim.source, form=claim.form)

    def _line_index(self, member: Member | None, facts: LineFacts, d: dt.date | None) -> IndexTransplant | None:
        """The members-file transplant that this transplant/procurement line bills (same organ, dates close)."""
        if member is None or d is None:
            return None
        organs = {o for _, _, o in facts.transplant + facts.procurement}
        best = None
        for e in member.transplants:
            if e.from_claim or e.date is None:
                continue
            gap = abs((e.date - d).days)
            if gap > self.cfg.index_match_days or not ("any" in organs or _organ_match(e.organ, organs)):
                continue
            if best is None or best.date is None or gap < abs((best.date - d).days):
                best = e
        return best
