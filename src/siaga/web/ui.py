"""The consoles: logging in and out, and one screen per role (call-taker, dispatch board, agency console,
field unit, wallboard, incident page). Pages are rendered here with the reference data they need; what
changes during a shift (calls, incidents, units) arrives in the browser as the snapshot plus the event
stream, applied by `static/js/siaga.js` with the same rules as `live/snapshot.py`. Every change goes
through the JSON API, so the consoles and the API can never disagree."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlparse

from fastapi import APIRouter, FastAPI, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from markupsafe import Markup
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from siaga.api.users import do_login, set_session_cookie
from siaga.core.authz import (
    ADMIN,
    AGENCY_OPERATOR,
    CALL_TAKER,
    DISPATCHER,
    ROLE_LABELS,
    SUPERVISOR,
    TELEPHONY,
    Principal,
)
from siaga.core.clock import SiteZone, site_zone
from siaga.core.context import Ctx
from siaga.core.errors import Problem
from siaga.core.http import SESSION_COOKIE, DbSession, authenticate, client_address
from siaga.core.i18n import namespace, negotiate, problem_title, status_words, words
from siaga.core.ids import MAX_ID, PathId
from siaga.core.security import constant_time_equals
from siaga.db.engine import open_session
from siaga.domains.agencies.models import UNIT_STATUSES, Agency, Station
from siaga.domains.basemap.archive import archive_info, archive_path
from siaga.domains.calls.models import CALL_OUTCOMES, CALL_STATUSES, Call
from siaga.domains.calls.privacy import timeline_entries_for
from siaga.domains.incidents import service as incidents_service
from siaga.domains.incidents.models import ASSIGNMENT_STATES, INCIDENT_STATUSES, Category, Incident
from siaga.domains.incidents.schemas import TimelineOut
from siaga.domains.quality import service as quality_service
from siaga.domains.quality.sampling import SampleRule, answer_seconds, sample_reasons
from siaga.domains.regions import service as regions_service
from siaga.domains.regions.models import Landmark, Region
from siaga.domains.regions.service import served_regency
from siaga.domains.reports import fmt as report_fmt
from siaga.domains.telephony import actions as telephony_actions
from siaga.domains.telephony.agency_calls import dial_key
from siaga.domains.telephony.models import OperatorLine
from siaga.domains.users import actions as user_actions
from siaga.domains.users import schemas as user_schemas
from siaga.domains.users.models import User, UserTotp
from siaga.events.kinds import EVENT_KINDS
from siaga.web import basemap

HERE = Path(__file__).parent
templates = Jinja2Templates(directory=HERE / "templates")

# Screen → (roles that work in it, its nav word). The order is the nav bar's order.
SCREENS: dict[str, tuple[frozenset[str], str]] = {
    "calltaker": (frozenset({CALL_TAKER, SUPERVISOR, DISPATCHER}), "nav_calltaker"),
    "board": (frozenset({DISPATCHER, SUPERVISOR, ADMIN, CALL_TAKER}), "nav_board"),
    "agency": (frozenset({AGENCY_OPERATOR}), "nav_agency"),
    "field": (frozenset({AGENCY_OPERATOR, DISPATCHER, SUPERVISOR}), "nav_field"),
    "wallboard": (frozenset({CALL_TAKER, DISPATCHER, SUPERVISOR, ADMIN}), "nav_wallboard"),
    "plan": (frozenset({ADMIN, SUPERVISOR}), "nav_plan"),
    "stats": (frozenset({SUPERVISOR, ADMIN, DISPATCHER}), "nav_stats"),
    "callers": (frozenset({SUPERVISOR, DISPATCHER}), "nav_callers"),
    "staffing": (frozenset({SUPERVISOR, ADMIN}), "nav_staffing"),
    "qa": (frozenset({SUPERVISOR}), "nav_qa"),
    "qa-checklist": (frozenset({ADMIN}), "nav_qa_checklist"),
    "feedback": (frozenset({CALL_TAKER}), "nav_feedback"),
}
# Screens whose pages are rendered with data of their own (quality review), not from templates/<screen>.html alone.
DATA_SCREENS = frozenset({"qa", "qa-checklist", "feedback"})
# Outcomes an operator chooses; "abandoned" and "missed" are set by the telephony side.
OPERATOR_OUTCOMES = ("emergency", "information", "prank", "ghost", "wrong_number", "test")
TOTP_PAGE = "/totp"  # two-step verification: enrol, see, turn off; a session that must enrol is held here
HOME_SCREEN = {CALL_TAKER: "calltaker", DISPATCHER: "board", SUPERVISOR: "board", ADMIN: "board",
               AGENCY_OPERATOR: "agency"}


def _lang(request: Request, preferred: str | None = None) -> str:
    return negotiate(request.headers.get("accept-language"), request.query_params.get("lang") or preferred)


def _same_origin(request: Request) -> bool:
    origin = request.headers.get("origin")
    return origin is None or urlparse(origin).netloc == request.url.netloc


def _json_script(data: Any) -> Markup:
    """JSON safe to put inside <script type="application/json">: no '</script>' can close it early."""
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    return Markup(text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026"))


def reference_data(db: Session, request: Request, principal: Principal, lang: str) -> dict[str, Any]:
    """What every console needs to name things and search locations without a round trip: categories,
    agencies, stations, the gazetteer (kecamatan and desa with their points), landmarks, words."""
    settings = request.app.state.settings
    zone = site_zone(settings)
    name = "name_id" if lang == "id" else "name_en"
    user = db.get(User, principal.user_id)
    alerts = {"volume": user.alert_volume, "muted": user.alert_muted} if user else {"volume": 70, "muted": False}
    regions = db.scalars(select(Region).where(Region.level.in_(("kecamatan", "desa", "kelurahan")))
                         .order_by(Region.kode)).all()
    # Agencies a call-taker's line can call (issue 17): a number (dialled through the trunk gateway) or an
    # agency operator with a line.
    with_line = set(db.scalars(select(User.agency_id).join(OperatorLine, OperatorLine.user_id == User.id)
                               .where(User.active.is_(True), User.agency_id.is_not(None))))
    gateway = bool(settings.telephony_trunk_gateway)
    return {
        "lang": lang,
        "me": {"user_id": principal.user_id, "username": principal.username, "role": principal.role,
               "agency_id": principal.agency_id, "full_name": principal.full_name, "alerts": alerts},
        "server_now": request.app.state.clock.now().isoformat(),
        # The browser shows and counts days in the site's zone, whatever its own clock's zone.
        "zone": {"name": zone.name, "label": zone.label},
        "categories": [{"code": c.code, "parent": c.parent_code, "name": getattr(c, name),
                        "priority": c.default_priority}
                       for c in db.scalars(select(Category).where(Category.active.is_(True))
                                           .order_by(Category.code))],
        "agencies": [{"id": a.id, "code": a.code, "short_name": a.short_name, "name": a.name,
                      "labels": a.status_labels or {},
                      "dialable": (gateway and bool(dial_key(a.phone))) or a.id in with_line,
                      # both: the call-taker chooses the desk number or the operator's line
                      "by_number": gateway and bool(dial_key(a.phone)), "by_line": a.id in with_line}
                     for a in db.scalars(select(Agency).where(Agency.active.is_(True)).order_by(Agency.id))],
        "stations": [{"id": s.id, "agency_id": s.agency_id, "name": s.name, "lat": s.lat, "lon": s.lon}
                     for s in db.scalars(select(Station).order_by(Station.id))],
        "regions": [{"kode": r.kode, "name": r.name, "level": r.level, "parent": r.parent_kode,
                     "lat": r.lat, "lon": r.lon, "approx": r.coord_approx} for r in regions],
        "landmarks": [{"id": lm.id, "name": lm.name, "kind": lm.kind, "kode": lm.kode_wilayah, "lat": lm.lat,
                       "lon": lm.lon, "approx": lm.coord_approx}
                      for lm in db.scalars(select(Landmark).order_by(Landmark.name))],
        "outcomes": list(OPERATOR_OUTCOMES),
        "silent_caller_key": settings.silent_caller_key,
        "event_kinds": list(EVENT_KINDS),
        "words": _words(request, lang),
        "status": _status_words(lang),
        "map": map_settings(db, settings),
    }


def map_settings(db: Session, settings: Any) -> dict[str, Any]:
    """What the consoles' map starts from: the site's regency to fit the view to (its outline's bbox, so a
    second regency opens on itself), a site tile server if one is configured, and the street basemap archive
    of `siaga map import` when this host has one (else the built-in coastline basemap is drawn alone)."""
    extent = regions_service.region_extent(db, settings.region_code)
    archive = archive_info(archive_path(settings.data_dir))
    vector = None
    if archive is not None:
        vector = {"url": basemap.ROUTE, "max_zoom": archive.max_zoom,
                  "bounds": [[archive.bounds[1], archive.bounds[0]], [archive.bounds[3], archive.bounds[2]]],
                  "attribution": archive.attribution or "© OpenStreetMap contributors"}
    return {"tile_url": settings.map_tile_url, "tile_attribution": settings.map_tile_attribution,
            # [[south, west], [north, east]]; none (an empty gazetteer): Indonesia
            "bounds": [[extent[1], extent[0]], [extent[3], extent[2]]] if extent else [[-11.0, 95.0], [6.0, 141.0]],
            "vector": vector,
            # every site: its official outlines; the shipped site also its hand-made GSHHG coastline and rivers
            "outlines": basemap.OUTLINES_ROUTE,
            "extras": "/static/basemap/bengkalis.geojson" if settings.site_dir is None else None}


def edge_websockets(settings: Any) -> list[str]:
    """The SIP edge's WebSocket listeners, which the call-taker's browser line connects to (validated ip:port
    settings; a listener on every address is reached by whatever host name the console uses)."""
    out = []
    for scheme, listen in (("wss", settings.telephony_wss_listen), ("ws", settings.telephony_ws_listen)):
        if listen:
            host, _, port = listen.rpartition(":")
            if scheme == "wss" and settings.telephony_wss_host:
                host = settings.telephony_wss_host
            out.append(f"{scheme}://{'*' if host == '0.0.0.0' else host}:{port}")  # noqa: S104
    return out


def security_headers(settings: Any) -> dict[str, str]:
    """For every console page: scripts and connections only from this server (Alpine.js evaluates its
    attribute expressions, hence 'unsafe-eval'; Leaflet positions with inline styles), tiles only from
    the configured tile server, no framing."""
    img = "'self' data:"
    tiles = urlparse(settings.map_tile_url.replace("{s}.", "*."))
    if tiles.scheme in ("http", "https") and tiles.netloc:
        img += f" {tiles.scheme}://{tiles.netloc}"
    connect = " ".join(["'self'", *edge_websockets(settings)])
    csp = ("default-src 'self'; script-src 'self' 'unsafe-eval'; style-src 'self' 'unsafe-inline'; "
           f"img-src {img}; connect-src {connect}; font-src 'self'; object-src 'none'; base-uri 'self'; "
           "form-action 'self'; frame-ancestors 'none'")
    return {"Content-Security-Policy": csp, "X-Frame-Options": "DENY", "X-Content-Type-Options": "nosniff",
            "Referrer-Policy": "same-origin"}


def _zone(request: Request) -> SiteZone:
    return site_zone(request.app.state.settings)


def _site_name(request: Request) -> str:
    """The regency served, as the gazetteer names it ("Kabupaten Paser"): pages are headed with it."""
    with open_session(request.app.state.engine, write=False) as db:
        regency = served_regency(db)
    return regency.name if regency else ""


def _status_words(lang: str) -> dict[str, dict[str, str]]:
    """Status words in the order of each life cycle (the board counts units in this order)."""
    return status_words(lang, {"incident": INCIDENT_STATUSES, "assignment": ASSIGNMENT_STATES, "unit": UNIT_STATUSES,
                               "call": CALL_STATUSES, "outcome": (*CALL_OUTCOMES, "unclassified")})


def _words(request: Request, lang: str) -> dict[str, str]:
    return words(lang, _zone(request), _site_name(request))


def _render(request: Request, template: str, context: dict[str, Any], status_code: int = 200) -> Response:
    """A page or fragment; templates show times with `zone.format(...)`, in the site's zone."""
    context = {"zone": _zone(request), **context}
    return templates.TemplateResponse(request, template, context, status_code=status_code,
                                      headers=security_headers(request.app.state.settings))


