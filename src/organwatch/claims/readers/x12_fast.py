"""X12 837 tokenising reader: one bulk split of the interchange, envelope and count checks, then claim values.

:func:`scan` splits the whole text on the segment terminator once (C-level ``str.split``), checks ISA/IEA,
GS/GE and ST/SE nesting, control numbers and counts, and refuses empty (``~~``) and over-long segments with
their position. Damage ends the scan: the transaction sets completed before it are read, nothing after it is
(a RecordError names the file, segment number and what is wrong). :func:`read_x12_fast` turns the verified
transaction sets into claims with the same field mapping and the same segment checks as the pyx12 path
(:mod:`organwatch.claims.readers.x12`); tests compare the two on every sample and test file. Segment contents
(possible PHI) never appear in messages.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

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
    structure,
    x12_date,
)
from organwatch.errors import RecordError

COMPOSITE_CANDIDATES = (":", ">", "^", "|", "\\", "!", "}")
ISA_WIDTHS = (3, 2, 10, 2, 10, 2, 15, 2, 15, 6, 4, 1, 5, 9, 1, 1, 1)  # ISA and ISA01..ISA16, fixed by X12


@dataclass
class Transaction:
    """One ST..SE transaction set that passed the envelope checks (indexes into ``Scan.segs``)."""

    start: int  # index of ST
    end: int  # index of SE
    st01: str
    version: str  # ST03, else GS08
    ordinal: int  # 1-based ST ordinal in the file


@dataclass
class Scan:
    source: str
    segs: list[str] = field(default_factory=list)
    es: str = "*"
    cs: str = ":"
    transactions: list[Transaction] = field(default_factory=list)
    damage: RecordError | None = None
    notes: list[RecordError] = field(default_factory=list)
    cs_declared: str = ":"

    def position(self, k: int) -> str:
        return f"segment {k + 1}"


def _isa_separators(text: str, source: str) -> tuple[int, str, str, str] | RecordError:
    """(offset of ISA, element separator, component separator, segment terminator) from the fixed-width ISA."""
    i = text.find("ISA")
    if i < 0 or text[:i].strip("\ufeff \t\r\n"):
        return RecordError(file=source, record=None, message="no ISA segment at the start: not an X12 interchange",
                           field="ISA")
    isa = text[i:i + 106]
    es = isa[3:4]
    if len(isa) < 106 or not es or tuple(len(e) for e in isa[:105].split(es)) != ISA_WIDTHS:
        return RecordError(file=source, record=None, field="ISA", line=1,
                           message="ISA segment is not the fixed-width 106 characters with 16 elements (separators "
                                   "cannot be read); interchange refused")
    cs, term = isa[104], isa[105]
    if term.isalnum() or term == es or cs == es:
        return RecordError(file=source, record=None, field="ISA", line=1,
                           message="ISA separators are not distinct (element, component, segment terminator)")
    return i, es, cs, term


def _detect_composite(segs: list[str], es: str, declared: str) -> str:
    """The component separator the composites really use. Some real files declare ':' in ISA16 and write '>'
    (LinuxForHealth demo files); the first HI / SV1 / SV2 / CLM05 composite settles it."""
    heads = ("HI" + es, "SV1" + es, "SV2" + es, "CLM" + es)
    for s in segs[:400]:
        if not s.startswith(heads):
            continue
        sid = s[:4]
        els = s.split(es)
        probe = els[5] if sid.startswith("CLM") and len(els) > 5 else (els[1] if len(els) > 1 else "")
        if sid.startswith("SV2") and len(els) > 2:
            probe = els[2]
        if not probe or declared in probe:
            if probe:
                return declared
            continue
        used = [c for c in COMPOSITE_CANDIDATES if c != declared and c != es and c in probe]
        if len(used) == 1:
            return used[0]
    return declared


class _Walker:
    """The envelope state machine: a table of small checks, one per envelope segment."""

    def __init__(self, scan: Scan):
        self.scan = scan
        self.state = "between"
        self.isa13 = self.gs06 = self.st02 = self.st01 = self.st03 = self.gs08 = ""
        self.n_gs = self.n_st = self.st_ordinal = 0
        self.st_start = -1
        self.table: dict[str, Callable[[int, list[str]], str | None]] = {
            "ISA": self.isa, "GS": self.gs, "ST": self.st, "SE": self.se, "GE": self.ge, "IEA": self.iea}

    def isa(self, k: int, el: list[str]) -> str | None:
        if self.state != "between":
            return "ISA inside an open interchange (IEA missing before it)"
        if len(el) != 17:
            return "ISA does not have 16 elements"
        self.state, self.isa13, self.n_gs = "isa", el[13].strip(), 0
        return None

    def gs(self, k: int, el: list[str]) -> str | None:
        if self.state != "isa":
            return "GS outside an interchange or inside an open functional group (GE missing)"
        self.state, self.gs06, self.n_st = "gs", el[6].strip() if len(el) > 6 else "", 0
        self.gs08 = el[8].strip() if len(el) > 8 else ""
        self.n_gs += 1
        return None

    def st(self, k: int, el: list[str]) -> str | None:
        if self.state != "gs":
            return "ST outside a functional group or inside an open transaction set (SE missing)"
        self.state, self.st_start, self.st_ordinal = "st", k, self.st_ordinal + 1
        self.st01 = el[1].strip() if len(el) > 1 else ""
        self.st02 = el[2].strip() if len(el) > 2 else ""
        self.st03 = el[3].strip() if len(el) > 3 else ""
        return None

    def se(self, k: int, el: list[str]) -> str | None:
        if self.state != "st":
            return "SE without an open transaction set"
        n = k - self.st_start + 1
        if len(el) < 3 or el[1].strip() != str(n):
            return f"SE01 segment count is {el[1].strip() if len(el) > 1 else 'missing'}, the transaction set has {n}"
        if el[2].strip() != self.st02:
            return "SE02 does not match the ST02 control number"
        self.scan.transactions.append(Transaction(self.st_start, k, self.st01, self.st03 or self.gs08,
                                                  self.st_ordinal))
        self.state = "gs"
        self.n_st += 1
        return None

    def ge(self, k: int, el: list[str]) -> str | None:
        if self.state != "gs":
            return "GE without an open functional group (SE missing?)"
        if len(el) < 3 or el[1].strip() != str(self.n_st):
            return f"GE01 transaction-set count is {el[1].strip() if len(el) > 1 else 'missing'}, the group has " \
                   f"{self.n_st}"
        if el[2].strip() != self.gs06:
            return "GE02 does not match the GS06 control number"
        self.state = "isa"
        return None

    def iea(self, k: int, el: list[str]) -> str | None:
        if self.state != "isa":
            return "IEA without a closed functional group (GE missing?)"
        if len(el) < 3 or el[1].strip() != str(self.n_gs):
            return f"IEA01 group count is {el[1].strip() if len(el) > 1 else 'missing'}, the interchange has " \
                   f"{self.n_gs}"
        if el[2].strip() != self.isa13:
            return "IEA02 does not match the ISA13 control number"
        self.state = "between"
        return None

    def end(self) -> str | None:
        missing = {"isa": "IEA", "gs": "GE and IEA", "st": "SE, GE and IEA"}.get(self.state)
        return f"file ends inside an open envelope ({missing} missing: truncated?)" if missing else None


def scan(text: str, source: str) -> Scan:
    """Tokenise and check the envelopes; ``Scan.damage`` is the first problem (file error), if any."""
    sc = Scan(source=source)
    seps = _isa_separators(text, source)
    if isinstance(seps, RecordError):
        sc.damage = seps
        return sc
    i, es, cs, term = seps
    raw = text[i:].split(term)
    if raw and not raw[-1].strip():
        raw.pop()  # what follows the last terminator (a newline)
    segs = [s.strip() for s in raw]
    sc.segs, sc.es, sc.cs_declared = segs, es, cs
    sc.cs = _detect_composite(segs, es, cs)
    if sc.cs != cs:
        sc.notes.append(RecordError(file=source, record=None, field="ISA16", note=True,
                                    message=f"ISA16 declares '{cs}' as component separator but the composites use "
                                            f"'{sc.cs}'; read with '{sc.cs}'"))
    limit = int(structure()["limits"]["max_segment_chars"])
    w = _Walker(sc)
    table = w.table
    for k, s in enumerate(segs):
        problem = None
        if not s:
            problem = "empty segment (two terminators in a row)"
        elif len(s) > limit:
            problem = f"segment longer than {limit} characters"
        else:
            check = table.get(s[:3].rstrip(es))
            if check is not None:
                problem = check(k, s.split(es))
            elif w.state != "st":
                problem = "segment outside a transaction set"
        if problem:
            sc.damage = _damage(sc, k, problem)
            return sc
    problem = w.end()
    if problem:
        sc.damage = _damage(sc, len(segs) - 1, problem)
    return sc


def _damage(sc: Scan, k: int, problem: str) -> RecordError:
    done = len(sc.transactions)
    tail = (f"; {done} complete transaction set(s) before it were read, nothing after it" if done
            else "; nothing in the file was read")
    seg_id = sc.segs[k][:3].rstrip(sc.es) if 0 <= k < len(sc.segs) and sc.segs[k] else "?"
    return RecordError(file=sc.source, record=None, line=k + 1, field=f"segment {k + 1} ({seg_id or '?'})",
                       message=f"damaged interchange: {problem}{tail}")


def read_text(path: Path) -> str:
    data = path.read_bytes()
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("latin-1")


def transaction_problem(tx: Transaction, source: str) -> tuple[str | None, RecordError | None]:
    """(form, None) for a readable 837, else (None, a RecordError saying what the transaction set is)."""
    sets = structure()["transaction_sets"]
    where = f"segment {tx.start + 1} (ST)"
    if tx.st01 != "837":
        what = sets.get(tx.st01, f"transaction set {tx.st01 or '?'}")
        return None, RecordError(file=source, record=None, line=tx.start + 1, field=where,
                                 message=f"{what} is not a claim (837); not read")
    form = structure()["versions"].get(tx.version)
    if form is None:
        return None, RecordError(file=source, record=None, line=tx.start + 1, field=where,
                                 message=f"837 implementation guide '{tx.version or 'none'}' is not supported "
                                         f"(837P 005010X222A1/A2, 837I 005010X223A1-A3, 4010 004010X098A1 / "
                                         f"004010X096A1); transaction set not read")
    return form, None


class _Extract:
    """Claim values of one 837 transaction set; one small handler per segment identifier."""

    def __init__(self, source: str, es: str, cs: str, form: str, record: int, version: str = ""):
        st = structure()
        self.source, self.es, self.cs, self.form, self.record = source, es, cs, form, record
        self.facility_loop = "2310E" if form == "837I" else ("2310D" if version.startswith("004010") else "2310C")
        self.known = frozenset(st["segments"]["ids"])
        self.hi_q = frozenset(st["qualifiers"]["hi"])
        self.prod_q = frozenset(st["qualifiers"]["product"])
        self.facility = frozenset(st["entities"]["service_facility"])
        self.cur: ClaimBuf | None = None
        self.billing: N4 | None = None
        self.member: str | None = None
        self.st_errors: list[str] = []
        self.out: list[Claim | RecordError] = []
        self.entity = ""  # NM101 of the current name loop ("" outside one)
        self.seen_in_name = 0  # 0 = just NM1, 1 = N2, 3 = N3 seen, 4 = N4 seen, 5 = another segment seen
        self.other_payer = False  # inside 2320/2330 (after SBR in a claim)
        self.handlers: dict[str, Callable[[str, int], None]] = {
            "HL": self.hl, "NM1": self.nm1, "N3": self.n3, "N4": self.n4, "CLM": self.clm, "HI": self.hi,
            "DTP": self.dtp, "LX": self.lx, "SV1": self.sv1, "SV2": self.sv2, "SBR": self.sbr, "N2": self.n2}

    def err(self, sid: str, k: int, what: str) -> None:
        loop = "2400" if self.cur is not None and self.cur.lines else ("2300" if self.cur is not None else "")
        (self.cur.errors if self.cur is not None else self.st_errors).append(seg_error(sid or "?", loop, k + 1, what))

    def close(self) -> None:
        if self.cur is not None:
            self.out.append(finish(self.cur, self.source, self.st_errors))
            self.cur = None

    def run(self, segs: list[str], start: int, end: int) -> list[Claim | RecordError]:
        es, handlers, known = self.es, self.handlers, self.known
        for k in range(start + 1, end):
            s = segs[k]
            cut = s.find(es)
            sid = s if cut < 0 else s[:cut]
            h = handlers.get(sid)
            if h is not None:
                h(s, k)
            elif sid not in known:
                self.err(sid, k, "not recognised by the X12 map at this position (separators, qualifier or "
                                 "segment order)")
            else:
                self.seen_in_name = 5
        self.close()
        return self.out

    # -- handlers ------------------------------------------------------------------------------------------
    def hl(self, s: str, k: int) -> None:
        self.close()
        self.entity, self.other_payer = "", False

    def sbr(self, s: str, k: int) -> None:
        self.entity = ""
        if self.cur is not None:
            self.other_payer = True

    def nm1(self, s: str, k: int) -> None:
        el = s.split(self.es)
        self.entity, self.seen_in_name = (el[1] if len(el) > 1 else ""), 0
        if self.entity == "IL" and self.cur is None:
            self.member = el[9] if len(el) > 9 and el[9] else None

    def n2(self, s: str, k: int) -> None:
        """Additional name (4010): allowed between NM1 and N3."""
        if self.seen_in_name == 0:
            self.seen_in_name = 1

    def n3(self, s: str, k: int) -> None:
        if self.entity and self.seen_in_name > 1:  # only NM1 (0) or N2 (1) may come before N3
            self.err("N3", k, "not recognised by the X12 map at this position (separators, qualifier or segment "
                              "order)")
            return
        self.seen_in_name = 3

    def n4(self, s: str, k: int) -> None:
        if self.entity and self.seen_in_name > 3:
            self.err("N4", k, "not recognised by the X12 map at this position (separators, qualifier or segment "
                              "order)")
            return
        self.seen_in_name = 4
        el = s.split(self.es)
        state = el[2] if len(el) > 2 and el[2] else None
        country = el[4] if len(el) > 4 and el[4] else None
        e, cur = self.entity, self.cur
        if cur is None:
            if e == "85":
                self.billing = N4("2010AA", state, country)
            return
        if self.other_payer or e not in self.facility:
            return
        if cur.lines:
            if self.form == "837P":
                cur.lines[-1].n4 = N4("2420C", state, country)
        else:  # 5010 837P 2310C, 4010 837P 2310D, 837I 2310E (all: NM1*77 / FA / LI / TL)
            cur.facility_n4 = N4(self.facility_loop, state, country)

    def clm(self, s: str, k: int) -> None:
        self.close()
        self.entity, self.other_payer = "", False
        el = s.split(self.es)
        self.record += 1
        self.cur = ClaimBuf(record=self.record, seg_line=k + 1, claim_id=el[1] if len(el) > 1 and el[1] else None,
                            member_id=self.member, form=self.form, billing_n4=self.billing)

    def hi(self, s: str, k: int) -> None:
        cur = self.cur
        el = s.split(self.es)
        if len(el) < 2 or el[1].split(self.cs)[0] not in self.hi_q:
            self.err("HI", k, "not recognised by the X12 map at this position (separators, qualifier or segment "
                              "order)")
            return
        if cur is None or cur.lines or self.other_payer:
            return
        for n, e in enumerate(el[1:13], 1):
            comp = e.split(self.cs)
            if len(comp) < 2 or not comp[0] or not comp[1]:
                continue
            q, code = comp[0], comp[1]
            fld = f"HI{n:02d}-2({q})"
            if q in PCS:
                cur.pcs.append((code, fld))
            elif q in PRINCIPAL_DX or q in OTHER_DX:
                cur.dx.append((code, fld, q in PRINCIPAL_DX))

    def dtp(self, s: str, k: int) -> None:
        cur = self.cur
        if cur is None or self.other_payer:
            return
        el = s.split(self.es)
        q = el[1] if len(el) > 1 else ""
        fmt = el[2] if len(el) > 2 else None
        val = el[3] if len(el) > 3 else None
        if cur.lines:
            if q == "472":
                try:
                    cur.lines[-1].date = x12_date(val, fmt)
                    cur.lines[-1].date_field = "2400/DTP*472"
                except ValueError:
                    cur.errors.append(seg_error("DTP", "2400", k + 1, "DTP03 is not a valid date"))
            return
        if q in CLAIM_DATE_QUALIFIERS and cur.date is None or q == "472":
            try:
                cur.date = x12_date(val, fmt)
                cur.date_field = f"2300/DTP*{q}"
            except ValueError:
                cur.errors.append(seg_error("DTP", "2300", k + 1, "DTP03 is not a valid date"))

    def lx(self, s: str, k: int) -> None:
        self.entity, self.other_payer = "", False
        if self.cur is None:
            return
        el = s.split(self.es)
        lx = el[1] if len(el) > 1 else ""
        self.cur.lines.append(LineBuf(lx=int(lx) if lx.isdigit() else 0, line=k + 1))

    def sv1(self, s: str, k: int) -> None:
        el = s.split(self.es)
        comp = el[1].split(self.cs) if len(el) > 1 else [""]
        if comp[0] not in self.prod_q:
            self.err("SV1", k, "not recognised by the X12 map at this position (separators, qualifier or segment "
                               "order)")
            return
        cur = self.cur
        if cur is None:
            return
        if not cur.lines:
            cur.errors.append(seg_error("SV1", "2400", k + 1, "service line without LX"))
            return
        lb = cur.lines[-1]
        if len(comp) > 1 and comp[1]:
            lb.procedures.append((comp[1], "SV101-2"))
        if len(el) > 7:
            for p in el[7].split(self.cs)[:4]:
                if p.isdigit():
                    lb.pointers.append(int(p))

    def sv2(self, s: str, k: int) -> None:
        cur = self.cur
        if cur is None:
            return
        if not cur.lines:
            cur.errors.append(seg_error("SV2", "2400", k + 1, "service line without LX"))
            return
        el = s.split(self.es)
        lb = cur.lines[-1]
        if len(el) > 1 and el[1]:
            lb.revenue = (el[1], "SV201")
        if len(el) > 2:
            comp = el[2].split(self.cs)
            if len(comp) > 1 and comp[1]:
                lb.procedures.append((comp[1], "SV202-2"))


def read_x12_fast(path: Path, source: str | None = None) -> Iterator[Claim | RecordError]:
    """Claims of every verified 837 transaction set, then the damage (if any) as a file error."""
    src = source or path.name
    sc = scan(read_text(path), src)
    yield from sc.notes
    yield from claims_from_scan(sc)
    if sc.damage is not None:
        yield sc.damage


def claims_from_scan(sc: Scan, only: set[int] | None = None) -> Iterator[Claim | RecordError]:
    """Claims of the verified transaction sets of a scan (``only``: restrict to these ST ordinals)."""
    record = 0
    for tx in sc.transactions:
        form, problem = transaction_problem(tx, sc.source)
        if problem is not None:
            yield problem
            continue
        if only is not None and tx.ordinal not in only:
            continue
        assert form is not None
        ex = _Extract(sc.source, sc.es, sc.cs, form, record, tx.version)
        got = ex.run(sc.segs, tx.start, tx.end)
        record = ex.record
        yield from got
