"""Running the review app under uvicorn with bounded connections: header, body and keep-alive timeouts.

uvicorn closes idle keep-alive connections (``timeout_keep_alive``) but has no deadline for reading a request:
a client that sends its headers or its body one byte at a time would hold a connection (and a worker's memory)
for as long as it likes. :class:`GuardedH11Protocol` adds one: every request must arrive completely (request
line, headers and body) within ``[server] request_timeout`` seconds of the connection opening or of the
previous response, else the connection is closed. Settings (``review.toml`` ``[server]``):

* ``request_timeout`` (10 s): headers and body of one request;
* ``keep_alive_timeout`` (5 s): an idle connection between requests;
* ``max_connections`` (200): concurrent connections per worker process; more are answered 503;
* header size: h11's 16 KiB limit for the request line and headers (a larger head is answered 400);
* body size: 64 KiB (``app.MAX_BODY``); a larger ``Content-Length`` is answered 413 at once, unread.
"""

from __future__ import annotations

import asyncio
from typing import Any

from uvicorn.protocols.http.h11_impl import H11Protocol

from organwatch.review.config import settings


def request_timeout() -> float:
    return float(settings()["server"]["request_timeout"])


class GuardedH11Protocol(H11Protocol):
    """uvicorn's h11 protocol with a deadline for reading each request (see the module docstring)."""

    _deadline: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]  # as uvicorn's
        super().connection_made(transport)
        self._arm()

    def _arm(self) -> None:
        self._disarm()
        self._deadline = self.loop.call_later(request_timeout(), self._read_timeout)

    def _disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _reading(self) -> bool:
        """True while the current request is still arriving (no request yet, or its body is incomplete)."""
        cycle = self.cycle
        return cycle is None or cycle.response_complete or cycle.more_body

    def _read_timeout(self) -> None:
        self._deadline = None
        if self.transport.is_closing():
            return
        if self._reading():
            if self.cycle is not None and not self.cycle.response_complete:
                self.cycle.disconnected = True
            self.transport.close()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if not self.transport.is_closing():
            self._arm()  # the next request on this connection gets its own deadline

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)


def uvicorn_options() -> dict[str, Any]:
    """Keyword arguments for ``uvicorn.run`` that bound every connection (module docstring)."""
    cfg = settings()["server"]
    return {"http": GuardedH11Protocol, "timeout_keep_alive": int(cfg["keep_alive_timeout"]),
            "limit_concurrency": int(cfg["max_connections"]), "log_level": "warning", "access_log": False,
            "server_header": False, "timeout_graceful_shutdown": 5}
