"""A real LLM server that goes away or is too slow: the answer degrades to extractive with a note and
follow-ups are condensed by the rules, never an exception (the session's llama-cpp-python server,
tests/_llm_server.py, stopped mid-session and started again)."""

from __future__ import annotations

import pytest

from _llm_server import llm_server
from citewire.settings import LLMSettings, Settings

pytestmark = [pytest.mark.slow, pytest.mark.integration]
Q = "How many drones and missiles did Russia launch?"
HISTORY = [(Q, "550 [1]")]
FOLLOW = "How many of them were shot down?"


@pytest.fixture(scope="module")
def server():
    pytest.importorskip("llama_cpp.server")
    return llm_server()


@pytest.fixture(scope="module")
def home(tmp_path_factory):
    from rag import Engine

    home = tmp_path_factory.mktemp("server-faults-home")
    eng = Engine.open(settings=Settings(home=home, llm=LLMSettings(backend="none")))
    eng.ingest([])
    eng.close()
    return home


def engine(home, url, **llm):
    from rag import Engine

    # the server runs SmolLM2: prompt it as the small model it is
    cfg = LLMSettings(**{"backend": "openai", "base_url": url, "model": "smollm2", "profile": "small", "condense": "llm",
                         "max_tokens": 48, "timeout_s": 300, **llm})  # generous timeout: the cores may be busy
    return Engine.open(settings=Settings(home=home, llm=cfg))


def assert_extractive(ans, why: str) -> None:
    assert ans.mode == "extractive" and not ans.abstained
    assert ans.note and why in ans.note, ans.note
    assert any("550" in c.quote for c in ans.citations)


def test_server_stopped_mid_session(home, server):
    from rag.condense import condense_rules

    eng = engine(home, server.url)
    rules = condense_rules(HISTORY, FOLLOW)
    assert eng.condense(HISTORY, FOLLOW) != rules  # up: the server condenses
    server.stop()
    try:
        ans = eng.ask(Q)  # down: no exception, an extractive answer that says why
        assert_extractive(ans, "unreachable")
        assert eng.condense(HISTORY, FOLLOW) == rules
        follow = eng.ask(FOLLOW, history=HISTORY)
        # condensed by the rules, no exception, the note says why; whether its extracted phrase is shown is the
        # answer policy's call (with the 2026-11-29 policy: "23", wrong for "shot down", refused)
        assert follow.standalone_question == rules and follow.mode in {"extractive", "abstained"}
        assert follow.note and "unreachable" in follow.note
    finally:
        server.start()
    before = server.requests()
    assert eng.condense(HISTORY, FOLLOW) != rules and server.requests() == before + 1  # back: used again


def test_a_slow_server_times_out_into_an_extractive_answer(home, server):
    from rag.condense import condense_rules

    # 1 ms: less than one decode step even when the server has this very prompt cached
    eng = engine(home, server.url, timeout_s=0.001)
    ans = eng.ask(Q)
    assert_extractive(ans, "timed out after 0.001 s")
    assert eng.condense(HISTORY, FOLLOW) == condense_rules(HISTORY, FOLLOW)


def test_nothing_listening_is_an_extractive_answer(home):
    from _net import free_port

    ans = engine(home, f"http://127.0.0.1:{free_port()}/v1").ask(Q)
    assert_extractive(ans, "unreachable")


def test_llm_errors_surface_as_llm_unavailable(server):
    """The backend object itself raises LLMUnavailableError (chat, complete, streaming), so any caller
    (the engine, condensation, the eval baseline) can degrade instead of crashing."""
    from llama_index.core.llms import ChatMessage

    from _net import free_port
    from rag.errors import LLMUnavailableError
    from rag.llm import build_llm

    llm = build_llm(LLMSettings(backend="openai", base_url=f"http://127.0.0.1:{free_port()}/v1", max_tokens=8))
    msgs = [ChatMessage(role="user", content="Say hi")]
    for call in (lambda: llm.chat(msgs), lambda: llm.complete("Say hi"), lambda: list(llm.stream_chat(msgs)),
                 lambda: list(llm.stream_complete("Say hi"))):
        with pytest.raises(LLMUnavailableError, match="unreachable"):
            call()
    up = build_llm(LLMSettings(backend="openai", base_url=server.url, max_tokens=8))
    assert up.chat(msgs).message.content.strip()  # the same class talks to a live server normally
