"""The briefing: one screen of plain sentences, each with its figure and a link to the finding it comes from.

Built only from the findings the sections produced, looked up by check id and kind; a section that is absent
(no inputs, engine not installed) simply contributes no item. Each question is one small rule in
:data:`RULES` (a function from the :class:`Index` to briefing items), tested on its own. Sections of other
engines can add items through the optional ``briefing_items(section)`` hook of their provider module
(:mod:`organwatch.report.sections`); sections without a rule or a hook get one generic item from their first
finding. Grades appear only on tests; descriptive and reproduction items carry no badge.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from markupsafe import Markup

from organwatch.findings import Finding, Kind, Status, Verdict
from organwatch.report import svg
from organwatch.report.i18n import format_date
from organwatch.report.i18n import gettext as _
from organwatch.report.labels import plain_text
from organwatch.report.sections import Section

SEVERITY = {Verdict.HIGHLY_UNUSUAL: 0, Verdict.UNUSUAL: 1, Verdict.CONSISTENT: 2, Verdict.NOT_TESTABLE: 3}


@dataclass
class BriefingItem:
    question: str  # the reader's question, as a short heading
    sentence: str  # plain text with the figure in it (escaped by the template)
    target: str  # anchor of the detailed finding
    finding: Finding
    chart: Markup | None = None

    @property
    def verdict(self) -> str:
        """The test badge's verdict, or "" (no grades on descriptive items or reproductions)."""
        f = self.finding
        return f.verdict.value if f.kind is Kind.TEST and f.verdict is not None else ""


@dataclass
class Briefing:
    items: list[BriefingItem] = field(default_factory=list)
    not_tested: list[tuple[str, str]] = field(default_factory=list)  # (sentence, anchor or "")


@dataclass
class Index:
    """Findings of every section, by check id, with the anchor each is rendered at."""

    sections: list[Section]
    anchors: dict[int, str]

    def all(self, prefix: str = "", kind: Kind | None = None) -> list[Finding]:
        return [f for s in self.sections for f in s.findings
                if f.check.startswith(prefix) and (kind is None or f.kind is kind)]

    def first(self, check: str) -> Finding | None:
        found = self.all(check)
        return found[0] if found else None

    def anchor(self, f: Finding) -> str:
        return self.anchors.get(id(f), "")

    def item(self, question: str, sentence: str, f: Finding, chart: Markup | None = None) -> BriefingItem:
        return BriefingItem(question=question, sentence=sentence, target=self.anchor(f), finding=f, chart=chart)


def n(x: float | int | None) -> str:
    """A count or total for a sentence: rounded to an integer, with separators."""
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return "–"
    return f"{round(x):,}"


def and_join(parts: Sequence[str]) -> str:
    """"a, b and c" (in the report's language)."""
    parts = list(parts)
    if len(parts) < 2:
        return "".join(parts)
    return _("%(a)s and %(b)s") % {"a": ", ".join(parts[:-1]), "b": parts[-1]}


def pct(x: float | None, digits: int = 1) -> str:
    return "–" if x is None else f"{x * 100:.{digits}f}%".replace(".0%", "%")


def _stat(f: Finding, key: str, default: Any = None) -> Any:
    return f.statistics.get(key, default)


# -- rules: one per question -----------------------------------------------------------------------------------------
def _formula_chart(f: Finding) -> Markup | None:
    ref = [e for e in f.evidence if "reference_country" in e and isinstance(e.get("r2"), (int, float))]
    tested = _stat(f, "tested_r2")
    if not ref or not isinstance(tested, (int, float)):
        return None
    gaps = [max(1 - e["r2"], 1e-6) for e in ref]
    return svg.dot_strip(gaps, max(1 - tested, 1e-6), _("How closely the same curve fits: China and each country"),
                         _("1 − R² (log scale; further left = closer fit)"), _("China"),
                         _("best run of years in each of %(n)s countries") % {"n": len(ref)}, log_x=True,
                         labels=[f"{e['reference_country']} ({e['years']})" for e in ref],
                         desc=_("Dot strip of 1 − R² for %(n)s countries with China marked.") % {"n": len(ref)})


def _model_name(f: Finding) -> str:
    from organwatch.report.labels import MODELS

    return _(MODELS.get(str(_stat(f, "tested_model", "")), str(_stat(f, "tested_model", "curve"))))


