"""The real binary under valgrind memcheck: `slashd serve` with its spawners
(posix_spawn'ed re-executions, followed with --trace-children=yes) and the
workers they fork (each with a log of its own through %p), and
`slashd run`, `slashd send`, `slashd check-config`. A small workload through
every main path (help, fixture plugins, a crash and its replacement worker,
AWS calls against the fake AWS, refused requests, a reload, a drain), then
SIGTERM; every process's report must show 0 errors and 0 bytes definitely
lost.

Not for the sanitizer build (valgrind and ASan do not mix): CTest label
no-sanitizer, and not registered when SLASHD_SANITIZE is on.
"""

import glob
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from fakeaws import FakeAws, role  # noqa: E402
from harness import SLASHD_BIN, Daemon, Sink  # noqa: E402
from test_faults import figures  # noqa: E402

VALGRIND = os.environ.get("SLASHD_VALGRIND") or shutil.which("valgrind")
MEMCHECK = ["--tool=memcheck", "--leak-check=full", "--errors-for-leak-kinds=definite",
            "--error-exitcode=99", "--trace-children=yes", "--num-callers=30"]
MAPPED = "U012AB3CD"


def vg_cmd(logdir, name, argv):
    return [VALGRIND] + MEMCHECK + ["--log-file=%s/%s.%%p.log" % (logdir, name)] + argv


class VgDaemon(Daemon):
    """harness.Daemon, started under valgrind (one log per process)."""

    def command(self):
        self.vgdir = os.path.join(self.dir, "valgrind")
        os.makedirs(self.vgdir, exist_ok=True)
        return vg_cmd(self.vgdir, "serve", super().command())

    def start(self, timeout=120):
        return super().start(timeout)


def report(path):
    """One valgrind log: the command, errors, bytes definitely lost."""
    text = open(path, errors="replace").read()
    cmd = re.search(r"== Command: (.*)", text)
    pid = re.search(r"^==(\d+)==", text)
    ppid = re.search(r"== Parent PID: (\d+)", text)
    errors = re.search(r"ERROR SUMMARY: ([\d,]+) errors", text)
    definite = re.search(r"definitely lost: ([\d,]+) bytes in ([\d,]+) blocks", text)
    # With nothing left on the heap there is no leak summary at all.
    if not definite and "All heap blocks were freed -- no leaks are possible" in text:
        definite_bytes = 0
    else:
        definite_bytes = int(definite.group(1).replace(",", "")) if definite else None
    return {
        "file": os.path.basename(path),
        "command": cmd.group(1) if cmd else "?",
        "pid": int(pid.group(1)) if pid else None,
        "ppid": int(ppid.group(1)) if ppid else None,
        "errors": int(errors.group(1).replace(",", "")) if errors else None,
        "definitely_lost": definite_bytes,
        "text": text,
    }


