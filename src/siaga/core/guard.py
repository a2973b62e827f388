"""Refuse, before any route sees them, requests no emergency data needs: bodies over the size limit
(413) and NUL characters anywhere in the path, query or body (422) — PostgreSQL cannot store NUL in
text, SQLite would, and the two databases must behave alike. The call-event intake is the exception for
the body: an emergency call is never refused for its data, so its schema (calls.schemas.CallEventIn)
replaces NUL with U+FFFD instead."""

from __future__ import annotations

import json
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from siaga.core.errors import Problem
from siaga.core.i18n import negotiate

MAX_BODY_BYTES = 1024 * 1024
# Bodies whose NUL characters the route's schema replaces (core.safejson) instead of having them refused.
NUL_TOLERANT_PATHS = frozenset({"/api/v1/call-events"})


class RequestGuard:
    def __init__(self, app: ASGIApp, max_body: int = MAX_BODY_BYTES) -> None:
        self.app = app
        self.max_body = max_body

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        raw_path = scope.get("raw_path") or scope["path"].encode()
        query = scope.get("query_string", b"")
        if b"%00" in raw_path or b"%00" in query or b"\x00" in query or "\x00" in scope["path"]:
            await self._refuse(scope, send, _nul_problem("query"))
            return
        declared = _header(scope, b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_body:
            await self._refuse(scope, send, Problem(413, "payload_too_large", limit=self.max_body))
            return
        messages: list[Message] = []
        size = 0
        refuse_nul = scope["path"] not in NUL_TOLERANT_PATHS
        while True:
            message = await receive()
            messages.append(message)
            if message["type"] != "http.request":
                break
            body = message.get("body", b"")
            size += len(body)
            if size > self.max_body:
                await self._refuse(scope, send, Problem(413, "payload_too_large", limit=self.max_body))
                return
            if refuse_nul and (b"\x00" in body or b"\\u0000" in body):
                await self._refuse(scope, send, _nul_problem("body"))
                return
            if not message.get("more_body", False):
                break

        async def replay() -> Message:
            return messages.pop(0) if messages else await receive()

        await self.app(scope, replay, send)

    async def _refuse(self, scope: Scope, send: Send, problem: Problem) -> None:
        lang = negotiate(_header(scope, b"accept-language") or "")
        body = problem.to_dict(lang)
        body["instance"] = scope["path"].replace("\x00", "")
        payload = json.dumps(body).encode()
        await send({"type": "http.response.start", "status": problem.status,
                    "headers": [(b"content-type", b"application/problem+json"),
                                (b"content-length", str(len(payload)).encode())]})
        await send({"type": "http.response.body", "body": payload})


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key.lower() == name:
            return value.decode("latin-1")
    return None


def _nul_problem(where: str) -> Problem:
    errors: list[dict[str, Any]] = [{"field": where, "message": "NUL characters are not allowed", "code": "nul"}]
    return Problem(422, "validation_failed", errors=errors)
