#!/usr/bin/python3
"""fake_slack_socket.py -- a strict local Slack for Socket Mode.

Two loopback listeners, as Slack has two endpoints:

* Web API (http.server): ``POST /api/apps.connections.open`` with
  ``Authorization: Bearer <app token>``. A wrong or missing token answers
  ``{"ok": false, "error": "invalid_auth"}`` (HTTP 200, as Slack does); a bot
  token (``xoxb-``) answers ``not_allowed_token_type``. Otherwise a fresh
  single-use ``ws://127.0.0.1:<port>/link/?ticket=<uuid>&app_id=A0TEST``.
  Anything but POST is 405; another path is ``unknown_method`` (404).
* WebSocket (Debian's python3-websockets; wss:// when given a certificate
  and key, tls=(cert, key)): accepts only an unused ticket
  (a URL is good for one connection), sends ``hello``, and from then on the
  test drives it: envelopes, ``disconnect`` (refresh_requested, warning,
  link_disabled, too_many_websockets), abrupt drops, delayed pongs.

Strict like Slack: every text frame from the client must be JSON acking an
envelope this fake sent on *that* connection, with nothing but
``envelope_id`` and an optional object ``payload``; anything else is recorded
in ``protocol_errors``. An envelope not acked within ``redeliver_after``
seconds, or whose connection went away unacked, is sent again (with
``retry_attempt`` + 1) on another open connection, as Slack does.

Use it in-process (``FakeSlack().start()``) from tests and benches, or run it
(``/usr/bin/python3 fake_slack_socket.py --token T``): it prints
``FAKE_SLACK_API=<url>`` and serves until SIGTERM.
"""

import asyncio
import base64
import hashlib
import json
import ssl
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

import websockets
import websockets.legacy.server as wsserver

APP_ID = "A0TEST"


def accept_for(key):
    """Sec-WebSocket-Accept for a Sec-WebSocket-Key (RFC 6455, 4.2.2)."""
    guid = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
    return base64.b64encode(hashlib.sha1(key.encode() + guid).digest()).decode()


class Conn:
    """One WebSocket connection as the fake sees it."""

    def __init__(self, cid, ws):
        self.id = cid
        self.ws = ws
        self.opened = time.monotonic()
        self.closed = None  # time, once closed
        self.close_code = None
        self.closed_by_client = False
        self.unacked = {}  # envelope_id -> envelope (dict)


