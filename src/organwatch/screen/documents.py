"""The document a reader yields, with the text helpers every reader shares (composition with section offsets,
hyphenation rejoining through an offset map, ISO 639-1 language codes, per-passage script language).

Record-level failures are :class:`organwatch.errors.RecordError` (re-exported here); information that is not
a failure (a DeleteCitation list, a decoding note) is ``RecordError(..., note=True)``.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from organwatch import textscript
from organwatch.errors import RecordError


@dataclass
class Document:
    document_id: str
    file: str
    record: int  # 1-based record index within the file
    text: str  # the exact text screened; all offsets index it
    title: str = ""
    year: int | None = None
    institution: str | None = None
    language: str | None = None  # ISO 639-1 ("en", "zh", ...): majority script of the passages of ``text``
    errors: list[str] = field(default_factory=list)
    line: int | None = None
    page_offsets: list[int] | None = None  # PDF: start offset of each page in ``text``
    notes: list[str] = field(default_factory=list)  # information, not failures (e.g. "decoded as gb18030")
    declared_language: str | None = None  # ISO 639-1 from the record's metadata, when it states one
    sections: list[tuple[str, int, int]] | None = None  # (name, start, end) into ``text``: title, abstract, ...
    origin_map: list[tuple[int, int]] | None = None  # (offset in text, offset in the extracted raw text) breaks
    prefilter_mark: str | None = None  # readers/bulk.py: the rule pack whose prefilter matched the raw input line


class TextBuilder:
    """Compose a document text from named parts joined by blank lines, remembering each part's offsets."""

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.sections: list[tuple[str, int, int]] = []
        self.pos = 0

    def add(self, name: str, text: str | None) -> None:
        if not text:
            return
        if self.parts:
            self.parts.append("\n\n")
            self.pos += 2
        self.parts.append(text)
        self.sections.append((name, self.pos, self.pos + len(text)))
        self.pos += len(text)

    def text(self) -> str:
        return "".join(self.parts)


def compose_text(title: str, *parts: str) -> str:
    """Title and body parts joined by blank lines (the screened text)."""
    return "\n\n".join(p for p in (title, *parts) if p)


_YEAR = re.compile(r"(?<!\d)(1[89]\d\d|20\d\d|2100)(?!\d)")


def parse_year(value: object) -> int | None:
    """The first plausible four-digit year (1800-2100) in a value, else None."""
    if value is None:
        return None
    m = _YEAR.search(str(value))
    return int(m.group(1)) if m else None


# -- hyphenation ----------------------------------------------------------------------------------------------
# pdfium marks its own line-end hyphenation with U+FFFE; U+00AD is a soft hyphen; "-" + newline between two
# lower-case letters is a typeset word break. All are removed together with the line break that follows.
_HYPHEN = re.compile(r"[\ufffe\u00ad][ \t]*(?:\r?\n)?|(?<=[a-zß-ÿ])-[ \t]*\r?\n(?=[a-zß-ÿ])")


def rejoin_hyphens(text: str) -> tuple[str, list[tuple[int, int]] | None]:
    """Text with hyphenated line breaks rejoined, and the offset map ``[(clean, raw), ...]``: from each clean
    offset ``clean`` on, raw offset = ``raw + (offset - clean)`` until the next entry. None when unchanged."""
    if "\ufffe" not in text and "\u00ad" not in text and "-" not in text:
        return text, None
    out: list[str] = []
    mapping: list[tuple[int, int]] = [(0, 0)]
    last = 0
    removed = 0
    for m in _HYPHEN.finditer(text):
        out.append(text[last:m.start()])
        removed += m.end() - m.start()
        last = m.end()
        mapping.append((m.start() - (removed - (m.end() - m.start())), m.end()))
    if last == 0:
        return text, None
    out.append(text[last:])
    return "".join(out), mapping


def raw_offset(mapping: list[tuple[int, int]] | None, offset: int) -> int:
    """Map an offset of the rejoined text back to the raw extracted text (see :func:`rejoin_hyphens`)."""
    if not mapping:
        return offset
    import bisect

    k = bisect.bisect_right([c for c, _ in mapping], offset) - 1
    c, r = mapping[max(k, 0)]
    return r + (offset - c)


