""""No silent loss" property tests, one per reader: generated files of N records with random damage.

Damage kinds keep the record delimiters (a delimiter destroyed merges two records in any reader): bad bytes, junk
lines, a removed title, a broken JSON line or CSV row, broken markup inside an XML record. For every file:
read + failed == N, and every undamaged record before the first damage is read. Truncated gzip: every record that
was complete before the cut is read, and the file's report still balances (seen = read + failed).
"""

from __future__ import annotations

import gzip
import json
import zlib
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from organwatch.screen.documents import Document
from organwatch.screen.readers import FileReport, iter_documents

SETTINGS = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                           HealthCheck.too_slow])


def _bad(kind: str | None) -> str:
    return " " + chr(0xDCFF) if kind == "bytes" else ""  # an invalid UTF-8 byte once encoded


def _ris(i: int, bad: str | None) -> str:
    title = "" if bad == "no_title" else f"TI  - Title {i}\n"
    junk = "this line has no tag\n" if bad == "junk" else ""
    return f"TY  - JOUR\nID  - rec{i}\n{title}{junk}AB  - Abstract {i} {_bad(bad)}\nER  - \n\n"


def _wos(i: int, bad: str | None) -> str:
    title = "" if bad == "no_title" else f"TI Title {i}\n   wrapped\n"
    junk = "junk without a tag\n" if bad == "junk" else ""
    return f"PT J\nUT rec{i}\n{title}{junk}AB Abstract {i}{_bad(bad)}\nER\n\n"


def _nbib(i: int, bad: str | None) -> str:
    title = "" if bad == "no_title" else f"TI  - Title {i}\n      wrapped\n"
    return f"PMID- {1000 + i}\n{title}AB  - Abstract {i}{_bad(bad)}\n\n"


def _ovid(i: int, bad: str | None) -> str:
    title = "" if bad == "no_title" else f"Title\n  Title {i}\n"
    return f"<{i + 1}>\nAccession Number\n  rec{i}\n{title}Abstract\n  Abstract {i}" \
           f"{_bad(bad)}\n\n"


def _refer(i: int, bad: str | None) -> str:
    title = "" if bad == "no_title" else f"%T Title {i}\n"
    return f"%0 Journal Article\n%M rec{i}\n{title}%X Abstract {i}{_bad(bad)}\n\n"


def _refworks(i: int, bad: str | None) -> str:
    title = "" if bad == "no_title" else f"T1 Title {i}\n"
    return f"RT Journal Article\nID rec{i}\n{title}AB Abstract {i}{_bad(bad)}\n\n"


def _noteexpress(i: int, bad: str | None) -> str:
    title = "" if bad == "no_title" else f"{{Title}}: 标题 {i}\n"
    return (f"{{Reference Type}}: Journal Article\n{{Accession Number}}: rec{i}\n{title}"
            f"{{Abstract}}: 摘要 {i}{_bad(bad)}\n\n")


def _cnki(i: int, bad: str | None) -> str:
    title = "" if bad == "no_title" else f"Title-题名: 标题 {i}\n"
    return (f"DataType: 1\n{title}Summary-摘要: 摘要 {i}{_bad(bad)}\n"
            f"SrcDatabase-来源库: 期刊\nLink-链接: https://kns.cnki.net/x?filename=rec{i}\n\n")


def _jsonl(i: int, bad: str | None) -> str:
    if bad == "junk":
        return '{"id": "rec' + str(i) + '", "text": broken\n'
    return json.dumps({"id": f"rec{i}", "title": "" if bad == "no_title" else f"Title {i}",
                       "abstract": f"Abstract {i}"}) + "\n"


def _csv(i: int, bad: str | None) -> str:
    if bad == "junk":
        return f"rec{i},Title {i},Abstract {i},one,field,too,many\n"
    return f"rec{i},{'' if bad == 'no_title' else f'Title {i}'},Abstract {i}\n"


def _medline(i: int, bad: str | None) -> str:
    title = "Title < broken" if bad == "junk" else ("" if bad == "no_title" else f"Title {i}")
    return (f"<PubmedArticle><MedlineCitation><PMID>{1000 + i}</PMID><Article><ArticleTitle>{title}</ArticleTitle>"
            f"<Abstract><AbstractText>Abstract {i}</AbstractText></Abstract></Article></MedlineCitation>"
            f"</PubmedArticle>\n")


def _pmc(i: int, bad: str | None) -> str:
    title = "Title &broken" if bad == "junk" else ("" if bad == "no_title" else f"Title {i}")
    return (f'<article><front><article-meta><article-id pub-id-type="pmc">{1000 + i}</article-id><title-group>'
            f"<article-title>{title}</article-title></title-group></article-meta></front>"
            f"<body><sec><title>Intro</title><p>Body {i}</p></sec></body></article>\n")


def _endnote(i: int, bad: str | None) -> str:
    title = "Title </style> broken" if bad == "junk" else ("" if bad == "no_title" else f"Title {i}")
    return (f"<record><accession-num>rec{i}</accession-num><titles><title><style>{title}</style></title></titles>"
            f"<abstract><style>Abstract {i}</style></abstract></record>\n")


