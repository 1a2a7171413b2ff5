#!/usr/bin/env python3
"""The `chorus` command-line client against real chorusd processes.

    python3 tests/cluster/test_client.py --bin build/chorusd [-k substring]

The client is the `chorus` binary next to chorusd. Each test starts its own
3-node cluster (cluster.py), runs the client as a subprocess, and asserts
on what it prints (text and --json) and on its exit code, checking what it
says against the HTTP API itself. Every process is stopped by its PID.
Ends with "N passed, N failed".
"""

import base64
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "http"))

from harness import TestFailure, check, eq, main, sanitizer_findings, test  # noqa: E402

from cluster import FAST, Cluster, data_path  # noqa: E402
from tlscerts import certs  # noqa: E402

EXIT_OK, EXIT_NOT_FOUND, EXIT_USAGE, EXIT_CONFLICT, EXIT_UNAVAILABLE, EXIT_UNREACHABLE, EXIT_AUTH, EXIT_SERVER = range(8)


def client_binary(ctx):
    path = os.path.join(os.path.dirname(ctx.binary), "chorus")
    check(os.path.isfile(path) and os.access(path, os.X_OK), "no client binary at %s" % path)
    return path


def client_env(extra=None):
    env = {k: v for k, v in os.environ.items() if not k.startswith("CHORUS_") or k == "CHORUS_HTTP_TEST_SANITIZERS"}
    env.update(extra or {})
    return env


class Result:
    def __init__(self, rc, out, err):
        self.rc, self.out, self.err = rc, out, err

    def describe(self):
        return "exit %s, stdout %r, stderr %r" % (self.rc, self.out[-600:], self.err[-600:])

    def json(self):
        try:
            return json.loads(self.out)
        except ValueError as e:
            raise TestFailure("not JSON (%s): %s" % (e, self.describe()))

    def field(self, label):
        """The text after "label:" on a line of a block, e.g. field("value")."""
        m = re.search(r"^\s*%s:\s*(.*)$" % re.escape(label), self.out, re.M)
        if not m:
            raise TestFailure("no %r line in: %s" % (label, self.describe()))
        return m.group(1).rstrip()


def chorus(ctx, node, *args, stdin=None, env=None, timeout=60):
    """Runs the client once (node: a Member, an address string, or None for no --node)."""
    cmd = [client_binary(ctx)]
    if node is not None:
        cmd += ["--node", node if isinstance(node, str) else "127.0.0.1:%d" % node.port]
    cmd += list(args)
    p = subprocess.run(cmd, input=(stdin or "").encode("utf-8"), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       env=client_env(env), timeout=timeout)
    out, err = p.stdout.decode("utf-8", "replace"), p.stderr.decode("utf-8", "replace")
    found = sanitizer_findings(err)
    check(not found, "sanitizer report from chorus %s: %s" % (" ".join(args), found[:1]))
    return Result(p.returncode, out, err)


def ok(ctx, node, *args, **kw):
    r = chorus(ctx, node, *args, **kw)
    check(r.rc == EXIT_OK, "chorus %s: %s" % (" ".join(args), r.describe()))
    return r


def expect_exit(ctx, code, node, *args, stderr_has=None, **kw):
    r = chorus(ctx, node, *args, **kw)
    check(r.rc == code, "chorus %s: expected exit %d, got %s" % (" ".join(args), code, r.describe()))
    if stderr_has:
        check(stderr_has in r.err, "chorus %s: stderr lacks %r: %r" % (" ".join(args), stderr_has, r.err))
    check(code == 0 or len(r.err.strip().splitlines()) >= 1, "no error line: " + r.describe())
    return r


def table_rows(text, first_column="NODE"):
    """The rows of the first table whose header starts with first_column, as dicts."""
    lines = text.splitlines()
    for i, line in enumerate(lines):
        if line.startswith(first_column + " "):
            heads = re.split(r"\s{2,}", line.strip())
            rows = []
            for row in lines[i + 1:]:
                cells = re.split(r"\s{2,}", row.strip())
                if len(cells) != len(heads):
                    break
                rows.append(dict(zip(heads, cells)))
            return rows
    raise TestFailure("no table with %s in: %r" % (first_column, text[:600]))


