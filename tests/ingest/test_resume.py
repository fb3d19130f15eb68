"""A real `citewire ingest` subprocess killed with SIGKILL mid-run, then re-run."""

import os
import signal
import sqlite3
import subprocess
import sys
import time

import pytest

from citewire.settings import Settings
from ingest import Ingestor

pytestmark = pytest.mark.slow


def _articles(db) -> int:
    try:
        con = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=1)
        n = con.execute("SELECT count(*) FROM articles").fetchone()[0]
        con.close()
        return n
    except sqlite3.Error:
        return 0


def test_kill_9_then_rerun_completes(tmp_path, consistent):
    src = tmp_path / "src"
    src.mkdir()
    n = 150
    for i in range(n):
        body = " ".join(f"Report {i} paragraph {j}: the harbour authority of Port{i} counted {i * 7 + j} ships today."
                        for j in range(12))
        (src / f"art{i:03d}.txt").write_text(f"Harbour report {i}\n{body}\n")
    home = tmp_path / "home"
    # small embedding batches: many commits, so the kill lands between two of them
    env = {**os.environ, "CITEWIRE_HOME": str(home), "HF_HUB_OFFLINE": "1", "CITEWIRE_EMBED_BATCH_SIZE": "8"}
    cmd = [sys.executable, "-m", "citewire", "ingest", str(src), "-q"]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    db = home / "articles.sqlite3"
    deadline = time.time() + 300
    while time.time() < deadline and _articles(db) == 0 and proc.poll() is None:
        time.sleep(0.2)
    assert proc.poll() is None, f"ingest finished before it could be killed: {proc.communicate()}"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    partial = _articles(db)
    assert 0 < partial < n

    rerun = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=900)
    assert rerun.returncode == 0, rerun.stderr
    ing = Ingestor(Settings(home=home))
    assert consistent(ing)[0] == n
    again = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=900)
    assert f"added 0, updated 0, unchanged {n}" in again.stdout
