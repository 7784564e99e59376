"""The plugin SDK from a user's side.

- Install: `cmake --install` of this build tree into a temporary prefix lays
  out the binary, plugins, header, slashd.pc, config, unit and man page, and
  the installed binary finds its config and plugins with no flags.
- The example: examples/hello, as installed in <prefix>/share/doc, is built
  against the installed files only (PKG_CONFIG_PATH is all it is told),
  installed into slashd's plugin directory, enabled in an ini and run with
  `slashd run`, AWS calls included (against the fake AWS).
- ABI: a plugin built against the frozen 1.0 SDK runs through `slashd run`
  and the front door; newer minors and other majors are refused naming both
  versions.
- The guide: every C snippet in docs/plugin-guide.md is a piece of code that
  is compiled and tested (the example, a shipped plugin or a fixture)."""

import os
import re
import shutil
import stat
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from fakeaws import FakeAws, role  # noqa: E402
from harness import FIXTURE_DIR, SOURCE_DIR, Daemon, Sink, run_cli  # noqa: E402

BUILD_DIR = os.environ.get("SLASHD_BUILD_DIR", "build")
CMAKE = os.environ.get("SLASHD_CMAKE") or shutil.which("cmake")
MAPPED = "U012AB3CD"


def sh(args, env=None, cwd=None, timeout=300):
    p = subprocess.run(args, capture_output=True, text=True, env=env, cwd=cwd, timeout=timeout)
    if p.returncode != 0:
        raise AssertionError("%s failed (%d):\n%s\n%s" % (" ".join(args), p.returncode,
                                                            p.stdout[-3000:], p.stderr[-3000:]))
    return p.stdout


def clean_env(**extra):
    """The environment without anything that could point a compiler or
    pkg-config at the source tree."""
    e = {k: v for k, v in os.environ.items()
         if k not in ("PKG_CONFIG_PATH", "PKG_CONFIG_LIBDIR", "CPATH", "C_INCLUDE_PATH",
                      "CFLAGS", "CPPFLAGS", "LDFLAGS", "LIBRARY_PATH")
         and not k.startswith("SLASHD_")}
    e["AWS_EC2_METADATA_DISABLED"] = "true"
    e["ASAN_OPTIONS"] = "detect_leaks=1:" + e.get("ASAN_OPTIONS", "")
    e.update(extra)
    return e


