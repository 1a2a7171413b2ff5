#!/usr/bin/env python3
"""The chaos runner: five real chorusd in network namespaces, clients, a nemesis, then the checker.

    python3 tests/chaos/run.py --bin build/chorusd [--scenario all|kill,pause,...]
        [--runs 1] [--duration 60] [--seed 1] [--out chaos-runs]

One run: start five nodes (N=3, R=W=2) on a private network (net.py), each
on its own tmpfs; start the clients (client.py); let the nemesis break and
heal the cluster for --duration seconds (nemesis.py); stop the clients;
wait for quiescence (every member alive, no hint left, no transfer
running, and a round of anti-entropy on every node that repairs nothing);
read every replica of every key with ?local=true; stop the nodes (each
must exit 0); then the checker (checker.py) gives the verdict and plot.py
draws latency and throughput with the faults shaded.

Each run writes a directory: history.jsonl, nemesis.jsonl, final.json,
verdict.json, latency.svg, run.json and logs/. The runner prints progress
every 10 s, one line per run, a table per scenario at the end and "N
passed, N failed" (runs), appends every run to <out>/summary.jsonl, and
exits 1 if any run was not valid. CHORUS_CHAOS_RUNS, _DURATION,
_SCENARIOS and _OUT give the defaults of --runs, --duration, --scenario
and --out.

Needs root. Everything it creates (namespaces, links, mounts, processes)
is removed when a run ends, whatever happened.
"""

import argparse
import json
import os
import random
import shutil
import sys
import threading
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import checker  # noqa: E402
import plot  # noqa: E402
from client import Workload  # noqa: E402
from nemesis import SCENARIOS, Nemesis  # noqa: E402
from net import Net  # noqa: E402
from node import Node  # noqa: E402

BASE, SPARES = 5, 2
SUBNET = "10.78.%d" % (os.getpid() % 200 + 20)
FLAGS = ["--anti-entropy-interval=5s", "--request-timeout=5s"]
QUIET_TIMEOUT = 240


