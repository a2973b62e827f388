"""The minimal web page: log in, see open incidents, log out. The consoles build on this shape:
HTML routes call the same actions and services as the JSON API."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlparse

from fastapi import APIRouter, FastAPI, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from sqlalchemy import select
from sqlalchemy.orm import Session

from siaga.core.authz import ROLE_LABELS
from siaga.core.clock import format_local
from siaga.core.context import Ctx
from siaga.core.errors import Problem
from siaga.core.http import SESSION_COOKIE, DbSession, authenticate
from siaga.core.i18n import negotiate, t
from siaga.core.security import constant_time_equals
from siaga.domains.agencies.models import Agency
from siaga.domains.incidents import service as incidents
from siaga.domains.incidents.models import Category
from siaga.domains.users import actions as user_actions
from siaga.domains.users import schemas as user_schemas
from siaga.domains.users.api import do_login, set_session_cookie

HERE = Path(__file__).parent
templates = Jinja2Templates(directory=HERE / "templates")
templates.env.filters["wib"] = format_local

LABELS = {
    "title": ("Siaga 112 Kabupaten Bengkalis", "Siaga 112 Bengkalis Regency"),
    "login": ("Masuk", "Log in"),
    "logout": ("Keluar", "Log out"),
    "username": ("Nama pengguna", "Username"),
    "password": ("Kata sandi", "Password"),
    "open_incidents": ("Kejadian aktif", "Open incidents"),
    "none_open": ("Tidak ada kejadian aktif.", "No open incidents."),
    "number": ("Nomor", "Number"),
    "category": ("Kategori", "Category"),
    "priority": ("Prioritas", "Priority"),
    "status": ("Status", "Status"),
    "location": ("Lokasi", "Location"),
    "agencies": ("Instansi", "Agencies"),
    "created": ("Dibuat (WIB)", "Created (WIB)"),
    "signed_in_as": ("Masuk sebagai", "Signed in as"),
    "api_docs": ("Dokumentasi API", "API documentation"),
}
STATUS_LABELS = {
    "new": ("Baru", "New"), "dispatched": ("Dikirim", "Dispatched"), "on_scene": ("Di lokasi", "On scene"),
    "resolved": ("Selesai ditangani", "Resolved"), "closed": ("Ditutup", "Closed"),
    "cancelled": ("Dibatalkan", "Cancelled"),
}


def _words(lang: str) -> dict[str, str]:
    i = 0 if lang == "id" else 1
    return {k: v[i] for k, v in LABELS.items()}


def _lang(request: Request, preferred: str | None = None) -> str:
    return negotiate(request.headers.get("accept-language"), request.query_params.get("lang") or preferred)


def _same_origin(request: Request) -> bool:
    origin = request.headers.get("origin")
    return origin is None or urlparse(origin).netloc == request.url.netloc


router = APIRouter(include_in_schema=False)


@router.get("/", response_class=HTMLResponse)
def home(request: Request, db: Session = DbSession) -> Response:
    principal = authenticate(request, db)
    if principal is None:
        lang = _lang(request)
        return templates.TemplateResponse(request, "login.html", {"w": _words(lang), "lang": lang, "error": None})
    lang = _lang(request, principal.language)
    rows = incidents.incidents_out(db, incidents.visible_incidents(db, principal, open_only=True))
    categories = {c.code: (c.name_id if lang == "id" else c.name_en) for c in db.scalars(select(Category))}
    agencies = {a.id: a.short_name for a in db.scalars(select(Agency))}
    i = 0 if lang == "id" else 1
    return templates.TemplateResponse(request, "incidents.html", {
        "w": _words(lang), "lang": lang, "principal": principal, "incidents": rows, "categories": categories,
        "agencies": agencies, "status_labels": {k: v[i] for k, v in STATUS_LABELS.items()},
        "role_label": ROLE_LABELS.get(principal.role, (principal.role, principal.role))[i],
    })


@router.post("/login", response_class=HTMLResponse)
def login_form(request: Request, username: str = Form(default="", max_length=60),
               password: str = Form(default="", max_length=200), db: Session = DbSession) -> Response:
    lang = _lang(request)
    if not _same_origin(request):
        raise Problem(403, "csrf_failed")
    error = None
    if not username or not password:
        error = t("login_failed", lang)
    else:
        try:
            result = do_login(request, db, user_schemas.LoginIn(username=username, password=password))
        except Problem as problem:  # throttled
            error = t(problem.code, lang, **problem.params)
            result = None
        if isinstance(result, Problem):
            error = t(result.code, lang)
        elif result is not None:
            token, _out = result
            response = RedirectResponse("/", status_code=303)
            set_session_cookie(request, response, token, request.app.state.settings.session_hours * 3600)
            return response
    return templates.TemplateResponse(request, "login.html",
                                      {"w": _words(lang), "lang": lang, "error": error, "username": username},
                                      status_code=401)


@router.post("/logout")
def logout_form(request: Request, csrf_token: str = Form(default=""), db: Session = DbSession) -> Response:
    principal = authenticate(request, db)
    cookie = request.cookies.get(SESSION_COOKIE)
    if principal is not None and cookie:
        if not constant_time_equals(csrf_token, principal.csrf_token):
            raise Problem(403, "csrf_failed")
        ctx = Ctx(db=db, actor=principal, clock=request.app.state.clock, settings=request.app.state.settings)
        user_actions.logout(ctx, cookie)
    response = RedirectResponse("/", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


def mount(app: FastAPI) -> None:
    app.include_router(router)
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")

