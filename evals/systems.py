"""The engines under test, behind one small interface: ``predict(item) -> Prediction``.

`CitewireSystem` wraps `rag.Engine`; `evals.baseline.BaselineSystem` wraps stock LlamaIndex. Both
read article texts from the same store, so spans are comparable.
"""

from __future__ import annotations

from datetime import date
from typing import Any, Protocol

from evals.loaders import EvalItem
from evals.scoring import Prediction
from evals.stores import EvalStore


class System(Protocol):
    name: str

    def predict(self, item: EvalItem) -> Prediction: ...

    def close(self) -> None: ...


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
            as_of = date.fromisoformat(item.as_of) if item.as_of else None
            ans = self.engine.ask(item.question, top_k=self.k, as_of=as_of)
        except Exception as e:
            return Prediction(answer="", abstained=False, error=f"{type(e).__name__}: {e}")
        timings = {k: float(v) for k, v in (ans.timings or {}).items() if isinstance(v, (int, float))}
        if "total_s" in timings:
            timings.setdefault("first_token_s", timings["total_s"])
        return Prediction(
            answer=ans.text,
            abstained=bool(ans.abstained),
            citations=[_citation(c) for c in ans.citations],
            retrieved=[_passage(p) for p in ans.retrieved[: self.k]],  # the retrieval this answer used
            timings=timings,
            mode=str(getattr(ans, "mode", "")),
            features=dict(ans.features),
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
