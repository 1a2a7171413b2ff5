#!/usr/bin/env python3
"""Black-box tests of the dashboard's side of chorusd: the WebSocket push at
GET /ws and the static files (single node, raw sockets, stdlib only).

    python3 tests/http/test_web.py --bin build/chorusd [-k substring] [--list]
    tests/run-suite.sh web build/chorusd

Prints one line per test ("ok name" / "FAIL name: reason") and ends with
"N passed, N failed". CHORUS_HTTP_TEST_SANITIZERS=1: the binary is a
sanitizer build; a sanitizer report in a node's stderr fails the test.
CHORUS_TEST_PORTS=LO-HI keeps the nodes' ports inside a range.
"""

import base64
import json
import os
import shutil
import signal
import socket
import struct
import sys
import tempfile
import time

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from harness import (  # noqa: E402
    SOCKET_TIMEOUT, Node, TestFailure, check, eq, expect_error, expect_json, http_request, kpath, parse_raw_response,
    raw_exchange, test, main,
)
from wsclient import (  # noqa: E402
    MAX_CONNECTIONS, OP_BINARY, OP_CLOSE, OP_CONT, OP_PING, OP_PONG, OP_TEXT, RFC_ACCEPT, RFC_KEY, WS,
    accept_of, close_payload, frame, web_root,
)



def open_ws(node, **kw):
    ws = WS(node.port, **kw)
    if ws.status != 101:
        ws.close()
        raise TestFailure("handshake answered %d %r, expected 101" % (ws.status, ws.headers))
    return ws


def greeted(node):
    """A connection past its hello, members and ring."""
    ws = open_ws(node)
    for t in ("hello", "members", "ring"):
        m = ws.message()
        eq(m["type"], t, "message after the handshake")
    return ws


def raw_status(port, request):
    data, _ = raw_exchange(port, request)
    parsed = parse_raw_response(data)
    check(parsed is not None, "no HTTP answer to %r" % request[:80])
    return parsed


def without_last_seen(doc):
    doc = json.loads(json.dumps(doc))
    for m in doc.get("cluster_members", {}).values():
        m.pop("last_seen", None)
    return doc


def expect_pong(ws, payload, what):
    ws.send(frame(OP_PING, payload))
    f = ws.next_control()
    check(f is not None, "%s: the socket closed instead of a pong" % what)
    eq((f[1], f[2]), (OP_PONG, payload), what)


def healthy(node):
    expect_json(node.request("GET", "/health"), 200, "GET /health")


# ================================================================ the handshake


@test
def test_cors_allows_the_pages_of_members_only(ctx):
    n = ctx.node
    own = "http://localhost:%d" % n.port  # a loopback name matches the member's 127.0.0.1
    pre = n.request("OPTIONS", "/api/v1/data/" + ctx.key(), headers={
        "Origin": own, "Access-Control-Request-Method": "PUT",
        "Access-Control-Request-Headers": "content-type"})
    eq(pre.status, 204, "preflight status")
    eq(pre.header("Access-Control-Allow-Origin"), own, "preflight allows the member's page")
    check("PUT" in (pre.header("Access-Control-Allow-Methods") or ""), "PUT allowed: %r" % pre.headers)
    check("content-type" in (pre.header("Access-Control-Allow-Headers") or "").lower(), "Content-Type allowed")
    r = n.request("GET", "/api/v1/status", headers={"Origin": own})
    eq(r.status, 200, "status with an origin")
    eq(r.header("Access-Control-Allow-Origin"), own, "a member's page may read the answer")
    for origin in ("http://evil.example:%d" % n.port, "http://localhost:%d" % (n.port + 1), "null",
                   "http://localhost:%d/x" % n.port):
        r = n.request("OPTIONS", "/api/v1/status", headers={"Origin": origin})
        eq(r.status, 204, "preflight of %s" % origin)
        eq(r.header("Access-Control-Allow-Origin"), None, "no CORS for %s" % origin)
        r = n.request("GET", "/api/v1/status", headers={"Origin": origin})
        eq(r.header("Access-Control-Allow-Origin"), None, "no CORS on GET for %s" % origin)


