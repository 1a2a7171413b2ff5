"""Tests of the chaos checker (checker.py) on made-up histories, and a smoke
test of the plot (plot.py). Python 3 standard library only; needs no
chorusd: `python3 tests/chaos/test_checker.py [-k NAME]` (the registry and
runner of tests/http/harness.py; ends with "N passed, N failed").

Owns: the history builder H and the tests.

Invariants: every failure kind (lost, resurrected, phantom, divergent) has
a test that a checker always answering "valid" fails; every tricky correct
case (supersession by a blind write's `replaced`, by an unacknowledged
write, through a tombstone, by a write whose reply never came) has a test
that a checker too eager to fail fails. The suite runs in a few seconds.
"""

import contextlib
import io
import json
import os
import sys
import tempfile
import time
import xml.etree.ElementTree as ET

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "http"))

import checker  # noqa: E402
import plot  # noqa: E402
from harness import check, eq, main, test  # noqa: E402

# ---------------------------------------------------------------- building histories

OWNERS = ("n1", "n2", "n3")
STATUS = {"ok": 200, "fail": 503, "info": None}


def dot(s):
    """"a:3" -> {"node": "a", "counter": 3}; None stays None."""
    if s is None:
        return None
    node, _, counter = s.rpartition(":")
    return {"node": node, "counter": int(counter)}


def sib(d, value, seen=None):
    """A live sibling with dot d ("a:3")."""
    return dict(dot(d), value=value, deleted=False, seen=seen or {})


def tomb(d, seen=None):
    return dict(dot(d), value=None, deleted=True, seen=seen or {})


class H:
    """A made-up history: ids (from 0, as the chaos client's) and times are
    given in order of the calls."""

    def __init__(self):
        self.ops = []

    def _op(self, f, key, outcome, **fields):
        t = 0.1 * len(self.ops)
        op = {"id": len(self.ops), "client": 1, "node": "n1", "f": f, "key": key, "blind": False,
              "value": None, "obs": None, "start": t, "end": t + 0.005, "outcome": outcome,
              "status": STATUS[outcome], "error": None, "dot": None, "replaced": None, "siblings": None}
        op.update(fields)
        self.ops.append(op)
        return op

    def _change(self, f, key, value, d, obs, replaced, outcome):
        """obs None means blind; replaced is a list of "a:1" strings."""
        return self._op(f, key, outcome, value=value, dot=dot(d), blind=obs is None,
                        obs=None if obs is None else list(obs),
                        replaced=None if replaced is None else [dot(r) for r in replaced])

    def put(self, key, value, d=None, obs=(), replaced=None, outcome="ok"):
        return self._change("write", key, value, d, obs, replaced, outcome)

    def delete(self, key, d=None, obs=(), replaced=None, outcome="ok"):
        return self._change("delete", key, None, d, obs, replaced, outcome)

    def read(self, key, siblings, outcome="ok"):
        live = any(not s["deleted"] for s in siblings)
        return self._op("read", key, outcome, siblings=list(siblings), status=200 if live else 404)


def replicas(**per_node):
    """A final.json entry: node -> list of siblings, None (missing) or "error"."""
    reps = {}
    for node, sibs in per_node.items():
        if sibs == "error":
            reps[node] = {"status": "error", "error": "timed out"}
        else:
            reps[node] = {"status": "missing" if sibs is None else "ok", "siblings": list(sibs or ())}
    return {"owners": sorted(per_node), "replicas": reps}


def same(*sibs):
    """A final.json entry whose three owners agree."""
    return replicas(**{n: list(sibs) for n in OWNERS})


def run(h, keys, nemesis=()):
    """The checker's verdict on history h and final entries keys (key -> entry)."""
    final = {"keys": keys, "written_keys": sorted(keys)}
    return checker.check(h.ops, final, list(nemesis))


def failures(v):
    return {k: v["counts"][k] for k in checker.FAILURE_KINDS}


def expect(v, **nonzero):
    """The verdict's failure counts are nonzero's, 0 elsewhere."""
    want = {k: nonzero.get(k, 0) for k in checker.FAILURE_KINDS}
    eq(failures(v), want, "failure counts")
    eq(v["valid"], not nonzero, "valid")


# ---------------------------------------------------------------- correct histories


