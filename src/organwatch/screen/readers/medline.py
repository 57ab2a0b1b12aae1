"""PubMed/MEDLINE XML reader: ``PubmedArticleSet`` (current), ``MedlineCitationSet`` (legacy leased/baseline
files, bare ``MedlineCitation`` records), single-record roots (``PubmedArticle``, ``PubmedBookArticle``), with
or without an XML declaration, plain or gzip. ``DeleteCitation`` lists are notes, not failures.

Streaming and bounded memory come from :mod:`organwatch.screen.readers.xmlstream`; the record count that the
reader is reconciled with comes from start tags counted in the raw bytes (:func:`counters`).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from organwatch.errors import RecordError
from organwatch.screen.documents import Document, TextBuilder, document_language, iso639, parse_year
from organwatch.screen.readers.stream import RecordCounter, Source
from organwatch.screen.readers.xmlstream import XmlRecords, text_of

_TAGS = ("PMID", "ArticleTitle", "VernacularTitle", "AbstractText", "OtherAbstract", "Year", "MedlineDate",
         "Affiliation", "Language", "BookTitle")
LEGACY_ROOTS = ("MedlineCitationSet", "MedlineCitation")


class _Fields:
    def __init__(self) -> None:
        self.pmid: str | None = None
        self.title: str | None = None
        self.book_title: str | None = None
        self.vernacular: str | None = None
        self.lang: str | None = None
        self.aff: str | None = None
        self.abstract: list[str] = []
        self.other: list[str] = []
        self.pub_year: int | None = None
        self.other_year: int | None = None


def _pmid(f: _Fields, node: Any, ptag: str) -> None:
    if f.pmid is None and ptag in ("MedlineCitation", "BookDocument"):
        f.pmid = (node.text or "").strip() or None


def _title(f: _Fields, node: Any, ptag: str) -> None:
    if f.title is None:
        f.title = text_of(node)


def _book_title(f: _Fields, node: Any, ptag: str) -> None:
    if f.book_title is None:
        f.book_title = text_of(node)


def _vernacular(f: _Fields, node: Any, ptag: str) -> None:
    f.vernacular = text_of(node)


def _abstract(f: _Fields, node: Any, ptag: str) -> None:
    if ptag == "OtherAbstract":
        return  # included with its OtherAbstract
    t = text_of(node)
    if t:
        label = node.get("Label")
        f.abstract.append(f"{label}: {t}" if label else t)


def _other_abstract(f: _Fields, node: Any, ptag: str) -> None:
    t = text_of(node)
    if t:
        f.other.append(t)


def _year(f: _Fields, node: Any, ptag: str) -> None:
    if ptag == "PubDate":
        f.pub_year = f.pub_year or parse_year(node.text)
    elif ptag in ("ArticleDate", "DateCompleted", "DateCreated"):
        f.other_year = f.other_year or parse_year(node.text)


def _affiliation(f: _Fields, node: Any, ptag: str) -> None:
    if f.aff is None:
        f.aff = text_of(node) or None


def _language(f: _Fields, node: Any, ptag: str) -> None:
    if f.lang is None:
        f.lang = node.text


_FIELD = {"PMID": _pmid, "ArticleTitle": _title, "BookTitle": _book_title, "VernacularTitle": _vernacular,
          "AbstractText": _abstract, "OtherAbstract": _other_abstract, "Year": _year, "MedlineDate": _year,
          "Affiliation": _affiliation, "Language": _language}


def build_article(el: Any, rec: int, file: str) -> Document:
    """One PubmedArticle / PubmedBookArticle / bare MedlineCitation in a single filtered traversal."""
    f = _Fields()
    for node in el.iter(_TAGS):
        parent = node.getparent()
        _FIELD[node.tag](f, node, parent.tag if parent is not None else "")
    if f.pmid is None:
        if el.tag != "MedlineCitation" and el.find("MedlineCitation") is None and el.find("BookDocument") is None:
            raise ValueError(f"empty <{el.tag}>: no MedlineCitation or BookDocument")
        raise ValueError("record has no PMID")
    f.title = f.title or f.book_title
    tb = TextBuilder()
    tb.add("title", f.title or "")
    tb.add("vernacular_title", f.vernacular)
    tb.add("abstract", "\n".join(f.abstract))
    tb.add("other_abstract", "\n".join(f.other))
    text = tb.text()
    declared = iso639(f.lang)
    return Document(document_id=f"PMID:{f.pmid}", file=file, record=rec, text=text, title=f.title or "",
                    year=f.pub_year or f.other_year, institution=f.aff, declared_language=declared,
                    language=document_language(text) or declared, line=el.sourceline, sections=tb.sections)


def counters(root: str) -> list[RecordCounter]:
    if root in LEGACY_ROOTS:
        return [RecordCounter(rb"<MedlineCitation[\s>]", 0, boundary=b"<")]
    return [RecordCounter(rb"<Pubmed(?:Book)?Article[\s>]", 0, boundary=b"<")]


def _deleted(el: Any) -> str | None:
    n = len(el.findall("PMID"))
    return f"{n} DeleteCitation PMIDs listed (deletions, not documents)" if n else None


def read_source(src: Source, file: str, root: str) -> Iterator[Document | RecordError]:
    tags = {"MedlineCitation"} if root in LEGACY_ROOTS else {"PubmedArticle", "PubmedBookArticle"}
    yield from XmlRecords(src, file, root, tags, lambda el, rec: build_article(el, rec, file),
                          notes={"DeleteCitation": _deleted})


def read_medline(path: Path) -> Iterator[Document | RecordError]:
    """Compatibility entry point (benchmarks): every record of one file, without reconciliation."""
    from organwatch.screen.readers.detect import xml_root
    from organwatch.screen.readers.stream import head_bytes

    root = xml_root(head_bytes(path).decode("utf-8", "replace")) or "PubmedArticleSet"
    yield from read_source(Source(path), str(path), root)
