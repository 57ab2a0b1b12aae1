"""Scenarios: the model's assumptions as TOML files (package data), validated and traceable.

A scenario file is applied on top of the packaged default (``scenarios/default.toml``), so a user writes only
what they change. Every parameter states its basis: row ids of the embedded data (checked to exist) and/or a
named assumption (``[[assumptions]]``, checked to exist). Bad files and bad values are :class:`InputError`
(one line, exit 2).
"""

from __future__ import annotations

import copy
import re
import tomllib
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from organwatch import datasets
from organwatch.errors import InputError, UsageError
from organwatch.findings import sha256_bytes
from organwatch.volume.distributions import Bounds, Dist

PARAM_BOUNDS = {
    "share": Bounds(0.0, 1.0, lo_open=True, hi_open=False, hint=" (the share of bed-days is a fraction in (0, 1])"),
    "length_of_stay": Bounds(0.0, 3650.0, hint=" (days; at most 10 years)"),
    "occupancy": Bounds(0.0, 5.0, hint=" (occupancy is a fraction: 1.31 = 131 %)"),
    "beds": Bounds(0.0, 1e6, hint=" (beds; at most 1,000,000)"),
    "bed_scale": Bounds(0.0, 10.0),
    "organs_per_donor": Bounds(0.0, 10.0),
    "living_donor_share": Bounds(0.0, 1.0, lo_open=False, hi_open=True),
}
PARAMETERS = ("share", "length_of_stay", "occupancy")
# resource limits: a scenario file is untrusted input (memory grows with draws x hospitals and grid x draws)
MAX_DRAWS = 5_000_000
MAX_GRID = 2000
MAX_INTEGRATION_DRAWS = 20_000
ROW_DATASETS = {"H": "volume_hospitals", "N": "volume_national_totals", "L": "volume_licensed_hospitals",
                "P": "volume_published_parameters", "E": "volume_published_estimates", "C": "volume_comparators"}

_ALLOWED = {
    "scenario": {"name", "title", "description", "draws", "seed", "year"},
    "beds": {"metrics", "exclude_qualifiers", "exclude_publishers", "conflicts", "assumption", "rows"},
    "parameters": set(PARAMETERS),
    "param": {"dist", "low", "high", "mode", "median", "gsd", "a", "b", "value", "values", "weights", "rows",
              "assumption", "across_hospitals", "hospital_figures"},
    "imputation": {"method", "hospital_count_rows", "bed_scale", "assumption"},
    "calibration": {"enabled", "noise_sd", "reporting_bias", "lower_bounds", "max_year_gap", "grid",
                    "integration_draws", "assumption"},
    "donors": {"organs_per_donor", "organs_per_donor_rows", "living_donor_share", "living_donor_share_rows",
               "assumption"},
    "assumption": {"id", "name", "text"},
}
_TOP = {"scenario", "beds", "parameters", "imputation", "calibration", "donors", "assumptions"}
BED_METRICS = {"transplant_beds", "department_beds", "hospital_beds_total", "icu_beds"}


@dataclass
class Parameter:
    name: str
    dist: Dist
    rows: list[str] = field(default_factory=list)
    assumption: str = ""
    across_hospitals: str = "common"
    hospital_figures: bool = False
    override: str = ""  # "command line" when a flag replaced the scenario's value

    def basis(self) -> str:
        parts = []
        if self.override:
            parts.append(f"set on the {self.override}")
        if self.rows:
            parts.append("rows " + ", ".join(self.rows))
        if self.assumption:
            parts.append(f"assumption {self.assumption}")
        return "; ".join(parts) or "user scenario (no basis given)"

    def to_dict(self) -> dict[str, Any]:
        return {"distribution": self.dist.to_dict(), "describe": self.dist.describe(), "rows": self.rows,
                "assumption": self.assumption, "across_hospitals": self.across_hospitals,
                "hospital_figures": self.hospital_figures, "basis": self.basis()}


