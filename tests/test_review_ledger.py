from __future__ import annotations

import sqlite3

import pytest
from review_helpers import make_project

from organwatch.errors import InputError
from organwatch.review import schema
from organwatch.review.ledger import append, export_rows, history
from organwatch.review.schema import SCHEMA_VERSION, connect


def test_decisions_are_append_only_and_state_is_derived(tmp_path):
    con = connect(make_project(tmp_path))
    d1 = append(con, "doc-001#p0", "alice", "suspicious", rationale="first look")
    d2 = append(con, "doc-001#p0", "alice", "confirmed_violation", pattern="V1", rationale="BD precedes INT")
    append(con, "doc-001#p0", "bob", "not_violation")
    assert d2.decision_id > d1.decision_id
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        con.execute("UPDATE decisions SET label = 'not_violation' WHERE decision_id = ?", (d1.decision_id,))
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        con.execute("DELETE FROM decisions")
    state = dict(con.execute("SELECT reviewer, label FROM hit_state WHERE hit_pk = 1"))
    assert state == {"alice": "confirmed_violation", "bob": "not_violation"}
    assert [d.label for d in history(con, "doc-001#p0")] == ["suspicious", "confirmed_violation", "not_violation"]
    # derived state equals a rebuild from the ledger
    before = set(con.execute("SELECT * FROM hit_state"))
    con.execute("BEGIN")
    schema.rebuild_state(con)
    con.execute("COMMIT")
    assert set(con.execute("SELECT * FROM hit_state")) == before
    rows = list(export_rows(con))
    assert [r["label"] for r in rows] == ["suspicious", "confirmed_violation", "not_violation"]
    assert [r["label"] for r in export_rows(con, current_only=True)] == ["confirmed_violation", "not_violation"]
    assert rows[0]["pattern"] == "V1"  # defaults to the machine pattern of the hit


def test_nonce_makes_retries_idempotent_and_bad_values_are_refused(tmp_path):
    con = connect(make_project(tmp_path))
    a = append(con, "doc-002#p0", "alice", "duplicate", nonce="n-1")
    b = append(con, "doc-002#p0", "alice", "duplicate", nonce="n-1")
    assert a.decision_id == b.decision_id
    assert con.execute("SELECT COUNT(*) FROM decisions").fetchone()[0] == 1
    with pytest.raises(InputError, match="label must be one of"):
        append(con, "doc-002#p0", "alice", "guilty")
    with pytest.raises(InputError, match="no such hit"):
        append(con, "nope#p0", "alice", "suspicious")
    with pytest.raises(InputError, match="reviewer"):
        append(con, "doc-002#p0", "  ", "suspicious")
    assert con.execute("SELECT COUNT(*) FROM decisions").fetchone()[0] == 1


def test_migration_from_v1_rebuilds_derived_state(tmp_path):
    p = tmp_path / "old.owproj"
    con = sqlite3.connect(p, isolation_level=None)
    for stmt in schema._split(schema.MIGRATIONS[1]):
        con.execute(stmt)
    con.execute(f"PRAGMA application_id = {schema.APPLICATION_ID}")
    con.execute("PRAGMA user_version = 1")
    con.execute("INSERT INTO meta VALUES ('session_secret', 'x')")
    con.execute("INSERT INTO inputs VALUES (1, 'r.jsonl', 'ab', 'jsonl', 1, 1, 0, 0, 1, '{}', 'now')")
    con.execute("INSERT INTO documents(doc_pk, input_pk, document_id, dedup_key) VALUES (1, 1, 'd1', '')")
    con.execute("INSERT INTO hits(hit_pk, hit_id, doc_pk, passage_index, pattern) VALUES (1, 'd1#p0', 1, 0, 'V2')")
    con.execute("INSERT INTO decisions(hit_pk, reviewer, timestamp, label) VALUES (1, 'alice', 't1', 'suspicious')")
    con.execute("INSERT INTO decisions(hit_pk, reviewer, timestamp, label) VALUES (1, 'alice', 't2', 'duplicate')")
    con.close()
    con = connect(p)
    assert con.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION == 3
    assert con.execute("SELECT COUNT(*) FROM meta WHERE key = 'session_secret'").fetchone()[0] == 0  # v3: no key
    assert [tuple(r) for r in con.execute("SELECT reviewer, label FROM hit_state")] == [("alice", "duplicate")]
    assert [tuple(r) for r in con.execute("SELECT value, n FROM facet_counts WHERE facet = 'pattern'")] == [("V2", 1)]
    append(con, "d1#p0", "alice", "out_of_scope")  # the trigger works after migration
    assert con.execute("SELECT label FROM hit_state").fetchone()[0] == "out_of_scope"


def test_newer_or_foreign_files_are_refused(tmp_path):
    p = make_project(tmp_path)
    con = sqlite3.connect(p)
    con.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    con.close()
    with pytest.raises(InputError, match="newer"):
        connect(p)
    other = tmp_path / "other.owproj"
    con = sqlite3.connect(other)
    con.execute("CREATE TABLE x (a)")
    con.close()
    with pytest.raises(InputError, match="not an organwatch review project"):
        connect(other)
    junk = tmp_path / "junk.owproj"
    junk.write_bytes(b"this is not sqlite at all" * 100)
    with pytest.raises(InputError, match="not an organwatch review project"):
        connect(junk)
