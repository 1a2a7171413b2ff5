#!/usr/bin/env python3
"""repair.py - what anti-entropy costs and how fast it repairs (loopback only).

usage: bench/repair.py [--bin build/chorusd] [--keys 100000] [--value-size 1024]
                       [--fractions 0.001,0.1] [--seconds 10] [--skip-one]

Starts 3 chorusd processes on 127.0.0.1 (N = 3, --fsync=never, hints kept
for one key only so a replica that misses writes is refilled by
anti-entropy, exchanges every 5 s) and fills them with KEYS keys of
VALUE_SIZE bytes through node 1 (wrk, bench/load.lua). Then:
  1. in sync: the bytes of the exchanges once every tree has one root;
     client GET latency on node 1 (wrk, SECONDS) as the steady value;
  2. one differing key (unless --skip-one): node 3 killed (kill -9) until
     node 1 sees it dead, one key updated at W=1, node 3 restarted; time
     until every root agrees, and the bytes of the exchanges that found
     and repaired it;
  3. for each fraction f: node 3 killed, f x KEYS keys updated at W=1 (node
     3 keeps their older versions), node 3 restarted; time until every
     root agrees, keys repaired, the bytes anti-entropy sent (its own
     payload count, and every peer byte on the wire from /metrics, less
     the idle rate), against the bytes of the differing records; then the
     largest fraction once more, node 3 cut off by SIGSTOP instead (its
     caches stay warm: a restart's cold reads are not the repair's cost),
     under a GET load on node 1: the client's latency during the repair;
  4. the time to verify node 1's tree against its records, the tree's
     memory, and the data dirs' size.
Prints one line per measure and a JSON summary. Every process is stopped
by its PID; the data dirs live under a temporary directory that is removed.
"""

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
sys.path.insert(0, os.path.join(ROOT, "tests", "http"))
sys.path.insert(0, os.path.join(ROOT, "tests", "cluster"))

from cluster import Member, wait_for  # noqa: E402  (one chorusd process, stopped by its PID)

FLAGS = ["--probe-interval=200ms", "--probe-timeout=100ms", "--gossip-interval=50ms", "--suspicion-mult=3",
         "--fsync=never", "--max-hints=0", "--anti-entropy-interval=5s", "--log-level=warn"]


class Ctx:
    class runner:
        binary = None


def metric(node, name):
    for line in node.request("GET", "/metrics").body.decode().splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    return 0.0


def wire_bytes(nodes):
    return sum(metric(m, "chorus_peer_bytes_out_total") for m in nodes)


def aae(node):
    return node.get_json("/api/v1/status")["anti_entropy"]


def roots(nodes):
    return [m.get_json("/api/v1/merkle-tree")["root"] for m in nodes]


def in_sync(nodes, keys=None):
    r = roots(nodes)
    if len(set(r)) != 1:
        return False
    return keys is None or all(m.get_json("/api/v1/merkle-tree")["keys"] == keys for m in nodes)


def wrk(script, port, seconds, env, threads=2, conns=32):
    e = dict(os.environ, THREADS=str(threads), **env)
    out = subprocess.run(["wrk", "-t%d" % threads, "-c%d" % conns, "-d%ds" % seconds, "--latency", "-s",
                          os.path.join(ROOT, "bench", script), "http://127.0.0.1:%d" % port],
                         capture_output=True, text=True, env=e, check=True).stdout
    line = [x for x in out.splitlines() if x.startswith("RESULT")][0]
    r = {k: float(v) for k, v in (kv.split("=") for kv in line.split()[1:])}
    r["requests"] = r["rps"] * seconds
    for x in out.splitlines():
        if x.startswith("NEXT="):
            r["NEXT"] = int(x[5:])
    return r


