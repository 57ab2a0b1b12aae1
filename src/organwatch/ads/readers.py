"""Streaming readers of archived pages: WARC/ARC (plain or gzip), WACZ, Wayback CDX JSON + payloads, HTML/MHTML.

Every reader yields :class:`Capture` objects (one archived HTTP response, payload already de-chunked and
content-decoded by warcio) or :class:`~organwatch.errors.RecordError` (one per bad record; the batch goes on),
and keeps a :class:`FileStats` per input file (seen = read + failed). Only response records are pages; other
WARC record types (request, metadata, warcinfo, revisit) are counted as ``other``. Damaged archives: a
truncated gzip member or a bad record header costs one warning, then reading resumes at the next gzip member
(or ``WARC/1.`` / ARC header line) found after the damage. Memory is bounded: a payload is read in 64 KiB
pieces and a record whose decoded payload exceeds ``max_bytes`` is skipped with a warning (counted while
streaming, so a decompression bomb stops at the cap); HTML and MHTML files larger than the cap are refused.
"""

from __future__ import annotations

import email
import email.policy
import email.utils
import io
import json
import re
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from organwatch.errors import RecordError, display_name

MAX_BYTES = 16 << 20
CHUNK = 1 << 16
ARCHIVE_SUFFIXES = (".warc", ".warc.gz", ".arc", ".arc.gz", ".wacz")
HTML_SUFFIXES = (".html", ".htm", ".xhtml", ".shtml", ".mht", ".mhtml")
CDX_SUFFIXES = (".cdx", ".cdx.json", ".cdxj.json")
FORMATS = "WARC, WARC.gz, ARC, ARC.gz, WACZ, Wayback CDX JSON (with an id_ payload folder), HTML, MHTML, folders"
_GZ = b"\x1f\x8b\x08"
_ARC_LINE = re.compile(rb"^(?:https?|dns|ftp):\S+ \S+ \d{8,14} ")
_SAVED_FROM = re.compile(r"<!--\s*saved from url=\(\d+\)(\S+?)\s*-->", re.I)
_SINGLEFILE_URL = re.compile(r"^\s*url:\s*(\S+)\s*$", re.M)
_SINGLEFILE_DATE = re.compile(r"^\s*saved date:\s*(.+?)\s*$", re.M)
_CANONICAL = re.compile(r"<link[^>]+rel=[\"']?canonical[\"']?[^>]*href=[\"']([^\"']+)", re.I)


@dataclass
class Capture:
    source_file: str
    record: int  # 1-based record number in its file
    url: str | None
    capture_time: str | None  # ISO 8601 UTC
    archive_record: str  # WARC-Record-ID, or "<timestamp> <digest>" for CDX captures, or the file name
    payload: bytes
    content_type: str | None = None
    status: int | None = None
    digest: str | None = None
    format: str = ""
    archive_url: str | None = None  # a replay link when one exists (Wayback captures)


@dataclass
class FileStats:
    file: str
    format: str
    seen: int = 0
    read: int = 0
    failed: int = 0
    other: int = 0  # records that are not responses, or responses that are not pages (redirects, images)
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"file": self.file, "format": self.format, "seen": self.seen, "read": self.read,
                "failed": self.failed, "other": self.other, "notes": self.notes}


class TooLarge(Exception):
    pass


def read_capped(stream: IO[bytes] | Any, max_bytes: int) -> bytes:
    """Read a stream to its end in pieces, stopping with :class:`TooLarge` past ``max_bytes``."""
    buf = bytearray()
    while True:
        piece = stream.read(CHUNK)
        if not piece:
            return bytes(buf)
        buf += piece
        if len(buf) > max_bytes:
            raise TooLarge(f"payload larger than {max_bytes} bytes (--max-page-bytes); skipped")


