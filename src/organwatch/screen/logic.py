"""Passages of a document: subjects of airway events, clustering, donor gate, per-passage language, windows.

Input: a document's ordered events (from :mod:`.matching`). Airway events whose subject is a recipient, an
animal or a living donor are dropped (the subject is found clause by clause, see :meth:`PassageLogic.subject_of`).
Anchor events closer than ``cluster_gap`` form a passage; cues within ``cue_window`` join it; the script of
the passage (CJK or not) decides which language's windows apply. A passage is eligible when a donor term lies
within ``donor_window`` (the donor gate); a passage without one counts only as BD -> INT, judged by the
document's context (:func:`.patterns.decide_by_context`). The decision itself is the table of pattern
functions in :mod:`.patterns`; docs/screen.md documents the order and each rule.
"""

from __future__ import annotations

import bisect
import operator
import re
from dataclasses import dataclass, field
from functools import lru_cache

from organwatch.screen.matching import Event
from organwatch.screen.patterns import CLAUSE_END, SENTENCE_END, DocContext, Facts, decide, decide_by_context
from organwatch.screen.rulepack import RulePack

LABEL_RANK = {"not_applicable": 0, "compliant": 1, "suspicious": 2, "violation": 3}
DROPPED_SUBJECTS = frozenset({"recipient", "animal", "living_donor"})
_START_END = operator.itemgetter(0, 1)  # an Event's (start, end)


@dataclass
class Passage:
    label: str
    pattern: str | None
    events: list[Event]
    start: int  # normalised
    end: int
    confidence: float
    reason: str = ""
    signals: list[str] = field(default_factory=list)
    also: list[str] = field(default_factory=list)
    lang: str = "en"  # the script of the passage window decides its windows


def cjk_share(s: str) -> float:
    """Share of CJK characters in ``s`` (estimated from the UTF-8 length: CJK characters take 3 bytes)."""
    if not s:
        return 0.0
    extra = len(s.encode("utf-8", "surrogatepass")) - len(s)
    return extra / 2 / len(s)


@lru_cache(maxsize=8)
def _boundary_rx(ends: str, backward: bool) -> re.Pattern[str]:
    """The boundaries of ``ends`` as one pattern: a character of ``ends``, or ". " (and, backward when ","
    is in ``ends``, ", "). Backward, a greedy ``.*`` before it finds the last one (the match ends right after it)."""
    alts = [r"\. "] + ([", "] if backward and "," in ends else []) + ["[" + "".join(re.escape(c) for c in ends) + "]"]
    return re.compile(("(?s).*(?:" if backward else "(?:") + "|".join(alts) + ")")


def _last_boundary(text: str, lo: int, pos: int, ends: str) -> int | None:
    """Index just after the last boundary in ``text[lo:pos]`` (a character of ``ends``, or ". "/", " for
    English: the index after its space), or None (``lo`` and ``pos`` >= 0). One regular-expression match
    instead of one ``rfind`` per boundary character."""
    m = _boundary_rx(ends, True).match(text, lo, pos)
    return m.end() if m else None


def _next_boundary(text: str, pos: int, hi: int, ends: str) -> int | None:
    """Index just after the first boundary character (or the "." of ". ") in ``text[pos:hi]``, or None."""
    m = _boundary_rx(ends, False).search(text, pos, hi)
    return m.start() + 1 if m else None


def snap_window(text: str, a: int, b: int, ctx: int) -> tuple[int, int]:
    """The passage window around ``text[a:b]``: at most ``ctx`` characters more on each side, snapped to the
    nearest sentence boundary, else clause boundary, else word boundary (never mid-word)."""
    lo, hi = max(0, a - ctx), min(len(text), b + ctx)
    start = _last_boundary(text, lo, a, SENTENCE_END) or _last_boundary(text, lo, a, CLAUSE_END)
    if start is None:
        k = text.rfind(" ", lo, a)
        start = k + 1 if k >= 0 else (lo if lo == 0 or cjk_share(text[lo:a]) >= 0.5 else a)
    while start < a and text[start].isspace():
        start += 1
    end = _next_boundary(text, b, hi, SENTENCE_END) or _next_boundary(text, b, hi, CLAUSE_END)
    if end is None:
        k = text.find(" ", b, hi)
        end = k if k >= 0 else (hi if hi == len(text) or cjk_share(text[b:hi]) >= 0.5 else b)
    while end > b and text[end - 1].isspace():
        end -= 1
    return start, end


