"""The chaos run's lost-write checker (DESIGN §9): reads a run's history,
the final per-replica reads and the nemesis log, and says whether any
acknowledged write was lost, any superseded version came back, any
version nobody wrote turned up, or any key's replicas still differ.

Owns: the model of versions and supersession, verdict.json's format, the
availability and latency figures, and the CLI
`python3 tests/chaos/checker.py RUN_DIR` (exit 0 when valid, 1 when not,
2 when the run's files cannot be read). `check(history, final, nemesis)`
is the entry point for tests and the runner; it never reads files.

The model, per key (DESIGN §9; decisions beyond it are marked *):
- A version is a node: ("op", id) for a write or delete of the history;
  ("dot", d) for a dot no write can be tied to (a tombstone whose delete's
  reply never came, a `replaced` dot never seen with a value); ("phantom",
  d) for a sibling whose value nobody wrote for this key (*or a tombstone
  carrying a put's dot).
- A live sibling maps to its put by value (values are unique in the run);
  a tombstone to its delete only by dot. Dots are learned from replies and
  from every sibling seen anywhere (reads, obs, final), before any edge is
  drawn, so a dot first met in a `replaced` still resolves to its put.
- Edges "u supersedes v" come from the client's log: a write sent with a
  context supersedes obs(w); a blind write its reply's `replaced` and, when
  its sibling was seen anywhere (a read, an obs or final), what that
  sibling's `seen` covers: the context its coordinator held, so the
  replaced versions' own past too, even when one of them was never seen
  with its dot. `seen` is never used for what a write sent with a context
  supersedes.
- A tombstone tied to no delete stands for one of the key's deletes whose
  dot is unknown; with exactly one such delete and one such tombstone it is
  that delete. Otherwise it supersedes what every delete that may have made
  it supersedes (the intersection); *a delete sent with a context may have
  made it only if the join of its obs' seen and dots equals the tombstone's
  seen (the server's seen only picks among logged deletes; what is
  superseded still comes from their obs); when none matches, all count.
  With no such delete at all it is a phantom.
- *Inferred edges: a version the log says nothing about beyond its dot (a
  blind write whose reply never came and whose sibling nobody saw; an
  unknown dot in a `replaced`) would break every chain through it, so it
  supersedes what the seen of the blind write that replaced it covers (the
  join of the contexts and dots of what that write replaced: a superset of
  the version's own context), following replacing writes until one's
  sibling was seen. These edges only ever save a write from "lost": one
  preserved only through them is listed "unverified" (not a failure), and
  they are never used for "resurrected".
- F(k) is the union of the siblings of every readable replica. Preserved =
  reachable backwards from F(k); lost = acknowledged and not preserved.
  Resurrected = a version of F(k) reachable by one edge or more from an
  acknowledged write. Each closure is one graph search per key (coverage by
  a vector walks each actor's dots once per search), so the check is linear
  in the history's size.
- Divergent: the owners' replicas hold different sets of (dot, deleted,
  value) ("missing" = the empty set), or one could not be read, or a key a
  write touched is absent from final.json ("not read"). *A key no replica
  of which could be read is not checked for lost writes (noted).
- *A write that "failed" but whose version is present is counted present
  (the client may be wrong) and noted; its edges are those of any write.
- A version is reported under at most one failure kind (a phantom is not
  also resurrected). Lists are capped at LIST_LIMIT entries; counts are
  exact.

verdict.json: valid, counts, lost, resurrected, phantom, divergent,
availability, latency_ms as the chaos brief defines them, plus
"unverified" (list, and its count in counts), "notes" (the first
LIST_LIMIT observations that are not failures: a failed write that turned
up anyway, a dot naming two writes, a key not evaluated...) and
"notes_total".
"""

import json
import math
import os
import sys
from bisect import bisect_right

