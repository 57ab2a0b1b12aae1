"""Pattern functions of the passage logic, one by one; subjects of airway events; passage windows; the
per-passage language; the pack's [types] table (validated, the one source of roles and confidences)."""

from __future__ import annotations

import pytest

from organwatch.errors import InputError
from organwatch.screen import matching, patterns
from organwatch.screen.documents import Document
from organwatch.screen.engine import ScreenOptions, _components, screen_chunk
from organwatch.screen.logic import PassageLogic, snap_window
from organwatch.screen.matching import Event
from organwatch.screen.patterns import DocContext, Facts
from organwatch.screen.rulepack import compile_pack, load_pack

PACK = load_pack()
CONF = PACK.types.confidence


def facts(*spec: str, doc_types: tuple[str, ...] | None = None, year: int | None = None, transplant: bool = False,
          review: bool = False) -> Facts:
    """Facts of a passage whose events are ``TYPE`` or ``TYPE:tag`` in this order, 10 characters apart."""
    evs = []
    for k, s in enumerate(spec):
        t, _, tag = s.partition(":")
        evs.append(Event(10 * k, 10 * k + 4, t, tag, t.lower(), 10 * k, 10 * k + 4))
    types = frozenset(doc_types if doc_types is not None else {e.type for e in evs})
    doc = DocContext(types=types, year=year, transplant=transplant, review=review)
    return Facts(evs, doc, CONF, PACK.types.of("pre"), PACK.types.exclusion, 30)


# ------------------------------------------------------------------ violation pattern functions
def test_v1_needs_bd_then_intubation_with_a_cue_and_no_earlier_ventilation():
    assert patterns.v1_intubation_after_bd(facts("DONOR", "BD:after", "INT"))[0] == "V1"
    assert patterns.v1_intubation_after_bd(facts("BD", "URGENT", "INT"))[1] == pytest.approx(
        CONF["V1"] + CONF["V1_urgent_bonus"])
    assert patterns.v1_intubation_after_bd(facts("INT", "BD:after"))[2] == "intubation stated as following brain death"
    assert patterns.v1_intubation_after_bd(facts("PRE", "BD:after", "INT")) is None  # already intubated
    assert patterns.v1_intubation_after_bd(facts("INT", "VENT", "BD:after", "DET")) is None
    assert patterns.v1_intubation_after_bd(facts("BD:category", "INT")) is None  # 脑死亡供者: a label
    assert patterns.v1_intubation_after_bd(facts("BD:after", "VENT")) is None


def test_v2_intubation_as_an_early_procurement_step():
    assert patterns.v2_intubation_at_procurement(facts("DONOR", "INT", "PROC", "OPEN"))[0] == "V2"
    assert patterns.v2_intubation_at_procurement(facts("ACTOR", "INT"))[0] == "V2"
    assert patterns.v2_intubation_at_procurement(facts("INT", "SUPPORT"))[0] == "V2"
    assert patterns.v2_intubation_at_procurement(facts("VENT", "INT", "OPEN")) is None  # ventilated earlier
    assert patterns.v2_intubation_at_procurement(facts("INT", "DET", "OPEN")) is None
    assert patterns.v2_intubation_at_procurement(facts("INT")) is None


def test_v3_opening_before_or_with_intubation():
    assert patterns.v3_intubation_after_opening(facts("OPEN", "INT"))[2] == "chest opened before intubation"
    assert patterns.v3_intubation_after_opening(facts("INT", "OPEN", "SIMULT"))[1] == CONF["V3_simultaneous"]
    assert patterns.v3_intubation_after_opening(facts("INT", "OPEN")) is None


def test_v4_v5_v6():
    assert patterns.v4_mask_ventilation(facts("MASK", "OPEN"))[0] == "V4"
    assert patterns.v4_mask_ventilation(facts("VENT", "OPEN")) is None
    assert patterns.v5_airway_after_breathing_stopped(facts("BREATH_STOPPED", "INT"))[0] == "V5"
    assert patterns.v5_airway_after_breathing_stopped(facts("INT:trach", "URGENT"))[1] == CONF["V5_tracheotomy"]
    assert patterns.v5_airway_after_breathing_stopped(facts("INT", "BREATH_STOPPED")) is None
    assert patterns.v6_arrest_without_determination(facts("ARREST"))[0] == "V6"
    assert patterns.v6_arrest_without_determination(facts("ARREST", doc_types=("ARREST", "DET"))) is None
    assert patterns.v6_arrest_without_determination(facts("ARREST:flush")) is None  # a cold flush only


