"""EndNote tagged export reader (``%0 Journal Article`` ... records separated by blank lines).

Tags: %T title, %X abstract, %D year, %+ / %I institution (author address / publisher), %M accession,
%R DOI, %G language, %K keywords. Lines without a tag continue the previous field.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from organwatch.screen.documents import Document, RecordError, compose_text, parse_year
from organwatch.screen.readers.decode import decode_bytes


def _records(text: str) -> Iterator[tuple[int, list[tuple[str, str]]]]:
    fields: list[tuple[str, str]] = []
    start = 1
    for n, raw in enumerate(text.splitlines(), 1):
        line = raw.rstrip()
        if line.startswith("%0"):
            if fields:
                yield start, fields
            fields, start = [("%0", line[2:].strip())], n
        elif len(line) >= 2 and line[0] == "%" and (len(line) == 2 or line[2] in " \t"):
            fields.append((line[:2], line[3:].strip()))
        elif line.strip() and fields:
            tag, val = fields[-1]
            fields[-1] = (tag, f"{val} {line.strip()}")
        elif line.strip() and not fields:
            yield n, [("?", line)]
    if fields:
        yield start, fields


def read_endnote(path: Path) -> Iterator[Document | RecordError]:
    file = str(path)
    text, warn = decode_bytes(path.read_bytes())
    for rec, (line, fields) in enumerate(_records(text.lstrip("\ufeff")), 1):
        d: dict[str, list[str]] = {}
        for tag, val in fields:
            d.setdefault(tag, []).append(val)
        if "%0" not in d:
            yield RecordError(file, rec, "text outside an EndNote record (expected a %0 line)", line)
            continue
        title = " ".join(d.get("%T", []))
        abstract = " ".join(d.get("%X", []))
        if not title and not abstract:
            yield RecordError(file, rec, "record has no %T title or %X abstract", line)
            continue
        doc_id = (d.get("%M") or d.get("%R") or [f"{path.name}#{rec}"])[0]
        inst = (d.get("%+") or d.get("%I") or [None])[0]
        doc = Document(document_id=doc_id, file=file, record=rec, text=compose_text(title, abstract), title=title,
                       year=parse_year((d.get("%D") or [None])[0]), institution=inst,
                       language=(d.get("%G") or [None])[0], line=line)
        if warn:
            doc.errors.append(warn)
        yield doc
