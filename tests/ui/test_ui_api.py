"""The app's Gradio API (``/ask``) through `gradio_client`, against a live server on localhost."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from ui.screenshot import SEED_QUESTION

pytestmark = [pytest.mark.slow, pytest.mark.integration]


@pytest.fixture(scope="module")
def client(live_app: Any) -> Any:
    from gradio_client import Client

    return Client(live_app.url, verbose=False)


def assert_citations_exact(engine: Any, result: dict) -> None:
    for c in result["citations"]:
        assert c["quote"] == engine.article(c["article_id"]).text[c["start"] : c["end"]]
        assert f"[{c['n']}]" in result["answer"]


def test_ask_endpoint_answers_with_exact_citations(client: Any, live_app: Any, network_audit: Any) -> None:
    assert "/ask" in client.view_api(print_info=False, return_format="dict")["named_endpoints"]
    result = client.predict(SEED_QUESTION, api_name="/ask")
    assert isinstance(result, dict)
    assert result["question"] == SEED_QUESTION and not result["abstained"]
    assert result["answer"].strip()
    assert any("550" in c["quote"] for c in result["citations"]), result
    assert_citations_exact(live_app.engine, result)
    assert network_audit.violations == []  # client, server and engine stayed on localhost


def test_ask_endpoint_applies_filters(client: Any, live_app: Any) -> None:
    ap = client.predict(SEED_QUESTION, "Associated Press", "", "", api_name="/ask")
    assert ap["citations"] and {c["source"] for c in ap["citations"]} == {"Associated Press"}
    other = client.predict(SEED_QUESTION, "Citewire Test Wire", "", "", api_name="/ask")
    assert all(c["source"] == "Citewire Test Wire" for c in other["citations"])
    assert all(p["source"] == "Citewire Test Wire" for p in other["related"])
    assert not any("550" in c["quote"] for c in other["citations"])


def test_bad_questions_get_clear_errors_and_the_app_keeps_serving(client: Any, live_app: Any) -> None:
    from gradio_client.exceptions import AppError

    with pytest.raises(AppError, match="type a question"):
        client.predict("   ", api_name="/ask")
    with pytest.raises(AppError, match="since must be a date"):
        client.predict(SEED_QUESTION, "", "last tuesday", "", api_name="/ask")
    with pytest.raises(AppError, match="10499 characters long; the limit is 2000"):
        client.predict("drones " * 1500, api_name="/ask")
    for bad in (-3, 51, 10_000):
        with pytest.raises(AppError, match="top_k must be a whole number from 1 to 50"):
            client.predict(SEED_QUESTION, "", "", "", bad, api_name="/ask")
    with pytest.raises(AppError, match="as_of must be a date"):
        client.predict(SEED_QUESTION, "", "", "", 0, "next friday", api_name="/ask")
    again = client.predict(SEED_QUESTION, "", "", "", 3, api_name="/ask")
    assert any("550" in c["quote"] for c in again["citations"])
    assert_citations_exact(live_app.engine, again)


def test_concurrent_requests_each_get_their_own_answer(live_app: Any) -> None:
    from gradio_client import Client

    questions = [SEED_QUESTION, "How many people were injured in Kyiv?", "Who called it a harsh, sleepless night?"]

    def ask(q: str) -> dict:
        return Client(live_app.url, verbose=False).predict(q, api_name="/ask")

    with ThreadPoolExecutor(max_workers=3) as pool:
        results = list(pool.map(ask, questions))
    assert [r["question"] for r in results] == questions
    for r in results:
        assert r["answer"].strip()
        assert_citations_exact(live_app.engine, r)


def test_empty_store_and_unreachable_llm_are_reported(tmp_path: Path, free_dead_port: int,
                                                      app_starter: Any) -> None:
    """A second app whose store starts empty and whose LLM server does not exist: a clear error
    while nothing is ingested, then extractive answers that say why (`note`)."""
    from gradio_client import Client
    from gradio_client.exceptions import AppError

    from citewire.settings import Settings
    from rag import Engine

    settings = Settings(home=tmp_path / "home", llm={"backend": "openai",
                                                    "base_url": f"http://127.0.0.1:{free_dead_port}/v1",
                                                    "timeout_s": 5})
    engine = Engine.open(settings=settings)
    demo = app_starter(settings, engine)
    try:
        client = Client(demo.local_url, verbose=False)
        with pytest.raises(AppError, match="No articles are ingested yet"):
            client.predict(SEED_QUESTION, api_name="/ask")
        assert engine.ingest([]).added
        for _ in range(2):  # still serving, same degraded answer
            result = client.predict(SEED_QUESTION, api_name="/ask")
            assert result["mode"] == "extractive" and "LLM unavailable" in result["note"], result
            assert any("550" in c["quote"] for c in result["citations"])
            assert_citations_exact(engine, result)
    finally:
        demo.close()
        engine.close()


def test_new_parameters_come_last_so_old_clients_keep_working(safety_app: Any) -> None:
    """"Yesterday" resolves against `as_of`; clients that pass only the first five still work."""
    from gradio_client import Client

    client = Client(safety_app.url, verbose=False)
    params = client.view_api(print_info=False, return_format="dict")["named_endpoints"]["/ask"]["parameters"]
    assert [p["parameter_name"] for p in params] == ["question", "source", "since", "until", "top_k", "as_of", "risk"]
    may = client.predict(safety_app.YESTERDAY_QUESTION, "", "", "", 0, "2025-05-07", api_name="/ask")
    june = client.predict(safety_app.YESTERDAY_QUESTION, "", "", "", 0, "2025-06-04", api_name="/ask")
    assert {c["article_id"] for c in may["citations"]} == {safety_app.may_id}, may
    assert {c["article_id"] for c in june["citations"]} == {safety_app.june_id}, june
    old_client_call = client.predict(safety_app.YESTERDAY_QUESTION, "Citewire Test Wire", "", "", 4, api_name="/ask")
    assert old_client_call["citations"] and not old_client_call["abstained"]


def test_auth_protects_the_app_and_its_api(live_app: Any) -> None:
    """With credentials the UI and /ask need a login; bad or missing credentials get nothing."""
    import httpx
    from gradio_client import Client

    from ui.app import launch
    from ui.screenshot import free_port

    demo = launch(live_app.settings, host="127.0.0.1", port=free_port(), auth="reader:s3cret",
                  engine=live_app.engine, block=False, quiet=True)
    try:
        assert httpx.get(demo.local_url + "config").status_code == 401
        with pytest.raises(ValueError, match="credentials"):
            Client(demo.local_url, verbose=False)
        with pytest.raises(ValueError):
            Client(demo.local_url, auth=("reader", "wrong"), verbose=False)
        client = Client(demo.local_url, auth=("reader", "s3cret"), verbose=False)
        result = client.predict(SEED_QUESTION, api_name="/ask")
        assert any("550" in c["quote"] for c in result["citations"])
    finally:
        demo.close()


def test_upload_size_limit_is_enforced_by_the_server(live_app: Any) -> None:
    import httpx

    from ui.app import launch
    from ui.screenshot import free_port

    settings = live_app.settings.model_copy(update={"ui": live_app.settings.ui.model_copy(update={"max_upload_mb": 1})})
    demo = launch(settings, host="127.0.0.1", port=free_port(), engine=live_app.engine, block=False, quiet=True)
    try:
        url = demo.local_url + "gradio_api/upload"
        big = httpx.post(url, files={"files": ("big.txt", b"x" * (2 * 2**20), "text/plain")})
        assert big.status_code == 413, big.text
        small = httpx.post(url, files={"files": ("small.txt", b"A short article.", "text/plain")})
        assert small.status_code == 200, small.text
    finally:
        demo.close()


@pytest.fixture()
def free_dead_port() -> int:
    """A localhost port with nothing listening on it."""
    from ui.screenshot import free_port

    return free_port()
