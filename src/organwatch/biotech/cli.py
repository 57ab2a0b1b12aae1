"""``organwatch biotech``: the restricted-entity registry (``entities``) and inventory screening (``screen``)."""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter
from pathlib import Path
from typing import Any

import click

from organwatch import __version__
from organwatch.clikit import (
    emit_jsonl,
    format_option,
    iso_date,
    json_option,
    out_option,
    print_table,
    quiet_option,
    say,
    warn,
)
from organwatch.errors import InputError, RecordError, UsageError, nothing_read
from organwatch.output import infer_format, write_records

DEFAULT_OUT = Path("biotech-outcomes.jsonl")
ENTITY_COLUMNS = ("entity_id", "name_en", "name_zh", "aliases", "parent_entity_id", "parents", "as_of", "status",
                  "lists", "source_urls", "verification", "origin", "attribution")
OUTCOME_COLUMNS = ("asset_id", "row", "file", "sheet", "jurisdiction", "as_of", "verdict", "entity_id",
                   "matched_name", "entity_status", "parents", "match", "lists", "law", "reasons", "questions",
                   "explanation", "asset_kind", "facility_kind", "country_of_origin", "asset", "attribution")
STATUS_CHOICES = ("listed", "watch", "named_in_bill_only")


def _day(value: str | None) -> dt.date | None:
    return iso_date(value, "--as-of")


def _entities_file_option(f: Any) -> Any:
    return click.option("--entities-file", "entities_files", multiple=True, type=click.Path(path_type=Path),
                        help="An OpenSanctions FollowTheMoney export you downloaded (JSON lines, e.g. "
                             "entities.ftm.json); added to the embedded registry, never embedded, and attributed "
                             "in every output (CC BY-NC 4.0). Repeatable.")(f)


def _registry(entities_files: tuple[Path, ...]) -> Any:
    from organwatch.biotech.registry import load_registry

    errors: list[RecordError] = []
    reg = load_registry(entities_files, errors)
    for e in errors[:20]:
        warn(f"skipped entity: {e}")
    if len(errors) > 20:
        warn(f"{len(errors) - 20} more entities skipped")
    if reg.attribution:
        say(reg.attribution)
    return reg


@click.group()
def biotech() -> None:
    """Restricted foreign-adversary biotech entities and the genetic-sequencer laws that name them.

    `entities` lists the embedded registry (DoD 1260H list, Commerce Entity List, bills, watch letters) as of
    a date; `screen` checks equipment, software and vendor inventories against it and against a state's
    sequencer law (Idaho, Texas, Tennessee, Louisiana, Florida; federal BIOSECURE with --state US).
    Not legal advice: every outcome cites the list, the law, its dates and sources, and asks what the data
    cannot settle.

    \b
    Example:
      organwatch biotech entities --as-of 2025-06-30
      organwatch biotech screen inventory.xlsx --state TX --as-of 2026-01-01
    """


@biotech.command("entities")
@click.option("--as-of", "as_of", help="Only listings in force on DATE (YYYY-MM-DD); a listing ended before DATE "
                                       "(a withdrawn entry, a dead bill) is left out.")
@click.option("--status", "statuses", multiple=True, type=click.Choice(STATUS_CHOICES),
              help="Keep entities with this status on the date (listed > watch > named_in_bill_only). Repeatable.")
@click.option("--list", "lists", multiple=True, help="Keep entities on this list (dod_1260h, entity_list, bill). "
                                                     "Repeatable.")
@_entities_file_option
@json_option("lines", "one entity per line")
@out_option()
@format_option()
@quiet_option
def entities(as_of: str | None, statuses: tuple[str, ...], lists: tuple[str, ...], entities_files: tuple[Path, ...],
             as_json: bool, out: Path | None, fmt: str | None) -> None:
    """List the restricted biotech entities with their lists, dates, parents, aliases and sources.

    Without --as-of every listing event is shown and the status is today's; with --as-of only the listings in
    force on that date (an entity with none is left out).

    \b
    Example:
      organwatch biotech entities --as-of 2024-06-30 --status watch
      organwatch biotech entities --list entity_list --json
      organwatch biotech entities --entities-file entities.ftm.json --out entities.csv
    """
    from organwatch.biotech.registry import entity_record

    day = _day(as_of)
    reg = _registry(entities_files)
    status_day = day or dt.date.today()
    rows = []
    for e in reg.entities.values():
        rec = entity_record(reg, e, day)
        if day is not None and not rec["lists"]:
            continue
        rec["status"] = e.status_on(status_day)
        if statuses and rec["status"] not in statuses:
            continue
        if lists and not {x["list"] for x in rec["lists"]} & set(lists):
            continue
        rows.append(rec)
    if out is not None:
        write_records(rows, out, infer_format(out, fmt, "csv"), ENTITY_COLUMNS)
    if as_json:
        emit_jsonl(rows)
    elif out is None:
        print_table(["entity_id", "status", "lists", "name"],
                    [[r["entity_id"], (r["status"] or "").replace("_", " "),
                      "\n".join(f"{x['list']} {x['date']}" + (" (request)" if x["status"] == "watch" else "")
                                for x in r["lists"]), r["name_en"]] for r in rows],
                    title=f"{len(rows)} entities" + (f" in force on {day}" if day else ""), ids=("entity_id",))
    say(f"biotech entities: {len(rows)} entities" + (f" as of {day}" if day else "") + (f" -> {out}" if out else ""))


