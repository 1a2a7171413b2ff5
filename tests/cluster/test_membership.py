#!/usr/bin/env python3
"""Membership with real chorusd processes on loopback (SWIM over UDP/TCP).

    python3 tests/cluster/test_membership.py --bin build/chorusd [-k substring]

Each test starts its own nodes (fast protocol timings from the flags, never
from special builds), drives faults with signals, and asserts on what every
node reports at /gossip/members. Every process is stopped by its PID.
Ends with "N passed, N failed".
"""

import json
import os
import shutil
import signal
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "http"))

from harness import TestFailure, check, eq, http_request, main, test  # noqa: E402

from cluster import FAST, Cluster  # noqa: E402


def status_of(target):
    return lambda v: v.get(target.id, ("absent", 0))[0]


@test
def test_five_nodes_converge(ctx):
    with Cluster(ctx, 5) as c:
        c.start_all()
        c.converged(timeout=20)


@test
def test_a_host_name_given_to_advertise_is_resolved_and_replication_reaches_it(ctx):
    with Cluster(ctx, 3, FAST + ["--advertise=localhost"]) as c:
        c.start_all().converged()
        members = json.loads(c.nodes[0].request("GET", "/gossip/members").body)["cluster_members"]
        eq(sorted(m["address"].rsplit(":", 1)[0] for m in members.values()), ["127.0.0.1"] * 3, "advertised hosts")
        r = c.nodes[0].put("advertised", "by name", query="w=3")
        eq(r.status, 200, "a write every replica acknowledges: %s" % r.body[:300])
        eq(len(json.loads(r.body)["replication_result"]["successful_nodes"]), 3, "replicas that acknowledged")
        check("advertising 127.0.0.1 (--advertise localhost" in open(c.nodes[1].log, "rb").read().decode(),
              "the log says what the name resolved to")


@test
def test_kill_9_is_suspected_then_dead_everywhere_and_rejoins_with_higher_incarnation(ctx):
    with Cluster(ctx, 5) as c:
        c.start_all().converged()
        victim, others = c.nodes[3], [m for m in c.nodes if m is not c.nodes[3]]
        inc_before = others[0].members()[victim.id][1]
        victim.kill()
        t0 = time.time()
        c.wait("victim dead", lambda v: status_of(victim)(v) == "dead", 15, others)
        took = time.time() - t0
        # bound: probe interval + max suspicion timeout (6 x 3 x log10(5 + 1) x 0.2 s) + dissemination slack
        check(took < 0.2 + 6 * 3 * 0.778 * 0.2 + 3.0, "dead everywhere after %.1f s" % took)
        victim.start(seed=c.nodes[0])
        c.converged()
        inc_after = others[0].members()[victim.id][1]
        check(inc_after > inc_before, "incarnation %d after restart, %d before" % (inc_after, inc_before))


@test
def test_sigstop_for_3_s_is_never_declared_dead(ctx):
    with Cluster(ctx, 5, extra=["--probe-interval=1s", "--gossip-interval=200ms", "--push-pull-interval=5s"]) as c:
        c.start_all().converged(timeout=30)
        victim, others = c.nodes[2], [m for m in c.nodes if m is not c.nodes[2]]
        victim.signal(signal.SIGSTOP)
        deadline = time.time() + 3
        seen_dead = set()
        while time.time() < deadline:
            for m in others:
                if status_of(victim)(m.members()) == "dead":
                    seen_dead.add(m.id)
            time.sleep(0.1)
        victim.signal(signal.SIGCONT)
        end = time.time() + 8
        while time.time() < end:
            for m in others:
                if status_of(victim)(m.members()) == "dead":
                    seen_dead.add(m.id)
            time.sleep(0.1)
        check(not seen_dead, "paused node declared dead by %s" % sorted(seen_dead))
        c.converged(timeout=10)


@test
def test_sigterm_is_dead_everywhere_within_a_second_and_alive_after_restart(ctx):
    with Cluster(ctx, 5) as c:
        c.start_all().converged()
        victim, others = c.nodes[1], [m for m in c.nodes if m is not c.nodes[1]]
        t0 = time.time()
        eq(victim.stop(), 0, "exit code on SIGTERM")
        c.wait("victim dead after SIGTERM", lambda v: status_of(victim)(v) == "dead", 1.0, others)
        check(time.time() - t0 < 1.5, "took %.2f s" % (time.time() - t0))
        victim.start(seed=c.nodes[0])
        c.converged()


@test
def test_leave_is_left_everywhere(ctx):
    with Cluster(ctx, 4) as c:
        c.start_all().converged()
        leaver, others = c.nodes[2], [m for m in c.nodes if m is not c.nodes[2]]
        r = http_request(leaver.port, "POST", "/gossip/leave", body="")
        eq(r.status, 202, "POST /gossip/leave")
        c.wait("left everywhere", lambda v: status_of(leaver)(v) == "left", 10, others)
        time.sleep(1.5)  # a left node is not probed, so it can never turn dead
        for m in others:
            eq(status_of(leaver)(m.members()), "left", "status of the leaver at " + m.id)