def rule_formula(idx: Index) -> list[BriefingItem]:
    fits = [f for f in idx.all("stats.formula_conformance", Kind.TEST) if f.verdict is not Verdict.NOT_TESTABLE]
    if not fits:
        return []
    f = sorted(fits, key=lambda x: SEVERITY[x.verdict or Verdict.NOT_TESTABLE])[0]
    k, total = _stat(f, "countries_at_least_as_good"), _stat(f, "reference_countries")
    s = _("A %(model)s fitted to China's official deceased-donor figures for %(years)s has R² %(r2)s: "
          "%(k)s of %(n)s countries have a run of years that the same curve fits as closely.") % {
        "model": _model_name(f), "years": _stat(f, "years", f.subject), "r2": svg.fmt_num(_stat(f, "tested_r2"), 4),
        "k": k, "n": total}
    others = [x for x in fits if x is not f]
    if others:
        ok = sum(1 for x in others if x.verdict is Verdict.CONSISTENT)
        s += " " + _("Of the %(m)s other curves and year windows tried, %(ok)s fit no more closely than in "
                     "other countries.") % {"m": len(others), "ok": ok}
    return [idx.item(_("Do China's official donation figures behave like other countries'?"), s, f,
                     _formula_chart(f))]


def rule_repeats(idx: Index) -> list[BriefingItem]:
    f = idx.first("stats.repeated_values")
    if f is None or f.kind is not Kind.TEST or not _stat(f, "longest_run_years"):
        return []
    vintages = sorted({m.group(1) for k in f.statistics for m in [re.match(r"vintage_(\d{4})_runs$", k)] if m})
    runs = "; ".join(sorted({str(_stat(f, f"vintage_{v}_runs")) for v in vintages}))
    rate = max((_stat(f, f"vintage_{v}_reference_repeat_rate", 0) for v in vintages), default=0)
    s = _("In the WHO-ONT GODT downloads of %(vintages)s, China's figures stay identical from year to year within "
          "%(runs)s: a run of %(run)s identical years. In other countries %(rate)s of country-years repeat the year "
          "before.") % {"vintages": and_join(vintages), "runs": runs, "run": _stat(f, "longest_run_years"),
                        "rate": pct(rate)}
    return [idx.item(_("Are figures carried forward from year to year?"), s, f)]


def _ratio_name(f: Finding) -> str:
    """The ratio in words (translated for the checks the briefing knows, else from the finding's title)."""
    known = {"stats.ratio_constancy.kidney_liver": _("the ratio of deceased-donor kidney to liver transplants"),
             "stats.ratio_constancy.organs_per_donor": _("organs transplanted per deceased donor"),
             "stats.ratio_constancy.dcd_share": _("the share of donors after circulatory death")}
    if f.check in known:
        return known[f.check]
    t = re.sub(r"^Constancy of ", "", f.title)
    return re.sub(r"\s*\([A-Z]{3}\)$", "", t)


def rule_ratios(idx: Index) -> list[BriefingItem]:
    fs = [f for f in idx.all("stats.ratio_constancy", Kind.TEST) if f.verdict is not Verdict.NOT_TESTABLE]
    if not fs:
        return []
    parts = [_("%(name)s varies by %(cv)s (coefficient of variation), and %(k)s of %(n)s countries are at least "
               "as constant") % {"name": _ratio_name(f), "cv": svg.fmt_num(_stat(f, "cv"), 2),
                                 "k": _stat(f, "countries_as_constant_or_more"), "n": _stat(f, "reference_countries")}
             for f in fs]
    s = _("; ").join(parts) + _(".")
    return [idx.item(_("What do internal ratios show?"), s[:1].upper() + s[1:], fs[0])]


def rule_counters(idx: Index) -> list[BriefingItem]:
    f = idx.first("stats.counter_increments")
    if f is None or f.kind is not Kind.TEST or _stat(f, "increment_ratio_min") is None:
        return []
    s = _("Between %(k)s Red Cross counter snapshots (%(first)s to %(last)s) each added donor came with "
          "%(lo)s–%(hi)s organs; %(bad)s of the steps exceed the maximum of %(max)s organs per donor and %(dec)s "
          "go backwards.") % {
        "k": _stat(f, "snapshots"), "first": _stat(f, "first"), "last": _stat(f, "last"),
        "lo": svg.fmt_num(_stat(f, "increment_ratio_min"), 3), "hi": svg.fmt_num(_stat(f, "increment_ratio_max"), 3),
        "bad": _stat(f, "increments_above_physiological_max", 0), "max": n(_stat(f, "physiological_max")),
        "dec": _stat(f, "non_monotone_steps", 0)}
    return [idx.item(_("What do the running counters show?"), s, f)]