@test
def single_acknowledged_write_is_valid(ctx):
    h = H()
    h.put("k", "a", "x:1")
    v = run(h, {"k": same(sib("x:1", "a"))})
    expect(v)
    eq(v["counts"]["acknowledged"], 1, "acknowledged")


@test
def write_with_context_supersedes_what_it_read(ctx):
    h = H()
    h.put("k", "a", "x:1")
    h.put("k", "b", "x:2", obs=[sib("x:1", "a")])
    expect(run(h, {"k": same(sib("x:2", "b"))}))


@test
def concurrent_writes_both_present_is_valid(ctx):
    h = H()
    h.put("k", "a", "x:1")
    h.put("k", "b", "y:1", obs=[])
    expect(run(h, {"k": same(sib("x:1", "a"), sib("y:1", "b"))}))


@test
def chain_through_unacknowledged_write(ctx):
    h = H()
    h.put("k", "a", "x:1")
    h.put("k", "b", None, obs=[sib("x:1", "a")], outcome="info")  # its reply never came
    h.put("k", "c", "x:3", obs=[sib("x:2", "b")])
    expect(run(h, {"k": same(sib("x:3", "c"))}))


@test
def blind_write_replacing_a_concurrent_write(ctx):
    h = H()
    h.put("k", "a", "x:1")
    h.put("k", "b", "x:2", obs=None, replaced=["x:1"])
    expect(run(h, {"k": same(sib("x:2", "b"))}))


@test
def blind_write_without_reply_supersedes_what_its_seen_covers(ctx):
    h = H()
    h.put("k", "a", "x:1")
    h.put("k", "b", obs=None, outcome="info")
    expect(run(h, {"k": same(sib("x:2", "b", seen={"x": 1}))}))


@test
def blind_write_without_reply_found_in_a_read(ctx):
    h = H()
    h.put("k", "a", "x:1")
    h.put("k", "b", obs=None, outcome="info")
    h.read("k", [sib("x:2", "b", seen={"x": 1})])
    h.put("k", "c", "x:3", obs=[sib("x:2", "b")])  # this obs carries no seen
    expect(run(h, {"k": same(sib("x:3", "c"))}))


@test
def unknown_replaced_dot_learned_from_a_later_read(ctx):
    h = H()
    h.put("k", "x", "a:1")
    h.put("k", "y", None, obs=[sib("a:1", "x")], outcome="info")
    h.put("k", "z", "b:1", obs=None, replaced=["c:4"])  # c:4 is y, but nothing says so yet
    keys = {"k": same(sib("b:1", "z"))}
    expect(run(h, keys), lost=1)
    h.read("k", [sib("c:4", "y")])
    expect(run(h, keys))


@test
def tombstone_of_acknowledged_delete(ctx):
    h = H()
    h.put("k", "a", "x:1")
    h.delete("k", "x:2", obs=[sib("x:1", "a")])
    v = run(h, {"k": same(tomb("x:2"))})
    expect(v)
    eq(v["counts"]["writes"], 2, "writes (puts and deletes)")


@test
def write_after_delete_with_tombstone_context(ctx):
    h = H()
    h.put("k", "a", "x:1")
    h.delete("k", "x:2", obs=[sib("x:1", "a")])
    h.read("k", [tomb("x:2")])
    h.put("k", "b", "x:3", obs=[tomb("x:2")])
    expect(run(h, {"k": same(sib("x:3", "b"))}))


@test
def delete_whose_reply_never_came_is_its_tombstone(ctx):
    h = H()
    h.put("k", "a", "x:1")
    h.delete("k", obs=[sib("x:1", "a")], outcome="info")
    expect(run(h, {"k": same(tomb("y:7"))}))


@test
def blind_delete_whose_reply_never_came_uses_seen(ctx):
    h = H()
    h.put("k", "a", "x:1")
    h.delete("k", obs=None, outcome="info")
    expect(run(h, {"k": same(tomb("y:7", seen={"x": 1}))}))


