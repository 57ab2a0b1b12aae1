"""The Finding model round-trips through JSON."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from organwatch.findings import Finding, InputRef, Kind, Provenance, Status, Verdict, dump_findings, load_findings

json_scalars = st.none() | st.booleans() | st.integers(-10**9, 10**9) | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=20)
json_values = st.recursive(json_scalars, lambda c: st.lists(c, max_size=4) | st.dictionaries(st.text(max_size=8), c, max_size=4), max_leaves=10)

kinds = st.one_of(
    st.tuples(st.just(Kind.TEST), st.sampled_from(list(Verdict)), st.none()),
    st.tuples(st.just(Kind.REPRODUCTION), st.none(), st.sampled_from(list(Status))),
    st.tuples(st.just(Kind.DESCRIPTIVE), st.none(), st.none()),
)


def _finding(kvs, statistics, **kw):
    kind, verdict, status = kvs
    if kind is Kind.REPRODUCTION:
        statistics = {**statistics, "published": 1, "computed": None, "reason": "x"}
    return Finding(kind=kind, verdict=verdict, status=status, statistics=statistics, **kw)


findings = st.builds(
    _finding, kinds, st.dictionaries(st.text(max_size=10), json_values, max_size=5),
    check=st.text(min_size=1, max_size=30), subject=st.text(max_size=40),
    reference=st.dictionaries(st.text(max_size=10), json_values, max_size=3), explanation=st.text(max_size=80),
    evidence=st.lists(st.dictionaries(st.text(max_size=8), json_values, max_size=3), max_size=3),
    provenance=st.builds(Provenance, inputs=st.lists(st.builds(InputRef, name=st.text(max_size=10),
                                                               sha256=st.text("0123456789abcdef", min_size=64, max_size=64)), max_size=2),
                         parameters=st.dictionaries(st.text(max_size=8), json_values, max_size=3),
                         seed=st.none() | st.integers(0, 2**32)),
    title=st.text(max_size=20), engine=st.sampled_from(["stats", "screen", "volume"]))


@settings(max_examples=80, deadline=None, derandomize=True)
@given(findings)
def test_json_round_trip(f):
    assert Finding.from_json(f.to_json()) == f
    assert Finding.from_dict(f.to_dict()) == f


def test_dump_and_load(tmp_path):
    f = Finding(check="x", subject="y", kind="test", verdict="unusual", statistics={"n": 3})
    p = tmp_path / "f.json"
    dump_findings([f], p)
    assert load_findings(p) == [f]
    assert dump_findings([f]) == dump_findings([f])  # byte-stable


def test_kind_rules_are_enforced():
    with pytest.raises(ValueError, match="needs a verdict"):
        Finding(check="x", subject="y", kind="test")
    with pytest.raises(ValueError, match="neither verdict nor status"):
        Finding(check="x", subject="y", kind="descriptive", verdict="consistent")
    with pytest.raises(ValueError, match="needs a status"):
        Finding(check="x", subject="y", kind="reproduction", verdict="consistent")
    with pytest.raises(ValueError, match="statistics"):
        Finding(check="x", subject="y", kind="reproduction", status="differs")


def test_findings_written_before_kinds_still_load():
    """organwatch 0.1.0 wrote no kind and graded everything: graded findings load as tests, not_testable ones
    as descriptive (nothing says a test was attempted)."""
    old = {"check": "stats.x", "subject": "s", "verdict": "unusual", "statistics": {}, "reference": {},
           "explanation": "", "evidence": [], "provenance": {"inputs": [], "parameters": {}, "version": "0.1.0",
                                                             "seed": None},
           "title": "", "engine": "stats", "sources": [], "not_tested": []}
    f = Finding.from_dict(old)
    assert f.kind is Kind.TEST and f.verdict is Verdict.UNUSUAL
    g = Finding.from_dict({**old, "verdict": "not_testable"})
    assert g.kind is Kind.DESCRIPTIVE and g.verdict is None
