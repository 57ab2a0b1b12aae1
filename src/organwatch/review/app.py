"""The review web UI: a Starlette app with server-rendered Jinja2 templates and vendored htmx (no CDN).

Routes: ``/login`` ``/logout`` ``/queue`` (filters, facets, progress; keyboard labelling) ``/hit/{n}`` (one hit,
its events and decision history) ``/agreement`` (kappa, disagreements) ``/decide`` (POST: append a decision)
``/mark-duplicates`` (POST: label the rest of a duplicate group)
``/export.{csv,jsonl}`` ``/api/progress`` ``/healthz`` ``/static/{name}`` (a fixed set of packaged files).
Nothing in a request names a file: the project path is fixed when the app is made.
"""

from __future__ import annotations

import json
import secrets
import sqlite3
import urllib.parse
from importlib import resources
from pathlib import Path
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from markupsafe import Markup
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, PlainTextResponse, RedirectResponse, Response
from starlette.routing import Route

from organwatch import __version__
from organwatch.errors import InputError
from organwatch.output import records_to_csv
from organwatch.review import agreement as agreement_mod
from organwatch.review import ledger, queries
from organwatch.review.config import labels, settings
from organwatch.review.render import passage_segments, strip_bidi
from organwatch.review.schema import ThreadConnections, connect
from organwatch.review.security import (
    COOKIE,
    SECURITY_HEADERS,
    RunStore,
    Session,
    Sessions,
    check_token,
    csrf_ok,
    is_loopback,
)

MAX_BODY = 64 * 1024
MAX_FIELDS = 20
MAX_JSON_DEPTH = 4  # a decision is a flat object; deeper bodies are refused before parsing
MAX_HIT_PK = 2 ** 63 - 1  # SQLite INTEGER range: larger ids cannot exist
MAX_PAGE = 100_000
STATIC = {"htmx.min.js": "text/javascript", "review.js": "text/javascript", "review.css": "text/css"}


