"""FHIR R4 Claim / ExplanationOfBenefit reading on plain ``json`` dicts: the one field mapping of both FHIR paths.

``organwatch claims --fast`` uses it alone; the default path first validates each resource with fhirclient's
R4 models (:mod:`organwatch.claims.readers.fhir`) and reports what fails as notes, then reads it here, so the two
paths give identical claims by construction (tests compare them on every sample). References resolve through the
run-wide :class:`~organwatch.claims.readers.fhir_index.ResourceIndex` (contained, ``Type/id``, ``urn:uuid:``,
absolute URLs, conditional ``Type?identifier=``). ``procedureReference`` / ``diagnosisReference`` give the same
codes as inline concepts. A claim without ``item`` becomes one claim-level line 0. A malformed item is reported
and skipped, the rest of the claim is read; a bad date inside an item is reported as a note and the line is read
without it. Field mapping: docs/specs/compliance-rules.md §5.2.
"""

from __future__ import annotations

import datetime as dt
import functools
from typing import Any

from organwatch.claims.countries import is_us_subdivision, normalise
from organwatch.claims.model import UNKNOWN, Claim, Line
from organwatch.claims.readers.fhir_index import Facts, ResourceIndex, contained_facts
from organwatch.claims.readers.members import key_candidates
from organwatch.errors import RecordError


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
            f"{p}.revenue", f"{p}.diagnosisSequence", f"{p}.locationAddress", f"{p}.locationReference")


@functools.lru_cache(maxsize=4096)
def _dx_field(rt: str, seq: Any) -> str:
    return f"{rt}.diagnosis(sequence {seq})"


@functools.lru_cache(maxsize=65536)
def _member_keys(member: str | None) -> list[str]:
    return key_candidates(member)


def _seq_key(x: tuple[Any, Any]) -> tuple[int, Any]:
    return (0, x[0]) if isinstance(x[0], int) else (1, str(x[0]))


def fhir_date(s: Any) -> dt.date | None:
    """A FHIR date/dateTime -> its day; partial dates (YYYY, YYYY-MM) -> None; anything else -> ValueError."""
    if s is None:
        return None
    hit = _DATES.get(s) if isinstance(s, str) else None
    if hit is not None:
        return hit
    if not isinstance(s, str) or len(s) < 10:
        if isinstance(s, str) and len(s) in (4, 7) and s[:4].isdigit():
            return None
        raise ValueError("date")
    d = dt.date.fromisoformat(s[:10])
    if len(_DATES) < 100_000:
        _DATES[s] = d
    return d


