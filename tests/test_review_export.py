from __future__ import annotations

import csv
import json
import subprocess
import sys

import pyarrow.parquet as pq
from review_helpers import make_project

from organwatch.review.ledger import append
from organwatch.review.schema import connect

CONTRACT = ["hit_id", "reviewer", "timestamp", "label", "pattern", "rationale"]


def test_export_all_formats(tmp_path):
    project = make_project(tmp_path)
    con = connect(project)
    append(con, "doc-001#p0", "alice", "confirmed_violation", rationale='says "立即行气管插管", after BD')
    append(con, "doc-003#p0", "bob", "duplicate", rationale="same DOI as doc-002")
    append(con, "doc-001#p0", "alice", "suspicious", rationale="re-read")
    con.close()
    for ext in ("csv", "jsonl", "parquet"):
        out = tmp_path / f"d.{ext}"
        r = subprocess.run([sys.executable, "-m", "organwatch", "review", "export", str(project), "--out", str(out)],
                           capture_output=True, text=True)
        assert r.returncode == 0, r.stderr
        if ext == "csv":
            rows = list(csv.DictReader(out.open(encoding="utf-8")))
        elif ext == "jsonl":
            rows = [json.loads(x) for x in out.read_text("utf-8").splitlines()]
        else:
            rows = pq.read_table(out).to_pylist()
        assert list(rows[0])[:6] == CONTRACT
        assert [r["label"] for r in rows] == ["confirmed_violation", "duplicate", "suspicious"]
        assert rows[0]["rationale"] == 'says "立即行气管插管", after BD'
        assert rows[1]["dup_group"] == "doc-002"
    cur = subprocess.run([sys.executable, "-m", "organwatch", "review", "export", str(project), "--current"],
                         capture_output=True, text=True)
    labels = [json.loads(x)["label"] for x in cur.stdout.splitlines()]
    assert labels == ["duplicate", "suspicious"]
