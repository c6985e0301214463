"""A throwaway PostgreSQL cluster in a temp dir, on a free port on 127.0.0.1, started
once per test process and stopped at the end. ``initdb`` refuses to run as root, so
the cluster runs as the ``postgres`` user (or ``nobody``)."""
from __future__ import annotations

import glob
import os
import pwd
import shutil
import subprocess
import tempfile
import time
from typing import Iterator

import pytest

from tests.services.common import free_port, unavailable


def _bindir() -> str | None:
    for cand in sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True):
        if os.path.exists(os.path.join(cand, "initdb")):
            return cand
    initdb = shutil.which("initdb")
    return os.path.dirname(initdb) if initdb else None


def _run_as(user: str | None, args: list[str], **kw) -> subprocess.CompletedProcess:
    if user:
        args = ["runuser", "-u", user, "--", *args]
    return subprocess.run(args, check=True, capture_output=True, text=True, **kw)


class PostgresServer:
    def __init__(self) -> None:
        bindir = _bindir()
        if bindir is None:
            unavailable("PostgreSQL server binaries (initdb) are not installed")
        self.bindir = bindir
        self.user = None
        if os.geteuid() == 0:
            for cand in ("postgres", "nobody"):
                try:
                    pwd.getpwnam(cand)
                    self.user = cand
                    break
                except KeyError:
                    continue
        self.dir = tempfile.mkdtemp(prefix="counterdesk-pg-")
        self.port = free_port()
        if self.user:
            pw = pwd.getpwnam(self.user)
            os.chown(self.dir, pw.pw_uid, pw.pw_gid)
        data = os.path.join(self.dir, "data")
        _run_as(self.user, [os.path.join(bindir, "initdb"), "-D", data, "-U", "counterdesk",
                            "--auth=trust", "-E", "UTF8", "--no-locale", "--no-sync"])
        opts = (f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c fsync=off "
                "-c synchronous_commit=off -c full_page_writes=off -c max_connections=200 "
                "-c TimeZone=UTC")
        _run_as(self.user, [os.path.join(bindir, "pg_ctl"), "-D", data, "-o", opts, "-w",
                            "-l", os.path.join(self.dir, "log"), "start"])
        self.data = data
        self._counter = 0

    def url(self, dbname: str = "postgres") -> str:
        return f"postgresql+psycopg://counterdesk@127.0.0.1:{self.port}/{dbname}"

    def admin(self, sql: str) -> None:
        import psycopg
        with psycopg.connect(f"host=127.0.0.1 port={self.port} user=counterdesk dbname=postgres",
                             autocommit=True) as conn:
            conn.execute(sql)

    def create_database(self, template: str | None = None, name: str | None = None) -> str:
        self._counter += 1
        name = name or f"t{os.getpid()}_{self._counter}_{int(time.time() * 1000) % 100000}"
        self.admin(f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else ""))
        return name

    def drop_database(self, name: str) -> None:
        self.admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def stop(self) -> None:
        try:
            _run_as(self.user, [os.path.join(self.bindir, "pg_ctl"), "-D", self.data, "-m",
                                "immediate", "stop"])
        finally:
            shutil.rmtree(self.dir, ignore_errors=True)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    server = PostgresServer()
    yield server
    server.stop()
