"""Security regression tests (issue 17, docs/security.md): each probe that once got through is a test here.

Sessions a copy of the project cannot forge; spreadsheet-safe CSV from every writer; bounded memory in
``review new`` (run under an address-space limit); bounded request parsing and connection deadlines; look-alike
reviewer names; crafted project and result files refused with one line. Everything runs on 127.0.0.1 only.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import re
import socket
import sqlite3
import subprocess
import sys
import time
import warnings
from pathlib import Path

import pytest
from review_helpers import REVIEW_DATA, ROOT, Server, login, make_project

from organwatch.errors import InputError
from organwatch.review import ledger, schema
from organwatch.review.app import create_app
from organwatch.review.security import RunStore

warnings.filterwarnings("ignore", message=".*httpx.*")
from starlette.testclient import TestClient  # noqa: E402

BASE = "http://127.0.0.1:8765"
SRC = ROOT / "src" / "organwatch"
LIMIT_MB = 1024  # the documented memory bound of review new (docs/security.md)


def run_cli(*args: str, limit_mb: int | None = None, timeout: float = 120, cwd: Path | None = None):
    """``organwatch ARGS`` in a subprocess, optionally under RLIMIT_AS (address space) of ``limit_mb``."""
    pre = ("import resource,sys;"
           f"resource.setrlimit(resource.RLIMIT_AS, ({limit_mb} << 20, {limit_mb} << 20));" if limit_mb else
           "import sys;")
    code = pre + "from organwatch.cli import main; sys.argv=['organwatch', *sys.argv[1:]]; main()"
    return subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, timeout=timeout,
                          cwd=cwd)


def one_line_error(r, code: int = 2) -> str:
    err = r.stderr.strip()
    assert r.returncode == code, (r.returncode, r.stderr[-2000:])
    assert "Traceback" not in err and "internal error" not in err, err
    assert len(err.splitlines()) == 1, err
    return err


@pytest.fixture()
def project(tmp_path):
    return make_project(tmp_path)


@pytest.fixture()
def client(project):
    app, ra = create_app(project)
    with TestClient(app, base_url=BASE) as c:
        yield c
    ra.close()


# -- 1. sessions that a copy of the project cannot forge --------------------------------------------------------
def test_project_file_holds_no_secret(project):
    con = sqlite3.connect(project)
    keys = [r[0] for r in con.execute("SELECT key FROM meta")]
    con.close()
    assert not [k for k in keys if re.search(r"secret|key|token|salt", k)], keys
    assert b"session_secret" not in project.read_bytes()


def test_old_projects_lose_their_stored_secret(tmp_path):
    """A v2 project (which stored session_secret) is migrated to v3: the row is gone and its bytes too."""
    p = tmp_path / "v2.owproj"
    con = sqlite3.connect(p, isolation_level=None)
    for v in (1, 2):
        for stmt in schema._split(schema.MIGRATIONS[v]):
            con.execute(stmt)
    con.execute(f"PRAGMA application_id = {schema.APPLICATION_ID}")
    con.execute("PRAGMA user_version = 2")
    secret = "5ec2e7" * 10
    con.execute("INSERT INTO meta VALUES ('session_secret', ?)", (secret,))
    con.close()
    assert secret.encode() in p.read_bytes()
    schema.connect(p).close()
    con = sqlite3.connect(p)
    assert con.execute("PRAGMA user_version").fetchone()[0] == 3
    assert con.execute("SELECT COUNT(*) FROM meta WHERE key = 'session_secret'").fetchone()[0] == 0
    con.close()
    assert secret.encode() not in p.read_bytes()  # secure_delete: not left in a free page either


def test_a_cookie_signed_with_anything_from_the_file_is_no_session(project):
    """The attack of the issue: sign a cookie for any reviewer with what the project file holds."""
    import base64
    import hashlib
    import hmac

    app, ra = create_app(project)
    with TestClient(app, base_url=BASE) as c:
        con = sqlite3.connect(project)
        material = [str(v) for (v,) in con.execute("SELECT value FROM meta")] + ["", "x"]
        con.close()
        for secret in material:
            key = hashlib.sha256(("organwatch-review-session:" + secret).encode()).digest()
            payload = base64.urlsafe_b64encode(json.dumps({"r": "mallory", "c": "c", "e": 2 ** 40}).encode()
                                               ).decode().rstrip("=")
            mac = base64.urlsafe_b64encode(hmac.new(key, payload.encode(), hashlib.sha256).digest()).decode()
            c.cookies.set("ow_review", f"{payload}.{mac.rstrip('=')}")
            assert c.get("/queue", follow_redirects=False).status_code == 303
            assert c.post("/decide", data={"hit_id": "doc-001#p0", "label": "suspicious"},
                          headers={"X-CSRF-Token": "c"}).status_code == 401
    ra.close()


def test_a_restart_ends_every_session(project):
    app1, ra1 = create_app(project)
    with TestClient(app1, base_url=BASE) as c:
        login(c)
        cookie = c.cookies.get("ow_review")
    ra1.close()
    app2, ra2 = create_app(project)
    with TestClient(app2, base_url=BASE) as c:
        c.cookies.set("ow_review", cookie)
        assert c.get("/queue", follow_redirects=False).status_code == 303
    ra2.close()


def test_token_sessions_name_their_token_and_die_with_it(project):
    tokens = {"alice": "tok-alice-0001", "bob": "tok-bob-0002"}
    app, ra = create_app(project, host="0.0.0.0", tokens=dict(tokens))
    with TestClient(app, base_url="http://192.0.2.10:8765") as c:
        login(c, "tok-bob-0002", field="token")
        assert c.get("/api/session").json()["reviewer"] == "bob"
        ra.tokens.pop("bob")  # bob removed from --reviewer
        assert c.get("/api/session").status_code == 401
        ra.tokens["bob"] = "tok-bob-NEW"  # bob re-issued a different token: the old session is still dead
        assert c.get("/api/session").status_code == 401
    ra.close()


def test_logout_ends_the_session_on_the_server(client):
    csrf = login(client)
    kept = client.cookies.get("ow_review")
    assert client.post("/logout", data={"csrf_token": csrf}, follow_redirects=False).status_code == 303
    client.cookies.set("ow_review", kept)  # the attacker kept a copy of the cookie
    assert client.get("/api/session").status_code == 401
    assert client.post("/decide", data={"hit_id": "doc-001#p0", "label": "suspicious"},
                       headers={"X-CSRF-Token": csrf}).status_code == 401


def test_workers_share_sessions_and_logout(project):
    """serve --workers N: every worker opens the run's private store; a logout in one ends it in all."""
    store = RunStore()
    try:
        assert (store.directory.stat().st_mode & 0o777) == 0o700
        assert ((store.directory / "key").stat().st_mode & 0o777) == 0o600
        app1, ra1 = create_app(project, store=store)
        app2, ra2 = create_app(project, store=RunStore(store.directory))
        with TestClient(app1, base_url=BASE) as c1, TestClient(app2, base_url=BASE) as c2:
            csrf = login(c1)
            c2.cookies.set("ow_review", c1.cookies.get("ow_review"))
            assert c2.get("/api/session").json()["reviewer"] == "alice"
            c2.post("/logout", data={"csrf_token": csrf})
            assert c1.get("/api/session").status_code == 401
        ra1.close()
        ra2.close()
    finally:
        store.remove()
    assert not store.directory.exists()


