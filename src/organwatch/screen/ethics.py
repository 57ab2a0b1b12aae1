"""Document-level ethics-reporting checks (spec §6), from the cue events of the whole document.

Fields: donor_source (categories stated), no_prisoner_statement, donor_consent (recipient consent does not
count), ethics_approval, death_determination, date_plausibility (a voluntary/citizen-donation claim for
transplants before 2010 is a red flag; 2010-2014 pilot phase; unstated source before 2015 noted).

Every cue is first checked for ConText-style negation (the pack's NEG_PRE / NEG_POST triggers, scopes and
NEG_TERM termination terms, ``[ethics]``): "does not state whether an ethics committee approved",
"供体来源未说明", "未经伦理委员会批准" are negated statements and count as not reported (listed in ``negated``).
The standard itself applies only to the documents it is meant for (``standard_applies``: research reporting
organ-transplant outcomes, by default in or about China; ``[ethics] scope``); ``fails_standard`` is null
for the others.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from organwatch.screen.matching import Event
from organwatch.screen.patterns import CLAUSE_END, SENTENCE_END
from organwatch.screen.rulepack import RulePack, load_pack

_YEAR_RX = re.compile(r"(19[6-9][0-9]|20[0-4][0-9])(?:年|\s*[-–~至到]|\s*(?:to|and)\s)")
_RANGE_RX = re.compile(r"(19[6-9][0-9]|20[0-4][0-9])\s*年?[^。.;；\n]{0,12}?(?:[-–~至到]|to|and|until)\s*"
                       r"(19[6-9][0-9]|20[0-4][0-9])")
# cue types whose statements can be negated, and the field each one informs
FIELD_OF = {"PRISONER": "donor_source", "NO_PRISONER": "no_prisoner_statement", "CONSENT_DONOR": "donor_consent",
            "CONSENT_RECIPIENT": "recipient_consent", "IRB": "ethics_approval", "VOLUNTARY": "donor_source",
            "DECEASED": "donor_source", "LIVING": "donor_source", "CAT": "donor_source",
            "BD": "death_determination", "DCD": "death_determination", "DET": "death_determination"}
CONSENT_TYPES = frozenset({"CONSENT_DONOR", "CONSENT_RECIPIENT"})


def transplant_years(norm: str, events: list[Event], window: int = 200, max_claims: int = 50) -> list[int]:
    """Years of the transplants reported: year ranges (else single years) within ``window`` characters on
    each side of a voluntary-donation claim (the first ``max_claims`` claims)."""
    years: set[int] = set()
    spans = sorted((max(0, e.start - window), e.end + window) for e in events if e.type == "VOLUNTARY")[:max_claims]
    merged: list[list[int]] = []
    for a, b in spans:
        if merged and a <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], b)
        else:
            merged.append([a, b])
    norm = "\n".join(norm[a:b] for a, b in merged) if merged else norm[:2000]
    starts = _century_starts(norm)
    for m in _matches(_RANGE_RX, norm, starts):
        if m.start() and norm[m.start() - 1].isdigit():
            continue
        a, b = int(m.group(1)), int(m.group(2))
        if a <= b and b - a <= 30:
            years.update((a, b))
    if not years:
        for m in _matches(_YEAR_RX, norm, starts):
            if m.start() and norm[m.start() - 1].isdigit():
                continue
            years.add(int(m.group(1)))
    return sorted(years)


def _century_starts(text: str) -> list[int]:
    """Positions of "19" and "20" in ``text``, in order: the only places a year of the regexes can start."""
    out: list[int] = []
    for lit in ("19", "20"):
        i = text.find(lit)
        while i >= 0:
            out.append(i)
            i = text.find(lit, i + 1)
    return sorted(out)


def _matches(rx: re.Pattern[str], text: str, starts: list[int]) -> Iterator[re.Match[str]]:
    """``rx.finditer(text)`` for a pattern whose matches start with "19" or "20" (non-empty): tried only at
    those positions, left to right, after the end of the previous match (so the same matches)."""
    end = 0
    for p in starts:
        if p < end:
            continue
        m = rx.match(text, p)
        if m is not None:
            yield m
            end = m.end()


@dataclass(frozen=True)
class EthicsConfig:
    """The pack's ``[ethics]`` table, resolved per language."""

    scope: str
    scope_types: tuple[str, ...]
    applies_types: tuple[str, ...]
    outcome_types: tuple[str, ...]
    series_types: tuple[str, ...]
    exclude_near: tuple[str, ...]
    exclude_window: dict[str, int]
    pre_scope: dict[str, int]
    post_scope: dict[str, int]
    years_window: int
    max_claims: int
    rule_lang: dict[str, str]


