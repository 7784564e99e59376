"""Socket Mode ([slack] mode = socket) through the real binary, against the
fake Slack of tests/fakes/fake_slack_socket.py: acks and their payloads,
replies on the response_url, reconnects (refresh, drops, too_many_websockets,
a silent server), no envelope lost or run twice, a bad token at start,
link_disabled, check-config, and the app token in no log line."""

import base64
import hashlib
import hmac
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "fakes"))
from fake_slack_socket import FakeSlack, accept_for  # noqa: E402
from fakeaws import FakeAws, role  # noqa: E402
from harness import SECRET, Daemon, Sink, run_cli  # noqa: E402

ACK_DEADLINE = 3.0  # Slack's limit for an ack


def payload(text, sink, user_id="U0TEST", **extra):
    """A slash_commands payload: the HTTP form's fields, as JSON strings."""
    p = {"token": "legacy-token-unused", "team_id": "T0TEST", "team_domain": "test",
         "channel_id": "C0TEST", "channel_name": "ops", "user_id": user_id, "user_name": "alice",
         "command": "/aws", "text": text, "api_app_id": "A0TEST", "is_enterprise_install": "false",
         "response_url": sink.url(), "trigger_id": "1.2.3"}
    p.update(extra)
    return p


def socket_daemon(fake, sink, token=None, slack=None, server=None, env=None, **kw):
    sl = {"mode": "socket", "app_token": "env:SLACK_APP_TOKEN", "api_url": fake.api_url()}
    sl.update(slack or {})
    srv = {"queue": "256"}
    srv.update(server or {})
    e = {"SLACK_APP_TOKEN": token or fake.token}
    e.update(env or {})
    return Daemon(sink, secret=None, slack=sl, server=srv, env=e, **kw)


def no_run_id(text):
    return re.sub(r"\(request [0-9a-f]+-\d+\)", "(request ID)", text)


class SocketCase(unittest.TestCase):
    connections = 2

    @classmethod
    def setUpClass(cls):
        cls.fake = FakeSlack().start()
        cls.sink = Sink()
        cls.d = socket_daemon(cls.fake, cls.sink,
                              slack={"socket_connections": str(cls.connections)}).start()
        cls.fake.wait_connections(cls.connections)

    @classmethod
    def tearDownClass(cls):
        rc = cls.d.stop()
        log = cls.d.read_log()
        cls.sink.close()
        cls.fake.close()
        assert rc == 0, "slashd exited with %s" % rc
        assert cls.fake.token not in log, "the app token is in the log"
        assert not cls.fake.protocol_errors, cls.fake.protocol_errors

    def envelope(self, text, **kw):
        return self.fake.send_envelope(payload(text, self.sink, **kw))

    def ack(self, eid):
        a = self.fake.wait_ack(eid, timeout=10)
        self.assertLess(a["latency"], ACK_DEADLINE, a)
        return a["ack"]


