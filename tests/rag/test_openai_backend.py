"""The `openai` backend against a real OpenAI-compatible server: llama-cpp-python's server with the
bundled SmolLM2 (started once per session, tests/_llm_server.py): ask, SSE token streaming, LLM
condensation of follow-ups."""

from __future__ import annotations

import pytest

from _llm_server import llm_server
from citewire.settings import LLMSettings, Settings

pytestmark = [pytest.mark.slow, pytest.mark.integration]
Q = "How many drones and missiles did Russia launch?"


@pytest.fixture(scope="module")
def server():
    pytest.importorskip("llama_cpp.server")
    return llm_server()


@pytest.fixture(scope="module")
def home(tmp_path_factory):
    """The bundled corpus, ingested once; each test opens its own engine on it."""
    from rag import Engine

    home = tmp_path_factory.mktemp("openai-home")
    eng = Engine.open(settings=Settings(home=home, llm=LLMSettings(backend="none")))
    eng.ingest([])
    eng.close()
    return home


def engine(home, server, **llm):
    from rag import Engine

    # the server runs SmolLM2: prompt it as the small model it is
    cfg = LLMSettings(backend="openai", base_url=server.url, model="smollm2", profile="small", max_tokens=48,
                      timeout_s=300, **llm)  # generous: the 2 test cores may be busy with other work
    return Engine.open(settings=Settings(home=home, llm=cfg))


def test_ask_generates_through_the_server(home, server):
    eng = engine(home, server)
    before = server.requests()
    ans = eng.ask(Q)
    assert server.requests() == before + 1  # the server really drafted this answer
    assert ans.timings["generation_s"] > 0 and not ans.note
    assert not ans.abstained and any("550" in c.quote for c in ans.citations)
    for c in ans.citations:
        assert c.quote == eng.article(c.article_id).text[c.start:c.end]


def test_stream_delivers_tokens_over_sse(home, server):
    from rag import AnswerEvent, TokenEvent

    # a question whose evidence the answer policy sends to the LLM, and that SmolLM2 answers in a sentence
    # (to "How many drones and missiles...?" it may write just "1": one delta)
    events = list(engine(home, server).stream("Who is the mayor of Kyiv?"))
    tokens = [e.delta for e in events if isinstance(e, TokenEvent)]
    assert len(tokens) >= 3 and "".join(tokens).strip()  # several deltas, not one blob
    answers = [e for e in events if isinstance(e, AnswerEvent)]
    assert len(answers) == 1 and events[-1] is answers[0]
    assert answers[0].answer.timings["first_token_s"] < answers[0].answer.timings["total_s"]


def test_follow_up_is_condensed_by_the_server(home, server):
    from rag.condense import condense_rules

    eng = engine(home, server, condense="llm")
    history = [(Q, "550 [1]")]
    follow = "How many of them were shot down?"
    before = server.requests()
    ans = eng.ask(follow, history=history)
    assert server.requests() >= before + 1  # the condense prompt went to the server (and the draft, if any)
    standalone = ans.standalone_question
    assert standalone.strip() and standalone != follow and standalone != condense_rules(history, follow)
    assert ans.text
