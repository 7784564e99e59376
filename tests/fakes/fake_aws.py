#!/usr/bin/python3
"""fake_aws.py -- a strict local stand-in for the AWS endpoints slashd uses.

A fake must be as strict as the real service: it checks SigV4 signatures
(recomputed independently with botocore's signer from the bytes received),
content types and parameters, and answers with the real XML/JSON shapes. The
response shapes are read AT RUN TIME from shared/reference/aws-examples/ and
filled with dynamic content; nothing from there is copied into this file.

Usage
-----
  /usr/bin/python3 tests/fakes/fake_aws.py [--port 0] [--scenario FILE.json]
                                           [--exit-on-stdin-eof]

Binds 127.0.0.1 only. The first stdout line is ``FAKE_AWS_PORT=<n>``
(flushed) once the socket listens. Exits on SIGTERM/SIGINT, or when stdin
closes with --exit-on-stdin-eof. One line per request goes to stderr.
The shared folder comes from $SLASHD_SHARED_DIR (default <repo>/../shared).

One port serves everything
--------------------------
* Signed AWS requests: the service is the one named in the credential scope
  of the Authorization header (``.../us-east-1/ec2/aws4_request``).
  ``/`` + query or form body for EC2/CloudWatch/STS/IAM/SNS (Query), KMS
  (JSON 1.1) and S3 (``GET /`` ListBuckets; path style ``/bucket?location``,
  ``HEAD /bucket``). STS AssumeRoleWithWebIdentity is accepted unsigned.
* IMDS: ``PUT /latest/api/token``, ``GET /latest/meta-data/...``
* Container credentials: ``GET /ecs/credentials`` (FULL_URI style) and
  ``GET /v2/credentials/slashd-task`` (RELATIVE_URI style).
* Control API (unsigned): ``GET /_fake/calls[?service=&action=]``,
  ``POST /_fake/reset`` (body optional: ``{"state": true}`` also resets
  instances, issued credentials, fault counters and records;
  ``{"scenario": true}`` also restores the start-up scenario),
  ``POST /_fake/scenario`` (deep-merge JSON into the scenario; dicts merge,
  everything else replaces; touching ``ec2.reservations`` rebuilds the
  instances, touching ``faults`` re-arms the faults), ``GET /_fake/scenario``,
  ``GET /_fake/state``, ``POST /_fake/expire`` (``{"access_key_id": K}`` or
  ``{}`` for all issued credentials: they become expired now).

Scenario JSON (every key optional; defaults shown)
--------------------------------------------------
  account_id        "123456789012"
  region            "us-east-1"  region of the EC2 instances and of the S3
                    endpoint; IAM must always be signed for us-east-1
  max_skew_seconds  300          X-Amz-Date tolerance for every service
  host_credentials  [{"access_key_id": "AKIDSLASHDHOST",
                      "secret_access_key": "slashd-host-secret",
                      "user_name": "slashd-host", "session_token": null}]
  faults            []  list of {"service": "ec2", "action": "DescribeInstances"
                    or "*", "count": N, "kind": "throttle"|"internal"|"delay"|
                    "error", "delay_seconds": D, "code": C, "status": S,
                    "message": M, "region": R}; each matching call uses one
                    count (with "region", only calls signed for region R).
                    throttle: ec2 RequestLimitExceeded 503, query services
                    Throttling 400, s3 SlowDown 503, kms ThrottlingException
                    400. internal: ec2/s3 InternalError 500, query
                    InternalFailure 500, kms KMSInternalException 500.
                    Service names also include "imds" and "container"
                    (actions "token", "role-list", "credentials").
  ec2.default_max_results  5  page size when MaxResults is absent
  ec2.transition_polls     2  stopping->stopped / pending->running is shown
                    on the N-th DescribeInstances that covers the instance
                    (0: at once; null: polls never finish it)
  ec2.transition_seconds   null  or: finish after this many seconds
  ec2.writes_require_assumed_role  false  Start/Stop with non-session keys
                    -> UnauthorizedOperation
  ec2.write_roles   null  or a list of role ARNs allowed to Start/Stop
  ec2.reservations  4 reservations / 9 instances, see DEFAULT_SCENARIO
                    (instance: instance_id, state, tags {k: v}, instance_type,
                    private_ip, public_ip, launch_time, console_output: text
                    or null for a fresh instance without output)
  cloudwatch.history_days  14
  cloudwatch.buckets  {name: {"standard_bytes": B, "daily_growth_bytes": G}}
                    daily BucketSizeBytes points at 00:00Z; the newest
                    (yesterday) equals standard_bytes; buckets live in the
                    region given by s3.buckets; answers are unordered
  cloudwatch.datapoints {name: [{"timestamp": iso, "value": n}]} overrides
  s3.buckets        [{"name", "region", "creation_date"}] (5 buckets)
  s3.default_max_buckets  null (all, like S3) or a page size
  s3.owner_id / s3.owner_display_name
  sts.roles         {role_arn: {"max_session_duration": 3600}}; other ARNs
                    -> AccessDenied
  sts.deny_roles    ["arn:aws:iam::123456789012:role/no-trust"]
  sts.session_token_whitespace  true  SessionToken wrapped in whitespace in
                    the XML, as in the official example (clients must trim)
  sts.web_identity_tokens  {"slashd-web-identity-token": {"subject",
                    "audience", "provider", "roles": null (any known)}}
  iam.users         {name: {"user_id", "path", "create_date",
                    "password_last_used", "policies": {name: document}}}
  kms.ciphertexts   {CiphertextBlob base64: {"plaintext": text or
                    "plaintext_base64": b64, "key_id": arn,
                    "encryption_context": {..} or null}} (plus the official
                    example's blob, read from the examples at run time)
  sns.topics        ["arn:aws:sns:us-east-1:123456789012:slashd-jobs"]
  imds.mode         "v2" | "v1-only" | "off"
  imds.v1_token_status  403 (PUT answer in v1-only mode: 403, 404 or 405)
  imds.off_behavior "close" (drop the connection) | "404"
  imds.role_name    "slashd-instance-role"
  imds.credential_ttl_seconds 21600
  container.authorization_token  "slashd-container-token" (null: no check)
  container.role_name  "slashd-task-role"
  container.credential_ttl_seconds 21600

Call log entries (GET /_fake/calls): seq, time, service, action, method, path,
params, region, access_key_id, had_session_token, signed_ok, principal,
status, error, headers, signed_headers, expected_canonical_request (when a
signature did not match).
"""

import argparse
import base64
import copy
import datetime as dt
import fnmatch
import hashlib
import hmac
import json
import os
import random
import re
import secrets
import signal
import string
import sys
import threading
import time
import uuid
import xml.etree.ElementTree as ET
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import quote, unquote

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.compat import HTTPHeaders
from botocore.credentials import Credentials

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))

EC2_VERSION = "2016-11-15"
VERSIONS = {"ec2": EC2_VERSION, "monitoring": "2010-08-01", "sts": "2011-06-15",
            "iam": "2010-05-08", "sns": "2010-03-31", "sqs": "2012-11-05"}
PROTOCOL = {"ec2": "ec2", "monitoring": "query", "sts": "query", "iam": "query",
            "sns": "query", "sqs": "query", "s3": "s3", "kms": "json"}
# SQS parameters by action (the SQS functions near the end use them).
SQS_NS = "http://queue.amazonaws.com/doc/2012-11-05/"
SQS_ALLOWED = {
    "SendMessage": ["QueueUrl", "MessageBody", "DelaySeconds",
                    r"MessageAttribute\.\d+\.(Name|Value\.DataType|Value\.StringValue|Value\.BinaryValue)",
                    "MessageDeduplicationId", "MessageGroupId"],
    "ReceiveMessage": ["QueueUrl", r"AttributeName\.\d+", r"MessageAttributeName\.\d+",
                       "MaxNumberOfMessages", "VisibilityTimeout", "WaitTimeSeconds",
                       "ReceiveRequestAttemptId"],
    "DeleteMessage": ["QueueUrl", "ReceiptHandle"],
}
SQS_MAX_BODY = 262144
# PROVENANCE.md: the S3 docs omit it, real responses carry it.
S3_NS = "http://s3.amazonaws.com/doc/2006-03-01/"
STATE_CODES = {"pending": 0, "running": 16, "shutting-down": 32, "terminated": 48,
               "stopping": 64, "stopped": 80}
INSTANCE_ID_RE = re.compile(r"^i-(?:[0-9a-f]{8}|[0-9a-f]{17})$")
ROLE_ARN_RE = re.compile(r"^arn:aws:iam::(\d{12}):role/(?:[\w+=,.@/-]*/)?([\w+=,.@-]{1,64})$")
SESSION_NAME_RE = re.compile(r"^[\w+=,.@-]*$")
REGION_RE = re.compile(r"^[a-z]{2}(?:-gov|-iso[a-z]?)?-[a-z]+-\d$")
AMZ_DATE_RE = re.compile(r"^\d{8}T\d{6}Z$")
EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()

ACCT = "123456789012"


def _console(iid, name):
    lines = [
        "[    0.000000] Linux version 6.1.0-18-cloud-amd64 (debian-kernel@lists.debian.org)",
        "[    0.000000] Command line: BOOT_IMAGE=/boot/vmlinuz-6.1.0-18-cloud-amd64 root=/dev/nvme0n1p1 ro console=ttyS0",
        "[    0.000000] BIOS-provided physical RAM map:",
        "[    0.004000] DMI: Amazon EC2 t3.micro/, BIOS 1.0 10/16/2017",
        "[    0.120000] Hypervisor detected: KVM",
    ]
    for i in range(30):
        lines.append("[%5d.%06d] systemd[1]: Started unit-%02d.service - slashd test unit %02d."
                     % (1 + i, (i * 7919) % 1000000, i, i))
    lines += [
        "[   31.500000] cloud-init[512]: Cloud-init v. 22.4.2 running 'modules:final' (UTF-8: caf\u00e9)",
        "[   31.900000] cloud-init[512]: %s (%s) finished booting" % (iid, name or "no-name"),
        "Debian GNU/Linux 12 %s ttyS0" % (name or "localhost"),
        "",
        "login: ",
    ]
    return "\n".join(lines)


def _inst(n, state, tags, itype="t3.micro", console=True):
    iid = "i-0a1b2c3d4e5f%05d" % n
    name = tags.get("Name") if tags else None
    return {"instance_id": iid, "state": state, "tags": tags, "instance_type": itype,
            "private_ip": "10.0.1.%d" % (10 + n),
            "public_ip": "54.194.%d.%d" % (250, 10 + n),
            "launch_time": "2024-05-%02dT16:46:19.000Z" % (n + 1),
            "console_output": _console(iid, name) if console else None}


