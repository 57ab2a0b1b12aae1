"""Claims on every real FHIR and X12 sample of ../shared/data/formats, with claim and line counts counted by
hand (grep for CLM / LX / resourceType, and reading the files), and on edited copies for each defect of
issue 13: references across files, procedure/diagnosis references, claims without items, X12 integrity and
versions, non-837 sets, and the fast paths giving what the validating paths give."""

from __future__ import annotations

import json
import re
import shutil
from collections import Counter
from pathlib import Path

import pytest
from claims_synthea import bundles_to_ndjson

from organwatch.claims.engine import Engine
from organwatch.claims.model import Claim
from organwatch.claims.readers import read_all
from organwatch.claims.rules import load_rules
from organwatch.errors import RecordError

RULES = load_rules()


def read(paths: list[Path], fast: bool = False) -> tuple[list[Claim], list[RecordError], list[RecordError]]:
    claims, errors, notes = [], [], []
    for x in read_all(paths, fast):
        if isinstance(x, RecordError):
            (notes if x.note else errors).append(x)
        else:
            claims.append(x)
    return claims, errors, notes


def outcomes(claims: list[Claim], js=("TX",), members=None) -> list[dict]:
    return [o.to_record() for o in Engine(RULES).evaluate(claims, members or {}, list(js) if js else None)]


def shape(claims: list[Claim]) -> list:
    return [(c.claim_id, c.form, c.member_id, [(ln.line, ln.date, ln.procedures, ln.revenue, ln.diagnoses, ln.country,
                                                ln.country_field, ln.unresolved, ln.unresolved_codes)
                                               for ln in c.lines]) for c in claims]


def fix_x12_counts(text: str) -> str:
    """Recompute SE01, GE01 and IEA01 after editing a test copy (so that only the intended defect remains)."""
    segs = text.split("~")
    start = n_st = n_gs = 0

    def put(i: int, value: int) -> None:
        s = segs[i]
        parts = s.strip().split("*")
        parts[1] = str(value)
        segs[i] = s[: len(s) - len(s.lstrip())] + "*".join(parts)

    for i, s in enumerate(segs):
        sid = s.strip().split("*", 1)[0]
        if sid == "ISA":
            n_gs = 0
        elif sid == "GS":
            n_st, n_gs = 0, n_gs + 1
        elif sid == "ST":
            start, n_st = i, n_st + 1
        elif sid == "SE":
            put(i, i - start + 1)
        elif sid == "GE":
            put(i, n_st)
        elif sid == "IEA":
            put(i, n_gs)
    return "~".join(segs)


# -- real samples: counts by hand --------------------------------------------------------------------------------
X12_COUNTS = {  # folder: (files, claims, lines) -- CLM and LX segments counted with grep
    "x12": (18, 18, 47),
    "x12_837i": (3, 3, 5),
    "x12_4010": (4, 5, 14),
}


@pytest.mark.parametrize("folder", sorted(X12_COUNTS))
def test_x12_samples_counts_and_paths_agree(shared_formats, folder):
    files = sorted((shared_formats / folder).iterdir())
    n_files, n_claims, n_lines = X12_COUNTS[folder]
    assert len(files) == n_files
    claims, errors, _ = read(files)
    assert errors == []
    assert len(claims) == n_claims and sum(len(c.lines) for c in claims) == n_lines
    fast, ferrors, _ = read(files, fast=True)
    assert shape(fast) == shape(claims) and ferrors == []
    assert outcomes(fast, None) == outcomes(claims, None)


def test_x12_component_separator_mismatch_is_read_with_a_note(shared_formats):
    # ISA16 says ':' but HI / SV1 use '>' (5 LinuxForHealth demo files, 2 of the 837I files)
    f = shared_formats / "x12" / "837_005010X222A2__demo.example6.837"
    claims, errors, notes = read([f])
    assert len(claims) == 1 and errors == [] and "ISA16" in str(notes[0])
    assert claims[0].lines[0].procedures[0][0] == "98940" and claims[0].lines[0].diagnoses[0][0] == "7215"


def test_x12_4010_837i_service_facility_and_form(shared_formats):
    claims, _, _ = read([shared_formats / "x12_4010" / "lfh-x12__837_004010X096A1__institutional.837"])
    assert [c.form for c in claims] == ["837I"]
    assert [ln.revenue for ln in claims[0].lines] == [("305", "SV201"), ("730", "SV201")]
    p, _, _ = read([shared_formats / "x12_4010" / "pyx12__simple_837p.txt"])
    assert [c.form for c in p] == ["837P", "837P"]


