"""Compiled multi-literal scanners over UTF-32-LE buffers: hyperscan (default) and google-re2 (fallback).

Text is scanned as UTF-32-LE code units (the code-point array the normaliser already holds), so a byte
offset divided by 4 is the character offset: no UTF-8 encoding and no offset conversion. Hits at byte
offsets that are not multiples of 4 (possible in principle across code-unit boundaries) are dropped.
Both backends return the same hits for the same buffer: every occurrence (overlapping ones included) of
every literal of the pack, as sorted arrays ``(literal id, char start, char end)``. The hyperscan backend is
one database scan per buffer; the RE2 backend uses an ``re2.Set`` to find which literals occur and then
enumerates their occurrences. Databases are compiled lazily and cached per process and pack.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Protocol

import numpy as np

from organwatch.errors import UsageError

BACKENDS = ("hyperscan", "re2")


class Scanner(Protocol):  # pragma: no cover - typing only
    backend: str

    def scan(self, buf: bytes) -> tuple[np.ndarray, np.ndarray, np.ndarray]: ...


def _sorted(ids: list[int], starts: list[int], ends: list[int]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    i = np.asarray(ids, dtype=np.int32)
    s = np.asarray(starts, dtype=np.int64)
    e = np.asarray(ends, dtype=np.int64)
    aligned = (s % 4 == 0) & (e % 4 == 0)
    i, s, e = i[aligned], s[aligned] // 4, e[aligned] // 4
    order = np.lexsort((i, e, s))
    return i[order], s[order], e[order]


def encode(text: str) -> bytes:
    """The buffer format both scanners read."""
    return text.encode("utf-32-le", "surrogatepass")


class HyperscanScanner:
    backend = "hyperscan"

    def __init__(self, literals: list[str]):
        import hyperscan

        self._hs = hyperscan
        self.db = hyperscan.Database(mode=hyperscan.HS_MODE_BLOCK)
        exprs = [b"".join(b"\\x%02x" % b for b in encode(lit)) for lit in literals]
        self.db.compile(expressions=exprs, ids=list(range(len(literals))),
                        flags=[hyperscan.HS_FLAG_SOM_LEFTMOST] * len(literals))
        self.scratch = hyperscan.Scratch(self.db)

    def scan(self, buf: bytes) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        ids: list[int] = []
        starts: list[int] = []
        ends: list[int] = []
        ai, as_, ae = ids.append, starts.append, ends.append

        def on_match(idx: int, frm: int, to: int, flags: int, ctx: object) -> None:
            ai(idx)
            as_(frm)
            ae(to)

        if len(buf):
            self.db.scan(buf, match_event_handler=on_match, scratch=self.scratch)
        return _sorted(ids, starts, ends)


class RE2Scanner:
    backend = "re2"

    def __init__(self, literals: list[str]):
        import re2

        self._re2 = re2
        opts = re2.Options()
        opts.encoding = re2.Options.Encoding.LATIN1
        opts.max_mem = 1 << 30
        self.opts = opts
        self.lits = [encode(lit) for lit in literals]
        self.set = re2.Set.SearchSet(opts)
        for b in self.lits:
            self.set.Add(re2.escape(b))
        self.set.Compile()
        self._compiled: dict[int, object] = {}

    def _pattern(self, i: int):
        p = self._compiled.get(i)
        if p is None:
            p = self._compiled[i] = self._re2.compile(self._re2.escape(self.lits[i]), self.opts)
        return p

    def scan(self, buf: bytes) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        ids: list[int] = []
        starts: list[int] = []
        ends: list[int] = []
        if not isinstance(buf, bytes):
            buf = bytes(buf)
        if buf:
            for i in sorted(self.set.Match(buf) or []):
                p = self._pattern(i)
                pos = 0
                while True:
                    m = p.search(buf, pos)
                    if m is None:
                        break
                    s, e = m.span()
                    ids.append(i)
                    starts.append(s)
                    ends.append(e)
                    pos = s + 1
        return _sorted(ids, starts, ends)


@lru_cache(maxsize=8)
def _cached(backend: str, key: str, literals: tuple[str, ...]):
    if backend == "hyperscan":
        return HyperscanScanner(list(literals))
    if backend == "re2":
        return RE2Scanner(list(literals))
    raise UsageError(f"--backend must be one of {', '.join(BACKENDS)}, not '{backend}'")


def get_scanner(backend: str, literals: list[str], key: str = "") -> HyperscanScanner | RE2Scanner:
    if backend == "auto":
        try:
            import hyperscan  # noqa: F401
            backend = "hyperscan"
        except ImportError:  # pragma: no cover - depends on platform wheels
            backend = "re2"
    return _cached(backend, key, tuple(literals))
