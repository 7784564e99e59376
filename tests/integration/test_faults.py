"""Load and faults, through the real binary (issue 5, "Load and faults").

Each class is its own CTest test (tests/integration/CMakeLists.txt), bounded
in count and time, loopback only, and stops by itself:

  Burst           10,000 signed commands from 64 connections (bench/ackbench)
  SlowClients     slowloris headers and bodies beside a normal client
  ResponseUrl     response_url down, erroring, slow and hanging
  AwsFaults       the fake AWS answering 500s, throttling, hanging
  WorkerKill      a worker SIGKILLed mid-job

Figures (rates, latencies, memory) are printed and appended to
$SLASHD_BUILD_DIR/test-figures.log, which ./dev test shows at the end.
"""

import os
import re
import selectors
import signal
import socket
import subprocess
import sys
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from fakeaws import FakeAws, role  # noqa: E402
from harness import SECRET, Daemon, Sink  # noqa: E402

ACKBENCH = os.environ.get("SLASHD_ACKBENCH", "build/bench/ackbench")
BUILD_DIR = os.environ.get("SLASHD_BUILD_DIR", "build")


# ---- helpers ---------------------------------------------------------------

def figures(name, **kv):
    """Prints one line of figures and keeps it for ./dev test's summary."""
    line = "FIGURES %s: %s" % (name, " ".join("%s=%s" % item for item in kv.items()))
    print(line, flush=True)
    try:
        with open(os.path.join(BUILD_DIR, "test-figures.log"), "a") as f:
            f.write(line + "\n")
    except OSError:
        pass


def wait_until(pred, timeout, what, step=0.05):
    deadline = time.monotonic() + timeout
    while True:
        v = pred()
        if v:
            return v
        if time.monotonic() >= deadline:
            raise AssertionError("timed out after %ss waiting for %s" % (timeout, what))
        time.sleep(step)


def status_of(pid):
    out = {}
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            k, _, v = line.partition(":")
            out[k] = v.strip()
    return out


def rss_kb(pid, key="VmRSS"):
    return int(status_of(pid)[key].split()[0])


def sanitized(pid):
    """True when the process runs with AddressSanitizer or ThreadSanitizer
    (its RSS is not ours: quarantine, shadow memory)."""
    with open("/proc/%d/maps" % pid) as f:
        maps = f.read()
    return "libasan" in maps or "libtsan" in maps


def children(pid):
    """Pids whose parent is pid (the worker processes of a slashd serve)."""
    kids = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % entry) as f:
                stat = f.read()
        except OSError:
            continue
        # The command name is in parentheses and may hold spaces.
        fields = stat[stat.rindex(")") + 2:].split()
        if int(fields[1]) == pid and fields[0] != "Z":
            kids.append(int(entry))
    return sorted(kids)


def workers(pid):
    """The worker processes of a slashd serve: the children of its spawners
    (its own children, `slashd spawner`, which fork them)."""
    return sorted(w for s in children(pid) for w in children(s))


def open_fds(pid):
    return len(os.listdir("/proc/%d/fd" % pid))


LOGFMT = re.compile(r'(\w+)=("(?:[^"\\]|\\.)*"|\S*)')


def events(log, name):
    """Every log line of event=name, as dicts (logfmt, quotes removed)."""
    out = []
    for line in log.splitlines():
        if " event=%s " % name not in line + " ":
            continue
        d = {}
        for k, v in LOGFMT.findall(line):
            d[k] = v[1:-1] if v.startswith('"') else v
        out.append(d)
    return out


def metric(d, key):
    return d.metrics()[key]


