"""Scoring the screener against a labelled set: precision / recall / F1 per label and per pattern.

Each labelled item is screened as one document (its ``title``, when given, first, as readers compose
title and text); the predicted label is the document label and the
predicted patterns are the document's violation pattern codes. Per-pattern scores treat each code as a
binary class over items (gold = the item's ``pattern``).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from organwatch.errors import InputError
from organwatch.screen.documents import Document, compose_text
from organwatch.screen.engine import ScreenOptions, screen_chunk

LABELS = ["violation", "suspicious", "compliant", "not_applicable"]
PATTERNS = ["V1", "V2", "V3", "V4", "V5", "V6"]


def load_labelled(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        raise InputError("no such file", file=path)
    items = []
    with open(path, encoding="utf-8", errors="strict") as fh:
        try:
            lines = list(fh)
        except UnicodeDecodeError as e:
            raise InputError(f"not UTF-8 ({e.reason})", file=path) from None
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except ValueError as e:
            raise InputError(f"invalid JSON: {e}", file=path, line=n) from None
        if not isinstance(obj, dict):
            raise InputError("line is not a JSON object", file=path, line=n)
        for key in ("id", "text", "label"):
            if key not in obj:
                raise InputError(f"missing field '{key}'", file=path, line=n, column=key)
        if obj["label"] not in LABELS:
            raise InputError(f"label must be one of {', '.join(LABELS)}, not '{obj['label']}'", file=path, line=n,
                             column="label")
        if obj.get("pattern") not in (None, *PATTERNS):
            raise InputError(f"pattern must be one of {', '.join(PATTERNS)}", file=path, line=n, column="pattern")
        if not isinstance(obj["text"], str):
            raise InputError("text must be a string", file=path, line=n, column="text")
        items.append(obj)
    if not items:
        raise InputError("no labelled items", file=path)
    return items


def _prf(tp: int, fp: int, fn: int) -> dict[str, float | int]:
    p = tp / (tp + fp) if tp + fp else 0.0
    r = tp / (tp + fn) if tp + fn else 0.0
    f = 2 * p * r / (p + r) if p + r else 0.0
    return {"precision": round(p, 4), "recall": round(r, 4), "f1": round(f, 4), "support": tp + fn,
            "tp": tp, "fp": fp, "fn": fn}


def predict(items: list[dict[str, Any]], rules: str = "ddr_default", backend: str = "hyperscan"
            ) -> list[dict[str, Any]]:
    docs = [Document(document_id=str(it["id"]), file="labelled", record=i + 1,
                     text=compose_text(str(it.get("title") or ""), it["text"]), title=str(it.get("title") or ""),
                     year=it.get("year"), language=it.get("language")) for i, it in enumerate(items)]
    return screen_chunk(docs, ScreenOptions(rules=rules, backend=backend))


def score(items: list[dict[str, Any]], records: list[dict[str, Any]]) -> dict[str, Any]:
    confusion = {g: {p: 0 for p in LABELS} for g in LABELS}
    per_label = {}
    per_pattern = {}
    errors = []
    for it, rec in zip(items, records, strict=True):
        confusion[it["label"]][rec["document_label"]] += 1
        if it["label"] != rec["document_label"] or (it.get("pattern") and it.get("pattern") not in rec["patterns"]):
            errors.append({"id": it["id"], "gold": it["label"], "gold_pattern": it.get("pattern"),
                           "predicted": rec["document_label"], "predicted_patterns": rec["patterns"]})
    for lab in LABELS:
        tp = confusion[lab][lab]
        fp = sum(confusion[g][lab] for g in LABELS if g != lab)
        fn = sum(confusion[lab][p] for p in LABELS if p != lab)
        per_label[lab] = _prf(tp, fp, fn)
    for code in PATTERNS:
        tp = fp = fn = 0
        for it, rec in zip(items, records, strict=True):
            gold = it.get("pattern") == code and it["label"] == "violation"
            pred = code in rec["patterns"]
            tp += gold and pred
            fp += pred and not gold
            fn += gold and not pred
        per_pattern[code] = _prf(tp, fp, fn)
    accuracy = sum(confusion[lab][lab] for lab in LABELS) / len(items)
    return {"n": len(items), "accuracy": round(accuracy, 4), "per_label": per_label, "per_pattern": per_pattern,
            "confusion": confusion, "errors": errors}


def evaluate_file(path: Path, rules: str = "ddr_default", backend: str = "hyperscan") -> dict[str, Any]:
    items = load_labelled(Path(path))
    records = predict(items, rules, backend)
    by_language: dict[str, Any] = {}
    for lang in sorted({str(it.get("language", "und")) for it in items}):
        sub = [(it, r) for it, r in zip(items, records, strict=True) if str(it.get("language", "und")) == lang]
        by_language[lang] = score([s[0] for s in sub], [s[1] for s in sub])
    return {"file": str(path), "overall": score(items, records), "by_language": by_language}


def render_text(result: dict[str, Any]) -> str:
    lines = [f"{result['file']}: {result['overall']['n']} items, accuracy {result['overall']['accuracy']:.3f}"]

    def block(title: str, sc: dict[str, Any]) -> None:
        lines.append(f"\n{title}")
        lines.append(f"  {'class':<16}{'precision':>10}{'recall':>8}{'F1':>8}{'support':>9}")
        for lab, v in list(sc["per_label"].items()) + list(sc["per_pattern"].items()):
            lines.append(f"  {lab:<16}{v['precision']:>10.3f}{v['recall']:>8.3f}{v['f1']:>8.3f}{v['support']:>9}")
        lines.append("  confusion (rows gold, columns predicted):")
        lines.append("  " + " " * 16 + "".join(f"{p[:10]:>12}" for p in LABELS))
        for g in LABELS:
            lines.append(f"  {g:<16}" + "".join(f"{sc['confusion'][g][p]:>12}" for p in LABELS))

    block("all languages", result["overall"])
    for lang, sc in result["by_language"].items():
        block(f"language {lang} (n={sc['n']}, accuracy {sc['accuracy']:.3f})", sc)
    return "\n".join(lines)
