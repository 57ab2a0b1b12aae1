"""Rule packs: TOML data files of event and cue term families, expanded to one literal table.

A pack (see ``rules/ddr_default.toml``) has ``[fragments]`` (named literal lists), ``[[rule]]`` entries
(``id``, ``type``, optional ``tag``, ``lang``, ``terms``, ``example``, ``counter_example``), ``[settings]``
(distances used by the passage logic), ``[suppress]`` (hit types dropped when contained in another),
``[types]`` (the role of each type in the logic, and the confidence constants; validated, unknown keys
rejected) and ``[ethics]`` (to which documents the reporting standard applies, negation scopes).
``{fragment}`` in a term expands to every literal of the fragment. Literals are normalised like the text.
A compiled pack is kept in the start-up cache (:mod:`.buildcache`), keyed by the pack's bytes and name, the
default normalisation settings and the code that compiles it.
"""

from __future__ import annotations

import hashlib
import itertools
import re
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from organwatch.errors import InputError, UsageError
from organwatch.screen import buildcache
from organwatch.screen.normalise import _default_config_items, normalise_term

DEFAULT_PACK = "ddr_default"
_PLACEHOLDER = re.compile(r"\{([A-Za-z0-9_]+)\}")


@dataclass(frozen=True)
class Literal:
    """One literal the scanner looks for; ``owners`` are the (rule index) entries it belongs to."""

    text: str  # normalised literal
    left_boundary: bool
    right_boundary: bool


@dataclass
class Rule:
    id: str
    type: str
    tag: str
    lang: str
    terms: list[str]
    example: str = ""
    counter_example: str = ""
    note: str = ""


@dataclass
class RulePack:
    name: str
    version: str
    sha256: str
    path: str
    settings: dict[str, Any]
    suppress: dict[str, list[str]]
    rules: list[Rule]
    types: TypeRoles = field(default_factory=lambda: TypeRoles())
    ethics: dict[str, Any] = field(default_factory=dict)
    literals: list[Literal] = field(default_factory=list)
    # literal index -> list of rule indexes
    owners: list[list[int]] = field(default_factory=list)

    def literal_strings(self) -> list[str]:
        return [lit.text for lit in self.literals]

    def setting(self, key: str, lang: str) -> int:
        v = self.settings[key]
        return int(v[lang] if lang in v else v["en"]) if isinstance(v, dict) else int(v)


# [types]: the role of each event/cue type in the passage logic and matcher (lists of type names), plus the
# confidence constants of the pattern functions ([types.confidence]) and the exclusion reasons
ROLE_KEYS = ("anchor", "airway", "near_only", "head_only", "presence_only", "modifier", "shown", "pre",
             "subject_strong", "subject_weak", "context", "doc_animal", "doc_living", "doc_deceased")
CONFIDENCE_KEYS = ("V1", "V2", "V3", "V4", "V5", "V6", "V1_urgent_bonus", "V3_simultaneous", "V5_tracheotomy",
                   "signal_bonus", "cap", "normative_cap", "normative_factor", "context_suspicious_factor",
                   "v6_late_factor",
                   "suspicious_normative", "suspicious_established", "suspicious_after", "compliant_dcd",
                   "compliant_dcd_reintubation", "compliant_det", "compliant_criteria", "compliant_other",
                   "dcd_arrest", "exclusion", "not_applicable")
SUBJECTS = ("donor", "recipient", "animal", "living_donor")
ETHICS_KEYS = ("scope", "scope_types", "applies_types", "outcome_types", "series_types", "exclude_near",
               "exclude_window", "negation_scope", "negation_post_scope", "transplant_years_window",
               "max_voluntary_claims")


@dataclass
class TypeRoles:
    """Validated ``[types]`` table: role -> frozenset of type names, subject maps, confidences, exclusions."""

    roles: dict[str, frozenset[str]] = field(default_factory=dict)
    subject_strong: dict[str, str] = field(default_factory=dict)  # type -> donor/recipient/animal/living_donor
    subject_weak: dict[str, str] = field(default_factory=dict)
    exclusion: dict[str, str] = field(default_factory=dict)  # type -> reason code
    confidence: dict[str, float] = field(default_factory=dict)

    def of(self, role: str) -> frozenset[str]:
        return self.roles.get(role, frozenset())

    def conf(self, key: str) -> float:
        return self.confidence[key]