class ReviewApp:
    def __init__(self, project: Path, host: str = "127.0.0.1", port: int = 8765,
                 tokens: dict[str, str] | None = None, store: RunStore | None = None):
        self.project = Path(project)
        self.host, self.port = host, port
        self.loopback = is_loopback(host)
        self.tokens = tokens or {}
        if not self.loopback and not self.tokens:
            raise InputError("serving beyond loopback needs per-reviewer tokens (give --reviewer NAME ...)")
        con = connect(self.project, wal=True)  # checks the schema, migrates once, switches the file to WAL
        self.title = self.project.name
        con.close()
        # the signing key and the sessions belong to this server run, never to the project file (it travels)
        self.own_store = store is None
        self.store = store or RunStore()
        self.sessions = Sessions(self.store, int(settings()["server"]["session_max_age"]))
        self.page_size = int(settings()["server"]["page_size"])
        self.cache = queries.FacetCache()
        self._cons = ThreadConnections(lambda: connect(self.project, wal=True, check_same_thread=False))
        self.static = {n: resources.files("organwatch.review").joinpath("static", n).read_bytes() for n in STATIC}
        self.env = Environment(loader=PackageLoader("organwatch.review", "templates"),
                               autoescape=select_autoescape(["html", "j2"]), undefined=StrictUndefined,
                               trim_blocks=True, lstrip_blocks=True)
        self.env.globals.update(labels=labels(), version=__version__,
                                label_names={lab.code: lab.name for lab in labels()},
                                keymap=json.dumps(self._keymap(), ensure_ascii=True),
                                segments=passage_segments, new_nonce=lambda: secrets.token_urlsafe(12),
                                urlencode=lambda d: urllib.parse.urlencode(d), label_buttons=self._label_buttons(),
                                facet_links=queries.facet_links)
        self.env.filters["nobidi"] = strip_bidi

    def _label_buttons(self) -> Markup:
        """The label buttons are the same in every hit: rendered once (escaped) instead of per hit."""
        return Markup("").join(Markup(
            '<button type="submit" name="label" value="{0}" data-label="{0}" title="{1}">{2} <kbd>{3}</kbd></button>\n'
        ).format(lab.code, lab.description, lab.name, lab.keys[0]) for lab in labels())

    @staticmethod
    def _keymap() -> dict[str, Any]:
        nav = settings()["navigation"]
        return {"labels": {k: lab.code for lab in labels() for k in lab.keys}, **nav}

    # -- plumbing -----------------------------------------------------------------------------------------
    def con(self) -> sqlite3.Connection:
        return self._cons.get()

    def close(self) -> None:
        self._cons.close()
        if self.own_store:
            self.store.remove()
        else:
            self.store.close()

    def render(self, request: Request, name: str, status: int = 200, **ctx: Any) -> HTMLResponse:
        session = ctx.pop("session", None)
        html = self.env.get_template(name).render(request_path=request.url.path, session=session,
                                                  project=self.title, **ctx)
        return HTMLResponse(html, status_code=status, headers=SECURITY_HEADERS)

    def session(self, request: Request) -> Session | None:
        return self.sessions.get(request.cookies.get(COOKIE), self.tokens)

    def origin_ok(self, request: Request) -> bool:
        site = request.headers.get("sec-fetch-site")
        if site is not None and site not in ("same-origin", "none"):
            return False
        origin = request.headers.get("origin")
        if origin is None:  # browsers send Origin on POST; non-browser clients still need the CSRF token
            return True
        host = request.headers.get("host", "")
        return origin in (f"http://{host}", f"https://{host}")

    async def form(self, request: Request) -> dict[str, str]:
        """The request body as a flat dict of strings: a form or a flat JSON object, at most ``MAX_BODY`` bytes
        (a larger ``Content-Length`` is refused before anything is read) and ``MAX_FIELDS`` fields."""
        ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
        body = await read_body(request)
        if ctype == "application/json":
            return json_form(body)
        if ctype not in ("application/x-www-form-urlencoded", ""):
            raise InputError("unsupported content type")
        try:
            pairs = urllib.parse.parse_qsl(body.decode("utf-8"), keep_blank_values=True, max_num_fields=MAX_FIELDS,
                                           strict_parsing=False)
        except (UnicodeDecodeError, ValueError):
            raise InputError(f"malformed form body (at most {MAX_FIELDS} fields)") from None
        return dict(pairs)

    # -- pages --------------------------------------------------------------------------------------------
    async def login(self, request: Request) -> Response:
        error = None
        if request.method == "POST":
            form = await self.form(request)
            if not self.origin_ok(request) or not secrets.compare_digest(  # bytes: any text compares, never raises
                    form.get("login_csrf", "").encode(), (request.cookies.get("ow_login", "") or "-").encode()):
                return PlainTextResponse("login form expired or cross-site: reload the page", 403,
                                         headers=SECURITY_HEADERS)
            token = None
            if self.tokens:
                token = form.get("token")
                reviewer = check_token(self.tokens, token)
                if reviewer is None:
                    error = "unknown token"
            else:
                try:
                    reviewer = ledger.validate_reviewer(form.get("reviewer"))
                except InputError as e:
                    reviewer, error = None, e.message
            if reviewer is not None:
                cookie, _ = self.sessions.open(reviewer, token)
                done = RedirectResponse("/queue", status_code=303, headers=SECURITY_HEADERS)
                done.set_cookie(COOKIE, cookie, max_age=self.sessions.max_age, httponly=True, samesite="strict",
                                path="/")
                done.delete_cookie("ow_login", path="/login")
                return done
        nonce = secrets.token_urlsafe(16)
        resp = self.render(request, "login.html.j2", status=400 if error else 200, error=error,
                           need_token=bool(self.tokens), login_csrf=nonce)
        resp.set_cookie("ow_login", nonce, httponly=True, samesite="strict", path="/login", max_age=3600)
        return resp

    async def logout(self, request: Request) -> Response:
        s = self.session(request)
        form = await self.form(request)
        if not self.origin_ok(request) or not csrf_ok(s, request.headers.get("x-csrf-token") or form.get("csrf_token")):
            return PlainTextResponse("CSRF check failed", 403, headers=SECURITY_HEADERS)
        if s is not None:
            self.sessions.end(s)  # ended on the server: the old cookie is worthless even if kept
        resp = RedirectResponse("/login", status_code=303, headers=SECURITY_HEADERS)
        resp.delete_cookie(COOKIE, path="/")
        return resp

    def _need_session(self, request: Request):
        s = self.session(request)
        if s is None:
            return None, RedirectResponse("/login", status_code=303, headers=SECURITY_HEADERS)
        return s, None

    async def home(self, request: Request) -> Response:
        return RedirectResponse("/queue", status_code=303, headers=SECURITY_HEADERS)

    async def queue(self, request: Request) -> Response:
        s, redirect = self._need_session(request)
        if redirect:
            return redirect
        return await self._run(self._queue_sync, request, s)

    def _queue_sync(self, request: Request, s) -> Response:
        con = self.con()
        f = queries.Filters.from_params(request.query_params)
        page = bounded_int(request.query_params.get("page", "0"), 0, MAX_PAGE)
        if page is None:
            raise InputError(f"page must be an integer between 0 and {MAX_PAGE}", column="page")
        hits = queries.queue(con, f, s.reviewer, page=page, size=self.page_size)
        partial = request.headers.get("hx-request") == "true" and request.headers.get("hx-target") == "queue"
        ctx = dict(session=s, hits=hits, filters=f, query=f.as_query(), page=page, page_size=self.page_size)
        if partial:
            return self.render(request, "_queue.html.j2", **ctx)
        return self.render(request, "queue.html.j2", facets=queries.facets(con, f, s.reviewer, self.cache),
                           progress=queries.progress(con, s.reviewer, by_label=False), **ctx)

    async def facets_page(self, request: Request) -> Response:
        s, redirect = self._need_session(request)
        if redirect:
            return redirect
        return await self._run(self._facets_sync, request, s)

    def _facets_sync(self, request: Request, s) -> Response:
        con = self.con()
        f = queries.Filters.from_params(request.query_params)
        if request.query_params.get("format") == "json":
            return JSONResponse(queries.facets(con, f, s.reviewer, self.cache), headers=SECURITY_HEADERS)
        return self.render(request, "facets.html.j2", session=s, filters=f, query=f.as_query(),
                           facets=queries.facets(con, f, s.reviewer, self.cache),
                           progress=queries.progress(con, s.reviewer, by_label=False))

    async def hit_page(self, request: Request) -> Response:
        if bounded_int(request.path_params["hit_pk"], 1, MAX_HIT_PK) is None:  # not an id any hit can have
            return PlainTextResponse("not found", 404, headers=SECURITY_HEADERS)
        s, redirect = self._need_session(request)
        if redirect:
            return redirect
        return await self._run(self._hit_sync, request, s)

    def _hit_sync(self, request: Request, s) -> Response:
        con = self.con()
        pk = bounded_int(request.path_params["hit_pk"], 1, MAX_HIT_PK)
        h = None if pk is None else queries.hit(con, pk)
        if h is None:
            return self.render(request, "error.html.j2", status=404, session=s, message="no such hit")
        return self.render(request, "hit.html.j2", session=s, hit=h, history=ledger.history(con, h["hit_id"]),
                           query={})

    async def agreement_page(self, request: Request) -> Response:
        s, redirect = self._need_session(request)
        if redirect:
            return redirect
        return await self._run(self._agreement_sync, request, s)

    def _agreement_sync(self, request: Request, s) -> Response:
        con = self.con()
        a = agreement_mod.agreement(con)
        if request.query_params.get("format") == "json":
            return JSONResponse(a, headers=SECURITY_HEADERS)
        return self.render(request, "agreement.html.j2", session=s, a=a, progress=queries.progress(con, s.reviewer))

    async def _checked_write(self, request: Request, fn) -> Response:
        """Every write: a signed-in session, a same-origin request and a valid CSRF token, then ``fn``."""
        s = self.session(request)
        if s is None:
            return PlainTextResponse("not signed in", 401, headers=SECURITY_HEADERS)
        form = await self.form(request)
        if not self.origin_ok(request) or not csrf_ok(s, request.headers.get("x-csrf-token") or form.get("csrf_token")):
            return PlainTextResponse("CSRF check failed", 403, headers=SECURITY_HEADERS)
        return await self._run(fn, request, s, form)

    async def decide(self, request: Request) -> Response:
        return await self._checked_write(request, self._decide_sync)

    def _decide_sync(self, request: Request, s, form: dict[str, str]) -> Response:
        con = self.con()
        d = ledger.append(con, hit_id=form.get("hit_id", ""), reviewer=s.reviewer, label=form.get("label", ""),
                          pattern=form.get("pattern"), rationale=form.get("rationale", ""),
                          nonce=form.get("nonce") or None)
        if "application/json" in request.headers.get("accept", ""):
            return JSONResponse({"decision_id": d.decision_id, "hit_id": d.hit_id, "reviewer": d.reviewer,
                                 "timestamp": d.timestamp, "label": d.label, "pattern": d.pattern},
                                headers=SECURITY_HEADERS)
        row = con.execute("SELECT hit_pk FROM hits WHERE hit_id = ?", (d.hit_id,)).fetchone()
        if request.headers.get("hx-request") == "true":
            h = queries.hit(con, row["hit_pk"])
            return self.render(request, "_hit.html.j2", session=s, h=h, query={}, just_decided=d,
                               progress=queries.progress(con, s.reviewer, by_label=False))
        return RedirectResponse(f"/hit/{row['hit_pk']}", status_code=303, headers=SECURITY_HEADERS)

    async def mark_duplicates(self, request: Request) -> Response:
        return await self._checked_write(request, self._mark_duplicates_sync)

    def _mark_duplicates_sync(self, request: Request, s, form: dict[str, str]) -> Response:
        con = self.con()
        keep = form.get("hit_id", "")
        done = ledger.mark_group_duplicates(con, keep, s.reviewer)
        if "application/json" in request.headers.get("accept", ""):
            return JSONResponse({"kept": keep, "marked": [d.hit_id for d in done]}, headers=SECURITY_HEADERS)
        row = con.execute("SELECT hit_pk FROM hits WHERE hit_id = ?", (keep,)).fetchone()
        return RedirectResponse(f"/hit/{row['hit_pk']}", status_code=303, headers=SECURITY_HEADERS)

    async def export(self, request: Request) -> Response:
        fmt = request.path_params["fmt"]
        if fmt not in ("csv", "jsonl"):
            return PlainTextResponse("not found", 404, headers=SECURITY_HEADERS)
        s, redirect = self._need_session(request)
        if redirect:
            return redirect
        current = request.query_params.get("current") == "1"
        rows = await self._run(lambda: list(ledger.export_rows(self.con(), current_only=current)))
        if fmt == "csv":
            body = records_to_csv(rows, ledger.EXPORT_COLUMNS)
            media = "text/csv; charset=utf-8"
        else:
            body = "".join(json.dumps({c: r.get(c) for c in ledger.EXPORT_COLUMNS}, ensure_ascii=False) + "\n"
                           for r in rows)
            media = "application/x-ndjson; charset=utf-8"
        return Response(body, media_type=media, headers={
            **SECURITY_HEADERS, "Content-Disposition": f'attachment; filename="decisions.{fmt}"'})

    async def api_progress(self, request: Request) -> Response:
        s, redirect = self._need_session(request)
        if redirect:
            return PlainTextResponse("not signed in", 401, headers=SECURITY_HEADERS)
        p = await self._run(lambda: queries.progress(self.con(), s.reviewer))
        return JSONResponse(p, headers=SECURITY_HEADERS)

    async def api_session(self, request: Request) -> Response:
        """The signed-in reviewer and the CSRF token for scripted clients (same-origin only: no CORS headers)."""
        s = self.session(request)
        if s is None:
            return PlainTextResponse("not signed in", 401, headers=SECURITY_HEADERS)
        return JSONResponse({"reviewer": s.reviewer, "csrf_token": s.csrf}, headers=SECURITY_HEADERS)

    async def healthz(self, request: Request) -> Response:
        return PlainTextResponse("ok", headers=SECURITY_HEADERS)

    async def static_file(self, request: Request) -> Response:
        name = request.path_params["name"]
        if name not in self.static:
            return PlainTextResponse("not found", 404, headers=SECURITY_HEADERS)
        return Response(self.static[name], media_type=STATIC[name],
                        headers={**SECURITY_HEADERS, "Cache-Control": "max-age=3600"})

    async def _run(self, fn, *args):
        from starlette.concurrency import run_in_threadpool

        try:
            return await run_in_threadpool(fn, *args)
        except ledger.NonceConflict as e:
            return PlainTextResponse(f"conflict: {e}", 409, headers=SECURITY_HEADERS)
        except InputError as e:
            return PlainTextResponse(f"bad request: {e}", 400, headers=SECURITY_HEADERS)
        except (sqlite3.DatabaseError, ValueError, TypeError, KeyError, RecursionError) as e:
            # the project holds data no genuine project holds (damaged or edited by hand): say so, no traceback
            return PlainTextResponse(f"the project file holds malformed data ({type(e).__name__}); check it with "
                                     "organwatch review status", 500, headers=SECURITY_HEADERS)

    def asgi(self) -> Starlette:
        hosts = {self.host.strip("[]"), "localhost", "127.0.0.1", "::1"} if self.loopback else None
        routes = [
            Route("/", self.home), Route("/healthz", self.healthz),
            Route("/login", self.login, methods=["GET", "POST"]), Route("/logout", self.logout, methods=["POST"]),
            Route("/queue", self.queue), Route("/facets", self.facets_page), Route("/hit/{hit_pk}", self.hit_page),
            Route("/agreement", self.agreement_page), Route("/decide", self.decide, methods=["POST"]),
            Route("/mark-duplicates", self.mark_duplicates, methods=["POST"]),
            Route("/export.{fmt:str}", self.export), Route("/api/progress", self.api_progress),
            Route("/api/session", self.api_session),
            Route("/static/{name:str}", self.static_file),
        ]
        app = Starlette(routes=routes, middleware=[Middleware(HostCheck, allowed=hosts)],
                        exception_handlers={BodyTooLarge: _too_large, ledger.NonceConflict: _conflict,
                                            InputError: _input_error, 404: _not_found})
        return app