def test_nonces_are_scoped_per_reviewer(project):
    con = schema.connect(project)
    a = ledger.append(con, "doc-001#p0", "alice", "suspicious", nonce="n-1")
    assert ledger.append(con, "doc-001#p0", "alice", "suspicious", nonce="n-1").decision_id == a.decision_id
    with pytest.raises(ledger.NonceConflict):
        ledger.append(con, "doc-001#p0", "bob", "not_violation", nonce="n-1")
    with pytest.raises(ledger.NonceConflict):  # same reviewer, different decision under a used nonce
        ledger.append(con, "doc-001#p0", "alice", "not_violation", nonce="n-1")
    assert con.execute("SELECT COUNT(*) FROM decisions").fetchone()[0] == 1
    con.close()


def test_nonce_reused_by_another_reviewer_is_409_over_http(project):
    app, ra = create_app(project)
    with TestClient(app, base_url=BASE) as alice, TestClient(app, base_url=BASE) as bob:
        ha = {"X-CSRF-Token": login(alice, "alice"), "Accept": "application/json"}
        hb = {"X-CSRF-Token": login(bob, "bob"), "Accept": "application/json"}
        r = alice.post("/decide", data={"hit_id": "doc-001#p0", "label": "suspicious", "nonce": "shared"}, headers=ha)
        assert r.status_code == 200
        r = bob.post("/decide", data={"hit_id": "doc-001#p0", "label": "not_violation", "nonce": "shared"}, headers=hb)
        assert r.status_code == 409 and "suspicious" not in r.text and "alice" not in r.text
        r = bob.post("/decide", data={"hit_id": "doc-001#p0", "label": "not_violation", "nonce": "own"}, headers=hb)
        assert r.status_code == 200 and r.json()["reviewer"] == "bob"
        rows = [json.loads(x) for x in alice.get("/export.jsonl").text.splitlines()]
        assert sorted((x["reviewer"], x["label"]) for x in rows) == [("alice", "suspicious"), ("bob", "not_violation")]
    ra.close()


