#!/usr/bin/env python3
"""Black-box tests of HTTPS on the API (--tls-cert, --tls-key): the data
API, the dashboard and /ws over it, --api-token over it, a reload on SIGHUP
that keeps open connections, a bad reload that keeps the certificate in use,
and the checks of the flags at start. A test CA and its certificates are made
with the openssl command line once per run (tlscerts.py).

    python3 tests/http/test_tls.py --bin build/chorusd [-k substring] [--list]
    tests/run-suite.sh tls build/chorusd

Prints one line per test ("ok name" / "FAIL name: reason") and ends with
"N passed, N failed". CHORUS_HTTP_TEST_SANITIZERS=1: the binary is a
sanitizer build; a sanitizer report in a node's stderr fails the test.
"""

import atexit
import http.client
import os
import shutil
import signal
import ssl
import subprocess
import sys
import tempfile
import time

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from harness import (  # noqa: E402
    SOCKET_TIMEOUT, TestFailure, check, eq, expect_json, http_request, main, run_cli, test,
)
from tlscerts import certs  # noqa: E402
from wsclient import OP_PING, OP_PONG, WS, frame, web_root  # noqa: E402

INDEX = b"<!doctype html><title>dashboard over https</title>"


def pair_files(name, where):
    """Copies the pair `name` to where/cert.pem and where/key.pem (the files a
    node is started with, replaced later for a reload)."""
    c = certs()
    shutil.copyfile(c.cert(name), os.path.join(where, "cert.pem"))
    shutil.copyfile(c.key(name), os.path.join(where, "key.pem"))
    return ["--tls-cert=" + os.path.join(where, "cert.pem"), "--tls-key=" + os.path.join(where, "key.pem")]


def https_node(ctx, name, extra=(), pair="one"):
    where = tempfile.mkdtemp(prefix="chorus-tls-node-")
    atexit.register(shutil.rmtree, where, True)
    node = ctx.new_node(node_id=name, args=pair_files(pair, where) + list(extra), tls=certs().context(),
                        start=False)
    node.tls_dir = where
    return node.start()


def served_der(port):
    """The certificate a new connection is handed (DER)."""
    conn = http.client.HTTPSConnection("127.0.0.1", port, timeout=SOCKET_TIMEOUT, context=certs().context())
    try:
        conn.connect()
        return conn.sock.getpeercert(binary_form=True)
    finally:
        conn.close()


def greeted_and_ponged(ws, payload, what):
    """Reads the three messages every connection starts with, then pings."""
    for t in ("hello", "members", "ring"):
        eq(ws.message()["type"], t, "%s: message after the handshake" % what)
    ws.send(frame(OP_PING, payload))
    f = ws.next_control()
    eq((f[1], f[2]), (OP_PONG, payload), "%s: pong" % what)


def status_tls(node):
    return expect_json(node.request("GET", "/api/v1/status"), 200, "status")["tls"]


def wait_until(what, fn, timeout=10.0):
    deadline = time.monotonic() + timeout
    while True:
        v = fn()
        if v:
            return v
        if time.monotonic() > deadline:
            raise TestFailure("%s: not within %.0f s" % (what, timeout))
        time.sleep(0.05)


def curl(args):
    p = subprocess.run(["curl", "-sS", "-o", "/dev/null", "-w", "%{http_code}"] + args, stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=30)
    return p.returncode, p.stdout.decode().strip()


