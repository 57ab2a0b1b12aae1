"""Rule packs: TOML data files of event and cue term families, expanded to one literal table.

A pack (see ``rules/ddr_default.toml``) has ``[fragments]`` (named literal lists), ``[[rule]]`` entries
(``id``, ``type``, optional ``tag``, ``lang``, ``terms``, ``example``, ``counter_example``), ``[settings]``
(distances used by the passage logic) and ``[suppress]`` (hit types dropped when contained in another).
``{fragment}`` in a term expands to every literal of the fragment. Literals are normalised like the text.
"""

from __future__ import annotations

import hashlib
import itertools
import re
import tomllib
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from organwatch.errors import InputError, UsageError
from organwatch.screen.normalise import normalise_term

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
    literals: list[Literal] = field(default_factory=list)
    # literal index -> list of rule indexes
    owners: list[list[int]] = field(default_factory=list)

    def literal_strings(self) -> list[str]:
        return [lit.text for lit in self.literals]

    def setting(self, key: str, lang: str) -> int:
        v = self.settings[key]
        return int(v.get(lang, v.get("en"))) if isinstance(v, dict) else int(v)


def _expand(term: str, fragments: dict[str, list[str]], where: str) -> list[str]:
    names = _PLACEHOLDER.findall(term)
    if not names:
        return [term]
    for n in names:
        if n not in fragments:
            raise InputError(f"unknown fragment '{{{n}}}' in term '{term}'", file=where)
    parts = _PLACEHOLDER.split(term)  # literal, name, literal, name, ...
    choices = [[p] if i % 2 == 0 else fragments[p] for i, p in enumerate(parts)]
    return ["".join(c) for c in itertools.product(*choices)]


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
    try:
        doc = tomllib.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as e:
        raise InputError(f"rule pack is not valid TOML: {e}", file=where) from None
    return compile_pack(doc, where, hashlib.sha256(raw).hexdigest())


def compile_pack(doc: dict[str, Any], where: str = "<pack>", sha256: str = "") -> RulePack:
    meta = doc.get("pack", {})
    fragments = {k: list(v) for k, v in doc.get("fragments", {}).items()}
    rules: list[Rule] = []
    for i, r in enumerate(doc.get("rule", []), 1):
        for key in ("id", "type", "terms"):
            if key not in r:
                raise InputError(f"rule has no '{key}'", file=where, record=i)
        rules.append(Rule(id=r["id"], type=r["type"], tag=r.get("tag", ""), lang=r.get("lang", ""),
                          terms=list(r["terms"]), example=r.get("example", ""),
                          counter_example=r.get("counter_example", ""), note=r.get("note", "")))
    pack = RulePack(name=meta.get("name", "pack"), version=str(meta.get("version", "")), sha256=sha256,
                    path=where, settings=doc.get("settings", {}), suppress=doc.get("suppress", {}), rules=rules)
    index: dict[tuple[str, bool, bool], int] = {}
    for ri, rule in enumerate(rules):
        for term in rule.terms:
            for lit in _expand(term, fragments, where):
                left = lit.startswith("<")
                right = lit.endswith(">") and len(lit) > 1
                core = lit[1 if left else 0: len(lit) - 1 if right else len(lit)]
                core = normalise_term(core)
                if not core or "\x00" in core:
                    continue
                key = (core, left, right)
                li = index.get(key)
                if li is None:
                    li = index[key] = len(pack.literals)
                    pack.literals.append(Literal(core, left, right))
                    pack.owners.append([])
                if ri not in pack.owners[li]:
                    pack.owners[li].append(ri)
    if not pack.literals:
        raise InputError("rule pack defines no terms", file=where)
    return pack
