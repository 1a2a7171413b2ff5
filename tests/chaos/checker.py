"""The chaos run's lost-write checker (DESIGN §9): reads a run's history,
the final per-replica reads and the nemesis log, and says whether any
acknowledged write was lost, any superseded version came back, any
version nobody wrote turned up, or any key's replicas still differ.

Owns: the model of versions and supersession, verdict.json's format, the
availability and latency figures, and the CLI
`python3 tests/chaos/checker.py RUN_DIR` (exit 0 when valid, 1 when not,
2 when the run's files cannot be read). `check(history, final, nemesis)`
is the entry point for tests and the runner; it never reads files.

The model, per key:
- A version is a node of a graph: ("op", id) for a write or delete of the
  history; ("dot", d) for a dot no write can be tied to (a tombstone whose
  delete's reply never came, a `replaced` dot never seen with a value);
  ("phantom", d) for a sibling carrying a value nobody wrote for this key
  (or a tombstone carrying a put's dot).
- A live sibling maps to its put by value (values are unique in the run);
  a tombstone maps to its delete only by dot. Dots are learned from write
  replies and from every sibling seen anywhere (reads, obs, final).
- Edges "u supersedes v" come from what the client logged: a write sent with
  a context supersedes obs(w); a blind write with a reply supersedes its
  `replaced` dots; a blind write whose reply never came supersedes every
  version its own sibling's `seen` covers (found wherever it was seen). The
  server's `seen` is never used for writes sent with a context.
- A tombstone no delete can be tied to stands for one of the key's deletes
  whose dot is unknown (when there is exactly one such delete and one such
  tombstone, it is that delete); it supersedes only what every such delete
  supersedes. With no such delete it is a phantom.
- F(k) is the union of the siblings every readable replica holds. Preserved
  = reachable backwards from F(k); lost = acknowledged and not preserved.
  Resurrected = a version of F(k) reachable by at least one edge from an
  acknowledged write. Each closure is one graph search per key, so the
  check is linear in the history's size.
- A write that "failed" but turns up anyway is counted as present (the
  client may be wrong about a failure) and listed in notes.
- A version is reported under at most one failure kind: a phantom is not
  also reported resurrected. Lists are capped at LIST_LIMIT entries; the
  counts are exact.
"""

import json
import math
import os
import sys
from bisect import bisect_right

LIST_LIMIT = 50
FAILURE_KINDS = ("lost", "resurrected", "phantom", "divergent")
WRITE_OPS = ("write", "delete")


# ---------------------------------------------------------------- input


def load_jsonl(path):
    """The objects of a JSON-lines file; a cut-off last line (a run killed
    mid-write) is ignored, a malformed line elsewhere is an error."""
    with open(path, encoding="utf-8") as f:
        lines = [l for l in f.read().splitlines() if l.strip()]
    out = []
    for i, line in enumerate(lines):
        try:
            out.append(json.loads(line))
        except ValueError:
            if i != len(lines) - 1:
                raise ValueError("%s: line %d is not JSON" % (path, i + 1))
    return out


def load_run(run_dir):
    """(history, final, nemesis) of a run directory; nemesis.jsonl may be absent."""
    history = load_jsonl(os.path.join(run_dir, "history.jsonl"))
    with open(os.path.join(run_dir, "final.json"), encoding="utf-8") as f:
        final = json.load(f)
    nem_path = os.path.join(run_dir, "nemesis.jsonl")
    nemesis = load_jsonl(nem_path) if os.path.exists(nem_path) else []
    return history, final, nemesis


def history_end(history):
    """The time of the history's last event (0 for an empty history)."""
    times = [t for op in history for t in (op.get("end"), op.get("start")) if t is not None]
    return max(times, default=0.0)


def fault_intervals(nemesis, end_of_history):
    """[(fault name, start, end, record)], an open fault ending with the history."""
    out = []
    for f in nemesis:
        start = f.get("start")
        if start is None:
            continue
        end = f.get("end")
        end = max(end_of_history, start) if end is None else end
        out.append((str(f.get("fault", "?")), float(start), float(end), f))
    return out


# ---------------------------------------------------------------- dots and ops


def dot_of(d):
    """A dot ({"node", "counter"} of a reply or a sibling) as a tuple, or None."""
    if not isinstance(d, dict) or d.get("node") is None or d.get("counter") is None:
        return None
    return (str(d["node"]), int(d["counter"]))