# -- 2. spreadsheet-safe CSV ------------------------------------------------------------------------------------
FORMULAS = ['=HYPERLINK("http://evil.example","x")', "=cmd|'/c calc'!A1", "+1+1", "-2+3", "@SUM(A1)", "\tTAB",
            "\rCR"]


def _read(path: Path) -> str:
    return path.read_bytes().decode("utf-8")  # not read_text: universal newlines would turn a CR into LF


def _cells(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text, newline="")))


def _bad_cells(rows: list[list[str]]) -> list[str]:
    return [c for r in rows for c in r if c[:1] in ("=", "+", "-", "@", "\t", "\r")]


def _hostile_project(tmp_path: Path) -> Path:
    recs = [{"document_id": f, "title": f, "passages": [{"text": "x", "label": "violation", "pattern": f}]}
            for f in FORMULAS]
    recs.append({"document_id": "cr-inside", "passages": [{"text": "x", "label": "violation"}]})
    src = tmp_path / "hostile.jsonl"
    src.write_text("".join(json.dumps(r) + "\n" for r in recs), "utf-8")
    p = tmp_path / "hostile.owproj"
    r = run_cli("review", "new", str(src), str(p))
    assert r.returncode == 0, r.stderr
    con = schema.connect(p)
    for f in FORMULAS:
        ledger.append(con, f"{f}#p0", "alice", "suspicious", rationale=f)
    ledger.append(con, "cr-inside#p0", "alice", "suspicious", rationale="line one\rline two\nthree")
    con.close()
    return p


def test_review_export_csv_is_spreadsheet_safe_and_raw_on_request(tmp_path):
    p = _hostile_project(tmp_path)
    out = tmp_path / "d.csv"
    r = run_cli("review", "export", str(p), "--out", str(out))
    assert r.returncode == 0, r.stderr
    rows = _cells(_read(out))
    assert len(rows) == 1 + len(FORMULAS) + 1  # a bare CR inside a field does not make a row
    assert not _bad_cells(rows)
    assert "'=HYPERLINK(\"http://evil.example\",\"x\")" in [c for r in rows for c in r]
    assert "line one\rline two\nthree" in [c for r in rows for c in r]
    import pandas as pd

    assert len(pd.read_csv(out)) == len(FORMULAS) + 1
    raw = tmp_path / "raw.csv"
    r = run_cli("review", "export", str(p), "--out", str(raw), "--csv-raw")
    assert r.returncode == 0, r.stderr
    assert "=cmd|'/c calc'!A1" in [c for r in _cells(_read(raw)) for c in r]


def test_review_export_csv_over_http_is_spreadsheet_safe(tmp_path):
    p = _hostile_project(tmp_path)
    app, ra = create_app(p)
    with TestClient(app, base_url=BASE) as c:
        login(c)
        rows = _cells(c.get("/export.csv").text)
    ra.close()
    assert len(rows) == 1 + len(FORMULAS) + 1 and not _bad_cells(rows)


def _engine_packages() -> list[str]:
    return sorted(p.name for p in SRC.iterdir() if p.is_dir() and (p / "__init__.py").exists())


CSV_WRITE = re.compile(r"csv\.(writer|DictWriter)\(|\.to_csv\(|write_csv\(")
OWNERS_NOT_YET: dict[str, str] = {}  # package -> owner and reason, for writers not yet on the shared one


@pytest.mark.parametrize("package", _engine_packages())
def test_every_csv_writer_is_the_shared_one(package, request):
    """No engine writes CSV except through organwatch.output (the one spreadsheet-safe writer)."""
    if package in OWNERS_NOT_YET:
        request.applymarker(pytest.mark.xfail(strict=True, reason=f"owner: {OWNERS_NOT_YET[package]}"))
    offenders = [f"{f.relative_to(SRC)}:{i}" for f in sorted((SRC / package).rglob("*.py"))
                 for i, line in enumerate(f.read_text("utf-8").splitlines(), 1) if CSV_WRITE.search(line)]
    assert not offenders, offenders