@test
def test_a_node_that_left_rejoins_under_its_id_with_an_empty_data_dir(ctx):
    """Its new incarnation is below that of its departure: the seed hands it
    the table, it refutes above it and is a member again (found by the chaos
    suite's churn: before, it waited for a seed forever)."""
    with Cluster(ctx, 4) as c:
        c.start_all().converged()
        leaver, others = c.nodes[3], c.nodes[:3]
        eq(http_request(leaver.port, "POST", "/gossip/leave", body="").status, 202, "POST /gossip/leave")
        c.wait("left everywhere", lambda v: status_of(leaver)(v) == "left", 15, others)
        eq(leaver.proc.wait(30), 0, "exit code of the leaver")
        shutil.rmtree(leaver.data)
        leaver.start(seed=c.nodes[1])
        c.converged(timeout=20)
        eq(sorted(x["node_id"] for x in others[0].get_json("/api/v1/ring")["members"]), ["n0", "n1", "n2", "n3"],
           "ring members after the rejoin")


@test
def test_operator_removes_a_dead_member(ctx):
    with Cluster(ctx, 3) as c:
        c.start_all().converged()
        victim, others = c.nodes[2], c.nodes[:2]
        r = http_request(others[0].port, "POST", "/gossip/remove", body=json.dumps({"node_id": victim.id}))
        eq(r.status, 409, "removing a live member")
        victim.kill()
        c.wait("victim dead", lambda v: status_of(victim)(v) == "dead", 15, others)
        r = http_request(others[0].port, "POST", "/gossip/remove", body=json.dumps({"node_id": victim.id}))
        eq(r.status, 202, "removing a dead member")
        # the removal spreads: the victim is left (off the ring) everywhere, not only where it was asked
        c.wait("victim left everywhere", lambda v: status_of(victim)(v) == "left", 5, others)
        for m in others:
            on_ring = [x["node_id"] for x in m.get_json("/api/v1/ring")["members"]]
            check(victim.id not in on_ring, "%s still on the ring of %s: %s" % (victim.id, m.id, on_ring))


@test
def test_wrong_cluster_key_never_joins_and_does_not_disturb(ctx):
    key = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="
    other = "ZmVkY2JhOTg3NjU0MzIxMGZlZGNiYTk4NzY1NDMyMTA="
    with Cluster(ctx, 4, extra=FAST + ["--cluster-key=" + key]) as c:
        for m in c.nodes[:3]:
            m.start(seed=c.nodes[0] if m is not c.nodes[0] else None)
        c.converged(ids=[m.id for m in c.nodes[:3]])
        intruder = c.nodes[3]
        intruder.extra = FAST + ["--cluster-key=" + other]
        intruder.start(seed=c.nodes[0])
        time.sleep(3)
        for m in c.nodes[:3]:
            v = m.members()
            check(intruder.id not in v, "%s lets the intruder in: %s" % (m.id, v))
            eq(sorted(s for s, _ in v.values()), ["alive"] * 3, "view of " + m.id)
        check(set(intruder.members()) == {intruder.id}, "the intruder sees %s" % intruder.members())
        r = http_request(c.nodes[0].port, "GET", "/metrics")
        dropped = [l for l in r.body.decode().splitlines() if l.startswith("chorus_gossip_dropped_auth_total ")]
        check(dropped and int(dropped[0].split()[1]) > 0, "no dropped_auth counted: %s" % dropped)


def metric(m, name):
    body = http_request(m.port, "GET", "/metrics").body.decode()
    for line in body.splitlines():
        if line.startswith(name + " "):
            return int(line.split()[1])
    raise TestFailure("no metric %s" % name)


@test
def test_garbage_truncated_and_oversized_packets_are_dropped_and_counted(ctx):
    import random
    import socket
    with Cluster(ctx, 3) as c:
        c.start_all().converged()
        target = c.nodes[0]
        before = metric(target, "chorus_gossip_dropped_malformed_total")
        over_before = metric(target, "chorus_gossip_dropped_oversize_total")
        rnd = random.Random(7)
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            payloads = [bytes(rnd.getrandbits(8) for _ in range(rnd.randint(0, 600))) for _ in range(200)]
            payloads += [b"\x01", b"\x01\x97", b"\x01\x97\x01\x00"]  # version byte, then truncated msgpack
            for p in payloads:
                s.sendto(p, ("127.0.0.1", target.port))
                time.sleep(0.003)  # paced: a burst could overflow the socket buffer, lost before counting
            s.sendto(b"\x01" * 3000, ("127.0.0.1", target.port))
        finally:
            s.close()
        # the kernel may still drop a few under load before the node sees them; none may be taken as valid
        deadline = time.time() + 5  # the node reads its socket in its own time: wait for the counts
        while True:
            counted = metric(target, "chorus_gossip_dropped_malformed_total") - before
            oversized = metric(target, "chorus_gossip_dropped_oversize_total") - over_before
            if (counted >= len(payloads) * 0.95 and oversized > 0) or time.time() > deadline:
                break
            time.sleep(0.1)
        check(len(payloads) * 0.95 <= counted <= len(payloads), "malformed packets counted: %d of %d"
              % (counted, len(payloads)))
        check(oversized > 0, "oversized packet not counted")
        eq(http_request(target.port, "GET", "/health").status, 200, "health after garbage")
        c.converged(timeout=5)


if __name__ == "__main__":
    sys.exit(main())
