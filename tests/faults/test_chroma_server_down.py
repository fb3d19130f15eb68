"""A Chroma server killed in the middle of an ingest: a clear error, nothing half-written once it
is back and the ingest is run again."""

from __future__ import annotations

import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from fault_helpers import (
    citewire,
    cli_env,
    committed_articles,
    serve,
    wait_for,
    write_corpus,
)

from _net import free_port
from citewire.settings import LLMSettings, Settings
from ingest import Ingestor

pytestmark = [pytest.mark.slow, pytest.mark.integration]

N = 64


def test_chroma_server_killed_mid_ingest(tmp_path, consistent):
    chroma = shutil.which("chroma") or str(Path(sys.executable).parent / "chroma")
    if not Path(chroma).exists():
        pytest.skip("the `chroma` CLI (shipped with chromadb) is not installed")
    port, data, home = free_port(), tmp_path / "chroma-data", tmp_path / "home"
    server_cmd = [chroma, "run", "--path", str(data), "--host", "127.0.0.1", "--port", str(port)]
    url = f"http://127.0.0.1:{port}"
    env = cli_env(home, CITEWIRE_CHROMA_URL=url, CITEWIRE_EMBED_BATCH_SIZE="1")
    src = write_corpus(tmp_path / "src", N, sentences=3)

    server = serve(server_cmd, port, env)
    writer = subprocess.Popen(citewire("ingest", str(src), "-q"), env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True)
    try:
        wait_for(lambda: committed_articles(home) > 0, 600, "the first committed batch", writer)
        server.send_signal(signal.SIGKILL)  # the server dies between or during writes
        server.wait()
        _out, err = writer.communicate(timeout=300)
    finally:
        if writer.poll() is None:
            writer.kill()
    assert writer.returncode != 0
    lines = [x for x in err.strip().splitlines() if x.startswith("citewire: error:")]
    assert len(lines) == 1 and "Chroma server" in lines[0] and url in lines[0], err[-2000:]
    assert "Traceback" not in err
    assert 0 < committed_articles(home) < N

    server = serve(server_cmd, port, env)  # back, with whatever it had persisted
    try:
        ing = Ingestor(Settings(home=home, chroma_url=url, embed_batch_size=1, llm=LLMSettings(backend="none")))
        rep = ing.ingest([src])  # the re-run
        assert not rep.failed and len(rep.added) + len(rep.unchanged) == N
        assert consistent(ing)[0] == N
    finally:
        server.terminate()
        server.wait(timeout=60)
