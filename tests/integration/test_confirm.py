"""Confirmation of write commands, end to end through the HTTP door against
the strict fake AWS: the prompt (danger button with Slack's confirm dialog,
Cancel, a code), clicks on POST /slack/actions (signed like commands), the
requester's click running the job in place of the prompt, and every click
that must change nothing (another user, expired, tampered, replayed,
cancelled); the code for clients without buttons; `slashd run --yes`; and a
1.1 plugin's write command getting the generic prompt."""

import base64
import hashlib
import hmac
import json
import os
import re
import sys
import time
import unittest
import urllib.parse

sys.path.insert(0, os.path.dirname(__file__))
from fakeaws import FakeAws, role  # noqa: E402
from harness import SECRET, Daemon, Sink, run_cli, sign  # noqa: E402

MAPPED = "U012AB3CD"
OTHER = "U0OTHER01"
IID = "i-0a1b2c3d4e5f00001"


def sections(**identity):
    ident = {"mode": "map", "confirm": "write"}
    ident.update(identity)
    return {
        "aws": {"region": "us-east-1"},
        "identity": ident,
        "identity.users": {MAPPED: role("ops-admin"), OTHER: role("ops-admin")},
        "plugin.ec2": {"enabled": "true", "poll_seconds": "1", "wait_seconds": "20"},
        "audit": {},
    }


def b64url(raw):
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def unb64url(s):
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


def forge(payload, secret=SECRET):
    """A token signed the documented way: HMAC-SHA256 under
    HMAC(secret, "slashd/confirm-token/v1") over "v1." + base64url(JSON)."""
    key = hmac.new(secret.encode(), b"slashd/confirm-token/v1", hashlib.sha256).digest()
    signed = "v1." + b64url(json.dumps(payload, separators=(",", ":")).encode())
    return signed + "." + b64url(hmac.new(key, signed.encode(), hashlib.sha256).digest())


