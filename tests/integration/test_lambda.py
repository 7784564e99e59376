"""slashd as two Lambda functions (issue 12), end to end and offline: the zip
unpacked into a temporary folder runs as the front and as the worker, each
under its own Runtime API emulator; the fake AWS plays SQS/SNS (and STS,
EC2…); a poller plays the SQS event source mapping; the sink plays Slack's
response_url."""

import base64
import json
import os
import re
import shutil
import sys
import time
import unittest
import urllib.parse
import urllib.request
import xml.etree.ElementTree as ET

sys.path.insert(0, os.path.dirname(__file__))
import lambdazip  # noqa: E402
from fakeaws import ACCOUNT, FakeAws  # noqa: E402
from harness import FIXTURE_DIR, SECRET, Sink, sign  # noqa: E402
from lambdazip import LambdaRuntime  # noqa: E402

from botocore.auth import SigV4Auth  # noqa: E402
from botocore.awsrequest import AWSRequest  # noqa: E402
from botocore.credentials import Credentials  # noqa: E402

QUEUE_URL = "https://sqs.us-east-1.amazonaws.com/%s/slashd-jobs" % ACCOUNT
TOPIC_ARN = "arn:aws:sns:us-east-1:%s:slashd-jobs" % ACCOUNT
SQS_NS = "{http://queue.amazonaws.com/doc/2012-11-05/}"
TOKEN = "legacy-verification-token-0123"


