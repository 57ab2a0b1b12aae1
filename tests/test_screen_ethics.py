"""Ethics-reporting fields: ConText-style negation of every field (zh + en), applicability of the standard
(research reporting organ-transplant outcomes, scope in or about China, configurable), the report's
Table 3-shaped summary with denominators (descriptive, never graded)."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from organwatch.findings import Kind
from organwatch.screen import report_section
from organwatch.screen.documents import Document, compose_text
from organwatch.screen.engine import ScreenOptions, screen_chunk
from organwatch.screen.ethics import ethics_fields
from organwatch.screen.rulepack import compile_pack, load_pack

DATA = Path(__file__).parent / "data" / "screen"
ITEMS = [json.loads(x) for x in (DATA / "ethics_dev.jsonl").read_text("utf-8").splitlines() if x.strip()]
FIELDS = ("donor_source", "no_prisoner_statement", "donor_consent", "ethics_approval", "death_determination")


def _screen(items: list[dict]) -> list[dict]:
    docs = [Document(it["id"], "f", i, compose_text(it.get("title", ""), it["text"]), title=it.get("title", ""),
                     language=it["language"]) for i, it in enumerate(items)]
    return screen_chunk(docs, ScreenOptions())


def _got(e: dict) -> dict:
    return {"donor_source": bool(e["donor_source"]), "no_prisoner_statement": e["no_prisoner_statement"],
            "donor_consent": e["donor_consent"], "ethics_approval": e["ethics_approval"],
            "death_determination": bool(e["death_determination"]), "standard_applies": e["standard_applies"]}


@pytest.fixture(scope="module")
def results() -> list[tuple[dict, dict]]:
    return list(zip(ITEMS, [_got(r["ethics"]) for r in _screen(ITEMS)], strict=True))


def test_every_field_has_negated_and_affirmed_cases_in_both_languages():
    n = Counter((it["language"], k, v) for it in ITEMS for k, v in it["expect"].items())
    for lang in ("zh", "en"):
        for field in FIELDS:
            assert n[(lang, field, True)] >= 1 and n[(lang, field, False)] >= 1, (lang, field)
        assert n[(lang, "standard_applies", True)] >= 5 and n[(lang, "standard_applies", False)] >= 8


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_negated_and_affirmed_statements(results, lang):
    wrong = [(it["id"], k, v, got[k]) for it, got in results if it["language"] == lang and it["class"] == 9
             for k, v in it["expect"].items() if got[k] != v]
    assert not wrong


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_applicability_of_the_standard(results, lang):
    wrong = [(it["id"], it["expect"], got["standard_applies"]) for it, got in results
             if it["language"] == lang and it["class"] == 10 and got["standard_applies"] != it["expect"]["standard_applies"]]
    assert not wrong


def test_issue_example_negation_and_evidence():
    t = ("The report does not state the source of the organ, whether consent was obtained, or whether an ethics "
         "committee approved the liver transplantation in 40 recipients.")
    e = _screen([{"id": "x", "text": t, "language": "en"}])[0]["ethics"]
    assert not e["ethics_approval"] and not e["donor_consent"] and e["donor_source"] == []
    assert "ethics_approval" in e["negated"] and "ethics_approval" in e["missing"]
    assert e["standard_applies"] is False and e["fails_standard"] is None  # no China cue: outside the scope
    assert any(ev["negated"] for ev in e["evidence"]) or not e["evidence"]


def test_termination_term_ends_the_negation_scope():
    e = _screen([{"id": "x", "text": "未说明供体来源，但经伦理委员会批准。", "language": "zh"},
                 {"id": "y", "text": "Donor consent was not reported, but the ethics committee approved the study.",
                  "language": "en"}])
    assert e[0]["ethics"]["ethics_approval"] and e[1]["ethics"]["ethics_approval"]
    assert not e[1]["ethics"]["donor_consent"] and "donor_consent" in e[1]["ethics"]["negated"]


def test_fails_standard_only_where_it_applies():
    inside = ("2016年至2018年本中心完成肝移植60例，供肝均来自公民自愿捐献，本研究经伦理委员会批准。", "肝移植60例")
    outside = ("血小板输注无效患者的临床分析，共纳入200例。", "血小板输注无效")
    recs = _screen([{"id": "a", "text": inside[0], "title": inside[1], "language": "zh"},
                    {"id": "b", "text": outside[0], "title": outside[1], "language": "zh"}])
    a, b = recs[0]["ethics"], recs[1]["ethics"]
    assert a["standard_applies"] and a["fails_standard"] is True and "donor_consent" in a["missing"]
    assert b["standard_applies"] is False and b["fails_standard"] is None
    assert b["applicability"] == "no organ transplantation named"


def test_scope_is_configurable_in_the_pack():
    import tomllib
    from importlib import resources

    raw = resources.files("organwatch.screen").joinpath("rules/ddr_default.toml").read_text("utf-8")
    doc = tomllib.loads(raw)
    doc["ethics"]["scope"] = "all"
    pack_all = compile_pack(doc, "<all>")
    pack_cn = load_pack()
    t = "We report kidney transplantation outcomes in 300 recipients in Ohio, USA, with 5-year follow-up."
    from organwatch.screen.engine import _components

    _, matcher, _ = _components("ddr_default", "hyperscan")
    m = matcher.match([t])[0]
    assert ethics_fields(m.norm, m.events, 2019, pack=pack_cn, lang="en")["standard_applies"] is False
    assert ethics_fields(m.norm, m.events, 2019, pack=pack_all, lang="en")["standard_applies"] is True
    doc["ethics"]["scope"] = "mars"
    with pytest.raises(Exception, match="scope"):
        compile_pack(doc, "<bad>")
    doc["ethics"]["scope"] = "all"
    doc["ethics"]["widow"] = 3
    with pytest.raises(Exception, match="unknown key 'widow'"):
        compile_pack(doc, "<bad>")


def test_report_table3_summary_is_descriptive_with_denominators(tmp_path):
    recs = _screen(ITEMS)
    path = tmp_path / "r.jsonl"
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in recs), "utf-8")
    sec = report_section.build_section(None, [path])
    f = sec.items[1].finding
    assert f.kind is Kind.DESCRIPTIVE and f.verdict is None
    st = f.statistics
    # counted by hand from ethics_dev.jsonl: 7 zh + 6 en class-10 cases are transplant-outcome research in scope
    assert st["standard_applies"] == 13 and st["documents_with_ethics_fields"] == len(ITEMS)
    assert f"applies to 13 of the {len(ITEMS)}" in f.explanation
    html = str(sec.items[1].table_html)
    for label in ("Donor source reported", "no organs from executed prisoners", "Donor or family consent",
                  "Ethics committee approval"):
        assert label in html
    assert "100 % fail" not in f.explanation and "unusual" not in f.explanation