class HostCheck:
    """Refuse requests whose Host header is not one of ``allowed`` (DNS-rebinding defence on loopback); IPv6
    literals in brackets are understood. ``allowed=None`` accepts any host (tokens protect non-loopback binds)."""

    def __init__(self, app, allowed: set[str] | None):
        self.app, self.allowed = app, allowed

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] == "http" and self.allowed is not None:
            host = ""
            for k, v in scope.get("headers", []):
                if k == b"host":
                    host = v.decode("latin-1")
                    break
            name = host[1:host.index("]")] if host.startswith("[") and "]" in host else host.rsplit(":", 1)[0]
            if name.lower() not in self.allowed:
                await PlainTextResponse("invalid host header", 400, headers=SECURITY_HEADERS)(scope, receive, send)
                return
        await self.app(scope, receive, send)


class BodyTooLarge(InputError):
    """A request body over ``MAX_BODY`` (answered 413 and the connection closed, without reading the rest)."""


def bounded_int(text: str, lo: int, hi: int) -> int | None:
    """``text`` as an integer in [lo, hi], or None (not digits, too many digits, out of range): never raises,
    never converts thousands of digits."""
    if not text or len(text) > len(str(hi)) or not text.isascii() or not text.isdigit():
        return None
    v = int(text)
    return v if lo <= v <= hi else None


