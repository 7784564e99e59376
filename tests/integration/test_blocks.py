"""Block Kit replies through the HTTP door against the fake AWS: ec2 list's
header with counts by state and one section per instance, s3 usage's short
sentence, an error's context line with the request id; the text fallback is
always there; Slack's limits are kept, with a count of what was left out."""

import os
import re
import sys
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from fakeaws import FakeAws  # noqa: E402
from harness import Daemon, Sink  # noqa: E402

EMOJI = {"running": ":large_green_circle:", "stopped": ":red_circle:"}


def inst(n, state, tags):
    return {"instance_id": "i-0a1b2c3d4e5f%05d" % n, "state": state, "tags": tags,
            "instance_type": "t3.micro", "private_ip": "10.0.%d.%d" % (n // 200, n % 200 + 10),
            "launch_time": "2024-05-01T16:46:19.000Z", "console_output": None}


class Blocks(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.fake = FakeAws()
        cls.sink = Sink()
        cls.d = Daemon(cls.sink, server={"dedupe_seconds": "0"}, plugins=("help",), fixtures=(), env=cls.fake.env(), sections={
            "aws": {"region": "us-east-1"},
            "plugin.ec2": {"enabled": "true", "page_size": "1000"},
            "plugin.s3": {"enabled": "true"}}).start()
        cls.n = 0

    @classmethod
    def tearDownClass(cls):
        cls.d.stop()
        cls.sink.close()
        cls.fake.close()

    def setUp(self):
        self.fake.reset(state=True)

    def final(self, text):
        type(self).n += 1
        status, hdrs, ack = self.d.slash(text, extra={"trigger_id": "b%d" % self.n})
        self.assertEqual(status, 200, ack)
        return self.sink.wait_final(hdrs["x-slashd-request-id"])[-1], hdrs["x-slashd-request-id"]

    def test_ec2_list(self):
        msg, _ = self.final("ec2 list")
        body = msg["body"]
        # The text fallback is the table, as before.
        self.assertTrue(body["text"].startswith("9 instances:\n```\nINSTANCE ID"), body["text"])
        blocks = body["blocks"]
        self.assertEqual(blocks[0]["type"], "header")
        states = [i["state"] for i in self.fake.state()["instances"]]
        self.assertEqual(blocks[0]["text"]["text"], "9 instances: %d running, %d stopped"
                         % (states.count("running"), states.count("stopped")))
        sections = blocks[1:]
        self.assertEqual(len(sections), 9)
        for s in sections:
            self.assertEqual(s["type"], "section")
            self.assertEqual([f["text"].split("\n")[0] for f in s["fields"]],
                             ["*State*", "*Type*", "*Private IP*"])
            state = s["fields"][0]["text"].split("\n")[1]
            self.assertTrue(s["text"]["text"].startswith(EMOJI[state] + " *"), s)
        # A hostile tag value is escaped in the blocks too.
        joined = " ".join(s["text"]["text"] for s in sections)
        self.assertIn("*&lt;!channel&gt; &amp; &lt;b&gt;*", joined)
        self.assertNotIn("<!channel>", joined)

    def test_limits_cut_with_a_count(self):
        many = [inst(i, "running" if i % 2 else "stopped", {"Name": "n%03d" % i + "x" * 3100})
                for i in range(1, 61)]
        self.fake.scenario({"ec2": {"reservations": [{"reservation_id": "r-0a1b2c3d4e5f00009",
                                                      "instances": many}]}})
        msg, _ = self.final("ec2 list")
        blocks = msg["body"]["blocks"]
        self.assertEqual(len(blocks), 50)
        self.assertEqual(blocks[0]["text"]["text"], "60 instances: 30 running, 30 stopped")
        self.assertEqual(blocks[-1]["type"], "context")
        # 1 header + 48 instances shown; the other 12 counted.
        self.assertEqual(blocks[-1]["elements"][0]["text"],
                         "… 12 more not shown (Slack shows 50 blocks at most).")
        for b in blocks[1:-1]:
            self.assertLessEqual(len(b["text"]["text"]), 3000)
            self.assertTrue(b["text"]["text"].endswith("…"), b["text"]["text"][-20:])
        self.assertIn("(truncated)", msg["body"]["text"])

    def test_s3_usage_sentence(self):
        msg, _ = self.final("s3 usage slashd-logs")
        blocks = msg["body"]["blocks"]
        self.assertEqual(len(blocks), 1)
        self.assertRegex(blocks[0]["text"]["text"],
                         r"^:bucket: \*[\d.]+ [KMGT]?i?B\* in `slashd-logs` \(Standard storage, "
                         r"as of \d{4}-\d\d-\d\d\)$")
        self.assertRegex(msg["body"]["text"], r"^slashd-logs: .* in Standard storage, as of ")

    def test_error_has_a_context_line_with_the_request_id(self):
        msg, rid = self.final("ec2 console i-0a1b2c3d4e5f99999")
        self.assertTrue(msg["error"])
        blocks = msg["body"]["blocks"]
        self.assertEqual([b["type"] for b in blocks], ["section", "context"])
        self.assertIn("was not found in", blocks[0]["text"]["text"])
        self.assertEqual(blocks[1]["elements"][0]["text"], "Request %s" % rid)
        self.assertIn("was not found in", msg["body"]["text"])


if __name__ == "__main__":
    unittest.main()
