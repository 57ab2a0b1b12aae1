"""Normalisation offsets, rule-pack examples, backend identity and passage logic of organwatch screen."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from organwatch.screen.documents import Document
from organwatch.screen.engine import ScreenOptions, _components, screen_chunk
from organwatch.screen.evaluate import evaluate_file
from organwatch.screen.matching import Matcher
from organwatch.screen.normalise import get_normaliser
from organwatch.screen.rulepack import load_pack
from organwatch.screen.scanner import encode, get_scanner

DATA = Path(__file__).parent / "data" / "screen"


def _lines(name: str) -> list[dict]:
    return [json.loads(x) for x in (DATA / name).read_text("utf-8").splitlines() if x.strip()]


# ------------------------------------------------------------------ normalisation
def test_normalisation_steps_and_offsets():
    src = "供(gòng)体確認腦死亡後，立即氣管 插\n管。ＡＢＣ　Brain  Death ㎎ (EEG)"
    nt = get_normaliser().normalise(src)
    assert nt.text.startswith("供体确认脑死亡后,立即气管插管。abc brain death mg (eeg)")
    i = nt.text.index("气管插管")
    a, b = nt.orig_span(i, i + 4)
    assert src[a:b] == "氣管 插\n管"
    j = nt.text.index("mg")
    assert src[slice(*nt.orig_span(j, j + 2))] == "㎎"
    ocr = get_normaliser().normalise("供者脳死亡後立即揷管")  # OCR / variant substitutions from the TOML
    assert ocr.text == "供者脑死亡后立即插管" and ocr.del_pos is None and ocr.seg_start is None  # identity map


VARIANTS = ["脑死亡", "腦死亡", "气管插管", "氣管 插管", "气 管\n插 管", "面罩", "麵罩", "ｉｎｔｕｂａｔｉｏｎ", "INTUBATION",
            "供(gòng)体", "供 (gong4)者", "Brain   Death", "開胸", "停跳液"]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.one_of(st.sampled_from(VARIANTS), st.text(max_size=12)), min_size=1, max_size=12))
def test_property_every_span_maps_back_to_original_substring(parts):
    """Every event span, through every normalisation step, is exactly an original substring whose
    normalisation is the matched literal."""
    text = "".join(parts).replace("\x00", "")
    pack, matcher, _ = _components("ddr_default", "hyperscan")
    n = get_normaliser()
    dm = matcher.match([text, "x" + text])
    for doc_text, m in zip([text, "x" + text], dm, strict=True):
        for e in m.events:
            assert 0 <= e.ostart < e.oend <= len(doc_text)
            # the span's ends are exactly the original characters of the first and last matched characters
            assert m.orig_offset(e.start) == e.ostart and m.orig_offset(e.end - 1) + 1 == e.oend
            # every matched character comes from the original character it maps to (NFKC, t2s, case, ...)
            for a in range(e.start, e.end):
                o = m.orig_offset(a)
                assert e.ostart <= o < e.oend
                assert m.norm[a] in n.normalise(doc_text[o]).text or m.norm[a] == doc_text[o].lower()
            # and whatever lies between them in the original was removed by normalisation (spaces, pinyin)
            kept = {m.orig_offset(a) for a in range(e.start, e.end)}
            for o in range(e.ostart, e.oend):
                if o not in kept:
                    assert doc_text[o].isspace() or doc_text[o] in "()（）" or doc_text[o].isalnum()


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("供体腦死亡後氣管插 \n\t　ＡＢａb(gòng)1㎎ﬁİ.，Ｋ") + ["\u00a0", "\ud7ff"]),
               max_size=40))
def test_property_normalised_characters_map_to_their_original_character(text):
    """Each normalised character comes from the original character its map points to (NFKC, t2s, case,
    pinyin, CJK spaces, whitespace collapse), and the map is monotone and inside the text."""
    n = get_normaliser()
    nt = n.normalise(text)
    last = -1
    for a, ch in enumerate(nt.text):
        s, e = nt.orig_span(a, a + 1)
        assert 0 <= s < e <= len(text) and s >= last
        last = s
        assert ch in n.normalise(text[s:e]).text or ch in text[s:e].lower()
    if nt.text:
        s, e = nt.orig_span(0, len(nt.text))
        assert 0 <= s < e <= len(text)


# ------------------------------------------------------------------ rule pack as data
def test_every_rule_matches_its_example_and_not_its_counter_example():
    pack = load_pack()
    _, m0, _ = _components("ddr_default", "hyperscan")
    matcher = Matcher(pack, m0.scanner, m0.norm, keep_all=True)  # no pruning of cues far from anchors
    docs = []
    for r in pack.rules:
        assert r.example and r.counter_example, f"rule {r.id} needs an example and a counter-example"
        docs += [r.example, r.counter_example]
    res = matcher.match(docs)
    for k, r in enumerate(pack.rules):
        ex, cex = res[2 * k], res[2 * k + 1]
        assert any(e.rule == r.id for e in ex.events), f"{r.id} does not match its example"
        assert not any(e.rule == r.id for e in cex.events), f"{r.id} matches its counter-example"


def test_cues_far_from_any_anchor_are_pruned_but_ethics_cues_kept():
    _, matcher, _ = _components("ddr_default", "hyperscan")
    filler = "。".join(["本组资料完整"] * 300)
    text = "受者术后恢复良好。" + filler + "供者确认脑死亡后立即气管插管。" + filler + "本研究经伦理委员会批准。"
    m = matcher.match([text])[0]
    types = [e.type for e in m.events]
    assert "RECIPIENT" not in types and {"DONOR", "BD", "INT", "URGENT", "IRB"} <= set(types)


def test_fragments_expand_and_bad_pack_is_one_line_error(tmp_path):
    pack = load_pack()
    assert "确认脑死亡后" in pack.literal_strings()
    bad = tmp_path / "bad.toml"
    bad.write_text('[[rule]]\nid="x"\ntype="BD"\nterms=["{nope}"]\n', encoding="utf-8")
    from organwatch.errors import InputError

    with pytest.raises(InputError) as e:
        load_pack(bad)
    assert "nope" in str(e.value) and "\n" not in str(e.value)


# ------------------------------------------------------------------ backends
def test_hyperscan_and_re2_return_identical_hits_on_development_set():
    pack = load_pack()
    items = _lines("labelled_dev.jsonl") + _lines("labelled_heldout.jsonl")
    hs = get_scanner("hyperscan", pack.literal_strings(), pack.sha256)
    r2 = get_scanner("re2", pack.literal_strings(), pack.sha256)
    joined = "\x00".join(get_normaliser().normalise(it["text"]).text for it in items)
    results = []
    for width in (2, 4):
        buf = encode(joined, width)
        a, b = hs.scan(buf, width), r2.scan(buf, width)
        assert len(a[0]) > 500
        for x, y in zip(a, b, strict=True):
            np.testing.assert_array_equal(x, y)
        results.append(a)
    for x, y in zip(*results, strict=True):  # UTF-16 and UTF-32 buffers give the same character offsets
        np.testing.assert_array_equal(x, y)
    astral = "供者\U0001F600确认脑死亡后插管"
    for sc in (hs, r2):
        ids4, s4, e4 = sc.scan(encode(astral, 4), 4)
        assert {astral[s:e] for s, e in zip(s4, e4, strict=True)} >= {"供者", "脑死亡后"[:0] or "插管"}
    # overlapping occurrences are hits too
    ids, s, e = hs.scan(encode("插管插管"))
    assert len(ids) >= 2
    docs = [Document(it["id"], "f", i, it["text"]) for i, it in enumerate(items)]
    assert screen_chunk(docs, ScreenOptions(backend="hyperscan")) == screen_chunk(docs, ScreenOptions(backend="re2"))


# ------------------------------------------------------------------ logic
CASES = [
    ("供者确认脑死亡后，立即行气管插管，随后正中切口开胸。", "violation", "V1"),
    ("After the declaration of brain death, the donor was immediately intubated.", "violation", "V1"),
    ("供体取仰卧位，麻醉医师行气管插管，常规消毒铺巾，胸骨正中切口开胸。", "violation", "V2"),
    ("The donor was placed supine, intubated by the anesthetist, prepped and draped, and a sternotomy made.",
     "violation", "V2"),
    ("供者开胸后再行气管插管，膨肺后切取供肺。", "violation", "V3"),
    ("部分供者仅予面罩吸氧，未行气管插管，即开始获取。", "violation", "V4"),
    ("供者呼吸已停止，紧急行气管切开，插入气管导管后通气。", "violation", "V5"),
    ("供者开胸后经主动脉根部灌注冷停搏液，心脏停跳，切取供心。", "violation", "V6"),
    ("供者确认脑死亡后，接麻醉机维持呼吸，送入手术室。", "suspicious", None),
    ("The donor should be intubated as soon as brain death is declared.", "suspicious", None),
    ("供者入院后即行气管插管、机械通气，经自主呼吸激发试验及脑电图确认脑死亡后，送手术室正中切口开胸获取供心。", "compliant", None),
    ("After withdrawal of life support and a no-touch period, death was declared and the donor kidneys were retrieved.",
     "compliant", None),
    ("受者术后气管插管，24小时后拔管。", "not_applicable", None),
    ("Donor pigs were intubated and a sternotomy was performed.", "not_applicable", None),
    ("受者全身麻醉，双腔气管插管，开胸植入供肺。", "not_applicable", None),
    ("The donor was intubated after brain death and the chest was opened.", "violation", "V1"),
    ("The heart was procured after cold cardioplegia was infused through a sternotomy.", "violation", "V6"),
    ("Coronary bypass: the saphenous vein was harvested, the aorta cross-clamped and cold cardioplegia given; "
     "the old valve was explanted.", "not_applicable", None),
    ("术中切取大隐静脉，主动脉根部灌注冷停跳液，心脏停跳。", "not_applicable", None),
    ("The donor was intubated before brain death was declared; an apnea test confirmed it.", "compliant", None),
]


@pytest.mark.parametrize("text,label,pattern", CASES)
def test_passage_logic_cases(text, label, pattern):
    rec = screen_chunk([Document("d", "f", 1, text)], ScreenOptions())[0]
    assert rec["document_label"] == label, rec["passages"]
    if pattern:
        assert pattern in rec["patterns"]
    for p in rec["passages"]:
        for ev in p["events"]:
            assert text[ev["start"]:ev["end"]] == ev["text"]
        assert text[p["start"]:p["end"]] == p["text"]
        assert all(0 <= s < e <= len(text) for s, e in p["spans"])


def test_ethics_fields_and_date_plausibility():
    t = ("2006年1月至2008年12月本中心完成肝移植50例，供肝均来自公民自愿捐献。本研究经医院伦理委员会批准，"
         "受者签署知情同意书。")
    e = screen_chunk([Document("d", "f", 1, t, year=2009)], ScreenOptions())[0]["ethics"]
    assert e["date_plausibility"]["status"] == "red_flag"
    assert e["ethics_approval"] and not e["donor_consent"] and e["recipient_consent_only"]
    assert e["fails_standard"] and "donor_consent" in e["missing"]
    t2 = "All donors were voluntary donors from 2016 to 2018; next of kin gave consent for donation. No organs from executed prisoners were used."
    e2 = screen_chunk([Document("d", "f", 1, t2, year=2019)], ScreenOptions())[0]["ethics"]
    assert e2["date_plausibility"]["status"] == "plausible"
    assert e2["no_prisoner_statement"] and e2["donor_consent"] and "prisoner" not in e2["donor_source"]


def test_evaluate_scores_dev_and_heldout():
    dev = evaluate_file(DATA / "labelled_dev.jsonl")
    held = evaluate_file(DATA / "labelled_heldout.jsonl")
    assert dev["overall"]["n"] > held["overall"]["n"] > 0
    for res in (dev, held):
        pl = res["overall"]["per_label"]
        assert pl["violation"]["precision"] >= 0.8 and pl["violation"]["recall"] >= 0.6
        assert sum(sum(r.values()) for r in res["overall"]["confusion"].values()) == res["overall"]["n"]
    assert dev["overall"]["accuracy"] >= 0.85


def test_institution_from_metadata_or_affiliation_line():
    zh = Document("a", "f", 1, "供心获取体会\n\n张三（某某大学附属第一医院心脏外科，北京 100000）\n\n供者确认脑死亡后立即气管插管。")
    en = Document("b", "f", 2, "Donor hearts\n\nDepartment of Cardiac Surgery, Example University Hospital, Somecity\n\n"
                               "After brain death the donor was intubated.")
    meta = Document("c", "f", 3, "供者确认脑死亡后立即气管插管。", institution="  某医院\n移植科 ")
    recs = screen_chunk([zh, en, meta], ScreenOptions())
    assert recs[0]["institution"] == "某某大学附属第一医院"
    assert recs[1]["institution"].startswith("Department of Cardiac Surgery, Example University Hospital")
    assert recs[2]["institution"] == "某医院 移植科"


def test_dcd_category_label_makes_arrest_compliant():
    t = "本组均为DCD供者，供心经主动脉根部灌注冷停跳液后切取。"
    rec = screen_chunk([Document("d", "f", 1, t)], ScreenOptions())[0]
    assert rec["document_label"] == "compliant" and "DCD" in rec["ethics"]["donor_source"]


def test_pruning_far_cues_does_not_change_any_record():
    """Records are identical with and without dropping cues far from every anchor (long mixed documents)."""
    import random

    items = _lines("labelled_dev.jsonl") + _lines("labelled_heldout.jsonl")
    rng = random.Random(5)
    filler = ["受者术后恢复顺利。", "供者平均年龄35岁。", "The recipient was discharged. ", "Donor age was 40. ",
              "本研究经伦理委员会批准。", "数据采用统计软件分析。"]
    docs = []
    for i in range(60):
        parts = [rng.choice(filler) for _ in range(rng.randrange(5, 120))]
        for it in rng.sample(items, 3):
            parts.insert(rng.randrange(len(parts) + 1), it["text"])
        docs.append(Document(f"d{i}", "f", i + 1, "".join(parts), year=2000 + i % 20))
    _, matcher, _ = _components("ddr_default", "hyperscan")
    pruned = screen_chunk(docs, ScreenOptions())
    saved = matcher.near_window
    try:
        matcher.near_window = 0
        full = screen_chunk(docs, ScreenOptions())
    finally:
        matcher.near_window = saved
    assert sum(len(r["passages"]) for r in full) > 60
    assert pruned == full