class Envelopes(SocketCase):
    def test_slash_command_acked_and_replied(self):
        # One at a time: the ack says "is running" only when a worker is idle
        # as the envelope arrives, which a burst does not guarantee once
        # jobs are slow (the TSan build); bursts are NothingLostNothingTwice's.
        conns = set()
        for i in range(10):
            eid = self.envelope("good echo socket%d" % i)
            ack = self.ack(eid)
            self.assertEqual(ack["envelope_id"], eid)
            self.assertEqual(ack["payload"]["response_type"], "ephemeral")
            # Queued behind the others when both workers are busy (a slow build).
            self.assertRegex(ack["payload"]["text"],
                             r"`/aws good echo socket%d` is (running|queued \(\d+ ahead\))…" % i)
            rid = re.search(r"\(request ([0-9a-f]+-\d+)\)", ack["payload"]["text"]).group(1)
            msgs = self.sink.wait_final(rid)
            self.assertEqual([m["text"] for m in msgs if m["final"]], ["socket%d" % i])
            conns.add(self.fake.acks[eid][0]["conn"])
        self.assertEqual(len(conns), 2, "envelopes went over both connections")

    def test_ack_payload_is_the_http_doors(self):
        """The same request gets the same answer through either door."""
        http = Daemon(self.sink).start()
        try:
            for text in ("help", "nosuchplugin x", "good", "good echo", 'good echo "open',
                         "ec2 stop i-0123456789abcdef0"):
                with self.subTest(text):
                    status, _, want = http.slash(text, user_id="U0HTTP")
                    self.assertEqual(status, 200)
                    got = self.ack(self.envelope(text, user_id="U0SOCK"))["payload"]
                    self.assertEqual(got["response_type"], want["response_type"])
                    self.assertEqual(no_run_id(got["text"]), no_run_id(want["text"]))
            # A response_url off the allow-list is refused in the ack, as over HTTP.
            got = self.ack(self.envelope("help", response_url="https://evil.example/x"))
            self.assertIn("not on this host's allow-list", got["payload"]["text"])
        finally:
            self.assertEqual(http.stop(), 0)

    def test_other_types_acked_with_the_id_alone(self):
        for t in ("interactive", "events_api", "something_new"):
            with self.subTest(t):
                eid = self.fake.send_envelope({"type": "block_actions"}, type=t)
                self.assertEqual(self.ack(eid), {"envelope_id": eid})
        m = self.d.metrics()
        self.assertGreaterEqual(m['slashd_socket_envelopes_total{type="interactive"}'], 1)
        self.assertGreaterEqual(m['slashd_socket_envelopes_total{type="events_api"}'], 1)
        self.assertGreaterEqual(m['slashd_socket_envelopes_total{type="other"}'], 1)

    def test_malformed_payload_acked_without_a_job(self):
        eid = self.fake.send_envelope({"user_id": "U0TEST", "text": "help"})  # no response_url
        self.assertEqual(self.ack(eid), {"envelope_id": eid})
        self.assertIn("event=socket_bad_payload envelope=%s" % eid, self.d.read_log())
        eid = self.envelope("help", user_id="U0\u0007BAD")
        self.assertEqual(self.ack(eid), {"envelope_id": eid})

    def test_resent_envelope_runs_once(self):
        eid = self.envelope("good echo once-only")
        first = self.ack(eid)
        self.assertIn("payload", first)
        rid = re.search(r"\(request ([0-9a-f]+-\d+)\)", first["payload"]["text"]).group(1)
        self.sink.wait_final(rid)
        # Slack sends it again (its ack was late, or went over a dying connection).
        self.fake.send_envelope(payload("good echo once-only", self.sink), envelope_id=eid)
        self.fake.wait(lambda: len(self.fake.acks.get(eid, [])) >= 2, 10, "second ack")
        self.assertEqual(self.fake.acks[eid][1]["ack"], {"envelope_id": eid})
        time.sleep(0.5)
        with self.sink.cond:
            texts = [m["text"] for m in self.sink.messages if not m["failed"]]
        self.assertEqual(texts.count("once-only"), 1)
        self.assertGreaterEqual(self.d.metrics()["slashd_socket_duplicate_envelopes_total"], 1)

    def test_http_side(self):
        status, _, body = self.d.request("GET", "/healthz")
        self.assertEqual((status, body), (200, b"ok\n"))
        # No command door over HTTP in socket mode, signed or not.
        status, _, _ = self.d.slash("help", secret=SECRET)
        self.assertEqual(status, 404)
        m = self.d.metrics()
        self.assertEqual(m["slashd_socket_connections"], 2)
        self.assertIn("slashd_socket_ack_seconds_count", m)

    def test_handshake_and_open_are_what_slack_expects(self):
        with self.fake.cond:
            hs = list(self.fake.handshakes)
            opens = list(self.fake.open_calls)
        self.assertTrue(hs)
        for h in hs:
            self.assertEqual(h.get("Upgrade"), "websocket")
            self.assertEqual(h.get("Sec-WebSocket-Version"), "13")
        # One open per connection, each with the right token.
        self.assertTrue(all(ok for _, ok in opens))
        self.assertEqual(len(opens), len(hs))


