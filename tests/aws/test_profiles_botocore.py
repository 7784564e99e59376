#!/usr/bin/python3
"""slashd's credential chain against botocore's, on the same files and env.

Each case writes a ~/.aws/config, ~/.aws/credentials (and SSO token cache,
credential_process scripts) into a fresh HOME, then resolves the host
credentials twice: with slashd's client (tests/aws/aws_probe creds) and with
Debian's botocore (botocore.session.get_session().get_credentials()), both
against tests/fakes/fake_aws.py on loopback. The fake issues deterministic
keys (same role, same caller → same access key id), so "the same identity"
is "the same access key id". A case either resolves in both to the same key
id, or fails in both (slashd's message naming what botocore's exception
class says).

Loopback only: AWS_ENDPOINT_URL points every service (STS, the SSO portal,
SSO OIDC) at the fake and instance metadata is disabled.
"""

import datetime
import hashlib
import json
import os
import subprocess
import sys
import tempfile
import textwrap
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import test_client_fake as tcf  # noqa: E402  (the fake's start/stop and control API)

ACCT = tcf.ACCT
HOST_KEY = "AKIDSLASHDHOST"
HOST_SECRET = "slashd-host-secret"


def role(name):
    return "arn:aws:iam::%s:role/%s" % (ACCT, name)


def iso_in(seconds):
    t = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(seconds=seconds)
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


# This botocore predates AWS_ENDPOINT_URL: every client it creates (STS for
# roles, SSO, SSO OIDC) is pointed at the fake explicitly.
BOTOCORE = textwrap.dedent("""
    import json, os, sys
    import botocore.session
    _create = botocore.session.Session.create_client
    def create_client(self, *a, **kw):
        kw["endpoint_url"] = os.environ["FAKE_URL"]
        return _create(self, *a, **kw)
    botocore.session.Session.create_client = create_client
    try:
        c = botocore.session.get_session().get_credentials()
        print(json.dumps({"ok": True, "akid": c.get_frozen_credentials().access_key if c else None}))
    except BaseException as e:
        print(json.dumps({"ok": False, "error": type(e).__name__, "message": str(e)}))
""")

PROCESS_OK = """#!/bin/sh
echo "ignored on stderr" >&2
printf '{"Version": 1, "AccessKeyId": "%s", "SecretAccessKey": "s3cr3t"%s}'
"""


def keys(name, akid, secret="x"):
    return "[%s]\naws_access_key_id = %s\naws_secret_access_key = %s\n" % (name, akid, secret)


