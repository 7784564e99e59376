"""The Lambda zip as the tests use it: unpacked into a fresh temporary folder
(nothing of the build tree beside it) and started under the Runtime API
emulator, with an environment like Lambda's."""

import os
import re
import shutil
import subprocess
import sys
import tempfile
import zipfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "fakes"))
from lambda_runtime import LambdaRuntime  # noqa: E402,F401

BUILD_DIR = os.environ.get("SLASHD_BUILD_DIR", "build")
ZIP = os.environ.get("SLASHD_LAMBDA_ZIP", os.path.join(BUILD_DIR, "slashd-lambda.zip"))

# glibc's own libraries: the image provides them, the zip never carries them.
GLIBC_LIBS = {"libc.so.6", "libm.so.6", "libdl.so.2", "libpthread.so.0", "librt.so.1",
              "libresolv.so.2", "ld-linux-x86-64.so.2"}
MAX_GLIBC = (2, 34)  # Amazon Linux 2023


def unpack(dest=None):
    """Unpacks the zip (modes kept) into a new temporary folder; returns it."""
    root = dest or tempfile.mkdtemp(prefix="slashd-lambda-task-")
    with zipfile.ZipFile(ZIP) as z:
        for info in z.infolist():
            path = z.extract(info, root)
            mode = (info.external_attr >> 16) & 0o777
            if mode:
                os.chmod(path, mode)
    return root


def is_elf(path):
    with open(path, "rb") as f:
        return f.read(4) == b"\x7fELF"


def elf_needed(path):
    out = subprocess.run(["readelf", "-d", path], check=True, capture_output=True, text=True).stdout
    needed = re.findall(r"\(NEEDED\)\s+Shared library: \[([^\]]+)\]", out)
    rpath = re.findall(r"\((?:RPATH|RUNPATH)\)\s+Library (?:rpath|runpath): \[([^\]]*)\]", out)
    kind = re.findall(r"\((RPATH|RUNPATH)\)", out)
    return needed, (rpath[0].split(":") if rpath else []), (kind[0] if kind else None)


def elf_glibc_versions(path):
    out = subprocess.run(["readelf", "-V", "-W", path], check=True, capture_output=True, text=True).stdout
    return {tuple(int(x) for x in m.groups() if x is not None)
            for m in re.finditer(r"Name: GLIBC_(\d+)\.(\d+)(?:\.(\d+))?", out)}


def objdump_glibc_versions(path):
    """The same from the dynamic symbol table (objdump -T): each imported
    symbol's version, a second opinion on readelf's verneed."""
    out = subprocess.run(["objdump", "-T", path], check=True, capture_output=True, text=True).stdout
    return {tuple(int(x) for x in m.groups() if x is not None)
            for m in re.finditer(r"\bGLIBC_(\d+)\.(\d+)(?:\.(\d+))?\b", out)}


def lambda_env(task_root, handler, extra=None):
    """An environment like a Lambda function's: nothing inherited from the
    build (no LD_LIBRARY_PATH into it), the task root, /tmp, the handler."""
    env = {
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "LANG": "en_US.UTF-8",
        "TZ": ":UTC",
        "LAMBDA_TASK_ROOT": task_root,
        "LAMBDA_RUNTIME_DIR": "/var/runtime",
        # Lambda's own search path comes first for the image's libraries; the
        # zip's RPATH must still win over it.
        "LD_LIBRARY_PATH": "/lib64:/usr/lib64:/var/runtime:/var/runtime/lib:%s:%s/lib:/opt/lib"
                           % (task_root, task_root),
        "_HANDLER": handler,
        "AWS_REGION": "us-east-1",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_EC2_METADATA_DISABLED": "true",
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
    }
    env.update(extra or {})
    return env


def remove(root):
    shutil.rmtree(root, ignore_errors=True)
