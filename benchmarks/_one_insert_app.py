"""The stack's own ceiling for a durable write: FastAPI, a pydantic body, a sync endpoint in the thread
pool and SQLAlchemy on the same PostgreSQL, doing nothing but the raw benchmark's single-row INSERT and
its COMMIT per request — no authentication, audit, outbox, ledger or event stream. What any route of
this stack can at best reach on this machine; ingest_throughput.py reports the API against it.

Served by uvicorn with the same number of workers as `siaga serve`: BENCH_DATABASE_URL names the
database (the table bench_raw must exist)."""

from __future__ import annotations

import os

from fastapi import FastAPI
from pydantic import BaseModel
from sqlalchemy import text

from siaga.db.engine import make_engine

engine = make_engine(os.environ["BENCH_DATABASE_URL"])
app = FastAPI()
INSERT = text("INSERT INTO bench_raw (at, payload) VALUES (now(), :payload)")


class Event(BaseModel):
    event_id: str
    call_ref: str
    type: str
    at: str


@app.post("/api/v1/call-events", status_code=201)
def one_insert(body: Event) -> dict[str, str]:
    with engine.begin() as conn:
        conn.execute(INSERT, {"payload": body.event_id})
    return {"event_id": body.event_id}
