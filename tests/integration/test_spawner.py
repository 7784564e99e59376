"""Workers forked from a spawner (core/worker/spawner.h): the process tree,
the pages the workers share, a spawner that dies, a reload, and the wait
status of a worker still reaching the user's message."""

import os
import signal
import sys
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from harness import Daemon, Sink  # noqa: E402
from test_faults import children, events, figures, wait_until  # noqa: E402


def cmdline(pid):
    try:
        with open("/proc/%d/cmdline" % pid, "rb") as f:
            return f.read().decode("utf-8", "replace").split("\0")
    except OSError:
        return []


def status_field(pid, key):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith(key + ":"):
                return line.split()[1]
    return None


def rollup(pid):
    """smaps_rollup of pid, in KiB: {"Rss": …, "Pss": …, "Shared_Dirty": …}."""
    out = {}
    with open("/proc/%d/smaps_rollup" % pid) as f:
        for line in f:
            parts = line.split()
            if len(parts) == 3 and parts[2] == "kB":
                out[parts[0].rstrip(":")] = int(parts[1])
    return out


def spawners(pid):
    """The `slashd spawner` children of a slashd serve."""
    return [c for c in children(pid) if cmdline(c)[1:2] == ["spawner"]]


def generation(pid):
    argv = cmdline(pid)
    return argv[argv.index("--generation") + 1] if "--generation" in argv else None


def tree(pid, workers):
    """(spawner, its workers) once main has exactly one child, a spawner,
    with `workers` children; else None."""
    sps = spawners(pid)
    if len(sps) != 1 or children(pid) != sps:
        return None
    kids = children(sps[0])
    return (sps[0], kids) if len(kids) == workers else None


class Tree(unittest.TestCase):
    def test_workers_are_the_spawners_children_and_share_its_pages(self):
        sink = Sink()
        d = Daemon(sink, server={"workers": "3"}).start()
        try:
            pid = d.proc.pid
            sp, kids = wait_until(lambda: tree(pid, 3), 10, "one spawner with 3 workers")
            self.assertEqual(cmdline(sp)[1], "spawner")
            self.assertEqual(generation(sp), "1")
            self.assertEqual(status_field(sp, "PPid"), str(pid))
            for k in kids:
                self.assertEqual(status_field(k, "PPid"), str(sp))
            # The pids main knows its workers by are the spawner's children.
            ready = wait_until(lambda: len(events(d.read_log(), "worker_ready")) >= 3 and
                               events(d.read_log(), "worker_ready"), 10, "3 workers ready")
            self.assertEqual(sorted(int(e["pid"]) for e in ready), kids)
            for i in range(3):
                _, h, _ = d.slash("good echo shared %d" % i, user_id="U0SP%d" % i)
                self.assertEqual(sink.wait_final(h["x-slashd-request-id"])[-1]["text"],
                                 "shared %d" % i)
            # Pages the spawner wrote before forking (relocated libraries,
            # the loaded configuration and plugins) are shared with it,
            # dirty: an exec'd worker has its own private copy of them
            # (Shared_Dirty 0, Private_Dirty ≈ 1.4 MB).
            for k in kids:
                r = rollup(k)
                figures("spawner_worker_pages", worker=k, rss_kb=r["Rss"], pss_kb=r["Pss"],
                        shared_dirty_kb=r["Shared_Dirty"], private_dirty_kb=r["Private_Dirty"])
                self.assertGreater(r["Shared_Dirty"], r["Private_Dirty"], r)
        finally:
            rc = d.stop()
            sink.close()
        self.assertEqual(rc, 0)