def rule_sums(idx: Index) -> list[BriefingItem]:
    t7 = idx.first("stats.cross_consistency.table7_2016")
    out: list[str] = []
    if t7 is not None and _stat(t7, "unexplained_remainder") is not None:
        out.append(_("For 2016 the Red Cross reports %(total)s organs, %(rem)s (%(share)s) more than the kidney, "
                     "liver, lung and heart counts of other official sources add up to; %(k)s of %(n)s countries "
                     "have at least that share of other organs.") % {
            "total": n(_stat(t7, "red_cross_all_organs_2016")), "rem": n(_stat(t7, "unexplained_remainder")),
            "share": pct(_stat(t7, "remainder_share_of_total")),
            "k": _stat(t7, "countries_other_share_at_least_as_large"), "n": _stat(t7, "reference_countries")})
    pt = idx.first("stats.cross_consistency.period_total")
    if pt is not None and _stat(pt, "stated_total") is not None:
        d = _stat(pt, "difference", 0) or 0
        out.append((_("The stated 2015–2019 donor total of %(total)s equals the sum of the annual figures.") if d == 0
                    else _("The stated 2015–2019 donor total of %(total)s differs from the sum of the annual figures "
                           "by %(d)s.")) % {"total": n(_stat(pt, "stated_total")), "d": n(d)})
    cs = idx.first("stats.cross_consistency.component_sum")
    if cs is not None and _stat(cs, "stated_total") is not None:
        out.append(_("The %(year)s total of %(total)s transplants differs by %(d)s from the sum of its own organ "
                     "counts.") % {"year": svg.fmt_year(_stat(cs, "year", "")), "total": n(_stat(cs, "stated_total")),
                                   "d": f"{_stat(cs, 'difference', 0):+,.0f}"})
    f = t7 or pt or cs
    if f is None or not out:
        return []
    return [idx.item(_("Do totals add up across datasets?"), " ".join(out), f)]


def rule_digits(idx: Index) -> list[BriefingItem]:
    first, last = idx.first("stats.digits.first"), idx.first("stats.digits.last")
    if first is None or first.kind is not Kind.TEST or first.verdict is Verdict.NOT_TESTABLE:
        return []
    s = _("First digits of %(n)s official annual counts give p = %(p)s against Benford's law") % {
        "n": _stat(first, "n"), "p": svg.fmt_num(_stat(first, "p_value_monte_carlo"), 2)}
    if last is not None and _stat(last, "p_value_monte_carlo") is not None:
        s += _(", last digits p = %(p)s against equal frequencies") % {
            "p": svg.fmt_num(_stat(last, "p_value_monte_carlo"), 2)}
    s += _("; digit tests are weak on short official series and say nothing about any single number.")
    return [idx.item(_("Do the digits look like counted numbers?"), s, first)]


def _volume_chart(cap: Finding, official: Sequence[float], published: Sequence[tuple[float, float]]) -> Markup:
    ranges = []
    if official:
        ranges.append({"label": _("official totals, as published"), "low": min(official), "high": max(official),
                       "color": "#548235"})
    if published:
        ranges.append({"label": _("published estimates"), "low": min(p[0] for p in published),
                       "high": max(p[1] for p in published), "color": "#bf9000"})
    ranges.append({"label": _("capacity model, 90% interval"), "low": _stat(cap, "p5"), "high": _stat(cap, "p95"),
                   "mid": _stat(cap, "median"), "color": "#1f4e79"})
    return svg.range_bar(ranges, _("Transplants per year: official totals, published estimates and the model"),
                         _("transplants per year (log scale)"),
                         desc=_("Range bars of official totals, published estimates and the model's interval."))


