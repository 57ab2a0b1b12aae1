"""Offset-preserving normalisation of document text before matching.

Steps (configured in ``rules/normalisation.toml``): per-character NFKC (full-width -> half-width), OpenCC
traditional -> simplified at character level, case folding, removal of bracketed pinyin after CJK
characters, deletion of OCR spaces and line breaks inside CJK runs, and collapse of whitespace runs.

The length-preserving steps are one ``str.translate`` table (built once, lazily); the length-changing ones
are a single compiled regex pass over a whole chunk of documents. Every normalised character keeps the
original ``[start, end)`` it came from, so that any normalised span ``[a, b)`` maps back to the exact original
substring (``NormText.orig_spans``).
"""

from __future__ import annotations

import re
import tomllib
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any

import numpy as np

from organwatch.textscript import CJK_RANGES, cjk_mask

_TONED = "āáǎàēéěèīíǐìōóǒòūúǔùǖǘǚǜüńňǹḿ"
_SYL = f"[a-z{_TONED}]{{1,7}}[1-5]?"
_WS = " \t\n\r\f\v\u00a0\u3000"
_ASCII_WS = "\t\n\r\f\v"  # ASCII whitespace that collapse_whitespace turns into a space


def default_config() -> dict[str, Any]:
    """The normalisation settings of ``rules/normalisation.toml`` (a fresh dict; the file is parsed once)."""
    return dict(_default_config_items())


@lru_cache(maxsize=1)
def _default_config_items() -> tuple[tuple[str, Any], ...]:
    text = resources.files("organwatch.screen").joinpath("rules/normalisation.toml").read_text("utf-8")
    doc = tomllib.loads(text)
    cfg = dict(doc["normalisation"])
    cfg["ocr"] = tuple(sorted((k, v) for k, v in doc.get("ocr", {}).items() if len(k) == 1 and len(v) == 1))
    return tuple(sorted(cfg.items()))


@lru_cache(maxsize=1)
def _t2s_chars() -> dict[int, str]:
    """Character-level traditional -> simplified map from OpenCC (only 1:1 conversions)."""
    import opencc

    conv = opencc.OpenCC("t2s")
    cps = [cp for r in CJK_RANGES for cp in range(*r)]
    src = "\n".join(chr(cp) for cp in cps)
    out = conv.convert(src).split("\n")
    table: dict[int, str] = {}
    if len(out) == len(cps):
        for cp, o in zip(cps, out, strict=True):
            if len(o) == 1 and o != chr(cp):
                table[cp] = o
    return table


@lru_cache(maxsize=8)
def _tables(nfkc: bool, t2s: bool, fold: bool, ws: bool, ocr: tuple = ()) -> tuple[dict[int, str], dict[str, str]]:
    """(1:1 translate table, length-changing replacements) for the BMP, from the start-up cache
    (:mod:`.buildcache`: keyed by these settings, this module's source, the Unicode and OpenCC versions)."""
    from organwatch.screen import buildcache

    args = (bool(nfkc), bool(t2s), bool(fold), bool(ws), tuple(ocr))
    return buildcache.cached("normalise-tables", args, lambda: build_tables(*args), check=_tables_ok)


def _tables_ok(value: Any) -> bool:
    return (isinstance(value, tuple) and len(value) == 2 and isinstance(value[0], dict)
            and isinstance(value[1], dict))


def build_tables(nfkc: bool, t2s: bool, fold: bool, ws: bool, ocr: tuple = ()
                 ) -> tuple[dict[int, str], dict[str, str]]:
    """Build the tables of :func:`_tables`: every BMP code point through NFKC, case folding, OpenCC t2s and
    the OCR substitutions."""
    t2s_map = dict(_t2s_chars()) if t2s else {}
    for a, b in ocr:  # OCR / variant substitutions, applied after t2s
        t2s_map[ord(a)] = b
        for k, v in list(t2s_map.items()):
            if v == a:
                t2s_map[k] = b
    table: dict[int, str] = {}
    expand: dict[str, str] = {}
    for cp in range(0x10000):
        if 0xD800 <= cp < 0xE000:
            continue
        c = chr(cp)
        n = unicodedata.normalize("NFKC", c) if nfkc else c
        if fold:
            n = n.lower() if len(n.lower()) == len(n) else n
        n = "".join(t2s_map.get(ord(x), x) for x in n)
        if ws and n in ("\t", "\n", "\r", "\f", "\v", "\u00a0", "\u3000", "\u2028", "\u2029", "\x85"):
            n = " "
        if n == c:
            continue
        if len(n) == 1:
            table[cp] = n
        else:
            expand[c] = n
    expand.pop("\x00", None)
    return table, expand


