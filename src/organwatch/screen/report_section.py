"""Screening section of ``organwatch report`` (ORDER 20), from screen result files (.parquet/.jsonl/.csv)."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

from organwatch.findings import Finding, InputRef, Kind, Provenance, sha256_file
from organwatch.report.sections import ReportContext, ReportItem, Section
from organwatch.report.svg import bar_chart, html_table

ORDER = 20
MAX_ROWS = 100  # flagged documents listed in the section's table
REQUIRED = {"document_id", "document_label", "patterns", "passages", "ethics"}
LABELS = ["violation", "suspicious", "compliant", "not_applicable"]
PATTERN_NAMES = {"V1": "intubation after BD", "V2": "intubation at procurement",
                 "V3": "intubation at/after opening", "V4": "mask ventilation",
                 "V5": "airway after breathing stopped", "V6": "arrest, no determination"}


def _columns(path: Path) -> set[str]:
    suf = path.suffix.lower()
    try:
        if suf in (".parquet", ".pq"):
            import pyarrow.parquet as pq

            return set(pq.read_schema(path).names)
        if suf in (".jsonl", ".ndjson"):
            with open(path, encoding="utf-8") as fh:
                first = fh.readline()
            return set(json.loads(first)) if first.strip() else set()
        if suf == ".csv":
            import csv

            with open(path, encoding="utf-8", newline="") as fh:
                return set(next(csv.reader(fh), []))
    except Exception:
        return set()
    return set()


def accepts(path: Path) -> bool:
    return _columns(Path(path)) >= REQUIRED


def _load(path: Path) -> list[dict[str, Any]]:
    suf = path.suffix.lower()
    if suf in (".parquet", ".pq"):
        import pyarrow.parquet as pq

        # memory: every column but the passages (and full texts) for all rows; passages only for the
        # first flagged rows the section shows
        names = pq.read_schema(path).names
        table = pq.read_table(path, columns=[c for c in names if c not in ("passages", "text")])
        rows = table.to_pylist()
        idx = [i for i, r in enumerate(rows) if r.get("document_label") in ("violation", "suspicious")][:MAX_ROWS]
        if idx and "passages" in names:
            ps = pq.read_table(path, columns=["passages"]).column("passages").take(idx).to_pylist()
            for i, p in zip(idx, ps):
                rows[i]["passages"] = p
        return rows
    if suf in (".jsonl", ".ndjson"):
        with open(path, encoding="utf-8") as fh:
            return [json.loads(line) for line in fh if line.strip()]
    import csv

    rows = []
    with open(path, encoding="utf-8", newline="") as fh:
        for r in csv.DictReader(fh):
            for k in ("patterns", "passages", "ethics", "source", "errors"):
                if r.get(k):
                    try:
                        r[k] = json.loads(r[k])
                    except ValueError:
                        pass
            rows.append(r)
    return rows


def build_section(ctx: ReportContext, inputs: list[Path]) -> Section | None:
    if not inputs:
        return None
    recs: list[dict[str, Any]] = []
    for p in inputs:
        recs.extend(_load(Path(p)))
    params: dict[str, Any] = {}
    for p in inputs:
        if Path(p).suffix.lower() in (".parquet", ".pq"):
            import pyarrow.parquet as pq

            meta = pq.read_schema(p).metadata or {}
            if b"organwatch" in meta:
                try:
                    params[str(p)] = json.loads(meta[b"organwatch"])["provenance"]
                except (ValueError, KeyError):
                    pass
    prov = Provenance(inputs=[InputRef(str(p), sha256_file(p)) for p in inputs],
                      parameters={"screen_runs": params} if params else {}, seed=None)
    def _failed(r: dict[str, Any]) -> bool:  # a record a reader could not read: no ethics fields
        return r.get("ethics") in (None, "") and bool(r.get("errors"))

    failed = sum(1 for r in recs if _failed(r))
    labels = Counter(r.get("document_label") for r in recs if not _failed(r))
    patterns = Counter(code for r in recs for code in (r.get("patterns") or []))
    n = len(recs) - failed
    flagged = labels.get("violation", 0) + labels.get("suspicious", 0)
    f1 = Finding(
        check="screen.documents.labels", subject=f"{n} screened documents", kind=Kind.DESCRIPTIVE,
        statistics={"documents": n, "records_failed": failed, **{k: labels.get(k, 0) for k in LABELS},
                    "flagged_for_review": flagged, "patterns": dict(sorted(patterns.items()))},
        reference={"criteria": "screening-criteria.md §4-§5 (dead donor rule; V1-V6)"},
        explanation=(f"{labels.get('violation', 0)} documents contain at least one passage whose described order of "
                     f"events matches a violation pattern, and {labels.get('suspicious', 0)} an ambiguous one. These "
                     "are machine flags for human review, not findings about any person."),
        evidence=[{"document_id": r["document_id"], "label": r["document_label"], "patterns": r.get("patterns")}
                  for r in recs if r.get("document_label") in ("violation", "suspicious")][:50],
        provenance=prov, title="Literature screening: passages matching dead-donor-rule patterns", engine="screen",
        not_tested=["passages without a donor term within the gate window", "text not in the inputs (full texts "
                    "that were not supplied)"])
    chart = bar_chart([f"{c} {PATTERN_NAMES[c]}" for c in PATTERN_NAMES],
                      [patterns.get(c, 0) for c in PATTERN_NAMES], title="Documents per violation pattern",
                      value_label="documents")
    rows = []
    for r in recs:
        if r.get("document_label") not in ("violation", "suspicious"):
            continue
        for p in r.get("passages") or []:
            if p.get("label") in ("violation", "suspicious"):
                rows.append([r["document_id"], str(r.get("year") or ""), p.get("label"), p.get("pattern") or "",
                             f"{p.get('confidence', 0):.2f}", (p.get("text") or "")[:300]])
                break
        if len(rows) >= MAX_ROWS:
            break
    table = html_table(["document", "year", "label", "pattern", "confidence", "passage"], rows,
                       caption="Flagged documents (first 100): first flagged passage")
    eth = [r.get("ethics") for r in recs if isinstance(r.get("ethics"), dict)]
    m = len(eth)

    def share(key: str) -> float:
        return round(sum(1 for e in eth if e.get(key)) / m, 4) if m else 0.0

    f2 = Finding(
        check="screen.ethics.reporting", subject=f"{m} documents with ethics-reporting fields",
        kind=Kind.DESCRIPTIVE,
        statistics={"documents": m, "donor_source_stated": round(sum(1 for e in eth if e.get("donor_source")) / m, 4)
                    if m else 0.0, "no_prisoner_statement": share("no_prisoner_statement"),
                    "donor_consent": share("donor_consent"), "ethics_approval": share("ethics_approval"),
                    "fails_standard": share("fails_standard"),
                    "date_red_flags": sum(1 for e in eth if (e.get("date_plausibility") or {}).get("status") ==
                                          "red_flag")},
        reference={"standard": "screening-criteria.md §6: fails if donor source or donor consent is missing, or a "
                               "voluntary-donation claim predates 2010"},
        explanation="Shares of documents reporting each ethics item, detected from explicit statements in the text.",
        provenance=prov, title="Ethics reporting in the screened documents", engine="screen",
        not_tested=["statements outside the supplied text (e.g. supplementary files)"])
    eth_rows = []
    for key, label in (("donor_source", "donor source stated"), ("no_prisoner_statement", "explicit no-prisoner statement"),
                       ("donor_consent", "donor or family consent reported"), ("ethics_approval", "ethics approval reported"),
                       ("death_determination", "manner of death determination stated"),
                       ("fails_standard", "fails the reporting standard (§6)")):
        k = sum(1 for e in eth if e.get(key))
        eth_rows.append([label, str(k), f"{(k / m * 100) if m else 0:.1f} %"])
    red = sum(1 for e in eth if (e.get("date_plausibility") or {}).get("status") == "red_flag")
    eth_rows.append(["voluntary-donation claim for transplants before 2010", str(red),
                     f"{(red / m * 100) if m else 0:.1f} %"])
    eth_table = html_table(["item", "documents", "share"], eth_rows, caption=f"Ethics reporting in {m} documents")
    return Section(id="screening", title="Literature screening", order=ORDER,
                   intro="Machine screening of the supplied literature against the dead-donor-rule criteria. "
                         "Every flag is a pointer for human review with its evidence span.",
                   items=[ReportItem(f1, chart_svg=chart, table_html=table), ReportItem(f2, table_html=eth_table)],
                   not_tested=["recall on paraphrases not covered by the rule pack"])
