"""X12 837P / 837I through pyx12 (maintained, BSD), the validating path: pyx12's maps define the loops; this
module only reads values.

Every file is first tokenised and its envelopes checked by :func:`organwatch.claims.readers.x12_fast.scan`
(pyx12 stops silently on a cut file, an empty ``~~`` or an over-long segment): only the transaction sets that
passed those checks are scored, and the damage is a file error. The reader then streams segments from
:class:`pyx12.x12context.X12ContextReader`; each segment node carries the loop path pyx12 resolved from the
implementation-guide map (``2000A/2010AA``, ``2300/2310C``, ``2400/2420C``...). A segment that the map cannot
place (wrong separators, unknown qualifier, out-of-order segment) is reported as a per-claim error naming the
segment id, loop and line; segment contents (which can hold PHI) are never echoed. pyx12 4.0.0 ships no 4010
maps, so 4010 transaction sets (GS08 004010X098A1 / 004010X096A1) are read by the tokenising reader in both
modes. A claim pyx12 did not return although the scan saw its CLM is reported, never dropped.
"""

from __future__ import annotations

import functools
import io
import tomllib
from collections.abc import Iterator
from importlib import resources
from pathlib import Path
from typing import Any

from organwatch.claims.model import Claim
from organwatch.claims.readers.x12_common import (
    CLAIM_DATE_QUALIFIERS,
    N4,
    OTHER_DX,
    PCS,
    PRINCIPAL_DX,
    ClaimBuf,
    LineBuf,
    finish,
    seg_error,
    x12_date,
)
from organwatch.errors import RecordError


@functools.cache
def map_aliases() -> list[dict[str, str]]:
    return tomllib.loads((resources.files("organwatch.claims") / "data" / "x12_maps.toml").read_text("utf-8"))["alias"]


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
        pyx12.x12context.map_if = _MapCache(current, param)
        # Element validation whose results go to the null error handler is discarded work (about 40 % of parse
        # time): skip it for errh_null only; readers with a real error handler still get every error.
        real_apply = pyx12.x12context.apply_segment_errors
        null_handler = pyx12.error_handler.errh_null

        def apply_segment_errors(node: Any, seg_data: Any, errh: Any) -> bool:
            if type(errh) is null_handler:
                return True
            return real_apply(node, seg_data, errh)

        pyx12.x12context.apply_segment_errors = apply_segment_errors
    return param


@functools.cache
def _quiet_pyx12() -> None:
    """pyx12 logs parse problems with segment contents (possible PHI): never let them reach stderr."""
    import logging

    log = logging.getLogger("pyx12")
    log.addHandler(logging.NullHandler())
    log.propagate = False


class _State:
    """Per-file reading state of the pyx12 walk (one claim buffer at a time)."""

    def __init__(self, source: str):
        self.source = source
        self.record = 0
        self.cur: ClaimBuf | None = None
        self.billing: N4 | None = None
        self.member: str | None = None
        self.st_errors: list[str] = []
        self.form = "837P"
        self.st_ordinal = 0
        self.line_no: int | None = None
        self.seg_id = "ISA"
        self.loop = ""
        self.out: list[Claim | RecordError] = []
        self.per_st: dict[int, int] = {}

    def close(self) -> None:
        if self.cur is not None:
            self.out.append(finish(self.cur, self.source, self.st_errors))
            self.per_st[self.st_ordinal] = self.per_st.get(self.st_ordinal, 0) + 1
            self.cur = None


def _hi(st: _State, seg: Any) -> None:
    assert st.cur is not None
    for k in range(1, 13):
        q = seg.get_value(f"HI{k:02d}-1")
        code = seg.get_value(f"HI{k:02d}-2")
        if not q or not code:
            continue
        fld = f"HI{k:02d}-2({q})"
        if q in PCS:
            st.cur.pcs.append((code, fld))
        elif q in PRINCIPAL_DX or q in OTHER_DX:
            st.cur.dx.append((code, fld, q in PRINCIPAL_DX))


def _claim_dtp(st: _State, seg: Any) -> None:
    cur = st.cur
    assert cur is not None
    q = seg.get_value("DTP01")
    if q in CLAIM_DATE_QUALIFIERS and cur.date is None or q == "472":
        try:
            cur.date = x12_date(seg.get_value("DTP03"), seg.get_value("DTP02"))
            cur.date_field = f"2300/DTP*{q}"
        except ValueError:
            cur.errors.append(seg_error("DTP", st.loop, st.line_no, "DTP03 is not a valid date"))


def _line_segment(st: _State, seg_id: str, seg: Any) -> None:
    cur = st.cur
    assert cur is not None
    if seg_id == "LX":
        lx = seg.get_value("LX01")
        cur.lines.append(LineBuf(lx=int(lx) if lx and lx.isdigit() else 0, line=st.line_no or 0))
    elif not cur.lines:
        cur.errors.append(seg_error(seg_id, st.loop, st.line_no, "service line without LX"))
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
            cur.lines[-1].date = x12_date(seg.get_value("DTP03"), seg.get_value("DTP02"))
            cur.lines[-1].date_field = "2400/DTP*472"
        except ValueError:
            cur.errors.append(seg_error("DTP", st.loop, st.line_no, "DTP03 is not a valid date"))


def _envelope(st: _State, seg_id: str, seg: Any) -> bool:
    """ST / SE / envelope segments; True when the segment was consumed."""
    if seg_id in ("ISA", "GS", "GE", "IEA"):
        return True
    if seg_id == "ST":
        st.close()
        st.st_ordinal += 1
        st.st_errors, st.billing, st.member = [], None, None
        st.form = "837I" if "X223" in (seg.get_value("ST03") or "") else "837P"
        return True
    if seg_id == "SE":
        st.close()
        return True
    return False


