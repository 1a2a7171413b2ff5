"""One chorusd of a chaos run: its process in its namespace, its disk, and HTTP to it.

Each node's data directory lives on its own small tmpfs, so the disk-full
fault fills a real file system the node writes to, and frees it again. The
process is started with `ip netns exec`, so kill -9, SIGSTOP and SIGCONT
go to the PID of chorusd itself (exec replaces ip); every start appends to
the node's log.

Invariants: a node's PID is only signalled while the process is ours and
running; close() leaves no process and no mount behind.
"""

import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import time

PORT = 8081
DISK_BYTES = 192 * 1024 * 1024


def request(ip, method, path, body=None, headers=None, timeout=10.0, port=PORT):
    """(status, parsed JSON or None, error) of one request on a fresh connection.

    error is None when an HTTP answer came, else "refused" (nothing was
    sent), "timeout" or "reset" (the request may have been applied)."""
    h = {"Content-Type": "application/json"} if body is not None else {}
    h.update(headers or {})
    conn = http.client.HTTPConnection(ip, port, timeout=timeout)
    try:
        try:
            conn.connect()
        except ConnectionRefusedError:
            return None, None, "refused"
        except (socket.timeout, OSError):
            return None, None, "connect-timeout"
        conn.request(method, path, body=json.dumps(body) if body is not None else None, headers=h)
        r = conn.getresponse()
        raw = r.read()
        try:
            doc = json.loads(raw) if raw else None
        except ValueError:
            doc = None
        return r.status, doc, None
    except socket.timeout:
        return None, None, "timeout"
    except (ConnectionError, http.client.HTTPException, OSError):
        return None, None, "reset"
    finally:
        conn.close()


class Node:
    def __init__(self, net, i, binary, run_dir, flags):
        self.net, self.i, self.binary, self.flags = net, i, binary, flags
        self.id = "n%d" % i
        self.ip = net.ip(i)
        self.base = os.path.join(run_dir, "disks", self.id)
        self.data = os.path.join(self.base, "data")
        self.filler = os.path.join(self.base, "filler")
        self.log = os.path.join(run_dir, "logs", self.id + ".log")
        self.proc = None
        self.paused = False
        self.mounted = False

    def mount(self):
        os.makedirs(self.base, exist_ok=True)
        subprocess.run(["mount", "-t", "tmpfs", "-o", "size=%d" % DISK_BYTES, "tmpfs", self.base], check=True)
        self.mounted = True
        os.makedirs(self.data, exist_ok=True)

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def start(self, seeds):
        cmd = ["ip", "netns", "exec", self.net.nodes[self.i], self.binary, "--node-id=" + self.id,
               "--port=%d" % PORT, "--bind=0.0.0.0", "--advertise=" + self.ip, "--data-dir=" + self.data]
        cmd += ["--seed-node=%s:%d" % (s, PORT) for s in seeds] + list(self.flags)
        with open(self.log, "ab") as log:
            log.write(("---- %s start\n" % time.strftime("%H:%M:%S")).encode())
            log.flush()
            self.proc = subprocess.Popen(cmd, stdout=log, stderr=log, stdin=subprocess.DEVNULL)
        self.paused = False

    def signal(self, sig):
        if self.running():
            self.proc.send_signal(sig)

    def kill9(self):
        if self.paused:
            self.resume()
        self.signal(signal.SIGKILL)
        if self.proc:
            self.proc.wait()

    def pause(self):
        self.signal(signal.SIGSTOP)
        self.paused = True

    def resume(self):
        self.signal(signal.SIGCONT)
        self.paused = False

    def stop(self, timeout=20):
        """SIGTERM and wait; returns the exit code (None if it was not running, "killed" if it hung)."""
        if self.paused:
            self.resume()
        if not self.running():
            return None
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            return "killed"

    def wipe(self):
        """The replica loses its disk: everything in its data directory goes."""
        shutil.rmtree(self.data, ignore_errors=True)
        os.makedirs(self.data, exist_ok=True)

    def fill_disk(self):
        """Fills the node's file system but for 64 KiB."""
        st = os.statvfs(self.base)
        free = st.f_bavail * st.f_frsize
        with open(self.filler, "wb") as f:
            try:
                os.posix_fallocate(f.fileno(), 0, max(free - 65536, 4096))
            except OSError:
                pass

    def free_disk(self):
        if os.path.exists(self.filler):
            os.unlink(self.filler)

    def get(self, path, timeout=5.0):
        return request(self.ip, "GET", path, timeout=timeout)

    def post(self, path, body=None, timeout=5.0):
        return request(self.ip, "POST", path, body=body if body is not None else {}, timeout=timeout)

    def close(self):
        self.kill9()
        if self.mounted:
            subprocess.run(["umount", "-l", self.base], check=False)
            self.mounted = False
