"""TLS over loopback: a self-signed HTTPS endpoint fails verification with a line naming verify_ssl, and
works with verify_ssl false (the certificate is made with the openssl CLI; skipped where it is missing)."""

from __future__ import annotations

import http.server
import json
import shutil
import ssl
import subprocess
import threading

import pytest

from mautic_api import ConfigurationError, MauticClient

pytestmark = pytest.mark.skipif(shutil.which("openssl") is None, reason="openssl CLI not available")


class _Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = json.dumps({"total": "1", "contacts": {"1": {"id": 1}}}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Mautic-Version", "5.1.0")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def https_url(tmp_path):
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=127.0.0.1",
            "-keyout",
            str(key),
            "-out",
            str(cert),
        ],
        check=True,
        capture_output=True,
    )
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"https://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_self_signed_certificate(https_url):
    config = {"base_url": https_url, "username": "admin", "password": "pw"}
    with pytest.raises(ConfigurationError) as info:
        MauticClient(config).list_page("contacts", limit=1)
    assert "verify_ssl" in str(info.value) and "\n" not in str(info.value)
    page = MauticClient({**config, "verify_ssl": False}).list_page("contacts", limit=1)
    assert page.total == 1
