"""The review section of ``organwatch report``: what human reviewers decided about screener hits.

Given ``.owproj`` project files, it states per project: how many hits were decided and with which labels (a
chart), the passages reviewers confirmed per pattern (evidence with the rationale, spans and provenance), and
inter-reviewer agreement. A hit counts as confirmed under ``[report] confirmed_rule`` in ``review.toml``.
Nothing is inferred beyond the recorded decisions; what could not be assessed is listed under not_tested.
"""

from __future__ import annotations

import json
import sqlite3
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

from organwatch.errors import InputError
from organwatch.findings import Finding, InputRef, Kind, Provenance, sha256_file
from organwatch.report.sections import ReportContext, ReportItem, Section
from organwatch.report.svg import bar_chart, html_table
from organwatch.review.agreement import agreement
from organwatch.review.config import labels, settings
from organwatch.review.render import strip_bidi
from organwatch.review.schema import APPLICATION_ID, SCHEMA_VERSION, connect, guarded

ORDER = 30


def accepts(path: Path) -> bool:
    """A review project: a ``.owproj`` file, or any SQLite file carrying the organwatch review application id."""
    path = Path(path)
    if not path.is_file():
        return False
    if path.suffix.lower() == ".owproj":
        return True
    try:
        with open(path, "rb") as fh:
            head = fh.read(100)
    except OSError:
        return False
    return head[:16] == b"SQLite format 3\x00" and int.from_bytes(head[68:72], "big") == APPLICATION_ID


def _confirmed(labels_by_reviewer: dict[str, str], rule: str) -> bool:
    vals = list(labels_by_reviewer.values())
    n = sum(v == "confirmed_violation" for v in vals)
    if rule == "any":
        return n >= 1
    if rule == "unanimous":
        return n == len(vals) and n > 0
    return n * 2 > len(vals)


def _consensus(labels_by_reviewer: dict[str, str]) -> str:
    c = Counter(labels_by_reviewer.values()).most_common()
    if len(c) > 1 and c[0][1] == c[1][1]:
        return "disagreement"
    return c[0][0]


