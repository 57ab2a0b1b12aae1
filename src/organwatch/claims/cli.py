"""``organwatch laws`` (legislation registry) and ``organwatch claims`` (transplant-coverage compliance)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import click
from rich.console import Console

from organwatch.clikit import (
    csv_raw_option,
    emit_jsonl,
    format_option,
    iso_date,
    json_option,
    out_option,
    print_table,
    quiet_option,
    say,
)
from organwatch.errors import display_name
from organwatch.output import infer_format, write_records


def _as_of(value: str | None) -> dt.date | None:
    return iso_date(value, "--as-of")


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
    cols = ["id", "juris.", "status", "provisions", "verification", "corrected", "in effect"]
    table = [_law_row(r) for r in rows]
    if day is None:  # "in effect" is only known for a date
        cols, table = cols[:-1], [t[:-1] for t in table]
    print_table(cols, table,
                title=f"{len(rows)} instruments" + (f" as of {day}" if day else ""))
    con = Console(soft_wrap=True)
    for r in rows:
        con.print(f"{r['id']}: {' '.join(r['source_urls'])}", markup=False, highlight=False)
        if r["verification"] in ("secondary_only", "unverified_status"):
            con.print(f"  {r['verification_note']} ({r['verification_basis']})", markup=False, highlight=False)
        for c in r["corrections"]:
            con.print(f"  corrected {c['column']} ({c['reference']}): was {_short(c['original'])!r}, now "
                      f"{_short(c['corrected'])!r}", markup=False, highlight=False)


def _short(text: str | None, n: int = 160) -> str:
    t = text or ""
    return t if len(t) <= n else t[: n // 2 - 2] + " ... " + t[-(n // 2 - 2):]


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
              help="Plan situs, e.g. US-TX (TX accepted; repeatable, duplicates count once). Default: every "
                   "jurisdiction with a rule.")
@click.option("--plan-type", help="fully_insured, self_funded_erisa, medicaid, chip, hcso, ... (default from config).")
@click.option("--members", "members_path", type=click.Path(path_type=Path),
              help="Members CSV: index transplants (organ, date, performed/origin country, attestation).")
@click.option("--enrollment", "enrollment_path", type=click.Path(path_type=Path),
              help="Enrollment CSV: member_id, jurisdiction, plan_type, start, end (members moving between states).")
@click.option("--as-of", "as_of",
              help="Use the rule versions valid on DATE (later versions and unsigned laws are ignored).")
@click.option("--config", "config_path", type=click.Path(path_type=Path),
              help="TOML overriding engine settings / jurisdiction parameters (see docs/compliance.md).")
@out_option(default=None, help="Outcome records, always written (default ./claim-outcomes.jsonl; "
                                "OUT.provenance.json beside it).")
@format_option("jsonl")
@json_option("lines", "the outcome records")
@click.option("--worklist", "worklist_path", type=click.Path(path_type=Path),
              help="Also write the transplant-tourism worklist (members to counsel / review).")
@click.option("--errors", "errors_path", type=click.Path(path_type=Path),
              help="Write every unreadable claim or file part (file, record, line, field, message) as JSON lines; "
                   "written even when nothing could be read.")
@click.option("--fast", is_flag=True,
              help="Fast paths: FHIR without fhirclient schema notes, X12 by the tokenising reader instead of "
                   "pyx12; same claims and outcomes.")
@click.option("--verbose", "-v", is_flag=True, help="Name files by full path in messages (default: base name).")
@quiet_option
@csv_raw_option
def claims(inputs: tuple[Path, ...], jurisdictions: tuple[str, ...], plan_type: str | None, members_path: Path | None,
           enrollment_path: Path | None, as_of: str | None, config_path: Path | None, out: Path | None,
           fmt: str | None, as_json: bool, worklist_path: Path | None, errors_path: Path | None, fast: bool,
           verbose: bool) -> None:
    """Screen claim lines against the transplant-tourism insurance laws (TX, UT, ID, TN, AZ).

    Reads X12 837P/837I (5010 through pyx12, 4010 by the tokenising reader; envelopes and counts checked),
    FHIR R4 Claim / ExplanationOfBenefit as single resources, Bundles or NDJSON (references resolved across all
    inputs of the run), and the documented claims CSV. Writes one record per claim line and jurisdiction:
    claim_id, line (0 = a claim without lines), jurisdiction, outcome, reasons, statute, fields. Unreadable
    claims are counted and reported (segment or JSON path), the rest go on. Member identifiers never appear
    in messages.

    \b
    Example:
      organwatch claims claims.837 --jurisdiction TX --out outcomes.jsonl
      organwatch claims bundle.json --members members.csv --plan-type medicaid -j ID --worklist worklist.csv
      organwatch claims Claim.ndjson Location.ndjson Organization.ndjson -j TX --errors errors.jsonl
    """
    from organwatch.claims.run import run_claims

    run_claims(inputs=list(inputs), jurisdictions=list(jurisdictions), plan_type=plan_type,
               members_path=members_path, enrollment_path=enrollment_path, as_of=_as_of(as_of),
               config_path=config_path, out=out, fmt=fmt, as_json=as_json, worklist_path=worklist_path,
               errors_path=errors_path, fast=fast, verbose=verbose)
