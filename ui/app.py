"""The citewire Gradio app: layout, event wiring and a safe `launch`.

`citewire ui` calls `launch(settings, host, port, auth, insecure)`. The engine is opened once per
process and shared by every browser session; each session has its own chat history.

Example:
    >>> from citewire.settings import Settings
    >>> from ui.app import launch
    >>> launch(Settings(), port=7860)          # blocks; open http://127.0.0.1:7860
"""

from __future__ import annotations

import ipaddress
import logging
import os
from pathlib import Path
from typing import Any

import gradio as gr

from citewire.settings import RISKS, Settings

from . import render
from .chat import ALL_SOURCES, ChatController, Conversation, max_top_k
from .library import ALLOWED_EXTENSIONS, TABLE_HEADERS, LibraryController, picker_types

log = logging.getLogger(__name__)

HERE = Path(__file__).resolve().parent
AUTH_ENV = "CITEWIRE_UI_AUTH"


# -- security -------------------------------------------------------------------------------------
def is_loopback(host: str) -> bool:
    """True for addresses only this machine can reach (127.0.0.0/8, ::1, localhost).

    Example:
        >>> is_loopback("127.0.0.1"), is_loopback("0.0.0.0")
        (True, False)
    """
    h = (host or "").strip().strip("[]").lower()
    if h == "localhost":
        return True
    try:
        return ipaddress.ip_address(h).is_loopback
    except ValueError:
        return False


def parse_auth(value: str | None) -> tuple[str, str] | None:
    """Parse ``user:pass`` credentials; None when unset; ValueError when malformed.

    Example:
        >>> parse_auth("reader:s3cret")
        ('reader', 's3cret')
    """
    if value is None or not str(value).strip():
        return None
    user, sep, password = str(value).strip().partition(":")
    if not sep or not user or not password:
        raise ValueError("UI auth must look like user:password (from --auth or CITEWIRE_UI_AUTH)")
    return user, password


def resolve_server(settings: Settings, host: str | None, port: int | None, auth: str | None,
                   insecure: bool) -> tuple[str, int, tuple[str, str] | None]:
    """Decide host, port and credentials; refuse to expose the app beyond this machine without
    auth unless `insecure` is set.

    Example:
        >>> resolve_server(Settings(), "0.0.0.0", 7860, None, insecure=False)
        Traceback (most recent call last):
        ValueError: refusing to serve on 0.0.0.0 without authentication ...
    """
    host = host or settings.ui.host
    port = int(port if port is not None else settings.ui.port)
    credentials = parse_auth(auth or os.environ.get(AUTH_ENV) or settings.ui.auth)
    if not is_loopback(host) and credentials is None and not insecure:
        raise ValueError(
            f"refusing to serve on {host} without authentication: anyone on the network could read "
            f"your articles. Pass --auth user:password (or set {AUTH_ENV}), or --insecure to "
            "allow it anyway."
        )
    if not is_loopback(host) and credentials is None:
        log.warning("serving on %s WITHOUT authentication (--insecure)", host)
    return host, port, credentials


# -- layout -------------------------------------------------------------------------------------------
def backend_description(settings: Settings) -> str:
    """Markdown describing the configured LLM backend, model file and server URL.

    Example:
        >>> backend_description(Settings())
        '**LLM backend:** llama.cpp smollm2-135m-instruct.gguf'
    """
    from rag.llm import describe

    llm = settings.llm
    parts = [f"**LLM backend:** {render.esc(describe(llm))}"]
    if llm.backend == "llamacpp" and llm.model_path:
        parts.append(f"model file: `{llm.model_path}`")
    if llm.backend == "openai":
        parts.append(f"server: `{llm.base_url or 'not set'}` · model: `{llm.model}`")
    return " · ".join(parts)


def assets() -> dict[str, Any]:
    """The app's CSS, as `launch()` keyword arguments (gradio 6 takes app-level CSS there).

    Example:
        >>> sorted(assets())
        ['css']
    """
    return {"css": (HERE / "style.css").read_text(encoding="utf-8")}


def panel_script() -> str:
    """The side panel's ``js_on_load``: citation clicks become the panel's ``click`` event.

    Example:
        >>> "trigger" in panel_script()
        True
    """
    return (HERE / "citations.js").read_text(encoding="utf-8")


