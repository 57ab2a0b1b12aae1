"""Streaming readers. ``iter_documents(paths, fmt, reports=[])`` yields :class:`Document` or RecordError, and
appends one :class:`FileReport` per input file (format detected, sha256, seen = read + failed, notes).

Formats (detected by content, see :mod:`organwatch.screen.readers.detect`): PubMed/MEDLINE XML (current and
legacy, plain or gzip), PMC JATS, EndNote XML, MEDLINE text (.nbib), RIS, Web of Science/ISI, OVID, Refer/
EndNote tagged, RefWorks, NoteExpress, CNKI E-Study, CSV/TSV/JSONL, plain text, PDF. Every reader's count is
reconciled with an independent count of the file's records (start tags or record lines in the raw bytes); a
mismatch and a file with nothing readable are errors naming the file. Notes (``RecordError(note=True)``,
``Document.notes``) go to the file report, never into the record stream.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from organwatch.errors import RecordError, UsageError
from organwatch.screen.documents import Document
from organwatch.screen.readers.detect import FORMAT_NAMES, decode_head, detect_format, xml_root
from organwatch.screen.readers.stream import MAX_DECOMPRESSED, RecordCounter, Source, count_record_lines, head_bytes

FORMATS = ("auto", "medline", "pmc", "endnote_xml", "medline_text", "ris", "wos", "ovid", "endnote", "refworks",
           "noteexpress", "cnki", "csv", "tsv", "xlsx", "jsonl", "json", "text", "pdf")
SUPPORTED = ", ".join(FORMAT_NAMES[f] for f in FORMATS[1:])
_SKIP = {".parquet", ".part", ".html", ".png", ".jpg", ".jpeg", ".gif", ".zip", ".owproj", ".pyc"}
_TAGGED = ("medline_text", "ris", "wos", "ovid", "endnote", "refworks", "noteexpress", "cnki")
_XML = ("medline", "pmc", "endnote_xml")


@dataclass
class FileReport:
    """What one input file gave: seen = read + failed (``seen`` from an independent count)."""

    name: str
    path: str
    format: str
    sha256: str = ""
    seen: int = 0
    read: int = 0
    failed: int = 0
    notes: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)  # file-level problems (not one record)
    count_method: str = ""
    messages: list[str] = field(default_factory=list, repr=False)  # every failure message (no duplicates)

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "sha256": self.sha256, "format": self.format,
                "format_name": FORMAT_NAMES.get(self.format, self.format), "seen": self.seen, "read": self.read,
                "failed": self.failed, "notes": self.notes, "errors": self.errors}


def _expand(paths: Iterable[str | Path]) -> Iterator[Path]:
    for p in paths:
        p = Path(p)
        if p.is_dir():
            for q in sorted(p.rglob("*")):
                if q.is_file() and not q.name.startswith(".") and q.suffix.lower() not in _SKIP:
                    yield q
        else:
            yield p


def iter_documents(paths: Iterable[str | Path], fmt: str = "auto", pdf_workers: int = 1, jsonl_ranges: bool = False,
                   reports: list[FileReport] | None = None) -> Iterator[Any]:
    """Documents and per-record errors of every input (notes go to ``reports``). With ``jsonl_ranges``, plain
    (not gzipped) JSONL files are yielded as :class:`~organwatch.screen.engine.RangeTask` items that workers
    read themselves; their report has ``seen`` from a line count and ``read``/``failed`` left to the caller."""
    if fmt not in FORMATS:
        raise UsageError(f"--input-format must be one of {', '.join(FORMATS)}, not '{fmt}'")
    reports = reports if reports is not None else []
    pdfs: list[tuple[Path, FileReport]] = []
    for path in _expand(paths):
        rep = FileReport(path.name, str(path), "unknown")
        reports.append(rep)
        if not path.exists():
            rep.errors.append("no such file or directory")
            yield RecordError(rep.name, None, "no such file or directory")
            continue
        try:
            head = head_bytes(path)
            rep.format, head = _choose(path, head, fmt)
            if rep.format == "jsonl" and jsonl_ranges and _plain(path):
                yield from _ranges(path, rep)
                continue
            if rep.format == "pdf":  # batched so that a directory of PDFs is extracted by a process pool
                pdfs.append((path, rep))
                if len(pdfs) >= 64:
                    yield from _pdf_batch(pdfs, pdf_workers)
                    pdfs = []
                continue
            yield from _read_file(path, rep, head)
        except OSError as e:
            msg = f"cannot read: {e.strerror or e}"
            rep.errors.append(msg)
            yield RecordError(rep.name, None, msg)
    if pdfs:
        yield from _pdf_batch(pdfs, pdf_workers)


def _choose(path: Path, head: bytes, fmt: str) -> tuple[str, bytes]:
    """(format, head): the format detected from the head (a longer head when an XML prolog hides the root)."""
    detected = detect_format(path, head)
    if detected == "text" and head.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"<") and len(head) >= 1 << 16:
        # a long prolog (comments, internal subset) hides the root element: look further, once
        head = head_bytes(path, 1 << 22)
        detected = detect_format(path, head)
    if fmt == "auto":
        return detected, head
    if fmt == "cnki" and detected in ("noteexpress", "refworks", "cnki", "endnote"):
        return detected, head  # "cnki" names the CNKI family; the detected member decides the syntax
    return fmt, head


def _plain(path: Path) -> bool:
    with open(path, "rb") as fh:
        return fh.read(2) != b"\x1f\x8b"


# -- per-file reading with reconciliation ---------------------------------------------------------------------
def _account(items: Iterable[Document | RecordError], rep: FileReport) -> Iterator[Document | RecordError]:
    """Count what a reader yields into ``rep``; notes are collected (with counts), never yielded."""
    note_counts: dict[str, int] = {}
    for it in items:
        if isinstance(it, RecordError):
            if it.note:
                note_counts[it.message] = note_counts.get(it.message, 0) + 1
                continue
            it = RecordError(rep.name, it.record, it.message, it.line, it.field)
            rep.messages.append(it.message)
            if it.record is None:
                rep.errors.append(it.message)
            else:
                rep.failed += 1
            yield it
        else:
            rep.read += 1
            for note in it.notes:
                note_counts[note] = note_counts.get(note, 0) + 1
            yield it
    for msg, n in note_counts.items():
        rep.notes.append(msg if n == 1 else f"{msg} ({n} records)")


def _reconcile(rep: FileReport, seen: int, method: str) -> Iterator[RecordError]:
    rep.seen, rep.count_method = seen, method
    if rep.read + rep.failed != seen:
        msg = (f"count mismatch: the file holds {seen} records ({method}), {rep.read} were read and "
               f"{rep.failed} failed")
        if seen > rep.read + rep.failed:
            msg += f"; {seen - rep.read - rep.failed} records were lost after the damage and count as failed"
            rep.failed = seen - rep.read
        else:
            rep.seen = rep.read + rep.failed
        rep.errors.append(msg)
        yield RecordError(rep.name, None, msg)
    if rep.read == 0 and not rep.errors:
        msg = f"nothing readable in this {FORMAT_NAMES.get(rep.format, rep.format)} file ({rep.seen} records seen)"
        rep.errors.append(msg)
        yield RecordError(rep.name, None, msg)


def _read_file(path: Path, rep: FileReport, head: bytes) -> Iterator[Document | RecordError]:
    f = rep.format
    if not head.strip(b" \t\r\n\x00\xef\xbb\xbf") and f not in ("pdf", "xlsx") and _blank_file(path):
        rep.errors.append("empty file: no records")
        rep.sha256 = _sha256(path)
        yield RecordError(rep.name, None, "empty file: no records")
        return
    if f in ("binary", "xml"):
        what = ("binary content" if f == "binary"
                else f"XML with root <{xml_root(decode_head(head))}>")
        msg = f"{what} is not a supported format (supported: {SUPPORTED})"
        rep.errors.append(msg)
        rep.sha256 = _sha256(path)
        yield RecordError(rep.name, None, msg)
        return
    reader, counters, seen_of, method = _plan(path, f, head)
    src = Source(path, counters)
    src.line_mode = f not in _XML
    yield from _account(reader(src, str(path)), rep)
    if src.damage and not any(src.damage in e for e in rep.messages):
        rep.errors.append(src.damage)
        yield RecordError(rep.name, None, src.damage)
    src.drain_hash()
    rep.sha256 = src.sha256
    yield from _reconcile(rep, seen_of(), method)


def _blank_file(path: Path) -> bool:
    """Whether the whole (decompressed) file holds only white space."""
    src = Source(path)
    blank = all(not c.strip(b" \t\r\n\x00\xef\xbb\xbf") for c in src.chunks())
    return blank and src.damage is None  # a damaged or over-cap stream is reported by its reader


def _sha256(path: Path) -> str:
    src = Source(path)
    src.drain_hash()
    return src.sha256


Reader = Callable[[Source, str], Iterator[Any]]


def _plan(path: Path, f: str, head: bytes) -> tuple[Reader, list[RecordCounter], Callable[[], int], str]:
    """(reader, counters, seen-count function, count method) for one format."""
    if f in _XML:
        return _plan_xml(f, xml_root(decode_head(head)) or "")
    if f in _TAGGED:
        from organwatch.screen.readers import tagged

        c = tagged.counter(f)
        return (lambda src, file: _tagged(src, file, f), [c], lambda: tagged.count_records(c, f),
                f"record lines matching {tagged.SYNTAX[f].count.decode('ascii', 'replace')}")
    if f == "jsonl":
        c = RecordCounter(rb"^[ \t]*[^\s]")
        return _jsonl, [c], lambda: c.count, "non-blank lines"
    if f == "json":
        holder_j: list[int] = []
        return (lambda src, file: _json_array(src, file, holder_j), [], lambda: holder_j[0] if holder_j else 0,
                "elements of the top-level array")
    if f == "xlsx":
        holder_x: list[int] = []
        return (lambda src, file: _xlsx(src, file, holder_x), [], lambda: holder_x[0] if holder_x else 0,
                "rows of the first worksheet")
    if f in ("csv", "tsv"):
        holder: list[int] = []
        return (lambda src, file: _delimited(src, file, "\t" if f == "tsv" else _delim(head), holder), [],
                lambda: holder[0] if holder else 0, "rows parsed by the CSV reader")
    from organwatch.screen.readers.text import read_source as read_text

    return read_text, [], lambda: 1, "one document per file"


def _plan_xml(f: str, root: str) -> tuple[Reader, list[RecordCounter], Callable[[], int], str]:
    from organwatch.screen.readers import endnote_xml, medline, pmc

    mod = {"medline": medline, "pmc": pmc, "endnote_xml": endnote_xml}[f]
    counters = mod.counters(root)
    return (lambda src, file: mod.read_source(src, file, root), counters, lambda: sum(c.count for c in counters),
            f"start tags matching {counters[0].rx.pattern.decode('ascii', 'replace')}")


def _delim(head: bytes) -> str:
    first = decode_head(head).lstrip("\ufeff").split("\n", 1)[0]
    return ";" if first.count(";") > first.count(",") else ","


def _text_stream(src: Source, file: str, notes: list[str]):
    """A text stream over the source in the encoding chosen from the file's first MiB."""
    import io

    from organwatch.screen.readers.decode import choose_encoding
    from organwatch.screen.readers.stream import ChunkReader

    enc, note = choose_encoding(head_bytes(src.path, 1 << 20))
    if note:
        notes.append(note)
    raw = io.BufferedReader(ChunkReader(src.chunks()), buffer_size=1 << 16)
    return io.TextIOWrapper(raw, encoding=enc, errors="replace", newline="")