@test
def a_seen_blind_write_covers_what_the_versions_it_replaced_had_seen(ctx):
    h = H()
    h.put("k", "a", "x:1")
    h.put("k", "b", obs=None, outcome="info")  # x:2, nobody ever saw it
    h.put("k", "c", "x:3", obs=None, replaced=["x:2"])  # nobody saw this one either
    h.put("k", "d", "x:4", obs=None, replaced=["x:3"])
    v = run(h, {"k": same(sib("x:4", "d", seen={"x": 3}))})
    expect(v)
    eq(v["unverified"], [], "unverified: d's own seen covers a")


@test
def unseen_blind_write_takes_the_seen_of_its_replacer(ctx):
    h = H()
    h.put("k", "a", "x:1")
    h.put("k", "b", obs=None, outcome="info")  # x:2, nobody ever saw it
    h.put("k", "c", "x:3", obs=None, replaced=["x:2"])  # seen only through a read
    h.read("k", [sib("x:3", "c", seen={"x": 2})])
    h.put("k", "d", "x:4", obs=[sib("x:3", "c", seen={"x": 2})])
    v = run(h, {"k": same(sib("x:4", "d"))})
    expect(v)
    eq(v["unverified"], [], "unverified")
    # c's seen unknown: what b superseded is inferred from nothing; a is lost
    h2 = H()
    h2.put("k", "a", "x:1")
    h2.put("k", "b", obs=[sib("x:1", "a")], outcome="info")
    h2.put("k", "c", "x:3", obs=None, replaced=["x:2"])
    h2.put("k", "d", "x:4", obs=[sib("x:3", "c", seen=None)])
    expect(run(h2, {"k": same(sib("x:4", "d"))}), lost=1)


@test
def a_blind_write_seen_beside_a_version_its_context_covers_is_a_resurrection(ctx):
    h = H()
    h.put("k", "a", "x:1")
    h.put("k", "b", obs=None, outcome="info")
    h.put("k", "c", "x:3", obs=None, replaced=["x:2"])
    # c's coordinator held b (x:2) and so a's past: a store holding a beside c is not one DVV sync allows
    expect(run(h, {"k": same(sib("x:1", "a"), sib("x:3", "c", seen={"x": 2}))}), resurrected=1)


@test
def unattributed_tombstone_is_the_delete_whose_context_matches_its_seen(ctx):
    h = H()
    h.put("k", "a", "x:1")
    h.put("k", "b", "y:1", obs=[])
    h.delete("k", obs=[sib("x:1", "a", seen={}), sib("y:1", "b", seen={})], outcome="info")
    h.delete("k", obs=[sib("x:1", "a", seen={})], outcome="info")
    expect(run(h, {"k": same(tomb("z:1", seen={"x": 1, "y": 1}))}))
    expect(run(h, {"k": same(tomb("z:1", seen={"x": 1}))}), lost=1)


@test
def acknowledged_delete_without_dot_is_its_tombstone(ctx):
    h = H()
    h.put("k", "a", "x:1")
    h.delete("k", obs=[sib("x:1", "a")])  # a 200 whose reply had no dot
    expect(run(h, {"k": same(tomb("x:2"))}))
    v = run(h, {"k": same(tomb("x:2"), tomb("x:3"))})  # which one is it? the delete cannot be told preserved
    expect(v, lost=1)
    eq(v["lost"][0]["id"], 1, "the lost op is the delete, not what it read")


@test
def write_whose_reply_never_came_is_not_lost(ctx):
    h = H()
    h.put("k", "a", "x:1")
    h.put("k", "b", obs=[], outcome="info")
    v = run(h, {"k": same(sib("x:1", "a"))})
    expect(v)
    eq(v["counts"]["indeterminate"], 1, "indeterminate")


@test
def failed_writes_are_neither_lost_nor_phantom(ctx):
    h = H()
    h.put("k", "a", "x:1")
    h.put("k", "b", obs=[], outcome="fail")  # did nothing
    h.put("k", "c", obs=[], outcome="fail")  # the client was wrong: it is there
    v = run(h, {"k": same(sib("x:1", "a"), sib("y:1", "c"))})
    expect(v)
    eq(v["counts"]["failed"], 2, "failed")
    check(any("failed but its version is present" in n for n in v["notes"]), "notes: %r" % v["notes"])


@test
def a_version_on_every_replica_counts_once(ctx):
    h = H()
    h.put("k", "a", "x:1")
    h.put("k", "b", "x:2", obs=[sib("x:1", "a")])
    v = run(h, {"k": same(sib("x:1", "a"), sib("x:2", "b"))})
    expect(v, resurrected=1)


