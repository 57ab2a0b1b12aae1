"""PMC JATS full-text reader (``.nxml``; ``<article>`` roots or ``<pmc-articleset>`` of articles).

The composed text keeps the article's structure as named sections with offsets into it: title, abstract(s),
one section per top-level body section (its heading first), affiliations. References, tables and figures'
data are not screened (captions are). Year from the publication date (epub, ppub, collection, pub); id
PMCID, else PMID, else DOI; language from ``xml:lang``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from organwatch.errors import RecordError
from organwatch.screen.documents import Document, TextBuilder, document_language, iso639, parse_year
from organwatch.screen.readers.stream import RecordCounter, Source
from organwatch.screen.readers.xmlstream import XmlRecords, text_of

_XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
_BLOCKS = ("p", "title", "caption", "list-item", "def", "disp-quote")
_SKIP = ("table", "ref-list", "fn-group", "xref", "table-wrap-foot", "supplementary-material")


def _block_text(el: Any) -> str:
    """Paragraph-like blocks of an element in document order, one per line (tables, references skipped)."""
    lines: list[str] = []
    for node in el.iter(_BLOCKS):
        if any(a.tag in _SKIP for a in node.iterancestors()):
            continue
        if node.tag in ("list-item", "caption") and node.find(".//p") is not None:
            continue  # its paragraphs come on their own
        t = text_of(node)
        if t:
            lines.append(t)
    return "\n".join(lines)


def _year(meta: Any) -> int | None:
    best: dict[str, int] = {}
    for d in meta.iter("pub-date"):
        kind = d.get("pub-type") or d.get("date-type") or "pub"
        y = parse_year(text_of(d.find("year")))
        if y:
            best.setdefault(kind, y)
    for kind in ("epub", "ppub", "pub", "collection", "epub-ppub", "nihms-submitted", "pmc-release"):
        if kind in best:
            return best[kind]
    return min(best.values()) if best else None


def _ident(meta: Any) -> str | None:
    ids = {(a.get("pub-id-type") or ""): (a.text or "").strip() for a in meta.iter("article-id")}
    for key, prefix in (("pmc", "PMCID:"), ("pmcid", "PMCID:"), ("pmid", "PMID:"), ("doi", "doi:")):
        v = ids.get(key)
        if v:
            return prefix + (v if key != "pmc" or v.upper().startswith("PMC") else "PMC" + v)
    return None


def build_article(el: Any, rec: int, file: str, name: str) -> Document:
    front = el.find("front")
    meta = front.find("article-meta") if front is not None else None
    if meta is None:
        raise ValueError("<article> without front/article-meta")
    tb = TextBuilder()
    title = text_of(meta.find("title-group/article-title"))
    tb.add("title", title)
    for ab in meta.iter("abstract", "trans-abstract"):
        tb.add(f"abstract{':' + ab.get('abstract-type') if ab.get('abstract-type') else ''}", _block_text(ab))
    body = el.find("body")
    if body is not None:
        for k, part in enumerate(body, 1):
            if not isinstance(part.tag, str):
                continue
            heading = text_of(part.find("title")) if part.tag == "sec" else ""
            tb.add(f"section {k}: {heading}" if heading else f"section {k}", _block_text(part))
    affs = [text_of(a) for a in (front.iter("aff") if front is not None else ())]
    tb.add("affiliations", "\n".join(a for a in affs if a))
    text = tb.text()
    declared = iso639(el.get(_XML_LANG))
    return Document(document_id=_ident(meta) or f"{name}#{rec}", file=file, record=rec, text=text, title=title,
                    year=_year(meta), institution=next((a for a in affs if a), None), declared_language=declared,
                    language=document_language(text) or declared, line=el.sourceline, sections=tb.sections)


def counters(root: str) -> list[RecordCounter]:
    return [RecordCounter(rb"<article[\s>]", 0, boundary=b"<")]


def read_source(src: Source, file: str, root: str) -> Iterator[Document | RecordError]:
    name = src.path.name
    yield from XmlRecords(src, file, root, {"article"}, lambda el, rec: build_article(el, rec, file, name))
