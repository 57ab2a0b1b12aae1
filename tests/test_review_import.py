from __future__ import annotations

import json
import sqlite3
import subprocess
import sys

import pyarrow as pa
import pyarrow.parquet as pq
from review_helpers import REVIEW_DATA

from organwatch.review.project import new_project


def run(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "organwatch", "review", *map(str, args)], capture_output=True,
                          text=True, cwd=cwd)


def test_jsonl_import_isolates_bad_records_and_records_provenance(tmp_path):
    project = tmp_path / "p.owproj"
    r = run("new", REVIEW_DATA / "screen_small.jsonl", REVIEW_DATA / "screen_bad_records.jsonl", project, "--json")
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    assert (doc["records"], doc["imported"], doc["failed"], doc["hits"]) == (19, 14, 5, 12)
    bad = doc["inputs"][1]
    assert [e["record"] for e in bad["errors"]] == [2, 3, 4, 5, 6]
    assert "confidence" in bad["errors"][2]["message"]
    assert "5 failed" in r.stderr and "record 2: invalid JSON" in r.stderr
    con = sqlite3.connect(project)
    ins = con.execute("SELECT name, sha256, failed FROM inputs ORDER BY input_pk").fetchall()
    from organwatch.findings import sha256_file

    assert ins[0] == ("screen_small.jsonl", sha256_file(REVIEW_DATA / "screen_small.jsonl"), 0)
    assert con.execute("SELECT COUNT(*) FROM import_errors").fetchone()[0] == 5
    # hits: one per passage; a flagged document without passages gets one document-level hit; compliant ones none
    ids = {r[0] for r in con.execute("SELECT hit_id FROM hits")}
    assert "doc-010#doc" in ids and not any(i.startswith("doc-009") for i in ids)
    # the minimal record (no title, no year, passage without text) is imported as is
    h = con.execute("SELECT text, spans, events FROM hits WHERE hit_id = 'doc-012#p0'").fetchone()
    assert h[0] is None and json.loads(h[1]) == [[10, 14]] and json.loads(h[2])[0]["type"] == "OPEN"
    # the original text and offsets are kept exactly
    t = con.execute("SELECT text, text_start, spans FROM hits WHERE hit_id = 'doc-001#p0'").fetchone()
    a, b = json.loads(t[2])[0]
    assert t[0][a - t[1]:b - t[1]] == "脑死亡后"


def test_parquet_import_and_add(tmp_path):
    recs = [json.loads(x) for x in (REVIEW_DATA / "screen_small.jsonl").read_text("utf-8").splitlines()]
    table = pa.Table.from_pylist(recs[:4])
    table = table.replace_schema_metadata({b"organwatch": json.dumps({"rules": "test-pack 0.1"}).encode()})
    pq.write_table(table, tmp_path / "r.parquet")
    project = tmp_path / "p.owproj"
    s = new_project([tmp_path / "r.parquet"], project)
    assert (s[0].format, s[0].imported, s[0].failed) == ("parquet", 4, 0)
    assert s[0].provenance == {"organwatch": {"rules": "test-pack 0.1"}}
    # --add: documents already in the project are skipped, new ones imported
    r = run("new", "--add", REVIEW_DATA / "screen_small.jsonl", project)
    assert r.returncode == 0, r.stderr
    assert "4 already in the project" in r.stderr
    assert sqlite3.connect(project).execute("SELECT COUNT(*) FROM documents").fetchone()[0] == 12


def test_bad_input_is_one_line_and_exit_2(tmp_path):
    garbage = tmp_path / "g.jsonl"
    garbage.write_text("this is not json\n", encoding="utf-8")
    r = run("new", garbage, tmp_path / "p.owproj")
    assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1 and "g.jsonl" in r.stderr
    assert not (tmp_path / "p.owproj").exists()  # nothing half-made left behind
    r = run("new", tmp_path / "missing.jsonl", tmp_path / "p.owproj")
    assert r.returncode == 2 and "missing.jsonl" in r.stderr and "Traceback" not in r.stderr
    r = run("new", REVIEW_DATA / "screen_small.jsonl", tmp_path / "p.sqlite")
    assert r.returncode == 2 and ".owproj" in r.stderr
    ok = run("new", REVIEW_DATA / "screen_small.jsonl", tmp_path / "p.owproj")
    assert ok.returncode == 0
    again = run("new", REVIEW_DATA / "screen_small.jsonl", tmp_path / "p.owproj")
    assert again.returncode == 2 and "already exists" in again.stderr
    r = run("export", garbage)
    assert r.returncode == 2 and "not an organwatch review project" in r.stderr
    corrupt = tmp_path / "c.parquet"
    corrupt.write_bytes(b"PAR1" + b"\x00" * 50)
    r = run("new", corrupt, tmp_path / "q.owproj")
    assert r.returncode == 2 and "c.parquet" in r.stderr and "Traceback" not in r.stderr


def test_help_has_examples():
    for cmd in ("new", "serve", "export", "status"):
        r = run(cmd, "--help")
        assert r.returncode == 0 and "Example:" in r.stdout


def test_gzip_input_and_bomb_guard(tmp_path, monkeypatch):
    import gzip

    from organwatch.errors import InputError
    from organwatch.review import importer

    gz = tmp_path / "r.jsonl.gz"
    gz.write_bytes(gzip.compress((REVIEW_DATA / "screen_small.jsonl").read_bytes()))
    s = new_project([gz], tmp_path / "a.owproj")
    assert (s[0].format, s[0].imported) == ("jsonl.gz", 12)
    bomb = tmp_path / "b.jsonl.gz"
    bomb.write_bytes(gzip.compress(b'{"document_id": "x"}\n' + b"\n" * 5_000_000))
    monkeypatch.setattr(importer, "BOMB_MIN_BYTES", 1_000_000)
    try:
        new_project([bomb], tmp_path / "b.owproj")
    except InputError as e:
        assert "decompression bomb" in str(e)
    else:
        raise AssertionError("bomb accepted")
    assert not (tmp_path / "b.owproj").exists()
