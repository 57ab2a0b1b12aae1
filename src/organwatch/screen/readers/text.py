"""Plain-text reader: one document per file (GB18030/Big5/UTF-16 decoded, replacements reported)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from organwatch.screen.documents import Document, RecordError
from organwatch.screen.readers.decode import decode_bytes

MAX_TEXT_BYTES = 256 << 20


def read_text(path: Path, data: bytes | None = None) -> Iterator[Document | RecordError]:
    raw = data if data is not None else path.read_bytes()
    if len(raw) > MAX_TEXT_BYTES:
        yield RecordError(str(path), 1, f"text file larger than {MAX_TEXT_BYTES >> 20} MiB")
        return
    if b"\x00" in raw[:4096] and not raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        yield RecordError(str(path), 1, "binary content (NUL bytes), not a text file")
        return
    text, warn = decode_bytes(raw)
    first = next((ln.strip() for ln in text.splitlines() if ln.strip()), "")
    doc = Document(document_id=path.name, file=str(path), record=1, text=text, title=first[:300])
    if warn:
        doc.errors.append(warn)
    yield doc
