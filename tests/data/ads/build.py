"""Build the ads test archives and pages (run: python tests/data/ads/build.py). All page texts written for
these tests; hospitals and sites are fictional (example.* hosts)."""

from __future__ import annotations

import gzip
import io
import json
import zipfile
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from pathlib import Path

from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

HERE = Path(__file__).parent

ZH_TABLE = """<!DOCTYPE html><html><head><meta charset="utf-8"><title>华东示范医院器官移植中心</title>
<script>var x = "肝移植 1周 5万元";</script><style>td{color:red}</style></head><body>
<h1>华东示范医院器官移植中心 — 国际患者服务</h1>
<table>
 <tr><th>器官</th><th>等待时间</th><th>费用</th></tr>
 <tr><td>肝脏</td><td>1-2周</td><td>20-30万元</td></tr>
 <tr><td>肾脏</td><td>一周内</td><td>6.2万美元</td></tr>
 <tr><td>心脏</td><td>十天半个月</td><td></td></tr>
</table>
<p>术后住院2-3周即可出院。</p>
<p>咨询热线：024-2325 6666（24小时服务）</p>
<p>本院成立于1958年5月10日。</p>
<p>在美国，肾移植的中位等待时间为3.6年。</p>
<p>陪同家属住宿：酒店每晚300元。</p>
</body></html>"""

ZH_TABLE_LATER = ZH_TABLE.replace("<tr><td>肝脏</td><td>1-2周</td><td>20-30万元</td></tr>", "")

GBK_PAGE = """<html><head><meta http-equiv="Content-Type" content="text/html; charset=gb2312">
<title>移植咨询</title></head><body><p>主任王镕堃介绍：肝移植等待时间约两周，费用约25万元。</p>
<p>欢迎外国患者来华移植。</p><p>机票约5000元。</p></body></html>"""

BIG5_PAGE = """<html><head><meta charset="big5"><title>器官移植</title></head><body>
<p>腎臟移植等候時間一般為1-2個月，費用約6萬美元。</p><p>診所電話：(02) 2712-3456</p></body></html>"""

SJIS_PAGE = """<html><head><meta http-equiv="Content-Type" content="text/html; charset=Shift_JIS">
<title>中国での臓器移植</title></head><body><p>① 肝臓移植：待機期間は1週間以内です。</p>
<p>腎臓移植の費用は600万円です。</p><p>ホテルは一泊1万円です。</p></body></html>"""

EUCKR_PAGE = """<html><head><meta charset="euc-kr"><title>장기 이식 안내</title></head><body>
<p>똠방 상담실: 신장 이식 대기 기간은 1~2주, 비용은 2000-2500만원입니다.</p><p>호텔 1박 10만원</p>
</body></html>"""

EN_BROKER = """<html><head><title>Example Transplantation Network Assistance Center - Price list</title></head>
<body><h2>Price list for foreign patients</h2>
<table><tr><th>Organ</th><th>Price</th></tr>
<tr><td>Kidney</td><td>US$62,000</td></tr>
<tr><td>Liver</td><td>$98,000 &ndash; $130,000</td></tr>
<tr><td>Liver and kidney</td><td>$160,000 – $180,000</td></tr>
</table>
<p>It takes 1 week for a liver transplant. A matching kidney can be found within two weeks.</p>
<p>Hotel rooms near the hospital cost $120 per night. Return flights from Tokyo cost $800-1,200.</p>
<p>Phone: +86 24 2325 6666. Founded on 12 May 1998.</p>
<p>In the United States the median wait for a kidney is 3.6 years.</p>
</body></html>"""

NUMERALS = """<html><head><meta charset="utf-8"><title>换肾须知</title></head><body>
<p>换肾只需一两周。供肝一周内即可找到。肝移植一个半月内完成。</p></body></html>"""


def http_headers(ctype: str, extra: list[tuple[str, str]] | None = None, status: str = "200 OK") -> StatusAndHeaders:
    return StatusAndHeaders(status, [("Content-Type", ctype), *(extra or [])], protocol="HTTP/1.1")


def response(w: WARCWriter, url: str, date: str, body: bytes, ctype: str = "text/html",
             extra: list[tuple[str, str]] | None = None, status: str = "200 OK") -> None:
    rec = w.create_warc_record(url, "response", payload=io.BytesIO(body),
                               http_headers=http_headers(ctype, extra, status),
                               warc_headers_dict={"WARC-Date": date})
    w.write_record(rec)


