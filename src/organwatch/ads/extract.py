"""From a page's visible text to advertised claims: cue hits, value expressions, segments and organ assignment.

Steps, each a small function:

1. normalise the visible text with the screener's normaliser (offset map kept) and find the pack's cue
   literals with the screener's scanner (:func:`cue_hits`);
2. find wait and price expressions in the normalised text (:mod:`organwatch.ads.values`);
3. cut the text into segments (sentences, table rows) and clauses (:func:`segment_ids`);
4. drop values whose clause carries a negative cue (statistics, hospital stay, travel and hotel prices,
   unrelated fees) or whose segment has no transplant context (:func:`keep_value`);
5. give each value an organ (the organ right after it, "1 week for a liver"; else the nearest one before it
   in the segment; else the last organ of the same line; else the organ heading its table column; else the
   last organ of the two lines above that carry no value, a heading) and join a wait and a price of the same organ
   mention into one claim (:func:`group_claims`).

Offsets: values and cues are found in normalised text; claims carry ``[start, end)`` in the visible text,
which the caller maps to the decoded page.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from organwatch.ads.rules import AdsPack
from organwatch.ads.values import Value, ValueGrammar
from organwatch.screen.normalise import NormText, get_normaliser
from organwatch.screen.scanner import buffer_of, get_scanner

ORGAN_ORDER = ["liver", "kidney", "heart", "lung", "pancreas", "intestine", "cornea"]
CONTEXT_TYPES = {"ORGAN", "ORGAN_COMBO", "TRANSPLANT"}
NEG_FOR = {"wait": {"NEG_STAT", "NEG_WAIT", "NEG_TRAVEL"}, "price": {"NEG_STAT", "NEG_TRAVEL", "NEG_FEE"}}
HEADING_LINES = 2  # an organ this many lines above a value's line still names its organ
SEGMENT_END = "。！？!?；;\n"
CLAUSE_END = SEGMENT_END + ",，:：\t、"
_ALNUM = np.zeros(0x110000, dtype=bool)
for _c in "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789":
    _ALNUM[ord(_c)] = True


@dataclass
class Hit:
    start: int  # normalised
    end: int
    type: str
    tag: str
    rule: str


@dataclass
class Claim:
    organ: str | None
    wait: Value | None = None
    price: Value | None = None
    organ_hit: Hit | None = None
    start: int = 0  # normalised
    end: int = 0
    rules: list[str] = field(default_factory=list)


class Extractor:
    """Compiled once per pack and process; :meth:`claims` runs on one page's visible text."""

    def __init__(self, pack: AdsPack, backend: str = "auto"):
        self.pack = pack
        self.cues = pack.cues
        self.scanner = get_scanner(backend, pack.cues.literal_strings(), key=f"ads:{pack.sha256}")
        self.norm = get_normaliser()
        self.grammar = ValueGrammar(pack.grammar)
        self.left = np.array([lit.left_boundary for lit in self.cues.literals], dtype=bool)
        self.right = np.array([lit.right_boundary for lit in self.cues.literals], dtype=bool)
        self.suppress = {k: set(v) for k, v in self.cues.suppress.items()}
        s = pack.settings
        self.forward_chars = int(s.get("forward_link_chars", 14))
        self.equiv_chars = int(s.get("equivalent_gap_chars", 18))

    # -- step 1 -------------------------------------------------------------------------------------------
    def normalise(self, text: str) -> NormText:
        return self.norm.normalise(text)

    def cue_hits(self, nt: NormText, lay: Layout | None = None) -> list[Hit]:
        """Cue literals in the normalised text: word boundaries, owner rules, then (with a layout) only hits
        inside one cell and one line (normalisation deletes the breaks between CJK cells), then containment
        suppression."""
        cps = nt.codepoints()
        if len(cps) == 0:
            return []
        buf, width = buffer_of(cps)
        ids, cs, ce = self.scanner.scan(buf, width)
        if len(ids) == 0:
            return []
        n = len(cps)
        prev = np.where(cs > 0, cs - 1, 0)
        nxt = np.where(ce < n, ce, 0)
        bad = (self.left[ids] & (cs > 0) & _ALNUM[cps[prev].astype(np.int64)]) | \
              (self.right[ids] & (ce < n) & _ALNUM[cps[nxt].astype(np.int64)])
        rules = self.cues.rules
        hits = [Hit(int(s), int(e), rules[r].type, rules[r].tag, rules[r].id)
                for i, s, e, b in zip(ids.tolist(), cs.tolist(), ce.tolist(), bad.tolist(), strict=True) if not b
                for r in self.cues.owners[i]]
        if lay is not None:
            hits = [h for h in hits
                    if lay.cell[h.start] == lay.cell[h.end - 1] and lay.line[h.start] == lay.line[h.end - 1]]
        return _suppress(hits, self.suppress)

    # -- page ---------------------------------------------------------------------------------------------
    def claims(self, text: str, lang: str) -> tuple[list[Claim], NormText, list[Hit]]:
        nt = self.normalise(text)
        norm = nt.text
        hits = self.cue_hits(nt)
        if not any(h.type in CONTEXT_TYPES or h.type == "WAIT" for h in hits):
            return [], nt, hits  # no claim without a transplant context: skip the value expressions
        lay = segment_ids(nt, text)
        seg = lay.seg
        hits = self.cue_hits(nt, lay)
        ctx = Context.of(hits, lay)
        values = []
        for a, b in candidate_regions(ctx, len(norm)):
            values += self.grammar.waits(norm, a, b) + self.grammar.prices(norm, lang, a, b)
        if not values:
            return [], nt, hits
        # a value lies inside one segment (normalised whitespace would let "1998\n周" run across a break)
        values = [v for v in values if seg[v.start] == seg[v.end - 1] and keep_value(v, ctx, hits)]
        return group_claims(values, hits, lay, norm, self), nt, hits


