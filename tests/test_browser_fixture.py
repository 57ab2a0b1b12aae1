"""Under CI=true a missing Chromium fails the browser tests; outside CI it skips them."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

PROBE = '''
def test_needs_browser(chromium):
    assert chromium is not None
'''


def run_probe(tmp_path: Path, ci: str | None):
    (tmp_path / "test_probe.py").write_text(PROBE, encoding="utf-8")
    (tmp_path / "conftest.py").write_text((Path(__file__).parent / "conftest.py").read_text(encoding="utf-8"),
                                          encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if k != "CI"}
    env["CHROMIUM"] = str(tmp_path / "no-such-chromium")
    if ci is not None:
        env["CI"] = ci
    return subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(tmp_path)],
                          capture_output=True, text=True, env=env, cwd=tmp_path)


def test_missing_chromium_fails_under_ci(tmp_path):
    p = run_probe(tmp_path, "true")
    assert p.returncode == 1, p.stdout
    assert "1 error" in p.stdout and "chromium is not installed" in p.stdout


def test_missing_chromium_skips_outside_ci(tmp_path):
    p = run_probe(tmp_path, None)
    assert p.returncode == 0, p.stdout
    assert "1 skipped" in p.stdout
