"""Black-box test harness for chorusd: test registry, runner, node management
and small HTTP helpers. Python 3 standard library only.

A test is a function taking one argument, a Ctx, registered with @test.
It fails by raising TestFailure (via check/eq/...) or any other exception.
"""

import atexit
import http.client
import json
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import traceback
import urllib.parse

SOCKET_TIMEOUT = 10.0  # every socket operation of the suite
HEALTH_TIMEOUT = 20.0  # node start: /health must answer 200 within this
STOP_TIMEOUT = 15.0  # SIGTERM: the process must exit within this
SANITIZER_PATTERNS = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:", "WARNING: ThreadSanitizer")

SHARED_NODE_ID = "http-test-node"


class TestFailure(Exception):
    pass


# ---------------------------------------------------------------- registry

_TESTS = []


def test(fn):
    """Registers fn as a test; its name is the function name."""
    if any(t.__name__ == fn.__name__ for t in _TESTS):
        raise RuntimeError("duplicate test name " + fn.__name__)
    _TESTS.append(fn)
    return fn


# ---------------------------------------------------------------- assertions


def check(cond, msg):
    if not cond:
        raise TestFailure(msg)


def eq(actual, expected, what):
    if actual != expected:
        raise TestFailure("%s: expected %s, got %s" % (what, _short(expected), _short(actual)))


def _short(v, limit=300):
    s = repr(v)
    return s if len(s) <= limit else s[:limit] + "...(%d chars)" % len(s)


def asan_enabled():
    return os.environ.get("CHORUS_HTTP_TEST_SANITIZERS") == "1"


def sanitizer_findings(text):
    """Lines of text reporting a sanitizer error (empty unless ASan mode)."""
    if not asan_enabled():
        return []
    return [l for l in text.splitlines() if any(p in l for p in SANITIZER_PATTERNS)]


def stop_problems(nodes):
    """Stops each node (.stop() returns its exit code or None) and lists what
    went wrong: a non-zero exit on SIGTERM, a sanitizer report in its .log."""
    problems = []
    for m in nodes:
        rc = m.stop()
        if rc not in (None, 0):
            problems.append("%s exited %s on SIGTERM" % (m.id, rc))
        try:
            with open(m.log, "rb") as f:
                found = sanitizer_findings(f.read().decode("utf-8", "replace"))
        except OSError:
            found = []
        if found:
            problems.append("%s: %s" % (m.id, found[0]))
    return problems


def tail(text, lines=15):
    return "\n".join(text.rstrip().splitlines()[-lines:])


# ---------------------------------------------------------------- HTTP


class Response:
    def __init__(self, status, reason, headers, body):
        self.status = status
        self.reason = reason
        self.headers = headers  # list of (name, value)
        self.body = body
        self._json = None

    def header(self, name):
        for k, v in self.headers:
            if k.lower() == name.lower():
                return v
        return None

    @property
    def text(self):
        return self.body.decode("utf-8", "replace")

    def json(self):
        if self._json is None:
            try:
                self._json = json.loads(self.body.decode("utf-8"))
            except (ValueError, UnicodeDecodeError) as e:
                raise TestFailure("response %d is not JSON (%s): %s" % (self.status, e, _short(self.text)))
        return self._json

    def describe(self):
        return "HTTP %d %s" % (self.status, _short(self.text, 400))


def http_request(port, method, path, body=None, headers=None, timeout=SOCKET_TIMEOUT, tls=None):
    """One request on a fresh connection. body: bytes, str or None. tls: an
    ssl.SSLContext, to ask over HTTPS."""
    if isinstance(body, str):
        body = body.encode("utf-8")
    if tls:
        conn = http.client.HTTPSConnection("127.0.0.1", port, timeout=timeout, context=tls)
    else:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request(method, path, body=body, headers=dict(headers or {}))
        r = conn.getresponse()
        data = r.read()
        return Response(r.status, r.reason, r.getheaders(), data)
    finally:
        conn.close()