@dataclass
class Scenario:
    name: str
    title: str
    description: str
    draws: int
    seed: int
    year: int
    source: str  # "package:default" or a file path
    sha256: str
    parameters: dict[str, Parameter]
    bed_metrics: list[str]
    bed_exclude_qualifiers: list[str]
    bed_exclude_publishers: list[str]  # evidence drop: hospital rows whose publisher category contains any of these
    bed_conflicts: str
    bed_assumption: str
    imputation_method: str
    imputation_count_rows: list[str]
    imputation_bed_scale: Dist
    imputation_assumption: str
    calibration: dict[str, Any]
    organs_per_donor: Dist
    organs_per_donor_rows: list[str]
    living_donor_share: Dist
    living_donor_share_rows: list[str]
    donors_assumption: str
    assumptions: dict[str, dict[str, str]]
    hospitals: list[str] = field(default_factory=list)  # restrict to these registry ids (empty = all)
    beds_override: Dist | None = None  # --beds: replaces the bed figures (what-if)
    raw: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name, "title": self.title, "description": self.description, "source": self.source,
            "sha256": self.sha256, "draws": self.draws, "seed": self.seed, "year": self.year,
            "parameters": {k: p.to_dict() for k, p in self.parameters.items()},
            "beds": {"metrics": self.bed_metrics, "exclude_qualifiers": self.bed_exclude_qualifiers,
                     "exclude_publishers": self.bed_exclude_publishers,
                     "conflicts": self.bed_conflicts, "assumption": self.bed_assumption,
                     "override": None if self.beds_override is None else self.beds_override.to_dict()},
            "imputation": {"method": self.imputation_method, "hospital_count_rows": self.imputation_count_rows,
                           "bed_scale": self.imputation_bed_scale.to_dict(), "assumption": self.imputation_assumption},
            "calibration": self.calibration,
            "donors": {"organs_per_donor": self.organs_per_donor.to_dict(),
                       "organs_per_donor_rows": self.organs_per_donor_rows,
                       "living_donor_share": self.living_donor_share.to_dict(),
                       "living_donor_share_rows": self.living_donor_share_rows, "assumption": self.donors_assumption},
            "hospitals": self.hospitals,
            "assumptions": self.assumptions,
        }


def packaged_names() -> list[str]:
    d = resources.files("organwatch.volume") / "scenarios"
    return sorted(p.name[:-5] for p in d.iterdir() if p.name.endswith(".toml"))


def _packaged_text(name: str) -> str:
    return (resources.files("organwatch.volume") / "scenarios" / f"{name}.toml").read_text("utf-8")


def _parse(text: str, file: str) -> dict[str, Any]:
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        msg = str(e)
        m = re.search(r"\(at line (\d+), column (\d+)\)", msg)
        line = int(m.group(1)) if m else None
        raise InputError(f"malformed scenario file (TOML): {msg.split(' (at line')[0]}", file=file,
                         line=line) from None


def _merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(base)
    for k, v in over.items():
        if k == "assumptions":
            merged = {a.get("id"): a for a in out.get("assumptions", [])}
            for a in v if isinstance(v, list) else []:
                if isinstance(a, dict):
                    merged[a.get("id")] = a
            out["assumptions"] = list(merged.values()) if isinstance(v, list) else v
        elif isinstance(v, dict) and isinstance(out.get(k), dict):
            if k == "parameters":
                for pk, pv in v.items():
                    # a parameter given in a scenario replaces the default's distribution entirely
                    if isinstance(pv, dict) and isinstance(out[k].get(pk), dict) and "dist" in pv:
                        keep = {kk: out[k][pk][kk] for kk in ("across_hospitals", "hospital_figures")
                                if kk in out[k][pk] and kk not in pv}
                        out[k][pk] = {**keep, **pv}
                        if "rows" not in pv and "assumption" not in pv:
                            out[k][pk]["rows"], out[k][pk]["assumption"] = [], ""
                    elif isinstance(pv, dict) and isinstance(out[k].get(pk), dict):
                        out[k][pk] = {**out[k][pk], **pv}
                    else:
                        out[k][pk] = pv
            else:
                out[k] = {**out[k], **v}
        else:
            out[k] = v
    return out


