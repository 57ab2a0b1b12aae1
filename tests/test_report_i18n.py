"""The Chinese edition: every fixed string has a translation, the page declares its language, figures are identical."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest
from babel.messages.pofile import read_po

from organwatch.report import i18n

PLACEHOLDER = re.compile(r"%\([a-z0-9_]+\)s|%%")


@pytest.fixture(scope="module")
def catalog():
    with i18n.catalog_path("zh").open("rb") as fh:
        return read_po(fh, locale="zh_Hans")


def test_every_fixed_string_has_a_chinese_translation(catalog):
    missing = [m for m in i18n.extract_messages() if not (catalog.get(m) and catalog.get(m).string)]
    assert missing == [], f"add these to {i18n.catalog_path('zh')}: {missing}"


def test_translations_keep_their_placeholders(catalog):
    for msg in catalog:
        if not msg.id:
            continue
        assert sorted(PLACEHOLDER.findall(msg.id)) == sorted(PLACEHOLDER.findall(msg.string)), msg.id
        assert re.search(r"[\u4e00-\u9fff\u3000-\u303f\uff00-\uffef]", msg.string) or msg.id in ("Download SVG",), msg.id


def test_gettext_switches_language_and_back():
    assert i18n.gettext("Briefing") == "Briefing"
    with i18n.use("zh"):
        assert i18n.gettext("Briefing") == "简报"
        assert i18n.html_lang() == "zh-Hans"
        assert i18n.format_date("2023-09-01") == "2023年9月1日"
    assert i18n.gettext("Briefing") == "Briefing"
    assert i18n.format_date("2023-09-01") == "1 September 2023"
    with pytest.raises(ValueError), i18n.use("fr"):
        pass


def _report(tmp_path, *args):
    p = subprocess.run([sys.executable, "-m", "organwatch", "report", *args, "--date", "2026-01-01"],
                       capture_output=True, text=True, cwd=tmp_path, timeout=900)
    assert p.returncode == 0, p.stderr
    return p


def test_chinese_report_has_identical_figures(tmp_path):
    _report(tmp_path, "--out", "en.html", "--findings", "en.json")
    _report(tmp_path, "--lang", "zh", "--out", "zh.html", "--findings", "zh.json")
    assert (tmp_path / "en.json").read_bytes() == (tmp_path / "zh.json").read_bytes()
    zh = (tmp_path / "zh.html").read_text(encoding="utf-8")
    en = (tmp_path / "en.html").read_text(encoding="utf-8")
    assert '<html lang="zh-Hans">' in zh and '<html lang="en">' in en
    assert "<h2>简报</h2>" in zh and "<h2>Briefing</h2>" in en
    # the briefing's figures (three characters or more: counts, totals, R², years) are the same in both editions;
    # day and month numbers of dates are written differently ("1 September 2023" / "2023年9月1日")
    def figures(html):
        brief = html[html.index('<ol class="brief">'):html.index("</ol>", html.index('<ol class="brief">'))]
        brief = re.sub(r"<svg.*?</svg>|<details.*?</details>|<a class=\"ow-download\"[^>]*>", "", brief, flags=re.S)
        return sorted(x for x in re.findall(r"\d[\d,.]*\d|\d", re.sub(r"<[^>]+>", " ", brief)) if len(x) >= 3)
    assert figures(zh) == figures(en) and len(figures(en)) > 20
    # the CJK font is embedded as a WOFF2 subset, and the report stays small
    assert "font/woff2;base64," in zh and len(zh.encode()) < 10 * 1024 * 1024


def test_font_subset_is_byte_stable(monkeypatch):
    """The same characters give the same WOFF2 bytes at any time (no save-time timestamp in the font's head
    table), so a report is reproducible. fontTools reads "now" from SOURCE_DATE_EPOCH when it is set."""
    from organwatch.report import fonts

    font = fonts.find_font()
    if font is None:
        pytest.skip("no CJK font installed (.ci/run installs fonts-noto-cjk)")
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    first = fonts.subset_woff2("供体器官移植", font)
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1800000000")
    assert first[:4] == b"wOF2"
    assert fonts.subset_woff2("供体器官移植", font) == first
