"""Synthetic `organwatch screen` result files for the review benchmarks (invented text, zh and en).

    python benchmarks/review_synth.py OUT.jsonl --documents 80000 --passages 1 [--seed 7]

Deterministic for a given seed. Titles are unique per document except for a planted share of duplicates
(same DOI, or the same Chinese title in traditional characters), so de-duplication has work to do.
"""

from __future__ import annotations

import argparse
import json
import random
from pathlib import Path
from typing import Any

ZH = ["供体确认脑死亡后，立即行气管插管并接呼吸机，随后开胸取心。", "供者体位摆好后行气管插管，消毒铺巾，正中切口开胸。",
      "开胸同时行气管插管，心脏颜色由紫转红。", "供体以面罩给氧维持，随即劈开胸骨。", "灌注停跳液后心脏停跳，随后切取供肝。",
      "供体宣布脑死亡，经呼吸暂停试验确认，呼吸机维持。"]
EN = ["After brain death was declared the donor was intubated and ventilated, then the chest was opened.",
      "The donor was positioned, intubated by the anaesthetist, disinfected and a median sternotomy made.",
      "Mask oxygen was given to the donor before the sternal incision.",
      "Cardioplegia was infused and the heart arrested; no determination of death is described."]
PATTERNS = ["V1", "V2", "V3", "V4", "V5", "V6"]
INSTITUTIONS = [f"Hospital {i:03d}" for i in range(120)] + [f"第{i}人民医院" for i in range(1, 81)]
ZH_TITLE_CHARS = "心肝肾肺移植供体获取临床分析研究经验报告手术术后随访例病例观察技术改良应用评价探讨"


def make(n_docs: int, passages: int, seed: int = 7):
    rng = random.Random(seed)
    for i in range(n_docs):
        zh = rng.random() < 0.6
        if zh:
            title = "".join(rng.choice(ZH_TITLE_CHARS) for _ in range(10)) + f"{i}"
        else:
            title = f"Procurement series {i}: " + " ".join(rng.choice(["donor", "heart", "liver", "lung", "kidney",
                                                                       "outcome", "technique"]) for _ in range(5))
        rec: dict[str, Any] = {"document_id": f"syn-{i:07d}", "source": {"file": "synthetic", "record": i}, "title": title,
               "year": rng.randint(1995, 2024), "language": "zh" if zh else "en",
               "document_label": rng.choice(["violation", "suspicious"]), "patterns": [],
               "institution": rng.choice(INSTITUTIONS), "errors": [], "passages": []}
        if rng.random() < 0.02 and i > 0:  # planted duplicates
            rec["doi"] = f"10.9999/syn.{i - 1}"
        elif rng.random() < 0.5:
            rec["doi"] = f"10.9999/syn.{i}"
        offset = 0
        for _ in range(passages):
            text = rng.choice(ZH if zh else EN)
            pat = rng.choice(PATTERNS)
            a = offset + rng.randint(0, max(0, len(text) // 2))
            rec["passages"].append({"label": rec["document_label"], "pattern": pat, "confidence": round(rng.random(), 4),
                                    "events": [{"type": "BD", "start": a, "end": a + 3, "text": text[a - offset:a - offset + 3]}],
                                    "spans": [[a, a + 6]], "text": text, "start": offset, "end": offset + len(text)})
            rec["patterns"].append(pat)
            offset += len(text) + 1
        yield rec


def write(path: Path, n_docs: int, passages: int = 1, seed: int = 7) -> Path:
    with open(path, "w", encoding="utf-8") as fh:
        for rec in make(n_docs, passages, seed):
            fh.write(json.dumps(rec, ensure_ascii=False))
            fh.write("\n")
    return path


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out", type=Path)
    ap.add_argument("--documents", type=int, default=80_000)
    ap.add_argument("--passages", type=int, default=1)
    ap.add_argument("--seed", type=int, default=7)
    a = ap.parse_args()
    write(a.out, a.documents, a.passages, a.seed)
