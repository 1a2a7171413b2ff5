#!/usr/bin/env python3
"""tree_cost.py - PUT throughput of a 3-node cluster with the anti-entropy
tree kept in every write batch and switched off (--merkle-tree=true|false,
same binary), runs alternated (loopback only).

usage: bench/tree_cost.py [--bin build/chorusd] [--reps 3] [--seconds 10] [--fsync never]
                          [--anti-entropy-interval 0s]

Each run starts 3 fresh nodes (the second and third seeded from the first),
waits until all are alive, drives PUTs of random keys out of 100,000 with
128-byte values through node 1 (wrk, bench/wrk.lua: 2 threads, 64
connections) for SECONDS, and stops every node by its PID. Prints each run
and the medians, of throughput and of the CPU time the three nodes spent
per PUT (user + system, from /proc/PID/stat over the measured run): on this
2-core machine throughput swings 10-20% between runs of the same binary,
CPU per request much less. Exchanges are off by default (--anti-entropy-interval 0s):
what is measured is keeping the tree; with them on, an exchange during the
load also repairs the writes still on their way to a replica.
"""

import argparse
import os
import shutil
import statistics
import sys
import tempfile

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
sys.path.insert(0, os.path.join(ROOT, "tests", "http"))
sys.path.insert(0, os.path.join(ROOT, "tests", "cluster"))
sys.path.insert(0, os.path.join(ROOT, "bench"))

from cluster import Member, wait_for  # noqa: E402
from repair import wrk  # noqa: E402


def cpu_seconds(pids):
    """User + system CPU time of the processes so far."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in pids:
        with open("/proc/%d/stat" % pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15)
    return total / tick


def run(binary, tree, seconds, fsync, interval):
    tmp = tempfile.mkdtemp(prefix="chorus-tree-cost-")
    flags = ["--fsync=" + fsync, "--merkle-tree=" + tree, "--log-level=warn", "--anti-entropy-interval=" + interval]
    nodes = [Member(binary, tmp, i + 1, flags) for i in range(3)]
    try:
        nodes[0].start()
        for m in nodes[1:]:
            m.start(seed=nodes[0])
        wait_for("all alive", lambda: all(len(m.members()) == 3 and
                                          all(s == "alive" for s, _ in m.members().values()) for m in nodes), 30)
        wrk("wrk.lua", nodes[0].port, 3, {"OP": "put", "VALUE_SIZE": "128"}, conns=64)  # warm-up
        pids = [m.proc.pid for m in nodes]
        cpu0 = cpu_seconds(pids)
        x = wrk("wrk.lua", nodes[0].port, seconds, {"OP": "put", "VALUE_SIZE": "128"}, conns=64)
        x["cpu_us_per_put"] = (cpu_seconds(pids) - cpu0) * 1e6 / max(1, x["requests"])
        return x
    finally:
        for m in nodes:
            m.stop()
        shutil.rmtree(tmp, ignore_errors=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", default=os.path.join(ROOT, "build", "chorusd"))
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--seconds", type=int, default=10)
    ap.add_argument("--fsync", default="never")
    ap.add_argument("--anti-entropy-interval", default="0s")
    a = ap.parse_args()
    got = {"true": [], "false": []}
    for r in range(a.reps):
        for tree in ("true", "false"):
            x = run(a.bin, tree, a.seconds, a.fsync, a.anti_entropy_interval)
            got[tree].append(x)
            print("run %d tree=%s: %.0f PUT/s, p50 %.2f ms, p99 %.2f ms, %.1f us of CPU per PUT" %
                  (r + 1, tree, x["rps"], x["p50_ms"], x["p99_ms"], x["cpu_us_per_put"]), flush=True)
    med = {t: statistics.median(x["rps"] for x in v) for t, v in got.items()}
    cpu = {t: statistics.median(x["cpu_us_per_put"] for x in v) for t, v in got.items()}
    print("median PUT/s: tree kept %.0f, tree off %.0f: the tree costs %.1f%%" %
          (med["true"], med["false"], 100 * (1 - med["true"] / med["false"])))
    print("median CPU per PUT (3 nodes): tree kept %.1f us, tree off %.1f us: the tree costs %.1f%%" %
          (cpu["true"], cpu["false"], 100 * (cpu["true"] / cpu["false"] - 1)))


if __name__ == "__main__":
    main()
