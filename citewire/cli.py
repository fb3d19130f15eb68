"""The `citewire` command line: ingest, inspect, ask, chat, ui, eval, config.

Errors print as one line (`citewire: error: ...`) with a nonzero exit code, never a traceback
(set CITEWIRE_DEBUG=1 to see one).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from pathlib import Path
from typing import Any

from .settings import Settings, config_file, offline_env

log = logging.getLogger("citewire")


def _settings(args: argparse.Namespace) -> Settings:
    overrides: dict[str, Any] = {}
    if getattr(args, "home", None):
        overrides["home"] = args.home
    return Settings(**overrides)


def _engine(args: argparse.Namespace):  # type: ignore[no-untyped-def]
    from rag import Engine

    return Engine.open(settings=_settings(args))


def _print_json(obj: Any) -> None:
    sys.stdout.write(json.dumps(obj, ensure_ascii=False, indent=2) + "\n")


def cmd_ingest(args: argparse.Namespace) -> int:
    from ingest import FieldMap

    eng = _engine(args)
    fields = FieldMap.parse(args.fields) if args.fields else None
    paths = [Path(p) for p in args.paths]
    if fields is None:
        report = eng.ingest(paths, prune=args.prune, show_progress=not args.quiet)
    else:
        with eng._ingest_lock:
            report = eng.ingestor.ingest(paths, prune=args.prune, fields=fields, show_progress=not args.quiet)
    for origin, reason in report.skipped:
        sys.stderr.write(f"skipped {origin}: {reason}\n")
    for origin, reason in report.failed:
        sys.stderr.write(f"failed  {origin}: {reason}\n")
    if args.json:
        _print_json(report.to_dict())
    else:
        sys.stdout.write(report.summary() + "\n")
    return 0 if report.ok else 1


def cmd_articles(args: argparse.Namespace) -> int:
    rows = _engine(args).articles()
    if args.json:
        _print_json([r.to_dict() for r in rows])
        return 0
    for r in rows:
        sys.stdout.write(f"{r.id}  {r.published or '----------'}  {r.source[:20]:20}  {r.title[:80]}\n")
    sys.stdout.write(f"{len(rows)} article(s)\n")
    return 0


def cmd_article(args: argparse.Namespace) -> int:
    art = _engine(args).article(args.id)
    if args.json:
        _print_json(art.to_dict())
        return 0
    sys.stdout.write(f"{art.title}\n{art.source}  {art.published}  {art.url}\n\n{art.text}\n")
    return 0


def cmd_stats(args: argparse.Namespace) -> int:
    st = _engine(args).stats()
    if args.json:
        _print_json(st)
    else:
        for k, v in st.items():
            sys.stdout.write(f"{k:12} {v}\n")
    return 0


def cmd_config(args: argparse.Namespace) -> int:
    s = _settings(args)
    from rag.llm import describe

    data = json.loads(s.model_dump_json())
    data["config_file"] = str(config_file()) if config_file() else None
    data["llm_description"] = describe(s.llm)
    _print_json(data)
    return 0


def _filters(args: argparse.Namespace) -> dict[str, Any]:
    return {"source": args.source, "since": args.since, "until": args.until}


def _print_answer(ans: Any) -> None:
    sys.stdout.write(f"\n{ans.text}\n")
    for c in ans.citations:
        sys.stdout.write(f"  [{c.n}] {c.title} ({c.source or 'unknown source'}{', ' + c.published if c.published else ''}) "
                         f"chars {c.start}-{c.end}: “{c.quote}”\n")
    for p in ans.related:
        sys.stdout.write(f"  related: {p.title}: “{p.quote[:160]}”\n")


def cmd_ask(args: argparse.Namespace) -> int:
    eng = _engine(args)
    ans = eng.ask(args.question, filters=_filters(args), top_k=args.top_k)
    if args.json:
        _print_json(ans.to_dict())
    else:
        _print_answer(ans)
    return 0


def cmd_chat(args: argparse.Namespace) -> int:
    from rag import AnswerEvent, CitewireError, TokenEvent

    eng = _engine(args)
    history: list[tuple[str, str]] = []
    sys.stdout.write("Ask about the ingested articles (empty line or Ctrl-D to quit).\n")
    while True:
        try:
            q = input("you> ").strip()
        except EOFError:
            break
        if not q:
            break
        try:
            for ev in eng.stream(q, history=history, filters=_filters(args)):
                if isinstance(ev, TokenEvent) and args.show_draft:
                    sys.stdout.write(ev.delta)
                    sys.stdout.flush()
                elif isinstance(ev, AnswerEvent):
                    _print_answer(ev.answer)
                    history.append((q, ev.answer.text))
        except (CitewireError, ValueError) as e:
            sys.stdout.write(f"error: {e}\n")
    return 0


def cmd_ui(args: argparse.Namespace) -> int:
    from ui.app import launch

    launch(_settings(args), host=args.host, port=args.port, auth=args.auth, insecure=args.insecure)
    return 0


def cmd_eval(args: argparse.Namespace) -> int:
    from evals.cli import run

    return int(run(args, _settings(args)))


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="citewire", description="Question answering over news articles with cited spans.")
    p.add_argument("--home", help="data home (default: $CITEWIRE_HOME or ~/.local/share/citewire)")
    p.add_argument("-v", "--verbose", action="store_true", help="log progress details")
    sub = p.add_subparsers(dest="command", required=True)

    s = sub.add_parser("ingest", help="ingest files/folders (no path: the bundled demo corpus)")
    s.add_argument("paths", nargs="*", help=".txt .md .html .json .jsonl .jsonl.gz .pdf files or folders")
    s.add_argument("--prune", action="store_true", help="remove articles whose source files are gone")
    s.add_argument("--fields", help="JSON field mapping, e.g. 'text=body,published=pubDate'")
    s.add_argument("--json", action="store_true", help="print the report as JSON")
    s.add_argument("-q", "--quiet", action="store_true", help="no progress bars")
    s.set_defaults(func=cmd_ingest)

    s = sub.add_parser("articles", help="list ingested articles")
    s.add_argument("--json", action="store_true")
    s.set_defaults(func=cmd_articles)

    s = sub.add_parser("article", help="show one article: text, metadata, sentence spans")
    s.add_argument("id")
    s.add_argument("--json", action="store_true")
    s.set_defaults(func=cmd_article)

    s = sub.add_parser("stats", help="store statistics")
    s.add_argument("--json", action="store_true")
    s.set_defaults(func=cmd_stats)

    s = sub.add_parser("config", help="print the effective settings")
    s.set_defaults(func=cmd_config)

    for name, func, hlp in (("ask", cmd_ask, "answer one question"), ("chat", cmd_chat, "terminal conversation")):
        s = sub.add_parser(name, help=hlp)
        if name == "ask":
            s.add_argument("question")
            s.add_argument("--json", action="store_true", help="print the answer as JSON")
            s.add_argument("--top-k", type=int, default=None, help="retrieved passages")
        else:
            s.add_argument("--show-draft", action="store_true", help="stream the LLM's draft before verification")
        s.add_argument("--source", help="only articles from this source")
        s.add_argument("--since", help="only articles published on/after this date (YYYY-MM-DD)")
        s.add_argument("--until", help="only articles published on/before this date (YYYY-MM-DD)")
        s.set_defaults(func=func)

    s = sub.add_parser("ui", help="start the Gradio chat UI")
    s.add_argument("--host", default=None, help="bind address (default 127.0.0.1)")
    s.add_argument("--port", type=int, default=None, help="port (default 7860)")
    s.add_argument("--auth", default=None, help="user:pass (or CITEWIRE_UI_AUTH); required with --host 0.0.0.0")
    s.add_argument("--insecure", action="store_true", help="allow a public bind without auth")
    s.set_defaults(func=cmd_ui)

    s = sub.add_parser("eval", help="run an evaluation suite")
    try:
        from evals.cli import add_arguments
    except ImportError:  # evals not installed: keep the rest of the CLI working
        add_arguments = None
    if add_arguments is not None:
        add_arguments(s)
    s.set_defaults(func=cmd_eval)
    return p


def main(argv: list[str] | None = None) -> int:
    offline_env()
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    for noisy in ("bm25s", "httpx", "chromadb", "sentence_transformers", "transformers"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        sys.stderr.write("citewire: interrupted\n")
        return 130
    except Exception as e:  # one clear line, no traceback (CITEWIRE_DEBUG=1 shows it)
        if os.environ.get("CITEWIRE_DEBUG"):
            raise
        sys.stderr.write(f"citewire: error: {e}\n")
        return 2


if __name__ == "__main__":
    sys.exit(main())
