"""The chaos suite's private network: one namespace per node on a bridge, reachable from here.

A hub namespace holds a bridge; every node namespace is linked to it by a
veth pair and has SUBNET.(i+1). The runner's own namespace is linked too,
with SUBNET.254, so clients and the runner talk to every node directly,
as Jepsen's clients do: faults cut and thin the links between nodes only
(INPUT rules inside each node's namespace that match the other nodes'
addresses), never the client's link. Neighbour entries are permanent, so
the shared neighbour table cannot overflow and drop packets silently.

Invariants: everything created is recorded and deleted by close(), even
after a failure half-way; rules are only ever added to a node's own INPUT
chain, so heal() (a flush) restores every link.
"""

import os
import subprocess

IPT = "iptables-legacy"


def sh(*args, ns=None, check=True):
    cmd = (["ip", "netns", "exec", ns] if ns else []) + [str(a) for a in args]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=30)
    if check and r.returncode != 0:
        raise RuntimeError("%s failed: %s" % (" ".join(cmd), r.stderr.strip()))
    return r.stdout


class Net:
    """n node namespaces plus a link from this namespace, on SUBNET.0/24."""

    def __init__(self, n, subnet):
        if os.geteuid() != 0:
            raise RuntimeError("the chaos suite needs root (network namespaces, iptables, tmpfs)")
        self.n, self.subnet = n, subnet
        tag = "%x" % (os.getpid() & 0xffff)
        self.hub = "xhub" + tag
        self.nodes = ["xn%s-%d" % (tag, i) for i in range(n)]
        self.host_if = "xh" + tag
        self.created = []
        self.host_link = False

    def ip(self, i):
        return "%s.%d" % (self.subnet, i + 1)

    def open(self):
        try:
            self._build()
        except Exception:
            self.close()
            raise
        return self

    def _build(self):
        sh("ip", "netns", "add", self.hub)
        self.created.append(self.hub)
        sh("ip", "-n", self.hub, "link", "add", "br0", "type", "bridge")
        sh("ip", "-n", self.hub, "link", "set", "br0", "up")
        for i, ns in enumerate(self.nodes):
            sh("ip", "netns", "add", ns)
            self.created.append(ns)
            sh("ip", "-n", self.hub, "link", "add", "h%d" % i, "type", "veth", "peer", "name", "eth0", "netns", ns)
            sh("ip", "-n", self.hub, "link", "set", "h%d" % i, "master", "br0", "up")
            sh("ip", "-n", ns, "link", "set", "lo", "up")
            sh("ip", "-n", ns, "addr", "add", "%s/24" % self.ip(i), "dev", "eth0")
            sh("ip", "-n", ns, "link", "set", "eth0", "up")
        sh("ip", "link", "add", self.host_if, "type", "veth", "peer", "name", "hh", "netns", self.hub)
        self.host_link = True
        sh("ip", "-n", self.hub, "link", "set", "hh", "master", "br0", "up")
        sh("ip", "addr", "add", "%s.254/24" % self.subnet, "dev", self.host_if)
        sh("ip", "link", "set", self.host_if, "up")
        self._static_neighbours()

    def _mac(self, dev, ns=None):
        out = sh("ip", "-o", "link", "show", dev, ns=ns)
        return out.split("link/ether")[1].split()[0]

    def _static_neighbours(self):
        macs = [self._mac("eth0", ns) for ns in self.nodes]
        host_mac = self._mac(self.host_if)
        for i, ns in enumerate(self.nodes):
            for j, mac in enumerate(macs):
                if j != i:
                    sh("ip", "-n", ns, "neigh", "replace", self.ip(j), "lladdr", mac, "dev", "eth0", "nud", "permanent")
            sh("ip", "-n", ns, "neigh", "replace", "%s.254" % self.subnet, "lladdr", host_mac, "dev", "eth0", "nud",
               "permanent")
        for j, mac in enumerate(macs):
            sh("ip", "neigh", "replace", self.ip(j), "lladdr", mac, "dev", self.host_if, "nud", "permanent")

    def close(self):
        if self.host_link:
            sh("ip", "link", "del", self.host_if, check=False)
            self.host_link = False
        for ns in reversed(self.created):
            sh("ip", "netns", "del", ns, check=False)
        self.created = []

    # ---- faults: INPUT rules in the receiving node's namespace

    def heal(self):
        for ns in self.nodes:
            sh(IPT, "-F", "INPUT", ns=ns)

    def cut(self, i, j):
        """Drops what node i receives from node j."""
        sh(IPT, "-A", "INPUT", "-s", self.ip(j), "-j", "DROP", ns=self.nodes[i])

    def partition(self, groups):
        """Nodes of different groups (lists of indexes) no longer hear each other."""
        for g in groups:
            for other in groups:
                if other is not g:
                    for i in g:
                        for j in other:
                            self.cut(i, j)

    def grudge(self, hears):
        """hears: {i: set of j node i still hears}; every other node link into i is cut."""
        for i, ok in hears.items():
            for j in range(self.n):
                if j != i and j not in ok:
                    self.cut(i, j)

    def loss(self, fraction, among):
        """Drops that fraction of what each node of `among` receives from the other nodes."""
        for i in among:
            sh(IPT, "-A", "INPUT", "-s", "%s.254" % self.subnet, "-j", "ACCEPT", ns=self.nodes[i])
            sh(IPT, "-A", "INPUT", "-s", "%s.0/24" % self.subnet, "-m", "statistic", "--mode", "random",
               "--probability", "%.4f" % fraction, "-j", "DROP", ns=self.nodes[i])
