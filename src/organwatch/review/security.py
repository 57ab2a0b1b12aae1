"""Security of ``review serve``: who may connect, who is who, and that every write is intended (docs/security.md).

* Binding: 127.0.0.1 by default. Bound to any non-loopback address, every reviewer needs a token (printed once
  at start-up, compared in constant time); on loopback a reviewer signs in with a name only.
* Host header: only the bound host names are accepted (stops DNS-rebinding pages from talking to the server).
* Sessions live on the server: the cookie carries only a random session id and its HMAC-SHA256 under a key
  drawn at random when the server starts (never written to the project file, which travels); the session row
  (reviewer, CSRF token, the token it was opened with, expiry) sits in a private store of this server run.
  Logout deletes the row; a session opened with a token that is no longer issued is refused; a restart ends
  every session (tokens are issued anew at every start anyway).
* CSRF: every POST must carry the session's token in the ``X-CSRF-Token`` header (htmx sends it) or a
  ``csrf_token`` form field, and an ``Origin`` header, when present, must be this server.
* Output: templates autoescape everything; the Content-Security-Policy allows scripts from this origin only
  (no inline script, no eval), so text from documents can never run.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import ipaddress
import os
import secrets
import shutil
import sqlite3
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from organwatch.review.schema import ThreadConnections

COOKIE = "ow_review"
CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; "
       "form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",  # no-referrer would make browsers send "Origin: null" on form posts
    "X-Frame-Options": "DENY",
    "Cache-Control": "no-store",
}
MAX_COOKIE = 256


def is_loopback(host: str) -> bool:
    if host in ("localhost", "localhost.localdomain"):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def new_token() -> str:
    return secrets.token_urlsafe(24)


def new_key() -> bytes:
    """A fresh session-signing key for one server run (kept in memory and in the run's private store only)."""
    return secrets.token_bytes(32)


@dataclass
class Session:
    sid: str
    reviewer: str
    csrf: str
    expires: int
    token_id: str = ""  # which token opened the session ("" on loopback, where no tokens are issued)


def token_id(key: bytes, token: str) -> str:
    """A name for a token that does not reveal it (HMAC under the run's key)."""
    return hmac.new(key, b"token:" + token.encode(), hashlib.sha256).hexdigest()[:32]


class RunStore:
    """The private state of one server run: the signing key and the session table.

    A directory made by :func:`tempfile.mkdtemp` (mode 0700) holding ``key`` (0600) and ``sessions.sqlite``
    (0600). Worker processes of ``serve --workers N`` open the same directory, so a logout in one worker ends
    the session in all of them. :meth:`remove` deletes the directory when the server stops.
    """

    def __init__(self, directory: Path | None = None):
        self.owned = directory is None
        if directory is None:
            _sweep_dead_runs()
            directory = Path(tempfile.mkdtemp(prefix=RUN_PREFIX))
            os.chmod(directory, 0o700)
            (directory / "pid").write_text(str(os.getpid()), "ascii")
            fd = os.open(directory / "key", os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as fh:
                fh.write(new_key())
            fd = os.open(directory / "sessions.sqlite", os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            os.close(fd)
        self.directory = Path(directory)
        self.key = (self.directory / "key").read_bytes()
        self._cons = ThreadConnections(self._connect)
        if self.owned:
            self.con().execute("PRAGMA journal_mode = WAL")  # workers read sessions while another one writes
            self.con().execute("CREATE TABLE IF NOT EXISTS sessions (sid TEXT PRIMARY KEY, reviewer TEXT NOT NULL, "
                               "csrf TEXT NOT NULL, token_id TEXT NOT NULL, expires INTEGER NOT NULL)")

    def _connect(self) -> sqlite3.Connection:
        c = sqlite3.connect(self.directory / "sessions.sqlite", isolation_level=None, timeout=30,
                            check_same_thread=False)
        c.execute("PRAGMA busy_timeout = 30000")
        return c

    def con(self) -> sqlite3.Connection:
        return self._cons.get()

    def close(self) -> None:
        self._cons.close()

    def remove(self) -> None:
        self.close()
        if self.owned:
            shutil.rmtree(self.directory, ignore_errors=True)


RUN_PREFIX = "organwatch-review-"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _sweep_dead_runs() -> None:
    """Remove the private directories of servers that were killed without cleaning up (kill -9): ours, with a
    ``pid`` file naming a process that no longer exists."""
    for d in Path(tempfile.gettempdir()).glob(RUN_PREFIX + "*"):
        try:
            if d.stat().st_uid != os.getuid():
                continue
            pid = int((d / "pid").read_text("ascii"))
        except (OSError, ValueError):
            continue
        if not _alive(pid):
            shutil.rmtree(d, ignore_errors=True)


class Sessions:
    """Server-side sessions: the cookie is ``<sid>.<HMAC(key, sid)>``; everything else stays in the store."""

    def __init__(self, store: RunStore, max_age: int):
        self.store = store
        self.key = store.key
        self.max_age = max_age

    def _mac(self, sid: str) -> str:
        return base64.urlsafe_b64encode(hmac.new(self.key, b"session:" + sid.encode(), hashlib.sha256)
                                        .digest()).decode().rstrip("=")

    def open(self, reviewer: str, token: str | None = None) -> tuple[str, Session]:
        """A new session for ``reviewer`` (opened with ``token`` in token mode); returns (cookie, session)."""
        now = int(time.time())
        s = Session(sid=secrets.token_urlsafe(24), reviewer=reviewer, csrf=secrets.token_urlsafe(24),
                    expires=now + self.max_age, token_id=token_id(self.key, token) if token else "")
        con = self.store.con()
        con.execute("DELETE FROM sessions WHERE expires < ?", (now,))
        con.execute("INSERT INTO sessions(sid, reviewer, csrf, token_id, expires) VALUES (?,?,?,?,?)",
                    (s.sid, s.reviewer, s.csrf, s.token_id, s.expires))
        return f"{s.sid}.{self._mac(s.sid)}", s

    def get(self, cookie: str | None, tokens: dict[str, str] | None = None) -> Session | None:
        """The live session of this cookie, or None (bad signature, unknown, logged out, expired, or opened with
        a token this server no longer issues)."""
        if not cookie or "." not in cookie or len(cookie) > MAX_COOKIE:
            return None
        sid, mac = cookie.rsplit(".", 1)
        if not hmac.compare_digest(mac.encode(), self._mac(sid).encode()):
            return None
        row = self.store.con().execute("SELECT reviewer, csrf, token_id, expires FROM sessions WHERE sid = ?",
                                       (sid,)).fetchone()
        if row is None:
            return None
        s = Session(sid=sid, reviewer=row[0], csrf=row[1], token_id=row[2], expires=int(row[3]))
        if s.expires < time.time():
            self.end(s)
            return None
        if tokens:
            current = tokens.get(s.reviewer)
            if current is None or not hmac.compare_digest(s.token_id.encode(), token_id(self.key, current).encode()):
                return None
        elif s.token_id:  # a token session on a server that issues no tokens
            return None
        return s

    def end(self, s: Session) -> None:
        """Logout: the session row is deleted, so the cookie is worthless from now on, in every worker."""
        self.store.con().execute("DELETE FROM sessions WHERE sid = ?", (s.sid,))


def check_token(tokens: dict[str, str], given: str | None) -> str | None:
    """The reviewer whose token this is (constant-time comparison against every token), else None."""
    found = None
    given = given or ""
    for reviewer, tok in tokens.items():
        if hmac.compare_digest(tok.encode(), given.encode()):
            found = reviewer
    return found


def csrf_ok(session: Session | None, given: str | None) -> bool:
    return bool(session and given and hmac.compare_digest(session.csrf.encode(), given.encode()))
