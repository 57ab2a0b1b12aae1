"""The legislation registry update: additions, corrections kept beside the originals, verification, the
genetic-sequencer flag, and the claims engine still using insurer bans only."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys

from organwatch import datasets
from organwatch.claims.registry import VERIFICATION, corrections, query_laws
from organwatch.claims.report_section import build_section
from organwatch.claims.rules import load_rules, resolve_jurisdiction
from organwatch.errors import UsageError
from organwatch.report.sections import ReportContext

ADDED = {  # the 12 ids of laws_additions.csv, copied by hand
    "us-s4914-2024", "us-hr8333-2024", "us-ndaa-fy2026-s851-2025", "us-tx-hb130-2025", "us-la-hb125-2025",
    "us-fl-sb768-2025", "us-mt-sb410-2025", "us-pa-sr186-2025", "tw-draft-forced-organ-harvesting-act-2024",
    "eu-ep-resolution-2024-01-18", "kr-organ-transplant-act-art27-2-2020", "be-senate-resolution-7-162-2020"}
SEQUENCER = {  # CORRECTIONS.md §6, by hand
    "us-id-h0670-2024", "us-tn-sb318-2025", "us-az-hb2504-2024", "us-az-hb2693-2025", "us-hr8333-2024",
    "us-ndaa-fy2026-s851-2025", "us-tx-hb130-2025", "us-la-hb125-2025", "us-fl-sb768-2025", "us-mt-sb410-2025"}


def ow(*args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "COLUMNS": "250"}
    return subprocess.run([sys.executable, "-m", "organwatch", *args], capture_output=True, text=True, timeout=120,
                          env=env)


def _rows() -> dict[str, dict]:
    with open(datasets.info("laws").path, encoding="utf-8", newline="") as fh:
        return {r["id"]: r for r in csv.DictReader(fh)}


def test_additions_merged_with_their_origin():
    rows = _rows()
    assert len(rows) == 54
    assert set(rows) >= ADDED
    assert {i for i, r in rows.items() if r["record_source"].startswith("laws_additions.csv")} == ADDED


def test_genetic_sequencer_flag_and_filter():
    assert {i for i, r in _rows().items() if r["covers_genetic_sequencer"] == "true"} == SEQUENCER
    got, _ = query_laws(provisions=["genetic_sequencer"])
    assert {r["id"] for r in got} == SEQUENCER
    both = {r["id"] for r in got if "insurance_ban" in r["provisions_types"]}
    assert both == {"us-id-h0670-2024", "us-tn-sb318-2025", "us-az-hb2504-2024"}
    r = ow("laws", "--provision", "genetic_sequencer", "--json")
    assert r.returncode == 0
    assert {json.loads(ln)["id"] for ln in r.stdout.splitlines()} == SEQUENCER


def test_verification_values():
    rows = _rows()
    assert {r["verification"] for r in rows.values()} <= set(VERIFICATION) | {""}
    assert rows["us-ndaa-fy2026-s851-2025"]["verification"] == "secondary_only"
    assert rows["us-fl-sb768-2025"]["verification"] == "unverified_status"
    assert rows["us-tx-hb130-2025"]["verification"] == "primary"
    assert rows["us-tx-sb1040-2023"]["verification"] == ""  # not reviewed in the 2026 pass: no value invented


def test_corrections_keep_the_original_beside_the_corrected_value():
    fixes = corrections()
    hr = {c["column"]: c for c in fixes["us-hr1503-2025"]}
    assert hr["status_date"]["original"] == "2025-05-08" and hr["status_date"]["corrected"] == "2025-05-07"
    assert hr["status_date"]["reference"] == "CORRECTIONS.md §1" and hr["status_date"]["source_urls"]
    au = {c["column"]: c for c in fixes["au-migration-amendment-organ-transplant-bill-2023"]}
    assert (au["status"]["original"], au["status"]["corrected"]) == ("introduced", "passed_lower_chamber")
    assert au["status_date"]["corrected"] == "2024-08-21"
    tn = {c["column"]: c for c in fixes["us-tn-sb318-2025"]}
    assert "Public Chapter No. 96" in tn["instrument"]["corrected"]
    assert "Public Chapter" not in tn["instrument"]["original"]
    nd = {c["column"]: c for c in fixes["us-ndaa-fy2026-s851-2025"]}
    assert (nd["covers_reporting"]["original"], nd["covers_reporting"]["corrected"]) == ("true", "false")
    rows = _rows()
    assert rows["us-hr1503-2025"]["status_date"] == "2025-05-07"


def test_secondary_only_is_said_in_the_table_and_report():
    r = ow("laws", "-j", "LA")
    assert r.returncode == 0
    assert "secondary only" in r.stdout and "us-la-hb125-2025" in r.stdout
    s = build_section(ReportContext(), [])
    html = str(s.items[0].table_html)
    assert "secondary only" in html and "status unverified" in html
    assert s.items[0].finding.statistics["secondary sources only"] >= 1


def test_claims_engine_ignores_rows_that_are_not_insurance_bans():
    rules = load_rules().rules
    reg = _rows()
    assert set(rules) == {"US-TX", "US-UT", "US-ID", "US-TN", "US-AZ"}
    assert all(reg[r.law_id]["covers_insurance_ban"] == "true" for r in rules.values())
    # Louisiana, Texas H.B. 130, Florida: enacted genetic-sequencer laws, not insurer bans: no claim rule
    assert rules["US-TX"].law_id == "us-tx-sb1040-2023"
    for j in ("LA", "FL", "MT"):
        try:
            resolve_jurisdiction(j, list(rules))
        except UsageError:
            continue
        raise AssertionError(f"{j} must have no claim rule")


def test_unknown_status_is_one_line_exit_2():
    r = ow("laws", "--status", "signed")
    assert r.returncode == 2 and "--status must be one of" in r.stderr and len(r.stderr.strip().splitlines()) == 1