def rule_volume(idx: Index) -> list[BriefingItem]:
    cap = idx.first("volume.capacity_model")
    if cap is None or _stat(cap, "median") is None:
        return []
    vo = idx.first("volume.vs_official")
    official = [e["official"] for e in (vo.evidence if vo else []) if isinstance(e.get("official"), (int, float))]
    published = [(e["low"], e["high"]) for e in (vo.evidence if vo else [])
                 if isinstance(e.get("low"), (int, float)) and isinstance(e.get("high"), (int, float))]
    s = _("Under the assumptions of the '%(scenario)s' scenario, the hospitals in the registry could perform a "
          "median of %(median)s transplants a year (90%% interval %(p5)s–%(p95)s).") % {
        "scenario": cap.reference.get("scenario", ""), "median": n(_stat(cap, "median")), "p5": n(_stat(cap, "p5")),
        "p95": n(_stat(cap, "p95"))}
    if official:
        s += " " + _("Official totals are %(lo)s–%(hi)s a year") % {"lo": n(min(official)), "hi": n(max(official))}
        if published:
            s += _(", published estimates %(lo)s–%(hi)s") % {"lo": n(min(p[0] for p in published)),
                                                             "hi": n(max(p[1] for p in published))}
        s += "."
    sc = idx.first("volume.scenarios")
    meds = [v for k, v in (sc.statistics.items() if sc else []) if k.startswith("median[")]
    if len(meds) > 1:
        s += " " + _("Other scenario files give medians from %(lo)s to %(hi)s: the answer depends mostly on "
                     "assumptions about length of stay and the share of beds used for transplants.") % {
            "lo": n(min(meds)), "hi": n(max(meds))}
    s += " " + _("This is capacity, not an observed count.")
    return [idx.item(_("How many transplants could the listed hospitals perform?"), s, cap,
                     _volume_chart(cap, official, published))]


US_STATES = {
    "AL": "Alabama", "AK": "Alaska", "AZ": "Arizona", "AR": "Arkansas", "CA": "California", "CO": "Colorado",
    "CT": "Connecticut", "DE": "Delaware", "FL": "Florida", "GA": "Georgia", "HI": "Hawaii", "ID": "Idaho",
    "IL": "Illinois", "IN": "Indiana", "IA": "Iowa", "KS": "Kansas", "KY": "Kentucky", "LA": "Louisiana",
    "ME": "Maine", "MD": "Maryland", "MA": "Massachusetts", "MI": "Michigan", "MN": "Minnesota", "MS": "Mississippi",
    "MO": "Missouri", "MT": "Montana", "NE": "Nebraska", "NV": "Nevada", "NH": "New Hampshire", "NJ": "New Jersey",
    "NM": "New Mexico", "NY": "New York", "NC": "North Carolina", "ND": "North Dakota", "OH": "Ohio",
    "OK": "Oklahoma", "OR": "Oregon", "PA": "Pennsylvania", "RI": "Rhode Island", "SC": "South Carolina",
    "SD": "South Dakota", "TN": "Tennessee", "TX": "Texas", "UT": "Utah", "VT": "Vermont", "VA": "Virginia",
    "WA": "Washington", "WV": "West Virginia", "WI": "Wisconsin", "WY": "Wyoming",
}


COUNTRIES = {"US": "United States", "IL": "Israel", "TW": "Taiwan", "ES": "Spain", "IT": "Italy", "BE": "Belgium",
             "GB": "United Kingdom", "CA": "Canada", "AU": "Australia", "KR": "South Korea"}


def jurisdiction_name(code: str) -> str:
    """A jurisdiction code (``US-TX``, ``IL``) as a place name in the report's language; unknown codes unchanged."""
    if code.startswith("US-") and code[3:] in US_STATES:
        return _(US_STATES[code[3:]])
    return _(COUNTRIES[code]) if code in COUNTRIES else code


def bill_name(law_id: str) -> str:
    """``us-tx-sb1040-2023`` -> "SB 1040 (2023)"; other ids unchanged."""
    m = re.match(r"^[a-z]{2}(?:-[a-z]{2})?-([a-z]+)0*(\d+)-(\d{4})$", law_id)
    return f"{m.group(1).upper()} {m.group(2)} ({m.group(3)})" if m else law_id


