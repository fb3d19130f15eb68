"""What a GGUF file says about itself, read with llama-cpp-python: parameter count, chat template,
BOS/EOS text and the metadata strings; and `ChatTemplate`, which renders llama-index chat messages
with the file's own Jinja template (ChatML when it has none).

Use `gguf_info(path)` to inspect a model without loading its weights (vocabulary only: ~0.1-0.3 s,
cached per path+size+mtime), and `ChatTemplate` to build prompts for an in-process model.

Example:
    >>> info = gguf_info(Path("qwen2.5-coder-0.5b-instruct-q4_k_m.gguf"))
    >>> info.n_params, "<|im_start|>" in (info.chat_template or "")
    (630167424, True)
"""

from __future__ import annotations

import contextlib
import ctypes
import functools
import logging
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .errors import LLMUnavailableError

log = logging.getLogger(__name__)
_META_LOCK = threading.Lock()  # reading GGUF headers (may happen inside a model load)
CHATML = ("{% for message in messages %}{{'<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>'"
          " + '\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}")


@dataclass(frozen=True)
class GGUFInfo:
    """What the GGUF header says: parameter count, chat template, BOS/EOS text, metadata strings."""

    n_params: int
    chat_template: str | None
    bos: str
    eos: str
    metadata: dict[str, str]


def gguf_info(path: Path) -> GGUFInfo:
    """Read `path`'s metadata with llama-cpp-python (vocabulary only: ~0.1-0.3 s, cached per file)."""
    st = path.stat()
    return _gguf_info(str(path.resolve()), st.st_size, st.st_mtime_ns)


@functools.lru_cache(maxsize=8)
def _gguf_info(path: str, size: int, mtime_ns: int) -> GGUFInfo:
    import llama_cpp

    params = llama_cpp.llama_model_default_params()
    params.vocab_only = True
    with _META_LOCK, _quiet():
        llama_cpp.llama_backend_init()
        model = llama_cpp.llama_model_load_from_file(path.encode(), params)
    if not model:
        raise LLMUnavailableError(f"cannot read the GGUF file {path}: not a GGUF model llama.cpp can load")
    try:
        md: dict[str, str] = {}
        buf = ctypes.create_string_buffer(1 << 16)
        for i in range(llama_cpp.llama_model_meta_count(model)):
            llama_cpp.llama_model_meta_key_by_index(model, i, buf, len(buf))
            key = buf.value.decode("utf-8", "replace")
            need = llama_cpp.llama_model_meta_val_str_by_index(model, i, buf, len(buf))
            if need >= len(buf):
                buf = ctypes.create_string_buffer(need + 1)
                llama_cpp.llama_model_meta_val_str_by_index(model, i, buf, len(buf))
            md[key] = buf.value.decode("utf-8", "replace")
        vocab = llama_cpp.llama_model_get_vocab(model)

        def text(tok: int) -> str:
            raw = llama_cpp.llama_vocab_get_text(vocab, tok) if tok >= 0 else b""
            return (raw or b"").decode("utf-8", "replace")

        return GGUFInfo(n_params=int(llama_cpp.llama_model_n_params(model)),
                        chat_template=md.get("tokenizer.chat_template") or None,
                        bos=text(llama_cpp.llama_vocab_bos(vocab)), eos=text(llama_cpp.llama_vocab_eos(vocab)),
                        metadata=md)
    finally:
        llama_cpp.llama_model_free(model)


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """Silence llama.cpp's C-level logging to stderr (as `Llama(verbose=False)` does)."""
    try:
        from llama_cpp._utils import suppress_stdout_stderr
    except ImportError:  # a future llama-cpp-python without the helper: just be noisy
        yield
        return
    with suppress_stdout_stderr(disable=False):
        yield


class ChatTemplate:
    """A GGUF's own chat template (Jinja, rendered by llama-cpp-python), ChatML when it has none.

    Use it to turn llama-index chat messages into the prompt string an in-process model expects.

    Example:
        >>> from llama_index.core.llms import ChatMessage
        >>> ChatTemplate(None).render([ChatMessage(role="user", content="hi")])
        '<|im_start|>user\\nhi<|im_end|>\\n<|im_start|>assistant\\n'
    """

    def __init__(self, source: str | None, bos: str = "", eos: str = "") -> None:
        from llama_cpp.llama_chat_format import Jinja2ChatFormatter

        self.source = source or CHATML
        self.eos = eos
        self._formatter = Jinja2ChatFormatter(self.source, eos_token=eos, bos_token=bos)

    @property
    def is_chatml(self) -> bool:
        return "<|im_start|>" in self.source

    @property
    def stop(self) -> list[str]:
        """Stop strings: the role markers for ChatML, else the end-of-sequence text."""
        if self.is_chatml:
            return ["<|im_end|>", "<|im_start|>"]
        return [self.eos] if self.eos else []

    def render(self, messages: Sequence[Any]) -> str:
        msgs = [{"role": str(getattr(m.role, "value", m.role)), "content": m.content or ""} for m in messages]
        return str(self._formatter(messages=msgs).prompt)  # type: ignore[arg-type]

    def render_completion(self, prompt: str) -> str:
        return str(self._formatter(messages=[{"role": "user", "content": prompt}]).prompt)