def three_nodes(ctx):
    return Cluster(ctx, 3)


@test
def test_put_then_get_returns_the_value_in_text_and_json(ctx):
    with three_nodes(ctx) as c:
        c.start_all().converged()
        a, b = c.nodes[0], c.nodes[1]
        put = ok(ctx, a, "put", "greeting", "hello")
        acked = put.field("acked").split()
        check(len(acked) >= 2 and set(acked) <= {m.id for m in c.nodes}, "acked nodes: " + put.describe())
        eq(put.field("failed"), "-", "failed nodes of a healthy write")
        got = ok(ctx, b, "get", "greeting")
        eq(got.field("value"), "hello", "value read through another node")
        eq(len(got.field("replicas").split()), 3, "replicas listed")
        j = ok(ctx, b, "get", "--json", "greeting").json()
        eq((j["value"], j["conflict"], len(j["siblings"])), ("hello", False, 1), "get --json")
        eq(j, json.loads(b.get("greeting").body) | {"read_result": j["read_result"]}, "get --json is the API's JSON")
        eq(ok(ctx, c.nodes[2], "get", "--value-only", "greeting").out, "hello", "--value-only")
        # a value from stdin, kept byte for byte (newline, non-ASCII)
        pj = ok(ctx, a, "put", "--json", "multi", "-", stdin="line one\nz\u00e9 \u2603").json()
        check(pj["replication_result"]["quorum_achieved"] and len(pj["replication_result"]["successful_nodes"]) >= 2,
              "put --json: %s" % pj)
        eq(ok(ctx, b, "get", "--value-only", "multi").out, "line one\nz\u00e9 \u2603", "stdin value read back")
        eq(ok(ctx, b, "get", "multi").field("value"), '"line one\\nz\u00e9 \u2603"', "a newline is shown quoted")
        # a key that needs escaping in a URL
        ok(ctx, a, "put", "caf\u00e9/menu of the day?", "soup")
        eq(json.loads(b.get("caf\u00e9/menu of the day?").body)["value"], "soup", "escaped key through the API")
        # delete reads the context first, then the key is gone
        d = ok(ctx, b, "delete", "greeting")
        check("delete greeting: done" in d.out, "delete output: " + d.describe())
        expect_exit(ctx, EXIT_NOT_FOUND, a, "get", "greeting", stderr_has="not_found")
        expect_exit(ctx, EXIT_NOT_FOUND, a, "delete", "greeting", stderr_has="not_found")
        # the context of a missing key is the API's 404 context
        ctx404 = expect_exit(ctx, EXIT_NOT_FOUND, a, "get", "--context-only", "never-written").out.strip()
        eq(ctx404, json.loads(a.get("never-written").body)["context"], "404 context")
        blind = ok(ctx, a, "put", "--blind", "--w", "3", "--json", "blindkey", "x").json()
        eq(blind["replication_result"]["required"], 3, "--w 3 is sent as ?w=3")