def _id_of(fmt: str, i: int) -> str:
    return {"medline_text": f"PMID:{1000 + i}", "medline": f"PMID:{1000 + i}", "pmc": f"PMCID:PMC{1000 + i}",
            "cnki": f"CNKI:rec{i}"}.get(fmt, f"rec{i}")


FORMATS: dict[str, tuple[str, str, str, Callable[[int, str | None], str], tuple[str, ...]]] = {
    # format: (suffix, head, tail, record generator, damage kinds)
    "ris": (".ris", "", "", _ris, ("bytes", "junk", "no_title")),
    "wos": (".txt", "FN Clarivate Analytics Web of Science\nVR 1.0\n", "EF\n", _wos, ("bytes", "junk", "no_title")),
    "medline_text": (".nbib", "\n", "", _nbib, ("bytes", "no_title")),
    "ovid": (".txt", "", "", _ovid, ("bytes", "no_title")),
    "endnote": (".txt", "", "", _refer, ("bytes", "no_title")),
    "refworks": (".txt", "", "", _refworks, ("bytes", "no_title")),
    "noteexpress": (".net", "", "", _noteexpress, ("bytes", "no_title")),
    "cnki": (".txt", "", "", _cnki, ("bytes", "no_title")),
    "jsonl": (".jsonl", "", "", _jsonl, ("junk", "no_title")),
    "csv": (".csv", "id,title,abstract\n", "", _csv, ("junk", "no_title")),
    "medline": (".xml", "<?xml version='1.0'?>\n<PubmedArticleSet>\n", "</PubmedArticleSet>\n", _medline,
                ("junk", "no_title")),
    "pmc": (".nxml", "<pmc-articleset>\n", "</pmc-articleset>\n", _pmc, ("junk", "no_title")),
    "endnote_xml": (".xml", "<?xml version='1.0'?>\n<xml><records>\n", "</records></xml>\n", _endnote,
                    ("junk", "no_title")),
}


def _encode(text: str) -> bytes:
    return text.encode("utf-8", "surrogateescape")  # chr(0xdcff) becomes the invalid byte 0xff


def _read(path: Path) -> tuple[list[Document], FileReport]:
    reports: list[FileReport] = []
    docs = [d for d in iter_documents([path], reports=reports) if isinstance(d, Document)]
    return docs, reports[0]


@pytest.mark.parametrize("fmt", sorted(FORMATS))
def test_no_silent_loss_with_random_damage(tmp_path, fmt):
    suffix, head, tail, gen, kinds = FORMATS[fmt]

    @SETTINGS
    @given(n=st.integers(1, 25), damage=st.dictionaries(st.integers(0, 24), st.sampled_from(kinds), max_size=4))
    def run(n, damage):
        damage = {k: v for k, v in damage.items() if k < n}
        f = tmp_path / f"gen{suffix}"
        f.write_bytes(_encode(head + "".join(gen(i, damage.get(i)) for i in range(n)) + tail))
        docs, rep = _read(f)
        assert rep.format == fmt
        assert rep.read + rep.failed == n == rep.seen, (rep, damage)
        first = min(damage, default=n)
        ids = {d.document_id for d in docs}
        assert {_id_of(fmt, i) for i in range(first)} <= ids  # every undamaged record before the damage
        undamaged = {_id_of(fmt, i) for i in range(n) if damage.get(i) != "junk"}
        if fmt not in ("medline", "pmc", "endnote_xml"):  # line formats resume after the damage
            assert undamaged <= ids

    run()


@pytest.mark.parametrize("fmt", sorted(FORMATS))
def test_truncated_gzip_keeps_every_complete_record(tmp_path, fmt):
    suffix, head, tail, gen, _kinds = FORMATS[fmt]
    n = 40
    parts = [_encode(head)] + [_encode(gen(i, None)) for i in range(n)]
    data = b"".join(parts) + _encode(tail)
    ends = []  # byte offset where each record ends
    pos = len(parts[0])
    for p in parts[1:]:
        pos += len(p)
        ends.append(pos)
    full = gzip.compress(data)

    @SETTINGS
    @given(frac=st.floats(0.05, 0.98))
    def run(frac):
        cut = int(len(full) * frac)
        out = zlib.decompressobj(zlib.MAX_WBITS | 16).decompress(full[:cut])
        complete = sum(1 for e in ends if e + 1 <= len(out))  # a record followed by at least one more byte
        f = tmp_path / f"cut{suffix}.gz"
        f.write_bytes(full[:cut])
        docs, rep = _read(f)
        assert rep.seen == rep.read + rep.failed
        ids = {d.document_id for d in docs}
        assert {_id_of(fmt, i) for i in range(complete)} <= ids, (complete, rep)
        assert any("gzip" in e for e in rep.errors + rep.messages) or not out  # the damage is reported

    run()