# name, config, credentials, env, extra files {relative path: (text, mode)},
# and None (both must resolve the same key id) or (a substring of slashd's
# error, botocore's exception class). mfa_serial: botocore would prompt for
# a code (EOFError with no terminal); slashd refuses it outright.
CASES = [
    ("plain default keys", "[default]\nregion = us-east-1\n", keys("default", "AKIDPLAIN"), {}, {}, None),
    ("named profile", "", keys("default", "AKIDDEF") + keys("ops", "AKIDOPS"),
     {"AWS_PROFILE": "ops"}, {}, None),
    ("env keys beat AWS_PROFILE", "", keys("ops", "AKIDOPS"),
     {"AWS_PROFILE": "ops", "AWS_ACCESS_KEY_ID": "AKIDENV", "AWS_SECRET_ACCESS_KEY": "e"}, {}, None),
    ("credentials file beats config keys",
     "[default]\naws_access_key_id = AKIDCONFIG\naws_secret_access_key = c\n",
     keys("default", "AKIDCREDS"), {}, {}, None),
    ("non-credential keys ignored",
     "[default]\noutput = json\ncli_pager =\ns3 =\n  max_concurrent_requests = 20\n  region = nested\n"
     "aws_access_key_id = AKIDNESTED\naws_secret_access_key = n\n[services dev]\nsts =\n  x = y\n",
     "", {}, {}, None),
    ("role via source_profile",
     "[profile ops]\nrole_arn = %s\nsource_profile = base\n" % role("ops"),
     keys("base", HOST_KEY, HOST_SECRET), {"AWS_PROFILE": "ops"}, {}, None),
    ("role chain of depth 2",
     "[profile top]\nrole_arn = %s\nsource_profile = mid\n[profile mid]\nrole_arn = %s\n"
     "source_profile = base\n" % (role("ops"), role("slashd-readonly")),
     keys("base", HOST_KEY, HOST_SECRET), {"AWS_PROFILE": "top"}, {}, None),
    ("role with external_id, session name and duration",
     "[default]\nrole_arn = %s\nsource_profile = base\nexternal_id = ext-42\n"
     "role_session_name = chatops\nduration_seconds = 1800\n" % role("ops"),
     keys("base", HOST_KEY, HOST_SECRET), {}, {}, None),
    ("self-referencing source_profile with keys",
     "[default]\nrole_arn = %s\nsource_profile = default\n" % role("ops"),
     keys("default", HOST_KEY, HOST_SECRET), {}, {}, None),
    ("credential_source Environment",
     "[profile ops]\nrole_arn = %s\ncredential_source = Environment\n" % role("ops"), "",
     {"AWS_PROFILE": "ops", "AWS_ACCESS_KEY_ID": HOST_KEY, "AWS_SECRET_ACCESS_KEY": HOST_SECRET}, {}, None),
    ("credential_source EcsContainer",
     "[profile ops]\nrole_arn = %s\ncredential_source = EcsContainer\n" % role("ops"), "",
     {"AWS_PROFILE": "ops", "AWS_CONTAINER_CREDENTIALS_FULL_URI": "@FAKE@/ecs/credentials",
      "AWS_CONTAINER_AUTHORIZATION_TOKEN": "slashd-container-token"}, {}, None),
    ("credential_source Bogus",
     "[default]\nrole_arn = %s\ncredential_source = Bogus\n" % role("ops"), "", {}, {},
     ('credential_source (@HOME@/.aws/config:3) is "Bogus"', "InvalidConfigError")),
    ("source_profile loop",
     "[profile a]\nrole_arn = %s\nsource_profile = b\n[profile b]\nrole_arn = %s\nsource_profile = a\n"
     % (role("ops"), role("ops")), "", {"AWS_PROFILE": "a"}, {}, ("source_profile loop: a → b → a", "InfiniteLoopConfigError")),
    ("missing source_profile",
     "[default]\nrole_arn = %s\nsource_profile = ghost\n" % role("ops"), "", {}, {},
     ('names "ghost", which is in neither file', "InvalidConfigError")),
    ("mfa_serial refused",
     "[default]\nrole_arn = %s\nsource_profile = base\nmfa_serial = arn:aws:iam::%s:mfa/u\n"
     % (role("ops"), ACCT), keys("base", HOST_KEY, HOST_SECRET), {}, {},
     ("mfa_serial (@HOME@/.aws/config:4) needs an MFA code", "EOFError")),
    ("credential_process without Expiration",
     "[default]\ncredential_process = \"@HOME@/bin/creds helper\" --static\n", "", {},
     {"bin/creds helper": (PROCESS_OK % ("AKIDPROCSTATIC", ""), 0o755)}, None),
    ("credential_process with Expiration",
     "[default]\ncredential_process = @HOME@/bin/proc\n", "", {},
     {"bin/proc": (PROCESS_OK % ("AKIDPROCTEMP", ', "SessionToken": "t", "Expiration": "%s"'
                                 % iso_in(3600)), 0o755)}, None),
    ("credential_process failing",
     "[profile p]\ncredential_process = @HOME@/bin/fail\n", "", {"AWS_PROFILE": "p"},
     {"bin/fail": ("#!/bin/sh\necho 'token expired, log in again' >&2\nexit 3\n", 0o755)},
     ('credential_process (@HOME@/.aws/config:2) exited with status 3: token expired', "CredentialRetrievalError")),
    ("sso-session form",
     "[default]\nsso_session = corp\nsso_account_id = %s\nsso_role_name = ReadOnly\n"
     "[sso-session corp]\nsso_start_url = https://corp.awsapps.com/start\nsso_region = eu-west-1\n" % ACCT,
     "", {}, {"@SSO:corp@": (json.dumps({"startUrl": "https://corp.awsapps.com/start", "region": "eu-west-1",
                                         "accessToken": "sso-token-corp", "expiresAt": iso_in(7200)}), 0o600)},
     None),
    ("legacy sso_start_url form",
     "[profile old]\nsso_start_url = https://old.awsapps.com/start\nsso_region = us-east-1\n"
     "sso_account_id = %s\nsso_role_name = Admin\n" % ACCT, "", {"AWS_PROFILE": "old"},
     {"@SSO:https://old.awsapps.com/start@": (json.dumps({
         "startUrl": "https://old.awsapps.com/start", "region": "us-east-1",
         "accessToken": "sso-token-old", "expiresAt": iso_in(7200)}), 0o600)}, None),
    ("sso-session token refreshed through OIDC",
     "[default]\nsso_session = corp\nsso_account_id = %s\nsso_role_name = ReadOnly\n"
     "[sso-session corp]\nsso_start_url = https://corp.awsapps.com/start\nsso_region = eu-west-1\n" % ACCT,
     "", {}, {"@SSO:corp@": (json.dumps({
         "startUrl": "https://corp.awsapps.com/start", "region": "eu-west-1", "accessToken": "sso-token-stale",
         "expiresAt": iso_in(300), "refreshToken": "rt-1", "clientId": "client-1", "clientSecret": "cs-1",
         "registrationExpiresAt": iso_in(86400)}), 0o600)}, None),
    ("expired SSO login",
     "[profile dev]\nsso_start_url = https://old.awsapps.com/start\nsso_region = us-east-1\n"
     "sso_account_id = %s\nsso_role_name = Admin\n" % ACCT, "", {"AWS_PROFILE": "dev"},
     {"@SSO:https://old.awsapps.com/start@": (json.dumps({
         "startUrl": "https://old.awsapps.com/start", "region": "us-east-1",
         "accessToken": "sso-token-revoked", "expiresAt": iso_in(-60)}), 0o600)},
     ("run `aws sso login --profile dev`", "UnauthorizedSSOTokenError")),
    ("web identity in the environment beats profile keys", "", keys("default", "AKIDFILE"),
     {"AWS_WEB_IDENTITY_TOKEN_FILE": "@HOME@/token", "AWS_ROLE_ARN": role("slashd-web-identity"),
      "AWS_ROLE_SESSION_NAME": "slashd-wi"},
     {"token": ("slashd-web-identity-token", 0o600)}, None),
    ("web_identity_token_file in the profile",
     "[default]\nweb_identity_token_file = @HOME@/token\nrole_arn = %s\nrole_session_name = wi\n"
     % role("slashd-web-identity"), keys("default", "AKIDIGNORED"), {},
     {"token": ("slashd-web-identity-token", 0o600)}, None),
    ("AWS_PROFILE naming no profile", "", keys("default", "AKIDDEF"), {"AWS_PROFILE": "ghost"}, {},
     ('profile "ghost" not in', "ProfileNotFound")),
]


