"""organwatch laws / organwatch claims end to end, output formats, worklist, and the report section."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from test_claims_formats import fix_x12_counts
from test_claims_x12build import build_837

from organwatch.claims.registry import query_laws
from organwatch.claims.report_section import accepts, build_section, rule_consistency
from organwatch.report.sections import ReportContext

SECRET = "PHI-SECRET-0815"
ROOT = Path(__file__).resolve().parents[1]


def ow(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "ORGANWATCH_DEBUG"}
    return subprocess.run([sys.executable, "-m", "organwatch", *args], capture_output=True, text=True, cwd=cwd,
                          env=env, timeout=120)


@pytest.fixture()
def batch(tmp_path: Path) -> dict[str, Path]:
    x12 = tmp_path / "claims.837"
    x12.write_text(build_837([
        {"claim_id": "TX1", "member_id": SECRET, "facility": {"country": "CN"}, "lines": [{"code": "50360", "date": "2024-01-10"}]},
        {"claim_id": "TX2", "member_id": "M-2", "dx": [("ABK", "T8611")], "facility": {"state": "TX"},
         "lines": [{"code": "99213", "date": "2024-05-01"}]},
        {"claim_id": "TX3", "member_id": "M-3", "facility": {"state": "TX"}, "lines": [{"code": "99213", "date": "2024-05-01"}]},
    ]))
    bad = tmp_path / "bad.837"
    bad.write_text(fix_x12_counts(build_837([{"claim_id": "B1", "member_id": SECRET,
                                               "lines": [{"code": "50360", "date": "2024-01-10"}]}])
                                  .replace("LX*1~", f"QQQ*{SECRET}~\nLX*1~")))
    members = tmp_path / "members.csv"
    members.write_text("member_id,index_transplant_date,organ,performed_country,organ_origin_country,foh_attestation,"
                       "evidence_source\nM-2,2023-12-01,kidney,,,,other\n")
    return {"x12": x12, "bad": bad, "members": members}


def test_claims_cli_end_to_end(tmp_path, batch):
    out = tmp_path / "o.jsonl"
    wl = tmp_path / "wl.csv"
    errs = tmp_path / "errors.jsonl"
    r = ow("claims", str(batch["x12"]), str(batch["bad"]), "-j", "TX", "--members", str(batch["members"]),
           "--out", str(out), "--worklist", str(wl), "--errors", str(errs))
    assert r.returncode == 0, r.stderr
    assert SECRET not in r.stderr and SECRET not in errs.read_text()
    assert "1 unreadable" in r.stderr and "segment QQQ" in r.stderr
    recs = [json.loads(x) for x in out.read_text().splitlines()]
    by = {r["claim_id"]: r for r in recs}
    assert by["TX1"]["outcome"] == "deny_statutory" and by["TX1"]["statute"] == "us-tx-sb1040-2023"
    assert by["TX2"]["outcome"] == "review_required" and "ORIGIN_UNKNOWN" in by["TX2"]["reasons"]
    assert by["TX3"]["outcome"] == "not_transplant_related"
    for rec in recs:
        assert {"claim_id", "line", "jurisdiction", "outcome", "reasons", "statute", "fields"} <= set(rec)
        assert SECRET not in json.dumps(rec)
    prov = json.loads(Path(str(out) + ".provenance.json").read_text())
    assert prov["counts"] == {"files": 2, "claims": 3, "lines": 3, "records": 3, "errors": 1, "notes": 0,
                              "members": 1, "members_linked": 1, "members_unmatched": 0,
                              "claims_without_member_record": 2}
    assert all(len(i["sha256"]) == 64 for i in prov["inputs"])
    assert prov["parameters"]["engine"]["pre_effective_index"] == "review"
    worklist = wl.read_text()
    assert "M-2" in worklist and "INDEX_COUNTRY_UNKNOWN" in worklist and "M-3" not in worklist


def test_claims_cli_csv_and_parquet_are_byte_stable(tmp_path, batch):
    a, b, pq_out = tmp_path / "a.csv", tmp_path / "b.csv", tmp_path / "o.parquet"
    for dest in (a, b, pq_out):
        r = ow("claims", str(batch["x12"]), "-j", "US-TX", "--out", str(dest))
        assert r.returncode == 0, r.stderr
    assert a.read_bytes() == b.read_bytes()
    header = a.read_text().splitlines()[0].split(",")
    assert header[:4] == ["claim_id", "line", "jurisdiction", "outcome"]
    t = pq.read_table(pq_out).to_pylist()
    assert t[0]["reasons"] == ["PERFORMED_IN_DESIGNATED_COUNTRY"]  # native list in Parquet


@pytest.mark.parametrize("args,needle", [
    (["-j", "CA"], "--jurisdiction 'CA'"),
    (["--plan-type", "gold"], "--plan-type"),
    (["--as-of", "yesterday"], "--as-of"),
])
def test_claims_cli_bad_options(batch, args, needle):
    r = ow("claims", str(batch["x12"]), *args)
    assert r.returncode == 2 and needle in r.stderr and "Traceback" not in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1


def test_claims_cli_bad_members_file_no_phi(tmp_path, batch):
    m = tmp_path / "m.csv"
    m.write_text("member_id,index_transplant_date,organ,performed_country\n"
                 f"{SECRET},2024-02-30,kidney,CN\n")
    r = ow("claims", str(batch["x12"]), "--members", str(m))
    assert r.returncode == 2 and "row 1" in r.stderr and "index_transplant_date" in r.stderr
    assert SECRET not in r.stderr and len(r.stderr.strip().splitlines()) == 1


def test_claims_cli_missing_input(tmp_path):
    r = ow("claims", str(tmp_path / "nope.837"))
    assert r.returncode == 2 and "nope.837" in r.stderr and "Traceback" not in r.stderr


def test_claims_cli_help_has_example():
    for cmd in ("claims", "laws"):
        r = ow(cmd, "--help")
        assert r.returncode == 0 and "Example:" in r.stdout


def test_laws_queries():
    rows, _ = query_laws(["TX"], ["insurance_ban"], ["enacted"])
    assert [r["id"] for r in rows] == ["us-tx-sb1040-2023"]
    rows, _ = query_laws(["GB"], ["reporting"])
    assert "uk-si-2024-262" in [r["id"] for r in rows]
    rows, _ = query_laws(["US-TN"], as_of=__import__("datetime").date(2025, 12, 31))
    tn = next(r for r in rows if r["id"] == "us-tn-sb318-2025")
    assert tn["in_effect"] is False and tn["effective"] == "2026-01-01"
    rows, undated = query_laws(as_of=__import__("datetime").date(2010, 1, 1))
    assert {r["id"] for r in rows} >= {"il-organ-transplant-law-2008"}
    assert all(r["status_date"] is None or r["status_date"][:4] <= "2010" for r in rows)
    rows, _ = query_laws(["US"], ["insurance_ban"], ["enacted"])
    assert {r["jurisdiction"] for r in rows} == {"US-TX", "US-UT", "US-ID", "US-TN", "US-AZ"}


def test_laws_cli_outputs(tmp_path):
    r = ow("laws", "--provision", "sanctions", "--json")
    assert r.returncode == 0
    rows = [json.loads(ln) for ln in r.stdout.splitlines()]
    assert rows and all("sanctions" in x["provisions_types"] for x in rows) and all(x["source_urls"] for x in rows)
    out = tmp_path / "laws.csv"
    r = ow("laws", "-j", "TX", "--out", str(out))
    assert r.returncode == 0 and "us-tx-sb1040-2023" in out.read_text()
    r = ow("laws", "--provision", "bogus")
    assert r.returncode == 2


def test_rules_agree_with_registry():
    rows, problems = rule_consistency()
    assert problems == [] and {r["jurisdiction"] for r in rows} == {"US-TX", "US-UT", "US-ID", "US-TN", "US-AZ"}


def test_report_section_default_and_with_outcomes(tmp_path, batch):
    s = build_section(ReportContext(), [])
    assert s.order == 50 and len(s.items) == 2
    reg = s.items[0]
    assert "us-tx-sb1040-2023" in str(reg.table_html) and "uk-si-2024-262" in str(reg.table_html)
    assert reg.finding.statistics["instruments"] == 54  # 42 compiled + 12 added (counted in laws_additions.csv)
    assert [i.finding.kind.value for i in s.items] == ["descriptive", "descriptive"]  # a registry is not a test
    out = tmp_path / "o.jsonl"
    assert ow("claims", str(batch["x12"]), "-j", "TX", "--out", str(out)).returncode == 0
    assert accepts(out) and not accepts(batch["x12"]) and not accepts(batch["members"])
    s = build_section(ReportContext(), [out])
    f = s.items[2].finding
    assert f.statistics["deny_statutory"] == 1 and f.statistics["records"] == 3
    assert f.verdict is None and any(i.name.endswith("claims.837") for i in f.provenance.inputs)
    assert "TX1" not in json.dumps(f.to_dict()) and SECRET not in json.dumps(f.to_dict())  # no claim/member ids
    csv_out = tmp_path / "o.csv"
    assert ow("claims", str(batch["x12"]), "-j", "TX", "--out", str(csv_out)).returncode == 0
    assert accepts(csv_out) and build_section(ReportContext(), [csv_out]).items[2].finding.statistics["records"] == 3


def test_claims_cli_isolates_unreadable_files(tmp_path, batch):
    junk = tmp_path / "notes.txt"
    junk.write_text("just some text without commas\n")
    out = tmp_path / "o.jsonl"
    r = ow("claims", str(batch["x12"]), str(junk), "-j", "TX", "--out", str(out))
    assert r.returncode == 0 and "notes.txt" in r.stderr and "1 unreadable" in r.stderr
    assert len(out.read_text().splitlines()) == 3
    r = ow("claims", str(junk))
    assert r.returncode == 2 and "nothing read" in r.stderr and len(r.stderr.strip().splitlines()) == 1
    assert "notes.txt" in r.stderr


def test_claims_cli_fast_path_same_records(tmp_path, shared_formats):
    a, b = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    assert ow("claims", str(shared_formats / "fhir"), "--out", str(a)).returncode == 0
    assert ow("claims", str(shared_formats / "fhir"), "--fast", "--out", str(b)).returncode == 0
    # 8 lines (7 items + one EOB without items, line 0) x 5 jurisdictions
    assert a.read_bytes() == b.read_bytes() and a.read_text().count("\n") == 40


def test_fixture_directory_expected_outcomes(tmp_path):
    """The synthetic fixtures in tests/data/claims give the outcomes listed in expected.csv (golden file)."""
    import csv

    d = ROOT / "tests" / "data" / "claims"
    out = tmp_path / "o.csv"
    r = ow("claims", str(d / "professional.837"), str(d / "institutional.837"), str(d / "bundle-hk.json"),
           str(d / "claims.csv"), "--members", str(d / "members.csv"), "--enrollment", str(d / "enrollment.csv"),
           "-j", "TX", "--out", str(out), "--worklist", str(tmp_path / "wl.csv"))
    assert r.returncode == 0, r.stderr
    got = [(x["claim_id"], x["line"], x["jurisdiction"], x["outcome"], json.loads(x["reasons"])[0])
           for x in csv.DictReader(out.open())]
    want = [tuple(x.values()) for x in csv.DictReader((d / "expected.csv").open())]
    assert got == want
    wl = list(csv.DictReader((tmp_path / "wl.csv").open()))
    assert [w["member_id"] for w in wl] == ["SYN-0004", "SYN-0007", "SYN-0008"]


def test_fast_jsonl_writer_matches_shared_writer(tmp_path):
    from organwatch.claims.model import RECORD_COLUMNS
    from organwatch.claims.records_out import write_outcomes
    from organwatch.output import write_records

    d = ROOT / "tests" / "data" / "claims"
    out = tmp_path / "o.jsonl"
    assert ow("claims", str(d), "--out", str(out)).returncode == 0  # the whole fixture dir, 5 jurisdictions
    recs = [json.loads(x) for x in out.read_text(encoding="utf-8").splitlines()]
    recs.append({**recs[0], "explanation": "中华人民共和国 \u2028 \"quoted\"", "fields": {"a": [1, None, True]}})
    a, b = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    write_outcomes(recs, a, "jsonl", RECORD_COLUMNS)
    write_records(recs, b, "jsonl", RECORD_COLUMNS)
    assert a.read_bytes() == b.read_bytes() and len(recs) > 50


def test_worklist_related_instruments():
    from organwatch.claims.worklist import duty_instruments

    assert duty_instruments(["GB"]) == ["uk-si-2024-262"]
    assert duty_instruments(["US-TX"]) == ["us-tx-scr3-2021"]  # adopted resolution: travel warning
    assert duty_instruments(["US-DE"]) == []  # HCR 143: adoption not verified (status introduced)
    assert duty_instruments([]) == []


def test_laws_rules_view():
    r = ow("laws", "--rules", "--json")
    assert r.returncode == 0
    rows = {x["jurisdiction"]: x for x in map(json.loads, r.stdout.splitlines())}
    assert rows["US-AZ"]["mode"] == "permissive" and rows["US-AZ"]["countries"] == ["CN", "HK"]
    assert rows["US-TN"]["knowledge_required"] is True and rows["US-TX"]["effective"] == "2023-09-01"
    assert all(v is not False for x in rows.values() for v in x["registry_checks"].values())
    r = ow("laws", "--rules", "--as-of", "2024-06-01", "--json")
    assert sorted(x["jurisdiction"] for x in map(json.loads, r.stdout.splitlines())) == ["US-ID", "US-TX", "US-UT"]


def test_fixture_directory_fast_paths_give_the_same_records(tmp_path):
    d = ROOT / "tests" / "data" / "claims"
    a, b = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    args = [str(d / "professional.837"), str(d / "institutional.837"), str(d / "bundle-hk.json"),
            str(d / "claims.csv"), "--members", str(d / "members.csv"), "--enrollment", str(d / "enrollment.csv")]
    assert ow("claims", *args, "--out", str(a)).returncode == 0
    assert ow("claims", *args, "--fast", "--out", str(b)).returncode == 0
    assert a.read_bytes() == b.read_bytes()
