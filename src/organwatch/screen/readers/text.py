"""Plain-text reader: one document per file (UTF-8/UTF-16/GB18030/Big5 decoded, the choice noted, not an
error); hyphenated line breaks rejoined through an offset map (``Document.origin_map``)."""

from __future__ import annotations

from collections.abc import Iterator

from organwatch.errors import RecordError
from organwatch.screen.documents import Document, document_language, rejoin_hyphens
from organwatch.screen.readers.decode import decode_bytes
from organwatch.screen.readers.stream import Source

MAX_TEXT_BYTES = 64 << 20  # one text document is held in memory (bytes, text, rejoined text): larger is refused


def read_source(src: Source, file: str) -> Iterator[Document | RecordError]:
    parts: list[bytes] = []
    size = 0
    for chunk in src.chunks():
        size += len(chunk)
        if size > MAX_TEXT_BYTES:
            src.drain_hash()
            yield RecordError(file, 1, f"text file larger than {MAX_TEXT_BYTES >> 20} MiB: refused")
            return
        parts.append(chunk)
    raw = b"".join(parts)
    del parts
    text, note = decode_bytes(raw)
    del raw
    if not text.strip():
        yield RecordError(file, 1, "empty text file")
        return
    clean, mapping = rejoin_hyphens(text)
    first = next((ln.strip() for ln in clean.splitlines() if ln.strip()), "")
    doc = Document(document_id=src.path.name, file=file, record=1, text=clean, title=first[:300],
                   language=document_language(clean), origin_map=mapping)
    if note:
        doc.notes.append(note)
    yield doc