router = APIRouter(include_in_schema=False)


def _login_page(request: Request, lang: str, error: str | None = None, username: str = "",
                status_code: int = 200) -> Response:
    return _render(request, "login.html",
                   {"w": _words(request, lang), "lang": lang, "error": error, "username": username,
                    "next": _safe_next(request.query_params.get("next"))},
                   status_code=status_code)


def _safe_next(target: str | None) -> str:
    """Only our own paths: a crafted link must not bounce a freshly logged-in operator elsewhere."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return "/"


def _screen(request: Request, db: Session, screen: str, template: str,
            extra: dict[str, Any] | None = None,
            build: Callable[[Principal, str], dict[str, Any]] | None = None) -> Response:
    principal = authenticate(request, db)
    if principal is None:
        return RedirectResponse(f"/?next={request.url.path}", status_code=303)
    if principal.enrolment_only:
        return RedirectResponse(TOTP_PAGE, status_code=303)
    lang = _lang(request, principal.language)
    allowed = SCREENS[screen][0] if screen in SCREENS else None
    if allowed is not None and principal.role not in allowed:
        return _render(request, "forbidden.html", _page_context(request, principal, lang, screen),
                                          status_code=403)
    context = _page_context(request, principal, lang, screen)
    context["ref"] = _json_script(reference_data(db, request, principal, lang))
    context.update(extra or {})
    if build is not None:  # the page's own data, read only for a user who may see the screen
        context.update(build(principal, lang))
    return _render(request, template, context)


def _page_context(request: Request, principal: Principal, lang: str, screen: str) -> dict[str, Any]:
    w = _words(request, lang)
    i = 0 if lang == "id" else 1
    nav = [(name, w[word]) for name, (roles, word) in SCREENS.items() if principal.role in roles]
    if principal.can("users.write"):
        nav.append(("users", w["nav_users"]))
    if principal.enrolment_only:
        nav = []  # nothing but enrolment until a second factor is set up
    return {"w": w, "lang": lang, "principal": principal, "screen": screen, "nav": nav,
            "role_label": ROLE_LABELS.get(principal.role, (principal.role, principal.role))[i]}


@router.get("/favicon.ico", include_in_schema=False)
def favicon() -> Response:
    """For clients that ask for it without reading the page's <link rel=icon>: the same icon."""
    return Response((HERE / "static" / "favicon.svg").read_bytes(), media_type="image/svg+xml",
                    headers={"Cache-Control": "public, max-age=86400"})


