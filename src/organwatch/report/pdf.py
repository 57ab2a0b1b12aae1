"""``organwatch report --format pdf``: the HTML report printed to PDF by headless Chromium (via Playwright).

Chromium rather than WeasyPrint: it is the engine the report is tested in (tests/test_report_browser.py), so the
PDF shows exactly what the tested page shows - the inline SVG charts, the embedded WOFF2 CJK font and the print
stylesheet - and the project already needs it for its browser tests. WeasyPrint has its own layout engine
with partial SVG and CSS support, so its PDF would be an untested second rendering.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from organwatch.errors import InputError

HINT = ("PDF output needs Chromium and Playwright: apt-get install chromium && pip install playwright "
        "(or set CHROMIUM to a Chromium executable)")


def find_chromium() -> str | None:
    """``$CHROMIUM`` when set (and only it), else Debian's /usr/bin/chromium or a Chromium on PATH."""
    if os.environ.get("CHROMIUM"):
        return os.environ["CHROMIUM"] if Path(os.environ["CHROMIUM"]).is_file() else None
    for cand in ("/usr/bin/chromium", shutil.which("chromium"),
                 shutil.which("chromium-browser"), shutil.which("google-chrome")):
        if cand and Path(cand).is_file():
            return cand
    return None


def html_to_pdf(html_path: Path, pdf_path: Path) -> int:
    """Print ``html_path`` to ``pdf_path`` (A4, backgrounds, the report's print CSS); returns the PDF's size."""
    try:
        from playwright.sync_api import Error as PlaywrightError
        from playwright.sync_api import sync_playwright
    except ImportError:
        raise InputError(HINT) from None
    exe = find_chromium()
    if exe is None:
        raise InputError(HINT)
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=exe, args=[
                "--no-sandbox", "--disable-gpu", "--disable-background-networking"])
            try:
                page = browser.new_context(offline=True).new_page()
                page.goto(html_path.resolve().as_uri(), wait_until="load")
                page.emulate_media(media="print")
                page.pdf(path=str(pdf_path), format="A4", print_background=True, prefer_css_page_size=True,
                         margin={"top": "14mm", "bottom": "14mm", "left": "12mm", "right": "12mm"})
            finally:
                browser.close()
    except PlaywrightError as e:
        raise InputError(f"Chromium could not print the report: {str(e).splitlines()[0]}; {HINT}",
                         file=pdf_path) from None
    return pdf_path.stat().st_size
