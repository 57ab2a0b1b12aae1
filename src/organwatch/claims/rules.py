"""Jurisdiction rule parameters (versioned data) and engine configuration, tied to the ``laws`` registry.

``data/jurisdictions.toml`` holds one or more versions per jurisdiction; ``data/engine.toml`` the open legal
questions as settings with defaults. ``load_rules(config_path, as_of)`` merges a user config over both and
resolves, per jurisdiction, the version valid on ``as_of`` (default: the latest). Every rule carries its
laws.csv row (statute id, instrument, source URLs) so outcomes cite the registry, not constants.
"""

from __future__ import annotations

import copy
import datetime as dt
import functools
import tomllib
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from organwatch.errors import InputError, UsageError

PRONGS = ("PERFORMED_IN", "ORIGIN_SALE_OR_DONATION", "PROCURED_THROUGH_FOH")
ENGINE_CHOICES = {
    "pre_effective_index": ("review", "deny"),
    "hk_mo_policy": ("review", "same_as_cn", "foreign"),
    "self_funded_policy": ("not_in_scope", "evaluate"),
    "status_code_only": ("review", "ignore"),
    "trigger_date": ("date_of_service", "index_transplant_date"),
}


def _data(name: str) -> dict[str, Any]:
    return tomllib.loads((resources.files("organwatch.claims") / "data" / name).read_text("utf-8"))


@functools.cache
def plan_types() -> dict[str, str]:
    return dict(_data("plan_types.toml")["plan_types"])


def _date(value: Any, what: str) -> dt.date:
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        raise UsageError(f"{what}: '{value}' is not an ISO date (YYYY-MM-DD)") from None


@dataclass(frozen=True)
class Designation:
    country: str
    start: dt.date
    source: str


@dataclass(frozen=True)
class Rule:
    jurisdiction: str
    law_id: str
    version: int
    valid_from: dt.date
    mode: str
    effective: dt.date
    effective_verified: bool
    base_countries: frozenset[str]
    designated: tuple[Designation, ...]
    prongs: frozenset[str]
    knowledge_required: bool
    plan_types: frozenset[str]
    pending_counsel: frozenset[str]
    covers_post_transplant_care: bool
    hk_mo: str
    citation: str
    designation_hook: str = ""
    instrument: str = ""
    source_urls: tuple[str, ...] = ()

    def countries(self, on: dt.date | None) -> frozenset[str]:
        """D(j, d) = Base(j) ∪ Designated(j, d)."""
        extra = {d.country for d in self.designated if on is None or d.start <= on}
        return self.base_countries | extra

    def parameters(self) -> dict[str, Any]:
        return {"jurisdiction": self.jurisdiction, "law_id": self.law_id, "version": self.version,
                "mode": self.mode, "effective": self.effective.isoformat(),
                "effective_verified": self.effective_verified, "countries": sorted(self.base_countries),
                "designated": [{"country": d.country, "from": d.start.isoformat(), "source": d.source}
                               for d in self.designated],
                "prongs": sorted(self.prongs), "knowledge_required": self.knowledge_required,
                "plan_types": sorted(self.plan_types), "hk_mo": self.hk_mo}


@dataclass(frozen=True)
class EngineConfig:
    default_plan_type: str = "fully_insured"
    pre_effective_index: str = "review"
    hk_mo_policy: str = "review"
    self_funded_policy: str = "not_in_scope"
    status_code_only: str = "review"
    trigger_date: str = "date_of_service"
    index_match_days: int = 30
    include_unverified_procedures: bool = False
    include_unverified_drugs: bool = False
    confirmed_evidence: frozenset[str] = frozenset()


@dataclass(frozen=True)
class RuleSet:
    rules: dict[str, Rule]  # jurisdiction -> rule version in force
    engine: EngineConfig
    parameters: dict[str, Any] = field(default_factory=dict)  # what was used, for provenance


def _merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(base)
    for k, v in over.items():
        if isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k] = _merge(out[k], v)
        else:
            out[k] = v
    return out


def read_config(path: Path | None) -> dict[str, Any]:
    if path is None:
        return {}
    try:
        return tomllib.loads(Path(path).read_text("utf-8"))
    except tomllib.TOMLDecodeError as e:
        raise InputError(f"not valid TOML: {e}", file=path) from None
    except UnicodeDecodeError:
        raise InputError("not UTF-8 text", file=path) from None


def registry_rows() -> dict[str, dict[str, Any]]:
    from organwatch import datasets

    frame = datasets.load("laws").frame
    return {r["id"]: r for r in frame.astype(object).where(frame.notna(), None).to_dict("records")}


def load_rules(config: dict[str, Any] | None = None, as_of: dt.date | None = None) -> RuleSet:
    config = config or {}
    if not isinstance(config.get("engine", {}), dict):
        raise UsageError("config [engine] must be a table")
    eng_raw = _merge(_data("engine.toml")["engine"], config.get("engine", {}))
    for k, choices in ENGINE_CHOICES.items():
        if eng_raw.get(k) not in choices:
            raise UsageError(f"config engine.{k} must be one of {', '.join(choices)}, not '{eng_raw.get(k)}'")
    if eng_raw.get("default_plan_type") not in plan_types():
        raise UsageError(f"config engine.default_plan_type '{eng_raw.get('default_plan_type')}' is not a plan type "
                         f"({', '.join(plan_types())})")
    unknown = set(eng_raw) - set(EngineConfig.__dataclass_fields__)
    if unknown:
        raise UsageError(f"unknown config engine keys: {', '.join(sorted(unknown))}")
    try:
        eng = EngineConfig(**{**eng_raw, "confirmed_evidence": frozenset(eng_raw.get("confirmed_evidence", [])),
                              "index_match_days": int(eng_raw.get("index_match_days", 30))})
    except (TypeError, ValueError) as e:
        raise UsageError(f"config [engine]: invalid value ({type(e).__name__})") from None
    overrides = config.get("jurisdiction", {})
    if not isinstance(overrides, dict) or not all(isinstance(v, dict) for v in overrides.values()):
        raise UsageError("config [jurisdiction.US-XX] sections must be tables")
    try:
        return _build(config, eng, overrides, as_of)
    except (TypeError, KeyError, AttributeError, ValueError) as e:
        if isinstance(e, UsageError):
            raise
        raise UsageError(f"config: invalid jurisdiction parameter ({type(e).__name__}: {e})") from None


