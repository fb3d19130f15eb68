"""Helpers for tests that start real servers on loopback."""

from __future__ import annotations

import socket
import subprocess
import time

import pytest


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(cmd: list[str], port: int, timeout: float = 120) -> subprocess.Popen:
    """Start `cmd` and wait until it accepts connections on 127.0.0.1:`port` (fail the test otherwise)."""
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return proc
        except OSError:
            if proc.poll() is not None:
                pytest.fail(f"{cmd[0]} exited early with code {proc.returncode}")
            time.sleep(0.5)
    proc.kill()
    pytest.fail(f"{' '.join(cmd[:3])} did not start within {timeout:.0f}s")