def raw_exchange(port, payload, read=True, timeout=SOCKET_TIMEOUT, chunk_size=65536):
    """Sends payload (bytes) on a raw socket and reads until the peer closes
    or one full response has arrived. Returns (response bytes, send error or
    None). Never raises for resets/broken pipes; those are reported."""
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    send_err = None
    got = b""
    try:
        try:
            for i in range(0, len(payload), chunk_size):
                s.sendall(payload[i:i + chunk_size])
        except (BrokenPipeError, ConnectionResetError, socket.timeout) as e:
            send_err = e
        if read:
            got = _read_one_response(s, timeout)
    finally:
        s.close()
    return got, send_err


def _read_one_response(s, timeout):
    deadline = time.monotonic() + timeout
    buf = b""
    while time.monotonic() < deadline:
        try:
            s.settimeout(max(0.05, deadline - time.monotonic()))
            chunk = s.recv(65536)
        except socket.timeout:
            break
        except (ConnectionResetError, BrokenPipeError, OSError):
            break
        if not chunk:
            break
        buf += chunk
        head, sep, rest = buf.partition(b"\r\n\r\n")
        if sep:
            m = re.search(rb"(?im)^content-length:\s*(\d+)\s*$", head)
            if m and len(rest) >= int(m.group(1)):
                break
    return buf


def parse_raw_response(data):
    """(status, headers dict lower-case, body bytes) or None."""
    head, sep, body = data.partition(b"\r\n\r\n")
    m = re.match(rb"HTTP/1\.[01] (\d{3})", head)
    if not m:
        return None
    headers = {}
    for line in head.split(b"\r\n")[1:]:
        k, _, v = line.partition(b":")
        headers[k.strip().lower().decode("latin-1")] = v.strip().decode("latin-1")
    return int(m.group(1)), headers, body


def kpath(key, query=""):
    """Data path of key (str or bytes), percent-encoding every byte that needs it."""
    if isinstance(key, str):
        key = key.encode("utf-8")
    p = "/api/v1/data/" + urllib.parse.quote_from_bytes(key, safe="")
    return p + ("?" + query if query else "")


def expect_json(resp, status, what="response"):
    if resp.status != status:
        raise TestFailure("%s: expected HTTP %d, got %s" % (what, status, resp.describe()))
    ct = resp.header("Content-Type") or ""
    check(ct.split(";")[0].strip().lower() == "application/json",
          "%s: Content-Type is %r, expected application/json" % (what, ct))
    body = resp.json()
    check(isinstance(body, dict), "%s: body is not a JSON object: %s" % (what, _short(body)))
    return body


def expect_error(resp, status, codes, what="response"):
    """codes: a code or a tuple of acceptable codes. Returns the body."""
    if isinstance(codes, str):
        codes = (codes,)
    body = expect_json(resp, status, what)
    err = body.get("error")
    check(isinstance(err, dict), "%s: no error object in %s" % (what, _short(body)))
    check(err.get("code") in codes, "%s: error code %r, expected %s" % (what, err.get("code"), " or ".join(codes)))
    check(isinstance(err.get("message"), str) and err.get("message") != "",
          "%s: error.message missing or empty: %s" % (what, _short(body)))
    return body


# ---------------------------------------------------------------- nodes


_PORT_CURSOR = [None]


def _bindable(port, kind, reuse):
    s = socket.socket(socket.AF_INET, kind)
    try:
        if reuse:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("127.0.0.1", port))
        return True
    except OSError:
        return False
    finally:
        s.close()