@test
def test_https_serves_the_data_api_with_a_certificate_of_the_test_ca(ctx):
    n = https_node(ctx, "tls-data")
    key = ctx.key()
    put = expect_json(n.put(key, "over https"), 200, "PUT over HTTPS")
    eq(put["value"], "over https", "PUT's value")
    got = expect_json(n.get(key), 200, "GET over HTTPS")
    eq(got["value"], "over https", "GET's value")
    eq(served_der(n.port), certs().der("one"), "the certificate served")
    t = status_tls(n)
    eq(t["enabled"], True, "status tls.enabled")
    check("chorus-one" in t["subject"], "status tls.subject names the certificate: %r" % t["subject"])
    check(t["not_after"] > time.strftime("%Y-%m-%dT", time.gmtime()), "not_after is ahead: %r" % t["not_after"])
    eq((t["reloads"], t["reload_failures"]), (0, 0), "reloads, failures")
    # curl with the test CA is served; curl that trusts only the system's CAs is refused
    eq(curl(["--cacert", certs().ca, "https://127.0.0.1:%d/health" % n.port]), (0, "200"), "curl --cacert")
    rc, _ = curl(["https://127.0.0.1:%d/health" % n.port])
    eq(rc, 60, "curl without the test CA (60: certificate not trusted)")
    # a client that does not trust the test CA cannot talk to it
    try:
        http_request(n.port, "GET", "/health", tls=ssl.create_default_context())
        raise TestFailure("a client without the test CA was served")
    except ssl.SSLCertVerificationError:
        pass


@test
def test_plain_http_on_the_https_port_gets_no_answer_and_harms_nothing(ctx):
    n = https_node(ctx, "tls-plain")
    try:
        r = http_request(n.port, "GET", "/health", timeout=3)
        raise TestFailure("plain HTTP was answered: %s" % r.describe())
    except (OSError, http.client.HTTPException):
        pass
    eq(n.request("GET", "/health").status, 200, "HTTPS after a plain request")


@test
def test_the_dashboard_and_the_websocket_work_over_https(ctx):
    root = web_root({"index.html": INDEX})
    atexit.register(shutil.rmtree, root, True)
    n = https_node(ctx, "tls-web", ["--web-root=" + root])
    r = n.request("GET", "/")
    eq((r.status, r.body), (200, INDEX), "GET / over HTTPS")
    ws = WS(n.port, tls=certs().context())
    try:
        eq(ws.status, 101, "WebSocket handshake over HTTPS")
        greeted_and_ponged(ws, b"tls", "WebSocket over HTTPS")
    finally:
        ws.close()


@test
def test_api_token_is_required_over_https_too(ctx):
    n = https_node(ctx, "tls-token", ["--api-token=s3cret"])
    eq(n.request("GET", "/api/v1/status").status, 401, "no token")
    eq(n.request("GET", "/api/v1/status", headers={"Authorization": "Bearer wrong"}).status, 401, "wrong token")
    r = n.request("GET", "/api/v1/status", headers={"Authorization": "Bearer s3cret"})
    eq(r.status, 200, "the token")


@test
def test_sighup_reloads_the_certificate_and_keeps_open_connections(ctx):
    n = https_node(ctx, "tls-reload")
    c = certs()
    old = http.client.HTTPSConnection("127.0.0.1", n.port, timeout=SOCKET_TIMEOUT, context=c.context())
    ws = WS(n.port, tls=c.context())
    try:
        old.request("GET", "/health")
        r = old.getresponse()
        eq((r.status, r.read() != b""), (200, True), "a first answer on the kept connection")
        eq(old.sock.getpeercert(binary_form=True), c.der("one"), "the kept connection's certificate")
        eq(ws.status, 101, "WebSocket handshake")
        pair_files("two", n.tls_dir)
        os.kill(n.proc.pid, signal.SIGHUP)
        wait_until("new connections get the new certificate", lambda: served_der(n.port) == c.der("two"))
        sock = old.sock
        for i in range(3):  # the connection set up before the reload still answers, on the same socket
            old.request("GET", "/health")
            r = old.getresponse()
            eq((r.status, r.read() != b""), (200, True), "answer %d on the kept connection" % i)
        check(old.sock is sock, "the kept connection was closed and opened again")
        greeted_and_ponged(ws, b"after", "WebSocket opened before the reload")
    finally:
        old.close()
        ws.close()
    t = status_tls(n)
    check("chorus-two" in t["subject"], "status names the new certificate: %r" % t["subject"])
    eq((t["reloads"], t["reload_failures"]), (1, 0), "reloads, failures")
    check("chorus_tls_reloads_total 1\n" in n.request("GET", "/metrics").text, "metrics count the reload")
    eq(n.alive(), True, "the node runs on after SIGHUP")


