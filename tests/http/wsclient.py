"""A WebSocket client for the black-box suites (raw sockets, stdlib only):
the frames a client sends, and a connection that reads the server's frames
with a deadline. Over HTTPS when given an ssl.SSLContext. Also web_root, a
temporary dashboard directory for --web-root."""

import base64
import hashlib
import json
import os
import socket
import struct
import tempfile
import time

from harness import SOCKET_TIMEOUT, TestFailure, check, eq, parse_raw_response

GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
RFC_KEY = "dGhlIHNhbXBsZSBub25jZQ=="
RFC_ACCEPT = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="  # RFC 6455 section 1.3
MAX_CONNECTIONS = 64
OP_CONT, OP_TEXT, OP_BINARY, OP_CLOSE, OP_PING, OP_PONG = 0, 1, 2, 8, 9, 10


# ---------------------------------------------------------------- a WebSocket client


def frame(op, payload=b"", fin=True, mask=True, rsv=0):
    """A client frame (masked unless told otherwise)."""
    if isinstance(payload, str):
        payload = payload.encode("utf-8")
    b0 = (0x80 if fin else 0) | rsv | op
    n = len(payload)
    mbit = 0x80 if mask else 0
    if n < 126:
        head = bytes([b0, mbit | n])
    elif n < 65536:
        head = bytes([b0, mbit | 126]) + struct.pack(">H", n)
    else:
        head = bytes([b0, mbit | 127]) + struct.pack(">Q", n)
    if not mask:
        return head + payload
    key = os.urandom(4)
    return head + key + bytes(c ^ key[i % 4] for i, c in enumerate(payload))


def close_payload(code, reason=b""):
    return struct.pack(">H", code) + reason


class WS:
    """One client connection; frames are read with a deadline."""

    def __init__(self, port, path="/ws", key=None, headers=None, timeout=SOCKET_TIMEOUT, rcvbuf=None, tls=None):
        self.key = key or base64.b64encode(os.urandom(16)).decode()
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        if rcvbuf:  # before connect, so the window stays small
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        self.sock.settimeout(timeout)
        self.sock.connect(("127.0.0.1", port))
        if tls:  # an ssl.SSLContext: the same exchange over HTTPS
            self.sock = tls.wrap_socket(self.sock, server_hostname="127.0.0.1")
        lines = ["GET %s HTTP/1.1" % path, "Host: 127.0.0.1:%d" % port, "Upgrade: websocket",
                 "Connection: Upgrade", "Sec-WebSocket-Key: " + self.key, "Sec-WebSocket-Version: 13"]
        for k, v in (headers or {}).items():
            lines.append("%s: %s" % (k, v))
        self.sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        self.buf = b""
        deadline = time.monotonic() + timeout
        while b"\r\n\r\n" not in self.buf:
            chunk = self._recv(deadline)
            if not chunk:
                break
            self.buf += chunk
        head, sep, self.buf = self.buf.partition(b"\r\n\r\n")
        parsed = parse_raw_response(head + sep)
        check(parsed is not None, "no HTTP answer to the handshake: %r" % head[:200])
        self.status, self.headers, _ = parsed
        self.messages = []  # text messages read while waiting for something else

    def _recv(self, deadline):
        left = deadline - time.monotonic()
        if left <= 0:
            raise TestFailure("timed out reading from the WebSocket")
        self.sock.settimeout(left)
        try:
            return self.sock.recv(65536)
        except socket.timeout:
            raise TestFailure("timed out reading from the WebSocket")
        except (ConnectionResetError, OSError):
            return b""

    def read_frame(self, timeout=5.0):
        """(fin, opcode, payload), or None when the server closed the socket."""
        deadline = time.monotonic() + timeout
        while True:
            if len(self.buf) >= 2:
                check(not self.buf[1] & 0x80, "the server masked a frame")
                n, hl = self.buf[1] & 0x7F, 2
                if n == 126:
                    hl = 4
                elif n == 127:
                    hl = 10
                if len(self.buf) >= hl:
                    if n == 126:
                        n = struct.unpack(">H", self.buf[2:4])[0]
                    elif n == 127:
                        n = struct.unpack(">Q", self.buf[2:10])[0]
                    if len(self.buf) >= hl + n:
                        b0, payload = self.buf[0], self.buf[hl:hl + n]
                        self.buf = self.buf[hl + n:]
                        check(b0 & 0x80, "the server fragmented a frame")
                        return True, b0 & 0x0F, payload
            chunk = self._recv(deadline)
            if not chunk:
                return None
            self.buf += chunk

    def message(self, timeout=5.0):
        """The next text message as JSON (a control frame fails the test)."""
        f = self.read_frame(timeout)
        check(f is not None, "the server closed the socket instead of sending a message")
        check(f[1] == OP_TEXT, "expected a text message, got opcode %d payload %r" % (f[1], f[2][:100]))
        doc = json.loads(f[2].decode("utf-8"))
        check(isinstance(doc, dict) and isinstance(doc.get("type"), str) and "data" in doc,
              "a message is not {type, data}: %r" % f[2][:200])
        return doc

    def wait_for(self, type_, timeout=5.0, pred=None):
        """The data of the next message of type_ (and pred), within timeout."""
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TestFailure("no %r message within %.1f s (got %s)"
                                  % (type_, timeout, [m["type"] for m in self.messages][-20:]))
            m = self.message(left)
            self.messages.append(m)
            if m["type"] == type_ and (pred is None or pred(m["data"])):
                return m["data"]

    def next_control(self, timeout=5.0):
        """The next non-text frame (skipping pushed messages), or None at EOF."""
        deadline = time.monotonic() + timeout
        while True:
            f = self.read_frame(max(0.05, deadline - time.monotonic()))
            if f is None or f[1] != OP_TEXT:
                return f
            self.messages.append(json.loads(f[2].decode("utf-8")))

    def expect_close(self, codes, timeout=5.0, what="close"):
        """A close frame with one of codes, then the end of the stream."""
        if isinstance(codes, int):
            codes = (codes,)
        f = self.next_control(timeout)
        check(f is not None, "%s: the socket closed without a close frame" % what)
        eq(f[1], OP_CLOSE, "%s: opcode" % what)
        check(len(f[2]) >= 2, "%s: close frame without a code" % what)
        code = struct.unpack(">H", f[2][:2])[0]
        check(code in codes, "%s: close code %d, expected %s (reason %r)" % (what, code, codes, f[2][2:]))
        self.expect_eof(timeout, what)
        return code

    def expect_eof(self, timeout=5.0, what="close"):
        deadline = time.monotonic() + timeout
        while True:
            f = self.read_frame(max(0.05, deadline - time.monotonic()))
            if f is None:
                return
            check(f[1] == OP_TEXT, "%s: unexpected frame %d after the close" % (what, f[1]))

    def send(self, data):
        self.sock.sendall(data)

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def accept_of(key):
    return base64.b64encode(hashlib.sha1(key.encode() + GUID).digest()).decode()


def web_root(files):
    """A temporary web root holding files {relative path: bytes}."""
    root = tempfile.mkdtemp(prefix="chorus-web-")
    for rel, data in files.items():
        path = os.path.join(root, rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as f:
            f.write(data)
    return root
