"""Chat handlers: streamed answers with follow-ups, citation clicks, and the ``/ask`` API.

One `ChatController` wraps the process-wide `Engine`; each browser session keeps its own
`Conversation` in a ``gr.State``, so several readers can chat at once without seeing each other's
history.

Example:
    >>> ctl = ChatController(engine, settings)
    >>> conv = Conversation()
    >>> for messages, conv, _ in ctl.respond("How many drones?", conv, "", "", "", 8, ""):
    ...     pass
    >>> messages[-1]["content"]          # rendered answer HTML with [n] markers
"""

# No `from __future__ import annotations`: gr.api reads api_ask's return annotation at runtime.
import contextlib
import logging
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import gradio as gr

from citewire.errors import CitewireError
from citewire.settings import Risk
from rag import Filters
from rag.errors import EmptyStoreError, LLMUnavailableError
from rag.policy import parse_risk
from rag.types import Answer, AnswerEvent, StatusEvent, TokenEvent

from . import render

log = logging.getLogger(__name__)

MAX_QUESTION_CHARS = 2000
MAX_SOURCE_CHARS = 300
TOP_K_CAP = 50  # the most passages a request may ask for (or the configured default, if larger)
ALL_SOURCES = "All sources"
# llama.cpp's in-process model (one per process, shared by every Engine) aborts the whole process
# when two threads generate at once, so with the llamacpp backend the UI answers one question at
# a time; other sessions wait with a "waiting for the model" status. Remote backends run in parallel.
_LLAMACPP_GATE = threading.Lock()


@dataclass
class Conversation:
    """One session's chat: (question, answer text) pairs for the engine, and rendered messages.

    Example:
        >>> conv = Conversation()
        >>> conv.pairs          # [] until the first answer
    """

    pairs: list[tuple[str, str]] = field(default_factory=list)
    messages: list[dict[str, str]] = field(default_factory=list)


class QuestionProblem(CitewireError, ValueError):
    """A question or request parameter the UI refuses before calling the engine (the message
    says which input is wrong and what is accepted)."""


def clean_question(question: Any, shorten: bool = True) -> tuple[str, str | None]:
    """Strip and bound a question; returns (question, notice) where notice explains a cut.
    With ``shorten=False`` (the API) an over-long question is refused instead of cut.

    Example:
        >>> clean_question("  hi  ")
        ('hi', None)
    """
    q = " ".join(str(question or "").split())
    if not q:
        raise QuestionProblem("Please type a question first.")
    if len(q) > MAX_QUESTION_CHARS:
        if not shorten:
            raise QuestionProblem(f"The question is {len(q)} characters long; the limit is {MAX_QUESTION_CHARS}. "
                                  "Ask something shorter.")
        return q[:MAX_QUESTION_CHARS], f"Your question was shortened to its first {MAX_QUESTION_CHARS} characters."
    return q, None


_DAY_RE = re.compile(r"\d{4}-\d{2}-\d{2}")


def parse_day(value: Any, name: str) -> date | None:
    """A ``YYYY-MM-DD`` input as a date (None when empty); anything else is refused by name.

    Example:
        >>> parse_day(" 2025-07-04 ", "since")
        datetime.date(2025, 7, 4)
    """
    if isinstance(value, date):
        return value
    text = str(value or "").strip()
    if not text:
        return None
    try:
        if not _DAY_RE.fullmatch(text):
            raise ValueError(text)
        return date.fromisoformat(text)
    except ValueError:
        raise QuestionProblem(f"{name} must be a date like 2025-07-04 (YYYY-MM-DD), got {text[:40]!r}.") from None


def make_filters(source: str | None, since: str | None, until: str | None) -> Filters | None:
    """Validate the filter inputs (``YYYY-MM-DD`` dates) into `Filters`, or None when unset.

    Example:
        >>> make_filters("Associated Press", "2024-01-01", "")
        Filters(source='Associated Press', since=datetime.date(2024, 1, 1), until=None)
    """
    src = " ".join(str(source or "").split())
    if src == ALL_SOURCES:
        src = ""
    if len(src) > MAX_SOURCE_CHARS:
        raise QuestionProblem(f"source is {len(src)} characters long; no source name is longer than "
                              f"{MAX_SOURCE_CHARS}.")
    since_d, until_d = parse_day(since, "since"), parse_day(until, "until")
    try:
        f = Filters.coerce({"source": src or None, "since": since_d, "until": until_d})
    except ValueError as e:
        raise QuestionProblem(f"Filter problem: {e}") from None
    return None if f.is_empty() else f


def max_top_k(settings: Any) -> int:
    """The largest `top_k` a request may ask for: 50, or the configured default if larger.

    Example:
        >>> max_top_k(Settings())
        50
    """
    return max(TOP_K_CAP, int(settings.retrieval.top_k))