class Cluster:
    def __init__(self, binary, run_dir, t0):
        self.t0 = t0
        self.net = Net(BASE + SPARES, SUBNET)
        self.base = list(range(BASE))
        self.spares = list(range(BASE, BASE + SPARES))
        os.makedirs(os.path.join(run_dir, "logs"), exist_ok=True)
        self.nodes = [Node(self.net, i, binary, run_dir, FLAGS) for i in range(BASE + SPARES)]

    def now(self):
        return time.monotonic() - self.t0

    def open(self):
        self.net.open()
        for n in self.nodes:
            n.mount()
        return self

    def close(self):
        codes = {}
        for n in self.nodes:
            if n.running():
                codes[n.id] = n.stop()
        for n in self.nodes:
            n.close()
        self.net.close()
        return codes

    def restart(self, i):
        seeds = [self.nodes[j].ip for j in self.base if j != i]
        self.nodes[i].start(seeds)

    def start(self):
        self.nodes[0].start([])
        time.sleep(0.5)
        for i in self.base[1:]:
            self.restart(i)
        if not self.wait(lambda: self.ring_members() == {BASE}, 60):
            raise RuntimeError("the five nodes did not form one ring within 60 s")

    def wait(self, cond, timeout, every=0.5):
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if cond():
                return True
            time.sleep(every)
        return False

    def ring_members(self):
        """The set of ring sizes the base nodes report (one element when they agree)."""
        sizes = set()
        for i in self.base:
            status, doc, _ = self.nodes[i].get("/api/v1/status")
            sizes.add(doc["cluster"]["ring"]["members"] if status == 200 else None)
        return sizes

    def phase(self, i):
        status, doc, _ = self.nodes[i].get("/api/v1/transfers")
        return doc.get("phase") if status == 200 and isinstance(doc, dict) else None

    def wait_phase(self, i, phase, timeout):
        return self.wait(lambda: self.phase(i) == phase, timeout)

    def wait_exit(self, i, timeout):
        n = self.nodes[i]
        if not n.proc:
            return None
        try:
            return n.proc.wait(timeout)
        except Exception:
            return n.stop()

    # ---- quiescence

    def heal_all(self):
        self.net.heal()
        for i in self.base:
            n = self.nodes[i]
            n.free_disk()
            if n.paused:
                n.resume()
            if not n.running():
                self.restart(i)

    def settled(self):
        """Every base node sees the others alive, keeps no hint and moves no range."""
        for i in self.base:
            status, doc, _ = self.nodes[i].get("/api/v1/status")
            if status != 200:
                return False
            cl = doc["cluster"]
            if cl["alive"] != BASE or cl["suspected"] or cl["ring"]["members"] != BASE:
                return False
            if doc["hints"]["total"] or not doc["storage"].get("writable", True):
                return False
            tr = doc.get("transfers") or {}
            if tr.get("phase") != "normal" or tr.get("streams_running"):
                return False
        return True

    def repaired_total(self):
        total = 0
        for i in self.base:
            status, doc, _ = self.nodes[i].get("/api/v1/repair")
            if status != 200:
                return None
            if doc.get("running") or doc.get("queued"):
                return None
            total += doc.get("keys_repaired", 0)
        return total

    def repair_round(self):
        """One exchange of every node with every peer; the keys it repaired (None: not finished)."""
        before = self.repaired_total()
        if before is None:
            return None
        for i in self.base:
            self.nodes[i].post("/api/v1/repair")
        time.sleep(0.5)
        if not self.wait(lambda: self.repaired_total() is not None, 60):
            return None
        return self.repaired_total() - before

    def quiesce(self):
        """Seconds until quiet, or None if it did not come within QUIET_TIMEOUT."""
        start = time.monotonic()
        self.heal_all()
        end = start + QUIET_TIMEOUT
        while time.monotonic() < end:
            if not self.wait(self.settled, max(1, end - time.monotonic())):
                return None
            if self.repair_round() == 0 and self.settled():
                return round(time.monotonic() - start, 1)
        return None

    # ---- the final read

    def final_state(self, keys):
        out = {"keys": {}, "written_keys": sorted(keys)}
        for key in sorted(keys):
            status, doc, err = self.nodes[0].get("/api/v1/ring/lookup/" + key)
            owners = doc.get("preference_list", []) if status == 200 else []
            reps = {}
            for owner in owners:
                node = next(n for n in self.nodes if n.id == owner)
                st, d, e = node.get("/api/v1/data/%s?local=true" % key)
                if st in (200, 404) and isinstance(d, dict):
                    sibs = d.get("siblings") or []
                    reps[owner] = {"status": "ok" if sibs else "missing",
                                   "siblings": [{"node": s["node"], "counter": s["counter"], "value": s["value"],
                                                 "deleted": s["deleted"], "seen": s.get("seen") or {}}
                                                for s in sibs]}
                else:
                    reps[owner] = {"status": "error", "error": "%s %s" % (st, e)}
            out["keys"][key] = {"owners": owners, "replicas": reps}
        return out


def progress(c, work, nemesis, duration, stop, every=10.0):
    """Prints where the run is every `every` seconds until stop is set."""
    while not stop.wait(every):
        k = work.history.counts
        active = nemesis.active or "none"
        print("    %3.0fs/%.0fs  ops ok %d info %d fail %d  fault %s" % (c.now(), duration, k["ok"], k["info"],
                                                                     k["fail"], active), flush=True)


