"""The screening decision: identify an inventory row's maker in the registry, then apply one jurisdiction's
law on one date through a table of small rules (first rule that answers wins), giving one outcome record
(docs/specs/cli.md, "Biotech screening outcome").

Verdicts: ``restricted`` (a listed entity, a law in force that covers the facility and asset), ``watch`` and
``named_in_bill_only`` (the entity's strongest status on the date; never ``restricted``), ``not_restricted`` and
``needs_review`` (``questions`` say what must be established by hand).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from organwatch.biotech import laws as L
from organwatch.biotech.inventory import Asset, asset_kind, country_code, facility_kind
from organwatch.biotech.matching import Candidate, Matcher, NameMatch, ProductHit
from organwatch.biotech.registry import Entity, Registry

VERDICTS = ("restricted", "watch", "named_in_bill_only", "not_restricted", "needs_review")
PRODUCT_KIND = {"sequencer": "sequencer", "sample_prep_robot": "sample_prep", "reagent": "reagent",
                "software": "software"}
PRODUCER_FIELDS = ("manufacturer", "software", "model")
CONTEXT_KINDS = ("sequencer", "sample_prep", "reagent")


def _words(code: str) -> str:
    return code.replace("_", " ")


# -- identification -------------------------------------------------------------------------------------------
@dataclass
class Identification:
    state: str  # matched | review | none
    entity_id: str | None = None
    candidate: Candidate | None = None
    source_field: str | None = None
    product: ProductHit | None = None
    candidates: list[Candidate] = field(default_factory=list)
    reasons: list[str] = field(default_factory=list)
    questions: list[str] = field(default_factory=list)


def _status(reg: Registry, entity_id: str, day: dt.date) -> str | None:
    e = reg.entities.get(entity_id)
    return e.status_on(day) if e is not None else None


def _status_words(reg: Registry, entity_id: str, day: dt.date) -> str:
    s = _status(reg, entity_id, day)
    name = reg.entities[entity_id].name_en if entity_id in reg.entities else entity_id
    return f"{name} ({_words(s) if s else 'on no list'} on {day.isoformat()})"


def _pick(reg: Registry, cands: list[Candidate], day: dt.date) -> Candidate | None:
    """One candidate when every candidate entity has the same status on ``day``; None when they disagree."""
    statuses = {_status(reg, c.entity_id, day) for c in cands}
    return cands[0] if len(statuses) == 1 else None


def _resolve_acronym(m: Matcher, nm: NameMatch, asset: Asset, context: bool) -> str:
    """dismiss (the name itself names an unrelated business), accept (genomics context), dismiss (unrelated
    business elsewhere in the row) or review (no context either way)."""
    if m.has_negative_context(nm.query):
        return "dismiss"
    if context:
        return "accept"
    if m.has_negative_context(asset.text):
        return "dismiss"
    return "review"


def _name_matches(m: Matcher, asset: Asset, context: bool) -> tuple[str | None, NameMatch | None, list[str]]:
    """The first producer field with a usable match (field, match, reasons); vendor comes later."""
    reasons: list[str] = []
    for fld in PRODUCER_FIELDS:
        value = getattr(asset, fld)
        if not value:
            continue
        nm = m.match_name(value)
        if nm.decision == "needs_context":
            how = _resolve_acronym(m, nm, asset, context)
            if how == "dismiss":
                reasons.append("acronym_dismissed_unrelated_business")
                continue
            nm.decision = "accept" if how == "accept" else "review"
            reasons.append("acronym_with_genomics_context" if how == "accept" else "acronym_without_context")
        if nm.decision in ("accept", "review"):
            return fld, nm, reasons
    return None, None, reasons


def identify(m: Matcher, asset: Asset, day: dt.date) -> Identification:
    """Which registry entity made the asset, from names (manufacturer, software, model, vendor) and products."""
    reg = m.registry
    products = m.match_products(asset.text)
    product = products[0] if products else None
    kind = asset_kind(asset.asset_type)
    context = bool(product) or kind in CONTEXT_KINDS or m.has_context(asset.text)
    fld, nm, reasons = _name_matches(m, asset, context)
    if nm is not None and nm.decision == "accept":
        return _from_name(reg, asset, fld, nm, product, day, reasons)
    if product is not None:
        return _from_product(asset, product, nm, fld, reasons)
    if nm is not None:  # review band or acronym without context
        return _review(reg, asset, fld, nm, day, reasons)
    return _from_vendor(m, asset, day, reasons)


def _from_name(reg: Registry, asset: Asset, fld: str | None, nm: NameMatch, product: ProductHit | None,
               day: dt.date, reasons: list[str]) -> Identification:
    chosen = _pick(reg, nm.candidates, day)
    if chosen is None:
        names = "; ".join(_status_words(reg, c.entity_id, day) for c in nm.candidates)
        return Identification("review", candidates=nm.candidates, source_field=fld, product=product,
                              reasons=[*reasons, "ambiguous_entity"],
                              questions=[f"'{nm.query}' fits several registry entities with different statuses: "
                                         f"{names}. Which one made the asset?"])
    ident = Identification("matched", entity_id=chosen.entity_id, candidate=chosen, source_field=fld, product=product,
                           candidates=nm.candidates, reasons=[*reasons, f"matched_on_{fld}"])
    if product is not None and product.product.entity_id != chosen.entity_id:
        p_id = product.product.entity_id
        if _status(reg, p_id, day) != _status(reg, chosen.entity_id, day):
            ident.state = "review"
            ident.reasons.append("maker_and_product_family_disagree")
            ident.questions.append(f"The row names {_status_words(reg, chosen.entity_id, day)} as maker, but "
                                   f"{product.product.product} is a product family of {_status_words(reg, p_id, day)}. "
                                   "Establish who produced this unit.")
        else:
            ident.reasons.append("product_family_of_related_entity")
    return ident


def _from_product(asset: Asset, product: ProductHit, nm: NameMatch | None, fld: str | None,
                  reasons: list[str]) -> Identification:
    p = product.product
    cand = Candidate(p.entity_id, p.product, "product", 100.0)
    ident = Identification("matched", entity_id=p.entity_id, candidate=cand, source_field="model", product=product,
                           candidates=[cand], reasons=[*reasons, "matched_on_product_family"])
    if asset.manufacturer and (nm is None or fld != "manufacturer"):
        ident.questions.append(f"The manufacturer cell says '{asset.manufacturer}', but {p.product} is a product "
                               f"family of the registry entity {p.entity_id}; check the row.")
    if p.verification == "code_only":
        ident.reasons.append("product_attribution_code_only")
        ident.questions.append(f"{p.product} was attributed to {p.entity_id} from public source code only; confirm "
                               "the maker on a vendor or regulator page.")
    return ident


def _review(reg: Registry, asset: Asset, fld: str | None, nm: NameMatch, day: dt.date,
            reasons: list[str]) -> Identification:
    names = "; ".join(f"{_status_words(reg, c.entity_id, day)}, score {c.score:g}" for c in nm.candidates)
    if "acronym_without_context" in reasons:
        q = (f"'{nm.query}' contains a short registry acronym but the row shows no genomics or sequencing context: "
             f"is it {names}?")
    else:
        q = f"'{nm.query}' is close to, but not the same as, {names}. Is it the same company?"
    return Identification("review", candidates=nm.candidates, source_field=fld,
                          reasons=[*reasons, "uncertain_name_match"], questions=[q])


def _from_vendor(m: Matcher, asset: Asset, day: dt.date, reasons: list[str]) -> Identification:
    if not asset.vendor:
        return Identification("none", reasons=[*reasons, "no_registry_match"])
    nm = m.match_name(asset.vendor)
    if nm.decision == "needs_context":
        context = m.has_context(asset.text) or asset_kind(asset.asset_type) in CONTEXT_KINDS
        how = _resolve_acronym(m, nm, asset, context)
        nm.decision = {"accept": "accept", "review": "review", "dismiss": "none"}[how]
    if nm.decision == "none":
        return Identification("none", reasons=[*reasons, "no_registry_match"])
    if nm.decision == "review":
        return _review(m.registry, asset, "vendor", nm, day, reasons)
    ident = _from_name(m.registry, asset, "vendor", nm, None, day, reasons)
    if asset.manufacturer:
        ident.state = "review"
        ident.questions.append(f"The vendor is the registry entity {ident.entity_id}, but the manufacturer cell says "
                               f"'{asset.manufacturer}': who produced the asset?")
    else:
        ident.questions.append("Only the vendor matched; confirm the vendor also produced the asset.")
    return ident


# -- the per-jurisdiction rule table --------------------------------------------------------------------------
@dataclass
class Case:
    asset: Asset
    ident: Identification
    law: L.Law | None
    jurisdiction: str | None
    day: dt.date
    registry: Registry
    entity: Entity | None
    status: str | None
    kind: str | None
    facility: str | None
    country: str | None


@dataclass
class Ruling:
    verdict: str
    reasons: list[str]
    questions: list[str] = field(default_factory=list)


Rule = Callable[[Case], Ruling | None]


def rule_identification_review(c: Case) -> Ruling | None:
    if c.ident.state == "review":
        return Ruling("needs_review", ["identification_uncertain"], list(c.ident.questions))
    return None


def rule_no_jurisdiction(c: Case) -> Ruling | None:
    if c.jurisdiction is None:
        return Ruling("needs_review", ["no_jurisdiction"],
                      ["The row gives no state and no --state was given: which state's law applies?"])
    return None


def rule_unmatched(c: Case) -> Ruling | None:
    if c.ident.state != "none":
        return None
    if (c.law is None or L.in_force(c.law, c.day) != "in_force" or L.covers_asset(c.law, c.kind) is False
            or L.covers_facility(c.law, c.facility) is False):
        return Ruling("not_restricted", ["no_registry_match"])
    adversary = L.adversary_country(c.law, c.country)
    if adversary is None and c.country == "HK":
        return Ruling("needs_review", ["no_registry_match", "origin_hong_kong_not_stated"],
                      [f"Made in Hong Kong: {c.law.adversary.title} does not say whether Hong Kong is included."])
    if adversary:
        qs = [f"The producer is not in the registry, but the country of origin is {c.country}, a foreign adversary "
              f"under {c.law.adversary.title}. Is the producer domiciled in, owned or controlled by a foreign "
              "adversary?"]
        if "merely_assembled" in c.law.exemptions:
            qs.append(f"Was the unit merely assembled in {c.country} by a company that is not a foreign-adversary "
                      f"company ({c.law.section} exempts that)?")
        return Ruling("needs_review", ["no_registry_match", "origin_in_foreign_adversary"], qs)
    return Ruling("not_restricted", ["no_registry_match"])


def _domicile_question(c: Case) -> list[str]:
    if c.law is None or c.entity is None or L.in_force(c.law, c.day) != "in_force":
        return []
    return [f"{c.law.section} turns on who produced the asset (domicile, ownership or control), not on lists: is "
            f"{c.entity.name_en} domiciled in or controlled by a foreign adversary?"]


def _parent_note(c: Case) -> tuple[list[str], list[str]]:
    """Reasons and questions about a listed parent (never inherited into the verdict)."""
    if c.entity is None:
        return [], []
    for p in c.registry.parents(c.entity.id):
        if p.status_on(c.day) == "listed":
            return ["parent_listed"], [f"The parent {p.name_en} is listed on {c.day.isoformat()}; is "
                                       f"{c.entity.name_en} owned or controlled by it?"]
    return [], []


def rule_not_on_a_list(c: Case) -> Ruling | None:
    if c.status is not None:
        return None
    reasons, questions = _parent_note(c)
    return Ruling("not_restricted", ["entity_not_on_a_list_on_date", *reasons], [*questions, *_domicile_question(c)])


def rule_watch_or_bill(c: Case) -> Ruling | None:
    if c.status not in ("watch", "named_in_bill_only"):
        return None
    reasons, questions = _parent_note(c)
    code = "watch_request_only" if c.status == "watch" else "named_in_bill_only"
    return Ruling(str(c.status), [code, *reasons], [*questions, *_domicile_question(c)])


def rule_no_law(c: Case) -> Ruling | None:
    if c.law is None:
        return Ruling("not_restricted", ["listed", "no_sequencer_law_in_jurisdiction"])
    return None


def rule_law_dates(c: Case) -> Ruling | None:
    assert c.law is not None
    state = L.in_force(c.law, c.day)
    if state == "not_law":
        return Ruling("not_restricted", ["listed", f"law_{c.law.status}"])
    if state == "not_yet":
        return Ruling("not_restricted", ["listed", "law_not_yet_in_force"])
    if state == "unknown_date":
        return Ruling("needs_review", ["listed", "law_effective_date_unknown"],
                      [f"{c.law.title}: {c.law.effective_note} Is the sequencer duty in force on {c.day.isoformat()}?"])
    return None


def rule_lists_used(c: Case) -> Ruling | None:
    assert c.law is not None and c.entity is not None
    if not c.law.lists_used:
        return None
    if {x.list for x in c.entity.active(c.day)} & c.law.lists_used:
        return None
    return Ruling("not_restricted", ["listed", "not_on_a_list_the_law_uses"])


def rule_facility(c: Case) -> Ruling | None:
    assert c.law is not None
    if L.covers_facility(c.law, c.facility) is False:
        return Ruling("not_restricted", ["listed", "facility_not_covered"])
    return None


def rule_asset(c: Case) -> Ruling | None:
    assert c.law is not None
    if L.covers_asset(c.law, c.kind) is not False:
        return None
    if c.kind == "other":
        return Ruling("not_restricted", ["listed", "asset_kind_not_covered"])
    covered = ", ".join(_words(a) for a in sorted(c.law.assets))
    return Ruling("needs_review", ["listed", "asset_kind_not_covered"],
                  [f"{c.law.section} covers {covered}; is this {_words(str(c.kind))} part of a covered sequencing "
                   "platform?"])


def rule_law_status(c: Case) -> Ruling | None:
    assert c.law is not None
    if c.law.status_verified:
        return None
    return Ruling("needs_review", ["listed", "law_status_unverified"],
                  [f"{c.law.title}: {c.law.effective_note} Confirm the law was enacted before relying on it."])


def rule_subsidiary(c: Case) -> Ruling | None:
    assert c.law is not None and c.entity is not None
    if c.law.lists_used or c.law.subsidiary_clause or c.law.controlled_clause or not c.entity.parent:
        return None
    return Ruling("needs_review", ["listed", "no_subsidiary_clause"],
                  [f"{c.law.section} has no subsidiary or control clause: is {c.entity.name_en} itself domiciled in "
                   "a foreign adversary?"])


def rule_grandfathered(c: Case) -> Ruling | None:
    assert c.law is not None
    if "grandfathered_before_effective" not in c.law.exemptions or c.law.effective is None:
        return None
    bought = c.asset.purchase_date
    if bought is not None and bought < c.law.effective:
        return Ruling("needs_review", ["listed", "acquired_before_effective_date"],
                      [f"Bought {bought.isoformat()}, before {c.law.effective.isoformat()}: does the grandfathering "
                       f"of {c.law.section} apply to this unit?"])
    return None


def rule_restricted(c: Case) -> Ruling | None:
    assert c.law is not None
    reasons = ["listed", "law_in_force", "covered"]
    questions = []
    if c.facility is None:
        kinds = ", ".join(_words(f) for f in sorted(c.law.facilities))
        questions.append(f"The row does not say what kind of facility uses it; {c.law.section} covers {kinds}.")
    questions.extend(L.conditions_for(c.law, c.facility))
    if c.kind is None:
        questions.append("Confirm the asset is a genetic sequencer, sequencing software or other covered asset.")
    if c.law.replace_by is not None and c.day < c.law.replace_by:
        reasons.append("within_replacement_period")
    return Ruling("restricted", reasons, questions)


RULES: tuple[Rule, ...] = (rule_identification_review, rule_no_jurisdiction, rule_unmatched, rule_not_on_a_list,
                           rule_watch_or_bill, rule_no_law, rule_law_dates, rule_lists_used, rule_facility,
                           rule_asset, rule_law_status, rule_subsidiary, rule_grandfathered, rule_restricted)


def rule(c: Case) -> Ruling:
    for r in RULES:
        out = r(c)
        if out is not None:
            return out
    raise AssertionError("rule_restricted always answers")  # pragma: no cover


# -- outcome records ------------------------------------------------------------------------------------------
def asset_kind_of(asset: Asset, ident: Identification) -> str | None:
    """Explicit asset_type cell, else the product family's kind, else software when only software is named."""
    kind = asset_kind(asset.asset_type)
    if kind is None and ident.product is not None:
        kind = PRODUCT_KIND.get(ident.product.product.kind)
    if kind is None and asset.software and not (asset.manufacturer or asset.model):
        kind = "software"
    return kind