def test_x12_837p_more_have_wrong_se_counts(shared_formats):
    # every imsweb file has SE01 = 25 whatever the length (checked by hand): a damaged interchange, nothing scored
    files = sorted((shared_formats / "x12_837p_more").iterdir())
    assert len(files) == 6
    claims, errors, _ = read(files)
    assert claims == [] and len(errors) == 6
    assert all("SE01 segment count is 25" in e.message and "nothing" in e.message for e in errors)


def test_x12_837p_more_with_counts_repaired(shared_formats, tmp_path):
    # the same files with SE01 corrected: 840 claims (820 + 2 + 3 + 2 + 1 + 12 CLM segments, by grep)
    files = []
    for f in sorted((shared_formats / "x12_837p_more").iterdir()):
        p = tmp_path / f.name
        p.write_text(fix_x12_counts(f.read_text()))
        files.append(p)
    claims, errors, _ = read(files)
    assert errors == [] and len(claims) == 840
    fast, _, _ = read(files, fast=True)
    assert shape(fast) == shape(claims)
    many = [c for c in claims if c.source == "imsweb-x12__x12_many_claims.txt"]
    assert len(many) == 820


def test_x12_non837_reported_as_such(shared_formats):
    files = sorted((shared_formats / "x12_non837").iterdir())
    assert len(files) == 8
    claims, errors, _ = read(files)
    assert claims == []
    kinds = Counter(re.search(r"\((\d{3})", e.message).group(1) for e in errors if "is not a claim" in e.message)
    assert kinds == {"835": 2, "834": 2, "276": 1, "277": 2, "999": 1}


def test_x12_broken_samples(shared_formats):
    files = {f.name: f for f in (shared_formats / "x12_broken").iterdir()}
    assert len(files) == 6
    claims, errors, _ = read(list(files.values()))
    assert claims == []
    by_file = {e.file: e.message for e in errors}
    assert "ISA segment is not the fixed-width" in by_file["imsweb-x12__x12_bad_first_line.txt"]
    assert "ISA" in by_file["imsweb-x12__x12_no_isa_line.txt"]
    assert len(by_file) == 6


FHIR_COUNTS = {  # folder: (files, claims, lines): Claim/EOB resources by grep, items by reading each file
    "fhir": (8, 7, 8),  # one EOB without item -> line 0; the Bundle holds no claim
    "bluebutton_r4": (11, 11, 13),
    "carin_bb": (1, 1, 1),  # header-level EOB: line 0
    "synthea_fhir": (12, 490, 1250),  # 245 Claim + 245 ExplanationOfBenefit
}


@pytest.mark.parametrize("folder", sorted(FHIR_COUNTS))
def test_fhir_samples_counts_and_paths_agree(shared_formats, folder):
    files = sorted((shared_formats / folder).iterdir())
    n_files, n_claims, n_lines = FHIR_COUNTS[folder]
    assert len(files) == n_files
    claims, errors, notes = read(files)
    assert errors == []
    assert len(claims) == n_claims and sum(len(c.lines) for c in claims) == n_lines
    fast, ferrors, fnotes = read(files, fast=True)
    assert shape(fast) == shape(claims) and ferrors == []
    assert outcomes(fast, None) == outcomes(claims, None)
    assert all(n.message.startswith("R4 schema") or "FHIR date" in n.message for n in notes)


def test_bluebutton_state_without_country_is_us(shared_formats):
    claims, _, _ = read([shared_formats / "bluebutton_r4" / "bfd__eobReadOutpatient.json"])
    ln = claims[0].lines[0]  # item.locationAddress = {"state": "KY"}, no country
    assert ln.country == "US" and ln.country_field.endswith("locationAddress.state") and ln.country_raw == "KY"


def test_synthea_conditional_references_resolve_only_with_hospital_file(shared_formats):
    d = shared_formats / "synthea_fhir"
    everything = sorted(d.iterdir())
    claims, _, _ = read(everything)
    lines = [ln for c in claims for ln in c.lines]
    assert sum(ln.country_source == "claim_facility" for ln in lines) == 1116
    no_hosp = [p for p in everything if "Information" not in p.name]
    claims, _, _ = read(no_hosp)
    lines = [ln for c in claims for ln in c.lines]
    missing = [ln for ln in lines if ln.country == "UNKNOWN"]
    assert len(missing) == 1116 and all("Location?identifier=" in ln.unresolved[0] for ln in missing)


