"""Seeded generator of a synthetic mixed zh/en transplant-literature corpus (JSONL) for screen benchmarks.

Text is assembled from sentence pieces written for this benchmark (no copied text). Written to a temp
directory by the benchmarks; never committed.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

ZH = ["本组供者均经两名医师判定脑死亡。", "受者术后恢复顺利，24小时后拔管。", "供心经主动脉根部灌注4℃停跳液后切取。",
      "供者确认脑死亡后，立即行气管插管，随后正中切口开胸。", "本研究经医院伦理委员会批准。", "患者血压稳定，心率80次/分。",
      "移植后1年生存率为85%。", "术后并发症包括感染和排斥反应。", "供肺获取后冷保存，运输时间3小时。", "数据采用SPSS软件分析。"]
EN = ["All donors were declared brain dead by two physicians.", "The recipient was extubated after 24 hours.",
      "The donor heart was arrested with cold cardioplegia.", "After brain death the donor was immediately intubated.",
      "The study was approved by the institutional review board.", "Blood pressure remained stable throughout.",
      "One-year survival was 85 percent.", "Complications included infection and rejection.",
      "Statistical analysis used standard software.", "Cold ischemia time averaged three hours."]


def generate(path: Path, n_docs: int, avg_chars: int, seed: int = 20261122) -> int:
    rng = random.Random(seed)
    total = 0
    with open(path, "w", encoding="utf-8") as fh:
        for i in range(n_docs):
            zh = rng.random() < 0.5
            pool = ZH if zh else EN
            target = int(avg_chars * (0.5 + rng.random()))
            parts, n = [], 0
            while n < target:
                s = pool[rng.randrange(len(pool))] if rng.random() < 0.3 else pool[5 + rng.randrange(5)]
                parts.append(s)
                n += len(s)
            text = ("" if zh else " ").join(parts)
            line = json.dumps({"id": f"d{i}", "title": f"doc {i}", "year": 1995 + i % 25, "text": text},
                              ensure_ascii=False)
            fh.write(line + "\n")
            total += len(line.encode("utf-8")) + 1
    return total
