"""The issue-12 classes on the labelled development set: every class in both languages (English variants:
English only), at least 15 hand-written cases each, every case labelled as written."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from organwatch.screen.evaluate import predict

DATA = Path(__file__).parent / "data" / "screen"
ITEMS = [json.loads(x) for x in (DATA / "labelled_dev.jsonl").read_text("utf-8").splitlines() if x.strip()]
CLASSES = [it for it in ITEMS if isinstance(it.get("class"), int)]
BOUNDARY = "。；，、：.;,:!?！？"
NAMES = {1: "no donor word near the airway event (document context)", 2: "recipient mentions in donor passages",
         3: "procurement described by its steps", 4: "mask ventilation with pressure", 5: "English variants",
         6: "DCD guard", 7: "words that are not organ donors", 8: "criteria and determination cues out of context",
         11: "passage windows at boundaries", 12: "recipient, animal and living-donor text beside donor words"}


def test_at_least_15_cases_per_class_and_language():
    n = Counter((it["class"], it["language"]) for it in CLASSES)
    for cls in NAMES:
        langs = ("en",) if cls == 5 else ("zh", "en")
        for lang in langs:
            assert n[(cls, lang)] >= 15, (NAMES[cls], lang, n[(cls, lang)])


@pytest.fixture(scope="module")
def predicted() -> dict[str, dict]:
    return {it["id"]: r for it, r in zip(CLASSES, predict(CLASSES), strict=True)}


@pytest.mark.parametrize("cls", sorted(NAMES))
@pytest.mark.parametrize("lang", ["zh", "en"])
def test_class_cases(cls, lang, predicted):
    cases = [it for it in CLASSES if it["class"] == cls and it["language"] == lang]
    if cls == 5 and lang == "zh":
        assert not cases
        return
    wrong = []
    for it in cases:
        rec = predicted[it["id"]]
        ok = rec["document_label"] == it["label"] and (not it.get("pattern") or it["pattern"] in rec["patterns"])
        if not ok:
            wrong.append((it["id"], it["label"], it.get("pattern"), rec["document_label"], rec["patterns"]))
        if cls == 11:  # the record's passage windows start and end at a boundary of the text
            full = _text(it)
            for p in rec["passages"]:
                a, b = p["start"], p["end"]
                assert a == 0 or full[a - 1] in BOUNDARY or full[a - 1].isspace(), full[max(0, a - 5):a + 5]
                assert b == len(full) or full[b - 1] in BOUNDARY or full[b].isspace(), full[b - 5:b + 5]
    assert not wrong, wrong


def _text(it: dict) -> str:
    return f"{it['title']}\n\n{it['text']}" if it.get("title") else it["text"]


# scores of the held-out third measured before issue 12 (pack 2026.11.1, `organwatch evaluate`, 1 Dec 2026),
# written down by hand: (precision, recall) per label, overall and per language
BASELINE = {"all": {"violation": (1.0, 0.892), "suspicious": (1.0, 1.0), "compliant": (1.0, 0.8),
                    "not_applicable": (0.824, 1.0)},
            "zh": {"violation": (1.0, 0.947), "suspicious": (1.0, 1.0), "compliant": (1.0, 1.0),
                   "not_applicable": (0.933, 1.0)},
            "en": {"violation": (1.0, 0.833), "suspicious": (1.0, 1.0), "compliant": (1.0, 0.6),
                   "not_applicable": (0.737, 1.0)}}


def test_heldout_scores_not_below_the_baseline():
    from organwatch.screen.evaluate import evaluate_file

    res = evaluate_file(DATA / "labelled_heldout.jsonl")
    for part, base in BASELINE.items():
        sc = res["overall"] if part == "all" else res["by_language"][part]
        for label, (p, r) in base.items():
            got = sc["per_label"][label]
            assert got["precision"] >= p - 1e-3 and got["recall"] >= r - 1e-3, (part, label, got)
    assert res["overall"]["accuracy"] >= 0.926
