"""Scenario files: traceability of every default input, packaged critic/advocate files, malformed files."""

from __future__ import annotations

from pathlib import Path

import pytest

from organwatch import datasets
from organwatch.errors import InputError, UsageError
from organwatch.volume import model, scenario


def _all_row_ids() -> set[str]:
    ids = set()
    for ds in scenario.ROW_DATASETS.values():
        ids |= set(datasets.load(ds).frame["record_id"].astype(str))
    return ids


@pytest.mark.parametrize("name", ["default", "critic", "advocate"])
def test_every_input_is_traceable_to_rows_or_named_assumptions(name):
    s = scenario.load(name)
    ids = _all_row_ids()
    for p in s.parameters.values():
        assert p.rows or p.assumption, p.name
        assert set(p.rows) <= ids
        if p.assumption:
            assert p.assumption in s.assumptions and s.assumptions[p.assumption]["text"]
    assert s.bed_assumption in s.assumptions
    assert s.imputation_assumption in s.assumptions
    assert s.donors_assumption in s.assumptions
    assert set(s.imputation_count_rows) <= ids and s.imputation_count_rows
    assert set(s.organs_per_donor_rows + s.living_donor_share_rows) <= ids
    for h in model.hospital_inputs(s):
        assert h.bed_rows and set(h.bed_rows) <= ids
        assert set(h.occupancy_rows) <= ids


def test_default_ranges_match_the_cited_rows():
    s = scenario.load()
    p = datasets.load("volume_published_parameters").frame.set_index("record_id")
    los = s.parameters["length_of_stay"].dist.params
    assert los["low"] == p.loc["P0003", "value_low"] == 7
    assert los["high"] == p.loc["P0002", "value_high"] == 60
    occ = s.parameters["occupancy"].dist.params
    assert occ["low"] * 100 == pytest.approx(p.loc["P0012", "value_low"])
    assert occ["high"] * 100 == pytest.approx(p.loc["P0010", "value_high"])
    n = datasets.load("volume_national_totals").frame.set_index("record_id")
    assert s.organs_per_donor.params["values"][0] == pytest.approx(n.loc["N0039", "value"] / n.loc["N0038", "value"],
                                                                   abs=1e-4)
    assert s.organs_per_donor.params["values"][1] == p.loc["P0026", "value_low"]
    assert s.living_donor_share.params["value"] * 100 == pytest.approx(n.loc["N0072", "value"])


def test_critic_and_advocate_differ_from_default_only_where_they_say(tmp_path: Path):
    d, c, a = scenario.load(), scenario.load("critic"), scenario.load("advocate")
    assert c.parameters["share"].dist.params["high"] <= 0.5 < a.parameters["share"].dist.params["low"]
    assert c.bed_conflicts == "min" and a.bed_conflicts == "max"
    assert a.imputation_count_rows == d.imputation_count_rows == ["L0019"]
    assert c.calibration["reporting_bias"] > 0 > a.calibration["reporting_bias"]
    assert c.draws == d.draws  # not overridden -> inherited
    # a user file changes one parameter, inherits the rest
    f = tmp_path / "mine.toml"
    f.write_text('[scenario]\nname = "mine"\n[parameters.length_of_stay]\ndist = "uniform"\nlow = 10\nhigh = 12\n'
                 'assumption = "M1"\n[[assumptions]]\nid = "M1"\nname = "my stay"\ntext = "ten to twelve days"\n',
                 encoding="utf-8")
    m = scenario.load(str(f))
    assert m.name == "mine" and m.parameters["length_of_stay"].dist.params == {"low": 10.0, "high": 12.0}
    assert m.parameters["length_of_stay"].rows == [] and m.parameters["length_of_stay"].assumption == "M1"
    assert m.parameters["share"].dist == d.parameters["share"].dist
    assert m.source == str(f) and len(m.sha256) == 64


