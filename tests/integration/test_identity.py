"""Identity and access: every write runs under the caller's own role (STS),
nobody unmapped gets one, ACLs hold, and the audit trail says who did what."""

import json
import os
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from fakeaws import FakeAws, role  # noqa: E402
from harness import Daemon, Sink, run_cli  # noqa: E402

ALICE = "U0ALICE01"   # mapped to ops-admin
BOB = "U0BOB0001"     # not mapped
IID = "i-0a1b2c3d4e5f00009"


def daemon(fake, sink, identity, users=None, access=None, server=None, extra_sections=None,
           audit=None):

    secs = {
        "aws": {"region": "us-east-1"},
        "identity": identity,
        "plugin.ec2": {"enabled": "true", "poll_seconds": "1", "page_size": "1000"},
        "plugin.s3": {"enabled": "true"},
    }
    if users:
        secs["identity.users"] = users
    if access:
        secs["access"] = access
    if audit:
        secs["audit"] = {"file": audit}
    secs.update(extra_sections or {})
    return Daemon(sink, server=server or {"workers": "2"}, plugins=("help",), fixtures=(),
                  sections=secs, env=fake.env())


class MapMode(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.fake = FakeAws()
        # The fake refuses writes signed with the host's own (long-term) keys.
        cls.fake.scenario({"ec2": {"writes_require_assumed_role": True}})
        cls.sink = Sink()
        cls.audit = os.path.join(os.environ.get("TMPDIR", "/tmp"), "slashd-audit-%d.jsonl" % os.getpid())
        cls.d = daemon(cls.fake, cls.sink, {"mode": "map", "session_duration": "1800"},
                       users={ALICE: role("ops-admin"), "U0NOTRUST": role("no-trust")},
                       audit=cls.audit, server={"workers": "2", "dedupe_seconds": "0"}).start()

    @classmethod
    def tearDownClass(cls):
        rc = cls.d.stop()
        cls.sink.close()
        cls.fake.close()
        os.unlink(cls.audit)
        assert rc == 0

    def setUp(self):
        self.fake.reset(state=False)

    def ask(self, text, user=ALICE, channel="C0OPS"):
        status, hdrs, ack = self.d.slash(text, user_id=user, extra={"channel_id": channel})
        self.assertEqual(status, 200)
        return hdrs.get("x-slashd-request-id"), ack

    def test_mapped_user_stops_and_starts_under_their_role(self):
        rid, _ = self.ask("ec2 stop " + IID)
        msgs = self.sink.wait_final(rid)
        self.assertRegex(msgs[-1]["text"], r"is stopped \(took \d+ s\)")
        rid2, _ = self.ask("ec2 start " + IID)
        self.assertRegex(self.sink.wait_final(rid2)[-1]["text"], r"is running")
        assumes = [a for a in self.fake.state()["assume_role_calls"] if a["source_identity"] == ALICE]
        a = assumes[-1]
        self.assertEqual(a["role_arn"], role("ops-admin"))
        self.assertEqual(a["role_session_name"], "slashd-" + ALICE)
        self.assertEqual(a["duration_seconds"], 1800)
        self.assertEqual(a["tags"], {"slack_user": ALICE, "slack_team": "T0TEST", "slack_channel": "C0OPS"})
        self.assertEqual(a["caller_access_key_id"], "AKIDSLASHDHOST")
        writes = self.fake.calls("ec2", "StopInstances") + self.fake.calls("ec2", "StartInstances")
        self.assertEqual(len(writes), 2)
        for w in writes:
            self.assertEqual(w["status"], 200)
            self.assertTrue(w["had_session_token"])
            self.assertEqual(w["principal"], "arn:aws:sts::123456789012:assumed-role/ops-admin/slashd-" + ALICE)

    def test_cache_hit_makes_no_sts_call(self):
        # Two workers: whichever runs the next job reuses the credentials.
        for _ in range(4):
            rid, _ = self.ask("ec2 stop " + IID)
            self.sink.wait_final(rid)
            rid, _ = self.ask("ec2 start " + IID)
            self.sink.wait_final(rid)
        assumes = [c for c in self.fake.calls("sts", "AssumeRole")]
        self.assertLessEqual(len(assumes), 1, "credentials are assumed at most once per user")
        self.assertEqual(len(self.fake.calls("ec2", "StopInstances")), 4)

    def test_rejected_credentials_are_assumed_again(self):
        rid, _ = self.ask("ec2 list")
        self.sink.wait_final(rid)
        rid, _ = self.ask("ec2 stop " + IID)
        self.sink.wait_final(rid)
        before = len(self.fake.calls("sts", "AssumeRole"))
        self.fake.expire()  # AWS stops taking every issued credential
        rid, _ = self.ask("ec2 start " + IID)
        msgs = self.sink.wait_final(rid)
        self.assertRegex(msgs[-1]["text"], r"is running")
        self.assertEqual(len(self.fake.calls("sts", "AssumeRole")), before + 1)

    def test_unmapped_user_refused_without_any_aws_call(self):
        rid, ack = self.ask("ec2 stop " + IID, user=BOB)
        self.assertIsNone(rid)
        self.assertIn("Ask an admin to add `" + BOB + " = arn:aws:iam::&lt;account&gt;:role/&lt;role&gt;` "
                      "under [identity.users].", ack["text"])
        self.assertNotIn("```", ack["text"])

        self.assertIn("[identity.users]", ack["text"])
        time.sleep(0.3)
        self.assertEqual(self.fake.calls(), [])
        # Read commands still work for them, with the host's credentials.
        rid, _ = self.ask("ec2 list", user=BOB)
        self.assertIn("9 instances", self.sink.wait_final(rid)[-1]["text"])
        self.assertEqual({c["access_key_id"] for c in self.fake.calls()}, {"AKIDSLASHDHOST"})

    def test_help_shows_only_what_the_user_may_run(self):
        rid, _ = self.ask("help", user=BOB)
        bob = self.sink.wait_final(rid)[-1]["text"]
        rid, _ = self.ask("help", user=ALICE)
        alice = self.sink.wait_final(rid)[-1]["text"]
        self.assertNotIn("ec2 stop", bob)
        self.assertIn("ec2 stop", alice)
        self.assertIn("(runs as your IAM role)", alice)

    def test_sts_refusal_is_a_sentence(self):
        rid, _ = self.ask("ec2 stop " + IID, user="U0NOTRUST")
        msg = self.sink.wait_final(rid)[-1]
        self.assertTrue(msg["error"])
        self.assertRegex(msg["text"], r"could not assume arn:aws:iam::123456789012:role/no-trust for you: "
                                      r"AccessDenied: ")

    def test_audit_lines(self):
        rid, _ = self.ask("ec2 stop " + IID, channel="C0AUDIT")
        self.sink.wait_final(rid)
        self.sink.wait_final(self.ask("ec2 start " + IID)[0])
        rid2, _ = self.ask("s3 list", user=BOB, channel="C0AUDIT")
        self.sink.wait_final(rid2)
        time.sleep(0.2)
        lines = [json.loads(l) for l in open(self.audit)]
        by_id = {l["request_id"]: l for l in lines}
        w, r = by_id[rid], by_id[rid2]
        self.assertEqual(sorted(w), sorted(["time", "request_id", "team", "user", "user_name", "channel",
                                            "text", "plugin", "command", "identity", "session",
                                            "outcome", "duration_ms"]))
        self.assertEqual((w["team"], w["user"], w["channel"], w["text"], w["plugin"], w["command"]),
                         ("T0TEST", ALICE, "C0AUDIT", "ec2 stop " + IID, "ec2", "stop"))
        self.assertEqual((w["identity"], w["session"], w["outcome"]),
                         (role("ops-admin"), "slashd-" + ALICE, "ok"))
        self.assertGreater(w["duration_ms"], 0)
        self.assertRegex(w["time"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
        self.assertEqual((r["user"], r["identity"], r["session"], r["outcome"]), (BOB, "host", "", "ok"))
        raw = open(self.audit).read()
        for secret in ("slashd-host-secret", "secret-path-xyz", "SessionToken"):
            self.assertNotIn(secret, raw)
        self.assertEqual(os.stat(self.audit).st_mode & 0o777, 0o600)


class AccessRules(unittest.TestCase):
    def test_users_channels_and_deny(self):
        fake = FakeAws()
        sink = Sink()
        users = {ALICE: role("ops-admin"), BOB: role("ops-admin"), "U0EVE0001": role("ops-admin")}
        access = {"ec2.stop": "%s, %s" % (ALICE, BOB),
                  "ec2.* @channels": "C0OPS",
                  "* @deny": "U0EVE0001, C0BANNED"}
        d = daemon(fake, sink, {"mode": "map"}, users=users, access=access).start()
        try:
            cases = [
                (ALICE, "C0OPS", "ec2 stop " + IID, True),
                (BOB, "C0OPS", "ec2 stop " + IID, True),
                ("U0CAROL01", "C0OPS", "ec2 stop " + IID, False),   # not on the ec2.stop list
                (ALICE, "C0RANDOM", "ec2 stop " + IID, False),      # wrong channel for ec2.*
                (ALICE, "C0RANDOM", "s3 list", True),               # ec2 channel rule only
                ("U0EVE0001", "C0OPS", "ec2 list", False),          # deny wins
                (ALICE, "C0BANNED", "help", False),                 # channel denied
            ]
            for user, channel, text, allowed in cases:
                with self.subTest(user=user, channel=channel, text=text):
                    fake.reset(state=False)
                    status, hdrs, ack = d.slash(text, user_id=user, extra={"channel_id": channel})
                    self.assertEqual(status, 200)
                    if allowed:
                        self.assertIn("x-slashd-request-id", hdrs, ack)
                        sink.wait_final(hdrs["x-slashd-request-id"])
                    else:
                        self.assertNotIn("x-slashd-request-id", hdrs)
                        self.assertRegex(ack["text"], r"may not run|cannot be run in this channel")
                        self.assertEqual(fake.calls(), [])

        finally:
            d.stop()
            sink.close()
            fake.close()


class TemplateAndIamUser(unittest.TestCase):
    def test_template_mode(self):
        fake = FakeAws()
        fake.scenario({"ec2": {"writes_require_assumed_role": True}})
        d = daemon(fake, None, {"mode": "template",
                                "role_template": "arn:aws:iam::123456789012:role/slack-{user_name}"})
        try:
            rc, out, err = run_cli("run", "--user-id", "U0ALICE01", "--user-name", "alice", "ec2", "stop", IID,
                                   config=d.config, env=d.env)
            self.assertEqual(rc, 0, out + err)
            self.assertIn("ran as arn:aws:iam::123456789012:role/slack-alice, session slashd-U0ALICE01", err)
            a = fake.state()["assume_role_calls"][-1]
            self.assertEqual(a["role_arn"], role("slack-alice"))
            # A hostile user name cannot reach outside the role name.
            rc, out, _ = run_cli("run", "--user-id", "U0X", "--user-name", "x:role/../ops-admin", "ec2", "stop",
                                 IID, config=d.config, env=d.env)
            self.assertEqual(rc, 1)
            self.assertIn("slack-x-role-..-ops-admin", out)
        finally:
            fake.close()

    def test_iam_user_mode(self):
        fake = FakeAws()
        d = daemon(fake, None, {"mode": "iam-user", "role_name": "ops-admin", "required_policy": "AllAccessPolicy"})
        try:
            rc, out, err = run_cli("run", "--user-id", "U0ALICE01", "--user-name", "alice", "ec2", "stop", IID,
                                   config=d.config, env=d.env)
            self.assertEqual(rc, 0, out + err)
            self.assertEqual([c["action"] for c in fake.calls("iam")], ["GetUser", "GetUserPolicy"])
            self.assertEqual(fake.calls("iam")[1]["params"]["PolicyName"], "AllAccessPolicy")
            self.assertEqual(fake.state()["assume_role_calls"][-1]["role_arn"], role("ops-admin"))
            rc, out, _ = run_cli("run", "--user-id", "U0BOB0001", "--user-name", "bob", "ec2", "stop", IID,
                                 config=d.config, env=d.env)
            self.assertEqual(rc, 1)
            self.assertIn("there is no IAM user named bob", out)
            # slashd-host exists but lacks the required policy.
            rc, out, _ = run_cli("run", "--user-id", "U0H", "--user-name", "slashd-host", "ec2", "stop", IID,
                                 config=d.config, env=d.env)
            self.assertEqual(rc, 1)
            self.assertIn("does not carry the policy AllAccessPolicy", out)
        finally:
            fake.close()

    def test_mode_none_refuses_every_write(self):
        fake = FakeAws()
        d = daemon(fake, None, {"mode": "none"})
        try:
            rc, out, _ = run_cli("run", "--user-id", ALICE, "ec2", "stop", IID, config=d.config, env=d.env)
            self.assertEqual(rc, 2)
            self.assertIn("mode = none", out)
            self.assertEqual(fake.calls(), [])
        finally:
            fake.close()

    def test_read_as_assume(self):
        fake = FakeAws()
        d = daemon(fake, None, {"mode": "map", "read": "assume"}, users={ALICE: role("slashd-readonly")})
        try:
            rc, out, err = run_cli("run", "--user-id", ALICE, "s3", "list", config=d.config, env=d.env)
            self.assertEqual(rc, 0, out + err)
            self.assertTrue(all(c["had_session_token"] for c in fake.calls("s3")))
            self.assertEqual(fake.state()["assume_role_calls"][-1]["role_arn"], role("slashd-readonly"))
        finally:
            fake.close()


if __name__ == "__main__":
    unittest.main(verbosity=2)
