"""Shared test fixtures: paths to ../shared, and a real headless Chromium (Debian `chromium`).

Browser tests use Playwright's Python client driving the system binary at /usr/bin/chromium (Playwright's
own browser download does not work offline). Under CI=true a missing Chromium FAILS the test, never skips.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("ORGANWATCH_SHARED", ROOT.parent / "shared"))
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-quic", "--no-first-run", "--disable-component-update", "--disable-sync"]


def chromium_path() -> str | None:
    """$CHROMIUM when set (and only it), else Debian's /usr/bin/chromium or chromium on PATH."""
    if os.environ.get("CHROMIUM"):
        return os.environ["CHROMIUM"] if Path(os.environ["CHROMIUM"]).exists() else None
    for cand in ("/usr/bin/chromium", shutil.which("chromium"), shutil.which("chromium-browser")):
        if cand and Path(cand).exists():
            return cand
    return None


@pytest.fixture(scope="session")
def shared_formats() -> Path:
    p = SHARED / "data" / "formats"
    if not p.exists():
        pytest.fail(f"../shared/data/formats not found at {p} (set ORGANWATCH_SHARED)")
    return p


@pytest.fixture(scope="session")
def chromium():
    """A launched Playwright Browser on the system Chromium. Fails under CI=true when missing."""
    exe = chromium_path()
    if exe is None:
        msg = "Debian chromium is not installed (apt-get install chromium)"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(msg)
        pytest.skip(msg)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=exe, args=CHROMIUM_ARGS, headless=True)
        try:
            yield browser
        finally:
            browser.close()