def _build(config: dict[str, Any], eng: EngineConfig, overrides: dict[str, Any], as_of: dt.date | None) -> RuleSet:
    registry = registry_rows()
    chosen: dict[str, Rule] = {}
    for raw in _data("jurisdictions.toml")["rule"]:
        raw = _merge(raw, overrides.get(raw["jurisdiction"], {}))
        if "effective" in overrides.get(raw["jurisdiction"], {}):
            raw["effective_verified"] = bool(overrides[raw["jurisdiction"]].get("effective_verified", True))
        valid_from = _date(raw["valid_from"], f"{raw['jurisdiction']} valid_from")
        if as_of is not None and valid_from > as_of:
            continue  # this version of the rule did not exist yet
        row = registry.get(raw["law_id"])
        if row is None:  # packaging bug: rule data and registry disagree
            raise RuntimeError(f"jurisdictions.toml: law_id {raw['law_id']} is not in the laws dataset")
        if row.get("covers_insurance_ban") is not True:  # only insurer bans become claim rules
            raise RuntimeError(f"jurisdictions.toml: law_id {raw['law_id']} is not an insurance ban in laws.csv")
        bad = set(raw["prongs"]) - set(PRONGS)
        if bad:
            raise UsageError(f"{raw['jurisdiction']}: unknown prongs {sorted(bad)}")
        rule = Rule(
            jurisdiction=raw["jurisdiction"], law_id=raw["law_id"], version=int(raw["version"]),
            valid_from=valid_from, mode=raw["mode"],
            effective=_date(raw["effective"], f"{raw['jurisdiction']} effective"),
            effective_verified=bool(raw.get("effective_verified", True)),
            base_countries=frozenset(raw["base_countries"]),
            designated=tuple(Designation(d["country"], _date(d["from"], f"{raw['jurisdiction']} designation"),
                                         d.get("source", "")) for d in raw.get("designated", [])),
            prongs=frozenset(raw["prongs"]), knowledge_required=bool(raw["knowledge_required"]),
            plan_types=frozenset(raw["plan_types"]), pending_counsel=frozenset(raw.get("pending_counsel", [])),
            covers_post_transplant_care=bool(raw["covers_post_transplant_care"]), hk_mo=raw["hk_mo"],
            citation=raw.get("citation", ""), designation_hook=raw.get("designation_hook", ""),
            instrument=row["instrument"] or "", source_urls=tuple((row["source_url"] or "").split()),
        )
        prev = chosen.get(rule.jurisdiction)
        if prev is None or rule.version > prev.version:
            chosen[rule.jurisdiction] = rule
    params = {"engine": {k: (sorted(v) if isinstance(v, frozenset) else v) for k, v in eng.__dict__.items()},
              "rules": {j: r.parameters() for j, r in sorted(chosen.items())},
              "as_of": as_of.isoformat() if as_of else None}
    return RuleSet(rules=dict(sorted(chosen.items())), engine=eng, parameters=params)


@functools.cache
def registry_jurisdictions() -> frozenset[str]:
    """Every jurisdiction code of the laws registry (US-XX, US, GB, EU ...)."""
    return frozenset(str(r["jurisdiction"]) for r in registry_rows().values() if r.get("jurisdiction"))


def jurisdiction_value(raw: str) -> tuple[str | None, str | None]:
    """A jurisdiction cell of a claims or enrollment file -> (code, None), (None, None) when blank, or
    (None, problem). 'TX' and 'us-tx' -> 'US-TX'; US states are ISO 3166-2 codes; 'TEXAS' is not a code."""
    from organwatch.claims.countries import is_us_subdivision

    v = (raw or "").strip().upper()
    if not v:
        return None, None
    if len(v) == 2 and v.isalpha() and v != "US" and is_us_subdivision(v):
        v = f"US-{v}"
    if v.startswith("US-") and is_us_subdivision(v[3:]) or v in registry_jurisdictions():
        return v, None
    return None, (f"'{raw.strip()[:20]}' is not a jurisdiction code (use US-TX or TX, or a code of the laws "
                  f"registry)")


def resolve_jurisdiction(value: str, known: list[str] | None = None) -> str:
    """'TX', 'tx', 'US-TX' -> 'US-TX'. ``known`` restricts to the rule jurisdictions."""
    v = value.strip().upper()
    if len(v) == 2 and v.isalpha() and v not in ("US",) and (known is None or f"US-{v}" in known):
        v = f"US-{v}"
    if known is not None and v not in known:
        raise UsageError(f"--jurisdiction '{value}' has no transplant-coverage rule; rules exist for "
                         f"{', '.join(known)} (organwatch laws --provision insurance_ban lists the instruments)")
    return v