def test_screen_csv_is_spreadsheet_safe(tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "=cmd.txt").write_text("=HYPERLINK(\"http://evil.example\")\n\n供体 器官 移植 死刑犯\n", "utf-8")
    out = tmp_path / "s.csv"
    r = run_cli("screen", str(corpus), "--out", str(out))
    assert r.returncode == 0, r.stderr
    assert not _bad_cells(_cells(_read(out)))


def test_claims_csv_is_spreadsheet_safe(tmp_path):
    src = tmp_path / "c.csv"
    src.write_text("claim_id,line,date_of_service,procedure_codes,service_country,member_id,jurisdiction,plan_type\n"
                   '"=HYPERLINK(""x"")",1,2024-01-05,50360,CN,@SUM(1),US-TX,fully_insured\n', "utf-8")
    out = tmp_path / "o.csv"
    r = run_cli("claims", str(src), "--out", str(out))
    assert r.returncode == 0, r.stderr
    rows = _cells(_read(out))
    assert len(rows) == 2 and not _bad_cells(rows) and rows[1][0] == "'=HYPERLINK(\"x\")"


def test_stats_csv_is_spreadsheet_safe(tmp_path):
    src = tmp_path / "series.csv"
    src.write_text("entity,period,measure,value\n" + "".join(
        f'"=HYPERLINK(""x"")",{2000 + i},total_kidney_tx,{100 + 3 * i * i}\n' for i in range(12)), "utf-8")
    out = tmp_path / "f.csv"
    r = run_cli("stats", str(src), "--out", str(out), "-q")
    assert r.returncode == 0, r.stderr
    rows = _cells(_read(out))
    assert any("HYPERLINK" in c for r in rows for c in r) and not _bad_cells(rows)


@pytest.mark.parametrize("args", [("laws", "--out"), ("hospitals", "--out"), ("data", "export", "china_table7", "--out")],
                         ids=["laws", "hospitals", "data-export"])
def test_embedded_table_csv_has_no_formula_cells(tmp_path, args):
    out = tmp_path / "t.csv"
    r = run_cli(*args, str(out))
    assert r.returncode == 0, r.stderr
    rows = _cells(_read(out))
    assert len(rows) > 1 and not _bad_cells(rows)


# -- 3. bounded memory in review new (under an address-space limit) --------------------------------------------
def _gzip_of(path: Path, head: bytes, filler: bytes, times: int) -> Path:
    with gzip.open(path, "wb", compresslevel=9) as fh:
        fh.write(head)
        for _ in range(times):
            fh.write(filler)
    return path


def test_gzip_of_blank_lines_is_refused_quickly_under_a_memory_limit(tmp_path):
    bomb = _gzip_of(tmp_path / "blank.jsonl.gz", b'{"document_id": "a"}\n', b"\n" * (1 << 24), 64)  # 1 GiB inflated
    t = time.monotonic()
    r = run_cli("review", "new", str(bomb), str(tmp_path / "p.owproj"), limit_mb=LIMIT_MB)
    assert "decompression bomb" in one_line_error(r)
    assert time.monotonic() - t < 60  # was ~8 minutes; now stops after 16 MiB inflated (no timing asserted tighter)
    assert sorted(x.name for x in tmp_path.iterdir()) == ["blank.jsonl.gz"]  # no project, no temporary file


def test_gzip_of_one_endless_line_is_refused_without_buffering(tmp_path):
    bomb = _gzip_of(tmp_path / "line.jsonl.gz", b'{"document_id": "a"}\n', b"x" * (1 << 24), 128)  # 2 GiB, no \n
    r = run_cli("review", "new", str(bomb), str(tmp_path / "p.owproj"), limit_mb=LIMIT_MB)
    assert "decompression bomb" in one_line_error(r)
    assert not (tmp_path / "p.owproj").exists()


def test_huge_records_stay_within_the_memory_bound(tmp_path):
    """A 15 MiB record of five million empty passages, a 20 MiB line and 30,000-deep nesting: bad records,
    counted, the rest imported, all under the address-space limit."""
    src = tmp_path / "huge.jsonl"
    with open(src, "wb") as fh:
        fh.write(b'{"document_id": "ok-1", "passages": [{"text": "x", "label": "violation"}]}\n')
        fh.write(b'{"document_id": "many", "passages": [' + b"{}," * (5 << 20) + b"{}]}\n")
        fh.write(b'{"document_id": "long", "title": "' + b"y" * (20 << 20) + b'"}\n')
        fh.write(b'{"document_id": "deep", "x": ' + b"[" * 30000 + b"]" * 30000 + b"}\n")
        fh.write(b'{"document_id": "big-int", "year": ' + b"9" * 30 + b"}\n")
        fh.write(b'{"document_id": "ok-2"}\n')
    r = run_cli("review", "new", str(src), str(tmp_path / "p.owproj"), "--json", limit_mb=LIMIT_MB)
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    assert (doc["records"], doc["imported"], doc["failed"]) == (6, 2, 4)
    msgs = " ".join(e["message"] for e in doc["inputs"][0]["errors"])
    assert "more than 10000 items" in msgs and "longer than" in msgs and "out of range" in msgs


