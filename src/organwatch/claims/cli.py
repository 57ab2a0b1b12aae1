"""``organwatch laws`` (legislation registry) and ``organwatch claims`` (transplant-coverage compliance)."""

from __future__ import annotations

import datetime as dt
import json
import sys
from collections import Counter
from pathlib import Path

import click
from rich.console import Console

from organwatch import __version__
from organwatch.clikit import (
    csv_raw_option,
    emit_jsonl,
    format_option,
    json_option,
    out_option,
    print_table,
    quiet_option,
    say,
)
from organwatch.errors import InputError, UsageError, display_name
from organwatch.output import TABLE_FORMATS, infer_format, write_records


def _as_of(value: str | None) -> dt.date | None:
    if not value:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise UsageError(f"--as-of '{value}' is not an ISO date (YYYY-MM-DD)") from None


PROVISION_CHOICES = ["insurance_ban", "criminal", "reporting", "travel_warning", "sanctions", "genetic_sequencer"]


@click.command()
@click.option("--jurisdiction", "-j", "jurisdictions", multiple=True,
              help="US-TX, TX, GB, US (all US states and federal), EU ... (repeatable).")
@click.option("--provision", "-p", "provisions", multiple=True, type=click.Choice(PROVISION_CHOICES),
              help="Provision type (repeatable; any matches). genetic_sequencer = sequencer / biotech vendor "
                   "restrictions.")
@click.option("--status", "statuses", multiple=True,
              help="enacted, in_force, vetoed, introduced, adopted, ... (repeatable).")
@click.option("--as-of", "as_of", help="Only instruments whose status date is on or before DATE; shows whether "
                                       "insurer rules are in effect on DATE.")
@click.option("--rules", "show_rules", is_flag=True,
              help="Show the insurer rule parameters used by `organwatch claims` (versioned data) and their check "
                   "against the registry, instead of the instruments.")
@json_option("lines", "the matching registry rows (or, with --rules, the rule parameters)")
@out_option(help="Write the records to this file.")
@format_option("csv")
@quiet_option
@csv_raw_option
def laws(jurisdictions: tuple[str, ...], provisions: tuple[str, ...], statuses: tuple[str, ...], as_of: str | None,
         show_rules: bool, as_json: bool, out: Path | None, fmt: str | None) -> None:
    """Query the embedded legislation registry (laws.csv) by jurisdiction, provision, status and date.

    Every row says how its status was verified (primary, secondary only, status unverified, or not reviewed)
    and lists the corrections applied to it with the original value and the correction's source.

    \b
    Example:
      organwatch laws --provision insurance_ban --status enacted
      organwatch laws --provision genetic_sequencer --json
      organwatch laws --jurisdiction TX --as-of 2023-08-31
      organwatch laws --jurisdiction GB --provision reporting --out gb.csv
    """
    from organwatch.claims.registry import LAW_COLUMNS, query_laws

    day = _as_of(as_of)
    if show_rules:
        _show_rules(day, list(jurisdictions), as_json, out, fmt)
        return
    rows, undated = query_laws(list(dict.fromkeys(jurisdictions)), list(provisions), list(statuses), day)
    if out is not None:
        write_records(rows, out, infer_format(out, fmt, "csv"), LAW_COLUMNS)
    if as_json:
        emit_jsonl(rows)
    elif out is None:
        _print_laws(rows, day)
    say(f"laws: {len(rows)} instruments matched" + (f" -> {display_name(out, True)}" if out else "")
        + (f"; {undated} without a status date left out by --as-of" if undated else ""))


def _law_row(r: dict) -> list[str]:
    from organwatch.claims.registry import verification_label

    effect = "" if r["in_effect"] is None else ("yes" if r["in_effect"] else f"no (from {r['effective']})")
    fixed = ", ".join(sorted({c["column"] for c in r["corrections"]}))
    short = {"insurance_ban": "insurer", "travel_warning": "travel", "genetic_sequencer": "sequencer"}
    return [r["id"], r["jurisdiction"], f"{r['status']} {r['status_date'] or ''}".strip(),
            ", ".join(short.get(p, p) for p in r["provisions_types"]), verification_label(r["verification"]),
            fixed, effect]


def _print_laws(rows: list[dict], day: dt.date | None) -> None:
    print_table(["id", "juris.", "status", "provisions", "verification", "corrected",
                 "in effect"], [_law_row(r) for r in rows],
                title=f"{len(rows)} instruments" + (f" as of {day}" if day else ""))
    con = Console(soft_wrap=True)
    for r in rows:
        con.print(f"{r['id']}: {' '.join(r['source_urls'])}", markup=False, highlight=False)
        if r["verification"] in ("secondary_only", "unverified_status"):
            con.print(f"  {r['verification_note']} ({r['verification_basis']})", markup=False, highlight=False)
        for c in r["corrections"]:
            con.print(f"  corrected {c['column']} ({c['reference']}): was {_short(c['original'])!r}, now "
                      f"{_short(c['corrected'])!r}", markup=False, highlight=False)


