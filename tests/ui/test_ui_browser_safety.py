"""Content safety in the real browser (Debian Chromium via Playwright), on an app with generation
off: hostile article metadata, literal "[2]" in an article, as-of dates, and uploads with
non-ASCII or colliding names from two sessions."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from ui.render import parse_cite_ref
from ui.screenshot import ask, open_citation

pytestmark = [pytest.mark.slow, pytest.mark.integration]

LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1"}


class Session:
    """One browser session on the safety app that records (and blocks) every request that
    would leave this machine."""

    def __init__(self, browser: Any, url: str) -> None:
        self.context = browser.new_context(viewport={"width": 1400, "height": 1000})
        self.leaks: list[str] = []
        self.context.route("**/*", self._guard)
        self.page = self.context.new_page()
        self.page.set_default_timeout(60_000)
        self.page.goto(url)
        self.page.wait_for_selector("#cw-question")

    def _guard(self, route: Any) -> None:
        url = route.request.url
        if urlsplit(url).scheme in ("data", "blob") or urlsplit(url).hostname in LOCAL_HOSTS:
            route.continue_()
        else:
            self.leaks.append(url)
            route.abort()

    def image_sources(self) -> list[str]:
        return list(self.page.evaluate("() => [...document.images].map(i => i.currentSrc || i.src)"))


@pytest.fixture()
def session(browser: Any, safety_app: Any, tmp_path: Path) -> Iterator[Session]:
    s = Session(browser, safety_app.url)
    try:
        yield s
    finally:
        s.page.screenshot(path=str(tmp_path / "final.png"), full_page=True)
        s.context.close()


def test_markup_in_article_metadata_is_shown_as_text(session: Session, safety_app: Any) -> None:
    """Title and source with blank lines, a Markdown image, an <img> tag and a link: all shown as
    text, in the answer, its sources list and the side panel; nothing is fetched from elsewhere."""
    page, remote = session.page, safety_app.REMOTE
    answer = ask(page, safety_app.HOSTILE_QUESTION)
    links = [m for m in answer.locator("a.cw-cite").all()
             if (parse_cite_ref(m.get_attribute("href")) or {}).get("article_id") == safety_app.hostile_id]
    assert links, answer.inner_html()
    title = answer.locator(".cw-sources .cw-title").first.inner_text()
    assert title == " ".join(safety_app.HOSTILE_TITLE.split())  # every character, as text, on one line
    assert f"![s](http://{remote}/source.png)" in answer.locator(".cw-sources .cw-meta").first.inner_text()
    open_citation(page, links[0])
    head = page.locator("#cw-panel .cw-article-head").inner_text()
    assert f"![x](http://{remote}/title.png)" in head and "*emphasis*" in head

    page.get_by_text("Filters & settings").click()  # the source filter lists the hostile source too
    page.locator("#cw-source input").first.click()
    assert any("Harbor Wire" in o for o in page.get_by_role("option").all_inner_texts())
    page.keyboard.press("Escape")

    chat = page.locator("#cw-chat")
    assert chat.locator("img").count() == 0 and chat.locator("em").count() == 0
    assert [a for a in chat.locator("a").all() if remote in (a.get_attribute("href") or "")] == []
    assert page.locator("#cw-panel img").count() == 0
    assert [src for src in session.image_sources() if remote in src] == []
    page.wait_for_timeout(500)  # let any lazily loaded resource start
    assert session.leaks == []


def test_literal_marker_in_an_article_is_plain_text(session: Session, safety_app: Any) -> None:
    """The cited sentences say "the harbor report [2] said" / "the harbor report [3]": those
    never become links (answer, sources list, side panel), and every link opens exactly its
    citation's span."""
    expected = {c.n: c for c in safety_app.engine.ask(safety_app.BRACKET_QUESTION).citations}
    answer = ask(session.page, safety_app.BRACKET_QUESTION)
    text = answer.locator(".cw-text")
    inline = text.locator("a.cw-cite").all()
    assert 1 <= len(inline) <= len(expected)
    for marker in inline:
        ref = parse_cite_ref(marker.get_attribute("href"))
        assert ref is not None and marker.inner_text() == f"[{ref['n']}]"
        c = expected[ref["n"]]
        assert (ref["article_id"], ref["start"], ref["end"]) == (c.article_id, c.start, c.end)
    quotes = answer.locator(".cw-sources .cw-quote").all_inner_texts()
    assert any(re.search(r"the harbor report \[[23]\]", q) for q in quotes), quotes
    assert answer.locator(".cw-sources .cw-quote a").count() == 0
    cited = next(c for c in expected.values() if re.search(r"report \[[23]\]", c.quote))
    link = answer.locator(f".cw-sources a.cw-cite:text-is('[{cited.n}]')").first
    assert open_citation(session.page, link) == cited.quote
    panel = session.page.locator("#cw-panel .cw-article-text").inner_text()
    assert "harbor report [2] said" in panel and "harbor report [3]" in panel
    assert session.page.locator("#cw-panel a").count() == 0


class ReplayEngine:
    """The real engine, except that `stream` replays one recorded answer. The engine now writes a
    quoted article's "[2]" as "⟦2⟧"; this replays the format it used before (the article's
    brackets verbatim inside the quotes) to check that the UI is safe on its own."""

    def __init__(self, engine: Any, answer: Any) -> None:
        self.engine, self.answer = engine, answer

    def stream(self, question: str, **kwargs: Any) -> Iterator[Any]:
        from rag.types import AnswerEvent

        yield AnswerEvent(self.answer)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.engine, name)