def _per_lang(v: Any, default: int) -> dict[str, int]:
    if isinstance(v, dict):
        return {k: int(x) for k, x in v.items()}
    return {"zh": int(v if v is not None else default), "en": int(v if v is not None else default)}


_CONFIGS: dict[int, tuple[RulePack, EthicsConfig]] = {}


def _config_of(pack: RulePack) -> EthicsConfig:
    e = pack.ethics
    return EthicsConfig(
        scope=e.get("scope", "all"), scope_types=tuple(e.get("scope_types", [])),
        applies_types=tuple(e.get("applies_types", [])), outcome_types=tuple(e.get("outcome_types", [])),
        series_types=tuple(e.get("series_types", [])),
        exclude_near=tuple(e.get("exclude_near", [])), exclude_window=_per_lang(e.get("exclude_window"), 0),
        pre_scope=_per_lang(e.get("negation_scope"), 0), post_scope=_per_lang(e.get("negation_post_scope"), 0),
        years_window=int(e.get("transplant_years_window", 200)), max_claims=int(e.get("max_voluntary_claims", 50)),
        rule_lang={r.id: r.lang for r in pack.rules})


def config(pack: RulePack) -> EthicsConfig:
    """The resolved ``[ethics]`` table of a pack (cached per pack object)."""
    hit = _CONFIGS.get(id(pack))
    if hit is None or hit[0] is not pack:
        hit = _CONFIGS[id(pack)] = (pack, _config_of(pack))
    return hit[1]


@lru_cache(maxsize=1)
def _default_pack() -> RulePack:
    return load_pack()


# ------------------------------------------------------------------ negation (ConText-style)
def _blocked(norm: str, a: int, b: int, lang: str, terms: list[Event]) -> bool:
    """A sentence end (zh: also a clause comma) or a termination term between positions a and b."""
    seg = norm[a:b]
    ends = CLAUSE_END if lang == "zh" else SENTENCE_END
    if any(ch in seg for ch in ends) or ". " in seg:
        return True
    return any(a <= t.start and t.end <= b for t in terms)


def _applies(trigger: Event, cue: Event) -> bool:
    return trigger.tag != "consent" or cue.type in CONSENT_TYPES


@dataclass
class _Triggers:
    pre: list[Event]
    pre_starts: list[int]
    post: list[Event]
    post_starts: list[int]
    terms: list[Event]
    reach: int  # the largest pre-scope plus the longest trigger


def _triggers(by: dict[str, list[Event]], cfg: EthicsConfig) -> _Triggers:
    pre, post = by.get("NEG_PRE", []), by.get("NEG_POST", [])
    longest = max((e.end - e.start for e in pre), default=0)
    return _Triggers(pre, [e.start for e in pre], post, [e.start for e in post], by.get("NEG_TERM", []),
                     max(cfg.pre_scope.values(), default=0) + longest)


