"""The web app over HTTP (Starlette TestClient): sessions, CSRF, escaping, CSP, host checks, filters, facets."""

from __future__ import annotations

import re
import warnings

import pytest
from review_helpers import login, make_project

from organwatch.errors import InputError
from organwatch.review.app import create_app

warnings.filterwarnings("ignore", message=".*httpx.*")  # Starlette's note about its test client's transport
from starlette.testclient import TestClient  # noqa: E402

BASE = "http://127.0.0.1:8765"


@pytest.fixture()
def client(tmp_path):
    app, ra = create_app(make_project(tmp_path))
    with TestClient(app, base_url=BASE) as c:
        yield c
    ra.close()


def test_pages_need_a_session_and_writes_need_csrf(client):
    assert client.get("/queue", follow_redirects=False).headers["location"] == "/login"
    assert client.post("/decide", data={"hit_id": "doc-001#p0", "label": "suspicious"}).status_code == 401
    csrf = login(client)
    r = client.post("/decide", data={"hit_id": "doc-001#p0", "label": "suspicious"})
    assert r.status_code == 403  # no token
    r = client.post("/decide", data={"hit_id": "doc-001#p0", "label": "suspicious"}, headers={"X-CSRF-Token": "x" * 32})
    assert r.status_code == 403  # wrong token
    r = client.post("/decide", data={"hit_id": "doc-001#p0", "label": "suspicious"},
                    headers={"X-CSRF-Token": csrf, "Origin": "http://evil.example"})
    assert r.status_code == 403  # cross-origin
    r = client.post("/decide", data={"hit_id": "doc-001#p0", "label": "suspicious"},
                    headers={"X-CSRF-Token": csrf, "Sec-Fetch-Site": "cross-site"})
    assert r.status_code == 403
    r = client.post("/decide", json={"hit_id": "doc-001#p0", "label": "suspicious", "rationale": "r"},
                    headers={"X-CSRF-Token": csrf, "Accept": "application/json", "Origin": BASE})
    assert r.status_code == 200 and r.json()["label"] == "suspicious" and r.json()["reviewer"] == "alice"
    r = client.post("/decide", data={"hit_id": "doc-001#p0", "label": "guilty"}, headers={"X-CSRF-Token": csrf})
    assert r.status_code == 400 and "label must be one of" in r.text
    # a forged cookie is no session
    client.cookies.set("ow_review", "eyJyIjoibWFsbG9yeSJ9.forged")
    assert client.get("/queue", follow_redirects=False).status_code == 303


def test_document_text_is_escaped_and_csp_forbids_inline_script(client):
    login(client)
    r = client.get("/queue")
    assert r.status_code == 200
    html = r.text
    assert "<script>window.__xss" not in html and "<img src=x" not in html
    assert "&lt;script&gt;window.__xss=1&lt;/script&gt;" in html
    assert "&lt;b&gt;Hospital&lt;/b&gt;" in html
    # the only script elements are the two packaged files
    assert re.findall(r"<script[^>]*>", html) == ['<script src="/static/htmx.min.js">',
                                                  '<script src="/static/review.js" defer>']
    csp = r.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp and "unsafe-eval" not in csp
    assert r.headers["x-frame-options"] == "DENY"
    detail = client.get("/hit/4").text
    assert "<script>window" not in detail and "onerror=&#34;" in detail


def test_host_header_and_static_files(client):
    assert client.get("/healthz", headers={"host": "attacker.example"}).status_code == 400
    assert client.get("/healthz", headers={"host": "127.0.0.1.attacker.example:8765"}).status_code == 400
    for ok in ("127.0.0.1:8765", "localhost:8765", "[::1]:8765", "localhost"):
        assert client.get("/healthz", headers={"host": ok}).status_code == 200, ok
    r = client.get("/static/htmx.min.js")
    assert r.status_code == 200 and b"htmx" in r.content[:2000]
    for bad in ("/static/..%2Fschema.py", "/static/review.toml", "/static/%2e%2e%2f%2e%2e%2fpyproject.toml",
                "/export.py", "/hit/abc"):
        assert client.get(bad).status_code == 404, bad


def test_queue_order_filters_facets_and_progress(client):
    csrf = login(client)
    html = client.get("/queue").text
    ids = re.findall(r'data-hit-id="([^"]+)"', html)
    assert ids[:3] == ["doc-001#p0", "doc-004#p0", "doc-002#p0"]
    assert ids[-1] in ("doc-010#doc",)  # no confidence: last
    # evidence spans are highlighted in the original language; events listed
    assert '<mark class="span">脑死亡后</mark>' in html and 'class="etype"><bdi>INT' in html
    h = {"X-CSRF-Token": csrf}
    client.post("/decide", data={"hit_id": "doc-001#p0", "label": "confirmed_violation"}, headers=h)
    client.post("/decide", data={"hit_id": "doc-005#p0", "label": "duplicate"}, headers=h)
    f = client.get("/facets?format=json").json()
    assert f["total"] == 10 and ["V2", 3] in f["pattern"] and ["confirmed_violation", 1] in f["label"]
    assert f["reviewer"] == [["alice", 2]]
    f = client.get("/facets?format=json&pattern=V1").json()
    assert f["total"] == 2 and f["label"] == [["confirmed_violation", 1]]
    f = client.get("/facets?format=json&label=undecided").json()
    assert f["total"] == 8 and ["V1", 1] in f["pattern"] and f["label"] == []
    f = client.get("/facets?format=json&label=duplicate").json()
    assert f["total"] == 1 and f["pattern"] == [["V4", 1]]
    # facet links keep the other filters and add their own
    page = client.get("/queue?year=2008").text
    href = re.search(r'<a href="(/queue\?[^"]*pattern=V2[^"]*)"><bdi>V2</bdi></a>', page).group(1).replace("&amp;", "&")
    assert "year=2008" in href
    assert re.findall(r'data-hit-id="([^"]+)"', client.get(href).text) == ["doc-002#p0", "doc-003#p0"]
    q = re.findall(r'data-hit-id="([^"]+)"', client.get("/queue?label=confirmed_violation").text)
    assert q == ["doc-001#p0"]
    todo = re.findall(r'data-hit-id="([^"]+)"', client.get("/queue?todo=1").text)
    assert "doc-001#p0" not in todo and len(todo) == 8
    q = re.findall(r'data-hit-id="([^"]+)"', client.get("/queue?year=2012&institution=").text)
    assert q == ["doc-005#p0", "doc-006#p0"]
    assert client.get("/queue?year=abc").status_code == 400
    assert client.get("/queue?label=<script>").status_code == 400
    assert client.get("/api/progress").json()["decided"] == 2
    agree = client.get("/agreement")
    assert agree.status_code == 200 and "Fleiss" in agree.text
    csv_text = client.get("/export.csv").text
    assert csv_text.splitlines()[0].startswith("hit_id,reviewer,timestamp,label,pattern,rationale")
    # htmx partial: just the hit, with the new label
    r = client.post("/decide", data={"hit_id": "doc-002#p0", "label": "not_violation"},
                    headers={**h, "HX-Request": "true"})
    assert r.text.lstrip().startswith('<article class="hit" id="hit-') and 'data-label="not_violation"' in r.text