def case_named(name):
    return next(c for c in CASES if c[0] == name)


def setUpModule():
    tcf.setUpModule()
    tcf.control("/_fake/scenario", {
        # botocore keeps the white space the fake can wrap tokens in.
        "sts": {"deterministic_keys": True, "session_token_whitespace": False,
                "roles": {role("ops"): {"max_session_duration": 3600}}},
        "sso": {"access_tokens": {
            "sso-token-corp": {"accounts": {ACCT: ["ReadOnly"]}},
            "sso-token-old": {"accounts": {ACCT: ["Admin"]}},
            "sso-token-refreshed": {"from_token": "sso-token-corp"}},
            "clients": {"client-1": {"secret": "cs-1", "refresh_tokens": {"rt-1": "sso-token-refreshed"}}}}})


def tearDownModule():
    tcf.tearDownModule()


class BotocoreParity(unittest.TestCase):
    def layout(self, home, config, credentials, files):
        os.makedirs(os.path.join(home, ".aws", "sso", "cache"))
        for name, (text, mode) in files.items():
            if name.startswith("@SSO:"):
                key = name[5:-1]
                name = ".aws/sso/cache/%s.json" % hashlib.sha1(key.encode()).hexdigest()
            path = os.path.join(home, name)
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, "w") as f:
                f.write(text.replace("@HOME@", home))
            os.chmod(path, mode)
        for name, text in ((".aws/config", config), (".aws/credentials", credentials)):
            with open(os.path.join(home, name), "w") as f:
                f.write(text.replace("@HOME@", home))

    def env(self, home, extra):
        env = {"PATH": "/usr/bin:/bin", "HOME": home, "AWS_REGION": "us-east-1",
               "AWS_DEFAULT_REGION": "us-east-1",
               "AWS_ENDPOINT_URL": tcf.base_url(), "AWS_EC2_METADATA_DISABLED": "true",
               "AWS_CONFIG_FILE": os.path.join(home, ".aws", "config"),
               "AWS_SHARED_CREDENTIALS_FILE": os.path.join(home, ".aws", "credentials"),
               "PYTHONDONTWRITEBYTECODE": "1", "FAKE_URL": tcf.base_url(),
               # Belt and braces: anything that still aimed past loopback
               # would go to a closed loopback port instead.
               "HTTPS_PROXY": "http://127.0.0.1:9", "HTTP_PROXY": "http://127.0.0.1:9",
               "https_proxy": "http://127.0.0.1:9", "http_proxy": "http://127.0.0.1:9",
               "NO_PROXY": "127.0.0.1", "no_proxy": "127.0.0.1"}
        for k, v in extra.items():
            env[k] = v.replace("@HOME@", home).replace("@FAKE@", tcf.base_url())
        return env

    def run_case(self, case):
        name, config, credentials, extra, files, want_err = case
        with tempfile.TemporaryDirectory(prefix="slashd-parity-") as home:
            self.layout(home, config, credentials, files)
            env = self.env(home, extra)
            p = subprocess.run([tcf.PROBE, "creds"], env=env, capture_output=True, text=True, timeout=60)
            ours = json.loads(p.stdout)
            b = subprocess.run(["/usr/bin/python3", "-c", BOTOCORE], env=env, capture_output=True,
                               text=True, timeout=60, stdin=subprocess.DEVNULL)
            theirs = json.loads(b.stdout.strip().splitlines()[-1])
            where = "%s\nslashd: %s\nbotocore: %s" % (name, ours, theirs)
            if want_err is None:
                self.assertEqual(ours.get("status"), "ok", where)
                self.assertTrue(theirs["ok"] and theirs["akid"], where)
                self.assertEqual(ours["access_key_id"], theirs["akid"], where)
            else:
                want_text, want_class = want_err
                self.assertEqual(ours.get("status"), "credentials", where)
                self.assertIn(want_text.replace("@HOME@", home), ours["error"], where)
                self.assertEqual(theirs.get("error"), want_class, where)
                self.assertIn("later sources were not tried", ours["error"], where)
                self.assertFalse(theirs["ok"] and theirs.get("akid"), where)
            return ours

    def test_cases(self):
        self.assertGreaterEqual(len(CASES), 15)
        for case in CASES:
            with self.subTest(case[0]):
                self.run_case(case)

    def test_sources_are_described(self):
        ours = self.run_case(case_named("role chain of depth 2"))
        self.assertEqual(ours["source"], "profile top → assume %s via source_profile mid → assume %s via "
                         "source_profile base" % (role("ops"), role("slashd-readonly")))

    def test_sso_endpoints_follow_their_own_variables(self):
        # AWS_ENDPOINT_URL points at a closed loopback port: only the SSO
        # (portal) and SSO OIDC variables can make these succeed.
        dead = "http://127.0.0.1:9"
        for want in ("sso-session form", "sso-session token refreshed through OIDC"):
            name, config, credentials, extra, files, _ = case_named(want)
            with tempfile.TemporaryDirectory(prefix="slashd-parity-") as home:
                self.layout(home, config, credentials, files)
                env = self.env(home, extra)
                env["AWS_ENDPOINT_URL"] = dead
                env["AWS_ENDPOINT_URL_SSO"] = tcf.base_url()
                env["AWS_ENDPOINT_URL_SSO_OIDC"] = tcf.base_url()
                p = subprocess.run([tcf.PROBE, "creds"], env=env, capture_output=True, text=True, timeout=60)
                self.assertEqual(json.loads(p.stdout)["status"], "ok", name + ": " + p.stdout)
                del env["AWS_ENDPOINT_URL_SSO"]
                p = subprocess.run([tcf.PROBE, "creds"], env=env, capture_output=True, text=True, timeout=60)
                self.assertIn("127.0.0.1:9", json.loads(p.stdout).get("error", ""), name + ": " + p.stdout)

    def test_external_id_sent(self):
        tcf.control("/_fake/reset", {})
        self.run_case(case_named("role with external_id, session name and duration"))
        calls = tcf.control("/_fake/calls?service=sts&action=AssumeRole")
        calls = calls.get("calls", calls) if isinstance(calls, dict) else calls
        params = [c["params"] for c in calls]
        self.assertTrue(params, calls)
        for p in params:
            self.assertEqual(p.get("ExternalId"), "ext-42", p)
            self.assertEqual(p.get("DurationSeconds"), "1800", p)
        self.assertIn("chatops", [p.get("RoleSessionName") for p in params])


if __name__ == "__main__":
    unittest.main(verbosity=2)