@test
def test_ws_handshake_answers_101_with_the_accept_of_the_rfc_key(ctx):
    eq(accept_of(RFC_KEY), RFC_ACCEPT, "the test's own accept computation")
    with WS(ctx.node.port, key=RFC_KEY) as ws:
        eq(ws.status, 101, "status")
        eq(ws.headers.get("sec-websocket-accept"), RFC_ACCEPT, "Sec-WebSocket-Accept")
        eq((ws.headers.get("upgrade") or "").lower(), "websocket", "Upgrade header")
        check("upgrade" in (ws.headers.get("connection") or "").lower(), "Connection: %r" % ws.headers.get("connection"))
    key = base64.b64encode(os.urandom(16)).decode()
    with WS(ctx.node.port, key=key) as ws:
        eq(ws.headers.get("sec-websocket-accept"), accept_of(key), "Sec-WebSocket-Accept of a random key")


def handshake(port, headers, method="GET", path="/ws"):
    """The raw answer to a request with exactly these headers (and Host)."""
    lines = ["%s %s HTTP/1.1" % (method, path), "Host: 127.0.0.1"] + ["%s: %s" % kv for kv in headers.items()]
    return raw_status(port, ("\r\n".join(lines) + "\r\n\r\n").encode())


def expect_refused(parsed, status, code, what):
    got, headers, body = parsed
    eq(got, status, what + ": status")
    eq(headers.get("content-type"), "application/json", what + ": Content-Type")
    doc = json.loads(body.decode())
    eq(doc["error"]["code"], code, what + ": error code")
    check(doc["error"]["message"], what + ": empty message")
    return headers


@test
def test_ws_bad_handshakes_are_refused_with_json_errors(ctx):
    port = ctx.node.port
    good = {"Upgrade": "websocket", "Connection": "Upgrade", "Sec-WebSocket-Version": "13",
            "Sec-WebSocket-Key": RFC_KEY}

    def variant(**changes):
        h = dict(good)
        for k, v in changes.items():
            k = k.replace("_", "-")
            if v is None:
                h.pop(k, None)
            else:
                h[k] = v
        return h

    expect_refused(handshake(port, variant(**{"Sec_WebSocket_Key": None})), 400, "bad_handshake", "no key")
    expect_refused(handshake(port, variant(**{"Sec_WebSocket_Key": "c2hvcnQ="})), 400, "bad_handshake",
                   "a key of 5 bytes")
    expect_refused(handshake(port, variant(**{"Sec_WebSocket_Key": base64.b64encode(b"x" * 15).decode()})), 400,
                   "bad_handshake", "a key of 15 bytes")
    h = expect_refused(handshake(port, variant(**{"Sec_WebSocket_Version": "12"})), 426, "unsupported_version",
                       "version 12")
    eq(h.get("sec-websocket-version"), "13", "version 12: Sec-WebSocket-Version")
    expect_refused(handshake(port, variant(**{"Sec_WebSocket_Version": None})), 400, "bad_handshake",
                   "no version")
    expect_refused(handshake(port, variant(Upgrade=None)), 426, "upgrade_required", "no Upgrade")
    expect_refused(handshake(port, variant(Connection="keep-alive")), 400, "bad_handshake",
                   "Connection without upgrade")
    r = http_request(port, "GET", "/ws")
    expect_error(r, 426, "upgrade_required", "plain GET /ws")
    r = http_request(port, "POST", "/ws", body="{}")
    expect_error(r, 405, "method_not_allowed", "POST /ws")
    eq(r.header("Allow"), "GET", "POST /ws: Allow")
    expect_error(http_request(port, "GET", "/ws/x"), 404, "not_found", "GET /ws/x")
    healthy(ctx.node)