def make_case(asset: Asset, ident: Identification, jurisdiction: str | None, day: dt.date, reg: Registry) -> Case:
    entity = reg.entities.get(ident.entity_id) if ident.entity_id else None
    return Case(asset=asset, ident=ident, law=L.law_for(jurisdiction) if jurisdiction else None,
                jurisdiction=jurisdiction, day=day, registry=reg, entity=entity,
                status=entity.status_on(day) if entity else None, kind=asset_kind_of(asset, ident),
                facility=facility_kind(asset.facility_type), country=country_code(asset.country_of_origin))


def _match_record(ident: Identification) -> dict[str, Any] | None:
    c = ident.candidate
    if c is None and not ident.candidates:
        return None
    d: dict[str, Any] = {"method": c.method if c else None, "score": c.score if c else None,
                         "alias": c.alias if c else None, "field": ident.source_field,
                         "candidates": [{"entity_id": x.entity_id, "alias": x.alias, "method": x.method,
                                         "score": x.score} for x in ident.candidates]}
    if ident.product is not None:
        p = ident.product.product
        d["product"] = {"product": p.product, "text": ident.product.text, "kind": p.kind, "entity_id": p.entity_id,
                        "verification": p.verification, "source": p.source_urls[0] if p.source_urls else None}
    return d


