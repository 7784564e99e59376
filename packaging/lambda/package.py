#!/usr/bin/env python3
"""Builds slashd-lambda.zip: the Lambda custom runtime of slashd.

    bootstrap            the runtime (`slashd lambda`), RPATH $ORIGIN/lib
    slashd.ini           the default configuration for Lambda
    plugins/<name>.so    the shipped plugins, RPATH $ORIGIN/../lib
    lib/<soname>         every shared library they need except glibc's own,
                         copied from this (Debian) host, RPATH $ORIGIN

Amazon Linux 2023 (provided.al2023) has glibc 2.34, so the script refuses an
ELF that needs a newer GLIBC_ symbol version. RPATH, not RUNPATH: Lambda sets
LD_LIBRARY_PATH to the image's /lib64 first, and only DT_RPATH is searched
before LD_LIBRARY_PATH, so the zip's libraries win over the image's own
(different) builds of libcurl and OpenSSL.

Needs readelf, objdump, strip and patchelf (binutils, patchelf).
"""
import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import zipfile

# Provided by the image's glibc; never carried (a glibc library built for
# 2.36 would need GLIBC_PRIVATE symbols of the 2.36 libc).
GLIBC_LIBS = {"libc.so.6", "libm.so.6", "libdl.so.2", "libpthread.so.0", "librt.so.1",
              "libresolv.so.2", "ld-linux-x86-64.so.2"}
MAX_GLIBC = (2, 34)


def run(*cmd):
    return subprocess.run(cmd, check=True, capture_output=True, text=True).stdout


def needed(path):
    return re.findall(r"\(NEEDED\)\s+Shared library: \[([^\]]+)\]", run("readelf", "-d", path))


def glibc_versions(path):
    """Every GLIBC_x.y version the ELF needs (readelf -V: its verneed section)."""
    out = run("readelf", "-V", "-W", path)
    vers = set()
    for m in re.finditer(r"Name: GLIBC_(\d+)\.(\d+)(?:\.(\d+))?", out):
        vers.add(tuple(int(x) for x in m.groups() if x is not None))
    return vers


def resolve(path):
    """Library name -> absolute path on this host, from ldd (the loader's own answer)."""
    out = {}
    for line in run("ldd", path).splitlines():
        m = re.match(r"\s*(\S+) => (/\S+) \(", line)
        if m:
            out[m.group(1)] = m.group(2)
    return out


def check_glibc(path, rel):
    too_new = [v for v in glibc_versions(path) if v[:2] > MAX_GLIBC]
    if too_new:
        sys.exit("package.py: %s needs GLIBC_%s, newer than Amazon Linux 2023's 2.34"
                 % (rel, ".".join(map(str, max(too_new)))))


def stage(args, root):
    os.makedirs(os.path.join(root, "plugins"))
    os.makedirs(os.path.join(root, "lib"))
    elves = [(args.bootstrap, "bootstrap", "$ORIGIN/lib")]
    for name in sorted(os.listdir(args.plugins)):
        if name.endswith(".so"):
            elves.append((os.path.join(args.plugins, name), "plugins/" + name, "$ORIGIN/../lib"))
    libs = {}
    for src, rel, _ in elves:
        for name, path in resolve(src).items():
            if name not in GLIBC_LIBS:
                libs[name] = path
    for name, path in sorted(libs.items()):
        elves.append((path, "lib/" + name, "$ORIGIN"))
    for src, rel, rpath in elves:
        dst = os.path.join(root, rel)
        shutil.copyfile(src, dst)
        os.chmod(dst, 0o755 if rel == "bootstrap" else 0o644)
        run("strip", "--strip-unneeded", dst)
        run("patchelf", "--force-rpath", "--set-rpath", rpath, dst)
        check_glibc(dst, rel)
        missing = [n for n in needed(dst) if n not in GLIBC_LIBS and n not in libs]
        if missing:
            sys.exit("package.py: %s needs %s, which was not found" % (rel, ", ".join(missing)))
    shutil.copyfile(args.ini, os.path.join(root, "slashd.ini"))


def write_zip(root, out):
    tmp = out + ".tmp"
    with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as z:
        for dirpath, dirnames, filenames in os.walk(root):
            dirnames.sort()
            for f in sorted(filenames):
                path = os.path.join(dirpath, f)
                rel = os.path.relpath(path, root)
                info = zipfile.ZipInfo(rel, date_time=(2020, 1, 1, 0, 0, 0))
                info.compress_type = zipfile.ZIP_DEFLATED
                mode = os.stat(path).st_mode & 0o777
                info.external_attr = (0o100000 | mode) << 16
                info.create_system = 3  # Unix, so the mode bits are honoured
                with open(path, "rb") as fh:
                    z.writestr(info, fh.read(), compresslevel=9)
    os.replace(tmp, out)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bootstrap", required=True)
    ap.add_argument("--plugins", required=True)
    ap.add_argument("--ini", required=True)
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="slashd-lambda-") as root:
        stage(args, root)
        write_zip(root, args.out)
    print("%s: %d bytes" % (args.out, os.path.getsize(args.out)))


if __name__ == "__main__":
    main()
