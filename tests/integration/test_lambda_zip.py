"""The Lambda zip (issue 12, "Package"): what is in it, and that it runs from
an unpacked folder with nothing of the build tree, under the Runtime API
emulator."""

import json
import os
import sys
import time
import unittest
import zipfile

sys.path.insert(0, os.path.dirname(__file__))
import lambdazip  # noqa: E402
from lambdazip import GLIBC_LIBS, MAX_GLIBC, LambdaRuntime  # noqa: E402


class Contents(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.root = lambdazip.unpack()
        cls.elves = []
        for dirpath, _, files in os.walk(cls.root):
            for f in files:
                p = os.path.join(dirpath, f)
                if lambdazip.is_elf(p):
                    cls.elves.append(p)

    @classmethod
    def tearDownClass(cls):
        lambdazip.remove(cls.root)

    def rel(self, p):
        return os.path.relpath(p, self.root)

    def test_layout(self):
        with zipfile.ZipFile(lambdazip.ZIP) as z:
            names = set(z.namelist())
            boot = z.getinfo("bootstrap")
        self.assertIn("slashd.ini", names)
        for p in ("help", "ec2", "s3"):
            self.assertIn("plugins/%s.so" % p, names)
        self.assertTrue((boot.external_attr >> 16) & 0o111, "bootstrap is not executable in the zip")
        self.assertTrue(os.access(os.path.join(self.root, "bootstrap"), os.X_OK))
        # `slashd lambda` never serves HTTP itself: no HTTP server library.
        self.assertFalse(any("microhttpd" in n for n in names), sorted(names))
        size = os.path.getsize(lambdazip.ZIP)
        print("\nslashd-lambda.zip: %d bytes (%.1f MiB), %d files, %d ELF"
              % (size, size / 1048576, len(names), len(self.elves)), file=sys.stderr)

    def test_every_elf_needs_at_most_glibc_2_34(self):
        self.assertGreater(len(self.elves), 5)
        for p in self.elves:
            for source in (lambdazip.elf_glibc_versions, lambdazip.objdump_glibc_versions):
                vers = source(p)
                newer = sorted(v for v in vers if v[:2] > MAX_GLIBC)
                self.assertFalse(newer, "%s needs %s (%s)" % (self.rel(p), newer, source.__name__))

    def test_needed_resolve_inside_the_zip_or_glibc(self):
        for p in self.elves:
            needed, rpath, kind = lambdazip.elf_needed(p)
            origin = os.path.dirname(p)
            dirs = [d.replace("$ORIGIN", origin) for d in rpath]
            for d in dirs:
                real = os.path.realpath(d)
                self.assertTrue(real.startswith(os.path.realpath(self.root)),
                                "%s searches %s, outside the zip" % (self.rel(p), d))
            if needed and set(needed) - GLIBC_LIBS:
                # DT_RPATH (not RUNPATH): searched before Lambda's LD_LIBRARY_PATH.
                self.assertEqual(kind, "RPATH", self.rel(p))
            for n in needed:
                if n in GLIBC_LIBS:
                    continue
                found = [d for d in dirs if os.path.isfile(os.path.join(d, n))]
                self.assertTrue(found, "%s needs %s: not in %s" % (self.rel(p), n, rpath))

    def test_no_glibc_library_is_carried(self):
        for p in self.elves:
            self.assertNotIn(os.path.basename(p), GLIBC_LIBS, self.rel(p))


class Runs(unittest.TestCase):
    """The unpacked zip under the emulator, the build tree out of reach."""

    def setUp(self):
        self.root = lambdazip.unpack()
        self.rt = LambdaRuntime().start()

    def tearDown(self):
        self.rt.close()
        lambdazip.remove(self.root)

    def spawn(self, handler, extra=None):
        # The zip's ini takes the secret from the environment, as the template sets it.
        env = lambdazip.lambda_env(self.root, handler, dict(
            {"SLASHD_LAMBDA_SIGNING_SECRET": "env:SLASHD_TEST_SECRET",
             "SLASHD_TEST_SECRET": "zip-test-secret"}, **(extra or {})))
        return self.rt.spawn([os.path.join(self.root, "bootstrap")], env=env, cwd="/")

    def maps_outside(self, pid):
        """Shared objects mapped by the process that are neither the zip's
        nor glibc's."""
        bad = set()
        with open("/proc/%d/maps" % pid) as f:
            for line in f:
                parts = line.split()
                if len(parts) < 6 or ".so" not in parts[5]:
                    continue
                path = parts[5]
                if path.startswith(os.path.realpath(self.root)):
                    continue
                if os.path.basename(path) in GLIBC_LIBS or os.path.basename(path).startswith("ld-linux"):
                    continue
                bad.add(path)
        return bad

    def test_worker_serves_events_with_only_zip_libraries(self):
        proc = self.spawn("worker", {"SLASHD_LAMBDA_TOPIC_ARN": ""})
        self.assertTrue(self.rt.wait_next(1), "no /next:\n" + "\n".join(self.rt.log_lines))
        self.assertEqual(self.maps_outside(proc.pid), set())
        res = self.rt.invoke({"Records": []}, timeout_ms=10000)
        self.assertEqual(res.kind, "error", res)
        self.assertEqual(res.json()["errorType"], "Runtime.InvalidEvent")
        # The process was frozen between invocations and carried on.
        self.assertTrue(self.rt.wait_next(2))
        self.assertTrue(self.rt.frozen)
        res = self.rt.invoke(b"not json", timeout_ms=10000)
        self.assertEqual(res.kind, "error", res)
        self.assertEqual(self.rt.violations, [])
        # The zip's ini logs JSON.
        log = self.rt.wait_log('"aws_req":"%s"' % res.request_id)
        self.assertIn('"aws_req":"%s"' % res.request_id, log)

    def test_invalid_ini_is_an_init_error_with_file_and_line(self):
        bad = os.path.join(self.root, "bad.ini")
        with open(bad, "w") as f:
            f.write("[server]\njob_timeout = soon\n[lambda]\nqueue_url = https://q\ntopic_arn = arn:aws:sns:x\n")
        self.spawn("front", {"SLASHD_CONFIG": bad})
        err = self.rt.wait_init_error()
        self.assertIsNotNone(err, "no init error:\n" + "\n".join(self.rt.log_lines))
        body = json.loads(err["body"])
        self.assertEqual(body["errorType"], "Runtime.InvalidConfig")
        self.assertIn("%s:2: error: job_timeout" % bad, body["errorMessage"])
        self.assertIn("queue_url and topic_arn", body["errorMessage"])
        self.assertEqual(err["headers"].get("lambda-runtime-function-error-type"), "Unhandled")
        self.assertEqual(self.rt.next_calls, [])

    def test_a_plugin_that_cannot_load_is_an_init_error_of_both_functions(self):
        bad = os.path.join(self.root, "badplugin.ini")
        with open(bad, "w") as f:
            f.write("[lambda]\nqueue_url = https://sqs.us-east-1.amazonaws.com/123456789012/q\n"
                    "[slack]\nsigning_secret = env:SLASHD_TEST_SECRET\n[plugins]\ndir = plugins\n"
                    "[plugin.help]\n\n[plugin.nosuch]\npath = plugins/nosuch.so\n")
        for handler in ("front", "worker"):
            rt = LambdaRuntime().start()
            try:
                env = lambdazip.lambda_env(self.root, handler, {"SLASHD_CONFIG": bad,
                                                                "SLASHD_TEST_SECRET": "s"})
                rt.spawn([os.path.join(self.root, "bootstrap")], env=env, cwd="/")
                err = rt.wait_init_error()
                self.assertIsNotNone(err, "\n".join(rt.log_lines))
                msg = json.loads(err["body"])["errorMessage"]
                self.assertIn("%s:9: error: [plugin.nosuch] plugins/nosuch.so" % bad, msg)
                self.assertEqual(rt.next_calls, [])
            finally:
                rt.close()

    def test_front_without_a_queue_is_an_init_error(self):
        self.spawn("front")
        err = self.rt.wait_init_error()
        self.assertIsNotNone(err, "\n".join(self.rt.log_lines))
        self.assertIn("queue_url", json.loads(err["body"])["errorMessage"])

    def test_unknown_handler_is_an_init_error(self):
        self.spawn("frontdoor")
        err = self.rt.wait_init_error()
        self.assertIsNotNone(err)
        self.assertIn('"front" or "worker"', json.loads(err["body"])["errorMessage"])

    def test_task_root_stays_untouched(self):
        before = sorted(os.walk(self.root))
        os.chmod(self.root, 0o555)  # read-only, as on Lambda
        try:
            self.spawn("worker")
            self.assertTrue(self.rt.wait_next(1), "\n".join(self.rt.log_lines))
            self.rt.invoke({"Records": [{"eventSource": "aws:sqs", "messageId": "m1", "body": "{}"}]},
                           timeout_ms=10000)
        finally:
            os.chmod(self.root, 0o755)
        self.assertEqual(sorted(os.walk(self.root)), before)


if __name__ == "__main__":
    unittest.main(verbosity=2)
