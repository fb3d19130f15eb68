"""Write an eval run to disk: ``results.json``, ``report.md`` and the PNG plots."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from evals.scoring import METRICS, failure_kind, failure_rank

DEFINITIONS = """\
- **answer_accuracy**: answerable questions whose answer contains a gold answer (normalized: case,
  accents, quotes, punctuation, a/an/the; multiple choice: the gold choice and no other); abstaining counts
  as wrong. **answer_f1**: SQuAD token F1 against the best gold answer.
- **retrieval_hit_at_k / recall_at_k / mrr**: a retrieved chunk is relevant when it overlaps a gold evidence
  quote by at least half of the shorter span (or contains a gold answer when the suite has no evidence).
- **citation_precision**: share of an answer's citations that contain a gold answer or overlap gold
  evidence; **citation_recall**: share of the gold evidence quotes that are cited (ALCE-style; an
  answer without citations scores 0). **citation_char_precision**: share of cited characters inside gold
  evidence (penalizes citing whole pages). **span_validity**: citations whose quote equals the article
  text at their offsets (must be 1.0).
- **abstention_precision / recall / f1**: abstaining as a detector of unanswerable questions;
  **answer_rate**: answerable questions that were answered.
- **latency_*_p50_s / p95_s**: per-question seconds (retrieval, first token, total)."""


def _fmt(metric: str, v: Any) -> str:
    if v is None:
        return "–"
    if metric.startswith("n_"):
        return str(int(v))
    if metric.endswith("_s"):
        return f"{v:.2f}"
    return f"{v:.3f}"


def _delta(metric: str, a: Any, b: Any) -> str:
    if a is None or b is None or metric.startswith("n_"):
        return ""
    d = a - b
    if abs(d) < 1e-12:
        return "0"
    better = (d > 0) == METRICS.get(metric, True)
    return f"{d:+.3f}" + (" ▲" if better else " ▼")


def summary_table(summary: dict[str, dict[str, Any]]) -> str:
    """Markdown table: a metric per row, an engine per column, and citewire − baseline."""
    engines = list(summary)
    compare = "citewire" in engines and "baseline" in engines
    head = ["metric", *engines] + (["Δ citewire − baseline"] if compare else [])
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for m in METRICS:
        if all(summary[e].get(m) is None for e in engines):
            continue
        cells = [m, *(_fmt(m, summary[e].get(m)) for e in engines)]
        if compare:
            cells.append(_delta(m, summary["citewire"].get(m), summary["baseline"].get(m)))
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _clip(s: str, n: int = 300) -> str:
    s = " ".join((s or "").split())
    return s if len(s) <= n else s[: n - 1] + "…"


def failures(rows: Sequence[dict[str, Any]], engine: str, n: int) -> list[dict[str, Any]]:
    ranked = [(failure_rank(r), i, r) for i, r in enumerate(rows) if r["engine"] == engine]
    return [r for rank, _, r in sorted((x for x in ranked if x[0] is not None), key=lambda x: (x[0], x[1]))][:n]


def failure_md(r: dict[str, Any]) -> str:
    g, s = r["gold"], r["scores"]
    out = [f"#### `{r['id']}` — {failure_kind(r)}", "", f"**Q:** {_clip(r['question'], 400)}", ""]
    if g.get("answerable"):
        out.append(f"**Gold:** {'; '.join(_clip(a, 200) for a in g.get('answers', [])) or '–'}")
    else:
        out.append("**Gold:** unanswerable from the corpus (should abstain)")
    out.append("")
    answer = "*(abstained)* " + _clip(r["answer"], 300) if r["abstained"] else _clip(r["answer"], 500)
    if r.get("error"):
        answer = f"*(error)* `{_clip(r['error'], 300)}`"
    out += [f"**Answer:** {answer}", ""]
    sc = {k: s.get(k) for k in ("answer_f1", "retrieval_hit_at_k", "citation_precision", "citation_recall") if s.get(k) is not None}
    if sc:
        out += ["scores: " + ", ".join(f"{k}={v:.2f}" for k, v in sc.items()), ""]
    for q in g.get("evidence", [])[:3]:
        out.append(f"> gold evidence: {_clip(q, 300)}")
    if g.get("evidence"):
        out.append("")
    for c in r["citations"][:4]:
        out.append(f"- cited [{c.get('n', '?')}] `{c['article_id']}` {c['start']}–{c['end']}: “{_clip(c['quote'], 240)}”")
    if not r["citations"] and r["retrieved"]:
        p = r["retrieved"][0]
        out.append(f"- top retrieved `{p['article_id']}` {p['start']}–{p['end']}: “{_clip(p['quote'], 240)}”")
    out.append("")
    return "\n".join(out)


def render_markdown(results: dict[str, Any], n_failures: int = 8) -> str:
    engines = list(results["summary"])
    meta = results.get("meta", {})
    lines = [
        f"# citewire eval: {results['suite']}",
        "",
        f"- command: `{meta.get('command', '')}`",
        f"- corpus: {meta.get('corpus', '')}",
        f"- questions: {results['summary'][engines[0]]['n_questions'] if engines else 0}, seed {meta.get('seed')}, k = {meta.get('k')}",
        f"- engines: {', '.join(engines)}; LLM backend: {results['settings'].get('llm', {}).get('backend')}",
        f"- started {meta.get('started', '')}, took {meta.get('elapsed_s', 0):.0f} s (store: {meta.get('store', '')})",
        *([f"- note: {meta['params']['note']}"] if meta.get("params", {}).get("note") else []),
        "",
        "## Summary",
        "",
        summary_table(results["summary"]),
        "",
        "![quality metrics](metrics.png)",
        "",
        "![outcomes](outcomes.png)",
        "",
        "![latency](latency.png)",
        "",
        "## Metrics",
        "",
        DEFINITIONS,
        "",
    ]
    for e in engines:
        fl = failures(results["rows"], e, n_failures)
        lines += [f"## Worst failures: {e}", ""]
        lines += [failure_md(r) for r in fl] if fl else ["none", ""]
    return "\n".join(lines) + "\n"


def write_report(results: dict[str, Any], out: Path, n_failures: int = 8, plots: bool = True) -> dict[str, Path]:
    """Write results.json, report.md and plots into `out` (created); return their paths."""
    out.mkdir(parents=True, exist_ok=True)
    paths = {"results": out / "results.json", "report": out / "report.md"}
    paths["results"].write_text(json.dumps(results, indent=1, ensure_ascii=False, default=str) + "\n", encoding="utf-8")
    if plots:
        from evals.plots import write_plots

        for p in write_plots(results, out):
            paths[p.stem] = p
    paths["report"].write_text(render_markdown(results, n_failures), encoding="utf-8")
    return paths