def dot_str(dot):
    return None if dot is None else "%s:%d" % dot


def is_write(op):
    return op.get("f") in WRITE_OPS


def is_blind(op):
    """Sent without a context (a write's obs is null exactly then)."""
    return bool(op.get("blind")) or op.get("obs") is None


def is_live(sib):
    return not sib.get("deleted")


def merge_seen(a, b):
    """The element-wise max of two version vectors."""
    out = dict(a)
    for actor, c in (b or {}).items():
        if c is not None and c > out.get(actor, 0):
            out[actor] = c
    return out


class Notes:
    """Observations that are not failures; the first LIST_LIMIT are kept."""

    def __init__(self):
        self.items, self.total = [], 0

    def add(self, text):
        self.total += 1
        if len(self.items) < LIST_LIMIT:
            self.items.append(text)


# ---------------------------------------------------------------- the per-key model


class KeyModel:
    """Everything the history and the final reads say about one key's versions."""

    def __init__(self, key):
        self.key = key
        self.ops = {}  # op id -> write or delete of this key
        self.by_value = {}  # put value -> op id
        self.sightings = []  # (sibling, where): every sibling seen in a read, an obs or the final reads
        self.dot_op = {}  # dot -> op id
        self.candidates = []  # ids of deletes whose dot is unknown
        self.tomb_dots = set()  # dots of tombstone siblings tied to no delete
        self.dots = {}  # node -> set of its dots
        self.by_actor = {}  # actor -> (sorted counters, nodes in the same order)
        self.seen = {}  # node -> merged `seen` of its siblings
        self.edges = {}  # node -> set of nodes it supersedes
        self.seen_edges = {}  # node -> vector: it supersedes every version the vector covers

    # -- resolution

    def dot_node(self, dot):
        op_id = self.dot_op.get(dot)
        return ("op", op_id) if op_id is not None else ("dot", dot)

    def resolve(self, sib):
        """The version node a sibling names."""
        dot = dot_of(sib)
        if is_live(sib):
            op_id = self.by_value.get(sib.get("value"))
            return ("op", op_id) if op_id is not None else ("phantom", dot)
        op_id = self.dot_op.get(dot)
        if op_id is None:
            return ("dot", dot)
        return ("op", op_id) if self.ops[op_id].get("f") == "delete" else ("phantom", dot)

    def explicit_edges(self, op):
        """What op supersedes by the client's log: its obs, or for a blind
        write its reply's `replaced`; None when only its `seen` can tell."""
        if not is_blind(op):
            return {self.resolve(s) for s in op.get("obs") or ()}
        if op.get("replaced") is not None:
            return {self.dot_node(dot_of(d)) for d in op["replaced"] if dot_of(d)}
        return None

    def covered(self, node, vector):
        return any(c <= vector.get(actor, 0) for actor, c in self.dots.get(node, ()))

    def is_phantom(self, node):
        return node[0] == "phantom" or (node[0] == "dot" and not self.candidates)

    def version_name(self, node):
        """A version as verdict.json names it: a put's value, else its dot."""
        if node[0] == "op":
            op = self.ops[node[1]]
            if op.get("f") == "write":
                return op.get("value")
            return "tombstone " + (dot_str(self.op_dot(node[1])) or "?")
        return ("tombstone " if node[0] == "dot" else "") + (dot_str(node[1]) or "?")

    def op_dot(self, op_id):
        """The op's dot: its reply's, else one learned from its siblings."""
        dot = dot_of(self.ops[op_id].get("dot"))
        return dot or min(self.dots.get(("op", op_id), ()), default=None)


def build_models(history, final, notes):
    """key -> KeyModel, its graph built, for every key a write touched or final.json lists."""
    models = {}

    def model(key):
        if key not in models:
            models[key] = KeyModel(key)
        return models[key]

    reads = []
    for op in history:
        if op.get("key") is None:
            continue
        if is_write(op):
            _add_op(model(op["key"]), op, notes)
        elif op.get("f") == "read" and op.get("siblings"):
            reads.append(op)
    for key, entry in (final.get("keys") or {}).items():
        m = model(key)
        for rep in (entry.get("replicas") or {}).values():
            m.sightings.extend((s, "final") for s in rep.get("siblings") or ())
    for key in final.get("written_keys") or ():
        model(key)
    for op in reads:  # a key only ever read is no key of the check
        if op["key"] in models:
            models[op["key"]].sightings.extend((s, "read") for s in op["siblings"])
    for m in models.values():
        _learn_dots(m, notes)
        _attribute_tombstones(m)
        _index_dots(m)
        _build_edges(m)
    return models


