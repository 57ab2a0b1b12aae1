"""Shared pieces of the two FHIR R4 readers (model-library path and fast path): file loading and limits."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from organwatch.claims.countries import normalise
from organwatch.claims.model import UNKNOWN, ClaimError, Line

CLAIM_TYPES = ("Claim", "ExplanationOfBenefit")
REF_TYPES = ("Location", "Organization")


def member_key(value: str | None) -> str | None:
    """'Patient/M-2' (a relative reference) -> 'M-2', so claims link to members-file ids; '#p1' -> 'p1'."""
    if not value:
        return None
    if value.startswith("Patient/"):
        return value[len("Patient/"):] or None
    return value.lstrip("#") or None


def _no_constants(name: str) -> Any:
    raise ValueError(f"non-standard JSON constant {name}")


def load_resources(path: Path) -> Iterator[tuple[str, Any] | ClaimError]:
    """Yield (json_path, resource dict) for a JSON resource, a JSON array of resources, or NDJSON (one per line)."""
    source = str(path)
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        yield ClaimError(source, None, "file", "not UTF-8 JSON")
        return
    try:
        doc = json.loads(text, parse_constant=_no_constants)
    except json.JSONDecodeError as e:
        if e.msg != "Extra data":
            yield ClaimError(source, None, f"line {e.lineno} column {e.colno}", f"invalid JSON ({e.msg})")
            return
        doc = None
    except (RecursionError, ValueError) as e:
        yield ClaimError(source, None, "file", f"invalid JSON ({type(e).__name__}: nesting or constants)")
        return
    if doc is None:  # NDJSON
        for i, ln in enumerate(text.splitlines(), 1):
            if not ln.strip():
                continue
            try:
                yield f"line {i}", json.loads(ln, parse_constant=_no_constants)
            except (json.JSONDecodeError, RecursionError, ValueError) as e:
                yield ClaimError(source, None, f"line {i}", f"invalid JSON ({getattr(e, 'msg', type(e).__name__)})")
        return
    if isinstance(doc, list):
        for i, r in enumerate(doc):
            yield f"[{i}]", r
    else:
        yield "", doc


def bundle_entries(doc: dict[str, Any]) -> list[tuple[str, Any]]:
    entries = doc.get("entry") or []
    if not isinstance(entries, list):
        return []
    return [(f"Bundle.entry[{i}].resource", e.get("resource") if isinstance(e, dict) else None)
            for i, e in enumerate(entries)]


def set_line_country(line: Line, raw: str | None, fld: str, kind: str, rt: str, facility: tuple[Any, bool],
                     provider: tuple[Any, bool]) -> None:
    """Finish the location chain locationAddress -> locationReference (already tried by the caller, giving
    ``raw``) -> claim facility -> provider organisation, and record the country with the field it came from.
    Shared by the model-library and fast FHIR paths so that both decide alike."""
    if raw is None and facility[1]:
        raw, fld, kind = facility[0], f"{rt}.facility->Location.address.country", "claim_facility"
    if raw is None and provider[1]:
        raw, fld, kind = provider[0], f"{rt}.provider->Organization.address.country", "provider_organization"
    line.country = normalise(raw) if raw else UNKNOWN
    line.country_raw, line.country_field, line.country_source = raw, fld if raw else "", kind if raw else ""
