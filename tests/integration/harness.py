"""Test harness for slashd integration tests (Python 3 standard library only).

- Daemon: writes an ini, starts `slashd serve`, learns its port from the log,
  stops it with SIGTERM and keeps every log line for later greps.
- Slack: signs a slash command exactly as Slack does (v0 HMAC-SHA256 over
  "v0:<ts>:<raw body>") and POSTs it.
- Sink: a strict stand-in for Slack's response_url endpoint. It accepts only
  POST with Content-Type application/json and a JSON body carrying "text" and
  a valid "response_type", records every message, and can be told to fail.
"""

import atexit
import hashlib
import hmac
import http.client
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

SLASHD_BIN = os.environ.get("SLASHD_BIN", "build/slashd")
PLUGIN_DIR = os.environ.get("SLASHD_PLUGIN_DIR", "build/plugins")
FIXTURE_DIR = os.environ.get("SLASHD_FIXTURE_DIR", "build/tests/plugins/fixtures")
SOURCE_DIR = os.path.abspath(os.environ.get("SLASHD_SOURCE_DIR", "."))
SHARED_DIR = os.environ.get("SLASHD_SHARED_DIR", os.path.join(SOURCE_DIR, "..", "shared"))

SECRET = "8f742231b10e8888abcd99yyyzzz85a5-test-secret"


def sign(secret, ts, body):
    base = b"v0:" + str(ts).encode() + b":" + body
    return "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()


class Sink:
    """A local response_url endpoint that records what slashd posts."""

    def __init__(self):
        self.messages = []
        self.cond = threading.Condition()
        self.fail_next = 0  # answer 500 to this many posts
        self.fail_status = 500
        self.delay = 0.0
        self.protocol_errors = []
        sink = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a):
                pass

            def do_POST(self):
                length = int(self.headers.get("Content-Length", "0"))
                raw = self.rfile.read(length)
                ctype = self.headers.get("Content-Type", "")
                with sink.cond:
                    fail = sink.fail_next > 0
                    if fail:
                        sink.fail_next -= 1
                if sink.delay:
                    time.sleep(sink.delay)
                if fail:
                    self._answer(sink.fail_status, b"try later")
                    with sink.cond:
                        sink.messages.append({"failed": True, "path": self.path})
                        sink.cond.notify_all()
                    return
                err = None
                try:
                    body = json.loads(raw)
                except ValueError:
                    body, err = None, "body is not JSON"
                if not ctype.startswith("application/json"):
                    err = "content type %r" % ctype
                elif body is not None and (not isinstance(body.get("text"), str)
                                           or body.get("response_type") not in ("ephemeral", "in_channel")):
                    err = "missing text/response_type"
                if err:
                    sink.protocol_errors.append(err)
                    self._answer(400, err.encode())
                    return
                msg = {
                    "failed": False,
                    "path": self.path,
                    "text": body["text"],
                    "response_type": body["response_type"],
                    "body": body,
                    "final": self.headers.get("X-Slashd-Reply") == "final",
                    "error": self.headers.get("X-Slashd-Error") == "1",
                    "request_id": self.headers.get("X-Slashd-Request-Id"),
                    "at": time.monotonic(),
                }
                with sink.cond:
                    sink.messages.append(msg)
                    sink.cond.notify_all()
                self._answer(200, b"ok")

            def _answer(self, status, body):
                self.send_response(status)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def url(self, path="/hooks/T1/B1/secret-path-xyz"):
        return "http://127.0.0.1:%d%s" % (self.port, path)

    def for_request(self, rid):
        with self.cond:
            return [m for m in self.messages if not m["failed"] and m["request_id"] == rid]

    def wait_final(self, rid, timeout=30):
        deadline = time.monotonic() + timeout
        with self.cond:
            while True:
                msgs = [m for m in self.messages if not m["failed"] and m["request_id"] == rid]
                if any(m["final"] for m in msgs):
                    return msgs
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError("no final reply for %s within %ss; got %r" % (rid, timeout, msgs))
                self.cond.wait(left)

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


_started = []
_dirs = []  # every Daemon's directory: ini, state (a development secret), log