@test
def test_a_bad_reload_is_refused_and_the_certificate_in_use_stays(ctx):
    n = https_node(ctx, "tls-bad-reload")
    c = certs()
    cert = os.path.join(n.tls_dir, "cert.pem")
    with open(cert, "w") as f:
        f.write("-----BEGIN CERTIFICATE-----\nnot base64 at all\n-----END CERTIFICATE-----\n")
    os.kill(n.proc.pid, signal.SIGHUP)
    wait_until("the garbled certificate refused", lambda: status_tls(n)["reload_failures"] == 1)
    eq(served_der(n.port), c.der("one"), "certificate after a garbled file")
    shutil.copyfile(c.cert("two"), cert)  # the new certificate with the old key: not a pair
    os.kill(n.proc.pid, signal.SIGHUP)
    wait_until("the mismatched pair refused", lambda: status_tls(n)["reload_failures"] == 2)
    eq(served_der(n.port), c.der("one"), "certificate after a mismatched pair")
    eq(status_tls(n)["reloads"], 0, "reloads that took effect")
    check("is not the key of the certificate" in n.stderr(), "the log says why the pair was refused")
    pair_files("two", n.tls_dir)  # mended: the next reload takes it
    os.kill(n.proc.pid, signal.SIGHUP)
    wait_until("the mended pair served", lambda: served_der(n.port) == c.der("two"))
    eq(n.terminate(), 0, "exit code of SIGTERM after the reloads")


@test
def test_tls_flags_are_checked_at_start(ctx):
    c = certs()
    for args, flag in ((["--tls-cert=" + c.cert("one")], "--tls-cert: needs --tls-key"),
                       (["--tls-key=" + c.key("one")], "--tls-key: needs --tls-cert")):
        rc, err = run_cli(ctx.binary, ["--gossip=false", "--port=1"] + args)
        eq(rc, 2, "exit code of %s" % args)
        check(flag in err, "the error names the flag: %r" % err[-300:])
    cases = (
        ("/no/such/cert.pem", c.key("one"), "cannot read the certificate /no/such/cert.pem"),
        (c.cert("one"), "/no/such/key.pem", "cannot read the key /no/such/key.pem"),
        (c.key("one"), c.key("one"), "holds no PEM certificate"),
        (c.cert("one"), c.cert("one"), "holds no unencrypted PEM private key"),
        (c.cert("one"), c.key("stranger"), "is not the key of the certificate"),
    )
    for cert, key, why in cases:
        data = tempfile.mkdtemp(prefix="chorus-tls-cli-")
        atexit.register(shutil.rmtree, data, True)
        rc, err = run_cli(ctx.binary, ["--gossip=false", "--bind=127.0.0.1", "--port=1", "--data-dir=" + data,
                                       "--tls-cert=" + cert, "--tls-key=" + key])
        eq(rc, 1, "exit code with %s / %s" % (os.path.basename(cert), os.path.basename(key)))
        check(why in err, "the error says %r: %r" % (why, err[-400:]))


@test
def test_tls_files_come_from_the_environment_too(ctx):
    c = certs()
    n = ctx.new_node(node_id="tls-env", env={"CHORUS_TLS_CERT": c.cert("two"), "CHORUS_TLS_KEY": c.key("two")},
                     tls=c.context())
    eq(served_der(n.port), c.der("two"), "certificate named by CHORUS_TLS_CERT")
    eq(n.get(ctx.key()).status, 404, "GET of a missing key over HTTPS")


if __name__ == "__main__":
    sys.exit(main())