class Confirm(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.fake = FakeAws()
        cls.sink = Sink()
        secs = sections()
        # Each test stops the same instance: no duplicate window between them.
        cls.d = Daemon(cls.sink, server={"dedupe_seconds": "0"}, plugins=("help",),
                       fixtures=("good", "minor11"), sections=secs, env=cls.fake.env())
        cls.audit = os.path.join(cls.d.dir, "audit.jsonl")
        with open(cls.d.config, "a") as f:
            f.write("\n[audit]\nfile = %s\n" % cls.audit)
        cls.d.start()
        cls.clicks = 0

    @classmethod
    def tearDownClass(cls):
        cls.d.stop()
        cls.sink.close()
        cls.fake.close()

    def setUp(self):
        self.fake.reset(state=True)

    # -- helpers -------------------------------------------------------------
    def slash(self, text, user=MAPPED):
        # A fresh trigger_id each time: the same signed bytes twice are a replay.
        type(self).clicks += 1
        return self.d.slash(text, user_id=user, extra={"trigger_id": "t%d" % self.clicks})

    def ask(self, text, user=MAPPED):
        status, hdrs, ack = self.slash(text, user=user)
        self.assertEqual(status, 200, ack)
        return ack, self.sink.wait_final(hdrs["x-slashd-request-id"])

    def prompt(self, text="ec2 stop %s" % IID):
        ack, msgs = self.ask(text)
        self.assertIn("Preparing `/aws %s`" % text, ack["text"])
        self.assertEqual(len(msgs), 1, msgs)
        return msgs[-1]

    def buttons(self, msg):
        actions = [b for b in msg["body"]["blocks"] if b["type"] == "actions"]
        self.assertEqual(len(actions), 1, msg["body"])
        return {e["action_id"]: e for e in actions[0]["elements"]}

    def click(self, value, user=MAPPED, action="slashd_confirm", team="T0TEST", secret=None,
              ts=None, kind="block_actions"):
        type(self).clicks += 1
        path = "/actions/click%d" % self.clicks
        payload = {"type": kind, "user": {"id": user, "team_id": team}, "team": {"id": team},
                   "channel": {"id": "C0TEST"}, "response_url": self.sink.url(path),
                   "trigger_id": "1.2.3", "container": {"type": "message"},
                   "actions": [{"action_id": action, "block_id": "slashd_confirm",
                                "type": "button", "value": value}]}
        body = urllib.parse.urlencode({"payload": json.dumps(payload)}).encode()
        ts = int(time.time()) if ts is None else ts
        h = {"Content-Type": "application/x-www-form-urlencoded",
             "X-Slack-Request-Timestamp": str(ts),
             "X-Slack-Signature": sign(secret or self.d.secret, ts, body)}
        status, hdrs, data = self.d.request("POST", "/slack/actions", body, h)
        return status, hdrs, data, path

    def at(self, path, n=1, timeout=20):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.sink.cond:
                got = [m for m in self.sink.messages if m.get("path") == path and not m["failed"]]
            if len(got) >= n:
                return got
            time.sleep(0.05)
        self.fail("no %d message(s) at %s; got %r" % (n, path, got))

    def stops(self):
        return len(self.fake.calls("ec2", "StopInstances"))

    def audit_events(self):
        with open(self.audit) as f:
            return [json.loads(line) for line in f if '"event"' in line]

    # -- the tests -----------------------------------------------------------
    def test_prompt_shape(self):
        msg = self.prompt()
        body = msg["body"]
        self.assertEqual(body["response_type"], "ephemeral")
        b = self.buttons(msg)
        go, no = b["slashd_confirm"], b["slashd_cancel"]
        self.assertEqual(go["style"], "danger")
        self.assertEqual(go["text"]["text"], "Stop")
        dialog = go["confirm"]
        for k in ("title", "text", "confirm", "deny"):
            self.assertIn(k, dialog)
        self.assertEqual(dialog["style"], "danger")
        self.assertLessEqual(len(dialog["text"]["text"]), 300)
        self.assertEqual(no["text"]["text"], "Cancel")
        self.assertLessEqual(len(go["value"]), 2000)
        section = body["blocks"][0]["text"]["text"]
        # Every target with what identifies it, and where.
        self.assertRegex(section, r"Stop %s \([^,]+, t\d\.\w+, running\)\* in us-east-1\?" % IID)
        # The text fallback: the code and how to use it.
        m = re.search(r"type `/aws confirm ([A-Z0-9]{8})`", body["text"])
        self.assertTrue(m, body["text"])
        # The token says who, what and where (readable, signed, not secret).
        payload = json.loads(unb64url(go["value"].split(".")[1]))
        self.assertEqual((payload["u"], payload["t"], payload["c"], payload["x"], payload["r"]),
                         (MAPPED, "T0TEST", "C0TEST", "ec2 stop %s" % IID, ""))
        self.assertGreater(payload["e"], time.time() + 250)
        self.assertEqual(self.stops(), 0)
        self.assertEqual(self.fake.instance(IID)["state"], "running")
        # The describe step ran under the user's role, and only read.
        # (Credentials cached from an earlier test were dropped by the fake's
        # reset: the first call may be refused and is then retried.)
        calls = [c for c in self.fake.calls("ec2") if c["signed_ok"]]
        self.assertTrue(calls)
        for c in calls:
            self.assertEqual(c["action"], "DescribeInstances", c)
            self.assertIn("assumed-role/ops-admin/slashd-" + MAPPED, c["principal"] or "", c)

    def test_requester_click_stops_it_and_other_clicks_change_nothing(self):
        token = self.buttons(self.prompt())["slashd_confirm"]["value"]
        # Another user: told why, prompt left, nonce not used up.
        status, _, data, path = self.click(token, user=OTHER)
        self.assertEqual((status, data), (200, b""))
        m = self.at(path)[0]
        self.assertIn("Only the person who asked", m["text"])
        self.assertFalse(m["body"]["replace_original"])
        # Tampered: one character of the MAC, and one of the payload.
        for bad in (token[:-2] + ("A" if token[-2] != "A" else "B") + token[-1],
                    token.replace(token.split(".")[1], b64url(json.dumps(
                        dict(json.loads(unb64url(token.split(".")[1])), u=OTHER)).encode()))):
            status, _, data, path = self.click(bad, user=OTHER)
            self.assertEqual((status, data), (200, b""))
            self.assertIn("not one slashd signed", self.at(path)[0]["text"])
        self.assertEqual(self.stops(), 0)
        # The requester: the prompt becomes "Stopping…", then the result.
        status, hdrs, data, path = self.click(token)
        self.assertEqual((status, data), (200, b""))
        msgs = self.at(path, n=3)
        self.assertRegex(msgs[0]["text"], r"Stopping %s.*… \(confirmed by <@%s>\)" % (IID, MAPPED))
        for m in msgs:
            self.assertTrue(m["body"]["replace_original"], m)
        self.assertTrue(msgs[-1]["final"])
        self.assertRegex(msgs[-1]["text"], r"%s is stopped \(took \d+ s\)\." % IID)
        self.assertEqual(self.fake.instance(IID)["state"], "stopped")
        self.assertEqual(self.stops(), 1)
        for c in self.fake.calls("ec2", "StopInstances"):
            self.assertIn("assumed-role/ops-admin/slashd-" + MAPPED, c["principal"])
        # Replayed: nothing more.
        status, _, data, path = self.click(token)
        self.assertIn("already used", self.at(path)[0]["text"])
        self.assertEqual(self.stops(), 1)
        events = [e["event"] for e in self.audit_events()]
        for e in ("confirm_prompt", "confirm_refused", "confirm_ok"):
            self.assertIn(e, events)

    def test_cancel(self):
        token = self.buttons(self.prompt())["slashd_cancel"]["value"]
        status, _, data, path = self.click(token, action="slashd_cancel", user=OTHER)
        self.assertIn("Only the person who asked", self.at(path)[0]["text"])
        status, _, data, path = self.click(token, action="slashd_cancel")
        m = self.at(path)[0]
        self.assertTrue(m["body"]["replace_original"])
        self.assertRegex(m["text"], r"Cancelled `ec2 stop %s` \(by <@%s>\)" % (IID, MAPPED))
        status, _, data, path = self.click(token)
        self.assertIn("already used", self.at(path)[0]["text"])
        self.assertEqual(self.stops(), 0)
        self.assertIn("confirm_cancel", [e["event"] for e in self.audit_events()])

    def test_expired_token(self):
        token = forge({"v": 1, "t": "T0TEST", "u": MAPPED, "un": "alice", "c": "C0TEST",
                       "x": "ec2 stop %s" % IID, "r": "", "a": "", "d": "Stopping",
                       "e": int(time.time()) - 1, "n": "0" * 32})
        status, _, data, path = self.click(token)
        self.assertEqual((status, data), (200, b""))
        m = self.at(path)[0]
        self.assertIn("has expired", m["text"])
        self.assertFalse(m["body"]["replace_original"])
        # The same forged shape, unexpired, is accepted: the check above was
        # the expiry and nothing else.
        token = forge({"v": 1, "t": "T0TEST", "u": MAPPED, "un": "alice", "c": "C0TEST",
                       "x": "good change thing", "r": "", "a": "", "d": "",
                       "e": int(time.time()) + 60, "n": "1" * 32})
        status, _, data, path = self.click(token)
        self.assertIn("changed something", self.at(path, n=2)[-1]["text"])

    def test_clicks_are_verified_like_commands(self):
        token = self.buttons(self.prompt())["slashd_confirm"]["value"]
        status, _, _, _ = self.click(token, secret="not-the-secret")
        self.assertEqual(status, 401)
        status, _, _, _ = self.click(token, ts=int(time.time()) - 600)
        self.assertEqual(status, 401)
        status, _, _ = self.d.request("POST", "/slack/actions", b"payload=%7B%7D",
                                      {"Content-Type": "application/json"})[:3]
        self.assertEqual(status, 415)
        status = self.d.request("GET", "/slack/actions")[0]
        self.assertEqual(status, 405)
        # The same signed bytes twice: the second is a replay (401), like a
        # command's.
        body = urllib.parse.urlencode({"payload": json.dumps({"type": "block_actions"})}).encode()
        ts = int(time.time())
        h = {"Content-Type": "application/x-www-form-urlencoded",
             "X-Slack-Request-Timestamp": str(ts), "X-Slack-Signature": sign(SECRET, ts, body)}
        self.assertEqual(self.d.request("POST", "/slack/actions", body, h)[0], 200)
        self.assertEqual(self.d.request("POST", "/slack/actions", body, h)[0], 401)
        big = urllib.parse.urlencode({"payload": "x" * 20000}).encode()
        h["X-Slack-Signature"] = sign(SECRET, ts, big)
        self.assertEqual(self.d.request("POST", "/slack/actions", big, h)[0], 413)
        # Other interaction types and actions: an empty 200, nothing done.
        status, _, data, path = self.click(token, kind="view_submission")
        self.assertEqual((status, data), (200, b""))
        status, _, data, path = self.click(token, action="something_else")
        self.assertEqual((status, data), (200, b""))
        time.sleep(0.3)
        with self.sink.cond:
            self.assertFalse([m for m in self.sink.messages if m.get("path") == path])
        self.assertEqual(self.stops(), 0)
        self.assertIn("event=interaction_ignored", self.d.read_log())

    def test_missing_target_is_reported_at_prompt_time(self):
        ack, msgs = self.ask("ec2 stop i-0a1b2c3d4e5f99999")
        self.assertIn("Preparing", ack["text"])
        self.assertTrue(msgs[-1]["error"])
        self.assertIn("i-0a1b2c3d4e5f99999 was not found in us-east-1; try --region.",
                      msgs[-1]["text"])
        self.assertNotIn("actions", [b["type"] for b in msgs[-1]["body"].get("blocks", [])])

    def test_code_for_clients_without_buttons(self):
        msg = self.prompt()
        code = re.search(r"confirm ([A-Z0-9]{8})", msg["body"]["text"]).group(1)
        status, hdrs, ack = self.slash("confirm %s" % code, user=OTHER)
        self.assertIn("Only the person who asked", ack["text"])
        self.assertNotIn("x-slashd-request-id", hdrs)
        status, hdrs, ack = self.slash("confirm %s" % code.lower())
        self.assertIn("(confirmed, request", ack["text"])
        msgs = self.sink.wait_final(hdrs["x-slashd-request-id"])
        self.assertRegex(msgs[-1]["text"], r"%s is stopped" % IID)
        status, hdrs, ack = self.slash("confirm %s" % code)
        self.assertIn("already used", ack["text"])
        status, hdrs, ack = self.slash("confirm ZZZZZZZZ")
        self.assertIn("No pending confirmation has the code `ZZZZZZZZ`", ack["text"])
        self.assertEqual(self.stops(), 1)

    def test_plugin_11_write_command_gets_the_generic_prompt(self):
        msg = self.prompt("minor11 change thing")
        self.assertIn("Run `/aws minor11 change thing` in us-east-1?",
                      msg["body"]["blocks"][0]["text"]["text"])
        token = self.buttons(msg)["slashd_confirm"]["value"]
        status, _, data, path = self.click(token)
        msgs = self.at(path, n=2)
        self.assertIn("`/aws minor11 change thing` is running… (confirmed by <@%s>)" % MAPPED,
                      msgs[0]["text"])
        self.assertIn("changed something", msgs[-1]["text"])

    def test_read_commands_are_not_asked(self):
        ack, msgs = self.ask("ec2 list")
        self.assertIn("is running", ack["text"])
        self.assertTrue(msgs[-1]["text"].startswith("9 instances:"))


class Mattermost(unittest.TestCase):
    """A client without buttons and without a signing secret: the prompt's
    text carries the code; the token-authenticated `/aws confirm CODE` runs
    it, for the requester only, once."""

    def test_text_fallback_and_code(self):
        fake = FakeAws()
        sink = Sink()
        d = Daemon(sink, secret=None, slack={"verification_token": "env:SLASHD_TEST_TOKEN"},
                   plugins=("help",), fixtures=(), sections=sections(),
                   env=dict(fake.env(), SLASHD_TEST_TOKEN="mm-token-123")).start()
        try:
            h = {"Content-Type": "application/x-www-form-urlencoded",
                 "Authorization": "Token mm-token-123"}

            def say(text, user, n):
                body = d.form(text, user_id=user, drop=("token",),
                              extra={"trigger_id": "mm%d" % n})
                status, hdrs, data = d.request("POST", "/slack/commands", body, h)
                self.assertEqual(status, 200, data)
                return hdrs, json.loads(data)

            hdrs, ack = say("ec2 stop %s" % IID, MAPPED, 1)
            prompt = sink.wait_final(hdrs["x-slashd-request-id"])[-1]
            self.assertRegex(prompt["text"], r"Stop %s \(.*running\)\* in us-east-1\?" % IID)
            code = re.search(r"type `/aws confirm ([A-Z0-9]{8})`", prompt["text"]).group(1)
            _, ack = say("confirm %s" % code, OTHER, 2)
            self.assertIn("Only the person who asked", ack["text"])
            hdrs, ack = say("confirm %s" % code, MAPPED, 3)
            self.assertIn("(confirmed, request", ack["text"])
            self.assertRegex(sink.wait_final(hdrs["x-slashd-request-id"])[-1]["text"],
                             r"%s is stopped" % IID)
            _, ack = say("confirm %s" % code, MAPPED, 4)
            self.assertIn("already used", ack["text"])
            self.assertEqual(len(fake.calls("ec2", "StopInstances")), 1)
        finally:
            d.stop()
            sink.close()
            fake.close()


class RunYes(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.fake = FakeAws()
        cls.d = Daemon(None, plugins=("help",), fixtures=(), sections=sections(),
                       env=cls.fake.env())

    @classmethod
    def tearDownClass(cls):
        cls.fake.close()

    def test_run_asks_and_yes_skips(self):
        rc, out, err = run_cli("run", "--user-id", MAPPED, "ec2", "stop", IID,
                               config=self.d.config, env=self.d.env)
        self.assertEqual(rc, 2, out + err)
        self.assertRegex(out, r"^Confirm: Stop %s \(.*running\) in us-east-1\?\n" % IID)
        self.assertIn("slashd run --yes", out)
        self.assertEqual(self.fake.calls("ec2", "StopInstances"), [])
        rc, out, err = run_cli("run", "--yes", "--user-id", MAPPED, "ec2", "stop", IID,
                               config=self.d.config, env=self.d.env)
        self.assertEqual(rc, 0, out + err)
        self.assertRegex(out, r"%s is stopped" % IID)


if __name__ == "__main__":
    unittest.main()
