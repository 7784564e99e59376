"""Integration tests of the core host through the real binary: front door,
verification, routing in the ack, workers, isolation, replies, drain, CLI."""

import http.client
import os
import re
import signal
import stat
import subprocess
import sys
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from harness import SECRET, Daemon, Sink, run_cli, sign  # noqa: E402


class FrontDoor(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.sink = Sink()
        cls.d = Daemon(cls.sink).start()

    @classmethod
    def tearDownClass(cls):
        rc = cls.d.stop()
        cls.sink.close()
        assert rc == 0, "slashd exited with %s" % rc

    def test_help_round_trip(self):
        status, hdrs, ack = self.d.slash("help")
        self.assertEqual(status, 200)
        self.assertTrue(hdrs["content-type"].startswith("application/json"))
        self.assertEqual(ack["response_type"], "ephemeral")
        self.assertIn("`/aws help` is running", ack["text"])
        rid = hdrs["x-slashd-request-id"]
        msgs = self.sink.wait_final(rid)
        self.assertEqual(len(msgs), 1)
        self.assertIn("/aws help [plugin]", msgs[0]["text"])
        self.assertIn("/aws good echo", msgs[0]["text"])
        self.assertFalse(msgs[0]["error"])
        self.assertEqual(msgs[0]["path"], "/hooks/T1/B1/secret-path-xyz")

    def test_bad_signatures_are_401(self):
        now = int(time.time())
        cases = {
            "mismatch": dict(secret="not-the-secret"),
            "stale": dict(ts=now - 301),
            "future": dict(ts=now + 301),
            "tampered body": dict(sign_body=b"text=help&user_id=U0TEST"),
        }
        for name, kw in cases.items():
            with self.subTest(name):
                status, _, body = self.d.slash("help", **kw)
                self.assertEqual(status, 401)
                self.assertEqual(body, b"unauthorized\n")
        # Missing headers altogether.
        status, _, _ = self.d.request("POST", "/slack/commands", self.d.form("help"),
                                      {"Content-Type": "application/x-www-form-urlencoded"})
        self.assertEqual(status, 401)
        # Bad hex / wrong format.
        status, _, _ = self.d.slash("help", headers={"X-Slack-Signature": "v0=" + "zz" * 32})
        self.assertEqual(status, 401)
        m = self.d.metrics()
        for reason in ("mismatch", "stale", "future", "missing", "bad_format"):
            self.assertGreaterEqual(m['slashd_verification_failures_total{reason="%s"}' % reason], 1, reason)

    def test_skew_inside_window_is_accepted(self):
        now = int(time.time())
        for ts in (now - 250, now + 250):
            status, hdrs, ack = self.d.slash("good echo skew%d" % ts, ts=ts)
            self.assertEqual(status, 200, ack)
            self.sink.wait_final(hdrs["x-slashd-request-id"])

    def test_status_codes(self):
        big = self.d.form("good echo " + "x" * 20000)
        status, _, _ = self.d.slash("", body=big)
        self.assertEqual(status, 413)
        status, _, _ = self.d.request("POST", "/slack/commands", b"text=help",
                                      {"Content-Type": "text/plain"})
        self.assertEqual(status, 415)
        status, _, _ = self.d.request("POST", "/slack/commands", b"{}",
                                      {"Content-Type": "application/json"})
        self.assertEqual(status, 415)
        status, hdrs, _ = self.d.request("GET", "/slack/commands")
        self.assertEqual(status, 405)
        self.assertEqual(hdrs["allow"], "POST")
        status, _, _ = self.d.request("PUT", "/slack/commands", b"x",
                                      {"Content-Type": "application/x-www-form-urlencoded"})
        self.assertEqual(status, 405)
        status, _, _ = self.d.request("GET", "/nope")
        self.assertEqual(status, 404)
        status, _, body = self.d.request("GET", "/healthz")
        self.assertEqual((status, body), (200, b"ok\n"))

    def test_charset_in_content_type(self):
        status, hdrs, ack = self.d.slash(
            "good echo charset", headers={"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"})
        self.assertEqual(status, 200)
        self.sink.wait_final(hdrs["x-slashd-request-id"])

    def test_ssl_check(self):
        body = b"ssl_check=1&token=x"
        status, _, data = self.d.slash("", body=body)
        self.assertEqual((status, data), (200, None))

    def test_usage_errors_answered_in_ack(self):
        before = len(self.sink.messages)
        cases = [
            ("good change", "Usage: `/aws good change &lt;thing&gt;` — A write command"),
            ("nosuch thing", "Unknown command `nosuch`"),
            ("crash nosub x", "`crash` has no command `nosub`. Its commands: now."),
            ('good echo "unterminated', "unterminated quote"),
        ]
        for text, want in cases:
            with self.subTest(text):
                status, hdrs, ack = self.d.slash(text)
                self.assertEqual(status, 200)
                self.assertIn(want, ack["text"])
                self.assertNotIn("x-slashd-request-id", hdrs)
        time.sleep(0.3)
        self.assertEqual(len(self.sink.messages), before, "a usage error must not queue a job")

    def test_write_command_without_identity_is_refused(self):
        status, hdrs, ack = self.d.slash("good change thing", user_id="U0NOROLE")
        self.assertEqual(status, 200)
        self.assertIn("U0NOROLE", ack["text"])
        self.assertIn("[identity]", ack["text"])
        self.assertNotIn("x-slashd-request-id", hdrs)

    def test_response_url_not_allowed(self):
        status, hdrs, ack = self.d.slash("good echo hi", response_url="https://evil.example.com/x")
        self.assertEqual(status, 200)
        self.assertIn("allow-list", ack["text"])
        self.assertNotIn("x-slashd-request-id", hdrs)
        self.assertIn("event=response_url_refused", self.d.read_log())

    def test_escaping(self):
        status, hdrs, ack = self.d.slash("good echo <!channel> & <b>")
        self.assertEqual(status, 200)
        self.assertIn("&lt;!channel&gt; &amp; &lt;b&gt;", ack["text"])
        msgs = self.sink.wait_final(hdrs["x-slashd-request-id"])
        self.assertEqual(msgs[-1]["text"], "&lt;!channel&gt; &amp; &lt;b&gt;")

    def test_interim_replies_capped(self):
        status, hdrs, _ = self.d.slash("good interim")
        msgs = self.sink.wait_final(hdrs["x-slashd-request-id"])
        self.assertEqual([m["text"] for m in msgs], ["working…"] * 3 + ["done after 3 progress messages"])
        self.assertEqual([m["final"] for m in msgs], [False] * 3 + [True])

    def test_failing_handler_is_reported(self):
        status, hdrs, _ = self.d.slash("good fail")
        msgs = self.sink.wait_final(hdrs["x-slashd-request-id"])
        self.assertEqual(len(msgs), 1)
        self.assertTrue(msgs[0]["error"])
        self.assertIn("`/aws good fail` failed: internal error", msgs[0]["text"])

    def test_caller_reaches_plugin(self):
        status, hdrs, _ = self.d.slash("good whoami", user_id="U0WHO")
        rid = hdrs["x-slashd-request-id"]
        msgs = self.sink.wait_final(rid)
        self.assertEqual(msgs[0]["text"], "user=U0WHO name=alice channel=C0TEST team=T0TEST req=%s" % rid)

    def test_dedupe(self):
        status, hdrs, _ = self.d.slash("good sleep 1", user_id="U0DUP")
        self.assertIn("x-slashd-request-id", hdrs)
        status, hdrs2, ack = self.d.slash("good   sleep 1", user_id="U0DUP")
        self.assertIn("already running", ack["text"])
        self.assertNotIn("x-slashd-request-id", hdrs2)
        status, hdrs3, _ = self.d.slash("good sleep 1", user_id="U0OTHER")
        self.assertIn("x-slashd-request-id", hdrs3)
        self.sink.wait_final(hdrs["x-slashd-request-id"])
        self.sink.wait_final(hdrs3["x-slashd-request-id"])

    def test_malformed_fields_are_400(self):
        for name, body in {
            "nul in text": self.d.form("good echo a\x00b"),
            "bad utf-8": self.d.form("x").replace(b"text=x", b"text=%ff%fe"),
            "bad user id": self.d.form("help", user_id="U0<script>"),
            "duplicate field": self.d.form("help") + b"&user_id=U0OTHER",
            "bad percent": self.d.form("help") + b"&x=%zz",
            "no response_url": self.d.form("help", drop=("response_url",)),
        }.items():
            with self.subTest(name):
                status, _, _ = self.d.slash("", body=body)
                self.assertEqual(status, 400)

    def test_duplicate_signature_header_is_400(self):
        body = self.d.form("help")
        ts = int(time.time())
        sig = sign(SECRET, ts, body)
        import http.client
        conn = http.client.HTTPConnection("127.0.0.1", self.d.port, timeout=5)
        conn.putrequest("POST", "/slack/commands")
        conn.putheader("Content-Type", "application/x-www-form-urlencoded")
        conn.putheader("Content-Length", str(len(body)))
        conn.putheader("X-Slack-Request-Timestamp", str(ts))
        conn.putheader("X-Slack-Signature", sig)
        conn.putheader("X-Slack-Signature", "v0=" + "0" * 64)
        conn.endheaders(body)
        r = conn.getresponse()
        r.read()
        conn.close()
        self.assertEqual(r.status, 400)

    def test_wrong_slash_command(self):
        status, hdrs, ack = self.d.slash("help", extra={"command": "/other"})
        self.assertIn("serves `/aws`, not `/other`", ack["text"])

    def test_metrics_exposition(self):
        m = self.d.metrics()
        for key in ('slashd_http_requests_total{status="200"}', "slashd_queue_depth",
                    'slashd_jobs_total{outcome="ok"}', "slashd_job_duration_seconds_count",
                    'slashd_response_posts_total{outcome="ok"}', 'slashd_workers{state="idle"}'):
            self.assertIn(key, m)


class Isolation(unittest.TestCase):
    """A plugin that crashes or hangs costs one job, never the host."""

    def setUp(self):
        self.sink = Sink()
        self.d = Daemon(self.sink, server={"workers": "1", "job_timeout": "2", "queue": "2"}).start()

    def tearDown(self):
        self.assertEqual(self.d.stop(), 0)
        self.sink.close()

    def test_crash_is_reported_and_host_survives(self):
        status, hdrs, _ = self.d.slash("crash")
        msgs = self.sink.wait_final(hdrs["x-slashd-request-id"])
        self.assertTrue(msgs[-1]["error"])
        self.assertIn("crashed", msgs[-1]["text"])
        self.assertIn("Segmentation fault", msgs[-1]["text"])
        status, hdrs, _ = self.d.slash("good echo after crash")
        self.assertEqual(self.sink.wait_final(hdrs["x-slashd-request-id"])[-1]["text"], "after crash")
        m = self.d.metrics()
        self.assertGreaterEqual(m["slashd_worker_restarts_total"], 1)
        self.assertEqual(m['slashd_jobs_total{outcome="crashed"}'], 1)

    def test_hang_times_out(self):
        t0 = time.monotonic()
        status, hdrs, _ = self.d.slash("hang")
        msgs = self.sink.wait_final(hdrs["x-slashd-request-id"], timeout=15)
        self.assertEqual(msgs[0]["text"], "hanging")
        self.assertIn("longer than the 2 s limit", msgs[-1]["text"])
        self.assertGreaterEqual(time.monotonic() - t0, 1.9)
        status, hdrs, _ = self.d.slash("good echo alive")
        self.assertEqual(self.sink.wait_final(hdrs["x-slashd-request-id"])[-1]["text"], "alive")

    def test_busy_queue(self):
        # One worker, queue of 2: one running, two waiting, the fourth is busy.
        rids = []
        for i in range(3):
            status, hdrs, ack = self.d.slash("good sleep 1", user_id="U0B%d" % i)
            self.assertIn("x-slashd-request-id", hdrs, ack)
            rids.append(hdrs["x-slashd-request-id"])
            time.sleep(0.05)
        status, hdrs, ack = self.d.slash("good sleep 1", user_id="U0B9")
        self.assertEqual(status, 200)
        self.assertIn("busy", ack["text"])
        self.assertNotIn("x-slashd-request-id", hdrs)
        for rid in rids:
            self.assertEqual(self.sink.wait_final(rid)[-1]["text"], "woke up")


class Responder(unittest.TestCase):
    def test_retries_then_delivers(self):
        sink = Sink()
        d = Daemon(sink).start()
        try:
            sink.fail_next = 2
            status, hdrs, _ = d.slash("good echo retried")
            msgs = sink.wait_final(hdrs["x-slashd-request-id"], timeout=20)
            self.assertEqual(msgs[-1]["text"], "retried")
            self.assertEqual(sum(1 for m in sink.messages if m["failed"]), 2)
            self.assertGreaterEqual(d.metrics()['slashd_response_posts_total{outcome="retried"}'], 2)
        finally:
            self.assertEqual(d.stop(), 0)
            sink.close()

    def test_no_retry_on_4xx(self):
        sink = Sink()
        d = Daemon(sink).start()
        try:
            sink.fail_next, sink.fail_status = 1, 404
            status, hdrs, _ = d.slash("good echo gone")
            deadline = time.time() + 10
            while time.time() < deadline and 'outcome="failed"' not in str(d.metrics()):
                time.sleep(0.1)
            time.sleep(0.5)
            self.assertEqual(d.metrics()['slashd_response_posts_total{outcome="failed"}'], 1)
            self.assertEqual(len(sink.messages), 1)
        finally:
            d.stop()
            sink.close()


class Drain(unittest.TestCase):
    def test_sigterm_lets_running_jobs_finish(self):
        sink = Sink()
        d = Daemon(sink, server={"workers": "1", "drain_seconds": "10"}).start()
        status, hdrs, _ = d.slash("good sleep 1")
        rid = hdrs["x-slashd-request-id"]
        time.sleep(0.2)
        self.assertEqual(d.stop(), 0)
        msgs = sink.for_request(rid)
        self.assertEqual(msgs[-1]["text"], "woke up")
        self.assertTrue(msgs[-1]["final"])
        sink.close()

    def test_sigterm_deadline_tells_users(self):
        sink = Sink()
        d = Daemon(sink, server={"workers": "1", "drain_seconds": "1", "job_timeout": "30"}).start()
        _, h1, _ = d.slash("good sleep 5", user_id="U0RUN")
        time.sleep(0.3)
        _, h2, _ = d.slash("good echo queued", user_id="U0WAIT")
        self.assertEqual(d.stop(), 0)
        running = sink.for_request(h1["x-slashd-request-id"])
        queued = sink.for_request(h2["x-slashd-request-id"])
        self.assertIn("interrupted", running[-1]["text"])
        self.assertTrue(running[-1]["final"] and running[-1]["error"])
        self.assertIn("did not run", queued[-1]["text"])
        self.assertIn("Nothing was done", queued[-1]["text"])
        sink.close()


    def test_metrics_answered_until_the_end_of_a_drain(self):
        """/metrics reads the responder: a client that keeps asking on an
        open connection while the host drains, and while the last reply is
        still leaving, must never reach a freed responder (ASan and TSan
        builds check it)."""
        sink = Sink()
        sink.delay = 0.5  # the final reply keeps the responder busy at stop
        d = Daemon(sink, server={"workers": "1", "drain_seconds": "10"}).start()
        answered, stop = [], threading.Event()

        def scrape():
            conn = http.client.HTTPConnection("127.0.0.1", d.port, timeout=5)
            try:
                while not stop.is_set():
                    conn.request("GET", "/metrics")
                    r = conn.getresponse()
                    r.read()
                    answered.append(r.status)
            except (OSError, http.client.HTTPException):
                pass  # the host closed the connection when it stopped
            finally:
                conn.close()

        _, hdrs, _ = d.slash("good sleep 1")
        t = threading.Thread(target=scrape)
        t.start()
        time.sleep(0.2)
        try:
            self.assertEqual(d.stop(), 0)
        finally:
            stop.set()
            t.join(10)
        self.assertTrue(answered and set(answered) == {200}, answered[-5:])
        self.assertEqual(sink.for_request(hdrs["x-slashd-request-id"])[-1]["text"], "woke up")
        sink.close()


class Journal(unittest.TestCase):
    """No acknowledged command is lost: kill -9 of the host mid-job, restart,
    and the user of the unfinished job is told; finished ones are not."""

    def test_kill9_then_restart_tells_the_user(self):
        sink = Sink()
        d = Daemon(sink, server={"workers": "1", "job_timeout": "30"}).start()
        _, h_done, _ = d.slash("good echo finished before the crash", user_id="U0A")
        sink.wait_final(h_done["x-slashd-request-id"])
        _, h_run, _ = d.slash("good sleep 20", user_id="U0B")
        _, h_wait, _ = d.slash("good echo queued behind", user_id="U0C")
        time.sleep(0.3)
        d.proc.send_signal(signal.SIGKILL)
        d.proc.wait(10)
        d.log.close()
        journal = open(os.path.join(d.dir, "state", "journal")).read()
        self.assertIn(h_run["x-slashd-request-id"], journal)
        self.assertNotIn("legacy-token", journal)
        before = len(sink.messages)
        d2 = Daemon.__new__(Daemon)
        d2.__dict__.update(d.__dict__)
        d2.log_path = os.path.join(d.dir, "slashd2.log")
        d2.start()
        try:
            for h in (h_run, h_wait):
                msgs = sink.wait_final(h["x-slashd-request-id"], timeout=15)
                self.assertTrue(msgs[-1]["final"] and msgs[-1]["error"])
                self.assertIn("slashd restarted before", msgs[-1]["text"])
                self.assertIn("will not be run again", msgs[-1]["text"])
            self.assertEqual(len(sink.for_request(h_done["x-slashd-request-id"])), 1)
            time.sleep(0.5)
            m = d2.metrics()
            self.assertEqual(m["slashd_journal_recovered_total"], 2)
            self.assertEqual(m["slashd_journal_open"], 0)
            self.assertEqual(len(sink.messages), before + 2)
        finally:
            self.assertEqual(d2.stop(), 0)
            sink.close()
        # A third start finds nothing left to tell.
        d3 = Daemon.__new__(Daemon)
        d3.__dict__.update(d.__dict__)
        d3.log_path = os.path.join(d.dir, "slashd3.log")
        d3.start()
        self.assertEqual(d3.metrics()["slashd_journal_recovered_total"], 0)
        d3.stop()


class AllowListReload(unittest.TestCase):
    def test_reload_changes_the_allow_list_everywhere(self):
        sink = Sink()
        d = Daemon(sink, server={"workers": "1"}).start()
        try:
            # A job whose reply is still to come when the reload lands.
            status, hdrs, _ = d.slash("good sleep 2", user_id="U0RELOAD")
            rid = hdrs["x-slashd-request-id"]
            with open(d.config) as f:
                ini = f.read()
            with open(d.config, "w") as f:
                f.write(ini.replace("response_hosts = 127.0.0.1:%d" % sink.port,
                                    "response_hosts = hooks.slack.com"))
            d.proc.send_signal(signal.SIGHUP)
            deadline = time.time() + 10
            while "event=reloaded" not in d.read_log() and time.time() < deadline:
                time.sleep(0.05)
            self.assertIn("event=reloaded", d.read_log())
            # New commands to the old sink are refused in the ack...
            status, hdrs2, ack = d.slash("good echo after", user_id="U0RELOAD2")
            self.assertIn("allow-list", ack["text"])
            self.assertNotIn("x-slashd-request-id", hdrs2)
            # ...and the responder refuses the reply of the job accepted before.
            deadline = time.time() + 15
            while "event=reply_refused" not in d.read_log() and time.time() < deadline:
                time.sleep(0.1)
            self.assertRegex(d.read_log(), r"event=reply_refused req=%s " % re.escape(rid))
            # The interim "sleeping" left before the reload; the final reply
            # must not reach the host that is no longer allowed.
            self.assertEqual([m for m in sink.for_request(rid) if m["final"]], [])
        finally:
            d.stop()
            sink.close()


class LegacyToken(unittest.TestCase):
    def test_token_and_mattermost_header(self):
        sink = Sink()
        d = Daemon(sink, secret=None, slack={"verification_token": "env:SLASHD_TEST_TOKEN"},
                   env={"SLASHD_TEST_TOKEN": "tok-123456"}).start()
        try:
            h = {"Content-Type": "application/x-www-form-urlencoded"}
            body = d.form("good echo token", extra={"token": "tok-123456"})
            status, hdrs, _ = d.request("POST", "/slack/commands", body, h)
            self.assertEqual(status, 200)
            self.assertEqual(sink.wait_final(hdrs["x-slashd-request-id"])[-1]["text"], "token")
            status, _, _ = d.request("POST", "/slack/commands",
                                     d.form("help", extra={"token": "tok-wrong"}), h)
            self.assertEqual(status, 401)
            body = d.form("good echo mm", drop=("token",))
            status, hdrs, _ = d.request("POST", "/slack/commands", body,
                                        dict(h, Authorization="Token tok-123456"))
            self.assertEqual(status, 200)
        finally:
            d.stop()
            sink.close()
        log = d.read_log()
        self.assertNotIn("tok-123456", log)


class Secrets(unittest.TestCase):
    def test_no_secret_in_logs(self):
        sink = Sink()
        d = Daemon(sink).start()
        status, hdrs, _ = d.slash("good echo hi")
        sink.wait_final(hdrs["x-slashd-request-id"])
        d.slash("help", secret="wrong-secret")
        d.stop()
        sink.close()
        log = d.read_log()
        self.assertIn("event=verify_failed", log)
        for secret in (SECRET, "legacy-token-unused", "secret-path-xyz", "v0="):
            self.assertNotIn(secret, log)


class DevMode(unittest.TestCase):
    def test_send_against_development_host(self):
        d = Daemon(None, secret=None).start()
        try:
            log = d.read_log()
            self.assertIn("event=DEVELOPMENT_MODE", log)
            secret_file = os.path.join(d.dir, "state", "dev-signing-secret")
            self.assertEqual(stat.S_IMODE(os.stat(secret_file).st_mode), 0o600)
            rc, out, err = run_cli("send", "--url", "http://127.0.0.1:%d/slack/commands" % d.port,
                                   "good", "echo", "from", "send", config=d.config)
            self.assertEqual(rc, 0, out + err)
            self.assertIn("ack (HTTP 200", out)
            self.assertIn("reply: from send", out)
            rc, out, err = run_cli("send", "--url", "http://127.0.0.1:%d/slack/commands" % d.port,
                                   "nosuch", config=d.config)
            self.assertEqual(rc, 2)
            self.assertIn("Unknown command", out)
        finally:
            d.stop()

    def test_no_secret_on_public_listen_is_refused(self):
        d = Daemon(None, secret=None, server={"listen": "0.0.0.0:0"})
        with self.assertRaises(AssertionError) as cm:
            d.start(timeout=5)
        self.assertIn("refusing to serve unauthenticated commands", str(cm.exception))


class Cli(unittest.TestCase):
    def setUp(self):
        self.d = Daemon(None)
        self.env = {"SLASHD_TEST_SECRET": SECRET}

    def test_run(self):
        rc, out, _ = run_cli("run", "help", config=self.d.config)
        self.assertEqual(rc, 0)
        self.assertIn("/aws good echo", out)
        rc, out, _ = run_cli("run", "good", "echo", "<b>", config=self.d.config)
        self.assertEqual((rc, out), (0, "&lt;b&gt;\n"))
        rc, out, _ = run_cli("run", "nosuch", config=self.d.config)
        self.assertEqual(rc, 2)
        self.assertIn("Unknown command", out)
        rc, out, _ = run_cli("run", "good", "fail", config=self.d.config)
        self.assertEqual(rc, 1)
        self.assertIn("failed: internal error", out)
        rc, out, _ = run_cli("run", "good", "change", "x", config=self.d.config)
        self.assertEqual(rc, 2)
        rc, out, _ = run_cli("run", "--user-id", "U0ME", "good", "whoami", config=self.d.config)
        self.assertEqual(rc, 0)
        self.assertIn("user=U0ME", out)

    def test_check_config_ok(self):
        rc, out, err = run_cli("check-config", config=self.d.config, env=self.env)
        self.assertEqual(rc, 0, err)
        self.assertIn("plugin good 0.0.1: echo, interim, whoami, fail, sleep, change (write)", out)
        self.assertIn(": OK", out)

    def test_check_config_reports_lines(self):
        path = os.path.join(self.d.dir, "bad.ini")
        with open(path, "w") as f:
            f.write("[server]\nworkers = lots\nbogus = 1\nthis is not ini\n[slack]\n"
                    "signing_secret = hunter2\n[plugins]\ndir = /nonexistent\n[plugin.ghost]\n"
                    "[plugin.wrongmajor]\npath = %s/wrongmajor.so\n" % os.environ.get("SLASHD_FIXTURE_DIR", ""))
        rc, out, err = run_cli("check-config", config=path)
        self.assertEqual(rc, 1)
        self.assertIn(path + ":2: error: workers: expected a whole number", err)
        self.assertIn(path + ":3: warning: unknown key \"bogus\" in [server]", err)
        self.assertIn(path + ":4: error: expected [section] or key = value", err)
        self.assertIn(path + ":6: error: signing_secret: secrets must be references", err)
        self.assertIn(path + ":9: error: [plugin.ghost]", err)
        self.assertRegex(err, re.escape(path) + r":10: error: \[plugin.wrongmajor\] built for plugin ABI 2.0, this host speaks 1\.\d")
        self.assertNotIn("hunter2", out + err)

    def test_version(self):
        rc, out, _ = run_cli("--version")
        self.assertEqual(rc, 0)
        self.assertRegex(out, r"^slashd \d+\.\d+\.\d+\n$")


if __name__ == "__main__":
    unittest.main(verbosity=2)
