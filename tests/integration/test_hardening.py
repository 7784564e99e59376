"""Hardening, round two (issue 11): what an attacker and a careless plugin
found. Each class is one item of the issue and fails on the code before it."""

import os
import re
import socket
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from harness import SECRET, Daemon, Sink, run_cli, sign  # noqa: E402


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


if __name__ == "__main__":
    unittest.main()