def load_jsonl(path):
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def one_run(args, scenario, seed, run_dir):
    """Runs one scenario once; returns its summary row."""
    os.makedirs(run_dir, exist_ok=True)
    rng = random.Random(seed)
    t0 = time.monotonic()
    c = Cluster(args.bin, run_dir, t0)
    info = {"scenario": scenario, "seed": seed, "duration": args.duration, "clients": args.clients,
            "keys": args.keys, "rate": args.rate, "flags": FLAGS, "started": time.strftime("%Y-%m-%dT%H:%M:%S")}
    problems = []
    try:
        c.open()
        c.start()
        c.t0 = t0 = time.monotonic()
        targets = [c.nodes[i] for i in c.base]
        work = Workload(os.path.join(run_dir, "history.jsonl"), t0, targets, args.clients, args.keys, args.rate,
                        seed)
        nemesis = Nemesis(scenario, c, rng, os.path.join(run_dir, "nemesis.jsonl"))
        work.start()
        stop = threading.Event()
        ticker = threading.Thread(target=progress, args=(c, work, nemesis, args.duration, stop), daemon=True)
        ticker.start()
        try:
            nemesis.run(args.duration, stop)
        finally:
            stop.set()
            info["ops"] = work.stop()
        info["quiet_after_s"] = c.quiesce()
        if info["quiet_after_s"] is None:
            problems.append("no quiescence within %d s" % QUIET_TIMEOUT)
        history = load_jsonl(os.path.join(run_dir, "history.jsonl"))
        keys = {h["key"] for h in history if h["f"] != "read"}
        final = c.final_state(keys)
        with open(os.path.join(run_dir, "final.json"), "w") as f:
            json.dump(final, f, indent=1)
    finally:
        codes = c.close()
        bad = {k: v for k, v in codes.items() if v != 0}
        if bad:
            problems.append("exit codes at the end: %s" % bad)
    faults = load_jsonl(os.path.join(run_dir, "nemesis.jsonl"))
    verdict = checker.check(history, final, faults)
    verdict["problems"] = problems
    verdict["valid"] = bool(verdict["valid"]) and not problems
    with open(os.path.join(run_dir, "verdict.json"), "w") as f:
        json.dump(verdict, f, indent=1)
    with open(os.path.join(run_dir, "run.json"), "w") as f:
        json.dump(info, f, indent=1)
    plot.plot(history, faults, os.path.join(run_dir, "latency.svg"))
    return row(scenario, seed, run_dir, verdict, info)


def pooled(av, groups, kind):
    """The ok share of kind ("read", "write") over the availability groups named, None without ops."""
    ops = sum(av[g][kind + "_ops"] for g in groups)
    ok = sum(av[g][kind] * av[g][kind + "_ops"] for g in groups if av[g][kind] is not None)
    return round(ok / ops, 4) if ops else None


def row(scenario, seed, run_dir, verdict, info):
    k = verdict["counts"]
    av = verdict["availability"]["all"]
    groups = verdict["availability"]
    during = [g for g in groups if g not in ("all", "none") and not g.endswith(" elsewhere")]
    elsewhere = [g for g in groups if g.endswith(" elsewhere")]
    return {"scenario": scenario, "seed": seed, "dir": run_dir, "valid": verdict["valid"], "ops": k["ops"],
            "acknowledged": k["acknowledged"], "lost": k["lost"], "resurrected": k["resurrected"],
            "phantom": k["phantom"], "divergent": k["divergent"], "unverified": k.get("unverified", 0),
            "write_avail": av["write"],
            "read_avail": av["read"], "fault_write_avail": pooled(groups, during, "write"),
            "elsewhere_write_avail": pooled(groups, elsewhere, "write"), "faults": len(during),
            "quiet_after_s": info.get("quiet_after_s"), "problems": verdict["problems"]}


def fmt_ratio(x):
    return "  -  " if x is None else "%.3f" % x


def line(r):
    return ("%-5s %-15s seed %-6d ops %6d  acked %6d  lost %d  resurrected %d  phantom %d  divergent %d  "
            "avail w %s r %s  quiet %ss%s%s" % ("valid" if r["valid"] else "FAIL", r["scenario"], r["seed"],
                                                r["ops"], r["acknowledged"], r["lost"], r["resurrected"], r["phantom"],
                                                r["divergent"], fmt_ratio(r["write_avail"]),
                                                fmt_ratio(r["read_avail"]), r["quiet_after_s"],
                                                "  unverified %d" % r["unverified"] if r.get("unverified") else "",
                                                ("  " + "; ".join(r["problems"])) if r["problems"] else ""))


def per_scenario(rows):
    """[(scenario, runs, valid, ops, acked, lost, resurrected, phantom, divergent, write avail, read avail,
    write avail during faults, write avail during faults on the nodes they did not hit)], the
    availabilities the mean over the runs."""
    out = []
    for sc in sorted({r["scenario"] for r in rows}):
        rs = [r for r in rows if r["scenario"] == sc]

        def total(field):
            return sum(r[field] for r in rs)

        def mean(field):
            xs = [r[field] for r in rs if r[field] is not None]
            return sum(xs) / len(xs) if xs else None
        out.append((sc, len(rs), sum(1 for r in rs if r["valid"]), total("ops"), total("acknowledged"),
                    total("lost"), total("resurrected"), total("phantom"), total("divergent"),
                    fmt_ratio(mean("write_avail")), fmt_ratio(mean("read_avail")),
                    fmt_ratio(mean("fault_write_avail")), fmt_ratio(mean("elsewhere_write_avail"))))
    return out


