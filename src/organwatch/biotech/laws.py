"""Genetic-sequencer law rules, loaded from ``biotech/data/laws.toml`` and validated; small tests of one law
on one date (in force? covered facility? covered asset? adversary country?).

No law's facts live in this module: dates, covered facilities and assets, the foreign-adversary definition,
replacement periods and exemptions all come from the TOML file, which cites its sources.
"""

from __future__ import annotations

import datetime as dt
import functools
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from typing import Any

FACILITIES = ("medical_facility", "research_facility", "state_lab", "company", "nonprofit", "federal_agency",
              "federal_contractor")
ASSETS = ("sequencer", "sample_prep", "software", "reagent", "data_storage", "service")
EXEMPTIONS = ("merely_assembled", "us_or_ally_controlled", "grandfathered_before_effective")
LAW_STATUSES = ("enacted", "vetoed", "passed_lower_chamber")
HONG_KONG = ("included", "not_stated", "excluded")
_LAW_KEYS: dict[str, type] = {
    "law_id": str, "jurisdiction": str, "title": str, "section": str, "status": str, "status_verified": bool,
    "signed": str, "effective": str, "effective_verified": bool, "effective_assumed": str, "effective_note": str,
    "replacement_days": int, "replacement_note": str, "facilities": list, "assets": list,
    "facility_conditions": dict, "adversary": str, "produced_in": bool, "domiciled_clause": bool,
    "subsidiary_clause": bool, "controlled_clause": bool, "exemptions": list, "data_storage": bool,
    "lists_used": list, "source_urls": list,
}
_DEF_KEYS: dict[str, type] = {"title": str, "countries": list, "hong_kong": str, "note": str, "source_urls": list}


@dataclass(frozen=True)
class Adversary:
    key: str
    title: str
    countries: frozenset[str]
    hong_kong: str
    note: str
    source_urls: tuple[str, ...]

    def covers(self, iso2: str) -> bool | None:
        """True/False for a known country; None for Hong Kong when the definition does not say."""
        if iso2 == "HK" and self.hong_kong == "not_stated":
            return None
        return iso2 in self.countries


@dataclass(frozen=True)
class Law:
    code: str  # TX, ID, ..., US
    law_id: str
    jurisdiction: str
    title: str
    section: str
    status: str
    status_verified: bool
    signed: dt.date | None
    effective: dt.date | None
    effective_verified: bool
    effective_assumed: dt.date | None
    effective_note: str
    replacement_days: int
    replacement_note: str
    facilities: frozenset[str]
    assets: frozenset[str]
    facility_conditions: dict[str, str]  # facility kind or "any" -> condition asked as a question
    adversary: Adversary
    produced_in: bool
    domiciled_clause: bool
    subsidiary_clause: bool
    controlled_clause: bool
    exemptions: frozenset[str]
    data_storage: bool
    lists_used: frozenset[str]
    source_urls: tuple[str, ...]

    @property
    def replace_by(self) -> dt.date | None:
        start = self.effective or self.effective_assumed
        if start is None or not self.replacement_days:
            return None
        return start + dt.timedelta(days=self.replacement_days)

    def reference(self) -> dict[str, Any]:
        """The ``law`` object of an outcome record (cli.md: laws.csv id, section, effective date)."""
        return {"id": self.law_id, "jurisdiction": self.jurisdiction, "title": self.title, "section": self.section,
                "status": self.status, "effective": self.effective.isoformat() if self.effective else None,
                "effective_verified": self.effective_verified,
                "replace_by": self.replace_by.isoformat() if self.replace_by else None,
                "source": self.source_urls[0] if self.source_urls else None}


def _date(value: str, where: str) -> dt.date | None:
    if not value:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise RuntimeError(f"{where}: '{value}' is not an ISO date") from None


def _check_keys(table: dict[str, Any], spec: Mapping[str, type], where: str) -> None:
    unknown = set(table) - set(spec)
    if unknown:
        raise RuntimeError(f"{where}: unknown keys {sorted(unknown)}")
    for key, typ in spec.items():
        if key not in table:
            raise RuntimeError(f"{where}: missing key '{key}'")
        if not isinstance(table[key], typ) or (typ is int and isinstance(table[key], bool)):
            raise RuntimeError(f"{where}: '{key}' must be {typ.__name__}")


def _vocab(values: list[Any], allowed: tuple[str, ...], where: str) -> frozenset[str]:
    bad = [v for v in values if v not in allowed]
    if bad:
        raise RuntimeError(f"{where}: {bad} not in {list(allowed)}")
    return frozenset(values)


def _conditions(table: dict[str, Any], where: str) -> dict[str, str]:
    bad = [k for k, v in table.items() if (k != "any" and k not in FACILITIES) or not isinstance(v, str)]
    if bad:
        raise RuntimeError(f"{where}: facility_conditions keys must be facility kinds or 'any' with text: {bad}")
    return dict(table)


