"""A test CA and the certificates it signed, made with the openssl command
line in a temporary directory once per run: leaf certificates for
127.0.0.1 named one and two, and a self-signed one (stranger) the CA never
saw. For the HTTPS suites (tests/http/test_tls.py, the client's)."""

import atexit
import os
import shutil
import ssl
import subprocess
import tempfile

from harness import TestFailure


class Certs:
    """A test CA and what it signed, in a temporary directory: leaf certificates
    for 127.0.0.1 named one and two, and a self-signed one the CA never saw."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="chorus-tls-")
        atexit.register(shutil.rmtree, self.dir, True)
        self.ca = self.path("ca.pem")
        self._openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                      "-keyout", self.path("ca.key"), "-out", self.ca, "-days", "2", "-subj", "/CN=chorus test CA")
        for name in ("one", "two"):
            self._leaf(name)
        self._openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                      "-keyout", self.key("stranger"), "-out", self.cert("stranger"), "-days", "2",
                      "-subj", "/CN=chorus-stranger", "-addext", "subjectAltName=IP:127.0.0.1")

    def path(self, name):
        return os.path.join(self.dir, name)

    def cert(self, name):
        return self.path(name + ".pem")

    def key(self, name):
        return self.path(name + ".key")

    def der(self, name):
        with open(self.cert(name)) as f:
            return ssl.PEM_cert_to_DER_cert(f.read())

    def _openssl(self, *args):
        p = subprocess.run(["openssl"] + list(args), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=30)
        if p.returncode != 0:
            raise TestFailure("openssl %s: %s" % (args[0], p.stdout.decode("utf-8", "replace")[-400:]))

    def _leaf(self, name):
        csr, ext = self.path(name + ".csr"), self.path(name + ".ext")
        with open(ext, "w") as f:
            f.write("subjectAltName=IP:127.0.0.1\n")
        self._openssl("req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                      "-keyout", self.key(name), "-out", csr, "-subj", "/CN=chorus-" + name)
        self._openssl("x509", "-req", "-in", csr, "-CA", self.ca, "-CAkey", self.path("ca.key"),
                      "-CAcreateserial", "-days", "2", "-extfile", ext, "-out", self.cert(name))

    def context(self):
        """A client context that trusts the test CA only."""
        return ssl.create_default_context(cafile=self.ca)


_CERTS = None


def certs():
    global _CERTS
    if _CERTS is None:
        _CERTS = Certs()
    return _CERTS
