"""The append-only decision ledger and the state derived from it.

A decision is (hit, reviewer, UTC timestamp, label, pattern code, free-text rationale). Decisions are never
updated or deleted (triggers refuse it); a reviewer changes their mind by appending a new decision, and the
current state of a hit for a reviewer is their latest decision (``hit_state``, maintained by a trigger and
rebuildable from the ledger). An optional client ``nonce`` makes a retried write idempotent: the same reviewer
sending the same nonce for the same decision gets the decision already stored instead of a second one; a nonce
already used by another reviewer, or for a different decision, is refused (:class:`NonceConflict`, HTTP 409).

Reviewer names are NFKC-normalised and refused when they hold control, format (zero-width, bidi override),
private-use, unassigned or other invisible characters, so that two names that look alike are the same name.
"""

from __future__ import annotations

import datetime as _dt
import sqlite3
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from organwatch.errors import InputError
from organwatch.review.config import label_codes

MAX_RATIONALE = 10_000
MAX_REVIEWER = 80
MAX_PATTERN = 64
MAX_NONCE = 80

EXPORT_COLUMNS = ["hit_id", "reviewer", "timestamp", "label", "pattern", "rationale", "decision_id", "document_id",
                  "machine_label", "machine_pattern", "confidence", "dup_group"]


@dataclass
class Decision:
    decision_id: int
    hit_id: str
    reviewer: str
    timestamp: str
    label: str
    pattern: str | None
    rationale: str


class NonceConflict(InputError):
    """A nonce already used by another reviewer or for another decision (the write is not stored)."""


# invisible characters that are not in the C* categories (combining grapheme joiner, Hangul fillers, Khmer
# inherent vowels, Mongolian free variation selectors, variation selectors, Braille blank)
_INVISIBLE = frozenset([0x034F, 0x115F, 0x1160, 0x17B4, 0x17B5, 0x180B, 0x180C, 0x180D, 0x180E, 0x180F, 0x2800,
                        0x3164, 0xFFA0, *range(0xFE00, 0xFE10), *range(0xE0100, 0xE01F0)])
_REFUSED_CATEGORIES = frozenset(["Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"])


def _bad_char(c: str) -> bool:
    return unicodedata.category(c) in _REFUSED_CATEGORIES or ord(c) in _INVISIBLE or (c.isspace() and c != " ")


def validate_reviewer(name: str | None) -> str:
    """The canonical form of a reviewer name (NFKC, outer spaces removed, inner runs of spaces as one), or
    :class:`InputError` when it is empty, too long or holds a control, zero-width, bidi-control or other
    invisible character."""
    name = unicodedata.normalize("NFKC", name or "").strip()
    bad = [c for c in name if _bad_char(c)]
    if bad:
        raise InputError(f"reviewer name holds an invisible or control character (U+{ord(bad[0]):04X} "
                         f"{unicodedata.name(bad[0], 'unnamed')}); use visible characters only", column="reviewer")
    name = " ".join(p for p in name.split(" ") if p)
    if not name or len(name) > MAX_REVIEWER:
        raise InputError(f"reviewer name must be 1-{MAX_REVIEWER} visible characters", column="reviewer")
    return name


