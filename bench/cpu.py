#!/usr/bin/env python3
"""bench/cpu.py — CPU per request of slashd builds, side by side (A B A B …).

    bench/cpu.py BUILD_DIR [BUILD_DIR ...]      e.g. /tmp/base/build-bench build-bench
    ROUNDS=4 WRK_SECONDS=3 HELP_N=6000 HELP_RATE=2000 E2E_N=300 bench/cpu.py A B

Wall-clock throughput on a shared machine moves with whatever else runs;
the CPU time the server spends per request moves far less. So this measures,
for each build and each round, with the server (and its workers) pinned to
CPU 0 and the client on CPU 1:

  nosuch   wrk, WRK_SECONDS of unknown commands over 64 keep-alive
           connections (closed loop, bench/slash.lua, as bench/run): the pure
           ack path. CPU per ack, the server core's and wrk's core's busy
           share, requests/s (the last ones only as steady as the machine).
  help     HELP_N `/aws help` at HELP_RATE/s over 64 connections (open loop,
           below saturation so every one is queued and none is "busy"): the
           whole job — ack, journal, IPC, plugin, response_url POST. CPU per
           job, counted until the last reply reached the sink and the server
           went idle.
  (SERVER_INI="http_threads = 1;connection_limit = 512" adds [server] lines.)
  burst    wrk, WRK_SECONDS of `/aws help` over 64 connections: jobs queue up
           and, past the queue, are answered "busy". CPU per completed job
           (the busy acks charged at the unknown command's CPU per ack) and
           completed jobs/s, until the last reply reached the sink.
  e2e      E2E_N `/aws help` one at a time, each waiting for its reply: the
           latency of one job alone, and its CPU (no batching possible).

CPU is the sum of /proc/<tid>/schedstat run time (ns) over every thread of
the main process and of its worker processes, before and after each run.
Prints one line per run and a table of means with the half-range between
rounds (the noise) at the end.
"""
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

ROUNDS = int(os.environ.get("ROUNDS", "3"))
HELP_N = int(os.environ.get("HELP_N", "6000"))
HELP_RATE = float(os.environ.get("HELP_RATE", "2000"))
E2E_N = int(os.environ.get("E2E_N", "300"))
SINK_PORT = 0
PIN = os.environ.get("PIN", "1") == "1"
SRV = ["taskset", "-c", "0"] if PIN else []
CLI = ["taskset", "-c", "1"] if PIN else []

# bench/run's ini (bench/slashd.ini.in), filled in per server.
INI_TEMPLATE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "slashd.ini.in")


def bench_ini(port, state, plugins, extra=""):
    with open(INI_TEMPLATE) as f:
        text = f.read()
    for k, v in (("@PORT@", str(port)), ("@STATE_DIR@", state), ("@PLUGIN_DIR@", plugins),
                 ("@WORKERS@", "4"), ("@SERVER_EXTRA@", extra)):
        text = text.replace(k, v)
    return text


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def tree(pid):
    out = [pid]
    try:
        kids = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout
    except OSError:
        kids = ""
    for k in kids.split():
        out += tree(int(k))
    return out


def cpu_ns(pid):
    total = 0
    for p in tree(pid):
        try:
            for t in os.listdir(f"/proc/{p}/task"):
                with open(f"/proc/{p}/task/{t}/schedstat") as f:
                    total += int(f.read().split()[0])
        except OSError:
            pass
    return total


def settle(pid):
    a = cpu_ns(pid)
    for _ in range(150):
        time.sleep(0.2)
        b = cpu_ns(pid)
        if b - a < 2_000_000:  # under 1 % of a core over 0.2 s
            return
        a = b


ACKBENCH = os.environ.get("ACKBENCH", "")


def ackbench(build, port, args):
    # One client binary for every build compared (ACKBENCH, or the last build's).
    cmd = CLI + [ACKBENCH or f"{build}/bench/ackbench", "-p", str(port), "-s", os.environ["BENCH_SECRET"]]
    r = subprocess.run(cmd + args, capture_output=True, text=True)
    return r.stdout


ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
WRK_SECONDS = int(os.environ.get("WRK_SECONDS", "3"))