@test
def test_members_ring_lookup_and_status_agree_with_the_api(ctx):
    with three_nodes(ctx) as c:
        c.start_all().converged()
        n = c.nodes[1]
        ids = sorted(m.id for m in c.nodes)
        rows = table_rows(ok(ctx, n, "members").out)
        eq(sorted(r["NODE"] for r in rows), ids, "members listed")
        eq({r["STATUS"] for r in rows}, {"alive"}, "every member alive")
        eq({r["ADDRESS"] for r in rows}, {"127.0.0.1:%d" % m.port for m in c.nodes}, "member addresses")
        mj = ok(ctx, n, "members", "--json").json()
        eq((mj["total_members"], mj["alive_members"]), (3, 3), "members --json counts")

        ring = ok(ctx, n, "ring")
        rrows = table_rows(ring.out)
        eq(sorted(r["NODE"] for r in rrows), ids, "ring members")
        eq({r["VNODES"] for r in rrows}, {"150"}, "tokens per member")
        share = sum(float(r["OWNERSHIP"].rstrip("%")) for r in rrows)
        check(99.5 <= share <= 100.5, "ownership shares add up to %.1f%%" % share)
        api_ring = n.get_json("/api/v1/ring")
        check(api_ring["version"] in ring.out, "ring version %s not shown" % api_ring["version"])
        eq(ok(ctx, n, "ring", "--json").json()["version"], api_ring["version"], "ring --json version")

        for key in ("user:42", "greeting", "k\u00e9y with spaces"):
            api = n.get_json("/api/v1/ring/lookup/" + data_path(key)[len("/api/v1/data/"):])
            look = ok(ctx, n, "lookup", key)
            prefs = re.findall(r"(\S+) \((\w+)\)", look.field("preference"))
            eq([p for p, _ in prefs], api["preference_list"], "preference list of %r" % key)
            eq(len(set(p for p, _ in prefs)), 3, "distinct replicas of %r" % key)
            eq({s for _, s in prefs}, {"alive"}, "replica statuses")
            eq(look.field("coordinator"), api["coordinator"], "coordinator of %r" % key)
            eq(look.field("token"), api["token"], "token of %r" % key)
            lj = ok(ctx, n, "lookup", "--json", key).json()
            eq((lj["key"], lj["preference_list"]), (key, api["preference_list"]), "lookup --json")

        st = ok(ctx, n, "status")
        eq(st.field("node"), n.id, "status node")
        eq(st.field("alive"), "3", "alive members in status")
        eq(st.field("quorums"), "N=3 R=2 W=2", "quorums in status")
        eq(ok(ctx, n, "status", "--json").json()["node_id"], n.id, "status --json")


@test
def test_transfers_and_repair_show_and_start_what_the_node_does(ctx):
    with three_nodes(ctx) as c:
        c.start_all().converged()
        n = c.nodes[0]
        for i in range(5):
            ok(ctx, n, "put", "--blind", "r%d" % i, "v")
        tr = ok(ctx, n, "transfers")
        eq(tr.field("phase"), "normal", "transfers phase")
        check("no range streams" in tr.out, "transfers: " + tr.describe())
        eq(ok(ctx, n, "transfers", "--json").json()["phase"], "normal", "transfers --json")
        before = n.get_json("/api/v1/repair")["exchanges"]
        done = ok(ctx, n, "repair", "--start", "--wait", "--wait-timeout", "60s", "--json").json()
        eq((done["running"], done["queued"]), (False, 0), "repair finished")
        check(done["exchanges"] >= before + 2, "exchanges %d -> %d after a round with 2 peers"
              % (before, done["exchanges"]))
        eq(set(done["last_exchange"]), {m.id for m in c.nodes[1:]}, "peers exchanged with")
        shown = ok(ctx, n, "repair")
        eq(shown.field("enabled"), "true", "repair enabled")
        eq(sorted(r["PEER"] for r in table_rows(shown.out, "PEER")), sorted(m.id for m in c.nodes[1:]),
           "last exchange per peer")
        started = ok(ctx, n, "repair", "--start")
        check(re.search(r"repair started: \d+ peers queued", started.out), "repair --start: " + started.describe())


