#!/usr/bin/env python3
"""loop_stall.py - the longest stall of each node's loop while a dashboard
watches a busy cluster (loopback only).

usage: bench/loop_stall.py [--bin build/chorusd] [--nodes 5] [--seconds 60]
                           [--writers 4] [--max-requests 300000]

Starts NODES chorusd processes on 127.0.0.1 (the first is the seed), waits
until every node sees every other alive, opens one /ws client on each node
(it reads and discards what is pushed, so every node runs an events gather
every second, asking every member for up to 1000 events), then drives
WRITERS keep-alive HTTP clients doing PUTs of random keys round-robin over
the nodes for SECONDS (or MAX_REQUESTS in all, whichever comes first), so
every node's event log grows by thousands of events a second. Reads
loop.longest_stall_ms and loop.slow_stalls from /api/v1/status on every
node before and after the load, prints them per node with the median, and
stops every process it started by its PID (SIGTERM, then SIGKILL after 15
s). Data directories live under a temporary directory that is removed.
The nodes are started and stopped by the cluster tests' Member
(tests/cluster/cluster.py), the /ws handshake is the web tests' (standard
library only); every connection goes to 127.0.0.1.
"""

import argparse
import json
import http.client
import os
import random
import shutil
import socket
import statistics
import sys
import tempfile
import threading
import time

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
sys.path.insert(0, os.path.join(ROOT, "tests", "http"))
sys.path.insert(0, os.path.join(ROOT, "tests", "cluster"))

from cluster import Member  # noqa: E402  (one chorusd process, stopped by its PID)
from test_web import WS  # noqa: E402  (the /ws handshake)


def loop_of(node):
    return node.get_json("/api/v1/status")["loop"]


class WsReader(threading.Thread):
    """A /ws client that reads and discards every frame until stopped."""

    def __init__(self, port):
        super().__init__(daemon=True)
        self.ws = WS(port)
        if self.ws.status != 101:
            raise RuntimeError("/ws handshake answered %d" % self.ws.status)
        self.bytes = len(self.ws.buf)
        self.stopping = False

    def run(self):
        sock = self.ws.sock
        sock.settimeout(0.5)
        while not self.stopping:
            try:
                chunk = sock.recv(1 << 16)
            except socket.timeout:
                continue
            except OSError:
                return
            if not chunk:
                return
            self.bytes += len(chunk)

    def stop(self):
        self.stopping = True
        self.join(2)
        self.ws.sock.close()


def writer(nodes, until, budget, lock, counts, seed):
    rnd = random.Random(seed)
    conns = {}
    value = json.dumps({"value": "v" * 100})
    headers = {"Content-Type": "application/json"}
    done = errors = 0
    while time.monotonic() < until:
        with lock:
            if budget[0] <= 0:
                break
            budget[0] -= 1
        n = nodes[rnd.randrange(len(nodes))]
        c = conns.get(n.port)
        try:
            if c is None:
                c = conns[n.port] = http.client.HTTPConnection("127.0.0.1", n.port, timeout=10)
            c.request("PUT", "/api/v1/data/k%d" % rnd.randrange(100000), value, headers)
            r = c.getresponse()
            r.read()
            done += 1
            errors += r.status != 200
        except (OSError, http.client.HTTPException):
            errors += 1
            if c is not None:
                c.close()
            conns.pop(n.port, None)
    for c in conns.values():
        c.close()
    with lock:
        counts[0] += done
        counts[1] += errors


def table(nodes, before, after):
    print("%-6s %18s %18s %14s" % ("node", "stall before (ms)", "stall after (ms)", "slow stalls"))
    for n in nodes:
        print("%-6s %18.3f %18.3f %14d" % (n.id, before[n.id]["longest_stall_ms"], after[n.id]["longest_stall_ms"],
                                           after[n.id]["slow_stalls"]))
    print("%-6s %18.3f %18.3f" % ("median", statistics.median(b["longest_stall_ms"] for b in before.values()),
                                  statistics.median(a["longest_stall_ms"] for a in after.values())))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--bin", default="build/chorusd")
    ap.add_argument("--nodes", type=int, default=5)
    ap.add_argument("--seconds", type=float, default=60)
    ap.add_argument("--writers", type=int, default=4)
    ap.add_argument("--max-requests", type=int, default=300000)
    a = ap.parse_args()
    binary = os.path.abspath(a.bin)
    if not os.access(binary, os.X_OK):
        sys.exit("loop_stall: no executable %s" % binary)
    tmp = tempfile.mkdtemp(prefix="chorus-stall-")
    nodes = [Member(binary, tmp, i, ["--log-level=warn"]) for i in range(a.nodes)]
    readers = []
    try:
        for i, n in enumerate(nodes):
            n.start(seed=nodes[0] if i else None)
        deadline = time.time() + 60
        while not all(sum(st == "alive" for st, _ in n.members().values()) == a.nodes for n in nodes):
            if time.time() > deadline:
                raise RuntimeError("the cluster did not form within 60 s")
            time.sleep(0.2)
        time.sleep(2)  # the ring views settle
        readers = [WsReader(n.port) for n in nodes]
        for r in readers:
            r.start()
        time.sleep(3)  # the first gathers of every pusher
        before = {n.id: loop_of(n) for n in nodes}
        lock, budget, counts = threading.Lock(), [a.max_requests], [0, 0]
        until = time.monotonic() + a.seconds
        t0 = time.monotonic()
        ws = [threading.Thread(target=writer, args=(nodes, until, budget, lock, counts, i)) for i in range(a.writers)]
        for t in ws:
            t.start()
        for t in ws:
            t.join()
        elapsed = time.monotonic() - t0
        time.sleep(2)  # the last gathers of the load
        after = {n.id: loop_of(n) for n in nodes}
        events = [n.get_json("/api/v1/status")["storage"]["events"] for n in nodes]
        print("binary: %s" % binary)
        print("load: %d PUTs in %.1f s (%.0f/s), %d errors; %d writers over %d nodes, one /ws client per node"
              % (counts[0], elapsed, counts[0] / elapsed, counts[1], a.writers, a.nodes))
        print("events recorded per node: %s; /ws bytes read per node: %s"
              % (events, [r.bytes for r in readers]))
        table(nodes, before, after)
    finally:
        for r in readers:
            r.stop()
        for n in nodes:
            n.stop()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
