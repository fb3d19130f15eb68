"""Readers in other processes while a CLI ingest writes: a `citewire ui` answering /ask and a script
running stats/ask (re-opening the engine, as every CLI call does) in a loop. Neither may delete
or break anything; the ingest completes whole; the new articles are answerable afterwards."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import time

import pytest
from fault_helpers import (
    citewire,
    cli_env,
    committed_articles,
    question,
    serve,
    town,
    write_corpus,
)

from _net import free_port
from citewire.settings import LLMSettings, Settings
from ingest import Ingestor

pytestmark = [pytest.mark.slow, pytest.mark.integration]

N = 48

READER_LOOP = textwrap.dedent("""
    import json, sys, time
    from pathlib import Path
    from citewire.settings import LLMSettings, Settings
    from rag import Engine
    home, stop, question = sys.argv[1], Path(sys.argv[2]), sys.argv[3]
    settings = Settings(home=home, llm=LLMSettings(backend="none"))
    out = {"iterations": 0, "articles": [], "errors": [], "bad_quotes": 0}
    eng = Engine.open(settings=settings)
    while not stop.exists():
        try:
            if out["iterations"] % 3 == 2:
                eng.close()
                eng = Engine.open(settings=settings)  # what each `citewire ask/stats` run does
            st = eng.stats()
            out["articles"].append(st["articles"])
            ans = eng.ask(question)
            for c in ans.citations:
                out["bad_quotes"] += c.quote != eng.article(c.article_id).text[c.start:c.end]
        except Exception as e:  # report every failure to the test, which expects none
            out["errors"].append(f"{type(e).__name__}: {e}")
        out["iterations"] += 1
        time.sleep(0.3)
    print(json.dumps(out))
""")


def test_ui_and_cli_readers_during_a_long_ingest(tmp_path, consistent):
    from gradio_client import Client

    home = tmp_path / "home"
    src = write_corpus(tmp_path / "src", N, sentences=4)  # one chunk an article: commits of 16
    first = tmp_path / "first"
    first.mkdir()
    (src / f"{town(0).lower()}.txt").rename(first / f"{town(0).lower()}.txt")  # served before the ingest
    settings = Settings(home=home, llm=LLMSettings(backend="none"))
    Ingestor(settings).ingest([first])

    port = free_port()
    ui = serve(citewire("ui", "--port", str(port)), port, cli_env(home))
    stop = tmp_path / "stop"
    loop = subprocess.Popen([sys.executable, "-c", READER_LOOP, str(home), str(stop), question(0)],
                            env=cli_env(home), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        client = Client(f"http://127.0.0.1:{port}/", verbose=False)
        first_res = client.predict(question(0), api_name="/ask")
        assert first_res["citations"] or first_res["related"]  # answered, or refused with its passages shown
        ui_errors: list[str] = []
        ui_answers = 0
        writer = subprocess.Popen(citewire("ingest", str(src), "-q"), env=cli_env(home, CITEWIRE_EMBED_BATCH_SIZE="1"),
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        while writer.poll() is None:
            i = (ui_answers * 7) % N
            try:
                res = client.predict(question(i), api_name="/ask")
                ui_answers += 1
                assert all(c["quote"] for c in res["citations"])
            except Exception as e:  # collected: the test asserts there were none
                ui_errors.append(f"{type(e).__name__}: {e}")
            time.sleep(0.3)
        out, err = writer.communicate()
        assert writer.returncode == 0, err
        assert f"added {N - 1}," in out
        assert ui_errors == [] and ui_answers >= 3
        # the new articles are answerable from the UI that was running all along
        for i in (1, N // 2, N - 1):
            res = client.predict(question(i), api_name="/ask")
            shown = res["citations"] or res["related"]  # the answer policy may refuse; its passages still show
            assert shown, res
            assert shown[0]["title"] == f"{town(i)} harbour report"
    finally:
        stop.touch()
        loop_out, loop_err = loop.communicate(timeout=300)
        ui.terminate()
        ui.wait(timeout=60)
    report = json.loads(loop_out.strip().splitlines()[-1]) if loop_out.strip() else pytest.fail(loop_err[-3000:])
    assert report["errors"] == [] and report["bad_quotes"] == 0
    assert report["iterations"] >= 3 and report["articles"] == sorted(report["articles"])  # never went back
    assert committed_articles(home) == N
    assert consistent(Ingestor(settings))[0] == N
