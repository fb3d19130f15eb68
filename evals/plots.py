"""PNG plots of an eval run (matplotlib, Agg backend: no display needed)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

COLORS = {"citewire": "#1f6feb", "baseline": "#9a6700"}
QUALITY = [
    ("answer_accuracy", "answer accuracy"),
    ("answer_f1", "answer token F1"),
    ("retrieval_hit_at_k", "retrieval hit@k"),
    ("retrieval_recall_at_k", "retrieval recall@k"),
    ("retrieval_mrr", "retrieval MRR"),
    ("citation_precision", "citation precision"),
    ("citation_recall", "citation recall"),
    ("citation_char_precision", "cited chars in evidence"),
    ("span_validity", "span validity"),
    ("abstention_f1", "abstention F1"),
    ("answer_rate", "answer rate (answerable)"),
]
STAGES = [("retrieval_s", "retrieval"), ("first_token_s", "first token"), ("total_s", "total")]


def _color(engine: str, i: int) -> str:
    return COLORS.get(engine, f"C{i}")


def plot_metrics(summary: dict[str, dict[str, Any]], path: Path, title: str = "") -> Path:
    """Grouped horizontal bars: one group per quality metric (0..1), one bar per engine."""
    engines = list(summary)
    metrics = [(k, label) for k, label in QUALITY if any(summary[e].get(k) is not None for e in engines)]
    fig, ax = plt.subplots(figsize=(8, 0.55 * max(len(metrics), 1) * max(len(engines), 1) + 1.4))
    h = 0.8 / max(len(engines), 1)
    for i, e in enumerate(engines):
        ys = [j + i * h for j in range(len(metrics))]
        vals = [summary[e].get(k) for k, _ in metrics]
        ax.barh(ys, [v if v is not None else 0 for v in vals], height=h, color=_color(e, i), label=e)
        for y, v in zip(ys, vals):
            ax.text((v or 0) + 0.01, y, "n/a" if v is None else f"{v:.2f}", va="center", fontsize=7)
    ax.set_yticks([j + h * (len(engines) - 1) / 2 for j in range(len(metrics))])
    ax.set_yticklabels([label for _, label in metrics])
    ax.invert_yaxis()
    ax.set_xlim(0, 1.12)
    ax.set_xlabel("score (higher is better)")
    ax.set_title(title or "quality metrics")
    ax.legend(loc="lower right")
    ax.grid(axis="x", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def plot_latency(rows: Sequence[dict[str, Any]], engines: Sequence[str], path: Path, title: str = "") -> Path:
    """Box plots of per-question latency per stage and engine."""
    fig, axes = plt.subplots(1, len(STAGES), figsize=(4 * len(STAGES), 3.6))
    for ax, (key, label) in zip(axes, STAGES):
        data, labels, colors = [], [], []
        for i, e in enumerate(engines):
            vals = [r["timings"][key] for r in rows if r["engine"] == e and r["timings"].get(key) is not None]
            data.append(vals or [float("nan")])
            labels.append(e)
            colors.append(_color(e, i))
        bp = ax.boxplot(data, patch_artist=True, showfliers=True)
        ax.set_xticks(range(1, len(labels) + 1), labels)
        for patch, c in zip(bp["boxes"], colors):
            patch.set_facecolor(c)
            patch.set_alpha(0.6)
        ax.set_title(label)
        ax.set_ylabel("seconds")
        ax.grid(axis="y", alpha=0.3)
    fig.suptitle(title or "latency per question")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def plot_outcomes(rows: Sequence[dict[str, Any]], engines: Sequence[str], path: Path, title: str = "") -> Path:
    """Stacked bars of outcomes: answerable (correct / wrong / abstained), unanswerable
    (abstained / answered)."""
    cats = [
        ("answerable: correct", "#2da44e"),
        ("answerable: wrong", "#cf222e"),
        ("answerable: abstained", "#bf8700"),
        ("unanswerable: abstained", "#54aeff"),
        ("unanswerable: answered", "#8250df"),
    ]
    counts = {e: dict.fromkeys((c for c, _ in cats), 0) for e in engines}
    for r in rows:
        s = r["scores"]
        if s["answerable"]:
            ok = s["answer_correct"] if s["answer_correct"] is not None else s.get("citation_recall")  # evidence-only gold
            c = "answerable: abstained" if s["abstained"] else ("answerable: correct" if ok else "answerable: wrong")
        else:
            c = "unanswerable: abstained" if s["abstained"] else "unanswerable: answered"
        counts[r["engine"]][c] += 1
    fig, ax = plt.subplots(figsize=(7, 1.2 + 0.6 * len(engines)))
    left = [0] * len(engines)
    for c, color in cats:
        vals = [counts[e][c] for e in engines]
        ax.barh(list(engines), vals, left=left, color=color, label=c)
        left = [a + b for a, b in zip(left, vals)]
    ax.invert_yaxis()
    ax.set_xlabel("questions")
    ax.set_title(title or "outcomes")
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    fig.savefig(path, dpi=110, bbox_inches="tight")
    plt.close(fig)
    return path


def write_plots(results: dict[str, Any], out: Path) -> list[Path]:
    engines = list(results["summary"])
    title = f"{results['suite']} ({results['summary'][engines[0]]['n_questions']} questions)" if engines else results["suite"]
    return [
        plot_metrics(results["summary"], out / "metrics.png", title=f"quality: {title}"),
        plot_latency(results["rows"], engines, out / "latency.png", title=f"latency: {title}"),
        plot_outcomes(results["rows"], engines, out / "outcomes.png", title=f"outcomes: {title}"),
    ]
