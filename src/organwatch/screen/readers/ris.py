"""RIS reader (rispy), streaming record by record so a broken record does not lose the others."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import rispy

from organwatch.screen.documents import Document, RecordError, compose_text, parse_year
from organwatch.screen.readers.decode import decode_bytes


def _records(lines) -> Iterator[tuple[int, str]]:
    """Split RIS lines into (start line, record text) at ER lines, streaming."""
    buf: list[str] = []
    start = 1
    for n, line in enumerate(lines, 1):
        line = line.rstrip("\r\n")
        if not buf:
            if not line.strip():
                continue
            start = n
        buf.append(line)
        if line.startswith("ER  -") or line.rstrip() == "ER  -" or line.strip() == "ER":
            yield start, "\n".join(buf) + "\n"
            buf = []
    if any(b.strip() for b in buf):
        yield start, "\n".join(buf) + "\n"


def _first(entry: dict, *keys: str) -> str:
    for k in keys:
        v = entry.get(k)
        if isinstance(v, list):
            v = "; ".join(str(x) for x in v if x)
        if v:
            return str(v)
    return ""


def _encoding(path: Path) -> tuple[str, str | None]:
    """Encoding chosen from the first 1 MiB (UTF-8, else GB18030/Big5 by decode_bytes), read streaming."""
    with open(path, "rb") as fh:
        head = fh.read(1 << 20)
    try:
        head.decode("utf-8")
        return "utf-8-sig", None
    except UnicodeDecodeError as e:
        if e.start >= len(head) - 4:  # a multi-byte character cut at the 1 MiB boundary
            return "utf-8-sig", None
    _text, warn = decode_bytes(head)
    enc = (warn or "").removeprefix("decoded as ").strip()
    return (enc if enc in ("gb18030", "big5") else "utf-8"), warn


def read_ris(path: Path) -> Iterator[Document | RecordError]:
    file = str(path)
    enc, warn = _encoding(path)
    fh = open(path, encoding=enc, errors="replace", newline="")
    with fh:
        yield from _read(fh, path, file, warn)


def _read(lines, path: Path, file: str, warn: str | None) -> Iterator[Document | RecordError]:
    for rec, (line, chunk) in enumerate(_records(lines), 1):
        try:
            entries = rispy.loads(chunk, skip_unknown_tags=True, enforce_list_tags=False)
            if not entries:
                raise ValueError("no TY/ER record found")
            e = entries[0]
            title = _first(e, "title", "primary_title", "translated_title", "secondary_title")
            abstract = _first(e, "abstract", "notes_abstract")
            body = _first(e, "notes") if not abstract else ""
            if not title and not abstract:
                raise ValueError("record has no title or abstract")
            year = parse_year(_first(e, "year", "publication_year", "date"))
            doc_id = _first(e, "id", "doi", "accession_number", "url") or f"{path.name}#{rec}"
            inst = _first(e, "custom1") if False else _first(e, "address", "author_address")
            doc = Document(document_id=doc_id, file=file, record=rec, text=compose_text(title, abstract, body),
                           title=title, year=year, institution=inst or None,
                           language=_first(e, "language") or None, line=line)
            if warn:
                doc.errors.append(warn)
            yield doc
        except Exception as exc:  # rispy raises IOError/ValueError/KeyError variants on broken records
            yield RecordError(file, rec, f"{type(exc).__name__}: {exc}"[:300], line)
