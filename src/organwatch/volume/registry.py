"""Hospital registry built from the embedded ``volume_*`` datasets (shared with other engines).

One :class:`Hospital` per distinct hospital in ``volume_hospitals``: names (English and, where a source gave
it, Chinese), city/province, every published figure with its row id, source URL, publisher and publisher
category (conflicting figures kept side by side), and licence information where the embedded Beijing roster
lists the hospital. Nothing is reconciled, rounded or interpolated.
"""

from __future__ import annotations

import functools
import math
import re
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from organwatch import datasets
from organwatch.errors import UsageError

ORGANS_ZH = {"心": "heart", "肺": "lung", "肝": "liver", "肾": "kidney"}


@dataclass(frozen=True)
class Figure:
    record_id: str
    metric: str
    value: float | None
    value_text: str  # the value column as embedded (it can be text, e.g. a rank claim "top 5")
    qualifier: str
    value_max: float | None
    organ: str
    unit: str
    reference_date: str
    text_as_published: str
    source_url: str
    publisher: str
    publisher_category: str
    notes: str

    @property
    def year(self) -> int | None:
        return first_year(self.reference_date)

    @property
    def number(self) -> float:
        """The numeric value; a row whose value is text (e.g. a rank claim) cannot be used as a number."""
        if self.value is None:
            raise UsageError(f"row {self.record_id} ({self.metric}) has no numeric value: '{self.value_text}'")
        return self.value

    @property
    def number_max(self) -> float:
        """The upper end of a range value, or the value itself."""
        return self.value_max if self.value_max is not None else self.number

    def to_dict(self) -> dict[str, Any]:
        return {"record_id": self.record_id, "metric": self.metric, "value": self.value,
                "value_as_published": self.value_text, "qualifier": self.qualifier, "value_max": self.value_max,
                "organ": self.organ, "unit": self.unit, "reference_date": self.reference_date,
                "text_as_published": self.text_as_published, "source_url": self.source_url,
                "publisher": self.publisher, "publisher_category": self.publisher_category, "notes": self.notes}


@dataclass
class Hospital:
    hospital_id: str
    name_en: str
    name_zh: str
    city: str
    province: str
    location_basis: str
    figures: list[Figure] = field(default_factory=list)
    licensed_organs: list[str] = field(default_factory=list)
    licence_date: str = ""
    licence_source: str = ""

    def metric(self, *metrics: str) -> list[Figure]:
        return [f for f in self.figures if f.metric in metrics and f.value is not None]

    @property
    def organs(self) -> list[str]:
        seen: dict[str, None] = {}
        for f in self.figures:
            for o in re.split(r"[+/ ()]+", f.organ or ""):
                if o in ("kidney", "liver", "heart", "lung"):
                    seen[o] = None
        for o in self.licensed_organs:
            seen[o] = None
        return list(seen)

    def to_record(self) -> dict[str, Any]:
        beds = self.metric("transplant_beds")
        return {
            "hospital_id": self.hospital_id, "name_en": self.name_en, "name_zh": self.name_zh, "city": self.city,
            "province": self.province, "location_basis": self.location_basis, "organs": self.organs,
            "licensed_organs": self.licensed_organs, "licence_date": self.licence_date,
            "licence_source": self.licence_source,
            "transplant_beds_published": [f.value for f in beds],
            "transplant_beds_rows": [f.record_id for f in beds],
            "n_figures": len(self.figures),
            "metrics": sorted({f.metric for f in self.figures}),
            "figures": [f.to_dict() for f in self.figures],
        }


def first_year(text: str | None) -> int | None:
    if not text:
        return None
    m = re.search(r"(19|20)\d\d", str(text))
    return int(m.group(0)) if m else None


def slug(name: str) -> str:
    base = name.split("(")[0] if not name.startswith("(") else name
    s = re.sub(r"[^a-z0-9]+", "-", base.lower().replace("'", "")).strip("-")
    return s or "hospital"


def _num(x: Any) -> float | None:
    if x is None or (isinstance(x, float) and math.isnan(x)) or x is pd.NA:
        return None
    try:
        v = float(str(x).replace(",", ""))
    except ValueError:
        return None
    return v if math.isfinite(v) else None


def _s(x: Any) -> str:
    if x is None or x is pd.NA or (isinstance(x, float) and math.isnan(x)):
        return ""
    return str(x)


@functools.cache
def _publisher_categories() -> dict[str, str]:
    src = datasets.load("volume_sources").frame
    return {_s(r["source_url"]): _s(r["publisher_category"]) for _, r in src.iterrows()}


