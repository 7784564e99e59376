"""A Lambda Runtime API emulator (Python 3 standard library only).

It plays the part of Lambda's side of the Runtime API 2018-06-01
(shared/reference/aws-examples/lambda-runtime-api.txt) for one function
container, as strictly as Lambda:

- GET  /2018-06-01/runtime/invocation/next blocks until an invocation is
  queued, then answers 200 with the event and the Lambda-Runtime-* headers;
  the deadline is a real Unix epoch in milliseconds.
- POST /2018-06-01/runtime/invocation/<id>/response and .../<id>/error take
  exactly one result per invocation (202); a second one, an unknown id, or a
  result for an invocation that is not the current one is 400 and recorded
  as a protocol violation. An error needs the errorMessage/errorType JSON.
- POST /2018-06-01/runtime/init/error is recorded (202), after which Lambda
  would discard the container; so does the emulator (it kills the process).
- Between invocations the process (its whole process group) is frozen with
  SIGSTOP while it waits in /next, and thawed with SIGCONT before the next
  event is delivered, as Lambda freezes the sandbox.
- A result that does not arrive by the deadline is a timeout: the process
  group is killed, as Lambda does ("Task timed out").

Use from a test:

    rt = LambdaRuntime(); rt.start()
    proc = rt.spawn(["./bootstrap"], env={...}, cwd=task_root)
    res = rt.invoke({"Records": [...]}, timeout_ms=30000)
    res.kind == "response"; res.body -> bytes; res.json()
    rt.close()
"""

import json
import os
import re
import signal
import socket
import subprocess
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

PREFIX = "/2018-06-01/runtime"
FUNCTION_ARN = "arn:aws:lambda:us-east-1:123456789012:function:slashd-test"


class Result:
    def __init__(self, kind, body=b"", headers=None, elapsed=0.0):
        self.kind = kind  # "response", "error", "timeout", "exited"
        self.body = body
        self.headers = headers or {}
        self.elapsed = elapsed  # seconds from delivery of the event to the result

    def json(self):
        return json.loads(self.body)

    def __repr__(self):
        return "Result(%s, %r)" % (self.kind, self.body[:300])


class Invocation:
    def __init__(self, event, timeout_ms, trace_id):
        self.id = str(uuid.uuid4())
        self.event = event if isinstance(event, bytes) else json.dumps(event).encode()
        self.timeout_ms = timeout_ms
        self.trace_id = trace_id or "Root=1-%08x-%s;Parent=%s;Sampled=1" % (
            int(time.time()), uuid.uuid4().hex[:24], uuid.uuid4().hex[:16])
        self.deadline_ms = None
        self.delivered_at = None
        self.result = None