def _lines(fh, limit: int = 1 << 20) -> Iterator[str]:
    while True:
        line = fh.readline(limit)
        if not line:
            return
        yield line


def _with_notes(items: Iterable[Any], notes: list[str], file: str) -> Iterator[Any]:
    first = True
    for it in items:
        if first:
            for n in notes:
                yield RecordError(file, None, n, note=True)
            first = False
        yield it


def _tagged(src: Source, file: str, f: str) -> Iterator[Any]:
    from organwatch.screen.readers.tagged import read_lines

    notes: list[str] = []
    fh = _text_stream(src, file, notes)
    yield from _with_notes(read_lines(_lines(fh), f, file, src.path.name), notes, file)


def _jsonl(src: Source, file: str) -> Iterator[Any]:
    import io

    from organwatch.screen.readers.stream import ChunkReader
    from organwatch.screen.readers.tabular import read_jsonl_stream

    raw = io.BufferedReader(ChunkReader(src.chunks()), buffer_size=1 << 16)
    yield from read_jsonl_stream(raw, file)


def _delimited(src: Source, file: str, delimiter: str, holder: list[int]) -> Iterator[Any]:
    from organwatch.screen.readers.tabular import read_delimited_text

    notes: list[str] = []
    unknown: list[str] = []
    fh = _text_stream(src, file, notes)
    n = 0
    for it in read_delimited_text(fh, file, delimiter, unknown):
        if isinstance(it, Document) or it.record is not None:
            n += 1
        yield it
    holder.append(n)
    for note in notes:
        yield RecordError(file, None, note, note=True)
    if unknown:
        yield RecordError(file, None, "columns not in columns.toml, screened as text: " + ", ".join(unknown),
                          note=True)


