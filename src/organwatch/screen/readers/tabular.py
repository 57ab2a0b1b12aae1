"""CSV / TSV / JSONL readers: one document per row or line; bad rows are reported and the batch goes on.

Column roles (id, title, abstract, year, institution, language, meta) are data: ``columns.toml``, with CNKI and
Wanfang headers in Chinese and English (``Title-题名`` matches on either part). Every column that is not an
id/year/language/meta column is screened, title first; unknown columns are screened too and named once per
file in the summary. ``ORGANWATCH_SCREEN_TEXT_COLUMNS`` (set by ``--text-columns``) restricts the screened
columns to a comma-separated list.
"""

from __future__ import annotations

import csv
import io
import json
import os
import tomllib
from collections.abc import Iterator
from functools import lru_cache
from pathlib import Path

from organwatch.errors import RecordError
from organwatch.screen.documents import Document, TextBuilder, document_language, iso639, parse_year
from organwatch.screen.readers.decode import decode_bytes

_BODY_ROLES = ("title", "abstract", None)


@lru_cache(maxsize=1)
def _aliases() -> dict[str, str]:
    path = Path(__file__).with_name("columns.toml")
    data = tomllib.loads(path.read_text("utf-8"))["roles"]
    out: dict[str, str] = {}
    for role, names in data.items():
        if role not in ("id", "title", "abstract", "year", "institution", "language", "meta"):
            raise ValueError(f"{path.name}: unknown role '{role}'")
        for n in names:
            out.setdefault(str(n).strip().lower(), role)
    return out


@lru_cache(maxsize=4096)
def header_role(name: str) -> str | None:
    """Role of a column header, or None when unknown (then screened as text and named in the summary)."""
    key = str(name).strip().strip("\ufeff").lower()
    table = _aliases()
    if key in table:
        return table[key]
    if "-" in key:  # CNKI "Title-题名", "Organ-单位"
        for part in (key.split("-", 1)[0], key.split("-", 1)[1]):
            if part.strip() in table:
                return table[part.strip()]
    return None


def _selected() -> set[str] | None:
    env = os.environ.get("ORGANWATCH_SCREEN_TEXT_COLUMNS", "").strip()
    return {c.strip().lower() for c in env.split(",") if c.strip()} or None


def row_to_document(row: dict, file: str, record: int, line: int | None, chosen: set[str] | None) -> Document:
    """The document of one row (a JSON object, or a CSV/Excel row as a dict of header -> cell); ``chosen``:
    the text columns of ``ORGANWATCH_SCREEN_TEXT_COLUMNS`` (:func:`_selected`, read once per file by the
    readers, not once per row). Each column's role is looked up once, and the first usable value of every
    role (not empty, not a list or object) is taken in the same pass."""
    roles = [(k, header_role(k), v) for k, v in row.items()]
    first: dict[str, object] = {}
    for _k, role, v in roles:
        if role is not None and role not in first and v not in (None, "") and not isinstance(v, (dict, list)):
            first[role] = v
    tb = TextBuilder()
    title = str(first.get("title") or "").strip()
    tb.add("title", title)
    for k, role, v in roles:
        if role not in _BODY_ROLES or v in (None, "") or not isinstance(v, str):
            continue
        if chosen is not None and str(k).strip().lower() not in chosen:
            continue
        if role == "title" and v.strip() == title:
            continue
        tb.add(str(k), v.strip())
    text = tb.text()
    if not text and not any(v not in (None, "") for v in row.values()):
        raise ValueError("empty row")
    doc_id = first.get("id")
    inst = first.get("institution")
    declared = iso639(first.get("language"))
    doc = Document(document_id=str(doc_id).strip() if doc_id is not None else f"{Path(file).name}#{record}",
                   file=file, record=record, text=text, title=title, year=parse_year(first.get("year")),
                   institution=str(inst).strip(" ;") if inst else None, declared_language=declared,
                   language=document_language(text) or declared, line=line, sections=tb.sections)
    if not text:
        doc.notes.append("row has no text column")
    return doc


def unknown_columns(names: list[str]) -> list[str]:
    return [n for n in names if header_role(n) is None]


def _jsonl_lines(lines, file: str, first_line: int) -> Iterator[Document | RecordError]:
    """One document per non-empty line; the record index is the 1-based line number."""
    loads = json.loads
    name = Path(file).name  # messages name files by base name
    chosen = _selected()
    for lineno, raw in enumerate(lines, first_line):
        if raw is _TOO_LONG:
            from organwatch.screen.readers.stream import MAX_RECORD_BYTES

            yield RecordError(name, lineno, f"line longer than {MAX_RECORD_BYTES >> 20} MiB: refused", lineno)
            continue
        if not raw.strip():
            continue
        try:
            try:
                obj = loads(raw)
            except UnicodeDecodeError:
                obj = loads(decode_bytes(raw)[0])
            if not isinstance(obj, dict):
                raise ValueError("line is not a JSON object")
            yield row_to_document(obj, file, lineno, lineno, chosen)
        except (ValueError, RecursionError, TypeError) as e:
            yield RecordError(name, lineno, f"{type(e).__name__}: {e}"[:300], lineno)