class Reconnects(SocketCase):
    def setUp(self):
        # Each test starts from two settled connections.
        self.fake.wait(lambda: self.fake.open_count() == 2 and all(
            c.closed is not None or hasattr(c, "hello_at") for c in self.fake.conns.values()),
            30, "two settled connections")
        time.sleep(0.2)

    def count(self, reason):
        return self.d.metrics().get('slashd_socket_reconnects_total{reason="%s"}' % reason, 0)

    def replaced(self, old):
        """Waits for two open connections, neither of them `old`."""
        self.fake.wait(lambda: self.fake.conns[old].closed is not None
                       and self.fake.open_count() >= 2, 20, "replacement of %d" % old)

    def test_refresh_requested_opens_first_then_closes(self):
        old = self.fake.open_conns()[0]
        t0 = time.monotonic()
        self.fake.disconnect(old, "refresh_requested", close_after=None)
        self.replaced(old)
        c = self.fake.conns[old]
        self.assertTrue(c.closed_by_client, "slashd closed the old connection itself")
        self.assertEqual(c.close_code, 1000)
        self.assertLess(c.closed - t0, 10.0)
        newest = max(self.fake.open_conns())
        self.assertLess(self.fake.conns[newest].hello_at, c.closed, "replacement first")
        self.assertGreaterEqual(self.count("refresh_requested"), 1)
        self.assertEqual(self.d.metrics()["slashd_socket_connections"], 2)

    def test_warning_is_a_refresh_too(self):
        old = self.fake.open_conns()[0]
        self.fake.disconnect(old, "warning", close_after=None)
        self.replaced(old)
        self.assertGreaterEqual(self.count("warning"), 1)

    def test_abrupt_drop(self):
        old = self.fake.open_conns()[0]
        self.fake.drop(old)
        self.replaced(old)
        self.assertGreaterEqual(self.count("dropped"), 1)
        self.ack(self.envelope("good echo after-drop"))

    def test_too_many_websockets_backs_off(self):
        self.fake.on_connect.append("too_many_websockets")
        old = self.fake.open_conns()[0]
        t0 = time.monotonic()
        self.fake.drop(old)
        self.replaced(old)
        self.assertGreaterEqual(self.count("too_many_websockets"), 1)
        # Dropped (reopened within ~1 s), refused, then at least 5 s of backoff.
        self.assertGreater(time.monotonic() - t0, 5.0)

    def test_silent_server_is_replaced(self):
        """Pongs that do not come back: the watchdog replaces the connection."""
        before = self.count("ping_timeout")
        old = set(self.fake.open_conns())
        self.fake.pong_delay = 60  # the fake's reading stalls with it
        try:
            self.fake.wait(lambda: len(set(self.fake.open_conns()) - old) >= 2, 40,
                           "two new connections")
        finally:
            self.fake.pong_delay = 0
            for c in old:  # stalled, they would never see slashd's side go
                self.fake.drop(c)
        self.assertGreaterEqual(self.count("ping_timeout"), before + 2)

    def test_open_errors_are_retried(self):
        self.fake.open_errors += ["internal_error", "ratelimited"]
        old = self.fake.open_conns()[0]
        self.fake.drop(old)
        self.replaced(old)
        self.assertGreaterEqual(self.count("open_failed"), 2)


class Handshake(SocketCase):
    """The client refuses a server answer that is not a proper upgrade, and
    carries on with a fresh URL."""
    connections = 1

    def refused(self, answer, why):
        before = self.d.read_log().count("reason=connect_failed")
        served = self.fake.raw_served
        self.fake.raw_answers.append(answer)
        old = self.fake.open_conns()[0]
        self.fake.drop(old)
        self.fake.wait(lambda: self.fake.raw_served > served, 20, "the raw handshake")
        self.fake.wait(lambda: self.fake.open_count() == 1 and old not in self.fake.open_conns(),
                       20, "a good connection again")
        log = self.d.read_log()
        self.assertGreater(log.count("reason=connect_failed"), before)
        self.assertIn(why, log)

    def test_bad_answers(self):
        def up(extra="", accept=None):
            return lambda key: ("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                                "Connection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n%s\r\n"
                                % (accept or accept_for(key), extra)).encode()
        cases = [
            (up(accept="dGhlIHNhbXBsZSBub25jZQ=="), "wrong or missing Sec-WebSocket-Accept"),
            (lambda key: b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n",
             "handshake refused: 403"),
            (up("Sec-WebSocket-Extensions: permessage-deflate\r\n"), "did not offer"),
            (up("X-Pad: %s\r\n" % ("x" * 9000)), "answer headers too large"),
            (up("".join("X-%d: y\r\n" % i for i in range(70))), "too many header lines"),
            (lambda key: b"HTTP/1.1 101 Switching Protocols\r\n\r\n", "no Upgrade"),
        ]
        for answer, why in cases:
            with self.subTest(why):
                self.refused(answer, why)