def test_synthea_ndjson_gives_the_bundles_claims(shared_formats, tmp_path):
    counts = bundles_to_ndjson(shared_formats / "synthea_fhir", tmp_path)
    assert counts["Claim"] == 245 and counts["ExplanationOfBenefit"] == 245
    nd, errors, _ = read(sorted(tmp_path.iterdir()), fast=True)
    assert errors == [] and len(nd) == 490 and sum(len(c.lines) for c in nd) == 1250
    bundles, _, _ = read(sorted((shared_formats / "synthea_fhir").iterdir()), fast=True)
    key = lambda c: (c.form, c.claim_id)  # noqa: E731
    assert [(ln.country, ln.procedures, ln.diagnoses) for c in sorted(nd, key=key) for ln in c.lines] == \
        [(ln.country, ln.procedures, ln.diagnoses) for c in sorted(bundles, key=key) for ln in c.lines]


# -- edited copies: one defect each --------------------------------------------------------------------------------
def _synthea_transplant(tmp_path: Path, shared: Path, *, with_location: bool = True, dx_ref: bool = False) -> Path:
    """Synthea NDJSON where one Claim references a kidney transplant Procedure (ICD-10-PCS 0TY00Z0) and its
    facility Location sits in Beijing; dates moved into 2024."""
    out = tmp_path / "nd"
    bundles_to_ndjson(shared / "synthea_fhir", out)
    claims = [json.loads(x) for x in (out / "Claim.ndjson").read_text().splitlines()]
    c = claims[0]
    c["billablePeriod"] = {"start": "2024-03-01T10:00:00+00:00", "end": "2024-03-01T12:00:00+00:00"}
    for it in c.get("item", []):
        it.pop("servicedPeriod", None)
        it["servicedDate"] = "2024-03-01"
    c["procedure"] = [{"sequence": 1, "procedureReference": {"reference": "urn:uuid:11111111-2222-3333-4444-555555555555"}}]
    if dx_ref:
        c["diagnosis"] = [{"sequence": 1, "diagnosisReference": {"reference": "Condition/z940"}}]
    (out / "Claim.ndjson").write_text("\n".join(json.dumps(x) for x in claims) + "\n")
    proc = {"resourceType": "Procedure", "id": "11111111-2222-3333-4444-555555555555", "status": "completed",
            "code": {"coding": [{"system": "http://www.cms.gov/Medicare/Coding/ICD10", "code": "0TY00Z0"}]},
            "subject": {"reference": c["patient"]["reference"]}}
    with open(out / "Procedure.ndjson", "a") as fh:
        fh.write(json.dumps(proc) + "\n")
    cond = {"resourceType": "Condition", "id": "z940", "code": {"coding": [{"code": "Z94.0"}]},
            "subject": {"reference": c["patient"]["reference"]}}
    with open(out / "Condition.ndjson", "a") as fh:
        fh.write(json.dumps(cond) + "\n")
    ref = c["facility"]["reference"]  # Location?identifier=https://github.com/synthetichealth/synthea|<id>
    ident = ref.split("|", 1)[1]
    locs = [json.loads(x) for x in (out / "Location.ndjson").read_text().splitlines()]
    for loc in locs:
        if any(i.get("value") == ident for i in loc.get("identifier", [])):
            loc["address"] = {"city": "Beijing", "country": "CN"}
    if with_location:
        (out / "Location.ndjson").write_text("\n".join(json.dumps(x) for x in locs) + "\n")
    else:
        (out / "Location.ndjson").unlink()
    return out


def test_procedure_reference_and_conditional_facility_give_deny(shared_formats, tmp_path):
    out = _synthea_transplant(tmp_path, shared_formats)
    for fast in (True, False):
        claims, errors, _ = read(sorted(out.iterdir()), fast=fast)
        target = [c for c in claims if c.source == "Claim.ndjson"][0]
        recs = outcomes([target])
        assert {r["outcome"] for r in recs} == {"deny_statutory"}, recs[0]["explanation"]
        assert any(k.endswith("procedureReference->Procedure.code") for k in recs[0]["fields"])
        assert "Claim.facility->Location.address.country" in recs[0]["fields"]


def test_unresolved_facility_reference_goes_to_review_naming_it(shared_formats, tmp_path):
    out = _synthea_transplant(tmp_path, shared_formats, with_location=False)
    claims, _, _ = read(sorted(out.iterdir()), fast=True)
    target = [c for c in claims if c.source == "Claim.ndjson"][0]
    recs = outcomes([target])
    assert {r["outcome"] for r in recs} == {"review_required"}
    assert "REFERENCE_UNRESOLVED" in recs[0]["reasons"] and "Location?identifier=" in recs[0]["explanation"]