async def read_body(request: Request) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None:
        n = bounded_int(declared.strip(), 0, 2 ** 63 - 1)
        if n is None and declared.strip() and declared.strip().isdigit():
            n = MAX_BODY + 1
        if n is None:
            raise InputError("invalid Content-Length")
        if n > MAX_BODY:
            raise BodyTooLarge(f"request body larger than {MAX_BODY} bytes")
    parts: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY:
            raise BodyTooLarge(f"request body larger than {MAX_BODY} bytes")
        parts.append(chunk)
    return b"".join(parts)


def _json_depth_ok(body: bytes, limit: int) -> bool:
    """Nesting of ``[``/``{`` outside strings stays within ``limit`` (checked before json.loads, so a 30,000-deep
    body costs one pass over at most MAX_BODY bytes, not a recursion)."""
    depth, in_str, esc = 0, False, False
    for b in body:
        if in_str:
            if esc:
                esc = False
            elif b == 0x5C:
                esc = True
            elif b == 0x22:
                in_str = False
        elif b == 0x22:
            in_str = True
        elif b in (0x5B, 0x7B):
            depth += 1
            if depth > limit:
                return False
        elif b in (0x5D, 0x7D):
            depth -= 1
    return True


def json_form(body: bytes) -> dict[str, str]:
    """A flat JSON object of scalars as a dict of strings (nested values, deep nesting, more than MAX_FIELDS
    keys: refused as a bad request)."""
    if not _json_depth_ok(body, MAX_JSON_DEPTH):
        raise InputError(f"request body nested deeper than {MAX_JSON_DEPTH} levels")
    try:
        d = json.loads(body or b"{}")
    except (ValueError, RecursionError):
        raise InputError("request body is not JSON") from None
    if not isinstance(d, dict):
        raise InputError("request body must be a JSON object")
    if len(d) > MAX_FIELDS:
        raise InputError(f"request body has more than {MAX_FIELDS} fields")
    out = {}
    for k, v in d.items():
        if isinstance(v, (dict, list)):
            raise InputError(f"field '{k[:40]}' must be a string, number, boolean or null")
        out[str(k)] = "" if v is None else str(v)
    return out