def _json_array(src: Source, file: str, holder: list[int]) -> Iterator[Any]:
    from organwatch.screen.readers.tabular import read_json_array

    n = 0
    for it in read_json_array(src, file):
        if isinstance(it, Document) or it.record is not None:
            n += 1
        yield it
    holder.append(n)


def _xlsx(src: Source, file: str, holder: list[int]) -> Iterator[Any]:
    from organwatch.screen.readers.tabular import read_xlsx

    unknown: list[str] = []
    n = 0
    for it in read_xlsx(src.path, file, unknown):
        if isinstance(it, Document) or it.record is not None:
            n += 1
        yield it
    holder.append(n)
    if unknown:
        yield RecordError(file, None, "columns not in columns.toml, screened as text: " + ", ".join(unknown),
                          note=True)


def _ranges(path: Path, rep: FileReport) -> Iterator[Any]:
    """Byte-range tasks of a plain JSONL file; its sha256 and record count (non-blank lines) are taken from the
    same single read that finds the ranges, so the workers start on the first range at once."""
    import codecs

    from organwatch.screen.engine import jsonl_ranges as _split

    unknown = _first_line_unknown_keys(path)
    if unknown:
        rep.notes.append("columns not in columns.toml, screened as text (first line): " + ", ".join(unknown))
    rep.read = -1  # filled in by the caller from the workers' results
    rep.count_method = "non-blank lines"
    with open(path, "rb") as fh:
        head = fh.read(2)
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)) or path.stat().st_size > MAX_DECOMPRESSED:
        c = RecordCounter(rb"^[ \t]*[^\s]")  # UTF-16 or over the cap: counted as the streaming readers count
        src = Source(path, [c])
        for _ in src.chunks():
            pass
        rep.sha256, rep.seen = src.sha256, c.count
        yield from _split(str(path))
        return
    sha = hashlib.sha256()
    seen = 0

    def on_range(data: bytes | bytearray, n: int) -> None:
        nonlocal seen
        sha.update(memoryview(data)[:n])
        seen += count_record_lines(data, n)

    yield from _split(str(path), on_range=on_range)
    rep.sha256, rep.seen = sha.hexdigest(), seen


