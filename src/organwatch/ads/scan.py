"""`organwatch ads scan` pipeline: captures -> prefilter -> decode -> visible text -> claims -> claim records.

Each step is a small function: :func:`page_language` (script shares), :func:`hospital_name` (the name before
a hospital cue), :func:`claim_records` (one record per claim, cli.md "Advertising claim"), and
:func:`scan_capture` (one capture to its claim records and its capture row). Claim ids are stable: a hash of
the archive record, the span and the rule.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import numpy as np

from organwatch.ads import prefilter
from organwatch.ads.decoding import decode
from organwatch.ads.extract import Claim, Extractor, Hit, canonical_organ, page_cues
from organwatch.ads.readers import Capture
from organwatch.ads.text import VisibleText, html_text, looks_like_html, plain_text
from organwatch.textscript import cjk_mask

CLAIM_COLUMNS = ["claim_id", "url", "capture_time", "archive_record", "charset", "language", "advertiser",
                 "hospital", "organ", "wait_min_days", "wait_max_days", "wait_vague", "wait_text", "price_min",
                 "price_max", "currency", "price_text", "span", "quote", "rule", "site", "advertiser_kind",
                 "foreign_patients", "charset_source", "source_file", "record", "archive_url", "payload_digest"]
CAPTURE_COLUMNS = ["site", "url", "capture_time", "archive_record", "archive_url", "source_file", "record",
                   "charset", "language", "prefilter", "claims"]
_LATIN1_LETTERS = re.compile("[\u00c0-\u00ff]")
_NAME_STOP = set("，。、；：！？（）()[]【】《》「」\"' \t\n|,.;:!?/")


@dataclass
class ScanOptions:
    rules: str | None = None
    backend: str = "auto"
    prefilter: bool = True
    max_bytes: int = 16 << 20


@dataclass
class ScanCounts:
    captures: int = 0
    prefiltered_out: int = 0
    pages: int = 0
    claims: int = 0
    mojibake_pages: int = 0
    charsets: dict[str, int] = field(default_factory=dict)


def site_of(url: str | None) -> str | None:
    if not url:
        return None
    try:
        host = urlsplit(url if "://" in url else "http://" + url).hostname
    except ValueError:
        return None
    return host[4:] if host and host.startswith("www.") else host


def page_language(text: str, translate: Any) -> str:
    """zh-Hans, zh-Hant, ja, ko or en, from the shares of Hangul, kana and Han characters."""
    cps = np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
    if len(cps) == 0:
        return "und"
    hangul = int(((cps >= 0xAC00) & (cps <= 0xD7A3)).sum())
    kana = int(((cps >= 0x3040) & (cps <= 0x30FF)).sum())
    han_mask = cjk_mask(cps)
    han = int(han_mask.sum())
    letters = max(hangul + kana + han + int(((cps | 0x20) >= 0x61).sum() - ((cps | 0x20) > 0x7A).sum()), 1)
    if hangul / letters >= 0.1:
        return "ko"
    if kana / letters >= 0.05 and kana >= 3:
        return "ja"
    if han / letters >= 0.2:
        tr = np.frombuffer(translate(text).encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
        changed = int((han_mask & (tr != cps)).sum()) if len(tr) == len(cps) else 0
        return "zh-Hant" if changed / han >= 0.03 else "zh-Hans"
    return "en"


def hospital_name(text: str, hit_start: int, hit_end: int) -> str | None:
    """The name that ends with a hospital cue: CJK characters before it, or capitalised words (and an
    "of ..." tail) around an English one."""
    cue = text[hit_start:hit_end]
    if not cue.isascii():
        i = hit_start
        while i > 0 and hit_start - i < 20 and text[i - 1] not in _NAME_STOP and not text[i - 1].isascii():
            i -= 1
        return text[i:hit_end] if hit_start - i >= 2 else None
    before = re.findall(r"((?:[A-Z][\w'.-]*\s+){1,6})$", text[max(0, hit_start - 80):hit_start])
    after = re.match(r"((?:\s+of(?:\s+(?:the\s+)?[A-Z][\w'.-]*)+))", text[hit_end:hit_end + 80])
    name = (before[0] if before else "") + cue + (after.group(1) if after else "")
    return name.strip() if name.strip() != cue else None


def hospital_names(vis: VisibleText, hits: list[Hit], nt: Any) -> list[tuple[int, int, str]]:
    """(visible start, line, name) of every named hospital or centre on the page."""
    out = []
    for h in hits:
        if h.type in ("HOSPITAL", "BROKER"):
            a, b = nt.orig_span(h.start, h.end)
            name = hospital_name(vis.text, a, b)
            if name:
                out.append((a, _line_of(vis, a), name))
    return out


def _line_of(vis: VisibleText, a: int) -> int:
    if vis.newlines is None:
        vis.newlines = np.flatnonzero(np.frombuffer(vis.text.encode("utf-32-le", "surrogatepass"),
                                                    dtype=np.uint32) == 10)
    return int(np.searchsorted(vis.newlines, a, side="right"))


def claim_hospital(names: list[tuple[int, int, str]], vis: VisibleText, a: int, b: int) -> str | None:
    """The hospital of a claim: one named on the claim's line (table row, paragraph), else the last one named
    before the claim, else the first one on the page."""
    if not names:
        return None
    line = _line_of(vis, a)
    same = [n for s, ln, n in names if ln == line]
    if same:
        return same[0]
    before = [n for s, _, n in names if s < a]
    return before[-1] if before else names[0][2]


def _claim_id(archive_record: str, span: tuple[int, int], rule: str) -> str:
    h = hashlib.sha1(f"{archive_record}|{span[0]}|{span[1]}|{rule}".encode()).hexdigest()[:16]
    return f"ad-{h}"


def claim_records(cap: Capture, claims: list[Claim], vis: VisibleText, nt: Any, page_info: dict[str, Any]
                  ) -> list[dict[str, Any]]:
    out = []
    names = page_info.pop("_hospitals", [])
    for c in claims:
        a, b = nt.orig_span(c.start, c.end)
        span = vis.page_span(a, b)
        page_info["hospital"] = claim_hospital(names, vis, a, b)
        w, p = c.wait, c.price
        rule = "+".join(c.rules)
        rec = {
            "claim_id": _claim_id(cap.archive_record, span, rule), "url": cap.url, "capture_time": cap.capture_time,
            "archive_record": cap.archive_record, **page_info, "organ": canonical_organ(c.organ),
            "wait_min_days": w.lo if w else None, "wait_max_days": w.hi if w else None,
            "wait_vague": bool(w and w.vague),
            "wait_text": vis.quote(*nt.orig_span(w.start, w.end)) if w else None,
            "price_min": p.lo if p else None, "price_max": p.hi if p else None, "currency": p.currency if p else None,
            "price_text": vis.quote(*nt.orig_span(p.start, p.end)) if p else None,
            "span": [span[0], span[1]], "quote": vis.quote(a, b), "rule": rule,
            "source_file": cap.source_file, "record": cap.record, "archive_url": cap.archive_url,
            "payload_digest": cap.digest,
        }
        out.append(rec)
    return out


def mojibake(text: str) -> bool:
    """Replacement characters, or Latin-1 letters typical of CJK bytes read as windows-1252."""
    if "\ufffd" in text:
        return True
    head = text[:20000]
    odd = len(_LATIN1_LETTERS.findall(head))
    return odd >= 20 and odd > 0.05 * max(len(head), 1)


def scan_capture(cap: Capture, ex: Extractor, opts: ScanOptions, counts: ScanCounts
                 ) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Claim records of one capture, and its capture row (for the timeline)."""
    counts.captures += 1
    row = {"site": site_of(cap.url), "url": cap.url, "capture_time": cap.capture_time,
           "archive_record": cap.archive_record, "archive_url": cap.archive_url, "source_file": cap.source_file,
           "record": cap.record, "charset": None, "language": None, "prefilter": True, "claims": 0}
    if opts.prefilter and not prefilter.for_pack(ex.pack).passes(cap.payload):
        counts.prefiltered_out += 1
        row["prefilter"] = False
        return [], row
    page, charset, source = decode(cap.payload, cap.content_type)
    counts.pages += 1
    counts.charsets[charset] = counts.charsets.get(charset, 0) + 1
    if mojibake(page):
        counts.mojibake_pages += 1
    vis = html_text(page) if looks_like_html(page, cap.content_type) else plain_text(page)
    lang = page_language(vis.text, ex.norm.translate)
    claims, nt, hits = ex.claims(vis.text, "ja" if lang == "ja" else lang)
    row.update(charset=charset, language=lang, claims=len(claims))
    if not claims:
        return [], row
    info = {"charset": charset, "language": lang, "advertiser": site_of(cap.url),
            "_hospitals": hospital_names(vis, hits, nt), "site": site_of(cap.url), **page_cues(hits, nt.text),
            "charset_source": source}
    recs = claim_records(cap, claims, vis, nt, info)
    counts.claims += len(recs)
    return recs, row