def wrk(port, text):
    """A wrk burst of WRK_SECONDS over 64 connections, as bench/run runs it.
    Returns bench/slash.lua's counts and wrk's own CPU seconds."""
    with tempfile.NamedTemporaryFile("r", suffix=".wrk") as out:
        env = dict(os.environ, BENCH_TEXT=text, BENCH_NONCE=secrets.token_hex(4),
                   BENCH_SINK=f"http://127.0.0.1:{SINK_PORT}/hook", BENCH_OUT=out.name)
        r0 = os.times()
        subprocess.run(CLI + ["wrk", "-t1", "-c64", f"-d{WRK_SECONDS}s", "--timeout", "10s",
                              "-s", os.path.join(ROOT, "bench/slash.lua"),
                              f"http://127.0.0.1:{port}/slack/commands"],
                       env=env, capture_output=True, check=True)
        r1 = os.times()
        res = {}
        for line in out.read().splitlines():
            k, _, v = line.partition(" ")
            try:
                res[k] = float(v)
            except ValueError:
                pass
    res["client_cpu_s"] = (r1.children_user - r0.children_user) + (r1.children_system -
                                                                   r0.children_system)
    return res


def field(out, name):
    m = re.search(r"\b" + re.escape(name) + r"=([0-9.]+)", out)
    return float(m.group(1)) if m else float("nan")


class Server:
    def __init__(self, build, work):
        self.build = build
        self.port = free_port()
        self.state = tempfile.mkdtemp(dir=work)
        self.ini = os.path.join(self.state, "slashd.ini")
        with open(self.ini, "w") as f:
            f.write(bench_ini(self.port, self.state, os.path.join(os.path.abspath(build), "plugins"),
                              os.environ.get("SERVER_INI", "").replace(";", "\n")))
        self.log = open(os.path.join(self.state, "log"), "w")
        self.proc = subprocess.Popen(SRV + [f"{build}/slashd", "serve", "-c", self.ini],
                                     stderr=self.log, stdout=subprocess.DEVNULL)
        for _ in range(400):
            if "requests=1 " in ackbench(build, self.port, ["-n", "1", "-t", "nosuch"]):
                break
            time.sleep(0.05)
        else:
            raise SystemExit(f"{build}: server did not come up")
        self.pid = self.proc.pid

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(timeout=30)
        self.log.close()
        shutil.rmtree(self.state, ignore_errors=True)


def run_one(build, work):
    s = Server(build, work)
    res = {}
    try:
        ackbench(build, s.port, ["-n", "5000", "-c", "16", "-t", "nosuch"])  # warm-up
        settle(s.pid)

        c0, t0 = cpu_ns(s.pid), time.monotonic()
        w = wrk(s.port, "nosuch")
        c1, t1 = cpu_ns(s.pid), time.monotonic()
        res["nosuch_us"] = (c1 - c0) / 1e3 / w["requests"]
        res["nosuch_busy"] = 100.0 * (c1 - c0) / 1e9 / (t1 - t0)
        res["nosuch_rps"] = w["rps"]
        res["nosuch_p99_ms"] = w.get("lat_p99_us", float("nan")) / 1e3
        res["nosuch_client_busy"] = 100.0 * w["client_cpu_s"] / (t1 - t0)
        settle(s.pid)

        c0 = cpu_ns(s.pid)
        out = ackbench(build, s.port, ["-n", str(HELP_N), "-c", "64", "-t", "help",
                                       "-r", str(HELP_RATE)])
        settle(s.pid)
        c1 = cpu_ns(s.pid)
        q = field(out, "queued")
        if q != HELP_N:
            print(f"  warning: help open loop queued {q:.0f} of {HELP_N}: {out!r}", flush=True)
        res["help_us"] = (c1 - c0) / 1e3 / field(out, "requests")
        res["help_p99_ms"] = field(out, "p99") / 1e3

        c0, t0 = cpu_ns(s.pid), time.monotonic()
        w = wrk(s.port, "help")
        settle(s.pid)
        c1, t1 = cpu_ns(s.pid), time.monotonic()
        q, busy = w["acks_queued"], w["acks_busy"]
        # A busy ack costs about what an unknown command does: the rest is
        # what the completed jobs cost.
        res["burst_us"] = (c1 - c0) / 1e3 / w["requests"]
        res["burst_job_us"] = ((c1 - c0) / 1e3 - busy * res["nosuch_us"]) / q
        res["burst_jobs_s"] = q / (t1 - t0)
        res["burst_busy_pct"] = 100.0 * busy / w["requests"]

        c0 = cpu_ns(s.pid)
        out = ackbench(build, s.port, ["-n", str(E2E_N), "-t", "help", "--e2e"])
        settle(s.pid)
        c1 = cpu_ns(s.pid)
        res["e2e_us"] = (c1 - c0) / 1e3 / field(out, "requests")
        res["e2e_p50_ms"] = field(out, "p50") / 1e3
    finally:
        s.stop()
    return res