@test
def test_exit_codes_name_the_cause(ctx):
    with three_nodes(ctx) as c:
        c.start_all().converged()
        a, gone = c.nodes[0], c.nodes[2]
        expect_exit(ctx, EXIT_NOT_FOUND, a, "get", "missing", stderr_has="404 not_found")
        expect_exit(ctx, EXIT_USAGE, a, "get")
        expect_exit(ctx, EXIT_USAGE, a, "get", "a", "b")
        expect_exit(ctx, EXIT_USAGE, a, "frobnicate", stderr_has="unknown command")
        expect_exit(ctx, EXIT_USAGE, a, "get", "--follow", "k", stderr_has="--follow")  # a flag of another command
        expect_exit(ctx, EXIT_USAGE, a, "put", "--w", "0", "k", "v", stderr_has="--w")
        expect_exit(ctx, EXIT_USAGE, a, "put", "--blind", "--context", "x", "k", "v")
        expect_exit(ctx, EXIT_USAGE, "ftp://127.0.0.1:1", "status", stderr_has="--node")
        expect_exit(ctx, EXIT_USAGE, None)
        expect_exit(ctx, EXIT_SERVER, a, "put", "--context", "bm90IGEgY29udGV4dA==", "k", "v", stderr_has="bad_context")
        # a URL works as well as HOST:PORT, and CHORUS_NODE is the default
        ok(ctx, "http://127.0.0.1:%d/" % a.port, "status")
        eq(ok(ctx, None, "status", env={"CHORUS_NODE": "127.0.0.1:%d" % a.port}).field("node"), a.id, "CHORUS_NODE")
        # a read that cannot reach R replies: 503 -> 4
        gone.stop()
        expect_exit(ctx, EXIT_UNREACHABLE, gone, "status", stderr_has="cannot reach")
        expect_exit(ctx, EXIT_UNREACHABLE, gone, "get", "k")
        c.wait("stopped node dead", lambda v: v.get(gone.id, ("?",))[0] == "dead", 15, c.nodes[:2])
        expect_exit(ctx, EXIT_UNAVAILABLE, a, "get", "--r", "3", "k", stderr_has="503")
    with Cluster(ctx, 1, extra=FAST + ["--api-token=s3cret"]) as c:
        c.start_all()
        n = c.nodes[0]
        expect_exit(ctx, EXIT_AUTH, n, "status", stderr_has="401 unauthorized")
        expect_exit(ctx, EXIT_AUTH, n, "--token", "wrong", "members", stderr_has="unauthorized")
        expect_exit(ctx, EXIT_AUTH, n, "put", "--token", "wrong", "k", "v")
        ok(ctx, n, "--token", "s3cret", "put", "k", "v")
        eq(ok(ctx, n, "get", "--value-only", "k", env={"CHORUS_TOKEN": "s3cret"}).out, "v", "CHORUS_TOKEN")


@test
def test_two_puts_with_one_context_become_siblings_and_one_put_resolves_them(ctx):
    with three_nodes(ctx) as c:
        c.start_all().converged()
        a, b, d = c.nodes
        ok(ctx, a, "put", "doc", "v1")
        shared = ok(ctx, b, "get", "--context-only", "doc").out.strip()
        check(shared, "no context printed")
        ok(ctx, a, "put", "--context", shared, "doc", "from alice")
        ok(ctx, b, "put", "--context", shared, "doc", "from bob")
        j = ok(ctx, d, "get", "--json", "doc").json()
        eq(j["conflict"], True, "two writes from one read conflict")
        eq(sorted(s["value"] for s in j["siblings"]), ["from alice", "from bob"], "both siblings kept")
        shown = ok(ctx, d, "get", "doc")
        check(re.search(r"conflict:\s+2 siblings", shown.out), "conflict line: " + shown.describe())
        check('"from alice"' in shown.out and '"from bob"' in shown.out, "siblings shown: " + shown.describe())
        eq(shown.field("context"), j["context"], "the context of the read is shown")
        expect_exit(ctx, EXIT_CONFLICT, d, "get", "--fail-on-conflict", "doc", stderr_has="2 siblings")
        # one put from the shell: it reads both siblings' context and replaces them
        merged = ok(ctx, d, "put", "--json", "doc", "merged").json()
        eq(len(merged["replaced"]), 2, "the put replaced both siblings: %s" % merged)
        eq(merged["siblings"], 1, "siblings after the put")
        for m in c.nodes:
            after = json.loads(m.get("doc").body)
            eq((after["conflict"], after["value"], len(after["siblings"])), (False, "merged", 1), "after the merge")
        ok(ctx, a, "get", "--fail-on-conflict", "doc")
        # --blind sends no context: a write replacing what the coordinator holds
        ok(ctx, a, "put", "--blind", "doc", "overwritten")
        eq(ok(ctx, a, "get", "--value-only", "doc").out, "overwritten", "blind put")