# ---------------------------------------------------------------- lost


@test
def lost_when_absent(ctx):
    h = H()
    h.put("k", "a", "x:1")
    v = run(h, {"k": same()})
    expect(v, lost=1)
    eq(v["lost"], [{"key": "k", "id": 0, "value": "a", "dot": "x:1"}], "lost list")


@test
def lost_when_overwritten_by_a_write_that_never_saw_it(ctx):
    h = H()
    h.put("k", "a", "x:1")
    h.put("k", "b", "x:2", obs=[])  # read a 404 before a arrived
    expect(run(h, {"k": same(sib("x:2", "b"))}), lost=1)


@test
def seen_is_not_trusted_for_writes_with_context(ctx):
    h = H()
    h.put("k", "a", "x:1")
    h.put("k", "b", "x:2", obs=[])
    expect(run(h, {"k": same(sib("x:2", "b", seen={"x": 1}))}), lost=1)


@test
def seen_covers_exactly_its_counters(ctx):
    h = H()
    h.put("k", "a", "x:1")
    h.put("k", "b", "x:2", obs=[])
    h.put("k", "c", obs=None, outcome="info")
    v = run(h, {"k": same(sib("y:1", "c", seen={"x": 1}))})
    expect(v, lost=1)
    eq([e["value"] for e in v["lost"]], ["b"], "lost values")


@test
def acknowledged_delete_lost(ctx):
    h = H()
    h.put("k", "a", "x:1")
    h.delete("k", "x:2", obs=[sib("x:1", "a")])
    v = run(h, {"k": same()})
    expect(v, lost=2)  # the delete, and the write only it superseded


@test
def unattributed_tombstone_supersedes_only_what_every_candidate_read(ctx):
    h = H()
    h.put("k", "a", "x:1")
    h.put("k", "b", "y:1", obs=[])
    h.delete("k", obs=[sib("x:1", "a"), sib("y:1", "b")], outcome="info")
    h.delete("k", obs=[sib("x:1", "a")], outcome="info")
    v = run(h, {"k": same(tomb("z:1"))})
    expect(v, lost=1)
    eq([e["value"] for e in v["lost"]], ["b"], "lost values")


@test
def lists_are_capped_counts_are_exact(ctx):
    h = H()
    for i in range(60):
        h.put("k", "v%d" % i, "x:%d" % (i + 1), obs=[])
    v = run(h, {"k": same()})
    expect(v, lost=60)
    eq(len(v["lost"]), checker.LIST_LIMIT, "listed")


# ---------------------------------------------------------------- resurrected


@test
def resurrected_direct(ctx):
    h = H()
    h.put("k", "a", "x:1")
    b = h.put("k", "b", "x:2", obs=[sib("x:1", "a")])
    v = run(h, {"k": replicas(n1=[sib("x:2", "b")], n2=[sib("x:2", "b"), sib("x:1", "a")], n3="error")})
    expect(v, resurrected=1, divergent=1)
    eq(v["resurrected"], [{"key": "k", "version": "a", "superseded_by": b["id"]}], "resurrected list")


@test
def resurrected_through_unacknowledged_write(ctx):
    h = H()
    h.put("k", "a", "x:1")
    h.put("k", "b", "x:2", obs=[sib("x:1", "a")], outcome="info")
    c = h.put("k", "c", "x:3", obs=[sib("x:2", "b")])
    v = run(h, {"k": same(sib("x:1", "a"), sib("x:3", "c"))})
    expect(v, resurrected=1)
    eq(v["resurrected"][0]["superseded_by"], c["id"], "superseded_by")


@test
def deleted_value_back(ctx):
    h = H()
    h.put("k", "a", "x:1")
    h.delete("k", "x:2", obs=[sib("x:1", "a")])
    expect(run(h, {"k": same(sib("x:1", "a"), tomb("x:2"))}), resurrected=1)


@test
def resurrected_past_a_blind_write(ctx):
    h = H()
    h.put("k", "a", "x:1")
    h.put("k", "b", "x:2", obs=None, replaced=["x:1"])
    expect(run(h, {"k": same(sib("x:1", "a"), sib("x:2", "b"))}), resurrected=1)


