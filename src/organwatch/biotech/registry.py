"""The restricted-entity registry: embedded entities and listings (``biotech_entities``), product families
(``biotech_products``), as-of semantics, and an optional user-supplied OpenSanctions FollowTheMoney file.

As-of semantics (src/organwatch/datasets/data/biotech/README.md): a listing is active on D when
``listed <= D`` and (no end date or ``D < end``); ``YYYY-MM`` dates count as the first of the month. An
entity's status on D is the strongest active listing: listed > watch > named_in_bill_only. A parent's
listing is never inherited: it is reported, and asked about, separately.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from organwatch.errors import InputError, RecordError, display_name

STATUSES = ("listed", "watch", "named_in_bill_only", "delisted")
PRECEDENCE = {"listed": 3, "watch": 2, "named_in_bill_only": 1}
LISTS = ("dod_1260h", "entity_list", "bill", "statute")
PRODUCT_KINDS = ("sequencer", "sample_prep_robot", "reagent", "software")
_MONTH = re.compile(r"^\d{4}-\d{2}$")


def parse_date(value: str | None) -> dt.date | None:
    """ISO date, or ``YYYY-MM`` as the first day of that month; blank -> None. ValueError otherwise."""
    v = (value or "").strip()
    if not v:
        return None
    if _MONTH.match(v):
        return dt.date.fromisoformat(v + "-01")
    return dt.date.fromisoformat(v[:10])


@dataclass(frozen=True)
class Listing:
    entity_id: str
    list: str
    listed: dt.date
    listed_text: str  # as printed in the data (keeps month precision)
    delisted: dt.date | None
    status: str
    source_urls: tuple[str, ...]
    verification: str
    notes: str = ""
    origin: str = "embedded"  # embedded | opensanctions

    def active(self, day: dt.date) -> bool:
        if self.status == "delisted":
            return False
        return self.listed <= day and (self.delisted is None or day < self.delisted)

    def to_dict(self, day: dt.date | None = None) -> dict[str, Any]:
        d: dict[str, Any] = {"list": self.list, "date": self.listed_text,
                             "end": self.delisted.isoformat() if self.delisted else None, "status": self.status,
                             "source": self.source_urls[0] if self.source_urls else None,
                             "source_urls": list(self.source_urls), "verification": self.verification,
                             "origin": self.origin}
        if day is not None:
            d["active"] = self.active(day)
        return d


@dataclass
class Entity:
    id: str
    name_en: str
    name_zh: str
    aliases: tuple[str, ...]
    parent: str | None
    listings: list[Listing] = field(default_factory=list)
    origin: str = "embedded"

    def active(self, day: dt.date) -> list[Listing]:
        return [x for x in self.listings if x.active(day)]

    def status_on(self, day: dt.date) -> str | None:
        """listed > watch > named_in_bill_only among the listings active on ``day``; None when none is."""
        act = self.active(day)
        if not act:
            return None
        return max(act, key=lambda x: PRECEDENCE.get(x.status, 0)).status

    def names(self) -> list[str]:
        return [n for n in (self.name_en, self.name_zh, *self.aliases) if n]

    @property
    def attribution(self) -> str:
        if any(x.origin == "opensanctions" for x in self.listings):
            return str(opensanctions_config()["attribution"])
        return ""


@dataclass(frozen=True)
class Product:
    product: str
    pattern: str
    entity_id: str
    kind: str
    source_urls: tuple[str, ...]
    verification: str
    notes: str


@dataclass
class Registry:
    entities: dict[str, Entity]
    products: list[Product]
    inputs: list[dict[str, str]] = field(default_factory=list)  # [{name, sha256}] of user files added
    attribution: str = ""

    def parents(self, entity_id: str) -> list[Entity]:
        """The chain of parents (nearest first), stopping at a cycle or an unknown id."""
        out: list[Entity] = []
        seen = {entity_id}
        cur = self.entities.get(entity_id)
        while cur is not None and cur.parent and cur.parent not in seen:
            seen.add(cur.parent)
            cur = self.entities.get(cur.parent)
            if cur is not None:
                out.append(cur)
        return out


# -- embedded data --------------------------------------------------------------------------------------------
def _split(value: Any, sep: str) -> tuple[str, ...]:
    if value is None or (isinstance(value, float)) or str(value) in ("", "<NA>"):
        return ()
    return tuple(p.strip() for p in str(value).split(sep) if p.strip())


def _s(value: Any) -> str:
    return "" if value is None or str(value) == "<NA>" or isinstance(value, float) else str(value)


def _listing_from_row(r: dict[str, Any]) -> Listing:
    status, lst = _s(r["status"]), _s(r["list"])
    if status not in STATUSES:
        raise ValueError(f"status '{status}' is not one of {', '.join(STATUSES)}")
    if lst not in LISTS:
        raise ValueError(f"list '{lst}' is not one of {', '.join(LISTS)}")
    listed = parse_date(_s(r["listed_date"]))
    if listed is None:
        raise ValueError("listed_date is blank")
    end = parse_date(_s(r["delisted_date"]))
    if end is not None and end <= listed:
        raise ValueError("delisted_date is not after listed_date")
    urls = _split(r["source_url"], " ")
    if not urls:
        raise ValueError("source_url is blank")
    return Listing(entity_id=_s(r["entity_id"]), list=lst, listed=listed, listed_text=_s(r["listed_date"]),
                   delisted=end, status=status, source_urls=urls, verification=_s(r["verification"]),
                   notes=_s(r["notes"]))


@functools.cache
def _embedded() -> tuple[dict[str, Entity], tuple[Product, ...]]:
    from organwatch import datasets

    entities: dict[str, Entity] = {}
    frame = datasets.load("biotech_entities").frame
    for i, r in enumerate(frame.to_dict("records"), start=1):
        try:
            listing = _listing_from_row(r)
        except ValueError as e:  # a packaging bug, not user input
            raise RuntimeError(f"embedded biotech_entities row {i}: {e}") from None
        eid = listing.entity_id
        if eid not in entities:
            entities[eid] = Entity(id=eid, name_en=_s(r["name_en"]), name_zh=_s(r["name_zh"]),
                                   aliases=_split(r["aliases"], ";"), parent=_s(r["parent_entity_id"]) or None)
        entities[eid].listings.append(listing)
    products = []
    for i, r in enumerate(datasets.load("biotech_products").frame.to_dict("records"), start=1):
        p = Product(product=_s(r["product"]), pattern=_s(r["match_pattern"]), entity_id=_s(r["entity_id"]),
                    kind=_s(r["kind"]), source_urls=_split(r["source_url"], " "),
                    verification=_s(r["verification"]), notes=_s(r["notes"]))
        try:
            re.compile(p.pattern)
        except re.error as e:
            raise RuntimeError(f"embedded biotech_products row {i}: bad pattern: {e}") from None
        if p.entity_id not in entities or p.kind not in PRODUCT_KINDS:
            raise RuntimeError(f"embedded biotech_products row {i}: unknown entity or kind")
        products.append(p)
    return entities, tuple(products)


def load_registry(entities_files: tuple[Path, ...] = (), errors: list[RecordError] | None = None,
                  verbose: bool = False) -> Registry:
    """The embedded registry plus any OpenSanctions FollowTheMoney files (their rows marked and attributed)."""
    ents, prods = _embedded()
    reg = Registry(entities={k: Entity(id=v.id, name_en=v.name_en, name_zh=v.name_zh, aliases=v.aliases,
                                       parent=v.parent, listings=list(v.listings), origin=v.origin)
                             for k, v in ents.items()}, products=list(prods))
    for path in entities_files:
        from organwatch.findings import sha256_file

        found = 0
        for item in read_ftm(path, verbose=verbose):
            if isinstance(item, RecordError):
                if errors is not None:
                    errors.append(item)
                continue
            _merge(reg, item)
            found += 1
        if not found:
            raise InputError(f"{display_name(path, verbose)}: no FollowTheMoney organisation or company entity "
                             "with a name could be read (expected JSON lines with 'schema' and 'properties')")
        reg.inputs.append({"name": display_name(path, verbose), "sha256": sha256_file(path)})
        reg.attribution = str(opensanctions_config()["attribution"])
    return reg


# -- OpenSanctions / FollowTheMoney ----------------------------------------------------------------------------
@functools.cache
def opensanctions_config() -> dict[str, Any]:
    """biotech/data/opensanctions.toml, validated."""
    import tomllib
    from importlib import resources

    raw = tomllib.loads((resources.files("organwatch.biotech") / "data" / "opensanctions.toml").read_text("utf-8"))
    if raw.get("schema") != 1 or not raw.get("attribution") or not raw.get("schemata"):
        raise RuntimeError("biotech/data/opensanctions.toml: schema 1 with attribution and schemata needed")
    if not set(raw.get("lists", {}).values()) <= set(LISTS):
        raise RuntimeError(f"biotech/data/opensanctions.toml: [lists] values must be in {LISTS}")
    return raw


def _props(d: dict[str, Any]) -> dict[str, list[Any]]:
    p = d.get("properties")
    if not isinstance(p, dict):
        raise RecordError(message="no 'properties' object", field="properties")
    return p


def _first_date(values: list[Any]) -> dt.date | None:
    for v in values or []:
        try:
            day = parse_date(str(v))
        except ValueError:
            continue
        if day:
            return day
    return None


def _list_name(label: str) -> str:
    folded = label.casefold()
    for key, lst in opensanctions_config()["lists"].items():
        if key in folded:
            return str(lst)
    return f"opensanctions:{label}"


def _listing(eid: str, label: str, start: dt.date, end: dt.date | None, urls: tuple[str, ...]) -> Listing:
    return Listing(entity_id=eid, list=_list_name(label), listed=start, listed_text=start.isoformat(),
                   delisted=end if end and end > start else None, status="listed", source_urls=urls,
                   verification="secondary_only", notes=f"user-supplied OpenSanctions file ({label})",
                   origin="opensanctions")


def _sanction(sp: dict[str, Any], eid: str, dataset: str, fallback: tuple[str, ...]) -> Listing | None:
    """One ``Sanction`` entity's properties as a listing (None without a start date)."""
    start = _first_date(list(sp.get("startDate") or []) + list(sp.get("listingDate") or []))
    if start is None:
        return None
    urls = tuple(str(u) for u in sp.get("sourceUrl") or []) or fallback
    label = ",".join(str(x) for x in sp.get("program") or sp.get("authority") or []) or dataset
    return _listing(eid, label, start, _first_date(list(sp.get("endDate") or [])), urls)


