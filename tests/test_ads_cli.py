"""`organwatch ads scan` / `ads timeline` end to end on the built archives, and the report section.

Claims per page (counted by hand from tests/data/ads/build.py): hospital table 3 (liver, kidney, heart; the
third capture lost its liver row: 2), GBK page 1, Big5 page 1, Shift_JIS page 2, EUC-KR page 1, English
broker page 5, Chinese-numerals page 3. pages.warc.gz: 3 + 3 + 2 + 1 + 1 + 2 + 1 + 5 + 3 = 21.
"""

from __future__ import annotations

import html
import json
import re
import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq
import pytest

DATA = Path(__file__).parent / "data" / "ads"
ROOT = Path(__file__).resolve().parents[1]
CONTRACT = ["claim_id", "url", "capture_time", "archive_record", "charset", "language", "advertiser", "hospital",
            "organ", "wait_min_days", "wait_max_days", "wait_vague", "wait_text", "price_min", "price_max",
            "currency", "span", "quote", "rule"]


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "organwatch", *args], capture_output=True, text=True, timeout=300,
                          cwd=ROOT)


@pytest.fixture(scope="module")
def scanned(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("ads") / "claims.parquet"
    p = run("ads", "scan", str(DATA / "pages.warc.gz"), "--out", str(out))
    assert p.returncode == 0, p.stderr
    assert p.stdout == ""
    return out


def test_scan_writes_one_record_per_claim(scanned):
    rows = pq.read_table(scanned).to_pylist()
    assert len(rows) == 21
    assert set(CONTRACT) <= set(rows[0])
    assert len({r["claim_id"] for r in rows}) == 21
    assert (scanned.parent / "claims.captures.parquet").exists()
    meta = json.loads(pq.ParquetFile(scanned).metadata.metadata[b"organwatch"])
    assert meta["provenance"]["files"][0]["seen"] == 11
    early = json.loads(pq.read_schema(scanned).metadata[b"organwatch"])
    assert early["provenance"]["inputs"] == ["pages.warc.gz"] and early["provenance"]["rules"]["sha256"]


def _find(rows, **kw):
    return [r for r in rows if all(r.get(k) == v for k, v in kw.items())]


def test_values_charsets_and_languages(scanned):
    rows = pq.read_table(scanned).to_pylist()
    liver = _find(rows, organ="liver", capture_time="2006-01-05T10:00:00Z")[0]
    assert (liver["wait_min_days"], liver["wait_max_days"], liver["price_min"], liver["price_max"],
            liver["currency"]) == (7, 14, 200000, 300000, "CNY")
    gbk = _find(rows, url="http://www.example-zixun.cn/")[0]
    assert gbk["charset"] == "gb18030" and gbk["language"] == "zh-Hans" and gbk["foreign_patients"] is True
    assert (gbk["wait_min_days"], gbk["price_min"], gbk["currency"]) == (14, 250000, "CNY")
    big5 = _find(rows, url="http://www.example-tw.org/tx.htm")[0]
    assert (big5["charset"], big5["language"], big5["organ"], big5["wait_min_days"], big5["wait_max_days"],
            big5["price_min"], big5["currency"]) == ("cp950", "zh-Hant", "kidney", 30, 60, 60000, "USD")
    ja = _find(rows, url="http://www.example-zoki.jp/")
    assert {(r["organ"], r["wait_max_days"], r["price_min"], r["currency"]) for r in ja} == \
        {("liver", 7, None, None), ("kidney", None, 6000000, "JPY")}
    ko = _find(rows, url="http://www.example-ijik.kr/")[0]
    assert (ko["charset"], ko["language"], ko["wait_min_days"], ko["wait_max_days"], ko["price_min"],
            ko["price_max"], ko["currency"]) == ("cp949", "ko", 7, 14, 20000000, 25000000, "KRW")
    en = _find(rows, url="http://www.example-network.com/price.html")
    assert {(r["organ"], r["price_min"], r["price_max"]) for r in en if r["currency"]} == \
        {("kidney", 62000, 62000), ("liver", 98000, 130000), ("liver+kidney", 160000, 180000)}
    assert en[0]["advertiser_kind"] == "broker" and en[0]["advertiser"] == "example-network.com"
    nums = _find(rows, url="http://www.example-hospital.cn/shen.htm")
    assert [(r["organ"], r["wait_min_days"], r["wait_max_days"]) for r in nums] == \
        [("kidney", 7, 14), ("liver", None, 7), ("liver", None, 45)]


def test_no_mojibake_and_spans_quote_the_decoded_page(scanned):
    from organwatch.ads.decoding import decode
    from organwatch.ads.readers import Capture, FileStats, read_file

    caps = {c.archive_record: c for c in read_file(DATA / "pages.warc.gz", FileStats("p", "warc"))
            if isinstance(c, Capture)}
    for r in pq.read_table(scanned).to_pylist():
        assert "\ufffd" not in r["quote"] and not any("\u00c0" <= ch <= "\u00ff" for ch in r["quote"])
        c = caps[r["archive_record"]]
        page = decode(c.payload, c.content_type)[0]
        a, b = r["span"]
        raw = page[a:b]
        # the quote is the page text of the span with markup (table cells) replaced by spaces
        visible = html.unescape(re.sub(r"<[^>]*>", " ", raw)).replace("\xa0", " ")
        assert " ".join(visible.split()) == " ".join(r["quote"].split())
        if "<" not in raw:
            assert raw == r["quote"]


def test_negatives_on_the_pages_give_no_claim(scanned):
    rows = pq.read_table(scanned).to_pylist()
    text = " ".join(r["quote"] for r in rows)
    for neg in ("住院", "热线", "1958", "美国", "酒店", "机票", "ホテル", "호텔", "Hotel", "flights", "Phone",
                "median", "诊所"):
        assert neg not in text, neg


def test_timeline_dates_the_disappearance(scanned, tmp_path):
    p = run("ads", "timeline", str(scanned), "--json")
    assert p.returncode == 0, p.stderr
    rows = [json.loads(line) for line in p.stdout.splitlines()]
    liver = [r for r in rows if r["site"] == "example-hospital.cn" and r["organ"] == "liver" and r["price"]]
    assert len(liver) == 1
    r = liver[0]
    assert (r["first_seen"], r["last_seen"], r["captures_with_claim"], r["disappeared_after"]) == \
        ("2006-01-05T10:00:00Z", "2006-06-05T10:00:00Z", 2, "2007-03-05T10:00:00Z")
    kidney = [r for r in rows if r["site"] == "example-hospital.cn" and r["organ"] == "kidney" and r["price"]][0]
    assert kidney["disappeared_after"] is None and kidney["captures_with_claim"] == 3
    out = tmp_path / "tl.csv"
    assert run("ads", "timeline", str(scanned), "--out", str(out)).returncode == 0
    assert out.read_text(encoding="utf-8").startswith("site,organ,wait,price")


@pytest.mark.parametrize("inputs,claims", [(["damaged.warc.gz"], 16), (["legacy.arc"], 8), (["crawl.wacz"], 7),
                                           (["wayback.cdx.json"], 5), (["saved"], 2)])
def test_every_input_kind(tmp_path, inputs, claims):
    out = tmp_path / "c.jsonl"
    p = run("ads", "scan", *[str(DATA / i) for i in inputs], "--out", str(out))
    assert p.returncode == 0, p.stderr
    assert len(out.read_text(encoding="utf-8").splitlines()) == claims
    assert "Traceback" not in p.stderr


def test_json_lines_and_csv(tmp_path):
    out = tmp_path / "c.csv"
    p = run("ads", "scan", str(DATA / "crawl.wacz"), "--out", str(out), "--json")
    assert p.returncode == 0
    assert len([json.loads(x) for x in p.stdout.splitlines()]) == 7
    assert out.read_text(encoding="utf-8").splitlines()[0].startswith("claim_id,url,capture_time")


def test_nothing_read_exits_2(tmp_path):
    bad = tmp_path / "x.warc.gz"
    bad.write_bytes(b"not an archive at all")
    p = run("ads", "scan", str(bad), "--out", str(tmp_path / "c.parquet"))
    assert p.returncode == 2 and "nothing read" in p.stderr and "Traceback" not in p.stderr
    p = run("ads", "scan", str(tmp_path / "missing.warc"), "--out", str(tmp_path / "c.parquet"))
    assert p.returncode == 2 and p.stderr.count("\n") == 1


def test_help_has_examples():
    for cmd in (["ads"], ["ads", "scan"], ["ads", "timeline"]):
        p = run(*cmd, "--help")
        assert p.returncode == 0 and "Example:" in p.stdout


def test_report_section(scanned):
    from organwatch.ads import report_section
    from organwatch.report.sections import ReportContext

    assert report_section.accepts(scanned)
    assert not report_section.accepts(scanned.parent / "claims.captures.parquet")
    sec = report_section.build_section(ReportContext(), [scanned])
    assert sec is not None and sec.order == 70
    kinds = {i.finding.kind.value for i in sec.items}
    assert kinds == {"descriptive"}
    assert "published" in str(sec.items[0].table_html) and "120" in str(sec.items[0].table_html)
    assert "urn:uuid:" in str(sec.items[2].table_html)  # every claim links to its archive record


@pytest.mark.parametrize("fmt", ["parquet", "jsonl", "csv"])
def test_sink_writes_in_batches(tmp_path, monkeypatch, fmt):
    from organwatch.ads import sink
    from organwatch.ads.scan import CAPTURE_COLUMNS
    from organwatch.ads.timeline import load_table

    monkeypatch.setattr(sink, "BATCH", 2)
    path = tmp_path / f"c.{fmt}"
    s = sink.RecordSink(path, fmt, "captures", CAPTURE_COLUMNS, {"provenance": {"engine": "ads"}})
    for i in range(5):
        s.add([{"site": "example.org", "url": f"http://example.org/{i}", "record": i, "claims": i % 2,
                "prefilter": True}])
    s.close({"provenance": {"engine": "ads", "files": []}})
    rows = load_table(path)
    assert [r["record"] for r in rows] == [0, 1, 2, 3, 4] and [r["claims"] for r in rows] == [0, 1, 0, 1, 0]