class Installed(unittest.TestCase):
    """One install into a temporary prefix, shared by the tests below."""

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="slashd-sdk-")
        cls.prefix = os.path.join(cls.tmp, "prefix")
        cls.install_log = sh([CMAKE, "--install", BUILD_DIR, "--prefix", cls.prefix])
        cls.bin = os.path.join(cls.prefix, "bin", "slashd")
        cls.plugindir = os.path.join(cls.prefix, "lib", "slashd", "plugins")
        cls.etc_ini = os.path.join(cls.prefix, "etc", "slashd", "slashd.ini")
        cls.pkgconfig = os.path.join(cls.prefix, "lib", "pkgconfig")

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def slashd(self, *args, cwd=None, env=None):
        p = subprocess.run([self.bin] + list(args), capture_output=True, text=True,
                           cwd=cwd or self.tmp, env=env or clean_env(), timeout=120)
        return p.returncode, p.stdout, p.stderr

    def pkg_config(self, *args):
        return sh(["pkg-config"] + list(args) + ["slashd"],
                  env=clean_env(PKG_CONFIG_PATH=self.pkgconfig)).strip()

    # -- the layout -------------------------------------------------------
    def test_layout(self):
        p = self.prefix
        self.assertTrue(os.access(self.bin, os.X_OK))
        for name in ("help", "ec2", "s3"):
            path = os.path.join(self.plugindir, name + ".so")
            st = os.stat(path)
            # What the loader insists on: not group/world-writable, ours.
            self.assertEqual(st.st_mode & (stat.S_IWGRP | stat.S_IWOTH), 0, path)
            self.assertIn(st.st_uid, (0, os.geteuid()), path)
        with open(os.path.join(p, "include", "slashd", "plugin.h")) as f, \
                open(os.path.join(SOURCE_DIR, "sdk", "slashd", "plugin.h")) as g:
            self.assertEqual(f.read(), g.read())

        with open(self.etc_ini) as f:
            ini = f.read()
        self.assertNotIn("build/plugins", ini)
        self.assertNotRegex(ini, r"(?m)^dir\s*=")
        self.assertRegex(ini, r"(?m)^state_dir = /var/lib/slashd\s+;")

        with open(os.path.join(p, "lib", "systemd", "system", "slashd.service")) as f:
            unit = f.read()
        self.assertNotIn("@PREFIX@", unit)
        self.assertIn("ExecStart=%s/bin/slashd serve -c %s\n" % (p, self.etc_ini), unit)
        self.assertIn("ExecReload=/bin/kill -HUP $MAINPID", unit)
        for hardening in ("NoNewPrivileges=yes", "ProtectSystem=strict", "StateDirectory=slashd",
                          "DynamicUser=yes"):
            self.assertIn(hardening, unit)

        with open(os.path.join(p, "share", "man", "man8", "slashd.8")) as f:
            man = f.read()
        self.assertNotIn("@PREFIX@", man)
        self.assertIn(".I %s/etc/slashd/slashd.ini" % p, man)
        self.assertIn(".B reload", man)
        for doc in ("plugin-guide.md", "README.md", "examples/hello/hello.c",
                    "examples/hello/CMakeLists.txt"):
            self.assertTrue(os.path.isfile(os.path.join(p, "share", "doc", "slashd", doc)), doc)

    def test_pkg_config(self):
        self.assertEqual(self.pkg_config("--modversion"),
                         self.slashd("--version")[1].split()[1])
        cflags = self.pkg_config("--cflags")
        self.assertTrue(cflags.startswith("-I"), cflags)
        self.assertEqual(os.path.realpath(cflags[2:]), os.path.join(self.prefix, "include"))
        self.assertEqual(os.path.realpath(self.pkg_config("--variable=plugindir")), self.plugindir)
        self.assertEqual(self.pkg_config("--variable=abi_major"), "1")
        with open(os.path.join(SOURCE_DIR, "sdk", "slashd", "plugin.h")) as f:
            minor = re.search(r"#define SLASHD_ABI_MINOR (\d+)", f.read()).group(1)
        self.assertEqual(self.pkg_config("--variable=abi_minor"), minor)

    def test_installed_binary_needs_no_flags(self):
        rc, out, err = self.slashd("check-config", cwd="/")
        self.assertEqual(rc, 0, out + err)
        self.assertIn("plugin help 1.0.0: help\n", out)
        self.assertIn("plugin ec2 1.0.0: list, console, start (write), stop (write)\n", out)
        self.assertIn("plugin s3 1.0.0: list, usage\n", out)
        self.assertIn("%s: OK" % self.etc_ini, out)
        rc, out, err = self.slashd("run", "help", cwd="/")
        self.assertEqual(rc, 0, out + err)
        self.assertIn("/aws ec2 list", out)

    def test_edited_config_survives_reinstall(self):
        prefix = os.path.join(self.tmp, "again")
        sh([CMAKE, "--install", BUILD_DIR, "--prefix", prefix])
        ini = os.path.join(prefix, "etc", "slashd", "slashd.ini")
        with open(ini, "a") as f:
            f.write("\n; edited by the operator\n")
        out = sh([CMAKE, "--install", BUILD_DIR, "--prefix", prefix])
        self.assertIn("Keeping: " + ini, out)
        with open(ini) as f:
            self.assertIn("edited by the operator", f.read())
        with open(ini + ".new") as f, open(self.etc_ini) as g:
            self.assertEqual(f.read(), g.read())

    # -- the example --------------------------------------------------------
    def build_example(self):
        """Builds and installs hello from <prefix>/share/doc; returns its build dir."""
        src = os.path.join(self.tmp, "hello-src")
        if os.path.isdir(src):
            return os.path.join(src, "build")
        shutil.copytree(os.path.join(self.prefix, "share", "doc", "slashd", "examples", "hello"), src)
        env = clean_env(PKG_CONFIG_PATH=self.pkgconfig)
        build = os.path.join(src, "build")
        sh([CMAKE, "-S", src, "-B", build, "-DCMAKE_EXPORT_COMPILE_COMMANDS=ON",
            "-DCMAKE_C_FLAGS=-Werror"], env=env)
        sh([CMAKE, "--build", build], env=env)
        sh([CMAKE, "--install", build], env=env)
        return build

    def hello_ini(self, name, extra=""):
        """The installed ini plus [plugin.hello]: what a user would write."""
        with open(self.etc_ini) as f:
            text = f.read()
        path = os.path.join(self.tmp, name)
        with open(path, "w") as f:
            f.write(text + "\n[plugin.hello]\nenabled = true\ngreeting = Howdy\n" + extra)
        return path

    def test_example_builds_against_the_installed_sdk_only(self):
        build = self.build_example()
        with open(os.path.join(build, "compile_commands.json")) as f:
            commands = f.read()
        self.assertIn(os.path.join(self.prefix, "lib", "pkgconfig"), commands)
        self.assertNotIn(os.path.realpath(SOURCE_DIR), commands)
        so = os.path.join(self.plugindir, "hello.so")
        self.assertTrue(os.path.isfile(so))
        # One exported symbol: the entry.
        syms = sh(["nm", "-D", "--defined-only", so]).split()
        self.assertIn("slashd_plugin_entry", syms)
        self.assertNotIn("cmd_hello", syms)

    def test_example_runs(self):
        self.build_example()
        ini = self.hello_ini("hello.ini")
        rc, out, err = self.slashd("check-config", "-c", ini)
        self.assertEqual(rc, 0, out + err)
        self.assertIn("plugin hello 1.0.0: hello, whoami, me (write), countdown\n", out)

        def run(*words, user="U0ME"):
            return self.slashd("run", "-c", ini, "--user-id", user, "--user-name", "alice", *words)

        self.assertEqual(run("hello")[:2], (0, "Howdy, alice!\n"))
        self.assertEqual(run("hello", "<Bob>")[:2], (0, "Howdy, &lt;Bob&gt;!\n"))
        self.assertEqual(run("hello", "countdown", "2")[:2], (0, "2…\n1…\nLiftoff!\n"))
        rc, out, _ = run("hello", "countdown", "9")
        self.assertEqual((rc, out), (1, "`9` is not a number from 1 to 3.\n"))
        rc, out, _ = run("hello", "me")
        self.assertEqual(rc, 2)
        self.assertIn("must run under your own IAM role", out)
        rc, out, _ = run("help", "hello")
        self.assertEqual(rc, 0)
        self.assertIn("/aws hello [name]", out)
        self.assertIn("/aws hello countdown [1-3]", out)

    def test_example_aws_calls(self):
        self.build_example()
        fake = FakeAws()
        try:
            ini = self.hello_ini("hello-aws.ini",
                                 "\n[identity.users]\n%s = %s\n" % (MAPPED, role("ops-admin")))
            with open(ini) as f:
                text = f.read().replace("\nmode = none", "\nmode = map", 1)
            with open(ini, "w") as f:
                f.write(text)
            env = clean_env(**fake.env())
            rc, out, err = self.slashd("run", "-c", ini, "hello", "whoami", env=env)
            self.assertEqual(rc, 0, out + err)
            self.assertRegex(out, r"^This command ran as arn:aws:iam::123456789012:user/\S+\.\n$")
            rc, out, err = self.slashd("run", "-c", ini, "--user-id", MAPPED, "--user-name", "alice",
                                       "hello", "me", env=env)
            self.assertEqual(rc, 0, out + err)
            self.assertRegex(out, r"^This command ran as arn:aws:sts::123456789012:assumed-role/"
                                  r"ops-admin/\S+\.\n$")
            calls = fake.calls("sts", "GetCallerIdentity")
            self.assertEqual(len(calls), 2)
            self.assertTrue(all(c["signed_ok"] for c in calls))
        finally:
            fake.close()
            fake.proc.stdout.close()