class NothingLostNothingTwice(SocketCase):
    def test_200_envelopes_across_three_reconnects(self):
        n = 200
        texts = ["good echo bulk%03d" % i for i in range(n)]
        eids = []
        events = {50: "refresh_requested", 100: "drop", 150: "refresh_requested"}
        for i, text in enumerate(texts):
            if i in events:
                conn = self.fake.open_conns()[0]
                if events[i] == "drop":
                    self.fake.drop(conn)
                else:
                    self.fake.disconnect(conn, events[i], close_after=None)
            eids.append(self.fake.send_envelope(payload(text, self.sink)))
            time.sleep(0.01)
        self.fake.wait(lambda: all(e in self.fake.acks for e in eids), 60, "every ack")
        late = [e for e in eids if self.fake.acks[e][0]["latency"] is None
                or self.fake.acks[e][0]["latency"] >= ACK_DEADLINE]
        # An envelope on the dropped connection is acked when Slack sends it again.
        for e in late:
            self.assertGreaterEqual(self.fake.sent[e]["attempts"], 2, e)
        want = {"bulk%03d" % i for i in range(n)}

        def finals():
            with self.sink.cond:
                return [m["text"] for m in self.sink.messages if not m["failed"] and m["final"]]
        self.sink_wait(lambda: want <= set(finals()), 60)
        time.sleep(1.0)  # a second run would show up by now
        got = [t for t in finals() if t.startswith("bulk")]
        self.assertEqual(sorted(got), sorted(want), "each envelope's job ran exactly once")
        reconnects = sum(v for k, v in self.d.metrics().items()
                         if k.startswith("slashd_socket_reconnects_total"))
        self.assertGreaterEqual(reconnects, 3)

    def sink_wait(self, pred, timeout):
        deadline = time.monotonic() + timeout
        with self.sink.cond:
            while not pred():
                left = deadline - time.monotonic()
                self.assertGreater(left, 0, "not every reply arrived")
                self.sink.cond.wait(min(left, 0.5))


class Start(unittest.TestCase):
    def setUp(self):
        self.fake = FakeSlack().start()
        self.sink = Sink()

    def tearDown(self):
        self.sink.close()
        self.fake.close()

    def test_bad_token_stops_the_start(self):
        for token, error in (("xapp-1-A0TEST-0000-wrong", "invalid_auth"),
                             ("xoxb-a-bot-token", "not_allowed_token_type")):
            with self.subTest(error):
                d = socket_daemon(self.fake, self.sink, token=token)
                t0 = time.monotonic()
                with self.assertRaises(AssertionError):
                    d.start()
                d.proc.wait(10)
                d.stop()
                self.assertLess(time.monotonic() - t0, 10)
                self.assertNotEqual(d.proc.returncode, 0)
                log = d.read_log()
                self.assertIn(error, log)
                self.assertIn("app_token", log)
                self.assertNotIn(token, log)
                self.assertEqual(self.fake.open_count(), 0)

    def test_unreachable_slack_is_retried(self):
        d = socket_daemon(self.fake, self.sink, slack={"api_url": "http://127.0.0.1:9/api/",
                                                       "socket_connections": "1"})
        d.start()
        try:
            time.sleep(1.5)
            m = d.metrics()
            self.assertGreaterEqual(m['slashd_socket_reconnects_total{reason="open_failed"}'], 1)
            self.assertEqual(d.request("GET", "/healthz")[0], 200)
        finally:
            self.assertEqual(d.stop(), 0)

    def test_link_disabled(self):
        d = socket_daemon(self.fake, self.sink).start()
        try:
            conns = self.fake.wait_connections(2)
            self.fake.disconnect(conns[0], "link_disabled", close_after=None)
            self.fake.wait(lambda: self.fake.open_count() == 0, 10, "every connection closed")
            opens = len(self.fake.open_calls)
            status, _, body = d.request("GET", "/healthz")
            self.assertEqual(status, 503)
            self.assertIn(b"link_disabled", body)
            self.assertRegex(d.read_log(), r"level=error .*event=socket_link_disabled")
            time.sleep(2.5)
            self.assertEqual(len(self.fake.open_calls), opens, "no new connections")
        finally:
            self.assertEqual(d.stop(), 0)
            self.assertNotIn(self.fake.token, d.read_log())

    def test_signing_secret_is_ignored(self):
        d = socket_daemon(self.fake, self.sink, slack={"signing_secret": "env:SLASHD_TEST_SECRET"})
        d.start()
        try:
            self.fake.wait_connections(2)
            log = d.read_log()
            self.assertEqual(log.count("event=socket_mode_secret_unused"), 1)
            self.assertNotIn("DEVELOPMENT_MODE", log)
        finally:
            self.assertEqual(d.stop(), 0)


