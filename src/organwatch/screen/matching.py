"""From a chunk of document texts to per-document event lists (normalised offsets + original offsets).

The chunk's texts are joined with NUL separators, normalised once, encoded once and scanned once (near-only
cues then in the windows around its anchor hits, :mod:`.nearscan`); byte offsets become character offsets
with one ``searchsorted``. Word-boundary markers and suppression
(``[suppress]`` in the pack, and same-type containment) are applied to the few hits per document.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from itertools import repeat
from typing import Any, NamedTuple

import numpy as np

from organwatch.screen import nearscan
from organwatch.screen.normalise import Normaliser, NormText
from organwatch.screen.rulepack import RulePack
from organwatch.screen.scanner import buffer_of, lexorder
from organwatch.textscript import cjk_mask

SEP = "\x00"
_ALNUM = np.zeros(0x110000, dtype=bool)
for _c in "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789":
    _ALNUM[ord(_c)] = True


def _top(a: np.ndarray) -> int:
    """The largest value of a non-negative integer array (0 when empty)."""
    return int(a.max()) if len(a) else 0


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
    language: str = "und"  # "zh" when >= 20 % of the characters are CJK, else "en"
    _nt: NormText | None = None  # the chunk's normalised text (for orig_offset)
    _ns: int = 0
    _os: int = 0

    def orig_offset(self, a: int) -> int:
        """Original offset (in ``text``) of normalised position ``a`` (0 <= a < len(norm))."""
        if self._nt is None:
            return a
        return int(self._nt._map(np.array([self._ns + a]))[0]) - self._os


def _objects(values: list) -> np.ndarray:
    """A one-dimensional object array of ``values`` (``np.array`` would make a string array, or a 2-D one)."""
    out = np.empty(len(values), dtype=object)
    out[:] = values
    return out


class Matcher:
    def __init__(self, pack: RulePack, scanner, normaliser: Normaliser, keep_all: bool = False,
                 scanner_for: Callable[[list[str], str], Any] | None = None):
        """``scanner`` finds every literal of the pack. With ``scanner_for(literals, tag)`` (a scanner for a
        subset of them), near-only cues are looked for only around anchor hits (:mod:`.nearscan`; the same
        output, fewer scanner callbacks)."""
        self.pack = pack
        # the largest distance from an anchor at which the passage logic can look at a cue: the donor gate
        # or cue window beyond the far end of a cluster (<= one cluster gap away from its nearest anchor),
        # and the sentence look-back of subject attribution (``sentence_lookback``); plus a margin
        sets = pack.settings

        def _max(key: str) -> int:
            v = sets.get(key, 0)
            return max(v.values()) if isinstance(v, dict) else int(v)

        w = max(_max("donor_window"), _max("cue_window"), _max("near_after")) + _max("cluster_gap")
        self.near_window = 0 if keep_all else max(w, _max("sentence_lookback")) + 100
        self.scanner = scanner
        self.norm = normaliser
        self.left = np.array([lit.left_boundary for lit in pack.literals], dtype=bool)
        self.right = np.array([lit.right_boundary for lit in pack.literals], dtype=bool)
        self.suppress = {k: set(v) for k, v in pack.suppress.items()}
        # the split's scanners compile their databases on their first scan
        self._split = nearscan.plan(pack, scanner_for) if scanner_for and self.near_window else None

    def scan(self, buf: bytes | memoryview, width: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The hits of a normalised chunk: every literal everywhere, or (when the near window prunes cues and
        a scanner factory was given) near-only cues only around anchor hits."""
        if self.near_window and self._split is not None:
            return nearscan.scan(self._split, buf, width, self.near_window)
        return self.scanner.scan(buf, width)

    def raw_hits(self, texts: list[str]):
        """Scan a chunk: (NormText of the joined chunk, doc norm starts, doc orig starts, ids, cstarts, cends)."""
        texts = [t.replace(SEP, " ") for t in texts]
        joined = SEP.join(texts)
        nt = self.norm.normalise(joined)
        norm = nt.text
        cps = nt.codepoints()
        buf, width = buffer_of(cps)
        ids, cs, ce = self.scan(buf, width)
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

    def _owner_tables(self) -> None:
        if hasattr(self, "_own_flat"):
            return
        owners = self.pack.owners
        self._own_cnt = np.array([len(o) for o in owners], dtype=np.int64)
        self._own_off = np.concatenate([[0], np.cumsum(self._own_cnt)[:-1]]).astype(np.int64)
        self._own_flat = np.array([r for o in owners for r in o], dtype=np.int64)
        types = sorted({r.type for r in self.pack.rules})
        self.type_names = types
        tix = {t: i for i, t in enumerate(types)}
        self._rule_type = np.array([tix[r.type] for r in self.pack.rules], dtype=np.int64)
        self._rule_tagged = np.array([bool(r.tag) for r in self.pack.rules], dtype=np.int64)
        self._rule_fields = tuple(_objects([getattr(r, f) for r in self.pack.rules]) for f in ("type", "tag", "id"))
        # per suppressed type: a boolean table over types, True for the types that suppress it
        self._supp = [(tix[k], np.isin(np.arange(len(types)), [tix[x] for x in v if x in tix]))
                      for k, v in self.pack.suppress.items() if k in tix]
        roles = self.pack.types
        self._anchor_type = np.array([t in roles.of("anchor") for t in types], dtype=bool)
        self._near_type = np.array([t in roles.of("near_only") for t in types], dtype=bool)
        self._head_type = np.array([t in roles.of("head_only") for t in types], dtype=bool)
        self._presence_type = np.array([t in roles.of("presence_only") for t in types], dtype=bool)
        self.head_chars = int(self.pack.settings.get("institution_head", 1500))

    def match_arrays(self, texts: list[str]):
        """Vectorised hits of a chunk after owner expansion and suppression.

        Returns (texts, NormText, doc norm starts, doc norm ends, doc orig starts, arrays dict) where the
        arrays (doc, rule, type, start, end, ostart, oend) are sorted by (doc, start, -end, rule) and hold
        document-relative offsets.
        """
        self._owner_tables()
        texts, nt, dns, dne, dos, ids, cs, ce = self.raw_hits(texts)
        ids = ids.astype(np.int64)
        cnt = self._own_cnt[ids]
        rep = np.repeat(np.arange(len(ids)), cnt)
        within = np.arange(len(rep)) - np.repeat(np.cumsum(cnt) - cnt, cnt)
        rule = self._own_flat[self._own_off[ids][rep] + within]
        cs, ce = cs[rep].astype(np.int64), ce[rep].astype(np.int64)
        typ = self._rule_type[rule]
        doc = np.searchsorted(dns, cs, side="right") - 1
        big = int(max(len(nt.text), 1)) + 1
        keep = np.ones(len(rule), dtype=bool)
        if len(rule):
            # same-type containment: drop a hit contained in an earlier-starting (or longer) hit of its type
            grp = doc * len(self.type_names) + typ
            # by (group, start, -end, tagged first, rule); -end as the longest hit first at the same start
            span, top = ce - cs, _top(ce - cs)
            order = lexorder([(grp, len(dns) * len(self.type_names)), (cs, big), (top - span, top + 1),
                              (1 - self._rule_tagged[rule], 2), (rule, len(self._rule_type))])
            g_o, e_o = grp[order], ce[order]
            val = g_o * big + e_o
            runmax = np.maximum.accumulate(val)
            prev = np.concatenate([[-1], runmax[:-1]])
            dup = prev >= val
            keep[order[dup]] = False
            # cross-type suppression ([suppress] in the pack)
            for k, sup in self._supp:
                km = (typ == k) & keep
                sm = sup[typ]
                if not km.any() or not sm.any():
                    continue
                s_idx = np.flatnonzero(sm)
                skey = doc[s_idx] * big + cs[s_idx]
                so = np.argsort(skey, kind="stable")
                skey = skey[so]
                send = np.maximum.accumulate(doc[s_idx][so] * big + ce[s_idx][so])
                k_idx = np.flatnonzero(km)
                j = np.searchsorted(skey, doc[k_idx] * big + cs[k_idx], side="right") - 1
                ok = j >= 0
                cont = np.zeros(len(k_idx), dtype=bool)
                cont[ok] = send[j[ok]] >= doc[k_idx][ok] * big + ce[k_idx][ok]
                keep[k_idx[cont]] = False
        rule, typ, cs, ce, doc = rule[keep], typ[keep], cs[keep], ce[keep], doc[keep]
        if len(rule) and self.near_window:
            # passage cues matter only near an anchor event: drop the others (ethics cues are always kept)
            anchor = self._anchor_type[typ]
            near_only = self._near_type[typ]
            if near_only.any():
                # documents spaced more than the window apart, so that an anchor of another document (or none)
                # is never near, however short the chunk is: results do not depend on how documents are chunked
                span = big + self.near_window + 1
                akey = np.sort(doc[anchor] * span + cs[anchor])
                qkey = doc[near_only] * span + cs[near_only]
                j = np.searchsorted(akey, qkey)
                dist = np.full(len(qkey), span, dtype=np.int64)
                has_r = j < len(akey)
                dist[has_r] = akey[j[has_r]] - qkey[has_r]
                has_l = j > 0
                dist[has_l] = np.minimum(dist[has_l], qkey[has_l] - akey[j[has_l] - 1])
                keep2 = np.ones(len(rule), dtype=bool)
                keep2[np.flatnonzero(near_only)[dist > self.near_window]] = False
                rule, typ, cs, ce, doc = rule[keep2], typ[keep2], cs[keep2], ce[keep2], doc[keep2]
        if len(rule) and self._presence_type.any():
            # presence-only cues (outcome words, country names): the first hit per document and type is enough
            pres = self._presence_type[typ]
            if pres.any():
                idx = np.flatnonzero(pres)
                key = doc[idx] * len(self.type_names) + typ[idx]
                order_p = np.lexsort((cs[idx], key))
                first = np.ones(len(idx), dtype=bool)
                first[1:] = key[order_p][1:] != key[order_p][:-1]
                drop = np.zeros(len(rule), dtype=bool)
                drop[idx[order_p[~first]]] = True
                rule, typ, cs, ce, doc = rule[~drop], typ[~drop], cs[~drop], ce[~drop], doc[~drop]
        if len(rule) and self._head_type.any():
            # institution cues count only near the start of a document (affiliation lines)
            head = self._head_type[typ] & ((cs - dns[doc]) >= self.head_chars)
            if head.any():
                rule, typ, cs, ce, doc = rule[~head], typ[~head], cs[~head], ce[~head], doc[~head]
        if len(rule):
            os_, oe_ = nt.orig_spans(cs, ce)
        else:
            os_ = oe_ = np.zeros(0, dtype=np.int64)
        span, top = ce - cs, _top(ce - cs)  # by (document, start, -end, rule)
        order = lexorder([(doc, len(dns)), (cs, big), (top - span, top + 1), (rule, len(self._rule_type))])
        arr = {"doc": doc[order], "rule": rule[order], "type": typ[order],
               "start": cs[order] - dns[doc[order]], "end": ce[order] - dns[doc[order]],
               "ostart": os_[order] - dos[doc[order]], "oend": oe_[order] - dos[doc[order]]}
        return texts, nt, dns, dne, dos, arr

    def match(self, texts: list[str]) -> list[DocMatch]:
        """Per document: its events and normalised text. ASCII-only documents and the others are normalised
        and scanned as two groups (normalisation is per document, so the grouping changes no hit; an ASCII
        group takes the normaliser's fast path instead of the code-point tables)."""
        ascii_idx = [i for i, t in enumerate(texts) if t.isascii()]
        if not ascii_idx or len(ascii_idx) == len(texts):
            return self._match_group(texts)
        other_idx = [i for i, t in enumerate(texts) if not t.isascii()]
        out: list[DocMatch | None] = [None] * len(texts)
        for idx in (ascii_idx, other_idx):
            for i, m in zip(idx, self._match_group([texts[i] for i in idx]), strict=True):
                out[i] = m
        return out  # type: ignore[return-value]  # every slot was filled by one of the two groups

    def _match_group(self, texts: list[str]) -> list[DocMatch]:
        texts, nt, dns, dne, dos, arr = self.match_arrays(texts)
        bounds = np.searchsorted(arr["doc"], np.arange(len(texts) + 1)).tolist()
        rule = arr["rule"]
        rtype, rtag, rid = self._rule_fields
        # all events of the group at once, built in C (tuple.__new__ skips the namedtuple's Python __new__);
        # each rule field by one take of an object array (half the time of a comprehension over the rules)
        events = list(map(tuple.__new__, repeat(Event), zip(
            arr["start"].tolist(), arr["end"].tolist(), rtype.take(rule).tolist(), rtag.take(rule).tolist(),
            rid.take(rule).tolist(), arr["ostart"].tolist(), arr["oend"].tolist(), strict=True)))
        # language per document, vectorised: share of CJK code points
        lens = (dne - dns).astype(np.int64)
        if nt.text.isascii():  # an ASCII group (its normalised text stays ASCII): no CJK at all
            share = [0.0] * len(texts)
        else:
            cjk_at = np.flatnonzero(cjk_mask(nt.codepoints()))  # CJK count per document: two binary searches
            n_cjk = np.searchsorted(cjk_at, dne) - np.searchsorted(cjk_at, dns)
            share = (n_cjk / np.maximum(lens, 1)).tolist()
        ns, ne, os_ = dns.tolist(), dne.tolist(), dos.tolist()
        norm = nt.text
        out: list[DocMatch] = []
        for d, text in enumerate(texts):
            lang = "und" if ne[d] == ns[d] else ("zh" if share[d] >= 0.2 else "en")
            out.append(DocMatch(text, norm[ns[d]:ne[d]], events[bounds[d]:bounds[d + 1]], lang, nt, ns[d], os_[d]))
        return out
