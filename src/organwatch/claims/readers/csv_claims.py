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
                j, j_problem = jurisdiction_value(row.get("jurisdiction") or "")
                plan = row.get("plan_type") or None
                claims[cid] = Claim(claim_id=cid, source=source, record=len(order), form="CSV",
                                    member_id=row.get("member_id") or None, jurisdiction=j, plan_type=plan)
                if j_problem:
                    bad[cid] = RecordError(file=source, record=len(order), line=rowno + 1, field="jurisdiction",
                                           message=j_problem)
                elif plan is not None and plan not in plan_types():
                    bad[cid] = RecordError(file=source, record=len(order), line=rowno + 1, field="plan_type",
                                           message="unknown plan type (see claims/data/plan_types.toml)")
            if cid in bad:
                continue
            claim = claims[cid]
            try:
                if not row.get("line", "").isdigit():
                    raise ValueError("line")
                d = None
                if row.get("date_of_service"):
                    try:
                        d = dt.date.fromisoformat(row["date_of_service"])
                    except ValueError:
                        raise ValueError("date_of_service") from None
            except ValueError as e:
                bad[cid] = RecordError(file=source, record=claim.record, line=rowno + 1, field=e.args[0],
                                       message="not an integer" if e.args[0] == "line" else
                                       "not an ISO date (YYYY-MM-DD)")
                continue
            raw_c = row.get("service_country") or None
            state = row.get("service_state") or None
            if raw_c:
                country, fld = normalise(raw_c), "csv:service_country"
            elif is_us_subdivision(state):
                country, fld, raw_c = "US", "csv:service_state", state
            else:
                country, fld = UNKNOWN, ""
            dx = _split(row.get("diagnosis_codes"))
            claim.lines.append(Line(
                line=int(row["line"]), date=d, date_field="csv:date_of_service" if d else "",
                procedures=[(c, "csv:procedure_codes") for c in _split(row.get("procedure_codes"))],
                revenue=(row["revenue_code"], "csv:revenue_code") if row.get("revenue_code") else None,
                diagnoses=[(c, "csv:diagnosis_codes", i == 0) for i, c in enumerate(dx)],
                country=country, country_field=fld, country_raw=raw_c,
                country_source="claim_service_facility" if fld else ""))
    except csv.Error as e:
        yield RecordError(file=source, record=None, line=reader.line_num, field="csv", message=f"malformed CSV ({e})")
    for cid in order:
        yield bad[cid] if cid in bad else claims[cid]
