"""The review section of `organwatch report` (built directly: the report command needs every engine)."""

from __future__ import annotations

import json
import re

from review_helpers import make_project

from organwatch.findings import Finding, sha256_file
from organwatch.report.build import render
from organwatch.report.sections import ReportContext
from organwatch.review import report_section
from organwatch.review.ledger import append
from organwatch.review.schema import connect


def test_accepts_only_review_projects(tmp_path):
    p = make_project(tmp_path)
    assert report_section.accepts(p)
    renamed = tmp_path / "project.sqlite"
    renamed.write_bytes(p.read_bytes())
    assert report_section.accepts(renamed)  # recognised by the SQLite application id
    other = tmp_path / "x.jsonl"
    other.write_text("{}", encoding="utf-8")
    assert not report_section.accepts(other)
    assert report_section.ORDER == 30
    assert report_section.build_section(ReportContext(), []) is None


def test_confirmed_decisions_feed_the_report(tmp_path):
    p = make_project(tmp_path)
    con = connect(p)
    append(con, "doc-001#p0", "alice", "confirmed_violation", rationale="脑死亡后 then 气管插管")
    append(con, "doc-001#p0", "bob", "confirmed_violation", rationale="agree <img src=x onerror=alert(1)>")
    append(con, "doc-004#p0", "alice", "confirmed_violation", rationale="<script>alert(1)</script>")
    append(con, "doc-004#p0", "bob", "not_violation")  # 1 of 2: no majority -> not confirmed
    append(con, "doc-002#p0", "alice", "not_violation")
    append(con, "doc-002#p0", "bob", "not_violation")
    con.close()
    s = report_section.build_section(ReportContext(), [p])
    checks = [i.finding.check for i in s.items]
    assert checks == ["review.decisions", "review.confirmed_pattern", "review.agreement"]
    summary, confirmed, agree = (i.finding for i in s.items)
    assert summary.statistics["hits_confirmed"] == 1 and summary.statistics["hits_decided"] == 3
    assert all(f.kind.value == "descriptive" and f.verdict is None for f in s.findings)  # progress is not a test
    assert confirmed.subject.startswith("pattern V1")
    ev = confirmed.evidence
    assert [e["hit_id"] for e in ev] == ["doc-001#p0"]
    assert ev[0]["evidence_spans"] == ["脑死亡后", "立即行气管插管"]
    assert [d["rationale"] for d in ev[0]["decisions"]] == ["脑死亡后 then 气管插管", "agree <img src=x onerror=alert(1)>"]
    # provenance: the project and the screen results it was built from, with sha256
    names = {i.name: i.sha256 for i in confirmed.provenance.inputs}
    assert names["t.owproj"] == sha256_file(p) and "screen_small.jsonl" in names
    assert confirmed.provenance.parameters["confirmed_rule"] == "majority"
    assert agree.statistics["hits_multiply_reviewed"] == 3 and agree.statistics["disagreements"] == 1
    assert any("not yet reviewed" in x for x in s.not_tested)
    for f in s.findings:
        assert Finding.from_json(f.to_json()) == f
    html = render([s], generated="2026-01-01")
    assert "<img src=x" not in html and "&lt;img src=x onerror=alert(1)&gt;" in html and "脑死亡后" in html
    assert re.search(r"<svg[^>]*ow-chart", html)
    json.dumps([f.to_dict() for f in s.findings])


def test_project_without_decisions_is_not_testable(tmp_path):
    s = report_section.build_section(ReportContext(), [make_project(tmp_path)])
    assert [(i.finding.kind.value, i.finding.verdict) for i in s.items] == [("descriptive", None)] * 2


def test_organwatch_report_command_takes_a_project(tmp_path):
    import subprocess
    import sys

    p = make_project(tmp_path)
    con = connect(p)
    append(con, "doc-005#p0", "alice", "confirmed_violation", rationale="mask oxygen after BD")
    con.close()
    out, fj = tmp_path / "r.html", tmp_path / "f.json"
    r = subprocess.run([sys.executable, "-m", "organwatch", "report", str(p), "--out", str(out), "--findings", str(fj),
                        "--date", "2026-01-01"], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    found = [f for f in json.loads(fj.read_text("utf-8"))["findings"] if f["engine"] == "review"]
    assert [f["check"] for f in found] == ["review.decisions", "review.confirmed_pattern", "review.agreement"]
    assert found[1]["subject"].startswith("pattern V4")
    html = out.read_text("utf-8")
    assert 'id="review"' in html and "mask oxygen after BD" in html
