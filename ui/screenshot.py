"""Take docs/screenshot.png: a real headless Chromium asks the demo question and opens citation [1].

Also the browser helpers the UI tests share (Debian's Chromium driven by Playwright; never
``playwright install``).

Example:
    $ python -m ui.screenshot                       # temp home with the bundled corpus
    $ python -m ui.screenshot --home ~/.local/share/citewire --out docs/screenshot.png
"""

from __future__ import annotations

import argparse
import logging
import os
import shutil
import socket
import tempfile
from pathlib import Path
from typing import Any

from .render import parse_cite_ref

log = logging.getLogger(__name__)

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
SEED_QUESTION = "How many drones and missiles did Russia launch?"
ANSWER_TIMEOUT_MS = 120_000
FINAL_ANSWER = "#cw-chat .cw-answer:not(.cw-pending)"


def chromium_path() -> str | None:
    """Debian's Chromium binary if installed (``CITEWIRE_CHROMIUM`` overrides), else None.

    Example:
        >>> chromium_path()
        '/usr/bin/chromium'
    """
    cand = os.environ.get("CITEWIRE_CHROMIUM") or CHROMIUM
    return cand if Path(cand).is_file() else shutil.which("chromium")


def free_port() -> int:
    """An unused TCP port on 127.0.0.1.

    Example:
        >>> 1024 < free_port() < 65536
        True
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def launch_browser(playwright: Any) -> Any:
    """Start headless Debian Chromium through Playwright.

    Example:
        >>> with sync_playwright() as p:
        ...     browser = launch_browser(p)
    """
    path = chromium_path()
    if not path:
        raise FileNotFoundError(f"Chromium not found at {CHROMIUM}: apt-get install chromium")
    return playwright.chromium.launch(executable_path=path, args=CHROMIUM_ARGS)


def ask(page: Any, question: str, timeout_ms: int = ANSWER_TIMEOUT_MS) -> Any:
    """Type a question into the chat, submit it and wait for the final (verified) answer.
    Returns the locator of that answer message.

    Example:
        >>> answer = ask(page, SEED_QUESTION)
        >>> answer.locator("a.cw-cite").first.click()
    """
    before = page.locator(FINAL_ANSWER).count()
    box = page.locator("#cw-question textarea, #cw-question input").first
    box.fill(question)
    page.locator("#cw-ask").click()
    page.wait_for_function(
        "([sel, n]) => document.querySelectorAll(sel).length > n", arg=[FINAL_ANSWER, before], timeout=timeout_ms
    )
    return page.locator(FINAL_ANSWER).last


def open_citation(page: Any, marker: Any, timeout_ms: int = 30_000) -> str:
    """Click a citation marker and return the text highlighted in the side panel.

    Example:
        >>> open_citation(page, answer.locator("a.cw-cite").first)
        'Ukraine’s air force said Russia launched 550 drones and missiles ...'
    """
    payload = parse_cite_ref(marker.get_attribute("href"))
    if payload is None:
        raise ValueError(f"not a citation marker: {marker.get_attribute('href')!r}")
    marker.click()
    page.wait_for_function(
        "(p) => { const a = document.querySelector('#cw-panel .cw-article');"
        " return !!(a && document.querySelector('#cw-panel mark#cw-mark')"
        " && a.getAttribute('data-article') === p.article_id"
        " && a.getAttribute('data-span') === p.start + ':' + p.end); }",
        arg=payload, timeout=timeout_ms,
    )
    return page.locator("#cw-panel mark#cw-mark").text_content() or ""


def take_screenshot(url: str, out: Path, question: str = SEED_QUESTION) -> Path:
    """Ask `question` at `url`, open its first citation and save a screenshot to `out`.

    Example:
        >>> take_screenshot("http://127.0.0.1:7860/", Path("docs/screenshot.png"))
    """
    from playwright.sync_api import sync_playwright

    out.parent.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = launch_browser(p)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 900})
            page.goto(url)
            answer = ask(page, question)
            markers = answer.locator("a.cw-cite")
            if markers.count():
                open_citation(page, markers.first)
            page.screenshot(path=str(out), full_page=True)
        finally:
            browser.close()
    log.info("saved %s", out)
    return out


def main(argv: list[str] | None = None) -> int:
    """CLI: launch the app on a free port, take the screenshot, stop.

    Example:
        >>> main(["--out", "docs/screenshot.png"])
        0
    """
    from citewire.settings import Settings, offline_env

    offline_env()
    ap = argparse.ArgumentParser(prog="python -m ui.screenshot", description=__doc__.splitlines()[0])
    ap.add_argument("--home", type=Path, help="data home (default: a temp home with the bundled corpus)")
    ap.add_argument("--out", type=Path, default=Path("docs/screenshot.png"))
    ap.add_argument("--question", default=SEED_QUESTION)
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")

    from rag import Engine

    from .app import launch

    with tempfile.TemporaryDirectory(prefix="citewire-shot-") as tmp:
        settings = Settings(home=args.home or Path(tmp))
        engine = Engine.open(settings=settings)
        if not engine.articles():
            log.info("ingesting the bundled corpus into %s", settings.home)
            engine.ingest([])
        demo = launch(settings, host="127.0.0.1", port=free_port(), engine=engine, block=False, quiet=True)
        try:
            if not demo.local_url:
                raise RuntimeError("the UI did not report its URL")
            take_screenshot(demo.local_url, args.out, args.question)
        finally:
            demo.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
