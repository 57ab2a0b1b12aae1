"""Shared pieces of the two X12 837 readers (pyx12 validating path and tokenising fast path): claim buffers,
dates, the country resolution order of docs/specs/compliance-rules.md §5.1, and the structure data file."""

from __future__ import annotations

import datetime as dt
import functools
import tomllib
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

from organwatch.claims.countries import is_us_subdivision, normalise
from organwatch.claims.model import UNKNOWN, Claim, Line
from organwatch.errors import RecordError

PRINCIPAL_DX = frozenset({"ABK", "BK"})
OTHER_DX = frozenset({"ABF", "BF", "ABJ", "BJ", "APR", "PR"})
PCS = frozenset({"BBR", "BR", "BBQ", "BQ"})
CLAIM_DATE_QUALIFIERS = ("472", "434", "435")
LOOP_KIND = {"2420C": "claim_line_facility", "2310C": "claim_service_facility", "2310D": "claim_service_facility",
             "2310E": "claim_service_facility", "2010AA": "billing_provider"}


@functools.cache
def structure() -> dict[str, Any]:
    """``data/x12_segments.toml``: versions, transaction-set names, segment ids, qualifiers, limits."""
    raw = tomllib.loads((resources.files("organwatch.claims") / "data" / "x12_segments.toml").read_text("utf-8"))
    for key in ("limits", "versions", "transaction_sets", "segments", "qualifiers", "entities"):
        if key not in raw:
            raise RuntimeError(f"claims/data/x12_segments.toml: section [{key}] missing")
    return raw


@dataclass(slots=True)
class N4:
    loop: str
    state: str | None
    country: str | None


@dataclass(slots=True)
class LineBuf:
    lx: int
    line: int
    procedures: list[tuple[str, str]] = field(default_factory=list)
    revenue: tuple[str, str] | None = None
    pointers: list[int] = field(default_factory=list)
    date: dt.date | None = None
    date_field: str = ""
    n4: N4 | None = None


@dataclass(slots=True)
class ClaimBuf:
    record: int
    seg_line: int
    claim_id: str | None = None
    member_id: str | None = None
    form: str = "837P"
    dx: list[tuple[str, str, bool]] = field(default_factory=list)
    pcs: list[tuple[str, str]] = field(default_factory=list)
    date: dt.date | None = None
    date_field: str = ""
    facility_n4: N4 | None = None
    billing_n4: N4 | None = None
    lines: list[LineBuf] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


_DATE_CACHE: dict[str, dt.date] = {}


def x12_date(value: str | None, fmt_q: str | None) -> dt.date | None:
    """DTP03 in format DTP02 (D8 CCYYMMDD, RD8 range -> its start, DT date-time) -> date; ValueError if bad."""
    if not value:
        return None
    v = value.split("-")[0] if fmt_q == "RD8" else (value[:8] if fmt_q == "DT" else value)
    hit = _DATE_CACHE.get(v)
    if hit is not None:
        return hit
    if len(v) != 8 or not v.isdigit():
        raise ValueError("date")
    d = dt.date(int(v[:4]), int(v[4:6]), int(v[6:8]))
    if len(_DATE_CACHE) < 100_000:
        _DATE_CACHE[v] = d
    return d


def resolve_country(*cands: N4 | None) -> tuple[str, str, str | None, str]:
    """(country, field, raw, evidence kind): the first N4 present decides; N404 country, else a US state in
    N402 means US (documented in docs/compliance.md), else UNKNOWN."""
    for n4 in cands:
        if n4 is None:
            continue
        kind = LOOP_KIND.get(n4.loop, "other")
        if n4.country:
            return normalise(n4.country), f"{n4.loop}/N404", n4.country, kind
        if is_us_subdivision(n4.state):
            return "US", f"{n4.loop}/N402", n4.state, kind
        return UNKNOWN, f"{n4.loop}/N4", None, kind
    return UNKNOWN, "", None, ""


def seg_error(seg_id: str, loop: str, line: int | None, what: str) -> str:
    return f"segment {seg_id} (line {line}, loop {loop or 'header'}): {what}"


def finish(buf: ClaimBuf, source: str, st_errors: list[str]) -> Claim | RecordError:
    """The claim of a finished CLM loop, or one RecordError naming its first problems (never values)."""
    errs = st_errors + buf.errors
    if not buf.claim_id:
        errs.append("CLM01 (claim identifier) missing")
    if errs:
        where = errs[0].split(":")[0]
        return RecordError(file=source, record=buf.record, line=buf.seg_line or None, field=where,
                           message="; ".join(errs[:5]) + (f" (+{len(errs) - 5} more)" if len(errs) > 5 else ""))
    claim = Claim(claim_id=buf.claim_id or "", source=source, record=buf.record, form=buf.form,
                  member_id=buf.member_id)
    if not buf.lines:  # a claim with no service line: one claim-level line 0 from the header
        country, cfield, raw, kind = resolve_country(buf.facility_n4, buf.billing_n4)
        claim.lines.append(Line(line=0, date=buf.date, date_field=buf.date_field, procedures=list(buf.pcs),
                                diagnoses=list(buf.dx), country=country, country_field=cfield, country_raw=raw,
                                country_source=kind))
        return claim
    for i, lb in enumerate(buf.lines, 1):
        if lb.pointers and buf.form == "837P":
            dx = []
            for k, p in enumerate(lb.pointers):
                if 1 <= p <= len(buf.dx):
                    code, fld, _pr = buf.dx[p - 1]
                    dx.append((code, fld, k == 0))
        else:
            dx = list(buf.dx)
        country, cfield, raw, kind = resolve_country(lb.n4, buf.facility_n4, buf.billing_n4)
        claim.lines.append(Line(
            line=lb.lx or i, date=lb.date or buf.date, date_field=lb.date_field if lb.date else buf.date_field,
            procedures=lb.procedures + list(buf.pcs), revenue=lb.revenue, diagnoses=dx, country=country,
            country_field=cfield, country_raw=raw, country_source=kind))
    return claim