# ------------------------------------------------------------------ guards, suspicious, compliant, exclusions
def test_guards_dcd_reintubation_and_dcd_arrest():
    v = patterns.dcd_reintubation(facts("DCD", "INT:reintubation", "OPEN"))
    assert v is not None and v.label == "compliant" and "re-intubated" in v.reason
    assert patterns.dcd_reintubation(facts("DCD", "INT")).label == "compliant"
    assert patterns.dcd_reintubation(facts("BD:after", "DCD", "INT")) is None  # brain death stated first
    assert patterns.dcd_reintubation(facts("INT", "DCD")) is None
    assert patterns.dcd_arrest(facts("DCD", "ARREST"), "V6").label == "compliant"
    assert patterns.dcd_arrest(facts("DCD", "ARREST"), "V2") is None


def test_suspicious_patterns():
    assert patterns.normative_link(facts("NORM", "INT", "BD")).label == "suspicious"
    assert patterns.normative_link(facts("INT", "BD", review=True)).code == "V1"
    assert patterns.normative_link(facts("INT", "BD")) is None
    assert patterns.ventilation_established_after_bd(facts("BD", "VENT:establish")).confidence == \
        CONF["suspicious_established"]
    assert patterns.ventilation_established_after_bd(facts("VENT:establish", "BD")) is None
    assert patterns.ventilation_after_bd(facts("BD:after", "VENT")).label == "suspicious"
    assert patterns.ventilation_after_bd(facts("BD", "VENT")).label == "suspicious"  # right after it
    assert patterns.ventilation_after_bd(facts("BD", "OPEN", "OPEN", "OPEN", "VENT")) is None


def test_compliant_reasons_name_only_events_present():
    tested = patterns.determination_reported(facts("BD", "DET"))
    assert tested.reason == "brain-death determination tests reported"  # no ventilation mentioned
    assert "ventilated" in patterns.determination_reported(facts("PRE", "BD", "DET")).reason
    assert patterns.determination_reported(facts("DET:ancillary")) is None  # EEG alone is no determination
    assert patterns.criteria_text(facts("CRITERIA", "DET:ancillary")) is None
    assert patterns.criteria_text(facts("CRITERIA", "BD")).label == "compliant"
    assert patterns.dcd_pathway(facts("DCD")).label == "compliant"
    assert patterns.no_problematic_order(facts("BD:category")).label == "compliant"
    assert patterns.no_problematic_order(facts("OPEN")) is None


def test_exclusions():
    assert patterns.exclusion_cue(facts("ANIMAL", "INT")).reason == "animal_study"
    assert patterns.exclusion_cue(facts("WEAN", "INT")).reason == "weaning_trial"
    assert patterns.exclusion_cue(facts("DCD", "WEAN", "INT:reintubation")) is None  # extubation at withdrawal
    f = facts("INT", "OPEN")
    f.doc.animal = True
    assert patterns.animal_document(f).reason == "animal_study"
    f.doc.animal, f.doc.living_only = False, True
    assert patterns.living_document(f).reason == "living_donor"


def test_decision_table_order_and_normative_downgrade():
    v, also = patterns.decide(facts("DONOR", "BD:after", "URGENT", "INT", "OPEN", "MASK"))
    assert (v.label, v.code) == ("violation", "V1") and "V4" in also
    assert v.confidence <= CONF["cap"]
    v, _ = patterns.decide(facts("NORM", "BD:after", "INT"))
    assert v.label == "suspicious" and v.confidence < CONF["V1"]
    v, _ = patterns.decide(facts("ARREST", year=2018))
    assert (v.label, v.code) == ("suspicious", "V6")
    v, _ = patterns.decide(facts("ARREST", year=1999))
    assert (v.label, v.code) == ("violation", "V6")
    v, _ = patterns.decide(facts("OPEN"))
    assert v.label == "not_applicable"


