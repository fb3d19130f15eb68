"""The engines under test, behind one small interface: ``predict(item) -> Prediction``.

`CitewireSystem` wraps `rag.Engine`; `evals.baseline.BaselineSystem` wraps stock LlamaIndex. Both
read article texts from the same store, so spans are comparable.
"""

from __future__ import annotations

import functools
import time
from typing import Any, Protocol

from evals.loaders import EvalItem
from evals.scoring import Prediction
from evals.stores import EvalStore


class System(Protocol):
    name: str

    def predict(self, item: EvalItem) -> Prediction: ...

    def close(self) -> None: ...


class ArticleTexts:
    """Stored article texts by id (cached), read from the store's SQLite table."""

    def __init__(self, store: EvalStore) -> None:
        from ingest import ArticleStore

        self._db = ArticleStore(store.settings.db_path)
        self.get = functools.lru_cache(maxsize=4096)(self._get)

    def _get(self, article_id: str) -> str | None:
        art = self._db.get(article_id, with_sentences=False)
        return art.text if art is not None else None

    def __call__(self, article_id: str) -> str | None:
        return self.get(article_id)

    def ids_and_hashes(self) -> dict[str, str]:
        return dict(self._db.hashes())

    def infos(self) -> list[Any]:
        return list(self._db.list())

    def article(self, article_id: str) -> Any:
        return self._db.get(article_id, with_sentences=False)

    def close(self) -> None:
        self._db.close()


def _passage(p: Any) -> dict[str, Any]:
    return {"article_id": p.article_id, "start": p.start, "end": p.end, "quote": p.quote, "score": float(p.score)}


def _citation(c: Any) -> dict[str, Any]:
    return {"n": c.n, "article_id": c.article_id, "title": c.title, "start": c.start, "end": c.end, "quote": c.quote}


class CitewireSystem:
    """citewire's own engine (hybrid retrieval, evidence selection, verified citations)."""

    name = "citewire"

    def __init__(self, store: EvalStore, k: int) -> None:
        from rag import Engine

        self.k = k
        self.engine = Engine.open(settings=store.settings)

    def predict(self, item: EvalItem) -> Prediction:
        try:
            t0 = time.perf_counter()
            passages = self.engine.retrieve(item.question, top_k=self.k)
            retrieve_s = time.perf_counter() - t0
            ans = self.engine.ask(item.question)
        except Exception as e:  # noqa: BLE001 - an engine failure is a scored outcome, not a crash
            return Prediction(answer="", abstained=False, error=f"{type(e).__name__}: {e}")
        timings = {k: float(v) for k, v in (ans.timings or {}).items() if isinstance(v, (int, float))}
        timings.setdefault("retrieval_s", retrieve_s)
        if "total_s" in timings:
            timings.setdefault("first_token_s", timings["total_s"])
        return Prediction(
            answer=ans.text,
            abstained=bool(ans.abstained),
            citations=[_citation(c) for c in ans.citations],
            retrieved=[_passage(p) for p in passages[: self.k]],
            timings=timings,
            mode=str(getattr(ans, "mode", "")),
        )

    def close(self) -> None:
        close = getattr(self.engine, "close", None)
        if callable(close):
            close()


def make_system(name: str, store: EvalStore, k: int, show_progress: bool = True) -> System:
    if name == "citewire":
        return CitewireSystem(store, k)
    if name == "baseline":
        from evals.baseline import BaselineSystem

        return BaselineSystem(store, k, show_progress=show_progress)
    raise ValueError(f"unknown engine {name!r} (citewire or baseline)")
