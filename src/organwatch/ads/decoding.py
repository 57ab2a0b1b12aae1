"""Bytes to text for archived pages, in a documented order, with the superset mappings real pages need.

Order (docs/ads.md "Decoding"): 1. the charset of the HTTP ``Content-Type`` header (or the MHTML part header); 2.
a ``<meta charset>`` / ``<meta http-equiv="Content-Type">`` declaration in the first 4 KiB; 3. a byte-order mark;
4. detection with charset-normalizer (when its reading contains characters a wrong CJK decoding typically
produces, such as Hangul compatibility jamo or half-width katakana, the strict decoding among UTF-8, GB18030,
CP950, CP932, EUC-JP and CP949 with the fewest of them is used); 5. UTF-8 with replacement characters (reported as
``utf-8-replace``). A declared charset is used only if the bytes decode with it without error; otherwise the next
step is tried. A declared single-byte Western charset (ISO-8859-1, windows-1252, ASCII) on bytes that decode
strictly as UTF-8, or that charset-normalizer reads as a CJK encoding, is treated as a wrong declaration (old
Chinese sites often declared ISO-8859-1 for GBK pages), and so is a declared legacy CJK charset on bytes that are
valid multi-byte UTF-8 (legacy CJK text is practically never valid UTF-8), so that no mojibake is produced. Labels
are mapped to the supersets browsers use: gb2312/gbk -> gb18030, big5 -> cp950 (with the HKSCS fallback
big5hkscs), shift_jis -> cp932, euc-kr -> cp949, iso-8859-1/ascii -> cp1252.
"""

from __future__ import annotations

import codecs
import re

SUPERSETS = {
    "gb2312": "gb18030", "gbk": "gb18030", "x-gbk": "gb18030", "gb_2312-80": "gb18030", "euc-cn": "gb18030",
    "hz-gb-2312": "hz", "big5": "cp950", "big5-tw": "cp950", "x-x-big5": "cp950", "cp950": "cp950",
    "shift_jis": "cp932", "shift-jis": "cp932", "sjis": "cp932", "x-sjis": "cp932", "ms_kanji": "cp932",
    "windows-31j": "cp932", "euc-kr": "cp949", "euc_kr": "cp949",
    "ks_c_5601-1987": "cp949", "ksc5601": "cp949", "uhc": "cp949",
    "iso-8859-1": "cp1252", "latin1": "cp1252", "latin-1": "cp1252", "us-ascii": "cp1252", "ascii": "cp1252",
    "iso8859-1": "cp1252", "unicode": "utf-16", "utf8": "utf-8", "x-euc-jp": "euc_jp",
}
FALLBACKS = {"cp950": ("big5hkscs",)}
WESTERN = {"cp1252"}
CJK_CODECS = {"gb18030", "cp950", "big5hkscs", "cp932", "euc_jp", "cp949", "euc_kr", "hz", "iso2022_jp", "utf_8",
              "big5", "gb2312", "gbk", "shift_jis", "euc-kr", "johab", "utf-8"}