def negated(cue: Event, norm: str, by: dict[str, list[Event]] | _Triggers, cfg: EthicsConfig) -> bool:
    """True when a pre-trigger before the cue, or a post-trigger after it, has the cue in its scope."""
    tr = by if isinstance(by, _Triggers) else _triggers(by, cfg)
    terms = tr.terms
    lo = bisect.bisect_left(tr.pre_starts, cue.start - tr.reach)
    for t in tr.pre[lo:bisect.bisect_left(tr.pre_starts, cue.start)]:
        lang = cfg.rule_lang.get(t.rule) or "en"
        # a trigger may overlap the start of its cue ("no ethics" in "no ethics committee approval")
        if t.start < cue.start and t.end <= cue.end and cue.start - t.end <= cfg.pre_scope.get(lang, 0) \
                and _applies(t, cue) and not _blocked(norm, t.end, cue.start, lang, terms):
            return True
    hi = bisect.bisect_right(tr.post_starts, cue.end + max(cfg.post_scope.values(), default=0))
    for t in tr.post[bisect.bisect_left(tr.post_starts, cue.end):hi]:
        lang = cfg.rule_lang.get(t.rule) or "en"
        if t.start >= cue.end and t.start - cue.end <= cfg.post_scope.get(lang, 0) and _applies(t, cue) \
                and not _blocked(norm, cue.end, t.start, lang, terms):
            return True
    return False


def split_negated(norm: str, by: dict[str, list[Event]], cfg: EthicsConfig
                  ) -> tuple[dict[str, list[Event]], dict[str, list[Event]]]:
    """The ethics cue events split into affirmed and negated statements, by type."""
    aff: dict[str, list[Event]] = {}
    neg: dict[str, list[Event]] = {}
    tr = _triggers(by, cfg) if by.get("NEG_PRE") or by.get("NEG_POST") else None
    for t in FIELD_OF:
        for e in by.get(t, []):
            (neg if tr is not None and negated(e, norm, tr, cfg) else aff).setdefault(t, []).append(e)
    return aff, neg


# ------------------------------------------------------------------ applicability of the standard
def applicability(by: dict[str, list[Event]], lang: str | None, title_end: int, cfg: EthicsConfig
                  ) -> tuple[bool, str]:
    """Whether the §6 standard applies: research reporting organ-transplant outcomes (named in the title, at
    least twice with an outcome cue, or once with an own-series cue), not an animal model, not a review,
    within the scope."""
    tx = [e for t in cfg.applies_types for e in by.get(t, []) if e.tag != "context_only"]
    if not tx:
        return False, "no organ transplantation named"
    near = [a for t in cfg.exclude_near for a in by.get(t, [])]

    def animal(e: Event) -> bool:
        w = cfg.exclude_window.get(cfg.rule_lang.get(e.rule) or "en", 0)
        return any(a.start - w <= e.end and e.start <= a.end + w for a in near)

    human = [e for e in tx if not animal(e)]
    if not human:
        return False, "animal transplantation model"
    in_title = any(e.ostart < title_end for e in human)
    outcome = any(t in by for t in cfg.outcome_types)
    series = any(t in by for t in cfg.series_types)
    if not in_title and not ((len(human) >= 2 and outcome) or series):
        return False, "organ transplantation mentioned, no transplant outcomes reported"
    if "REVIEW" in by:
        return False, "review article"
    chinese = (lang or "").lower().startswith(("zh", "chi", "zho"))
    if cfg.scope == "china" and not chinese and not any(t in by for t in cfg.scope_types):
        return False, "outside the configured scope (in or about China)"
    where = " in or about China" if cfg.scope == "china" else ""
    return True, "reports organ-transplant outcomes" + where


# ------------------------------------------------------------------ fields
def _sources(aff: dict[str, list[Event]], norm: str) -> list[str]:
    sources = []
    for t, name in (("DECEASED", "deceased"), ("LIVING", "living"), ("PRISONER", "prisoner"),
                    ("NO_PRISONER", "non_prisoner"), ("VOLUNTARY", "voluntary_citizen_donation")):
        if t in aff or (name == "deceased" and ("BD" in aff or "DCD" in aff)):
            sources.append(name)
    for e in aff.get("CAT", []):
        low = norm[e.start:e.end]
        for cat in ("dbcd", "dbd", "dcd"):
            if low == cat and cat.upper() not in sources:
                sources.append(cat.upper())
        for cue, cat in (("中国一类", "DBD"), ("中国三类", "DBCD"), ("circulatory", "DCD"), ("cardiac", "DCD"),
                         ("brain death", "DBD")):
            if cue in low and cat not in sources:
                sources.append(cat)
    return sources