def load(node, keys, value_size, tag, query=""):
    """PUTs key-0..keys-1 once each (in rounds of wrk, see bench/load.lua).
    Requests still in flight when a round ends may not have been applied:
    each round starts a window of connections before where the last one
    got to, and a last round writes the last window again."""
    t0, start, written, last = time.time(), 0, 0, False
    while True:
        r = wrk("load.lua", node.port, 5 if keys - start > 20000 else 2,
                {"KEYS": str(keys), "START": str(start), "VALUE_SIZE": str(value_size), "TAG": tag, "QUERY": query})
        check_ok(r)
        written += r["requests"]
        if r["NEXT"] >= keys:
            if last:
                break
            last, start = True, max(0, keys - 64)
        else:
            start = max(start + 1, int(r["NEXT"]) - 64)
    took = time.time() - t0
    return took, {"rps": written / took}


def check_ok(r):
    if r.get("non2xx") or r.get("errors"):
        raise RuntimeError("wrk saw failures: %r" % r)


def get_latency(node, keys, seconds):
    return wrk("wrk.lua", node.port, seconds, {"OP": "get", "KEYS": str(keys), "KEY_PREFIX": "key-"}, conns=16)


def cut_off(nodes, victim, frozen):
    """kill -9 (frozen False: a clean cut, its restart starts with cold
    caches) or SIGSTOP (frozen True: caches warm when it resumes, for the
    latency round; the few replica writes left in its socket buffers apply
    on resume), until node 1 sees it dead."""
    if frozen:
        victim.signal(signal.SIGSTOP)
    else:
        victim.kill()
    wait_for("%s dead" % victim.id, lambda: nodes[0].members().get(victim.id, ("", 0))[0] == "dead", 30)


