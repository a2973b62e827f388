"""RFC 9457 problem+json: the one shape every API error takes, with field-level messages."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from siaga.core.i18n import has, negotiate, problem_title, t
from siaga.db.engine import database_unavailable

log = logging.getLogger("siaga.errors")

PROBLEM_TYPE_BASE = "https://siaga112.id/problems/"
UNAVAILABLE_RETRY_AFTER_S = 2  # database_unavailable: long enough not to hammer a database coming back


class FieldError(BaseModel):
    field: str
    message: str
    code: str
    limit: int | float | None = None  # the bound broken (a maximum length, a least value…), for the message


_LIMITS = ("max_length", "min_length", "le", "ge", "lt", "gt")


class ProblemOut(BaseModel):
    """RFC 9457 problem details, as every error response of the API."""

    type: str
    title: str
    status: int
    code: str
    instance: str | None = None
    errors: list[FieldError] | None = None
    params: dict[str, Any] | None = None


def _problem_response_doc(description: str) -> dict[str, Any]:
    return {"description": description, "model": ProblemOut,
            "content": {"application/problem+json": {"schema": {"$ref": "#/components/schemas/ProblemOut"}}}}


# Documented on every API route: what can go wrong, always as problem+json.
COMMON_RESPONSES: dict[int | str, dict[str, Any]] = {
    400: _problem_response_doc("Bad request"),
    401: _problem_response_doc("Not authenticated"),
    403: _problem_response_doc("Not allowed for your role, or CSRF token missing"),
    404: _problem_response_doc("Not found, or not visible to you"),
    409: _problem_response_doc("Conflict: stale version, state machine, duplicate"),
    413: _problem_response_doc("Request body over the size limit"),
    422: _problem_response_doc("Validation failed; `errors` names each field"),
    429: _problem_response_doc("Too many attempts"),
    500: _problem_response_doc("Server error; nothing was half-saved"),
    503: _problem_response_doc("Database busy (database_busy) or unreachable (database_unavailable); "
                               "retry after Retry-After seconds"),
}


class Problem(Exception):
    """Raise from actions and routes; rendered as problem+json in the caller's language."""

    def __init__(
        self,
        status: int,
        code: str,
        *,
        errors: list[dict[str, Any]] | None = None,
        headers: dict[str, str] | None = None,
        **params: Any,
    ) -> None:
        super().__init__(code)
        self.status = status
        self.code = code
        self.params = params
        self.errors = errors or []
        self.headers = headers or {}

    def to_dict(self, lang: str) -> dict[str, Any]:
        body: dict[str, Any] = {
            "type": PROBLEM_TYPE_BASE + self.code,
            "title": problem_title(self.code, lang, **self.params),
            "status": self.status,
            "code": self.code,
        }
        if self.errors:
            body["errors"] = self.errors
        extra = {k: v for k, v in self.params.items() if isinstance(v, str | int | float | bool)}
        if extra:
            body["params"] = extra
        return body


def invalid(field: str, message: str, code: str = "invalid") -> Problem:
    """A 422 naming one field, for checks beyond the schema (unknown references, cross-field rules)."""
    return Problem(422, "validation_failed", errors=[{"field": field, "message": message, "code": code}])


def unavailable(database: str) -> Problem:
    """503 database_unavailable with Retry-After: the database (`database`: its kind, postgresql or sqlite)
    cannot be reached; the same request may be sent again as it is (a PBX, a console and a readiness probe
    all read it so)."""
    return Problem(503, "database_unavailable", headers={"Retry-After": str(UNAVAILABLE_RETRY_AFTER_S)},
                   database=database)


def _database_of(request: Request) -> str:
    engine = getattr(request.app.state, "engine", None)
    return engine.dialect.name if engine is not None else "database"


def request_language(request: Request) -> str:
    """API clients say what they want with Accept-Language; failing that, the user's own setting."""
    accept = request.headers.get("accept-language")
    if accept:
        return negotiate(accept)
    principal = getattr(request.state, "principal", None)
    return negotiate(None, getattr(principal, "language", None))


def problem_response(request: Request, problem: Problem) -> JSONResponse:
    lang = request_language(request)
    body = problem.to_dict(lang)
    body["instance"] = request.url.path
    return JSONResponse(body, status_code=problem.status, headers=problem.headers,
                        media_type="application/problem+json")


def _field(loc: tuple[Any, ...] | list[Any]) -> str:
    return ".".join(str(p) for p in loc)


_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")


def allowed_methods(request: Request) -> list[str]:
    """Every method some route serves at this request's path. Starlette's 405 names only the methods of the
    first route whose path matched, so a path served by several routes (GET and PATCH /incidents/{id})
    answered `Allow: GET` alone; RFC 9110 §15.5.6 asks for all of them. Asked of the router itself, method
    by method, so that included routers are searched as routing searches them."""
    return [m for m in _METHODS if any(route.matches({**request.scope, "method": m})[0] is Match.FULL
                                       for route in request.app.router.routes)]


def install_handlers(app: FastAPI) -> None:
    @app.exception_handler(Problem)
    async def _problem(request: Request, exc: Problem) -> JSONResponse:
        return problem_response(request, exc)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        lang = request_language(request)
        errors = []
        for e in exc.errors():
            code = e.get("type", "")
            error = {"field": _field(e.get("loc", ())), "message": e.get("msg", ""), "code": code}
            limit = next((e["ctx"][k] for k in _LIMITS if k in (e.get("ctx") or {})), None)
            if isinstance(limit, int | float) and not isinstance(limit, bool):
                error["limit"] = limit  # the console says "at most 40 characters", not only "too long"
            if has(f"field_error_{code}", lang):  # in the reader's language where the catalogue has words
                error["message"] = t(f"field_error_{code}", lang, limit=error.get("limit", ""))
            errors.append(error)
        return problem_response(request, Problem(422, "validation_failed", errors=errors))

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        code = {401: "not_authenticated", 403: "forbidden", 404: "not_found",
                405: "method_not_allowed", 409: "conflict"}.get(exc.status_code, "bad_request")
        headers = dict(exc.headers or {})
        if exc.status_code == 405:
            allow = allowed_methods(request)
            if request.method == "OPTIONS":  # RFC 9110 §9.3.7: what the resource supports, no body
                return Response(status_code=204, headers={"Allow": ", ".join([*allow, "OPTIONS"])})
            headers["Allow"] = ", ".join(allow)
        return problem_response(request, Problem(exc.status_code, code, headers=headers))

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        if database_unavailable(exc):  # outside a request's unit of work (core.http._db says the same)
            log.warning("database unavailable on %s %s: %s", request.method, request.url.path, exc)
            return problem_response(request, unavailable(_database_of(request)))
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return problem_response(request, Problem(500, "internal_error"))


def check_version(current: int, seen: int) -> None:
    """Optimistic concurrency: the client saw version `seen`; someone else moved the row to `current`."""
    if current != seen:
        raise Problem(409, "stale_version", current=current)
