"""The catalog matches the vendored files; loading gives typed tables with provenance; GODT vintages stay apart."""

from __future__ import annotations

import csv
import hashlib
import subprocess
import sys

import pytest

from organwatch import datasets
from organwatch.datasets.godt import godt_panel, godt_wide

CAT = datasets.catalog()


@pytest.mark.parametrize("name", sorted(CAT))
def test_catalog_entry_matches_file(name):
    i = CAT[name]
    assert hashlib.sha256(i.path.read_bytes()).hexdigest() == i.sha256
    ds = datasets.load(name)
    assert len(ds.frame) == i.rows
    assert list(ds.frame.columns) == list(i.columns)
    assert i.source_urls and i.licence and i.title and i.description
    for col, spec in i.columns.items():
        assert spec["description"].strip(), (name, col)
    if i.group == "godt":
        assert "GODT" in i.attribution


def test_every_vendored_csv_is_catalogued():
    files = {str(p.relative_to(datasets.data_dir())) for p in datasets.data_dir().rglob("*.csv")}
    assert files == {i.file for i in CAT.values()}


def test_typed_columns():
    f = datasets.load("china_annual_national").frame
    assert str(f["year"].dtype) == "Int64" and str(f["value"].dtype) == "Float64"
    laws = datasets.load("laws").frame
    assert str(laws["covers_insurance_ban"].dtype) == "boolean"


def test_values_are_not_altered():
    with open(CAT["china_table7"].path, newline="", encoding="utf-8") as fh:
        raw = [int(r["value"]) for r in csv.DictReader(fh)]
    assert datasets.load("china_table7").frame["value"].tolist() == raw


def test_godt_vintages_are_not_merged():
    p = godt_panel(None, "dd_kidney_tx")
    chn2010 = p[(p["iso3"] == "CHN") & (p["year"] == 2010)]
    assert sorted(chn2010["vintage"]) == ["2016", "2018"]  # both vintages kept side by side
    assert set(godt_panel("combined")["vintage"]) == {"2018", "2025"}
    comb = godt_panel("combined")
    assert not comb.duplicated(["iso3", "country", "measure", "year"]).any()
    assert comb["iso3"].notna().all()


def test_godt_wide_china():
    w = godt_wide("combined")
    assert w.loc["CHN", 2016] == 4080 and w.loc["CHN", 2024] == 6744


def test_data_cli_roundtrip(tmp_path):
    out = tmp_path / "t7.csv"
    p = subprocess.run([sys.executable, "-m", "organwatch", "data", "export", "china_table7", "--out", str(out)],
                       capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    with open(out, newline="", encoding="utf-8") as fh:
        assert [r["value"] for r in csv.DictReader(fh)][-1] == "555"
    assert (tmp_path / "t7.csv.provenance.json").exists()
    bad = subprocess.run([sys.executable, "-m", "organwatch", "data", "show", "nope"], capture_output=True, text=True)
    assert bad.returncode == 2 and "unknown dataset" in bad.stderr and "Traceback" not in bad.stderr
