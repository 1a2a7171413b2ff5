#!/usr/bin/env python3
"""Anti-entropy, tombstone collection and fresh actors with real chorusd
processes on loopback (DESIGN §9).

    python3 tests/cluster/test_repair.py --bin build/chorusd [-k substring]

Each test starts its own 3-node cluster (N = 3) with a short
--anti-entropy-interval, makes replicas differ the way operators meet it
(a replica down with hints off, a wiped data dir, a delete missed), never
reads the keys through the coordinator (no read repair), and asserts on
each replica's own copy (?local=true) that the replicas converged.
Ends with "N passed, N failed".
"""

import json
import os
import signal
import sys
import threading
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "http"))

from harness import check, eq, main, test  # noqa: E402

from cluster import FAST, Cluster, wait_for  # noqa: E402

# Exchanges every second; no hints are kept, so a replica that
# missed writes is refilled by anti-entropy, not by hinted handoff.
AAE = FAST + ["--anti-entropy-interval=1s", "--max-hints=0"]
BOUND = 45  # seconds for replicas to converge without any read


def ring_ready(c):
    c.converged()
    wait_for("rings agree", lambda: len({m.get_json("/api/v1/status")["cluster"]["ring"]["version"]
                                        for m in c.nodes}) == 1 and
             all(m.get_json("/api/v1/status")["cluster"]["ring"]["members"] == len(c.nodes) for m in c.nodes), 15)


def put_ok(node, key, value, query=""):
    r = node.put(key, value, query)
    check(r.status == 200, "PUT %s on %s: %d %s" % (key, node.id, r.status, r.body[:300]))
    return json.loads(r.body)


def local_values(node, key):
    """The live values this replica holds for key ([] when none)."""
    r = node.get(key, "local=true")
    if r.status == 404:
        return []
    check(r.status == 200, "GET %s?local=true on %s: %d %s" % (key, node.id, r.status, r.body[:200]))
    doc = json.loads(r.body)
    return sorted(s["value"] for s in doc.get("siblings", []) if not s.get("deleted"))


def missing(node, expected):
    """Keys of expected ({key: value}) whose value this replica does not hold."""
    return [k for k, v in expected.items() if v not in local_values(node, k)]


def anti_entropy(node):
    return node.get_json("/api/v1/status")["anti_entropy"]


def verify_clean(node):
    v = node.get_json("/api/v1/merkle-tree/verify")
    check(v["clean"], "%s: the stored tree does not match its records: %s" % (node.id, v))
    return v


def kill_and_wait_dead(c, victim):
    victim.kill()
    c.wait("%s dead" % victim.id, lambda v: v.get(victim.id, ("", 0))[0] == "dead", 15,
           [m for m in c.nodes if m is not victim])


def writes_missed_by_the_third(c, n, prefix):
    """Starts c, kills its third node and writes n keys at W=1 through the
    others while it is down; restarts it. Returns it and {key: value}."""
    c.start_all()
    ring_ready(c)
    victim = c.nodes[2]
    kill_and_wait_dead(c, victim)
    expected = {}
    for i in range(n):
        k = "%s-%d" % (prefix, i)
        put_ok(c.nodes[i % 2], k, "%s%d" % (prefix, i), "w=1")
        expected[k] = "%s%d" % (prefix, i)
    victim.start(seed=c.nodes[0])
    return victim, expected


@test
def test_in_sync_replicas_exchange_a_few_bytes_and_repair_nothing(ctx):
    with Cluster(ctx, 3, AAE) as c:
        c.start_all()
        ring_ready(c)
        for i in range(200):
            put_ok(c.nodes[i % 3], "sync-%d" % i, "v%d" % i)
        time.sleep(3)  # writes done: every exchange from now on finds nothing
        before = {m.id: anti_entropy(m) for m in c.nodes}
        wait_for("two more exchanges everywhere",
                 lambda: all(anti_entropy(m)["exchanges"] >= before[m.id]["exchanges"] + 2 for m in c.nodes), 20)
        for m in c.nodes:
            ae = anti_entropy(m)
            eq(ae["keys_repaired"] - before[m.id]["keys_repaired"], 0, m.id + " repaired keys in sync")
            for peer, x in ae["last_exchange"].items():
                eq(x["result"], "ok", "%s's exchange with %s" % (m.id, peer))
                check(x["in_sync"], "%s and %s in sync: %s" % (m.id, peer, x))
                check(x["bytes_sent"] + x["bytes_received"] <= 16 * 1024,
                      "an exchange in sync costs at most 16 KB: %s" % x)
            cmp = m.get_json("/api/v1/merkle-tree/compare?node=" + c.nodes[(c.nodes.index(m) + 1) % 3].id)
            check(cmp["in_sync"] and cmp["keys_differing"] == 0, "compare in sync: %s" % cmp)
            verify_clean(m)


