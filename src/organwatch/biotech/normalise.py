"""Company-name normalisation for biotech matching: NFKC, traditional -> simplified, case folding, tokens,
anchored legal-form stripping and leading place names (parameters in ``biotech/data/matching.toml``).

A name becomes a tuple of tokens: runs of Latin letters/digits, and runs of CJK characters (one token per run).
Legal forms are removed only at the end of the name ("MGI Tech Co., Ltd." -> ("mgi", "tech")), CJK forms only
at the end of the last CJK run (深圳华大基因股份有限公司 -> 深圳华大基因).
"""

from __future__ import annotations

import functools
import re
import tomllib
import unicodedata
from dataclasses import dataclass
from importlib import resources
from typing import Any

from organwatch.textscript import CJK_CLASS

_TOKEN = re.compile(f"[0-9a-z]+|[{CJK_CLASS}]+")
_CJK = re.compile(f"[{CJK_CLASS}]")


@functools.cache
def settings() -> dict[str, Any]:
    """matching.toml, validated (the keys the matcher uses must be there, with the right types)."""
    raw = tomllib.loads((resources.files("organwatch.biotech") / "data" / "matching.toml").read_text("utf-8"))
    lists = ("legal_forms_latin", "legal_forms_cjk", "leading_places_latin", "leading_places_cjk", "context_terms",
             "negative_context_terms")
    for key in lists:
        if not isinstance(raw.get(key), list) or not all(isinstance(x, str) and x for x in raw[key]):
            raise RuntimeError(f"biotech/data/matching.toml: '{key}' must be a list of non-empty strings")
    scores = raw.get("scores", {})
    for key in ("accept", "review", "margin", "min_length", "contains"):
        if not isinstance(scores.get(key), int | float):
            raise RuntimeError(f"biotech/data/matching.toml: [scores] '{key}' must be a number")
    if not scores["review"] <= scores["accept"] <= 100:
        raise RuntimeError("biotech/data/matching.toml: [scores] needs review <= accept <= 100")
    if not isinstance(raw.get("acronym_max_len"), int):
        raise RuntimeError("biotech/data/matching.toml: 'acronym_max_len' must be an integer")
    return raw


@functools.cache
def _t2s() -> Any:
    import opencc

    return opencc.OpenCC("t2s")


def fold(text: str) -> str:
    """NFKC, traditional -> simplified Chinese, case folding."""
    s = unicodedata.normalize("NFKC", text)
    if _CJK.search(s):
        s = _t2s().convert(s)
    return s.casefold()


def tokens(text: str) -> tuple[str, ...]:
    return tuple(_TOKEN.findall(fold(text)))


def is_cjk(token: str) -> bool:
    return bool(_CJK.match(token))


@functools.cache
def _latin_forms() -> tuple[tuple[str, ...], ...]:
    forms = {tuple(_TOKEN.findall(fold(f))) for f in settings()["legal_forms_latin"]}
    return tuple(sorted((f for f in forms if f), key=len, reverse=True))


@functools.cache
def _cjk_forms() -> tuple[str, ...]:
    return tuple(sorted((fold(f) for f in settings()["legal_forms_cjk"]), key=len, reverse=True))


def _strip_latin_tail(toks: list[str]) -> bool:
    for form in _latin_forms():
        n = len(form)
        if len(toks) > n and tuple(toks[-n:]) == form:
            del toks[-n:]
            return True
    return False


def _strip_cjk_tail(toks: list[str]) -> bool:
    last = toks[-1]
    if not is_cjk(last):
        return False
    for form in _cjk_forms():
        if last.endswith(form) and len(last) > len(form):
            toks[-1] = last[: -len(form)]
            return True
    return False


def strip_legal_forms(toks: tuple[str, ...]) -> tuple[str, ...]:
    """Remove legal forms at the end, repeatedly ("Co., Ltd." then "Holdings"); never the whole name."""
    out = list(toks)
    while out and (_strip_latin_tail(out) or _strip_cjk_tail(out)):
        pass
    return tuple(out)


def strip_leading_place(toks: tuple[str, ...]) -> tuple[str, ...]:
    """Drop one leading place name (Shenzhen MGI Tech -> MGI Tech; 深圳华大智造 -> 华大智造), if a name remains."""
    if len(toks) > 1 and toks[0] in settings()["leading_places_latin"]:
        return toks[1:]
    if toks and is_cjk(toks[0]):
        for place in sorted((fold(p) for p in settings()["leading_places_cjk"]), key=len, reverse=True):
            if toks[0].startswith(place) and len(toks[0]) > len(place) + 1:
                return (toks[0][len(place):], *toks[1:])
    return toks


@dataclass(frozen=True)
class Name:
    """A name in its matching forms."""

    raw: str
    toks: tuple[str, ...]  # folded tokens, legal forms stripped
    text: str  # toks joined by spaces
    compact: str  # toks joined without spaces ("mgitech")
    cjk: bool  # has CJK characters
    spaced: str  # for fuzzy scoring: Latin tokens, CJK characters one per token

    @property
    def length(self) -> int:
        return len(self.compact)


def make_name(raw: str, toks: tuple[str, ...] | None = None) -> Name:
    t = strip_legal_forms(tokens(raw)) if toks is None else toks
    cjk = any(is_cjk(x) for x in t)
    spaced = " ".join(" ".join(x) if is_cjk(x) else x for x in t)
    return Name(raw=raw, toks=t, text=" ".join(t), compact="".join(t), cjk=cjk, spaced=spaced)


def name_forms(raw: str) -> list[Name]:
    """The name, and the name without a leading place, as matching forms (duplicates removed)."""
    base = make_name(raw)
    forms = [base]
    placeless = strip_leading_place(base.toks)
    if placeless != base.toks:
        forms.append(make_name(raw, placeless))
    return forms


def is_acronym(raw: str) -> bool:
    """A short all-capital alias such as BGI, MGI, FGI (matched only with genomics context)."""
    s = unicodedata.normalize("NFKC", raw).strip()
    return s.isascii() and s.isalpha() and s.isupper() and len(s) <= int(settings()["acronym_max_len"])


def contains_run(haystack: tuple[str, ...], needle: tuple[str, ...]) -> bool:
    """``needle`` appears in ``haystack`` as whole consecutive tokens; CJK needles also as a substring."""
    n = len(needle)
    if not n or n > len(haystack) and not (n == 1 and is_cjk(needle[0])):
        return False
    if n == 1 and is_cjk(needle[0]):
        return any(is_cjk(h) and needle[0] in h for h in haystack)
    return any(haystack[i:i + n] == needle for i in range(len(haystack) - n + 1))