def table(rows):
    fmt = "%-15s %5s %5s %8s %8s %5s %5s %5s %6s %7s %7s %7s %7s"
    out = [fmt % ("scenario", "runs", "valid", "ops", "acked", "lost", "resur", "phant", "diverg", "avail-w",
                  "avail-r", "fault-w", "else-w")]
    out += [fmt % r for r in per_scenario(rows)]
    return "\n".join(out)


def markdown(rows):
    out = ["| scenario | runs | valid | operations | acknowledged | lost | resurrected | phantom | divergent "
           "| availability: writes | reads | writes during faults | writes during faults, nodes not hit |",
           "|---" * 13 + "|"]
    out += ["| " + " | ".join(str(x) for x in r) + " |" for r in per_scenario(rows)]
    return "\n".join(out)


def main(argv=None):
    ap = argparse.ArgumentParser(description="Chaos runs of chorusd with a lost-write checker")
    ap.add_argument("--bin", default="build/chorusd")
    env = os.environ.get
    ap.add_argument("--scenario", default=env("CHORUS_CHAOS_SCENARIOS", "all"),
                    help="all, or a comma-separated list of: " + ", ".join(SCENARIOS))
    ap.add_argument("--runs", type=int, default=int(env("CHORUS_CHAOS_RUNS", "1")), help="runs of each scenario")
    ap.add_argument("--duration", type=float, default=float(env("CHORUS_CHAOS_DURATION", "60")),
                    help="seconds of faults per run")
    ap.add_argument("--seed", type=int, default=1, help="seed of the first run; run k uses seed + k")
    ap.add_argument("--out", default=env("CHORUS_CHAOS_OUT", "chaos-runs"))
    ap.add_argument("--clients", type=int, default=8)
    ap.add_argument("--keys", type=int, default=12)
    ap.add_argument("--rate", type=float, default=6.0, help="cycles per second of each client")
    ap.add_argument("--keep", action="store_true", help="keep the run directories of valid runs")
    ap.add_argument("--summary", metavar="FILE", help="print the markdown table of a summary.jsonl and exit")
    args = ap.parse_args(argv)
    if args.summary:
        print(markdown(load_jsonl(args.summary)))
        return 0
    args.bin = os.path.abspath(args.bin)
    names = list(SCENARIOS) if args.scenario == "all" else args.scenario.split(",")
    for n in names:
        if n not in SCENARIOS:
            ap.error("unknown scenario %r" % n)
    os.makedirs(args.out, exist_ok=True)
    rows = []
    total = len(names) * args.runs
    for k in range(args.runs):
        for name in names:
            seed = args.seed + k
            run_dir = os.path.join(args.out, "%s-%d" % (name, seed))
            shutil.rmtree(run_dir, ignore_errors=True)
            print("[%d/%d] %s seed %d ..." % (len(rows) + 1, total, name, seed), flush=True)
            try:
                r = one_run(args, name, seed, run_dir)
            except Exception as e:  # a run that could not finish is a failed run, with its reason
                r = {"scenario": name, "seed": seed, "dir": run_dir, "valid": False, "ops": 0, "acknowledged": 0,
                     "lost": 0, "resurrected": 0, "phantom": 0, "divergent": 0, "write_avail": None,
                     "read_avail": None, "fault_write_avail": None, "elsewhere_write_avail": None, "faults": 0,
                     "quiet_after_s": None, "problems": ["%s: %s" % (type(e).__name__, e)]}
            rows.append(r)
            print(line(r), flush=True)
            with open(os.path.join(args.out, "summary.jsonl"), "a") as f:
                f.write(json.dumps(r) + "\n")
            if r["valid"] and not args.keep:
                shutil.rmtree(os.path.join(run_dir, "disks"), ignore_errors=True)
    print(table(rows))
    bad = [r for r in rows if not r["valid"]]
    print("%d passed, %d failed" % (len(rows) - len(bad), len(bad)))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