class FakeSlack:
    def __init__(self, token="xapp-1-A0TEST-1234-fake0app0token0value", redeliver_after=5.0,
                 tls=None):
        self.token = token
        self.tls = tls  # (cert, key) files: the WebSocket is wss:// with that certificate
        self.redeliver_after = redeliver_after
        self.cond = threading.Condition()
        self.tickets = {}  # ticket -> used?
        self.open_calls = []  # (time, authorization ok?)
        self.open_errors = []  # answer the next opens with these errors, in order
        self.on_connect = []  # per next connection: None, or a disconnect reason sent before hello
        self.hello_delay = 0.0
        self.pong_delay = 0.0
        self.conns = {}  # id -> Conn
        self.next_conn = 1
        self.sent = {}  # envelope_id -> {"at": t, "conn": id, "attempt": n}
        self.acks = {}  # envelope_id -> list of {"at", "conn", "ack", "latency"}
        self.protocol_errors = []
        self.handshakes = []  # request headers of every WebSocket handshake
        # The next opens hand out a URL to a raw TCP server that answers the
        # handshake with fn(key) -> bytes instead (to test the client's checks).
        self.raw_answers = []
        self.raw_served = 0
        self.loop = None
        self.thread = None

    # ---- life cycle ------------------------------------------------------
    def start(self):
        self._start_api()
        ready = threading.Event()
        self.thread = threading.Thread(target=self._run_loop, args=(ready,), daemon=True)
        self.thread.start()
        ready.wait(10)
        return self

    def close(self):
        if self.loop:
            asyncio.run_coroutine_threadsafe(self._shutdown(), self.loop).result(10)
            self.loop.call_soon_threadsafe(self.loop.stop)
            self.thread.join(10)
            self.loop.close()
        self.api.shutdown()
        self.api.server_close()

    def api_url(self):
        return "http://127.0.0.1:%d/api/" % self.api_port

    # ---- Web API ---------------------------------------------------------
    def _start_api(self):
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a):
                pass

            def _answer(self, status, obj):
                body = json.dumps(obj).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self):
                self._answer(405, {"ok": False, "error": "method_not_allowed"})

            def do_POST(self):
                length = int(self.headers.get("Content-Length", "0") or "0")
                if length:
                    self.rfile.read(length)
                if self.path != "/api/apps.connections.open":
                    self._answer(404, {"ok": False, "error": "unknown_method"})
                    return
                self._answer(200, fake._open(self.headers.get("Authorization")))

        self.api = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.api.daemon_threads = True
        self.api_port = self.api.server_address[1]
        threading.Thread(target=self.api.serve_forever, daemon=True).start()

    def _open(self, authorization):
        with self.cond:
            ok = authorization == "Bearer " + self.token
            self.open_calls.append((time.monotonic(), ok))
            self.cond.notify_all()
            if not authorization or not authorization.startswith("Bearer "):
                return {"ok": False, "error": "not_authed"}
            if authorization.startswith("Bearer xoxb-"):
                return {"ok": False, "error": "not_allowed_token_type"}
            if not ok:
                return {"ok": False, "error": "invalid_auth"}
            if self.open_errors:
                return {"ok": False, "error": self.open_errors.pop(0)}
            if self.raw_answers:
                self.raw_queue.append(self.raw_answers.pop(0))
                return {"ok": True, "url": "ws://127.0.0.1:%d/link/?ticket=raw&app_id=%s"
                        % (self.raw_port, APP_ID)}
            ticket = str(uuid.uuid4())
            self.tickets[ticket] = False
        return {"ok": True, "url": "%s://127.0.0.1:%d/link/?ticket=%s&app_id=%s"
                % ("wss" if self.tls else "ws", self.ws_port, ticket, APP_ID)}

    # ---- WebSocket server --------------------------------------------------
    def _run_loop(self, ready):
        self.loop = asyncio.new_event_loop()
        asyncio.set_event_loop(self.loop)
        fake = self

        class Protocol(wsserver.WebSocketServerProtocol):
            async def pong(self, data=b""):
                if fake.pong_delay:
                    await asyncio.sleep(fake.pong_delay)
                await super().pong(data)

        async def process_request(path, headers):
            with fake.cond:
                fake.handshakes.append(dict(headers.raw_items()))
            q = parse_qs(urlparse(path).query)
            ticket = (q.get("ticket") or [""])[0]
            with fake.cond:
                if urlparse(path).path != "/link/" or q.get("app_id") != [APP_ID] \
                        or fake.tickets.get(ticket) is not False:
                    fake.protocol_errors.append("handshake with an unknown or used ticket: %s" % path)
                    return (401, [], b"invalid ticket\n")
                fake.tickets[ticket] = True
            return None

        async def main():
            ctx = None
            if self.tls:
                ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
                ctx.load_cert_chain(*self.tls)
            self.server = await websockets.serve(
                self._handler, "127.0.0.1", 0, create_protocol=Protocol, ssl=ctx,
                process_request=process_request, ping_interval=None, max_size=1 << 20)
            self.ws_port = self.server.sockets[0].getsockname()[1]
            self.raw_queue = []
            self.raw_server = await asyncio.start_server(self._raw, "127.0.0.1", 0)
            self.raw_port = self.raw_server.sockets[0].getsockname()[1]
            ready.set()

        self.loop.run_until_complete(main())
        self.loop.run_forever()

    async def _raw(self, reader, writer):
        """A server that answers the upgrade with whatever the test asked for."""
        try:
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)
            key = ""
            for line in head.decode("latin-1").split("\r\n"):
                if line.lower().startswith("sec-websocket-key:"):
                    key = line.split(":", 1)[1].strip()
            with self.cond:
                fn = self.raw_queue.pop(0) if self.raw_queue else (lambda k: b"")
            writer.write(fn(key))
            await writer.drain()
            with self.cond:
                self.raw_served += 1
                self.cond.notify_all()
            await asyncio.sleep(0.5)
        except (asyncio.IncompleteReadError, asyncio.TimeoutError, ConnectionError):
            pass
        finally:
            writer.close()

    async def _shutdown(self):
        self.raw_server.close()
        self.server.close()
        for c in list(self.conns.values()):
            c.ws.transport.abort()
        try:
            await asyncio.wait_for(self.server.wait_closed(), 5)
        except asyncio.TimeoutError:
            pass
        for t in asyncio.all_tasks():
            if t is not asyncio.current_task():
                t.cancel()

    async def _handler(self, ws, path=None):
        with self.cond:
            c = Conn(self.next_conn, ws)
            self.next_conn += 1
            self.conns[c.id] = c
            reason = self.on_connect.pop(0) if self.on_connect else None
        try:
            if reason:
                await ws.send(json.dumps({"type": "disconnect", "reason": reason,
                                          "debug_info": {"host": "applink-fake"}}))
                await ws.close()
                return
            if self.hello_delay:
                await asyncio.sleep(self.hello_delay)
            await ws.send(json.dumps({
                "type": "hello", "num_connections": self.open_count() + 1,
                "debug_info": {"host": "applink-fake", "build_number": 1,
                               "approximate_connection_time": 18060},
                "connection_info": {"app_id": APP_ID}}))
            with self.cond:
                c.hello_at = time.monotonic()
                self.cond.notify_all()
            async for frame in ws:
                self._on_frame(c, frame)
        except (websockets.ConnectionClosed, asyncio.CancelledError):
            pass
        finally:
            self._mark_closed(c)

    def _mark_closed(self, c):
        """Once per connection: what was sent on it and not acked goes again."""
        with self.cond:
            if c.closed is not None:
                return
            c.closed = time.monotonic()
            c.close_code = c.ws.close_code
            c.closed_by_client = c.ws.close_code is not None and c.ws.close_rcvd is not None
            lost = list(c.unacked.values())
            c.unacked.clear()
            self.cond.notify_all()
        for env in lost:
            self.loop.call_later(0.05, self._redeliver, env)

    def _on_frame(self, c, frame):
        now = time.monotonic()
        with self.cond:
            if not isinstance(frame, str):
                self.protocol_errors.append("binary frame from the client")
                return
            try:
                ack = json.loads(frame)
            except ValueError:
                self.protocol_errors.append("not JSON: %r" % frame[:200])
                return
            eid = ack.get("envelope_id") if isinstance(ack, dict) else None
            extra = set(ack) - {"envelope_id", "payload"} if isinstance(ack, dict) else set()
            if not isinstance(eid, str) or extra or \
                    ("payload" in ack and not isinstance(ack["payload"], dict)):
                self.protocol_errors.append("malformed ack: %r" % frame[:200])
                return
            if eid not in c.unacked:
                if eid not in self.sent:
                    self.protocol_errors.append("ack of an unknown envelope %s" % eid)
                else:
                    self.acks.setdefault(eid, []).append({"at": now, "conn": c.id, "ack": ack,
                                                          "latency": None, "late": True})
                return
            env = c.unacked.pop(eid)
            self.acks.setdefault(eid, []).append({"at": now, "conn": c.id, "ack": ack,
                                                  "latency": now - env["_sent_at"], "late": False})
            self.cond.notify_all()

    # ---- what tests call ----------------------------------------------------
    def open_count(self):
        return sum(1 for c in self.conns.values() if c.closed is None and hasattr(c, "hello_at"))

    def open_conns(self):
        with self.cond:
            return [c.id for c in self.conns.values() if c.closed is None and hasattr(c, "hello_at")]

    def wait(self, pred, timeout=20, what="condition"):
        deadline = time.monotonic() + timeout
        with self.cond:
            while not pred():
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError("fake Slack: no %s within %ss" % (what, timeout))
                self.cond.wait(min(left, 0.2))

    def wait_connections(self, n, timeout=20):
        self.wait(lambda: self.open_count() >= n, timeout, "%d open connections" % n)
        return self.open_conns()

    def _call(self, coro):
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(10)

    def send_envelope(self, payload, type="slash_commands", conn=None, envelope_id=None):
        """Sends one envelope on `conn` (default: round robin); returns its id."""
        env = {"envelope_id": envelope_id or str(uuid.uuid4()), "type": type, "payload": payload,
               "accepts_response_payload": type == "slash_commands"}
        if type == "events_api":
            env["retry_attempt"], env["retry_reason"] = 0, ""
        self._call(self._send(env, conn))
        return env["envelope_id"]

    async def _send(self, env, conn=None, attempt=0):
        with self.cond:
            live = [c for c in self.conns.values() if c.closed is None and hasattr(c, "hello_at")]
            if conn is not None:
                live = [c for c in live if c.id == conn]
            if not live:
                # Slack keeps it and tries again shortly.
                self.loop.call_later(0.2, self._redeliver, env)
                return
            c = live[sum(1 for _ in self.sent) % len(live)]
            env = dict(env)
            env["_sent_at"] = time.monotonic()
            c.unacked[env["envelope_id"]] = env
            rec = self.sent.setdefault(env["envelope_id"], {"at": env["_sent_at"], "attempts": 0})
            rec["attempts"] += 1
            rec["conn"] = c.id
        wire = {k: v for k, v in env.items() if not k.startswith("_")}
        try:
            await c.ws.send(json.dumps(wire))
        except websockets.ConnectionClosed:
            pass
        self.loop.call_later(self.redeliver_after, self._check_acked, c.id, env["envelope_id"])

    def _check_acked(self, cid, eid):
        with self.cond:
            c = self.conns[cid]
            env = c.unacked.pop(eid, None)
        if env:
            self._redeliver(env)

    def _redeliver(self, env):
        env = dict(env)
        if "retry_attempt" in env:
            env["retry_attempt"] += 1
            env["retry_reason"] = "timeout"
        asyncio.ensure_future(self._send(env), loop=self.loop)

    def disconnect(self, conn, reason="refresh_requested", close_after=10.0):
        """Asks the client to reconnect, and closes the connection after
        `close_after` seconds if the client has not (Slack's grace period)."""
        async def go():
            c = self.conns[conn]
            await c.ws.send(json.dumps({"type": "disconnect", "reason": reason,
                                        "debug_info": {"host": "applink-fake"}}))
            if close_after is not None:
                self.loop.call_later(close_after, lambda: asyncio.ensure_future(c.ws.close()))
        self._call(go())

    def drop(self, conn):
        """Drops a connection abruptly: no close frame, the TCP connection just ends."""
        async def go():
            c = self.conns[conn]
            c.ws.transport.abort()
            self._mark_closed(c)
        self._call(go())

    def wait_ack(self, eid, timeout=10):
        self.wait(lambda: eid in self.acks, timeout, "ack of %s" % eid)
        with self.cond:
            return self.acks[eid][0]


if __name__ == "__main__":
    import argparse
    import signal
    ap = argparse.ArgumentParser()
    ap.add_argument("--token", default="xapp-1-A0TEST-1234-fake0app0token0value")
    args = ap.parse_args()
    f = FakeSlack(args.token).start()
    print("FAKE_SLACK_API=%s" % f.api_url(), flush=True)
    signal.sigwait({signal.SIGTERM, signal.SIGINT})
    f.close()
