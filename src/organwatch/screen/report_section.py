"""Screening section of ``organwatch report`` (ORDER 20), from screen result files (.parquet/.jsonl/.csv)."""

from __future__ import annotations

import contextlib
import json
from collections import Counter
from pathlib import Path
from typing import Any

from organwatch.findings import Finding, InputRef, Kind, Provenance, sha256_file
from organwatch.report.sections import ReportContext, ReportItem, Section, table_columns
from organwatch.report.svg import bar_chart, html_table

ORDER = 20
MAX_ROWS = 100  # flagged documents listed in the section's table
REQUIRED = {"document_id", "document_label", "patterns", "passages", "ethics"}
LABELS = ["violation", "suspicious", "compliant", "not_applicable"]
PATTERN_NAMES = {"V1": "intubation after BD", "V2": "intubation at procurement",
                 "V3": "intubation at/after opening", "V4": "mask ventilation",
                 "V5": "airway after breathing stopped", "V6": "arrest, no determination"}


def accepts(path: Path) -> bool:
    return table_columns(Path(path)) >= REQUIRED


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
            for i, p in zip(idx, ps, strict=True):
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
                    with contextlib.suppress(ValueError):
                        r[k] = json.loads(r[k])
            rows.append(r)
    return rows


# Rogers et al. (BMJ Open 2019) Table 3 items, as ethics fields: (field, row label)
TABLE3 = (("donor_source", "Donor source reported"),
          ("no_prisoner_statement", "Explicit statement that no organs from executed prisoners were used"),
          ("donor_consent", "Donor or family consent reported"),
          ("ethics_approval", "Ethics committee approval reported"))


def _pct(k: int, n: int) -> str:
    return f"{k / n * 100:.1f}\u00a0%" if n else "–"


def ethics_summary(eth: list[dict[str, Any]]) -> dict[str, Any]:
    """Counts for the ethics finding: documents the §6 standard applies to (the denominator) and, among
    them, how many report each Table 3 item, fail the standard, or carry negated statements."""
    applies = [e for e in eth if e.get("standard_applies") is True]
    assessed = sum(1 for e in eth if "standard_applies" in e)
    out: dict[str, Any] = {"documents_with_ethics_fields": len(eth), "documents_assessed_for_scope": assessed,
                           "standard_applies": len(applies)}
    for key, _ in TABLE3:
        out[f"{key}_reported"] = sum(1 for e in applies if e.get(key))
    out["fails_standard"] = sum(1 for e in applies if e.get("fails_standard"))
    out["negated_statements"] = sum(1 for e in applies if e.get("negated"))
    out["date_red_flags"] = sum(1 for e in applies if (e.get("date_plausibility") or {}).get("status") == "red_flag")
    return out


def _ethics_item(eth: list[dict[str, Any]], prov: Provenance) -> tuple[Finding, Any]:
    st = ethics_summary(eth)
    n, m = st["standard_applies"], st["documents_with_ethics_fields"]
    rows = [[label, str(st[f"{key}_reported"]), _pct(st[f"{key}_reported"], n),
             str(n - st[f"{key}_reported"]), _pct(n - st[f"{key}_reported"], n)] for key, label in TABLE3]
    rows.append(["Fails the standard (§6: donor source or donor consent missing, or a voluntary-donation claim "
                 "for transplants before 2010)",
                 str(st["fails_standard"]), _pct(st["fails_standard"], n), str(n - st["fails_standard"]),
                 _pct(n - st["fails_standard"], n)])
    table = html_table(["item", "yes", "share yes", "no", "share no"], rows,
                       caption=f"Ethics reporting in the {n} documents the standard applies to "
                               f"(layout of Rogers et al., BMJ Open 2019, Table 3)")
    consent, prisoner = st["donor_consent_reported"], st["no_prisoner_statement_reported"]
    if n:
        expl = (f"The ethics-reporting standard applies to {n} of the {m} screened documents (research reporting "
                f"organ-transplant outcomes, in the configured scope). Of these {n}, {consent} ({_pct(consent, n)}) "
                f"report donor or family consent and {prisoner} ({_pct(prisoner, n)}) state explicitly that no "
                f"organs from executed prisoners were used. Counts of explicit statements found in the text; "
                f"statements the text negates (\"consent was not reported\") count as not reported.")
    else:
        expl = (f"None of the {m} screened documents reports organ-transplant outcomes in the configured scope, "
                "so the ethics-reporting standard was applied to none of them.")
    f2 = Finding(
        check="screen.ethics.reporting", subject=f"{n} of {m} documents in the scope of the reporting standard",
        kind=Kind.DESCRIPTIVE, statistics=st,
        reference={"standard": "docs/specs/screening-criteria.md §6 (donor source, donor consent, ethics approval, "
                               "date plausibility)", "layout": "Rogers et al., BMJ Open 2019, Table 3"},
        explanation=expl, provenance=prov, title="Ethics reporting in transplant research papers", engine="screen",
        not_tested=["documents outside the scope of the standard (not reporting organ-transplant outcomes, or "
                    "outside the configured country scope)",
                    "statements outside the supplied text (e.g. supplementary files)"])
    return f2, table


