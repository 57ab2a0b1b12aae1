"""Country normalisation N(x) -> ISO 3166-1 alpha-2 or UNKNOWN (compliance-rules.md 2.1).

Aliases are data (``data/countries.toml``). A bare two-letter code is accepted when it is in pyx12's ISO 3166-1
alpha-2 code set (the set X12 N404 uses); anything else unmapped is UNKNOWN, never guessed.
"""

from __future__ import annotations

import functools
import tomllib
from importlib import resources

from organwatch.claims.model import UNKNOWN


def _key(s: str) -> str:
    return " ".join(s.replace(".", "").replace("’", "'").split()).casefold()


@functools.cache
def _tables() -> tuple[dict[str, str], frozenset[str]]:
    raw = tomllib.loads((resources.files("organwatch.claims") / "data" / "countries.toml").read_text("utf-8"))
    aliases = {}
    for iso, names in raw["aliases"].items():
        for n in names:
            aliases[_key(n)] = iso
    return aliases, frozenset(raw["us_subdivisions"]["codes"])


@functools.cache
def _iso_alpha2() -> frozenset[str]:
    """ISO 3166-1 alpha-2 codes from pyx12's code sets (codes.xml, codeset 'country')."""
    from pyx12.codes import ExternalCodes

    ext = ExternalCodes(None, None)
    return frozenset(c for c in ext.codes.get("country", {}).get("codes", []))


def _alpha2_valid(code: str) -> bool:
    try:
        table = _iso_alpha2()
    except Exception:  # pragma: no cover - pyx12 layout changed: fall back to the alias table only
        return False
    if table:
        return code in table
    from pyx12.codes import ExternalCodes

    return bool(ExternalCodes(None, None).isValid("country", code))


@functools.lru_cache(maxsize=4096)
def normalise(value: str | None) -> str:
    """'CN', 'CHN', 'China', "People's Republic of China", 'PRC' -> 'CN'; 'HKG' -> 'HK'; unmapped -> 'UNKNOWN'."""
    if value is None:
        return UNKNOWN
    v = value.strip()
    if not v:
        return UNKNOWN
    aliases, _ = _tables()
    hit = aliases.get(_key(v))
    if hit:
        return hit
    if len(v) == 2 and v.isascii() and v.isalpha() and _alpha2_valid(v.upper()):
        return v.upper()
    return UNKNOWN


def is_us_subdivision(code: str | None) -> bool:
    return bool(code) and code.strip().upper() in _tables()[1]  # type: ignore[union-attr]
