"""Volume model: the worked example, the identity, reproducibility, imputation and sensitivity."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from organwatch.errors import UsageError
from organwatch.volume import estimate, model, scenario, sensitivity
from organwatch.volume.distributions import Dist, parse_spec
from organwatch.volume.scenario import PARAM_BOUNDS


def _tianjin_special_case(draws: int = 500):
    s = scenario.load()
    return scenario.with_overrides(
        s, draws=draws, seed=1, hospitals=["tianjin-first-central-hospital"],
        beds=parse_spec("500", "--beds", PARAM_BOUNDS["beds"]),
        occupancy=parse_spec("1.31", "--occupancy", PARAM_BOUNDS["occupancy"]),
        length_of_stay=parse_spec("30", "--los", PARAM_BOUNDS["length_of_stay"]),
        share=parse_spec("1", "--share", PARAM_BOUNDS["share"]))


def test_worked_example_identity_is_exact():
    assert model.capacity(500, 1.31, 30) == pytest.approx(500 * 1.31 * 365 / 30)
    assert round(model.capacity(500, 1.31, 30)) == 7969


def test_worked_example_from_embedded_rows():
    w = estimate.worked_example()
    assert (w["beds"], w["occupancy"], w["length_of_stay"]) == (500, 1.31, 30)
    assert w["result_rounded"] == 7969
    assert w["published"] == 8000  # H0021, "could do 8,000"
    assert w["rows"] == ["H0018", "H0019", "H0020", "H0021"]


def test_worked_example_is_a_deterministic_special_case_of_the_monte_carlo():
    r = estimate.run(_tianjin_special_case(), with_calibration=False)
    for k in ("median", "p2_5", "p5", "p25", "p75", "p95", "p97_5"):
        assert round(r[k]) == 7969, k
        assert r[k] == pytest.approx(7969.1666666, rel=1e-9)
    assert r["imputation"]["imputed_hospitals"] == 0
    assert [h["hospital_id"] for h in r["by_hospital"]] == ["tianjin-first-central-hospital"]


def test_tianjin_sensitivity_table_of_the_spec():
    # spec §3.1 compiler arithmetic: B x u x 365 / L
    assert round(model.capacity(500, 0.90, 7)) == 23464
    assert round(model.capacity(700, 1.311, 20)) == 16748
    assert round(model.capacity(500, 0.90, 60)) == 2738


@pytest.mark.parametrize("kw", [dict(beds=-5, occupancy=1, length_of_stay=30), dict(beds=5, occupancy=1,
                                length_of_stay=0), dict(beds=5, occupancy=1, length_of_stay=30, share=1.2)])
def test_capacity_rejects_invalid(kw):
    with pytest.raises(UsageError):
        model.capacity(**kw)


def test_bit_reproducible_and_seed_sensitive():
    s = scenario.with_overrides(scenario.load(), draws=3000)
    a = estimate.to_json(estimate.run(s, with_calibration=False))
    b = estimate.to_json(estimate.run(s, with_calibration=False))
    assert a == b
    c = estimate.to_json(estimate.run(scenario.with_overrides(s, seed=s.seed + 1), with_calibration=False))
    assert json.loads(c)["median"] != json.loads(a)["median"]
    assert json.loads(a)["seed"] == s.seed and json.loads(a)["draws"] == 3000


def test_named_streams_do_not_depend_on_other_parameters():
    s = scenario.with_overrides(scenario.load(), draws=2000, share=Dist("fixed", {"value": 0.5}))
    s2 = scenario.with_overrides(s, occupancy=Dist("uniform", {"low": 0.5, "high": 0.6}))
    assert np.array_equal(model.simulate(s).los, model.simulate(s2).los)


def test_sum_of_hospitals_and_imputation_accounting():
    s = scenario.with_overrides(scenario.load(), draws=2000)
    sim = model.simulate(s)
    assert sim.frame == 169  # L0019
    assert sim.n_imputed == 169 - len(sim.hospitals)
    np.testing.assert_allclose(sim.total, sim.per_hospital.sum(axis=1) + sim.imputed)
    # each hospital's draws obey the identity with its own inputs: no hospital exceeds beds_max*u_max*365/L_min
    ps = s.parameters
    for j, h in enumerate(sim.hospitals):
        bmax = sum(max(g.values) for g in h.bed_groups)
        umax = h.occupancy.support_points()[-1]
        assert sim.per_hospital[:, j].max() <= bmax * umax * 365 / ps["length_of_stay"].dist.params["low"] + 1e-6


def test_no_imputation_gives_profiled_floor():
    s = scenario.with_overrides(scenario.load(), draws=2000, imputation="none")
    sim = model.simulate(s)
    assert sim.n_imputed == 0 and not sim.imputed.any()


def test_bed_figures_never_include_department_or_hospital_beds():
    s = scenario.load()
    rows = {r for h in model.hospital_inputs(s) for r in h.bed_rows}
    from organwatch import datasets

    f = datasets.load("volume_hospitals").frame.set_index("record_id")
    assert rows and set(f.loc[sorted(rows), "metric"]) == {"transplant_beds"}
    assert "H0001" not in rows  # "planned" is excluded
    assert "H0030" not in rows  # PKU Third: 470 department beds in a surgical building


def test_conflicting_tianjin_bed_counts_are_both_drawn():
    s = scenario.with_overrides(scenario.load(), draws=4000, hospitals=["tianjin-first-central-hospital"],
                                share=Dist("fixed", {"value": 1.0}), occupancy=Dist("fixed", {"value": 1.0}),
                                length_of_stay=Dist("fixed", {"value": 365.0}))
    sim = model.simulate(s)
    assert set(np.unique(sim.total)) == {500.0, 700.0}


def test_exact_bootstrap_for_small_frames(monkeypatch):
    s = scenario.with_overrides(scenario.load(), draws=2000)
    s.imputation_count_rows = ["L0018"]  # 165
    monkeypatch.setattr(model, "frame_size", lambda sc: (20, []))
    sim = model.simulate(s)
    assert sim.n_imputed == 20 - len(sim.hospitals) == 7
    assert (sim.imputed > 0).all()


@settings(max_examples=30, deadline=None)
@given(st.floats(1, 2000), st.floats(0.1, 2.0), st.floats(1, 90), st.floats(0.01, 1.0))
def test_fixed_inputs_reproduce_the_identity(beds, occ, los, share):
    s = scenario.with_overrides(scenario.load(), draws=5, seed=3, hospitals=["pla-no-309-hospital"],
                                beds=Dist("fixed", {"value": beds}), occupancy=Dist("fixed", {"value": occ}),
                                length_of_stay=Dist("fixed", {"value": los}), share=Dist("fixed", {"value": share}))
    sim = model.simulate(s)
    np.testing.assert_allclose(sim.total, model.capacity(beds, occ, los, share), rtol=1e-12)


def test_distributions_stay_in_bounds_and_parse():
    rng = np.random.default_rng(0)
    for spec in ("uniform:0.3:1", "loguniform:7:60", "triangular:7:20:60", "beta:2:5", "choice:500,700", "30"):
        d = parse_spec(spec, "x")
        x = d.sample(rng, 10000)
        lo, hi = min(d.support_points()), max(d.support_points())
        assert x.min() >= lo - 1e-9 and x.max() <= hi + 1e-9
    assert parse_spec("lognormal:20:1.5", "x").sample(rng, 5).min() > 0
    for bad in ("uniform:3", "nonsense", "uniform:a:b", "loguniform:0:5", "beta:-1:2", "triangular:5:1:2"):
        with pytest.raises(UsageError):
            parse_spec(bad, "x")


def test_sensitivity_recovers_known_variance_shares():
    rng = np.random.default_rng(1)
    n = 200_000
    a = np.exp(rng.normal(0, 2.0, n))  # var(log a) = 4
    b = np.exp(rng.normal(0, 1.0, n))  # var(log b) = 1
    c = np.full(n, 3.0)
    res = {r["parameter"]: r for r in sensitivity.analyse({"a": a, "b": b, "c": c}, a * b * c)}
    assert res["a"]["variance_share"] == pytest.approx(0.8, abs=0.02)
    assert res["b"]["variance_share"] == pytest.approx(0.2, abs=0.02)
    assert res["c"]["varies"] is False
    assert res["a"]["median_high_decile"] > res["a"]["median_low_decile"]


def test_default_result_contract_and_ordering():
    s = scenario.with_overrides(scenario.load(), draws=5000)
    r = json.loads(estimate.to_json(estimate.run(s)))
    for k in ("median", "p2_5", "p5", "p25", "p75", "p95", "p97_5", "seed", "draws", "scenario", "by_hospital",
              "sensitivity"):
        assert k in r
    q = [r[k] for k in ("p2_5", "p5", "p25", "median", "p75", "p95", "p97_5")]
    assert q == sorted(q) and q[0] > 0
    # length of stay and the share dominate (spec §3.1), ahead of any observed bed figure
    top2 = {x["parameter"] for x in r["sensitivity"][:3]}
    assert "length of stay (L)" in top2
    assert r["sensitivity"][0]["parameter"] == "length of stay (L)"
    # comparisons quote embedded rows exactly
    off = {o["record_id"]: o["value"] for o in r["vs_official"]}
    assert off["N0041"] == 10057 and off["N0070"] == 20201 and off["N0089"] == 20229
    pub = {e["record_id"]: (e["value_low"], e["value_high"]) for e in r["published_estimates"]}
    assert pub["E0001"] == (60000, 100000) and pub["E0023"] == (10000, None)
    assert "E0009" not in pub  # a hospital-level estimate is shown per hospital, not nationally
    tj = next(h for h in r["by_hospital"] if h["hospital_id"] == "tianjin-first-central-hospital")
    assert {e["record_id"] for e in tj["published_estimates"]} == {"H0007", "H0021"}
    # implied donors: total * (1 - living share) / organs per donor
    d = r["donors"]
    assert d["living_donor_share"] == {"dist": "fixed", "value": 0.1203}
    assert d["deceased_donors_per_year"]["median"] < r["median"] / 2.5
    assert r["validation"]["status"] == "not_possible"
    assert not math.isnan(r["mean"])


def test_independent_draws_across_hospitals_narrow_the_national_spread():
    common = scenario.with_overrides(scenario.load(), draws=4000, imputation="none")
    indep = scenario.with_overrides(common)
    indep.parameters["share"].across_hospitals = "independent"
    indep.parameters["length_of_stay"].across_hospitals = "independent"
    a, b = model.simulate(common).total, model.simulate(indep).total
    spread = lambda x: np.quantile(x, 0.95) / np.quantile(x, 0.05)  # noqa: E731
    assert spread(b) < spread(a)
    assert np.median(b) == pytest.approx(np.median(a), rel=0.25)


def test_evidence_drop_by_publisher_category():
    s = scenario.with_overrides(scenario.load(), draws=2000, exclude_publishers=["Falun Gong", "advocacy"])
    hosp = model.hospital_inputs(s)
    from organwatch.volume import registry

    cats = {f.record_id: f.publisher_category for h in registry.hospitals() for f in h.figures}
    kept = [r for h in hosp for r in h.bed_rows]
    assert kept and all("falun gong" not in cats[r].lower() and "advocacy" not in cats[r].lower() for r in kept)
    assert len(hosp) < len(model.hospital_inputs(scenario.load()))
    sim = model.simulate(s)
    assert any("only" in n for n in sim.notes)  # the thin bootstrap pool is reported
    from organwatch.volume import calibration

    assert calibration.calibrate(s)["status"] == "not_enough_data"  # both stated volumes are advocacy-published


def test_reproduces_the_illustrative_monte_carlo_of_spec_section_3_1():
    # B from {500, 700}, u ~ U(0.90, 1.311), L log-uniform on [7, 60], f ~ U(0.3, 1):
    # median ~7,100, 90 % ~2,100-23,400; with f = 1 median ~11,500 (4,100-32,600);
    # variance of log N: LOS ~72 %, f ~21 %, beds ~5 %, occupancy ~2 %.
    s = scenario.with_overrides(scenario.load(), draws=200_000, hospitals=["tianjin-first-central-hospital"])
    r = estimate.run(s, with_calibration=False)
    assert r["median"] == pytest.approx(7100, rel=0.03)
    assert r["p5"] == pytest.approx(2100, rel=0.05) and r["p95"] == pytest.approx(23400, rel=0.05)
    shares = {x["parameter"]: x["variance_share"] for x in r["sensitivity"]}
    assert shares["length of stay (L)"] == pytest.approx(0.72, abs=0.03)
    assert shares["share (f)"] == pytest.approx(0.21, abs=0.03)
    assert shares["beds of profiled hospitals"] == pytest.approx(0.05, abs=0.02)
    assert shares["occupancy (u, bed-weighted)"] == pytest.approx(0.02, abs=0.015)
    r1 = estimate.run(scenario.with_overrides(s, share=Dist("fixed", {"value": 1.0})), with_calibration=False)
    assert r1["median"] == pytest.approx(11500, rel=0.03)
    assert r1["p5"] == pytest.approx(4100, rel=0.05) and r1["p95"] == pytest.approx(32600, rel=0.05)


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.text(max_size=30), st.from_regex(r"(uniform|loguniform|triangular|beta|lognormal|choice|fixed)"
                                                      r":[-0-9.e,:naif]{0,20}", fullmatch=True)))
def test_parse_spec_never_crashes(text):
    try:
        d = parse_spec(text, "--los", PARAM_BOUNDS["length_of_stay"])
    except UsageError as e:
        assert "\n" not in str(e)
        return
    x = d.sample(np.random.default_rng(0), 50)
    assert np.isfinite(x).all() and (x > 0).all()