def rule_laws(idx: Index) -> list[BriefingItem]:
    f = idx.first("claims.rules.registry_consistency")
    rows = [e for e in (f.evidence if f else []) if e.get("effective") and e.get("jurisdiction")]
    if f is None or not rows:
        return []
    rows = sorted(rows, key=lambda e: e["effective"])
    parts = []
    for e in rows:
        p = _("%(place)s (%(bill)s) from %(date)s") % {"place": jurisdiction_name(e["jurisdiction"]),
                                                       "bill": bill_name(str(e.get("law_id", ""))),
                                                       "date": format_date(e["effective"])}
        if e.get("effective_verified") is False:
            p += " " + _("(date not confirmed by the sources)")
        parts.append(p)
    s = _("%(k)s laws bar health insurers from paying for transplants performed in China or with organs from "
          "there: %(list)s.") % {"k": len(rows), "list": _("; ").join(parts)}
    reg = idx.first("claims.registry.instruments")
    if reg is not None and _stat(reg, "instruments"):
        s += " " + _("The legislation registry holds %(n)s instruments in %(j)s jurisdictions, %(ins)s of them on "
                     "insurance coverage.") % {"n": _stat(reg, "instruments"), "j": _stat(reg, "jurisdictions"),
                                               "ins": _stat(reg, "insurance_ban", 0)}
    return [idx.item(_("Which laws bar insurers from paying for transplants in China, and from when?"), s, f)]


def _first_sentence(text: str) -> str:
    text = plain_text(text).strip()
    m = re.match(r"(.+?[.。])(\s|$)", text)
    return m.group(1) if m else text


def generic_item(idx: Index, section: Section, question: str = "") -> list[BriefingItem]:
    """One item from a section's first finding that states a figure (title + first sentence of its explanation)."""
    for f in section.findings:
        sent = _first_sentence(f.explanation)
        if re.search(r"\d", sent) or re.search(r"\d", f.title):
            s = sent if re.search(r"\d", sent) else f"{f.title}: {sent}"
            return [idx.item(question or section.title, s, f)]
    return []


def rule_screen(idx: Index) -> list[BriefingItem]:
    sec = next((s for s in idx.sections if any(f.engine == "screen" for f in s.findings)), None)
    return generic_item(idx, sec, _("What did the literature screen find?")) if sec else []


def rule_review(idx: Index) -> list[BriefingItem]:
    sec = next((s for s in idx.sections if any(f.engine == "review" for f in s.findings)), None)
    return generic_item(idx, sec, _("What did the human review find?")) if sec else []


RULES: tuple[Callable[[Index], list[BriefingItem]], ...] = (
    rule_formula, rule_repeats, rule_ratios, rule_counters, rule_sums, rule_digits, rule_volume, rule_laws,
    rule_screen, rule_review,
)
COVERED_ENGINES = ("stats", "volume", "claims", "screen", "review")


# -- what could not be tested ----------------------------------------------------------------------------------------
def not_tested(idx: Index, reproductions_anchor: str = "") -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    for f in idx.all(kind=Kind.TEST):
        if f.verdict is Verdict.NOT_TESTABLE:
            why = f.not_tested[0] if f.not_tested else _first_sentence(f.explanation)
            out.append((f"{f.title}: {plain_text(why)}", idx.anchor(f)))
    reps = idx.all(kind=Kind.REPRODUCTION)
    missing = [f for f in reps if f.status is Status.NOT_REPRODUCIBLE]
    if missing:
        out.append((_("%(k)s of %(n)s published results could not be recomputed because their inputs were not "
                      "recovered; the table of published results names the missing input for each.")
                    % {"k": len(missing), "n": len(reps)}, reproductions_anchor))
    for s in idx.sections:
        out += [(plain_text(x), s.id) for x in s.not_tested[:2]]
    return out


def build(sections: list[Section], anchors: dict[int, str], hooks: dict[str, Any] | None = None,
          reproductions_anchor: str = "") -> Briefing:
    """The briefing for ``sections``; ``hooks`` maps section id to an optional ``briefing_items`` callable."""
    idx = Index(sections, anchors)
    items: list[BriefingItem] = []
    for rule in RULES:
        items += rule(idx)
    for s in sections:
        hook = (hooks or {}).get(s.id)
        if hook is not None:
            items += [BriefingItem(question=q, sentence=t, target=a, finding=f, chart=c)
                      for q, t, a, f, c in _hook_items(hook, s, idx)]
        elif not any(f.engine in COVERED_ENGINES for f in s.findings):
            items += generic_item(idx, s)
    return Briefing(items=items, not_tested=not_tested(idx, reproductions_anchor))


def _hook_items(hook: Callable[[Section], Any], s: Section, idx: Index) -> list[tuple]:
    """A provider's ``briefing_items(section)`` returns (question, sentence, finding[, chart]) tuples."""
    out = []
    for it in hook(s) or []:
        q, t, f, *rest = it
        out.append((q, t, idx.anchor(f), f, rest[0] if rest else None))
    return out