def _add_op(m, op, notes):
    op_id = op.get("id")
    m.ops[op_id] = op
    if op.get("f") == "write":
        value = op.get("value")
        if value in m.by_value:
            notes.add("key %s: value %r written by ops %s and %s" % (m.key, value, m.by_value[value], op_id))
        else:
            m.by_value[value] = op_id
    m.sightings.extend((s, "obs") for s in op.get("obs") or ())


def _learn_dots(m, notes):
    """dot -> op from the replies, then from every live sibling seen."""

    def learn(dot, op_id):
        prev = m.dot_op.setdefault(dot, op_id)
        if prev != op_id:
            notes.add("key %s: dot %s names both op %s and op %s" % (m.key, dot_str(dot), prev, op_id))

    for op_id, op in m.ops.items():
        dot = dot_of(op.get("dot"))
        if dot:
            learn(dot, op_id)
    for sib, _ in m.sightings:
        op_id = m.by_value.get(sib.get("value")) if is_live(sib) else None
        if op_id is not None and dot_of(sib):
            learn(dot_of(sib), op_id)


def _attribute_tombstones(m):
    """Finds the tombstones no delete's reply names and the deletes without a
    dot; one of each means that tombstone is that delete."""
    known = set(m.dot_op.values())
    m.candidates = [i for i, op in m.ops.items() if op.get("f") == "delete" and i not in known]
    m.tomb_dots = {dot_of(s) for s, _ in m.sightings
                   if not is_live(s) and dot_of(s) and dot_of(s) not in m.dot_op}
    if len(m.candidates) == 1 and len(m.tomb_dots) == 1:
        m.dot_op[m.tomb_dots.pop()] = m.candidates.pop()


def _index_dots(m):
    """Ties every dot mentioned anywhere to its node (the first tie wins),
    merges each node's `seen`, and sorts the dots per actor for coverage."""
    node_of = {}

    def tie(dot, node):
        if dot and node_of.setdefault(dot, node) == node:
            m.dots.setdefault(node, set()).add(dot)

    for dot, op_id in m.dot_op.items():
        tie(dot, ("op", op_id))
    for sib, _ in m.sightings:
        node = m.resolve(sib)
        tie(dot_of(sib), node)
        if sib.get("seen"):
            m.seen[node] = merge_seen(m.seen.get(node, {}), sib["seen"])
    for op in m.ops.values():
        for d in op.get("replaced") or ():
            tie(dot_of(d), m.dot_node(dot_of(d)))
    per_actor = {}
    for (actor, counter), node in node_of.items():
        per_actor.setdefault(actor, []).append((counter, node))
    for actor, pairs in per_actor.items():
        pairs.sort(key=lambda p: p[0])
        m.by_actor[actor] = ([c for c, _ in pairs], [n for _, n in pairs])


def _build_edges(m):
    for op_id, op in m.ops.items():
        _set_edges(m, ("op", op_id), m.explicit_edges(op))
    if m.candidates:
        for dot in m.tomb_dots:
            _set_candidate_edges(m, ("dot", dot))


def _set_edges(m, node, explicit):
    """explicit: a set of nodes, or None for "what the node's own seen covers"."""
    if explicit is not None:
        m.edges[node] = explicit - {node}
    elif m.seen.get(node):
        m.seen_edges[node] = m.seen[node]


def _set_candidate_edges(m, node):
    """An unattributed tombstone supersedes what every candidate delete would."""
    sets = [m.explicit_edges(m.ops[i]) for i in m.candidates]
    explicit = [s for s in sets if s is not None]
    if not explicit:
        _set_edges(m, node, None)
        return
    vector = m.seen.get(node, {})
    needs_cover = len(explicit) < len(sets)
    base = min(explicit, key=len)
    _set_edges(m, node, {n for n in base if all(n in s for s in explicit)
                         and (not needs_cover or m.covered(n, vector))})