@atexit.register
def _kill_leftovers():
    """A test that failed before stopping its daemon must not leave it running.
    Then the daemons' directories go (each run left hundreds in /tmp, secrets
    and journals included); SLASHD_KEEP_TEST_DIRS=1 keeps them to look at."""
    for p in _started:
        if p.poll() is None:
            p.kill()
            p.wait()
    if not os.environ.get("SLASHD_KEEP_TEST_DIRS"):
        for d in _dirs:
            shutil.rmtree(d, ignore_errors=True)


# What ASan, LeakSanitizer, UBSan and TSan print when they find something.
SANITIZER_MARKERS = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:",
                     "WARNING: ThreadSanitizer", "ThreadSanitizer: reported")


def check_sanitizer_reports(text, where):
    """Fails the test when a sanitizer reported anything in `text`."""
    for marker in SANITIZER_MARKERS:
        if marker in text:
            i = text.index(marker)
            raise AssertionError("sanitizer report in %s:\n%s" % (where, text[max(0, i - 2000):i + 6000]))


def tsan_options(env):
    """TSAN_OPTIONS for every process a test starts (ignored outside the TSan
    build): keep going after a report, a distinct exit status, the
    project's suppressions for third-party false positives."""
    supp = os.path.join(SOURCE_DIR, "tests", "tsan.supp")
    return ("handle_segv=0:halt_on_error=0:exitcode=66:second_deadlock_stack=1:suppressions=%s:" % supp
            + env.get("TSAN_OPTIONS", ""))