def _own_listings(d: dict[str, Any], eid: str, fallback: tuple[str, ...]) -> tuple[list[Listing], bool]:
    """Nested ``sanctions`` (targets.nested.json); else one listing from first_seen (flat exports, until their
    separate Sanction entities are attached by :func:`read_ftm`)."""
    props = _props(d)
    dataset = ",".join(str(x) for x in d.get("datasets") or []) or "opensanctions"
    out = [x for s in props.get("sanctions") or [] if isinstance(s, dict)
           if (x := _sanction(s.get("properties") or {}, eid, dataset, fallback)) is not None]
    if out:
        return out, False
    start = _first_date([d.get("first_seen"), *(props.get("createdAt") or [])])
    if start is None:
        raise RecordError(message="no listing date (sanctions startDate, first_seen or createdAt)", field="first_seen")
    return [_listing(eid, dataset, start, None, fallback)], True


def _ftm_entity(d: dict[str, Any]) -> tuple[Entity, bool] | None:
    """The entity and whether its listing is only the first_seen stand-in; None for non-vendor schemata."""
    if not isinstance(d, dict) or "schema" not in d:
        raise RecordError(message="not a FollowTheMoney entity (no 'schema')", field="schema")
    if d["schema"] not in opensanctions_config()["schemata"]:
        return None  # Sanction, Address, Person ...: not a vendor
    props = _props(d)
    names = [str(n) for n in props.get("name") or [] if str(n).strip()]
    if not names:
        raise RecordError(message="entity has no name", field="properties.name")
    ftm_id = str(d.get("id") or names[0])
    eid = "os:" + ftm_id
    url = str(opensanctions_config()["entity_url"]).format(id=ftm_id)
    fallback = tuple([str(u) for u in props.get("sourceUrl") or []] + [url])
    aliases = [str(a) for key in ("alias", "previousName", "weakAlias", "abbreviation") for a in props.get(key) or []]
    zh = next((n for n in names[1:] + aliases if re.search(r"[\u4e00-\u9fff]", n)), "")
    listings, stand_in = _own_listings(d, eid, fallback)
    return Entity(id=eid, name_en=names[0], name_zh=zh, aliases=tuple(dict.fromkeys(names[1:] + aliases)),
                  parent=None, listings=listings, origin="opensanctions"), stand_in


