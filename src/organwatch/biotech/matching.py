"""Name and product matching against the restricted-entity registry: exact forms, whole-token containment,
product-family patterns, context-gated acronyms and rapidfuzz scoring with an abstention margin.

Tiers, strongest first (parameters in ``biotech/data/matching.toml``):

1. ``exact``: a normalised form (legal forms stripped, optionally a leading place name) equals a registry name
   or alias, also with spaces removed ("MGI Tech Co., Ltd." = "MGITech" = "mgi tech").
2. ``contains``: a registry name appears as whole consecutive tokens (CJK: as a substring) of the input
   ("Shenzhen BGI Genomics Co Ltd", "武汉华大智造科技有限公司"); the longest registry name wins.
3. ``acronym``: a short all-capital alias (BGI, MGI, FGI) as a whole token; usable only with genomics context.
4. ``fuzzy``: rapidfuzz ``token_sort_ratio`` on the normalised form, CJK characters as separate tokens (so
   names written without spaces do not score 0); accepted at ``accept`` with a ``margin`` over the best other
   entity, sent to review between ``review`` and ``accept``.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from dataclasses import dataclass, field

from organwatch.biotech.normalise import Name, contains_run, fold, is_acronym, name_forms, settings
from organwatch.biotech.registry import Product, Registry

TIER = {"exact": 0, "contains": 1, "acronym": 2, "fuzzy": 3}
_DASHES = str.maketrans({c: "-" for c in "\u2010\u2011\u2012\u2013\u2014\u2015\u2212\ufe63"})


@dataclass(frozen=True)
class Key:
    entity_id: str
    alias: str  # the registry name or alias as printed
    name: Name


@dataclass(frozen=True)
class Candidate:
    entity_id: str
    alias: str
    method: str  # exact | contains | acronym | fuzzy | product
    score: float


@dataclass
class NameMatch:
    """What one field's text matched: the best candidates (one tier), and whether to accept them."""

    query: str
    candidates: list[Candidate] = field(default_factory=list)
    decision: str = "none"  # accept | review | needs_context | none
    runner_up: float | None = None  # best score of another entity (fuzzy), for the margin

    @property
    def entities(self) -> list[str]:
        return list(dict.fromkeys(c.entity_id for c in self.candidates))


@dataclass(frozen=True)
class ProductHit:
    product: Product
    text: str  # the matched text


