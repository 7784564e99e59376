#!/usr/bin/python3
"""Lambda figures for slashd (issue 12, "Speed"): run by hand, never by ctest.

    cmake --build build --target lambda-package
    /usr/bin/python3 bench/lambda_bench.py [--runs 50] [--invocations 300]

Runs the zip from an unpacked temporary folder under the Runtime API emulator
(tests/fakes/lambda_runtime.py) and prints:

- init: exec of `bootstrap` -> its first GET /invocation/next (the
  emulator's clock, from just before the spawn), for the front and the worker;
- front invocation: the event handed out by GET /next -> the response POSTed,
  for an ack answered without a send (`/aws nosuch`) and for an accepted job
  sent to SQS, minus the time the SQS stub spent on the SendMessage (the stub
  is this script's own HTTP server, so its time is known to it);
- the zip's size, and the worker's peak RSS (VmHWM) after running jobs.

The emulator and the SQS stub are Python: their own HTTP work is inside the
front figure (a few hundred microseconds on a quiet machine).
"""
import argparse
import urllib.parse
import os
import socket
import statistics
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(REPO, "tests", "integration"))
sys.path.insert(0, os.path.join(REPO, "tests", "fakes"))

os.environ.setdefault("SLASHD_BUILD_DIR", os.path.join(REPO, "build"))
import lambdazip  # noqa: E402
from harness import SECRET, sign  # noqa: E402
from lambda_runtime import LambdaRuntime  # noqa: E402

QUEUE = "https://sqs.us-east-1.amazonaws.com/123456789012/slashd-jobs"


class SqsStub:
    """Answers SendMessage at once and keeps the time it spent per request."""

    def __init__(self):
        self.spent = []
        self.bodies = []  # MessageBody of every SendMessage
        stub = self

        class H(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a):
                pass

            def setup(self):
                super().setup()
                self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

            def do_POST(self):
                t0 = time.perf_counter()
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                if self.path == "/":
                    form = urllib.parse.parse_qs(raw.decode())
                    if "MessageBody" in form:
                        stub.bodies.append(form["MessageBody"][0])
                body = (b'<SendMessageResponse xmlns="http://queue.amazonaws.com/doc/2012-11-05/">'
                        b"<SendMessageResult><MD5OfMessageBody>x</MD5OfMessageBody><MessageId>"
                        b"5fea7756-0ea4-451a-a703-a558b933e274</MessageId></SendMessageResult>"
                        b"<ResponseMetadata><RequestId>27daac76</RequestId></ResponseMetadata>"
                        b"</SendMessageResponse>")
                self.send_response(200)
                self.send_header("Content-Type", "text/xml")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
                stub.spent.append(time.perf_counter() - t0)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), H)
        self.server.daemon_threads = True
        self.url = "http://127.0.0.1:%d" % self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


def write_ini(root):
    ini = os.path.join(root, "bench.ini")
    with open(ini, "w") as f:
        f.write("[lambda]\nqueue_url = %s\n[server]\nlog_level = warn\ndedupe_seconds = 0\n"
                "[slack]\nsigning_secret = env:SLASHD_TEST_SECRET\nresponse_hosts = 127.0.0.1\n"
                "[plugins]\ndir = plugins\n[plugin.help]\n[plugin.ec2]\n[plugin.s3]\n" % QUEUE)
    return ini


def env(root, handler, ini, endpoint):
    return lambdazip.lambda_env(root, handler, {
        "SLASHD_CONFIG": ini, "SLASHD_TEST_SECRET": SECRET,
        "SLASHD_LAMBDA_SIGNING_SECRET": "env:SLASHD_TEST_SECRET", "AWS_ACCESS_KEY_ID": "AKIDSLASHDHOST",
        "AWS_SECRET_ACCESS_KEY": "slashd-host-secret", "AWS_ENDPOINT_URL": endpoint,
        "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent", "AWS_CONFIG_FILE": "/nonexistent"})


def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100.0 * (len(xs) - 1))))]


def ms(x):
    return "%.2f ms" % (x * 1000)


def init_times(root, handler, ini, endpoint, runs):
    out = []
    for _ in range(runs):
        rt = LambdaRuntime(freeze=False).start()
        rt.spawn([os.path.join(root, "bootstrap")], env=env(root, handler, ini, endpoint), cwd="/")
        if not rt.wait_next(1, timeout=20):
            raise SystemExit("%s did not start:\n%s" % (handler, "\n".join(rt.log_lines)))
        out.append(rt.next_calls[0] - rt.spawned_at)
        rt.close()
    return out


