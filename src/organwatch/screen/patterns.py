"""Pattern functions of the passage logic: each looks at one passage's facts and returns a verdict or None.

The decision procedure is a table (docs/screen.md "Decision logic per passage"): exclusions, then the
violation patterns V1-V6 (all that apply are computed; the first in ``VIOLATIONS`` order is the primary),
then the guards that turn a violation shape into suspicious (normative or review text) or compliant (the
circulatory-death pathway), then the suspicious patterns, then the compliant ones. Each function is small
and tested on its own (tests/test_screen_logic.py). Confidence constants come from the pack's
``[types.confidence]``; the event-type roles from ``[types]``. Order of mention stands for order of events
(docs/specs/screening-criteria.md §4).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from organwatch.screen.matching import Event

SENTENCE_END = "。；;!?！？\n"
CLAUSE_END = SENTENCE_END + "，,：:"


@dataclass(frozen=True)
class Verdict:
    """What one pattern function decided: label, pattern code (violations), confidence and a reason that
    names only events present in the passage."""

    label: str
    code: str | None
    confidence: float
    reason: str


@dataclass
class DocContext:
    """Document-level facts the passage patterns may use."""

    types: frozenset[str]
    year: int | None = None
    transplant: bool = False  # the document is about organ transplantation or procurement
    animal: bool = False  # its donors are animals (供体犬, donor pigs, an animal in the title)
    living_only: bool = False  # its donors are all living donors
    review: bool = False
    title_end: int = 0  # original offset where the title ends: subjects in the title are not the body's
    context_known: bool = True  # False: no title and too little text to tell what the document is about


def has_break(norm: str, a: int, b: int, ends: str = SENTENCE_END) -> bool:
    """True when a sentence (or, with ``CLAUSE_END``, clause) boundary lies in ``norm[a:b]``."""
    seg = norm[a:b]
    return any(ch in seg for ch in ends) or ". " in seg


@dataclass
class Facts:
    """One passage's ordered events and the derived facts every pattern function reads."""

    seq: list[Event]
    doc: DocContext
    conf: dict[str, float]
    pre_types: frozenset[str]
    exclusion: dict[str, str]
    near: int
    norm: str = ""
    year_range: tuple[int, int] = (1980, 2015)
    v6_until: int = 2014
    # derived in __post_init__ (not constructor arguments)
    types: set[str] = field(init=False)
    ints: list[Event] = field(init=False)
    bds: list[Event] = field(init=False)
    opens: list[Event] = field(init=False)
    vents: list[Event] = field(init=False)
    dcds: list[Event] = field(init=False)
    bds_clean: list[Event] = field(init=False)
    bd_any: list[Event] = field(init=False)  # with brain death as a donor category
    pre: Event | None = field(init=False)
    det: bool = field(init=False)
    dcd: bool = field(init=False)
    retro: list[Event] = field(init=False)
    vent_before_bd: bool = field(init=False)
    signals: list[str] = field(init=False)

    def __post_init__(self) -> None:
        by: dict[str, list[Event]] = {}  # the events by type, in order (one pass for every all_of below)
        for e in self.seq:
            by.setdefault(e.type, []).append(e)
        self.types = set(by)
        self.ints = list(by.get("INT", ()))
        # brain death as a donor category (脑死亡供者, brain-dead donors) labels the donor, it starts no sequence
        self.bd_any = list(by.get("BD", ()))
        self.bds = [b for b in self.bd_any if b.tag != "category"]
        self.opens = list(by.get("OPEN", ()))
        self.vents = list(by.get("VENT", ()))
        # circulatory-death events that are not part of a brain-death phrase (宣布死亡后 is both)
        dcd_all = by.get("DCD", [])
        self.dcds = [d for d in dcd_all if not any(_overlap(d, b) for b in self.bds)]
        self.bds_clean = [b for b in self.bds if not any(_overlap(b, d) for d in dcd_all)]
        pres = [e for e in self.seq if e.type in self.pre_types]
        self.pre = pres[0] if pres else None
        # confirmatory tests (EEG, TCD, SSEP) count as a determination only where brain death is stated
        self.det = any(e.type == "DET" and (e.tag != "ancillary" or self.bds) for e in self.seq)
        self.dcd = bool(self.dcds) or any(e.type == "CAT" and e.tag == "dcd" for e in self.seq)
        # "intubated after brain death": an INT just before a BD stated with "after/following" follows it
        self.retro = [i for i in self.ints if any(
            b.tag == "after" and 0 <= b.start - i.end <= self.near and not has_break(self.norm, i.end, b.start)
            for b in self.bds)]
        bd0 = self.bds[0] if self.bds else None
        airway_first = bd0 is not None and any(e.start < bd0.start for e in self.ints + self.vents
                                               if e not in self.retro)
        # ventilated before the declaration: an airway event before the first BD, or a "before/already" cue
        self.vent_before_bd = airway_first or self.pre is not None
        self.signals = self._signals()

    def all_of(self, t: str) -> list[Event]:
        return [e for e in self.seq if e.type == t]

    def first(self, t: str) -> Event | None:
        for e in self.seq:
            if e.type == t:
                return e
        return None

    def between(self, a: Event, b: Event, t: str) -> bool:
        return any(e.type == t and a.start <= e.start and e.end <= b.end for e in self.seq)

    def _signals(self) -> list[str]:
        out = []
        for t, name in (("URGENT", "urgency_adverb"), ("SUPPORT", "support_steps"),
                        ("ACTOR", "procurement_team_actor")):
            if t in self.types:
                out.append(name)
        y = self.doc.year
        if y is not None and self.year_range[0] <= y <= self.year_range[1]:
            out.append("publication_year_1980_2015")
        return out

    @property
    def normative(self) -> bool:
        return "NORM" in self.types or self.doc.review or "CRITERIA" in self.types


