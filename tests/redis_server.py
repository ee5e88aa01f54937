"""A redis-server of a test module's own, which a test may stop and start again."""

from __future__ import annotations

import shutil
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import redis

from tests import services
from tests.conftest import free_port


def require_redis_server() -> None:
    """Skip (or fail under CI) unless the redis-server program is installed."""
    if not shutil.which("redis-server"):
        services._missing("redis-server is not installed (apt-get install redis-server)")


class PrivateRedis:
    """A redis-server of this module alone, on its own port, that a test may stop."""

    def __init__(self, folder: Path, *, durable: bool = False) -> None:
        self.folder = folder
        # Durable: every write is in the append-only file before Redis answers it.
        self.durable = durable
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        """Start the server and wait until it answers."""
        self.process = subprocess.Popen(
            [
                shutil.which("redis-server") or "redis-server",
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "yes" if self.durable else "no",
                "--appendfsync",
                "always",
                "--dir",
                str(self.folder),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_for(lambda: self.client().ping(), "private redis-server")

    def stop(self) -> None:
        """Stop the server (as an outage would) and wait until it is gone."""
        if self.process is None:
            return
        self.process.terminate()
        self.process.wait(timeout=10)
        self.process = None

    def crash(self) -> None:
        """Kill the server without letting it save anything, as a power cut would."""
        if self.process is None:
            return
        self.process.kill()
        self.process.wait(timeout=10)
        self.process = None

    def client(self) -> redis.Redis:
        """A client of this server."""
        return redis.Redis.from_url(self.url, socket_timeout=2)


def wait_for(check: Callable[[], Any], what: str, seconds: float = 30) -> None:
    """Call ``check`` until it returns true; fail after ``seconds``."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            if check():
                return
        except Exception:
            if time.monotonic() > deadline:
                raise
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what} did not come up")
        time.sleep(0.1)
