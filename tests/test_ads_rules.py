"""The ads rule pack: every cue rule and every expression family has an example and a counter-example that
the engine must honour; pack validation rejects bad data."""

from __future__ import annotations

import pytest

from organwatch.ads.extract import Extractor, canonical_organ
from organwatch.ads.rules import load_pack
from organwatch.errors import InputError

PACK = load_pack()
EX = Extractor(PACK)


def claims(text: str, lang: str = "zh-Hans") -> list[dict]:
    out = []
    for c in EX.claims(text, lang)[0]:
        out.append({"organ": canonical_organ(c.organ), "wait_min": c.wait.lo if c.wait else None,
                    "wait_max": c.wait.hi if c.wait else None, "vague": bool(c.wait and c.wait.vague),
                    "price_min": c.price.lo if c.price else None, "price_max": c.price.hi if c.price else None,
                    "currency": c.price.currency if c.price else None})
    return out


def hit_rules(text: str) -> set[str]:
    nt = EX.normalise(text)
    return {h.rule for h in EX.cue_hits(nt)}


@pytest.mark.parametrize("rule", PACK.cues.rules, ids=lambda r: r.id)
def test_cue_rule_example_and_counter_example(rule):
    assert rule.example and rule.counter_example
    assert rule.id in hit_rules(rule.example), rule.example
    assert rule.id not in hit_rules(rule.counter_example), rule.counter_example


@pytest.mark.parametrize("rule", PACK.grammar_rules, ids=lambda r: r.id)
def test_grammar_rule_example_gives_exactly_the_claim(rule):
    lang = "ja" if rule.lang == "ja" else rule.lang
    got = claims(rule.example, lang)
    want = {"organ": None, "wait_min": None, "wait_max": None, "vague": False, "price_min": None,
            "price_max": None, "currency": None}
    want.update(rule.expect)
    assert got == [want], rule.example


@pytest.mark.parametrize("rule", PACK.grammar_rules, ids=lambda r: r.id)
def test_grammar_rule_counter_example_gives_no_claim(rule):
    assert claims(rule.counter_example, rule.lang) == [], rule.counter_example


def test_every_family_of_the_issue_is_covered():
    ids = {r.id for r in PACK.grammar_rules}
    for needed in ("wait.range", "wait.within", "wait.half_month", "wait.vague", "wait.cjk_numeral_range",
                   "price.usd_range", "price.wan_yuan", "price.yen", "price.krw_man"):
        assert needed in ids
    langs = {r.lang for r in PACK.grammar_rules}
    assert {"zh", "zh-Hant", "en", "ja", "ko"} <= langs


def _pack_text(replace: tuple[str, str]) -> str:
    from importlib import resources

    text = resources.files("organwatch.ads").joinpath("rules/ads_default.toml").read_text("utf-8")
    assert replace[0] in text
    return text.replace(replace[0], replace[1], 1)


@pytest.mark.parametrize("bad", [
    ('["us$", "USD"]', '["us$", "usd"]'),  # not an ISO 4217 code
    ('["天", 1]', '["天", 0]'),  # a unit without days
    ('["十天半个月", 10, 15]', '["十天半个月", 15, 10]'),  # min above max
])
def test_pack_validation_rejects_bad_grammar(tmp_path, bad):
    p = tmp_path / "bad.toml"
    p.write_text(_pack_text(bad), encoding="utf-8")
    with pytest.raises(InputError):
        load_pack(str(p))


def test_pack_rule_without_counter_example_is_rejected(tmp_path):
    p = tmp_path / "bad.toml"
    p.write_text(_pack_text(('counter_example = "本院心脏中心提供咨询"\n', "")), encoding="utf-8")
    with pytest.raises(InputError, match="counter_example"):
        load_pack(str(p))