class Stack:
    """Both functions from one unpacked zip, their emulators, fake AWS, sink."""

    users = 0

    def __init__(self, lambda_keys=None, slack=None, fixtures=("good", "crash", "hang"), extra=""):
        self.aws = FakeAws()
        self.sink = Sink()
        self.root = lambdazip.unpack()
        # Fixture plugins ride along in the task root, as a team's own would.
        fx = os.path.join(self.root, "fixtures")
        os.makedirs(fx)
        for f in fixtures:
            shutil.copy(os.path.join(FIXTURE_DIR, f + ".so"), fx)
        keys = {"queue_url": QUEUE_URL}
        keys.update(lambda_keys or {})
        sl = {"signing_secret": "env:SLASHD_TEST_SECRET", "command": "/aws",
              "response_hosts": "127.0.0.1:%d" % self.sink.port}
        sl.update(slack or {})
        lines = ["[lambda]"] + ["%s = %s" % kv for kv in keys.items() if kv[1] is not None]
        lines += ["", "[server]", "job_timeout = 10", "log_level = debug", "log_format = logfmt",
                  "", "[slack]"] + ["%s = %s" % kv for kv in sl.items() if kv[1] is not None]
        lines += ["", "[aws]", "region = us-east-1", "", "[plugins]", "dir = plugins",
                  "", "[plugin.help]", "", "[plugin.ec2]", "", "[plugin.s3]"]
        for f in fixtures:
            lines += ["", "[plugin.%s]" % f, "path = fixtures/%s.so" % f]
        lines += ["", extra]
        self.ini = os.path.join(self.root, "test.ini")
        with open(self.ini, "w") as f:
            f.write("\n".join(lines) + "\n")
        self.front = LambdaRuntime().start()
        self.worker = LambdaRuntime().start()

    def env(self, handler, extra=None):
        e = self.aws.env(SLASHD_CONFIG=self.ini, SLASHD_TEST_SECRET=SECRET,
                         SLASHD_TEST_TOKEN=TOKEN)
        e.update(extra or {})
        return lambdazip.lambda_env(self.root, handler, e)

    def start(self, front=True, worker=True, env=None):
        boot = os.path.join(self.root, "bootstrap")
        if front:
            self.front.spawn([boot], env=self.env("front", env), cwd="/")
            assert self.front.wait_next(1), "front did not start:\n" + self.front_log()
        if worker:
            self.worker.spawn([boot], env=self.env("worker", env), cwd="/")
            assert self.worker.wait_next(1), "worker did not start:\n" + self.worker_log()
        return self

    def front_log(self):
        return "\n".join(self.front.log_lines)

    def worker_log(self):
        return "\n".join(self.worker.log_lines)

    def close(self):
        self.front.close()
        self.worker.close()
        self.aws.close()
        self.sink.close()
        lambdazip.remove(self.root)

    # ---- Slack's side ----------------------------------------------------
    def form(self, text, user_id=None, **extra):
        """A slash command's form; each from a new user unless told (the front
        refuses the same command from the same user within dedupe_seconds)."""
        Stack.users += 1
        user_id = user_id or "U0TEST%d" % Stack.users
        fields = {"token": TOKEN, "team_id": "T0TEST", "team_domain": "test",
                  "channel_id": "C0TEST", "channel_name": "ops", "user_id": user_id,
                  "user_name": "alice", "command": "/aws", "text": text,
                  "response_url": self.sink.url(), "trigger_id": "1.2.3", "api_app_id": "A0TEST"}
        fields.update(extra)
        return urllib.parse.urlencode({k: v for k, v in fields.items() if v is not None}).encode()

    def url_event(self, body, ts=None, secret=SECRET, method="POST", b64=False, headers=None,
                  ctype="application/x-www-form-urlencoded"):
        """A Function URL (payload v2) event for a signed Slack request."""
        ts = int(time.time()) if ts is None else ts
        h = {"content-type": ctype, "x-slack-request-timestamp": str(ts),
             "x-slack-signature": sign(secret, ts, body), "host": "abc.lambda-url.us-east-1.on.aws",
             "user-agent": "Slackbot 1.0 (+https://api.slack.com/robots)"}
        h.update(headers or {})
        return {"version": "2.0", "routeKey": "$default", "rawPath": "/", "rawQueryString": "",
                "headers": h,
                "requestContext": {"accountId": "anonymous", "apiId": "abc",
                                   "domainName": "abc.lambda-url.us-east-1.on.aws",
                                   "http": {"method": method, "path": "/", "protocol": "HTTP/1.1",
                                            "sourceIp": "3.3.3.3", "userAgent": "Slackbot"},
                                   "requestId": "r1", "routeKey": "$default", "stage": "$default",
                                   "time": "01/Dec/2026:09:00:00 +0000",
                                   "timeEpoch": int(time.time() * 1000)},
                "body": base64.b64encode(body).decode() if b64 else body.decode(),
                "isBase64Encoded": b64}

    def rest_event(self, body, ts=None, b64=True):
        """An API Gateway REST proxy (v1) event; headers as the client cased them."""
        ts = int(time.time()) if ts is None else ts
        h = {"Content-Type": "application/x-www-form-urlencoded", "X-Slack-Request-Timestamp": str(ts),
             "X-Slack-Signature": sign(SECRET, ts, body), "Host": "x.execute-api.us-east-1.amazonaws.com"}
        return {"resource": "/slack", "path": "/slack", "httpMethod": "POST", "headers": h,
                "multiValueHeaders": {k: [v] for k, v in h.items()}, "queryStringParameters": None,
                "requestContext": {"resourcePath": "/slack", "httpMethod": "POST", "stage": "prod"},
                "body": base64.b64encode(body).decode() if b64 else body.decode(),
                "isBase64Encoded": b64}

    def ask(self, event, timeout_ms=3000):
        """One front invocation; the proxy response, parsed."""
        res = self.front.invoke(event, timeout_ms=timeout_ms)
        assert res.kind == "response", "%r\n%s" % (res, self.front_log())
        return res.json()

    # ---- the queue and the event source mapping --------------------------
    def sqs(self, **params):
        body = urllib.parse.urlencode(dict({"Version": "2012-11-05", "QueueUrl": QUEUE_URL}, **params))
        req = AWSRequest("POST", self.aws.url + "/", data=body,
                         headers={"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"})
        SigV4Auth(Credentials("AKIDSLASHDHOST", "slashd-host-secret"), "sqs", "us-east-1").add_auth(req)
        r = urllib.request.Request(self.aws.url + "/", data=body.encode(), headers=dict(req.headers),
                                   method="POST")
        with urllib.request.urlopen(r, timeout=10) as resp:
            return ET.fromstring(resp.read())

    def queued(self):
        return [m for m in self.aws.state()["sqs_messages"].get("slashd-jobs", []) if not m["deleted"]]

    def poll(self, timeout_ms=30000):
        """What Lambda's SQS event source mapping does once: receive, invoke the
        worker with an SQS event, delete what did not fail. Returns the
        worker's result (or None when the queue was empty)."""
        root = self.sqs(Action="ReceiveMessage", MaxNumberOfMessages="1", VisibilityTimeout="60",
                        **{"AttributeName.1": "All"})
        msgs = root.findall("%sReceiveMessageResult/%sMessage" % (SQS_NS, SQS_NS))
        if not msgs:
            return None
        records = []
        for m in msgs:
            attrs = {a.findtext(SQS_NS + "Name"): a.findtext(SQS_NS + "Value")
                     for a in m.findall(SQS_NS + "Attribute")}
            records.append({"messageId": m.findtext(SQS_NS + "MessageId"),
                            "receiptHandle": m.findtext(SQS_NS + "ReceiptHandle"),
                            "body": m.findtext(SQS_NS + "Body"), "attributes": attrs,
                            "messageAttributes": {}, "md5OfBody": m.findtext(SQS_NS + "MD5OfBody"),
                            "eventSource": "aws:sqs",
                            "eventSourceARN": "arn:aws:sqs:us-east-1:%s:slashd-jobs" % ACCOUNT,
                            "awsRegion": "us-east-1"})
        res = self.worker.invoke({"Records": records}, timeout_ms=timeout_ms)
        if res.kind == "response":
            failed = {f["itemIdentifier"] for f in res.json().get("batchItemFailures", [])}
            for r in records:
                if r["messageId"] not in failed:
                    self.sqs(Action="DeleteMessage", ReceiptHandle=r["receiptHandle"])
        return res

    def sns_event(self, message, mid="476643b1-xmpl-526c-973d-1542ba9af1d6"):
        return {"Records": [{"EventVersion": "1.0", "EventSource": "aws:sns",
                             "EventSubscriptionArn": TOPIC_ARN + ":dd15418a",
                             "Sns": {"Type": "Notification", "MessageId": mid, "TopicArn": TOPIC_ARN,
                                     "Subject": None, "Message": message,
                                     "Timestamp": "2026-12-01T09:00:00.000Z", "SignatureVersion": "1",
                                     "Signature": "x", "MessageAttributes": {}}}]}


