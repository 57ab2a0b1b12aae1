"""The 14 expected-outcome cases of compliance-rules.md 2.5, plus edge cases, through the real readers."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from test_claims_x12build import build_837

from organwatch.claims.engine import Engine
from organwatch.claims.readers import read_claims
from organwatch.claims.readers.members import read_enrollment, read_members
from organwatch.claims.rules import load_rules
from organwatch.errors import RecordError

MEMBER_HEADER = "member_id,index_transplant_date,organ,performed_country,organ_origin_country,foh_attestation,evidence_source\n"


def run(tmp_path: Path, files: dict[str, str], jurisdictions=None, plan_type=None, members: str | None = None,
        enrollment: str | None = None, config: dict | None = None, fast: bool = False):
    claims = []
    for name, text in files.items():
        p = tmp_path / name
        p.write_text(text, encoding="utf-8")
        for c in read_claims(p, fast=fast):
            if isinstance(c, RecordError):
                assert c.note, str(c)
                continue
            claims.append(c)
        # every test case: the other path (tokeniser vs pyx12, plain JSON vs fhirclient) reads the same claims
        other = [c for c in read_claims(p, fast=not fast) if not isinstance(c, RecordError)]
        assert other == [c for c in claims if c.source == p.name], name
    mem: dict = {}
    if members is not None:
        (tmp_path / "members.csv").write_text(MEMBER_HEADER + members, encoding="utf-8")
        read_members(tmp_path / "members.csv", mem)
    if enrollment is not None:
        (tmp_path / "enrollment.csv").write_text("member_id,jurisdiction,plan_type,start,end\n" + enrollment)
        read_enrollment(tmp_path / "enrollment.csv", mem)
    rules = load_rules(config or {})
    return list(Engine(rules).evaluate(claims, mem, jurisdictions, plan_type))


def p837(date: str, code: str = "50360", facility: dict | None = None, member: str = "M1", dx=None, billing=None,
         claim_id: str = "C1", extra_lines=()):
    lines = [{"code": code, "date": date}] + list(extra_lines)
    return build_837([{"claim_id": claim_id, "member_id": member, "facility": facility, "lines": lines, "dx": dx}],
                     billing=billing)


def one(outs, line: int = 1):
    sel = [o for o in outs if o.line == line]
    assert len(sel) == 1, [o.to_record() for o in outs]
    return sel[0]


# -- the 14 cases ------------------------------------------------------------------------------------------

def test_case01_tx_cn_facility_denied(tmp_path):
    o = one(run(tmp_path, {"c.837": p837("2024-01-10", facility={"country": "CN"})}, ["US-TX"], "fully_insured"))
    assert o.outcome == "deny_statutory" and o.statute == "us-tx-sb1040-2023"
    assert "PERFORMED_IN_DESIGNATED_COUNTRY" in o.reasons
    assert o.fields["2310C/N404"] == "CN" and o.fields["SV101-2"] == "50360"
    assert "us-tx-sb1040-2023" in o.explanation and "2310C/N404" in o.explanation


def test_case02_tx_before_effective(tmp_path):
    o = one(run(tmp_path, {"c.837": p837("2023-08-15", facility={"country": "CN"})}, ["US-TX"], "fully_insured"))
    assert o.outcome == "not_effective" and o.reasons == ["BEFORE_EFFECTIVE_DATE"]


def test_case03_ut_837i_pcs_us_facility_allowed(tmp_path):
    text = build_837([{"claim_id": "I1", "member_id": "M3", "dx": [("ABK", "K7469")],
                       "pcs": [("BBR", "0FY00Z0", "2024-06-01")], "facility": {"state": "UT"},
                       "lines": [{"date": "2024-06-01", "revenue": "0360"}]}], form="I")
    o = one(run(tmp_path, {"i.837": text}, ["US-UT"]))
    assert o.outcome == "allow" and o.statute == "us-ut-sb262-2024"
    assert o.fields["2310E/N402"] == "US" and o.fields["HI01-2(BBR)"] == "0FY00Z0"


def _case4_claim(date="2024-09-01"):
    return p837(date, code="80197", dx=[("ABK", "Z940"), ("ABF", "Z79621")], facility={"state": "ID"})


def test_case04_id_medicaid_posttx_cn_attested_denied(tmp_path):
    o = one(run(tmp_path, {"c.837": _case4_claim().replace("SV1*HC:80197*100*UN*1***1~", "SV1*HC:80197*100*UN*1***1:2~")},
                ["ID"], "medicaid", members="M1,2024-08-01,kidney,CN,,,attestation\n"))
    assert o.outcome == "deny_statutory" and o.statute == "us-id-h0670-2024"
    assert {"POST_TRANSPLANT_CARE", "INDEX_PERFORMED_IN_DESIGNATED_COUNTRY"} <= set(o.reasons)
    assert o.fields["members.index_transplant"]["performed_country"] == "CN"


def test_case05_id_posttx_unknown_country_review(tmp_path):
    o = one(run(tmp_path, {"c.837": _case4_claim()}, ["ID"], "medicaid", members="M1,2024-08-01,kidney,,,,other\n"))
    assert o.outcome == "review_required" and "ORIGIN_UNKNOWN" in o.reasons


def _fhir_claim(country: str | None, code: str, date: str, claim_id: str = "F1", extra_items=()) -> str:
    item = {"sequence": 1, "productOrService": {"coding": [{"system": "http://www.ama-assn.org/go/cpt", "code": code}]},
            "servicedDate": date}
    if country is not None:
        item["locationAddress"] = {"city": "Somewhere", "country": country}
    res = {"resourceType": "Claim", "id": claim_id, "status": "active",
           "type": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/claim-type", "code": "professional"}]},
           "use": "claim", "patient": {"reference": "Patient/p1"}, "created": date,
           "provider": {"reference": "Organization/o1"}, "priority": {"coding": [{"code": "normal"}]},
           "insurance": [{"sequence": 1, "focal": True, "coverage": {"reference": "Coverage/c1"}}],
           "item": [item] + list(extra_items)}
    return json.dumps(res)


def test_case06_az_hcso_hkg_limit_permitted(tmp_path):
    for fast in (False, True):
        o = one(run(tmp_path, {"f.json": _fhir_claim("HKG", "47135", "2025-10-15")}, ["AZ"], "hcso", fast=fast))
        assert o.outcome == "limit_permitted" and o.statute == "us-az-hb2109-2025"
        assert o.fields["Claim.item[0].locationAddress.country"] == "HK"


def test_case07_tx_hk_review(tmp_path):
    o = one(run(tmp_path, {"c.837": p837("2024-03-01", code="33945", facility={"country": "HK"})}, ["TX"]))
    assert o.outcome == "review_required" and "HK_MO_SCOPE" in o.reasons


def test_case08_tn_day_before_effective(tmp_path):
    o = one(run(tmp_path, {"c.837": p837("2025-12-31", facility={"country": "CN"})}, ["TN"]))
    assert o.outcome == "not_effective"


def test_case09_tn_confirmed_facility_denied(tmp_path):
    o = one(run(tmp_path, {"c.837": p837("2026-02-01", facility={"country": "CN"})}, ["TN"]))
    assert o.outcome == "deny_statutory" and o.statute == "us-tn-sb318-2025"


def test_case10_tx_self_funded_not_in_scope(tmp_path):
    o = one(run(tmp_path, {"c.837": p837("2024-01-10", facility={"country": "CN"})}, ["TX"], "self_funded_erisa"))
    assert o.outcome == "not_in_scope" and o.reasons == ["OUT_OF_SCOPE_PENDING_COUNSEL"]


def test_case11_tx_taiwan_review_foreign(tmp_path):
    o = one(run(tmp_path, {"c.837": p837("2024-01-10", facility={"country": "TW"})}, ["TX"]))
    assert o.outcome == "review_required" and "ORIGIN_UNKNOWN_FOREIGN" in o.reasons


def test_case12_ut_foh_attested_denied(tmp_path):
    o = one(run(tmp_path, {"c.837": p837("2024-06-01", facility={"state": "UT"})}, ["UT"],
                members="M1,2024-06-01,kidney,US,,true,attestation\n"))
    assert o.outcome == "deny_statutory" and o.statute == "us-ut-sb262-2024" and "FOH_ATTESTED" in o.reasons


def test_case13_tx_billing_provider_texas_allowed(tmp_path):
    o = one(run(tmp_path, {"c.837": p837("2024-01-10", facility=None, billing={"state": "TX"})}, ["TX"]))
    assert o.outcome == "allow" and o.fields["2010AA/N402"] == "US"


def test_case14_pre_effective_index(tmp_path):
    kw = dict(jurisdictions=["ID"], plan_type="medicaid", members="M1,2019-05-01,kidney,CN,,,medical_record\n")
    o = one(run(tmp_path, {"c.837": _case4_claim()}, **kw))
    assert o.outcome == "review_required" and "PRE_EFFECTIVE_INDEX" in o.reasons
    o = one(run(tmp_path, {"c.837": _case4_claim()}, config={"engine": {"pre_effective_index": "deny"}}, **kw))
    assert o.outcome == "deny_statutory"


# -- edge cases ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("j,before,on", [("TX", "2023-08-31", "2023-09-01"), ("UT", "2024-04-30", "2024-05-01"),
                                         ("ID", "2024-06-30", "2024-07-01"), ("TN", "2025-12-31", "2026-01-01")])
def test_effective_date_boundaries(tmp_path, j, before, on):
    a = one(run(tmp_path, {"a.837": p837(before, facility={"country": "CN"})}, [j]))
    b = one(run(tmp_path, {"b.837": p837(on, facility={"country": "CN"})}, [j]))
    assert (a.outcome, b.outcome) == ("not_effective", "deny_statutory")


def test_az_effective_date_is_configuration(tmp_path):
    files = {"f.json": _fhir_claim("CN", "47135", "2025-08-01")}
    assert one(run(tmp_path, files, ["AZ"])).outcome == "not_effective"
    o = one(run(tmp_path, files, ["AZ"], config={"jurisdiction": {"US-AZ": {"effective": "2025-07-01"}}}))
    assert o.outcome == "limit_permitted" and "configured, unverified" not in o.explanation


def test_hong_kong_arizona_versus_texas(tmp_path):
    files = {"c.837": p837("2025-11-01", facility={"country": "HK"})}
    outs = {o.jurisdiction: o for o in run(tmp_path, files, ["AZ", "TX"])}
    assert outs["US-AZ"].outcome == "limit_permitted"
    assert outs["US-TX"].outcome == "review_required" and "HK_MO_SCOPE" in outs["US-TX"].reasons
    same = {o.jurisdiction: o for o in run(tmp_path, files, ["TX"], config={"engine": {"hk_mo_policy": "same_as_cn"}})}
    assert same["US-TX"].outcome == "deny_statutory"
    macau = one(run(tmp_path, {"m.837": p837("2025-11-01", facility={"country": "MO"})}, ["AZ"]))
    assert macau.outcome == "review_required"  # Arizona names Hong Kong, not Macau


@pytest.mark.parametrize("country,outcome,reason", [
    ("People's Republic of China", "deny_statutory", "PERFORMED_IN_DESIGNATED_COUNTRY"),
    ("CHN", "deny_statutory", "PERFORMED_IN_DESIGNATED_COUNTRY"),
    ("中国", "deny_statutory", "PERFORMED_IN_DESIGNATED_COUNTRY"),
    ("somewhere in Asia", "review_required", "LOCATION_UNKNOWN"),
    ("", "review_required", "LOCATION_UNKNOWN"),
    (None, "review_required", "LOCATION_UNKNOWN"),
])
def test_missing_or_free_text_country(tmp_path, country, outcome, reason):
    for fast in (False, True):
        o = one(run(tmp_path, {"f.json": _fhir_claim(country, "50360", "2024-02-01")}, ["TX"], fast=fast))
        assert o.outcome == outcome and reason in o.reasons


def test_claim_with_lines_of_different_outcomes(tmp_path):
    text = build_837([{"claim_id": "MIX", "member_id": "M9", "facility": None, "dx": [("ABK", "N186"), ("ABF", "T8611")],
                       "lines": [{"code": "50360", "date": "2024-01-10", "n4": {"country": "CN"}},
                                 {"code": "99213", "date": "2024-01-10", "pointers": [1]},
                                 {"code": "50360", "date": "2024-01-10", "n4": {"country": "TW"}},
                                 {"code": "99214", "date": "2024-02-10", "pointers": [2]}]}])
    outs = run(tmp_path, {"c.837": text}, ["TX"])
    by_line = {o.line: o.outcome for o in outs}
    assert by_line[1] == "deny_statutory" and by_line[2] == "not_transplant_related"
    assert by_line[3] == "review_required"
    # line 4: complication of the kidney transplant billed on line 1 (performed in CN) -> post-transplant care
    assert by_line[4] == "deny_statutory"
    assert {o.claim_outcome for o in outs} == {"deny_statutory"}
    assert one(outs, 1).fields["2420C/N404"] == "CN"


def test_member_moving_between_states(tmp_path):
    claims = build_837([
        {"claim_id": "A", "member_id": "MOVER", "dx": [("ABK", "T8611")], "facility": {"state": "TX"},
         "lines": [{"code": "99213", "date": "2024-03-15"}]},
        {"claim_id": "B", "member_id": "MOVER", "dx": [("ABK", "T8611")], "facility": {"state": "UT"},
         "lines": [{"code": "99213", "date": "2024-06-01"}]},
    ])
    outs = run(tmp_path, {"c.837": claims}, members="MOVER,2023-10-01,kidney,CN,,,attestation\n",
               enrollment="MOVER,TX,fully_insured,2023-01-01,2024-03-31\nMOVER,UT,fully_insured,2024-04-01,\n")
    got = {(o.claim_id, o.jurisdiction): o for o in outs}
    assert set(got) == {("A", "US-TX"), ("B", "US-UT")}  # each line only under the state of enrollment that day
    assert got["A", "US-TX"].outcome == "deny_statutory"
    # the 2023 transplant predates Utah's 2024-05-01 effective date: review under the default configuration
    assert got["B", "US-UT"].outcome == "review_required" and "PRE_EFFECTIVE_INDEX" in got["B", "US-UT"].reasons


def test_unknown_origin_never_denied(tmp_path):
    """Whatever the jurisdiction, a foreign or unknown location without a named country is never a denial."""
    for country in ("TW", "IN", "Narnia", None):
        for j in ("TX", "UT", "ID", "TN", "AZ"):
            for o in run(tmp_path, {"f.json": _fhir_claim(country, "47135", "2026-03-01")}, [j]):
                assert o.outcome == "review_required", (country, j, o.outcome)


def test_tennessee_inferred_location_needs_review(tmp_path):
    # only the billing provider's address (2010AA) places the transplant in CN: inferred, not confirmed
    o = one(run(tmp_path, {"c.837": p837("2026-02-01", facility=None, billing={"country": "CN"})}, ["TN"]))
    assert o.outcome == "review_required" and "KNOWLEDGE_TN" in o.reasons
    o = one(run(tmp_path, {"c.837": p837("2026-02-01", facility=None, billing={"country": "CN"})}, ["TX"]))
    assert o.outcome == "deny_statutory"


def test_status_code_only_secondary_z94(tmp_path):
    text = p837("2024-09-01", code="99213", dx=[("ABK", "J069"), ("ABF", "Z940")], facility={"state": "ID"})
    text = text.replace("SV1*HC:99213*100*UN*1***1~", "SV1*HC:99213*100*UN*1***1:2~")
    kw = dict(jurisdictions=["ID"], members="M1,2024-08-01,kidney,CN,,,attestation\n")
    o = one(run(tmp_path, {"c.837": text}, **kw))
    assert o.outcome == "review_required" and "STATUS_CODE_ONLY" in o.reasons
    o = one(run(tmp_path, {"c.837": text}, config={"engine": {"status_code_only": "ignore"}}, **kw))
    assert o.outcome == "not_transplant_related"


def test_domestic_transplant_claim_clears_later_care(tmp_path):
    text = build_837([
        {"claim_id": "T", "member_id": "M5", "facility": {"state": "ID"}, "lines": [{"code": "50360", "date": "2024-07-10"}]},
        {"claim_id": "P", "member_id": "M5", "facility": {"state": "ID"}, "dx": [("ABK", "T8611")],
         "lines": [{"code": "99213", "date": "2024-09-01"}]}])
    outs = {o.claim_id: o for o in run(tmp_path, {"c.837": text}, ["ID"])}
    assert outs["T"].outcome == "allow" and outs["P"].outcome == "allow"


def test_posttx_without_any_index_transplant_is_review(tmp_path):
    o = one(run(tmp_path, {"c.837": p837("2024-09-01", code="99213", dx=[("ABK", "T8611")], facility={"state": "ID"})},
                ["ID"]))
    assert o.outcome == "review_required" and "INDEX_TRANSPLANT_UNKNOWN" in o.reasons


def test_plan_types_and_scope(tmp_path):
    files = {"c.837": p837("2024-09-01", facility={"country": "CN"})}
    assert one(run(tmp_path, files, ["ID"], "chip")).outcome == "deny_statutory"  # Idaho names CHIP
    o = one(run(tmp_path, files, ["TX"], "medicaid"))
    assert o.outcome == "not_in_scope" and o.reasons == ["PLAN_TYPE_PENDING_COUNSEL"]
    assert one(run(tmp_path, files, ["TX"], "medicare")).reasons == ["PLAN_TYPE_NOT_COVERED"]
    o = one(run(tmp_path, files, ["TX"], "self_funded_erisa", config={"engine": {"self_funded_policy": "evaluate"}}))
    assert o.outcome == "deny_statutory"


def test_default_evaluates_every_rule_jurisdiction(tmp_path):
    outs = run(tmp_path, {"c.837": p837("2026-02-01", facility={"country": "CN"})})
    got = {o.jurisdiction: o.outcome for o in outs}
    assert got == {"US-TX": "deny_statutory", "US-UT": "deny_statutory", "US-ID": "deny_statutory",
                   "US-TN": "deny_statutory", "US-AZ": "limit_permitted"}


def test_procurement_revenue_code_abroad(tmp_path):
    text = build_837([{"claim_id": "I2", "member_id": "M6", "dx": [("ABK", "N186")], "facility": {"country": "CN"},
                       "lines": [{"date": "2024-06-01", "revenue": "0812"}]}], form="I")
    o = one(run(tmp_path, {"i.837": text}, ["TX"]))
    # procurement codes corroborate but do not prove origin (compliance-rules.md 4.6): review, not denial
    assert o.outcome == "review_required" and "PROCUREMENT_IN_DESIGNATED_COUNTRY" in o.reasons


def test_foreign_procurement_line_makes_us_transplant_reviewable(tmp_path):
    text = build_837([{"claim_id": "FP", "member_id": "M8", "dx": [("ABK", "N186")], "facility": None,
                       "lines": [{"code": "50360", "date": "2024-03-01", "n4": {"state": "TX"}},
                                 {"code": "50300", "date": "2024-02-28", "n4": {"country": "IN"}}]}])
    outs = run(tmp_path, {"c.837": text}, ["TX"])
    assert one(outs, 1).outcome == "review_required" and "FOREIGN_PROCUREMENT_ON_CLAIM" in one(outs, 1).reasons
    assert one(outs, 2).outcome == "review_required" and "ORIGIN_UNKNOWN_FOREIGN" in one(outs, 2).reasons


def test_designation_versioned_config(tmp_path):
    cfg = {"jurisdiction": {"US-TX": {"designated": [{"country": "KP", "from": "2025-01-01", "source": "test"}]}}}
    a = one(run(tmp_path, {"a.837": p837("2024-06-01", facility={"country": "KP"})}, ["TX"], config=cfg))
    b = one(run(tmp_path, {"b.837": p837("2025-06-01", facility={"country": "KP"})}, ["TX"], config=cfg))
    assert a.outcome == "review_required" and b.outcome == "deny_statutory"


def test_members_file_locates_transplant_when_claim_does_not(tmp_path):
    fhir = {"f.json": _fhir_claim(None, "50360", "2024-02-01")}
    o = one(run(tmp_path, fhir, ["TX"], members="p1,2024-02-01,kidney,CN,,,attestation\n"))
    assert o.outcome == "deny_statutory" and o.fields["members.performed_country"] == "CN"
    o = one(run(tmp_path, fhir, ["TX"], members="p1,2024-02-01,kidney,US,,,medical_record\n"))
    assert o.outcome == "allow"
    # claim says US but the attestation says China: the attested fact meets the prong
    o = one(run(tmp_path, {"c.837": p837("2024-02-01", facility={"state": "TX"})}, ["TX"],
                members="M1,2024-02-01,kidney,CN,,,attestation\n"))
    assert o.outcome == "deny_statutory" and "members.performed_country" in o.fields


def test_same_day_care_belongs_to_transplant_episode(tmp_path):
    text = build_837([{"claim_id": "S", "member_id": "M7", "facility": {"country": "CN"}, "dx": [("ABK", "N186"), ("ABF", "Z940")],
                       "lines": [{"code": "50360", "date": "2024-02-01", "pointers": [1]},
                                 {"code": "00868", "date": "2024-02-01", "pointers": [2, 1]}]}])
    outs = run(tmp_path, {"c.837": text}, ["TX"])
    assert [o.outcome for o in outs] == ["deny_statutory", "deny_statutory"]
    assert "POST_TRANSPLANT_CARE" in outs[1].reasons
