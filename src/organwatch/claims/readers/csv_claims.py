"""The documented claims CSV (docs/compliance.md): one row per claim line.

Columns (header required; order free; extra columns ignored):
  claim_id (required), line (required, integer), date_of_service (YYYY-MM-DD), procedure_codes (CPT/HCPCS/ICD-10-PCS,
  separated by ';' or spaces), revenue_code, diagnosis_codes (ICD-10-CM, first = principal/first-listed),
  service_country (ISO code or name; normalised), service_state (US state code when no country), member_id,
  jurisdiction (e.g. US-TX), plan_type.
A bad value makes that claim a per-claim error naming the row and column; other claims are read.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Iterator
from pathlib import Path

from organwatch.claims.countries import is_us_subdivision, normalise
from organwatch.claims.model import UNKNOWN, Claim, Line
from organwatch.claims.rules import jurisdiction_value, plan_types
from organwatch.errors import RecordError

REQUIRED = ("claim_id", "line")


def _split(v: str | None) -> list[str]:
    return [x for x in (v or "").replace(";", " ").replace("|", " ").split() if x]


def _new_claim(row: dict[str, str], cid: str, source: str, record: int,
               line: int) -> tuple[Claim, RecordError | None]:
    """The claim of a first row, and the problem that makes it unreadable (jurisdiction, plan type), if any."""
    j, j_problem = jurisdiction_value(row.get("jurisdiction") or "")
    plan = row.get("plan_type") or None
    claim = Claim(claim_id=cid, source=source, record=record, form="CSV", member_id=row.get("member_id") or None,
                  jurisdiction=j, plan_type=plan)
    if j_problem:
        return claim, RecordError(file=source, record=record, line=line, field="jurisdiction", message=j_problem)
    if plan is not None and plan not in plan_types():
        return claim, RecordError(file=source, record=record, line=line, field="plan_type",
                                  message="unknown plan type (see claims/data/plan_types.toml)")
    return claim, None


def _line(row: dict[str, str], source: str, record: int, line: int) -> Line | RecordError:
    """One CSV row as a claim line (a US state without a country is the US, as in X12 and FHIR)."""
    if not row.get("line", "").isdigit():
        return RecordError(file=source, record=record, line=line, field="line", message="not an integer")
    d = None
    if row.get("date_of_service"):
        try:
            d = dt.date.fromisoformat(row["date_of_service"])
        except ValueError:
            return RecordError(file=source, record=record, line=line, field="date_of_service",
                               message="not an ISO date (YYYY-MM-DD)")
    raw_c = row.get("service_country") or None
    state = row.get("service_state") or None
    if raw_c:
        country, fld = normalise(raw_c), "csv:service_country"
    elif is_us_subdivision(state):
        country, fld, raw_c = "US", "csv:service_state", state
    else:
        country, fld = UNKNOWN, ""
    dx = _split(row.get("diagnosis_codes"))
    return Line(line=int(row["line"]), date=d, date_field="csv:date_of_service" if d else "",
                procedures=[(c, "csv:procedure_codes") for c in _split(row.get("procedure_codes"))],
                revenue=(row["revenue_code"], "csv:revenue_code") if row.get("revenue_code") else None,
                diagnoses=[(c, "csv:diagnosis_codes", i == 0) for i, c in enumerate(dx)],
                country=country, country_field=fld, country_raw=raw_c,
                country_source="claim_service_facility" if fld else "")


def read_csv_claims(path: Path) -> Iterator[Claim | RecordError]:
    source = path.name
    try:
        text = path.read_text("utf-8-sig")
    except UnicodeDecodeError:
        yield RecordError(file=source, record=None, field="file", message="not UTF-8 text")
        return
    delim = "\t" if path.suffix.lower() == ".tsv" else ","
    reader = csv.DictReader(io.StringIO(text, newline=""), delimiter=delim)
    cols = [c.strip() for c in (reader.fieldnames or [])]
    missing = [c for c in REQUIRED if c not in cols]
    if missing:
        yield RecordError(file=source, record=None, line=1, field="header",
                          message=f"missing column(s) {', '.join(missing)}")
        return
    claims: dict[str, Claim] = {}
    bad: dict[str, RecordError] = {}
    order: list[str] = []
    try:
        for rowno, raw in enumerate(reader, 1):
            row = {(k or "").strip(): (v or "").strip() for k, v in raw.items() if isinstance(v, str)}
            cid = row.get("claim_id", "")
            if not cid:
                yield RecordError(file=source, record=None, line=rowno + 1, field="claim_id", message="empty")
                continue
            if cid not in claims and cid not in bad:
                order.append(cid)
                claims[cid], problem = _new_claim(row, cid, source, len(order), rowno + 1)
                if problem is not None:
                    bad[cid] = problem
            if cid in bad:
                continue
            got = _line(row, source, claims[cid].record, rowno + 1)
            if isinstance(got, RecordError):
                bad[cid] = got
            else:
                claims[cid].lines.append(got)
    except csv.Error as e:
        yield RecordError(file=source, record=None, line=reader.line_num, field="csv", message=f"malformed CSV ({e})")
    for cid in order:
        yield bad[cid] if cid in bad else claims[cid]
