"""How likely the LLM finds each candidate phrase as its answer: a re-ranking signal for extraction.

After the draft, the model's KV cache already holds the draft prompt. Each candidate phrase (the
extractor's top few, `rag/extract.py`) is then decoded as the reply to that prompt and scored by its
mean per-token log-probability, so a candidate costs only its own few tokens. On the calibration split
(150 answerable RealTimeQA questions, `python -m evals.diagnose --lm-rerank 8 --lm-form prompt`) this
ranks the gold phrase first for 30 / 32 questions with Qwen2.5-Coder-0.5B / 1.5B where the extractor's
features alone manage 21, for 0.35 s / 0.70 s a question on 2 cores.

Only an in-process llama.cpp model (`llm.backend = "llamacpp"`) exposes its logits; OpenAI-compatible
servers do not, and answers there are ranked by the extractor's features alone.

Example:
    >>> with llama_lock(cfg):
    ...     scores = score_phrases(llm, messages, ["Lisbon", "Porto"])
    >>> scores["Lisbon"] > scores["Porto"]
    True
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from scipy.special import log_softmax

MAX_PHRASE_TOKENS = 24


def llama_of(llm: Any) -> Any | None:
    """The `llama_cpp.Llama` behind a llama-index `LlamaCPP` (None for any other backend)."""
    from llama_cpp import Llama

    model = getattr(llm, "_model", None)
    return model if isinstance(model, Llama) else None


def score_phrases(llm: Any, messages: Sequence[Any], phrases: Sequence[str]) -> dict[str, float] | None:
    """Mean per-token log-probability of each phrase as the reply to `messages` (None: not a llama.cpp LLM).

    When to use: right after the draft for the same messages (under `rag.llm.llama_lock`), when the prompt is
    still in the model's cache. Call it under the lock: it moves the model's decode state."""
    model = llama_of(llm)
    if model is None:
        return None
    prompt = llm.messages_to_prompt(list(messages))
    tokens = model.tokenize(prompt.encode("utf-8"), special=True)  # as llama-cpp-python's completion does
    return dict(zip(phrases, continuation_logliks(model, tokens, phrases)))


def continuation_logliks(model: Any, prefix: Sequence[int], phrases: Sequence[str]) -> list[float]:
    """Mean per-token log-probability of each phrase right after the tokens `prefix`.

    The longest prefix already in the model's cache is kept; the rest of `prefix` is evaluated once and each
    phrase is decoded in one batch with logits for that batch only (never `logits_all` over the whole
    context: that costs n_ctx x vocabulary floats, 1.2 GB for Qwen). The cache is left holding all of `prefix`
    but its last token, so the next completion of the same prompt re-uses it."""
    prefix = list(prefix)
    if len(prefix) < 1:
        raise ValueError("an empty prefix has no continuation")
    done = model.input_ids[: model.n_tokens]
    keep = 0
    limit = min(len(done), len(prefix) - 1)
    while keep < limit and done[keep] == prefix[keep]:
        keep += 1
    model.n_tokens = keep
    if keep < len(prefix) - 1:
        model.eval(prefix[keep:-1])  # everything but the last prompt token, in llama.cpp's own batches
    base = len(prefix) - 1
    n_vocab = model.n_vocab()
    out: list[float] = []
    for phrase in phrases:
        ids = model.tokenize(phrase.encode("utf-8"), add_bos=False, special=False)[:MAX_PHRASE_TOKENS]
        if not ids:
            raise ValueError(f"the phrase {phrase!r} has no tokens")
        batch = [prefix[-1], *ids[:-1]]  # row i: the distribution of ids[i]
        model._ctx.kv_cache_seq_rm(-1, base, -1)
        model._batch.set_batch(batch=batch, n_past=base, logits_all=True)
        model._ctx.decode(model._batch)
        rows = np.ctypeslib.as_array(model._ctx.get_logits(), shape=(len(batch) * n_vocab,))
        logits = rows.reshape(len(batch), n_vocab).astype(np.float64)
        out.append(float(log_softmax(logits, axis=1)[np.arange(len(ids)), ids].mean()))
    model._ctx.kv_cache_seq_rm(-1, base, -1)
    model.n_tokens = base
    return out
