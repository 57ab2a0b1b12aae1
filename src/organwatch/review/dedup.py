"""Unicode-aware de-duplication keys.

A record is keyed on its DOI, PMID or CNKI id when it has one (``doi:10.1000/x``, ``pmid:123``, ``cnki:ABC``).
Otherwise the key is its title after NFKC, case folding and traditional -> simplified Chinese (OpenCC), keeping
the letters and digits of *every* script (Unicode categories L* and N*) - unlike keys that keep only ASCII
``[a-z0-9]`` and so make every Chinese-only title collide on the empty string. A key shorter than
``min_key_chars`` counts as empty, and records with an empty key are never grouped. Grouping never deletes:
each record keeps its row and gets a ``dup_group`` (the smallest ``doc_pk`` of its group).
"""

from __future__ import annotations

import unicodedata
from functools import lru_cache
from typing import Any

from organwatch.review.config import settings


class _KeepLettersDigits(dict):
    """A ``str.translate`` table that keeps letters and digits of every script and drops everything else.

    Classification happens once per distinct code point (``__missing__``), so ``translate`` runs in C after that.
    """

    def __missing__(self, cp: int) -> int | None:
        v = cp if unicodedata.category(chr(cp))[0] in "LN" else None
        self[cp] = v
        return v


_KEEP = _KeepLettersDigits()


@lru_cache(maxsize=1)
def _opencc():
    import opencc

    return opencc.OpenCC(settings()["dedup"]["opencc_profile"])


def normalise_title(title: str | None) -> str:
    """NFKC -> case fold -> traditional to simplified -> letters and digits of every script."""
    if not title:
        return ""
    s = unicodedata.normalize("NFKC", str(title)).casefold()
    s = _opencc().convert(s)
    # NFKC again: case folding can produce sequences (e.g. 'ß' -> 'ss' is fine, but 'İ' -> 'i̇') that need it
    return unicodedata.normalize("NFKC", s).translate(_KEEP)


def normalise_doi(v: str) -> str:
    s = unicodedata.normalize("NFKC", str(v)).strip().casefold()
    for prefix in ("https://doi.org/", "http://doi.org/", "https://dx.doi.org/", "http://dx.doi.org/", "doi:"):
        if s.startswith(prefix):
            s = s[len(prefix):]
    return s.strip()


def _identifier(rec: dict[str, Any]) -> str:
    """The first identifier found on the record (top level, ``identifiers`` object or ``source`` object)."""
    places = [rec]
    for k in ("identifiers", "source"):
        if isinstance(rec.get(k), dict):
            places.append(rec[k])
    for field in settings()["dedup"]["identifier_fields"]:
        for p in places:
            v = p.get(field)
            if v is None or isinstance(v, (dict, list)) or str(v).strip() == "":
                continue
            if field == "doi":
                v = normalise_doi(v)
                if v.startswith("10."):
                    return f"doi:{v}"
            elif field == "pmid":
                v = str(v).strip()
                if v.isdigit() and int(v) > 0:
                    return f"pmid:{int(v)}"
            else:
                v = unicodedata.normalize("NFKC", str(v)).strip().casefold()
                if v:
                    return f"{field.removesuffix('_id')}:{v}"
    return ""


def dedup_key(rec: dict[str, Any]) -> tuple[str, str]:
    """``(identifier, key)`` for a screen record; ``key`` is ``""`` when it must never be grouped."""
    ident = _identifier(rec)
    if ident:
        return ident, ident
    cfg = settings()["dedup"]
    t = normalise_title(rec.get("title"))
    if len(t) < int(cfg["min_key_chars"]):
        return "", ""
    if cfg.get("key_includes_year") and rec.get("year") not in (None, ""):
        t = f"{t}|{rec.get('year')}"
    return "", "t:" + t

