"""The README's report opens in real headless Chromium, offline: every chart renders and nothing is fetched."""

from __future__ import annotations

import subprocess
import sys

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
