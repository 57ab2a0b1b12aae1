"""From a chunk of document texts to per-document event lists (normalised offsets + original offsets).

The chunk's texts are joined with NUL separators, normalised once, encoded once and scanned once; byte
offsets become character offsets with one ``searchsorted``. Word-boundary markers and suppression
(``[suppress]`` in the pack, and same-type containment) are applied to the few hits per document.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from organwatch.screen.normalise import NormText, Normaliser
from organwatch.screen.rulepack import RulePack

SEP = "\x00"
_ALNUM = np.zeros(0x110000, dtype=bool)
for _c in "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789":
    _ALNUM[ord(_c)] = True


class Event(NamedTuple):
    start: int  # normalised offset within the document
    end: int
    type: str
    tag: str
    rule: str
    ostart: int  # original offset within the document
    oend: int


@dataclass
class DocMatch:
    text: str  # original text
    norm: str  # normalised text
    events: list[Event]


class Matcher:
    def __init__(self, pack: RulePack, scanner, normaliser: Normaliser):
        self.pack = pack
        self.scanner = scanner
        self.norm = normaliser
        self.left = np.array([lit.left_boundary for lit in pack.literals], dtype=bool)
        self.right = np.array([lit.right_boundary for lit in pack.literals], dtype=bool)
        self.suppress = {k: set(v) for k, v in pack.suppress.items()}

    def raw_hits(self, texts: list[str]):
        """Scan a chunk: (NormText of the joined chunk, doc norm starts, doc orig starts, ids, cstarts, cends)."""
        texts = [t.replace(SEP, " ") for t in texts]
        joined = SEP.join(texts)
        nt = self.norm.normalise(joined)
        norm = nt.text
        if norm.isascii():
            buf = norm.encode("ascii")
            cps = np.frombuffer(buf, dtype=np.uint8)
            ids, bs, be = self.scanner.scan(buf)
            cs, ce = bs, be
        else:
            buf = norm.encode("utf-8", "surrogatepass")
            cps = np.frombuffer(norm.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
            ids, bs, be = self.scanner.scan(buf)
            lens = 1 + (cps >= 0x80).astype(np.int64) + (cps >= 0x800) + (cps >= 0x10000)
            byte_starts = np.cumsum(lens) - lens
            cs = np.searchsorted(byte_starts, bs)
            ce = np.searchsorted(byte_starts, be)
        # word boundaries (ASCII letters/digits)
        if len(ids):
            n = len(cps)
            keep = np.ones(len(ids), dtype=bool)
            lb = self.left[ids]
            if lb.any():
                prev = np.where(cs > 0, cs - 1, 0)
                bad = lb & (cs > 0) & _ALNUM[cps[prev].astype(np.int64)]
                keep &= ~bad
            rb = self.right[ids]
            if rb.any():
                nxt = np.where(ce < n, ce, 0)
                bad = rb & (ce < n) & _ALNUM[cps[nxt].astype(np.int64)]
                keep &= ~bad
            ids, cs, ce = ids[keep], cs[keep], ce[keep]
        # document boundaries
        sep_norm = np.flatnonzero(cps == 0) if len(texts) > 1 else np.zeros(0, dtype=np.int64)
        doc_nstart = np.concatenate([[0], sep_norm + 1]).astype(np.int64)
        doc_nend = np.concatenate([sep_norm, [len(norm)]]).astype(np.int64)
        lengths = np.array([len(t) for t in texts], dtype=np.int64)
        doc_ostart = np.concatenate([[0], np.cumsum(lengths + 1)[:-1]]).astype(np.int64)
        return texts, nt, doc_nstart, doc_nend, doc_ostart, ids, cs, ce

    def match(self, texts: list[str]) -> list[DocMatch]:
        texts, nt, dns, dne, dos, ids, cs, ce = self.raw_hits(texts)
        if len(texts) != len(dns):  # pragma: no cover - guarded by the NUL replacement above
            raise RuntimeError("document boundary mismatch after normalisation")
        doc_of = np.searchsorted(dns, cs, side="right") - 1
        if len(ids):
            os_, oe_ = nt.orig_spans(cs, ce)
        else:
            os_ = oe_ = np.zeros(0, dtype=np.int64)
        bounds = np.searchsorted(doc_of, np.arange(len(texts) + 1))
        rules = self.pack.rules
        owners = self.pack.owners
        out: list[DocMatch] = []
        for d, text in enumerate(texts):
            a, b = bounds[d], bounds[d + 1]
            ns, ne, o0 = int(dns[d]), int(dne[d]), int(dos[d])
            evs: list[Event] = []
            for k in range(a, b):
                lit = int(ids[k])
                s, e = int(cs[k]) - ns, int(ce[k]) - ns
                os1, oe1 = int(os_[k]) - o0, int(oe_[k]) - o0
                for ri in owners[lit]:
                    r = rules[ri]
                    evs.append(Event(s, e, r.type, r.tag, r.id, os1, oe1))
            out.append(DocMatch(text, nt.text[ns:ne], self._clean(evs)))
        return out

    def _clean(self, evs: list[Event]) -> list[Event]:
        """Drop hits contained in a longer hit of the same type (or of a suppressing type)."""
        if len(evs) < 2:
            return evs
        evs.sort(key=lambda e: (e.start, -e.end, e.type, e.tag, e.rule))
        kept: list[Event] = []
        by_type: dict[str, list[Event]] = {}
        for e in evs:
            contained = False
            for t in (e.type, *self.suppress.get(e.type, ())):
                for o in by_type.get(t, ())[-8:]:
                    if o.start <= e.start and e.end <= o.end and (o.end - o.start) > (e.end - e.start) or (
                            o.start == e.start and o.end == e.end and t == e.type and o.tag != e.tag and o.tag):
                        contained = True
                        break
                if contained:
                    break
            if not contained:
                kept.append(e)
                by_type.setdefault(e.type, []).append(e)
        return kept


def doc_normtext(dm: DocMatch) -> NormText:  # pragma: no cover - convenience for callers
    return NormText(dm.text, dm.norm, None, None)
