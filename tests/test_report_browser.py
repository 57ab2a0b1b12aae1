"""The README's report opens in real headless Chromium, offline: every chart renders and nothing is fetched."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest


@pytest.fixture(scope="module")
def report_file(tmp_path_factory):
    out = tmp_path_factory.mktemp("browser") / "organwatch-report.html"
    p = subprocess.run([sys.executable, "-m", "organwatch", "report", "--out", str(out)], capture_output=True,
                       text=True, timeout=600)
    assert p.returncode == 0, p.stderr
    assert out.stat().st_size <= 10 * 1024 * 1024
    return out


@pytest.mark.browser
def test_report_renders_offline_in_chromium(chromium, report_file):
    ctx = chromium.new_context(offline=True, java_script_enabled=True)
    page = ctx.new_page()
    requests = []
    page.on("request", lambda r: requests.append(r.url))
    failed = []
    page.on("requestfailed", lambda r: failed.append(r.url))
    url = report_file.as_uri()
    page.goto(url, wait_until="load")
    charts = page.eval_on_selector_all(
        "svg.ow-chart",
        """els => els.map(e => { const r = e.getBoundingClientRect();
             return {w: r.width, h: r.height, points: Number(e.dataset.points),
                     marks: e.querySelectorAll('circle, rect.ow-bar, path').length,
                     label: e.getAttribute('aria-label')}; })""")
    assert len(charts) >= 10
    for c in charts:
        assert c["w"] > 50 and c["h"] > 50, c
        assert c["points"] > 0 and c["marks"] > 0, c
    # nothing but the report itself was requested
    assert [u for u in requests if u != url] == []
    assert failed == []
    # the summary comes first and every finding section is present
    first_h2 = page.eval_on_selector("h2", "e => e.textContent")
    assert first_h2.strip() == "Summary"
    assert page.locator("article.finding").count() >= 40
    ctx.close()


def _run(*args, cwd):
    p = subprocess.run([sys.executable, "-m", "organwatch", *args], capture_output=True, text=True, cwd=cwd,
                       timeout=600)
    assert p.returncode == 0, (args, p.stderr)
    return p


@pytest.mark.browser
def test_report_with_every_engine_renders_offline(chromium, tmp_path):
    """Results of screen, review, claims and volume feed their sections; the page stays offline and rendered."""
    root = Path(__file__).resolve().parent / "data"
    _run("screen", str(root / "screen" / "labelled_dev.jsonl"), "--out", "hits.parquet", cwd=tmp_path)
    _run("review", "new", "hits.parquet", "hits.owproj", cwd=tmp_path)
    _run("claims", str(root / "claims" / "professional.837"), str(root / "claims" / "bundle-hk.json"),
         "--members", str(root / "claims" / "members.csv"), "--out", "outcomes.jsonl", cwd=tmp_path)
    _run("volume", "--json", "--out", "volume.json", cwd=tmp_path)
    _run("report", "hits.parquet", "hits.owproj", "outcomes.jsonl", "volume.json", "--out", "full.html",
         "--findings", "full.json", cwd=tmp_path)
    engines = {f["engine"] for f in json.loads((tmp_path / "full.json").read_text(encoding="utf-8"))["findings"]}
    assert {"stats", "volume"} <= engines and len(engines) >= 4, engines
    page = chromium.new_context(offline=True).new_page()
    requests = []
    page.on("request", lambda r: requests.append(r.url))
    url = (tmp_path / "full.html").as_uri()
    page.goto(url, wait_until="load")
    ids = page.eval_on_selector_all("section.ow-section", "els => els.map(e => e.id)")
    assert len(ids) >= 5, ids
    sizes = page.eval_on_selector_all("svg.ow-chart", "els => els.map(e => e.getBoundingClientRect().width)")
    assert sizes and min(sizes) > 50
    assert [u for u in requests if u != url] == []