@router.get("/", response_class=HTMLResponse)
def home(request: Request, db: Session = DbSession) -> Response:
    principal = authenticate(request, db)
    if principal is None:
        return _login_page(request, _lang(request))
    target = _safe_next(request.query_params.get("next"))
    if principal.enrolment_only:
        target = TOTP_PAGE
    if target == "/":
        target = "/" + HOME_SCREEN.get(principal.role, "board")
    return RedirectResponse(target, status_code=303)


def _screen_route(name: str) -> Callable[..., Response]:
    def page(request: Request, db: Session = DbSession) -> Response:
        return _screen(request, db, name, f"{name}.html")

    page.__name__ = f"screen_{name}"
    return page


# One page per screen in SCREENS, rendered from templates/<screen>.html.
for _name in SCREENS.keys() - DATA_SCREENS:
    router.add_api_route(f"/{_name}", _screen_route(_name), methods=["GET"], response_class=HTMLResponse)


@router.get("/incident/{incident_id}", response_class=HTMLResponse)
def incident_page(incident_id: str, request: Request, db: Session = DbSession) -> Response:
    """The incident sheet. An id that names no incident this user may see — beyond the database's range, not a
    number at all, or someone else's — is the same "not found" page, never a server error."""
    principal = authenticate(request, db)
    if principal is None:
        return RedirectResponse(f"/?next={request.url.path}", status_code=303)
    if principal.enrolment_only:
        return RedirectResponse(TOTP_PAGE, status_code=303)
    try:
        number = int(incident_id) if incident_id.isascii() and incident_id.isdigit() else 0
        if not 1 <= number <= MAX_ID:
            raise Problem(404, "not_found")
        incident = incidents_service.get_visible_incident(db, principal, number)
    except Problem:
        lang = _lang(request, principal.language)
        return _render(request, "forbidden.html",
                                          _page_context(request, principal, lang, "incident"), status_code=404)
    return _screen(request, db, "incident", "incident.html", {"incident_id": incident.id,
                                                               "incident_number": incident.number})


