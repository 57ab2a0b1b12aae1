"""Validation and linking (issue 13 item 4): jurisdiction values in every file, -j de-duplicated, --errors always
written, patient keys normalised with a linked/unmatched summary, file names and member ids in messages."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from test_claims_x12build import build_837

from organwatch.claims.readers.members import key_candidates, link_members
from organwatch.claims.rules import jurisdiction_value

SECRET = "PHI-SECRET-2718"
MEMBERS = "member_id,index_transplant_date,organ,performed_country,organ_origin_country,foh_attestation,evidence_source\n"


def ow(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "ORGANWATCH_DEBUG"}
    return subprocess.run([sys.executable, "-m", "organwatch", *args], capture_output=True, text=True, cwd=cwd,
                          env=env, timeout=120)


def test_jurisdiction_values():
    assert jurisdiction_value("TX") == ("US-TX", None)
    assert jurisdiction_value("us-tx") == ("US-TX", None)
    assert jurisdiction_value("") == (None, None)
    code, problem = jurisdiction_value("TEXAS")
    assert code is None and "TEXAS" in problem
    assert jurisdiction_value("GB")[0] == "GB"  # a registry jurisdiction
    assert jurisdiction_value("XX")[0] is None


def test_csv_jurisdiction_texas_is_an_error_row(tmp_path):
    p = tmp_path / "c.csv"
    p.write_text("claim_id,line,date_of_service,procedure_codes,service_country,jurisdiction\n"
                 "A,1,2024-02-01,50360,CN,TEXAS\nB,1,2024-02-01,50360,CN,TX\n")
    errs = tmp_path / "e.jsonl"
    out = tmp_path / "o.jsonl"
    r = ow("claims", str(p), "--out", str(out), "--errors", str(errs))
    assert r.returncode == 0, r.stderr
    rows = [json.loads(x) for x in errs.read_text().splitlines()]
    assert len(rows) == 1 and rows[0]["file"] == "c.csv" and rows[0]["line"] == 2 and rows[0]["field"] == "jurisdiction"
    recs = [json.loads(x) for x in out.read_text().splitlines()]
    assert [(x["claim_id"], x["outcome"]) for x in recs] == [("B", "deny_statutory")]


def test_enrollment_jurisdiction_texas_is_an_error_row(tmp_path):
    x12 = tmp_path / "c.837"
    x12.write_text(build_837([{"claim_id": "E1", "member_id": "M1", "facility": {"country": "CN"},
                               "lines": [{"code": "50360", "date": "2024-02-01"}]}]))
    en = tmp_path / "en.csv"
    en.write_text("member_id,jurisdiction,plan_type,start,end\nM1,TEXAS,,2024-01-01,\nM1,UT,,2024-01-01,\n")
    errs = tmp_path / "e.jsonl"
    out = tmp_path / "o.jsonl"
    r = ow("claims", str(x12), "--enrollment", str(en), "--out", str(out), "--errors", str(errs))
    assert r.returncode == 0, r.stderr
    rows = [json.loads(x) for x in errs.read_text().splitlines()]
    assert rows[0]["file"] == "en.csv" and rows[0]["line"] == 2 and "TEXAS" in rows[0]["message"]
    assert "M1" not in errs.read_text()
    recs = [json.loads(x) for x in out.read_text().splitlines()]
    assert [x["jurisdiction"] for x in recs] == ["US-UT"]


def test_repeated_jurisdictions_count_once(tmp_path):
    x12 = tmp_path / "c.837"
    x12.write_text(build_837([{"claim_id": "J1", "member_id": "M1", "lines": [{"code": "99213", "date": "2024-02-01"}]}]))
    r = ow("claims", str(x12), "-j", "TX", "-j", "US-TX", "-j", "tx", "--json", cwd=tmp_path)
    assert r.returncode == 0 and len(r.stdout.splitlines()) == 1


def test_errors_file_written_when_nothing_is_read(tmp_path, shared_formats):
    errs = tmp_path / "e.jsonl"
    r = ow("claims", str(shared_formats / "x12_non837"), "--errors", str(errs), "--out", str(tmp_path / "o.jsonl"))
    assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1
    rows = [json.loads(x) for x in errs.read_text().splitlines()]
    assert len(rows) == 9  # 8 non-claim transaction sets + the 999's IEA02 control-number mismatch
    assert all("/" not in x["file"] for x in rows)  # base names only


def test_key_candidates():
    assert key_candidates("Patient/M-2") == ["M-2"]
    assert key_candidates("https://fhir.example.org/r4/Patient/M-2/_history/3") == ["M-2"]
    assert key_candidates("urn:uuid:3f6fd0bb-6cd3-eb3f-4401-cd38ace25f2b") == ["3f6fd0bb-6cd3-eb3f-4401-cd38ace25f2b"]
    assert key_candidates("#p1") == ["p1"]
    assert key_candidates("http://hospital.example/mrn|12345") == ["http://hospital.example/mrn|12345", "12345"]
    assert key_candidates("Patient?identifier=http://x|777") == ["http://x|777", "777"]


def test_urn_uuid_patient_links_to_members_by_patient_identifier(tmp_path):
    patient = {"resourceType": "Patient", "id": "3f6fd0bb-6cd3-eb3f-4401-cd38ace25f2b",
               "identifier": [{"system": "http://hospital.example/mrn", "value": "MRN-77"}]}
    claim = {"resourceType": "Claim", "id": "U1", "patient": {"reference": "urn:uuid:3f6fd0bb-6cd3-eb3f-4401-cd38ace25f2b"},
             "billablePeriod": {"start": "2024-06-01"},
             "item": [{"sequence": 1, "productOrService": {"coding": [{"code": "80197"}]},
                       "servicedDate": "2024-06-01"}],
             "diagnosis": [{"sequence": 1, "diagnosisCodeableConcept": {"coding": [{"code": "Z94.0"}]},
                            "type": [{"coding": [{"code": "principal"}]}]}]}
    bundle = {"resourceType": "Bundle", "type": "collection",
              "entry": [{"fullUrl": "urn:uuid:3f6fd0bb-6cd3-eb3f-4401-cd38ace25f2b", "resource": patient},
                        {"fullUrl": "urn:uuid:aaaaaaaa-6cd3-eb3f-4401-cd38ace25f2b", "resource": claim}]}
    p = tmp_path / "b.json"
    p.write_text(json.dumps(bundle))
    m = tmp_path / "m.csv"
    m.write_text(MEMBERS + "MRN-77,2024-01-05,kidney,CN,,,attestation\nOTHER-1,2024-01-05,liver,US,,,attestation\n")
    out = tmp_path / "o.jsonl"
    r = ow("claims", str(p), "--members", str(m), "-j", "TX", "--out", str(out))
    assert r.returncode == 0, r.stderr
    rec = json.loads(out.read_text().splitlines()[0])
    assert rec["outcome"] == "deny_statutory" and "POST_TRANSPLANT_CARE" in rec["reasons"]
    assert "1 of 2 members linked to claims, 1 unmatched" in r.stderr
    assert "MRN-77" not in r.stderr and "OTHER-1" not in r.stderr


def test_link_members_counts():
    from organwatch.claims.model import Claim, Member

    claims = [Claim("c1", "f", 1, "CSV", member_id="A"), Claim("c2", "f", 2, "CSV", member_id="Z")]
    counts = link_members(claims, {"A": Member("A"), "B": Member("B")})
    assert counts == {"members": 2, "members_linked": 1, "members_unmatched": 1, "claims_without_member_record": 1}


def test_messages_name_files_by_base_name(tmp_path):
    d = tmp_path / "Jane_Doe_private_folder"
    d.mkdir()
    p = d / "bad.837"
    p.write_text(build_837([{"claim_id": "B1", "member_id": SECRET, "lines": [{"code": "50360", "date": "2024-01-10"}]}])
                 .replace("LX*1~", f"LX*1~~{SECRET}~"))
    good = d / "good.837"
    good.write_text(build_837([{"claim_id": "G1", "member_id": SECRET, "lines": [{"code": "99213", "date": "2024-01-10"}]}]))
    r = ow("claims", str(p), str(good), "-j", "TX", "--out", str(tmp_path / "o.jsonl"))
    assert r.returncode == 0 and "bad.837" in r.stderr
    assert "Jane_Doe_private_folder" not in r.stderr and SECRET not in r.stderr
    r = ow("claims", str(p), str(good), "-j", "TX", "--out", str(tmp_path / "o.jsonl"), "--verbose")
    assert str(p) in r.stderr and SECRET not in r.stderr


def test_report_rejects_damaged_outcome_files_in_one_line(tmp_path):
    import pytest

    from organwatch.claims.report_section import _read_outcomes
    from organwatch.errors import InputError

    bad = tmp_path / "o.jsonl"
    bad.write_text('{"claim_id": "A", "line": 1, "jurisdiction": "US-TX", "outcome": "deny_statutory"}\n'
                   '{"claim_id": "B", "line": 1, "jurisdiction": "US-TX", "outcome": "maybe"}\n')
    with pytest.raises(InputError) as e:
        _read_outcomes(bad)
    assert "record 2" in str(e.value) and "outcome" in str(e.value) and "\n" not in str(e.value)
    bad.write_text('{"claim_id": "A", "line": 1, "jurisdiction": "US-TX", "outcome": "allow"}\n{not json\n')
    with pytest.raises(InputError) as e:
        _read_outcomes(bad)
    assert "line 2" in str(e.value)
    csv = tmp_path / "o.csv"
    csv.write_text("claim_id,line,jurisdiction,outcome\nA,x,US-TX,allow\n")
    with pytest.raises(InputError) as e:
        _read_outcomes(csv)
    assert "line" in str(e.value)