# ================================================================ the push


@test
def test_ws_hello_members_and_ring_on_connect_match_the_rest_bodies(ctx):
    n = ctx.node
    with open_ws(n) as ws:
        hello = ws.message()
        members = ws.message()
        ring = ws.message()
    status = n.status()
    eq(hello["type"], "hello", "first message")
    eq(hello["data"], {"node_id": status["node_id"], "version": status["version"], "interval_ms": 1000},
       "hello data")
    eq(members["type"], "members", "second message")
    rest = expect_json(n.request("GET", "/gossip/members"), 200, "GET /gossip/members")
    eq(without_last_seen(members["data"]), without_last_seen(rest), "members data (last_seen aside)")
    for m in members["data"]["cluster_members"].values():
        check(isinstance(m.get("last_seen"), str), "member without last_seen: %r" % m)
    eq(ring["type"], "ring", "third message")
    eq(ring["data"], expect_json(n.request("GET", "/api/v1/ring"), 200, "GET /api/v1/ring"), "ring data")


@test
def test_ws_stats_arrive_every_second_with_data_route_figures(ctx):
    n = ctx.node
    with greeted(n) as ws:
        t0 = time.monotonic()
        first = ws.wait_for("stats", timeout=2.5)
        check(time.monotonic() - t0 <= 2.5, "first stats after %.2f s" % (time.monotonic() - t0))
        for k in ("node_id", "ts", "status", "ops_per_sec", "latency_ms", "requests_total"):
            check(k in first, "stats without %r: %r" % (k, sorted(first)))
        eq(first["node_id"], n.status()["node_id"], "stats node_id")
        check(isinstance(first["ts"], int) and abs(first["ts"] / 1000 - time.time()) < 60, "ts %r" % first["ts"])
        eq(sorted(first["status"]), sorted(n.status()), "stats.status has the fields of GET /api/v1/status")
        eq(sorted(first["latency_ms"]), ["p50", "p99"], "latency_ms fields")
        total0 = first["requests_total"]
        k = ctx.key()
        for i in range(10):
            n.put_ok(k, "v%d" % i)
        # a push may come while the PUTs are still running: wait for the one that counts them all
        busy = ws.wait_for("stats", timeout=3.5, pred=lambda d: d["requests_total"] >= total0 + 10)
        check(busy["ops_per_sec"] > 0, "ops_per_sec %r in the second of the last PUT" % busy["ops_per_sec"])
        p50, p99 = busy["latency_ms"]["p50"], busy["latency_ms"]["p99"]
        check(isinstance(p50, (int, float)) and isinstance(p99, (int, float)) and 0 < p50 <= p99,
              "latencies %r" % busy["latency_ms"])
        idle = ws.wait_for("stats", timeout=3.5, pred=lambda d: d["ops_per_sec"] == 0)
        eq(idle["latency_ms"], {"p50": None, "p99": None}, "latencies of an idle second")


@test
def test_ws_conflicts_are_pushed_when_they_appear_and_when_they_clear(ctx):
    n = ctx.node
    k = ctx.key()
    with greeted(n) as ws:
        base = n.put_ok(k, "base")["context"]
        n.put_ok(k, "left", context=base)
        n.put_ok(k, "right", context=base)
        got = ws.wait_for("conflicts", timeout=5.0, pred=lambda d: any(c["key"] == k for c in d["conflicts"]))
        entry = [c for c in got["conflicts"] if c["key"] == k][0]
        eq(entry["siblings"], 2, "siblings of the conflicting key")
        eq(entry["nodes"], [n.node_id], "members holding it")
        rest = expect_json(n.request("GET", "/api/v1/cluster/events?limit=1"), 200, "cluster events")
        eq(got["conflicts"], rest["conflicts"], "the pushed conflicts are the endpoint's")
        ctx_both = expect_json(n.request("GET", kpath(k)), 200, "read of both")["context"]
        n.put_ok(k, "merged", context=ctx_both)
        ws.wait_for("conflicts", timeout=5.0, pred=lambda d: all(c["key"] != k for c in d["conflicts"]))


