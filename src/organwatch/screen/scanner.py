"""Compiled multi-literal scanners over UTF-32-LE buffers: hyperscan (default) and google-re2 (fallback).

Text is scanned as fixed-width code units, so a byte offset divided by the width is the character offset
(no UTF-8 encoding, no offset conversion): UTF-16-LE (width 2) when every character of the chunk is in the
Basic Multilingual Plane, else UTF-32-LE (width 4). Hits at byte offsets that are not multiples of the width
(possible in principle across code-unit boundaries) are dropped.
Both backends return the same hits for the same buffer: every occurrence (overlapping ones included) of
every literal of the pack, as sorted arrays ``(literal id, char start, char end)``. The hyperscan backend is
one database scan per buffer; the RE2 backend uses an ``re2.Set`` to find which literals occur and then
enumerates their occurrences. Databases are compiled lazily and cached per process and pack, and the
hyperscan ones on disk too (:mod:`.buildcache`, keyed by the sha256 of the expressions and hyperscan's version).
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any, Protocol

import numpy as np

from organwatch.errors import UsageError

BACKENDS = ("hyperscan", "re2")


class Scanner(Protocol):  # pragma: no cover - typing only
    backend: str

    def scan(self, buf: bytes | memoryview, width: int = 4) -> tuple[np.ndarray, np.ndarray, np.ndarray]: ...


def lexorder(keys: list[tuple[np.ndarray, int]]) -> np.ndarray:
    """``np.lexsort`` of integer keys given most significant first, each with an exclusive upper bound of its
    values (all >= 0): one stable ``argsort`` of a composite int64 key when the bounds' product fits in 63
    bits (several times faster than ``lexsort``'s pass per key), else ``lexsort`` itself. Ties keep their
    input order in both."""
    total = 1
    for _, bound in keys:
        total *= max(int(bound), 1)
    if total >= 1 << 63:
        return np.lexsort(tuple([np.asarray(k) for k, _ in keys[::-1]]))
    comp = np.zeros(len(keys[0][0]), dtype=np.int64)
    for k, bound in keys:
        comp *= max(int(bound), 1)
        comp += k
    return np.argsort(comp, kind="stable")


def _bound(a: np.ndarray) -> int:
    """Exclusive upper bound of a non-negative integer array."""
    return int(a.max()) + 1 if len(a) else 1


def _sorted(ids: list[int] | np.ndarray, starts: list[int] | np.ndarray, ends: list[int] | np.ndarray, width: int
            ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    i = np.asarray(ids, dtype=np.int32)
    s = np.asarray(starts, dtype=np.int64)
    e = np.asarray(ends, dtype=np.int64)
    aligned = (s % width == 0) & (e % width == 0)
    return in_hit_order(i[aligned], s[aligned] // width, e[aligned] // width)


def in_hit_order(ids: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Hits sorted as every scanner returns them: by (start, end, id) = (start, length, id)."""
    n = ends - starts
    order = lexorder([(starts, _bound(starts)), (n, _bound(n)), (ids.astype(np.int64), _bound(ids))])
    return ids[order], starts[order], ends[order]


def encode(text: str, width: int = 4) -> bytes:
    """The buffer format both scanners read: Latin-1 (width 1) for text below U+0100, UTF-16-LE (width 2)
    for text without astral characters, else UTF-32-LE."""
    if width == 1:
        return text.encode("latin-1")
    return text.encode("utf-32-le" if width == 4 else "utf-16-le", "surrogatepass")


def scannable(text: str, width: int) -> bool:
    """Whether a literal can occur in a buffer of this width (a width-1 buffer holds only U+0000-U+00FF)."""
    return width != 1 or all(ord(c) < 0x100 for c in text)


_UNIT = {1: np.uint8, 2: np.uint16, 4: np.uint32}


def buffer_at(cps: np.ndarray, width: int) -> memoryview:
    """The scanner buffer of a code-point array at ``width`` (every code point must fit in it)."""
    return memoryview(np.ascontiguousarray(cps, dtype=_UNIT[width]).data).cast("B")


def buffer_of(cps: np.ndarray) -> tuple[memoryview, int]:
    """(buffer, width) for a code-point array: Latin-1 when all code points are below U+0100 (English text:
    half the bytes of UTF-16, and hyperscan's literal matcher is several times faster on bytes without the
    zero high bytes), UTF-16-LE when all are below U+10000, else UTF-32-LE."""
    top = int(cps.max()) if len(cps) else 0
    width = 1 if len(cps) and top <= 0xFF else 2 if top <= 0xFFFF else 4
    return buffer_at(cps, width), width


class HyperscanScanner:
    backend = "hyperscan"
    _hs: Any  # the hyperscan module (declared: a compiled class holds only declared attributes)

    def __init__(self, literals: list[str]):
        import hyperscan

        self._hs = hyperscan
        self.literals = literals
        self._dbs: dict[int, tuple] = {}

    def _db(self, width: int):
        got = self._dbs.get(width)
        if got is None:
            from organwatch.screen import buildcache

            hs = self._hs
            ids = [i for i, lit in enumerate(self.literals) if scannable(lit, width)]
            exprs = [b"".join(b"\\x%02x" % b for b in encode(self.literals[i], width)) for i in ids]

            def compile_db():
                db = hs.Database(mode=hs.HS_MODE_BLOCK)
                # literals have a fixed length: start = end - length, so no start-of-match tracking is needed
                db.compile(expressions=exprs, ids=ids, flags=[0] * len(exprs))
                return db

            db = buildcache.hyperscan_db("scanner", exprs, compile_db, ("block", 0, width, ids)) if ids else None
            blen = np.array([len(encode(lit, width)) if scannable(lit, width) else 0 for lit in self.literals])
            got = self._dbs[width] = (db, hs.Scratch(db) if db is not None else None, blen)
        return got

    def scan(self, buf, width: int = 4) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        ids: list[int] = []
        ends: list[int] = []

        # the appends as default arguments (fast locals, not closure cells): one call per hit, ~10 % of the scan
        def on_match(idx: int, _frm: int, to: int, flags: int, ctx: object, ai=ids.append, ae=ends.append) -> None:
            ai(idx)
            ae(to)

        db, scratch, blen = self._db(width)
        if len(buf) and db is not None:
            db.scan(buf, match_event_handler=on_match, scratch=scratch)
        e = np.asarray(ends, dtype=np.int64)
        i = np.asarray(ids, dtype=np.int64)
        s = e - blen[i] if len(i) else e
        return _sorted(i, s, e, width)


class RE2Scanner:
    backend = "re2"
    _re2: Any  # the re2 module (declared, as above)

    def __init__(self, literals: list[str]):
        import re2

        self._re2 = re2
        opts = re2.Options()
        opts.encoding = re2.Options.Encoding.LATIN1
        opts.max_mem = 1 << 30
        self.opts = opts
        self.literals = literals
        self._sets: dict[int, tuple] = {}
        self._compiled: dict[tuple[int, int], object] = {}

    def _set(self, width: int):
        st = self._sets.get(width)
        if st is None:
            # the set has its own name: in the compiled build ``st`` holds only what its type says (a tuple)
            rset = self._re2.Set.SearchSet(self.opts)
            ids = [i for i, lit in enumerate(self.literals) if scannable(lit, width)]
            for i in ids:
                rset.Add(self._re2.escape(encode(self.literals[i], width)))
            rset.Compile()
            self._sets[width] = st = (rset, ids) if ids else (None, ids)
        return st

    def _pattern(self, i: int, width: int):
        p = self._compiled.get((i, width))
        if p is None:
            p = self._compiled[(i, width)] = self._re2.compile(self._re2.escape(encode(self.literals[i], width)),
                                                               self.opts)
        return p

    def scan(self, buf, width: int = 4) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        ids: list[int] = []
        starts: list[int] = []
        ends: list[int] = []
        if not isinstance(buf, bytes):
            buf = bytes(buf)
        st, set_ids = self._set(width)
        if buf and st is not None:
            for i in sorted(set_ids[k] for k in (st.Match(buf) or [])):
                p = self._pattern(i, width)
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
        return _sorted(ids, starts, ends, width)


@lru_cache(maxsize=8)
def _cached(backend: str, key: str, literals: tuple[str, ...]):
    if backend == "hyperscan":
        return HyperscanScanner(list(literals))
    if backend == "re2":
        return RE2Scanner(list(literals))
    raise UsageError(f"--backend must be one of {', '.join(BACKENDS)}, not '{backend}'")


def get_scanner(backend: str, literals: list[str], key: str = "") -> HyperscanScanner | RE2Scanner:
    if backend == "auto":
        import importlib.util

        backend = "hyperscan" if importlib.util.find_spec("hyperscan") else "re2"
    return _cached(backend, key, tuple(literals))