def closure(m, starts, strict=False):
    """The versions reachable backwards through supersession from starts, as
    node -> the start it was reached from. strict: a start is included only
    when another start (or itself, through a cycle) reaches it."""
    reached, stack, cover = {}, [], {}

    def visit(node, root):
        if node not in reached:
            reached[node] = root
            stack.append(node)

    def expand(node, root):
        for n in m.edges.get(node, ()):
            visit(n, root)
        for actor, c in m.seen_edges.get(node, {}).items():
            counters, nodes = m.by_actor.get(actor, ((), ()))
            lo, hi = cover.get(actor, 0), bisect_right(counters, c)
            for i in range(lo, hi):
                if nodes[i] != node:
                    visit(nodes[i], root)
            cover[actor] = max(lo, hi)

    for node in starts:
        (expand if strict else visit)(node, node)
    while stack:
        node = stack.pop()
        expand(node, reached[node])
    return reached


# ---------------------------------------------------------------- per-key verdict


def present_versions(m, entry):
    """F(k): node -> one sibling naming it, over every readable replica."""
    present = {}
    for rep in (entry.get("replicas") or {}).values():
        if rep.get("status") in ("ok", "missing"):
            for sib in rep.get("siblings") or ():
                present.setdefault(m.resolve(sib), sib)
    return present


def readable(entry):
    return any(r.get("status") in ("ok", "missing") for r in (entry.get("replicas") or {}).values())


def check_key(m, entry, notes):
    """{"lost": [...], "resurrected": [...], "phantom": [...]} for one key read in final.json."""
    present = present_versions(m, entry)
    acked = [("op", i) for i, op in m.ops.items() if op.get("outcome") == "ok"]
    preserved = closure(m, present)
    superseded = closure(m, acked, strict=True)
    lost = [{"key": m.key, "id": node[1], "value": m.ops[node[1]].get("value"), "dot": dot_str(m.op_dot(node[1]))}
            for node in acked if node not in preserved]
    phantom = [{"key": m.key, "sibling": sib} for node, sib in present.items() if m.is_phantom(node)]
    resurrected = [{"key": m.key, "version": m.version_name(node), "superseded_by": superseded[node][1]}
                   for node in present if node in superseded and not m.is_phantom(node)]
    _note_surprises(m, present, notes)
    return {"lost": lost, "resurrected": resurrected, "phantom": phantom}


def _note_surprises(m, present, notes):
    for node in present:
        if node[0] == "op" and m.ops[node[1]].get("outcome") == "fail":
            notes.add("key %s: op %s failed but its version is present" % (m.key, node[1]))
    for sib, where in m.sightings:
        if where == "read" and is_live(sib) and sib.get("value") not in m.by_value:
            notes.add("key %s: a read returned %r, which nobody wrote" % (m.key, sib.get("value")))


def divergence(entry):
    """Why a key's owners' replicas differ, or None when they agree."""
    replicas = entry.get("replicas") or {}
    owners = entry.get("owners") or sorted(replicas)
    states = {}
    for owner in owners:
        rep = replicas.get(owner)
        if rep is None:
            return "owner %s not read" % owner
        if rep.get("status") not in ("ok", "missing"):
            return "replica %s: %s %s" % (owner, rep.get("status"), rep.get("error") or "")
        states[owner] = frozenset((dot_str(dot_of(s)), bool(s.get("deleted")), s.get("value"))
                                  for s in rep.get("siblings") or ())
    union = frozenset().union(*states.values()) if states else frozenset()
    lacking = ["%s lacks %s" % (o, ", ".join(sorted(str(v[0]) for v in union - s)[:5]))
               for o, s in states.items() if s != union]
    return "replicas differ: " + "; ".join(lacking) if lacking else None


# ---------------------------------------------------------------- figures


def kind_of(op):
    return "read" if op.get("f") == "read" else "write"


def _ratio(ok, n):
    return round(ok / n, 6) if n else None


def availability(history, nemesis):
    """Per fault kind (plus "all" and "none"), ok / all for reads and writes,
    by the fault(s) active when each op started."""
    faults = fault_intervals(nemesis, history_end(history))
    bounds = sorted({t for _, s, e, _ in faults for t in (s, e)})
    active = [frozenset(name for name, s, e, _ in faults if s <= b < e) for b in bounds]
    tally = {}

    def count(group, kind, ok):
        t = tally.setdefault(group, {"read": [0, 0], "write": [0, 0]})[kind]
        t[0] += ok
        t[1] += 1

    for op in history:
        if op.get("f") not in ("read",) + WRITE_OPS:
            continue
        kind, ok, start = kind_of(op), op.get("outcome") == "ok", op.get("start") or 0.0
        i = bisect_right(bounds, start) - 1
        names = active[i] if i >= 0 else frozenset()
        for group in ("all",) + (tuple(names) or ("none",)):
            count(group, kind, ok)
    for group in ["none"] + [name for name, _, _, _ in faults]:
        tally.setdefault(group, {"read": [0, 0], "write": [0, 0]})
    return {group: {"read": _ratio(*t["read"]), "write": _ratio(*t["write"]),
                    "read_ops": t["read"][1], "write_ops": t["write"][1]}
            for group, t in tally.items()}


