"""A throw-away PostgreSQL server for the test session (initdb + pg_ctl in a temporary folder)."""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path


def _binary(name: str) -> str:
    candidates = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), reverse=True)
    found = candidates[0] if candidates else shutil.which(name)
    if not found:
        raise RuntimeError(
            f"PostgreSQL's {name} is not installed: apt-get install -y postgresql "
            "(the README's test command does this)"
        )
    return found


def free_port() -> int:
    """A local TCP port nothing listens on right now (for a server a test starts)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _as_server_user(args: list[str]) -> list[str]:
    # initdb and postgres refuse to run as root; on these machines they run as `postgres`.
    return ["runuser", "-u", "postgres", "--", *args] if os.geteuid() == 0 else args


class TemporaryPostgres:
    def __init__(self) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="loyalty-pg-"))
        self.port = free_port()
        self.data = self.dir / "data"

    def start(self) -> str:
        if os.geteuid() == 0:
            shutil.chown(self.dir, "postgres", "postgres")
        subprocess.run(
            _as_server_user(
                [
                    _binary("initdb"),
                    "-D",
                    str(self.data),
                    "-A",
                    "trust",
                    "-U",
                    "loyalty",
                    "-E",
                    "UTF8",
                    "--no-sync",
                ]
            ),
            check=True,
            capture_output=True,
        )
        self._start_server()
        subprocess.run(
            [
                _binary("createdb"),
                "-h",
                "127.0.0.1",
                "-p",
                str(self.port),
                "-U",
                "loyalty",
                "loyalty",
            ],
            check=True,
            capture_output=True,
        )
        return f"postgresql+psycopg://loyalty@127.0.0.1:{self.port}/loyalty"

    def _start_server(self) -> None:
        options = (
            f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c fsync=off "
            "-c synchronous_commit=off -c full_page_writes=off -c max_connections=200"
        )
        subprocess.run(
            _as_server_user(
                [
                    _binary("pg_ctl"),
                    "-D",
                    str(self.data),
                    "-o",
                    options,
                    "-l",
                    str(self.dir / "log"),
                    "-w",
                    "start",
                ]
            ),
            check=True,
            capture_output=True,
        )

    def halt(self) -> None:
        """Stop the server as an operator's restart does: sessions are ended, commits kept."""
        subprocess.run(
            _as_server_user([_binary("pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop"]),
            check=True,
            capture_output=True,
        )

    def resume(self) -> None:
        """Start the halted server again, on the same port and data."""
        self._start_server()

    def stop(self) -> None:
        subprocess.run(
            _as_server_user([_binary("pg_ctl"), "-D", str(self.data), "-m", "immediate", "stop"]),
            capture_output=True,
        )
        shutil.rmtree(self.dir, ignore_errors=True)