@test
def test_writes_at_w1_missed_by_a_replica_with_hints_off_reach_it_without_any_read(ctx):
    with Cluster(ctx, 3, AAE) as c:
        victim, expected = writes_missed_by_the_third(c, 120, "w1")
        c.converged()
        started = time.time()
        wait_for("the returned replica holds every acknowledged write",
                 lambda: not missing(victim, expected), BOUND)
        took = time.time() - started
        for m in c.nodes:
            eq(missing(m, expected), [], "writes missing on " + m.id)
        repaired = sum(anti_entropy(m)["keys_repaired"] for m in c.nodes)
        check(repaired >= len(expected), "anti-entropy repaired every key (%d), no hints kept" % repaired)
        # the repairs are events on the timeline, with the peer they came from
        evs = victim.get_json("/api/v1/vector-clock?limit=1000")["event_log"]["events"]
        reps = [e for e in evs if e["type"] == "repair"]
        check(reps and all(e["peer"] in (c.nodes[0].id, c.nodes[1].id) for e in reps),
              "repair events on %s: %s" % (victim.id, reps[:3]))
        for m in c.nodes:
            verify_clean(m)
        print("# converged in %.1f s" % took)


@test
def test_a_wiped_replica_is_refilled_and_writes_through_it_are_not_swallowed(ctx):
    with Cluster(ctx, 3, AAE) as c:
        c.start_all()
        ring_ready(c)
        victim = c.nodes[2]
        expected = {}
        for i in range(60):
            k = "wipe-%d" % i
            put_ok(victim if i % 3 == 0 else c.nodes[i % 2], k, "old%d" % i)
            expected[k] = "old%d" % i
        # several writes through the victim: its peers hold dots victim:1..3 for this key
        for v in ("a", "b", "c"):
            put_ok(victim, "reused", v)
        old_actor = victim.get_json("/api/v1/status")["actor"]
        victim.kill()
        import shutil
        shutil.rmtree(victim.data)
        victim.start(seed=c.nodes[0])
        # until it joined, it refuses to act alone; once joined it writes under a new actor. Its store is
        # new, so it joins as a new member does: the write reaches it while its ranges stream back to it
        deadline = time.time() + 20
        while True:
            r = victim.put("reused", "after-wipe")
            if r.status == 200:
                doc = json.loads(r.body)
                res = doc["replication_result"]
                reached = doc["replication_nodes"] + res.get("pending_nodes", []) + res["successful_nodes"]
                check(res["required"] >= 2 and len(set(reached)) == 3,
                      "the wiped node acknowledged as a cluster, not alone: %s" % r.body[:300])
                break
            check(r.status == 503 and json.loads(r.body)["error"]["code"] in ("not_joined", "unavailable"),
                  "before joining: %d %s" % (r.status, r.body[:200]))
            check(time.time() < deadline, "the wiped node never joined")
            time.sleep(0.2)
        new_actor = victim.get_json("/api/v1/status")["actor"]
        check(new_actor != old_actor and new_actor.startswith(victim.id + "."),
              "a new store gets a new actor: %s -> %s" % (old_actor, new_actor))
        c.converged()  # its ranges are back: an owner again
        # the write through the wiped node survives every replica's merge (kv679)
        for m in c.nodes:
            r = m.get("reused", "r=3")
            check(r.status == 200, "GET reused r=3 on %s: %d" % (m.id, r.status))
            vals = sorted(s["value"] for s in json.loads(r.body)["siblings"])
            check("after-wipe" in vals, "the write through the wiped replica is kept: %s on %s" % (vals, m.id))
        wait_for("the wiped replica is refilled", lambda: not missing(victim, expected), BOUND)
        wait_for("every replica holds the new write",
                 lambda: all("after-wipe" in local_values(m, "reused") for m in c.nodes), BOUND)
        for m in c.nodes:
            verify_clean(m)


