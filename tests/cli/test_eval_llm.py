"""`citewire eval --llm NAME|PATH` and `--llm-base-url/--llm-model`: one model for both engines, recorded
(name, file sha256) in results.json. (A full `eval --compare` with a server is a manual smoke test: the
baseline's ~2,500-token prompts take a minute per question on 2 cores.)"""

from __future__ import annotations

import argparse
import json
import shutil

import pytest

from citewire.models import KNOWN_MODELS
from citewire.settings import LLMSettings, Settings
from evals.cli import add_arguments, llm_override

pytestmark = pytest.mark.slow


def parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    return parser.parse_args(["seed", *argv])


def test_llm_by_name_path_or_server(tmp_path, monkeypatch):
    from rag.llm import bundled_gguf

    monkeypatch.setenv("CITEWIRE_HOME", str(tmp_path / "home"))  # nothing pulled there
    base = LLMSettings(backend="openai", base_url="http://127.0.0.1:9/v1", model="x", models_dir=tmp_path)
    assert llm_override(base, parse()) is None
    own = tmp_path / "mine.gguf"
    shutil.copyfile(bundled_gguf(), own)
    by_path = llm_override(base, parse("--llm", str(own)))
    assert by_path is not None and (by_path.backend, by_path.model_path) == ("llamacpp", str(own))
    by_name = llm_override(base, parse("--llm", "smollm2-135m"))
    assert by_name is not None and (by_name.backend, by_name.model, by_name.model_path) == ("llamacpp", "smollm2-135m", None)
    server = llm_override(LLMSettings(), parse("--llm-base-url", "http://127.0.0.1:8080/v1", "--llm-model", "qwen"))
    assert server is not None and (server.backend, server.base_url, server.model) == ("openai", "http://127.0.0.1:8080/v1", "qwen")
    with pytest.raises(ValueError, match="not installed: citewire models pull qwen2.5-coder-0.5b"):
        llm_override(base.model_copy(update={"models_dir": tmp_path / "empty"}), parse("--llm", "qwen2.5-coder-0.5b"))
    with pytest.raises(ValueError, match="unknown model 'gpt-9'"):
        llm_override(base, parse("--llm", "gpt-9"))
    with pytest.raises(ValueError, match="exclude each other"):
        llm_override(base, parse("--llm", "smollm2-135m", "--llm-model", "m"))
    with pytest.raises(ValueError, match="--llm-model needs --llm-base-url"):
        llm_override(LLMSettings(), parse("--llm-model", "m"))
    with pytest.raises(ValueError, match="--extractive runs without an LLM"):
        llm_override(base, parse("--extractive", "--llm", "smollm2-135m"))


def test_results_record_the_gguf_and_its_cached_hash(tmp_path):
    from evals.runner import llm_record
    from rag.llm import bundled_gguf

    own = tmp_path / "copy.gguf"
    shutil.copyfile(bundled_gguf(), own)
    s = Settings(home=tmp_path, llm=LLMSettings(model_path=str(own), models_dir=tmp_path / "models"))
    rec = llm_record(s)
    assert rec["name"] == "copy.gguf" and rec["sha256"] == KNOWN_MODELS["smollm2-135m"].sha256
    assert rec["size"] == own.stat().st_size and rec["profile"] == "small"
    cache = json.loads((tmp_path / "models" / "hashes.json").read_text())
    assert cache[str(own.resolve())]["sha256"] == rec["sha256"]  # the next run reads it instead of hashing


def test_both_engines_run_the_model_given_by_llm(tmp_path):
    """`--llm PATH` reaches citewire's engine and the LlamaIndex baseline alike (same GGUF file)."""
    from evals.loaders import load_suite
    from evals.stores import prepare_store
    from evals.systems import make_system
    from rag.llm import bundled_gguf

    own = tmp_path / "chosen.gguf"
    shutil.copyfile(bundled_gguf(), own)
    llm = llm_override(LLMSettings(models_dir=tmp_path / "models"), parse("--llm", str(own)))
    assert llm is not None
    store = prepare_store(load_suite("seed", limit=1).corpus, Settings(home=tmp_path / "home", llm=llm), show_progress=False)
    systems = [make_system(name, store, 4, show_progress=False) for name in ("citewire", "baseline")]
    try:
        citewire, baseline = systems
        assert citewire.engine.llm.model_path == str(own)
        assert baseline.engine._response_synthesizer._llm.model_path == str(own)
    finally:
        for system in systems:
            system.close()
