"""X12 837P / 837I through pyx12 (maintained, BSD): pyx12's maps define the loops; this module only reads values.

The reader streams segments from :class:`pyx12.x12context.X12ContextReader`; each segment node carries the loop
path pyx12 resolved from the implementation-guide map (``2000A/2010AA``, ``2300/2310C``, ``2400/2420C``...). A
segment that the map cannot place (wrong separators, unknown qualifier, out-of-order segment) is reported as a
per-claim error naming the segment id, loop and line; segment contents (which can hold PHI) are never echoed.
"""

from __future__ import annotations

import datetime as dt
import functools
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from organwatch.claims.countries import is_us_subdivision, normalise
from organwatch.claims.model import UNKNOWN, Claim, ClaimError, Line

PRINCIPAL_DX = {"ABK", "BK"}
OTHER_DX = {"ABF", "BF", "ABJ", "BJ", "APR", "PR"}
PCS = {"BBR", "BR", "BBQ", "BQ"}


@functools.cache
def map_aliases() -> list[dict[str, str]]:
    return tomllib.loads((resources.files("organwatch.claims") / "data" / "x12_maps.toml").read_text("utf-8"))["alias"]


@dataclass
class _N4:
    loop: str
    state: str | None
    country: str | None


@dataclass
class _LineBuf:
    lx: int
    line: int
    procedures: list[tuple[str, str]] = field(default_factory=list)
    revenue: tuple[str, str] | None = None
    pointers: list[int] = field(default_factory=list)
    date: dt.date | None = None
    date_field: str = ""
    n4: _N4 | None = None


@dataclass
class _ClaimBuf:
    record: int
    seg_line: int
    claim_id: str | None = None
    member_id: str | None = None
    form: str = "837P"
    dx: list[tuple[str, str, bool]] = field(default_factory=list)
    pcs: list[tuple[str, str]] = field(default_factory=list)
    date: dt.date | None = None
    date_field: str = ""
    facility_n4: _N4 | None = None
    billing_n4: _N4 | None = None
    lines: list[_LineBuf] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


def _d(value: str | None, fmt_q: str | None) -> dt.date | None:
    if not value:
        return None
    v = value.split("-")[0] if fmt_q == "RD8" else (value[:8] if fmt_q == "DT" else value)
    if len(v) != 8 or not v.isdigit():
        raise ValueError("date")
    return dt.date(int(v[:4]), int(v[4:6]), int(v[6:8]))


def _resolve_country(*cands: _N4 | None) -> tuple[str, str, str | None, str]:
    """(country, field, raw, evidence kind) per compliance-rules.md 5.1 resolution order."""
    kinds = {"2420C": "claim_line_facility", "2310C": "claim_service_facility", "2310E": "claim_service_facility",
             "2010AA": "billing_provider"}
    for n4 in cands:
        if n4 is None:
            continue
        kind = kinds.get(n4.loop, "other")
        if n4.country:
            return normalise(n4.country), f"{n4.loop}/N404", n4.country, kind
        if is_us_subdivision(n4.state):
            return "US", f"{n4.loop}/N402", n4.state, kind
        return UNKNOWN, f"{n4.loop}/N4", None, kind
    return UNKNOWN, "", None, ""


def _finish(buf: _ClaimBuf, source: str, st_errors: list[str]) -> Claim | ClaimError:
    errs = st_errors + buf.errors
    if not buf.claim_id:
        errs.append("CLM01 (claim identifier) missing")
    if errs:
        return ClaimError(source=source, record=buf.record, where=errs[0].split(":")[0],
                          message="; ".join(errs[:5]) + (f" (+{len(errs) - 5} more)" if len(errs) > 5 else ""))
    claim = Claim(claim_id=buf.claim_id or "", source=source, record=buf.record, form=buf.form,
                  member_id=buf.member_id)
    for i, lb in enumerate(buf.lines, 1):
        if lb.pointers and buf.form == "837P":
            dx = []
            for k, p in enumerate(lb.pointers):
                if 1 <= p <= len(buf.dx):
                    code, fld, _pr = buf.dx[p - 1]
                    dx.append((code, fld, k == 0))
        else:
            dx = list(buf.dx)
        country, cfield, raw, kind = _resolve_country(lb.n4, buf.facility_n4, buf.billing_n4)
        claim.lines.append(Line(
            line=lb.lx or i, date=lb.date or buf.date, date_field=lb.date_field if lb.date else buf.date_field,
            procedures=lb.procedures + list(buf.pcs), revenue=lb.revenue, diagnoses=dx, country=country,
            country_field=cfield, country_raw=raw, country_source=kind))
    return claim


