"""A Redis server owned by the project (Debian's redis-server), configured not to lose jobs."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from redis import Redis
from redis.exceptions import RedisError

from tawasul.errors import ConfigError


@dataclass
class RedisServer:
    """One redis-server on 127.0.0.1 with its data under ``directory``."""

    directory: Path
    port: int

    @property
    def url(self) -> str:
        """The URL clients use."""
        return f"redis://127.0.0.1:{self.port}/0"

    @property
    def _pid_file(self) -> Path:
        return self.directory / "redis.pid"

    def client(self) -> Redis:
        """A client for this server."""
        return Redis(host="127.0.0.1", port=self.port, socket_connect_timeout=2)

    def running(self) -> bool:
        """True when the server answers PING."""
        try:
            return bool(self.client().ping())
        except RedisError:
            return False

    def up(self) -> None:
        """Start the server (AOF on, no eviction, loopback only) unless it already runs."""
        if self.running():
            return
        self.directory.mkdir(parents=True, exist_ok=True)
        command = [
            "redis-server",
            "--bind", "127.0.0.1",
            "--port", str(self.port),
            "--dir", str(self.directory),
            "--appendonly", "yes",
            "--appendfsync", "everysec",
            "--maxmemory-policy", "noeviction",
            "--save", "",
            "--protected-mode", "yes",
            "--daemonize", "yes",
            "--pidfile", str(self._pid_file),
            "--logfile", str(self.directory / "redis.log"),
        ]  # fmt: skip
        try:
            subprocess.run(command, check=True, capture_output=True)
        except FileNotFoundError as exc:
            raise ConfigError(
                "redis-server is not installed (apt-get install redis-server)"
            ) from exc
        deadline = time.monotonic() + 15
        while not self.running():
            if time.monotonic() > deadline:
                raise ConfigError(f"redis-server did not start; see {self.directory}/redis.log")
            time.sleep(0.05)

    def down(self) -> None:
        """Stop the server, letting it finish writing its append-only file."""
        with contextlib.suppress(RedisError):
            self.client().shutdown(nosave=False)
        try:
            pid = int(self._pid_file.read_text())
        except (FileNotFoundError, ValueError):
            return
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                return
            time.sleep(0.05)
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