LIST_LIMIT = 50
FAILURE_KINDS = ("lost", "resurrected", "phantom", "divergent")
LISTED = FAILURE_KINDS + ("unverified",)  # the verdict's lists of versions and keys
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
        self.sibs = {}  # (node, counter, deleted, value) -> a sibling seen in a read, an obs or final.json
        self.read_sibs = set()  # the keys of self.sibs that a read returned
        self.dot_op = {}  # dot -> op id
        self.candidates = []  # ids of deletes whose dot is unknown
        self.tomb_dots = set()  # dots of tombstone siblings tied to no delete
        self.dots = {}  # node -> set of its dots
        self.by_actor = {}  # actor -> (sorted counters, nodes in the same order)
        self.seen = {}  # node -> merged `seen` of its siblings
        self.replaced_by = {}  # node -> id of the first blind write whose reply named it in `replaced`
        self.inherited = {}  # node -> the seen seen_of() found for it (memo)
        self.edges = {}  # node -> set of nodes it supersedes
        self.seen_edges = {}  # node -> vector: it supersedes every version the vector covers
        self.inferred_edges = {}  # the same, the vector being a later blind write's (see seen_of)

    def sight(self, sib, in_read=False):
        """Records a sibling seen anywhere; the same version seen again only merges its seen."""
        k = (sib.get("node"), sib.get("counter"), bool(sib.get("deleted")), sib.get("value"))
        prev = self.sibs.get(k)
        if prev is None:
            self.sibs[k] = sib
        elif sib.get("seen") != prev.get("seen"):
            self.sibs[k] = dict(prev, seen=merge_seen(prev.get("seen") or {}, sib.get("seen")))
        if in_read:
            self.read_sibs.add(k)

    # -- resolution

    def dot_node(self, dot):
        op_id = self.dot_op.get(dot)
        return ("op", op_id) if op_id is not None else ("dot", dot)

    def resolve(self, sib):
        """The version node a sibling names."""
        if is_live(sib):
            op_id = self.by_value.get(sib.get("value"))
            return ("op", op_id) if op_id is not None else ("phantom", dot_of(sib))
        dot = dot_of(sib)
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

    def seen_of(self, node):
        """node's seen: its sibling's; when that sibling was never seen, the
        seen of the blind write that replaced it (the join of the contexts
        and dots of what that write replaced, a superset of node's own), and
        so on along the replacing writes; None when nothing tells."""
        path, on_path = [], set()
        while node not in self.inherited:
            if node in self.seen or node not in self.replaced_by or node in on_path:
                self.inherited[node] = self.seen.get(node)
                break
            path.append(node)
            on_path.add(node)
            node = ("op", self.replaced_by[node])
        for p in path:
            self.inherited[p] = self.inherited[node]
        return self.inherited[node]

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
            for s in rep.get("siblings") or ():
                m.sight(s)
    for key in final.get("written_keys") or ():
        model(key)
    for op in reads:  # a key only ever read is no key of the check
        if op["key"] in models:
            for s in op["siblings"]:
                models[op["key"]].sight(s, in_read=True)
    for m in models.values():
        _learn_dots(m, notes)
        _attribute_tombstones(m)
        _index_dots(m)
        _build_edges(m, notes)
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
    for s in op.get("obs") or ():
        m.sight(s)


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
    for sib in m.sibs.values():
        op_id = m.by_value.get(sib.get("value")) if is_live(sib) else None
        if op_id is not None and dot_of(sib):
            learn(dot_of(sib), op_id)


