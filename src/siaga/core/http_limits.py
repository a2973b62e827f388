"""Limits on what a client may make the server hold before a route runs: the request's head (request line
and headers) in size and count, and the time a client may take to send its head and its body.

uvicorn's httptools parser takes a header of any size: a 64 MB header was accepted and held, and four of them
stalled every other request for ~13 s while the parser joined the pieces (issue #16). `LimitedHttp` is
uvicorn's httptools protocol with these limits, given to `uvicorn.run(http=...)` by `siaga serve`:

- a head over `http_max_header_bytes` is answered 431 and the connection closed as soon as that many bytes
  have come without the blank line that ends a head, before the parser holds them;
- more than `http_max_headers` header lines: 431;
- a head not complete within `http_header_timeout_seconds` of the connection opening or of its first byte
  (a "slowloris" client): 408 and the connection closed;
- a body not complete within `http_body_timeout_seconds` of its head: the connection closed (the route, if
  it is reading, sees the client gone).

The body's size is limited by core.guard (413). An idle kept-alive connection is closed by uvicorn after
`timeout_keep_alive`."""

from __future__ import annotations

import asyncio
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from siaga.settings import get_settings

_END_OF_HEAD = b"\r\n\r\n"
_REASONS = {408: b"Request Timeout", 431: b"Request Header Fields Too Large"}


class LimitedHttp(HttpToolsProtocol):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        settings = get_settings()
        self.max_head_bytes = settings.http_max_header_bytes
        self.max_headers = settings.http_max_headers
        self.head_seconds = settings.http_header_timeout_seconds
        self.body_seconds = settings.http_body_timeout_seconds
        self._in_head = True
        self._head_bytes = 0
        self._tail = b""  # the last bytes of the previous chunk: the end of a head may straddle two chunks
        self._header_count = 0
        self._refused = False
        self._timer: asyncio.TimerHandle | None = None

    # --- the clocks -------------------------------------------------------------------------------------
    def _start(self, seconds: float, on_expiry: Any) -> None:
        self._stop()
        self._timer = self.loop.call_later(seconds, on_expiry)

    def _stop(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _head_too_slow(self) -> None:
        self._timer = None
        if self._in_head and not self.transport.is_closing():
            self._refuse(408)

    def _body_too_slow(self) -> None:
        self._timer = None
        if not self.transport.is_closing():
            self.logger.warning("closing a connection whose request body did not arrive within %ss",
                                self.body_seconds)
            self.transport.close()

    def _refuse(self, status: int) -> None:
        self._refused = True
        self._stop()
        reason = _REASONS[status]
        self.transport.write(b"HTTP/1.1 %d %s\r\ncontent-type: text/plain; charset=utf-8\r\ncontent-length: %d\r\n"
                             b"connection: close\r\n\r\n%s" % (status, reason, len(reason), reason))
        self.transport.close()

    # --- uvicorn's protocol, with the limits ----------------------------------------------------------------
    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._start(self.head_seconds, self._head_too_slow)

    def connection_lost(self, exc: Exception | None) -> None:
        self._stop()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self._refused:
            return
        if self._in_head:
            room = self.max_head_bytes - self._head_bytes
            if len(data) > room and _END_OF_HEAD not in self._tail + data[:max(0, room) + len(_END_OF_HEAD)]:
                self._refuse(431)
                return
            self._head_bytes += len(data)
            self._tail = data[-(len(_END_OF_HEAD) - 1):]
        super().data_received(data)

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._header_count = 0
        if not self._in_head:  # a kept-alive connection's next request: its head has the same time
            self._in_head, self._head_bytes = True, 0
            self._start(self.head_seconds, self._head_too_slow)

    def on_header(self, name: bytes, value: bytes) -> None:
        self._header_count += 1
        super().on_header(name, value)

    def on_headers_complete(self) -> None:
        self._in_head = False
        if self._header_count > self.max_headers:
            self._refuse(431)
            return
        self._start(self.body_seconds, self._body_too_slow)
        super().on_headers_complete()

    def on_body(self, body: bytes) -> None:
        if not self._refused:
            super().on_body(body)

    def on_message_complete(self) -> None:
        self._stop()
        if not self._refused:
            super().on_message_complete()