def _fail(msg: str, where: str) -> InputError:
    return InputError(f"[types]: {msg}", file=where)


def _subject_map(raw: Any, key: str, known: set[str], where: str) -> dict[str, str]:
    if not isinstance(raw, dict):
        raise _fail(f"'{key}' must be a table of TYPE = subject", where)
    for t, subj in raw.items():
        if t not in known:
            raise _fail(f"'{key}' names type '{t}' that no rule has", where)
        if subj not in SUBJECTS:
            raise _fail(f"'{key}.{t}' must be one of {', '.join(SUBJECTS)}, not '{subj}'", where)
    return dict(raw)


def _role_lists(raw: dict[str, Any], known: set[str], where: str) -> dict[str, frozenset[str]]:
    roles = {}
    for role in ROLE_KEYS:
        if role in ("subject_strong", "subject_weak"):
            continue
        vals = raw.get(role, [])
        if not isinstance(vals, list) or not all(isinstance(v, str) for v in vals):
            raise _fail(f"'{role}' must be a list of type names", where)
        bad = [v for v in vals if v not in known]
        if bad:
            raise _fail(f"'{role}' names type(s) that no rule has: {', '.join(bad)}", where)
        roles[role] = frozenset(vals)
    return roles


def parse_types(raw: Any, known: set[str], where: str) -> TypeRoles:
    """Validate the ``[types]`` table against the types the rules define; unknown keys are rejected."""
    if not isinstance(raw, dict):
        raise _fail("missing: the pack must say which types are anchors, airway events, ... (see ddr_default)",
                    where)
    allowed = {*ROLE_KEYS, "exclusion", "confidence"}
    for k in raw:
        if k not in allowed:
            raise _fail(f"unknown key '{k}' (allowed: {', '.join(sorted(allowed))})", where)
    out = TypeRoles(roles=_role_lists(raw, known, where))
    for role in ("anchor", "airway"):
        if not out.roles[role]:
            raise _fail(f"'{role}' must name at least one type", where)
    out.subject_strong = _subject_map(raw.get("subject_strong", {}), "subject_strong", known, where)
    out.subject_weak = _subject_map(raw.get("subject_weak", {}), "subject_weak", known, where)
    out.roles["subject"] = frozenset(out.subject_strong) | frozenset(out.subject_weak)
    exc = raw.get("exclusion", {})
    if not isinstance(exc, dict) or not all(isinstance(v, str) and k in known for k, v in exc.items()):
        raise _fail("'exclusion' must be a table of TYPE = \"reason\" for types that rules define", where)
    out.exclusion = dict(exc)
    conf = raw.get("confidence", {})
    if not isinstance(conf, dict):
        raise _fail("'confidence' must be a table", where)
    for k, v in conf.items():
        if k not in CONFIDENCE_KEYS:
            raise _fail(f"unknown confidence key '{k}'", where)
        if not isinstance(v, (int, float)) or isinstance(v, bool) or not 0 <= v <= 1:
            raise _fail(f"confidence '{k}' must be a number between 0 and 1", where)
    missing = [k for k in CONFIDENCE_KEYS if k not in conf]
    if missing:
        raise _fail(f"confidence keys missing: {', '.join(missing)}", where)
    out.confidence = {k: float(v) for k, v in conf.items()}
    return out


def parse_ethics(raw: Any, known: set[str], where: str) -> dict[str, Any]:
    """Validate the ``[ethics]`` table (applicability of the §6 standard, negation scopes)."""
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise InputError("[ethics] must be a table", file=where)
    for k in raw:
        if k not in ETHICS_KEYS:
            raise InputError(f"[ethics]: unknown key '{k}' (allowed: {', '.join(ETHICS_KEYS)})", file=where)
    scope = raw.get("scope", "all")
    if scope not in ("all", "china"):
        raise InputError(f"[ethics]: scope must be 'all' or 'china', not '{scope}'", file=where)
    for k in ("scope_types", "applies_types", "outcome_types", "series_types", "exclude_near"):
        bad = [t for t in raw.get(k, []) if t not in known]
        if bad:
            raise InputError(f"[ethics]: '{k}' names type(s) that no rule has: {', '.join(bad)}", file=where)
    return dict(raw)