def parse_top_k(value: Any, settings: Any) -> int | None:
    """A request's `top_k`: None (the configured default) when empty or 0, else a whole number
    from 1 to `max_top_k`; anything else is refused with the accepted range.

    Example:
        >>> parse_top_k("12", Settings()), parse_top_k(0, Settings())
        (12, None)
    """
    hi = max_top_k(settings)
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    problem = QuestionProblem(f"top_k must be a whole number from 1 to {hi} (0 or empty: the default, "
                              f"{settings.retrieval.top_k}); got {str(value)[:40]!r}.")
    if isinstance(value, bool):
        raise problem
    try:
        number = float(str(value).strip())
    except ValueError:
        raise problem from None
    if not number.is_integer():
        raise problem
    k = int(number)
    if k == 0:
        return None
    if not 1 <= k <= hi:
        raise problem
    return k


def parse_risk_level(value: Any) -> Risk | None:
    """A request's answer readiness: None (the configured `retrieval.risk`) when empty, else one of
    cautious | balanced | eager; anything else is refused naming them.

        >>> parse_risk_level("Eager"), parse_risk_level("")
        ('eager', None)
    """
    if not str(value or "").strip():
        return None
    try:
        return parse_risk(str(value)[:40])
    except ValueError as e:
        raise QuestionProblem(f"answer readiness: {e}.") from None


def parse_as_of(value: Any) -> date:
    """The date a question is asked on ("yesterday" resolves against it): today when empty.

    Example:
        >>> parse_as_of("2025-07-05")
        datetime.date(2025, 7, 5)
    """
    return parse_day(value, "as_of") or date.today()


def error_message(err: Exception, settings: Any = None) -> str:
    """A user-facing explanation of an error: every `CitewireError` (from `ingest/`, `rag/` or
    the UI) shows its own message; anything else is a bug and says so.

    Example:
        >>> error_message(EmptyStoreError("/tmp/x"))
        'No articles are ingested yet: add some in the Library tab ...'
    """
    if isinstance(err, EmptyStoreError):
        return "No articles are ingested yet: add some in the Library tab (or run `citewire ingest`)."
    if isinstance(err, LLMUnavailableError):
        where = ""
        if settings is not None:
            llm = settings.llm
            where = f" (backend {llm.backend}{', ' + llm.base_url if llm.base_url else ''})"
        return f"The language model is unavailable{where}: {err}"
    if isinstance(err, CitewireError):
        return str(err) or type(err).__name__
    return f"Unexpected error ({type(err).__name__}): {err}. The app keeps running; see the server log."


