"""CSV / TSV / JSONL readers: one document per row or line; bad rows are reported and skipped.

Columns recognised (case-insensitive): id / document_id / pmid; title; abstract; text / body / fulltext /
full_text; year / py / date; institution / affiliation / organ / ad; language / lang.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from pathlib import Path

from organwatch.screen.documents import Document, RecordError, compose_text, parse_year
from organwatch.screen.readers.decode import decode_bytes

ID_KEYS = ("document_id", "id", "pmid", "doi", "accession")
TITLE_KEYS = ("title", "ti", "题名", "篇名")
BODY_KEYS = ("abstract", "ab", "摘要", "text", "body", "fulltext", "full_text", "content")
YEAR_KEYS = ("year", "py", "publication_year", "date", "pubdate", "年", "年份")
INST_KEYS = ("institution", "affiliation", "organ", "ad", "单位", "机构")
LANG_KEYS = ("language", "lang", "la")


def _pick(row: dict, keys: tuple[str, ...]) -> object:
    low = {str(k).strip().lower(): v for k, v in row.items()}
    for k in keys:
        v = low.get(k)
        if v not in (None, ""):
            return v
    return None


def row_to_document(row: dict, file: str, record: int, line: int | None = None) -> Document:
    title = str(_pick(row, TITLE_KEYS) or "")
    low = {str(k).strip().lower(): v for k, v in row.items()}
    parts = [str(low[k]) for k in BODY_KEYS if low.get(k) not in (None, "")]
    if not title and not parts:
        raise ValueError("no title or text field (expected one of title, abstract, text, body)")
    doc_id = _pick(row, ID_KEYS)
    inst = _pick(row, INST_KEYS)
    lang = _pick(row, LANG_KEYS)
    return Document(document_id=str(doc_id) if doc_id is not None else f"{Path(file).name}#{record}",
                    file=file, record=record, text=compose_text(title, *parts), title=title,
                    year=parse_year(_pick(row, YEAR_KEYS)), institution=str(inst) if inst else None,
                    language=str(lang) if lang else None, line=line)


def _jsonl_lines(lines, file: str, first_line: int) -> Iterator[Document | RecordError]:
    """One document per non-empty line; the record index is the 1-based line number."""
    loads = json.loads
    for lineno, raw in enumerate(lines, first_line):
        if not raw.strip():
            continue
        try:
            try:
                obj = loads(raw)
            except UnicodeDecodeError:
                obj = loads(decode_bytes(raw)[0])
            if not isinstance(obj, dict):
                raise ValueError("line is not a JSON object")
            yield row_to_document(obj, file, lineno, lineno)
        except (ValueError, RecursionError, TypeError) as e:
            yield RecordError(file, lineno, f"{type(e).__name__}: {e}"[:300], lineno)


def read_jsonl(path: Path, data: bytes | None = None) -> Iterator[Document | RecordError]:
    file = str(path)
    if data is not None:
        yield from _jsonl_lines(data.splitlines(), file, 1)
        return
    with open(path, "rb") as fh:
        yield from _jsonl_lines(fh, file, 1)


def read_jsonl_range(path: str, start: int, end: int, first_line: int) -> Iterator[Document | RecordError]:
    with open(path, "rb") as fh:
        fh.seek(start)
        data = fh.read(end - start)
    yield from _jsonl_lines(data.split(b"\n"), path, first_line)


def read_delimited(path: Path, delimiter: str, data: bytes | None = None) -> Iterator[Document | RecordError]:
    file = str(path)
    raw = data if data is not None else path.read_bytes()
    text, warn = decode_bytes(raw)
    csv.field_size_limit(1 << 28)
    reader = csv.DictReader(io.StringIO(text, newline=""), delimiter=delimiter)
    rec = 0
    while True:
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error as e:
            rec += 1
            yield RecordError(file, rec, f"CSV error: {e}", reader.line_num)
            continue
        rec += 1
        try:
            if None in row:
                raise ValueError("row has more fields than the header")
            doc = row_to_document(row, file, rec, reader.line_num)
            if warn:
                doc.errors.append(warn)
            yield doc
        except ValueError as e:
            yield RecordError(file, rec, str(e), reader.line_num)
