"""CNKI / NoteExpress / E-Study field exports.

Two shapes are recognised:
* CNKI "field" export: ``Title-题名: ...``, ``Author-作者: ...``, ``Organ-单位: ...``, ``Summary-摘要: ...``,
  ``Year-年: ...``, ``PubTime-发表时间: ...``, records separated by a blank line or ``SrcDatabase-来源库:``;
* NoteExpress / E-Study: ``{Reference Type}: Journal Article``, ``{Title}: ...``, ``{Abstract}: ...``,
  ``{Year}: ...``, ``{Author Address}: ...``, records starting at ``{Reference Type}``;
* RefWorks-style tagged export (CNKI "E-Study"/RefWorks option): ``RT Journal Article``, ``T1 ...``, ``AB ...``,
  ``YR ...``, ``AD ...``, records starting at ``RT``.
Keys are matched on their English or Chinese part. Unknown keys are ignored.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

from organwatch.screen.documents import Document, RecordError, compose_text, parse_year
from organwatch.screen.readers.decode import decode_bytes

_NE = re.compile(r"^\{([^}]{1,60})\}\s*[:：]\s?(.*)$")
_CNKI = re.compile(r"^([A-Za-z]{1,30})-([^:：]{0,20})\s*[:：]\s?(.*)$")
_RW = re.compile(r"^([A-Z][A-Z0-9]) (.*)$")
_RW_KEYS = {"RT": "reference type", "T1": "title", "AB": "abstract", "YR": "year", "AD": "address", "LA": "language",
            "DO": "doi", "UL": "url", "FD": "date"}
_START_KEYS = {"reference type", "srcdatabase", "datatype"}
TITLE = {"title", "题名", "篇名", "标题"}
ABSTRACT = {"abstract", "summary", "摘要"}
YEAR = {"year", "年", "pubtime", "发表时间", "date", "出版年"}
INST = {"organ", "单位", "author address", "作者单位", "机构", "address"}
ID = {"doi", "accession number", "url", "link", "filename", "文件名"}
LANG = {"language", "语种"}


def _fields(text: str) -> Iterator[tuple[int, list[tuple[str, str]]]]:
    rec: list[tuple[str, str]] = []
    start = 1
    for n, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line:
            if rec:
                yield start, rec
                rec = []
            continue
        m = _NE.match(line)
        keys: tuple[str, ...]
        rw = _RW.match(line) if m is None else None
        if m:
            keys, val = (m.group(1).strip().lower(),), m.group(2)
        elif rw and rw.group(1) in _RW_KEYS or (rw and rec and rec[0][0] == "reference type"):
            keys, val = (_RW_KEYS.get(rw.group(1), rw.group(1).lower()),), rw.group(2)
        else:
            m2 = _CNKI.match(line)
            if m2:
                keys, val = (m2.group(1).strip().lower(), m2.group(2).strip().lower()), m2.group(3)
            elif rec:
                k, v = rec[-1]
                rec[-1] = (k, f"{v} {line}")
                continue
            else:
                yield n, [("?", line)]
                continue
        if keys[0] in _START_KEYS and any(k[0] not in _START_KEYS for k in rec):
            yield start, rec
            rec = []
        if not rec:
            start = n
        for k in keys:
            rec.append((k, val))
    if rec:
        yield start, rec


def read_cnki(path: Path) -> Iterator[Document | RecordError]:
    file = str(path)
    text, warn = decode_bytes(path.read_bytes())
    for rec, (line, fields) in enumerate(_fields(text.lstrip("\ufeff")), 1):
        d: dict[str, str] = {}
        for k, v in fields:
            d.setdefault(k, v)

        def pick(keys: set[str]) -> str:
            for k in d:
                if k in keys and d[k]:
                    return d[k]
            return ""

        title, abstract = pick(TITLE), pick(ABSTRACT)
        if not title and not abstract:
            yield RecordError(file, rec, "record has no title or abstract field", line)
            continue
        doc = Document(document_id=pick(ID) or f"{path.name}#{rec}", file=file, record=rec,
                       text=compose_text(title, abstract), title=title, year=parse_year(pick(YEAR)),
                       institution=pick(INST) or None, language=pick(LANG) or None, line=line)
        if warn:
            doc.errors.append(warn)
        yield doc