class ReloadAndStop(unittest.TestCase):
    def setUp(self):
        self.fake = FakeSlack().start()
        self.sink = Sink()

    def tearDown(self):
        self.sink.close()
        self.fake.close()

    def wait_log(self, d, needle, n=1, timeout=10):
        deadline = time.monotonic() + timeout
        while d.read_log().count(needle) < n:
            self.assertLess(time.monotonic(), deadline, "no %r in the log" % needle)
            time.sleep(0.05)

    def test_reload_rotates_the_token_and_keeps_the_connections(self):
        tokfile = os.path.join(tempfile.mkdtemp(prefix="slashd-tok-"), "app-token")
        with open(tokfile, "w") as f:
            f.write(self.fake.token)
        d = socket_daemon(self.fake, self.sink, slack={"app_token": "file:" + tokfile}).start()
        try:
            conns = self.fake.wait_connections(2)
            new = "xapp-1-A0TEST-5678-rotated0token"
            with open(tokfile, "w") as f:
                f.write(new)
            self.fake.token = new
            d.proc.send_signal(signal.SIGHUP)
            self.wait_log(d, "event=reloaded")
            self.assertEqual(self.fake.open_conns(), conns, "a reload keeps the connections")
            opens = len(self.fake.open_calls)
            self.fake.drop(conns[0])
            self.fake.wait(lambda: self.fake.open_count() == 2 and conns[0] not in
                           self.fake.open_conns(), 20, "a connection with the new token")
            self.assertTrue(all(ok for _, ok in self.fake.open_calls[opens:]))
            # socket_connections needs a restart: refused, naming it.
            with open(d.config) as f:
                ini = f.read()
            with open(d.config, "w") as f:
                f.write(ini.replace("[slack]\n", "[slack]\nsocket_connections = 3\n", 1))
            d.proc.send_signal(signal.SIGHUP)
            self.wait_log(d, "event=reload_refused")
            self.assertIn("[slack] socket_connections", d.read_log())
        finally:
            self.assertEqual(d.stop(), 0)
        log = d.read_log()
        self.assertNotIn(new, log)
        self.assertNotIn("xapp-1-A0TEST-1234", log)

    def test_stop_closes_every_connection_cleanly(self):
        d = socket_daemon(self.fake, self.sink).start()
        conns = self.fake.wait_connections(2)
        self.assertEqual(d.stop(), 0)
        self.fake.wait(lambda: all(self.fake.conns[c].closed for c in conns), 5, "closes")
        for c in conns:
            self.assertTrue(self.fake.conns[c].closed_by_client)
            self.assertEqual(self.fake.conns[c].close_code, 1000)


def b64url(raw):
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def resign(token, key):
    """The same confirmation token, signed under another key."""
    signed = token.rsplit(".", 1)[0]
    return signed + "." + b64url(hmac.new(key, signed.encode(), hashlib.sha256).digest())


def derived(secret):
    return hmac.new(secret, b"slashd/confirm-token/v1", hashlib.sha256).digest()