class SpawnerDies(unittest.TestCase):
    def test_sigkill_spawner_mid_jobs(self):
        sink = Sink()
        d = Daemon(sink, server={"workers": "2", "job_timeout": "30"}).start()
        try:
            pid = d.proc.pid
            sp, kids = wait_until(lambda: tree(pid, 2), 10, "one spawner with 2 workers")
            _, h1, _ = d.slash("good sleep 5", user_id="U0SK1")
            _, h2, _ = d.slash("good sleep 5", user_id="U0SK2")
            rids = [h1["x-slashd-request-id"], h2["x-slashd-request-id"]]
            wait_until(lambda: all(sink.for_request(r) for r in rids), 10, "both jobs to start")
            os.kill(sp, signal.SIGKILL)
            # Its workers die with it; both users are told, none is lost.
            finals = [sink.wait_final(r, timeout=15)[-1] for r in rids]
            for m in finals:
                self.assertTrue(m["error"], m)
                self.assertIn("failed: the command crashed (signal 9, Killed)", m["text"])
                self.assertIn("You can run it again", m["text"])
            # (logged as the jobs are answered, perhaps after the sink saw them)
            wait_until(lambda: len(events(d.read_log(), "worker_died")) >= 2, 5, "worker_died")
            log = d.read_log()
            died = events(log, "spawner_died")
            self.assertEqual([(e["pid"], e["how"], e["generation"], e["workers"]) for e in died],
                             [(str(sp), "signal 9, Killed", "1", "2")], log[-3000:])
            self.assertEqual(sorted(int(e["pid"]) for e in events(log, "worker_died")), kids)
            # A new spawner, new workers, and the next commands run.
            sp2, kids2 = wait_until(lambda: tree(pid, 2), 10, "a new spawner with 2 workers")
            self.assertNotEqual(sp2, sp)
            self.assertFalse(set(kids2) & set(kids))
            for i in range(3):
                _, h, _ = d.slash("good echo again %d" % i, user_id="U0SK3")
                self.assertEqual(sink.wait_final(h["x-slashd-request-id"])[-1]["text"],
                                 "again %d" % i)
            m = d.metrics()
            self.assertEqual(m['slashd_jobs_total{outcome="crashed"}'], 2)
            wait_until(lambda: d.metrics()["slashd_journal_open"] == 0, 5, "no open jobs")
        finally:
            rc = d.stop()
            sink.close()
        self.assertEqual(rc, 0)


class Reload(unittest.TestCase):
    def test_new_spawner_old_one_leaves_after_its_busy_worker(self):
        sink = Sink()
        d = Daemon(sink, server={"workers": "2", "job_timeout": "30"}).start()
        try:
            pid = d.proc.pid
            sp1, _ = wait_until(lambda: tree(pid, 2), 10, "one spawner with 2 workers")
            _, h, _ = d.slash("good sleep 3", user_id="U0RL1")
            rid = h["x-slashd-request-id"]
            wait_until(lambda: sink.for_request(rid), 10, "the job to start")
            d.proc.send_signal(signal.SIGHUP)
            both = wait_until(lambda: len(spawners(pid)) == 2 and spawners(pid), 10,
                              "a spawner for generation 2 beside the old one")
            sp2 = [s for s in both if s != sp1][0]
            self.assertEqual(generation(sp2), "2")
            # The old generation's busy worker still runs under the old one.
            self.assertEqual(generation(sp1), "1")
            self.assertEqual(len(children(sp1)), 1)
            self.assertEqual(sink.wait_final(rid, timeout=15)[-1]["text"], "woke up")
            # Its last worker gone, the old spawner is closed and exits.
            wait_until(lambda: spawners(pid) == [sp2], 10, "the old spawner to exit")
            wait_until(lambda: len(children(sp2)) == 2, 10, "2 workers of generation 2")
            _, h, _ = d.slash("good echo reloaded", user_id="U0RL2")
            self.assertEqual(sink.wait_final(h["x-slashd-request-id"])[-1]["text"], "reloaded")
            self.assertIn("event=spawner_closed pid=%d generation=1" % sp1, d.read_log())
        finally:
            rc = d.stop()
            sink.close()
        self.assertEqual(rc, 0)


class WaitStatus(unittest.TestCase):
    def test_exit_status_and_signal_reach_the_message(self):
        sink = Sink()
        d = Daemon(sink, fixtures=("good", "crash", "hostile")).start()
        try:
            _, h, _ = d.slash("hostile die 7", user_id="U0WS1")
            m = sink.wait_final(h["x-slashd-request-id"], timeout=15)[-1]
            self.assertTrue(m["error"], m)
            self.assertIn("failed: the worker exited during the command (exit status 7)", m["text"])
            _, h, _ = d.slash("crash", user_id="U0WS2")
            m = sink.wait_final(h["x-slashd-request-id"], timeout=15)[-1]
            self.assertIn("failed: the command crashed (signal 11, Segmentation fault)", m["text"])
            # (logged once the job is answered, so perhaps after the sink saw it)
            died = wait_until(lambda: len(events(d.read_log(), "worker_died")) >= 2 and
                              events(d.read_log(), "worker_died"), 5, "two worker_died lines")
            self.assertEqual([e["how"] for e in died],
                             ["exit status 7", "signal 11, Segmentation fault"])
        finally:
            rc = d.stop()
            sink.close()
        self.assertEqual(rc, 0)


if __name__ == "__main__":
    unittest.main(verbosity=2)
