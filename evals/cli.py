"""`citewire eval`: command-line options and entry point (the main CLI mounts these).

Usage:
    citewire eval --list
    citewire eval seed --compare
    citewire eval jsonl --data my.jsonl [--corpus articles/ ...]
    citewire eval realtimeqa --data ../shared/data/realtimeqa-2024 --weeks 4 --limit 100
    citewire eval clapnq --data ../shared/data/clapnq/dev-a.jsonl --limit 60 --compare
    citewire eval seed --compare --llm qwen2.5-coder-0.5b          # the same model for both engines
    citewire eval seed --compare --llm-base-url http://127.0.0.1:11434/v1 --llm-model qwen2.5:7b-instruct
"""

from __future__ import annotations

import argparse
import shlex
import sys
from datetime import datetime
from pathlib import Path

from citewire.settings import LLMSettings, Settings
from evals.loaders import SUITES, load_suite
from evals.report import summary_table


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the eval options to an existing (sub)parser."""
    parser.add_argument("suite", nargs="?", choices=sorted(SUITES), metavar="SUITE",
                        help=f"suite to run: {', '.join(SUITES)} (see --list)")
    parser.add_argument("--list", action="store_true", help="list the suites and exit")
    parser.add_argument("--data", help="suite data: a jsonl file (jsonl, clapnq) or the realtimeqa folder")
    parser.add_argument("--corpus", nargs="+", type=Path, metavar="PATH",
                        help="jsonl suite: ingest these files/folders into a fresh eval store (default: current store)")
    parser.add_argument("--engine", choices=["citewire", "baseline"], default="citewire",
                        help="engine to evaluate (baseline: stock LlamaIndex CitationQueryEngine over Chroma)")
    parser.add_argument("--compare", action="store_true", help="run citewire and the baseline on the same questions")
    parser.add_argument("--limit", type=int, help="evaluate a sample of N questions (deterministic for --seed)")
    parser.add_argument("--seed", type=int, default=0, help="sampling seed (default 0)")
    parser.add_argument("--weeks", help="realtimeqa: N weeks sampled with --seed, or a comma list like 20240105,20240112")
    parser.add_argument("--split", choices=["calib", "report", "all"], default="all",
                        help="realtimeqa, clapnq: calib = odd weeks / one fixed half by id hash (fit the answer policy "
                             "there), report = even weeks / the other half (publish figures from there), all")
    parser.add_argument("--multiple-choice", action="store_true", help="realtimeqa: give the choices in the question")
    parser.add_argument("--max-articles", type=int, metavar="N",
                        help="realtimeqa, clapnq: cap the store at N articles (the sampled questions' own first): quick runs")
    parser.add_argument("--top-k", type=int, help="chunks retrieved (and scored for hit@k); default retrieval.top_k")
    parser.add_argument("--extractive", action="store_true", help="citewire without an LLM (llm.backend=none): fast")
    parser.add_argument("--llm", metavar="NAME|PATH",
                        help="the LLM for both engines: a model from `citewire models` (pulled) or any GGUF file")
    parser.add_argument("--llm-base-url", metavar="URL",
                        help="an OpenAI-compatible server for both engines (vLLM, Ollama, llama.cpp server)")
    parser.add_argument("--llm-model", metavar="M", help="with --llm-base-url: the model name the server serves")
    parser.add_argument("--rebuild", action="store_true", help="re-ingest the eval store even if a matching one exists")
    parser.add_argument("--out", type=Path, help="report folder (default: <home>/evals/<time>-<suite>)")
    parser.add_argument("--failures", type=int, default=8, help="worst failures shown per engine in report.md")
    parser.add_argument("--no-progress", action="store_true", help="no progress bars")


def list_suites() -> str:
    width = max(map(len, SUITES))
    return "\n".join(f"{name:<{width}}  {desc}" for name, desc in SUITES.items())


def default_out(settings: Settings, suite: str) -> Path:
    base = settings.home / "evals" / f"{datetime.now():%Y%m%d-%H%M%S}-{suite}"
    out, i = base, 1
    while out.exists():
        i += 1
        out = base.with_name(f"{base.name}-{i}")
    return out


def llm_override(cfg: LLMSettings, args: argparse.Namespace) -> LLMSettings | None:
    """The LLM settings `--llm` / `--llm-base-url` / `--llm-model` ask for (None: keep the configured one),
    checked up front so that a missing model fails the run instead of turning every answer extractive."""
    name, url, model = getattr(args, "llm", None), getattr(args, "llm_base_url", None), getattr(args, "llm_model", None)
    if not (name or url or model):
        return None
    if getattr(args, "extractive", False):
        raise ValueError("--extractive runs without an LLM; drop --llm/--llm-base-url/--llm-model")
    if name and (url or model):
        raise ValueError("--llm (an in-process GGUF) and --llm-base-url/--llm-model (a server) exclude each other")
    from rag.errors import LLMUnavailableError
    from rag.llm import model_file

    if name:
        is_path = name.lower().endswith(".gguf") or Path(name).expanduser().is_file()
        path = str(Path(name).expanduser()) if is_path else None
        new = cfg.model_copy(update={"backend": "llamacpp", "model_path": path, "model": "local" if is_path else name})
        try:
            model_file(new)
        except LLMUnavailableError as e:
            raise ValueError(f"--llm {name}: {e}") from None
        return new
    base_url = url or (cfg.base_url if cfg.backend == "openai" else None)
    if not base_url:
        raise ValueError("--llm-model needs --llm-base-url URL (or llm.backend=openai with llm.base_url configured)")
    return cfg.model_copy(update={"backend": "openai", "base_url": base_url, "model": model or cfg.model})


def run(args: argparse.Namespace, settings: Settings) -> int:
    """Run `citewire eval` with parsed `args`; returns the exit code."""
    if getattr(args, "list", False):
        print(list_suites())
        return 0
    if not args.suite:
        print("citewire eval: name a suite (citewire eval --list)", file=sys.stderr)
        return 2
    updates: dict[str, object] = {}
    if args.top_k:
        updates["retrieval"] = settings.retrieval.model_copy(update={"top_k": args.top_k})
    if args.extractive:
        if args.compare or args.engine == "baseline":
            print("citewire eval: --extractive has no LLM for the baseline; drop --compare/--engine baseline", file=sys.stderr)
            return 2
        updates["llm"] = settings.llm.model_copy(update={"backend": "none"})
    try:
        llm = llm_override(settings.llm, args)
    except ValueError as e:
        print(f"citewire eval: {e}", file=sys.stderr)
        return 2
    if llm is not None:
        updates["llm"] = llm
    if updates:
        settings = settings.model_copy(update=updates)
    engines = ["citewire", "baseline"] if args.compare else [args.engine]
    try:
        suite = load_suite(args.suite, data=args.data, corpus=args.corpus, limit=args.limit, seed=args.seed,
                           weeks=args.weeks, multiple_choice=args.multiple_choice, max_articles=args.max_articles,
                           split=args.split)
    except (ValueError, FileNotFoundError) as e:
        print(f"citewire eval: {e}", file=sys.stderr)
        return 2
    if not suite.items:
        print(f"citewire eval: suite {suite.name!r} has no questions with these options", file=sys.stderr)
        return 2
    from evals.runner import run_suite

    out = args.out or default_out(settings, suite.name)
    command = getattr(args, "command_line", None) or "citewire " + " ".join(shlex.quote(a) for a in _argv_tail())
    try:
        results, paths = run_suite(suite, settings, engines, out, k=args.top_k, rebuild=args.rebuild,
                                   show_progress=not args.no_progress, n_failures=args.failures, command=command)
    except Exception as e:
        from rag.errors import CitewireError

        if isinstance(e, (CitewireError, ValueError, FileNotFoundError, RuntimeError)):
            print(f"citewire eval: {type(e).__name__}: {e}", file=sys.stderr)
            return 1
        raise
    print(summary_table(results["summary"]))
    llm = results["meta"].get("llm", {})
    print(f"\nLLM (both engines): {llm.get('name')} via {llm.get('backend')}"
          + (f", sha256 {llm['sha256'][:16]}…" if llm.get("sha256") else ""))
    print(f"\nreport: {paths['report']}\nresults: {paths['results']}")
    sv = results["summary"].get("citewire", {}).get("span_validity")
    if sv is not None and sv < 1.0:
        print(f"WARNING: citewire span validity {sv:.3f} < 1.0 (a quote differs from the article text)", file=sys.stderr)
    return 0


def _argv_tail() -> list[str]:
    """The command line after the program name when it is a `citewire ... eval ...` call (global options
    such as --home included), else nothing (e.g. under pytest)."""
    argv = sys.argv[1:]
    return argv if "eval" in argv else ["eval"]


def main(argv: list[str] | None = None) -> int:
    """Stand-alone entry point (``python -m evals``) for when the main CLI is not wired."""
    from citewire.settings import offline_env

    offline_env()
    parser = argparse.ArgumentParser(prog="citewire eval", description="Evaluate citewire against a suite.")
    parser.add_argument("--home", type=Path, help="data home (default: the configured one)")
    add_arguments(parser)
    args = parser.parse_args(argv)
    args.command_line = "python -m evals " + " ".join(shlex.quote(a) for a in (argv if argv is not None else sys.argv[1:]))
    settings = Settings(home=args.home) if args.home else Settings()
    return run(args, settings)