def _attribute_tombstones(m):
    """Finds the tombstones no delete's reply names and the deletes without a
    dot; one of each means that tombstone is that delete."""
    known = set(m.dot_op.values())
    m.candidates = [i for i, op in m.ops.items() if op.get("f") == "delete" and i not in known]
    m.tomb_dots = {dot_of(s) for s in m.sibs.values()
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
    for sib in m.sibs.values():
        node = m.resolve(sib)
        tie(dot_of(sib), node)
        if sib.get("seen") is not None:
            m.seen[node] = merge_seen(m.seen.get(node, {}), sib["seen"])
    for op_id, op in m.ops.items():
        for dot in filter(None, map(dot_of, op.get("replaced") or ())):
            node = m.dot_node(dot)
            tie(dot, node)
            if is_blind(op):
                m.replaced_by.setdefault(node, op_id)
    per_actor = {}
    for (actor, counter), node in node_of.items():
        per_actor.setdefault(actor, []).append((counter, node))
    for actor, pairs in per_actor.items():
        pairs.sort(key=lambda p: p[0])
        m.by_actor[actor] = ([c for c, _ in pairs], [n for _, n in pairs])


def _build_edges(m, notes):
    for op_id, op in m.ops.items():
        node = ("op", op_id)
        _set_edges(m, node, m.explicit_edges(op))
        if is_blind(op) and node in m.seen:
            # what a blind write replaced, transitively: its coordinator's context, which
            # covers the replaced versions and everything they superseded (a version
            # replaced there but never seen with its dot still has its past covered)
            m.seen_edges[node] = m.seen[node]
    for node in m.replaced_by:  # unknown versions only a `replaced` names
        if node[0] == "dot" and node[1] not in m.tomb_dots:
            _set_edges(m, node, None)
    if m.inferred_edges:
        notes.add("key %s: what %d versions superseded is taken from the seen of a later blind write"
                  % (m.key, len(m.inferred_edges)))
    if m.candidates:
        for dot in m.tomb_dots:
            _set_candidate_edges(m, ("dot", dot))


def _set_edges(m, node, explicit):
    """explicit: a set of nodes, or None for "what the node's seen covers"."""
    if explicit is not None:
        m.edges[node] = explicit - {node}
        return
    vector = m.seen_of(node)
    if vector:
        (m.seen_edges if node in m.seen else m.inferred_edges)[node] = vector


def _set_candidate_edges(m, node):
    """An unattributed tombstone supersedes what every delete that may have
    made it would supersede: the blind ones, and those sent with a context
    equal to the tombstone's seen (or all of them when none is)."""
    vector = m.seen.get(node, {})
    cands = [i for i in m.candidates if _may_have_made(m.ops[i], vector)] or m.candidates
    sets = [m.explicit_edges(m.ops[i]) for i in cands]
    explicit = [s for s in sets if s is not None]
    if not explicit:
        _set_edges(m, node, None)
        return
    needs_cover = len(explicit) < len(sets)
    base = min(explicit, key=len)
    _set_edges(m, node, {n for n in base if all(n in s for s in explicit)
                         and (not needs_cover or m.covered(n, vector))})


def _may_have_made(op, seen):
    """Whether op could have written a tombstone with this seen: a blind delete
    could have; one sent with a context only if that context is seen."""
    if is_blind(op):
        return True
    return context_of(op["obs"]) == {a: c for a, c in seen.items() if c}


def context_of(siblings):
    """The context a read of these siblings hands out: the join of their
    seen and dots (what a write sent with it carries as its seen)."""
    v = {}
    for sib in siblings:
        d = dot_of(sib)
        v = merge_seen(merge_seen(v, sib.get("seen")), {d[0]: d[1]} if d else None)
    return {a: c for a, c in v.items() if c}


def closure(m, starts, exclusive=False, inferred=True):
    """The versions reachable backwards through supersession from starts, as
    node -> the start it was reached from. exclusive: a start is included
    only when another start (or itself, through a cycle) reaches it.
    inferred: follow the edges seen_of() inferred too."""
    vectors = (m.seen_edges, m.inferred_edges) if inferred else (m.seen_edges,)
    reached, stack, cover = {}, [], {}

    def visit(node, root):
        if node not in reached:
            reached[node] = root
            stack.append(node)

    def expand(node, root):
        for n in m.edges.get(node, ()):
            visit(n, root)
        vector = next((v[node] for v in vectors if node in v), {})
        for actor, c in vector.items():
            counters, nodes = m.by_actor.get(actor, ((), ()))
            lo, hi = cover.get(actor, 0), bisect_right(counters, c)
            for i in range(lo, hi):
                if nodes[i] != node:
                    visit(nodes[i], root)
            cover[actor] = max(lo, hi)

    for node in starts:
        (expand if exclusive else visit)(node, node)
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
    """{"lost", "resurrected", "phantom", "unverified": [...]} for one key read in final.json."""
    present = present_versions(m, entry)
    acked = [("op", i) for i, op in m.ops.items() if op.get("outcome") == "ok"]
    preserved = closure(m, present)
    proven = closure(m, present, inferred=False) if m.inferred_edges else preserved
    superseded = closure(m, acked, exclusive=True, inferred=False)
    phantom = [{"key": m.key, "sibling": sib} for node, sib in present.items() if m.is_phantom(node)]
    resurrected = [{"key": m.key, "version": m.version_name(node), "superseded_by": superseded[node][1]}
                   for node in present if node in superseded and not m.is_phantom(node)]
    _note_surprises(m, present, notes)
    return {"lost": [_write_entry(m, n) for n in acked if n not in preserved],
            "unverified": [_write_entry(m, n) for n in acked if n in preserved and n not in proven],
            "resurrected": resurrected, "phantom": phantom}


def _write_entry(m, node):
    op_id = node[1]
    return {"key": m.key, "id": op_id, "value": m.ops[op_id].get("value"), "dot": dot_str(m.op_dot(op_id))}


def _note_surprises(m, present, notes):
    for node in present:
        if node[0] == "op" and m.ops[node[1]].get("outcome") == "fail":
            notes.add("key %s: op %s failed but its version is present" % (m.key, node[1]))
    for k in m.read_sibs:
        sib = m.sibs[k]
        if is_live(sib) and sib.get("value") not in m.by_value:
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
    by the fault(s) active when each op started; and per fault kind
    "<kind> elsewhere": the ops sent to a node the fault did not hit (for a
    partition, the majority side), what the design promises to serve."""
    faults = fault_intervals(nemesis, history_end(history))
    bounds = sorted({t for _, s, e, _ in faults for t in (s, e)})
    active = [frozenset((name, frozenset(rec.get("targets") or ())) for name, s, e, rec in faults if s <= b < e)
              for b in bounds]
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
        hit = active[i] if i >= 0 else frozenset()
        names = {name for name, _ in hit}
        elsewhere = {name + " elsewhere" for name, targets in hit if op.get("node") not in targets}
        for group in ("all",) + (tuple(names) or ("none",)) + tuple(elsewhere):
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
    found = {kind: [] for kind in LISTED}
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
    counts.update({kind: len(found[kind]) for kind in LISTED})
    counts["keys"] = len(models)
    verdict = {"valid": all(counts[kind] == 0 for kind in FAILURE_KINDS), "counts": counts}
    verdict.update({kind: found[kind][:LIST_LIMIT] for kind in LISTED})
    verdict["availability"] = availability(history, nemesis)
    verdict["latency_ms"] = latency(history)
    verdict["notes"] = notes.items
    verdict["notes_total"] = notes.total
    return verdict


def verdict_line(verdict):
    c, avail = verdict["counts"], verdict["availability"].get("all", {})

    def fmt(r):
        return "-" if r is None else "%.2f" % r

    line = "%s  ops %d  acked %d  lost %d  resurrected %d  phantom %d  divergent %d  avail w %s r %s" % (
        "valid" if verdict["valid"] else "INVALID", c["ops"], c["acknowledged"], c["lost"], c["resurrected"],
        c["phantom"], c["divergent"], fmt(avail.get("write")), fmt(avail.get("read")))
    return line + ("  unverified %d" % c["unverified"] if c.get("unverified") else "")


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