@test
def test_a_delete_missed_by_a_replica_is_repaired_collected_and_never_comes_back(ctx):
    extra = AAE + ["--hint-ttl=1s", "--tombstone-grace=0s"]
    with Cluster(ctx, 3, extra) as c:
        c.start_all()
        ring_ready(c)
        keys = ["gone-%d" % i for i in range(10)]
        for k in keys:
            put_ok(c.nodes[0], k, "alive")
        put_ok(c.nodes[0], "stays", "here")
        victim = c.nodes[2]
        kill_and_wait_dead(c, victim)
        for k in keys:
            r = c.nodes[0].request("DELETE", "/api/v1/data/" + k)
            check(r.status == 200, "DELETE %s: %d %s" % (k, r.status, r.body[:200]))
        time.sleep(1.5)  # past --hint-ttl: a hint of the delete may be gone; anti-entropy must carry it
        victim.start(seed=c.nodes[0])
        c.converged()
        # every replica ends without the keys - and without their tombstones, once collected
        def collected():
            reaped = sum(anti_entropy(m)["tombstones_reaped"] for m in c.nodes)
            trees = [m.get_json("/api/v1/merkle-tree")["keys"] for m in c.nodes]
            return reaped >= len(keys) and trees == [1, 1, 1] and (reaped, trees)
        wait_for("tombstones collected on every replica", collected, BOUND)
        for _ in range(4):  # several more exchange rounds: nothing comes back
            for m in c.nodes:
                for k in keys:
                    eq(local_values(m, k), [], "%s on %s after collection" % (k, m.id))
                eq(local_values(m, "stays"), ["here"], "the key not deleted on " + m.id)
            time.sleep(1)
        for m in c.nodes:
            eq(m.get_json("/api/v1/merkle-tree")["keys"], 1, "records left on " + m.id)
            verify_clean(m)


@test
def test_kill_9_during_exchanges_and_writes_leaves_a_tree_that_verifies_clean(ctx):
    with Cluster(ctx, 3, AAE) as c:
        victim, expected = writes_missed_by_the_third(c, 300, "crash")
        stop = threading.Event()
        errors = []

        def load():
            i = 0
            while not stop.is_set():
                try:
                    c.nodes[1].put("busy-%d" % (i % 50), "b%d" % i, "w=1", timeout=3)
                except OSError as e:
                    errors.append(e)
                i += 1

        t = threading.Thread(target=load)
        t.start()
        try:
            # the victim is being repaired (merging) and written to: kill it mid-way, twice
            for _ in range(2):
                wait_for("repairs under way", lambda: anti_entropy(victim)["exchanges"] + sum(
                    anti_entropy(m)["keys_pushed"] for m in c.nodes[:2]) > 0, 20)
                time.sleep(0.3)
                victim.kill()
                victim.start(seed=c.nodes[0])
                verify_clean(victim)
        finally:
            stop.set()
            t.join()
        wait_for("the victim converges after the crashes", lambda: not missing(victim, expected), BOUND)
        for m in c.nodes:
            verify_clean(m)


@test
def test_a_peer_that_vanishes_mid_exchange_costs_a_retry_and_nothing_else(ctx):
    # 20 keys/s on each of the three nodes: the 600 keys take about 10 s, so
    # the freeze lands in the middle of the repair however slow the build
    with Cluster(ctx, 3, AAE + ["--repair-rate=20", "--request-timeout=2s"]) as c:
        victim, expected = writes_missed_by_the_third(c, 600, "slow")
        wait_for("repair under way", lambda: any(anti_entropy(m).get("current", {}).get("keys_differing", 0)
                                                 for m in c.nodes[:2]), 20)
        victim.signal(signal.SIGSTOP)
        time.sleep(4)  # past --request-timeout: the repairs in flight fail, the exchange stops
        for m in c.nodes[:2]:
            eq(m.request("GET", "/health").status, 200, m.id + " healthy while its peer is frozen")
            eq(put_ok(m, "during-freeze-" + m.id, "f", "w=1")["replication_result"]["quorum_achieved"], True,
               "writes go on while a peer is frozen mid-exchange")
        victim.signal(signal.SIGCONT)
        wait_for("the frozen replica converges after it resumes", lambda: not missing(victim, expected), BOUND)
        failed = sum(anti_entropy(m)["exchanges_failed"] for m in c.nodes[:2])
        check(failed >= 1, "an exchange stopped when its peer froze (and a later one finished the repair)")
        for m in c.nodes:
            verify_clean(m)


if __name__ == "__main__":
    sys.exit(main())
