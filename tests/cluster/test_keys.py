#!/usr/bin/env python3
"""Gossip and peer key rotation with real chorusd processes on loopback
(/api/v1/keys): install, use and remove under a write load with no member
suspected and no request failed, a plaintext cluster given a key without a
restart, the old key refused afterwards, unsafe changes refused, a member
that was down during a rotation given the key by hand, and the keyring kept
across restarts.

    python3 tests/cluster/test_keys.py --bin build/chorusd [-k substring]

Ends with "N passed, N failed".
"""

import base64
import json
import os
import random
import sys
import threading
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "http"))

from harness import TestFailure, check, eq, main, test  # noqa: E402

from cluster import Cluster, wait_for  # noqa: E402


def new_key():
    return base64.b64encode(os.urandom(32)).decode()


def keys(node, op=None, key=None, local=False, expect=200):
    """GET /api/v1/keys, or POST {op, key}; the reply's JSON, its status checked."""
    path = "/api/v1/keys" + ("?local=true" if local else "")
    if op is None:
        r = node.request("GET", path)
    else:
        r = node.request("POST", path, json.dumps({"op": op, "key": key}), {"Content-Type": "application/json"})
    body = json.loads(r.body) if r.body else {}
    check(r.status == expect, "%s %s on %s: %d, expected %d: %s" % (op or "list", key and key[:8], node.id,
                                                                  r.status, expect, r.body[:600]))
    return body


def metric(node, name):
    text = node.request("GET", "/metrics").body.decode()
    for line in text.splitlines():
        if line.startswith(name + " "):
            return int(float(line.split()[1]))
    raise TestFailure("%s has no metric %s" % (node.id, name))


def key_id(node, key):
    """The id GET /api/v1/keys lists for key (the node must hold it)."""
    body = keys(node, "install", key, local=True)  # installing what is there changes nothing
    return body["key"]


class Load:
    """Writers putting fresh values through every node, each read back through
    another node; any failure is kept."""

    def __init__(self, nodes, writers=4):
        self.nodes, self.writers = nodes, writers
        self.ok, self.failures = 0, []
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.threads = [threading.Thread(target=self.run, args=(w,), daemon=True) for w in range(writers)]

    def __enter__(self):
        for t in self.threads:
            t.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        for t in self.threads:
            t.join(15)

    def run(self, w):
        rnd = random.Random(w)
        seq = 0
        while not self.stop.is_set():
            seq += 1
            key, value = "rot-%d-%d" % (w, rnd.randrange(40)), "v%d-%d" % (w, seq)
            a, b = rnd.sample(self.nodes, 2)
            try:
                put = a.put(key, value, timeout=5)
                got = b.get(key, timeout=5) if put.status == 200 else None
            except OSError as e:
                put, got = None, e
            with self.lock:
                if put is None or put.status != 200:
                    self.failures.append("PUT %s via %s: %s" % (key, a.id, put.status if put else got))
                elif got.status != 200:
                    self.failures.append("GET %s via %s: %d" % (key, b.id, got.status))
                else:
                    self.ok += 1
            time.sleep(0.01)


def keyed(c, key, nodes=None):
    """Starts nodes (default all of c) with --cluster-key=key, seeded from the first; waits for them."""
    nodes = nodes or c.nodes
    nodes[0].start(extra=["--cluster-key=" + key])
    for m in nodes[1:]:
        m.start(seed=nodes[0], extra=["--cluster-key=" + key])
    c.converged(ids=[m.id for m in nodes])
    return nodes


def no_suspicion_and_no_auth_drop(nodes):
    for m in nodes:
        eq(metric(m, "chorus_swim_suspects_total"), 0, "members %s suspected" % m.id)
        eq(metric(m, "chorus_gossip_dropped_auth_total"), 0, "gossip packets %s could not open" % m.id)
        eq(metric(m, "chorus_peer_dropped_auth_total"), 0, "peer frames %s could not open" % m.id)


def everyone_holds(body, want_primary, want_keys):
    members = body["members"]
    for node, ring in members.items():
        check("error" not in ring, "%s: %s" % (node, ring))
        eq(ring["primary"], want_primary, "%s's primary" % node)
        eq(sorted(ring["keys"]), sorted(want_keys), "%s's keys" % node)


def stranger_refused(c, seed, args):
    """A node started with args (an old key, or none) never joins seed's cluster."""
    stranger = c.nodes[-1]
    before = metric(seed, "chorus_gossip_dropped_auth_total")
    stranger.start(seed=seed, extra=args)
    time.sleep(3)
    check(stranger.id not in seed.members(), "%s joined with %s: %s" % (stranger.id, args, seed.members()))
    check(metric(seed, "chorus_gossip_dropped_auth_total") > before, "the seed dropped none of its packets")
    status = json.loads(stranger.request("GET", "/gossip/status").body)["gossip_status"]
    eq(status["joined"], False, "the stranger's own view: joined")