class Matcher:
    """Indexes one :class:`Registry` for matching; build once per run."""

    def __init__(self, registry: Registry) -> None:
        self.registry = registry
        self.keys: list[Key] = []
        self.acronyms: dict[str, list[Key]] = {}
        for e in registry.entities.values():
            for alias in e.names():
                forms = name_forms(alias)
                if is_acronym(alias):
                    self.acronyms.setdefault(forms[0].compact, []).append(Key(e.id, alias, forms[0]))
                    continue
                # registry names keep their place names ("Beijing Genomics Institute"); only inputs drop them
                if forms[0].compact:
                    self.keys.append(Key(e.id, alias, forms[0]))
        self.exact: dict[str, list[Key]] = {}
        for k in self.keys:
            self.exact.setdefault(k.name.compact, []).append(k)
        self.latin = [k for k in self.keys if not k.name.cjk]
        self.cjk = [k for k in self.keys if k.name.cjk]
        self._latin_choices = [k.name.spaced for k in self.latin]
        self._cjk_choices = [k.name.spaced for k in self.cjk]
        self._product_re, self._product_groups = _product_regex(registry.products)
        s = settings()
        self.scores = s["scores"]
        self._cache: dict[str, NameMatch] = {}
        self._context = _terms_regex(tuple(s["context_terms"]))
        self._negative = _terms_regex(tuple(s["negative_context_terms"]))

    # -- names ---------------------------------------------------------------------------------------------
    def match_name(self, text: str) -> NameMatch:
        """The best candidates for one name-bearing field (cached: inventories repeat their makers' names)."""
        hit = self._cache.get(text)
        if hit is None:
            hit = self._match_name(text)
            if len(self._cache) < 100_000:
                self._cache[text] = hit
        return NameMatch(query=hit.query, candidates=list(hit.candidates), decision=hit.decision,
                         runner_up=hit.runner_up)

    def _match_name(self, text: str) -> NameMatch:
        result = NameMatch(query=text)
        forms = [f for f in name_forms(text) if f.compact]
        if not forms:
            return result
        for step in (self._exact, self._contains, self._acronym, self._fuzzy):
            if step(forms, result):
                return result
        return result

    def _exact(self, forms: list[Name], result: NameMatch) -> bool:
        hits = [k for f in forms for k in self.exact.get(f.compact, [])]
        if hits:
            result.candidates = _dedupe([Candidate(k.entity_id, k.alias, "exact", 100.0) for k in hits])
            result.decision = "accept"
        return bool(hits)

    def _contains(self, forms: list[Name], result: NameMatch) -> bool:
        hits = [k for k in self.keys if k.name.length >= (3 if k.name.cjk else 5)
                and any(contains_run(f.toks, k.name.toks) for f in forms)]
        if not hits:
            return False
        longest = max(k.name.length for k in hits)
        score = float(self.scores["contains"])
        result.candidates = _dedupe([Candidate(k.entity_id, k.alias, "contains", score) for k in hits
                                     if k.name.length == longest])
        result.decision = "accept"
        return True

    def _acronym(self, forms: list[Name], result: NameMatch) -> bool:
        hits = [k for f in forms for t in f.toks for k in self.acronyms.get(t, [])]
        if hits:
            result.candidates = _dedupe([Candidate(k.entity_id, k.alias, "acronym", 100.0) for k in hits])
            result.decision = "needs_context"
        return bool(hits)

    def _fuzzy(self, forms: list[Name], result: NameMatch) -> bool:
        from rapidfuzz import fuzz, process

        best: dict[str, Candidate] = {}
        for f in forms:
            if f.length < int(self.scores["min_length"]):
                continue
            keys, choices = (self.cjk, self._cjk_choices) if f.cjk else (self.latin, self._latin_choices)
            for _, score, idx in process.extract(f.spaced, choices, scorer=fuzz.token_sort_ratio, limit=12,
                                                 score_cutoff=float(self.scores["review"]) - 20):
                k = keys[idx]
                if k.entity_id not in best or score > best[k.entity_id].score:
                    best[k.entity_id] = Candidate(k.entity_id, k.alias, "fuzzy", round(float(score), 1))
        if not best:
            return False
        ranked = sorted(best.values(), key=lambda c: -c.score)
        top = ranked[0]
        if top.score < float(self.scores["review"]):
            return False
        result.runner_up = ranked[1].score if len(ranked) > 1 else None
        result.candidates = [top]
        margin_ok = result.runner_up is None or top.score - result.runner_up >= float(self.scores["margin"])
        result.decision = "accept" if top.score >= float(self.scores["accept"]) and margin_ok else "review"
        if result.decision == "review":
            result.candidates = [c for c in ranked if c.score >= float(self.scores["review"])][:3]
        return True

    # -- products and context -----------------------------------------------------------------------------
    def match_products(self, text: str) -> list[ProductHit]:
        """Product families named anywhere in the row text (one regex pass with a named group per family)."""
        if self._product_re is None:
            return []
        hits, seen = [], set()
        for m in self._product_re.finditer(unicodedata.normalize("NFKC", text).translate(_DASHES)):
            group = m.lastgroup
            if group is None or group in seen:
                continue
            seen.add(group)
            hits.append(ProductHit(self._product_groups[group], m.group(0)))
        return hits

    def has_context(self, text: str) -> bool:
        return bool(self._context.search(fold(text)))

    def has_negative_context(self, text: str) -> bool:
        return bool(self._negative.search(fold(text)))


def _dedupe(cands: list[Candidate]) -> list[Candidate]:
    out: dict[str, Candidate] = {}
    for c in cands:
        out.setdefault(c.entity_id, c)
    return list(out.values())


@functools.cache
def _terms_regex(terms: tuple[str, ...]) -> re.Pattern[str]:
    return re.compile("|".join(re.escape(fold(t)) for t in sorted(terms, key=len, reverse=True)))


def _product_regex(products: list[Product]) -> tuple[re.Pattern[str] | None, dict[str, Product]]:
    if not products:
        return None, {}
    groups = {f"p{i}": p for i, p in enumerate(products)}
    # each family's own pattern in a named group; patterns use no named groups of their own
    pattern = "|".join(f"(?P<{g}>{p.pattern})" for g, p in groups.items())
    return re.compile(pattern, re.IGNORECASE), groups


@functools.cache
def default_matcher() -> Matcher:
    from organwatch.biotech.registry import load_registry

    return Matcher(load_registry())
