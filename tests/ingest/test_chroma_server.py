"""Scale-out: every read and write through a real Chroma server on loopback."""

import shutil
import sys
from pathlib import Path

import pytest

from _net import free_port, start_server
from citewire.settings import LLMSettings, Settings

pytestmark = [pytest.mark.slow, pytest.mark.integration]


@pytest.fixture(scope="module")
def chroma_server(tmp_path_factory):
    chroma = shutil.which("chroma") or str(Path(sys.executable).parent / "chroma")
    if not Path(chroma).exists():
        pytest.skip("the `chroma` CLI (shipped with chromadb) is not installed")
    port = free_port()
    data = tmp_path_factory.mktemp("chroma-server")
    proc = start_server([chroma, "run", "--path", str(data), "--host", "127.0.0.1", "--port", str(port)], port, timeout=60)
    yield f"http://127.0.0.1:{port}", data
    proc.terminate()
    proc.wait(timeout=30)


def test_ingest_and_query_through_chroma_server(chroma_server, tmp_path):
    from rag import Engine

    url, _data = chroma_server
    eng = Engine.open(settings=Settings(home=tmp_path / "home", chroma_url=url, llm=LLMSettings(backend="none")))
    rep = eng.ingest([])
    assert len(rep.added) == 1
    assert not (tmp_path / "home" / "chroma").exists()  # nothing embedded locally
    import chromadb

    remote = chromadb.HttpClient(host="127.0.0.1", port=int(url.rsplit(":", 1)[1]))
    assert remote.get_collection("citewire_chunks").count() == eng.stats()["chunks"] > 0
    ans = eng.ask("How many drones and missiles did Russia launch?")
    assert not ans.abstained and any("550" in c.quote for c in ans.citations)


def test_unreachable_server_is_a_clear_error(tmp_path):
    from rag import Engine

    port = free_port()
    with pytest.raises(Exception, match=r"127\.0\.0\.1|connect|Chroma"):
        Engine.open(settings=Settings(home=tmp_path, chroma_url=f"http://127.0.0.1:{port}", llm=LLMSettings(backend="none")))
