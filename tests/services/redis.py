"""A throwaway ``redis-server`` on a free port on 127.0.0.1, in its own temp dir, with
no persistence; started once per test process and stopped at the end.

``redis_server`` (session) is the server; ``redis_service`` (per test) makes sure it
is up and empty when the test starts. ``stop()``/``start()`` take it down and bring
it back on the same port, for tests of what happens while Redis is unreachable.
"""
from __future__ import annotations

import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Iterator

import pytest

from tests.services.common import free_port, need_binary, unavailable


class RedisServer:
    def __init__(self, binary: str) -> None:
        self.binary = binary
        self.dir = Path(tempfile.mkdtemp(prefix="counterdesk-redis-"))
        self.port = free_port()
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def start(self, timeout: float = 10.0) -> None:
        if self.running:
            return
        self.proc = subprocess.Popen(
            [self.binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", str(self.dir), "--daemonize", "no",
             "--logfile", str(self.dir / "redis.log")],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                break
            if self.ping():
                return
            time.sleep(0.02)
        log = (self.dir / "redis.log").read_text(errors="replace")[-2000:] if (self.dir / "redis.log").exists() else ""
        self.stop()
        unavailable(f"redis-server did not start on port {self.port}: {log}")

    def ping(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as s:
                s.sendall(b"PING\r\n")
                return s.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def stop(self) -> None:
        """Stop the server (SIGTERM, then SIGKILL); the port stays reserved for start()."""
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        self.proc = None

    def flush(self) -> None:
        from redis import Redis
        with Redis.from_url(self.url, socket_connect_timeout=2) as conn:
            conn.flushall()

    def close(self) -> None:
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisServer]:
    server = RedisServer(need_binary("redis-server", "/usr/bin/redis-server"))
    server.start()
    yield server
    server.close()


@pytest.fixture
def redis_service(redis_server: RedisServer) -> Iterator[RedisServer]:
    """The session's server, running and empty for this test (and running after it)."""
    redis_server.start()
    redis_server.flush()
    yield redis_server
    redis_server.start()
