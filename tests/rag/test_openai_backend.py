"""The `openai` backend against a real OpenAI-compatible server (llama-cpp-python's server)."""

import sys
import time

import pytest
from _net import free_port, start_server

from citewire.settings import LLMSettings, Settings

pytestmark = [pytest.mark.slow, pytest.mark.integration]


@pytest.fixture(scope="module")
def openai_server():
    pytest.importorskip("llama_cpp.server")
    from rag.llm import bundled_gguf

    port = free_port()
    proc = start_server([sys.executable, "-m", "llama_cpp.server", "--model", str(bundled_gguf()), "--host",
                         "127.0.0.1", "--port", str(port), "--n_ctx", "2048", "--chat_format", "chatml"], port)
    time.sleep(1)
    yield f"http://127.0.0.1:{port}/v1"
    proc.terminate()
    proc.wait(timeout=30)


def test_answers_through_openai_compatible_server(openai_server, tmp_path):
    from rag import Engine

    eng = Engine.open(settings=Settings(home=tmp_path, llm=LLMSettings(backend="openai", base_url=openai_server,
                                                                      model="smollm2")))
    eng.ingest([])
    ans = eng.ask("How many drones and missiles did Russia launch?")
    assert not ans.abstained and any("550" in c.quote for c in ans.citations)
    assert ans.timings["generation_s"] > 0  # the server really generated a draft
    for c in ans.citations:
        assert c.quote == eng.article(c.article_id).text[c.start:c.end]


def test_unreachable_server_is_a_clear_error(tmp_path):
    from rag import Engine, LLMUnavailableError

    eng = Engine.open(settings=Settings(home=tmp_path, llm=LLMSettings(backend="openai",
                                                                      base_url=f"http://127.0.0.1:{free_port()}/v1")))
    eng.ingest([])
    with pytest.raises(LLMUnavailableError, match="unreachable|failed"):
        eng.ask("How many drones and missiles did Russia launch?")
