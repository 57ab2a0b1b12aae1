"""EndNote XML reader (``<xml><records><record>``; field text wrapped in ``<style>`` elements).

Fields: titles/title (else secondary-title), abstract, dates/year, auth-address, language,
electronic-resource-num (DOI), accession-num. Id: DOI, else accession number, else file#record.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from organwatch.errors import RecordError
from organwatch.screen.documents import Document, TextBuilder, document_language, iso639, parse_year
from organwatch.screen.readers.stream import RecordCounter, Source
from organwatch.screen.readers.xmlstream import XmlRecords, text_of


def build_record(el: Any, rec: int, file: str, name: str) -> Document:
    title = text_of(el.find("titles/title")) or text_of(el.find("titles/secondary-title"))
    abstract = text_of(el.find("abstract"))
    if not title and not abstract and not len(el):
        raise ValueError("empty <record>")
    tb = TextBuilder()
    tb.add("title", title)
    tb.add("abstract", abstract)
    text = tb.text()
    doi = text_of(el.find("electronic-resource-num"))
    acc = text_of(el.find("accession-num"))
    declared = iso639(text_of(el.find("language")))
    inst = text_of(el.find("auth-address")) or None
    return Document(document_id=(f"doi:{doi}" if doi else acc) or f"{name}#{rec}", file=file, record=rec,
                    text=text, title=title, year=parse_year(text_of(el.find("dates/year"))), institution=inst,
                    declared_language=declared, language=document_language(text) or declared, line=el.sourceline,
                    sections=tb.sections)


def counters(root: str) -> list[RecordCounter]:
    return [RecordCounter(rb"<record[\s>]", 0, boundary=b"<")]


def read_source(src: Source, file: str, root: str) -> Iterator[Document | RecordError]:
    name = src.path.name
    yield from XmlRecords(src, file, root, {"record"}, lambda el, rec: build_record(el, rec, file, name))
