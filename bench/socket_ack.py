#!/usr/bin/python3
"""Socket Mode ack latency: from an envelope sent to its ack received.

Starts the fake Slack of tests/fakes/fake_slack_socket.py and `slashd serve`
in socket mode (2 connections, the help plugin, replies to a local sink),
then sends envelopes one at a time (closed loop, one in flight) and prints
p50/p90/p99/max of the time the fake measured between writing the envelope
frame and reading its ack frame. Two kinds:

  nosuch  unknown command: admission answers in the ack, nothing is queued
  help    a queued job (journal append + queue), its reply goes to the sink

The figure includes the fake's own Python/asyncio overhead on both ends, so
it is an upper bound of slashd's share (the daemon's own view is the
slashd_socket_ack_seconds histogram, printed too).

  /usr/bin/python3 bench/socket_ack.py [-n 2000] [--bin build/slashd]
"""

import argparse
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(ROOT, "tests", "fakes"))
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))


def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100.0 * (len(xs) - 1))))]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("-n", type=int, default=2000, help="envelopes per kind")
    ap.add_argument("--bin", default=os.path.join(ROOT, "build", "slashd"))
    args = ap.parse_args()
    os.environ.setdefault("SLASHD_BIN", os.path.abspath(args.bin))
    build = os.path.dirname(os.path.abspath(args.bin))
    os.environ.setdefault("SLASHD_PLUGIN_DIR", os.path.join(build, "plugins"))
    import harness  # noqa: E402  (reads the environment above)
    from fake_slack_socket import FakeSlack  # noqa: E402

    fake = FakeSlack().start()
    sink = harness.Sink()
    d = harness.Daemon(sink, secret=None, fixtures=(),
                       server={"queue": "256", "workers": "2", "log_level": "info",
                               "dedupe_seconds": "0"},
                       slack={"mode": "socket", "app_token": "env:SLACK_APP_TOKEN",
                              "api_url": fake.api_url()},
                       env={"SLACK_APP_TOKEN": fake.token}).start()
    try:
        fake.wait_connections(2)
        print("slashd socket ack latency, %d envelopes per kind, one in flight "
              "(envelope frame written -> ack frame read, by the fake)" % args.n)
        print("%-7s %8s %8s %8s %8s %8s" % ("kind", "p50 ms", "p90 ms", "p99 ms", "max ms", "n"))
        for kind in ("nosuch", "help"):
            lat = []
            for i in range(args.n):
                p = {"team_id": "T0BENCH", "user_id": "U%07d" % i, "user_name": "bench",
                     "channel_id": "C0BENCH", "command": "/aws", "text": kind,
                     "response_url": sink.url(), "api_app_id": "A0TEST"}
                eid = fake.send_envelope(p)
                a = fake.wait_ack(eid, timeout=10)
                lat.append(a["latency"] * 1000.0)
            print("%-7s %8.2f %8.2f %8.2f %8.2f %8d" % (kind, pct(lat, 50), pct(lat, 90),
                                                       pct(lat, 99), max(lat), len(lat)))
        m = d.metrics()
        count = m.get("slashd_socket_ack_seconds_count", 0)
        total = m.get("slashd_socket_ack_seconds_sum", 0)
        if count:
            print("daemon's own view: %d acks, mean %.3f ms (slashd_socket_ack_seconds)"
                  % (count, 1000.0 * total / count))
        le = sorted((float(k.split('"')[1]), v) for k, v in m.items()
                    if k.startswith("slashd_socket_ack_seconds_bucket") and "+Inf" not in k)
        for bound, v in le:
            if v >= 0.99 * count:
                print("daemon's p99 bucket: <= %g ms" % (bound * 1000))
                break
        if fake.protocol_errors:
            print("fake protocol errors:", fake.protocol_errors[:5])
    finally:
        d.stop()
        sink.close()
        fake.close()


if __name__ == "__main__":
    main()
