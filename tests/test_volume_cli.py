"""`organwatch volume` and `organwatch hospitals` end to end (in-process through the real entry point)."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from organwatch.cli import main


def run(capsys, *args: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as e:
        main(list(args))
    out, err = capsys.readouterr()
    return e.value.code, out, err


def test_worked_example_through_the_cli(capsys):
    code, out, err = run(capsys, "volume", "--hospital", "tianjin-first-central-hospital", "--beds", "500",
                         "--occupancy", "1.31", "--los", "30", "--share", "1", "--draws", "100", "--json",
                         "--no-calibration")
    assert code == 0, err
    r = json.loads(out)
    assert round(r["median"]) == 7969 and round(r["p2_5"]) == 7969 and round(r["p97_5"]) == 7969
    assert r["scenario"]["parameters"]["share"]["basis"] == "set on the command line"


def test_json_contract_and_reproducibility(capsys, tmp_path: Path):
    args = ["volume", "--draws", "2000", "--seed", "11", "--json"]
    code, out1, err = run(capsys, *args)
    assert code == 0, err
    r = json.loads(out1)
    assert r["seed"] == 11 and r["draws"] == 2000 and r["scenario"]["name"] == "default"
    for k in ("median", "p2_5", "p5", "p25", "p75", "p95", "p97_5", "by_hospital", "sensitivity"):
        assert k in r
    assert r["calibration"]["status"] == "ok"
    assert "read from the registry" in err and "0 failed" in err
    f = tmp_path / "v.json"
    code, out, _ = run(capsys, *args, "--out", str(f))  # a second run, written to a file: byte-identical
    assert code == 0 and out == "" and f.read_text(encoding="utf-8") == out1


def test_table_outputs(capsys, tmp_path: Path):
    p = tmp_path / "v.parquet"
    code, out, err = run(capsys, "volume", "--draws", "1000", "--no-calibration", "--out", str(p))
    assert code == 0, err
    t = pq.read_table(p).to_pylist()
    kinds = [r["kind"] for r in t]
    assert kinds.count("hospital") == 13 and kinds[-2:] == ["imputed", "national"]
    assert t[0]["bed_rows"][0].startswith("H")  # nested stays native in Parquet
    c = tmp_path / "v.csv"
    code, _, _ = run(capsys, "volume", "--draws", "1000", "--no-calibration", "--out", str(c))
    assert code == 0 and c.read_text(encoding="utf-8").startswith("kind,hospital_id")


def test_side_by_side_scenarios(capsys, tmp_path: Path):
    code, out, err = run(capsys, "volume", "--scenario", "critic", "--scenario", "advocate", "--draws", "2000",
                         "--no-calibration", "--json")
    assert code == 0, err
    d = json.loads(out)
    names = [row["scenario"] for row in d["comparison"]]
    assert names == ["critic", "advocate"]
    assert d["comparison"][0]["median"] < d["comparison"][1]["median"]
    code, out, _ = run(capsys, "volume", "--scenario", "critic", "--scenario", "advocate", "--draws", "500",
                       "--no-calibration")
    assert code == 0 and "side by side" in out


@pytest.mark.parametrize("args,needle", [
    (["--beds", "-5"], "--beds"),
    (["--share", "1.5"], "--share"),
    (["--los", "0"], "--los"),
    (["--occupancy", "-1"], "--occupancy"),
    (["--hospital", "no-such-hospital"], "unknown hospital"),
    (["--hospital", "peking-university-peoples-hospital"], "no published bed figure"),
    (["--los", "uniform:30"], "--los"),
    (["--scenario", "does-not-exist"], "neither a file"),
    (["--seed", "-1"], "--seed"),
    (["--draws", "0"], "--draws"),
])
def test_invalid_parameters_exit_2_with_one_line(capsys, args, needle):
    code, out, err = run(capsys, "volume", "--draws", "100", *args)
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1 and needle in lines[0] and "Traceback" not in err


def test_malformed_scenario_file_exit_2(capsys, tmp_path: Path):
    f = tmp_path / "s.toml"
    f.write_text("[parameters.share\n", encoding="utf-8")
    code, _, err = run(capsys, "volume", "--scenario", str(f))
    assert code == 2 and str(f) in err and "line 1" in err and len(err.strip().splitlines()) == 1


def test_findings_file(capsys, tmp_path: Path):
    f = tmp_path / "findings.json"
    code, _, err = run(capsys, "volume", "--draws", "2000", "--findings", str(f))
    assert code == 0, err
    doc = json.loads(f.read_text(encoding="utf-8"))
    checks = {x["check"]: x for x in doc["findings"]}
    assert {"volume.capacity_model", "volume.worked_example", "volume.calibration", "volume.vs_official",
            "volume.implied_donors", "volume.validation"} <= set(checks)
    assert checks["volume.worked_example"]["kind"] == "reproduction"
    assert checks["volume.worked_example"]["status"] == "reproduced" and checks["volume.worked_example"]["verdict"] is None
    prov = checks["volume.capacity_model"]["provenance"]
    assert prov["seed"] == 20160622 and any(len(i["sha256"]) == 64 for i in prov["inputs"])
    assert any("scenario default" in i["name"] for i in prov["inputs"])


def _lines(out: str) -> list[dict]:
    """`hospitals --json` prints JSON Lines (one record per line; docs/specs/cli.md)."""
    return [json.loads(ln) for ln in out.splitlines()]


def test_hospitals_listing_and_filters(capsys, tmp_path: Path):
    code, out, err = run(capsys, "hospitals", "--json")
    assert code == 0
    rows = _lines(out)
    ids = {r["hospital_id"] for r in rows}
    assert "tianjin-first-central-hospital" in ids and len(rows) == len(ids)
    tj = next(r for r in rows if r["hospital_id"] == "tianjin-first-central-hospital")
    assert tj["name_zh"].startswith("天津市第一中心医院")
    assert {500.0, 700.0} <= set(tj["transplant_beds_published"])  # conflicting figures side by side
    fig = next(f for f in tj["figures"] if f["record_id"] == "H0021")
    assert fig["source_url"].startswith("https://") and fig["publisher_category"]
    code, out, _ = run(capsys, "hospitals", "--province", "Beijing", "--licensed", "--json")
    b = _lines(out)
    assert b and all(r["province"] == "Beijing" and r["licensed_organs"] for r in b)
    p309 = next(r for r in b if r["hospital_id"] == "pla-no-309-hospital")
    assert set(p309["licensed_organs"]) == {"liver", "kidney", "heart", "lung"}
    code, out, _ = run(capsys, "hospitals", "--organ", "heart", "--json")
    assert all("heart" in r["organs"] for r in _lines(out))
    code, out, _ = run(capsys, "hospitals", "--counts", "--json")
    counts = {r["record_id"]: r for r in _lines(out)}
    assert counts["L0019"]["count"] == 169 and counts["L0029"]["count"] == 183
    c = tmp_path / "h.csv"
    code, _, _ = run(capsys, "hospitals", "--out", str(c))
    assert code == 0 and c.read_text(encoding="utf-8").splitlines()[0].startswith("hospital_id,name_en,name_zh")
    code, out, _ = run(capsys, "hospitals", "tianjin-first-central-hospital")
    assert code == 0 and "H0021" in out
    code, _, err = run(capsys, "hospitals", "atlantis-general")
    assert code == 2 and "unknown hospital" in err


def test_help_shows_examples(capsys):
    for cmd in ("volume", "hospitals"):
        code, out, _ = run(capsys, cmd, "--help")
        assert code == 0 and "Example:" in out
