"""Shared fixtures for the UI tests: one real engine + one live app for the whole session.

Everything is real: the bundled corpus is ingested into a fresh temporary home, the bundled
SmolLM2 GGUF answers, and the Gradio app is served on a free localhost port in this process.
(The offline environment variables are set by tests/conftest.py.)
"""

from __future__ import annotations

import json
import logging
import sqlite3
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import pytest

log = logging.getLogger(__name__)

PWNED_TITLE = "Lindqvist harbor council approves ferry timetable"
PWNED_ARTICLE = f"""---
title: {PWNED_TITLE}
source: Citewire Test Wire
published: 2025-06-02
---
The Lindqvist harbor council approved a new ferry timetable on Monday. <script>window.__pwned=1</script> \
Under the new timetable the ferry to Brightwater island will run 14 times a day.
Council members said the extra crossings would cost 2.3 million kronor a year.
"""
PWNED_QUESTION = "How many times a day will the ferry to Brightwater island run?"


@dataclass
class LiveApp:
    """A served app and the engine behind it."""

    engine: Any
    settings: Any
    url: str
    demo: Any


@dataclass
class PwnedArticle:
    """The ingested article whose text contains a <script> tag, and a question it answers."""

    id: str
    question: str


def start_app(settings: Any, engine: Any) -> Any:
    """Serve the UI for `engine` on a free localhost port without blocking; returns the Blocks."""
    from ui.app import launch
    from ui.screenshot import free_port

    return launch(settings, host="127.0.0.1", port=free_port(), engine=engine, block=False, quiet=True)


@pytest.fixture(scope="session")
def app_starter() -> Callable[[Any, Any], Any]:
    """`start_app(settings, engine)` for tests that need a second, differently configured app."""
    return start_app


@pytest.fixture(scope="session")
def live_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveApp]:
    """The bundled corpus plus an article containing a <script> tag, served on a free port."""
    from citewire.settings import Settings
    from rag import Engine

    home = tmp_path_factory.mktemp("ui-home")
    settings = Settings(home=home)
    engine = Engine.open(settings=settings)
    report = engine.ingest([])
    assert report.added, report.summary()
    src = tmp_path_factory.mktemp("ui-src") / "harbor-council.txt"
    src.write_text(PWNED_ARTICLE, encoding="utf-8")
    report = engine.ingest([src])
    assert report.added, report.summary()
    demo = start_app(settings, engine)
    log.info("test app at %s", demo.local_url)
    try:
        yield LiveApp(engine, settings, demo.local_url, demo)
    finally:
        demo.close()
        engine.close()


@pytest.fixture(scope="session")
def pwned_article(live_app: LiveApp) -> PwnedArticle:
    ids = [a.id for a in live_app.engine.articles() if a.title == PWNED_TITLE]
    assert len(ids) == 1
    assert "<script>window.__pwned=1</script>" in live_app.engine.article(ids[0]).text
    return PwnedArticle(ids[0], PWNED_QUESTION)


# -- a second app for the content-safety cases: generation off (fast, deterministic answers) ------------
BRACKET_TITLE = "Brightwater ferry report counts crossings"
BRACKET_ARTICLE = f"""---
title: {BRACKET_TITLE}
source: Citewire Test Wire
published: 2025-06-03
---
The Brightwater ferry made 14 crossings a day in May, the harbor report [2] said on Tuesday.
The Brightwater ferry made 14 crossings a day in June as well, according to the harbor report [3].
Council members said the extra crossings would cost 2.3 million kronor a year.
"""
BRACKET_QUESTION = "How many crossings a day did the Brightwater ferry make?"
BRIDGE_ARTICLE = """---
title: Eastport bridge traffic count
source: Citewire Test Wire
published: {published}
---
The Eastport bridge carried {cars} cars on Monday, the city traffic office said.
"""
BRIDGE_MAY, BRIDGE_JUNE = ("2025-05-06", "9,000"), ("2025-06-03", "12,000")  # same words, other day and count
YESTERDAY_QUESTION = "How many cars did the Eastport bridge carry yesterday?"
REMOTE = "203.0.113.9"  # TEST-NET-3: never routed; any request to it is a leak
HOSTILE_ID = "lighthouse-1"
HOSTILE_TITLE = (f"Tidal Basin report\n\n![x](http://{REMOTE}/title.png)\n\n<img src=http://{REMOTE}/tag.png>\n\n"
                 f"[link](http://{REMOTE}/link)")
HOSTILE_SOURCE = f"Harbor Wire\n\n![s](http://{REMOTE}/source.png)\r\n\r\n*emphasis*"
HOSTILE_RECORD = {
    "id": HOSTILE_ID, "title": HOSTILE_TITLE, "source": HOSTILE_SOURCE, "published": "2025-04-02",
    "text": "The Tidal Basin lighthouse was repainted red and white in April, the keepers said.\n"
            "The work took three weeks and cost 40,000 kronor.",
}
HOSTILE_QUESTION = "What colour was the Tidal Basin lighthouse repainted?"


