"""The Finding model round-trips through JSON."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from organwatch.findings import Finding, InputRef, Provenance, Verdict, dump_findings, load_findings

json_scalars = st.none() | st.booleans() | st.integers(-10**9, 10**9) | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=20)
json_values = st.recursive(json_scalars, lambda c: st.lists(c, max_size=4) | st.dictionaries(st.text(max_size=8), c, max_size=4), max_leaves=10)

findings = st.builds(
    Finding, check=st.text(min_size=1, max_size=30), subject=st.text(max_size=40),
    verdict=st.sampled_from(list(Verdict)), statistics=st.dictionaries(st.text(max_size=10), json_values, max_size=5),
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
    f = Finding(check="x", subject="y", verdict="unusual", statistics={"n": 3})
    p = tmp_path / "f.json"
    dump_findings([f], p)
    assert load_findings(p) == [f]
    assert dump_findings([f]) == dump_findings([f])  # byte-stable
