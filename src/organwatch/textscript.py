"""Which script a character or a text is written in: the one CJK/script helper of the project.

The ranges are defined once here and used by the readers (document language), the screener (passage language,
institution runs), the review de-duplication and the report. CJK ideographs are the Unified Ideographs
(U+4E00–U+9FFF), Extension A (U+3400–U+4DBF) and the Compatibility Ideographs (U+F900–U+FAFF); kana
U+3040–U+30FF; hangul syllables U+AC00–U+D7AF; Cyrillic U+0400–U+052F.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

CJK_RANGES: tuple[tuple[int, int], ...] = ((0x3400, 0x4DC0), (0x4E00, 0xA000), (0xF900, 0xFB00))
# the same ideograph ranges as a regular-expression character class body (for re patterns)
CJK_CLASS = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
KANA_RANGE = (0x3040, 0x3100)
HANGUL_RANGE = (0xAC00, 0xD7B0)
CYRILLIC_RANGE = (0x0400, 0x0530)
# a passage is Chinese when CJK ideographs are at least this share of its letters (each ideograph weighs as a
# word, about four Latin letters, so a Chinese passage with English terms stays Chinese)
ZH_MIN_SHARE = 0.2


def is_cjk(ch: str) -> bool:
    """True for one CJK ideograph."""
    o = ord(ch)
    return any(lo <= o < hi for lo, hi in CJK_RANGES)


@lru_cache(maxsize=1)
def _cjk_table() -> Any:
    """One boolean per code point (U+0000-U+10FFFF): True for a CJK ideograph (built on first use)."""
    import numpy as np

    table = np.zeros(0x110000, dtype=bool)
    for lo, hi in CJK_RANGES:
        table[lo:hi] = True
    return table


def cjk_mask(codepoints: Any) -> Any:
    """Vectorised :func:`is_cjk` over a numpy array of code points (one table lookup; values outside
    U+0000-U+10FFFF are not CJK)."""
    import numpy as np

    cps = np.asarray(codepoints)
    if not cps.size:
        return np.zeros(cps.shape, dtype=bool)
    return np.asarray(np.take(_cjk_table(), cps, mode="clip"))


def script_counts(text: str) -> tuple[int, int, int, int, int]:
    """(CJK ideographs, kana, hangul, Cyrillic, Latin letters) in ``text``."""
    cjk = kana = hangul = cyr = latin = 0
    for ch in text:
        o = ord(ch)
        if o < 0x80:
            if ch.isalpha():
                latin += 1
        elif any(lo <= o < hi for lo, hi in CJK_RANGES):
            cjk += 1
        elif KANA_RANGE[0] <= o < KANA_RANGE[1]:
            kana += 1
        elif HANGUL_RANGE[0] <= o < HANGUL_RANGE[1]:
            hangul += 1
        elif CYRILLIC_RANGE[0] <= o < CYRILLIC_RANGE[1]:
            cyr += 1
        elif ch.isalpha():
            latin += 1
    return cjk, kana, hangul, cyr, latin


def text_language(text: str) -> str | None:
    """ISO 639-1 language of one passage by its script: "zh" (CJK ideographs ≥ 20 % of letters), "ja" (kana),
    "ko" (hangul), "ru" (Cyrillic), "en" (Latin); None without letters."""
    return language_of_counts(script_counts(text))


def language_of_counts(counts: tuple[int, int, int, int, int]) -> str | None:
    """The decision of :func:`text_language` on (CJK, kana, hangul, Cyrillic, Latin) counts already made."""
    cjk, kana, hangul, cyr, latin = counts
    total = cjk + kana + hangul + cyr + latin
    if total == 0:
        return None
    if kana * 10 >= total:
        return "ja"
    if hangul * 5 >= total:
        return "ko"
    if cjk >= ZH_MIN_SHARE * total:
        return "zh"
    if cyr > latin:
        return "ru"
    return "en"