def load(spec: str | Path | None = None) -> Scenario:
    """Load a scenario: ``None`` = default, a packaged name (``critic``), or a TOML file path."""
    default_text = _packaged_text("default")
    base = _parse(default_text, "scenarios/default.toml")
    if spec is None or str(spec) == "default":
        return _build(base, "package:default", sha256_bytes(default_text.encode()), "scenarios/default.toml")
    s = str(spec)
    if s in packaged_names() and not Path(s).exists():
        text = _packaged_text(s)
        file, source = f"scenarios/{s}.toml", f"package:{s}"
    else:
        p = Path(s)
        if not p.exists():
            raise UsageError(f"scenario '{s}' is neither a file nor a packaged scenario "
                             f"({', '.join(packaged_names())})")
        if p.is_dir():
            raise InputError("is a directory, expected a scenario TOML file", file=p)
        raw = p.read_bytes()
        if len(raw) > 1_000_000:
            raise InputError("scenario file is larger than 1 MB", file=p)
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise InputError("malformed scenario file: not UTF-8 text", file=p) from None
        file, source = str(p), str(p)
    over = _parse(text, file)
    _check_keys(over, file)
    return _build(_merge(base, over), source, sha256_bytes(text.encode()), file)


def _check_keys(doc: dict[str, Any], file: str) -> None:
    for k, v in doc.items():
        if k not in _TOP:
            raise InputError(f"malformed scenario file: unknown section '{k}' (expected {', '.join(sorted(_TOP))})",
                             file=file)
        if k == "assumptions":
            if not isinstance(v, list) or not all(isinstance(a, dict) for a in v):
                raise InputError("malformed scenario file: [[assumptions]] must be tables", file=file)
            for a in v:
                bad = set(a) - _ALLOWED["assumption"]
                if bad or "id" not in a:
                    raise InputError(f"malformed scenario file: an assumption needs id/name/text, got "
                                     f"{sorted(a)}", file=file)
            continue
        if not isinstance(v, dict):
            raise InputError(f"malformed scenario file: [{k}] must be a table", file=file)
        allowed = _ALLOWED[k]
        for kk, vv in v.items():
            if kk not in allowed:
                raise InputError(f"malformed scenario file: unknown key '{kk}' in [{k}] "
                                 f"(allowed: {', '.join(sorted(allowed))})", file=file)
            if k == "parameters":
                if not isinstance(vv, dict):
                    raise InputError(f"malformed scenario file: [parameters.{kk}] must be a table", file=file)
                bad = set(vv) - _ALLOWED["param"]
                if bad:
                    raise InputError(f"malformed scenario file: unknown key(s) {sorted(bad)} in "
                                     f"[parameters.{kk}]", file=file)


def _rows_exist(rows: Any, what: str, file: str) -> list[str]:
    if not isinstance(rows, list) or not all(isinstance(r, str) for r in rows):
        raise InputError(f"malformed scenario file: {what} must be a list of row ids", file=file)
    for r in rows:
        ds = ROW_DATASETS.get(r[:1])
        if ds is None or r not in set(datasets.load(ds).frame["record_id"].astype(str)):
            raise InputError(f"{what}: row id '{r}' is not in the embedded data", file=file)
    return list(rows)


def _dist(value: Any, what: str, bound: str, file: str) -> Dist:
    try:
        return Dist.from_table(value, what, PARAM_BOUNDS[bound])
    except UsageError as e:
        raise InputError(e.message, file=file) from None