# -- languages -------------------------------------------------------------------------------------------------
@lru_cache(maxsize=1)
def _language_table() -> dict[str, str]:
    path = Path(__file__).parent / "readers" / "languages.toml"
    data = tomllib.loads(path.read_text("utf-8"))
    table: dict[str, str] = {}
    for code, names in data["languages"].items():
        if len(code) != 2 or not code.isalpha() or not code.islower():
            raise ValueError(f"{path.name}: '{code}' is not an ISO 639-1 code")
        table[code] = code
        for n in names:
            table[str(n).strip().lower()] = code
    return table


def iso639(value: object) -> str | None:
    """ISO 639-1 code for a language as records state it ("eng", "chi", "English", "中文;", "zh-CN"), else None."""
    if value is None:
        return None
    s = str(value).strip().strip(";,.，；").strip().lower()
    if not s:
        return None
    table = _language_table()
    if s in table:
        return table[s]
    for sep in (";", ",", "，", "；", " ", "-", "_", "|"):
        if sep in s:
            first = s.split(sep)[0].strip()
            if first in table:
                return table[first]
    return None


def passage_language(text: str) -> str | None:
    """Script language of one passage (:func:`organwatch.textscript.text_language`): "zh" (CJK ideographs
    >= 20 % of letters, as the matcher decides), "ja" (kana), "ko" (hangul), "ru" (Cyrillic), "en" (Latin),
    None without letters."""
    return textscript.text_language(text)


_PASSAGE_SPLIT = re.compile(r"\n\s*\n|\f")
_LETTER = re.compile("[A-Za-z\u00c0-\u024f]")


_UNKNOWN = 255  # category not yet known (decided with str.isalpha / str.isspace on first sight)
_SPACE = 6  # whitespace as str.split() sees it (str.isspace)
_NOT_SPACE = bytes(int(c != _SPACE) for c in range(256))  # category -> 1 unless whitespace (for _words)


@lru_cache(maxsize=1)
def _category_table() -> Any:
    """Script category per code point (0 CJK ideograph, 1 kana, 2 hangul, 3 Cyrillic, 4 other letter, 5 neither
    letter nor whitespace, 6 whitespace), filled lazily: the ranges and ASCII at once, every other code point on
    first sight."""
    import numpy as np

    lut = np.full(0x110000, _UNKNOWN, dtype=np.uint8)
    for lo, hi in textscript.CJK_RANGES:
        lut[lo:hi] = 0
    for cat, (lo, hi) in enumerate((textscript.KANA_RANGE, textscript.HANGUL_RANGE, textscript.CYRILLIC_RANGE), 1):
        lut[lo:hi] = cat
    lut[:0x80] = [_category(c) for c in range(0x80)]
    return lut


def _category(cp: int) -> int:
    ch = chr(cp)
    return 4 if ch.isalpha() else (_SPACE if ch.isspace() else 5)


def _words(marks: bytes, i: int, j: int) -> int:
    """``len(text[i:j].split())`` from ``marks`` (the text's categories translated with ``_NOT_SPACE``: 1 for a
    character that is not whitespace, else 0): the first character if it is not whitespace, plus every
    whitespace followed by one that is not (the pair ``01`` cannot overlap itself, so ``bytes.count`` finds all)."""
    j = min(j, len(marks))
    if j <= i:
        return 0
    return marks[i] + marks.count(b"\x00\x01", i, j)


def _script_categories(text: str) -> bytes:
    """Per code point of ``text``, one byte: its category in :func:`_category_table` (the categories of
    :func:`organwatch.textscript.script_counts`: CJK, kana, hangul, Cyrillic, other letters; 5, 6 = no letter).
    Code points not yet categorised are found with one ``bytes.find`` (a memchr: 10 of 34 microseconds per
    Chinese document of benchmark (d) went to a numpy comparison and ``any`` before)."""
    import numpy as np

    lut = _category_table()
    cps = np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype="<u4")
    cats = lut.take(cps).tobytes()  # take: no fancy-index overhead
    if cats.find(_UNKNOWN) >= 0:
        for c in np.unique(cps[np.frombuffer(cats, dtype=np.uint8) == _UNKNOWN]).tolist():
            lut[c] = _category(c)
        cats = lut.take(cps).tobytes()
    return cats


_WS_RUN = re.compile(r"\s*")