def _segment(st: _State, node: Any, wanted: set[int]) -> None:
    seg = node.seg_data
    seg_id = st.seg_id = seg.get_seg_id() or "?"
    st.line_no = node.cur_line_number
    mnode = node.x12_map_node
    loops = mnode.x12path.loop_list if mnode is not None else []
    loop = st.loop = loops[-1] if loops else ""
    if _envelope(st, seg_id, seg) or st.st_ordinal not in wanted:
        return
    if node.id != seg_id:  # pyx12 could not place the segment in the map
        msg = seg_error(seg_id, loop, st.line_no, "not recognised by the X12 map at this position "
                                                  "(separators, qualifier or segment order)")
        (st.cur.errors if st.cur is not None else st.st_errors).append(msg)
        return
    if seg_id == "HL":
        st.close()
    if loop == "2010AA" and seg_id == "N4":
        st.billing = N4("2010AA", seg.get_value("N402"), seg.get_value("N404"))
    elif loop == "2010BA" and seg_id == "NM1":
        st.member = seg.get_value("NM109")
    elif seg_id == "CLM":
        st.close()
        st.record += 1
        st.cur = ClaimBuf(record=st.record, seg_line=st.line_no or 0, claim_id=seg.get_value("CLM01"),
                          member_id=st.member, form=st.form, billing_n4=st.billing)
    elif st.cur is None:
        return
    elif loop == "2300" and seg_id == "HI":
        _hi(st, seg)
    elif loop == "2300" and seg_id == "DTP":
        _claim_dtp(st, seg)
    elif loop in ("2310C", "2310E") and seg_id == "N4":
        if (st.form == "837P" and loop == "2310C") or (st.form == "837I" and loop == "2310E"):
            st.cur.facility_n4 = N4(loop, seg.get_value("N402"), seg.get_value("N404"))
    elif loop == "2400":
        _line_segment(st, seg_id, seg)
    elif loop == "2420C" and seg_id == "N4" and st.form == "837P" and st.cur.lines:
        st.cur.lines[-1].n4 = N4("2420C", seg.get_value("N402"), seg.get_value("N404"))


def _pyx12_walk(text: str, st: _State, wanted: set[int]) -> None:
    _quiet_pyx12()
    import pyx12.error_handler
    import pyx12.errors
    import pyx12.x12context

    param = _pyx12_param()
    errh = pyx12.error_handler.errh_null()
    try:
        reader = pyx12.x12context.X12ContextReader(param, errh, io.StringIO(text, newline=""))
        for a in map_aliases():
            reader.map_index_if.add_map("00501", a["vriic"], a["fic"], None, a["map"], a["abbr"])
        for node in reader.iter_segments():
            _segment(st, node, wanted)
        st.close()
    except (pyx12.errors.X12Error, pyx12.errors.EngineError, pyx12.errors.X12PathError) as e:
        msg = " ".join(str(e).split())
        # pyx12 messages can quote segment data: keep only messages about structure, never values
        safe = "map not found for this implementation guide (GS08)" if "Map not found" in msg else \
            "unreadable X12 structure"
        _fail(st, safe)
    except Exception as e:  # pyx12 internals on hostile input (IndexError, KeyError...)
        _fail(st, f"X12 structure could not be parsed ({type(e).__name__})")


def _fail(st: _State, what: str) -> None:
    where = seg_error(st.seg_id, st.loop, st.line_no, what)
    if st.cur is not None:
        st.cur.errors.append(where)
        st.close()
    else:
        st.out.append(RecordError(file=st.source, record=None, line=st.line_no, field=where.split(":")[0],
                                  message=what))


def read_x12(path: Path, source: str | None = None) -> Iterator[Claim | RecordError]:
    from organwatch.claims.readers.x12_fast import claims_from_scan, read_text, scan, transaction_problem

    src = source or path.name
    text = read_text(path)
    sc = scan(text, src)
    yield from sc.notes
    wanted: set[int] = set()
    tokenised: set[int] = set()
    expected: dict[int, int] = {}
    for tx in sc.transactions:
        form, problem = transaction_problem(tx, src)
        if problem is not None:
            yield problem
            continue
        if tx.version.startswith("004010"):
            tokenised.add(tx.ordinal)
            continue
        wanted.add(tx.ordinal)
        expected[tx.ordinal] = sum(1 for s in sc.segs[tx.start:tx.end] if s.startswith("CLM" + sc.es))
    if wanted:
        if sc.cs != sc.cs_declared:  # read with the separator the composites really use
            i = text.find("ISA")
            text = text[:i + 104] + sc.cs + text[i + 105:]
        st = _State(src)
        _pyx12_walk(text, st, wanted)
        yield from st.out
        for n in sorted(wanted):
            if st.per_st.get(n, 0) < expected[n]:
                yield RecordError(file=src, record=None, field=f"transaction set {n}",
                                  message=f"pyx12 returned {st.per_st.get(n, 0)} of the {expected[n]} claims the "
                                          f"tokeniser found; the rest could not be read")
    if tokenised:
        for item in claims_from_scan(sc, only=tokenised):
            if not isinstance(item, RecordError) or item.record is not None:
                yield item
    if sc.damage is not None:
        yield sc.damage


def describe() -> dict[str, Any]:
    import pyx12

    return {"library": "pyx12", "version": getattr(pyx12, "__version__", "?"), "map_aliases": map_aliases()}