LIST_WORDS = {"dod_1260h": "the DoD 1260H list", "entity_list": "the Commerce Entity List",
              "bill": "a bill that was not enacted"}


def _listing_words(x: Any) -> str:
    where = LIST_WORDS.get(x.list, x.list)
    if x.status == "watch":
        return f"named in a request of {x.listed_text} to add it to {where}"
    if x.status == "named_in_bill_only":
        return f"named in a bill introduced {x.listed_text}"
    return f"on {where} since {x.listed_text}"


def explain(case: Case, ruling: Ruling) -> str:
    """One plain sentence or two: who made it (as far as the data shows), which lists, which law and dates."""
    e, law = case.entity, case.law
    parts = []
    if e is not None:
        active = sorted(e.active(case.day), key=lambda x: x.listed)
        lists = "; ".join(_listing_words(x) for x in active) or f"on no list on {case.day.isoformat()}"
        parts.append(f"Matched {e.name_en} ({lists}).")
    elif case.ident.state == "none":
        parts.append("No registry entity matched the row.")
    else:
        parts.append("The maker could not be identified with confidence.")
    if law is None:
        parts.append(f"No genetic-sequencer law of {case.jurisdiction} is in the registry."
                     if case.jurisdiction else "No jurisdiction was given.")
    else:
        state = L.in_force(law, case.day)
        when = {"in_force": "in force", "not_law": law.status.replace("_", " "), "not_yet": "not yet in force",
                "unknown_date": "enacted, effective date not found"}[state]
        eff = f", effective {law.effective.isoformat()}" if law.effective else ""
        parts.append(f"{law.title} ({law.section}{eff}) is {when} on {case.day.isoformat()}.")
    parts.append(f"Verdict: {ruling.verdict.replace('_', ' ')}.")
    return " ".join(parts)