def _same_sentence(norm: str, *evs: Event) -> bool:
    a, b = min(e.start for e in evs), max(e.end for e in evs)
    return not has_break(norm, a, b)


def _overlap(a: Event, b: Event) -> bool:
    return a.start < b.end and b.start < a.end


Hit = tuple[str, float, str]


# ------------------------------------------------------------------ exclusions (-> not_applicable)
def exclusion_cue(f: Facts) -> Verdict | None:
    """An animal, living-donor, weaning or COVID cue in the passage (extubation at the withdrawal of life
    support is part of the circulatory-death pathway, not a weaning trial)."""
    for t, why in f.exclusion.items():
        if t in f.types and not (why == "weaning_trial" and f.dcd):
            return Verdict("not_applicable", None, f.conf["exclusion"], why)
    return None


def animal_document(f: Facts) -> Verdict | None:
    """The document's donors are animals (供体犬, donor pigs, an animal model in the title)."""
    return Verdict("not_applicable", None, f.conf["exclusion"], "animal_study") if f.doc.animal else None


def living_document(f: Facts) -> Verdict | None:
    """Every donor in the document is a living donor (no deceased-donor term anywhere)."""
    return Verdict("not_applicable", None, f.conf["exclusion"], "living_donor") if f.doc.living_only else None


EXCLUSIONS: list[Callable[[Facts], Verdict | None]] = [exclusion_cue, animal_document, living_document]


# ------------------------------------------------------------------ violation patterns
def v5_airway_after_breathing_stopped(f: Facts) -> Hit | None:
    """V5: an airway created at procurement on a donor whose breathing had stopped, or a tracheotomy with
    urgency or chest opening."""
    bs = f.first("BREATH_STOPPED")
    if bs is not None and any(e.start > bs.start for e in f.ints) and not f.vent_before_bd:
        return ("V5", f.conf["V5"], "airway created after breathing had stopped")
    trach = [e for e in f.ints if e.tag == "trach"]
    if trach and ("URGENT" in f.types or f.opens) and not f.vent_before_bd and not f.det:
        return ("V5", f.conf["V5_tracheotomy"], "tracheotomy at procurement")
    return None


