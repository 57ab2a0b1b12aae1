"""Tagged bibliographic exports, one line-driven reader for all of them: RIS, Web of Science/ISI, PubMed
MEDLINE text (.nbib), OVID, Refer/EndNote tagged (``%0``), RefWorks (``RT``), NoteExpress (``{Reference Type}:``)
and CNKI E-Study (``DataType:`` then ``Key-中文名: value`` lines).

Each format is a :class:`Syntax` row of the ``SYNTAX`` table (how a line splits into tag and value, which tag
starts or ends a record, the byte pattern the independent record count uses); which tags are titles, abstracts,
years, ids, institutions and languages is data (``tagged_fields.toml``). A record is built from its fields by
:func:`build`; only a record with no field at all is a failure.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

from organwatch.errors import RecordError
from organwatch.screen.documents import Document, TextBuilder, document_language, iso639, parse_year
from organwatch.screen.readers import stream
from organwatch.screen.readers.stream import RecordCounter

Tag = tuple[str, str] | None


def _rx_tag(rx: re.Pattern[str]) -> Callable[[str], Tag]:
    def parse(line: str) -> Tag:
        m = rx.match(line)
        return (m.group(1), (m.group(2) or "").strip()) if m else None
    return parse


_CNKI_TAG = re.compile(r"^(?:(DataType)|([A-Za-z][A-Za-z ]{0,29})-[^:：\s]{0,20})\s*[:：]\s?(.*)$")


def _cnki_tag(line: str) -> Tag:
    m = _CNKI_TAG.match(line)
    if not m:
        return None
    return (m.group(1) or m.group(2).strip()), m.group(3).strip()


_OVID_START = re.compile(r"^<(\d+)>\s*$")
_OVID_SHORT = re.compile(r"^([A-Z][A-Z0-9]{1,3}) {1,3}- ?(.*)$")  # Ovid's short-tag layout: "TI  - Title"


def _ovid_tag(line: str) -> Tag:
    """Ovid: ``<N>`` starts a record; field names stand alone on a line with the value indented below them,
    or (short-tag export) ``TI  - value``."""
    if _OVID_START.match(line):
        return "<N>", line.strip()[1:-1]
    if line[:1].isspace() or not line.strip():
        return None
    m = _OVID_SHORT.match(line)
    if m:
        return m.group(1), m.group(2).strip()
    return line.strip(), ""


@dataclass(frozen=True)
class Syntax:
    """How one tagged format is written."""

    name: str
    tag: Callable[[str], Tag]
    start: frozenset[str]  # tags that open a record
    end: frozenset[str] = frozenset()  # tags that close one (RIS ER, WoS ER)
    ignore: frozenset[str] = frozenset()  # file headers/trailers outside records (WoS FN, VR, EF)
    count: bytes = b""  # the independent record count: a line pattern (bytes regex, multiline)
    count_tail: bytes = b""  # RIS: a start line after the last ER is one more record (a record without ER)
    end_only: bool = False  # RIS: records end only at ER (a second TY inside a record does not split it)
    blank_starts: bool = False  # a tag line after a blank line opens a record (MEDLINE text)


SYNTAX: dict[str, Syntax] = {s.name: s for s in (
    Syntax("ris", _rx_tag(re.compile(r"^\ufeff?([A-Z][A-Z0-9]) {1,2}-(?: (.*)|()\s*)$")), frozenset({"TY"}),
           end=frozenset({"ER"}), count=rb"^(?:\xef\xbb\xbf)?ER(?:[ \t]{1,2}-|[ \t]*\r?$)",
           count_tail=rb"^(?:\xef\xbb\xbf)?TY {1,2}-", end_only=True),
    Syntax("wos", _rx_tag(re.compile(r"^\ufeff?([A-Z][A-Z0-9])(?: (.*)|()\s*)$")), frozenset({"PT"}),
           end=frozenset({"ER"}), ignore=frozenset({"FN", "VR", "EF"}), count=rb"^(?:\xef\xbb\xbf)?PT[ \t]"),
    Syntax("medline_text", _rx_tag(re.compile(r"^\ufeff?([A-Z][A-Z0-9]{0,3}) *- ?(.*)$")), frozenset({"PMID"}),
           count=rb"^PMID- |(?:^[ \t\r]*\n)+(?!PMID-)[A-Z][A-Z0-9]{0,3} *-", blank_starts=True),
    Syntax("ovid", _ovid_tag, frozenset({"<N>"}), count=rb"^<\d+>[ \t]*\r?$"),
    Syntax("endnote", _rx_tag(re.compile(r"^\ufeff?(%\S)(?:[ \t](.*)|()\s*)$")), frozenset({"%0"}),
           count=rb"^(?:\xef\xbb\xbf)?%0(?:[ \t]|\r?$)"),
    Syntax("refworks", _rx_tag(re.compile(r"^\ufeff?([A-Z][A-Z0-9])(?: (.*)|()\s*)$")), frozenset({"RT"}),
           count=rb"^(?:\xef\xbb\xbf)?RT[ \t]"),
    Syntax("noteexpress", _rx_tag(re.compile(r"^\ufeff?\{([^}]{1,60})\}\s*[:：]\s?(.*)$")),
           frozenset({"Reference Type"}), count=rb"^(?:\xef\xbb\xbf)?\{Reference Type\}"),
    Syntax("cnki", _cnki_tag, frozenset({"DataType"}), count=rb"^(?:\xef\xbb\xbf)?DataType[ \t]*(?::|\xef\xbc\x9a)"),
)}


def counter(fmt: str) -> RecordCounter:
    s = SYNTAX[fmt]
    return RecordCounter(s.count, tail=s.count_tail or None)


def count_records(c: RecordCounter, fmt: str) -> int:
    return c.count + (1 if SYNTAX[fmt].count_tail and c.tail_nonblank else 0)


@lru_cache(maxsize=1)
def field_roles() -> dict[str, dict[str, Any]]:
    path = Path(__file__).with_name("tagged_fields.toml")
    data = tomllib.loads(path.read_text("utf-8"))
    for fmt, roles in data.items():
        if fmt not in SYNTAX:
            raise ValueError(f"{path.name}: unknown format [{fmt}]")
        for role in ("title", "abstract", "year", "id", "institution", "language"):
            if not isinstance(roles.get(role), list):
                raise ValueError(f"{path.name}: [{fmt}] needs a list '{role}'")
    return data


@dataclass
class Record:
    start_line: int
    fields: list[tuple[str, list[str]]]  # (tag, value lines: the tag line's value, then continuation lines)
    size: int = 0


def split_records(lines: Iterator[str], syntax: Syntax) -> Iterator[Record]:
    """Records of a stream of lines; a record with no fields (text outside any record) is yielded empty."""
    cur: Record | None = None
    prev_blank = True
    for lineno, raw in enumerate(lines, 1):
        line = raw.rstrip("\r\n")
        if not line.strip().strip("\ufeff"):
            prev_blank = True
            continue
        tf = syntax.tag(line)
        was_blank, prev_blank = prev_blank, False
        if tf is not None and tf[0] in syntax.ignore:
            continue
        opens = tf is not None and (tf[0] in syntax.start or (syntax.blank_starts and was_blank))
        if opens and cur is not None and not syntax.end_only:  # RIS records end only at ER
            yield cur
            cur = None
        if cur is None:
            if tf is not None and tf[0] in syntax.end:  # an end line with no record open: an empty record
                yield Record(lineno, [])
                continue
            if not opens:
                continue  # text between records (after an ER, before the first %0, ...)
            cur = Record(lineno, [])
        cur.size += len(line)
        if cur.size > stream.MAX_RECORD_BYTES:  # keep counting, stop storing: build() refuses the record
            if tf is not None and tf[0] in syntax.end:
                yield cur
                cur = None
            continue
        if tf is not None:
            if tf[0] in syntax.end:
                yield cur
                cur = None
                continue
            cur.fields.append((tf[0], [tf[1]] if tf[1] else []))
        elif cur.fields:
            cur.fields[-1][1].append(line.strip())
    if cur is not None:
        yield cur


def _first(values: dict[str, list[str]], tags: list[str]) -> tuple[str, str]:
    for t in tags:
        for v in values.get(t, ()):
            if v and v.strip(" -;"):
                return t, v
    return "", ""


def _ident(fmt: str, values: dict[str, list[str]], roles: dict[str, Any]) -> str | None:
    tag, v = _first(values, roles["id"])
    if not v:
        return None
    v = v.strip().rstrip(".")
    if v.lower().startswith("doi:"):
        v = v[4:].strip()
        tag = tag if tag in (roles.get("id_prefix") or {}) else "__doi"
        if tag == "__doi":
            return f"doi:{v}"
    if "cnki" in v.lower() and "filename=" in v.lower():
        q = {k.lower(): x for k, x in parse_qs(urlparse(v).query).items()}
        if q.get("filename"):
            return f"CNKI:{q['filename'][0]}"
    if v.lower().startswith(("https://doi.org/", "http://doi.org/", "http://dx.doi.org/", "https://dx.doi.org/")):
        return "doi:" + v.split("doi.org/", 1)[1]
    if fmt == "medline_text" and tag in ("LID", "AID"):
        v = v.split(" [")[0]
        return f"doi:{v}" if v.startswith("10.") else v
    prefixes = roles.get("id_prefix") or {}
    return f"{prefixes.get(tag, '')}{v}"


def build(rec: Record, fmt: str, file: str, name: str, index: int) -> Document:
    """A Document from one record's fields (roles from ``tagged_fields.toml``)."""
    if not rec.fields:
        raise ValueError("end of record without a record (no start tag before it)")
    if rec.size > stream.MAX_RECORD_BYTES:
        raise ValueError(f"record larger than {stream.MAX_RECORD_BYTES >> 20} MiB: refused (bounded memory)")
    roles = field_roles()[fmt]
    values: dict[str, list[str]] = {}
    for tag, parts in rec.fields:
        values.setdefault(tag, []).append(" ".join(parts).strip())
    _, title = _first(values, roles["title"])
    abstract: list[str] = []
    for t in roles["abstract"]:
        for v in values.get(t, ()):
            if v and v not in abstract:
                abstract.append(v)
    tb = TextBuilder()
    tb.add("title", title)
    _, vern = _first(values, roles.get("vernacular", []))
    tb.add("vernacular_title", vern)
    tb.add("abstract", "\n".join(abstract))
    text = tb.text()
    year = None
    for t in roles["year"]:
        year = next((y for y in (parse_year(v) for v in values.get(t, ())) if y), None)
        if year:
            break
    _, inst = _first(values, roles["institution"])
    _, lang = _first(values, roles["language"])
    declared = iso639(lang)
    doc = Document(document_id=_ident(fmt, values, roles) or f"{name}#{index}", file=file, record=index,
                   text=text, title=title, year=year, institution=inst.strip(" ;|") or None,
                   declared_language=declared, language=document_language(text) or declared, line=rec.start_line,
                   sections=tb.sections)
    if not text:
        doc.notes.append("record has no title or abstract")
    return doc


def read_lines(lines: Iterator[str], fmt: str, file: str, name: str) -> Iterator[Document | RecordError]:
    syntax = SYNTAX[fmt]
    for index, rec in enumerate(split_records(lines, syntax), 1):
        try:
            yield build(rec, fmt, file, name, index)
        except ValueError as e:
            yield RecordError(file, index, str(e), rec.start_line)