@pytest.mark.parametrize("text,needle", [
    ("[scenario\nname = 1\n", "line 1"),
    ("[parameters.share]\ndist = \"uniform\"\nlow = 0.5\nhigh = 1.5\n", "must be <= 1"),
    ("[parameters.length_of_stay]\ndist = \"fixed\"\nvalue = 0\n", "must be > 0"),
    ("[parameters.occupancy]\ndist = \"uniform\"\nlow = 90\nhigh = 131\n", "fraction"),
    ("[parameters.share]\ndist = \"gamma\"\n", "unknown distribution"),
    ("[parameters.share]\ndist = \"uniform\"\nlow = 0.9\nhigh = 0.2\n", "must not exceed"),
    ("[parameters.share]\ndist = \"uniform\"\nlow = \"a\"\nhigh = 1\n", "must be a number"),
    ("[parameters.share]\ndist = \"uniform\"\nlow = 0.2\nhigh = 1\nrows = [\"P9999\"]\n", "not in the embedded"),
    ("[parameters.share]\ndist = \"uniform\"\nlow = 0.2\nhigh = 1\nassumption = \"Z9\"\n", "not defined"),
    ("[bogus]\nx = 1\n", "unknown section"),
    ("[beds]\nconflicts = \"average\"\n", "conflicts"),
    ("[beds]\nmetrics = [\"parking_spaces\"]\n", "metrics"),
    ("[scenario]\ndraws = -3\n", "draws"),
    ("[imputation]\nhospital_count_rows = [\"N0001\"]\n", "L rows"),
    ("[parameters]\nshare = 3\n", "must be a table"),
])
def test_malformed_scenarios_are_one_line_input_errors(tmp_path: Path, text, needle):
    f = tmp_path / "bad.toml"
    f.write_text(text, encoding="utf-8")
    with pytest.raises(InputError) as e:
        scenario.load(str(f))
    msg = str(e.value)
    assert needle in msg and "\n" not in msg and str(f) in msg


def test_unknown_scenario_and_binary_file(tmp_path: Path):
    with pytest.raises(UsageError):
        scenario.load("no-such-scenario")
    b = tmp_path / "bin.toml"
    b.write_bytes(b"\xff\xfe\x00junk")
    with pytest.raises(InputError, match="UTF-8"):
        scenario.load(str(b))


from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

_VALUES = st.one_of(st.integers(-10**6, 10**6), st.floats(allow_nan=True, allow_infinity=True), st.booleans(),
                    st.text(max_size=8), st.lists(st.integers(-5, 5), max_size=3))
_KEYS = st.sampled_from(["dist", "low", "high", "value", "values", "rows", "assumption", "across_hospitals",
                         "hospital_figures", "conflicts", "metrics", "draws", "seed", "year", "grid", "noise_sd",
                         "method", "bed_scale", "hospital_count_rows", "organs_per_donor", "x"])
_SECTIONS = st.sampled_from(["scenario", "beds", "parameters.share", "parameters.length_of_stay",
                             "parameters.occupancy", "imputation", "calibration", "donors", "junk"])


def _toml_value(v) -> str:
    import json as _json
    import math as _math

    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float):
        return "nan" if _math.isnan(v) else ("inf" if v > 0 else "-inf") if _math.isinf(v) else repr(v)
    if isinstance(v, (int, list)):
        return _json.dumps(v)
    return _json.dumps(v, ensure_ascii=True)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(_SECTIONS, st.lists(st.tuples(_KEYS, _VALUES), max_size=4, unique_by=lambda kv: kv[0])),
                max_size=3, unique_by=lambda s: s[0]))
def test_fuzzed_scenarios_load_or_fail_with_one_line(tmp_path_factory, sections):
    text = "".join(f"[{name}]\n" + "".join(f"{k} = {_toml_value(v)}\n" for k, v in kvs) for name, kvs in sections)
    f = tmp_path_factory.mktemp("fuzz") / "s.toml"
    f.write_text(text, encoding="utf-8")
    try:
        s = scenario.load(str(f))
    except InputError as e:  # UsageError is a subclass
        assert "\n" not in str(e)
        return
    for p in s.parameters.values():  # whatever loaded is valid
        for x in p.dist.support_points():
            scenario.PARAM_BOUNDS[p.name].check(x, p.name)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.text(max_size=200))
def test_arbitrary_text_never_crashes_the_loader(tmp_path_factory, text):
    f = tmp_path_factory.mktemp("fuzz") / "t.toml"
    f.write_text(text, encoding="utf-8")
    try:
        scenario.load(str(f))
    except InputError as e:
        assert "\n" not in str(e)


@pytest.mark.parametrize("text", ["[parameters.share]\ndist = []\n", "[beds]\nmetrics = [[1]]\n",
                                  "[parameters.share]\ndist = {a = 1}\n", "[imputation]\nbed_scale = [1, 2]\n"])
def test_type_confusion_found_by_fuzzing(tmp_path: Path, text):
    f = tmp_path / "t.toml"
    f.write_text(text, encoding="utf-8")
    with pytest.raises(InputError):
        scenario.load(str(f))