def test_decide_by_context_only_bd_then_intubation():
    v, _ = patterns.decide_by_context(facts("BD:after", "INT", transplant=True))
    assert (v.label, v.code) == ("violation", "V1")
    v, _ = patterns.decide_by_context(facts("BD:after", "INT"))
    assert v.label == "suspicious"
    assert patterns.decide_by_context(facts("INT", "OPEN", transplant=True)) is None  # a recipient's operation
    assert patterns.decide_by_context(facts("ARREST", transplant=True)) is None
    assert patterns.decide_by_context(facts("OPEN", "INT", transplant=True))[0].code == "V3"
    assert patterns.decide_by_context(facts("OPEN", "INT")) is None
    unknown = facts("OPEN", "INT")
    unknown.doc.context_known = False  # no title, a short text: nothing says it is not a donor
    assert patterns.decide_by_context(unknown)[0].label == "violation"
    unknown = facts("OPEN", "INT:reintubation")
    unknown.doc.context_known = False
    assert patterns.decide_by_context(unknown) is None  # re-intubation after a re-sternotomy
    assert patterns.decide_by_context(facts("MASK", "OPEN", transplant=True))[0].code == "V4"
    assert patterns.decide_by_context(facts("MASK", "INT", "OPEN", transplant=True)) is None  # pre-oxygenation


# ------------------------------------------------------------------ subjects, windows, language
def _label(text: str, title: str = "") -> str:
    body = f"{title}\n\n{text}" if title else text
    return screen_chunk([Document("d", "f", 1, body, title=title)], ScreenOptions())[0]["document_label"]


@pytest.mark.parametrize("text,label", [
    ("供者血型与受者相符，确认脑死亡后立即行气管插管。", "violation"),  # the recipient is not the airway's subject
    ("受者取仰卧位，麻醉诱导后气管插管，正中开胸，植入供心。", "not_applicable"),
    ("供心到达后，麻醉诱导，气管插管，胸骨正中切口。", "not_applicable"),  # the recipient's timing
    ("The donor was declared brain dead; the anaesthetist then intubated the patient.", "violation"),
    ("After the donor team reported that the heart was good, induction and intubation began.", "not_applicable"),
    ("The recipient's blood group matched the donor; after brain death the donor was intubated at once.", "violation"),
])
def test_the_airway_events_subject_decides(text, label):
    assert _label(text) == label


def test_subject_of_clause_sentence_and_previous_sentence():
    _, matcher, logic = _components("ddr_default", "hyperscan")
    assert isinstance(logic, PassageLogic)
    text = "受者术后转入ICU。第2天面罩吸氧。"
    m = matcher.match([text])[0]
    subs = [e for e in m.events if e.type in logic.subject_types]
    mask = next(e for e in m.events if e.type == "MASK")
    assert logic.subject_of(mask, m.norm, subs, [e.start for e in subs], 40) == "recipient"


def test_snap_window_never_cuts_mid_word():
    text = "Records were abstracted by two surgeons. After brain death the donor was intubated, then moved. End."
    a = text.index("After")
    b = text.index("intubated") + len("intubated")
    s, e = snap_window(text, a + 6, b, 60)
    assert text[s:e] == "After brain death the donor was intubated, then moved."
    s, e = snap_window("aaaa bbbb cccc dddd eeee", 11, 13, 7)
    assert (s, e) == (10, 14)  # word boundaries when no clause or sentence boundary is near
    zh = "本组共十例。供者确认脑死亡后立即行气管插管，随后开胸。术后恢复良好。"
    s, e = snap_window(zh, zh.index("确认"), zh.index("插管") + 2, 60)
    assert zh[s:e] == "供者确认脑死亡后立即行气管插管，随后开胸。"


def test_record_passages_start_and_end_at_boundaries():
    text = ("本组资料来自本中心病例档案，经整理后分析，所有供者均为男性，年龄二十至四十岁之间，平均三十岁。"
            "供者确认脑死亡后立即行气管插管，随后转运至手术室开胸获取供心。术后受者恢复良好，随访一年无死亡。")
    rec = screen_chunk([Document("d", "f", 1, text)], ScreenOptions())[0]
    p = rec["passages"][0]
    assert "供者确认脑死亡后立即行气管插管，随后转运至手术室开胸获取供心。" in p["text"]
    assert text[p["start"] - 1] in "，。" and p["text"][-1] == "。"  # a clause start, a sentence end
    assert text[p["start"]:p["end"]] == p["text"]


