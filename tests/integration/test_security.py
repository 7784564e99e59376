"""Security tests through the real binary (issue 5): hostile HTTP, mention
injection, secrets that must never show, plugin files that must be refused."""

import os
import shutil
import socket
import stat
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from fakeaws import FakeAws, role, HOST_SECRET  # noqa: E402
from harness import FIXTURE_DIR, SECRET, Daemon, Sink, run_cli, sign  # noqa: E402

MAPPED = "U0SEC0001"


def raw_request(port, data, timeout=5):
    """Sends raw bytes; returns the status line (or '' if the server closed)."""
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    try:
        s.sendall(data)
        buf = b""
        while b"\r\n" not in buf:
            chunk = s.recv(4096)
            if not chunk:
                break
            buf += chunk
        return buf.split(b"\r\n", 1)[0].decode("latin-1")
    except (ConnectionResetError, BrokenPipeError, socket.timeout):
        return ""  # closed on us, or held until [server] connection_timeout
    finally:
        s.close()


class HostileHttp(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.sink = Sink()
        cls.d = Daemon(cls.sink).start()

    @classmethod
    def tearDownClass(cls):
        assert cls.d.stop() == 0
        cls.sink.close()

    def alive(self):
        word = "alive-%d" % time.monotonic_ns()
        status, hdrs, ack = self.d.slash("good echo " + word)
        self.assertEqual(status, 200)
        self.assertIn("x-slashd-request-id", hdrs, ack)
        self.assertEqual(self.sink.wait_final(hdrs["x-slashd-request-id"])[-1]["text"], word)


    def test_oversized_headers(self):
        line = raw_request(self.d.port, b"POST /slack/commands HTTP/1.1\r\nHost: x\r\nX-Big: " +
                           b"a" * 200000 + b"\r\n\r\n")
        self.assertTrue(line == "" or " 431 " in line or " 413 " in line or " 400 " in line, line)
        self.alive()

    def test_many_headers(self):
        hdrs = b"".join(b"X-H%d: v\r\n" % i for i in range(5000))
        line = raw_request(self.d.port, b"POST /slack/commands HTTP/1.1\r\nHost: x\r\n" + hdrs + b"\r\n")
        self.assertNotIn(" 200 ", line)
        self.alive()

    def test_chunked_body_over_the_limit(self):
        body = self.d.form("good echo " + "y" * 40000)
        chunks = b"".join(b"%x\r\n%s\r\n" % (len(body[i:i + 1000]), body[i:i + 1000])
                          for i in range(0, len(body), 1000)) + b"0\r\n\r\n"
        ts = int(time.time())
        req = (b"POST /slack/commands HTTP/1.1\r\nHost: x\r\n"
               b"Content-Type: application/x-www-form-urlencoded\r\nTransfer-Encoding: chunked\r\n"
               b"X-Slack-Request-Timestamp: %d\r\nX-Slack-Signature: %s\r\n\r\n"
               % (ts, sign(SECRET, ts, body).encode())) + chunks
        line = raw_request(self.d.port, req)
        self.assertIn(" 413 ", line)
        self.alive()

    def test_declared_length_over_the_limit_is_refused_before_the_body(self):
        ts = int(time.time())
        s = socket.create_connection(("127.0.0.1", self.d.port), timeout=5)
        s.sendall(b"POST /slack/commands HTTP/1.1\r\nHost: x\r\nContent-Length: 100000000\r\n"
                  b"Content-Type: application/x-www-form-urlencoded\r\n"
                  b"X-Slack-Request-Timestamp: %d\r\nX-Slack-Signature: v0=00\r\n\r\n" % ts)
        line = s.recv(4096).split(b"\r\n", 1)[0]
        s.close()
        self.assertIn(b" 413 ", line)
        self.alive()

    def test_garbage_request_lines(self):
        for junk in (b"\x00\x01\x02\r\n\r\n", b"GET /healthz HTTP/9.9\r\n\r\n",
                     b"POST /slack/commands HTTP/1.1\r\nContent-Length: -5\r\n\r\n",
                     b"GET " + b"/a" * 30000 + b" HTTP/1.1\r\n\r\n"):
            raw_request(self.d.port, junk)
        self.alive()

    def test_signature_is_checked_before_the_body_is_believed(self):
        # A form that would fail parsing (duplicate fields) but is not signed
        # is a 401, not a 400: nothing unauthenticated is parsed.
        body = self.d.form("help") + b"&user_id=U0OTHER"
        status, _, _ = self.d.slash("", body=body, secret="wrong")
        self.assertEqual(status, 401)


class MentionsAndSecrets(unittest.TestCase):
    def test_console_output_mentions_arrive_escaped_and_no_secret_leaks(self):
        fake = FakeAws()
        fake.scenario({"ec2": {"writes_require_assumed_role": True, "reservations": [
            {"reservation_id": "r-0123456789abcdef0", "instances": [
                {"instance_id": "i-0123456789abcdef0", "state": "running",
                 "tags": {"Name": "<!here|here> <@U0BOSS>"},
                 "console_output": "boot ok\n<!channel> please look\n<https://evil.example|click> & more\n"}]}]}})
        sink = Sink()
        d = Daemon(sink, plugins=("help",), fixtures=(), env=fake.env(), sections={
            "aws": {"region": "us-east-1"},
            "identity": {"mode": "map"}, "identity.users": {MAPPED: role("ops-admin")},
            "plugin.ec2": {"enabled": "true", "poll_seconds": "1"}}).start()
        try:
            texts = []
            for cmd in ("ec2 console i-0123456789abcdef0", "ec2 list", "ec2 stop i-0123456789abcdef0"):
                status, hdrs, _ = d.slash(cmd, user_id=MAPPED)
                texts += [m["text"] for m in sink.wait_final(hdrs["x-slashd-request-id"])]
            joined = "\n".join(texts)
            for raw in ("<!channel>", "<!here", "<@U0BOSS>", "<https://evil"):
                self.assertNotIn(raw, joined)
            self.assertIn("&lt;!channel&gt; please look", joined)
            self.assertIn("&lt;!here|here&gt; &lt;@U0BOSS&gt;", joined)
            self.assertIn("&lt;https://evil.example|click&gt; &amp; more", joined)
        finally:
            d.stop()
            sink.close()
        issued = fake.state()["issued_credentials"]
        fake.close()
        log = d.read_log()
        self.assertIn("event=assumed_role", log)
        secrets = [HOST_SECRET, SECRET, "secret-path-xyz", "legacy-token-unused"]
        secrets += [c[k] for c in issued for k in ("secret_access_key", "session_token") if c.get(k)]
        for s in secrets:
            self.assertNotIn(s, log)
            self.assertNotIn(s, joined)


class PluginFiles(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="slashd-sec-")
        os.chmod(self.dir, 0o755)
        self.so = os.path.join(self.dir, "good.so")
        shutil.copy(os.path.join(FIXTURE_DIR, "good.so"), self.so)
        os.chmod(self.so, 0o755)

    def tearDown(self):
        shutil.rmtree(self.dir)

    def check(self, path):
        ini = os.path.join(self.dir, "t.ini")
        with open(ini, "w") as f:
            f.write("[slack]\nsigning_secret = env:SLASHD_TEST_SECRET\n[plugin.good]\npath = %s\n" % path)
        return run_cli("check-config", config=ini, env={"SLASHD_TEST_SECRET": "x"})

    def test_good_file_loads(self):
        rc, out, err = self.check(self.so)
        self.assertEqual(rc, 0, err)
        self.assertIn("plugin good", out)

    def test_group_writable_refused(self):
        os.chmod(self.so, 0o775)
        rc, _, err = self.check(self.so)
        self.assertEqual(rc, 1)
        self.assertIn("writable by group or others (mode 775)", err)

    def test_symlink_refused(self):
        link = os.path.join(self.dir, "link.so")
        os.symlink(self.so, link)
        rc, _, err = self.check(link)
        self.assertEqual(rc, 1)
        self.assertIn("is a symbolic link", err)

    def test_dotdot_refused(self):
        rc, _, err = self.check(os.path.join(self.dir, "..", os.path.basename(self.dir), "good.so"))
        self.assertEqual(rc, 1)
        self.assertIn('".." is not allowed in plugin paths', err)

    def test_world_writable_directory_refused(self):
        os.chmod(self.dir, 0o777)
        rc, _, err = self.check(self.so)
        self.assertEqual(rc, 1)
        self.assertIn("which anyone can write to", err)


if __name__ == "__main__":
    unittest.main(verbosity=2)