def iso_time(value: str | None) -> str | None:
    """ISO 8601 UTC from a WARC date, a 14-digit Wayback/ARC timestamp or an e-mail date."""
    if not value:
        return None
    v = value.strip()
    if re.fullmatch(r"\d{8,14}", v):
        v = v.ljust(14, "0")
        try:
            return datetime.strptime(v, "%Y%m%d%H%M%S").replace(tzinfo=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        except ValueError:
            return None
    try:
        d = datetime.fromisoformat(v.replace("Z", "+00:00"))
    except ValueError:
        try:
            d = email.utils.parsedate_to_datetime(v)
        except (TypeError, ValueError, IndexError):
            return None
    if d.tzinfo is None:
        d = d.replace(tzinfo=UTC)
    return d.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def is_page(content_type: str | None, status: int | None) -> bool:
    if status is not None and not (200 <= status < 300):
        return False
    if not content_type:
        return True
    ct = content_type.lower()
    return any(t in ct for t in ("html", "text/plain", "xml", "text/"))


# -- WARC / ARC ---------------------------------------------------------------------------------------------
def _resync(fh: IO[bytes], start: int, gz: bool) -> int | None:
    """Offset of the next gzip member (or WARC/ARC header line) at or after ``start``; None at the end."""
    marks = (_GZ,) if gz else (b"WARC/1.", b"\nhttp://", b"\nhttps://", b"\nfiledesc:")
    pos = start
    tail = b""
    while True:
        fh.seek(pos)
        block = fh.read(1 << 20)
        if not block:
            return None
        data = tail + block
        base = pos - len(tail)
        found = [i for i in (data.find(m) for m in marks) if i >= 0]
        if found:
            i = min(found)
            return base + i + (1 if data[i:i + 1] == b"\n" else 0)
        tail = data[-12:]
        pos += len(block)


def _short(e: Exception) -> str:
    """A readable one-line reason (warcio quotes the bad bytes of a header in its message)."""
    text = str(e).split(", first line:")[0]
    text = "".join(ch for ch in text if ch.isprintable() and ord(ch) < 128)
    return (f"{type(e).__name__}: {' '.join(text.split())}"[:120]).rstrip(": ")


def _warc_capture(rec: Any, name: str, n: int, fmt: str, max_bytes: int) -> Capture | None:
    """A Capture from a warcio response record, or None when the record is not a page."""
    http = rec.http_headers
    status = None
    ctype = None
    if http is not None:
        try:
            status = int(http.get_statuscode() or 0) or None
        except ValueError:
            status = None
        ctype = http.get_header("Content-Type")
    if not is_page(ctype, status):
        return None
    h = rec.rec_headers
    payload = read_capped(rec.content_stream(), max_bytes)
    return Capture(source_file=name, record=n, url=h.get_header("WARC-Target-URI"),
                   capture_time=iso_time(h.get_header("WARC-Date")),
                   archive_record=h.get_header("WARC-Record-ID") or f"{name}#{n}", payload=payload,
                   content_type=ctype, status=status, digest=h.get_header("WARC-Payload-Digest"), format=fmt)


def iter_warc(fh: IO[bytes], name: str, fmt: str, stats: FileStats, max_bytes: int = MAX_BYTES
              ) -> Iterator[Capture | RecordError]:
    from warcio.archiveiterator import ArchiveIterator

    head = fh.read(256)
    gz = head[:3] == _GZ
    if not (gz or head.startswith((b"WARC/", b"filedesc:")) or _ARC_LINE.match(head)):
        stats.seen += 1
        stats.failed += 1
        yield RecordError(file=name, record=1, message="not a WARC or ARC file (no gzip member, WARC/ or ARC header "
                                                       "at the start)")
        return
    n = 0
    offset: int | None = 0
    while offset is not None:
        fh.seek(offset)
        it = ArchiveIterator(fh, arc2warc=True)
        last_end: int = offset
        try:
            for rec in it:
                n += 1
                if rec.rec_type != "response":
                    stats.other += 1
                    it.read_to_end()
                    last_end = it.get_record_offset() + it.get_record_length()
                    continue
                stats.seen += 1
                try:
                    cap = _warc_capture(rec, name, n, fmt, max_bytes)
                except TooLarge as e:
                    stats.failed += 1
                    yield RecordError(file=name, record=n, message=str(e), field="payload")
                    cap = None
                except Exception as e:  # noqa: BLE001 - one bad payload (content encoding, chunking) costs one warning
                    stats.failed += 1
                    yield RecordError(file=name, record=n, message=f"payload could not be decoded: {e}",
                                      field="payload")
                    cap = None
                else:
                    stats.read += 1
                    if cap is None:
                        stats.other += 1
                it.read_to_end()
                last_end = it.get_record_offset() + it.get_record_length()
                if cap is not None:
                    yield cap
            offset = None
            fh.seek(0, io.SEEK_END)
            rest = fh.tell() - last_end
            if rest > 0:
                fh.seek(last_end)
                if fh.read(min(rest, 64)).strip(b"\r\n\x00 "):
                    n += 1
                    stats.seen += 1
                    stats.failed += 1
                    yield RecordError(file=name, record=n, message=f"truncated: the last {rest} bytes are not a "
                                                                   "complete record")
        except Exception as e:  # noqa: BLE001 - damaged member or header: one warning, then resync
            n += 1
            stats.seen += 1
            stats.failed += 1
            msg = _short(e)
            yield RecordError(file=name, record=n, message=f"damaged record or gzip member ({msg}); "
                                                           "skipped to the next record")
            offset = _resync(fh, last_end + 1, gz)


# -- WACZ ---------------------------------------------------------------------------------------------------
def _wacz_index_count(z: zipfile.ZipFile) -> int | None:
    """Number of page responses the WACZ's CDXJ/CDX index lists (None without an index)."""
    import gzip

    total = None
    for nm in z.namelist():
        if not nm.startswith("indexes/") or not nm.endswith((".cdx", ".cdxj", ".cdx.gz", ".cdxj.gz")):
            continue
        total = total or 0
        with z.open(nm) as raw:
            with (gzip.open(raw) if nm.endswith(".gz") else raw) as fh:
                lines = list(io.TextIOWrapper(fh, encoding="utf-8", errors="replace"))
            for line in lines:
                i = line.find("{")
                if i < 0:
                    continue
                try:
                    d = json.loads(line[i:])
                except ValueError:
                    continue
                if str(d.get("status", "200")) == "200" and d.get("mime") != "warc/revisit":
                    total += 1
    return total


def iter_wacz(path: Path, name: str, stats: FileStats, max_bytes: int) -> Iterator[Capture | RecordError]:
    try:
        z = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as e:
        stats.seen += 1
        stats.failed += 1
        yield RecordError(file=name, message=f"not a readable WACZ (zip) file: {e}")
        return
    with z:
        members = [m for m in z.namelist() if m.startswith("archive/") and m.endswith((".warc", ".warc.gz", ".arc",
                                                                                          ".arc.gz"))]
        if not members:
            stats.notes.append("no archive/*.warc[.gz] member")
        pages = 0
        for m in members:
            with z.open(m) as fh:
                for item in iter_warc(fh, f"{name}!{m}", "wacz", stats, max_bytes):
                    if isinstance(item, Capture):
                        pages += 1
                    yield item
        try:
            indexed = _wacz_index_count(z)
        except (OSError, zipfile.BadZipFile, EOFError) as e:
            stats.notes.append(f"index unreadable: {e}")
            indexed = None
        if indexed is not None and indexed > pages:
            note = f"the index lists {indexed} page responses, {pages} were read from the archive members"
            stats.notes.append(note)
            yield RecordError(file=name, message=note, field="indexes", note=True)


# -- Wayback CDX JSON + id_ payloads -------------------------------------------------------------------------
CDX_FIELDS = ["urlkey", "timestamp", "original", "mimetype", "statuscode", "digest", "length"]


def _cdx_rows(path: Path) -> tuple[list[str], list[list[str]]]:
    text = path.read_text(encoding="utf-8", errors="replace")
    s = text.lstrip()
    if s.startswith("["):
        rows = json.loads(s)
        if not rows or not isinstance(rows, list):
            return CDX_FIELDS, []
        if isinstance(rows[0], list) and "timestamp" in rows[0]:
            return [str(x) for x in rows[0]], [[str(x) for x in r] for r in rows[1:]]
        return CDX_FIELDS, [[str(x) for x in r] for r in rows]
    lines = [ln.split() for ln in text.splitlines() if ln.strip()]
    if lines and lines[0][0] in ("CDX", " CDX"):
        lines = lines[1:]
    return CDX_FIELDS, lines


def payload_dirs(cdx: Path, explicit: Path | None) -> list[Path]:
    stem = cdx.name.split(".")[0]
    cands = [explicit] if explicit else []
    cands += [cdx.parent / f"{stem}_payloads", cdx.parent / stem, cdx.parent / "payloads"]
    return [d for d in cands if d is not None and d.is_dir()]


def _payload_index(dirs: list[Path]) -> dict[str, list[Path]]:
    """Payload files keyed by every 14-digit timestamp, ``<timestamp>id_`` and digest-like token in their path."""
    idx: dict[str, list[Path]] = {}
    for d in dirs:
        for p in sorted(d.rglob("*")):
            if not p.is_file():
                continue
            rel = str(p.relative_to(d))
            for tok in set(re.findall(r"\d{14}(?:id_)?|[A-Z2-7]{32}", rel)):
                idx.setdefault(tok.removesuffix("id_"), []).append(p)
    return idx


def _pick(cands: list[Path], url: str) -> Path | None:
    if len(cands) == 1:
        return cands[0]
    host = re.sub(r"^[a-z]+://", "", url or "").split("/")[0]
    for p in cands:
        if host and host in str(p):
            return p
    return None


def iter_cdx(path: Path, name: str, stats: FileStats, max_bytes: int, payloads: Path | None
             ) -> Iterator[Capture | RecordError]:
    try:
        header, rows = _cdx_rows(path)
    except (ValueError, OSError) as e:
        stats.seen += 1
        stats.failed += 1
        yield RecordError(file=name, message=f"not a readable CDX file: {e}")
        return
    idx = _payload_index(payload_dirs(path, payloads))
    if not idx:
        stats.notes.append("no payload folder found (NAME_payloads/, NAME/ or payloads/ next to the CDX file, "
                           "or --payloads)")
    col = {k: i for i, k in enumerate(header)}
    for n, row in enumerate(rows, 1):
        stats.seen += 1
        try:
            ts, url = row[col["timestamp"]], row[col["original"]]
            mime = row[col["mimetype"]] if "mimetype" in col else None
            status = row[col["statuscode"]] if "statuscode" in col else "200"
            digest = row[col["digest"]] if "digest" in col else ""
        except (IndexError, KeyError):
            stats.failed += 1
            yield RecordError(file=name, record=n, message="CDX row has too few fields", field="timestamp")
            continue
        if not is_page(mime, int(status) if status.isdigit() else None):
            stats.read += 1
            stats.other += 1
            continue
        p = _pick(idx.get(digest, []) or idx.get(ts, []), url)
        if p is None:
            stats.failed += 1
            yield RecordError(file=name, record=n, field="digest",
                              message=f"no payload file for capture {ts} {digest or ''} of {url}")
            continue
        try:
            if p.stat().st_size > max_bytes:
                raise TooLarge(f"payload larger than {max_bytes} bytes (--max-page-bytes); skipped")
            with open(p, "rb") as fh:
                data = read_capped(fh, max_bytes)
        except (TooLarge, OSError) as e:
            stats.failed += 1
            yield RecordError(file=name, record=n, message=str(e), field="payload")
            continue
        stats.read += 1
        yield Capture(source_file=name, record=n, url=url, capture_time=iso_time(ts),
                      archive_record=f"{ts} {digest}".strip(), payload=data, content_type=mime, digest=digest,
                      format="cdx", archive_url=f"https://web.archive.org/web/{ts}/{url}")


# -- saved HTML / MHTML -------------------------------------------------------------------------------------
def _html_meta(data: bytes) -> tuple[str | None, str | None]:
    head = data[:8192].decode("latin-1")
    url = None
    when = None
    m = _SAVED_FROM.search(head) or _SINGLEFILE_URL.search(head) or _CANONICAL.search(head)
    if m:
        url = m.group(1)
    d = _SINGLEFILE_DATE.search(head)
    if d:
        when = _singlefile_date(d.group(1))
    return url, when


def _singlefile_date(v: str) -> str | None:
    v = re.sub(r"\s*\(.*\)$", "", v).strip()
    for fmt in ("%a %b %d %Y %H:%M:%S GMT%z", "%a %b %d %Y %H:%M:%S %Z%z"):
        try:
            return datetime.strptime(v, fmt).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        except ValueError:
            continue
    return iso_time(v)


def iter_html(path: Path, name: str, stats: FileStats, max_bytes: int) -> Iterator[Capture | RecordError]:
    stats.seen += 1
    try:
        if path.stat().st_size > max_bytes:
            raise TooLarge(f"file larger than {max_bytes} bytes (--max-page-bytes); skipped")
        data = path.read_bytes()
    except (TooLarge, OSError) as e:
        stats.failed += 1
        yield RecordError(file=name, record=1, message=str(e))
        return
    if path.suffix.lower() in (".mht", ".mhtml"):
        yield from _mhtml(data, name, stats)
        return
    url, when = _html_meta(data)
    stats.read += 1
    yield Capture(source_file=name, record=1, url=url, capture_time=when, archive_record=name, payload=data,
                  content_type=None, format="html")


def _mhtml(data: bytes, name: str, stats: FileStats) -> Iterator[Capture | RecordError]:
    msg = email.message_from_bytes(data, policy=email.policy.compat32)
    when = iso_time(msg.get("Date"))
    url = msg.get("Snapshot-Content-Location")
    for part in msg.walk():
        if part.get_content_type() != "text/html":
            continue
        body = part.get_payload(decode=True)
        if not isinstance(body, bytes):
            continue
        stats.read += 1
        yield Capture(source_file=name, record=1, url=url or part.get("Content-Location"), capture_time=when,
                      archive_record=name, payload=body, content_type=part.get("Content-Type"), format="mhtml")
        return
    stats.failed += 1
    yield RecordError(file=name, record=1, message="MHTML file has no text/html part", field="Content-Type")


# -- dispatch -----------------------------------------------------------------------------------------------
def kind_of(path: Path) -> str | None:
    low = path.name.lower()
    if low.endswith(".wacz"):
        return "wacz"
    if low.endswith((".warc", ".warc.gz", ".arc", ".arc.gz")):
        return "arc" if ".arc" in low and ".warc" not in low else "warc"
    if low.endswith(CDX_SUFFIXES) or (low.endswith(".json") and "cdx" in low):
        return "cdx"
    if low.endswith(HTML_SUFFIXES):
        return "html"
    return None


def expand_inputs(inputs: list[Path]) -> list[Path]:
    """Files given and the supported files inside given folders (sorted; payload folders of CDX files and
    the payload files inside them are not inputs of their own)."""
    out: list[Path] = []
    for p in inputs:
        if p.is_dir():
            files = sorted(f for f in p.rglob("*") if f.is_file() and kind_of(f))
            payload_roots = {d for f in files if kind_of(f) == "cdx" for d in payload_dirs(f, None)}
            out.extend(f for f in files if not any(r in f.parents for r in payload_roots))
        else:
            out.append(p)
    return out


def read_file(path: Path, stats: FileStats, max_bytes: int = MAX_BYTES, payloads: Path | None = None,
              verbose: bool = False) -> Iterator[Capture | RecordError]:
    name = display_name(path, verbose)
    kind = stats.format
    if kind == "wacz":
        yield from iter_wacz(path, name, stats, max_bytes)
    elif kind in ("warc", "arc"):
        with open(path, "rb") as fh:
            yield from iter_warc(fh, name, kind, stats, max_bytes)
    elif kind == "cdx":
        yield from iter_cdx(path, name, stats, max_bytes, payloads)
    else:
        yield from iter_html(path, name, stats, max_bytes)