def _passage_breaks(text: str) -> list[tuple[int, int]]:
    """The spans of ``_PASSAGE_SPLIT.finditer(text)`` (``\\n\\s*\\n|\\f``), found from the few line-feed and
    form-feed positions instead of a regex scan of every character: a match starts only at one of them; at a
    line feed it runs over the whitespace that follows to its last line feed (greedy), at a form feed it is
    that character."""
    cands = []
    for ch in ("\n", "\f"):
        i = text.find(ch)
        while i >= 0:
            cands.append(i)
            i = text.find(ch, i + 1)
    cands.sort()
    out: list[tuple[int, int]] = []
    end = 0
    for p in cands:
        if p < end:
            continue
        if text[p] == "\f":
            out.append((p, p + 1))
            end = p + 1
            continue
        run = _WS_RUN.match(text, p + 1).end()  # type: ignore[union-attr]  # \s* always matches
        r = text.rfind("\n", p + 1, run)
        if r >= 0:
            out.append((p, r + 1))
            end = r + 1
    return out


def _pieces(text: str, window: int) -> list[tuple[int, int]]:
    """(start, end) of the passages of ``text``: blank-line-separated blocks cut into ``window`` characters."""
    if "\f" not in text and text.count("\n", 0, len(text)) < 2:  # one block (no blank line possible)
        return [(i, min(i + window, len(text))) for i in range(0, len(text), window)]
    out: list[tuple[int, int]] = []
    start = 0
    for a, b in [*_passage_breaks(text), (len(text), len(text))]:
        out.extend((i, min(i + window, a)) for i in range(start, a, window))
        start = b
    return out


def _outright(ballots: list[tuple[str, int, int, int]]) -> str | None:
    """The language that wins the word-weighted vote of :func:`document_language` whatever the word counts, or
    None. A ballot ``(language, i, j, chars)`` weighs ``chars`` plus its words, and ``text[i:j]`` holds at least
    one word (every ballot has a letter) and at most ``(j - i + 1) // 2`` (each word but the last needs a
    separator): when one language's least total exceeds every other language's greatest, it wins (no tie, so
    the alphabetical tie-break does not apply) and the words need not be counted. Chinese text with English
    passages is nearly always decided here: on benchmark (d) every mixed document was."""
    least: dict[str, int] = {}
    most: dict[str, int] = {}
    for lang, i, j, chars in ballots:
        least[lang] = least.get(lang, 0) + chars + 1
        most[lang] = most.get(lang, 0) + chars + (j - i + 1) // 2
    best = max(least, key=least.__getitem__)
    floor = least[best]
    return best if all(floor > v for k, v in most.items() if k != best) else None


def document_language(text: str, window: int = 2000) -> str | None:
    """Document language = the majority of its passages' languages (passages are blank-line-separated blocks,
    long blocks cut into ``window``-character windows), weighted by words (CJK character = one word)."""
    text = text[:400_000]
    if text.isascii():  # Latin only: one vote, so its weight does not matter
        return "en" if _LETTER.search(text) else None
    cb = _script_categories(text)  # one byte per character, counted per passage with bytes.count
    # kana, hangul and Cyrillic are counted per passage only when the document has any (a memchr each)
    has_kana, has_hangul, has_cyr = (cb.find(k) >= 0 for k in (1, 2, 3))
    ballots: list[tuple[str, int, int, int]] = []  # (language, start, end, CJK + kana + hangul count)
    for i, j in _pieces(text, window):
        cjk = cb.count(0, i, j)
        kana = cb.count(1, i, j) if has_kana else 0
        hangul = cb.count(2, i, j) if has_hangul else 0
        cyr = cb.count(3, i, j) if has_cyr else 0
        if cjk + kana + hangul + cyr == 0:  # Latin only
            if _LETTER.search(text, i, j):
                ballots.append(("en", i, j, 0))
            continue
        lang = textscript.language_of_counts((cjk, kana, hangul, cyr, cb.count(4, i, j)))
        if lang is not None:
            ballots.append((lang, i, j, cjk + kana + hangul))
    if len({b[0] for b in ballots}) <= 1:  # one language (or none): the weights cannot change the result
        return ballots[0][0] if ballots else None
    sure = _outright(ballots)
    if sure is not None:
        return sure
    marks = cb.translate(_NOT_SPACE)
    votes: dict[str, int] = {}
    for lang, i, j, chars in ballots:  # weighted by words; a CJK character weighs as a word
        votes[lang] = votes.get(lang, 0) + chars + _words(marks, i, j)
    return max(sorted(votes), key=lambda k: votes[k])


__all__ = ["Document", "RecordError", "TextBuilder", "compose_text", "parse_year", "rejoin_hyphens",
           "raw_offset", "iso639", "passage_language", "document_language"]
