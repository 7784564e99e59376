"""The ec2 and s3 commands against the strict fake AWS, through `slashd run`
and through the HTTP front door, end to end."""

import base64
import os
import re
import sys
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from fakeaws import FakeAws, role  # noqa: E402
from harness import Daemon, Sink, run_cli  # noqa: E402

ALL = ["i-0a1b2c3d4e5f0000%d" % i for i in range(1, 10)]
MAPPED = "U012AB3CD"


def make_daemon(fake, sink=None, server=None, plugin_opts=None, sections=None, env=None, **kw):
    secs = {
        "aws": {"region": "us-east-1"},
        "identity": {"mode": "map", "session_duration": "900"},
        "identity.users": {MAPPED: role("ops-admin")},
        "plugin.ec2": {"enabled": "true", "poll_seconds": "1", "page_size": "5",
                       "wait_seconds": "20"},
        "plugin.s3": {"enabled": "true", "page_size": "2"},
    }
    for k, v in (plugin_opts or {}).items():
        secs.setdefault(k, {}).update(v)
    secs.update(sections or {})
    return Daemon(sink, server=server, plugins=("help",), fixtures=(), sections=secs,
                  env=fake.env(**(env or {})), **kw)


class Commands(unittest.TestCase):
    """Every command through `slashd run`."""

    @classmethod
    def setUpClass(cls):
        cls.fake = FakeAws()
        cls.d = make_daemon(cls.fake)

    @classmethod
    def tearDownClass(cls):
        cls.fake.close()

    def setUp(self):
        self.fake.reset(state=True)

    def run_cmd(self, *words, user=MAPPED, env=None):
        e = dict(self.d.env)
        e.update(env or {})
        return run_cli("run", "--user-id", user, *words, config=self.d.config, env=e)

    def test_ec2_list_every_instance_of_every_page(self):
        rc, out, err = self.run_cmd("ec2", "list")
        self.assertEqual(rc, 0, out + err)
        self.assertTrue(out.startswith("9 instances:\n```\nINSTANCE ID"), out)
        for iid in ALL:
            self.assertIn(iid, out)
        # Two pages of five, every reservation of each page.
        calls = self.fake.calls("ec2", "DescribeInstances")
        self.assertEqual(len(calls), 2)
        self.assertEqual(calls[0]["params"]["MaxResults"], "5")
        self.assertIn("NextToken", calls[1]["params"])
        self.assertTrue(all(c["signed_ok"] for c in calls))
        # Sorted by name (compared unescaped), unnamed ones ("-") last, hostile name escaped.
        names = [re.split(r"\s{2,}", line)[1] for line in out.splitlines()[3:12]]
        raw = [n.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&") for n in names]
        named = [n for n in raw if n != "-"]
        self.assertEqual(raw, sorted(named, key=str.lower) + ["-"] * 3)
        self.assertIn("&lt;!channel&gt; &amp; &lt;b&gt;", out)
        self.assertNotIn("<!channel>", out)
        row3 = [l for l in out.splitlines() if l.startswith("i-0a1b2c3d4e5f00003")][0]
        self.assertRegex(row3, r"^i-0a1b2c3d4e5f00003\s+-\s+\S+\s+running\s+10\.")
        self.assertIn("stopped", [l for l in out.splitlines() if "i-0a1b2c3d4e5f00005" in l][0])

    def test_ec2_console(self):
        rc, out, err = self.run_cmd("ec2", "console", "i-0a1b2c3d4e5f00001")
        self.assertEqual(rc, 0, out + err)
        self.assertTrue(out.startswith("Console output of i-0a1b2c3d4e5f00001 (last 20 lines):\n```\n"))
        body = out.split("```\n", 1)[1].rsplit("\n```", 1)[0]
        self.assertEqual(len(body.splitlines()), 20)
        self.assertIn("i-0a1b2c3d4e5f00001 (web-1) finished booting", body)
        call = self.fake.calls("ec2", "GetConsoleOutput")[0]
        self.assertEqual(call["params"], {"Action": "GetConsoleOutput", "Version": "2016-11-15",
                                          "InstanceId": "i-0a1b2c3d4e5f00001", "Latest": "true"})

    def test_ec2_console_lines_setting_and_utf8(self):
        d = make_daemon(self.fake, plugin_opts={"plugin.ec2": {"console_lines": "200"}})
        e = dict(d.env)
        rc, out, _ = run_cli("run", "ec2", "console", "i-0a1b2c3d4e5f00001", config=d.config, env=e)
        self.assertEqual(rc, 0)
        self.assertIn("café", out)
        self.assertIn("(last 200 lines)", out)

    def test_ec2_console_none_yet(self):
        rc, out, _ = self.run_cmd("ec2", "console", "i-0a1b2c3d4e5f00008")
        self.assertEqual(rc, 0)
        self.assertIn("has no console output yet", out)

    def test_ec2_bad_ids_need_no_call(self):
        for bad in ("i-xyz", "vol-0123456789abcdef0", "I-0A1B2C3D4E5F00001"):
            rc, out, _ = self.run_cmd("ec2", "console", bad)
            self.assertEqual(rc, 1)
            self.assertIn("is not an instance id", out)
        self.assertEqual(self.fake.calls(), [])

    def test_ec2_unknown_instance(self):
        rc, out, _ = self.run_cmd("ec2", "console", "i-0a1b2c3d4e5f99999")
        self.assertEqual(rc, 1)
        self.assertRegex(out, r"Could not get the console output of i-0a1b2c3d4e5f99999: "
                              r"InvalidInstanceID.NotFound: .*\(request id [^)]+\)")

    def test_ec2_stop_then_start(self):
        iid = "i-0a1b2c3d4e5f00001"
        rc, out, err = self.run_cmd("ec2", "stop", iid)
        self.assertEqual(rc, 0, out + err)
        lines = out.splitlines()
        self.assertEqual(lines[0], "Stopping %s… (stopping)" % iid)
        self.assertRegex(lines[1], r"^%s is stopped \(took \d+ s\)\.$" % iid)
        self.assertEqual(self.fake.instance(iid)["state"], "stopped")
        rc, out, _ = self.run_cmd("ec2", "stop", iid)
        self.assertEqual((rc, out), (0, "%s is already stopped; nothing to do.\n" % iid))
        rc, out, _ = self.run_cmd("ec2", "start", iid)
        self.assertEqual(rc, 0)
        self.assertRegex(out.splitlines()[-1], r"^%s is running \(took \d+ s\)\.$" % iid)
        self.assertEqual(self.fake.instance(iid)["state"], "running")
        # Every write ran under the user's role, never the host's keys.
        for c in self.fake.calls("ec2", "StopInstances") + self.fake.calls("ec2", "StartInstances"):
            self.assertTrue(c["had_session_token"])
            self.assertIn("assumed-role/ops-admin/slashd-" + MAPPED, c["principal"])

    def test_ec2_wait_ends_before_the_job_does(self):
        # Never reaches "stopped": the reply comes before job_timeout, not after.
        self.fake.scenario({"ec2": {"transition_polls": None}})
        d = make_daemon(self.fake, server={"job_timeout": "6"},
                        plugin_opts={"plugin.ec2": {"wait_seconds": "120"}})
        rc, out, _ = run_cli("run", "--user-id", MAPPED, "ec2", "stop", "i-0a1b2c3d4e5f00009",
                             config=d.config, env=d.env)
        self.assertEqual(rc, 0, out)
        self.assertRegex(out, r"is still stopping after [1-4] s; it should be stopped soon")
        self.fake.scenario({"ec2": {"transition_polls": 2}})

    def test_s3_list_all_pages(self):
        rc, out, err = self.run_cmd("s3", "list")
        self.assertEqual(rc, 0, out + err)
        self.assertEqual(out, "5 buckets:\n```\nempty-bucket\nslashd-artifacts\nslashd-backups\n"
                              "slashd-logs\nteam-data-eu\n```\n")
        calls = self.fake.calls("s3")
        self.assertEqual(len(calls), 3)
        self.assertIn("continuation-token", calls[1]["params"])

    def test_s3_usage(self):
        rc, out, err = self.run_cmd("s3", "usage", "slashd-logs")
        self.assertEqual(rc, 0, out + err)
        self.assertRegex(out, r"^slashd-logs: 5\.00 GiB \(5,368,709,120 bytes\) in Standard storage, "
                              r"as of \d{4}-\d\d-\d\d\.\n$")
        cw = self.fake.calls("monitoring", "GetMetricStatistics")[0]["params"]
        self.assertEqual(cw["Dimensions.member.1.Value"], "slashd-logs")
        self.assertEqual(cw["Dimensions.member.2.Value"], "StandardStorage")
        self.assertEqual(cw["Period"], "86400")

    def test_s3_usage_in_the_buckets_region(self):
        rc, out, _ = self.run_cmd("s3", "usage", "slashd-backups")
        self.assertEqual(rc, 0, out)
        self.assertIn("slashd-backups: 1.00 TiB (1,099,511,627,776 bytes)", out)
        self.assertEqual(self.fake.calls("monitoring")[0]["region"], "us-west-2")

    def test_s3_usage_no_data_and_errors(self):
        rc, out, _ = self.run_cmd("s3", "usage", "empty-bucket")
        self.assertEqual(rc, 0)
        self.assertIn("S3 has not reported a size for empty-bucket", out)
        rc, out, _ = self.run_cmd("s3", "usage", "Bad_Name")
        self.assertEqual(rc, 1)
        self.assertIn("not a valid bucket name", out)
        rc, out, _ = self.run_cmd("s3", "usage", "no-such-bucket-here")
        self.assertEqual(rc, 1)
        self.assertIn("There is no bucket named no-such-bucket-here", out)

    def test_throttling_then_success(self):
        self.fake.scenario({"faults": [{"service": "ec2", "action": "DescribeInstances", "count": 2,
                                        "kind": "throttle"}]})
        rc, out, err = self.run_cmd("ec2", "list")
        self.assertEqual(rc, 0, out + err)
        self.assertIn("9 instances", out)
        self.assertEqual([c["status"] for c in self.fake.calls("ec2", "DescribeInstances")][:3],
                         [503, 503, 200])
        self.fake.scenario({"faults": []})

    def test_server_errors_become_a_sentence(self):
        self.fake.scenario({"faults": [{"service": "s3", "action": "*", "count": 50, "kind": "internal"}]})
        rc, out, _ = self.run_cmd("s3", "list")
        self.assertEqual(rc, 1)
        self.assertRegex(out, r"^Could not list the buckets: InternalError: .+\n$")
        self.assertEqual(len(self.fake.calls("s3")), 4)  # [aws] max_attempts default
        self.fake.scenario({"faults": []})

    def test_bad_keys_and_no_keys(self):
        rc, out, _ = self.run_cmd("ec2", "list", env={"AWS_SECRET_ACCESS_KEY": "wrong"})
        self.assertEqual(rc, 1)
        self.assertRegex(out, r"Could not list the instances: AuthFailure: ")
        env = {"AWS_ACCESS_KEY_ID": "", "AWS_SECRET_ACCESS_KEY": ""}
        rc, out, _ = self.run_cmd("s3", "list", env=env)
        self.assertEqual(rc, 1)
        self.assertIn("no AWS credentials found; tried: environment", out)
        self.assertIn("instance metadata (disabled", out)

    def test_container_credentials(self):
        env = {"AWS_ACCESS_KEY_ID": "", "AWS_SECRET_ACCESS_KEY": "",
               "AWS_CONTAINER_CREDENTIALS_FULL_URI": self.fake.url + "/ecs/credentials",
               "AWS_CONTAINER_AUTHORIZATION_TOKEN": "slashd-container-token"}
        rc, out, err = self.run_cmd("s3", "list", env=env)
        self.assertEqual(rc, 0, out + err)
        calls = self.fake.calls()
        self.assertEqual(calls[0]["service"], "container")
        self.assertTrue(all(c["had_session_token"] for c in calls if c["service"] == "s3"))

    def test_stale_clock_is_refused_by_the_fake(self):
        # The fake is as strict as AWS: a request signed 10 minutes ago fails.
        import urllib.request
        req = urllib.request.Request(self.fake.url + "/", method="POST", data=b"Action=DescribeInstances&Version=2016-11-15",
                                     headers={"Content-Type": "application/x-www-form-urlencoded",
                                              "X-Amz-Date": "20200101T000000Z",
                                              "Authorization": "AWS4-HMAC-SHA256 Credential=AKIDSLASHDHOST/20200101/us-east-1/ec2/aws4_request, SignedHeaders=host;x-amz-date, Signature=00"})
        with self.assertRaises(urllib.error.HTTPError) as cm:
            urllib.request.urlopen(req, timeout=5)
        self.assertIn(cm.exception.code, (400, 401))


class ThroughTheFrontDoor(unittest.TestCase):
    """Signed POST → ack → worker → fake AWS → reply on the response_url sink."""

    @classmethod
    def setUpClass(cls):
        cls.fake = FakeAws()
        cls.sink = Sink()
        cls.d = make_daemon(cls.fake, cls.sink).start()

    @classmethod
    def tearDownClass(cls):
        rc = cls.d.stop()
        cls.sink.close()
        cls.fake.close()
        assert rc == 0

    def ask(self, text, user=MAPPED, timeout=30):
        status, hdrs, ack = self.d.slash(text, user_id=user)
        self.assertEqual(status, 200)
        self.assertIn("x-slashd-request-id", hdrs, ack)
        return self.sink.wait_final(hdrs["x-slashd-request-id"], timeout=timeout)

    def test_list_console_usage(self):
        msgs = self.ask("ec2 list")
        self.assertTrue(msgs[-1]["text"].startswith("9 instances:"))
        self.assertIn("&lt;!channel&gt;", msgs[-1]["text"])
        msgs = self.ask("ec2 console i-0a1b2c3d4e5f00009")
        self.assertIn("(bastion) finished booting", msgs[-1]["text"])
        msgs = self.ask("s3")
        self.assertIn("slashd-logs", msgs[-1]["text"])
        msgs = self.ask("s3 usage slashd-artifacts")
        self.assertIn("(123,456,789 bytes)", msgs[-1]["text"])

    def test_stop_reports_progress_then_the_result(self):
        msgs = self.ask("ec2 stop i-0a1b2c3d4e5f00006")
        self.assertEqual([m["final"] for m in msgs], [False, True])
        self.assertEqual(msgs[0]["text"], "Stopping i-0a1b2c3d4e5f00006… (stopping)")
        self.assertRegex(msgs[1]["text"], r"i-0a1b2c3d4e5f00006 is stopped \(took \d+ s\)")
        self.ask("ec2 start i-0a1b2c3d4e5f00006")

    def test_aws_error_reaches_the_user(self):
        msgs = self.ask("ec2 stop i-0a1b2c3d4e5f99999")
        self.assertTrue(msgs[-1]["error"])
        self.assertIn("InvalidInstanceID.NotFound", msgs[-1]["text"])
        self.assertEqual(self.d.metrics()["slashd_worker_restarts_total"], 0)


class KmsSecret(unittest.TestCase):
    def test_signing_secret_from_kms(self):
        fake = FakeAws()
        sink = Sink()
        blob = base64.b64encode(b"slashd-kms:v1:signing-secret").decode()
        d = Daemon(sink, secret="8f742231b10e8888abcd99yyyzzz85a5", plugins=("help",), fixtures=(),
                   slack={"signing_secret": "kms:" + blob}, env=fake.env())
        try:
            d.start()
            status, hdrs, _ = d.slash("help")
            self.assertEqual(status, 200)
            sink.wait_final(hdrs["x-slashd-request-id"])
            self.assertEqual(len(fake.calls("kms", "Decrypt")), 1)
            status, _, _ = d.slash("help", secret="slashd-kms:v1:signing-secret")
            self.assertEqual(status, 401)
        finally:
            d.stop()
            sink.close()
            fake.close()
        self.assertNotIn("8f742231b10e8888abcd99yyyzzz85a5", d.read_log())

    def test_undecryptable_kms_secret_stops_the_start(self):
        fake = FakeAws()
        d = Daemon(None, plugins=("help",), fixtures=(), slack={"signing_secret": "kms:bm90LWEtYmxvYg=="},
                   env=fake.env())
        try:
            with self.assertRaises(AssertionError) as cm:
                d.start(timeout=10)
            self.assertIn("KMS could not decrypt it: InvalidCiphertextException", str(cm.exception))
        finally:
            fake.close()


if __name__ == "__main__":
    unittest.main(verbosity=2)