def _bounded_lines(fh, limit: int) -> Iterator[bytes]:
    """Lines of a binary stream, each at most ``limit`` bytes: a longer line is replaced by a marker line
    (never held in memory)."""
    while True:
        line = fh.readline(limit + 1)
        if not line:
            return
        if len(line) > limit and not line.endswith(b"\n"):
            while True:  # skip the rest of the over-long line
                more = fh.readline(1 << 20)
                if not more or more.endswith(b"\n"):
                    break
            yield _TOO_LONG
            continue
        yield line


_TOO_LONG = b"\x00over-long line\x00"  # identity marker for an over-long line (compared with ``is``)


def read_jsonl_stream(fh, file: str) -> Iterator[Document | RecordError]:
    """JSON Lines from a binary stream (lines longer than the record cap are refused, never buffered)."""
    from organwatch.screen.readers.stream import MAX_RECORD_BYTES

    yield from _jsonl_lines(_bounded_lines(fh, MAX_RECORD_BYTES), file, 1)


def read_range_lines(path: str, start: int, end: int) -> list[bytes]:
    """The raw lines of the byte range ``[start, end)`` of a file (one read)."""
    with open(path, "rb") as fh:
        fh.seek(start)
        return fh.read(end - start).split(b"\n")


def read_jsonl_range(path: str, start: int, end: int, first_line: int,
                     lines: list[bytes] | None = None) -> Iterator[Document | RecordError]:
    """The documents of a byte range of a JSONL file (``lines``: its raw lines, when already read)."""
    yield from _jsonl_lines(read_range_lines(path, start, end) if lines is None else lines, path, first_line)


def read_delimited_text(text_fh: io.TextIOBase, file: str, delimiter: str,
                        header_note: list[str]) -> Iterator[Document | RecordError]:
    """Rows of a CSV/TSV text stream; ``header_note`` receives the unknown column names."""
    csv.field_size_limit(64 << 20)
    reader = csv.reader(text_fh, delimiter=delimiter)
    try:
        header = next(reader)
    except StopIteration:
        return
    except csv.Error as e:
        yield RecordError(file, None, f"CSV header unreadable: {e}", 1)
        return
    header = [h.strip().lstrip("\ufeff") for h in header]
    chosen = _selected()
    header_note.extend(unknown_columns([h for h in header if h]))
    rec = 0
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as e:
            rec += 1
            yield RecordError(file, rec, f"CSV error: {e}", reader.line_num)
            continue
        if not any(c.strip() for c in row):
            continue
        rec += 1
        if len(row) > len(header):
            yield RecordError(file, rec, f"row has {len(row)} fields, the header {len(header)}", reader.line_num)
            continue
        try:
            yield row_to_document(dict(zip(header, row, strict=False)), file, rec, reader.line_num, chosen)
        except ValueError as e:
            yield RecordError(file, rec, str(e), reader.line_num)


def read_json_array(src, file: str) -> Iterator[Document | RecordError]:
    """A JSON document holding an array of records (or one record), parsed whole: at most the record cap
    (``stream.MAX_RECORD_BYTES``); larger files should be JSON Lines."""
    from organwatch.screen.readers import stream

    parts: list[bytes] = []
    size = 0
    for chunk in src.chunks():
        size += len(chunk)
        if size > stream.MAX_RECORD_BYTES:
            src.drain_hash()
            yield RecordError(file, None, f"JSON document larger than {stream.MAX_RECORD_BYTES >> 20} MiB: refused "
                                          "(write JSON Lines, one record per line)")
            return
        parts.append(chunk)
    try:
        data = json.loads(decode_bytes(b"".join(parts))[0])
    except (ValueError, RecursionError) as e:
        yield RecordError(file, None, f"invalid JSON: {e}"[:300])
        return
    items = data if isinstance(data, list) else [data]
    chosen = _selected()
    for k, obj in enumerate(items, 1):
        if not isinstance(obj, dict):
            yield RecordError(file, k, "array element is not a JSON object")
            continue
        try:
            yield row_to_document(obj, file, k, None, chosen)
        except ValueError as e:
            yield RecordError(file, k, str(e))


def read_xlsx(path: Path, file: str, header_note: list[str]) -> Iterator[Document | RecordError]:
    """Rows of the first worksheet of an .xlsx workbook (openpyxl, read-only streaming), header in the first
    non-empty row (CNKI/Wanfang Excel exports)."""
    import zipfile

    import openpyxl

    try:
        wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except (OSError, ValueError, KeyError, zipfile.BadZipFile) as e:
        yield RecordError(file, None, f"unreadable Excel workbook: {type(e).__name__}: {e}"[:300])
        return
    try:
        rows = wb.worksheets[0].iter_rows(values_only=True) if wb.worksheets else iter(())
        header: list[str] | None = None
        rec = 0
        chosen = _selected()
        for line, row in enumerate(rows, 1):
            cells = ["" if v is None else str(v) for v in row]
            if not any(c.strip() for c in cells):
                continue
            if header is None:
                header = [c.strip() for c in cells]
                header_note.extend(unknown_columns([h for h in header if h]))
                continue
            rec += 1
            try:
                yield row_to_document(dict(zip(header, cells, strict=False)), file, rec, line, chosen)
            except ValueError as e:
                yield RecordError(file, rec, str(e), line)
    finally:
        wb.close()
