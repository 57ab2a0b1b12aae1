"""Real `organwatch screen` output (JSONL and Parquet, with its --summary run summary) feeds `review new`."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys

import pytest
from review_helpers import REVIEW_DATA


def sh(*args):
    return subprocess.run([sys.executable, "-m", "organwatch", *map(str, args)], capture_output=True, text=True)


@pytest.mark.parametrize("ext", ["jsonl", "parquet"])
def test_screen_results_import_into_review(tmp_path, ext):
    out = tmp_path / f"hits.{ext}"
    r = sh("screen", REVIEW_DATA / "screen_input.jsonl", "--out", out, "--workers", "1",
           "--summary", tmp_path / "run.json")
    assert r.returncode == 0, r.stderr
    screened = json.loads((tmp_path / "run.json").read_text("utf-8"))
    project = tmp_path / "p.owproj"
    r = sh("review", "new", out, project, "--screen-summary", tmp_path / "run.json", "--json")
    assert r.returncode == 0, r.stderr
    summary = json.loads(r.stdout)
    assert summary["failed"] == 0 and summary["imported"] == screened["documents_read"] == 4
    con = sqlite3.connect(project)
    # one hit per flagged passage; the compliant document is kept without a hit
    flagged = screened["labels"]["violation"] + screened["labels"]["suspicious"]
    assert con.execute("SELECT COUNT(DISTINCT doc_pk) FROM hits").fetchone()[0] == flagged
    assert con.execute("SELECT COUNT(*) FROM documents").fetchone()[0] == 4
    # evidence spans index the original text: the highlighted text is a real substring of the passage
    for text, start, spans in con.execute("SELECT text, text_start, spans FROM hits"):
        for a, b in json.loads(spans):
            assert 0 <= a - start < b - start <= len(text)
    # the rule pack of the screening run is in the manifest
    prov = json.loads(con.execute("SELECT provenance FROM inputs").fetchone()[0])
    assert prov["screen_summary"]["rules"] == screened["rules"]
    status = json.loads(sh("review", "status", project, "--json").stdout)
    assert status["manifest"]["inputs"][0]["sha256"] == __import__("organwatch.findings", fromlist=["x"]).sha256_file(out)
