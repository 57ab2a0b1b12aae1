"""Each step of the decision table (organwatch.claims.decision) on its own: scope, unrelated lines, the
effective date, every prong predicate, the unknowns and the final decision."""

from __future__ import annotations

import datetime as dt

import pytest

from organwatch.claims import decision as D
from organwatch.claims.engine import Engine, organ_compat
from organwatch.claims.model import UNKNOWN, Claim, IndexTransplant, Line, Member
from organwatch.claims.rules import load_rules

RULES = load_rules()
ENGINE = Engine(RULES)


def ev(j="US-TX", *, code="50360", country="CN", date=dt.date(2024, 2, 1), plan="fully_insured", member=None,
       dx=(), unresolved=(), unresolved_codes=(), src="claim_service_facility") -> D.LineEval:
    line = Line(line=1, date=date, date_field="DTP" if date else "", procedures=[(code, "SV101-2")] if code else [],
                diagnoses=list(dx), country=country, country_field="2310C/N404" if country != UNKNOWN else "",
                country_source=src, unresolved=list(unresolved), unresolved_codes=list(unresolved_codes))
    claim = Claim("C1", "f.837", 1, "837P", member_id="M1")
    facts = __import__("organwatch.claims.engine", fromlist=["classify"]).classify(line, ENGINE.codes)
    ctx = D.Context([j], plan, member)
    return D.LineEval(claim=claim, line=line, facts=facts, j=j, ctx=ctx, rule=RULES.rules.get(j), cfg=RULES.engine,
                      organ_match=lambda o, s: bool(organ_compat().get(o, frozenset({o})) & s) or "any" in s,
                      line_index=ENGINE._line_index)


def test_scope():
    assert D.scope(ev("US-XX"))[1] == ["NO_RULE_FOR_JURISDICTION"]
    assert D.scope(ev(plan="self_funded_erisa"))[1] == ["OUT_OF_SCOPE_PENDING_COUNSEL"]
    assert D.scope(ev("US-AZ", plan="fully_insured")) is None or D.scope(ev("US-AZ", plan="fully_insured"))[0] == \
        "not_in_scope"
    assert D.scope(ev()) is None


def test_unrelated():
    assert D.unrelated(ev()) is None  # a transplant line is related
    assert D.unrelated(ev(code="99213"))[0] == "not_transplant_related"
    assert D.unrelated(ev(code="99213", date=dt.date(2020, 1, 1)))[0] == "not_effective"
    v = D.unrelated(ev(code="99213", unresolved_codes=["Claim.procedure[0] -> Procedure/x: not in the inputs"]))
    assert v[0] == "review_required" and v[1] == ["REFERENCE_UNRESOLVED"] and "Procedure/x" in v[2]


def test_effective():
    assert D.effective(ev(date=dt.date(2023, 8, 31)))[0] == "not_effective"
    assert D.effective(ev(date=dt.date(2023, 9, 1))) is None
    assert D.effective(ev(date=None))[1] == ["SERVICE_DATE_MISSING"]


def _run_prongs(e: D.LineEval) -> D.LineEval:
    assert D.effective(e) is None
    D.prongs(e)
    return e


def test_prong_located_in_named_country():
    e = _run_prongs(ev(country="CN"))
    assert e.tainted == ["PERFORMED_IN_DESIGNATED_COUNTRY"]
    e = _run_prongs(ev(country="US"))
    assert e.tainted == []


def test_prong_procurement_in_named_country_is_only_a_signal():
    e = _run_prongs(ev(code="50300", country="CN"))  # cadaver donor nephrectomy (procurement)
    assert e.tainted == [] and "PROCUREMENT_IN_DESIGNATED_COUNTRY" in e.unknown


def test_prong_members_place_operation_and_origin_and_foh():
    m = Member("M1", [IndexTransplant("kidney", dt.date(2024, 2, 1), performed_country="CN", origin_country="CN",
                                      foh=True, evidence="attestation")])
    e = _run_prongs(ev(country="US", member=m))
    assert "PERFORMED_IN_DESIGNATED_COUNTRY" in e.tainted and "ORGAN_ORIGIN_DESIGNATED_COUNTRY" in e.tainted
    ut = Member("M1", [IndexTransplant("kidney", dt.date(2024, 6, 1), performed_country="US", foh=True,
                                       evidence="attestation")])
    e = _run_prongs(ev("US-UT", country="US", member=ut, date=dt.date(2024, 6, 1)))
    assert e.tainted == ["FOH_ATTESTED"]


@pytest.mark.parametrize("country,reason", [(UNKNOWN, "LOCATION_UNKNOWN"), ("HK", "HK_MO_SCOPE"),
                                            ("TW", "ORIGIN_UNKNOWN_FOREIGN")])
def test_line_unknowns(country, reason):
    e = _run_prongs(ev(country=country))
    assert reason in e.unknown and not e.tainted


def test_line_unknowns_name_unresolved_references():
    e = _run_prongs(ev(country="US", unresolved=["Claim.facility -> Location?identifier=x|1: no Location"]))
    assert "REFERENCE_UNRESOLVED" in e.unknown and any("Location?identifier=x|1" in n for n in e.notes)


def test_post_transplant_prongs():
    m = Member("M1", [IndexTransplant("kidney", dt.date(2024, 1, 5), performed_country="CN", evidence="attestation")])
    e = ev(code="80197", country="US", member=m, dx=[("Z94.0", "HI01-2(ABK)", True)], date=dt.date(2024, 6, 1))
    e = _run_prongs(e)
    assert "POST_TRANSPLANT_CARE" in e.tainted and "INDEX_PERFORMED_IN_DESIGNATED_COUNTRY" in e.tainted
    assert D.index_unknowns(e, IndexTransplant("kidney", dt.date(2024, 1, 5))) == ["ORIGIN_UNKNOWN"]


def test_decision_outcomes():
    assert D.decision(_run_prongs(ev()))[0] == "deny_statutory"
    assert D.decision(_run_prongs(ev("US-AZ", plan="hcso", date=dt.date(2025, 10, 1))))[0] == "limit_permitted"
    tn = _run_prongs(ev("US-TN", date=dt.date(2026, 2, 1), src="claim_service_facility"))
    assert D.decision(tn)[0] in ("deny_statutory", "review_required")
    assert D.decision(_run_prongs(ev(country="US")))[0] == "allow"
    assert D.decision(_run_prongs(ev(country=UNKNOWN)))[0] == "review_required"


def test_decide_line_runs_the_steps_in_order():
    assert (D.scope, D.unrelated, D.effective, D.prongs) == D.STEPS
    assert D.decide_line(ev(plan="self_funded_erisa"))[0] == "not_in_scope"
    assert D.decide_line(ev(date=dt.date(2020, 1, 1)))[0] == "not_effective"
    assert D.decide_line(ev())[0] == "deny_statutory"


def test_organ_compatibility_is_data():
    table = organ_compat()
    assert table["heart_lung"] >= {"heart", "lung"} and table["kidney"] == frozenset({"kidney"})