class Abi(unittest.TestCase):
    def test_plugin_built_for_10_through_run(self):
        d = Daemon(None, fixtures=("probe",),
                   sections={"plugin.legacy": {"path": os.path.join(FIXTURE_DIR, "legacy.so"),
                                               "greeting": "old"}})
        rc, out, err = run_cli("check-config", config=d.config,
                               env={"SLASHD_TEST_SECRET": "x"})
        self.assertEqual(rc, 0, out + err)
        self.assertIn("plugin legacy 1.0.0: echo, who, table, progress\n", out)
        self.assertIn("plugin probe 0.0.1: services, deadline\n", out)
        rc, out, _ = run_cli("run", "legacy", "echo", "still", "works", config=d.config)
        self.assertEqual((rc, out), (0, "old: still works\n"))
        rc, out, _ = run_cli("run", "--user-id", "U0OLD", "legacy", "who", config=d.config)
        self.assertEqual(rc, 0)
        self.assertIn("user=U0OLD", out)
        # It sees a longer table than its SDK knows, and reads only its part.
        rc, out, _ = run_cli("run", "legacy", "table", config=d.config)
        m = re.match(r"^host ABI 1\.\d+, table of (\d+) bytes, this SDK knows (\d+)\n$", out)
        self.assertTrue(m, out)
        self.assertGreater(int(m.group(1)), int(m.group(2)))
        rc, out, _ = run_cli("run", "probe", config=d.config)
        self.assertEqual((rc, out), (0, "reply=1 commands=1 aws=1 time_left_ms=1\n"))

    def test_plugin_built_for_10_through_the_front_door(self):
        sink = Sink()
        d = Daemon(sink, fixtures=("legacy",)).start()
        try:
            status, hdrs, ack = d.slash("legacy progress")
            self.assertEqual(status, 200)
            msgs = sink.wait_final(hdrs["x-slashd-request-id"])
            self.assertEqual([m["text"] for m in msgs], ["step 1", "step 2", "done"])
            self.assertEqual([m["final"] for m in msgs], [False, False, True])
        finally:
            self.assertEqual(d.stop(), 0)
            sink.close()

    def test_newer_minor_and_other_major_are_refused(self):
        d = Daemon(None, fixtures=("newerminor", "wrongmajor", "good"))
        rc, out, err = run_cli("check-config", config=d.config, env={"SLASHD_TEST_SECRET": "x"})
        self.assertEqual(rc, 1)
        with open(os.path.join(SOURCE_DIR, "sdk", "slashd", "plugin.h")) as f:
            minor = int(re.search(r"#define SLASHD_ABI_MINOR (\d+)", f.read()).group(1))
        host = "1.%d" % minor
        self.assertRegex(err, r"\[plugin\.newerminor\] built for plugin ABI 1\.%d, newer than this "
                              r"host's %s; upgrade slashd" % (minor + 1, re.escape(host)))
        self.assertRegex(err, r"\[plugin\.wrongmajor\] built for plugin ABI 2\.0, this host speaks "
                              r"%s \(a different major version\)" % re.escape(host))
        self.assertIn("plugin good 0.0.1", out)