def _date_plausibility(norm: str, aff: dict[str, list[Event]], sources: list[str], pub_year: int | None,
                       cfg: EthicsConfig) -> dict[str, Any]:
    claim = "VOLUNTARY" in aff
    years = transplant_years(norm, aff["VOLUNTARY"], cfg.years_window, cfg.max_claims) if claim else []
    ref_years = years or ([pub_year] if pub_year else [])
    if claim and ref_years:
        early = min(ref_years)
        if early < 2010:
            status = "red_flag"
            note = f"voluntary/citizen donation claimed for transplants in {early}, before the 2010 pilot"
        elif early < 2015:
            status, note = "pilot_phase", f"voluntary donation claimed for {early}: 2010-2014 pilot phase"
        else:
            status, note = "plausible", "voluntary donation claimed from 2015 on"
    elif claim:
        status, note = "not_testable", "voluntary donation claimed but no transplant or publication year found"
    elif not sources and ref_years and max(ref_years) < 2015:
        status, note = "source_unstated_pre_2015", "donor source not stated for transplants before 2015"
    else:
        status, note = "not_testable", "no voluntary-donation claim"
    return {"status": status, "transplant_years": years, "publication_year": pub_year, "voluntary_claim": claim,
            "note": note}


def _group(events: list[Event] | dict[str, list[Event]]) -> dict[str, list[Event]]:
    if isinstance(events, dict):
        return events
    by: dict[str, list[Event]] = {}
    for e in events:
        by.setdefault(e.type, []).append(e)
    return by


def ethics_fields(norm: str, events: list[Event] | dict[str, list[Event]], pub_year: int | None,
                  pack: RulePack | None = None, lang: str | None = None, title_end: int = 0) -> dict[str, Any]:
    """The §6 fields from a document's events (a list, or already grouped by type)."""
    by = _group(events)
    cfg = config(pack if pack is not None else _default_pack())
    aff, neg = split_negated(norm, by, cfg)
    sources = _sources(aff, norm)
    death = (["brain_death"] if "BD" in aff or "DET" in aff else []) + (["circulatory_death"] if "DCD" in aff else [])
    dp = _date_plausibility(norm, aff, sources, pub_year, cfg)
    checks = {"donor_source": bool(sources), "no_prisoner_statement": "NO_PRISONER" in aff,
              "donor_consent": "CONSENT_DONOR" in aff, "ethics_approval": "IRB" in aff,
              "death_determination": bool(death)}
    missing = [k for k, ok in checks.items() if not ok]
    negated_fields = sorted({FIELD_OF[t] for t in neg} - {FIELD_OF[t] for t in aff} - {"recipient_consent"})
    applies, why = applicability(by, lang, title_end, cfg)
    fails = ((not sources) or "CONSENT_DONOR" not in aff or dp["status"] == "red_flag") if applies else None
    evidence = [{"field": t.lower(), "start": e.ostart, "end": e.oend, "negated": negd}
                for t in ("PRISONER", "NO_PRISONER", "CONSENT_DONOR", "IRB", "VOLUNTARY", "DECEASED")
                for negd, src in ((False, aff), (True, neg)) for e in src.get(t, [])[:3]]
    return {
        "donor_source": sources,
        "no_prisoner_statement": checks["no_prisoner_statement"],
        "donor_consent": checks["donor_consent"],
        "recipient_consent_only": "CONSENT_RECIPIENT" in aff and "CONSENT_DONOR" not in aff,
        "ethics_approval": checks["ethics_approval"],
        "death_determination": death,
        "date_plausibility": dp,
        "missing": missing,
        "negated": negated_fields,
        "standard_applies": applies,
        "applicability": why,
        "fails_standard": fails,
        "evidence": evidence,
    }