@test
def test_ws_events_after_a_put_carry_the_events_of_the_cluster_endpoint(ctx):
    n = ctx.node
    with greeted(n) as ws:
        k = ctx.key()
        n.put_ok(k, "pushed")
        got = ws.wait_for("events", timeout=5.0, pred=lambda d: any(e.get("key") == k for e in d["events"]))
        ev = [e for e in got["events"] if e["key"] == k][0]
        eq(ev["type"], "put", "the event's type")
        eq(ev["value"], "pushed", "the event's value")
        rest = expect_json(n.request("GET", "/api/v1/cluster/events?limit=1000"), 200, "cluster events")
        same = [e for e in rest["events"] if e["node_id"] == ev["node_id"] and e["id"] == ev["id"]]
        eq(len(same), 1, "the pushed event in GET /api/v1/cluster/events")
        eq(ev, same[0], "the pushed event, field by field")
        stamps = [(e["timestamp"], e["node_id"], e["id"]) for e in got["events"]]
        eq(stamps, sorted(stamps), "events ordered by timestamp")
        # nothing twice: more writes, every pushed (node, id) once
        seen = {(e["node_id"], e["id"]) for e in got["events"]}
        for i in range(5):
            n.put_ok(k, "again-%d" % i)
        deadline = time.monotonic() + 3.5
        while time.monotonic() < deadline:
            try:
                m = ws.message(max(0.05, deadline - time.monotonic()))
            except TestFailure:
                break
            if m["type"] != "events":
                continue
            for e in m["data"]["events"]:
                check((e["node_id"], e["id"]) not in seen, "event %s/%s pushed twice" % (e["node_id"], e["id"]))
                seen.add((e["node_id"], e["id"]))
        values = {e.get("value") for e in rest["events"]}
        check("pushed" in values, "REST events hold the write")


@test
def test_ws_ping_is_answered_with_a_pong_of_the_same_payload(ctx):
    with greeted(ctx.node) as ws:
        for payload in (b"", b"hello", bytes(range(125))):
            expect_pong(ws, payload, "the answer to a ping of %d bytes" % len(payload))


@test
def test_ws_fragmented_masked_text_is_accepted_and_answered(ctx):
    with greeted(ctx.node) as ws:
        ws.send(frame(OP_TEXT, "Hel", fin=False) + frame(OP_PING, b"mid") + frame(OP_CONT, "lo"))
        f = ws.next_control()
        eq((f[1], f[2]), (OP_PONG, b"mid"), "a ping between fragments")
        err = ws.wait_for("error", timeout=3.0)
        eq(err["error"]["code"], "not_supported", "answer to a client message")
        expect_pong(ws, b"still open", "the connection stays open")


@test
def test_ws_unmasked_frame_is_closed_with_1002(ctx):
    with greeted(ctx.node) as ws:
        ws.send(frame(OP_TEXT, "Hello", mask=False))
        ws.expect_close(1002, what="unmasked frame")
    healthy(ctx.node)


@test
def test_ws_protocol_errors_close_with_their_codes(ctx):
    cases = [
        (frame(OP_TEXT, "x", rsv=0x40), 1002, "a reserved bit"),
        (frame(3, "x"), 1002, "an unknown opcode"),
        (frame(OP_PING, b"x" * 126), 1002, "a ping of 126 bytes"),
        (frame(OP_CONT, "x"), 1002, "a continuation without a message"),
        (frame(OP_TEXT, b"\xc3\x28"), 1007, "text that is not UTF-8"),
        (frame(OP_BINARY, b"\x00"), 1003, "a binary message"),
        (bytes([0x82, 0x80 | 127, 0x80, 0, 0, 0, 0, 0, 0, 0]) + os.urandom(4), 1002, "a 64-bit length with the top bit"),
    ]
    for data, code, what in cases:
        with greeted(ctx.node) as ws:
            ws.send(data)
            ws.expect_close(code, what=what)
    healthy(ctx.node)