DEFAULT_SCENARIO = {
    "account_id": ACCT,
    "region": "us-east-1",
    "max_skew_seconds": 300,
    "host_credentials": [{"access_key_id": "AKIDSLASHDHOST",
                          "secret_access_key": "slashd-host-secret",
                          "user_name": "slashd-host", "session_token": None}],
    "faults": [],
    "ec2": {
        "default_max_results": 5,
        "transition_polls": 2,
        "transition_seconds": None,
        "writes_require_assumed_role": False,
        "write_roles": None,
        "reservations": [
            {"reservation_id": "r-0a1b2c3d4e5f00001", "instances": [
                _inst(1, "running", {"Name": "web-1", "env": "prod"}),
                _inst(2, "stopped", {"Name": "web-2", "env": "prod"}),
                _inst(3, "running", {}),
            ]},
            {"reservation_id": "r-0a1b2c3d4e5f00002", "instances": [
                _inst(4, "running", {"Name": "<!channel> & <b>", "team": "chaos"}),
                _inst(5, "stopped", {"Name": "db-1"}, "r6g.large"),
            ]},
            {"reservation_id": "r-0a1b2c3d4e5f00003", "instances": [
                _inst(6, "running", {"env": "dev"}, "c6i.xlarge"),
                _inst(7, "running", {}),
                _inst(8, "running", {"Name": "fresh-build"}, console=False),
            ]},
            {"reservation_id": "r-0a1b2c3d4e5f00004", "instances": [
                _inst(9, "running", {"Name": "bastion"}, "t3.nano"),
            ]},
        ],
    },
    "cloudwatch": {
        "history_days": 14,
        "buckets": {
            "slashd-logs": {"standard_bytes": 5368709120, "daily_growth_bytes": 104857600},
            "slashd-artifacts": {"standard_bytes": 123456789, "daily_growth_bytes": 1000},
            "slashd-backups": {"standard_bytes": 1099511627776, "daily_growth_bytes": 1073741824},
            "team-data-eu": {"standard_bytes": 2199023255552, "daily_growth_bytes": 0},
        },
        "datapoints": {},
    },
    "s3": {
        "owner_id": "79a59df900b949e55d96a1e698fbacedfd6e09d98eacf8f8d5218e7cd47ef2be",
        "owner_display_name": "slashd-dev",
        "default_max_buckets": None,
        "buckets": [
            {"name": "slashd-logs", "region": "us-east-1", "creation_date": "2023-01-15T09:30:00.000Z"},
            {"name": "slashd-artifacts", "region": "us-east-1", "creation_date": "2023-02-01T10:00:00.000Z"},
            {"name": "slashd-backups", "region": "us-west-2", "creation_date": "2022-11-20T08:15:42.000Z"},
            {"name": "team-data-eu", "region": "eu-west-1", "creation_date": "2021-06-30T23:59:59.000Z"},
            {"name": "empty-bucket", "region": "us-east-1", "creation_date": "2024-03-03T03:03:03.000Z"},
        ],
    },
    "sts": {
        "roles": {
            "arn:aws:iam::%s:role/ops-admin" % ACCT: {"max_session_duration": 3600},
            "arn:aws:iam::%s:role/slashd-readonly" % ACCT: {"max_session_duration": 3600},
            "arn:aws:iam::%s:role/slack-alice" % ACCT: {"max_session_duration": 43200},
            "arn:aws:iam::%s:role/slashd-web-identity" % ACCT: {"max_session_duration": 3600},
            "arn:aws:iam::%s:role/no-trust" % ACCT: {"max_session_duration": 3600},
        },
        "deny_roles": ["arn:aws:iam::%s:role/no-trust" % ACCT],
        "session_token_whitespace": True,
        "web_identity_tokens": {
            "slashd-web-identity-token": {
                "subject": "system:serviceaccount:slashd:slashd",
                "audience": "sts.amazonaws.com",
                "provider": "oidc.eks.us-east-1.amazonaws.com/id/EXAMPLED539D4633E53DE1B716D3041E",
                "roles": None}},
    },
    "iam": {
        "users": {
            "slashd-host": {"user_id": "AIDASLASHDHOST000001", "path": "/",
                            "create_date": "2024-01-10T12:00:00Z", "password_last_used": None,
                            "policies": {"slashd-read": {
                                "Version": "2012-10-17",
                                "Statement": [{"Effect": "Allow",
                                               "Action": ["ec2:Describe*", "s3:ListAllMyBuckets",
                                                          "cloudwatch:GetMetricStatistics"],
                                               "Resource": "*"},
                                              {"Effect": "Allow", "Action": "sts:AssumeRole",
                                               "Resource": "arn:aws:iam::%s:role/*" % ACCT}]}}},
            "alice": {"user_id": "AIDAALICE00000000001", "path": "/people/",
                      "create_date": "2023-10-02T17:01:44Z",
                      "password_last_used": "2024-10-10T14:37:51Z",
                      "policies": {"AllAccessPolicy": {
                          "Version": "2012-10-17",
                          "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}}},
        },
    },
    "kms": {
        "ciphertexts": {
            base64.b64encode(b"slashd-kms:v1:signing-secret").decode(): {
                "plaintext": "8f742231b10e8888abcd99yyyzzz85a5",
                "key_id": "arn:aws:kms:us-east-1:%s:key/1234abcd-12ab-34cd-56ef-1234567890ab" % ACCT,
                "encryption_context": None},
        },
    },
    "sns": {"topics": ["arn:aws:sns:us-east-1:%s:slashd-jobs" % ACCT]},
    "sqs": {"queues": ["slashd-jobs"], "visibility_timeout": 30},
    "imds": {"mode": "v2", "v1_token_status": 403, "off_behavior": "close",
             "role_name": "slashd-instance-role", "credential_ttl_seconds": 21600},
    "container": {"authorization_token": "slashd-container-token",
                  "role_name": "slashd-task-role", "credential_ttl_seconds": 21600},
}

CONTAINER_PATHS = ("/ecs/credentials", "/v2/credentials/slashd-task")


# --------------------------------------------------------------------------
# small helpers

def now():
    return time.time()


def iso(ts, millis=False):
    d = dt.datetime.fromtimestamp(ts, dt.timezone.utc)
    if millis:
        return d.strftime("%Y-%m-%dT%H:%M:%S.") + "%03dZ" % (d.microsecond // 1000)
    return d.strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_iso(text):
    t = text.strip()
    if t.endswith("Z") or t.endswith("z"):
        t = t[:-1] + "+00:00"
    d = dt.datetime.fromisoformat(t)
    if d.tzinfo is None:
        d = d.replace(tzinfo=dt.timezone.utc)
    return d.timestamp()


def amz_to_ts(stamp):
    return dt.datetime.strptime(stamp, "%Y%m%dT%H%M%SZ").replace(tzinfo=dt.timezone.utc).timestamp()


def ts_to_amz(ts):
    return dt.datetime.fromtimestamp(ts, dt.timezone.utc).strftime("%Y%m%dT%H%M%SZ")


def deep_merge(base, patch):
    for k, v in patch.items():
        if isinstance(v, dict) and isinstance(base.get(k), dict):
            deep_merge(base[k], v)
        else:
            base[k] = copy.deepcopy(v)
    return base


def parse_query(qs):
    """Strict RFC 3986 decoding ('+' stays '+'), as AWS does for the query string."""
    out = []
    if not qs:
        return out
    for pair in qs.split("&"):
        if pair == "":
            continue
        k, _, v = pair.partition("=")
        out.append((unquote(k), unquote(v)))
    return out


def parse_form(body):
    """application/x-www-form-urlencoded ('+' is a space)."""
    out = []
    text = body.decode("utf-8", "replace")
    for pair in text.split("&"):
        if pair.strip() == "":
            continue
        k, _, v = pair.partition("=")
        out.append((unquote(k.replace("+", " ")), unquote(v.replace("+", " "))))
    return out


def rand_upper(n, alphabet=string.ascii_uppercase + "234567"):
    return "".join(secrets.choice(alphabet) for _ in range(n))


def E(tag, text=None, children=()):
    el = ET.Element(tag)
    if text is not None:
        el.text = str(text)
    for c in children:
        el.append(c)
    return el


def set_text(root, path, text):
    el = root.find(path)
    if el is not None:
        el.text = None if text is None else str(text)
    return el


def remove_child(root, path):
    parent_path, _, name = path.rpartition("/")
    parent = root.find(parent_path) if parent_path else root
    if parent is None:
        return
    for c in list(parent):
        if c.tag == name:
            parent.remove(c)


def xml_bytes(root):
    return b'<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="utf-8")


def indexed(params, prefix):
    """Values of prefix.N (N >= 1) in index order."""
    rx = re.compile("^" + re.escape(prefix) + r"\.(\d+)$")
    found = []
    for k, v in params.items():
        m = rx.match(k)
        if m:
            found.append((int(m.group(1)), v))
    return [v for _, v in sorted(found)]


class AwsError(Exception):
    def __init__(self, code, message, status=400, extra=None, type_="Sender"):
        super().__init__(message)
        self.code, self.message, self.status = code, message, status
        self.extra = extra or {}
        self.type = type_


# --------------------------------------------------------------------------
# templates: the shapes of the official examples, read at run time

class Templates:
    def __init__(self, shared_dir):
        self.dir = os.path.join(shared_dir, "reference", "aws-examples")
        if not os.path.isdir(self.dir):
            raise SystemExit("fake_aws: no AWS examples at %s (set SLASHD_SHARED_DIR)" % self.dir)
        self.ns = {}
        x = self._xml
        self.ec2_describe = x("ec2-DescribeInstances.xml")
        self.ec2_console = x("ec2-GetConsoleOutput.xml")
        self.ec2_start = x("ec2-StartInstances.xml")
        self.ec2_stop = x("ec2-StopInstances.xml")
        self.ec2_error = x("ec2-error-InvalidInstanceID.xml")
        self.query = {"sts": x("sts-AssumeRole.xml"), "iam": x("iam-GetUser.xml"),
                      "monitoring": x("cloudwatch-GetMetricStatistics-BucketSizeBytes.xml"),
                      "sns": x("sns-Publish.xml"), "sqs": sqs_template()}
        self.iam_policy = x("iam-GetUserPolicy-urlencoded.xml")
        self.query_error = x("sts-error-AccessDenied.xml")
        self.s3_list = x("s3-ListBuckets-paginated.xml")
        self.s3_error = x("s3-error-NoSuchKey.xml")
        self.kms_decrypt = self._json("kms-Decrypt-response.json")
        self.imds_creds = self._json("imds-credentials.json")
        self.container_creds = self._json("ecs-container-credentials.json")
        self.kms_example_request = self._kms_request()

    def _read(self, name):
        with open(os.path.join(self.dir, name), encoding="utf-8") as f:
            return f.read()

    def _xml(self, name):
        text = self._read(name)
        lines = text.splitlines()
        # .http captures and annotated files: drop comment and header lines before the XML.
        start = 0
        for i, line in enumerate(lines):
            s = line.lstrip()
            if s.startswith("<") and not s.startswith("<!--"):
                start = i
                break
            if s.startswith("<!--"):
                start = i
                break
        root = ET.fromstring("\n".join(lines[start:]).strip())
        ns = None
        for el in root.iter():
            if isinstance(el.tag, str) and el.tag.startswith("{"):
                uri, _, local = el.tag[1:].partition("}")
                ns = ns or uri
                el.tag = local
        self.ns[name] = ns
        root.attrib.pop("xmlns", None)
        return (root, ns)

    def _json(self, name):
        return json.loads(self._read(name))

    def _kms_request(self):
        text = self._read("kms-Decrypt.http")
        m = re.search(r'"CiphertextBlob":\s*"([^"]+)"', text)
        return m.group(1) if m else None

    @staticmethod
    def root(tpl, ns=None):
        root = copy.deepcopy(tpl[0])
        uri = ns if ns is not None else tpl[1]
        if uri:
            root.set("xmlns", uri)
        return root


# --------------------------------------------------------------------------
# SigV4 verification: recompute with botocore from what was received

class ReceivedRequestSigner(SigV4Auth):
    """botocore's SigV4 over the received request. Only the list of signed
    header NAMES comes from the client (as with AWS); values, path, query and
    payload hash are taken from the bytes received."""

    def __init__(self, credentials, service, region, signed_names, headers, s3):
        super().__init__(credentials, service, region)
        self._names = signed_names
        self._recv = headers
        self._s3 = s3

    def headers_to_sign(self, request):
        hm = HTTPHeaders()
        for name in self._names:
            for v in self._recv.get_all(name) or []:
                hm[name] = v
        return hm

    def _normalize_url_path(self, path):
        if self._s3:
            # S3: decode once, encode once, never normalize.
            return quote(unquote(path), safe="/~")
        return super()._normalize_url_path(path)

    def payload(self, request):
        return hashlib.sha256(request.body or b"").hexdigest()


def compute_signature(secret, service, region, amz_date, method, raw_path, query_pairs,
                      signed_names, headers, body, s3, content_sha=None):
    req = AWSRequest(method=method, url="http://fake" + (raw_path or "/"), data=body)
    req.params = query_pairs
    if s3 and content_sha is not None:
        req.headers["X-Amz-Content-SHA256"] = content_sha
    req.context["timestamp"] = amz_date
    signer = ReceivedRequestSigner(Credentials("x", secret), service, region,
                                   signed_names, headers, s3)
    if not query_pairs:
        signer.canonical_query_string = lambda r: ""
    creq = signer.canonical_request(req)
    sts = signer.string_to_sign(req, creq)
    return signer.signature(sts, req), creq, sts


# --------------------------------------------------------------------------
# state

class FakeState:
    def __init__(self, scenario, templates):
        self.lock = threading.RLock()
        self.t = templates
        self.initial_scenario = copy.deepcopy(scenario)
        self.scenario = copy.deepcopy(scenario)
        self.calls = []
        self.seq = 0
        self.reset_state()

    # ---- lifecycle
    def reset_state(self):
        with self.lock:
            self.issued = {}
            self.assume_role_records = []
            self.sns_messages = []
            self.sqs_queues = {}  # name -> [message dicts], see sqs_*()
            self.imds_tokens = {}
            self.imds_creds = None
            self.container_creds = None
            self.init_instances()
            self.init_faults()

    def init_instances(self):
        self.instances = {}
        self.reservations = []
        for r in self.scenario["ec2"]["reservations"]:
            ids = []
            for inst in r["instances"]:
                i = copy.deepcopy(inst)
                i.setdefault("tags", {})
                i["reservation_id"] = r["reservation_id"]
                i["polls"] = 0
                i["since"] = now()
                self.instances[i["instance_id"]] = i
                ids.append(i["instance_id"])
            self.reservations.append({"reservation_id": r["reservation_id"],
                                      "owner_id": r.get("owner_id", self.scenario["account_id"]),
                                      "instance_ids": ids})

    def init_faults(self):
        self.faults = [dict(f, remaining=int(f.get("count", 1)))
                       for f in self.scenario.get("faults", [])]

    def merge_scenario(self, patch):
        with self.lock:
            deep_merge(self.scenario, patch)
            if "ec2" in patch and "reservations" in patch["ec2"]:
                self.init_instances()
            if "faults" in patch:
                self.init_faults()
            return copy.deepcopy(self.scenario)

    # ---- call log
    def log_call(self, entry):
        with self.lock:
            self.seq += 1
            entry["seq"] = self.seq
            self.calls.append(entry)

    # ---- credentials
    def host_keys(self):
        return {h["access_key_id"]: h for h in self.scenario["host_credentials"]}

    def lookup_key(self, akid):
        """-> dict(secret, token, expiration, kind, principal, user_id, role_arn) or None"""
        with self.lock:
            h = self.host_keys().get(akid)
            if h:
                user = h.get("user_name", "slashd-host")
                u = self.scenario["iam"]["users"].get(user, {})
                return {"secret": h["secret_access_key"], "token": h.get("session_token"),
                        "expiration": None, "kind": "host", "user_name": user,
                        "principal": "arn:aws:iam::%s:user%s%s" % (
                            self.scenario["account_id"], u.get("path", "/"), user),
                        "user_id": u.get("user_id", "AIDA" + akid[4:20].ljust(16, "X")),
                        "role_arn": None}
            c = self.issued.get(akid)
            return dict(c) if c else None

    def issue(self, kind, role_arn, session_name, ttl, extra=None, akid=None):
        akid = akid or "ASIA" + rand_upper(16)
        secret = base64.b64encode(secrets.token_bytes(30)).decode()
        token = "IQoJb3JpZ2luX2VjE" + base64.b64encode(secrets.token_bytes(180)).decode()
        m = ROLE_ARN_RE.match(role_arn or "")
        role_name = m.group(2) if m else (role_arn or "role")
        role_id = "AROA" + hashlib.sha1(role_arn.encode()).hexdigest().upper()[:17]
        cred = {"access_key_id": akid, "secret": secret, "token": token,
                "expiration": now() + ttl, "kind": kind, "role_arn": role_arn,
                "session_name": session_name,
                "principal": "arn:aws:sts::%s:assumed-role/%s/%s" % (
                    self.scenario["account_id"], role_name, session_name),
                "user_id": "%s:%s" % (role_id, session_name), "issued_at": now()}
        if extra:
            cred.update(extra)
        with self.lock:
            self.issued[akid] = cred
        return dict(cred)

    # ---- faults
    def take_fault(self, service, action, region=None):
        with self.lock:
            for f in self.faults:
                if f["remaining"] <= 0:
                    continue
                if f.get("service", "*") not in ("*", service):
                    continue
                if f.get("action", "*") not in ("*", action):
                    continue
                if f.get("region", "*") not in ("*", region):
                    continue
                f["remaining"] -= 1
                return dict(f)
        return None

    # ---- ec2 transitions
    def settle(self, inst, poll):
        ec2 = self.scenario["ec2"]
        if inst["state"] not in ("stopping", "pending"):
            return
        if poll:
            inst["polls"] += 1
        done = False
        n = ec2.get("transition_polls")
        if n is not None and inst["polls"] >= n:
            done = True
        secs = ec2.get("transition_seconds")
        if secs is not None and now() - inst["since"] >= secs:
            done = True
        if done:
            if inst["state"] == "stopping":
                inst["state"] = "stopped"
                inst["stopped_at"] = now()
            else:
                inst["state"] = "running"

    def snapshot(self):
        with self.lock:
            return {
                "instances": [
                    {"instance_id": i["instance_id"], "reservation_id": i["reservation_id"],
                     "state": i["state"], "name": i["tags"].get("Name"), "polls": i["polls"]}
                    for i in self.instances.values()],
                "issued_credentials": [
                    {k: c.get(k) for k in ("access_key_id", "kind", "role_arn", "session_name",
                                            "principal", "token")}
                    | {"expiration": iso(c["expiration"]), "expired": c["expiration"] <= now()}
                    for c in self.issued.values()],
                "assume_role_calls": copy.deepcopy(self.assume_role_records),
                "sns_messages": copy.deepcopy(self.sns_messages),
                "sqs_messages": sqs_snapshot(self),
                "faults": copy.deepcopy(self.faults),
                "imds_tokens": len(self.imds_tokens),
                "calls": len(self.calls),
            }


# --------------------------------------------------------------------------
# per-protocol error bodies and auth error table

AUTH_ERRORS = {
    "ec2": {
        "missing": ("MissingAuthenticationToken", 401,
                    "The request must contain either a valid (registered) AWS access key ID or X.509 certificate."),
        "unknown_key": ("AuthFailure", 401, "AWS was not able to validate the provided access credentials"),
        "bad_signature": ("AuthFailure", 401, "AWS was not able to validate the provided access credentials"),
        "bad_token": ("AuthFailure", 401, "AWS was not able to validate the provided access credentials"),
        "missing_token": ("AuthFailure", 401, "AWS was not able to validate the provided access credentials"),
        "skew": ("RequestExpired", 400, "Request has expired."),
        "expired": ("RequestExpired", 400, "Request has expired."),
        "incomplete": ("AuthFailure", 401, None),
    },
    "query": {
        "missing": ("MissingAuthenticationToken", 403, "Request is missing Authentication Token"),
        "unknown_key": ("InvalidClientTokenId", 403, "The security token included in the request is invalid."),
        "bad_signature": ("SignatureDoesNotMatch", 403,
                          "The request signature we calculated does not match the signature you provided. "
                          "Check your AWS Secret Access Key and signing method. Consult the service documentation for details."),
        "bad_token": ("InvalidClientTokenId", 403, "The security token included in the request is invalid."),
        "missing_token": ("InvalidClientTokenId", 403, "The security token included in the request is invalid."),
        "skew": ("SignatureDoesNotMatch", 403, None),
        "expired": ("ExpiredToken", 403, "The security token included in the request is expired"),
        "incomplete": ("IncompleteSignature", 400, None),
    },
    "s3": {
        "missing": ("AccessDenied", 403, "Access Denied"),
        "unknown_key": ("InvalidAccessKeyId", 403, "The AWS Access Key Id you provided does not exist in our records."),
        "bad_signature": ("SignatureDoesNotMatch", 403,
                          "The request signature we calculated does not match the signature you provided. "
                          "Check your key and signing method."),
        "bad_token": ("InvalidToken", 400, "The provided token is malformed or otherwise invalid."),
        "missing_token": ("InvalidAccessKeyId", 403, "The AWS Access Key Id you provided does not exist in our records."),
        "skew": ("RequestTimeTooSkewed", 403, "The difference between the request time and the current time is too large."),
        "expired": ("ExpiredToken", 400, "The provided token has expired."),
        "incomplete": ("AuthorizationHeaderMalformed", 400, None),
    },
    "json": {
        "missing": ("MissingAuthenticationTokenException", 400, "Missing Authentication Token"),
        "unknown_key": ("UnrecognizedClientException", 400, "The security token included in the request is invalid."),
        "bad_signature": ("InvalidSignatureException", 400,
                          "The request signature we calculated does not match the signature you provided. "
                          "Check your AWS Secret Access Key and signing method. Consult the service documentation for details."),
        "bad_token": ("UnrecognizedClientException", 400, "The security token included in the request is invalid."),
        "missing_token": ("UnrecognizedClientException", 400, "The security token included in the request is invalid."),
        "skew": ("InvalidSignatureException", 400, None),
        "expired": ("ExpiredTokenException", 400, "The security token included in the request is expired"),
        "incomplete": ("IncompleteSignatureException", 400, None),
    },
}

FAULT_ERRORS = {
    "ec2": {"throttle": ("RequestLimitExceeded", 503, "Request limit exceeded."),
            "internal": ("InternalError", 500, "An internal error has occurred")},
    "query": {"throttle": ("Throttling", 400, "Rate exceeded"),
              "internal": ("InternalFailure", 500,
                           "The request processing has failed because of an unknown error, exception or failure.")},
    "s3": {"throttle": ("SlowDown", 503, "Please reduce your request rate."),
           "internal": ("InternalError", 500, "We encountered an internal error. Please try again.")},
    "json": {"throttle": ("ThrottlingException", 400, "Rate exceeded"),
             "internal": ("KMSInternalException", 500, "An internal error occurred.")},
}


def auth_error(protocol, kind, message=None, extra=None):
    code, status, default = AUTH_ERRORS[protocol][kind]
    return AwsError(code, message or default, status, extra)


# --------------------------------------------------------------------------
# the handler

class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "FakeAWS"
    sys_version = ""

    def version_string(self):
        return self.server_version

    def date_time_string(self, timestamp=None):
        # The Date header follows the fake's clock (clock_offset_seconds).
        return super().date_time_string(now() + clock_offset(self.st) if timestamp is None else timestamp)

    # quiet default logging; we write our own line per request
    def log_message(self, fmt, *args):
        pass

    @property
    def st(self):
        return self.server.state

    def do_GET(self):
        self._dispatch()

    def do_POST(self):
        self._dispatch()

    def do_PUT(self):
        self._dispatch()

    def do_HEAD(self):
        self._dispatch()

    def do_DELETE(self):
        self._dispatch()

    # ---- plumbing
    def _read_body(self):
        te = (self.headers.get("Transfer-Encoding") or "").lower()
        if "chunked" in te:
            chunks = []
            while True:
                line = self.rfile.readline()
                size = int(line.split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    break
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
            return b"".join(chunks)
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n > 0 else b""

    def _send(self, status, body=b"", ctype=None, headers=None, server=None):
        self._status = status
        self.server_version = server or "FakeAWS"
        self.send_response(status)
        if ctype:
            self.send_header("Content-Type", ctype)
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD" and body:
            self.wfile.write(body)

    def _log_line(self, what, status, code=None):
        sys.stderr.write("fake_aws: %s %s %s -> %s%s\n" % (
            self.command, self.path[:120], what, status, (" " + code) if code else ""))
        sys.stderr.flush()

    def _dispatch(self):
        self._status = None
        try:
            self.body = self._read_body()
        except Exception:  # broken client; nothing sensible to answer
            self.close_connection = True
            return
        path, _, query = self.path.partition("?")
        self.raw_path, self.raw_query = path, query
        try:
            if path.startswith("/_fake/") or path == "/_fake":
                self._control(path, query)
            elif path.startswith("/latest/"):
                self._imds(path)
            elif path in CONTAINER_PATHS:
                self._container(path)
            elif path in IDENTITY_CENTER_PATHS:
                self._identity_center(path, query)
            else:
                self._aws()
        except BrokenPipeError:
            self.close_connection = True
        except Exception as e:  # a bug in the fake: say so loudly, answer 500
            import traceback
            traceback.print_exc()
            try:
                self._send(500, ("fake_aws internal bug: %r" % e).encode(), "text/plain")
            except Exception:
                pass

    # ---- control API
    def _json_reply(self, obj, status=200):
        self._send(status, json.dumps(obj, indent=1, default=str).encode(), "application/json")

    def _control(self, path, query):
        st = self.st
        body = None
        if self.body:
            try:
                body = json.loads(self.body)
            except ValueError:
                self._json_reply({"error": "body is not JSON"}, 400)
                return
        if path == "/_fake/calls" and self.command == "GET":
            q = dict(parse_query(query))
            with st.lock:
                calls = [c for c in st.calls
                         if all(c.get(k) == q[k] for k in ("service", "action") if k in q)]
                self._json_reply(copy.deepcopy(calls))
        elif path == "/_fake/reset" and self.command == "POST":
            body = body or {}
            with st.lock:
                st.calls = []
                if body.get("scenario"):
                    st.scenario = copy.deepcopy(st.initial_scenario)
                if body.get("scenario") or body.get("state"):
                    st.reset_state()
            self._json_reply({"ok": True})
        elif path == "/_fake/scenario" and self.command == "POST":
            if not isinstance(body, dict):
                self._json_reply({"error": "POST a JSON object"}, 400)
                return
            self._json_reply(st.merge_scenario(body))
        elif path == "/_fake/scenario" and self.command == "GET":
            with st.lock:
                self._json_reply(copy.deepcopy(st.scenario))
        elif path == "/_fake/state" and self.command == "GET":
            self._json_reply(st.snapshot())
        elif path == "/_fake/expire" and self.command == "POST":
            body = body or {}
            n = 0
            with st.lock:
                for k, c in st.issued.items():
                    if body.get("access_key_id") in (None, k):
                        c["expiration"] = now() - 1
                        n += 1
            self._json_reply({"expired": n})
        else:
            self._json_reply({"error": "unknown control endpoint %s %s" % (self.command, path)}, 404)
        self._log_line("control", self._status)

    # ---- IMDS
    def _record_plain(self, service, action, status, error=None):
        self.st.log_call({"time": iso(now()), "service": service, "action": action,
                          "method": self.command, "path": self.path, "params": {},
                          "region": None, "access_key_id": None,
                          "had_session_token": False, "signed_ok": None, "principal": None,
                          "status": status, "error": error,
                          "headers": {k.lower(): v for k, v in self.headers.items()},
                          "signed_headers": []})
        self._log_line("%s.%s" % (service, action), status, error)

    def _plain_fault(self, service, action):
        f = self.st.take_fault(service, action)
        if not f:
            return False
        if f.get("delay_seconds"):
            time.sleep(float(f["delay_seconds"]))
        if f.get("kind") == "delay":
            return False
        status = int(f.get("status") or (500 if f.get("kind") != "throttle" else 429))
        self._record_plain(service, action, status, f.get("code") or f.get("kind"))
        self._send(status, (f.get("message") or "fault injected").encode(), "text/plain")
        return True

    def _imds(self, path):
        sc = self.st.scenario["imds"]
        mode = sc.get("mode", "v2")
        action = "token" if path == "/latest/api/token" else (
            "credentials" if path.startswith("/latest/meta-data/iam/security-credentials/")
            and path.rstrip("/") != "/latest/meta-data/iam/security-credentials" else "metadata")
        if path.rstrip("/") == "/latest/meta-data/iam/security-credentials":
            action = "role-list"
        if mode == "off":
            if sc.get("off_behavior", "close") == "close":
                self._record_plain("imds", action, 0, "connection-closed")
                self.close_connection = True
                try:
                    self.connection.shutdown(2)
                except OSError:
                    pass
                return
            self._record_plain("imds", action, 404)
            self._send(404, b"Not Found", "text/plain")
            return
        if self._plain_fault("imds", action):
            return
        if path == "/latest/api/token":
            if self.command != "PUT":
                self._record_plain("imds", action, 405)
                self._send(405, b"", "text/plain", {"Allow": "OPTIONS, PUT"})
                return
            if mode == "v1-only":
                status = int(sc.get("v1_token_status", 403))
                self._record_plain("imds", action, status)
                self._send(status, b"", "text/plain")
                return
            if self.headers.get("X-Forwarded-For"):
                self._record_plain("imds", action, 403, "x-forwarded-for")
                self._send(403, b"", "text/plain")
                return
            ttl = self.headers.get("x-aws-ec2-metadata-token-ttl-seconds")
            if ttl is None or not ttl.strip().isdigit() or not 1 <= int(ttl) <= 21600:
                self._record_plain("imds", action, 400, "bad-ttl")
                self._send(400, b"", "text/plain")
                return
            tok = base64.b64encode(secrets.token_bytes(42)).decode()
            with self.st.lock:
                self.st.imds_tokens[tok] = now() + int(ttl)
            self._record_plain("imds", action, 200)
            self._send(200, tok.encode(), "text/plain",
                       {"x-aws-ec2-metadata-token-ttl-seconds": str(int(ttl))})
            return
        if self.command not in ("GET", "HEAD"):
            self._record_plain("imds", action, 405)
            self._send(405, b"", "text/plain")
            return
        if mode == "v2":
            tok = self.headers.get("x-aws-ec2-metadata-token")
            with self.st.lock:
                exp = self.st.imds_tokens.get(tok or "")
            if exp is None or exp < now():
                self._record_plain("imds", action, 401, "missing-or-invalid-token")
                self._send(401, b"", "text/plain")
                return
        role = sc.get("role_name", "slashd-instance-role")
        base = "/latest/meta-data/iam/security-credentials"
        meta = {"/latest/meta-data/placement/region": self.st.scenario["region"],
                "/latest/meta-data/placement/availability-zone": self.st.scenario["region"] + "a",
                "/latest/meta-data/instance-id": "i-0a1b2c3d4e5f00009",
                "/latest/meta-data/": "ami-id\niam/\ninstance-id\nplacement/",
                "/latest/meta-data/iam/": "info\nsecurity-credentials/"}
        if path.rstrip("/") == base:
            reply = (200, role.encode(), "text/plain")
        elif path == base + "/" + role:
            reply = (200, json.dumps(self._instance_creds(), indent=2).encode(), "text/plain")
        elif path in meta:
            reply = (200, meta[path].encode(), "text/plain")
        else:
            reply = (404, b"", "text/html")
        self._record_plain("imds", action, reply[0])
        self._send(*reply)

    def _instance_creds(self):
        st, sc = self.st, self.st.scenario["imds"]
        with st.lock:
            c = st.imds_creds
            if c is None or c["expiration"] - now() < 300 or c["access_key_id"] not in st.issued:
                role = "arn:aws:iam::%s:role/%s" % (st.scenario["account_id"], sc["role_name"])
                c = st.issue("imds", role, "i-0a1b2c3d4e5f00009",
                             int(sc.get("credential_ttl_seconds", 21600)))
                st.imds_creds = c
            c = st.issued[c["access_key_id"]]
        values = {"Code": "Success", "LastUpdated": iso(c["issued_at"]), "Type": "AWS-HMAC",
                  "AccessKeyId": c["access_key_id"], "SecretAccessKey": c["secret"],
                  "Token": c["token"], "Expiration": iso(c["expiration"])}
        return {k: values[k] for k in self.st.t.imds_creds}  # keys and order of the example

    # ---- container credentials
    def _container(self, path):
        st, sc = self.st, self.st.scenario["container"]
        if self._plain_fault("container", "credentials"):
            return
        if self.command != "GET":
            self._record_plain("container", "credentials", 405)
            self._send(405, b"", "text/plain")
            return
        want = sc.get("authorization_token")
        if want is not None and self.headers.get("Authorization") != want:
            code = "missing-authorization" if self.headers.get("Authorization") is None else "bad-authorization"
            status = 401 if code == "missing-authorization" else 403
            self._record_plain("container", "credentials", status, code)
            self._send(status, json.dumps({"Message": "invalid or missing Authorization token"}).encode(),
                       "application/json")
            return
        with st.lock:
            c = st.container_creds
            if c is None or c["expiration"] - now() < 300 or c["access_key_id"] not in st.issued:
                role = "arn:aws:iam::%s:role/%s" % (st.scenario["account_id"], sc["role_name"])
                c = st.issue("container", role, "slashd-task",
                             int(sc.get("credential_ttl_seconds", 21600)))
                st.container_creds = c
            c = st.issued[c["access_key_id"]]
        values = {"AccessKeyId": c["access_key_id"], "SecretAccessKey": c["secret"],
                  "Token": c["token"], "Expiration": iso(c["expiration"]),
                  "AccountId": st.scenario["account_id"], "RoleArn": c["role_arn"]}
        out = {k: values[k] for k in st.t.container_creds}
        self._record_plain("container", "credentials", 200)
        self._send(200, json.dumps(out).encode(), "application/json")

    # ---- AWS
    def _guess_service(self, auth_service, params, ctype):
        if auth_service:
            return auth_service
        # Unsigned request: no credential scope, so judge by what was sent.
        if self.headers.get("X-Amz-Target"):
            return "kms"
        for svc, ver in VERSIONS.items():
            if params.get("Version") == ver:
                return svc
        if params.get("Action", "").startswith("AssumeRole"):
            return "sts"
        if self.command in ("GET", "HEAD") and "Action" not in params:
            return "s3"
        return "ec2"

    def _aws(self):
        ctype = self.headers.get("Content-Type") or ""
        query_pairs = parse_query(self.raw_query)
        auth = self.headers.get("Authorization")
        scope_service = None
        if auth:
            m = re.search(r"Credential=[^/,\s]*/\d*/[^/,\s]*/([^/,\s]*)/", auth)
            scope_service = m.group(1) if m else None
        form_ok = ctype.split(";")[0].strip().lower() == "application/x-www-form-urlencoded"
        params = dict(query_pairs)
        if self.command == "POST" and form_ok:
            params.update(parse_form(self.body))
        service = self._guess_service(scope_service, params, ctype)
        call = {"time": iso(now()), "service": service, "action": None, "method": self.command,
                "path": self.path, "params": {}, "region": None, "access_key_id": None,
                "had_session_token": self.headers.get("X-Amz-Security-Token") is not None,
                "signed_ok": False, "principal": None, "status": None, "error": None,
                "headers": {k.lower(): v for k, v in self.headers.items()},
                "signed_headers": []}
        self.call = call
        protocol = PROTOCOL.get(service)
        if protocol is None:
            err = AwsError("InvalidClientTokenId",
                           "Credential should be scoped to correct service: this fake serves %s, not %r"
                           % (", ".join(sorted(PROTOCOL)), service), 403)
            self._respond_error("query", "sts", err)
            return
        self.protocol = protocol
        try:
            if protocol in ("ec2", "query"):
                action = params.get("Action")
                call["action"] = action
                call["params"] = params
                unsigned_ok = service == "sts" and action == "AssumeRoleWithWebIdentity"
                cred = None
                if not (unsigned_ok and not auth):
                    cred = self._authenticate(service, protocol, query_pairs)
                self._query_checks(service, protocol, params, form_ok, ctype)
                self._maybe_fault(service, protocol, action)
                self._dispatch_query(service, protocol, action, params, cred)
            elif protocol == "s3":
                action = self._s3_action()
                call["action"] = action
                call["params"] = dict(query_pairs)
                cred = self._authenticate(service, protocol, query_pairs)
                self._maybe_fault(service, protocol, action)
                self._s3(action, dict(query_pairs), cred)
            else:
                target = self.headers.get("X-Amz-Target") or ""
                call["action"] = target.rpartition(".")[2] or None
                cred = self._authenticate(service, protocol, query_pairs)
                self._kms(target, ctype, cred)
        except AwsError as e:
            self._respond_error(protocol, service, e)

    # ---- signature verification
    def _authenticate(self, service, protocol, query_pairs):
        st, call = self.st, self.call
        auth = self.headers.get("Authorization")
        if not auth:
            if any(k == "X-Amz-Credential" for k, _ in query_pairs):
                raise auth_error(protocol, "incomplete", "fake_aws does not support presigned (query) SigV4")
            raise auth_error(protocol, "missing")
        m = re.match(r"^AWS4-HMAC-SHA256\s+(.*)$", auth.strip(), re.S)
        if not m:
            raise auth_error(protocol, "incomplete",
                             "Unsupported Authorization Type" if protocol != "s3" else
                             "The authorization mechanism you have provided is not supported. Please use AWS4-HMAC-SHA256.")
        parts = {}
        for piece in m.group(1).split(","):
            k, _, v = piece.strip().partition("=")
            parts[k.strip()] = v.strip()
        for need in ("Credential", "SignedHeaders", "Signature"):
            if need not in parts or not parts[need]:
                raise auth_error(protocol, "incomplete",
                                 "Authorization header requires '%s' parameter. Authorization=%s" % (need, auth))
        scope = parts["Credential"].split("/")
        if len(scope) != 5 or scope[4] != "aws4_request":
            raise auth_error(protocol, "incomplete",
                             "Credential should be scoped to a valid region, not %r. " % parts["Credential"])
        akid, sdate, region, ssvc, _ = scope
        call["access_key_id"] = akid
        call["region"] = region
        signed = parts["SignedHeaders"].split(";")
        call["signed_headers"] = signed
        # region rules
        if service == "iam" and region != "us-east-1":
            raise auth_error(protocol, "bad_signature",
                             "Credential should be scoped to a valid region, not '%s'. " % region)
        if not REGION_RE.match(region):
            raise auth_error(protocol, "bad_signature",
                             "Credential should be scoped to a valid region, not '%s'. " % region)
        if service == "s3" and region != st.scenario["region"]:
            raise AwsError("AuthorizationHeaderMalformed",
                           "The authorization header is malformed; the region '%s' is wrong; expecting '%s'"
                           % (region, st.scenario["region"]), 400, {"Region": st.scenario["region"]})
        # date
        amz_date = self.headers.get("X-Amz-Date")
        date_name = "x-amz-date"
        if amz_date is None and self.headers.get("Date"):
            try:
                amz_date = ts_to_amz(dt.datetime.strptime(
                    self.headers["Date"], "%a, %d %b %Y %H:%M:%S GMT").replace(tzinfo=dt.timezone.utc).timestamp())
                date_name = "date"
            except ValueError:
                amz_date = None
        if amz_date is None or not AMZ_DATE_RE.match(amz_date):
            raise auth_error(protocol, "incomplete",
                             "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header. "
                             "Authorization=%s" % auth)
        if sdate != amz_date[:8]:
            raise auth_error(protocol, "bad_signature" if protocol != "s3" else "incomplete",
                             "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from "
                             "HTTP: '%s' != '%s', from '%s'." % (sdate, amz_date[:8], amz_date))
        # which headers must be signed
        lower_signed = [s.lower() for s in signed]
        if "host" not in lower_signed:
            raise auth_error(protocol, "bad_signature" if protocol != "s3" else "incomplete",
                             "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.")
        if date_name not in lower_signed:
            raise auth_error(protocol, "bad_signature",
                             "The request signature does not cover the '%s' header." % date_name)
        present = {k.lower() for k in self.headers.keys()}
        if protocol == "s3":
            unsigned = sorted(h for h in present if h.startswith("x-amz-") and h not in lower_signed)
            if unsigned:
                raise AwsError("AccessDenied", "There were headers present in the request which were not signed",
                               403, {"HeadersNotSigned": ", ".join(unsigned)})
        else:
            for h in ("x-amz-security-token", "x-amz-target", "x-amz-content-sha256"):
                if h in present and h not in lower_signed:
                    raise auth_error(protocol, "bad_signature",
                                     "The request signature does not cover the '%s' header." % h)
        for h in lower_signed:
            if h not in present:
                raise auth_error(protocol, "bad_signature",
                                 "The request signs header '%s' but does not send it." % h)
        # S3 payload hash header
        content_sha = None
        if protocol == "s3":
            content_sha = self.headers.get("x-amz-content-sha256")
            if content_sha is None:
                raise AwsError("InvalidRequest",
                               "Missing required header for this request: x-amz-content-sha256", 400)
            if content_sha.startswith("STREAMING-"):
                raise AwsError("NotImplemented",
                               "A header you provided implies functionality that is not implemented", 501,
                               {"Header": "x-amz-content-sha256"})
            actual = hashlib.sha256(self.body).hexdigest()
            if content_sha != "UNSIGNED-PAYLOAD" and content_sha != actual:
                if not re.match(r"^[0-9a-f]{64}$", content_sha):
                    raise AwsError("InvalidArgument", "x-amz-content-sha256 must be UNSIGNED-PAYLOAD, "
                                   "STREAMING-... or a valid sha256 value.", 400,
                                   {"ArgumentName": "x-amz-content-sha256", "ArgumentValue": content_sha})
                raise AwsError("XAmzContentSHA256Mismatch",
                               "The provided 'x-amz-content-sha256' header does not match what was computed.",
                               400, {"ClientComputedContentSHA256": content_sha,
                                     "S3ComputedContentSHA256": actual})
        # key
        cred = st.lookup_key(akid)
        if cred is None:
            extra = {"AWSAccessKeyId": akid} if protocol == "s3" else None
            raise auth_error(protocol, "unknown_key", extra=extra)
        sig, creq, sts_text = compute_signature(
            cred["secret"], ssvc, region, amz_date, self.command, self.raw_path, query_pairs,
            lower_signed, self.headers, self.body, protocol == "s3", content_sha)
        if not hmac.compare_digest(sig, parts["Signature"]):
            call["expected_canonical_request"] = creq
            call["expected_string_to_sign"] = sts_text
            sys.stderr.write("fake_aws: signature mismatch for %s; expected canonical request %r\n"
                             % (akid, creq))
            if protocol == "s3":
                raise auth_error(protocol, "bad_signature", extra={
                    "AWSAccessKeyId": akid, "StringToSign": sts_text,
                    "SignatureProvided": parts["Signature"], "CanonicalRequest": creq})
            if protocol == "ec2":
                raise auth_error(protocol, "bad_signature")
            msg = AUTH_ERRORS[protocol]["bad_signature"][2] + (
                "\n\nThe Canonical String for this request should have been\n'%s'\n\n"
                "The String-to-Sign should have been\n'%s'\n" % (creq, sts_text))
            raise auth_error(protocol, "bad_signature", msg)
        # clock skew (the signature itself is fine)
        t_req, t_now = amz_to_ts(amz_date), now() + clock_offset(st)
        skew = float(st.scenario.get("max_skew_seconds", 300))
        if abs(t_now - t_req) > skew:
            if protocol == "s3":
                raise auth_error(protocol, "skew", extra={
                    "RequestTime": amz_date, "ServerTime": iso(t_now),
                    "MaxAllowedSkewMilliseconds": str(int(skew * 1000))})
            if t_req < t_now:
                msg = "Signature expired: %s is now earlier than %s (%s - %d min.)" % (
                    amz_date, ts_to_amz(t_now - skew), ts_to_amz(t_now), skew // 60)
            else:
                msg = "Signature not yet current: %s is still later than %s (%s + %d min.)" % (
                    amz_date, ts_to_amz(t_now + skew), ts_to_amz(t_now), skew // 60)
            raise auth_error(protocol, "skew", None if protocol == "ec2" else msg)
        # session token
        token = self.headers.get("X-Amz-Security-Token")
        if cred["token"] is None:
            if token is not None:
                raise auth_error(protocol, "bad_token")
        else:
            if token is None:
                raise auth_error(protocol, "missing_token", extra={"AWSAccessKeyId": akid} if protocol == "s3" else None)
            if not hmac.compare_digest(token.encode(), cred["token"].encode()):
                raise auth_error(protocol, "bad_token")
            if cred["expiration"] is not None and cred["expiration"] <= t_now:
                raise auth_error(protocol, "expired")
        call["signed_ok"] = True
        call["principal"] = cred["principal"]
        return cred

    def _maybe_fault(self, service, protocol, action):
        f = self.st.take_fault(service, action, self.call.get("region"))
        if not f:
            return
        if f.get("delay_seconds"):
            time.sleep(float(f["delay_seconds"]))
        kind = f.get("kind", "throttle")
        if kind == "delay":
            return
        code, status, message = FAULT_ERRORS[protocol].get(kind, ("InternalError", 500, "fault"))
        raise AwsError(f.get("code") or code, f.get("message") or message,
                       int(f.get("status") or status),
                       type_="Receiver" if int(f.get("status") or status) >= 500 else "Sender")

    # ---- responses
    def _request_id(self):
        return str(uuid.uuid4())

    def _finish(self, status, body, ctype, headers=None, server=None, error=None):
        # Log before answering: a client's next request must not overtake this entry.
        self.call["status"] = status
        self.call["error"] = error
        self.st.log_call(self.call)
        self._log_line("%s.%s" % (self.call["service"], self.call["action"]), status, error)
        self._send(status, body, ctype, headers, server)

    def _respond_error(self, protocol, service, e):
        rid = self._request_id()
        if protocol == "ec2":
            root = Templates.root(self.st.t.ec2_error)
            set_text(root, "Errors/Error/Code", e.code)
            set_text(root, "Errors/Error/Message", e.message)
            set_text(root, "RequestID", rid)
            self._finish(e.status, xml_bytes(root), "text/xml;charset=UTF-8", server="AmazonEC2", error=e.code)
        elif protocol == "query":
            ns = self.st.t.query.get(service, self.st.t.query["sts"])[1]
            root = Templates.root(self.st.t.query_error, ns)
            set_text(root, "Error/Type", e.type if e.status < 500 else "Receiver")
            set_text(root, "Error/Code", e.code)
            set_text(root, "Error/Message", e.message)
            set_text(root, "RequestId", rid)
            self._finish(e.status, xml_bytes(root), "text/xml", {"x-amzn-RequestId": rid}, error=e.code)
        elif protocol == "s3":
            root = Templates.root(self.st.t.s3_error)
            set_text(root, "Code", e.code)
            set_text(root, "Message", e.message)
            if "Resource" in e.extra:
                set_text(root, "Resource", e.extra.pop("Resource"))
            else:
                remove_child(root, "Resource")
            rid_el = root.find("RequestId")
            for k, v in e.extra.items():
                el = E(k, v)
                root.insert(list(root).index(rid_el), el)
            s3rid = secrets.token_hex(8).upper()
            set_text(root, "RequestId", s3rid)
            host_id = base64.b64encode(secrets.token_bytes(48)).decode()
            root.append(E("HostId", host_id))
            body = b"" if self.command == "HEAD" else xml_bytes(root)
            self._finish(e.status, body, "application/xml",
                         {"x-amz-request-id": s3rid, "x-amz-id-2": host_id}, server="AmazonS3", error=e.code)
        else:
            body = {"__type": e.code}
            if e.message is not None:
                body["message"] = e.message
            self._finish(e.status, json.dumps(body).encode(), "application/x-amz-json-1.1",
                         {"x-amzn-RequestId": rid}, error=e.code)

    # ---- Query / EC2 protocol checks
    ALLOWED = {
        ("ec2", "DescribeInstances"): [r"InstanceId\.\d+", r"Filter\.\d+\.Name", r"Filter\.\d+\.Value\.\d+",
                                       "MaxResults", "NextToken", "DryRun"],
        ("ec2", "GetConsoleOutput"): ["InstanceId", "Latest", "DryRun"],
        ("ec2", "StartInstances"): [r"InstanceId\.\d+", "AdditionalInfo", "DryRun"],
        ("ec2", "StopInstances"): [r"InstanceId\.\d+", "Hibernate", "Force", "DryRun"],
        ("monitoring", "GetMetricStatistics"): [
            "Namespace", "MetricName", r"Dimensions\.member\.\d+\.Name", r"Dimensions\.member\.\d+\.Value",
            "StartTime", "EndTime", "Period", r"Statistics\.member\.\d+", r"ExtendedStatistics\.member\.\d+",
            "Unit"],
        ("sts", "AssumeRole"): [
            "RoleArn", "RoleSessionName", r"PolicyArns\.member\.\d+\.arn", "Policy", "DurationSeconds",
            r"Tags\.member\.\d+\.Key", r"Tags\.member\.\d+\.Value", r"TransitiveTagKeys\.member\.\d+",
            "ExternalId", "SerialNumber", "TokenCode", "SourceIdentity",
            r"ProvidedContexts\.member\.\d+\.(ProviderArn|ContextAssertion)"],
        ("sts", "AssumeRoleWithWebIdentity"): [
            "RoleArn", "RoleSessionName", "WebIdentityToken", "ProviderId", r"PolicyArns\.member\.\d+\.arn",
            "Policy", "DurationSeconds"],
        ("sts", "GetCallerIdentity"): [],
        ("iam", "GetUser"): ["UserName"],
        ("iam", "GetUserPolicy"): ["UserName", "PolicyName"],
        ("sns", "Publish"): [
            "TopicArn", "TargetArn", "PhoneNumber", "Message", "Subject", "MessageStructure",
            r"MessageAttributes\.entry\.\d+\.(Name|Value\.DataType|Value\.StringValue|Value\.BinaryValue)",
            "MessageDeduplicationId", "MessageGroupId"],
        ("sqs", "SendMessage"): SQS_ALLOWED["SendMessage"],
        ("sqs", "ReceiveMessage"): SQS_ALLOWED["ReceiveMessage"],
        ("sqs", "DeleteMessage"): SQS_ALLOWED["DeleteMessage"],
    }

    def _query_checks(self, service, protocol, params, form_ok, ctype):
        if self.command not in ("GET", "POST"):
            raise AwsError("InvalidHttpRequest" if protocol == "query" else "UnsupportedProtocol",
                           "The %s method is not supported by this endpoint." % self.command, 400)
        if self.raw_path != "/":
            raise AwsError("InvalidAction", "The requested path %s is not valid for this web service." % self.raw_path, 400)
        action = params.get("Action")
        if not action:
            hint = ""
            if self.command == "POST" and not form_ok:
                hint = (" (the body was ignored: Content-Type %r is not application/x-www-form-urlencoded)"
                        % ctype)
            raise AwsError("MissingAction", "The request is missing an action or a required parameter" + hint
                           if protocol == "query" else
                           "The request must contain the parameter Action" + hint, 400)
        version = params.get("Version")
        if not version:
            raise AwsError("MissingParameter", "The request must contain the parameter Version", 400)
        if version != VERSIONS[service]:
            raise AwsError("NoSuchVersion", "The requested version (%s) of service %s does not exist."
                           % (version, {"ec2": "AmazonEC2", "monitoring": "GraniteServiceVersion20100801",
                                        "sts": "AWSSecurityTokenServiceV20110615",
                                        "iam": "AWSIdentityManagementV20100508",
                                        "sns": "AmazonSimpleNotificationService",
                                        "sqs": "AmazonSQS"}[service]), 400)
        allowed = self.ALLOWED.get((service, action))
        if allowed is None:
            if protocol == "ec2":
                raise AwsError("InvalidAction", "The action %s is not valid for this web service." % action, 400)
            raise AwsError("InvalidAction", "Could not find operation %s for version %s" % (action, version), 400)
        for k in params:
            if k in ("Action", "Version"):
                continue
            if not any(re.fullmatch(p, k) for p in allowed):
                if protocol == "ec2":
                    raise AwsError("UnknownParameter", "The parameter %s is not recognized" % k, 400)
                raise AwsError("InvalidParameterValue", "Unknown parameter: %s is not a member of the %s input"
                               % (k, action), 400)

    def _dispatch_query(self, service, protocol, action, params, cred):
        fn = getattr(self, "_%s_%s" % (service, action))
        fn(params, cred)

    def _ok_xml(self, root, service):
        rid = self._request_id()
        if service == "ec2":
            set_text(root, "requestId", rid)
            self._finish(200, xml_bytes(root), "text/xml;charset=UTF-8", server="AmazonEC2")
        else:
            set_text(root, "ResponseMetadata/RequestId", rid)
            self._finish(200, xml_bytes(root), "text/xml", {"x-amzn-RequestId": rid})

    def _query_root(self, service, action, template=None):
        tpl = template or self.st.t.query[service]
        root = Templates.root(tpl)
        root.tag = action + "Response"
        result = next(c for c in root if c.tag.endswith("Result"))
        result.tag = action + "Result"
        return root, result

    # ---- EC2
    def _bool(self, params, name):
        v = params.get(name)
        if v is None:
            return False
        if v not in ("true", "false"):
            raise AwsError("InvalidParameterValue",
                           "Invalid value '%s' for %s. Expected 'true' or 'false'." % (v, name), 400)
        return v == "true"

    def _dry_run(self, params):
        if self._bool(params, "DryRun"):
            raise AwsError("DryRunOperation", "Request would have succeeded, but DryRun flag is set.", 412)

    def _instance_ids(self, params, single=None):
        ids = [params[single]] if single else indexed(params, "InstanceId")
        for i in ids:
            if not INSTANCE_ID_RE.match(i):
                raise AwsError("InvalidInstanceID.Malformed", 'Invalid id: "%s" (expecting "i-...")' % i, 400)
        missing = [i for i in ids if i not in self.st.instances
                   or self.call["region"] not in (None, self.st.scenario["region"])]
        if missing:
            if len(missing) == 1:
                raise AwsError("InvalidInstanceID.NotFound", "The instance ID '%s' does not exist" % missing[0], 400)
            raise AwsError("InvalidInstanceID.NotFound",
                           "The instance IDs '%s' do not exist" % ", ".join(missing), 400)
        return ids

    def _filters(self, params):
        out = []
        idx = sorted({int(m.group(1)) for k in params for m in [re.match(r"^Filter\.(\d+)\.", k)] if m})
        for n in idx:
            name = params.get("Filter.%d.Name" % n)
            values = indexed(params, "Filter.%d.Value" % n)
            if not name:
                raise AwsError("InvalidParameterValue", "The filter 'null' is invalid", 400)
            if not (name in ("instance-state-name", "instance-state-code", "instance-id", "instance-type",
                             "reservation-id", "tag-key") or name.startswith("tag:")):
                raise AwsError("InvalidParameterValue", "The filter '%s' is invalid" % name, 400)
            out.append((name, values))
        return out

    @staticmethod
    def _match(inst, filters):
        for name, values in filters:
            if name == "instance-state-name":
                got = [inst["state"]]
            elif name == "instance-state-code":
                got = [str(STATE_CODES[inst["state"]])]
            elif name == "instance-id":
                got = [inst["instance_id"]]
            elif name == "instance-type":
                got = [inst["instance_type"]]
            elif name == "reservation-id":
                got = [inst["reservation_id"]]
            elif name == "tag-key":
                got = list(inst["tags"])
            else:
                key = name[4:]
                got = [inst["tags"][key]] if key in inst["tags"] else []
            if not any(fnmatch.fnmatchcase(g, v) for g in got for v in values):
                return False
        return True

    def _ec2_writes_allowed(self, action, cred, ids):
        ec2 = self.st.scenario["ec2"]
        denied = False
        if ec2.get("writes_require_assumed_role") and (cred["kind"] == "host" or cred["token"] is None):
            denied = True
        roles = ec2.get("write_roles")
        if roles is not None and cred.get("role_arn") not in roles:
            denied = True
        if denied:
            blob = base64.b64encode(secrets.token_bytes(96)).decode()
            raise AwsError("UnauthorizedOperation",
                           "You are not authorized to perform this operation. User: %s is not authorized to "
                           "perform: ec2:%s on resource: arn:aws:ec2:%s:%s:instance/%s because no identity-based "
                           "policy allows the ec2:%s action. Encoded authorization failure message: %s"
                           % (cred["principal"], action, self.st.scenario["region"],
                              self.st.scenario["account_id"], ids[0] if ids else "*", action, blob), 403)

    def _ec2_DescribeInstances(self, params, cred):
        st, t = self.st, self.st.t
        self._dry_run(params)
        ids = indexed(params, "InstanceId")
        filters = self._filters(params)
        max_results = params.get("MaxResults")
        if ids and max_results is not None:
            raise AwsError("InvalidParameterCombination",
                           "The parameter instancesSet cannot be used with the parameter maxResults", 400)
        if max_results is not None:
            if not re.fullmatch(r"\d+", max_results) or not 5 <= int(max_results) <= 1000:
                raise AwsError("InvalidParameterValue",
                               "Value ( %s ) for parameter maxResults is invalid. Expecting a value greater than 5."
                               % max_results, 400)
            page = int(max_results)
        else:
            page = int(st.scenario["ec2"].get("default_max_results") or 1000)
        if ids:
            page = 10 ** 9  # EC2 returns every listed instance at once
        with st.lock:
            if ids:
                self._instance_ids(params)
            in_region = self.call["region"] == st.scenario["region"]
            selected = []
            for r in st.reservations:
                insts = []
                for iid in r["instance_ids"]:
                    inst = st.instances[iid]
                    if ids and iid not in ids:
                        continue
                    if not self._match(inst, filters):
                        continue
                    st.settle(inst, poll=True)
                    if self._match(inst, filters):
                        insts.append(copy.deepcopy(inst))
                if insts and in_region:
                    selected.append((r, insts))
        fingerprint = hashlib.sha256(json.dumps(sorted((k, v) for k, v in params.items()
                                                       if k not in ("NextToken", "MaxResults"))).encode()
                                     ).hexdigest()[:16]
        start = 0
        token = params.get("NextToken")
        if token:
            try:
                tok = json.loads(base64.urlsafe_b64decode(token.encode()))
                assert tok["f"] == fingerprint
                start = int(tok["o"])
            except Exception:
                raise AwsError("InvalidPaginationToken",
                               "The specified pagination token is not valid or is expired.", 400)
        chosen, count, i = [], 0, start
        while i < len(selected):
            n = len(selected[i][1])
            if chosen and count + n > page:
                break
            chosen.append(selected[i])
            count += n
            i += 1
        next_token = None
        if i < len(selected):
            next_token = base64.urlsafe_b64encode(json.dumps({"o": i, "f": fingerprint}).encode()).decode()
        root = Templates.root(t.ec2_describe)
        rset = root.find("reservationSet")
        res_tpl = copy.deepcopy(rset.find("item"))
        inst_tpl = copy.deepcopy(res_tpl.find("instancesSet/item"))
        for c in list(res_tpl.find("instancesSet")):
            res_tpl.find("instancesSet").remove(c)
        for c in list(rset):
            rset.remove(c)
        for r, insts in chosen:
            item = copy.deepcopy(res_tpl)
            set_text(item, "reservationId", r["reservation_id"])
            set_text(item, "ownerId", r["owner_id"])
            iset = item.find("instancesSet")
            for inst in insts:
                iset.append(self._instance_xml(inst_tpl, inst))
            rset.append(item)
        if next_token:
            root.append(E("nextToken", next_token))
        self._ok_xml(root, "ec2")

    def _instance_xml(self, tpl, inst):
        st = self.st
        x = copy.deepcopy(tpl)
        region = st.scenario["region"]
        n = int(inst["instance_id"][-5:], 16) if re.match(r"^[0-9a-f]{5}$", inst["instance_id"][-5:]) else 1
        state = inst["state"]
        pip = inst.get("private_ip") or "10.0.1.10"
        pub = inst.get("public_ip") if state in ("running", "pending", "stopping") else None
        pdns = "ip-%s.ec2.internal" % pip.replace(".", "-") if region == "us-east-1" else \
            "ip-%s.%s.compute.internal" % (pip.replace(".", "-"), region)
        dns = ("ec2-%s.compute-1.amazonaws.com" % pub.replace(".", "-")) if pub and state == "running" else None
        set_text(x, "instanceId", inst["instance_id"])
        set_text(x, "imageId", inst.get("image_id", "ami-0c55b159cbfafe1f0"))
        set_text(x, "instanceState/code", STATE_CODES[state])
        set_text(x, "instanceState/name", state)
        set_text(x, "privateDnsName", pdns)
        set_text(x, "dnsName", dns)
        if state == "stopped":
            when = dt.datetime.fromtimestamp(inst.get("stopped_at", now() - 86400), dt.timezone.utc)
            set_text(x, "reason", "User initiated (%s GMT)" % when.strftime("%Y-%m-%d %H:%M:%S"))
            idx = list(x).index(x.find("reason"))
            x.insert(idx + 1, E("stateReason", None, [
                E("code", "Client.UserInitiatedShutdown"),
                E("message", "Client.UserInitiatedShutdown: User initiated shutdown")]))
        else:
            set_text(x, "reason", None)
        set_text(x, "keyName", inst.get("key_name", "slashd-dev"))
        set_text(x, "instanceType", inst.get("instance_type", "t3.micro"))
        set_text(x, "launchTime", inst.get("launch_time", "2024-05-08T16:46:19.000Z"))
        set_text(x, "placement/availabilityZone", region + "a")
        subnet, vpc = "subnet-0a1b2c3d4e5f60001", "vpc-0a1b2c3d4e5f60001"
        set_text(x, "subnetId", subnet)
        set_text(x, "vpcId", vpc)
        set_text(x, "privateIpAddress", pip)
        if pub:
            set_text(x, "ipAddress", pub)
        else:
            remove_child(x, "ipAddress")
        set_text(x, "blockDeviceMapping/item/ebs/volumeId", "vol-0a1b2c3d4e5f%05x" % n)
        set_text(x, "blockDeviceMapping/item/ebs/attachTime", inst.get("launch_time", "2024-05-08T16:46:19.000Z"))
        set_text(x, "clientToken", "slashd-%05d" % n)
        tags = inst.get("tags") or {}
        if tags:
            ts = x.find("tagSet")
            tag_tpl = copy.deepcopy(ts.find("item"))
            for c in list(ts):
                ts.remove(c)
            for k, v in tags.items():
                it = copy.deepcopy(tag_tpl)
                set_text(it, "key", k)
                set_text(it, "value", v)
                ts.append(it)
        else:
            remove_child(x, "tagSet")  # real EC2 omits tagSet for an untagged instance
        ni = x.find("networkInterfaceSet/item")
        if ni is not None:
            set_text(ni, "networkInterfaceId", "eni-0a1b2c3d4e5f%05x" % n)
            set_text(ni, "subnetId", subnet)
            set_text(ni, "vpcId", vpc)
            set_text(ni, "ownerId", st.scenario["account_id"])
            set_text(ni, "macAddress", "02:dd:2c:5e:%02x:%02x" % (n // 256 % 256, n % 256))
            set_text(ni, "privateIpAddress", pip)
            set_text(ni, "privateDnsName", pdns)
            set_text(ni, "attachment/attachmentId", "eni-attach-0a1b2c3d4e5f%05x" % n)
            set_text(ni, "attachment/attachTime", inst.get("launch_time", "2024-05-08T16:46:19.000Z"))
            pia = ni.find("privateIpAddressesSet/item")
            if pia is not None:
                set_text(pia, "privateIpAddress", pip)
                set_text(pia, "privateDnsName", pdns)
            for holder in (ni, pia):
                if holder is None:
                    continue
                if pub:
                    set_text(holder, "association/publicIp", pub)
                    set_text(holder, "association/publicDnsName", dns)
                else:
                    remove_child(holder, "association")
            remove_child(ni, "ipv6AddressesSet")
        set_text(x, "iamInstanceProfile/arn", "arn:aws:iam::%s:instance-profile/slashd-instance-role"
                 % st.scenario["account_id"])
        set_text(x, "iamInstanceProfile/id", "AIPASLASHD%010d" % n)
        return x

    def _ec2_GetConsoleOutput(self, params, cred):
        self._dry_run(params)
        if not params.get("InstanceId"):
            raise AwsError("MissingParameter", "The request must contain the parameter InstanceId", 400)
        self._bool(params, "Latest")
        with self.st.lock:
            iid = self._instance_ids(params, single="InstanceId")[0]
            inst = self.st.instances[iid]
            self.st.settle(inst, poll=False)
            text = inst.get("console_output")
        root = Templates.root(self.st.t.ec2_console)
        set_text(root, "instanceId", iid)
        set_text(root, "timestamp", iso(now(), millis=True))
        if text is None:
            remove_child(root, "output")
        else:
            b64 = base64.b64encode(text.encode("utf-8")).decode()
            set_text(root, "output", "\n".join(b64[i:i + 76] for i in range(0, len(b64), 76)))
        self._ok_xml(root, "ec2")

    def _ec2_start_stop(self, params, cred, start):
        action = "StartInstances" if start else "StopInstances"
        if not indexed(params, "InstanceId"):
            raise AwsError("MissingParameter", "The request must contain the parameter InstanceId", 400)
        for b in ("Force", "Hibernate"):
            self._bool(params, b)
        ids = indexed(params, "InstanceId")
        results = []
        with self.st.lock:
            self._instance_ids(params)
            self._ec2_writes_allowed(action, cred, ids)
            self._dry_run(params)
            insts = [self.st.instances[i] for i in ids]
            for inst in insts:
                self.st.settle(inst, poll=False)
            for inst in insts:
                s = inst["state"]
                ok = (s in ("stopped", "pending", "running")) if start else (s in ("running", "stopping", "stopped"))
                if not ok:
                    raise AwsError("IncorrectInstanceState",
                                   "The instance '%s' is not in a state from which it can be %s."
                                   % (inst["instance_id"], "started" if start else "stopped"), 400)
            for inst in insts:
                prev = inst["state"]
                if start and prev == "stopped":
                    inst.update(state="pending", polls=0, since=now())
                elif not start and prev == "running":
                    inst.update(state="stopping", polls=0, since=now())
                results.append((inst["instance_id"], inst["state"], prev))
        tpl = self.st.t.ec2_start if start else self.st.t.ec2_stop
        root = Templates.root(tpl)
        iset = root.find("instancesSet")
        item_tpl = copy.deepcopy(iset.find("item"))
        for c in list(iset):
            iset.remove(c)
        for iid, cur, prev in results:
            it = copy.deepcopy(item_tpl)
            set_text(it, "instanceId", iid)
            set_text(it, "currentState/code", STATE_CODES[cur])
            set_text(it, "currentState/name", cur)
            set_text(it, "previousState/code", STATE_CODES[prev])
            set_text(it, "previousState/name", prev)
            iset.append(it)
        self._ok_xml(root, "ec2")

    def _ec2_StartInstances(self, params, cred):
        self._ec2_start_stop(params, cred, True)

    def _ec2_StopInstances(self, params, cred):
        self._ec2_start_stop(params, cred, False)

    # ---- CloudWatch
    def _monitoring_GetMetricStatistics(self, params, cred):
        for req in ("Namespace", "MetricName", "StartTime", "EndTime", "Period"):
            if not params.get(req):
                raise AwsError("MissingParameter", "The parameter %s is required." % req, 400)
        stats = indexed(params, "Statistics.member")
        ext = indexed(params, "ExtendedStatistics.member")
        if not stats and not ext:
            raise AwsError("MissingParameter", "Must specify either Statistics or ExtendedStatistics.", 400)
        valid = ["SampleCount", "Average", "Sum", "Minimum", "Maximum"]
        for i, s in enumerate(stats, 1):
            if s not in valid:
                raise AwsError("InvalidParameterValue",
                               "The parameter Statistics.member.%d must be a value in the set "
                               "[ Maximum, Minimum, SampleCount, Average, Sum ]." % i, 400)
        try:
            start, end = parse_iso(params["StartTime"]), parse_iso(params["EndTime"])
        except ValueError:
            raise AwsError("InvalidParameterValue", "The parameter StartTime or EndTime is not a valid "
                           "ISO 8601 timestamp.", 400)
        if not re.fullmatch(r"\d+", params["Period"]) or int(params["Period"]) < 1:
            raise AwsError("InvalidParameterValue", "The parameter Period must be greater than 0.", 400)
        period = int(params["Period"])
        if period % 60 and period not in (1, 5, 10, 30):
            raise AwsError("InvalidParameterValue", "The parameter Period must be a multiple of 60.", 400)
        if start >= end:
            raise AwsError("InvalidParameterValue",
                           "The parameter StartTime must be less than the parameter EndTime.", 400)
        if (end - start) / period > 1440:
            raise AwsError("InvalidParameterCombination",
                           "You have requested up to %d datapoints, which exceeds the limit of 1,440. You may "
                           "reduce the datapoints requested by increasing Period, or decreasing the time range."
                           % int((end - start) / period), 400)
        dims = {}
        for n in sorted({int(m.group(1)) for k in params for m in [re.match(r"^Dimensions\.member\.(\d+)\.", k)] if m}):
            name = params.get("Dimensions.member.%d.Name" % n)
            value = params.get("Dimensions.member.%d.Value" % n)
            if not name or value is None:
                raise AwsError("InvalidParameterValue",
                               "The parameter Dimensions.member.%d.%s is required." % (n, "Name" if not name else "Value"),
                               400)
            dims[name] = value
        points = self._bucket_points(params, dims, self.call["region"])
        unit = params.get("Unit")
        if unit and unit != "Bytes":
            points = []
        sel = [p for p in points if start <= p[0] < end]
        groups = {}
        for ts, v in sel:
            key = ts if period <= 86400 else start + ((ts - start) // period) * period
            groups.setdefault(key, []).append(v)
        rows = list(groups.items())
        # unordered, like CloudWatch; the newest is never first (nor last when >= 3)
        rng = random.Random(dims.get("BucketName", "") + str(len(rows)))
        rows.sort()
        if len(rows) >= 2:
            newest = rows.pop()
            rng.shuffle(rows)
            rows.insert(0 if len(rows) == 1 else 1 + (len(rows) - 1) // 2, newest)
        root, result = self._query_root("monitoring", "GetMetricStatistics")
        set_text(result, "Label", params["MetricName"])
        dps = result.find("Datapoints")
        member_tpl = dps.find("member")
        for c in list(dps):
            dps.remove(c)
        for ts, vals in rows:
            m = E("member")
            m.append(E("Timestamp", iso(ts)))
            agg = {"SampleCount": float(len(vals)), "Average": sum(vals) / len(vals), "Sum": float(sum(vals)),
                   "Minimum": float(min(vals)), "Maximum": float(max(vals))}
            for s in stats:
                m.append(E(s, repr(float(agg[s]))))
            m.append(E("Unit", member_tpl.findtext("Unit") or "Bytes"))
            dps.append(m)
        self._ok_xml(root, "monitoring")

    def _bucket_points(self, params, dims, region):
        sc = self.st.scenario
        if params["Namespace"] != "AWS/S3" or params["MetricName"] != "BucketSizeBytes":
            return []
        if set(dims) != {"BucketName", "StorageType"} or dims["StorageType"] != "StandardStorage":
            return []  # CloudWatch matches the exact dimension set
        name = dims["BucketName"]
        bucket = next((b for b in sc["s3"]["buckets"] if b["name"] == name), None)
        if bucket is None or bucket.get("region", "us-east-1") != region:
            return []  # metrics live in the bucket's region
        override = sc["cloudwatch"].get("datapoints", {}).get(name)
        if override is not None:
            return [(parse_iso(p["timestamp"]), float(p["value"])) for p in override]
        cfg = sc["cloudwatch"]["buckets"].get(name)
        if not cfg:
            return []
        midnight = (int(now()) // 86400) * 86400
        out = []
        for k in range(1, int(sc["cloudwatch"].get("history_days", 14)) + 1):
            out.append((midnight - k * 86400,
                        float(cfg["standard_bytes"] - (k - 1) * cfg.get("daily_growth_bytes", 0))))
        return out

    # ---- STS
    def _validate_session_name(self, value, field):
        if value is None:
            raise AwsError("ValidationError", "1 validation error detected: Value null at '%s' failed to satisfy "
                           "constraint: Member must not be null" % field, 400)
        if not 2 <= len(value) <= 64:
            raise AwsError("ValidationError", "1 validation error detected: Value '%s' at '%s' failed to satisfy "
                           "constraint: Member must have length %s" % (
                               value, field, "greater than or equal to 2" if len(value) < 2
                               else "less than or equal to 64"), 400)
        if not SESSION_NAME_RE.match(value):
            raise AwsError("ValidationError", "1 validation error detected: Value '%s' at '%s' failed to satisfy "
                           "constraint: Member must satisfy regular expression pattern: [\\w+=,.@-]*"
                           % (value, field), 400)

    def _role_and_duration(self, params, caller):
        sc = self.st.scenario["sts"]
        arn = params.get("RoleArn")
        if arn is None:
            raise AwsError("ValidationError", "1 validation error detected: Value null at 'roleArn' failed to "
                           "satisfy constraint: Member must not be null", 400)
        if len(arn) < 20:
            raise AwsError("ValidationError", "1 validation error detected: Value '%s' at 'roleArn' failed to "
                           "satisfy constraint: Member must have length greater than or equal to 20" % arn, 400)
        if not ROLE_ARN_RE.match(arn):
            raise AwsError("ValidationError", "%s is invalid" % arn, 400)
        self._validate_session_name(params.get("RoleSessionName"), "roleSessionName")
        dur = params.get("DurationSeconds", "3600")
        if not re.fullmatch(r"\d+", dur):
            raise AwsError("ValidationError", "1 validation error detected: Value '%s' at 'durationSeconds' "
                           "failed to satisfy constraint: Member must be an integer" % dur, 400)
        d = int(dur)
        if d < 900 or d > 43200:
            raise AwsError("ValidationError", "1 validation error detected: Value '%d' at 'durationSeconds' "
                           "failed to satisfy constraint: Member must have value %s" % (
                               d, "greater than or equal to 900" if d < 900 else "less than or equal to 43200"), 400)
        denied = arn in sc.get("deny_roles", []) or arn not in sc.get("roles", {})
        if denied:
            raise AwsError("AccessDenied", "User: %s is not authorized to perform: sts:%s on resource: %s"
                           % (caller, self.call["action"], arn), 403)
        max_d = int(sc["roles"][arn].get("max_session_duration", 3600))
        if d > max_d:
            raise AwsError("ValidationError", "The requested DurationSeconds exceeds the MaxSessionDuration set "
                           "for this role.", 400)
        return arn, d

    def _credentials_xml(self, cred, role_arn, session_name):
        sc = self.st.scenario["sts"]
        tpl = self.st.t.query["sts"][0].find("AssumeRoleResult")
        creds = copy.deepcopy(tpl.find("Credentials"))
        set_text(creds, "AccessKeyId", cred["access_key_id"])
        set_text(creds, "SecretAccessKey", cred["secret"])
        tok = cred["token"]
        if sc.get("session_token_whitespace", True):
            tok = "\n       " + tok + "\n      "
        set_text(creds, "SessionToken", tok)
        set_text(creds, "Expiration", iso(cred["expiration"]))
        aru = copy.deepcopy(tpl.find("AssumedRoleUser"))
        set_text(aru, "Arn", cred["principal"])
        set_text(aru, "AssumedRoleId", cred["user_id"])
        return creds, aru

    def _sts_AssumeRole(self, params, cred):
        arn, dur = self._role_and_duration(params, cred["principal"])
        source = params.get("SourceIdentity")
        if source is not None:
            self._validate_session_name(source, "sourceIdentity")
        tags = {}
        for n in sorted({int(m.group(1)) for k in params for m in [re.match(r"^Tags\.member\.(\d+)\.", k)] if m}):
            k = params.get("Tags.member.%d.Key" % n)
            v = params.get("Tags.member.%d.Value" % n)
            if k is None or v is None or not 1 <= len(k) <= 128 or len(v) > 256:
                raise AwsError("ValidationError", "1 validation error detected: Value at 'tags.%d.member' failed "
                               "to satisfy constraint: Member must have a Key (1-128) and a Value (0-256)" % n, 400)
            tags[k] = v
        if len(tags) > 50:
            raise AwsError("ValidationError", "1 validation error detected: Value at 'tags' failed to satisfy "
                           "constraint: Member must have length less than or equal to 50", 400)
        if cred["kind"] != "host" and dur > 3600:
            raise AwsError("ValidationError", "The requested DurationSeconds exceeds the 1 hour session limit "
                           "for roles assumed by role chaining.", 400)
        session = params["RoleSessionName"]
        issued = self.st.issue("assumed-role", arn, session, dur,
                               {"source_identity": source, "tags": tags, "caller": cred["principal"]},
                               akid=deterministic_akid(self.st, "assume", arn, cred.get("role_arn") or
                                                       cred["principal"], params.get("ExternalId")))
        with self.st.lock:
            self.st.assume_role_records.append({
                "time": iso(now()), "role_arn": arn, "role_session_name": session, "duration_seconds": dur,
                "source_identity": source, "tags": tags, "caller_access_key_id": self.call["access_key_id"],
                "caller": cred["principal"], "issued_access_key_id": issued["access_key_id"],
                "external_id": params.get("ExternalId")})
        root, result = self._query_root("sts", "AssumeRole")
        creds, aru = self._credentials_xml(issued, arn, session)
        tpl_result = copy.deepcopy(result)
        for c in list(result):
            result.remove(c)
        for c in tpl_result:
            if c.tag == "SourceIdentity":
                if source is not None:
                    result.append(E("SourceIdentity", source))
            elif c.tag == "AssumedRoleUser":
                result.append(aru)
            elif c.tag == "Credentials":
                result.append(creds)
            elif c.tag == "PackedPolicySize":
                if params.get("Policy") or tags or indexed(params, "PolicyArns.member"):
                    result.append(E("PackedPolicySize", min(99, 3 + 2 * len(tags) + len(params.get("Policy", "")) // 20)))
            else:
                result.append(c)
        self._ok_xml(root, "sts")

    def _sts_AssumeRoleWithWebIdentity(self, params, cred):
        sc = self.st.scenario["sts"]
        token = params.get("WebIdentityToken")
        if token is None:
            raise AwsError("ValidationError", "1 validation error detected: Value null at 'webIdentityToken' "
                           "failed to satisfy constraint: Member must not be null", 400)
        info = sc.get("web_identity_tokens", {}).get(token)
        if info is None:
            raise AwsError("InvalidIdentityToken", "The web identity token that was passed could not be "
                           "validated by AWS. Get a new identity token from the identity provider and then retry "
                           "the request.", 400)
        arn, dur = self._role_and_duration(params, "arn:aws:sts::%s:assumed-role/web-identity"
                                           % self.st.scenario["account_id"])
        if info.get("roles") is not None and arn not in info["roles"]:
            raise AwsError("AccessDenied", "Not authorized to perform sts:AssumeRoleWithWebIdentity", 403)
        session = params["RoleSessionName"]
        issued = self.st.issue("web-identity", arn, session, dur, {"caller": info.get("subject")},
                               akid=deterministic_akid(self.st, "web", arn, token))
        with self.st.lock:
            self.st.assume_role_records.append({
                "time": iso(now()), "role_arn": arn, "role_session_name": session, "duration_seconds": dur,
                "web_identity": True, "subject": info.get("subject"),
                "issued_access_key_id": issued["access_key_id"]})
        root, result = self._query_root("sts", "AssumeRoleWithWebIdentity")
        for c in list(result):
            result.remove(c)
        creds, aru = self._credentials_xml(issued, arn, session)
        result.append(creds)
        result.append(E("SubjectFromWebIdentityToken", info.get("subject", "subject")))
        result.append(aru)
        result.append(E("Provider", info.get("provider", "provider")))
        result.append(E("Audience", info.get("audience", "sts.amazonaws.com")))
        self._ok_xml(root, "sts")

    def _sts_GetCallerIdentity(self, params, cred):
        root, result = self._query_root("sts", "GetCallerIdentity")
        for c in list(result):
            result.remove(c)
        user_id = cred["user_id"]
        result.append(E("Arn", cred["principal"]))
        result.append(E("UserId", user_id))
        result.append(E("Account", self.st.scenario["account_id"]))
        self._ok_xml(root, "sts")

    # ---- IAM
    def _iam_user(self, params, cred, field="userName"):
        users = self.st.scenario["iam"]["users"]
        name = params.get("UserName")
        if name is None:
            if cred["kind"] != "host":
                raise AwsError("ValidationError", "Must specify userName when calling with non-User credentials",
                               400)
            name = cred["user_name"]
        if name not in users:
            raise AwsError("NoSuchEntity", "The user with name %s cannot be found." % name, 404)
        return name, users[name]

    def _iam_GetUser(self, params, cred):
        name, u = self._iam_user(params, cred)
        root, result = self._query_root("iam", "GetUser")
        user = result.find("User")
        set_text(user, "UserId", u.get("user_id"))
        set_text(user, "Path", u.get("path", "/"))
        set_text(user, "UserName", name)
        set_text(user, "Arn", "arn:aws:iam::%s:user%s%s" % (self.st.scenario["account_id"], u.get("path", "/"), name))
        set_text(user, "CreateDate", u.get("create_date", "2024-01-01T00:00:00Z"))
        if u.get("password_last_used"):
            set_text(user, "PasswordLastUsed", u["password_last_used"])
        else:
            remove_child(user, "PasswordLastUsed")
        self._ok_xml(root, "iam")

    def _iam_GetUserPolicy(self, params, cred):
        for req, field in (("UserName", "userName"), ("PolicyName", "policyName")):
            if params.get(req) is None:
                raise AwsError("ValidationError", "1 validation error detected: Value null at '%s' failed to "
                               "satisfy constraint: Member must not be null" % field, 400)
        name, u = self._iam_user(params, cred)
        pname = params["PolicyName"]
        doc = u.get("policies", {}).get(pname)
        if doc is None:
            raise AwsError("NoSuchEntity", "The user policy with name %s cannot be found." % pname, 404)
        root = Templates.root(self.st.t.iam_policy)
        result = root.find("GetUserPolicyResult")
        set_text(result, "UserName", name)
        set_text(result, "PolicyName", pname)
        text = doc if isinstance(doc, str) else json.dumps(doc)
        set_text(result, "PolicyDocument", quote(text, safe="-_.~"))
        self._ok_xml(root, "iam")

    # ---- SNS
    def _sns_Publish(self, params, cred):
        target = params.get("TopicArn") or params.get("TargetArn")
        if not target and not params.get("PhoneNumber"):
            raise AwsError("InvalidParameter", "Invalid parameter: TopicArn or TargetArn Reason: no value for "
                           "required parameter", 400)
        if params.get("Message") is None:
            raise AwsError("ValidationError", "1 validation error detected: Value null at 'message' failed to "
                           "satisfy constraint: Member must not be null", 400)
        if target and target not in self.st.scenario["sns"]["topics"]:
            raise AwsError("NotFound", "Topic does not exist", 404)
        mid = str(uuid.uuid4())
        with self.st.lock:
            self.st.sns_messages.append({"message_id": mid, "topic_arn": target, "message": params["Message"],
                                         "subject": params.get("Subject"), "time": iso(now())})
        root, result = self._query_root("sns", "Publish")
        set_text(result, "MessageId", mid)
        self._ok_xml(root, "sns")

    # ---- SQS (Query API 2012-11-05; the queue is named by QueueUrl)
    def _sqs_SendMessage(self, params, cred):
        sqs_send(self, params)

    def _sqs_ReceiveMessage(self, params, cred):
        sqs_receive(self, params)

    def _sqs_DeleteMessage(self, params, cred):
        sqs_delete(self, params)

    # ---- S3
    def _s3_action(self):
        path = self.raw_path
        q = dict(parse_query(self.raw_query))
        if path == "/":
            return "ListBuckets" if self.command == "GET" else "Unknown"
        parts = path.strip("/").split("/", 1)
        if len(parts) == 1:
            if self.command == "GET" and "location" in q:
                return "GetBucketLocation"
            if self.command == "HEAD":
                return "HeadBucket"
            return "ListObjects" if self.command == "GET" else "Unknown"
        return "ObjectOperation"

    def _s3(self, action, q, cred):
        sc = self.st.scenario["s3"]
        buckets = sorted(sc["buckets"], key=lambda b: b["name"])
        if action == "ListBuckets":
            self._s3_list_buckets(q, buckets)
            return
        name = unquote(self.raw_path.strip("/").split("/", 1)[0])
        bucket = next((b for b in buckets if b["name"] == name), None)
        if bucket is None:
            raise AwsError("NoSuchBucket", "The specified bucket does not exist", 404, {"BucketName": name})
        if action == "GetBucketLocation":
            region = bucket.get("region", "us-east-1")
            root = E("LocationConstraint", None if region == "us-east-1" else region)
            root.set("xmlns", S3_NS)
            self._s3_ok(xml_bytes(root))
        elif action == "HeadBucket":
            region = bucket.get("region", "us-east-1")
            if region != self.call["region"]:
                raise AwsError("PermanentRedirect", "The bucket you are attempting to access must be addressed "
                               "using the specified endpoint.", 301, {"Bucket": name})
            self._s3_ok(b"", {"x-amz-bucket-region": region})
        else:
            raise AwsError("NotImplemented", "A header you provided implies functionality that is not "
                           "implemented", 501)

    def _s3_ok(self, body, headers=None):
        rid = secrets.token_hex(8).upper()
        h = {"x-amz-request-id": rid, "x-amz-id-2": base64.b64encode(secrets.token_bytes(48)).decode()}
        h.update(headers or {})
        self._finish(200, body, "application/xml", h, server="AmazonS3")

    def _s3_list_buckets(self, q, buckets):
        sc = self.st.scenario["s3"]
        known = {"max-buckets", "continuation-token", "prefix", "bucket-region"}
        for k in q:
            if k not in known:
                raise AwsError("InvalidArgument", "Unknown query parameter for ListBuckets: %s" % k, 400,
                               {"ArgumentName": k, "ArgumentValue": q[k]})
        mb = q.get("max-buckets")
        if mb is not None:
            if not re.fullmatch(r"\d+", mb) or not 1 <= int(mb) <= 10000:
                raise AwsError("InvalidArgument", "Argument max-buckets must be an integer between 1 and 10000",
                               400, {"ArgumentName": "max-buckets", "ArgumentValue": mb})
            page = int(mb)
        else:
            page = int(sc.get("default_max_buckets") or 10000)
        prefix = q.get("prefix")
        sel = [b for b in buckets if (prefix is None or b["name"].startswith(prefix))
               and (q.get("bucket-region") is None or b.get("region") == q["bucket-region"])]
        start = 0
        tok = q.get("continuation-token")
        if tok is not None:
            try:
                after = json.loads(base64.b64decode(tok.encode(), validate=True))["ContinuationAfter"]
                start = next(i for i, b in enumerate(sel) if b["name"] > after)
            except StopIteration:
                start = len(sel)
            except Exception:
                raise AwsError("InvalidArgument", "The continuation token provided is incorrect", 400,
                               {"ArgumentName": "continuation-token", "ArgumentValue": tok})
        chunk = sel[start:start + page]
        more = start + page < len(sel)
        root = Templates.root(self.st.t.s3_list, S3_NS)
        bl = root.find("Buckets")
        btpl = copy.deepcopy(bl.find("Bucket"))
        for c in list(bl):
            bl.remove(c)
        for b in chunk:
            el = copy.deepcopy(btpl)
            set_text(el, "CreationDate", b.get("creation_date", "2024-01-01T00:00:00.000Z"))
            set_text(el, "Name", b["name"])
            set_text(el, "BucketRegion", b.get("region", "us-east-1"))
            bl.append(el)
        set_text(root, "Owner/DisplayName", sc.get("owner_display_name", "slashd-dev"))
        set_text(root, "Owner/ID", sc.get("owner_id"))
        remove_child(root, "ContinuationToken")
        if more:
            token = base64.b64encode(json.dumps({"ContinuationAfter": chunk[-1]["name"]}).encode()).decode()
            root.append(E("ContinuationToken", token))
        if prefix is not None:
            root.append(E("Prefix", prefix))
        self._s3_ok(xml_bytes(root))

    # ---- KMS (JSON 1.1)
    def _kms(self, target, ctype, cred):
        if self.command != "POST" or self.raw_path != "/":
            raise AwsError("UnknownOperationException", None, 404)
        if ctype.strip().lower() != "application/x-amz-json-1.1":
            raise AwsError("SerializationException",
                           "Content-Type %r is not application/x-amz-json-1.1" % ctype, 400)
        if target != "TrentService.Decrypt":
            raise AwsError("UnknownOperationException", None, 400)
        try:
            body = json.loads(self.body or b"null")
            assert isinstance(body, dict)
        except Exception:
            raise AwsError("SerializationException", "Start of structure or map found where not expected.", 400)
        self.call["params"] = body
        self._maybe_fault("kms", "json", "Decrypt")
        known = {"CiphertextBlob", "EncryptionContext", "GrantTokens", "KeyId", "EncryptionAlgorithm",
                 "Recipient", "DryRun"}
        for k in body:
            if k not in known:
                raise AwsError("SerializationException", "Unrecognized field: %s" % k, 400)
        blob = body.get("CiphertextBlob")
        if blob is None:
            raise AwsError("ValidationException", "1 validation error detected: Value null at 'ciphertextBlob' "
                           "failed to satisfy constraint: Member must not be null", 400)
        try:
            raw = base64.b64decode(blob, validate=True)
        except Exception:
            raise AwsError("SerializationException", "Could not decode CiphertextBlob as base64", 400)
        if not 1 <= len(raw) <= 6144:
            raise AwsError("ValidationException", "1 validation error detected: Value at 'ciphertextBlob' failed "
                           "to satisfy constraint: Member must have length between 1 and 6144", 400)
        mapping = dict(self.st.scenario["kms"]["ciphertexts"])
        ex = self.st.t.kms_example_request
        if ex and ex not in mapping:
            mapping[ex] = {"plaintext_base64": self.st.t.kms_decrypt["Plaintext"],
                           "key_id": self.st.t.kms_decrypt["KeyId"]}
        entry = mapping.get(base64.b64encode(raw).decode())
        if entry is None:
            raise AwsError("InvalidCiphertextException", None, 400)
        if entry.get("encryption_context") is not None and body.get("EncryptionContext") != entry["encryption_context"]:
            raise AwsError("InvalidCiphertextException", None, 400)
        key_id = entry.get("key_id")
        if body.get("KeyId") and body["KeyId"] not in (key_id, key_id.rsplit("/", 1)[-1]):
            raise AwsError("IncorrectKeyException", "The key ID in the request does not identify a CMK that can "
                           "perform this operation.", 400)
        if body.get("EncryptionAlgorithm", "SYMMETRIC_DEFAULT") != "SYMMETRIC_DEFAULT":
            raise AwsError("IncorrectKeyException", "The EncryptionAlgorithm does not match.", 400)
        plain = entry.get("plaintext_base64") or base64.b64encode(entry.get("plaintext", "").encode()).decode()
        values = {"KeyId": key_id, "KeyMaterialId": hashlib.sha256(key_id.encode()).hexdigest(),
                  "Plaintext": plain, "EncryptionAlgorithm": "SYMMETRIC_DEFAULT"}
        out = {k: values[k] for k in self.st.t.kms_decrypt if k in values}
        rid = self._request_id()
        self._finish(200, json.dumps(out).encode(), "application/x-amz-json-1.1", {"x-amzn-RequestId": rid})


# --------------------------------------------------------------------------
# Credentials extras (issue 15): IAM Identity Center (the SSO portal's
# GetRoleCredentials and SSO OIDC CreateToken), a skewed clock, and
# deterministic assumed-role keys so that two resolvers (slashd and
# botocore) that reach the same role from the same source get the same key.
#
# Scenario keys (all optional):
#   clock_offset_seconds  0     the fake's clock runs this far ahead of the
#                                host's (signature skew checks, Date header)
#   sts.deterministic_keys false AssumeRole answers the same access key id
#                                for the same role, caller and ExternalId
#   sso.access_tokens     {}    token -> {"accounts": {account_id: [role
#                                names]}} or {"from_token": T}: tokens the
#                                portal accepts
#   sso.clients           {}    client_id -> {"secret": S, "refresh_tokens":
#                                {refresh_token: new_access_token}} for
#                                CreateToken (list the new token in
#                                access_tokens, e.g. {"from_token": OLD}
#                                to give it OLD's accounts)
#   sso.expires_in        3600  CreateToken's expiresIn
# GetRoleCredentials: GET /federation/credentials?role_name=&account_id=
# with x-amz-sso_bearer_token (unsigned, like the real portal); unknown or
# missing token -> 401 UnauthorizedException; a role the token may not use
# -> 403 ForbiddenException. CreateToken: POST /token with a JSON body
# (grantType refresh_token); a bad client or refresh token -> 400
# invalid_grant / invalid_client.

IDENTITY_CENTER_PATHS = ("/federation/credentials", "/token")


def clock_offset(st):
    try:
        return float(st.scenario.get("clock_offset_seconds") or 0)
    except (TypeError, ValueError):
        return 0.0


def deterministic_akid(st, *parts):
    if not st.scenario.get("sts", {}).get("deterministic_keys"):
        return None
    digest = hashlib.sha1("|".join(str(p) for p in parts).encode()).hexdigest().upper()
    return "ASIA" + digest[:16]


def _ic_reply(handler, status, obj, error_type=None):
    headers = {"x-amzn-RequestId": str(uuid.uuid4())}
    if error_type:
        headers["x-amzn-ErrorType"] = error_type
    handler._send(status, json.dumps(obj).encode(), "application/json", headers)
    handler._log_line("identity-center", status, error_type)
    handler.st.log_call({"time": iso(now()), "service": "sso", "action": handler.raw_path.strip("/"),
                         "method": handler.command, "path": handler.raw_path, "status": status,
                         "error": error_type, "headers": {k.lower(): v for k, v in handler.headers.items()}})


def _ic_token_info(sc, token):
    info = sc.get("access_tokens", {}).get(token)
    if info and info.get("from_token"):
        info = sc.get("access_tokens", {}).get(info["from_token"])
    return info


def _ic_role_credentials(handler, query):
    sc = handler.st.scenario.setdefault("sso", {})
    params = dict(parse_query(query))
    if handler.command != "GET" or handler.headers.get("Authorization"):
        return _ic_reply(handler, 400, {"message": "GetRoleCredentials is an unsigned GET"},
                         "InvalidRequestException")
    role, account = params.get("role_name"), params.get("account_id")
    if not role or not account or not re.match(r"^\d{12}$", account):
        return _ic_reply(handler, 400, {"message": "role_name and a 12-digit account_id are required"},
                         "InvalidRequestException")
    token = handler.headers.get("x-amz-sso_bearer_token")
    info = _ic_token_info(sc, token) if token else None
    if info is None:
        return _ic_reply(handler, 401, {"message": "Session token not found or invalid"},
                         "UnauthorizedException")
    if role not in info.get("accounts", {}).get(account, []):
        return _ic_reply(handler, 403, {"message": "No access"}, "ForbiddenException")
    arn = "arn:aws:iam::%s:role/aws-reserved/sso.amazonaws.com/AWSReservedSSO_%s" % (account, role)
    issued = handler.st.issue("sso", arn, "sso-user", 3600, {"caller": "sso"},
                              akid=deterministic_akid(handler.st, "sso", account, role))
    _ic_reply(handler, 200, {"roleCredentials": {
        "accessKeyId": issued["access_key_id"], "secretAccessKey": issued["secret"],
        "sessionToken": issued["token"], "expiration": int(issued["expiration"] * 1000)}})


def _ic_create_token(handler):
    sc = handler.st.scenario.setdefault("sso", {})
    ctype = (handler.headers.get("Content-Type") or "").split(";")[0].strip().lower()
    try:
        body = json.loads(handler.body or b"{}")
    except ValueError:
        body = None
    if handler.command != "POST" or ctype != "application/json" or not isinstance(body, dict):
        return _ic_reply(handler, 400, {"error": "invalid_request"}, "InvalidRequestException")
    if body.get("grantType") != "refresh_token":
        return _ic_reply(handler, 400, {"error": "unsupported_grant_type"}, "UnsupportedGrantTypeException")
    client = sc.get("clients", {}).get(body.get("clientId"))
    if client is None or client.get("secret") != body.get("clientSecret"):
        return _ic_reply(handler, 401, {"error": "invalid_client"}, "InvalidClientException")
    new_token = client.get("refresh_tokens", {}).get(body.get("refreshToken"))
    if new_token is None:
        return _ic_reply(handler, 400, {"error": "invalid_grant"}, "InvalidGrantException")
    _ic_reply(handler, 200, {"accessToken": new_token, "tokenType": "Bearer",
                             "expiresIn": int(sc.get("expires_in", 3600)),
                             "refreshToken": body["refreshToken"] + "-next"})


def _identity_center(self, path, query):
    if path == "/federation/credentials":
        _ic_role_credentials(self, query)
    else:
        _ic_create_token(self)


Handler._identity_center = _identity_center


# --------------------------------------------------------------------------

class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 64


# --------------------------------------------------------------------------
# SQS: queues of the scenario's "sqs.queues" (names, in the scenario account),
# addressed by QueueUrl https://sqs.<region>.amazonaws.com/<account>/<name>
# (any host: behind an endpoint override the URL keeps AWS's form).
# Messages have a visibility timeout; ReceiveMessage hides them, DeleteMessage
# needs the receipt handle of the latest receive, as in SQS.



def sqs_template():
    """SendMessageResponse/SendMessageResult/ResponseMetadata/RequestId, as SQS
    answers on its Query API (retagged per action by _query_root)."""
    return (E("SendMessageResponse", children=[
        E("SendMessageResult"), E("ResponseMetadata", children=[E("RequestId")])]), SQS_NS)


def sqs_queue(h, params):
    url = params.get("QueueUrl")
    if not url:
        raise AwsError("MissingParameter", "The request must contain the parameter QueueUrl.", 400)
    m = re.fullmatch(r"https?://[^/]+/(\d{12})/([A-Za-z0-9_-]{1,80}(?:\.fifo)?)/?", url)
    if not m or m.group(1) != h.st.scenario["account_id"] or \
            m.group(2) not in h.st.scenario["sqs"]["queues"]:
        raise AwsError("AWS.SimpleQueueService.NonExistentQueue",
                       "The specified queue does not exist for this wsdl version.", 400)
    return h.st.sqs_queues.setdefault(m.group(2), [])


def sqs_int(params, name, lo, hi, default):
    v = params.get(name)
    if v is None:
        return default
    if not re.fullmatch(r"\d+", v) or not lo <= int(v) <= hi:
        raise AwsError("InvalidParameterValue", "Value %s for parameter %s is invalid. Reason: Must be "
                       "between %d and %d." % (v, name, lo, hi), 400)
    return int(v)


def sqs_send(h, params):
    body = params.get("MessageBody")
    if body is None or body == "":
        raise AwsError("MissingParameter", "The request must contain the parameter MessageBody.", 400)
    if len(body.encode()) > SQS_MAX_BODY:
        raise AwsError("InvalidParameterValue", "One or more parameters are invalid. Reason: Message must "
                       "be shorter than 262144 bytes.", 400)
    if re.search(r"[^\x09\x0a\x0d\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]", body):
        raise AwsError("InvalidMessageContents", "Invalid binary character in the message body.", 400)
    delay = sqs_int(params, "DelaySeconds", 0, 900, 0)
    with h.st.lock:
        q = sqs_queue(h, params)
        mid = str(uuid.uuid4())
        q.append({"message_id": mid, "body": body, "sent": now(), "visible_at": now() + delay,
                  "receipt": None, "receives": 0, "deleted": False})
    root, result = h._query_root("sqs", "SendMessage")
    result.append(E("MD5OfMessageBody", hashlib.md5(body.encode()).hexdigest()))
    result.append(E("MessageId", mid))
    h._ok_xml(root, "sqs")


def sqs_receive(h, params):
    n = sqs_int(params, "MaxNumberOfMessages", 1, 10, 1)
    vis = sqs_int(params, "VisibilityTimeout", 0, 43200, h.st.scenario["sqs"]["visibility_timeout"])
    wait = sqs_int(params, "WaitTimeSeconds", 0, 20, 0)
    end = now() + wait
    while True:
        with h.st.lock:
            q = sqs_queue(h, params)
            t = now()
            ready = [m for m in q if not m["deleted"] and m["visible_at"] <= t][:n]
            for m in ready:
                m["receives"] += 1
                m["receipt"] = base64.b64encode(os.urandom(48)).decode()
                m["visible_at"] = t + vis
                m.setdefault("first_receive", t)
        if ready or now() >= end:
            break
        time.sleep(0.05)
    root, result = h._query_root("sqs", "ReceiveMessage")
    for m in ready:
        attrs = {"SenderId": "AIDASLASHDHOST0000001", "SentTimestamp": str(int(m["sent"] * 1000)),
                 "ApproximateReceiveCount": str(m["receives"]),
                 "ApproximateFirstReceiveTimestamp": str(int(m["first_receive"] * 1000))}
        msg = E("Message", children=[
            E("MessageId", m["message_id"]), E("ReceiptHandle", m["receipt"]),
            E("MD5OfBody", hashlib.md5(m["body"].encode()).hexdigest()), E("Body", m["body"])])
        for k in sorted(attrs):
            msg.append(E("Attribute", children=[E("Name", k), E("Value", attrs[k])]))
        result.append(msg)
    h._ok_xml(root, "sqs")


def sqs_delete(h, params):
    handle = params.get("ReceiptHandle")
    if not handle:
        raise AwsError("MissingParameter", "The request must contain the parameter ReceiptHandle.", 400)
    with h.st.lock:
        q = sqs_queue(h, params)
        m = next((m for m in q if m["receipt"] == handle), None)
        if m is None:
            raise AwsError("ReceiptHandleIsInvalid", "The input receipt handle \"%s\" is not a valid "
                           "receipt handle." % handle, 404)
        m["deleted"] = True
    root, result = h._query_root("sqs", "DeleteMessage")
    root.remove(result)  # DeleteMessageResponse has only ResponseMetadata
    h._ok_xml(root, "sqs")


def sqs_snapshot(st):
    return {name: [{"message_id": m["message_id"], "body": m["body"], "receives": m["receives"],
                    "deleted": m["deleted"]} for m in q]
            for name, q in st.sqs_queues.items()}


def shared_dir():
    return os.environ.get("SLASHD_SHARED_DIR") or os.path.join(os.path.dirname(REPO), "shared")


def load_scenario(path):
    sc = copy.deepcopy(DEFAULT_SCENARIO)
    if path:
        with open(path, encoding="utf-8") as f:
            deep_merge(sc, json.load(f))
    return sc


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--scenario", help="JSON file merged onto the default scenario")
    ap.add_argument("--exit-on-stdin-eof", action="store_true")
    args = ap.parse_args(argv)

    templates = Templates(shared_dir())
    state = FakeState(load_scenario(args.scenario), templates)
    httpd = Server(("127.0.0.1", args.port), Handler)
    httpd.state = state

    def stop(*_):
        threading.Thread(target=httpd.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    if args.exit_on_stdin_eof:
        def watch():
            try:
                while sys.stdin.buffer.read(4096):
                    pass
            except Exception:
                pass
            stop()
        threading.Thread(target=watch, daemon=True).start()
    sys.stdout.write("FAKE_AWS_PORT=%d\n" % httpd.server_address[1])
    sys.stdout.flush()
    sys.stderr.write("fake_aws: listening on 127.0.0.1:%d (examples from %s)\n"
                     % (httpd.server_address[1], templates.dir))
    sys.stderr.flush()
    try:
        httpd.serve_forever(poll_interval=0.2)
    finally:
        httpd.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
