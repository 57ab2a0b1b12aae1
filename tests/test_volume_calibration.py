"""Grid calibration of the transplant share f: recovery on synthetic hospitals, and the embedded pairs."""

from __future__ import annotations

import pytest

from organwatch.volume import calibration, model, scenario
from organwatch.volume.calibration import Observation
from organwatch.volume.distributions import Dist


def _synthetic(f_true: float, beds=(40, 80, 120, 200, 60), occ=1.0, los=20.0) -> list[Observation]:
    return [Observation(f"h{i}", f"synthetic {i}", volume=b * occ * f_true * 365 / los, qualifier="",
                        volume_row=f"X{i}", organ="kidney", beds=[float(b)], bed_rows=[f"Y{i}"], occupancy_low=occ,
                        occupancy_high=occ, occupancy_rows=[], year=2015) for i, b in enumerate(beds)]


def _fixed_scenario(**cal):
    s = scenario.with_overrides(scenario.load(), length_of_stay=Dist("fixed", {"value": 20.0}),
                                share=Dist("uniform", {"low": 0.0, "high": 1.0}))
    s.calibration.update({"noise_sd": 0.2, "integration_draws": 500, **cal})
    return s


@pytest.mark.parametrize("f_true", [0.1, 0.45, 0.8])
def test_posterior_recovers_the_true_share(f_true):
    res = calibration.calibrate(_fixed_scenario(), _synthetic(f_true))
    assert res["status"] == "ok"
    post = res["posterior"]
    assert post["p5"] <= f_true <= post["p95"]
    assert post["mean"] == pytest.approx(f_true, abs=0.1)
    assert res["contraction"] > 0.5
    assert res["grid_halving_error"] < 0.01
    assert all(c["loo_covered"] for c in res["checks"])
    assert calibration.conflict_level(res) == "none"


def test_prior_data_conflict_is_flagged():
    s = _fixed_scenario()
    s.parameters["share"].dist = Dist("uniform", {"low": 0.6, "high": 1.0})
    res = calibration.calibrate(s, _synthetic(0.05))
    assert res["posterior_mass_lower_edge"] > 0.5
    assert res["data_only"]["median"] == pytest.approx(0.05, rel=0.3)
    assert calibration.conflict_level(res) == "strong"


def test_reporting_bias_shifts_the_posterior():
    obs = _synthetic(0.3)
    base = calibration.calibrate(_fixed_scenario(), obs)["posterior"]["mean"]
    under = calibration.calibrate(_fixed_scenario(reporting_bias=-0.5), obs)["posterior"]["mean"]
    assert under > base  # stated volumes taken as under-statements -> larger f


def test_censored_lower_bounds_allow_larger_shares():
    obs = _synthetic(0.3)
    for o in obs:
        o.qualifier = ">"
    approx = calibration.calibrate(_fixed_scenario(), obs)["posterior"]["mean"]
    cens = calibration.calibrate(_fixed_scenario(lower_bounds="censored"), obs)["posterior"]["mean"]
    assert cens > approx


def test_embedded_pairs_and_exclusions():
    s = scenario.load()
    obs, excluded = calibration.observations(s)
    assert {(o.hospital_id, o.volume_row, tuple(o.bed_rows)) for o in obs} == {
        ("pla-no-458-hospital", "H0087", ("H0085",)),
        ("unnamed-provincial-kidney-transplant-department", "H0148", ("H0149",))}
    reasons = {e["row"]: e["reason"] for e in excluded}
    assert "1998" in reasons["H0025"]  # Tianjin's 1998 volume is not paired with its 2006+ beds
    assert "no published transplant-bed figure" in reasons["H0028"]
    res = calibration.calibrate(scenario.with_overrides(s, draws=1000))
    # the stated per-bed yields (0.19 and 1.1 per bed-year) lie far below what the default priors imply
    assert res["data_only"]["p95"] < 0.3
    assert calibration.conflict_level(res) == "strong"
    f = calibration.sample_posterior(res, 1, 1000)
    assert f.min() >= 0.3 - 1e-3 and f.max() <= 1.0  # the scenario prior's support is respected
    s2 = scenario.with_overrides(s, draws=1000)
    calibrated = model.simulate(s2, share_override=f).total
    assert calibrated.mean() < model.simulate(s2).total.mean()


def test_robustness_table_shows_the_lower_bound_reading_matters():
    res = calibration.calibrate(scenario.load())
    rob = {(r["noise_sd"], r["lower_bounds"]): r for r in res["robustness"]}
    assert set(rob) == {(sd, lb) for sd in (0.25, 0.5, 1.0) for lb in ("approx", "censored")}
    # read as "about X", the stated volumes pin f near 0.02 whatever the noise
    assert all(rob[(sd, "approx")]["data_only_f_p95"] < 0.15 for sd in (0.25, 0.5, 1.0))
    # read as censored lower bounds, they only rule out very small f
    assert all(rob[(sd, "censored")]["data_only_f_p95"] > 0.5 for sd in (0.25, 0.5, 1.0))
