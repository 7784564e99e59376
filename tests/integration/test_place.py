"""--region / --account against the strict fake AWS: through `slashd run`
and through the HTTP door. Refused values never reach AWS; place-dependent
errors say where they looked; `--region all` asks every region and one
failing region does not hide the others."""

import os
import re
import sys
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from fakeaws import ACCOUNT, FakeAws  # noqa: E402
from harness import Daemon, Sink, run_cli  # noqa: E402

MAPPED = "U012AB3CD"
IID = "i-0a1b2c3d4e5f00001"  # lives in us-east-1 in the fake
STAGING = "210987654321"


def sections(fake, extra=None):
    secs = {
        "aws": {"region": "us-east-1", "regions": "us-east-1, eu-west-1, us-west-2"},
        "identity": {"mode": "map", "confirm": "none"},
        "identity.users": {MAPPED: "arn:aws:iam::{account}:role/ops-admin"},
        "accounts": {"prod": ACCOUNT, "staging": "%s, region = eu-west-1" % STAGING},
        "plugin.ec2": {"enabled": "true", "poll_seconds": "1", "wait_seconds": "20"},
    }
    secs.update(extra or {})
    return secs


class Flags(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.fake = FakeAws()
        cls.d = Daemon(None, plugins=("help",), fixtures=(), sections=sections(cls.fake),
                       env=cls.fake.env())

    @classmethod
    def tearDownClass(cls):
        cls.fake.close()

    def setUp(self):
        self.fake.reset(state=True)

    def run_cmd(self, *words, user=MAPPED):
        return run_cli("run", "--user-id", user, *words, config=self.d.config, env=self.d.env)

    def regions_called(self, action="DescribeInstances"):
        return [c["region"] for c in self.fake.calls("ec2", action)]

    def test_every_spelling_reaches_the_region(self):
        for words in (["--region", "eu-west-1"], ["-r", "eu-west-1"], ["--region=eu-west-1"],
                      ["\u2014region", "eu-west-1"], ["\u2013region=eu-west-1"]):
            self.fake.reset(state=True)
            rc, out, err = self.run_cmd("ec2", "list", *words)
            self.assertEqual(rc, 0, out + err)
            self.assertEqual(out, "No instances in eu-west-1.\n:round_pushpin: eu-west-1\n", words)
            self.assertEqual(self.regions_called(), ["eu-west-1"], words)

    def test_default_region_is_named_too(self):
        rc, out, _ = self.run_cmd("ec2", "list")
        self.assertEqual(rc, 0)
        self.assertTrue(out.startswith("9 instances:"), out)
        self.assertTrue(out.endswith(":round_pushpin: us-east-1\n"), out)
        self.assertTrue(self.regions_called())
        self.assertEqual(set(self.regions_called()), {"us-east-1"})

    def test_refused_values_reach_no_host(self):
        cases = {
            "evil.example#": "`evil.example#` is not an AWS region name",
            "us-east-1.evil.example": "is not an AWS region name",
            "ap-south-1": "this host does not serve region ap-south-1; it serves us-east-1, "
                          "eu-west-1, us-west-2",
        }
        for value, sentence in cases.items():
            rc, out, _ = self.run_cmd("ec2", "list", "--region", value)
            self.assertEqual(rc, 2, out)
            self.assertIn(sentence, out)
        for value, sentence in {ACCOUNT: "not accepted from chat",
                                "arn:aws:iam::%s:root" % ACCOUNT: "not accepted from chat",
                                "dev": "there is no account `dev`"}.items():
            rc, out, _ = self.run_cmd("ec2", "list", "--account", value)
            self.assertEqual(rc, 2, out)
            self.assertIn(sentence, out)
        self.assertEqual(self.fake.calls(), [])

    def test_not_found_says_where_it_looked(self):
        rc, out, _ = self.run_cmd("ec2", "console", IID, "-r", "eu-west-1", "--account", "prod")
        self.assertEqual(rc, 1)
        self.assertIn("%s was not found in eu-west-1 (prod); try --region." % IID, out)
        self.assertRegex(out, r"InvalidInstanceID.NotFound: .*\(request id [^)]+\)")
        rc, out, _ = self.run_cmd("ec2", "console", IID)
        self.assertEqual(rc, 0, out)

    def test_account_runs_under_a_role_in_it(self):
        rc, out, err = self.run_cmd("ec2", "list", "--account", "prod")
        self.assertEqual(rc, 0, out + err)
        self.assertTrue(out.endswith(":round_pushpin: us-east-1 (prod)\n"), out)
        self.assertIn("ran as arn:aws:iam::%s:role/ops-admin" % ACCOUNT, err)
        assumed = self.fake.calls("sts", "AssumeRole")
        self.assertEqual([c["params"]["RoleArn"] for c in assumed],
                         ["arn:aws:iam::%s:role/ops-admin" % ACCOUNT])
        for c in self.fake.calls("ec2", "DescribeInstances"):
            self.assertTrue(c["had_session_token"])
        # staging: {account} filled with its id, its default region used; the
        # fake knows no role there, and the user is told so.
        self.fake.reset(state=True)
        rc, out, _ = self.run_cmd("ec2", "list", "--account", "staging")
        self.assertEqual(rc, 1, out)
        self.assertIn("could not assume arn:aws:iam::%s:role/ops-admin" % STAGING, out)
        self.assertTrue(out.endswith(":round_pushpin: eu-west-1 (staging)\n"), out)
        self.assertEqual(self.regions_called(), [])

    def test_region_all_one_section_per_region_and_a_failing_one(self):
        self.fake.scenario({"faults": [{"service": "ec2", "action": "DescribeInstances",
                                        "region": "eu-west-1", "kind": "internal", "count": 50}]})
        rc, out, err = self.run_cmd("ec2", "list", "--region", "all")
        self.assertEqual(rc, 1, out + err)  # one region failed: not a clean success
        parts = re.split(r"^\*([a-z0-9-]+)\*$", out, flags=re.M)
        self.assertEqual(parts[1::2], ["us-east-1", "eu-west-1", "us-west-2"], out)
        us, eu, west = parts[2], parts[4], parts[6]
        self.assertIn("9 instances:", us)
        self.assertIn(IID, us)
        self.assertIn("Could not list the instances: InternalError", eu)
        self.assertIn("No instances in us-west-2.", west)
        self.assertEqual(sorted(set(self.regions_called())), ["eu-west-1", "us-east-1", "us-west-2"])

    def test_write_commands_never_fan_out(self):
        rc, out, _ = self.run_cmd("ec2", "stop", IID, "--region", "all")
        self.assertEqual(rc, 2)
        self.assertIn("`--region all` is for read commands", out)
        self.assertEqual(self.fake.calls(), [])

    def test_help_shows_the_flags(self):
        rc, out, _ = self.run_cmd("help")
        self.assertEqual(rc, 0)
        for flag in ("--region R, -r R, --region=R", "--region all", "--account ALIAS"):
            self.assertIn(flag, out)


class ThroughTheDoor(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.fake = FakeAws()
        cls.sink = Sink()
        cls.d = Daemon(cls.sink, plugins=("help",), fixtures=(), sections=sections(cls.fake),
                       env=cls.fake.env()).start()

    @classmethod
    def tearDownClass(cls):
        cls.d.stop()
        cls.sink.close()
        cls.fake.close()

    def test_refused_region_in_the_ack(self):
        status, hdrs, ack = self.d.slash("ec2 list --region evil.example#", user_id=MAPPED)
        self.assertEqual(status, 200)
        self.assertNotIn("x-slashd-request-id", hdrs)
        self.assertIn("is not an AWS region name", ack["text"])
        status, _, ack = self.d.slash("ec2 stop %s --region all" % IID, user_id=MAPPED)
        self.assertIn("`--region all` is for read commands", ack["text"])

    def test_region_and_account_in_the_reply(self):
        status, hdrs, ack = self.d.slash("ec2 console %s -r eu-west-1 --account prod" % IID,
                                         user_id=MAPPED)
        self.assertEqual(status, 200, ack)
        msgs = self.sink.wait_final(hdrs["x-slashd-request-id"])
        self.assertIn("%s was not found in eu-west-1 (prod); try --region." % IID, msgs[-1]["text"])
        self.assertIn(":round_pushpin: eu-west-1 (prod)", msgs[-1]["text"])

    def test_region_all_through_a_worker(self):
        status, hdrs, _ = self.d.slash("ec2 list --region all", user_id=MAPPED)
        msgs = self.sink.wait_final(hdrs["x-slashd-request-id"])
        text = msgs[-1]["text"]
        self.assertEqual(re.findall(r"^\*([a-z0-9-]+)\*$", text, flags=re.M),
                         ["us-east-1", "eu-west-1", "us-west-2"], text)
        self.assertIn("9 instances:", text)


if __name__ == "__main__":
    unittest.main()
