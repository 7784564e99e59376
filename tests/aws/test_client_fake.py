#!/usr/bin/python3
"""The AWS client (through tests/aws/aws_probe) against tests/fakes/fake_aws.py.

The fake recomputes every SigV4 signature with botocore from the bytes it
received, so a pass here means an independent signer agrees with ours for
every service, protocol and credential source.

Environment: AWS_PROBE (the built aws_probe), SLASHD_SOURCE_DIR,
SLASHD_SHARED_DIR; FAKE_AWS overrides the fake's path. Fails when the fake
is not there. Loopback only: IMDS and container
endpoints point at the fake, never at 169.254.x.
"""

import base64
import datetime
import json
import os
import subprocess
import sys
import tempfile
import unittest
import urllib.parse
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE = os.environ.get("SLASHD_SOURCE_DIR") or os.path.dirname(os.path.dirname(HERE))
FAKE = os.environ.get("FAKE_AWS") or os.path.join(SOURCE, "tests", "fakes", "fake_aws.py")
PROBE = os.environ.get("AWS_PROBE") or os.path.join(SOURCE, "build", "tests", "aws", "aws_probe")
ACCT = "123456789012"

fake = None
fake_log = None
port = None
tmp = None


def setUpModule():
    global fake, fake_log, port, tmp
    tmp = tempfile.TemporaryDirectory(prefix="slashd-fake-aws-")
    env = dict(os.environ, PYTHONDONTWRITEBYTECODE="1")
    fake_log = open(os.path.join(tmp.name, "fake.log"), "w")
    fake = subprocess.Popen([sys.executable, FAKE, "--port", "0", "--exit-on-stdin-eof"],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=fake_log,
                            env=env)
    line = fake.stdout.readline().decode().strip()
    if not line.startswith("FAKE_AWS_PORT="):
        raise RuntimeError("fake_aws did not start: %r" % line)
    port = int(line.split("=", 1)[1])


def tearDownModule():
    if fake:
        fake.stdin.close()
        try:
            fake.wait(timeout=10)
        except subprocess.TimeoutExpired:
            fake.kill()
            fake.wait()
        fake.stdout.close()
    if fake_log:
        fake_log.close()
    if tmp:
        tmp.cleanup()


def base_url():
    return "http://127.0.0.1:%d" % port


def control(path, body=None):
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(base_url() + path, data=data,
                                 method="POST" if data is not None else "GET")
    with urllib.request.urlopen(req, timeout=10) as r:
        return json.loads(r.read())


def probe_env(**extra):
    """A clean environment: host keys from the fake's scenario, metadata off."""
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": tmp.name,
           "AWS_ENDPOINT_URL": base_url(),
           "AWS_ACCESS_KEY_ID": "AKIDSLASHDHOST", "AWS_SECRET_ACCESS_KEY": "slashd-host-secret",
           "AWS_EC2_METADATA_DISABLED": "true", "AWS_REGION": "us-east-1",
           "AWS_SHARED_CREDENTIALS_FILE": os.path.join(tmp.name, "none", "credentials"),
           "AWS_CONFIG_FILE": os.path.join(tmp.name, "none", "config")}
    for k, v in extra.items():
        if v is None:
            env.pop(k, None)
        else:
            env[k] = v
    return env


def probe(*args, env=None, expect_ok=True):
    p = subprocess.run([PROBE] + [a if isinstance(a, str) else json.dumps(a) for a in args],
                       env=env or probe_env(), capture_output=True, timeout=60)
    out = p.stdout.decode().strip()
    try:
        res = json.loads(out)
    except ValueError:
        raise AssertionError("aws_probe %s printed %r (stderr %r)" % (args, out, p.stderr.decode()))
    # 0 ok, 1 AWS error; anything else (a sanitizer report, a crash) fails.
    want_rc = 0 if res.get("status") == "ok" else 1
    if p.returncode != want_rc:
        raise AssertionError("aws_probe %s exited %d: %s" % (args, p.returncode, p.stderr.decode()))
    if expect_ok and res.get("status") != "ok":
        raise AssertionError("aws_probe %s: %s" % (args, res))
    return res


