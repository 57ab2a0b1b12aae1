"""Resource index over every FHIR input of a run: what claim references point to, kept as small facts.

Built in a first pass over all Bundles, NDJSON files and single-resource JSON files of a run, so that a Claim in
``Claim.ndjson`` finds its facility in ``Location.ndjson`` or in Synthea's ``hospitalInformation*.json``.
Indexed: Location, Organization (address), Practitioner (address), PractitionerRole (location, organization),
Procedure and Condition (codes), Patient (identifiers, for member linking), Coverage (existence). Keys: literal
``Type/id``, ``fullUrl`` (``urn:uuid:``, absolute URLs) and identifiers for conditional references
(``Location?identifier=system|value`` with FHIR identifier search semantics: ``system|value``, ``value`` in any
system, ``|value`` without system; more than one match is ambiguous, never a guess).

Memory: only the facts are kept (a country, a state, a few codes, identifiers: about 200 bytes per indexed
resource), never the resources; NDJSON is streamed line by line and lines whose leading ``resourceType`` is not
indexed are skipped without parsing. An index of byte offsets would still need a parse per lookup, and an
embedded store (sqlite) costs more per lookup than these facts cost in memory for the exports this tool meets
(a 1-million-resource index stays near 200 MB).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, unquote

from organwatch.errors import RecordError

INDEXED = ("Location", "Organization", "Practitioner", "PractitionerRole", "Procedure", "Condition", "Patient",
           "Coverage")
CLAIM_TYPES = ("Claim", "ExplanationOfBenefit")
LEAD = '{"resourceType":"'


@dataclass(slots=True)
class Facts:
    """What a claim needs from one referenced resource."""

    rtype: str
    rid: str = ""
    country: str | None = None
    state: str | None = None
    codes: tuple[str, ...] = ()
    location: str | None = None  # PractitionerRole.location[0] / Procedure.location reference
    organization: str | None = None  # PractitionerRole.organization / Location.managingOrganization reference
    identifiers: tuple[str, ...] = ()  # "system|value"


def _no_constants(name: str) -> Any:
    raise ValueError(f"non-standard JSON constant {name}")


try:  # orjson: 2-3x faster parsing; refuses NaN/Infinity and nesting deeper than 1024 (both are bad input)
    import orjson

    def loads(text: str) -> Any:
        return orjson.loads(text)  # orjson.JSONDecodeError is a json.JSONDecodeError (msg, lineno, colno)
except ImportError:  # pragma: no cover - orjson is a declared dependency
    def loads(text: str) -> Any:
        return json.loads(text, parse_constant=_no_constants)


def leading_type(line: str) -> str | None:
    """resourceType when it is the first key of a compact NDJSON line (bulk export layout), else None."""
    if line.startswith(LEAD):
        end = line.find('"', len(LEAD))
        return line[len(LEAD):end] if end > 0 else None
    return None


def _address(addr: Any) -> tuple[str | None, str | None]:
    if isinstance(addr, list):
        best: tuple[str | None, str | None] = (None, None)
        for a in addr:
            c, s = _address(a)
            if c:
                return c, s
            if s and best == (None, None):
                best = (None, s)
        return best
    if not isinstance(addr, dict):
        return None, None
    c, s = addr.get("country"), addr.get("state")
    return (c if isinstance(c, str) and c.strip() else None), (s if isinstance(s, str) and s.strip() else None)


def _ref(x: Any) -> str | None:
    if isinstance(x, list):
        x = x[0] if x else None
    if isinstance(x, dict):
        r = x.get("reference")
        if isinstance(r, str) and r:
            return r
        ident = x.get("identifier")
        if isinstance(ident, dict) and isinstance(ident.get("value"), str):
            sys = ident.get("system") if isinstance(ident.get("system"), str) else ""
            return f"?identifier={sys}|{ident['value']}"
    return None


def codes_of(cc: Any) -> tuple[str, ...]:
    if not isinstance(cc, dict):
        return ()
    coding = cc.get("coding")
    if not isinstance(coding, list):
        return ()
    return tuple(c["code"] for c in coding if isinstance(c, dict) and isinstance(c.get("code"), str))


def _identifiers(res: dict[str, Any]) -> tuple[str, ...]:
    ids = res.get("identifier")
    if isinstance(ids, dict):
        ids = [ids]
    if not isinstance(ids, list):
        return ()
    out = []
    for i in ids:
        if isinstance(i, dict) and isinstance(i.get("value"), str):
            sys = i.get("system") if isinstance(i.get("system"), str) else ""
            out.append(f"{sys}|{i['value']}")
    return tuple(out)


def facts_of(res: dict[str, Any]) -> Facts:
    rt = res.get("resourceType", "")
    f = Facts(rtype=rt, rid=res["id"] if isinstance(res.get("id"), str) else "", identifiers=_identifiers(res))
    if rt in ("Location", "Organization", "Practitioner"):
        f.country, f.state = _address(res.get("address"))
        if rt == "Location":
            f.organization = _ref(res.get("managingOrganization"))
    elif rt == "PractitionerRole":
        f.location, f.organization = _ref(res.get("location")), _ref(res.get("organization"))
    elif rt in ("Procedure", "Condition"):
        f.codes = codes_of(res.get("code"))
        if rt == "Procedure":
            f.location = _ref(res.get("location"))
    return f


class ResourceIndex:
    """Facts by literal key and by identifier; :meth:`resolve` applies FHIR reference semantics."""

    def __init__(self) -> None:
        self._cache: dict[tuple[str, str | None], tuple[Facts | None, str]] = {}
        self.by_key: dict[str, Facts] = {}
        self.by_ident: dict[str, list[Facts]] = {}  # "Type|system|value" and "Type||value" (value, any system)
        self.count = 0

    def add(self, res: dict[str, Any], full_url: str | None = None) -> None:
        self._cache.clear()
        f = facts_of(res)
        self.count += 1
        if f.rid:
            self.by_key.setdefault(f"{f.rtype}/{f.rid}", f)
            if len(f.rid) == 36 and f.rid.count("-") == 4:  # bulk NDJSON has no fullUrl: urn:uuid:<id> names it
                self.by_key.setdefault(f"urn:uuid:{f.rid}", f)
        if full_url:
            self.by_key.setdefault(full_url, f)
        for ident in f.identifiers:
            sys, _, val = ident.partition("|")
            for key in (f"{f.rtype}|{sys}|{val}", f"{f.rtype}||{val}" if sys else None):
                if key is None:
                    continue
                lst = self.by_ident.setdefault(key, [])
                if not any(x is f for x in lst):
                    lst.append(f)

    def resolve(self, ref: str, contained: dict[str, Facts] | None = None,
                rtype_hint: str | None = None) -> tuple[Facts | None, str]:
        """(facts, "") or (None, why it did not resolve)."""
        if ref.startswith("#"):
            hit = (contained or {}).get(ref[1:])
            return (hit, "") if hit else (None, "contained resource not found")
        key = (ref, rtype_hint)
        got = self._cache.get(key)
        if got is None:
            got = self._resolve(ref, rtype_hint)
            if len(self._cache) < 200_000:
                self._cache[key] = got
        return got

    def _resolve(self, ref: str, rtype_hint: str | None) -> tuple[Facts | None, str]:
        if "?" in ref:
            return self._conditional(ref, rtype_hint)
        hit = self.by_key.get(ref)
        if hit is None and "/" in ref:
            parts = ref.split("/_history/")[0].rstrip("/").split("/")
            if len(parts) >= 2:
                hit = self.by_key.get(f"{parts[-2]}/{parts[-1]}")
        return (hit, "") if hit else (None, "not in the inputs of this run")

    def _conditional(self, ref: str, rtype_hint: str | None) -> tuple[Facts | None, str]:
        rtype, _, query = ref.partition("?")
        rtype = rtype.rsplit("/", 1)[-1] or (rtype_hint or "")
        idents = [unquote(v) for k, v in parse_qsl(query, keep_blank_values=True) if k == "identifier"]
        if not idents:
            return None, "conditional reference without an identifier parameter"
        found: list[Facts] | None = None
        for ident in idents:
            if "|" in ident:
                sys, _, val = ident.partition("|")
                if not val:
                    return None, "identifier search by system only is not unique"
                cands = self.by_ident.get(f"{rtype}|{sys}|{val}", [])
            else:
                cands = self.by_ident.get(f"{rtype}||{ident}", [])
            found = cands if found is None else [c for c in found if any(c is d for d in cands)]
        if not found:
            return None, f"no {rtype} with that identifier in the inputs of this run"
        if len(found) > 1 and len({(f.country, f.state, f.codes) for f in found}) > 1:
            return None, f"{len(found)} {rtype} resources with different addresses or codes match (ambiguous)"
        return found[0], ""


def ndjson_or_document(path: Path) -> bool:
    """True when the file is NDJSON: its first non-blank line is a complete JSON object and more lines follow."""
    with open(path, encoding="utf-8-sig", errors="replace") as fh:
        first = ""
        for ln in fh:
            if ln.strip():
                first = ln
                break
        rest = any(ln.strip() for ln in fh)
    if not first.strip().startswith("{") or not rest:
        return False
    try:
        loads(first)
        return True
    except (ValueError, RecursionError):
        return False


def iter_documents(path: Path, want: tuple[str, ...] | None = None) -> Iterator[tuple[str, int | None, Any] |
                                                                                    RecordError]:
    """(json path, physical line, resource) for every top-level resource of a JSON / NDJSON file.

    ``want``: in NDJSON, lines whose leading resourceType is known and not wanted are skipped unparsed."""
    src = path.name
    if ndjson_or_document(path):
        with open(path, encoding="utf-8-sig", errors="strict") as fh:
            try:
                for i, ln in enumerate(fh, 1):
                    if want is not None:
                        t = leading_type(ln)
                        if t is not None and t not in want:
                            continue
                    if not ln.strip():
                        continue
                    try:
                        yield f"line {i}", i, loads(ln)
                    except (ValueError, RecursionError) as e:
                        yield RecordError(file=src, record=None, line=i, field=f"line {i}",
                                          message=f"invalid JSON ({getattr(e, 'msg', type(e).__name__)})")
            except UnicodeDecodeError:
                yield RecordError(file=src, record=None, field="file", message="not UTF-8 JSON")
        return
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError:
        yield RecordError(file=src, record=None, field="file", message="not UTF-8 JSON")
        return
    try:
        doc = loads(text)
    except json.JSONDecodeError as e:
        if "depth" in e.msg or "recursion" in e.msg:
            yield RecordError(file=src, record=None, field="file", message="invalid JSON (nested too deeply)")
        else:
            yield RecordError(file=src, record=None, line=e.lineno, field=f"line {e.lineno} column {e.colno}",
                              message=f"invalid JSON ({e.msg})")
        return
    except (RecursionError, ValueError) as e:
        yield RecordError(file=src, record=None, field="file",
                          message=f"invalid JSON ({type(e).__name__}: nesting or constants)")
        return
    if isinstance(doc, list):
        for i, r in enumerate(doc):
            yield f"[{i}]", None, r
    else:
        yield "", None, doc


def bundle_entries(doc: dict[str, Any]) -> Iterator[tuple[str, str | None, Any]]:
    """(json path, fullUrl, resource) of each Bundle entry; nested Bundles (searchset pages) included."""
    entries = doc.get("entry")
    if not isinstance(entries, list):
        return
    for i, e in enumerate(entries):
        if not isinstance(e, dict):
            continue
        res, url = e.get("resource"), e.get("fullUrl")
        yield f"Bundle.entry[{i}].resource", url if isinstance(url, str) else None, res


def index_file(path: Path, index: ResourceIndex) -> None:
    """Add the indexed resources of one file (errors are reported by the claim pass, not here)."""
    for got in iter_documents(path, want=INDEXED + ("Bundle",)):
        if isinstance(got, RecordError):
            continue
        _, _, doc = got
        _index_doc(doc, index, None)


def _index_doc(doc: Any, index: ResourceIndex, url: str | None) -> None:
    if not isinstance(doc, dict):
        return
    rt = doc.get("resourceType")
    if rt == "Bundle":
        for _, u, res in bundle_entries(doc):
            _index_doc(res, index, u)
    elif rt in INDEXED:
        index.add(doc, url)


def contained_facts(res: dict[str, Any]) -> dict[str, Facts]:
    out: dict[str, Facts] = {}
    cont = res.get("contained")
    if isinstance(cont, list):
        for c in cont:
            if isinstance(c, dict) and isinstance(c.get("id"), str):
                out[c["id"]] = facts_of(c)
    return out
