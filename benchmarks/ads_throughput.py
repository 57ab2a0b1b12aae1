"""Benchmark: `organwatch ads scan` throughput on WARC.gz, in MB/s per core, with and without the prefilter.

A synthetic crawl is written to a temporary directory with warcio (deterministic, seed 20260101): HTML pages of
about 20 KB each (shuffled filler phrases with random numbers), in UTF-8, GBK, Big5, Shift_JIS and EUC-KR; a share of them (``--claim-share``, default 5 %)
carry transplant waits and prices, the others are ordinary hospital, news and shop pages (filler text written
for this script). The scan runs in this process on one core (readers, prefilter, decoding, visible text, cue
scan, value expressions, records; no output file), once with the prefilter and once without.
Figures: compressed MB/s (the WARC.gz bytes on disk) and decoded MB/s (payload bytes), per core.
Run:  .venv/bin/python benchmarks/ads_throughput.py [--pages 3000] [--claim-share 0.05]
Timings are printed, never asserted.
"""

from __future__ import annotations

import argparse
import io
import os
import platform
import random
import re
import tempfile
import time
from pathlib import Path

from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from organwatch.ads.extract import Extractor
from organwatch.ads.readers import Capture, FileStats, read_file
from organwatch.ads.rules import load_pack
from organwatch.ads.scan import ScanCounts, ScanOptions, scan_capture

FILLER = {
    "utf-8": "本院门诊部位于市中心，交通便利。每周一至周五开放，周末休息。欢迎广大市民前来就诊，我们提供优质的医疗服务。",
    "gbk": "今日新闻：本市举办春季运动会，参赛选手超过两千人。天气晴朗，气温适宜，市民纷纷前往观看比赛。",
    "big5": "本店販售各式家電與日用品，歡迎選購。營業時間每日上午十點至晚上九點，週末照常營業。",
    "cp932": "当店では季節の野菜や果物を販売しております。営業時間は午前十時から午後七時までです。",
    "cp949": "저희 가게는 신선한 과일과 채소를 판매합니다. 영업 시간은 오전 열 시부터 오후 일곱 시까지입니다.",
}
CLAIMS = {
    "utf-8": "<table><tr><td>肝脏</td><td>1-2周</td><td>20-30万元</td></tr><tr><td>肾脏</td><td>一周内</td>"
             "<td>6.2万美元</td></tr></table>",
    "gbk": "<p>肝移植等待时间约两周，费用约25万元。</p>",
    "big5": "<p>腎臟移植等候時間一般為1-2個月，費用約6萬美元。</p>",
    "cp932": "<p>肝臓移植の待機期間は1週間以内です。腎臓移植の費用は600万円です。</p>",
    "cp949": "<p>신장 이식 대기 기간은 1~2주, 비용은 2000-2500만원입니다.</p>",
}
POOLS = {k: [p for p in re.split(r"[，。、：.,]\\s*", v) if p] for k, v in FILLER.items()}
LABEL = {"utf-8": "utf-8", "gbk": "gb2312", "big5": "big5", "cp932": "shift_jis", "cp949": "euc-kr"}


def page(enc: str, claim: bool, rng: random.Random, size: int) -> bytes:
    body: list[str] = []
    pool = POOLS[enc]
    while sum(len(x) for x in body) < size // 3:
        # shuffled filler phrases with random numbers, so that the crawl does not compress unrealistically well
        text = "".join(f"{rng.choice(pool)}{rng.randint(10, 99999)}，" for _ in range(rng.randint(3, 8)))
        body.append(f"<p>{text}</p>\n")
    if claim:
        body.insert(rng.randrange(len(body)), CLAIMS[enc])
    html = (f'<html><head><meta charset="{LABEL[enc]}"><title>page</title></head><body>'
            f'{"".join(body)}</body></html>')
    return html.encode(enc)


def build(path: Path, pages: int, share: float, seed: int = 20260101) -> int:
    rng = random.Random(seed)
    encs = list(FILLER)
    raw = 0
    with open(path, "wb") as fh:
        w = WARCWriter(fh, gzip=True)
        for i in range(pages):
            enc = encs[i % len(encs)]
            data = page(enc, rng.random() < share, rng, 20000)
            raw += len(data)
            http = StatusAndHeaders("200 OK", [("Content-Type", "text/html")], protocol="HTTP/1.1")
            w.write_record(w.create_warc_record(f"http://site{i % 50}.example/p{i}.html", "response",
                                                payload=io.BytesIO(data), http_headers=http,
                                                warc_headers_dict={"WARC-Date": "2006-01-01T00:00:00Z"}))
    return raw


def run(path: Path, prefilter: bool) -> tuple[float, ScanCounts]:
    ex = Extractor(load_pack())
    opts = ScanOptions(prefilter=prefilter)
    counts = ScanCounts()
    scan_capture(Capture("warm", 0, "http://x/", None, "w", CLAIMS["utf-8"].encode()), ex, opts, ScanCounts())
    t0 = time.perf_counter()
    for item in read_file(path, FileStats(path.name, "warc")):
        if isinstance(item, Capture):
            scan_capture(item, ex, opts, counts)
    return time.perf_counter() - t0, counts


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--pages", type=int, default=3000)
    ap.add_argument("--claim-share", type=float, default=0.05)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "crawl.warc.gz"
        raw = build(path, args.pages, args.claim_share)
        size = path.stat().st_size
        print(f"python {platform.python_version()}, {os.cpu_count()} cores visible; {args.pages} pages, "
              f"{size / 1e6:.1f} MB WARC.gz, {raw / 1e6:.1f} MB decoded payloads, claim share {args.claim_share}")
        for pf in (True, False):
            secs, c = run(path, pf)
            print(f"prefilter={'on ' if pf else 'off'}: {secs:.2f} s, {size / 1e6 / secs:.1f} MB/s WARC.gz, "
                  f"{raw / 1e6 / secs:.1f} MB/s decoded, per core; {c.pages} pages decoded, "
                  f"{c.prefiltered_out} skipped, {c.claims} claims")


if __name__ == "__main__":
    main()
