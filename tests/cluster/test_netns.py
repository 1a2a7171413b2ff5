#!/usr/bin/env python3
"""Membership across a private network of namespaces: packet loss and a partition.

    python3 tests/cluster/test_netns.py --bin build/chorusd [-k substring]

Needs root (ip netns, veth, a bridge, iptables-legacy). The test creates
its own namespaces with the chaos suite's network (tests/chaos/net.py: a
hub holding a bridge, one namespace per node on 10.77.0.0/24), drops
packets with iptables' statistic match inside each node's namespace (this
kernel has no netem), polls each node over its own loopback, and deletes
everything it created. Ends with "N passed, N failed".
"""

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "http"))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "chaos"))

from harness import TestFailure, check, main, stop_problems, test  # noqa: E402
from net import Net as ChaosNet  # noqa: E402

SUBNET = "10.77.0"
PORT = 8081


class Net(ChaosNet):
    """The chaos suite's network (tests/chaos/net.py) on SUBNET, as a context manager."""

    def __init__(self, n):
        super().__init__(n, SUBNET)

    def __enter__(self):
        try:
            return self.open()
        except RuntimeError as e:
            raise TestFailure(str(e))

    def __exit__(self, *exc):
        self.close()

    def loss(self, pct):
        """Drops pct% of what every node receives from the others (0 removes it)."""
        self.heal()
        if pct:
            super().loss(pct / 100.0, range(self.n))


class NsNode:
    def __init__(self, net, i, binary, tmp):
        self.net, self.i, self.binary = net, i, binary
        self.id = "n%d" % i
        self.data = os.path.join(tmp, self.id)
        self.log = os.path.join(tmp, self.id + ".log")
        self.proc = None

    def start(self):
        cmd = ["ip", "netns", "exec", self.net.nodes[self.i], self.binary, "--node-id=" + self.id,
               "--port=%d" % PORT, "--bind=0.0.0.0", "--advertise=" + self.net.ip(self.i), "--data-dir=" + self.data]
        if self.i:
            cmd.append("--seed-node=%s:%d" % (self.net.ip(0), PORT))
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen(cmd, stdout=log, stderr=log, stdin=subprocess.DEVNULL)

    def members(self):
        """{id: status} from this node over its own loopback; {} if it does not answer."""
        r = subprocess.run(["ip", "netns", "exec", self.net.nodes[self.i], "curl", "-s", "-m", "2",
                            "http://127.0.0.1:%d/gossip/members" % PORT], capture_output=True, text=True)
        try:
            return {k: v["status"] for k, v in json.loads(r.stdout)["cluster_members"].items()}
        except (ValueError, KeyError):
            return {}

    def curl(self, method, path, body=None):
        """(status, parsed JSON or None) of a request to this node over its own loopback."""
        cmd = ["ip", "netns", "exec", self.net.nodes[self.i], "curl", "-s", "-m", "10", "-X", method,
               "-w", "\n%{http_code}", "http://127.0.0.1:%d%s" % (PORT, path)]
        if body is not None:
            cmd += ["-H", "Content-Type: application/json", "-d", json.dumps(body)]
        r = subprocess.run(cmd, capture_output=True, text=True)
        text, _, code = r.stdout.rpartition("\n")
        try:
            return int(code), json.loads(text) if text else None
        except ValueError:
            return 0, None

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                return self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                return "timeout"
        return None


class Cluster:
    def __init__(self, ctx, n):
        self.n = n
        self.binary = ctx.runner.binary
        self.net = Net(n)
        self.tmp = tempfile.mkdtemp(prefix="chorus-netns-")
        self.nodes = []

    def __enter__(self):
        self.net.__enter__()
        self.nodes = [NsNode(self.net, i, self.binary, self.tmp) for i in range(self.n)]
        for m in self.nodes:
            m.start()
            time.sleep(0.2)
        return self

    def __exit__(self, exc_type, exc, tb):
        problems = stop_problems(self.nodes)
        self.net.__exit__()
        shutil.rmtree(self.tmp, ignore_errors=True)
        if problems and exc_type is None:
            raise TestFailure("; ".join(problems))

    def views(self):
        return {m.id: m.members() for m in self.nodes}

    def wait_one_view(self, timeout):
        deadline = time.time() + timeout
        v = {}
        while time.time() < deadline:
            v = self.views()
            if all(len(x) == self.n and set(x.values()) == {"alive"} for x in v.values()):
                return
            time.sleep(0.5)
        raise TestFailure("no single %d-member view within %.0f s: %s" % (self.n, timeout, v))


@test
def test_ten_percent_loss_for_60_s_gives_no_false_dead(ctx):
    with Cluster(ctx, 5) as c:
        c.wait_one_view(30)
        c.net.loss(10)
        dead_seen = []
        end = time.time() + 60
        while time.time() < end:
            for observer, view in c.views().items():
                dead_seen += ["%s saw %s dead" % (observer, k) for k, s in view.items() if s == "dead"]
            time.sleep(1)
        c.net.loss(0)
        check(not dead_seen, "false dead verdicts under 10%% loss: %s" % dead_seen[:5])
        c.wait_one_view(20)


@test
def test_partition_2_3_for_20_s_heals_into_one_view_within_60_s(ctx):
    with Cluster(ctx, 5) as c:
        c.wait_one_view(30)
        c.net.partition([[0, 1], [2, 3, 4]])
        time.sleep(20)
        v = c.views()
        check(v["n0"].get("n3") in ("dead", "suspected"), "n0 still sees n3 as %s during the partition"
              % v["n0"].get("n3"))
        c.net.heal()
        c.wait_one_view(60)


@test
def test_partition_1_2_with_writes_on_both_sides_keeps_every_write_after_the_heal(ctx):
    with Cluster(ctx, 3) as c:
        c.wait_one_view(30)
        c.net.partition([[0], [1, 2]])
        deadline = time.time() + 30
        while time.time() < deadline:
            v = c.views()
            if v["n0"].get("n1") == "dead" and v["n1"].get("n0") == "dead" and v["n2"].get("n0") == "dead":
                break
            time.sleep(0.5)
        written = {}  # key -> values that must all be readable
        for i in range(15):
            for side, node in (("a", c.nodes[0]), ("b", c.nodes[1 + i % 2])):
                key = "part-%s-%d" % (side, i)
                status, doc = node.curl("PUT", "/api/v1/data/%s?w=1" % key, {"value": side + str(i)})
                check(status == 200, "W = 1 write of %s on %s during the partition: %d %s" % (key, node.id, status,
                                                                                           doc))
                written[key] = {side + str(i)}
        for side, node in (("a", c.nodes[0]), ("b", c.nodes[1])):  # one key written on both sides
            status, _ = node.curl("PUT", "/api/v1/data/both?w=1", {"value": "from-" + side})
            check(status == 200, "W = 1 write of both on %s: %d" % (node.id, status))
        written["both"] = {"from-a", "from-b"}
        c.net.heal()
        c.wait_one_view(60)
        missing = {}
        deadline = time.time() + 30
        while time.time() < deadline:
            missing = {}
            for n, (key, want) in enumerate(sorted(written.items())):
                status, doc = c.nodes[n % 3].curl("GET", "/api/v1/data/" + key)
                got = {s["value"] for s in (doc or {}).get("siblings", []) if not s.get("deleted")}
                if status != 200 or not want <= got:
                    missing[key] = (status, sorted(got))
            if not missing:
                return
            time.sleep(1)
        raise TestFailure("after the heal %d of %d keys lack a write: %s" % (len(missing), len(written),
                                                                           dict(list(missing.items())[:4])))


if __name__ == "__main__":
    sys.exit(main())
