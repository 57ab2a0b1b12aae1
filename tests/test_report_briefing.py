"""The briefing's rules, one by one, on hand-made findings: figures in sentences, links, kinds, absent sections."""

from __future__ import annotations

import re

from organwatch.findings import Finding, Kind, Status, Verdict
from organwatch.report import briefing, labels
from organwatch.report.sections import ReportItem, Section


def _sec(sid, *fs):
    return Section(id=sid, title=sid.title(), items=[ReportItem(finding=f) for f in fs])


def _anchors(*secs):
    return {id(it.finding): f"f-{s.id}-{i}" for s in secs for i, it in enumerate(s.items, 1)}


def formula(verdict="unusual", k=0, n=73):
    return Finding(check="stats.formula_conformance.one_param", subject="China donors", kind=Kind.TEST,
                   verdict=verdict, title="Fit", statistics={"tested_model": "one_param", "tested_r2": 0.9971,
                                                             "countries_at_least_as_good": k, "reference_countries": n,
                                                             "years": "2010, 2015–2018"},
                   reference={"n_countries": n},
                   evidence=[{"reference_country": f"C{i:02d}", "r2": 0.5 + i / 200, "years": "2015–2019"}
                             for i in range(n)])


def capacity():
    return Finding(check="volume.capacity_model", subject="hospitals", kind=Kind.DESCRIPTIVE, title="Capacity",
                   statistics={"median": 182575.8, "p5": 49578.2, "p95": 659813.4}, reference={"scenario": "default"})


def vs_official():
    return Finding(check="volume.vs_official", subject="official", kind=Kind.DESCRIPTIVE, title="vs official",
                   evidence=[{"year": 2007, "official": 10000.0}, {"year": 2022, "official": 20229.0},
                             {"estimate_row": "E0001", "low": 60000, "high": 100000}])


def laws():
    return Finding(check="claims.rules.registry_consistency", subject="rules", kind=Kind.DESCRIPTIVE, title="Rules",
                   evidence=[{"jurisdiction": "US-TX", "law_id": "us-tx-sb1040-2023", "effective": "2023-09-01",
                              "effective_verified": True},
                             {"jurisdiction": "US-AZ", "law_id": "us-az-hb2109-2025", "effective": "2025-09-26",
                              "effective_verified": False}])


def test_each_item_has_a_figure_and_links_to_its_finding():
    stats, vol, claims = _sec("stats", formula()), _sec("volume", capacity(), vs_official()), _sec("compliance", laws())
    b = briefing.build([stats, vol, claims], _anchors(stats, vol, claims))
    assert [i.target for i in b.items] == ["f-stats-1", "f-volume-1", "f-compliance-1"]
    for it in b.items:
        assert re.search(r"\d", it.sentence) and it.question
    f, v, law = b.items
    assert "0 of 73 countries" in f.sentence and "R² 0.9971" in f.sentence
    assert f.verdict == "unusual" and f.chart is not None and "data-points=\"74\"" in f.chart
    assert "182,576" in v.sentence and "10,000–20,229" in v.sentence and "60,000–100,000" in v.sentence
    assert v.verdict == ""  # descriptive: no grade
    assert "Texas (SB 1040 (2023)) from 1 September 2023" in law.sentence
    assert "Arizona" in law.sentence and "not confirmed" in law.sentence
    assert law.sentence.index("Texas") < law.sentence.index("Arizona")  # by date in force


def test_absent_sections_contribute_nothing():
    assert briefing.build([], {}).items == []
    vol = _sec("volume", capacity())
    items = briefing.build([vol], _anchors(vol)).items
    assert len(items) == 1 and "Official totals" not in items[0].sentence


def test_not_testable_and_not_reproducible_are_listed_with_reasons():
    nt = Finding(check="stats.formula_conformance.quadratic", subject="s", kind=Kind.TEST, verdict=Verdict.NOT_TESTABLE,
                 title="Fit 2010–2017", not_tested=["the series has 4 points, fewer than the minimum of 5"])
    rep = [Finding(check="stats.published_result", subject="r", kind=Kind.REPRODUCTION, status=st, title="r",
                   statistics={"published": None, "computed": None, "reason": "input not recovered"})
           for st in (Status.NOT_REPRODUCIBLE, Status.NOT_REPRODUCIBLE, Status.REPRODUCED)]
    s = _sec("stats", nt, *rep)
    s.not_tested = ["GODT 2018–2019 not embedded (spec §4.9)."]
    b = briefing.build([s], _anchors(s), reproductions_anchor="stats-reproductions")
    texts = [t for t, _ in b.not_tested]
    assert "Fit 2010–2017: the series has 4 points, fewer than the minimum of 5" in texts
    assert any(t.startswith("2 of 3 published results could not be recomputed") for t in texts)
    assert "GODT 2018–2019 not embedded." in texts  # spec references the reader does not have are dropped
    assert ("2 of 3" in texts[1]) and b.not_tested[1][1] == "stats-reproductions"


def test_other_sections_use_their_hook_or_a_generic_item():
    other = Finding(check="ads.claims", subject="pages", kind=Kind.DESCRIPTIVE, title="Adverts", engine="ads",
                    explanation="12 pages advertise waits of under 2 weeks. More text.")
    s = _sec("ads", other)
    (it,) = briefing.build([s], _anchors(s)).items
    assert it.sentence == "12 pages advertise waits of under 2 weeks." and it.target == "f-ads-1"

    def hook(section):
        return [("What do adverts promise?", "3 sites promise a kidney within 14 days.", section.findings[0])]

    (it,) = briefing.build([s], _anchors(s), hooks={"ads": hook}).items
    assert it.question == "What do adverts promise?" and it.target == "f-ads-1"


def test_statistic_labels_are_words():
    for key in ("r2_one_param", "one_minus_r2_quadratic", "p_model_exceeds_official", "variance_share[length_of_stay]",
                "leave_last_1_out_one_param_max_abs_rel_error", "vintage_2016_reference_repeat_rate", "dd_kidney_tx"):
        label = labels.stat_label(key)
        assert "_" not in label, (key, label)
    assert labels.stat_label("r2_one_param") == "R² of the one-parameter quadratic"
    assert labels.stat_value("r2_exponential", -0.2205) == "-0.2205 (fits worse than a flat line)"
    assert labels.stat_value("year", 2009) == "2009" and labels.stat_value("years_compared", 3) == "3"
    assert labels.stat_value("p_run_at_reference_rate", 3.11906e-06) == "0.000003119"
    assert labels.plain_text("rate ≈ 3.1e-06 (spec §7.3)") == "rate ≈ 0.0000031"
    assert labels.plain_text("the drug-market constraint of spec §7.3 is") == "the drug-market constraint is"