def _seg_error(seg_id: str, loop: str, line: int | None, what: str) -> str:
    return f"segment {seg_id} (line {line}, loop {loop or 'header'}): {what}"


class _MapCache:
    """Stands in for the ``pyx12.map_if`` module inside ``pyx12.x12context``: every attribute is the real module's,
    except that ``load_map_file`` returns an already parsed map when it is called with organwatch's own
    parameters. Parsing an implementation-guide map takes ~0.25 s; parsed maps hold no per-file state (loop and
    segment counters live in each reader's walker), so one parse serves every file of a batch. Calls with other
    parameters (other users of pyx12 in the same process) go straight to pyx12."""

    def __init__(self, real: Any, param: Any):
        self._real = real
        self._param = param
        self._maps: dict[tuple[str, str | None], Any] = {}

    def __getattr__(self, name: str) -> Any:
        return getattr(self._real, name)

    def load_map_file(self, map_file: str, param: Any, map_path: str | None = None) -> Any:
        if param is not self._param:
            return self._real.load_map_file(map_file, param, map_path)
        key = (map_file, map_path)
        if key not in self._maps:
            self._maps[key] = self._real.load_map_file(map_file, param, map_path)
        return self._maps[key]


@functools.cache
def _pyx12_param() -> Any:
    """One pyx12 parameter object for all organwatch reads (the key of the map cache)."""
    import pyx12.error_handler
    import pyx12.params
    import pyx12.x12context

    param = pyx12.params.params()
    current = pyx12.x12context.map_if
    if not isinstance(current, _MapCache):
        pyx12.x12context.map_if = _MapCache(current, param)  # type: ignore[assignment]
        # Element validation whose results go to the null error handler is discarded work (about 40 % of parse
        # time): skip it for errh_null only; readers with a real error handler still get every error.
        real_apply = pyx12.x12context.apply_segment_errors
        null_handler = pyx12.error_handler.errh_null

        def apply_segment_errors(node: Any, seg_data: Any, errh: Any) -> bool:
            if type(errh) is null_handler:
                return True
            return real_apply(node, seg_data, errh)

        pyx12.x12context.apply_segment_errors = apply_segment_errors  # type: ignore[assignment]
    return param


@functools.cache
def _quiet_pyx12() -> None:
    """pyx12 logs parse problems with segment contents (possible PHI): never let them reach stderr."""
    import logging

    log = logging.getLogger("pyx12")
    log.addHandler(logging.NullHandler())
    log.propagate = False


