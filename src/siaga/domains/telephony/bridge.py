"""The bridge between the SIP edge (Kamailio's evapi socket: JSON in netstrings) and the service.

Runs as a task in one `siaga serve` process (SIAGA_TELEPHONY_BRIDGE=true) or alone (`siaga telephony
bridge`); however many are started, one bridges the edge at a time and the others stand by (lead.py).
Each event from the edge becomes an action in its own unit of work (in a worker thread, so the event loop
never waits on the database); the action's answer becomes a command back to the edge. Calls the edge
holds (suspended transactions) are remembered here; twice a second, and after every event, the queue is
planned again, so a presence change or a console claim made in another process is seen within half a
second. If handling a new call fails for any reason, the edge is told to ring every registered operator
phone at once (degraded mode): a failure of ours never loses a call.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import hashlib
import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TypeVar

import anyio
from sqlalchemy.engine import Engine

from siaga.core.aio import within
from siaga.core.authz import Principal
from siaga.core.clock import Clock
from siaga.core.context import Ctx
from siaga.db.engine import unit_of_work
from siaga.domains.calls.numbers import tidy_typed_number
from siaga.domains.calls.schemas import LocationIn
from siaga.domains.location.sip import locations_from_parts, number_of, parse_name_addr
from siaga.domains.telephony import actions, agency_calls, announce, service
from siaga.domains.telephony.lead import CHECK_S, BridgeLock
from siaga.settings import Settings

log = logging.getLogger("siaga.telephony")
EDGE_ACTOR = Principal(user_id=0, username="sip-edge", full_name="SIP edge", role="telephony", agency_id=None,
                       via="system")
MAX_FRAME = 4 * 1024 * 1024
BATCH = 200  # edge events written in one unit of work at most
T = TypeVar("T")


class FrameError(Exception):
    pass


def encode_netstring(obj: dict[str, Any]) -> bytes:
    data = json.dumps(obj, separators=(",", ":")).encode()
    return str(len(data)).encode() + b":" + data + b","


async def read_netstring(reader: asyncio.StreamReader) -> bytes:
    head = await reader.readuntil(b":")
    try:
        size = int(head[:-1])
    except ValueError as exc:
        raise FrameError(f"bad netstring length {head[:20]!r}") from exc
    if not 0 <= size <= MAX_FRAME:
        raise FrameError(f"netstring of {size} bytes")
    data = await reader.readexactly(size + 1)
    if data[-1:] != b",":
        raise FrameError("netstring without its comma")
    return data[:-1]


def b64(value: Any) -> bytes:
    if not isinstance(value, str) or not value:
        return b""
    try:
        return base64.b64decode(value, validate=False)
    except (binascii.Error, ValueError):
        return b""


def number_from_uri(header: str) -> str:
    """The caller's number from a P-Asserted-Identity or From value (location.sip reads the address):
    tel:+62…, sip:0812…@host, or a display name with <uri>. Withheld or odd values give ''; the call is
    recorded all the same."""
    try:
        return tidy_typed_number(number_of(parse_name_addr(header)[1]))[:40]
    except ValueError:
        return ""


def call_ref_of(value: Any) -> str:
    """The SIP Call-ID as our call reference; a very long one is replaced by its hash, so that every event
    id built on it (reference + step) stays distinct within the 200 characters stored."""
    cid = str(value or "")
    if len(cid) <= 150:
        return cid
    return "sha256:" + hashlib.sha256(cid.encode("utf-8", "replace")).hexdigest()


def edge_time(value: Any) -> datetime:
    try:
        return datetime.fromtimestamp(float(value), UTC)
    except (TypeError, ValueError, OverflowError, OSError):
        return datetime.now(UTC)


def locations_for(content_type: str, body: bytes, geolocation: str) -> list[LocationIn]:
    return locations_from_parts(content_type, body, geolocation)


@dataclass
class Held:
    ti: int
    tl: int
    sip_call_id: str = ""  # as the edge knows it (our reference may be its hash)
    since: float = field(default_factory=time.monotonic)


class DtmfListener(asyncio.DatagramProtocol):
    """rtpengine's DTMF log (--dtmf-log-dest): one JSON object per key press, once the key is released —
    {"callid", "source_tag", "type": "DTMF", "event": 0-15, "timestamp", ...}. Each goes into the bridge's
    inbox as a `dtmf` edge event, in order with the edge's own events."""

    def __init__(self, bridge: EdgeBridge) -> None:
        self.bridge = bridge

    def datagram_received(self, data: bytes, addr: Any) -> None:
        try:
            ev = json.loads(data)
            if not isinstance(ev, dict) or ev.get("type") != "DTMF" or not isinstance(ev.get("event"), int):
                raise ValueError("not a DTMF event")
        except ValueError:
            log.error("unreadable DTMF report from rtpengine: %r", data[:200])
            return
        self.bridge.inbox.put_nowait({"ev": "dtmf", "cid": ev.get("callid"), "event": ev["event"],
                                      "tag": str(ev.get("source_tag") or ""), "at": ev.get("timestamp")})