# ---------------------------------------------------------------- phantom


@test
def phantom_value_nobody_wrote(ctx):
    h = H()
    h.put("k", "a", "x:1")
    v = run(h, {"k": same(sib("x:1", "a"), sib("q:9", "invented"))})
    expect(v, phantom=1)
    eq(v["phantom"][0]["sibling"]["value"], "invented", "phantom sibling")


@test
def phantom_value_written_to_another_key(ctx):
    h = H()
    h.put("k1", "a", "x:1")
    expect(run(h, {"k1": same(sib("x:1", "a")), "k2": same(sib("x:1", "a"))}), phantom=1)


@test
def phantom_tombstone_without_any_delete(ctx):
    h = H()
    h.put("k", "a", "x:1")
    expect(run(h, {"k": same(sib("x:1", "a"), tomb("z:3"))}), phantom=1)


# ---------------------------------------------------------------- divergent


@test
def divergent_replicas_differ(ctx):
    h = H()
    h.put("k", "a", "x:1")
    v = run(h, {"k": replicas(n1=[sib("x:1", "a")], n2=[sib("x:1", "a")], n3=None)})
    expect(v, divergent=1)
    check("n3 lacks x:1" in v["divergent"][0]["reason"], v["divergent"][0]["reason"])


@test
def divergent_replica_unreadable(ctx):
    h = H()
    h.put("k", "a", "x:1")
    expect(run(h, {"k": replicas(n1=[sib("x:1", "a")], n2=[sib("x:1", "a")], n3="error")}), divergent=1)


@test
def divergent_tombstone_on_one_replica_only(ctx):
    h = H()
    h.put("k", "a", "x:1")
    h.delete("k", "x:2", obs=[sib("x:1", "a")])
    expect(run(h, {"k": replicas(n1=[tomb("x:2")], n2=None, n3=None)}), divergent=1)


@test
def key_written_but_not_read_is_divergent(ctx):
    h = H()
    h.put("k", "a", "x:1")
    h.put("other", "b", "x:1")
    v = run(h, {"k": same(sib("x:1", "a"))})
    expect(v, divergent=1)
    eq(v["divergent"], [{"key": "other", "reason": "not read"}], "divergent list")


@test
def missing_and_empty_replicas_agree(ctx):
    h = H()
    h.put("k", "a", obs=[], outcome="fail")
    expect(run(h, {"k": replicas(n1=None, n2=[], n3=None)}))


# ---------------------------------------------------------------- figures, CLI, scale


@test
def availability_per_fault_kind(ctx):
    h = H()
    for i in range(20):  # ops start at 0.0, 0.1, ... 1.9
        if i % 2:
            h.read("k", [sib("x:1", "a")], outcome="ok" if i < 10 else "fail")
        else:
            h.put("k", "v%d" % i, "x:%d" % (i + 1), obs=None, replaced=[], outcome="ok" if i < 10 else "info")
    nemesis = [{"fault": "kill", "start": 0.95, "end": 1.45, "targets": ["n2"]},
               {"fault": "pause", "start": 1.25, "end": None, "targets": ["n3"]}]
    a = run(h, {"k": same()}, nemesis)["availability"]
    eq(a["all"], {"read": 0.5, "write": 0.5, "read_ops": 10, "write_ops": 10}, "all")
    eq(a["none"], {"read": 1.0, "write": 1.0, "read_ops": 5, "write_ops": 5}, "none")
    eq((a["kill"]["read_ops"], a["kill"]["write_ops"], a["kill"]["read"]), (2, 3, 0.0), "kill")
    eq((a["pause"]["read_ops"], a["pause"]["write"]), (4, 0.0), "pause (open-ended)")