@router.get("/call/{call_id}", response_class=HTMLResponse)
def call_page(call_id: str, request: Request, db: Session = DbSession) -> Response:
    """One call: its times, outcome, incident and recordings (with the player) — for whoever reads calls."""
    from siaga.domains.calls import service as calls_service

    principal = authenticate(request, db)
    if principal is None:
        return RedirectResponse(f"/?next={request.url.path}", status_code=303)
    if principal.enrolment_only:
        return RedirectResponse(TOTP_PAGE, status_code=303)
    try:
        number = int(call_id) if call_id.isascii() and call_id.isdigit() else 0
        if not 1 <= number <= MAX_ID or not principal.can("calls.read"):
            raise Problem(404, "not_found")
        call = calls_service.get_call(db, number)
    except Problem:
        lang = _lang(request, principal.language)
        return _render(request, "forbidden.html", _page_context(request, principal, lang, "call"), status_code=404)
    return _screen(request, db, "call", "call.html", {"call_id": call.id})


@router.get("/incident/{incident_id}/timeline", response_class=HTMLResponse)
def incident_timeline(incident_id: PathId, request: Request, db: Session = DbSession) -> Response:
    """The timeline as an HTML fragment (htmx swaps it in when the incident changes), times in the site's zone."""
    principal = authenticate(request, db)
    if principal is None:
        raise Problem(401, "not_authenticated")
    if principal.enrolment_only:
        raise Problem(403, "totp_enrolment_required")
    lang = _lang(request, principal.language)
    incident = incidents_service.get_visible_incident(db, principal, incident_id)
    # Phone numbers typed into notes are masked for a reader without numbers.reveal, as in the API.
    entries = timeline_entries_for(principal, [TimelineOut.of(e, lang)
                                               for e in incidents_service.timeline(db, incident.id)])
    agencies = {a.id: a.short_name for a in db.scalars(select(Agency))}
    return _render(request, "_timeline.html", {
        "w": words(lang, _zone(request)), "entries": entries, "agencies": agencies, "status": _status_words(lang),
        "kinds": namespace("timeline.kind", lang)})


