"""Byte streams for every reader: gzip decompressed while streaming and counted against a cap, the sha256 of the
file as stored, and an independent record count taken from the decompressed bytes as they pass.

Nothing here buffers a whole file: :class:`Source` yields chunks of at most ``CHUNK`` decompressed bytes. A
truncated or corrupt gzip stream ends the chunks and records the damage in ``Source.damage`` (everything
decompressed before it was yielded); a stream that decompresses past ``MAX_DECOMPRESSED`` is refused there
(``Source.damage`` names the cap), so a gzip bomb costs at most the cap in time and one chunk in memory.
"""

from __future__ import annotations

import hashlib
import io
import re
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

CHUNK = 1 << 16
MAX_DECOMPRESSED = 4 << 30  # documented in docs/screen-input.md: decompressed bytes per input file
MAX_RECORD_BYTES = 64 << 20  # one record (XML element, tagged record, row) larger than this is refused


class RecordCounter:
    """Counts matches of a bytes regex in a stream of chunks, independently of any parser.

    ``pattern`` is matched on line-aligned buffers (``(?m)^`` works); a match is counted once even across
    chunk boundaries. ``tail_nonblank`` tells whether non-blank bytes follow the last match (a record with no
    end marker), ``head_nonblank`` whether non-blank bytes precede the first one."""

    def __init__(self, pattern: bytes, flags: int = re.M, boundary: bytes = b"\n", tail: bytes | None = None) -> None:
        self.rx = re.compile(pattern, flags)
        self.tail_rx = re.compile(tail, flags) if tail else None  # what makes text after the last match a record
        self.boundary = boundary  # buffers are cut before the last boundary byte (b"<" for XML)
        self._prev_blank = boundary == b"\n"  # line mode: the stream start counts as a blank line
        self.count = 0
        self.carry = b""
        self.head_nonblank = False
        self.tail_nonblank = False
        self._seen_match = False

    def feed(self, chunk: bytes, final: bool = False) -> None:
        buf = self.carry + chunk
        if self.boundary == b"\n":
            cut = len(buf) if final else buf.rfind(b"\n") + 1
        else:
            cut = len(buf) if final else max(buf.rfind(self.boundary), 0)
        if cut <= 0:
            if len(buf) > MAX_RECORD_BYTES:  # one endless line: no record starts inside it
                self._blank(buf)
                buf = buf[-256:]
            self.carry = buf
            return
        part, self.carry = buf[:cut], buf[cut:]
        if self.boundary == b"\n":  # a blank line that ended the previous buffer still precedes this one
            blank = self._prev_blank
            body = part[:-1] if part.endswith(b"\n") else part
            self._prev_blank = body.rsplit(b"\n", 1)[-1].strip() == b""
            if blank:
                part = b"\n" + part
        last_end = -1
        for m in self.rx.finditer(part):
            if not self._seen_match:
                self.head_nonblank = bool(part[:m.start()].strip())
                self._seen_match = True
            self.count += 1
            nl = part.find(b"\n", m.end())
            last_end = nl if nl >= 0 else len(part)
        if last_end >= 0:
            self.tail_nonblank = self._tail(part, last_end)
        elif self.tail_rx is not None:
            self.tail_nonblank = self.tail_nonblank or self._tail(part, 0)
        else:
            self._blank(part)

    def _tail(self, part: bytes, pos: int) -> bool:
        if self.tail_rx is not None:
            return self.tail_rx.search(part, pos) is not None
        return bool(part[pos:].strip())

    def _blank(self, part: bytes) -> None:
        if part.strip():
            if self._seen_match:
                self.tail_nonblank = True
            else:
                self.head_nonblank = True

    def finish(self) -> None:
        if self.carry:
            self.feed(b"", final=True)
            self.carry = b""


_RECORD_LINE = re.compile(rb"[ \t]*[^\s]")
_WS_BYTE = bytes(int(b in b" \t\n\r\f\v") for b in range(256))  # lookup: 1 for a whitespace byte


def count_record_lines(data: bytes | bytearray, end: int | None = None) -> int:
    """The count of ``RecordCounter(rb"^[ \\t]*[^\\s]")`` (non-blank lines) over ``data[:end]``, without one
    regex match per line: every line start is counted (newlines found with numpy), then the few lines that
    begin with a whitespace byte are checked one by one. ``data[:end]`` must start at a line start."""
    import numpy as np

    end = len(data) if end is None else end
    if end <= 0:
        return 0
    arr = np.frombuffer(data, dtype=np.uint8, count=end)
    starts = np.flatnonzero(arr[:-1] == 10) + 1  # line starts after an inner newline
    ws = np.frombuffer(_WS_BYTE, dtype=np.uint8)
    led = starts[ws[arr[starts]] == 1].tolist()  # lines that begin with a whitespace byte
    if ws[arr[0]]:
        led.insert(0, 0)
    return 1 + len(starts) - sum(1 for p in led if not _RECORD_LINE.match(data, p, end))