class LambdaRuntime:
    def __init__(self, freeze=True):
        self.freeze = freeze
        self.cond = threading.Condition()
        self.pending = []  # invocations not yet delivered
        self.current = None  # delivered, no result yet
        self.done = {}  # id -> Invocation with a result
        self.init_errors = []  # (headers, body)
        self.violations = []  # protocol errors made by the runtime
        self.next_calls = []  # monotonic time of each GET /next
        self.frozen = False
        self.proc = None
        self.spawned_at = None
        emu = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a):
                pass

            def setup(self):
                super().setup()
                # Headers and body go out in two writes; without this, Nagle
                # and the runtime's delayed ACK add 40 ms to every event (the
                # real Runtime API, in Go, sets TCP_NODELAY too).
                self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

            def do_GET(self):
                if self.path != PREFIX + "/invocation/next":
                    return self._answer(404, {"errorMessage": "not found", "errorType": "NotFound"})
                inv = emu._wait_next()
                if inv is None:
                    return self._answer(500, {"errorMessage": "shutting down", "errorType": "Shutdown"})
                body = inv.event
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.send_header("Lambda-Runtime-Aws-Request-Id", inv.id)
                self.send_header("Lambda-Runtime-Deadline-Ms", str(inv.deadline_ms))
                self.send_header("Lambda-Runtime-Invoked-Function-Arn", FUNCTION_ARN)
                self.send_header("Lambda-Runtime-Trace-Id", inv.trace_id)
                self.end_headers()
                self.wfile.write(body)

            def do_POST(self):
                n = int(self.headers.get("Content-Length") or 0)
                if n > 6 * 1024 * 1024:
                    emu._violation("result larger than 6 MB")
                    return self._answer(413, {"errorMessage": "too large", "errorType": "RequestTooLarge"})
                body = self.rfile.read(n)
                headers = {k.lower(): v for k, v in self.headers.items()}
                if self.path == PREFIX + "/init/error":
                    status = emu._init_error(headers, body)
                    return self._answer(status, {"status": "OK"} if status == 202 else
                                        {"errorMessage": "bad init error", "errorType": "InvalidRequest"})
                m = re.fullmatch(re.escape(PREFIX) + r"/invocation/([^/]+)/(response|error)", self.path)
                if not m:
                    return self._answer(404, {"errorMessage": "not found", "errorType": "NotFound"})
                status, err = emu._result(m.group(1), m.group(2), headers, body)
                if status != 202:
                    return self._answer(status, {"errorMessage": err, "errorType": "InvalidStateTransition"})
                return self._answer(202, {"status": "OK"})

            def _answer(self, status, obj):
                data = json.dumps(obj).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        class Server(ThreadingHTTPServer):
            daemon_threads = True

            def handle_error(self, request, client_address):
                pass  # a runtime killed mid-request is part of the job

        self.server = Server(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.address = "127.0.0.1:%d" % self.port
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.closing = False

    # ---- the process ------------------------------------------------------
    def start(self):
        self.thread.start()
        return self

    def spawn(self, argv, env=None, cwd=None, stdout=None):
        """Starts the runtime process in its own process group, with
        AWS_LAMBDA_RUNTIME_API pointing here. stdout: a file object or None
        (then the log is kept in self.log_path)."""
        full = dict(env or {})
        full["AWS_LAMBDA_RUNTIME_API"] = self.address
        full.setdefault("AWS_LAMBDA_FUNCTION_NAME", "slashd-test")
        full.setdefault("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "256")
        self.spawned_at = time.monotonic()
        self.proc = subprocess.Popen(argv, env=full, cwd=cwd, stdout=stdout or subprocess.PIPE,
                                     stderr=subprocess.STDOUT, start_new_session=True)
        self.log_lines = []
        if stdout is None:
            def pump():
                for line in self.proc.stdout:
                    self.log_lines.append(line.decode("utf-8", "replace").rstrip("\n"))
            threading.Thread(target=pump, daemon=True).start()
        return self.proc

    def _signal(self, sig):
        if self.proc and self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, sig)
            except ProcessLookupError:
                pass

    def _thaw(self):
        if self.frozen:
            self._signal(signal.SIGCONT)
            self.frozen = False

    # ---- Lambda's side ----------------------------------------------------
    def _wait_next(self):
        with self.cond:
            self.next_calls.append(time.monotonic())
            if self.current is not None:
                # Asking for more before answering the current one is a result
                # never given: Lambda would time the invocation out.
                self._violation("GET /next before a result for %s" % self.current.id)
            while not self.pending and not self.closing:
                if self.freeze and not self.frozen and self.proc is not None:
                    # Frozen while idle, as Lambda does once the runtime waits.
                    self._signal(signal.SIGSTOP)
                    self.frozen = True
                self.cond.wait(0.5)
            if self.closing:
                return None
            inv = self.pending.pop(0)
            now_ms = int(time.time() * 1000)
            inv.deadline_ms = now_ms + inv.timeout_ms
            inv.delivered_at = time.monotonic()
            self.current = inv
            return inv

    def _init_error(self, headers, body):
        with self.cond:
            ok = self._error_body_ok(headers, body)
            self.init_errors.append({"headers": headers, "body": body, "valid": ok})
            self.cond.notify_all()
        # Lambda discards a container whose init failed.
        threading.Timer(0.2, lambda: self._signal(signal.SIGKILL)).start()
        return 202 if ok else 400

    def _error_body_ok(self, headers, body):
        try:
            j = json.loads(body)
        except ValueError:
            self._violation("error body is not JSON")
            return False
        if not isinstance(j, dict) or not isinstance(j.get("errorMessage"), str) or \
                not isinstance(j.get("errorType"), str):
            self._violation("error body without errorMessage/errorType strings")
            return False
        return True

    def _result(self, rid, kind, headers, body):
        with self.cond:
            if rid in self.done:
                self._violation("second result for %s" % rid)
                return 400, "Invalid request ID: a result was already posted"
            if self.current is None or self.current.id != rid:
                self._violation("result for unknown invocation %s" % rid)
                return 400, "Invalid request ID"
            if kind == "error" and not self._error_body_ok(headers, body):
                return 400, "Invalid error body"
            inv = self.current
            inv.result = Result(kind, body, headers, time.monotonic() - inv.delivered_at)
            self.done[rid] = inv
            self.current = None
            self.cond.notify_all()
            return 202, None

    def _violation(self, what):
        self.violations.append(what)

    # ---- the test's side --------------------------------------------------
    def invoke(self, event, timeout_ms=30000, trace_id=None):
        """Queues one event and waits for its result (or the deadline)."""
        inv = Invocation(event, timeout_ms, trace_id)
        with self.cond:
            self.pending.append(inv)
            self._thaw()
            self.cond.notify_all()
            limit = time.monotonic() + timeout_ms / 1000.0 + 30  # queueing + delivery slack
            while inv.result is None:
                if self.proc is not None and self.proc.poll() is not None:
                    return Result("exited", ("exit status %s" % self.proc.returncode).encode())
                if inv.deadline_ms is not None and time.time() * 1000 > inv.deadline_ms + 1000:
                    break
                if time.monotonic() > limit:
                    break
                self.cond.wait(0.05)
            if inv.result is not None:
                inv.result.request_id = inv.id
                inv.result.trace_id = inv.trace_id
                return inv.result
        # "Task timed out": the sandbox is thrown away.
        self._signal(signal.SIGKILL)
        res = Result("timeout")
        res.request_id = inv.id
        res.trace_id = inv.trace_id
        return res

    def wait_init_error(self, timeout=10):
        end = time.monotonic() + timeout
        with self.cond:
            while not self.init_errors and time.monotonic() < end:
                if self.proc is not None and self.proc.poll() is not None and not self.init_errors:
                    break
                self.cond.wait(0.05)
            return self.init_errors[0] if self.init_errors else None

    def wait_next(self, count=1, timeout=10):
        """Waits until the runtime has asked for an event `count` times."""
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if len(self.next_calls) >= count:
                return True
            if self.proc is not None and self.proc.poll() is not None:
                return False
            time.sleep(0.001)
        return False

    def wait_log(self, pattern, timeout=10):
        """The runtime's log (its stdout, read by a thread) once a line matches
        `pattern` (a regex); the log is read asynchronously, so a line written
        just before a result may arrive just after it."""
        end = time.monotonic() + timeout
        rx = re.compile(pattern)
        while True:
            log = "\n".join(self.log_lines)
            if rx.search(log) or time.monotonic() > end:
                return log
            time.sleep(0.01)

    def close(self):
        with self.cond:
            self.closing = True
            self.cond.notify_all()
        self._thaw()
        if self.proc is not None and self.proc.poll() is None:
            self._signal(signal.SIGKILL)
            self.proc.wait(10)
        self.server.shutdown()
        self.server.server_close()
