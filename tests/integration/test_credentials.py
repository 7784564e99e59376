#!/usr/bin/python3
"""Host credentials as an operator meets them: `slashd check-config` says
where they came from and who they are (sts:GetCallerIdentity), warns when
there are none and fails on a broken setting; a skewed clock is corrected.
Everything against tests/fakes/fake_aws.py on loopback, metadata disabled."""

import os
import re
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fakeaws import FakeAws, role, HOST_KEY, HOST_SECRET  # noqa: E402
from harness import Daemon, Sink, run_cli  # noqa: E402

ACCT = "123456789012"


class WhoAmI(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.fake = FakeAws()
        cls.d = Daemon(plugins=("help",), fixtures=(), sections={"aws": {"region": "us-east-1"}})
        cls.tmp = tempfile.TemporaryDirectory(prefix="slashd-creds-")

    @classmethod
    def tearDownClass(cls):
        cls.fake.close()
        cls.tmp.cleanup()

    def files(self, config="", credentials=""):
        paths = {}
        for name, text in (("config", config), ("credentials", credentials)):
            paths[name] = os.path.join(self.tmp.name, name)
            with open(paths[name], "w") as f:
                f.write(text)
        return {"AWS_CONFIG_FILE": paths["config"], "AWS_SHARED_CREDENTIALS_FILE": paths["credentials"],
                "AWS_ACCESS_KEY_ID": "", "AWS_SECRET_ACCESS_KEY": "", "HOME": self.tmp.name}

    def check(self, **env):
        e = dict(self.d.env)
        e.update(self.fake.env(**env))
        return run_cli("check-config", config=self.d.config, env=e)

    def test_role_chain_and_identity(self):
        env = self.files("[profile ops]\nrole_arn = %s\nsource_profile = base\nrole_session_name = whoami\n"
                         % role("ops-admin"),
                         "[base]\naws_access_key_id = %s\naws_secret_access_key = %s\n" % (HOST_KEY, HOST_SECRET))
        rc, out, err = self.check(AWS_PROFILE="ops", **env)
        self.assertEqual(rc, 0, out + err)
        self.assertIn("AWS: profile ops → assume %s via source_profile base; identity "
                      "arn:aws:sts::%s:assumed-role/ops-admin/whoami\n" % (role("ops-admin"), ACCT), out)

    def test_environment_identity(self):
        rc, out, err = self.check()
        self.assertEqual(rc, 0, out + err)
        self.assertIn("AWS: environment; identity arn:aws:iam::%s:user/slashd-host\n" % ACCT, out)

    def test_none_is_a_warning_listing_what_was_tried(self):
        env = self.files()
        rc, out, err = self.check(**env)
        self.assertEqual(rc, 0, out + err)
        self.assertRegex(err, r"warning: AWS: commands that call AWS will fail \(help still works\): no AWS "
                              r"credentials found; tried: environment \(AWS_ACCESS_KEY_ID not set\); shared files "
                              r"\(profile \"default\" not in .*\); web identity \(not configured\); container "
                              r"\(not configured\); instance metadata \(disabled by AWS_EC2_METADATA_DISABLED\)")
        self.assertRegex(out, r": OK \(\d+ warnings?\)")

    def test_broken_setting_fails_check_config(self):
        env = self.files("[default]\nrole_arn = %s\ncredential_source = Bogus\n" % role("ops-admin"))
        rc, out, err = self.check(**env)
        self.assertEqual(rc, 1, out + err)
        self.assertIn('error: AWS: no AWS credentials found; tried: environment (AWS_ACCESS_KEY_ID not set); '
                      'shared files (profile "default": credential_source (%s:3) is "Bogus"'
                      % env["AWS_CONFIG_FILE"], err)

    def test_failing_process_fails_check_config(self):
        script = os.path.join(self.tmp.name, "helper")
        with open(script, "w") as f:
            f.write("#!/bin/sh\necho 'vault sealed' >&2\nexit 4\n")
        os.chmod(script, 0o755)
        env = self.files("[default]\ncredential_process = %s --json\n" % script)
        rc, out, err = self.check(**env)
        self.assertEqual(rc, 1, out + err)
        self.assertIn('profile "default": credential_process (%s:2) exited with status 4: vault sealed'
                      % env["AWS_CONFIG_FILE"], err)


class ProcessStderr(unittest.TestCase):
    def test_stderr_goes_to_the_log(self):
        with tempfile.TemporaryDirectory(prefix="slashd-proc-") as tmp:
            script = os.path.join(tmp, "helper")
            with open(script, "w") as f:
                f.write("#!/bin/sh\necho 'first line' >&2\necho 'second line' >&2\n"
                        "echo '{\"Version\": 1, \"AccessKeyId\": \"AKIDP\", \"SecretAccessKey\": \"s\"}'\n")
            os.chmod(script, 0o755)
            cfg = os.path.join(tmp, "config")
            with open(cfg, "w") as f:
                f.write("[profile tools]\ncredential_process = %s\n" % script)
            probe = os.path.join(os.environ.get("SLASHD_BUILD_DIR", "build"), "tests", "aws", "aws_probe")
            e = {"PATH": "/usr/bin:/bin", "HOME": tmp, "AWS_CONFIG_FILE": cfg, "AWS_PROFILE": "tools",
                 "AWS_SHARED_CREDENTIALS_FILE": os.path.join(tmp, "none"), "AWS_EC2_METADATA_DISABLED": "true",
                 "AWS_PROBE_LOG": "warn"}
            p = subprocess.run([probe, "creds"], env=e, capture_output=True, text=True, timeout=60)
            self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
            self.assertIn('"access_key_id":"AKIDP"', p.stdout)
            self.assertIn('event=aws_credential_process_stderr profile=tools line="first line"', p.stderr)
            self.assertIn('event=aws_credential_process_stderr profile=tools line="second line"', p.stderr)


class ClockSkew(unittest.TestCase):
    """AWS refuses a signature 5+ minutes off with its own Date: slashd signs
    with the server's time from then on, retrying once."""

    @classmethod
    def setUpClass(cls):
        cls.fake = FakeAws({"clock_offset_seconds": 3600})
        cls.d = Daemon(plugins=("help",), fixtures=(), sections={"aws": {"region": "us-east-1"}})

    @classmethod
    def tearDownClass(cls):
        cls.fake.close()

    def setUp(self):
        self.fake.reset()

    def test_skew_is_corrected_once(self):
        e = dict(self.d.env)
        e.update(self.fake.env())
        rc, out, err = run_cli("check-config", config=self.d.config, env=e)
        self.assertEqual(rc, 0, out + err)
        self.assertIn("identity arn:aws:iam::%s:user/slashd-host" % ACCT, out)
        calls = self.fake.calls("sts", "GetCallerIdentity")
        self.assertEqual([c["status"] for c in calls], [403, 200], calls)

    def test_offset_is_logged(self):
        probe = os.path.join(os.environ.get("SLASHD_BUILD_DIR", "build"), "tests", "aws", "aws_probe")
        e = dict(self.fake.env(), PATH="/usr/bin:/bin", AWS_PROBE_LOG="warn")
        p = subprocess.run([probe, "call", "sts", "GetCallerIdentity"], env=e, capture_output=True,
                           text=True, timeout=60)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertIn('"attempts":2', p.stdout)
        m = re.search(r"event=aws_clock_skew service=sts code=SignatureDoesNotMatch offset_s=(\d+)", p.stderr)
        self.assertTrue(m, p.stderr)
        self.assertLess(abs(int(m.group(1)) - 3600), 5)


class Metrics(unittest.TestCase):
    """/metrics shows where the workers' host credentials come from, when
    they expire and the clock correction, once a job has used them."""

    def test_source_expiry_and_skew(self):
        fake = FakeAws({"clock_offset_seconds": 900})
        tmp = tempfile.TemporaryDirectory(prefix="slashd-creds-metrics-")
        sink = Sink()
        try:
            cfg = os.path.join(tmp.name, "config")
            with open(cfg, "w") as f:
                f.write("[profile ops]\nrole_arn = %s\nsource_profile = base\nrole_session_name = metrics\n"
                        "[profile base]\naws_access_key_id = %s\naws_secret_access_key = %s\n"
                        % (role("slashd-readonly"), HOST_KEY, HOST_SECRET))
            env = fake.env(AWS_PROFILE="ops", AWS_CONFIG_FILE=cfg, AWS_ACCESS_KEY_ID="",
                           AWS_SECRET_ACCESS_KEY="", HOME=tmp.name)
            d = Daemon(sink, plugins=("help",), fixtures=(), env=env,
                       sections={"aws": {"region": "us-east-1"}, "plugin.s3": {"enabled": "true"}})
            d.start()
            try:
                before = d.metrics()
                self.assertEqual(before["slashd_aws_credentials_expiry_timestamp_seconds"], 0)
                self.assertFalse([k for k in before if k.startswith("slashd_aws_credentials_info")])
                status, hdrs, _ = d.slash("s3 list")
                self.assertEqual(status, 200)
                msgs = sink.wait_final(hdrs["x-slashd-request-id"], timeout=30)
                self.assertIn("slashd-logs", msgs[-1]["text"])
                m = d.metrics()
            finally:
                self.assertEqual(d.stop(), 0)
            src = 'slashd_aws_credentials_info{source="profile ops → assume %s via source_profile base"}' \
                % role("slashd-readonly")
            self.assertEqual(m.get(src), 1, m)
            self.assertGreater(m["slashd_aws_credentials_expiry_timestamp_seconds"], time.time() + 600)
            self.assertLess(abs(m["slashd_aws_clock_skew_seconds"] - 900), 5)
        finally:
            sink.close()
            fake.close()
            tmp.cleanup()


class Proxy(unittest.TestCase):
    """libcurl's proxy variables: HTTPS_PROXY tunnels (CONNECT) to a host that
    the loopback proxy plays itself, trusted through AWS_CA_BUNDLE; NO_PROXY
    goes direct. Nothing leaves loopback: the proxy only ever connects to the
    fake, and the *.slashd.invalid names are never resolved by the client."""

    @classmethod
    def setUpClass(cls):
        cls.fake = FakeAws()
        cls.tmp = tempfile.TemporaryDirectory(prefix="slashd-proxy-")
        cls.cert = os.path.join(cls.tmp.name, "cert.pem")
        key = os.path.join(cls.tmp.name, "key.pem")
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                        "-subj", "/CN=aws.slashd.invalid", "-addext",
                        "subjectAltName=DNS:aws.slashd.invalid", "-keyout", key, "-out", cls.cert],
                       check=True, capture_output=True, timeout=60)
        cls.proxy_log = open(os.path.join(cls.tmp.name, "proxy.log"), "w+")
        here = os.path.dirname(os.path.abspath(__file__))
        cls.proxy = subprocess.Popen(
            [sys.executable, os.path.join(here, "..", "fakes", "connect_proxy.py"), "--upstream",
             str(cls.fake.port), "--cert", cls.cert, "--key", key],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=cls.proxy_log, text=True)
        line = cls.proxy.stdout.readline()
        assert line.startswith("PROXY_PORT="), line
        cls.proxy_url = "http://127.0.0.1:%d" % int(line.strip().split("=")[1])

    @classmethod
    def tearDownClass(cls):
        cls.proxy.stdin.close()
        cls.proxy.wait(timeout=10)
        cls.proxy.stdout.close()
        cls.proxy_log.close()
        cls.fake.close()
        cls.tmp.cleanup()

    def probe(self, **env):
        probe = os.path.join(os.environ.get("SLASHD_BUILD_DIR", "build"), "tests", "aws", "aws_probe")
        e = dict(self.fake.env(), PATH="/usr/bin:/bin")
        for k, v in env.items():
            if v is None:
                e.pop(k, None)
            else:
                e[k] = v
        p = subprocess.run([probe, "call", "sts", "GetCallerIdentity"], env=e, capture_output=True,
                           text=True, timeout=60)
        return p.returncode, p.stdout + p.stderr

    def proxied(self):
        self.proxy_log.flush()
        with open(self.proxy_log.name) as f:
            return [line.strip() for line in f if line.startswith("connect_proxy: ")]

    def test_https_proxy_with_ca_bundle(self):
        before = len(self.proxied())
        rc, out = self.probe(AWS_ENDPOINT_URL="https://aws.slashd.invalid", HTTPS_PROXY=self.proxy_url,
                             AWS_CA_BUNDLE=self.cert)
        self.assertEqual(rc, 0, out)
        self.assertIn("arn:aws:iam::%s:user/slashd-host" % ACCT, out)
        self.assertIn("connect_proxy: CONNECT aws.slashd.invalid:443", self.proxied()[before:])

    def test_without_the_ca_bundle_the_tunnel_is_not_trusted(self):
        rc, out = self.probe(AWS_ENDPOINT_URL="https://aws.slashd.invalid", HTTPS_PROXY=self.proxy_url)
        self.assertEqual(rc, 1, out)
        self.assertRegex(out, r"could not reach aws\.slashd\.invalid: .*(certificate|SSL)")

    def test_no_proxy_goes_direct(self):
        before = len(self.proxied())
        rc, out = self.probe(http_proxy=self.proxy_url, NO_PROXY="127.0.0.1")
        self.assertEqual(rc, 0, out)
        self.assertEqual(self.proxied()[before:], [])
        # Without NO_PROXY the same plain-http call goes to the proxy (which refuses it).
        rc, out = self.probe(http_proxy=self.proxy_url)
        self.assertEqual(rc, 1, out)
        self.assertTrue([l for l in self.proxied()[before:] if l.startswith("connect_proxy: POST http://")],
                        self.proxied())


if __name__ == "__main__":
    unittest.main(verbosity=2)