def test_a_parquet_cell_inflating_to_300_mib_is_a_one_line_error_under_the_limit(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    f = tmp_path / "bomb.parquet"
    pq.write_table(pa.table({"document_id": ["a", "b"], "title": ["x", "y" * (300 << 20)]}), f, compression="zstd")
    assert f.stat().st_size < 50 << 20
    r = run_cli("review", "new", str(f), str(tmp_path / "p.owproj"), limit_mb=LIMIT_MB)
    assert r.returncode in (0, 2), r.stderr[-500:]  # imported within the bound, or refused as one line
    if r.returncode == 2:
        one_line_error(r)
        assert not (tmp_path / "p.owproj").exists()


def test_review_new_json_is_one_document_and_usage_names_results_and_project(tmp_path):
    r = run_cli("review", "new", str(REVIEW_DATA / "screen_small.jsonl"), str(tmp_path / "p.owproj"), "--json")
    assert r.returncode == 0 and json.loads(r.stdout)["imported"] == 12
    r = run_cli("review", "new", "--help")
    assert "Usage: organwatch review new [OPTIONS] RESULTS... PROJECT" in r.stdout


def test_an_interrupted_import_leaves_nothing_behind(tmp_path):
    big = tmp_path / "big.jsonl"
    with open(big, "w", encoding="utf-8") as fh:
        for i in range(300_000):
            fh.write(json.dumps({"document_id": f"d{i}", "title": f"title {i}", "passages": [
                {"text": "passage " * 20, "label": "violation", "spans": [[0, 7]], "confidence": 0.5}]}) + "\n")
    out = tmp_path / "out"
    out.mkdir()
    code = "from organwatch.cli import main; import sys; sys.argv=['organwatch', *sys.argv[1:]]; main()"
    proc = subprocess.Popen([sys.executable, "-c", code, "review", "new", str(big), str(out / "p.owproj")],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not any(out.iterdir()):
        time.sleep(0.01)
    time.sleep(0.3)
    assert proc.poll() is None, "the import finished before it could be interrupted"
    proc.terminate()  # SIGTERM, as a shutdown or `kill` would
    proc.wait(timeout=60)
    assert proc.returncode != 0
    assert list(out.iterdir()) == []  # neither the project nor its temporary file


def test_review_new_never_replaces_an_existing_project(tmp_path):
    p = make_project(tmp_path)
    before = p.read_bytes()
    r = run_cli("review", "new", str(REVIEW_DATA / "screen_small.jsonl"), str(p))
    assert "already exists" in one_line_error(r) and p.read_bytes() == before


# -- 5. requests ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("path", ["/hit/9223372036854775808", "/hit/" + "9" * 5000, "/hit/0", "/hit/-1",
                                  "/hit/1e3", "/hit/%EF%BC%91"])
def test_hit_ids_out_of_range_are_404(client, path):
    login(client)
    assert client.get(path).status_code == 404


@pytest.mark.parametrize("query", ["year=" + "1" + "0" * 30, "year=" + "9" * 5000, "year=1e3", "page=" + "9" * 5000,
                                   "page=9223372036854775808", "page=-1"])
def test_query_integers_out_of_range_are_400(client, query):
    login(client)
    for path in ("/queue", "/facets"):
        r = client.get(f"{path}?{query}")
        assert r.status_code in (200, 400), (path, r.status_code)  # never 500
    assert client.get(f"/queue?{query}").status_code == 400