def calls(**q):
    qs = "&".join("%s=%s" % kv for kv in q.items())
    return control("/_fake/calls" + ("?" + qs if qs else ""))


class FakeAwsTest(unittest.TestCase):
    def setUp(self):
        control("/_fake/reset", {"scenario": True})

    def assertAllSigned(self):
        bad = [c for c in calls() if c["service"] not in ("imds", "container")
               and not c["signed_ok"]
               and not (c["service"] == "sts" and c["action"] == "AssumeRoleWithWebIdentity")]
        self.assertEqual(bad, [], "requests the fake (botocore) did not accept")

    # ---- Query protocols and EC2

    def test_ec2_describe_all_pages(self):
        ids, token, pages = [], None, 0
        while True:
            params = {"MaxResults": 5}
            if token:
                params["NextToken"] = token
            r = probe("call", "ec2", "DescribeInstances", params)["result"]
            for res in r["reservationSet"]:
                for inst in res["instancesSet"]:
                    ids.append(inst["instanceId"])
            pages += 1
            token = r.get("nextToken")
            if not token:
                break
        self.assertEqual(len(ids), 9)
        self.assertEqual(len(set(ids)), 9)
        self.assertGreater(pages, 1)
        self.assertAllSigned()

    def test_ec2_instance_calls(self):
        iid = "i-0a1b2c3d4e5f00001"
        r = probe("call", "ec2", "DescribeInstances", {"InstanceId.1": iid})["result"]
        inst = r["reservationSet"][0]["instancesSet"][0]
        tags = {t["key"]: t["value"] for t in inst["tagSet"]}
        self.assertEqual(tags["Name"], "web-1")
        out = probe("call", "ec2", "GetConsoleOutput", {"InstanceId": iid, "Latest": True})
        text = base64.b64decode("".join(out["result"]["output"].split())).decode()
        self.assertIn("finished booting", text)
        r = probe("call", "ec2", "StopInstances", {"InstanceId.1": iid})["result"]
        self.assertEqual(r["instancesSet"][0]["currentState"]["name"], "stopping")
        r = probe("call", "ec2", "DescribeInstances",
                  {"Filter.1.Name": "instance-state-name", "Filter.1.Value.1": "running",
                   "Filter.1.Value.2": "stopped"})
        self.assertEqual(r["status"], "ok")
        self.assertAllSigned()

    def test_errors_read_well(self):
        r = probe("call", "ec2", "DescribeInstances", {"InstanceId.1": "i-0123456789abcdef0"},
                  expect_ok=False)
        self.assertEqual(r["status"], "service")
        self.assertRegex(r["error"], r"^InvalidInstanceID.NotFound: The instance ID "
                                     r"'i-0123456789abcdef0' does not exist \(request id .+\)$")
        r = probe("call", "ec2", "Nonsense", expect_ok=False)
        self.assertEqual(r["status"], "service")
        self.assertIn("InvalidAction", r["error"])
        r = probe("call", "lambda", "Invoke", expect_ok=False)
        self.assertEqual(r["status"], "unsupported")

    def test_query_services(self):
        r = probe("call", "iam", "GetUser")["result"]
        self.assertEqual(r["GetUserResult"]["User"]["UserName"], "slashd-host")
        r = probe("call", "iam", "GetUserPolicy",
                  {"UserName": "slashd-host", "PolicyName": "slashd-read"})["result"]
        doc = json.loads(urllib.parse.unquote(r["GetUserPolicyResult"]["PolicyDocument"]))
        self.assertEqual(doc["Version"], "2012-10-17")
        r = probe("call", "sts", "GetCallerIdentity")["result"]
        self.assertIn("slashd-host", r["GetCallerIdentityResult"]["Arn"])
        msg = "héllo & = + / ? ~ * %20 \u2603 line\nbreak"
        r = probe("call", "sns", "Publish",
                  {"TopicArn": "arn:aws:sns:us-east-1:%s:slashd-jobs" % ACCT, "Message": msg})
        self.assertTrue(r["result"]["PublishResult"]["MessageId"])
        self.assertEqual(calls(service="sns")[-1]["params"]["Message"], msg)
        self.assertAllSigned()

    def test_cloudwatch_in_another_region(self):
        # CloudWatch for a bucket that lives elsewhere (us-west-2): aws_call_region.
        now = datetime.datetime.now(datetime.timezone.utc).replace(hour=0, minute=0, second=0,
                                                                   microsecond=0)
        params = {"Namespace": "AWS/S3", "MetricName": "BucketSizeBytes",
                  "Dimensions.member.1.Name": "BucketName",
                  "Dimensions.member.1.Value": "slashd-backups",
                  "Dimensions.member.2.Name": "StorageType",
                  "Dimensions.member.2.Value": "StandardStorage",
                  "StartTime": (now - datetime.timedelta(days=3)).strftime("%Y-%m-%dT%H:%M:%SZ"),
                  "EndTime": now.strftime("%Y-%m-%dT%H:%M:%SZ"),
                  "Period": 86400, "Statistics.member.1": "Average"}
        r = probe("--call-region", "us-west-2", "call", "monitoring", "GetMetricStatistics",
                  params)["result"]
        points = r["GetMetricStatisticsResult"]["Datapoints"]
        self.assertIsInstance(points, list)
        self.assertGreater(len(points), 0)
        newest = max(points, key=lambda p: p["Timestamp"])
        self.assertEqual(float(newest["Average"]), 1099511627776.0)
        self.assertEqual(calls(service="monitoring")[-1]["region"], "us-west-2")
        self.assertAllSigned()

    # ---- S3 and KMS

    def test_s3(self):
        r = probe("call", "s3", "ListBuckets")["result"]
        names = [b["Name"] for b in r["Buckets"]["Bucket"]]
        self.assertIn("slashd-logs", names)
        seen, token = [], None
        while True:
            params = {"max-buckets": 2}
            if token:
                params["continuation-token"] = token
            r = probe("call", "s3", "ListBuckets", params)["result"]
            b = r["Buckets"]["Bucket"]
            seen += [x["Name"] for x in (b if isinstance(b, list) else [b])]
            token = r.get("ContinuationToken")
            if not token:
                break
        self.assertEqual(sorted(seen), sorted(names))
        r = probe("call", "s3", "GetBucketLocation", {"Bucket": "team-data-eu"})["result"]
        self.assertEqual(r["LocationConstraint"], "eu-west-1")
        r = probe("call", "s3", "HeadBucket", {"Bucket": "slashd-logs"})["result"]
        self.assertEqual(r["BucketRegion"], "us-east-1")
        r = probe("call", "s3", "HeadBucket", {"Bucket": "slashd-backups"}, expect_ok=False)
        self.assertEqual(r["status"], "service")
        r = probe("call", "s3", "GetBucketLocation", {"Bucket": "no-such-bucket"}, expect_ok=False)
        self.assertTrue(r["error"].startswith("NoSuchBucket: "))
        for c in calls(service="s3"):
            self.assertIn("x-amz-content-sha256", c["signed_headers"])
        self.assertAllSigned()

    def test_kms_decrypt(self):
        blob = base64.b64encode(b"slashd-kms:v1:signing-secret").decode()
        r = probe("kms-decrypt", blob)
        self.assertEqual(base64.b64decode(r["plaintext_base64"]),
                         b"8f742231b10e8888abcd99yyyzzz85a5")
        r = probe("kms-decrypt", base64.b64encode(b"unknown blob").decode(), expect_ok=False)
        self.assertTrue(r["error"].startswith("InvalidCiphertextException"))
        self.assertAllSigned()

    # ---- STS AssumeRole

    def test_assume_role_then_call(self):
        arn = "arn:aws:iam::%s:role/ops-admin" % ACCT
        r = probe("assume-role", arn, "alice", "alice", {"slack-user": "U012AB3CD"}, "900",
                  "--", "ec2", "StopInstances", {"InstanceId.1": "i-0a1b2c3d4e5f00001"})
        self.assertEqual(r["source"], "assumed role")
        self.assertTrue(r["temporary"])
        self.assertEqual(r["result"]["instancesSet"][0]["instanceId"], "i-0a1b2c3d4e5f00001")
        rec = control("/_fake/state")["assume_role_calls"][-1]
        self.assertEqual(rec["tags"], {"slack-user": "U012AB3CD"})
        self.assertEqual(rec["source_identity"], "alice")
        self.assertEqual(rec["duration_seconds"], 900)
        stop = calls(service="ec2", action="StopInstances")[-1]
        self.assertTrue(stop["had_session_token"])
        self.assertIn("x-amz-security-token", stop["signed_headers"])
        self.assertIn("ops-admin", stop["principal"])
        ar = calls(service="sts", action="AssumeRole")[-1]["params"]
        self.assertEqual(ar["Tags.member.1.Key"], "slack-user")
        self.assertEqual(ar["SourceIdentity"], "alice")
        self.assertEqual(ar["DurationSeconds"], "900")
        r = probe("assume-role", "arn:aws:iam::%s:role/no-trust" % ACCT, "alice", expect_ok=False)
        self.assertEqual(r["status"], "service")
        self.assertTrue(r["error"].startswith("AccessDenied: "))
        self.assertAllSigned()

    # ---- retries

    def test_throttling_is_retried(self):
        control("/_fake/scenario", {"faults": [{"service": "ec2", "action": "DescribeInstances",
                                               "count": 2, "kind": "throttle"}]})
        r = probe("call", "ec2", "DescribeInstances", {"MaxResults": 5})
        self.assertEqual(r["attempts"], 3)
        self.assertEqual(len(calls(service="ec2", action="DescribeInstances")), 3)
        control("/_fake/scenario", {"faults": [{"service": "iam", "action": "*", "count": 5,
                                               "kind": "internal"}]})
        r = probe("--max-attempts", "2", "call", "iam", "GetUser", expect_ok=False)
        self.assertEqual(r["status"], "service")
        self.assertIn("(after 2 attempts)", r["error"])

    def test_bad_secret_is_not_retried(self):
        env = probe_env(AWS_SECRET_ACCESS_KEY="wrong-secret")
        r = probe("call", "ec2", "DescribeInstances", {"MaxResults": 5}, env=env,
                  expect_ok=False)
        self.assertEqual(r["status"], "credentials")
        self.assertIn("AuthFailure", r["error"])
        self.assertEqual(len(calls(service="ec2")), 1)

    # ---- credential sources

    def test_imds_credentials(self):
        env = probe_env(AWS_ACCESS_KEY_ID=None, AWS_SECRET_ACCESS_KEY=None,
                        AWS_EC2_METADATA_DISABLED=None,
                        AWS_EC2_METADATA_SERVICE_ENDPOINT=base_url())
        r = probe("creds", env=env)
        self.assertEqual(r["source"], "instance metadata")
        self.assertTrue(r["temporary"])
        probe("call", "ec2", "DescribeInstances", {"MaxResults": 5}, env=env)
        token_put = calls(service="imds", action="token")[0]
        self.assertEqual(token_put["method"], "PUT")
        self.assertEqual(token_put["headers"]["x-aws-ec2-metadata-token-ttl-seconds"], "21600")
        control("/_fake/scenario", {"imds": {"mode": "v1-only", "v1_token_status": 405}})
        self.assertEqual(probe("creds", env=env)["source"], "instance metadata")
        control("/_fake/scenario", {"imds": {"mode": "off", "off_behavior": "close"}})
        r = probe("creds", env=env, expect_ok=False)
        self.assertTrue(r["error"].startswith(
            "no AWS credentials found; tried: environment (AWS_ACCESS_KEY_ID not set); "
            "shared files ("), r["error"])
        self.assertIn("; web identity (not configured); container (not configured); "
                      "instance metadata (%s: " % base_url(), r["error"])
        self.assertAllSigned()

    def test_container_credentials(self):
        env = probe_env(AWS_ACCESS_KEY_ID=None, AWS_SECRET_ACCESS_KEY=None,
                        AWS_CONTAINER_CREDENTIALS_FULL_URI=base_url() + "/ecs/credentials",
                        AWS_CONTAINER_AUTHORIZATION_TOKEN="slashd-container-token")
        self.assertEqual(probe("creds", env=env)["source"], "container")
        probe("call", "s3", "ListBuckets", env=env)
        tokfile = os.path.join(tmp.name, "ctoken")
        with open(tokfile, "w") as f:
            f.write("slashd-container-token\n")
        env = probe_env(AWS_ACCESS_KEY_ID=None, AWS_SECRET_ACCESS_KEY=None,
                        AWS_CONTAINER_CREDENTIALS_RELATIVE_URI="/v2/credentials/slashd-task",
                        AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE=tokfile)
        r = probe("--container-host", base_url(), "creds", env=env)
        self.assertEqual(r["source"], "container")
        env["AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE"] = os.path.join(tmp.name, "missing")
        r = probe("--container-host", base_url(), "creds", env=env, expect_ok=False)
        self.assertIn("container (cannot read", r["error"])
        self.assertAllSigned()

    def test_web_identity_credentials(self):
        tokfile = os.path.join(tmp.name, "web-token")
        with open(tokfile, "w") as f:
            f.write("slashd-web-identity-token\n")
        env = probe_env(AWS_ACCESS_KEY_ID=None, AWS_SECRET_ACCESS_KEY=None,
                        AWS_WEB_IDENTITY_TOKEN_FILE=tokfile,
                        AWS_ROLE_ARN="arn:aws:iam::%s:role/slashd-web-identity" % ACCT,
                        AWS_ROLE_SESSION_NAME="slashd-test")
        r = probe("creds", env=env)
        self.assertEqual(r["source"], "web identity")
        probe("call", "ec2", "DescribeInstances", {"MaxResults": 5}, env=env)
        c = calls(service="sts", action="AssumeRoleWithWebIdentity")[-1]
        self.assertNotIn("authorization", c["headers"])
        self.assertAllSigned()

    def test_profile_credentials_and_region(self):
        d = os.path.join(tmp.name, "aws")
        os.makedirs(d, exist_ok=True)
        with open(os.path.join(d, "credentials"), "w") as f:
            f.write("[ops]\naws_access_key_id = AKIDSLASHDHOST\n"
                    "aws_secret_access_key = slashd-host-secret\n")
        with open(os.path.join(d, "config"), "w") as f:
            f.write("[profile ops]\nregion = us-east-1\n")
        env = probe_env(AWS_ACCESS_KEY_ID=None, AWS_SECRET_ACCESS_KEY=None, AWS_REGION=None,
                        AWS_PROFILE="ops",
                        AWS_SHARED_CREDENTIALS_FILE=os.path.join(d, "credentials"),
                        AWS_CONFIG_FILE=os.path.join(d, "config"))
        self.assertEqual(probe("creds", env=env)["source"], "profile ops")
        r = probe("region", env=env)
        self.assertEqual((r["region"], r["source"]), ("us-east-1", "profile"))
        probe("call", "iam", "GetUser", env=env)
        self.assertEqual(calls(service="iam")[-1]["region"], "us-east-1")
        self.assertAllSigned()

    def test_service_endpoint_override_wins(self):
        env = probe_env(AWS_ENDPOINT_URL="http://127.0.0.1:1",
                        AWS_ENDPOINT_URL_EC2=base_url())
        probe("call", "ec2", "DescribeInstances", {"MaxResults": 5}, env=env)
        r = probe("--max-attempts", "1", "call", "sts", "GetCallerIdentity", env=env,
                  expect_ok=False)
        self.assertEqual(r["status"], "network")


if __name__ == "__main__":
    if not os.path.exists(FAKE):
        print("the fake AWS is missing: %s" % FAKE)
        sys.exit(1)
    if not os.path.exists(PROBE):
        print("aws_probe not built: %s" % PROBE)
        sys.exit(1)
    unittest.main(verbosity=2)