def _beds_options(beds: dict[str, Any], file: str) -> tuple[list[str], str, list[Any], list[str]]:
    """[beds]: metrics, how conflicting counts resolve, excluded qualifiers and publishers (validated)."""
    metrics = beds.get("metrics", ["transplant_beds"])
    if not isinstance(metrics, list) or not metrics or any(not isinstance(m, str) or m not in BED_METRICS
                                                           for m in metrics):
        raise InputError(f"[beds] metrics must be a non-empty list from {sorted(BED_METRICS)}", file=file)
    conflicts = beds.get("conflicts", "choice")
    if conflicts not in ("choice", "min", "max"):
        raise InputError("[beds] conflicts must be 'choice', 'min' or 'max'", file=file)
    excl = beds.get("exclude_qualifiers", [])
    if not isinstance(excl, list):
        raise InputError("[beds] exclude_qualifiers must be a list", file=file)
    excl_pub = beds.get("exclude_publishers", [])
    if not isinstance(excl_pub, list) or not all(isinstance(x, str) and x.strip() for x in excl_pub):
        raise InputError("[beds] exclude_publishers must be a list of non-empty strings", file=file)
    return metrics, conflicts, excl, excl_pub


def _imputation_options(imp: dict[str, Any], file: str) -> tuple[str, list[str]]:
    """[imputation]: the method and the licensed-hospital rows that give the frame size (validated)."""
    method = imp.get("method", "bootstrap")
    if method not in ("none", "bootstrap"):
        raise InputError("[imputation] method must be 'none' or 'bootstrap'", file=file)
    count_rows = _rows_exist(imp.get("hospital_count_rows", []), "[imputation] hospital_count_rows", file)
    if method == "bootstrap" and not count_rows:
        raise InputError("[imputation] bootstrap needs hospital_count_rows (licensed-hospital rows)", file=file)
    if any(not r.startswith("L") for r in count_rows):
        raise InputError("[imputation] hospital_count_rows must be L rows (licensed_hospitals)", file=file)
    return method, count_rows


