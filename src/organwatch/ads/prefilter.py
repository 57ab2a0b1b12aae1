"""A cheap byte-level prefilter: may a raw payload hold a claim, in any of the encodings we decode?

A claim needs a context cue (an organ, a transplant term or a wait cue of the pack) in its sentence or table,
so before a page is decoded and its text extracted, one hyperscan block scan (stopping at the first hit) over
the raw payload bytes looks for those cue terms, as written in the pack and in their traditional forms
(OpenCC s2t), encoded in UTF-8, GB18030, CP950 (Big5), CP932 (Shift_JIS), EUC-JP and CP949 (EUC-KR), ASCII
terms caseless, plus the numeric character references of 移植. Pages without any such byte sequence cannot
yield a claim and are skipped. UTF-16/32 pages (BOM or NUL bytes) always pass. Without hyperscan the same test
runs with ``bytes.find``. Byte sequences of two-byte encodings can also match across character boundaries:
that only lets a page through, never drops one.
"""

from __future__ import annotations

from typing import Any

ENCODINGS = ("utf-8", "gb18030", "cp950", "cp932", "euc_jp", "cp949")
CONTEXT = ("ORGAN", "ORGAN_COMBO", "TRANSPLANT", "WAIT")
EXTRA = (b"&#31227;", b"&#x79fb;", b"&#x79FB;")


def cue_terms(pack: Any) -> list[str]:
    """The context cue terms of a pack as written (markers stripped, fragments expanded)."""
    from organwatch.ads.rules import expand_terms

    out: set[str] = set()
    for r in pack.cues.rules:
        if r.type in CONTEXT:
            out.update(expand_terms(r.terms, pack.fragments))
    return sorted(out)


def byte_literals(terms: list[str]) -> tuple[tuple[bytes, ...], tuple[bytes, ...]]:
    """(case-sensitive byte literals, caseless ASCII literals) for the terms and their traditional forms."""
    import opencc

    s2t = opencc.OpenCC("s2t")
    exact: set[bytes] = set(EXTRA)
    caseless: set[bytes] = set()
    for t in terms:
        if t.isascii():
            caseless.add(t.lower().encode("ascii"))
            continue
        for form in {t, s2t.convert(t)}:
            for enc in ENCODINGS:
                try:
                    exact.add(form.encode(enc))
                except UnicodeEncodeError:
                    continue
    return tuple(sorted(exact)), tuple(sorted(caseless))


class Prefilter:
    def __init__(self, pack: Any):
        self.exact, self.caseless = byte_literals(cue_terms(pack))
        self.db: Any = None
        self.scratch: Any = None
        try:
            import hyperscan
        except ImportError:  # pragma: no cover - hyperscan is a dependency; bytes.find is the fallback
            return
        exprs = [b"".join(b"\\x%02x" % b for b in lit) for lit in self.exact + self.caseless]
        flags = [hyperscan.HS_FLAG_SINGLEMATCH] * len(self.exact) + \
                [hyperscan.HS_FLAG_SINGLEMATCH | hyperscan.HS_FLAG_CASELESS] * len(self.caseless)
        self.db = hyperscan.Database(mode=hyperscan.HS_MODE_BLOCK)
        self.db.compile(expressions=exprs, ids=list(range(len(exprs))), flags=flags)
        self.scratch = hyperscan.Scratch(self.db)

    def passes(self, data: bytes) -> bool:
        """True when the payload may hold a claim."""
        if data[:2] in (b"\xff\xfe", b"\xfe\xff") or b"\x00" in data[:512]:
            return True
        if self.db is None:  # pragma: no cover
            low = data.lower()
            return any(lit in data for lit in self.exact) or any(lit in low for lit in self.caseless)
        found: list[int] = []

        def on_match(idx: int, frm: int, to: int, flags: int, ctx: object) -> bool:
            found.append(idx)
            return True  # stop at the first hit

        try:
            self.db.scan(data, match_event_handler=on_match, scratch=self.scratch)
        except Exception as e:  # noqa: BLE001 - hyperscan raises ScanTerminated when the callback stops the scan
            if type(e).__name__ != "ScanTerminated":
                raise
        return bool(found)


_CACHE: dict[str, Prefilter] = {}


def for_pack(pack: Any) -> Prefilter:
    """The prefilter of a pack, compiled once per process."""
    got = _CACHE.get(pack.sha256)
    if got is None:
        got = _CACHE[pack.sha256] = Prefilter(pack)
    return got
