"""PubMed/MEDLINE XML reader (.xml, .xml.gz): lxml iterparse with element clearing, flat memory.

Hostile input: entity declarations in the DTD (XXE, billion laughs) are refused before parsing; the parser
never resolves entities, loads DTDs or touches the network. ``DeleteCitation`` records are counted and
reported as deletions, not documents. A malformed record ends the file with one error naming the line;
records before it are kept.
"""

from __future__ import annotations

import gzip
import re
from collections.abc import Iterator
from pathlib import Path

from lxml import etree

from organwatch.screen.documents import Document, ReaderNote, RecordError, compose_text, parse_year

_ENTITY_DECL = re.compile(rb"<!ENTITY", re.IGNORECASE)


def _open(path: Path):
    with open(path, "rb") as fh:
        magic = fh.read(2)
    return gzip.open(path, "rb") if magic == b"\x1f\x8b" else open(path, "rb")


def _text(el) -> str:
    if el is None:
        return ""
    if len(el) == 0:  # no markup inside: the common case
        t = el.text or ""
        return " ".join(t.split()) if ("  " in t or "\n" in t or "\t" in t) else t.strip()
    return " ".join("".join(el.itertext()).split())


_TAGS = ("PMID", "ArticleTitle", "VernacularTitle", "AbstractText", "OtherAbstract", "Year", "MedlineDate",
         "Affiliation", "Language", "BookTitle")


def _article(el, file: str, rec: int) -> Document:
    """Fields of one PubmedArticle / PubmedBookArticle in a single C-level filtered traversal."""
    pmid = title = vernacular = lang = aff = None
    parts: list[str] = []
    pub_year = other_year = None
    in_other = None
    for node in el.iter(_TAGS):
        tag = node.tag
        parent = node.getparent()
        ptag = parent.tag if parent is not None else ""
        if tag == "PMID":
            if pmid is None and ptag in ("MedlineCitation", "BookDocument"):
                pmid = node.text
        elif tag == "ArticleTitle" or (tag == "BookTitle" and title is None):
            if title is None:
                title = _text(node)
        elif tag == "VernacularTitle":
            vernacular = _text(node)
        elif tag == "AbstractText":
            if in_other is not None and parent is in_other:
                continue  # included with its OtherAbstract
            t = _text(node)
            if t:
                label = node.get("Label")
                parts.append(f"{label}: {t}" if label else t)
        elif tag == "OtherAbstract":
            in_other = node
            t = _text(node)
            if t:
                parts.append(t)
        elif tag in ("Year", "MedlineDate"):
            if ptag == "PubDate":
                pub_year = pub_year or parse_year(node.text)
            elif ptag in ("ArticleDate", "DateCompleted"):
                other_year = other_year or parse_year(node.text)
        elif tag == "Affiliation":
            if aff is None:
                aff = _text(node)
        elif tag == "Language":
            if lang is None:
                lang = node.text
    if pmid is None or not pmid.strip():
        if el.find("MedlineCitation") is None and el.find("BookDocument") is None:
            raise ValueError("no MedlineCitation element")
        raise ValueError("record has no PMID")
    title = title or ""
    body = [vernacular] if vernacular else []
    return Document(document_id=f"PMID:{pmid.strip()}", file=file, record=rec,
                    text=compose_text(title, *body, *parts), title=title, year=pub_year or other_year,
                    institution=aff or None, language=lang, line=el.sourceline)


def read_medline(path: Path) -> Iterator[Document | RecordError]:
    file = str(path)
    try:
        with _open(path) as fh:
            head = fh.read(1 << 16)
    except (OSError, EOFError) as e:
        yield RecordError(file, None, f"cannot read: {e}")
        return
    if _ENTITY_DECL.search(head):
        yield RecordError(file, None, "XML declares entities (<!ENTITY>): refused to avoid external-entity "
                                      "fetching and entity expansion")
        return
    rec = 0
    deleted = 0
    try:
        with _open(path) as fh:
            ctx = etree.iterparse(fh, events=("end",), tag=("PubmedArticle", "PubmedBookArticle", "DeleteCitation"),
                                  resolve_entities=False, no_network=True, load_dtd=False, dtd_validation=False,
                                  huge_tree=False, recover=False)
            for _ev, el in ctx:
                if el.tag == "DeleteCitation":
                    deleted += len(el.findall("PMID"))
                else:
                    rec += 1
                    try:
                        yield _article(el, file, rec)
                    except ValueError as e:
                        yield RecordError(file, rec, str(e), el.sourceline)
                el.clear(keep_tail=True)
                while el.getprevious() is not None:
                    del el.getparent()[0]
    except etree.XMLSyntaxError as e:
        yield RecordError(file, rec + 1, f"malformed XML: {e.msg}", e.lineno)
    except (EOFError, OSError, gzip.BadGzipFile) as e:
        yield RecordError(file, rec + 1, f"truncated or unreadable input: {e}")
    if deleted:
        yield ReaderNote(file, None, f"{deleted} DeleteCitation PMIDs listed (deletions, not documents)")
