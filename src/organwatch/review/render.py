"""Turning a passage and its evidence spans into segments the templates escape and highlight.

Spans and event offsets index the original document; ``text_start`` is where the passage text begins in it.
Spans that fall outside the passage text are not drawn (they are kept unchanged in the project and exports).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

MAX_QUEUE_CHARS = 1500
BIDI_CONTROLS = dict.fromkeys([0x061C, 0x200E, 0x200F, *range(0x202A, 0x202F), *range(0x2066, 0x206A)])


def strip_bidi(text: object) -> str:
    """Text without bidi control characters, for places that cannot hold a ``<bdi>`` (the page ``<title>``, the
    report's finding titles); everywhere else free text is wrapped in ``<bdi>`` so that an override cannot
    reorder the page around it."""
    return str(text).translate(BIDI_CONTROLS)


def passage_segments(text: str | None, text_start: int | None, spans: Sequence[Sequence[int]] | None,
                     events: Sequence[dict[str, Any]] | None = None,
                     limit: int | None = None) -> list[tuple[str, str | None]]:
    """[(text, kind)], kind None (plain), "span" (evidence span) or "event:<type>" (an event without a span).

    ``limit`` shortens long passages around the first highlighted span (with "…" marks).
    """
    if not text:
        return []
    base = text_start or 0
    n = len(text)
    marks: list[tuple[int, int, str]] = []
    for s in spans or []:
        a, b = int(s[0]) - base, int(s[1]) - base
        a, b = max(a, 0), min(b, n)
        if a < b:
            marks.append((a, b, "span"))
    for e in events or []:
        if e.get("start") is None or e.get("end") is None:
            continue
        a, b = int(e["start"]) - base, int(e["end"]) - base
        a, b = max(a, 0), min(b, n)
        if a < b:
            marks.append((a, b, f"event:{e.get('type') or ''}"))
    # per character: evidence spans win over event marks
    kinds: list[str | None] = [None] * n if marks else []
    for a, b, k in sorted(marks, key=lambda m: m[2] == "span"):
        for i in range(a, b):
            kinds[i] = k
    lo, hi = 0, n
    if limit is not None and n > limit:
        first = min((m[0] for m in marks), default=0)
        lo = max(0, first - limit // 3)
        hi = min(n, lo + limit)
    segs: list[tuple[str, str | None]] = []
    if lo > 0:
        segs.append(("…", None))
    i = lo
    while i < hi:
        kind = kinds[i] if kinds else None
        j = i + 1
        while j < hi and (kinds[j] if kinds else None) == kind:
            j += 1
        segs.append((text[i:j], kind))
        i = j
    if hi < n:
        segs.append(("…", None))
    return segs
