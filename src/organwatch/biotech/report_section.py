"""The biotech section of ``organwatch report`` (ORDER 60): the restricted-entity registry by list and date,
the genetic-sequencer laws by state with their effective dates, and inventory outcomes when
``organwatch biotech screen`` result files are given. Every finding is descriptive (no grades).
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from markupsafe import Markup

from organwatch.findings import Finding, InputRef, Kind, Provenance, sha256_file
from organwatch.report import svg
from organwatch.report.sections import ReportContext, ReportItem, Section, table_columns

ORDER = 60
OUTCOME_KEYS = {"asset_id", "jurisdiction", "as_of", "verdict"}
VERDICT_WORDS = {"restricted": "restricted", "watch": "watch (a request to list)",
                 "named_in_bill_only": "named in a bill only", "not_restricted": "not restricted",
                 "needs_review": "needs review"}
LIST_WORDS = {"dod_1260h": "DoD 1260H list", "entity_list": "Commerce Entity List", "bill": "bill (not enacted)",
              "statute": "statute"}
STATUS_WORDS = {"listed": "listed", "watch": "watch letter", "named_in_bill_only": "named in a bill",
                "delisted": "delisted"}


def accepts(path: Path) -> bool:
    """An outcome table written by ``organwatch biotech screen``."""
    try:
        return table_columns(path) >= OUTCOME_KEYS
    except Exception:  # unreadable, binary or not a table: not ours (pyarrow raises its own error types)
        return False


def _read(path: Path) -> list[dict[str, Any]]:
    suffix = path.suffix.lower()
    if suffix in (".parquet", ".pq"):
        import pyarrow.parquet as pq

        return list(pq.read_table(path).to_pylist())
    if suffix == ".csv":
        import csv

        with open(path, encoding="utf-8", newline="") as fh:
            return list(csv.DictReader(fh))
    with open(path, encoding="utf-8") as fh:
        return [json.loads(ln) for ln in fh if ln.strip()]


def _kind(x: Any) -> str:
    """The list in words; a watch row is a request to add the entity to that list, not a listing."""
    if x.status == "watch":
        return "request to list (watch letter)"
    return LIST_WORDS.get(x.list, x.list)


def _site(url: str) -> str:
    return urlsplit(url).netloc or url


def registry_item() -> ReportItem:
    from organwatch import datasets
    from organwatch.biotech.registry import load_registry

    reg = load_registry()
    listings = sorted((x for e in reg.entities.values() for x in e.listings), key=lambda x: (x.listed, x.entity_id))
    by_list = Counter(_kind(x) for x in listings)
    by_status = Counter(x.status for x in listings)
    names = {e.id: e.name_en for e in reg.entities.values()}
    rows = [[names[x.entity_id], _kind(x), x.listed_text,
             x.delisted.isoformat() if x.delisted else "", STATUS_WORDS.get(x.status, x.status),
             _site(x.source_urls[0]) if x.source_urls else ""] for x in listings]
    table = svg.html_table(["entity", "list", "date", "ended", "status", "main source (site)"], rows,
                           caption="Restricted biotech entities by list and date", numeric=False)
    infos = [datasets.info("biotech_entities"), datasets.info("biotech_products")]
    f = Finding(
        check="biotech.registry.listings", subject=f"{len(reg.entities)} entities, {len(listings)} listing events",
        kind=Kind.DESCRIPTIVE,
        statistics={"entities": len(reg.entities), "listing events": len(listings),
                    **dict(sorted(by_list.items())),
                    **{f"status: {STATUS_WORDS.get(k, k)}": v for k, v in sorted(by_status.items())}},
        reference={"datasets": [i.name for i in infos]},
        explanation=(f"The registry holds {len(reg.entities)} biotech entities with {len(listings)} listing events: "
                     f"{by_list.get(LIST_WORDS['dod_1260h'], 0)} on the DoD 1260H list, "
                     f"{by_list.get(LIST_WORDS['entity_list'], 0)} on the Commerce Entity List, "
                     f"{by_list.get(LIST_WORDS['bill'], 0)} in bills that were not enacted, and "
                     f"{by_status.get('watch', 0)} requests by members of Congress to list an entity. A listing is a "
                     "fact about a list; whether a law restricts an asset depends on that law's own test. All rows "
                     "rest on secondary sources (law-firm alerts, press, an extract of the DoD lists)."),
        evidence=[{"entity": names[x.entity_id], "list": x.list, "date": x.listed_text, "status": x.status,
                   "source": x.source_urls[0] if x.source_urls else None} for x in listings],
        provenance=Provenance(inputs=[i.input_ref() for i in infos]), title="Restricted biotech entities",
        engine="biotech", sources=[{"label": "DoD 1260H list (2026)", "url": "https://media.defense.gov/2026/Jun/08/"
                                    "2003945537/-1/-1/1/ENTITIES-IDENTIFIED-AS-CHINESE-MILITARY-COMPANIES-OPERATING-"
                                    "IN-THE-UNITED-STATES-IN-ACCORDANCE-WITH-SECTION-1260H.PDF"}],
        not_tested=["The DoD PDFs and Federal Register rules were not opened; every row is secondary_only."])
    chart = svg.bar_chart(sorted(by_list), [by_list[k] for k in sorted(by_list)],
                          "Listing events by list", value_label="listing events")
    return ReportItem(finding=f, chart_svg=Markup(chart), table_html=table)


def _effective_text(law: Any) -> str:
    if law.effective is not None:
        return law.effective.isoformat() + ("" if law.effective_verified else " (weak source)")
    return "not found"


def laws_item() -> ReportItem:
    from organwatch.biotech.laws import load_laws

    laws = sorted(load_laws().values(), key=lambda x: x.jurisdiction)
    rows = [[x.jurisdiction, x.title, x.section, x.status.replace("_", " "), _effective_text(x),
             f"{x.replacement_days} days" if x.replacement_days else "",
             ", ".join(f.replace("_", " ") for f in sorted(x.facilities)),
             ", ".join(a.replace("_", " ") for a in sorted(x.assets)), x.adversary.title,
             x.adversary.hong_kong.replace("_", " ")] for x in laws]
    table = svg.html_table(["jurisdiction", "law", "section", "status", "effective", "replace within", "facilities",
                            "assets", "foreign-adversary definition", "Hong Kong"], rows,
                           caption="Genetic-sequencer laws by state", numeric=False)
    enacted = [x for x in laws if x.status == "enacted"]
    dated = [x for x in enacted if x.effective is not None]
    f = Finding(
        check="biotech.laws.by_state", subject=f"{len(laws)} genetic-sequencer instruments",
        kind=Kind.DESCRIPTIVE,
        statistics={"instruments": len(laws), "enacted": len(enacted), "with an effective date": len(dated),
                    "vetoed or not passed": len(laws) - len(enacted)},
        reference={"rules": "biotech/data/laws.toml", "registry": "laws"},
        explanation=(f"{len(enacted)} of the {len(laws)} instruments were enacted; {len(dated)} of those have an "
                     "effective date in the sources seen. Tennessee's sequencer duty has no effective date found "
                     "(replacement within 180 days of it), Louisiana's dates were not seen, and Florida's enactment "
                     "rests on a partisan blog. The state laws do not refer to any list: their tests are about who "
                     "produced the product and where."),
        evidence=[x.reference() for x in laws],
        provenance=Provenance(parameters={}), title="Genetic-sequencer laws by state", engine="biotech",
        sources=[{"label": x.title, "url": x.source_urls[0]} for x in laws],
        not_tested=["Statutory texts were read only in part; coverage follows the registry summaries."])
    return ReportItem(finding=f, table_html=table)


def outcomes_item(path: Path) -> ReportItem:
    rows = _read(path)
    total = Counter(str(r.get("verdict")) for r in rows)
    by_j: dict[str, Counter[str]] = {}
    for r in rows:
        by_j.setdefault(str(r.get("jurisdiction") or "none"), Counter())[str(r.get("verdict"))] += 1
    order = list(VERDICT_WORDS)
    table = svg.html_table(["jurisdiction", *[VERDICT_WORDS[v] for v in order]],
                           [[j, *[c[v] for v in order]] for j, c in sorted(by_j.items())],
                           caption=f"Screening outcomes in {path.name}")
    prov: dict[str, Any] = {}
    prov_path = Path(str(path) + ".provenance.json")
    if prov_path.exists():
        try:
            prov = json.loads(prov_path.read_text("utf-8"))
        except ValueError:
            prov = {}
    inputs = [InputRef(name=path.name, sha256=sha256_file(path))]
    inputs += [InputRef(name=str(i.get("name")), sha256=str(i.get("sha256"))) for i in prov.get("inputs", [])
               if isinstance(i, dict)]
    f = Finding(
        check="biotech.screen.outcomes", subject=f"{len(rows)} asset outcomes ({path.name})", kind=Kind.DESCRIPTIVE,
        statistics={"outcomes": len(rows), **{VERDICT_WORDS[v]: total[v] for v in order}},
        reference={"jurisdictions": sorted(by_j)},
        explanation=(f"Of {len(rows)} asset outcomes, {total['restricted']} are restricted (a listed maker and a law "
                     f"in force that covers the facility and asset), {total['needs_review']} "
                     f"need{'s' if total['needs_review'] == 1 else ''} review, "
                     f"{total['watch']} are made by entities that members of Congress asked to list, and "
                     f"{total['named_in_bill_only']} by entities named only in bills that were not enacted. "
                     "Outcomes describe how inventory rows compare with lists and laws; they are not legal advice."),
        evidence=[{k: r.get(k) for k in ("asset_id", "jurisdiction", "as_of", "verdict", "entity_id", "law", "lists",
                                         "questions")}
                  for r in rows if r.get("verdict") != "not_restricted"][:50],
        provenance=Provenance(inputs=inputs, parameters=prov.get("parameters", {})),
        title="Inventory screening outcomes", engine="biotech",
        not_tested=["Domicile, ownership and 'merely assembled' facts are not in the data; see each outcome's "
                    "questions."] + ([str(prov["attribution"])] if prov.get("attribution") else []))
    chart = svg.bar_chart([VERDICT_WORDS[v] for v in order], [total[v] for v in order], "Screening outcomes",
                          value_label="outcomes")
    return ReportItem(finding=f, chart_svg=Markup(chart), table_html=table)


def build_section(ctx: ReportContext, inputs: list[Path]) -> Section | None:
    items = [registry_item(), laws_item(), *[outcomes_item(p) for p in inputs]]
    sources = [s for i in items for s in i.finding.sources]
    return Section(id="biotech", title="Biotech restrictions: sequencer makers and the laws that name them",
                   intro=("Biotech entities on US government lists, the state and federal laws on genetic sequencers "
                          "from foreign-adversary companies, and, when given, how an equipment inventory compares "
                          "with them."),
                   items=items, sources=sources,
                   not_tested=["OpenSanctions data is never embedded; a user-supplied export is attributed in the "
                               "outcome files."], order=ORDER)
