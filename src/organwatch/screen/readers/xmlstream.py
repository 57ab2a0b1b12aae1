"""Bounded-memory XML record streaming shared by the PubMed/MEDLINE, PMC JATS and EndNote XML readers.

lxml's pull parser is fed decompressed chunks from :class:`~organwatch.screen.readers.stream.Source`; after
every chunk the completed records are built into documents and cleared, and every other element the parser has
passed is deleted (the tree is swept along its open path), so memory stays flat whatever the file holds,
including millions of small non-record elements. Parser settings: no entity resolution, no DTD loading, no
network, no huge trees. Entity declarations (``<!ENTITY``) in the prolog are refused; the check runs on the
decoded bytes up to the root element, whatever their length or encoding (UTF-16 is re-encoded before it).
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable, Iterator
from typing import Any

from lxml import etree

from organwatch.errors import RecordError
from organwatch.screen.documents import Document
from organwatch.screen.readers.stream import MAX_RECORD_BYTES, Source

_ENTITY = re.compile(rb"<!ENTITY", re.I)
_DECL_ENC = re.compile(rb"^(\s*<\?xml[^>]*?encoding\s*=\s*)(['\"])[^'\"]*\2", re.I)

Builder = Callable[[Any, int], Document]


def _parser(tags: set[str]) -> etree.XMLPullParser:
    return etree.XMLPullParser(events=("start", "end"), tag=sorted(tags), resolve_entities=False, no_network=True,
                               load_dtd=False, dtd_validation=False, huge_tree=False, remove_comments=True,
                               remove_pis=True, recover=False)


def _sweep(root: Any, record_tags: set[str]) -> None:
    """Delete every finished element along the open path from the root (never inside an open record)."""
    node = root
    while node is not None and node.tag not in record_tags:
        n = len(node)
        if n == 0:
            return
        if n > 1:
            del node[:-1]
        node = node[-1]


class XmlRecords:
    """Iterate the records of one XML file: Documents, RecordErrors and notes (see module docstring)."""

    def __init__(self, src: Source, file: str, root_tag: str, record_tags: set[str], build: Builder,
                 notes: dict[str, Callable[[Any], str | None]] | None = None) -> None:
        self.src, self.file, self.build = src, file, build
        self.record_tags = set(record_tags)
        self.note_tags = notes or {}
        self.tags = self.record_tags | set(self.note_tags) | ({root_tag} if root_tag else set())
        self.rec = 0
        self.root: Any = None
        self.open_record_at: int | None = None  # decompressed byte count when the open record started
        self.fed = 0

    def __iter__(self) -> Iterator[Document | RecordError]:
        parser = _parser(self.tags)
        chunks = self.src.chunks()
        first = True
        prolog = True
        tail = b""
        for chunk in chunks:
            if first:
                chunk = _DECL_ENC.sub(rb"\1\2UTF-8\2", chunk, count=1) if self.src.transcoded else chunk
                first = False
            if prolog and _ENTITY.search(tail + chunk):
                yield RecordError(self.file, None, "XML declares entities (<!ENTITY>): refused (no entity expansion "
                                                   "or external fetching)")
                self.src.drain_hash()
                return
            self.fed += len(chunk)
            try:
                parser.feed(chunk)
                out = list(self._events(parser))
            except etree.XMLSyntaxError as e:
                yield from self._pending_then_error(parser, e)
                _drain(chunks)
                return
            except _TooLarge as e:
                yield RecordError(self.file, self.rec + 1, str(e))
                _drain(chunks)
                return
            prolog = self.root is None
            tail = chunk[-8:]
            yield from out
        try:
            parser.close()
            leftover = list(self._events(parser))
        except etree.XMLSyntaxError as e:
            yield from self._pending_then_error(parser, e)
            return
        yield from leftover

    def _pending_then_error(self, parser: Any, e: etree.XMLSyntaxError) -> Iterator[Document | RecordError]:
        with contextlib.suppress(etree.XMLSyntaxError, _TooLarge):  # events parsed before the damage still count
            yield from list(self._events(parser))
        where = self.src.damage or f"malformed XML: {e.msg}"
        if self.open_record_at is not None:
            yield RecordError(self.file, self.rec + 1, f"{where}; the record is incomplete", e.lineno)
        else:
            yield RecordError(self.file, None, f"{where} (after record {self.rec})", e.lineno)

    def _events(self, parser: Any) -> Iterator[Document | RecordError]:
        for ev, el in parser.read_events():
            tag = el.tag
            if ev == "start":
                if self.root is None:  # the root's own start event, or (root tag unknown) the first record's
                    self.root = el if tag not in self.record_tags else el.getroottree().getroot()
                if tag in self.record_tags:
                    self.open_record_at = self.fed
                continue
            if tag in self.record_tags:
                self.rec += 1
                self.open_record_at = None
                try:
                    yield self.build(el, self.rec)
                except ValueError as exc:
                    yield RecordError(self.file, self.rec, str(exc), el.sourceline)
                el.clear(keep_tail=False)
            elif tag in self.note_tags:
                msg = self.note_tags[tag](el)
                if msg:
                    yield RecordError(self.file, None, msg, el.sourceline, note=True)
                el.clear(keep_tail=False)
        if self.root is not None:
            _sweep(self.root, self.record_tags)
        if self.open_record_at is not None and self.fed - self.open_record_at > MAX_RECORD_BYTES:
            raise _TooLarge(f"record larger than {MAX_RECORD_BYTES >> 20} MiB: refused (bounded memory)")


class _TooLarge(Exception):
    pass


def _drain(chunks: Iterator[bytes]) -> None:
    """Read the rest of the file through the counters (records after the damage are counted, not parsed)."""
    for _ in chunks:
        pass


def text_of(el: Any) -> str:
    """Whitespace-normalised text of an element and its descendants ("" for None)."""
    if el is None:
        return ""
    if len(el) == 0:
        t = el.text or ""
        return " ".join(t.split())
    return " ".join("".join(el.itertext()).split())