class Valgrind(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        if not VALGRIND or not os.access(VALGRIND, os.X_OK):
            raise AssertionError("valgrind not found (Debian package valgrind; ./dev deps installs it)")
        cls.fake = FakeAws()

    @classmethod
    def tearDownClass(cls):
        cls.fake.close()

    def assert_clean(self, name, logdir, expect):
        """Every process's report: complete, 0 errors, 0 definitely lost."""
        reports = [report(p) for p in sorted(glob.glob(os.path.join(logdir, "*.log")))]
        # A forked worker's log repeats its spawner's command line: it is
        # the child of a `slashd spawner`.
        by_pid = {r["pid"]: r for r in reports}
        for r in reports:
            words = r["command"].split()
            r["kind"] = words[1] if len(words) > 1 else "?"
            parent = by_pid.get(r["ppid"])
            if r["kind"] == "spawner" and parent and parent["command"].split()[1:2] == ["spawner"]:
                r["kind"] = "worker"
        for r in reports:
            print("valgrind %-22s errors=%s definitely_lost=%s  %s" % (
                r["file"], r["errors"], r["definitely_lost"], r["command"]), flush=True)
        for kind, at_least in expect.items():
            n = sum(1 for r in reports if r["kind"] == kind)
            self.assertGreaterEqual(n, at_least, "valgrind reports of `slashd %s` processes" % kind)
        for r in reports:
            with self.subTest(r["file"]):
                self.assertIsNotNone(r["errors"], "no error summary (killed?):\n" + r["text"][-3000:])
                self.assertEqual(r["errors"], 0, r["text"][-12000:])
                self.assertIsNotNone(r["definitely_lost"], "no leak summary:\n" + r["text"][-3000:])
                self.assertEqual(r["definitely_lost"], 0, r["text"][-12000:])
        kinds = {}
        for r in reports:
            kinds[r["kind"]] = kinds.get(r["kind"], 0) + 1
        figures(name, processes=len(reports),
                **{k.replace("-", "_"): v for k, v in sorted(kinds.items())},
                errors=sum(r["errors"] for r in reports),
                definitely_lost_bytes=sum(r["definitely_lost"] for r in reports))
        return reports

    def secs(self):
        return {
            "aws": {"region": "us-east-1"},
            "identity": {"mode": "map", "session_duration": "900"},
            "identity.users": {MAPPED: role("ops-admin")},
            "plugin.ec2": {"enabled": "true", "poll_seconds": "1", "page_size": "5"},
            "plugin.s3": {"enabled": "true", "page_size": "2"},
        }

    def test_serve_and_workers(self):
        self.fake.reset(state=True)
        sink = Sink()
        d = VgDaemon(sink, server={"workers": "2", "job_timeout": "60", "drain_seconds": "30"},
                     slack={"response_hosts": "127.0.0.1"}, plugins=("help",),
                     fixtures=("good", "crash"), sections=self.secs(), env=self.fake.env())
        d.start()
        try:
            def ask(text, user="U0VG", **kw):
                status, hdrs, ack = d.slash(text, user_id=user, **kw)
                self.assertEqual(status, 200, ack)
                self.assertIn("x-slashd-request-id", hdrs, ack)
                return sink.wait_final(hdrs["x-slashd-request-id"], timeout=90)

            self.assertIn("/aws ec2 list", ask("help")[-1]["text"])
            self.assertEqual(ask("good echo under valgrind")[-1]["text"], "under valgrind")
            self.assertEqual(len(ask("good interim")), 4)
            self.assertTrue(ask("good fail")[-1]["error"])
            self.assertIn("crashed", ask("crash")[-1]["text"])
            self.assertTrue(ask("ec2 list")[-1]["text"].startswith("9 instances:"))
            self.assertIn("is stopped", ask("ec2 stop i-0a1b2c3d4e5f00001", user=MAPPED)[-1]["text"])
            self.assertIn("5.00 GiB", ask("s3 usage slashd-logs")[-1]["text"])
            self.fake.scenario({"faults": [{"service": "s3", "action": "*", "count": 4,
                                            "kind": "internal"}]})
            self.assertTrue(ask("s3 list")[-1]["error"])
            # Refused requests, the other endpoints, a reply refused with 404.
            self.assertEqual(d.slash("help", secret="wrong")[0], 401)
            self.assertEqual(d.slash("", body=d.form("good echo " + "x" * 20000))[0], 413)
            self.assertEqual(d.request("GET", "/healthz")[0], 200)
            self.assertIn("slashd_jobs_total", str(d.metrics()))
            self.assertEqual(d.request("GET", "/nope")[0], 404)
            sink.fail_next, sink.fail_status = 1, 404
            d.slash("good echo refused", user_id="U0VG404")
            time.sleep(2)
            # `slashd send` against it, also under valgrind.
            rc, out = self.run_vg(d, "send", ["send", "-c", d.config, "--url",
                                              "http://127.0.0.1:%d/slack/commands" % d.port, "help"])
            self.assertEqual(rc, 0, out)
            # A reload: new workers for the new generation.
            d.proc.send_signal(signal.SIGHUP)
            deadline = time.monotonic() + 60
            while "event=reloaded" not in d.read_log() and time.monotonic() < deadline:
                time.sleep(0.2)
            self.assertIn("event=reloaded", d.read_log())
            self.assertEqual(ask("good echo after reload", user="U0VG2")[-1]["text"], "after reload")
            # Stop while a job runs: the drain lets it finish.
            status, hdrs, _ = d.slash("good sleep 1", user_id="U0VG3")
            rid = hdrs["x-slashd-request-id"]
            time.sleep(0.5)
        finally:
            rc = d.stop(timeout=180)
            sink.close()
        self.assertEqual(rc, 0, d.read_log()[-3000:])
        self.assertEqual(sink.for_request(rid)[-1]["text"], "woke up")
        # main, a spawner for each generation; two workers, the one
        # replacing the crashed worker, the two of the reloaded generation.
        reports = self.assert_clean("valgrind_serve", d.vgdir,
                                    {"serve": 1, "spawner": 2, "worker": 5})
        self.assertTrue(any(r["kind"] == "worker" and "signal 11" in r["text"] for r in reports),
                        "the crashed worker's report")

    def run_vg(self, d, name, argv, timeout=180):
        p = subprocess.run(vg_cmd(d.vgdir, name, [SLASHD_BIN] + argv), capture_output=True,
                           text=True, timeout=timeout, env=d.env)
        return p.returncode, p.stdout + p.stderr

    def test_run_and_check_config(self):
        self.fake.reset(state=True)
        d = Daemon(None, plugins=("help",), fixtures=("good",), sections=self.secs(),
                   env=self.fake.env())
        d.vgdir = os.path.join(d.dir, "valgrind")
        os.makedirs(d.vgdir)
        cases = [
            (["run", "-c", d.config, "help"], 0, "/aws ec2 list"),
            (["run", "-c", d.config, "good", "echo", "<b>"], 0, "&lt;b&gt;"),
            (["run", "-c", d.config, "good", "fail"], 1, "failed: internal error"),
            (["run", "-c", d.config, "nosuch"], 2, "Unknown command"),
            (["run", "-c", d.config, "ec2", "list"], 0, "9 instances"),
            (["run", "-c", d.config, "--user-id", MAPPED, "ec2", "console", "i-0a1b2c3d4e5f00001"], 0,
             "finished booting"),
            (["run", "-c", d.config, "s3", "usage", "slashd-backups"], 0, "1.00 TiB"),
            (["check-config", "-c", d.config], 0, "OK"),
        ]
        for argv, want_rc, want_out in cases:
            with self.subTest(" ".join(argv[3:]) or argv[0]):
                rc, out = self.run_vg(d, argv[0], argv)
                self.assertEqual(rc, want_rc, out[-6000:])
                self.assertIn(want_out, out)
        self.fake.scenario({"faults": [{"service": "ec2", "action": "*", "count": 4, "kind": "internal"}]})
        rc, out = self.run_vg(d, "run", ["run", "-c", d.config, "ec2", "list"])
        self.assertEqual(rc, 1, out[-6000:])
        self.assertIn("InternalError", out)
        self.fake.scenario({"faults": []})
        self.assert_clean("valgrind_cli", d.vgdir, {"run": 8, "check-config": 1})


if __name__ == "__main__":
    unittest.main(verbosity=2)
