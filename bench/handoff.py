#!/usr/bin/env python3
"""handoff.py - what moving ownership costs and how fast it goes (loopback only).

usage: bench/handoff.py [--bin build/chorusd] [--keys 1000000] [--value-size 1024]
                        [--rate 400] [--stream-keys 300000] [--skip-stream] [--skip-leave]

Three measures, each with its own chorusd processes on 127.0.0.1 (N = 3,
--fsync=never, 1 KiB values):
  1. one stream: a node holding STREAM_KEYS keys and a second joining it;
     with N = 3 the joiner owns everything, so it pulls every record in one
     stream from the first: MB/s and keys/s of that stream (--transfer-rate
     high enough not to limit it);
  2. scaling 3 -> 5: KEYS keys written to 3 nodes, then a steady write load
     (RATE PUTs a second, Python clients, each write's latency kept) runs
     while 2 nodes join at once; the time until the cluster is balanced
     (both joiners own their ranges and every node holds exactly the keys
     the ring gives it), the bytes streamed, client p50/p99 before and
     during the move;
  3. a leave of 1 of the 5 nodes: the time until it has handed everything
     off and exited, and the bytes it sent.
After 2 and 3 every node's key count is compared with what the ring (the
same SHA-256 tokens as src/ring/ring.c, computed here) gives it, 2,000
sampled keys are read on every node with ?local=true (on exactly their N
owners, on no one else), and every write the load had acknowledged is
read on each of its owners (0 lost). Prints one line per measure and a
JSON summary. Every process is stopped by its PID; the data dirs live in a
temporary directory that is removed.
"""

import argparse
import bisect
import hashlib
import json
import os
import random
import shutil
import struct
import sys
import tempfile
import threading
import time

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
sys.path.insert(0, os.path.join(ROOT, "tests", "http"))
sys.path.insert(0, os.path.join(ROOT, "tests", "cluster"))
sys.path.insert(0, os.path.join(ROOT, "bench"))

from cluster import Member, wait_for  # noqa: E402
from repair import Ctx, load  # noqa: E402

FLAGS = ["--probe-interval=200ms", "--probe-timeout=100ms", "--gossip-interval=50ms", "--suspicion-mult=3",
         "--fsync=never", "--log-level=warn"]
N = 3
VNODES = 150


class Ring:
    """The ring of src/ring/ring.c: 150 tokens per member, each the first 8
    bytes (big-endian) of SHA-256(u8 len(id) || id || u32be j); a key's token
    the first 8 bytes of SHA-256(key)."""

    def __init__(self, ids):
        vn = []
        for m in ids:
            b = m.encode()
            for j in range(VNODES):
                t = struct.unpack(">Q", hashlib.sha256(bytes([len(b)]) + b + struct.pack(">I", j)).digest()[:8])[0]
                vn.append((t, m))
        vn.sort()
        self.tokens = [t for t, _ in vn]
        self.members = [m for _, m in vn]
        self.n = min(N, len(set(ids)))

    def owners(self, key):
        t = struct.unpack(">Q", hashlib.sha256(key.encode()).digest()[:8])[0]
        i = bisect.bisect_left(self.tokens, t) % len(self.tokens)
        out = []
        while len(out) < self.n:
            m = self.members[i]
            if m not in out:
                out.append(m)
            i = (i + 1) % len(self.tokens)
        return out


def transfers(node):
    return node.get_json("/api/v1/transfers")


def live_keys(node):
    return node.get_json("/api/v1/status")["storage"]["keys"]


def expected_counts(ring, keys):
    counts = {}
    for k in keys:
        for m in ring.owners(k):
            counts[m] = counts.get(m, 0) + 1
    return counts


def local_values(node, key):
    r = node.get(key, "local=true")
    if r.status == 404:
        return None
    return [s["value"] for s in json.loads(r.body).get("siblings", []) if not s.get("deleted")]


def placement(nodes, ring, keys, acked, samples=2000):
    """(balanced, problems): every node holds exactly the ring's count, sampled
    keys sit on exactly their owners, every acknowledged write is on each of
    its owners."""
    want = expected_counts(ring, keys)
    have = {m.id: live_keys(m) for m in nodes}
    problems = ["%s holds %d keys, the ring gives it %d" % (m, have[m], want.get(m, 0))
                for m in sorted(have) if have[m] != want.get(m, 0)]
    if problems:
        return False, problems
    rnd = random.Random(7)
    by_id = {m.id: m for m in nodes}
    for k in rnd.sample(keys, min(samples, len(keys))):
        own = set(ring.owners(k))
        for m in nodes:
            held = local_values(m, k) is not None
            if held != (m.id in own):
                problems.append("%s %s on %s" % (k, "missing" if m.id in own else "left behind", m.id))
    for k, v in acked.items():
        for o in ring.owners(k):
            vals = local_values(by_id[o], k)
            if vals is None or v not in vals:
                problems.append("acknowledged %s=%s missing on owner %s (holds %r)" % (k, v, o, vals))
    return not problems, problems