def v1_intubation_after_bd(f: Facts) -> Hit | None:
    """V1: brain death stated, then intubation as a consequence ("after", an urgency or sequence cue, or
    intubation right after the statement when it is not a procurement step)."""
    if f.vent_before_bd or not f.ints or not f.bds:
        return None
    if f.retro:
        return ("V1", f.conf["V1"], "intubation stated as following brain death")
    v2 = v2_intubation_at_procurement(f) is not None
    for b in f.bds:
        later = [i for i in f.ints if i.start > b.start]
        if not later:
            continue
        i = later[0]
        urgent = f.between(b, i, "URGENT")
        if b.tag == "after" or urgent or f.between(b, i, "SEQ") or (i.start - b.end <= f.near and not v2):
            return ("V1", f.conf["V1"] + (f.conf["V1_urgent_bonus"] if urgent else 0.0),
                    "intubation follows the brain-death statement")
    return None


def v3_intubation_after_opening(f: Facts) -> Hit | None:
    """V3: the chest opened before (or at the same time as) intubation."""
    if not f.ints or not f.opens or (f.vent_before_bd and f.det):
        return None
    if f.opens[0].start < f.ints[-1].start:
        return ("V3", f.conf["V3"], "chest opened before intubation")
    sims = f.all_of("SIMULT")
    if any(_same_sentence(f.norm, i, o, s) for i in f.ints for o in f.opens for s in sims):
        return ("V3", f.conf["V3_simultaneous"], "intubation and chest opening at the same time")
    return None


def v2_intubation_at_procurement(f: Facts) -> Hit | None:
    """V2: intubation as an early step of the donor operation (followed by chest opening, procurement steps
    or cardioplegia, or done by the anaesthetist/procurement team, or with support steps), with no earlier
    ventilation and no determination."""
    if not f.ints or f.vent_before_bd or f.det:
        return None
    i0 = f.ints[0]
    # chest opening or cardioplegia later in the passage; a procurement step (获取, draping, heparin) in the
    # same sentence
    steps_after = any(e.start > i0.start and (e.type in ("OPEN", "ARREST") or (
        e.type == "PROC" and not has_break(f.norm, i0.end, e.start))) for e in f.seq)
    earlier_vent = any(v.start < i0.start and v.tag != "establish" for v in f.vents)
    if (steps_after or "ACTOR" in f.types or "SUPPORT" in f.types) and not earlier_vent:
        return ("V2", f.conf["V2"], "intubation as a step of the procurement")
    return None


def v4_mask_ventilation(f: Facts) -> Hit | None:
    """V4: the donor received mask oxygen or mask ventilation."""
    return ("V4", f.conf["V4"], "donor received mask oxygen or mask ventilation") if "MASK" in f.types else None


def v6_arrest_without_determination(f: Facts) -> Hit | None:
    """V6: the heart arrested (cardioplegia) with no brain-death, determination, circulatory-death or donor
    category term anywhere in the document (a cold flush alone is not a heart arrest)."""
    heart = any(e.type == "ARREST" and e.tag != "flush" for e in f.seq)
    if heart and not ({"BD", "DET", "DCD", "CAT"} & f.doc.types):
        return ("V6", f.conf["V6"], "heart arrested with no death determination in the document")
    return None


# priority order: the first that applies is the primary pattern, the others are listed in ``also``
VIOLATIONS: list[Callable[[Facts], Hit | None]] = [
    v5_airway_after_breathing_stopped, v1_intubation_after_bd, v3_intubation_after_opening,
    v2_intubation_at_procurement, v4_mask_ventilation, v6_arrest_without_determination]


