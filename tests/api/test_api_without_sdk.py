"""``mautic_api`` is the client a script imports: it must import and read Mautic without singer-sdk.

Proven in a fresh venv that holds only mautic_api's own runtime dependencies (from PyPI, at the versions of
the dev venv so pip's cache serves them), reading one page of contacts from a simulator started here
(mautic_sim is stdlib only, so the simulator runs in this process).
"""

from __future__ import annotations

import json
import subprocess
import sys
from importlib.metadata import version

from tests.support.config import SIM_PASSWORD, SIM_USER
from tests.support.paths import ROOT

# What mautic_api imports beyond the standard library (tests/project/test_structure.py checks this list).
API_DEPENDENCIES = ("requests", "pendulum", "requests-oauthlib", "msgspec", "python-backoff")

READ_ONE_PAGE = """
import json, sys
import mautic_api
from mautic_api import MauticClient
try:
    import singer_sdk  # noqa: F401
    has_sdk = True
except ImportError:
    has_sdk = False
client = MauticClient({"base_url": sys.argv[1], "username": sys.argv[2], "password": sys.argv[3]})
page = client.context("contacts").get_list(limit=5)
print(json.dumps({"has_sdk": has_sdk, "ids": [row["id"] for row in page.records], "total": page.total,
                  "sdk_loaded": any(name.startswith("singer_sdk") for name in sys.modules)}))
"""


def test_mautic_api_reads_a_list_in_a_venv_without_singer_sdk(tmp_path, sim):
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    python = venv / "bin" / "python"
    pins = [f"{name}=={version(name)}" for name in API_DEPENDENCIES]
    subprocess.run([str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check", *pins],
                   check=True, timeout=600)
    done = subprocess.run([str(python), "-c", READ_ONE_PAGE, sim.url, SIM_USER, SIM_PASSWORD],
                          capture_output=True, text=True, timeout=120, cwd=ROOT,
                          env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"})
    assert done.returncode == 0, done.stderr[-2000:]
    answer = json.loads(done.stdout.strip().splitlines()[-1])
    assert answer["has_sdk"] is False and answer["sdk_loaded"] is False
    assert len(answer["ids"]) == 5 and answer["total"] == 60  # the `sim` fixture seeds 60 contacts