def _excerpt(text: str | None, start: int | None, spans: list, limit: int) -> tuple[str, list[str]]:
    if not text:
        return "", []
    base = start or 0
    quoted = [text[max(a - base, 0):max(b - base, 0)] for a, b in spans if b - base > 0 and a - base < len(text)]
    first = min((a - base for a, _ in spans), default=0)
    lo = max(0, first - limit // 3)
    ex = text[lo:lo + limit]
    return ("…" if lo > 0 else "") + ex + ("…" if lo + limit < len(text) else ""), quoted


def project_items(path: Path, ctx: ReportContext) -> tuple[list[ReportItem], list[str]]:
    cfg = settings()["report"]
    rule = cfg["confirmed_rule"]
    threshold = float(settings()["agreement"]["kappa_threshold"])
    with guarded(path):
        con = connect(path, readonly=True)  # checks the schema: a crafted file is refused before any query
    try:
        return _items(con, path, ctx, rule, threshold, cfg)
    except sqlite3.DatabaseError as e:
        raise InputError(f"damaged review project ({' '.join(str(e).split())[:200]})", file=path.name) from None
    except (ValueError, TypeError, KeyError, IndexError, AttributeError, RecursionError) as e:
        # values a genuine project never holds (say, spans that are not JSON, or a state row without its hit)
        raise InputError(f"malformed review project ({type(e).__name__}: {' '.join(str(e).split())[:200]})",
                         file=path.name) from None
    finally:
        con.close()


def _items(con: sqlite3.Connection, path: Path, ctx: ReportContext, rule: str, threshold: float,
           cfg: dict[str, Any]) -> tuple[list[ReportItem], list[str]]:
    name = strip_bidi(path.name)  # shown in titles, which cannot isolate a bidi override
    inputs = [InputRef(name=name, sha256=sha256_file(path))] + [
        InputRef(name=r["name"], sha256=r["sha256"])
        for r in con.execute("SELECT name, sha256 FROM inputs ORDER BY input_pk")]
    params = {"confirmed_rule": rule, "kappa_threshold": threshold, "schema_version": SCHEMA_VERSION}
    screen_prov = {r["name"]: json.loads(r["provenance"] or "{}")
                   for r in con.execute("SELECT name, provenance FROM inputs")}
    if any(screen_prov.values()):
        params["screening_provenance"] = screen_prov
    prov = lambda: Provenance(inputs=list(inputs), parameters=dict(params))  # noqa: E731
    n_hits = con.execute("SELECT COUNT(*) FROM hits").fetchone()[0]
    n_decisions = con.execute("SELECT COUNT(*) FROM decisions").fetchone()[0]
    by_hit: dict[int, dict[str, str]] = defaultdict(dict)
    for r in con.execute("SELECT hit_pk, reviewer, label FROM hit_state ORDER BY hit_pk, reviewer"):
        by_hit[r[0]][r[1]] = r[2]
    reviewers = sorted({rv for v in by_hit.values() for rv in v})
    consensus = Counter(_consensus(v) for v in by_hit.values())
    not_tested: list[str] = []
    items: list[ReportItem] = []
    names = {lab.code: lab.name for lab in labels()}

    confirmed_pks = sorted(pk for pk, v in by_hit.items() if _confirmed(v, rule))
    n_susp = sum(1 for v in by_hit.values() if _consensus(v) == "suspicious")
    stats = {"hits": n_hits, "hits_decided": len(by_hit), "decisions_in_ledger": n_decisions,
             "reviewers": len(reviewers), "hits_confirmed": len(confirmed_pks)}
    stats.update({f"current_{k}": v for k, v in sorted(consensus.items())})
    order = [lab.code for lab in labels()] + ["disagreement"]
    chart_labels = [names.get(k, k) for k in order if consensus.get(k)]
    chart_vals = [consensus[k] for k in order if consensus.get(k)]
    summary = Finding(
        check="review.decisions", engine="review", title=f"Human review of screener hits ({name})",
        subject=f"{n_hits} screener hits in review project {name}", kind=Kind.DESCRIPTIVE, statistics=stats,
        reference={"criterion": "screening-criteria.md violation patterns V1-V6, applied by human reviewers",
                   "confirmed_rule": rule},
        explanation=(f"{len(by_hit)} of {n_hits} hits have a recorded decision from {len(reviewers)} reviewer(s). "
                     f"{len(confirmed_pks)} hit(s) were confirmed by reviewers as describing a violation pattern "
                     f"(rule: {rule}); {n_susp} were labelled suspicious. Labels describe what a passage shows against "
                     "the stated criterion, not a judgement of people."),
        evidence=[{"label": k, "hits": v} for k, v in sorted(consensus.items())], provenance=prov(),
        not_tested=([] if by_hit else ["no decision has been recorded in this project yet"]) +
                   ([f"{n_hits - len(by_hit)} hits have no decision yet"] if n_hits > len(by_hit) else []))
    items.append(ReportItem(summary, chart_svg=bar_chart(chart_labels, chart_vals, "Hits by current decision",
                                                         value_label="hits") if chart_vals else None,
                            chart_caption="Current decision per hit (the majority of its reviewers' latest labels; "
                                          "ties shown as disagreement)."))
    if n_hits > len(by_hit):
        not_tested.append(f"{name}: {n_hits - len(by_hit)} of {n_hits} hits not yet reviewed")

    # confirmed passages, per pattern
    if confirmed_pks:
        rows_by_pattern: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for i in range(0, len(confirmed_pks), 500):
            chunk = confirmed_pks[i:i + 500]
            marks = ",".join("?" * len(chunk))
            hits = {r["hit_pk"]: r for r in con.execute(
                f"SELECT h.hit_pk, h.hit_id, h.pattern, h.text, h.text_start, h.spans, h.confidence, d.document_id, "
                f"d.title, d.year, d.institution, d.identifier, d.dup_group FROM hits h JOIN documents d "
                f"ON d.doc_pk = h.doc_pk WHERE h.hit_pk IN ({marks})", chunk)}
            decs = defaultdict(list)
            for r in con.execute(f"SELECT s.hit_pk, d.reviewer, d.timestamp, d.label, d.pattern, d.rationale, "
                                 f"d.decision_id FROM hit_state s JOIN decisions d ON d.decision_id = s.decision_id "
                                 f"WHERE s.hit_pk IN ({marks}) ORDER BY d.decision_id", chunk):
                decs[r["hit_pk"]].append(dict(r))
            for pk in chunk:
                h = hits[pk]
                confirming = [d for d in decs[pk] if d["label"] == "confirmed_violation"]
                pattern = Counter(d["pattern"] or h["pattern"] or "unspecified"
                                  for d in confirming).most_common(1)[0][0]
                ex, quoted = _excerpt(h["text"], h["text_start"], json.loads(h["spans"] or "[]"),
                                      int(cfg["excerpt_chars"]))
                rows_by_pattern[pattern].append({
                    "hit_id": h["hit_id"], "document_id": h["document_id"], "title": h["title"], "year": h["year"],
                    "institution": h["institution"], "identifier": h["identifier"], "machine_pattern": h["pattern"],
                    "machine_confidence": h["confidence"], "duplicate_group": h["dup_group"],
                    "passage_excerpt": ex, "evidence_spans": quoted,
                    "decisions": [{k: d[k] for k in ("decision_id", "reviewer", "timestamp", "label", "pattern",
                                                      "rationale")} for d in decs[pk]]})
        for pattern in sorted(rows_by_pattern):
            rows = rows_by_pattern[pattern]
            docs = {r["document_id"] for r in rows}
            groups = {r["duplicate_group"] for r in rows if r["duplicate_group"] is not None}
            f = Finding(
                check="review.confirmed_pattern", engine="review",
                title=f"Passages confirmed as pattern {strip_bidi(pattern)}",
                subject=f"pattern {strip_bidi(pattern)} in review project {strip_bidi(name)}", kind=Kind.DESCRIPTIVE,
                statistics={"hits_confirmed": len(rows), "documents": len(docs),
                            "documents_in_duplicate_groups": sum(1 for r in rows if r["duplicate_group"] is not None),
                            "duplicate_groups": len(groups)},
                reference={"criterion": f"screening-criteria.md pattern {pattern}", "confirmed_rule": rule},
                explanation=(f"Reviewers confirmed that {len(rows)} passage(s) in {len(docs)} document(s) describe "
                             f"pattern {strip_bidi(pattern)} against the stated criterion. Each item keeps the "
                             "passage excerpt, the evidence spans, and every reviewer's current decision with its "
                             "rationale."),
                evidence=rows, provenance=prov())
            shown = rows[: int(cfg["max_table_rows"])]
            table = html_table(["hit", "document", "year", "evidence", "reviewers", "rationale"], [
                (r["hit_id"], r["title"] or r["document_id"], r["year"],
                 " … ".join(r["evidence_spans"]) or r["passage_excerpt"],
                 "; ".join(f"{d['reviewer']}: {names.get(d['label'], d['label'])}" for d in r["decisions"]),
                 " | ".join(d["rationale"] for d in r["decisions"] if d["rationale"]))
                for r in shown], caption=f"Confirmed passages, pattern {pattern}"
                + (f" (first {len(shown)} of {len(rows)}; all in the findings JSON)" if len(shown) < len(rows) else ""),
                numeric=False)
            items.append(ReportItem(f, table_html=table))

    # agreement
    a = agreement(con, disagreement_limit=50)
    k = a["fleiss_kappa"]
    if k is None:
        not_tested.append(f"{name}: inter-reviewer agreement not testable (needs hits decided by two or more "
                          "reviewers with more than one label in use)")
    items.append(ReportItem(Finding(
        check="review.agreement", engine="review", title=f"Inter-reviewer agreement ({name})",
        subject=f"{a['hits_multiply_reviewed']} hits decided by two or more reviewers in {name}", kind=Kind.DESCRIPTIVE,
        statistics={"fleiss_kappa": k, "hits_multiply_reviewed": a["hits_multiply_reviewed"],
                    "disagreements": a["n_disagreements"], "reviewers": len(a["reviewers"])},
        reference={"threshold": threshold, "scale": "Landis & Koch (1977): 0.61-0.80 substantial"},
        explanation=("Fleiss' kappa over the current labels of hits with two or more reviewers; pairwise Cohen's kappa "
                     "in the evidence. Agreement below the threshold means the labels need adjudication before use."),
        evidence=[{"reviewers": p["reviewers"], "n": p["n"], "cohen_kappa": p["kappa"],
                   "observed_agreement": p["observed_agreement"]} for p in a["pairs"]]
                 + [{"disagreement": d["hit_id"], "labels": d["labels"]} for d in a["disagreements"]],
        provenance=prov(),
        not_tested=[] if k is not None else ["kappa is undefined for this project's decisions"])))
    return items, not_tested


def build_section(ctx: ReportContext, inputs: list[Path]) -> Section | None:
    if not inputs:
        return None
    section = Section(id="review", title="Human review of screener hits",
                      intro=("Decisions recorded by reviewers in organwatch review projects: each screener hit is "
                             "labelled confirmed violation, suspicious, not a violation, duplicate or out of scope, "
                             "with a rationale, in an append-only ledger."))
    for p in inputs:
        items, nt = project_items(Path(p), ctx)
        section.items.extend(items)
        section.not_tested.extend(nt)
    return section
