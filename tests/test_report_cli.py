"""`organwatch report` options: --json prints the findings document, --format pdf explains a missing engine."""

from __future__ import annotations

import json
import os
import subprocess
import sys


def ow(*args, cwd, env=None):
    return subprocess.run([sys.executable, "-m", "organwatch", *args], capture_output=True, text=True, cwd=cwd,
                          env=env, timeout=900)


def test_json_prints_the_findings_document_and_still_writes_the_report(tmp_path):
    p = ow("report", "--json", "--findings", "f.json", "--date", "2026-01-01", cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    doc = json.loads(p.stdout)
    assert doc["findings"] and {"organwatch_version", "findings"} == set(doc)
    assert p.stdout == (tmp_path / "f.json").read_text(encoding="utf-8")
    assert (tmp_path / "organwatch-report.html").stat().st_size > 100_000
    assert "wrote organwatch-report.html" in p.stderr


def test_pdf_without_chromium_is_one_line_with_the_install_hint(tmp_path):
    env = {**os.environ, "CHROMIUM": str(tmp_path / "no-chromium")}
    p = ow("report", "--format", "pdf", "--date", "2026-01-01", cwd=tmp_path, env=env)
    assert p.returncode == 2
    lines = p.stderr.strip().splitlines()
    assert len(lines) == 1 and "apt-get install chromium" in lines[0] and "Traceback" not in p.stderr
    assert not (tmp_path / "organwatch-report.pdf").exists()


def test_pdf_name_with_html_format_is_a_usage_error(tmp_path):
    p = ow("report", "--format", "html", "--out", "r.pdf", cwd=tmp_path)
    assert p.returncode == 2 and "--format pdf" in p.stderr