@biotech.command("screen")
@click.argument("inventories", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--state", "states", multiple=True,
              help="Jurisdiction to screen under: TX, ID, TN, LA, FL, MT, AZ, any US state code, or US (federal "
                   "BIOSECURE). Repeatable. Default: each row's state column.")
@click.option("--as-of", "as_of", help="Screen as of DATE (YYYY-MM-DD; default: today).")
@_entities_file_option
@json_option("lines", "one outcome per asset and jurisdiction")
@out_option(DEFAULT_OUT, help="Write the outcomes to this file (always written).")
@format_option("jsonl")
@quiet_option
def screen(inventories: tuple[Path, ...], states: tuple[str, ...], as_of: str | None,
           entities_files: tuple[Path, ...], as_json: bool, out: Path, fmt: str | None) -> None:
    """Screen equipment, software and vendor inventories (CSV, TSV, XLSX) against the registry and the law.

    Columns are found by header name (manufacturer, model, vendor, software, asset type, facility type,
    state, country of origin, purchase date; see docs/biotech.md). One outcome per asset and jurisdiction:
    restricted / watch / named_in_bill_only / not_restricted / needs_review, with the entity, the alias and
    score, the lists and dates, the law and section with its effective date, and questions to settle by hand.

    \b
    Example:
      organwatch biotech screen inventory.csv --state TX --as-of 2026-01-01
      organwatch biotech screen lab.xlsx --state ID --state US --out outcomes.csv
      organwatch biotech screen assets.csv --json > outcomes.jsonl
    """
    from organwatch.biotech.decide import screen_asset
    from organwatch.biotech.inventory import FORMATS, expand, read_inventory, state_code
    from organwatch.biotech.matching import Matcher

    day = _day(as_of) or dt.date.today()
    jurisdictions = [_state(s, state_code) for s in states]
    fmt_out = infer_format(out, fmt, "jsonl")
    reg = _registry(entities_files)
    matcher = Matcher(reg)
    files = expand(inventories)
    records: list[dict[str, Any]] = []
    counts: Counter[str] = Counter()
    read_files: list[Path] = []
    last_problem: InputError | None = None
    for path in files:
        n = 0
        try:
            for item in read_inventory(path):
                if isinstance(item, RecordError):
                    _report(item, counts)
                    continue
                js: list[str | None] = list(jurisdictions) or [state_code(item.state) if item.state else None]
                if not jurisdictions and item.state and js == [None]:
                    item.notes.append(f"state '{item.state}' is not a US state code or name")
                records.extend(screen_asset(matcher, item, js, day))
                n += 1
        except InputError as e:
            if len(files) == 1:
                raise
            warn(f"skipped file: {e}")
            last_problem = e
            counts["files_failed"] += 1
            continue
        counts["assets"] += n
        read_files.append(path)
    if not counts["assets"]:
        if last_problem is not None and len(files) == 1:
            raise last_problem
        raise nothing_read("inventory rows", len(files), FORMATS)
    write_records(records, out, fmt_out, OUTCOME_COLUMNS)
    _write_provenance(out, read_files, reg, day, jurisdictions)
    if as_json:
        emit_jsonl(records)
    else:
        _print_outcomes(records, out)
    verdicts = Counter(r["verdict"] for r in records)
    say(f"biotech screen: {counts['assets']} assets from {len(read_files)} file(s), {len(records)} outcomes as of "
        f"{day} ({', '.join(f'{k} {v}' for k, v in sorted(verdicts.items()))}); {counts['rows_failed']} rows "
        f"skipped -> {out}")


def _state(value: str, state_code: Any) -> str:
    code = state_code(value)
    if code is None:
        raise UsageError(f"--state '{value}' is not a US state code or name (TX, US-TX, Texas; US for federal)")
    return str(code)


def _report(item: RecordError, counts: Counter[str]) -> None:
    if item.note:
        say(f"note: {item}")
        return
    counts["rows_failed"] += 1
    if counts["rows_failed"] <= 50:
        warn(f"skipped row: {item}")


TABLE_ROWS = 50


def _print_outcomes(records: list[dict[str, Any]], out: Path) -> None:
    """The outcomes that need attention (at most TABLE_ROWS; all of them are in the outcome file)."""
    shown = [r for r in records if r["verdict"] != "not_restricted"]
    more = f"; the first {TABLE_ROWS} shown" if len(shown) > TABLE_ROWS else ""
    print_table(["asset_id", "jurisdiction", "verdict", "entity", "law"],
                [[r["asset_id"], r["jurisdiction"] or "", r["verdict"], r["entity_id"] or "",
                  (r["law"] or {}).get("id") or ""] for r in shown[:TABLE_ROWS]],
                title=f"{len(shown)} of {len(records)} outcomes need attention{more} (all outcomes: {out.name})",
                ids=("asset_id",))


def _write_provenance(out: Path, files: list[Path], reg: Any, day: dt.date, jurisdictions: list[str]) -> None:
    from organwatch import datasets
    from organwatch.findings import sha256_file

    doc = {"organwatch_version": __version__, "command": "biotech screen",
           "inputs": [{"name": p.name, "sha256": sha256_file(p)} for p in files] + list(reg.inputs),
           "parameters": {"as_of": day.isoformat(), "states": jurisdictions},
           "datasets": [datasets.info(n).provenance() for n in ("biotech_entities", "biotech_products")],
           "attribution": reg.attribution or None}
    Path(str(out) + ".provenance.json").write_text(json.dumps(doc, ensure_ascii=False, indent=1), encoding="utf-8")
