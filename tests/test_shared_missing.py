"""Every test binary that reads ../shared (vectors, AWS reference bodies),
run against a shared folder that does not exist: it must stop with one
clear message naming the missing folder and exit 1, never crash or pass.

Usage: test_shared_missing.py BINARY...
"""
import os
import subprocess
import sys
import tempfile
import unittest

BINARIES = sys.argv[1:]


class SharedFolderMissing(unittest.TestCase):
    def test_each_binary_names_the_folder(self):
        self.assertTrue(BINARIES, "no test binaries given")
        with tempfile.TemporaryDirectory() as tmp:
            missing = os.path.join(tmp, "no-such-shared")
            for binary in BINARIES:
                with self.subTest(binary=os.path.basename(binary)):
                    env = dict(os.environ, SLASHD_SHARED_DIR=missing)
                    p = subprocess.run([binary], capture_output=True, text=True, env=env,
                                       timeout=60)
                    # 1, not a signal (a negative return code) nor a pass.
                    self.assertEqual(p.returncode, 1, p.stdout + p.stderr)
                    self.assertIn("the shared folder %s/" % missing, p.stderr)
                    self.assertIn("is missing", p.stderr)
                    # One message, before any test ran.
                    self.assertEqual(len(p.stderr.strip().splitlines()), 1, p.stderr)
                    self.assertNotIn("[ RUN", p.stdout)


if __name__ == "__main__":
    unittest.main(argv=sys.argv[:1], verbosity=2)
