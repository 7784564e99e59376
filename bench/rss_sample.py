#!/usr/bin/env python3
"""Samples a process tree's memory every 200 ms, for bench/run.

    bench/rss_sample.py PID FILE

Appends "main_kb rest_kb total_kb pss_kb" (VmRSS of PID, VmRSS of all its
descendants at any depth, their sum, and the sum of every process's Pss from
smaps_rollup) to FILE until PID is gone or this is stopped. One process that
forks nothing: the shell loop it replaces forked a dozen pgrep/awk processes
per sample, and those took CPU from the pinned server it was measuring.
"""
import os
import sys
import time


def children(pid):
    """Direct children of pid (every thread's children file)."""
    out = []
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return out
    for t in tasks:
        try:
            with open(f"/proc/{pid}/task/{t}/children") as f:
                out.extend(int(c) for c in f.read().split())
        except OSError:
            pass
    return out


def tree(pid):
    pids, todo = [], [pid]
    while todo:
        p = todo.pop()
        pids.append(p)
        todo.extend(children(p))
    return pids


def field_kb(path, name):
    try:
        with open(path) as f:
            for line in f:
                if line.startswith(name):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def sample(root):
    main = rest = pss = 0
    for p in tree(root):
        rss = field_kb(f"/proc/{p}/status", "VmRSS:")
        if p == root:
            main = rss
        else:
            rest += rss
        pss += field_kb(f"/proc/{p}/smaps_rollup", "Pss:")
    return f"{main} {rest} {main + rest} {pss}\n"


def main():
    root, path = int(sys.argv[1]), sys.argv[2]
    if len(sys.argv) > 3 and sys.argv[3] == "--once":
        sys.stdout.write(sample(root))
        return
    with open(path, "a") as out:
        while os.path.exists(f"/proc/{root}"):
            out.write(sample(root))
            out.flush()
            time.sleep(0.2)


if __name__ == "__main__":
    main()
