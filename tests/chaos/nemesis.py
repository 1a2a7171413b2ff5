"""The chaos suite's nemesis: faults, alone or combined, on a schedule drawn from a seed.

A fault is started, held, then healed; every fault ends healed before the
next one starts (a combined step starts two and heals both). Each becomes
one line of the nemesis log: its kind, start and end (seconds since the
run's start), the nodes it hit and a detail. The schedule (kinds, targets,
hold times, gaps) comes from random.Random(seed), so a seed replays a run's
faults; what the clients do meanwhile depends on timing too.

The cluster object gives: nodes (Node), base (indexes of the five members
clients talk to), spares (indexes of the two nodes of the churn fault),
net (net.Net), restart(i), now(), wait_phase(i, phase, timeout) and
wait_exit(i, timeout).
"""

import json

# kind -> (shortest, longest) hold in seconds
HOLD = {
    "kill": (4, 12), "pause": (5, 40), "partition-one": (6, 15), "partition-half": (6, 15),
    "partition-ring": (6, 15), "loss-10": (8, 15), "loss-30": (8, 15), "disk-full": (5, 10),
    "wipe": (0, 0), "churn": (0, 0),
}

SCENARIOS = {
    "kill": ["kill"],
    "pause": ["pause"],
    "partition-one": ["partition-one"],
    "partition-half": ["partition-half"],
    "partition-ring": ["partition-ring"],
    "loss": ["loss-10", "loss-30"],
    "disk-full": ["disk-full"],
    "wipe": ["wipe"],
    "churn": ["churn"],
    "mixed": sorted(HOLD),
}

# faults that may run together in the mixed scenario: one on the nodes, one on the links
PROCESS_FAULTS = ("kill", "pause", "disk-full")
LINK_FAULTS = ("partition-one", "partition-half", "loss-10")


class Fault:
    def __init__(self, kind, cluster, rng):
        self.kind, self.c, self.rng = kind, cluster, rng
        self.targets, self.detail = [], ""
        self.start_at = self.end_at = None

    def pick(self, k):
        return sorted(self.rng.sample(self.c.base, k))

    def names(self, idx):
        return [self.c.nodes[i].id for i in idx]

    def start(self):
        self.start_at = self.c.now()
        getattr(self, "start_" + self.kind.replace("-", "_").split("_")[0])()

    def heal(self):
        getattr(self, "heal_" + self.kind.replace("-", "_").split("_")[0])()
        self.end_at = self.c.now()

    def entry(self):
        return {"fault": self.kind, "start": round(self.start_at, 3),
                "end": None if self.end_at is None else round(self.end_at, 3),
                "targets": self.targets, "detail": self.detail}

    # ---- process faults

    def start_kill(self):
        self.idx = self.pick(1)
        self.targets = self.names(self.idx)
        self.c.nodes[self.idx[0]].kill9()
        self.detail = "kill -9, restarted at the heal"

    def heal_kill(self):
        self.c.restart(self.idx[0])

    def start_pause(self):
        self.idx = self.pick(1)
        self.targets = self.names(self.idx)
        self.c.nodes[self.idx[0]].pause()
        self.detail = "SIGSTOP, SIGCONT at the heal"

    def heal_pause(self):
        self.c.nodes[self.idx[0]].resume()

    def start_disk(self):
        self.idx = self.pick(1)
        self.targets = self.names(self.idx)
        self.c.nodes[self.idx[0]].fill_disk()
        self.detail = "data file system filled; freed and the node restarted at the heal"

    def heal_disk(self):
        n = self.c.nodes[self.idx[0]]
        n.free_disk()
        n.stop()
        self.c.restart(self.idx[0])

    def start_wipe(self):
        self.idx = self.pick(1)
        self.targets = self.names(self.idx)
        n = self.c.nodes[self.idx[0]]
        n.kill9()
        n.wipe()
        self.c.restart(self.idx[0])
        self.detail = "kill -9, data directory deleted, restarted with the same --node-id"

    def heal_wipe(self):
        self.c.wait_phase(self.idx[0], "normal", 60)

    def start_churn(self):
        self.idx = list(self.c.spares)
        self.targets = self.names(self.idx)
        for i in self.idx:
            self.c.nodes[i].wipe()
            self.c.restart(i)
        joined = all(self.c.wait_phase(i, "normal", 60) for i in self.idx)
        for i in self.idx:
            self.c.nodes[i].post("/gossip/leave")
        self.detail = "two nodes joined (%s), then left" % ("normal" if joined else "join not finished in 60 s")

    def heal_churn(self):
        for i in self.idx:
            rc = self.c.wait_exit(i, 120)
            if rc != 0:
                self.detail += "; %s exited %r" % (self.c.nodes[i].id, rc)

    # ---- link faults

    def start_partition(self):
        base = list(self.c.base)
        self.rng.shuffle(base)
        if self.kind == "partition-one":
            groups = [base[:1], base[1:]]
        elif self.kind == "partition-half":
            groups = [base[:2], base[2:]]
        else:
            groups = None
        if groups:
            self.c.net.partition(groups)
            self.targets = self.names(sorted(groups[0]))
            self.detail = " | ".join(",".join(self.names(sorted(g))) for g in groups)
        else:  # a ring of overlapping majorities: each node hears its two neighbours only
            n = len(base)
            hears = {base[p]: {base[(p - 1) % n], base[(p + 1) % n]} for p in range(n)}
            self.c.net.grudge(hears)
            self.targets = self.names(sorted(base))
            self.detail = "ring " + "-".join(self.names(base))

    def heal_partition(self):
        self.c.net.heal()

    def start_loss(self):
        frac = 0.1 if self.kind == "loss-10" else 0.3
        self.c.net.loss(frac, self.c.base)
        self.targets = self.names(self.c.base)
        self.detail = "%d%% of packets between nodes dropped" % round(frac * 100)

    def heal_loss(self):
        self.c.net.heal()


class Nemesis:
    """Runs a scenario's faults until duration seconds have passed since the run's start."""

    def __init__(self, scenario, cluster, rng, log_path):
        self.kinds = SCENARIOS[scenario]
        self.mixed = scenario == "mixed"
        self.c, self.rng = cluster, rng
        self.log = open(log_path, "w")
        self.faults = []
        self.active = ""  # what is broken now, for progress lines

    def record(self, fault):
        self.log.write(json.dumps(fault.entry()) + "\n")
        self.log.flush()
        self.faults.append(fault.entry())

    def step_kinds(self):
        if self.mixed and self.rng.random() < 0.35:
            return [self.rng.choice(PROCESS_FAULTS), self.rng.choice(LINK_FAULTS)]
        return [self.rng.choice(self.kinds)]

    def run(self, duration, stop):
        stop.wait(self.rng.uniform(2, 4))
        while not stop.is_set() and self.c.now() < duration:
            faults = [Fault(k, self.c, self.rng) for k in self.step_kinds()]
            hold = max(self.rng.uniform(*HOLD[f.kind]) for f in faults)
            self.active = " + ".join(f.kind for f in faults)
            for f in faults:
                f.start()
            self.active = " + ".join("%s %s" % (f.kind, ",".join(f.targets)) for f in faults)
            stop.wait(hold)
            for f in reversed(faults):
                f.heal()
                self.record(f)
            self.active = ""
            stop.wait(self.rng.uniform(3, 6))
        self.log.close()