def test_diagnosis_reference_feeds_post_transplant_signal(shared_formats, tmp_path):
    out = _synthea_transplant(tmp_path, shared_formats, dx_ref=True)
    claims, _, _ = read(sorted(out.iterdir()), fast=True)
    target = [c for c in claims if c.source == "Claim.ndjson"][0]
    assert any(code == "Z94.0" for ln in target.lines for code, _f, _p in ln.diagnoses)


def test_unresolved_procedure_reference_is_review_not_silence(tmp_path):
    c = {"resourceType": "Claim", "id": "R1", "patient": {"reference": "Patient/p"},
         "billablePeriod": {"start": "2024-05-01"},
         "procedure": [{"sequence": 1, "procedureReference": {"reference": "Procedure/missing"}}],
         "item": [{"sequence": 1, "productOrService": {"coding": [{"code": "99213"}]}}]}
    p = tmp_path / "c.json"
    p.write_text(json.dumps(c))
    claims, _, _ = read([p])
    rec = outcomes(claims)[0]
    assert rec["outcome"] == "review_required" and rec["reasons"] == ["REFERENCE_UNRESOLVED"]
    assert "Procedure/missing" in rec["explanation"]


def test_claim_without_items_gets_line_zero(shared_formats, tmp_path):
    eob = json.loads((shared_formats / "carin_bb" / "carin-bb__ExplanationOfBenefit-EOBProfessional1.json").read_text())
    eob["billablePeriod"] = {"start": "2024-01-10"}
    eob["procedure"] = [{"sequence": 1, "procedureCodeableConcept": {"coding": [{"code": "0TY00Z0"}]}}]
    eob["contained"] = [{"resourceType": "Organization", "id": "prov", "address": [{"country": "CHN"}]}]
    eob["provider"] = {"reference": "#prov"}
    p = tmp_path / "eob.json"
    p.write_text(json.dumps(eob))
    claims, errors, _ = read([p])
    assert errors == [] and [ln.line for ln in claims[0].lines] == [0]
    rec = outcomes(claims)[0]
    assert rec["line"] == 0 and rec["outcome"] == "deny_statutory"


def test_malformed_item_does_not_reject_the_claim(tmp_path):
    c = {"resourceType": "Claim", "id": "M1", "billablePeriod": {"start": "2024-05-01"},
         "item": [{"sequence": 1, "productOrService": "not-an-object"},
                  {"sequence": 2, "productOrService": {"coding": [{"code": "50360"}]},
                   "locationAddress": {"country": "CN"}, "servicedDate": "IGNORED_FIELD"}]}
    p = tmp_path / "m.json"
    p.write_text(json.dumps(c))
    for fast in (True, False):
        claims, errors, notes = read([p], fast=fast)
        assert [ln.line for ln in claims[0].lines] == [2]
        assert len(errors) == 1 and "Claim.item[0].productOrService" in str(errors[0])
        assert any("servicedDate" in str(n) for n in notes)
        assert outcomes(claims)[0]["outcome"] == "deny_statutory"  # date from billablePeriod


def _x12_transplant(shared: Path) -> str:
    """The 4010 837I sample with a kidney transplant CPT on line 1, dates in 2024 and a Beijing facility."""
    t = (shared / "x12_4010" / "lfh-x12__837_004010X096A1__institutional.837").read_text()
    t = t.replace("HC:85025", "HC:50360").replace("19960911", "20240911")
    t = t.replace("NM1*71*1*JONES", "NM1*FA*2*BEIJING HOSPITAL*****XX*1~N3*1 ROAD~N4*BEIJING**100000*CN~"
                                     "NM1*71*1*JONES")
    return fix_x12_counts(t)


def test_x12_4010_837i_transplant_in_china_is_denied(shared_formats, tmp_path):
    p = tmp_path / "t.837"
    p.write_text(_x12_transplant(shared_formats))
    for fast in (False, True):
        claims, errors, _ = read([p], fast=fast)
        assert errors == [] and claims[0].form == "837I"
        recs = outcomes(claims)
        assert recs[0]["outcome"] == "deny_statutory" and recs[0]["fields"]["2310E/N404"] == "CN"