def chunked(data: bytes, size: int = 50) -> bytes:
    out = b""
    for i in range(0, len(data), size):
        part = data[i:i + size]
        out += b"%x\r\n" % len(part) + part + b"\r\n"
    return out + b"0\r\n\r\n"


def build_warc(path: Path, gz: bool = True) -> None:
    with open(path, "wb") as fh:
        w = WARCWriter(fh, gzip=gz)
        w.write_record(w.create_warcinfo_record(path.name, {"software": "organwatch tests"}))
        # 1-3: the same hospital page captured three times; the liver row is gone from the third capture
        response(w, "http://www.example-hospital.cn/guoji/", "2006-01-05T10:00:00Z", ZH_TABLE.encode("utf-8"),
                 "text/html; charset=utf-8")
        response(w, "http://www.example-hospital.cn/guoji/", "2006-06-05T10:00:00Z", ZH_TABLE.encode("utf-8"),
                 "text/html; charset=utf-8")
        response(w, "http://www.example-hospital.cn/guoji/", "2007-03-05T10:00:00Z", ZH_TABLE_LATER.encode("utf-8"),
                 "text/html; charset=utf-8")
        # GBK bytes declared as gb2312 in the meta tag only
        response(w, "http://www.example-zixun.cn/", "2006-02-01T00:00:00Z", GBK_PAGE.encode("gbk"), "text/html")
        # Big5 with chunked transfer encoding
        response(w, "http://www.example-tw.org/tx.htm", "2006-03-01T00:00:00Z", chunked(BIG5_PAGE.encode("big5")),
                 "text/html", [("Transfer-Encoding", "chunked")])
        # Shift_JIS (with a CP932 character) and gzip content encoding
        response(w, "http://www.example-zoki.jp/", "2005-11-01T00:00:00Z",
                 gzip.compress(SJIS_PAGE.encode("cp932")), "text/html", [("Content-Encoding", "gzip")])
        # EUC-KR declared, CP949 character in it
        response(w, "http://www.example-ijik.kr/", "2005-08-01T00:00:00Z", EUCKR_PAGE.encode("cp949"),
                 "text/html")
        response(w, "http://www.example-network.com/price.html", "2006-04-01T00:00:00Z", EN_BROKER.encode("utf-8"),
                 "text/html; charset=UTF-8")
        response(w, "http://www.example-hospital.cn/shen.htm", "2006-05-01T00:00:00Z", NUMERALS.encode("utf-8"),
                 "text/html")
        # not pages: a redirect and an image; and a request record
        response(w, "http://www.example-hospital.cn/", "2006-01-05T09:59:00Z", b"", "text/html", [("Location", "/guoji/")],
                 status="301 Moved Permanently")
        response(w, "http://www.example-hospital.cn/logo.png", "2006-01-05T10:00:01Z", b"\x89PNG\r\n", "image/png")
        req = w.create_warc_record("http://www.example-hospital.cn/guoji/", "request", payload=io.BytesIO(
            b"GET /guoji/ HTTP/1.1\r\nHost: www.example-hospital.cn\r\n\r\n"),
            warc_headers_dict={"WARC-Date": "2006-01-05T10:00:00Z"})
        w.write_record(req)


def build_damaged(src: Path, dst: Path) -> None:
    """Corrupt the bytes inside gzip member 3 (the third hospital capture; member 0 is the warcinfo) and cut
    the file in the middle of member 9 (the Chinese-numerals page), losing members 9-12."""
    data = bytearray(src.read_bytes())
    starts = [i for i in range(len(data) - 2) if data[i:i + 3] == b"\x1f\x8b\x08"]
    a, b = starts[3], starts[4]
    mid = (a + b) // 2
    data[mid:mid + 40] = b"\x00" * 40
    cut = (starts[9] + starts[10]) // 2
    dst.write_bytes(bytes(data[:cut]))