class Interactive(unittest.TestCase):
    """Clicks on slashd's confirmation prompt come as `interactive` envelopes
    and go to the same interactivity handler as POST /slack/actions."""
    MAPPED = "U012AB3CD"

    @classmethod
    def setUpClass(cls):
        cls.aws = FakeAws()
        cls.fake = FakeSlack().start()
        cls.sink = Sink()
        secs = {"aws": {"region": "us-east-1"}, "identity": {"mode": "map", "confirm": "write"},
                "identity.users": {cls.MAPPED: role("ops-admin")}}
        cls.d = socket_daemon(cls.fake, cls.sink, server={"dedupe_seconds": "0"},
                              slack={"signing_secret": "env:SLASHD_SOCKET_UNUSED"},
                              env=cls.aws.env(SLASHD_SOCKET_UNUSED=SECRET),
                              fixtures=("good",), sections=secs).start()
        cls.fake.wait_connections(2)
        cls.n = 0

    @classmethod
    def tearDownClass(cls):
        cls.d.stop()
        log = cls.d.read_log()
        cls.sink.close()
        cls.fake.close()
        cls.aws.close()
        assert cls.fake.token not in log
        assert not cls.fake.protocol_errors, cls.fake.protocol_errors

    def at(self, path, n=1, timeout=20):
        deadline = time.monotonic() + timeout
        while True:
            with self.sink.cond:
                got = [m for m in self.sink.messages if m.get("path") == path and not m["failed"]]
            if len(got) >= n or time.monotonic() > deadline:
                return got
            time.sleep(0.05)

    def prompt(self, text="good change thing"):
        type(self).n += 1
        eid = self.fake.send_envelope(payload(text, self.sink, user_id=self.MAPPED,
                                              trigger_id="t%d" % self.n))
        ack = self.fake.wait_ack(eid)["ack"]
        self.assertIn("Preparing `/aws %s`" % text, ack["payload"]["text"])
        rid = re.search(r"\(request ([0-9a-f]+-\d+)\)", ack["payload"]["text"]).group(1)
        msg = self.sink.wait_final(rid)[-1]
        actions = [b for b in msg["body"]["blocks"] if b["type"] == "actions"][0]
        return {e["action_id"]: e["value"] for e in actions["elements"]}["slashd_confirm"]

    def click(self, value):
        type(self).n += 1
        path = "/actions/socket%d" % self.n
        p = {"type": "block_actions", "user": {"id": self.MAPPED, "team_id": "T0TEST"},
             "team": {"id": "T0TEST"}, "channel": {"id": "C0TEST"},
             "response_url": self.sink.url(path), "trigger_id": "1.2.3",
             "container": {"type": "message"},
             "actions": [{"action_id": "slashd_confirm", "block_id": "slashd_confirm",
                          "type": "button", "value": value}]}
        eid = self.fake.send_envelope(p, type="interactive")
        self.assertEqual(self.fake.wait_ack(eid)["ack"], {"envelope_id": eid})
        return path

    def test_click_runs_the_confirmed_command(self):
        msgs = self.at(self.click(self.prompt()), n=2)
        self.assertIn("`/aws good change thing` is running… (confirmed by <@%s>)" % self.MAPPED,
                      msgs[0]["text"])
        self.assertIn("changed something", msgs[-1]["text"])

    def test_tokens_are_keyed_by_the_app_token_only(self):
        token = self.prompt()
        # Not the (ignored) signing secret, not an empty or all-zero key.
        for key in (derived(SECRET.encode()), derived(b""), bytes(32)):
            msgs = self.at(self.click(resign(token, key)))
            self.assertEqual(len(msgs), 1, msgs)
            self.assertNotIn("is running", msgs[0]["text"])
        msgs = self.at(self.click(resign(token, derived(self.fake.token.encode()))), n=2)
        self.assertIn("changed something", msgs[-1]["text"])


