"""The volume report section: default run, result files, the chain from rows to result, offline HTML."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from organwatch.errors import InputError
from organwatch.report.build import render
from organwatch.report.sections import ReportContext
from organwatch.volume import estimate, report_section, scenario


@pytest.fixture(scope="module")
def default_section():
    report_section_draws = report_section.REPORT_DRAWS
    try:
        report_section.REPORT_DRAWS = 3000
        return report_section.build_section(ReportContext(), [])
    finally:
        report_section.REPORT_DRAWS = report_section_draws


def test_default_section_findings_and_charts(default_section):
    s = default_section
    assert s is not None and report_section.ORDER == 40
    checks = [i.finding.check for i in s.items]
    assert checks[:2] == ["volume.capacity_model", "volume.worked_example"]
    assert "volume.scenarios" in checks and "volume.calibration" in checks
    by = {i.finding.check: i for i in s.items}
    assert 'data-points="0"' not in str(by["volume.capacity_model"].chart_svg)  # tornado drew bars
    assert by["volume.worked_example"].finding.statistics["computed_rounded"] == 7969
    for i in s.items:
        f = i.finding
        assert f.engine == "volume" and f.provenance.inputs and f.provenance.seed is not None
        text = (f.explanation + f.title).lower()
        for word in ("fraud", "lies?\\b", "liars?", "crime", "guilty", "fabricat"):
            assert not re.search(rf"\b{word}", text), (f.check, word)


def test_chain_from_rows_and_assumptions_is_in_the_html(default_section):
    html = render([default_section])
    for row in ("H0003", "H0005", "H0032", "H0149", "L0019", "P0002", "P0003", "N0072", "N0041"):
        assert row in html
    for a in ("A1", "A3"):
        assert f">{a}<" in html
    # offline: no external scripts, images, styles or fonts
    assert not re.search(r'<(script|img|link|iframe)[^>]+(src|href)="https?://', html)
    assert len(html.encode()) < 10 * 1024 * 1024


def test_accepts_and_builds_from_result_files(tmp_path: Path):
    s = scenario.with_overrides(scenario.load("critic"), draws=2000)
    r = estimate.run(s)
    f = tmp_path / "critic.json"
    f.write_text(estimate.to_json(r), encoding="utf-8")
    assert report_section.accepts(f)
    sec = report_section.build_section(ReportContext(), [f])
    cap = next(i.finding for i in sec.items if i.finding.check == "volume.capacity_model")
    assert cap.statistics["median"] == pytest.approx(r["median"])
    assert "critic" in cap.title
    # multi-scenario file from `organwatch volume --scenario a --scenario b --json`
    multi = tmp_path / "multi.json"
    r2 = estimate.run(scenario.with_overrides(scenario.load("advocate"), draws=2000), with_calibration=False)
    multi.write_text(estimate.to_json({"organwatch_version": "x", "comparison": estimate.scenario_table([r, r2]),
                                       "results": [r, r2]}), encoding="utf-8")
    assert report_section.accepts(multi)
    sec2 = report_section.build_section(ReportContext(), [multi])
    assert any(i.finding.check == "volume.scenarios" for i in sec2.items)


def test_rejects_other_files_and_reports_malformed_results(tmp_path: Path):
    other = tmp_path / "other.json"
    other.write_text(json.dumps({"findings": []}), encoding="utf-8")
    assert not report_section.accepts(other)
    txt = tmp_path / "x.csv"
    txt.write_text("a,b\n", encoding="utf-8")
    assert not report_section.accepts(txt)
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"median": 1, "by_hospital": [], "scenario": {}}), encoding="utf-8")
    assert report_section.accepts(bad)
    with pytest.raises(InputError) as e:
        report_section.build_section(ReportContext(), [bad])
    assert "bad.json" in str(e.value) and "missing field" in str(e.value)


@pytest.mark.browser
def test_section_renders_offline_in_chromium(default_section, chromium, tmp_path: Path):
    page_file = tmp_path / "volume.html"
    page_file.write_text(render([default_section]), encoding="utf-8")
    page = chromium.new_page()
    requested: list[str] = []
    page.on("request", lambda req: requested.append(req.url))
    page.goto(page_file.as_uri())
    charts = page.locator("svg.ow-chart")
    assert charts.count() >= 4
    points = [int(charts.nth(i).get_attribute("data-points")) for i in range(charts.count())]
    assert all(p > 0 for p in points)
    assert page.locator("text=7,969").count() >= 1
    assert [u for u in requested if not u.startswith("file:")] == []
    page.close()


def test_report_and_cli_give_the_same_median(tmp_path: Path):
    """One number per question: the report's capacity median is `organwatch volume --json`'s median for the
    default scenario (same draws, same seed), and the briefing prints that number."""
    import subprocess
    import sys

    def ow(*args):
        p = subprocess.run([sys.executable, "-m", "organwatch", *args], capture_output=True, text=True,
                           cwd=tmp_path, timeout=900)
        assert p.returncode == 0, p.stderr
        return p.stdout

    cli = json.loads(ow("volume", "--json"))
    ow("report", "--out", "r.html", "--findings", "f.json", "--date", "2026-01-01")
    doc = json.loads((tmp_path / "f.json").read_text(encoding="utf-8"))
    cap = next(f for f in doc["findings"] if f["check"] == "volume.capacity_model")
    assert cap["statistics"]["median"] == cli["median"]
    assert cap["statistics"]["draws"] == cli["draws"] and cap["statistics"]["seed"] == cli["seed"]
    html = (tmp_path / "r.html").read_text(encoding="utf-8")
    brief = html[html.index('<section id="briefing">'):html.index("</section>")]
    assert f"{round(cli['median']):,}" in brief