@test
def test_ws_oversize_frame_header_is_closed_with_1009_before_the_payload(ctx):
    with greeted(ctx.node) as ws:
        ws.send(bytes([0x82, 0x80 | 127]) + struct.pack(">Q", 1 << 30) + os.urandom(4))  # no payload sent
        ws.expect_close(1009, what="a 1 GiB frame header")
    ws = greeted(ctx.node)
    try:  # fragments adding up past 64 KiB
        ws.send(frame(OP_TEXT, "a" * 40000, fin=False) + frame(OP_CONT, "b" * 30000))
        ws.expect_close(1009, what="70000 bytes in two fragments")
    finally:
        ws.close()
    healthy(ctx.node)


@test
def test_ws_close_handshake_echoes_the_code_and_closes_the_socket(ctx):
    with greeted(ctx.node) as ws:
        ws.send(frame(OP_CLOSE, close_payload(1000, b"bye")))
        ws.expect_close(1000, what="close 1000")
    with greeted(ctx.node) as ws:
        ws.send(frame(OP_CLOSE, b""))  # no status: an empty close back
        f = ws.next_control()
        eq((f[1], f[2]), (OP_CLOSE, b""), "the echo of an empty close")
        ws.expect_eof()


@test
def test_ws_garbage_bytes_are_closed_with_a_protocol_error(ctx):
    for garbage in (b"GET / HTTP/1.1\r\n\r\n", b"\xff" * 64, bytes(range(256))):
        with greeted(ctx.node) as ws:
            ws.send(garbage)
            ws.expect_close((1002, 1007, 1009), what="garbage %r" % garbage[:8])
    healthy(ctx.node)


@test
def test_ws_client_disconnecting_mid_frame_leaves_the_node_healthy(ctx):
    n = ctx.node
    for partial in (b"\x81", frame(OP_TEXT, "x" * 1000)[:500], frame(OP_TEXT, "Hel", fin=False)):
        ws = greeted(n)
        ws.send(partial)
        ws.close()
    ws = greeted(n)  # and one that resets the connection
    ws.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    ws.send(frame(OP_TEXT, "x" * 5000)[:3000])
    ws.close()
    s = socket.create_connection(("127.0.0.1", n.port))  # mid-handshake
    s.sendall(b"GET /ws HTTP/1.1\r\nUpgrade: websocket\r\n")
    s.close()
    healthy(n)
    with greeted(n) as ws:
        expect_pong(ws, b"ok", "a new connection works")


@test
def test_ws_client_that_does_not_read_is_closed_with_1008_not_buffered(ctx):
    n = ctx.new_node(node_id="ws-slow")
    with open_ws(n, rcvbuf=4096) as ws:
        # 125-byte pings with a zero mask key (legal, and cheap to build): ~12 MiB
        # of pongs owed, far past the 4 MiB a connection may queue plus what
        # the kernel buffers on both sides hold, while this client reads nothing
        ping = bytes([0x80 | OP_PING, 0x80 | 125, 0, 0, 0, 0]) + b"p" * 125
        try:
            ws.send(ping * 100000)
        except (BrokenPipeError, ConnectionResetError):
            pass
        pongs, code = 0, None
        while True:
            f = ws.read_frame(timeout=10.0)
            if f is None:
                break
            if f[1] == OP_PONG:
                pongs += 1
            elif f[1] == OP_CLOSE:
                code = struct.unpack(">H", f[2][:2])[0]
        eq(code, 1008, "close code for a client that does not read")
        check(pongs < 100000, "every pong was kept (%d): the queue is not bounded" % pongs)
    healthy(n)


