"""Seeded generator of a synthetic mixed zh/en transplant-literature corpus (JSONL) for screen benchmarks.

Sentences were written for this benchmark (no copied text). Most sentences are ordinary clinical prose;
about one in fifteen mentions donors, recipients or ethics, and each document carries 0-3 procedure
passages drawn from violation, suspicious, compliant and out-of-domain shapes, so the rule logic runs on
every document. Written to a temp directory by the benchmarks; never committed.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

FILL_ZH = ["患者一般情况良好，生命体征平稳。", "术后随访时间为6至48个月。", "两组间差异有统计学意义(P<0.05)。",
           "数据采用SPSS 22.0软件进行统计分析。", "本组病例的平均年龄为42岁。", "术中出血量平均为350毫升。",
           "免疫抑制方案采用他克莫司联合霉酚酸酯。", "急性排斥反应的发生率为12%。", "移植物功能恢复良好。",
           "冷缺血时间平均为4小时。", "表2列出了各组的基线特征。", "感染是术后早期死亡的主要原因。",
           "血肌酐水平在术后第7天恢复正常。", "本研究的局限性在于样本量较小。", "超声检查未见血管并发症。"]
CUE_ZH = ["供者平均年龄为35岁。", "受者术后转入监护室。", "本研究经医院伦理委员会批准。", "供肝质量评估采用病理活检。",
          "受者均签署知情同意书。", "供体来源于公民逝世后器官捐献。", "供肾冷保存于UW液中。"]
PROC_ZH = ["供者确认脑死亡后，立即行气管插管，随后正中切口开胸，灌注停跳液。",
           "供体取仰卧位，麻醉医师行气管插管，常规消毒铺巾，胸骨正中切口开胸。",
           "供者入院后即行气管插管、机械通气，经自主呼吸激发试验及脑电图确认脑死亡后，送手术室开胸获取供心。",
           "供者面罩给氧，送入手术室后正中切口开胸。", "受者术后气管插管，24小时后拔管。",
           "供者撤除生命支持后心脏停搏，观察5分钟后宣布死亡，随后开腹获取供肝。",
           "供者确认脑死亡后，接麻醉机维持呼吸，送入手术室。"]
FILL_EN = ["General condition and vital signs were stable.", "Follow-up ranged from 6 to 48 months.",
           "The difference between groups was significant (P < 0.05).", "Data were analysed with standard software.",
           "Mean age in this series was 42 years.", "Mean blood loss was 350 ml.",
           "Immunosuppression combined tacrolimus and mycophenolate.", "Acute rejection occurred in 12 percent.",
           "Graft function recovered well.", "Mean cold ischemia time was four hours.",
           "Table 2 lists the baseline characteristics.", "Infection was the main cause of early death.",
           "Serum creatinine normalised by day seven.", "The sample size of this study is small.",
           "Ultrasound showed no vascular complication."]
CUE_EN = ["Mean donor age was 35 years.", "Recipients were transferred to the intensive care unit.",
          "The institutional review board approved the study.", "Donor liver quality was assessed by biopsy.",
          "All recipients gave informed consent.", "Organs came from voluntary donation.",
          "Donor kidneys were stored in cold solution."]
PROC_EN = ["After brain death was confirmed, the donor was immediately intubated and a median sternotomy was performed.",
           "The donor was placed supine, intubated by the anesthetist, prepped and draped, and the chest was opened.",
           "The donor had been intubated in the ICU; an apnea test and EEG confirmed brain death before procurement.",
           "The donor received oxygen by face mask and a sternotomy followed.",
           "The recipient was extubated 24 hours after transplantation.",
           "After withdrawal of life support and a no-touch period, death was declared and the donor kidneys were retrieved.",
           "After brain death, ventilation was maintained with an anesthesia machine and the donor was moved to theatre."]


def generate(path: Path, n_docs: int, avg_chars: int, seed: int = 20261122, avg_bytes: int | None = None) -> int:
    """Write ``n_docs`` JSONL records averaging ``avg_chars`` characters of text (or, with ``avg_bytes``,
    that many UTF-8 bytes of text: a third as many characters for Chinese); returns bytes written."""
    rng = random.Random(seed)
    total = 0
    with open(path, "w", encoding="utf-8") as fh:
        for i in range(n_docs):
            zh = rng.random() < 0.5
            fill, cue, proc = (FILL_ZH, CUE_ZH, PROC_ZH) if zh else (FILL_EN, CUE_EN, PROC_EN)
            base = avg_chars if avg_bytes is None else (avg_bytes // 3 if zh else avg_bytes)
            target = int(base * (0.5 + rng.random()))
            parts: list[str] = []
            n = 0
            while n < target:
                s = cue[rng.randrange(len(cue))] if rng.random() < 0.07 else fill[rng.randrange(len(fill))]
                parts.append(s)
                n += len(s) + 1
            for _ in range(rng.randrange(4)):
                parts.insert(rng.randrange(len(parts) + 1), proc[rng.randrange(len(proc))])
            text = ("" if zh else " ").join(parts)
            line = json.dumps({"id": f"d{i}", "title": f"doc {i}", "year": 1995 + i % 25, "text": text},
                              ensure_ascii=False)
            fh.write(line + "\n")
            total += len(line.encode("utf-8")) + 1
    return total
