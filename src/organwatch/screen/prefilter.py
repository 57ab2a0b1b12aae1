"""Raw-byte prefilter: documents whose UTF-8 bytes cannot hold any pack literal skip normalisation and logic.

The screener normalises every document (NFKC, OpenCC t2s, OCR substitutions, case folding, deletion of
whitespace and bracketed pinyin inside CJK runs, whitespace collapse; :mod:`.normalise`) and then matches
the pack's literals. This module compiles, from the loaded pack and the loaded normaliser (never from a
second hand-kept list), one hyperscan database of byte patterns that over-approximate those matches on the
**original** UTF-8 bytes:

- each literal character becomes the set of every original character the normaliser turns into it (its
  preimage: traditional and OCR variants, full-width and upper-case forms, compatibility characters);
- a space in a literal becomes one or more whitespace characters (anything the normaliser treats as
  whitespace, NUL included);
- after a CJK character any run of whitespace (OCR spacing, line breaks) and bracketed groups of pinyin
  characters may follow (the deletions the normaliser can make there);
- characters the normaliser expands into several characters (ligatures, ℃, Ⅱ, ㈠ ...) whose expansion
  contains a character of any literal, and line-break marks (soft hyphen, U+FFFE, zero-width characters,
  a hyphen followed by whitespace) select the document outright.

A document with no match in its bytes cannot receive an event, hence no passage, no ethics cue and no
institution cue: its record is built by the same engine code from a stand-in document with the same
metadata and a one-character text of the same language (see :func:`screen_prefiltered`), so the output is
byte-identical to the output without the prefilter (``organwatch screen --no-prefilter``; tested on the
labelled sets and with hypothesis).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Sequence
from dataclasses import replace
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from organwatch.screen.documents import Document
from organwatch.screen.normalise import Normaliser
from organwatch.screen.rulepack import RulePack
from organwatch.textscript import cjk_mask, is_cjk

MAX_COMBINATIONS = 64  # variant combinations of one literal expanded into pure literals, else a regex
LANG_SHARE = 0.2  # matching.py: "zh" when >= 20 % of the normalised characters are CJK
_BREAKS = "\u00ad\ufffe\u200b\u200c\u200d\u2060\ufeff"  # soft hyphen, U+FFFE, zero-width marks
_HYPHENS = "-\u2010\u2011\u2012\u2013"
_PINYIN_ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789āáǎàēéěèīíǐìōóǒòūúǔùǖǘǚǜüńňǹḿ "


def _esc(ch: str) -> bytes:
    return b"".join(b"\\x%02x" % b for b in ch.encode("utf-8", "surrogatepass"))


def alternation(chars: Iterable[str]) -> bytes:
    """A byte regex matching the UTF-8 encoding of any of ``chars`` (one class for the one-byte ones)."""
    one = sorted({c for c in chars if ord(c) < 0x80})
    multi = sorted({c for c in chars if ord(c) >= 0x80})
    parts = [b"[" + b"".join(_esc(c) for c in one) + b"]"] if one else []
    parts += [_esc(c) for c in multi]
    if not parts:
        return b"(?!)"
    return parts[0] if len(parts) == 1 else b"(?:" + b"|".join(parts) + b")"


class CharModel:
    """What the normaliser can do to each character, read from its own tables (its 1:1 code-point table
    as a numpy array, its table of expansions); preimages are computed on demand and kept."""

    def __init__(self, lut: np.ndarray, expansions: dict[str, str]):
        bmp = lut[:0x10000].astype(np.int64)
        skip = np.zeros(0x10000, dtype=bool)
        skip[0xD800:0xE000] = True
        for c in expansions:
            if ord(c) < 0x10000:
                skip[ord(c)] = True
        bmp[skip] = -1  # surrogates and expansions have no 1:1 image
        self._bmp = bmp
        self.expansions = dict(expansions)
        self._pre: dict[str, frozenset[str]] = {}
        spaces = [cp for cp in range(0x3001) if chr(cp).isspace()]  # Unicode has no whitespace above U+3000
        ws = np.flatnonzero(np.isin(bmp, spaces))
        # original chars the normaliser treats as whitespace; NUL is read as a space by matching.py
        self.whitespace = frozenset(chr(int(cp)) for cp in ws) | {"\x00", " "}

    def pre(self, ch: str) -> frozenset[str]:
        """Original characters that normalise to exactly ``ch`` (``ch`` itself when it is outside the BMP)."""
        got = self._pre.get(ch)
        if got is None:
            if ord(ch) >= 0x10000:
                got = frozenset((ch,))
            else:
                got = frozenset(chr(int(cp)) for cp in np.flatnonzero(self._bmp == ord(ch)))
            self._pre[ch] = got
        return got


def char_model(norm: Normaliser) -> CharModel:
    norm._prepare()  # the normaliser's own tables (built lazily): a code-point lookup table and expansions
    return CharModel(norm._lut, norm._expand)


class Patterns:
    """The byte patterns of one pack under one normaliser (built once per process).

    Literal patterns use the *common* preimage of each character (the character, its CJK variants, ASCII
    case through hyperscan's caseless flag); the rare rest (full-width and compatibility forms, the risky
    expansions, line-break marks, a hyphen before whitespace) selects a document outright. Gaps the
    normaliser can delete after a CJK character are covered by *gap prefixes*: a prefix of a literal ending
    in a CJK character and followed by whitespace or an opening bracket (the first deleted character of any
    such gap)."""

    def __init__(self, literals: Sequence[tuple[str, bool, bool]], model: CharModel):
        """``literals``: (normalised text, ASCII word boundary on the left, on the right)."""
        self.model = model
        # whitespace in patterns: ASCII, NUL, no-break space and ideographic space; the other whitespace
        # characters are rare and select the document outright (small patterns compile and scan fast)
        # (NUL, which the matcher reads as a space, is a selector of its own: hyperscan's pure-literal
        # compiler would cut a literal at a NUL byte)
        ws_chars = {c for c in model.whitespace if (c.isascii() or c in "\u00a0\u3000") and c != "\x00"}
        self.ws = b"(?:" + alternation(ws_chars) + b")+"
        self.literals = list(literals)
        alphabet = {c for lit, _, _ in self.literals for c in lit}
        self.common = {c: self._common(c) for c in alphabet}
        rare = {v for c in alphabet for v in model.pre(c)} - {v for c in alphabet for v in self.common[c]}
        rare -= {v for c in alphabet for v in self.common[c] for v in (v.upper(), v.lower())}
        rare |= set(model.whitespace) - ws_chars - {"\x00"}
        rare -= ws_chars
        risky = {c for c, exp in model.expansions.items()
                 if any(x in alphabet or x in _PINYIN_ALPHABET or x in "()" or x.isspace() for x in exp)}
        self.gap_start = sorted(ws_chars | {c for c in model.pre("(") if c in "(\uff08"})
        rare |= set(model.pre("(")) - {"(", "\uff08"}
        pure: dict[bytes, None] = {}
        regex: dict[bytes, None] = {}
        for lit, left, right in self.literals:
            if any(ch.isspace() for ch in lit):
                lit, left, right = longest_word(lit, left, right)
            self._add(self.positions(lit), pure, regex, left, right)
            for k in range(1, len(lit)):
                if is_cjk(lit[k - 1]):
                    self._add([*self.positions(lit[:k]), self.gap_start], pure, regex, left, False)
        hyphen_ws = [[c for h in _HYPHENS for c in model.pre(h)], sorted(ws_chars)]
        self._add(hyphen_ws, pure, regex)
        for c in sorted(rare | risky | set(_BREAKS)):
            pure[c.encode("utf-8", "surrogatepass")] = None
        regex[b"\\x00"] = None
        self.pure = list(pure)
        self.regex = list(regex)

    def _common(self, ch: str) -> frozenset[str]:
        pre = self.model.pre(ch)
        if ch.isascii():  # ASCII case is left to hyperscan's caseless flag
            return frozenset(c.lower() for c in pre if c.isascii())
        return frozenset(c for c in pre if is_cjk(c) or c == ch)

    def positions(self, lit: str) -> list[Sequence[str] | None]:
        """Per literal character: the original characters that can stand for it (None: whitespace run)."""
        return [None if ch.isspace() else sorted(self.common[ch]) for ch in lit]

    def _add(self, pos: Sequence[Sequence[str] | None], pure: dict[bytes, None], regex: dict[bytes, None],
             left: bool = False, right: bool = False) -> None:
        """A pure literal per combination when there are few and no word boundary, else one regular
        expression. A boundary is any byte but an ASCII letter or digit (or the buffer's end): the
        character next to a match in the original is the source of the normalised neighbour (not a letter
        or digit) or a deleted whitespace / closing bracket, and multi-byte characters have no ASCII bytes."""
        n = 1
        for p in pos:
            n = n * len(p) if p is not None else 1 << 30
        if n <= MAX_COMBINATIONS and not (left or right):
            for combo in itertools.product(*[p for p in pos if p is not None]):
                pure["".join(combo).encode("utf-8", "surrogatepass")] = None
            return
        body = b"".join(self.ws if p is None else alternation(p) for p in pos)
        regex[(b"(?:^|[^a-z0-9])" if left else b"") + body + (b"(?:[^a-z0-9]|$)" if right else b"")] = None


def longest_word(lit: str, left: bool, right: bool) -> tuple[str, bool, bool]:
    """A multi-word literal occurs only where its longest word does (ties: the later word), with a word
    boundary on each side that touches a space (no deletion happens inside a word except the CJK gaps,
    which the gap prefixes cover): one small pattern instead of a regex with whitespace runs."""
    words = lit.split()
    k = max(range(len(words)), key=lambda i: (len(words[i]), i))
    return words[k], left or k > 0, right or k < len(words) - 1


class Prefilter:
    """``hit(data)``: whether the UTF-8 bytes ``data`` can contain any literal of the pack (early exit).

    The pattern lists come from the start-up cache (:mod:`.buildcache`, keyed by the pack's literals, the
    normaliser's settings and the code), the compiled databases from :func:`_compiled`; the
    :class:`Patterns` object itself is built only when asked for (``patterns``)."""

    _hs: Any  # the hyperscan module (declared: a compiled class holds only declared attributes)

    def __init__(self, pack: RulePack, norm: Normaliser):
        import hyperscan as hs

        self._hs = hs
        self._norm = norm
        self._lits = [(lit.text, lit.left_boundary, lit.right_boundary) for lit in pack.literals]
        self._patterns: Patterns | None = None
        pure, regex, exp_chars = pattern_lists(self._lits, norm)
        flags = hs.HS_FLAG_SINGLEMATCH | hs.HS_FLAG_CASELESS
        self._dbs = []
        for exprs, literal in ((pure, True), (regex, False)):
            db = _compiled(exprs, flags, literal)
            self._dbs.append((db, hs.Scratch(db)))
        exp = _compiled(exp_chars, hs.HS_FLAG_SINGLEMATCH, True)
        self._exp = (exp, hs.Scratch(exp))
        # self-check: every literal of the pack, written as the pack writes it, must select its document
        self.ok = all(self.hit(lit.text.encode("utf-8", "surrogatepass")) for lit in pack.literals)

    @property
    def patterns(self) -> Patterns:
        """The :class:`Patterns` of the pack (built on first use; the scans need only the cached lists)."""
        if self._patterns is None:
            self._patterns = Patterns(self._lits, char_model(self._norm))
        return self._patterns

    def _scan(self, db: Any, scratch: Any, data: bytes) -> bool:
        if not data:
            return False
        try:
            db.scan(data, match_event_handler=_stop, scratch=scratch)
        except self._hs.ScanTerminated:
            return True
        return False

    def hit(self, data: bytes) -> bool:
        return any(self._scan(db, scratch, data) for db, scratch in self._dbs)

    def has_expansion(self, data: bytes) -> bool:
        """Whether ``data`` holds an expansion or a U+5000-U+9FFF character that is not CJK once normalised."""
        return self._scan(self._exp[0], self._exp[1], data)

    def decide(self, doc: Document, rules: str | None = None) -> tuple[bool, bytes | None]:
        """(True = screen it fully, False = it cannot contain any literal; its UTF-8 bytes when they were
        scanned). A document a bulk reader marked (raw input line matched, for the same ``rules``) is selected
        without a scan."""
        if rules is not None and doc.prefilter_mark == rules:
            return True, None
        data = doc.text.encode("utf-8", "surrogatepass")
        return self.hit(data), data

    def select(self, docs: Sequence[Document], rules: str | None = None) -> list[bool]:
        """Per document: :meth:`decide`'s selection."""
        return [self.decide(d, rules)[0] for d in docs]


def expansion_chars(model: CharModel) -> list[bytes]:
    """Characters that break the byte-count bounds of :func:`language_of`: any expansion, and characters of
    U+5000-U+9FFF that do not normalise to one BMP CJK character (t2s maps a few to other planes)."""
    img = model._bmp[0x5000:0xA000]
    odd = {chr(0x5000 + int(i)) for i in np.flatnonzero(~cjk_mask(img))}
    return [c.encode("utf-8", "surrogatepass") for c in sorted(set(model.expansions) | odd)]


def build_pattern_lists(literals: Sequence[tuple[str, bool, bool]], norm: Normaliser
                        ) -> tuple[list[bytes], list[bytes], list[bytes]]:
    """(pure literal patterns, regex patterns, expansion characters) of ``literals`` under ``norm``."""
    model = char_model(norm)
    pats = Patterns(literals, model)
    return pats.pure, pats.regex, expansion_chars(model)


def _lists_ok(value: Any) -> bool:
    return (isinstance(value, tuple) and len(value) == 3
            and all(isinstance(v, list) and all(isinstance(b, bytes) for b in v) for v in value))


def pattern_lists(literals: Sequence[tuple[str, bool, bool]], norm: Normaliser
                  ) -> tuple[list[bytes], list[bytes], list[bytes]]:
    """:func:`build_pattern_lists`, from the start-up cache when the same literals and normaliser settings
    were compiled by the same code before."""
    from organwatch.screen import buildcache

    lits = [tuple(x) for x in literals]
    inputs = (lits, sorted(norm.config.items()))
    return buildcache.cached("prefilter-patterns", inputs, lambda: build_pattern_lists(literals, norm),
                             check=_lists_ok)


def _cache_dir() -> Path | None:
    """Where the prefilter's hyperscan databases are kept (``prefilter/`` in :func:`.buildcache.root`)."""
    from organwatch.screen import buildcache

    return buildcache.directory("prefilter")


def _compiled(exprs: list[bytes], flags: int, literal: bool) -> Any:
    """A block-mode hyperscan database of ``exprs``, from the on-disk cache when the same patterns were
    compiled before (keyed by the sha256 of the patterns, flags and hyperscan version; compiling the pack
    takes seconds and every worker process needs it). The directory is :func:`_cache_dir`
    (``ORGANWATCH_CACHE`` or ``ORGANWATCH_PREFILTER_CACHE`` = a directory, or ``off``)."""
    import hyperscan as hs

    from organwatch.screen import buildcache

    def compile_db() -> Any:
        db = hs.Database(mode=hs.HS_MODE_BLOCK)
        if exprs:
            db.compile(expressions=exprs, ids=list(range(len(exprs))), flags=[flags] * len(exprs),
                       literal=literal)
        else:  # pragma: no cover - every pack has literals
            db.compile(expressions=[b"(?!)"], ids=[0], flags=[flags])
        return db

    return buildcache.hyperscan_db("prefilter", exprs, compile_db, (flags, literal))


def _stop(idx: int, _frm: int, to: int, flags: int, ctx: object) -> bool:
    return True  # the first match decides: stop scanning this buffer


def get_prefilter(rules: str, backend: str = "hyperscan") -> Prefilter:
    """The prefilter of a pack, built from the pack and normaliser the engine loaded in this process (one per
    process for ``get_prefilter(rules)`` and ``get_prefilter(rules, "hyperscan")`` alike)."""
    return _prefilter(rules, backend)


@lru_cache(maxsize=4)
def _prefilter(rules: str, backend: str) -> Prefilter:
    from organwatch.screen.engine import _components

    pack, matcher, _logic = _components(rules, backend)
    return Prefilter(pack, matcher.norm)


@lru_cache(maxsize=1)
def available() -> bool:
    """The prefilter needs hyperscan; without it (the re2 fallback) every document is screened fully."""
    import importlib.util

    return importlib.util.find_spec("hyperscan") is not None


# --- records of documents the prefilter passed over -------------------------------------------------------

_PROXY = {"zh": ("\u4e00", "\u4e01", "\u4e02", "\u4e03", "\u3400"), "en": ("x", "q", "z", "j", "k")}


@lru_cache(maxsize=4)
def proxy_texts(rules: str, backend: str = "hyperscan") -> dict[str, str]:
    """A one-character text per language that the prefilter proves free of literals."""
    pf = get_prefilter(rules, backend)
    out = {"und": ""}
    for lang, cands in _PROXY.items():
        for c in cands:
            if not pf.hit(c.encode("utf-8")):
                out[lang] = c
                break
        else:  # pragma: no cover - a pack whose literals cover every candidate
            raise RuntimeError(f"prefilter: no literal-free stand-in text for language {lang}")
    return out


def _byte_class(b: int) -> int:
    if 0x80 <= b <= 0xBF:
        return 0  # continuation byte
    if b < 0x80:  # ASCII: whitespace and control characters, letters, digits and brackets may be deleted
        return 1 if b <= 0x20 or b in b"()" or chr(b).isalnum() else 2
    return 3 if 0xE5 <= b <= 0xE9 else 4  # lead byte of U+5000-U+9FFF, other lead bytes


_BYTE_CLASS = bytes(_byte_class(b) for b in range(256))  # bytes.translate table: byte -> its class


def _byte_counts(data: bytes) -> tuple[int, int, int, int]:
    """(characters, non-ASCII characters, surely-CJK characters U+5000-U+9FFF, ASCII characters the
    normaliser may delete) of UTF-8 bytes: one ``bytes.translate`` into byte classes and four counts.
    Deletable: whitespace and control characters, and ASCII letters, digits and brackets (bracketed pinyin)."""
    cls = data.translate(_BYTE_CLASS)
    n = len(cls) - cls.count(0)
    deletable = cls.count(1)
    return n, n - deletable - cls.count(2), cls.count(3), deletable


def language_of(text: str, data: bytes, pf: Prefilter, exact: Callable[[str], str]) -> str:
    """The language the matcher would give ``text`` ("zh" / "en" / "und"), from byte counts when they
    decide it (bounds on the normalised length and CJK count), else from ``exact`` (the matcher itself).

    Bounds: CJK characters are never deleted and U+5000-U+9FFF stay CJK (``has_expansion`` finds the
    exceptions and every expansion), so CJK >= ``sure_cjk``; only
    non-ASCII characters can become CJK, so CJK <= ``non_ascii``; without expansions the normalised length
    is at most ``n`` and at least ``n`` minus every character the normaliser could delete."""
    if not text:
        return "und"
    if text.isascii():
        return "en"  # ASCII never becomes CJK; a non-empty text never normalises to nothing
    n, non_ascii, sure_cjk, deletable = _byte_counts(data)
    if not pf.has_expansion(data):
        if sure_cjk / n >= LANG_SHARE:
            return "zh"
        lower = n - deletable - (non_ascii - sure_cjk)  # non-ASCII whitespace and pinyin may go too
        if lower > 0 and non_ascii / lower < LANG_SHARE:
            return "en"
    return exact(text)


def screen_prefiltered(docs: list[Document], opts: Any, full: Callable[[list[Document], Any], list[dict]]
                       ) -> list[dict[str, Any]]:
    """Records of ``docs``: selected documents through ``full`` (the engine without the prefilter), the
    others through ``full`` too but as stand-ins (same metadata, literal-free one-character text of the
    same language, so no normalisation or passage work), with the real text put back when it is stored.
    The prefilter is only an optimisation: if it cannot be built or fails its self-check, every document
    is screened fully."""
    plain = replace(opts, prefilter=False)
    plan = _plan(docs, opts)
    if plan is None:
        return full(docs, plain)
    sel, stand_ins = plan
    picked = [d for d, s in zip(docs, sel, strict=True) if s]
    got = iter(full(picked, plain) if picked else [])
    empty = iter(full(stand_ins, plain))
    out = []
    for d, s in zip(docs, sel, strict=True):
        if s:
            out.append(next(got))
            continue
        rec = next(empty)
        if "text" in rec:
            rec["text"] = d.text
        out.append(rec)
    return out


# documents sampled before the prefilter gives up on dense text: when at least half of the first SAMPLE are
# selected, the rest are selected without a scan (sound: they are screened fully; only the scans are saved)
SAMPLE = 32


def _plan(docs: list[Document], opts: Any) -> tuple[list[bool], list[Document]] | None:
    """(selected per document, stand-ins of the others), or None when every document is screened fully.
    Each document's text is encoded once, for the scan and, when it is not selected, for its language."""
    if not available():
        return None
    try:
        pf = get_prefilter(opts.rules, opts.backend)
        if not pf.ok:
            return None
        sel: list[bool] = []
        stand_ins: list[Document] = []
        proxies: dict[str, str] | None = None
        matcher_lang = _exact_language(opts)
        dense = False
        for k, d in enumerate(docs):
            if k == SAMPLE:  # dense text: the rest is selected without a scan (see readers/bulk.raw_hits)
                dense = 2 * sum(sel) >= SAMPLE
            if dense:
                sel.append(True)
                continue
            picked, data = pf.decide(d, opts.rules)
            sel.append(picked)
            if picked or data is None:
                continue
            if proxies is None:
                proxies = proxy_texts(opts.rules, opts.backend)
            stand_ins.append(replace(d, text=proxies[_stand_in_language(d, data, pf, matcher_lang)],
                                     errors=list(d.errors)))
        if not stand_ins:
            return None
    except Exception:  # noqa: BLE001 - an optimisation that cannot run must not change or stop the screening
        return None
    return sel, stand_ins


def _stand_in_language(d: Document, data: bytes, pf: Prefilter, exact: Callable[[str], str]) -> str:
    """The language of a passed-over document's stand-in text. The engine uses the matcher's language of a
    document without events only where the reader gave none (``doc.language or lang``: the record's
    language and the ethics fields), so it is worked out (:func:`language_of`) only then; a document whose
    reader named its language gets the English stand-in. On the sparse benchmark corpus (f) the language
    bounds and the matcher calls behind them took a quarter of the screening time of each range."""
    if d.language and d.text:
        return "en"
    return language_of(d.text, data, pf, exact)


def _exact_language(opts: Any) -> Callable[[str], str]:
    from organwatch.screen.engine import _components

    matcher = _components(opts.rules, opts.backend)[1]
    return lambda text: matcher.match([text])[0].language
