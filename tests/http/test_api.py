#!/usr/bin/env python3
"""Black-box HTTP tests of chorusd (single node).

    python3 tests/http/test_api.py --bin build/chorusd [-k substring] [--list]

Prints one line per test ("ok name" / "FAIL name: reason") and ends with
"N passed, N failed". Exit code 0 only if nothing failed.
CHORUS_HTTP_TEST_SANITIZERS=1: the binary is a sanitizer build; a node whose
stderr reports an AddressSanitizer/LeakSanitizer/UBSan error fails the test.
"""

import contextlib
import base64
import datetime
import http.client
import json
import os
import random
import re
import socket
import sys
import threading
import time

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from harness import (  # noqa: E402
    SHARED_NODE_ID, TestFailure, check, eq, expect_error, expect_json, http_request, kpath,
    parse_raw_response, raw_exchange, run_cli, free_port, test, main,
)

MAX_VALUE = 1048576
BODY_LIMIT = 2 * MAX_VALUE + 65536
UUID_RE = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
TS_RE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")
HEX16_RE = re.compile(r"^[0-9a-f]{16}$")


# ---------------------------------------------------------------- helpers


def clocks(doc, what="vector_clock"):
    vc = doc.get("vector_clock")
    check(isinstance(vc, dict) and isinstance(vc.get("clocks"), dict),
          "%s: vector_clock.clocks missing in %s" % (what, json.dumps(doc)[:300]))
    for k, v in vc["clocks"].items():
        check(isinstance(v, int) and v > 0, "%s: clock entry %r=%r is not a positive integer" % (what, k, v))
    return vc["clocks"]


def context_of(doc, what="response"):
    c = doc.get("context")
    check(isinstance(c, str) and c != "", "%s: context missing or empty: %s" % (what, json.dumps(doc)[:300]))
    return c


def sibling_values(doc):
    sibs = doc.get("siblings")
    check(isinstance(sibs, list), "GET: siblings is not a list: %r" % (sibs,))
    return sorted(s.get("value") for s in sibs if not s.get("deleted"))


def total_events(node):
    return node.vector_clock("limit=1")["event_log"]["total"]


def events_since(node, since, limit=1000):
    doc = node.vector_clock("since=%d&limit=%d" % (since, limit))
    return doc["event_log"]["events"]


def make_conflict(node, key, a="a", b="b"):
    """Two writes with the same context: two siblings."""
    node.put_ok(key, "v0")
    ctx = context_of(node.get_ok(key))
    ra = node.put_ok(key, a, context=ctx)
    rb = node.put_ok(key, b, context=ctx)
    return ra, rb