class Source:
    """One input file as a stream of decompressed chunks (see the module docstring)."""

    def __init__(self, path: Path, counters: list[RecordCounter] | None = None, cap: int | None = None) -> None:
        self.path = Path(path)
        self.counters = counters or []
        self.cap = cap if cap is not None else MAX_DECOMPRESSED
        self.sha = hashlib.sha256()
        self.raw_bytes = 0
        self.bytes_out = 0
        self.damage: str | None = None
        self.gzipped = False
        self.transcoded = False  # UTF-16 input re-encoded as UTF-8
        self.done = False
        self.line_mode = False  # line formats: a damaged stream drops its cut last line (never a half record line)

    def chunks(self) -> Iterator[bytes]:
        if not self.line_mode:
            yield from self._chunks()
            return
        tail = b""
        for chunk in self._chunks():
            data = tail + chunk
            cut = data.rfind(b"\n") + 1
            if cut == 0 and len(data) < 1 << 20:
                tail = data
                continue
            if cut == 0:
                cut = len(data)
            tail = data[cut:]
            yield data[:cut]
        if tail and not self.damage:
            yield tail

    def _chunks(self) -> Iterator[bytes]:
        with open(self.path, "rb") as fh:
            first = fh.read(CHUNK)
            self._hash(first)
            self.gzipped = first[:2] == b"\x1f\x8b"
            raw = self._raw(fh, first)
            gen = _utf16_to_utf8(self._gunzip(raw) if self.gzipped else raw, self)
            for chunk in gen:
                if not chunk:
                    continue
                self.bytes_out += len(chunk)
                if self.bytes_out > self.cap:
                    self.damage = (f"decompressed size exceeds the cap of {self.cap >> 20} MiB per file "
                                   "(possible zip bomb); nothing after it was read")
                    break
                for c in self.counters:
                    c.feed(chunk)
                yield chunk
            else:
                self.done = True
        if not (self.line_mode and self.damage):  # a damaged line stream's cut last line is not a record line
            for c in self.counters:
                c.finish()

    def _hash(self, data: bytes) -> None:
        self.sha.update(data)
        self.raw_bytes += len(data)

    def _raw(self, fh: io.BufferedReader, first: bytes) -> Iterator[bytes]:
        yield first
        while True:
            data = fh.read(CHUNK)
            if not data:
                return
            self._hash(data)
            yield data

    def _gunzip(self, raw: Iterator[bytes]) -> Iterator[bytes]:
        d = zlib.decompressobj(zlib.MAX_WBITS | 16)
        started = False
        for data in raw:
            while data:
                try:
                    out = d.decompress(data, CHUNK)
                except zlib.error as e:
                    self.damage = f"corrupt gzip data after {self.bytes_out} decompressed bytes ({e})"
                    return
                started = True
                yield out
                while d.unconsumed_tail:  # bounded output per call: a bomb never fills memory
                    try:
                        out = d.decompress(d.unconsumed_tail, CHUNK)
                    except zlib.error as e:
                        self.damage = f"corrupt gzip data after {self.bytes_out} decompressed bytes ({e})"
                        return
                    yield out
                    if self.bytes_out > self.cap:
                        return
                if d.eof:  # concatenated members (trailing zero padding is not a member)
                    data = d.unused_data if d.unused_data.strip(b"\x00") else b""
                    d = zlib.decompressobj(zlib.MAX_WBITS | 16)
                    started = False
                else:
                    data = b""
        if started and not d.eof:
            self.damage = f"truncated gzip stream after {self.bytes_out} decompressed bytes"

    @property
    def sha256(self) -> str:
        return self.sha.hexdigest()

    def drain_hash(self) -> None:
        """Finish the sha256 over the bytes a reader did not consume (it stopped early)."""
        if self.done:
            return
        self.sha = hashlib.sha256()
        self.raw_bytes = 0
        with open(self.path, "rb") as fh:
            while data := fh.read(1 << 20):
                self._hash(data)
        self.done = True


def _utf16_to_utf8(chunks: Iterator[bytes], src: Source | None = None) -> Iterator[bytes]:
    """UTF-16 (with a byte-order mark) is re-encoded as UTF-8 while streaming, so that every counter and
    reader sees one ASCII-compatible encoding; anything else passes unchanged."""
    import codecs

    it = iter(chunks)
    first = b""
    for first in it:
        if first:
            break
    if not first.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        if first:
            yield first
        yield from it
        return
    dec = codecs.getincrementaldecoder("utf-16")(errors="replace")
    if src is not None:
        src.transcoded = True
    yield dec.decode(first).encode("utf-8")
    for chunk in it:
        yield dec.decode(chunk).encode("utf-8")
    yield dec.decode(b"", final=True).encode("utf-8")


def head_bytes(path: Path, n: int = 1 << 16) -> bytes:
    """The first ``n`` decompressed bytes of a file (gzip or plain; UTF-16 re-encoded as UTF-8), for format
    detection and encoding choice."""
    with open(path, "rb") as fh:
        out = fh.read(n)
    if out[:2] == b"\x1f\x8b":
        d = zlib.decompressobj(zlib.MAX_WBITS | 16)
        try:
            out = d.decompress(out, n)
        except zlib.error:
            return b""
    if out.startswith((b"\xff\xfe", b"\xfe\xff")):
        return b"".join(_utf16_to_utf8(iter([out[:len(out) & ~1]])))
    return out


class ChunkReader(io.RawIOBase):
    """A file-like object over :meth:`Source.chunks` (for io.TextIOWrapper / csv)."""

    def __init__(self, chunks: Iterator[bytes]) -> None:
        self._it = chunks
        self._buf = b""

    def readable(self) -> bool:
        return True

    def readinto(self, b: Any) -> int:  # a writable buffer (bytearray/memoryview)
        while not self._buf:
            try:
                self._buf = next(self._it)
            except StopIteration:
                return 0
        n = min(len(b), len(self._buf))
        b[:n] = self._buf[:n]
        self._buf = self._buf[n:]
        return n