def now_utc() -> str:
    return _dt.datetime.now(_dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def append(con: sqlite3.Connection, hit_id: str, reviewer: str, label: str, pattern: str | None = None,
           rationale: str = "", nonce: str | None = None, timestamp: str | None = None) -> Decision:
    """Append one decision in its own transaction (committed before returning: the caller may acknowledge it)."""
    reviewer = validate_reviewer(reviewer)
    if label not in label_codes():
        raise InputError(f"label must be one of {', '.join(label_codes())}", column="label")
    rationale = rationale or ""
    if len(rationale) > MAX_RATIONALE:
        raise InputError(f"rationale longer than {MAX_RATIONALE} characters", column="rationale")
    pattern = (pattern or "").strip() or None
    if pattern is not None and len(pattern) > MAX_PATTERN:
        raise InputError(f"pattern code longer than {MAX_PATTERN} characters", column="pattern")
    if nonce is not None and (len(nonce) > MAX_NONCE or not nonce):
        raise InputError("invalid nonce", column="nonce")
    ts = timestamp or now_utc()
    con.execute("BEGIN IMMEDIATE")
    try:
        row = con.execute("SELECT hit_pk, pattern FROM hits WHERE hit_id = ?", (hit_id,)).fetchone()
        if row is None:
            raise InputError("no such hit", record=hit_id)
        if pattern is None:
            pattern = row["pattern"]
        if nonce is not None:
            prev = con.execute("SELECT d.*, h.hit_id FROM decisions d JOIN hits h USING (hit_pk) WHERE nonce = ?",
                               (nonce,)).fetchone()
            if prev is not None:
                con.execute("ROLLBACK")  # nothing written; the replay check below may refuse
                return _replay(prev, hit_id, reviewer, label, pattern, rationale)
        cur = con.execute("INSERT INTO decisions(hit_pk, reviewer, timestamp, label, pattern, rationale, nonce) "
                          "VALUES (?,?,?,?,?,?,?)", (row["hit_pk"], reviewer, ts, label, pattern, rationale, nonce))
        con.execute("COMMIT")
    except BaseException:
        if con.in_transaction:
            con.execute("ROLLBACK")
        raise
    return Decision(int(cur.lastrowid or 0), hit_id, reviewer, ts, label, pattern, rationale)


def mark_group_duplicates(con: sqlite3.Connection, keep_hit_id: str, reviewer: str) -> list[Decision]:
    """Label ``duplicate`` every hit of the other records in the de-duplication group of ``keep_hit_id``'s record
    (one appended decision per hit, rationale naming the kept hit); hits this reviewer already labelled
    ``duplicate`` are left alone. The kept hit itself is not labelled."""
    row = con.execute("SELECT d.dup_group, d.doc_pk FROM hits h JOIN documents d ON d.doc_pk = h.doc_pk "
                      "WHERE h.hit_id = ?", (keep_hit_id,)).fetchone()
    if row is None:
        raise InputError("no such hit", record=keep_hit_id)
    if row["dup_group"] is None:
        raise InputError("this hit's record is not in a duplicate group", record=keep_hit_id)
    others = [r[0] for r in con.execute(
        "SELECT h.hit_id FROM hits h JOIN documents d ON d.doc_pk = h.doc_pk WHERE d.dup_group = ? AND d.doc_pk != ? "
        "AND NOT EXISTS (SELECT 1 FROM hit_state s WHERE s.hit_pk = h.hit_pk AND s.reviewer = ? "
        "AND s.label = 'duplicate') ORDER BY h.hit_pk", (row["dup_group"], row["doc_pk"], reviewer))]
    return [append(con, h, reviewer, "duplicate", rationale=f"duplicate of {keep_hit_id} (same de-duplication key)")
            for h in others]


def _replay(prev: sqlite3.Row, hit_id: str, reviewer: str, label: str, pattern: str | None,
            rationale: str) -> Decision:
    """The stored decision for a retried write, or :class:`NonceConflict` when the nonce was used by another
    reviewer or for a different decision (nothing of the other decision is revealed)."""
    if prev["reviewer"] != reviewer:
        raise NonceConflict("nonce already used by another reviewer: this decision was not stored; send a new "
                            "nonce", column="nonce")
    if (prev["hit_id"], prev["label"], prev["pattern"], prev["rationale"]) != (hit_id, label, pattern, rationale):
        raise NonceConflict("nonce already used for a different decision: this decision was not stored; send a "
                            "new nonce", column="nonce")
    return _decision(prev)


def _decision(r: sqlite3.Row) -> Decision:
    return Decision(r["decision_id"], r["hit_id"], r["reviewer"], r["timestamp"], r["label"], r["pattern"],
                    r["rationale"])


def history(con: sqlite3.Connection, hit_id: str) -> list[Decision]:
    return [_decision(r) for r in con.execute(
        "SELECT d.*, h.hit_id FROM decisions d JOIN hits h USING (hit_pk) WHERE h.hit_id = ? ORDER BY decision_id",
        (hit_id,))]


def export_rows(con: sqlite3.Connection, current_only: bool = False) -> Iterator[dict[str, Any]]:
    """Ledger rows in decision order (``current_only``: each reviewer's latest decision per hit)."""
    join = "JOIN hit_state s ON s.decision_id = d.decision_id" if current_only else ""
    sql = f"""SELECT h.hit_id, d.reviewer, d.timestamp, d.label, d.pattern, d.rationale, d.decision_id,
                     doc.document_id, h.machine_label, h.pattern AS machine_pattern, h.confidence, doc.dup_group
              FROM decisions d {join} JOIN hits h ON h.hit_pk = d.hit_pk JOIN documents doc ON doc.doc_pk = h.doc_pk
              ORDER BY d.decision_id"""
    for r in con.execute(sql):
        d = dict(r)
        if d["dup_group"] is not None:
            d["dup_group"] = con.execute("SELECT document_id FROM documents WHERE doc_pk = ?",
                                         (d["dup_group"],)).fetchone()[0]
        yield d