class PassageLogic:
    def __init__(self, pack: RulePack):
        self.pack = pack
        tr = pack.types
        self.anchor = tr.of("anchor")
        self.airway = tr.of("airway")
        self.shown = tr.of("shown")
        self.pre_types = tr.of("pre")
        self.strong = tr.subject_strong
        self.weak = tr.subject_weak
        self.subject_types = tr.of("subject")
        self.conf = tr.confidence
        self.exclusion = tr.exclusion
        self.roles = tr
        # donor gate: the spec's donor terms (DONOR); criteria texts; procurement verbs (PROCURE) [verify]
        self.gate_types = frozenset(pack.settings.get("gate_types", ["DONOR", "CRITERIA"]))
        keys = ("cluster_gap", "donor_window", "cue_window", "near_after")
        self._st = {lang: {k: pack.setting(k, lang) for k in keys} for lang in ("zh", "en")}
        self.lookback = pack.setting("sentence_lookback", "en")
        self.max_term = max((len(lit.text) for lit in pack.literals), default=0)
        self.rule_lang = {r.id: r.lang for r in pack.rules}
        self.year_range = (int(pack.settings.get("year_min_modifier", 1980)),
                           int(pack.settings.get("year_max_modifier", 2015)))
        self.v6_until = int(pack.settings.get("v6_violation_until", 9999))
        self.context_min = int(pack.settings.get("context_min_chars", 0))

    def _s(self, key: str, lang: str) -> int:
        return self._st.get(lang, self._st["en"])[key]

    # -------------------------------------------------------------- document context
    def doc_context(self, by_type: dict[str, list[Event]], year: int | None, title_end: int = 0,
                    n_chars: int | None = None) -> DocContext:
        """Document-level facts: about transplantation, animal donors, only living donors, a review."""
        types = frozenset(by_type)
        r = self.roles
        animal = bool(r.of("doc_animal") & types) or any(
            e.ostart < title_end for t in self.exclusion if self.strong.get(t) == "animal" for e in by_type.get(t, []))
        living = bool(r.of("doc_living") & types) and not (r.of("doc_deceased") & types)
        return DocContext(types=types, year=year, transplant=bool(r.of("context") & types), animal=animal,
                          living_only=living, review="REVIEW" in types, title_end=title_end,
                          context_known=bool(title_end) or n_chars is None or n_chars >= self.context_min)

    # -------------------------------------------------------------- subjects
    def subject_of(self, ev: Event, norm: str, subs: list[Event], starts: list[int], after: int) -> str | None:
        """Who an airway event happens to: the nearest strong subject before it in its clause (or just after
        it in the clause), else the donor when a brain-death statement is in the sentence, else a weak subject
        in the clause (anaesthesia induction, "the patient": the recipient), else the first strong subject of
        its sentence, else the last strong subject of the sentence before; None when no subject is found."""
        lo = max(0, ev.start - self.lookback)
        s0 = _last_boundary(norm, lo, ev.start, SENTENCE_END)
        s0 = lo if s0 is None else s0
        c0 = _last_boundary(norm, s0, ev.start, CLAUSE_END)
        c0 = s0 if c0 is None else c0
        i_lo, i_hi = bisect.bisect_left(starts, lo), bisect.bisect_left(starts, ev.start)
        before = [e for e in subs[i_lo:i_hi] if e.end <= ev.start or e.start < ev.start]
        in_clause = [e for e in before if e.start >= c0]
        for e in reversed(in_clause):
            if e.type in self.strong:
                return self.strong[e.type]
        ce = _next_boundary(norm, ev.end, min(len(norm), ev.end + after), CLAUSE_END) or ev.end + after
        for e in subs[i_hi:bisect.bisect_left(starts, ce)]:
            if e.type in self.strong and e.start >= ev.end:
                return self.strong[e.type]
        # weak subjects: a brain-death statement anywhere in the sentence makes the patient the donor
        sentence = before + [e for e in subs[i_hi:bisect.bisect_left(starts, ce)]]
        if any(self.weak.get(e.type) == "donor" and e.start >= s0 for e in sentence):
            return "donor"
        for e in reversed(in_clause):
            if e.type in self.weak:
                return self.weak[e.type]
        for e in before:
            if s0 <= e.start < c0 and e.type in self.strong:
                return self.strong[e.type]
        if s0 > lo and norm[s0 - 1] != "\n":  # the sentence before, within the same paragraph
            p0 = _last_boundary(norm, lo, s0 - 1, SENTENCE_END) or lo
            for e in reversed(before):
                if p0 <= e.start < s0 and e.type in self.strong:
                    return self.strong[e.type]
        return None

    def _anchors(self, norm: str, events: list[Event], title_end: int = 0) -> list[Event]:
        # the title is not part of the body's sentences (normalisation may join them): its subjects are skipped
        subs = [e for e in events if e.type in self.subject_types and e.ostart >= title_end]
        starts = [e.start for e in subs]
        out = []
        for e in events:
            if e.type not in self.anchor:
                continue
            if e.type in self.airway:
                lang = self.rule_lang.get(e.rule) or "en"
                if self.subject_of(e, norm, subs, starts, self._s("cue_window", lang)) in DROPPED_SUBJECTS:
                    continue
            out.append(e)
        return out

    # -------------------------------------------------------------- clustering and passages
    def _lang(self, norm: str, a: int, b: int, evs: list[Event]) -> str:
        langs = {self.rule_lang.get(e.rule) for e in evs}
        if langs == {"zh"} or langs == {"en"}:
            return langs.pop() or "en"
        return "zh" if cjk_share(norm[a:b]) >= 0.2 else "en"

    def _clusters(self, norm: str, anchors: list[Event]) -> list[list[Event]]:
        clusters: list[list[Event]] = []
        for e in anchors:
            if clusters:
                last = clusters[-1][-1]
                gap = self._s("cluster_gap", self._lang(norm, last.start, e.end, [last, e]))
                if e.start - last.end <= gap:
                    clusters[-1].append(e)
                    continue
            clusters.append([e])
        return clusters

    def _gated(self, cl: list[Event], lang: str, gates: list[Event], gate_starts: list[int]) -> bool:
        c0, c1 = cl[0].start, max(e.end for e in cl)
        donor_w, cue_w = self._s("donor_window", lang), self._s("cue_window", lang)
        # criteria texts open the gate only when they are about death determination
        criteria_ok = any(e.type in ("BD", "DCD") or (e.type == "DET" and e.tag != "ancillary") for e in cl)
        # a brain-dead person's chest opened or heart arrested is a procurement: the passage gates itself
        if any(e.type == "BD" for e in cl) and any(e.type in ("OPEN", "ARREST") for e in cl):
            return True
        k = bisect.bisect_left(gate_starts, c0 - donor_w - self.max_term)
        while k < len(gates) and gates[k].start <= c1 + donor_w:
            g = gates[k]
            k += 1
            if g.type == "CRITERIA" and not criteria_ok:
                continue
            w = cue_w if g.type == "CRITERIA" else donor_w
            if c0 - w <= g.end and g.start <= c1 + w:
                return True
        return False

    def passages(self, norm: str, events: list[Event], lang: str, year: int | None,
                 doc: DocContext | None = None) -> list[Passage]:
        """The passages of one document (``lang`` is the document's language, used only when a passage's
        own script cannot decide)."""
        if doc is None:
            by: dict[str, list[Event]] = {}
            for e in events:
                by.setdefault(e.type, []).append(e)
            doc = self.doc_context(by, year, 0, len(norm))
        anchors = self._anchors(norm, events, doc.title_end)
        if not anchors:
            return []
        gates = [e for e in events if e.type in self.gate_types]
        gate_starts = [e.start for e in gates]
        cues_all = [e for e in events if e.type not in self.anchor]
        cue_starts = [e.start for e in cues_all]
        out: list[Passage] = []
        for cl in self._clusters(norm, anchors):
            c0, c1 = cl[0].start, max(e.end for e in cl)
            plang = self._lang(norm, c0, c1, cl)
            cue_w = self._s("cue_window", plang)
            lo, hi = c0 - cue_w, c1 + cue_w
            cues = [e for e in cues_all[bisect.bisect_left(cue_starts, lo):bisect.bisect_right(cue_starts, hi)]
                    if e.end <= hi]
            seq = sorted(cl + cues, key=_START_END)  # by (start, end), stable
            facts = Facts(seq, doc, self.conf, self.pre_types, self.exclusion, self._s("near_after", plang), norm,
                          self.year_range, self.v6_until)
            res = decide(facts) if self._gated(cl, plang, gates, gate_starts) else decide_by_context(facts)
            if res is None:
                continue
            v, also = res
            shown = [e for e in seq if e.type in self.anchor or e.type in self.shown]
            out.append(Passage(v.label, v.code, shown, c0, c1, round(min(v.confidence, self.conf["cap"]), 2),
                               v.reason, facts.signals if v.label in ("violation", "suspicious") else [], also,
                               plang))
        return out


def worst_label(passages: list[Passage]) -> str:
    if not passages:
        return "not_applicable"
    return max((p.label for p in passages), key=lambda lab: LABEL_RANK[lab])