def _sanction_of(d: Any) -> tuple[list[str], dict[str, Any], str] | None:
    """(target entity ids, properties, dataset) of a flat-export ``Sanction`` entity, else None."""
    if not isinstance(d, dict) or d.get("schema") != "Sanction" or not isinstance(d.get("properties"), dict):
        return None
    props = d["properties"]
    dataset = ",".join(str(x) for x in d.get("datasets") or []) or "opensanctions"
    return [str(x) for x in props.get("entity") or []], props, dataset


def read_ftm(path: Path, verbose: bool = False) -> Iterator[Entity | RecordError]:
    """FollowTheMoney JSON lines (OpenSanctions ``entities.ftm.json`` with separate Sanction entities, or
    ``targets.nested.json`` with nested sanctions). Entities are yielded after the whole file is read, with the
    Sanction entities that name them as their listings."""
    name = display_name(path, verbose)
    if not path.is_file():
        raise InputError(f"{name}: no such file")
    entities: list[tuple[Entity, bool]] = []
    sanctions: dict[str, list[tuple[dict[str, Any], str]]] = {}
    with open(path, encoding="utf-8", errors="strict") as fh:
        try:
            for lineno, line in enumerate(fh, start=1):
                if not line.strip():
                    continue
                try:
                    d = json.loads(line)
                    sanction = _sanction_of(d)
                    if sanction is not None:
                        for target in sanction[0]:
                            sanctions.setdefault(target, []).append((sanction[1], sanction[2]))
                        continue
                    found = _ftm_entity(d)
                except json.JSONDecodeError as e:
                    yield RecordError(file=name, record=lineno, line=lineno, message=f"not JSON ({e.msg})")
                    continue
                except RecordError as e:
                    yield e.located(file=name, record=lineno, line=lineno)
                    continue
                if found is not None:
                    entities.append(found)
        except UnicodeDecodeError:
            yield RecordError(file=name, message="not UTF-8 text; the rest of the file was not read")
    for ent, stand_in in entities:
        attached = [x for sp, ds in sanctions.get(ent.id.removeprefix("os:"), [])
                    if (x := _sanction(sp, ent.id, ds, ent.listings[0].source_urls)) is not None]
        if attached:  # the separate Sanction entities replace the first_seen stand-in
            ent.listings = attached if stand_in else ent.listings + attached
        yield ent