def read_x12(path: Path) -> Iterator[Claim | ClaimError]:
    _quiet_pyx12()
    import pyx12.error_handler
    import pyx12.errors
    import pyx12.x12context

    source = str(path)
    param = _pyx12_param()
    errh = pyx12.error_handler.errh_null()
    record = 0
    cur: _ClaimBuf | None = None
    billing: _N4 | None = None
    member: str | None = None
    st_errors: list[str] = []
    form = "837P"
    line_no: int | None = None
    seg_id = "ISA"
    loop = ""
    try:
        with open(path, encoding="utf-8", errors="replace", newline="") as fh:
            reader = pyx12.x12context.X12ContextReader(param, errh, fh)
            for a in map_aliases():
                reader.map_index_if.add_map("00501", a["vriic"], a["fic"], None, a["map"], a["abbr"])
            for node in reader.iter_segments():
                seg = node.seg_data
                seg_id = seg.get_seg_id() or "?"
                line_no = node.cur_line_number
                mnode = node.x12_map_node
                loops = mnode.x12path.loop_list if mnode is not None else []
                loop = loops[-1] if loops else ""
                if seg_id in ("ISA", "GS", "GE", "IEA"):
                    continue
                if seg_id == "ST":
                    if cur is not None:
                        yield _finish(cur, source, st_errors)
                        cur = None
                    st_errors, billing, member = [], None, None
                    vr = seg.get_value("ST03") or ""
                    form = "837I" if "X223" in vr else "837P"
                    continue
                if seg_id == "SE":
                    if cur is not None:
                        yield _finish(cur, source, st_errors)
                        cur = None
                    continue
                if node.id != seg_id:  # pyx12 could not place the segment in the map
                    msg = _seg_error(seg_id, loop, line_no, "not recognised by the X12 map at this position "
                                                            "(separators, qualifier or segment order)")
                    (cur.errors if cur is not None else st_errors).append(msg)
                    continue
                if seg_id == "HL" and cur is not None:
                    yield _finish(cur, source, st_errors)
                    cur = None
                if loop == "2010AA" and seg_id == "N4":
                    billing = _N4("2010AA", seg.get_value("N402"), seg.get_value("N404"))
                elif loop == "2010BA" and seg_id == "NM1":
                    member = seg.get_value("NM109")
                elif seg_id == "CLM":
                    if cur is not None:
                        yield _finish(cur, source, st_errors)
                    record += 1
                    cur = _ClaimBuf(record=record, seg_line=line_no or 0, claim_id=seg.get_value("CLM01"),
                                    member_id=member, form=form, billing_n4=billing)
                elif cur is None:
                    continue
                elif loop == "2300" and seg_id == "HI":
                    for k in range(1, 13):
                        q = seg.get_value(f"HI{k:02d}-1")
                        code = seg.get_value(f"HI{k:02d}-2")
                        if not q or not code:
                            continue
                        fld = f"HI{k:02d}-2({q})"
                        if q in PCS:
                            cur.pcs.append((code, fld))
                        elif q in PRINCIPAL_DX or q in OTHER_DX:
                            cur.dx.append((code, fld, q in PRINCIPAL_DX))
                elif loop == "2300" and seg_id == "DTP":
                    q = seg.get_value("DTP01")
                    if q in ("472", "434", "435") and cur.date is None or q == "472":
                        try:
                            cur.date = _d(seg.get_value("DTP03"), seg.get_value("DTP02"))
                            cur.date_field = f"2300/DTP*{q}"
                        except ValueError:
                            cur.errors.append(_seg_error("DTP", loop, line_no, "DTP03 is not a valid date"))
                elif loop in ("2310C", "2310E") and seg_id == "N4":
                    if (form == "837P" and loop == "2310C") or (form == "837I" and loop == "2310E"):
                        cur.facility_n4 = _N4(loop, seg.get_value("N402"), seg.get_value("N404"))
                elif loop == "2400":
                    if seg_id == "LX":
                        lx = seg.get_value("LX01")
                        cur.lines.append(_LineBuf(lx=int(lx) if lx and lx.isdigit() else 0, line=line_no or 0))
                    elif not cur.lines:
                        cur.errors.append(_seg_error(seg_id, loop, line_no, "service line without LX"))
                    elif seg_id == "SV1":
                        lb = cur.lines[-1]
                        code = seg.get_value("SV101-2")
                        if code:
                            lb.procedures.append((code, "SV101-2"))
                        for k in range(1, 5):
                            p = seg.get_value(f"SV107-{k}")
                            if p and p.isdigit():
                                lb.pointers.append(int(p))
                    elif seg_id == "SV2":
                        lb = cur.lines[-1]
                        rev = seg.get_value("SV201")
                        if rev:
                            lb.revenue = (rev, "SV201")
                        code = seg.get_value("SV202-2")
                        if code:
                            lb.procedures.append((code, "SV202-2"))
                    elif seg_id == "DTP" and seg.get_value("DTP01") == "472":
                        try:
                            cur.lines[-1].date = _d(seg.get_value("DTP03"), seg.get_value("DTP02"))
                            cur.lines[-1].date_field = "2400/DTP*472"
                        except ValueError:
                            cur.errors.append(_seg_error("DTP", loop, line_no, "DTP03 is not a valid date"))
                elif loop == "2420C" and seg_id == "N4" and form == "837P" and cur.lines:
                    cur.lines[-1].n4 = _N4("2420C", seg.get_value("N402"), seg.get_value("N404"))
            if cur is not None:
                yield _finish(cur, source, st_errors)
                cur = None
    except (pyx12.errors.X12Error, pyx12.errors.EngineError, pyx12.errors.X12PathError) as e:
        msg = " ".join(str(e).split())
        # pyx12 messages can quote segment data: keep only messages about structure, never values
        safe = "map not found for this implementation guide (GS08)" if "Map not found" in msg else \
            "unreadable X12 structure"
        if cur is not None:
            cur.errors.append(_seg_error(seg_id, loop, line_no, safe))
            yield _finish(cur, source, st_errors)
        else:
            yield ClaimError(source=source, record=None, where=f"segment {seg_id} (line {line_no})", message=safe)
    except UnicodeError:  # pragma: no cover - errors="replace" above
        yield ClaimError(source=source, record=None, where="file", message="not text")
    except Exception as e:  # pyx12 internals on hostile input (IndexError, KeyError...)
        where = f"segment {seg_id} (line {line_no}, loop {loop or 'header'})"
        if cur is not None:
            cur.errors.append(f"{where}: X12 structure could not be parsed ({type(e).__name__})")
            yield _finish(cur, source, st_errors)
        else:
            yield ClaimError(source=source, record=None, where=where,
                             message=f"X12 structure could not be parsed ({type(e).__name__})")


def describe() -> dict[str, Any]:
    import pyx12

    return {"library": "pyx12", "version": getattr(pyx12, "__version__", "?"), "map_aliases": map_aliases()}
