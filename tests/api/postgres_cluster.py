"""A throwaway PostgreSQL cluster for the index tests: initdb in a temporary folder, a Unix socket, no TCP.

initdb refuses to run as root, so as root the cluster runs as the `postgres` user (Debian's package makes
it). Each test gets a schema of its own (`search_path` in the URL), which is much cheaper than a database.
"""

from __future__ import annotations

import itertools
import os
import pwd
import shutil
import subprocess
from pathlib import Path
from urllib.parse import quote

import psycopg

INSTALL_HINT = (
    "PostgreSQL is not installed: run tools/ensure-postgres.sh (as root it installs Debian's postgresql), "
    "or set CROWDCOMPUTE_TEST_POSTGRES=0 to leave the PostgreSQL-backed index tests out explicitly"
)
DATABASE = "crowdcompute"


def pg_bin() -> Path | None:
    """The folder of initdb and pg_ctl (Debian keeps them out of PATH), None when none is installed."""
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=lambda p: int(p.parent.parent.name))
    if found:
        return found[-1].parent
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


class PostgresCluster:
    def __init__(self, folder: Path) -> None:
        bin_dir = pg_bin()
        if bin_dir is None:
            raise RuntimeError(INSTALL_HINT)
        self.bin = bin_dir
        self.folder = folder
        self._as: list[str] = []
        if os.geteuid() == 0:
            pwd.getpwnam("postgres")  # Debian's package creates this user
            shutil.chown(folder, "postgres")
            folder.chmod(0o755)
            self._as = ["runuser", "-u", "postgres", "--"]
        self._schemas = itertools.count(1)

    def _run(self, *args: str) -> None:
        done = subprocess.run([*self._as, *args], capture_output=True, text=True, timeout=60)
        if done.returncode != 0:
            raise RuntimeError(f"{' '.join(args[:1])} failed ({done.returncode}): {done.stderr.strip()}")

    def start(self) -> None:
        data = self.folder / "data"
        self._run(
            str(self.bin / "initdb"),
            "-D",
            str(data),
            "-A",
            "trust",
            "-U",
            "test",
            "--no-locale",
            "-E",
            "UTF8",
        )
        options = f"-k {self.folder} -c listen_addresses='' -c fsync=off -c max_connections=300"
        self._run(
            str(self.bin / "pg_ctl"),
            "-D",
            str(data),
            "-o",
            options,
            "-l",
            str(self.folder / "log"),
            "-w",
            "start",
        )
        with psycopg.connect(self.url("postgres"), autocommit=True) as conn:
            conn.execute(f"CREATE DATABASE {DATABASE}")

    def stop(self) -> None:
        self._run(str(self.bin / "pg_ctl"), "-D", str(self.folder / "data"), "-m", "fast", "-w", "stop")

    def url(self, database: str = DATABASE, schema: str | None = None) -> str:
        url = f"postgresql://test@/{database}?host={quote(str(self.folder), safe='')}"
        if schema is not None:
            url += "&options=" + quote(f"-c search_path={schema}", safe="")
        return url

    def new_schema(self) -> str:
        """The URL of a fresh, empty schema (one per test)."""
        schema = f"t{next(self._schemas)}"
        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(f"CREATE SCHEMA {schema}")
        return self.url(schema=schema)
