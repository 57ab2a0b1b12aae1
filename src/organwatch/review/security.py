"""Security of ``review serve``: who may connect, who is who, and that every write is intended.

* Binding: 127.0.0.1 by default. Bound to any non-loopback address, every reviewer needs a token (printed once
  at start-up, compared in constant time); on loopback a reviewer signs in with a name only.
* Host header: only the bound host names are accepted (stops DNS-rebinding pages from talking to the server).
* Sessions: an HMAC-SHA256-signed cookie (HttpOnly, SameSite=Strict) holding the reviewer, a per-session CSRF
  token and an expiry; the key is the project's own secret, so sessions survive a server restart.
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
import json
import secrets
import time
from dataclasses import dataclass

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


def is_loopback(host: str) -> bool:
    if host in ("localhost", "localhost.localdomain"):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def new_token() -> str:
    return secrets.token_urlsafe(24)


@dataclass
class Session:
    reviewer: str
    csrf: str
    expires: int


class Signer:
    def __init__(self, secret: str, max_age: int):
        self.key = hashlib.sha256(("organwatch-review-session:" + secret).encode()).digest()
        self.max_age = max_age

    def _mac(self, payload: bytes) -> str:
        return base64.urlsafe_b64encode(hmac.new(self.key, payload, hashlib.sha256).digest()).decode().rstrip("=")

    def dumps(self, reviewer: str) -> tuple[str, Session]:
        s = Session(reviewer=reviewer, csrf=secrets.token_urlsafe(24), expires=int(time.time()) + self.max_age)
        payload = base64.urlsafe_b64encode(json.dumps(
            {"r": s.reviewer, "c": s.csrf, "e": s.expires}, ensure_ascii=True).encode()).decode().rstrip("=")
        return f"{payload}.{self._mac(payload.encode())}", s

    def loads(self, cookie: str | None) -> Session | None:
        if not cookie or "." not in cookie or len(cookie) > 4096:
            return None
        payload, mac = cookie.rsplit(".", 1)
        if not hmac.compare_digest(mac, self._mac(payload.encode())):
            return None
        try:
            d = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
            s = Session(reviewer=str(d["r"]), csrf=str(d["c"]), expires=int(d["e"]))
        except (ValueError, KeyError, TypeError):
            return None
        if s.expires < time.time():
            return None
        return s


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