def event(text, n, response_url):
    body = urllib.parse.urlencode({
        "team_id": "T0BENCH", "channel_id": "C0BENCH", "user_id": "U0BENCH%d" % n,
        "user_name": "bench", "command": "/aws", "text": text,
        "response_url": response_url}).encode()
    ts = int(time.time())
    return {"version": "2.0", "headers": {"content-type": "application/x-www-form-urlencoded",
                                          "x-slack-request-timestamp": str(ts),
                                          "x-slack-signature": sign(SECRET, ts, body)},
            "requestContext": {"http": {"method": "POST"}}, "body": body.decode(),
            "isBase64Encoded": False}


def front_times(root, ini, stub, count):
    rt = LambdaRuntime(freeze=False).start()
    rt.spawn([os.path.join(root, "bootstrap")], env=env(root, "front", ini, stub.url), cwd="/")
    rt.wait_next(1)
    results = {}
    for text in ("nosuch", "help"):
        times = []
        for i in range(count + 20):
            before = len(stub.spent)
            res = rt.invoke(event(text, i, stub.url + "/hooks/bench"), timeout_ms=3000)
            if res.kind != "response":
                raise SystemExit("front failed: %r\n%s" % (res, "\n".join(rt.log_lines)))
            sqs = sum(stub.spent[before:])
            if i >= 20:  # warm-up: first connections, first page faults
                times.append(res.elapsed - sqs)
        results[text] = times
    rt.close()
    return results


def status_kb(pid, key):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    return 0


def worker_figures(root, ini, stub, count):
    """Runs `help` jobs (as the front queued them) through the worker: the
    invocation time (each job in a new child: spawn, plugins, run, reply
    posted) and the worker process's memory."""
    bodies = stub.bodies[-count:]
    rt = LambdaRuntime(freeze=False).start()
    proc = rt.spawn([os.path.join(root, "bootstrap")], env=env(root, "worker", ini, stub.url), cwd="/")
    rt.wait_next(1)
    idle_rss = status_kb(proc.pid, "VmRSS")
    times = []
    for i, body in enumerate(bodies):
        ev = {"Records": [{"messageId": "m%d" % i, "body": body, "eventSource": "aws:sqs",
                           "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:slashd-jobs"}]}
        res = rt.invoke(ev, timeout_ms=30000)
        if res.kind != "response" or res.json() != {"batchItemFailures": []}:
            raise SystemExit("worker failed: %r\n%s" % (res, "\n".join(rt.log_lines[-20:])))
        times.append(res.elapsed)
    out = (times, idle_rss, status_kb(proc.pid, "VmRSS"), status_kb(proc.pid, "VmHWM"))
    rt.close()
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=50)
    ap.add_argument("--invocations", type=int, default=300)
    a = ap.parse_args()
    root = lambdazip.unpack()
    try:
        ini = write_ini(root)
        stub = SqsStub()
        size = os.path.getsize(lambdazip.ZIP)
        print("zip: %s: %d bytes (%.1f MiB)" % (lambdazip.ZIP, size, size / 1048576.0))
        for handler in ("front", "worker"):
            t = init_times(root, handler, ini, stub.url, a.runs)
            print("init %-6s (exec -> first /next, %d runs): p50 %s  min %s  p90 %s  max %s"
                  % (handler, len(t), ms(statistics.median(t)), ms(min(t)), ms(pct(t, 90)), ms(max(t))))
        fr = front_times(root, ini, stub, a.invocations)
        for text, t in fr.items():
            what = "ack only, nothing sent" if text == "nosuch" else "job sent to SQS, minus the stub's time"
            print("front /aws %-6s (%s, %d): p50 %s  p90 %s  p99 %s"
                  % (text, what, len(t), ms(statistics.median(t)), ms(pct(t, 90)), ms(pct(t, 99))))
        wt, idle, rss, hwm = worker_figures(root, ini, stub, min(50, a.invocations))
        print("worker /aws help (SQS event -> child -> reply posted, %d): p50 %s  p90 %s"
              % (len(wt), ms(statistics.median(wt)), ms(pct(wt, 90))))
        print("worker RSS: %d KiB idle after init, %d KiB after %d jobs, peak (VmHWM) %d KiB"
              % (idle, rss, len(wt), hwm))
        print("load while measuring: %s (2 cores; the machine is shared)" %
              " ".join("%.2f" % x for x in os.getloadavg()))
    finally:
        lambdazip.remove(root)


if __name__ == "__main__":
    main()