@test
def availability_elsewhere_counts_the_nodes_a_fault_did_not_hit(ctx):
    h = H()
    for i in range(8):  # during a partition of n1 alone: ops to n1 fail, the others succeed
        h.read("k", [sib("x:1", "a")], outcome="fail" if i % 2 else "ok")["node"] = "n1" if i % 2 else "n2"
    nemesis = [{"fault": "partition-one", "start": 0.0, "end": 1.0, "targets": ["n1"]},
               {"fault": "partition-ring", "start": 0.0, "end": 1.0, "targets": ["n1", "n2"]}]
    a = run(h, {"k": same()}, nemesis)["availability"]
    eq((a["partition-one"]["read"], a["partition-one"]["read_ops"]), (0.5, 8), "the whole fault")
    eq((a["partition-one elsewhere"]["read"], a["partition-one elsewhere"]["read_ops"]), (1.0, 4),
       "the majority side")
    check("partition-ring elsewhere" not in a, "a fault that hit every node has no elsewhere: %r" % a)


@test
def availability_null_without_ops(ctx):
    v = run(H(), {}, [{"fault": "wipe", "start": 1.0, "end": 2.0, "targets": []}])
    eq(v["availability"]["wipe"]["read"], None, "ratio of no ops")
    eq(v["latency_ms"]["write"]["p50"], None, "latency of no ops")
    expect(v)


@test
def latency_percentiles_of_ok_ops(ctx):
    h = H()
    for i in range(101):  # ok writes of 1 .. 100 ms, and a slow one that timed out
        op = h.put("k", "v%d" % i, obs=[], outcome="ok" if i < 100 else "info")
        op["end"] = op["start"] + (i + 1) / 1000.0
    lat = run(h, {"k": same()})["latency_ms"]["write"]
    eq([round(lat[p], 6) for p in ("p50", "p99", "max")], [50.0, 99.0, 100.0], "p50 p99 max")


@test
def cli_writes_verdict_and_exit_code(ctx):
    h = H()
    h.put("k", "a", "x:1")
    with tempfile.TemporaryDirectory() as d:
        with open(os.path.join(d, "history.jsonl"), "w") as f:
            f.write("\n".join(json.dumps(op) for op in h.ops) + '\n{"id": 2, "f": "wr')  # a cut-off last line
        with open(os.path.join(d, "nemesis.jsonl"), "w") as f:
            f.write(json.dumps({"fault": "kill", "start": 0.0, "end": 1.0, "targets": ["n1"]}) + "\n")
        for keys, rc, word in (({"k": same(sib("x:1", "a"))}, 0, "valid"), ({"k": same()}, 1, "INVALID")):
            with open(os.path.join(d, "final.json"), "w") as f:
                json.dump({"keys": keys, "written_keys": ["k"]}, f)
            out = io.StringIO()
            with contextlib.redirect_stdout(out):
                eq(checker.main(["checker.py", d]), rc, "exit code")
            check(out.getvalue().startswith(word + "  ops 1  acked 1"), out.getvalue())
            with open(os.path.join(d, "verdict.json")) as f:
                eq(json.load(f)["valid"], rc == 0, "verdict.json valid")


@test
def long_chains_are_fast(ctx):
    h = H()
    keys = {}
    for k in range(10):
        key = "k%d" % k
        prev = []
        for i in range(2000):
            op = h.put(key, "%s-%d" % (key, i), "x:%d" % (i + 1), obs=prev, outcome="info" if i % 3 else "ok")
            prev = [sib("x:%d" % (i + 1), op["value"])]
        keys[key] = same(*prev)
    t0 = time.monotonic()
    v = run(h, keys)
    elapsed = time.monotonic() - t0
    expect(v)
    check(elapsed < 2.0, "20000 writes took %.2f s" % elapsed)


@test
def plot_writes_well_formed_thinned_svg(ctx):
    h = H()
    for i in range(30000):
        h.put("k", "v%d" % i, obs=[], outcome=("ok", "ok", "ok", "info", "fail")[i % 5])
    nemesis = [{"fault": "partition-half", "start": 100.0, "end": None, "targets": ["n1", "n2"]}]
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "latency.svg")
        plot.plot(h.ops, nemesis, path)
        root = ET.parse(path).getroot()
    uses = [e for e in root.iter("{http://www.w3.org/2000/svg}use")]
    check(plot.MAX_POINTS <= len(uses) <= plot.MAX_POINTS + len(plot.OUTCOMES), "%d markers" % len(uses))
    labels = [e.text for e in root.iter("{http://www.w3.org/2000/svg}text")]
    check("partition-half n1 n2" in labels, "fault label missing: %r" % labels[:20])


if __name__ == "__main__":
    sys.exit(main())
