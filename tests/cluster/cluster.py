"""Real chorusd processes for the cluster suites: a Member is one node (and
its restarts) with a fixed id, ports and data dir; a Cluster starts N of
them seeded from the first, waits on what they report, and stops every
process by its PID on exit (failing the test on a bad exit or a sanitizer
report)."""

import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
import urllib.parse

from harness import TestFailure, check, free_port, http_request, stop_problems

# Timings for tests: a probe every 200 ms, suspicion min = 3 x log10(N + 1) x 200 ms.
FAST = ["--probe-interval=200ms", "--probe-timeout=100ms", "--gossip-interval=50ms", "--suspicion-mult=3",
        "--push-pull-interval=2s"]


class Member:
    """One chorusd process (and its restarts) with a fixed node id, ports and data dir."""

    def __init__(self, binary, tmp, idx, extra):
        self.binary, self.idx, self.extra = binary, idx, list(extra)
        self.id = "n%d" % idx
        self.port, self.peer_port = free_port(), free_port()
        self.data = os.path.join(tmp, self.id)
        self.log = os.path.join(tmp, self.id + ".log")
        self.proc = None
        self.tls = None  # an ssl.SSLContext when the member serves HTTPS

    def start(self, seed=None, extra=()):
        cmd = [self.binary, "--node-id=" + self.id, "--port=%d" % self.port, "--peer-port=%d" % self.peer_port,
               "--bind=127.0.0.1", "--data-dir=" + self.data, "--log-level=debug"] + self.extra + list(extra)
        if seed:
            cmd.append("--seed-node=127.0.0.1:%d" % seed.port)
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen(cmd, stdout=log, stderr=log, stdin=subprocess.DEVNULL)
        deadline = time.time() + 15
        while time.time() < deadline:
            check(self.proc.poll() is None, "%s exited at start: %s" % (self.id, self.tail()))
            try:
                if http_request(self.port, "GET", "/health", timeout=1, tls=self.tls).status == 200:
                    return self
            except OSError:
                pass
            time.sleep(0.05)
        raise TestFailure("%s did not start: %s" % (self.id, self.tail()))

    def tail(self, n=8):
        try:
            with open(self.log, "rb") as f:
                return " | ".join(f.read().decode("utf-8", "replace").splitlines()[-n:])
        except OSError:
            return ""

    def request(self, method, path, body=None, headers=None, timeout=10):
        return http_request(self.port, method, path, body, headers, timeout=timeout, tls=self.tls)

    def put(self, key, value, query="", context=None, request_id=None, timeout=10):
        headers = {"Content-Type": "application/json"}
        if context:
            headers["X-Chorus-Context"] = context
        if request_id:
            headers["X-Request-Id"] = request_id
        return self.request("PUT", data_path(key, query), json.dumps({"value": value}), headers, timeout)

    def get(self, key, query="", timeout=10):
        return self.request("GET", data_path(key, query), timeout=timeout)

    def get_json(self, path):
        r = self.request("GET", path)
        check(r.status == 200, "GET %s on %s: %d %s" % (path, self.id, r.status, r.body[:200]))
        return json.loads(r.body)

    def members(self, phases=False):
        """{id: (status, incarnation)} as this node sees them ((status, phase) with phases); {} if it does
        not answer."""
        try:
            r = http_request(self.port, "GET", "/gossip/members", timeout=2)
        except OSError:
            return {}
        if r.status != 200:
            return {}
        field = "phase" if phases else "incarnation"
        return {k: (v["status"], v[field]) for k, v in json.loads(r.body)["cluster_members"].items()}

    def signal(self, sig):
        if self.proc and self.proc.poll() is None:
            os.kill(self.proc.pid, sig)

    def stop(self, timeout=15):
        if not self.proc or self.proc.poll() is not None:
            return None
        self.signal(signal.SIGCONT)
        self.signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.signal(signal.SIGKILL)
            self.proc.wait()
            return "timeout"

    def kill(self):
        self.signal(signal.SIGKILL)
        if self.proc:
            self.proc.wait()


class Cluster:
    def __init__(self, ctx, n, extra=FAST):
        self.tmp = tempfile.mkdtemp(prefix="chorus-cluster-")
        self.nodes = [Member(ctx.runner.binary, self.tmp, i, extra) for i in range(n)]

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        problems = stop_problems(self.nodes)
        shutil.rmtree(self.tmp, ignore_errors=True)
        if problems and exc_type is None:
            raise TestFailure("; ".join(problems))

    def start_all(self):
        self.nodes[0].start()
        for m in self.nodes[1:]:
            m.start(seed=self.nodes[0])
        return self

    def wait(self, what, cond, timeout, observers=None):
        """Polls every 100 ms until cond(view) holds for every observer's view."""
        observers = observers or self.nodes
        deadline = time.time() + timeout
        views = {}
        while time.time() < deadline:
            views = {m.id: m.members() for m in observers}
            if all(cond(v) for v in views.values()):
                return time.time()
            time.sleep(0.1)
        raise TestFailure("%s not reached within %.0f s; views: %s" % (what, timeout, views))

    def converged(self, timeout=20, ids=None):
        """Every member alive and an owner (done joining) as each of them sees it."""
        ids = ids or [m.id for m in self.nodes]
        observers = [m for m in self.nodes if m.id in ids]
        deadline = time.time() + timeout
        for m in observers:
            wait_for("all alive and owners at " + m.id,
                     lambda: all(m.members(phases=True).get(i) == ("alive", "normal") for i in ids),
                     max(0.5, deadline - time.time()))
        return self




def wait_for(what, cond, timeout):
    """Polls cond every 100 ms until it returns something true (returned)."""
    deadline = time.time() + timeout
    last = None
    while time.time() < deadline:
        last = cond()
        if last:
            return last
        time.sleep(0.1)
    raise TestFailure("%s not reached within %.0f s (last: %r)" % (what, timeout, last))


def data_path(key, query=""):
    return "/api/v1/data/" + urllib.parse.quote(key, safe="") + ("?" + query if query else "")
