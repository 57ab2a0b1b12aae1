"""FHIR R4 (4.0.1) Claim / ExplanationOfBenefit / Bundle / NDJSON reading over all the FHIR inputs of a run.

Two passes: the first indexes the resources claims refer to (:mod:`organwatch.claims.readers.fhir_index`), the
second reads every Claim and ExplanationOfBenefit with the one field mapping of
:mod:`organwatch.claims.readers.fhir_fast`. The default (validating) path also instantiates each resource with
``fhirclient``'s R4 models (types, cardinality, required elements; Apache-2.0, maintained, generated from FHIR
4.0.1 exactly, no pydantic; ``fhir.resources`` dropped R4 in 7.0.0) and reports what fails as notes naming the
JSON path (e.g. ``Claim.created: invalid``): a schema deviation the engine does not read (CMS Blue Button's
``IGNORED_FIELD`` placeholders) never rejects a claim, so ``--fast`` and the default give identical claims.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from organwatch.claims.model import Claim
from organwatch.claims.readers.fhir_fast import _Bad, claim_from_dict
from organwatch.claims.readers.fhir_index import (
    CLAIM_TYPES,
    ResourceIndex,
    bundle_entries,
    index_file,
    iter_documents,
)
from organwatch.errors import RecordError


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


def _quiet_fhirclient() -> None:
    import logging

    log = logging.getLogger("fhirclient")  # its warnings can quote resource content: keep them off stderr
    if not any(isinstance(h, logging.NullHandler) for h in log.handlers):
        log.addHandler(logging.NullHandler())
        log.propagate = False


def validate(res: dict[str, Any], source: str, record: int, where: str) -> list[RecordError]:
    """fhirclient R4 validation of one resource, as notes (the claim is read either way)."""
    from fhirclient.models.fhirabstractbase import FHIRValidationError
    from fhirclient.models.fhirelementfactory import FHIRElementFactory

    rt = res["resourceType"]
    prefix = f"{where} " if where else ""
    try:
        FHIRElementFactory.instantiate(rt, res)
        return []
    except FHIRValidationError as e:
        errs = _flatten(e, rt) or [(rt, "invalid")]
    except (ValueError, TypeError, AttributeError, KeyError, RecursionError) as e:
        errs = [(rt, f"invalid resource ({type(e).__name__})")]
    return [RecordError(file=source, record=record, field=f"{prefix}{p}", note=True,
                        message=f"R4 schema: {w} (not used by the rules; claim read)") for p, w in errs[:5]]


def iter_claim_resources(path: Path) -> Iterator[tuple[str, dict[str, Any]] | RecordError]:
    """(json path, Claim/EOB dict) for every claim resource of a file, Bundles (also nested) included."""
    src = path.name
    for got in iter_documents(path, want=CLAIM_TYPES + ("Bundle",)):
        if isinstance(got, RecordError):
            yield got
            continue
        where, line, doc = got
        yield from _claims_in(doc, where, src, line)


def _claims_in(doc: Any, where: str, src: str, line: int | None) -> Iterator[tuple[str, dict[str, Any]] |
                                                                          RecordError]:
    if not isinstance(doc, dict):
        yield RecordError(file=src, record=None, line=line, field=where or "$",
                          message="expected a FHIR resource (JSON object)")
        return
    rt = doc.get("resourceType")
    if rt == "Bundle":
        for p, _url, res in bundle_entries(doc):
            if isinstance(res, dict) and res.get("resourceType") in CLAIM_TYPES + ("Bundle",):
                yield from _claims_in(res, f"{where}{p}" if not where.startswith("line") else f"{where} {p}",
                                      src, line)
    elif rt in CLAIM_TYPES:
        yield where, doc
    elif rt is None:
        yield RecordError(file=src, record=None, line=line, field=f"{where or '$'}.resourceType",
                          message="missing")


def build_index(paths: list[Path]) -> ResourceIndex:
    index = ResourceIndex()
    for p in paths:
        index_file(p, index)
    return index


def read_fhir(path: Path, index: ResourceIndex | None = None, fast: bool = False) -> Iterator[Claim | RecordError]:
    """Claims of one FHIR file, references resolved through ``index`` (default: an index of this file only)."""
    if index is None:
        index = build_index([path])
    if not fast:
        _quiet_fhirclient()
    src = path.name
    record = 0
    for item in iter_claim_resources(path):
        if isinstance(item, RecordError):
            yield item
            continue
        where, res = item
        record += 1
        if not fast:
            yield from validate(res, src, record, where)
        try:
            claim, problems = claim_from_dict(res, src, record, index, where)
        except _Bad as e:
            yield RecordError(file=src, record=record, field=f"{where + ' ' if where else ''}{e.path}".strip(),
                              message=e.what)
            continue
        yield from problems
        yield claim