def _first_line_unknown_keys(path: Path) -> list[str]:
    """Keys of the first JSON object of a JSONL file that columns.toml does not know (named once, as for CSV)."""
    import json

    from organwatch.screen.readers.tabular import unknown_columns

    with open(path, "rb") as fh:
        for _ in range(100):
            line = fh.readline(1 << 20)
            if not line:
                return []
            if line.strip():
                try:
                    obj = json.loads(line)
                except ValueError:
                    return []
                return unknown_columns([str(k) for k in obj]) if isinstance(obj, dict) else []
    return []


def _pdf_batch(items: list[tuple[Path, FileReport]], workers: int) -> Iterator[Document | RecordError]:
    from organwatch.screen.readers.pdf import read_pdfs

    reps = {rep.path: rep for _, rep in items}
    for it in read_pdfs([p for p, _ in items], workers=workers, files=[str(p) for p, _ in items]):
        path = it.file
        rep = reps[path]
        yield from _account([it], rep)
        rep.sha256 = _sha256(Path(path))
        yield from _reconcile(rep, 1, "one document per file")


def read_medline(path: Path) -> Iterator[Document | RecordError]:  # compatibility (benchmarks)
    from organwatch.screen.readers.medline import read_medline as _rm

    return _rm(path)


__all__ = ["Document", "RecordError", "FileReport", "iter_documents", "detect_format", "FORMATS", "SUPPORTED"]