def lookup_tables(table: dict[int, str], expand: dict[str, str]
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per code point (numpy arrays over U+0000-U+10FFFF): the translated code point, whitespace, CJK, and
    the flags of the translated character (bit 0 = whitespace, bit 1 = CJK, bit 2 = length-changing
    expansion of the original character). Vectorised over the translate table's entries."""
    keys = np.fromiter(table.keys(), dtype=np.int64, count=len(table))
    vals = np.fromiter(map(ord, table.values()), dtype=np.int64, count=len(table))
    lut = np.arange(0x110000, dtype=np.uint32)
    lut[keys] = vals
    wslut = np.zeros(0x110000, dtype=bool)
    for ch in _WS + "\u2028\u2029\x85":
        wslut[ord(ch)] = True
    cjklut = cjk_mask(np.arange(0x110000, dtype=np.uint32))
    # flags of the translated character: the character's own where the table leaves it unchanged
    flag = wslut.astype(np.uint8) | (cjklut.astype(np.uint8) << 1)
    flag[keys] = wslut[vals].astype(np.uint8) | (cjklut[vals].astype(np.uint8) << 1)
    exp = np.fromiter((ord(ch) for ch in expand), dtype=np.int64, count=len(expand))
    flag[exp] |= 4
    return lut, wslut, cjklut, flag


@dataclass
class NormText:
    """A normalised text and its map back to the original.

    Every normalised character comes from exactly one original character (deletions drop characters,
    expansions repeat the index), so the map from a normalised position to its original index (``_map``)
    gives both ends of a span: ``orig_spans``. The map is the identity, the deletion-only map or the segment
    map below (no array over every character). ``cps`` optionally holds the normalised text's code points
    (uint32; uint8 for an ASCII text), reused by the scanner.
    """

    original: str
    text: str
    cps: np.ndarray | None = None
    # deletion-only map: sorted normalised positions P[j] = D[j] - j of the deleted original indices D;
    # original index of normalised a = a + count(P <= a)
    del_pos: np.ndarray | None = None
    # segment map (deletions and expansions): segments of the normalised text in order, each with its first
    # normalised position, the original index there, and whether it is an expansion (every character of it
    # comes from that one original index) or a run of one-to-one characters
    seg_start: np.ndarray | None = None
    seg_orig: np.ndarray | None = None
    seg_expansion: np.ndarray | None = None

    def _map(self, a: np.ndarray) -> np.ndarray:
        if self.seg_start is not None and self.seg_orig is not None and self.seg_expansion is not None:
            a = np.asarray(a, dtype=np.int64)
            k = np.searchsorted(self.seg_start, a, side="right") - 1
            return self.seg_orig[k] + np.where(self.seg_expansion[k], 0, a - self.seg_start[k])
        if self.del_pos is not None:
            return a.astype(np.int64) + np.searchsorted(self.del_pos, a, side="right")
        return a.astype(np.int64)

    @property
    def end_map(self) -> np.ndarray:
        return self._map(np.arange(len(self.text))) + 1

    def orig_span(self, a: int, b: int) -> tuple[int, int]:
        """Original ``[start, end)`` of normalised ``[a, b)`` (b > a)."""
        s, e = self.orig_spans(np.array([a]), np.array([b]))
        return int(s[0]), int(e[0])

    def orig_spans(self, a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        a = np.asarray(a, dtype=np.int64)
        b = np.asarray(b, dtype=np.int64)
        return self._map(a), self._map(b - 1) + 1

    def codepoints(self) -> np.ndarray:
        if self.cps is None:
            self.cps = np.frombuffer(self.text.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
        return self.cps


class Normaliser:
    ascii_fast_path = True  # ASCII text through bytes.translate; False: the code-point tables (tests compare)

    def __init__(self, config: dict[str, Any] | None = None):
        cfg = dict(default_config())
        cfg.update(config or {})
        self.config = cfg
        self._table: dict[int, str] | None = None
        self._expand: dict[str, str] = {}
        self._py_rx: re.Pattern[str] | None = None

    def _prepare(self) -> None:
        if self._table is not None:
            return
        c = self.config
        self._table, self._expand = _tables(bool(c["nfkc"]), bool(c["traditional_to_simplified"]),
                                            bool(c["case_fold"]), bool(c["collapse_whitespace"]),
                                            tuple(c.get("ocr", ())))
        self._lut, self._wslut, self._cjklut, self._flaglut = lookup_tables(self._table, self._expand)
        mode = c.get("pinyin", "tone")
        self._py_rx = re.compile(f"\\( ?{_SYL}(?: {_SYL}){{0,3}} ?\\)") if mode in ("tone", "lowercase") else None

    def translate(self, original: str) -> str:
        """The length-preserving steps: one vectorised table lookup over code points."""
        self._prepare()
        if original.isascii():
            return self._ascii(original)[0]
        cps = np.frombuffer(original.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
        return self._lut[cps].tobytes().decode("utf-32-le", "surrogatepass")

    def _ascii(self, original: str) -> tuple[str, np.ndarray]:
        """The translated text of an ASCII text and its code points (uint8): ``str.lower`` (A-Z only, in ASCII
        text) and a ``str.replace`` for each ASCII whitespace character other than the space that occurs (tab,
        line feed, carriage return, form feed, vertical tab: the code-point table's mapping). Measured on
        the ASCII half of a (d) task (2.1 million characters): 1.0 ms against 1.5-1.8 ms for
        ``bytes.translate`` with its encode and decode."""
        c = self.config
        t = original.lower() if c["case_fold"] else original
        if c["collapse_whitespace"]:
            for ch in _ASCII_WS:
                if ch in t:
                    t = t.replace(ch, " ")
        return t, np.frombuffer(t.encode("ascii"), dtype=np.uint8)

    def _pinyin_ok(self, original: str, s: int, e: int) -> bool:
        seg = original[s:e]
        if self.config.get("pinyin", "tone") == "tone":
            return any(ch in _TONED for ch in seg.lower()) or any(ch in "12345" for ch in seg)
        return seg == seg.lower() or any(ch in _TONED for ch in seg.lower())

    def normalise(self, original: str) -> NormText:
        """The normalised text of ``original`` and its offset map (see the module docstring)."""
        self._prepare()
        tr = self._translate(original)
        if isinstance(tr, NormText):
            return tr
        t, t_cps, ws, flags, exp_pos = tr
        dels = self._space_deletions(original, t_cps, ws, flags)
        dels += self._pinyin_deletions(original, t, t_cps)
        if not dels and len(exp_pos) == 0:
            return NormText(original, t, t_cps.astype(np.uint32, copy=False))
        D = np.unique(np.concatenate(dels)) if dels else np.zeros(0, dtype=np.int64)
        if len(exp_pos) == 0:
            return self._delete(original, t, t_cps, D)
        return self._expand_and_delete(original, t, D, exp_pos)

    def _translate(self, original: str) -> NormText | tuple[str, np.ndarray, np.ndarray, np.ndarray | None,
                                                            np.ndarray]:
        """Per-character translation (one lookup table): the translated text and code points, the whitespace
        mask, the character flags and the positions of length-changing characters; or the finished NormText
        for ASCII text that needs nothing else."""
        if self.ascii_fast_path and original.isascii():
            t, cps = self._ascii(original)
            # ASCII whitespace is a space once translated (collapse_whitespace), so the deletions of the collapse
            # are the spaces after a space; nothing else is deleted in ASCII text (no CJK runs, no pinyin)
            after_space = np.flatnonzero((cps[1:] == 32) & (cps[:-1] == 32)) + 1
            if not len(after_space) or not self.config["collapse_whitespace"]:
                return NormText(original, t, cps)
            return self._delete(original, t, cps, after_space)  # code points stay uint8
        # code points as indices once for both tables (each fancy index would convert them again)
        idx = np.frombuffer(original.encode("utf-32-le", "surrogatepass"), dtype=np.uint32).astype(np.intp)
        t_cps = self._lut.take(idx)
        t = t_cps.tobytes().decode("utf-32-le", "surrogatepass")
        flags = self._flaglut.take(idx)  # bit 0: whitespace after translation, bit 1: CJK, bit 2: length-changing
        exp_pos = np.flatnonzero(flags & 4) if self._expand else np.zeros(0, dtype=np.int64)
        return t, t_cps, (flags & 1).astype(bool), flags, exp_pos

    def _space_deletions(self, original: str, t_cps: np.ndarray, ws: np.ndarray, flags: np.ndarray | None
                         ) -> list[np.ndarray]:
        """Positions deleted by whitespace collapse and by the removal of whitespace inside CJK runs (only
        O(n) boolean ops; index arrays are built for the few positions that change)."""
        c = self.config
        n = len(t_cps)
        dels: list[np.ndarray] = []
        if n <= 1:
            return dels
        dbl = ws[1:] & ws[:-1]  # whitespace preceded by whitespace
        if c["collapse_whitespace"] and dbl.any():
            dels.append(np.flatnonzero(dbl) + 1)  # all but the first whitespace of each run
        if not c["collapse_cjk_spaces"] or flags is None:
            return dels
        cjk = (flags & 2).astype(bool)
        first_after_cjk = np.flatnonzero(ws[1:] & cjk[:-1]) + 1  # run starts preceded by CJK
        if not len(first_after_cjk):
            return dels
        nxt = first_after_cjk + 1
        single = nxt < n
        single[single] = ~ws[nxt[single]]
        st = first_after_cjk[single]
        sel = self._cjklut[t_cps[st + 1]]
        dels.append(st[sel])
        for a in first_after_cjk[~single].tolist():  # runs of 2+ whitespace: rare, walk them
            b = a
            while b < n and ws[b]:
                b += 1
            if b < n and cjk[b]:
                dels.append(np.arange(a, a + 1 if c["collapse_whitespace"] else b))
        return dels

    def _pinyin_deletions(self, original: str, t: str, t_cps: np.ndarray) -> list[np.ndarray]:
        """Positions of bracketed pinyin right after a CJK character."""
        dels: list[np.ndarray] = []
        if self._py_rx is None or "(" not in t or original.isascii():
            return dels
        for m in self._py_rx.finditer(t):
            s, e = m.span()
            if s > 0 and t[s - 1] == " " and s > 1 and self._cjklut[t_cps[s - 2]]:
                s -= 1
            elif not (s > 0 and self._cjklut[t_cps[s - 1]]):
                continue
            if self._pinyin_ok(original, s, e):
                dels.append(np.arange(s, e))
        return dels

    @staticmethod
    def _delete(original: str, t: str, t_cps: np.ndarray, D: np.ndarray) -> NormText:
        """Deletion only: slice the translated string, keep a compact map."""
        pieces = []
        cp_pieces = []
        prev = 0
        if len(D):
            brk = np.flatnonzero(np.diff(D) != 1)
            run_s = D[np.concatenate([[0], brk + 1])].tolist()
            run_e = (D[np.concatenate([brk, [len(D) - 1]])] + 1).tolist()
            for a, b in zip(run_s, run_e, strict=True):
                pieces.append(t[prev:a])
                cp_pieces.append(t_cps[prev:a])
                prev = b
        pieces.append(t[prev:])
        cp_pieces.append(t_cps[prev:])
        text = "".join(pieces)
        P = D - np.arange(len(D))
        return NormText(original, text, np.concatenate(cp_pieces), P)  # dtype kept (uint8 for ASCII)

    def _expand_and_delete(self, original: str, t: str, D: np.ndarray, exp_pos: np.ndarray) -> NormText:
        """Deletions and multi-character expansions: the text from slices of the translated text and the
        expansion strings, and a segment map (no array over every character: a chunk with one ℃ used to
        build a start map as long as the whole chunk)."""
        if len(D):
            exp_pos = exp_pos[~np.isin(exp_pos, D)]  # a deleted character is not expanded
        reps = [self._expand[original[p]] for p in exp_pos.tolist()]
        # the irregular original indices, in order: deleted (-1 character) and expanded (len - 1 characters)
        irr = np.concatenate([np.asarray(D, dtype=np.int64), exp_pos.astype(np.int64)])
        delta = np.concatenate([np.full(len(D), -1, dtype=np.int64),
                                np.array([len(r) for r in reps], dtype=np.int64) - 1])
        which = np.concatenate([np.full(len(D), -1, dtype=np.int64), np.arange(len(reps), dtype=np.int64)])
        order = np.argsort(irr, kind="stable")
        irr, delta, which = irr[order], delta[order], which[order]
        shift = np.zeros(len(irr), dtype=np.int64)  # characters gained (or lost) before each irregular index
        np.cumsum(delta[:-1], out=shift[1:])
        # segments: the first run, then per irregular index its expansion (if any characters) and the run after it
        m = len(irr)
        starts = np.zeros(2 * m + 1, dtype=np.int64)
        origs = np.zeros(2 * m + 1, dtype=np.int64)
        expansion = np.zeros(2 * m + 1, dtype=bool)
        valid = np.ones(2 * m + 1, dtype=bool)
        starts[1::2], origs[1::2], expansion[1::2] = irr + shift, irr, True
        valid[1::2] = (which >= 0) & (delta >= 0)
        starts[2::2], origs[2::2] = irr + 1 + shift + delta, irr + 1
        pieces: list[str] = []
        prev = 0
        for j, w in zip(irr.tolist(), which.tolist(), strict=True):
            if j > prev:
                pieces.append(t[prev:j])
            if w >= 0:
                pieces.append(reps[w])
            prev = j + 1
        pieces.append(t[prev:])
        text = "".join(pieces)
        cps = np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
        return NormText(original, text, cps, seg_start=starts[valid], seg_orig=origs[valid],
                        seg_expansion=expansion[valid])


@lru_cache(maxsize=4)
def _cached(key: tuple) -> Normaliser:
    return Normaliser(dict(key))


def get_normaliser(config: dict[str, Any] | None = None) -> Normaliser:
    """The (cached) normaliser for the default settings updated with ``config``."""
    if not config:
        return _cached(_default_config_items())
    cfg = default_config()
    cfg.update(config or {})
    return _cached(tuple(sorted(cfg.items())))


def normalise_term(term: str, config: dict[str, Any] | None = None) -> str:
    """Normalise a rule-pack literal the same way as document text."""
    return get_normaliser(config).normalise(term).text