def test_deep_json_and_big_forms_are_refused_also_before_login(client):
    deep = "[" * 30000 + "]" * 30000
    r = client.post("/login", content='{"reviewer": ' + deep + "}", headers={"Content-Type": "application/json"})
    assert r.status_code in (400, 403)
    csrf = login(client)
    h = {"X-CSRF-Token": csrf, "Content-Type": "application/json"}
    r = client.post("/decide", content='{"hit_id": ' + deep + "}", headers=h)
    assert r.status_code == 400 and "nested" in r.text
    r = client.post("/decide", content=json.dumps({"hit_id": {"a": [1]}}), headers=h)
    assert r.status_code == 400
    r = client.post("/decide", content="&".join(f"f{i}=1" for i in range(1000)),
                    headers={"X-CSRF-Token": csrf, "Content-Type": "application/x-www-form-urlencoded"})
    assert r.status_code == 400
    r = client.post("/decide", content=b"a=" + b"x" * (70 * 1024), headers={"X-CSRF-Token": csrf})
    assert r.status_code == 413


def test_non_ascii_csrf_and_token_values_are_refused_not_500(project):
    app, ra = create_app(project, host="0.0.0.0", tokens={"alice": "tok-alice-0001"})
    with TestClient(app, base_url="http://192.0.2.10:8765") as c:
        c.get("/login")
        r = c.post("/login", data={"token": "tök", "login_csrf": "é"}, follow_redirects=False)
        assert r.status_code == 403
        page = c.get("/login").text
        tok = re.search(r'name="login_csrf" value="([^"]+)"', page).group(1)
        r = c.post("/login", data={"token": "tök-ß", "login_csrf": tok}, follow_redirects=False)
        assert r.status_code == 400
        login(c, "tok-alice-0001", field="token")
        r = c.post("/decide", data={"hit_id": "doc-001#p0", "label": "suspicious", "csrf_token": "ü"})
        assert r.status_code in (400, 403)
    ra.close()


@pytest.mark.parametrize("name", ["alice\u200b", "\u202eecila", "al\u0085ice", "ali\u2066ce", "\ufeffalice",
                                  "alice\ufe0f", "bob\u3164", "a\u2028b", "x\u00adx"])
def test_look_alike_reviewer_names_are_refused(name):
    with pytest.raises(InputError, match="invisible or control"):
        ledger.validate_reviewer(name)


def test_reviewer_names_are_nfkc_normalised(client):
    assert ledger.validate_reviewer("ａｌｉｃｅ") == "alice"
    assert ledger.validate_reviewer("  Dr.  Li  ") == "Dr. Li"
    login(client, "ａｌｉｃｅ")
    assert client.get("/api/session").json()["reviewer"] == "alice"


def test_serve_refuses_a_look_alike_reviewer_name(project):
    r = run_cli("review", "serve", str(project), "--host", "127.0.0.1", "--port", "1", "--reviewer", "alice\u200b")
    assert "invisible or control" in one_line_error(r)


def test_free_text_is_bidi_isolated_in_the_ui(tmp_path):
    src = tmp_path / "bidi.jsonl"
    rlo = "\u202e"
    src.write_text(json.dumps({"document_id": f"doc{rlo}1", "title": f"title {rlo}evil", "institution": f"inst{rlo}x",
                               "passages": [{"text": "t", "label": "violation", "pattern": "V1"}]}) + "\n", "utf-8")
    p = tmp_path / "b.owproj"
    assert run_cli("review", "new", str(src), str(p)).returncode == 0
    con = schema.connect(p)
    ledger.append(con, f"doc{rlo}1#p0", "bob", "suspicious", rationale=f"see {rlo}gnp.exe")
    con.close()
    app, ra = create_app(p)
    with TestClient(app, base_url=BASE) as c:
        login(c)
        html = c.get("/queue").text + c.get("/hit/1").text
    ra.close()
    for text in (f"title {rlo}evil", f"inst{rlo}x", f"see {rlo}gnp.exe", f"doc{rlo}1#p0"):
        assert f"<bdi>{text}</bdi>" in html, text
    # every override sits inside an isolate
    outside = re.sub(r"<bdi>.*?</bdi>", "", html, flags=re.S)
    outside = re.sub(r'<p class="passage"[^>]*dir="auto">.*?</p>', "", outside, flags=re.S)
    assert rlo not in re.sub(r'"[^"<>]*"', "", outside)  # only inside attribute values (not rendered)


def _raw(port: int, data: bytes, timeout: float = 10) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(data)
        out = b""
        try:
            while chunk := s.recv(65536):
                out += chunk
        except TimeoutError:
            pass
        return out


def test_huge_content_length_is_answered_at_once(project):
    with Server(project) as srv:
        t = time.monotonic()
        got = _raw(srv.port, b"POST /login HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-www-form-"
                             b"urlencoded\r\nContent-Length: 1000000000\r\n\r\nreviewer=a", timeout=20)
        assert got.startswith(b"HTTP/1.1 413"), got[:200]
        assert time.monotonic() - t < 8  # answered without waiting for the body (was held 12 s)