def repair_round(nodes, keys, changed, value_size, tag, measure_latency, seconds):
    """node 3 misses `changed` updates while cut off; returns what its repair took."""
    victim = nodes[2]
    before = {m.id: aae(m) for m in nodes[:2]}
    cut_off(nodes, victim, measure_latency)
    load_s, _ = load(nodes[0], changed, value_size, tag, "?w=1")
    time.sleep(6)  # one exchange interval: then the idle rate of the survivors' traffic
    idle0, t_idle = wire_bytes(nodes[:2]), time.time()
    time.sleep(5)
    idle_rate = (wire_bytes(nodes[:2]) - idle0) / (time.time() - t_idle)
    w0 = wire_bytes(nodes[:2])
    if measure_latency:
        victim.signal(signal.SIGCONT)
    else:
        victim.start(seed=nodes[0])  # its counters start from 0
    t0 = time.time()
    lat = get_latency(nodes[0], keys, seconds) if measure_latency else None
    wait_for("replicas agree", lambda: in_sync(nodes, keys), 3600)
    took = time.time() - t0
    after = {m.id: aae(m) for m in nodes[:2]}
    vic = aae(victim)
    # every peer byte since the victim came back, less the survivors' idle traffic
    wire = wire_bytes(nodes[:2]) - w0 - idle_rate * took
    if not measure_latency:
        wire += metric(victim, "chorus_peer_bytes_out_total")
    # each exchange's traffic, both ways, as its initiator counts it
    payload = sum(after[i]["bytes_sent"] + after[i]["bytes_received"] - before[i]["bytes_sent"] -
                  before[i]["bytes_received"] for i in before)
    repaired = sum(after[i]["keys_repaired"] - before[i]["keys_repaired"] for i in before)
    if not measure_latency:
        payload += vic["bytes_sent"] + vic["bytes_received"]
        repaired += vic["keys_repaired"]
    return {"changed": changed, "load_s": round(load_s, 1), "repair_s": round(took, 1),
            "keys_repaired": repaired, "keys_per_hour_per_node": round(changed / took * 3600 / 2),
            "aae_payload_bytes": int(payload), "wire_bytes": int(wire), "latency_during": lat}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", default=os.path.join(ROOT, "build", "chorusd"))
    ap.add_argument("--keys", type=int, default=100000)
    ap.add_argument("--value-size", type=int, default=1024)
    ap.add_argument("--fractions", default="0.001,0.1")
    ap.add_argument("--seconds", type=int, default=10)
    ap.add_argument("--skip-one", action="store_true")
    a = ap.parse_args()
    Ctx.runner.binary = a.bin
    tmp = tempfile.mkdtemp(prefix="chorus-repair-bench-")
    nodes = [Member(a.bin, tmp, i + 1, FLAGS) for i in range(3)]
    out = {"keys": a.keys, "value_size": a.value_size}
    # a record on the wire: the value, its dot, context, timestamp and framing
    record = a.value_size + 64
    try:
        nodes[0].start()
        for m in nodes[1:]:
            m.start(seed=nodes[0])
        wait_for("all alive", lambda: all(all(s == "alive" for s, _ in m.members().values()) and
                                          len(m.members()) == 3 for m in nodes), 30)
        load_s, r = load(nodes[0], a.keys, a.value_size, "a")
        print("# loaded %d keys in %.0f s (%.0f/s)" % (a.keys, load_s, r["rps"]), flush=True)
        wait_for("filled replicas agree", lambda: in_sync(nodes, a.keys), 600)
        time.sleep(12)  # two exchange rounds in sync
        sync = [x for m in nodes for x in aae(m)["last_exchange"].values() if x["in_sync"]]
        out["in_sync_exchange_bytes_max"] = max(x["bytes_sent"] + x["bytes_received"] for x in sync)
        out["steady_get"] = get_latency(nodes[0], a.keys, a.seconds)
        print("# in sync: an exchange costs %d bytes at most; GET p99 %.2f ms" %
              (out["in_sync_exchange_bytes_max"], out["steady_get"]["p99_ms"]), flush=True)
        if not a.skip_one:
            one = repair_round(nodes, a.keys, 1, a.value_size, "b", False, a.seconds)
            out["one_key"] = one
            print("# one differing key: repaired in %.1f s, exchange payload %d bytes, wire %d bytes" %
                  (one["repair_s"], one["aae_payload_bytes"], one["wire_bytes"]), flush=True)
        fractions = [float(f) for f in a.fractions.split(",")]
        out["rounds"] = []
        # the last round again under a client load: its latency (the load's own peer traffic spoils the bytes)
        for i, f in enumerate(fractions + [max(fractions)]):
            changed = max(1, int(a.keys * f))
            r = repair_round(nodes, a.keys, changed, a.value_size, "c%d" % i, i == len(fractions), a.seconds)
            r["fraction"] = f
            r["record_bytes"] = changed * record
            r["ratio_payload"] = round(r["aae_payload_bytes"] / r["record_bytes"], 2)
            r["ratio_wire"] = round(r["wire_bytes"] / r["record_bytes"], 2)
            out["rounds"].append(r)
            if r["latency_during"]:
                print("# %.1f%% differing again, under a GET load on node 1: repaired in %.1f s; GET p99 during the "
                      "repair %.2f ms (steady %.2f ms)" % (f * 100, r["repair_s"], r["latency_during"]["p99_ms"],
                                                          out["steady_get"]["p99_ms"]), flush=True)
                continue
            print("# %.1f%% differing (%d keys): repaired in %.1f s (%d keys/h per node), payload %.2fx and "
                  "wire %.2fx the differing records" %
                  (f * 100, changed, r["repair_s"], r["keys_per_hour_per_node"], r["ratio_payload"],
                   r["ratio_wire"]), flush=True)
        v = nodes[0].get_json("/api/v1/merkle-tree/verify")
        t = nodes[0].get_json("/api/v1/merkle-tree")
        out["verify"] = {"clean": v["clean"], "records": v["records"], "elapsed_ms": v["elapsed_ms"]}
        out["tree_memory_bytes"] = t["memory_bytes"]
        out["data_dir_bytes"] = sum(os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk(nodes[0].data)
                                    for f in fs)
        print("# verify of %d records: %d ms, clean %s; tree memory %d bytes" %
              (v["records"], v["elapsed_ms"], v["clean"], t["memory_bytes"]), flush=True)
        print(json.dumps(out, indent=1))
    finally:
        for m in nodes:
            if m.proc and m.proc.poll() is None:
                m.proc.send_signal(signal.SIGTERM)
                try:
                    m.proc.wait(30)
                except subprocess.TimeoutExpired:
                    m.proc.kill()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