def _build(doc: dict[str, Any], source: str, sha: str, file: str) -> Scenario:
    sc = doc.get("scenario", {})
    assumptions = {}
    for a in doc.get("assumptions", []):
        assumptions[str(a["id"])] = {"name": str(a.get("name", "")), "text": " ".join(str(a.get("text", "")).split())}

    def need_assumption(aid: Any, what: str) -> str:
        if not aid:
            return ""
        if str(aid) not in assumptions:
            raise InputError(f"{what}: assumption '{aid}' is not defined in [[assumptions]]", file=file)
        return str(aid)

    def integer(v: Any, what: str, lo: int, hi: int) -> int:
        if isinstance(v, bool) or not isinstance(v, int) or not lo <= v <= hi:
            raise InputError(f"{what} must be an integer in [{lo}, {hi}], not {v!r}", file=file)
        return v

    params = {}
    for name in PARAMETERS:
        t = dict(doc.get("parameters", {}).get(name) or {})
        if not t:
            raise InputError(f"malformed scenario file: [parameters.{name}] is missing", file=file)
        across = t.pop("across_hospitals", "common")
        if across not in ("common", "independent"):
            raise InputError(f"[parameters.{name}] across_hospitals must be 'common' or 'independent'", file=file)
        hf = t.pop("hospital_figures", False)
        if not isinstance(hf, bool):
            raise InputError(f"[parameters.{name}] hospital_figures must be true or false", file=file)
        rows = _rows_exist(t.pop("rows", []), f"[parameters.{name}] rows", file)
        aid = need_assumption(t.pop("assumption", ""), f"[parameters.{name}]")
        params[name] = Parameter(name, _dist(t, f"parameter {name}", name, file), rows, aid, across, hf)

    beds = doc.get("beds", {})
    metrics, conflicts, excl, excl_pub = _beds_options(beds, file)
    imp = doc.get("imputation", {})
    method, count_rows = _imputation_options(imp, file)

    cal = dict(doc.get("calibration", {}))
    cal_out = {
        "enabled": bool(cal.get("enabled", True)),
        "noise_sd": _pos_float(cal.get("noise_sd", 0.5), "[calibration] noise_sd", file),
        "reporting_bias": _float(cal.get("reporting_bias", 0.0), "[calibration] reporting_bias", file),
        "lower_bounds": cal.get("lower_bounds", "approx"),
        "max_year_gap": integer(cal.get("max_year_gap", 3), "[calibration] max_year_gap", 0, 100),
        "grid": integer(cal.get("grid", 400), "[calibration] grid", 20, MAX_GRID),
        "integration_draws": integer(cal.get("integration_draws", 4000), "[calibration] integration_draws",
                                     100, MAX_INTEGRATION_DRAWS),
        "assumption": need_assumption(cal.get("assumption", ""), "[calibration]"),
    }
    if cal_out["lower_bounds"] not in ("approx", "censored"):
        raise InputError("[calibration] lower_bounds must be 'approx' or 'censored'", file=file)

    don = doc.get("donors", {})
    return Scenario(
        name=str(sc.get("name", Path(file).stem)), title=str(sc.get("title", "")),
        description=" ".join(str(sc.get("description", "")).split()),
        draws=integer(sc.get("draws", 200000), "[scenario] draws", 1, MAX_DRAWS),
        seed=integer(sc.get("seed", 20160622), "[scenario] seed", 0, 2**63 - 1),
        year=integer(sc.get("year", 2015), "[scenario] year", 1990, 2100),
        source=source, sha256=sha, parameters=params, bed_metrics=list(metrics),
        bed_exclude_qualifiers=[str(x) for x in excl], bed_exclude_publishers=[x.strip() for x in excl_pub],
        bed_conflicts=conflicts,
        bed_assumption=need_assumption(beds.get("assumption", ""), "[beds]"),
        imputation_method=method, imputation_count_rows=count_rows,
        imputation_bed_scale=_dist(imp.get("bed_scale", 1.0), "[imputation] bed_scale", "bed_scale", file),
        imputation_assumption=need_assumption(imp.get("assumption", ""), "[imputation]"),
        calibration=cal_out,
        organs_per_donor=_dist(don.get("organs_per_donor", 2.94), "[donors] organs_per_donor", "organs_per_donor",
                               file),
        organs_per_donor_rows=_rows_exist(don.get("organs_per_donor_rows", []), "[donors] organs_per_donor_rows",
                                          file),
        living_donor_share=_dist(don.get("living_donor_share", 0.0), "[donors] living_donor_share",
                                 "living_donor_share", file),
        living_donor_share_rows=_rows_exist(don.get("living_donor_share_rows", []),
                                            "[donors] living_donor_share_rows", file),
        donors_assumption=need_assumption(don.get("assumption", ""), "[donors]"),
        assumptions=assumptions, raw=doc)


def _float(v: Any, what: str, file: str) -> float:
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        raise InputError(f"{what} must be a number, not {v!r}", file=file)
    return float(v)


def _pos_float(v: Any, what: str, file: str) -> float:
    x = _float(v, what, file)
    if not x > 0:
        raise InputError(f"{what} must be > 0, not {x:g}", file=file)
    return x


def with_overrides(s: Scenario, *, draws: int | None = None, seed: int | None = None,
                   share: Dist | None = None, length_of_stay: Dist | None = None, occupancy: Dist | None = None,
                   beds: Dist | None = None, hospitals: list[str] | None = None,
                   imputation: str | None = None, exclude_publishers: list[str] | None = None) -> Scenario:
    """Command-line overrides (validated distributions are built by the caller with :func:`parse_spec`)."""
    s = copy.deepcopy(s)
    if draws is not None:
        s.draws = draws
    if seed is not None:
        s.seed = seed
    for name, d in (("share", share), ("length_of_stay", length_of_stay), ("occupancy", occupancy)):
        if d is not None:
            p = s.parameters[name]
            s.parameters[name] = Parameter(name, d, [], "", p.across_hospitals, False, "command line")
    if hospitals:
        s.hospitals = list(hospitals)
        s.imputation_method = "none"  # a named subset is a what-if on those hospitals only
    if beds is not None:
        s.beds_override = beds
    if imputation is not None:
        s.imputation_method = imputation
    if exclude_publishers:
        s.bed_exclude_publishers = s.bed_exclude_publishers + [x for x in exclude_publishers if x.strip()]
    return s
