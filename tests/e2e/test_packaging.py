"""The wheel a user installs: built from the sdist (tests/support/packaging.py), installed with pip into a
clean venv with only the runtime dependencies; every console script it declares runs, and the installed tap,
target and simulator work together.

One venv per module (about 30 s with pip's cache); pip reaches the package index for the dependencies.
"""

from __future__ import annotations

import configparser
import json
import os
import re
import sqlite3
import subprocess
import sys
import tarfile
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from mautic_sim import mariadb
from scripts.meltano_settings import DISTRIBUTION, REPOSITORY
from tests.support.packaging import Distributions, build_distributions

pytestmark = pytest.mark.e2e

DEV_ONLY = ("pytest", "ruff", "responses", "hypothesis", "pyinstrument", "pymysql", "build")


@dataclass(frozen=True)
class Installed:
    dists: Distributions
    bin: Path

    def run(self, *args: str, **kwargs: Any) -> subprocess.CompletedProcess[str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("TAP_MAUTIC", "TARGET_MAUTIC"))}
        return subprocess.run([str(self.bin / args[0]), *args[1:]], capture_output=True, text=True,
                              check=False, timeout=120, env=env, **kwargs)


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Installed:
    base = tmp_path_factory.mktemp("package")
    dists = build_distributions(base / "dist")
    venv = base / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    done = subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "install", "-q", str(dists.wheel)],
                          capture_output=True, text=True, check=False, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    return Installed(dists=dists, bin=venv / "bin")


def entry_points(wheel: Path) -> dict[str, str]:
    with zipfile.ZipFile(wheel) as archive:
        name = next(n for n in archive.namelist() if n.endswith(".dist-info/entry_points.txt"))
        parser = configparser.ConfigParser()
        parser.read_string(archive.read(name).decode())
    return dict(parser["console_scripts"])


def test_the_clean_venv_holds_the_runtime_dependencies_only(installed: Installed) -> None:
    listed = installed.run("python", "-m", "pip", "list", "--format", "json")
    names = {p["name"].lower() for p in json.loads(listed.stdout)}
    assert DISTRIBUTION in names and "singer-sdk" in names
    assert not names & set(DEV_ONLY)
    with zipfile.ZipFile(installed.dists.wheel) as archive:
        files = archive.namelist()
        metadata = archive.read(next(n for n in files if n.endswith(".dist-info/METADATA"))).decode()
    # the simulator's recorded answers ship with it; nothing of the tests or scripts does
    assert "mautic_sim/data/recorded.json" in files
    assert not [f for f in files if f.startswith(("tests/", "scripts/", "benchmarks/"))]
    assert f"Project-URL: Homepage, {REPOSITORY}" in metadata
    assert re.search(r"^Name: mautic-singer$", metadata, re.M)


def test_every_console_script_imports_and_answers(installed: Installed) -> None:
    scripts = entry_points(installed.dists.wheel)
    assert set(scripts) == {"tap-mautic", "target-mautic", "mautic-auth", "mautic-sim"}
    for name, target in scripts.items():
        module, _, attribute = target.partition(":")
        # no script whose package is missing: its module imports and holds the object it names
        probe = installed.run("python", "-c", f"import importlib; m = importlib.import_module({module!r}); "
                                              f"print(callable(eval({attribute!r}, vars(m))))")
        assert probe.stdout.strip() == "True", (name, probe.stderr[-2000:])
    for plugin in ("tap-mautic", "target-mautic"):
        about = installed.run(plugin, "--about", "--format", "json")
        assert about.returncode == 0, about.stderr[-2000:]
        info = json.loads(about.stdout)
        assert info["name"] == plugin and info["version"] == "0.1.0"
    for script in ("mautic-auth", "mautic-sim"):
        helped = installed.run(script, "--help")
        assert helped.returncode == 0 and helped.stdout.startswith(f"usage: {script}"), helped.stderr[-2000:]


@pytest.fixture
def installed_sim(installed: Installed, tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """The installed ``mautic-sim`` on a free port, with its store in a file the test can read."""
    db = tmp_path / "mautic.sqlite"
    proc = subprocess.Popen([str(installed.bin / "mautic-sim"), "--contacts", "12", "--db", str(db)],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline().strip()
        assert line.startswith("MAUTIC_SIM_URL="), line
        yield line.partition("=")[2], db
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def test_the_installed_tap_target_and_simulator_work_together(installed: Installed, installed_sim, tmp_path):
    url, db = installed_sim
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"base_url": url, "username": "admin", "password": "mautic"}))
    tested = installed.run("tap-mautic", "--config", str(config), "--test")
    assert tested.returncode == 0, tested.stderr[-2000:]
    record = {"type": "RECORD", "stream": "contacts",
              "record": {"email": "wheel@example.org", "city": "Wheel"}}
    schema = {"type": "SCHEMA", "stream": "contacts", "key_properties": ["email"],
              "schema": {"properties": {"email": {"type": "string"}, "city": {"type": ["string", "null"]}}}}
    loaded = installed.run("target-mautic", "--config", str(config),
                           input="\n".join(json.dumps(m) for m in (schema, record)) + "\n")
    assert loaded.returncode == 0, loaded.stderr[-2000:]
    with sqlite3.connect(db) as conn:
        mariadb.register(conn)  # the store's text columns use the simulator's MariaDB-like collation
        rows = conn.execute("SELECT city FROM leads WHERE email = 'wheel@example.org'").fetchall()
    assert rows == [("Wheel",)]


def test_the_sdist_carries_what_the_repository_documents(installed: Installed) -> None:
    with tarfile.open(installed.dists.sdist) as archive:
        names = {name.split("/", 1)[1] for name in archive.getnames() if "/" in name}
    expected = {"pyproject.toml", "README.md", "plugins/extractors/tap-mautic--mautic-singer.yml",
                "plugins/loaders/target-mautic--mautic-singer.yml", "mautic_sim/data/recorded.json"}
    assert expected <= names
    # nothing local: virtualenvs, Meltano's installs and state, git's objects, warehouse files
    assert not [n for n in names if n.startswith((".venv", ".meltano", ".git/", "output/warehouse"))]
