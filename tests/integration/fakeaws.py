"""Starts tests/fakes/fake_aws.py for a test and talks to its control API."""

import json
import os
import subprocess
import sys
import tempfile
import urllib.request

from harness import SOURCE_DIR, SHARED_DIR, _started

FAKE = os.path.join(SOURCE_DIR, "tests", "fakes", "fake_aws.py")
PYTHON = "/usr/bin/python3" if os.path.exists("/usr/bin/python3") else sys.executable

HOST_KEY = "AKIDSLASHDHOST"
HOST_SECRET = "slashd-host-secret"
ACCOUNT = "123456789012"


def role(name):
    return "arn:aws:iam::%s:role/%s" % (ACCOUNT, name)


class FakeAws:
    def __init__(self, scenario=None):
        args = [PYTHON, FAKE, "--port", "0", "--exit-on-stdin-eof"]
        if scenario:
            f = tempfile.NamedTemporaryFile("w", suffix=".json", delete=False)
            json.dump(scenario, f)
            f.close()
            args += ["--scenario", f.name]
        env = dict(os.environ, SLASHD_SHARED_DIR=SHARED_DIR)
        self.log = tempfile.NamedTemporaryFile(prefix="fake-aws-", suffix=".log", delete=False)
        self.proc = subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=self.log, env=env, text=True)
        _started.append(self.proc)
        line = self.proc.stdout.readline()
        if not line.startswith("FAKE_AWS_PORT="):
            raise AssertionError("fake AWS did not start: %r" % line)
        self.port = int(line.strip().split("=")[1])
        self.url = "http://127.0.0.1:%d" % self.port

    def env(self, **extra):
        """Environment for slashd: host keys, the fake's endpoint, no IMDS."""
        e = {
            "AWS_ACCESS_KEY_ID": HOST_KEY,
            "AWS_SECRET_ACCESS_KEY": HOST_SECRET,
            "AWS_REGION": "us-east-1",
            "AWS_ENDPOINT_URL": self.url,
            "AWS_EC2_METADATA_DISABLED": "true",
            "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent/credentials",
            "AWS_CONFIG_FILE": "/nonexistent/config",
        }
        e.update(extra)
        return e

    def _req(self, method, path, body=None):
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.url + path, data=data, method=method,
                                     headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=10) as r:
            return json.loads(r.read() or b"null")

    def calls(self, service=None, action=None):
        q = []
        if service:
            q.append("service=" + service)
        if action:
            q.append("action=" + action)
        return self._req("GET", "/_fake/calls" + ("?" + "&".join(q) if q else ""))

    def reset(self, state=True):
        return self._req("POST", "/_fake/reset", {"state": state})

    def scenario(self, patch):
        return self._req("POST", "/_fake/scenario", patch)

    def state(self):
        return self._req("GET", "/_fake/state")

    def expire(self, access_key_id=None):
        return self._req("POST", "/_fake/expire", {"access_key_id": access_key_id} if access_key_id else {})

    def instance(self, iid):
        for i in self.state()["instances"]:
            if i.get("instance_id", i.get("id")) == iid:
                return i
        raise KeyError(iid)

    def close(self):
        try:
            self.proc.stdin.close()
            self.proc.wait(10)
        except Exception:
            self.proc.kill()
        self.proc.stdout.close()
        self.log.close()

