"""Shared helpers for the fault-injection suite: real processes, real stores, small corpora.

Every scenario runs `citewire` (or a small Python script) in its own process, does to it what
happens in real life (SIGKILL, a server going away, readers beside a writer), then checks the
stores with `check_consistent` (tests/conftest.py): the same chunk ids in SQLite, Chroma and BM25,
nothing pending, no half articles.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

_SYL = ["ka", "lo", "ve", "ri", "mun", "tes", "dor", "by", "an", "sel", "gru", "pi", "nor", "wen", "ulf", "zar"]


def town(i: int) -> str:
    """A made-up, unique, pronounceable town name for article `i` (no real-world knowledge helps)."""
    a, b, c = _SYL[i % 16], _SYL[(i // 16) % 16], _SYL[(i // 256) % 16]
    return (a + b + c).capitalize() + "holm"


def ships(i: int) -> int:
    return 13 + 7 * i


def write_corpus(folder: Path, n: int, sentences: int = 8) -> Path:
    """`n` harbour reports, one .txt each, each with a unique fact: the ship count of its town."""
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        t = town(i)
        body = [f"The harbour authority of {t} counted {ships(i)} container ships on Monday."]
        body += [f"Officials in {t} said berth {j} handled {i * 3 + j} ferries and {j + 2} tugboats last week."
                 for j in range(sentences)]
        (folder / f"{t.lower()}.txt").write_text(f"{t} harbour report\n" + " ".join(body) + "\n")
    return folder


def question(i: int) -> str:
    return f"How many container ships did the harbour authority of {town(i)} count?"


def cli_env(home: Path, **extra: str) -> dict[str, str]:
    env = {**os.environ, "CITEWIRE_HOME": str(home), "HF_HUB_OFFLINE": "1", "CITEWIRE_LLM__BACKEND": "none",
           "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
    env.pop("CITEWIRE_FAULT", None)
    env.update(extra)
    return env


def citewire(*args: str) -> list[str]:
    return [sys.executable, "-m", "citewire", *args]


def committed_articles(home: Path) -> int:
    """Articles committed so far, read without touching the store (read-only SQLite)."""
    db = home / "articles.sqlite3"
    try:
        con = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=1)
        try:
            return int(con.execute("SELECT count(*) FROM articles").fetchone()[0])
        finally:
            con.close()
    except sqlite3.Error:
        return 0


def wait_for(cond, timeout: float, what: str, proc: subprocess.Popen | None = None) -> None:  # type: ignore[no-untyped-def]
    deadline = time.time() + timeout
    while not cond():
        if proc is not None and proc.poll() is not None:
            out = proc.communicate()[1] if proc.stderr else ""
            pytest.fail(f"process ended (code {proc.returncode}) before {what}: {out}")
        if time.time() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.2)


def serve(cmd: list[str], port: int, env: dict[str, str], timeout: float = 300) -> subprocess.Popen:
    """Start a server process and wait until it accepts connections on 127.0.0.1:`port`."""
    import socket

    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)

    def up() -> bool:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return True
        except OSError:
            return False

    wait_for(up, timeout, f"{' '.join(cmd[:4])} to listen on port {port}", proc)
    return proc
