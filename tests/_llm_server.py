"""One real OpenAI-compatible server (llama-cpp-python's) per test session, with the bundled GGUF.

Tests get it through `llm_server()`: it starts on first use, on a free loopback port, and is
stopped at exit. Tests may `stop()` it to simulate an outage and must `start()` it again (same
port) before they return. `requests(path)` counts the requests the server logged, so a test can
prove the server really answered.
"""

from __future__ import annotations

import atexit
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _net import free_port


class LlamaServer:
    """`python -m llama_cpp.server --model <gguf> --host 127.0.0.1 --port <port>` as a subprocess."""

    def __init__(self, model: Path) -> None:
        self.model = model
        self.port = free_port()
        self.log = Path(tempfile.mkdtemp(prefix="llama-server-")) / "server.log"
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def start(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            return
        cmd = [sys.executable, "-m", "llama_cpp.server", "--model", str(self.model), "--host", "127.0.0.1",
               "--port", str(self.port)]
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.time() + 120
        while time.time() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                    return
            except OSError:
                if self.proc.poll() is not None:
                    raise RuntimeError(f"llama_cpp.server exited with code {self.proc.returncode}: "
                                       f"{self.log.read_text(errors='replace')[-2000:]}") from None
                time.sleep(0.3)
        self.stop()
        raise RuntimeError("llama_cpp.server did not start within 120 s")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        self.proc = None

    def close(self) -> None:
        """Stop the server and delete its log."""
        self.stop()
        shutil.rmtree(self.log.parent, ignore_errors=True)

    def requests(self, path: str = "/v1/chat/completions") -> int:
        """How many `POST path` requests the server has logged so far."""
        return self.log.read_text(encoding="utf-8", errors="replace").count(f'"POST {path} HTTP')


_SERVER: LlamaServer | None = None


def llm_server() -> LlamaServer:
    """The session's server (started on first use)."""
    global _SERVER
    if _SERVER is None:
        from rag.llm import bundled_gguf

        _SERVER = LlamaServer(bundled_gguf())
        atexit.register(_SERVER.close)
    _SERVER.start()
    return _SERVER
