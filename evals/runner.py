"""Run a suite against one or more engines on the same questions and write the report.

Example:
    >>> from evals.loaders import load_suite
    >>> from evals.runner import run_suite
    >>> results, paths = run_suite(load_suite("seed", limit=5), Settings(home="/tmp/cw"), ["citewire"], Path("/tmp/out"))
    >>> results["summary"]["citewire"]["answer_accuracy"]
"""

from __future__ import annotations

import json
import random
import time
from datetime import datetime
from pathlib import Path
from typing import Any

from tqdm.auto import tqdm

from citewire.settings import Settings
from evals.loaders import EvalItem, Suite
from evals.report import write_report
from evals.scoring import Prediction, score_item, summarize
from evals.stores import ArticleTexts, prepare_store
from evals.systems import System, make_system

ENGINES = ("citewire", "baseline")
PARTIAL = "rows.partial.jsonl"


def public_settings(settings: Settings) -> dict[str, Any]:
    """The settings for the report, without secrets."""
    d = settings.model_dump(mode="json")
    if d.get("ui", {}).get("auth"):
        d["ui"]["auth"] = "***"
    return d


def llm_record(settings: Settings) -> dict[str, Any]:
    """The model both engines ran: backend, name and, for a GGUF, its path, size and sha256 (cached
    by path+size+mtime, so a 0.5-1 GB file is hashed once, not every run)."""
    from rag.llm import model_record

    return model_record(settings.llm)


def make_row(engine: str, item: EvalItem, pred: Prediction, scores: dict[str, Any]) -> dict[str, Any]:
    return {
        "engine": engine,
        "id": item.id,
        "question": item.question,
        "gold": item.gold(),
        "answer": pred.answer,
        "abstained": pred.abstained,
        "mode": pred.mode,
        "error": pred.error,
        "citations": pred.citations,
        "retrieved": pred.retrieved,
        "scores": scores,
        "timings": pred.timings,
        "features": pred.features,
    }


def run_suite(
    suite: Suite,
    settings: Settings,
    engines: list[str] | tuple[str, ...],
    out: Path,
    k: int | None = None,
    rebuild: bool = False,
    show_progress: bool = True,
    n_failures: int = 8,
    command: str = "",
    plots: bool = True,
) -> tuple[dict[str, Any], dict[str, Path]]:
    """Ask every question of `suite` to each engine, score, and write the report into `out`."""
    for e in engines:
        if e not in ENGINES:
            raise ValueError(f"unknown engine {e!r}; choose from {', '.join(ENGINES)}")
    seed = int(suite.params.get("seed") or 0)
    random.seed(seed)
    try:
        import numpy as np

        np.random.seed(seed)
    except ImportError:  # pragma: no cover - numpy comes with the engine
        pass
    started = datetime.now().astimezone().isoformat(timespec="seconds")
    t0 = time.perf_counter()
    store = prepare_store(suite.corpus, settings, rebuild=rebuild, show_progress=show_progress)
    k = k or settings.retrieval.top_k
    texts = ArticleTexts(store)
    if not texts.ids_and_hashes():
        texts.close()
        raise RuntimeError(f"the store at {store.settings.home} holds no articles: ingest some, or pass --corpus PATH")
    rows: list[dict[str, Any]] = []
    systems: list[System] = []
    try:
        for name in engines:
            systems.append(make_system(name, store, k, show_progress=show_progress))
        # engines take turns on each question, so that both see the same machine load over time
        per_engine: dict[str, list[dict[str, Any]]] = {name: [] for name in engines}
        out.mkdir(parents=True, exist_ok=True)
        partial = out / PARTIAL  # rows as they come: inspect a long run, keep what an interrupted one did
        bar = tqdm(total=len(suite.items) * len(systems), desc=" + ".join(engines), unit="answer", disable=not show_progress)
        with partial.open("w", encoding="utf-8") as log:
            for item in suite.items:
                for system in systems:
                    pred = system.predict(item)
                    row = make_row(system.name, item, pred, score_item(item, pred, texts, k))
                    per_engine[system.name].append(row)
                    log.write(json.dumps(row, ensure_ascii=False, default=str) + "\n")
                    log.flush()
                    bar.update(1)
        bar.close()
        rows = [r for name in engines for r in per_engine[name]]
    finally:
        for system in systems:
            system.close()
        texts.close()
    summary = {name: summarize([r for r in rows if r["engine"] == name]) for name in engines}
    results = {
        "suite": suite.name,
        "settings": public_settings(settings),
        "summary": summary,
        "rows": rows,
        "meta": {
            "command": command,
            "params": suite.params,
            "seed": seed,
            "k": k,
            "engines": list(engines),
            "corpus": store.info.get("corpus", suite.corpus.description),
            "store": str(store.path) if store.path else "current store",
            "store_reused": store.reused,
            "store_info": {key: v for key, v in store.info.items() if key != "article_ids"},
            "llm": llm_record(settings),
            "started": started,
            "elapsed_s": round(time.perf_counter() - t0, 1),
        },
    }
    paths = write_report(results, out, n_failures=n_failures, plots=plots)
    (out / PARTIAL).unlink(missing_ok=True)
    return results, paths