def request_id(ack_text):
    m = re.search(r"\(request ([\w.-]+)\)", ack_text)
    return m.group(1) if m else None


class Front(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.s = Stack(slack={"verification_token": "env:SLASHD_TEST_TOKEN"}).start(worker=False)

    @classmethod
    def tearDownClass(cls):
        cls.s.close()

    def setUp(self):
        self.s.aws.reset()

    def test_function_url_event_is_verified_acked_and_queued(self):
        r = self.s.ask(self.s.url_event(self.s.form("help")))
        self.assertEqual(r["statusCode"], 200, r)
        self.assertTrue(r["headers"]["Content-Type"].startswith("application/json"))
        ack = json.loads(r["body"])
        self.assertEqual(ack["response_type"], "ephemeral")
        self.assertIn("`/aws help` is running", ack["text"])
        rid = request_id(ack["text"])
        q = self.s.queued()
        self.assertEqual(len(q), 1, q)
        job = json.loads(q[0]["body"])
        self.assertEqual((job["v"], job["id"], job["plugin"]), (1, rid, "help"))
        self.assertTrue(job["user"].startswith("U0TEST"))
        call = self.s.aws.calls("sqs", "SendMessage")[0]
        self.assertTrue(call["signed_ok"])
        self.assertIn("req=%s" % rid, self.s.front.wait_log("req=%s" % rid))
        # The same command from the same user again: a duplicate, not queued.
        again = self.s.ask(self.s.url_event(self.s.form("help", user_id=job["user"])))
        self.assertIn("already running", json.loads(again["body"])["text"])
        self.assertEqual(len(self.s.queued()), 1)

    def test_rest_v1_event_with_base64_body(self):
        r = self.s.ask(self.s.rest_event(self.s.form("help"), b64=True))
        self.assertEqual(r["statusCode"], 200, r)
        self.assertIn("is running", json.loads(r["body"])["text"])
        self.assertEqual(len(self.s.queued()), 1)

    def test_base64_function_url_body_is_verified_on_the_raw_bytes(self):
        body = self.s.form("ec2 list café")
        r = self.s.ask(self.s.url_event(body, b64=True))
        self.assertEqual(r["statusCode"], 200, r)

    def test_bad_signature_is_401_and_nothing_is_queued(self):
        r = self.s.ask(self.s.url_event(self.s.form("help"), secret="not-the-secret"))
        self.assertEqual(r["statusCode"], 401, r)
        old = self.s.ask(self.s.url_event(self.s.form("help"), ts=int(time.time()) - 600))
        self.assertEqual(old["statusCode"], 401, old)
        self.assertEqual(self.s.aws.calls("sqs"), [])
        self.assertEqual(self.s.queued(), [])
        self.assertIn("event=verify_failed", self.s.front.wait_log("event=verify_failed"))

    def test_method_type_size_and_shape_statuses(self):
        body = self.s.form("help")
        r = self.s.ask(self.s.url_event(body, method="GET"))
        self.assertEqual((r["statusCode"], r["headers"].get("Allow")), (405, "POST"))
        self.assertEqual(self.s.ask(self.s.url_event(body, ctype="application/json"))["statusCode"], 415)
        big = self.s.form("x" * 20000)
        self.assertEqual(self.s.ask(self.s.url_event(big))["statusCode"], 413)
        neither = urllib.parse.urlencode({"user_id": "U0TEST", "hello": "world"}).encode()
        self.assertEqual(self.s.ask(self.s.url_event(neither))["statusCode"], 400)
        malformed = self.s.form("help", user_id="U0<script>")
        self.assertEqual(self.s.ask(self.s.url_event(malformed))["statusCode"], 400)
        self.assertEqual(self.s.queued(), [])

    def test_refusals_are_answered_in_the_ack_with_nothing_queued(self):
        for text, expect in (("nosuchplugin", "nosuchplugin"), ("ec2 stop", "usage"),
                             ("ec2 stop i-0a1b2c3d4e5f00001", "")):
            r = self.s.ask(self.s.url_event(self.s.form(text)))
            self.assertEqual(r["statusCode"], 200, r)
            ack = json.loads(r["body"])["text"]
            self.assertNotIn("is running", ack)
            self.assertIn(expect, ack.lower())
        self.assertEqual(self.s.queued(), [])

    def test_mapping_template_event_is_refused_when_a_signing_secret_is_set(self):
        # It has no headers, hence no signature; with a secret only a signature will do.
        res = self.s.front.invoke({"body": self.s.form("help").decode()}, timeout_ms=3000)
        self.assertEqual(res.kind, "error", res)
        self.assertEqual(res.json()["errorType"], "Unauthorized")
        self.assertRegex(self.s.front.wait_log(r"event=mapping_template .*refused"), r"event=mapping_template .*refused")
        self.assertEqual(self.s.queued(), [])

    def test_interactivity_payload_goes_to_the_shared_handler(self):
        """A click with a token that does not verify changes nothing; the
        clicker is told why on the click's response_url before the
        invocation returns (Lambda may freeze the container after it)."""
        payload = {"type": "block_actions", "user": {"id": "U0CLICK", "team_id": "T0TEST"},
                   "team": {"id": "T0TEST"}, "channel": {"id": "C0TEST"},
                   "response_url": self.s.sink.url("/actions/lambda-click"), "trigger_id": "9.9.9",
                   "container": {"type": "message"},
                   "actions": [{"action_id": "slashd_confirm", "block_id": "slashd_confirm",
                                "type": "button", "value": "v1.forged.token"}]}
        body = urllib.parse.urlencode({"payload": json.dumps(payload)}).encode()
        r = self.s.ask(self.s.url_event(body))
        self.assertEqual(r["statusCode"], 200, r)
        with self.s.sink.cond:
            got = [m for m in self.s.sink.messages if m.get("path") == "/actions/lambda-click"]
        self.assertEqual(len(got), 1, self.s.front_log())
        self.assertRegex(self.s.front.wait_log(r"event=interaction .*outcome=refused"), r"event=interaction .*outcome=refused")
        self.assertEqual(self.s.queued(), [])
        bad = self.s.ask(self.s.url_event(body, secret="not-the-secret"))
        self.assertEqual(bad["statusCode"], 401)

    def test_every_line_of_an_invocation_names_both_request_ids(self):
        r = self.s.front.invoke(self.s.url_event(self.s.form("help")), timeout_ms=3000)
        rid = request_id(json.loads(r.json()["body"])["text"])
        self.s.front.wait_log(r"event=answered aws_req=%s" % r.request_id)
        lines = [l for l in self.s.front.log_lines if "aws_req=%s" % r.request_id in l]
        self.assertGreaterEqual(len(lines), 2, self.s.front_log())
        for line in lines:
            self.assertIn("req=%s" % rid, line)
        self.assertEqual(self.s.front.violations, [])


class MappingTemplate(unittest.TestCase):
    """The original design's API Gateway mapping template: {"body": form},
    verified by the legacy token alone (no signing secret configured)."""

    @classmethod
    def setUpClass(cls):
        cls.s = Stack(slack={"signing_secret": None,
                             "verification_token": "env:SLASHD_TEST_TOKEN"}).start(worker=False)

    @classmethod
    def tearDownClass(cls):
        cls.s.close()

    def test_answered_with_the_ack_object_and_warned_once(self):
        res = self.s.front.invoke({"body": self.s.form("help").decode()}, timeout_ms=3000)
        self.assertEqual(res.kind, "response", res)
        ack = res.json()
        self.assertEqual(ack["response_type"], "ephemeral")
        self.assertIn("is running", ack["text"])
        bad = self.s.front.invoke({"body": self.s.form("help", token="wrong").decode()}, timeout_ms=3000)
        self.assertEqual(bad.kind, "error", bad)
        self.assertEqual(bad.json()["errorType"], "Unauthorized")
        refused = self.s.front.invoke({"body": self.s.form("nosuch").decode()}, timeout_ms=3000)
        self.assertNotIn("is running", refused.json()["text"])
        self.s.front.wait_log(r"event=answered aws_req=%s" % refused.request_id)
        self.assertEqual(self.s.front_log().count("event=mapping_template"), 1)
        self.assertEqual(len(self.s.queued()), 1)


class FrontSends(unittest.TestCase):
    def test_sns_topic(self):
        s = Stack(lambda_keys={"queue_url": None, "topic_arn": TOPIC_ARN}).start(worker=False)
        try:
            r = s.ask(s.url_event(s.form("help")))
            self.assertIn("is running", json.loads(r["body"])["text"])
            msgs = s.aws.state()["sns_messages"]
            self.assertEqual(len(msgs), 1)
            self.assertEqual(msgs[0]["topic_arn"], TOPIC_ARN)
            self.assertEqual(json.loads(msgs[0]["message"])["plugin"], "help")
        finally:
            s.close()

    def test_send_failure_tells_the_user_and_logs_why(self):
        s = Stack(lambda_keys={"queue_url": QUEUE_URL + "-gone"}).start(worker=False)
        try:
            r = s.ask(s.url_event(s.form("help")))
            self.assertEqual(r["statusCode"], 200, r)
            ack = json.loads(r["body"])["text"]
            self.assertNotIn("is running", ack)
            self.assertIn("not started", ack)
            self.assertRegex(s.front.wait_log(r"event=not_queued .*NonExistentQueue"), r"event=not_queued .*NonExistentQueue")
        finally:
            s.close()


class EndToEnd(unittest.TestCase):
    """Slack → front → queue → worker → response_url, both functions from the zip."""

    @classmethod
    def setUpClass(cls):
        cls.s = Stack().start()

    @classmethod
    def tearDownClass(cls):
        cls.s.close()

    def setUp(self):
        self.s.aws.reset()  # an empty queue for every test

    def send(self, text, **kw):
        r = self.s.ask(self.s.url_event(self.s.form(text, **kw)))
        self.assertEqual(r["statusCode"], 200, r)
        ack = json.loads(r["body"])["text"]
        rid = request_id(ack)
        self.assertIsNotNone(rid, ack)
        return rid

    def test_sqs_round_trip(self):
        rid = self.send("good echo hello from lambda")
        res = self.s.poll()
        self.assertEqual(res.kind, "response", "%r\n%s" % (res, self.s.worker_log()))
        self.assertEqual(res.json(), {"batchItemFailures": []})
        msgs = self.s.sink.wait_final(rid, timeout=5)
        self.assertEqual(msgs[-1]["text"], "hello from lambda")
        self.assertEqual(self.s.queued(), [])  # deleted after success
        log = self.s.worker.wait_log(r"event=audit .*req=%s" % re.escape(rid))
        self.assertIn("aws_req=%s" % res.request_id, log)
        self.assertRegex(log, r"event=audit .*req=%s" % re.escape(rid))
        self.assertEqual(self.s.worker.violations, [])

    def test_interim_and_final_replies_are_posted_before_the_invocation_returns(self):
        rid = self.send("good interim")
        res = self.s.poll()
        self.assertEqual(res.kind, "response", res)
        # Nothing is left for after the freeze: both are already at the sink.
        msgs = self.s.sink.for_request(rid)
        # Progress messages until Slack's 5 are nearly used up, then the final.
        self.assertEqual([m["final"] for m in msgs], [False, False, False, True], msgs)
        self.assertEqual(msgs[-1]["text"], "done after 3 progress messages")

    def test_crashing_plugin_tells_the_user_and_is_not_retried(self):
        rid = self.send("crash now")
        res = self.s.poll()
        self.assertEqual(res.kind, "response", "%r\n%s" % (res, self.s.worker_log()))
        self.assertEqual(res.json(), {"batchItemFailures": []})
        msgs = self.s.sink.wait_final(rid, timeout=5)
        self.assertIn("crashed", msgs[-1]["text"])
        self.assertTrue(msgs[-1]["error"])
        # The container carries on.
        rid = self.send("good echo after the crash")
        self.assertEqual(self.s.poll().json(), {"batchItemFailures": []})
        self.assertEqual(self.s.sink.wait_final(rid, timeout=5)[-1]["text"], "after the crash")

    def test_deadline_shorter_than_the_command_tells_the_user_before_it(self):
        rid = self.send("hang forever")
        res = self.s.poll(timeout_ms=4000)
        self.assertEqual(res.kind, "response", "%r\n%s" % (res, self.s.worker_log()))
        self.assertEqual(res.json(), {"batchItemFailures": []})
        msgs = self.s.sink.for_request(rid)
        self.assertTrue(msgs and msgs[-1]["final"], msgs)
        self.assertTrue(msgs[-1]["error"])
        # The limit it was held to is what was left of the invocation.
        self.assertRegex(msgs[-1]["text"], r"ran longer than the [12] s limit and was stopped")
        self.assertLess(msgs[-1]["at"] - self.s.worker.done[res.request_id].delivered_at, 4.0)
        self.assertLess(res.elapsed, 4.0)

    def test_record_delivered_twice_runs_once(self):
        rid = self.send("good echo only once")
        q = self.s.queued()
        self.assertEqual(len(q), 1)
        event = {"Records": [{"messageId": q[0]["message_id"], "receiptHandle": "h", "body": q[0]["body"],
                              "attributes": {}, "messageAttributes": {}, "eventSource": "aws:sqs",
                              "eventSourceARN": "arn:aws:sqs:us-east-1:%s:slashd-jobs" % ACCOUNT,
                              "awsRegion": "us-east-1"}]}
        for _ in range(2):
            res = self.s.worker.invoke(event, timeout_ms=30000)
            self.assertEqual(res.json(), {"batchItemFailures": []})
        self.s.sink.wait_final(rid, timeout=5)
        time.sleep(0.2)
        self.assertEqual(len(self.s.sink.for_request(rid)), 1)
        self.assertIn("event=duplicate_record", self.s.worker.wait_log("event=duplicate_record"))

    def test_malformed_and_unknown_version_records_are_dropped(self):
        self.send("good echo template")
        job = json.loads(self.s.queued()[0]["body"])
        self.s.sqs(Action="ReceiveMessage")  # leave the queue to the test
        future = dict(job, v=99)
        event = {"Records": [
            {"messageId": "m-bad-json", "body": "{not json", "eventSource": "aws:sqs"},
            {"messageId": "m-v99", "body": json.dumps(future), "eventSource": "aws:sqs"},
            {"messageId": "m-nobody", "eventSource": "aws:sqs"}]}
        res = self.s.worker.invoke(event, timeout_ms=30000)
        self.assertEqual(res.json(), {"batchItemFailures": []})
        self.assertEqual(self.s.sink.for_request(job["id"]), [])
        log = self.s.worker.wait_log(r"event=bad_record .*record=m-nobody")  # the last one
        self.assertGreaterEqual(log.count("event=bad_record"), 3)

    def test_record_older_than_max_job_age_is_not_run_and_the_user_told(self):
        self.send("good echo stale")
        job = json.loads(self.s.queued()[0]["body"])
        self.s.sqs(Action="ReceiveMessage")
        stale = dict(job, id=job["id"] + "x", accepted_ms=int(time.time() * 1000) - 1600 * 1000)
        event = {"Records": [{"messageId": "m-stale", "body": json.dumps(stale), "eventSource": "aws:sqs"}]}
        res = self.s.worker.invoke(event, timeout_ms=30000)
        self.assertEqual(res.json(), {"batchItemFailures": []})
        msgs = self.s.sink.wait_final(stale["id"], timeout=5)
        self.assertIn("not run", msgs[-1]["text"])
        self.assertNotIn("stale", [m["text"] for m in msgs])
        # Past the response_url's 30 minutes nobody can be told.
        dead = dict(job, id=job["id"] + "y", accepted_ms=int(time.time() * 1000) - 1900 * 1000)
        self.s.worker.invoke({"Records": [{"messageId": "m-dead", "body": json.dumps(dead),
                                           "eventSource": "aws:sqs"}]}, timeout_ms=30000)
        time.sleep(0.2)
        self.assertEqual(self.s.sink.for_request(dead["id"]), [])

    def test_sns_event(self):
        self.send("good echo over sns")
        job = json.loads(self.s.queued()[0]["body"])
        self.s.sqs(Action="ReceiveMessage")
        job["id"] += "sns"
        res = self.s.worker.invoke(self.s.sns_event(json.dumps(job)), timeout_ms=30000)
        self.assertEqual(res.kind, "response", res)
        self.assertEqual(self.s.sink.wait_final(job["id"], timeout=5)[-1]["text"], "over sns")


class Confirmation(unittest.TestCase):
    """A write command on Lambda: the worker posts the confirmation prompt
    (signed with the key both functions derive from the secret), the click
    goes to the front, and the confirmed job comes back through the queue."""

    MAPPED = "U0MAPPED1"

    @classmethod
    def setUpClass(cls):
        cls.s = Stack(extra="[identity]\nmode = map\n[identity.users]\n%s = "
                            "arn:aws:iam::%s:role/ops-admin\n[plugin.ec2]\npoll_seconds = 1\n"
                            "wait_seconds = 20\n" % (cls.MAPPED, ACCOUNT)).start()

    @classmethod
    def tearDownClass(cls):
        cls.s.close()

    def confirm_and_run(self, text):
        """The whole write path; returns the confirmed job's final message."""
        s = self.s
        r = s.ask(s.url_event(s.form(text, user_id=self.MAPPED)))
        rid = request_id(json.loads(r["body"])["text"])
        self.assertEqual(s.poll().json(), {"batchItemFailures": []})
        prompt = s.sink.wait_final(rid, timeout=10)[-1]
        block = [b for b in prompt["body"]["blocks"] if b["type"] == "actions"][0]
        value = {e["action_id"]: e for e in block["elements"]}["slashd_confirm"]["value"]
        Stack.users += 1
        payload = {"type": "block_actions", "user": {"id": self.MAPPED, "team_id": "T0TEST"},
                   "team": {"id": "T0TEST"}, "channel": {"id": "C0TEST"},
                   "response_url": s.sink.url("/actions/c%d" % Stack.users), "trigger_id": "t%d" % Stack.users,
                   "container": {"type": "message"},
                   "actions": [{"action_id": "slashd_confirm", "block_id": "slashd_confirm",
                                "type": "button", "value": value}]}
        s.ask(s.url_event(urllib.parse.urlencode({"payload": json.dumps(payload)}).encode()))
        job = json.loads(s.queued()[-1]["body"])
        res = s.poll(timeout_ms=60000)
        self.assertEqual(res.json(), {"batchItemFailures": []}, s.worker_log())
        return s.sink.wait_final(job["id"], timeout=30)[-1]

    def test_write_commands_run_as_the_users_role_with_credentials_kept_while_warm(self):
        self.s.aws.reset()
        for iid in ("i-0a1b2c3d4e5f00001", "i-0a1b2c3d4e5f00006"):
            final = self.confirm_and_run("ec2 stop %s" % iid)
            self.assertIn("stopped", final["text"])
            self.assertFalse(final["error"], final)
        calls = self.s.aws.state()["assume_role_calls"]
        self.assertEqual(len(calls), 1, calls)  # the second job reused the warm container's
        self.assertEqual(calls[0]["role_arn"], "arn:aws:iam::%s:role/ops-admin" % ACCOUNT)
        self.assertEqual(calls[0]["source_identity"], self.MAPPED)
        stops = self.s.aws.calls("ec2", "StopInstances")
        self.assertEqual(len(stops), 2)
        for c in stops:
            self.assertIn("assumed-role/ops-admin", c["principal"])

    def test_prompt_click_and_run(self):
        s = self.s
        r = s.ask(s.url_event(s.form("good change thing", user_id=self.MAPPED)))
        ack = json.loads(r["body"])["text"]
        self.assertIn("Preparing", ack)
        rid = request_id(ack)
        self.assertEqual(s.poll().json(), {"batchItemFailures": []})
        prompt = s.sink.wait_final(rid, timeout=5)[-1]
        actions = [b for b in prompt["body"].get("blocks", []) if b["type"] == "actions"]
        self.assertEqual(len(actions), 1, prompt)
        confirm = {e["action_id"]: e for e in actions[0]["elements"]}["slashd_confirm"]
        payload = {"type": "block_actions", "user": {"id": self.MAPPED, "team_id": "T0TEST"},
                   "team": {"id": "T0TEST"}, "channel": {"id": "C0TEST"},
                   "response_url": s.sink.url("/actions/confirmed"), "trigger_id": "7.7.7",
                   "container": {"type": "message"},
                   "actions": [{"action_id": "slashd_confirm", "block_id": "slashd_confirm",
                                "type": "button", "value": confirm["value"]}]}
        body = urllib.parse.urlencode({"payload": json.dumps(payload)}).encode()
        self.assertEqual(s.ask(s.url_event(body))["statusCode"], 200)
        self.assertRegex(s.front.wait_log(r"outcome=confirmed"), r"event=interaction .*outcome=confirmed")
        q = s.queued()
        self.assertEqual(len(q), 1, q)
        job = json.loads(q[0]["body"])
        self.assertEqual((job["plugin"], job["cmd"], job.get("prepare", False)), ("good", "change", False))
        self.assertEqual(s.poll().json(), {"batchItemFailures": []})
        self.assertEqual(s.sink.wait_final(job["id"], timeout=5)[-1]["text"], "changed something")


class OverSns(unittest.TestCase):
    def test_front_publishes_and_the_worker_runs_the_sns_event(self):
        s = Stack(lambda_keys={"queue_url": None, "topic_arn": TOPIC_ARN}).start()
        try:
            r = s.ask(s.url_event(s.form("good echo via the topic")))
            rid = request_id(json.loads(r["body"])["text"])
            msg = s.aws.state()["sns_messages"][0]
            res = s.worker.invoke(s.sns_event(msg["message"], mid=msg["message_id"]), timeout_ms=30000)
            self.assertEqual(res.kind, "response", "%r\n%s" % (res, s.worker_log()))
            self.assertEqual(s.sink.wait_final(rid, timeout=5)[-1]["text"], "via the topic")
        finally:
            s.close()


if __name__ == "__main__":
    unittest.main(verbosity=2)