def test_tokens_required_beyond_loopback(tmp_path):
    project = make_project(tmp_path)
    with pytest.raises(InputError, match="tokens"):
        create_app(project, host="0.0.0.0")
    app, ra = create_app(project, host="0.0.0.0", tokens={"alice": "tok-alice-123", "bob": "tok-bob-456"})
    with TestClient(app, base_url="http://192.0.2.10:8765") as c:
        page = c.get("/login").text
        assert 'name="token"' in page and 'name="reviewer"' not in page
        tok = re.search(r'name="login_csrf" value="([^"]+)"', page).group(1)
        r = c.post("/login", data={"token": "wrong", "login_csrf": tok}, follow_redirects=False)
        assert r.status_code == 400 and "unknown token" in r.text
        # a name alone is not accepted when tokens are in force
        tok = re.search(r'name="login_csrf" value="([^"]+)"', r.text).group(1)
        r = c.post("/login", data={"reviewer": "alice", "login_csrf": tok}, follow_redirects=False)
        assert r.status_code == 400
        assert login(c, "tok-bob-456", field="token")
        assert c.get("/api/session").json()["reviewer"] == "bob"
    ra.close()


def test_login_form_needs_its_csrf_cookie(client):
    r = client.post("/login", data={"reviewer": "alice", "login_csrf": "guess"}, follow_redirects=False)
    assert r.status_code == 403
    client.get("/login")
    r = client.post("/login", data={"reviewer": "alice", "login_csrf": "guess"}, follow_redirects=False)
    assert r.status_code == 403


def test_serve_cli_refuses_non_loopback_without_tokens_and_folds_wal(tmp_path):
    import sqlite3
    import subprocess
    import sys

    from review_helpers import Server

    project = make_project(tmp_path)
    r = subprocess.run([sys.executable, "-m", "organwatch", "review", "serve", str(project), "--host", "0.0.0.0",
                        "--port", "1"], capture_output=True, text=True, timeout=60)
    assert r.returncode == 2 and "--reviewer" in r.stderr and "Traceback" not in r.stderr
    import socket

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        r = subprocess.run([sys.executable, "-m", "organwatch", "review", "serve", str(project), "--port",
                            str(busy.getsockname()[1])], capture_output=True, text=True, timeout=60)
    assert r.returncode == 2 and "cannot listen" in r.stderr and len(r.stderr.strip().splitlines()) == 1
    srv = Server(project)
    con = sqlite3.connect(project)
    assert con.execute("PRAGMA journal_mode").fetchone()[0] == "wal"  # WAL while served
    con.close()
    srv.stop()
    con = sqlite3.connect(project)
    assert con.execute("PRAGMA journal_mode").fetchone()[0] == "delete"  # one file again afterwards
    con.close()


def test_mark_group_duplicates(client):
    csrf = login(client)
    page = client.get("/hit/5").text  # doc-005: same title as doc-006 in traditional characters
    assert "grouped with" in page and "doc-006" in page
    assert client.post("/mark-duplicates", data={"hit_id": "doc-005#p0"}).status_code == 403  # CSRF
    r = client.post("/mark-duplicates", data={"hit_id": "doc-005#p0"},
                    headers={"X-CSRF-Token": csrf, "Accept": "application/json"})
    assert r.json() == {"kept": "doc-005#p0", "marked": ["doc-006#p0"]}
    again = client.post("/mark-duplicates", data={"hit_id": "doc-005#p0"},
                        headers={"X-CSRF-Token": csrf, "Accept": "application/json"})
    assert again.json()["marked"] == []  # already marked: nothing appended twice
    rows = client.get("/export.jsonl").text.splitlines()
    assert len(rows) == 1 and '"duplicate of doc-005#p0' in rows[0]
    r = client.post("/mark-duplicates", data={"hit_id": "doc-001#p0"}, headers={"X-CSRF-Token": csrf})
    assert r.status_code == 400 and "not in a duplicate group" in r.text


def test_logout_needs_csrf_and_ends_the_session(client):
    csrf = login(client)
    assert client.post("/logout", data={}, follow_redirects=False).status_code == 403
    r = client.post("/logout", data={"csrf_token": csrf}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/login"
    assert client.get("/queue", follow_redirects=False).headers["location"] == "/login"
