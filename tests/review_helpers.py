"""Shared helpers for the review tests: build a project from the fixtures, run a real server on loopback."""

from __future__ import annotations

import re
import socket
import subprocess
import sys
import time
from pathlib import Path

REVIEW_DATA = Path(__file__).parent / "data" / "review"
ROOT = Path(__file__).resolve().parents[1]


def make_project(tmp: Path, *files: str) -> Path:
    from organwatch.review.project import new_project

    project = tmp / "t.owproj"
    new_project([REVIEW_DATA / f for f in (files or ("screen_small.jsonl",))], project)
    return project


def login(c, reviewer: str = "alice", field: str = "reviewer") -> str:
    """Sign ``reviewer`` in on a Starlette TestClient ``c`` (the login form and its CSRF token); returns the
    session's CSRF token for API writes."""
    page = c.get("/login").text
    tok = re.search(r'name="login_csrf" value="([^"]+)"', page).group(1)
    r = c.post("/login", data={field: reviewer, "login_csrf": tok}, follow_redirects=False)
    assert r.status_code == 303, r.text
    return c.get("/api/session").json()["csrf_token"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """`organwatch review serve PROJECT` in a subprocess on a free loopback port."""

    def __init__(self, project: Path, *args: str):
        self.port = free_port()
        self.proc = subprocess.Popen([sys.executable, "-m", "organwatch", "review", "serve", str(project), "--port",
                                      str(self.port), *args], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.PIPE)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(self.proc.stderr.read().decode(errors="replace"))
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as s:
                    s.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
                    if s.recv(64).startswith(b"HTTP/1.1 200"):
                        break
            except OSError:
                pass
            time.sleep(0.05)
        else:
            self.stop()
            raise RuntimeError("server did not start")
        self.url = f"http://127.0.0.1:{self.port}"

    def stop(self) -> str:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.proc.stderr.read().decode(errors="replace")

    def __enter__(self) -> Server:
        return self

    def __exit__(self, *exc) -> None:
        self.stop()
