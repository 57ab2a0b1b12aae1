"""The document a reader yields, and the failure a reader reports for one record."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Document:
    document_id: str
    file: str
    record: int  # 1-based record index within the file
    text: str  # the exact text screened; all offsets index it
    title: str = ""
    year: int | None = None
    institution: str | None = None
    language: str | None = None  # from metadata, when the source states it
    errors: list[str] = field(default_factory=list)
    line: int | None = None
    page_offsets: list[int] | None = None  # PDF: start offset of each page in ``text``


@dataclass
class RecordError:
    """One record a reader could not read; the batch continues."""

    file: str
    record: int | None
    message: str
    line: int | None = None

    def __str__(self) -> str:
        where = [self.file]
        if self.record is not None:
            where.append(f"record {self.record}")
        if self.line is not None:
            where.append(f"line {self.line}")
        return ", ".join(where) + ": " + " ".join(self.message.split())


def compose_text(title: str, *parts: str) -> str:
    """Title and body parts joined by blank lines (the screened text)."""
    return "\n\n".join(p for p in (title, *parts) if p)


def parse_year(value: object) -> int | None:
    if value is None:
        return None
    s = str(value)
    for i in range(len(s) - 3):
        chunk = s[i:i + 4]
        if chunk.isdigit() and (i == 0 or not s[i - 1].isdigit()) and (i + 4 == len(s) or not s[i + 4].isdigit()):
            y = int(chunk)
            if 1900 <= y <= 2100:
                return y
    return None


@dataclass
class ReaderNote(RecordError):
    """Information about a file that is not a failure (e.g. MEDLINE DeleteCitation PMIDs): reported in the
    summary, not counted as a failed record, not written as a record."""