@test
def test_a_rotation_under_load_suspects_no_member_and_fails_no_request(ctx):
    k1, k2 = new_key(), new_key()
    with Cluster(ctx, 6) as c:
        five = keyed(c, k1, c.nodes[:5])
        id1 = key_id(five[0], k1)
        with Load(five) as load:
            time.sleep(1)
            body = keys(five[1], "install", k2)
            eq((body["complete"], body["members_asked"]), (True, 5), "install: complete, members asked")
            time.sleep(1)
            id2 = body["key"]
            everyone_holds(keys(five[2], "use", k2), id2, [id1, id2])
            time.sleep(1)
            everyone_holds(keys(five[3], "remove", id1), id2, [id2])
            time.sleep(2)
        check(load.ok > 100, "the load made only %d round trips" % load.ok)
        eq(load.failures, [], "requests that failed during the rotation")
        for m in five:
            eq(sorted(m.members()), sorted(x.id for x in five), "members as %s sees them" % m.id)
            check(all(s == "alive" for s, _ in m.members().values()), "%s's view: %s" % (m.id, m.members()))
        no_suspicion_and_no_auth_drop(five)
        for m in five:
            status = json.loads(m.request("GET", "/gossip/status").body)
            eq(status["config"]["encrypted"], True, "%s: encrypted" % m.id)
        stranger_refused(c, five[0], ["--cluster-key=" + k1])


@test
def test_a_plaintext_cluster_gets_a_key_without_a_restart(ctx):
    k = new_key()
    with Cluster(ctx, 4) as c:
        three = c.nodes[:3]
        three[0].start()
        for m in three[1:]:
            m.start(seed=three[0])
        c.converged(ids=[m.id for m in three])
        everyone_holds(keys(three[0]), "none", ["none"])
        pids = [m.proc.pid for m in three]
        with Load(three, writers=2) as load:
            idk = keys(three[0], "install", k)["key"]
            everyone_holds(keys(three[1], "use", k), idk, [idk, "none"])
            everyone_holds(keys(three[2], "remove", "none"), idk, [idk])
            time.sleep(1)
        eq(load.failures, [], "requests that failed while the key came in")
        eq([m.proc.pid for m in three], pids, "the processes (no restart)")
        no_suspicion_and_no_auth_drop(three)
        stranger_refused(c, three[0], [])  # plaintext is refused now


@test
def test_unsafe_or_malformed_changes_are_refused_and_change_nothing(ctx):
    k1, k2 = new_key(), new_key()
    with Cluster(ctx, 3) as c:
        a, b, _ = keyed(c, k1)
        id1 = key_id(a, k1)
        before = keys(a)
        # k2 on one member only: using it would cut the others off
        keys(b, "install", k2, local=True)
        body = keys(a, "use", k2, expect=409)
        eq(body["error"]["code"], "key_not_installed", "use of a key not everywhere")
        eq(body["keys"][key_id(b, k2)]["members"], 1, "members holding k2")
        body = keys(a, "remove", id1, expect=409)
        eq(body["error"]["code"], "key_in_use", "remove of the primary")
        for op, key in (("install", "c2hvcnQ="), ("use", "xyz"), ("frobnicate", k2), ("install", "0123456789abcdef")):
            r = a.request("POST", "/api/v1/keys", json.dumps({"op": op, "key": key}))
            eq(r.status, 400, "%s %s" % (op, key))
        eq(a.request("POST", "/api/v1/keys", "{not json").status, 400, "malformed JSON")
        eq(a.request("DELETE", "/api/v1/keys").status, 405, "DELETE")
        after = keys(a)
        for m in (a.id, c.nodes[2].id):
            eq(after["members"][m], before["members"][m], "%s's keyring after the refusals" % m)
        check(k1 not in json.dumps(after) and k2 not in json.dumps(after), "a reply shows a key itself")
        no_suspicion_and_no_auth_drop(c.nodes)


@test
def test_a_member_down_during_a_rotation_is_given_the_key_by_hand(ctx):
    k1, k2 = new_key(), new_key()
    with Cluster(ctx, 3) as c:
        a, b, late = keyed(c, k1)
        eq(late.stop(), 0, "exit code of the member going down")
        wait_for("the stopped member seen dead", lambda: a.members().get(late.id, ("",))[0] == "dead", 10)
        id2 = keys(a, "install", k2)["key"]
        keys(a, "use", k2)
        body = keys(b, "remove", key_id(a, k1))
        eq((body["complete"], body["members_asked"]), (True, 2), "the rotation without the member that is down")
        late.start(seed=a, extra=["--cluster-key=" + k1])
        time.sleep(3)
        check(a.members().get(late.id, ("",))[0] != "alive", "a member with the old key came back alive")
        keys(late, "install", k2, local=True)
        body = keys(late, "use", id2, local=True)
        eq((body["members_asked"], body["members"][late.id]["primary"]), (1, id2), "the local change")
        c.converged(timeout=20)


@test
def test_the_keyring_outlives_a_restart_with_the_old_cluster_key(ctx):
    k1, k2 = new_key(), new_key()
    with Cluster(ctx, 3) as c:
        a = keyed(c, k1)[0]
        id1 = key_id(a, k1)
        id2 = keys(a, "install", k2)["key"]
        keys(a, "use", k2)
        keys(a, "remove", id1)
        b = c.nodes[1]
        eq(b.stop(), 0, "exit code of the restarted member")
        keyring = os.path.join(b.data, "keyring")
        eq(os.stat(keyring).st_mode & 0o777, 0o600, "mode of the keyring file")
        b.start(seed=a, extra=["--cluster-key=" + k1])  # the flag it was first given
        c.converged(timeout=20)
        everyone_holds(keys(a), id2, [id2])
        check("--cluster-key is not in the keyring" in open(b.log, "rb").read().decode(), "the log warns")
        no_suspicion_and_no_auth_drop([a, c.nodes[2]])


if __name__ == "__main__":
    sys.exit(main())