def percentile(sorted_values, p):
    """Nearest-rank percentile of a sorted list (None when empty)."""
    if not sorted_values:
        return None
    return sorted_values[max(0, math.ceil(p / 100.0 * len(sorted_values)) - 1)]


def latency(history):
    """p50, p99 and max latency in ms of the ok reads and ok writes (deletes included)."""
    ms = {"read": [], "write": []}
    for op in history:
        timed = op.get("start") is not None and op.get("end") is not None
        if timed and op.get("outcome") == "ok" and op.get("f") in ("read",) + WRITE_OPS:
            ms[kind_of(op)].append((op["end"] - op["start"]) * 1000.0)
    out = {}
    for kind, values in ms.items():
        values.sort()
        out[kind] = {"p50": percentile(values, 50), "p99": percentile(values, 99), "max": percentile(values, 100)}
    return out


def op_counts(history):
    writes = [op for op in history if is_write(op)]
    return {"ops": len(history), "reads": sum(op.get("f") == "read" for op in history), "writes": len(writes),
            "acknowledged": sum(op.get("outcome") == "ok" for op in writes),
            "indeterminate": sum(op.get("outcome") == "info" for op in writes),
            "failed": sum(op.get("outcome") == "fail" for op in writes)}


# ---------------------------------------------------------------- the check


def check(history, final, nemesis):
    """The verdict (see verdict.json in the module's docstring) of one run."""
    notes = Notes()
    models = build_models(history, final, notes)
    found = {kind: [] for kind in FAILURE_KINDS}
    final_keys = final.get("keys") or {}
    for key in sorted(models, key=str):
        m, entry = models[key], final_keys.get(key)
        if entry is None:
            found["divergent"].append({"key": key, "reason": "not read"})
            continue
        reason = divergence(entry)
        if reason:
            found["divergent"].append({"key": key, "reason": reason})
        if not readable(entry):
            notes.add("key %s: no replica could be read, lost writes not evaluated" % key)
            continue
        for kind, items in check_key(m, entry, notes).items():
            found[kind].extend(items)
    counts = op_counts(history)
    counts.update({kind: len(found[kind]) for kind in FAILURE_KINDS})
    counts["keys"] = len(models)
    verdict = {"valid": all(counts[kind] == 0 for kind in FAILURE_KINDS), "counts": counts}
    verdict.update({kind: found[kind][:LIST_LIMIT] for kind in FAILURE_KINDS})
    verdict["availability"] = availability(history, nemesis)
    verdict["latency_ms"] = latency(history)
    verdict["notes"] = notes.items
    verdict["notes_total"] = notes.total
    return verdict


def verdict_line(verdict):
    c, avail = verdict["counts"], verdict["availability"].get("all", {})

    def fmt(r):
        return "-" if r is None else "%.2f" % r

    return "%s  ops %d  acked %d  lost %d  resurrected %d  phantom %d  divergent %d  avail w %s r %s" % (
        "valid" if verdict["valid"] else "INVALID", c["ops"], c["acknowledged"], c["lost"], c["resurrected"],
        c["phantom"], c["divergent"], fmt(avail.get("write")), fmt(avail.get("read")))


def main(argv):
    if len(argv) != 2:
        print("usage: checker.py RUN_DIR", file=sys.stderr)
        return 2
    try:
        history, final, nemesis = load_run(argv[1])
    except (OSError, ValueError) as e:
        print("checker: %s" % e, file=sys.stderr)
        return 2
    verdict = check(history, final, nemesis)
    with open(os.path.join(argv[1], "verdict.json"), "w", encoding="utf-8") as f:
        json.dump(verdict, f, indent=1, sort_keys=True)
        f.write("\n")
    print(verdict_line(verdict))
    return 0 if verdict["valid"] else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
