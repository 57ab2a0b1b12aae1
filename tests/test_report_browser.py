"""The report in real headless Chromium, offline, at phone, tablet and desktop widths: a briefing first, nothing
wider than the screen, every chart label inside its chart, no machine keys in visible text, and a PDF that prints."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

WIDTHS = (390, 800, 1400)

# every visible text node outside <details>, <code>, <title>, <desc>, <style> and <script>
VISIBLE_TEXT_JS = """() => {
  const out = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  let n;
  while ((n = walker.nextNode())) {
    const t = n.textContent.trim();
    if (!t) continue;
    const el = n.parentElement;
    if (!el || el.closest('details, code, title, desc, style, script')) continue;
    const r = el.getBoundingClientRect();
    if (r.width === 0 && r.height === 0) continue;
    out.push(t);
  }
  return out;
}"""

TEXT_BOXES_JS = """() => {
  const bad = [];
  for (const svg of document.querySelectorAll('svg.ow-chart')) {
    const vb = svg.viewBox.baseVal;
    if (svg.closest('details') && !svg.closest('details').open) continue;
    for (const t of svg.querySelectorAll('text')) {
      const b = t.getBBox();
      if (b.width === 0) continue;
      // rotated labels: transform the box corners into the SVG's user space
      const m = t.getCTM() && svg.getCTM() ? svg.getCTM().inverse().multiply(t.getCTM()) : null;
      const pts = [[b.x, b.y], [b.x + b.width, b.y], [b.x, b.y + b.height], [b.x + b.width, b.y + b.height]]
        .map(([x, y]) => m ? [m.a * x + m.c * y + m.e, m.b * x + m.d * y + m.f] : [x, y]);
      const xs = pts.map(p => p[0]), ys = pts.map(p => p[1]);
      if (Math.min(...xs) < vb.x - 0.5 || Math.max(...xs) > vb.x + vb.width + 0.5 ||
          Math.min(...ys) < vb.y - 0.5 || Math.max(...ys) > vb.y + vb.height + 0.5)
        bad.push({chart: svg.getAttribute('aria-label'), text: t.textContent,
                  box: [Math.min(...xs), Math.min(...ys), Math.max(...xs), Math.max(...ys)], vb: [vb.width, vb.height]});
    }
  }
  return bad;
}"""


def _run(*args, cwd=None):
    p = subprocess.run([sys.executable, "-m", "organwatch", *args], capture_output=True, text=True, cwd=cwd,
                       timeout=900)
    assert p.returncode == 0, (args, p.stderr)
    return p


@pytest.fixture(scope="module")
def report_files(tmp_path_factory):
    d = tmp_path_factory.mktemp("browser")
    out = d / "organwatch-report.html"
    _run("report", "--out", str(out), "--findings", str(d / "findings.json"), "--date", "2026-01-01")
    assert out.stat().st_size <= 10 * 1024 * 1024
    return out, d / "findings.json"


def _open_all_details(page):
    page.eval_on_selector_all("details", "els => els.forEach(e => e.open = true)")


@pytest.mark.browser
@pytest.mark.parametrize("width", WIDTHS)
def test_report_reads_at_every_width(chromium, report_files, width):
    report_file, _ = report_files
    ctx = chromium.new_context(offline=True, viewport={"width": width, "height": 900})
    page = ctx.new_page()
    url = report_file.as_uri()
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    page.goto(url, wait_until="load")
    # nothing wider than the viewport (tables scroll inside their card)
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    # the briefing comes first, with at least five items, each a sentence with a figure and a working link
    first = "[...document.querySelectorAll('h2')].find(h => !h.closest('nav')).closest('section').id"
    assert page.evaluate(f"() => {first}") == "briefing"
    items = page.eval_on_selector_all("#briefing li.brief-item", """els => els.map(e => ({
        text: e.querySelector('p').innerText, href: e.querySelector('a.more')?.getAttribute('href')}))""")
    assert len(items) >= 5, items
    for it in items:
        assert re.search(r"\d", it["text"]), it
        assert it["href"] and it["href"].startswith("#"), it
        assert page.locator(f"[id='{it['href'][1:]}']").count() == 1, it
    # no snake_case machine keys in visible text outside <details>/<code>
    texts = page.evaluate(VISIBLE_TEXT_JS)
    leaks = sorted({m for t in texts for m in re.findall(r"\b[a-z]+_[a-z0-9_]+\b", t)})
    assert leaks == [], leaks
    # no scientific notation and no thousands separator in years in visible text
    assert not [t for t in texts if re.search(r"\b\d(\.\d+)?e[-+]\d+\b", t)]
    assert not [t for t in texts if re.fullmatch(r"(1,9|2,0)\d\d", t)]  # a lone year never reads "2,009"
    # every SVG label inside its SVG box, also in the collapsed panels once opened
    assert page.evaluate(TEXT_BOXES_JS) == []
    _open_all_details(page)
    assert page.evaluate(TEXT_BOXES_JS) == []
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    assert [u for u in requests if u != url] == []
    ctx.close()


@pytest.mark.browser
def test_charts_render_offline_and_download_links_are_data_uris(chromium, report_files):
    report_file, _ = report_files
    page = chromium.new_context(offline=True).new_page()
    failed: list[str] = []
    page.on("requestfailed", lambda r: failed.append(r.url))
    page.goto(report_file.as_uri(), wait_until="load")
    _open_all_details(page)
    charts = page.eval_on_selector_all(
        "svg.ow-chart",
        """els => els.map(e => { const r = e.getBoundingClientRect();
             return {w: r.width, h: r.height, points: Number(e.dataset.points),
                     title: !!e.querySelector(':scope > title'), desc: !!e.querySelector(':scope > desc'),
                     marks: e.querySelectorAll('circle, rect.ow-bar, path').length,
                     label: e.getAttribute('aria-label')}; })""")
    assert len(charts) >= 10
    for c in charts:
        assert c["w"] > 50 and c["h"] > 40, c
        assert c["points"] > 0 and c["marks"] > 0 and c["title"] and c["desc"], c
    links = page.eval_on_selector_all("figure.ow-figure a.ow-download", "els => els.map(e => e.href)")
    assert len(links) == len(page.query_selector_all("figure.ow-figure")) >= 10
    assert all(u.startswith("data:image/svg+xml;base64,") for u in links)
    assert page.locator("article.finding").count() >= 20
    assert page.locator("tr.finding-row").count() >= 10  # reproductions: one plain-words table
    assert failed == []


@pytest.mark.browser
def test_print_to_pdf(chromium, report_files, tmp_path):
    report_file, _ = report_files
    page = chromium.new_context(offline=True).new_page()
    page.goto(report_file.as_uri(), wait_until="load")
    page.emulate_media(media="print")
    # printed, every table fits the page width
    widths = page.evaluate("""() => [...document.querySelectorAll('.ow-table')].map(t =>
        t.getBoundingClientRect().right - document.body.getBoundingClientRect().right)""")
    assert max(widths) <= 1, widths
    pdf = page.pdf(format="A4", print_background=True)
    assert pdf[:5] == b"%PDF-" and len(pdf) > 50_000


@pytest.mark.browser
def test_cli_writes_pdf_through_chromium(tmp_path):
    out = tmp_path / "r.pdf"
    _run("report", "--format", "pdf", "--out", str(out), "--date", "2026-01-01")
    assert out.read_bytes()[:5] == b"%PDF-"


def test_findings_json_carries_kinds(report_files):
    _, findings = report_files
    doc = json.loads(findings.read_text(encoding="utf-8"))
    assert doc["findings"]
    for f in doc["findings"]:
        assert f["kind"] in ("test", "reproduction", "descriptive"), f["check"]
        if f["kind"] == "descriptive":
            assert f.get("verdict") is None and f.get("status") is None, f["check"]
        if f["kind"] == "reproduction":
            assert f["status"] in ("reproduced", "differs", "not_reproducible"), f["check"]
            assert {"published", "computed", "reason"} <= set(f["statistics"]), f["check"]
        if f["kind"] == "test":
            assert f["verdict"] in ("consistent", "unusual", "highly_unusual", "not_testable"), f["check"]


@pytest.mark.browser
def test_report_with_every_engine_renders_offline(chromium, tmp_path):
    """Results of screen, review, claims and volume feed their sections and the briefing; the page stays offline."""
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
    page = chromium.new_context(offline=True, viewport={"width": 800, "height": 900}).new_page()
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    url = (tmp_path / "full.html").as_uri()
    page.goto(url, wait_until="load")
    ids = page.eval_on_selector_all("section.ow-section", "els => els.map(e => e.id)")
    assert len(ids) >= 5, ids
    questions = page.eval_on_selector_all("#briefing li.brief-item h3", "els => els.map(e => e.textContent)")
    assert any("literature screen" in q for q in questions), questions
    assert any("human review" in q for q in questions), questions
    assert page.evaluate("document.documentElement.scrollWidth") <= 800
    assert page.evaluate(TEXT_BOXES_JS) == []
    assert [u for u in requests if u != url] == []
