"""Streaming readers. ``iter_documents(paths, fmt)`` yields :class:`Document` or :class:`RecordError`.

Formats: medline (.xml, .xml.gz, directories of baseline files), ris, endnote (tagged ``%0``), cnki
(CNKI / NoteExpress / E-Study field exports), csv, tsv, jsonl, text, pdf. ``auto`` detects from the
extension and the first bytes. Each reader isolates per-record errors; a whole file that cannot be read
becomes one RecordError and the batch continues.
"""

from __future__ import annotations

import gzip
import zlib
from collections.abc import Iterable, Iterator
from pathlib import Path

from organwatch.errors import UsageError
from organwatch.screen.documents import Document, RecordError

FORMATS = ("auto", "medline", "ris", "endnote", "cnki", "csv", "tsv", "jsonl", "text", "pdf")
_EXT = {".xml": "medline", ".ris": "ris", ".enw": "endnote", ".csv": "csv", ".tsv": "tsv", ".tab": "tsv",
        ".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "jsonl", ".txt": "text", ".text": "text", ".pdf": "pdf",
        ".nbib": "ris", ".net": "cnki", ".es5": "cnki"}
_SKIP = {".parquet", ".gz.part", ".html", ".png", ".jpg", ".zip"}


def detect_format(path: Path, head: bytes) -> str:
    h = head.lstrip(b"\xef\xbb\xbf").lstrip()
    if h.startswith(b"%PDF"):
        return "pdf"
    if h.startswith(b"<?xml") or h.startswith(b"<PubmedArticleSet") or h.startswith(b"<!DOCTYPE Pubmed") \
            or b"<PubmedArticle" in head[:4096] or b"<MedlineCitation" in head[:4096]:
        return "medline"
    if h.startswith(b"%0 ") or h.startswith(b"%0\t"):
        return "endnote"
    text = head[:4096].decode("utf-8", "ignore")
    if text.startswith("TY  -") or "\nTY  - " in text or text.startswith("PMID-") or "\nER  -" in text:
        return "ris"
    if text.startswith("{Reference Type}") or text.startswith("{") and "}:" in text[:200] or \
            (text.startswith("RT ") and ("\nT1 " in text or "\nAB " in text)) or "\nSrcDatabase-" in text or text.startswith("SrcDatabase-") or \
            text.startswith("DataType") or text.startswith("Title-题名"):
        return "cnki"
    suffixes = "".join(path.suffixes[-2:]).lower()
    if suffixes.endswith(".xml.gz"):
        return "medline"
    ext = path.suffix.lower()
    if ext in _EXT and _EXT[ext] != "medline":
        return _EXT[ext]
    if h.startswith(b"{"):
        return "jsonl"
    return "text"


def _expand(paths: Iterable[str | Path]) -> Iterator[Path]:
    for p in paths:
        p = Path(p)
        if p.is_dir():
            for q in sorted(p.rglob("*")):
                if q.is_file() and not q.name.startswith(".") and q.suffix.lower() not in _SKIP:
                    yield q
        else:
            yield p


def _head(path: Path) -> bytes:
    with open(path, "rb") as fh:
        head = fh.read(8192)
    if head[:2] == b"\x1f\x8b":
        try:
            with gzip.open(path, "rb") as gz:
                return gz.read(8192)
        except (OSError, EOFError):
            return b""
    return head


def iter_documents(paths: Iterable[str | Path], fmt: str = "auto", pdf_workers: int = 1, jsonl_ranges: bool = False
                   ) -> Iterator[Document | RecordError]:
    """Documents and per-record errors of every input. With ``jsonl_ranges``, plain (not gzipped) JSONL
    files are yielded as :class:`~organwatch.screen.engine.RangeTask` items that workers read themselves."""
    if fmt not in FORMATS:
        raise UsageError(f"--input-format must be one of {', '.join(FORMATS)}, not '{fmt}'")
    pdfs: list[Path] = []
    for path in _expand(paths):
        if not path.exists():
            yield RecordError(str(path), None, "no such file or directory")
            continue
        try:
            f = fmt if fmt != "auto" else detect_format(path, _head(path))
        except OSError as e:
            yield RecordError(str(path), None, f"cannot read: {e.strerror or e}")
            continue
        if f == "jsonl" and jsonl_ranges and _maybe_plain(path):
            from organwatch.screen.engine import jsonl_ranges as _ranges

            yield from _ranges(str(path))
            continue
        if f == "pdf":  # batched so that a directory of PDFs is extracted by a process pool
            pdfs.append(path)
            if len(pdfs) >= 64:
                yield from _pdf_batch(pdfs, pdf_workers)
                pdfs = []
            continue
        try:
            yield from _dispatch(path, f, pdf_workers)
        except OSError as e:
            yield RecordError(str(path), None, f"cannot read: {e.strerror or e}")
    if pdfs:
        yield from _pdf_batch(pdfs, pdf_workers)