@test
def test_ws_connections_beyond_64_are_refused_with_503(ctx):
    n = ctx.new_node(node_id="ws-limit")
    open_ = []
    try:
        for i in range(MAX_CONNECTIONS):
            open_.append(open_ws(n))
        refused = 0
        for i in range(6):
            with WS(n.port) as ws:
                if ws.status == 503:
                    refused += 1
        eq(refused, 6, "connections 65 to 70 refused with 503")
        expect_refused(handshake(n.port, {"Upgrade": "websocket", "Connection": "Upgrade",
                                          "Sec-WebSocket-Version": "13", "Sec-WebSocket-Key": RFC_KEY}),
                       503, "too_many_connections", "the 71st")
        healthy(n)
        open_.pop().close()  # a slot frees once the node has seen the close
        deadline = time.monotonic() + 5
        while True:
            ws = WS(n.port)
            if ws.status == 101:
                open_.append(ws)
                break
            ws.close()
            check(time.monotonic() < deadline, "no slot freed within 5 s of a client leaving")
            time.sleep(0.1)
    finally:
        for ws in open_:
            ws.close()


@test
def test_ws_needs_the_token_when_one_is_set_but_the_dashboard_files_do_not(ctx):
    n = ctx.new_node(node_id="ws-token", args=["--api-token=s3cret"])
    with WS(n.port) as ws:
        eq(ws.status, 401, "/ws without a token")
    with WS(n.port, path="/ws?token=wrong") as ws:
        eq(ws.status, 401, "/ws with a wrong token")
    with open_ws(n, path="/ws?token=s3cret") as ws:
        eq(ws.message()["type"], "hello", "after ?token=")
    ws = open_ws(n, headers={"Authorization": "Bearer s3cret"})
    ws.close()
    r = n.request("GET", "/")
    eq(r.status, 200, "GET / without a token")
    check("text/html" in (r.header("Content-Type") or ""), "GET /: Content-Type %r" % r.header("Content-Type"))
    expect_error(n.request("GET", "/api/v1/status"), 401, "unauthorized", "the API still needs it")
    expect_error(n.request("GET", "/api/v1/status?token=s3cret"), 401, "unauthorized",
                 "?token= is for /ws only")


@test
def test_ws_sigterm_closes_every_client_with_1001_and_exits_cleanly(ctx):
    n = ctx.new_node(node_id="ws-term")
    clients = [greeted(n) for _ in range(3)]
    try:
        t0 = time.monotonic()
        os.kill(n.proc.pid, signal.SIGTERM)
        for ws in clients:
            ws.expect_close(1001, timeout=5.0, what="shutdown")
        rc = n.proc.wait(15)
        eq(rc, 0, "exit code after SIGTERM with WebSocket clients")
        check(time.monotonic() - t0 < 10, "shutdown took %.1f s" % (time.monotonic() - t0))
    finally:
        for ws in clients:
            ws.close()
    n.stop()  # checks the sanitizer report


# ================================================================ static files


INDEX = b"<!doctype html><title>dashboard</title><div id=root></div>"
FILES = {
    "index.html": INDEX,
    "assets/index-4f3a2b.js": b"console.log('app');",
    "assets/index-4f3a2b.css": b"body{margin:0}",
    "assets/index-4f3a2b.js.map": b"{\"version\":3}",
    "assets/inter-latin.woff2": b"wOF2fake",
    "assets/mod.mjs": b"export default 1;",
    "logo.svg": b"<svg xmlns='http://www.w3.org/2000/svg'/>",
    "favicon.ico": b"\x00\x00\x01\x00",
    "icon.png": b"\x89PNG\r\n\x1a\n",
    "manifest.json": b"{}",
    "robots.txt": b"User-agent: *\n",
}


def web_node(ctx, name):
    root = web_root(FILES)
    node = ctx.new_node(node_id=name, args=["--web-root=" + root])
    return node, root