async def _too_large(request: Request, exc: Exception) -> Response:
    return PlainTextResponse(f"request too large: {exc}", 413, headers={**SECURITY_HEADERS, "Connection": "close"})


async def _conflict(request: Request, exc: Exception) -> Response:
    return PlainTextResponse(f"conflict: {exc}", 409, headers=SECURITY_HEADERS)


async def _input_error(request: Request, exc: Exception) -> Response:
    return PlainTextResponse(f"bad request: {exc}", 400, headers=SECURITY_HEADERS)


async def _not_found(request: Request, exc: Exception) -> Response:
    return PlainTextResponse("not found", 404, headers=SECURITY_HEADERS)


def create_app(project: Path, host: str = "127.0.0.1", port: int = 8765, tokens: dict[str, str] | None = None,
               store: RunStore | None = None) -> tuple[Starlette, ReviewApp]:
    ra = ReviewApp(project, host=host, port=port, tokens=tokens, store=store)
    return ra.asgi(), ra


# JSON {project, host, port, tokens, run_dir} handed to worker processes; run_dir is the private (0700)
# directory of this server run holding the session key and the session table
ENV_CONFIG = "ORGANWATCH_REVIEW_SERVE"


def app_from_env() -> Starlette:
    """Factory for ``uvicorn --workers N``: each worker process builds the same app from :data:`ENV_CONFIG`."""
    import os

    cfg = json.loads(os.environ[ENV_CONFIG])
    app, _ = create_app(Path(cfg["project"]), host=cfg["host"], port=int(cfg["port"]), tokens=cfg.get("tokens"),
                        store=RunStore(Path(cfg["run_dir"])))
    return app
