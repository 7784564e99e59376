#!/usr/bin/env python3
"""Instructions (callgrind Ir) of one worker's start: exec'd (`slashd worker`,
the design before the spawner) or forked from a spawner (`slashd spawner`,
one fork request), from exec to hello to exit. Never part of the tests.

    bench/worker_start_ir.py exec|spawner BINARY INI OUTDIR

INI: the shape of the slashd.ini bench/quiet and bench/run write. With
`spawner`, the spawner's profile is cut at its fork (--dump-before=fork):
OUTDIR/cg.PID.1 is the spawner up to the fork, cg.PID its part after, and
the child's cg.PID2 counts from the fork on."""
import os, socket, struct, subprocess, sys, glob, re, time
mode, binary, ini, out = sys.argv[1:5]
env = dict(os.environ, AWS_EC2_METADATA_DISABLED="true", BENCH_SECRET="x" * 32)
vg = ["valgrind", "--tool=callgrind", "--trace-children=yes", "--callgrind-out-file=%s/cg.%%p" % out] + (["--dump-before=fork"] if mode != "exec" else [])
# socketpair()'s ends above fd 3, so that fd 3 can be the child's end.
junk = [os.open("/dev/null", os.O_RDONLY) for _ in range(4)]
a, b = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
for j in junk:
    os.close(j)
os.dup2(b.fileno(), 3)
os.set_inheritable(3, True)
if mode == "exec":
    p = subprocess.Popen(vg + [binary, "worker", "-c", ini, "--index", "0", "--generation", "1"],
                         pass_fds=(3,), env=env, stderr=subprocess.DEVNULL)
    b.close(); os.close(3)
    msg = a.recv(65536)
    assert b'"hello"' in msg, msg[:200]
    a.close()
    p.wait()
else:
    p = subprocess.Popen(vg + [binary, "spawner", "-c", ini, "--generation", "1"],
                         pass_fds=(3,), env=env, stderr=subprocess.DEVNULL)
    b.close(); os.close(3)
    w1, w2 = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    socket.send_fds(a, [struct.pack("Ii", 0x7a79676f, 0)], [w2.fileno()])
    w2.close()
    msg = w1.recv(65536)
    assert b'"hello"' in msg, msg[:200]
    w1.close()
    time.sleep(0.5)
    a.close()
    p.wait()
for f in sorted(glob.glob(out + "/cg.*")):
    text = open(f).read()
    cmd = re.search(r"^cmd: (.*)$", text, re.M).group(1)
    tot = sum(int(x) for x in re.findall(r"^summary: (\d+)", text, re.M)) or re.search(r"^totals: (\d+)", text, re.M).group(1)
    print("%-14s Ir=%12s  %s" % (os.path.basename(f), f"{int(tot):,}", cmd[:60]))