@test
def test_static_files_have_their_content_types_and_cache_headers(ctx):
    n, _ = web_node(ctx, "web-types")
    want = {
        "index.html": "text/html; charset=utf-8",
        "assets/index-4f3a2b.js": "text/javascript; charset=utf-8",
        "assets/index-4f3a2b.css": "text/css; charset=utf-8",
        "assets/index-4f3a2b.js.map": "application/json",
        "assets/inter-latin.woff2": "font/woff2",
        "assets/mod.mjs": "text/javascript; charset=utf-8",
        "logo.svg": "image/svg+xml",
        "favicon.ico": "image/x-icon",
        "icon.png": "image/png",
        "manifest.json": "application/json",
        "robots.txt": "text/plain; charset=utf-8",
    }
    for rel, ctype in want.items():
        r = n.request("GET", "/" + rel)
        eq(r.status, 200, "GET /" + rel)
        eq(r.body, FILES[rel], "GET /%s: body" % rel)
        eq(r.header("Content-Type"), ctype, "GET /%s: Content-Type" % rel)
        cache = "public, max-age=31536000, immutable" if rel.startswith("assets/") else "no-cache"
        eq(r.header("Cache-Control"), cache, "GET /%s: Cache-Control" % rel)
        check(r.header("ETag"), "GET /%s: no ETag" % rel)
        h = n.request("HEAD", "/" + rel)
        eq((h.status, h.body), (200, b""), "HEAD /" + rel)
        eq(h.header("Content-Length"), str(len(FILES[rel])), "HEAD /%s: Content-Length" % rel)
        eq(h.header("Content-Type"), ctype, "HEAD /%s: Content-Type" % rel)


@test
def test_static_client_routes_fall_back_to_index_html(ctx):
    n, _ = web_node(ctx, "web-routes")
    for path in ("/", "/ring", "/members/node-1", "/timeline/", "/assets", "/v1.2/x"):
        r = n.request("GET", path)
        eq(r.status, 200, "GET " + path)
        eq(r.body, INDEX, "GET %s: index.html" % path)
        eq(r.header("Content-Type"), "text/html; charset=utf-8", "GET %s: Content-Type" % path)
        eq(r.header("Cache-Control"), "no-cache", "GET %s: Cache-Control" % path)
    for path in ("/missing.js", "/assets/gone-123.css", "/x/y.png"):
        expect_error(n.request("GET", path), 404, "not_found", "GET " + path)
    r = n.request("POST", "/ring", body="{}")
    expect_error(r, 405, "method_not_allowed", "POST /ring")
    eq(r.header("Allow"), "GET, HEAD", "POST /ring: Allow")
    for path in ("/api/v1/nope", "/gossip/nope", "/metrics/x", "/health/x", "/api"):
        expect_error(n.request("GET", path), 404, "not_found", "GET " + path + " stays the API's")


@test
def test_static_etag_revalidation_answers_304(ctx):
    n, root = web_node(ctx, "web-etag")
    r = n.request("GET", "/index.html")
    tag = r.header("ETag")
    check(tag and tag.startswith('"') and tag.endswith('"'), "ETag %r" % tag)
    eq(n.request("GET", "/", headers={"If-None-Match": tag}).header("ETag"), tag, "the same ETag for /")
    r = n.request("GET", "/index.html", headers={"If-None-Match": tag})
    eq((r.status, r.body), (304, b""), "revalidation with the current ETag")
    eq(r.header("Cache-Control"), "no-cache", "304: Cache-Control")
    r = n.request("GET", "/index.html", headers={"If-None-Match": '"other", W/' + tag})
    eq(r.status, 304, "a list holding the weak form of the ETag")
    r = n.request("GET", "/index.html", headers={"If-None-Match": '"other"'})
    eq(r.status, 200, "another ETag")
    time.sleep(0.01)
    with open(os.path.join(root, "index.html"), "wb") as f:
        f.write(INDEX + b"<!-- v2 -->")
    r = n.request("GET", "/index.html", headers={"If-None-Match": tag})
    eq(r.status, 200, "revalidation after the file changed")
    check(r.header("ETag") != tag, "the ETag changes with the file")


