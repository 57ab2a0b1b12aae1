"""Readers on the real sample files (../shared/data/formats) and on malformed / hostile input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from test_claims_formats import fix_x12_counts
from test_claims_x12build import build_837

from organwatch.claims.countries import normalise
from organwatch.claims.engine import Engine
from organwatch.claims.model import Claim
from organwatch.claims.readers import read_claims
from organwatch.claims.rules import load_rules
from organwatch.errors import RecordError

SECRET = "PHI-SECRET-4711"


def test_x12_samples_read_or_fail_per_claim(shared_formats):
    files = sorted((shared_formats / "x12").glob("*.837"))
    assert len(files) == 18
    ok, bad = [], []
    for f in files:
        for c in read_claims(f):
            (bad if isinstance(c, RecordError) else ok).append(c)
    # 13 files are well-formed; 5 declare ':' as component separator (ISA16) but use '>' in HI and SV1: read
    # with the separator the composites use, and a note says so
    assert len(ok) == 18 and len(bad) == 5
    for e in bad:
        assert e.note and "ISA16" in str(e)
    ex1 = next(c for c in ok if c.claim_id == "26463774")
    assert [ln.procedures[0][0] for ln in ex1.lines] == ["99213", "87070", "99214", "86663"]
    assert ex1.lines[0].country == "US" and ex1.lines[0].country_field == "2010AA/N402"
    assert str(ex1.lines[2].date) == "2006-10-10"


def test_fhir_samples_model_and_fast_path_agree(shared_formats):
    rules = load_rules()
    files = sorted((shared_formats / "fhir").glob("*.json"))
    assert len(files) == 8
    n = 0
    for f in files:
        model = list(read_claims(f))
        fast = list(read_claims(f, fast=True))
        assert model == fast, f.name
        claims = [c for c in model if isinstance(c, Claim)]
        n += sum(len(c.lines) for c in claims)
        a = [o.to_record() for o in Engine(rules).evaluate(claims)]
        b = [o.to_record() for o in Engine(rules).evaluate([c for c in fast if isinstance(c, Claim)])]
        assert a == b
    assert n == 8  # 6 Claim/EOB files with 7 items, one EOB without items (line 0); the Bundle holds no claims
    inst = next(read_claims(shared_formats / "fhir" / "claim-example-institutional.json"))
    assert ("SDI9901", "Claim.procedure[0]") in inst.lines[0].procedures  # claim-level procedure on every line


def _claim_json(**over):
    c = {"resourceType": "Claim", "id": "X1", "status": "active",
         "type": {"coding": [{"code": "professional"}]}, "use": "claim", "patient": {"reference": f"Patient/{SECRET}"},
         "created": "2024-01-10", "provider": {"reference": "#org"}, "priority": {"coding": [{"code": "normal"}]},
         "insurance": [{"sequence": 1, "focal": True, "coverage": {"reference": "Coverage/1"}}],
         "contained": [{"resourceType": "Organization", "id": "org", "address": [{"country": "CHN"}]},
                       {"resourceType": "Location", "id": "loc", "address": {"country": "TW"}}],
         "item": [{"sequence": 1, "productOrService": {"coding": [{"code": "50360"}]}, "servicedDate": "2024-01-10"}]}
    c.update(over)
    return c


def test_fhir_reference_resolution_order(tmp_path):
    p = tmp_path / "c.json"
    p.write_text(json.dumps(_claim_json()))
    ln = next(read_claims(p)).lines[0]
    assert (ln.country, ln.country_field) == ("CN", "Claim.provider->Organization.address.country")
    p.write_text(json.dumps(_claim_json(facility={"reference": "#loc"})))
    ln = next(read_claims(p)).lines[0]
    assert (ln.country, ln.country_source) == ("TW", "claim_facility")
    c = _claim_json()
    c["item"][0]["locationReference"] = {"reference": "#loc"}
    p.write_text(json.dumps(c))
    for fast in (False, True):
        ln = next(read_claims(p, fast=fast)).lines[0]
        assert ln.country_field == "Claim.item[0].locationReference->Location.address.country"


def test_fhir_bundle_bad_entry_isolated(tmp_path):
    good = _claim_json(id="G1")
    bad = _claim_json(id="B1")
    bad["item"][0]["sequence"] = "one"
    eob = {"resourceType": "ExplanationOfBenefit", "id": "E1"}  # misses required elements
    bundle = {"resourceType": "Bundle", "type": "collection",
              "entry": [{"resource": good}, {"resource": bad}, {"resource": {"resourceType": "Patient", "id": "p"}},
                        {"resource": eob}]}
    p = tmp_path / "b.json"
    p.write_text(json.dumps(bundle))
    out = list(read_claims(p))
    claims = [x for x in out if isinstance(x, Claim)]
    notes = [x for x in out if isinstance(x, RecordError)]
    assert [c.claim_id for c in claims] == ["G1", "B1", "E1"]  # schema problems are notes: nothing is rejected
    assert all(n.note for n in notes)
    assert any("Bundle.entry[1].resource" in str(n) and "Claim.item[0].sequence" in str(n) for n in notes)
    assert any("ExplanationOfBenefit" in str(n) and "required element missing" in str(n) for n in notes)
    for e in notes:
        assert SECRET not in str(e) and "one" not in str(e).split(":")[-1]
    fast = [x for x in read_claims(p, fast=True) if isinstance(x, Claim)]
    assert fast == claims and claims[0].member_id == SECRET  # 'Patient/<id>' -> '<id>' links to the members file


@pytest.mark.parametrize("text,where", [
    ('{"resourceType": "Claim", "item": ', "line 1"),
    ("[" * 100000 + "]" * 100000, "file"),
    ('{"resourceType": "Claim", "id": "x", "item": {"sequence": 1}}', "Claim.item"),
    ('{"resourceType": "Claim", "id": "x", "billablePeriod": {"start": "2024-13-45"}}', "Claim.billablePeriod.start"),
])
def test_fhir_malformed(tmp_path, text, where):
    p = tmp_path / "m.json"
    p.write_text(text)
    for fast in (False, True):
        out = list(read_claims(p, fast=fast))
        problems = [x for x in out if isinstance(x, RecordError) and (not x.note or "FHIR date" in x.message)]
        assert len(problems) == 1, out
        assert where in str(problems[0])


def test_fhir_ndjson(tmp_path):
    p = tmp_path / "claims.ndjson"
    p.write_text("\n".join(json.dumps(_claim_json(id=f"N{i}")) for i in range(3)) + "\n{broken\n")
    out = list(read_claims(p))
    assert [getattr(x, "claim_id", None) for x in out[:3]] == ["N0", "N1", "N2"]
    assert isinstance(out[3], RecordError) and "line 4" in str(out[3])


def test_x12_malformed_claim_isolated_and_no_phi(tmp_path):
    text = build_837([
        {"claim_id": "GOOD1", "member_id": SECRET, "facility": {"country": "CN"}, "lines": [{"code": "50360", "date": "2024-01-10"}]},
        {"claim_id": "BAD2", "member_id": SECRET, "facility": {"country": "CN"}, "lines": [{"code": "50360", "date": "2024-01-10"}]},
        {"claim_id": "GOOD3", "member_id": SECRET, "lines": [{"code": "99213", "date": "2024-01-10"}]},
    ])
    # corrupt the second claim: a segment the 837P map cannot place, and a bad date
    parts = text.split("CLM*BAD2")
    tail = parts[1].replace("LX*1~", f"ZZZ*{SECRET}~\nLX*1~", 1).replace("DTP*472*D8*20240110", "DTP*472*D8*2024XX10", 1)
    p = tmp_path / "m.837"
    p.write_text(fix_x12_counts(parts[0] + "CLM*BAD2" + tail))
    for fast in (False, True):
        out = list(read_claims(p, fast=fast))
        assert [getattr(x, "claim_id", "ERR") for x in out] == ["GOOD1", "ERR", "GOOD3"]
        msg = str(out[1])
        assert "record 2" in msg and "segment ZZZ" in msg and SECRET not in msg


def test_x12_garbage_file(tmp_path):
    p = tmp_path / "g.837"
    p.write_text("ISA*garbage~~~")
    out = list(read_claims(p))
    assert len(out) == 1 and isinstance(out[0], RecordError)


def test_x12_unknown_guide_reported(tmp_path):
    p = tmp_path / "u.837"
    p.write_text(build_837([{"claim_id": "U", "lines": [{"code": "50360", "date": "2024-01-10"}]}],
                           version="005010X999A1"))
    out = list(read_claims(p))
    assert isinstance(out[0], RecordError) and "implementation guide '005010X999A1'" in str(out[0])


def test_csv_claims_and_bad_rows(tmp_path):
    p = tmp_path / "c.csv"
    p.write_text("claim_id,line,date_of_service,procedure_codes,diagnosis_codes,service_country,member_id\n"
                 f"K1,1,2024-01-10,50360,N18.6,China,{SECRET}\n"
                 f"K1,2,2024-01-11,99213,Z94.0,,{SECRET}\n"
                 f"K2,1,10/01/2024,50360,,CN,{SECRET}\n"
                 "K3,1,2024-01-10,0TY00Z0,,US,\n")
    out = list(read_claims(p))
    assert [getattr(x, "claim_id", "ERR") for x in out] == ["K1", "ERR", "K3"]
    assert "line 4" in str(out[1]) and "date_of_service" in str(out[1]) and SECRET not in str(out[1])
    assert out[0].lines[0].country == "CN" and out[0].lines[1].diagnoses[0] == ("Z94.0", "csv:diagnosis_codes", True)


@pytest.mark.parametrize("raw,iso", [("CN", "CN"), ("chn", "CN"), ("PRC", "CN"), ("People's Republic of China", "CN"),
                                     ("HKG", "HK"), ("Hong Kong", "HK"), ("MAC", "MO"), ("Macao", "MO"),
                                     ("TW", "TW"), ("fr", "FR"), ("XX", "UNKNOWN"), ("Asia", "UNKNOWN"),
                                     ("", "UNKNOWN"), (None, "UNKNOWN")])
def test_country_normalisation(raw, iso):
    assert normalise(raw) == iso


def test_fixture_fhir_fast_equals_model():
    d = Path(__file__).resolve().parent / "data" / "claims"
    for f in (d / "bundle-hk.json",):
        model, fast = list(read_claims(f)), list(read_claims(f, fast=True))
        assert model == fast and len(model) == 1 and model[0].lines[0].country == "HK"
        assert model[0].lines[0].country_field == "Claim.facility->Location.address.country"


def test_x12_map_cache_gives_identical_claims(shared_formats, tmp_path):
    """Parsed pyx12 maps are reused across files; reading in any order gives the same claims."""
    files = sorted((shared_formats / "x12").glob("*.837"))[:6]
    first = [list(read_claims(f)) for f in files]
    again = [list(read_claims(f)) for f in reversed(files)][::-1]
    assert first == again
    import pyx12.params
    import pyx12.x12context

    # another pyx12 user with its own parameters still gets a fresh map from pyx12
    m1 = pyx12.x12context.map_if.load_map_file("837.5010.X222.A1.xml", pyx12.params.params())
    m2 = pyx12.x12context.map_if.load_map_file("837.5010.X222.A1.xml", pyx12.params.params())
    assert m1 is not m2


def test_pyx12_validation_still_reported_to_real_error_handlers(tmp_path):
    """organwatch skips element validation only for pyx12's null handler; a real handler still gets the errors."""
    import io

    import pyx12.error_handler
    import pyx12.params
    import pyx12.x12context

    p = tmp_path / "ok.837"
    p.write_text(build_837([{"claim_id": "V", "lines": [{"code": "50360", "date": "2024-01-10"}]}]))
    list(read_claims(p))  # installs organwatch's pyx12 set-up
    bad = p.read_text().replace("N4*TESTCITY*TX*752010001~", "N4*TESTCITY*TX*75~")
    errh = pyx12.error_handler.err_handler()
    reader = pyx12.x12context.X12ContextReader(pyx12.params.params(), errh, io.StringIO(bad))
    for _ in reader.iter_segments():
        pass
    assert errh.get_error_count() > 0


def test_csv_jurisdiction_and_plan_type_columns(tmp_path):
    p = tmp_path / "c.csv"
    p.write_text("claim_id,line,date_of_service,procedure_codes,service_country,jurisdiction,plan_type\n"
                 "A,1,2024-09-01,50360,CN,id,chip\n"
                 "B,1,2024-09-01,50360,CN,TX,platinum\n")
    out = list(read_claims(p))
    assert out[0].jurisdiction == "US-ID" and out[0].plan_type == "chip"
    assert isinstance(out[1], RecordError) and "plan_type" in str(out[1])
    o = list(Engine(load_rules()).evaluate([out[0]]))
    assert [(x.jurisdiction, x.outcome) for x in o] == [("US-ID", "deny_statutory")]
