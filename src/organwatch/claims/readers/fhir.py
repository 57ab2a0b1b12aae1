"""FHIR R4 (4.0.1) Claim / ExplanationOfBenefit / Bundle through ``fhirclient`` model classes.

Why fhirclient: its models are generated from FHIR 4.0.1 (R4) exactly, it validates types, cardinality and
required elements on construction (``strict=True``), it is Apache-2.0 and maintained (4.4.0, 2026), and it does
not depend on pydantic, so it coexists with any other library. ``fhir.resources`` dropped R4 in 7.0.0 (only
R4B/R5 remain). A resource that fails validation becomes one per-claim error naming the JSON path
(e.g. ``Claim.item[0].sequence``); the batch continues. Field mapping: compliance-rules.md 5.2.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from organwatch.claims.model import Claim, ClaimError, Line
from organwatch.claims.readers.fhir_common import REF_TYPES, member_key, set_line_country
from organwatch.claims.readers.fhir_fast import iter_fhir_resources


def _flatten(err: Any, prefix: str) -> list[tuple[str, str]]:
    """FHIRValidationError tree -> [(json path, neutral message)]; values from the input are never echoed."""
    from fhirclient.models.fhirabstractbase import FHIRValidationError

    out: list[tuple[str, str]] = []
    if isinstance(err, FHIRValidationError):
        p = prefix
        if err.path:
            for seg in str(err.path).split("."):
                p = f"{p}[{seg}]" if seg.isdigit() else f"{p}.{seg}"
        for sub in err.errors:
            out.extend(_flatten(sub, p))
        if not err.errors:
            out.append((p, "invalid"))
        return out
    msg = str(err)
    if "Wrong type" in msg:
        what = "wrong type"
    elif "Superfluous entry" in msg:
        # the unknown key itself is input data (it could be anything): name only where it sits
        return [(prefix, "contains an element that R4 does not define here")]
    elif "Non-optional property" in msg:
        key = msg.split('"')[1] if msg.count('"') >= 2 else ""
        return [(f"{prefix}.{key}" if key.isidentifier() else prefix, "required element missing")]
    elif "must be a list" in msg or "is not a list" in msg or "list" in msg and "expect" in msg:
        what = "expected a JSON array"
    elif isinstance(err, (ValueError, TypeError)) and "date" in msg.lower():
        what = "not a valid FHIR date"
    else:
        what = f"invalid ({type(err).__name__})"
    return [(prefix, what)]


def _date(fd: Any) -> dt.date | None:
    if fd is None:
        return None
    s = getattr(fd, "origval", None) or fd.as_json()
    if not isinstance(s, str) or len(s) < 10:
        return None
    return dt.date.fromisoformat(s[:10])


def _codes(cc: Any) -> list[str]:
    if cc is None or not cc.coding:
        return []
    return [c.code for c in cc.coding if c.code is not None]


def _addr_country(res: Any) -> tuple[str | None, bool]:
    addr = getattr(res, "address", None)
    if addr is None:
        return None, True
    if isinstance(addr, list):
        for a in addr:
            if a.country:
                return a.country, True
        return None, True
    return addr.country, True


def _model(resource_type: str, data: dict[str, Any]) -> Any:
    from fhirclient.models.fhirelementfactory import FHIRElementFactory

    return FHIRElementFactory.instantiate(resource_type, data)


def claim_from_model(m: Any, source: str, record: int, index: dict[str, Any]) -> Claim:
    rt = m.resource_type
    idx = dict(index)
    for c in m.contained or []:
        if getattr(c, "resource_type", None) in REF_TYPES and c.id:
            idx["#" + c.id] = c
    cid = m.id or (m.identifier[0].value if m.identifier else None)
    member = None
    if m.patient is not None:
        member = m.patient.reference or (m.patient.identifier.value if m.patient.identifier else None)
    claim = Claim(claim_id=str(cid or f"{Path(source).name}#{record}"), source=source, record=record,
                  form="FHIR-EOB" if rt == "ExplanationOfBenefit" else "FHIR-Claim", member_id=member_key(member))
    claim_date = _date(m.billablePeriod.start) if m.billablePeriod is not None else None
    dx: list[tuple[int, list[str], bool]] = []
    for k, d in enumerate(m.diagnosis or []):
        types = [c for t in (d.type or []) for c in _codes(t)]
        dx.append((d.sequence if d.sequence is not None else k + 1, _codes(d.diagnosisCodeableConcept),
                   "principal" in types))
    if dx and not any(p for _, _, p in dx):
        first = min(s for s, _, _ in dx)
        dx = [(s, c, s == first) for s, c, _ in dx]
    dx_by_seq = {s: (c, p) for s, c, p in dx}
    procs = [(c, f"{rt}.procedure[{k}]") for k, pr in enumerate(m.procedure or [])
             for c in _codes(pr.procedureCodeableConcept)]

    def ref_country(ref: Any) -> tuple[str | None, bool]:
        if ref is None or not ref.reference:
            return None, False
        res = idx.get(ref.reference)
        if res is None:
            return None, False
        return _addr_country(res)

    fac_c, fac_found = ref_country(m.facility)
    prov_c, prov_found = ref_country(m.provider)
    items = [(f"{rt}.item[{k}]", it, False) for k, it in enumerate(m.item or [])]
    items += [(f"{rt}.addItem[{k}]", it, True) for k, it in enumerate(getattr(m, "addItem", None) or [])]
    for n, (p, it, added) in enumerate(items, 1):
        seq = getattr(it, "sequence", None)
        line_no = seq if isinstance(seq, int) and not added else n
        d, dfield = _date(it.servicedDate), f"{p}.servicedDate"
        if d is None and it.servicedPeriod is not None:
            d, dfield = _date(it.servicedPeriod.start), f"{p}.servicedPeriod.start"
        if d is None and claim_date is not None:
            d, dfield = claim_date, f"{rt}.billablePeriod.start"
        line = Line(line=line_no, date=d, date_field=dfield if d else "")
        line.procedures = [(c, f"{p}.productOrService") for c in _codes(it.productOrService)] + procs
        rev = _codes(getattr(it, "revenue", None))
        if rev:
            line.revenue = (rev[0], f"{p}.revenue")
        seqs = getattr(it, "diagnosisSequence", None) or []
        if seqs:
            for k, s in enumerate(seqs):
                for c in dx_by_seq.get(s, ([], False))[0]:
                    line.diagnoses.append((c, f"{rt}.diagnosis(sequence {s})", k == 0))
        else:
            for s, (cs, pr) in sorted(dx_by_seq.items()):
                for c in cs:
                    line.diagnoses.append((c, f"{rt}.diagnosis(sequence {s})", pr))
        raw, fld, kind = None, "", ""
        if it.locationAddress is not None:
            raw, fld, kind = it.locationAddress.country, f"{p}.locationAddress.country", "claim_line_facility"
        if raw is None and it.locationReference is not None:
            c, found = ref_country(it.locationReference)
            if found:
                raw, fld, kind = c, f"{p}.locationReference->Location.address.country", "claim_line_facility"
        set_line_country(line, raw, fld, kind, rt, (fac_c, fac_found), (prov_c, prov_found))
        claim.lines.append(line)
    return claim


def read_fhir(path: Path) -> Iterator[Claim | ClaimError]:
    import logging

    from fhirclient.models.fhirabstractbase import FHIRValidationError

    log = logging.getLogger("fhirclient")  # its warnings can quote resource content: keep them off stderr
    if not any(isinstance(h, logging.NullHandler) for h in log.handlers):
        log.addHandler(logging.NullHandler())
        log.propagate = False

    source = str(path)
    record = 0
    for item in iter_fhir_resources(path):
        if isinstance(item, ClaimError):
            yield item
            continue
        where, res, raw_idx = item
        record += 1
        rt = res["resourceType"]
        prefix = f"{where} " if where else ""
        try:
            idx = {k: _model(v["resourceType"], v) for k, v in raw_idx.items()}
            m = _model(rt, res)
            yield claim_from_model(m, source, record, idx)
        except FHIRValidationError as e:
            errs = _flatten(e, rt) or [(rt, "invalid")]
            msg = errs[0][1] if len(errs) == 1 else (
                "; ".join(f"{p}: {w}" for p, w in errs[:5]) + (f" (+{len(errs) - 5} more)" if len(errs) > 5 else ""))
            yield ClaimError(source, record, f"{prefix}{errs[0][0] if errs else rt}", msg)
        except (ValueError, TypeError, AttributeError, KeyError, RecursionError) as e:
            yield ClaimError(source, record, f"{prefix}{rt}", f"invalid resource ({type(e).__name__})")