@router.post("/login", response_class=HTMLResponse)
def login_form(request: Request, username: str = Form(default="", max_length=60),
               password: str = Form(default="", max_length=200), next_path: str = Form(default="/", alias="next"),
               db: Session = DbSession) -> Response:
    lang = _lang(request)
    if not _same_origin(request):
        raise Problem(403, "csrf_failed")
    error = None
    if not username or not password:
        error = problem_title("login_failed", lang)
    else:
        try:
            result = do_login(request, db, user_schemas.LoginIn(username=username, password=password))
        except Problem as problem:  # throttled
            error = problem_title(problem.code, lang, **problem.params)
            result = None
        if isinstance(result, Problem):
            error = problem_title(result.code, lang, **result.params)
        elif isinstance(result, user_schemas.LoginChallengeOut):
            return _code_step(request, lang, result.ticket, next_path)
        elif result is not None:
            return _signed_in(request, result[0], next_path)
    return _login_page(request, lang, error, username, status_code=401)


def _signed_in(request: Request, token: str, next_path: str) -> Response:
    response = RedirectResponse("/?next=" + _safe_next(next_path), status_code=303)
    set_session_cookie(request, response, token, request.app.state.settings.session_hours * 3600)
    return response


def _code_step(request: Request, lang: str, ticket: str, next_path: str, error: str | None = None) -> Response:
    """The login page's second step: the code from the authenticator app (or a recovery code)."""
    return _render(request, "login.html", {"w": _words(request, lang), "lang": lang, "error": error,
                                           "ticket": ticket, "next": _safe_next(next_path)},
                   status_code=200 if error is None else 401)