def test_drip_feeding_connections_are_closed(project):
    """20 connections sending headers (and one a body) a byte at a time are closed at the request deadline
    ([server] request_timeout = 10 s); the server keeps answering meanwhile."""
    with Server(project) as srv:
        socks = []
        for i in range(20):
            s = socket.create_connection(("127.0.0.1", srv.port), timeout=30)
            s.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: " if i else
                      b"POST /login HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 5000\r\n\r\nreviewer=")
            socks.append(s)
        closed = [False] * 20
        t0 = time.monotonic()
        while time.monotonic() - t0 < 25 and not all(closed):
            for i, s in enumerate(socks):
                if closed[i]:
                    continue
                try:
                    s.sendall(b"a")
                    s.setblocking(False)
                    try:
                        if s.recv(4096) == b"":
                            closed[i] = True
                    except BlockingIOError:
                        pass
                    finally:
                        s.setblocking(True)
                except OSError:
                    closed[i] = True
            assert _raw(srv.port, b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
                        ).startswith(b"HTTP/1.1 200")
            time.sleep(1)
        for s in socks:
            s.close()
        assert all(closed), f"{closed.count(False)} drip-feeding connections still open after 25 s"


# -- 6. untrusted project and result files ------------------------------------------------------------------------
def _tamper(project: Path, *sql: str) -> Path:
    con = sqlite3.connect(project, isolation_level=None)
    for s in sql:
        con.execute(s)
    con.close()
    return project


RECURSIVE_VIEW = ("DROP TABLE hit_state",
                  "CREATE VIEW hit_state(hit_pk, reviewer, decision_id, label, pattern) AS WITH RECURSIVE r(n) AS "
                  "(SELECT 1 UNION ALL SELECT n + 1 FROM r) SELECT n, 'x', n, 'confirmed_violation', NULL FROM r")


@pytest.mark.parametrize("command", [("report", "{p}", "--out", "{d}/r.html"), ("review", "status", "{p}"),
                                     ("review", "export", "{p}"), ("review", "serve", "{p}", "--port", "1")],
                         ids=["report", "status", "export", "serve"])
def test_a_recursive_view_in_place_of_hit_state_is_refused(project, command):
    _tamper(project, *RECURSIVE_VIEW)
    r = run_cli(*(c.format(p=project, d=project.parent) for c in command), timeout=60)
    assert "not a genuine organwatch review project" in one_line_error(r)


@pytest.mark.parametrize("sql", [
    ("CREATE TRIGGER evil AFTER INSERT ON decisions BEGIN DELETE FROM hits; END",),
    ("CREATE TABLE extra (x)",),
    ("CREATE INDEX hits_text ON hits(text)",),
    ("DROP TRIGGER decisions_no_update",),
    ("DROP TRIGGER decisions_no_delete", "CREATE TRIGGER decisions_no_delete BEFORE DELETE ON decisions BEGIN "
     "SELECT 1; END"),
    ("CREATE VIEW v AS SELECT 1",),
    ("ANALYZE",),  # planner statistics steer every query; a genuine project has none
], ids=["trigger", "table", "index", "missing-trigger", "altered-trigger", "view", "planner-statistics"])
def test_unknown_or_altered_schema_objects_are_refused(project, sql):
    _tamper(project, *sql)
    with pytest.raises(InputError, match="not a genuine organwatch review project"):
        schema.connect(project)
    with pytest.raises(InputError, match="not a genuine organwatch review project"):
        schema.connect(project, readonly=True)


def test_a_damaged_project_is_a_one_line_error(project, tmp_path):
    data = bytearray(project.read_bytes())
    for i in range(4096, len(data), 997):  # scribble over every page but the header
        data[i] = (data[i] + 101) % 256
    project.write_bytes(bytes(data))
    for args in (("report", str(project), "--out", str(tmp_path / "r.html")), ("review", "status", str(project)),
                 ("review", "export", str(project))):
        r = run_cli(*args, timeout=60)
        one_line_error(r)


