"""Decoding order, superset mappings, wrong Western declarations, and visible text with its offset map."""

from __future__ import annotations

import codecs

import pytest

from organwatch.ads.decoding import canonical, decode
from organwatch.ads.text import html_text

GBK_ONLY = "主任王镕堃：肝移植等待时间约两周。"  # 镕 and 堃 are in GBK, not in GB2312


@pytest.mark.parametrize("label,codec", [("gb2312", "gb18030"), ("GBK", "gb18030"), ("big5", "cp950"),
                                         ("Shift_JIS", "cp932"), ("EUC-KR", "cp949"), ("ISO-8859-1", "cp1252"),
                                         ("utf8", "utf-8"), ("no-such-charset", None)])
def test_superset_mappings(label, codec):
    assert canonical(label) == codec


def test_gbk_bytes_declared_gb2312_decode_without_mojibake():
    data = f'<meta charset="gb2312"><p>{GBK_ONLY}</p>'.encode("gbk")
    with pytest.raises(UnicodeDecodeError):
        data.decode("gb2312")
    text, codec, source = decode(data)
    assert (codec, source) == ("gb18030", "meta") and GBK_ONLY in text


def test_header_comes_before_meta():
    data = '<meta charset="big5"><p>肝移植</p>'.encode()
    text, codec, source = decode(data, "text/html; charset=utf-8")
    assert (codec, source) == ("utf-8", "header") and "肝移植" in text


def test_wrong_declaration_falls_through_to_the_next_step():
    data = '<p>肝移植等待时间</p>'.encode()
    # declared Shift_JIS, but the bytes are UTF-8: the strict decode fails, meta is absent, no BOM, detection
    text, codec, source = decode(data, "text/html; charset=shift_jis")
    assert "肝移植等待时间" in text and source == "detected"


def test_western_declaration_on_cjk_bytes_is_not_trusted():
    data = ("<html><body><p>" + "肝移植等待时间约两周，费用约二十五万元。" * 5 + "</p></body></html>").encode("gbk")
    text, codec, source = decode(data, "text/html; charset=iso-8859-1")
    assert "肝移植" in text and codec == "gb18030"


def test_bom_then_detection():
    text, codec, source = decode(codecs.BOM_UTF8 + "<p>腎臟移植</p>".encode())
    assert source == "bom" and "腎臟移植" in text
    text, codec, source = decode(("<p>" + "腎臟移植等候時間一般為一至兩個月。" * 4 + "</p>").encode("big5"))
    assert source == "detected" and "腎臟移植" in text


@pytest.mark.parametrize("enc,page", [
    ("cp932", "① 肝臓移植：待機期間は1週間以内です。"),
    ("cp949", "똠방 상담실: 신장 이식 대기 기간은 1~2주입니다."),  # 똠 is a CP949 extension syllable
])
def test_extension_characters(enc, page):
    label = {"cp932": "shift_jis", "cp949": "euc-kr"}[enc]
    text, codec, _ = decode(f'<meta charset="{label}"><p>{page}</p>'.encode(enc))
    assert codec == enc and page in text


def test_visible_text_keeps_cells_and_maps_back_to_the_page():
    page = ('<html><head><title>价格</title><script>var t="肝 1周";</script></head><body><table>\n'
            '<tr><th>器官</th><th>等待</th></tr>\n<tr><td>肝&nbsp;脏</td><td>1-2周</td></tr></table>'
            '<!-- 肾 2周 --><p>费用 &amp; 服务</p></body></html>')
    v = html_text(page)
    assert "var t" not in v.text and "肾 2周" not in v.text
    assert "\t器官\t等待\n" in v.text and "\t肝 脏\t1-2周\n" in v.text  # one line per row, a tab opens each cell
    i = v.text.index("1-2周")
    a, b = v.page_span(i, i + 4)
    assert page[a:b] == "1-2周"
    j = v.text.index("肝 脏")
    a, b = v.page_span(j, j + 3)
    assert page[a:b] == "肝&nbsp;脏"  # an entity maps to its whole reference
    k = v.text.index("&")
    assert page[slice(*v.page_span(k, k + 1))] == "&amp;"


@pytest.mark.parametrize("enc,text", [
    ("gbk", "肝移植等待时间约两周，费用约25万元。"),
    ("big5", "腎臟移植等候時間一般為1-2個月，費用約6萬美元。"),
    ("cp932", "肝臓移植の待機期間は1週間以内です。"),
    ("cp949", "신장 이식 대기 기간은 1~2주입니다."),
])
def test_short_undeclared_pages_are_detected_without_mojibake(enc, text):
    out, codec, source = decode(f"<html><body><p>{text}</p></body></html>".encode(enc))
    assert source == "detected" and text in out


def test_utf8_bytes_declared_gb2312_are_read_as_utf8():
    data = '<meta charset="gb2312"><p>肝移植等待时间约两周，费用约25万元。</p>'.encode()
    text, codec, source = decode(data, "text/html; charset=gb2312")
    assert codec == "utf-8" and "肝移植等待时间约两周" in text
