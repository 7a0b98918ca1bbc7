"""A real PostgreSQL server for the tests and bench/store.py: initdb + pg_ctl in a temporary directory,
listening on 127.0.0.1 on a free port, stopped at the end.

Found through ``pg_config --bindir`` or ``/usr/lib/postgresql/*/bin``; if missing and this is a root
shell with apt (a fresh CI machine), ``apt-get install -y postgresql`` installs it first. PostgreSQL
refuses to run as root, so as root the server runs as the ``postgres`` user (``runuser``).
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from pathlib import Path


class PostgresUnavailable(RuntimeError):
    """PostgreSQL is not installed and cannot be installed here."""


def _bindir() -> Path | None:
    config = shutil.which("pg_config")
    if config:
        out = subprocess.run([config, "--bindir"], capture_output=True, text=True).stdout.strip()
        if out and (Path(out) / "initdb").exists():
            return Path(out)
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(p.split("/")[4]) if p.split("/")[4].isdigit() else 0)
    return Path(found[-1]).parent if found else None


def find_or_install() -> Path:
    bindir = _bindir()
    if bindir is not None:
        return bindir
    if os.geteuid() == 0 and shutil.which("apt-get"):
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        subprocess.run(["apt-get", "update"], env=env, capture_output=True, timeout=600)
        done = subprocess.run(["apt-get", "install", "-y", "postgresql"], env=env, capture_output=True, text=True, timeout=900)
        bindir = _bindir()
        if bindir is not None:
            return bindir
        raise PostgresUnavailable(f"apt-get install -y postgresql failed: {done.stderr.strip()[-500:]}")
    raise PostgresUnavailable("PostgreSQL is not installed (no initdb) and this is not a root shell with apt-get to install it")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class PostgresServer:
    """``start()`` a throw-away cluster; ``url(db)`` for a database in it; ``create_database()`` a fresh one."""

    def __init__(self) -> None:
        self.bindir = find_or_install()
        self.dir = Path(tempfile.mkdtemp(prefix="agora-pg-"))  # not under pytest's root-only tmp: the server user must enter it
        self.data = self.dir / "data"
        self.port = 0
        self.as_user: list[str] = []
        if os.geteuid() == 0:
            user = "postgres" if _user_exists("postgres") else "nobody"
            os.chown(self.dir, pwd.getpwnam(user).pw_uid, pwd.getpwnam(user).pw_gid)
            os.chmod(self.dir, 0o700)
            self.as_user = ["runuser", "-u", user, "--"]

    def _run(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
        done = subprocess.run([*self.as_user, *args], capture_output=True, text=True, timeout=timeout, cwd=self.dir)
        if done.returncode != 0:
            raise RuntimeError(f"{' '.join(args[:2])} failed ({done.returncode}): {done.stderr.strip()[-1000:] or done.stdout[-1000:]}")
        return done

    def start(self) -> "PostgresServer":
        self._run(str(self.bindir / "initdb"), "-D", str(self.data), "-A", "trust", "-U", "agora", "-E", "UTF8", "--no-sync")
        for _ in range(3):  # the free port may be taken between the probe and the bind
            self.port = _free_port()
            options = (f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.dir} -c max_connections=300"
                       " -c fsync=off -c synchronous_commit=off -c full_page_writes=off")
            try:
                self._run(str(self.bindir / "pg_ctl"), "-D", str(self.data), "-o", options, "-l", str(self.dir / "log"),
                          "-w", "-t", "60", "start")
                return self
            except RuntimeError:
                time.sleep(0.5)
        raise RuntimeError(f"PostgreSQL did not start: {(self.dir / 'log').read_text()[-2000:]}")

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://agora@127.0.0.1:{self.port}/{database}"

    def create_database(self) -> str:
        import psycopg

        name = "t_" + uuid.uuid4().hex[:12]
        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(f"CREATE DATABASE {name}")
        return self.url(name)

    def stop(self) -> None:
        if self.port:
            subprocess.run([*self.as_user, str(self.bindir / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "-w", "stop"],
                           capture_output=True, timeout=60, cwd=self.dir)
        shutil.rmtree(self.dir, ignore_errors=True)


def _user_exists(name: str) -> bool:
    try:
        pwd.getpwnam(name)
        return True
    except KeyError:
        return False