def test_quoted_marker_in_an_answer_text_is_plain_text(browser: Any, safety_app: Any, app_starter: Any) -> None:
    from rag.types import Answer, Citation

    art = safety_app.engine.article(safety_app.bracket_id)
    spans = [s for s in (art.text.index("The Brightwater ferry made 14 crossings a day in June"),
                         art.text.index("The Brightwater ferry made 14 crossings a day in May"))]
    cites = []
    for n, start in enumerate(spans, 1):
        end = art.text.index("\n", start)
        cites.append(Citation(n=n, article_id=art.id, title=art.title, source=art.source, url=art.url,
                              published=art.published, start=start, end=end, quote=art.text[start:end]))
    text = f"14 crossings: “{cites[0].quote}” [1] “{cites[1].quote}” [2]"  # the former extractive format
    assert "report [3]" in text and "report [2] said" in text
    demo = app_starter(safety_app.settings, ReplayEngine(safety_app.engine, Answer(
        question=safety_app.BRACKET_QUESTION, text=text, abstained=False, citations=cites, mode="extractive")))
    s = Session(browser, demo.local_url)
    try:
        answer = ask(s.page, safety_app.BRACKET_QUESTION)
        shown = answer.locator(".cw-text")
        assert shown.inner_text() == text
        refs = [parse_cite_ref(a.get_attribute("href")) for a in shown.locator("a.cw-cite").all()]
        assert [(r["n"], r["start"]) for r in refs if r] == [(1, spans[0]), (2, spans[1])]
        assert open_citation(s.page, shown.locator("a.cw-cite").last) == cites[1].quote
    finally:
        s.context.close()
        demo.close()


def test_as_of_field_sets_what_yesterday_means(session: Session, safety_app: Any) -> None:
    page = session.page
    page.get_by_text("Filters & settings").click()
    as_of = page.locator("#cw-as-of input, #cw-as-of textarea").first
    as_of.fill("2025-05-07")
    may = ask(page, safety_app.YESTERDAY_QUESTION)
    assert "9,000" in may.inner_text()
    as_of.fill("2025-06-04")
    page.locator("#cw-clear").click()
    page.wait_for_function("() => document.querySelectorAll('#cw-chat .cw-user').length === 0")
    june = ask(page, safety_app.YESTERDAY_QUESTION)
    assert "12,000" in june.inner_text()
    as_of.fill("next friday")
    page.locator("#cw-question textarea, #cw-question input").first.fill(safety_app.YESTERDAY_QUESTION)
    page.locator("#cw-ask").click()
    page.wait_for_selector(".toast-body")
    assert "as_of must be a date like 2025-07-04" in " ".join(page.locator(".toast-body").all_inner_texts())


def upload(page: Any, path: Path) -> str:
    """Upload one file in the Library tab, ingest it and return the status text."""
    page.get_by_role("tab", name="Library").click()
    status = page.locator("#cw-lib-status")
    before = status.inner_text() if status.count() else ""
    page.locator("#cw-upload input[type=file]").set_input_files(str(path))
    page.locator("#cw-ingest").click()
    page.wait_for_function(
        "(before) => { const t = document.querySelector('#cw-lib-status')?.innerText || '';"
        " return t !== before && /^(Ingested|Rejected|Ingest failed)/.test(t.trim()); }",  # not the progress overlay
        arg=before, timeout=60_000)
    return status.inner_text()


def test_non_ascii_file_name_is_kept_readable(session: Session, safety_app: Any, tmp_path: Path) -> None:
    src = tmp_path / "Färjetrafik på Brightwater – 報告.txt"
    src.write_text("The Brightwater harbor opened a ticket office with 12 counters on Friday, the harbor office said.\n"
                   "It replaces the old kiosk by the pier.\n", encoding="utf-8")
    status = upload(session.page, src)
    assert "added 1" in status, status
    staged = list(safety_app.settings.uploads_path.glob("*/Färjetrafik_på_Brightwater_報告.txt"))
    assert len(staged) == 1 and staged[0].read_bytes() == src.read_bytes()
    title = "Färjetrafik på Brightwater 報告"  # the reader's title from the file name
    session.page.wait_for_function("(t) => document.querySelector('#cw-articles').innerText.includes(t)", arg=title)
    assert [a.title for a in safety_app.engine.articles() if a.title == title] == [title]


def test_same_name_uploads_from_two_sessions_are_both_kept(browser: Any, safety_app: Any, tmp_path: Path) -> None:
    """Two people upload different files called report.txt: both articles stay answerable."""
    bodies = {
        "alice": "The Eastport marina rents 40 kayaks each summer, the marina office said.\nBookings open in May.\n",
        "bob": "The Westport library lends 300 e-readers a year, the librarian said.\nThe loans last two weeks.\n",
    }
    sessions = [Session(browser, safety_app.url) for _ in bodies]
    try:
        for s, (who, body) in zip(sessions, bodies.items(), strict=True):
            (tmp_path / who).mkdir()
            (tmp_path / who / "report.txt").write_text(body, encoding="utf-8")
            assert "added 1" in upload(s.page, tmp_path / who / "report.txt")
        again = upload(sessions[0].page, tmp_path / "alice" / "report.txt")
        assert "added 0" in again and "unchanged 1" in again, again
        staged = sorted(safety_app.settings.uploads_path.glob("*/report.txt"))
        assert sorted(p.read_text(encoding="utf-8") for p in staged) == sorted(bodies.values())
        for question, word in (("How many kayaks does the Eastport marina rent each summer?", "40"),
                               ("How many e-readers does the Westport library lend a year?", "300")):
            ans = safety_app.engine.ask(question)
            assert not ans.abstained and any(word in c.quote for c in ans.citations), ans
            assert {Path(safety_app.engine.article(c.article_id).origin).name for c in ans.citations} == {"report.txt"}
    finally:
        for s in sessions:
            s.context.close()