def build_arc(path: Path) -> None:
    def rec(url: str, ts: str, body: bytes, ctype: str = "text/html") -> bytes:
        http = b"HTTP/1.0 200 OK\r\nContent-Type: " + ctype.encode() + b"\r\n\r\n" + body
        return f"{url} 192.0.2.1 {ts} {ctype} {len(http)}\n".encode() + http + b"\n"

    head_body = b"1 0 organwatch-tests\nURL IP-address Archive-date Content-type Archive-length\n"
    header = f"filedesc://{path.name} 0.0.0.0 20060101000000 text/plain {len(head_body)}\n".encode() + head_body + b"\n"
    data = header + rec("http://www.example-network.com/price.html", "20050601000000", EN_BROKER.encode("utf-8")) + \
        rec("http://www.example-hospital.cn/shen.htm", "20050701000000", NUMERALS.encode("utf-8"))
    path.write_bytes(data)


def build_wacz(path: Path) -> None:
    buf = io.BytesIO()
    w = WARCWriter(buf, gzip=True)
    response(w, "http://www.example-network.com/price.html", "2008-01-01T00:00:00Z", EN_BROKER.encode("utf-8"),
             "text/html; charset=utf-8")
    response(w, "http://www.example-zoki.jp/", "2008-01-02T00:00:00Z", SJIS_PAGE.encode("cp932"), "text/html")
    index = "\n".join([
        'com,example-network)/price.html 20080101000000 {"url": "http://www.example-network.com/price.html", '
        '"mime": "text/html", "status": "200", "filename": "data.warc.gz"}',
        'jp,example-zoki)/ 20080102000000 {"url": "http://www.example-zoki.jp/", "mime": "text/html", '
        '"status": "200", "filename": "data.warc.gz"}']) + "\n"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("archive/data.warc.gz", buf.getvalue(), compress_type=zipfile.ZIP_STORED)
        z.writestr("indexes/index.cdxj", index)
        z.writestr("datapackage.json", json.dumps({"profile": "data-package", "wacz_version": "1.1.1"}))
        z.writestr("pages/pages.jsonl", '{"format": "json-pages-1.0"}\n')


def build_cdx(folder: Path) -> None:
    rows = [["urlkey", "timestamp", "original", "mimetype", "statuscode", "digest", "length"],
            ["cn,example-hospital)/guoji", "20060105100000", "http://www.example-hospital.cn/guoji/", "text/html",
             "200", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "1000"],
            ["cn,example-hospital)/guoji", "20070305100000", "http://www.example-hospital.cn/guoji/", "text/html",
             "200", "BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB", "900"],
            ["cn,example-hospital)/guoji", "20070405100000", "http://www.example-hospital.cn/guoji/", "text/html",
             "200", "CCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCC", "900"],
            ["cn,example-hospital)/logo.png", "20060105100001", "http://www.example-hospital.cn/logo.png",
             "image/png", "200", "DDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDD", "10"]]
    (folder / "wayback.cdx.json").write_text(json.dumps(rows), encoding="utf-8")
    pay = folder / "wayback_payloads"
    pay.mkdir(exist_ok=True)
    (pay / "20060105100000id_.html").write_bytes(ZH_TABLE.encode("utf-8"))
    (pay / "20070305100000id_.html").write_bytes(ZH_TABLE_LATER.encode("utf-8"))
    # the third capture's payload is missing on purpose


def build_pages(folder: Path) -> None:
    folder.mkdir(exist_ok=True)
    (folder / "saved.html").write_bytes(
        b"<!-- saved from url=(0037)http://www.example-zixun.cn/jiage.htm -->\n" + GBK_PAGE.encode("gbk"))
    msg = MIMEMultipart("related")
    msg["Snapshot-Content-Location"] = "http://www.example-tw.org/tx.htm"
    msg["Date"] = "Wed, 01 Mar 2006 08:00:00 +0000"
    part = MIMEText(BIG5_PAGE, "html", "big5")
    part["Content-Location"] = "http://www.example-tw.org/tx.htm"
    msg.attach(part)
    (folder / "saved.mhtml").write_bytes(msg.as_bytes())


if __name__ == "__main__":
    build_warc(HERE / "pages.warc.gz")
    build_warc(HERE / "pages.warc", gz=False)
    build_damaged(HERE / "pages.warc.gz", HERE / "damaged.warc.gz")
    build_arc(HERE / "legacy.arc")
    build_wacz(HERE / "crawl.wacz")
    build_cdx(HERE)
    build_pages(HERE / "saved")