class EdgeBridge:
    def __init__(self, engine: Engine, clock: Clock, settings: Settings) -> None:
        self.engine, self.clock, self.settings = engine, clock, settings
        self.held: dict[str, Held] = {}
        self.caller_tags: dict[str, str] = {}  # call reference → the caller's From tag (whose keys count)
        self.writer: asyncio.StreamWriter | None = None
        self.task: asyncio.Task[None] | None = None
        self.connected = asyncio.Event()
        self.lines_pushed: dict[str, str] | None = None
        self.agency_pushed: set[str] = set()
        self.boot = ""
        self._lock = asyncio.Lock()
        self.inbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self._later: list[dict[str, Any]] = []  # commands decided while reading a batch
        self._kick = asyncio.Event()
        self.lead = BridgeLock(engine, settings.telephony_evapi)  # only its holder bridges (lead.py)
        # The waiting prompt (announce.py): each call is announced at most once, and only once its offer is
        # recorded and a plan has had the chance to ring it.
        self.caller_sdps: dict[str, bytes] = {}  # call reference → the SDP of the caller's INVITE
        self.recorded: set[str] = set()  # calls whose offer is recorded (may be announced when they wait)
        self.announced: set[str] = set()  # announced, or tried: never twice
        self.announcing: set[str] = set()  # sent to the edge; held again when it says the prompt plays
        self.announce_health: tuple[bool, str] | None = None  # last recorded for `siaga telephony status`
        self._announce_tasks: set[asyncio.Task[None]] = set()

    # --- lifecycle ---
    async def start(self) -> None:
        self.task = asyncio.create_task(self._run(), name="siaga-edge-bridge")

    async def stop(self) -> None:
        if self.task is not None:
            self.task.cancel()
            await asyncio.gather(self.task, return_exceptions=True)
            self.task = None
        for task in list(self._announce_tasks):
            task.cancel()
        await self.lead.release()

    async def _in_uow(self, fn: Callable[[Ctx], T]) -> T:
        def work() -> T:
            with unit_of_work(self.engine) as db:
                return fn(Ctx(db=db, actor=EDGE_ACTOR, clock=self.clock, settings=self.settings))
        return await anyio.to_thread.run_sync(work)

    async def _run(self) -> None:
        host, _, port = self.settings.telephony_evapi.rpartition(":")
        backoff = 0.2
        while True:
            if not self.lead.held:
                await self.lead.acquire()  # another bridge serves this edge: stand by until it goes
            try:
                reader, writer = await asyncio.open_connection(host or "127.0.0.1", int(port))
            except OSError:
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 5.0)
                continue
            backoff = 0.2
            self.writer, self.lines_pushed = writer, None
            self.connected.set()
            log.info("connected to the SIP edge at %s", self.settings.telephony_evapi)
            ticker = asyncio.create_task(self._tick_loop())
            planner = asyncio.create_task(self._plan_loop())
            consumer = asyncio.create_task(self._consume())
            watch = asyncio.create_task(self._watch_lead(writer))
            dtmf = await self._listen_dtmf()
            try:
                await self._in_uow(lambda ctx: actions.edge_seen(ctx, "up"))
                await self._push_lines()
                await self._push_dial_plan()
                while True:
                    frame = await read_netstring(reader)
                    self._spawn(frame)
            except (asyncio.IncompleteReadError, ConnectionError, FrameError, asyncio.LimitOverrunError) as exc:
                log.warning("SIP edge connection lost: %s", exc)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("SIP edge bridge failed; reconnecting")
            finally:
                helpers = (ticker, planner, consumer, watch)
                for task in helpers:
                    task.cancel()
                # Wait for them to end: a helper left behind in a worker thread would outlive the loop.
                await asyncio.gather(*helpers, return_exceptions=True)
                self.connected.clear()
                if dtmf is not None:
                    dtmf.close()
                self.writer = None
                writer.close()
                # Transactions suspended in the edge are gone with a restart; keep them until we know.
                with contextlib.suppress(Exception):
                    await self._in_uow(lambda ctx: actions.edge_seen(ctx, "down"))
            await asyncio.sleep(0.2)

    async def _listen_dtmf(self) -> asyncio.DatagramTransport | None:
        """Only the bridge that holds the edge listens for rtpengine's key presses (one socket per site)."""
        if not self.settings.telephony_media:
            return None
        host, _, port = self.settings.telephony_dtmf_log.rpartition(":")
        try:
            transport, _ = await asyncio.get_running_loop().create_datagram_endpoint(
                lambda: DtmfListener(self), local_addr=(host, int(port)))
        except OSError as exc:
            log.error("cannot listen for key presses on %s: %s", self.settings.telephony_dtmf_log, exc)
            return None
        return transport

    async def _watch_lead(self, writer: asyncio.StreamWriter) -> None:
        """Leave the edge the moment this process no longer holds its lock (a spare may have it now)."""
        while True:
            await asyncio.sleep(CHECK_S)
            if not await self.lead.still_held():
                log.error("lost the bridge lock for the SIP edge; disconnecting and standing by")
                writer.close()  # the read loop ends, and the bridge tries for the lock again
                return

    def _spawn(self, frame: bytes) -> None:
        try:
            ev = json.loads(frame)
            if not isinstance(ev, dict):
                raise ValueError("not an object")
        except ValueError:
            log.error("unreadable event from the edge: %r", frame[:200])
            return
        self.inbox.put_nowait(ev)

    async def _consume(self) -> None:
        """Events in the order the edge sent them, in batches: whatever has arrived while the previous
        batch was written goes into one unit of work (one commit), so a flood of calls costs one
        transaction per batch, not per call. If a batch fails, its events are retried one by one."""
        while True:
            batch = [await self.inbox.get()]
            while len(batch) < BATCH and not self.inbox.empty():
                batch.append(self.inbox.get_nowait())
            try:
                await self._handle_batch(batch)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("handling events from the edge failed")
            self._kick.set()

    async def _plan_loop(self) -> None:
        """Plans the queue when something happened (coalesced), and at least twice a second."""
        while True:
            with contextlib.suppress(TimeoutError):
                await within(self._kick.wait(), 0.5)
            self._kick.clear()
            try:
                await self.plan()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("planning the queue failed")

    async def _tick_loop(self) -> None:
        n = 0
        while True:
            await asyncio.sleep(0.5)
            n += 1
            try:
                # Lines every tick: a browser line's password is made when its console opens, and the console
                # registers at once.
                await self._push_lines()
                if n % 10 == 0:
                    await self._in_uow(actions.tidy)
                    await self.send({"cmd": "ping", "id": str(n)})
                    await self._push_dial_plan()
                    await self._expire_held()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("telephony tick failed")

    async def send(self, command: dict[str, Any]) -> None:
        if self.writer is None:
            raise ConnectionError("not connected to the SIP edge")
        self.writer.write(encode_netstring(command))
        await self.writer.drain()

    async def _push_lines(self) -> None:
        # An agency operator's line (issue 17) goes with "agency": "1": the edge keeps it out of the degraded
        # mode's group (it is not a 112 desk). A change of that flag is pushed like a new digest. Both read in one
        # unit of work (this runs twice a second).
        creds, agency = await self._in_uow(lambda ctx: (actions.line_credentials(ctx),
                                                         actions.agency_extensions(ctx)))
        if creds == self.lines_pushed and agency == self.agency_pushed:
            return
        if self.lines_pushed is None or set(self.lines_pushed) - set(creds):
            await self.send({"cmd": "lines_reset"})
            self.lines_pushed, self.agency_pushed = {}, set()
        for ext, digest in creds.items():
            if self.lines_pushed.get(ext) != digest or (ext in agency) != (ext in self.agency_pushed):
                await self.send({"cmd": "line", "ext": ext, "ha1": digest, "agency": "1" if ext in agency else ""})
        self.lines_pushed, self.agency_pushed = dict(creds), agency

    async def _expire_held(self) -> None:
        limit = self.settings.telephony_max_queue_s
        now = time.monotonic()
        for ref, held in list(self.held.items()):
            if now - held.since > limit:
                self.held.pop(ref, None)
                await self._in_uow(lambda ctx, r=ref: actions.give_up(ctx, r))

    # --- joining an agency (issue 17): the agencies' numbers a line may dial, pushed like the lines ---
    dial_pushed: dict[str, str] | None = None
    dial_writer: asyncio.StreamWriter | None = None  # the connection they were pushed on

    async def _push_dial_plan(self) -> None:
        """The agencies' numbers (agency_calls.dial_plan) into the edge's htable `dial`: all of them on each
        new connection, then only the changes."""
        plan = await self._in_uow(agency_calls.dial_plan)
        pushed = self.dial_pushed if self.dial_writer is self.writer else None
        if plan == pushed:
            return
        if pushed is None or set(pushed) - set(plan):
            await self.send({"cmd": "dial_reset"})
            pushed = {}
        for number, agency_id in plan.items():
            if pushed.get(number) != agency_id:
                await self.send({"cmd": "dial", "number": number, "agency": agency_id})
        self.dial_pushed, self.dial_writer = dict(plan), self.writer

    # --- events from the edge ---
    # Each event kind has one handler: it does the bookkeeping of the calls the edge holds (here, in the
    # event loop) and returns what the event does in the database (run in a worker thread), or None.
    Handler = Callable[["EdgeBridge", dict[str, Any], str, datetime], "Callable[[Ctx], Any] | None"]

    def _work(self, ev: dict[str, Any]) -> Callable[[Ctx], Any] | None:
        kind = str(ev.get("ev") or "")
        cid = call_ref_of(ev.get("cid"))
        entry = HANDLERS.get(kind)
        if entry is None:
            log.warning("unknown event from the edge: %s", kind)
            return None
        needs_call, handler = entry
        if needs_call and not cid:
            log.warning("event %s from the edge names no call", kind)
            return None
        return handler(self, ev, cid, edge_time(ev.get("at")))

    def _on_invite(self, ev: dict[str, Any], cid: str, at: datetime) -> Callable[[Ctx], Any]:
        self._hold(cid, ev)
        tag = b64(ev.get("ftag")).decode("utf-8", "replace")
        if tag:
            if len(self.caller_tags) > 10_000:
                self.caller_tags.clear()  # bounded: a lost tag only means a key is not checked for its side
            self.caller_tags[cid] = tag
        self._keep_caller_sdp(ev, cid)
        return lambda ctx: self._offered(ctx, ev, cid, at)

    def _on_ring_failed(self, ev: dict[str, Any], cid: str, at: datetime) -> Callable[[Ctx], Any]:
        self._hold(cid, ev)
        ext, reason = str(ev.get("ext") or ""), str(ev.get("reason") or "")
        return lambda ctx: actions.ring_failed(ctx, cid, ext, reason)

    def _on_answered(self, ev: dict[str, Any], cid: str, at: datetime) -> Callable[[Ctx], Any]:
        self.held.pop(cid, None)
        self._forget_announcement(cid)
        ext, contact = str(ev.get("ext") or ""), str(ev.get("contact") or "")
        return lambda ctx: actions.answered(ctx, cid, ext, at, contact)

    def _on_hangup(self, ev: dict[str, Any], cid: str, at: datetime) -> Callable[[Ctx], Any]:
        cancelled = ev.get("ev") == "cancel"
        held = self.held.pop(cid, None)
        self.caller_tags.pop(cid, None)  # rtpengine reports a key when it is released: before the BYE
        self._forget_announcement(cid)
        if cancelled and ev.get("matched") == "0" and held is not None:
            # The edge could not match the CANCEL to the held INVITE: answer the INVITE here.
            self._later.append({"cmd": "reject", "code": "487", "reason": "Request Terminated",
                                "cid": held.sip_call_id or cid, "ti": str(held.ti), "tl": str(held.tl)})
        return lambda ctx: actions.ended(ctx, cid, at, cancelled=cancelled)

    def _on_dtmf(self, ev: dict[str, Any], cid: str, at: datetime) -> Callable[[Ctx], Any] | None:
        caller = self.caller_tags.get(cid)
        if caller and ev.get("tag") and ev["tag"] != caller:
            return None  # the operator's phone pressed it, not the caller
        event = int(ev.get("event", -1))
        return lambda ctx: actions.key_pressed(ctx, cid, event, at)

    def _on_registered(self, ev: dict[str, Any], cid: str, at: datetime) -> Callable[[Ctx], Any]:
        ext, contact, expires = (str(ev.get(k) or "") for k in ("ext", "contact", "expires"))
        return lambda ctx: actions.registered(ctx, ext, contact, expires)

    def _on_degraded_call(self, ev: dict[str, Any], cid: str, at: datetime) -> Callable[[Ctx], Any]:
        """A call the edge handled alone while the bridge was away: recorded afterwards."""
        caller = number_from_uri(b64(ev.get("pai")).decode("utf-8", "replace")) or \
            number_from_uri(b64(ev.get("from")).decode("utf-8", "replace"))
        called = number_from_uri(str(ev.get("ruri") or "")) or "112"

        def when(key: str) -> datetime | None:
            return edge_time(ev[key]) if ev.get(key) else None
        return lambda ctx: actions.degraded_call(
            ctx, cid, at, caller, called, answered_ext=str(ev.get("answered_ext") or ""),
            answered_contact=str(ev.get("answered_contact") or ""),
            answered_at=when("answered_at"), ended_at=when("ended_at"), cancelled_at=when("cancelled_at"))

    def _on_queue_timeout(self, ev: dict[str, Any], cid: str, at: datetime) -> Callable[[Ctx], Any]:
        # The edge kept the call as long as it may and now rings every phone: no longer ours to plan.
        self.held.pop(cid, None)
        return lambda ctx: ctx.audit("telephony.queue_timeout", "call_ref", service.audit_ref(cid), {"call_ref": cid})

    def _on_held(self, ev: dict[str, Any], cid: str, at: datetime) -> None:
        """A call waiting at the edge that this bridge did not know (another process held it, and went): ours to
        plan from now on, like any waiting call."""
        if cid not in self.held:
            log.warning("the SIP edge holds call %s for the service: planning it", cid)
            self._hold(cid, ev)

    def _on_pong(self, ev: dict[str, Any], cid: str, at: datetime) -> Callable[[Ctx], Any]:
        boot = str(ev.get("boot") or "")
        if self.boot and boot and boot != self.boot and self.held:
            # Kamailio restarted: the calls we held there are gone with it.
            gone, self.held = list(self.held), {}
            log.error("the SIP edge restarted: %d waiting calls were lost with it", len(gone))
            self.boot = boot

            def restarted(ctx: Ctx) -> None:
                for ref in gone:
                    actions.give_up(ctx, ref)
                actions.edge_seen(ctx, "up")
            return restarted
        self.boot = boot or self.boot
        return lambda ctx: actions.edge_seen(ctx, "up")

    @staticmethod
    def _offered(ctx: Ctx, ev: dict[str, Any], cid: str, at: datetime) -> actions.Refuse | None:
        caller = number_from_uri(b64(ev.get("pai")).decode("utf-8", "replace")) or \
            number_from_uri(b64(ev.get("from")).decode("utf-8", "replace"))
        called = number_from_uri(str(ev.get("ruri") or "")) or "112"
        content_type = b64(ev.get("ct")).decode("latin-1")
        geolocation = b64(ev.get("geo")).decode("latin-1")
        try:
            # A body over 48,000 bytes comes in two base64 pieces (a Kamailio transformation gives under 64 KiB).
            locations = locations_for(content_type, b64(ev.get("body")) + b64(ev.get("body_rest")), geolocation)
        except Exception as exc:  # the parser must not raise; if it does, the call goes on all the same
            log.exception("location parsing failed for %s", cid)
            locations = [LocationIn(source="pidf_lo", valid=False, invalid_reason=f"parser error: {exc}"[:300])]
        _call, refuse = actions.offered(ctx, cid, at, caller, called, locations)
        return refuse

    async def _handle_batch(self, batch: list[dict[str, Any]]) -> None:
        work = [(ev, fn) for ev in batch if (fn := self._work(ev)) is not None]
        later, self._later = self._later, []
        for command in later:
            await self.send(command)
        if not work:
            return

        def all_in_one(ctx: Ctx) -> list[Any]:
            return [fn(ctx) for _ev, fn in work]

        results: list[tuple[dict[str, Any], Any, BaseException | None]] = []
        try:
            outcomes = await self._in_uow(all_in_one)
            results = [(ev, out, None) for (ev, _fn), out in zip(work, outcomes, strict=True)]
        except Exception:
            if len(work) > 1:
                log.warning("a batch of %d edge events failed; retrying them one by one", len(work))
            for ev, fn in work:
                try:
                    results.append((ev, await self._in_uow(fn), None))
                except Exception as exc:
                    log.exception("edge event %s for %s failed", ev.get("ev"), ev.get("cid"))
                    results.append((ev, None, exc))
        for ev, out, exc in results:
            if ev.get("ev") != "invite":
                continue
            cid = call_ref_of(ev.get("cid"))
            if exc is None and not isinstance(out, actions.Refuse):
                self.recorded.add(cid)  # it may be announced if it must wait
            if exc is not None:
                log.error("could not record call %s: ringing every operator phone", cid)
                await self._command_held(cid, {"cmd": "degraded"})
            elif isinstance(out, actions.Refuse):
                if out.uri:
                    await self._command_held(cid, {"cmd": "forward", "uri": out.uri})
                else:
                    await self._command_held(cid, {"cmd": "reject", "code": str(out.code), "reason": out.reason})

    def _hold(self, cid: str, ev: dict[str, Any]) -> None:
        try:
            self.held[cid] = Held(int(ev["ti"]), int(ev["tl"]), str(ev.get("cid") or ""))
        except (KeyError, TypeError, ValueError):
            log.error("event for %s without a transaction id", cid)

    async def _command_held(self, cid: str, command: dict[str, Any]) -> bool:
        cid = service.sip_call_id(cid)  # a call's reference may carry "#2" for a Call-ID used again
        held = self.held.pop(cid, None)
        if held is None:
            return False
        try:
            await self.send({**command, "cid": held.sip_call_id or cid, "ti": str(held.ti), "tl": str(held.tl)})
        except (ConnectionError, OSError):
            # Not sent: the edge still holds the call; keep it, and the tidy-up frees the ring attempt.
            self.held.setdefault(cid, held)
            raise
        return True

    async def plan(self) -> None:
        async with self._lock:
            if not self.held or self.writer is None:
                return
            refs = set(self.held)
            could_ring = refs & self.recorded  # recorded before this plan: it could ring them
            refused = await self._in_uow(lambda ctx: actions.refuse_if_nobody(ctx, refs))
            for out in refused:
                if out.uri:
                    await self._command_held(out.call_ref, {"cmd": "forward", "uri": out.uri})
                else:
                    await self._command_held(out.call_ref, {"cmd": "reject", "code": str(out.code),
                                                            "reason": out.reason})
            refs = set(self.held)
            rings = await self._in_uow(lambda ctx: actions.plan_rings(ctx, refs))
            timeout_ms = self.settings.telephony_ring_timeout_s * 1000
            for ring in rings:
                await self._command_held(ring.call_ref, {"cmd": "ring", "ext": ring.extension,
                                                         "timeout_ms": str(timeout_ms),
                                                         "auto": "1" if ring.auto else "0"})
            self._announce_waiting(could_ring)

    # --- the waiting prompt (announce.py) ---
    def _keep_caller_sdp(self, ev: dict[str, Any], cid: str) -> None:
        if not (self.settings.telephony_announce and self.settings.telephony_media):
            return
        if len(self.caller_sdps) > 10_000:
            self.caller_sdps.clear()  # bounded: a call whose SDP is lost is not announced, it still rings
            self.recorded.clear()
            self.announced.clear()
        sdp = announce.caller_sdp(b64(ev.get("ct")).decode("latin-1"), b64(ev.get("body")) + b64(ev.get("body_rest")))
        if sdp:
            self.caller_sdps[cid] = sdp

    def _forget_announcement(self, cid: str) -> None:
        for kept in (self.recorded, self.announced, self.announcing):
            kept.discard(cid)
        self.caller_sdps.pop(cid, None)

    def _announce_waiting(self, could_ring: set[str]) -> None:
        """The calls a plan could have rung and did not (no operator free, or their ring failed) hear the
        waiting prompt — after SIAGA_TELEPHONY_ANNOUNCE_DELAY_S, once per call. A call rung at once never
        does. Each is prepared in a task of its own: rtpengine's answers never hold up the planning."""
        s = self.settings
        if not (s.telephony_announce and s.telephony_media):
            return
        now = time.monotonic()
        for ref in could_ring:
            held = self.held.get(ref)
            if held is None or ref in self.announced or ref not in self.caller_sdps or \
                    now - held.since < s.telephony_announce_delay_s:
                continue
            self.announced.add(ref)
            task = asyncio.create_task(self._announce(ref, held))
            self._announce_tasks.add(task)
            task.add_done_callback(self._announce_tasks.discard)

    async def _announce(self, ref: str, held: Held) -> None:
        prompt = announce.check_prompt(self.settings)
        if not prompt.ok:
            await self._announce_health(False, prompt.problem)
            return
        try:
            sdp = await announce.prepare(self.settings, held.sip_call_id or ref, self.caller_tags.get(ref, ""),
                                         self.caller_sdps.get(ref, b""))
        except announce.AnnounceError as exc:
            await self._announce_health(False, f"call {ref[:60]}: {exc}")
            return
        self.announcing.add(ref)
        command = {"cmd": "announce", "sdp": base64.b64encode(sdp.encode()).decode(), "file": str(prompt.path),
                   "repeat": str(announce.repeat_times(self.settings, prompt.seconds))}
        try:
            sent = await self._command_held(ref, command)
        except (ConnectionError, OSError):
            sent = False
        if not sent:  # rung (or gone) meanwhile: nothing to announce
            self.announcing.discard(ref)

    async def _announce_health(self, ok: bool, problem: str) -> None:
        """Logged every time; recorded (for `siaga telephony status`) when it changes."""
        if not ok:
            log.error("waiting prompt not played (the call waits with its ringing tone): %s", problem)
        if self.announce_health == (ok, problem if not ok else ""):
            return
        self.announce_health = (ok, problem if not ok else "")
        with contextlib.suppress(Exception):
            await self._in_uow(lambda ctx: actions.announce_health(ctx, ok, problem))

    def _on_announced(self, ev: dict[str, Any], cid: str, at: datetime) -> None:
        """The edge answered the caller 183 and the prompt plays (or not): the call waits again."""
        if cid not in self.announcing:
            return None  # the caller hung up meanwhile
        self.announcing.discard(cid)
        self._hold(cid, ev)
        self._kick.set()  # an operator may have come free meanwhile
        played = ev.get("played") == "1"
        task = asyncio.get_running_loop().create_task(self._announce_health(
            played, "" if played else "the edge could not have rtpengine play the prompt (see its log)"))
        self._announce_tasks.add(task)
        task.add_done_callback(self._announce_tasks.discard)
        return None