def _pdf_batch(paths: list[Path], workers: int) -> Iterator[Document | RecordError]:
    from organwatch.screen.readers.pdf import read_pdfs

    yield from read_pdfs(paths, workers=workers)


def _dispatch(path: Path, f: str, pdf_workers: int) -> Iterator[Document | RecordError]:
    if f == "medline":
        from organwatch.screen.readers.medline import read_medline
        yield from read_medline(path)
    elif f == "ris":
        from organwatch.screen.readers.ris import read_ris
        yield from read_ris(path)
    elif f == "endnote":
        from organwatch.screen.readers.endnote import read_endnote
        yield from read_endnote(path)
    elif f == "cnki":
        from organwatch.screen.readers.cnki import read_cnki
        yield from read_cnki(path)
    elif f == "jsonl":
        from organwatch.screen.readers.tabular import read_jsonl
        data, err = _gunzip_partial(path)
        yield from read_jsonl(path, data)
        if err:  # records before the damage were kept; the damage itself is one error
            yield RecordError(str(path), None, err)
    elif f in ("csv", "tsv"):
        from organwatch.screen.readers.tabular import read_delimited
        yield from read_delimited(path, "," if f == "csv" else "\t", _maybe_gunzip(path))
    elif f == "pdf":
        from organwatch.screen.readers.pdf import read_pdfs
        yield from read_pdfs([path], workers=pdf_workers)
    else:
        from organwatch.screen.readers.text import read_text
        yield from read_text(path, _maybe_gunzip(path))


def _maybe_plain(path: Path) -> bool:
    with open(path, "rb") as fh:
        return fh.read(2) != b"\x1f\x8b"


MAX_GUNZIP = 2 << 30


def _gunzip_partial(path: Path) -> tuple[bytes | None, str | None]:
    """Like :func:`_maybe_gunzip`, but a truncated/corrupt stream returns the complete lines decompressed
    before the damage and the error message (line-oriented formats keep those records)."""
    try:
        return _maybe_gunzip(path), None
    except _Truncated as e:
        data = e.partial
        cut = data.rfind(b"\n")
        return (data[:cut + 1] if cut >= 0 else b""), str(e.args[1])


class _Truncated(OSError):
    def __init__(self, msg: str, partial: bytes):
        super().__init__(0, msg)
        self.partial = partial


def _maybe_gunzip(path: Path) -> bytes | None:
    """Decompressed bytes of a .gz file (bounded: a zip bomb is refused), else None (read normally).

    Streams through zlib in 64 KiB pieces so that, when the stream is truncated or corrupt, everything
    decompressed before the damage is still available (raised as :class:`_Truncated`)."""
    with open(path, "rb") as fh:
        if fh.read(2) != b"\x1f\x8b":
            return None
    out = bytearray()
    d = zlib.decompressobj(zlib.MAX_WBITS | 16)
    with open(path, "rb") as fh:
        while True:
            chunk = fh.read(1 << 16)
            if not chunk:
                break
            while chunk:
                try:
                    out += d.decompress(chunk)
                except zlib.error as e:
                    raise _Truncated(f"corrupt gzip after {len(out)} bytes ({e})", bytes(out)) from None
                if len(out) > MAX_GUNZIP:
                    raise OSError(0, f"decompressed size exceeds {MAX_GUNZIP >> 30} GiB (possible zip bomb)")
                if d.eof and d.unused_data:  # concatenated gzip members
                    chunk = d.unused_data
                    d = zlib.decompressobj(zlib.MAX_WBITS | 16)
                else:
                    chunk = b""
    if not d.eof:
        raise _Truncated(f"truncated gzip after {len(out)} decompressed bytes", bytes(out))
    return bytes(out)


__all__ = ["Document", "RecordError", "iter_documents", "detect_format", "FORMATS"]