def _suppress(hits: list[Hit], suppress: dict[str, set[str]], max_len: int = 48) -> list[Hit]:
    """Drop a hit contained in a longer hit of the same type, or in a hit of a type that suppresses it."""
    hits.sort(key=lambda h: (h.start, -h.end))
    out = []
    for i, h in enumerate(hits):
        contained = False
        j = i - 1
        while j >= 0 and hits[j].start >= h.start - max_len:
            o = hits[j]
            if o.end >= h.end and (o.end - o.start) > (h.end - h.start) and (
                    o.type == h.type or o.type in suppress.get(h.type, ())):
                contained = True
                break
            j -= 1
        if not contained:
            out.append(h)
    return out


@dataclass
class Layout:
    """Per normalised character: segment, clause, line, table block (-1 outside tables) and cell index."""

    seg: np.ndarray
    clause: np.ndarray
    line: np.ndarray
    table: np.ndarray
    cell: np.ndarray


def segment_ids(nt: NormText, visible: str) -> Layout:
    """Per normalised character: segment id, clause id, line id, table-block id and cell index in its row.

    Segments end at sentence punctuation and line breaks (the extractor writes one line per block and per
    table row, cells separated by tabs); clauses also end at commas, colons and cell boundaries. Computed on
    the visible text (where the breaks are) and carried to normalised positions through the offset map.
    """
    vcp = np.frombuffer(visible.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
    seg_end = np.isin(vcp, [ord(c) for c in SEGMENT_END])
    dot = (vcp == ord("."))
    if len(vcp) > 1:  # ". " ends an English sentence unless it is a decimal point
        dot[:-1] &= (vcp[1:] == ord(" "))
        dot[-1] = True
    seg_end |= dot
    cl_end = seg_end | np.isin(vcp, [ord(c) for c in CLAUSE_END])
    nl = vcp == ord("\n")
    vseg: np.ndarray = np.cumsum(seg_end) - seg_end
    vcl: np.ndarray = np.cumsum(cl_end) - cl_end
    vline: np.ndarray = np.cumsum(nl) - nl
    # table blocks: runs of consecutive lines that contain a tab
    n_lines = int(vline[-1]) + 1 if len(vline) else 1
    has_tab = np.zeros(n_lines, dtype=bool)
    has_tab[vline[vcp == ord("\t")]] = True
    starts = has_tab & ~np.concatenate([[False], has_tab[:-1]])
    block = np.where(has_tab, np.cumsum(starts) - 1, -1)
    pos = nt.orig_spans(np.arange(len(nt.text)), np.arange(1, len(nt.text) + 1))[0] if len(nt.text) else \
        np.zeros(0, dtype=np.int64)
    pos = np.minimum(pos, max(len(vcp) - 1, 0))
    if len(vcp) == 0:
        z = np.zeros(len(nt.text), dtype=np.int64)
        return Layout(z, z, z, z - 1, z)
    tab = (vcp == ord("\t")).astype(np.int64)
    tabs_before = np.cumsum(tab)
    line_start_tabs = np.zeros(n_lines, dtype=np.int64)
    first = np.flatnonzero(np.concatenate([[True], vline[1:] != vline[:-1]]))
    line_start_tabs[vline[first]] = tabs_before[first] - tab[first]
    vcell = tabs_before - line_start_tabs[vline]
    return Layout(vseg[pos], vcl[pos], vline[pos], block[vline[pos]], vcell[pos])


@dataclass
class Context:
    """Cue types per clause, per segment, per line and per table block of one page."""

    clause: np.ndarray
    seg: np.ndarray
    table: np.ndarray
    line: np.ndarray
    by_clause: dict[int, set[str]]
    by_seg: dict[int, set[str]]
    by_table: dict[int, set[str]]
    by_line: dict[int, set[str]]

    @classmethod
    def of(cls, hits: list[Hit], lay: Layout) -> Context:
        bc: dict[int, set[str]] = {}
        bs: dict[int, set[str]] = {}
        bt: dict[int, set[str]] = {}
        bl: dict[int, set[str]] = {}
        for h in hits:
            bc.setdefault(int(lay.clause[h.start]), set()).add(h.type)
            bs.setdefault(int(lay.seg[h.start]), set()).add(h.type)
            bl.setdefault(int(lay.line[h.start]), set()).add(h.type)
            t = int(lay.table[h.start])
            if t >= 0:
                bt.setdefault(t, set()).add(h.type)
        return cls(lay.clause, lay.seg, lay.table, lay.line, bc, bs, bt, bl)


def stat_scope(v: Value, hits: list[Hit], seg: np.ndarray) -> bool:
    """A waiting-list statistic cue earlier in the value's sentence, with no contrast cue in between."""
    sid = int(seg[v.start])
    last = None
    for h in hits:
        if h.start >= v.start:
            break
        if int(seg[h.start]) != sid:
            continue
        if h.type == "NEG_STAT":
            last = "stat"
        elif h.type == "CONTRAST":
            last = "contrast"
    return last == "stat"


def candidate_regions(ctx: Context, n: int, margin: int = 40) -> list[tuple[int, int]]:
    """Normalised ranges worth running the value expressions on: segments with a context cue (organ,
    transplant term or wait cue) and table blocks with an organ or transplant term (vectorised)."""
    segs = [s for s, t in ctx.by_seg.items() if t & (CONTEXT_TYPES | {"WAIT"})]
    tabs = [t for t, ty in ctx.by_table.items() if ty & CONTEXT_TYPES]
    mask = np.isin(ctx.seg, segs) | (np.isin(ctx.table, tabs) if tabs else False)
    if not mask.any():
        return []
    edges = np.flatnonzero(np.diff(np.concatenate([[0], mask.astype(np.int8), [0]])))
    out: list[tuple[int, int]] = []
    for a, b in zip(edges[::2].tolist(), edges[1::2].tolist(), strict=True):
        if out and a <= out[-1][1]:
            out[-1] = (out[-1][0], min(b + margin, n))  # overlapping after the margin: one region
        else:
            out.append((a, min(b + margin, n)))
    return out


def keep_value(v: Value, ctx: Context, hits: list[Hit]) -> bool:
    """A value is a candidate claim when its clause has no negative cue, no statistics cue reaches it, and
    its segment (or table) has a transplant context: an organ, a transplant term, or (for waits) a wait cue."""
    if ctx.by_clause.get(int(ctx.clause[v.start]), set()) & NEG_FOR[v.kind]:
        return False
    if stat_scope(v, hits, ctx.seg):
        return False
    if v.rule == "price.implicit_cny" and "FEE" not in ctx.by_clause.get(int(ctx.clause[v.start]), set()):
        return False
    want = CONTEXT_TYPES | ({"WAIT"} if v.kind == "wait" else set())
    own = ctx.by_seg.get(int(ctx.seg[v.start]), set())
    if own & want:
        return True
    # "肝移植……。费用约20万元。": a fee or wait cue in the value's sentence, an organ earlier in its paragraph
    # or in one of the two lines above it (a heading)
    lid = int(ctx.line[v.start])
    if own & {"FEE" if v.kind == "price" else "WAIT"} and any(
            ctx.by_line.get(x, set()) & CONTEXT_TYPES for x in range(lid - HEADING_LINES, lid + 1)):
        return True
    tid = int(ctx.table[v.start])
    return tid >= 0 and bool(ctx.by_table.get(tid, set()) & CONTEXT_TYPES)


def _column_organ(v: Value, organs: list[Hit], lay: Layout) -> Hit | None:
    """In a table whose organs head the columns: the organ in the value's column, in an earlier row."""
    tid, cid, lid = int(lay.table[v.start]), int(lay.cell[v.start]), int(lay.line[v.start])
    if tid < 0:
        return None
    above = [h for h in organs if int(lay.table[h.start]) == tid and int(lay.cell[h.start]) == cid
             and int(lay.line[h.start]) < lid]
    return above[-1] if above else None


def _organ_for(v: Value, organs: list[Hit], lay: Layout, norm: str, ex: Extractor,
               value_lines: set[int] | None = None) -> Hit | None:
    seg, line = lay.seg, lay.line
    sid, lid = int(seg[v.start]), int(line[v.start])
    after = [h for h in organs if h.start >= v.end and int(seg[h.start]) == sid]
    if after:
        gap = norm[v.end:after[0].start].strip(" (（")
        if after[0].start - v.end <= ex.forward_chars and (
                not gap or any(gap == f or gap.startswith(f + " ") for f in ex.grammar.g.forward_links)):
            return after[0]
    before = [h for h in organs if h.end <= v.start and int(seg[h.start]) == sid]
    if before:
        return before[-1]
    if after:
        return after[0]
    earlier = [h for h in organs if h.end <= v.start and int(line[h.start]) == lid]
    if earlier:
        return earlier[-1]
    col = _column_organ(v, organs, lay)
    if col is not None:
        return col
    # a heading: the last organ in one of the two lines above that carry no value themselves
    # ("<h3>肝移植</h3><p>等待时间：1-2周</p>")
    heading = [h for h in organs if lid - HEADING_LINES <= int(line[h.start]) < lid
               and int(line[h.start]) not in (value_lines or set())]
    return heading[-1] if heading else None


def _is_equivalent(prev: Value, v: Value, norm: str, ex: Extractor) -> bool:
    """"$32,000 (approximately 250,000 yuan)": a second price right after the first restates it."""
    gap = norm[prev.end:v.start]
    if len(gap) > ex.equiv_chars:
        return False
    words = gap.replace("(", " ( ").replace("（", " （ ").split()
    return bool(words) and all(w in ex.grammar.g.equivalent_links for w in words) or gap.strip() in ("(", "（")


def group_claims(values: list[Value], hits: list[Hit], lay: Layout, norm: str, ex: Extractor) -> list[Claim]:
    seg = lay.seg
    organs = [h for h in hits if h.type in ("ORGAN", "ORGAN_COMBO")]
    values.sort(key=lambda v: v.start)
    value_lines = {int(lay.line[v.start]) for v in values}
    claims: list[Claim] = []
    open_claim: dict[tuple[int, int], Claim] = {}  # (segment, organ hit start) -> claim still taking values
    last_price: Value | None = None
    for v in values:
        if v.kind == "price" and last_price is not None and _is_equivalent(last_price, v, norm, ex):
            continue
        oh = _organ_for(v, organs, lay, norm, ex, value_lines)
        # values named by the same organ mention (in their sentence, a column header, a heading or an earlier
        # sentence of the paragraph) form one claim: one wait and one price; values without an organ: per sentence
        key = (-1, oh.start) if oh is not None else (int(seg[v.start]), -1)
        c = open_claim.get(key)
        if c is None or getattr(c, v.kind) is not None:
            c = Claim(organ=oh.tag if oh else None, organ_hit=oh, start=v.start, end=v.end)
            claims.append(c)
            open_claim[key] = c
        setattr(c, v.kind, v)
        c.rules.append(v.rule)
        c.start, c.end = min(c.start, v.start), max(c.end, v.end)
        if v.kind == "price":
            last_price = v
    for c in claims:
        if c.organ_hit is not None and int(seg[c.organ_hit.start]) == int(seg[c.end - 1]):
            c.start, c.end = min(c.start, c.organ_hit.start), max(c.end, c.organ_hit.end)
    return claims


def canonical_organ(tag: str | None) -> str | None:
    if not tag:
        return None
    if tag == "multi-organ":
        return tag
    parts = sorted(set(tag.split("+")), key=lambda x: ORGAN_ORDER.index(x) if x in ORGAN_ORDER else 99)
    return "+".join(parts)


def page_cues(hits: list[Hit], norm: str) -> dict[str, Any]:
    """Page-level cues: advertiser kind and foreign-patient wording."""
    types = {h.type for h in hits}
    kind = "broker" if "BROKER" in types else "hospital" if "HOSPITAL" in types else None
    return {"advertiser_kind": kind, "foreign_patients": "FOREIGN" in types}
