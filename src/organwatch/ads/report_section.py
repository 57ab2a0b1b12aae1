"""Advertising section of ``organwatch report`` (ORDER 70), from claim files written by ``organwatch ads scan``.

Advertised waits and prices by organ and period (capture year), next to the published figures of the embedded
reference (``datasets/data/ads/published_claims.csv``) and the one waiting-time comparator the embedded data
carry (volume ``published_parameters.csv`` P0028: the US mean liver wait of 120 days quoted by China's NHC in
2018; no other country's waiting-list statistics are embedded). Every claim links to its archive record.
Findings are ``descriptive``: counts and ranges, no verdict.
"""

from __future__ import annotations

import csv
import statistics
from collections import defaultdict
from importlib import resources
from pathlib import Path
from typing import Any

from organwatch.findings import Finding, InputRef, Kind, Provenance, sha256_file
from organwatch.report.sections import ReportContext, ReportItem, Section, table_columns
from organwatch.report.svg import html_table

ORDER = 70
MAX_ROWS = 200
REQUIRED = {"claim_id", "archive_record", "wait_min_days", "price_min", "currency", "capture_time", "quote"}
COMPARATOR: dict[str, Any] = {"organ": "liver", "country": "United States", "mean_wait_days": 120.0, "record": "P0028",
              "source": "volume/published_parameters.csv (NHC press conference 2018-06-22, as reported)"}


def accepts(path: Path) -> bool:
    return table_columns(Path(path)) >= REQUIRED


def published() -> list[dict[str, str]]:
    text = resources.files("organwatch.datasets").joinpath("data/ads/published_claims.csv").read_text("utf-8")
    return list(csv.DictReader(text.splitlines()))


def _num(v: Any) -> float | None:
    if v in (None, ""):
        return None
    try:
        return float(v)
    except (TypeError, ValueError):
        return None


def _period(t: Any) -> str:
    return str(t)[:4] if t else "undated"


def _base_organ(o: str | None) -> str:
    if not o:
        return "organ not stated"
    return o.split(" (")[0]


def _published_by_organ() -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = defaultdict(lambda: {"waits": [], "prices": [], "ids": []})
    for r in published():
        o = _base_organ(r["organ"])
        w = [x for x in (_num(r["wait_min_days"]), _num(r["wait_max_days"])) if x is not None]
        if w:
            out[o]["waits"].append((min(w), max(w)))
            out[o]["ids"].append(r["claim_id"])
        p = [x for x in (_num(r["price_min"]), _num(r["price_max"])) if x is not None]
        if p and r["currency"]:
            out[o]["prices"].append((min(p), max(p), r["currency"]))
            out[o]["ids"].append(r["claim_id"])
    return out


def _fmt(x: float | None) -> str:
    if x is None:
        return ""
    return f"{x:,.3f}".rstrip("0").rstrip(".")


def _figures(n: int) -> str:
    return f"{n} published figure" + ("" if n == 1 else "s")


def _wait_rows(recs: list[dict[str, Any]], pub: dict[str, dict[str, Any]]) -> list[list[str]]:
    groups: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    for r in recs:
        if r.get("wait_min_days") is not None or r.get("wait_max_days") is not None or r.get("wait_vague"):
            groups[(_base_organ(r.get("organ")), _period(r.get("capture_time")))].append(r)
    rows = []
    for (organ, period), rs in sorted(groups.items()):
        lows = [x for x in (_num(r.get("wait_min_days")) for r in rs) if x is not None]
        highs = [x for x in (_num(r.get("wait_max_days")) for r in rs) if x is not None]
        pw = pub.get(organ, {}).get("waits", [])
        pub_txt = f"{_fmt(min(a for a, _ in pw))}–{_fmt(max(b for _, b in pw))} d ({_figures(len(pw))})" if pw else \
            "none published"
        comp = f"{_fmt(COMPARATOR['mean_wait_days'])} d (US mean, {COMPARATOR['record']})" \
            if organ == COMPARATOR["organ"] else "not in the embedded data"
        rows.append([organ, period, str(len(rs)), _fmt(min(lows)) if lows else "",
                     _fmt(statistics.median(highs)) if highs else "", _fmt(max(highs)) if highs else "", pub_txt,
                     comp])
    return rows


def _price_rows(recs: list[dict[str, Any]], pub: dict[str, dict[str, Any]]) -> list[list[str]]:
    groups: dict[tuple[str, str, str], list[dict[str, Any]]] = defaultdict(list)
    for r in recs:
        if r.get("currency") and (r.get("price_min") is not None or r.get("price_max") is not None):
            groups[(_base_organ(r.get("organ")), _period(r.get("capture_time")), r["currency"])].append(r)
    rows = []
    for (organ, period, cur), rs in sorted(groups.items()):
        vals = [x for r in rs for x in (_num(r.get("price_min")), _num(r.get("price_max"))) if x is not None]
        pp = [(a, b) for a, b, c in pub.get(organ, {}).get("prices", []) if c == cur]
        pub_txt = f"{_fmt(min(a for a, _ in pp))}–{_fmt(max(b for _, b in pp))} {cur} ({_figures(len(pp))})" if pp \
            else "none published in this currency"
        rows.append([organ, period, cur, str(len(rs)), _fmt(min(vals)), _fmt(float(statistics.median(vals))),
                     _fmt(max(vals)), pub_txt])
    return rows