@pytest.mark.parametrize("sql", [
    "UPDATE hits SET spans = 'not json'",
    "INSERT INTO hit_state VALUES (999999, 'x', 1, 'confirmed_violation', NULL)",
    "UPDATE inputs SET provenance = '{'",
], ids=["spans", "dangling-state", "provenance"])
def test_malformed_values_in_a_project_are_a_one_line_error_in_the_report(project, sql):
    con = schema.connect(project)
    ledger.append(con, "doc-001#p0", "alice", "confirmed_violation")
    con.close()
    _tamper(project, sql)
    r = run_cli("report", str(project), "--out", str(project.parent / "r.html"), timeout=60)
    assert "review project" in one_line_error(r)


def test_deeply_nested_provenance_and_summaries_never_crash_review_new(tmp_path):
    deep = "[" * 30000 + "]" * 30000
    res = tmp_path / "r.jsonl"
    res.write_text('{"document_id": "a"}\n', "utf-8")
    (tmp_path / "r.jsonl.provenance.json").write_text(deep, "utf-8")  # a sidecar that is not provenance: ignored
    r = run_cli("review", "new", str(res), str(tmp_path / "p.owproj"))
    assert r.returncode == 0, r.stderr
    summary = tmp_path / "summary.json"
    summary.write_text(deep, "utf-8")
    r = run_cli("review", "new", str(res), str(tmp_path / "q.owproj"), "--screen-summary", str(summary))
    assert "screen summary" in one_line_error(r) and not (tmp_path / "q.owproj").exists()


def test_malformed_project_data_is_no_traceback_in_the_ui(project):
    _tamper(project, "UPDATE hits SET spans = 'not json'")
    app, ra = create_app(project)
    with TestClient(app, base_url=BASE, raise_server_exceptions=False) as c:
        login(c)
        r = c.get("/queue")
        assert r.status_code == 500 and "malformed data" in r.text and "Traceback" not in r.text
    ra.close()


def test_review_new_on_malformed_inputs_is_a_one_line_error(tmp_path):
    cases = {"random.jsonl": bytes(range(256)) * 4, "cut.jsonl.gz": gzip.compress(b'{"document_id": "a"}\n' * 1000)[:-40],
             "bad.parquet": b"PAR1" + b"\0" * 100 + b"PAR1", "gz-garbage.jsonl.gz": b"\x1f\x8b" + b"\xff" * 200}
    for name, data in cases.items():
        f = tmp_path / name
        f.write_bytes(data)
        r = run_cli("review", "new", str(f), str(tmp_path / f"{name}.owproj"))
        one_line_error(r)
        assert not (tmp_path / f"{name}.owproj").exists()


SCREEN_BAD = {"passages-not-list": {"passages": "x"}, "patterns-number": {"patterns": 5},
              "year-object": {"year": {"a": 1}}, "ethics-list": {"ethics": [1, 2]}}
VOLUME_KEYS = ["by_hospital", "calibration", "donors", "draws", "evidence_mix", "imputation", "median"]
REPORT_XFAIL: dict[str, str] = {}  # every case holds: sections validate, and report/build.py turns the rest into one line


def _report_cases() -> list[str]:
    return [f"screen-{k}" for k in SCREEN_BAD] + [f"volume-{k}" for k in VOLUME_KEYS]


@pytest.fixture(scope="module")
def volume_result(tmp_path_factory) -> Path:
    good = tmp_path_factory.mktemp("volume") / "v.json"
    r = run_cli("volume", "--json", "--out", str(good))
    assert r.returncode == 0, r.stderr
    return good


@pytest.mark.parametrize("case", _report_cases())
def test_report_on_malformed_result_files_never_ends_as_internal_error(tmp_path, case, request, volume_result):
    """Every result file the report accepts, with one field of the wrong type: a report or one line, exit 2."""
    if case in REPORT_XFAIL:
        request.applymarker(pytest.mark.xfail(strict=True, reason=REPORT_XFAIL[case]))
    kind, key = case.split("-", 1)
    if kind == "screen":
        rec = json.loads((REVIEW_DATA / "screen_small.jsonl").read_text("utf-8").splitlines()[0])
        rec.update(SCREEN_BAD[key])
        f = tmp_path / "bad.jsonl"
        f.write_text(json.dumps(rec) + "\n", "utf-8")
    else:
        doc = json.loads(volume_result.read_text("utf-8"))
        doc[key] = "garbage"
        f = tmp_path / "bad.json"
        f.write_text(json.dumps(doc), "utf-8")
    r = run_cli("report", str(f), "--out", str(tmp_path / "r.html"), timeout=300)
    assert "internal error" not in r.stderr and "Traceback" not in r.stderr, r.stderr[-500:]
    assert r.returncode in (0, 2), r.stderr[-500:]
    if r.returncode == 2:
        one_line_error(r)