def _short(text: str | None, n: int = 60) -> str:
    t = text or ""
    return t if len(t) <= n else "..." + t[-n:]


def _show_rules(day: dt.date | None, jurisdictions: list[str], as_json: bool, out: Path | None,
                fmt: str | None) -> None:
    from organwatch.claims.registry import match_jurisdiction
    from organwatch.claims.report_section import rule_consistency
    from organwatch.claims.rules import load_rules

    rules = load_rules(as_of=day)
    checks = {r["jurisdiction"]: r["checks"] for r in rule_consistency()[0]}
    rows = []
    for j, rule in rules.rules.items():
        if jurisdictions and not any(match_jurisdiction(q, j) for q in jurisdictions):
            continue
        rows.append({**rule.parameters(), "citation": rule.citation, "designation_hook": rule.designation_hook,
                     "pending_counsel": sorted(rule.pending_counsel), "registry_checks": checks.get(j, {}),
                     "source_urls": list(rule.source_urls)})
    if out is not None:
        write_records(rows, out, infer_format(out, fmt, "csv"))
    if as_json:
        emit_jsonl(rows)
    elif out is None:
        table = []
        for r in rows:
            ok = all(v is not False for v in r["registry_checks"].values())
            table.append([r["jurisdiction"], r["law_id"], r["mode"],
                          r["effective"] + ("" if r["effective_verified"] else " (configured)"),
                          ", ".join(r["countries"]), ", ".join(r["prongs"]), "consistent" if ok else "MISMATCH"])
        print_table(["jurisdiction", "statute", "mode", "effective", "countries", "prongs", "registry"], table,
                    title=f"{len(rows)} insurer rules" + (f" as of {day}" if day else ""), ids=("statute",))
    say(f"laws --rules: {len(rows)} insurer rules")


@click.command()
@click.argument("inputs", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--jurisdiction", "-j", "jurisdictions", multiple=True,
              help="Plan situs, e.g. US-TX (TX accepted; repeatable). Default: every jurisdiction with a rule.")
@click.option("--plan-type", help="fully_insured, self_funded_erisa, medicaid, chip, hcso, ... (default from config).")
@click.option("--members", "members_path", type=click.Path(path_type=Path),
              help="Members CSV: index transplants (organ, date, performed/origin country, attestation).")
@click.option("--enrollment", "enrollment_path", type=click.Path(path_type=Path),
              help="Enrollment CSV: member_id, jurisdiction, plan_type, start, end (members moving between states).")
@click.option("--as-of", "as_of", help="Use the rule versions valid on DATE (later versions and unsigned laws are ignored).")
@click.option("--config", "config_path", type=click.Path(path_type=Path),
              help="TOML overriding engine settings / jurisdiction parameters (see docs/compliance.md).")
@click.option("--out", type=click.Path(path_type=Path), help="Outcome records (default ./claim-outcomes.jsonl).")
@click.option("--format", "fmt", type=click.Choice(TABLE_FORMATS), help="jsonl, csv or parquet (default from --out).")
@click.option("--json", "as_json", is_flag=True, help="Outcome records as JSON lines on stdout.")
@click.option("--worklist", "worklist_path", type=click.Path(path_type=Path),
              help="Also write the transplant-tourism worklist (members to counsel / review).")
@click.option("--errors", "errors_path", type=click.Path(path_type=Path),
              help="Write unreadable claims (file, claim ordinal, segment / JSON path) as JSON lines.")
