"""Fixtures for the opt-in suite against a real Mautic 5.1.0 (`make test-real`; never in CI).

The suite is skipped unless ``MAUTIC_REAL_URL`` is set (``eval "$(scripts/real_mautic.sh env)"`` sets it and
the rest). Its oracle does not go through the API under test: the instance's MariaDB (read with PyMySQL, the
throwaway credentials of ``../shared/real-mautic/README.md``) and Mautic's own console. Every test that writes
starts from the fresh install (``real.reset()``, the shared ``reinstall.sh``, about 2 s).
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Every test under tests/real is skipped unless a real server is named."""
    if os.environ.get("MAUTIC_REAL_URL"):
        return
    skip = pytest.mark.skip(reason="needs a real Mautic: set MAUTIC_REAL_URL (make test-real)")
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(skip)


@dataclass
class RealMautic:
    """One real Mautic 5.1.0 instance built by ../shared/real-mautic: its API, database and console."""

    url: str
    home: Path
    db: str
    scripts: Path
    username: str = "admin"
    password: str = "Mautic12345"
    db_user: str = "mautic"
    db_password: str = "mauticdbpass"
    db_host: str = "127.0.0.1"
    db_port: int = 3306

    @property
    def www(self) -> Path:
        return self.home / "www"

    def _env(self) -> dict[str, str]:
        return {**os.environ, "MAUTIC_REAL_HOME": str(self.home)}

    def reset(self) -> None:
        """Back to the fresh install (database, config, warmed cache) with the server running."""
        subprocess.run([str(self.scripts / "reinstall.sh")], env=self._env(), check=True,
                       capture_output=True, timeout=120)

    def sql(self, query: str, *args: Any) -> list[dict[str, Any]]:
        """Rows of ``query`` read straight from the instance's MariaDB (the oracle)."""
        import pymysql  # only the real-server suite needs it

        conn = pymysql.connect(host=self.db_host, port=self.db_port, user=self.db_user,
                               password=self.db_password, database=self.db, charset="utf8mb4",
                               cursorclass=pymysql.cursors.DictCursor, autocommit=True)
        try:
            with conn.cursor() as cur:
                cur.execute(query, args or None)
                return list(cur.fetchall())
        finally:
            conn.close()

    def execute(self, statement: str, *args: Any) -> int:
        """Runs one write statement on the database; returns the rows it touched."""
        import pymysql

        conn = pymysql.connect(host=self.db_host, port=self.db_port, user=self.db_user,
                               password=self.db_password, database=self.db, charset="utf8mb4",
                               autocommit=True)
        try:
            with conn.cursor() as cur:
                return int(cur.execute(statement, args or None))
        finally:
            conn.close()

    def console(self, *args: str, timeout: float = 300) -> str:
        """Runs ``bin/console <args>`` of the instance (e.g. ``mautic:contacts:deduplicate``); its output."""
        php = "php8.2" if any((Path(p) / "php8.2").exists() for p in os.environ["PATH"].split(":")) else "php"
        done = subprocess.run([php, "bin/console", *args, "-n"], cwd=self.www, env=self._env(),
                              capture_output=True, text=True, timeout=timeout)
        if done.returncode != 0:
            raise RuntimeError(f"bin/console {' '.join(args)} -> {done.returncode}: {done.stderr[-2000:]}")
        return done.stdout

    def config(self, **extra: Any) -> dict[str, Any]:
        """A tap/target config for this server with Basic auth (loopback only)."""
        return {"base_url": self.url, "username": self.username, "password": self.password,
                "stats_settle_seconds": 0, **extra}


def _instance() -> RealMautic:
    home = Path(os.environ.get("MAUTIC_REAL_HOME", Path.home() / ".cache" / "mautic-real"))
    recorded: dict[str, str] = {}
    env_file = home / "instance.env"
    if env_file.exists():
        recorded = dict(line.split("=", 1) for line in env_file.read_text().split() if "=" in line)
    return RealMautic(
        url=os.environ["MAUTIC_REAL_URL"].rstrip("/"),
        home=home,
        db=os.environ.get("MAUTIC_REAL_DB") or recorded.get("DB", "mautic"),
        scripts=Path(os.environ.get("MAUTIC_REAL_SCRIPTS", REPO.parent / "shared" / "real-mautic")),
    )


@pytest.fixture(scope="session")
def real_server() -> RealMautic:
    """The instance named by the environment (not reset)."""
    return _instance()


@pytest.fixture
def real(real_server: RealMautic) -> Iterator[RealMautic]:
    """The instance, reset to its fresh install before the test."""
    real_server.reset()
    yield real_server