@test
def test_events_follow_prints_an_event_that_happens_while_it_runs(ctx):
    with three_nodes(ctx) as c:
        c.start_all().converged()
        a, b = c.nodes[0], c.nodes[1]
        ok(ctx, a, "put", "before-follow", "x")
        listed = ok(ctx, a, "events", "--limit", "50")
        check(re.search(r"\sput\s+before-follow", listed.out), "events: " + listed.describe())
        ej = ok(ctx, a, "events", "--json").json()
        check(any(e["type"] == "put" and e["key"] == "before-follow" for e in ej["events"]), "events --json")
        eq(sorted(n["node_id"] for n in ej["nodes"]), sorted(m.id for m in c.nodes), "members asked")

        p = subprocess.Popen([client_binary(ctx), "--node", "127.0.0.1:%d" % a.port, "events", "--follow",
                              "--limit", "5", "--interval", "200ms"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             env=client_env())
        lines, errs = [], []
        readers = [threading.Thread(target=lambda: lines.extend(l.decode("utf-8", "replace") for l in p.stdout)),
                   threading.Thread(target=lambda: errs.append(p.stderr.read().decode("utf-8", "replace")))]
        for t in readers:
            t.start()
        try:
            time.sleep(1.0)
            check(p.poll() is None, "events --follow exited early: %s" % errs)
            start = len(lines)
            r = b.put("during-follow", "seen live")  # through another node: the event is on every replica
            eq(r.status, 200, "put while following")
            deadline = time.time() + 10
            while time.time() < deadline and not any("during-follow" in l and " put " in l for l in lines[start:]):
                time.sleep(0.1)
            check(any("during-follow" in l and " put " in l for l in lines[start:]),
                  "the put did not show while following: %r" % lines[-10:])
            check(any("during-follow" in l and "replicate" in l for l in lines), "replicas' events not shown")
            ids = [(l.split()[1], int(l.split()[2])) for l in lines if l.strip()]
            eq(len(ids), len(set(ids)), "no event is shown twice")
        finally:
            if p.poll() is None:
                os.kill(p.pid, signal.SIGINT)
            try:
                rc = p.wait(10)
            except subprocess.TimeoutExpired:
                os.kill(p.pid, signal.SIGKILL)
                p.wait()
                rc = "still running after SIGINT"
            for t in readers:
                t.join(5)
        eq(rc, 0, "events --follow exit code on SIGINT")
        found = sanitizer_findings("".join(errs))
        check(not found, "sanitizer report from events --follow: %s" % found[:1])


@test
def test_bench_count_reports_every_operation_and_no_errors(ctx):
    with three_nodes(ctx) as c:
        c.start_all().converged()
        nodes = ",".join("127.0.0.1:%d" % m.port for m in c.nodes)
        j = ok(ctx, None, "bench", "--nodes", nodes, "--count", "300", "-c", "4", "--keys", "20", "--read-ratio", "0.5",
               "--json", "--no-progress", "--seed", "7").json()
        eq((j["ops"], j["errors"], j["errors_by_kind"]), (300, 0, {}), "ops and errors")
        eq(j["ok"] + j["not_found"], 300, "every op ok or a read of a key not written yet")
        eq(j["reads"]["ops"] + j["writes"]["ops"], 300, "reads + writes")
        check(100 <= j["reads"]["ops"] <= 200, "about half reads: %d" % j["reads"]["ops"])
        lat = j["latency_ms"]
        check(0 < lat["min"] <= lat["p50"] <= lat["p90"] <= lat["p99"] <= lat["p99_9"] <= lat["max"],
              "latency percentiles in order: %s" % lat)
        eq(sum(r["count"] for r in j["histogram"]), 300, "histogram counts")
        eq(len(j["config"]["nodes"]), 3, "nodes used")
        check(j["throughput_ops_s"] > 0 and j["elapsed_s"] > 0, "throughput: %s" % j)
        # the writes reached the cluster
        written = [k for k in range(20) if c.nodes[0].get("bench-%d" % k).status == 200]
        check(written, "no bench key readable")
        # text output, progress on stderr, and a fixed rate that paces the run
        t = ok(ctx, None, "bench", "--nodes", nodes, "--count", "60", "--rate", "40", "--json")
        rj = t.json()
        eq((rj["ops"], rj["errors"], rj["latency_from"]), (60, 0, "due"), "rate run")
        check(rj["elapsed_s"] >= 59 / 40.0 - 0.05, "60 ops at 40/s took only %.2f s" % rj["elapsed_s"])
        check("ops/s" in t.err and "p99 so far" in t.err, "progress on stderr: %r" % t.err)
        text = ok(ctx, None, "bench", "--nodes", nodes, "--count", "40", "--no-progress").out
        check(re.search(r"^\s+40 operations in", text, re.M) and "latency histogram" in text and "p99.9" in text,
              "bench text: %r" % text)
        expect_exit(ctx, EXIT_UNREACHABLE, None, "bench", "--nodes", "127.0.0.1:1", "--count", "3", "--no-progress")


@test
def test_keys_rotate_a_running_cluster_from_the_shell(ctx):
    key = base64.b64encode(os.urandom(32)).decode()
    with three_nodes(ctx) as c:
        c.start_all().converged()
        a, b = c.nodes[0], c.nodes[1]
        rows = table_rows(ok(ctx, a, "keys").out, "KEY")
        eq([(r["KEY"], r["MEMBERS"], r["PRIMARY ON"]) for r in rows], [("none", "3", "3")], "keys of a new cluster")
        inst = ok(ctx, a, "keys", "install", key)
        check("done on every member asked" in inst.out, "install: " + inst.describe())
        kid = inst.out.split()[1].rstrip(":")
        eq(len(kid), 16, "the id install names: " + inst.describe())
        ok(ctx, b, "keys", "use", key)
        ok(ctx, a, "keys", "remove", "none")
        j = ok(ctx, b, "keys", "--json").json()
        eq({m: (v["primary"], v["keys"]) for m, v in j["members"].items()},
           {m.id: (kid, [kid]) for m in c.nodes}, "every member's keyring after the rotation")
        check(key not in json.dumps(j), "a key itself in the listing")
        mine = ok(ctx, a, "keys", "--local", "--json").json()
        eq((mine["members_asked"], list(mine["members"])), (1, [a.id]), "keys --local")
        other = base64.b64encode(os.urandom(32)).decode()
        expect_exit(ctx, EXIT_SERVER, a, "keys", "use", other, stderr_has="key_not_installed")
        expect_exit(ctx, EXIT_SERVER, a, "keys", "remove", kid, stderr_has="key_in_use")
        expect_exit(ctx, EXIT_USAGE, a, "keys", "rotate", key)
        expect_exit(ctx, EXIT_USAGE, a, "keys", "install")
        for m in c.nodes:
            eq(json.loads(m.request("GET", "/gossip/status").body)["config"]["encrypted"], True, m.id + " encrypted")


@test
def test_the_client_speaks_https_with_a_test_ca(ctx):
    cs = certs()
    with Cluster(ctx, 1) as c:
        n = c.nodes[0]
        n.extra += ["--tls-cert=" + cs.cert("one"), "--tls-key=" + cs.key("one")]
        n.tls = cs.context()
        n.start()
        url = "https://127.0.0.1:%d" % n.port
        ok(ctx, url, "--cacert", cs.ca, "put", "secure", "yes")
        eq(ok(ctx, url, "--cacert", cs.ca, "get", "--value-only", "secure").out, "yes", "a value over HTTPS")
        expect_exit(ctx, EXIT_UNREACHABLE, url, "status")  # the test CA is not trusted by default
        eq(ok(ctx, url, "--insecure", "status", "--json").json()["tls"]["enabled"], True, "status over HTTPS")
        expect_exit(ctx, EXIT_UNREACHABLE, "127.0.0.1:%d" % n.port, "status")  # plain HTTP gets no answer


@test
def test_help_lists_every_command_flag_and_exit_code(ctx):
    top = chorus(ctx, None, "--help")
    eq(top.rc, 0, "chorus --help")
    for cmd in ("get", "put", "delete", "members", "ring", "lookup", "status", "transfers", "repair", "events",
                "keys", "bench"):
        check(re.search(r"^\s+%s\s" % cmd, top.out, re.M), "%s missing from --help" % cmd)
    for code in range(8):
        check(re.search(r"^\s+%d\s" % code, top.out, re.M), "exit code %d not documented" % code)
    g = chorus(ctx, None, "get", "--help")
    eq(g.rc, 0, "get --help")
    check("--context-only" in g.out and "--follow" not in g.out, "get --help: %r" % g.out)
    b = chorus(ctx, None, "bench", "-h")
    check("--rate" in b.out and "--read-ratio" in b.out, "bench --help: %r" % b.out)


if __name__ == "__main__":
    sys.exit(main())
