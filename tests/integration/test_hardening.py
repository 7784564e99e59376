"""Hardening, round two (issue 11): what an attacker and a careless plugin
found. Each class is one item of the issue and fails on the code before it."""

import os
import re
import shutil
import signal
import socket
import stat
import tempfile
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from harness import FIXTURE_DIR, SECRET, Daemon, Sink, run_cli, sign  # noqa: E402


def exchange(port, data, timeout=5):
    """Sends raw bytes and reads until the server closes the connection.
    Returns (everything read, closed by the server)."""
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    buf = b""
    closed = False
    try:
        s.sendall(data)
        while True:
            chunk = s.recv(65536)
            if not chunk:
                closed = True
                break
            buf += chunk
    except socket.timeout:
        pass
    except ConnectionResetError:
        closed = True
    finally:
        s.close()
    return buf, closed


def statuses(raw):
    """The status of every response in a raw stream of them."""
    return [int(m) for m in re.findall(rb"HTTP/1\.[01] (\d{3}) ", raw)]


class Smuggling(unittest.TestCase):
    """Item 1: ambiguous framing is refused with 400 (501 for an unknown
    Transfer-Encoding) at once, and the connection closed, so the bytes after
    it are never answered as a second request."""

    @classmethod
    def setUpClass(cls):
        cls.sink = Sink()
        cls.d = Daemon(cls.sink).start()

    @classmethod
    def tearDownClass(cls):
        assert cls.d.stop() == 0
        cls.sink.close()

    def head(self, body, text="help"):
        ts = int(time.time())
        return (b"POST /slack/commands HTTP/1.1\r\nHost: x\r\n"
                b"Content-Type: application/x-www-form-urlencoded\r\n"
                b"X-Slack-Request-Timestamp: %d\r\nX-Slack-Signature: %s\r\n"
                % (ts, sign(SECRET, ts, body).encode()))

    SMUGGLED = b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n"

    def refused(self, req, status=400):
        t0 = time.monotonic()
        raw, closed = exchange(self.d.port, req)
        # (libmicrohttpd itself refuses a few of these, with its own 400.)
        self.assertTrue(statuses(raw) and set(statuses(raw)) == {status}, raw[:400])
        self.assertTrue(closed, "connection kept open after a refused framing")
        self.assertNotIn(b"slashd_build_info", raw)
        self.assertLess(time.monotonic() - t0, 2.0, "answered only after a timeout")

    def test_content_length_and_chunked(self):
        body = self.d.form("help", user_id="U0SMUG1")
        chunked = b"%x\r\n%s\r\n0\r\n\r\n" % (len(body), body)
        self.refused(self.head(body) + b"Content-Length: %d\r\nTransfer-Encoding: chunked\r\n\r\n"
                     % len(chunked) + chunked + self.SMUGGLED)

    def test_two_content_lengths(self):
        body = self.d.form("help", user_id="U0SMUG2")
        self.refused(self.head(body) + b"Content-Length: %d\r\nContent-Length: %d\r\n\r\n"
                     % (len(body), len(body) + len(self.SMUGGLED)) + body + self.SMUGGLED)

    def test_two_equal_content_lengths(self):
        body = self.d.form("help", user_id="U0SMUG3")
        self.refused(self.head(body) + b"Content-Length: %d\r\nContent-Length: %d\r\n\r\n"
                     % (len(body), len(body)) + body)

    def test_space_before_colon(self):
        body = self.d.form("help", user_id="U0SMUG4")
        self.refused(self.head(body) + b"Content-Length : %d\r\n\r\n" % len(body) + body)

    def test_transfer_encoding_space_before_colon(self):
        body = self.d.form("help", user_id="U0SMUG5")
        chunked = b"%x\r\n%s\r\n0\r\n\r\n" % (len(body), body)
        self.refused(self.head(body) + b"Transfer-Encoding : chunked\r\n\r\n" + chunked)

    def test_malformed_content_length(self):
        body = self.d.form("help", user_id="U0SMUG6")
        self.refused(self.head(body) + b"Content-Length: +%d\r\n\r\n" % len(body) + body)

    def test_unknown_transfer_encoding_is_501_at_once(self):
        body = self.d.form("help", user_id="U0SMUG7")
        self.refused(self.head(body) + b"Transfer-Encoding: gzip\r\n\r\n" + body, 501)
        self.refused(self.head(body) + b"Transfer-Encoding: gzip, chunked\r\n\r\n" + body, 501)

    def test_clean_requests_keep_alive(self):
        """The checks refuse only ambiguity: two clean requests on one
        connection are both answered."""
        body = self.d.form("help", user_id="U0SMUG8")
        one = self.head(body) + b"Content-Length: %d\r\n\r\n" % len(body) + body
        body = self.d.form("help", user_id="U0SMUG9")  # its own signature: not a replay
        chunked = b"%x\r\n%s\r\n0\r\n\r\n" % (len(body), body)
        two = (b"GET /healthz?probe=1 HTTP/1.1\r\nHost: x\r\n\r\n" + self.head(body)
               + b"Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n" + chunked)
        raw, _ = exchange(self.d.port, one + two)
        self.assertEqual(statuses(raw), [200, 200, 200], raw[:600])


