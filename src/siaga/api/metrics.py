"""`GET /metrics`: Prometheus's text format for the on-call technician (deploy/prometheus/ has the alert rules
and a Grafana dashboard). At the root like /readyz, without a sign-in, but only for the addresses in
SIAGA_METRICS_NETWORKS (loopback by default; behind a proxy, the address from core.http.client_address):
the figures are counts, never a caller's number, yet they say how busy and how staffed a centre is.

The database's figures come from domains/stats/metrics.py; this process's own (event-stream clients, the
connection pool, the link to the SIP edge, the newest backup) are added here. When the database is down,
/metrics still answers, with siaga_database_up 0, so the alert that says so can fire."""

from __future__ import annotations

import ipaddress
import logging
from collections.abc import Iterator
from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_PLAIN_0_0_4, CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy.engine import Engine

from siaga import __version__
from siaga.core.errors import Problem
from siaga.core.http import client_address
from siaga.db import backup
from siaga.db.engine import open_session
from siaga.domains.recordings import actions as recordings
from siaga.domains.stats.metrics import Figures, figures

router = APIRouter(include_in_schema=False)
log = logging.getLogger("siaga.metrics")


class _Scrape(Collector):
    def __init__(self, request: Request) -> None:
        self.request = request

    def collect(self) -> Iterator[Metric]:
        state = self.request.app.state
        engine: Engine = state.engine
        info = GaugeMetricFamily("siaga_info", "Siaga's version and database", labels=["version", "database"])
        info.add_metric([__version__, engine.dialect.name], 1)
        yield info
        found: Figures | None = None
        try:
            with open_session(engine, write=False) as db:
                found = figures(db, state.clock.now())
        except Exception:  # the database away: say so in a metric, never fail the scrape
            log.warning("metrics: the database did not answer", exc_info=True)
        yield GaugeMetricFamily("siaga_database_up", "1 when the database answered this scrape",
                                value=1 if found is not None else 0)
        if found is not None:
            yield from _database_figures(found)
        yield from _process_figures(state, engine)


def _gauge(name: str, doc: str, value: float | int | None) -> Iterator[Metric]:
    if value is not None:
        yield GaugeMetricFamily(name, doc, value=value)


def _database_figures(f: Figures) -> Iterator[Metric]:
    yield GaugeMetricFamily("siaga_calls_waiting", "Calls offered or ringing, not yet answered", value=f.calls_waiting)
    yield GaugeMetricFamily("siaga_call_oldest_wait_seconds", "How long the longest-waiting call has waited",
                            value=f.oldest_wait_seconds)
    on_duty = GaugeMetricFamily("siaga_operators_on_duty", "Operators who can answer now", labels=["counted_by"])
    on_duty.add_metric([f.operators_counted_by], f.operators_on_duty)
    yield on_duty
    yield CounterMetricFamily("siaga_calls_offered", "Real calls offered", value=f.calls_offered_total)
    yield CounterMetricFamily("siaga_calls_abandoned", "Real calls the caller hung up before an answer",
                              value=f.calls_abandoned_total)
    buckets = [(str(le), n) for le, n in f.answer_buckets] + [("+Inf", f.calls_answered_total)]
    yield HistogramMetricFamily("siaga_call_answer_seconds", "Seconds from offered to answered, real calls",
                                buckets=buckets, sum_value=f.answer_seconds_sum)
    yield GaugeMetricFamily("siaga_incidents_open", "Incidents not yet resolved or cancelled", value=f.incidents_open)
    yield GaugeMetricFamily("siaga_incidents_without_location", "Open incidents whose place is not known yet",
                            value=f.incidents_without_location)
    yield GaugeMetricFamily("siaga_deadlines_pending", "Agency response deadlines still running",
                            value=f.deadlines_pending)
    yield GaugeMetricFamily("siaga_deadlines_overdue", "Pending deadlines already past due (the ticker is behind)",
                            value=f.deadlines_overdue)
    yield GaugeMetricFamily("siaga_assignments_escalated", "Open assignments that missed a deadline or were declined",
                            value=f.assignments_escalated)
    yield from _gauge("siaga_database_replicas", "Streaming replicas connected to the primary", f.replicas)
    yield from _gauge("siaga_database_replication_lag_seconds", "Largest replay lag of a replica",
                      f.replication_lag_seconds)
    yield GaugeMetricFamily("siaga_recordings_unreadable", "Recordings kept whose audio cannot be decoded",
                            value=f.recordings_unreadable)


def _process_figures(state, engine: Engine) -> Iterator[Metric]:  # type: ignore[no-untyped-def]
    yield GaugeMetricFamily("siaga_event_stream_clients", "Consoles connected to this process's event stream",
                            value=len(state.hub.subscribers))
    pool = engine.pool
    if hasattr(pool, "checkedout"):
        yield GaugeMetricFamily("siaga_database_pool_in_use", "Connections of this process's pool in use",
                                value=pool.checkedout())
        yield GaugeMetricFamily("siaga_database_pool_size", "Connections this process's pool keeps",
                                value=pool.size())
    bridge = state.bridge
    if bridge is not None:
        yield GaugeMetricFamily("siaga_edge_connected", "1 when this process's bridge is connected to the SIP edge",
                                value=1 if bridge.connected.is_set() else 0)
    settings = state.settings
    if settings.telephony_media:
        count, oldest = recordings.waiting(settings, state.clock.now())
        yield GaugeMetricFamily("siaga_recordings_waiting", "Finished recordings in the spool not attached yet",
                                value=count)
        yield GaugeMetricFamily("siaga_recordings_waiting_oldest_seconds",
                                "Age of the oldest finished recording not attached yet", value=oldest)
    if settings.backup_dir:
        newest = backup.latest(Path(settings.backup_dir))
        yield GaugeMetricFamily("siaga_backup_last_timestamp_seconds", "When the newest backup was taken (0: none)",
                                value=newest.taken_at.timestamp() if newest else 0)


@router.get("/metrics")
def metrics(request: Request) -> Response:
    address = client_address(request)
    allowed = request.app.state.settings.metrics_network_list()
    try:
        ok = any(ipaddress.ip_address(address) in net for net in allowed)
    except ValueError:
        ok = False
    if not ok:
        raise Problem(403, "metrics_forbidden", address=address)
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_Scrape(request))
    return Response(generate_latest(registry), media_type=CONTENT_TYPE_PLAIN_0_0_4)  # what every Prometheus 2 reads
