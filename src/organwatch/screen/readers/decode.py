"""Byte decoding for text inputs: UTF-8 (with BOM), UTF-16 with BOM, then GB18030 and Big5, else
charset-normalizer; undecodable bytes are replaced and the replacement is reported, never a crash."""

from __future__ import annotations

import codecs


def decode_bytes(data: bytes) -> tuple[str, str | None]:
    """(text, note). The note names the encoding guessed or the replacement made (information, not an error)."""
    if data.startswith(codecs.BOM_UTF8):
        data = data[3:]
    elif data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            return data.decode("utf-16"), None
        except UnicodeDecodeError:
            pass
    try:
        return data.decode("utf-8"), None
    except UnicodeDecodeError:
        pass
    best: tuple[int, str, str] | None = None
    for enc in ("gb18030", "big5"):
        try:
            text = data.decode(enc)
        except UnicodeDecodeError:
            continue
        score = sum(1 for ch in text[:20000] if ch in _COMMON)
        if best is None or score > best[0]:
            best = (score, enc, text)
    if best is not None:
        return best[2], f"decoded as {best[1]}"
    return data.decode("utf-8", "replace"), "invalid UTF-8 bytes replaced"


# frequent characters in simplified and traditional clinical Chinese, used to choose GB18030 vs Big5
_COMMON = frozenset(
    "的一是在不了有和人这中大为上个国我以要他时来用们生到作地于出就分对成会可主发年动同工也能下过子说产种面而方后多定行学"
    "法所民得经十三之进着等部度家电力里如水化高自二理起小物现实加量都两体制机当使点从业本去把性好应开合还因由其些然前外"
    "天日那事平形相全表间样与关各重新线内数正心反明看原又利比或但质气第向此变条只没结解问意建月无系情者最立代想已通并"
    "提直题程展五果料象员位入常文总次品式活设及管特件长求老头基资边流路级少图统接知较将组见计别手角期根论运指几区强放"
    "决西被做必先回则任取据处南给色光门即保治北造百规热领七口东导器压世金增争济思术极交受联认六共权收证改清己美再采转"
    "更单风切打白教速带安场身车例真务具万每目至达走积示议声报完类八离名确才科张信节话米整空元况今集温传土许步群广石记"
    "需段研界拉林律且究观越织装影算低持音众书布复容须际商非验连断深难近千周素技备半办青省列习响约支般史感便团往历市何"
    "除消构府称太准精值号率族维划选标写存候亲快效院查型眼按格养易置派层片始却专状育厂识适属圆包火住调满县局照参红细引听"
    "该价严飞患者术后移植供体肺心肝肾脑死亡插管呼吸例医")
_COMMON = _COMMON | frozenset("這為個國來們時於對會發動過說產種後學經當從業點現實體機應開還進麼裡與關間樣條數題總東導書"
                              "術腦氣管醫資邊級圖統較組見計別論運區強決處給門規熱領壓爭濟極聯認權證採轉單風場車務萬積議聲報"
                              "類離確張話溫傳許記須際驗連斷難歷價嚴飛患移植供體肺臟腎例")


def choose_encoding(head: bytes) -> tuple[str, str | None]:
    """Encoding for a streamed text file from its first bytes: UTF-8 (a character cut at the end of ``head`` is
    allowed), else GB18030 or Big5 as :func:`decode_bytes` chooses; (codec name, note or None)."""
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig", None
    try:
        head.decode("utf-8")
        return "utf-8", None
    except UnicodeDecodeError as e:
        if e.start >= len(head) - 4 and e.reason == "unexpected end of data":
            return "utf-8", None
    _text, note = decode_bytes(head)
    enc = (note or "").removeprefix("decoded as ").strip()
    if enc in ("gb18030", "big5"):
        return enc, note
    return "utf-8", "invalid UTF-8 bytes replaced"
