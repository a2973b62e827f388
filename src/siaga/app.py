"""The ASGI application: settings, one engine, the event hub, the JSON API and the web pages."""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import APIRouter, FastAPI
from sqlalchemy import Engine

from siaga import __version__
from siaga.api import agencies as agencies_api
from siaga.api import callers as callers_api
from siaga.api import calls as calls_api
from siaga.api import events as events_api
from siaga.api import incidents as incidents_api
from siaga.api import location as location_api
from siaga.api import metrics as metrics_api
from siaga.api import quality as quality_api
from siaga.api import questions as questions_api
from siaga.api import recordings as recordings_api
from siaga.api import regions as regions_api
from siaga.api import reports as reports_api
from siaga.api import response as response_api
from siaga.api import search as search_api
from siaga.api import staffing as staffing_api
from siaga.api import stats as stats_api
from siaga.api import telephony as telephony_api
from siaga.api import units as units_api
from siaga.api import users as users_api
from siaga.core.clock import Clock, site_zone
from siaga.core.errors import COMMON_RESPONSES, install_handlers
from siaga.core.guard import RequestGuard
from siaga.db.engine import engine_for
from siaga.domains.telephony.bridge import EdgeBridge
from siaga.domains.users import service as users_service
from siaga.events.hub import EventHub
from siaga.settings import Settings, get_settings
from siaga.timers.ticker import Ticker
from siaga.web import ui

API_PREFIX = "/api/v1"
API_ROUTERS = (users_api.router, regions_api.router, agencies_api.router, units_api.router, calls_api.router,
               callers_api.router, incidents_api.router, response_api.router, search_api.router, stats_api.router,
               events_api.router)
API_ROUTERS += (staffing_api.router,)
API_ROUTERS += (reports_api.router,)
API_ROUTERS += (telephony_api.router,)
API_ROUTERS += (location_api.router,)
API_ROUTERS += (questions_api.router,)
API_ROUTERS += (quality_api.router,)
API_ROUTERS += (recordings_api.router,)


def create_app(settings: Settings | None = None, clock: Clock | None = None,
               engine: Engine | None = None) -> FastAPI:
    settings = settings or get_settings()
    site_zone(settings)  # settings copied without validation (model_copy) still stop here on an unknown zone
    engine = engine or engine_for(settings.database_url)
    hub = EventHub(engine, poll_seconds=settings.event_poll_seconds)
    clock = clock or Clock()
    ticker = Ticker(engine, clock, settings)
    bridge = EdgeBridge(engine, clock, settings) if settings.telephony_bridge else None

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        await hub.start()
        _close_streams_on_stop(hub)
        await ticker.start()
        if bridge is not None:
            await bridge.start()
        try:
            yield
        finally:
            if bridge is not None:
                await bridge.stop()
            await ticker.stop()
            await hub.stop()

    app = FastAPI(
        title="Siaga 112",
        version=__version__,
        description="Emergency call-handling and unified-response dispatch. Errors are RFC 9457 "
                    "problem+json. Authenticate with a session cookie (plus X-CSRF-Token on writes) "
                    "or `Authorization: Bearer <API token>`.",
        lifespan=lifespan,
        docs_url=None,  # served below from vendored files: the centre must work with the internet down
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.secret_key = settings.resolved_secret_key()
    app.state.auth = users_service  # core.http.authenticate asks it who a token or a cookie is
    app.state.engine = engine
    app.state.clock = clock
    app.state.ticker = ticker
    app.state.bridge = bridge
    app.state.hub = hub
    install_handlers(app)
    app.add_middleware(RequestGuard)
    api = APIRouter(prefix=API_PREFIX, responses=COMMON_RESPONSES)
    for router in API_ROUTERS:
        api.include_router(router)
    app.include_router(api)
    app.include_router(events_api.probes)
    app.include_router(metrics_api.router)
    ui.mount(app)
    _mount_docs(app)
    logging.getLogger("siaga").setLevel(logging.INFO)
    return app


def _close_streams_on_stop(hub: EventHub) -> None:
    """On SIGTERM or SIGINT, end every console's event stream at once (they reconnect, to another process
    when there is one), then let the server's own handler stop it: an open stream would otherwise hold
    the process for its whole graceful timeout. Only where signals can be handled (the main thread of a
    server process; not under a test client)."""
    if threading.current_thread() is not threading.main_thread():
        return
    for sig in (signal.SIGTERM, signal.SIGINT):
        previous = signal.getsignal(sig)

        def handler(signum: int, frame: Any, previous: Any = previous) -> None:
            hub.close_streams_soon()
            if callable(previous):
                previous(signum, frame)

        signal.signal(sig, handler)


SWAGGER = "/static/vendor/swagger-ui-dist@5.35.0"


def _mount_docs(app: FastAPI) -> None:
    from fastapi.openapi.docs import get_swagger_ui_html
    from fastapi.responses import HTMLResponse

    @app.get("/docs", include_in_schema=False)
    def docs() -> HTMLResponse:
        return get_swagger_ui_html(openapi_url="/openapi.json", title="Siaga 112 — API",
                                   swagger_js_url=f"{SWAGGER}/swagger-ui-bundle.js",
                                   swagger_css_url=f"{SWAGGER}/swagger-ui.css",
                                   swagger_favicon_url=f"{SWAGGER}/favicon-32x32.png")