def _ephemeral_low():
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
            return int(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768


# Ports below the kernel's ephemeral range: a port there (and port + 1000,
# the peer port) cannot be taken by an outgoing connection's source port
# while a test restarts the node that owns it.
_DEFAULT_PORTS = "20000-%d" % (min(30999, _ephemeral_low() - 1001))


def free_port():
    """A free TCP port whose port + 1000 (the peer port) is free too, below
    the ephemeral range. CHORUS_TEST_PORTS=LO-HI keeps every node of the run
    inside that range instead, for machines where a test may use only some
    ports."""
    spec = os.environ.get("CHORUS_TEST_PORTS") or _DEFAULT_PORTS
    lo, _, hi = spec.partition("-")
    lo, hi = int(lo), int(hi or lo)
    if _PORT_CURSOR[0] is None:  # concurrent runs start at different places
        _PORT_CURSOR[0] = random.randrange(hi - lo + 1)
    for i in range(hi - lo + 1):
        port = lo + (_PORT_CURSOR[0] + i) % (hi - lo + 1)
        if (_bindable(port, socket.SOCK_STREAM, True) and _bindable(port, socket.SOCK_DGRAM, False)
                and _bindable(port + 1000, socket.SOCK_STREAM, True)):
            _PORT_CURSOR[0] = port - lo + 1
            return port
    raise TestFailure("no free port in %s" % spec)


_LIVE_PROCS = {}  # pid -> Popen; anything still here at exit is killed by pid


def _kill_leftovers():
    for pid, p in list(_LIVE_PROCS.items()):
        if p.poll() is None:
            try:
                os.kill(pid, signal.SIGKILL)
                p.wait(5)
            except (OSError, subprocess.TimeoutExpired):
                pass
        _LIVE_PROCS.pop(pid, None)


atexit.register(_kill_leftovers)


class Node:
    """One chorusd process (and its restarts) over one temp dir.

    tmp/ holds data/ (the data dir unless data_dir is given) and
    stderr-<n>.log for the n-th start. Every start gets a fresh free port
    unless port is fixed."""

    def __init__(self, binary, node_id=SHARED_NODE_ID, args=(), env=None, port_via_env=False,
                 data_dir=None, use_bind=True, space_separated=False, tls=None):
        self.binary = binary
        self.tls = tls  # an ssl.SSLContext when the node serves HTTPS
        self.node_id = node_id
        self.args = list(args)
        self.env_extra = dict(env or {})
        self.port_via_env = port_via_env
        self.use_bind = use_bind
        self.space_separated = space_separated  # "--flag value" instead of "--flag=value"
        self.tmp = tempfile.mkdtemp(prefix="chorus-http-")
        self.data_dir = data_dir or os.path.join(self.tmp, "data")
        self.proc = None
        self.port = None
        self.starts = 0
        self.stderr_path = None
        self.problems = []  # sanitizer findings / bad exits seen at stop or kill

    # -- process control

    def command(self):
        flags = []
        if self.node_id is not None:
            flags.append(("--node-id", self.node_id))
        if not self.port_via_env:
            flags.append(("--port", str(self.port)))
        if self.use_bind:
            flags.append(("--bind", "127.0.0.1"))
        flags.append(("--data-dir", self.data_dir))
        cmd = [self.binary]
        for name, value in flags:
            cmd += [name, value] if self.space_separated else [name + "=" + value]
        return cmd + self.args

    def environment(self):
        env = dict(os.environ)
        for k in list(env):
            if k.startswith("CHORUS_") and k != "CHORUS_HTTP_TEST_SANITIZERS":
                del env[k]  # no stray configuration from the caller's shell
        if self.port_via_env:
            env["CHORUS_PORT"] = str(self.port)
        env.update(self.env_extra)
        return env

    def start(self, wait=True):
        check(self.proc is None or self.proc.poll() is not None, "node already running")
        if not os.path.isfile(self.binary) or not os.access(self.binary, os.X_OK):
            raise TestFailure("server binary %s does not exist or is not executable" % self.binary)
        self.port = free_port()
        self.starts += 1
        self.stderr_path = os.path.join(self.tmp, "stderr-%d.log" % self.starts)
        with open(self.stderr_path, "wb") as err, open(os.devnull, "rb") as devnull:
            self.proc = subprocess.Popen(self.command(), stdin=devnull, stdout=err, stderr=err,
                                         cwd=self.tmp, env=self.environment())
        _LIVE_PROCS[self.proc.pid] = self.proc
        if wait:
            self.wait_healthy()
        return self

    def stderr(self):
        if not self.stderr_path or not os.path.exists(self.stderr_path):
            return ""
        with open(self.stderr_path, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def wait_healthy(self, timeout=HEALTH_TIMEOUT):
        deadline = time.monotonic() + timeout
        last = "no answer"
        while time.monotonic() < deadline:
            rc = self.proc.poll()
            if rc is not None:
                _LIVE_PROCS.pop(self.proc.pid, None)
                raise TestFailure("chorusd exited with %d before /health answered; stderr tail:\n%s"
                                  % (rc, tail(self.stderr())))
            try:
                r = http_request(self.port, "GET", "/health", timeout=1.0, tls=self.tls)
                if r.status == 200:
                    return
                last = r.describe()
            except (OSError, http.client.HTTPException) as e:
                last = "%s: %s" % (type(e).__name__, e)
            time.sleep(0.05)
        pid = self.proc.pid
        self._hard_kill()
        raise TestFailure("chorusd (pid %d) not healthy within %.0f s (last: %s); stderr tail:\n%s"
                          % (pid, timeout, last, tail(self.stderr())))

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def _hard_kill(self):
        if self.proc is None:
            return
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
            try:
                self.proc.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                pass
        _LIVE_PROCS.pop(self.proc.pid, None)

    def _note_sanitizers(self):
        found = sanitizer_findings(self.stderr())
        if found:
            self.problems.append("sanitizer report in %s: %s" % (self.stderr_path, found[0]))
        return found

    def terminate(self, timeout=STOP_TIMEOUT):
        """SIGTERM; returns the exit code (None if it did not exit in time, then
        SIGKILLed). Sanitizer reports are noted and fail the test at cleanup."""
        rc = self._signal_and_wait(timeout)
        self._note_sanitizers()
        return rc

    def _signal_and_wait(self, timeout):
        if self.proc is None:
            return None
        pid = self.proc.pid
        if self.proc.poll() is None:
            os.kill(pid, signal.SIGTERM)
        try:
            rc = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            rc = None
            self._hard_kill()
        _LIVE_PROCS.pop(pid, None)
        return rc

    def stop(self, timeout=STOP_TIMEOUT):
        """SIGTERM and require exit code 0 within timeout and (ASan mode) a clean stderr."""
        if self.proc is None:
            return
        was_running = self.proc.poll() is None
        pid = self.proc.pid
        rc = self._signal_and_wait(timeout)
        msgs = []
        if rc is None:
            msgs.append("chorusd pid %d did not exit within %.0f s of SIGTERM (killed)" % (pid, timeout))
        elif rc != 0:
            how = "after SIGTERM" if was_running else "on its own before SIGTERM"
            msgs.append("chorusd pid %d exited with %d %s" % (pid, rc, how))
        found = sanitizer_findings(self.stderr())
        if found:
            msgs.append("sanitizer report in node stderr: %s" % found[0])
        if msgs:
            raise TestFailure("; ".join(msgs) + "; stderr tail:\n" + tail(self.stderr(), 30 if found else 15))

    def kill(self):
        """SIGKILL (crash simulation)."""
        if self.proc is None:
            return
        self._hard_kill()
        self._note_sanitizers()

    def restart(self):
        self.stop()
        return self.start()

    def cleanup(self):
        """Stops the process if needed (SIGTERM then SIGKILL), removes the temp dir.
        Returns a list of problems (bad exit, sanitizer reports)."""
        problems = []
        if self.alive():
            try:
                self.stop()
            except TestFailure as e:
                problems.append(str(e))
        problems.extend(p for p in self.problems if p not in problems)
        self.problems = []
        shutil.rmtree(self.tmp, ignore_errors=True)
        return problems

    # -- HTTP conveniences

    def request(self, method, path, body=None, headers=None, timeout=SOCKET_TIMEOUT):
        return http_request(self.port, method, path, body, headers, timeout, tls=self.tls)

    def get_path(self, path, headers=None):
        return self.request("GET", path, headers=headers)

    def put(self, key, value, context=None, ctx_header=None, request_id=None, query="", headers=None, body=None):
        h = dict(headers or {})
        if ctx_header is not None:
            h["X-Chorus-Context"] = ctx_header
        if request_id is not None:
            h["X-Request-Id"] = request_id
        if body is None:
            doc = {"value": value}
            if context is not None:
                doc["context"] = context
            body = json.dumps(doc)
        h.setdefault("Content-Type", "application/json")
        return self.request("PUT", kpath(key, query), body, h)

    def get(self, key, query="", headers=None):
        return self.request("GET", kpath(key, query), headers=headers)

    def delete(self, key, ctx_header=None, request_id=None, query="", headers=None):
        h = dict(headers or {})
        if ctx_header is not None:
            h["X-Chorus-Context"] = ctx_header
        if request_id is not None:
            h["X-Request-Id"] = request_id
        return self.request("DELETE", kpath(key, query), None, h)

    # checked variants: assert success and return the JSON body
    def put_ok(self, key, value, **kw):
        return expect_json(self.put(key, value, **kw), 200, "PUT %r" % key)

    def get_ok(self, key, **kw):
        return expect_json(self.get(key, **kw), 200, "GET %r" % key)

    def delete_ok(self, key, **kw):
        return expect_json(self.delete(key, **kw), 200, "DELETE %r" % key)

    def status(self):
        return expect_json(self.request("GET", "/api/v1/status"), 200, "GET /api/v1/status")

    def vector_clock(self, query=""):
        path = "/api/v1/vector-clock" + ("?" + query if query else "")
        return expect_json(self.request("GET", path), 200, "GET " + path)

    def metrics_text(self):
        r = self.request("GET", "/metrics")
        check(r.status == 200, "GET /metrics: " + r.describe()[:200])
        return r, r.text


def run_cli(binary, args, env_extra=None, timeout=STOP_TIMEOUT):
    """Runs chorusd expecting it to exit by itself. Returns (rc, stderr text).
    A process still running after timeout is killed by pid and reported."""
    if not os.path.isfile(binary):
        raise TestFailure("server binary %s does not exist" % binary)
    env = dict(os.environ)
    for k in list(env):
        if k.startswith("CHORUS_") and k != "CHORUS_HTTP_TEST_SANITIZERS":
            del env[k]
    env.update(env_extra or {})
    tmp = tempfile.mkdtemp(prefix="chorus-cli-")
    try:
        errpath = os.path.join(tmp, "stderr.log")
        with open(errpath, "wb") as err, open(os.devnull, "rb") as devnull:
            p = subprocess.Popen([binary] + list(args), stdin=devnull, stdout=err, stderr=err, cwd=tmp, env=env)
        _LIVE_PROCS[p.pid] = p
        try:
            rc = p.wait(timeout)
        except subprocess.TimeoutExpired:
            os.kill(p.pid, signal.SIGKILL)
            p.wait(5)
            rc = None
        finally:
            _LIVE_PROCS.pop(p.pid, None)
        with open(errpath, "rb") as f:
            text = f.read().decode("utf-8", "replace")
        if rc is None:
            raise TestFailure("chorusd %s still running after %.0f s (killed); stderr tail:\n%s"
                              % (" ".join(args), timeout, tail(text)))
        found = sanitizer_findings(text)
        if found:
            raise TestFailure("sanitizer report: %s" % found[0])
        return rc, text
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


# ---------------------------------------------------------------- per-test context


class Runner:
    def __init__(self, binary):
        self.binary = binary
        self.shared_nodes = {}  # name -> Node
        self.shared_errors = {}  # name -> reason its start failed (not retried)
        self.shared_problems = []  # shared node deaths noticed after a test
        self.counter = 0
        self.run_id = "%x" % int(time.time() * 1000)

    def shared(self, name, args):
        if name in self.shared_errors:
            raise TestFailure("shared node %r could not start: %s" % (name, self.shared_errors[name]))
        node = self.shared_nodes.get(name)
        if node is None:
            node = Node(self.binary, node_id=SHARED_NODE_ID if name == "main" else "http-test-" + name, args=args)
            try:
                node.start()
            except TestFailure as e:
                self.shared_errors[name] = str(e)
                node.cleanup()
                raise
            self.shared_nodes[name] = node
        return node

    def dead_shared_nodes(self):
        """Reports (once) and forgets shared nodes that exited; the next test
        that needs one starts a new one."""
        out = []
        for name, node in list(self.shared_nodes.items()):
            if node.proc is not None and node.proc.poll() is not None:
                out.append("shared node %r died (exit %s); stderr tail:\n%s"
                           % (name, node.proc.returncode, tail(node.stderr())))
                _LIVE_PROCS.pop(node.proc.pid, None)
                node._note_sanitizers()
                out.extend(node.problems)
                node.problems = []
                node.cleanup()
                del self.shared_nodes[name]
        return out


class Ctx:
    """What a test gets: the binary, shared nodes, own nodes (cleaned up
    after the test) and unique key names."""

    def __init__(self, runner, test_name):
        self.runner = runner
        self.binary = runner.binary
        self.test_name = test_name
        self.own = []

    @property
    def node(self):
        """The node shared by most tests (default flags)."""
        return self.runner.shared("main", [])

    def shared(self, name, args):
        return self.runner.shared(name, args)

    def new_node(self, start=True, **kw):
        n = Node(self.binary, **kw)
        self.own.append(n)
        if start:
            n.start()
        return n

    def key(self, hint="k"):
        self.runner.counter += 1
        return "%s-%s-%s-%d" % (self.test_name[5:40], hint, self.runner.run_id, self.runner.counter)

    def cleanup(self):
        problems = []
        for n in self.own:
            problems.extend(n.cleanup())
        self.own = []
        return problems


def _one_line(s, limit=3000):
    s = " | ".join(l.strip() for l in str(s).strip().splitlines() if l.strip())
    return s if len(s) <= limit else s[:limit] + "..."


def main(argv=None):
    import argparse
    ap = argparse.ArgumentParser(description="Black-box HTTP tests of chorusd")
    ap.add_argument("--bin", default="build/chorusd", help="path to chorusd")
    only = [p for p in os.environ.get("CHORUS_TEST_ONLY", "").split(",") if p]
    ap.add_argument("-k", dest="pattern", action="append", default=only,
                    help="run only tests whose name contains this substring (repeatable; default the "
                    "comma-separated substrings of CHORUS_TEST_ONLY)")
    ap.add_argument("--list", action="store_true", help="list test names and exit")
    opts = ap.parse_args(argv)

    selected = [t for t in _TESTS if not opts.pattern or any(p in t.__name__ for p in opts.pattern)]
    if opts.list:
        for t in selected:
            print(t.__name__)
        return 0

    runner = Runner(os.path.abspath(opts.bin))
    passed = failed = 0

    def report(name, reason):
        nonlocal passed, failed
        if reason is None:
            passed += 1
            print("ok " + name, flush=True)
        else:
            failed += 1
            print("FAIL %s: %s" % (name, _one_line(reason)), flush=True)

    def on_signal(signum, frame):
        raise KeyboardInterrupt()

    signal.signal(signal.SIGTERM, on_signal)
    try:
        for t in selected:
            ctx = Ctx(runner, t.__name__)
            reason = None
            try:
                t(ctx)
            except TestFailure as e:
                reason = str(e)
            except KeyboardInterrupt:
                raise
            except Exception as e:  # a crash of the test itself, or an unexpected network error
                tb = traceback.extract_tb(e.__traceback__)
                where = ("%s:%d" % (os.path.basename(tb[-1].filename), tb[-1].lineno)) if tb else "?"
                reason = "%s: %s (at %s)" % (type(e).__name__, e, where)
            finally:
                problems = ctx.cleanup()
                problems += runner.dead_shared_nodes()
            if problems:
                extra = "; ".join(problems)
                reason = extra if reason is None else reason + "; also: " + extra
            report(t.__name__, reason)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
    finally:
        for name, node in list(runner.shared_nodes.items()):
            problems = node.cleanup()
            report("shared_node_%s_stops_cleanly_on_sigterm" % name, "; ".join(problems) if problems else None)
        _kill_leftovers()
    print("%d passed, %d failed" % (passed, failed), flush=True)
    return 0 if failed == 0 else 1