@functools.cache
def _registry() -> tuple[Hospital, ...]:
    frame = datasets.load("volume_hospitals").frame
    cats = _publisher_categories()
    roster = datasets.load("volume_licensed_roster_beijing").frame
    licence = {_s(r["hospital_name_zh"]): r for _, r in roster.iterrows()}
    hospitals: dict[str, Hospital] = {}
    used_ids: set[str] = set()
    for _, r in frame.iterrows():
        name = _s(r["hospital_name_en"])
        h = hospitals.get(name)
        if h is None:
            hid = slug(name)
            k = 2
            while hid in used_ids:
                hid, k = f"{slug(name)}-{k}", k + 1
            used_ids.add(hid)
            h = Hospital(hospital_id=hid, name_en=name, name_zh="", city=_s(r["city"]), province=_s(r["province"]),
                         location_basis=_s(r["location_basis"]))
            hospitals[name] = h
        if not h.name_zh and _s(r["hospital_name_zh"]):
            h.name_zh = _s(r["hospital_name_zh"])
        url = _s(r["source_url"])
        h.figures.append(Figure(
            record_id=_s(r["record_id"]), metric=_s(r["metric"]), value=_num(r["value"]), value_text=_s(r["value"]),
            qualifier=_s(r["value_qualifier"]), value_max=_num(r["value_max"]), organ=_s(r["organ"]),
            unit=_s(r["unit"]), reference_date=_s(r["reference_date"]),
            text_as_published=_s(r["value_text_as_published"]), source_url=url,
            publisher=_s(r["source_publisher_type"]), publisher_category=cats.get(url, "not in sources.csv"),
            notes=_s(r["notes"])))
    for h in hospitals.values():
        zh_main = h.name_zh.split(" (")[0].strip()
        row = licence.get(zh_main)
        if row is not None:
            h.licensed_organs = [ORGANS_ZH[c] for c in _s(row["organs_permitted_zh"]).split("/") if c in ORGANS_ZH]
            h.licence_date = _s(row["list_date"])
            h.licence_source = _s(row["source_url"])
    return tuple(hospitals.values())


def hospitals() -> list[Hospital]:
    """Every registry hospital, in the order of the embedded table."""
    return list(_registry())


def get(key: str) -> Hospital:
    """Look a hospital up by id, English name or Chinese name; unknown keys are a usage error."""
    k = key.strip()
    for h in _registry():
        if k in (h.hospital_id, h.name_en) or (h.name_zh and k in (h.name_zh, h.name_zh.split(" (")[0])):
            return h
    import difflib

    ids = [h.hospital_id for h in _registry()]
    near = difflib.get_close_matches(k.lower(), ids, n=3, cutoff=0.5)
    hint = f"; did you mean {', '.join(near)}?" if near else "; `organwatch hospitals` lists the ids"
    raise UsageError(f"unknown hospital '{key}'{hint}")


def filter_hospitals(province: str | None = None, organ: str | None = None, licensed: bool = False,
                     metric: str | None = None) -> list[Hospital]:
    out = []
    for h in _registry():
        if province and h.province.lower() != province.lower() and h.city.lower() != province.lower():
            continue
        if organ and organ.lower() not in h.organs:
            continue
        if licensed and not h.licensed_organs:
            continue
        if metric and not any(f.metric == metric for f in h.figures):
            continue
        out.append(h)
    return out


def licensed_counts() -> list[dict[str, Any]]:
    """Licensed / qualified hospital counts by date, exactly as published (conflicts kept side by side)."""
    frame = datasets.load("volume_licensed_hospitals").frame
    out = []
    for _, r in frame.iterrows():
        out.append({"record_id": _s(r["record_id"]), "as_of_date": _s(r["as_of_date"]),
                    "year": first_year(_s(r["as_of_date"])), "scope": _s(r["scope"]),
                    "count": None if r["count"] is pd.NA else int(r["count"]), "qualifier": _s(r["count_qualifier"]),
                    "text_as_published": _s(r["value_text_as_published"]), "source_url": _s(r["source_url"]),
                    "source_type": _s(r["source_type"])})
    return out


def licensed_row(record_id: str) -> dict[str, Any]:
    for r in licensed_counts():
        if r["record_id"] == record_id:
            return r
    raise UsageError(f"unknown licensed-hospital row '{record_id}' (see `organwatch hospitals --counts`)")