def _provenance(inputs: list[Path]) -> Provenance:
    params: dict[str, Any] = {}
    for p in inputs:
        if Path(p).suffix.lower() in (".parquet", ".pq"):
            import pyarrow.parquet as pq

            meta = pq.read_schema(p).metadata or {}
            if b"organwatch" in meta:
                with contextlib.suppress(ValueError, KeyError):
                    params[str(p)] = json.loads(meta[b"organwatch"])["provenance"]
    return Provenance(inputs=[InputRef(str(p), sha256_file(p)) for p in inputs],
                      parameters={"screen_runs": params} if params else {}, seed=None)


def _failed(r: dict[str, Any]) -> bool:  # a record a reader could not read: no ethics fields
    return r.get("ethics") in (None, "") and bool(r.get("errors"))


def _labels_item(recs: list[dict[str, Any]], prov: Provenance) -> Finding:
    failed = sum(1 for r in recs if _failed(r))
    labels = Counter(r.get("document_label") for r in recs if not _failed(r))
    patterns = Counter(code for r in recs for code in (r.get("patterns") or []))
    n = len(recs) - failed
    flagged = labels.get("violation", 0) + labels.get("suspicious", 0)
    return Finding(
        check="screen.documents.labels", subject=f"{n} screened documents", kind=Kind.DESCRIPTIVE,
        statistics={"documents": n, "records_failed": failed, **{k: labels.get(k, 0) for k in LABELS},
                    "flagged_for_review": flagged, "patterns": dict(sorted(patterns.items()))},
        reference={"criteria": "docs/specs/screening-criteria.md §4-§5 (dead donor rule; V1-V6)"},
        explanation=(f"{labels.get('violation', 0)} of {n} documents contain at least one passage whose described "
                     f"order of events matches a violation pattern, and {labels.get('suspicious', 0)} an ambiguous "
                     "one. These are machine flags for human review, not findings about any person."),
        evidence=[{"document_id": r["document_id"], "label": r["document_label"], "patterns": r.get("patterns")}
                  for r in recs if r.get("document_label") in ("violation", "suspicious")][:50],
        provenance=prov, title="Literature screening: passages matching dead-donor-rule patterns", engine="screen",
        not_tested=["passages without a donor term nearby, except brain death followed by intubation (judged by "
                    "the document's transplantation context)",
                    "text not in the inputs (full texts that were not supplied)"])


def shorten(text: str, limit: int = 300) -> str:
    """``text`` cut to at most ``limit`` characters at a sentence, clause or word boundary (never mid-word)."""
    if len(text) <= limit:
        return text
    cut = text[:limit]
    for ends in ("。！？；.!?;", "，,、：:", " "):
        k = max(cut.rfind(ch) for ch in ends)
        if k >= limit // 2:
            return cut[:k + 1].rstrip() + " …"
    return cut + " …"


def _flag_table(recs: list[dict[str, Any]]) -> Any:
    rows = []
    for r in recs:
        if r.get("document_label") not in ("violation", "suspicious"):
            continue
        for p in r.get("passages") or []:
            if p.get("label") in ("violation", "suspicious"):
                rows.append([r["document_id"], str(r.get("year") or ""), p.get("label"), p.get("pattern") or "",
                             f"{p.get('confidence', 0):.2f}", shorten(p.get("text") or "")])
                break
        if len(rows) >= MAX_ROWS:
            break
    return html_table(["document", "year", "label", "pattern", "confidence", "passage"], rows,
                      caption="Flagged documents (first 100): first flagged passage")


def build_section(ctx: ReportContext, inputs: list[Path]) -> Section | None:
    if not inputs:
        return None
    recs: list[dict[str, Any]] = []
    for p in inputs:
        recs.extend(_load(Path(p)))
    prov = _provenance(inputs)
    f1 = _labels_item(recs, prov)
    patterns = f1.statistics["patterns"]
    chart = bar_chart([f"{c} {PATTERN_NAMES[c]}" for c in PATTERN_NAMES],
                      [patterns.get(c, 0) for c in PATTERN_NAMES], title="Documents per violation pattern",
                      value_label="documents")
    table = _flag_table(recs)
    eth: list[dict[str, Any]] = [e for r in recs if isinstance(e := r.get("ethics"), dict)]
    f2, eth_table = _ethics_item(eth, prov)
    return Section(id="screening", title="Literature screening", order=ORDER,
                   intro="Machine screening of the supplied literature against the dead-donor-rule criteria. "
                         "Every flag is a pointer for human review with its evidence span.",
                   items=[ReportItem(f1, chart_svg=chart, table_html=table), ReportItem(f2, table_html=eth_table)],
                   not_tested=["recall on paraphrases not covered by the rule pack"])
