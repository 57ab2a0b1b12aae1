"""The compliance section of ``organwatch report`` (ORDER 50).

Always: the legislation registry by jurisdiction and provision type (embedded ``laws`` dataset), and a check that
the engine's jurisdiction rule parameters agree with the registry rows they cite. With ``organwatch claims``
outcome files (JSONL / CSV / Parquet with claim_id, line, jurisdiction, outcome): outcome counts by jurisdiction.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from markupsafe import Markup

from organwatch.errors import InputError
from organwatch.findings import Finding, InputRef, Kind, Provenance, sha256_file
from organwatch.report import svg
from organwatch.report.sections import ReportContext, ReportItem, Section, table_columns

ORDER = 50
OUTCOME_KEYS = {"claim_id", "line", "jurisdiction", "outcome"}


OUTCOME_LABELS = {"deny_statutory": "coverage barred", "review_required": "needs review",
                  "limit_permitted": "limit permitted", "allow": "allowed", "not_effective": "before the law",
                  "not_in_scope": "plan not covered", "not_transplant_related": "not transplant-related"}


def _raw_rows(path: Path) -> list[dict[str, Any]]:
    suffix = path.suffix.lower()
    if suffix in (".parquet", ".pq"):
        import pyarrow.parquet as pq

        try:
            return pq.read_table(path).to_pylist()
        except Exception as e:  # pyarrow raises several types on damaged files
            raise InputError(f"not a readable Parquet claim-outcome file ({type(e).__name__})", file=path.name) \
                from None
    if suffix == ".csv":
        import csv

        with open(path, encoding="utf-8", newline="") as fh:
            return list(csv.DictReader(fh))
    rows = []
    with open(path, encoding="utf-8") as fh:
        for n, ln in enumerate(fh, 1):
            if not ln.strip():
                continue
            try:
                r = json.loads(ln)
            except ValueError:
                raise InputError("not a JSON object (claim-outcome JSON Lines expected)", file=path.name,
                                 line=n) from None
            if not isinstance(r, dict):
                raise InputError("not a JSON object (claim-outcome JSON Lines expected)", file=path.name, line=n)
            rows.append(r)
    return rows


def _read_outcomes(path: Path) -> list[dict[str, Any]]:
    """The outcome records of a file written by ``organwatch claims``, validated: every record has claim_id,
    line (an integer), jurisdiction and a known outcome; the first bad record is a one-line error."""
    from organwatch.claims.model import OUTCOMES

    try:
        rows = _raw_rows(path)
    except UnicodeDecodeError:
        raise InputError("not UTF-8 text", file=path.name) from None
    for n, r in enumerate(rows, 1):
        missing = OUTCOME_KEYS - set(r)
        if missing:
            raise InputError(f"claim-outcome record without {', '.join(sorted(missing))}", file=path.name, record=n)
        if r.get("outcome") not in OUTCOMES:
            raise InputError("unknown outcome (not written by organwatch claims)", file=path.name, record=n,
                             column="outcome")
        try:
            int(r["line"])
        except (TypeError, ValueError):
            raise InputError("line is not an integer", file=path.name, record=n, column="line") from None
    return rows


def accepts(path: Path) -> bool:
    """A claim-outcome table written by ``organwatch claims``."""
    return table_columns(path) >= OUTCOME_KEYS
    return False


def _registry_item() -> ReportItem:
    from organwatch import datasets
    from organwatch.claims.registry import PROVISIONS, query_laws, verification_label

    rows, _ = query_laws()
    info = datasets.info("laws")
    juris = sorted({r["jurisdiction"] for r in rows})
    counts = {p: sum(1 for r in rows if p in r["provisions_types"]) for p in PROVISIONS}
    table_rows = []
    for r in sorted(rows, key=lambda r: (r["jurisdiction"], r["id"])):
        fixed = ", ".join(sorted({c["column"].replace("_", " ") for c in r["corrections"]}))
        table_rows.append([r["jurisdiction"], r["id"], r["status"].replace("_", " "), r["status_date"] or ""]
                          + ["✓" if p in r["provisions_types"] else "" for p in PROVISIONS]
                          + [verification_label(r["verification"]), fixed]
                          + [urlsplit(r["source_urls"][0]).netloc if r["source_urls"] else ""])
    table = svg.html_table(["jurisdiction", "instrument (laws.csv id)", "status", "status date", "insurance ban",
                            "criminal", "reporting duty", "travel warning", "sanctions", "genetic sequencers",
                            "status verified by", "corrected", "primary source (site)"],
                           table_rows, caption="Legislation registry by jurisdiction and provision type", numeric=False)
    secondary = sum(1 for r in rows if r["verification"] == "secondary_only")
    unverified = sum(1 for r in rows if r["verification"] == "unverified_status")
    corrected = sum(1 for r in rows if r["corrections"])
    f = Finding(
        check="claims.registry.instruments", subject=f"{len(rows)} instruments in {len(juris)} jurisdictions",
        kind=Kind.DESCRIPTIVE, statistics={"instruments": len(rows), "jurisdictions": len(juris), **counts,
                                           "secondary sources only": secondary, "status unverified": unverified,
                                           "rows corrected": corrected},
        reference={"dataset": "laws", "file": info.file},
        explanation=(f"The embedded legislation registry holds {len(rows)} instruments in {len(juris)} jurisdictions, "
                     "summarised in the compilers' words (not legal advice, not statutory text). "
                     f"{secondary} rest on secondary sources only and {unverified} have a status that could not be "
                     f"verified; {corrected} rows carry corrections, listed with the original value and the "
                     "correction's source. A row can carry several provision types. This is a register of "
                     "instruments, not a test."),
        evidence=[{"id": r["id"], "jurisdiction": r["jurisdiction"], "status": r["status"],
                   "provisions": r["provisions_types"], "verification": verification_label(r["verification"]),
                   "corrections": [{"column": c["column"], "original": c["original"], "corrected": c["corrected"],
                                    "source": c["reference"]} for c in r["corrections"]]} for r in rows],
        provenance=Provenance(inputs=[info.input_ref()], parameters={}),
        title="Legislation registry", engine="claims",
        sources=[{"label": r["id"], "url": r["source_urls"][0]} for r in rows if r["source_urls"]],
        not_tested=["Statutory texts were only partly visible in the archived sources (compliance-rules.md "
                    "section 8)."])
    chart = svg.bar_chart([p.replace("_", " ") for p in PROVISIONS], [counts[p] for p in PROVISIONS],
                          "Instruments by provision type", value_label="instruments")
    return ReportItem(finding=f, chart_svg=Markup(chart), table_html=table)


def rule_consistency() -> tuple[list[dict[str, Any]], list[str]]:
    """Each jurisdiction rule vs its registry row: law exists, enacted, insurance ban, dates/countries stated."""
    from organwatch.claims.rules import load_rules, registry_rows

    names = {"CN": ("China",), "HK": ("Hong Kong",)}
    reg = registry_rows()
    rows, problems = [], []
    for j, rule in load_rules().rules.items():
        r = reg.get(rule.law_id) or {}
        text = (r.get("provisions") or "")
        checks = {
            "in registry": bool(r),
            "enacted": r.get("status") == "enacted",
            "insurance ban": r.get("covers_insurance_ban") is True,
            "effective date stated": rule.effective.isoformat() in text if rule.effective_verified else None,
            "countries named": all(any(n in text for n in names.get(c, (c,))) for c in rule.base_countries),
            "mode stated": ("may limit" in text or "PERMISSIVE" in text) == (rule.mode == "permissive"),
        }
        for k, v in checks.items():
            if v is False:
                problems.append(f"{j} ({rule.law_id}): {k}")
        rows.append({"jurisdiction": j, "law_id": rule.law_id, "mode": rule.mode,
                     "effective": rule.effective.isoformat(), "effective_verified": rule.effective_verified,
                     "countries": sorted(rule.base_countries), "prongs": sorted(rule.prongs), "checks": checks})
    return rows, problems


def _rules_item() -> ReportItem:
    from organwatch import datasets

    rows, problems = rule_consistency()
    info = datasets.info("laws")
    table = svg.html_table(["jurisdiction", "statute", "mode", "effective", "countries", "prongs", "checks"],
                           [[r["jurisdiction"], r["law_id"], r["mode"],
                             r["effective"] + ("" if r["effective_verified"] else " (configured, unverified)"),
                             ", ".join(r["countries"]), ", ".join(r["prongs"]),
                             ", ".join(k for k, v in r["checks"].items() if v is True)] for r in rows],
                           caption="Insurer rule parameters used by organwatch claims", numeric=False)
    f = Finding(
        check="claims.rules.registry_consistency", subject=f"{len(rows)} jurisdiction rules vs the laws registry",
        kind=Kind.DESCRIPTIVE,
        statistics={"rules": len(rows), "problems": len(problems)},
        reference={"dataset": "laws", "rules": "organwatch/claims/data/jurisdictions.toml"},
        explanation=("Every insurer rule parameter set cites an enacted laws.csv row with an insurance-coverage "
                     "provision; its effective date, named countries and mandatory/permissive mode are stated in that "
                     "row's summary." if not problems else "Mismatches: " + "; ".join(problems)),
        evidence=rows, provenance=Provenance(inputs=[info.input_ref()], parameters={}),
        title="Insurer rules agree with the registry", engine="claims",
        not_tested=["Arizona's effective date is not stated in the archived sources; the engine uses a configured "
                    "default (docs/compliance.md)."])
    return ReportItem(finding=f, table_html=table)


def _outcomes_item(path: Path) -> ReportItem:
    rows = _read_outcomes(path)
    by_j: dict[str, Counter] = {}
    for r in rows:
        by_j.setdefault(str(r.get("jurisdiction")), Counter())[str(r.get("outcome"))] += 1
    from organwatch.claims.model import OUTCOMES

    total = Counter(str(r.get("outcome")) for r in rows)
    claims = {(r.get("source"), r.get("claim_id")) for r in rows}
    prov_path = Path(str(path) + ".provenance.json")
    params: dict[str, Any] = {}
    inputs = [InputRef(name=path.name, sha256=sha256_file(path))]
    if prov_path.exists():
        try:
            prov = json.loads(prov_path.read_text("utf-8"))
            params = prov.get("parameters", {})
            inputs += [InputRef(**i) for i in prov.get("inputs", [])]
        except (ValueError, TypeError):
            pass
    table = svg.html_table(["jurisdiction"] + [OUTCOME_LABELS[o] for o in OUTCOMES],
                           [[j] + [c[o] for o in OUTCOMES] for j, c in sorted(by_j.items())],
                           caption=f"Claim-line outcomes in {path.name}")
    f = Finding(
        check="claims.outcomes", subject=f"{len(claims)} claims, {len(rows)} line outcomes ({path.name})",
        kind=Kind.DESCRIPTIVE,
        statistics={"claims": len(claims), "records": len(rows), **{o: total[o] for o in OUTCOMES}},
        reference={"jurisdictions": sorted(by_j)},
        explanation=(f"Of {len(rows)} line outcomes, {total['deny_statutory']} meet a prong of a mandatory statute, "
                     f"{total['review_required']} need review (missing or unresolved facts such as organ origin) and "
                     f"{total['limit_permitted']} fall under a permissive statute; {total['not_effective']} are dated "
                     f"before the law took effect, {total['not_transplant_related']} are not transplant-related, "
                     f"{total['allow']} are allowed and {total['not_in_scope']} concern plans the laws do not bind. "
                     "Outcomes describe how claim fields compare with the statutes' conditions; they are not findings "
                     "about patients or providers."),
        # claim identifiers (patient account numbers) stay in the outcome file, not in a report that travels
        evidence=[{k: r.get(k) for k in ("line", "jurisdiction", "outcome", "reasons", "statute", "fields",
                                         "date_of_service", "form")}
                  for r in rows if r.get("outcome") in ("deny_statutory", "review_required", "limit_permitted")][:50],
        provenance=Provenance(inputs=inputs, parameters=params),
        title="Claim outcomes under the transplant-coverage laws",
        engine="claims",
        not_tested=["Organ origin never appears on a claim; it comes only from member records or attestations.",
                    "Claim identifiers are left out of the report; they are in the outcome file."])
    chart = svg.bar_chart([OUTCOME_LABELS[o] for o in OUTCOMES], [total[o] for o in OUTCOMES], "Claim-line outcomes",
                          value_label="line outcomes")
    return ReportItem(finding=f, chart_svg=Markup(chart), table_html=table)


def _rule_sources() -> list[dict[str, str]]:
    from organwatch.claims.rules import load_rules

    return [{"label": f"{r.law_id} ({r.citation})", "url": u} for r in load_rules().rules.values()
            for u in r.source_urls[:1]]


def build_section(ctx: ReportContext, inputs: list[Path]) -> Section:
    items = [_registry_item(), _rules_item()]
    for p in inputs:
        items.append(_outcomes_item(p))
    return Section(id="compliance", title="Legislation and insurer compliance",
                   intro=("Laws on forced organ harvesting and transplant tourism, and how the insurer rules of Texas, "
                          "Utah, Idaho, Tennessee and Arizona apply to claims (organwatch laws / organwatch claims)."),
                   items=items, sources=_rule_sources(),
                   not_tested=["No Kentucky, Louisiana or Oklahoma insurer transplant ban and no 2024 Florida statute "
                               "was found in the archived sources (registry README); Louisiana's Act 244 of 2025 and "
                               "Florida's SB 768 of 2025 are genetic-sequencer laws."], order=ORDER)