class Blackhole:
    """A response_url host that accepts connections and never answers.
    Counts the connections open at once."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(1024)
        self.sock.setblocking(False)
        self.port = self.sock.getsockname()[1]
        self.sel = selectors.DefaultSelector()
        self.sel.register(self.sock, selectors.EVENT_READ)
        self.open = 0
        self.max_open = 0
        self.accepted = 0
        self.stopping = False
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def url(self):
        return "http://127.0.0.1:%d/hooks/blackhole" % self.port

    def _run(self):
        while not self.stopping:
            ready = [key.fileobj for key, _ in self.sel.select(0.2)]
            # Closes before accepts: a client that drops one connection and
            # opens the next is not counted twice.
            for c in ready:
                if c is self.sock:
                    continue
                try:
                    data = c.recv(65536)
                except OSError:
                    data = b""
                if not data:
                    self.sel.unregister(c)
                    c.close()
                    self.open -= 1
            if self.sock in ready:
                try:
                    c, _ = self.sock.accept()
                except OSError:
                    continue
                c.setblocking(False)
                self.sel.register(c, selectors.EVENT_READ)
                self.accepted += 1
                self.open += 1
                self.max_open = max(self.max_open, self.open)

    def close(self):
        self.stopping = True
        self.thread.join(5)
        for key in list(self.sel.get_map().values()):
            key.fileobj.close()
        self.sel.close()


# ---- a burst ---------------------------------------------------------------

class Burst(unittest.TestCase):
    """10,000 signed commands from 64 keep-alive connections: every request is
    answered (queued, busy or duplicate, all HTTP 200), the host lives on,
    its memory stays bounded, and every queued command gets exactly one final
    reply."""

    N = 10000
    CONNECTIONS = 64
    # The main process holds at most `queue` (256) waiting jobs, 64 client
    # connections of at most 16 KiB each (MHD's per-connection memory limit)
    # and, past 1,024 waiting replies, answers busy: about 1,300 replies of
    # ~8 KiB at most (10 MiB). It starts at 11 MiB and peaks at 25-30 MiB in
    # this burst. 64 MiB leaves 2x room; a leak of 5 KiB per request (50 MiB
    # over 10,000) or an unbounded backlog (90 MiB measured) crosses it.
    RSS_LIMIT_KB = 64 * 1024

    def test_burst(self):
        d = Daemon(None, server={"workers": "4", "queue": "256", "log_level": "info"},
                   slack={"response_hosts": "127.0.0.1"}, fixtures=()).start()
        try:
            pid = d.proc.pid
            rss_before = rss_kb(pid)
            # The load tool's own exit-time leaks are not the host's (whose
            # leaks LeakSanitizer checks when it stops).
            env = dict(os.environ, ASAN_OPTIONS="detect_leaks=0")
            p = subprocess.run([ACKBENCH, "-p", str(d.port), "-s", SECRET, "-n", str(self.N),
                                "-c", str(self.CONNECTIONS), "-t", "help"],
                               capture_output=True, text=True, timeout=240, env=env)
            out = p.stdout
            print(out, flush=True)
            self.assertEqual(p.returncode, 0, out + p.stderr)
            nums = {k: float(v) for k, v in re.findall(r"([\w.]+)=([\d.]+)", out)}
            queued, busy, dup = int(nums["queued"]), int(nums["busy"]), int(nums["duplicate"])

            # Every request answered, none dropped, none other than 200.
            self.assertEqual(nums["errors"], 0, "transport errors")
            self.assertEqual(nums["requests"], self.N)
            self.assertEqual(nums["2xx"], self.N)
            self.assertEqual(nums["other"], 0, "ack kinds other than queued/busy/duplicate")
            self.assertEqual(queued + busy + dup, self.N)
            self.assertGreater(queued, 0)
            # Within Slack's 3-second window, every one of them.
            self.assertLess(nums["max"], 3e6, "slowest ack (us)")

            # The host is alive and its books agree with the client's.
            self.assertEqual(d.request("GET", "/healthz")[:1], (200,))
            hwm, rss_after = rss_kb(pid, "VmHWM"), rss_kb(pid)
            wait_until(lambda: d.metrics()["slashd_response_pending"] == 0, 30, "replies to settle")
            m = d.metrics()
            self.assertEqual(m['slashd_acks_total{kind="queued"}'], queued)
            self.assertEqual(m['slashd_acks_total{kind="busy"}'], busy)
            self.assertEqual(m['slashd_jobs_total{outcome="ok"}'], queued)
            self.assertEqual(m['slashd_response_posts_total{outcome="ok"}'], queued)
            self.assertEqual(m['slashd_response_posts_total{outcome="failed"}'], 0)
            self.assertEqual(m["slashd_worker_restarts_total"], 0)
            self.assertEqual(m["slashd_journal_open"], 0)
            self.assertEqual(m["slashd_queue_depth"], 0)
            # The client saw one final reply per queued command...
            self.assertEqual(int(nums["final"]), queued)
            self.assertEqual(int(nums["received"]), queued)
            asan = sanitized(pid)
            figures("burst", requests=self.N, connections=self.CONNECTIONS,
                    rps="%.0f" % nums["rps"], ack_p50_ms="%.1f" % (nums["p50"] / 1000),
                    ack_p99_ms="%.1f" % (nums["p99"] / 1000), ack_max_ms="%.1f" % (nums["max"] / 1000),
                    queued=queued, busy=busy, rss_before_kb=rss_before, rss_after_kb=rss_after,
                    rss_peak_kb=hwm, sanitizer=asan)
            if asan:
                # ASan keeps up to 256 MiB of freed memory in quarantine by
                # design; LeakSanitizer checks leaks when the host stops.
                # TSan's shadow memory is several times the program's own.
                print("RSS bound not checked: sanitizer build", flush=True)
            else:
                self.assertLess(hwm, self.RSS_LIMIT_KB, "main process peak RSS (KiB)")
        finally:
            self.assertEqual(d.stop(), 0)
        # ...and the host posted exactly one final reply for each job it
        # accepted, none failed.
        log = d.read_log()
        accepted = {e["req"] for e in events(log, "accepted")}
        finals = {}
        for e in events(log, "reply_posted"):
            if e.get("final") == "true":
                finals[e["req"]] = finals.get(e["req"], 0) + 1
        self.assertEqual(len(accepted), queued)
        self.assertEqual(set(finals), accepted)
        self.assertEqual(set(finals.values()), {1})
        self.assertEqual(events(log, "reply_failed"), [])


# ---- slow clients ----------------------------------------------------------

class SlowClient(threading.Thread):
    """One slowloris connection: sends a request's start, then one byte every
    `every` seconds for at most `for_s` seconds, and records when the server
    closed it (None if it never did)."""

    HEAD = b"POST /slack/commands HTTP/1.1\r\nHost: 127.0.0.1\r\n"

    def __init__(self, port, kind, every=0.25, for_s=8.0):
        super().__init__(daemon=True)
        self.port, self.kind, self.every, self.for_s = port, kind, every, for_s
        self.closed_after = None
        self.sent = 0

    def run(self):
        s = socket.create_connection(("127.0.0.1", self.port))
        t0 = time.monotonic()
        if self.kind == "headers":
            s.sendall(self.HEAD)
            drip = b"X-Slow: " + b"a" * 4000
        elif self.kind == "body":
            s.sendall(self.HEAD + b"Content-Type: application/x-www-form-urlencoded\r\n"
                      b"Content-Length: 4000\r\n\r\n")
            drip = b"a" * 4000
        else:  # "stalled": half a request line, then nothing
            s.sendall(b"POST /slack/comm")
            drip = b""
        s.settimeout(self.every)
        while time.monotonic() - t0 < self.for_s:
            try:
                if s.recv(4096) == b"":
                    self.closed_after = time.monotonic() - t0
                    break
            except socket.timeout:
                pass
            except OSError:
                self.closed_after = time.monotonic() - t0
                break
            if drip:
                try:
                    s.send(drip[self.sent:self.sent + 1])
                    self.sent += 1
                except OSError:
                    self.closed_after = time.monotonic() - t0
                    break
        s.close()


class SlowClients(unittest.TestCase):
    """Clients that dribble headers or a body (or stall) neither delay a
    normal client nor keep their connection past connection_timeout."""

    TIMEOUT = 2  # [server] connection_timeout for these tests

    def setUp(self):
        self.sink = Sink()

    def tearDown(self):
        self.sink.close()

    def normal_acks(self, d, until, pause=0.1):
        """Signed commands, one after another, while `until()` is false."""
        lat, n = [], 0
        while not until():
            t0 = time.monotonic()
            status, hdrs, ack = d.slash("good echo normal %d" % n, user_id="U0NORMAL%d" % n)
            lat.append(time.monotonic() - t0)
            self.assertEqual(status, 200, ack)
            self.assertIn("x-slashd-request-id", hdrs, ack)
            self.sink.wait_final(hdrs["x-slashd-request-id"], timeout=10)
            n += 1
            time.sleep(pause)
        return lat

    def test_slowloris_does_not_delay_others(self):
        d = Daemon(self.sink, server={"connection_timeout": str(self.TIMEOUT),
                                      "log_level": "info"}).start()
        try:
            slow = ([SlowClient(d.port, "headers") for _ in range(60)]
                    + [SlowClient(d.port, "body") for _ in range(60)]
                    + [SlowClient(d.port, "stalled") for _ in range(30)])
            for c in slow:
                c.start()
            time.sleep(0.2)
            lat = self.normal_acks(d, lambda: not any(c.is_alive() for c in slow))
            for c in slow:
                c.join()
            closed = [c.closed_after for c in slow]
            figures("slowloris", slow_clients=len(slow), dribble_every_s=0.25,
                    connection_timeout_s=self.TIMEOUT, normal_acks=len(lat),
                    normal_ack_max_ms="%.1f" % (max(lat) * 1000),
                    normal_ack_median_ms="%.1f" % (sorted(lat)[len(lat) // 2] * 1000),
                    slow_closed_after_s="%.2f-%.2f" % (min(x or 99 for x in closed),
                                                      max(x or 99 for x in closed)))
            # The normal client was never held up: every ack far below the
            # 8 s the slow clients were willing to go on for.
            self.assertGreater(len(lat), 10)
            self.assertLess(max(lat), 1.0, "slowest normal ack (s)")
            # Every slow connection was closed by the host, the dribbling
            # ones too (an idle timeout alone never closes them), at the
            # deadline and not before.
            for c in slow:
                with self.subTest(kind=c.kind):
                    self.assertIsNotNone(c.closed_after, "%s client never closed" % c.kind)
                    self.assertGreaterEqual(c.closed_after, self.TIMEOUT - 0.3)
                    self.assertLess(c.closed_after, self.TIMEOUT + 2.0)
            self.assertTrue(all(c.sent > 0 for c in slow if c.kind != "stalled"))
            self.assertEqual(d.request("GET", "/healthz")[0], 200)
        finally:
            self.assertEqual(d.stop(), 0)
        self.assertTrue(events(d.read_log(), "slow_clients_closed"))

    def test_slots_taken_by_slow_clients_come_back(self):
        # More slow clients than connection slots: a normal client waits for
        # a slot, but only until the slow ones' deadline frees them, never
        # for as long as they would go on.
        d = Daemon(self.sink, server={"connection_timeout": str(self.TIMEOUT),
                                      "connection_limit": "16", "log_level": "info"}).start()
        try:
            slow = [SlowClient(d.port, "headers", for_s=12.0) for _ in range(24)]
            for c in slow:
                c.start()
            time.sleep(0.3)
            t0 = time.monotonic()
            status, hdrs, ack = d.slash("good echo waited", user_id="U0WAITED")
            waited = time.monotonic() - t0
            self.assertEqual(status, 200, ack)
            self.assertEqual(self.sink.wait_final(hdrs["x-slashd-request-id"])[-1]["text"], "waited")
            for c in slow:
                c.join()
            figures("slowloris_slots_full", connection_limit=16, slow_clients=len(slow),
                    normal_ack_s="%.2f" % waited)
            self.assertLess(waited, 2 * self.TIMEOUT + 1.5, "normal ack while slots were full (s)")
            self.assertTrue(all(c.closed_after is not None for c in slow))
            self.assertTrue(all(c.closed_after < 3 * self.TIMEOUT + 2 for c in slow))
        finally:
            self.assertEqual(d.stop(), 0)


# ---- response_url faults ---------------------------------------------------

class ResponseUrl(unittest.TestCase):
    """response_url down, erroring, slow or hanging: retries with backoff,
    then a logged give-up; workers keep running other commands; nothing piles
    up."""

    def setUp(self):
        self.sink = Sink()
        # Any loopback port: the broken hosts below live on their own ports.
        self.d = Daemon(self.sink, server={"workers": "2", "log_level": "info"},
                        slack={"response_hosts": "127.0.0.1"}).start()

    def tearDown(self):
        rc = self.d.stop()
        self.sink.close()
        self.assertEqual(rc, 0)

    def ask(self, text, user, url=None):
        status, hdrs, ack = self.d.slash(text, user_id=user, response_url=url)
        self.assertEqual(status, 200, ack)
        self.assertIn("x-slashd-request-id", hdrs, ack)
        return hdrs["x-slashd-request-id"]

    alive = 0

    def assert_others_run(self, n=3, within=3.0):
        """Commands to the healthy sink still run and are answered promptly."""
        for i in range(n):
            t0 = time.monotonic()
            # A user of its own each time, or dedupe would answer "already
            # running" within [server] dedupe_seconds.
            ResponseUrl.alive += 1
            rid = self.ask("good echo alive %d" % i, "U0ALIVE%d" % ResponseUrl.alive)
            self.assertEqual(self.sink.wait_final(rid, timeout=within)[-1]["text"], "alive %d" % i)
            self.assertLess(time.monotonic() - t0, within)

    def failed_event(self, rid, timeout):
        return wait_until(lambda: [e for e in events(self.d.read_log(), "reply_failed")
                                   if e["req"] == rid], timeout, "reply_failed for %s" % rid)[0]

    def test_down(self):
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        closed_port = s.getsockname()[1]
        s.close()  # nothing listens there now: connection refused
        t0 = time.monotonic()
        rid = self.ask("good echo into the void", "U0DOWN",
                       url="http://127.0.0.1:%d/hooks/down" % closed_port)
        self.assert_others_run()
        e = self.failed_event(rid, 30)
        gave_up = time.monotonic() - t0
        self.assertEqual(e["attempts"], "5")
        retries = [r for r in events(self.d.read_log(), "reply_retry") if r["req"] == rid]
        delays = [int(r["delay_ms"]) for r in retries]
        self.assertEqual(len(retries), 4)
        self.assertEqual(delays, sorted(delays), "backoff grows")
        self.assertGreaterEqual(delays[-1], 4000)
        self.assertGreaterEqual(gave_up, sum(delays) / 1000.0 - 0.1)
        m = self.d.metrics()
        self.assertGreaterEqual(m['slashd_response_posts_total{outcome="retried"}'], 4)
        self.assertEqual(m['slashd_response_posts_total{outcome="failed"}'], 1)
        self.assertEqual(m["slashd_response_pending"], 0)
        self.assertEqual(m["slashd_journal_open"], 0)
        figures("response_url_down", attempts=e["attempts"], backoff_ms="+".join(map(str, delays)),
                gave_up_after_s="%.1f" % gave_up)

    def test_erroring(self):
        self.sink.fail_next, self.sink.fail_status = 1000, 503
        rid = self.ask("good echo unlucky", "U0ERR")
        e = self.failed_event(rid, 30)
        self.assertEqual((e["attempts"], e["status"]), ("5", "503"))
        self.assertEqual(sum(1 for m in self.sink.messages if m["failed"]), 5)
        self.sink.fail_next = 0
        self.assert_others_run()
        wait_until(lambda: self.d.metrics()["slashd_response_pending"] == 0, 5, "pending 0")

    def test_slow_sink_does_not_hold_workers(self):
        self.sink.delay = 1.5
        before = metric(self.d, 'slashd_jobs_total{outcome="ok"}')
        rids = [self.ask("good echo slow %d" % i, "U0SLOW%d" % i) for i in range(6)]
        # The jobs are done long before their replies arrive.
        def all_done():
            m = self.d.metrics()
            if m['slashd_jobs_total{outcome="ok"}'] != before + 6:
                return None
            delivered = sum(1 for msg in self.sink.messages if not msg["failed"])
            return (delivered, m["slashd_response_pending"])

        delivered, pending = wait_until(all_done, 1.4, "jobs to finish while their replies are on the way")
        self.assertEqual(delivered, 0)
        self.assertEqual(pending, 6)
        for i, rid in enumerate(rids):
            self.assertEqual(self.sink.wait_final(rid, timeout=10)[-1]["text"], "slow %d" % i)
        self.assertEqual(metric(self.d, 'slashd_response_posts_total{outcome="retried"}'), 0)
        wait_until(lambda: self.d.metrics()["slashd_response_pending"] == 0, 5, "pending 0")

    def test_hanging_host_no_pile_up(self):
        # A host that takes connections and never answers: each attempt runs
        # into the 10 s transfer timeout. First more jobs than the
        # responder's 64 connections per host, then more replies than it
        # lets wait (1,024).
        hole = Blackhole()
        pid = self.d.proc.pid
        try:
            t0 = time.monotonic()
            rids = [self.ask("good echo hole %d" % i, "U0HOLE%d" % i, url=hole.url()) for i in range(150)]
            wait_until(lambda: metric(self.d, 'slashd_jobs_total{outcome="ok"}') >= 150, 10,
                       "the jobs to finish")
            # While the host hangs: workers run other commands, replies to
            # the healthy sink go out, descriptors stay bounded.
            fds_peak = 0
            while time.monotonic() - t0 < 10:
                self.assert_others_run(n=1)
                fds_peak = max(fds_peak, open_fds(pid))
                time.sleep(0.5)
            self.assertEqual(metric(self.d, "slashd_queue_depth"), 0)
            self.assertLessEqual(hole.max_open, 64, "connections held open to one host")
            self.assertLess(fds_peak, 64 + 64, "descriptors of the main process")

            # More, until the host says busy rather than let replies pile up.
            busy = None
            queue_full = 0
            for i in range(150, 1400 + 200):
                status, hdrs, ack = self.d.slash("good echo hole %d" % i, user_id="U0HOLE%d" % i,
                                                 response_url=hole.url())
                self.assertEqual(status, 200)
                if "x-slashd-request-id" in hdrs:
                    rids.append(hdrs["x-slashd-request-id"])
                elif "commands waiting" in ack["text"] and queue_full < 200:
                    # The job queue (16) filled first: on a loaded host the
                    # two workers can fall behind this one sender (a CI run
                    # under load said busy after 388 replies). That limit is
                    # not the one under test: let the queue empty, go on.
                    queue_full += 1
                    wait_until(lambda: metric(self.d, "slashd_queue_depth") == 0, 10,
                               "the job queue to empty")
                elif "busy" in ack["text"]:
                    busy = ack["text"]
                    break
                else:
                    self.fail(ack)
            self.assertIsNotNone(busy, "never answered busy")
            self.assertIn("replies waiting to be sent", busy)
            self.assertGreaterEqual(len(rids), 1024 - 16 - 2)
            backlog = metric(self.d, "slashd_response_pending")
            # What was already queued or running may still add its reply.
            self.assertLessEqual(backlog, 1024 + 5 * (16 + 2))
            self.assertEqual(self.d.request("GET", "/healthz")[0], 200)
            rss_full = rss_kb(pid)
            fds_peak = max(fds_peak, open_fds(pid))

            # Retries run out (5 attempts of at most 10 s, plus backoff) and
            # every one is logged as given up; nothing is left behind, and
            # commands are taken again.
            wait_until(lambda: metric(self.d, "slashd_response_pending") == 0, 120,
                       "the hanging host's replies to be given up")
            gave_up = time.monotonic() - t0
            failed = {e["req"]: e for e in events(self.d.read_log(), "reply_failed")}
            self.assertEqual(set(rids) - set(failed), set())
            self.assertTrue(all(failed[r]["msg"].startswith("Timeout") for r in rids))
            self.assertEqual(metric(self.d, "slashd_journal_open"), 0)
            self.assertLessEqual(hole.max_open, 64, "connections held open to one host")
            self.assertLess(fds_peak, 64 + 64, "descriptors of the main process")
            self.assert_others_run()
            figures("response_url_hanging", jobs=len(rids), max_connections_to_host=hole.max_open,
                    main_fds_peak=fds_peak, backlog_at_busy=int(backlog),
                    rss_at_full_backlog_kb=rss_full, all_given_up_after_s="%.1f" % gave_up)
        finally:
            hole.close()


# ---- AWS faults ------------------------------------------------------------

MAPPED = "U012AB3CD"


class AwsFaults(unittest.TestCase):
    """Real commands against a fake AWS that fails: users are told in words,
    and the workers are free for the next command."""

    @classmethod
    def setUpClass(cls):
        cls.fake = FakeAws()
        cls.sink = Sink()
        secs = {
            "aws": {"region": "us-east-1", "timeout": "2", "connect_timeout": "2"},
            "identity": {"mode": "map", "session_duration": "900"},
            "identity.users": {MAPPED: role("ops-admin")},
            "plugin.ec2": {"enabled": "true", "poll_seconds": "1", "page_size": "5"},
            "plugin.s3": {"enabled": "true"},
        }
        cls.d = Daemon(cls.sink, server={"workers": "2", "job_timeout": "30"}, plugins=("help",),
                       fixtures=(), sections=secs, env=cls.fake.env()).start()

    @classmethod
    def tearDownClass(cls):
        rc = cls.d.stop()
        cls.sink.close()
        cls.fake.close()
        assert rc == 0, rc

    def setUp(self):
        self.fake.reset(state=True)
        self.fake.scenario({"faults": []})
        self.restarts = metric(self.d, "slashd_worker_restarts_total")

    def tearDown(self):
        self.fake.scenario({"faults": []})
        # No fault here ever costs a worker.
        self.assertEqual(metric(self.d, "slashd_worker_restarts_total"), self.restarts)

    n = 0

    def ask(self, text, user=None, timeout=40):
        # A user of its own each time: the same command from the same user
        # within [server] dedupe_seconds would be answered "already running".
        AwsFaults.n += 1
        status, hdrs, ack = self.d.slash(text, user_id=user or "U0AWS%d" % AwsFaults.n)
        self.assertEqual(status, 200, ack)
        self.assertIn("x-slashd-request-id", hdrs, ack)
        return self.sink.wait_final(hdrs["x-slashd-request-id"], timeout=timeout)

    def assert_works(self):
        msgs = self.ask("ec2 list")
        self.assertFalse(msgs[-1]["error"], msgs[-1]["text"])
        self.assertTrue(msgs[-1]["text"].startswith("9 instances:"))

    def test_persistent_500s(self):
        self.fake.scenario({"faults": [{"service": "s3", "action": "*", "count": 1000,
                                        "kind": "internal"}]})
        msgs = self.ask("s3 list")
        self.assertTrue(msgs[-1]["error"])
        self.assertRegex(msgs[-1]["text"], r"^Could not list the buckets: InternalError: .+"
                                           r"\(after 4 attempts\)")
        self.assertEqual(len(self.fake.calls("s3")), 4)
        self.assert_works()

    def test_persistent_throttling(self):
        self.fake.scenario({"faults": [{"service": "ec2", "action": "DescribeInstances",
                                        "count": 1000, "kind": "throttle"}]})
        msgs = self.ask("ec2 list")
        self.assertTrue(msgs[-1]["error"])
        self.assertIn("Could not list the instances: RequestLimitExceeded", msgs[-1]["text"])
        self.fake.scenario({"faults": []})
        self.assert_works()

    def test_throttling_then_success(self):
        self.fake.scenario({"faults": [{"service": "ec2", "action": "DescribeInstances", "count": 2,
                                        "kind": "throttle"}]})
        msgs = self.ask("ec2 list")
        self.assertFalse(msgs[-1]["error"], msgs[-1]["text"])
        self.assertTrue(msgs[-1]["text"].startswith("9 instances:"))
        self.assertEqual([c["status"] for c in self.fake.calls("ec2", "DescribeInstances")][:3],
                         [503, 503, 200])

    def test_aws_slower_than_its_timeout(self):
        # Every DescribeInstances hangs 5 s; [aws] timeout is 2 s, 4 attempts.
        self.fake.scenario({"faults": [{"service": "ec2", "action": "DescribeInstances",
                                        "count": 1000, "kind": "delay", "delay_seconds": 5}]})
        t0 = time.monotonic()
        status, hdrs, _ = self.d.slash("ec2 list", user_id="U0AWSSLOW")
        rid = hdrs["x-slashd-request-id"]
        # Meanwhile the other worker serves someone else.
        msgs = self.ask("s3 list", user="U0OTHER")
        self.assertFalse(msgs[-1]["error"], msgs[-1]["text"])
        self.assertLess(time.monotonic() - t0, 3)
        msgs = self.sink.wait_final(rid, timeout=40)
        took = time.monotonic() - t0
        self.assertTrue(msgs[-1]["error"])
        self.assertRegex(msgs[-1]["text"], r"Could not list the instances: could not reach "
                                           r"127\.0\.0\.1:\d+: timed out after 2 s \(after 4 attempts\)")
        self.assertLess(took, 30, "told before job_timeout")
        # The fake answers (and logs) each abandoned attempt once its 5 s are
        # up; let them all land here rather than in the next test's call log.
        wait_until(lambda: len(self.fake.calls("ec2", "DescribeInstances")) >= 4, 10,
                   "the fake to finish the 4 delayed calls")
        self.fake.scenario({"faults": []})
        self.assert_works()
        figures("aws_timeout", aws_timeout_s=2, attempts=4, user_told_after_s="%.1f" % took)


class AwsHangsPastJobTimeout(unittest.TestCase):
    """An AWS call that outlasts job_timeout: the job is stopped, its user
    told, the worker replaced, and the next command runs."""

    def test_job_timeout(self):
        fake = FakeAws()
        sink = Sink()
        secs = {"aws": {"region": "us-east-1", "timeout": "30", "max_attempts": "1"},
                "plugin.ec2": {"enabled": "true"}, "plugin.s3": {"enabled": "true"}}
        d = Daemon(sink, server={"workers": "1", "job_timeout": "3"}, plugins=("help",),
                   fixtures=(), sections=secs, env=fake.env()).start()
        try:
            fake.scenario({"faults": [{"service": "ec2", "action": "*", "count": 1,
                                       "kind": "delay", "delay_seconds": 10}]})
            t0 = time.monotonic()
            _, hdrs, _ = d.slash("ec2 list", user_id="U0SLOW")
            msgs = sink.wait_final(hdrs["x-slashd-request-id"], timeout=20)
            took = time.monotonic() - t0
            self.assertTrue(msgs[-1]["error"])
            self.assertIn("ran longer than the 3 s limit and was stopped", msgs[-1]["text"])
            self.assertLess(took, 6)
            _, hdrs, _ = d.slash("ec2 list", user_id="U0NEXT")
            msgs = sink.wait_final(hdrs["x-slashd-request-id"], timeout=20)
            self.assertTrue(msgs[-1]["text"].startswith("9 instances:"), msgs[-1]["text"])
            m = d.metrics()
            self.assertEqual(m['slashd_jobs_total{outcome="timeout"}'], 1)
            self.assertEqual(m["slashd_worker_restarts_total"], 1)
        finally:
            rc = d.stop()
            sink.close()
            fake.close()
        self.assertEqual(rc, 0)


# ---- a worker killed -------------------------------------------------------

class WorkerKill(unittest.TestCase):
    def test_sigkill_mid_job(self):
        sink = Sink()
        d = Daemon(sink, server={"workers": "2", "job_timeout": "30"}).start()
        try:
            pid = d.proc.pid
            kids = wait_until(lambda: len(workers(pid)) == 2 and workers(pid), 10, "2 workers")
            _, h1, _ = d.slash("good sleep 3", user_id="U0K1")
            _, h2, _ = d.slash("good sleep 3", user_id="U0K2")
            rids = [h1["x-slashd-request-id"], h2["x-slashd-request-id"]]
            # Both jobs running: each sent its interim "sleeping".
            wait_until(lambda: all(sink.for_request(r) for r in rids), 10, "both jobs to start")
            self.assertEqual(d.metrics()['slashd_workers{state="busy"}'], 2)
            victim = kids[0]
            os.kill(victim, signal.SIGKILL)
            finals = [sink.wait_final(r, timeout=15)[-1] for r in rids]
            crashed = [m for m in finals if m["error"]]
            fine = [m for m in finals if not m["error"]]
            # The killed job's user is told; the other job is untouched.
            self.assertEqual(len(crashed), 1, finals)
            self.assertIn("failed: the command crashed (signal 9, Killed)", crashed[0]["text"])
            self.assertIn("You can run it again", crashed[0]["text"])
            self.assertEqual(fine[0]["text"], "woke up")
            # The worker is replaced, and the next commands run.
            now = wait_until(lambda: len(workers(pid)) == 2 and workers(pid), 10,
                             "a replacement worker")
            self.assertNotIn(victim, now)
            for i in range(3):
                _, h, _ = d.slash("good echo after %d" % i, user_id="U0K3")
                self.assertEqual(sink.wait_final(h["x-slashd-request-id"])[-1]["text"], "after %d" % i)
            m = d.metrics()
            self.assertEqual(m["slashd_worker_restarts_total"], 1)
            self.assertEqual(m['slashd_jobs_total{outcome="crashed"}'], 1)
            # (the last reply's own settling can trail the sink's record of it)
            wait_until(lambda: d.metrics()["slashd_journal_open"] == 0, 5, "no open jobs")
            died = events(d.read_log(), "worker_died")
            self.assertEqual([(e["pid"], e["how"]) for e in died], [(str(victim), "signal 9, Killed")])
        finally:
            rc = d.stop()
            sink.close()
        self.assertEqual(rc, 0)

    def test_sigkill_idle_worker(self):
        sink = Sink()
        d = Daemon(sink, server={"workers": "1"}).start()
        try:
            pid = d.proc.pid
            (victim,) = wait_until(lambda: workers(pid), 10, "the worker")
            os.kill(victim, signal.SIGKILL)
            wait_until(lambda: workers(pid) and workers(pid) != [victim], 10, "a replacement")
            _, h, _ = d.slash("good echo fine")
            self.assertEqual(sink.wait_final(h["x-slashd-request-id"])[-1]["text"], "fine")
            self.assertEqual(d.metrics()["slashd_worker_restarts_total"], 1)
            # Nobody had a job there: nobody is told anything.
            self.assertEqual(len(sink.messages), 1)
        finally:
            rc = d.stop()
            sink.close()
        self.assertEqual(rc, 0)


if __name__ == "__main__":
    unittest.main(verbosity=2)