def build_app(engine: Any, settings: Settings) -> gr.Blocks:
    """Build the Blocks app around an open engine (does not launch it).

    Example:
        >>> demo = build_app(Engine.open(home="/tmp/cw"), Settings(home="/tmp/cw"))
        >>> demo.queue().launch(**assets())
    """
    chat = ChatController(engine, settings)
    lib = LibraryController(engine, settings)
    private: dict[str, Any] = {"api_visibility": "private"}

    with gr.Blocks(title="citewire", fill_width=True) as demo:
        conv = gr.State(Conversation())
        gr.Markdown("## citewire — ask the news, see the sources")
        with gr.Tabs():
            with gr.Tab("Ask", id="ask"), gr.Row(equal_height=False):
                with gr.Column(scale=3):
                    chatbot = gr.Chatbot(
                        label="Conversation", elem_id="cw-chat", height=560, latex_delimiters=[],
                        sanitize_html=True, feedback_options=None, buttons=["copy", "copy_all"],
                        placeholder="Ask about the ingested articles. Every claim cites its source: "
                        "hover a marker like [1] to see the quote, click it to open the article.",
                    )
                    with gr.Row():
                        question = gr.Textbox(
                            show_label=False, placeholder="e.g. How many drones and missiles did Russia launch?",
                            elem_id="cw-question", scale=5, lines=1, max_lines=6, autofocus=True,
                        )
                        ask_btn = gr.Button("Ask", variant="primary", elem_id="cw-ask", scale=1, min_width=80)
                    clear_btn = gr.Button("New conversation", elem_id="cw-clear", size="sm")
                    with gr.Accordion("Filters & settings", open=False):
                        with gr.Row():
                            source = gr.Dropdown(chat.sources(), value=ALL_SOURCES, label="Source",
                                                 elem_id="cw-source")
                            since = gr.Textbox(label="Since", placeholder="YYYY-MM-DD", elem_id="cw-since")
                            until = gr.Textbox(label="Until", placeholder="YYYY-MM-DD", elem_id="cw-until")
                            as_of = gr.Textbox(label="As of", placeholder="YYYY-MM-DD (empty: today)",
                                               elem_id="cw-as-of",
                                               info='the date "yesterday" and "this week" refer to')
                        top_k = gr.Slider(1, max_top_k(settings), value=settings.retrieval.top_k,
                                          step=1, label="Passages retrieved (top_k)", elem_id="cw-topk")
                        risk = gr.Radio(list(RISKS), value=settings.retrieval.risk, label="Answer readiness",
                                        elem_id="cw-risk",
                                        info="cautious: fewer, surer answers; eager: more answers, more of them "
                                             "wrong; balanced: the calibrated default")
                        gr.Markdown(backend_description(settings), elem_id="cw-backend")
                with gr.Column(scale=2):
                    panel = gr.HTML(render.render_panel_placeholder(), label="Source article",
                                    elem_id="cw-panel", js_on_load=panel_script())

            with gr.Tab("Library", id="library"):
                table = gr.Dataframe(value=lib.table(), headers=TABLE_HEADERS, interactive=False,
                                     wrap=True, elem_id="cw-articles", label="Ingested articles")
                with gr.Row():
                    with gr.Column():
                        uploads = gr.File(label=f"Add articles ({' '.join(sorted(ALLOWED_EXTENSIONS))}; "
                                          f"max {settings.ui.max_upload_mb} MB each)",
                                          file_count="multiple", file_types=picker_types(),
                                          type="filepath", elem_id="cw-upload")
                        ingest_btn = gr.Button("Ingest uploaded files", variant="primary", elem_id="cw-ingest")
                    with gr.Column():
                        remove_choice = gr.Dropdown(lib.choices(), value=None, label="Remove an article",
                                                    elem_id="cw-remove-choice")
                        remove_btn = gr.Button("Remove", variant="stop", elem_id="cw-remove")
                        refresh_btn = gr.Button("Refresh", size="sm", elem_id="cw-refresh")
                lib_status = gr.Markdown(elem_id="cw-lib-status")

        # chat: streamed answers, per-session history
        ask_inputs = [question, conv, source, since, until, top_k, as_of, risk]
        ask_outputs = [chatbot, conv, question]
        question.submit(chat.respond, ask_inputs, ask_outputs, **private)
        ask_btn.click(chat.respond, ask_inputs, ask_outputs, **private)
        clear_btn.click(chat.clear, None, [chatbot, conv, panel], **private)
        chatbot.clear(chat.clear, None, [chatbot, conv, panel], **private)  # the chatbot's own trash icon
        # citation markers -> side panel (citations.js turns a marker click into panel.click)
        panel.click(chat.open_citation_event, None, panel, **private)

        # library
        def ingest(files: list[str] | None, progress: gr.Progress = gr.Progress()) -> tuple[Any, ...]:  # noqa: B008
            status, table_update, choices_update = lib.ingest_uploads(files, progress)
            return status, table_update, choices_update, None

        ingest_btn.click(ingest, uploads, [lib_status, table, remove_choice, uploads], **private).then(
            chat.refresh_sources, source, source, **private)
        remove_btn.click(lib.remove, remove_choice, [lib_status, table, remove_choice], **private).then(
            chat.refresh_sources, source, source, **private)
        refresh_btn.click(lib.refresh, None, [table, remove_choice], **private).then(
            chat.refresh_sources, source, source, **private)
        demo.load(lib.refresh, None, [table, remove_choice], **private).then(
            chat.refresh_sources, source, source, **private)

        # API: gradio_client.Client(url).predict("question", api_name="/ask")
        gr.api(chat.api_ask, api_name="ask")
    return demo


# -- launch ------------------------------------------------------------------------------------------
def launch(settings: Settings | None = None, host: str | None = None, port: int | None = None,
           auth: str | None = None, insecure: bool = False, *, engine: Any = None,
           block: bool = True, quiet: bool = False) -> gr.Blocks:
    """Serve the chat UI (default http://127.0.0.1:7860). Opens the engine once unless given one.

    Raises ValueError when asked to listen beyond localhost without auth (and not `insecure`).
    With ``block=False`` it returns right after the server starts (``demo.local_url`` has the URL).

    Example:
        >>> launch(Settings(home="/tmp/cw"), port=7861, auth="reader:s3cret")
    """
    settings = settings or Settings()
    host, port, credentials = resolve_server(settings, host, port, auth, insecure)
    if engine is None:
        from rag import Engine

        engine = Engine.open(settings=settings)
    settings.uploads_path.mkdir(parents=True, exist_ok=True)
    demo = build_app(engine, settings)
    demo.queue(default_concurrency_limit=max(1, int(settings.ui.concurrency)))
    kwargs: dict[str, Any] = {
        "server_name": host,
        "server_port": port,
        "auth": credentials,
        "max_file_size": f"{int(settings.ui.max_upload_mb)}mb",
        "prevent_thread_lock": not block,
        "quiet": quiet,
        "show_error": True,
        "inbrowser": False,
        "share": False,
        **assets(),  # gradio 6 takes app-level css in launch()
    }
    log.info("citewire UI on http://%s:%d (auth: %s)", host, port, "on" if credentials else "off")
    demo.launch(**kwargs)
    return demo