class Guide(unittest.TestCase):
    """The guide shows only code that is compiled and tested."""

    SOURCES = ["examples/hello/hello.c", "examples/hello/CMakeLists.txt", "plugins/ec2/ec2.c",
               "plugins/help/help.c", "plugins/common/awsjson.h",
               "tests/plugins/probe.c", "tests/fakehost/test_ec2.c",
               "tests/fakehost/plugin_test.h"]

    @staticmethod
    def squash(text):
        return re.sub(r"\s+", " ", text).strip()

    def test_snippets_are_real_code(self):
        with open(os.path.join(SOURCE_DIR, "docs", "plugin-guide.md")) as f:
            guide = f.read()
        sources = {}
        for rel in self.SOURCES:
            with open(os.path.join(SOURCE_DIR, rel)) as f:
                sources[rel] = self.squash(f.read())
        snippets = re.findall(r"```(c|cmake)\n(.*?)```", guide, re.S)
        self.assertGreater(len(snippets), 8)
        for lang, code in snippets:
            # "..." on a line of its own stands for code left out.
            for piece in re.split(r"(?m)^\s*(?:/\* \.\.\. \*/|# \.\.\.|\.\.\.)\s*$", code):
                piece = self.squash(piece)
                if piece:
                    self.assertTrue(any(piece in s for s in sources.values()),
                                    "this %s snippet of the guide is in none of %s:\n%s"
                                    % (lang, ", ".join(self.SOURCES), piece))


if __name__ == "__main__":
    unittest.main(verbosity=2)
