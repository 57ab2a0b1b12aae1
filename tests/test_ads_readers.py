"""Readers on the archives built by tests/data/ads/build.py; counts written by hand from build.py.

pages.warc(.gz): 1 warcinfo, 11 responses (9 pages, a 301 redirect, a PNG), 1 request.
damaged.warc.gz: the same with gzip member 3 corrupted and the file cut inside member 9.
legacy.arc: a filedesc header and 2 pages. crawl.wacz: 2 pages and a CDXJ index listing 2.
wayback.cdx.json: 4 rows (3 pages, 1 PNG); the third page's payload is missing.
saved/: one saved HTML (GBK declared gb2312), one MHTML (Big5 part).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from organwatch.ads.readers import Capture, FileStats, expand_inputs, iso_time, kind_of, read_file
from organwatch.errors import RecordError

DATA = Path(__file__).parent / "data" / "ads"


def read(name: str, **kw) -> tuple[list[Capture], list[RecordError], FileStats]:
    p = DATA / name
    st = FileStats(p.name, kind_of(p) or "")
    caps, errs = [], []
    for item in read_file(p, st, **kw):
        (caps if isinstance(item, Capture) else errs).append(item)
    return caps, errs, st


@pytest.mark.parametrize("name", ["pages.warc.gz", "pages.warc"])
def test_warc(name):
    caps, errs, st = read(name)
    assert (st.seen, st.read, st.failed, st.other) == (11, 11, 0, 4)
    assert len(caps) == 9 and not errs
    first = caps[0]
    assert first.url == "http://www.example-hospital.cn/guoji/" and first.capture_time == "2006-01-05T10:00:00Z"
    assert first.archive_record.startswith("<urn:uuid:") and first.digest.startswith("sha1:")
    big5 = next(c for c in caps if c.url.endswith("tx.htm"))
    assert big5.payload.startswith(b"<html>")  # chunked transfer encoding removed
    sjis = next(c for c in caps if "zoki" in c.url)
    assert sjis.payload.startswith(b"<html>")  # gzip content encoding removed


def test_damaged_archive_costs_one_warning_per_damage():
    caps, errs, st = read("damaged.warc.gz")
    assert len(errs) == 2 and st.failed == 2
    assert "damaged" in str(errs[0]) and "truncated" in str(errs[1])
    assert len(caps) == 7  # 9 pages minus the corrupted capture and the page cut off
    assert st.seen == st.read + st.failed


def test_payload_cap_is_counted_while_streaming():
    caps, errs, st = read("pages.warc.gz", max_bytes=600)
    assert st.failed >= 1 and all("larger than 600" in str(e) for e in errs)
    assert st.seen == st.read + st.failed


def test_decompression_bomb_stops_at_the_cap(tmp_path):
    import gzip
    import io

    from warcio.statusandheaders import StatusAndHeaders
    from warcio.warcwriter import WARCWriter

    p = tmp_path / "bomb.warc.gz"
    with open(p, "wb") as fh:
        w = WARCWriter(fh, gzip=True)
        bomb = gzip.compress(b"<p>" + b" " * (8 << 20))  # 8 MiB of spaces in about 8 KiB
        http = StatusAndHeaders("200 OK", [("Content-Type", "text/html"), ("Content-Encoding", "gzip")],
                                protocol="HTTP/1.1")
        w.write_record(w.create_warc_record("http://bomb.example/", "response", payload=io.BytesIO(bomb),
                                            http_headers=http))
        http2 = StatusAndHeaders("200 OK", [("Content-Type", "text/html")], protocol="HTTP/1.1")
        w.write_record(w.create_warc_record("http://ok.example/", "response", payload=io.BytesIO(b"<p>ok</p>"),
                                            http_headers=http2))
    st = FileStats(p.name, "warc")
    items = list(read_file(p, st, max_bytes=1 << 20))
    assert isinstance(items[0], RecordError) and "larger than" in str(items[0])
    assert isinstance(items[1], Capture) and items[1].url == "http://ok.example/"
    assert (st.seen, st.read, st.failed) == (2, 1, 1)


def test_arc():
    caps, errs, st = read("legacy.arc")
    assert len(caps) == 2 and not errs and caps[0].capture_time == "2005-06-01T00:00:00Z"


def test_wacz():
    caps, errs, st = read("crawl.wacz")
    assert len(caps) == 2 and not errs
    assert {c.url for c in caps} == {"http://www.example-network.com/price.html", "http://www.example-zoki.jp/"}


def test_cdx_with_payload_folder():
    caps, errs, st = read("wayback.cdx.json")
    assert (st.seen, st.read, st.failed, st.other) == (4, 3, 1, 1)
    assert len(caps) == 2 and len(errs) == 1 and "no payload file" in str(errs[0])
    assert caps[0].archive_record == "20060105100000 AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
    assert caps[0].archive_url == "https://web.archive.org/web/20060105100000/http://www.example-hospital.cn/guoji/"


def test_saved_html_and_mhtml():
    files = expand_inputs([DATA / "saved"])
    assert [f.name for f in files] == ["saved.html", "saved.mhtml"]
    caps, _, _ = read("saved/saved.html")
    assert caps[0].url == "http://www.example-zixun.cn/jiage.htm"
    caps, _, _ = read("saved/saved.mhtml")
    assert caps[0].url == "http://www.example-tw.org/tx.htm" and caps[0].capture_time == "2006-03-01T08:00:00Z"
    assert "big5" in (caps[0].content_type or "")


def test_folder_input_skips_cdx_payloads():
    names = {f.name for f in expand_inputs([DATA])}
    assert "wayback.cdx.json" in names and "20060105100000id_.html" not in names


def test_not_an_archive_is_one_error(tmp_path):
    p = tmp_path / "junk.warc.gz"
    p.write_bytes(b"\x1f\x8b\x08" + bytes(range(200)))
    st = FileStats(p.name, "warc")
    items = list(read_file(p, st))
    assert all(isinstance(i, RecordError) for i in items) and st.read == 0 and st.failed >= 1


@pytest.mark.parametrize("raw,iso", [("20060105100000", "2006-01-05T10:00:00Z"), ("2006-01-05T10:00:00Z",
                                      "2006-01-05T10:00:00Z"), ("Wed, 01 Mar 2006 08:00:00 +0800",
                                                                "2006-03-01T00:00:00Z"), ("garbage", None)])
def test_iso_time(raw, iso):
    assert iso_time(raw) == iso
