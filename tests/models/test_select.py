"""Which GGUF `llm` settings select, what its metadata says, and the checks at load (real GGUF files)."""

from __future__ import annotations

import shutil

import pytest
from llama_index.core.llms import ChatMessage

from citewire.models import KNOWN_MODELS, sha256_file
from citewire.settings import LLMSettings
from rag.errors import LLMUnavailableError
from rag.llm import (
    bundled_gguf,
    chat_template,
    gguf_info,
    llama_lock,
    model_file,
    model_profile,
    model_record,
)

pytestmark = pytest.mark.slow  # reads real GGUF files


def test_the_bundled_model_matches_its_recorded_size_and_hash():
    spec = KNOWN_MODELS["smollm2-135m"]
    path = bundled_gguf()
    assert path.stat().st_size == spec.size
    assert sha256_file(path) == spec.sha256
    assert "Apache-2.0" in spec.licence and "HuggingFaceTB" in spec.provenance


def test_default_and_local_select_the_bundled_model(tmp_path):
    for model in ("local", "smollm2-135m"):
        mf = model_file(LLMSettings(model=model, models_dir=tmp_path))
        assert mf.path == bundled_gguf() and mf.spec is KNOWN_MODELS["smollm2-135m"]
    assert (tmp_path / "hashes.json").is_file()  # the load-time hash check was recorded


def test_model_path_wins_and_any_gguf_is_accepted(tmp_path):
    own = tmp_path / "mine.gguf"
    shutil.copyfile(bundled_gguf(), own)
    mf = model_file(LLMSettings(model="qwen2.5-coder-0.5b", model_path=str(own), models_dir=tmp_path))
    assert mf.path == own and mf.spec is None and mf.name == "mine.gguf"
    with pytest.raises(LLMUnavailableError, match="GGUF model not found"):
        model_file(LLMSettings(model_path=str(tmp_path / "missing.gguf")))


def test_an_unknown_or_unpulled_name_says_what_to_do(tmp_path, monkeypatch):
    monkeypatch.setenv("CITEWIRE_HOME", str(tmp_path / "home"))  # no pulled models in the default home either
    with pytest.raises(LLMUnavailableError, match="unknown model 'gpt-9'; known models: smollm2-135m"):
        model_file(LLMSettings(model="gpt-9", models_dir=tmp_path))
    with pytest.raises(LLMUnavailableError, match="not installed: citewire models pull qwen2.5-coder-0.5b"):
        model_file(LLMSettings(model="qwen2.5-coder-0.5b", models_dir=tmp_path))


def test_an_impostor_file_under_a_known_name_is_refused_at_load(tmp_path, monkeypatch):
    monkeypatch.setenv("CITEWIRE_HOME", str(tmp_path / "home"))
    spec = KNOWN_MODELS["qwen2.5-coder-0.5b"]
    shutil.copyfile(bundled_gguf(), tmp_path / spec.filename)  # a real GGUF, but not the pinned one
    with pytest.raises(LLMUnavailableError, match="must be 491,400,064.*citewire models pull qwen2.5-coder-0.5b --force"):
        model_file(LLMSettings(model=spec.name, models_dir=tmp_path))


def test_profile_and_template_come_from_the_gguf_metadata(tmp_path):
    own = tmp_path / "copy.gguf"  # not the registry's file: the profile must come from its parameter count
    shutil.copyfile(bundled_gguf(), own)
    info = gguf_info(own)
    assert 130e6 < info.n_params < 140e6 and info.chat_template and "<|im_start|>" in info.chat_template
    assert model_profile(LLMSettings(model_path=str(own))) == "small"
    assert model_profile(LLMSettings()) == "small"
    assert model_profile(LLMSettings(backend="openai", base_url="http://127.0.0.1:1/v1")) == "capable"
    assert model_profile(LLMSettings(backend="openai", profile="small")) == "small"  # a tiny model behind a server
    assert model_profile(LLMSettings(model_path=str(own), profile="capable")) == "capable"
    tmpl = chat_template(LLMSettings(model_path=str(own)))
    assert tmpl is not None and tmpl.is_chatml and tmpl.stop == ["<|im_end|>", "<|im_start|>"]
    msgs = [ChatMessage(role="system", content="Be brief."), ChatMessage(role="user", content="Hi?")]
    assert tmpl.render(msgs) == "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi?<|im_end|>\n<|im_start|>assistant\n"
    assert chat_template(LLMSettings(backend="openai", base_url="http://127.0.0.1:1/v1")) is None


def test_a_file_that_is_not_gguf_is_a_clear_error(tmp_path):
    bad = tmp_path / "bad.gguf"
    bad.write_bytes(b"not a model" * 100)
    with pytest.raises(LLMUnavailableError, match="not a GGUF model"):
        gguf_info(bad)


def test_pulled_qwen_is_capable_with_a_chatml_template():
    cfg = LLMSettings(model="qwen2.5-coder-0.5b")
    try:
        model_file(cfg)
    except LLMUnavailableError:
        pytest.skip("qwen2.5-coder-0.5b is not pulled on this machine (citewire models pull qwen2.5-coder-0.5b)")
    assert model_profile(cfg) == "capable"
    tmpl = chat_template(cfg)
    assert tmpl is not None and tmpl.is_chatml
    rec = model_record(cfg)
    assert rec["sha256"] == KNOWN_MODELS["qwen2.5-coder-0.5b"].sha256 and rec["size"] == 491_400_064


def test_one_llama_lock_for_every_llamacpp_config_and_none_for_servers():
    a, b = llama_lock(LLMSettings()), llama_lock(LLMSettings(model="qwen2.5-coder-0.5b", threads=1))
    assert a is b
    with a:
        assert not b.acquire(blocking=False)  # type: ignore[union-attr]
    server = llama_lock(LLMSettings(backend="openai"))
    with server, server:  # a null context: never blocks
        pass