class Writer:
    """RATE PUTs a second over a pool of keys (not the loaded ones), through
    the nodes given, from 8 threads, each on its own keys (so the latest
    acknowledged value of a key is well defined: a PUT without a context
    supersedes what its coordinator holds); each write's latency and the
    latest acknowledged value per key are kept."""

    def __init__(self, nodes, rate, pool=5000, threads=8):
        self.nodes, self.rate, self.pool, self.threads = list(nodes), rate, pool, threads
        self.lat = []  # (t, seconds)
        self.acked, self.failed = {}, 0
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.ts = []

    def start(self):
        for i in range(self.threads):
            t = threading.Thread(target=self.run, args=(i,), daemon=True)
            t.start()
            self.ts.append(t)
        return self

    def run(self, i):
        rnd = random.Random(i)
        period = self.threads / self.rate
        nxt = time.time()
        seq = 0
        while not self.stop.is_set():
            nxt += period
            key = "w%d-%d" % (i, rnd.randrange(self.pool // self.threads))
            seq += 1
            value = "t%d-%d" % (i, seq)
            t0 = time.time()
            try:
                r = rnd.choice(self.nodes).put(key, value, timeout=10)
                ok = r.status == 200
            except OSError:
                ok = False
            dt = time.time() - t0
            with self.lock:
                self.lat.append((t0, dt))
                if ok:
                    self.acked[key] = value
                else:
                    self.failed += 1
            delay = nxt - time.time()
            if delay > 0:
                time.sleep(delay)
            else:
                nxt = time.time()  # behind: no burst to catch up (the latency shows it)

    def between(self, a, b):
        with self.lock:
            xs = sorted(d for t, d in self.lat if a <= t < b)
        if not xs:
            return {"n": 0}
        return {"n": len(xs), "p50_ms": 1000 * xs[len(xs) // 2], "p99_ms": 1000 * xs[int(len(xs) * 0.99)]}

    def finish(self):
        self.stop.set()
        for t in self.ts:
            t.join()


def start(binary, tmp, idx, extra=(), seed=None):
    m = Member(binary, tmp, idx, FLAGS + list(extra))
    m.start(seed=seed)
    return m


def phase_all(nodes, want):
    return all(all(v == ("alive", want) for k, v in m.members(phases=True).items() if k in {x.id for x in nodes})
               for m in nodes)


def one_stream(binary, tmp, keys, value_size):
    a = start(binary, tmp, 10, ["--transfer-rate=10000"])
    try:
        load(a, keys, value_size, "s")
        b = start(binary, tmp, 11, ["--transfer-rate=10000"], seed=a)
        t0 = time.time()
        wait_for("the joiner owns its ranges", lambda: transfers(b)["phase"] == "normal", 600)
        took = time.time() - t0
        t = transfers(b)
        s = t["streams"]
        secs = max(1e-3, (max(x["finished_at_ms"] for x in s) - min(x["started_at_ms"] for x in s)) / 1000)
        out = {"keys": t["totals"]["keys_received"], "bytes": t["totals"]["bytes_received"], "stream_s": secs,
               "join_s": took, "streams": len(s)}
        out["mb_per_s"] = out["bytes"] / secs / 1e6
        out["keys_per_s"] = out["keys"] / secs
        b.stop()
        return out
    finally:
        a.stop()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", default=os.path.join(ROOT, "build", "chorusd"))
    ap.add_argument("--keys", type=int, default=1000000)
    ap.add_argument("--value-size", type=int, default=1024)
    ap.add_argument("--rate", type=int, default=400)
    ap.add_argument("--stream-keys", type=int, default=300000)
    ap.add_argument("--skip-stream", action="store_true")
    ap.add_argument("--skip-leave", action="store_true")
    a = ap.parse_args()
    Ctx.runner.binary = a.bin
    tmp = tempfile.mkdtemp(prefix="chorus-handoff-")
    summary = {"keys": a.keys, "value_size": a.value_size}
    nodes, procs = [], []
    try:
        if not a.skip_stream:
            s = one_stream(a.bin, tmp, a.stream_keys, a.value_size)
            print("one stream: %d keys, %.1f MB in %.2f s: %.1f MB/s, %.0f keys/s (join took %.2f s)" %
                  (s["keys"], s["bytes"] / 1e6, s["stream_s"], s["mb_per_s"], s["keys_per_s"], s["join_s"]),
                  flush=True)
            summary["one_stream"] = s

        # 2. 3 -> 5 under a write load
        nodes = [start(a.bin, tmp, 0)]
        nodes += [start(a.bin, tmp, i, seed=nodes[0]) for i in (1, 2)]
        procs += nodes
        wait_for("3 owners", lambda: phase_all(nodes, "normal"), 30)
        took, r = load(nodes[0], a.keys, a.value_size, "v")
        print("loaded %d keys in %.0f s (%.0f PUT/s)" % (a.keys, took, r["rps"]), flush=True)
        keys = ["key-%d" % i for i in range(a.keys)]
        w = Writer(nodes, a.rate).start()
        t_steady = time.time()
        time.sleep(15)
        t_join = time.time()
        joiners = [start(a.bin, tmp, i, seed=nodes[0]) for i in (3, 4)]
        procs += joiners
        everyone = nodes + joiners
        ring5 = Ring([m.id for m in everyone])
        wait_for("both joiners own their ranges", lambda: phase_all(everyone, "normal"), 1800)
        t_owned = time.time()
        want = expected_counts(ring5, keys)

        def counts_right():
            return all(live_keys(m) >= want[m.id] and live_keys(m) <= want[m.id] + len(w.acked) for m in everyone)
        wait_for("the old owners dropped what they gave up", counts_right, 1800)
        t_balanced = time.time()
        time.sleep(2)
        w.finish()
        steady, during = w.between(t_steady, t_join), w.between(t_join, t_balanced)
        streaming, handing = w.between(t_join, t_owned), w.between(t_owned, t_balanced)
        streamed = [transfers(m)["totals"] for m in everyone]
        summary["scale"] = {
            "joined_s": t_owned - t_join, "balanced_s": t_balanced - t_join,
            "keys_streamed": sum(transfers(j)["totals"]["keys_received"] for j in joiners),
            "bytes_streamed": sum(transfers(j)["totals"]["bytes_received"] for j in joiners),
            "steady": steady, "during": during, "streaming": streaming, "handing_off": handing,
            "writes_acked": len(w.acked), "writes_failed": w.failed,
            "p99_ratio": during.get("p99_ms", 0) / max(1e-9, steady.get("p99_ms", 1e-9)),
            "handed_off": sum(x["keys_sent"] for x in streamed),
        }
        s = summary["scale"]
        print("3 -> 5: joiners owners after %.1f s, balanced after %.1f s; %d keys (%.1f MB) streamed; "
              "PUT p50/p99 %.1f/%.1f ms steady, %.1f/%.1f ms during (%.2fx: %.1f ms while streaming, %.1f ms "
              "while handing off); %d writes acknowledged, %d failed" %
              (s["joined_s"], s["balanced_s"], s["keys_streamed"], s["bytes_streamed"] / 1e6, steady["p50_ms"],
               steady["p99_ms"], during["p50_ms"], during["p99_ms"], s["p99_ratio"], streaming.get("p99_ms", 0),
               handing.get("p99_ms", 0), s["writes_acked"], s["writes_failed"]), flush=True)
        ok, problems = placement(everyone, ring5, keys + sorted(w.acked), w.acked)
        s["placement_ok"], s["problems"] = ok, problems[:10]
        print("placement after 3 -> 5: %s %s" % ("exact, nothing lost" if ok else "WRONG", "; ".join(problems[:5])),
              flush=True)

        # 3. a leave of 1 of 5
        if not a.skip_leave:
            leaver, rest = everyone[4], everyone[:4]
            t0 = time.time()
            r = leaver.request("POST", "/gossip/leave", "")
            if r.status != 202:
                raise RuntimeError("leave refused: %s" % r.body)
            last = {}

            def gone():
                nonlocal last
                if leaver.proc.poll() is not None:
                    return True
                try:
                    last = transfers(leaver)
                except (OSError, Exception):
                    pass
                return False
            wait_for("the leaver exits", gone, 1800)
            took = time.time() - t0
            ring4 = Ring([m.id for m in rest])
            ok, problems = placement(rest, ring4, keys + sorted(w.acked), w.acked)
            summary["leave"] = {"s": took, "exit_code": leaver.proc.returncode,
                                "keys_sent": last.get("handoff", {}).get("keys_sent"),
                                "bytes_sent": last.get("handoff", {}).get("bytes_sent"),
                                "placement_ok": ok, "problems": problems[:10]}
            L = summary["leave"]
            print("leave of 1 of 5: exited (code %s) after %.1f s; sent %s keys, %.1f MB; placement %s %s" %
                  (L["exit_code"], took, L["keys_sent"], (L["bytes_sent"] or 0) / 1e6,
                   "exact, nothing lost" if ok else "WRONG", "; ".join(problems[:5])), flush=True)
            everyone = rest
        print(json.dumps(summary))
    finally:
        for m in procs:
            try:
                m.stop()
            except Exception:
                pass
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
