"""Event-sequence logic: passages, violation patterns V1-V6, suspicious, compliant and exclusions.

Input: a document's ordered events (from :mod:`.matching`). Anchor events (BD, INT, VENT, MASK, OPEN,
ARREST, DET, DCD) closer than ``cluster_gap`` form a passage; cues within ``cue_window`` join it. A passage is
eligible only if a donor term lies within ``donor_window`` (the donor gate). Airway events whose nearest
preceding subject in the same sentence is a recipient are dropped. Order of mention is the proxy for order
of events (spec §4). The decision order and each rule are documented in docs/screen.md.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field
from typing import Any

from organwatch.screen.matching import Event
from organwatch.screen.rulepack import RulePack

ANCHORS = {"BD", "INT", "VENT", "MASK", "OPEN", "ARREST", "DET", "DCD"}
AIRWAY = {"INT", "VENT", "MASK"}
EXCLUSIONS = {"ANIMAL": "animal_study", "LIVING": "living_donor", "WEAN": "weaning_trial", "COVID": "covid_intubation"}
SENTENCE_END = "。；;!?！？\n"
LABEL_RANK = {"not_applicable": 0, "compliant": 1, "suspicious": 2, "violation": 3}
BASE_CONFIDENCE = {"V1": 0.8, "V2": 0.7, "V3": 0.75, "V4": 0.7, "V5": 0.75, "V6": 0.5}


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


def detect_language(norm: str) -> str:
    """'zh' when at least 20 % of characters are CJK (estimated from the UTF-8 length), else 'en'."""
    if not norm:
        return "und"
    sample = norm[:20000]
    extra = len(sample.encode("utf-8", "surrogatepass")) - len(sample)
    return "zh" if extra / 2 >= 0.2 * len(sample) else "en"


def _sentence_start(norm: str, pos: int) -> int:
    best = -1
    lo = max(0, pos - 400)
    for ch in SENTENCE_END:
        i = norm.rfind(ch, lo, pos)
        if i > best:
            best = i
    if best < 0:
        # an English full stop followed by a space also ends a sentence
        i = norm.rfind(". ", lo, pos)
        return i + 2 if i >= 0 else lo
    j = norm.rfind(". ", best, pos)
    return (j + 2) if j >= 0 else best + 1


def _has_break(norm: str, a: int, b: int) -> bool:
    """True when a sentence or clause boundary lies between normalised positions a and b."""
    seg = norm[a:b]
    return any(ch in seg for ch in SENTENCE_END) or ". " in seg


def _recipient_side(ev: Event, norm: str, subj_starts: list[int], subjects: list[Event]) -> bool:
    """True when the nearest preceding subject term in the same sentence is a recipient term."""
    k = bisect.bisect_right(subj_starts, ev.start) - 1
    if k < 0:
        return False
    best = subjects[k]
    if best.type != "RECIPIENT":
        return False
    return best.start >= _sentence_start(norm, ev.start)


class PassageLogic:
    def __init__(self, pack: RulePack):
        self.pack = pack
        # donor gate: the spec's donor terms (DONOR); criteria texts; procurement verbs (PROCURE) [verify]
        self.gate_types = frozenset(pack.settings.get("gate_types", ["DONOR", "CRITERIA"]))
        keys = ("cluster_gap", "donor_window", "cue_window", "near_after")
        self._st = {lang: {k: pack.setting(k, lang) for k in keys} for lang in ("zh", "en", "und")}

    def _s(self, key: str, lang: str) -> int:
        return self._st.get(lang, self._st["en"])[key]

    def passages(self, norm: str, events: list[Event], lang: str, year: int | None,
                 doc_types: set[str]) -> list[Passage]:
        gap, donor_w, cue_w = self._s("cluster_gap", lang), self._s("donor_window", lang), self._s("cue_window", lang)
        subjects = [e for e in events if e.type in ("DONOR", "RECIPIENT")]
        subj_starts = [e.start for e in subjects]
        anchors = []
        for e in events:
            if e.type not in ANCHORS:
                continue
            if e.type in AIRWAY and _recipient_side(e, norm, subj_starts, subjects):
                continue
            anchors.append(e)
        if not anchors:
            return []
        clusters: list[list[Event]] = []
        for e in anchors:
            if clusters and e.start - clusters[-1][-1].end <= gap:
                clusters[-1].append(e)
            else:
                clusters.append([e])
        gate_types = self.gate_types
        gates = [e for e in events if e.type in gate_types]
        gate_starts = [e.start for e in gates]
        cues_all = [e for e in events if e.type not in ANCHORS]
        cue_starts = [e.start for e in cues_all]
        out: list[Passage] = []
        for cl in clusters:
            c0, c1 = cl[0].start, max(e.end for e in cl)
            gated = False
            k = bisect.bisect_left(gate_starts, c0 - donor_w - 400)
            while k < len(gates) and gates[k].start <= c1 + donor_w:
                g = gates[k]
                w = cue_w if g.type == "CRITERIA" else donor_w
                if c0 - w <= g.end and g.start <= c1 + w:
                    gated = True
                    break
                k += 1
            if not gated:
                continue
            lo, hi = c0 - cue_w, c1 + cue_w
            i0 = bisect.bisect_left(cue_starts, lo)
            i1 = bisect.bisect_right(cue_starts, hi)
            cues = [e for e in cues_all[i0:i1] if e.end <= hi]
            seq = sorted(cl + cues, key=lambda e: (e.start, e.end))
            out.append(self.classify(seq, cl, lang, year, doc_types, c0, c1, norm))
        return out

    def classify(self, seq: list[Event], anchors: list[Event], lang: str, year: int | None,
                 doc_types: set[str], c0: int, c1: int, norm_text: str = "") -> Passage:
        types = {e.type for e in seq}

        def first(t: str, tag: str | None = None) -> Event | None:
            for e in seq:
                if e.type == t and (tag is None or e.tag == tag):
                    return e
            return None

        def all_of(t: str) -> list[Event]:
            return [e for e in seq if e.type == t]

        def between(a: Event, b: Event, t: str) -> bool:
            return any(e.type == t and a.start <= e.start and e.end <= b.end for e in seq)

        def mk(label: str, pattern: str | None, conf: float, reason: str, signals: list[str] | None = None,
               also: list[str] | None = None) -> Passage:
            return Passage(label, pattern, [e for e in seq if e.type in ANCHORS or e.type in _SHOWN_CUES],
                           c0, c1, round(min(conf, 0.95), 2), reason, signals or [], also or [])

        for t, why in EXCLUSIONS.items():
            if t in types:
                return mk("not_applicable", None, 0.9, why)

        ints = all_of("INT")
        bds = all_of("BD")
        opens = all_of("OPEN")
        vents = all_of("VENT")
        bd0 = bds[0] if bds else None
        pre = first("PRE")
        det = "DET" in types
        dcd = "DCD" in types or any(e.type == "CAT" and e.tag == "dcd" for e in seq)
        # "intubated after brain death": an INT mentioned just before a BD stated with "after/following"
        # happens after it (the temporal marker inverts the order of mention)
        near = self._s("near_after", lang)
        retro = [i for i in ints if any(b.tag == "after" and 0 <= b.start - i.end <= near and
                                        not _has_break(norm_text, i.end, b.start) for b in bds)]
        # ventilated before the declaration: an airway/ventilation event or a "before/already" cue precedes BD
        vent_before_bd = bd0 is not None and any(e.start < bd0.start for e in ints + vents if e not in retro) or (
            pre is not None and (bd0 is None or pre.start < (bd0.start + 1)))
        if bd0 is not None and pre is not None:
            vent_before_bd = True
        found: list[tuple[str, float, str, list[str]]] = []
        signals = []
        if "URGENT" in types:
            signals.append("urgency_adverb")
        if "SUPPORT" in types:
            signals.append("support_steps")
        if "ACTOR" in types:
            signals.append("procurement_team_actor")
        if year is not None and self.pack.settings.get("year_min_modifier", 1980) <= year <= \
                self.pack.settings.get("year_max_modifier", 2015):
            signals.append("publication_year_1980_2015")

        # V4: mask oxygen / assisted breathing of the donor
        if "MASK" in types:
            found.append(("V4", BASE_CONFIDENCE["V4"], "donor received mask oxygen", []))
        # V5: airway created at procurement on a donor whose breathing had stopped
        bs = first("BREATH_STOPPED")
        trach = [e for e in ints if e.tag == "trach"]
        if bs is not None and any(e.start > bs.start for e in ints) and not vent_before_bd:
            found.append(("V5", BASE_CONFIDENCE["V5"], "airway created after breathing had stopped", []))
        elif trach and ("URGENT" in types or opens) and not vent_before_bd and not det:
            found.append(("V5", BASE_CONFIDENCE["V5"] - 0.1, "tracheotomy at procurement", []))
        # V3: chest opened before (or at the same time as) intubation
        if ints and opens and not (vent_before_bd and det):
            if opens[0].start < ints[-1].start:
                found.append(("V3", BASE_CONFIDENCE["V3"], "chest opened before intubation", []))
            elif any(between(i, o, "SIMULT") or between(o, i, "SIMULT") for i in ints for o in opens):
                found.append(("V3", BASE_CONFIDENCE["V3"] - 0.05, "intubation and chest opening at the same time", []))
        # V2 precondition: intubation as an early step of the donor operation
        v2 = False
        if ints and not vent_before_bd and not det:
            i0 = ints[0]
            steps_after = [e for e in seq if e.type in ("OPEN", "PROC", "ARREST") and e.start > i0.start]
            actor = any(e.type == "ACTOR" for e in seq)
            earlier_vent = any(v.start < i0.start and v.tag != "establish" for v in vents)
            v2 = bool(steps_after or actor or "SUPPORT" in types) and not earlier_vent
        # V1: brain death stated, then intubation as a consequence
        if retro and not vent_before_bd:
            found.append(("V1", BASE_CONFIDENCE["V1"], "intubation stated as following brain death", []))
        elif bd0 is not None and ints and not vent_before_bd:
            for b in bds:
                later = [i for i in ints if i.start > b.start]
                if not later:
                    continue
                i = later[0]
                if b.tag == "after" or between(b, i, "URGENT") or between(b, i, "SEQ") or (
                        i.start - b.end <= near and not v2):
                    conf = BASE_CONFIDENCE["V1"] + (0.05 if between(b, i, "URGENT") else 0.0)
                    found.append(("V1", conf, "intubation follows the brain-death statement", []))
                    break
        if v2:
            found.append(("V2", BASE_CONFIDENCE["V2"], "intubation as a step of the procurement", []))
        # V6: cardioplegia with no determination anywhere in the document
        if "ARREST" in types and not ({"BD", "DET", "DCD"} & doc_types) and not any(
                t == "CAT" for t in doc_types):
            found.append(("V6", BASE_CONFIDENCE["V6"], "heart arrested with no death determination in the document", []))

        if found:
            order = ["V5", "V1", "V3", "V2", "V4", "V6"]
            found.sort(key=lambda f: order.index(f[0]))
            code, conf, why, _ = found[0]
            also = [f[0] for f in found[1:]]
            conf += 0.03 * len(signals)
            if "NORM" in types or "REVIEW" in doc_types or "CRITERIA" in types:
                return mk("suspicious", code, min(conf, 0.9) * 0.45, "normative or review text: " + why,
                          signals, also)
            if dcd and code in ("V6",):
                return mk("compliant", None, 0.6, "DCD pathway")
            return mk("violation", code, conf, why, signals, also)

        # normative text describing the V1 sequence in any order of mention ("should be intubated after BD")
        if ("NORM" in types or "REVIEW" in doc_types) and ints and bd0 is not None and pre is None and not det:
            return mk("suspicious", "V1", 0.3, "normative or review text: intubation linked to brain death", signals)
        # suspicious: ventilation established/maintained after brain death, no intubation term
        est = [v for v in vents if v.tag == "establish"]
        if bd0 is not None and not ints and any(v.start > bd0.start for v in est) and not vent_before_bd:
            return mk("suspicious", "V1", 0.35, "ventilation established or maintained after brain death, "
                                                "no intubation term", signals)
        if bd0 is not None and not ints and not vent_before_bd and not det and not dcd and any(
                v.start > bd0.start for v in vents) and bd0.tag == "after":
            return mk("suspicious", "V1", 0.3, "ventilation after the brain-death statement, no intubation term",
                      signals)
        if dcd:
            return mk("compliant", None, 0.7, "circulatory-death pathway")
        if det and (vent_before_bd or not ints):
            return mk("compliant", None, 0.75, "ventilated and tested before the declaration")
        if "CRITERIA" in types:
            return mk("compliant", None, 0.6, "criteria or guideline text")
        if types & {"BD", "DET", "DCD", "CAT"}:
            return mk("compliant", None, 0.5, "no problematic ordering")
        return mk("not_applicable", None, 0.5, "no death-determination or procurement sequence for the donor")


_SHOWN_CUES = {"DONOR", "RECIPIENT", "SUPPORT", "URGENT", "SEQ", "SIMULT", "PRE", "BREATH_STOPPED", "ACTOR", "PROC",
               "NORM", "CAT", "ANIMAL", "LIVING", "WEAN", "COVID", "CRITERIA"}


def worst_label(passages: list[Passage]) -> str:
    if not passages:
        return "not_applicable"
    return max((p.label for p in passages), key=lambda lab: LABEL_RANK[lab])


def passage_summary(p: Passage) -> dict[str, Any]:  # pragma: no cover - debugging helper
    return {"label": p.label, "pattern": p.pattern, "reason": p.reason, "events": [e.type for e in p.events]}