@test
def test_static_traversal_attempts_are_refused(ctx):
    n, root = web_node(ctx, "web-traversal")
    secret = tempfile.mkdtemp(prefix="chorus-secret-")
    with open(os.path.join(secret, "secret.txt"), "wb") as f:
        f.write(b"TOP-SECRET")
    os.symlink(os.path.join(secret, "secret.txt"), os.path.join(root, "link.txt"))
    os.symlink(secret, os.path.join(root, "linkdir"))
    os.symlink(os.path.join(root, "robots.txt"), os.path.join(root, "inside.txt"))
    rel_secret = os.path.relpath(os.path.join(secret, "secret.txt"), root)
    attempts = ["/../" + rel_secret, "/assets/../../" + rel_secret, "/%2e%2e/" + rel_secret,
                "/%2e%2e%2f" + rel_secret.replace("/", "%2f"), "/..%2f..%2f..%2fetc%2fpasswd", "/../../../etc/passwd",
                "/a%00b.js", "/index.html%00.js", "/link.txt", "/linkdir/secret.txt", "/.hidden", "/assets/..",
                "/..\\..\\etc\\passwd", "/%c0%ae%c0%ae/etc/passwd"]
    for path in attempts:
        status, headers, body = raw_status(n.port, ("GET %s HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
                                                    % path).encode())
        check(400 <= status < 500, "GET %s: status %d, expected 4xx" % (path, status))
        check(b"TOP-SECRET" not in body and b"root:" not in body, "GET %s leaked a file" % path)
    r = n.request("GET", "/inside.txt")
    eq((r.status, r.body), (200, FILES["robots.txt"]), "a symlink that stays inside the root")
    healthy(n)


@test
def test_static_without_a_built_dashboard_serves_a_not_built_page(ctx):
    empty = tempfile.mkdtemp(prefix="chorus-empty-")
    for args in (["--web-root=" + empty], ["--web-root=/no/such/dir"]):
        n = ctx.new_node(node_id="web-empty", args=args)
        for path in ("/", "/ring"):
            r = n.request("GET", path)
            eq(r.status, 200, "GET %s with %s" % (path, args))
            eq(r.header("Content-Type"), "text/html; charset=utf-8", "GET %s: Content-Type" % path)
            check(b"not built" in r.body and b"make" in r.body, "GET %s: %r" % (path, r.body[:200]))
        expect_error(n.request("GET", "/app.js"), 404, "not_found", "a file of an unbuilt dashboard")
        n.stop()


@test
def test_static_default_root_is_web_dist_beside_the_build_directory_else_the_working_directory(ctx):
    # a copy of the binary in <tmp>/build/, as /proc/self/exe names the real file
    tree = tempfile.mkdtemp(prefix="chorus-tree-")
    os.makedirs(os.path.join(tree, "build"))
    binary = os.path.join(tree, "build", "chorusd")
    shutil.copy2(ctx.binary, binary)
    try:
        n = Node(binary, node_id="web-default-cwd")
        ctx.own.append(n)
        os.makedirs(os.path.join(n.tmp, "web", "dist"))  # the node's working directory
        with open(os.path.join(n.tmp, "web", "dist", "index.html"), "wb") as f:
            f.write(b"<p>cwd root</p>")
        n.start()
        eq(n.request("GET", "/").body, b"<p>cwd root</p>", "no web/dist beside build/: ./web/dist")
        n.stop()
        os.makedirs(os.path.join(tree, "web", "dist"))
        with open(os.path.join(tree, "web", "dist", "index.html"), "wb") as f:
            f.write(b"<p>beside the binary</p>")
        n.start()
        eq(n.request("GET", "/ring").body, b"<p>beside the binary</p>", "<exe dir>/../web/dist first")
        n.stop()
    finally:
        shutil.rmtree(tree, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
