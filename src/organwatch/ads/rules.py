"""The ads claim-rule pack: cue families compiled by the screener's rule-pack code, plus the value grammar.

The pack is one TOML file (``rules/ads_default.toml``, or a path given with ``--rules``). Its ``[[rule]]``
entries are in the screener's rule format (``<``/``>`` boundary markers, ``{fragment}`` expansion) and are
expanded here by a thin adapter (the screener's ``compile_pack`` also validates screener-only tables), then
found by the screener's scanner over text normalised by the screener's normaliser. Its ``[grammar]``
tables (units, numerals, connectors, currencies, multipliers) are validated here and turned into the two
compiled value expressions of :mod:`organwatch.ads.values`; every grammar string is normalised like the page
text first. ``[[grammar_rule]]`` entries are expression families with an example and a counter-example.
"""

from __future__ import annotations

import hashlib
import re
import tomllib
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

from organwatch.errors import InputError, UsageError
from organwatch.screen.normalise import get_normaliser
from organwatch.screen.rulepack import (  # the screener's rule format, literal type and expansion
    Literal,
    Rule,
    expand_term,
    literal_table,
    split_markers,
)

DEFAULT_PACK = "ads_default"
ISO = re.compile(r"^[A-Z]{3}$")


@dataclass
class CuePack:
    """The ``[[rule]]`` cue families expanded to one literal table (the screener's rule format and marker
    syntax; a thin adapter, because the screener's ``compile_pack`` also validates screener-only tables)."""

    rules: list[Rule]
    suppress: dict[str, list[str]]
    literals: list[Literal] = field(default_factory=list)
    owners: list[list[int]] = field(default_factory=list)  # literal index -> rule indexes

    def literal_strings(self) -> list[str]:
        return [lit.text for lit in self.literals]


def expand_terms(terms: list[str], fragments: dict[str, list[str]]) -> list[str]:
    """Terms as written, fragments expanded and boundary markers stripped (for the byte prefilter)."""
    return [split_markers(lit)[0] for term in terms for lit in expand_term(term, fragments, "<pack>")]


def compile_cues(doc: dict[str, Any], where: str) -> CuePack:
    fragments = {k: list(v) for k, v in doc.get("fragments", {}).items()}
    rules = []
    for i, r in enumerate(doc.get("rule", []), 1):
        for key in ("id", "type", "terms", "example", "counter_example"):
            if key not in r:
                raise InputError(f"rule has no '{key}'", file=where, record=i)
        rules.append(Rule(r["id"], r["type"], r.get("tag", ""), r.get("lang", ""), list(r["terms"]),
                          r["example"], r["counter_example"]))
    pack = CuePack(rules, {k: list(v) for k, v in doc.get("suppress", {}).items()})
    pack.literals, pack.owners = literal_table(rules, fragments, where, lambda t: _n(t).strip())
    return pack


@dataclass
class Grammar:
    units: dict[str, float]
    bare_units: set[str]
    comparator_min_days: float
    comparator_max_days: float
    cjk_digits: dict[str, int]
    cjk_units: dict[str, int]
    word_numbers: dict[str, int]
    numeral_ranges: dict[str, tuple[int, int]]
    connectors: list[str]
    within_before: list[str]
    within_after: list[str]
    fixed: dict[str, tuple[float, float]]
    vague: list[str]
    reject_before: list[str]
    reject_after: list[str]
    article_after: set[str]
    currency_before: dict[str, str]
    currency_after: dict[str, str]
    multipliers: dict[str, int]
    price_min_before: list[str]
    price_min_after: list[str]
    price_max_before: list[str]
    price_max_after: list[str]
    equivalent_links: list[str]
    forward_links: list[str]
    implicit_cny_multipliers: set[str] = field(default_factory=set)
    counter_words: set[str] = field(default_factory=set)
    ordinal_day_cjk: list[str] = field(default_factory=list)
    ordinal_day_en: list[str] = field(default_factory=list)
    ordinal_words: dict[str, int] = field(default_factory=dict)


@dataclass
class GrammarRule:
    id: str
    lang: str
    example: str
    expect: dict[str, Any]
    counter_example: str


@dataclass
class AdsPack:
    name: str
    version: str
    sha256: str
    path: str
    cues: CuePack
    grammar: Grammar
    grammar_rules: list[GrammarRule] = field(default_factory=list)
    settings: dict[str, Any] = field(default_factory=dict)
    fragments: dict[str, list[str]] = field(default_factory=dict)


def _n(s: str) -> str:
    """A grammar string normalised like page text (keeps a leading/trailing space: they are meaningful)."""
    lead = " " if s.startswith(" ") else ""
    trail = " " if s.endswith(" ") and len(s.strip()) else ""
    core = get_normaliser().normalise(s.strip()).text if s.strip() else s
    return lead + core + trail


def _strings(g: dict[str, Any], key: str, where: str) -> list[str]:
    v = g.get(key)
    if not isinstance(v, list) or not all(isinstance(x, str) and x for x in v):
        raise InputError(f"[grammar] {key} must be a list of non-empty strings", file=where)
    return [_n(x) for x in v]


def _pairs(g: dict[str, Any], key: str, where: str, kind: type) -> dict[str, Any]:
    kinds: tuple[type, ...] = (int, float) if kind is float else (kind,)
    v = g.get(key)
    out: dict[str, Any] = {}
    if not isinstance(v, list):
        raise InputError(f"[grammar] {key} must be a list of [text, value] pairs", file=where)
    for item in v:
        if not (isinstance(item, list) and len(item) == 2 and isinstance(item[0], str) and isinstance(item[1], kinds)):
            raise InputError(f"[grammar] {key}: bad entry {item!r}", file=where)
        out[_n(item[0])] = item[1]
    return out


