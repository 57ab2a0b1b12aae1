"""A minimal scripted reviewer for `organwatch review serve` (stdlib http.client; loopback only)."""

from __future__ import annotations

import http.client
import json
import re
import secrets
import urllib.parse


class ReviewClient:
    def __init__(self, port: int, reviewer: str, host: str = "127.0.0.1", timeout: float = 30.0):
        self.host, self.port, self.reviewer = host, port, reviewer
        self.conn = http.client.HTTPConnection(host, port, timeout=timeout)
        self.cookies: dict[str, str] = {}
        self.csrf = ""

    def _request(self, method: str, path: str, body: bytes | None = None, headers: dict | None = None):
        h = {"Host": f"{self.host}:{self.port}", **(headers or {})}
        if self.cookies:
            h["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        self.conn.request(method, path, body=body, headers=h)
        r = self.conn.getresponse()
        data = r.read()
        for k, v in r.getheaders():
            if k.lower() == "set-cookie":
                name, _, rest = v.partition("=")
                val = rest.split(";", 1)[0].strip('"')
                if "max-age=0" in v.lower() or "expires=thu, 01 jan 1970" in v.lower():
                    self.cookies.pop(name, None)
                else:
                    self.cookies[name] = val
        return r.status, data

    def login(self) -> None:
        status, page = self._request("GET", "/login")
        m = re.search(rb'name="login_csrf" value="([^"]+)"', page)
        if m is None:
            raise RuntimeError(f"no login form (HTTP {status})")
        tok = m.group(1).decode()
        body = urllib.parse.urlencode({"reviewer": self.reviewer, "login_csrf": tok}).encode()
        status, _ = self._request("POST", "/login", body, {"Content-Type": "application/x-www-form-urlencoded"})
        if status != 303:
            raise RuntimeError(f"login failed: HTTP {status}")
        status, data = self._request("GET", "/api/session")
        self.csrf = json.loads(data)["csrf_token"]

    def decide(self, hit_id: str, label: str, rationale: str = "", nonce: str | None = None) -> dict:
        """Returns the stored decision (HTTP 200 = acknowledged, i.e. committed); raises on anything else."""
        nonce = nonce or secrets.token_hex(8)
        body = json.dumps({"hit_id": hit_id, "label": label, "rationale": rationale, "nonce": nonce}).encode()
        status, data = self._request("POST", "/decide", body, {"Content-Type": "application/json",
                                                               "Accept": "application/json",
                                                               "X-CSRF-Token": self.csrf})
        if status != 200:
            raise RuntimeError(f"decide failed: HTTP {status} {data[:200]!r}")
        return json.loads(data)

    def get(self, path: str) -> tuple[int, bytes]:
        return self._request("GET", path)

    def close(self) -> None:
        self.conn.close()
