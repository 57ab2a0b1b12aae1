"""Bounded memory of the screen readers on adversarial files, proved under an address-space limit.

Each case runs the readers in a subprocess under ``resource.setrlimit(RLIMIT_AS, 1 GiB)`` (docs/screen-input.md
documents the bound). The XML case is one that grows past any limit when only record elements are cleared:
48 MiB of tiny non-record elements (about 12 million nodes, over 1 GiB as a tree).
"""

from __future__ import annotations

import gzip
import json
import subprocess
import sys
from pathlib import Path

import pytest

resource = pytest.importorskip("resource")

LIMIT = 1 << 30
CHILD = r"""
import json, resource, sys
resource.setrlimit(resource.RLIMIT_AS, (__LIMIT__, __LIMIT__))
from organwatch.screen.readers import iter_documents, stream
if len(sys.argv) > 2:
    stream.MAX_DECOMPRESSED = int(sys.argv[2])
if len(sys.argv) > 3:
    stream.MAX_RECORD_BYTES = int(sys.argv[3])
reports = []
items = []
n = 0
for x in iter_documents([sys.argv[1]], reports=reports):
    n += 1
    if len(items) < 5 or not hasattr(x, "text"):
        items.append(str(x)[:200])
peak = int(open("/proc/self/status").read().split("VmHWM:")[1].split()[0]) * 1024
r = reports[0]
print(json.dumps({"items": items[:20], "n": n, "seen": r.seen, "read": r.read, "failed": r.failed,
                  "errors": r.errors, "format": r.format, "peak": peak}))
""".replace("__LIMIT__", str(LIMIT))


def _run(path: Path, cap: int | None = None, record_cap: int | None = None) -> dict:
    args = [sys.executable, "-c", CHILD, str(path), str(cap or 4 << 30)] + ([str(record_cap)] if record_cap else [])
    r = subprocess.run(args, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]
    out = json.loads(r.stdout)
    assert out["peak"] < LIMIT
    return out


def _gz(path: Path, head: bytes, block: bytes, n: int, tail: bytes) -> Path:
    with gzip.open(path, "wb", compresslevel=6) as g:
        g.write(head)
        for _ in range(n):
            g.write(block)
        g.write(tail)
    return path


@pytest.mark.parametrize("name,head,block,tail", [
    ("flat.xml.gz", b"<?xml version='1.0'?><PubmedArticleSet>", b"<x/>" * (1 << 18), b"</PubmedArticleSet>"),
    ("nested.xml.gz", b"<PubmedArticleSet><Wrapper><Inner>", b"<b>t</b>" * (1 << 17), b"</Inner></Wrapper>"
                                                                                       b"</PubmedArticleSet>"),
    ("pmc.nxml.gz", b"<pmc-articleset>", b"<x/>" * (1 << 18), b"</pmc-articleset>"),
    ("endnote.xml.gz", b"<xml><records>", b"<y/>" * (1 << 18), b"</records></xml>"),
])
def test_xml_small_elements_bounded(tmp_path, name, head, block, tail):
    out = _run(_gz(tmp_path / name, head, block, 48, tail))
    assert out["read"] == 0 and out["seen"] == 0 and out["errors"]  # nothing readable, said so
    assert out["peak"] < 256 << 20  # in practice a few tens of MiB


def test_xml_records_between_junk_bounded(tmp_path):
    rec = (b"<PubmedArticle><MedlineCitation><PMID>1</PMID><Article><ArticleTitle>t</ArticleTitle></Article>"
           b"</MedlineCitation></PubmedArticle>")
    out = _run(_gz(tmp_path / "mixed.xml.gz", b"<PubmedArticleSet>", b"<x/>" * (1 << 17) + rec, 96,
                   b"</PubmedArticleSet>"))
    assert out["read"] == out["seen"] == 96 and out["failed"] == 0


def test_one_endless_json_line_refused_bounded(tmp_path):
    out = _run(_gz(tmp_path / "bomb.jsonl.gz", b'{"text": "', b"x" * (1 << 20), 200, b'"}\n'))
    assert out["read"] == 0 and out["failed"] == 1 and "longer than" in " ".join(out["items"])


def test_text_bomb_refused_bounded(tmp_path):
    out = _run(_gz(tmp_path / "bomb.txt.gz", b"", b"a\n" * (1 << 19), 200, b""))
    assert out["read"] == 0 and "larger than" in " ".join(out["items"])


def test_tagged_endless_record_refused_bounded(tmp_path):
    out = _run(_gz(tmp_path / "bomb.ris.gz", b"TY  - JOUR\nAB  - x\n", b"      continued text\n" * 50_000, 30,
                   b"ER  - \n"), record_cap=16 << 20)
    assert out["read"] == 0 and out["seen"] == 1 and out["failed"] == 1 and "larger than" in " ".join(out["items"])


def test_decompression_cap_refuses_without_buffering(tmp_path):
    out = _run(_gz(tmp_path / "rows.csv.gz", b"id,title\n", (b"1," + b"a" * 1000 + b"\n") * 1024, 200, b""),
               cap=64 << 20)
    assert any("cap" in e for e in out["errors"]) and out["read"] > 0  # rows before the cap are kept