def expand_term(term: str, fragments: dict[str, list[str]], where: str) -> list[str]:
    """Every literal ``term`` stands for: each ``{fragment}`` replaced by each literal of the fragment."""
    names = _PLACEHOLDER.findall(term)
    if not names:
        return [term]
    for n in names:
        if n not in fragments:
            raise InputError(f"unknown fragment '{{{n}}}' in term '{term}'", file=where)
    parts = _PLACEHOLDER.split(term)  # literal, name, literal, name, ...
    choices = [[p] if i % 2 == 0 else fragments[p] for i, p in enumerate(parts)]
    return ["".join(c) for c in itertools.product(*choices)]


def split_markers(lit: str) -> tuple[str, bool, bool]:
    """(core, word boundary on the left, on the right): a literal without its ``<`` / ``>`` markers."""
    left = lit.startswith("<")
    right = lit.endswith(">") and len(lit) > 1
    return lit[1 if left else 0: len(lit) - 1 if right else len(lit)], left, right


def literal_table(rules: list[Rule], fragments: dict[str, list[str]], where: str,
                  normalise: Callable[[str], str]) -> tuple[list[Literal], list[list[int]]]:
    """The literals of all rules' terms (fragments expanded, markers split, ``normalise`` applied; empty and
    NUL-holding literals left out) and, per literal, the indexes of the rules that own it."""
    literals: list[Literal] = []
    owners: list[list[int]] = []
    index: dict[tuple[str, bool, bool], int] = {}
    for ri, rule in enumerate(rules):
        for term in rule.terms:
            for lit in expand_term(term, fragments, where):
                core, left, right = split_markers(lit)
                core = normalise(core)
                if not core or "\x00" in core:
                    continue
                li = index.setdefault((core, left, right), len(literals))
                if li == len(literals):
                    literals.append(Literal(core, left, right))
                    owners.append([])
                if ri not in owners[li]:
                    owners[li].append(ri)
    if not literals:
        raise InputError("rule pack defines no terms", file=where)
    return literals, owners


def load_pack(spec: str | Path | None = None) -> RulePack:
    """Load a pack by name (shipped in ``organwatch/screen/rules``) or by path to a TOML file."""
    if spec is None:
        spec = DEFAULT_PACK
    p = Path(str(spec))
    if p.suffix.lower() == ".toml" and p.exists():
        raw = p.read_bytes()
        where = str(p)
    else:
        name = str(spec).removesuffix(".toml")
        res = resources.files("organwatch.screen").joinpath(f"rules/{name}.toml")
        if not res.is_file() or name == "normalisation":
            raise UsageError(f"--rules: no rule pack named '{spec}' (and no such .toml file)")
        raw = res.read_bytes()
        where = f"organwatch/screen/rules/{name}.toml"
    sha = hashlib.sha256(raw).hexdigest()
    return buildcache.cached("rulepack", (sha, where, _default_config_items()),
                             lambda: _parse_and_compile(raw, where, sha), check=_is_pack)


def _parse_and_compile(raw: bytes, where: str, sha: str) -> RulePack:
    try:
        doc = tomllib.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as e:
        raise InputError(f"rule pack is not valid TOML: {e}", file=where) from None
    return compile_pack(doc, where, sha)


def _is_pack(value: Any) -> bool:
    return isinstance(value, RulePack) and bool(value.literals) and len(value.literals) == len(value.owners)


def compile_pack(doc: dict[str, Any], where: str = "<pack>", sha256: str = "") -> RulePack:
    meta = doc.get("pack", {})
    fragments = {k: list(v) for k, v in doc.get("fragments", {}).items()}
    rules: list[Rule] = []
    for i, r in enumerate(doc.get("rule", []), 1):
        for need in ("id", "type", "terms"):
            if need not in r:
                raise InputError(f"rule has no '{need}'", file=where, record=i)
        rules.append(Rule(id=r["id"], type=r["type"], tag=r.get("tag", ""), lang=r.get("lang", ""),
                          terms=list(r["terms"]), example=r.get("example", ""),
                          counter_example=r.get("counter_example", ""), note=r.get("note", "")))
    known = {r.type for r in rules}
    pack = RulePack(name=meta.get("name", "pack"), version=str(meta.get("version", "")), sha256=sha256,
                    path=where, settings=doc.get("settings", {}), suppress=doc.get("suppress", {}), rules=rules)
    pack.literals, pack.owners = literal_table(rules, fragments, where, normalise_term)
    pack.types = parse_types(doc.get("types"), known, where)
    pack.ethics = parse_ethics(doc.get("ethics"), known, where)
    return pack