class PathAliases(unittest.TestCase):
    """Item 2: paths are matched as they arrived; a percent-encoded path is
    404 and a NUL or control byte in the target is 400."""

    @classmethod
    def setUpClass(cls):
        cls.sink = Sink()
        cls.d = Daemon(cls.sink).start()

    @classmethod
    def tearDownClass(cls):
        assert cls.d.stop() == 0
        cls.sink.close()

    def get(self, target):
        raw, _ = exchange(self.d.port, b"GET " + target + b" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        return statuses(raw), raw

    def test_percent_encoded_metrics(self):
        for target in (b"/%6detrics", b"/%6Detrics", b"/metric%73", b"/%2fmetrics", b"/healthz%00"):
            st, raw = self.get(target)
            self.assertEqual(st, [404], (target, raw[:300]))
            self.assertNotIn(b"slashd_build_info", raw)

    def test_nul_in_target(self):
        st, raw = self.get(b"/metrics\x00junk")
        self.assertEqual(st, [400], raw[:300])
        self.assertNotIn(b"slashd_build_info", raw)

    def test_command_path_with_encoded_nul(self):
        body = self.d.form("help", user_id="U0PATH1")
        ts = int(time.time())
        h = {"Content-Type": "application/x-www-form-urlencoded",
             "X-Slack-Request-Timestamp": str(ts), "X-Slack-Signature": sign(SECRET, ts, body)}
        for path in ("/slack/commands%00junk", "/slack/command%73", "/slack%2Fcommands"):
            status, _, _ = self.d.request("POST", path, body, h)
            self.assertEqual(status, 404, path)
        self.assertNotIn("U0PATH1", self.d.read_log())

    def test_plain_paths_still_served(self):
        self.assertEqual(self.get(b"/metrics")[0], [200])
        self.assertEqual(self.get(b"/healthz?x=%41")[0], [200])
        self.assertEqual(self.get(b"/nothing")[0], [404])


class ReloadLimits(unittest.TestCase):
    """Item 5: a reload never enters or leaves development mode, nor changes
    what it cannot apply (listen, TLS, ...): it is refused with a clear log
    line and the old configuration keeps serving."""

    def setUp(self):
        self.sink = Sink()

    def tearDown(self):
        self.assertEqual(self.d.stop(), 0)
        self.sink.close()

    def reload_with(self, edit):
        with open(self.d.config) as f:
            text = f.read()
        tmp = self.d.config + ".tmp"
        with open(tmp, "w") as f:
            f.write(edit(text))
        os.rename(tmp, self.d.config)
        before = self.d.read_log().count("event=reload")
        self.d.proc.send_signal(signal.SIGHUP)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            log = self.d.read_log()
            if re.search(r"event=(reloaded|reload_refused)", log.split("event=reload ", before)[-1]):
                return log
            time.sleep(0.05)
        self.fail("no reload outcome logged:\n" + self.d.read_log()[-3000:])

    def works(self, secret, user):
        status, hdrs, ack = self.d.slash("good echo still-%s" % user, secret=secret, user_id=user)
        self.assertEqual(status, 200, ack)
        self.assertEqual(self.sink.wait_final(hdrs["x-slashd-request-id"])[-1]["text"], "still-" + user)

    def test_removing_the_secret_does_not_enter_development_mode(self):
        self.d = Daemon(self.sink).start()
        log = self.reload_with(lambda t: t.replace("signing_secret = env:SLASHD_TEST_SECRET\n", ""))
        self.assertRegex(log, r"event=reload_refused changed=\"[^\"]*development mode")
        self.assertNotIn("DEVELOPMENT_MODE", log)
        self.works(SECRET, "U0RLD1")

    def test_adding_a_secret_does_not_leave_development_mode(self):
        self.d = Daemon(self.sink, secret=None).start()
        dev = open(os.path.join(self.d.dir, "state", "dev-signing-secret")).read().strip()
        log = self.reload_with(lambda t: t.replace("[slack]\n", "[slack]\nsigning_secret = env:HOME\n"))
        self.assertRegex(log, r"event=reload_refused changed=\"[^\"]*development mode")
        self.works(dev, "U0RLD2")

    def test_development_host_keeps_its_secret_across_a_reload(self):
        self.d = Daemon(self.sink, secret=None).start()
        path = os.path.join(self.d.dir, "state", "dev-signing-secret")
        dev = open(path).read().strip()
        log = self.reload_with(lambda t: t.replace("job_timeout = 10", "job_timeout = 11"))
        self.assertIn("event=reloaded", log)
        self.assertEqual(open(path).read().strip(), dev)
        self.works(dev, "U0RLD3")

    def test_listen_change_is_refused(self):
        self.d = Daemon(self.sink, secret=None).start()
        dev = open(os.path.join(self.d.dir, "state", "dev-signing-secret")).read().strip()
        log = self.reload_with(lambda t: t.replace("listen = 127.0.0.1:0", "listen = 127.0.0.2:0"))
        self.assertRegex(log, r"event=reload_refused changed=\"\[server\] listen")
        self.works(dev, "U0RLD4")

    def test_tls_change_is_refused(self):
        self.d = Daemon(self.sink).start()
        log = self.reload_with(lambda t: t.replace(
            "[server]\n", "[server]\ntls_cert = /etc/hostname\ntls_key = /etc/hostname\n"))
        self.assertRegex(log, r"event=reload_refused changed=\"\[server\] tls_cert, \[server\] tls_key")
        self.works(SECRET, "U0RLD5")


class StateFiles(unittest.TestCase):
    """Item 6: a state_dir that others can write or that another user owns is
    refused; every file slashd creates is new (O_EXCL, no symbolic link
    followed) and mode 0600; a plugin path is checked in every directory
    above it."""

    def setUp(self):
        self.sink = Sink()

    def tearDown(self):
        self.sink.close()

    def refuses_to_start(self, d, words):
        with self.assertRaises(AssertionError):
            d.start()
        d.stop()
        self.assertEqual(d.proc.returncode, 73, d.read_log()[-2000:])
        self.assertIn(words, d.read_log())

    def test_world_writable_state_dir_refused(self):
        d = Daemon(self.sink)
        state = os.path.join(d.dir, "state")
        os.mkdir(state)
        os.chmod(state, 0o777)
        self.refuses_to_start(d, "is writable by group or others (mode 777)")

    def test_foreign_state_dir_refused(self):
        d = Daemon(self.sink)
        state = os.path.join(d.dir, "state")
        os.mkdir(state, 0o700)
        os.chown(state, 65534, 65534)
        self.refuses_to_start(d, "is owned by uid 65534, not by the user slashd runs as")

    def test_state_dir_under_a_writable_parent_refused(self):
        d = Daemon(self.sink)
        os.chmod(d.dir, 0o777)
        self.refuses_to_start(d, "which anyone can write to")

    def test_planted_link_is_not_followed(self):
        d = Daemon(self.sink, secret=None)
        state = os.path.join(d.dir, "state")
        os.mkdir(state, 0o700)
        victim = os.path.join(d.dir, "victim")
        with open(victim, "w") as f:
            f.write("untouched")
        for name in ("dev-signing-secret.tmp", "journal.tmp", "slashd.pid.tmp"):
            os.symlink(victim, os.path.join(state, name))
        d.start()
        status, _, _ = d.slash("help", secret=open(os.path.join(state, "dev-signing-secret")).read())
        self.assertEqual(status, 200)
        self.assertEqual(d.stop(), 0)
        self.assertEqual(open(victim).read(), "untouched")

    def test_files_are_0600(self):
        d = Daemon(self.sink, secret=None, sections={"audit": {"file": "AUDIT"}})
        audit = os.path.join(d.dir, "audit.log")
        with open(d.config) as f:
            text = f.read().replace("file = AUDIT", "file = " + audit)
        with open(d.config, "w") as f:
            f.write(text)
        d.start()
        state = os.path.join(d.dir, "state")
        d.slash("help", secret=open(os.path.join(state, "dev-signing-secret")).read())
        files = [audit] + [os.path.join(state, n) for n in os.listdir(state)]
        self.assertGreaterEqual(len(files), 4, files)  # audit, journal, secret, pid file
        for path in files:
            self.assertEqual(stat.S_IMODE(os.lstat(path).st_mode), 0o600, path)
        self.assertEqual(d.stop(), 0)

    def test_audit_file_link_refused(self):
        d = Daemon(self.sink)
        target = os.path.join(d.dir, "elsewhere.log")
        open(target, "w").close()
        link = os.path.join(d.dir, "audit.log")
        os.symlink(target, link)
        with open(d.config, "a") as f:
            f.write("\n[audit]\nfile = %s\n" % link)
        self.refuses_to_start(d, "is a symbolic link")

    def check_plugin_at(self, so):
        ini = os.path.join(os.path.dirname(so), "t.ini")
        with open(ini, "w") as f:
            f.write("[slack]\nsigning_secret = env:SLASHD_TEST_SECRET\n[plugin.good]\npath = %s\n" % so)
        return run_cli("check-config", config=ini, env={"SLASHD_TEST_SECRET": "x"})

    def plugin_tree(self):
        top = tempfile.mkdtemp(prefix="slashd-plug-")
        self.addCleanup(shutil.rmtree, top)
        deep = os.path.join(top, "a", "b")
        os.makedirs(deep)
        so = os.path.join(deep, "good.so")
        shutil.copy(os.path.join(FIXTURE_DIR, "good.so"), so)
        os.chmod(so, 0o755)
        return top, so

    def test_plugin_under_a_writable_grandparent_refused(self):
        top, so = self.plugin_tree()
        self.assertEqual(self.check_plugin_at(so)[0], 0)
        os.chmod(os.path.join(top, "a"), 0o777)
        rc, _, err = self.check_plugin_at(so)
        self.assertEqual(rc, 1)
        self.assertIn("/a, which anyone can write to", err)

    def test_plugin_under_a_foreign_directory_refused(self):
        top, so = self.plugin_tree()
        os.chown(top, 65534, 65534)
        rc, _, err = self.check_plugin_at(so)
        self.assertEqual(rc, 1)
        self.assertIn("which is owned by uid 65534", err)


class Apostrophes(unittest.TestCase):
    """Item 19: an apostrophe inside a word is a letter, straight or curly;
    quotes group only where they open and close a word."""

    def test_sentences(self):
        sink = Sink()
        d = Daemon(sink, fixtures=("good",)).start()
        try:
            cases = [("good echo don't", "don't"),
                     ("good echo it's a dog's life", "it's a dog's life"),
                     ("good echo it\u2019s a dog\u2019s life", "it\u2019s a dog\u2019s life"),
                     ("good echo 'Bob's server' up", "Bob's server up"),
                     ("good echo \u201cmy bucket\u201d", "my bucket")]
            for i, (text, want) in enumerate(cases):
                status, hdrs, ack = d.slash(text, user_id="U0APOS%d" % i)
                self.assertEqual(status, 200)
                self.assertIn("x-slashd-request-id", hdrs, ack)
                got = sink.wait_final(hdrs["x-slashd-request-id"])[-1]["text"]
                self.assertEqual(got, want, text)
        finally:
            self.assertEqual(d.stop(), 0)
            sink.close()


class AuditRotation(unittest.TestCase):
    """Item 23: SIGHUP reopens the [audit] file by name, so a rename-style
    logrotate under load loses and duplicates no audit line."""

    def test_rotation_under_load(self):
        import json
        import threading
        sink = Sink()
        d = Daemon(sink, fixtures=("good",), server={"queue": "256"})
        audit = os.path.join(d.dir, "audit.log")
        with open(d.config, "a") as f:
            f.write("\n[audit]\nfile = %s\n" % audit)
        d.start()
        ids, lock, stop = [], threading.Lock(), threading.Event()

        def load(k):
            n = 0
            while not stop.is_set():
                n += 1
                status, hdrs, _ = d.slash("good echo rot-%d-%d" % (k, n), user_id="U0ROT%d" % k)
                if status == 200 and "x-slashd-request-id" in hdrs:
                    with lock:
                        ids.append(hdrs["x-slashd-request-id"])

        threads = [threading.Thread(target=load, args=(k,), daemon=True) for k in range(3)]
        for t in threads:
            t.start()
        try:
            for r in range(1, 4):
                time.sleep(0.4)
                os.rename(audit, "%s.%d" % (audit, r))
                d.proc.send_signal(signal.SIGHUP)
            time.sleep(0.6)  # jobs after the last rotation
        finally:
            stop.set()
            for t in threads:
                t.join(30)
        for rid in ids:
            sink.wait_final(rid)
        self.assertEqual(d.stop(), 0)
        sink.close()
        lines = {}
        for name in ["audit.log"] + ["audit.log.%d" % r for r in range(1, 4)]:
            with open(os.path.join(d.dir, name)) as f:
                lines[name] = [json.loads(l)["request_id"] for l in f if l.strip()]
        every = [rid for v in lines.values() for rid in v]
        self.assertGreater(len(ids), 20, "too little load to mean anything")
        self.assertEqual(sorted(every), sorted(ids), "audit lines lost or duplicated")
        for name, v in lines.items():
            self.assertTrue(v, "%s got no audit line: %r" % (name, {k: len(x) for k, x in lines.items()}))
        self.assertEqual(d.read_log().count("event=files_reopened"), 3)


class PluginGuide(unittest.TestCase):
    """Item 22: what the guide says is what the host does."""

    SOURCE = os.environ.get("SLASHD_SOURCE_DIR", ".")

    def guide(self):
        with open(os.path.join(self.SOURCE, "docs", "plugin-guide.md")) as f:
            return f.read()

    def test_cmake_snippet_is_a_whole_project_without_forced_jansson(self):
        snippet = re.findall(r"```cmake\n(.*?)```", self.guide(), re.S)[0]
        self.assertTrue(snippet.startswith("cmake_minimum_required("), snippet[:80])
        self.assertIn("\nproject(", snippet)
        self.assertIn("pkg_check_modules(SLASHD REQUIRED IMPORTED_TARGET slashd)\n", snippet)
        self.assertIn("leaves these two out", snippet)

    def test_word_limit_is_stated_as_the_router_counts(self):
        with open(os.path.join(self.SOURCE, "core", "base", "route.h")) as f:
            limit = int(re.search(r"#define ROUTE_ARGS_MAX (\d+)", f.read()).group(1))
        g = self.guide()
        self.assertIn("at most %d words *including* the plugin and command names" % limit, g)
        self.assertIn("at most %d arguments" % (limit - 2), g)
        self.assertNotIn("no upper bound; at most 32", g)
        # and the router agrees: plugin + command + (limit - 2) words fit, one more does not
        d = Daemon(fixtures=("good",))
        words = " ".join("w%d" % i for i in range(limit - 2))
        rc, out, _ = run_cli("run", "good", "echo", *words.split(), config=d.config)
        self.assertEqual(rc, 0, out)
        rc, out, _ = run_cli("run", "good", "echo", *(words + " one-more").split(), config=d.config)
        self.assertEqual(rc, 2, out)
        self.assertIn("at most %d" % limit, out)

    def test_path_names_the_file_and_a_directory_says_so(self):
        self.assertIn("`path =`\nnames the `.so` file itself", self.guide())
        d = Daemon(fixtures=())
        with open(d.config, "a") as f:
            f.write("\n[plugin.good]\npath = %s\n" % FIXTURE_DIR)
        rc, _, err = run_cli("check-config", config=d.config, env={"SLASHD_TEST_SECRET": "x"})
        self.assertEqual(rc, 1)
        self.assertIn("is not a regular file but a directory: path = names the plugin's .so file itself", err)

    def test_output_and_memory_are_explained(self):
        g = self.guide()
        self.assertIn("### Output and memory", g)
        self.assertIn("standard output or standard error is captured", g)
        self.assertIn("worker_memory_mb", g)


class Replay(unittest.TestCase):
    """Item 3: an identical signed request is refused (401) for the whole
    300 s window, not only within dedupe_seconds, and after a restart too
    (the journal keeps the signatures)."""

    def signed(self, d, text, user):
        body = d.form(text, user_id=user)
        ts = int(time.time())
        return body, {"Content-Type": "application/x-www-form-urlencoded",
                      "X-Slack-Request-Timestamp": str(ts), "X-Slack-Signature": sign(SECRET, ts, body)}

    def test_replay_after_dedupe_window(self):
        sink = Sink()
        d = Daemon(sink, fixtures=("good",), server={"dedupe_seconds": "1"}).start()
        try:
            body, h = self.signed(d, "good echo once", "U0REPLAY1")
            status, hdrs, _ = d.request("POST", "/slack/commands", body, h)
            self.assertEqual(status, 200)
            sink.wait_final(hdrs["x-slashd-request-id"])
            time.sleep(2.2)  # past dedupe_seconds, well within 300 s
            status, hdrs, data = d.request("POST", "/slack/commands", body, h)
            self.assertEqual(status, 401, data)
            self.assertNotIn("x-slashd-request-id", hdrs)
            # A new signature of the same command is a new request.
            body2, h2 = self.signed(d, "good echo twice", "U0REPLAY1")
            self.assertEqual(d.request("POST", "/slack/commands", body2, h2)[0], 200)
        finally:
            self.assertEqual(d.stop(), 0)
            sink.close()
        self.assertIn("event=verify_failed reason=replayed", d.read_log())
        self.assertEqual(len([m for m in sink.messages if m.get("text") == "once"]), 1)

    def test_replay_after_a_restart(self):
        sink = Sink()
        d = Daemon(sink, fixtures=("good",)).start()
        body, h = self.signed(d, "good echo before-restart", "U0REPLAY2")
        status, hdrs, _ = d.request("POST", "/slack/commands", body, h)
        self.assertEqual(status, 200)
        sink.wait_final(hdrs["x-slashd-request-id"])
        self.assertEqual(d.stop(), 0)
        d.start()
        try:
            status, hdrs, data = d.request("POST", "/slack/commands", body, h)
            self.assertEqual(status, 401, data)
        finally:
            self.assertEqual(d.stop(), 0)
            sink.close()
        self.assertEqual(len([m for m in sink.messages if m.get("text") == "before-restart"]), 1)


class SignatureDowngrade(unittest.TestCase):
    """Item 4: with a signing secret configured, a request without a valid
    signature is 401 whatever its token."""

    def test_token_alone_is_refused_when_a_secret_is_set(self):
        sink = Sink()
        d = Daemon(sink, fixtures=("good",), slack={"verification_token": "env:SLASHD_TEST_TOKEN"},
                   env={"SLASHD_TEST_TOKEN": "tok-123456"}).start()
        try:
            h = {"Content-Type": "application/x-www-form-urlencoded"}
            body = d.form("good echo downgraded", extra={"token": "tok-123456"})
            status, hdrs, _ = d.request("POST", "/slack/commands", body, h)
            self.assertEqual(status, 401)
            self.assertNotIn("x-slashd-request-id", hdrs)
            status, _, _ = d.request("POST", "/slack/commands", d.form("good echo mm", drop=("token",)),
                                     dict(h, Authorization="Token tok-123456"))
            self.assertEqual(status, 401)
            status, _, _ = d.slash("good echo signed", user_id="U0DOWN1")
            self.assertEqual(status, 200)
        finally:
            self.assertEqual(d.stop(), 0)
            sink.close()
        self.assertIn("event=verify_failed reason=missing", d.read_log())


class OversizedJobs(unittest.TestCase):
    """Item 8: a job too large for one message to a worker is refused at
    admission with a true message (not reported later as a timeout); one
    within ADMISSION_TEXT_MAX runs."""

    def test_too_large_refused_and_large_runs(self):
        sink = Sink()
        d = Daemon(sink, fixtures=("good",), server={"max_body": "1048576"}).start()
        try:
            status, hdrs, ack = d.slash("good echo " + "x" * 200000, user_id="U0BIG1")
            self.assertEqual(status, 200)
            self.assertNotIn("x-slashd-request-id", hdrs, ack)
            self.assertIn("is too long to run", ack["text"])
            self.assertIn("200010 bytes", ack["text"])
            word = "y" * 50000
            status, hdrs, ack = d.slash("good echo " + word, user_id="U0BIG2")
            self.assertIn("x-slashd-request-id", hdrs, ack)
            final = sink.wait_final(hdrs["x-slashd-request-id"])[-1]
            self.assertFalse(final["error"], final["text"][:200])
        finally:
            self.assertEqual(d.stop(), 0)
            sink.close()
        self.assertIn("event=job_too_large", d.read_log())


class SmallerChecks(unittest.TestCase):
    """Item 11: a NUL inside an id is refused (not cut short); a backtick in
    the command field cannot close the ack's code span; check-config checks
    every response_hosts entry."""

    def test_nul_in_ids_refused(self):
        sink = Sink()
        d = Daemon(sink, fixtures=("good",)).start()
        try:
            for field in ("user_id", "team_id", "channel_id"):
                body = d.form("good echo nul", user_id="U0NUL1").replace(
                    ("%s=" % field).encode(), ("%s=X%%00Y" % field).encode(), 1)
                status, hdrs, _ = d.slash(None, body=body)
                self.assertEqual(status, 400, field)
                self.assertNotIn("x-slashd-request-id", hdrs)
        finally:
            self.assertEqual(d.stop(), 0)
            sink.close()

    def test_backtick_in_command_is_escaped(self):
        sink = Sink()
        d = Daemon(sink, fixtures=("good",)).start()
        try:
            status, _, ack = d.slash("good echo x", extra={"command": "/x` <!here> `y"})
        finally:
            self.assertEqual(d.stop(), 0)
            sink.close()
        self.assertEqual(status, 200)
        text = ack["text"]
        self.assertIn("This slashd serves `/aws`, not `/x' &lt;!here&gt; 'y`", text)
        self.assertEqual(text.count("`"), 4, text)

    def test_check_config_validates_response_hosts(self):
        d = Daemon(fixtures=())
        for bad in ("https://hooks.slack.com", "hooks.slack.com/commands", "*.slack.com",
                    "hooks.slack.com:0", "hooks.slack.com:99999", "user@hooks.slack.com", "-x.com"):
            with open(d.config) as f:
                text = f.read()
            ini = os.path.join(d.dir, "bad.ini")
            with open(ini, "w") as f:
                f.write(text.replace("[slack]\n", "[slack]\nresponse_hosts = hooks.slack.com, %s\n" % bad))
            rc, out, err = run_cli("check-config", config=ini, env={"SLASHD_TEST_SECRET": "x"})
            self.assertEqual(rc, 1, (bad, out, err))
            self.assertRegex(err, r"bad\.ini:\d+: error: response_hosts: \"%s\" is not a host" % re.escape(bad))
        for good in ("hooks.slack.com", "127.0.0.1:8080", "[::1]:9000", "hooks.slack-gov.com"):
            with open(d.config) as f:
                text = f.read()
            ini = os.path.join(d.dir, "good.ini")
            with open(ini, "w") as f:
                f.write(text.replace("[slack]\n", "[slack]\nresponse_hosts = %s\n" % good))
            rc, out, err = run_cli("check-config", config=ini, env={"SLASHD_TEST_SECRET": "x"})
            self.assertEqual(rc, 0, (good, out, err))


class QueuedAck(unittest.TestCase):
    """Item 21: an ack for a job that waits says "queued (N ahead)"."""

    def test_waiting_jobs_say_how_many_are_ahead(self):
        sink = Sink()
        d = Daemon(sink, fixtures=("good",), server={"workers": "1"}).start()
        try:
            status, hdrs, ack = d.slash("good echo first", user_id="U0Q0")
            self.assertIn("is running…", ack["text"])
            sink.wait_final(hdrs["x-slashd-request-id"])
            rids = []
            _, h, ack = d.slash("good sleep 2", user_id="U0Q1")
            rids.append(h["x-slashd-request-id"])
            self.assertIn("is running…", ack["text"])
            time.sleep(0.3)  # the worker has taken it
            for i in range(3):
                _, h, ack = d.slash("good echo wait-%d" % i, user_id="U0Q%d" % (i + 2))
                rids.append(h["x-slashd-request-id"])
                self.assertIn("is queued (%d ahead)…" % i, ack["text"])
                self.assertIn("(request %s)" % h["x-slashd-request-id"], ack["text"])
            for rid in rids:
                sink.wait_final(rid)
        finally:
            self.assertEqual(d.stop(), 0)
            sink.close()


class Hogging(unittest.TestCase):
    """Item 16: per-user and per-plugin running caps, by default workers - 1,
    so commands that hang cannot take every worker: the ack says why and
    nothing is queued, and `help` still runs at once."""

    def test_default_caps_leave_a_worker(self):
        sink = Sink()
        d = Daemon(sink, fixtures=("good", "hang"), plugins=("help",),
                   server={"workers": "3", "job_timeout": "8"})
        with open(d.config) as f:
            text = f.read()
        with open(d.config, "w") as f:  # the defaults: no cap keys at all
            f.write(re.sub(r"max_running_per_\w+ = 0\n", "", text))
        d.start()
        try:
            rids = []
            for i in range(2):
                _, h, ack = d.slash("hang forever", user_id="U0HOG%d" % i)
                self.assertIn("x-slashd-request-id", h, ack)
                rids.append(h["x-slashd-request-id"])
            status, h, ack = d.slash("hang forever", user_id="U0HOG2")
            self.assertEqual(status, 200)
            self.assertNotIn("x-slashd-request-id", h)
            self.assertIn("`hang` is at its limit of 2 commands running at once", ack["text"])
            # The third worker is free for everyone else: help answers at once.
            t0 = time.monotonic()
            _, h, ack = d.slash("help", user_id="U0HOG3")
            sink.wait_final(h["x-slashd-request-id"], timeout=5)
            self.assertLess(time.monotonic() - t0, 5)
            # One user: at most 2 at once, the third refused, nothing queued.
            for i in range(2):
                _, h, ack = d.slash("good sleep %d" % (3 + i), user_id="U0HOG4")
                self.assertIn("x-slashd-request-id", h, ack)
                rids.append(h["x-slashd-request-id"])
            _, h, ack = d.slash("good sleep 5", user_id="U0HOG4")
            self.assertNotIn("x-slashd-request-id", h)
            self.assertIn("You already have 2 commands running (at most 2 at once)", ack["text"])
            for rid in rids:
                sink.wait_final(rid, timeout=30)
            # Finished jobs no longer count.
            _, h, ack = d.slash("good sleep 1", user_id="U0HOG4")
            self.assertIn("x-slashd-request-id", h, ack)
            sink.wait_final(h["x-slashd-request-id"])
        finally:
            self.assertEqual(d.stop(), 0)
            sink.close()
        self.assertEqual(d.read_log().count("event=capped"), 2)


class PluginExit(unittest.TestCase):
    """Item 18: a plugin calling exit(0) is reported as the worker exiting
    during the command (not as a crash), the worker is replaced, and
    `slashd run` exits non-zero (70)."""

    def test_daemon_says_the_worker_exited(self):
        sink = Sink()
        d = Daemon(sink, fixtures=("good", "hostile")).start()
        try:
            _, h, ack = d.slash("hostile exit", user_id="U0EXIT1")
            final = sink.wait_final(h["x-slashd-request-id"])[-1]
            self.assertTrue(final["error"])
            self.assertIn("the worker exited during the command", final["text"])
            self.assertNotIn("crashed", final["text"])
            # The worker was replaced: the next commands run.
            for i in range(3):
                _, h, ack = d.slash("good echo after-%d" % i, user_id="U0EXIT2")
                self.assertEqual(sink.wait_final(h["x-slashd-request-id"])[-1]["text"], "after-%d" % i)
        finally:
            self.assertEqual(d.stop(), 0)
            sink.close()
        self.assertIn("event=plugin_exited", d.read_log())
        self.assertRegex(d.read_log(), r"event=audit .*plugin=hostile cmd=exit .*outcome=error")

    def test_run_exits_70(self):
        d = Daemon(fixtures=("hostile",))
        rc, out, err = run_cli("run", "hostile", "exit", config=d.config)
        self.assertEqual(rc, 70, (out, err))
        self.assertIn("the worker exited during the command", err)


class PluginOutput(unittest.TestCase):
    """Item 17: what a plugin prints is captured per worker and logged as
    tagged, length-limited, rate-limited plugin_output lines with the
    plugin's name, never raw."""

    def test_output_is_tagged_cut_and_limited(self):
        sink = Sink()
        d = Daemon(sink, fixtures=("good", "hostile")).start()
        try:
            _, h, ack = d.slash("hostile print", user_id="U0OUT1")
            rid = h["x-slashd-request-id"]
            self.assertEqual(sink.wait_final(rid)[-1]["text"], "printed")
            _, h2, _ = d.slash("good echo next", user_id="U0OUT2")
            sink.wait_final(h2["x-slashd-request-id"])
        finally:
            self.assertEqual(d.stop(), 0)
            sink.close()
        log = d.read_log()
        lines = log.splitlines()
        # Nothing raw: every line is the host's own.
        for l in lines:
            self.assertTrue(l.startswith("ts="), l[:200])
        self.assertNotIn("\nts=2020-01-01", log)
        self.assertNotRegex(log, r"(?m)^stdout line")
        ours = [l for l in lines if "event=plugin_output " in l]
        self.assertEqual(len(ours), 20, ours[:3])
        for l in ours:
            self.assertIn("plugin=hostile req=%s stream=stdout" % rid, l)
            self.assertLess(len(l), 512 + 300)
        self.assertIn('line="ts=2020-01-01T00:00:00.000Z level=info proc=main event=audit', ours[0])
        self.assertIn("cut=true", ours[1])
        self.assertRegex(log, r"event=plugin_output_dropped plugin=hostile req=%s lines=83 " % rid)


class WorkerRecycling(unittest.TestCase):
    """Items 14 and 15: a worker whose plugin left a thread running, ran out
    of its memory limit, grew past worker_recycle_mb or ran worker_max_jobs
    jobs finishes the reply and is replaced; the next jobs run as usual."""

    def daemon(self, **server):
        self.sink = Sink()
        srv = {"workers": "1"}
        srv.update(server)
        self.d = Daemon(self.sink, fixtures=("good", "hostile"), server=srv).start()

    def tearDown(self):
        self.assertEqual(self.d.stop(), 0)
        self.sink.close()

    def run_ok(self, text, want, user="U0REC"):
        _, h, ack = self.d.slash(text, user_id=user)
        self.assertIn("x-slashd-request-id", h, ack)
        final = self.sink.wait_final(h["x-slashd-request-id"])[-1]
        self.assertEqual(final["text"], want)
        return final

    def after_it(self, n=3):
        for i in range(n):
            self.run_ok("good echo after-%d" % i, "after-%d" % i, user="U0AFTER%d" % i)

    def test_threads_left_behind(self):
        self.daemon()
        self.run_ok("hostile thread", "threaded")
        self.after_it()
        log = self.d.read_log()
        self.assertIn("event=plugin_threads_left plugin=hostile threads=1", log)
        self.assertIn('event=worker_retired worker=0', log)
        self.assertIn('why="plugin hostile left 1 thread running"', log)
        self.assertNotIn("outcome=crashed", log)

    def test_memory_limit(self):
        self.daemon(worker_memory_mb="256")
        if "event=worker_memory_limit" not in self.d.read_log():
            self.skipTest("no memory limit in this build (sanitizers)")
        _, h, _ = self.d.slash("hostile alloc 3000", user_id="U0MEM")
        final = self.sink.wait_final(h["x-slashd-request-id"])[-1]
        self.assertTrue(final["error"])
        self.assertIn("ran out of memory (limit 256 MB)", final["text"])
        self.after_it()
        self.assertIn('why="a job ran out of memory (limit 256 MB)"', self.d.read_log())

    def test_recycle_by_resident_size(self):
        self.daemon(worker_recycle_mb="64", worker_memory_mb="0")
        self.run_ok("hostile alloc 100", "allocated")
        self.after_it()
        self.assertRegex(self.d.read_log(), r'why="resident size \d+ MB is over worker_recycle_mb 64"')

    def test_recycle_after_max_jobs(self):
        self.daemon(worker_max_jobs="2")
        for i in range(5):
            self.run_ok("good echo job-%d" % i, "job-%d" % i, user="U0MAX%d" % i)
        log = self.d.read_log()
        self.assertEqual(log.count('why="ran 2 jobs (worker_max_jobs)"'), 2)
        self.assertNotIn("outcome=crashed", log)


class PlantedCredentials(unittest.TestCase):
    """Item 12: a worker's creds message enters the shared cache only for the
    job it runs, under that job's key, with a real expiry."""

    def test_planted_creds_are_dropped(self):
        sink = Sink()
        d = Daemon(sink, fixtures=("good", "hostile")).start()
        try:
            _, h, _ = d.slash("hostile plant", user_id="U0PLANT")
            self.assertEqual(sink.wait_final(h["x-slashd-request-id"])[-1]["text"], "planted")
        finally:
            self.assertEqual(d.stop(), 0)
            sink.close()
        log = d.read_log()
        self.assertIn('event=creds_refused worker=', log)
        self.assertIn('msg="not for the user and channel of the job the worker runs"', log)
        self.assertIn('msg="no expiry, or already expired"', log)
        self.assertNotIn("ASIAPLANTED", log)


class LostBeforeStart(unittest.TestCase):
    """Item 13: a job handed to a worker that dies before acknowledging it
    (its handler never ran) is given to another worker, once; one lost after
    the acknowledgement is reported as what it was (crashed)."""

    def worker_pids(self, d):
        return [int(p) for p in re.findall(r"event=worker_ready worker=\d+ pid=(\d+)", d.read_log())]

    def test_redispatched_once_then_runs(self):
        sink = Sink()
        d = Daemon(sink, fixtures=("good", "crash"), server={"workers": "1"}).start()
        try:
            deadline = time.monotonic() + 10
            while not self.worker_pids(d) and time.monotonic() < deadline:
                time.sleep(0.05)
            pid = self.worker_pids(d)[-1]
            os.kill(pid, signal.SIGSTOP)  # idle in the main process's view, but it reads nothing
            _, h, ack = d.slash("good echo lost-once", user_id="U0LOST1")
            rid = h["x-slashd-request-id"]
            time.sleep(0.3)  # the job is on its socket now
            os.kill(pid, signal.SIGKILL)
            final = sink.wait_final(rid, timeout=20)[-1]
            self.assertEqual(final["text"], "lost-once", final)
            # Lost after its acknowledgement: reported as what it was.
            _, h, _ = d.slash("crash now", user_id="U0LOST2")
            crashed = sink.wait_final(h["x-slashd-request-id"], timeout=20)[-1]
            self.assertIn("the command crashed", crashed["text"])
        finally:
            self.assertEqual(d.stop(), 0)
            sink.close()
        log = d.read_log()
        self.assertRegex(log, r"event=job_redispatched req=%s " % re.escape(rid))
        self.assertRegex(log, r"event=audit req=%s .*outcome=ok" % re.escape(rid))
        self.assertNotRegex(log, r"event=audit req=%s .*outcome=crashed" % re.escape(rid))


ESCAPES = ("\x1b", "\x07", "\r", "\u009b")


class TerminalOutput(unittest.TestCase):
    """Item 10: `slashd run` and `slashd send` replace control characters
    (other than newline and tab) in what they print."""

    def test_run_replaces_control_characters(self):
        d = Daemon(fixtures=("hostile",))
        rc, out, err = run_cli("run", "hostile", "ansi", config=d.config)
        self.assertEqual(rc, 0, err)
        for c in ESCAPES:
            self.assertNotIn(c, out)
        self.assertIn("\ufffd[31mred", out)
        self.assertIn("tab\tend\nsecond line", out)

    def test_send_replaces_control_characters(self):
        d = Daemon(secret=None, fixtures=("hostile",)).start()
        try:
            rc, out, err = run_cli("send", "--url", "http://127.0.0.1:%d/slack/commands" % d.port,
                                   "hostile", "ansi", config=d.config)
        finally:
            self.assertEqual(d.stop(), 0)
        self.assertEqual(rc, 0, out + err)
        self.assertIn("reply: ", out)
        for c in ESCAPES:
            self.assertNotIn(c, out)
        self.assertIn("\ufffd]0;pwned-title\ufffd", out)


class SendOrder(unittest.TestCase):
    """Item 20: `slashd send` prints the ack before the replies, and answers
    every reply POST with 200 before it exits. A proxy between `send` and the
    daemon holds the ack back until the reply has been posted, so the reply
    always arrives first."""

    def test_ack_first_and_every_reply_answered(self):
        d = Daemon(secret=None, fixtures=("good",)).start()
        proxy = HoldAckProxy(d)
        try:
            rc, out, err = run_cli("send", "--url", proxy.url, "good", "echo", "ordered",
                                   config=d.config)
            time.sleep(0.5)  # a retry would be logged by now
        finally:
            proxy.close()
            self.assertEqual(d.stop(), 0)
        self.assertEqual(rc, 0, out + err)
        lines = [l for l in out.splitlines() if l]
        self.assertTrue(lines[0].startswith("ack (HTTP 200"), out)
        self.assertEqual(lines[-1], "reply: ordered", out)
        log = d.read_log()
        self.assertRegex(log, r"event=reply_posted .*status=200 attempt=1 final=true")
        self.assertNotIn("event=reply_retry", log)
        self.assertNotIn("event=reply_failed", log)


class HoldAckProxy:
    """Forwards one POST to the daemon and returns its answer only once the
    daemon has posted the reply (its log says so)."""

    def __init__(self, daemon):
        import http.server
        import threading
        proxy = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a):
                pass

            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                keep = {k: v for k, v in self.headers.items()
                        if k.lower() in ("content-type", "x-slack-request-timestamp", "x-slack-signature")}
                status, hdrs, data = daemon.request("POST", "/slack/commands", body, keep)
                deadline = time.monotonic() + 10
                while "event=reply_posted" not in daemon.read_log() and time.monotonic() < deadline:
                    time.sleep(0.02)
                time.sleep(0.2)  # the reply is printed (or not) by now
                self.send_response(status)
                for k in ("content-type", "x-slashd-request-id"):
                    if k in hdrs:
                        self.send_header(k, hdrs[k])
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = "http://127.0.0.1:%d/slack/commands" % self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        proxy.daemon = daemon

    def close(self):
        self.server.shutdown()
        self.server.server_close()


if __name__ == "__main__":
    unittest.main()
