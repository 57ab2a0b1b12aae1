"""One ``organwatch claims`` run: options -> inputs -> batch -> outcome file, provenance, errors, summary."""

from __future__ import annotations

import datetime as dt
import sys
from collections import Counter
from pathlib import Path
from typing import Any

from organwatch import __version__
from organwatch.clikit import emit_jsonl, say, warn
from organwatch.errors import InputError, RecordError, UsageError, display_name
from organwatch.output import infer_format, write_records

ERROR_COLUMNS = ["file", "record", "line", "field", "message", "note"]


def _jurisdictions(values: list[str], known: list[str]) -> list[str] | None:
    from organwatch.claims.rules import resolve_jurisdiction

    return list(dict.fromkeys(resolve_jurisdiction(j, known) for j in values)) or None


def _name(e: RecordError, verbose: bool, paths: dict[str, Path]) -> RecordError:
    if verbose and e.file in paths:
        return RecordError(file=str(paths[e.file]), record=e.record, message=e.message, line=e.line, field=e.field,
                           note=e.note)
    return e


def _write_errors(path: Path | None, errors: list[RecordError], notes: list[RecordError]) -> None:
    if path is None:
        return
    rows = [{**e.to_dict(), "note": e.note} for e in errors + notes]
    write_records(rows, path, infer_format(path, None, "jsonl"), ERROR_COLUMNS)


def _inputs_ref(files: list[Path], extras: list[Path | None]) -> list[dict[str, Any]]:
    from organwatch import datasets
    from organwatch.findings import sha256_file

    refs = [{"name": f.name, "sha256": sha256_file(f)} for f in files]
    refs += [{"name": e.name, "sha256": sha256_file(e)} for e in extras if e is not None]
    for name in ("laws", "laws_corrections"):
        info = datasets.info(name)
        refs.append({"name": info.input_ref().name, "sha256": info.sha256})
    return refs


def run_claims(*, inputs: list[Path], jurisdictions: list[str], plan_type: str | None, members_path: Path | None,
               enrollment_path: Path | None, as_of: dt.date | None, config_path: Path | None, out: Path | None,
               fmt: str | None, as_json: bool, worklist_path: Path | None, errors_path: Path | None, fast: bool,
               verbose: bool) -> None:
    import json

    from organwatch.claims.batch import screen
    from organwatch.claims.model import RECORD_COLUMNS
    from organwatch.claims.readers import expand
    from organwatch.claims.readers.members import read_enrollment, read_members
    from organwatch.claims.records_out import write_outcomes
    from organwatch.claims.rules import load_rules, plan_types, read_config
    from organwatch.claims.worklist import WORKLIST_COLUMNS, build_worklist
    from organwatch.gcpause import gc_paused

    config = read_config(config_path)
    rules = load_rules(config, as_of)
    known = list(rules.rules)
    js = _jurisdictions(jurisdictions, known)
    if plan_type is not None and plan_type not in plan_types():
        raise UsageError(f"--plan-type must be one of {', '.join(plan_types())}, not '{plan_type}'")
    fmt_out = infer_format(out, fmt, "jsonl")
    if out is None:  # the outcome file is always written (other commands read it); --json prints it as well
        out = Path("claim-outcomes.jsonl") if fmt_out == "jsonl" else Path(f"claim-outcomes.{fmt_out}")
    members: dict = {}
    pre_errors: list[RecordError] = []
    if members_path is not None:
        read_members(members_path, members)
    if enrollment_path is not None:
        read_enrollment(enrollment_path, members, known, pre_errors)
    files = expand(list(inputs))
    paths = {f.name: f for f in files}
    b = screen(files, rules, members, js, plan_type, fast, raise_if_empty=False)
    errors = [_name(e, verbose, paths) for e in pre_errors + b.errors]
    notes = [_name(e, verbose, paths) for e in b.notes]
    if not b.claims:
        _write_errors(errors_path, errors, notes)
        from organwatch.claims.readers import FORMATS
        from organwatch.errors import nothing_read

        e = nothing_read("claim", len(files), FORMATS)
        first = f"; {len(errors)} problem(s), first: {errors[0]}" if errors else ""
        raise InputError(e.message + first + (" (all listed in --errors)" if errors_path else ""))
    with gc_paused():
        records = [o.to_record() for o in b.outcomes]
    n_lines = b.lines
    provenance = {"inputs": _inputs_ref(files, [members_path, enrollment_path, config_path]),
                  "parameters": {**rules.parameters, "jurisdictions": js, "plan_type": plan_type, "fast": fast},
                  "version": __version__, "seed": None,
                  "readers": {"x12": "tokeniser (envelopes, counts)" + ("" if fast else " + pyx12 (maps: "
                                                                                       "claims/data/x12_maps.toml)"),
                              "fhir": "json + run-wide resource index" + ("" if fast else
                                                                         " + fhirclient R4 4.0.1 schema notes")},
                  "counts": {"files": len(files), "claims": len(b.claims), "lines": n_lines,
                             "records": len(records), "errors": len(errors), "notes": len(notes), **b.linking}}
    write_outcomes(records, out, fmt_out, RECORD_COLUMNS)
    Path(str(out) + ".provenance.json").write_text(
        json.dumps(provenance, ensure_ascii=False, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    if as_json:
        emit_jsonl(records)
    _write_errors(errors_path, errors, notes)
    if worklist_path is not None:
        wl = build_worklist(b.engine, b.claims, members, js)
        write_records(wl, worklist_path, infer_format(worklist_path, None, "csv"), WORKLIST_COLUMNS)
        say(f"claims: worklist of {len(wl)} members -> {display_name(worklist_path, verbose)}")
    _summary(files, b, errors, notes, records, out, verbose, members_path is not None or enrollment_path is not None)


def _summary(files: list[Path], b: Any, errors: list[RecordError], notes: list[RecordError],
             records: list[dict[str, Any]], out: Path | None, verbose: bool, have_members: bool) -> None:
    for e in errors[:20]:
        warn(f"skipped {e}")
    if len(errors) > 20:
        warn(f"... and {len(errors) - 20} more unreadable claims or file parts (see --errors)")
    for n in notes[:5]:
        say(f"note: {n}")
    if len(notes) > 5:
        say(f"... and {len(notes) - 5} more notes (see --errors)")
    counts = Counter(r["outcome"] for r in records)
    say(f"claims: read {len(files)} files, {len(b.claims)} claims, {b.lines} lines; {len(errors)} unreadable; "
        f"{len(notes)} notes; {len(records)} outcome records"
        + (f" -> {display_name(out, verbose)}" if out else "") + "; "
        + ", ".join(f"{k} {v}" for k, v in sorted(counts.items())))
    if have_members:
        lk = b.linking
        say(f"claims: members file: {lk.get('members_linked', 0)} of {lk.get('members', 0)} members linked to "
            f"claims, {lk.get('members_unmatched', 0)} unmatched; {lk.get('claims_without_member_record', 0)} "
            f"claims without a member record")
    sys.stderr.flush()


__all__ = ["run_claims", "InputError"]