@dataclass
class SafetyApp(LiveApp):
    """`LiveApp` with `llm.backend = "none"` over the content-safety corpus."""

    bracket_id: str
    may_id: str  # the Eastport bridge count published 2025-05-06 (9,000 cars)
    june_id: str  # ... and 2025-06-03 (12,000 cars)
    hostile_id: str
    BRACKET_QUESTION: ClassVar[str] = BRACKET_QUESTION
    YESTERDAY_QUESTION: ClassVar[str] = YESTERDAY_QUESTION
    HOSTILE_QUESTION: ClassVar[str] = HOSTILE_QUESTION
    HOSTILE_TITLE: ClassVar[str] = HOSTILE_TITLE
    HOSTILE_SOURCE: ClassVar[str] = HOSTILE_SOURCE
    REMOTE: ClassVar[str] = REMOTE


def force_raw_metadata(settings: Any, article_id: str, title: str, source: str) -> None:
    """Write `title`/`source` into the article store as they are (newlines included), as a store
    from an older ingest, or one written by another tool, would hold them: the UI must be safe
    on its own, whatever ingest normalises. Bumps the store generation so caches reload."""
    with sqlite3.connect(settings.db_path) as db:
        db.execute("UPDATE articles SET title = ?, source = ? WHERE id = ?", (title, source, article_id))
        db.execute("UPDATE meta SET value = CAST(value AS INTEGER) + 1 WHERE key = 'generation'")
    db.close()


@pytest.fixture(scope="session")
def safety_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SafetyApp]:
    """A served app (generation off) over: an article quoting "[2]" and "[3]", two articles that
    differ only in date and number (for as-of dates), and a record whose title and source carry
    Markdown."""
    from citewire.settings import LLMSettings, Settings
    from rag import Engine

    home = tmp_path_factory.mktemp("ui-safety-home")
    src = tmp_path_factory.mktemp("ui-safety-src")
    (src / "ferry-report.md").write_text(BRACKET_ARTICLE, encoding="utf-8")
    for published, cars in (BRIDGE_MAY, BRIDGE_JUNE):
        (src / f"bridge-{published}.md").write_text(BRIDGE_ARTICLE.format(published=published, cars=cars),
                                                    encoding="utf-8")
    (src / "lighthouse.jsonl").write_text(json.dumps(HOSTILE_RECORD) + "\n", encoding="utf-8")
    settings = Settings(home=home, llm=LLMSettings(backend="none"))
    engine = Engine.open(settings=settings)
    report = engine.ingest([src])
    assert len(report.added) == 4, report.summary()
    force_raw_metadata(settings, HOSTILE_ID, HOSTILE_TITLE, HOSTILE_SOURCE)
    assert engine.article(HOSTILE_ID).title == HOSTILE_TITLE
    ids = {(a.title, a.published): a.id for a in engine.articles()}
    demo = start_app(settings, engine)
    try:
        yield SafetyApp(engine, settings, demo.local_url, demo, bracket_id=ids[BRACKET_TITLE, "2025-06-03"],
                        may_id=ids["Eastport bridge traffic count", BRIDGE_MAY[0]],
                        june_id=ids["Eastport bridge traffic count", BRIDGE_JUNE[0]], hostile_id=HOSTILE_ID)
    finally:
        demo.close()
        engine.close()


def chromium_or_skip() -> str:
    from ui.screenshot import chromium_path

    path = chromium_path()
    if not path:
        pytest.skip("Debian chromium is not installed (/usr/bin/chromium): `make browser-deps` installs it")
    return path


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """One headless Debian Chromium for the module (Playwright, never `playwright install`)."""
    chromium_or_skip()
    from playwright.sync_api import sync_playwright

    from ui.screenshot import launch_browser

    with sync_playwright() as p:
        b = launch_browser(p)
        try:
            yield b
        finally:
            b.close()


@pytest.fixture()
def page(browser: Any, live_app: LiveApp, tmp_path: Path) -> Iterator[Any]:
    """A fresh browser session (own cookies, own Gradio session) on the live app."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    pg = context.new_page()
    pg.set_default_timeout(60_000)
    errors: list[str] = []
    pg.on("pageerror", lambda e: errors.append(str(e)))
    pg.goto(live_app.url)
    pg.wait_for_selector("#cw-question")
    try:
        yield pg
    finally:
        pg.screenshot(path=str(tmp_path / "final.png"), full_page=True)
        for e in errors:
            log.warning("browser page error: %s", e)
        context.close()