@pytest.mark.parametrize("edit,expect", [
    (lambda t: t[: t.index("LX*2")], "file ends inside an open envelope"),  # cut before a line
    (lambda t: t.replace("SE*47*", "SE*46*"), "SE01 segment count"),
    (lambda t: t.replace("LX*2~", "LX*2~~"), "empty segment"),
    (lambda t: t.replace("N3*1 ROAD", "N3*" + "A" * 5000), "longer than"),
])
def test_x12_damage_is_a_file_error_and_nothing_is_scored(shared_formats, tmp_path, edit, expect):
    t = _x12_transplant(shared_formats)
    assert "SE*47*" in t  # 44 segments + the 3 of the added facility loop
    p = tmp_path / "d.837"
    p.write_text(edit(t))
    for fast in (False, True):
        claims, errors, _ = read([p], fast=fast)
        assert claims == [], expect
        assert len(errors) == 1 and expect in errors[0].message and errors[0].field.startswith("segment ")


@pytest.mark.parametrize("edit,expect", [
    (lambda t: t.replace("GE*1*1", "GE*2*1"), "GE01"),
    (lambda t: t.replace("IEA*1*000000907", "IEA*1*000000906"), "IEA02"),
])
def test_x12_envelope_damage_after_the_transaction_set(shared_formats, tmp_path, edit, expect):
    p = tmp_path / "d.837"
    p.write_text(edit(_x12_transplant(shared_formats)))
    for fast in (False, True):
        claims, errors, _ = read([p], fast=fast)
        assert len(claims) == 1 and len(errors) == 1 and expect in errors[0].message
        assert "1 complete transaction set(s) before it were read" in errors[0].message


def test_x12_damage_after_a_complete_transaction_keeps_what_came_before(shared_formats, tmp_path):
    t = _x12_transplant(shared_formats)
    head, _, tail = t.partition("ST*837*")
    st = "ST*837*" + tail[: tail.index("GE*")]
    two = head + st + st.replace("ST*837*987654", "ST*837*987655").replace("SE*47*987654", "SE*47*987655")
    two += "GE*2*1~\nIEA*1*000000907~\n"
    p = tmp_path / "two.837"
    p.write_text(two)
    claims, errors, _ = read([p])
    assert len(claims) == 2 and errors == []
    cut = two[: two.rindex("LX*2")]
    p.write_text(cut)
    for fast in (False, True):
        claims, errors, _ = read([p], fast=fast)
        assert len(claims) == 1 and len(errors) == 1 and "1 complete transaction set" in errors[0].message


def test_x12_unsupported_837_guide_refused_in_one_line(shared_formats, tmp_path):
    t = (shared_formats / "x12" / "837_005010X222A2__demo.example1.837").read_text()
    p = tmp_path / "d.837"
    p.write_text(t.replace("005010X222A2", "005010X224A2"))  # 837 dental
    claims, errors, _ = read([p])
    assert claims == [] and len(errors) == 1 and "005010X224A2" in errors[0].message


def test_fhir_paths_identical_on_edited_copies(shared_formats, tmp_path):
    out = _synthea_transplant(tmp_path, shared_formats)
    files = sorted(out.iterdir())
    a, _, _ = read(files)
    b, _, _ = read(files, fast=True)
    assert shape(a) == shape(b)


def test_synthea_copy_cleanup(tmp_path):
    shutil.rmtree(tmp_path, ignore_errors=True)


def test_index_keeps_facts_not_resources_and_skips_unneeded_lines(tmp_path, monkeypatch):
    from organwatch.claims.readers import fhir_index

    p = tmp_path / "Observation.ndjson"
    lines = [json.dumps({"resourceType": "Observation", "id": f"o{i}", "status": "final"}, separators=(",", ":"))
             for i in range(2000)]
    lines.append(json.dumps({"resourceType": "Location", "id": "L1", "address": {"country": "CN"}},
                            separators=(",", ":")))
    p.write_text("\n".join(lines) + "\n")
    parsed = []
    real = fhir_index.loads
    monkeypatch.setattr(fhir_index, "loads", lambda t: parsed.append(1) or real(t))
    index = fhir_index.ResourceIndex()
    fhir_index.index_file(p, index)
    assert len(parsed) <= 2  # the first-line probe and the Location; 2,000 Observations skipped unparsed
    facts, why = index.resolve("Location/L1")
    assert why == "" and facts.country == "CN" and isinstance(facts, fhir_index.Facts)
    assert all(isinstance(v, fhir_index.Facts) for v in index.by_key.values())


def test_x12_4010_additional_name_before_address_is_in_order(shared_formats, tmp_path):
    t = (shared_formats / "x12_4010" / "pyx12__simple_837p.txt").read_text()
    i = t.index("NM1*85")
    j = t.index("~", i) + 1
    p = tmp_path / "n2.837"
    p.write_text(fix_x12_counts(t[:j] + "N2*BILLING DEPARTMENT~" + t[j:]))
    claims, errors, _ = read([p], fast=True)
    assert errors == [] and len(claims) == 2