def conditions_for(law: Law, facility: str | None) -> list[str]:
    """The conditions to ask about for a facility kind (all of them when the kind is unknown)."""
    return [text for kind, text in law.facility_conditions.items() if facility is None or kind in ("any", facility)]


def _adversary(key: str, t: dict[str, Any]) -> Adversary:
    where = f"biotech/data/laws.toml [definitions.{key}]"
    _check_keys(t, _DEF_KEYS, where)
    if t["hong_kong"] not in HONG_KONG:
        raise RuntimeError(f"{where}: hong_kong must be one of {HONG_KONG}")
    return Adversary(key=key, title=t["title"], countries=frozenset(t["countries"]), hong_kong=t["hong_kong"],
                     note=t["note"], source_urls=tuple(t["source_urls"]))


def _law(code: str, t: dict[str, Any], defs: dict[str, Adversary]) -> Law:
    where = f"biotech/data/laws.toml [laws.{code}]"
    _check_keys(t, _LAW_KEYS, where)
    if t["status"] not in LAW_STATUSES:
        raise RuntimeError(f"{where}: status must be one of {LAW_STATUSES}")
    if t["adversary"] not in defs:
        raise RuntimeError(f"{where}: adversary '{t['adversary']}' is not a [definitions] table")
    if not t["source_urls"]:
        raise RuntimeError(f"{where}: no source_urls")
    effective = _date(t["effective"], where)
    if t["effective_verified"] and effective is None:
        raise RuntimeError(f"{where}: effective_verified without an effective date")
    return Law(code=code, law_id=t["law_id"], jurisdiction=t["jurisdiction"], title=t["title"], section=t["section"],
               status=t["status"], status_verified=t["status_verified"], signed=_date(t["signed"], where),
               effective=effective, effective_verified=t["effective_verified"],
               effective_assumed=_date(t["effective_assumed"], where), effective_note=t["effective_note"],
               replacement_days=t["replacement_days"], replacement_note=t["replacement_note"],
               facilities=_vocab(t["facilities"], FACILITIES, where), assets=_vocab(t["assets"], ASSETS, where),
               facility_conditions=_conditions(t["facility_conditions"], where), adversary=defs[t["adversary"]],
               produced_in=t["produced_in"], domiciled_clause=t["domiciled_clause"],
               subsidiary_clause=t["subsidiary_clause"], controlled_clause=t["controlled_clause"],
               exemptions=_vocab(t["exemptions"], EXEMPTIONS, where), data_storage=t["data_storage"],
               lists_used=frozenset(t["lists_used"]), source_urls=tuple(t["source_urls"]))


@functools.cache
def load_laws() -> dict[str, Law]:
    """Law code (TX, ID, TN, LA, FL, MT, AZ, US) -> :class:`Law`."""
    raw = tomllib.loads((resources.files("organwatch.biotech") / "data" / "laws.toml").read_text("utf-8"))
    if raw.get("schema") != 1:
        raise RuntimeError("biotech/data/laws.toml: schema must be 1")
    defs = {k: _adversary(k, v) for k, v in raw.get("definitions", {}).items()}
    laws = {code: _law(code, t, defs) for code, t in raw.get("laws", {}).items()}
    for code, law in laws.items():
        expected = "US" if code == "US" else f"US-{code}"
        if law.jurisdiction != expected:
            raise RuntimeError(f"biotech/data/laws.toml [laws.{code}]: jurisdiction must be {expected}")
    return laws


def law_for(jurisdiction: str) -> Law | None:
    """The law of a jurisdiction code (US-TX or TX; US for federal), or None when the registry has none."""
    code = jurisdiction.upper().removeprefix("US-") if jurisdiction.upper() != "US" else "US"
    return load_laws().get(code)


# -- the small tests a decision uses ------------------------------------------------------------------------
def in_force(law: Law, day: dt.date) -> str:
    """``in_force``, ``not_law`` (vetoed / never passed), ``not_yet`` (before it was signed or took effect),
    or ``unknown_date`` (enacted, effective date not found, and ``day`` before any assumed date)."""
    if law.status != "enacted":
        return "not_law"
    if law.signed is not None and day < law.signed:
        return "not_yet"
    if law.effective is not None:
        return "in_force" if day >= law.effective else "not_yet"
    if law.effective_assumed is not None and day >= law.effective_assumed:
        return "in_force"
    return "unknown_date"


def covers_facility(law: Law, facility: str | None) -> bool | None:
    """None when the inventory does not say what kind of facility it is."""
    return None if facility is None else facility in law.facilities


def covers_asset(law: Law, asset: str | None) -> bool | None:
    return None if asset is None else asset in law.assets


def adversary_country(law: Law, iso2: str | None) -> bool | None:
    return None if iso2 is None else law.adversary.covers(iso2)
