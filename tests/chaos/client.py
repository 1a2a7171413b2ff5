"""The chaos suite's clients: read-modify-write cycles, blind writes and deletes on a few keys, logged.

Each client is a thread with its own seeded generator. It picks a key of a
small set (contention is the point) and a node, and does one of:
  rmw       GET, then PUT with the context it returned and a value unique
            in the run (a 404's context is "I saw nothing")
  blind     PUT without a context
  delete    GET, then DELETE with that context
  blind-del DELETE without a context
  read      GET alone
at a steady rate. Every request becomes one history entry (the format the
checker reads, tests/chaos/checker.py): start and end, the node, the
outcome, the siblings a read returned, the siblings a write was sent over
(obs), and a write's own dot and the dots it replaced.

Outcomes: ok is an answer that says it happened (writes 200, reads 200 or
404). fail is one that says nothing was written (4xx, 507, 503
shutting_down or not_joined) or a connection that was refused. Everything
else is info: a 503 quorum_not_reached, a timeout or a reset may have been
applied.

Invariants: values are unique in the run ("c<client>-<n>"); a write's obs
are exactly the siblings of the read whose context it sent; the history is
appended under one lock, one JSON object per line.
"""

import json
import random
import threading
import time
import urllib.parse

from node import request

CLIENT_TIMEOUT = 12.0  # above --request-timeout: a coordinator's 503 arrives before the client gives up
FAIL_503 = ("shutting_down", "not_joined")

MIX = (("rmw", 0.55), ("blind", 0.15), ("delete", 0.08), ("blind-del", 0.04), ("read", 0.18))


def sibling_view(s):
    return {"node": s.get("node"), "counter": s.get("counter"), "value": s.get("value"),
            "deleted": bool(s.get("deleted")), "seen": s.get("seen") or {}}


def error_code(doc):
    if isinstance(doc, dict) and isinstance(doc.get("error"), dict):
        return doc["error"].get("code")
    return None


class History:
    def __init__(self, path, t0):
        self.f = open(path, "w")
        self.t0 = t0
        self.lock = threading.Lock()
        self.next_id = 0
        self.counts = {"ok": 0, "fail": 0, "info": 0}

    def add(self, entry):
        with self.lock:
            entry["id"] = self.next_id
            self.next_id += 1
            self.counts[entry["outcome"]] += 1
            self.f.write(json.dumps(entry, separators=(",", ":")) + "\n")

    def close(self):
        self.f.close()


def classify(f, status, doc, err):
    if status is None:
        return "fail" if err == "refused" else "info"
    if f == "read":
        return "ok" if status in (200, 404) else "fail"
    if status == 200:
        return "ok"
    if status == 503 and error_code(doc) not in FAIL_503:
        return "info"
    return "fail"


class Client(threading.Thread):
    def __init__(self, n, history, targets, keys, rate, stop, seed):
        super().__init__(daemon=True)
        self.n, self.history, self.targets, self.keys = n, history, targets, keys
        self.period = 1.0 / rate
        self.stop = stop
        self.rng = random.Random(seed * 1000 + n)
        self.seq = 0

    def now(self):
        return time.monotonic() - self.history.t0

    def op(self, f, key, node, method, body=None, headers=None, value=None, blind=False, obs=None):
        start = self.now()
        status, doc, err = request(node.ip, method, "/api/v1/data/" + urllib.parse.quote(key), body=body,
                                   headers=headers, timeout=CLIENT_TIMEOUT)
        end = self.now()
        entry = {"client": self.n, "node": node.id, "f": f, "key": key, "blind": blind, "value": value,
                 "obs": obs, "start": round(start, 4), "end": round(end, 4),
                 "outcome": classify(f, status, doc, err), "status": status,
                 "error": err or error_code(doc), "dot": None, "replaced": None, "siblings": None}
        if isinstance(doc, dict):
            if f == "read" and status in (200, 404):
                entry["siblings"] = [sibling_view(s) for s in doc.get("siblings") or []]
            if f != "read":
                entry["dot"] = doc.get("dot")
                entry["replaced"] = doc.get("replaced")
        self.history.add(entry)
        return entry, doc

    def read(self, key, node):
        entry, doc = self.op("read", key, node, "GET")
        if entry["outcome"] != "ok" or not isinstance(doc, dict) or "context" not in doc:
            return None, None
        return doc["context"], entry["siblings"]

    def value(self):
        self.seq += 1
        return "c%d-%d" % (self.n, self.seq)

    def cycle(self):
        kind = self.rng.choices([k for k, _ in MIX], [w for _, w in MIX])[0]
        key = self.rng.choice(self.keys)
        node = self.rng.choice(self.targets)
        if kind == "read":
            self.read(key, node)
        elif kind in ("rmw", "delete"):
            ctx, obs = self.read(key, node)
            if ctx is None:
                return
            if kind == "rmw":
                v = self.value()
                self.op("write", key, node, "PUT", body={"value": v, "context": ctx}, value=v, obs=obs)
            elif any(not s["deleted"] for s in obs):
                self.op("delete", key, node, "DELETE", headers={"X-Chorus-Context": ctx}, obs=obs)
        elif kind == "blind":
            v = self.value()
            self.op("write", key, node, "PUT", body={"value": v}, value=v, blind=True)
        else:
            self.op("delete", key, node, "DELETE", blind=True)

    def run(self):
        next_at = time.monotonic() + self.rng.random() * self.period
        while not self.stop.is_set():
            delay = next_at - time.monotonic()
            if delay > 0 and self.stop.wait(delay):
                break
            next_at = max(next_at + self.period, time.monotonic() - self.period)
            self.cycle()


class Workload:
    """clients threads over keys, each at rate cycles/s, against targets (Node objects)."""

    def __init__(self, path, t0, targets, clients, keys, rate, seed):
        self.history = History(path, t0)
        self.stop_event = threading.Event()
        names = ["k%d" % i for i in range(keys)]
        self.clients = [Client(n, self.history, targets, names, rate, self.stop_event, seed) for n in range(clients)]

    def start(self):
        for c in self.clients:
            c.start()

    def stop(self):
        self.stop_event.set()
        for c in self.clients:
            c.join(CLIENT_TIMEOUT + 5)
        self.history.close()
        return dict(self.history.counts)
