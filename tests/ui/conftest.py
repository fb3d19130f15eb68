"""Shared fixtures for the UI tests: one real engine + one live app for the whole session.

Everything is real: the bundled corpus is ingested into a fresh temporary home, the bundled
SmolLM2 GGUF answers, and the Gradio app is served on a free localhost port in this process.
(The offline environment variables are set by tests/conftest.py.)
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

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