LABELS = [
    ("nosuch_us", "unknown command c64: CPU per ack (µs)"),
    ("nosuch_busy", "unknown command c64: server core busy (%)"),
    ("nosuch_rps", "unknown command c64: requests/s"),
    ("nosuch_p99_ms", "unknown command c64: p99 ack (ms)"),
    ("nosuch_client_busy", "unknown command c64: wrk's core busy (%)"),
    ("help_us", f"help open loop {HELP_RATE:.0f}/s: CPU per job (µs)"),
    ("help_p99_ms", f"help open loop {HELP_RATE:.0f}/s: p99 ack (ms)"),
    ("burst_us", "help burst c64: CPU per request, busy acks included (µs)"),
    ("burst_job_us", "help burst c64: CPU per completed job (µs)"),
    ("burst_jobs_s", "help burst c64: completed jobs/s (until the last reply)"),
    ("burst_busy_pct", "help burst c64: acks answered busy (%)"),
    ("e2e_us", "help one at a time: CPU per job (µs)"),
    ("e2e_p50_ms", "help one at a time: end to end p50 (ms)"),
]


def main():
    global ACKBENCH
    builds = sys.argv[1:]
    if not builds:
        raise SystemExit(__doc__)
    ACKBENCH = ACKBENCH or os.path.abspath(f"{builds[-1]}/bench/ackbench")
    os.environ.setdefault("BENCH_SECRET", secrets.token_hex(32))
    os.environ.setdefault("AWS_EC2_METADATA_DISABLED", "true")
    global SINK_PORT
    sink = subprocess.Popen(CLI + [ACKBENCH, "--sink-only"], stdout=subprocess.PIPE, text=True)
    SINK_PORT = int(sink.stdout.readline().split()[1])
    work = tempfile.mkdtemp(prefix="slashd-cpu-")
    print(f"loadavg before: {open('/proc/loadavg').read().strip()}", flush=True)
    results = {b: [] for b in builds}
    for r in range(ROUNDS):
        for b in builds:
            res = run_one(b, work)
            results[b].append(res)
            print(f"round {r + 1} {b}: " + " ".join(f"{k}={v:.2f}" for k, v in res.items()),
                  flush=True)
    print(f"loadavg after: {open('/proc/loadavg').read().strip()}")
    print()
    print("| figure | " + " | ".join(builds) + " |")
    print("|---|" + "---:|" * len(builds))
    for key, label in LABELS:
        cells = []
        for b in builds:
            v = [x[key] for x in results[b]]
            mean = sum(v) / len(v)
            noise = 100.0 * (max(v) - min(v)) / 2 / mean if mean else 0.0
            cells.append(f"{mean:,.2f} ±{noise:.0f}%")
        print(f"| {label} | " + " | ".join(cells) + " |")
    sink.terminate()
    sink.wait()
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