# ------------------------------------------------------------------ guards on a violation shape
def dcd_reintubation(f: Facts) -> Verdict | None:
    """Controlled DCD lung recovery: the donor is re-intubated, or intubated after circulatory death was
    declared with no brain-death statement before it (宣布死亡后 counts as part of the DCD declaration when a
    DCD term overlaps it). Compliant, never V1."""
    if not f.dcd or not f.ints:
        return None
    if all(i.tag == "reintubation" for i in f.ints):
        return Verdict("compliant", None, f.conf["compliant_dcd_reintubation"],
                       "re-intubated after circulatory death (controlled DCD lung recovery)")
    marks = f.dcds + [e for e in f.seq if e.type == "CAT" and e.tag == "dcd"]
    d0 = min(e.start for e in marks)
    after = all(i.start > d0 for i in f.ints)
    bd_first = any(b.start < f.ints[0].start for b in f.bds_clean)
    if after and not bd_first:
        return Verdict("compliant", None, f.conf["compliant_dcd_reintubation"],
                       "intubated after circulatory death (controlled DCD lung recovery)")
    return None


def dcd_arrest(f: Facts, code: str) -> Verdict | None:
    """Cardioplegia in a circulatory-death (DCD) passage is the DCD procurement, not V6."""
    if f.dcd and code == "V6":
        return Verdict("compliant", None, f.conf["dcd_arrest"], "heart arrested after circulatory death (DCD pathway)")
    return None


# ------------------------------------------------------------------ suspicious (no violation found)
def normative_link(f: Facts) -> Verdict | None:
    """Normative or review text linking intubation and brain death in any order of mention."""
    if (("NORM" in f.types or f.doc.review) and f.ints and f.bd_any and f.pre is None and not f.det):
        return Verdict("suspicious", "V1", f.conf["suspicious_normative"],
                       "normative or review text: intubation linked to brain death")
    return None


def ventilation_established_after_bd(f: Facts) -> Verdict | None:
    """Ventilation "established/maintained" after brain death, with no intubation term."""
    if f.bds and not f.ints and not f.vent_before_bd and any(
            v.tag == "establish" and v.start > f.bds[0].start for v in f.vents):
        return Verdict("suspicious", "V1", f.conf["suspicious_established"],
                       "ventilation established or maintained after brain death, no intubation term")
    return None


def ventilation_after_bd(f: Facts) -> Verdict | None:
    """Ventilation after a brain-death statement tagged "after" (or linked by an urgency or sequence cue, or
    right after it), with no intubation term."""
    if not f.bds or f.ints or f.vent_before_bd or f.det or f.dcd:
        return None
    b = f.bds[0]
    later = [v for v in f.vents if v.start > b.start]
    if later and (b.tag == "after" or f.between(b, later[0], "URGENT") or f.between(b, later[0], "SEQ")
                  or later[0].start - b.end <= f.near):
        return Verdict("suspicious", "V1", f.conf["suspicious_after"],
                       "ventilation after the brain-death statement, no intubation term")
    return None


SUSPICIOUS: list[Callable[[Facts], Verdict | None]] = [normative_link, ventilation_established_after_bd,
                                                       ventilation_after_bd]


# ------------------------------------------------------------------ compliant
def dcd_pathway(f: Facts) -> Verdict | None:
    """The circulatory-death pathway (withdrawal, no-touch period, declaration) or a DCD category."""
    return Verdict("compliant", None, f.conf["compliant_dcd"], "circulatory-death pathway") if f.dcd else None


def determination_reported(f: Facts) -> Verdict | None:
    """Determination tests reported, with ventilation before the declaration or no intubation at all."""
    if not f.det or not (f.vent_before_bd or not f.ints):
        return None
    if f.vent_before_bd:
        why = "ventilated before the declaration, determination tests reported"
    else:
        why = "brain-death determination tests reported"
    return Verdict("compliant", None, f.conf["compliant_det"], why)


def criteria_text(f: Facts) -> Verdict | None:
    """Criteria, guideline or protocol text about death determination."""
    if "CRITERIA" in f.types and (f.bds or f.det or f.dcd):
        return Verdict("compliant", None, f.conf["compliant_criteria"], "criteria or guideline text on death "
                                                                        "determination")
    return None