class Daemon:
    """One `slashd serve` with its own ini, state dir and log."""

    def __init__(self, sink=None, server=None, slack=None, extra="", plugins=("help",),
                 fixtures=("good", "crash", "hang"), env=None, secret=SECRET, sections=None):
        self.dir = tempfile.mkdtemp(prefix="slashd-it-")
        _dirs.append(self.dir)
        self.sink = sink
        self.secret = secret
        self.env = dict(os.environ)
        self.env["SLASHD_TEST_SECRET"] = secret or ""
        self.env.setdefault("AWS_EC2_METADATA_DISABLED", "true")
        # Under the sanitizer build, let a plugin's SIGSEGV be a real signal
        # (ASan would turn it into "exit 1"), and report leaks of every
        # process, workers included, into the log that stop() checks.
        self.env["ASAN_OPTIONS"] = "handle_segv=0:detect_leaks=1:" + self.env.get("ASAN_OPTIONS", "")
        self.env["UBSAN_OPTIONS"] = "print_stacktrace=1:" + self.env.get("UBSAN_OPTIONS", "")
        # Under the TSan build: keep running after a report (so one race
        # does not hide the next), and name both stacks of a deadlock. The
        # workers inherit this environment and the daemon's stderr, so their
        # reports land in the same log that stop() checks.
        self.env["TSAN_OPTIONS"] = tsan_options(self.env)
        if env:
            self.env.update(env)
        srv = {"listen": "127.0.0.1:0", "workers": "2", "queue": "16", "job_timeout": "10",
               "state_dir": os.path.join(self.dir, "state"), "drain_seconds": "5",
               "log_level": "debug",
               # No running caps unless a test asks: with 2 workers the
               # defaults (workers - 1) would refuse the concurrent commands
               # most tests send; test_hardening.Hogging tests the defaults.
               "max_running_per_user": "0", "max_running_per_plugin": "0"}
        srv.update(server or {})
        sl = {"command": "/aws"}
        if secret:
            sl["signing_secret"] = "env:SLASHD_TEST_SECRET"
        if sink:
            sl["response_hosts"] = "127.0.0.1:%d" % sink.port
        sl.update(slack or {})
        lines = ["[server]"] + ["%s = %s" % kv for kv in srv.items()]
        lines += ["", "[slack]"] + ["%s = %s" % kv for kv in sl.items()]
        lines += ["", "[plugins]", "dir = %s" % PLUGIN_DIR]
        for p in plugins:
            lines += ["", "[plugin.%s]" % p, "enabled = true"]
        for f in fixtures:
            lines += ["", "[plugin.%s]" % f, "path = %s/%s.so" % (FIXTURE_DIR, f)]
        # Tests written before confirmation existed run write commands at
        # once; a test about confirmation asks for it ([identity] confirm).
        sections = dict(sections or {})
        ident = dict(sections.get("identity", {}))
        ident.setdefault("confirm", "none")
        sections["identity"] = ident
        for name, kv in sections.items():
            lines += ["", "[%s]" % name] + ["%s = %s" % item for item in kv.items()]
        lines += ["", extra]
        self.config = os.path.join(self.dir, "slashd.ini")
        with open(self.config, "w") as f:
            f.write("\n".join(lines) + "\n")
        self.log_path = os.path.join(self.dir, "slashd.log")
        self.proc = None
        self.port = None

    def command(self):
        """The command line that runs the daemon (a subclass may wrap it)."""
        return [SLASHD_BIN, "serve", "-c", self.config]

    def start(self, timeout=20):
        self.log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(self.command(), stdout=self.log,
                                     stderr=subprocess.STDOUT, env=self.env, cwd=self.dir)
        _started.append(self.proc)


        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            m = re.search(r"event=listening .*?port=(\d+)", self.read_log())
            if m:
                self.port = int(m.group(1))
                return self
            if self.proc.poll() is not None:
                raise AssertionError("slashd exited with %s:\n%s" % (self.proc.returncode, self.read_log()))
            time.sleep(0.02)
        raise AssertionError("slashd did not start:\n" + self.read_log())

    def read_log(self):
        with open(self.log_path, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def stop(self, sig=signal.SIGTERM, timeout=30):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                raise AssertionError("slashd did not stop within %ss" % timeout)
        if getattr(self, "log", None):
            self.log.close()
        check_sanitizer_reports(self.read_log(), "the daemon log")
        return self.proc.returncode if self.proc else None

    # -- HTTP -------------------------------------------------------------
    def request(self, method, path, body=b"", headers=None, timeout=10):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        conn.request(method, path, body=body, headers=headers or {})
        r = conn.getresponse()
        data = r.read()
        result = (r.status, {k.lower(): v for k, v in r.getheaders()}, data)
        conn.close()
        return result

    def form(self, text, user_id="U0TEST", response_url=None, extra=None, drop=()):
        fields = {
            "token": "legacy-token-unused", "team_id": "T0TEST", "team_domain": "test",
            "channel_id": "C0TEST", "channel_name": "ops", "user_id": user_id,
            "user_name": "alice", "command": "/aws", "text": text,
            "response_url": response_url or (self.sink.url() if self.sink else "https://hooks.slack.com/x"),
            "trigger_id": "1.2.3", "api_app_id": "A0TEST",
        }
        fields.update(extra or {})
        for d in drop:
            fields.pop(d, None)
        return urllib.parse.urlencode(fields).encode()

    def slash(self, text, ts=None, secret=None, body=None, headers=None, sign_body=None, **kw):
        """POSTs a signed slash command; returns (status, headers, parsed JSON or raw)."""
        body = body if body is not None else self.form(text, **kw)
        ts = int(time.time()) if ts is None else ts
        sig = sign(secret or self.secret, ts, sign_body if sign_body is not None else body)
        h = {"Content-Type": "application/x-www-form-urlencoded",
             "X-Slack-Request-Timestamp": str(ts), "X-Slack-Signature": sig}
        h.update(headers or {})
        status, hdrs, data = self.request("POST", "/slack/commands", body, h)
        try:
            parsed = json.loads(data) if data else None
        except ValueError:
            parsed = data
        return status, hdrs, parsed

    def metrics(self):
        status, _, data = self.request("GET", "/metrics")
        assert status == 200
        out = {}
        for line in data.decode().splitlines():
            if line and not line.startswith("#"):
                k, v = line.rsplit(" ", 1)
                out[k] = float(v)
        return out


def run_cli(*args, config=None, env=None, timeout=60):
    cmd = [SLASHD_BIN] + list(args[:1])
    if config:
        cmd += ["-c", config]
    cmd += list(args[1:])
    e = dict(os.environ)
    e.setdefault("AWS_EC2_METADATA_DISABLED", "true")
    e["ASAN_OPTIONS"] = "handle_segv=0:" + e.get("ASAN_OPTIONS", "")
    e["TSAN_OPTIONS"] = tsan_options(e)
    if env:
        e.update(env)
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=e)
    check_sanitizer_reports(p.stderr, "the stderr of " + " ".join(cmd))
    return p.returncode, p.stdout, p.stderr
