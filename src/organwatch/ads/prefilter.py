"""A cheap byte-level prefilter: does a raw payload contain a transplant term in any encoding we decode?

Before a page is decoded and its text extracted, one hyperscan block scan (stop at the first hit) over the raw
payload bytes looks for transplant and organ terms encoded in UTF-8, GB18030, CP950 (Big5), CP932
(Shift_JIS), EUC-JP and CP949 (EUC-KR), plus caseless ASCII terms and the numeric character references of
移植. Pages without any such byte sequence cannot yield a claim (a claim needs a transplant context) and are
skipped. UTF-16/32 pages (BOM or NUL bytes) always pass. Without hyperscan the same test runs with
``bytes.find``. Byte sequences of two-byte encodings can also match across character boundaries: that only
lets a page through, never drops one.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

CJK_TERMS = ["移植", "器官", "臓器", "供体", "肝源", "肾源", "腎源", "换肝", "换肾", "換肝", "換腎", "이식", "장기"]
ASCII_TERMS = [b"transplant", b"kidney", b"liver", b"organ", b"&#31227;", b"&#x79fb;", b"&#x79FB;"]
ENCODINGS = ("utf-8", "gb18030", "cp950", "cp932", "euc_jp", "cp949")


@lru_cache(maxsize=1)
def literals() -> tuple[tuple[bytes, ...], tuple[bytes, ...]]:
    """(case-sensitive byte literals, caseless ASCII literals)."""
    out: set[bytes] = set()
    for t in CJK_TERMS:
        for enc in ENCODINGS:
            try:
                out.add(t.encode(enc))
            except UnicodeEncodeError:
                continue
    return tuple(sorted(out)), tuple(ASCII_TERMS)


@lru_cache(maxsize=1)
def _database() -> Any:
    try:
        import hyperscan
    except ImportError:  # pragma: no cover - hyperscan is a dependency; bytes.find is the fallback
        return None
    exact, caseless = literals()
    exprs = [b"".join(b"\\x%02x" % b for b in lit) for lit in exact + caseless]
    flags = [hyperscan.HS_FLAG_SINGLEMATCH] * len(exact) + \
            [hyperscan.HS_FLAG_SINGLEMATCH | hyperscan.HS_FLAG_CASELESS] * len(caseless)
    db = hyperscan.Database(mode=hyperscan.HS_MODE_BLOCK)
    db.compile(expressions=exprs, ids=list(range(len(exprs))), flags=flags)
    return db


@lru_cache(maxsize=1)
def _scratch() -> Any:
    import hyperscan

    db = _database()
    return None if db is None else hyperscan.Scratch(db)


def passes(data: bytes) -> bool:
    """True when the payload may hold a claim (a transplant or organ term in some encoding)."""
    if data[:2] in (b"\xff\xfe", b"\xfe\xff") or b"\x00" in data[:512]:
        return True
    db = _database()
    if db is None:  # pragma: no cover
        exact, caseless = literals()
        low = data.lower()
        return any(lit in data for lit in exact) or any(lit.lower() in low for lit in caseless)
    found = []

    def on_match(idx: int, frm: int, to: int, flags: int, ctx: object) -> bool:
        found.append(idx)
        return True  # stop at the first hit

    try:
        db.scan(data, match_event_handler=on_match, scratch=_scratch())
    except Exception as e:  # noqa: BLE001 - hyperscan raises ScanTerminated when the callback stops the scan
        if type(e).__name__ != "ScanTerminated":
            raise
    return bool(found)
