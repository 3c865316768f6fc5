"""HTTPS for the simulator: a self-signed certificate made at start with the ``openssl`` CLI.

Why the CLI: no Python crypto package is a dependency, and every CI image and developer machine has openssl.
The certificate names 127.0.0.1 and localhost (subjectAltName), so a client that trusts ``cert_file``
(``REQUESTS_CA_BUNDLE``) verifies it fully; one that does not sees a self-signed certificate.
"""

from __future__ import annotations

import os
import shutil
import ssl
import subprocess


class TLSUnavailable(RuntimeError):
    """The openssl CLI is missing or failed."""


def make_certificate(directory: str, host: str = "127.0.0.1") -> tuple[str, str]:
    """``(cert_file, key_file)`` of a new self-signed certificate for ``host``, valid for two days."""
    openssl = shutil.which("openssl")
    if openssl is None:
        raise TLSUnavailable("--tls needs the openssl command line tool")
    cert, key = os.path.join(directory, "sim-cert.pem"), os.path.join(directory, "sim-key.pem")
    names = "IP:127.0.0.1,DNS:localhost" + (f",DNS:{host}" if host not in ("127.0.0.1", "localhost") else "")
    done = subprocess.run(
        [openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", f"/CN={host}",
         "-addext", f"subjectAltName={names}", "-keyout", key, "-out", cert],
        capture_output=True, text=True, check=False,
    )
    if done.returncode != 0:
        raise TLSUnavailable(f"openssl could not make a certificate: {done.stderr.strip()[:200]}")
    return cert, key


def server_context(cert_file: str, key_file: str) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert_file, key_file)
    return context