class ChatController:
    """Gradio handlers for the chat tab, bound to one engine shared by all sessions.

    Example:
        >>> ctl = ChatController(engine, settings)
        >>> ctl.open_citation("#cw-cite/1/3f2a9c0d1e2b4a5c/120/250")
        '<div class="cw-article" ...><mark id="cw-mark" ...'
    """

    def __init__(self, engine: Any, settings: Any) -> None:
        self.engine = engine
        self.settings = settings

    def _gate(self) -> Any:
        """The lock serialising engine calls for the in-process llama.cpp backend, else None."""
        return _LLAMACPP_GATE if getattr(self.settings.llm, "backend", "") == "llamacpp" else None

    # -- chat -------------------------------------------------------------------------------
    def respond(
        self, question: str, conv: Conversation | None, source: str, since: str, until: str, top_k: Any,
        as_of: str = "", risk: str = "",
    ) -> Iterator[tuple[list[dict[str, str]], Conversation, str]]:
        """Stream one answer into the chat (yields chat messages, session state, cleared box).
        `as_of` (``YYYY-MM-DD``, empty = today) is the date "yesterday" or "this week" refer to;
        `risk` (cautious | balanced | eager, empty = `retrieval.risk`) how readily to answer.

        Example:
            >>> for msgs, conv, box in ctl.respond("Who?", Conversation(), ALL_SOURCES, "", "", 8, ""): ...
        """
        conv = conv if isinstance(conv, Conversation) else Conversation()
        try:
            q, notice = clean_question(question)
            filters = make_filters(source, since, until)
            k = parse_top_k(top_k, self.settings)
            day = parse_as_of(as_of)
            level = parse_risk_level(risk)
        except QuestionProblem as e:
            gr.Warning(str(e))
            yield list(conv.messages), conv, question or ""
            return
        if notice:
            gr.Warning(notice)
        conv.messages.append({"role": "user", "content": render.render_user(q)})
        conv.messages.append({"role": "assistant", "content": render.render_pending("retrieving")})
        yield list(conv.messages), conv, ""

        partial, stage, answer = "", "retrieving", None
        gate = self._gate()
        try:
            if gate is not None and not gate.acquire(blocking=False):
                waiting = render.render_pending("waiting for the model (answering another question)")
                conv.messages[-1] = {"role": "assistant", "content": waiting}
                yield list(conv.messages), conv, ""
                gate.acquire()
            try:
                for ev in self.engine.stream(q, history=list(conv.pairs), filters=filters, top_k=k, as_of=day,
                                             risk=level):
                    if isinstance(ev, TokenEvent):
                        partial += ev.delta
                    elif isinstance(ev, StatusEvent):
                        stage = ev.stage
                    elif isinstance(ev, AnswerEvent):
                        answer = ev.answer
                        continue
                    conv.messages[-1] = {"role": "assistant", "content": render.render_pending(stage, partial)}
                    yield list(conv.messages), conv, ""
            finally:
                if gate is not None:
                    gate.release()
        except Exception as e:
            self._log_error(e)
            msg = error_message(e, self.settings)
            gr.Warning(msg)
            conv.messages[-1] = {"role": "assistant", "content": render.render_error(msg)}
            yield list(conv.messages), conv, ""
            return
        if answer is None:
            msg = "The engine finished without an answer."
            log.error(msg)
            conv.messages[-1] = {"role": "assistant", "content": render.render_error(msg)}
        else:
            conv.pairs.append((q, answer.text))
            conv.messages[-1] = {"role": "assistant", "content": render.render_answer(answer)}
        yield list(conv.messages), conv, ""

    def clear(self) -> tuple[list[dict[str, str]], Conversation, str]:
        """Start a new conversation in this session (chat, state, side panel).

        Example:
            >>> ctl.clear()[0]
            []
        """
        return [], Conversation(), render.render_panel_placeholder()

    # -- side panel -------------------------------------------------------------------------
    def open_citation(self, raw: str) -> str:
        """Render the cited article with its span highlighted, from a clicked marker's reference.

        Example:
            >>> ctl.open_citation(render.cite_ref(ans.citations[0], 1))
        """
        payload = render.parse_cite_ref(raw)
        if payload is None:
            return render.render_panel_placeholder("That citation could not be read.")
        try:
            article = self.engine.article(payload["article_id"])
        except (LookupError, CitewireError) as e:
            log.info("article %s not available: %s", payload["article_id"], e)
            article = None
        if article is None:
            return render.render_panel_placeholder("That article is no longer in the library.")
        start, end = payload["start"], payload["end"]
        if end <= start:
            return render.render_article(article)
        return render.render_article(article, start, end, n=payload["n"])

    def open_citation_event(self, evt: gr.EventData) -> str:
        """``panel.click`` handler: citations.js triggers it with ``{"ref": "#cw-cite/..."}``.

        Example:
            >>> panel.click(ctl.open_citation_event, None, panel)
        """
        data = getattr(evt, "_data", None)
        ref = data.get("ref") if isinstance(data, dict) else None
        return self.open_citation(ref if isinstance(ref, str) else "")

    # -- API ----------------------------------------------------------------------------------
    def api_ask(self, question: str, source: str = "", since: str = "", until: str = "", top_k: int = 0,
                as_of: str = "", risk: str = "") -> dict:
        """``/ask`` endpoint: answer one question (no history) and return ``Answer.to_dict()``.

        Parameters are checked before the engine runs: the question at most 2000 characters,
        dates ``YYYY-MM-DD``, `top_k` 1..50 (0 = default), `as_of` empty = today, `risk` cautious |
        balanced | eager (empty = `retrieval.risk`). New parameters go last, so clients written
        before them keep working.

        Example:
            >>> from gradio_client import Client
            >>> Client("http://127.0.0.1:7860/").predict("How many drones?", api_name="/ask")["citations"]
        """
        try:
            q, _ = clean_question(question, shorten=False)
            filters = make_filters(source, since, until)
            k = parse_top_k(top_k, self.settings)
            day = parse_as_of(as_of)
            level = parse_risk_level(risk)
            with self._gate() or contextlib.nullcontext():
                answer: Answer = self.engine.ask(q, filters=filters, top_k=k, as_of=day, risk=level)
        except Exception as e:
            self._log_error(e)
            raise gr.Error(error_message(e, self.settings)) from None
        return answer.to_dict()

    def sources(self) -> list[str]:
        """Choices of the source filter: 'All sources' then the engine's sources.

        Example:
            >>> ctl.sources()
            ['All sources', 'Associated Press']
        """
        try:
            return [ALL_SOURCES, *sorted(s for s in self.engine.sources() if s)]
        except CitewireError as e:
            log.warning("could not list sources: %s", e)
            return [ALL_SOURCES]

    def refresh_sources(self, current: str | None) -> Any:
        """A dropdown update with fresh source choices, keeping the current one if still present.

        Example:
            >>> ctl.refresh_sources("All sources")
        """
        choices = self.sources()
        return gr.update(choices=choices, value=current if current in choices else ALL_SOURCES)

    @staticmethod
    def _log_error(e: Exception) -> None:
        if isinstance(e, (CitewireError, QuestionProblem)):
            log.warning("%s: %s", type(e).__name__, e)
        else:
            log.error("unexpected error while answering", exc_info=e)
