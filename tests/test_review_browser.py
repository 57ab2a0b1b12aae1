"""End to end in real headless Chromium (Debian's /usr/bin/chromium via Playwright over CDP):
sign in, label hits with the keyboard, reload and see the decisions persisted, and check that the XSS payloads
planted in a document (a <script> element and an onerror attribute) never ran."""

from __future__ import annotations

import sqlite3

import pytest
from review_helpers import Server, make_project

pytestmark = pytest.mark.browser


def test_keyboard_labelling_persists_and_xss_is_inert(chromium, tmp_path):
    project = make_project(tmp_path)
    with Server(project) as srv:
        page = chromium.new_page()
        external = []
        page.on("request", lambda r: None if r.url.startswith(srv.url) else external.append(r.url))
        errors = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(srv.url + "/")
        assert page.url.endswith("/login")
        page.fill("input[name=reviewer]", "alice")
        page.keyboard.press("Enter")
        page.wait_for_url("**/queue")
        page.wait_for_selector("article.hit")
        # highest confidence first: doc-001 (0.93), doc-004 (0.88: the XSS document), doc-002 (0.81)
        ids = page.eval_on_selector_all("article.hit", "els => els.map(e => e.dataset.hitId)")
        assert ids[:3] == ["doc-001#p0", "doc-004#p0", "doc-002#p0"]
        # the payload is visible as text, not as elements
        xss_hit = page.locator('article[data-hit-id="doc-004#p0"]')
        assert "<script>window.__xss=1</script>" in xss_hit.inner_text()
        assert page.locator("article.hit img").count() == 0
        assert page.locator("main script").count() == 0
        # the first hit has focus; label with the keyboard: 1 = confirmed violation, then n = not a violation on
        # the next hit (focus moves on after each decision), then j skips one and s = suspicious
        assert page.evaluate("document.activeElement.dataset.hitId") == "doc-001#p0"
        page.keyboard.press("1")
        page.wait_for_selector('article[data-hit-id="doc-001#p0"] .lab[data-reviewer="alice"]')
        page.wait_for_function("document.activeElement.dataset.hitId === 'doc-004#p0'")
        page.keyboard.press("n")
        page.wait_for_selector('article[data-hit-id="doc-004#p0"] .lab[data-reviewer="alice"]')
        page.wait_for_function("document.activeElement.dataset.hitId === 'doc-002#p0'")
        page.keyboard.press("j")
        page.keyboard.press("r")  # rationale field, then Escape back and label
        page.keyboard.type("mask oxygen, no intubation")
        page.keyboard.press("Escape")
        page.keyboard.press("s")
        third = ids[3]
        page.wait_for_selector(f'article[data-hit-id="{third}"] .lab[data-reviewer="alice"]')

        assert "3 by you" in page.inner_text("#progress")  # updated out of band with each decision
        page.reload()
        page.wait_for_selector("article.hit")
        got = {h: page.get_attribute(f'article[data-hit-id="{h}"] .lab[data-reviewer="alice"]', "data-label")
               for h in ("doc-001#p0", "doc-004#p0", third)}
        assert got == {"doc-001#p0": "confirmed_violation", "doc-004#p0": "not_violation", third: "suspicious"}
        assert page.locator('article[data-hit-id="doc-002#p0"] .lab').count() == 0
        # the detail page of the XSS document also renders it inert
        page.goto(srv.url + "/hit/4")
        assert "onerror" in page.inner_text("main")
        assert page.evaluate("typeof window.__xss") == "undefined"
        # filters (htmx, no full reload): pattern V2 -> only V2 hits, facets follow, URL pushed
        page.goto(srv.url + "/queue")
        page.fill("form.filters input[name=pattern]", "V2")
        page.press("form.filters input[name=pattern]", "Enter")
        page.wait_for_function("location.search.includes('pattern=V2')")
        page.wait_for_function("[...document.querySelectorAll('article.hit .pat')].every(e => e.textContent === 'V2')")
        assert page.locator("article.hit").count() == 3
        assert page.inner_text("#facets").startswith("3 hits match")
        # on a hit's own page the same keys work and the hit's ledger shows the appended decision
        page.goto(srv.url + "/hit/3")
        assert page.evaluate("document.activeElement.dataset.hitId") == "doc-003#p0"
        page.keyboard.press("d")
        page.wait_for_selector("table.ledger td:has-text('duplicate')")
        assert page.url.endswith("/hit/3")
        page.goto(srv.url + "/queue?todo=1")
        page.wait_for_selector("article.hit")
        assert page.evaluate("typeof window.__xss") == "undefined"
        assert not errors, errors
        assert not external, external
        page.close()
    con = sqlite3.connect(project)
    rows = con.execute("SELECT h.hit_id, d.reviewer, d.label, d.rationale FROM decisions d JOIN hits h USING (hit_pk) "
                       "ORDER BY decision_id").fetchall()
    assert rows == [("doc-001#p0", "alice", "confirmed_violation", ""), ("doc-004#p0", "alice", "not_violation", ""),
                    (third, "alice", "suspicious", "mask oxygen, no intubation"), ("doc-003#p0", "alice", "duplicate", "")]
