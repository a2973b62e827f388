"""A small Server-Sent Events reader for tests: what a console's EventSource sees."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any

import httpx


@dataclass
class SSEEvent:
    id: int | None
    event: str
    data: dict[str, Any]


class SSEClient:
    def __init__(self, base_url: str, token: str, last_event_id: int | None = None, read_timeout: float = 15):
        headers = {"Authorization": f"Bearer {token}", "Accept": "text/event-stream"}
        if last_event_id is not None:
            headers["Last-Event-ID"] = str(last_event_id)
        self.client = httpx.Client(base_url=base_url, timeout=httpx.Timeout(10, read=read_timeout))
        self._cm = self.client.stream("GET", "/api/v1/events", headers=headers)
        self.response = self._cm.__enter__()
        self.status_code = self.response.status_code
        self._lines = self.response.iter_lines()

    def next(self, timeout: float = 15) -> SSEEvent:
        """The next event (comments and retry hints skipped). Raises TimeoutError if none comes in time."""
        deadline = time.monotonic() + timeout
        try:
            return self._next(deadline)
        except httpx.ReadTimeout as exc:  # nothing at all came, not even a keep-alive comment
            raise TimeoutError("no event") from exc

    def _next(self, deadline: float) -> SSEEvent:
        ev_id, name, data = None, "message", ""
        for line in self._lines:
            if time.monotonic() > deadline:
                raise TimeoutError("no event")
            if line == "":
                if data:
                    return SSEEvent(ev_id, name, json.loads(data))
                ev_id, name, data = None, "message", ""
                continue
            if line.startswith(":") or line.startswith("retry:"):
                continue
            field, _, value = line.partition(":")
            value = value[1:] if value.startswith(" ") else value
            if field == "id":
                ev_id = int(value)
            elif field == "event":
                name = value
            elif field == "data":
                data += value
        raise EOFError("stream ended")

    def until(self, predicate, limit: int = 200) -> SSEEvent:  # type: ignore[no-untyped-def]
        for _ in range(limit):
            ev = self.next()
            if predicate(ev):
                return ev
        raise AssertionError("expected event not seen")

    def close(self) -> None:
        self._cm.__exit__(None, None, None)
        self.client.close()

    def __enter__(self) -> SSEClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