class _Reader:
    """Reads one Claim/EOB dict; collects notes (bad dates) and errors (skipped items) on the way."""

    def __init__(self, res: dict[str, Any], source: str, record: int, where: str, index: ResourceIndex):
        self.res, self.source, self.record, self.where, self.index = res, source, record, where, index
        self.rt: str = res["resourceType"]
        self.contained = contained_facts(res)
        self.problems: list[RecordError] = []

    def problem(self, path: str, what: str, note: bool = False) -> None:
        self.problems.append(RecordError(file=self.source, record=self.record, message=what, note=note,
                                         field=f"{self.where + ' ' if self.where else ''}{path}".strip()))

    def date(self, s: Any, path: str) -> dt.date | None:
        try:
            return fhir_date(s)
        except ValueError:
            self.problem(path, "not a FHIR date; read without it", note=True)
            return None

    def resolve(self, ref: Any, path: str, hint: str | None = None) -> tuple[Facts | None, str | None]:
        """(facts, None) when resolved; (None, "path -> reference: why") when a reference exists but does not
        resolve; (None, None) when there is no reference."""
        if ref is None:
            return None, None
        r = _obj(ref, path).get("reference")
        if not isinstance(r, str) or not r:
            ident = ref.get("identifier") if isinstance(ref, dict) else None
            if isinstance(ident, dict) and isinstance(ident.get("value"), str) and hint:
                sys = ident.get("system") if isinstance(ident.get("system"), str) else ""
                r = f"{hint}?identifier={sys}|{ident['value']}"
            else:
                return None, None
        facts, why = self.index.resolve(r, self.contained, hint)
        if facts is None:
            return None, f"{path} -> {r}: {why}"
        return facts, None

    # -- codes ---------------------------------------------------------------------------------------------
    def codes(self, cc: Any, path: str) -> list[str]:
        out = []
        for k, c in enumerate(_arr(_obj(cc, path).get("coding"), f"{path}.coding")):
            code = _obj(c, f"{path}.coding[{k}]").get("code")
            if code is not None:
                if not isinstance(code, str):
                    raise _Bad(f"{path}.coding[{k}].code", "expected a string")
                out.append(code)
        return out

    def diagnoses(self, unresolved: list[str]) -> dict[Any, tuple[list[str], bool, str]]:
        rt = self.rt
        dx: list[tuple[Any, list[str], bool, str]] = []
        for k, d in enumerate(_arr(self.res.get("diagnosis"), f"{rt}.diagnosis")):
            p = f"{rt}.diagnosis[{k}]"
            d = _obj(d, p)
            types = [c for t in _arr(d.get("type"), f"{p}.type") for c in self.codes(t, f"{p}.type")]
            codes = self.codes(d.get("diagnosisCodeableConcept"), f"{p}.diagnosisCodeableConcept")
            fld = _dx_field(rt, d.get("sequence") if isinstance(d.get("sequence"), int) else k + 1)
            if "diagnosisReference" in d:
                facts, why = self.resolve(d["diagnosisReference"], f"{p}.diagnosisReference", "Condition")
                if facts is not None:
                    codes += list(facts.codes)
                    fld = f"{p}.diagnosisReference->Condition.code"
                elif why:
                    unresolved.append(why)
            seq = d.get("sequence") if isinstance(d.get("sequence"), int) else k + 1
            dx.append((seq, codes, "principal" in types, fld))
        if dx and not any(pr for _, _, pr, _ in dx):
            first = min(s for s, _, _, _ in dx)
            dx = [(s, c, s == first, f) for s, c, _, f in dx]
        return {s: (c, pr, f) for s, c, pr, f in dx}

    def procedures(self, unresolved: list[str]) -> list[tuple[str, str]]:
        rt = self.rt
        procs: list[tuple[str, str]] = []
        for k, pr in enumerate(_arr(self.res.get("procedure"), f"{rt}.procedure")):
            p = f"{rt}.procedure[{k}]"
            pr = _obj(pr, p)
            for c in self.codes(pr.get("procedureCodeableConcept"), f"{p}.procedureCodeableConcept"):
                procs.append((c, p))
            if "procedureReference" in pr:
                facts, why = self.resolve(pr["procedureReference"], f"{p}.procedureReference", "Procedure")
                if facts is not None:
                    procs += [(c, f"{p}.procedureReference->Procedure.code") for c in facts.codes]
                elif why:
                    unresolved.append(why)
        return procs

    # -- places --------------------------------------------------------------------------------------------
    def place(self, facts: Facts | None, path: str, depth: int = 0) -> tuple[str | None, str, str]:
        """(raw country or US state, field, 'country' | 'state' | '') of a resolved resource's address,
        following PractitionerRole -> Location / Organization and Location -> managingOrganization."""
        if facts is None or depth > 2:
            return None, "", ""
        if facts.country:
            return facts.country, f"{path}->{facts.rtype}.address.country", "country"
        if facts.state and is_us_subdivision(facts.state):
            return facts.state, f"{path}->{facts.rtype}.address.state", "state"
        for ref in (facts.location, facts.organization):
            if ref:
                hit, _ = self.index.resolve(ref, self.contained)
                raw, fld, how = self.place(hit, f"{path}->{facts.rtype}", depth + 1)
                if raw:
                    return raw, fld, how
        return None, "", ""

    def header_places(self, unresolved: list[tuple[int, str]]) -> list[tuple[str | None, str, str, str, int]]:
        """[(raw, field, how, evidence kind, position)] for facility (1), then provider (2); references that
        exist but did not resolve go to ``unresolved`` with their position in the chain."""
        rt = self.rt
        out: list[tuple[str | None, str, str, str, int]] = []
        for pos, key, hint, kind in ((1, "facility", "Location", "claim_facility"),
                                     (2, "provider", None, "provider_organization")):
            facts, why = self.resolve(self.res.get(key), f"{rt}.{key}", hint)
            if why:
                unresolved.append((pos, why))
            raw, fld, how = self.place(facts, f"{rt}.{key}")
            if raw:
                out.append((raw, fld, how, kind, pos))
        return out


def _address_place(addr: Any, path: str) -> tuple[str | None, str, str]:
    a = _obj(addr, path)
    c, s = a.get("country"), a.get("state")
    if c is not None and not isinstance(c, str):
        raise _Bad(f"{path}.country", "expected a string")
    if isinstance(c, str) and c.strip():
        return c, f"{path}.country", "country"
    if isinstance(s, str) and is_us_subdivision(s):
        return s, f"{path}.state", "state"
    return None, "", ""


def _set_country(line: Line, raw: str | None, fld: str, how: str, kind: str) -> None:
    if raw is None:
        line.country, line.country_raw, line.country_field, line.country_source = UNKNOWN, None, "", ""
        return
    line.country = normalise(raw) if how == "country" else "US"  # a US state and no country = US (documented)
    line.country_raw, line.country_field, line.country_source = raw, fld, kind