class Tls(unittest.TestCase):
    """wss:// for real: TLS through libcurl's CONNECT_ONLY, the certificate
    checked against [slack] ca_file (here a throwaway self-signed one for
    127.0.0.1; without ca_file the system store refuses it)."""

    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix="slashd-tls-")
        cls.cert = os.path.join(cls.dir, "cert.pem")
        key = os.path.join(cls.dir, "key.pem")
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key,
                        "-out", cls.cert, "-days", "1", "-subj", "/CN=127.0.0.1",
                        "-addext", "subjectAltName=IP:127.0.0.1"],
                       check=True, capture_output=True)
        cls.fake = FakeSlack(tls=(cls.cert, key)).start()
        cls.sink = Sink()

    @classmethod
    def tearDownClass(cls):
        cls.sink.close()
        cls.fake.close()

    def test_commands_over_wss(self):
        d = socket_daemon(self.fake, self.sink, slack={"ca_file": self.cert}).start()
        try:
            self.fake.wait_connections(2)
            eids = [self.fake.send_envelope(payload("good echo tls%d" % i, self.sink))
                    for i in range(20)]
            for i, eid in enumerate(eids):
                ack = self.fake.wait_ack(eid)
                self.assertLess(ack["latency"], ACK_DEADLINE)
                self.assertIn("`/aws good echo tls%d`" % i, ack["ack"]["payload"]["text"])
            # A refresh over TLS too.
            old = self.fake.open_conns()[0]
            self.fake.disconnect(old, "refresh_requested", close_after=None)
            self.fake.wait(lambda: self.fake.conns[old].closed is not None
                           and self.fake.open_count() == 2, 20, "replacement")
        finally:
            self.assertEqual(d.stop(), 0)
        self.assertFalse(self.fake.protocol_errors)

    def test_untrusted_certificate_is_refused(self):
        d = socket_daemon(self.fake, self.sink, slack={"socket_connections": "1"}).start()
        try:
            deadline = time.monotonic() + 10
            while "reason=connect_failed" not in d.read_log():
                self.assertLess(time.monotonic(), deadline, d.read_log()[-2000:])
                time.sleep(0.1)
            self.assertEqual(self.fake.open_count(), 0)
            self.assertRegex(d.read_log(), r"event=socket_lost .*reason=connect_failed "
                                           r"msg=\"connecting: SSL peer certificate")
        finally:
            self.assertEqual(d.stop(), 0)


class CheckConfig(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.fake = FakeSlack().start()
        cls.sink = Sink()

    @classmethod
    def tearDownClass(cls):
        cls.sink.close()
        cls.fake.close()

    def check(self, token=None, **slack):
        d = socket_daemon(self.fake, self.sink, token=token, slack=slack)
        if slack.get("app_token") is None and "app_token" in slack:
            with open(d.config) as f:
                ini = f.read()
            with open(d.config, "w") as f:
                f.write(re.sub(r"(?m)^app_token = .*\n", "", ini))
        return run_cli("check-config", config=d.config, env=d.env)

    def test_good_token(self):
        opens = len(self.fake.open_calls)
        rc, out, err = self.check()
        self.assertEqual(rc, 0, out + err)
        self.assertIn("Slack accepted it", out)
        self.assertEqual(len(self.fake.open_calls), opens + 1)
        self.assertNotIn(self.fake.token, out + err)

    def test_invalid_auth(self):
        rc, out, err = self.check(token="xapp-1-A0TEST-0000-wrong")
        self.assertEqual(rc, 1)
        self.assertRegex(err, r"error: \[slack\] app_token: Slack answered invalid_auth")
        self.assertNotIn("xapp-1-A0TEST-0000-wrong", out + err)

    def test_missing_token(self):
        rc, out, err = self.check(app_token=None)
        self.assertEqual(rc, 1)
        self.assertIn("needs app_token", err)

    def test_socket_connections_range(self):
        for v in ("0", "11", "two"):
            with self.subTest(v):
                rc, out, err = self.check(socket_connections=v)
                self.assertEqual(rc, 1)
                self.assertIn("socket_connections: expected a whole number from 1 to 10", err)

    def test_bad_mode_and_plain_api_url(self):
        rc, _, err = self.check(mode="websocket")
        self.assertEqual(rc, 1)
        self.assertIn("mode: expected http or socket", err)
        rc, _, err = self.check(api_url="http://slack.com/api/")
        self.assertEqual(rc, 1)
        self.assertIn("api_url:", err)

    def test_send_says_it_cannot_reach_a_socket_mode_host(self):
        d = socket_daemon(self.fake, self.sink)
        rc, out, err = run_cli("send", "help", config=d.config, env=d.env, timeout=20)
        self.assertNotEqual(rc, 0)
        self.assertIn("[slack] mode = socket", err)
        self.assertIn("slashd run", err)

    def test_unreadable_ca_file(self):
        rc, out, err = self.check(ca_file="/nonexistent/ca.pem")
        self.assertEqual(rc, 1)
        self.assertIn("[slack] ca_file: cannot read /nonexistent/ca.pem", err)

    def test_unreachable_api_is_a_warning(self):
        rc, out, err = self.check(api_url="http://127.0.0.1:9/api/")
        self.assertEqual(rc, 0, out + err)
        self.assertIn("not checked", err)


if __name__ == "__main__":
    unittest.main(verbosity=2)
