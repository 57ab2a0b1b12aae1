"""Read-side queries of the workbench: the queue, facets and progress, with filters.

Filters (all optional): ``label`` (a decision label: hits whose current label from any reviewer is it, or
``undecided``: hits nobody has decided), ``pattern``, ``year``, ``institution`` (exact values), ``reviewer``
(hits that reviewer decided) and ``todo`` (only hits the current reviewer has not decided yet).

Hits are immutable after import, so facet counts over hit fields (pattern, year, institution, machine label,
language) are cached per filter combination; counts that depend on decisions come from ``hit_state``, which holds
one row per decided (hit, reviewer) and stays small next to the hits, and are always computed live.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import urllib.parse
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

from organwatch.errors import InputError
from organwatch.review.config import label_codes

HIT_FACETS = ("pattern", "year", "institution", "machine_label")
FACET_LIMIT = 40


MAX_YEAR = 9999


def _year(text: str | None) -> int | None:
    """The year filter as an integer in [-9999, 9999] (SQLite never sees a number it cannot hold)."""
    if text is None:
        return None
    body = text[1:] if text[:1] in "+-" else text
    if not (0 < len(body) <= 4 and body.isascii() and body.isdigit()):
        raise InputError(f"year filter must be an integer between -{MAX_YEAR} and {MAX_YEAR}", column="year")
    return int(text)


@dataclass(frozen=True)
class Filters:
    label: str | None = None
    pattern: str | None = None
    year: int | None = None
    institution: str | None = None
    reviewer: str | None = None
    todo: bool = False

    @classmethod
    def from_params(cls, params: Any) -> Filters:
        def g(k: str) -> str | None:
            v = params.get(k)
            if v is None:
                return None
            v = str(v).strip()
            return v[:200] or None

        label = g("label")
        if label is not None and label not in label_codes() and label != "undecided":
            raise InputError(f"unknown label filter '{label}'", column="label")
        return cls(label=label, pattern=g("pattern"), year=_year(g("year")), institution=g("institution"),
                   reviewer=g("reviewer"), todo=g("todo") in ("1", "true", "on"))

    def hit_clauses(self) -> tuple[list[str], list[Any]]:
        where, args = [], []
        for f in ("pattern", "year", "institution"):
            v = getattr(self, f)
            if v is not None:
                where.append(f"h.{f} = ?")
                args.append(v)
        return where, args

    def as_query(self) -> dict[str, str]:
        d = {k: str(v) for k, v in (("label", self.label), ("pattern", self.pattern), ("year", self.year),
                                     ("institution", self.institution), ("reviewer", self.reviewer)) if v is not None}
        if self.todo:
            d["todo"] = "1"
        return d

    @property
    def hit_only(self) -> bool:
        return self.label is None and self.reviewer is None


def _driving_set(f: Filters) -> tuple[str | None, list[Any]]:
    """The hits selected by decision filters (label other than 'undecided', reviewer) as a subquery over the
    small hit_state table, or None when there are none."""
    parts, args = [], []
    if f.label not in (None, "undecided"):
        parts.append("SELECT hit_pk FROM hit_state WHERE label = ?")
        args.append(f.label)
    if f.reviewer is not None:
        parts.append("SELECT hit_pk FROM hit_state WHERE reviewer = ?")
        args.append(f.reviewer)
    if not parts:
        return None, []
    return " INTERSECT ".join(parts), args


def _from_where(f: Filters, me: str | None) -> tuple[str, list[Any]]:
    """FROM ... WHERE ... yielding ``h.hit_pk``, ``h.confidence`` and the facet fields of matching hits. With
    decision filters the rows come from ``decided_hits`` (one row per decided hit, a copy of its facet fields)
    joined to the driving set from ``hit_state``, so they never scan the million-row hits table."""
    drive, dargs = _driving_set(f)
    where, args = f.hit_clauses()
    if f.label == "undecided":
        where.append("NOT EXISTS (SELECT 1 FROM decided_hits s WHERE s.hit_pk = h.hit_pk)")
    if f.todo and me:
        where.append("NOT EXISTS (SELECT 1 FROM hit_state s WHERE s.hit_pk = h.hit_pk AND s.reviewer = ?)")
        args.append(me)
    w = (" WHERE " + " AND ".join(where)) if where else ""
    if drive is None:
        return f"FROM hits h{w}", args
    return f"FROM ({drive}) x CROSS JOIN decided_hits h ON h.hit_pk = x.hit_pk{w}", [*dargs, *args]


QUEUE_COLUMNS = ("h.hit_pk, h.hit_id, h.pattern, h.machine_label, h.confidence, h.year, h.institution, h.language, "
                 "h.text, h.text_start, h.spans, h.events, d.document_id, d.title, d.dup_group, d.doc_pk")


def queue(con: sqlite3.Connection, f: Filters, me: str | None, page: int = 0, size: int = 50) -> list[dict]:
    """One page of hits, highest machine confidence first (hits without a confidence last)."""
    frm, args = _from_where(f, me)
    sql = (f"SELECT {QUEUE_COLUMNS} FROM (SELECT h.hit_pk, h.confidence {frm} "
           "ORDER BY h.confidence DESC, h.hit_pk LIMIT ? OFFSET ?) p CROSS JOIN hits h ON h.hit_pk = p.hit_pk "
           "JOIN documents d ON d.doc_pk = h.doc_pk ORDER BY h.confidence DESC, h.hit_pk")  # NULLs last in DESC
    rows = [dict(r) for r in con.execute(sql, [*args, size, page * size])]
    if rows:
        pks = [r["hit_pk"] for r in rows]
        marks = ",".join("?" * len(pks))
        state: dict[int, dict[str, str]] = {}
        for s in con.execute(f"SELECT hit_pk, reviewer, label FROM hit_state WHERE hit_pk IN ({marks})", pks):
            state.setdefault(s[0], {})[s[1]] = s[2]
        for r in rows:
            r["labels"] = dict(sorted(state.get(r["hit_pk"], {}).items()))
            r["spans"] = json.loads(r["spans"] or "[]")
            r["events"] = json.loads(r["events"] or "[]")
    return rows


def hit(con: sqlite3.Connection, hit_pk: int) -> dict | None:
    r = con.execute(f"SELECT {QUEUE_COLUMNS}, h.passage_index, d.source, d.document_label, d.patterns, d.ethics, "
                    "d.identifier FROM hits h JOIN documents d ON d.doc_pk = h.doc_pk WHERE h.hit_pk = ?",
                    (hit_pk,)).fetchone()
    if r is None:
        return None
    d = dict(r)
    for k in ("spans", "events", "source", "patterns", "ethics"):
        d[k] = json.loads(d[k]) if d[k] else None
    d["labels"] = {s[0]: s[1] for s in con.execute(
        "SELECT reviewer, label FROM hit_state WHERE hit_pk = ? ORDER BY reviewer", (hit_pk,))}
    d["duplicates"] = []
    if d["dup_group"] is not None:
        d["duplicates"] = [dict(x) for x in con.execute(
            "SELECT d.doc_pk, d.document_id, d.title, MIN(h.hit_pk) AS hit_pk FROM documents d "
            "LEFT JOIN hits h ON h.doc_pk = d.doc_pk WHERE d.dup_group = ? AND d.doc_pk != ? "
            "GROUP BY d.doc_pk ORDER BY d.doc_pk LIMIT 50", (d["dup_group"], d["doc_pk"]))]
    return d


class FacetCache:
    """LRU cache of hit-field facet counts per hit-field filter combination and import generation (hits
    change only when results are imported)."""

    def __init__(self, size: int = 512):
        self.size = size
        self._d: OrderedDict = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key):
        with self._lock:
            if key in self._d:
                self._d.move_to_end(key)
                return self._d[key]
        return None

    def put(self, key, value) -> None:
        with self._lock:
            self._d[key] = value
            self._d.move_to_end(key)
            while len(self._d) > self.size:
                self._d.popitem(last=False)


def _hit_facets(con: sqlite3.Connection, f: Filters, cache: FacetCache | None) -> dict[str, list]:
    """Counts per hit-field facet under hit-field filters, from facet_counts (no filter) or the cube."""
    where, args = f.hit_clauses()
    # hits change only when results are imported (`review new --add`): the newest input id versions the cache
    generation = con.execute("SELECT MAX(input_pk) FROM inputs").fetchone()[0]
    key = ("hit", generation, tuple(where), tuple(args))
    if cache is not None and (got := cache.get(key)) is not None:
        return got
    out: dict[str, list] = {}
    if not where:
        for facet in HIT_FACETS:
            out[facet] = [(r[0], r[1]) for r in con.execute(
                "SELECT value, n FROM facet_counts WHERE facet = ? ORDER BY n DESC, value LIMIT ?",
                (facet, FACET_LIMIT))]
        out["_total"] = con.execute(
            "SELECT COALESCE(SUM(n), 0) FROM facet_counts WHERE facet = 'pattern'").fetchone()[0]
    else:
        w = " WHERE " + " AND ".join(c.replace("h.", "c.") for c in where)
        for facet in HIT_FACETS:
            out[facet] = [(None if r[0] is None else str(r[0]), r[1]) for r in con.execute(
                f"SELECT c.{facet}, SUM(c.n) AS n FROM facet_cube c{w} GROUP BY c.{facet} ORDER BY n DESC, c.{facet} "
                "LIMIT ?", [*args, FACET_LIMIT])]
        out["_total"] = con.execute(f"SELECT COALESCE(SUM(c.n), 0) FROM facet_cube c{w}", args).fetchone()[0]
    if cache is not None:
        cache.put(key, out)
    return out


def _decided_counts(con: sqlite3.Connection, f: Filters, facet: str) -> list[tuple[Any, int]]:
    """Counts per hit-field value over the hits selected by decision filters (driven from hit_state)."""
    frm, args = _from_where(f, None)
    return [(None if r[0] is None else str(r[0]), r[1]) for r in con.execute(
        f"SELECT h.{facet}, COUNT(*) AS n {frm} GROUP BY h.{facet} ORDER BY n DESC, h.{facet} LIMIT ?",
        [*args, FACET_LIMIT])]


def facets(con: sqlite3.Connection, f: Filters, me: str | None, cache: FacetCache | None = None) -> dict[str, Any]:
    """Counts per value of every facet over the hits matching ``f`` (``todo`` is ignored for facets)."""
    f = Filters(f.label, f.pattern, f.year, f.institution, f.reviewer, False)
    hit_only = Filters(pattern=f.pattern, year=f.year, institution=f.institution)
    hw, hargs = hit_only.hit_clauses()
    out: dict[str, Any] = {}
    if f.label == "undecided" and f.reviewer is not None:
        raise InputError("the 'undecided' label filter cannot be combined with a reviewer filter", column="reviewer")
    if f.hit_only:
        base = _hit_facets(con, f, cache)
        out.update({k: v for k, v in base.items() if k != "_total"})
        total = base["_total"]
    elif f.label == "undecided":
        # undecided = every hit matching the hit filters (cube) minus the decided ones (from hit_state)
        base = _hit_facets(con, hit_only, cache)
        w = (" WHERE " + " AND ".join(hw)) if hw else ""
        frm = f"FROM decided_hits h{w}"
        for facet in HIT_FACETS:
            decided = {(None if r[0] is None else str(r[0])): r[1] for r in con.execute(
                f"SELECT h.{facet}, COUNT(*) {frm} GROUP BY h.{facet}", hargs)}
            vals = [(v, n - decided.get(v, 0)) for v, n in base[facet]]
            out[facet] = sorted([x for x in vals if x[1] > 0], key=lambda x: (-x[1], str(x[0])))
        total = base["_total"] - con.execute(f"SELECT COUNT(*) {frm}", hargs).fetchone()[0]
    else:
        for facet in HIT_FACETS:
            out[facet] = _decided_counts(con, f, facet)
        frm, args = _from_where(f, None)
        total = con.execute(f"SELECT COUNT(*) {frm}", args).fetchone()[0]
    # decision facets: current labels and reviewers among the matching hits (driven from hit_state)
    if f.label == "undecided":
        out["label"], out["reviewer"] = [], []
    else:
        drive, dargs = _driving_set(f)
        conds, args = list(hw), list(hargs)
        if drive is not None:
            conds.append(f"s.hit_pk IN ({drive})")
            args.extend(dargs)
        join = " CROSS JOIN decided_hits h ON h.hit_pk = s.hit_pk" if hw else ""
        w = (" WHERE " + " AND ".join(conds)) if conds else ""
        out["label"] = [(r[0], r[1]) for r in con.execute(
            f"SELECT s.label, COUNT(DISTINCT s.hit_pk) AS n FROM hit_state s{join}{w} GROUP BY s.label "
            "ORDER BY n DESC, s.label", args)]
        out["reviewer"] = [(r[0], r[1]) for r in con.execute(
            f"SELECT s.reviewer, COUNT(*) AS n FROM hit_state s{join}{w} GROUP BY s.reviewer "
            f"ORDER BY n DESC, s.reviewer LIMIT {FACET_LIMIT}", args)]
    out["total"] = total
    return out


FACET_TITLES = (("label", "decision label"), ("pattern", "pattern"), ("year", "year"), ("institution", "institution"),
                ("reviewer", "reviewer"), ("machine_label", "screen label"))
LINKED = {"label", "pattern", "year", "institution", "reviewer"}


def facet_links(query: dict[str, str], fac: dict[str, Any], label_names: dict[str, str]) -> list[tuple]:
    """[(title, [(display, href or None, n)])] for the facet sidebar: one urlencode per facet, not per value."""
    out = []
    for name, title in FACET_TITLES:
        base = urllib.parse.urlencode({k: v for k, v in query.items() if k not in (name, "page")})
        prefix = f"/queue?{base}&" if base else "/queue?"
        rows: list[tuple[str, str | None, Any]] = []
        for value, n in fac.get(name, []):
            if value is None:
                rows.append(("(none)", None, n))
                continue
            display = label_names.get(value, value) if name == "label" else str(value)
            href = f"{prefix}{name}={urllib.parse.quote_plus(str(value))}" if name in LINKED else None
            rows.append((display, href, n))
        out.append((title, rows))
    return out


def progress(con: sqlite3.Connection, me: str | None, by_label: bool = True) -> dict[str, Any]:
    total = con.execute("SELECT COALESCE(SUM(n), 0) FROM facet_counts WHERE facet = 'pattern'").fetchone()[0]
    decided = con.execute("SELECT COUNT(*) FROM decided_hits").fetchone()[0]
    mine = con.execute("SELECT COUNT(*) FROM hit_state WHERE reviewer = ?", (me or "",)).fetchone()[0]
    return {"hits": total, "decided": decided, "mine": mine,
            "decisions": con.execute("SELECT COALESCE(MAX(decision_id), 0) FROM decisions").fetchone()[0],
            "by_label": [(r[0], r[1]) for r in con.execute(
                "SELECT label, COUNT(DISTINCT hit_pk) FROM hit_state GROUP BY label ORDER BY label")]
            if by_label else []}