def parse_metrics(text):
    """[(name, {label: value}, float)] of every sample line."""
    out = []
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = re.match(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)", line)
        if not m:
            continue
        labels = dict(re.findall(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"', m.group(2) or ""))
        try:
            value = float(m.group(3))
        except ValueError:
            continue
        out.append((m.group(1), labels, value))
    return out


def request_counter(text, method, status, route_part):
    """Sum of chorus_http_requests_total samples for method/status whose route contains route_part."""
    total = 0.0
    seen_labels = None
    for name, labels, value in parse_metrics(text):
        if name != "chorus_http_requests_total":
            continue
        seen_labels = labels
        for k in ("route", "method", "status"):
            check(k in labels, "chorus_http_requests_total sample without %r label: %r" % (k, labels))
        if labels["method"] == method and labels["status"] in (str(status), "%dxx" % (status // 100)) \
                and route_part in labels["route"]:
            total += value
    return total, seen_labels


def tolerant_oversize_request(node, content_length, sent_body=b"x" * 1024, path="/api/v1/data/big"):
    """Sends headers announcing content_length bytes and only sent_body, then
    reads the answer. Returns the status, or None when the server closed
    without an answer we could read (acceptable only if it is still healthy)."""
    head = ("PUT %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nContent-Type: application/json\r\n"
            "Content-Length: %d\r\n\r\n" % (path, node.port, content_length)).encode()
    data, _ = raw_exchange(node.port, head + sent_body)
    parsed = parse_raw_response(data)
    if parsed is None:
        check(data == b"", "unparseable answer to oversize request: %r" % data[:200])
        r = node.request("GET", "/health")
        eq(r.status, 200, "health after a refused oversize request")
        return None
    status, headers, body = parsed
    if status == 413 and body:
        try:
            doc = json.loads(body.decode("utf-8"))
            check(isinstance(doc.get("error"), dict) and isinstance(doc["error"].get("code"), str),
                  "413 body has no error.code: %r" % body[:200])
        except ValueError:
            raise TestFailure("413 body is not JSON: %r" % body[:200])
    return status


# ================================================================ basics


@test
def test_health_returns_ok_and_node_id(ctx):
    r = ctx.node.request("GET", "/health")
    doc = expect_json(r, 200, "GET /health")
    eq(doc.get("status"), "ok", "health status")
    eq(doc.get("node_id"), SHARED_NODE_ID, "health node_id")


@test
def test_status_reports_node_storage_and_cluster(ctx):
    doc = ctx.node.status()
    eq(doc.get("node_id"), SHARED_NODE_ID, "node_id")
    eq(doc.get("status"), "running", "status")
    check(isinstance(doc.get("version"), str) and doc["version"] != "", "version: %r" % doc.get("version"))
    up = doc.get("uptime_seconds")
    check(isinstance(up, (int, float)) and not isinstance(up, bool) and up >= 0, "uptime_seconds: %r" % (up,))
    eq(doc.get("fsync"), "always", "fsync (default)")
    st = doc.get("storage")
    check(isinstance(st, dict), "storage object missing: %r" % (doc,))
    for f in ("events", "event_retention", "conflicts"):
        check(isinstance(st.get(f), int) and not isinstance(st.get(f), bool), "storage.%s: %r" % (f, st.get(f)))
    eq(st["event_retention"], 10000, "storage.event_retention (default)")
    rc = st.get("record_cache")
    check(isinstance(rc, dict), "storage.record_cache missing: %r" % (st,))
    eq(rc.get("max_bytes"), 64 << 20, "storage.record_cache.max_bytes (default)")
    ctx.node.put_ok("status-cache", "v")
    before = ctx.node.status()["storage"]["record_cache"]
    eq(ctx.node.get_ok("status-cache").get("value"), "v", "read back")
    after = ctx.node.status()["storage"]["record_cache"]
    eq((after["hits"] - before["hits"], after["misses"] - before["misses"]), (1, 0),
       "a read of a key just written is one record cache hit, no miss")
    check(0 < after["bytes"] <= after["max_bytes"] and after["entries"] > 0, "record cache after a write: %r" % (after,))
    cl = doc.get("cluster")
    check(isinstance(cl, dict), "cluster object missing")
    eq(cl.get("size"), 1, "cluster.size")


@test
def test_status_reports_ring_and_under_replication_of_a_lone_node(ctx):
    cl = ctx.node.status()["cluster"]
    eq(cl.get("under_replicated"), True, "cluster.under_replicated with 1 member and N=3")
    ring = cl.get("ring")
    check(isinstance(ring, dict), "cluster.ring missing: %r" % (cl,))
    check(HEX16_RE.match(ring.get("version", "")), "ring.version: %r" % (ring.get("version"),))
    eq((ring.get("members"), ring.get("replicas"), ring.get("read_quorum"), ring.get("write_quorum"),
        ring.get("vnodes")), (1, 3, 2, 2, 150), "ring members, replicas, R, W, vnodes")


@test
def test_ring_of_a_lone_node_has_all_its_vnodes_and_all_the_space(ctx):
    doc = expect_json(ctx.node.get_path("/api/v1/ring"), 200, "GET /api/v1/ring")
    eq((doc.get("replicas"), doc.get("vnodes_per_member"), doc.get("total_vnodes"), doc.get("under_replicated")),
       (3, 150, 150, True), "replicas, vnodes_per_member, total_vnodes, under_replicated")
    check(HEX16_RE.match(doc.get("version", "")), "version: %r" % (doc.get("version"),))
    eq(doc["version"], ctx.node.status()["cluster"]["ring"]["version"], "same version as /api/v1/status")
    members = doc.get("members")
    eq([m.get("node_id") for m in members], [SHARED_NODE_ID], "members")
    eq((members[0].get("status"), members[0].get("vnodes"), members[0].get("ownership")), ("alive", 150, 1.0),
       "member status, vnodes, ownership")
    tokens = [int(v["token"]) for v in doc["vnodes"]]
    eq(tokens, sorted(tokens), "vnodes sorted by token")
    check(all(0 <= t < 2 ** 64 for t in tokens), "tokens in the 64-bit space")
    for v in doc["vnodes"][:5]:
        check(abs(v["position"] - int(v["token"]) / 2.0 ** 64) < 1e-9, "position = token / 2^64: %r" % (v,))
        eq(v["node_id"], SHARED_NODE_ID, "vnode owner")


@test
def test_ring_lookup_gives_token_preference_list_and_coordinator(ctx):
    import hashlib
    for key in ("greeting", "user:123", "caf\u00e9 \u2615"):
        path = "/api/v1/ring/lookup/" + kpath(key)[len("/api/v1/data/"):]
        doc = expect_json(ctx.node.get_path(path), 200, "lookup " + key)
        want = int.from_bytes(hashlib.sha256(key.encode()).digest()[:8], "big")
        eq(doc.get("key"), key, "key")
        eq(doc.get("token"), str(want), "token = first 8 bytes of SHA-256(key), big-endian")
        eq((doc.get("preference_list"), doc.get("coordinator"), doc.get("fallbacks"), doc.get("replicas")),
           ([SHARED_NODE_ID], SHARED_NODE_ID, [], 1), "preference list, coordinator, fallbacks, replicas")


@test
def test_ring_routes_reject_bad_keys_methods_and_paths(ctx):
    expect_error(ctx.node.request("GET", "/api/v1/ring/lookup/"), 400, "bad_key", "empty key")
    expect_error(ctx.node.request("GET", "/api/v1/ring/lookup/" + "k" * 1025), 400, "bad_key", "1025-byte key")
    expect_error(ctx.node.request("POST", "/api/v1/ring"), 405, "method_not_allowed", "POST ring")
    expect_error(ctx.node.request("GET", "/api/v1/ring/nope"), 404, "not_found", "GET /api/v1/ring/nope")


@test
def test_status_events_count_goes_up_with_operations(ctx):
    n = ctx.node
    before = n.status()["storage"]["events"]
    k = ctx.key()
    n.put_ok(k, "v")
    n.get_ok(k)
    after = n.status()["storage"]["events"]
    eq(after - before, 2, "storage.events increase after one PUT and one GET")


@test
def test_unknown_path_is_404_not_found(ctx):
    # (a path outside the API without an extension is a dashboard route: tests/http/test_web.py)
    for path in ("/nope.json", "/api/v1/nope", "/api/v2/data/k", "/api/v1/statusx"):
        expect_error(ctx.node.request("GET", path), 404, "not_found", "GET " + path)


@test
def test_post_and_patch_on_data_are_405_with_allow(ctx):
    for method in ("POST", "PATCH"):
        r = ctx.node.request(method, kpath(ctx.key()), '{"value":"x"}', {"Content-Type": "application/json"})
        expect_error(r, 405, "method_not_allowed", method + " data")
        eq(r.header("Allow"), "GET, PUT, DELETE", method + " data: Allow header")


@test
def test_post_on_status_is_405_allow_get(ctx):
    for method, path in (("POST", "/api/v1/status"), ("PUT", "/api/v1/status"), ("POST", "/api/v1/vector-clock")):
        r = ctx.node.request(method, path, "{}", {"Content-Type": "application/json"})
        expect_error(r, 405, "method_not_allowed", method + " " + path)
        eq(r.header("Allow"), "GET", method + " " + path + ": Allow header")


# ================================================================ put / get


@test
def test_put_then_get_returns_value(ctx):
    k = ctx.key()
    ctx.node.put_ok(k, "hello")
    doc = ctx.node.get_ok(k)
    eq(doc.get("key"), k, "GET key")
    eq(doc.get("value"), "hello", "GET value")


@test
def test_put_response_has_all_fields(ctx):
    k = ctx.key()
    doc = ctx.node.put_ok(k, "v1")
    eq(doc.get("key"), k, "key")
    eq(doc.get("value"), "v1", "value")
    eq(doc.get("responsible_node"), SHARED_NODE_ID, "responsible_node")
    eq(doc.get("replication_nodes"), [SHARED_NODE_ID], "replication_nodes")
    eq(doc.get("replication_result"), {"successful_nodes": [SHARED_NODE_ID], "failed_nodes": [], "hinted_nodes": [],
                                       "pending_nodes": [], "quorum_achieved": True, "required": 1}, "replication_result")
    eq(clocks(doc), {SHARED_NODE_ID: 1}, "vector_clock of a fresh key after one write")
    context_of(doc)
    eq(doc.get("conflict"), False, "conflict")
    eq(doc.get("siblings"), 1, "siblings")
    ec = doc.get("event_count")
    check(isinstance(ec, int) and ec >= 1, "event_count: %r" % (ec,))


@test
def test_get_response_has_all_fields(ctx):
    k = ctx.key()
    put = ctx.node.put_ok(k, "v1")
    doc = ctx.node.get_ok(k)
    eq(doc.get("key"), k, "key")
    eq(doc.get("value"), "v1", "value")
    eq(doc.get("conflict"), False, "conflict")
    sibs = doc.get("siblings")
    check(isinstance(sibs, list) and len(sibs) == 1, "siblings: %r" % (sibs,))
    s = sibs[0]
    eq(s.get("value"), "v1", "sibling value")
    eq(s.get("node"), SHARED_NODE_ID, "sibling node")
    eq(s.get("counter"), 1, "sibling counter")
    eq(s.get("deleted"), False, "sibling deleted")
    check("timestamp" in s, "sibling timestamp missing: %r" % (s,))
    eq(clocks(doc), clocks(put), "GET vector_clock equals the PUT's")
    context_of(doc)
    eq(doc.get("responsible_node"), SHARED_NODE_ID, "responsible_node")
    eq(doc.get("replication_nodes"), [SHARED_NODE_ID], "replication_nodes")
    eq(doc.get("read_result"), {"successful_nodes": [SHARED_NODE_ID], "failed_nodes": [], "quorum_achieved": True,
                                "repaired_nodes": []}, "read_result")


@test
def test_get_missing_key_is_404_not_found_with_key(ctx):
    k = ctx.key("never-written")
    doc = expect_error(ctx.node.get(k), 404, "not_found", "GET missing key")
    eq(doc.get("key"), k, "404 body key")
    eq(clocks(doc), {}, "a never-written key's vector clock")
    context_of(doc)
    check("siblings" not in doc, "a never-written key has no siblings: %r" % (doc,))


def dot_of(doc):
    d = doc.get("dot")
    check(isinstance(d, dict) and set(d) == {"node", "counter"}, "dot: %r" % (d,))
    return (d["node"], d["counter"])


def replaced_of(doc):
    r = doc.get("replaced")
    check(isinstance(r, list), "replaced: %r" % (r,))
    return sorted((d["node"], d["counter"]) for d in r)


@test
def test_the_empty_context_of_a_missing_key_makes_a_sibling_not_a_replacement(ctx):
    k = ctx.key()
    nothing = context_of(expect_error(ctx.node.get(k), 404, "not_found", "GET missing key"))
    first = ctx.node.put_ok(k, "first", context=nothing)
    eq(replaced_of(first), [], "the first write replaced")
    # a second client that also saw nothing: its write is concurrent with the first, not over it
    second = ctx.node.put_ok(k, "second", context=nothing)
    eq(replaced_of(second), [], "the second write replaced")
    eq((second.get("conflict"), second.get("siblings")), (True, 2), "siblings after two writes that saw nothing")
    eq(sibling_values(ctx.node.get_ok(k)), ["first", "second"], "sibling values")


@test
def test_every_write_names_its_dot_and_the_dots_it_replaced(ctx):
    k = ctx.key()
    a = ctx.node.put_ok(k, "a")
    eq(dot_of(a), (SHARED_NODE_ID, 1), "first dot")
    eq(replaced_of(a), [], "first write replaced")
    c = context_of(ctx.node.get_ok(k))
    b = ctx.node.put_ok(k, "b", context=c)
    eq(dot_of(b), (SHARED_NODE_ID, 2), "second dot")
    eq(replaced_of(b), [(SHARED_NODE_ID, 1)], "a write with the read's context replaces what was read")
    concurrent = ctx.node.put_ok(k, "c", context=c)
    eq(replaced_of(concurrent), [], "a write with an older context replaces nothing it had not seen")
    blind = ctx.node.put_ok(k, "d")
    eq(dot_of(blind), (SHARED_NODE_ID, 4), "blind dot")
    eq(replaced_of(blind), [(SHARED_NODE_ID, 2), (SHARED_NODE_ID, 3)], "a blind write replaces every sibling")
    gone = ctx.node.delete(k)
    eq(gone.status, 200, "DELETE status")
    doc = gone.json()
    eq(dot_of(doc), (SHARED_NODE_ID, 5), "tombstone dot")
    eq(replaced_of(doc), [(SHARED_NODE_ID, 4)], "the delete replaced")
    # the dots name the siblings a read returns, and each sibling says what it was written over
    nf = expect_error(ctx.node.get(k), 404, "not_found", "GET deleted key")
    sibs = nf.get("siblings")
    check(isinstance(sibs, list) and len(sibs) == 1, "a deleted key's 404 lists its tombstone: %r" % (nf,))
    eq((sibs[0]["node"], sibs[0]["counter"], sibs[0]["deleted"], sibs[0]["value"]), (SHARED_NODE_ID, 5, True, None),
       "tombstone sibling")
    eq(sibs[0].get("seen"), {SHARED_NODE_ID: 4}, "the tombstone was written over dot 4")


@test
def test_empty_string_value_is_valid(ctx):
    k = ctx.key()
    doc = ctx.node.put_ok(k, "")
    eq(doc.get("value"), "", "PUT value")
    eq(ctx.node.get_ok(k).get("value"), "", "GET value")


@test
def test_value_with_unicode_and_escapes_roundtrips(ctx):
    k = ctx.key()
    v = 'line1\nline2\t"quoted" back\\slash é 日本語 🎵 \u2028 </script>'
    ctx.node.put_ok(k, v)
    eq(ctx.node.get_ok(k).get("value"), v, "GET value")


@test
def test_put_without_context_supersedes(ctx):
    k = ctx.key()
    ctx.node.put_ok(k, "v1")
    r2 = ctx.node.put_ok(k, "v2")
    eq(r2.get("siblings"), 1, "PUT response siblings")
    eq(r2.get("conflict"), False, "PUT response conflict")
    doc = ctx.node.get_ok(k)
    eq(doc.get("value"), "v2", "value")
    eq(len(doc.get("siblings")), 1, "number of siblings")
    eq(doc.get("conflict"), False, "conflict")


@test
def test_version_vector_counts_writes_to_the_key(ctx):
    k = ctx.key()
    eq(clocks(ctx.node.put_ok(k, "a")), {SHARED_NODE_ID: 1}, "clock after 1st write")
    eq(clocks(ctx.node.put_ok(k, "b")), {SHARED_NODE_ID: 2}, "clock after 2nd write")
    ctx.node.get_ok(k)
    eq(clocks(ctx.node.get_ok(k)), {SHARED_NODE_ID: 2}, "clock after reads (reads do not change a key's version)")


@test
def test_put_with_read_context_replaces_value(ctx):
    k = ctx.key()
    ctx.node.put_ok(k, "v1")
    c = context_of(ctx.node.get_ok(k))
    ctx.node.put_ok(k, "v2", context=c)
    doc = ctx.node.get_ok(k)
    eq(doc.get("value"), "v2", "value")
    eq(doc.get("conflict"), False, "conflict")
    eq(len(doc.get("siblings")), 1, "number of siblings")


@test
def test_put_response_context_supersedes_on_next_write(ctx):
    k = ctx.key()
    c = context_of(ctx.node.put_ok(k, "v1"))
    ctx.node.put_ok(k, "v2", context=c)
    doc = ctx.node.get_ok(k)
    eq(sibling_values(doc), ["v2"], "sibling values")


@test
def test_two_puts_with_same_context_create_siblings(ctx):
    k = ctx.key()
    ra, rb = make_conflict(ctx.node, k, "a", "b")
    eq((ra.get("conflict"), ra.get("siblings")), (False, 1), "first write with the context: conflict, siblings")
    eq((rb.get("conflict"), rb.get("siblings")), (True, 2), "second write with the same context: conflict, siblings")
    doc = ctx.node.get_ok(k)
    eq(doc.get("conflict"), True, "conflict")
    eq(len(doc["siblings"]), 2, "number of siblings")
    eq(sibling_values(doc), ["a", "b"], "sibling values")
    check(doc.get("value") in ("a", "b"), "value %r is not one of the siblings" % doc.get("value"))
    ts = [s.get("timestamp") for s in doc["siblings"]]
    if type(ts[0]) is type(ts[1]) and ts[0] != ts[1]:
        newest = max(doc["siblings"], key=lambda s: s["timestamp"])["value"]
        eq(doc["value"], newest, "value is the newest sibling by timestamp")
    eq(sorted((s.get("node"), s.get("deleted")) for s in doc["siblings"]),
       [(SHARED_NODE_ID, False), (SHARED_NODE_ID, False)], "siblings' node/deleted")


@test
def test_put_with_context_of_conflicted_read_resolves_siblings(ctx):
    k = ctx.key()
    make_conflict(ctx.node, k)
    c = context_of(ctx.node.get_ok(k))
    r = ctx.node.put_ok(k, "merged", context=c)
    eq((r.get("conflict"), r.get("siblings")), (False, 1), "PUT response conflict/siblings")
    doc = ctx.node.get_ok(k)
    eq(doc.get("value"), "merged", "value")
    eq(doc.get("conflict"), False, "conflict")
    eq(len(doc["siblings"]), 1, "number of siblings")


@test
def test_context_in_header_is_honoured(ctx):
    k = ctx.key()
    ctx.node.put_ok(k, "v0")
    c = context_of(ctx.node.get_ok(k))
    ctx.node.put_ok(k, "a", ctx_header=c)
    ctx.node.put_ok(k, "b", ctx_header=c)
    doc = ctx.node.get_ok(k)
    eq(sibling_values(doc), ["a", "b"], "siblings after two header-context writes")
    ctx.node.put_ok(k, "c", ctx_header=context_of(doc))
    eq(sibling_values(ctx.node.get_ok(k)), ["c"], "siblings after resolving with the header context")


@test
def test_body_context_wins_over_header(ctx):
    n = ctx.node
    k = ctx.key()
    n.put_ok(k, "v1")
    c1 = context_of(n.get_ok(k))
    n.put_ok(k, "v2", context=c1)
    c2 = context_of(n.get_ok(k))
    # body c2 (current) + header c1 (stale): the body wins, so v3 supersedes v2.
    n.put_ok(k, "v3", context=c2, ctx_header=c1)
    eq(sibling_values(n.get_ok(k)), ["v3"], "body context current, header stale")
    # body stale + header current: the stale body context wins, so v4 is concurrent with v3.
    c3 = context_of(n.get_ok(k))
    n.put_ok(k, "v4", context=c1, ctx_header=c3)
    eq(sibling_values(n.get_ok(k)), ["v3", "v4"], "body context stale, header current")


@test
def test_garbage_context_is_400_bad_context(ctx):
    k = ctx.key()
    ctx.node.put_ok(k, "v")
    junk = base64.b64encode(bytes(random.Random(7).getrandbits(8) for _ in range(40))).decode()
    for c in ("!!!", junk, "Q1gB"):
        expect_error(ctx.node.put(k, "x", context=c), 400, "bad_context", "body context %r" % c)
        expect_error(ctx.node.put(k, "x", ctx_header=c), 400, "bad_context", "header context %r" % c)
        expect_error(ctx.node.delete(k, ctx_header=c), 400, "bad_context", "DELETE header context %r" % c)
    eq(ctx.node.get_ok(k).get("value"), "v", "value after rejected writes")


@test
def test_corrupted_or_truncated_context_is_400_bad_context(ctx):
    k = ctx.key()
    ctx.node.put_ok(k, "v")
    good = context_of(ctx.node.get_ok(k))
    mid = len(good) // 2
    flipped = good[:mid] + ("A" if good[mid] != "A" else "B") + good[mid + 1:]
    truncated = good[:-4]  # one base64 quantum less: still well-formed base64, 3 bytes short
    for c in (flipped, truncated):
        expect_error(ctx.node.put(k, "x", context=c), 400, "bad_context", "context %r (from %r)" % (c, good))


@test
def test_non_string_context_is_400_bad_context(ctx):
    body = json.dumps({"value": "x", "context": 12345})
    expect_error(ctx.node.put(ctx.key(), None, body=body), 400, "bad_context", "numeric context")


# ================================================================ body validation


@test
def test_malformed_json_is_400_malformed_json(ctx):
    for body in ('{"value":', "{value: 1}", "not json", '{"value":"x"} trailing'):
        expect_error(ctx.node.put(ctx.key(), None, body=body), 400, "malformed_json", "body %r" % body)


@test
def test_body_not_object_or_without_value_is_400_missing_value(ctx):
    wrong = []
    for body in ('"x"', "[1,2]", "42", "true", "null", "{}", '{"val":"x"}', '{"context":"abc"}'):
        try:
            expect_error(ctx.node.put(ctx.key(), None, body=body), 400, "missing_value", "body %r" % body)
        except TestFailure as e:
            wrong.append(str(e))
    check(not wrong, "; ".join(wrong))


@test
def test_non_string_value_is_400_bad_value(ctx):
    for v in (123, True, {"a": 1}, ["x"], 1.5):
        body = json.dumps({"value": v})
        expect_error(ctx.node.put(ctx.key(), None, body=body), 400, "bad_value", "body %s" % body)
    expect_error(ctx.node.put(ctx.key(), None, body='{"value":null}'), 400, ("bad_value", "missing_value"),
                 "value null")


@test
def test_empty_body_is_400(ctx):
    expect_error(ctx.node.put(ctx.key(), None, body=""), 400, ("missing_value", "malformed_json"), "empty body")


@test
def test_rejected_put_stores_nothing(ctx):
    k = ctx.key()
    expect_error(ctx.node.put(k, None, body='{"value":5}'), 400, "bad_value", "bad value")
    expect_error(ctx.node.get(k), 404, "not_found", "GET after rejected PUT")


# ================================================================ keys


@test
def test_keys_with_special_characters_roundtrip(ctx):
    base = ctx.key()
    for suffix in (" with space", "/a/b", "100%", "?q=1&w=2", "#frag", "ключ", "日本語", "🎵", "a+b", ";,=@:$'()*!~"):
        k = base + suffix
        put = ctx.node.put_ok(k, "val:" + suffix)
        eq(put.get("key"), k, "PUT key for suffix %r" % suffix)
        doc = ctx.node.get_ok(k)
        eq(doc.get("key"), k, "GET key for suffix %r" % suffix)
        eq(doc.get("value"), "val:" + suffix, "GET value for suffix %r" % suffix)


@test
def test_literal_and_encoded_slash_name_the_same_key(ctx):
    k = ctx.key() + "/x/y"
    literal = "/api/v1/data/" + k  # slashes not encoded
    r = ctx.node.request("PUT", literal, '{"value":"slashed"}', {"Content-Type": "application/json"})
    doc = expect_json(r, 200, "PUT " + literal)
    eq(doc.get("key"), k, "key of a literal-slash path")
    eq(ctx.node.get_ok(k).get("value"), "slashed", "GET with %2F-encoded slashes")


@test
def test_plus_in_key_is_literal(ctx):
    base = ctx.key()
    r = ctx.node.request("PUT", "/api/v1/data/" + base + "a+b", '{"value":"plus"}')
    eq(expect_json(r, 200, "PUT a+b").get("key"), base + "a+b", "key")
    eq(ctx.node.get_ok(base + "a+b").get("value"), "plus", "GET via %2B")
    expect_error(ctx.node.get(base + "a b"), 404, "not_found", "GET 'a b' (a different key)")


@test
def test_nul_in_key_is_400_bad_key(ctx):
    path = "/api/v1/data/a%00b"
    expect_error(ctx.node.request("PUT", path, '{"value":"x"}'), 400, "bad_key", "PUT " + path)
    expect_error(ctx.node.request("GET", path), 400, "bad_key", "GET " + path)
    expect_error(ctx.node.request("DELETE", path), 400, "bad_key", "DELETE " + path)


@test
def test_missing_key_segment_is_400_bad_key(ctx):
    path = "/api/v1/data/"
    expect_error(ctx.node.request("PUT", path, '{"value":"x"}'), 400, "bad_key", "PUT " + path)
    expect_error(ctx.node.request("GET", path), 400, "bad_key", "GET " + path)
    expect_error(ctx.node.request("DELETE", path), 400, "bad_key", "DELETE " + path)


@test
def test_key_of_1024_bytes_is_accepted(ctx):
    k = (ctx.key() + "-" + "k" * 1024)[:1024]
    eq(len(k.encode()), 1024, "test key length")
    eq(ctx.node.put_ok(k, "long").get("key"), k, "PUT key")
    eq(ctx.node.get_ok(k).get("value"), "long", "GET value")


@test
def test_key_of_1025_bytes_is_400_bad_key(ctx):
    k = "k" * 1025
    expect_error(ctx.node.put(k, "x"), 400, "bad_key", "PUT 1025-byte key")
    expect_error(ctx.node.get(k), 400, "bad_key", "GET 1025-byte key")


@test
def test_key_limit_counts_bytes_not_characters(ctx):
    ok = "é" * 512  # 512 characters, 1024 bytes
    eq(ctx.node.put_ok(ok, "fits").get("key"), ok, "1024-byte key of 2-byte characters")
    expect_error(ctx.node.put("é" * 513, "x"), 400, "bad_key", "513 two-byte characters (1026 bytes)")


@test
def test_invalid_utf8_key_is_400_bad_key(ctx):
    for raw in (b"\xff", b"abc\xc3", b"\xc3\x28", b"\x80abc"):
        expect_error(ctx.node.put(raw, "x"), 400, "bad_key", "PUT key bytes %r" % raw)
        expect_error(ctx.node.get(raw), 400, "bad_key", "GET key bytes %r" % raw)


@test
def test_overlong_and_surrogate_utf8_keys_are_400_bad_key(ctx):
    for raw in (b"\xc0\xaf", b"\xe0\x80\xaf", b"\xed\xa0\x80", b"\xf4\x90\x80\x80"):
        expect_error(ctx.node.put(raw, "x"), 400, "bad_key", "PUT key bytes %r" % raw)


# ================================================================ size limits


@test
def test_value_of_exactly_1_mib_roundtrips(ctx):
    k = ctx.key()
    v = ("0123456789abcdef" * (MAX_VALUE // 16))
    eq(len(v), MAX_VALUE, "test value length")
    doc = ctx.node.put_ok(k, v)
    check(doc.get("value") == v, "PUT response value differs (len %d)" % len(doc.get("value") or ""))
    got = ctx.node.get_ok(k).get("value")
    check(got == v, "GET value differs from the 1 MiB value written (len %s)" % (len(got) if got else got))


@test
def test_value_over_1_mib_is_413_value_too_large(ctx):
    k = ctx.key()
    expect_error(ctx.node.put(k, "x" * (MAX_VALUE + 1)), 413, "value_too_large", "PUT 1048577-byte value")
    expect_error(ctx.node.get(k), 404, "not_found", "GET after refused PUT")


@test
def test_content_length_just_over_body_limit_is_413_before_body(ctx):
    status = tolerant_oversize_request(ctx.node, BODY_LIMIT + 1, b"")
    check(status in (413, None), "expected 413 for Content-Length %d, got %s" % (BODY_LIMIT + 1, status))
    eq(ctx.node.request("GET", "/health").status, 200, "health afterwards")


@test
def test_huge_content_length_is_413_without_reading_body(ctx):
    status = tolerant_oversize_request(ctx.node, 100 * 1000 * 1000, b'{"value":"' + b"x" * 1000)
    check(status in (413, None), "expected 413 for a 100 MB Content-Length, got %s" % status)
    eq(ctx.node.request("GET", "/health").status, 200, "health afterwards")


@test
def test_max_value_bytes_flag_sets_the_limit(ctx):
    n = ctx.new_node(node_id="small", args=["--max-value-bytes=1000"])
    n.put_ok("a", "x" * 1000)
    expect_error(n.put("b", "x" * 1001), 413, "value_too_large", "1001-byte value")
    # the limit is on the decoded string's bytes
    n.put_ok("c", "é" * 500)
    expect_error(n.put("d", "é" * 501), 413, "value_too_large", "1002 bytes of 2-byte characters")
    escaped = '{"value":"' + "\\u00e9" * 500 + '"}'  # 3000-byte body, 1000-byte value
    expect_json(n.put("e", None, body=escaped), 200, "value given as \\u escapes")
    eq(n.get_ok("e").get("value"), "é" * 500, "decoded value")
    status = tolerant_oversize_request(n, 2 * 1000 + 65536 + 1, b"")
    check(status in (413, None), "Content-Length over 2*max+65536: expected 413, got %s" % status)


# ================================================================ delete


@test
def test_delete_returns_deleted_true_and_version(ctx):
    k = ctx.key()
    put = ctx.node.put_ok(k, "v")
    doc = ctx.node.delete_ok(k)
    eq(doc.get("key"), k, "key")
    eq(doc.get("deleted"), True, "deleted")
    eq(doc.get("responsible_node"), SHARED_NODE_ID, "responsible_node")
    eq(doc.get("replication_nodes"), [SHARED_NODE_ID], "replication_nodes")
    rr = doc.get("replication_result") or {}
    eq((rr.get("successful_nodes"), rr.get("failed_nodes"), rr.get("quorum_achieved"), rr.get("required")),
       ([SHARED_NODE_ID], [], True, 1), "replication_result")
    eq(clocks(doc), {SHARED_NODE_ID: clocks(put)[SHARED_NODE_ID] + 1}, "vector_clock after the delete")
    context_of(doc)
    check(isinstance(doc.get("event_count"), int) and doc["event_count"] > put["event_count"],
          "event_count %r not above the PUT's %r" % (doc.get("event_count"), put.get("event_count")))


@test
def test_get_after_delete_is_404_with_context(ctx):
    k = ctx.key()
    ctx.node.put_ok(k, "v")
    ctx.node.delete_ok(k)
    doc = expect_error(ctx.node.get(k), 404, "not_found", "GET deleted key")
    eq(doc.get("key"), k, "404 key")
    context_of(doc, "404 of a deleted key")


@test
def test_delete_missing_key_is_404(ctx):
    expect_error(ctx.node.delete(ctx.key()), 404, "not_found", "DELETE never-written key")


@test
def test_second_delete_is_404(ctx):
    k = ctx.key()
    ctx.node.put_ok(k, "v")
    ctx.node.delete_ok(k)
    expect_error(ctx.node.delete(k), 404, "not_found", "second DELETE")


@test
def test_put_with_tombstone_context_gives_one_sibling(ctx):
    k = ctx.key()
    ctx.node.put_ok(k, "v1")
    ctx.node.delete_ok(k)
    c = context_of(expect_error(ctx.node.get(k), 404, "not_found", "GET deleted"), "404")
    ctx.node.put_ok(k, "v2", context=c)
    doc = ctx.node.get_ok(k)
    eq(len(doc["siblings"]), 1, "number of siblings")
    eq(doc["siblings"][0].get("value"), "v2", "sibling value")
    eq(doc.get("conflict"), False, "conflict")


@test
def test_put_without_context_after_delete_gives_one_sibling(ctx):
    k = ctx.key()
    ctx.node.put_ok(k, "v1")
    ctx.node.delete_ok(k)
    ctx.node.put_ok(k, "v2")
    doc = ctx.node.get_ok(k)
    eq(len(doc["siblings"]), 1, "number of siblings")
    eq(doc.get("value"), "v2", "value")


@test
def test_delete_with_current_context_header_deletes(ctx):
    k = ctx.key()
    ctx.node.put_ok(k, "v1")
    c = context_of(ctx.node.get_ok(k))
    ctx.node.delete_ok(k, ctx_header=c)
    expect_error(ctx.node.get(k), 404, "not_found", "GET after DELETE with context")


@test
def test_delete_with_stale_context_keeps_concurrent_value(ctx):
    k = ctx.key()
    ctx.node.put_ok(k, "v1")
    c1 = context_of(ctx.node.get_ok(k))
    ctx.node.put_ok(k, "v2", context=c1)
    ctx.node.delete_ok(k, ctx_header=c1)  # concurrent with v2
    doc = ctx.node.get_ok(k)
    eq(doc.get("value"), "v2", "value (the live sibling)")
    eq(doc.get("conflict"), True, "conflict")
    eq(sorted(bool(s.get("deleted")) for s in doc["siblings"]), [False, True], "siblings' deleted flags")


# ================================================================ idempotency


def request_id(ctx):
    return "req-" + ctx.key("rid")[-60:]


@test
def test_put_retry_with_same_request_id_returns_first_answer(ctx):
    n = ctx.node
    k = ctx.key()
    rid = request_id(ctx)
    r1 = n.put_ok(k, "once", request_id=rid)
    r2 = n.put_ok(k, "once", request_id=rid)
    eq(r2, r1, "second response")
    doc = n.get_ok(k)
    eq(len(doc["siblings"]), 1, "number of siblings")
    eq(clocks(doc), {SHARED_NODE_ID: 1}, "version vector (advanced once)")
    eq(doc["siblings"][0].get("counter"), 1, "sibling counter")


@test
def test_put_retry_does_not_record_a_second_event(ctx):
    n = ctx.node
    k = ctx.key()
    rid = request_id(ctx)
    before = total_events(n)
    n.put_ok(k, "once", request_id=rid)
    n.put_ok(k, "once", request_id=rid)
    eq(total_events(n) - before, 1, "events recorded by a PUT and its retry")


@test
def test_different_request_ids_are_different_writes(ctx):
    n = ctx.node
    k = ctx.key()
    rid = request_id(ctx)
    n.put_ok(k, "a", request_id=rid + "-1")
    n.put_ok(k, "b", request_id=rid + "-2")
    doc = n.get_ok(k)
    eq(doc.get("value"), "b", "value")
    eq(clocks(doc), {SHARED_NODE_ID: 2}, "version vector after two distinct writes")


@test
def test_delete_retry_with_same_request_id_returns_first_answer(ctx):
    n = ctx.node
    k = ctx.key()
    rid = request_id(ctx)
    n.put_ok(k, "v")
    d1 = n.delete_ok(k, request_id=rid)
    d2 = n.delete_ok(k, request_id=rid)
    eq(d2, d1, "retried DELETE response")


@test
def test_request_id_of_128_printable_chars_is_accepted(ctx):
    rid = ("R" + request_id(ctx) + "x" * 128)[:128]
    ctx.node.put_ok(ctx.key(), "v", request_id=rid)
    ctx.node.put_ok(ctx.key(), "v", request_id="a!~{}[]<>?/" + rid[:50])


@test
def test_bad_request_id_is_400_bad_request_id(ctx):
    for rid in ("", "x" * 129, "abc\x01def", "abc\x7fdef"):
        expect_error(ctx.node.put(ctx.key(), "v", request_id=rid), 400, "bad_request_id", "PUT X-Request-Id %r" % rid)
    k = ctx.key()
    ctx.node.put_ok(k, "v")
    expect_error(ctx.node.delete(k, request_id="y" * 129), 400, "bad_request_id", "DELETE long X-Request-Id")
    eq(ctx.node.get_ok(k).get("value"), "v", "value after refused DELETE")


@test
def test_request_id_replay_survives_restart(ctx):
    n = ctx.new_node(node_id="idem")
    rid = "restart-" + ctx.key("rid")[-40:]
    r1 = n.put_ok("k", "first", request_id=rid)
    n.restart()
    r2 = n.put_ok("k", "first", request_id=rid)
    eq(r2, r1, "response to the retry after restart")
    doc = n.get_ok("k")
    eq(len(doc["siblings"]), 1, "number of siblings")
    eq(clocks(doc), clocks(r1), "version vector (no new version)")
    eq(clocks(doc), {"idem": 1}, "version vector")


# ================================================================ quorum parameters


@test
def test_quorum_parameters_are_accepted_and_capped_to_one(ctx):
    n = ctx.node
    k = ctx.key()
    for q in ("w=1", "w=2", "w=3", "consistency=one", "consistency=quorum", "consistency=all", "w=3&consistency=all"):
        doc = expect_json(n.put(k, "v", query=q), 200, "PUT ?" + q)
        eq(doc.get("key"), k, "key (query is not part of it) for ?" + q)
        eq(doc["replication_result"].get("required"), 1, "required for ?" + q)
        eq(doc["replication_result"].get("quorum_achieved"), True, "quorum_achieved for ?" + q)
    for q in ("r=1", "r=3", "consistency=all", "r=2&consistency=quorum"):
        doc = expect_json(n.get(k, query=q), 200, "GET ?" + q)
        eq(doc.get("value"), "v", "value for GET ?" + q)
        eq(doc["read_result"].get("quorum_achieved"), True, "read quorum for ?" + q)
    doc = expect_json(n.delete(k, query="w=3&consistency=all"), 200, "DELETE ?w=3&consistency=all")
    eq(doc.get("deleted"), True, "deleted")


@test
def test_bad_quorum_parameters_are_400_bad_quorum(ctx):
    n = ctx.node
    k = ctx.key()
    n.put_ok(k, "v")
    for q in ("w=0", "w=4", "w=abc", "w=", "w=1.5", "w=-1", "consistency=two", "consistency="):
        expect_error(n.put(k, "x", query=q), 400, "bad_quorum", "PUT ?" + q)
    for q in ("r=0", "r=4", "r=x", "consistency=most"):
        expect_error(n.get(k, query=q), 400, "bad_quorum", "GET ?" + q)
    expect_error(n.delete(k, query="w=9"), 400, "bad_quorum", "DELETE ?w=9")
    eq(n.get_ok(k).get("value"), "v", "value unchanged by refused requests")


# ================================================================ vector clock / event log


@test
def test_put_then_get_records_two_consecutive_events(ctx):
    n = ctx.node
    k = ctx.key()
    before = n.vector_clock("limit=1")
    since = before["event_log"]["total"]
    own_before = before["vector_clock"]["clocks"].get(SHARED_NODE_ID, 0)
    put = n.put_ok(k, "short value")
    n.get_ok(k)
    doc = n.vector_clock("since=%d" % since)
    eq(doc.get("node_id"), SHARED_NODE_ID, "node_id")
    evs = doc["event_log"]["events"]
    eq([(e.get("type"), e.get("key")) for e in evs], [("put", k), ("get", k)], "events since %d" % since)
    eq([e["id"] for e in evs], [since + 1, since + 2], "event ids")
    eq(evs[0]["id"], put.get("event_count"), "put event id vs PUT event_count")
    eq(evs[1]["vector_clock"]["clocks"][SHARED_NODE_ID], evs[0]["vector_clock"]["clocks"][SHARED_NODE_ID] + 1,
       "get event's own clock entry vs put's")
    eq(doc["event_log"].get("total"), since + 2, "total")
    eq(doc["vector_clock"]["clocks"].get(SHARED_NODE_ID), own_before + 2, "node clock entry after two events")
    eq(evs[0].get("value"), "short value", "put event value preview")


@test
def test_delete_records_a_delete_event(ctx):
    n = ctx.node
    k = ctx.key()
    n.put_ok(k, "v")
    since = total_events(n)
    d = n.delete_ok(k)
    evs = events_since(n, since)
    eq([(e.get("type"), e.get("key")) for e in evs], [("delete", k)], "events")
    eq(evs[0]["id"], d.get("event_count"), "delete event id vs DELETE event_count")


@test
def test_event_fields_are_well_formed(ctx):
    n = ctx.node
    k = ctx.key()
    since = total_events(n)
    n.put_ok(k, "v")
    evs = events_since(n, since)
    eq(len(evs), 1, "number of events")
    e = evs[0]
    check(isinstance(e.get("id"), int), "id: %r" % e.get("id"))
    eq(e.get("node_id"), SHARED_NODE_ID, "node_id")
    check(HEX16_RE.match(str(e.get("causal_hash"))), "causal_hash not 16 lowercase hex: %r" % e.get("causal_hash"))
    ts = str(e.get("timestamp"))
    check(TS_RE.match(ts), "timestamp not ISO 8601 UTC with ms: %r" % ts)
    t = datetime.datetime.strptime(ts, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=datetime.timezone.utc).timestamp()
    check(abs(t - time.time()) < 300, "timestamp %s is not close to now" % ts)
    check(isinstance(e["vector_clock"]["clocks"].get(SHARED_NODE_ID), int), "event clock: %r" % e.get("vector_clock"))


@test
def test_event_value_preview_is_at_most_64_bytes(ctx):
    n = ctx.node
    since = total_events(n)
    cases = [("p" * 50 + "q" * 150, "p" * 50 + "q" * 14),  # ASCII: first 64 bytes
             ("é" * 100, "é" * 32),  # 2-byte characters: 64 bytes
             ("日" * 50, "日" * 21),  # 3-byte characters: cut at 63 bytes, never inside a character
             ("short", "short")]
    for v, _ in cases:
        n.put_ok(ctx.key(), v)
    evs = events_since(n, since)
    eq(len(evs), len(cases), "number of events")
    for e, (v, want) in zip(evs, cases):
        eq(e.get("value"), want, "preview of a %d-byte value" % len(v.encode()))


@test
def test_vector_clock_returns_only_ids_after_since_ascending(ctx):
    n = ctx.node
    for i in range(5):
        n.put_ok(ctx.key(), "v")
    total = total_events(n)
    evs = events_since(n, total - 3)
    eq([e["id"] for e in evs], [total - 2, total - 1, total], "ids since total-3")
    eq(events_since(n, total), [], "events since total")


@test
def test_vector_clock_limit_default_100_and_explicit(ctx):
    n = ctx.node
    since = total_events(n)
    for i in range(105):
        n.put_ok(ctx.key(), "v")
    doc = n.vector_clock("since=%d" % since)
    eq([e["id"] for e in doc["event_log"]["events"]], list(range(since + 1, since + 101)), "default limit: ids")
    eq([e["id"] for e in events_since(n, since, 3)], [since + 1, since + 2, since + 3], "limit=3: ids")
    eq(len(events_since(n, since, 1000)), 105, "limit=1000: count")


@test
def test_vector_clock_limit_over_1000_is_refused_or_capped(ctx):
    r = ctx.node.request("GET", "/api/v1/vector-clock?since=0&limit=1001")
    if r.status == 400:
        expect_error(r, 400, "bad_request", "limit=1001")
    else:
        doc = expect_json(r, 200, "limit=1001")
        check(len(doc["event_log"]["events"]) <= 1000, "more than 1000 events returned")


@test
def test_vector_clock_bad_since_or_limit_is_400_bad_request(ctx):
    for q in ("since=abc", "since=-1", "limit=abc", "limit=-5", "since=1x", "limit="):
        expect_error(ctx.node.request("GET", "/api/v1/vector-clock?" + q), 400, "bad_request", "?" + q)


@test
def test_conflicted_key_listed_in_conflicts_until_resolved(ctx):
    n = ctx.node
    k = ctx.key()
    make_conflict(n, k)
    listed = [c for c in n.vector_clock("limit=1").get("conflicts", []) if c.get("key") == k]
    eq(listed, [{"key": k, "siblings": 2}], "conflicts entry")
    n.put_ok(k, "merged", context=context_of(n.get_ok(k)))
    listed = [c for c in n.vector_clock("limit=1").get("conflicts", []) if c.get("key") == k]
    eq(listed, [], "conflicts entry after resolving")


@test
def test_status_conflicts_counts_keys_with_siblings(ctx):
    n = ctx.node
    before = n.status()["storage"]["conflicts"]
    k = ctx.key()
    make_conflict(n, k)
    eq(n.status()["storage"]["conflicts"], before + 1, "conflicts after creating one")
    n.put_ok(k, "merged", context=context_of(n.get_ok(k)))
    eq(n.status()["storage"]["conflicts"], before, "conflicts after resolving it")


@test
def test_event_retention_keeps_latest_events(ctx):
    n = ctx.new_node(node_id="ret", args=["--event-retention=5"])
    for i in range(6):
        n.put_ok("k%d" % i, "v%d" % i)
        n.get_ok("k%d" % i)
    doc = n.vector_clock("since=0")
    eq(doc["event_log"].get("total"), 12, "total")
    eq(doc["event_log"].get("retention"), 5, "retention")
    eq([e["id"] for e in doc["event_log"]["events"]], [8, 9, 10, 11, 12], "retained ids")
    eq([e["id"] for e in events_since(n, 10)], [11, 12], "ids since 10")
    eq(n.status()["storage"].get("event_retention"), 5, "status storage.event_retention")


# ================================================================ metrics


@test
def test_metrics_is_prometheus_text(ctx):
    r, text = ctx.node.metrics_text()
    ct = r.header("Content-Type") or ""
    check(ct.startswith("text/plain") and "version=0.0.4" in ct, "Content-Type: %r" % ct)
    check("chorus_http_requests_total{" in text, "no chorus_http_requests_total{ line")
    check("chorus_http_request_duration_seconds_bucket{" in text, "no chorus_http_request_duration_seconds_bucket{")
    check(re.search(r"(?m)^chorus_storage_\w+", text), "no chorus_storage_ line")


@test
def test_metrics_request_counter_counts_exact_requests(ctx):
    n = ctx.node
    _, t0 = n.metrics_text()
    s0, _ = request_counter(t0, "GET", 200, "status")
    for i in range(7):
        n.status()
    _, t1 = n.metrics_text()
    s1, labels = request_counter(t1, "GET", 200, "status")
    eq(s1 - s0, 7, "GET /api/v1/status 200 counter increase (labels seen: %r)" % (labels,))


@test
def test_metrics_counter_separates_methods_and_statuses(ctx):
    n = ctx.node
    _, t0 = n.metrics_text()
    ok0, _ = request_counter(t0, "PUT", 200, "data")
    bad0, _ = request_counter(t0, "PUT", 400, "data")
    for i in range(4):
        n.put_ok(ctx.key(), "v")
    for i in range(3):
        expect_error(n.request("PUT", "/api/v1/data/a%00", '{"value":"x"}'), 400, "bad_key", "bad key")
    _, t1 = n.metrics_text()
    ok1, _ = request_counter(t1, "PUT", 200, "data")
    bad1, labels = request_counter(t1, "PUT", 400, "data")
    eq(ok1 - ok0, 4, "PUT data 200 counter increase (labels: %r)" % (labels,))
    eq(bad1 - bad0, 3, "PUT data 400 counter increase")


@test
def test_metrics_storage_writes_go_up_after_put(ctx):
    n = ctx.node
    _, t0 = n.metrics_text()

    def writes(text):
        return sum(v for name, _, v in parse_metrics(text)
                   if name.startswith("chorus_storage_") and ("write" in name or "batch" in name))

    n.put_ok(ctx.key(), "v")
    _, t1 = n.metrics_text()
    check(writes(t1) > writes(t0), "no chorus_storage_*write*/*batch* metric went up after a PUT (%s -> %s)"
          % (writes(t0), writes(t1)))


@test
def test_metrics_and_status_show_the_loops_stalls(ctx):
    n = ctx.node
    _, t0 = n.metrics_text()
    m0 = {name: v for name, _, v in parse_metrics(t0)}
    for name in ("chorus_loop_iterations_total", "chorus_loop_busy_seconds_total", "chorus_loop_stall_seconds_max",
                 "chorus_loop_slow_stalls_total"):
        check(name in m0, "no %s in /metrics" % name)
    check(m0["chorus_loop_iterations_total"] >= 1, "the loop ran no iteration")
    check(0 <= m0["chorus_loop_stall_seconds_max"] <= m0["chorus_loop_busy_seconds_total"],
          "the longest stall is part of the busy time: %r" % m0)
    loop = n.status()["loop"]
    check(loop["iterations"] >= m0["chorus_loop_iterations_total"], "status.loop.iterations went back: %r" % loop)
    check(loop["longest_stall_ms"] >= m0["chorus_loop_stall_seconds_max"] * 1000 - 1e-6,
          "status.loop.longest_stall_ms is below the metric: %r" % loop)
    eq(type(loop["slow_stalls"]), int, "status.loop.slow_stalls")


# ================================================================ authentication


def auth_node(ctx):
    return ctx.shared("auth", ["--api-token=secret"])


@test
def test_api_without_token_is_401_unauthorized(ctx):
    n = auth_node(ctx)
    expect_error(n.request("GET", "/api/v1/status"), 401, "unauthorized", "GET status")
    expect_error(n.get("k"), 401, "unauthorized", "GET data")
    expect_error(n.put("k", "v"), 401, "unauthorized", "PUT data")
    expect_error(n.delete("k"), 401, "unauthorized", "DELETE data")
    expect_error(n.request("GET", "/api/v1/vector-clock"), 401, "unauthorized", "GET vector-clock")


@test
def test_api_with_wrong_token_is_401(ctx):
    n = auth_node(ctx)
    for h in ("Bearer wrong", "Bearer secretx", "Bearer secre", "secret", "Basic c2VjcmV0", "Bearer "):
        expect_error(n.request("GET", "/api/v1/status", headers={"Authorization": h}), 401, "unauthorized",
                     "Authorization %r" % h)


@test
def test_api_with_right_token_works(ctx):
    n = auth_node(ctx)
    h = {"Authorization": "Bearer secret"}
    expect_json(n.put("k", "v", headers=h), 200, "PUT with token")
    eq(expect_json(n.get("k", headers=h), 200, "GET with token").get("value"), "v", "value")
    eq(expect_json(n.request("GET", "/api/v1/status", headers=h), 200, "status").get("status"), "running", "status")


@test
def test_health_and_metrics_need_no_token(ctx):
    n = auth_node(ctx)
    eq(expect_json(n.request("GET", "/health"), 200, "health").get("status"), "ok", "health status")
    eq(n.request("GET", "/metrics").status, 200, "metrics status")


# ================================================================ command line


@test
def test_unknown_flag_exits_2_naming_the_flag(ctx):
    rc, err = run_cli(ctx.binary, ["--port=%d" % free_port(), "--data-dir=./d", "--no-such-flag=1"])
    eq(rc, 2, "exit code")
    lines = [l for l in err.splitlines() if l.strip()]
    eq(len(lines), 1, "stderr lines (%r)" % err[:300])
    check("--no-such-flag" in lines[0], "stderr does not name the flag: %r" % lines[0])


@test
def test_non_numeric_port_exits_2_naming_port(ctx):
    rc, err = run_cli(ctx.binary, ["--port=abc", "--data-dir=./d"])
    eq(rc, 2, "exit code")
    check("--port" in err, "stderr does not name --port: %r" % err[:300])


@test
def test_bad_fsync_mode_exits_2(ctx):
    rc, err = run_cli(ctx.binary, ["--port=%d" % free_port(), "--data-dir=./d", "--fsync=sometimes"])
    eq(rc, 2, "exit code")
    check("fsync" in err, "stderr does not name --fsync: %r" % err[:300])


@test
def test_bad_chorus_port_variable_exits_2(ctx):
    rc, err = run_cli(ctx.binary, ["--data-dir=./d"], env_extra={"CHORUS_PORT": "notaport"})
    eq(rc, 2, "exit code")
    check("CHORUS_PORT" in err, "stderr does not name CHORUS_PORT: %r" % err[:300])


@test
def test_second_node_on_same_data_dir_is_refused(ctx):
    a = ctx.new_node(node_id="lock-a")
    rc, err = run_cli(ctx.binary, ["--node-id=lock-b", "--port=%d" % free_port(), "--bind=127.0.0.1",
                                   "--data-dir=" + a.data_dir])
    check(rc != 0, "second chorusd on the same data dir exited 0")
    low = err.lower()
    check(a.data_dir in err or "data dir" in low or "data-dir" in low or "data_dir" in low,
          "message does not mention the data dir: %r" % err[-300:])
    check("in use" in low or "lock" in low or "busy" in low, "message does not say the dir is in use: %r" % err[-300:])
    eq(a.request("GET", "/health").status, 200, "first node health")
    a.put_ok("still", "serving")


@test
def test_chorus_port_variable_sets_the_port(ctx):
    n = ctx.new_node(node_id="envport", port_via_env=True)
    eq(expect_json(n.request("GET", "/health"), 200, "health on CHORUS_PORT").get("node_id"), "envport", "node id")


@test
def test_port_flag_overrides_chorus_port_variable(ctx):
    other = free_port()
    n = ctx.new_node(node_id="flagport", env={"CHORUS_PORT": str(other)})
    eq(n.request("GET", "/health").status, 200, "health on the --port port")
    try:
        r = http_request(other, "GET", "/health", timeout=1.0)
        raise TestFailure("node also answered on the CHORUS_PORT port: %s" % r.describe())
    except OSError:
        pass


@test
def test_flags_accept_space_separated_values(ctx):
    n = ctx.new_node(node_id="spaced", space_separated=True, args=["--fsync", "never"])
    doc = n.status()
    eq((doc.get("node_id"), doc.get("fsync")), ("spaced", "never"), "node_id, fsync")


@test
def test_generated_node_id_is_a_uuid_and_persists(ctx):
    n = ctx.new_node(node_id=None)
    nid = n.status().get("node_id")
    check(isinstance(nid, str) and UUID_RE.match(nid), "generated node_id is not a UUID: %r" % (nid,))
    eq(n.put_ok("k", "v").get("responsible_node"), nid, "responsible_node")
    n.restart()
    eq(n.status().get("node_id"), nid, "node_id after restart")
    eq(n.request("GET", "/health").json().get("node_id"), nid, "health node_id after restart")


# ================================================================ durability


def write_keys_concurrently(port, items, threads=8):
    """PUTs (key, value) pairs from `threads` threads. Returns (acked keys, errors)."""
    acked, errors = [], []
    lock = threading.Lock()

    def worker(chunk):
        for k, v in chunk:
            try:
                r = http_request(port, "PUT", kpath(k), json.dumps({"value": v}), {"Content-Type": "application/json"})
                with lock:
                    (acked.append(k) if r.status == 200 else errors.append("%s: %s" % (k, r.describe())))
            except Exception as e:  # recorded, reported by the caller
                with lock:
                    errors.append("%s: %s: %s" % (k, type(e).__name__, e))

    ts = [threading.Thread(target=worker, args=(items[i::threads],), daemon=True) for i in range(threads)]
    for t in ts:
        t.start()
    for t in ts:
        t.join(120)
    check(not any(t.is_alive() for t in ts), "writer threads did not finish within 120 s")
    return acked, errors


@test
def test_acknowledged_writes_survive_sigkill_with_fsync_always(ctx):
    n = ctx.new_node(node_id="durable", args=["--fsync=always"])
    rnd = random.Random(42)
    items = [("dur-%03d" % i, "value-%d-%s" % (i, "".join(rnd.choice("abcdef0123456789") for _ in range(rnd.randint(1, 300)))))
             for i in range(300)]
    acked, errors = write_keys_concurrently(n.port, items)
    check(not errors, "%d PUTs failed, first: %s" % (len(errors), errors[:1]))
    eq(len(acked), 300, "acknowledged writes")
    n.kill()
    n.start()
    want = dict(items)
    lost = []
    for k in acked:
        r = n.get(k)
        if r.status != 200 or r.json().get("value") != want[k]:
            lost.append("%s: %s" % (k, r.describe()[:120]))
    check(not lost, "%d acknowledged keys lost or wrong after SIGKILL, e.g. %s" % (len(lost), lost[:3]))


@test
def test_sigterm_during_load_exits_0_and_keeps_acknowledged_writes(ctx):
    n = ctx.new_node(node_id="drain")
    port = n.port
    acked = {}
    unexpected = []
    lock = threading.Lock()
    stop = threading.Event()

    def worker(w):
        i = 0
        while not stop.is_set():
            k, v = "load-%d-%d" % (w, i), "v-%d-%d-%s" % (w, i, "z" * (i % 50))
            i += 1
            try:
                r = http_request(port, "PUT", kpath(k), json.dumps({"value": v}), {"Content-Type": "application/json"},
                                 timeout=10)
            except Exception:
                return  # the node is going away
            if r.status == 200:
                with lock:
                    acked[k] = v
            elif r.status == 503:
                return  # shutting_down: expected once draining starts
            else:
                with lock:
                    unexpected.append("%s: %s" % (k, r.describe()[:160]))
                return

    ts = [threading.Thread(target=worker, args=(w,), daemon=True) for w in range(8)]
    for t in ts:
        t.start()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        with lock:
            if len(acked) >= 200:
                break
        time.sleep(0.01)
    check(len(acked) > 0, "no write was acknowledged before SIGTERM")
    rc = n.terminate()
    stop.set()
    for t in ts:
        t.join(20)
    eq(rc, 0, "exit code after SIGTERM under load (stderr: %s)" % n.stderr()[-300:].replace("\n", " | "))
    check(not unexpected, "unexpected answers during shutdown: %s" % unexpected[:3])
    n.start()
    lost = []
    for k, v in sorted(acked.items()):
        r = n.get(k)
        if r.status != 200 or r.json().get("value") != v:
            lost.append("%s: %s" % (k, r.describe()[:120]))
    check(not lost, "%d of %d acknowledged writes missing after restart, e.g. %s" % (len(lost), len(acked), lost[:3]))


@test
def test_data_survives_clean_restart(ctx):
    n = ctx.new_node(node_id="restart")
    n.put_ok("a", "1")
    make_conflict(n, "c")
    n.put_ok("d", "x")
    n.delete_ok("d")
    n.restart()
    eq(n.get_ok("a").get("value"), "1", "a")
    eq(sibling_values(n.get_ok("c")), ["a", "b"], "siblings of c")
    expect_error(n.get("d"), 404, "not_found", "deleted d")


# ================================================================ robustness


@test
def test_malformed_requests_do_not_crash_the_server(ctx):
    n = ctx.node
    rnd = random.Random(1234)
    payloads = [
        bytes(rnd.getrandbits(8) for _ in range(4096)),
        b"GET /health HTTP/1.1\r\nHost: loc",
        b"\r\n\r\n\r\n\r\n",
        b"\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03" + bytes(rnd.getrandbits(8) for _ in range(160)),
        b"PUT /api/v1/data/x HTTP/1.1\r\nHost: a\r\nContent-Length: 100\r\n\r\n{\"val",
        b"GET /" + b"a" * 100000 + b" HTTP/1.1\r\nHost: a\r\n\r\n",
        b"GET /health HTTP/1.1\r\nHost: a\r\nX-Big: " + b"b" * 200000 + b"\r\n\r\n",
        b"PUT /api/v1/data/x HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nZZZ\r\nabc\r\n",
        b"PUT /api/v1/data/x HTTP/1.1\r\nHost: a\r\nContent-Length: -5\r\n\r\n",
        b"PUT /api/v1/data/x HTTP/1.1\r\nHost: a\r\nContent-Length: 99999999999999999999999\r\n\r\n",
        b"GET /api/v1/data/%zz%%% HTTP/1.1\r\nHost: a\r\n\r\n",
        b"GET /api/v1/data/\xff\xfe HTTP/1.1\r\nHost: a\r\n\r\n",
        b"\x00" * 1000,
        b"GET /health HTTP/9.9\r\n\r\n",
    ]
    for p in payloads:
        try:
            s = socket.create_connection(("127.0.0.1", n.port), timeout=10)
            try:
                s.sendall(p)
                s.settimeout(1.0)
                try:
                    s.recv(65536)
                except OSError:
                    pass
            finally:
                s.close()
        except OSError:
            pass
        check(n.alive(), "server exited after payload %r" % p[:60])
    eq(n.request("GET", "/health").status, 200, "health after malformed requests")
    k = ctx.key()
    n.put_ok(k, "fine")
    eq(n.get_ok(k).get("value"), "fine", "value after malformed requests")


@test
def test_connection_closed_mid_body_does_not_store_anything(ctx):
    n = ctx.node
    k = ctx.key()
    head = ("PUT %s HTTP/1.1\r\nHost: a\r\nContent-Type: application/json\r\nContent-Length: 200\r\n\r\n"
            % kpath(k)).encode()
    raw_exchange(n.port, head + b'{"value":"partial', read=False)
    time.sleep(0.2)
    expect_error(n.get(k), 404, "not_found", "GET after a truncated PUT")
    eq(n.request("GET", "/health").status, 200, "health")


@test
def test_keep_alive_connection_serves_several_requests(ctx):
    n = ctx.node
    k = ctx.key()
    conn = http.client.HTTPConnection("127.0.0.1", n.port, timeout=10)
    try:
        conn.request("PUT", kpath(k), json.dumps({"value": "ka"}), {"Content-Type": "application/json"})
        r = conn.getresponse()
        r.read()
        eq(r.status, 200, "first request")
        conn.request("GET", kpath(k))
        r = conn.getresponse()
        body = json.loads(r.read())
        eq((r.status, body.get("value")), (200, "ka"), "second request on the same connection")
    finally:
        conn.close()


@test
def test_many_parallel_requests_succeed(ctx):
    n = ctx.node
    base = ctx.key()
    items = [("%s-%d" % (base, i), "v%d" % i) for i in range(200)]
    acked, errors = write_keys_concurrently(n.port, items, threads=16)
    check(not errors, "%d of 200 parallel PUTs failed, first: %s" % (len(errors), errors[:1]))
    for k, v in items[::20]:
        eq(n.get_ok(k).get("value"), v, "value of " + k)


@test
def test_request_id_reused_for_another_key_or_operation_is_409(ctx):
    n = ctx.node
    k, other = ctx.key(), ctx.key("other")
    rid = request_id(ctx)
    n.put_ok(k, "v", request_id=rid)
    expect_error(n.put(other, "v", request_id=rid), 409, "request_id_reused", "PUT of another key with a used id")
    expect_error(n.delete(k, request_id=rid), 409, "request_id_reused", "DELETE with the id of a PUT")
    eq(n.get(other).status, 404, "the other key was not written")
    eq(n.get_ok(k).get("value"), "v", "the first key is untouched")


# ---------------------------------------------------------------- a disk that fills


def _mount_small_tmpfs(path, size):
    import subprocess
    os.makedirs(path, exist_ok=True)
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=" + size, "tmpfs", path], capture_output=True, text=True)
    check(r.returncode == 0, "this test needs root to mount a small tmpfs: %s" % r.stderr.strip())


def _umount(path):
    import subprocess
    subprocess.run(["umount", "-l", path], capture_output=True)


@contextlib.contextmanager
def _small_disk(ctx, prefix, size):
    """A tmpfs of size mounted for one test; its nodes are killed and it is
    unmounted however the test ends."""
    import tempfile
    mnt = tempfile.mkdtemp(prefix=prefix)
    _mount_small_tmpfs(mnt, size)
    try:
        yield mnt
    finally:
        for node in ctx.own:
            if node.alive():
                node.kill()
        _umount(mnt)
        os.rmdir(mnt)


@test
def test_full_disk_refuses_writes_with_507_and_loses_nothing(ctx):
    import subprocess
    with _small_disk(ctx, "chorus-fulldisk-", "2m") as mnt:
        n = ctx.new_node(node_id="fulldisk", data_dir=os.path.join(mnt, "data"), args=["--fsync=always"])
        value = "x" * 60000
        acked, refused = [], None
        for i in range(200):
            r = n.put("full-%d" % i, value)
            if r.status == 200:
                acked.append("full-%d" % i)
                continue
            refused = r
            break
        check(refused is not None, "200 writes of 60 kB fit in a 2 MB file system")
        expect_error(refused, 507, "insufficient_storage", "write on a full disk")
        check(len(acked) > 5, "only %d writes before the disk was full" % len(acked))
        expect_error(n.put("after-full", "small"), 507, "insufficient_storage", "next write after a failed one")
        expect_error(n.put(acked[0], "small"), 507, "insufficient_storage", "overwrite on a full disk")
        for k in acked[::5]:
            eq(n.get_ok(k).get("value"), value, "read of %s on a full disk" % k)
        eq(n.get("after-full").status, 404, "a refused write is not readable on a full disk")
        eq(n.status().get("storage", {}).get("writable"), False, "status storage.writable")
        eq(n.get_path("/health").status, 200, "health on a full disk")
        n.stop()
        subprocess.run(["mount", "-o", "remount,size=64m", mnt], check=True)
        n.start()
        for k in acked:
            r = n.get(k)
            check(r.status == 200 and r.json().get("value") == value, "acknowledged %s lost after restart: %s"
                  % (k, r.describe()[:100]))
        eq(n.get("after-full").status, 404, "the refused write is absent")
        n.put_ok("after-restart", "v")
        n.stop()


@test
def test_full_disk_with_request_ids_answers_200_only_for_writes_that_are_on_disk(ctx):
    """Every write carries a request id; whatever was answered 200 must be
    there after a restart with space, and a retry of it must get the same
    answer, while a write refused for the full disk is applied by its retry."""
    import subprocess
    with _small_disk(ctx, "chorus-fulldisk-rid-", "3m") as mnt:
        n = ctx.new_node(node_id="fullrid", data_dir=os.path.join(mnt, "data"), args=["--fsync=always"])
        acked, refused = {}, []
        for i in range(3000):
            k, rid = "rid-full-%d" % i, "fill-%d" % i
            value = ("%d-" % i) + "y" * 3000
            r = n.put(k, value, request_id=rid)
            if r.status == 200:
                acked[k] = (rid, value, r.json()["event_count"])
            else:
                expect_error(r, 507, "insufficient_storage", "write %d on a full disk" % i)
                refused.append((k, rid, value))
                if len(refused) == 3:
                    break
        check(len(refused) == 3, "3000 writes of 3 kB fit in a 3 MB file system")
        check(len(acked) > 20, "only %d writes before the disk was full" % len(acked))
        n.stop()
        subprocess.run(["mount", "-o", "remount,size=64m", mnt], check=True)
        n.start()
        for k, (rid, value, event_id) in acked.items():
            r = n.get(k)
            check(r.status == 200 and r.json().get("value") == value,
                  "%s answered 200 before the restart is missing: %s" % (k, r.describe()[:100]))
        for k, (rid, value, event_id) in list(acked.items())[-5:]:
            r = n.put(k, "a different value", request_id=rid)
            eq(r.status, 200, "retry of %s" % rid)
            eq(r.json().get("event_count"), event_id, "a retry is answered with the first event id")
            eq(n.get_ok(k).get("value"), value, "a retry is not applied again")
        for k, rid, value in refused:
            r = n.put(k, value, request_id=rid)
            eq(r.status, 200, "retry of the refused %s on a disk with space" % rid)
            eq(n.get_ok(k).get("value"), value, "the refused write's retry is applied")
        n.stop()


if __name__ == "__main__":
    sys.exit(main())