@router.post("/login/totp", response_class=HTMLResponse)
def login_code_form(request: Request, ticket: str = Form(default="", max_length=200),
                    code: str = Form(default="", max_length=20), next_path: str = Form(default="/", alias="next"),
                    db: Session = DbSession) -> Response:
    lang = _lang(request)
    if not _same_origin(request):
        raise Problem(403, "csrf_failed")
    try:
        data = user_schemas.LoginCodeIn(ticket=ticket, code=code)
    except ValidationError:
        return _code_step(request, lang, ticket, next_path, problem_title("totp_code_wrong", lang))
    try:
        result = do_login(request, db, data)
    except Problem as problem:
        result = problem
    if isinstance(result, Problem):
        if result.code == "login_ticket_expired":
            return _login_page(request, lang, problem_title(result.code, lang), status_code=401)
        code_word = "totp_code_wrong" if result.code == "login_failed" else result.code
        return _code_step(request, lang, ticket, next_path, problem_title(code_word, lang, **result.params))
    if isinstance(result, user_schemas.LoginChallengeOut):  # not for a code; answered as a wrong one
        return _code_step(request, lang, ticket, next_path, problem_title("totp_code_wrong", lang))
    return _signed_in(request, result[0], next_path)


@router.post("/logout")
def logout_form(request: Request, csrf_token: str = Form(default=""), db: Session = DbSession) -> Response:
    principal = authenticate(request, db)
    cookie = request.cookies.get(SESSION_COOKIE)
    if principal is not None and cookie:
        if not constant_time_equals(csrf_token, principal.csrf_token):
            raise Problem(403, "csrf_failed")
        ctx = Ctx(db=db, actor=principal, clock=request.app.state.clock, settings=request.app.state.settings)
        user_actions.logout(ctx, cookie)
        telephony_actions.revoke_browser_credential(ctx)
    response = RedirectResponse("/", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@router.post("/language")
def language_form(request: Request, language: str = Form(default="id", max_length=5),
                  csrf_token: str = Form(default=""), back: str = Form(default="/"),
                  db: Session = DbSession) -> Response:
    """Switch the signed-in user's language; it is stored, so every device of theirs follows."""
    principal = authenticate(request, db)
    if principal is None:
        return RedirectResponse("/?lang=" + ("en" if language == "en" else "id"), status_code=303)
    if not constant_time_equals(csrf_token, principal.csrf_token):
        raise Problem(403, "csrf_failed")
    ctx = Ctx(db=db, actor=principal, clock=request.app.state.clock, settings=request.app.state.settings)
    user_actions.set_language(ctx, language)
    return RedirectResponse(_safe_next(back), status_code=303)


def _form_principal(request: Request, db: Session, csrf_token: str, permission: str) -> Principal:
    """The signed-in user of a console form that changes something, its CSRF token checked."""
    principal = authenticate(request, db)
    if principal is None:
        raise Problem(401, "not_authenticated")
    if not constant_time_equals(csrf_token, principal.csrf_token):
        raise Problem(403, "csrf_failed")
    principal.require(permission)
    return principal


def _ctx(request: Request, db: Session, principal: Principal) -> Ctx:
    return Ctx(db=db, actor=principal, clock=request.app.state.clock, settings=request.app.state.settings)


def _totp_page(request: Request, db: Session, principal: Principal, status_code: int = 200,
               **extra: Any) -> Response:
    lang = _lang(request, principal.language)
    context = _page_context(request, principal, lang, "totp")
    ctx = _ctx(request, db, principal)
    context["status"] = user_actions.totp_status(ctx)
    if "enrolment" not in extra and not extra.get("recovery_codes"):
        extra["enrolment"] = user_actions.pending_enrolment(ctx)
    context.update(extra)
    response = _render(request, "totp.html", context, status_code=status_code)
    response.headers["Cache-Control"] = "no-store"  # a secret or recovery codes may be on it
    return response


@router.get(TOTP_PAGE, response_class=HTMLResponse)
def totp_page(request: Request, db: Session = DbSession) -> Response:
    """Two-step verification: enrol an authenticator app (QR code, the key as text), see it, turn it off."""
    principal = authenticate(request, db)
    if principal is None:
        return RedirectResponse(f"/?next={TOTP_PAGE}", status_code=303)
    return _totp_page(request, db, principal)


@router.post(TOTP_PAGE + "/start", response_class=HTMLResponse)
def totp_start_form(request: Request, csrf_token: str = Form(default=""), db: Session = DbSession) -> Response:
    principal = _form_principal(request, db, csrf_token, "self.totp")
    enrolment = user_actions.start_totp_enrolment(_ctx(request, db, principal))
    return _totp_page(request, db, principal, enrolment=enrolment)


@router.post(TOTP_PAGE + "/confirm", response_class=HTMLResponse)
def totp_confirm_form(request: Request, csrf_token: str = Form(default=""),
                      code: str = Form(default="", max_length=20), db: Session = DbSession) -> Response:
    principal = _form_principal(request, db, csrf_token, "self.totp")
    lang = _lang(request, principal.language)
    try:
        codes = user_actions.confirm_totp(_ctx(request, db, principal), code)
    except Problem as problem:
        return _totp_page(request, db, principal, status_code=422, error=problem_title(problem.code, lang))
    return _totp_page(request, db, principal, recovery_codes=codes)


@router.post(TOTP_PAGE + "/disable", response_class=HTMLResponse)
def totp_disable_form(request: Request, csrf_token: str = Form(default=""),
                      code: str = Form(default="", max_length=20), db: Session = DbSession) -> Response:
    principal = _form_principal(request, db, csrf_token, "self.totp")
    lang = _lang(request, principal.language)
    try:
        ok = user_actions.disable_totp(_ctx(request, db, principal), code, client_address(request))
    except Problem as problem:
        return _totp_page(request, db, principal, status_code=problem.status,
                          error=problem_title(problem.code, lang, **problem.params))
    if not ok:  # the failed attempt is kept (committed): it counts as a failed sign-in
        return _totp_page(request, db, principal, status_code=422, error=problem_title("totp_code_wrong", lang))
    return RedirectResponse(TOTP_PAGE, status_code=303)


@router.get("/users", response_class=HTMLResponse)
def users_page(request: Request, db: Session = DbSession) -> Response:
    """The administrator's list of users with their two-step verification, and its reset (a lost phone)."""
    principal = authenticate(request, db)
    if principal is None:
        return RedirectResponse("/?next=/users", status_code=303)
    if principal.enrolment_only:
        return RedirectResponse(TOTP_PAGE, status_code=303)
    lang = _lang(request, principal.language)
    context = _page_context(request, principal, lang, "users")
    if not principal.can("users.write"):
        return _render(request, "forbidden.html", context, status_code=403)
    totp_rows = db.execute(select(UserTotp.user_id, UserTotp.enabled_at)).all()
    done = request.query_params.get("reset", "")
    i = 0 if lang == "id" else 1
    context.update({
        "users": db.scalars(select(User).where(User.role != TELEPHONY).order_by(User.username)).all(),
        "enabled": {r.user_id for r in totp_rows if r.enabled_at is not None},
        "enrolled": {r.user_id for r in totp_rows},
        "roles": {role: labels[i] for role, labels in ROLE_LABELS.items()},
        "done": context["w"]["totp_reset_done"].replace("{user}", done) if done else ""})
    return _render(request, "users.html", context)


@router.post("/users/{user_id}/totp/reset")
def users_totp_reset_form(user_id: PathId, request: Request, csrf_token: str = Form(default=""),
                          db: Session = DbSession) -> Response:
    principal = _form_principal(request, db, csrf_token, "users.write")
    user = db.get(User, user_id)
    if user is None:
        raise Problem(404, "not_found")
    user_actions.reset_totp(_ctx(request, db, principal), user)
    return RedirectResponse("/users?" + urlencode({"reset": user.username}), status_code=303)


# --- quality review (domains/quality): the supervisor's queue and review form, the admin's checklist, the
# call-taker's feedback. The pages read through the quality service; every change goes through /api/v1/qa.

def _qa_words(lang: str) -> dict[str, Any]:
    return {"status": _status_words(lang), "pct": lambda value: report_fmt.percent(value, lang)}


@router.get("/qa", response_class=HTMLResponse)
def qa_page(request: Request, db: Session = DbSession) -> Response:
    """Tinjauan mutu: the sampled calls not yet reviewed, oldest first, with why each was sampled; the
    latest reviews."""
    def build(_principal: Principal, lang: str) -> dict[str, Any]:
        settings = request.app.state.settings
        queue = quality_service.queue(db, SampleRule.of(settings), request.app.state.clock.now(),
                                      settings.qa_queue_days)
        recent = quality_service.reviews_out(db, quality_service.reviews(db, limit=20), lang)
        return {"queue": queue, "recent": recent, **_qa_words(lang)}

    return _screen(request, db, "qa", "qa.html", build=build)


@router.get("/qa/call/{call_id}", response_class=HTMLResponse)
def qa_review_page(call_id: str, request: Request, db: Session = DbSession) -> Response:
    """A call's review: its facts, a result per checklist item, a comment; saved through the API with the
    version the page was opened on, so a second supervisor's save is a conflict said in words."""
    number = int(call_id) if call_id.isascii() and call_id.isdigit() else 0
    call = db.get(Call, number) if 1 <= number <= MAX_ID else None

    def build(principal: Principal, lang: str) -> dict[str, Any]:
        if call is None:
            raise Problem(404, "not_found")
        review = quality_service.review_of(db, call.id)
        out = quality_service.reviews_out(db, [review], lang)[0] if review is not None else None
        items = quality_service.checklist(db)
        had = set(review.results) if review is not None else set()
        shown = [i for i in items if i.active or i.id in had]
        operator = db.get(User, call.operator_id) if call.operator_id else None
        incident = db.get(Incident, call.incident_id) if call.incident_id else None
        reasons = sample_reasons(call.id, call.outcome, answer_seconds(call.offered_at, call.answered_at),
                                 SampleRule.of(request.app.state.settings))
        return {"call": call, "review": out, "items": shown, "operator": operator, "incident": incident,
                "reasons": reasons, "answer_s": answer_seconds(call.offered_at, call.answered_at),
                "results": review.results if review is not None else {}, **_qa_words(lang)}

    try:
        return _screen(request, db, "qa", "qa_review.html", build=build)
    except Problem:
        principal = authenticate(request, db)
        assert principal is not None
        return _render(request, "forbidden.html",
                       _page_context(request, principal, _lang(request, principal.language), "qa"), status_code=404)


@router.get("/qa-checklist", response_class=HTMLResponse)
def qa_checklist_page(request: Request, db: Session = DbSession) -> Response:
    """The administrator's checklist: add an item, rename it, retire it or bring it back."""
    def build(_principal: Principal, _lang: str) -> dict[str, Any]:
        return {"items": quality_service.checklist(db)}

    return _screen(request, db, "qa-checklist", "qa_checklist.html", build=build)


@router.get("/feedback", response_class=HTMLResponse)
def feedback_page(request: Request, db: Session = DbSession) -> Response:
    """Umpan balik mutu: the reviews of the calls this call-taker answered, and only theirs."""
    def build(principal: Principal, lang: str) -> dict[str, Any]:
        rows = quality_service.reviews(db, operator_id=principal.user_id, limit=200)
        return {"feedback": quality_service.reviews_out(db, rows, lang), **_qa_words(lang)}

    return _screen(request, db, "feedback", "feedback.html", build=build)


def mount(app: FastAPI) -> None:
    app.include_router(router)
    app.include_router(basemap.router)
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")


__all__ = ["mount", "reference_data", "User"]
