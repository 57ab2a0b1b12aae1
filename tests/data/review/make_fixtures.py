"""Writes the hand-made review fixtures (invented passages, zh and en; not text from any paper).

Run from the repo root: python tests/data/review/make_fixtures.py  (the JSONL files are committed).
Offsets are computed here so spans and events index the original document text exactly.
"""

import json
from pathlib import Path

HERE = Path(__file__).parent


def passage(doc_text, passage_text, label, pattern, confidence, events, span_terms):
    start = doc_text.index(passage_text)
    evs = []
    for typ, term in events:
        a = doc_text.index(term, start)
        evs.append({"type": typ, "start": a, "end": a + len(term), "text": term})
    spans = []
    for term in span_terms:
        a = doc_text.index(term, start)
        spans.append([a, a + len(term)])
    return {"label": label, "pattern": pattern, "events": evs, "spans": spans, "confidence": confidence,
            "text": passage_text, "start": start, "end": start + len(passage_text)}


def doc(i, title, year, language, label, patterns, passages, institution=None, **extra):
    return {"document_id": f"doc-{i:03d}", "source": {"file": "invented.ris", "record": i}, "title": title,
            "year": year, "language": language, "document_label": label, "patterns": patterns,
            "passages": passages, "ethics": {"donor_source": None, "no_prisoner_statement": False,
                                             "donor_consent": None, "ethics_approval": None,
                                             "death_determination": None, "date_plausibility": None},
            "errors": [], "institution": institution, **extra}


records = []
# 1: zh, V1 (brain death stated, then intubation)
t1 = "前言。供体确认脑死亡后，立即行气管插管并接呼吸机，随后开胸取心。术后受者恢复良好。"
p1 = "供体确认脑死亡后，立即行气管插管并接呼吸机，随后开胸取心。"
records.append(doc(1, "心脏移植十二例临床分析", 2005, "zh", "violation", ["V1"],
                   [passage(t1, p1, "violation", "V1", 0.93, [("BD", "脑死亡"), ("INT", "气管插管"), ("OPEN", "开胸")],
                            ["脑死亡后", "立即行气管插管"])], institution="某大学附属第一医院"))
# 2: en, V2 (intubation as a step of the donor operation)
t2 = "Methods. The donor was placed supine, intubated by the anaesthetist, then disinfected and a median incision made."
p2 = "The donor was placed supine, intubated by the anaesthetist, then disinfected and a median incision made."
records.append(doc(2, "Procurement technique in a series of lung donors", 2008, "en", "violation", ["V2"],
                   [passage(t2, p2, "violation", "V2", 0.81, [("INT", "intubated"), ("OPEN", "median incision")],
                            ["intubated by the anaesthetist"])], institution="Example Provincial Hospital",
                   doi="10.9999/ow.test.0002"))
# 3: same paper as 2 from another database (DOI in another form) -> duplicate group
records.append(doc(3, "PROCUREMENT TECHNIQUE in a series of lung donors.", 2008, "en", "violation", ["V2"],
                   [passage(t2, p2, "violation", "V2", 0.80, [("INT", "intubated")], ["intubated"])],
                   institution="Example Provincial Hospital", doi="https://doi.org/10.9999/OW.TEST.0002"))
# 4: XSS payload in title and passage (must render inert)
t4 = "供者脑死亡后<script>window.__xss=1</script>行气管插管<img src=x onerror=\"window.__xss=2\">，随后取肝。"
records.append(doc(4, "<script>window.__xss=3</script>肝移植<img src=x onerror=\"window.__xss=4\">", 2010, "zh",
                   "violation", ["V1"],
                   [passage(t4, t4, "violation", "V1", 0.88, [("BD", "脑死亡"), ("INT", "气管插管")],
                            ["脑死亡后", "行气管插管"])], institution="<b>Hospital</b>"))
# 5 and 6: traditional vs simplified spelling of one Chinese title -> one duplicate group (no identifiers)
t5 = "供體宣布腦死亡後，以面罩給氧維持，隨即開胸。"
records.append(doc(5, "腦死亡供體器官獲取的臨床經驗", 2012, "zh", "violation", ["V4"],
                   [passage(t5, t5, "violation", "V4", 0.64, [("BD", "腦死亡"), ("MASK", "面罩"), ("OPEN", "開胸")],
                            ["面罩給氧"])]))
t6 = "供体宣布脑死亡后，以面罩给氧维持，随即开胸。"
records.append(doc(6, "脑死亡供体器官获取的临床经验", 2012, "zh", "violation", ["V4"],
                   [passage(t6, t6, "violation", "V4", 0.63, [("BD", "脑死亡"), ("MASK", "面罩")], ["面罩给氧"])]))
# 7 and 8: different Chinese-only titles: an ASCII-only key would make both empty and collide; ours keeps them apart
t7 = "供肺获取时，供者已行气管切开，随后切开胸骨。"
records.append(doc(7, "肺移植供体获取", 2015, "zh", "suspicious", ["V5"],
                   [passage(t7, t7, "suspicious", "V5", 0.41, [("INT", "气管切开"), ("OPEN", "切开胸骨")], ["气管切开"])],
                   institution="某大学附属第一医院"))
t8 = "灌注停跳液后心脏停跳，全文未描述死亡判定。"
records.append(doc(8, "肾移植术后随访", 2001, "zh", "suspicious", ["V6"],
                   [passage(t8, t8, "suspicious", "V6", 0.35, [("ARREST", "停跳液")], ["灌注停跳液后心脏停跳"])]))
# 9: compliant document without passages (kept, no hit); 10: flagged document without passages (one document hit)
records.append(doc(9, "An apnoea test protocol with repeat examination", 2019, "en", "compliant", [], []))
records.append(doc(10, "Donor management before procurement", 2011, "en", "suspicious", ["V2"], [], pmid="12345678"))
# 11: same PMID as 10 -> grouped
records.append(doc(11, "Donor management before procurement (erratum)", 2011, "en", "not_applicable", [], [],
                   pmid=" 12345678 "))
# 12: minimal record: only a document_id and one passage without text (importer must tolerate missing fields)
records.append({"document_id": "doc-012", "passages": [{"label": "suspicious", "pattern": "V3", "confidence": 0.5,
                                                        "events": [{"type": "OPEN", "start": 10, "end": 14,
                                                                    "text": "开胸"}], "spans": [[10, 14]]}]})

with open(HERE / "screen_small.jsonl", "w", encoding="utf-8", newline="\n") as fh:
    for r in records:
        fh.write(json.dumps(r, ensure_ascii=False) + "\n")

bad = [
    json.dumps({"document_id": "ok-1", "title": "A usable record", "document_label": "suspicious",
                "passages": [{"label": "suspicious", "pattern": "V1", "confidence": 0.7, "text": "after brain death",
                              "start": 0, "spans": [[6, 17]]}]}),
    '{"document_id": "broken", "title": ',  # invalid JSON
    json.dumps({"title": "no document id"}),
    json.dumps({"document_id": "bad-conf", "passages": [{"confidence": 7}]}),
    json.dumps({"document_id": "bad-span", "passages": [{"spans": [[9, 3]]}]}),
    json.dumps(["not", "an", "object"]),
    json.dumps({"document_id": "ok-2", "passages": [{"label": "violation", "pattern": "V2", "confidence": 0.9}]}),
]
(HERE / "screen_bad_records.jsonl").write_text("\n".join(bad) + "\n", encoding="utf-8")