def outcome(case: Case, ruling: Ruling, run_questions: list[str] | None = None) -> dict[str, Any]:
    """One outcome record (cli.md "Biotech screening outcome"), plus the asset's own cells for the reader."""
    e, a = case.entity, case.asset
    listings = e.active(case.day) if e is not None else []
    questions = list(dict.fromkeys([*ruling.questions, *(run_questions or []), *a.notes]))
    return {
        "asset_id": a.asset_id, "row": a.row, "file": a.file, "sheet": a.sheet, "jurisdiction": case.jurisdiction,
        "as_of": case.day.isoformat(), "verdict": ruling.verdict, "entity_id": e.id if e else None,
        "matched_name": e.name_en if e else None, "entity_status": case.status,
        "parents": [p.id for p in case.registry.parents(e.id)] if e else [],
        "match": _match_record(case.ident),
        "lists": [x.to_dict() for x in sorted(listings, key=lambda x: (x.listed, x.list))],
        "law": case.law.reference() if case.law else None,
        "reasons": list(dict.fromkeys([*case.ident.reasons, *ruling.reasons])), "questions": questions,
        "explanation": explain(case, ruling),
        "asset_kind": case.kind, "facility_kind": case.facility, "country_of_origin": case.country,
        "asset": a.fields(), "attribution": e.attribution or None if e else None,
    }


def screen_asset(m: Matcher, asset: Asset, jurisdictions: Sequence[str | None], day: dt.date) -> list[dict[str, Any]]:
    """One outcome per jurisdiction for one asset."""
    ident = identify(m, asset, day)
    out = []
    for j in jurisdictions:
        case = make_case(asset, ident, j, day, m.registry)
        out.append(outcome(case, rule(case)))
    return out