# event kind → (needs a call reference, handler). An unknown kind is logged and skipped, never fatal.
HANDLERS: dict[str, tuple[bool, EdgeBridge.Handler]] = {
    "invite": (True, EdgeBridge._on_invite),
    "ring_failed": (True, EdgeBridge._on_ring_failed),
    "answered": (True, EdgeBridge._on_answered),
    "cancel": (True, EdgeBridge._on_hangup),
    "bye": (True, EdgeBridge._on_hangup),
    "registered": (False, EdgeBridge._on_registered),
    "degraded_call": (True, EdgeBridge._on_degraded_call),
    "queue_timeout": (True, EdgeBridge._on_queue_timeout),
    "pong": (False, EdgeBridge._on_pong),
    "held": (True, EdgeBridge._on_held),
    "dtmf": (True, EdgeBridge._on_dtmf),
    "announced": (True, EdgeBridge._on_announced),
}


# --- joining an agency to a caller (issue 17): the calls operators' lines place, and transfers -------------
def _on_agency_call_event(self: EdgeBridge, ev: dict[str, Any], cid: str, at: datetime) -> Callable[[Ctx], Any]:
    return lambda ctx: agency_calls.edge_event(ctx, ev, cid, at)


HANDLERS.update({kind: (True, _on_agency_call_event) for kind in agency_calls.EDGE_EVENTS})