BOMS = ((codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF32_LE, "utf-32"), (codecs.BOM_UTF32_BE, "utf-32"),
        (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16"))
_HEADER_CS = re.compile(rb"charset\s*=\s*[\"']?\s*([A-Za-z0-9_.:\-]+)", re.I)
_META = re.compile(rb"<meta[^>]+?charset\s*=\s*[\"']?\s*([A-Za-z0-9_.:\-]+)", re.I)
DETECT_BYTES = 1 << 16  # charset-normalizer looks at this much of the page


def canonical(label: str | None) -> str | None:
    """The Python codec for a charset label, with superset mappings; None if unknown."""
    if not label:
        return None
    low = label.strip().strip("\"'").lower()
    low = SUPERSETS.get(low, low)
    try:
        name = codecs.lookup(low).name
    except LookupError:
        return None
    return SUPERSETS.get(name, name)


def header_charset(content_type: str | bytes | None) -> str | None:
    if not content_type:
        return None
    raw = content_type.encode("latin-1", "replace") if isinstance(content_type, str) else content_type
    m = _HEADER_CS.search(raw)
    return m.group(1).decode("ascii", "replace") if m else None


def meta_charset(data: bytes) -> str | None:
    m = _META.search(data[:4096])
    return m.group(1).decode("ascii", "replace") if m else None


def bom_charset(data: bytes) -> str | None:
    for bom, name in BOMS:
        if data.startswith(bom):
            return name
    return None


def detect(data: bytes) -> str | None:
    from charset_normalizer import from_bytes

    best = from_bytes(data[:DETECT_BYTES]).best()
    return canonical(best.encoding) if best is not None else None


def _is_utf8(data: bytes) -> bool:
    """Valid UTF-8 with at least a few multi-byte sequences."""
    if sum(1 for b in data[:DETECT_BYTES] if b >= 0x80) < 6:
        return False
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _try(data: bytes, codec: str) -> str | None:
    for c in (codec, *FALLBACKS.get(codec, ())):
        try:
            return data.decode(c)
        except (UnicodeDecodeError, LookupError):
            continue
    return None


def _western_is_wrong(data: bytes) -> str | None:
    """For a declared Western single-byte charset: the codec the bytes really are in, if clearly not Western."""
    high = sum(1 for b in data[:DETECT_BYTES] if b >= 0x80)
    if high < 8:
        return None
    try:
        data.decode("utf-8")
        return "utf-8"
    except UnicodeDecodeError:
        pass
    found = detect(data)
    return found if found and found not in WESTERN and found.replace("-", "_") in CJK_CODECS else None


# characters that a wrong CJK decoding produces and real pages rarely contain: Hangul compatibility jamo (EUC-JP
# kana read as EUC-KR), half-width katakana, private use, CJK extension A, C1 controls, replacement characters
_IMPLAUSIBLE = re.compile("[\u3130-\u318f\uff61-\uff9f\ue000-\uf8ff\u3400-\u4dbf\u0080-\u009f\ufffd]")
_KANA = re.compile("[\u3041-\u3096\u30a1-\u30fa]")
CANDIDATES = ("utf-8", "gb18030", "cp950", "cp932", "euc_jp", "cp949")


def _plausible(data: bytes, detected: str, text: str) -> tuple[str, str]:
    """For a detected (undeclared) charset: the strict decoding with the fewest implausible characters."""
    best = (_penalty(text, detected), detected, text)
    if best[0] == 0:
        return text, detected
    for codec in CANDIDATES:
        if codec == detected:
            continue
        other = _try(data, codec)
        if other is None:
            continue
        bad = _penalty(other, codec)
        if bad < best[0]:
            best = (bad, codec, other)
    return best[2], best[1]


def _penalty(text: str, codec: str) -> int:
    """Implausible characters x 2, plus 1 when kana appear but the codec is not a Japanese one (GB2312 and
    EUC-JP share the kana rows, so EUC-JP read as GB18030 shows correct kana with wrong kanji)."""
    head = text[:20000]
    kana = codec not in ("cp932", "euc_jp", "shift_jis", "euc_jis_2004") and bool(_KANA.search(head))
    return 2 * len(_IMPLAUSIBLE.findall(head)) + int(kana)


def decode(data: bytes, content_type: str | bytes | None = None) -> tuple[str, str, str]:
    """(text, codec used, where the charset came from: header / meta / bom / detected / fallback)."""
    steps = (("header", lambda: header_charset(content_type)), ("meta", lambda: meta_charset(data)),
             ("bom", lambda: bom_charset(data)), ("detected", lambda: detect(data)))
    for source, get in steps:
        codec = canonical(get())
        if codec is None:
            continue
        if source in ("header", "meta") and codec not in WESTERN and not codec.startswith("utf") and \
                _is_utf8(data):
            # a legacy declaration on bytes that are valid multi-byte UTF-8 (a server default, or a page
            # re-saved as UTF-8): legacy CJK text is practically never valid UTF-8, so UTF-8 it is
            return data.decode("utf-8"), "utf-8", "detected"
        if codec in WESTERN and source in ("header", "meta"):
            real = _western_is_wrong(data)
            if real is not None:
                text = _try(data, real)
                if text is not None:
                    return text, real, "detected"
        text = _try(data, codec)
        if text is not None:
            if source == "detected":
                text, codec = _plausible(data, codec, text)
            return text, codec, source
    return data.decode("utf-8", "replace"), "utf-8-replace", "fallback"