def claim_from_dict(res: dict[str, Any], source: str, record: int, index: ResourceIndex,
                    where: str = "") -> tuple[Claim, list[RecordError]]:
    rd = _Reader(res, source, record, where, index)
    rt = rd.rt
    cid = res.get("id")
    if not cid:
        ids = _arr(res.get("identifier"), f"{rt}.identifier")
        cid = _obj(ids[0], f"{rt}.identifier[0]").get("value") if ids else None
    pat = _obj(res.get("patient"), f"{rt}.patient")
    member = pat.get("reference")
    if not isinstance(member, str) or not member:
        ident = _obj(pat.get("identifier"), f"{rt}.patient.identifier")
        member = f"{ident.get('system') or ''}|{ident['value']}" if isinstance(ident.get("value"), str) else None
    member = member if isinstance(member, str) else None
    keys = _member_keys(member)
    claim = Claim(claim_id=str(cid or f"{source}#{record}"), source=source, record=record,
                  form="FHIR-EOB" if rt == "ExplanationOfBenefit" else "FHIR-Claim",
                  member_id=keys[0] if keys else None, member_ref=member)
    bp = _obj(res.get("billablePeriod"), f"{rt}.billablePeriod")
    claim_date = rd.date(bp.get("start"), f"{rt}.billablePeriod.start")
    code_refs: list[str] = []
    dx_by_seq = rd.diagnoses(code_refs)
    procs = rd.procedures(code_refs)
    loc_refs: list[tuple[int, str]] = []
    header = rd.header_places(loc_refs)
    items = [(_item_paths(rt, "item", k), it, False) for k, it in enumerate(_arr(res.get("item"), f"{rt}.item"))]
    items += [(_item_paths(rt, "addItem", k), it, True)
              for k, it in enumerate(_arr(res.get("addItem"), f"{rt}.addItem"))]
    for n, (paths, it, added) in enumerate(items, 1):
        try:
            claim.lines.append(_item_line(rd, paths, it, added, n, claim_date, dx_by_seq, procs, header,
                                          code_refs, loc_refs))
        except _Bad as e:
            rd.problem(e.path, f"{e.what}; this line was not read (the other lines of the claim were)")
    if not items:  # claim-level outcome (line 0) from header procedures, diagnoses, facility and provider
        line = Line(line=0, date=claim_date, date_field=f"{rt}.billablePeriod.start" if claim_date else "")
        line.procedures = list(procs)
        line.diagnoses = [(c, f, pr) for _, (cs, pr, f) in sorted(dx_by_seq.items(), key=_seq_key)
                          for c in cs]
        raw, fld, how, kind, used = header[0] if header else (None, "", "", "", 3)
        _set_country(line, raw, fld, how, kind)
        line.unresolved = [why for pos, why in loc_refs if pos < used]
        line.unresolved_codes = list(code_refs)
        claim.lines.append(line)
    return claim, rd.problems


def _item_line(rd: _Reader, paths: tuple[str, ...], it: Any, added: bool, n: int, claim_date: dt.date | None,
               dx_by_seq: dict[Any, tuple[list[str], bool, str]], procs: list[tuple[str, str]],
               header: list[tuple[str | None, str, str, str, int]], code_refs: list[str],
               loc_refs: list[tuple[int, str]]) -> Line:
    (p, p_sd, p_sp, p_sps, p_pos, p_rev, p_dxs, p_la, p_lr) = paths
    it = _obj(it, p)
    seq = it.get("sequence")
    line_no = seq if isinstance(seq, int) and not added else n
    d = rd.date(it.get("servicedDate"), p_sd)
    dfield = p_sd
    if d is None:
        d = rd.date(_obj(it.get("servicedPeriod"), p_sp).get("start"), p_sps)
        dfield = p_sps
    if d is None and claim_date is not None:
        d, dfield = claim_date, f"{rd.rt}.billablePeriod.start"
    line = Line(line=line_no, date=d, date_field=dfield if d is not None else "")
    line.procedures = [(c, p_pos) for c in rd.codes(it.get("productOrService"), p_pos)] + procs
    if "revenue" in it:
        rev = rd.codes(it.get("revenue"), p_rev)
        if rev:
            line.revenue = (rev[0], p_rev)
    seqs = _arr(it.get("diagnosisSequence"), p_dxs)
    if seqs:
        for k, sq in enumerate(seqs):
            cs, _pr, fld = dx_by_seq.get(sq, ([], False, ""))
            for c in cs:
                line.diagnoses.append((c, fld, k == 0))
    else:
        for _sq, (cs, pr, fld) in sorted(dx_by_seq.items(), key=_seq_key):
            for c in cs:
                line.diagnoses.append((c, fld, pr))
    # line location: locationAddress -> locationReference -> facility -> provider
    raw, fld, how, kind, used = None, "", "", "", 3
    refs = list(loc_refs)
    if it.get("locationAddress") is not None:
        raw, fld, how = _address_place(it.get("locationAddress"), p_la)
        kind, used = "claim_line_facility", 0
    if raw is None and it.get("locationReference") is not None:
        facts, why = rd.resolve(it.get("locationReference"), p_lr, "Location")
        if why:
            refs.insert(0, (0, why))
        raw, fld, how = rd.place(facts, p_lr)
        kind, used = "claim_line_facility", 0
    if raw is None:
        used = 3
        if header:
            raw, fld, how, kind, used = header[0]
    _set_country(line, raw, fld, how, kind)
    line.unresolved = [why for pos, why in refs if pos < used]
    line.unresolved_codes = list(code_refs)
    return line

