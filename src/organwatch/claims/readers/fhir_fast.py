"""FHIR R4 Claim / ExplanationOfBenefit fast path: plain ``json`` dicts, the same field mapping as the
model-library reader (:mod:`organwatch.claims.readers.fhir`), without building model objects.

Used by ``organwatch claims --fast`` and the benchmark. Structural problems (a list where an object belongs, a
bad date) become a per-claim error naming the JSON path; full schema validation is the model path's job. Tests
check that both paths give identical claims and outcomes on every sample and test file.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from organwatch.claims.model import Claim, ClaimError, Line
from organwatch.claims.readers.fhir_common import (
    CLAIM_TYPES,
    REF_TYPES,
    bundle_entries,
    load_resources,
    member_key,
    set_line_country,
)


class _Bad(Exception):
    def __init__(self, path: str, what: str):
        super().__init__(what)
        self.path = path
        self.what = what


def _obj(x: Any, path: str) -> dict[str, Any]:
    if x is None:
        return {}
    if not isinstance(x, dict):
        raise _Bad(path, "expected a JSON object")
    return x


def _arr(x: Any, path: str) -> list[Any]:
    if x is None:
        return []
    if not isinstance(x, list):
        raise _Bad(path, "expected a JSON array")
    return x


_DATES: dict[str, dt.date] = {}


@functools.lru_cache(maxsize=4096)
def _item_paths(rt: str, kind: str, k: int) -> tuple[str, ...]:
    """JSON paths of one item, built once per (resource type, item/addItem, index) instead of per line."""
    p = f"{rt}.{kind}[{k}]"
    return (p, f"{p}.servicedDate", f"{p}.servicedPeriod", f"{p}.servicedPeriod.start", f"{p}.productOrService",
            f"{p}.revenue", f"{p}.diagnosisSequence", f"{p}.locationAddress", f"{p}.locationAddress.country",
            f"{p}.locationReference", f"{p}.locationReference->Location.address.country")


@functools.lru_cache(maxsize=4096)
def _dx_field(rt: str, seq: Any) -> str:
    return f"{rt}.diagnosis(sequence {seq})"


def _date(s: Any, path: str) -> dt.date | None:
    if s is None:
        return None
    hit = _DATES.get(s) if isinstance(s, str) else None
    if hit is not None:
        return hit
    d = _parse_date(s, path)
    if d is not None and len(_DATES) < 100_000:
        _DATES[s] = d
    return d


def _parse_date(s: Any, path: str) -> dt.date | None:
    if not isinstance(s, str) or len(s) < 10:
        if isinstance(s, str) and len(s) in (4, 7):
            return None  # partial dates (YYYY, YYYY-MM) carry no day of service
        raise _Bad(path, "not a FHIR date")
    try:
        return dt.date.fromisoformat(s[:10])
    except ValueError:
        raise _Bad(path, "not a FHIR date") from None


def _codes(cc: Any, path: str) -> list[str]:
    out = []
    for k, c in enumerate(_arr(_obj(cc, path).get("coding"), f"{path}.coding")):
        code = _obj(c, f"{path}.coding[{k}]").get("code")
        if code is not None:
            if not isinstance(code, str):
                raise _Bad(f"{path}.coding[{k}].code", "expected a string")
            out.append(code)
    return out


def _country_of(addr: Any, path: str) -> str | None:
    c = _obj(addr, path).get("country")
    if c is not None and not isinstance(c, str):
        raise _Bad(f"{path}.country", "expected a string")
    return c


def _ref_country(ref: Any, path: str, index: dict[str, dict[str, Any]]) -> tuple[str | None, bool]:
    """(country, found) of the Location/Organization a Reference points to (contained, bundle or absent)."""
    r = _obj(ref, path).get("reference")
    if not r or not isinstance(r, str):
        return None, False
    res = index.get(r)
    if res is None:
        return None, False
    addr = res.get("address")
    if isinstance(addr, list):  # Organization.address is 0..*
        for a in addr:
            c = _country_of(a, f"{r}.address")
            if c:
                return c, True
        return None, True
    return _country_of(addr, f"{r}.address"), True


def _index(res: dict[str, Any], bundle_index: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    idx = dict(bundle_index)
    for k, c in enumerate(_arr(res.get("contained"), "contained")):
        c = _obj(c, f"contained[{k}]")
        if c.get("resourceType") in REF_TYPES and isinstance(c.get("id"), str):
            idx["#" + c["id"]] = c
    return idx


def claim_from_dict(res: dict[str, Any], source: str, record: int, bundle_index: dict[str, dict[str, Any]]) -> Claim:
    rt = res["resourceType"]
    idx = _index(res, bundle_index)
    cid = res.get("id")
    if not cid:
        ids = _arr(res.get("identifier"), f"{rt}.identifier")
        cid = _obj(ids[0], f"{rt}.identifier[0]").get("value") if ids else None
    pat = _obj(res.get("patient"), f"{rt}.patient")
    member = pat.get("reference") or _obj(pat.get("identifier"), f"{rt}.patient.identifier").get("value")
    claim = Claim(claim_id=str(cid or f"{Path(source).name}#{record}"), source=source, record=record,
                  form="FHIR-EOB" if rt == "ExplanationOfBenefit" else "FHIR-Claim",
                  member_id=member_key(member) if isinstance(member, str) else None)
    bp = _obj(res.get("billablePeriod"), f"{rt}.billablePeriod")
    claim_date = _date(bp.get("start"), f"{rt}.billablePeriod.start")
    # diagnoses by sequence
    dx: list[tuple[int, list[str], bool]] = []
    for k, d in enumerate(_arr(res.get("diagnosis"), f"{rt}.diagnosis")):
        p = f"{rt}.diagnosis[{k}]"
        d = _obj(d, p)
        types = [c for t in _arr(d.get("type"), f"{p}.type") for c in _codes(t, f"{p}.type")]
        dx.append((d.get("sequence") if isinstance(d.get("sequence"), int) else k + 1,
                   _codes(d.get("diagnosisCodeableConcept"), f"{p}.diagnosisCodeableConcept"), "principal" in types))
    if dx and not any(p for _, _, p in dx):
        first = min(s for s, _, _ in dx)
        dx = [(s, c, s == first) for s, c, _ in dx]
    dx_by_seq = {s: (c, p) for s, c, p in dx}
    procs: list[tuple[str, str]] = []
    for k, pr in enumerate(_arr(res.get("procedure"), f"{rt}.procedure")):
        p = f"{rt}.procedure[{k}]"
        for c in _codes(_obj(pr, p).get("procedureCodeableConcept"), f"{p}.procedureCodeableConcept"):
            procs.append((c, p))
    # claim-level location: facility, then provider
    fac_c, fac_found = _ref_country(res.get("facility"), f"{rt}.facility", idx)
    prov_c, prov_found = _ref_country(res.get("provider"), f"{rt}.provider", idx)
    items = [(_item_paths(rt, "item", k), it, False) for k, it in enumerate(_arr(res.get("item"), f"{rt}.item"))]
    items += [(_item_paths(rt, "addItem", k), it, True)
              for k, it in enumerate(_arr(res.get("addItem"), f"{rt}.addItem"))]
    billable_field = f"{rt}.billablePeriod.start"
    for n, (paths, it, added) in enumerate(items, 1):
        (p, p_sd, p_sp, p_sps, p_pos, p_rev, p_dxs, p_la, p_lac, p_lr, p_lrc) = paths
        it = _obj(it, p)
        seq = it.get("sequence")
        line_no = seq if isinstance(seq, int) and not added else n
        d = _date(it.get("servicedDate"), p_sd)
        dfield = p_sd
        if d is None:
            d = _date(_obj(it.get("servicedPeriod"), p_sp).get("start"), p_sps)
            dfield = p_sps
        if d is None and claim_date is not None:
            d, dfield = claim_date, billable_field
        if d is None:
            dfield = ""
        line = Line(line=line_no, date=d, date_field=dfield)
        line.procedures = [(c, p_pos) for c in _codes(it.get("productOrService"), p_pos)] + procs
        if "revenue" in it:
            rev = _codes(it.get("revenue"), p_rev)
            if rev:
                line.revenue = (rev[0], p_rev)
        seqs = _arr(it.get("diagnosisSequence"), p_dxs)
        if seqs:
            for k, sq in enumerate(seqs):
                for c in dx_by_seq.get(sq, ([], False))[0]:
                    line.diagnoses.append((c, _dx_field(rt, sq), k == 0))
        else:
            for sq, (cs, pr) in sorted(dx_by_seq.items()):
                for c in cs:
                    line.diagnoses.append((c, _dx_field(rt, sq), pr))
        # line location: locationAddress -> locationReference -> facility -> provider
        raw, fld, kind = None, "", ""
        if it.get("locationAddress") is not None:
            raw = _country_of(it.get("locationAddress"), p_la)
            fld, kind = p_lac, "claim_line_facility"
        if raw is None and it.get("locationReference") is not None:
            c, found = _ref_country(it.get("locationReference"), p_lr, idx)
            if found:
                raw, fld, kind = c, p_lrc, "claim_line_facility"
        set_line_country(line, raw, fld, kind, rt, (fac_c, fac_found), (prov_c, prov_found))
        claim.lines.append(line)
    return claim


def iter_fhir_resources(path: Path) -> Iterator[tuple[str, dict[str, Any], dict[str, dict[str, Any]]] | ClaimError]:
    """(json path, Claim/EOB dict, bundle reference index) for every claim resource in the file."""
    source = str(path)
    for got in load_resources(path):
        if isinstance(got, ClaimError):
            yield got
            continue
        where, doc = got
        if not isinstance(doc, dict):
            yield ClaimError(source, None, where or "$", "expected a FHIR resource (JSON object)")
            continue
        rt = doc.get("resourceType")
        if rt == "Bundle":
            entries = bundle_entries(doc)
            idx: dict[str, dict[str, Any]] = {}
            for _, r in entries:
                if isinstance(r, dict) and r.get("resourceType") in REF_TYPES and isinstance(r.get("id"), str):
                    idx[f"{r['resourceType']}/{r['id']}"] = r
            for e in doc.get("entry") or []:
                if isinstance(e, dict) and isinstance(e.get("resource"), dict) and isinstance(e.get("fullUrl"), str):
                    if e["resource"].get("resourceType") in REF_TYPES:
                        idx[e["fullUrl"]] = e["resource"]
            for p, r in entries:
                if isinstance(r, dict) and r.get("resourceType") in CLAIM_TYPES:
                    yield f"{where}{p}", r, idx
        elif rt in CLAIM_TYPES:
            yield where, doc, {}
        elif rt is None:
            yield ClaimError(source, None, f"{where or '$'}.resourceType", "missing")


def read_fhir_fast(path: Path) -> Iterator[Claim | ClaimError]:
    source = str(path)
    record = 0
    for item in iter_fhir_resources(path):
        if isinstance(item, ClaimError):
            yield item
            continue
        where, res, idx = item
        record += 1
        try:
            yield claim_from_dict(res, source, record, idx)
        except _Bad as e:
            yield ClaimError(source, record, f"{where + ' ' if where else ''}{e.path}".strip(), e.what)