def no_problematic_order(f: Facts) -> Verdict | None:
    """Brain death, a determination or a donor category mentioned without a problematic order (silence is
    not evidence)."""
    if f.bd_any or f.det or f.dcd or "CAT" in f.types:
        return Verdict("compliant", None, f.conf["compliant_other"],
                       "brain death or a donor category mentioned, no problematic order of events")
    return None


COMPLIANT: list[Callable[[Facts], Verdict | None]] = [dcd_pathway, determination_reported, criteria_text,
                                                      no_problematic_order]


# ------------------------------------------------------------------ the table
def violations(f: Facts) -> list[Hit]:
    return [h for fn in VIOLATIONS if (h := fn(f)) is not None]


def _first(fns: list[Callable[[Facts], Verdict | None]], f: Facts) -> Verdict | None:
    for fn in fns:
        v = fn(f)
        if v is not None:
            return v
    return None


def decide(f: Facts) -> tuple[Verdict, list[str]]:
    """The passage's verdict and the secondary violation codes (``also``)."""
    ex = _first(EXCLUSIONS, f)
    if ex is not None:
        return ex, []
    found = violations(f)
    if found:
        code, conf, why = found[0]
        also = [h[0] for h in found[1:]]
        conf += f.conf["signal_bonus"] * len(f.signals)
        guard = dcd_reintubation(f) or dcd_arrest(f, code)
        if guard is not None:
            return guard, []
        if code == "V6" and f.doc.year is not None and f.doc.year > f.v6_until:
            return Verdict("suspicious", code, conf * f.conf["v6_late_factor"],
                           why + f" (published after {f.v6_until}: DBD/DCD era)"), also
        if f.normative:
            return Verdict("suspicious", code, min(conf, f.conf["normative_cap"]) * f.conf["normative_factor"],
                           "normative or review text: " + why), also
        return Verdict("violation", code, min(conf, f.conf["cap"]), why), also
    v = _first(SUSPICIOUS, f) or _first(COMPLIANT, f)
    if v is not None:
        return v, []
    return Verdict("not_applicable", None, f.conf["not_applicable"],
                   "no death-determination or procurement sequence for the donor"), []


def decide_by_context(f: Facts) -> tuple[Verdict, list[str]] | None:
    """A passage with no donor term nearby: only BD -> INT counts, and, in a document about organ
    transplantation or procurement (or in a text that gives no context), the chest opened before intubation
    (also: opened on mask ventilation with no intubation, in a transplant document; no recipient is operated
    so). A violation when the document is about transplantation or procurement (the brain-dead person is the
    donor) or says nothing else, suspicious otherwise; None for any other shape."""
    if _first(EXCLUSIONS, f) is not None or f.normative:
        return None
    hit = v1_intubation_after_bd(f)
    fresh = [i for i in f.ints if i.tag != "reintubation"]  # not a re-intubation after re-sternotomy
    if hit is None and (f.doc.transplant or not f.doc.context_known) and fresh and f.opens \
            and f.opens[0].start < fresh[-1].start:
        hit = v3_intubation_after_opening(f)
    masks = f.all_of("MASK")
    if hit is None and f.doc.transplant and masks and not f.ints and any(
            o.start > masks[0].start for o in f.opens):
        hit = v4_mask_ventilation(f)  # the chest opened on mask ventilation: no recipient is operated so
    if hit is None or dcd_reintubation(f) is not None:
        return None
    code, conf, why = hit
    conf += f.conf["signal_bonus"] * len(f.signals)
    if f.doc.transplant:
        return Verdict("violation", code, min(conf, f.conf["cap"]),
                       why + " (document about transplantation; no donor term nearby)"), []
    if not f.doc.context_known:  # nothing says otherwise: brain death, or a chest opened before intubation,
        # marks a potential donor
        return Verdict("violation", code, min(conf, f.conf["cap"]) * f.conf["context_suspicious_factor"] * 2,
                       why + " (no donor term; the text gives no other context)"), []
    return Verdict("suspicious", code, min(conf, f.conf["cap"]) * f.conf["context_suspicious_factor"],
                   why + " (no donor term and no transplantation context)"), []
