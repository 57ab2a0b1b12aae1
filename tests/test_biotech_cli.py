"""`organwatch biotech entities` and `biotech screen` end to end: CSV and XLSX inventories, outputs, the bad-input
contract (one line, exit 2, nothing read), and the report section on the outcome files."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "tests" / "data" / "biotech"
INVENTORY = DATA / "inventory_tx.csv"


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "organwatch", "biotech", *args], capture_output=True, text=True,
                          timeout=300, cwd=ROOT)


def lines(text: str) -> list[dict]:
    return [json.loads(ln) for ln in text.splitlines() if ln.strip()]


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory) -> tuple[Path, list[dict], subprocess.CompletedProcess[str]]:
    out = tmp_path_factory.mktemp("bt") / "outcomes.jsonl"
    p = run("screen", str(INVENTORY), "--state", "TX", "--as-of", "2026-01-01", "--out", str(out), "--json")
    assert p.returncode == 0, p.stderr
    return out, lines(p.stdout), p


def test_screen_csv_fixture(outcomes):
    out, recs, p = outcomes
    # inventory_tx.csv: 15 data rows, row A-015 has no name at all (counted by hand)
    assert len(recs) == 14 and lines(out.read_text("utf-8")) == recs
    by_id = {r["asset_id"]: r["verdict"] for r in recs}
    assert [a for a, v in by_id.items() if v == "restricted"] == ["A-001", "A-006", "A-007", "A-008", "A-012"]
    assert [a for a, v in by_id.items() if v == "watch"] == ["A-010", "A-011"]
    assert [a for a, v in by_id.items() if v == "needs_review"] == ["A-013", "A-014"]
    assert all(by_id[a] == "not_restricted" for a in ("A-002", "A-003", "A-004", "A-005", "A-009"))
    assert "line 16" in p.stderr and "1 rows skipped" in p.stderr
    assert all(ln.startswith("organwatch") for ln in p.stderr.splitlines())
    r = next(x for x in recs if x["asset_id"] == "A-001")
    assert r["law"]["id"] == "us-tx-hb130-2025" and r["law"]["effective"] == "2025-09-01"
    assert r["match"]["alias"] and r["lists"][0]["source"].startswith("http")
    assert {"asset_id", "row", "jurisdiction", "as_of", "verdict", "entity_id", "matched_name", "match", "lists",
            "law", "reasons", "questions"} <= set(r)
    assert all(x["explanation"].endswith(f"Verdict: {x['verdict'].replace('_', ' ')}.") for x in recs)
    assert "on the DoD 1260H list since 2025-01-07" in r["explanation"]
    prov = json.loads(Path(str(out) + ".provenance.json").read_text("utf-8"))
    assert prov["parameters"] == {"as_of": "2026-01-01", "states": ["US-TX"]} and prov["inputs"][0]["sha256"]


def test_state_column_is_used_without_state_option(tmp_path):
    out = tmp_path / "o.csv"
    p = run("screen", str(INVENTORY), "--as-of", "2026-01-01", "--out", str(out))
    assert p.returncode == 0, p.stderr
    text = out.read_text("utf-8")
    assert text.splitlines()[0].startswith("asset_id,row,file") and text.count("US-TX") >= 14


def test_two_jurisdictions_give_two_outcomes_per_asset(tmp_path):
    p = run("screen", str(INVENTORY), "--state", "ID", "--state", "US", "--as-of", "2026-01-01", "--json",
            "--out", str(tmp_path / "o.jsonl"))
    assert p.returncode == 0, p.stderr
    recs = lines(p.stdout)
    assert len(recs) == 28 and {r["jurisdiction"] for r in recs} == {"US-ID", "US"}


def _xlsx(path: Path) -> None:
    import openpyxl

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Notes"
    ws.append(["This workbook lists lab equipment"])
    inv = wb.create_sheet("Equipment")
    inv.append(["Lab equipment register 2026"])
    inv.append([])
    inv.append(["Tag", "Make", "Model Number", "Supplier", "Category", "Site Type", "Origin", "Date Acquired"])
    inv.append(["X1", "MGI Tech Co.,Ltd", "DNBSEQ-T7", "Fisher Scientific", "NGS", "Research", "CN", None])
    inv.append(["X2", "Illumina", "NextSeq 2000", "Illumina", "NGS", "Research", "US", "2024-02-30"])
    inv.append(["X3", "Complete Genomics, Inc.", "DNBSEQ-G400", "", "NGS", "Research", "US", None])
    inv.append([None, None, None, None, None, None, None, None])
    inv.append(["X4", "Novogene Co., Ltd.", "", "", "service", "Research", "China", None])
    wb.save(path)


def test_screen_xlsx_with_title_rows_and_a_notes_sheet(tmp_path):
    inv = tmp_path / "lab.xlsx"
    _xlsx(inv)
    p = run("screen", str(inv), "--state", "TX", "--as-of", "2026-07-01", "--json", "--out", str(tmp_path / "o.jsonl"))
    assert p.returncode == 0, p.stderr
    recs = lines(p.stdout)
    assert [r["asset_id"] for r in recs] == ["X1", "X2", "X3", "X4"]
    assert [r["row"] for r in recs] == [4, 5, 6, 8] and recs[0]["sheet"] == "Equipment"
    assert [r["verdict"] for r in recs] == ["restricted", "not_restricted", "restricted", "needs_review"]
    assert "not a date" in " ".join(recs[1]["questions"]) and "sheet 'Notes'" in p.stderr


def test_entities_as_of_and_status(tmp_path):
    p = run("entities", "--as-of", "2024-06-30", "--json")
    assert p.returncode == 0, p.stderr
    recs = {r["entity_id"]: r for r in lines(p.stdout)}
    assert recs["mgi-tech"]["status"] == "watch" and "complete-genomics" in recs
    assert all(x["active"] for r in recs.values() for x in r["lists"])
    p = run("entities", "--as-of", "2026-01-01", "--status", "watch", "--json")
    watch = {r["entity_id"] for r in lines(p.stdout)}
    assert "complete-genomics" in watch and "mgi-tech" not in watch and "wuxi-biologics" in watch
    p = run("entities", "--list", "entity_list", "--out", str(tmp_path / "e.csv"))
    assert p.returncode == 0 and "xinjiang-silk-road-bgi" in (tmp_path / "e.csv").read_text("utf-8")
    zh = {r["entity_id"]: r["name_zh"] for r in lines(run("entities", "--json").stdout)}
    assert zh["mgi-tech"] == "深圳华大智造科技股份有限公司" and zh["bgi-group"] is None
    assert "Example" in run("entities", "--help").stdout


def test_entities_file_is_attributed(tmp_path):
    ftm = DATA / "entities.ftm.json"
    p = run("entities", "--entities-file", str(ftm), "--as-of", "2025-06-01", "--json")
    assert p.returncode == 0, p.stderr
    recs = {r["entity_id"]: r for r in lines(p.stdout)}
    assert recs["os:NK-example1"]["attribution"].startswith("Includes data from OpenSanctions")
    assert "CC BY-NC" in p.stderr and p.stderr.count("skipped entity") == 2
    out = tmp_path / "o.jsonl"
    inv = tmp_path / "i.csv"
    inv.write_text("manufacturer,asset type\nExample Gene Sequencing Co Ltd,sequencer\n", encoding="utf-8")
    p = run("screen", str(inv), "--state", "TX", "--as-of", "2026-01-01", "--entities-file", str(ftm), "--out",
            str(out))
    assert p.returncode == 0, p.stderr
    rec = lines(out.read_text("utf-8"))[0]
    assert rec["verdict"] == "restricted" and rec["attribution"]
    assert json.loads(Path(str(out) + ".provenance.json").read_text("utf-8"))["attribution"]


# -- bad input ------------------------------------------------------------------------------------------------
def _one_error_line(p: subprocess.CompletedProcess[str]) -> str:
    assert p.returncode == 2, (p.returncode, p.stderr)
    assert "Traceback" not in p.stderr and "internal error" not in p.stderr
    errs = [ln for ln in p.stderr.splitlines() if "error" in ln]
    assert len(errs) == 1 and errs[0].startswith("organwatch: error:"), p.stderr
    return errs[0]


def test_missing_columns_is_one_clear_line(tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("serial,room,notes\n1,B12,fridge\n", encoding="utf-8")
    msg = _one_error_line(run("screen", str(bad), "--state", "TX", "--out", str(tmp_path / "o.jsonl")))
    assert "bad.csv" in msg and "no manufacturer, model, vendor or software column" in msg and "serial" in msg


def test_binary_file_and_bad_options(tmp_path):
    binary = tmp_path / "random.bin"
    binary.write_bytes(bytes(range(256)) * 8)
    _one_error_line(run("screen", str(binary), "--out", str(tmp_path / "o.jsonl")))
    _one_error_line(run("screen", str(INVENTORY), "--state", "Narnia", "--out", str(tmp_path / "o.jsonl")))
    _one_error_line(run("screen", str(INVENTORY), "--as-of", "2026-13-01", "--out", str(tmp_path / "o.jsonl")))
    _one_error_line(run("entities", "--as-of", "yesterday"))
    _one_error_line(run("screen", str(tmp_path / "missing.csv"), "--out", str(tmp_path / "o.jsonl")))
    xls = tmp_path / "old.xls"
    xls.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(512))
    assert "Excel 97-2003" in _one_error_line(run("screen", str(xls), "--out", str(tmp_path / "o.jsonl")))
    xl = tmp_path / "fake.xlsx"
    xl.write_bytes(b"PK\x03\x04 not really a workbook")
    _one_error_line(run("screen", str(xl), "--out", str(tmp_path / "o.jsonl")))


def test_nothing_read_exits_2_and_a_bad_file_does_not_stop_the_batch(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    msg = _one_error_line(run("screen", str(empty), "--out", str(tmp_path / "o.jsonl")))
    assert "nothing read" in msg
    only_blank = tmp_path / "blank.csv"
    only_blank.write_text("manufacturer,model\n,\n-,n/a\n", encoding="utf-8")
    assert "nothing read" in _one_error_line(run("screen", str(only_blank), "--out", str(tmp_path / "o.jsonl")))
    bad = tmp_path / "bad.csv"
    bad.write_text("serial\n1\n", encoding="utf-8")
    p = run("screen", str(bad), str(INVENTORY), "--state", "TX", "--out", str(tmp_path / "o.jsonl"))
    assert p.returncode == 0 and "skipped file" in p.stderr and "14 assets from 1 file(s)" in p.stderr


# -- report section -------------------------------------------------------------------------------------------
def test_report_section(outcomes, tmp_path):
    from organwatch.biotech import report_section as rs
    from organwatch.report.sections import ReportContext

    out, recs, _ = outcomes
    assert rs.accepts(out) and not rs.accepts(INVENTORY) and not rs.accepts(DATA / "entities.ftm.json")
    sec = rs.build_section(ReportContext(), [out])
    assert sec is not None and sec.order == 60
    checks = [f.check for f in sec.findings]
    assert checks == ["biotech.registry.listings", "biotech.laws.by_state", "biotech.screen.outcomes"]
    assert all(f.kind.value == "descriptive" and f.verdict is None for f in sec.findings)
    reg, laws, screened = sec.findings
    assert reg.statistics["entities"] == 22 and reg.statistics["listing events"] == 44
    # counted by hand in restricted_entities.csv: 18 listed 1260H rows, 6 Entity List, 9 bill rows, 11 watch letters
    assert [reg.statistics[k] for k in ("DoD 1260H list", "Commerce Entity List", "bill (not enacted)",
                                        "request to list (watch letter)")] == [18, 6, 9, 11]
    assert "22 biotech entities" in reg.explanation
    assert laws.statistics["instruments"] == 8 and laws.statistics["enacted"] == 6
    assert screened.statistics["restricted"] == 5 and "Of 14 asset outcomes, 5 are restricted" in screened.explanation
    csv_out = tmp_path / "o.csv"
    assert run("screen", str(INVENTORY), "--state", "TX", "--as-of", "2026-01-01", "--out", str(csv_out)).returncode == 0
    assert rs.accepts(csv_out)
    pq_out = tmp_path / "o.parquet"
    assert run("screen", str(INVENTORY), "--state", "TX", "--as-of", "2026-01-01", "--out", str(pq_out)).returncode == 0
    assert rs.accepts(pq_out) and rs.build_section(ReportContext(), [pq_out]).findings[-1].statistics["outcomes"] == 14


def test_labelled_inventory_recall_and_false_restricted(tmp_path):
    """A labelled inventory of real product and company names (34 restricted, 30 not; labels by hand):
    recall of restricted assets >= 0.98, false restricted <= 1 %, none for watch-only entities."""
    import csv

    labelled = DATA / "labelled_inventory.csv"
    with open(labelled, encoding="utf-8", newline="") as fh:
        expected = {r["asset_id"]: r["expected"] for r in csv.DictReader(fh)}
    assert len(expected) == 64 and sum(v == "restricted" for v in expected.values()) == 34
    p = run("screen", str(labelled), "--state", "TX", "--as-of", "2026-07-01", "--json", "--out",
            str(tmp_path / "o.jsonl"))
    assert p.returncode == 0, p.stderr
    got = {r["asset_id"]: r for r in lines(p.stdout)}
    positives = [a for a, v in expected.items() if v == "restricted"]
    negatives = [a for a, v in expected.items() if v != "restricted"]
    recall = sum(got[a]["verdict"] == "restricted" for a in positives) / len(positives)
    false_restricted = sum(got[a]["verdict"] == "restricted" for a in negatives) / len(negatives)
    assert recall >= 0.98, [(a, got[a]["verdict"], got[a]["reasons"]) for a in positives
                            if got[a]["verdict"] != "restricted"]
    assert false_restricted <= 0.01
    for a in positives:
        assert got[a]["lists"] and all(x["source"].startswith("http") and x["date"] for x in got[a]["lists"])
    assert {got[a]["verdict"] for a in ("N21", "N22", "N23", "N24", "N25", "N26")} == {"watch"}


def test_utf16_and_semicolon_csv(tmp_path):
    inv = tmp_path / "u16.csv"
    inv.write_bytes("Hersteller;Model;Manufacturer\nx;DNBSEQ-G400;MGI Tech Co., Ltd.\n".encode("utf-16"))
    p = run("screen", str(inv), "--state", "TX", "--as-of", "2026-01-01", "--json", "--out", str(tmp_path / "o.jsonl"))
    assert p.returncode == 0, p.stderr
    assert [r["verdict"] for r in lines(p.stdout)] == ["restricted"]

