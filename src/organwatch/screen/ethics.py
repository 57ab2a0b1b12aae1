"""Document-level ethics-reporting checks (spec §6), from the cue events of the whole document.

Fields: donor_source (categories stated), no_prisoner_statement, donor_consent (recipient consent does not
count), ethics_approval, death_determination, date_plausibility (a voluntary/citizen-donation claim for
transplants before 2010 is a red flag; 2010-2014 pilot phase; unstated source before 2015 noted).
"""

from __future__ import annotations

import re
from typing import Any

from organwatch.screen.matching import Event

_YEAR_RX = re.compile(r"(19[6-9][0-9]|20[0-4][0-9])(?:年|\s*[-–~至到]|\s*(?:to|and)\s)")
_RANGE_RX = re.compile(r"(19[6-9][0-9]|20[0-4][0-9])\s*年?[^。.;；\n]{0,12}?(?:[-–~至到]|to|and|until)\s*"
                       r"(19[6-9][0-9]|20[0-4][0-9])")


def transplant_years(norm: str, events: list[Event]) -> list[int]:
    """Years of the transplants reported: year ranges (else single years) within 200 characters of a
    voluntary-donation claim (the first 50 claims); 200 characters each side."""
    years: set[int] = set()
    spans = sorted((max(0, e.start - 200), e.end + 200) for e in events if e.type == "VOLUNTARY")[:50]
    merged: list[list[int]] = []
    for a, b in spans:
        if merged and a <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], b)
        else:
            merged.append([a, b])
    norm = "\n".join(norm[a:b] for a, b in merged) if merged else norm[:2000]
    for m in _RANGE_RX.finditer(norm):
        if m.start() and norm[m.start() - 1].isdigit():
            continue
        a, b = int(m.group(1)), int(m.group(2))
        if a <= b and b - a <= 30:
            years.update((a, b))
    if not years:
        for m in _YEAR_RX.finditer(norm):
            if m.start() and norm[m.start() - 1].isdigit():
                continue
            years.add(int(m.group(1)))
    return sorted(years)


def ethics_fields(norm: str, events: list[Event] | dict[str, list[Event]], pub_year: int | None) -> dict[str, Any]:
    """The §6 fields from a document's events (a list, or already grouped by type)."""
    if isinstance(events, dict):
        by = events
    else:
        by = {}
        for e in events:
            by.setdefault(e.type, []).append(e)
    sources = []
    if "DECEASED" in by or "BD" in by or "DCD" in by:
        sources.append("deceased")
    if "LIVING" in by:
        sources.append("living")
    if "PRISONER" in by:
        sources.append("prisoner")
    if "NO_PRISONER" in by:
        sources.append("non_prisoner")
    if "VOLUNTARY" in by:
        sources.append("voluntary_citizen_donation")
    for e in by.get("CAT", []):
        code = e.rule
        low = norm[e.start:e.end]
        for cat in ("dbcd", "dbd", "dcd"):
            if low == cat and cat.upper() not in sources:
                sources.append(cat.upper())
        if "中国一类" in low and "DBD" not in sources:
            sources.append("DBD")
        if "中国三类" in low and "DBCD" not in sources:
            sources.append("DBCD")
        if "circulatory" in low or "cardiac" in low:
            if "DCD" not in sources:
                sources.append("DCD")
        if "brain death" in low and "DBD" not in sources:
            sources.append("DBD")
        del code
    death = []
    if "BD" in by or "DET" in by:
        death.append("brain_death")
    if "DCD" in by:
        death.append("circulatory_death")
    years = transplant_years(norm, by["VOLUNTARY"]) if "VOLUNTARY" in by else []
    claim = "VOLUNTARY" in by
    ref_years = years or ([pub_year] if pub_year else [])
    if claim and ref_years:
        early = min(ref_years)
        if early < 2010:
            status = "red_flag"
            note = f"voluntary/citizen donation claimed for transplants in {early}, before the 2010 pilot"
        elif early < 2015:
            status = "pilot_phase"
            note = f"voluntary donation claimed for {early}: 2010-2014 pilot phase"
        else:
            status = "plausible"
            note = "voluntary donation claimed from 2015 on"
    elif claim:
        status, note = "not_testable", "voluntary donation claimed but no transplant or publication year found"
    elif not sources and ref_years and max(ref_years) < 2015:
        status, note = "source_unstated_pre_2015", "donor source not stated for transplants before 2015"
    else:
        status, note = "not_testable", "no voluntary-donation claim"
    missing = []
    donor_source_stated = bool(sources)
    if not donor_source_stated:
        missing.append("donor_source")
    if "NO_PRISONER" not in by:
        missing.append("no_prisoner_statement")
    if "CONSENT_DONOR" not in by:
        missing.append("donor_consent")
    if "IRB" not in by:
        missing.append("ethics_approval")
    if not death:
        missing.append("death_determination")
    fails = (not donor_source_stated) or ("CONSENT_DONOR" not in by) or status == "red_flag"
    evidence = [{"field": t.lower(), "start": e.ostart, "end": e.oend}
                for t in ("PRISONER", "NO_PRISONER", "CONSENT_DONOR", "IRB", "VOLUNTARY", "DECEASED")
                for e in by.get(t, [])[:3]]
    return {
        "donor_source": sources,
        "no_prisoner_statement": "NO_PRISONER" in by,
        "donor_consent": "CONSENT_DONOR" in by,
        "recipient_consent_only": "CONSENT_RECIPIENT" in by and "CONSENT_DONOR" not in by,
        "ethics_approval": "IRB" in by,
        "death_determination": death,
        "date_plausibility": {"status": status, "transplant_years": years, "publication_year": pub_year,
                              "voluntary_claim": claim, "note": note},
        "missing": missing,
        "fails_standard": fails,
        "evidence": evidence,
    }