def test_a_long_english_reference_list_does_not_change_a_chinese_papers_labels():
    body = ("供者确认脑死亡后立即行气管插管，随后正中开胸获取供心。本组受者恢复顺利。"
            "供者入院后即行气管插管、机械通气，经自主呼吸激发试验确认脑死亡后送手术室。")
    refs = "\n\nReferences\n" + "".join(
        f"{k}. Author A, Author B. Outcomes of heart transplantation in adults. J Example Surg. 2001;{k}:1-9.\n"
        for k in range(1, 120))
    alone = screen_chunk([Document("a", "f", 1, body)], ScreenOptions())[0]
    mixed = screen_chunk([Document("b", "f", 2, body + refs, language="zh")], ScreenOptions())[0]
    assert mixed["language"] == "zh"
    assert [(p["label"], p["pattern"]) for p in alone["passages"]] == \
        [(p["label"], p["pattern"]) for p in mixed["passages"]]
    assert [p["text"] for p in alone["passages"]] == [p["text"] for p in mixed["passages"]]


# ------------------------------------------------------------------ the pack's [types] table
def _doc(types: dict) -> dict:
    return {"rule": [{"id": "a", "type": "BD", "terms": ["brain death"]}, {"id": "b", "type": "INT", "terms": ["x"]}],
            "types": types}


def test_types_table_is_validated_and_unknown_keys_rejected():
    good = {"anchor": ["BD", "INT"], "airway": ["INT"], "confidence": dict(PACK.types.confidence)}
    assert compile_pack(_doc(good)).types.of("anchor") == {"BD", "INT"}
    for bad, words in (({**good, "anchors": ["BD"]}, "unknown key 'anchors'"),
                       ({**good, "airway": ["TUBE"]}, "TUBE"),
                       ({**good, "confidence": {**good["confidence"], "V9": 0.5}}, "V9"),
                       ({**good, "confidence": {**good["confidence"], "V1": 2}}, "between 0 and 1"),
                       ({k: v for k, v in good.items() if k != "confidence"}, "confidence keys missing"),
                       ({**good, "subject_strong": {"BD": "ghost"}}, "ghost")):
        with pytest.raises(InputError) as e:
            compile_pack(_doc(bad))
        assert words in str(e.value) and "\n" not in str(e.value)
    with pytest.raises(InputError, match=r"\[types\]: missing"):
        compile_pack({"rule": _doc(good)["rule"]})


def test_roles_have_one_source_the_pack():
    for name in ("ANCHOR_TYPES", "NEAR_ONLY_TYPES", "HEAD_ONLY_TYPES"):
        assert not hasattr(matching, name)
    from organwatch.screen import logic

    for name in ("ANCHORS", "AIRWAY", "EXCLUSIONS", "BASE_CONFIDENCE", "_SHOWN_CUES"):
        assert not hasattr(logic, name)
    assert PACK.setting("sentence_lookback", "en") > 0
    _, matcher, _ = _components("ddr_default", "hyperscan")
    assert matcher.near_window >= PACK.setting("sentence_lookback", "en")


def test_modifier_hits_alone_change_no_record():
    """A document made only of modifier literals (pack [types] modifier) gets the record of a document with no
    hit at all: no passage, the same ethics fields, no institution."""
    mods = PACK.types.of("modifier")
    assert "DONOR" in mods and "NEG_PRE" in mods and "ORGAN_TX" not in mods and "BD" not in mods
    for lang, sep in (("zh", "。"), ("en", ". ")):
        _, m0, _ = _components("ddr_default", "hyperscan")
        matcher = matching.Matcher(PACK, m0.scanner, m0.norm, keep_all=True)  # no pruning of far cues
        words = [t.strip("<>") for r in PACK.rules if r.type in mods and r.lang == lang for t in r.terms
                 if "{" not in t]
        # literals that contain a non-modifier literal (诱导插管 holds 插管) are not modifier-only text
        found = matcher.match(words)
        words = [w for w, m in zip(words, found, strict=True) if m.events and {e.type for e in m.events} <= mods]
        assert len(words) > 100
        text = sep.join(words) + sep
        types = {e.type for e in matcher.match([text])[0].events}
        assert len(types) > 15 and types <= mods, types - mods
        blank = "x" if lang == "en" else "甲"
        got, ref = screen_chunk([Document("a", "f", 1, text), Document("a", "f", 1, blank)], ScreenOptions())
        assert got["passages"] == [] and got["institution"] is None
        assert got["ethics"] == ref["ethics"] and got["document_label"] == ref["document_label"]