@click.option("--fast", is_flag=True, help="FHIR fast path (plain JSON, no model validation); same outcomes.")
def claims(inputs: tuple[Path, ...], jurisdictions: tuple[str, ...], plan_type: str | None, members_path: Path | None,
           enrollment_path: Path | None, as_of: str | None, config_path: Path | None, out: Path | None,
           fmt: str | None, as_json: bool, worklist_path: Path | None, errors_path: Path | None, fast: bool) -> None:
    """Screen claim lines against the transplant-tourism insurance laws (TX, UT, ID, TN, AZ).

    Reads X12 837P/837I (pyx12), FHIR R4 Claim / ExplanationOfBenefit / Bundle (fhirclient) and the documented
    claims CSV. Writes one record per claim line and jurisdiction: claim_id, line, jurisdiction, outcome,
    reasons, statute, fields. Unreadable claims are counted and reported (segment or JSON path), the rest go on.
    Member identifiers never appear in messages.

    \b
    Example:
      organwatch claims claims.837 --jurisdiction TX --out outcomes.jsonl
      organwatch claims bundle.json --members members.csv --plan-type medicaid -j ID --worklist worklist.csv
      organwatch claims claims/ --enrollment enrollment.csv --format parquet --out outcomes.parquet
    """
    from organwatch.claims.batch import gc_paused, screen
    from organwatch.claims.model import RECORD_COLUMNS
    from organwatch.claims.readers import expand
    from organwatch.claims.readers.members import read_enrollment, read_members
    from organwatch.claims.records_out import write_outcomes
    from organwatch.claims.rules import load_rules, plan_types, read_config, resolve_jurisdiction
    from organwatch.claims.worklist import WORKLIST_COLUMNS, build_worklist
    from organwatch.findings import sha256_file

    err = Console(stderr=True)
    day = _as_of(as_of)
    config = read_config(config_path)
    rules = load_rules(config, day)
    known = list(rules.rules)
    js = [resolve_jurisdiction(j, known) for j in jurisdictions] or None
    if plan_type is not None and plan_type not in plan_types():
        raise UsageError(f"--plan-type must be one of {', '.join(plan_types())}, not '{plan_type}'")
    fmt_out = infer_format(out, fmt, "jsonl") if not as_json or out else "jsonl"
    if out is None and not as_json:
        out = Path("claim-outcomes.jsonl") if fmt_out == "jsonl" else Path(f"claim-outcomes.{fmt_out}")
    members: dict = {}
    if members_path is not None:
        read_members(members_path, members)
    if enrollment_path is not None:
        read_enrollment(enrollment_path, members, known)
    files = expand(list(inputs))
    if not files:
        raise InputError("no input files found", file=inputs[0])
    if err.is_terminal and len(files) > 1:
        from rich.progress import Progress

        with Progress(console=err, transient=True) as progress:
            task = progress.add_task("reading claims", total=len(files))
            b = screen(files, rules, members, js, plan_type, fast,
                       on_file=lambda _f: progress.advance(task))
    else:
        b = screen(files, rules, members, js, plan_type, fast)
    batch, errors, outcomes, engine = b.claims, b.errors, b.outcomes, b.engine
    with gc_paused():
        records = [o.to_record() for o in outcomes]
    inputs_ref = [{"name": str(f), "sha256": sha256_file(f)} for f in files]
    for extra in (members_path, enrollment_path, config_path):
        if extra is not None:
            inputs_ref.append({"name": str(extra), "sha256": sha256_file(extra)})
    from organwatch import datasets

    laws_info = datasets.info("laws")
    inputs_ref.append({"name": laws_info.input_ref().name, "sha256": laws_info.sha256})
    provenance = {"inputs": inputs_ref, "parameters": {**rules.parameters, "jurisdictions": js,
                                                        "plan_type": plan_type, "fast": fast},
                  "version": __version__, "seed": None,
                  "readers": {"x12": "pyx12 (maps: see claims/data/x12_maps.toml)", "fhir": "fhirclient R4 4.0.1"
                              if not fast else "fast path (json)"},
                  "counts": {"files": len(files), "claims": len(batch), "lines": sum(len(c.lines) for c in batch),
                             "records": len(records), "errors": len(errors)}}
    if as_json and out is None:
        for r in records:
            sys.stdout.write(json.dumps(r, ensure_ascii=False) + "\n")
    else:
        assert out is not None
        write_outcomes(records, out, fmt_out, RECORD_COLUMNS)
        Path(str(out) + ".provenance.json").write_text(
            json.dumps(provenance, ensure_ascii=False, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    if errors_path is not None:
        write_records([e.to_dict() for e in errors], errors_path, infer_format(errors_path, None, "jsonl"),
                      ["source", "record", "where", "message"])
    if worklist_path is not None:
        wl = build_worklist(engine, batch, members, js)
        write_records(wl, worklist_path, infer_format(worklist_path, None, "csv"), WORKLIST_COLUMNS)
        err.print(f"organwatch claims: worklist of {len(wl)} members -> {worklist_path}")
    for e in errors[:20]:
        click.echo(f"organwatch claims: skipped {e}", err=True)
    if len(errors) > 20:
        err.print(f"organwatch claims: ... and {len(errors) - 20} more unreadable claims (see --errors)")
    counts = Counter(r["outcome"] for r in records)
    click.echo(f"organwatch claims: read {len(files)} files, {len(batch)} claims, "
              f"{provenance['counts']['lines']} lines; {len(errors)} unreadable claims; {len(records)} outcome records"
              + (f" -> {out}" if out else "") + "; " + ", ".join(f"{k} {v}" for k, v in sorted(counts.items())), err=True)