def _link(r: dict[str, Any]) -> str:
    """The replay link of a Wayback capture, else the WARC-Record-ID with the file and record number."""
    if r.get("archive_url"):
        return str(r["archive_url"])
    where = f" in {r.get('source_file')} record {r.get('record')}" if r.get("source_file") else ""
    return f"{r.get('archive_record') or ''}{where}"


def _claim_rows(recs: list[dict[str, Any]]) -> list[list[str]]:
    from organwatch.ads.timeline import fmt_range

    rows = []
    for r in sorted(recs, key=lambda x: (x.get("site") or "", x.get("capture_time") or ""))[:MAX_ROWS]:
        wait = fmt_range(_num(r.get("wait_min_days")), _num(r.get("wait_max_days")))
        wait = wait or ("a few days (vague)" if r.get("wait_vague") else "")
        price = fmt_range(_num(r.get("price_min")), _num(r.get("price_max")))
        price = f"{price} {r.get('currency')}" if price else ""
        rows.append([r.get("site") or "", str(r.get("capture_time") or "")[:10], r.get("organ") or "", wait, price,
                     (r.get("quote") or "")[:200], _link(r)])
    return rows


def _load(paths: list[Path]) -> list[dict[str, Any]]:
    from organwatch.ads.timeline import load_table

    recs: list[dict[str, Any]] = []
    for p in paths:
        recs.extend(load_table(Path(p)))
    return recs


def build_section(ctx: ReportContext, inputs: list[Path]) -> Section | None:
    if not inputs:
        return None
    recs = _load(inputs)
    pub = _published_by_organ()
    prov = Provenance(inputs=[InputRef(str(p), sha256_file(p)) for p in inputs], parameters={}, seed=None)
    waits = _wait_rows(recs, pub)
    prices = _price_rows(recs, pub)
    n_wait = sum(int(r[2]) for r in waits)
    n_price = sum(int(r[3]) for r in prices)
    sites = sorted({r.get("site") or "" for r in recs})
    ref = {"published_claims": "datasets/data/ads/published_claims.csv (45 published figures with sources)",
           "comparator": f"{COMPARATOR['country']} mean {COMPARATOR['organ']} wait of "
                         f"{_fmt(COMPARATOR['mean_wait_days'])} days ({COMPARATOR['source']}, record "
                         f"{COMPARATOR['record']}); no other waiting-list statistics are embedded"}
    f1 = Finding(
        check="ads.claims.waits", subject=f"{n_wait} advertised waits on {len(sites)} sites", kind=Kind.DESCRIPTIVE,
        statistics={"claims": len(recs), "wait_claims": n_wait, "sites": len(sites),
                    "groups": len(waits)},
        reference=ref, title="Advertised transplant waits in archived pages",
        explanation=(f"The archived pages carry {n_wait} advertised waiting times, grouped here by organ and "
                     "capture year next to the waits published in the research literature. The only waiting-list "
                     "comparator in the embedded data is a US mean liver wait of 120 days; other countries' "
                     "waiting-list statistics are not embedded."),
        evidence=[{"claim_id": r.get("claim_id"), "archive_record": r.get("archive_record"), "url": r.get("url")}
                  for r in recs if r.get("wait_max_days") is not None or r.get("wait_min_days") is not None][:50],
        provenance=prov, engine="ads",
        not_tested=["pages that were never archived", "claims in images or scripts", "wording outside the rule pack"])
    f2 = Finding(
        check="ads.claims.prices", subject=f"{n_price} advertised prices on {len(sites)} sites",
        kind=Kind.DESCRIPTIVE, statistics={"price_claims": n_price, "groups": len(prices)}, reference=ref,
        title="Advertised transplant prices in archived pages",
        explanation=(f"The archived pages carry {n_price} advertised prices, grouped by organ, capture year and "
                     "currency next to the prices published in the research literature (same currency only; "
                     "amounts are not converted)."),
        evidence=[{"claim_id": r.get("claim_id"), "archive_record": r.get("archive_record"), "url": r.get("url")}
                  for r in recs if r.get("currency")][:50],
        provenance=prov, engine="ads", not_tested=["currency conversion", "whether a price was actually charged"])
    t1 = html_table(["organ", "period", "claims", "shortest wait (days)", "median longest wait (days)",
                     "longest wait (days)", "published waits", "waiting-list comparator"], waits,
                    caption="Advertised waits by organ and capture year", numeric=False)
    t2 = html_table(["organ", "period", "currency", "claims", "lowest", "median", "highest", "published prices"],
                    prices, caption="Advertised prices by organ, capture year and currency", numeric=False)
    t3 = html_table(["site", "captured", "organ", "wait (days)", "price", "quote", "archive record"],
                    _claim_rows(recs), caption=f"Claims (first {MAX_ROWS}) with their archive records",
                    numeric=False)
    return Section(id="ads", title="Advertised waits and prices", order=ORDER,
                   intro="Waiting times and prices that archived hospital and broker pages advertised, each with "
                         "its capture time and archive record, next to the figures researchers published.",
                   items=[ReportItem(f1, table_html=t1), ReportItem(f2, table_html=t2),
                          ReportItem(Finding(check="ads.claims.records", subject=f"{len(recs)} claims",
                                             kind=Kind.DESCRIPTIVE, statistics={"claims": len(recs)},
                                             title="Every claim and its archive record", engine="ads",
                                             explanation=f"{len(recs)} claims, each with the exact page text and "
                                                         "the archive record it was read from.",
                                             provenance=prov), table_html=t3)],
                   sources=[{"label": "Published claims (research report, section A.3)",
                             "url": "https://stoporganharvesting.org/short-waiting-times"}],
                   not_tested=["recall on wording outside the rule pack"])