def _table(g: dict[str, Any], key: str, where: str) -> dict[str, int]:
    v = g.get(key)
    if not isinstance(v, dict) or not all(isinstance(x, int) for x in v.values()):
        raise InputError(f"[grammar] {key} must be a table of integers", file=where)
    return {_n(k): int(x) for k, x in v.items()}


def _triples(g: dict[str, Any], key: str, where: str) -> dict[str, tuple[float, float]]:
    v = g.get(key)
    out: dict[str, tuple[float, float]] = {}
    if not isinstance(v, list):
        raise InputError(f"[grammar] {key} must be a list of [text, min, max]", file=where)
    for item in v:
        ok = isinstance(item, list) and len(item) == 3 and isinstance(item[0], str)
        if not ok or not all(isinstance(x, (int, float)) for x in item[1:]) or item[1] > item[2]:
            raise InputError(f"[grammar] {key}: bad entry {item!r}", file=where)
        out[_n(item[0])] = (float(item[1]), float(item[2]))
    return out


def _currencies(g: dict[str, Any], key: str, where: str) -> dict[str, str]:
    out = _pairs(g, key, where, str)
    for text, code in out.items():
        if not (ISO.match(code) or code == "YEN"):
            raise InputError(f"[grammar] {key}: '{code}' for '{text}' is not an ISO 4217 code", file=where)
    return out


def compile_grammar(g: dict[str, Any], where: str) -> Grammar:
    units = {k: float(v) for k, v in _pairs(g, "units_days", where, float).items()}
    if any(v <= 0 for v in units.values()):
        raise InputError("[grammar] units_days: every unit needs a positive number of days", file=where)
    return Grammar(
        units=units, bare_units=set(_strings(g, "bare_units", where)),
        comparator_min_days=float(g.get("comparator_units_min_days", 365)),
        comparator_max_days=float(g.get("comparator_max_wait_days", 180)),
        cjk_digits=_table(g, "cjk_digits", where), cjk_units=_table(g, "cjk_units", where),
        word_numbers=_pairs(g, "word_numbers", where, int),
        numeral_ranges={k: (int(v[0]), int(v[1])) for k, v in _triples(g, "numeral_ranges", where).items()},
        connectors=_strings(g, "range_connectors", where), within_before=_strings(g, "within_before", where),
        within_after=_strings(g, "within_after", where), fixed=_triples(g, "fixed_waits", where),
        vague=_strings(g, "vague_waits", where), reject_before=_strings(g, "reject_before", where),
        reject_after=_strings(g, "reject_after", where), article_after=set(_strings(g, "article_after", where)),
        currency_before=_currencies(g, "currency_before", where),
        currency_after=_currencies(g, "currency_after", where),
        multipliers=_pairs(g, "multipliers", where, int),
        price_min_before=_strings(g, "price_min_before", where), price_min_after=_strings(g, "price_min_after", where),
        price_max_before=_strings(g, "price_max_before", where), price_max_after=_strings(g, "price_max_after", where),
        equivalent_links=_strings(g, "equivalent_links", where), forward_links=_strings(g, "forward_links", where),
        ordinal_day_cjk=_strings(g, "ordinal_day_cjk", where), ordinal_day_en=_strings(g, "ordinal_day_en", where),
        ordinal_words=_pairs(g, "ordinal_words", where, int),
        implicit_cny_multipliers=set(_strings(g, "implicit_cny_multipliers", where)),
        counter_words=set(_strings(g, "counter_words", where)))


def _grammar_rules(doc: dict[str, Any], where: str) -> list[GrammarRule]:
    out = []
    for i, r in enumerate(doc.get("grammar_rule", []), 1):
        for key in ("id", "example", "expect", "counter_example"):
            if key not in r:
                raise InputError(f"grammar_rule has no '{key}'", file=where, record=i)
        out.append(GrammarRule(r["id"], r.get("lang", ""), r["example"], dict(r["expect"]), r["counter_example"]))
    return out


def _read(spec: str | Path | None) -> tuple[bytes, str]:
    p = Path(str(spec)) if spec is not None else None
    if p is not None and p.suffix.lower() == ".toml" and p.exists():
        return p.read_bytes(), str(p)
    name = str(spec or DEFAULT_PACK).removesuffix(".toml")
    res = resources.files("organwatch.ads").joinpath(f"rules/{name}.toml")
    if not res.is_file():
        raise UsageError(f"--rules: no ads rule pack named '{spec}' (and no such .toml file)")
    return res.read_bytes(), f"organwatch/ads/rules/{name}.toml"


@lru_cache(maxsize=4)
def load_pack(spec: str | None = None) -> AdsPack:
    """Load and validate a pack by name (shipped in ``organwatch/ads/rules``) or by path to a TOML file."""
    raw, where = _read(spec)
    try:
        doc = tomllib.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as e:
        raise InputError(f"rule pack is not valid TOML: {e}", file=where) from None
    sha = hashlib.sha256(raw).hexdigest()
    cues = compile_cues(doc, where)
    if "grammar" not in doc:
        raise InputError("rule pack has no [grammar] table", file=where)
    meta = doc.get("pack", {})
    return AdsPack(name=meta.get("name", "ads"), version=str(meta.get("version", "")), sha256=sha, path=where,
                   cues=cues, grammar=compile_grammar(doc["grammar"], where), grammar_rules=_grammar_rules(doc, where),
                   settings=dict(doc.get("settings", {})),
                   fragments={k: list(v) for k, v in doc.get("fragments", {}).items()})