def _merge(reg: Registry, ent: Entity) -> None:
    """An imported entity whose name equals an embedded name adds its listings there; otherwise it is new."""
    from organwatch.biotech.normalise import make_name

    keys = {make_name(n).compact for n in ent.names()} - {""}
    for e in reg.entities.values():
        if e.origin == "embedded" and keys & {make_name(n).compact for n in e.names()}:
            e.listings.extend(ent.listings)
            return
    reg.entities[ent.id] = ent


def entity_record(reg: Registry, e: Entity, day: dt.date | None) -> dict[str, Any]:
    """One row of ``organwatch biotech entities``."""
    listings = e.active(day) if day is not None else e.listings
    urls = list(dict.fromkeys(u for x in listings for u in x.source_urls))
    return {"entity_id": e.id, "name_en": e.name_en, "name_zh": e.name_zh or None, "aliases": list(e.aliases),
            "parent_entity_id": e.parent, "parents": [p.id for p in reg.parents(e.id)],
            "as_of": day.isoformat() if day else None,
            "status": e.status_on(day) if day is not None else None,
            "lists": [x.to_dict(day) for x in sorted(listings, key=lambda x: (x.listed, x.list))],
            "source_urls": urls, "verification": sorted({x.verification for x in listings}),
            "origin": e.origin, "attribution": e.attribution or None}
